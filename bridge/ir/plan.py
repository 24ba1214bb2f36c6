"""The Plan: per param group, per field, a base value and a schedule.

A field is any param-group key: ``lr``, ``momentum``, ``weight_decay``,
``betas[0]`` (the first entry of ``betas``), ``initial_lr``... A field without a
schedule holds its base value.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..limits import check_disk, check_memory
from . import _check as c
from . import semantics
from .nodes import Hold, Node, Table, node_from_dict

SCHEMA = 1
FORMAT = "sched-bridge/plan"

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Field:
    """One param-group field: its base value and (optionally) its schedule."""

    base: float
    schedule: Optional[Node] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", c.real("base", self.base, nonneg=True))
        if self.schedule is not None and not isinstance(self.schedule, Node):
            object.__setattr__(self, "schedule", node_from_dict(self.schedule))


@dataclass(frozen=True)
class Group:
    """One param group: its fields by name (``lr``, ``momentum``, ``betas[0]``, ...)."""

    fields: Mapping[str, Field] = field(default_factory=dict)
    name: Optional[str] = None

    def __post_init__(self) -> None:
        fs = {}
        for k, v in dict(self.fields).items():
            if not isinstance(k, str) or not k:
                raise SpecError("fields", "names must be non-empty strings", k)
            fs[k] = v if isinstance(v, Field) else Field(v)
        object.__setattr__(self, "fields", fs)

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.fields.items(), key=lambda kv: kv[0]))))


@dataclass(frozen=True)
class Plan:
    """What each param-group field holds at each optimizer update.

    ``values(n, field)`` is the public contract: row t is the value in effect for
    update t (t = 0, 1, ...), one column per group.
    """

    groups: Tuple[Group, ...]
    epoch_length: Optional[int] = None
    total_steps: Optional[int] = None
    source: Optional[str] = None

    def __post_init__(self) -> None:
        gs = tuple(self.groups)
        if not gs:
            raise SpecError("groups", "a plan needs at least one param group", [])
        for i, g in enumerate(gs):
            if not isinstance(g, Group):
                raise SpecError(f"groups[{i}]", "must be a Group", g)
        object.__setattr__(self, "groups", gs)
        object.__setattr__(self, "epoch_length", c.opt_int("epoch_length", self.epoch_length, lo=1))
        object.__setattr__(self, "total_steps", c.opt_int("total_steps", self.total_steps, lo=1))

    # -- construction ----------------------------------------------------
    @classmethod
    def single(cls, schedule: Optional[Node], base: Union[float, Sequence[float]] = 1.0, *,
               field: str = "lr", **kw: Any) -> Plan:
        """A plan where every group's ``field`` follows ``schedule`` from its own base."""
        bases = [base] if isinstance(base, (int, float)) else list(base)
        return cls(tuple(Group({field: Field(b, schedule)}) for b in bases), **kw)

    def with_field(self, field: str, schedule: Optional[Node], base: Optional[Sequence[float]] = None,
                   groups: Optional[Sequence[int]] = None) -> Plan:
        """A copy with ``field`` set to ``schedule`` in the given groups (default: all)."""
        idx = range(len(self.groups)) if groups is None else groups
        new = list(self.groups)
        for j, i in enumerate(idx):
            g = new[i]
            b = base[j] if base is not None else (g.fields[field].base if field in g.fields else None)
            if b is None:
                raise SpecError(f"groups[{i}].{field}", "has no base value; pass base=[...]", None)
            fs = dict(g.fields)
            fs[field] = Field(b, schedule)
            new[i] = Group(fs, g.name)
        return Plan(tuple(new), self.epoch_length, self.total_steps, self.source)

    # -- inspection ------------------------------------------------------
    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def fields(self) -> List[str]:
        """Field names in first-seen order."""
        out: List[str] = []
        for g in self.groups:
            for k in g.fields:
                if k not in out:
                    out.append(k)
        return out

    def bases(self, field: str = "lr") -> np.ndarray:
        return np.array([self.field(i, field).base for i in range(len(self.groups))])

    def schedule(self, field: str = "lr", group: int = 0) -> Optional[Node]:
        return self.field(group, field).schedule

    def _group_index(self, i: Any) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= int(i) < len(self.groups):
            raise SpecError("groups", f"must hold group indices in 0..{len(self.groups) - 1}", i)
        return int(i)

    def field(self, group: int, name: str) -> Field:
        """Field ``name`` of param group ``group`` (its base and schedule); a SpecError says which
        fields the group has."""
        if not 0 <= group < len(self.groups):
            raise SpecError("group", f"must be in 0..{len(self.groups) - 1}", group)
        f = self.groups[group].fields.get(name)
        if f is None:
            have = ", ".join(self.groups[group].fields) or "none"
            raise SpecError(f"groups[{group}].{name}", f"no such field in this group (it has: {have})", name,
                            show_value=False)
        return f

    # -- evaluation ------------------------------------------------------
    def values(self, n: int, field: str = "lr", *, start: int = 0) -> np.ndarray:
        """Values for updates ``start..start+n-1``: float64 array of shape (n, n_groups).

        Memory O(n) whatever ``start``; a recursive (chainable) schedule is scanned from step 0 in
        bounded blocks, and calls with increasing ``start`` continue from where the previous one
        stopped (O(n) time each) instead of scanning from step 0 again.
        """
        n = c.integer("n", n, lo=0)
        start = c.integer("start", start, lo=0)
        check_memory(n, len(self.groups), "plan.values(n)")
        return self.at(np.arange(start, start + n, dtype=np.int64), field)

    def group_values(self, n: int, field: str = "lr", group: int = 0, *, start: int = 0) -> np.ndarray:
        """One group's values for updates ``start..start+n-1``: shape (n,), only that group evaluated."""
        f = self.field(group, field)
        return Plan((Group({field: f}),)).values(n, field, start=start)[:, 0]

    def at(self, steps: Any, field: str = "lr") -> np.ndarray:
        """Values at arbitrary steps (array of ints): shape (len(steps), n_groups).

        Recursive schedules keep their state between calls on the same plan (see :meth:`values`).
        """
        t = _steps_array(steps)
        check_memory(t.shape[0], len(self.groups), "plan.at(steps)")
        out = np.empty((t.shape[0], len(self.groups)))
        for sched, cols in self.batches(field).items():
            bases = np.array([self.groups[i].fields[field].base for i in cols])
            if sched is None:
                out[:, cols] = bases
                continue
            key = (field, tuple(cols))
            carry = _take_carry(self, key)
            v = semantics.evaluate(sched, t, bases, carry)
            _keep_carry(self, key, carry)
            if len(cols) == len(self.groups):  # one schedule for every group: no copy
                return v
            out[:, cols] = v
        return out

    def value(self, t: int, field: str = "lr") -> np.ndarray:
        """Values at one step, one per group."""
        return self.at([c.integer("t", t, lo=0)], field)[0]

    def batches(self, field: str) -> Dict[Optional[Node], List[int]]:
        """The distinct schedules of ``field`` (None: constant), each with the groups that follow it."""
        batches: Dict[Optional[Node], List[int]] = {}
        for i in range(len(self.groups)):
            f = self.field(i, field)
            try:
                batches.setdefault(f.schedule, []).append(i)
            except TypeError:  # unhashable callable inside: evaluate on its own
                batches[_Unique(f.schedule)] = [i]  # type: ignore[index]
        return {(k.node if isinstance(k, _Unique) else k): v for k, v in batches.items()}

    def iter_values(self, n: int, field: str = "lr", chunk: int = 1 << 20, *,
                    groups: Optional[Sequence[int]] = None) -> Iterator[np.ndarray]:
        """Stream ``values(n, field)`` in chunks of at most ``chunk`` rows: O(n) time and O(chunk)
        memory for every composition (recursive schedules carry their state from chunk to chunk),
        the same numbers as ``values(n, field)``. ``groups``: only these columns, in this order."""
        n = c.integer("n", n, lo=0)
        chunk = c.integer("chunk", chunk, lo=1)
        if groups is not None:
            idx = [self._group_index(i) for i in groups]
            yield from Plan(tuple(self.groups[i] for i in idx)).iter_values(n, field, chunk)
            return
        batches = self.batches(field)
        gens = []
        for sched, cols in batches.items():
            bases = np.array([self.groups[i].fields[field].base for i in cols])
            gens.append((cols, bases, None if sched is None else semantics.iter_chunks(sched, bases, n, chunk)))
        whole = len(gens) == 1 and gens[0][2] is not None and len(gens[0][0]) == len(self.groups)
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            if whole:  # one schedule for every group: its chunks as they are
                yield next(gens[0][2])  # type: ignore[arg-type]
                continue
            out = np.empty((hi - lo, len(self.groups)))
            for cols, bases, gen in gens:
                out[:, cols] = bases if gen is None else next(gen)
            yield out

    def save_npy(self, path: PathLike, n: int, field: str = "lr", *, dtype: str = "float64",
                 chunk: int = 1 << 20, groups: Optional[Sequence[int]] = None) -> None:
        """Write ``values(n, field)`` to a ``.npy`` file, streaming (time O(n), memory O(chunk)).
        ``groups``: only these columns, in this order."""
        from ..outputs import atomic_output
        from .io import write_npy

        n = c.integer("n", n, lo=0)
        dt = np.dtype(dtype)
        cols = len(self.groups) if groups is None else len([self._group_index(i) for i in groups])
        check_disk(os.fspath(path), 128 + n * cols * dt.itemsize, "n")
        with atomic_output(path, binary=True, flag="path") as fh:  # renamed onto path when complete
            write_npy(fh, self.iter_values(n, field, chunk, groups=groups), (n, cols), dt)

    def tabulate(self, n: int, fields: Optional[Sequence[str]] = None) -> Plan:
        """A copy whose schedules are explicit tables of n steps (for opaque callables)."""
        check_memory(c.integer("n", n, lo=1), len(self.groups), "plan.tabulate(n)",
                     advice="tabulate fewer steps")
        new = []
        sampled: Dict[str, np.ndarray] = {}  # field -> values of every group, evaluated once
        for i, g in enumerate(self.groups):
            fs = {}
            for k, f in g.fields.items():
                if f.schedule is None or (fields is not None and k not in fields):
                    fs[k] = f
                else:
                    if k not in sampled:
                        sampled[k] = self.values(n, k)
                    fs[k] = Field(f.base, Table(sampled[k][:, i], relative=False))
            new.append(Group(fs, g.name))
        return Plan(tuple(new), self.epoch_length, self.total_steps, self.source)

    def per_epoch(self, steps_per_epoch: int) -> Plan:
        """This plan's schedules stepped once per epoch of ``steps_per_epoch`` optimizer updates,
        on the update axis: v_update(t) = v(floor(t / L)) (a ``Hold``); ``epoch_length`` = L and
        ``total_steps`` (if any) counted in updates."""
        L = c.integer("steps_per_epoch", steps_per_epoch, lo=1)
        held = self.map_schedules(lambda s: Hold(s, L))
        return Plan(held.groups, L, None if self.total_steps is None else self.total_steps * L, self.source)

    def map_schedules(self, fn: Callable[[Node], Node]) -> Plan:
        """A copy with every scheduled field's schedule replaced by ``fn(schedule)`` (bases, constant
        fields, group names, ``epoch_length``, ``total_steps`` and ``source`` kept)."""
        new = [Group({k: (Field(f.base, fn(f.schedule)) if f.schedule is not None else f)
                      for k, f in g.fields.items()}, g.name) for g in self.groups]
        return Plan(tuple(new), self.epoch_length, self.total_steps, self.source)

    # -- serialisation ---------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe dict with a schema version; schedules shared by all groups are stated once."""
        shared: Dict[str, Any] = {}
        for k in self.fields:
            scheds = [g.fields[k].schedule for g in self.groups if k in g.fields]
            if all(k in g.fields for g in self.groups) and scheds[0] is not None and \
                    all(_same(s, scheds[0]) for s in scheds):
                shared[k] = scheds[0].to_dict()
        groups = []
        for g in self.groups:
            gd: Dict[str, Any] = {}
            if g.name is not None:
                gd["name"] = g.name
            gd["base"] = {k: f.base for k, f in g.fields.items()}
            own = {k: f.schedule.to_dict() for k, f in g.fields.items()
                   if f.schedule is not None and k not in shared}
            if own:
                gd["schedules"] = own
            groups.append(gd)
        out: Dict[str, Any] = {"format": FORMAT, "schema": SCHEMA}
        if self.epoch_length is not None:
            out["epoch_length"] = self.epoch_length
        if self.total_steps is not None:
            out["total_steps"] = self.total_steps
        if self.source is not None:
            out["source"] = self.source
        out["groups"] = groups
        if shared:
            out["schedules"] = shared
        return out

    get_config = to_dict

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def dump(self, path: PathLike) -> None:
        """Write the plan as JSON, YAML or TOML (chosen by the file suffix)."""
        from .io import dump_file

        dump_file(self.to_dict(), path)

    def describe(self) -> str:
        """The plan in words, one line per group and field."""
        lines = []
        for i, g in enumerate(self.groups):
            name = f" ({g.name})" if g.name else ""
            for k, f in g.fields.items():
                s = "constant" if f.schedule is None else _describe_tree(f.schedule)
                lines.append(f"group {i}{name} {k}: base {f.base:.6g}, {s}")
        return "\n".join(lines)


