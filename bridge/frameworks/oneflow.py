"""OneFlow 0.9 <-> IR: :func:`from_oneflow` reads a live scheduler, :func:`to_oneflow` lowers a plan.

OneFlow's schedulers are closed forms ``get_lr(base_lr, step)`` counted by ``last_step``
(not ``last_epoch``); ``param_groups[i]`` are ``ParamGroup`` objects (``group[key]``
works, ``dict(group)`` does not). OneFlow is imported only inside these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..ir import nodes as n
from ..ir.plan import Field, Group, Plan
from ..ir.semantics import float_cycle_index
from . import _driver
from ._record import SchedulerCall
from ._source import base_value_lines, write_call

__all__ = ["construct", "from_oneflow", "import_plan", "import_record", "native_source", "read_oneflow", "record_nodes",
           "record_of", "to_oneflow"]


def _flow() -> Any:
    try:
        from .._frameworks import import_framework
    except ImportError:  # pragma: no cover - the helper module is always shipped
        import oneflow

        return oneflow
    return import_framework("oneflow")


# ---------------------------------------------------------------------------
# import: OneFlow scheduler -> Plan
# ---------------------------------------------------------------------------


def from_oneflow(scheduler: Any) -> Plan:
    """The plan of a live OneFlow scheduler: row 0 is the lr in effect now.

    Every class of ``oneflow.optim.lr_scheduler`` 0.9 is read exactly (WarmupLR as the
    SequentialLR it builds; ReduceLROnPlateau as a ``plateau`` node, only before its first
    ``step``). A scheduler already stepped (or built with ``last_step``) becomes
    ``Shift(schedule, last_step)``. A user subclass with its own ``get_lr`` is read as an
    opaque per-group ``lambda`` (evaluates; tabulate it to serialise).
    """
    flow = _flow()
    sch = flow.optim.lr_scheduler
    name = type(scheduler).__name__
    if isinstance(scheduler, sch.ReduceLROnPlateau):
        return _from_plateau(scheduler)
    if not isinstance(scheduler, _lr_base(flow)):
        raise SpecError("scheduler", "must be a OneFlow LR scheduler (oneflow.optim.lr_scheduler.*)",
                        type(scheduler).__name__)
    return import_plan(scheduler, flow, name)


def import_plan(scheduler: Any, flow: Any, name: str) -> Plan:
    """from_oneflow's body: read the live scheduler into its record, then map the record."""
    return import_record(read_oneflow(scheduler, flow), name)


def import_record(rec: SchedulerCall, name: str) -> Plan:
    """The plan of a OneFlow record (as OneFlow's constructors built it; see :func:`read_oneflow`)."""
    bases = [float(b) for b in _record_bases(rec)]
    nodes = record_nodes(rec, bases, "scheduler", nested=False)
    step = int(rec.step)
    if step < 0:
        raise SpecError("scheduler.last_step", "must be >= 0 once the scheduler is built", step)
    if step > 0:
        nodes = [n.Shift(nd, step) for nd in nodes]
    groups = tuple(Group({"lr": Field(b, nd)}) for b, nd in zip(bases, nodes))
    return Plan(groups, source=f"oneflow {name}")


def _lr_base(flow: Any) -> type:
    from oneflow.nn.optimizer.lr_scheduler import LRScheduler

    return LRScheduler


def _record_bases(rec: SchedulerCall) -> list[float]:
    if rec.name == "ChainedScheduler":
        return list(rec.children[0].group_values["base_lrs"])  # its step() starts from the first child's bases
    return list(rec.group_values["base_lrs"])


def _own_get_lr(s: Any, cls: type) -> bool:
    """True when ``s`` computes with ``cls.get_lr`` (not a user override)."""
    return getattr(type(s), "get_lr", None) is getattr(cls, "get_lr", None)


#: record name of a user scheduler read through its own ``get_lr(base_lr, step)`` (args: get_lr, cls)
CUSTOM = "<get_lr>"

