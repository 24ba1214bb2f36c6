"""MindSpore cells at every int32 step: each kind and the main compositions, evaluated once on a
tensor of sampled steps (every boundary we can compute +-1, 2**24 +- 1, 2**31-2, 2**31-1, random
steps in every decade) against the schedule's formula written out here in float64 (torch's
closed forms, MindSpore's, OneFlow's, transformers'), never against bridge's evaluator.

Contract (docs/step-contract.md): relative error <= 2e-6 where the value is >= 1e-6 * base, for
every int32 global_step; where a cell cannot meet it, a MindSporePrecisionWarning naming the
steps is emitted when the cell is built, and nowhere else.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
import zlib
from typing import Any

import numpy as np
import pytest
from _helpers import trace

import bridge
from bridge.frameworks import mindspore as bm
from bridge.frameworks import mindspore_nn as bmn
from bridge.ir import (
    Chain,
    Constant,
    CosineAnnealing,
    CosineDecay,
    CosineRestart,
    Cyclic,
    Exponential,
    ExponentialDecay,
    Hold,
    InverseSqrt,
    InverseTimeDecay,
    Linear,
    MultiStep,
    NaturalExpDecay,
    Noam,
    OneCycle,
    OneCycleMomentum,
    PiecewiseConstant,
    Plan,
    Polynomial,
    Sequential,
    Shift,
    Step,
    Table,
    WarmRestarts,
    WarmupStableDecay,
    Window,
    Windows,
)
from bridge.parity import MINDSPORE_CELL_FLOOR, MINDSPORE_CELL_RTOL

pytestmark = pytest.mark.mindspore

I32 = 2**31 - 1
B = 0.5  # base value of every case unless given
RTOL = MINDSPORE_CELL_RTOL


# ---------------------------------------------------------------------------
# the formulas (float64, integer step arithmetic in int64 / Python ints)
# ---------------------------------------------------------------------------


def half_cos(r, P):
    """(1 + cos(pi*r/P)) / 2, r an exact (reduced) integer position."""
    return (1.0 + np.cos(np.pi * (np.asarray(r, dtype=np.float64) / P))) / 2.0


def f_linear(t, s, e, T):
    return s + (e - s) * (np.minimum(t, T) / T)


def f_poly(t, T, p, end, base):  # torch PolynomialLR / MMEngine PolyLR / MindSpore polynomial decay
    return (base - end) * ((T - np.minimum(t, T)) / T) ** p + end


def f_poly_cycle(t, T, p, end, base):  # OneFlow PolynomialLR(cycle=True): step 0 counts as 1
    tt = np.maximum(t, 1)
    D = -(-tt // T) * T
    return (base - end) * ((D - tt) / D) ** p + end


def f_cos(t, T, eta, base):  # torch CosineAnnealingLR closed form, periodic
    return eta + (base - eta) * half_cos(t % (2 * T), T)


def f_cos_decay(t, T, eta, base):
    return eta + (base - eta) * half_cos(np.minimum(t, T), T)


def f_sgdr(t, T0, Tm, eta, base, decay=1.0, limit=None):
    """torch CosineAnnealingWarmRestarts as step() drives it (T_cur += 1, restart at T_i),
    with OneFlow's decay_rate and restart_limit."""
    t = np.asarray(t, dtype=np.int64)
    if Tm == 1:
        i = t // T0
        tc, Ti = t - i * T0, np.full(t.shape, float(T0))
    else:
        starts, L = [0], T0
        while starts[-1] + L <= int(t.max()):
            starts.append(starts[-1] + L)
            L *= Tm
        i = np.searchsorted(np.asarray(starts, dtype=np.int64), t, side="right") - 1
        tc = t - np.asarray(starts, dtype=np.int64)[i]
        Ti = np.asarray([float(T0 * Tm ** k) for k in range(len(starts))])[i]
    out = eta + (base * decay ** i.astype(np.float64) - eta) * half_cos(tc, Ti)
    if limit is not None:
        out = np.where(i >= limit, eta, out)
    return out


def f_sgdr_oneflow(t, T0, Tm, eta, base, decay=1.0, limit=0):
    """OneFlow's CosineAnnealingWarmRestarts.get_lr, line by line (float cycle index for T_mult > 1)."""
    out = []
    for step in (int(x) for x in t):
        if Tm > 1:
            epoch = math.floor(math.log(1 - step / T0 * (1 - Tm), Tm))
            epoch_steps = Tm ** epoch * T0
            step_in_epoch = step - (1 - Tm ** epoch) / (1 - Tm) * T0
        else:
            epoch = step // T0
            epoch_steps = T0
            step_in_epoch = step - (epoch_steps * epoch)
        gamma = decay ** epoch
        if limit == 0 or (limit > 0 and epoch < limit):
            out.append(eta + (base * gamma - eta) * 0.5 * (1 + math.cos(math.pi * step_in_epoch / epoch_steps)))
        else:
            out.append(eta)
    return np.asarray(out)


def f_cos_restart(t, periods, weights, eta, base):  # MMEngine CosineRestartLR, frozen after its periods
    cum = np.cumsum(periods)
    tt = np.minimum(t, cum[-1] - 1)
    i = np.searchsorted(cum, tt, side="right")
    start = np.where(i == 0, 0, cum[np.maximum(i - 1, 0)])
    P = np.asarray(periods, dtype=np.float64)[i]
    w = np.asarray(weights, dtype=np.float64)[i]
    return eta + (base * w - eta) * half_cos(tt - start, P)


def f_one_cycle(t, T, mx, pct=0.3, anneal="cos", div=25.0, final_div=1e4, three=False):
    """torch OneCycleLR.get_lr (lr) at steps <= total_steps; past that torch raises and the cell holds
    the value of step total_steps."""
    init = mx / div
    lo = init / final_div
    if three:
        phases = [(float(pct * T) - 1, init, mx), (float(2 * pct * T) - 2, mx, init), (T - 1, init, lo)]
    else:
        phases = [(float(pct * T) - 1, init, mx), (T - 1, mx, lo)]
    return _phases(t, T, phases, anneal)


def f_one_cycle_momentum(t, T, pct=0.3, base_m=0.85, max_m=0.95):
    return _phases(t, T, [(float(pct * T) - 1, max_m, base_m), (T - 1, base_m, max_m)], "cos")


def _phases(t, T, phases, anneal):
    out = []
    for s in (min(int(x), T) for x in t):
        start = 0.0
        for i, (end, a, b) in enumerate(phases):
            if s <= end or i == len(phases) - 1:
                pct = (s - start) / (end - start)
                if anneal == "cos":
                    out.append(b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1))
                else:
                    out.append((b - a) * pct + a)
                break
            start = end
    return np.asarray(out)


