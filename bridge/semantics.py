"""The one place that defines what every IR node computes (vectorised NumPy).

Step contract: ``t`` is the number of scheduler steps completed; v(t) is the
value in effect for update t (0-based). Every lowering and importer is tested
against :func:`evaluate`.

Two views of each node:

* ``closed(node, t, base)``: the value at steps ``t`` when the node runs alone
  from ``base`` (closed form, any ``t`` in any order);
* ``coeffs(node, t, base)``: the *chainable* update at step ``t`` as an affine
  map ``x -> a*x + b`` of the current value (t = 0 is the update a scheduler
  applies when it is constructed). This is how PyTorch's ``ChainedScheduler``,
  MMEngine's overlapping windows and MultiplicativeLR behave, so recursive
  compositions are evaluated by scanning these maps (:func:`scan`).

``base`` has shape ``(G,)`` (one value per param group) or ``(N, G)``; results
have shape ``(N, G)``, float64.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import numpy as np

from .errors import SpecError, UnsupportedError
from .ir import nodes as n

Array = np.ndarray

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _col(f: Array) -> Array:
    return f[:, None] if f.ndim == 1 else f


def _rel(f: Array, base: Array) -> Array:
    """factor (N,) times base (G,) or (N, G) -> (N, G)."""
    return _col(f) * base


def _aff(lo: Any, f: Array, base: Array) -> Array:
    """lo + (base - lo) * f, the shape of most 'decay towards a floor' forms."""
    out = (base - lo) * _col(f)  # same operations and rounding, one temporary fewer
    out += lo
    return out


def _full(t: Array, base: Array, value: Any) -> Array:
    shape = (t.shape[0], base.shape[-1])
    return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).astype(np.float64, copy=True) \
        if np.ndim(value) < 2 else np.array(value, dtype=np.float64)


def _eta(node: Any, base: Array) -> Any:
    return node.eta_min if node.eta_min_ratio is None else base * node.eta_min_ratio


# ---------------------------------------------------------------------------
# closed forms of the leaves
# ---------------------------------------------------------------------------

_CLOSED: Dict[type, Callable[[Any, Array, Array], Array]] = {}


def _closed(cls: type) -> Callable[[Callable[[Any, Array, Array], Array]], Callable[[Any, Array, Array], Array]]:
    def deco(fn: Callable[[Any, Array, Array], Array]) -> Callable[[Any, Array, Array], Array]:
        _CLOSED[cls] = fn
        return fn
    return deco


@_closed(n.Constant)
def _c_constant(nd: n.Constant, t: Array, base: Array) -> Array:
    if nd.total_iters is None:
        f = np.full(t.shape, nd.factor)
    else:
        f = np.where(t < nd.total_iters, nd.factor, 1.0)
    return _rel(f, base)


@_closed(n.Linear)
def _c_linear(nd: n.Linear, t: Array, base: Array) -> Array:
    T = nd.total_iters
    f = nd.start_factor + (nd.end_factor - nd.start_factor) * np.minimum(t, T) / T
    return _rel(f, base)


@_closed(n.Step)
def _c_step(nd: n.Step, t: Array, base: Array) -> Array:
    return _rel(nd.gamma ** (t // nd.step_size).astype(np.float64), base)


@_closed(n.MultiStep)
def _c_multistep(nd: n.MultiStep, t: Array, base: Array) -> Array:
    k = np.searchsorted(np.asarray(nd.milestones, dtype=np.int64), t, side="right")
    return _rel(nd.gamma ** k.astype(np.float64), base)


@_closed(n.Exponential)
def _c_exponential(nd: n.Exponential, t: Array, base: Array) -> Array:
    return _rel(nd.gamma ** t.astype(np.float64), base)


@_closed(n.Polynomial)
def _c_polynomial(nd: n.Polynomial, t: Array, base: Array) -> Array:
    T = nd.total_iters
    if nd.cycle:  # OneFlow: step 0 counts as 1, the horizon grows by whole periods
        tt = np.maximum(t, 1).astype(np.float64)
        D = T * np.ceil(tt / T)
        f = (1.0 - tt / D) ** nd.power
    else:
        f = (1.0 - np.minimum(t, T) / T) ** nd.power
    if nd.end_value == 0.0:
        return _rel(f, base)
    return _aff(nd.end_value, f, base)


@_closed(n.CosineAnnealing)
def _c_cosine_annealing(nd: n.CosineAnnealing, t: Array, base: Array) -> Array:
    f = np.multiply(t, np.pi)  # (1 + cos(pi * t / T_max)) / 2, in place
    f /= nd.T_max
    np.cos(f, out=f)
    f += 1.0
    f /= 2.0
    return _aff(_eta(nd, base), f, base)


@_closed(n.CosineDecay)
def _c_cosine_decay(nd: n.CosineDecay, t: Array, base: Array) -> Array:
    cd = 0.5 * (1.0 + np.cos(np.pi * np.minimum(t, nd.decay_steps) / nd.decay_steps))
    if nd.eta_min is not None:
        return _aff(nd.eta_min, cd, base)
    return _rel((1.0 - nd.alpha) * cd + nd.alpha, base)


def float_cycle_index(t: int, T0: int, Tm: int) -> int:
    """OneFlow's CosineAnnealingWarmRestarts cycle index of step ``t`` (``T_mult > 1``):
    ``floor(log(1 - t/T0*(1-Tm), Tm))`` in float64, which can miss the exact index at a
    cycle boundary."""
    return math.floor(math.log(1 - t / T0 * (1 - Tm), Tm))


def _restart_cycles(nd: n.WarmRestarts, t: Array) -> Tuple[Array, Array, Array]:
    """cycle index i, step within cycle, cycle length (float) for each t."""
    T0, Tm = nd.T_0, nd.T_mult
    if Tm == 1:
        i = t // T0
        return i, (t - i * T0).astype(np.float64), np.full(t.shape, float(T0))
    tmax = int(t.max()) if t.size else 0
    starts = [0]
    length = T0
    while starts[-1] + length <= tmax:
        starts.append(starts[-1] + length)
        length *= Tm
    s = np.asarray(starts, dtype=np.int64)
    i = np.searchsorted(s, t, side="right") - 1
    if nd.float_log_cycles:
        # OneFlow: floor(log(1 - t/T0*(1-Tm), Tm)) in floating point; it can only disagree
        # with the exact index at a cycle boundary.
        for k, b in enumerate(starts):
            fi = float_cycle_index(b, T0, Tm)
            if fi != k:
                i = np.where(t == b, fi, i)
        tc = np.empty(t.shape)
        Ti = np.empty(t.shape)
        for k in np.unique(i):
            m = i == k
            kk = int(k)
            Ti[m] = float(Tm ** kk * T0)
            tc[m] = t[m] - (1 - Tm ** kk) / (1 - Tm) * T0
        return i, tc, Ti
    Ti = T0 * np.asarray([float(Tm) ** k for k in range(len(starts))])[i]
    return i, (t - s[i]).astype(np.float64), Ti


@_closed(n.WarmRestarts)
def _c_warm_restarts(nd: n.WarmRestarts, t: Array, base: Array) -> Array:
    i, tc, Ti = _restart_cycles(nd, t)
    cos = 0.5 * (1.0 + np.cos(np.pi * tc / Ti))
    peak = base if nd.decay_rate == 1.0 else base * _col(nd.decay_rate ** i.astype(np.float64))
    out = nd.eta_min + (peak - nd.eta_min) * _col(cos)
    if nd.restart_limit is not None:
        out = np.where(_col(i >= nd.restart_limit), nd.eta_min, out)
    return out


def _cosine_restart_pos(nd: n.CosineRestart, t: Array) -> Tuple[Array, Array, Array, Array]:
    cum = np.cumsum(np.asarray(nd.periods, dtype=np.int64))
    idx = np.searchsorted(cum, t, side="right")
    past = idx >= len(nd.periods)
    idx_c = np.minimum(idx, len(nd.periods) - 1)
    start = np.where(idx_c == 0, 0, cum[np.maximum(idx_c - 1, 0)])
    return idx_c, t - start, past, cum


@_closed(n.CosineRestart)
def _c_cosine_restart(nd: n.CosineRestart, t: Array, base: Array) -> Array:
    total = sum(nd.periods)
    tt = np.minimum(t, total - 1)  # frozen after the last period
    idx, s, _, _ = _cosine_restart_pos(nd, tt)
    P = np.asarray(nd.periods, dtype=np.float64)[idx]
    w = np.asarray(nd.restart_weights, dtype=np.float64)[idx]
    em = _eta(nd, base)
    cos = (1.0 + np.cos(np.pi * s / P)) / 2.0
    return em + (base * _col(w) - em) * _col(cos)


def _phases(nd: Any) -> list:
    T = nd.total_steps
    p = nd.pct_start
    if nd.three_phase:
        return [float(p * T) - 1, float(2 * p * T) - 2, T - 1]
    return [float(p * T) - 1, T - 1]


def _anneal(kind: str, start: Any, end: Any, pct: Array) -> Array:
    pct = _col(pct)
    if kind == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)
    return (end - start) * pct + start


def _phase_eval(nd: Any, t: Array, base: Array, ends_values: list) -> Array:
    if t.size and int(t.max()) > nd.total_steps:
        raise SpecError(f"{nd.kind}.total_steps", f"defines steps 0..{nd.total_steps} only (torch raises "
                        f"'Tried to step {int(t.max())} times'); asked for step", int(t.max()))
    ends = _phases(nd)
    shape = (t.shape[0], np.shape(base)[-1])
    out = np.empty(shape)
    done = np.zeros(t.shape, dtype=bool)
    start = 0.0
    for i, (end, (v0, v1)) in enumerate(zip(ends, ends_values)):
        m = ~done if i == len(ends) - 1 else (~done & (t <= end))
        if m.any():
            pct = (t[m] - start) / (end - start)
            a0 = v0[m] if np.ndim(v0) == 2 else v0
            a1 = v1[m] if np.ndim(v1) == 2 else v1
            out[m] = _anneal(nd.anneal, a0, a1, pct)
        done |= m
        start = end
    return out


@_closed(n.OneCycle)
def _c_one_cycle(nd: n.OneCycle, t: Array, base: Array) -> Array:
    mx = base if nd.max_lr is None else np.broadcast_to(np.float64(nd.max_lr), np.shape(base))
    init = mx / nd.div_factor
    lo = init / nd.final_div_factor
    if nd.three_phase:
        vals = [(init, mx), (mx, init), (init, lo)]
    else:
        vals = [(init, mx), (mx, lo)]
    return _phase_eval(nd, t, base, vals)


@_closed(n.OneCycleMomentum)
def _c_one_cycle_momentum(nd: n.OneCycleMomentum, t: Array, base: Array) -> Array:
    b, m = nd.base_momentum, nd.max_momentum
    vals = [(m, b), (b, m), (m, m)] if nd.three_phase else [(m, b), (b, m)]
    return _phase_eval(nd, t, base, vals)


@_closed(n.Cyclic)
def _c_cyclic(nd: n.Cyclic, t: Array, base: Array) -> Array:
    up = float(nd.step_size_up)
    down = float(nd.step_size_down) if nd.step_size_down is not None else up
    total = up + down
    ratio = up / total
    tf = t.astype(np.float64)
    cycle = np.floor(1 + tf / total)
    x = 1.0 + tf / total - cycle
    sf = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
    if nd.mode == "triangular":
        scale = np.ones_like(tf)
    elif nd.mode == "triangular2":
        scale = 1 / (2.0 ** (cycle - 1))
    else:
        scale = nd.gamma ** tf
    low = base if nd.low is None else np.float64(nd.low)
    height = (nd.high - low) * _col(sf)
    if nd.inverted:
        return nd.high - height * _col(scale) + np.zeros_like(base)
    return low + height * _col(scale) + np.zeros_like(base)  # absolute low: one column per group


def _decay_p(nd: Any, t: Array) -> Array:
    p = t / nd.decay_steps
    return np.floor(p) if nd.staircase else p


@_closed(n.ExponentialDecay)
def _c_exponential_decay(nd: n.ExponentialDecay, t: Array, base: Array) -> Array:
    return _rel(nd.decay_rate ** _decay_p(nd, t), base)


@_closed(n.NaturalExpDecay)
def _c_natural_exp_decay(nd: n.NaturalExpDecay, t: Array, base: Array) -> Array:
    return _rel(np.exp(-nd.decay_rate * _decay_p(nd, t)), base)


@_closed(n.InverseTimeDecay)
def _c_inverse_time_decay(nd: n.InverseTimeDecay, t: Array, base: Array) -> Array:
    return base / _col(1.0 + nd.decay_rate * _decay_p(nd, t))


@_closed(n.PiecewiseConstant)
def _c_piecewise(nd: n.PiecewiseConstant, t: Array, base: Array) -> Array:
    side: Any = "left" if nd.inclusive else "right"
    k = np.searchsorted(np.asarray(nd.boundaries, dtype=np.int64), t, side=side)
    v = np.asarray(nd.values, dtype=np.float64)[k]
    return _rel(v, base) if nd.relative else _col(v) + np.zeros_like(base)


@_closed(n.InverseSqrt)
def _c_inverse_sqrt(nd: n.InverseSqrt, t: Array, base: Array) -> Array:
    W = nd.warmup_steps
    ts = nd.timescale if nd.timescale is not None else (W or 10_000)
    tf = t.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        decay = 1.0 / np.sqrt((tf + (ts - W)) / ts)
    f = np.where(t < W, tf / max(1, W), decay)
    return _rel(f, base)


@_closed(n.Noam)
def _c_noam(nd: n.Noam, t: Array, base: Array) -> Array:
    s = (t + nd.offset).astype(np.float64)
    f = nd.d_model ** -0.5 * np.minimum(s ** -0.5, s * nd.warmup_steps ** -1.5)
    return _rel(f, base)


def _shape_fn(kind: str, p: Array, warm: bool, cycles: float = 0.5) -> Array:
    if kind == "linear":
        return p if warm else 1.0 - p
    if kind == "cosine":
        return 0.5 * (1.0 - np.cos(np.pi * p)) if warm else 0.5 * (1.0 + np.cos(np.pi * cycles * 2.0 * p))
    with np.errstate(invalid="ignore"):
        return 1.0 - np.sqrt(1.0 - p) if warm else 1.0 - np.sqrt(p)


@_closed(n.WarmupStableDecay)
def _c_wsd(nd: n.WarmupStableDecay, t: Array, base: Array) -> Array:
    W, S, D, r = nd.warmup_steps, nd.stable_steps, nd.decay_steps, nd.min_lr_ratio
    tf = t.astype(np.float64)
    pw = tf / max(1, W)
    fw = np.maximum(0.0, _shape_fn(nd.warmup_type, np.clip(pw, 0, 1), True) * (1.0 - r) + r)
    pd = (tf - W - S) / max(1, D)
    fd = np.maximum(0.0, _shape_fn(nd.decay_type, np.clip(pd, 0, 1), False, nd.num_cycles) * (1.0 - r) + r)
    f = np.where(t < W, fw, np.where(t < W + S, 1.0, np.where(t < W + S + D, fd, r)))
    return _rel(f, base)


@_closed(n.KDecayCosine)
def _c_k_decay_cosine(nd: n.KDecayCosine, t: Array, base: Array) -> Array:
    # pytorch-accelerated: lr = warmup_start at construction (base without warm-up); the Trainer's
    # k-th step() writes get_updated_values(k - 1), in the library's operation order
    W, C, k = nd.warmup_steps, nd.cooldown_steps, nd.k_decay
    Tc = nd.total_steps - (W + C)
    s = (t - 1).astype(np.float64)
    b = base + np.zeros((t.shape[0], base.shape[-1]))
    m = b * nd.min_lr_ratio if nd.min_lr_ratio is not None else nd.lr_min
    out = m + np.zeros_like(b)
    if Tc > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = 1 + np.cos(np.pi * np.maximum(s - W, 0.0) ** k / float(Tc) ** k)
        out = np.where(_col((s >= W) & (s < Tc)), m + 0.5 * (b - m) * _col(cos), out)
    if W:
        start = b * nd.warmup_start_ratio if nd.warmup_start_ratio is not None else nd.warmup_start
        warm = start + _col(s) * ((b - nd.warmup_start) / W)
        out = np.where(_col(s < W), warm, out)
    first = nd.warmup_start if W else b
    return np.where(_col(t == 0), first, out)


def _timm_cycles(nd: n.Timm, t: Array) -> Tuple[Array, Array, Array]:
    """timm's cycle index i (int), cycle length t_i and position t_curr (floats) at (shifted) steps t."""
    T, m = nd.t_initial, nd.cycle_mul
    tf = t.astype(np.float64)
    if m == 1.0:
        i = np.floor_divide(tf, T)
        return i.astype(np.int64), np.full(tf.shape, T), tf - T * i
    arg = 1 - tf / T * (1 - m)
    if (arg <= 0).any():
        bad = int(t[np.flatnonzero(arg <= 0)[0]])
        raise UnsupportedError(f"timm: cycle_mul={m} < 1 makes the cycles end at step {T / (1 - m):g}; timm "
                               f"raises ValueError (math domain error) at step {bad}")
    x = np.log(arg) / math.log(m)
    i = np.floor(x).astype(np.int64)
    near = np.flatnonzero(np.abs(x - np.round(x)) < 1e-9)  # Python's math.log decides at a boundary
    for j in near:
        i[j] = math.floor(math.log(float(arg[j]), m))
    mi = np.asarray([m ** int(v) for v in range(int(i.min()), int(i.max()) + 1)])[i - int(i.min())] \
        if i.size else np.zeros(0)
    return i, mi * T, tf - (1 - mi) / (1 - m) * T


