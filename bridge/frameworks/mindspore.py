"""MindSpore 2.x, both directions.

Lowering (IR -> MindSpore)
    :func:`to_mindspore_list` / :func:`to_mindspore_tensor`: the per-step list an
    optimizer takes as ``learning_rate`` (element t = v(t), used by the update with
    ``global_step == t``; past the end MindSpore raises "Gather index out of range").
    :func:`to_mindspore_cell`: a graph-compilable ``LearningRateSchedule``.
    :func:`to_mindspore_group_params`: the ``group_params`` list of an optimizer.

Import (MindSpore -> IR)
    :func:`from_mindspore`: dynamic-lr functions (by name or function), the six
    ``LearningRateSchedule`` cells, ``mindspore.experimental.optim.lr_scheduler``
    objects and bare lists / arrays / 1-D tensors.

MindSpore is imported inside the functions only.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..ir import nodes as n
from ..ir.plan import Field, Group, Plan
from ._source import Call, Recorder, one_line

__all__ = [
    "FLOAT32_EXACT_STEPS", "MindSporePrecisionWarning", "DYNAMIC_WD_OPTIMIZERS", "from_mindspore",
    "mixed_lr_groups", "to_mindspore_cell", "to_mindspore_group_params", "to_mindspore_list", "to_mindspore_scheduler",
    "to_mindspore_source", "to_mindspore_tensor",
]

#: Above this many steps a float32 step counter can no longer represent every step.
FLOAT32_EXACT_STEPS = 1 << 24

#: ``mindspore.nn`` optimizers that accept a Cell as (group) ``weight_decay``
#: (checked: they build without error and apply the decay); ``nn.SGD`` refuses one.
DYNAMIC_WD_OPTIMIZERS = ("Momentum", "Adam", "AdamWeightDecay", "Lamb", "LARS")


class MindSporePrecisionWarning(UserWarning):
    """A MindSpore float32 limit affects this schedule (e.g. a horizon above 2**24 steps)."""


_warned: set = set()


def _warn_once(key: Any, message: str) -> None:
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, MindSporePrecisionWarning, stacklevel=3)


def _ms() -> Any:
    try:
        from .._frameworks import import_framework
    except ImportError:  # pragma: no cover - layer missing
        import mindspore as ms  # noqa: F401
        return ms
    return import_framework("mindspore")


def _check_plan(plan: Any) -> Plan:
    if not isinstance(plan, Plan):
        raise SpecError("plan", "must be a bridge Plan (e.g. Plan.single(node, base=0.1))", plan)
    return plan


def _check_steps(total_steps: Any, name: str = "total_steps") -> int:
    if isinstance(total_steps, bool) or not isinstance(total_steps, (int, np.integer)):
        raise SpecError(name, "must be an int >= 1 (the number of optimizer updates the list covers)",
                        total_steps)
    if total_steps < 1:
        raise SpecError(name, "must be >= 1 (the number of optimizer updates the list covers)", total_steps)
    if total_steps > 2**31 - 1:
        raise SpecError(name, "must fit MindSpore's int32 global_step (< 2**31)", total_steps)
    return int(total_steps)


# ---------------------------------------------------------------------------
# lists
# ---------------------------------------------------------------------------


def to_mindspore_list(plan: Plan, total_steps: int, group: int = 0, field: str = "lr") -> List[float]:
    """Per-step values for a MindSpore optimizer's ``learning_rate`` (or a group's ``lr``).

    Element t is v(t): the optimizer's update with ``global_step == t`` (the first update
    is t = 0) uses element t. MindSpore stores it as float32. Past the last element
    MindSpore raises ``RuntimeError: ... Gather index out of range``, so ``total_steps``
    must cover every update you run.
    """
    plan = _check_plan(plan)
    total_steps = _check_steps(total_steps)
    return plan.group_values(total_steps, field, group).tolist()


def to_mindspore_tensor(plan: Plan, total_steps: int, group: int = 0, field: str = "lr") -> Any:
    """:func:`to_mindspore_list` as a 1-D float32 ``mindspore.Tensor`` (no Python list)."""
    plan = _check_plan(plan)
    total_steps = _check_steps(total_steps)
    ms = _ms()
    return ms.Tensor(plan.group_values(total_steps, field, group).astype(np.float32))


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------

_CLASSES: Dict[str, Any] = {}


def _classes() -> Dict[str, Any]:
    """The Cell classes of :mod:`bridge.frameworks.mindspore_cells` by name (imports MindSpore)."""
    if not _CLASSES:
        _ms()
        from . import mindspore_cells

        _CLASSES.update({k: v for k, v in vars(mindspore_cells).items()
                         if isinstance(v, type) and v.__module__ == mindspore_cells.__name__})
    return _CLASSES


# -- which nodes have a closed form in ops ------------------------------------

def _prod_safe(nd: n.Node, max_local: Optional[int]) -> bool:
    """Chainable update is a pure product whose running product equals closed/base."""
    if isinstance(nd, n.Constant):
        return nd.factor > 0.0
    if isinstance(nd, n.Linear):
        return nd.start_factor > 0.0
    if isinstance(nd, (n.Step, n.MultiStep, n.Exponential)):
        return True
    if isinstance(nd, n.Polynomial):
        return nd.end_value == 0.0 and not nd.cycle
    if isinstance(nd, n.CosineAnnealing):
        eta0 = nd.eta_min == 0.0 and not nd.eta_min_ratio
        return eta0 and max_local is not None and max_local <= nd.T_max
    if isinstance(nd, n.Hold):
        return _prod_safe(nd.schedule, None if max_local is None else max_local // nd.every)
    if isinstance(nd, n.Chain) and nd.mode == "recursive":
        return all(_prod_safe(c, max_local) for c in nd.schedules)
    return False


def _is_reset(nd: n.Node) -> bool:
    """Chainable update is x -> closed(t) (an absolute update) in bridge.semantics."""
    from .. import semantics

    if isinstance(nd, (n.Linear,)) and nd.start_factor == 0.0:
        return True
    if isinstance(nd, n.Polynomial) and nd.cycle:
        return True
    if isinstance(nd, n.Chain):
        return nd.mode == "nested"
    if isinstance(nd, (n.Sequential, n.Windows, n.Hold, n.Shift, n.Plateau, n.Multiplicative)):
        return False
    return type(nd) not in semantics._CHAIN


class _NeedTable(Exception):
    pass


def _starts_sgdr(nd: n.WarmRestarts) -> Tuple[List[int], List[int]]:
    starts, lengths = [0], [nd.T_0]
    while starts[-1] + lengths[-1] < 2**31 - 1 and len(starts) < 64:
        starts.append(starts[-1] + lengths[-1])
        lengths.append(lengths[-1] * nd.T_mult)
    return starts, lengths


def _lower(nd: n.Node, C: Dict[str, Any], horizon: Optional[int]) -> Any:  # noqa: C901
    """Expression cell for ``nd`` (value from ``base``), or raise _NeedTable."""
    if isinstance(nd, n.Constant):
        if nd.total_iters is None:
            return C["Const"](nd.factor, False)
        return C["ConstantCell"](nd.factor, nd.total_iters)
    if isinstance(nd, n.Linear):
        return C["LinearCell"](nd.start_factor, nd.end_factor, nd.total_iters)
    if isinstance(nd, n.Step):
        return C["PowCell"](nd.gamma, nd.step_size, None)
    if isinstance(nd, n.MultiStep):
        return C["PowCell"](nd.gamma, 1, list(nd.milestones))
    if isinstance(nd, n.Exponential):
        return C["PowCell"](nd.gamma, 1, None)
    if isinstance(nd, n.Polynomial):
        return C["PolyCell"](nd.total_iters, nd.power, nd.end_value, nd.cycle)
    if isinstance(nd, n.CosineAnnealing):
        return C["CosCell"](nd.T_max, nd.eta_min, nd.eta_min_ratio, False)
    if isinstance(nd, n.CosineDecay):
        if nd.eta_min is not None:
            return C["CosCell"](nd.decay_steps, nd.eta_min, None, True)
        return C["CosCell"](nd.decay_steps, 0.0, nd.alpha, True)
    if isinstance(nd, n.WarmRestarts):
        if nd.float_log_cycles:
            raise _NeedTable
        starts, lengths = _starts_sgdr(nd)
        peaks = [nd.decay_rate ** i for i in range(len(starts))]
        return C["RestartCell"](starts, lengths, peaks, nd.eta_min, None, None, nd.restart_limit)
    if isinstance(nd, n.CosineRestart):
        cum = np.cumsum(nd.periods)
        starts = [0] + [int(x) for x in cum[:-1]]
        return C["RestartCell"](starts, list(nd.periods), list(nd.restart_weights), nd.eta_min,
                                nd.eta_min_ratio, int(cum[-1]) - 1, None)
    if isinstance(nd, n.OneCycle):
        from .. import semantics

        ends = semantics._phases(nd)
        if nd.max_lr is None:
            mx, rel = 1.0, True
        else:
            mx, rel = nd.max_lr, False
        init = mx / nd.div_factor
        lo = init / nd.final_div_factor
        v = [(init, mx), (mx, init), (init, lo)] if nd.three_phase else [(init, mx), (mx, lo)]
        return C["PhaseCell"](ends, [a for a, _ in v], [b for _, b in v], rel, nd.anneal == "cos", nd.total_steps)
    if isinstance(nd, n.OneCycleMomentum):
        from .. import semantics

        ends = semantics._phases(nd)
        b, m = nd.base_momentum, nd.max_momentum
        v = [(m, b), (b, m), (m, m)] if nd.three_phase else [(m, b), (b, m)]
        return C["PhaseCell"](ends, [a for a, _ in v], [c for _, c in v], False, nd.anneal == "cos",
                              nd.total_steps)
    if isinstance(nd, n.Cyclic):
        down = nd.step_size_down if nd.step_size_down is not None else nd.step_size_up
        return C["CyclicCell"](nd.high, nd.low, nd.step_size_up, down, nd.mode, nd.gamma, nd.inverted)
    if isinstance(nd, n.ExponentialDecay):
        return C["DecayCell"](0, nd.decay_rate, nd.decay_steps, nd.staircase)
    if isinstance(nd, n.NaturalExpDecay):
        return C["DecayCell"](1, nd.decay_rate, nd.decay_steps, nd.staircase)
    if isinstance(nd, n.InverseTimeDecay):
        return C["DecayCell"](2, nd.decay_rate, nd.decay_steps, nd.staircase)
    if isinstance(nd, n.PiecewiseConstant):
        return C["PiecewiseCell"](list(nd.boundaries), list(nd.values), nd.relative, nd.inclusive)
    if isinstance(nd, n.InverseSqrt):
        W = nd.warmup_steps
        return C["InvSqrtCell"](W, nd.timescale if nd.timescale is not None else (W or 10_000))
    if isinstance(nd, n.Noam):
        return C["NoamCell"](nd.d_model, nd.warmup_steps, nd.offset)
    if isinstance(nd, n.WarmupStableDecay):
        return C["WsdCell"](nd.warmup_steps, nd.stable_steps, nd.decay_steps, nd.min_lr_ratio,
                            nd.warmup_type, nd.decay_type, nd.num_cycles)
    if isinstance(nd, n.Table):
        return C["TableCell"](np.asarray(nd.values), nd.relative)
    if isinstance(nd, n.Sequential):
        from .. import semantics

        if semantics.needs_scan(nd):
            raise _NeedTable
        out = _lower(nd.schedules[0], C, horizon)
        for child, m, r in zip(nd.schedules[1:], nd.milestones, nd.rescale or ()):
            out = C["Switch"](out, _lower(child, C, horizon), m, m if r else 0)
        return out
    if isinstance(nd, n.Chain):
        kids = list(nd.schedules)
        if nd.mode == "recursive" and len(kids) > 1:
            # value = the last absolute child's closed form times the later multiplicative ones
            start = 0
            for i, k in enumerate(kids):
                if _is_reset(k):
                    start = i
                elif not _prod_safe(k, horizon):
                    raise _NeedTable
            kids = kids[start:]
        out = _lower(kids[0], C, horizon)
        for k in kids[1:]:
            out = C["Nest"](out, _lower(k, C, horizon))
        return out
    if isinstance(nd, n.Windows):
        ws = list(nd.windows)
        lasts = [None if w.end is None else w.end - 1 - w.begin for w in ws]
        if len(ws) > 1 and not all(_prod_safe(w.schedule, last if last is not None else horizon)
                                   for w, last in zip(ws, lasts)):
            raise _NeedTable
        if len(ws) == 1 and not (_prod_safe(ws[0].schedule, lasts[0] if lasts[0] is not None else horizon)
                                 or _is_reset(ws[0].schedule) or _telescopes(ws[0].schedule, lasts[0])):
            raise _NeedTable
        out = None
        for w, last in zip(ws, lasts):
            cell = C["WindowCell"](_lower(w.schedule, C, last), w.begin, last, w.every)
            out = cell if out is None else C["Nest"](out, cell)
        return out
    if isinstance(nd, n.Hold):
        return C["Reindex"](_lower(nd.schedule, C, None if horizon is None else horizon // nd.every), nd.every, 0)
    if isinstance(nd, n.Shift):
        return C["Reindex"](_lower(nd.schedule, C, None if horizon is None else horizon + nd.offset), 1, nd.offset)
    raise _NeedTable  # Plateau, Lambda, Multiplicative, unknown kinds


def _telescopes(nd: n.Node, last: Optional[int]) -> bool:
    """Affine chainable updates that compose to the closed form (a window run alone)."""
    if isinstance(nd, n.Polynomial):
        return not nd.cycle
    if isinstance(nd, n.CosineAnnealing):
        return last is not None and last <= nd.T_max
    if isinstance(nd, n.CosineRestart):
        return True
    return False


def _native(nd: n.Node, base: float, ms_lrs: Any) -> Any:
    """MindSpore's own cell when it reproduces ``nd`` within the float32 cell contract."""
    if not (isinstance(base, float) and base > 0.0):
        return None
    if isinstance(nd, n.Linear) and nd.start_factor == 0.0 and nd.end_factor == 1.0:
        return ms_lrs.WarmUpLR(base, nd.total_iters)
    if isinstance(nd, n.ExponentialDecay) and 0.0 < nd.decay_rate != 1.0:
        # the cell uses a float32 decay_rate: error ~ p*rel_err(rate), p up to ln(1e6)/|ln rate|
        rel = abs(float(np.float32(nd.decay_rate)) - nd.decay_rate) / nd.decay_rate
        if 13.9 * rel / abs(math.log(nd.decay_rate)) > 1e-6:
            return None
        return ms_lrs.ExponentialDecayLR(base, float(nd.decay_rate), nd.decay_steps, nd.staircase)
    if isinstance(nd, n.InverseTimeDecay) and nd.decay_rate > 0.0:
        return ms_lrs.InverseDecayLR(base, float(nd.decay_rate), nd.decay_steps, nd.staircase)
    if isinstance(nd, n.NaturalExpDecay) and nd.decay_rate > 0.0:
        if nd.staircase:
            return ms_lrs.NaturalExpDecayLR(base, nd.decay_rate / nd.decay_steps, nd.decay_steps, True)
        if nd.decay_steps == 1:
            return ms_lrs.NaturalExpDecayLR(base, float(nd.decay_rate), 1, False)
        return None
    # CosineDecayLR / PolynomialDecayLR compute 1+sin(..) and 1-p in float32: near a floor
    # below ~10% of the peak their relative error exceeds 2e-6, so use them only above it.
    if isinstance(nd, n.CosineDecay):
        floor = nd.eta_min if nd.eta_min is not None else nd.alpha * base
        if 0.1 * base <= floor < base:
            return ms_lrs.CosineDecayLR(float(floor), base, nd.decay_steps)
        return None
    if isinstance(nd, n.Polynomial) and not nd.cycle and nd.power == 1.0 and 0.1 * base <= nd.end_value < base:
        return ms_lrs.PolynomialDecayLR(base, float(nd.end_value), nd.total_iters, 1.0)
    return None


