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
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import SpecError, UnsupportedError
from ..ir import nodes as n
from ..ir.plan import Field, Group, Plan

__all__ = [
    "FLOAT32_EXACT_STEPS", "MindSporePrecisionWarning", "DYNAMIC_WD_OPTIMIZERS", "from_mindspore",
    "mixed_lr_groups", "to_mindspore_cell", "to_mindspore_group_params", "to_mindspore_list", "to_mindspore_scheduler",
    "to_mindspore_tensor",
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
_table_ids = itertools.count()


def _classes() -> Dict[str, Any]:  # noqa: C901 - one factory for all cell classes
    """Define the Cell classes once, after MindSpore is imported.

    Every expression cell has ``construct(t, base)``: ``t`` an int32 tensor of steps
    (any shape), ``base`` the value the node starts from; it returns float32 values of
    ``t``'s shape. Integer work (floor division, modulo, comparisons) stays in int32;
    only the leaves cast the step to float32.
    """
    if _CLASSES:
        return _CLASSES
    ms = _ms()
    from mindspore import Parameter, Tensor, nn, ops
    from mindspore.nn.learning_rate_schedule import LearningRateSchedule

    f32 = ms.float32
    i32 = ms.int32

    class _Expr(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.cast = ops.Cast()
            self.f32 = f32
            self.i32 = i32
            self.sin = ops.Sin()
            self.select = ops.Select()
            self.minimum = ops.Minimum()
            self.maximum = ops.Maximum()
            self.pow = ops.Pow()
            self.exp = ops.Exp()
            self.sqrt = ops.Sqrt()
            self.gather = ops.Gather()
            self.reduce_sum = ops.ReduceSum(keep_dims=False)
            self.expand = ops.ExpandDims()

        def ones(self, t: Any) -> Any:
            return self.cast(t, self.f32) * 0.0 + 1.0

    class Const(_Expr):
        """base * factor (factor=None: the absolute ``value``)."""

        def __init__(self, factor: float, absolute: bool) -> None:
            super().__init__()
            self.factor = float(factor)
            self.absolute = absolute

        def construct(self, t: Any, base: Any) -> Any:
            if self.absolute:
                return self.ones(t) * self.factor
            return self.ones(t) * base * self.factor

    class TableCell(_Expr):
        """values[clip(t, 0, len-1)] (times base when relative)."""

        def __init__(self, values: np.ndarray, relative: bool) -> None:
            super().__init__()
            arr = np.asarray(values, dtype=np.float32).reshape(-1)
            self.table = Parameter(Tensor(arr), name=f"bridge_table_{next(_table_ids)}", requires_grad=False)
            self.last = int(arr.shape[0] - 1)
            self.relative = relative

        def construct(self, t: Any, base: Any) -> Any:
            idx = self.minimum(self.maximum(t, 0), self.last)
            v = self.gather(self.table, idx, 0)
            if self.relative:
                return v * base
            return v

    class ConstantCell(_Expr):
        def __init__(self, factor: float, total: int) -> None:
            super().__init__()
            self.factor = float(factor)
            self.total = int(total)

        def construct(self, t: Any, base: Any) -> Any:
            one = self.ones(t)
            return self.select(t < self.total, one * self.factor, one) * base

    class LinearCell(_Expr):
        def __init__(self, s: float, e: float, T: int) -> None:
            super().__init__()
            self.s, self.e, self.T = float(s), float(e), int(T)

        def construct(self, t: Any, base: Any) -> Any:
            m = self.minimum(self.maximum(t, 0), self.T)
            left = self.cast(self.T - m, self.f32)
            done = self.cast(m, self.f32)
            return (left * self.s + done * self.e) / self.T * base

    class PowCell(_Expr):
        """base * gamma ** k; k = t // every, or the count of ``marks`` <= t.

        gamma**k is computed as 2**(k*log2(gamma)) with log2(gamma) split into two float32
        parts: a float32 gamma would be off by up to 6e-8 relative, times k.
        """

        def __init__(self, gamma: float, every: int, marks: Optional[Sequence[int]], strict: bool = False) -> None:
            super().__init__()
            self.zero = gamma == 0.0
            self.l1, self.l2 = _split_log2(gamma)
            self.every = int(every)
            self.has_marks = marks is not None
            self.strict = strict
            self.marks = Tensor(np.asarray(marks if marks else [2**31 - 1], dtype=np.int32))

        def construct(self, t: Any, base: Any) -> Any:
            if self.has_marks:
                tt = self.expand(t, -1)
                if self.strict:
                    hit = self.cast(tt > self.marks, self.f32)
                else:
                    hit = self.cast(tt >= self.marks, self.f32)
                k = self.reduce_sum(hit, -1)
            elif self.every > 1:
                k = self.cast(t // self.every, self.f32)
            else:
                k = self.cast(t, self.f32)
            one = self.ones(t)
            if self.zero:
                return self.select(k > 0.5, one * 0.0, one) * base
            return self.pow(one * 2.0, k * self.l1 + k * self.l2) * base

    class PolyCell(_Expr):
        def __init__(self, T: int, power: float, end: float, cycle: bool) -> None:
            super().__init__()
            self.T, self.power, self.end, self.cycle = int(T), float(power), float(end), cycle

        def construct(self, t: Any, base: Any) -> Any:
            if self.cycle:
                tt = self.maximum(t, 1)
                D = (tt + (self.T - 1)) // self.T * self.T
                f = self.cast(D - tt, self.f32) / self.cast(D, self.f32)
            else:
                m = self.minimum(self.maximum(t, 0), self.T)
                f = self.cast(self.T - m, self.f32) / self.T
            f = self.pow(f, self.power)
            return self.end + (base - self.end) * f

    class CosCell(_Expr):
        """eta + (base*w - eta) * (1+cos(pi*s/P))/2 computed as sin^2(pi*(P-s)/(2P)).

        mode 0: periodic (torch CosineAnnealing, s = |P - t mod 2P| given as P - s);
        mode 1: clamped at P (CosineDecay).
        """

        def __init__(self, P: int, eta: float, eta_ratio: Optional[float], clamped: bool) -> None:
            super().__init__()
            self.P = int(P)
            self.k = math.pi / (2.0 * P)
            self.eta = float(eta)
            self.use_ratio = eta_ratio is not None
            self.ratio = float(eta_ratio or 0.0)
            self.clamped = clamped

        def construct(self, t: Any, base: Any) -> Any:
            if self.clamped:
                u = self.P - self.minimum(self.maximum(t, 0), self.P)
            else:
                r = t % (2 * self.P)
                u = self.P - r
                u = self.maximum(u, -u)
            s = self.sin(self.cast(u, self.f32) * self.k)
            f = s * s
            if self.use_ratio:
                return (self.ratio + (1.0 - self.ratio) * f) * base
            return self.eta + (base - self.eta) * f

    class RestartCell(_Expr):
        """Cosine cycles with given starts (int32 table), lengths and peaks (SGDR / MMEngine)."""

        def __init__(self, starts: Sequence[int], lengths: Sequence[int], peaks: Sequence[float], eta: float,
                     eta_ratio: Optional[float], freeze_at: Optional[int], limit: Optional[int]) -> None:
            super().__init__()
            self.starts = Tensor(np.asarray(starts, dtype=np.int32))
            self.starts_b = Tensor(np.asarray(starts[1:] if len(starts) > 1 else [2**31 - 1], dtype=np.int32))
            self.lengths = Tensor(np.asarray(lengths, dtype=np.int32))
            self.flen = Tensor(np.asarray([math.pi / (2.0 * x) for x in lengths], dtype=np.float32))
            self.peaks = Tensor(np.asarray(peaks, dtype=np.float32))
            self.eta = float(eta)
            self.use_ratio = eta_ratio is not None
            self.ratio = float(eta_ratio or 0.0)
            self.freeze = freeze_at is not None
            self.freeze_at = int(freeze_at or 0)
            self.has_limit = limit is not None
            self.limit = int(limit or 0)

        def construct(self, t: Any, base: Any) -> Any:
            tt = self.maximum(t, 0)
            if self.freeze:
                tt = self.minimum(tt, self.freeze_at)
            i = self.cast(self.reduce_sum(self.cast(self.expand(tt, -1) >= self.starts_b, self.i32), -1), self.i32)
            s = tt - self.gather(self.starts, i, 0)
            P = self.gather(self.lengths, i, 0)
            sn = self.sin(self.cast(P - s, self.f32) * self.gather(self.flen, i, 0))
            f = sn * sn
            peak = self.gather(self.peaks, i, 0) * base
            if self.use_ratio:
                eta = base * self.ratio
            else:
                eta = self.eta
            out = eta + (peak - eta) * f
            if self.has_limit:
                out = self.select(i >= self.limit, out * 0.0 + eta, out)
            return out

    class PhaseCell(_Expr):
        """OneCycle: anneal between (v0, v1) over float phase ends; values relative (x base) or absolute."""

        def __init__(self, ends: Sequence[float], v0: Sequence[float], v1: Sequence[float], rel: bool,
                     cos: bool, last: int) -> None:
            super().__init__()
            self.n = len(ends)
            starts = [0.0] + list(ends[:-1])
            self.e0, self.e1 = float(ends[0]), float(ends[-1])
            self.mid = float(ends[1]) if len(ends) == 3 else 0.0
            self.s = [float(x) for x in starts]
            self.ends = [float(x) for x in ends]
            self.v0 = [float(x) for x in v0]
            self.v1 = [float(x) for x in v1]
            self.rel = rel
            self.cos = cos
            self.last = int(last)

        def piece(self, tf: Any, i: int, base: Any) -> Any:
            a = self.v0[i]
            b = self.v1[i]
            if self.rel:
                a = base * a
                b = base * b
            span = self.ends[i] - self.s[i]
            p = (tf - self.s[i]) / span
            q = (self.ends[i] - tf) / span  # 1 - p, without cancellation
            if self.cos:  # (1+cos(pi p))/2 = 1 - sin^2(pi p/2) = sin^2(pi q/2)
                sp = self.sin(p * (math.pi / 2.0))
                sq = self.sin(q * (math.pi / 2.0))
                near_a = a + (b - a) * (sp * sp)
                near_b = b + (a - b) * (sq * sq)
            else:
                near_a = a + (b - a) * p
                near_b = b + (a - b) * q
            return self.select(p < 0.5, near_a, near_b)

        def construct(self, t: Any, base: Any) -> Any:
            tf = self.cast(self.minimum(self.maximum(t, 0), self.last), self.f32)
            out = self.piece(tf, self.n - 1, base)
            if self.n == 3:
                out = self.select(tf <= self.mid, self.piece(tf, 1, base), out)
            out = self.select(tf <= self.e0, self.piece(tf, 0, base), out)
            return out

    class CyclicCell(_Expr):
        def __init__(self, high: float, low: Optional[float], up: int, down: int, mode: str, gamma: float,
                     inverted: bool) -> None:
            super().__init__()
            self.high = float(high)
            self.has_low = low is not None
            self.low = float(low or 0.0)
            self.up, self.down, self.total = int(up), int(down), int(up + down)
            self.mode = {"triangular": 0, "triangular2": 1, "exp_range": 2}[mode]
            self.gamma = float(gamma)
            self.l1, self.l2 = _split_log2(gamma)
            self.inverted = inverted

        def construct(self, t: Any, base: Any) -> Any:
            tt = self.maximum(t, 0)
            pos = tt % self.total
            sf = self.select(pos <= self.up, self.cast(pos, self.f32) / self.up,
                             self.cast(self.total - pos, self.f32) / self.down)
            one = self.ones(t)
            if self.mode == 1:
                scale = self.pow(one * 0.5, self.cast(tt // self.total, self.f32))
            elif self.mode == 2:
                tf = self.cast(tt, self.f32)
                scale = self.pow(one * 2.0, tf * self.l1 + tf * self.l2)
            else:
                scale = one
            if self.has_low:
                low = one * self.low
            else:
                low = one * base
            height = (self.high - low) * sf
            if self.inverted:
                return self.high - height * scale
            return low + height * scale

    class DecayCell(_Expr):
        """ExponentialDecay (0), NaturalExpDecay (1), InverseTimeDecay (2)."""

        def __init__(self, which: int, rate: float, steps: int, stair: bool) -> None:
            super().__init__()
            self.which, self.rate, self.steps, self.stair = which, float(rate), int(steps), stair
            # rate**p = 2**(p*log2(rate)); exp(-rate*p) = 2**(-p*rate*log2(e)) (CPU Exp is ~7e-6 off)
            if which == 0:
                self.l1, self.l2 = _split_log2(rate)
            else:
                self.l1, self.l2 = _split(-rate / math.log(2.0))

        def construct(self, t: Any, base: Any) -> Any:
            tt = self.maximum(t, 0)
            if self.stair:
                p = self.cast(tt // self.steps, self.f32)
            else:
                p = self.cast(tt, self.f32) / self.steps
            if self.which == 2:
                return base / (1.0 + self.rate * p)
            return self.pow(self.ones(t) * 2.0, p * self.l1 + p * self.l2) * base

    class PiecewiseCell(_Expr):
        def __init__(self, bounds: Sequence[int], values: Sequence[float], relative: bool, inclusive: bool) -> None:
            super().__init__()
            self.bounds = Tensor(np.asarray(bounds if bounds else [2**31 - 1], dtype=np.int32))
            self.vals = Tensor(np.asarray(values, dtype=np.float32))
            self.relative, self.inclusive = relative, inclusive

        def construct(self, t: Any, base: Any) -> Any:
            tt = self.expand(t, -1)
            if self.inclusive:
                hit = self.cast(tt > self.bounds, self.i32)
            else:
                hit = self.cast(tt >= self.bounds, self.i32)
            v = self.gather(self.vals, self.reduce_sum(hit, -1), 0)
            if self.relative:
                return v * base
            return v

    class InvSqrtCell(_Expr):
        def __init__(self, W: int, ts: int) -> None:
            super().__init__()
            self.W, self.ts = int(W), int(ts)

        def construct(self, t: Any, base: Any) -> Any:
            tt = self.maximum(t, 0)
            warm = self.cast(tt, self.f32) / max(1, self.W)
            dec = self.sqrt(self.ts / self.cast(self.maximum(tt + (self.ts - self.W), 1), self.f32))
            return self.select(tt < self.W, warm, dec) * base

    class NoamCell(_Expr):
        def __init__(self, d: int, W: int, off: int) -> None:
            super().__init__()
            self.scale = float(d) ** -0.5
            self.w15 = float(W) ** -1.5
            self.off = int(off)

        def construct(self, t: Any, base: Any) -> Any:
            s = self.cast(self.maximum(t, 0) + self.off, self.f32)
            return self.minimum(1.0 / self.sqrt(s), s * self.w15) * self.scale * base

    class WsdCell(_Expr):
        def __init__(self, nd: n.WarmupStableDecay) -> None:
            super().__init__()
            self.W, self.S, self.D = nd.warmup_steps, nd.stable_steps, nd.decay_steps
            self.r = float(nd.min_lr_ratio)
            kinds = {"linear": 0, "cosine": 1, "1-sqrt": 2}
            self.wk, self.dk = kinds[nd.warmup_type], kinds[nd.decay_type]
            self.half = nd.num_cycles == 0.5
            self.cyc = float(nd.num_cycles)

        def construct(self, t: Any, base: Any) -> Any:
            tt = self.maximum(t, 0)
            W1 = max(1, self.W)
            D1 = max(1, self.D)
            m = self.minimum(tt, W1)
            p = self.cast(m, self.f32) / W1
            q = self.cast(W1 - m, self.f32) / W1  # 1 - p
            if self.wk == 0:
                fw = p
            elif self.wk == 1:
                sw = self.sin(p * (math.pi / 2.0))
                fw = sw * sw
            else:
                fw = p / (1.0 + self.sqrt(q))
            fw = self.maximum(fw * (1.0 - self.r) + self.r, 0.0)
            k = self.minimum(self.maximum(tt - (self.W + self.S), 0), D1)
            pd = self.cast(k, self.f32) / D1
            qd = self.cast(D1 - k, self.f32) / D1  # 1 - pd
            if self.dk == 0:
                fd = qd
            elif self.dk == 1:
                if self.half:
                    sd = self.sin(qd * (math.pi / 2.0))
                    fd = sd * sd
                else:
                    cd = ops.cos(pd * (math.pi * self.cyc))
                    fd = cd * cd
            else:
                fd = qd / (1.0 + self.sqrt(pd))
            fd = self.maximum(fd * (1.0 - self.r) + self.r, 0.0)
            one = self.ones(t)
            out = self.select(tt < self.W + self.S + self.D, fd, one * self.r)
            out = self.select(tt < self.W + self.S, one, out)
            out = self.select(tt < self.W, fw, out)
            return out * base

    class Switch(_Expr):
        """Sequential milestone: t < m ? before(t) : after(t - off)."""

        def __init__(self, before: Any, after: Any, m: int, off: int) -> None:
            super().__init__()
            self.before, self.after, self.m, self.off = before, after, int(m), int(off)

        def construct(self, t: Any, base: Any) -> Any:
            return self.select(t < self.m, self.before(t, base), self.after(t - self.off, base))

    class Nest(_Expr):
        """outer(t, inner(t, base)): nested chain / product of multiplicative parts."""

        def __init__(self, inner: Any, outer: Any) -> None:
            super().__init__()
            self.inner, self.outer = inner, outer

        def construct(self, t: Any, base: Any) -> Any:
            return self.outer(t, self.inner(t, base))

    class Reindex(_Expr):
        """child(t // every + offset, base)."""

        def __init__(self, child: Any, every: int, offset: int) -> None:
            super().__init__()
            self.child, self.every, self.offset = child, int(every), int(offset)

        def construct(self, t: Any, base: Any) -> Any:
            if self.every > 1:
                t = t // self.every
            return self.child(t + self.offset, base)

    class WindowCell(_Expr):
        """MMEngine window: base before ``begin``, child(local) inside, frozen after ``end``."""

        def __init__(self, child: Any, begin: int, last: Optional[int], every: int) -> None:
            super().__init__()
            self.child, self.begin, self.every = child, int(begin), int(every)
            self.has_last = last is not None
            self.last = int(last or 0)

        def construct(self, t: Any, base: Any) -> Any:
            k = self.maximum(t, 0) // self.every
            local = self.maximum(k - self.begin, 0)
            if self.has_last:
                local = self.minimum(local, self.last)
            v = self.child(local, base)
            return self.select(k < self.begin, v * 0.0 + base, v)

    class Schedule(LearningRateSchedule):
        """A sched-bridge schedule as a MindSpore ``LearningRateSchedule`` (float32)."""

        def __init__(self, expr: Any, base: float, description: str) -> None:
            super().__init__()
            self.expr = expr
            self.base = float(base)
            self.description = description

        def construct(self, global_step: Any) -> Any:
            return self.expr(global_step, self.base)

    class MultiOut(nn.Cell):
        """Evaluate several cells on the same steps in one compiled graph (tests, parity)."""

        def __init__(self, cells: Sequence[Any]) -> None:
            super().__init__()
            self.items = nn.CellList(list(cells))

        def construct(self, t: Any) -> Any:
            out: Any = ()
            for c in self.items:
                out = out + (c(t),)
            return out

    _CLASSES.update({k: v for k, v in locals().items() if isinstance(v, type)})
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


def _split(x: float) -> Tuple[float, float]:
    hi = float(np.float32(x))
    return hi, float(np.float32(x - hi))


def _split_log2(g: float) -> Tuple[float, float]:
    return _split(math.log2(g)) if g > 0.0 else (0.0, 0.0)


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
        return C["WsdCell"](nd)
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
    plan = _check_plan(plan)
    f = plan._field(group, field)
    if sample is not None:
        sample = _check_steps(sample, "sample")
    if field == "weight_decay":
        _check_wd_optimizer(optimizer, f.schedule is not None)
    C = _classes()
    import mindspore.nn.learning_rate_schedule as ms_lrs

    nd, base = f.schedule, float(f.base)
    horizon = sample if sample is not None else plan.total_steps
    if horizon is not None and horizon > FLOAT32_EXACT_STEPS:
        _warn_once(("horizon", horizon > 0), (
            f"the schedule runs {horizon} steps > 2**24: MindSpore cells cast global_step to float32, "
            "so steps above 16777216 are rounded (to even numbers up to 2**25, multiples of 4 up to 2**26, ...); "
            "use to_mindspore_list / to_mindspore_tensor for exact per-step values"))
    if nd is None:
        cell = C["Schedule"](C["Const"](base, True), base, f"constant {base!r}")
        cell.bridge_plan = plan
        return cell
    if nd.opaque:
        if sample is None:
            raise UnsupportedError(
                f"groups[{group}].{field}: the schedule holds a Python callable ({_opaque_names(nd)}), which "
                "MindSpore cannot compile; pass sample=N to tabulate its first N steps into a lookup cell, "
                "or call plan.tabulate(N) yourself")
    if native and not nd.opaque:
        cell = _native(nd, base, ms_lrs)
        if cell is not None:
            cell.bridge_plan = plan
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
    cell = C["Schedule"](expr, base, desc)
    cell.bridge_plan = plan
    return cell


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
        arr = np.asarray(vals, dtype=np.float64) if not isinstance(vals, np.ndarray) else vals.astype(np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise SpecError("values", "must be a non-empty 1-D list of per-step values", np.shape(arr))
        return Plan.single(n.Table(arr, after="error"),  # type: ignore[arg-type]
                           base=float(arr[0]), total_steps=int(arr.size),
                           source="mindspore dynamic lr list")
    raise SpecError("from_mindspore", "expected a dynamic-lr function name, a LearningRateSchedule cell, an "
                    "experimental lr_scheduler or a list of per-step values", type(obj_or_name).__name__)
