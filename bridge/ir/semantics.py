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

from ..errors import SpecError, UnsupportedError
from . import nodes as n

__all__ = ["Carry", "chainable", "coeffs", "evaluate", "float_cycle_index", "iter_chunks", "needs_scan",
           "phase_ends", "scan", "scan_range"]

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


@_closed(n.QuadraticWarmup)
def _c_quadratic_warmup(nd: n.QuadraticWarmup, t: Array, base: Array) -> Array:
    T = nd.total_iters
    k = np.minimum(t + 1, T).astype(np.float64)
    return _rel(k * k / (T * T), base)


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


def phase_ends(nd: Any) -> list:
    """The step at which each phase of a ``one_cycle`` / ``one_cycle_momentum`` node ends, as
    torch's OneCycleLR computes its ``end_step``: ``[pct_start*T - 1, T - 1]``, or
    ``[pct_start*T - 1, 2*pct_start*T - 2, T - 1]`` with ``three_phase`` (``T = total_steps``;
    the first ones are floats)."""
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
    ends = phase_ends(nd)
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


@_closed(n.HFLambda)
def _c_hf_lambda(nd: n.HFLambda, t: Array, base: Array) -> Array:
    # transformers.optimization's lr_lambda, operation for operation (Python floats and NumPy round
    # the same; np.cos is math.cos here), then base * lambda as torch's LambdaLR multiplies
    W, N, name = nd.num_warmup_steps, nd.num_training_steps, nd.name
    tf = t.astype(np.float64)
    with np.errstate(invalid="ignore"):
        if name == "cosine_warmup_with_min_lr":  # every quantity a float, progress at t - W + 1
            if nd.warmup_lr_rate is None:
                warm = (tf + 1.0) / max(1.0, float(W))
            else:
                wr = nd.warmup_lr_rate
                warm = wr + (1.0 - wr) * tf / float(max(1, W - 1))
            p = (tf - float(W) + 1.0) / max(1.0, float(N) - float(W))
        else:
            warm = tf / float(max(1, W))
            p = (t - W).astype(np.float64) / float(max(1, N - W))
        if name == "linear":
            f = (N - t).astype(np.float64) / float(max(1, N - W))
        elif name == "cosine_with_restarts":
            f = 0.5 * (1.0 + np.cos(math.pi * np.remainder(float(nd.num_cycles) * p, 1.0)))
            f[p >= 1.0] = 0.0
        else:
            f = 0.5 * (1.0 + np.cos(math.pi * float(nd.num_cycles) * 2.0 * p))
            f = f * (1 - nd.min_lr_rate) + nd.min_lr_rate
    f = np.where(f > 0.0, f, 0.0)  # max(0, f)
    return _rel(np.where(t < W, warm, f), base)


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
    return _mul(_pypow(nd.gamma, cnt), base)


def _pypow(x: float, k: Array) -> Array:
    """``x ** k`` as Python computes it (torch's and MMEngine's ``gamma ** n``): NumPy's power can
    differ in the last bit (even for k = 1); the distinct exponents are few."""
    u, inv = np.unique(k, return_inverse=True)
    return np.asarray([x ** float(v) for v in u.tolist()], dtype=np.float64)[inv.reshape(-1)]


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


def _k_quadratic_warmup(nd: n.QuadraticWarmup, t: Array, base: Array) -> Tuple[Array, Array]:
    """MMEngine's arithmetic: step 0 sets base*1/T**2, step t < T adds base*(2t+1)/T**2 (then holds)."""
    T2 = nd.total_iters ** 2
    warm = _col(t < nd.total_iters)
    A = np.where(_col(t == 0), 0.0, 1.0) * np.ones(np.shape(base)[-1])
    B = np.where(warm, base * _col((2 * t + 1).astype(np.float64)) / T2, 0.0)
    return A, B


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


def _reset(nd: n.Node, t: Array, base: Array, carry: Optional[Carry] = None) -> Tuple[Array, Array]:
    """An absolute update: x -> closed(t)."""
    B = evaluate(nd, t, base, carry)
    return np.zeros_like(B), B


_CHAIN: Dict[type, Callable[[Any, Array, Array], Tuple[Array, Array]]] = {
    n.Constant: _k_constant,
    n.Linear: _k_linear,
    n.Step: _k_step,
    n.MultiStep: _k_multistep,
    n.Exponential: _k_exponential,
    n.Polynomial: _k_polynomial,
    n.QuadraticWarmup: _k_quadratic_warmup,
    n.CosineAnnealing: _k_cosine_annealing,
    n.CosineRestart: _k_cosine_restart,
    n.Multiplicative: _k_multiplicative,
}