def to_mindspore_cell(plan: Plan, group: int = 0, field: str = "lr", *, sample: Optional[int] = None,
                      native: bool = True, optimizer: Any = None) -> Any:
    """A ``mindspore.nn.learning_rate_schedule.LearningRateSchedule`` computing the schedule.

    ``construct(global_step)`` evaluates the schedule with MindSpore ops (int32 step
    arithmetic, float32 values) and compiles in GRAPH_MODE, as an optimizer's
    ``learning_rate`` / ``weight_decay`` or inside ``ms.jit``. MindSpore's own cells are
    used where they reproduce the plan within the float32 contract (``native=False``
    never uses them). Kinds without an ops closed form become a table-lookup cell over
    ``sample`` steps (else ``plan.total_steps``); past the table's end the last value
    holds. Python callables (lambda / multiplicative) need an explicit ``sample=N``.
    ``optimizer``: the optimizer class or name the cell is for (checks that a
    weight-decay cell is accepted there).
    """
    C = _classes()  # first: a missing MindSpore is reported by _ms()
    import mindspore.nn.learning_rate_schedule as ms_lrs

    cell = _cell_tree(plan, group, field, sample, native, optimizer, C, ms_lrs)
    cell.bridge_plan = plan
    return cell


def _cell_tree(plan: Plan, group: int, field: str, sample: Optional[int], native: bool, optimizer: Any,
               C: Any, ms_lrs: Any) -> Any:
    """The cell for ``to_mindspore_cell``, built from the classes in ``C`` / ``ms_lrs``.

    Called with the real classes, or with ``_source.Recorder`` stand-ins that
    write the same constructor calls out as Python source (:func:`to_mindspore_source`).
    """
    plan = _check_plan(plan)
    f = plan._field(group, field)
    if sample is not None:
        sample = _check_steps(sample, "sample")
    if field == "weight_decay":
        _check_wd_optimizer(optimizer, f.schedule is not None)
    nd, base = f.schedule, float(f.base)
    horizon = sample if sample is not None else plan.total_steps
    if horizon is not None and horizon > FLOAT32_EXACT_STEPS:
        _warn_once(("horizon", horizon > 0), (
            f"the schedule runs {horizon} steps > 2**24: MindSpore cells cast global_step to float32, "
            "so steps above 16777216 are rounded (to even numbers up to 2**25, multiples of 4 up to 2**26, ...); "
            "use to_mindspore_list / to_mindspore_tensor for exact per-step values"))
    if nd is None:
        return C["Schedule"](C["Const"](base, True), base, f"constant {base!r}")
    if nd.opaque:
        if sample is None:
            raise UnsupportedError(
                f"groups[{group}].{field}: the schedule holds a Python callable ({_opaque_names(nd)}), which "
                "MindSpore cannot compile; pass sample=N to tabulate its first N steps into a lookup cell, "
                "or call plan.tabulate(N) yourself")
    if native and not nd.opaque:
        cell = _native(nd, base, ms_lrs)
        if cell is not None:
            return cell
    expr = None
    if not nd.opaque:
        try:
            expr = _lower(nd, C, horizon)
        except _NeedTable:
            expr = None
    if expr is None:
        if horizon is None:
            raise UnsupportedError(
                f"groups[{group}].{field}: {nd.kind} (as composed here) has no closed form in MindSpore ops; "
                "pass sample=N (or set plan.total_steps) to build a table-lookup cell of N steps")
        if isinstance(nd, n.Plateau) and nd.metrics is None:
            raise UnsupportedError("plateau: ReduceLROnPlateau depends on run-time metrics and cannot be "
                                   "precomputed into a cell; step MindSpore's experimental ReduceLROnPlateau "
                                   "instead, or give the node a 'metrics' trace")
        vals = plan.group_values(horizon, field, group)
        expr = C["TableCell"](vals, False)
        desc = f"table of {horizon} steps of {nd.describe()}"
    else:
        desc = nd.describe()
    return C["Schedule"](expr, base, desc)


