"""Common PyTorch recipes as plans: HF transformers, pytorch-accelerated, timm.

No framework is imported. ``from_hf`` builds exact IR nodes: ``HFLambda`` for HF's LambdaLR
lambdas (linear and the cosines, in HF's own arithmetic), Sequential / Linear / Polynomial /
InverseSqrt / WarmupStableDecay / Plateau for the others. ``from_accelerated`` gives ``KDecayCosine``;
``from_timm`` gives ``Timm`` (or ``Plateau``), held per epoch where timm steps per epoch.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from .errors import SpecError, UnsupportedError
from .ir import Field, Group, Plan, nodes
from .ir import _check as c

__all__ = ["from_hf", "from_timm", "from_accelerated", "HF_SCHEDULERS", "TIMM_CLASSES", "TIMM_SCHEDS"]

HF_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                 "constant_with_warmup", "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr",
                 "cosine_warmup_with_min_lr", "warmup_stable_decay")

_HF_KWARGS: Dict[str, tuple] = {
    "linear": (), "constant": (), "constant_with_warmup": (),
    "cosine": ("num_cycles",), "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power"), "inverse_sqrt": ("timescale",),
    "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
    "warmup_stable_decay": ("num_decay_steps", "num_stable_steps", "warmup_type", "decay_type",
                            "min_lr_ratio", "num_cycles"),
    "reduce_lr_on_plateau": ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                             "min_lr", "eps", "metrics"),
}


def _bases(optimizer: Any, base_lr: Any, base_lrs: Any, default_lr: Any) -> tuple:
    if optimizer is not None:
        groups = list(getattr(optimizer, "param_groups", []) or [])
        if not groups:
            raise SpecError("optimizer", "must be a torch optimizer with param_groups", type(optimizer).__name__)
        lrs = [c.real(f"optimizer.param_groups[{i}]['lr']", g.get("initial_lr", g["lr"]))
               for i, g in enumerate(groups)]
        d = getattr(optimizer, "defaults", {}) or {}
        dflt = d.get("lr", default_lr)
        return lrs, (None if dflt is None else c.real("optimizer.defaults['lr']", dflt))
    if base_lrs is not None:
        lrs = list(c.real_list("base_lrs", base_lrs, nonempty=True))
    elif base_lr is not None:
        lrs = [c.real("base_lr", base_lr)]
    else:
        raise SpecError("base_lr", "pass optimizer=..., base_lr=... or base_lrs=[...]", None, show_value=False)
    return lrs, (None if default_lr is None else c.real("default_lr", default_lr))


def _need(name: str, what: str, v: Any) -> int:
    if v is None:
        raise SpecError(what, f"is required for {name!r} (HF raises ValueError)", None, show_value=False)
    return c.integer(what, v, lo=0)


def _warm(W: int) -> nodes.Node:
    """HF warm-up: t/max(1, W), starting at 0."""
    return nodes.Linear(0.0, 1.0, max(1, W))


def _seq(W: int, main: nodes.Node, warm: Optional[nodes.Node] = None) -> nodes.Node:
    if W <= 0:
        return main
    return nodes.Sequential((warm or _warm(W), main), (W,))


def from_hf(name: str, optimizer: Any = None, *, num_warmup_steps: Optional[int] = None,
            num_training_steps: Optional[int] = None, base_lr: Optional[float] = None,
            base_lrs: Optional[Sequence[float]] = None, default_lr: Optional[float] = None,
            scheduler_specific_kwargs: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Plan:
    """Plan of ``transformers.get_scheduler(name, optimizer, num_warmup_steps, num_training_steps, ...)``.

    Base lrs come from ``optimizer`` (per group) or ``base_lr(s)``. ``default_lr`` is
    ``optimizer.defaults['lr']``, which HF's polynomial and min_lr schedules use for every
    group. Scheduler-specific arguments go in ``scheduler_specific_kwargs`` or as keywords.
    """
    key = str(getattr(name, "value", name))
    if key not in _HF_KWARGS:
        import difflib

        close = difflib.get_close_matches(key, list(_HF_KWARGS) + ["greedy"], n=1)
        if key == "greedy":
            raise UnsupportedError("from_hf('greedy'): GreedyLR reacts to the loss at run time; it has no "
                                   "precomputable schedule")
        raise SpecError("name", "unknown HF scheduler (known: " + ", ".join(HF_SCHEDULERS) + ")"
                        + (f"; did you mean {close[0]!r}?" if close else ""), key)
    kw = dict(scheduler_specific_kwargs or {})
    kw.update(kwargs)
    bad = sorted(set(kw) - set(_HF_KWARGS[key]))
    if bad:
        raise SpecError(f"scheduler_specific_kwargs.{bad[0]}", f"not an argument of HF {key!r} (accepted: "
                        + (", ".join(_HF_KWARGS[key]) or "none") + ")", kw[bad[0]])
    lrs, dflt = _bases(optimizer, base_lr, base_lrs, default_lr)

    def default_lr_for(what: str) -> float:
        if dflt is not None:
            return dflt
        if len(set(lrs)) == 1:
            return lrs[0]
        raise SpecError("default_lr", f"HF {what} reads optimizer.defaults['lr'] for every group; pass "
                        "default_lr=... (or the optimizer)", None, show_value=False)

    per_group: Optional[List[nodes.Node]] = None
    node: Optional[nodes.Node] = None
    if key == "constant":
        node = nodes.Constant(1.0, None)
    elif key == "reduce_lr_on_plateau":
        pk = {k: kw[k] for k in ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                                 "min_lr", "eps") if k in kw}
        if isinstance(pk.get("min_lr"), (list, tuple)):
            per_group = [nodes.Plateau(**{**pk, "min_lr": m}, metrics=kw.get("metrics")) for m in pk["min_lr"]]
        else:
            node = nodes.Plateau(**pk, metrics=kw.get("metrics"))
    else:
        W = _need(key, "num_warmup_steps", num_warmup_steps)
        if key == "constant_with_warmup":
            node = _warm(W) if W > 0 else nodes.Constant(1.0, None)
        elif key == "inverse_sqrt":
            node = nodes.InverseSqrt(W, c.opt_int("timescale", kw.get("timescale"), lo=1))
        elif key == "warmup_stable_decay":
            D = _need(key, "num_decay_steps", kw.get("num_decay_steps"))
            S = kw.get("num_stable_steps")
            if S is None:
                N = _need(key, "num_training_steps", num_training_steps)
                S = N - W - D
            S = c.integer("num_stable_steps", S)
            if S < 0:
                raise UnsupportedError(f"warmup_stable_decay: num_training_steps leaves {S} stable steps "
                                       "(< 0); HF then starts decaying inside the warm-up, not modelled")
            node = nodes.WarmupStableDecay(W, S, D, kw.get("min_lr_ratio", 0.0), kw.get("warmup_type", "linear"),
                                       kw.get("decay_type", "cosine"), kw.get("num_cycles", 0.5))
        else:
            N = _need(key, "num_training_steps", num_training_steps)
            if key == "linear":
                node = nodes.HFLambda("linear", W, N)
            elif key == "cosine":
                cyc = c.real("num_cycles", kw.get("num_cycles", 0.5), positive=True)
                node = nodes.HFLambda("cosine", W, N, cyc)
            elif key == "cosine_with_restarts":
                cyc = c.real("num_cycles", kw.get("num_cycles", 1), positive=True)
                node = nodes.HFLambda("cosine_with_restarts", W, N, cyc)
            elif key == "polynomial":
                lr_end = c.real("lr_end", kw.get("lr_end", 1e-7))
                power = c.real("power", kw.get("power", 1.0), nonneg=True)
                lr_init = default_lr_for("polynomial")
                if not lr_init > lr_end:
                    raise SpecError("lr_end", f"must be smaller than the initial lr ({lr_init}); HF raises",
                                    lr_end)
                if N <= W:
                    raise UnsupportedError("polynomial with num_training_steps <= num_warmup_steps divides by "
                                           "zero in HF")
                per_group = [_seq(W, nodes.Polynomial(N - W, power, lr * lr_end / lr_init)) for lr in lrs]
            elif key in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
                cyc = c.real("num_cycles", kw.get("num_cycles", 0.5), positive=True)
                if kw.get("min_lr") is not None and kw.get("min_lr_rate") is not None:
                    raise SpecError("min_lr", "give only one of min_lr and min_lr_rate (HF raises)", kw["min_lr"])
                if kw.get("min_lr") is not None:
                    rate = c.real("min_lr", kw["min_lr"]) / default_lr_for(f"{key} with min_lr")
                elif kw.get("min_lr_rate") is not None:
                    rate = c.real("min_lr_rate", kw["min_lr_rate"])
                else:
                    raise SpecError("min_lr_rate", f"{key} needs min_lr or min_lr_rate (HF raises)", None,
                                    show_value=False)
                if key == "cosine_with_min_lr":
                    node = nodes.HFLambda("cosine", W, N, cyc, rate)
                else:
                    wr = kw.get("warmup_lr_rate")
                    node = nodes.HFLambda("cosine_warmup_with_min_lr", W, N, cyc, rate,
                                      None if wr is None else c.real("warmup_lr_rate", wr))
    plan_groups = []
    for g, lr in enumerate(lrs):
        sched = per_group[g] if per_group is not None else node
        plan_groups.append(Group({"lr": Field(lr, sched)}))
    return Plan(tuple(plan_groups), total_steps=num_training_steps or None, source=f"hf:{key}")


# ---------------------------------------------------------------------------
# pytorch-accelerated
# ---------------------------------------------------------------------------

_ACC_ARGS = ("total_num_epochs", "num_update_steps_per_epoch", "k_decay", "lr_min", "min_lr_ratio",
             "num_warmup_epochs", "warmup_starting_lr", "warmup_starting_lr_ratio", "num_cooldown_epochs")


def _placeholder(name: str, v: Any) -> Any:
    if type(v).__name__ == "TrainerPlaceholderValues":
        raise SpecError(name, "is a Trainer placeholder (the Trainer fills it in at run time); pass the value "
                        "it will have", str(v))
    return v


def _steps(name: str, epochs: Any, per_epoch: int) -> int:
    """epochs * updates per epoch, which must come out whole."""
    e = c.real(name, _placeholder(name, epochs), nonneg=True)
    v = e * per_epoch
    if not float(v).is_integer():
        raise SpecError(name, f"gives {v:g} updates ({per_epoch} per epoch); only whole updates are modelled", epochs)
    return int(v)


def _lrs_arg(source: Any, base_lr: Any, base_lrs: Any) -> Any:
    """An optimizer, or base lrs given positionally (a number or a list)."""
    if source is None or hasattr(source, "param_groups"):
        return _bases(source, base_lr, base_lrs, None)[0]
    if isinstance(source, (int, float)) and not isinstance(source, bool):
        return _bases(None, source, None, None)[0]
    if isinstance(source, (list, tuple)):
        return _bases(None, None, source, None)[0]
    raise SpecError("optimizer", "must be a torch optimizer, a base lr or a list of base lrs", type(source).__name__)


def from_accelerated(optimizer: Any = None, *, total_num_epochs: Any = None, num_update_steps_per_epoch: Any = None,
                     k_decay: float = 1.0, lr_min: float = 1e-6, min_lr_ratio: Optional[float] = None,
                     num_warmup_epochs: Any = 0, warmup_starting_lr: float = 1e-6,
                     warmup_starting_lr_ratio: Optional[float] = None, num_cooldown_epochs: Any = 0,
                     base_lr: Optional[float] = None, base_lrs: Optional[Sequence[float]] = None) -> Plan:
    """Plan of pytorch-accelerated's ``CosineLrScheduler`` stepped once per optimizer update (its Trainer).

    ``optimizer``: a torch optimizer, base lr(s), a live ``CosineLrScheduler`` or the partial
    that ``CosineLrScheduler.create_scheduler_fn(...)`` returns (then pass the optimizer or
    ``base_lr(s)`` and any Trainer placeholders here). Arguments keep the library's names.
    """
    args: Dict[str, Any] = dict(total_num_epochs=total_num_epochs, num_update_steps_per_epoch=num_update_steps_per_epoch,
                                k_decay=k_decay, lr_min=lr_min, min_lr_ratio=min_lr_ratio,
                                num_warmup_epochs=num_warmup_epochs, warmup_starting_lr=warmup_starting_lr,
                                warmup_starting_lr_ratio=warmup_starting_lr_ratio,
                                num_cooldown_epochs=num_cooldown_epochs)
    src = optimizer
    if type(src).__name__ == "partial" and getattr(getattr(src, "func", None), "__name__", "") == "CosineLrScheduler":
        bad = sorted(set(src.keywords) - set(_ACC_ARGS))
        if bad or src.args:
            raise SpecError("optimizer", "is a partial with arguments create_scheduler_fn does not give",
                            bad or list(src.args))
        for k, v in src.keywords.items():
            if not (type(v).__name__ == "TrainerPlaceholderValues" and args.get(k) is not None):
                args[k] = v
        src = None
    elif type(src).__name__ == "CosineLrScheduler" and hasattr(src, "total_iterations"):
        # the live object already holds update counts
        lrs = [c.real(f"scheduler.base_lr_values[{i}]", v) for i, v in enumerate(src.base_lr_values)]
        node = nodes.KDecayCosine(src.total_iterations, src.warmup_iterations, src.num_cooldown_iterations,
                              src.k_decay, src.lr_min, src.lr_min_ratio, src.warmup_lr_init, src.warmup_lr_ratio)
        return Plan(tuple(Group({"lr": Field(lr, node)}) for lr in lrs), total_steps=node.total_steps,
                    source="accelerated:CosineLrScheduler")
    lrs = _lrs_arg(src, base_lr, base_lrs)
    for k in ("total_num_epochs", "num_update_steps_per_epoch"):
        _placeholder(k, args[k])
        if args[k] is None:
            raise SpecError(k, "is required (CosineLrScheduler takes it; the Trainer fills it in)", None,
                            show_value=False)
    upe = c.integer("num_update_steps_per_epoch", args["num_update_steps_per_epoch"], lo=1)
    total = _steps("total_num_epochs", args["total_num_epochs"], upe)
    if total <= 0:
        raise SpecError("total_num_epochs", "must be > 0 (CosineLrScheduler asserts it)", args["total_num_epochs"])
    fields = dict(warmup_steps=("num_warmup_epochs", _steps("num_warmup_epochs", args["num_warmup_epochs"], upe)),
                  cooldown_steps=("num_cooldown_epochs",
                                  _steps("num_cooldown_epochs", args["num_cooldown_epochs"], upe)),
                  k_decay=("k_decay", args["k_decay"]), lr_min=("lr_min", args["lr_min"]),
                  min_lr_ratio=("min_lr_ratio", args["min_lr_ratio"]),
                  warmup_start=("warmup_starting_lr", args["warmup_starting_lr"]),
                  warmup_start_ratio=("warmup_starting_lr_ratio", args["warmup_starting_lr_ratio"]))
    node = _build(nodes.KDecayCosine, {"total_steps": ("total_num_epochs", total), **fields})
    return Plan(tuple(Group({"lr": Field(lr, node)}) for lr in lrs), total_steps=total,
                source="accelerated:CosineLrScheduler")


def _build(cls: Any, kw: Mapping[str, tuple]) -> Any:
    """cls(**{field: value}); a SpecError names the caller's argument, not the node field."""
    try:
        return cls(**{k: v for k, (_, v) in kw.items()})
    except SpecError as e:
        head = e.path.split(".")[0].split("[")[0]
        name = kw[head][0] if head in kw else e.path
        raise SpecError(name + e.path[len(head):], e.reason, e.value, show_value=e.show_value) from None


