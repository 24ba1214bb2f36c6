"""MMEngine ``param_scheduler`` configs, both directions.

- :func:`from_mmengine`: a config -> Plan (exact, per iteration);
- :func:`to_mmengine`: an lr Plan -> iteration-based ``param_scheduler`` dicts, checked exact.

MMEngine itself is never imported: configs are plain dicts and the optimizer is
read duck-typed (``param_groups``, ``defaults``). The plan counts optimizer
updates (iterations) of an epoch-based run driven by ``ParamSchedulerHook``:
iteration-based schedulers step after each train iteration, epoch-based ones
after each train epoch; every scheduler applies its step-0 update when built.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import SpecError, UnsupportedError
from ..ir import Field, Group, Plan
from ..ir import _check as c
from ..ir import nodes as n
from ..ir.plan import read_field

__all__ = ["from_mmengine", "to_mmengine", "MMENGINE_TYPES", "INF"]

#: MMEngine's "no end" (``mmengine.optim.scheduler.param_scheduler.INF``).
INF = int(1e9)

# base name -> (allowed type-specific keys, families it is registered in)
_SPECIFIC: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    "Constant": (("factor",), ("LR", "Momentum", "ParamScheduler")),
    "CosineAnnealing": (("T_max", "eta_min", "eta_min_ratio"), ("LR", "Momentum", "ParamScheduler")),
    "CosineRestart": (("periods", "restart_weights", "eta_min", "eta_min_ratio"),
                      ("LR", "Momentum", "ParamScheduler")),
    "Exponential": (("gamma",), ("LR", "Momentum", "ParamScheduler")),
    "Linear": (("start_factor", "end_factor"), ("LR", "Momentum", "ParamScheduler")),
    "MultiStep": (("milestones", "gamma"), ("LR", "Momentum", "ParamScheduler")),
    "OneCycle": (("eta_max", "total_steps", "pct_start", "anneal_strategy", "div_factor",
                  "final_div_factor", "three_phase"), ("LR", "ParamScheduler")),
    "Poly": (("eta_min", "power"), ("LR", "Momentum", "ParamScheduler")),
    "Step": (("step_size", "gamma"), ("LR", "Momentum", "ParamScheduler")),
    "ReduceOnPlateau": (("monitor", "rule", "factor", "patience", "threshold", "threshold_rule",
                         "cooldown", "min_value", "eps"), ("LR", "Momentum", "ParamScheduler")),
}
_COMMON = ("type", "begin", "end", "by_epoch", "last_step", "verbose", "convert_to_iter_based", "_scope_")
_REQUIRED = {"Exponential": ("gamma",), "MultiStep": ("milestones",), "Step": ("step_size",),
             "CosineRestart": ("periods",)}

#: every type name MMEngine 0.10 registers in PARAM_SCHEDULERS
MMENGINE_TYPES: Tuple[str, ...] = tuple(sorted(
    base + fam for base, (_, fams) in _SPECIFIC.items() for fam in fams))

# schedulers whose update reads ``base_values`` (OneCycle rewrites initial_lr)
_USES_BASE = ("CosineAnnealing", "CosineRestart")


def _split_type(path: str, t: Any) -> Tuple[str, str]:
    name = t if isinstance(t, str) else getattr(t, "__name__", None)
    if not isinstance(name, str):
        raise SpecError(f"{path}.type", "must be a scheduler type name such as 'LinearLR'", t)
    if name in MMENGINE_TYPES:
        for fam in ("ParamScheduler", "Momentum", "LR"):
            if name.endswith(fam):
                return name[: -len(fam)], fam
    close = difflib.get_close_matches(name, MMENGINE_TYPES, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SpecError(f"{path}.type", "unknown MMEngine parameter scheduler (known: "
                    + ", ".join(MMENGINE_TYPES) + ")" + hint, name)


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


def _num(path: str, v: Any, **kw: Any) -> float:
    return c.real(path, v, **kw)


def _int(path: str, v: Any, lo: Optional[int] = None) -> int:
    return c.integer(path, v, lo=lo)


def from_mmengine(param_scheduler: Any, optimizer: Any = None, *, epoch_length: Optional[int] = None,
                  max_epochs: Optional[int] = None, max_iters: Optional[int] = None,
                  bases: Optional[Mapping[str, Any]] = None,
                  metrics: Optional[Sequence[float]] = None) -> Plan:
    """Plan of an MMEngine ``param_scheduler`` config (a dict or a list of dicts).

    Base values come from ``optimizer`` (per group: lr, momentum, betas[0], ...) or from
    ``bases={"lr": [...], ...}``. ``epoch_length`` is the number of iterations per epoch
    (``len(train_dataloader)``); ``max_epochs`` / ``max_iters`` give the Runner's default
    ``end``. ``metrics`` (one validation value per epoch) feeds ReduceOnPlateau entries.
    The plan's step t is optimizer update t.
    """
    if isinstance(param_scheduler, Mapping) and "type" not in param_scheduler:
        raise SpecError("param_scheduler", "a dict without 'type' is the per-optimizer form; call "
                        "from_mmengine once per optimizer with its own list", sorted(param_scheduler))
    entries = [param_scheduler] if isinstance(param_scheduler, Mapping) else param_scheduler
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence) or not entries:
        raise SpecError("param_scheduler", "must be a dict or a non-empty list of dicts", param_scheduler)
    L = c.opt_int("epoch_length", epoch_length, lo=1)
    max_epochs = c.opt_int("max_epochs", max_epochs, lo=1)
    max_iters = c.opt_int("max_iters", max_iters, lo=1)
    if max_iters is None and max_epochs is not None and L is not None:
        max_iters = max_epochs * L  # EpochBasedTrainLoop.max_iters
    reader = _Reader(optimizer, bases)
    G = reader.n
    # Every OneCycle writes initial_lr/max_lr/min_lr into the groups when it is built (in list
    # order) and reads them back at every step: all of them run with the last one's values.
    last_onecycle: Optional[Mapping[str, Any]] = None
    for raw in entries:
        if isinstance(raw, Mapping) and isinstance(raw.get("type"), str) and raw["type"] in MMENGINE_TYPES \
                and raw["type"].startswith("OneCycle"):
            last_onecycle = raw

    # field -> list of (entry index, base name, per-group Window list, (stepped by epoch, begin))
    per_field: Dict[str, List[Tuple[int, str, List[n.Window], Tuple[bool, int]]]] = {}
    onecycle_seen: Dict[str, int] = {}
    for i, raw in enumerate(entries):
        path = f"param_scheduler[{i}]" if not isinstance(param_scheduler, Mapping) else "param_scheduler"
        if not isinstance(raw, Mapping):
            raise SpecError(path, "must be a dict with a 'type'", raw)
        if "type" not in raw:
            raise SpecError(path, "has no 'type' (e.g. 'LinearLR')", sorted(raw))
        cfg = dict(raw)
        base_name, fam = _split_type(path, cfg["type"])
        allowed = set(_COMMON) | set(_SPECIFIC[base_name][0]) | ({"param_name"} if fam == "ParamScheduler" else set())
        for k in cfg:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), sorted(allowed), n=1, cutoff=0.6)
                raise SpecError(f"{path}.{k}", f"unknown argument for {cfg['type'] if isinstance(cfg['type'], str) else base_name + fam}"
                                + (f"; did you mean {close[0]!r}?" if close else ""), cfg[k])
        for k in _REQUIRED.get(base_name, ()):
            if k not in cfg:
                raise SpecError(f"{path}.{k}", "is required", None, show_value=False)
        if cfg.get("last_step", -1) != -1:
            raise UnsupportedError(f"{path}.last_step: resuming without a state dict is not modelled; "
                                   "build the plan from step 0 and read it from the resumed step")
        # field written
        if fam == "LR":
            field = "lr"
        elif fam == "Momentum":
            field = "betas[0]" if reader.adam_like else "momentum"
            if not reader.has(field) and not reader.has("momentum") and not reader.has("betas[0]"):
                raise SpecError(path, "a momentum scheduler needs an optimizer with momentum or betas "
                                "(MMEngine: 'optimizer must support momentum')",
                                cfg["type"] if isinstance(cfg["type"], str) else base_name + fam)
        else:
            if "param_name" not in cfg:
                raise SpecError(f"{path}.param_name", "is required for *ParamScheduler types "
                                "(e.g. 'lr', 'momentum', 'weight_decay')", None, show_value=False)
            field = cfg["param_name"]
            if not isinstance(field, str) or not field:
                raise SpecError(f"{path}.param_name", "must be a param-group key", field)
            if base_name == "OneCycle" and field != "lr":
                raise SpecError(f"{path}.param_name", "OneCycleParamScheduler only schedules 'lr'", field)
        by_epoch = cfg.get("by_epoch", True)
        if not isinstance(by_epoch, bool):
            raise SpecError(f"{path}.by_epoch", "must be True or False", by_epoch)
        convert = cfg.get("convert_to_iter_based", False)
        if not isinstance(convert, bool):
            raise SpecError(f"{path}.convert_to_iter_based", "must be True or False", convert)
        if convert and not by_epoch:
            raise SpecError(f"{path}.convert_to_iter_based", "only an epoch-based entry (by_epoch=True) "
                            "can be converted", convert)
        if base_name == "ReduceOnPlateau" and (not by_epoch or convert):
            raise SpecError(f"{path}.by_epoch", "ReduceOnPlateau only supports by_epoch=True "
                            "(without convert_to_iter_based)", by_epoch)
        if by_epoch and L is None:
            raise SpecError("epoch_length", f"is needed: {path} ({cfg['type']}) is epoch-based"
                            + (" with convert_to_iter_based" if convert else "")
                            + "; pass epoch_length=len(train_dataloader)", None, show_value=False)

        # begin / end as the Runner and build_iter_from_epoch compute them
        begin_raw = cfg.get("begin", 0)
        begin_f = _num(f"{path}.begin", begin_raw, nonneg=True)
        if "end" in cfg:
            end_raw: Any = cfg["end"]
            _num(f"{path}.end", end_raw)
        else:
            end_raw = (max_epochs if by_epoch else max_iters)
            if end_raw is None:
                end_raw = INF
        scale = L if convert else 1
        assert scale is not None
        if convert:
            begin = int(begin_f * scale)
            end = int(end_raw * scale) if end_raw != INF else INF
        else:
            begin = _int(f"{path}.begin", begin_raw, lo=0)
            end = _int(f"{path}.end", end_raw) if end_raw != INF else INF
        if end <= begin:
            raise SpecError(f"{path}.end", f"must be larger than begin ({begin})", end)
        every = 1 if (not by_epoch or convert) else L
        w_end = None if end >= INF else end
        nodes = _leaf(path, base_name, cfg, begin, end, scale, G, reader, field, metrics, last_onecycle)
        if base_name == "OneCycle":
            onecycle_seen.setdefault(field, i)
        elif base_name in _USES_BASE and field in onecycle_seen:
            raise UnsupportedError(
                f"{path}: {cfg['type']} after the OneCycle at param_scheduler[{onecycle_seen[field]}] "
                "reads initial_lr, which OneCycle rewrote to eta_max/div_factor; this combination is "
                "not modelled")
        if base_name == "ReduceOnPlateau":
            # validation after epoch e runs with _global_step = e + 1; only begin <= e+1 < end count
            if begin > 1:
                raise UnsupportedError(f"{path}: ReduceOnPlateau with begin > 1 is not modelled; "
                                       "use begin=0")
            if w_end is not None and metrics is not None and len(metrics) > w_end - 1:
                nodes = [dataclasses.replace(nd, metrics=tuple(metrics[: w_end - 1]))  # type: ignore[call-arg]
                         for nd in nodes]
            assert L is not None
            ws = [n.Window(n.Hold(nd, L), 0, None, 1) for nd in nodes]
        else:
            assert every is not None
            ws = [n.Window(nd, begin, w_end, every) for nd in nodes]
        per_field.setdefault(field, []).append((i, base_name, ws, (by_epoch and not convert, begin)))

    groups: List[Dict[str, Field]] = [{} for _ in range(G)]
    for field, items in per_field.items():
        base_vals = reader.get(field, f"param_scheduler[{items[0][0]}]")
        plateau = [it for it in items if it[1] == "ReduceOnPlateau"]
        if plateau and len(items) > 1:
            raise UnsupportedError(
                f"param_scheduler[{plateau[0][0]}]: ReduceOnPlateau on {field!r} together with other "
                f"schedulers on the same field is not modelled (its steps depend on metrics)")
        if L == 1 and not plateau:
            items = _iterations_first(items, field)
        for g in range(G):
            if plateau:
                sched: n.Node = items[0][2][g].schedule
            else:
                sched = n.Windows(tuple(it[2][g] for it in items))
            groups[g][field] = Field(base_vals[g], sched)
    # keep the learning rate visible even when only other fields are scheduled
    if "lr" not in per_field and reader.has("lr"):
        for g, v in enumerate(reader.get("lr", "optimizer")):
            groups[g]["lr"] = Field(v)
    return Plan(tuple(Group(fs) for fs in groups), epoch_length=L, total_steps=max_iters, source="mmengine")


def _iterations_first(items: List[Any], field: str) -> List[Any]:
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


def _leaf(path: str, base_name: str, cfg: Mapping[str, Any], begin: int, end: int, scale: int,
          G: int, reader: _Reader, field: str, metrics: Optional[Sequence[float]],
          last_onecycle: Optional[Mapping[str, Any]] = None) -> List[n.Node]:
    """One IR leaf per group for one config entry (begin/end already in scheduler steps).

    ``last_onecycle``: the config of the last OneCycle entry, whose eta_max / div_factor /
    final_div_factor every OneCycle reads from the groups at each step."""
    span = end - begin  # scheduler steps in the window
    total_iters = span - 1  # Linear / Constant / Poly: end - begin - 1

    def one(nd: n.Node) -> List[n.Node]:
        return [nd] * G

    try:
        if base_name == "Constant":
            factor = _num(f"{path}.factor", cfg.get("factor", 1.0 / 3), lo=0.0, hi=1.0)
            if factor == 0.0 and end < INF and total_iters > 0:
                raise SpecError(f"{path}.factor", "must be > 0: MMEngine divides by it at step end-1", factor)
            return one(n.Constant(factor, total_iters if end < INF and total_iters > 0 else None))
        if base_name == "Linear":
            s = _num(f"{path}.start_factor", cfg.get("start_factor", 1.0 / 3), lo=0.0, hi=1.0)
            e = _num(f"{path}.end_factor", cfg.get("end_factor", 1.0), lo=0.0, hi=1.0)
            if total_iters == 0:
                return one(n.Constant(s, None))
            if s == 0.0:
                raise SpecError(f"{path}.start_factor", "must be > 0: MMEngine's LinearLR divides by "
                                "start_factor*total_iters at its second step", s)
            return one(n.Linear(s, e, total_iters))
        if base_name == "Poly":
            eta = _num(f"{path}.eta_min", cfg.get("eta_min", 0.0))
            power = _num(f"{path}.power", cfg.get("power", 1.0), nonneg=True)
            if total_iters == 0:
                return one(n.Constant(1.0, None))
            return one(n.Polynomial(total_iters, power, eta))
        if base_name == "Step":
            ss = _int(f"{path}.step_size", cfg["step_size"], lo=1) * scale
            return one(n.Step(ss, _num(f"{path}.gamma", cfg.get("gamma", 0.1), nonneg=True)))
        if base_name == "MultiStep":
            ms_raw = cfg["milestones"]
            if isinstance(ms_raw, (str, bytes)) or not isinstance(ms_raw, Sequence):
                raise SpecError(f"{path}.milestones", "must be a list of integers", ms_raw)
            ms = [_int(f"{path}.milestones[{j}]", m, lo=0) for j, m in enumerate(ms_raw)]
            if any(b < a for a, b in zip(ms, ms[1:])):
                raise SpecError(f"{path}.milestones", "must be increasing", list(ms_raw))
            return one(n.MultiStep(tuple(m * scale for m in ms),
                                   _num(f"{path}.gamma", cfg.get("gamma", 0.1), nonneg=True)))
        if base_name == "Exponential":
            return one(n.Exponential(_num(f"{path}.gamma", cfg["gamma"], positive=True)))
        if base_name == "CosineAnnealing":
            em, er = _eta_pair(path, cfg, default_zero=True)
            tm = cfg.get("T_max")
            T = _int(f"{path}.T_max", tm, lo=1) * scale if tm else span
            return one(n.CosineAnnealing(T, em or 0.0, er))
        if base_name == "CosineRestart":
            em, er = _eta_pair(path, cfg, default_zero=False)
            per = c.int_list(f"{path}.periods", cfg["periods"], lo=1, nonempty=True)
            rw = c.real_list(f"{path}.restart_weights", cfg.get("restart_weights", (1,)), nonneg=True)
            if len(rw) != len(per):
                raise SpecError(f"{path}.restart_weights", f"must have one weight per period ({len(per)})",
                                list(rw))
            return one(n.CosineRestart(tuple(p * scale for p in per), rw, em or 0.0, er))
        if base_name == "OneCycle":
            ts = cfg.get("total_steps")
            T = _int(f"{path}.total_steps", ts, lo=1) * scale if ts is not None else span
            pct = cfg.get("pct_start", 0.3)
            if not isinstance(pct, float) or not 0.0 <= pct <= 1.0:
                raise SpecError(f"{path}.pct_start", "must be a float between 0 and 1 (MMEngine checks the type)",
                                pct)
            anneal = c.choice(f"{path}.anneal_strategy", cfg.get("anneal_strategy", "cos"), ("cos", "linear"))
            maxes = _per_group(f"{path}.eta_max", cfg.get("eta_max", 0), G)
            div = _num(f"{path}.div_factor", cfg.get("div_factor", 25.0), positive=True)
            fdiv = _num(f"{path}.final_div_factor", cfg.get("final_div_factor", 1e4), positive=True)
            kw = dict(total_steps=T, pct_start=pct, anneal=anneal,
                      three_phase=c.boolean(f"{path}.three_phase", cfg.get("three_phase", False)))
            own = [n.OneCycle(max_lr=m, div_factor=div, final_div_factor=fdiv, **kw)  # type: ignore[arg-type]
                   for m in maxes]
            if last_onecycle is None or last_onecycle is cfg:
                return own  # type: ignore[return-value]
            # a later OneCycle rewrote the groups' initial/max/min lr: every step after this one's
            # construction reads those (its step 0 at construction, when begin is 0, its own)
            lmax = _per_group(f"{path}.eta_max", last_onecycle.get("eta_max", 0), G)
            ldiv = _num(f"{path}.div_factor", last_onecycle.get("div_factor", 25.0), positive=True)
            lfdiv = _num(f"{path}.final_div_factor", last_onecycle.get("final_div_factor", 1e4), positive=True)
            last = [n.OneCycle(max_lr=m, div_factor=ldiv, final_div_factor=lfdiv, **kw)  # type: ignore[arg-type]
                    for m in lmax]
            if begin > 0:
                return last  # type: ignore[return-value]
            return [n.Sequential((a, n.Shift(b, 1)), (1,)) for a, b in zip(own, last)]
        if base_name == "ReduceOnPlateau":
            rule = c.choice(f"{path}.rule", cfg.get("rule", "less"), ("less", "greater"))
            trule = c.choice(f"{path}.threshold_rule", cfg.get("threshold_rule", "rel"), ("rel", "abs"))
            mins = _per_group(f"{path}.min_value", cfg.get("min_value", 0.0), G)
            thr = _num(f"{path}.threshold", cfg.get("threshold", 1e-4), nonneg=True)
            met: Optional[Tuple[float, ...]] = None
            if metrics is not None:
                met = c.real_list("metrics", metrics)
                lim = INF * (1.0 - thr) if rule == "less" and trule == "rel" else INF
                if any(abs(m) >= lim * 0.999 for m in met):
                    raise UnsupportedError("metrics: MMEngine starts 'best' at 1e9, not infinity; "
                                           "metrics this large are not modelled")
            factor = _num(f"{path}.factor", cfg.get("factor", 0.1), nonneg=True)
            if factor >= 1.0:
                raise SpecError(f"{path}.factor", "must be < 1.0", factor)
            return [n.Plateau(mode="min" if rule == "less" else "max", factor=factor,
                              patience=_int(f"{path}.patience", cfg.get("patience", 10), lo=0),
                              threshold=thr, threshold_mode=trule,
                              cooldown=_int(f"{path}.cooldown", cfg.get("cooldown", 0), lo=0),
                              min_lr=m, eps=_num(f"{path}.eps", cfg.get("eps", 1e-8), nonneg=True),
                              metrics=met) for m in mins]
    except SpecError as e:
        if e.path.startswith(path):
            raise
        raise SpecError(f"{path}.{e.path}", e.reason, e.value, show_value=e.show_value) from None
    raise UnsupportedError(f"{path}: {base_name} is not modelled")  # pragma: no cover


def _per_group(path: str, v: Any, G: int) -> List[float]:
    """A non-negative number, or a list of one per param group (MMEngine accepts both)."""
    if isinstance(v, (list, tuple)):
        if len(v) != G:
            raise SpecError(path, f"must have one value per param group ({G})", list(v))
        return [_num(f"{path}[{g}]", x, nonneg=True) for g, x in enumerate(v)]
    return [_num(path, v, nonneg=True)] * G


def _eta_pair(path: str, cfg: Mapping[str, Any], default_zero: bool) -> Tuple[Optional[float], Optional[float]]:
    eta, ratio = cfg.get("eta_min"), cfg.get("eta_min_ratio")
    if eta is None and ratio is None and default_zero:
        eta = 0.0
    if (eta is None) == (ratio is None):
        raise SpecError(f"{path}.eta_min", "give exactly one of eta_min and eta_min_ratio", {"eta_min": eta,
                        "eta_min_ratio": ratio})
    return (None if eta is None else _num(f"{path}.eta_min", eta),
            None if ratio is None else _num(f"{path}.eta_min_ratio", ratio, nonneg=True))


def to_mmengine(plan: Plan, *, check_steps: Optional[int] = None) -> List[Dict[str, Any]]:
    """MMEngine ``param_scheduler`` dicts (iteration-based) for the lr of ``plan``.

    Linear, Constant (with total_iters), CosineAnnealing, Step, MultiStep and Exponential
    schedules map, alone or as the children of a SequentialLR. The result is read back with
    :func:`from_mmengine` and compared with the plan over ``check_steps`` (default
    ``total_steps``, at most 10000) under the float64 parity contract; what MMEngine's
    schedulers do not reproduce exactly raises :class:`~bridge.UnsupportedError`.
    """
    from ..parity import compare

    fields = [f for f in plan.fields if plan.schedule(f, 0) is not None]
    if fields != ["lr"]:
        raise UnsupportedError(f"only an lr schedule maps to MMEngine here (the plan schedules {fields})")
    schedules = [g.fields["lr"].schedule for g in plan.groups]
    if any(s != schedules[0] for s in schedules):
        raise UnsupportedError("the param groups follow different lr schedules; MMEngine applies one to all")
    root = schedules[0]
    parts: List[Tuple[Any, Any, Optional[int]]]  # (schedule, begin, end of its SequentialLR slot)
    if isinstance(root, n.Sequential) and all(root.rescale or ()):
        bounds = [0, *root.milestones, None]
        parts = [(child, bounds[i], bounds[i + 1]) for i, child in enumerate(root.schedules)]
    else:
        parts = [(root, 0, None)]
    out: List[Dict[str, Any]] = []
    for node, begin, end in parts:
        while isinstance(node, n.Chain) and len(node.schedules) == 1:
            node = node.schedules[0]
        d: Dict[str, Any]
        if isinstance(node, n.Linear):
            d = dict(type="LinearLR", start_factor=node.start_factor, end_factor=node.end_factor,
                     end=begin + node.total_iters + 1)
        elif isinstance(node, n.Constant) and node.total_iters is not None:
            d = dict(type="ConstantLR", factor=node.factor, end=begin + node.total_iters + 1)
        elif isinstance(node, n.CosineAnnealing):
            d = dict(type="CosineAnnealingLR", T_max=node.T_max, eta_min=node.eta_min, end=begin + node.T_max)
        elif isinstance(node, n.Step):
            d = dict(type="StepLR", step_size=node.step_size, gamma=node.gamma)
        elif isinstance(node, n.MultiStep):
            d = dict(type="MultiStepLR", milestones=list(node.milestones), gamma=node.gamma)
        elif isinstance(node, n.Exponential):
            d = dict(type="ExponentialLR", gamma=node.gamma)
        else:
            raise UnsupportedError(f"a {node.kind} schedule has no MMEngine mapping here")
        d["by_epoch"] = False
        d["begin"] = begin
        if end is not None and (d.get("end") is None or d["end"] > end):
            d["end"] = end
        out.append(d)
    horizon = int(check_steps or min(plan.total_steps or 10_000, 10_000))
    back = from_mmengine(out, bases={"lr": [float(b) for b in plan.bases("lr")]}, max_iters=plan.total_steps)
    ours, theirs = plan.values(horizon), back.values(horizon)
    res = compare(theirs, ours, plan.bases("lr"), "float64")  # MMEngine's reading vs the plan
    if not res.ok:
        t = res.first[0]  # type: ignore[index]
        why = (" MMEngine's next scheduler continues from the current value where torch's SequentialLR "
               "restarts from the base" if len(parts) > 1 else "")
        raise UnsupportedError(f"MMEngine's schedulers do not reproduce this plan exactly: from step "
                               f"{t} they give {theirs[t, 0]!r}, the plan {ours[t, 0]!r}.{why}")
    return out