#: Most table entries :func:`to_mindspore_source` writes inline (~20 bytes each).
SOURCE_TABLE_LIMIT = 100_000


def _calls(c: Call) -> Iterator[Call]:
    yield c
    for a in c.args:
        if isinstance(a, Call):
            yield from _calls(a)


def to_mindspore_source(plan: Plan, group: Optional[int] = None, field: str = "lr", *,
                        sample: Optional[int] = None, native: bool = True, name: str = "make_schedule") -> str:
    """Python source of a module that builds :func:`to_mindspore_cell`'s cells without sched-bridge.

    The module holds the cell classes (:mod:`bridge.frameworks.mindspore_cells`, copied)
    and ``name(group=0)``, which returns the cell ``to_mindspore_cell(plan, group, field)``
    builds (same classes, same arguments: the same float32 values); ``group=None`` writes
    every group, else only that one. It imports only MindSpore and NumPy; MindSpore is not
    needed to write it. Tables are written inline (at most :data:`SOURCE_TABLE_LIMIT` values).
    """
    if not name.isidentifier():
        raise SpecError("name", "must be a Python identifier", name)
    plan = _check_plan(plan)
    groups = range(plan.n_groups) if group is None else [group]
    trees = [_cell_tree(plan, g, field, sample, native, None, Recorder(), Recorder("nn.")) for g in groups]
    for call in (c for t in trees for c in _calls(t)):
        for a in call.args:
            if isinstance(a, np.ndarray) and a.size > SOURCE_TABLE_LIMIT:
                raise UnsupportedError(
                    f"the cell needs a table of {a.size} values, more than the {SOURCE_TABLE_LIMIT} a written "
                    "module holds inline; lower a shorter sample, or use a list "
                    "(to_mindspore_list / sched-bridge lower --to mindspore-list)")
    from pathlib import Path

    from .. import __version__

    def describe(tree: Call) -> str:
        return one_line(tree.args[2] if tree.name == "Schedule" else f"MindSpore's own {tree.name}")

    cells = Path(__file__).with_name("mindspore_cells.py").read_text(encoding="utf-8")
    doc_end = cells.index('"""', 3) + 3
    head = (f"# {field!r} of {one_line(plan.source or 'a sched-bridge plan')}\n"
            f'"""MindSpore LearningRateSchedule cells for the {field!r} of '
            f'{"each param group" if group is None else f"param group {group}"}.\n\n'
            f"Written by sched-bridge {__version__} (bridge.to_mindspore_source); needs only MindSpore\n"
            f"and NumPy. ``{name}(group)`` returns the cell that bridge.to_mindspore_cell builds for\n"
            "that param group: float32 values, int32 step arithmetic, compiles in GRAPH_MODE.\n\n"
            f"    from <this module> import {name}\n"
            f"    opt = nn.Momentum(params, learning_rate={name}(), momentum=0.9)\n"
            '"""')
    lines = [f"def {name}(group: int = {groups[0]}) -> LearningRateSchedule:",
             f'    """The {field!r} schedule of a param group, as a cell (a new one each call)."""']
    for g, tree in zip(groups, trees):
        lines.append(f"    if group == {g}:  # {describe(tree)}")
        lines.append(f"        return {tree.source('        ')}")
    lines.append(f"    raise ValueError(f\"group must be one of {list(groups)}, got {{group!r}}\")")
    return head + cells[doc_end:].rstrip() + "\n\n\n" + "\n".join(lines) + "\n"


