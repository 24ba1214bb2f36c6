"""Schedule linter: known traps of each framework, as named rules with a one-line fix.

``lint(obj, total_steps=...)`` takes a :class:`~bridge.ir.Plan`, a live torch / OneFlow
scheduler, a MindSpore optimizer, ``LearningRateSchedule`` cell, experimental scheduler
or per-step lr list, an MMEngine ``param_scheduler`` list, or a whole config (a dict from
:func:`bridge.config.load_config`, or its path). It returns :class:`Finding` objects;
:func:`format_findings` renders them and :func:`exit_code` is 1 when any is an error.

The rules' text (severity, title, explanation, fix, references) is data:
``mappings/lint_rules.toml``; the check of each rule is the function registered here
under the same id. ``docs/lint.md`` is generated from the table.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import mappings
from ._frameworks import detect, framework_class
from .errors import BridgeError, SpecError
from .ir import Plan, from_dict, nodes

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as _toml

__all__ = ["Finding", "Rule", "rules", "lint", "horizon", "format_findings", "exit_code", "SEVERITIES"]

SEVERITIES = ("error", "warning", "info")
#: float32 counts every integer up to 2^24 exactly, not beyond
FLOAT32_EXACT = 1 << 24
INT32_MAX = (1 << 31) - 1


@dataclass(frozen=True)
class Rule:
    """One rule's text, as read from ``mappings/lint_rules.toml``."""

    id: str
    severity: str
    title: str
    explanation: str
    fix: str
    frameworks: Tuple[str, ...] = ()
    users: Tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """Anchor of the rule's section in docs/lint.md."""
        return self.id


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, how bad, where (group/field/step or config path), what, how to fix."""

    rule: str
    severity: str
    where: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity}[{self.rule}] {self.where}: {self.message}"


@functools.cache
def rules() -> Dict[str, Rule]:
    """Every rule by id, in table order (read once from ``mappings/lint_rules.toml``)."""
    with open(mappings.data_dir() / "lint_rules.toml", "rb") as fh:
        raw = _toml.load(fh)["rules"]
    out = {}
    for rid, d in raw.items():
        if d["severity"] not in SEVERITIES:
            raise SpecError(f"lint_rules.{rid}.severity", f"must be one of {SEVERITIES}", d["severity"])
        out[rid] = Rule(rid, d["severity"], d["title"], d["explanation"], d["fix"],
                        tuple(d.get("frameworks", ())), tuple(d.get("users", ())))
    return out


# A check yields (where, message) or (where, message, fix); severity and default fix come from the table.
Hit = Tuple[str, ...]
_CHECKS: Dict[str, Callable[[_Ctx], Iterable[Hit]]] = {}


def _check(rid: str) -> Callable[[Callable[[_Ctx], Iterable[Hit]]], Callable[[_Ctx], Iterable[Hit]]]:
    def deco(fn: Callable[[_Ctx], Iterable[Hit]]) -> Callable[[_Ctx], Iterable[Hit]]:
        _CHECKS[rid] = fn
        return fn
    return deco


# ---------------------------------------------------------------------------
# what is being linted
# ---------------------------------------------------------------------------


class _Ctx:
    def __init__(self) -> None:
        self.plan: Optional[Plan] = None
        self.total_steps: Optional[int] = None
        self.torch_sched: Any = None
        self.ms_opt: Any = None
        self.ms_sched: Any = None  # a mindspore.experimental.optim.lr_scheduler object
        self.ms_float_steps = False  # a MindSpore cell / experimental scheduler computes the values
        self.ms_int_steps = False  # a MindSpore optimizer's int32 global_step counts the updates
        self.entries: Optional[List[Mapping[str, Any]]] = None  # MMEngine param_scheduler
        self.unknown_types: List[Tuple[str, str]] = []  # (path, type) bridge does not know
        self.max_epochs: Optional[int] = None
        self.max_iters: Optional[int] = None
        self.epoch_length: Optional[int] = None
        self.skipped: List[Hit] = []

        self._horizon: Optional[List[Tuple[str, str, str]]] = None

    def horizon_hits(self) -> List[Tuple[str, str, str]]:
        """(rule, where, message) of the horizon rules, computed once."""
        if self._horizon is None:
            self._horizon = []
            if self.plan is not None and self.total_steps is None:
                self.skipped.append(("total_steps", "the horizon rules need the run length: pass total_steps="))
            elif self.plan is not None and self.total_steps is not None:
                is_ms = (self.plan.source or "").startswith("mindspore dynamic lr list")
                self._horizon = list(_horizon_hits(self.plan, self.total_steps, is_ms))
        return self._horizon


def _is_number_list(obj: Any) -> bool:
    if isinstance(obj, np.ndarray):
        return obj.ndim == 1 and obj.size > 0 and np.issubdtype(obj.dtype, np.number)
    return isinstance(obj, (list, tuple)) and bool(obj) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in obj)


def _mro(obj: Any) -> List[str]:
    return [c.__name__ for c in type(obj).__mro__]


def _as_int(v: Any) -> Optional[int]:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() else None


def _read_config(ctx: _Ctx, cfg: Mapping[str, Any]) -> Any:
    """Run facts from a config's train_cfg; returns its param_scheduler."""
    tc = cfg.get("train_cfg") or {}
    if isinstance(tc, Mapping):
        typ = str(tc.get("type", ""))
        if ctx.max_epochs is None and "max_epochs" in tc and (typ != "IterBasedTrainLoop"):
            ctx.max_epochs = _as_int(tc["max_epochs"])
        if ctx.max_iters is None and "max_iters" in tc:
            ctx.max_iters = _as_int(tc["max_iters"])
    return cfg.get("param_scheduler")


