"""MindSpore ``mindspore.nn`` learning-rate API, both directions.

Lowering (IR -> MindSpore)
    :func:`to_mindspore_list` / :func:`to_mindspore_tensor`: the per-step list an
    optimizer takes as ``learning_rate`` (element t = v(t), used by the update with
    ``global_step == t``; past the end MindSpore raises "Gather index out of range").
    :func:`to_mindspore_cell`: a graph-compilable ``LearningRateSchedule``.
    :func:`to_mindspore_source`: the same cells as a standalone Python module.

Import (MindSpore -> IR)
    the dynamic-lr functions (``from_function``) and the six ``LearningRateSchedule``
    cells (``from_cell``); :func:`bridge.frameworks.mindspore.from_mindspore` dispatches.

Also the helpers the other MindSpore modules share (``import_mindspore``, ``check_plan``,
``check_steps``, ``check_wd_optimizer``, ``cell_classes``, ``read_attr``, the precision
warning). MindSpore is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..ir import nodes
from ..ir._check import boolean, integer, real
from ..ir.plan import Plan
from ._source import Call, Recorder, one_line

#: float32 represents every integer up to 2**24 (MindSpore's own cells cast global_step to
#: float32; bridge cells do not, see :func:`to_mindspore_cell`).
FLOAT32_EXACT_STEPS = 1 << 24

#: The largest int32 ``global_step`` (MindSpore's optimizers count updates in int32).
INT32_MAX_STEP = 2**31 - 1

#: ``mindspore.nn`` optimizers that accept a Cell as (group) ``weight_decay``
#: (checked: they build without error and apply the decay); ``nn.SGD`` refuses one.
DYNAMIC_WD_OPTIMIZERS = ("Momentum", "Adam", "AdamWeightDecay", "Lamb", "LARS")


class MindSporePrecisionWarning(UserWarning):
    """A cell cannot follow the schedule over every int32 step: the message names the steps.

    Emitted each time such a cell is built (``to_mindspore_cell``, ``to_mindspore_source``).
    """


def _warn(message: str) -> None:
    """Warn at the caller's line: the first frame outside sched-bridge."""
    import os
    import sys

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    level, f = 2, sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(pkg + os.sep):
        level, f = level + 1, f.f_back  # type: ignore[assignment]
    warnings.warn(message, MindSporePrecisionWarning, stacklevel=level)


def import_mindspore() -> Any:
    """The mindspore module (imported on first use), or FrameworkMissingError."""
    from .._frameworks import import_framework

    return import_framework("mindspore")


def check_plan(plan: Any) -> Plan:
    if not isinstance(plan, Plan):
        raise SpecError("plan", "must be a bridge Plan (e.g. Plan.single(node, base=0.1))", plan)
    return plan


def check_steps(total_steps: Any, name: str = "total_steps") -> int:
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
    plan = check_plan(plan)
    total_steps = check_steps(total_steps)
    return plan.group_values(total_steps, field, group).tolist()


def to_mindspore_tensor(plan: Plan, total_steps: int, group: int = 0, field: str = "lr") -> Any:
    """:func:`to_mindspore_list` as a 1-D float32 ``mindspore.Tensor`` (no Python list)."""
    plan = check_plan(plan)
    total_steps = check_steps(total_steps)
    ms = import_mindspore()
    return ms.Tensor(plan.group_values(total_steps, field, group).astype(np.float32))


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------

_CLASSES: Dict[str, Any] = {}


def cell_classes() -> Dict[str, Any]:
    """The Cell classes of :mod:`bridge.frameworks.mindspore_cells` by name (imports MindSpore)."""
    if not _CLASSES:
        import_mindspore()
        from . import mindspore_cells

        _CLASSES.update({k: v for k, v in vars(mindspore_cells).items()
                         if isinstance(v, type) and v.__module__ == mindspore_cells.__name__})
    return _CLASSES


# -- where a cell is exact ----------------------------------------------------

I32 = INT32_MAX_STEP
#: float32's largest finite value
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: polynomial powers up to this keep float32 pow(f, power) within the contract: f = (T - t)/T is
#: off by up to ~1.8e-7 relative (three roundings when T and t pass 2**24), times the power
#: (measured worst 1.3e-6 at power 8, 2.2e-6 at 16)
POLY_POWER_MAX = 8.0

#: A node's steps [lo, hi] (hi None: no end) -> the root steps [a, b] (within 0..2**31-1) where
#: the node is evaluated at one of them, or None.
Span = Callable[[int, Optional[int]], Optional[Tuple[int, int]]]


def _root_span(lo: int, hi: Optional[int]) -> Optional[Tuple[int, int]]:
    a, b = max(lo, 0), I32 if hi is None else min(hi, I32)
    return (a, b) if a <= b else None


def _shift_span(span: Span, off: int) -> Span:
    return lambda lo, hi: span(lo - off, None if hi is None else hi - off)


def _hold_span(span: Span, every: int) -> Span:
    return lambda lo, hi: span(max(lo, 0) * every, None if hi is None else (hi + 1) * every - 1)


def _part_span(span: Span, a: int, b: Optional[int], shift: int) -> Span:
    """A child that runs on the node's steps a..b (b None: on), seeing node step + shift."""
    def f(lo: int, hi: Optional[int]) -> Optional[Tuple[int, int]]:
        lo2 = max(lo - shift, a)
        hi2 = b if hi is None else (hi - shift if b is None else min(hi - shift, b))
        return span(lo2, hi2) if hi2 is None or lo2 <= hi2 else None
    return f


def _window_span(span: Span, w: nodes.Window, last: Optional[int]) -> Span:
    """The child of an MMEngine window sees clamp(s // every - begin, 0, last) from s = begin*every on."""
    def f(lo: int, hi: Optional[int]) -> Optional[Tuple[int, int]]:
        if last is not None and lo > last:
            return None
        k_lo = w.begin + max(lo, 0)
        k_hi = None if hi is None or (last is not None and hi >= last) else w.begin + hi
        return span(k_lo * w.every, None if k_hi is None else (k_hi + 1) * w.every - 1)
    return f


def _steps(r: Tuple[int, int]) -> str:
    a, b = r
    return f"step {a}" if a == b else f"steps {a}..{b}" + (" (2**31-1)" if b == I32 else "")