# ---------------------------------------------------------------------------
# timm
# ---------------------------------------------------------------------------

_NOISE = ("noise_pct", "noise_std", "noise_seed", "noise_type")
_CYCLE = ("t_initial", "lr_min", "cycle_mul", "cycle_decay", "cycle_limit", "warmup_t", "warmup_lr_init",
          "warmup_prefix", "t_in_epochs", "noise_range_t", "initialize") + _NOISE[:3]
TIMM_CLASSES: Dict[str, tuple] = {
    "CosineLRScheduler": _CYCLE + ("k_decay",),
    "TanhLRScheduler": _CYCLE + ("lb", "ub"),
    "PolyLRScheduler": _CYCLE + ("power", "k_decay"),
    "StepLRScheduler": ("decay_t", "decay_rate", "warmup_t", "warmup_lr_init", "warmup_prefix", "t_in_epochs",
                        "noise_range_t", "initialize") + _NOISE[:3],
    "MultiStepLRScheduler": ("decay_t", "decay_rate", "warmup_t", "warmup_lr_init", "warmup_prefix",
                             "t_in_epochs", "noise_range_t", "initialize") + _NOISE[:3],
    "PlateauLRScheduler": ("decay_rate", "patience_t", "threshold", "cooldown_t", "warmup_t", "warmup_lr_init",
                           "lr_min", "mode", "noise_range_t", "initialize") + _NOISE,
}
_SHAPE = {"CosineLRScheduler": "cosine", "TanhLRScheduler": "tanh", "PolyLRScheduler": "poly",
          "StepLRScheduler": "step", "MultiStepLRScheduler": "multistep"}
