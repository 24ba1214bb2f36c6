"""Scheduler step counters across frameworks, for resuming a run elsewhere.

One number describes where a run is: ``step`` = scheduler steps completed =
optimizer updates done (per-iteration stepping). Each framework stores it
differently:

- torch ``LRScheduler.state_dict()``: ``last_epoch = step`` and
  ``_step_count = step + 1`` (the constructor's initial step counts).
- MindSpore ``nn.Optimizer.global_step`` (int32 Parameter): the index of the
  NEXT update into a per-step lr list; ``global_step = step``. A sliced list
  ``lrs[step:]`` with ``global_step = 0`` is equivalent.
- OneFlow scheduler ``state_dict()``: ``last_step = step``.
- sched-bridge's plan-driven schedulers (torch, OneFlow, MindSpore experimental), one
  format: ``step`` (next to the framework's own counter).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

from ..errors import SpecError

__all__ = ["step_from", "resume_state", "resume_mindspore", "resumed", "slice_list"]


def step_from(state: Any) -> int:
    """The completed-step count from a torch / OneFlow scheduler state_dict, a MindSpore optimizer or an int.

    torch: ``last_epoch`` (every scheduler, SequentialLR and PlanScheduler included); a
    ChainedScheduler stores none of its own, so its schedulers' (all equal) are used. The
    plan-driven schedulers of every framework: ``step``.
    """
    if isinstance(state, bool):
        raise SpecError("state", "must be a step count, a scheduler state_dict or a MindSpore optimizer", state)
    if isinstance(state, int):
        return _count(state, "state")
    if isinstance(state, Mapping) and "step" in state and state.get("format") == "sched-bridge/PlanScheduler":
        return _count(state["step"], "state['step']")  # a plan-driven scheduler's, any framework's
    if isinstance(state, Mapping) and "last_epoch" in state:
        return _count(state["last_epoch"], "state['last_epoch']")
    if isinstance(state, Mapping) and "last_step" in state:
        return _count(state["last_step"], "state['last_step']")
    if isinstance(state, Mapping) and "_schedulers" in state:
        return _chained_step(state, "state")
    if hasattr(state, "global_step"):
        return _count(int(state.global_step.asnumpy().reshape(-1)[0]), "state.global_step")
    raise SpecError("state", "must be a step count, a scheduler state_dict (last_epoch / last_step, or a "
                    "ChainedScheduler's _schedulers) or a MindSpore optimizer",
                    sorted(map(str, state))[:8] if isinstance(state, Mapping) else type(state).__name__)


def _count(v: Any, path: str) -> int:
    """A step counter: a whole number >= 0 (NumPy integers too)."""
    if isinstance(v, bool) or not (isinstance(v, int) or type(v).__name__.startswith(("int", "uint"))):
        raise SpecError(path, "must be a whole number of steps (a scheduler's counter)", v)
    k = int(v)
    if k < 0:
        raise SpecError(path, "must be >= 0 (the steps completed)", k)
    return k


def _chained_step(state: Mapping[str, Any], path: str) -> int:
    """A torch ChainedScheduler's step count: it stores only ``_schedulers`` and ``_last_lr``
    (no counter of its own); every scheduler in it is stepped together."""
    subs = state["_schedulers"]
    if not isinstance(subs, (list, tuple)) or not subs:
        raise SpecError(f"{path}._schedulers", "must be the list of its schedulers' state_dicts", subs)
    ks = []
    for i, sub in enumerate(subs):
        where = f"{path}._schedulers[{i}]"
        if isinstance(sub, Mapping) and "last_epoch" in sub:
            ks.append(_count(sub["last_epoch"], f"{where}['last_epoch']"))
        elif isinstance(sub, Mapping) and "_schedulers" in sub:
            ks.append(_chained_step(sub, where))
        else:
            raise SpecError(where, "is not a torch scheduler state_dict (no last_epoch)",
                            sorted(map(str, sub))[:8] if isinstance(sub, Mapping) else type(sub).__name__)
    if len(set(ks)) != 1:
        raise SpecError(path, "its schedulers were stepped different numbers of times, which a "
                        "ChainedScheduler never does (last_epoch of each)", ks)
    return ks[0]


def resume_state(step: Any, target: str) -> Dict[str, int]:
    """The counter fields ``target`` needs to continue after ``step`` completed updates.

    ``target``: ``"torch"`` -> ``{"last_epoch": step, "_step_count": step + 1}``
    (load into a scheduler built on an optimizer whose groups hold ``initial_lr``);
    ``"mindspore"`` -> ``{"global_step": step}``; ``"oneflow"`` -> ``{"last_step": step}``.
    """
    k = step_from(step)
    if target == "torch":
        return {"last_epoch": k, "_step_count": k + 1}
    if target == "mindspore":
        return {"global_step": k}
    if target == "oneflow":
        return {"last_step": k}
    raise SpecError("target", "must be 'torch', 'mindspore' or 'oneflow'", target)


def slice_list(values: Sequence[float], step: Any) -> List[float]:
    """A MindSpore per-step lr list resumed at ``step`` (use with ``global_step = 0``)."""
    k = step_from(step)
    if k > len(values):
        raise SpecError("step", f"is past the end of the list ({len(values)} values)", k)
    return list(values[k:])


def resume_mindspore(optimizer: Any, step: Any) -> None:
    """Set a MindSpore optimizer's ``global_step`` so its next update uses list index ``step``."""
    from .._frameworks import import_framework

    ms = import_framework("mindspore")
    k = step_from(step)
    if k >= 2 ** 31:
        raise SpecError("step", "MindSpore's global_step is int32", k)
    gs = optimizer.global_step
    gs.set_data(ms.Tensor([k] * int(gs.shape[0] if gs.shape else 1), ms.int32).reshape(gs.shape))


def resumed(plan: Any, step: Any) -> Any:
    """``plan`` continued after ``step`` completed updates: row 0 is the value of update ``step``.

    Every scheduled field becomes ``Shift(schedule, step)`` (a torch / OneFlow scheduler
    resumed there; chainable schedules are replayed, so values are identical), ready for
    ``to_torch`` / ``to_oneflow`` / ``to_mindspore_list`` on a fresh optimizer.
    """
    from ..ir import Field, Group, Plan, Shift

    if not isinstance(plan, Plan):
        raise SpecError("plan", "must be a bridge Plan", type(plan).__name__)
    k = step_from(step)
    if k == 0:
        return plan
    groups = tuple(Group({f: Field(x.base, None if x.schedule is None else Shift(x.schedule, k))
                          for f, x in g.fields.items()}, g.name) for g in plan.groups)
    total = None if plan.total_steps is None else max(plan.total_steps - k, 1)
    return Plan(groups, total_steps=total, source=f"{plan.source or 'plan'} resumed after {k} updates")