class _Ctx:
    """What lowering one cell tree found out: from which root step the expression stops being
    exact (a table takes over there), and precision notes for warnings."""

    def __init__(self, where: str, base: float) -> None:
        self.where = where
        self.base = base
        self.first_bad: Optional[int] = None
        self.bad_why = ""
        self.notes: List[str] = []

    def inexact(self, r: Optional[Tuple[int, int]], why: str) -> None:
        if r is not None and (self.first_bad is None or r[0] < self.first_bad):
            self.first_bad, self.bad_why = r[0], why

    def note(self, kind: str, r: Optional[Tuple[int, int]], why: str) -> None:
        if r is not None:
            self.notes.append(f"{self.where}: {kind}: {why} at {_steps(r)}")


# -- which compositions have a closed form in ops -------------------------------

def _prod_limit(nd: nodes.Node) -> Optional[float]:
    """First step from which ``nd``'s chainable update is no longer a pure product whose running
    product equals closed/base (math.inf: never; None: not such a product at all).

    A CosineAnnealing (eta_min 0) reaches 0 at T_max; torch's next chainable step *adds*
    (base - eta_min)*(1 - cos(pi/T_max))/2, so inside a product the cosine restarts from the
    base, not from the product: the closed form holds for steps 0..T_max only.
    """
    if isinstance(nd, nodes.Constant):
        return math.inf if nd.factor > 0.0 else None
    if isinstance(nd, nodes.Linear):
        return math.inf if nd.start_factor > 0.0 else None
    if isinstance(nd, (nodes.Step, nodes.MultiStep, nodes.Exponential)):
        return math.inf
    if isinstance(nd, nodes.Polynomial):
        return math.inf if nd.end_value == 0.0 and not nd.cycle else None
    if isinstance(nd, nodes.CosineAnnealing):
        return float(nd.T_max + 1) if nd.eta_min == 0.0 and not nd.eta_min_ratio else None
    if isinstance(nd, nodes.Hold):
        lim = _prod_limit(nd.schedule)
        return lim if lim is None or lim == math.inf else lim * nd.every
    if isinstance(nd, nodes.Chain) and nd.mode == "recursive":
        lims = [_prod_limit(c) for c in nd.schedules]
        return None if any(x is None for x in lims) else min(lims)  # type: ignore[type-var]
    return None


def _is_reset(nd: nodes.Node) -> bool:
    """Chainable update is x -> closed(t) (an absolute update) in bridge.ir.semantics."""
    from ..ir import semantics

    if isinstance(nd, (nodes.Linear,)) and nd.start_factor == 0.0:
        return True
    if isinstance(nd, nodes.Polynomial) and nd.cycle:
        return True
    if isinstance(nd, nodes.Chain):
        return nd.mode == "nested"
    if isinstance(nd, (nodes.Sequential, nodes.Windows, nodes.Hold, nodes.Shift, nodes.Plateau, nodes.Multiplicative)):
        return False
    return not semantics.chainable(nd)


def _window_limit(nd: nodes.Node) -> Optional[float]:
    """A window run alone: affine chainable updates that compose to the closed form."""
    if _is_reset(nd) or isinstance(nd, (nodes.CosineRestart, nodes.CosineAnnealing)) or (
            isinstance(nd, nodes.Polynomial) and not nd.cycle):
        return math.inf  # alone, even torch's additive cosine step lands on the closed form
    return _prod_limit(nd)


class _NeedTable(Exception):
    pass


def _unsupported(what: str, why: str) -> UnsupportedError:
    return UnsupportedError(f"{what}: {why}; MindSpore cells count steps in int32, so this cannot be "
                            "computed exactly there; use to_mindspore_list / to_mindspore_tensor")


def _period(nd: nodes.Node, name: str, d: int, K: int) -> None:
    if d > I32 and K % d:
        raise _unsupported(f"{nd.kind}.{name}", f"a period of {d} steps (> 2**31-1) resumed at step {K}")


def _fit(nd: nodes.Node, **values: int) -> None:
    for name, v in values.items():
        if v > I32:
            raise _unsupported(f"{nd.kind}.{name}", f"{v} steps is more than 2**31-1")


def _overflow_k(rate: float, scale: float) -> Optional[int]:
    """The least k with |scale| * rate**k > float32's largest value (None: never)."""
    if rate <= 1.0 or scale == 0.0:
        return None
    return math.floor(math.log(FLOAT32_MAX / abs(scale)) / math.log(rate)) + 1


def _growth(nd: nodes.Node, ctx: _Ctx, span: Span, rate: float, per: int, scale: Optional[float] = None) -> None:
    """Warn where scale*rate**k (k growing by one every ``per`` steps; scale: the plan's base) passes
    float32's largest value."""
    scale = ctx.base if scale is None else scale
    k = _overflow_k(rate, scale)
    if k is not None:
        ctx.note(nd.kind, span(k * per, None), f"{nd.describe()} grows past float32's largest value (3.4e38) "
                 f"with base {ctx.base:g}: the cell gives inf")


