"""pytest plugin of sched-bridge (entry point ``pytest11``: ``sched_bridge = "bridge.pytest_plugin"``).

Provides the fixture ``same_schedule`` (:func:`bridge.testing.assert_same_schedule`)::

    def test_port(same_schedule):
        same_schedule(torch_scheduler, mindspore_cell, steps=10_000, rtol=2e-6)

Importing this module imports no framework and not NumPy (it loads with every pytest run).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest


@pytest.fixture
def same_schedule() -> Callable[..., None]:
    """``same_schedule(a, b, steps=1000, field="lr", rtol=1e-12, atol=0.0)``; fails with the first divergent step."""
    from .testing import assert_same_schedule  # NumPy and the IR load only when a test uses it

    def check(a: Any, b: Any, **kw: Any) -> None:
        __tracebackhide__ = True
        assert_same_schedule(a, b, **kw)
    return check


def pytest_report_header(config: Any) -> str:
    return "sched-bridge: fixture same_schedule"
