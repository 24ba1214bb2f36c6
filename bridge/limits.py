"""Resource limits, checked before work starts: what was asked, what it would cost, how to allow it.

- :data:`MAX_STEPS`: the longest horizon the command line evaluates (2**31 - 1, MindSpore's
  int32 ``global_step``; no training run comes near it).
- :func:`check_memory`: an in-memory result (``plan.values(n)``) larger than
  :data:`MAX_MEMORY_BYTES` (2 GiB; ``SCHED_BRIDGE_MAX_MEMORY_MB`` raises it) is refused with
  advice to stream instead (``plan.iter_values`` / ``plan.save_npy``).
- :func:`check_disk`: a file larger than the free space where it goes is refused.
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

from .errors import SpecError

__all__ = ["MAX_STEPS", "MAX_MEMORY_BYTES", "max_memory_bytes", "check_steps", "check_memory", "check_disk"]

MAX_STEPS = 2**31 - 1
MAX_MEMORY_BYTES = 2 << 30
_ENV = "SCHED_BRIDGE_MAX_MEMORY_MB"


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**30 else f"{n / 2**20:.3g} MiB"


def max_memory_bytes() -> int:
    """:data:`MAX_MEMORY_BYTES`, or ``$SCHED_BRIDGE_MAX_MEMORY_MB`` MiB when set."""
    raw = os.environ.get(_ENV)
    if raw:
        try:
            return max(1, int(raw)) << 20
        except ValueError:
            raise SpecError(_ENV, "must be a whole number of MiB", raw) from None
    return MAX_MEMORY_BYTES


def check_steps(n: int, flag: str = "--steps", *, what: str = "steps") -> int:
    """``n`` if 1 <= n <= :data:`MAX_STEPS`, else a SpecError naming ``flag``."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise SpecError(flag, "must be a whole number of steps", n)
    if n < 1:
        raise SpecError(flag, "must be >= 1", n)
    if n > MAX_STEPS:
        raise SpecError(flag, f"asks for {n} {what}, more than the {MAX_STEPS} (2**31-1, MindSpore's int32 "
                        "global_step) sched-bridge evaluates; pass a smaller --steps", None, show_value=False)
    return n


def check_memory(rows: int, cols: int, what: str, *, advice: Optional[str] = None) -> None:
    """Refuse an in-memory float64 array of ``rows`` x ``cols`` above the memory limit."""
    need = 8 * int(rows) * max(1, int(cols))
    limit = max_memory_bytes()
    if need > limit:
        raise SpecError(what, f"{rows} steps x {cols} group(s) would hold {_gib(need)} in memory, more than "
                        f"the {_gib(limit)} limit; {advice or 'stream them with plan.iter_values or save_npy'}, "
                        f"or raise the limit with {_ENV}", None, show_value=False)


def check_disk(path: str, need: int, flag: str = "--steps") -> None:
    """Refuse writing about ``need`` bytes to ``path`` when its file system has less free."""
    parent = os.path.dirname(os.path.abspath(path)) or "."
    try:
        usage = shutil.disk_usage(parent)
    except OSError:
        return
    if usage.total == 0:  # /proc, /sys: not a disk; writing there fails on its own
        return
    free = usage.free
    if os.path.isfile(path):
        free += os.path.getsize(path)
    if need > free:
        raise SpecError(flag, f"{path} would take about {_gib(need)}, but {parent} has {_gib(free)} free; "
                        "write fewer steps or to another disk", None, show_value=False)