TIMM_SCHEDS = ("cosine", "tanh", "step", "constant", "multistep", "poly", "plateau", "none")
_V2_ARGS = ("sched", "num_epochs", "decay_epochs", "decay_milestones", "cooldown_epochs", "patience_epochs",
            "decay_rate", "min_lr", "warmup_lr", "warmup_epochs", "warmup_prefix", "noise", "noise_pct",
            "noise_std", "noise_seed", "cycle_mul", "cycle_decay", "cycle_limit", "k_decay", "decay_fn",
            "stable_timescale", "plateau_mode", "step_on_epochs", "updates_per_epoch")
# create_scheduler_v2 argument -> the scheduler argument it becomes (for error messages)
_V2_NAME = {"t_initial": "num_epochs", "lr_min": "min_lr", "warmup_t": "warmup_epochs",
            "warmup_lr_init": "warmup_lr", "decay_t": "decay_epochs", "milestones": "decay_milestones",
            "power": "decay_rate", "patience": "patience_epochs"}


def _v2_to_class(kw: Dict[str, Any]) -> tuple:
    """timm create_scheduler_v2(**kw) -> (class name, its constructor's kwargs)."""
    bad = sorted(set(kw) - set(_V2_ARGS))
    if bad:
        raise SpecError(bad[0], "not an argument of timm create_scheduler_v2 (accepted: " + ", ".join(_V2_ARGS)
                        + ")", kw[bad[0]])
    a: Dict[str, Any] = dict(sched="cosine", num_epochs=300, decay_epochs=None, decay_milestones=(90, 180, 270),
                             cooldown_epochs=0, patience_epochs=10, decay_rate=0.1, min_lr=0.0, warmup_lr=1e-5,
                             warmup_epochs=0, warmup_prefix=False, noise=None, cycle_mul=1.0, cycle_decay=0.1,
                             cycle_limit=1, k_decay=1.0, plateau_mode="max", step_on_epochs=True,
                             updates_per_epoch=0)
    a.update(kw)
    sched = a["sched"]
    if sched in ("wsd", "rsqrt"):
        raise UnsupportedError(f"from_timm: sched={sched!r} (timm WSDLRScheduler) is not modelled; sample it "
                               "with the real timm into a Table (bridge.Table(values)) instead")
    if sched not in TIMM_SCHEDS:
        raise SpecError("sched", "unknown timm scheduler (known: " + ", ".join(TIMM_SCHEDS + ("wsd", "rsqrt"))
                        + ")", sched)
    if a["noise"] is not None:
        raise UnsupportedError("from_timm: noise=... adds seeded random noise to the lr; it has no closed "
                               "form here. Use noise=None (or sample the real scheduler into a Table)")
    T, W, D = a["num_epochs"], a["warmup_epochs"], a["decay_epochs"]
    D = 90 if D is None else D
    milestones = a["decay_milestones"]  # cooldown_epochs only lengthens the run: lr_min is held past the cycles
    upe = a["updates_per_epoch"]
    if not a["step_on_epochs"]:
        upe = c.integer("updates_per_epoch", upe, lo=1)
        T, W, D = T * upe, W * upe, D * upe
        milestones = [d * upe for d in milestones]
    warm = dict(warmup_lr_init=a["warmup_lr"], warmup_t=W, warmup_prefix=a["warmup_prefix"])
    cyc = dict(cycle_mul=a["cycle_mul"], cycle_decay=a["cycle_decay"], cycle_limit=a["cycle_limit"])
    on = a["step_on_epochs"]
    if sched == "none":
        return "none", {}
    if sched in ("cosine", "tanh", "poly"):
        cls = {"cosine": "CosineLRScheduler", "tanh": "TanhLRScheduler", "poly": "PolyLRScheduler"}[sched]
        ck: Dict[str, Any] = dict(t_initial=T, lr_min=a["min_lr"], t_in_epochs=on, **cyc, **warm)
        if sched != "tanh":
            ck["k_decay"] = a["k_decay"]
        if sched == "poly":
            ck["power"] = a["decay_rate"]
        return cls, ck
    if sched in ("step", "constant"):
        dt, dr = (D, a["decay_rate"]) if sched == "step" else (1, 1.0)
        return "StepLRScheduler", dict(decay_t=dt, decay_rate=dr, t_in_epochs=on, **warm)
    if sched == "multistep":
        return "MultiStepLRScheduler", dict(decay_t=milestones, decay_rate=a["decay_rate"], t_in_epochs=on, **warm)
    if not on:
        raise SpecError("step_on_epochs", "must be True for sched='plateau' (timm asserts it)", on)
    warm.pop("warmup_prefix")
    return "PlateauLRScheduler", dict(decay_rate=a["decay_rate"], patience_t=a["patience_epochs"], cooldown_t=0,
                                      lr_min=a["min_lr"], mode=a["plateau_mode"], **warm)


