"""Capture: from a real training script to a plan, with no edits to the script.

``with bridge.capture() as cap: ...`` (or ``sched-bridge capture -o plan.json -- SCRIPT ARGS``)
watches every torch optimizer update (a global optimizer step pre-hook) and every scheduler
step the user's code makes (torch ``LRScheduler.step`` and the classes that override it, timm's
``Scheduler.step`` / ``step_update``, pytorch-accelerated's ``StatefulSchedulerBase.step``),
measures the cadence (scheduler steps per optimizer update) and, as soon as it knows enough,
stops the script. The plan is NOT a recording of the run: it is ``from_torch`` / ``from_hf`` /
``from_timm`` / ``from_accelerated`` of the live scheduler, read right before the user first
steps it, put on the optimizer-update axis by the cadence:

    value used at update t = v(offset + per * floor(t / every))

``per`` scheduler steps every ``every`` updates (``every`` = L: once per epoch of L updates;
``per`` = k: k steps per update under gradient accumulation when the script steps its
scheduler every micro-batch). Every lr the script really used before it was stopped is checked
against the plan; a difference (something else changed the lr) is an error, never a plan.
"""

from __future__ import annotations

import functools
import math
import os
import runpy
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .errors import BridgeError, SpecError, UnsupportedError
from .ir import Field, Group, Plan, nodes

__all__ = ["capture", "Capture", "Cadence", "emit_source", "fit_cadence", "optimizer_description", "run_script"]

# HF transformers' LambdaLR lambdas (functools.partial of these) -> get_scheduler name
_HF_LAMBDAS = {
    "_get_linear_schedule_with_warmup_lr_lambda": "linear",
    "_get_cosine_schedule_with_warmup_lr_lambda": "cosine",
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": "cosine_with_restarts",
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda": "polynomial",
    "_get_constant_lambda": "constant",
    "_get_constant_schedule_with_warmup_lr_lambda": "constant_with_warmup",
    "_get_inverse_sqrt_schedule_lr_lambda": "inverse_sqrt",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda": "cosine_warmup_with_min_lr",
    "_get_wsd_scheduler_lambda": "warmup_stable_decay",
}
# callers whose scheduler steps are not the user's (a composite stepping its children, timm's
# plateau stepping its torch ReduceLROnPlateau, a constructor's initial step)
_INTERNAL = ("torch.optim.lr_scheduler", "timm.scheduler", "pytorch_accelerated.schedulers")


class _Enough(BaseException):
    """Raised from a hook to stop the script once the plan is known (a BaseException, so the
    script's ``except Exception`` does not swallow it)."""


