"""PyTorch, both directions: live ``torch.optim.lr_scheduler`` objects <-> :class:`~bridge.Plan`.

- :func:`from_torch` reads a live scheduler (any class of ``torch.optim.lr_scheduler``
  in torch 2.13, nested SequentialLR / ChainedScheduler included) into a Plan that
  describes what the optimizer sees from now on (row 0 = the value it holds now).
- :func:`to_torch` lowers a Plan onto an optimizer: a native scheduler when one is an
  exact twin, else :class:`PlanScheduler` (O(1) amortised per step, resumable).
- :func:`sample_torch` is the table fallback for what has no IR form (custom
  subclasses, custom ``scale_fn``): it steps a fresh scheduler and tabulates it.
- :func:`record_torch` records a real trajectory (used by tests and the parity harness).

torch is imported inside functions only.
"""

from __future__ import annotations

import bisect
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..ir import nodes as n
from ..ir.plan import Field, Group, Plan
from . import _driver
from ._driver import plan_fingerprint  # noqa: F401 - its name here before the driver
from ._fields import has_field, read_field
from ._record import SchedulerCall
from ._source import base_value_lines, write_call

__all__ = ["from_torch", "to_torch", "native_source", "sample_torch", "record_torch", "import_plan", "import_record",
           "read_torch", "one_cycle_group_values", "record_of", "construct", "TABLE_HINT", "LEAF_ARGS"]  # + PlanScheduler (lazy)

#: group keys that are scheduler bookkeeping, not optimizer hyper-parameters
_BOOKKEEPING = {"initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum", "params"}
_TOL = 1e-12


def _torch() -> Any:
    from .._frameworks import import_framework

    return import_framework("torch")


# ---------------------------------------------------------------------------
# param-group access
# ---------------------------------------------------------------------------


def _numeric(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return hasattr(v, "numel") and v.numel() == 1 and v.dtype.is_floating_point


def _group_fields(group: Dict[str, Any]) -> List[str]:
    """Every scalar hyper-parameter of a param group, ``lr`` first, ``betas[i]`` expanded."""
    out = ["lr"]
    for k, v in group.items():
        if k in _BOOKKEEPING or k == "lr":
            continue
        if isinstance(v, (tuple, list)) and v and all(_numeric(x) for x in v):
            out.extend(f"{k}[{i}]" for i in range(len(v)))
        elif _numeric(v):
            out.append(k)
    return out


# ---------------------------------------------------------------------------
# record / sample
# ---------------------------------------------------------------------------


def record_torch(scheduler: Any, optimizer: Any, steps: int, fields: Sequence[str] = ("lr",), *,
                 metrics: Optional[Sequence[float]] = None) -> Dict[str, np.ndarray]:
    """Run the real loop ``optimizer.step(); scheduler.step()`` and record param-group values.

    Returns ``{field: array (steps, n_groups)}``; row t is the value in effect for update t
    (row 0 = the value now). ``metrics`` (one per step) feeds ReduceLROnPlateau.
    """
    steps = int(steps)
    groups = optimizer.param_groups
    out = {f: np.empty((steps, len(groups))) for f in fields}
    for t in range(steps):
        if t:
            optimizer.step()
            if metrics is not None:
                scheduler.step(metrics[t - 1])
            else:
                scheduler.step()
        for f in fields:
            row = out[f][t]
            for g, grp in enumerate(groups):
                row[g] = float(read_field(grp, f))
    return out


def sample_torch(scheduler_factory: Callable[[], Any], steps: int, *,
                 fields: Optional[Sequence[str]] = None) -> Plan:
    """The table fallback: build a fresh scheduler, step it ``steps`` times, tabulate.

    ``scheduler_factory()`` returns a new scheduler (on a new optimizer). Every field that
    changes becomes a per-group ``Table`` (``after='error'``: past ``steps`` it is unknown);
    the others are constants.
    """
    _torch()
    sched = scheduler_factory()
    if isinstance(sched, tuple):
        sched = next(s for s in sched if hasattr(s, "optimizer"))
    opt = getattr(sched, "optimizer", None)
    if opt is None:
        raise SpecError("scheduler_factory", "must return a torch scheduler (with .optimizer)",
                        type(sched).__name__)
    if type(sched).__name__ == "ReduceLROnPlateau":
        raise UnsupportedError("ReduceLROnPlateau depends on the metrics passed to step(); it cannot "
                               "be sampled without them (use record_torch(..., metrics=...))")
    names = list(fields) if fields is not None else _group_fields(opt.param_groups[0])
    for i, grp in enumerate(opt.param_groups):
        for f in names:
            if not has_field(grp, f):
                raise SpecError(f"param_groups[{i}].{f}", "no such field in the param group", f,
                                show_value=False)
    steps = int(steps)
    if steps < 1:
        raise SpecError("steps", "must be >= 1", steps)
    rec = record_torch(sched, opt, steps, names)
    groups = []
    for g in range(len(opt.param_groups)):
        fs = {}
        for f in names:
            col = rec[f][:, g]
            if np.all(col == col[0]):
                fs[f] = Field(float(col[0]))
            else:
                fs[f] = Field(float(col[0]), n.Table(tuple(col.tolist()), after="error"))
        groups.append(Group(fs))
    return Plan(tuple(groups), total_steps=steps, source=f"torch {type(sched).__name__} (sampled)")


# ---------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------

#: how to import what has no IR form; the last words of those UnsupportedErrors (a reader of another
#: dialect mapped by this table puts its own in their place)
TABLE_HINT = _TABLE_HINT = ("sample it into a table with bridge.frameworks.torch.sample_torch(make_scheduler, steps), "
                            "where make_scheduler() builds a fresh scheduler")


class _OffsetFn:
    """fn(t + offset): a MultiplicativeLR factor function resumed at step ``offset``."""

    def __init__(self, fn: Callable[[int], float], offset: int):
        self.fn, self.offset = fn, offset
        self.__name__ = getattr(fn, "__name__", "fn")

    def __call__(self, t: int) -> float:
        return self.fn(t + self.offset)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _OffsetFn) and other.fn is self.fn and other.offset == self.offset

    def __hash__(self) -> int:
        return hash((id(self.fn), self.offset))


def _cls(s: Any, lrs: Any) -> str:
    """The torch class name of ``s`` when it is exactly one of torch's classes, else ''."""
    name = type(s).__name__
    if getattr(lrs, name, None) is type(s) and name in _KNOWN:
        return name
    return ""


