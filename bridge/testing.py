"""Test helpers: :func:`assert_same_schedule` compares two schedules step by step.

Either side may be a :class:`~bridge.Plan`; a live torch scheduler (stepped as a deep
copy, so the caller's objects are not touched) or OneFlow scheduler (stepped, then its
state_dict and param-group values are restored: OneFlow objects cannot be copied); a MindSpore
``LearningRateSchedule`` cell or ``Tensor``; a list / tuple / NumPy array of per-step
values (1-D: one group, 2-D: ``(steps, groups)``). No framework is imported unless
such an object is passed.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from .errors import SpecError
from .ir import Plan

__all__ = ["assert_same_schedule", "schedule_values"]


def schedule_values(obj: Any, steps: int, field: str = "lr") -> np.ndarray:
    """Per-step values of ``obj`` as a float64 array ``(steps, groups)`` (row t = update t)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise SpecError("steps", "must be a whole number >= 0", steps)
    steps = int(steps)
    if isinstance(obj, Plan):
        return obj.values(steps, field)
    mod = next((c.__module__ for c in type(obj).__mro__ if (c.__module__ or "").split(".")[0]
                in ("torch", "oneflow", "mindspore")), "")
    if mod.startswith("torch") or _is_torch_scheduler(obj):
        from .frameworks.torch import record_torch

        s = copy.deepcopy(obj)  # copies the optimizer it references too
        with warnings.catch_warnings():  # the copy's optimizer.step wrapper is a fresh object
            warnings.filterwarnings("ignore", message=".*optimizer.step.*")
            return record_torch(s, s.optimizer, steps, (field,))[field]
    if mod.startswith("oneflow"):
        from .ir.plan import read_field, write_field

        # OneFlow schedulers cannot be deep-copied: step the object, then restore its state
        groups = obj.optimizer.param_groups
        state = copy.deepcopy(obj.state_dict())
        keys = sorted({"lr", field})
        saved = [{k: read_field(g, k) for k in keys} for g in groups]
        out = np.empty((steps, len(groups)))
        try:
            for t in range(steps):
                if t:
                    obj.step()
                out[t] = [float(read_field(g, field)) for g in groups]
        finally:
            obj.load_state_dict(state)
            for g, vals in zip(groups, saved):
                for k, v in vals.items():
                    write_field(g, k, v)
        return out
    if mod.startswith("mindspore"):
        import mindspore as ms

        if isinstance(obj, ms.Tensor):
            arr = obj.asnumpy().astype(np.float64).reshape(-1)
            return _pad(arr, steps, "the MindSpore Tensor")
        cell = obj(ms.Tensor(np.arange(steps, dtype=np.int32)))
        arr = np.asarray(cell.asnumpy(), dtype=np.float64).reshape(-1)
        return np.broadcast_to(arr, (steps,)).reshape(steps, 1).copy()
    if isinstance(obj, (list, tuple, np.ndarray)) or hasattr(obj, "__array__"):
        try:
            arr = np.asarray(obj, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as e:
            raise SpecError("schedule", f"a list/array of per-step values must hold numbers ({e})",
                            obj) from None
        if arr.ndim == 1:
            return _pad(arr, steps, "the list")
        if arr.ndim == 2:
            if arr.shape[0] < steps:
                raise AssertionError(f"the array has {arr.shape[0]} rows, fewer than steps={steps}")
            return arr[:steps]
        raise AssertionError(f"expected a 1-D or 2-D array of per-step values, got shape {arr.shape}")
    raise SpecError("schedule", f"cannot read a schedule from a {type(obj).__name__}: pass a bridge.Plan, a "
                    "torch / OneFlow scheduler, a MindSpore cell or Tensor, or a list/array of per-step values",
                    obj)


def _is_torch_scheduler(obj: Any) -> bool:
    return hasattr(obj, "optimizer") and hasattr(obj, "last_epoch") and hasattr(obj, "state_dict")


def _pad(arr: np.ndarray, steps: int, what: str) -> np.ndarray:
    if arr.shape[0] < steps:
        raise AssertionError(f"{what} has {arr.shape[0]} values, fewer than steps={steps}")
    return arr[:steps].reshape(steps, 1)


def assert_same_schedule(a: Any, b: Any, steps: int = 1000, field: str = "lr", *, rtol: float = 1e-12,
                         atol: float = 0.0, context: int = 3) -> None:
    """Assert ``|a - b| <= atol + rtol * |b|`` at every step ``0 <= t < steps`` and every group.

    On failure the AssertionError names the first divergent step and shows a short table
    around it. A one-group side is compared with every group of the other.
    """
    x, y = schedule_values(a, steps, field), schedule_values(b, steps, field)
    if x.shape[1] != y.shape[1]:
        if x.shape[1] == 1:
            x = np.repeat(x, y.shape[1], axis=1)
        elif y.shape[1] == 1:
            y = np.repeat(y, x.shape[1], axis=1)
        else:
            raise AssertionError(f"{field}: {x.shape[1]} param groups vs {y.shape[1]}")
    err = np.abs(x - y)
    bad = err > atol + rtol * np.abs(y)
    rows = np.nonzero(bad.any(axis=1))[0]
    if not rows.size:
        return
    t = int(rows[0])
    g = int(np.nonzero(bad[t])[0][0])
    lo, hi = max(0, t - context), min(steps, t + context + 1)
    lines = [f"{field} differs first at step {t} (group {g}): {x[t, g]!r} vs {y[t, g]!r} "
             f"(abs err {err[t, g]:.3g}; rtol={rtol:g}, atol={atol:g}; {rows.size} of {steps} steps differ)",
             f"  {'step':>6}  {'a':>22}  {'b':>22}  {'abs err':>10}"]
    for s in range(lo, hi):
        mark = " <--" if s == t else ""
        lines.append(f"  {s:>6}  {x[s, g]!r:>22}  {y[s, g]!r:>22}  {err[s, g]:>10.3g}{mark}")
    raise AssertionError("\n".join(lines))