def _timm_main(nd: n.Timm, t: Array, base: Array) -> Array:
    """timm _get_lr(t) past the warm-up (t already shifted by the prefix), shape (N, G)."""
    b = base + np.zeros((t.shape[0], base.shape[-1]))
    if nd.shape == "step":
        p = np.floor_divide(t.astype(np.float64), nd.decay_t)
        return b * _col(nd.decay_rate ** p)
    if nd.shape == "multistep":
        cnt = np.searchsorted(np.asarray(nd.milestones, dtype=np.float64), t + 1, side="right")
        return b * _col(nd.decay_rate ** cnt.astype(np.float64))
    i, ti, tc = _timm_cycles(nd, t)
    mx = b * _col(nd.cycle_decay ** i.astype(np.float64))
    lo, k = nd.lr_min, nd.k_decay
    if nd.shape == "cosine":
        out = lo + 0.5 * (mx - lo) * _col(1 + np.cos(np.pi * tc ** k / ti ** k))
    elif nd.shape == "tanh":
        tr = tc / ti
        out = lo + 0.5 * (mx - lo) * _col(1 - np.tanh(nd.lb * (1.0 - tr) + nd.ub * tr))
    else:
        with np.errstate(invalid="ignore"):
            out = lo + (mx - lo) * _col((1 - tc ** k / ti ** k) ** nd.power)
    return np.where(_col(i < nd.cycle_limit), out, lo)


