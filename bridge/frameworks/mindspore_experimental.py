"""MindSpore ``mindspore.experimental.optim.lr_scheduler``, both directions.

Lowering: :func:`to_mindspore_scheduler` (a plan-driven ``PlanScheduler``).
Import: ``from_experimental`` (:func:`bridge.frameworks.mindspore.from_mindspore` dispatches).
MindSpore is imported inside the functions only.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..ir.plan import Plan
from . import _driver
from ._record import SchedulerCall
from .mindspore_nn import check_plan, import_mindspore
from .torch import CUSTOM, LEAF_ARGS


def to_mindspore_scheduler(plan: Plan, optimizer: Any, *, last_epoch: int = -1) -> Any:
    """A ``mindspore.experimental.optim.lr_scheduler.LRScheduler`` that sets each group's lr from ``plan``.

    For ``mindspore.experimental.optim`` optimizers (torch-style ``param_groups``),
    stepped like torch's: after construction group ``g`` holds ``plan`` value 0;
    after k ``step()`` calls, value k. The step is counted in Python (exact past
    2**24, where MindSpore's float32 ``last_epoch`` is not). PyNative only. The scheduler
    is a :class:`PlanScheduler` (``state_dict()``/``load_state_dict()`` in the format every
    plan-driven scheduler shares; past the plan's end the last lr is held, with one
    :class:`~bridge.PlanEndWarning`).
    """
    plan = check_plan(plan)
    import_mindspore()
    from mindspore.experimental.optim import Optimizer

    if not isinstance(optimizer, Optimizer):
        raise SpecError("optimizer", "must be a mindspore.experimental.optim optimizer "
                        "(mindspore.nn optimizers take lists or cells: use to_mindspore_group_params)",
                        type(optimizer).__name__)
    _driver.check_groups(plan, optimizer.param_groups, fields=False)
    for i, g in enumerate(plan.groups):
        if "lr" not in g.fields:
            raise SpecError(f"plan.groups[{i}]", "has no 'lr' field", list(g.fields))
        for name, fld in g.fields.items():
            if fld.schedule is not None and name != "lr":
                raise UnsupportedError(
                    f"groups[{i}].{name}: mindspore.experimental optimizers read {name} as a float once "
                    "per group; only lr can follow a schedule")
    return _make_plan_scheduler()(optimizer, plan, last_epoch)


@_driver.built_once(__name__)
def _make_plan_scheduler() -> type:
    ms = import_mindspore()
    from mindspore.experimental.optim.lr_scheduler import LRScheduler

    class PlanScheduler(LRScheduler):
        """A ``mindspore.experimental`` LRScheduler that sets each group's lr from a Plan.

        The MindSpore adapter of :class:`bridge.frameworks._driver.Driver`: lr values are
        ``plan.values``' (float64), written into the groups' float32 lr Parameters; the step is
        counted in Python (``last_epoch``, a float32 Parameter in MindSpore, mirrors it).
        ``state_dict()``/``load_state_dict()`` resume exactly and refuse, with a
        :class:`~bridge.SpecError` naming what differs, the state of another plan. Past the
        end of the plan the last lr is held; the first ``step()`` to step N+1 warns once with
        :class:`~bridge.PlanEndWarning`.
        """

        def __init__(self, optimizer: Any, plan: Plan, last_epoch: int = -1):
            _driver.check_groups(plan, optimizer.param_groups, fields=False)
            self.plan = self.bridge_plan = plan  # bridge_plan: from_mindspore(scheduler) gives it back
            self._drv = _driver.Driver(plan, name="PlanScheduler", lower="bridge.to_mindspore_scheduler")
            self._t = int(last_epoch)
            for pg, grp in zip(plan.groups, optimizer.param_groups):
                grp["initial_lr"] = pg.fields["lr"].base  # base_lrs; and last_epoch >= 0 needs it
                if "lr_float" in grp:  # mint.optim.SGD steps with this float, fixed at construction:
                    grp["lr_float"] = grp["lr"]  # make it read the lr Parameter this scheduler sets
            super().__init__(optimizer, last_epoch)

        def get_lr(self) -> List[Any]:
            return [ms.Tensor(v, ms.float32) for v in self._drv.row("lr", self._t)]

        def step(self, epoch: Optional[int] = None) -> bool:
            self._t = self._t + 1 if epoch is None else _epoch(epoch)
            self._apply()
            self._drv.check_end(self._t)
            return True

        def _apply(self) -> None:
            ms.ops.assign(self.last_epoch, ms.Tensor(float(self._t), ms.float32))
            for i, v in enumerate(self.get_lr()):
                ms.ops.assign(self._last_lr[i], v)

        def state_dict(self) -> Dict[str, Any]:
            return self._drv.state(self._t, last_epoch=self._t)

        def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
            self._t = self._drv.load(state_dict)
            self._apply()

    return PlanScheduler


def _epoch(epoch: Any) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise SpecError("epoch", "must be an int >= 0 (the update whose lr to set)", epoch)
    return int(epoch)


# PlanScheduler subclasses MindSpore's experimental LRScheduler, so it is created on first use
__getattr__ = _driver.lazy_getattr(__name__, PlanScheduler=_make_plan_scheduler)


#: the classes of ``mindspore.experimental.optim.lr_scheduler`` 2.10 (every one it ships). Each is
#: read into the record torch's reader gives for torch's class of the same name, and imported by
#: torch's record table (:func:`bridge.frameworks.torch.import_record`); :func:`_as_torch` holds
#: the few places where MindSpore behaves differently.
CLASSES = ("StepLR", "MultiStepLR", "LinearLR", "ExponentialLR", "PolynomialLR", "ConstantLR", "LambdaLR",
           "MultiplicativeLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "SequentialLR",
           "ReduceLROnPlateau")

#: row 0 of an imported plan must match the groups' lr within this (relative to the value or the
#: base): MindSpore steps in float32, a chainable scheduler's rounding adds up step by step
CHECK_RTOL = 1e-4


def _num(v: Any) -> Any:
    """A Python number from a MindSpore Tensor / Parameter (float32 values as float64)."""
    if hasattr(v, "asnumpy"):
        v = v.asnumpy()
    if isinstance(v, np.ndarray):
        v = v.item()
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _lr_schedulers() -> Any:
    import_mindspore()
    from mindspore.experimental.optim import lr_scheduler

    return lr_scheduler


def read_mindspore_experimental(s: Any, lrs: Any = None) -> SchedulerCall:
    """The record of a live ``mindspore.experimental.optim.lr_scheduler`` scheduler: the one place
    MindSpore's experimental scheduler attributes are read (dialect ``"mindspore"``).

    The record holds what torch's reader would record for torch's class of the same name
    (:func:`bridge.frameworks.torch.read_torch`), numbers as Python floats (MindSpore keeps
    many as float32 Tensors): CyclicLR ``total_size``/``step_ratio`` from MindSpore's
    ``total_step_size``/``step_up_ratio`` (it never cycles momentum); ReduceLROnPlateau
    ``fresh`` from ``best``/``wait``/``cooldown_counter``. ``lr_lambda``: the user's functions
    as MindSpore holds them. ``step``: ``last_epoch`` (a float32 Parameter in MindSpore). A
    class that is not exactly one of :data:`CLASSES` is ``torch.CUSTOM``.
    """
    lrs = lrs if lrs is not None else _lr_schedulers()
    name = type(s).__name__
    step = int(_num(getattr(s, "last_epoch", 0)))

    def rec(args: Dict[str, Any], kids: Sequence[SchedulerCall] = (),
            gv: Optional[Dict[str, Tuple[Any, ...]]] = None) -> SchedulerCall:
        return SchedulerCall("mindspore", name, args, tuple(kids), gv or {}, step)

    if name not in CLASSES or getattr(lrs, name, None) is not type(s):
        name = CUSTOM
        return rec({"module": type(s).__module__, "qualname": type(s).__qualname__})
    if name == "SequentialLR":
        return rec({"milestones": [int(m) for m in s.milestones]},
                   [read_mindspore_experimental(c, lrs) for c in s._schedulers])
    if name == "ReduceLROnPlateau":
        fresh = _num(s.best) == s.mode_worse and _num(s.wait) == 0 and _num(s.cooldown_counter) == 0
        return rec({"mode": s.mode, "factor": s.factor, "patience": s.patience, "threshold": s.threshold,
                    "threshold_mode": s.threshold_mode, "cooldown": s.cooldown, "eps": s.eps,
                    "fresh": bool(fresh)}, gv={"min_lrs": tuple(float(_num(x)) for x in s.min_lrs)})
    gv: Dict[str, Tuple[Any, ...]] = {"base_lrs": tuple(float(_num(b)) for b in s.base_lrs)}
    if name in LEAF_ARGS:  # stored under torch's names
        return rec({p: _num(getattr(s, p)) for p in LEAF_ARGS[name]}, gv=gv)
    if name == "MultiStepLR":
        return rec({"milestones": sorted(s.milestones.elements()), "gamma": s.gamma}, gv=gv)
    if name in ("LambdaLR", "MultiplicativeLR"):
        return rec({"lr_lambda": list(s.lr_lambdas)}, gv=gv)
    gv["max_lrs"] = tuple(float(_num(x)) for x in s.max_lrs)  # CyclicLR
    return rec({"total_size": s.total_step_size, "step_ratio": s.step_up_ratio, "mode": s.mode,
                "gamma": s.gamma, "scale_fn": s._scale_fn_custom, "cycle_momentum": False,
                "use_beta1": False}, gv=gv)


class _Lambda:
    """A user's ``lr_lambda`` as the IR calls it: ``fn(t)`` for an int ``t``, a Python float back
    (MindSpore passes its float32 ``last_epoch``; a lambda may return a Tensor).
    ``multiplicative``: MindSpore's MultiplicativeLR never applies ``fn(0)`` (torch's applies it
    when a SequentialLR restarts it at a milestone), so ``fn(0)`` is 1."""

    def __init__(self, fn: Callable[[Any], Any], multiplicative: bool):
        self.fn, self.multiplicative = fn, multiplicative
        self.__name__ = getattr(fn, "__name__", "fn")

    def __call__(self, t: int) -> float:
        if self.multiplicative and t == 0:
            return 1.0
        return float(_num(self.fn(t)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Lambda) and other.fn is self.fn and other.multiplicative == self.multiplicative

    def __hash__(self) -> int:
        return hash((id(self.fn), self.multiplicative))


def _as_torch(rec: SchedulerCall, path: str, nested: bool = False) -> SchedulerCall:
    """The record torch's table maps exactly as MindSpore 2.10 runs it (checked by stepping both):
    the lambdas wrapped (:class:`_Lambda`); refused where MindSpore differs from torch and no IR
    node follows it: a SequentialLR inside a SequentialLR (MindSpore's outer constructor steps
    the inner one's first child a second time), a MultiStepLR started at a milestone (MindSpore
    raises AttributeError there: its closed form reads a ``step_size`` it does not have)."""
    if rec.name == CUSTOM:
        raise UnsupportedError(f"{path}: mindspore.experimental.optim.lr_scheduler.{rec.args['qualname']} is not "
                               f"supported; supported: {', '.join(CLASSES)}")
    if rec.name == "SequentialLR":
        if nested:
            raise UnsupportedError(f"{path}: a SequentialLR inside a SequentialLR: MindSpore steps its first "
                                   "scheduler again when the outer one is built (torch does not); flatten it")
        for i, ch in enumerate(rec.children[1:], 1):
            if ch.name == "MultiStepLR":
                raise UnsupportedError(f"{path}._schedulers[{i}]: MindSpore raises AttributeError when a "
                                       "SequentialLR starts a MultiStepLR at a milestone; put it first")
        kids = tuple(_as_torch(ch, f"{path}._schedulers[{i}]", True) for i, ch in enumerate(rec.children))
        return replace(rec, children=kids)
    if rec.name in ("LambdaLR", "MultiplicativeLR"):
        fns = [_Lambda(fn, rec.name == "MultiplicativeLR") for fn in rec.args["lr_lambda"]]
        return replace(rec, args={**rec.args, "lr_lambda": fns})
    return rec


def from_experimental(s: Any) -> Plan:
    """The plan of a live experimental scheduler: its record (:func:`read_mindspore_experimental`)
    mapped by torch's table (:func:`bridge.frameworks.torch.import_record`), from the lr it holds
    now. The plan counts steps exactly; MindSpore's float32 ``last_epoch`` stops at 2**24
    (:data:`FLOAT32_COUNTER_LIMIT`; a scheduler already there is refused), so from that step on
    the real scheduler no longer follows the schedule it was built with."""
    from .torch import TABLE_HINT, import_record

    rec = _as_torch(read_mindspore_experimental(s), "scheduler")
    _check_counter(rec)
    groups = [{k: float(_num(g[k])) for k in ("lr", "initial_lr") if k in g} for g in s.optimizer.param_groups]
    try:
        return import_record(rec, groups, ["lr"], rtol=CHECK_RTOL,
                             source=f"mindspore.experimental.optim.lr_scheduler.{rec.name}")
    except UnsupportedError as e:
        text = str(e)
        if not text.endswith(TABLE_HINT):
            raise
        raise UnsupportedError(text[:-len(TABLE_HINT)] + _TABLE_HINT) from None


#: what to do with a scheduler the table cannot map (in place of torch's hint)
_TABLE_HINT = ("record the lr it sets for the steps you need (a list, one value per step) and import the "
               "list: bridge.from_mindspore(values) is a table")

#: MindSpore counts ``last_epoch`` in float32: from this step on it no longer increases
FLOAT32_COUNTER_LIMIT = 2 ** 24


def _check_counter(rec: SchedulerCall) -> None:
    for c in rec.walk():
        if c.step >= FLOAT32_COUNTER_LIMIT:
            raise UnsupportedError(
                f"scheduler: {c.name}.last_epoch is {c.step}; MindSpore keeps it in float32, which stops "
                f"counting at {FLOAT32_COUNTER_LIMIT} (2**24), so what the scheduler does from here on is "
                "not the schedule it was built with; " + _TABLE_HINT)
