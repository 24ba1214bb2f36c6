"""MindSpore ``mindspore.experimental.optim.lr_scheduler``, both directions.

Lowering: :func:`to_mindspore_scheduler` (a plan-driven ``PlanScheduler``).
Import: ``from_experimental`` (:func:`bridge.frameworks.mindspore.from_mindspore` dispatches).
MindSpore is imported inside the functions only.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..ir import nodes
from ..ir.plan import Field, Group, Plan
from .mindspore_nn import check_plan, import_mindspore, read_attr


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

    from . import _driver

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


@functools.cache  # the class is built once, on first use (imports the framework)
def _make_plan_scheduler() -> type:
    ms = import_mindspore()
    from mindspore.experimental.optim.lr_scheduler import LRScheduler

    from . import _driver

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
            if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer))
                                      or epoch < 0):
                raise SpecError("epoch", "must be an int >= 0 (the update whose lr to set)", epoch)
            self._t = self._t + 1 if epoch is None else int(epoch)
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

    PlanScheduler.__module__ = __name__
    PlanScheduler.__qualname__ = "PlanScheduler"
    return PlanScheduler


def __getattr__(name: str) -> Any:
    # PlanScheduler subclasses MindSpore's experimental LRScheduler: created on first use (PEP 562).
    if name == "PlanScheduler":
        return _make_plan_scheduler()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_EXP_SCHEDULERS = ("StepLR", "LinearLR", "ExponentialLR", "PolynomialLR", "LambdaLR", "MultiplicativeLR",
                   "MultiStepLR", "ConstantLR", "SequentialLR", "CyclicLR", "CosineAnnealingWarmRestarts",
                   "CosineAnnealingLR", "ReduceLROnPlateau")


def _exp_node(s: Any, g: int) -> nodes.Node:
    cls = type(s).__name__
    if cls == "StepLR":
        return nodes.Step(read_attr(s, "step_size"), read_attr(s, "gamma"))
    if cls == "LinearLR":
        return nodes.Linear(read_attr(s, "start_factor"), read_attr(s, "end_factor"), read_attr(s, "total_iters"))
    if cls == "ExponentialLR":
        return nodes.Exponential(read_attr(s, "gamma"))
    if cls == "PolynomialLR":
        return nodes.Polynomial(read_attr(s, "total_iters"), read_attr(s, "power"))
    if cls == "MultiStepLR":
        milestones = sorted(itertools.chain.from_iterable([k] * c for k, c in s.milestones.items()))
        return nodes.MultiStep(tuple(milestones), read_attr(s, "gamma"))
    if cls == "ConstantLR":
        return nodes.Constant(read_attr(s, "factor"), read_attr(s, "total_iters"))
    if cls == "CosineAnnealingLR":
        return nodes.CosineAnnealing(read_attr(s, "T_max"), read_attr(s, "eta_min"))
    if cls == "CosineAnnealingWarmRestarts":
        return nodes.WarmRestarts(int(read_attr(s, "T_0")), int(read_attr(s, "T_mult")), float(read_attr(s, "eta_min")))
    if cls == "LambdaLR":
        fn = s.lr_lambdas[g]
        return nodes.Lambda(_int_arg(fn), getattr(fn, "__name__", "lambda"))
    if cls == "MultiplicativeLR":
        fn = s.lr_lambdas[g]
        return nodes.Multiplicative(_int_arg(fn), getattr(fn, "__name__", "multiplicative"))
    if cls == "CyclicLR":
        if getattr(s, "_scale_fn_custom", None) is not None:
            raise UnsupportedError("CyclicLR with a custom scale_fn: sample it into a table (bridge.tabulate)")
        up = int(round(s.total_step_size * s.step_up_ratio))
        return nodes.Cyclic(high=float(_attr_i(s.max_lrs[g])), low=float(_attr_i(s.base_lrs[g])), step_size_up=up,
                        step_size_down=int(s.total_step_size) - up, mode=s.mode, gamma=float(s.gamma))
    if cls == "SequentialLR":
        kids = tuple(_exp_node(c, g) for c in s._schedulers)
        return nodes.Sequential(kids, tuple(int(m) for m in s.milestones))
    if cls == "ReduceLROnPlateau":
        return nodes.Plateau(mode=s.mode, factor=float(s.factor), patience=int(s.patience),
                         threshold=float(s.threshold), threshold_mode=s.threshold_mode,
                         cooldown=int(s.cooldown), min_lr=float(_attr_i(s.min_lrs[g])), eps=float(s.eps))
    raise UnsupportedError(f"mindspore.experimental.optim.lr_scheduler.{cls} is not supported; "
                           f"supported: {', '.join(_EXP_SCHEDULERS)}")


def _attr_i(v: Any) -> Any:
    if hasattr(v, "asnumpy"):
        return v.asnumpy().item()
    return v


def _int_arg(fn: Callable[[Any], Any]) -> Callable[[int], float]:
    def call(t: int) -> float:
        return float(_attr_i(fn(t)))

    call.__name__ = getattr(fn, "__name__", "fn")
    return call


def from_experimental(s: Any) -> Plan:
    opt = s.optimizer
    if type(s).__name__ in ("SequentialLR", "ReduceLROnPlateau"):
        bases = [float(_attr_i(g.get("initial_lr", g["lr"]))) for g in opt.param_groups]
    else:
        bases = [float(_attr_i(b)) for b in s.base_lrs]
    groups = tuple(Group({"lr": Field(b, _exp_node(s, i))}) for i, b in enumerate(bases))
    return Plan(groups, source=f"mindspore.experimental.optim.lr_scheduler.{type(s).__name__}")