def _opaque_names(nd: n.Node) -> str:
    return ", ".join(sorted({x.kind for x in nd.walk() if isinstance(x, (n.Lambda, n.Multiplicative))}))


def _opt_name(optimizer: Any) -> Optional[str]:
    if optimizer is None:
        return None
    if isinstance(optimizer, str):
        return optimizer.rsplit(".", 1)[-1]
    if isinstance(optimizer, type):
        return optimizer.__name__
    return type(optimizer).__name__


def _check_wd_optimizer(optimizer: Any, dynamic: bool) -> None:
    name = _opt_name(optimizer)
    if dynamic and name in ("SGD",):
        raise UnsupportedError(
            "weight_decay: mindspore.nn.SGD rejects a dynamic weight-decay cell (TypeError 'dynamic weight "
            "decay is currently not supported'); use an optimizer that accepts one, e.g. "
            f"{', '.join('nn.' + x for x in DYNAMIC_WD_OPTIMIZERS)} (nn.Momentum for SGD with momentum), "
            "or keep weight_decay constant")


# ---------------------------------------------------------------------------
# group params
# ---------------------------------------------------------------------------


def to_mindspore_group_params(plan: Plan, params_per_group: Sequence[Sequence[Any]],
                              total_steps: Optional[int] = None, *, lr_as: str = "list",
                              order_params: Optional[Sequence[Any]] = None,
                              optimizer: Any = None, sample: Optional[int] = None) -> List[Dict[str, Any]]:
    """The ``group_params`` list for a ``mindspore.nn`` optimizer, one dict per plan group.

    ``lr``: a per-step list (``lr_as="list"``, needs ``total_steps``), a cell
    (``"cell"``) or a float (``"float"``, only for unscheduled lrs). ``weight_decay``
    (when the plan has it): a float, or a cell when scheduled (nn.SGD refuses
    those; pass ``optimizer`` to check). ``order_params`` goes last, alone in its dict.
    Static lrs are emitted as constant lists / cells when another group is dynamic,
    which avoids MindSpore's ``lr + 1.0 - 1.0`` float32 wrap (0.05 -> 0.04999995).
    """
    plan = _check_plan(plan)
    if lr_as not in ("list", "cell", "float"):
        raise SpecError("lr_as", "must be 'list', 'cell' or 'float'", lr_as)
    if isinstance(params_per_group, (str, bytes)) or not hasattr(params_per_group, "__len__"):
        raise SpecError("params_per_group", "must be a list with one list of Parameters per plan group",
                        params_per_group)
    if len(params_per_group) != plan.n_groups:
        raise SpecError("params_per_group", f"must have one entry per plan group ({plan.n_groups})",
                        len(params_per_group))
    if lr_as == "list":
        if total_steps is None:
            raise SpecError("total_steps", "is needed with lr_as='list' (the length of each lr list)", None)
        total_steps = _check_steps(total_steps)
    for i, g in enumerate(plan.groups):
        for name, fld in g.fields.items():
            if fld.schedule is not None and name not in ("lr", "weight_decay"):
                raise UnsupportedError(
                    f"groups[{i}].{name}: MindSpore group dicts take only params, lr, weight_decay, "
                    f"grad_centralization and order_params, so a scheduled {name!r} cannot be expressed; "
                    "use mindspore.experimental.optim with an IR-driven loop, or keep it constant")
    dyn = [plan._field(i, "lr").schedule is not None for i in range(plan.n_groups)]
    if lr_as == "float" and any(dyn):
        raise UnsupportedError(
            f"lr_as='float': groups {[i for i, d in enumerate(dyn) if d]} have a scheduled lr; "
            "use lr_as='list' or 'cell'")
    out: List[Dict[str, Any]] = []
    for i, params in enumerate(params_per_group):
        d: Dict[str, Any] = {"params": list(params)}
        base = float(plan._field(i, "lr").base)
        if lr_as == "float":
            d["lr"] = base
        elif lr_as == "list":
            d["lr"] = to_mindspore_list(plan, total_steps, i, "lr")  # type: ignore[arg-type]
        else:
            d["lr"] = to_mindspore_cell(plan, i, "lr", sample=sample)
        if "weight_decay" in plan.groups[i].fields:
            wf = plan.groups[i].fields["weight_decay"]
            if wf.schedule is None:
                d["weight_decay"] = float(wf.base)
            else:
                _check_wd_optimizer(optimizer, True)
                if lr_as == "list" and total_steps is not None:
                    C = _classes()
                    vals = plan.group_values(total_steps, "weight_decay", i)
                    d["weight_decay"] = C["Schedule"](C["TableCell"](vals, False), float(wf.base),
                                                      f"table of {total_steps} weight-decay steps")
                else:
                    d["weight_decay"] = to_mindspore_cell(plan, i, "weight_decay", sample=sample)
        out.append(d)
    if order_params is not None:
        out.append({"order_params": list(order_params)})
    return out


