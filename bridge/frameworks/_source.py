"""Constructor calls recorded as Python source: how the lowerings write code out.

A lowering that builds framework objects from classes it is handed can be run with a
:class:`Recorder` instead: each constructor call then returns a :class:`Call`, whose
``repr`` is the source that would build the same object. One builder serves both the
live objects and the written code, so the two cannot drift apart: :func:`write_call` runs a
framework's ``construct`` (torch, OneFlow) on a record (``_record.SchedulerCall``) that way.

:func:`snippet` is the source ``sched-bridge lower --to torch|oneflow|mindspore-cell`` writes.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from ..errors import SpecError
from ..ir.plan import Plan
from ._fields import field_key

#: Line width the written calls wrap at.
WIDTH = 100


class Src:
    """A name in the written code (e.g. the user's optimizer variable); ``repr`` is the name."""

    def __init__(self, text: str) -> None:
        self._text = text

    @property
    def text(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return self.text


class Call(Src):
    """``name(*args, **kwargs)`` as source; nested calls, lists and arrays are written too."""

    def __init__(self, name: str, args: Sequence[Any] = (), kwargs: Optional[Dict[str, Any]] = None) -> None:
        self.name, self.args, self.kwargs = name, tuple(args), dict(kwargs or {})

    @property
    def text(self) -> str:
        return self.source()

    def source(self, indent: str = "") -> str:
        """The call, on one line if it fits in :data:`WIDTH`, else one argument a line."""
        inner = indent + "    "
        parts = [literal(a, inner) for a in self.args] + [f"{k}={literal(v, inner)}" for k, v in self.kwargs.items()]
        one = f"{self.name}({', '.join(parts)})"
        if len(indent) + len(one) <= WIDTH and "\n" not in one:
            return one
        return f"{self.name}(\n" + "".join(f"{inner}{x},\n" for x in parts) + f"{indent})"


class Recorder:
    """Stands in for a module or a dict of classes: ``rec.X(...)`` / ``rec["X"](...)`` give a :class:`Call`
    named ``prefix + "X"``."""

    def __init__(self, prefix: str = "") -> None:
        self._prefix = prefix

    def __getitem__(self, name: str) -> Callable[..., Call]:
        return lambda *args, **kwargs: Call(self._prefix + name, args, kwargs)

    def __getattr__(self, name: str) -> Callable[..., Call]:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]


def write_call(rec: Any, build: Callable[[Any, Any, Any], Any], optimizer: str = "optimizer",
               prefix: str = "lr_scheduler.") -> str:
    """The source of the scheduler a record (``_record.SchedulerCall``, as written) names: the
    framework's own builder ``build(rec, optimizer, classes)`` (e.g. ``torch.construct``) run on a
    :class:`Recorder`, so the written code and the live object come from the same calls."""
    return repr(build(rec, Src(optimizer), Recorder(prefix)))


def _float(x: float) -> str:
    return repr(x) if math.isfinite(x) else f"float({str(x)!r})"


def literal(v: Any, indent: str = "") -> str:
    """Python source for ``v`` (exact for floats; a NumPy array as ``np.array([...], dtype=...)``)."""
    if isinstance(v, Call):
        return v.source(indent)
    if isinstance(v, Src):
        return v.text
    if v is None or isinstance(v, (bool, str)):
        return repr(v)
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    if isinstance(v, (float, np.floating)):
        return _float(float(v))
    if isinstance(v, np.ndarray):
        vals = [literal(x.item()) for x in v.reshape(-1)]
        rows = [", ".join(vals[k:k + 6]) for k in range(0, len(vals), 6)]
        body = "".join(f"{indent}    {r},\n" for r in rows)
        return f"np.array([\n{body}{indent}], dtype=np.{v.dtype.name})"
    if isinstance(v, (list, tuple)):
        o, c = ("[", "]") if isinstance(v, list) else ("(", ",)" if len(v) == 1 else ")")
        one = o + ", ".join(literal(x) for x in v) + c
        if len(indent) + len(one) <= WIDTH and "\n" not in one:
            return one
        inner = indent + "    "
        if any(isinstance(x, (Call, list, tuple, np.ndarray)) for x in v):
            lines = [literal(x, inner) + "," for x in v]
        else:  # numbers: as many a line as fit
            lines = [""]
            for x in v:
                item = literal(x) + ","
                if lines[-1] and len(inner) + len(lines[-1]) + 1 + len(item) > WIDTH:
                    lines.append("")
                lines[-1] += (" " if lines[-1] else "") + item
        return f"{o}\n" + "".join(f"{inner}{line}\n" for line in lines) + f"{indent}{c.lstrip(',')}"
    raise TypeError(f"cannot write a {type(v).__name__} as source")


def one_line(text: Any) -> str:
    """``text`` with its white space runs folded to single spaces: safe in a ``#`` comment."""
    return " ".join(str(text).split())


def base_value_lines(plan: Plan, optimizer: str, lowering: str) -> List[str]:
    """Source lines that set every plan field of ``optimizer.param_groups`` to its base value,
    then ``initial_lr = lr``: what ``lowering`` (e.g. ``bridge.to_torch``) does before it
    builds a scheduler."""
    lines = [f"# the plan's base values, as {lowering} sets them ({one_line(plan.source or 'plan')})"]
    for f in sorted({f for g in plan.groups for f in g.fields}):
        vals = [g.fields[f].base if f in g.fields else None for g in plan.groups]
        key, idx = field_key(f)
        rhs = "v" if idx is None else f"(v, g[{key!r}][1])" if idx == 0 else f"(g[{key!r}][0], v)"
        lines.append(f"for g, v in zip({optimizer}.param_groups, {literal(vals)}):")
        lines.append(f"    if v is not None:\n        g[{key!r}] = {rhs}")
    lines.append(f"for g in {optimizer}.param_groups:\n    g['initial_lr'] = g['lr']")
    return lines


#: the lowering call a :func:`snippet` that rebuilds the plan ends with, per target
_LOWER_CALL = {
    "torch": "scheduler = bridge.to_torch(plan, {opt})  # step it once per optimizer update",
    "oneflow": "scheduler = bridge.to_oneflow(plan, {opt})  # step it once per optimizer update",
    "mindspore-cell": "lr_cell = bridge.to_mindspore_cell(plan, group={group}, field={field!r})"
                      "  # learning_rate=lr_cell",
}


def snippet(plan: Plan, target: str, *, optimizer: str = "optimizer", group: int = 0, field: str = "lr") -> str:
    """Python source that rebuilds ``plan`` and lowers it for ``target`` (paste into a training script).

    ``target``: ``"torch"``, ``"oneflow"`` or ``"mindspore-cell"``. torch / oneflow: plain
    ``lr_scheduler`` constructors when a native scheduler is an exact twin (what
    :func:`bridge.to_torch` / :func:`bridge.to_oneflow` would build); otherwise, and for
    mindspore-cell, the plan as a dict lowered by sched-bridge at run time.
    """
    import pprint

    if target not in _LOWER_CALL:
        raise SpecError("target", f"must be one of {', '.join(map(repr, _LOWER_CALL))}", target)
    if target == "torch":
        from .torch import native_source

        native = native_source(plan, optimizer, adam=any("betas[0]" in g.fields for g in plan.groups))
        if native is not None:
            return native
    if target == "oneflow":
        from .oneflow import native_source as oneflow_native_source

        native = oneflow_native_source(plan, optimizer)
        if native is not None:
            return native
    body = pprint.pformat(plan.to_dict(), indent=1, width=100, sort_dicts=False)
    return ("import bridge\n\n"
            f"plan = bridge.from_dict({body})\n"
            + _LOWER_CALL[target].format(opt=optimizer, group=group, field=field) + "\n")