class _Unique:
    def __init__(self, node: Optional[Node]):
        self.node = node


def _steps_array(steps: Any) -> np.ndarray:
    """``steps`` as a 1-D int64 array; a non-integer or out-of-range step is a SpecError."""
    try:
        arr = np.asarray(steps)
        if arr.dtype == object or arr.dtype.kind not in "iub":
            if arr.size and not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool)
                                    for x in arr.reshape(-1).tolist()):
                raise SpecError("steps", "must be whole numbers", steps)
        t = arr.astype(np.int64).reshape(-1)
    except (OverflowError, TypeError, ValueError):
        raise SpecError("steps", f"must be whole numbers between 0 and 2**62 ({c.INT_LIMIT})", steps) from None
    if t.size and int(t.max()) > c.INT_LIMIT:
        raise SpecError("steps", f"must be at most 2**62 ({c.INT_LIMIT})", int(t.max()))
    return t


# Streaming state of recursive schedules between Plan.at / Plan.values calls, per live plan (by
# identity; dropped with the plan) and per (field, group columns). A carry is taken out while in use,
# so a plan shared between threads only loses the shortcut, never mixes states.
_CARRIES: Dict[int, Tuple[Any, Dict[Tuple[str, Tuple[int, ...]], Any]]] = {}
_CARRY_BLOCK = 1 << 18  # rows a recursive schedule computes at once when it catches up