def _lower(nd: nodes.Node, cells: Dict[str, Any], ctx: _Ctx, K: int = 0,
           span: Span = _root_span) -> Any:
    """Expression cell for ``nd`` evaluated at step ``t + K`` (``t`` the cell's int32 input), or raise
    _NeedTable. ``span`` maps the node's steps to root steps (for warnings and exactness limits)."""
    if isinstance(nd, nodes.Constant):
        if nd.total_iters is None:
            return cells["Const"](nd.factor, False)
        return cells["ConstantCell"](nd.factor, nd.total_iters, K)
    if isinstance(nd, nodes.Linear):
        return cells["LinearCell"](nd.start_factor, nd.end_factor, nd.total_iters, K)
    if isinstance(nd, nodes.Step):
        _period(nd, "step_size", nd.step_size, K)
        _growth(nd, ctx, span, nd.gamma, nd.step_size)
        return cells["PowCell"](nd.gamma, nd.step_size, None, False, K)
    if isinstance(nd, nodes.MultiStep):
        k = _overflow_k(nd.gamma, ctx.base)
        if k is not None and k <= len(nd.milestones):
            ctx.note(nd.kind, span(nd.milestones[k - 1], None), f"{nd.describe()} grows past float32's largest "
                     f"value (3.4e38) with base {ctx.base:g}: the cell gives inf")
        return cells["PowCell"](nd.gamma, 1, list(nd.milestones), False, K)
    if isinstance(nd, nodes.Exponential):
        _growth(nd, ctx, span, nd.gamma, 1)
        return cells["PowCell"](nd.gamma, 1, None, False, K)
    if isinstance(nd, nodes.Polynomial):
        if nd.cycle:
            _period(nd, "total_iters", nd.total_iters, K)
        if nd.power > POLY_POWER_MAX:
            ctx.note(nd.kind, span(0, None if nd.cycle else nd.total_iters),
                     f"power {nd.power:g} > {POLY_POWER_MAX:g}: float32 pow((T-t)/T, power) may be off by more "
                     "than 2e-6 relative")
        return cells["PolyCell"](nd.total_iters, nd.power, nd.end_value, nd.cycle, K)
    if isinstance(nd, nodes.CosineAnnealing):
        _period(nd, "T_max", 2 * nd.T_max, K)
        return cells["CosCell"](nd.T_max, nd.eta_min, nd.eta_min_ratio, False, K)
    if isinstance(nd, nodes.CosineDecay):
        if nd.eta_min is not None:
            return cells["CosCell"](nd.decay_steps, nd.eta_min, None, True, K)
        return cells["CosCell"](nd.decay_steps, 0.0, nd.alpha, True, K)
    if isinstance(nd, nodes.WarmRestarts):
        return _warm_restarts(nd, cells, ctx, K, span)
    if isinstance(nd, nodes.CosineRestart):
        return _cosine_restart(nd, cells, K)
    if isinstance(nd, (nodes.OneCycle, nodes.OneCycleMomentum)):
        from ..ir import semantics

        _fit(nd, total_steps=nd.total_steps)
        ends = semantics.phase_ends(nd)
        if isinstance(nd, nodes.OneCycle):
            mx, rel = (1.0, True) if nd.max_lr is None else (nd.max_lr, False)
            init = mx / nd.div_factor
            lo = init / nd.final_div_factor
            v = [(init, mx), (mx, init), (init, lo)] if nd.three_phase else [(init, mx), (mx, lo)]
        else:
            b, m = nd.base_momentum, nd.max_momentum
            v, rel = ([(m, b), (b, m), (m, m)] if nd.three_phase else [(m, b), (b, m)]), False
        # past total_steps torch raises ("Tried to step ... times"): the cell holds v(total_steps)
        return cells["PhaseCell"](ends, [a for a, _ in v], [c for _, c in v], rel, nd.anneal == "cos",
                              nd.total_steps, K)
    if isinstance(nd, nodes.Cyclic):
        down = nd.step_size_down if nd.step_size_down is not None else nd.step_size_up
        _fit(nd, **{"step_size_up + step_size_down": nd.step_size_up + down})
        if nd.mode == "exp_range":
            _growth(nd, ctx, span, nd.gamma, 1, nd.high - (ctx.base if nd.low is None else nd.low))
        return cells["CyclicCell"](nd.high, nd.low, nd.step_size_up, down, nd.mode, nd.gamma, nd.inverted, K)
    if isinstance(nd, (nodes.ExponentialDecay, nodes.NaturalExpDecay, nodes.InverseTimeDecay)):
        which = {nodes.ExponentialDecay: 0, nodes.NaturalExpDecay: 1, nodes.InverseTimeDecay: 2}[type(nd)]
        if nd.staircase:
            _period(nd, "decay_steps", nd.decay_steps, K)
        if which == 0 and nd.decay_rate > 1.0:
            if nd.staircase:
                _growth(nd, ctx, span, nd.decay_rate, nd.decay_steps)
            else:
                _growth(nd, ctx, span, nd.decay_rate ** (1.0 / nd.decay_steps), 1)
        return cells["DecayCell"](which, nd.decay_rate, nd.decay_steps, nd.staircase, K)
    if isinstance(nd, nodes.PiecewiseConstant):
        return cells["PiecewiseCell"](list(nd.boundaries), list(nd.values), nd.relative, nd.inclusive, K)
    if isinstance(nd, nodes.InverseSqrt):
        W = nd.warmup_steps
        ts = nd.timescale if nd.timescale is not None else (W or 10_000)
        _fit(nd, warmup_steps=W, timescale=ts)
        return cells["InvSqrtCell"](W, ts, K)
    if isinstance(nd, nodes.Noam):
        return cells["NoamCell"](nd.d_model, nd.warmup_steps, nd.offset, K)
    if isinstance(nd, nodes.WarmupStableDecay):
        if nd.decay_type == "cosine" and nd.num_cycles > 0.25:
            _fit(nd, decay_steps=2 * max(1, nd.decay_steps))
            if nd.num_cycles > 100_000:
                raise _unsupported(f"{nd.kind}.num_cycles", f"{nd.num_cycles:g} cosine cycles (at most 100000)")
        return cells["WsdCell"](nd.warmup_steps, nd.stable_steps, nd.decay_steps, nd.min_lr_ratio,
                            nd.warmup_type, nd.decay_type, nd.num_cycles, K)
    if isinstance(nd, nodes.Table):
        return cells["TableCell"](np.asarray(nd.values), nd.relative, K)
    if isinstance(nd, nodes.Sequential):
        return _sequential(nd, cells, ctx, K, span)
    if isinstance(nd, nodes.Chain):
        return _chain(nd, cells, ctx, K, span)
    if isinstance(nd, nodes.Windows):
        return _windows(nd, cells, ctx, K, span)
    if isinstance(nd, nodes.Hold):
        _period(nd, "every", nd.every, K)
        kq, kr = divmod(K, nd.every)
        child = _lower(nd.schedule, cells, ctx, kq, _hold_span(span, nd.every))
        return cells["Reindex"](child, nd.every, kr)
    if isinstance(nd, nodes.Shift):
        return _lower(nd.schedule, cells, ctx, K + nd.offset, _shift_span(span, nd.offset))
    raise _NeedTable  # Plateau, Lambda, Multiplicative, Timm, KDecayCosine, unknown kinds