@_closed(n.Timm)
def _c_timm(nd: n.Timm, t: Array, base: Array) -> Array:
    W, init = nd.warmup_t, nd.warmup_lr_init
    tm = t - W if nd.warmup_prefix else t
    out = _timm_main(nd, np.maximum(tm, 0), base)
    if W:
        if nd.shape == "tanh" and not nd.warmup_prefix:
            target = _timm_main(nd, np.full(t.shape, W, dtype=np.int64), base)  # its value at warmup_t
        else:
            target = base
        warm = init + _col(t.astype(np.float64)) * ((target - init) / W)
        out = np.where(_col(t < W), warm, out)
    out = np.where(_col(t == 0), init if W else base + np.zeros_like(out), out)
    return out * nd.scale if nd.scale != 1.0 else out


@_closed(n.Table)
def _c_table(nd: n.Table, t: Array, base: Array) -> Array:
    v: Array = nd.values
    if t.size and int(t.max()) >= v.shape[0]:
        if nd.after == "error":
            raise SpecError("table.values", f"has {v.shape[0]} values; asked for step", int(t.max()))
    f = v[np.minimum(t, v.shape[0] - 1)]
    return _rel(f, base) if nd.relative else _col(f) + np.zeros_like(base)


@_closed(n.Lambda)
def _c_lambda(nd: n.Lambda, t: Array, base: Array) -> Array:
    f = np.fromiter((float(nd.fn(int(s))) for s in t), dtype=np.float64, count=t.shape[0])
    return _rel(f, base)