def _config_bases(cfg: Mapping[str, Any]) -> Dict[str, float]:
    ow = cfg.get("optim_wrapper") or {}
    opt: Any = ow.get("optimizer") if isinstance(ow, Mapping) else None
    if not isinstance(opt, Mapping):
        opt = cfg.get("optimizer") if isinstance(cfg.get("optimizer"), Mapping) else {}
    out: Dict[str, float] = {}
    if isinstance(opt.get("lr"), (int, float)):
        out["lr"] = float(opt["lr"])
    if isinstance(opt.get("momentum"), (int, float)):
        out["momentum"] = float(opt["momentum"])
    betas = opt.get("betas")
    if isinstance(betas, (list, tuple)) and betas:
        out["betas[0]"] = float(betas[0])
    if isinstance(opt.get("weight_decay"), (int, float)):
        out["weight_decay"] = float(opt["weight_decay"])
    out.setdefault("lr", 1.0)
    return out


def _load_mmengine(ctx: _Ctx, entries: Any, bases: Mapping[str, float]) -> None:
    from .frameworks.mmengine import from_mmengine

    if isinstance(entries, Mapping) and "type" in entries:
        entries = [entries]
    if not isinstance(entries, (list, tuple)) or not all(isinstance(e, Mapping) for e in entries):
        ctx.skipped.append(("param_scheduler", "not a list of scheduler dicts (the per-optimizer dict form "
                            "is not checked; lint each optimizer's list)"))
        return
    ctx.entries = list(entries)
    from .frameworks.mmengine import unknown_types

    ctx.unknown_types = unknown_types(ctx.entries)
    if ctx.unknown_types:
        return  # mmengine-unknown-type says why no plan is built
    if ctx.max_iters is None and ctx.max_epochs is not None and ctx.epoch_length is not None:
        ctx.max_iters = ctx.max_epochs * ctx.epoch_length
    if ctx.total_steps is None:
        ctx.total_steps = ctx.max_iters
    try:
        ctx.plan = from_mmengine(ctx.entries, bases=dict(bases), epoch_length=ctx.epoch_length,
                                 max_epochs=ctx.max_epochs, max_iters=ctx.max_iters)
    except BridgeError as e:
        ctx.skipped.append(("param_scheduler", f"no plan built ({e})"))


def _build(ctx: _Ctx, obj: Any, config: Any) -> None:  # one dispatch over input kinds
    cfg: Optional[Mapping[str, Any]] = None
    if config is not None:
        if isinstance(config, (str, os.PathLike)):
            from .config import load_config

            config = load_config(config)
        if not isinstance(config, Mapping):
            raise SpecError("config", "must be a config dict (bridge.load_config) or its path", type(config).__name__)
        cfg = config
    if isinstance(obj, (str, os.PathLike)):
        p = os.fspath(obj)
        from .ir.io import read_file

        if p.endswith(".py"):
            from .config import load_config

            obj = load_config(p)
        else:
            d = read_file(p)
            obj = from_dict(d) if isinstance(d, Mapping) and ("groups" in d or "kind" in d) else d
    fw = detect(obj)
    if isinstance(obj, Plan):
        ctx.plan = obj
    elif isinstance(obj, Mapping) and ("groups" in obj or "kind" in obj) and "param_scheduler" not in obj:
        ctx.plan = from_dict(dict(obj))
    elif isinstance(obj, Mapping) and "param_scheduler" in obj:
        entries = _read_config(ctx, obj)
        if cfg is not None:
            _read_config(ctx, cfg)
        _load_mmengine(ctx, entries, _config_bases(obj))
        return
    elif isinstance(obj, (list, tuple)) and obj and all(isinstance(e, Mapping) and "params" in e for e in obj):
        _build_group_params(ctx, [_group_lr(e.get("lr")) for e in obj if "order_params" not in e])
    elif isinstance(obj, (list, tuple)) and obj and all(isinstance(e, Mapping) for e in obj) or \
            isinstance(obj, Mapping) and "type" in obj:
        if cfg is not None:
            _read_config(ctx, cfg)
        _load_mmengine(ctx, obj, _config_bases(cfg or {}))
        return
    elif fw == "torch":
        ctx.torch_sched = obj
        _import(ctx, "torch", obj)
    elif fw == "oneflow":
        _import(ctx, "oneflow", obj)
    elif fw == "mindspore" or _is_number_list(obj):
        _build_mindspore(ctx, obj)
    else:
        raise SpecError("lint", "expected a Plan, a torch/OneFlow scheduler, a MindSpore optimizer, cell or lr "
                        "list, an MMEngine param_scheduler list or config (dict or path)", type(obj).__name__)
    if ctx.total_steps is None and ctx.plan is not None and ctx.plan.total_steps is not None \
            and not ctx.ms_int_steps:
        ctx.total_steps = ctx.plan.total_steps


def _own_plan(obj: Any) -> Optional[Plan]:
    """The plan of one of sched-bridge's own plan-driven schedulers (torch / OneFlow ``PlanScheduler``)."""
    plan = getattr(obj, "plan", None)
    ours = any(c.__name__ == "PlanScheduler" and (c.__module__ or "").startswith(f"{__package__}.frameworks.")
               for c in type(obj).__mro__)
    return plan if ours and isinstance(plan, Plan) else None


def _import(ctx: _Ctx, fw: str, obj: Any) -> None:
    import importlib

    own = _own_plan(obj)
    if own is not None:  # to_torch / to_oneflow(prefer_native=False): lint the plan it follows
        ctx.plan = own
        return
    mod = importlib.import_module(f".frameworks.{fw}", __package__)
    try:
        ctx.plan = getattr(mod, f"from_{fw}")(obj)
    except BridgeError as e:
        ctx.skipped.append(("scheduler", f"no plan built ({e})"))