def f_cyclic(t, high, low, up, down, mode="triangular", gamma=1.0, inverted=False):
    """torch CyclicLR (x = frac(t / total) taken exactly from t mod total); inverted: its momentum."""
    total = up + down
    pos = t % total
    sf = np.where(pos <= up, pos / up, (total - pos) / down)
    if mode == "triangular2":
        scale = 0.5 ** (t // total).astype(np.float64)
    elif mode == "exp_range":
        scale = gamma ** t.astype(np.float64)
    else:
        scale = np.ones(t.shape)
    h = (high - low) * sf * scale
    return high - h if inverted else low + h


def f_inv_sqrt(t, W, ts):  # transformers get_inverse_sqrt_schedule
    tf = t.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t < W, tf / max(1, W), 1.0 / np.sqrt((tf + ts - W) / ts))


def f_noam(t, d, W, off):
    n = (t + off).astype(np.float64)
    return d ** -0.5 * np.minimum(n ** -0.5, n * W ** -1.5)


def f_wsd(t, W, S, D, r, warm="linear", decay="cosine", cycles=0.5):  # transformers' WSD lambda
    out = []
    for s in (int(x) for x in t):
        if s < W:
            p = s / max(1, W)
            f = {"linear": p, "cosine": 0.5 * (1.0 - math.cos(math.pi * p)), "1-sqrt": 1.0 - math.sqrt(1.0 - p)}[warm]
            out.append(max(0.0, f * (1.0 - r) + r))
        elif s < W + S:
            out.append(1.0)
        elif s < W + S + D:
            p = (s - W - S) / max(1, D)
            f = {"linear": 1.0 - p, "cosine": 0.5 * (1.0 + math.cos(math.pi * cycles * 2.0 * p)),
                 "1-sqrt": 1.0 - math.sqrt(p)}[decay]
            out.append(max(0.0, f * (1.0 - r) + r))
        else:
            out.append(r)
    return np.asarray(out)


# ---------------------------------------------------------------------------
# steps
# ---------------------------------------------------------------------------


