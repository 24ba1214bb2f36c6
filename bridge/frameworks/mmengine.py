"""MMEngine ``param_scheduler`` configs, both directions, through one table.

- :func:`read_entry`: one config entry -> the neutral record
  (:class:`~bridge.frameworks._record.SchedulerCall`, dialect ``"mmengine"``): the type's
  arguments bound to the real class's signature with its defaults, ``begin``/``end`` as the
  Runner resolves them (default end = max_epochs / max_iters) and, for
  ``convert_to_iter_based``, as ``build_iter_from_epoch`` rewrites them (an iteration-based
  call);
- :data:`TABLE` (one :class:`SchedulerType` row per type family): record -> IR nodes
  (``to_ir``) and IR nodes -> record arguments (``from_ir``);
- :func:`from_mmengine`: a config -> Plan (exact, per optimizer update);
- :func:`to_mmengine`: a Plan -> ``param_scheduler`` dicts written from records, read back and
  checked (a plan :func:`from_mmengine` made comes back equal, windows included);
- :func:`register_mmengine_scheduler`: a user's own type.

MMEngine itself is never imported: configs are plain dicts and the optimizer is read
duck-typed (``param_groups``, ``defaults``). The plan counts optimizer updates of a run driven
by ``ParamSchedulerHook``: iteration-based schedulers step after each train iteration,
epoch-based ones after each train epoch; every scheduler applies its step-0 update when built.
With ``accumulative_counts=k`` the optimizer updates every k iterations (and at the end of
each epoch), and step t of the plan is optimizer update t.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import itertools
import os
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import BridgeError, SpecError, UnsupportedError
from ..ir import Field, Group, Plan
from ..ir import _check as c
from ..ir import nodes as n
from ._fields import read_field
from ._record import SchedulerCall

__all__ = ["from_mmengine", "to_mmengine", "read_entry", "register_mmengine_scheduler", "optimizer_bases",
           "config_text", "entry_of", "unknown_types", "MMENGINE_TYPES", "DOWNSTREAM_TYPES", "TABLE", "SchedulerType", "INF"]

#: MMEngine's "no end" (``mmengine.optim.scheduler.param_scheduler.INF``).
INF = int(1e9)
_REQ = object()  # a required argument in a signature table
#: arguments every param scheduler takes after its type-specific ones (MMEngine 0.10's order varies
#: by class; only the names and defaults matter for binding)
_COMMON_ARGS: Tuple[Tuple[str, Any], ...] = (("begin", 0), ("end", INF), ("last_step", -1), ("by_epoch", True),
                                             ("verbose", False))
_CONFIG_ONLY = ("type", "convert_to_iter_based", "_scope_")
#: environment variable naming modules that call register_mmengine_scheduler (imported on demand)
PLUGINS_ENV = "SCHED_BRIDGE_PLUGINS"


class _Ctx:
    """What a ``to_ir`` needs beyond the record: the entry's path, the param groups' count and
    base values of the field, metrics, and the OneCycle entry whose values the groups hold."""

    def __init__(self, path: str, G: int, bases: Callable[[], List[float]],
                 metrics: Optional[Sequence[float]], last_onecycle: Optional[SchedulerCall]):
        self.path, self.G, self._bases = path, G, bases
        self.metrics, self.last_onecycle = metrics, last_onecycle

    def bases(self) -> List[float]:
        return self._bases()


ToIR = Callable[[SchedulerCall, _Ctx], List[n.Node]]
FromIR = Callable[[Sequence[n.Node], int, int, Sequence[float]], Optional[Dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class SchedulerType:
    """One row of the MMEngine table: a scheduler family and both directions for it.

    ``names``: full type name -> the field it writes (``"lr"``, ``"momentum"`` for momentum or
    ``betas[0]``, ``"<param_name>"`` for the ``*ParamScheduler`` forms, or a fixed key).
    ``params``: the type-specific constructor arguments in order, with defaults (``_REQ``:
    required). ``scaled``: the arguments ``build_iter_from_epoch`` multiplies by the epoch
    length. ``to_ir(record, ctx)``: one node per param group. ``from_ir(nodes, span, bases)``:
    the arguments that give those nodes over a window of ``span`` steps, or None.
    ``int_begin``: the conversion truncates ``begin*L`` with ``int()`` (mmdet's quadratic warm-up
    does not). ``package``: where the real class lives.
    """

    base: str
    names: Mapping[str, str]
    params: Tuple[Tuple[str, Any], ...]
    to_ir: ToIR
    from_ir: Optional[FromIR] = None
    scaled: Tuple[str, ...] = ()
    package: str = "mmengine"
    int_begin: bool = True
    finite_end: bool = False  # the class refuses end = INF

    #: the default of a required argument in ``params`` / ``signature``
    REQUIRED: ClassVar[object] = _REQ

    def signature(self, name: str) -> Tuple[Tuple[str, Any], ...]:
        """The bound arguments' names and defaults (param_name first for a ParamScheduler)."""
        lead = (("param_name", _REQ),) if self.names[name] == "<param_name>" else ()
        return lead + self.params + _COMMON_ARGS


def _num(path: str, v: Any, **kw: Any) -> float:
    return c.real(path, v, **kw)


def _int(path: str, v: Any, lo: Optional[int] = None) -> int:
    return c.integer(path, v, lo=lo)


def _families(base: str, fams: Sequence[str] = ("LR", "Momentum", "ParamScheduler")) -> Dict[str, str]:
    field = {"LR": "lr", "Momentum": "momentum", "ParamScheduler": "<param_name>"}
    return {base + f: field[f] for f in fams}


def _is_adam_like(defaults: Optional[Mapping[str, Any]], bases: Mapping[str, Any]) -> bool:
    if defaults is not None:
        return "momentum" not in defaults and "betas" in defaults
    return "momentum" not in bases and "betas[0]" in bases


class _Reader:
    """Per-group base values from a torch optimizer (or OptimWrapper) or a ``bases`` dict."""

    def __init__(self, optimizer: Any, bases: Optional[Mapping[str, Any]]):
        self.groups: Optional[List[Mapping[str, Any]]] = None
        self.defaults: Optional[Mapping[str, Any]] = None
        self.bases: Dict[str, List[float]] = {}
        if optimizer is not None and bases is not None:
            raise SpecError("bases", "give either optimizer or bases, not both", sorted(bases))
        if optimizer is not None:
            pg = getattr(optimizer, "param_groups", None)
            if pg is None:
                raise SpecError("optimizer", "must be a torch optimizer or an MMEngine OptimWrapper "
                                "(something with param_groups)", type(optimizer).__name__)
            self.groups = list(pg)
            d = getattr(optimizer, "defaults", None)
            if d is None and hasattr(optimizer, "optimizer"):
                d = getattr(optimizer.optimizer, "defaults", None)
            self.defaults = d if isinstance(d, Mapping) else {}
            self.n = len(self.groups)
        elif bases is not None:
            if not isinstance(bases, Mapping) or not bases:
                raise SpecError("bases", "must be a dict like {'lr': [0.1, 0.01]}", bases)
            lens = {len(v) for v in bases.values() if isinstance(v, (list, tuple))}
            if len(lens) > 1:
                raise SpecError("bases", "lists must all have one value per param group",
                                {k: v for k, v in bases.items()})
            self.n = lens.pop() if lens else 1
            for k, v in bases.items():
                vals = list(v) if isinstance(v, (list, tuple)) else [v] * self.n
                self.bases[str(k)] = [c.real(f"bases[{k!r}][{i}]", x) for i, x in enumerate(vals)]
        else:
            raise SpecError("optimizer", "pass the optimizer (torch / OptimWrapper) or bases={'lr': [...]}",
                            None)
        if self.n < 1:
            raise SpecError("optimizer", "has no param groups", 0)

    @property
    def adam_like(self) -> bool:
        return _is_adam_like(self.defaults, self.bases)

    def fields(self) -> List[str]:
        """Every numeric field of all groups (or every key of ``bases``), ``betas[i]`` expanded."""
        if self.groups is None:
            return list(self.bases)
        each = [list(_numeric_fields(g)) for g in self.groups]
        return [f for f in each[0] if all(f in e for e in each[1:])]

    def has(self, field: str) -> bool:
        if self.groups is None:
            return field in self.bases
        return all(read_field(g, field, None) is not None for g in self.groups)

    def get(self, field: str, path: str) -> List[float]:
        if self.groups is None:
            if field not in self.bases:
                raise SpecError(path, f"needs base values for {field!r}; add bases={{{field!r}: [...]}}",
                                sorted(self.bases))
            return self.bases[field]
        out = []
        for i, g in enumerate(self.groups):
            v = read_field(g, field, None)
            if v is None:
                raise SpecError(path, f"the optimizer's param_groups[{i}] has no {field!r}",
                                sorted(k for k in g if k != "params"))
            out.append(c.real(f"optimizer.param_groups[{i}][{field!r}]", v))
        return out