#: OneFlow 0.9 leaf classes, in the order they are recognised: (constructor parameter, attribute set)
_LEAF_ATTRS: dict[str, tuple[tuple[str, str], ...]] = {
    "ConstantLR": (("factor", "factor"), ("total_iters", "total_iters")),
    "LinearLR": (("start_factor", "start_factor"), ("end_factor", "end_factor"), ("total_iters", "total_iters")),
    "ExponentialLR": (("gamma", "gamma"),),
    "StepLR": (("step_size", "step_size"), ("gamma", "gamma")),
    "MultiStepLR": (("milestones", "milestones"), ("gamma", "gamma")),
    "PolynomialLR": (("decay_batch", "max_decay_steps"), ("end_learning_rate", "end_learning_rate"),
                     ("power", "power"), ("cycle", "cycle")),
    "CosineDecayLR": (("decay_steps", "decay_steps"), ("alpha", "alpha")),
    "CosineAnnealingLR": (("T_max", "T_max"), ("eta_min", "eta_min")),
    "CosineAnnealingWarmRestarts": (("T_0", "T_0"), ("T_mult", "T_mult"), ("eta_min", "eta_min"),
                                    ("decay_rate", "decay_rate"), ("restart_limit", "restart_limit")),
}


def read_oneflow(s: Any, flow: Any = None, path: str = "scheduler") -> SchedulerCall:
    """The record of a live OneFlow scheduler: the one place OneFlow's attributes are read.

    Leaves are named by the OneFlow class whose ``get_lr`` they compute with; a WarmupLR is the
    SequentialLR it builds; a user class with its own ``get_lr`` is :data:`CUSTOM`.
    ``group_values["base_lrs"]``: the bases it holds; ``step``: ``last_step``.
    """
    flow = flow if flow is not None else _flow()
    sch = flow.optim.lr_scheduler
    bases = getattr(s, "base_lrs", None)
    gv = {} if bases is None else {"base_lrs": tuple(bases)}
    step = getattr(s, "last_step", -1)

    def rec(name: str, args: dict[str, Any], children: tuple[SchedulerCall, ...] = ()) -> SchedulerCall:
        return SchedulerCall("oneflow", name, args, children, gv, step)

    t = type(s)
    for name, attrs in _LEAF_ATTRS.items():
        cls = getattr(sch, name)
        if (name == "ConstantLR" and t is cls) or (isinstance(s, cls) and _own_get_lr(s, cls)):
            return rec(name, {p: getattr(s, a) for p, a in attrs})
    if isinstance(s, sch.SequentialLR) and type(s).step is sch.SequentialLR.step:
        kids = tuple(read_oneflow(c, flow, f"{path}.schedulers[{i}]") for i, c in enumerate(s.schedulers))
        return rec("SequentialLR", {"milestones": list(s.milestones),
                                    "interval_rescaling": list(s.interval_rescaling)}, kids)
    if isinstance(s, sch.ChainedScheduler) and type(s).step is sch.ChainedScheduler.step:
        kids = tuple(read_oneflow(c, flow, f"{path}.schedulers[{i}]") for i, c in enumerate(s.schedulers))
        return rec("ChainedScheduler", {}, kids)
    if isinstance(s, sch.LambdaLR) and type(s).step is sch.LambdaLR.step:
        return rec("LambdaLR", {"lr_lambda": list(s.lr_lambdas)})
    if getattr(type(s), "get_lr", None) is not getattr(_lr_base(flow), "get_lr", None):
        return rec(CUSTOM, {"get_lr": s.get_lr, "cls": type(s).__name__})
    raise UnsupportedError(f"{path}: cannot read OneFlow scheduler {type(s).__name__} "
                           "(it has neither a known class nor a get_lr(base_lr, step))")


