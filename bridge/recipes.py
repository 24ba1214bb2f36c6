"""Common PyTorch recipes as plans: HF transformers ``get_scheduler`` names.

No framework is imported. ``from_hf`` builds exact IR nodes (Sequential / Linear /
CosineAnnealing / CosineRestart / Polynomial / InverseSqrt / WarmupStableDecay /
Plateau); only num_cycles values that give a non-integer period fall back to an opaque
``Lambda`` with HF's own formula.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .errors import SpecError, UnsupportedError
from .ir import Field, Group, Plan
from .ir import _check as c
from .ir import nodes as n

__all__ = ["from_hf", "from_timm", "from_accelerated", "HF_SCHEDULERS"]

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


def _warm(W: int) -> n.Node:
    """HF warm-up: t/max(1, W), starting at 0."""
    return n.Linear(0.0, 1.0, max(1, W))


def _seq(W: int, main: n.Node, warm: Optional[n.Node] = None) -> n.Node:
    if W <= 0:
        return main
    return n.Sequential((warm or _warm(W), main), (W,))


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

    per_group: Optional[List[n.Node]] = None
    node: Optional[n.Node] = None
    if key == "constant":
        node = n.Constant(1.0, None)
    elif key == "reduce_lr_on_plateau":
        pk = {k: kw[k] for k in ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                                 "min_lr", "eps") if k in kw}
        if isinstance(pk.get("min_lr"), (list, tuple)):
            per_group = [n.Plateau(**{**pk, "min_lr": m}, metrics=kw.get("metrics")) for m in pk["min_lr"]]
        else:
            node = n.Plateau(**pk, metrics=kw.get("metrics"))
    else:
        W = _need(key, "num_warmup_steps", num_warmup_steps)
        if key == "constant_with_warmup":
            node = _warm(W) if W > 0 else n.Constant(1.0, None)
        elif key == "inverse_sqrt":
            node = n.InverseSqrt(W, c.opt_int("timescale", kw.get("timescale"), lo=1))
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
            node = n.WarmupStableDecay(W, S, D, kw.get("min_lr_ratio", 0.0), kw.get("warmup_type", "linear"),
                                       kw.get("decay_type", "cosine"), kw.get("num_cycles", 0.5))
        else:
            N = _need(key, "num_training_steps", num_training_steps)
            D = max(1, N - W)
            if key == "linear":
                node = _seq(W, n.Linear(1.0, 0.0, D) if N > W else n.Constant(0.0, None))
            elif key == "cosine":
                cyc = c.real("num_cycles", kw.get("num_cycles", 0.5), positive=True)
                node = _seq(W, _cos(D, cyc, 0.0, key, W, N))
            elif key == "cosine_with_restarts":
                cyc = c.integer("num_cycles", kw.get("num_cycles", 1), lo=1)
                if D % cyc == 0:
                    P = D // cyc
                    main: n.Node = n.Sequential((n.CosineRestart((P,) * cyc, (1.0,) * cyc, 0.0),
                                                 n.Constant(0.0, None)), (D,))
                else:
                    main = _lambda(key, W, N, cyc)
                node = _seq(W, main)
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
                per_group = [_seq(W, n.Polynomial(N - W, power, lr * lr_end / lr_init)) for lr in lrs]
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
                    node = _seq(W, _cos(D, cyc, rate, key, W, N))
                else:
                    cos = _cos(D, cyc, rate, key, W, N)
                    main = n.Shift(cos, 1) if not isinstance(cos, n.Lambda) else cos
                    wr = kw.get("warmup_lr_rate")
                    if wr is None:
                        warm: n.Node = n.Shift(n.Linear(0.0, 1.0, max(1, W)), 1)
                    else:
                        wr = c.real("warmup_lr_rate", wr)
                        warm = n.Linear(wr, 1.0, max(1, W - 1))
                    node = _seq(W, main, warm)
    plan_groups = []
    for g, lr in enumerate(lrs):
        sched = per_group[g] if per_group is not None else node
        plan_groups.append(Group({"lr": Field(lr, sched)}))
    return Plan(tuple(plan_groups), total_steps=num_training_steps or None, source=f"hf:{key}")


def _cos(D: int, cycles: float, rate: float, key: str, W: int, N: int) -> n.Node:
    """HF's cosine after warm-up at local step s: periodic, floor rate (relative)."""
    T = D / (2.0 * cycles)
    if T >= 1 and float(T).is_integer():
        return n.CosineAnnealing(int(T), 0.0, rate if rate else None)
    return _lambda(key, W, N, cycles, rate)


def _lambda(key: str, W: int, N: int, cycles: float, rate: float = 0.0) -> n.Node:
    """HF's own lr_lambda (after warm-up, local step) when no exact node has an integer period."""
    D = max(1, N - W)
    off = 1 if key == "cosine_warmup_with_min_lr" else 0

    def fn(s: int) -> float:
        p = float(s + off) / float(D)
        if key == "cosine_with_restarts":
            if p >= 1.0:
                return 0.0
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(cycles) * p) % 1.0))))
        f = 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * p))
        return max(0.0, f * (1 - rate) + rate)

    return n.Lambda(fn, f"hf_{key}(num_cycles={cycles})")


def from_timm(*args: Any, **kwargs: Any) -> Plan:
    """Not implemented yet (timm schedulers)."""
    raise UnsupportedError("from_timm is not implemented yet")


def from_accelerated(*args: Any, **kwargs: Any) -> Plan:
    """Not implemented yet (pytorch-accelerated CosineLrScheduler)."""
    raise UnsupportedError("from_accelerated is not implemented yet")