@dataclass(frozen=True)
class Cadence:
    """Scheduler steps completed at update t: ``offset + per * floor(t / every)``."""

    offset: int = 0
    per: int = 1
    every: int = 1

    def describe(self) -> str:
        if self.every > 1:
            what = f"{self.per} step{'s' * (self.per > 1)} per epoch of {self.every} updates"
        else:
            what = f"{self.per} step{'s' * (self.per > 1)} per update"
        return what + (f" (+{self.offset} before the first update)" if self.offset else "")

    def steps_at(self, t: int) -> int:
        return self.offset + self.per * (t // self.every)


def fit_cadence(s: Sequence[int], complete: bool = False) -> Optional[Cadence]:
    """The cadence of ``s[t]`` (scheduler steps completed at update t), or None while unknown.

    Known once two periods are seen (the second confirms the first), or, with ``complete``
    (the run ended), from whatever was seen. Irregular steps raise UnsupportedError.
    """
    if not s:
        return None
    o = s[0]
    jumps = [t for t in range(1, len(s)) if s[t] != s[t - 1]]
    if not jumps:
        return Cadence(o, 1, max(len(s), 1)) if complete else None
    L, k = jumps[0], s[jumps[0]] - o
    cad = Cadence(o, k, L)
    if any(s[t] != cad.steps_at(t) for t in range(len(s))):
        raise UnsupportedError(f"capture: irregular scheduler stepping (steps completed at updates 0..{len(s) - 1}: "
                               f"{list(s)[:40]}); only a fixed number of steps per update or per epoch is modelled")
    if len(jumps) >= 2 or complete:
        return cad
    return None


@dataclass
class _Sched:
    obj: Any
    kind: str  # "torch" or "timm"
    key: int  # its optimizer's key
    plan: Optional[Plan] = None  # read before the user's first step
    horizon: Optional[int] = None  # in scheduler steps (torch/HF) or updates (timm, set later)
    steps: int = 0  # user steps so far (timm: step() calls; step_update counted apart)
    updates_calls: int = 0
    per_update: List[int] = field(default_factory=list)  # steps completed at each update
    error: Optional[BaseException] = None  # why it could not be read


@dataclass
class _Opt:
    obj: Any
    names: List[Optional[str]]  # a label per group
    params: List[List[Optional[str]]]  # each group's parameter names (None: not found in a model)
    lrs: List[List[float]] = field(default_factory=list)  # lr of each group at each update


def _key(opt: Any) -> int:
    """The same key for an optimizer and its wrappers (accelerate's AcceleratedOptimizer shares param_groups)."""
    return id(opt.param_groups[0])


def _caller_internal() -> bool:
    name = sys._getframe(2).f_globals.get("__name__", "") or ""
    return name.startswith(_INTERNAL)


class Capture:
    """Observe a training run; ``plan`` / ``report`` once it stopped (see the module docstring).

    ``updates``: the run's length in optimizer updates (the plan's horizon when the scheduler does
    not say it); the run is never taken past it. ``stop``: stop the script as soon as the plan is
    known (default) or let it run to the end (or to ``updates``).
    """

    def __init__(self, updates: Optional[int] = None, *, stop: bool = True, model: Any = None):
        if updates is not None and (not isinstance(updates, int) or updates < 1):
            raise SpecError("updates", "must be a whole number >= 1", updates)
        self.updates, self.stop, self.model = updates, stop, model
        self._opts: Dict[int, _Opt] = {}
        self._scheds: List[_Sched] = []
        self._undo: List[Callable[[], None]] = []
        self.stopped_early = False
        self.stop_reason = ""  # why the script was stopped early
        self._built: List[Any] = []  # every scheduler built under the capture
        self._timm_epochs: Dict[int, Tuple[int, bool, int]] = {}  # id(scheduler) -> create_scheduler_v2's loop
        self._plans: Optional[Dict[int, Tuple[Plan, Cadence, Optional[int]]]] = None
        # optimizer key -> (its groups' values, {id(scheduler): torch record}) taken at the user's first
        # scheduler step on it (every scheduler built on it by then, as its constructors left it)
        self._snap: Dict[int, Tuple[List[Dict[str, Any]], Dict[int, Any]]] = {}
        self._calls: Dict[int, List[int]] = {}  # optimizer key -> the user's scheduler steps, in call order

    # -- hooks -----------------------------------------------------------
    def __enter__(self) -> Capture:
        import importlib

        from ._frameworks import import_framework

        import_framework("torch")
        h = importlib.import_module("torch.optim.optimizer").register_optimizer_step_pre_hook(self._on_update)
        self._undo.append(h.remove)
        lrs = importlib.import_module("torch.optim.lr_scheduler")
        for cls in [getattr(lrs, n) for n in dir(lrs)]:
            if isinstance(cls, type) and issubclass(cls, lrs.LRScheduler):
                for name in ("step", "__init__"):
                    if name in vars(cls):
                        self._wrap(cls, name, "torch")
        self._watch_timm()
        self._watch("pytorch_accelerated.schedulers.scheduler_base", self._patch_accelerated)
        return self

    def _patch_accelerated(self, mod: Any) -> None:
        """pytorch-accelerated's own schedulers: the Trainer calls ``step()`` after every update."""
        self._wrap(mod.StatefulSchedulerBase, "step", "accelerated")
        self._wrap(mod.SchedulerBase, "__init__", "accelerated")

    def _watch(self, name: str, patch: Callable[[Any], None]) -> None:
        """``patch(module)`` now if ``name`` is imported, else right after the script imports it."""
        mod = sys.modules.get(name)
        if mod is not None:
            patch(mod)
            return
        finder = _ImportWatch(name, patch)
        sys.meta_path.insert(0, finder)
        self._undo.append(functools.partial(_unwatch, finder))

    def __exit__(self, et: Any, e: Any, tb: Any) -> bool:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        if et is not None and issubclass(et, _Enough):
            self.stopped_early = True
            return True
        return False

    def _wrap(self, cls: type, name: str, kind: str) -> None:
        orig = vars(cls)[name]
        me = self

        if name == "__init__":  # remember every scheduler built (one never stepped is reported)
            @functools.wraps(orig)
            def init(sched: Any, *a: Any, **k: Any) -> Any:
                out = orig(sched, *a, **k)
                if not any(b is sched for b in me._built):
                    me._built.append(sched)
                return out

            setattr(cls, name, init)
            self._undo.append(lambda: setattr(cls, name, orig))
            return

        @functools.wraps(orig)
        def wrapper(sched: Any, *a: Any, **k: Any) -> Any:
            if not _caller_internal():
                me._on_step(sched, kind, name)
            return orig(sched, *a, **k)

        setattr(cls, name, wrapper)
        self._undo.append(lambda: setattr(cls, name, orig))

    def _watch_timm(self) -> None:
        """Wrap timm's Scheduler.step / step_update (and create_scheduler_v2, whose returned epoch
        count is the length of timm's train.py loop) now if timm is loaded, else when it is imported."""
        def patch(mod: Any) -> None:
            for n in ("step", "step_update", "__init__"):
                self._wrap(mod.Scheduler, n, "timm")

        def patch_factory(mod: Any) -> None:
            orig = mod.create_scheduler_v2
            me = self

            @functools.wraps(orig)
            def create_scheduler_v2(*a: Any, **k: Any) -> Any:
                out = orig(*a, **k)
                import inspect

                b = inspect.signature(orig).bind(*a, **k)
                b.apply_defaults()
                if isinstance(out, tuple) and out[0] is not None:
                    me._timm_epochs[id(out[0])] = (int(out[1]), bool(b.arguments.get("step_on_epochs", True)),
                                                   int(b.arguments.get("updates_per_epoch") or 0))
                return out

            mod.create_scheduler_v2 = create_scheduler_v2
            self._undo.append(lambda: setattr(mod, "create_scheduler_v2", orig))

        self._watch("timm.scheduler.scheduler", patch)
        self._watch("timm.scheduler.scheduler_factory", patch_factory)

    def _find(self, sched: Any) -> Optional[_Sched]:
        return next((s for s in self._scheds if s.obj is sched), None)

    def _on_step(self, sched: Any, kind: str, name: str) -> None:
        s = self._find(sched)
        if s is None:
            k = _key(sched.optimizer)
            s = _Sched(sched, kind, k)
            first = not any(x.key == k for x in self._scheds)
            if kind == "torch" and k not in self._snap:
                self._snapshot(k, sched.optimizer)
            if first:  # a second scheduler on the same optimizer is read from the snapshot (plans())
                try:
                    s.plan, s.horizon = _read(sched, kind)
                except BridgeError as e:  # raised inside the script's call, it could be caught there: stop
                    s.error = e
                    if not self._others_built(sched):  # else it may be one of several stepped together
                        self._scheds.append(s)
                        self.stop_reason = f"{type(sched).__name__} cannot be read"
                        raise _Enough() from None
            # the updates made before its first step saw its initial value (0 steps)
            s.per_update = [0] * len(self._opts[s.key].lrs) if s.key in self._opts else []
            self._scheds.append(s)
        self._calls.setdefault(s.key, []).append([x for x in self._scheds if x.key == s.key].index(s))
        if name == "step_update":
            s.updates_calls += 1
        else:
            s.steps += 1

    def _others_built(self, sched: Any) -> bool:
        k = _key(sched.optimizer)
        return any(b is not sched and _key(b.optimizer) == k for b in self._built)

    def _snapshot(self, k: int, opt: Any) -> None:
        """The torch records of the schedulers built on ``opt`` and its groups' values, as they are
        before the user's first scheduler step on it (what a ChainedScheduler of them would read)."""
        import importlib

        from .frameworks.torch import read_torch

        lrs = importlib.import_module("torch.optim.lr_scheduler")
        recs = {id(b): read_torch(b, lrs) for b in self._built
                if isinstance(b, lrs.LRScheduler) and _key(b.optimizer) == k}
        self._snap[k] = ([{n: v for n, v in g.items() if n != "params"} for g in opt.param_groups], recs)

    def _on_update(self, opt: Any, args: Any, kwargs: Any) -> None:
        k = _key(opt)
        o = self._opts.get(k)
        if o is None:
            ids = _param_names(self.model)
            held = [[ids.get(id(p)) for p in pg["params"]] for pg in opt.param_groups]
            o = self._opts[k] = _Opt(opt, [_group_name([n for n in h if n]) for h in held], held)
        o.lrs.append([float(g["lr"]) for g in opt.param_groups])
        for s in self._scheds:
            if s.key == k:
                s.per_update.append(s.updates_calls if _timm_per_update(s) else s.steps)
        done = len(o.lrs) - 1  # updates completed before this one
        if self.updates is not None and done >= self.updates:
            o.lrs.pop()
            for s in self._scheds:
                if s.key == k:
                    s.per_update.pop()
            self.stop_reason = f"--updates {self.updates} reached"
            raise _Enough()
        if self.stop and self._known():
            self.stop_reason = "the plan was known"
            raise _Enough()

    def _known(self) -> bool:
        """Every stepped scheduler's cadence is known (and the optimizers updated twice)."""
        if not self._scheds or any(len(o.lrs) < 3 for o in self._opts.values()):
            return False
        stepped = {s.key for s in self._scheds}
        if any(_key(b.optimizer) in self._opts and _key(b.optimizer) not in stepped for b in self._built):
            return False  # a scheduler built on an optimizer that updates is not stepped yet (per epoch?)
        try:
            return all(fit_cadence(s.per_update) is not None for s in self._scheds)
        except UnsupportedError:
            return True  # stop now; plan() says why

    # -- results ---------------------------------------------------------
    def plans(self) -> Dict[int, Tuple[Plan, Cadence, Optional[int]]]:
        """{optimizer key: (plan, cadence, horizon in updates)}."""
        if self._plans is None:
            self._plans = {k: self._plan_for(k, o) for k, o in self._opts.items()}
        return self._plans

    @property
    def plan(self) -> Plan:
        ps = self.plans()
        if not ps:
            raise _no_update()
        if len(ps) != 1:
            raise UnsupportedError(f"capture: the script updated {len(ps)} optimizers; Capture.plan is the plan "
                                   "of exactly one (Capture.all_plans has one per optimizer)")
        return next(iter(ps.values()))[0]

    @property
    def all_plans(self) -> List[Plan]:
        """One plan per optimizer, in the order they first updated (a GAN's two optimizers: two plans)."""
        ps = [p for p, _, _ in self.plans().values()]
        if not ps:
            raise _no_update()
        return ps

    @property
    def optimizers(self) -> List[Any]:
        return [o.obj for o in self._opts.values()]

    def _plan_for(self, k: int, o: _Opt) -> Tuple[Plan, Cadence, Optional[int]]:
        mine = [s for s in self._scheds if s.key == k]
        if len(mine) > 1:
            mine = [self._chained(k, mine)]
        for s in mine:
            if s.error is not None:
                raise s.error
        if not mine:
            idle = [b for b in self._built if _key(b.optimizer) == k]
            if idle and self.stopped_early:
                raise SpecError("updates", f"is too small: {type(idle[-1]).__name__} drives this optimizer but the "
                                f"script had not stepped it in its first {len(o.lrs)} updates, so its cadence is "
                                "unknown", self.updates)
            base = Plan(tuple(Group({"lr": Field(lr)}) for lr in o.lrs[0]), source="capture: no scheduler")
            cad, horizon = Cadence(0, 0, 1), self.updates
            plan = base
        else:
            s = mine[0]
            cad = fit_cadence(s.per_update, complete=True) or Cadence()
            plan, horizon = _on_updates(s, cad, self.updates)
            loop = self._timm_epochs.get(id(s.obj))
            if self.updates is None and loop is not None:  # the epochs timm's train.py loops over
                horizon = loop[0] * (cad.every if loop[1] else loop[2])
        plan = _named(plan, o.names)
        plan = Plan(plan.groups, plan.epoch_length, horizon, plan.source)
        _check_seen(plan, o.lrs)
        return plan, cad, horizon

    def _chained(self, k: int, mine: List[_Sched]) -> _Sched:
        """Several torch schedulers stepped together on one optimizer: each ``step()`` updates the lr
        in the order called, which is what a ChainedScheduler of them in that order does."""
        names = ", ".join(type(s.obj).__name__ for s in mine)
        if any(s.kind != "torch" for s in mine):
            raise UnsupportedError(f"capture: {len(mine)} schedulers step the same optimizer ({names}); capture "
                                   "models several only for torch LRSchedulers")
        if any(s.per_update != mine[0].per_update for s in mine):
            raise UnsupportedError(f"capture: {len(mine)} schedulers step the same optimizer ({names}) at different "
                                   "cadences; capture models several stepped together (each once per step of the "
                                   "loop); compose them in one (SequentialLR / ChainedScheduler)")
        calls, m = self._calls.get(k, []), len(mine)
        if any(c != i % m for i, c in enumerate(calls)):
            raise UnsupportedError(f"capture: {m} schedulers step the same optimizer ({names}) in a changing order; "
                                   "capture models them stepped in one fixed order")
        groups, recs = self._snap[k]
        if any(id(s.obj) not in recs for s in mine):
            late = next(s for s in mine if id(s.obj) not in recs)
            raise UnsupportedError(f"capture: {type(late.obj).__name__} was built after the first scheduler step on "
                                   "its optimizer; capture models schedulers built before the loop")
        from .frameworks._record import SchedulerCall
        from .frameworks.torch import import_record

        rec = SchedulerCall("torch", "ChainedScheduler", {}, tuple(recs[id(s.obj)] for s in mine), {}, 0)
        plan = import_record(rec, groups, None, source=f"torch {names} (stepped in this order: a ChainedScheduler)")
        ends = [int(t) for t in (getattr(s.obj, "total_steps", None) for s in mine) if isinstance(t, int)]
        out = _Sched(mine[0].obj, "torch", k, plan, min(ends) if ends else None)
        out.per_update, out.steps = mine[0].per_update, mine[0].steps
        return out

    def report(self) -> str:
        lines = []
        plans = self.plans()
        for i, (k, (plan, cad, horizon)) in enumerate(plans.items()):
            o = self._opts[k]
            mine = [s for s in self._scheds if s.key == k]
            lines.append(f"optimizer{f' {i}' * (len(plans) > 1)}: {type(o.obj).__name__} ({len(plan.groups)} param group"
                         f"{'s' * (len(plan.groups) != 1)}: "
                         + "; ".join(g.name or f"group {i}" for i, g in enumerate(plan.groups)) + ")")
            if mine:
                lines.append(f"scheduler{'s' * (len(mine) > 1)}: " + ", ".join(
                    f"{type(s.obj).__module__}.{type(s.obj).__name__}" for s in mine) + f" -> {plan.source}")
            lines.append("cadence: " + (cad.describe() if mine else "no scheduler (constant lr)"))
            lines.append(f"horizon: {horizon} updates" if horizon else
                         "horizon: unknown (the scheduler does not say it; pass --updates N)")
            seen = len(o.lrs)
            lines.append(f"observed: {seen} update{'s' * (seen != 1)}"
                         + (f" (script stopped early: {self.stop_reason})" if self.stopped_early else ""))
        return "\n".join(lines)


def _no_update() -> SpecError:
    return SpecError("SCRIPT", "made no torch optimizer update (capture watches torch.optim optimizers' step())",
                     None, show_value=False)


def _unwatch(finder: Any) -> None:
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)