def chainable(nd: n.Node) -> bool:
    """Whether ``nd``'s kind has a chainable update of its own in :func:`coeffs`, x -> a*x + b (the
    recursive forms of torch's and MMEngine's schedulers): constant, linear, step, multistep,
    exponential, polynomial, quadratic_warmup, cosine_annealing, cosine_restart, multiplicative. Of these, a linear
    from ``start_factor=0`` and a cycling polynomial still update absolutely. Any other leaf in a
    recursive chain updates absolutely (x -> its closed form at t; plateau cannot be chained);
    composites compose their children's updates."""
    return type(nd) in _CHAIN


# ---------------------------------------------------------------------------
# streaming state
# ---------------------------------------------------------------------------


class Carry:
    """What :func:`evaluate` keeps between calls so that ranges of steps asked for in increasing
    order continue where the previous call stopped, instead of starting over from step 0.

    Only recursive nodes (the chainable scan, ReduceLROnPlateau with metrics) have state: the
    next step to compute, the value at the step before it, and, for a recursive ``Chain``, the
    cumulative products of the runs still open. A carry mirrors the call tree (one sub-carry per
    child and call site, :meth:`sub`), so a recursive node anywhere in a composition -- a
    ``Sequential`` child, under ``Hold``/``Shift``, in a nested ``Chain``, in a ``Windows``
    entry -- keeps its own state. Values are identical to evaluating from step 0 in one call
    (every piece of arithmetic depends only on the step and the carried values). Asking for a step
    before the carried one starts that node over from 0; ``block`` bounds the rows computed at
    once when a node has to catch up over a long stretch (memory O(block)).
    """

    __slots__ = ("kids", "next", "last", "base", "runs", "extra", "block")

    def __init__(self, block: int = 1 << 20) -> None:
        self.block = max(1, int(block))
        self.kids: Dict[Any, Carry] = {}
        self.next = 0  # first step not computed yet
        self.last: Optional[Array] = None  # the row at step next - 1
        self.base: Optional[Array] = None
        self.runs: Optional[list] = None  # per column: (floor, product, x - floor) of an open run, or None
        self.extra: Any = None  # node-specific state (plateau)

    def sub(self, key: Any) -> Carry:
        """The carry of the child / call site ``key``."""
        c = self.kids.get(key)
        if c is None:
            c = self.kids[key] = Carry(self.block)
        return c

    def restart(self, base: Array) -> None:
        self.kids, self.next, self.last, self.runs, self.extra = {}, 0, None, None, None
        self.base = base.copy()

    def usable(self, base: Array, first: int) -> bool:
        """Whether the state can serve steps from ``first`` on for ``base`` (else: restart)."""
        return self.base is not None and self.base.shape == base.shape and bool(np.array_equal(self.base, base)) \
            and (first >= self.next or (first == self.next - 1 and self.last is not None))


def _sub(carry: Optional[Carry], key: Any) -> Optional[Carry]:
    return None if carry is None else carry.sub(key)


def _is_sorted(t: Array) -> bool:
    return t.shape[0] < 2 or bool(np.all(t[1:] >= t[:-1]))


_SCAN_BLOCK = 1 << 15  # steps scanned at once: its arrays stay in the CPU cache


def _carried(nd: n.Node, t: Array, base: Array, carry: Carry,
             step: Callable[[int, int, Array, Optional[Array]], Array]) -> Array:
    """Rows at (sorted) steps ``t`` of a stateful node, continuing from ``carry``.

    ``step(lo, hi, prev, dest)`` computes the rows for steps lo..hi-1 given the row at lo-1
    (``prev``, the base when lo = 0) and updates any further state it keeps in ``carry``; it may
    write them into ``dest`` (rows of the result, or None) and return it.
    """
    N = t.shape[0]
    # steps t[0], t[0] + 1, ...: strictly increasing over a span of N - 1
    contiguous = N < 2 or (int(t[-1]) - int(t[0]) == N - 1 and bool(np.all(t[1:] > t[:-1])))
    if not contiguous and N > 1 and not bool(np.all(t[1:] >= t[:-1])):
        # unsorted: the sorted distinct steps, then back in the order asked for
        u, inv = np.unique(t, return_inverse=True)
        return _carried(nd, u, base, carry, step)[inv.reshape(-1)]
    G = base.shape[-1]
    out = np.empty((t.shape[0], G))
    if t.shape[0] == 0:
        return out
    if not carry.usable(base, int(t[0])):
        carry.restart(base)
    pos = 0
    if carry.next > int(t[0]):  # the row at next - 1, kept from the previous call
        pos = int(np.searchsorted(t, carry.next, side="left"))
        out[:pos] = carry.last
    end = int(t[-1]) + 1
    while pos < t.shape[0]:
        lo = carry.next
        hi = min(end, lo + min(carry.block, _SCAN_BLOCK))
        dest = out[pos:pos + hi - lo] if contiguous and lo == int(t[pos]) else None
        x = step(lo, hi, base if lo == 0 else carry.last, dest)  # type: ignore[arg-type]
        carry.last = x[-1].copy()
        carry.next = hi
        k = int(np.searchsorted(t, hi, side="left"))
        if dest is not None:
            if x is not dest:
                dest[:] = x
        elif k > pos:
            out[pos:k] = x[t[pos:k] - lo]
        pos = k
    return out


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