# ---------------------------------------------------------------------------
# chainable updates (x -> a*x + b) of the leaves, as torch / MMEngine step them
# ---------------------------------------------------------------------------


def _ident(t: Array, base: Array) -> Tuple[Array, Array]:
    shape = (t.shape[0], np.shape(base)[-1])
    return np.ones(shape), np.zeros(shape)


def _mul(a: Array, base: Array) -> Tuple[Array, Array]:
    A = _col(a) * np.ones(np.shape(base)[-1])
    return A, np.zeros_like(A)


def _affine_towards(r: Array, floor: Any, base: Array) -> Tuple[Array, Array]:
    """x -> r*(x - floor) + floor."""
    A = _col(r) * np.ones(np.shape(base)[-1])
    return A, floor * (1.0 - A) if np.ndim(floor) == 0 else floor * (1.0 - A)


def _k_constant(nd: n.Constant, t: Array, base: Array) -> Tuple[Array, Array]:
    a = np.where(t == 0, nd.factor, 1.0)
    if nd.total_iters is not None and nd.total_iters > 0:
        if nd.factor == 0.0:  # torch divides by zero here; the closed form returns the base
            A, B = _mul(np.where(t == nd.total_iters, 0.0, a), base)
            B = B + _col((t == nd.total_iters).astype(np.float64)) * base
            return A, B
        a = np.where(t == nd.total_iters, 1.0 / nd.factor, a)
    return _mul(a, base)