def to_mindspore_scheduler(plan: Plan, optimizer: Any, *, last_epoch: int = -1) -> Any:
    """A ``mindspore.experimental.optim.lr_scheduler.LRScheduler`` that sets each group's lr from ``plan``.

    For ``mindspore.experimental.optim`` optimizers (torch-style ``param_groups``),
    stepped like torch's: after construction group ``g`` holds ``plan`` value 0;
    after k ``step()`` calls, value k. The step is counted in Python (exact past
    2**24, where MindSpore's float32 ``last_epoch`` is not). PyNative only.
    """
    plan = _check_plan(plan)
    ms = _ms()
    from mindspore.experimental.optim import Optimizer
    from mindspore.experimental.optim.lr_scheduler import LRScheduler

    from ..ir.plan import Cursor

    if not isinstance(optimizer, Optimizer):
        raise SpecError("optimizer", "must be a mindspore.experimental.optim optimizer "
                        "(mindspore.nn optimizers take lists or cells: use to_mindspore_group_params)",
                        type(optimizer).__name__)
    if len(optimizer.param_groups) != plan.n_groups:
        raise SpecError("plan", f"must have one group per optimizer param group ({len(optimizer.param_groups)})",
                        plan.n_groups)
    for i, g in enumerate(plan.groups):
        for name, fld in g.fields.items():
            if fld.schedule is not None and name != "lr":
                raise UnsupportedError(
                    f"groups[{i}].{name}: mindspore.experimental optimizers read {name} as a float once "
                    "per group; only lr can follow a schedule")

    class PlanLRScheduler(LRScheduler):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self._cursor = Cursor(plan, "lr")
            self._t = int(last_epoch)
            super().__init__(optimizer, last_epoch)

        def get_lr(self) -> List[Any]:
            return [ms.Tensor(v, ms.float32) for v in self._cursor(self._t)]

        def step(self, epoch: Optional[int] = None) -> bool:
            if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer))
                                      or epoch < 0):
                raise SpecError("epoch", "must be an int >= 0 (the update whose lr to set)", epoch)
            self._t = self._t + 1 if epoch is None else int(epoch)
            ms.ops.assign(self.last_epoch, ms.Tensor(float(self._t), ms.float32))
            for i, v in enumerate(self.get_lr()):
                ms.ops.assign(self._last_lr[i], v)
            return True

    sched = PlanLRScheduler()
    sched.bridge_plan = plan
    return sched