def _build_mindspore(ctx: _Ctx, obj: Any) -> None:
    from .frameworks.mindspore import from_mindspore

    mro = _mro(obj)
    src: Any = obj
    if "Optimizer" in mro and hasattr(obj, "global_step"):
        ctx.ms_opt = obj
        ctx.ms_int_steps = True
        lr = getattr(obj, "learning_rate", None)
        if getattr(obj, "dynamic_lr", False) and getattr(obj, "is_group_lr", False):
            cells: List[Any] = []  # one cell per parameter, shared by the parameters of a group
            for c in lr:  # type: ignore[union-attr]
                if not any(c is x for x in cells):
                    cells.append(c)
            _build_group_params(ctx, [_group_lr(c) for c in cells])
            return
        if getattr(obj, "dynamic_lr", False):
            if "_IteratorLearningRate" in _mro(lr):
                src = lr.learning_rate.asnumpy()  # type: ignore[union-attr]
            else:
                src = lr
                ctx.ms_float_steps = "LearningRateSchedule" in _mro(lr)
        else:
            return  # a static lr, or per-group lrs: the optimizer rules only
    elif "LearningRateSchedule" in mro or "lr_scheduler" in (getattr(framework_class(obj), "__module__", None) or ""):
        ctx.ms_float_steps = True
        if "LRScheduler" in mro:
            ctx.ms_sched = obj
    try:
        ctx.plan = from_mindspore(src)
    except BridgeError as e:
        ctx.skipped.append(("learning_rate", f"no plan built ({e})"))


def _group_lr(v: Any) -> Any:
    """A MindSpore group's lr as values (list lr), a cell, or a number (static / absent: None)."""
    if "_IteratorLearningRate" in _mro(v):
        v = v.learning_rate
    if hasattr(v, "asnumpy"):
        v = v.asnumpy()
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return float(v)
    if _is_number_list(v):
        return np.asarray(v, dtype=np.float64)
    return v if "LearningRateSchedule" in _mro(v) and "_ConvertToCell" not in _mro(v) else None


def _build_group_params(ctx: _Ctx, lrs: List[Any]) -> None:
    """A plan of MindSpore per-group lrs: lists are tables that raise past their end."""
    from .frameworks.mindspore import from_mindspore
    from .ir import Field, Group

    ctx.ms_int_steps = True
    groups = []
    for g, v in enumerate(lrs):
        if isinstance(v, np.ndarray):
            groups.append(Group({"lr": Field(float(v[0]), nodes.Table(v, after="error"))}))
        elif v is not None and not isinstance(v, float):
            ctx.ms_float_steps = True
            try:
                groups.append(from_mindspore(v).groups[0])
            except BridgeError as e:
                ctx.skipped.append((f"group_params[{g}].lr", f"not read ({e})"))
                groups.append(Group({"lr": Field(0.0)}))
        else:
            groups.append(Group({"lr": Field(0.0 if v is None else v)}))
    if groups:
        ctx.plan = Plan(tuple(groups), source="mindspore dynamic lr list (per group)")


# ---------------------------------------------------------------------------
# walking plans
# ---------------------------------------------------------------------------


def _schedules(plan: Plan) -> Iterator[Tuple[str, List[int], nodes.Node, float]]:
    """(field, groups sharing it, schedule, base of the first of them) per distinct schedule."""
    for field in plan.fields:
        seen: List[Tuple[nodes.Node, float, List[int]]] = []
        for g, grp in enumerate(plan.groups):
            f = grp.fields.get(field)
            if f is None or f.schedule is None:
                continue
            for nd, b, gs in seen:
                if nd is f.schedule and b == f.base:
                    gs.append(g)
                    break
            else:
                seen.append((f.schedule, f.base, [g]))
        for nd, b, gs in seen:
            yield field, gs, nd, b


def _where(plan: Any, groups: List[int], field: str, path: str = "") -> str:
    gs = "*" if len(groups) == plan.n_groups and plan.n_groups > 1 else ",".join(map(str, groups))
    return f"groups[{gs}].{field}" + (f" {path}" if path else "")


def _walk(nd: nodes.Node, path: str = "schedule") -> Iterator[Tuple[nodes.Node, str]]:
    yield nd, path
    if isinstance(nd, (nodes.Sequential, nodes.Chain)):
        for i, ch in enumerate(nd.schedules):
            yield from _walk(ch, f"{path}.schedules[{i}]")
    elif isinstance(nd, nodes.Windows):
        for i, w in enumerate(nd.windows):
            yield from _walk(w.schedule, f"{path}.windows[{i}]")
    elif isinstance(nd, (nodes.Hold, nodes.Shift)):
        yield from _walk(nd.schedule, f"{path}.schedule")


def _length(nd: nodes.Node) -> Optional[int]:
    """Local step at which a finite leaf reaches its final value (None: no end)."""
    if isinstance(nd, (nodes.Linear, nodes.Polynomial)) and not getattr(nd, "cycle", False):
        return nd.total_iters
    if isinstance(nd, nodes.CosineAnnealing):
        return nd.T_max
    if isinstance(nd, nodes.CosineDecay):
        return nd.decay_steps
    if isinstance(nd, nodes.Constant):
        return nd.total_iters
    if isinstance(nd, (nodes.OneCycle, nodes.OneCycleMomentum)):
        return nd.total_steps - 1
    if isinstance(nd, nodes.WarmupStableDecay):
        return nd.warmup_steps + nd.stable_steps + nd.decay_steps
    if isinstance(nd, nodes.Table):
        return len(nd.values) - 1
    return None


def _val(nd: nodes.Node, ts: Sequence[int], base: float) -> np.ndarray:
    from .ir import semantics

    return semantics.evaluate(nd, np.asarray(ts, dtype=np.int64), np.array([base]))[:, 0]