def _sequential(nd: nodes.Sequential, cells: Dict[str, Any], ctx: _Ctx, K: int, span: Span) -> Any:
    """Milestones as selects; child i sees the node step minus its milestone (rescale) or the node step."""
    from ..ir import semantics

    if semantics.needs_scan(nd):
        raise _NeedTable
    kids = list(nd.schedules)
    milestones = [0] + list(nd.milestones)
    ends: List[Optional[int]] = [m - 1 for m in nd.milestones] + [None]
    out = None
    for i, child in enumerate(kids):
        m = milestones[i]
        if i > 0 and m - K > I32:  # this child (and every later one) starts after 2**31-1
            break
        if i + 1 < len(kids) and milestones[i + 1] - K <= 0:  # over before t = 0
            continue
        resc = i > 0 and nd.rescale[i - 1]  # type: ignore[index]
        shift = -m if resc else 0  # child step = node step + shift
        ck = K + shift  # the child's step at t is t + ck
        sub = 0
        if ck < 0:  # a subtraction in int32 (t >= m - K there, so it cannot wrap)
            sub, ck = -ck, 0
        cell = _lower(child, cells, ctx, ck, _part_span(span, m, ends[i], shift))
        out = cell if out is None else cells["Switch"](out, cell, m - 1 - K, sub)
    return out


def _chain(nd: nodes.Chain, cells: Dict[str, Any], ctx: _Ctx, K: int, span: Span) -> Any:
    kids = list(nd.schedules)
    if nd.mode == "recursive" and len(kids) > 1:
        resets = [i for i, k in enumerate(kids) if _is_reset(k)]
        if resets:
            # x -> closed(t) overwrites what came before; a later multiplicative child applies
            # only its one-step ratio to it (not its closed form): no closed form here
            if resets[-1] != len(kids) - 1:
                raise _NeedTable
            kids = kids[-1:]
        else:
            lims = [_prod_limit(k) for k in kids]
            if any(x is None for x in lims):
                raise _NeedTable
            lim = min(x for x in lims if x is not None)
            if lim != math.inf:
                ctx.inexact(span(int(lim), None), "a recursive chain with a cosine: past T_max torch restarts the "
                            "cosine from the base (an additive step), not from the product")
    out = _lower(kids[0], cells, ctx, K, span)
    for k in kids[1:]:
        out = cells["Nest"](out, _lower(k, cells, ctx, K, span))
    return out


def _windows(nd: nodes.Windows, cells: Dict[str, Any], ctx: _Ctx, K: int, span: Span) -> Any:
    ws = list(nd.windows)
    lasts = [None if w.end is None else w.end - 1 - w.begin for w in ws]
    lims = [_prod_limit(w.schedule) for w in ws] if len(ws) > 1 else [_window_limit(ws[0].schedule)]
    if any(x is None for x in lims):
        raise _NeedTable
    out = None
    for w, last, lim in zip(ws, lasts, lims):
        _period(nd, "every", w.every, K)
        if last is not None and last > I32:  # never reached within int32 steps, or unsupported
            if (I32 + K) // w.every - w.begin > last:
                raise _unsupported(f"{nd.kind}.end", f"a window of {last + 1} steps resumed at step {K}")
            last = None
        wspan = _window_span(span, w, last)
        if lim is not None and lim != math.inf:
            ctx.inexact(wspan(int(lim), None), "MMEngine windows with a cosine: past T_max its chainable step "
                        "restarts the cosine from the base, not from the product")
        ck = _window_child_offset(w.begin, last, w.every, K)
        cell = cells["WindowCell"](_lower(w.schedule, cells, ctx, ck, wspan), w.begin, last, w.every, K)
        out = cell if out is None else cells["Nest"](out, cell)
    return out


def _window_child_offset(begin: int, last: Optional[int], every: int, off: int) -> int:
    """The offset WindowCell hands its child (mindspore_cells.WindowCell.child_offset)."""
    kk = off // every
    return kk - begin if last is None and kk >= begin else 0


def _warm_restarts(nd: nodes.WarmRestarts, cells: Dict[str, Any], ctx: _Ctx, K: int, span: Span) -> Any:
    """SGDR cycles i of length T_0*T_mult**i. T_mult == 1: i = s // T_0 in int32; otherwise a table
    of every cycle that meets steps K..K+2**31-1 (a few dozen at most), computed in Python ints."""
    from ..ir import semantics

    T0, Tm, lim = nd.T_0, nd.T_mult, nd.restart_limit
    k = _overflow_k(nd.decay_rate, ctx.base)
    if k is not None:
        st = k * T0 if Tm == 1 else T0 * (Tm ** k - 1) // (Tm - 1)
        ctx.note(nd.kind, span(st, None), f"{nd.describe()}: the peaks pass float32's largest value (3.4e38) "
                 f"with base {ctx.base:g}: the cell gives inf")
    if Tm == 1 and T0 <= I32 and (I32 + K % T0) // T0 + 2 > 64 and not (lim is not None and lim - K // T0 <= 64):
        return cells["PeriodicRestartCell"](T0, nd.eta_min, nd.decay_rate, lim, K)
    if Tm == 1:
        i = K // T0
        start, L = i * T0, T0
    else:
        i, start, L = 0, 0, T0
        while start + L <= K:
            start, L, i = start + L, L * Tm, i + 1
    cycles = []
    while start <= K + I32:
        cycles.append((i, start, L))
        if lim is not None and i >= lim:
            break  # eta from here on: one dead entry covers the rest
        start, L, i = start + L, L * Tm, i + 1
    bounds = [st - K for _, st, _ in cycles[1:]]
    ends = [st + ln - K for _, st, ln in cycles]
    if lim is not None and cycles[-1][0] >= lim:
        ends[-1] = max(ends[-1], I32)  # the dead cycle holds eta to the end
    peaks = [_pow(nd.decay_rate, c[0]) for c in cycles]
    dead = next((j for j, c in enumerate(cycles) if lim is not None and c[0] >= lim), None)
    exc: List[Any] = []
    if nd.float_log_cycles and Tm > 1:
        for ci, st, _ in cycles:
            fi = semantics.float_cycle_index(st, T0, Tm) if st >= K else ci
            if fi == ci:
                exc.append(None)
                continue
            # OneFlow's value there: the cycle it computes, at the position it computes
            Tcur = st - (1 - Tm ** fi) / (1 - Tm) * T0
            Ti = Tm ** fi * T0
            c = (1.0 + math.cos(math.pi * Tcur / Ti)) / 2.0
            if lim is not None and fi >= lim:
                c = 0.0
            exc.append((st - K, c, _pow(nd.decay_rate, fi)))
    return cells["RestartCell"](bounds, ends, [ln for _, _, ln in cycles], peaks, nd.eta_min, None, None, dead,
                            exc or None)