def _take_carry(plan: Plan, key: Tuple[str, Tuple[int, ...]]) -> Any:
    entry = _CARRIES.get(id(plan))
    carry = entry[1].pop(key, None) if entry is not None and entry[0]() is plan else None
    return carry if carry is not None else semantics.Carry(_CARRY_BLOCK)


def _keep_carry(plan: Plan, key: Tuple[str, Tuple[int, ...]], carry: Any) -> None:
    import weakref

    pid = id(plan)
    entry = _CARRIES.get(pid)
    if entry is None or entry[0]() is not plan:

        def gone(ref: Any) -> None:
            if _CARRIES.get(pid, (None,))[0] is ref:
                del _CARRIES[pid]

        entry = (weakref.ref(plan, gone), {})
        _CARRIES[pid] = entry
    entry[1][key] = carry


def _same(a: Optional[Node], b: Optional[Node]) -> bool:
    try:
        return a == b
    except Exception:
        return a is b


def _describe_tree(nd: Node, depth: int = 0) -> str:
    from .nodes import Chain, Hold, Sequential, Shift, Windows

    if isinstance(nd, Sequential):
        parts = [_describe_tree(ch, depth + 1) for ch in nd.schedules]
        bits = [parts[0]] + [f"from step {m}: {p}" for m, p in zip(nd.milestones, parts[1:])]
        return "sequential[" + "; ".join(bits) + "]"
    if isinstance(nd, Chain):
        return f"chain-{nd.mode}[" + " * ".join(_describe_tree(ch, depth + 1) for ch in nd.schedules) + "]"
    if isinstance(nd, Windows):
        ws = []
        for w in nd.windows:
            unit = "" if w.every == 1 else f" x{w.every} steps"
            ws.append(f"[{w.begin}, {'inf' if w.end is None else w.end}){unit}: {_describe_tree(w.schedule, depth + 1)}")
        return "windows[" + "; ".join(ws) + "]"
    if isinstance(nd, Hold):
        return f"per {nd.every} steps: " + _describe_tree(nd.schedule, depth + 1)
    if isinstance(nd, Shift):
        return f"resumed at {nd.offset}: " + _describe_tree(nd.schedule, depth + 1)
    return nd.describe()