def _k_linear(nd: n.Linear, t: Array, base: Array) -> Tuple[Array, Array]:
    s, e, T = nd.start_factor, nd.end_factor, nd.total_iters
    if s == 0.0:
        return _reset(nd, t, base)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 1.0 + (e - s) / (T * s + (t - 1) * (e - s))
    a = np.where(t == 0, s, np.where(t > T, 1.0, r))
    return _mul(a, base)


def _k_step(nd: n.Step, t: Array, base: Array) -> Tuple[Array, Array]:
    return _mul(np.where((t > 0) & (t % nd.step_size == 0), nd.gamma, 1.0), base)


def _k_multistep(nd: n.MultiStep, t: Array, base: Array) -> Tuple[Array, Array]:
    ms = np.asarray(nd.milestones, dtype=np.int64)
    cnt = np.searchsorted(ms, t, side="right") - np.searchsorted(ms, t, side="left")
    return _mul(nd.gamma ** cnt.astype(np.float64), base)


def _k_exponential(nd: n.Exponential, t: Array, base: Array) -> Tuple[Array, Array]:
    return _mul(np.where(t == 0, 1.0, nd.gamma), base)


def _k_polynomial(nd: n.Polynomial, t: Array, base: Array) -> Tuple[Array, Array]:
    if nd.cycle:
        return _reset(nd, t, base)
    T = nd.total_iters
    with np.errstate(divide="ignore", invalid="ignore"):
        r = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** nd.power
    r = np.where((t == 0) | (t > T), 1.0, r)
    if nd.end_value == 0.0:
        return _mul(r, base)
    return _affine_towards(r, nd.end_value, base)


def _k_cosine_annealing(nd: n.CosineAnnealing, t: Array, base: Array) -> Tuple[Array, Array]:
    T = nd.T_max
    em = _eta(nd, base)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1 + np.cos(np.pi * t / T)) / (1 + np.cos(np.pi * (t - 1) / T))
    special = ((t - 1 - T) % (2 * T) == 0) & (t > 0)
    r = np.where(t == 0, 1.0, np.where(special, 1.0, r))
    A, B = _affine_towards(r, em, base)
    add = (base - em) * (1 - math.cos(math.pi / T)) / 2
    B = np.where(_col(special), add + np.zeros_like(B), B)
    return A, B


def _k_cosine_restart(nd: n.CosineRestart, t: Array, base: Array) -> Tuple[Array, Array]:
    idx, s, past, _ = _cosine_restart_pos(nd, t)
    P = np.asarray(nd.periods, dtype=np.float64)[idx]
    w = np.asarray(nd.restart_weights, dtype=np.float64)[idx]
    em = _eta(nd, base)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (1 + np.cos(np.pi * s / P)) / (1 + np.cos(np.pi * (s - 1) / P))
    start = (s == 0) & ~past
    r = np.where(past, 1.0, np.where(start, 0.0, r))
    A, B = _affine_towards(r, em, base)
    B = np.where(_col(past), 0.0, B)
    B = np.where(_col(start), base * _col(w) + np.zeros_like(B), B)
    return A, B


def _k_multiplicative(nd: n.Multiplicative, t: Array, base: Array) -> Tuple[Array, Array]:
    f = np.fromiter((1.0 if s == 0 else float(nd.fn(int(s))) for s in t), dtype=np.float64, count=t.shape[0])
    return _mul(f, base)


def _reset(nd: n.Node, t: Array, base: Array) -> Tuple[Array, Array]:
    """An absolute update: x -> closed(t)."""
    B = evaluate(nd, t, base)
    return np.zeros_like(B), B


_CHAIN: Dict[type, Callable[[Any, Array, Array], Tuple[Array, Array]]] = {
    n.Constant: _k_constant,
    n.Linear: _k_linear,
    n.Step: _k_step,
    n.MultiStep: _k_multistep,
    n.Exponential: _k_exponential,
    n.Polynomial: _k_polynomial,
    n.CosineAnnealing: _k_cosine_annealing,
    n.CosineRestart: _k_cosine_restart,
    n.Multiplicative: _k_multiplicative,
}


# ---------------------------------------------------------------------------
# composites
# ---------------------------------------------------------------------------


def _segments(nd: n.Sequential, t: Array) -> Tuple[Array, Array]:
    """segment index and the step each child sees."""
    ms = np.asarray(nd.milestones, dtype=np.int64)
    k = np.searchsorted(ms, t, side="right")
    start = np.where(k > 0, ms[np.maximum(k - 1, 0)] if ms.size else 0, 0)
    resc = np.asarray((True,) + tuple(nd.rescale or ()), dtype=bool)[k]
    local = np.where(resc, t - start, t)
    return k, local


def _continuing(nd: n.Node) -> bool:
    return isinstance(nd, n.Multiplicative)