def _pow(x: float, k: int) -> float:
    try:
        return min(float(x) ** k, FLOAT32_MAX)
    except OverflowError:
        return FLOAT32_MAX


def _cosine_restart(nd: nodes.CosineRestart, cells: Dict[str, Any], K: int) -> Any:
    """MMEngine CosineRestart: a table of its periods; the value freezes at step sum(periods) - 1."""
    total = sum(nd.periods)
    freeze = total - 1 - K
    if freeze < 0:  # frozen before t = 0
        K, freeze = total - 1, 0
    starts = [0]
    for p in nd.periods[:-1]:
        starts.append(starts[-1] + p)
    rows = [(st, p, w) for st, p, w in zip(starts, nd.periods, nd.restart_weights)
            if st + p > K and st <= K + min(freeze, I32)]
    bounds = [st - K for st, _, _ in rows[1:]]
    ends = [st + p - K for st, p, _ in rows]
    return cells["RestartCell"](bounds, ends, [p for _, p, _ in rows], [w for _, _, w in rows], nd.eta_min,
                            nd.eta_min_ratio, min(freeze, I32), None, None)


def _native(nd: nodes.Node, base: float, ms_lrs: Any) -> Any:
    """MindSpore's own cell when it reproduces ``nd`` within the float32 cell contract at every
    int32 step (they cast global_step to float32; the ones kept here stay within 2e-6 anyway).

    Not used: ExponentialDecayLR (pow of a float32 rate and a float32 step: 4.2e-6 off for
    rate 0.9, decay_steps 1000), NaturalExpDecayLR (1.2e-6 at rate 0.01, too close), and every
    staircase form (floor of a float32 step/decay_steps is off by one next to a boundary
    above 2**24)."""
    if not (isinstance(base, float) and base > 0.0):
        return None
    if isinstance(nd, nodes.Linear) and nd.start_factor == 0.0 and nd.end_factor == 1.0 and nd.total_iters <= I32:
        return ms_lrs.WarmUpLR(base, nd.total_iters)
    if isinstance(nd, nodes.InverseTimeDecay) and nd.decay_rate > 0.0 and not nd.staircase and nd.decay_steps <= I32:
        return ms_lrs.InverseDecayLR(base, float(nd.decay_rate), nd.decay_steps, False)
    # CosineDecayLR / PolynomialDecayLR compute 1+sin(..) and 1-p in float32: near a floor
    # below ~10% of the peak their relative error exceeds 2e-6, so use them only above it.
    if isinstance(nd, nodes.CosineDecay) and nd.decay_steps <= I32:
        floor = nd.eta_min if nd.eta_min is not None else nd.alpha * base
        if 0.1 * base <= floor < base:
            return ms_lrs.CosineDecayLR(float(floor), base, nd.decay_steps)
        return None
    if isinstance(nd, nodes.Polynomial) and not nd.cycle and nd.power == 1.0 and 0.1 * base <= nd.end_value < base \
            and nd.total_iters <= I32:
        return ms_lrs.PolynomialDecayLR(base, float(nd.end_value), nd.total_iters, 1.0)
    return None


def to_mindspore_cell(plan: Plan, group: int = 0, field: str = "lr", *, sample: Optional[int] = None,
                      native: bool = True, optimizer: Any = None) -> Any:
    """A ``mindspore.nn.learning_rate_schedule.LearningRateSchedule`` computing the schedule.

    ``construct(global_step)`` evaluates the schedule with MindSpore ops (int32 step
    arithmetic, float32 values) and compiles in GRAPH_MODE, as an optimizer's
    ``learning_rate`` / ``weight_decay`` or inside ``ms.jit``. The cell follows the schedule
    within 2e-6 relative at every int32 ``global_step`` (0 .. 2**31-1); where it cannot, a
    :class:`MindSporePrecisionWarning` naming the steps is emitted each time it is built.
    MindSpore's own cells are used where they meet the same contract (``native=False``
    never uses them). Kinds without an ops closed form become a table-lookup cell over
    ``sample`` steps (else ``plan.total_steps``); past the table's end the last value
    holds (warned). Python callables (lambda / multiplicative) need an explicit ``sample=N``.
    ``optimizer``: the optimizer class or name the cell is for (checks that a
    weight-decay cell is accepted there).
    """
    cells = cell_classes()  # first: a missing MindSpore is reported by import_mindspore()
    import mindspore.nn.learning_rate_schedule as ms_lrs

    cell = _cell_tree(plan, group, field, sample, native, optimizer, cells, ms_lrs)
    cell.bridge_plan = plan
    return cell


