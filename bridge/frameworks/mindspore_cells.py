"""The MindSpore cells behind ``bridge.to_mindspore_cell``; imports MindSpore on import.

Self-contained on purpose (math, itertools, typing, NumPy, MindSpore; nothing from
sched-bridge): ``sched-bridge lower --to mindspore-cell --standalone`` copies this file
into the module it writes, so a training script can use the cells without sched-bridge.

Every expression cell has ``construct(t, base)``: ``t`` an int32 tensor of steps (any
shape), ``base`` the value the node starts from; it returns float32 values of ``t``'s
shape. Integer work (floor division, modulo, comparisons) stays in int32; only the
leaves cast the step to float32. :class:`Schedule` wraps one as a
``LearningRateSchedule`` (``construct(global_step)``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Optional, Sequence, Tuple

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore.nn.learning_rate_schedule import LearningRateSchedule

f32 = ms.float32
i32 = ms.int32
_table_ids = itertools.count()


def split(x: float) -> Tuple[float, float]:
    """x as a float32 pair hi + lo (hi + lo == x to ~2**-48 relative)."""
    hi = float(np.float32(x))
    return hi, float(np.float32(x - hi))


def split_log2(g: float) -> Tuple[float, float]:
    """log2(g) as a float32 pair (0, 0 for g <= 0)."""
    return split(math.log2(g)) if g > 0.0 else (0.0, 0.0)


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
        self.l1, self.l2 = split_log2(gamma)
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
        self.l1, self.l2 = split_log2(gamma)
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
            self.l1, self.l2 = split_log2(rate)
        else:
            self.l1, self.l2 = split(-rate / math.log(2.0))

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
    """Warm-up, stable, decay (transformers' WSD); shapes "linear", "cosine", "1-sqrt"."""

    def __init__(self, W: int, S: int, D: int, min_ratio: float, warmup: str, decay: str,
                 num_cycles: float) -> None:
        super().__init__()
        self.W, self.S, self.D = int(W), int(S), int(D)
        self.r = float(min_ratio)
        kinds = {"linear": 0, "cosine": 1, "1-sqrt": 2}
        self.wk, self.dk = kinds[warmup], kinds[decay]
        self.half = num_cycles == 0.5
        self.cyc = float(num_cycles)

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