# ---------------------------------------------------------------------------
# dict -> plan
# ---------------------------------------------------------------------------

_TOP = {"format", "schema", "epoch_length", "total_steps", "source", "groups", "schedules"}


def from_dict(d: Any) -> Plan:
    """Build a Plan from its dict form (see :meth:`Plan.to_dict`).

    A bare schedule node (a dict with ``kind``) is accepted too: one group, field ``lr``,
    base 1.0 (so its values are factors).
    """
    if isinstance(d, Plan):
        return d
    if not isinstance(d, dict):
        raise SpecError("plan", "must be a mapping", type(d).__name__)
    if "kind" in d:
        return Plan.single(node_from_dict(d, "schedule"), 1.0)
    fmt = d.get("format", FORMAT)
    if fmt != FORMAT:
        raise SpecError("format", f"must be {FORMAT!r}", fmt)
    schema = d.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise SpecError("schema", f"this sched-bridge reads schema {SCHEMA}", schema)
    extra = sorted(set(d) - _TOP)
    if extra:
        raise SpecError(extra[0], f"unknown top-level key (known: {', '.join(sorted(_TOP))})", d[extra[0]])
    shared_raw = d.get("schedules", {}) or {}
    if not isinstance(shared_raw, dict):
        raise SpecError("schedules", "must map field names to schedules", shared_raw)
    shared = {k: node_from_dict(v, f"schedules.{k}") for k, v in shared_raw.items()}
    groups_raw = d.get("groups")
    if not isinstance(groups_raw, list) or not groups_raw:
        raise SpecError("groups", "must be a non-empty list of param groups", groups_raw)
    groups = []
    for i, gd in enumerate(groups_raw):
        p = f"groups[{i}]"
        if not isinstance(gd, dict):
            raise SpecError(p, "must be a mapping with 'base' (and optionally 'schedules', 'name')", gd)
        bad = sorted(set(gd) - {"name", "base", "schedules"})
        if bad:
            raise SpecError(f"{p}.{bad[0]}", "unknown key (known: base, name, schedules)", gd[bad[0]])
        base = gd.get("base")
        if not isinstance(base, dict) or not base:
            raise SpecError(f"{p}.base", "must map field names to base values, e.g. {lr: 0.1}", base)
        own_raw = gd.get("schedules", {}) or {}
        if not isinstance(own_raw, dict):
            raise SpecError(f"{p}.schedules", "must map field names to schedules", own_raw)
        own = {k: node_from_dict(v, f"{p}.schedules.{k}") for k, v in own_raw.items()}
        missing = [k for k in own if k not in base]
        if missing:
            raise SpecError(f"{p}.schedules.{missing[0]}", "has a schedule but no base value in 'base'",
                            missing[0], show_value=False)
        fs = {}
        for k, b in base.items():
            bv = c.real(f"{p}.base.{k}", b)
            if bv < 0:
                raise SpecError(f"{p}.base.{k}", "must be >= 0 (torch.optim refuses a negative value: "
                                "'Invalid learning rate')" if k == "lr" else "must be >= 0", b)
            fs[k] = Field(bv, own.get(k, shared.get(k)))
        name = gd.get("name")
        if name is not None and not isinstance(name, str):
            raise SpecError(f"{p}.name", "must be a string", name)
        groups.append(Group(fs, name))
    for k in shared:
        if not any(k in g.fields for g in groups):
            raise SpecError(f"schedules.{k}", "no group has a base value for this field", k, show_value=False)
    src = d.get("source")
    return Plan(tuple(groups), epoch_length=c.opt_int("epoch_length", d.get("epoch_length"), lo=1),
                total_steps=c.opt_int("total_steps", d.get("total_steps"), lo=1),
                source=None if src is None else c.text("source", src))


def is_finite(x: float) -> bool:
    return math.isfinite(x)


__all__ = ["Field", "Group", "Plan", "from_dict", "SCHEMA", "UnsupportedError"]

# Runtime code that lived here until the plan-driven schedulers got one driver: the step cursor
# (bridge.frameworks._driver) and param-group field access (bridge.frameworks._fields). The old
# names still resolve, with a DeprecationWarning, for one release.
_MOVED = {"Cursor": "_driver", "field_key": "_fields", "has_field": "_fields", "read_field": "_fields",
          "write_field": "_fields"}


def __getattr__(name: str) -> Any:
    where = _MOVED.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    warnings.warn(f"bridge.ir.plan.{name} moved to bridge.frameworks.{where}.{name}; the old name will be "
                  "removed in the next release", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(f"..frameworks.{where}", __package__), name)