def _timm_live(sched: Any) -> tuple:
    """A live timm scheduler -> (class name, kwargs, base lrs, lr_scales)."""
    name = type(sched).__name__
    if name not in TIMM_CLASSES:
        raise UnsupportedError(f"from_timm: {name} is not a timm scheduler this importer models "
                               "(known: " + ", ".join(TIMM_CLASSES) + ")")
    kw: Dict[str, Any] = {}
    for k in TIMM_CLASSES[name]:
        if k in ("initialize", "noise_type", "patience_t", "cooldown_t", "threshold", "mode") \
                or (k == "lr_min" and name == "PlateauLRScheduler"):
            continue
        if hasattr(sched, k):
            kw[k] = getattr(sched, k)
    if name == "PlateauLRScheduler":
        r = sched.lr_scheduler
        kw.update(decay_rate=r.factor, patience_t=r.patience, threshold=r.threshold, cooldown_t=r.cooldown,
                  mode=r.mode, lr_min=r.min_lrs[0] if len(set(r.min_lrs)) == 1 else list(r.min_lrs),
                  threshold_mode=r.threshold_mode, eps=r.eps)
    groups = list(sched.optimizer.param_groups)
    scales = [g.get("lr_scale") for g in groups]
    return name, kw, list(sched.base_values), scales