def mixed_lr_groups(group_params: Sequence[Dict[str, Any]]) -> List[int]:
    """Indices of groups whose static float lr MindSpore would wrap as ``lr + 1.0 - 1.0`` (float32)
    because another group's lr is dynamic (a list, 1-D tensor or cell)."""
    def dynamic(v: Any) -> bool:
        return not isinstance(v, (int, float)) and not (hasattr(v, "ndim") and v.ndim == 0)

    lrs = [g.get("lr") for g in group_params if "order_params" not in g]
    if not any(v is not None and dynamic(v) for v in lrs):
        return []
    return [i for i, v in enumerate(lrs) if isinstance(v, (int, float))]


# ---------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------

_SIGS: Dict[str, Tuple[Tuple[str, ...], Dict[str, Any]]] = {
    "piecewise_constant_lr": (("milestone", "learning_rates"), {}),
    "exponential_decay_lr": (("learning_rate", "decay_rate", "total_step", "step_per_epoch", "decay_epoch",
                              "is_stair"), {"is_stair": False}),
    "natural_exp_decay_lr": (("learning_rate", "decay_rate", "total_step", "step_per_epoch", "decay_epoch",
                              "is_stair"), {"is_stair": False}),
    "inverse_decay_lr": (("learning_rate", "decay_rate", "total_step", "step_per_epoch", "decay_epoch",
                          "is_stair"), {"is_stair": False}),
    "cosine_decay_lr": (("min_lr", "max_lr", "total_step", "step_per_epoch", "decay_epoch"), {}),
    "polynomial_decay_lr": (("learning_rate", "end_learning_rate", "total_step", "step_per_epoch", "decay_epoch",
                             "power", "update_decay_epoch"), {"update_decay_epoch": False}),
    "warmup_lr": (("learning_rate", "total_step", "step_per_epoch", "warmup_epoch"), {}),
}