def record_nodes(rec: SchedulerCall, bases: Sequence[float], path: str, nested: bool) -> list[n.Node]:
    """One node per param group for the scheduler recorded in ``rec``."""
    G = len(bases)
    same = _leaf(rec, path)
    if same is not None:
        return [same] * G
    a = rec.args
    if rec.name == "SequentialLR":
        kids = [record_nodes(c, bases, f"{path}.schedulers[{i}]", nested) for i, c in enumerate(rec.children)]
        ms = [int(m) for m in a["milestones"]]
        resc = tuple(bool(r) for r in a["interval_rescaling"])
        if len(kids) == 1:
            return kids[0]
        return [n.Sequential(tuple(k[g] for k in kids), tuple(ms), resc) for g in range(G)]
    if rec.name == "ChainedScheduler":
        kids = [record_nodes(c, bases, f"{path}.schedulers[{i}]", True) for i, c in enumerate(rec.children)]
        if len(kids) == 1:
            return kids[0]
        return [n.Chain(tuple(k[g] for k in kids), mode="nested") for g in range(G)]
    if rec.name == "LambdaLR":
        fns = list(a["lr_lambda"])
        return [n.Lambda(fn, label=getattr(fn, "__name__", "lambda")) for fn in fns]
    # CUSTOM: a user scheduler with a closed form get_lr(base_lr, step): opaque, per group
    if nested:
        raise UnsupportedError(
            f"{path}: a custom scheduler ({a['cls']}) inside ChainedScheduler takes the "
            "previous scheduler's lr as its base; it cannot be read exactly. Sample the chain "
            "into a table instead (step it and use bridge.schedules.Table)")
    out: list[n.Node] = []
    for g, b in enumerate(bases):
        if b == 0.0:
            raise UnsupportedError(f"{path}: param group {g} has base lr 0; a custom get_lr "
                                   "cannot be read as a factor of it")
        out.append(n.Lambda(_GetLr(a["get_lr"], a["cls"], b), label=f"{a['cls']}.get_lr"))
    return out


class _GetLr:
    """fn(t) = scheduler.get_lr(base, t) / base (a custom scheduler as a Lambda factor)."""

    def __init__(self, get_lr: Any, cls: str, base: float):
        self.get_lr, self.base = get_lr, base
        self.__name__ = f"{cls}.get_lr"

    def __call__(self, t: int) -> float:
        return float(self.get_lr(self.base, t)) / self.base


def _leaf(rec: SchedulerCall, path: str) -> n.Node | None:
    """The node of a recorded OneFlow leaf class (None for composites and user code)."""
    a, name = rec.args, rec.name
    try:
        if name == "ConstantLR":
            return n.Constant(float(a["factor"]), max(0, int(a["total_iters"])))
        if name == "LinearLR":
            T = int(a["total_iters"])
            if T <= 0:  # step < total_iters never holds: end_factor from the start
                return n.Constant(float(a["end_factor"]), None)
            return n.Linear(float(a["start_factor"]), float(a["end_factor"]), T)
        if name == "ExponentialLR":
            return n.Exponential(float(a["gamma"]))
        if name == "StepLR":
            return n.Step(int(a["step_size"]), float(a["gamma"]))
        if name == "MultiStepLR":
            return n.MultiStep(tuple(int(m) for m in a["milestones"]), float(a["gamma"]))
        if name == "PolynomialLR":
            return n.Polynomial(int(a["decay_batch"]), float(a["power"]), float(a["end_learning_rate"]),
                                bool(a["cycle"]))
        if name == "CosineDecayLR":
            return n.CosineDecay(int(a["decay_steps"]), float(a["alpha"]))
        if name == "CosineAnnealingLR":
            return n.CosineAnnealing(int(a["T_max"]), float(a["eta_min"]))
        if name == "CosineAnnealingWarmRestarts":
            lim = int(a["restart_limit"])
            if lim < 0:
                raise UnsupportedError(f"{path}.restart_limit: OneFlow holds eta_min from step 0 when "
                                       f"restart_limit < 0 (got {lim}); use a constant schedule instead")
            return n.WarmRestarts(int(a["T_0"]), int(a["T_mult"]), float(a["eta_min"]), float(a["decay_rate"]),
                                  None if lim == 0 else lim, float_log_cycles=int(a["T_mult"]) > 1)
    except SpecError as e:
        raise SpecError(f"{path}.{e.path}", e.reason, e.value, show_value=e.show_value) from None
    return None