def _cell_tree(plan: Plan, group: int, field: str, sample: Optional[int], native: bool, optimizer: Any,
               cells: Any, ms_lrs: Any, notes: Optional[List[str]] = None) -> Any:
    """The cell for ``to_mindspore_cell``, built from the classes in ``cells`` / ``ms_lrs``.

    Called with the real classes, or with ``_source.Recorder`` stand-ins that
    write the same constructor calls out as Python source (:func:`to_mindspore_source`).
    Each MindSporePrecisionWarning it emits is also appended to ``notes``.
    """
    plan = check_plan(plan)
    f = plan.field(group, field)
    if sample is not None:
        sample = check_steps(sample, "sample")
    if field == "weight_decay":
        check_wd_optimizer(optimizer, f.schedule is not None)
    nd, base = f.schedule, float(f.base)
    horizon = sample if sample is not None else plan.total_steps
    where = f"groups[{group}].{field}"

    def warn(message: str) -> None:
        if notes is not None:
            notes.append(message)
        _warn(message)

    if nd is None:
        return cells["Schedule"](cells["Const"](base, True), base, f"constant {base!r}")
    if nd.opaque:
        if sample is None:
            raise UnsupportedError(
                f"{where}: the schedule holds a Python callable ({_opaque_names(nd)}), which "
                "MindSpore cannot compile; pass sample=N to tabulate its first N steps into a lookup cell, "
                "or call plan.tabulate(N) yourself")
    if native and not nd.opaque:
        cell = _native(nd, base, ms_lrs)
        if cell is not None:
            return cell
    ctx = _Ctx(where, base)
    expr = None
    if not nd.opaque:
        try:
            expr = _lower(nd, cells, ctx)
        except _NeedTable:
            expr = None
    if expr is not None and ctx.first_bad == 0:
        expr = None  # not exact from the first step: a table
    if expr is None:
        if horizon is None:
            raise UnsupportedError(
                f"{where}: {nd.kind} (as composed here) has no closed form in MindSpore ops; "
                "pass sample=N (or set plan.total_steps) to build a table-lookup cell of N steps")
        if isinstance(nd, nodes.Plateau) and nd.metrics is None:
            raise UnsupportedError("plateau: ReduceLROnPlateau depends on run-time metrics and cannot be "
                                   "precomputed into a cell; step MindSpore's experimental ReduceLROnPlateau "
                                   "instead, or give the node a 'metrics' trace")
        vals = plan.group_values(horizon, field, group)
        expr = cells["TableCell"](vals, False)
        desc = f"table of {horizon} steps of {nd.describe()}"
        if horizon <= I32:
            warn(f"{where}: {nd.kind} (as composed here) has no closed form in MindSpore ops: the cell is a "
                 f"table of steps 0..{horizon - 1} and holds v({horizon - 1}) at steps {horizon}..{I32} (2**31-1), "
                 "where the schedule may differ; pass a larger sample=N to tabulate further, or use "
                 "to_mindspore_list")
    else:
        desc = nd.describe()
        first = ctx.first_bad
        if first is not None:
            if horizon is not None and horizon > first:
                tail = plan.group_values(horizon, field, group)[first:]
                expr = cells["Tail"](expr, first, tail)
                end = horizon
                how = (f"steps {first}..{horizon - 1} are a table, and at steps {horizon}..{I32} (2**31-1) it holds "
                       f"v({horizon - 1})")
            else:
                expr = cells["Tail"](expr, first, None)
                end = first
                how = f"at steps {first}..{I32} (2**31-1) it holds v({first - 1})"
            desc = f"{desc}, exact to step {first - 1}, then a table to step {end - 1}"
            if end <= I32:
                warn(f"{where}: the closed form of {nd.kind} holds at steps 0..{first - 1} only ({ctx.bad_why}); "
                     f"{how}, where the schedule may differ; pass a larger sample=N to tabulate "
                     "further, or use to_mindspore_list")
    for note in ctx.notes:
        warn(note)
    return cells["Schedule"](expr, base, desc)


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
    The MindSporePrecisionWarnings of the cells are emitted here and written into the module.
    """
    if not name.isidentifier():
        raise SpecError("name", "must be a Python identifier", name)
    plan = check_plan(plan)
    groups = range(plan.n_groups) if group is None else [group]
    notes: List[str] = []
    trees = [_cell_tree(plan, g, field, sample, native, None, Recorder(), Recorder("nn."), notes) for g in groups]
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

    classes_source = Path(__file__).with_name("mindspore_cells.py").read_text(encoding="utf-8")
    doc_end = classes_source.index('"""', 3) + 3
    warned = "".join(f"\nMindSporePrecisionWarning: {one_line(m)}\n" for m in notes)
    head = (f"# {field!r} of {one_line(plan.source or 'a sched-bridge plan')}\n"
            f'"""MindSpore LearningRateSchedule cells for the {field!r} of '
            f'{"each param group" if group is None else f"param group {group}"}.\n\n'
            f"Written by sched-bridge {__version__} (bridge.to_mindspore_source); needs only MindSpore\n"
            f"and NumPy. ``{name}(group)`` returns the cell that bridge.to_mindspore_cell builds for\n"
            "that param group: float32 values, int32 step arithmetic, compiles in GRAPH_MODE.\n"
            f"{warned}\n"
            f"    from <this module> import {name}\n"
            f"    opt = nn.Momentum(params, learning_rate={name}(), momentum=0.9)\n"
            '"""')
    lines = [f"def {name}(group: int = {groups[0]}) -> LearningRateSchedule:",
             f'    """The {field!r} schedule of a param group, as a cell (a new one each call)."""']
    for g, tree in zip(groups, trees):
        lines.append(f"    if group == {g}:  # {describe(tree)}")
        lines.append(f"        return {tree.source('        ')}")
    lines.append(f"    raise ValueError(f\"group must be one of {list(groups)}, got {{group!r}}\")")
    return head + classes_source[doc_end:].rstrip() + "\n\n\n" + "\n".join(lines) + "\n"


def _opaque_names(nd: nodes.Node) -> str:
    return ", ".join(sorted({x.kind for x in nd.walk() if isinstance(x, (nodes.Lambda, nodes.Multiplicative))}))


def _opt_name(optimizer: Any) -> Optional[str]:
    if optimizer is None:
        return None
    if isinstance(optimizer, str):
        return optimizer.rsplit(".", 1)[-1]
    if isinstance(optimizer, type):
        return optimizer.__name__
    return type(optimizer).__name__


def check_wd_optimizer(optimizer: Any, dynamic: bool) -> None:
    name = _opt_name(optimizer)
    if dynamic and name in ("SGD",):
        raise UnsupportedError(
            "weight_decay: mindspore.nn.SGD rejects a dynamic weight-decay cell (TypeError 'dynamic weight "
            "decay is currently not supported'); use an optimizer that accepts one, e.g. "
            f"{', '.join('nn.' + x for x in DYNAMIC_WD_OPTIMIZERS)} (nn.Momentum for SGD with momentum), "
            "or keep weight_decay constant")


# ---------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------