#: classes whose plain step() at epoch 0 differs from their initial step
_QUIRKY = {"ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "MultiplicativeLR"}

_KNOWN = {"LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
          "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
          "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"}


def _unsupported_class(s: Any, path: str) -> UnsupportedError:
    cls = type(s)
    return UnsupportedError(
        f"{path}: {cls.__module__}.{cls.__qualname__} is not one of torch.optim.lr_scheduler's "
        f"classes, so its get_lr() has no IR form; {_TABLE_HINT}")


def _unsupported(rec: SchedulerCall, path: str) -> UnsupportedError:
    a = rec.args
    return UnsupportedError(
        f"{path}: {a['module']}.{a['qualname']} is not one of torch.optim.lr_scheduler's "
        f"classes, so its get_lr() has no IR form; {_TABLE_HINT}")


#: record name of a scheduler that is not exactly one of torch's classes (args: module, qualname)
CUSTOM = "<custom>"

#: leaf classes whose constructor parameters torch stores under the same names (MindSpore's
#: experimental copies of them too: its reader uses this table)
LEAF_ARGS: Dict[str, Tuple[str, ...]] = {
    "StepLR": ("step_size", "gamma"),
    "ConstantLR": ("factor", "total_iters"),
    "LinearLR": ("start_factor", "end_factor", "total_iters"),
    "ExponentialLR": ("gamma",),
    "PolynomialLR": ("total_iters", "power"),
    "CosineAnnealingLR": ("T_max", "eta_min"),
    "CosineAnnealingWarmRestarts": ("T_0", "T_mult", "eta_min"),
}


def one_cycle_group_values(groups: Sequence[Any], momentum: bool) -> Dict[str, Tuple[Any, ...]]:
    """The param-group values a OneCycleLR computes from at every step (as the last one built
    left them): ``max_lr``, ``initial_lr``, ``min_lr``, and the momentum bounds when it cycles
    momentum. A OneCycleLR record's ``group_values`` hold them (see :func:`read_torch`)."""
    keys = ("max_lr", "initial_lr", "min_lr") + (("base_momentum", "max_momentum") if momentum else ())
    return {k: tuple(grp[k] for grp in groups) for k in keys}


def read_torch(s: Any, lrs: Any = None) -> SchedulerCall:
    """The record of a live torch scheduler: the one place torch's scheduler attributes are read.

    The record holds what torch's constructors stored, named by the constructor parameter
    where torch keeps one (``step_size``, ``milestones`` sorted, ...), else by what it
    stores: CyclicLR ``total_size``/``step_ratio``/``scale_fn`` (the custom one or None),
    OneCycleLR ``total_steps``/``phase_ends``/``anneal_strategy`` and ``pct_start=None``
    (torch does not keep it; an expression's record carries it). ``group_values``:
    ``base_lrs``; CyclicLR/OneCycleLR also ``last_lr`` (their value after construction),
    CyclicLR ``max_lrs`` (and ``base_momentums``/``max_momentums``), OneCycleLR the groups'
    ``max_lr``/``initial_lr``/``min_lr`` (and momentum bounds) as they are now.
    ReduceLROnPlateau: its arguments, ``fresh`` (no metrics seen yet), ``min_lrs``. A class
    that is not exactly torch's is :data:`CUSTOM`. ``step``: ``last_epoch``.
    """
    lrs = lrs if lrs is not None else _torch().optim.lr_scheduler
    name = _cls(s, lrs)
    step = int(getattr(s, "last_epoch", 0))

    def rec(nm: str, args: Dict[str, Any], kids: Sequence[SchedulerCall] = (),
            gv: Optional[Dict[str, Tuple[Any, ...]]] = None) -> SchedulerCall:
        return SchedulerCall("torch", nm, args, tuple(kids), gv or {}, step)

    if not name:
        return rec(CUSTOM, {"module": type(s).__module__, "qualname": type(s).__qualname__})
    if name == "SequentialLR":
        return rec(name, {"milestones": list(s._milestones)}, [read_torch(c, lrs) for c in s._schedulers])
    if name == "ChainedScheduler":
        return rec(name, {}, [read_torch(c, lrs) for c in s._schedulers])
    if name == "ReduceLROnPlateau":
        fresh = s.best == s.mode_worse and s.num_bad_epochs == 0 and s.cooldown_counter == 0
        return rec(name, {"mode": s.mode, "factor": s.factor, "patience": s.patience, "threshold": s.threshold,
                          "threshold_mode": s.threshold_mode, "cooldown": s.cooldown, "eps": s.eps,
                          "fresh": bool(fresh)}, gv={"min_lrs": tuple(s.min_lrs)})
    gv: Dict[str, Tuple[Any, ...]] = {"base_lrs": tuple(s.base_lrs)}
    if name in LEAF_ARGS:
        return rec(name, {p: getattr(s, p) for p in LEAF_ARGS[name]}, gv=gv)
    if name == "MultiStepLR":
        return rec(name, {"milestones": sorted(s.milestones.elements()), "gamma": s.gamma}, gv=gv)
    if name in ("LambdaLR", "MultiplicativeLR"):
        return rec(name, {"lr_lambda": list(s.lr_lambdas)}, gv=gv)
    gv["last_lr"] = tuple(s._last_lr)
    mom = bool(s.cycle_momentum)
    if name == "CyclicLR":
        gv["max_lrs"] = tuple(s.max_lrs)
        if mom:
            gv["base_momentums"], gv["max_momentums"] = tuple(s.base_momentums), tuple(s.max_momentums)
        return rec(name, {"total_size": s.total_size, "step_ratio": s.step_ratio, "mode": s.mode, "gamma": s.gamma,
                          "scale_fn": s._scale_fn_custom, "cycle_momentum": mom,
                          "use_beta1": bool(getattr(s, "use_beta1", False))}, gv=gv)
    # OneCycleLR
    gv.update(one_cycle_group_values(s.optimizer.param_groups, mom))
    return rec(name, {"total_steps": s.total_steps, "phase_ends": [ph["end_step"] for ph in s._schedule_phases],
                      "anneal_strategy": s._anneal_func_type, "cycle_momentum": mom,
                      "use_beta1": bool(getattr(s, "use_beta1", False)), "pct_start": None}, gv=gv)


def _recover(target: float, make: Callable[[float], float], guess: float) -> float:
    """The shortest decimal ``x`` near ``guess`` with ``make(x) == target`` (else ``guess``)."""
    for digits in range(1, 17):
        x = round(guess, digits)
        if x > 0 and make(x) == target:
            return x
    return guess


def _one_cycle_params(r: SchedulerCall, g: int) -> Dict[str, Any]:
    a, gv = r.args, r.group_values
    T = int(a["total_steps"])
    ph = a["phase_ends"]
    three = len(ph) == 3
    e0 = float(ph[0])
    if a.get("pct_start") is not None:  # an expression's own (torch does not store it)
        pct = float(a["pct_start"])
    else:
        pct = _recover(e0, lambda p: float(p * T) - 1, (e0 + 1) / T)
    if three and float(2 * pct * T) - 2 != float(ph[1]):
        raise UnsupportedError("OneCycleLR: cannot recover pct_start exactly from its phases; " + _TABLE_HINT)
    mx, init, lo = float(gv["max_lr"][g]), float(gv["initial_lr"][g]), float(gv["min_lr"][g])
    div = _recover(init, lambda d: mx / d, mx / init) if init > 0 else 25.0
    fdiv = _recover(lo, lambda d: (mx / div) / d, init / lo) if lo > 0 else 1e4
    return dict(total_steps=T, pct_start=pct, anneal=a["anneal_strategy"], div_factor=div,
                final_div_factor=fdiv, three_phase=three)


def _cyclic_steps(r: SchedulerCall) -> Tuple[int, int]:
    total, ratio = float(r.args["total_size"]), float(r.args["step_ratio"])
    up = round(total * ratio)
    down = round(total - up)
    if up < 1 or down < 1 or float(up) + float(down) != total or up / total != ratio:
        raise UnsupportedError(f"CyclicLR: step_size_up/step_size_down must be whole numbers "
                               f"(total_size={total}, step_ratio={ratio}); {_TABLE_HINT}")
    return up, down


def _momentum_field(r: SchedulerCall) -> str:
    return "betas[0]" if r.args.get("use_beta1", False) else "momentum"


def _plain_step0(r: SchedulerCall, G: int, path: str) -> List[float]:
    """Per group, the factor a plain ``step()`` at epoch 0 applies (instead of the initial step).

    A composite nested in a SequentialLR is stepped by the outer constructor with plain
    ``step()`` calls, so its first chainable update is torch's ``get_lr()`` at epoch 0 outside
    the initial mode: ExponentialLR multiplies by gamma, PolynomialLR by
    ``(1/(1 + 1/total_iters))**power``, MultiplicativeLR by ``fn(0)``, CosineAnnealingLR (eta_min
    0) by ``2/(1 + cos(pi/T_max))``. Computed with torch's own expressions.
    """
    a, name = r.args, r.name
    if name == "ExponentialLR":
        out = [float(a["gamma"])] * G
    elif name == "PolynomialLR":
        T = a["total_iters"]
        out = [float(((1.0 - 0 / T) / (1.0 - (0 - 1) / T)) ** a["power"])] * G
    elif name == "MultiplicativeLR":
        out = [float(fn(0)) for fn in a["lr_lambda"]]
    else:  # CosineAnnealingLR
        T = a["T_max"]
        if float(a["eta_min"]) != 0.0 or (0 - 1 - T) % (2 * T) == 0:
            raise UnsupportedError(
                f"{path}: a CosineAnnealingLR first inside a composite nested in a SequentialLR gets a plain "
                "step() at epoch 0 from torch (not the initial step); with eta_min != 0 (or T_max=1) that "
                "update is affine, which no IR node models; " + _TABLE_HINT)
        out = [float((1 + math.cos(math.pi * 0 / T)) / (1 + math.cos(math.pi * (0 - 1) / T)))] * G
    if any(not (f >= 0.0 and math.isfinite(f)) for f in out):
        raise UnsupportedError(f"{path}: {name}'s first update multiplies the lr by {out}; " + _TABLE_HINT)
    return out


class _Import:
    """The torch record table: walks a (possibly composite) record into per-group IR nodes.

    Used by :func:`from_torch` (the record :func:`read_torch` reads) and by expressions (the
    record bridge.spec builds as torch's constructors would).

    Every node it returns is evaluated from the plan's base ``self.base[g]``. A torch
    scheduler computes from the ``base_lrs`` it took from ``initial_lr`` when it was built,
    and ``OneCycleLR`` rewrites ``initial_lr`` when *it* is built, so the children of one
    composite can hold different bases; a child whose base differs from the plan's is scaled
    (``chain(nested)[constant(factor=own/base), child]`` for LambdaLR and
    CosineAnnealingWarmRestarts, a recursive chain for chainable children).
    """

    def __init__(self, G: int):
        self.G = G
        self.base: List[float] = []  # the plan's lr base per group, set before walking
        self.initial: List[float] = []  # each group's initial_lr now
        self.k = 0  # steps the scheduler has taken since construction

    def node(self, s: SchedulerCall, g: int, path: str, inside: bool, reach: int = 0, indirect: bool = False,
             restarted: bool = False, start: Optional[float] = None, chained: bool = False) -> n.Node:
        """The IR node of ``s`` for group ``g``, evaluated from the base ``self.base[g]``.

        ``inside``: part of a composite. ``reach``: how many enclosing SequentialLRs stepped
        this scheduler while being constructed (each one advances a nested SequentialLR's
        own counter by one). ``indirect``: its step at t=0 was a plain ``step()`` issued by a
        nested composite, not an initial step. ``restarted``: a SequentialLR starts it at a
        milestone with ``_update_lr(0)`` (its closed form at 0) instead of an initial step.
        ``start``: the lr its first update applies to when that update is chainable (the
        ``initial_lr`` a SequentialLR wrote before stepping its first child); None where the
        enclosing node models the current lr (inside a ChainedScheduler). ``chained``: a
        ChainedScheduler's child.
        """
        name = s.name
        if name == CUSTOM:
            raise _unsupported(s, path)
        a, gv = s.args, s.group_values
        plain0 = _plain_step0(s, self.G, path) if indirect and name in _QUIRKY else None
        if name == "ReduceLROnPlateau":
            if inside:
                raise UnsupportedError(f"{path}: ReduceLROnPlateau cannot be composed (torch refuses it too)")
            return n.Plateau(mode=a["mode"], factor=float(a["factor"]), patience=int(a["patience"]),
                             threshold=float(a["threshold"]), threshold_mode=a["threshold_mode"],
                             cooldown=int(a["cooldown"]), min_lr=float(gv["min_lrs"][g]), eps=float(a["eps"]))
        if name == "SequentialLR":
            ms = [int(m) - reach for m in a["milestones"]]
            # nested, it runs ``reach`` steps ahead of its parent: children whose milestone falls
            # before step 0 are over before the plan starts (the next one was stepped plainly)
            drop = sum(1 for m in ms if m < 0)
            scheds = list(s.children)[drop:]
            ms = ms[drop:]
            first = bisect.bisect_right(ms, 0)
            # its constructor writes initial_lr into the group before its first child's first step
            # (a SequentialLR nested first in another one is re-stepped from the outer one's value)
            begin = start if start is not None else self.initial[g]
            kids = []
            for i, ch in enumerate(scheds):
                where = f"{path}._schedulers[{i + drop}]"
                restarted = i > 0 and (i != first or ms[i - 1] == 0)
                if restarted and ch.name in ("SequentialLR", "ChainedScheduler"):
                    raise UnsupportedError(
                        f"{where}: torch cannot restart a {ch.name} at a "
                        "SequentialLR milestone (it raises NotImplementedError when the milestone is "
                        "reached); put it first or flatten the composition")
                if i == first and not restarted:
                    kids.append(self.node(ch, g, where, True, reach + 1, reach > 0, start=begin))
                else:
                    kids.append(self.node(ch, g, where, True, restarted=restarted))
            return n.Sequential(tuple(kids), tuple(ms))
        if name == "ChainedScheduler":
            kids = [self.node(ch, g, f"{path}._schedulers[{i}]", True, reach, reach > 0, chained=True)
                    for i, ch in enumerate(s.children)]
            # its children update whatever the lr is; the first update applies to ``start``
            return self._scaled(n.Chain(tuple(kids), mode="recursive"), start, g, path)
        if inside and a.get("cycle_momentum", False) and name in ("OneCycleLR", "CyclicLR"):
            raise UnsupportedError(f"{path}: a {name} that cycles momentum inside a composite scheduler "
                                   "drives momentum only while it is active; " + _TABLE_HINT)
        nd = self._leaf(s, g, path, name, restarted, inside)
        if plain0 is not None:  # its update at step 0 multiplies the lr by plain0, then chainable
            nd = n.Chain((n.Constant(factor=plain0[g], total_iters=None), nd), mode="recursive")
        if name in ("OneCycleLR", "CyclicLR"):
            # absolute values (max_lr/initial_lr/min_lr from the group, base_lr). In a
            # ChainedScheduler its first value is the one its constructor computed: a CyclicLR
            # from the initial_lr it found, a OneCycleLR from its own max_lr before a later one
            # rewrote the group's
            v0 = gv.get("last_lr")
            if chained and reach == 0 and self.k == 0 and v0 is not None:
                nd = self._first_value(nd, float(v0[g]), g)
            return nd
        own = float(gv["base_lrs"][g])
        if name in ("LambdaLR", "CosineAnnealingWarmRestarts") or (restarted and name != "MultiplicativeLR"):
            # computed from its own base_lrs (a restart is the closed form at 0, then chainable)
            return self._scaled(nd, own, g, path)
        if name == "CosineAnnealingLR" and own != self.base[g]:  # pragma: no cover - the plan base is its own
            raise UnsupportedError(f"{path}: CosineAnnealingLR's base {own!r} differs from the plan's")
        # chainable from the lr it starts from (a ChainedScheduler child: the current lr)
        return self._scaled(nd, start, g, path)

    def _scaled(self, nd: n.Node, want: Optional[float], g: int, path: str) -> n.Node:
        """``nd`` evaluated from base ``want`` instead of the plan's base (``want=None``: as is)."""
        base = self.base[g]
        if want is None or want == base:
            return nd
        if base == 0.0:
            raise UnsupportedError(f"{path}: computes from an lr of {want!r} while the plan's base is 0, "
                                   "which no factor of the base can express; " + _TABLE_HINT)
        c = n.Constant(factor=want / base, total_iters=None)
        if isinstance(nd, (n.Lambda, n.WarmRestarts)):  # closed forms in torch too: a scaled base
            return n.Chain((c, nd), mode="nested")
        # chainable in torch (also after a restart, and inside a ChainedScheduler): the factor
        # scales the value once, at step 0, and the node's own updates follow
        return n.Chain((c, nd), mode="recursive")

    def _first_value(self, nd: n.Node, v0: float, g: int) -> n.Node:
        """``nd`` with its value at step 0 replaced by ``v0`` (a reset; the identity afterwards)."""
        from ..ir import semantics

        base = self.base[g]
        now = float(semantics.evaluate(nd, np.zeros(1, dtype=np.int64), np.array([base]))[0, 0])
        if abs(now - v0) <= _TOL * max(abs(v0), abs(base)) or base == 0.0:
            return nd
        return n.Chain((nd, n.Sequential((n.Constant(factor=v0 / base, total_iters=None),), ())), mode="recursive")

    def _leaf(self, s: SchedulerCall, g: int, path: str, name: str, restarted: bool, inside: bool) -> n.Node:
        """The node of one leaf scheduler, relative to the base it computes from."""
        a, gv = s.args, s.group_values
        if name == "LambdaLR":
            fn = a["lr_lambda"][g]
            return n.Lambda(fn=fn, label=getattr(fn, "__name__", "lambda"))
        if name == "MultiplicativeLR":
            fn = a["lr_lambda"][g]
            return n.Multiplicative(fn=fn, label=getattr(fn, "__name__", "multiplicative"))
        if name == "StepLR":
            return n.Step(step_size=int(a["step_size"]), gamma=float(a["gamma"]))
        if name == "MultiStepLR":
            return n.MultiStep(milestones=tuple(sorted(int(m) for m in a["milestones"])),
                               gamma=float(a["gamma"]))
        if name in ("LinearLR", "PolynomialLR") and restarted and int(a["total_iters"]) == 0:
            raise UnsupportedError(f"{path}: {name}(total_iters=0) restarted at a SequentialLR milestone "
                                   "divides by zero in torch (ZeroDivisionError)")
        if name == "ConstantLR":
            if int(a["total_iters"]) == 0:
                # the initial step applies the factor and nothing undoes it; a milestone restart
                # uses the closed form, which is the base from step 0 on
                return n.Constant(factor=1.0 if restarted else float(a["factor"]), total_iters=None)
            return n.Constant(factor=float(a["factor"]), total_iters=int(a["total_iters"]))
        if name == "LinearLR":
            if int(a["total_iters"]) == 0:
                return n.Constant(factor=float(a["start_factor"]), total_iters=None)
            return n.Linear(start_factor=float(a["start_factor"]), end_factor=float(a["end_factor"]),
                            total_iters=int(a["total_iters"]))
        if name == "ExponentialLR":
            return n.Exponential(gamma=float(a["gamma"]))
        if name == "PolynomialLR":
            if int(a["total_iters"]) == 0:
                return n.Constant(factor=1.0, total_iters=None)
            return n.Polynomial(total_iters=int(a["total_iters"]), power=float(a["power"]))
        if name == "CosineAnnealingLR":
            # torch steps it chainably; past T_max that drifts from the closed form by more than
            # 1e-12 (1 - cos(pi/T_max) cancels), so keep torch's arithmetic: a one-child chain
            return n.Chain((n.CosineAnnealing(T_max=int(a["T_max"]), eta_min=float(a["eta_min"])),), mode="recursive")
        if name == "CosineAnnealingWarmRestarts":
            return n.WarmRestarts(T_0=int(a["T_0"]), T_mult=int(a["T_mult"]), eta_min=float(a["eta_min"]))
        if name == "CyclicLR":
            if a["scale_fn"] is not None:
                raise UnsupportedError(f"{path}: CyclicLR with a custom scale_fn has no IR form; " + _TABLE_HINT)
            up, down = _cyclic_steps(s)
            return n.Cyclic(high=float(gv["max_lrs"][g]), low=float(gv["base_lrs"][g]), step_size_up=up,
                            step_size_down=down, mode=a["mode"], gamma=float(a["gamma"]))
        if name == "OneCycleLR":
            p = _one_cycle_params(s, g)
            # alone: the plan's base is max_lr; inside a composite: absolute, and torch reads
            # max_lr/initial_lr/min_lr from the group at every step (the OneCycleLR built last)
            mx = None if not inside else float(gv["max_lr"][g])
            return n.OneCycle(max_lr=mx, **p)
        raise UnsupportedError(f"{path}: {name} has no torch record mapping")  # pragma: no cover

    def momentum(self, s: SchedulerCall, g: int) -> Optional[Tuple[str, float, n.Node]]:
        """(field, base, node) of the momentum wave a standalone OneCycle/CyclicLR drives."""
        name, a, gv = s.name, s.args, s.group_values
        if name not in ("OneCycleLR", "CyclicLR") or not a.get("cycle_momentum", False):
            return None
        f = _momentum_field(s)
        if name == "OneCycleLR":
            p = _one_cycle_params(s, g)
            for k in ("div_factor", "final_div_factor"):
                p.pop(k)
            nd: n.Node = n.OneCycleMomentum(base_momentum=float(gv["base_momentum"][g]),
                                            max_momentum=float(gv["max_momentum"][g]), **p)
            return f, float(gv["max_momentum"][g]), nd
        up, down = _cyclic_steps(s)
        hi = float(gv["max_momentums"][g])
        return f, hi, n.Cyclic(high=hi, low=float(gv["base_momentums"][g]), step_size_up=up,
                               step_size_down=down, mode=a["mode"], gamma=float(a["gamma"]), inverted=True)


def _steps_done(s: SchedulerCall) -> int:
    if s.name == "ChainedScheduler":
        ks = {_steps_done(ch) for ch in s.children}
        if len(ks) != 1:
            raise UnsupportedError("ChainedScheduler: its schedulers have been stepped different numbers "
                                   f"of times ({sorted(ks)}); " + _TABLE_HINT)
        return ks.pop()
    return int(s.step)


def _shift(nd: n.Node, k: int) -> n.Node:
    if k == 0:
        return nd
    if isinstance(nd, n.Multiplicative):  # continues from the current value: only the factors move
        return n.Multiplicative(fn=_OffsetFn(nd.fn, k), label=nd.label)
    return n.Shift(nd, offset=k)


def _share(nodes: List[n.Node]) -> List[n.Node]:
    """Reuse one node object for equal per-group nodes (so plans batch them)."""
    out: List[n.Node] = []
    for nd in nodes:
        for prev in out:
            try:
                same = prev == nd
            except Exception:
                same = False
            if same:
                nd = prev
                break
        out.append(nd)
    return out


def from_torch(scheduler: Any, *, fields: Optional[Sequence[str]] = None,
               steps_per_epoch: Optional[int] = None) -> Plan:
    """Read a live torch scheduler into a Plan of what its optimizer sees from now on.

    Row 0 is the value the param groups hold now; a scheduler already stepped k times (or
    built with ``last_epoch``/``load_state_dict``) becomes ``Shift(node, k)``. ``fields``
    (default: every scalar hyper-parameter of the groups, ``lr`` first) picks the fields;
    those the scheduler does not drive are constants. Raises UnsupportedError for what has
    no exact IR form (custom subclasses, custom ``scale_fn``, an lr changed outside the
    scheduler); :func:`sample_torch` tabulates those.
    ``steps_per_epoch=L``: the scheduler is stepped once per epoch of L optimizer updates
    (torchvision's classification reference); the plan is on the update axis (``Plan.per_epoch``).
    """
    from .._frameworks import detect

    if detect(scheduler) != "torch":
        raise SpecError("scheduler", "must be a live torch.optim.lr_scheduler scheduler (for an MMEngine one "
                        "use bridge.from_mmengine, for OneFlow bridge.from_oneflow)", type(scheduler).__name__)
    plan = import_plan(scheduler, _torch().optim.lr_scheduler, fields)
    return plan if steps_per_epoch is None else plan.per_epoch(steps_per_epoch)


def _leaves(s: SchedulerCall) -> List[SchedulerCall]:
    if s.name in ("SequentialLR", "ChainedScheduler"):
        return [x for ch in s.children for x in _leaves(ch)]
    return [s]


def _composite_bases(s: SchedulerCall, initial: List[float]) -> List[float]:
    """The plan's lr base per group for a SequentialLR / ChainedScheduler.

    ``initial_lr`` as it is now, unless the composition holds a CosineAnnealingLR: its
    chainable restart adds ``(base_lr - eta_min)(1 - cos(pi/T_max))/2`` with the base it was
    built with, which only the plan's base can carry; then that base (every
    CosineAnnealingLR of the composition must have been built with the same one).
    """
    out = []
    cos = [x for x in _leaves(s) if x.name == "CosineAnnealingLR"]
    for g, b in enumerate(initial):
        own = sorted({float(x.group_values["base_lrs"][g]) for x in cos})
        if len(own) > 1:
            raise UnsupportedError(
                f"param_groups[{g}]: the CosineAnnealingLRs of this composition were built with different "
                f"base lrs {own} (a OneCycleLR built between them rewrote initial_lr); a plan has one base "
                "per group for them; " + _TABLE_HINT)
        out.append(own[0] if own else b)
    return out


def _as_built(nd: n.Node, base: float, now: float, name: str, rtol: float) -> n.Node:
    """``nd`` starting from the lr the group holds right after construction (``now``).

    torch's value at step 0 is whatever the constructors left in the group, in the order
    they ran: a ChainedScheduler's children (a SequentialLR resets the lr to initial_lr, a
    CyclicLR starts from the initial_lr it finds), a scheduler built on an optimizer whose lr
    was changed. Later steps update that value. When ``nd``'s own step 0 differs, a reset at
    step 0 (``sequential[constant(factor=now/base)]``, the identity afterwards) is chained
    after it.
    """
    from ..ir import semantics

    v0 = float(semantics.evaluate(nd, np.zeros(1, dtype=np.int64), np.array([base]))[0, 0])
    if abs(v0 - now) <= rtol * max(abs(now), abs(base)):
        return nd
    if base == 0.0:
        return nd  # nothing scales a zero base: _check_now reports it
    reset = n.Sequential((n.Constant(factor=now / base, total_iters=None),), ())
    if name == "ChainedScheduler" and isinstance(nd, n.Chain) and nd.mode == "recursive":
        return n.Chain(nd.schedules + (reset,), mode="recursive")
    return n.Chain((nd, reset), mode="recursive")


def import_plan(scheduler: Any, lrs: Any, fields: Optional[Sequence[str]], *, check: bool = True) -> Plan:
    """:func:`from_torch`'s body for a scheduler whose classes come from ``lrs``
    (``torch.optim.lr_scheduler``): read it into its record, then map the record."""
    opt = getattr(scheduler, "optimizer", None)
    if not isinstance(scheduler, lrs.LRScheduler) or opt is None:
        raise SpecError("scheduler", "must be a torch.optim.lr_scheduler scheduler", type(scheduler).__name__)
    if not _cls(scheduler, lrs):
        raise _unsupported_class(scheduler, "scheduler")
    return import_record(read_torch(scheduler, lrs), opt.param_groups, fields, check=check)


def _lr_bases(rec: SchedulerCall, groups: Sequence[Any], initial: List[float], k: int) -> List[float]:
    """The plan's lr base per group: what the scheduler computes from."""
    name = rec.name
    if name == "ReduceLROnPlateau" or (name == "MultiplicativeLR" and k > 0):
        return [float(grp["lr"]) for grp in groups]
    if name == "OneCycleLR":
        return [float(grp["max_lr"]) for grp in groups]
    if name in ("SequentialLR", "ChainedScheduler"):
        return _composite_bases(rec, initial)
    # CyclicLR: its base_lr; the others: initial_lr when they were built
    return [float(b) for b in rec.group_values["base_lrs"]]


def _driven(rec: SchedulerCall, groups: Sequence[Any], check: bool, rtol: float) -> Dict[str, Tuple[List[float],
                                                                                               List[n.Node]]]:
    """``{field: (bases, per-group nodes)}`` for lr and the momentum wave the scheduler drives."""
    G, k, plateau = len(groups), _steps_done(rec), rec.name == "ReduceLROnPlateau"
    if k < 0:
        raise SpecError("scheduler.last_epoch", "must be >= 0 after construction", k)
    if plateau and not rec.args["fresh"]:
        raise UnsupportedError(
            "ReduceLROnPlateau: it has already seen metrics (best, bad-epoch and cooldown counters are "
            "not at their start), which a plateau node cannot carry; import it before the first step()")
    imp = _Import(G)
    imp.initial = [float(read_field(grp, "initial_lr", grp["lr"])) for grp in groups]
    imp.k = k
    imp.base = lr_bases = _lr_bases(rec, groups, imp.initial, k)
    lr_nodes = [imp.node(rec, g, "scheduler", False) for g in range(G)]
    if check and k == 0 and not plateau:
        lr_nodes = [_as_built(nd, b, float(grp["lr"]), rec.name, rtol)
                    for nd, b, grp in zip(lr_nodes, lr_bases, groups)]
    lr_nodes = _share(lr_nodes if plateau else [_shift(nd, k) for nd in _share(lr_nodes)])
    driven = {"lr": (lr_bases, lr_nodes)}
    mom = [imp.momentum(rec, g) for g in range(G)]
    if mom[0] is not None:
        driven[mom[0][0]] = ([m[1] for m in mom], _share([_shift(m[2], k) for m in mom]))  # type: ignore[index]
    return driven


def _field_names(groups: Sequence[Any], fields: Optional[Sequence[str]], driven: Sequence[str]) -> List[str]:
    names = list(fields) if fields is not None else _group_fields(groups[0])
    for f in driven:
        if f not in names and (fields is None or f == "lr"):
            names.insert(0 if f == "lr" else len(names), f)
    return names


def _plan_group(g: int, grp: Any, names: Sequence[str], driven: Dict[str, Tuple[List[float], List[n.Node]]],
                strict: bool) -> Group:
    fs: Dict[str, Field] = {}
    for f in names:
        if f in driven:
            fs[f] = Field(driven[f][0][g], driven[f][1][g])
        elif has_field(grp, f):
            fs[f] = Field(float(read_field(grp, f)))
        elif strict:
            raise SpecError(f"param_groups[{g}].{f}", "no such field in the param group (it has: "
                            + ", ".join(_group_fields(grp)) + ")", f, show_value=False)
    return Group(fs)


def import_record(rec: SchedulerCall, groups: Sequence[Any], fields: Optional[Sequence[str]], *,
                  check: bool = True, rtol: float = _TOL, source: Optional[str] = None) -> Plan:
    """The plan of a torch record (:func:`read_torch`, or an expression's record as torch's
    constructors would store it) on ``groups``, the param groups as they are now.
    ``check=False`` takes the schedule as constructed, without matching step 0 to (or checking
    it against) the values the groups hold (an expression's groups hold none). ``rtol``: how
    close step 0 must be to what the groups hold (relative to the value or the base; float64
    frameworks: 1e-12; MindSpore's float32 schedulers read through this table pass more).
    ``source``: the plan's ``source`` (default ``"torch <class>"``)."""
    if rec.name == CUSTOM:
        raise _unsupported(rec, "scheduler")
    driven = _driven(rec, groups, check, rtol)
    names = _field_names(groups, fields, list(driven))
    plan = Plan(tuple(_plan_group(g, grp, names, driven, fields is not None) for g, grp in enumerate(groups)),
                source=source or f"torch {rec.name}")
    if check:
        _check_now(plan, groups, [f for f in driven if f in names], rec.name, _steps_done(rec), rtol)
    return plan


def _check_now(plan: Plan, groups: Any, driven: List[str], name: str, k: int, rtol: float) -> None:
    """Row 0 of the plan must be what the groups hold now."""
    for f in driven:
        try:
            row = plan.value(0, f)
        except UnsupportedError:  # plateau without metrics: its step 0 is the base by construction
            continue
        for g, grp in enumerate(groups):
            have = float(read_field(grp, f))
            base = abs(plan.groups[g].fields[f].base)
            if abs(row[g] - have) > rtol * max(abs(have), base):
                raise UnsupportedError(
                    f"param_groups[{g}].{f} is {have!r} but {name} (stepped {k} times) computes "
                    f"{float(row[g])!r} from its own state: the value was changed outside the scheduler "
                    "(or a chainable scheduler started from a value other than its initial_lr), and a "
                    "closed-form plan cannot carry that; " + _TABLE_HINT)


# ---------------------------------------------------------------------------
# lowering
# ---------------------------------------------------------------------------

_NATIVE_LEAVES = (n.Step, n.MultiStep, n.Constant, n.Linear, n.Exponential, n.Polynomial,
                  n.CosineAnnealing, n.WarmRestarts, n.Lambda, n.Multiplicative)


def _native_ok(nd: n.Node, top: bool) -> bool:
    """Does ``nd`` have an exact native twin (recursively) that torch accepts and runs?

    torch refuses ``ConstantLR`` factors outside [0, 1] and divides by a factor of 0 when
    ``total_iters`` is reached; ``LinearLR`` needs ``0 < start_factor <= 1`` and
    ``0 <= end_factor <= 1``. ``ConstantLR(total_iters=0)`` keeps its factor in torch while the
    node's closed form is the base. Those plans get the PlanScheduler instead.
    """
    if isinstance(nd, n.Constant):
        return nd.total_iters is not None and nd.total_iters > 0 and 0.0 < nd.factor <= 1.0
    if isinstance(nd, n.Linear):
        return 0.0 < nd.start_factor <= 1.0 and 0.0 <= nd.end_factor <= 1.0
    if isinstance(nd, n.Polynomial):
        return nd.end_value == 0.0 and not nd.cycle
    if isinstance(nd, n.CosineAnnealing):
        return nd.eta_min_ratio is None
    if isinstance(nd, n.WarmRestarts):
        return nd.decay_rate == 1.0 and nd.restart_limit is None and not nd.float_log_cycles
    if isinstance(nd, _NATIVE_LEAVES):
        return True
    if isinstance(nd, (n.OneCycle, n.Cyclic)):
        return top and not (isinstance(nd, n.Cyclic) and nd.inverted)
    if isinstance(nd, n.Plateau):
        return top and nd.metrics is None
    if isinstance(nd, n.Chain) and len(nd.schedules) == 1:
        return nd.mode == "recursive" and _native_ok(nd.schedules[0], top)
    if isinstance(nd, n.Sequential):
        # nested composites inside a SequentialLR step out of line in torch: leaves only
        return all(nd.rescale or ()) and all(_leafish(ch) and _native_ok(ch, False) for ch in nd.schedules)
    if isinstance(nd, n.Chain):
        return nd.mode == "recursive" and top and all(
            _native_ok(ch, False) and (_leafish(ch) or isinstance(ch, n.Sequential)) for ch in nd.schedules)
    return False


def _leafish(nd: n.Node) -> bool:
    if isinstance(nd, n.Chain) and len(nd.schedules) == 1:
        return _leafish(nd.schedules[0])
    return not isinstance(nd, (n.Sequential, n.Chain))


def _same_shape(nodes: List[n.Node]) -> bool:
    """Per-group nodes that one native scheduler can express (callables/max_lr may differ)."""
    a = nodes[0]
    for b in nodes[1:]:
        if type(a) is not type(b):
            return False
        if isinstance(a, (n.Lambda, n.Multiplicative)):
            continue
        if isinstance(a, n.OneCycle):
            if a.to_dict() | {"max_lr": None} != b.to_dict() | {"max_lr": None}:
                return False
            continue
        if isinstance(a, n.Cyclic):
            da, db = a.to_dict(), b.to_dict()
            for kk in ("high", "low"):
                da.pop(kk)
                db.pop(kk)
            if da != db:
                return False
            continue
        if isinstance(a, n.Plateau):
            da, db = a.to_dict(), b.to_dict()
            da.pop("min_lr")
            db.pop("min_lr")
            if da != db:
                return False
            continue
        if isinstance(a, (n.Sequential, n.Chain)):
            if len(a.schedules) != len(b.schedules):  # type: ignore[attr-defined]
                return False
            if isinstance(a, n.Sequential) and a.milestones != b.milestones:  # type: ignore[attr-defined]
                return False
            if not all(_same_shape([x, y]) for x, y in zip(a.schedules, b.schedules)):  # type: ignore[attr-defined]
                return False
            continue
        if a != b:
            return False
    return True


#: IR leaf -> its torch class; the constructor parameters are :data:`LEAF_ARGS`' (MultiStepLR:
#: milestones, gamma), each read from the node's field of the same name
_NATIVE_CLASS: Dict[type, str] = {
    n.Step: "StepLR", n.MultiStep: "MultiStepLR", n.Constant: "ConstantLR", n.Linear: "LinearLR",
    n.Exponential: "ExponentialLR", n.Polynomial: "PolynomialLR", n.CosineAnnealing: "CosineAnnealingLR",
    n.WarmRestarts: "CosineAnnealingWarmRestarts",
}


def _call(name: str, args: Dict[str, Any], kids: Sequence[SchedulerCall] = ()) -> SchedulerCall:
    return SchedulerCall("torch", name, args, tuple(kids))


def _momentum_args(mom: Optional[List[n.Node]], lo: str, hi: str, defaults: Tuple[float, float]) -> Dict[str, Any]:
    if mom is None:
        return {"cycle_momentum": False, "base_momentum": defaults[0], "max_momentum": defaults[1]}
    return {"cycle_momentum": True, "base_momentum": [getattr(m, lo) for m in mom],
            "max_momentum": [getattr(m, hi) for m in mom]}


def _one_cycle_call(nodes: List[n.Node], bases: Sequence[float], mom: Optional[List[n.Node]]) -> SchedulerCall:
    a: n.OneCycle = nodes[0]  # type: ignore[assignment]
    mx = [b if nd.max_lr is None else nd.max_lr for nd, b in zip(nodes, bases)]  # type: ignore[attr-defined]
    return _call("OneCycleLR", {
        "max_lr": mx, "total_steps": a.total_steps, "epochs": None, "steps_per_epoch": None,
        "pct_start": float(a.pct_start), "anneal_strategy": a.anneal,
        **_momentum_args(mom, "base_momentum", "max_momentum", (0.85, 0.95)),
        "div_factor": a.div_factor, "final_div_factor": a.final_div_factor, "three_phase": a.three_phase})


def _cyclic_call(nodes: List[n.Node], bases: Sequence[float], mom: Optional[List[n.Node]]) -> SchedulerCall:
    a: n.Cyclic = nodes[0]  # type: ignore[assignment]
    low = [b if nd.low is None else nd.low for nd, b in zip(nodes, bases)]  # type: ignore[attr-defined]
    return _call("CyclicLR", {
        "base_lr": low, "max_lr": [nd.high for nd in nodes], "step_size_up": a.step_size_up,  # type: ignore[attr-defined]
        "step_size_down": a.step_size_down, "mode": a.mode, "gamma": a.gamma, "scale_fn": None,
        "scale_mode": "cycle", **_momentum_args(mom, "low", "high", (0.8, 0.9))})


def _plateau_call(nodes: List[n.Node]) -> SchedulerCall:
    a: n.Plateau = nodes[0]  # type: ignore[assignment]
    return _call("ReduceLROnPlateau", {
        "mode": a.mode, "factor": a.factor, "patience": a.patience, "threshold": a.threshold,
        "threshold_mode": a.threshold_mode, "cooldown": a.cooldown,
        "min_lr": [nd.min_lr for nd in nodes], "eps": a.eps})  # type: ignore[attr-defined]


def _record_of_nodes(nodes: List[n.Node], bases: Sequence[float], mom: Optional[List[n.Node]]) -> SchedulerCall:
    """The torch call (as written) of the native twin of the per-group ``nodes`` (checked by
    :func:`_native_plan`); ``mom``: the momentum wave a OneCycleLR / CyclicLR drives."""
    a = nodes[0]
    if isinstance(a, n.Chain) and len(a.schedules) == 1:  # torch steps every leaf chainably anyway
        return _record_of_nodes([nd.schedules[0] for nd in nodes], bases, mom)  # type: ignore[attr-defined]
    if isinstance(a, (n.Sequential, n.Chain)):
        kids = [_record_of_nodes([nd.schedules[i] for nd in nodes], bases, None)  # type: ignore[attr-defined]
                for i in range(len(a.schedules))]
        if isinstance(a, n.Chain):
            return _call("ChainedScheduler", {}, kids)
        return _call("SequentialLR", {"milestones": list(a.milestones)}, kids)
    if isinstance(a, (n.Lambda, n.Multiplicative)):
        name = "LambdaLR" if isinstance(a, n.Lambda) else "MultiplicativeLR"
        return _call(name, {"lr_lambda": [nd.fn for nd in nodes]})  # type: ignore[attr-defined]
    if isinstance(a, n.OneCycle):
        return _one_cycle_call(nodes, bases, mom)
    if isinstance(a, n.Cyclic):
        return _cyclic_call(nodes, bases, mom)
    if isinstance(a, n.Plateau):
        return _plateau_call(nodes)
    name = _NATIVE_CLASS[type(a)]
    if name == "MultiStepLR":
        return _call(name, {"milestones": list(a.milestones), "gamma": a.gamma})  # type: ignore[attr-defined]
    return _call(name, {p: getattr(a, p) for p in LEAF_ARGS[name]})


def record_of(plan: Plan, *, adam: bool = False) -> Optional[SchedulerCall]:
    """The torch record of the native scheduler that is an exact twin of ``plan``, or None
    (then :func:`to_torch` builds a PlanScheduler).

    The record is the call as written, like an expression's (:func:`bridge.spec.read_expression`):
    every constructor parameter after the optimizer bound (defaults filled in), the composed
    schedulers as ``children``. :func:`construct` builds it (:func:`to_torch`), ``_source.write_call``
    writes it (:func:`native_source`). ``adam``: the optimizer keeps momentum in ``betas``.
    """
    native = _native_plan(plan, "betas[0]" if adam else "momentum")
    if native is None:
        return None
    bases = [g.fields["lr"].base for g in plan.groups]
    return _record_of_nodes(native[0], bases, native[1])


def construct(rec: SchedulerCall, optimizer: Any, classes: Any) -> Any:
    """The scheduler a torch record (as written) names, built on ``optimizer`` from ``classes``
    (``torch.optim.lr_scheduler``, or a ``_source.Recorder`` to write it as source); children
    first, in order, as Python runs the expression."""
    kids = [construct(ch, optimizer, classes) for ch in rec.children]
    cls = getattr(classes, rec.name)
    if rec.name == "ChainedScheduler":
        return cls(kids, optimizer=optimizer)
    if rec.name == "SequentialLR":
        return cls(optimizer, kids, **rec.args)
    return cls(optimizer, **rec.args)


def _momentum_twin(lr: n.Node, m: n.Node) -> bool:
    """Is ``m`` the momentum wave the native lr scheduler of ``lr`` drives?"""
    if isinstance(lr, n.OneCycle) and isinstance(m, n.OneCycleMomentum):
        return (lr.total_steps, lr.pct_start, lr.anneal, lr.three_phase) == \
            (m.total_steps, m.pct_start, m.anneal, m.three_phase)
    if isinstance(lr, n.Cyclic) and isinstance(m, n.Cyclic) and m.inverted and m.low is not None:
        return (lr.step_size_up, lr.step_size_down, lr.mode, lr.gamma) == \
            (m.step_size_up, m.step_size_down, m.mode, m.gamma)
    return False


def _native_plan(plan: Plan, want: str) -> Optional[Tuple[List[n.Node], Optional[List[n.Node]]]]:
    """The per-group lr nodes (and the ``want`` field's momentum wave, or None) when a native
    scheduler reproduces the plan, else None."""
    scheduled = [f for f in plan.fields if any(g.fields.get(f) is not None and g.fields[f].schedule is not None
                                               for g in plan.groups)]
    if "lr" not in scheduled or any(g.fields.get("lr") is None or g.fields["lr"].schedule is None
                                    for g in plan.groups):
        return None
    lr_nodes: List[n.Node] = [g.fields["lr"].schedule for g in plan.groups]  # type: ignore[misc]
    if not _native_ok(lr_nodes[0], True) or not _same_shape(lr_nodes):
        return None
    others = [f for f in scheduled if f != "lr"]
    if not others:  # a native OneCycleLR / CyclicLR is built with cycle_momentum=False
        return lr_nodes, None
    mom = _momentum_wave(plan, lr_nodes, want) if others == [want] else None
    return None if mom is None else (lr_nodes, mom)


def _momentum_wave(plan: Plan, lr_nodes: List[n.Node], want: str) -> Optional[List[n.Node]]:
    """The per-group ``want`` nodes when they are the momentum wave the native OneCycleLR /
    CyclicLR of ``lr_nodes`` drives (from its own bounds), else None."""
    if not isinstance(lr_nodes[0], (n.OneCycle, n.Cyclic)):
        return None
    ms = [g.fields[want].schedule if want in g.fields else None for g in plan.groups]
    if any(m is None or not _momentum_twin(lr, m) for lr, m in zip(lr_nodes, ms)):
        return None
    if isinstance(lr_nodes[0], n.OneCycle) and any(
            g.fields[want].base != m.max_momentum for g, m in zip(plan.groups, ms)):  # type: ignore[union-attr]
        return None
    return ms  # type: ignore[return-value]


def _check_groups(plan: Plan, optimizer: Any) -> None:
    _driver.check_groups(plan, optimizer.param_groups)


def to_torch(plan: Plan, optimizer: Any, *, prefer_native: bool = True, last_epoch: int = -1) -> Any:
    """Lower ``plan`` onto ``optimizer``: a native scheduler when one is an exact twin, else PlanScheduler.

    Every group field is first set to the plan's base (constants stay there). Native is
    chosen when only ``lr`` is scheduled (plus the momentum/beta1 wave of OneCycle/Cyclic)
    and its node is a leaf with a torch twin or a SequentialLR/ChainedScheduler of those.
    """
    torch = _torch()
    lrs = torch.optim.lr_scheduler
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise SpecError("optimizer", "must be a torch.optim.Optimizer", type(optimizer).__name__)
    _check_groups(plan, optimizer)
    rec = record_of(plan, adam="betas" in optimizer.defaults) if prefer_native and last_epoch == -1 else None
    if rec is None:
        return _make_plan_scheduler()(optimizer, plan, last_epoch=last_epoch)
    _driver.write_bases(plan, optimizer.param_groups)
    return construct(rec, optimizer, lrs)


def native_source(plan: Plan, optimizer: str = "optimizer", *, adam: bool = False) -> Optional[str]:
    """Python source building the native torch scheduler :func:`to_torch` would choose for ``plan``
    on an optimizer named ``optimizer``; ``None`` when the plan needs PlanScheduler (or a callable).
    ``adam``: the optimizer keeps momentum in ``betas`` (Adam family)."""
    if not isinstance(plan, Plan):
        raise SpecError("plan", "must be a bridge.Plan", type(plan).__name__)
    rec = record_of(plan, adam=adam)
    if rec is None or any(c.name in ("LambdaLR", "MultiplicativeLR") for c in rec.walk()):
        return None
    lines = ["from torch.optim import lr_scheduler", "", *base_value_lines(plan, optimizer, "bridge.to_torch")]
    lines.append(f"scheduler = {write_call(rec, construct, optimizer)}")
    return "\n".join(lines) + "\n"


def _plan_scheduler_base() -> Any:
    return _torch().optim.lr_scheduler.LRScheduler


@_driver.built_once(__name__)
def _make_plan_scheduler() -> type:
    base = _plan_scheduler_base()

    class PlanScheduler(base):  # type: ignore[misc, valid-type]
        """A torch LRScheduler that drives every field of a Plan (lr, momentum, betas[0], ...).

        The torch adapter of :class:`bridge.frameworks._driver.Driver`: values are
        ``plan.values``' exactly, read in cached chunks (``step()`` is O(1) amortised whatever
        the plan's depth); ``last_epoch`` follows torch: the value in effect is
        ``plan.value(last_epoch)``. ``state_dict()``/``load_state_dict()`` resume exactly, in
        the format every plan-driven scheduler shares; a state saved by another plan's
        scheduler (or by a native scheduler) is refused with a :class:`~bridge.SpecError`
        naming what differs.

        Past the end of the plan (a table of N values, a one-cycle's ``total_steps``): the
        standard loop (read, ``optimizer.step()``, ``scheduler.step()``) runs to the end, the
        N-th ``step()`` included; from step N on every field holds its value at step N-1,
        and the first ``step()`` to step N+1 (which means update N ran beyond the plan)
        warns once with :class:`~bridge.PlanEndWarning`.
        """

        last_epoch: int
        _step_count: int

        def __init__(self, optimizer: Any, plan: Plan, last_epoch: int = -1, chunk: int = _driver.CHUNK):
            _check_groups(plan, optimizer)
            self.plan = plan
            self._drv = _driver.Driver(plan, name="PlanScheduler", lower="bridge.to_torch", chunk=chunk)
            _driver.write_bases(plan, optimizer.param_groups)
            super().__init__(optimizer, last_epoch)
            self.base_lrs = [g.fields["lr"].base if "lr" in g.fields else float(pg["lr"])
                             for g, pg in zip(plan.groups, optimizer.param_groups)]

        def get_lr(self) -> List[float]:
            if "lr" not in self._drv.fields:
                return [float(g["lr"]) for g in self.optimizer.param_groups]
            return list(self._drv.row("lr", self.last_epoch))

        def step(self, epoch: Optional[int] = None) -> None:
            self._step_count += 1
            t = self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
            groups = self.optimizer.param_groups
            lr_row = self._drv.write(groups, t)
            self._last_lr = list(lr_row) if lr_row is not None else [float(g["lr"]) for g in groups]

        def state_dict(self) -> Dict[str, Any]:
            return self._drv.state(self.last_epoch, last_epoch=self.last_epoch, _step_count=self._step_count,
                                   _last_lr=list(self._last_lr), base_lrs=list(self.base_lrs))

        def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
            t = self._drv.load(state_dict)
            self.last_epoch = t
            sc = state_dict.get("_step_count")
            self._step_count = int(sc) if isinstance(sc, int) and not isinstance(sc, bool) else t + 1
            groups = self.optimizer.param_groups
            self._drv.write(groups, t, self._drv.fields, warn=False)
            self._last_lr = [float(g["lr"]) for g in groups]

    return PlanScheduler


# PlanScheduler subclasses torch's LRScheduler, so it is created on first use
__getattr__ = _driver.lazy_getattr(__name__, PlanScheduler=_make_plan_scheduler)