def _from_plateau(s: Any) -> Plan:
    fresh = (int(s.last_step) == 0 and int(s.num_bad_steps or 0) == 0 and int(s.cooldown_counter) == 0
             and s.best == s.mode_worse)
    if not fresh:
        raise UnsupportedError(
            "scheduler: this ReduceLROnPlateau has already been stepped with metrics (last_step="
            f"{s.last_step}, best={s.best}); its state cannot be expressed as a schedule. Import it "
            "before the first step(metrics)")
    groups = []
    for g, grp in enumerate(s.optimizer.param_groups):
        node = n.Plateau(mode=s.mode, factor=float(s.factor), patience=int(s.patience),
                         threshold=float(s.threshold), threshold_mode=s.threshold_mode,
                         cooldown=int(s.cooldown), min_lr=float(s.min_lrs[g]), eps=float(s.eps))
        groups.append(Group({"lr": Field(float(grp["lr"]), node)}))
    return Plan(tuple(groups), source="oneflow ReduceLROnPlateau")


# ---------------------------------------------------------------------------
# lowering: Plan -> OneFlow scheduler
# ---------------------------------------------------------------------------

_GRAPH_NO = "nn.Graph has no conf for it (LambdaLR, ReduceLROnPlateau, ChainedScheduler)"


def to_oneflow(plan: Plan, optimizer: Any, *, graph: bool = False, native: bool = True) -> Any:
    """A OneFlow scheduler on ``optimizer`` that reproduces ``plan`` step for step.

    Sets each group's ``initial_lr``/``lr`` (and every other plan field) to the plan's base
    values, then returns a native scheduler where one is exact (``ConstantLR`` ...
    ``SequentialLR``, ``ChainedScheduler``, ``LambdaLR``, ``ReduceLROnPlateau``), else a
    :class:`PlanScheduler` (an ``LRScheduler`` subclass that drives every plan field:
    ``lr``, ``momentum``, ``weight_decay``, ``betas[0]``, ...). ``graph=True``: only what
    ``nn.Graph.add_optimizer(lr_sch=...)`` accepts, else :class:`UnsupportedError`.
    ``native=False`` always returns the plan-driven scheduler (eager mode only).
    """
    flow = _flow()
    _driver.check_plan(plan)
    if not isinstance(optimizer, flow.optim.Optimizer):
        raise SpecError("optimizer", "must be a oneflow.optim optimizer", type(optimizer).__name__)
    groups = optimizer.param_groups
    _driver.check_groups(plan, groups)
    _check_lr(plan)
    _driver.write_bases(plan, groups)  # base values everywhere
    rec, reason = _native_or_why(plan, graph) if native else (None, "native=False")
    if rec is not None:
        return _resumed(construct(rec, optimizer, flow.optim.lr_scheduler), rec.step)
    if graph:
        raise UnsupportedError(f"to_oneflow(graph=True): no nn.Graph-compatible OneFlow scheduler is "
                               f"exact for this plan ({reason}); use eager mode (graph=False) with the "
                               "plan-driven scheduler")
    if any(isinstance(nd, n.Plateau) for g in plan.groups for f in g.fields.values()
           if f.schedule is not None for nd in f.schedule.walk()):
        raise UnsupportedError(f"plan: a plateau schedule can only be lowered to a native "
                               f"ReduceLROnPlateau ({reason})")
    return _plan_scheduler_class()(optimizer, plan)