def coeffs(nd: n.Node, t: Array, base: Array) -> Tuple[Array, Array]:
    """Chainable update at steps ``t`` (x -> a*x + b), each of shape (N, G)."""
    t = np.asarray(t, dtype=np.int64)
    fn = _CHAIN.get(type(nd))
    if fn is not None:
        return fn(nd, t, base)
    if isinstance(nd, n.Sequential):
        k, local = _segments(nd, t)
        A, B = _ident(t, base)
        for i, child in enumerate(nd.schedules):
            m = k == i
            if not m.any():
                continue
            s = local[m]
            bm = base[m] if np.ndim(base) == 2 else base
            if i > 0 and not (nd.rescale or ())[i - 1]:  # OneFlow: the child's closed form at the global step
                a, b = _reset(child, s, bm)
            else:
                a, b = coeffs(child, s, bm)
                if i > 0 and not _continuing(child):
                    # torch SequentialLR restarts the child at a milestone (`_update_lr(0)`)
                    at0 = s == 0
                    if at0.any():
                        v0 = evaluate(child, np.zeros(1, dtype=np.int64), bm if np.ndim(bm) == 1 else bm[at0])
                        a[at0] = 0.0
                        b[at0] = v0
                elif i > 0:  # MultiplicativeLR at a milestone multiplies by fn(0)
                    at0 = s == 0
                    if at0.any():
                        a[at0] = float(child.fn(0))  # type: ignore[attr-defined]
            A[m], B[m] = a, b
        z = t == 0
        if z.any() and all(nd.rescale or ()):
            # torch SequentialLR's constructor writes initial_lr back into the group before the
            # first child's initial step: inside a ChainedScheduler that undoes earlier children
            # (at t=0 the child active from step 0 gets its initial step, never a restart)
            k0 = int(np.searchsorted(np.asarray(nd.milestones, dtype=np.int64), 0, side="right"))
            A[z] = 0.0
            B[z] = evaluate(nd.schedules[k0], np.zeros(1, dtype=np.int64),
                            base if np.ndim(base) == 1 else base[z])
        return A, B
    if isinstance(nd, n.Chain):
        if nd.mode == "nested":
            return _reset(nd, t, base)
        A, B = _ident(t, base)
        for child in nd.schedules:
            a, b = coeffs(child, t, base)
            A, B = a * A, a * B + b
        return A, B
    if isinstance(nd, n.Windows):
        A, B = _ident(t, base)
        order = list(nd.windows)
        later = [w for w in order if w.every == 1] + [w for w in order if w.every > 1]
        first = t == 0
        for seq, sel in ((order, first), (later, ~first)):
            if not sel.any():
                continue
            ts = t[sel]
            bs = base[sel] if np.ndim(base) == 2 else base
            As, Bs = A[sel], B[sel]
            for w in seq:
                kk = ts // w.every
                act = (ts % w.every == 0) & (kk >= w.begin)
                if w.end is not None:
                    act &= kk < w.end
                if not act.any():
                    continue
                a, b = coeffs(w.schedule, kk[act] - w.begin, bs[act] if np.ndim(bs) == 2 else bs)
                As[act], Bs[act] = a * As[act], a * Bs[act] + b
            A[sel], B[sel] = As, Bs
        return A, B
    if isinstance(nd, n.Hold):
        A, B = _ident(t, base)
        m = t % nd.every == 0
        if m.any():
            a, b = coeffs(nd.schedule, t[m] // nd.every, base[m] if np.ndim(base) == 2 else base)
            A[m], B[m] = a, b
        return A, B
    if isinstance(nd, n.Shift):
        A, B = coeffs(nd.schedule, t + nd.offset, base)
        z = t == 0
        if z.any():
            v = evaluate(nd.schedule, np.array([nd.offset]), base if np.ndim(base) == 1 else base[z])
            A[z], B[z] = 0.0, v
        return A, B
    if isinstance(nd, n.Plateau):
        raise UnsupportedError("plateau: a metric-driven schedule cannot be composed with others here; "
                               "evaluate it alone with its metrics, or tabulate it")
    return _reset(nd, t, base)


def needs_scan(nd: n.Node) -> bool:
    """True when evaluating ``nd`` needs the step-by-step (chainable) recursion."""
    if isinstance(nd, n.Multiplicative):
        return True
    if isinstance(nd, (n.Windows,)):
        return True
    if isinstance(nd, n.Chain):
        # one child with a chainable form: torch's chainable arithmetic (ChainedScheduler([x])),
        # which drifts from the closed form (CosineAnnealingLR past T_max)
        return nd.mode == "recursive" and (len(nd.schedules) > 1 or type(nd.schedules[0]) in _CHAIN
                                           or needs_scan(nd.schedules[0]))
    if isinstance(nd, n.Sequential):
        return any(_continuing(c) for c in nd.schedules[1:]) or needs_scan(nd.schedules[0])
    return False


def evaluate(nd: n.Node, t: Any, base: Any) -> Array:
    """Values of ``nd`` at steps ``t`` for per-group ``base``: shape (len(t), G), float64."""
    t = np.asarray(t, dtype=np.int64).reshape(-1)
    base = np.asarray(base, dtype=np.float64)
    if base.ndim == 0:
        base = base.reshape(1)
    if t.size and int(t.min()) < 0:
        raise SpecError("step", "must be >= 0", int(t.min()))
    if isinstance(nd, n.Plateau):
        return _plateau(nd, t, base)
    if needs_scan(nd):
        if t.size == 0:
            return np.zeros((0, base.shape[-1]))
        T = int(t.max()) + 1
        if base.ndim == 2:
            raise UnsupportedError(f"{nd.kind}: a recursive schedule cannot take a per-step base here")
        x = scan_range(nd, 0, T, base, base)
        return x if t.shape[0] == T and t[0] == 0 and bool(np.all(t[1:] > t[:-1])) else x[t]
    fn = _CLOSED.get(type(nd))
    if fn is not None:
        return np.asarray(fn(nd, t, base), dtype=np.float64).reshape(t.shape[0], base.shape[-1])
    if isinstance(nd, n.Sequential):
        out = np.empty((t.shape[0], base.shape[-1]))
        if t.size > 1 and t[0] <= t[-1] and not (nd.rescale and not all(nd.rescale)) and \
                bool(np.all(t[1:] >= t[:-1])):  # sorted steps: each child on a slice, no masks
            ms = np.asarray(nd.milestones, dtype=np.int64)
            cut = [0] + np.searchsorted(t, ms, side="left").tolist() + [t.shape[0]]
            for i, child in enumerate(nd.schedules):
                s, e = cut[i], cut[i + 1]
                if e > s:
                    out[s:e] = evaluate(child, t[s:e] - (ms[i - 1] if i else 0), base if base.ndim == 1
                                        else base[s:e])
            return out
        k, local = _segments(nd, t)
        for i, child in enumerate(nd.schedules):
            m = k == i
            if m.any():
                out[m] = evaluate(child, local[m], base if base.ndim == 1 else base[m])
        return out
    if isinstance(nd, n.Chain):  # nested (or a single child)
        cur = base
        for child in nd.schedules:
            if cur.ndim == 2 and needs_scan(child):
                raise UnsupportedError("chain(mode='nested'): a recursive child cannot be nested; "
                                       "use mode='recursive'")
            cur = evaluate(child, t, cur)
        return cur if cur.ndim == 2 else np.broadcast_to(cur, (t.shape[0], cur.shape[-1])).copy()
    if isinstance(nd, n.Hold):
        return evaluate(nd.schedule, t // nd.every, base)
    if isinstance(nd, n.Shift):
        return evaluate(nd.schedule, t + nd.offset, base)
    raise UnsupportedError(f"no semantics for node kind {nd.kind!r}")  # pragma: no cover


# ---------------------------------------------------------------------------
# the scan x_t = a_t * x_{t-1} + b_t
# ---------------------------------------------------------------------------


def scan(a: Array, b: Array, x0: Array, out: Optional[Array] = None) -> Array:
    """Solve x_t = a_t*x_{t-1} + b_t (x_{-1} = x0) for every column.

    Vectorised where the maps are resets (a = 0) or pure products (b = 0);
    a Python loop only over stretches where both are non-zero.
    """
    N, G = a.shape
    x = np.empty((N, G)) if out is None else out
    for g in range(G):
        ag, bg = a[:, g], b[:, g]
        prev = float(x0[g] if np.ndim(x0) else x0)
        reset = ag == 0.0
        if reset.all():
            x[:, g] = bg
            continue
        # split into runs that start at a reset (or at 0)
        starts = np.flatnonzero(reset)
        bounds = [0] + [int(s) for s in starts if s != 0] + [N]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if lo == hi:
                continue
            seg_a, seg_b = ag[lo:hi], bg[lo:hi]
            first = seg_b[0] if reset[lo] else seg_a[0] * prev + seg_b[0]
            rest_a, rest_b = seg_a[1:], seg_b[1:]
            if not rest_b.any():
                x[lo, g] = first
                if hi - lo > 1:
                    x[lo + 1:hi, g] = first * np.multiply.accumulate(rest_a)
            else:
                xs = x[lo:hi, g]
                v = first
                xs[0] = v
                ra, rb = rest_a.tolist(), rest_b.tolist()
                for j in range(len(ra)):
                    v = ra[j] * v + rb[j]
                    xs[j + 1] = v
            prev = float(x[hi - 1, g])
    return x


def iter_chunks(nd: n.Node, base: Any, steps: int, chunk: int = 1 << 20) -> Iterator[Array]:
    """Stream values for steps 0..steps-1 in chunks of ``chunk`` rows (bounded memory)."""
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    recursive = needs_scan(nd)
    prev = base.copy()
    for lo in range(0, steps, chunk):
        hi = min(steps, lo + chunk)
        t = np.arange(lo, hi, dtype=np.int64)
        if not recursive:
            yield evaluate(nd, t, base)
            continue
        x = scan_range(nd, lo, hi, base, prev)
        prev = x[-1].copy()
        yield x


def _coeffs_floor(nd: n.Node, t: Array, base: Array) -> Tuple[Array, Array, Array]:
    """Like :func:`coeffs`, plus a floor F: where F is finite the update is a*(x - F) + F.

    That is the order torch's CosineAnnealingLR computes in; near eta_min, a*x + b rounds
    differently and the difference grows by 1/(1 - cos(pi/T_max)) on the way back up.
    """
    if isinstance(nd, n.Chain) and nd.mode == "recursive" and len(nd.schedules) == 1:
        return _coeffs_floor(nd.schedules[0], t, base)  # ChainedScheduler([x]) nested in a chain
    A, B = coeffs(nd, t, base)
    F = np.full(A.shape, np.nan)
    if isinstance(nd, n.CosineAnnealing):
        T = nd.T_max
        special = ((t - 1 - T) % (2 * T) == 0) & (t > 0)
        plain = _col((t > 0) & ~special)
        em = np.broadcast_to(np.asarray(_eta(nd, base), dtype=np.float64), A.shape)
        F = np.where(plain, em, np.nan)
        B = np.where(plain, 0.0, B)
    return A, B, F


def scan_range(nd: n.Node, lo: int, hi: int, base: Any, prev: Any) -> Array:
    """Values of a recursive node at steps lo..hi-1, given its value ``prev`` at lo-1 (base if lo=0).

    A recursive ``Chain`` applies its children's updates one after the other in Python
    floats, in torch's operation order (ChainedScheduler / chainable schedulers exactly);
    ``Shift`` resumes its child at step ``offset``. Everything else goes through
    :func:`coeffs` and :func:`scan`.
    """
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    prev = np.asarray(prev, dtype=np.float64).reshape(-1)
    if isinstance(nd, n.Shift):  # resume the child at its own step offset + lo
        if lo == 0:
            first = evaluate(nd.schedule, np.array([nd.offset]), base)
            if hi == 1:
                return first
            rest = scan_range(nd.schedule, nd.offset + 1, nd.offset + hi, base, first[0])
            return np.concatenate([first, rest])
        return scan_range(nd.schedule, lo + nd.offset, hi + nd.offset, base, prev)
    if not (isinstance(nd, n.Chain) and nd.mode == "recursive"):
        a, b = coeffs(nd, np.arange(lo, hi, dtype=np.int64), base)
        return scan(a, b, prev)
    if len(nd.schedules) == 1:
        e = _telescoping_end(nd.schedules[0], hi)
        if e > lo:  # the child's closed form: torch's chainable form telescopes to it here
            first = evaluate(nd.schedules[0], np.arange(lo, e, dtype=np.int64), base)
            if e == hi:
                return first
            return np.concatenate([first, scan_range(nd, e, hi, base, first[-1])])
    t = np.arange(lo, hi, dtype=np.int64)
    maps = [_coeffs_floor(ch, t, base) for ch in nd.schedules]
    out = np.empty((hi - lo, base.shape[0]))
    for g in range(base.shape[0]):
        x = float(prev[g])
        col = out[:, g]
        cols: Optional[list] = None
        for s, e, phi in _product_runs(maps, g):
            if phi is not None:  # every update is x -> a*(x - phi) + phi: a cumulative product
                seg = np.multiply.accumulate(np.prod([A[s:e, g] for A, _, _ in maps], axis=0))
                seg *= x - phi
                seg += phi
                col[s:e] = seg
                x = float(seg[-1])
                continue
            if cols is None:
                cols = [(A[:, g].tolist(), B[:, g].tolist(), F[:, g].tolist()) for A, B, F in maps]
            for j in range(s, e):
                for A_, B_, F_ in cols:
                    f = F_[j]
                    x = A_[j] * (x - f) + f if f == f else A_[j] * x + B_[j]
                col[j] = x
    return out


def _telescoping_end(nd: n.Node, hi: int) -> int:
    """End of the steps ``0..e-1`` where ``nd``'s chainable updates telescope to its closed form.

    CosineAnnealing: up to T_max (past it torch's additive branch and the growth from near
    eta_min amplify its rounding, so it is scanned); Linear (start_factor > 0), Exponential,
    Step, MultiStep: always. 0 for everything else.
    """
    if isinstance(nd, n.CosineAnnealing):
        return min(hi, nd.T_max + 1)
    if isinstance(nd, n.Linear) and nd.start_factor > 0.0:
        return hi
    if isinstance(nd, (n.Exponential, n.Step, n.MultiStep)):
        return hi
    return 0


def _product_runs(maps: list, g: int) -> list:
    """Split a recursive chain's steps (column g) into runs ``(start, end, phi)``.

    ``phi`` is not None where every child's update is a product about a common floor phi
    (x -> a*(x - phi) + phi; a pure product has phi = 0) and, for phi != 0, does not grow
    (x - phi), so a cumulative product matches torch's step-by-step rounding within 1e-12
    (growth away from a non-zero floor amplifies it). Elsewhere ``phi`` is None: step by step.
    """
    N = maps[0][0].shape[0]
    if N == 0:
        return []
    phi = np.zeros(N)
    has = np.zeros(N, dtype=bool)
    ok = np.ones(N, dtype=bool)
    for _, _, F in maps:
        f = F[:, g]
        fin = ~np.isnan(f)
        ok &= ~(fin & has & (f != phi))
        phi = np.where(fin & ~has, f, phi)
        has |= fin
    prod = np.ones(N)
    for A, B, F in maps:
        a, b = A[:, g], B[:, g]
        fin = ~np.isnan(F[:, g])
        ok &= fin | ((b == 0.0) & ((a == 1.0) | (phi == 0.0)))
        prod *= a
    ok &= (phi == 0.0) | (prod <= 1.0)
    cut = np.flatnonzero((ok[1:] != ok[:-1]) | (ok[1:] & (phi[1:] != phi[:-1]))) + 1
    bounds = [0] + cut.tolist() + [N]
    return [(s, e, float(phi[s]) if ok[s] else None) for s, e in zip(bounds[:-1], bounds[1:])]


# ---------------------------------------------------------------------------
# metric-driven
# ---------------------------------------------------------------------------


def _plateau(nd: n.Plateau, t: Array, base: Array) -> Array:
    if base.ndim != 1:
        raise UnsupportedError("plateau cannot take a per-step base")
    if nd.metrics is None:
        raise UnsupportedError(
            "plateau: ReduceLROnPlateau depends on the metric you pass to step(); it cannot be "
            "precomputed. Give the node a 'metrics' trace (one value per scheduler step) to evaluate it")
    T = int(t.max()) + 1 if t.size else 0
    if T - 1 > len(nd.metrics):
        raise SpecError("plateau.metrics", f"has {len(nd.metrics)} values, so steps 0..{len(nd.metrics)} "
                        "are known; asked for step", T - 1)
    worse = math.inf if nd.mode == "min" else -math.inf
    x = base.astype(np.float64).copy()
    out = np.empty((T, base.shape[0]))
    best, bad, cool = worse, 0, 0
    if T:
        out[0] = x
    for k in range(1, T):
        cur = float(nd.metrics[k - 1])
        if nd.mode == "min" and nd.threshold_mode == "rel":
            better = cur < best * (1.0 - nd.threshold)
        elif nd.mode == "min":
            better = cur < best - nd.threshold
        elif nd.threshold_mode == "rel":
            better = cur > best * (nd.threshold + 1.0)
        else:
            better = cur > best + nd.threshold
        if better:
            best, bad = cur, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > nd.patience:
            for g in range(x.shape[0]):
                new = max(x[g] * nd.factor, nd.min_lr)
                if x[g] - new > nd.eps:
                    x[g] = new
            cool = nd.cooldown
            bad = 0
        out[k] = x
    return out[t]