# ---------------------------------------------------------------------------
# the table: one row per type family, both directions
# ---------------------------------------------------------------------------


def _span(call: SchedulerCall) -> int:
    return int(call.args["end"]) - int(call.args["begin"])


def _same(nodes: Sequence[n.Node]) -> Optional[n.Node]:
    return nodes[0] if all(x == nodes[0] for x in nodes) else None


def _to_constant(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    p, a = ctx.path, call.args
    factor = _num(f"{p}.factor", a["factor"], lo=0.0, hi=1.0)
    ti = _span(call) - 1
    bounded = a["end"] < INF and ti > 0
    if factor == 0.0 and bounded:
        raise SpecError(f"{p}.factor", "must be > 0: MMEngine divides by it at step end-1", factor)
    return [n.Constant(factor, ti if bounded else None)] * ctx.G


def _from_constant(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    span = end - begin
    nd = _same(nodes)
    if not isinstance(nd, n.Constant):
        return None
    bounded = end < INF and span > 1  # as _to_constant reads it
    if (nd.total_iters is not None) != bounded or (bounded and nd.total_iters != span - 1):
        return None
    return {"factor": nd.factor}


def _to_linear(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    p, a = ctx.path, call.args
    s = _num(f"{p}.start_factor", a["start_factor"], lo=0.0, hi=1.0)
    e = _num(f"{p}.end_factor", a["end_factor"], lo=0.0, hi=1.0)
    ti = _span(call) - 1
    if ti == 0:
        return [n.Constant(s, None)] * ctx.G
    if s == 0.0:
        raise SpecError(f"{p}.start_factor", "must be > 0: MMEngine's LinearLR divides by "
                        "start_factor*total_iters at its second step", s)
    return [n.Linear(s, e, ti)] * ctx.G


def _from_linear(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    span = end - begin
    nd = _same(nodes)
    if isinstance(nd, n.Linear) and nd.total_iters == span - 1:
        return {"start_factor": nd.start_factor, "end_factor": nd.end_factor}
    return None


def _poly_nodes(call: SchedulerCall, ctx: _Ctx, etas: Sequence[float]) -> List[n.Node]:
    power = _num(f"{ctx.path}.power", call.args["power"], nonneg=True)
    ti = _span(call) - 1
    if ti == 0:
        return [n.Constant(1.0, None)] * ctx.G
    return [n.Polynomial(ti, power, eta) for eta in etas]


def _to_poly(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    return _poly_nodes(call, ctx, [_num(f"{ctx.path}.eta_min", call.args["eta_min"])] * ctx.G)


def _from_poly(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    span = end - begin
    nd = _same(nodes)
    if isinstance(nd, n.Polynomial) and not nd.cycle and nd.total_iters == span - 1:
        return {"eta_min": nd.end_value, "power": nd.power}
    return None


def _to_poly_ratio(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    """mmseg PolyLRRatio: PolyLR whose floor is ``base * eta_min_ratio`` when the ratio is given."""
    ratio = call.args["eta_min_ratio"]
    if ratio is None:
        return _to_poly(call, ctx)
    r = _num(f"{ctx.path}.eta_min_ratio", ratio, nonneg=True)
    return _poly_nodes(call, ctx, [b * r for b in ctx.bases()])


def _from_poly_ratio(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    span = end - begin
    if not all(isinstance(x, n.Polynomial) and not x.cycle and x.total_iters == span - 1 for x in nodes):
        return None
    polys: List[n.Polynomial] = list(nodes)  # type: ignore[arg-type]
    if len({(x.power, x.total_iters) for x in polys}) != 1 or not bases[0]:
        return None
    r = polys[0].end_value / bases[0]
    if any(b * r != x.end_value for b, x in zip(bases, polys)):
        return None
    return {"eta_min_ratio": r, "power": polys[0].power}


def _to_step(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    p, a = ctx.path, call.args
    return [n.Step(_int(f"{p}.step_size", a["step_size"], lo=1),
                   _num(f"{p}.gamma", a["gamma"], nonneg=True))] * ctx.G


def _from_step(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    nd = _same(nodes)
    return {"step_size": nd.step_size, "gamma": nd.gamma} if isinstance(nd, n.Step) else None


def _milestones(path: str, v: Any) -> List[int]:
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
        raise SpecError(path, "must be a list of integers", v)
    ms = [_int(f"{path}[{j}]", m, lo=0) for j, m in enumerate(v)]
    if any(b < a for a, b in zip(ms, ms[1:])):
        raise SpecError(path, "must be increasing", list(v))
    return ms


def _to_multistep(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    p, a = ctx.path, call.args
    return [n.MultiStep(tuple(_milestones(f"{p}.milestones", a["milestones"])),
                        _num(f"{p}.gamma", a["gamma"], nonneg=True))] * ctx.G


def _from_multistep(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    nd = _same(nodes)
    return {"milestones": list(nd.milestones), "gamma": nd.gamma} if isinstance(nd, n.MultiStep) else None


def _to_exponential(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    return [n.Exponential(_num(f"{ctx.path}.gamma", call.args["gamma"], positive=True))] * ctx.G


def _from_exponential(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    nd = _same(nodes)
    return {"gamma": nd.gamma} if isinstance(nd, n.Exponential) else None


def _eta_pair(path: str, a: Mapping[str, Any], default_zero: bool) -> Tuple[float, Optional[float]]:
    eta, ratio = a.get("eta_min"), a.get("eta_min_ratio")
    if eta is None and ratio is None and default_zero:
        eta = 0.0
    if (eta is None) == (ratio is None):
        raise SpecError(f"{path}.eta_min", "give exactly one of eta_min and eta_min_ratio",
                        {"eta_min": eta, "eta_min_ratio": ratio})
    return (0.0 if eta is None else _num(f"{path}.eta_min", eta),
            None if ratio is None else _num(f"{path}.eta_min_ratio", ratio, nonneg=True))


def _eta_args(eta_min: float, ratio: Optional[float]) -> Optional[Dict[str, Any]]:
    if ratio is None:
        return {"eta_min": eta_min}
    return {"eta_min_ratio": ratio} if eta_min == 0.0 else None


def _to_cosine(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    em, er = _eta_pair(ctx.path, call.args, default_zero=True)
    tm = call.args["T_max"]
    T = _int(f"{ctx.path}.T_max", tm, lo=1) if tm else _span(call)
    return [n.CosineAnnealing(T, em, er)] * ctx.G


def _from_cosine(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    nd = _same(nodes)
    if not isinstance(nd, n.CosineAnnealing):
        return None
    eta = _eta_args(nd.eta_min, nd.eta_min_ratio)
    return None if eta is None else {"T_max": nd.T_max, **eta}


def _to_cosine_wd(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    """mmpretrain CosineAnnealingWeightDecay: a group whose base weight decay is 0 keeps it."""
    cos = _to_cosine(call, ctx)
    return [n.Constant(1.0, None) if b == 0 else nd for b, nd in zip(ctx.bases(), cos)]


def _from_cosine_wd(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    live = [nd for b, nd in zip(bases, nodes) if b != 0]
    if not live or any(nd != n.Constant(1.0, None) for b, nd in zip(bases, nodes) if b == 0):
        return None
    return _from_cosine(live, begin, end, [b for b in bases if b != 0])


def _to_cosine_restart(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    p, a = ctx.path, call.args
    em, er = _eta_pair(p, a, default_zero=False)
    per = c.int_list(f"{p}.periods", a["periods"], lo=1, nonempty=True)
    rw = c.real_list(f"{p}.restart_weights", a["restart_weights"], nonneg=True)
    if len(rw) != len(per):
        raise SpecError(f"{p}.restart_weights", f"must have one weight per period ({len(per)})", list(rw))
    return [n.CosineRestart(tuple(per), rw, em, er)] * ctx.G


def _from_cosine_restart(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    nd = _same(nodes)
    if not isinstance(nd, n.CosineRestart):
        return None
    eta = _eta_args(nd.eta_min, nd.eta_min_ratio)
    return None if eta is None else {"periods": list(nd.periods), "restart_weights": list(nd.restart_weights), **eta}


def _per_group(path: str, v: Any, G: int) -> List[float]:
    """A non-negative number, or a list of one per param group (MMEngine accepts both)."""
    if isinstance(v, (list, tuple)):
        if len(v) != G:
            raise SpecError(path, f"must have one value per param group ({G})", list(v))
        return [_num(f"{path}[{g}]", x, nonneg=True) for g, x in enumerate(v)]
    return [_num(path, v, nonneg=True)] * G


def _one_cycles(path: str, a: Mapping[str, Any], span: int, G: int) -> List[n.OneCycle]:
    ts = a["total_steps"]
    T = _int(f"{path}.total_steps", ts, lo=1) if ts is not None else span
    pct = a["pct_start"]
    if not isinstance(pct, float) or not 0.0 <= pct <= 1.0:
        raise SpecError(f"{path}.pct_start", "must be a float between 0 and 1 (MMEngine checks the type)", pct)
    anneal = c.choice(f"{path}.anneal_strategy", a["anneal_strategy"], ("cos", "linear"))
    div = _num(f"{path}.div_factor", a["div_factor"], positive=True)
    fdiv = _num(f"{path}.final_div_factor", a["final_div_factor"], positive=True)
    three = c.boolean(f"{path}.three_phase", a["three_phase"])
    return [n.OneCycle(max_lr=m, total_steps=T, pct_start=pct, anneal=anneal, div_factor=div,
                       final_div_factor=fdiv, three_phase=three)
            for m in _per_group(f"{path}.eta_max", a["eta_max"], G)]


def _to_onecycle(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    """Every OneCycle writes initial_lr/max_lr/min_lr into the groups when it is built (in list
    order) and reads them back at every step: all of them run with the last one's values, except
    at the construction step (begin 0) of an earlier one, which uses its own."""
    own = _one_cycles(ctx.path, call.args, _span(call), ctx.G)
    last = ctx.last_onecycle
    if last is None or last is call:
        return list(own)
    la = {**call.args, **{k: last.args[k] for k in ("eta_max", "div_factor", "final_div_factor")}}
    later = _one_cycles(ctx.path, la, _span(call), ctx.G)
    if call.args["begin"] > 0:
        return list(later)
    return [n.Sequential((a, n.Shift(b, 1)), (1,)) for a, b in zip(own, later)]


def _onecycle_args(nodes: Sequence[n.OneCycle]) -> Optional[Dict[str, Any]]:
    one = nodes[0]
    if any(x.max_lr is None for x in nodes) or any(dataclasses.replace(x, max_lr=one.max_lr) != one for x in nodes):
        return None
    maxes = [x.max_lr for x in nodes]
    return {"eta_max": maxes[0] if len(set(maxes)) == 1 else maxes, "total_steps": one.total_steps,
            "pct_start": one.pct_start, "anneal_strategy": one.anneal, "div_factor": one.div_factor,
            "final_div_factor": one.final_div_factor, "three_phase": one.three_phase}


def _from_onecycle(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    if all(isinstance(x, n.OneCycle) for x in nodes):
        return _onecycle_args(nodes)  # type: ignore[arg-type]
    # an earlier OneCycle built at step 0 under a later one: its own values at step 0 (the later one's
    # values come from that later entry, written after this one)
    firsts = [x.schedules[0] for x in nodes if isinstance(x, n.Sequential) and x.milestones == (1,)
              and len(x.schedules) == 2 and isinstance(x.schedules[0], n.OneCycle)]
    if len(firsts) == len(nodes):
        return _onecycle_args(firsts)
    return None


def _to_plateau(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    p, a = ctx.path, call.args
    rule = c.choice(f"{p}.rule", a["rule"], ("less", "greater"))
    trule = c.choice(f"{p}.threshold_rule", a["threshold_rule"], ("rel", "abs"))
    thr = _num(f"{p}.threshold", a["threshold"], nonneg=True)
    met: Optional[Tuple[float, ...]] = None
    if ctx.metrics is not None:
        met = c.real_list("metrics", ctx.metrics)
        lim = INF * (1.0 - thr) if rule == "less" and trule == "rel" else INF
        if any(abs(m) >= lim * 0.999 for m in met):
            raise UnsupportedError("metrics: MMEngine starts 'best' at 1e9, not infinity; "
                                   "metrics this large are not modelled")
        if a["end"] < INF:  # validation after epoch e runs with _global_step = e + 1
            met = met[: a["end"] - 1]
    factor = _num(f"{p}.factor", a["factor"], nonneg=True)
    if factor >= 1.0:
        raise SpecError(f"{p}.factor", "must be < 1.0", factor)
    return [n.Plateau(mode="min" if rule == "less" else "max", factor=factor,
                      patience=_int(f"{p}.patience", a["patience"], lo=0), threshold=thr, threshold_mode=trule,
                      cooldown=_int(f"{p}.cooldown", a["cooldown"], lo=0), min_lr=m,
                      eps=_num(f"{p}.eps", a["eps"], nonneg=True), metrics=met)
            for m in _per_group(f"{p}.min_value", a["min_value"], ctx.G)]


def _from_plateau(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    if not all(isinstance(x, n.Plateau) for x in nodes):
        return None
    ps: List[n.Plateau] = list(nodes)  # type: ignore[arg-type]
    one = ps[0]
    if any(dataclasses.replace(x, min_lr=one.min_lr) != one for x in ps):
        return None
    mins = [x.min_lr for x in ps]
    return {"rule": "less" if one.mode == "min" else "greater", "factor": one.factor, "patience": one.patience,
            "threshold": one.threshold, "threshold_rule": one.threshold_mode, "cooldown": one.cooldown,
            "min_value": mins[0] if len(set(mins)) == 1 else mins, "eps": one.eps}


def _to_quadratic(call: SchedulerCall, ctx: _Ctx) -> List[n.Node]:
    return [n.QuadraticWarmup(_span(call))] * ctx.G


def _from_quadratic(nodes: Sequence[n.Node], begin: int, end: int, bases: Sequence[float]) -> Optional[Dict[str, Any]]:
    span = end - begin
    nd = _same(nodes)
    return {} if isinstance(nd, n.QuadraticWarmup) and nd.total_iters == span else None


_ETA = (("eta_min", None),)
#: every type family MMEngine 0.10 registers in PARAM_SCHEDULERS, then the downstream ones the
#: OpenMMLab model zoos use (mmdet 3.3, mmsegmentation 1.2, mmpretrain 1.2; mmyolo 0.6 adds none)
TABLE: Tuple[SchedulerType, ...] = (
    SchedulerType("Constant", _families("Constant"), (("factor", 1.0 / 3),), _to_constant, _from_constant),
    SchedulerType("Linear", _families("Linear"), (("start_factor", 1.0 / 3), ("end_factor", 1.0)),
                  _to_linear, _from_linear),
    SchedulerType("Poly", _families("Poly"), (("eta_min", 0), ("power", 1.0)), _to_poly, _from_poly),
    SchedulerType("Step", _families("Step"), (("step_size", _REQ), ("gamma", 0.1)), _to_step, _from_step,
                  scaled=("step_size",)),
    SchedulerType("MultiStep", _families("MultiStep"), (("milestones", _REQ), ("gamma", 0.1)), _to_multistep,
                  _from_multistep, scaled=("milestones",)),
    SchedulerType("Exponential", _families("Exponential"), (("gamma", _REQ),), _to_exponential,
                  _from_exponential),
    SchedulerType("CosineAnnealing", _families("CosineAnnealing"),
                  (("T_max", None), ("eta_min", None), ("eta_min_ratio", None)), _to_cosine, _from_cosine,
                  scaled=("T_max",)),
    SchedulerType("CosineRestart", _families("CosineRestart"),
                  (("periods", _REQ), ("restart_weights", (1,)), ("eta_min", None), ("eta_min_ratio", None)),
                  _to_cosine_restart, _from_cosine_restart, scaled=("periods",)),
    SchedulerType("OneCycle", _families("OneCycle", ("LR", "ParamScheduler")),
                  (("eta_max", 0), ("total_steps", None), ("pct_start", 0.3), ("anneal_strategy", "cos"),
                   ("div_factor", 25.0), ("final_div_factor", 1e4), ("three_phase", False)),
                  _to_onecycle, _from_onecycle, scaled=("total_steps",)),
    SchedulerType("ReduceOnPlateau", _families("ReduceOnPlateau"),
                  (("monitor", "loss"), ("rule", "less"), ("factor", 0.1), ("patience", 10), ("threshold", 1e-4),
                   ("threshold_rule", "rel"), ("cooldown", 0), ("min_value", 0.0), ("eps", 1e-8)),
                  _to_plateau, _from_plateau),
    # downstream
    SchedulerType("QuadraticWarmup", _families("QuadraticWarmup"), (), _to_quadratic, _from_quadratic,
                  package="mmdet", int_begin=False, finite_end=True),
    SchedulerType("PolyLRRatio", {"PolyLRRatio": "lr"}, (("eta_min_ratio", None), ("eta_min", 0), ("power", 1.0)),
                  _to_poly_ratio, _from_poly_ratio, package="mmseg"),
    SchedulerType("CosineAnnealingWeightDecay", {"CosineAnnealingWeightDecay": "weight_decay"},
                  (("T_max", None), ("eta_min", None), ("eta_min_ratio", None)), _to_cosine_wd, _from_cosine_wd,
                  scaled=("T_max",), package="mmpretrain"),
)

_BY_NAME: Dict[str, SchedulerType] = {name: row for row in TABLE for name in row.names}

#: every type name MMEngine 0.10 registers in PARAM_SCHEDULERS
MMENGINE_TYPES: Tuple[str, ...] = tuple(sorted(k for k, r in _BY_NAME.items() if r.package == "mmengine"))
#: built-in types of the OpenMMLab packages, as ``package.Type``
DOWNSTREAM_TYPES: Tuple[str, ...] = tuple(sorted(f"{r.package}.{k}" for k, r in _BY_NAME.items()
                                                 if r.package != "mmengine"))


# ---------------------------------------------------------------------------
# user types
# ---------------------------------------------------------------------------

UserFn = Callable[[Dict[str, Any]], Any]
_USER: Dict[str, Tuple[UserFn, Optional[str]]] = {}
_PLUGINS_LOADED: List[str] = []


def register_mmengine_scheduler(name: str, fn: UserFn, *, field: Optional[str] = None) -> None:
    """Teach :func:`bridge.from_mmengine` a ``param_scheduler`` type it does not know.

    ``fn(entry)`` gets the config entry as written (a dict copy) and returns one of:

    - a dict: an equivalent entry of a type bridge knows (``dict(entry, type="PolyLR")``), read in
      its place;
    - a schedule node (:mod:`bridge.ir`), or a list of one node per param group: what the
      scheduler does over its window; ``begin``/``end``/``by_epoch``/``convert_to_iter_based`` are
      read from the entry as MMEngine's base class reads them, the node's step 0 is ``begin``;
    - a :class:`~bridge.frameworks._record.SchedulerCall` (dialect ``"mmengine"``) of a known type.

    ``field``: the param-group key it writes; by default ``lr`` for a name ending in ``LR``,
    ``momentum`` (or ``betas[0]``) for ``Momentum``, else the entry's ``param_name``. A scope or
    module prefix (``mypkg.MyLR``, ``mypkg.schedulers.MyLR``) is ignored (a built-in type's prefix
    must be one MMEngine resolves to that class: :func:`import_paths`). To make the command line
    know it, put the call in a module and name the module in ``SCHED_BRIDGE_PLUGINS``
    (comma-separated), e.g. ``SCHED_BRIDGE_PLUGINS=my_schedulers sched-bridge lint cfg.py``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise SpecError("register_mmengine_scheduler.name", "must be a class name such as 'MyWarmupLR'", name)
    if not callable(fn):
        raise SpecError("register_mmengine_scheduler.fn", "must be callable: entry -> node(s), entry or record",
                        fn)
    if name in _BY_NAME:
        raise SpecError("register_mmengine_scheduler.name", "is built in already", name)
    _USER[name] = (fn, field)


def _load_plugins() -> None:
    for mod in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        if mod in _PLUGINS_LOADED:
            continue
        try:
            importlib.import_module(mod)
        except ImportError as e:
            raise SpecError(PLUGINS_ENV, f"names a module that cannot be imported ({e})", mod) from None
        _PLUGINS_LOADED.append(mod)


def _unknown_type(path: str, name: str) -> SpecError:
    known = MMENGINE_TYPES + tuple(d.split(".", 1)[1] for d in DOWNSTREAM_TYPES) + tuple(_USER)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return SpecError(f"{path}.type", f"{hint}{name!r} is not built in (known: MMEngine's "
                     + ", ".join(MMENGINE_TYPES) + "; " + ", ".join(DOWNSTREAM_TYPES)
                     + f"); map it with bridge.register_mmengine_scheduler({name!r}, fn) in Python, or from "
                     f"the command line in a module named by {PLUGINS_ENV}=module (see docs/mmengine.md, "
                     "'Your own scheduler types')", name)


def unknown_types(param_scheduler: Any) -> List[Tuple[str, str]]:
    """(path, type name) of every entry whose type is neither built in nor registered (the modules
    named in ``SCHED_BRIDGE_PLUGINS`` imported first)."""
    entries = [param_scheduler] if isinstance(param_scheduler, Mapping) else param_scheduler
    out = []
    for i, e in enumerate(entries if isinstance(entries, (list, tuple)) else ()):
        t = e.get("type") if isinstance(e, Mapping) else None
        name = t.rsplit(".", 1)[-1] if isinstance(t, str) else None
        if name is not None and name not in _BY_NAME and name not in _USER:
            _load_plugins()
            if name not in _USER:
                out.append(("param_scheduler" if isinstance(param_scheduler, Mapping) else f"param_scheduler[{i}]",
                            name))
    return out


#: OpenMMLab scopes whose PARAM_SCHEDULERS registry is a child of MMEngine's: ``'scope.Name'``
#: finds the package's own types, then MMEngine's (``Registry.get``)
_SCOPES = ("mmcls", "mmdet", "mmdet3d", "mmseg", "mmaction", "mmtrack", "mmpose", "mmedit", "mmocr", "mmgen",
           "mmfewshot", "mmrazor", "mmflow", "mmhuman3d", "mmrotate", "mmselfsup", "mmyolo", "mmpretrain", "mmagic")
#: the module defining each package's scheduler types (mmdet 3.3, mmseg 1.2, mmpretrain 1.2 wheels);
#: ``pkg.engine.schedulers`` and ``pkg.engine`` re-export them
_DEFINED_IN = {"mmdet": "mmdet.engine.schedulers.quadratic_warmup",
               "mmseg": "mmseg.engine.schedulers.poly_ratio_scheduler",
               "mmpretrain": "mmpretrain.engine.schedulers.weight_decay_scheduler"}


def import_paths(name: str) -> Tuple[str, ...]:
    """The modules a built-in type can be imported from, as MMEngine 0.10.7 and the packages lay
    them out: a new-format config's ``from M import Name`` records ``type='M.Name'``, and MMEngine
    builds whatever ``M.Name`` is there (``Registry.get`` -> ``get_object_from_string``)."""
    row = _BY_NAME[name]
    if row.package != "mmengine":
        mod = _DEFINED_IN[row.package]
        return (mod, mod.rsplit(".", 1)[0], f"{row.package}.engine")
    sched = "mmengine.optim.scheduler"
    stem, kind = next((name[: -len(k)], k) for k in ("ParamScheduler", "Momentum", "LR") if name.endswith(k))
    own = {"LR": ("lr_scheduler",), "Momentum": ("momentum_scheduler",),
           # the LR / Momentum modules import the ParamScheduler they derive from
           "ParamScheduler": ("param_scheduler",) + tuple(m for m, k in (("lr_scheduler", "LR"),
                                                                         ("momentum_scheduler", "Momentum"))
                                                          if stem + k in _BY_NAME)}[kind]
    top = () if stem == "CosineRestart" else ("mmengine.optim",)  # mmengine.optim does not export these
    return top + (sched,) + tuple(f"{sched}.{m}" for m in own)


def _builtin(t: str) -> Tuple[str, bool]:
    """(class name, whether MMEngine's registry finds the built-in class of that name) for a
    type string: ``'Name'``; ``'scope.Name'`` (the scope's registry, then MMEngine's);
    ``'module.path.Name'`` (the class at that import path)."""
    mod, _, name = t.rpartition(".")
    if not mod or name not in _BY_NAME:
        return name, not mod
    pkg = _BY_NAME[name].package
    if "." not in mod:
        return name, mod == pkg or (pkg == "mmengine" and mod in _SCOPES)
    return name, mod in import_paths(name)


def _type_name(path: str, raw: Mapping[str, Any]) -> str:
    t = raw["type"]
    full = t if isinstance(t, str) else getattr(t, "__name__", None)
    if isinstance(t, type):  # a class (a config run with trust=True): where it was defined
        full = f"{t.__module__}.{t.__name__}"
    if not isinstance(full, str):
        raise SpecError(f"{path}.type", "must be a scheduler type name such as 'LinearLR'", t)
    name, found = _builtin(full)
    if name in _BY_NAME and not found:
        pkg = _BY_NAME[name].package
        raise SpecError(f"{path}.type", f"MMEngine would not build {pkg}'s {name} from this name (a dotted "
                        "type is the class at that import path, or 'scope.Name' for a registry scope); write "
                        f"{name!r}, '{pkg}.{name}' or import it from one of: " + ", ".join(import_paths(name)), t)
    if name not in _BY_NAME and name not in _USER:  # a user type: any scope or module prefix
        _load_plugins()
    if name not in _BY_NAME and name not in _USER:
        raise _unknown_type(path, name)
    return name


# ---------------------------------------------------------------------------
# reader: config entry -> record
# ---------------------------------------------------------------------------


class _Run:
    """The run the entries are read for (Runner defaults, epoch length, base values)."""

    def __init__(self, L: Optional[int], max_epochs: Optional[int], max_iters: Optional[int],
                 reader: _Reader, metrics: Optional[Sequence[float]]):
        self.L, self.max_epochs, self.max_iters = L, max_epochs, max_iters
        self.reader, self.metrics = reader, metrics


def _check_keys(path: str, name: str, raw: Mapping[str, Any], sig: Sequence[Tuple[str, Any]]) -> None:
    allowed = {k for k, _ in sig} | set(_CONFIG_ONLY)
    for k in raw:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), sorted(allowed), n=1, cutoff=0.6)
            raise SpecError(f"{path}.{k}", f"unknown argument for {name}"
                            + (f"; did you mean {close[0]!r}?" if close else ""), raw[k])
    for k, d in sig:
        if d is _REQ and k not in raw:
            hint = " for *ParamScheduler types (e.g. 'lr', 'momentum', 'weight_decay')" if k == "param_name" else ""
            raise SpecError(f"{path}.{k}", "is required" + hint, None, show_value=False)


def _flags(path: str, name: str, raw: Mapping[str, Any], run: _Run) -> Tuple[bool, bool]:
    by_epoch = raw.get("by_epoch", True)
    if not isinstance(by_epoch, bool):
        raise SpecError(f"{path}.by_epoch", "must be True or False", by_epoch)
    convert = raw.get("convert_to_iter_based", False)
    if not isinstance(convert, bool):
        raise SpecError(f"{path}.convert_to_iter_based", "must be True or False", convert)
    if convert and not by_epoch:
        raise SpecError(f"{path}.convert_to_iter_based", "only an epoch-based entry (by_epoch=True) "
                        "can be converted", convert)
    if name.startswith("ReduceOnPlateau") and (not by_epoch or convert):
        raise SpecError(f"{path}.by_epoch", "ReduceOnPlateau only supports by_epoch=True "
                        "(without convert_to_iter_based)", by_epoch)
    if by_epoch and run.L is None:
        raise SpecError("epoch_length", f"is needed: {path} ({name}) is epoch-based"
                        + (" with convert_to_iter_based" if convert else "")
                        + "; pass epoch_length=len(train_dataloader)", None, show_value=False)
    if raw.get("last_step", -1) != -1:
        raise UnsupportedError(f"{path}.last_step: resuming without a state dict is not modelled; "
                               "build the plan from step 0 and read it from the resumed step")
    return by_epoch, convert


def _window(path: str, raw: Mapping[str, Any], by_epoch: bool, convert: bool, run: _Run,
            int_begin: bool = True) -> Tuple[int, int]:
    """begin / end in scheduler steps, as the Runner and ``build_iter_from_epoch`` compute them."""
    begin_raw = raw.get("begin", 0)
    begin_f = _num(f"{path}.begin", begin_raw, nonneg=True)
    if "end" in raw:
        end_raw: Any = raw["end"]
        _num(f"{path}.end", end_raw)
    else:
        end_raw = run.max_epochs if by_epoch else run.max_iters
        if end_raw is None:
            end_raw = INF
    if convert:
        assert run.L is not None
        begin = int(begin_f * run.L) if int_begin else _int(f"{path}.begin", begin_raw, lo=0) * run.L
        end = (int(end_raw * run.L) if int_begin else _int(f"{path}.end", end_raw) * run.L) \
            if end_raw != INF else INF
    else:
        begin = _int(f"{path}.begin", begin_raw, lo=0)
        end = _int(f"{path}.end", end_raw) if end_raw != INF else INF
    if end <= begin:
        raise SpecError(f"{path}.end", f"must be larger than begin ({begin})", end)
    return begin, end


def _scale(path: str, k: str, v: Any, L: int) -> Any:
    if v is None:
        return None
    if k == "milestones":
        return [m * L for m in _milestones(path, v)]
    if k == "periods":
        return [p * L for p in c.int_list(path, v, lo=1, nonempty=True)]
    return _int(path, v, lo=1) * L


def read_entry(path: str, raw: Mapping[str, Any], *, epoch_length: Optional[int] = None,
               max_epochs: Optional[int] = None, max_iters: Optional[int] = None) -> SchedulerCall:
    """The record of one built-in ``param_scheduler`` entry, as MMEngine's Runner builds it."""
    run = _Run(c.opt_int("epoch_length", epoch_length, lo=1), max_epochs, max_iters, _Reader(None, {"lr": [1.0]}),
               None)
    call = _read(path, raw, run)
    if isinstance(call, tuple):
        raise SpecError(f"{path}.type", "is a registered user type; its record is what its function returns",
                        raw.get("type"))
    return call


def _read(path: str, raw: Any, run: _Run) -> Union[SchedulerCall, Tuple[Any, str, bool, int, int]]:
    """A record, or for a user type whose function returned nodes: (nodes, field, every, begin, end)."""
    if not isinstance(raw, Mapping):
        raise SpecError(path, "must be a dict with a 'type'", raw)
    if "type" not in raw:
        raise SpecError(path, "has no 'type' (e.g. 'LinearLR')", sorted(raw))
    name = _type_name(path, raw)
    if name in _USER:
        return _read_user(path, name, dict(raw), run)
    row = _BY_NAME[name]
    sig = row.signature(name)
    _check_keys(path, name, raw, sig)
    by_epoch, convert = _flags(path, name, raw, run)
    begin, end = _window(path, raw, by_epoch, convert, run, row.int_begin)
    if row.finite_end and end >= INF:
        raise SpecError(f"{path}.end", f"{name} needs a finite end (the step its warm-up ends)", None,
                        show_value=False)
    args = {k: raw.get(k, d) for k, d in sig}
    if convert:
        assert run.L is not None
        args.update({k: _scale(f"{path}.{k}", k, args[k], run.L) for k in row.scaled})
    args.update(begin=begin, end=end, by_epoch=by_epoch and not convert)
    return SchedulerCall("mmengine", name, args)


def _read_user(path: str, name: str, raw: Dict[str, Any], run: _Run) -> Any:
    fn, field = _USER[name]
    try:
        got = fn(dict(raw))
    except Exception as e:  # the user's function: say where it failed
        raise SpecError(path, f"bridge.register_mmengine_scheduler({name!r}, fn): fn failed ({type(e).__name__}: "
                        f"{e})", raw) from e
    if isinstance(got, SchedulerCall):
        if got.name not in _BY_NAME:
            raise SpecError(path, f"the record {name!r}'s function returned names {got.name!r}, not a built-in type",
                            got.name)
        return got
    if isinstance(got, Mapping):
        if _type_name(path, got) == name:
            raise SpecError(path, f"the function registered for {name!r} returned an entry of the same type", got)
        return _read(path, got, run)
    nodes = list(got) if isinstance(got, (list, tuple)) else [got]
    if not nodes or not all(isinstance(x, n.Node) for x in nodes):
        raise SpecError(path, f"the function registered for {name!r} must return IR node(s), an entry dict "
                        "or a record", got)
    by_epoch, convert = _flags(path, name, raw, run)
    begin, end = _window(path, raw, by_epoch, convert, run)
    if field is None:
        field = "lr" if name.endswith("LR") else "momentum" if name.endswith("Momentum") else raw.get("param_name")
    if not isinstance(field, str) or not field:
        raise SpecError(f"{path}.param_name", f"is needed to know what {name} schedules (or register it with "
                        "field='...')", field)
    return nodes, field, by_epoch and not convert, begin, end


# ---------------------------------------------------------------------------
# from_mmengine
# ---------------------------------------------------------------------------

_Item = Tuple[int, str, List[n.Window], Tuple[bool, int]]  # (entry index, name, per-group windows, (by epoch, begin))


def _field_of(path: str, call: SchedulerCall, reader: _Reader) -> str:
    kind = _BY_NAME[call.name].names[call.name]
    if kind == "lr":
        return "lr"
    if kind == "momentum":
        field = "betas[0]" if reader.adam_like else "momentum"
        if not reader.has(field) and not reader.has("momentum") and not reader.has("betas[0]"):
            raise SpecError(path, "a momentum scheduler needs an optimizer with momentum or betas "
                            "(MMEngine: 'optimizer must support momentum')", call.name)
        return field
    if kind != "<param_name>":
        return kind
    field = call.args["param_name"]
    if not isinstance(field, str) or not field:
        raise SpecError(f"{path}.param_name", "must be a param-group key", field)
    if call.name.startswith("OneCycle") and field != "lr":
        raise SpecError(f"{path}.param_name", "OneCycleParamScheduler only schedules 'lr'", field)
    return field


def _windows_of(path: str, call: SchedulerCall, field: str, run: _Run, last_onecycle: Optional[SchedulerCall],
                L: Optional[int]) -> List[n.Window]:
    ctx = _Ctx(path, run.reader.n, lambda: run.reader.get(field, path), run.metrics, last_onecycle)
    try:
        nodes = _BY_NAME[call.name].to_ir(call, ctx)
    except SpecError as e:
        if e.path.startswith(path):
            raise
        raise SpecError(f"{path}.{e.path}", e.reason, e.value, show_value=e.show_value) from None
    a = call.args
    if call.name.startswith("ReduceOnPlateau"):
        if a["begin"] > 1:  # validation after epoch e runs with _global_step = e + 1
            raise UnsupportedError(f"{path}: ReduceOnPlateau with begin > 1 is not modelled; use begin=0")
        assert L is not None
        return [n.Window(n.Hold(nd, L), 0, None, 1) for nd in nodes]
    every = L if a["by_epoch"] else 1
    assert every is not None
    return [n.Window(nd, a["begin"], None if a["end"] >= INF else a["end"], every) for nd in nodes]


def _check_onecycle_order(path: str, call: SchedulerCall, field: str, seen: Dict[str, int], i: int) -> None:
    base = _BY_NAME[call.name].base
    if base == "OneCycle":
        seen.setdefault(field, i)
    elif base in ("CosineAnnealing", "CosineRestart") and field in seen:
        raise UnsupportedError(
            f"{path}: {call.name} after the OneCycle at param_scheduler[{seen[field]}] "
            "reads initial_lr, which OneCycle rewrote to eta_max/div_factor; this combination is not modelled")


def _entries(param_scheduler: Any) -> List[Any]:
    if isinstance(param_scheduler, Mapping) and "type" not in param_scheduler:
        raise SpecError("param_scheduler", "a dict without 'type' is the per-optimizer form; call "
                        "from_mmengine once per optimizer with its own list", sorted(param_scheduler))
    entries = [param_scheduler] if isinstance(param_scheduler, Mapping) else param_scheduler
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence) or not entries:
        raise SpecError("param_scheduler", "must be a dict or a non-empty list of dicts", param_scheduler)
    return list(entries)


def _read_all(param_scheduler: Any, run: _Run) -> Dict[str, List[_Item]]:
    """field -> its windows, in config order."""
    entries = _entries(param_scheduler)
    single = isinstance(param_scheduler, Mapping)
    paths = ["param_scheduler" if single else f"param_scheduler[{i}]" for i in range(len(entries))]
    calls = [_read(p, raw, run) for p, raw in zip(paths, entries)]
    ones = [x for x in calls if isinstance(x, SchedulerCall) and _BY_NAME[x.name].base == "OneCycle"]
    last_onecycle = ones[-1] if ones else None
    per_field: Dict[str, List[_Item]] = {}
    seen: Dict[str, int] = {}
    for i, (path, call) in enumerate(zip(paths, calls)):
        if isinstance(call, tuple):  # a user type's nodes
            nodes, field, by_epoch, begin, end = call
            every = run.L if by_epoch else 1
            if len(nodes) not in (1, run.reader.n):
                raise SpecError(path, f"one node, or one per param group ({run.reader.n}), expected", len(nodes))
            ws = [n.Window(nd, begin, None if end >= INF else end, every or 1)
                  for nd in (nodes * run.reader.n if len(nodes) == 1 else nodes)]
            per_field.setdefault(field, []).append((i, "user", ws, (by_epoch, begin)))
            continue
        field = _field_of(path, call, run.reader)
        ws = _windows_of(path, call, field, run, last_onecycle, run.L)
        _check_onecycle_order(path, call, field, seen, i)
        per_field.setdefault(field, []).append((i, _BY_NAME[call.name].base, ws,
                                                (bool(call.args["by_epoch"]), int(call.args["begin"]))))
    return per_field


def _field_schedule(field: str, items: List[_Item], L: Optional[int], G: int) -> List[n.Node]:
    plateau = [it for it in items if it[1] == "ReduceOnPlateau"]
    if plateau and len(items) > 1:
        raise UnsupportedError(
            f"param_scheduler[{plateau[0][0]}]: ReduceOnPlateau on {field!r} together with other "
            f"schedulers on the same field is not modelled (its steps depend on metrics)")
    if plateau:
        return [items[0][2][g].schedule for g in range(G)]
    if L == 1:
        items = _iterations_first(items, field)
    return [n.Windows(tuple(it[2][g] for it in items)) for g in range(G)]


def _iterations_first(items: List[_Item], field: str) -> List[_Item]:
    """With one iteration per epoch every window steps at every iteration, where MMEngine's hook
    steps the iteration-based schedulers first and the epoch-based ones after them, while at
    construction (step 0) they act in config order. The windows are put in that order; when
    two windows acting at step 0 would need both orders, that is refused."""
    at0 = [it for it in items if it[3][1] == 0]
    for a, b in zip(at0, at0[1:]):
        if a[3][0] and not b[3][0]:
            raise UnsupportedError(
                f"param_scheduler[{a[0]}] (by epoch) and param_scheduler[{b[0]}] (by iteration) both act on "
                f"{field!r} from step 0 with epoch_length=1: MMEngine applies them in config order when they "
                "are built and iteration-based first after every iteration; one window order cannot "
                "express both (list the iteration-based one first)")
    return [it for it in items if not it[3][0]] + [it for it in items if it[3][0]]


def from_mmengine(param_scheduler: Any, optimizer: Any = None, *, epoch_length: Optional[int] = None,
                  max_epochs: Optional[int] = None, max_iters: Optional[int] = None,
                  bases: Optional[Mapping[str, Any]] = None, metrics: Optional[Sequence[float]] = None,
                  accumulative_counts: int = 1) -> Plan:
    """Plan of an MMEngine ``param_scheduler`` config (a dict or a list of dicts).

    Base values come from ``optimizer`` (every numeric field of each param group: lr, momentum,
    weight_decay, betas[0], betas[1], eps, ...; a field no scheduler touches is a constant) or
    from ``bases={"lr": [...], ...}``. ``epoch_length`` is the number of iterations per epoch
    (``len(train_dataloader)``); ``max_epochs`` / ``max_iters`` give the Runner's default
    ``end``. ``metrics`` (one validation value per epoch) feeds ReduceOnPlateau entries.
    ``accumulative_counts`` (``optim_wrapper.accumulative_counts``): the optimizer updates every
    k iterations and at the last iteration of the run (``max_iters``), while the schedulers
    step every iteration. The plan's step t is optimizer update t.
    """
    _entries(param_scheduler)  # its shape is checked first
    L = c.opt_int("epoch_length", epoch_length, lo=1)
    max_epochs = c.opt_int("max_epochs", max_epochs, lo=1)
    max_iters = c.opt_int("max_iters", max_iters, lo=1)
    k = c.integer("accumulative_counts", accumulative_counts, lo=1)
    if max_iters is None and max_epochs is not None and L is not None:
        max_iters = max_epochs * L  # EpochBasedTrainLoop.max_iters
    run = _Run(L, max_epochs, max_iters, _Reader(optimizer, bases), metrics)
    G = run.reader.n
    per_field = _read_all(param_scheduler, run)
    groups: List[Dict[str, Field]] = [{} for _ in range(G)]
    for field in _field_order(run.reader, per_field):
        vals = run.reader.get(field, f"param_scheduler[{per_field[field][0][0]}]" if field in per_field else
                              "optimizer")
        scheds: List[Optional[n.Node]] = [None] * G
        if field in per_field:
            scheds = list(_field_schedule(field, per_field[field], L, G))
        for g in range(G):
            s = scheds[g]
            if s is not None and k > 1:
                s = n.Stride(s, k, k - 1, None if max_iters is None else max_iters - 1)
            groups[g][field] = Field(vals[g], s)
    if k > 1:
        L = L // k if L is not None and L % k == 0 else None
        max_iters = None if max_iters is None else -(-max_iters // k)
    return Plan(tuple(Group(fs) for fs in groups), epoch_length=L, total_steps=max_iters, source="mmengine")


def _field_order(reader: _Reader, per_field: Mapping[str, Any]) -> List[str]:
    """lr first, then the groups' numeric fields in their order (as from_torch), then any other
    scheduled field (its missing base is reported by the reader)."""
    out = ["lr"] if "lr" in per_field or reader.has("lr") else []
    out += [f for f in reader.fields() if f not in out]
    out += [f for f in per_field if f not in out]
    return out


# ---------------------------------------------------------------------------
# optimizer configs
# ---------------------------------------------------------------------------

#: param-group keys that are bookkeeping, not hyper-parameters (as from_torch skips them)
_BOOKKEEPING = ("params", "initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum", "type")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _numeric_fields(group: Mapping[str, Any]) -> Dict[str, Any]:
    """Every numeric hyper-parameter of a param group or optimizer config, ``betas[i]`` expanded."""
    out: Dict[str, Any] = {}
    for k, v in group.items():
        if k in _BOOKKEEPING or not isinstance(k, str):
            continue
        if isinstance(v, (tuple, list)) and v and all(_is_num(x) for x in v):
            out.update({f"{k}[{i}]": x for i, x in enumerate(v)})
        elif _is_num(v) or (hasattr(v, "numel") and not isinstance(v, (str, bytes)) and v.numel() == 1
                            and v.dtype.is_floating_point):
            out[k] = v
    return out


def optimizer_bases(optimizer_cfg: Any, groups: int = 1) -> Dict[str, List[float]]:
    """``bases`` for :func:`from_mmengine` from a config's ``optim_wrapper.optimizer`` dict: every
    numeric field (``lr``, ``momentum``, ``weight_decay``, ``betas[0]``, ``betas[1]``, ``eps``, ...),
    one value per param group."""
    if not isinstance(optimizer_cfg, Mapping):
        raise SpecError("optim_wrapper.optimizer", "must be a dict like dict(type='SGD', lr=0.01)", optimizer_cfg)
    out = {}
    for k, v in _numeric_fields(optimizer_cfg).items():
        x = c.real(f"optim_wrapper.optimizer.{k}", v)
        if x < 0:
            raise SpecError(f"optim_wrapper.optimizer.{k}", "must be a finite number >= 0", v)
        out[k] = [x] * groups
    return out


# ---------------------------------------------------------------------------
# to_mmengine: IR -> records -> entries
# ---------------------------------------------------------------------------

# (per-group nodes, begin, end or None, every)
_Slot = Tuple[List[n.Node], int, Optional[int], int]


class _Written:
    """What reading the entries back needs besides them."""

    def __init__(self) -> None:
        self.L: Optional[int] = None
        self.k = 1
        self.max_iters: Optional[int] = None
        self.metrics: Optional[Tuple[float, ...]] = None


def _unstride(plan: Plan, fields: List[str], out: _Written) -> Dict[str, List[n.Node]]:
    scheds = {f: [plan.schedule(f, g) for g in range(len(plan.groups))] for f in fields}
    strides = {(s.every, s.offset, s.last) for ss in scheds.values() for s in ss if isinstance(s, n.Stride)}
    if not strides:
        out.max_iters = plan.total_steps
        return scheds  # type: ignore[return-value]
    every, offset, last = strides.pop()
    if strides or offset != every - 1 or not all(isinstance(s, n.Stride) for ss in scheds.values() for s in ss):
        raise UnsupportedError("only a stride of optim_wrapper.accumulative_counts (every k, offset k-1, the same "
                               "for every scheduled field) maps to MMEngine")
    out.k, out.max_iters = every, None if last is None else last + 1
    return {f: [s.schedule for s in ss] for f, ss in scheds.items()}  # type: ignore[union-attr]


def _natural_end(nd: n.Node, begin: int) -> Optional[int]:
    if isinstance(nd, (n.Linear, n.Constant)) and nd.total_iters:
        return begin + nd.total_iters + 1
    if isinstance(nd, n.CosineAnnealing):
        return begin + nd.T_max
    return None


def _slots(nodes: List[n.Node], out: _Written) -> List[_Slot]:
    """The MMEngine windows of one field's per-group schedules."""
    root = nodes[0]
    if all(isinstance(x, n.Windows) and len(x.windows) == len(root.windows)  # type: ignore[attr-defined]
           for x in nodes):
        ws = [x.windows for x in nodes]  # type: ignore[attr-defined]
        slots: List[_Slot] = []
        for j, w in enumerate(ws[0]):
            if any((v[j].begin, v[j].end, v[j].every) != (w.begin, w.end, w.every) for v in ws):
                raise UnsupportedError("the param groups' MMEngine windows differ; MMEngine applies each to all")
            slots.append(([v[j].schedule for v in ws], w.begin, w.end, w.every))
        return slots
    holds = [x for x in nodes if isinstance(x, n.Hold) and isinstance(x.schedule, n.Plateau)]
    if len(holds) == len(nodes):
        met = out.metrics = holds[0].schedule.metrics  # type: ignore[attr-defined]
        # the metrics it was read with: validation after epoch e counts while e + 1 < end
        return [([x.schedule for x in holds], 0, None if met is None else len(met) + 1, holds[0].every)]
    if any(x != root for x in nodes):
        raise UnsupportedError("the param groups follow different schedules; MMEngine applies one to all")
    if isinstance(root, n.Sequential) and all(root.rescale or ()):
        bounds = [0, *root.milestones, None]
        parts = [(child, bounds[i], bounds[i + 1]) for i, child in enumerate(root.schedules)]
    else:
        parts = [(root, 0, None)]
    slots = []
    for nd, begin, end in parts:
        assert begin is not None
        while isinstance(nd, n.Chain) and len(nd.schedules) == 1:
            nd = nd.schedules[0]
        nat = _natural_end(nd, begin)
        stop = end if nat is None or (end is not None and end < nat) else nat
        slots.append(([nd] * len(nodes), begin, stop, 1))
    return slots


def _name_for(row: SchedulerType, field: str) -> Optional[str]:
    want = "lr" if field == "lr" else "momentum" if field in ("momentum", "betas[0]") else None
    for name, kind in row.names.items():
        if kind == field or (want is not None and kind == want):
            return name
    return next((name for name, kind in row.names.items() if kind == "<param_name>"), None)


def _record(field: str, slot: _Slot, bases: Sequence[float], L: Optional[int]) -> SchedulerCall:
    nodes, begin, end, every = slot
    plateau = isinstance(nodes[0], n.Plateau)
    for row in TABLE:
        name = _name_for(row, field)
        args = row.from_ir(nodes, begin, INF if end is None else end, bases) \
            if name is not None and row.from_ir is not None else None
        if name is None or args is None or (plateau != (row.base == "ReduceOnPlateau")):
            continue
        if row.names[name] == "<param_name>":
            args = {"param_name": field, **args}
        args.update(begin=begin, end=INF if end is None else end, by_epoch=every > 1 or plateau)
        return SchedulerCall("mmengine", name, args)
    raise UnsupportedError(f"a {nodes[0].kind} schedule on {field!r} has no MMEngine mapping here"
                           + (" (it differs between param groups)" if any(x != nodes[0] for x in nodes) else ""))


def entry_of(call: SchedulerCall, *, keep_end: bool = True) -> Dict[str, Any]:
    """The ``param_scheduler`` dict of a record (arguments equal to their defaults left out; the
    OpenMMLab packages' types with their scope, ``mmdet.QuadraticWarmupLR``)."""
    row = _BY_NAME[call.name]
    # a package's own type with its registry scope: found whatever the config's default_scope
    d: Dict[str, Any] = {"type": call.name if row.package == "mmengine" else f"{row.package}.{call.name}"}
    for k, default in row.signature(call.name):
        v = call.args.get(k, default)
        if k in ("by_epoch", "param_name") or (k == "end" and keep_end) or (default is _REQ or v != default):
            d[k] = list(v) if isinstance(v, tuple) else v
    return d


def _write(plan: Plan) -> Tuple[List[Dict[str, Any]], _Written]:
    out = _Written()
    fields = [f for f in plan.fields if any(plan.schedule(f, g) is not None for g in range(len(plan.groups)))]
    if not fields:
        raise UnsupportedError("the plan schedules no field; there is no param_scheduler to write")
    scheds = _unstride(plan, fields, out)
    per = {f: _slots(s, out) for f, s in scheds.items()}
    everies = {slot[3] for ss in per.values() for slot in ss if slot[3] > 1}
    if len(everies) > 1:
        raise UnsupportedError(f"epoch-based windows of different lengths {sorted(everies)}; MMEngine has one epoch")
    out.L = everies.pop() if everies else (plan.epoch_length * out.k if plan.epoch_length else None)
    entries = []
    for f, slots in per.items():
        bases = [float(b) for b in plan.bases(f)]
        mine = [entry_of(_record(f, slot, bases, out.L), keep_end=slot[2] is not None or out.max_iters is not None)
                for slot in slots]
        entries += _one_iteration_epochs(f, mine, scheds[f], plan, out) if out.L == 1 else mine
    return entries, out


def _one_iteration_epochs(field: str, entries: List[Dict[str, Any]], want: List[n.Node], plan: Plan,
                          out: _Written) -> List[Dict[str, Any]]:
    """With one iteration per epoch a plan's windows are in stepping order (iteration-based ones,
    then epoch-based ones: _iterations_first), which loses the config order that construction
    (step 0, OneCycle's rewrite of initial_lr) depends on. Found again by trying which windows
    at the end were epoch-based and where they stood in the config, until one reads back equal."""
    bases = {f: [float(b) for b in plan.bases(f)] for f in plan.fields}

    def same(order: List[Dict[str, Any]]) -> bool:
        try:
            back = from_mmengine(order, bases=bases, epoch_length=1, max_iters=out.max_iters, metrics=out.metrics)
        except BridgeError:
            return False
        return [back.schedule(field, g) for g in range(len(plan.groups))] == want

    N = len(entries)
    if N < 2 or N > 10 or same(entries):
        return entries
    for s in range(1, N + 1):
        head, tail = entries[: N - s], [dict(e, by_epoch=True) for e in entries[N - s:]]
        for spots in itertools.combinations(range(N), s):
            h, t = iter(head), iter(tail)
            order = [next(t) if k in spots else next(h) for k in range(N)]
            if same(order):
                return order
    return entries  # none reads back equal: the check in to_mmengine says where they differ


def to_mmengine(plan: Plan, *, check_steps: Optional[int] = None) -> List[Dict[str, Any]]:
    """MMEngine ``param_scheduler`` dicts for ``plan``, written from records through the table.

    Every plan :func:`from_mmengine` makes maps back (windows, by-epoch ones included, every field,
    per-group values such as OneCycle's ``eta_max`` lists, ``accumulative_counts`` strides); so do
    plans whose lr is a Linear, Constant (with total_iters), CosineAnnealing, Step, MultiStep or
    Exponential schedule, alone or as the children of a SequentialLR. The result is read back with
    :func:`from_mmengine`: an equal plan passes; otherwise the two are compared over
    ``check_steps`` (default ``total_steps``, at most 10000) under the float64 parity contract, and
    what MMEngine's schedulers do not reproduce exactly raises :class:`~bridge.UnsupportedError`.
    Epoch-based entries need the plan's epoch length when read (``config_text`` writes it down).
    """
    entries, out = _write(plan)
    _check_written(plan, entries, out, check_steps)
    return entries


def _read_back(plan: Plan, entries: List[Dict[str, Any]], out: _Written) -> Plan:
    bases = {f: [float(b) for b in plan.bases(f)] for f in plan.fields}
    return from_mmengine(entries, bases=bases, epoch_length=out.L, max_iters=out.max_iters,
                         metrics=out.metrics, accumulative_counts=out.k)


def _check_written(plan: Plan, entries: List[Dict[str, Any]], out: _Written, check_steps: Optional[int]) -> None:
    from ..parity import compare

    back = _read_back(plan, entries, out)
    if back.groups == plan.groups and back.total_steps == plan.total_steps:
        return
    horizon = int(check_steps or min(plan.total_steps or 10_000, 10_000))
    for f in plan.fields:
        try:
            ours, theirs = plan.values(horizon, f), back.values(horizon, f)
        except BridgeError as e:
            raise UnsupportedError(f"the MMEngine entries written for {f!r} read back as another plan, and the "
                                   f"two cannot be compared over {horizon} steps ({e})") from None
        res = compare(theirs, ours, plan.bases(f), "float64")  # MMEngine's reading vs the plan
        if not res.ok:
            t = res.first[0]  # type: ignore[index]
            why = (" MMEngine's next scheduler continues from the current value where torch's SequentialLR "
                   "restarts from the base" if len(entries) > 1 else "")
            raise UnsupportedError(f"MMEngine's schedulers do not reproduce this plan exactly: {f} from step "
                                   f"{t}: they give {theirs[t, 0]!r}, the plan {ours[t, 0]!r}.{why}")


def config_text(plan: Plan, entries: Optional[List[Dict[str, Any]]] = None) -> str:
    """An MMEngine config (Python source) with ``to_mmengine(plan)``'s param_scheduler, the run
    length, the optimizer's base values and ``accumulative_counts``."""
    if entries is None:
        entries = to_mmengine(plan)
    out = _Written()
    _unstride(plan, [f for f in plan.fields if plan.schedule(f, 0) is not None], out)
    L = next((e for e in _everies(plan)), None) or (plan.epoch_length * out.k if plan.epoch_length else None)
    lines = ["param_scheduler = ["] + [f"    dict({', '.join(f'{k}={v!r}' for k, v in e.items())}),"
                                       for e in entries] + ["]"]
    M = out.max_iters
    if M and L and any(e.get("by_epoch") for e in entries) and M % L == 0:
        lines.append(f"train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={M // L})")
    elif M:
        lines.append(f"train_cfg = dict(type='IterBasedTrainLoop', max_iters={M})")
    if L and any(e.get("by_epoch") for e in entries):
        lines.append(f"# epoch-based entries: made for {L} iterations per epoch (len(train_dataloader); "
                     f"sched-bridge --epoch-length {L})")
    lines.append(_optimizer_line(plan, out.k))
    return "\n".join(lines) + "\n"


def _everies(plan: Plan) -> List[int]:
    found = []
    for g in plan.groups:
        for f in g.fields.values():
            for nd in (f.schedule.walk() if f.schedule is not None else ()):
                if isinstance(nd, n.Windows):
                    found += [w.every for w in nd.windows if w.every > 1]
                elif isinstance(nd, n.Hold):
                    found.append(nd.every)
    return found


def _optimizer_line(plan: Plan, k: int) -> str:
    opt: Dict[str, Any] = {}
    betas: Dict[int, float] = {}
    per_group = []
    for f in plan.fields:
        vals = [float(b) for b in plan.bases(f)]
        if len(set(vals)) > 1:
            per_group.append(f"{f}={vals}")
        if f.startswith("betas[") and f.endswith("]") and f[6:-1].isdigit():
            betas[int(f[6:-1])] = vals[0]
        elif "[" not in f:
            opt[f] = vals[0]
    if betas and sorted(betas) == list(range(len(betas))):
        opt["betas"] = tuple(betas[i] for i in range(len(betas)))
    body = ", ".join(f"{k_}={v!r}" for k_, v in opt.items())
    acc = f", accumulative_counts={k}" if k > 1 else ""
    note = f"  # per param group: {', '.join(per_group)} (paramwise_cfg)" if per_group else ""
    return f"optim_wrapper = dict(optimizer=dict({body}){acc}){note}"
