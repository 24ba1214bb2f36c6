"""Test helpers: :func:`assert_same_schedule` compares two schedules step by step.

Either side may be a :class:`~bridge.Plan`; a live torch scheduler (stepped as a deep
copy, so the caller's objects are not touched) or OneFlow scheduler (stepped, then its
state_dict and param-group values are restored: OneFlow objects cannot be copied); a MindSpore
``LearningRateSchedule`` cell or ``Tensor``; a list / tuple / NumPy array of per-step
values (1-D: one group, 2-D: ``(steps, groups)``). They are read with
:func:`bridge.parity.record` and compared with :func:`bridge.parity.compare`. No framework
is imported unless such an object is passed.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from . import parity
from .errors import ParityError, SpecError
from .ir import Plan

__all__ = ["assert_same_schedule", "schedule_values"]


def schedule_values(obj: Any, steps: int, field: str = "lr") -> np.ndarray:
    """Deprecated alias of :func:`bridge.parity.record` (same arguments, same result)."""
    warnings.warn("bridge.testing.schedule_values is deprecated: use bridge.parity.record (same arguments)",
                  DeprecationWarning, stacklevel=2)
    return parity.record(obj, steps, field)


def assert_same_schedule(a: Any, b: Any, steps: int = 1000, field: str = "lr", *, rtol: Optional[float] = None,
                         atol: Optional[float] = None, contract: Optional[str] = None, bases: Any = None,
                         context: int = 3) -> None:
    """Assert that ``a`` follows ``b`` (the reference) at every step ``0 <= t < steps`` and group.

    ``contract`` (:data:`bridge.parity.CONTRACTS`): ``"float64"`` (the default when no
    tolerance is given: ``|a - b| <= 1e-12 * max(|b|, base)``), ``"mindspore-list"``
    (identical after float32 rounding), ``"mindspore-cell"`` (relative 2e-6 where
    ``|b| >= 1e-6 * base``) or ``"tolerance"``. Giving ``rtol`` / ``atol`` means
    ``"tolerance"``: ``|a - b| <= rtol * max(|a|, |b|) + atol`` (``rtol`` default 1e-12,
    ``atol`` 0). ``bases``: the base value per group; default that of a Plan side (``b``'s
    first), else 0. On failure the AssertionError names the first divergent step and shows a
    short table around it. A one-group side is compared with every group of the other.
    """
    if contract is None:
        contract = "float64" if rtol is None and atol is None else "tolerance"
    if contract == "tolerance":
        rtol = parity.FLOAT64_RTOL if rtol is None else rtol
        atol = 0.0 if atol is None else atol
    elif rtol is not None or atol is not None:
        raise SpecError("rtol", f"only with contract='tolerance' (the {contract!r} contract is fixed)",
                        rtol if rtol is not None else atol)
    x, y = parity.record(a, steps, field), parity.record(b, steps, field)
    if x.shape[1] != y.shape[1]:
        if x.shape[1] == 1:
            x = np.repeat(x, y.shape[1], axis=1)
        elif y.shape[1] == 1:
            y = np.repeat(y, x.shape[1], axis=1)
        else:
            raise AssertionError(f"{field}: {x.shape[1]} param groups vs {y.shape[1]}")
    if bases is None:
        plan = b if isinstance(b, Plan) else a if isinstance(a, Plan) else None
        if plan is not None and field in plan.fields:
            bases = plan.bases(field)
            if bases.shape[0] == 1:
                bases = np.repeat(bases, x.shape[1])
    res = parity.compare(x, y, bases, contract, rtol=rtol, atol=atol or 0.0)
    if res.ok:
        return
    t, g = res.first  # type: ignore[misc]
    err = res.abs_err
    steps = res.n_steps
    lo, hi = max(0, t - context), min(steps, t + context + 1)
    lines = [f"{field} differs first at step {t} (group {g}): {float(x[t, g])!r} vs {float(y[t, g])!r} "
             f"(abs err {err[t, g]:.3g}; {res.note}; {res.n_bad_steps} of {steps} steps differ)",
             f"  {'step':>6}  {'a':>22}  {'b':>22}  {'abs err':>10}"]
    for s in range(lo, hi):
        mark = " <--" if s == t else ""
        lines.append(f"  {s:>6}  {x[s, g]!r:>22}  {y[s, g]!r:>22}  {err[s, g]:>10.3g}{mark}")
    raise ParityError("\n".join(lines))