class _ImportWatch:
    """A meta-path finder that patches module ``name`` right after it is first imported."""

    def __init__(self, name: str, patch: Callable[[Any], None]):
        self.name, self.patch = name, patch

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader: Any = spec.loader
        patch = self.patch
        exec_module = loader.exec_module

        def run(module: Any) -> None:
            exec_module(module)
            patch(module)

        loader.exec_module = run
        return spec


def _timm_per_update(s: _Sched) -> bool:
    return s.kind == "timm" and not bool(getattr(s.obj, "t_in_epochs", True))


def _read(sched: Any, kind: str) -> Tuple[Plan, Optional[int]]:
    """The plan of a live scheduler in its own steps, and its horizon (steps) where it says it."""
    if kind == "accelerated":
        from .recipes import from_accelerated

        p = from_accelerated(sched)
        return p, p.total_steps
    if kind == "timm":
        from .recipes import from_timm

        p = from_timm(sched, updates_per_epoch=1)
        return p, p.total_steps
    hf = _hf_call(sched)
    if hf is not None:
        from .recipes import from_hf

        name, kw = hf
        p = from_hf(name, sched.optimizer, **kw)
        return p, kw.get("num_training_steps") or p.total_steps
    from .frameworks.torch import from_torch

    p = from_torch(sched)
    total = getattr(sched, "total_steps", None)  # OneCycleLR
    return p, (int(total) if isinstance(total, int) else p.total_steps)