def _check_lr(plan: Plan) -> None:
    if "lr" not in plan.fields:
        raise SpecError("plan", "has no 'lr' field; a OneFlow scheduler needs one", plan.fields, show_value=False)
    for i, g in enumerate(plan.groups):
        if "lr" not in g.fields:
            raise SpecError(f"plan.groups[{i}]", "has no 'lr' field", list(g.fields))


def _native_or_why(plan: Plan, graph: bool) -> tuple[SchedulerCall | None, str]:
    """(the native twin's record or None, why not): OneFlow's schedulers drive only lr."""
    besides_lr = _scheduled_besides_lr(plan)
    if besides_lr:
        return None, (f"the plan schedules {', '.join(besides_lr)} (OneFlow's schedulers only drive lr; "
                      "nn.Graph cannot change momentum)")
    return _native_record(plan, graph)


def _scheduled_besides_lr(plan: Plan) -> list[str]:
    """Fields other than lr that some group schedules (OneFlow's schedulers drive only lr)."""
    return [f for f in plan.fields if f != "lr" and any(f in g.fields and g.fields[f].schedule is not None
                                                       for g in plan.groups)]


def native_source(plan: Plan, optimizer: str = "optimizer") -> str | None:
    """Python source building the native OneFlow scheduler :func:`to_oneflow` would choose for
    ``plan`` on an optimizer named ``optimizer`` (base values first, a resumed plan advanced);
    ``None`` when the plan needs the plan-driven scheduler or holds a Python callable.
    OneFlow is not needed to write it."""
    if not isinstance(plan, Plan):
        raise SpecError("plan", "must be a bridge Plan (see bridge.from_dict / bridge.load)", type(plan).__name__)
    rec = record_of(plan)
    if rec is None or any(c.name == "LambdaLR" for c in rec.walk()):
        return None
    lines = ["from oneflow.optim import lr_scheduler", "", *base_value_lines(plan, optimizer, "bridge.to_oneflow"),
             f"scheduler = {write_call(rec, construct, optimizer)}"]
    if rec.step:
        lines.append(f"scheduler.last_step = {rec.step - 1}  # resumed: the plan starts at step {rec.step}")
        lines.append("scheduler.step()")
    return "\n".join(lines) + "\n"


def _resumed(sched: Any, step: int) -> Any:
    """``sched`` advanced to ``step`` through OneFlow's own resume path (a resumed plan)."""
    if step:
        sched.last_step = step - 1
        sched.step()
    return sched


_PRODUCT = (n.Constant, n.Step, n.MultiStep, n.Exponential, n.Linear)


def _leaf_reason(nd: n.Node) -> str | None:
    """None when ``nd`` has an exact native OneFlow scheduler, else why not."""
    if isinstance(nd, n.Constant):
        return None if 0.0 <= nd.factor <= 1.0 else "ConstantLR needs 0 <= factor <= 1"
    if isinstance(nd, n.Linear):
        ok = 0.0 <= nd.start_factor <= 1.0 and 0.0 <= nd.end_factor <= 1.0
        return None if ok else "LinearLR needs factors in [0, 1]"
    if isinstance(nd, (n.Step, n.Exponential)):
        return None if nd.gamma > 0 else "OneFlow needs gamma > 0"
    if isinstance(nd, n.MultiStep):
        ms = nd.milestones
        if any(b <= a for a, b in zip(ms, ms[1:])):
            return "OneFlow MultiStepLR needs strictly increasing milestones"
        return None if nd.gamma > 0 else "OneFlow needs gamma > 0"
    if isinstance(nd, n.Polynomial):
        return None
    if isinstance(nd, n.CosineAnnealing):
        return None if nd.eta_min_ratio is None else "CosineAnnealingLR takes an absolute eta_min"
    if isinstance(nd, n.CosineDecay):
        return None if nd.eta_min is None else "CosineDecayLR takes a relative alpha, not eta_min"
    if isinstance(nd, n.WarmRestarts):
        if nd.T_mult == 1 or nd.float_log_cycles or _float_cycles_agree(nd.T_0, nd.T_mult):
            return None
        return "OneFlow's floating-point cycle index differs from the exact one at a restart"
    return f"no native OneFlow scheduler for {nd.kind!r}"