def from_timm(scheduler: Any = "cosine", optimizer: Any = None, *, updates_per_epoch: Optional[int] = None,
              base_lr: Optional[float] = None, base_lrs: Optional[Sequence[float]] = None,
              lr_scales: Optional[Sequence[Optional[float]]] = None, metrics: Optional[Sequence[float]] = None,
              **kwargs: Any) -> Plan:
    """Plan of a timm scheduler as timm's train.py steps it, on the optimizer-update axis.

    ``scheduler``: a ``create_scheduler_v2`` name (``'cosine'``, ``'step'``, ...; keywords are its
    arguments), a class name (``'CosineLRScheduler'``; keywords are its constructor's) or a live
    timm scheduler. Epoch-based schedules (``t_in_epochs`` / ``step_on_epochs``) hold each value for
    ``updates_per_epoch`` updates. A group's ``lr_scale`` (from the optimizer or ``lr_scales``)
    multiplies its values, as timm does. ``metrics``: the plateau metric passed at each epoch end.
    A live scheduler's plan carries its run length as ``total_steps`` where timm says it
    (``get_cycle_length()``: cosine / tanh / poly), in optimizer updates.
    """
    scales: Optional[List[Optional[float]]] = None
    v2 = False
    horizon: Optional[int] = None
    if isinstance(scheduler, str):
        if scheduler in TIMM_CLASSES:
            name, ck = scheduler, dict(kwargs)
            bad = sorted(set(ck) - set(TIMM_CLASSES[name]))
            if bad:
                raise SpecError(bad[0], f"not an argument of timm {name} (accepted: "
                                + ", ".join(TIMM_CLASSES[name]) + ")", ck[bad[0]])
        else:
            if "updates_per_epoch" not in kwargs and updates_per_epoch is not None:
                kwargs["updates_per_epoch"] = updates_per_epoch
            name, ck = _v2_to_class({"sched": scheduler, **kwargs})
            v2 = True
            if updates_per_epoch is None and kwargs.get("updates_per_epoch"):
                updates_per_epoch = kwargs["updates_per_epoch"]
        lrs = _lrs_arg(optimizer, base_lr, base_lrs)
        if optimizer is not None and hasattr(optimizer, "param_groups"):
            scales = [g.get("lr_scale") for g in optimizer.param_groups]
    else:
        if kwargs:
            raise SpecError(sorted(kwargs)[0], "give no scheduler arguments with a live timm scheduler", None,
                            show_value=False)
        name, ck, lrs, scales = _timm_live(scheduler)
        lrs = [c.real(f"scheduler.base_values[{i}]", v) for i, v in enumerate(lrs)]
        horizon = _timm_horizon(scheduler)
    if lr_scales is not None:
        scales = list(lr_scales)
        if len(scales) != len(lrs):
            raise SpecError("lr_scales", f"must have one entry per param group ({len(lrs)})", scales)
    sc = [1.0 if s is None else c.real(f"lr_scales[{i}]", s, nonneg=True) for i, s in enumerate(scales or [None] * len(lrs))]
    if name == "none":
        return Plan(tuple(Group({"lr": Field(lr, nodes.Constant(1.0, None))}) for lr in lrs), source="timm:none")
    if ck.get("noise_range_t") is not None:
        raise UnsupportedError("from_timm: noise_range_t adds seeded random noise to the lr; it has no closed "
                               "form here. Use noise_range_t=None (or sample the real scheduler into a Table)")
    rename = _V2_NAME if v2 else {}
    per_epoch = name == "PlateauLRScheduler" or bool(ck.get("t_in_epochs", True))
    every = 1
    if per_epoch:
        if updates_per_epoch is None:
            raise SpecError("updates_per_epoch", "is required: timm steps this schedule once per epoch "
                            "(t_in_epochs / step_on_epochs); pass the optimizer updates per epoch (1 for an "
                            "epoch axis)", None, show_value=False)
        every = c.integer("updates_per_epoch", updates_per_epoch, lo=1)
    per_group: List[nodes.Node] = []
    bases: List[float] = []
    for g, (lr, s) in enumerate(zip(lrs, sc)):
        if name == "PlateauLRScheduler":
            node, b = _timm_plateau(ck, g, lr, s, metrics, rename)
        else:
            spec = {k: v for k, v in ck.items() if k not in ("t_in_epochs", "noise_range_t", "initialize") + _NOISE}
            if name == "MultiStepLRScheduler":
                spec["milestones"] = spec.pop("decay_t", ())
            defaults_prefix = name in ("StepLRScheduler", "MultiStepLRScheduler")
            spec.setdefault("warmup_prefix", defaults_prefix)
            node = _build(nodes.Timm, {k: (rename.get(k, "decay_t" if k == "milestones" and not v2 else k), v)
                                   for k, v in {"shape": _SHAPE[name], **spec, "scale": s}.items()})
            b = lr
        per_group.append(node if every == 1 else nodes.Hold(node, every))
        bases.append(b)
    return Plan(tuple(Group({"lr": Field(b, nd)}) for b, nd in zip(bases, per_group)),
                total_steps=None if horizon is None else horizon * every, source=f"timm:{name}")


