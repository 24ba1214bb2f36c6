"""The one driver behind every plan-driven scheduler (torch, OneFlow, MindSpore experimental).

A plan-driven scheduler is a framework's scheduler base class plus a :class:`Driver`: the
adapter in ``bridge/frameworks/<framework>.py`` says only what differs per framework (its
base class, the name of its step counter -- ``last_epoch`` / ``last_step`` -- and how a
param group is written); everything else lives here, once:

- :class:`Cursor`: one field of a plan read step by step, O(1) amortised per step; its
  values are exactly ``plan.values``' (the same streaming evaluation,
  ``semantics.evaluate(sched, arange(lo, hi), bases, carry)``), and from the first step the
  plan does not define it holds the last value (:class:`~bridge.PlanEndWarning` once).
- :func:`check_groups` and :func:`write_bases`: the optimizer must have the plan's groups and
  fields; every field starts at its base value.
- :func:`built_once` and :func:`lazy_getattr`: an adapter's ``PlanScheduler`` subclasses the
  framework's class, so it is defined on first use (importing the framework then), once, and
  reached as a module attribute (PEP 562).
- one state format (:data:`STATE_FORMAT`): ``{"format", "step", "plan" (a fingerprint of
  what the plan computes), "n_groups", "fields"}`` plus the adapter's own counters; loading
  a state of another plan, or a native scheduler's, raises a :class:`~bridge.SpecError`
  naming what differs. A state is framework-neutral: the PlanScheduler of one framework
  loads the state of another's for the same plan.

No framework is imported here.
"""

from __future__ import annotations

import copy
import functools
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import PlanEndWarning, SpecError, UnsupportedError
from ..ir import _check as c
from ..ir.nodes import Plateau
from ..ir.plan import Plan
from ._fields import field_key, has_field, write_field

__all__ = ["CHUNK", "STATE_FORMAT", "Cursor", "Driver", "built_once", "check_groups", "check_plan", "lazy_getattr",
           "plan_fingerprint", "write_bases"]

#: steps a cursor evaluates at once (every framework's plan-driven scheduler)
CHUNK = 1024
#: the ``format`` tag of a plan-driven scheduler's ``state_dict()``
STATE_FORMAT = "sched-bridge/PlanScheduler"
_CARRY_BLOCK = 1 << 16  # rows a recursive schedule computes at once when it catches up (load_state_dict)


# ---------------------------------------------------------------------------
# the adapter's class, defined on first use
# ---------------------------------------------------------------------------


def built_once(module: str) -> Callable[[Callable[[], type]], Callable[[], type]]:
    """Decorator for the function that defines an adapter's class (it subclasses a framework
    class, so it runs on first use, importing the framework): it runs once, and the class is
    named as if defined at the top level of ``module``."""
    def wrap(define: Callable[[], type]) -> Callable[[], type]:
        @functools.wraps(define)
        @functools.cache
        def once() -> type:
            cls = define()
            cls.__module__, cls.__qualname__ = module, cls.__name__
            return cls

        return once

    return wrap