def _float_cycles_agree(T0: int, Tm: int, horizon: int = 1 << 31) -> bool:
    start, length, k = 0, T0, 0
    while start < horizon:
        if float_cycle_index(start, T0, Tm) != k:
            return False
        start += length
        length *= Tm
        k += 1
    return True


def _native_reason(nd: n.Node, graph: bool) -> str | None:
    if isinstance(nd, n.Sequential):
        for c in nd.schedules:
            r = _leaf_reason(c)
            if r is not None:
                return f"SequentialLR child: {r}"
        return None
    if isinstance(nd, n.Chain):
        if graph:
            return "ChainedScheduler: " + _GRAPH_NO
        for c in nd.schedules:
            r = _leaf_reason(c)
            if r is not None:
                return f"ChainedScheduler child: {r}"
            if nd.mode == "recursive" and not isinstance(c, _PRODUCT):
                return f"torch-style (recursive) chain with {c.kind!r} is not OneFlow's nested chain"
            if nd.mode == "recursive" and isinstance(c, n.Linear) and c.start_factor == 0.0:
                return "torch-style chain with a linear warm-up from 0"
        return None
    return _leaf_reason(nd)


def record_of(plan: Plan, *, graph: bool = False) -> SchedulerCall | None:
    """The OneFlow record of the native scheduler that is an exact twin of ``plan`` (``graph``:
    one ``nn.Graph`` accepts), or None (then :func:`to_oneflow` builds a PlanScheduler).

    The call as written, every constructor parameter after the optimizer bound (what
    :func:`read_oneflow` reads back from the object); ``step``: the steps a resumed plan starts
    at (the builder advances the scheduler to it). :func:`construct` builds it
    (:func:`to_oneflow`), ``_source.write_call`` writes it (:func:`native_source`).
    """
    if any("lr" not in g.fields for g in plan.groups):
        return None
    return _native_or_why(plan, graph)[0]


def _call(name: str, args: dict[str, Any], kids: Sequence[SchedulerCall] = (), step: int = 0) -> SchedulerCall:
    return SchedulerCall("oneflow", name, args, tuple(kids), {}, step)


def _lambda_or_plateau(nodes: list[n.Node], graph: bool) -> tuple[SchedulerCall | None, str]:
    """The LambdaLR / ReduceLROnPlateau call of per-group lambda or plateau nodes."""
    lam = [nd for nd in nodes if isinstance(nd, n.Lambda)]
    if lam:
        if len(lam) != len(nodes):
            return None, "lambda and non-lambda groups mixed"
        if graph:
            return None, "LambdaLR: " + _GRAPH_NO
        return _call("LambdaLR", {"lr_lambda": [nd.fn for nd in lam]}), ""
    plat: list[n.Plateau] = [nd for nd in nodes if isinstance(nd, n.Plateau)]
    p0 = plat[0]
    if len(plat) != len(nodes) or any(p.__class__ is not p0.__class__ for p in plat):
        return None, "plateau and non-plateau groups mixed"
    if graph:
        return None, "ReduceLROnPlateau: " + _GRAPH_NO
    key = [(p.mode, p.factor, p.patience, p.threshold, p.threshold_mode, p.cooldown, p.eps) for p in plat]
    if any(k != key[0] for k in key):
        return None, "plateau settings differ between groups"
    return _call("ReduceLROnPlateau", {
        "mode": p0.mode, "factor": p0.factor, "patience": p0.patience, "threshold": p0.threshold,
        "threshold_mode": p0.threshold_mode, "cooldown": p0.cooldown, "min_lr": [p.min_lr for p in plat],
        "eps": p0.eps}), ""