def _timm_horizon(sched: Any) -> Optional[int]:
    """A live timm scheduler's run length in its own steps, as timm computes it.

    ``get_cycle_length()`` (cosine / tanh / poly: t_initial over cycle_limit cycles with
    cycle_mul, plus warmup_t with warmup_prefix); create_scheduler_v2 adds ``cooldown_epochs``
    to it, which the live scheduler does not keep. Step / multistep / plateau: None (timm
    does not say).
    """
    length = getattr(sched, "get_cycle_length", None)
    if length is None:
        return None
    n = length()
    return int(n) if isinstance(n, (int, float)) and n >= 1 else None


def _timm_plateau(ck: Mapping[str, Any], g: int, lr: float, scale: float, metrics: Any,
                  rename: Mapping[str, str]) -> tuple:
    """timm PlateauLRScheduler for one group: warm-up epochs 0..W, then torch ReduceLROnPlateau.

    timm ignores the metric of every epoch <= warmup_t; the plateau starts from the group's lr
    (base*lr_scale), so the plan's base for this group is base*lr_scale.
    """
    W = c.integer(rename.get("warmup_t", "warmup_t"), ck.get("warmup_t", 0), lo=0)
    values = None if metrics is None else c.real_list("metrics", metrics)
    lr_min = ck.get("lr_min", 0.0)
    if isinstance(lr_min, (list, tuple)):  # a live ReduceLROnPlateau keeps one min_lr per group
        lr_min = lr_min[g]
    pk = dict(mode=("mode", ck.get("mode", "max")), factor=("decay_rate", ck.get("decay_rate", 0.1)),
              patience=(rename.get("patience", "patience_t"), ck.get("patience_t", 10)),
              threshold=("threshold", ck.get("threshold", 1e-4)),
              threshold_mode=("threshold_mode", ck.get("threshold_mode", "rel")),
              cooldown=("cooldown_t", ck.get("cooldown_t", 0)), min_lr=(rename.get("lr_min", "lr_min"), lr_min),
              eps=("eps", ck.get("eps", 1e-8)), metrics=("metrics", None if values is None else values[W:]))
    plateau = _build(nodes.Plateau, pk)
    b = lr * scale
    if not W:
        return plateau, b
    init = c.real(rename.get("warmup_lr_init", "warmup_lr_init"), ck.get("warmup_lr_init", 0.0), nonneg=True)
    warm = nodes.Timm("step", decay_rate=1.0, warmup_t=W, warmup_lr_init=init * scale, warmup_prefix=True)
    return nodes.Sequential((warm, plateau), (W,)), b