def lazy_getattr(module: str, **classes: Callable[[], type]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) giving each of ``classes`` (name -> its
    :func:`built_once` function) on first access: ``__getattr__ = lazy_getattr(__name__, PlanScheduler=...)``."""
    def __getattr__(name: str) -> Any:
        if name in classes:
            return classes[name]()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


# ---------------------------------------------------------------------------
# the cursor
# ---------------------------------------------------------------------------


class Cursor:
    """One field of a plan, read step by step: ``cursor(t)`` is the list of per-group values.

    O(1) amortised per step whatever the composition depth: values are evaluated in aligned
    blocks of ``chunk`` steps and cached. Each block is ``semantics.evaluate(schedule,
    arange(lo, hi), bases, carry)`` with one streaming :class:`~bridge.ir.semantics.Carry` per
    schedule, as :meth:`Plan.values` evaluates: the numbers are ``plan.values``' exactly
    (recursive schedules continue from block to block; asked for an earlier step, e.g. after
    ``load_state_dict``, they start over from step 0). ``end``: the first step the plan does
    not define (a table's length, a one-cycle past ``total_steps``), once a read has met it;
    from there on the values of step ``end - 1`` are held.
    """

    def __init__(self, plan: Plan, field: str, chunk: int = CHUNK):
        from ..ir import semantics

        self.field = field
        self.chunk = c.integer("chunk", chunk, lo=1)
        self.n_groups = plan.n_groups
        self.batches: List[Tuple[Any, List[int], np.ndarray]] = []
        self.carries: Dict[int, Any] = {}  # batch -> its streaming state (schedules that keep one)
        for sched, cols in plan.batches(field).items():
            bases = np.array([plan.groups[i].fields[field].base for i in cols])
            if sched is not None and any(semantics.needs_scan(x) or isinstance(x, Plateau) for x in sched.walk()):
                self.carries[len(self.batches)] = semantics.Carry(_CARRY_BLOCK)
            self.batches.append((sched, cols, bases))
        self.lo = self.hi = -1
        self.rows: List[List[float]] = []
        self.end: Optional[int] = None

    def __call__(self, t: int) -> List[float]:
        """The values at step ``t``; from ``end`` on, the values of step ``end - 1`` (held)."""
        if self.end is not None and t >= self.end:
            t = self.end - 1
        if not (self.lo <= t < self.hi):
            self._fill(t)
            if self.end is not None and t >= self.end:
                t = self.end - 1
        return self.rows[t - self.lo]

    def _fill(self, t: int) -> None:
        lo = (t // self.chunk) * self.chunk
        hi = lo + self.chunk if self.end is None else min(lo + self.chunk, self.end)
        saved = self._save()
        try:
            block = self._block(lo, hi)
        except SpecError:  # the block runs past what the plan defines: keep what it does
            self.carries = saved
            self.end = self._first_undefined(lo, hi)
            if self.end > lo:
                block = self._block(lo, self.end)
            elif self.hi == self.end and self.rows:  # the cached block ends there already
                return
            else:
                lo = self.end - 1
                block = self._block(lo, self.end)
        self.lo, self.rows = lo, block.tolist()
        self.hi = lo + len(self.rows)

    def _save(self) -> Dict[int, Any]:
        return copy.deepcopy(self.carries) if self.carries else self.carries

    def _first_undefined(self, lo: int, hi: int) -> int:
        """The first step in ``[0, hi)`` the plan cannot evaluate, given that ``[lo, hi)`` fails
        (bisection on ``[lo, m)``; the streaming state is left as it was). Re-raises when step 0
        fails."""
        saved = self._save()
        good, bad = lo, hi  # [lo, good) evaluates, [lo, bad) does not
        try:
            while bad - good > 1:
                mid = (good + bad) // 2
                try:
                    self._block(lo, mid)
                    good = mid
                except SpecError:
                    bad = mid
                self.carries = copy.deepcopy(saved)
            if good > lo:
                return good
            if lo == 0:
                self._block(0, 1)  # nothing is defined: the plan's own error
            try:
                self._block(lo - 1, lo)
                return lo
            except SpecError:
                self.carries = copy.deepcopy(saved)
                return self._first_undefined(0, lo)
        finally:
            self.carries = saved

    def _block(self, lo: int, hi: int) -> np.ndarray:
        from ..ir import semantics

        t = np.arange(lo, hi, dtype=np.int64)
        out = np.empty((hi - lo, self.n_groups))
        for b, (sched, cols, bases) in enumerate(self.batches):
            if sched is None:
                out[:, cols] = bases
            else:
                out[:, cols] = semantics.evaluate(sched, t, bases, self.carries.get(b))
        return out


# ---------------------------------------------------------------------------
# plans, groups, base values
# ---------------------------------------------------------------------------


def check_plan(plan: Any) -> Plan:
    if not isinstance(plan, Plan):
        raise SpecError("plan", "must be a bridge.Plan (use bridge.from_dict / bridge.load to read one)",
                        type(plan).__name__)
    return plan


def _keys(group: Any) -> List[str]:
    keys = getattr(group, "options", group)  # a OneFlow ParamGroup keeps its keys in .options
    try:
        return sorted(str(k) for k in keys if k != "params")
    except TypeError:
        return []


def check_groups(plan: Any, groups: Sequence[Any], *, fields: bool = True) -> Plan:
    """``plan`` must be a Plan with one group per optimizer param group and (``fields``) every
    field it names present in the matching group; else a SpecError naming the group and field."""
    plan = check_plan(plan)
    G = len(groups)
    if plan.n_groups != G:
        raise SpecError("optimizer.param_groups", f"must have one group per plan group: the plan has "
                        f"{plan.n_groups} param group(s) but the optimizer has {G}; build the optimizer with the "
                        "same groups (or fix the plan)", G)
    if fields:
        for i, (pg, grp) in enumerate(zip(plan.groups, groups)):
            for f in pg.fields:
                if not has_field(grp, f):
                    hint = " (Adam-family optimizers use 'betas[0]')" if f == "momentum" else ""
                    raise SpecError(f"optimizer.param_groups[{i}].{f}", "the plan drives this field but the "
                                    f"param group has no {field_key(f)[0]!r} key{hint} (it has: "
                                    f"{', '.join(_keys(grp))})", f, show_value=False)
    return plan


def write_bases(plan: Plan, groups: Sequence[Any]) -> None:
    """Set every field of every group to the plan's base value, and ``initial_lr`` to the lr base
    (what a framework's scheduler base class reads as ``base_lrs``)."""
    for pg, grp in zip(plan.groups, groups):
        for f, fld in pg.fields.items():
            write_field(grp, f, fld.base)
        grp["initial_lr"] = pg.fields["lr"].base if "lr" in pg.fields else grp["lr"]


def plan_fingerprint(plan: Plan) -> str:
    """A digest of what a plan computes (groups, base values, schedules; not ``source`` or
    ``total_steps``): equal for the same plan rebuilt or re-read from its file. Python
    callables count by their label."""
    import hashlib
    import json

    try:
        d = plan.to_dict()
        text = json.dumps({k: d.get(k) for k in ("groups", "schedules")}, sort_keys=True)
    except UnsupportedError:  # a lambda / multiplicative: its label
        text = plan.describe() + repr([sorted((k, f.base) for k, f in g.fields.items()) for g in plan.groups])
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------


class Driver:
    """What a plan-driven scheduler does, whatever its framework.

    ``plan``: the plan; ``name``: the scheduler's name in messages; ``lower``: the call that
    builds one (named in the hint of a refused state). ``scheduled``: the fields some group
    schedules (``step()`` writes only these; constants are written once, at construction and
    on ``load_state_dict``).
    """

    def __init__(self, plan: Plan, *, name: str = "PlanScheduler", lower: str = "bridge.to_torch",
                 chunk: int = CHUNK):
        self.plan = check_plan(plan)
        self.name = name
        self.lower = lower
        self.chunk = c.integer("chunk", chunk, lo=1)
        self.fields = list(plan.fields)
        self.scheduled = [f for f in self.fields
                          if any(f in g.fields and g.fields[f].schedule is not None for g in plan.groups)]
        self.cursors: Dict[str, Cursor] = {}
        self.end_warned = False
        self._print: Optional[str] = None
        self._hot = self._targets(self.scheduled)

    # -- values ----------------------------------------------------------
    def cursor(self, field: str) -> Cursor:
        cur = self.cursors.get(field)
        if cur is None:
            cur = self.cursors[field] = Cursor(self.plan, field, self.chunk)
        return cur

    def row(self, field: str, t: int) -> List[float]:
        """The values of ``field`` at step ``t``, one per group (held past the plan's end)."""
        cur = self.cursor(field)
        return cur.rows[t - cur.lo] if cur.lo <= t < cur.hi else cur(t)

    def _targets(self, fields: Sequence[str]) -> List[Tuple[Cursor, str, Optional[str]]]:
        # (cursor, field, plain group key or None for an item such as betas[0])
        return [(self.cursor(f), f, field_key(f)[0] if field_key(f)[1] is None else None) for f in fields]

    def write(self, groups: Sequence[Any], t: int, fields: Optional[Sequence[str]] = None, *,
              warn: bool = True) -> Optional[List[float]]:
        """Write the values of step ``t`` into ``groups`` (dicts or OneFlow ``ParamGroup``s): the
        scheduled fields, or ``fields``. Returns the lr row when lr was written. ``warn``: a step
        past the plan's end warns once (:class:`~bridge.PlanEndWarning`)."""
        lr_row: Optional[List[float]] = None
        for cur, f, key in (self._hot if fields is None else self._targets(fields)):
            row = cur.rows[t - cur.lo] if cur.lo <= t < cur.hi else cur(t)
            if key is None:  # betas[0] and the like
                for grp, v in zip(groups, row):
                    write_field(grp, f, v)
            else:
                for grp, v in zip(groups, row):
                    if grp[key].__class__ is float:
                        grp[key] = v
                    else:  # a Tensor lr: filled in place
                        write_field(grp, f, v)
            if f == "lr":
                lr_row = row
            if warn and cur.end is not None and t > cur.end and not self.end_warned:
                self.past_end(cur.end, t, f, stacklevel=4)
        return lr_row

    def check_end(self, t: int) -> None:
        """Warn once when step ``t`` is past the end of a field read so far (for adapters that write
        the groups themselves)."""
        if self.end_warned:
            return
        for f, cur in self.cursors.items():
            if cur.end is not None and t > cur.end:
                self.past_end(cur.end, t, f, stacklevel=4)
                return

    def past_end(self, end: int, t: int, field: str, stacklevel: int = 3) -> None:
        self.end_warned = True
        warnings.warn(PlanEndWarning(
            f"{self.name}: stepped to step {t}, past the end of its plan ({field!r} is defined for steps "
            f"0..{end - 1}): optimizer update {end} and later ones run with the values of step {end - 1}, "
            "held"), stacklevel=stacklevel)

    # -- state -----------------------------------------------------------
    def fingerprint(self) -> str:
        if self._print is None:
            self._print = plan_fingerprint(self.plan)
        return self._print

    def state(self, step: int, **native: Any) -> Dict[str, Any]:
        """The state format: the tag, the step (scheduler steps completed: the values in effect are
        the plan's at ``step``), the plan's fingerprint, its groups and fields, then the
        adapter's own counters (``native``, e.g. torch's ``last_epoch``)."""
        return {"format": STATE_FORMAT, "step": int(step), "plan": self.fingerprint(),
                "n_groups": self.plan.n_groups, "fields": list(self.fields), **native}

    def load(self, state: Any) -> int:
        """The step a state saved by :meth:`state` (of any framework's PlanScheduler, or the
        formats before it) resumes at, after checking that it was saved for this plan."""
        sd = state
        if not isinstance(sd, Mapping):
            raise SpecError("state_dict", f"must be the dict {self.name}.state_dict() returned",
                            type(sd).__name__)
        legacy_torch = "format" not in sd and {"n_groups", "fields", "last_epoch"} <= set(sd)
        legacy_oneflow = "format" not in sd and "last_step" in sd and "plan" in sd \
            and (sd["plan"] is None or isinstance(sd["plan"], Mapping))
        if sd.get("format") != STATE_FORMAT and not (legacy_torch or legacy_oneflow):
            raise SpecError(
                "state_dict", f"is not a PlanScheduler state (it has {', '.join(sorted(map(str, sd))[:8])}); a "
                "native scheduler's state_dict resumes that scheduler. To continue this plan from it: "
                f"{self.lower}(bridge.groups.state.resumed(plan, state_dict), optimizer)", None, show_value=False)
        diffs = []
        if "n_groups" in sd and sd["n_groups"] != self.plan.n_groups:
            diffs.append(f"{sd['n_groups']} param group(s), this plan has {self.plan.n_groups}")
        if "fields" in sd and list(sd["fields"] or ()) != self.fields:
            diffs.append(f"fields {list(sd['fields'] or ())}, this plan has {self.fields}")
        theirs = sd.get("plan")
        if not diffs and isinstance(theirs, Mapping):  # a OneFlow state from before: the plan itself
            diffs += self._plan_diffs(theirs)
        elif not diffs and theirs is not None and theirs != self.fingerprint():
            diffs.append("other schedules or base values (plan fingerprint "
                         f"{str(theirs)[:12]}..., this plan's {self.fingerprint()[:12]}...)")
        if diffs:
            raise SpecError("state_dict", "was saved by the PlanScheduler of another plan: " + "; ".join(diffs),
                            None, show_value=False)
        key = next((k for k in ("step", "last_epoch", "last_step") if k in sd), None)
        if key is None:
            raise SpecError("state_dict.step", "is missing (the scheduler steps completed)", None, show_value=False)
        k = sd[key]
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise SpecError(f"state_dict.{key}", "must be a whole number >= 0", k)
        return int(k)

    def _plan_diffs(self, pd: Mapping[str, Any]) -> List[str]:
        from ..ir.plan import from_dict

        try:
            theirs = from_dict(dict(pd))
        except SpecError as e:
            return [f"a plan this version cannot read ({e})"]
        out = []
        if theirs.n_groups != self.plan.n_groups:
            out.append(f"{theirs.n_groups} param group(s), this plan has {self.plan.n_groups}")
        elif plan_fingerprint(theirs) != self.fingerprint():
            out.append(f"other schedules or base values (its plan: {theirs.describe()!r})")
        return out