def _native_record(plan: Plan, graph: bool) -> tuple[SchedulerCall | None, str]:
    """(the native twin's record or None, why not)."""
    nodes = [g.fields["lr"].schedule for g in plan.groups]
    if all(nd is None for nd in nodes):
        nodes = [n.Constant(1.0, None)] * len(nodes)
    if any(nd is None for nd in nodes):
        return None, "some groups have no lr schedule"
    if any(isinstance(nd, (n.Lambda, n.Plateau)) for nd in nodes):
        return _lambda_or_plateau(nodes, graph)  # type: ignore[arg-type]
    first = nodes[0]
    if any(nd != first for nd in nodes[1:]):
        return None, "the param groups follow different schedules"
    offset = 0
    node: n.Node = first  # type: ignore[assignment]
    if isinstance(node, n.Shift):
        offset, node = node.offset, node.schedule
        if graph and offset:
            return None, "a resumed schedule (shift) under nn.Graph"
    r = _native_reason(node, graph)
    if r is not None:
        return None, r
    return replace(_record_of_node(node), step=offset), ""


#: IR leaf -> (OneFlow class, its constructor parameters, each read from the node's field of that name)
_NATIVE_CLASS: dict[type, tuple[str, tuple[tuple[str, str], ...]]] = {
    n.Linear: ("LinearLR", (("start_factor", "start_factor"), ("end_factor", "end_factor"),
                            ("total_iters", "total_iters"))),
    n.Step: ("StepLR", (("step_size", "step_size"), ("gamma", "gamma"))),
    n.MultiStep: ("MultiStepLR", (("milestones", "milestones"), ("gamma", "gamma"))),
    n.Exponential: ("ExponentialLR", (("gamma", "gamma"),)),
    n.Polynomial: ("PolynomialLR", (("decay_batch", "total_iters"), ("end_learning_rate", "end_value"),
                                    ("power", "power"), ("cycle", "cycle"))),
    n.CosineAnnealing: ("CosineAnnealingLR", (("T_max", "T_max"), ("eta_min", "eta_min"))),
    n.CosineDecay: ("CosineDecayLR", (("decay_steps", "decay_steps"), ("alpha", "alpha"))),
    n.WarmRestarts: ("CosineAnnealingWarmRestarts", (("T_0", "T_0"), ("T_mult", "T_mult"), ("eta_min", "eta_min"),
                                                     ("decay_rate", "decay_rate"),
                                                     ("restart_limit", "restart_limit"))),
}


def _record_of_node(nd: n.Node) -> SchedulerCall:
    """The OneFlow call (as written) of a node :func:`_native_reason` accepts."""
    if isinstance(nd, n.Sequential):
        return _call("SequentialLR", {"milestones": list(nd.milestones), "interval_rescaling": list(nd.rescale or ())},
                     [_record_of_node(c) for c in nd.schedules])
    if isinstance(nd, n.Chain):
        return _call("ChainedScheduler", {}, [_record_of_node(c) for c in nd.schedules])
    if isinstance(nd, n.Constant):
        if nd.total_iters is None:  # factor forever: LinearLR(f, f, 1) is exactly that
            return _call("LinearLR", {"start_factor": nd.factor, "end_factor": nd.factor, "total_iters": 1})
        return _call("ConstantLR", {"factor": nd.factor, "total_iters": nd.total_iters})
    name, params = _NATIVE_CLASS[type(nd)]
    args = {p: getattr(nd, f) for p, f in params}
    if name == "MultiStepLR":
        args["milestones"] = list(args["milestones"])
    if name == "CosineAnnealingWarmRestarts":
        args["restart_limit"] = args["restart_limit"] or 0
    return _call(name, args)