DYNAMIC_LR_SIGNATURES: Dict[str, Tuple[Tuple[str, ...], Dict[str, Any]]] = {
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
    names, defaults = DYNAMIC_LR_SIGNATURES[name]
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


def _count(path: str, v: Any) -> int:
    """A step or epoch count of a dynamic-lr function: an integer >= 1. MindSpore refuses a
    float there, whole or not, so this does too (``bridge.ir._check.integer`` would take 12.0)."""
    if isinstance(v, (float, np.floating)):
        raise SpecError(path, "must be an integer (MindSpore refuses a float)", v)
    return integer(path, v, lo=1)


def from_function(name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Plan:
    # NumPy scalars as the Python numbers they hold (np.bool_ included: the validators take bool)
    a = {k: v.item() if isinstance(v, np.generic) else v for k, v in _bind(name, args, kwargs).items()}
    src = f"mindspore.nn.{name}"
    if name == "piecewise_constant_lr":
        milestones, lrs = a["milestone"], a["learning_rates"]
        if not isinstance(milestones, (list, tuple)) or not isinstance(lrs, (list, tuple)):
            raise SpecError(name, "milestone and learning_rates must be lists", (milestones, lrs))
        if len(milestones) != len(lrs) or not milestones:
            raise SpecError(f"{name}.learning_rates", f"must have one value per milestone ({len(milestones)})",
                            list(lrs))
        ends = [_count(f"{name}.milestone[{i}]", m) for i, m in enumerate(milestones)]
        vals = [real(f"{name}.learning_rates[{i}]", x) for i, x in enumerate(lrs)]
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
        node: nodes.Node = nodes.PiecewiseConstant(tuple(bounds), tuple(values))
        return Plan.single(node, base=values[0], total_steps=ends[-1], source=src)
    total = _count(f"{name}.total_step", a["total_step"])
    spe = _count(f"{name}.step_per_epoch", a["step_per_epoch"])
    if name in ("exponential_decay_lr", "natural_exp_decay_lr", "inverse_decay_lr"):
        lr = real(f"{name}.learning_rate", a["learning_rate"], positive=True)
        rate = real(f"{name}.decay_rate", a["decay_rate"], positive=True)
        de = _count(f"{name}.decay_epoch", a["decay_epoch"])
        stair = boolean(f"{name}.is_stair", a["is_stair"])
        if name == "exponential_decay_lr":
            node = nodes.ExponentialDecay(rate, de, stair)
        elif name == "inverse_decay_lr":
            node = nodes.InverseTimeDecay(rate, de, stair)
        elif stair:  # exp(-rate * floor(E/de) * de)
            node = nodes.NaturalExpDecay(rate * de, de, True)
        else:  # MindSpore ignores decay_epoch here: exp(-rate * E)
            node = nodes.NaturalExpDecay(rate, 1, False)
        return Plan.single(_hold(node, spe), base=lr, total_steps=total, source=src)
    if name == "cosine_decay_lr":
        lo = real(f"{name}.min_lr", a["min_lr"], nonneg=True)
        hi = real(f"{name}.max_lr", a["max_lr"], positive=True)
        if lo >= hi:
            raise SpecError(f"{name}.max_lr", f"must be greater than min_lr ({lo})", hi)
        de = _count(f"{name}.decay_epoch", a["decay_epoch"])
        return Plan.single(_hold(nodes.CosineDecay(de, eta_min=lo), spe), base=hi, total_steps=total, source=src)
    if name == "polynomial_decay_lr":
        lr = real(f"{name}.learning_rate", a["learning_rate"], positive=True)
        end = real(f"{name}.end_learning_rate", a["end_learning_rate"], nonneg=True)
        power = real(f"{name}.power", a["power"], positive=True)
        de = _count(f"{name}.decay_epoch", a["decay_epoch"])
        upd = boolean(f"{name}.update_decay_epoch", a["update_decay_epoch"])
        return Plan.single(_hold(_poly(de, power, end, upd), spe), base=lr, total_steps=total, source=src)
    # warmup_lr
    lr = real(f"{name}.learning_rate", a["learning_rate"], nonneg=True)
    we = _count(f"{name}.warmup_epoch", a["warmup_epoch"])
    return Plan.single(_hold(nodes.Linear(0.0, 1.0, we), spe), base=lr, total_steps=total, source=src)


def _hold(node: nodes.Node, every: int) -> nodes.Node:
    return node if every == 1 else nodes.Hold(node, every)


def _poly(T: int, power: float, end: float, update: bool) -> nodes.Node:
    """MindSpore polynomial decay; ``update``: the horizon grows to T*ceil(t/T) (t=0 counts as 0,
    unlike OneFlow's cycle=True, which counts it as 1)."""
    plain = nodes.Polynomial(T, power, end)
    if not update:
        return plain
    return nodes.Sequential((plain, nodes.Shift(nodes.Polynomial(T, power, end, cycle=True), 1)), (1,))


def read_attr(obj: Any, name: str) -> Any:
    v = getattr(obj, name)
    if hasattr(v, "asnumpy"):
        v = v.asnumpy()
    if isinstance(v, np.ndarray):
        v = v.item() if v.size == 1 else v.tolist()
    if isinstance(v, np.generic):
        v = v.item()
    return v


def from_cell(obj: Any, cls: str) -> Plan:
    src = f"mindspore.nn.{cls}"
    if cls == "ExponentialDecayLR":
        node: nodes.Node = nodes.ExponentialDecay(read_attr(obj, "decay_rate"), read_attr(obj, "decay_steps"), read_attr(obj, "is_stair"))
        base = read_attr(obj, "learning_rate")
    elif cls == "NaturalExpDecayLR":
        rate, ds = read_attr(obj, "decay_rate"), read_attr(obj, "decay_steps")
        # the cell computes exp(-rate*step), or exp(-rate*floor(step/ds)*ds) with is_stair
        node = nodes.NaturalExpDecay(rate * ds, ds, True) if read_attr(obj, "is_stair") else nodes.NaturalExpDecay(rate, 1)
        base = read_attr(obj, "learning_rate")
    elif cls == "InverseDecayLR":
        node = nodes.InverseTimeDecay(read_attr(obj, "decay_rate"), read_attr(obj, "decay_steps"), read_attr(obj, "is_stair"))
        base = read_attr(obj, "learning_rate")
    elif cls == "CosineDecayLR":
        node = nodes.CosineDecay(read_attr(obj, "decay_steps"), eta_min=read_attr(obj, "min_lr"))
        base = read_attr(obj, "max_lr")
    elif cls == "PolynomialDecayLR":
        node = _poly(read_attr(obj, "decay_steps"), read_attr(obj, "power"), read_attr(obj, "end_learning_rate"),
                     bool(read_attr(obj, "update_decay_steps")))
        base = read_attr(obj, "start_learning_rate")
    elif cls == "WarmUpLR":
        node = nodes.Linear(0.0, 1.0, read_attr(obj, "warmup_steps"))
        base = read_attr(obj, "learning_rate")
    else:  # pragma: no cover - guarded by caller
        raise UnsupportedError(cls)
    return Plan.single(node, base=float(base), source=src)



# -- a user's own LearningRateSchedule: evaluated ------------------------------

#: Steps per call when a custom cell is evaluated on a Tensor of steps (one compiled shape in
#: GRAPH_MODE: the last chunk is padded).
CUSTOM_CELL_CHUNK = 1 << 16

#: Steps at which a vectorised evaluation is checked against one-step calls (plus the last one).
_CHECKS = 9


def _one_step(cell: Any, ms: Any, t: int) -> np.ndarray:
    """What an optimizer gets at ``global_step == t``: the cell called on an int32 Tensor of
    shape (1,) (``Optimizer.global_step``), reshaped to a scalar."""
    out = np.asarray(cell(ms.Tensor(np.array([t], dtype=np.int32))).asnumpy())
    if out.size != 1:
        raise SpecError(f"{type(cell).__name__}(global_step={t})", "must return one value (the optimizer "
                        "reshapes it to a scalar)", out.shape)
    return out.reshape(())


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null: MindSpore's compiler logs a failed graph (a construct that
    cannot take a Tensor of steps) at ERROR level before raising; the fallback makes that noise."""
    import os
    import sys

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (captured, closed): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _vectorised(cell: Any, ms: Any, n: int, chunk: int) -> Optional[np.ndarray]:
    """The cell on Tensors of steps, ``chunk`` at a time, or None when its construct does not take
    one (Python control flow on the step, a reduction, ...) or gives other values than one-step
    calls at the checked steps."""
    k = min(n, chunk)
    if k < 2:
        return None
    out: Optional[np.ndarray] = None
    for lo in range(0, n, k):
        steps = np.arange(lo, lo + k, dtype=np.int64)
        steps[steps >= n] = n - 1  # pad the last chunk: one shape, one graph
        try:
            if lo == 0:
                with _quiet_stderr():
                    got = np.asarray(cell(ms.Tensor(steps.astype(np.int32))).asnumpy())
            else:
                got = np.asarray(cell(ms.Tensor(steps.astype(np.int32))).asnumpy())
        except Exception:  # MindSpore raises ValueError, TypeError or RuntimeError here
            return None
        if got.shape != (k,):
            return None
        if out is None:
            out = np.empty(n, dtype=got.dtype)
        out[lo:lo + k] = got[:min(k, n - lo)]
    assert out is not None
    for t in {int(x) for x in np.linspace(0, n - 1, _CHECKS)}:
        one = _one_step(cell, ms, t)
        if one.dtype != out.dtype or not (one == out[t] or (np.isnan(one) and np.isnan(out[t]))):
            return None
    return out


class _Bar:
    """A progress bar on stderr: tqdm when installed, else one rewritten line."""

    def __init__(self, total: int, desc: str) -> None:
        import sys
        import time

        self.total, self.desc, self.done, self._t = total, desc, 0, time.monotonic
        self._last = -1.0
        try:
            from tqdm import tqdm
        except ImportError:
            self.bar: Any = None
            self.err = sys.stderr
        else:
            self.bar = tqdm(total=total, desc=desc, unit="step", file=sys.stderr, mininterval=0.5)

    def update(self, k: int) -> None:
        self.done += k
        if self.bar is not None:
            self.bar.update(k)
            return
        now = self._t()
        if now - self._last >= 0.5 or self.done >= self.total:
            self._last = now
            self.err.write(f"\r{self.desc}: {self.done}/{self.total} steps ({100.0 * self.done / self.total:.0f}%)")
            self.err.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            self.err.write("\n")
            self.err.flush()


def _step_by_step(cell: Any, ms: Any, n: int, progress: bool) -> np.ndarray:
    first = _one_step(cell, ms, 0)
    out = np.empty(n, dtype=first.dtype)
    out[0] = first
    bar = _Bar(n, f"evaluating {type(cell).__name__} step by step") if progress else None
    try:
        every = max(1, min(1000, n // 100))
        for t in range(1, n):
            out[t] = _one_step(cell, ms, t)
            if bar is not None and t % every == 0:
                bar.update(every)
        if bar is not None:
            bar.update(n - bar.done)
    finally:
        if bar is not None:
            bar.close()
    return out


def from_custom_cell(cell: Any, total_steps: Any = None, *, progress: bool = True,
                     chunk: int = CUSTOM_CELL_CHUNK) -> Plan:
    """A user's ``LearningRateSchedule`` subclass (its own ``construct``), read by evaluating it.

    The values are what MindSpore computes for ``global_step`` 0 .. ``total_steps``-1 (its
    dtype, float32 as a rule): on int32 Tensors of ``chunk`` steps when ``construct`` takes
    one (checked against one-step calls at evenly spaced steps), else one step at a time as
    the optimizer calls it (an int32 Tensor of shape (1,)), with a progress bar on stderr
    (``progress=False``: none). The plan is a table of those values (``after='error'``: the
    cell was not evaluated further); its base is the largest value.
    """
    name = type(cell).__name__
    if total_steps is None:
        raise SpecError("total_steps", f"is needed to read the custom LearningRateSchedule {name}: it is evaluated at "
                        "every step of the run, so pass the number of optimizer updates, "
                        "from_mindspore(cell, total_steps=N)", None, show_value=False)
    n = check_steps(total_steps)
    from ..limits import check_memory

    check_memory(n, 1, "total_steps", advice="pass a smaller total_steps")
    chunk = integer("chunk", chunk, lo=1)
    ms = import_mindspore()
    vals = _vectorised(cell, ms, n, chunk)
    how = "on Tensors of steps"
    if vals is None:
        vals, how = _step_by_step(cell, ms, n, progress), "step by step"
    bad = np.flatnonzero(~np.isfinite(vals))
    if bad.size:
        raise SpecError(f"{name}(global_step={int(bad[0])})", "must be finite", float(vals[bad[0]]))
    arr = vals.astype(np.float64)
    return Plan.single(nodes.Table(arr, after="error"), base=float(arr.max()), total_steps=n,
                       source=f"mindspore custom LearningRateSchedule {name}: a table of {n} values as MindSpore "
                              f"computed them ({vals.dtype}, evaluated {how})")