def _hf_call(sched: Any) -> Optional[Tuple[str, Dict[str, Any]]]:
    """(get_scheduler name, its keywords) of an HF transformers LambdaLR, else None."""
    lams = getattr(sched, "lr_lambdas", None)
    if not lams or not all(isinstance(f, functools.partial) for f in lams):
        return None
    f0 = lams[0]
    if getattr(f0.func, "__module__", "") != "transformers.optimization" or f0.func.__name__ not in _HF_LAMBDAS:
        return None
    if any(f.func is not f0.func or f.keywords != f0.keywords for f in lams):
        return None
    name = _HF_LAMBDAS[f0.func.__name__]
    kw = dict(f0.keywords)
    if name == "cosine" and "min_lr_rate" in kw:
        name = "cosine_with_min_lr"
    if name == "polynomial":
        kw["default_lr"] = kw.pop("lr_init")
    if name == "warmup_stable_decay":
        kw["num_training_steps"] = kw["num_warmup_steps"] + kw["num_stable_steps"] + kw["num_decay_steps"]
    return name, kw


def _on_updates(s: _Sched, cad: Cadence, updates: Optional[int]) -> Tuple[Plan, Optional[int]]:
    """The scheduler's plan on the optimizer-update axis, and the run's horizon in updates."""
    assert s.plan is not None
    plan = s.plan
    if s.kind == "accelerated":  # from_accelerated models its Trainer: step() after every update
        if cad != Cadence(0, 1, 1):
            raise UnsupportedError(f"capture: pytorch-accelerated {type(s.obj).__name__} stepped as "
                                   f"{cad.describe()}; capture models its Trainer (step() after every update)")
        return plan, updates or plan.total_steps
    if s.kind == "timm":  # from_timm models timm's train.py: step(epoch) per epoch or step_update per update
        from .recipes import from_timm

        if cad.offset or cad.per != 1 or (_timm_per_update(s) and cad.every != 1):
            raise UnsupportedError(f"capture: timm {type(s.obj).__name__} stepped as {cad.describe()}; capture "
                                   "models timm's train.py (step(epoch + 1) per epoch, step_update per update)")
        plan = from_timm(s.obj, updates_per_epoch=cad.every)
        return plan, updates or plan.total_steps
    horizon = updates
    if horizon is None and s.horizon:  # scheduler steps -> updates (the run ends when the schedule does)
        horizon = max(1, math.ceil((s.horizon - cad.offset) / cad.per) * cad.every)
    if cad.per == 1:
        def move(nd: nodes.Node) -> nodes.Node:
            nd = nodes.Shift(nd, cad.offset) if cad.offset else nd
            return nodes.Hold(nd, cad.every) if cad.every > 1 else nd
        out = plan.map_schedules(move)
        return Plan(out.groups, cad.every if cad.every > 1 else None, None, plan.source), horizon
    if horizon is None:
        raise SpecError("updates", f"is required: the script steps its scheduler {cad.describe()} and the "
                        "scheduler does not say how long the run is; pass the run's optimizer updates", None,
                        show_value=False)
    return _strided(plan, cad, horizon), horizon