def construct(rec: SchedulerCall, optimizer: Any, classes: Any) -> Any:
    """The scheduler a OneFlow record (as written) names, built on ``optimizer`` from ``classes``
    (``oneflow.optim.lr_scheduler``, or a ``_source.Recorder`` to write it as source); children
    first. ``rec.step`` is not applied here (see :func:`to_oneflow`)."""
    kids = [construct(ch, optimizer, classes) for ch in rec.children]
    cls = getattr(classes, rec.name)
    if rec.name == "ChainedScheduler":
        return cls(kids)
    if rec.name == "SequentialLR":
        return cls(optimizer, kids, **rec.args)
    return cls(optimizer, **rec.args)


# ---------------------------------------------------------------------------
# the plan-driven scheduler
# ---------------------------------------------------------------------------

@_driver.built_once(__name__)
def _plan_scheduler_class() -> type:
    LRScheduler = _lr_base(_flow())

    class PlanScheduler(LRScheduler):  # type: ignore[misc, valid-type]
        """A OneFlow ``LRScheduler`` driven by a bridge Plan (every field, eager mode).

        The OneFlow adapter of :class:`bridge.frameworks._driver.Driver`: values are
        ``plan.values``' exactly, read in cached chunks (``step()`` is O(1) amortised); the
        counter is ``last_step``. ``state_dict()`` is the format every plan-driven scheduler
        shares (``last_step`` and a fingerprint of the plan among it); ``load_state_dict()``
        continues exactly and refuses, with a :class:`~bridge.SpecError` naming what differs,
        the state of another plan or of a native scheduler. Past the end of the plan (a
        table of N values, a one-cycle's ``total_steps``) every field holds its value at step
        N-1: the standard loop runs to the end, and the first ``step()`` to step N+1 (update N
        ran beyond the plan) warns once with :class:`bridge.PlanEndWarning`.
        """

        def __init__(self, optimizer: Any, plan: Plan, last_step: int = -1, verbose: bool = False):
            _driver.check_groups(plan, optimizer.param_groups)
            self.plan = plan
            self._drv = _driver.Driver(plan, name="PlanScheduler", lower="bridge.to_oneflow")
            self._others = [f for f in self._drv.scheduled if f != "lr"]  # lr goes through update_lrs
            _driver.write_bases(plan, optimizer.param_groups)
            super().__init__(optimizer, last_step, verbose)

        def get_lr(self, base_lr: float, step: int) -> float:
            bases = self.plan.bases("lr")
            hit = np.flatnonzero(bases == base_lr)
            if hit.size == 0:
                raise UnsupportedError("PlanScheduler.get_lr: base_lr must be one of the plan's lr bases "
                                       f"{bases.tolist()}", )
            return float(self._drv.row("lr", int(step))[int(hit[0])])

        def step(self) -> None:
            k: int = int(self.last_step) + 1  # type: ignore[has-type]
            self.last_step = k
            if self._others:
                self._drv.write(self.optimizer.param_groups, k, self._others)
            self.update_lrs(self._drv.row("lr", k))
            self._drv.check_end(k)

        def state_dict(self) -> dict[str, Any]:
            return self._drv.state(self.last_step, last_step=self.last_step, verbose=bool(getattr(self, "verbose", False)),
                                   base_lrs=list(self.base_lrs), _last_lr=list(getattr(self, "_last_lr", [])))

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            k = self._drv.load(state_dict)
            self.last_step = k
            if "verbose" in state_dict:
                self.verbose = bool(state_dict["verbose"])
            groups = self.optimizer.param_groups
            self._drv.write(groups, k, [f for f in self._drv.fields if f != "lr"], warn=False)
            self.update_lrs(self._drv.row("lr", k))

        def _generate_conf_for_graph(self, lr_conf: Any) -> None:
            raise UnsupportedError(
                "PlanScheduler runs in eager mode only: nn.Graph compiles its own lr schedule from a "
                "native OneFlow scheduler. Use bridge.to_oneflow(plan, opt, graph=True) to get one, "
                "or train eagerly")

    return PlanScheduler


# PlanScheduler subclasses OneFlow's LRScheduler, so it is created on first use
__getattr__ = _driver.lazy_getattr(__name__, PlanScheduler=_plan_scheduler_class)