def _bind(name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    names, defaults = _SIGS[name]
    if len(args) > len(names):
        raise SpecError(name, f"takes at most {len(names)} arguments ({', '.join(names)})", len(args))
    got: Dict[str, Any] = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise SpecError(f"{name}.{k}", f"unknown argument (arguments: {', '.join(names)})", v)
        if k in got:
            raise SpecError(f"{name}.{k}", "given twice", v)
        got[k] = v
    for k, v in defaults.items():
        got.setdefault(k, v)
    missing = [k for k in names if k not in got]
    if missing:
        raise SpecError(f"{name}.{missing[0]}", "is required", None, show_value=False)
    return got


def _pint(path: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise SpecError(path, "must be a positive int", v)
    return int(v)


def _real(path: str, v: Any, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v):
        raise SpecError(path, "must be a finite number", v)
    v = float(v)
    if positive and v <= 0:
        raise SpecError(path, "must be > 0", v)
    if nonneg and v < 0:
        raise SpecError(path, "must be >= 0", v)
    return v


def _flag(path: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise SpecError(path, "must be a bool", v)
    return bool(v)


def _from_function(name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Plan:
    a = _bind(name, args, kwargs)
    src = f"mindspore.nn.{name}"
    if name == "piecewise_constant_lr":
        ms_, lrs = a["milestone"], a["learning_rates"]
        if not isinstance(ms_, (list, tuple)) or not isinstance(lrs, (list, tuple)):
            raise SpecError(name, "milestone and learning_rates must be lists", (ms_, lrs))
        if len(ms_) != len(lrs) or not ms_:
            raise SpecError(f"{name}.learning_rates", f"must have one value per milestone ({len(ms_)})", list(lrs))
        ends = [_pint(f"{name}.milestone[{i}]", m) for i, m in enumerate(ms_)]
        vals = [_real(f"{name}.learning_rates[{i}]", x) for i, x in enumerate(lrs)]
        for i in range(1, len(ends)):
            if ends[i] < ends[i - 1]:
                raise SpecError(f"{name}.milestone[{i}]", f"must be >= milestone[{i - 1}] ({ends[i - 1]}); "
                                "milestones are cumulative end steps", ends[i])
        bounds: List[int] = []
        values: List[float] = []
        prev = 0
        for e, v in zip(ends, vals):
            if e == prev:
                continue  # an empty segment
            if values:
                bounds.append(prev)
            values.append(v)
            prev = e
        node: n.Node = n.PiecewiseConstant(tuple(bounds), tuple(values))
        return Plan.single(node, base=values[0], total_steps=ends[-1], source=src)
    total = _pint(f"{name}.total_step", a["total_step"])
    spe = _pint(f"{name}.step_per_epoch", a["step_per_epoch"])
    if name in ("exponential_decay_lr", "natural_exp_decay_lr", "inverse_decay_lr"):
        lr = _real(f"{name}.learning_rate", a["learning_rate"], positive=True)
        rate = _real(f"{name}.decay_rate", a["decay_rate"], positive=True)
        de = _pint(f"{name}.decay_epoch", a["decay_epoch"])
        stair = _flag(f"{name}.is_stair", a["is_stair"])
        if name == "exponential_decay_lr":
            node = n.ExponentialDecay(rate, de, stair)
        elif name == "inverse_decay_lr":
            node = n.InverseTimeDecay(rate, de, stair)
        elif stair:  # exp(-rate * floor(E/de) * de)
            node = n.NaturalExpDecay(rate * de, de, True)
        else:  # MindSpore ignores decay_epoch here: exp(-rate * E)
            node = n.NaturalExpDecay(rate, 1, False)
        return Plan.single(_hold(node, spe), base=lr, total_steps=total, source=src)
    if name == "cosine_decay_lr":
        lo = _real(f"{name}.min_lr", a["min_lr"], nonneg=True)
        hi = _real(f"{name}.max_lr", a["max_lr"], positive=True)
        if lo >= hi:
            raise SpecError(f"{name}.max_lr", f"must be greater than min_lr ({lo})", hi)
        de = _pint(f"{name}.decay_epoch", a["decay_epoch"])
        return Plan.single(_hold(n.CosineDecay(de, eta_min=lo), spe), base=hi, total_steps=total, source=src)
    if name == "polynomial_decay_lr":
        lr = _real(f"{name}.learning_rate", a["learning_rate"], positive=True)
        end = _real(f"{name}.end_learning_rate", a["end_learning_rate"], nonneg=True)
        power = _real(f"{name}.power", a["power"], positive=True)
        de = _pint(f"{name}.decay_epoch", a["decay_epoch"])
        upd = _flag(f"{name}.update_decay_epoch", a["update_decay_epoch"])
        return Plan.single(_hold(_poly(de, power, end, upd), spe), base=lr, total_steps=total, source=src)
    # warmup_lr
    lr = _real(f"{name}.learning_rate", a["learning_rate"], nonneg=True)
    we = _pint(f"{name}.warmup_epoch", a["warmup_epoch"])
    return Plan.single(_hold(n.Linear(0.0, 1.0, we), spe), base=lr, total_steps=total, source=src)


def _hold(node: n.Node, every: int) -> n.Node:
    return node if every == 1 else n.Hold(node, every)


def _poly(T: int, power: float, end: float, update: bool) -> n.Node:
    """MindSpore polynomial decay; ``update``: the horizon grows to T*ceil(t/T) (t=0 counts as 0,
    unlike OneFlow's cycle=True, which counts it as 1)."""
    plain = n.Polynomial(T, power, end)
    if not update:
        return plain
    return n.Sequential((plain, n.Shift(n.Polynomial(T, power, end, cycle=True), 1)), (1,))


def _attr(obj: Any, name: str) -> Any:
    v = getattr(obj, name)
    if hasattr(v, "asnumpy"):
        v = v.asnumpy()
    if isinstance(v, np.ndarray):
        v = v.item() if v.size == 1 else v.tolist()
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _from_cell(obj: Any, cls: str) -> Plan:
    src = f"mindspore.nn.{cls}"
    if cls == "ExponentialDecayLR":
        node: n.Node = n.ExponentialDecay(_attr(obj, "decay_rate"), _attr(obj, "decay_steps"), _attr(obj, "is_stair"))
        base = _attr(obj, "learning_rate")
    elif cls == "NaturalExpDecayLR":
        rate, ds = _attr(obj, "decay_rate"), _attr(obj, "decay_steps")
        # the cell computes exp(-rate*step), or exp(-rate*floor(step/ds)*ds) with is_stair
        node = n.NaturalExpDecay(rate * ds, ds, True) if _attr(obj, "is_stair") else n.NaturalExpDecay(rate, 1)
        base = _attr(obj, "learning_rate")
    elif cls == "InverseDecayLR":
        node = n.InverseTimeDecay(_attr(obj, "decay_rate"), _attr(obj, "decay_steps"), _attr(obj, "is_stair"))
        base = _attr(obj, "learning_rate")
    elif cls == "CosineDecayLR":
        node = n.CosineDecay(_attr(obj, "decay_steps"), eta_min=_attr(obj, "min_lr"))
        base = _attr(obj, "max_lr")
    elif cls == "PolynomialDecayLR":
        node = _poly(_attr(obj, "decay_steps"), _attr(obj, "power"), _attr(obj, "end_learning_rate"),
                     bool(_attr(obj, "update_decay_steps")))
        base = _attr(obj, "start_learning_rate")
    elif cls == "WarmUpLR":
        node = n.Linear(0.0, 1.0, _attr(obj, "warmup_steps"))
        base = _attr(obj, "learning_rate")
    else:  # pragma: no cover - guarded by caller
        raise UnsupportedError(cls)
    return Plan.single(node, base=float(base), source=src)


_EXP_SCHEDULERS = ("StepLR", "LinearLR", "ExponentialLR", "PolynomialLR", "LambdaLR", "MultiplicativeLR",
                   "MultiStepLR", "ConstantLR", "SequentialLR", "CyclicLR", "CosineAnnealingWarmRestarts",
                   "CosineAnnealingLR", "ReduceLROnPlateau")


def _exp_node(s: Any, g: int) -> n.Node:  # noqa: C901
    cls = type(s).__name__
    if cls == "StepLR":
        return n.Step(_attr(s, "step_size"), _attr(s, "gamma"))
    if cls == "LinearLR":
        return n.Linear(_attr(s, "start_factor"), _attr(s, "end_factor"), _attr(s, "total_iters"))
    if cls == "ExponentialLR":
        return n.Exponential(_attr(s, "gamma"))
    if cls == "PolynomialLR":
        return n.Polynomial(_attr(s, "total_iters"), _attr(s, "power"))
    if cls == "MultiStepLR":
        ms_ = sorted(itertools.chain.from_iterable([k] * c for k, c in s.milestones.items()))
        return n.MultiStep(tuple(ms_), _attr(s, "gamma"))
    if cls == "ConstantLR":
        return n.Constant(_attr(s, "factor"), _attr(s, "total_iters"))
    if cls == "CosineAnnealingLR":
        return n.CosineAnnealing(_attr(s, "T_max"), _attr(s, "eta_min"))
    if cls == "CosineAnnealingWarmRestarts":
        return n.WarmRestarts(int(_attr(s, "T_0")), int(_attr(s, "T_mult")), float(_attr(s, "eta_min")))
    if cls == "LambdaLR":
        fn = s.lr_lambdas[g]
        return n.Lambda(_int_arg(fn), getattr(fn, "__name__", "lambda"))
    if cls == "MultiplicativeLR":
        fn = s.lr_lambdas[g]
        return n.Multiplicative(_int_arg(fn), getattr(fn, "__name__", "multiplicative"))
    if cls == "CyclicLR":
        if getattr(s, "_scale_fn_custom", None) is not None:
            raise UnsupportedError("CyclicLR with a custom scale_fn: sample it into a table (bridge.tabulate)")
        up = int(round(s.total_step_size * s.step_up_ratio))
        return n.Cyclic(high=float(_attr_i(s.max_lrs[g])), low=float(_attr_i(s.base_lrs[g])), step_size_up=up,
                        step_size_down=int(s.total_step_size) - up, mode=s.mode, gamma=float(s.gamma))
    if cls == "SequentialLR":
        kids = tuple(_exp_node(c, g) for c in s._schedulers)
        return n.Sequential(kids, tuple(int(m) for m in s.milestones))
    if cls == "ReduceLROnPlateau":
        return n.Plateau(mode=s.mode, factor=float(s.factor), patience=int(s.patience),
                         threshold=float(s.threshold), threshold_mode=s.threshold_mode,
                         cooldown=int(s.cooldown), min_lr=float(_attr_i(s.min_lrs[g])), eps=float(s.eps))
    raise UnsupportedError(f"mindspore.experimental.optim.lr_scheduler.{cls} is not supported; "
                           f"supported: {', '.join(_EXP_SCHEDULERS)}")


def _attr_i(v: Any) -> Any:
    if hasattr(v, "asnumpy"):
        return v.asnumpy().item()
    return v


def _int_arg(fn: Callable[[Any], Any]) -> Callable[[int], float]:
    def call(t: int) -> float:
        return float(_attr_i(fn(t)))

    call.__name__ = getattr(fn, "__name__", "fn")
    return call


def _from_experimental(s: Any) -> Plan:
    opt = s.optimizer
    if type(s).__name__ in ("SequentialLR", "ReduceLROnPlateau"):
        bases = [float(_attr_i(g.get("initial_lr", g["lr"]))) for g in opt.param_groups]
    else:
        bases = [float(_attr_i(b)) for b in s.base_lrs]
    groups = tuple(Group({"lr": Field(b, _exp_node(s, i))}) for i, b in enumerate(bases))
    return Plan(groups, source=f"mindspore.experimental.optim.lr_scheduler.{type(s).__name__}")


def from_mindspore(obj_or_name: Any, *args: Any, **kwargs: Any) -> Plan:
    """Read a MindSpore schedule into a :class:`~bridge.ir.Plan`.

    - a dynamic-lr function name (or the function) plus its arguments, e.g.
      ``from_mindspore("cosine_decay_lr", 0.0, 1.0, 12, 2, 4)``: per-step values
      use the epoch floor(i/step_per_epoch) (an IR ``hold``); ``plan.total_steps`` is
      ``total_step`` (the list's length);
    - a ``LearningRateSchedule`` cell (ExponentialDecayLR, NaturalExpDecayLR,
      InverseDecayLR, CosineDecayLR, PolynomialDecayLR, WarmUpLR) or a cell made by
      :func:`to_mindspore_cell`;
    - a ``mindspore.experimental.optim.lr_scheduler`` object (torch names and
      semantics; read from its construction, whatever it has been stepped since);
    - a list / tuple / NumPy array / 1-D Tensor of per-step values: a table that
      ends where the list ends (``after='error'``, as MindSpore raises there).
    """
    if callable(obj_or_name) and getattr(obj_or_name, "__name__", None) in _SIGS \
            and not hasattr(obj_or_name, "construct"):
        obj_or_name = obj_or_name.__name__
    if isinstance(obj_or_name, str):
        name = obj_or_name.rsplit(".", 1)[-1]
        if name not in _SIGS:
            import difflib

            close = difflib.get_close_matches(name, list(_SIGS), n=1)
            raise SpecError("name", "unknown MindSpore dynamic-lr function (one of: " + ", ".join(_SIGS) + ")"
                            + (f"; did you mean {close[0]!r}?" if close else ""), obj_or_name)
        return _from_function(name, args, kwargs)
    if args or kwargs:
        raise SpecError("from_mindspore", "extra arguments are only for dynamic-lr function names",
                        (args, kwargs))
    bp = getattr(obj_or_name, "bridge_plan", None)
    if isinstance(bp, Plan):
        return bp
    mro = [c.__name__ for c in type(obj_or_name).__mro__]
    for cls in ("ExponentialDecayLR", "NaturalExpDecayLR", "InverseDecayLR", "CosineDecayLR", "PolynomialDecayLR",
                "WarmUpLR"):
        if cls in mro:
            return _from_cell(obj_or_name, cls)
    mod = type(obj_or_name).__module__ or ""
    if "lr_scheduler" in mod and hasattr(obj_or_name, "optimizer"):
        return _from_experimental(obj_or_name)
    if "LearningRateSchedule" in mro:
        raise UnsupportedError(
            f"{type(obj_or_name).__name__}: a custom LearningRateSchedule cannot be read; evaluate it on "
            "Tensor(range(N), int32) and pass the values (a table)")
    vals = obj_or_name
    if hasattr(vals, "asnumpy"):
        vals = vals.asnumpy()
    if isinstance(vals, (list, tuple, np.ndarray)):
        if isinstance(vals, (list, tuple)):
            for i, x in enumerate(vals):
                if isinstance(x, (list, tuple)):
                    break  # the shape check below names it
                if isinstance(x, bool) or not isinstance(x, (int, float, np.number)):
                    raise SpecError(f"values[{i}]", "must be a number (MindSpore refuses other types)", x)
        try:
            arr = np.asarray(vals, dtype=np.float64) if not isinstance(vals, np.ndarray) else vals.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise SpecError("values", f"must be a 1-D list of numbers ({e})", None, show_value=False) from None
        if arr.ndim != 1 or arr.size == 0:
            raise SpecError("values", "must be a non-empty 1-D list of per-step values", np.shape(arr))
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
        if bad.size:
            raise SpecError(f"values[{int(bad[0])}]", "must be a finite number >= 0", float(arr[bad[0]]))
        return Plan.single(n.Table(arr, after="error"),  # type: ignore[arg-type]
                           base=float(arr[0]), total_steps=int(arr.size),
                           source="mindspore dynamic lr list")
    raise SpecError("from_mindspore", "expected a dynamic-lr function name, a LearningRateSchedule cell, an "
                    "experimental lr_scheduler or a list of per-step values", type(obj_or_name).__name__)