def _strided(plan: Plan, cad: Cadence, horizon: int) -> Plan:
    """k scheduler steps per update: no node strides, so each field becomes a table of the
    evaluator's values at the steps the updates see (exact, float64) over the horizon."""
    import numpy as np

    steps = cad.offset + cad.per * (np.arange(horizon, dtype=np.int64) // cad.every)
    groups = []
    for gi, g in enumerate(plan.groups):
        fs = {}
        for k, f in g.fields.items():
            if f.schedule is None:
                fs[k] = f
                continue
            v = plan.at(steps, k)[:, gi]
            fs[k] = Field(f.base, nodes.Table(v / f.base if f.base else v, relative=bool(f.base)))
        groups.append(Group(fs, g.name))
    return Plan(tuple(groups), None, horizon, f"{plan.source} ({cad.describe()})")


def _named(plan: Plan, names: List[Optional[str]]) -> Plan:
    """Name each group after the model's parameters it holds."""
    groups = [Group(g.fields, g.name or n) for g, n in zip(plan.groups, names)]
    return Plan(tuple(groups), plan.epoch_length, plan.total_steps, plan.source)


def _group_name(held: List[str]) -> Optional[str]:
    if not held:
        return None
    return ", ".join(held) if len(held) <= 3 else f"{held[0]}, ... ({len(held)} params)"


def _param_names(model: Any) -> Dict[int, str]:
    """id(parameter) -> name, from ``model`` or else from the torch Modules the running code holds
    (the locals and globals of the frames that led to the optimizer update)."""
    if model is not None:
        return {id(p): n for n, p in model.named_parameters()}
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    out: Dict[int, str] = {}
    seen = set()
    f: Any = sys._getframe(1)
    while f is not None:
        for scope in (f.f_locals, f.f_globals):
            for v in list(scope.values()):
                if isinstance(v, torch.nn.Module) and id(v) not in seen:
                    seen.add(id(v))
                    for n, p in v.named_parameters():
                        out.setdefault(id(p), n)
        f = f.f_back
    return out


def _check_seen(plan: Plan, lrs: List[List[float]]) -> None:
    """The lr the script really used at each observed update must be the plan's."""
    import numpy as np

    if not lrs:
        return
    seen = np.asarray(lrs, dtype=np.float64)
    ours = plan.values(len(lrs), "lr")
    scale = np.maximum(np.abs(seen), plan.bases("lr")[None, :])
    bad = np.argwhere(np.abs(ours - seen) > 1e-12 * scale + 1e-300)
    if bad.size:
        t, g = (int(x) for x in bad[0])
        raise UnsupportedError(f"capture: at update {t} param group {g} used lr {seen[t, g]!r} but the plan read "
                               f"from the scheduler gives {ours[t, g]!r}: something else changes the lr (a "
                               "scheduler class capture does not observe, or code writing param_groups)")


def capture(updates: Optional[int] = None, *, stop: bool = True, model: Any = None) -> Capture:
    """``with bridge.capture() as cap: train()`` -> ``cap.plan``, ``cap.report()``."""
    return Capture(updates, stop=stop, model=model)


class _CallableModule(types.ModuleType):
    """``bridge.capture(...)`` stays the function once ``bridge.capture`` the module is imported
    (importing a submodule sets it as the package's attribute of that name)."""

    def __call__(self, updates: Optional[int] = None, *, stop: bool = True, model: Any = None) -> Capture:
        return capture(updates, stop=stop, model=model)


sys.modules[__name__].__class__ = _CallableModule


def run_script(path: str, args: Sequence[str] = (), *, updates: Optional[int] = None, stop: bool = True) -> Capture:
    """Run the script at ``path`` as ``__main__`` (``sys.argv = [path, *args]``) under a :class:`Capture`."""
    if not os.path.isfile(path):
        raise SpecError("SCRIPT", "no such file", path)
    cap = Capture(updates, stop=stop)
    old_argv, old_path0 = sys.argv[:], sys.path[0]
    sys.argv = [path, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    try:
        with cap:
            runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            raise SpecError("SCRIPT", f"exited with {e.code!r} before the plan was known (its arguments: "
                            f"{' '.join(args) or 'none'})", path) from None
    except BridgeError:
        raise
    except Exception as e:  # the script's own error: one line saying where, not its traceback
        raise SpecError("SCRIPT", f"raised {type(e).__name__}: {_first_line(e)} at {_where(e, path)} before the "
                        "plan was known (run it alone to see the traceback)", None, show_value=False) from None
    finally:
        sys.argv[:] = old_argv
        sys.path[0] = old_path0
    return cap


def _first_line(e: BaseException) -> str:
    text = (str(e).strip().splitlines() or [""])[0]
    return text if len(text) <= 200 else text[:197] + "..."


def _where(e: BaseException, path: str) -> str:
    """``file:line`` of the last traceback frame in the script (else the innermost frame)."""
    import traceback

    frames = traceback.extract_tb(e.__traceback__)
    mine = [f for f in frames if os.path.abspath(f.filename) == os.path.abspath(path)]
    f = (mine or frames)[-1] if frames else None
    return f"{os.path.basename(f.filename)}:{f.lineno}" if f is not None else path


_LITERALS = (bool, int, float, str, type(None))


def _literal(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return all(_literal(x) for x in v)
    return isinstance(v, _LITERALS)


def _pick(cap: Capture, which: Optional[int]) -> Tuple[Plan, _Opt]:
    """The plan and optimizer number ``which`` (in the order they first updated); None: the only one."""
    if which is None:
        return cap.plan, next(iter(cap._opts.values()))
    ps, os_ = list(cap.plans().values()), list(cap._opts.values())
    if isinstance(which, bool) or not isinstance(which, int) or not 0 <= which < len(ps):
        raise SpecError("which", f"must be an optimizer number 0..{len(ps) - 1}", which)
    return ps[which][0], os_[which]


def optimizer_description(cap: Capture, which: Optional[int] = None) -> Dict[str, Any]:
    """``{"type", "defaults", "groups"}`` of the captured optimizer with parameter names for params
    (what :func:`bridge.translate_optimizer` takes), literal values only. ``which``: the optimizer's
    number (in the order they first updated) when the script has several."""
    plan, o = _pick(cap, which)
    missing = [(i, j) for i, g in enumerate(o.params) for j, n in enumerate(g) if n is None]
    if missing:
        i, j = missing[0]
        raise UnsupportedError(f"capture: param_groups[{i}] parameter {j} belongs to no torch Module the script "
                               "held when it first updated; the port needs parameter names "
                               "(bridge.capture(model=...))")
    defaults = {k: v for k, v in o.obj.defaults.items() if _literal(v)}
    groups = []
    for pg, names in zip(o.obj.param_groups, o.params):
        g = {k: v for k, v in pg.items() if k not in ("params", "initial_lr") and _literal(v)}
        g["lr"] = pg.get("initial_lr", pg["lr"])
        groups.append({"params": list(names), **g})
    del plan
    return {"type": type(o.obj).__name__, "defaults": defaults, "groups": groups}


_MS_TEMPLATE = '''"""MindSpore optimizer and schedule of {script}, written by `sched-bridge capture`.

make_optimizer(net) returns the mindspore.nn optimizer for `net` (its parameters matched to the
torch names below by mappings/param_names.toml) whose learning rate (and weight decay) follow
the captured plan at each of the run's {total} optimizer updates.
"""
import bridge

TOTAL_STEPS = {total}
PLAN = {plan}
OPTIMIZER = {optimizer}


def make_optimizer(net):
    return bridge.translate_optimizer(OPTIMIZER, bridge.from_dict(PLAN), target="mindspore", params=net,
                                      total_steps=TOTAL_STEPS)
'''

_OF_TEMPLATE = '''"""OneFlow optimizer and schedule of {script}, written by `sched-bridge capture`.

make_optimizer(model) returns (optimizer, scheduler): the OneFlow optimizer with the torch
script's param groups (parameters matched by name) and the scheduler that follows the captured
plan ({total} optimizer updates); step the scheduler once after every optimizer.step().
"""
import oneflow as flow

import bridge

TOTAL_STEPS = {total}
PLAN = {plan}
OPTIMIZER = {optimizer}


def make_optimizer(model):
    params = dict(model.named_parameters())
    groups = [dict(g, params=[params[n] for n in g["params"]]) for g in OPTIMIZER["groups"]]
    cls = getattr(flow.optim, OPTIMIZER["class"].rsplit(".", 1)[-1])
    optimizer = cls(groups, **OPTIMIZER["kwargs"])
    return optimizer, bridge.to_oneflow(bridge.from_dict(PLAN), optimizer)
'''


def emit_source(cap: Capture, target: str, script: str = "the captured script", which: Optional[int] = None) -> str:
    """Python source building the ``target`` (``"mindspore"`` / ``"oneflow"``) optimizer and schedule
    of the captured run, through :func:`bridge.translate_optimizer` (checked here where it can be).
    ``which``: the optimizer's number when the script has several (see :func:`optimizer_description`)."""
    import pprint

    from .groups.optimizers import translate_optimizer

    plan, _ = _pick(cap, which)
    if not plan.total_steps:
        raise SpecError("updates", "is required to write a port (the plan has no horizon)", None, show_value=False)
    desc = optimizer_description(cap, which)
    if target == "oneflow":
        optimizer: Any = translate_optimizer(desc, plan, target="oneflow")
        template = _OF_TEMPLATE
    elif target == "mindspore":
        optimizer, template = desc, _MS_TEMPLATE
        for i, g in enumerate(plan.groups):
            for k, f in g.fields.items():
                if f.schedule is not None and k not in ("lr", "weight_decay"):
                    raise UnsupportedError(f"--emit mindspore: param group {i} schedules {k}, but MindSpore nn "
                                           f"optimizers read {k} once (only learning_rate and weight_decay change "
                                           "per step)")
    else:
        raise SpecError("--emit", "must be 'mindspore' or 'oneflow'", target)
    return template.format(script=script, total=plan.total_steps, plan=pprint.pformat(plan.to_dict(), width=100),
                           optimizer=pprint.pformat(optimizer, width=100))