def _ranges(nd: nodes.Node, lo: int, hi: int, path: str, ended: bool = False
            ) -> Iterator[Tuple[nodes.Node, int, int, str, bool]]:
    """Each node with the local steps [lo, hi) it sees during a run of plan steps [0, hi0).

    ``ended``: a SequentialLR milestone (not the end of the run) ends the range.
    """
    yield nd, lo, hi, path, ended
    if hi <= lo:
        return
    if isinstance(nd, nodes.Sequential):
        starts = (0,) + tuple(nd.milestones)
        stops: Tuple[Optional[int], ...] = tuple(nd.milestones) + (None,)
        resc = (True,) + tuple(nd.rescale or ())
        for i, ch in enumerate(nd.schedules):
            stop = stops[i]
            a, b = max(lo, starts[i]), hi if stop is None else min(hi, stop)
            off = starts[i] if resc[i] else 0
            yield from _ranges(ch, a - off, max(a, b) - off, f"{path}.schedules[{i}]",
                               ended or (stop is not None and stop < hi))
    elif isinstance(nd, nodes.Chain):
        for i, ch in enumerate(nd.schedules):
            yield from _ranges(ch, lo, hi, f"{path}.schedules[{i}]", ended)
    elif isinstance(nd, nodes.Windows):
        for i, w in enumerate(nd.windows):
            k0, k1 = -(-lo // w.every), -(-hi // w.every)  # scheduler steps k with k*every in [lo, hi)
            a = max(k0, w.begin)
            b = k1 if w.end is None else min(k1, w.end)
            yield from _ranges(w.schedule, a - w.begin, max(a, b) - w.begin, f"{path}.windows[{i}]", ended)
    elif isinstance(nd, nodes.Hold):
        yield from _ranges(nd.schedule, lo // nd.every, (hi - 1) // nd.every + 1, f"{path}.schedule", ended)
    elif isinstance(nd, nodes.Shift):
        yield from _ranges(nd.schedule, lo + nd.offset, hi + nd.offset, f"{path}.schedule", ended)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# ---------------------------------------------------------------------------
# rules on plans
# ---------------------------------------------------------------------------


def _nodes(ctx: _Ctx, cls: Any) -> Iterator[Tuple[str, List[int], float, Any, str]]:
    """(field, groups, base, node, path) for every node of type ``cls`` in the plan's schedules."""
    if ctx.plan is None:
        return
    for field, gs, root, base in _schedules(ctx.plan):
        for nd, path in _walk(root):
            if isinstance(nd, cls):
                yield field, gs, base, nd, path


@_check("sequential-milestone-jump")
def _seq_jump(ctx: _Ctx) -> Iterator[Hit]:
    for field, gs, base, nd, path in _nodes(ctx, nodes.Sequential):
        starts = (0,) + tuple(nd.milestones)
        for i, m in enumerate(nd.milestones):
            prev = nd.schedules[i]
            where = _where(ctx.plan, gs, field, f"{path}.milestones[{i}]")
            if m == starts[i]:
                yield (where, f"milestone {m} gives schedules[{i}] ({prev.describe()}) no step at all: "
                       f"schedules[{i + 1}] replaces it at step {m}")
                continue
            L = _length(prev)
            local = m - starts[i] if (i == 0 or nd.rescale[i - 1]) else m
            if L is None or local >= L or not nd.rescale[i]:
                continue
            v = _val(nd, [m - 1, m], base)
            if abs(v[1] - v[0]) > 1e-3 * max(abs(base), 1e-300):
                yield (where, f"{prev.describe()} needs {L} steps but the milestone is at step {m}: "
                       f"the value jumps from {_fmt(v[0])} to {_fmt(v[1])} at step {m}")


@_check("sequential-continues")
def _seq_continues(ctx: _Ctx) -> Iterator[Hit]:
    for field, gs, base, nd, path in _nodes(ctx, nodes.Sequential):
        for i, ch in enumerate(nd.schedules[1:], 1):
            if isinstance(ch, nodes.Multiplicative) and nd.rescale[i - 1]:
                m = nd.milestones[i - 1]
                v = _val(nd, [m - 1] if m > 0 else [0], base)[0]
                yield (_where(ctx.plan, gs, field, f"{path}.schedules[{i}]"),
                       f"{ch.describe()} after milestone {m} multiplies the value the previous scheduler "
                       f"left ({_fmt(v)}), not the base {_fmt(base)}")


@_check("oneflow-global-step")
def _oneflow_global(ctx: _Ctx) -> Iterator[Hit]:
    for field, gs, _base, nd, path in _nodes(ctx, nodes.Sequential):
        for i, r in enumerate(nd.rescale):
            ch = nd.schedules[i + 1]
            if not r and nd.milestones[i] > 0 and not isinstance(ch, nodes.Constant):
                yield (_where(ctx.plan, gs, field, f"{path}.schedules[{i + 1}]"),
                       f"{ch.describe()} starts at milestone {nd.milestones[i]} but is evaluated at "
                       f"the global step (interval_rescaling=False): it begins {nd.milestones[i]} steps "
                       "into its own curve")


_COMPOSITE = (nodes.Sequential, nodes.Chain, nodes.Windows, nodes.Hold, nodes.Shift)


@_check("chain-overwrite")
def _chain_overwrite(ctx: _Ctx) -> Iterator[Hit]:
    from .ir import semantics

    for field, gs, _base, nd, path in _nodes(ctx, nodes.Chain):
        for j, ch in enumerate(nd.schedules[1:], 1):
            if nd.mode != "recursive" or semantics.chainable(ch) or isinstance(ch, _COMPOSITE):
                continue
            before = ", ".join(c.describe() for c in nd.schedules[:j])
            yield (_where(ctx.plan, gs, field, f"{path}.schedules[{j}]"),
                   f"{ch.describe()} has no chainable form: each step it writes its own value from the "
                   f"base, so {before} before it in the chain has no effect")


def _floors(nd: nodes.Node) -> Iterator[Tuple[str, float]]:
    if isinstance(nd, (nodes.CosineAnnealing, nodes.CosineRestart)) and nd.eta_min_ratio is None and nd.eta_min:
        yield "eta_min", nd.eta_min
    elif isinstance(nd, nodes.CosineDecay) and nd.eta_min is not None:
        yield "eta_min", nd.eta_min
    elif isinstance(nd, nodes.WarmRestarts) and nd.eta_min:
        yield "eta_min", nd.eta_min
    elif isinstance(nd, nodes.Polynomial) and nd.end_value:
        yield "end_value (end_learning_rate / eta_min)", nd.end_value
    elif isinstance(nd, nodes.Plateau) and nd.min_lr:
        yield "min_lr", nd.min_lr


@_check("eta-min-ignored")
def _eta_min(ctx: _Ctx) -> Iterator[Hit]:
    if ctx.plan is None:
        return
    plan = ctx.plan
    for field in plan.fields:
        hits: Dict[Tuple[str, str, float], List[Tuple[int, float]]] = {}
        for g, grp in enumerate(plan.groups):
            f = grp.fields.get(field)
            if f is None or f.schedule is None:
                continue
            for nd, path in _walk(f.schedule):
                for name, floor in _floors(nd):
                    if floor >= f.base:
                        hits.setdefault((path, name, floor), []).append((g, f.base))
        for (path, name, floor), gb in hits.items():
            bases = ", ".join(_fmt(b) for _, b in gb)
            yield (_where(plan, [g for g, _ in gb], field, path),
                   f"{name}={_fmt(floor)} is not below the base value ({bases}): the schedule "
                   + ("stays flat" if all(b == floor for _, b in gb) else f"rises towards {_fmt(floor)} instead of decaying"))


# ---------------------------------------------------------------------------
# horizon
# ---------------------------------------------------------------------------


def _horizon_hits(plan: Plan, total: int, is_ms_list: bool) -> Iterator[Tuple[str, str, str]]:
    """(rule, where, message) for every schedule of ``plan`` over a run of ``total`` updates."""
    for field, gs, root, base in _schedules(plan):
        for nd, lo, hi, path, ended in _ranges(root, 0, total, "schedule"):
            where = _where(plan, gs, field, path)
            if hi <= lo or isinstance(nd, _COMPOSITE):
                continue
            last = hi - 1
            if isinstance(nd, nodes.Table) and nd.after == "error" and hi > len(nd.values):
                rule = "mindspore-list-short" if is_ms_list else "horizon-cut-off"
                yield (rule, where, f"the list has {len(nd.values)} values but the run needs {hi}: update "
                       f"{len(nd.values)} raises (Gather index out of range)")
                continue
            if isinstance(nd, (nodes.OneCycle, nodes.OneCycleMomentum)) and last > nd.total_steps:
                yield ("one-cycle-overrun", where, f"total_steps={nd.total_steps} but the run steps it {last} "
                       f"times: step {nd.total_steps + 1} raises ValueError")
                continue
            if isinstance(nd, nodes.CosineAnnealing) and last > nd.T_max:
                T = nd.T_max
                lows = (last // T + 1) // 2
                yield ("horizon-periodic", where, f"T_max={T} but it runs {last + 1} steps: it reaches its "
                       f"minimum {lows} time(s) and climbs back to the base in between (periodic past T_max)")
                continue
            if isinstance(nd, nodes.MultiStep):
                late = [m for m in nd.milestones if m > last]
                if late:
                    yield ("horizon-cut-off", where, f"milestones {late} are past the last step it sees ({last}): "
                           f"{len(late)} of {len(nd.milestones)} decays never happen")
                continue
            if isinstance(nd, nodes.Step):
                if nd.step_size > last:
                    yield ("horizon-cut-off", where, f"step_size={nd.step_size} is past the last step it sees "
                           f"({last}): it never decays")
                continue
            L = _length(nd)
            if L is None or last >= L or ended or isinstance(nd, (nodes.Constant, nodes.Table)):
                continue
            try:
                v0, v_last, v_end = _val(nd, [0, last, L], base)
            except BridgeError:
                continue
            span = abs(v0 - v_end)
            if span > 1e-12 * max(abs(base), 1e-300) and abs(v_last - v_end) > 0.1 * span * (1 + 1e-9):
                done = 100.0 * (1.0 - abs(v_last - v_end) / span)
                yield ("horizon-cut-off", where, f"{nd.describe()} is cut off after {last + 1} of its {L} steps: "
                       f"it ends at {_fmt(v_last)} ({done:.0f}% of the way from {_fmt(v0)} to {_fmt(v_end)})")
        yield from _frozen(plan, field, gs, root, total)


def _frozen(plan: Plan, field: str, gs: List[int], root: nodes.Node, total: int) -> Iterator[Tuple[str, str, str]]:
    from .ir import semantics

    if any(isinstance(x, nodes.Plateau) for x in root.walk()) or total < 4:
        return
    if total > FLOAT32_EXACT and semantics.needs_scan(root):
        return  # a chainable schedule is scanned step by step: too long a run to check here
    g = gs[0]
    step = max(1, total // (1 << 20))
    ts = np.arange(0, total, step, dtype=np.int64)
    if ts[-1] != total - 1:
        ts = np.append(ts, total - 1)
    try:
        sub = Plan((plan.groups[g],))
        v = sub.at(ts, field)[:, 0]
    except BridgeError:
        return
    tol = 1e-12 * max(float(np.max(np.abs(v))), 1e-300)
    moved = np.flatnonzero(np.abs(np.diff(v)) > tol)
    if moved.size == 0:
        return
    k = int(moved[-1])
    if ts[k + 1] - ts[k] > 1:  # sampled: find the exact step inside the last moving interval
        dense = np.arange(ts[k], ts[k + 1] + 1, dtype=np.int64)
        dv = sub.at(dense, field)[:, 0]
        s = int(dense[np.flatnonzero(np.abs(np.diff(dv)) > tol)[-1] + 1])
    else:
        s = int(ts[k + 1])  # first step of the frozen tail
    peak = float(np.max(v))
    if s < total // 2 and v[-1] < peak * (1 - 1e-3):
        yield ("horizon-frozen", _where(plan, gs, field),
               f"the value stops changing at step {s} of {total} ({100.0 * s / total:.0f}% of the run) and stays "
               f"at {_fmt(float(v[-1]))} (peak {_fmt(peak)}) for the remaining {total - s} updates")


def horizon(plan: Plan, total_steps: int) -> List[Finding]:
    """Horizon findings of ``plan`` over a run of ``total_steps`` optimizer updates, per group and field.

    A schedule that ends long before the run (value frozen), is cut off before it finishes
    (a cosine far from its minimum, milestones past the end), climbs back up (a cosine with
    T_max shorter than the run) or overruns (OneCycle, a MindSpore list).
    """
    total = _steps_arg(total_steps)
    is_ms = (plan.source or "").startswith("mindspore dynamic lr list")
    out = [_finding(r, w, m) for r, w, m in _horizon_hits(plan, total, is_ms)]
    return _dedupe(out, plan.n_groups)


def _steps_arg(v: Any) -> int:
    from .ir import _check as c

    return c.integer("total_steps", v, lo=1)


_HORIZON_RULES = ("horizon-frozen", "horizon-cut-off", "horizon-periodic", "one-cycle-overrun", "mindspore-list-short")


def _horizon_rule(rid: str) -> Callable[[_Ctx], Iterator[Hit]]:
    def fn(ctx: _Ctx) -> Iterator[Hit]:
        for r, w, m in ctx.horizon_hits():
            if r == rid:
                yield (w, m)
    return fn


for _rid in _HORIZON_RULES:
    _check(_rid)(_horizon_rule(_rid))


# ---------------------------------------------------------------------------
# rules on live framework objects
# ---------------------------------------------------------------------------


def _torch_groups(ctx: _Ctx) -> List[Any]:
    opt = getattr(ctx.torch_sched, "optimizer", None)
    return list(getattr(opt, "param_groups", []) or [])


def _same_tensor(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a.data_ptr() == b.data_ptr() and a.numel() > 0)
    except AttributeError:
        return False


@_check("tensor-lr-alias")
def _tensor_alias(ctx: _Ctx) -> Iterator[Hit]:
    groups = _torch_groups(ctx)
    seen: List[Tuple[int, Any]] = []
    for g, grp in enumerate(groups):
        lr = grp.get("lr")
        if not hasattr(lr, "fill_"):
            continue
        ini = grp.get("initial_lr")
        if ini is not None and hasattr(ini, "data_ptr") and _same_tensor(ini, lr):
            yield (f"param_groups[{g}].initial_lr", "is the lr tensor itself: every scheduled value is written "
                   f"into the base too (now {_fmt(float(ini))}), so a restart at a milestone starts from the wrong base")
        for h, other in seen:
            if _same_tensor(other, lr):
                yield (f"param_groups[{g}].lr", f"is the same tensor as param_groups[{h}].lr: both groups "
                       "hold whichever value is written last")
                break
        seen.append((g, lr))


@_check("tensor-lr-float32")
def _tensor_f32(ctx: _Ctx) -> Iterator[Hit]:
    for g, grp in enumerate(_torch_groups(ctx)):
        lr = grp.get("lr")
        dt = str(getattr(lr, "dtype", ""))
        if hasattr(lr, "fill_") and dt and dt != "torch.float64":
            yield (f"param_groups[{g}].lr", f"is a {dt} tensor: every scheduled value is rounded to "
                   f"{dt.replace('torch.', '')} (up to 6e-8 relative off a float lr)")


@_check("mindspore-decay-filter")
def _ms_decay(ctx: _Ctx) -> Iterator[Hit]:
    opt = ctx.ms_opt
    if opt is None or getattr(opt, "is_group", False) or not getattr(opt, "exec_weight_decay", False):
        return
    params = list(getattr(opt, "_parameters", ()) or ())
    flags = list(getattr(opt, "decay_flags", ()) or ())
    skipped = [p.name for p, f in zip(params, flags) if not f]
    if skipped:
        shown = ", ".join(skipped[:4]) + (f" and {len(skipped) - 4} more" if len(skipped) > 4 else "")
        yield ("optimizer.weight_decay", f"{len(skipped)} of {len(params)} parameters get no weight decay because "
               f"their names contain 'beta' or 'gamma' ({shown}); PyTorch would decay them")


@_check("float32-step")
def _f32_step(ctx: _Ctx) -> Iterator[Hit]:
    T = ctx.total_steps
    if T is None:
        return
    if ctx.ms_float_steps and T > FLOAT32_EXACT:
        yield ("global_step", f"the run has {T} updates but the schedule computes in float32 steps, exact only up "
               f"to 2^24 = {FLOAT32_EXACT}: later steps are rounded (pairs, then groups of steps share one value)")
    if (ctx.ms_int_steps or ctx.ms_float_steps) and T > INT32_MAX:
        yield ("global_step", f"the run has {T} updates but MindSpore's int32 global_step wraps to -2^31 after {INT32_MAX}")


@_check("mindspore-mint-lr-float")
def _mint_lr_float(ctx: _Ctx) -> Iterator[Hit]:
    opt = getattr(ctx.ms_sched, "optimizer", None)
    for g, grp in enumerate(getattr(opt, "param_groups", None) or []):
        fixed = grp.get("lr_float") if isinstance(grp, Mapping) else None
        if isinstance(fixed, (int, float)) and not isinstance(fixed, bool):  # bridge's scheduler sets the Parameter
            yield (f"optimizer.param_groups[{g}].lr_float", f"{type(opt).__name__} ({type(opt).__module__}) updates "
                   f"with lr_float = {_fmt(float(fixed))}, fixed at construction; {type(ctx.ms_sched).__name__} "
                   f"writes param_groups[{g}]['lr'], which it never reads: every update uses {_fmt(float(fixed))}")


# ---------------------------------------------------------------------------
# rules on MMEngine configs
# ---------------------------------------------------------------------------


def _entry_unit(e: Mapping[str, Any]) -> Tuple[bool, bool]:
    """(by_epoch, converted)."""
    by_epoch = e.get("by_epoch", True) is not False
    return by_epoch, bool(e.get("convert_to_iter_based", False)) and by_epoch


@_check("mmengine-unknown-type")
def _mm_unknown(ctx: _Ctx) -> Iterator[Hit]:
    for path, name in ctx.unknown_types:
        yield (f"{path}.type", f"{name!r} is not built in: no plan was built, so the schedule was not checked",
               f"Map it: in a module of yours (e.g. my_schedulers.py) write `import bridge` and "
               f"`bridge.register_mmengine_scheduler({name!r}, lambda entry: ...)` returning an equivalent built-in "
               f"entry (e.g. `dict(entry, type='PolyLR')`) or IR node(s); then run `SCHED_BRIDGE_PLUGINS=my_schedulers "
               f"sched-bridge lint ...` (in Python: import that module first). See docs/mmengine.md, "
               f"'Your own scheduler types'.")


@_check("mmengine-end-units")
def _mm_units(ctx: _Ctx) -> Iterator[Hit]:
    E, It, L = ctx.max_epochs, ctx.max_iters, ctx.epoch_length
    for i, e in enumerate(ctx.entries or ()):
        end = _as_int(e.get("end")) if "end" in e else None
        if end is None:
            continue
        by_epoch, _conv = _entry_unit(e)
        p = f"param_scheduler[{i}].end"
        begin = _as_int(e.get("begin", 0)) or 0
        if (by_epoch and E is not None and begin >= E) or (not by_epoch and It is not None and begin >= It):
            continue  # window-outside-run says it
        if by_epoch and E is not None and end > E:
            yield (p, f"end={end} with by_epoch=True but the run has max_epochs={E}: "
                   + ("it looks like an iteration count" if L is None or end >= L else
                      f"epochs {E}..{end - 1} never run, so the schedule is cut off"))
        elif not by_epoch and E is not None and end <= E and (L is None or L > 1):
            yield (p, f"end={end} with by_epoch=False counts iterations, but it equals an epoch count "
                   f"(max_epochs={E}): the scheduler stops after {end} iterations"
                   + (f" of {E * L}" if L is not None else ""))
        elif not by_epoch and It is not None and end > It and E is None:
            yield (p, f"end={end} iterations is past the run (max_iters={It}): the schedule is cut off")


@_check("window-outside-run")
def _mm_outside(ctx: _Ctx) -> Iterator[Hit]:
    E, It, L = ctx.max_epochs, ctx.max_iters, ctx.epoch_length
    for i, e in enumerate(ctx.entries or ()):
        begin = _as_int(e.get("begin", 0)) or 0
        by_epoch, conv = _entry_unit(e)
        if by_epoch and E is not None:
            limit, unit = E, "epochs"
        elif not by_epoch and It is not None:
            limit, unit = It, "iterations"
        elif not by_epoch and E is not None and L is not None:
            limit, unit = E * L, "iterations"
        else:
            continue
        if begin >= limit:
            yield (f"param_scheduler[{i}].begin", f"begin={begin} but the run has {limit} {unit}: "
                   f"{e.get('type')} never acts")


def _mm_field(e: Mapping[str, Any]) -> str:
    t = str(e.get("type", ""))
    if t.endswith("ParamScheduler"):
        return str(e.get("param_name", ""))
    return "momentum" if t.endswith("Momentum") else "lr"


def _windows_of(ctx: _Ctx) -> Iterator[Tuple[str, List[Tuple[nodes.Window, str]]]]:
    """Per field: its MMEngine windows (group 0) with their config paths."""
    if ctx.plan is None:
        return
    by_field: Dict[str, List[int]] = {}
    for i, e in enumerate(ctx.entries or ()):
        f = _mm_field(e)
        by_field.setdefault("lr" if f == "lr" else f, []).append(i)
    for field in ctx.plan.fields:
        nd = ctx.plan.groups[0].fields[field].schedule if field in ctx.plan.groups[0].fields else None
        if not isinstance(nd, nodes.Windows):
            continue
        idx = by_field.get(field) or by_field.get("momentum" if field == "betas[0]" else field) or []
        paths = [f"param_scheduler[{idx[j]}]" if j < len(idx) else f"groups[0].{field} schedule.windows[{j}]"
                 for j in range(len(nd.windows))]
        yield field, list(zip(nd.windows, paths))


def _span(w: nodes.Window, total: Optional[int]) -> Tuple[int, int]:
    end = w.end * w.every if w.end is not None else (total if total is not None else 1 << 62)
    return w.begin * w.every, end


def _warmup(nd: nodes.Node) -> bool:
    return (isinstance(nd, nodes.Linear) and nd.start_factor < nd.end_factor) or \
        (isinstance(nd, nodes.Constant) and nd.factor < 1.0 and nd.total_iters is not None)


@_check("windows-gap")
def _win_gap(ctx: _Ctx) -> Iterator[Hit]:
    for _field, ws in _windows_of(ctx):
        spans = sorted((_span(w, ctx.total_steps), w, p) for w, p in ws)
        reach = None
        for (b, e), w, p in spans:
            if reach is not None and b > reach[0]:
                gap = b - reach[0]
                short = gap <= max(w.every, reach[1].every) or gap <= 0.1 * min(e - b, reach[0] - reach[2])
                if short:
                    yield (p, f"starts at step {b} but {reach[3]} ends at step {reach[0]}: the value is frozen for "
                           f"the {gap} step(s) in between")
            if reach is None or e > reach[0]:
                reach = (e, w, b, p)


@_check("windows-overlap")
def _win_overlap(ctx: _Ctx) -> Iterator[Hit]:
    for _field, ws in _windows_of(ctx):
        for j, (w, p) in enumerate(ws):
            for w0, p0 in ws[:j]:
                if _warmup(w.schedule) or _warmup(w0.schedule):
                    continue
                (b0, e0), (b1, e1) = _span(w0, ctx.total_steps), _span(w, ctx.total_steps)
                lo, hi = max(b0, b1), min(e0, e1)
                if lo < hi:
                    yield (p, f"{w.schedule.describe()} overlaps {p0} ({w0.schedule.describe()}) on steps "
                           f"{lo}..{hi - 1}: both decay the value there (their updates multiply)")


# ---------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------


@_check("not-checked")
def _not_checked(ctx: _Ctx) -> Iterator[Hit]:
    yield from ctx.skipped


def _finding(rid: str, where: str, message: str, fix: Optional[str] = None) -> Finding:
    r = rules()[rid]
    return Finding(rid, r.severity, where, message, fix or r.fix)


_GROUPS = re.compile(r"^groups\[([0-9,*]+)\](.*)$")


def _dedupe(fs: List[Finding], n_groups: Optional[int] = None) -> List[Finding]:
    """Drop repeats; findings equal but for their groups become one (``groups[0,1]``, ``groups[*]``)."""
    merged: Dict[Tuple[str, str, str, str], List[int]] = {}
    out: List[Any] = []
    for f in fs:
        m = _GROUPS.match(f.where)
        if m is None or m.group(1) == "*":
            if f not in out:
                out.append(f)
            continue
        key = (f.rule, m.group(2), f.message, f.fix)
        if key not in merged:
            merged[key] = []
            out.append(key)
        merged[key].extend(int(g) for g in m.group(1).split(",") if int(g) not in merged[key])
    res = []
    for item in out:
        if isinstance(item, Finding):
            res.append(item)
            continue
        gs = sorted(merged[item])
        label = "*" if n_groups is not None and n_groups > 1 and len(gs) == n_groups else ",".join(map(str, gs))
        res.append(Finding(item[0], rules()[item[0]].severity, f"groups[{label}]{item[1]}", item[2], item[3]))
    return res


def lint(obj: Any, *, total_steps: Optional[int] = None, config: Any = None, epoch_length: Optional[int] = None,
         max_epochs: Optional[int] = None, max_iters: Optional[int] = None,
         select: Optional[Sequence[str]] = None, ignore: Sequence[str] = ()) -> List[Finding]:
    """Check ``obj`` against every rule of ``mappings/lint_rules.toml``; findings in rule order.

    ``obj``: a Plan (or its dict / file), a live torch or OneFlow scheduler, a MindSpore
    optimizer, LearningRateSchedule cell, experimental scheduler or per-step lr list, an
    MMEngine ``param_scheduler`` list, or a config dict / path (``config`` adds the
    ``train_cfg`` of a config to a bare list). ``total_steps``: optimizer updates in the run
    (MMEngine: default max_iters, or max_epochs * epoch_length); the horizon rules need it.
    ``select`` / ``ignore``: rule ids to run / skip.
    """
    table = rules()
    for name, ids in (("select", select or ()), ("ignore", ignore)):
        bad = [r for r in ids if r not in table]
        if bad:
            raise SpecError(name, "unknown rule id (known: " + ", ".join(table) + ")", bad[0])
    from .ir import _check as c

    ctx = _Ctx()
    ctx.total_steps = c.opt_int("total_steps", total_steps, lo=1)
    ctx.epoch_length = c.opt_int("epoch_length", epoch_length, lo=1)
    ctx.max_epochs = c.opt_int("max_epochs", max_epochs, lo=1)
    ctx.max_iters = c.opt_int("max_iters", max_iters, lo=1)
    _build(ctx, obj, config)
    out: List[Finding] = []
    for rid in table:
        if (select and rid not in select) or rid in ignore:
            continue
        fn = _CHECKS.get(rid)
        if fn is None:  # pragma: no cover - tests/test_lint.py checks table == code
            continue
        for hit in fn(ctx):
            out.append(_finding(rid, hit[0], hit[1], hit[2] if len(hit) > 2 else None))
    return _dedupe(out, ctx.plan.n_groups if ctx.plan is not None else None)


def format_findings(findings: Sequence[Finding], *, explain: bool = False) -> str:
    """One block per finding: ``severity[rule] where: message`` then ``  fix: ...``; a summary line last."""
    lines = []
    table = rules()
    for f in findings:
        lines.append(str(f))
        lines.append(f"  fix: {f.fix}")
        if explain and f.rule in table:
            lines.append(f"  why: {table[f.rule].explanation}")
            lines.append(f"  see: docs/lint.md#{table[f.rule].anchor}")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    if not findings:
        lines.append("no findings")
    else:
        lines.append(", ".join(f"{k} {s}{'s' if k != 1 else ''}" for s, k in counts.items() if k))
    return "\n".join(lines)


def exit_code(findings: Sequence[Finding]) -> int:
    """1 when any finding is an error, else 0 (for ``sched-bridge lint``)."""
    return 1 if any(f.severity == "error" for f in findings) else 0
