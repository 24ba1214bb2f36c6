"""The one exception family of sched-bridge.

Every error a user can cause is a :class:`BridgeError`. Messages name the path
of the offending field, its value and what was expected, e.g.
``param_scheduler[1].milestones: must be increasing, got [8, 3]``.
"""

from __future__ import annotations

from typing import Any


class BridgeError(Exception):
    """Base class of every sched-bridge error."""


class SpecError(BridgeError, ValueError):
    """A schedule spec, config or argument is invalid."""

    def __init__(self, path: str, message: str, value: Any = None, *, show_value: bool = True):
        self.path = path
        self.value = value
        self.reason = message
        self.show_value = show_value
        text = f"{path}: {message}" if path else message
        if show_value:
            text += f", got {_short(value)}"
        super().__init__(text)


class UnsupportedError(BridgeError, NotImplementedError):
    """The input is valid but this target (or importer) cannot express it exactly."""


class FrameworkMissingError(BridgeError, ImportError):
    """A framework needed for this call is not installed in this environment."""


class ParityError(BridgeError, AssertionError):
    """Two trajectories that should match do not."""


class BridgeWarning(UserWarning):
    """Base class of every sched-bridge warning."""


class PlanEndWarning(BridgeWarning):
    """A plan-driven scheduler was stepped past the last step its plan defines (a table's
    length, a one-cycle's ``total_steps``): an optimizer update ran beyond the plan with the
    last value held."""


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