def coeffs(nd: n.Node, t: Array, base: Array, carry: Optional[Carry] = None) -> Tuple[Array, Array]:
    """Chainable update at steps ``t`` (x -> a*x + b), each of shape (N, G).

    ``carry`` (streaming) is handed down to the evaluations of absolute children.
    """
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
                a, b = _reset(child, s, bm, _sub(carry, ("reset", i)))
            else:
                a, b = coeffs(child, s, bm, _sub(carry, i))
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
            return _reset(nd, t, base, carry)
        A, B = _ident(t, base)
        for i, child in enumerate(nd.schedules):
            a, b = coeffs(child, t, base, _sub(carry, i))
            A, B = a * A, a * B + b
        return A, B
    if isinstance(nd, n.Windows):
        A, B = _ident(t, base)
        order = list(nd.windows)
        later = [w for w in order if w.every == 1] + [w for w in order if w.every > 1]
        first = t == 0
        for phase, (seq, sel) in enumerate(((order, first), (later, ~first))):
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
                a, b = coeffs(w.schedule, kk[act] - w.begin, bs[act] if np.ndim(bs) == 2 else bs,
                              _sub(carry, (phase, order.index(w))))
                As[act], Bs[act] = a * As[act], a * Bs[act] + b
            A[sel], B[sel] = As, Bs
        return A, B
    if isinstance(nd, n.Hold):
        A, B = _ident(t, base)
        m = t % nd.every == 0
        if m.any():
            a, b = coeffs(nd.schedule, t[m] // nd.every, base[m] if np.ndim(base) == 2 else base, _sub(carry, 0))
            A[m], B[m] = a, b
        return A, B
    if isinstance(nd, n.Shift):
        A, B = coeffs(nd.schedule, t + nd.offset, base, _sub(carry, 0))
        z = t == 0
        if z.any():
            v = evaluate(nd.schedule, np.array([nd.offset]), base if np.ndim(base) == 1 else base[z])
            A[z], B[z] = 0.0, v
        return A, B
    if isinstance(nd, n.Plateau):
        raise UnsupportedError("plateau: a metric-driven schedule cannot be composed with others here; "
                               "evaluate it alone with its metrics, or tabulate it")
    return _reset(nd, t, base, carry)


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


def evaluate(nd: n.Node, t: Any, base: Any, carry: Optional[Carry] = None) -> Array:
    """Values of ``nd`` at steps ``t`` for per-group ``base``: shape (len(t), G), float64.

    ``carry`` (a :class:`Carry`, optional): state kept between calls, so that calls for steps in
    increasing order (streaming, chunk after chunk) continue recursive nodes instead of scanning
    them from step 0 each time. The values are the same with or without it.
    """
    t = np.asarray(t, dtype=np.int64).reshape(-1)
    base = np.asarray(base, dtype=np.float64)
    if base.ndim == 0:
        base = base.reshape(1)
    if t.size and int(t.min()) < 0:
        raise SpecError("step", "must be >= 0", int(t.min()))
    if isinstance(nd, n.Plateau):
        return _plateau(nd, t, base, carry)
    if needs_scan(nd):
        if t.size == 0:
            return np.zeros((0, base.shape[-1]))
        if base.ndim == 2:
            raise UnsupportedError(f"{nd.kind}: a recursive schedule cannot take a per-step base here")
        if carry is not None:
            cr = carry
            return _carried(nd, t, base, cr, lambda lo, hi, prev, dest: scan_range(nd, lo, hi, base, prev, cr, dest))
        T = int(t.max()) + 1
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
                    v = evaluate(child, t[s:e] - (ms[i - 1] if i else 0), base if base.ndim == 1
                                 else base[s:e], _sub(carry, i))
                    if e - s == t.shape[0]:
                        return v  # one child covers every step (long runs, chunk after chunk)
                    out[s:e] = v
            return out
        k, local = _segments(nd, t)
        for i, child in enumerate(nd.schedules):
            m = k == i
            if m.any():
                out[m] = evaluate(child, local[m], base if base.ndim == 1 else base[m], _sub(carry, i))
        return out
    if isinstance(nd, n.Chain):  # nested (or a single child)
        cur = base
        for i, child in enumerate(nd.schedules):
            if cur.ndim == 2 and needs_scan(child):
                raise UnsupportedError("chain(mode='nested'): a recursive child cannot be nested; "
                                       "use mode='recursive'")
            cur = evaluate(child, t, cur, _sub(carry, i))
        return cur if cur.ndim == 2 else np.broadcast_to(cur, (t.shape[0], cur.shape[-1])).copy()
    if isinstance(nd, n.Hold):
        return evaluate(nd.schedule, t // nd.every, base, _sub(carry, 0))
    if isinstance(nd, n.Shift):
        return evaluate(nd.schedule, t + nd.offset, base, _sub(carry, 0))
    if isinstance(nd, n.Stride):
        at = t * nd.every + nd.offset
        return evaluate(nd.schedule, at if nd.last is None else np.minimum(at, nd.last), base, _sub(carry, 0))
    raise UnsupportedError(f"no semantics for node kind {nd.kind!r}")  # pragma: no cover


# ---------------------------------------------------------------------------
# the scan x_t = a_t * x_{t-1} + b_t
# ---------------------------------------------------------------------------

_MIN_PRODUCT = 16  # shorter stretches of pure products go through the loop (same numbers, less overhead)


def scan(a: Array, b: Array, x0: Array, out: Optional[Array] = None) -> Array:
    """Solve x_t = a_t*x_{t-1} + b_t (x_{-1} = x0) for every column, step by step in float64.

    The arithmetic is the frameworks' own order, one step after the other: resets (a = 0) give
    x = b; a stretch of pure products (b = 0) is one cumulative product seeded with the value
    before it (``np.multiply.accumulate`` multiplies left to right, so every value is rounded as
    ``x * a_t`` one step after the other); a Python loop only over the steps where both are
    non-zero. Every step depends on the previous value only, so a range cut anywhere and resumed
    from its last value gives the same numbers (streaming).
    """
    return _scan_maps([(a, b, None)], x0, np.empty(a.shape) if out is None else out)


def _scan_maps(maps: list, x0: Any, out: Array) -> Array:
    """:func:`scan` for several updates per step applied in order, each ``(A, B, F)``: where the
    floor F is finite the update is ``x -> A*(x - F) + F`` (MMEngine's and torch's order for
    cosine and poly), else ``x -> A*x + B`` (F may be None: no floors). An update with A = 1,
    B = 0 and no floor leaves the value alone (an inactive window). Steps where one update acts
    are vectorised as in :func:`scan`; steps where several act run them one after the other."""
    N, G = out.shape
    if N == 0:
        return out
    for g in range(G):
        cols = [(A[:, g], B[:, g], None if F is None else F[:, g]) for A, B, F in maps]
        multi: Optional[Array] = None
        f: Optional[Array]
        if len(cols) == 1:
            a, b, f = cols[0]
        else:  # the one update acting at each step; several: step by step
            a, b, f = np.ones(N), np.zeros(N), np.full(N, np.nan)
            cnt = np.zeros(N, dtype=np.int8)
            for A_, B_, F_ in cols:
                act = (A_ != 1.0) | (B_ != 0.0)
                if F_ is not None:
                    act |= F_ == F_
                cnt += act
                a[act], b[act] = A_[act], B_[act]
                f[act] = np.nan if F_ is None else F_[act]
            multi = cnt > 1
            if not multi.any():
                multi = None
        fin = None if f is None else f == f
        reset = a == 0.0
        prod = ~reset & ((b == 0.0) if fin is None else np.where(fin, f == 0.0, b == 0.0))
        kind = np.where(reset, 0, np.where(prod, 1, 2)).astype(np.int8)
        if multi is not None:
            kind[multi] = 2
        xg = out[:, g]
        prev = float(x0[g] if np.ndim(x0) else x0)
        cut = np.flatnonzero(kind[1:] != kind[:-1]) + 1
        bounds = [0] + cut.tolist() + [N]
        if len(bounds) > 2:  # short product stretches join the loop
            for s, e in zip(bounds[:-1], bounds[1:]):
                if kind[s] == 1 and e - s < _MIN_PRODUCT:
                    kind[s:e] = 2
            cut = np.flatnonzero(kind[1:] != kind[:-1]) + 1
            bounds = [0] + cut.tolist() + [N]
        for s, e in zip(bounds[:-1], bounds[1:]):
            k = kind[s]
            if k == 0:
                xg[s:e] = b[s:e] if fin is None else np.where(fin[s:e], f[s:e], b[s:e])  # type: ignore[index]
            elif k == 1:
                seg = xg[s:e]
                seg[:] = a[s:e]
                seg[0] *= prev
                np.multiply.accumulate(seg, out=seg)
                seg += 0.0  # as a*x + 0.0 in the loop: no negative zeros
            elif multi is None and (fin is None or not fin[s:e].any()):
                v = prev
                xg[s:e] = [v := aj * v + bj for aj, bj in zip(a[s:e].tolist(), b[s:e].tolist())]
            elif multi is None and fin is not None and f is not None and fin[s:e].all() and \
                    bool(np.all(f[s:e] == f[s])):
                v, fv = prev, float(f[s])
                xg[s:e] = [v := aj * (v - fv) + fv for aj in a[s:e].tolist()]
            else:
                xg[s:e] = _loop_maps(cols, a, b, f, multi, s, e, prev)
            prev = float(xg[e - 1])
    return out


def _loop_maps(cols: list, a: Array, b: Array, f: Optional[Array], multi: Optional[Array], s: int, e: int,
               v: float) -> list:
    """Steps s..e-1 one at a time (see :func:`_scan_maps`)."""
    al, bl = a[s:e].tolist(), b[s:e].tolist()
    fl = [math.nan] * (e - s) if f is None else f[s:e].tolist()
    ml = [False] * (e - s) if multi is None else multi[s:e].tolist()
    full = None
    out = []
    for j in range(e - s):
        if ml[j]:
            if full is None:
                full = [(A[s:e].tolist(), B[s:e].tolist(), [math.nan] * (e - s) if F is None else F[s:e].tolist())
                        for A, B, F in cols]
            for A_, B_, F_ in full:
                fj = F_[j]
                v = A_[j] * (v - fj) + fj if fj == fj else A_[j] * v + B_[j]
        else:
            fj = fl[j]
            v = al[j] * (v - fj) + fj if fj == fj else al[j] * v + bl[j]
        out.append(v)
    return out


def iter_chunks(nd: n.Node, base: Any, steps: int, chunk: int = 1 << 20) -> Iterator[Array]:
    """Stream values for steps 0..steps-1 in chunks of ``chunk`` rows.

    O(steps) time and O(chunk) memory for every composition: recursive nodes anywhere in the
    tree carry their state from chunk to chunk (:class:`Carry`). The chunks are identical to
    ``evaluate(nd, arange(steps), base)``.
    """
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    carry = Carry(chunk)
    for lo in range(0, steps, chunk):
        hi = min(steps, lo + chunk)
        yield evaluate(nd, np.arange(lo, hi, dtype=np.int64), base, carry)


def _coeffs_floor(nd: n.Node, t: Array, base: Array, carry: Optional[Carry] = None) -> Tuple[Array, Array, Array]:
    """Like :func:`coeffs`, plus a floor F: where F is finite the update is a*(x - F) + F.

    That is the order torch's CosineAnnealingLR computes in; near eta_min, a*x + b rounds
    differently and the difference grows by 1/(1 - cos(pi/T_max)) on the way back up.
    """
    if isinstance(nd, n.Chain) and nd.mode == "recursive" and len(nd.schedules) == 1:
        # ChainedScheduler([x]) nested in a chain
        return _coeffs_floor(nd.schedules[0], t, base, _sub(carry, 0))
    if isinstance(nd, n.CosineAnnealing):
        return _floor_cosine(nd, t, base)
    A, B = coeffs(nd, t, base, carry)
    return A, B, np.full(A.shape, np.nan)


def _floor_cosine(nd: n.CosineAnnealing, t: Array, base: Array) -> Tuple[Array, Array, Array]:
    """:func:`_k_cosine_annealing` in floor form, in as few passes as it takes.

    The same numbers as ``_k_cosine_annealing`` followed by the floor substitution: A is the ratio
    of consecutive ``1 + cos(pi*t/T_max)`` (1 at step 0 and at torch's additive step); plain
    steps get F = eta_min and B = 0; the additive step keeps B and F = nan.
    """
    T = nd.T_max
    G = np.shape(base)[-1]
    N = t.shape[0]
    contiguous = N > 1 and int(t[-1]) - int(t[0]) == N - 1 and _is_sorted(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        if contiguous:  # cos(pi*(t-1)/T) is cos(pi*t/T) one step earlier: one cosine per step
            c = np.arange(int(t[0]) - 1, int(t[-1]) + 1, dtype=np.int64) * np.pi
            c /= T
            np.cos(c, out=c)
            c += 1
            r = c[1:] / c[:-1]
        else:
            r = (1 + np.cos(np.pi * t / T)) / (1 + np.cos(np.pi * (t - 1) / T))
    if contiguous:  # torch's additive steps T_max + 1 + 2k*T_max, as positions
        t0 = int(t[0])
        k0 = max(0, -(-(t0 - T - 1) // (2 * T)))
        sp = np.arange(T + 1 + 2 * T * k0 - t0, N, 2 * T)
        zero = [0] if t0 == 0 else []
    else:
        sp = np.flatnonzero(((t - 1 - T) % (2 * T) == 0) & (t > 0))
        zero = np.flatnonzero(t == 0).tolist()
    r[sp] = 1.0
    r[zero] = 1.0
    A = r[:, None] if G == 1 else _col(r) * np.ones(G)
    em = _eta(nd, base)
    F = np.empty((N, G))
    F[:] = em
    F[sp] = np.nan
    F[zero] = np.nan
    B = np.zeros((N, G))
    if sp.size:  # the additive step: x + (base - eta_min) * (1 - cos(pi/T)) / 2
        B[sp] = (base - em) * (1 - math.cos(math.pi / T)) / 2
    return A, B, F


def scan_range(nd: n.Node, lo: int, hi: int, base: Any, prev: Any, carry: Optional[Carry] = None,
               out: Optional[Array] = None) -> Array:
    """Values of a recursive node at steps lo..hi-1, given its value ``prev`` at lo-1 (base if lo=0).

    A recursive ``Chain`` applies its children's updates one after the other in Python
    floats, in torch's operation order (ChainedScheduler / chainable schedulers exactly);
    ``Shift`` resumes its child at step ``offset``. Everything else goes through
    :func:`coeffs` and :func:`scan`.

    ``carry``: the node's streaming state. With it, a run of cumulative products still open at
    ``hi`` is continued by the next call (the values equal one call over the whole range);
    without it every call starts its runs afresh at ``lo``. ``out``: where the rows may be
    written (the result is then ``out``; other paths return a new array).
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
    if isinstance(nd, n.Windows):
        return _scan_windows(nd, lo, hi, base, prev, carry)
    if not (isinstance(nd, n.Chain) and nd.mode == "recursive"):
        a, b = coeffs(nd, np.arange(lo, hi, dtype=np.int64), base, _sub(carry, "coeffs"))
        return scan(a, b, prev)
    if len(nd.schedules) == 1:
        e = _telescoping_end(nd.schedules[0], hi)
        if e > lo:  # the child's closed form: torch's chainable form telescopes to it here
            first = evaluate(nd.schedules[0], np.arange(lo, e, dtype=np.int64), base)
            if carry is not None:
                carry.runs = None  # the runs start afresh at e
            if e == hi:
                return first
            return np.concatenate([first, scan_range(nd, e, hi, base, first[-1], carry)])
    if len(nd.schedules) == 1 and isinstance(nd.schedules[0], n.CosineAnnealing) and lo > nd.schedules[0].T_max:
        return _scan_cosine(nd.schedules[0], lo, hi, base, prev, carry, out)
    t = np.arange(lo, hi, dtype=np.int64)
    sub = _sub(carry, "coeffs")
    maps = [_coeffs_floor(ch, t, base, _sub(sub, i)) for i, ch in enumerate(nd.schedules)]
    G = base.shape[0]
    out = np.empty((hi - lo, G))
    opened = carry.runs if carry is not None and carry.runs is not None else [None] * G
    still: list = [None] * G
    for g in range(G):
        x = float(prev[g])
        col = out[:, g]
        for s, e, phi in _product_runs(maps, g):
            if phi is not None:  # every update is x -> a*(x - phi) + phi: a cumulative product
                prod = maps[0][0][s:e, g] if len(maps) == 1 else np.prod([A[s:e, g] for A, _, _ in maps], axis=0)
                x, state = _product_run(col[s:e], prod, x, phi, opened[g] if s == 0 else None)
                if e == hi - lo:
                    still[g] = state
                continue
            x = _step_by_step(maps, g, s, e, x, col)
    if carry is not None:
        carry.runs = still
    return out


def _scan_windows(nd: n.Windows, lo: int, hi: int, base: Array, prev: Array, carry: Optional[Carry]) -> Array:
    """MMEngine's param_scheduler list at steps lo..hi-1, in MMEngine's arithmetic: every active
    scheduler applies its ``_get_value`` to the current value in turn (:func:`_mm_map`); at step 0
    in list order, later iteration-based schedulers before epoch-based ones (ParamSchedulerHook)."""
    t = np.arange(lo, hi, dtype=np.int64)
    N, G = hi - lo, base.shape[0]
    maps: Dict[int, tuple] = {}
    for i, w in enumerate(nd.windows):
        kk = t // w.every
        act = (t % w.every == 0) & (kk >= w.begin)
        if w.end is not None:
            act &= kk < w.end
        if not act.any():
            continue  # leaves the value alone in this range
        A, B, F = np.ones((N, G)), np.zeros((N, G)), np.full((N, G), np.nan)
        A[act], B[act], F[act] = _mm_map(w.schedule, kk[act] - w.begin, base, _sub(carry, ("window", i)))
        maps[i] = (A, B, F)
    out = np.empty((N, G))
    first = 0
    x: Any = prev
    if lo == 0:  # construction: every scheduler that starts at 0 acts, in list order
        row = [float(v) for v in prev]
        for i in sorted(maps):
            A, B, F = maps[i]
            for g in range(G):
                fj = float(F[0, g])
                row[g] = float(A[0, g]) * (row[g] - fj) + fj if fj == fj else float(A[0, g]) * row[g] + float(B[0, g])
        out[0] = row
        x, first = out[0], 1
    later = [i for i, w in enumerate(nd.windows) if w.every == 1] + [i for i, w in enumerate(nd.windows) if w.every > 1]
    _scan_maps([tuple(m[first:] for m in maps[i]) for i in later if i in maps], x, out[first:])
    return out


def _mm_map(nd: n.Node, k: Array, base: Array, carry: Optional[Carry]) -> Tuple[Array, Array, Array]:
    """One MMEngine scheduler's update at its own steps k as (A, B, F) (see :func:`_scan_maps`):
    the floor forms of cosine, cosine-restart and poly, MMEngine's poly factor
    ``(1 - 1/(total_iters - k + 1))**power`` (Python's pow), and :func:`coeffs` for the others."""
    if isinstance(nd, n.CosineAnnealing):
        return _floor_cosine(nd, k, base)
    G = np.shape(base)[-1]
    if isinstance(nd, n.Polynomial) and not nd.cycle:
        T = nd.total_iters
        act = (k > 0) & (k <= T)
        r = np.ones(k.shape[0])
        q = 1 - 1 / (T - k[act] + 1)
        r[act] = q if nd.power == 1.0 else [v ** nd.power for v in q.tolist()]
        F = np.where(_col(act), nd.end_value, np.nan) + np.zeros((k.shape[0], G))
        return _col(r) * np.ones(G), np.zeros((k.shape[0], G)), F
    if isinstance(nd, n.CosineRestart):
        A, B = _k_cosine_restart(nd, k, base)
        idx, s, past, _ = _cosine_restart_pos(nd, k)
        plain = _col(~past & (s != 0))
        em = np.broadcast_to(np.asarray(_eta(nd, base), dtype=np.float64), A.shape)
        return A, np.where(plain, 0.0, B), np.where(plain, em, np.nan)
    A, B = coeffs(nd, k, base, carry)
    return A, B, np.full(A.shape, np.nan)


def _product_run(seg: Array, prod: Array, x: float, phi: float, cont: Optional[tuple],
                 nonneg: bool = False) -> Tuple[float, tuple]:
    """``seg = phi + (x - phi) * cumprod(prod)``, the products multiplied left to right; ``cont``: the
    (floor, product, x - floor) of a run begun in an earlier range, which this one continues.
    ``nonneg``: the products are >= 0 (no negative zero to clear with ``+ 0.0``). Returns the last
    value and the state that continues this run."""
    if cont is not None and cont[0] == phi:
        d = cont[2]
        seg[:] = prod
        seg[0] *= cont[1]
        np.multiply.accumulate(seg, out=seg)
    else:
        d = x - phi
        np.multiply.accumulate(prod, out=seg)
    state = (phi, float(seg[-1]), d)
    if d != 1.0:  # P * 1.0 is P
        seg *= d
    if not (nonneg and phi == 0.0 and d >= 0.0):  # else P*d + 0.0 is P*d
        seg += phi
    return float(seg[-1]), state


def _scan_cosine(nd: n.CosineAnnealing, lo: int, hi: int, base: Array, prev: Array,
                 carry: Optional[Carry], out: Optional[Array] = None) -> Array:
    """A lone recursive CosineAnnealing past T_max (lo > T_max): the numbers of the general path
    (:func:`_floor_cosine`, :func:`_product_runs`, :func:`_step_by_step`) without its full-size
    maps: one cosine per step, the runs from the additive steps and the growth mask."""
    T, N, G = nd.T_max, hi - lo, base.shape[0]
    c = np.arange(lo - 1, hi, dtype=np.float64)
    c *= np.pi
    c /= T
    np.cos(c, out=c)
    c += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c[1:] / c[:-1]
    k0 = max(0, -(-(lo - T - 1) // (2 * T)))
    sp = np.arange(T + 1 + 2 * T * k0 - lo, N, 2 * T)  # torch's additive steps T_max + 1 + 2k*T_max
    r[sp] = 1.0
    eta = _eta(nd, base)
    em = np.broadcast_to(np.asarray(eta, dtype=np.float64), (G,))
    add = np.broadcast_to((base - eta) * (1 - math.cos(math.pi / T)) / 2, (G,))
    out = np.empty((N, G)) if out is None else out
    opened = carry.runs if carry is not None and carry.runs is not None else [None] * G
    still: list = [None] * G
    spl = sp.tolist()
    for g in range(G):
        x = float(prev[g])
        col = out[:, g]
        phi, ad = float(em[g]), float(add[g])
        runs: list
        if phi == 0.0:  # every plain step is a product; additive steps split the runs
            if ad == 0.0:
                runs = [(0, N, 0.0)]
            else:
                bounds = sorted({0, N} | set(spl) | {p + 1 for p in spl})
                runs = [(s, e, None if s in spl else 0.0) for s, e in zip(bounds[:-1], bounds[1:])]
        else:  # products while x - eta_min does not grow
            code = np.where(r <= 1.0, phi, np.inf)
            code[sp] = 0.0 if ad == 0.0 else np.inf
            cut = np.flatnonzero(code[1:] != code[:-1]) + 1
            bounds = [0] + cut.tolist() + [N]
            runs = [(s, e, float(code[s]) if code[s] != np.inf else None) for s, e in zip(bounds[:-1], bounds[1:])]
        for s, e, f in runs:
            if f is not None:
                x, state = _product_run(col[s:e], r[s:e], x, f, opened[g] if s == 0 else None, nonneg=True)
                if e == N:
                    still[g] = state
                continue
            # step by step: x -> r*(x - eta_min) + eta_min, the additive steps x -> 1*x + add
            F = np.full((e - s, 1), phi)
            B = np.zeros((e - s, 1))
            i = sp[(sp >= s) & (sp < e)] - s
            F[i] = np.nan
            B[i] = ad
            x = _step_by_step([(r[s:e, None], B, F)], 0, 0, e - s, x, col[s:e])
    if carry is not None:
        carry.runs = still
    return out


def _step_by_step(maps: list, g: int, s: int, e: int, x: float, col: Array) -> float:
    """Steps s..e-1 of column g one after the other, in torch's order: per child,
    x -> a*(x - f) + f where the floor f is finite, else a*x + b. Returns the last value."""
    if len(maps) == 1:
        A, B, F = maps[0]
        f = F[s:e, g]
        fin = f == f
        # stretches of one kind: a common finite floor, or none (a*x + b)
        change = np.flatnonzero((fin[1:] != fin[:-1]) | (fin[1:] & (f[1:] != f[:-1]))) + 1
        bounds = [0] + change.tolist() + [e - s]
        for p, q in zip(bounds[:-1], bounds[1:]):
            al = A[s + p:s + q, g].tolist()
            if fin[p]:
                fv = float(f[p])
                col[s + p:s + q] = [x := aj * (x - fv) + fv for aj in al]
            else:
                col[s + p:s + q] = [x := aj * x + bj for aj, bj in zip(al, B[s + p:s + q, g].tolist())]
        return x
    vals: list = []
    ap = vals.append
    cols = [(A[s:e, g].tolist(), B[s:e, g].tolist(), F[s:e, g].tolist()) for A, B, F in maps]
    for j in range(e - s):
        for A_, B_, F_ in cols:
            fj = F_[j]
            x = A_[j] * (x - fj) + fj if fj == fj else A_[j] * x + B_[j]
        ap(x)
    col[s:e] = vals
    return x


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
    if len(maps) == 1:  # the decisions of _floors, in fewer passes
        A, B, F = maps[0]
        f = F[:, g]
        fin = f == f
        # code: the floor where the step is a product about it, inf where it is not
        code = np.where(fin, f, np.where(B[:, g] == 0.0, 0.0, np.inf))
        code[fin & (f != 0.0) & ~(A[:, g] <= 1.0)] = np.inf  # growth away from a non-zero floor
    else:
        phi, ok = _floors(maps, g, N)
        code = np.where(ok, phi, np.inf)
    cut = np.flatnonzero(code[1:] != code[:-1]) + 1
    bounds = [0] + cut.tolist() + [N]
    return [(s, e, None if code[s] == np.inf else float(code[s])) for s, e in zip(bounds[:-1], bounds[1:])]


def _floors(maps: list, g: int, N: int) -> Tuple[Array, Array]:
    """Common floor phi and whether each step is a product about it (see :func:`_product_runs`)."""
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
    return phi, ok


# ---------------------------------------------------------------------------
# metric-driven
# ---------------------------------------------------------------------------


def _plateau(nd: n.Plateau, t: Array, base: Array, carry: Optional[Carry] = None) -> Array:
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
    metrics = nd.metrics
    cr = Carry(max(T, 1)) if carry is None else carry
    worse = math.inf if nd.mode == "min" else -math.inf

    def step(lo: int, hi: int, prev: Array, dest: Optional[Array]) -> Array:
        best, bad, cool = cr.extra if cr.extra is not None else (worse, 0, 0)
        x = prev.astype(np.float64).copy()
        out = np.empty((hi - lo, base.shape[0]))
        if lo == 0:
            out[0] = x
        for k in range(max(lo, 1), hi):
            cur = float(metrics[k - 1])
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
            out[k - lo] = x
        cr.extra = (best, bad, cool)
        return out

    return _carried(nd, t, base, cr, step)
