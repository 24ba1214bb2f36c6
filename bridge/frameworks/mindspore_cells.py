"""The MindSpore cells behind ``bridge.to_mindspore_cell``; imports MindSpore on import.

Self-contained on purpose (math, itertools, typing, NumPy, MindSpore; nothing
from sched-bridge): ``sched-bridge lower --to mindspore-cell --standalone`` copies this file
into the module it writes, so a training script can use the cells without sched-bridge.

Every expression cell has ``construct(t, base)``: ``t`` an int32 tensor of steps (any
shape), ``base`` the value the node starts from; it returns float32 values of ``t``'s
shape. A leaf built with ``off=K`` computes its schedule at step ``s = t + K`` (a resumed
schedule, a later part of a sequence) without ever forming ``t + K`` in int32.

Exact at every int32 step 0 .. 2**31-1: step arithmetic (comparisons, floor division,
modulo, the position inside a segment) stays in int32 and cannot overflow (offsets move
the constants, not the step); only non-negative distances are cast to float32, which
loses at most 2**-24 relative. ``gamma ** k`` goes through :class:`Exp2Lin`, which keeps
the integer part of the exponent exact. :class:`Schedule` wraps an expression as a
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

#: The largest int32 ``global_step``.
I32_MAX = 2**31 - 1


def split(x: float) -> Tuple[float, float]:
    """x as a float32 pair hi + lo (hi + lo == x to ~2**-48 relative)."""
    hi = float(np.float32(x))
    return hi, float(np.float32(x - hi))


def split_log2(g: float) -> Tuple[float, float]:
    """log2(g) as a float32 pair (0, 0 for g <= 0)."""
    return split(math.log2(g)) if g > 0.0 else (0.0, 0.0)


def clamp_i32(c: int) -> int:
    """``c`` clamped into [-1, 2**31-1]: for an int32 ``t >= 0``, ``t <= c`` keeps its truth value."""
    return max(-1, min(int(c), I32_MAX))


def head8(x: float) -> float:
    """``x`` rounded to 8 significant bits: its product with an integer below 2**16 is exact in float32."""
    if x == 0.0 or not math.isfinite(x):
        return 0.0
    m, e = math.frexp(x)
    return math.ldexp(round(m * 256.0) / 256.0, e)


class _Expr(nn.Cell):
    def __init__(self) -> None:
        super().__init__()
        self.cast = ops.Cast()
        self.f32 = f32
        self.i32 = i32
        self.sin = ops.Sin()
        self.cos = ops.Cos()
        self.select = ops.Select()
        self.minimum = ops.Minimum()
        self.maximum = ops.Maximum()
        self.pow = ops.Pow()
        self.sqrt = ops.Sqrt()
        self.floor = ops.Floor()
        self.gather = ops.Gather()
        self.reduce_sum = ops.ReduceSum(keep_dims=False)
        self.expand = ops.ExpandDims()
        self.logical_and = ops.LogicalAnd()

    def ones(self, t: Any) -> Any:
        return self.cast(t, self.f32) * 0.0 + 1.0

    def fl(self, x: Any) -> Any:
        return self.cast(x, self.f32)


# ---------------------------------------------------------------------------
# int32 step helpers
# ---------------------------------------------------------------------------


class Seg(_Expr):
    """Where step ``s = t + off`` is in the segment [a, a + L]: ``p = clamp(s - a, 0, L)``.

    ``construct(t)`` returns ``(p, L - p)`` as float32 and p as int32 (the int32 one only
    where ``int_ok``: not for L > 2**31-1 begun before t = 0). No int32 sum can overflow:
    the segment is moved to t coordinates at build time.
    """

    def __init__(self, a: int, L: int, off: int = 0) -> None:
        super().__init__()
        a, L, off = int(a), int(L), int(off)
        lo, hi = a - off, a + L - off  # the segment in t coordinates
        if hi <= 0:
            mode = 0  # over before t = 0: p = L
        elif lo > I32_MAX:
            mode = 1  # starts after 2**31-1: p = 0
        elif lo >= 0:
            mode = 2  # p = clamp(t - lo, 0, L)
        elif hi <= I32_MAX and L <= I32_MAX:
            mode = 3  # begun before t = 0: p = min(t, hi) - lo
        else:
            mode = 4  # begun before t = 0 and longer than int32: float32 only
        self.mode = mode
        self.big = L > I32_MAX
        self.int_ok = mode in (1, 2, 3) or (mode == 0 and not self.big)
        self.Lc = min(L, I32_MAX)
        self.Lf = float(L)
        self.Lx = float(L - I32_MAX) if self.big else 0.0
        self.lo = min(max(lo, 0), I32_MAX)
        self.hi = min(max(hi, 0), I32_MAX)
        self.done = min(max(-lo, 0), I32_MAX)  # steps of the segment done before t = 0 (mode 3)
        self.done_f = float(max(-lo, 0))
        self.hix = float(max(hi - I32_MAX, 0))

    def construct(self, t: Any) -> Any:
        tt = self.maximum(t, 0)
        one = self.ones(t)
        if self.mode == 0:
            return one * self.Lf, one * 0.0, tt * 0 + self.Lc
        if self.mode == 1:
            return one * 0.0, one * self.Lf, tt * 0
        if self.mode == 4:
            m = self.minimum(tt, self.hi)
            return self.fl(m) + self.done_f, self.fl(self.hi - m) + self.hix, tt * 0
        if self.mode == 2:
            p = self.maximum(self.minimum(tt, self.hi) - self.lo, 0)
        else:
            p = self.minimum(tt, self.hi) + self.done
        if self.big:
            r = self.fl(I32_MAX - p) + self.Lx
        else:
            r = self.fl(self.Lc - p)
        return self.fl(p), r, p


class DivMod(_Expr):
    """``s // d`` and ``s % d`` of ``s = t + off`` (t >= 0) without forming ``t + off``.

    ``construct(t)`` returns ``(q, r, d - r)``: the quotient is ``q + self.q_off`` (q int32,
    ``q_off`` a Python int), r the int32 remainder in [0, d), ``d - r`` as float32.
    """

    def __init__(self, d: int, off: int = 0) -> None:
        super().__init__()
        d, off = max(int(d), 1), int(off)
        self.q_off, kr = divmod(off, d)
        if d > I32_MAX and kr:
            raise ValueError(f"a period of {d} > 2**31-1 steps resumed at step {off} is not supported")
        self.big = d > I32_MAX
        self.d = min(d, I32_MAX)
        self.dx = float(d - I32_MAX) if self.big else 0.0
        self.kr = kr
        self.cut = min(d - kr, I32_MAX)  # r + kr wraps past d from r >= cut
        self.top = max(min(d - kr - 1, I32_MAX), 0)

    def construct(self, t: Any) -> Any:
        tt = self.maximum(t, 0)
        if self.big:
            return tt * 0, tt, self.fl(I32_MAX - tt) + self.dx
        q = tt // self.d
        r = tt % self.d
        if self.kr != 0:
            c = r >= self.cut
            r = self.select(c, r - self.cut, self.minimum(r, self.top) + self.kr)
            q = q + self.cast(c, self.i32)
        return q, r, self.fl(self.d - r)


class Exp2Lin(_Expr):
    """``2 ** ((k + off) * x)`` for int32 ``k >= 0``, to ~3e-7 relative wherever it is a normal float32.

    A float32 exponent near 20 is itself off by up to 2**-20 (7e-7 relative after ``2**``).
    Here k is split into ``k // 2**16`` and ``k % 2**16`` and x into an 8-bit head and a
    tail: the head products are exact, their integer parts are taken out exactly, and only
    a fraction in [0, 3) is rounded (no inf * 0 far out: the tail's integer part moves to the
    exponent too). ``off * x`` is split in float64 when the cell is built.
    """

    def __init__(self, x: float, off: int = 0) -> None:
        super().__init__()
        x = float(x)
        self.zero = x == 0.0
        xa = x * 65536.0
        self.a1 = head8(xa)
        self.a2 = float(np.float32(xa - self.a1))
        self.b1 = head8(x)
        self.b2 = float(np.float32(x - self.b1))
        e = float(int(off)) * x if off else 0.0
        if not math.isfinite(e) or abs(e) > 1e6:
            self.n_off, self.f_off = (1e6 if e > 0 else -1e6), 0.0
        else:
            self.n_off = float(math.floor(e))
            self.f_off = e - self.n_off

    def construct(self, k: Any) -> Any:
        one = self.ones(k)
        if self.zero:
            return one
        a = k // 65536
        b = k % 65536
        af = self.fl(a)
        bf = self.fl(b)
        pa = af * self.a1  # exact
        pb = bf * self.b1  # exact
        tail = (af * self.a2 + bf * self.b2) + self.f_off  # |tail| < 0.1 wherever the result is >= 2**-20
        na = self.floor(pa)
        nb = self.floor(pb)
        nt = self.floor(tail)
        frac = ((pa - na) + (pb - nb)) + (tail - nt)  # in [0, 3)
        n = ((na + nb) + nt) + self.n_off
        return self.pow(one * 2.0, n) * self.pow(one * 2.0, frac)


# ---------------------------------------------------------------------------
# leaves
# ---------------------------------------------------------------------------


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
    """values[clip(s, 0, len-1)] for s = t + off (times base when relative)."""

    def __init__(self, values: np.ndarray, relative: bool, off: int = 0) -> None:
        super().__init__()
        arr = np.asarray(values, dtype=np.float32).reshape(-1)
        self.table = Parameter(Tensor(arr), name=f"bridge_table_{next(_table_ids)}", requires_grad=False)
        last = int(arr.shape[0] - 1)
        off = int(off)
        self.fixed = off >= last
        self.last = last
        self.cap = max(last - off, 0)
        self.k = min(off, last)
        self.relative = relative

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        if self.fixed:
            idx = tt * 0 + self.last
        else:
            idx = self.minimum(tt, self.cap) + self.k
        v = self.gather(self.table, idx, 0)
        if self.relative:
            return v * base
        return v


class ConstantCell(_Expr):
    """base * factor for s < total, then base."""

    def __init__(self, factor: float, total: int, off: int = 0) -> None:
        super().__init__()
        self.factor = float(factor)
        self.last = clamp_i32(int(total) - 1 - int(off))

    def construct(self, t: Any, base: Any) -> Any:
        one = self.ones(t)
        return self.select(t <= self.last, one * self.factor, one) * base


class LinearCell(_Expr):
    """base * (s_f * (T - m) + e_f * m) / T, m = clamp(s, 0, T): both parts from int32 distances."""

    def __init__(self, s: float, e: float, T: int, off: int = 0) -> None:
        super().__init__()
        self.s, self.e, self.T = float(s), float(e), float(T)
        self.seg = Seg(0, T, off)

    def construct(self, t: Any, base: Any) -> Any:
        done, left, _ = self.seg(t)
        return (left * self.s + done * self.e) / self.T * base


class PowCell(_Expr):
    """base * gamma ** k; k = s // every (Step), the count of ``marks`` <= s (MultiStep; < s with
    ``strict``), or s (Exponential), for s = t + off; gamma ** k through :class:`Exp2Lin`."""

    def __init__(self, gamma: float, every: int, marks: Optional[Sequence[int]], strict: bool = False,
                 off: int = 0) -> None:
        super().__init__()
        off = int(off)
        self.zero = gamma == 0.0
        self.strict = strict
        keep: list = []
        if marks is not None:
            self.mode = 0
            shifted = [int(m) - off for m in marks]
            if strict:  # s > m  <=>  t > m - off
                k_off = sum(1 for m in shifted if m < 0)
                keep = [m for m in shifted if 0 <= m < I32_MAX]
            else:  # s >= m  <=>  t >= m - off
                k_off = sum(1 for m in shifted if m <= 0)
                keep = [m for m in shifted if 0 < m <= I32_MAX]
        elif every > 1:
            self.mode = 1
            k_off = int(off) // int(every)
        else:
            self.mode = 2
            k_off = off
        self.has_marks = bool(keep)
        self.marks = Tensor(np.asarray(keep or [I32_MAX], dtype=np.int32))
        self.dm = DivMod(every if self.mode == 1 else 1, off if self.mode == 1 else 0)
        self.k_off = k_off
        self.e2 = Exp2Lin(math.log2(gamma) if gamma > 0.0 else 0.0, k_off)

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        if self.mode == 0:
            if self.has_marks:
                tx = self.expand(tt, -1)
                if self.strict:
                    hit = self.cast(tx > self.marks, self.i32)
                else:
                    hit = self.cast(tx >= self.marks, self.i32)
                k = self.reduce_sum(hit, -1)
            else:
                k = tt * 0
        elif self.mode == 1:
            k, _, _ = self.dm(tt)
        else:
            k = tt
        if self.zero:
            one = self.ones(t)
            if self.k_off > 0:
                return one * 0.0 * base
            return self.select(k > 0, one * 0.0, one) * base
        return self.e2(k) * base


class PolyCell(_Expr):
    """end + (base - end) * f ** power; f = (T - min(s, T)) / T, or with ``cycle`` (OneFlow /
    MindSpore update_decay_steps) f = (D - s) / D, D = T * ceil(max(s, 1) / T).

    Computed as base * f**power + end * (1 - f**power), 1 - f from int32 distances, so a base
    below ``end`` (0: a weight decay that grows to an absolute end) loses nothing."""

    def __init__(self, T: int, power: float, end: float, cycle: bool, off: int = 0) -> None:
        super().__init__()
        off = int(off)
        self.Tf, self.power, self.end, self.cycle = float(T), float(power), float(end), cycle
        self.lift = off == 0  # step 0 counts as 1 (only s = 0 needs it)
        self.dm = DivMod(T if cycle else 1, off if cycle else 0)
        self.c_off = float(self.dm.q_off + 1)  # D = T * (q + q_off + 1) where r > 0
        self.q_off_f = float(self.dm.q_off)
        self.log = ops.Log()
        self.seg = Seg(0, T, 0 if cycle else off)

    def one_minus_pow(self, f: Any, x: Any, fp: Any) -> Any:
        """1 - f**power (``fp``) without cancellation, x = 1 - f exact: where fp >= 1/2,
        -expm1(power * ln f) by series, ln f = -2 atanh(x / (2 - x)) for x <= 1/2, else Log(f)."""
        w = x / (2.0 - x)
        w2 = w * w
        h = 1.0 / 19.0
        for n in (17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0):
            h = 1.0 / n + w2 * h
        ln_f = self.select(x <= 0.5, -2.0 * w * h, self.log(self.maximum(f, 1e-30)))
        z = ln_f * self.power  # in [-ln 2, 0] where it is used
        e = 1.0 + z / 11.0
        for n in (10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0):
            e = 1.0 + z / n * e
        return self.select(fp < 0.5, 1.0 - fp, -z * e)

    def construct(self, t: Any, base: Any) -> Any:
        if self.cycle:
            tt = self.maximum(t, 0)
            if self.lift:
                tt = self.maximum(tt, 1)
            q, r, nxt = self.dm(tt)
            rem = self.select(r > 0, nxt, nxt * 0.0)  # D - s
            D = self.fl(q) + self.c_off  # D / T
            f = rem / self.Tf / D  # (D - s) / D, D = T * ceil(s / T)
            x = self.select(r > 0, (self.fl(q) + self.q_off_f + self.fl(r) / self.Tf) / D, D * 0.0 + 1.0)  # s / D
        else:
            done, left, _ = self.seg(t)
            f = left / self.Tf
            x = done / self.Tf  # 1 - f
        if self.power == 0.0:
            return f * 0.0 + base
        if self.power == 1.0:
            return base * f + self.end * x
        fp = self.pow(f, self.power)
        return base * fp + self.end * self.one_minus_pow(f, x, fp)


class CosCell(_Expr):
    """eta + (base*w - eta) * (1+cos(pi*s/P))/2 computed as base*f + eta*g, f = sin^2(pi*u/(2P)),
    u = P - s the remaining (int32) steps, g = 1 - f = sin^2(pi*(P-u)/(2P)): two terms of one sign,
    so a base below eta (0: a weight decay that grows to an absolute eta) loses nothing.

    periodic: torch CosineAnnealing, u = |P - s mod 2P|; ``clamped``: CosineDecay, u = P - min(s, P).
    """

    def __init__(self, P: int, eta: float, eta_ratio: Optional[float], clamped: bool, off: int = 0) -> None:
        super().__init__()
        P, off = int(P), int(off)
        self.k = math.pi / (2.0 * P)
        self.eta = float(eta)
        self.use_ratio = eta_ratio is not None
        self.ratio = float(eta_ratio or 0.0)
        self.clamped = clamped
        self.seg = Seg(0, P, off if clamped else 0)
        self.dm = DivMod(1 if clamped else 2 * P, 0 if clamped else off)
        self.bigP = P > I32_MAX
        self.P = min(P, I32_MAX)
        self.Px = float(P - I32_MAX) if self.bigP else 0.0

    def construct(self, t: Any, base: Any) -> Any:
        if self.clamped:
            v, u, _ = self.seg(t)
        else:
            _, r, _ = self.dm(t)
            if self.bigP:
                u = self.fl(I32_MAX - r) + self.Px
                v = self.fl(r)
            else:
                d = self.P - r
                a = self.maximum(d, -d)
                u = self.fl(a)
                v = self.fl(self.P - a)  # distance from the peak: P - u, in int32
        s = self.sin(u * self.k)
        f = s * s
        c = self.sin(v * self.k)
        g = c * c  # 1 - f without cancellation
        if self.use_ratio:
            return (f + self.ratio * g) * base
        return base * f + self.eta * g


class RestartCell(_Expr):
    """Cosine cycles from tables, all in t coordinates (built for one offset).

    Cycle j covers t in [bounds[j-1], ends[j]) (bounds: the starts of cycles 1..J-1); its value
    is eta + (peaks[j]*base - eta) * sin^2(pi*(ends[j] - t) / (2*lengths[j])), computed as
    peak*f + eta*(1 - f) with 1 - f = sin^2 of the distance from the cycle's start. Ends past
    2**31-1 are an int32 part plus a float32 excess. ``freeze``: t is clamped there (MMEngine
    CosineRestart stops after its last period). ``dead``: from that cycle on the value is eta
    (OneFlow restart_limit). ``exc``: per cycle, None or (t, c, peak): at that t the value is
    eta + (peak*base - eta)*c (OneFlow's floating-point cycle index at a cycle start).
    """

    def __init__(self, bounds: Sequence[int], ends: Sequence[int], lengths: Sequence[int],
                 peaks: Sequence[float], eta: float, eta_ratio: Optional[float], freeze: Optional[int],
                 dead: Optional[int], exc: Optional[Sequence[Any]] = None) -> None:
        super().__init__()
        self.has_bounds = len(bounds) > 0
        self.bounds = Tensor(np.asarray(list(bounds) or [I32_MAX], dtype=np.int32))
        ends_c = [min(int(e), I32_MAX) for e in ends]
        self.ends = Tensor(np.asarray(ends_c, dtype=np.int32))
        self.extra = Tensor(np.asarray([float(int(e) - c) for e, c in zip(ends, ends_c)], dtype=np.float32))
        self.kf = Tensor(np.asarray([math.pi / (2.0 * int(x)) for x in lengths], dtype=np.float32))
        starts = [int(e) - int(x) for e, x in zip(ends, lengths)]  # t - start: the distance from the peak
        self.starts = Tensor(np.asarray([min(max(st, 0), I32_MAX) for st in starts], dtype=np.int32))
        self.before = Tensor(np.asarray([float(max(-st, 0)) for st in starts], dtype=np.float32))
        self.peaks = Tensor(np.asarray(peaks, dtype=np.float32))
        self.eta = float(eta)
        self.use_ratio = eta_ratio is not None
        self.ratio = float(eta_ratio or 0.0)
        self.freeze = freeze is not None
        self.freeze_at = clamp_i32(int(freeze or 0))
        self.has_dead = dead is not None
        self.dead = int(dead or 0)
        exc = list(exc or [])
        self.has_exc = any(x is not None for x in exc)
        rows = [x if x is not None else (-1, 0.0, 0.0) for x in exc] or [(-1, 0.0, 0.0)]
        self.exc_at = Tensor(np.asarray([int(x[0]) for x in rows], dtype=np.int32))
        self.exc_c = Tensor(np.asarray([float(x[1]) for x in rows], dtype=np.float32))
        self.exc_g = Tensor(np.asarray([1.0 - float(x[1]) for x in rows], dtype=np.float32))
        self.exc_pk = Tensor(np.asarray([float(x[2]) for x in rows], dtype=np.float32))

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        if self.freeze:
            tt = self.minimum(tt, self.freeze_at)
        if self.has_bounds:
            j = self.reduce_sum(self.cast(self.expand(tt, -1) >= self.bounds, self.i32), -1)
        else:
            j = tt * 0
        u = self.fl(self.gather(self.ends, j, 0) - tt) + self.gather(self.extra, j, 0)
        v = self.fl(tt - self.gather(self.starts, j, 0)) + self.gather(self.before, j, 0)
        kf = self.gather(self.kf, j, 0)
        sn = self.sin(u * kf)
        f = sn * sn
        sv = self.sin(v * kf)
        g = sv * sv  # 1 - f without cancellation
        peak = self.gather(self.peaks, j, 0) * base
        if self.use_ratio:
            eta = base * self.ratio
        else:
            eta = self.eta
        out = peak * f + eta * g
        if self.has_dead:
            out = self.select(j >= self.dead, out * 0.0 + eta, out)
        if self.has_exc:
            hit = tt == self.gather(self.exc_at, j, 0)
            alt = self.gather(self.exc_pk, j, 0) * base * self.gather(self.exc_c, j, 0) + eta * self.gather(
                self.exc_g, j, 0)
            out = self.select(hit, alt, out)
        return out


class PeriodicRestartCell(_Expr):
    """SGDR with T_mult == 1: cycle i = s // T0, peak base*decay**i, eta from cycle ``limit`` on."""

    def __init__(self, T0: int, eta: float, decay: float, limit: Optional[int], off: int = 0) -> None:
        super().__init__()
        self.dm = DivMod(T0, off)
        q_off = self.dm.q_off
        self.T0 = int(T0)
        self.k = math.pi / (2.0 * T0)
        self.eta = float(eta)
        self.decay = decay != 1.0
        self.e2 = Exp2Lin(math.log2(decay) if decay > 0.0 else 0.0, q_off)
        self.has_limit = limit is not None
        self.live = clamp_i32(int(limit or 0) - 1 - q_off)  # cycle q + q_off < limit  <=>  q <= live

    def construct(self, t: Any, base: Any) -> Any:
        q, r, _ = self.dm(t)
        s = self.sin(self.fl(self.T0 - r) * self.k)
        f = s * s
        c = self.sin(self.fl(r) * self.k)
        g = c * c  # 1 - f without cancellation
        if self.decay:
            peak = self.e2(q) * base
        else:
            peak = base
        out = peak * f + self.eta * g
        if self.has_limit:
            out = self.select(q <= self.live, out, out * 0.0 + self.eta)
        return out


class PhaseCell(_Expr):
    """OneCycle: anneal between (v0, v1) over float phase ends, at s = min(t + off, last).

    Torch's phase ends are floats (pct*T - 1, ...). The position in a phase comes from the
    int32 distances of s to the integer parts of the phase's two ends plus their fractions
    (float32 pairs), so it keeps its precision at any step; a phase anneals from whichever
    end is nearer. Values are relative (x base) or absolute.
    """

    def __init__(self, ends: Sequence[float], v0: Sequence[float], v1: Sequence[float], rel: bool,
                 cos: bool, last: int, off: int = 0) -> None:
        super().__init__()
        last, off = int(last), int(off)
        self.n = len(ends)
        self.fixed = off >= last
        k = last if self.fixed else off
        self.cap = max(min(last - k, I32_MAX), 0)
        starts = [0.0] + [float(x) for x in ends[:-1]]
        thr, ds, fs, de, fe, span = [], [], [], [], [], []
        for S, E in zip(starts, ends):
            A, B = math.floor(S), math.floor(E)
            thr.append(clamp_i32(B - k))  # s <= E  <=>  t <= B - k
            ds.append(k - A)  # s - A = t + ds
            fs.append(split(S - A))
            de.append(B - k)  # B - s = de - t
            fe.append(split(float(E) - B))
            span.append(float(E) - S)
        self.thr, self.ds, self.fs, self.de, self.fe, self.span = (
            tuple(thr), tuple(ds), tuple(fs), tuple(de), tuple(fe), tuple(span))
        self.v0 = tuple(float(x) for x in v0)
        self.v1 = tuple(float(x) for x in v1)
        self.rel = rel
        self.cos = cos

    def piece(self, tt: Any, i: int, base: Any) -> Any:
        a = self.v0[i]
        b = self.v1[i]
        if self.rel:
            a = base * a
            b = base * b
        fs = self.fs[i]
        fe = self.fe[i]
        dp = (self.fl(tt + self.ds[i]) - fs[0]) - fs[1]  # s - start
        dq = (self.fl(self.de[i] - tt) + fe[0]) + fe[1]  # end - s
        p = dp / self.span[i]
        q = dq / self.span[i]  # 1 - p, without cancellation
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
        tt = self.maximum(t, 0)
        if self.fixed:
            tt = tt * 0
        else:
            tt = self.minimum(tt, self.cap)
        out = self.piece(tt, self.n - 1, base)
        if self.n == 3:
            out = self.select(tt <= self.thr[1], self.piece(tt, 1, base), out)
        out = self.select(tt <= self.thr[0], self.piece(tt, 0, base), out)
        return out


class CyclicCell(_Expr):
    """torch CyclicLR: triangular waves between low (None: base) and high; ``inverted``: the
    momentum wave high - (high-low)*wave, computed as low + (high-low)*(1 - wave)."""

    def __init__(self, high: float, low: Optional[float], up: int, down: int, mode: str, gamma: float,
                 inverted: bool, off: int = 0) -> None:
        super().__init__()
        off = int(off)
        self.high = float(high)
        self.has_low = low is not None
        self.low = float(low or 0.0)
        self.up = int(up)
        self.upf, self.downf = float(up), float(down)
        self.mode = {"triangular": 0, "triangular2": 1, "exp_range": 2}[mode]
        self.dm = DivMod(int(up) + int(down), off)
        self.e2 = Exp2Lin(-1.0 if self.mode == 1 else (math.log2(gamma) if self.mode == 2 else 0.0),
                          self.dm.q_off if self.mode == 1 else off)
        self.lng = math.log(gamma)
        self.off_f = float(off)
        self.inverted = inverted
        self.abs = ops.Abs()

    def one_minus(self, tt: Any, scale: Any) -> Any:
        """1 - gamma**s without cancellation: a series for |s ln gamma| < 0.5."""
        x = (self.fl(tt) + self.off_f) * self.lng
        h = 1.0 + x / 9.0
        h = 1.0 + x / 8.0 * h
        h = 1.0 + x / 7.0 * h
        h = 1.0 + x / 6.0 * h
        h = 1.0 + x / 5.0 * h
        h = 1.0 + x / 4.0 * h
        h = 1.0 + x / 3.0 * h
        h = 1.0 + x / 2.0 * h
        return self.select(self.abs(x) < 0.5, -x * h, 1.0 - scale)

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        q, pos, nxt = self.dm(tt)
        rising = pos <= self.up
        sf = self.select(rising, self.fl(pos) / self.upf, nxt / self.downf)
        one = self.ones(t)
        if self.mode == 1:
            scale = self.e2(q)
        elif self.mode == 2:
            scale = self.e2(tt)
        else:
            scale = one
        if self.has_low:
            low = one * self.low
        else:
            low = one * base
        if self.inverted:
            w = self.select(rising, self.fl(self.up - pos) / self.upf, self.fl(pos - self.up) / self.downf)
            if self.mode == 1:
                w = w + sf * (1.0 - scale)
            elif self.mode == 2:
                w = w + sf * self.one_minus(tt, scale)
            return low + (self.high - low) * w
        return low + (self.high - low) * sf * scale


class DecayCell(_Expr):
    """ExponentialDecay (0), NaturalExpDecay (1), InverseTimeDecay (2) at p = s/steps (floor: stair)."""

    def __init__(self, which: int, rate: float, steps: int, stair: bool, off: int = 0) -> None:
        super().__init__()
        off = int(off)
        self.which, self.rate, self.stair = which, float(rate), stair
        self.steps_f = float(steps)
        self.off_f = float(off)
        self.dm = DivMod(steps if stair else 1, off if stair else 0)
        self.q_off_f = float(self.dm.q_off)
        # rate**p = 2**(p*log2(rate)); exp(-rate*p) = 2**(-p*rate*log2(e)) (CPU Exp is ~7e-6 off)
        x = math.log2(rate) if which == 0 else -float(rate) / math.log(2.0)
        if which == 2:
            x = 0.0
        self.e2 = Exp2Lin(x if stair else x / steps, self.dm.q_off if stair else off)

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        if self.stair:
            k, _, _ = self.dm(tt)
        else:
            k = tt
        if self.which == 2:
            if self.stair:
                p = self.fl(k) + self.q_off_f
            else:
                p = (self.fl(tt) + self.off_f) / self.steps_f
            return base / (1.0 + self.rate * p)
        return self.e2(k) * base


class PiecewiseCell(_Expr):
    """values[number of bounds <= s] (``inclusive``: < s), s = t + off; values relative or absolute."""

    def __init__(self, bounds: Sequence[int], values: Sequence[float], relative: bool, inclusive: bool,
                 off: int = 0) -> None:
        super().__init__()
        shifted = [int(b) - int(off) for b in bounds]
        if inclusive:  # s > b  <=>  t > b - off
            self.k0 = sum(1 for b in shifted if b < 0)
            keep = [b for b in shifted if 0 <= b < I32_MAX]
        else:
            self.k0 = sum(1 for b in shifted if b <= 0)
            keep = [b for b in shifted if 0 < b <= I32_MAX]
        self.has_bounds = bool(keep)
        self.bounds = Tensor(np.asarray(keep or [I32_MAX], dtype=np.int32))
        self.vals = Tensor(np.asarray(values, dtype=np.float32))
        self.relative, self.inclusive = relative, inclusive

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        if self.has_bounds:
            tx = self.expand(tt, -1)
            if self.inclusive:
                hit = self.cast(tx > self.bounds, self.i32)
            else:
                hit = self.cast(tx >= self.bounds, self.i32)
            k = self.reduce_sum(hit, -1) + self.k0
        else:
            k = tt * 0 + self.k0
        v = self.gather(self.vals, k, 0)
        if self.relative:
            return v * base
        return v


class InvSqrtCell(_Expr):
    """HF inverse_sqrt: s/W during warm-up, then sqrt(ts / (s + ts - W))."""

    def __init__(self, W: int, ts: int, off: int = 0) -> None:
        super().__init__()
        W, ts, off = int(W), int(ts), int(off)
        self.warm_last = clamp_i32(W - 1 - off)  # s < W
        self.Wf = float(max(1, W))
        self.off_f = float(off)
        c = off + ts - W  # s + ts - W = t + c
        self.c_pos = c >= 0
        self.cf = float(c)
        self.c_neg = min(max(-c, 0), I32_MAX)
        self.tsf = float(ts)

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        warm = (self.fl(tt) + self.off_f) / self.Wf
        if self.c_pos:
            x = self.fl(tt) + self.cf
        else:
            x = self.fl(self.maximum(tt - self.c_neg, 1))
        dec = self.sqrt(self.tsf / x)
        return self.select(tt <= self.warm_last, warm, dec) * base


class NoamCell(_Expr):
    """d**-0.5 * min(n**-0.5, n * W**-1.5) * base, n = s + offset (float32 sum of non-negative parts)."""

    def __init__(self, d: int, W: int, node_off: int, off: int = 0) -> None:
        super().__init__()
        self.scale = float(d) ** -0.5
        self.w15 = float(W) ** -1.5
        self.n0 = float(int(node_off) + int(off))

    def construct(self, t: Any, base: Any) -> Any:
        s = self.fl(self.maximum(t, 0)) + self.n0
        return self.minimum(1.0 / self.sqrt(s), s * self.w15) * self.scale * base


class WsdCell(_Expr):
    """Warm-up, stable, decay (transformers' WSD); shapes "linear", "cosine", "1-sqrt".

    A cosine decay with ``num_cycles`` > 1/4 has zeros inside; it is evaluated as
    sin^2 of the exact distance (int32 steps minus a float32 pair) to the nearest zero.
    """

    def __init__(self, W: int, S: int, D: int, min_ratio: float, warmup: str, decay: str,
                 num_cycles: float, off: int = 0) -> None:
        super().__init__()
        W, S, D, off = int(W), int(S), int(D), int(off)
        W1, D1 = max(1, W), max(1, D)
        self.segw = Seg(0, W1, off)
        self.segd = Seg(W + S, D1, off)
        self.tw = clamp_i32(W - 1 - off)
        self.tws = clamp_i32(W + S - 1 - off)
        self.twsd = clamp_i32(W + S + D - 1 - off)
        self.W1f, self.D1f = float(W1), float(D1)
        self.r = float(min_ratio)
        kinds = {"linear": 0, "cosine": 1, "1-sqrt": 2}
        self.wk, self.dk = kinds[warmup], kinds[decay]
        c = float(num_cycles)
        self.zt = self.dk == 1 and c > 0.25
        zK, zh, zl = [0], [0.0], [0.0]
        if self.zt:  # zeros of cos(pi*c*k/D1) at k_j = (j + 1/2)*D1/c, j = 0..floor(c)
            zK, zh, zl = [], [], []
            for j in range(int(math.floor(c)) + 1):
                z = (2 * j + 1) * D1 / (2.0 * c)  # float64: off by < 2**31 * 2**-53 steps
                K = math.floor(z)
                hi, lo = split(z - K)
                zK.append(min(K, I32_MAX))
                zh.append(hi)
                zl.append(lo)
            self.kc = math.pi * c / D1
        else:
            self.kc = math.pi * c
        self.J1 = len(zK) - 1
        self.jscale = c / D1
        self.zK = Tensor(np.asarray(zK, dtype=np.int32))
        self.zh = Tensor(np.asarray(zh, dtype=np.float32))
        self.zl = Tensor(np.asarray(zl, dtype=np.float32))

    def construct(self, t: Any, base: Any) -> Any:
        tt = self.maximum(t, 0)
        p, q, _ = self.segw(tt)
        p = p / self.W1f
        q = q / self.W1f  # 1 - p
        if self.wk == 0:
            fw = p
        elif self.wk == 1:
            sw = self.sin(p * (math.pi / 2.0))
            fw = sw * sw
        else:
            fw = p / (1.0 + self.sqrt(q))
        fw = self.maximum(fw * (1.0 - self.r) + self.r, 0.0)
        pd, qd, k = self.segd(tt)
        pd = pd / self.D1f
        qd = qd / self.D1f  # 1 - pd
        if self.dk == 0:
            fd = qd
        elif self.dk == 1:
            if self.zt:
                j = self.cast(self.floor(self.fl(k) * self.jscale), self.i32)
                j = self.minimum(self.maximum(j, 0), self.J1)
                d = (self.fl(k - self.gather(self.zK, j, 0)) - self.gather(self.zh, j, 0)) - self.gather(self.zl, j, 0)
                sd = self.sin(d * self.kc)
                fd = sd * sd
            else:
                cd = self.cos(pd * self.kc)
                fd = cd * cd
        else:
            fd = qd / (1.0 + self.sqrt(pd))
        fd = self.maximum(fd * (1.0 - self.r) + self.r, 0.0)
        one = self.ones(t)
        out = self.select(tt <= self.twsd, fd, one * self.r)
        out = self.select(tt <= self.tws, one, out)
        out = self.select(tt <= self.tw, fw, out)
        return out * base


# ---------------------------------------------------------------------------
# composition
# ---------------------------------------------------------------------------


class Switch(_Expr):
    """Sequential milestone: t <= last ? before(t) : after(t - sub) (``sub`` in [0, 2**31-1])."""

    def __init__(self, before: Any, after: Any, last: int, sub: int) -> None:
        super().__init__()
        self.before, self.after, self.last, self.sub = before, after, clamp_i32(last), int(sub)

    def construct(self, t: Any, base: Any) -> Any:
        return self.select(t <= self.last, self.before(t, base), self.after(t - self.sub, base))


class Nest(_Expr):
    """outer(t, inner(t, base)): nested chain / product of multiplicative parts."""

    def __init__(self, inner: Any, outer: Any) -> None:
        super().__init__()
        self.inner, self.outer = inner, outer

    def construct(self, t: Any, base: Any) -> Any:
        return self.outer(t, self.inner(t, base))


class Reindex(_Expr):
    """child((t + off) // every), off < every (a larger offset is the child's own)."""

    def __init__(self, child: Any, every: int, off: int = 0) -> None:
        super().__init__()
        self.child = child
        self.dm = DivMod(every, off)

    def construct(self, t: Any, base: Any) -> Any:
        q, _, _ = self.dm(t)
        return self.child(q, base)


class WindowCell(_Expr):
    """MMEngine window at k = (t + off) // every: base before ``begin``, child(k - begin) inside,
    frozen at child(last) after ``end``.

    With ``last`` None and ``off // every >= begin`` the child gets ``k - begin`` as
    ``q + (off // every - begin)``: the child must be built with that offset; otherwise with 0.
    """

    def __init__(self, child: Any, begin: int, last: Optional[int], every: int, off: int = 0) -> None:
        super().__init__()
        begin, every, off = int(begin), int(every), int(off)
        kk, kr = divmod(off, every)
        self.child = child
        self.dm = DivMod(every, kr)
        self.inactive = clamp_i32(begin - kk - 1)  # k < begin  <=>  q <= begin - kk - 1
        if last is not None:
            self.mode = 0
        elif kk >= begin:
            self.mode = 1
        else:
            self.mode = 2
        self.seg = Seg(begin, int(last or 0), kk)
        self.sub = min(max(begin - kk, 0), I32_MAX)

    def construct(self, t: Any, base: Any) -> Any:
        q, _, _ = self.dm(t)
        if self.mode == 0:
            _, _, local = self.seg(q)
        elif self.mode == 1:
            local = q
        else:
            local = self.maximum(q - self.sub, 0)
        v = self.child(local, base)
        return self.select(q <= self.inactive, v * 0.0 + base, v)


class Tail(_Expr):
    """``expr`` for t < first; from ``first`` on a table of values (the last one holds past its
    end), or, without a table, expr(first - 1)."""

    def __init__(self, expr: Any, first: int, values: Optional[np.ndarray]) -> None:
        super().__init__()
        self.expr = expr
        self.first = min(max(int(first), 1), I32_MAX)
        self.has_table = values is not None and len(values) > 0
        self.table = TableCell(np.asarray(values if self.has_table else [0.0]), False)

    def construct(self, t: Any, base: Any) -> Any:
        if self.has_table:
            return self.select(t < self.first, self.expr(t, base), self.table(t - self.first, base))
        return self.expr(self.minimum(t, self.first - 1), base)


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