def sample(seed, bounds=(), periods=(), offset=0):
    """Steps 0..63, each bound +-1, for each period P multiples k*P (and k*P + P/2) +-1 near random
    steps, 2**24 +- 1, 2**31-2, 2**31-1, and random steps in every decade. ``offset``: the bounds
    and periods are in the schedule's own steps s = t + offset."""
    rng = np.random.default_rng(seed)
    s = set(range(64)) | {2**24 - 1, 2**24, 2**24 + 1, I32 - 2, I32 - 1, I32}
    for k in range(10):
        s.update(int(x) for x in rng.integers(10**k, min(10 ** (k + 1), I32), 24))
    s.update(int(x) for x in rng.integers(0, I32, 120))
    for b in bounds:
        s.update((b - 1 - offset, b - offset, b + 1 - offset))
    for P in periods:
        for r in list(rng.integers(0, I32, 40)) + [0, 3 * P, I32]:
            base = (int(r) + offset) // P * P - offset
            for m in (base, base + P, base + P // 2):
                s.update((m - 1, m, m + 1))
    return np.asarray(sorted(x for x in s if 0 <= x <= I32), dtype=np.int64)


def sgdr_starts(T0, Tm, upto=2**33):
    out, st, L = [], 0, T0
    while st <= upto:
        out.append(st)
        st, L = st + L, L * Tm
    return out


# ---------------------------------------------------------------------------
# the cases: name -> (node, expected(t) in the node's steps, bounds, periods, base, plan kwargs)
# ---------------------------------------------------------------------------

Q = 2**30 + 3
BIG = 3 * 10**9
WR_MS = (10, 30, 30, 100, 2**24 + 1, I32 - 1)
SEQ3 = Sequential((Constant(0.1, 5), Exponential(0.99), Step(10, 0.5)), (10, 100), rescale=(True, False))
WIN = Windows((Window(Linear(0.01, 1.0, 50), 0, 50), Window(CosineAnnealing(30), 1, 31, 10)))


def _win(t):
    lin = f_linear(np.minimum(t, 49), 0.01, 1.0, 50)
    k = t // 10
    cos = np.where(k >= 1, half_cos(np.minimum(np.maximum(k - 1, 0), 29), 30), 1.0)
    return B * lin * cos


def _seq3(t):
    return B * np.where(t < 10, np.where(t < 5, 0.1, 1.0),
                        np.where(t < 100, 0.99 ** (t - 10).astype(np.float64), 0.5 ** (t // 10).astype(np.float64)))


NESTED = Sequential((Linear(0.1, 1.0, 1000), Hold(CosineDecay(100, alpha=0.01), 1000)), (1000,))


def _nested(s):
    return B * np.where(s < 1000, f_linear(s, 0.1, 1.0, 1000),
                        0.01 + 0.99 * half_cos(np.minimum((s - 1000) // 1000, 100), 100))


CASES = {
    # leaves
    "constant": (Constant(0.1, 7), lambda t: B * np.where(t < 7, 0.1, 1.0), [7], []),
    "constant_long": (Constant(0.1, BIG), lambda t: B * 0.1 + 0 * t, [], []),
    "linear": (Linear(0.1, 1.0, 30), lambda t: B * f_linear(t, 0.1, 1.0, 30), [30], []),
    "linear_to_0_int32": (Linear(1.0, 0.0, I32 - 5), lambda t: B * f_linear(t, 1.0, 0.0, I32 - 5), [I32 - 5], []),
    "linear_longer_than_int32": (Linear(0.001, 1.0, BIG), lambda t: B * f_linear(t, 0.001, 1.0, BIG), [], []),
    "step": (Step(7, 0.5), lambda t: B * 0.5 ** (t // 7).astype(np.float64), [], [7]),
    "step_1e7": (Step(10**7, 0.5), lambda t: B * 0.5 ** (t // 10**7).astype(np.float64), [], [10**7]),
    "step_slow": (Step(3, 0.9999999), lambda t: B * 0.9999999 ** (t // 3).astype(np.float64), [], [3]),
    "multistep": (MultiStep(WR_MS, 0.3),
                  lambda t: B * 0.3 ** np.searchsorted(WR_MS, t, side="right").astype(np.float64), WR_MS, []),
    "exponential": (Exponential(0.97), lambda t: B * 0.97 ** t.astype(np.float64), [], []),
    "exponential_1e-8": (Exponential(1 - 1e-8), lambda t: B * (1 - 1e-8) ** t.astype(np.float64), [], []),
    "exponential_3e-9": (Exponential(0.999999997), lambda t: B * 0.999999997 ** t.astype(np.float64), [], []),
    "polynomial": (Polynomial(100, 2.0, 0.001), lambda t: f_poly(t, 100, 2.0, 0.001, B), [100], []),
    "polynomial_int32": (Polynomial(I32, 0.9), lambda t: f_poly(t, I32, 0.9, 0.0, B), [], []),
    "polynomial_power8": (Polynomial(123456789, 8.0), lambda t: f_poly(t, 123456789, 8.0, 0.0, B), [123456789], []),
    "polynomial_cycle_power8": (Polynomial(123456789, 8.0, 0.0, True),
                                lambda t: f_poly_cycle(t, 123456789, 8.0, 0.0, B), [], [123456789]),
    "polynomial_cycle": (Polynomial(30, 0.5, 0.0, True), lambda t: f_poly_cycle(t, 30, 0.5, 0.0, B), [], [30]),
    "polynomial_cycle_big": (Polynomial(10**9 + 7, 2.0, 1e-4, True),
                             lambda t: f_poly_cycle(t, 10**9 + 7, 2.0, 1e-4, B), [], [10**9 + 7]),
    "cosine": (CosineAnnealing(100), lambda t: f_cos(t, 100, 0.0, B), [], [100]),
    "cosine_ratio": (CosineAnnealing(37, eta_min_ratio=0.1), lambda t: f_cos(t, 37, 0.1 * B, B), [], [37]),
    "cosine_2T_past_int32": (CosineAnnealing(Q), lambda t: f_cos(t, Q, 0.0, B), [Q], []),
    "cosine_T_past_int32": (CosineAnnealing(BIG), lambda t: f_cos(t, BIG, 0.0, B), [], []),
    "cosine_decay": (CosineDecay(150), lambda t: f_cos_decay(t, 150, 0.0, B), [150], []),
    "cosine_decay_1e9": (CosineDecay(10**9, eta_min=0.01), lambda t: f_cos_decay(t, 10**9, 0.01, B), [10**9], []),
    "cosine_decay_long": (CosineDecay(BIG), lambda t: f_cos_decay(t, BIG, 0.0, B), [], []),
    "warm_restarts_7": (WarmRestarts(7), lambda t: f_sgdr(t, 7, 1, 0.0, B), [448, 7_000_000], [7]),
    "warm_restarts_1e4": (WarmRestarts(10000, eta_min=1e-6), lambda t: f_sgdr(t, 10000, 1, 1e-6, B),
                          [640_000], [10000]),
    "warm_restarts_x3": (WarmRestarts(10, 3), lambda t: f_sgdr(t, 10, 3, 0.0, B),
                         sgdr_starts(10, 3) + [1_937_102_440], []),
    "warm_restarts_x2_decay": (WarmRestarts(20, 2, 0.001, decay_rate=0.8),
                               lambda t: f_sgdr(t, 20, 2, 0.001, B, 0.8), sgdr_starts(20, 2), []),
    "warm_restarts_limit5": (WarmRestarts(30, restart_limit=5), lambda t: f_sgdr(t, 30, 1, 0.0, B, limit=5), [150],
                             [30]),
    "warm_restarts_limit1000": (WarmRestarts(7, eta_min=0.01, decay_rate=0.999, restart_limit=1000),
                                lambda t: f_sgdr(t, 7, 1, 0.01, B, 0.999, 1000), [7000], [7]),
    "warm_restarts_oneflow_float": (WarmRestarts(10, 3, float_log_cycles=True),
                                    lambda t: f_sgdr_oneflow(t, 10, 3, 0.0, B), sgdr_starts(10, 3), []),
    "warm_restarts_oneflow_x2": (WarmRestarts(1, 2, 0.01, 0.9, restart_limit=25, float_log_cycles=True),
                                 lambda t: f_sgdr_oneflow(t, 1, 2, 0.01, B, 0.9, 25), sgdr_starts(1, 2), []),
    "cosine_restart": (CosineRestart((50, 100, 80), (1.0, 0.5, 0.25)),
                       lambda t: f_cos_restart(t, [50, 100, 80], [1.0, 0.5, 0.25], 0.0, B), [50, 150, 229], []),
    "cosine_restart_long": (CosineRestart((10**9, BIG), (1.0, 0.5), eta_min_ratio=0.1),
                            lambda t: f_cos_restart(t, [10**9, BIG], [1.0, 0.5], 0.1 * B, B), [10**9], []),
    "one_cycle": (OneCycle(400), lambda t: f_one_cycle(t, 400, B), [119, 120, 399, 400], []),
    "one_cycle_2e7": (OneCycle(2 * 10**7), lambda t: f_one_cycle(t, 2 * 10**7, B),
                      [6 * 10**6 - 1, 2 * 10**7 - 1, 2 * 10**7], []),
    "one_cycle3_1e9": (OneCycle(10**9 + 7, max_lr=2.0, three_phase=True, anneal="linear", pct_start=0.25),
                       lambda t: f_one_cycle(t, 10**9 + 7, 2.0, 0.25, "linear", three=True),
                       [250000000, 500000002, 10**9 + 6, 10**9 + 7], []),
    "one_cycle_momentum_2e7": (OneCycleMomentum(2 * 10**7), lambda t: f_one_cycle_momentum(t, 2 * 10**7),
                               [6 * 10**6 - 1, 2 * 10**7], []),
    "cyclic2": (Cyclic(high=2.0, step_size_up=20, step_size_down=13, mode="triangular2"),
                lambda t: f_cyclic(t, 2.0, B, 20, 13, "triangular2"), [], [33]),
    "cyclic_exp_inverted": (Cyclic(high=2.0, low=0.5, step_size_up=20, mode="exp_range", gamma=0.995, inverted=True),
                            lambda t: f_cyclic(t, 2.0, 0.5, 20, 20, "exp_range", 0.995, True), [], [40]),
    "cyclic_exp_inverted_low0": (Cyclic(high=0.9, low=0.0, step_size_up=2000, mode="exp_range", gamma=0.99999,
                                        inverted=True),
                                 lambda t: f_cyclic(t, 0.9, 0.0, 2000, 2000, "exp_range", 0.99999, True), [], [4000]),
    "cyclic_long": (Cyclic(high=1.0, low=0.1, step_size_up=10**8, step_size_down=3 * 10**8),
                    lambda t: f_cyclic(t, 1.0, 0.1, 10**8, 3 * 10**8), [], [4 * 10**8]),
    "exp_decay": (ExponentialDecay(0.5, 30), lambda t: B * 0.5 ** (t / 30), [], []),
    "exp_decay_stair": (ExponentialDecay(0.5, 30, True), lambda t: B * 0.5 ** (t // 30).astype(np.float64), [], [30]),
    "exp_decay_slow": (ExponentialDecay(0.9, 10**8), lambda t: B * 0.9 ** (t / 10**8), [], []),
    "nat_exp": (NaturalExpDecay(0.01, 1), lambda t: B * np.exp(-0.01 * t), [], []),
    "nat_exp_stair": (NaturalExpDecay(0.3, 25, True), lambda t: B * np.exp(-0.3 * (t // 25)), [], [25]),
    "nat_exp_slow": (NaturalExpDecay(1e-8, 1), lambda t: B * np.exp(-1e-8 * t), [], []),
    "inverse_time": (InverseTimeDecay(0.2, 10), lambda t: B / (1 + 0.2 * t / 10), [], []),
    "inverse_time_stair": (InverseTimeDecay(0.2, 10**6, True), lambda t: B / (1 + 0.2 * (t // 10**6)), [], [10**6]),
    "piecewise": (PiecewiseConstant((50, 120, 2**24 + 1, I32 - 1), (1.0, 0.3, 0.05, 0.01, 0.001), relative=True),
                  lambda t: B * np.asarray([1.0, 0.3, 0.05, 0.01, 0.001])[
                      np.searchsorted([50, 120, 2**24 + 1, I32 - 1], t, side="right")], [50, 120, 2**24 + 1], []),
    "piecewise_incl": (PiecewiseConstant((50, 120), (0.1, 0.03, 0.005), inclusive=True),
                       lambda t: np.asarray([0.1, 0.03, 0.005])[np.searchsorted([50, 120], t, side="left")],
                       [50, 120], []),
    "inverse_sqrt": (InverseSqrt(40), lambda t: B * f_inv_sqrt(t, 40, 40), [40], []),
    "inverse_sqrt_ts": (InverseSqrt(0, 10000), lambda t: B * f_inv_sqrt(t, 0, 10000), [], []),
    "inverse_sqrt_big": (InverseSqrt(2**30, 17), lambda t: B * f_inv_sqrt(t, 2**30, 17), [2**30], []),
    "noam": (Noam(512, 4000), lambda t: B * f_noam(t, 512, 4000, 1), [3999], []),
    "wsd": (WarmupStableDecay(30, 100, 200, 0.01, "cosine", "1-sqrt"),
            lambda t: B * f_wsd(t, 30, 100, 200, 0.01, "cosine", "1-sqrt"), [30, 130, 330], []),
    "wsd2": (WarmupStableDecay(30, 100, 200, 0.0, "1-sqrt", "cosine"),
             lambda t: B * f_wsd(t, 30, 100, 200, 0.0, "1-sqrt", "cosine"), [30, 130, 330], []),
    "wsd_cycles": (WarmupStableDecay(10**6, 10**8, 10**9, 0.0, "linear", "cosine", 1.5),
                   lambda t: B * f_wsd(t, 10**6, 10**8, 10**9, 0.0, "linear", "cosine", 1.5),
                   [10**6, 101_000_000, 434_333_333, 434_333_334, 767_666_666, 767_666_667, 1_101_000_000], []),
    "wsd_cycles_small": (WarmupStableDecay(5, 5, 100, 0.0, "cosine", "cosine", 2.0),
                         lambda t: B * f_wsd(t, 5, 5, 100, 0.0, "cosine", "cosine", 2.0),
                         [10, 22, 23, 35, 48, 60, 73, 85, 98, 110], []),
    "table": (Table(np.linspace(1, 0.1, 77)), lambda t: np.linspace(1, 0.1, 77)[np.minimum(t, 76)], [77], []),
    # compositions
    "sequential": (Sequential((Linear(0.1, 1.0, 20), CosineAnnealing(380)), (20,)),
                   lambda t: np.where(t < 20, B * f_linear(t, 0.1, 1.0, 20), f_cos(t - 20, 380, 0.0, B)),
                   [20], [760]),
    "sequential3_oneflow": (SEQ3, _seq3, [5, 10, 100], [10]),
    "sequential_late": (Sequential((Linear(0.01, 1.0, 1000), CosineAnnealing(10**9)), (I32 - 10,)),
                        lambda t: np.where(t < I32 - 10, B * f_linear(t, 0.01, 1.0, 1000),
                                           f_cos(t - (I32 - 10), 10**9, 0.0, B)), [1000, I32 - 10], []),
    "chain_product": (Chain((Linear(0.1, 1.0, 20), Exponential(0.99))),
                      lambda t: B * f_linear(t, 0.1, 1.0, 20) * 0.99 ** t.astype(np.float64), [20], []),
    "chain_nested": (Chain((Linear(0.1, 1.0, 20), CosineAnnealing(100, eta_min=0.01)), mode="nested"),
                     lambda t: f_cos(t, 100, 0.01, B * f_linear(t, 0.1, 1.0, 20)), [20], [100]),
    "windows": (WIN, _win, [50, 10, 300, 310], []),
    "window_affine": (Windows((Window(CosineAnnealing(30, eta_min=0.05), 1, 31, 10),)),
                      lambda t: np.where(t < 10, B, f_cos(np.minimum(t // 10 - 1, 29), 30, 0.05, B)), [10, 310], []),
    "window_forever": (Windows((Window(Step(10**6, 0.999), 5),)),
                       lambda t: B * np.where(t < 5, 1.0, 0.999 ** ((t - 5) // 10**6).astype(np.float64)), [5],
                       [10**6]),
    "hold": (Hold(CosineDecay(20), 13), lambda t: f_cos_decay(t // 13, 20, 0.0, B), [260], [13]),
    "hold_exp": (Hold(Exponential(0.999), 1000), lambda t: B * 0.999 ** (t // 1000).astype(np.float64), [], [1000]),
    "polynomial_update": (bmn._poly(20, 1.0, 0.0, True),  # MindSpore polynomial_decay_lr(update_decay_epoch=True)
                          lambda t: B * np.where(t == 0, 1.0, (-(-t // 20) * 20 - t) / (-(-np.maximum(t, 1) // 20) * 20)),
                          [], [20]),
}

# resumed (Shift) versions: offsets that put s = t + offset past 2**31 for large t
SHIFTS = {
    "shift_cosine": (CosineAnnealing(300), 50, lambda s: f_cos(s, 300, 0.0, B), [], [300]),
    "shift_cosine_12345": (CosineAnnealing(1000), 12345, lambda s: f_cos(s, 1000, 0.0, B), [], [1000]),
    "shift_cosine_big": (CosineAnnealing(1000), BIG, lambda s: f_cos(s, 1000, 0.0, B), [], [1000]),
    "shift_linear": (Linear(0.1, 1.0, 10**9), 10**9 - 100, lambda s: B * f_linear(s, 0.1, 1.0, 10**9), [10**9], []),
    "shift_linear_mid": (Linear(0.1, 1.0, BIG), 2 * 10**9, lambda s: B * f_linear(s, 0.1, 1.0, BIG), [BIG], []),
    "shift_exponential": (Exponential(0.9999999), BIG // 30, lambda s: B * 0.9999999 ** s.astype(np.float64), [], []),
    "shift_step": (Step(7, 0.99999999), 2**31 + 3, lambda s: B * 0.99999999 ** (s // 7).astype(np.float64), [], [7]),
    "shift_multistep": (MultiStep(WR_MS, 0.3), 12, lambda s: B * 0.3 ** np.searchsorted(WR_MS, s, side="right"),
                        WR_MS, []),
    "shift_warm_restarts": (WarmRestarts(7), 2**31 + 5, lambda s: f_sgdr(s, 7, 1, 0.0, B), [], [7]),
    "shift_warm_restarts_x3": (WarmRestarts(10, 3), 1_937_102_440 - 5,
                               lambda s: f_sgdr(s, 10, 3, 0.0, B), sgdr_starts(10, 3), []),
    "shift_warm_restarts_limit": (WarmRestarts(7, restart_limit=400_000_000), 2**31 - 7,
                                  lambda s: f_sgdr(s, 7, 1, 0.0, B, limit=400_000_000), [2_800_000_000], [7]),
    "shift_poly_cycle": (Polynomial(30, 0.5, 0.0, True), I32 - 3, lambda s: f_poly_cycle(s, 30, 0.5, 0.0, B), [], [30]),
    "shift_cyclic": (Cyclic(high=2.0, step_size_up=20, step_size_down=13), 2**31,
                     lambda s: f_cyclic(s, 2.0, B, 20, 13), [], [33]),
    "shift_cyclic2": (Cyclic(high=2.0, step_size_up=20, step_size_down=13, mode="triangular2"), 100,
                      lambda s: f_cyclic(s, 2.0, B, 20, 13, "triangular2"), [], [33]),
    "shift_cyclic_exp": (Cyclic(high=0.9, low=0.5, step_size_up=2000, mode="exp_range", gamma=0.9999999,
                                inverted=True), 10**9,
                         lambda s: f_cyclic(s, 0.9, 0.5, 2000, 2000, "exp_range", 0.9999999, True), [], [4000]),
    "shift_one_cycle": (OneCycle(2 * 10**7), 10**7, lambda s: f_one_cycle(s, 2 * 10**7, B), [2 * 10**7], []),
    "shift_inverse_sqrt": (InverseSqrt(40), 2**31, lambda s: B * f_inv_sqrt(s, 40, 40), [], []),
    "shift_noam": (Noam(1, 4000), 2**31, lambda s: B * f_noam(s, 1, 4000, 1), [], []),
    "shift_wsd": (WarmupStableDecay(10**6, 10**8, 10**9, 0.0, "linear", "cosine", 1.5), 2 * 10**8,
                  lambda s: B * f_wsd(s, 10**6, 10**8, 10**9, 0.0, "linear", "cosine", 1.5),
                  [434_333_333, 434_333_334, 767_666_667, 1_101_000_000], []),
    "shift_piecewise": (PiecewiseConstant((50, 120, I32 + 10), (1.0, 0.3, 0.05, 0.01), relative=True), 100,
                        lambda s: B * np.asarray([1.0, 0.3, 0.05, 0.01])[
                            np.searchsorted([50, 120, I32 + 10], s, side="right")], [120, I32 + 10], []),
    "shift_table": (Table(np.linspace(1, 0.1, 77)), 50, lambda s: np.linspace(1, 0.1, 77)[np.minimum(s, 76)], [77], []),
    "shift_exp_decay": (ExponentialDecay(0.9, 10**8, True), 2 * 10**9,
                        lambda s: B * 0.9 ** (s // 10**8).astype(np.float64), [], [10**8]),
    "shift_sequential_hold": (NESTED, I32 - 500_000, _nested, [1000], [1000]),
    "shift_windows": (WIN, 250, lambda s: _win(s), [300, 310], []),
    "shift_window_forever": (Windows((Window(Step(10**6, 0.999), 5, None, 3),)), 2**31 + 1,
                             lambda s: B * np.where(s < 15, 1.0, 0.999 ** ((s // 3 - 5) // 10**6).astype(np.float64)),
                             [], [3 * 10**6]),
    "hold_shift": (Hold(Shift(Exponential(0.99999), 7), 3), 0,
                   lambda s: B * 0.99999 ** (s // 3 + 7).astype(np.float64), [], [3]),
    "shift_hold": (Hold(CosineAnnealing(1000), 7), 2**31 + 3, lambda s: f_cos(s // 7, 1000, 0.0, B), [], [7, 14000]),
}

def _all_cases():
    out = {}
    for k, (nd, fn, bounds, periods) in CASES.items():
        out[k] = (nd, fn, bounds, periods, 0)
    for k, (nd, off, fn, bounds, periods) in SHIFTS.items():
        out[k] = (Shift(nd, off) if off else nd, fn, bounds, periods, off)
    return out


def _rel_err(got, ref, base=B):
    got = np.asarray(got, dtype=np.float64).reshape(ref.shape)
    m = np.abs(ref) >= MINDSPORE_CELL_FLOOR * base
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
    rel = np.where(m, rel, 0.0)
    i = int(np.argmax(rel))
    return float(rel[i]), i


@pytest.fixture(scope="module")
def evaluated(_ms_session):
    """Every case: its cell (PyNative), the steps it was evaluated on, the values, the warnings."""
    ms = _ms_session
    out = {}
    for k, (nd, fn, bounds, periods, off) in _all_cases().items():
        t = sample(zlib.crc32(k.encode()), bounds, periods, off)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            cell = bridge.to_mindspore_cell(Plan.single(nd, base=B), native=False)
        got = cell(ms.Tensor(t.astype(np.int32))).asnumpy()
        ref = fn(t + off)
        out[k] = (t, got, ref, [str(w.message) for w in rec if issubclass(w.category, bm.MindSporePrecisionWarning)])
    return out


def test_every_kind_within_2e6_at_every_int32_step(evaluated):
    bad = {}
    for k, (t, got, ref, _) in evaluated.items():
        assert got.shape == t.shape and np.all(np.isfinite(got)), k
        err, i = _rel_err(got, ref)
        if err > RTOL:
            bad[k] = (f"{err:.2e}", f"t={int(t[i])}", f"got={float(got.reshape(-1)[i]):.9g}", f"ref={ref[i]:.9g}")
    assert not bad, bad


def test_exact_cells_do_not_warn(evaluated):
    warned = {k: w for k, (_, _, _, w) in evaluated.items() if w}
    assert not warned, warned


def test_reported_cases(evaluated):
    """The reproduced bugs, step by step (values from the formulas above)."""
    def at(k, step):
        t, got, ref, _ = evaluated[k]
        i = int(np.searchsorted(t, step))
        assert t[i] == step, (k, step)
        return float(got[i]), float(ref[i])

    g, r = at("warm_restarts_7", 448)
    assert r == B and abs(g - r) <= RTOL * r  # was 0.0
    g, r = at("warm_restarts_7", 7_000_000)
    assert abs(g - r) <= RTOL * r and r == B  # was 0.00021
    g, r = at("warm_restarts_1e4", 640_000)
    assert abs(g - r) <= RTOL * r and r == B
    g, r = at("warm_restarts_x3", 1_937_102_440)
    assert abs(g - r) <= RTOL * r
    g, r = at("shift_cosine_12345", I32 - 1)  # resumed cosine at step 2**31-2
    assert abs(g - r) <= RTOL * r


def _sample_cell_values(cell, ms, t):
    return cell(ms.Tensor(t.astype(np.int32))).asnumpy()


def test_chain_with_cosine_is_exact_to_t_max_then_says_so(ms_graph, torch_mod):
    """ChainedScheduler([CosineAnnealingLR(T_max=1000), ExponentialLR(0.999)]): torch's chainable cosine
    restarts from the base past T_max, so a product of closed forms is wrong there. The cell is exact
    to T_max, a table to the plan's horizon (real torch values), and warns for the rest (GRAPH_MODE)."""
    ms = ms_graph
    torch = torch_mod
    T, H = 1000, 3000
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=B)
    lrs = torch.optim.lr_scheduler
    sch = lrs.ChainedScheduler([lrs.CosineAnnealingLR(opt, T_max=T), lrs.ExponentialLR(opt, 0.999)])
    rec = trace(opt, sch, H)[:, 0]
    nd = Chain((CosineAnnealing(T), Exponential(0.999)))
    for total, first_held in ((T, T + 1), (H, H)):
        with warnings.catch_warnings(record=True) as got_w:
            warnings.simplefilter("always")
            cell = bridge.to_mindspore_cell(Plan.single(nd, base=B, total_steps=total))
            bridge.to_mindspore_cell(Plan.single(nd, base=B, total_steps=total))  # warned again: per cell
        msgs = [str(x.message) for x in got_w if issubclass(x.category, bm.MindSporePrecisionWarning)]
        assert len(msgs) == 2 and msgs[0] == msgs[1], msgs
        assert f"steps 0..{T}" in msgs[0] and f"steps {first_held}..{I32}" in msgs[0], msgs[0]
        t = np.arange(min(total, H), dtype=np.int64)
        err, i = _rel_err(_sample_cell_values(cell, ms, t), rec[: t.size])
        assert err <= RTOL, (total, i, err)
        far = _sample_cell_values(cell, ms, np.asarray([first_held, I32], dtype=np.int64))
        held = rec[first_held - 1]  # v(T) = 0 (the cosine's zero), or torch's value at the horizon's last step
        assert np.all(np.abs(far - held) <= RTOL * held), (far, held)
    # without a cosine the product is exact everywhere: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", bm.MindSporePrecisionWarning)
        bridge.to_mindspore_cell(Plan.single(Chain((Linear(0.1, 1.0, 20), Exponential(0.99))), base=B,
                                             total_steps=10))


def test_reset_then_product_child_is_not_a_product(ms, torch_mod):
    """ChainedScheduler([CosineAnnealingWarmRestarts, ExponentialLR]): the restart scheduler sets its
    closed form each step and ExponentialLR multiplies that once (torch), not by gamma**t."""
    torch = torch_mod
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=B)
    lrs = torch.optim.lr_scheduler
    sch = lrs.ChainedScheduler([lrs.CosineAnnealingWarmRestarts(opt, T_0=10), lrs.ExponentialLR(opt, 0.9)])
    rec = trace(opt, sch, 50)[:, 0]
    nd = Chain((WarmRestarts(10), Exponential(0.9)))
    with warnings.catch_warnings(record=True) as got_w:
        warnings.simplefilter("always")
        cell = bridge.to_mindspore_cell(Plan.single(nd, base=B, total_steps=50))
    assert any(f"steps 50..{I32}" in str(x.message) for x in got_w)
    err, _ = _rel_err(_sample_cell_values(cell, ms, np.arange(50)), np.asarray(rec))
    assert err <= RTOL


def test_table_fallback_warns_each_build(ms):
    nd = Chain((Linear(0.1, 1.0, 20), CosineAnnealing(100, eta_min=0.1)))
    for _ in range(2):
        with pytest.warns(bm.MindSporePrecisionWarning, match=rf"table of steps 0\.\.29 and holds v\(29\) at steps "
                                                              rf"30\.\.{I32}"):
            bridge.to_mindspore_cell(Plan.single(nd, base=0.1), sample=30)


def test_precision_limits_are_named(ms):
    """Where float32 cannot follow the schedule the warning names the steps: a polynomial power above
    8, and values past float32's largest (gamma > 1)."""
    with pytest.warns(bm.MindSporePrecisionWarning, match=r"power 40 > 8.*steps 0\.\.1000"):
        bridge.to_mindspore_cell(Plan.single(Polynomial(1000, 40.0), base=B))
    k = math.floor(math.log(float(np.finfo(np.float32).max) / B) / math.log(1.01)) + 1  # B*1.01**k > max
    assert B * 1.01 ** (k - 1) <= float(np.finfo(np.float32).max) < B * 1.01 ** k
    with pytest.warns(bm.MindSporePrecisionWarning, match=rf"exponential.*steps {k}\.\.{I32}"):
        cell = bridge.to_mindspore_cell(Plan.single(Exponential(1.01), base=B))
    got = cell(__import__("mindspore").Tensor(np.asarray([k - 200, k + 1], dtype=np.int32))).asnumpy()
    assert abs(got[0] / (B * 1.01 ** (k - 200)) - 1) <= RTOL and np.isinf(got[1])
    with pytest.warns(bm.MindSporePrecisionWarning, match=rf"exponential.*steps {k + 10}\.\.{I32}"):
        bridge.to_mindspore_cell(Plan.single(Sequential((Constant(1.0, 10), Exponential(1.01)), (10,)), base=B))


def test_int32_limits_of_parameters_are_errors(ms):
    """Periods longer than 2**31-1 steps resumed mid-period cannot be reduced in int32: a BridgeError."""
    with pytest.raises(bridge.UnsupportedError, match=r"cosine_annealing\.T_max.*resumed at step 5"):
        bridge.to_mindspore_cell(Plan.single(Shift(CosineAnnealing(2**31), 5), base=B))
    with pytest.raises(bridge.UnsupportedError, match=r"one_cycle\.total_steps"):
        bridge.to_mindspore_cell(Plan.single(OneCycle(2**31), base=B))


# ---------------------------------------------------------------------------
# MindSpore's own cells, GRAPH_MODE, written modules
# ---------------------------------------------------------------------------

NATIVES = {  # MindSpore's formulas (mindspore/nn/learning_rate_schedule.py), in float64
    "WarmUpLR": (Linear(0.0, 1.0, 60), lambda t: B * np.minimum(t, 60) / 60),
    "WarmUpLR_int32": (Linear(0.0, 1.0, I32), lambda t: B * np.minimum(t, I32) / I32),
    "InverseDecayLR": (InverseTimeDecay(0.2, 10), lambda t: B / (1 + 0.2 * t / 10)),
    "CosineDecayLR": (CosineDecay(10**9, alpha=0.1), lambda t: 0.1 * B + (B - 0.1 * B) * 0.5 * (
        1.0 + np.sin(np.pi * (np.minimum(t, 10**9) / 10**9 + 0.5)))),
    "PolynomialDecayLR": (Polynomial(2**30 + 7, 1.0, 0.1 * B), lambda t: (B - 0.1 * B) * (
        1 - np.minimum(t, 2**30 + 7) / (2**30 + 7)) + 0.1 * B),
}


def test_mindspores_own_cells_only_where_exact_over_int32(ms):
    t = sample(7, [60, 10**9, 2**30 + 7], [10])
    for name, (nd, fn) in NATIVES.items():
        cell = bridge.to_mindspore_cell(Plan.single(nd, base=B))
        assert type(cell).__name__ == name.split("_")[0] and type(cell).__module__.startswith("mindspore.nn")
        err, i = _rel_err(cell(ms.Tensor(t.astype(np.int32))).asnumpy(), fn(t))
        assert err <= RTOL, (name, int(t[i]), err)
    # these would cast a float32 step into pow / floor: bridge's cells instead
    for nd in (ExponentialDecay(0.9, 1000), NaturalExpDecay(0.01, 1), InverseTimeDecay(0.2, 10, True),
               NaturalExpDecay(0.3, 25, True)):
        assert type(bridge.to_mindspore_cell(Plan.single(nd, base=B))).__name__ == "Schedule", nd


def test_graph_mode_every_cell_on_every_sampled_step(evaluated, ms_graph):
    """Every case compiled in GRAPH_MODE (one graph for all) and evaluated on the union of all the
    sampled steps (~40,000 steps per cell)."""
    cases = _all_cases()
    names = list(cases)
    t = np.unique(np.concatenate([evaluated[k][0] for k in names]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.MindSporePrecisionWarning)
        cells = [bridge.to_mindspore_cell(Plan.single(cases[k][0], base=B), native=False) for k in names]
    outs = bmn.cell_classes()["MultiOut"](cells)(ms_graph.Tensor(t.astype(np.int32)))
    bad = {}
    for k, o in zip(names, outs):
        err, i = _rel_err(o.asnumpy(), cases[k][1](t + cases[k][4]))
        if err > RTOL:
            bad[k] = (f"{err:.2e}", int(t[i]))
    assert not bad, bad


_WRITTEN = """
import importlib, sys
import numpy as np


class Block:  # the written modules must not need sched-bridge
    def find_spec(self, name, path=None, target=None):
        if name == "bridge" or name.startswith("bridge."):
            raise ImportError("bridge is blocked in this process")


sys.meta_path.insert(0, Block())
import mindspore as ms

ms.set_device("CPU")
ms.set_context(mode=ms.PYNATIVE_MODE)
out, names = sys.argv[1], sys.argv[2].split(",")
t = ms.Tensor(np.load(sys.argv[3]).astype(np.int32))
np.savez(out, *[importlib.import_module("sched_" + k).make_schedule()(t).asnumpy() for k in names])
"""

WRITTEN = ["warm_restarts_7", "warm_restarts_x3", "warm_restarts_oneflow_float", "shift_cosine_12345",
           "shift_warm_restarts", "shift_sequential_hold"]


def test_written_modules_follow_the_schedule_at_every_int32_step(evaluated, tmp_path):
    """to_mindspore_source (--standalone): the copied classes give the same values as the cells, so
    the warm-restart and resumed cases hold the contract there too, without sched-bridge."""
    cases = _all_cases()
    t = np.unique(np.concatenate([evaluated[k][0] for k in WRITTEN]))
    np.save(tmp_path / "t.npy", t)
    for k in WRITTEN:
        with warnings.catch_warnings():
            warnings.simplefilter("error", bm.MindSporePrecisionWarning)
            (tmp_path / f"sched_{k}.py").write_text(bridge.to_mindspore_source(Plan.single(cases[k][0], base=B)))
    (tmp_path / "run.py").write_text(_WRITTEN)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "run.py", str(tmp_path / "out.npz"), ",".join(WRITTEN),
                          str(tmp_path / "t.npy")], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    got = np.load(tmp_path / "out.npz")
    for j, k in enumerate(WRITTEN):
        err, i = _rel_err(got[f"arr_{j}"], cases[k][1](t + cases[k][4]))
        assert err <= RTOL, (k, int(t[i]), err)


def test_written_module_carries_the_warnings(ms: Any) -> None:
    nd = Chain((CosineAnnealing(1000), Exponential(0.999)))
    with pytest.warns(bm.MindSporePrecisionWarning):
        src = bridge.to_mindspore_source(Plan.single(nd, base=B, total_steps=1000))
    assert "MindSporePrecisionWarning: groups[0].lr: the closed form of chain holds at steps 0..1000" in src
    ns: dict = {}
    exec(compile(src, "<written>", "exec"), ns)
    assert type(ns["make_schedule"]().expr).__name__ == "Tail"


def test_mmengine_windows_with_a_cosine_past_t_max(ms, torch_mod, mmengine_mod):
    """MMEngine [LinearLR, CosineAnnealingLR(T_max=20)] over 60 iterations, stepped for real: the two
    windows multiply only while the cosine is in its first period; the cell is the product to step
    20, a table of MMEngine's values to the sample's end, and says so."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    from mmengine.registry import PARAM_SCHEDULERS

    torch = torch_mod
    cfgs = [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=10),
            dict(type="CosineAnnealingLR", T_max=20, by_epoch=False, begin=0, end=60)]

    def opt():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=B)

    o = opt()
    scheds = [PARAM_SCHEDULERS.build(dict(c), default_args=dict(optimizer=o)) for c in cfgs]
    rec = trace(o, scheds, 80)[:, 0]
    plan = bridge.from_mmengine(cfgs, opt(), epoch_length=1)
    with pytest.warns(bm.MindSporePrecisionWarning, match=rf"steps 0\.\.20 only.*steps 21\.\.59 are a table.*"
                                                          rf"steps 60\.\.{I32}"):
        cell = bridge.to_mindspore_cell(plan, sample=60)
    got = cell(ms.Tensor(np.arange(80, dtype=np.int32))).asnumpy()
    err, i = _rel_err(got, np.asarray(rec))
    assert err <= RTOL, (i, err)


# ---------------------------------------------------------------------------
# a base below an absolute floor: a weight decay of 0 (MMEngine norm_decay_mult=0) that a cosine or
# polynomial moves towards an absolute eta_min / end
# ---------------------------------------------------------------------------

ETA = 0.01


def hc2(d, P):
    """(1 + cos(pi*d/P))/2 and (1 - cos(pi*d/P))/2 as sin^2 of exact distances (0 <= d <= P): float64
    loses 1 - cos near the peak (1e-19 of eta at step 1 of a long cosine) and eta*(1 - cos) is the value."""
    d = np.asarray(d, dtype=np.float64)
    return np.sin(np.pi * (P - d) / (2.0 * P)) ** 2, np.sin(np.pi * d / (2.0 * P)) ** 2


def b_cos(t, T, eta, base, clamped=False):  # torch CosineAnnealingLR (periodic) / CosineDecay (clamped)
    r = np.minimum(t, T) if clamped else t % (2 * T)
    a, b = hc2(np.minimum(r, 2 * T - r), T)
    return base * a + eta * b


def b_sgdr(t, T0, Tm, eta, base):  # torch CosineAnnealingWarmRestarts: cycle i of T0*Tm**i steps
    starts = sgdr_starts(T0, Tm)
    i = np.searchsorted(np.asarray(starts, dtype=np.int64), t, side="right") - 1
    tc = t - np.asarray(starts, dtype=np.int64)[i]
    Ti = (T0 * np.asarray([Tm ** k for k in range(len(starts))], dtype=np.float64))[i]
    a, b = hc2(tc, Ti)
    return base * a + eta * b


def b_sgdr_oneflow(t, T0, Tm, eta, base):  # OneFlow's get_lr: float cycle index (as f_sgdr_oneflow)
    out = []
    for step in (int(x) for x in t):
        epoch = math.floor(math.log(1 - step / T0 * (1 - Tm), Tm))
        es = Tm ** epoch * T0
        sie = step - (1 - Tm ** epoch) / (1 - Tm) * T0
        out.append(base * math.sin(math.pi * (es - sie) / (2 * es)) ** 2 + eta * math.sin(math.pi * sie / (2 * es)) ** 2)
    return np.asarray(out)


def b_cos_restart(t, periods, weights, eta, base):  # MMEngine CosineRestartLR (as f_cos_restart)
    cum = np.cumsum(periods)
    tt = np.minimum(t, cum[-1] - 1)
    i = np.searchsorted(cum, tt, side="right")
    start = np.where(i == 0, 0, cum[np.maximum(i - 1, 0)])
    a, b = hc2(tt - start, np.asarray(periods, dtype=np.float64)[i])
    return base * np.asarray(weights, dtype=np.float64)[i] * a + eta * b


def b_poly(t, T, p, end, base, cycle=False):  # f_poly / f_poly_cycle with 1 - f**p = -expm1(p*log1p(-x))
    if cycle:
        tt = np.maximum(t, 1)
        x = tt / (-(-tt // T) * T)
    else:
        x = np.minimum(t, T) / T
    with np.errstate(divide="ignore"):  # x = 1: log1p(-1) = -inf, expm1(-inf) = -1
        return base * (1.0 - x) ** p - end * np.expm1(p * np.log1p(-x))


BELOW = {  # name -> (node, base, expected(t)) with base 0 or base < eta
    "cosine_base0": (CosineAnnealing(1000, eta_min=ETA), 0.0, lambda t: b_cos(t, 1000, ETA, 0.0)),
    "cosine_base_below": (CosineAnnealing(Q, eta_min=ETA), 1e-4, lambda t: b_cos(t, Q, ETA, 1e-4)),
    "cosine_long_base0": (CosineAnnealing(BIG, eta_min=ETA), 0.0, lambda t: b_cos(t, BIG, ETA, 0.0)),
    "cosine_decay_base0": (CosineDecay(10**9, eta_min=ETA), 0.0, lambda t: b_cos(t, 10**9, ETA, 0.0, True)),
    "cosine_ratio_above": (CosineAnnealing(777, eta_min_ratio=20.0), 1e-3, lambda t: b_cos(t, 777, 0.02, 1e-3)),
    "shift_cosine_base0": (Shift(CosineAnnealing(12345, eta_min=ETA), 2**31 + 5), 0.0,
                           lambda t: b_cos(t + 2**31 + 5, 12345, ETA, 0.0)),
    "warm_restarts_base0": (WarmRestarts(1000, eta_min=ETA), 0.0, lambda t: b_sgdr(t, 1000, 1, ETA, 0.0)),
    "warm_restarts_x3_base0": (WarmRestarts(10, 3, ETA), 0.0, lambda t: b_sgdr(t, 10, 3, ETA, 0.0)),
    "warm_restarts_oneflow_base0": (WarmRestarts(10, 3, ETA, float_log_cycles=True), 0.0,
                                    lambda t: b_sgdr_oneflow(t, 10, 3, ETA, 0.0)),
    "cosine_restart_base0": (CosineRestart((50, 100, 80), (1.0, 0.5, 0.25), eta_min=ETA), 0.0,
                             lambda t: b_cos_restart(t, [50, 100, 80], [1.0, 0.5, 0.25], ETA, 0.0)),
    "polynomial_base0": (Polynomial(1000, 2.0, ETA), 0.0, lambda t: b_poly(t, 1000, 2.0, ETA, 0.0)),
    "polynomial_linear_base0": (Polynomial(I32 - 5, 1.0, ETA), 0.0, lambda t: b_poly(t, I32 - 5, 1.0, ETA, 0.0)),
    "polynomial_sqrt_base0": (Polynomial(123456789, 0.5, ETA), 0.0, lambda t: b_poly(t, 123456789, 0.5, ETA, 0.0)),
    "polynomial_tiny_power": (Polynomial(1000, 0.01, ETA), 1e-4, lambda t: b_poly(t, 1000, 0.01, ETA, 1e-4)),
    "polynomial_power8_base0": (Polynomial(10**6, 8.0, ETA), 0.0, lambda t: b_poly(t, 10**6, 8.0, ETA, 0.0)),
    "polynomial_cycle_base0": (Polynomial(10**9 + 7, 2.0, ETA, True), 0.0,
                               lambda t: b_poly(t, 10**9 + 7, 2.0, ETA, 0.0, True)),
    "polynomial_cycle_sqrt": (Polynomial(30, 0.5, ETA, True), 0.0, lambda t: b_poly(t, 30, 0.5, ETA, 0.0, True)),
}


def test_base_below_an_absolute_floor_graph_mode(ms_graph):
    """base*f + eta*(1 - f) with 1 - f from the int32 distance to the peak: a weight decay of 0 moved
    towards eta_min = 0.01 is exact from step 1 (it was 0.019 off there: eta - eta*f cancels), at
    every sampled int32 step, compiled in GRAPH_MODE; 0 where the schedule is 0."""
    names = list(BELOW)
    t = np.unique(np.concatenate([sample(zlib.crc32(k.encode()), [1000, 10**9, 123456789, 2**24], [1000, 30, 2000])
                                  for k in names]))
    cells = [bridge.to_mindspore_cell(Plan.single(BELOW[k][0], base=BELOW[k][1]), native=False) for k in names]
    outs = bmn.cell_classes()["MultiOut"](cells)(ms_graph.Tensor(t.astype(np.int32)))
    bad = {}
    for k, o in zip(names, outs):
        ref = BELOW[k][2](t)
        got = o.asnumpy().astype(np.float64)
        assert np.all(got[ref == 0.0] == 0.0), k
        err, i = _rel_err(got, ref, base=0.0)
        if err > RTOL:
            bad[k] = (f"{err:.2e}", int(t[i]))
    assert not bad, bad


def test_mmengine_weight_decay_of_norm_layers_grows_to_eta_min(ms_graph, torch_mod, mmengine_mod):
    """The reported case: AdamW weight_decay 0.05, paramwise norm_decay_mult=0 (a group with weight
    decay 0) and CosineAnnealingParamScheduler(weight_decay, eta_min=0.01) over 1000 iterations,
    stepped for real in MMEngine; the weight-decay cell of the norm group (GRAPH_MODE) follows it."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    from mmengine.registry import PARAM_SCHEDULERS

    torch = torch_mod
    cfgs = [dict(type="CosineAnnealingParamScheduler", param_name="weight_decay", eta_min=ETA, by_epoch=False,
                 begin=0, end=1000)]

    def opt():
        p = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(2)]
        return torch.optim.AdamW([{"params": [p[0]]}, {"params": [p[1]], "weight_decay": 0.0}], lr=1e-3,
                                 weight_decay=0.05)

    o = opt()
    scheds = [PARAM_SCHEDULERS.build(dict(c), default_args=dict(optimizer=o)) for c in cfgs]
    rec = trace(o, scheds, 1100, "weight_decay")
    assert rec[0, 1] == 0.0 and rec[1, 1] > 0.0 and abs(rec[-1, 1] / ETA - 1) < 1e-4  # it does grow
    plan = bridge.from_mmengine(cfgs, opt(), epoch_length=1)
    t = np.arange(1100, dtype=np.int64)
    for g in (0, 1):
        cell = bridge.to_mindspore_cell(plan, g, "weight_decay", optimizer="AdamWeightDecay")
        got = cell(ms_graph.Tensor(t.astype(np.int32))).asnumpy()
        err, i = _rel_err(got, rec[:, g], base=0.0)
        assert err <= RTOL, (g, int(t[i]), float(got[i]), rec[i, g], err)
