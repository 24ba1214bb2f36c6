"""Every IR kind against a formula written out here (scalar math, from the frameworks' sources),
and the TRAPS.md trajectories observed in runs of the real frameworks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridge import parity
from bridge.errors import SpecError, UnsupportedError
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
    KDecayCosine,
    Lambda,
    Linear,
    Multiplicative,
    MultiStep,
    NaturalExpDecay,
    Noam,
    OneCycle,
    OneCycleMomentum,
    PiecewiseConstant,
    Plan,
    Plateau,
    Polynomial,
    Sequential,
    Shift,
    Step,
    Table,
    Timm,
    WarmRestarts,
    WarmupStableDecay,
    Window,
    Windows,
)

N = 400
BASES = [1.0, 0.1, 0.037]


def run(node, n=N, bases=BASES):
    return Plan.single(node, bases).values(n)


def check(node, ref, n=N, bases=BASES):
    """The evaluator follows the closed form ``ref`` under the float64 contract (bridge.parity)."""
    got = run(node, n, bases)
    want = np.array([[ref(t, b) for b in bases] for t in range(n)])
    r = parity.compare(got, want, bases)
    assert r.ok, r.summary(node.describe() if hasattr(node, "describe") else repr(node))


def cosf(x):
    return (1 + math.cos(math.pi * x)) / 2


LEAVES = [
    (Constant(0.25, 7), lambda t, b: b * (0.25 if t < 7 else 1.0)),
    (Constant(0.5), lambda t, b: b * 0.5),
    (Linear(0.1, 1.0, 50), lambda t, b: b * (0.1 + 0.9 * min(t, 50) / 50)),
    (Linear(1.0, 0.0, 30), lambda t, b: b * (1.0 - min(t, 30) / 30)),
    (Step(17, 0.5), lambda t, b: b * 0.5 ** (t // 17)),
    (MultiStep((10, 10, 60), 0.1), lambda t, b: b * 0.1 ** sum(m <= t for m in (10, 10, 60))),
    (Exponential(0.99), lambda t, b: b * 0.99 ** t),
    (Polynomial(100, 2.0), lambda t, b: b * (1 - min(t, 100) / 100) ** 2),
    (Polynomial(100, 1.0, end_value=1e-4), lambda t, b: (b - 1e-4) * (1 - min(t, 100) / 100) + 1e-4),
    (Polynomial(40, 1.0, cycle=True),  # OneFlow cyclic: step 0 counts as 1
     lambda t, b: b * (1 - max(t, 1) / (40 * math.ceil(max(t, 1) / 40)))),
    (CosineAnnealing(90, eta_min=0.001), lambda t, b: 0.001 + (b - 0.001) * cosf(t / 90)),
    (CosineAnnealing(90, eta_min_ratio=0.05), lambda t, b: 0.05 * b + (b - 0.05 * b) * cosf(t / 90)),
    (CosineDecay(120, alpha=0.1), lambda t, b: b * (0.9 * cosf(min(t, 120) / 120) + 0.1)),
    (CosineDecay(120, eta_min=0.002), lambda t, b: 0.002 + (b - 0.002) * cosf(min(t, 120) / 120)),
    (ExponentialDecay(0.5, 30), lambda t, b: b * 0.5 ** (t / 30)),
    (ExponentialDecay(0.5, 30, staircase=True), lambda t, b: b * 0.5 ** (t // 30)),
    (NaturalExpDecay(0.2, 25), lambda t, b: b * math.exp(-0.2 * t / 25)),
    (NaturalExpDecay(0.2, 25, True), lambda t, b: b * math.exp(-0.2 * (t // 25))),
    (InverseTimeDecay(0.5, 10), lambda t, b: b / (1 + 0.5 * t / 10)),
    (InverseTimeDecay(0.5, 10, True), lambda t, b: b / (1 + 0.5 * (t // 10))),
    (PiecewiseConstant((50, 120), (0.1, 0.05, 0.01)), lambda t, b: 0.1 if t < 50 else 0.05 if t < 120 else 0.01),
    (PiecewiseConstant((50,), (1.0, 0.5), relative=True, inclusive=True), lambda t, b: b * (1.0 if t <= 50 else 0.5)),
    (InverseSqrt(40), lambda t, b: b * (t / 40 if t < 40 else 1 / math.sqrt(t / 40))),
    (InverseSqrt(0), lambda t, b: b / math.sqrt((t + 10000) / 10000)),
    (Noam(512, 100), lambda t, b: b * 512 ** -0.5 * min((t + 1) ** -0.5, (t + 1) * 100 ** -1.5)),
    (Table(tuple(0.5 + 0.001 * i for i in range(300))), lambda t, b: 0.5 + 0.001 * min(t, 299)),
    (Table((1.0, 0.5, 0.25), relative=True), lambda t, b: b * (1.0, 0.5, 0.25)[min(t, 2)]),
    (Lambda(lambda e: 0.95 ** e), lambda t, b: b * 0.95 ** t),
]


@pytest.mark.parametrize("node,ref", LEAVES, ids=[n.describe() for n, _ in LEAVES])
def test_leaf_matches_formula(node, ref):
    check(node, ref)


def _sgdr(t, b, T0, Tm, eta, decay=1.0, limit=None):
    i, start, L = 0, 0, T0
    while t >= start + L:
        start += L
        L *= Tm
        i += 1
    if limit is not None and i >= limit:
        return eta
    return eta + (b * decay ** i - eta) * cosf((t - start) / L)


@pytest.mark.parametrize("T0,Tm,eta,decay,limit", [(10, 1, 0.0, 1.0, None), (7, 2, 0.001, 1.0, None),
                                                  (5, 3, 0.0, 0.8, None), (20, 1, 0.01, 0.5, 3)])
def test_warm_restarts(T0, Tm, eta, decay, limit):
    check(WarmRestarts(T0, Tm, eta, decay, limit), lambda t, b: _sgdr(t, b, T0, Tm, eta, decay, limit))


def test_warm_restarts_float_log_cycles_matches_oneflow_formula():
    T0, Tm = 3, 10  # math.log(1000, 10) < 3: OneFlow puts step 333 in cycle 2

    def oneflow(t, b):
        e = math.floor(math.log(1 - t / T0 * (1 - Tm), Tm))
        L = Tm ** e * T0
        s = t - (1 - Tm ** e) / (1 - Tm) * T0
        return 0.0 + (b * 1.0 - 0.0) * 0.5 * (1 + math.cos(math.pi * s / L))

    check(WarmRestarts(T0, Tm, float_log_cycles=True), oneflow, n=400)


def test_cosine_restart_mmengine_form():
    periods, weights = (30, 50, 40), (1.0, 0.5, 0.25)

    def ref(t, b):
        cum = 0
        tt = min(t, sum(periods) - 1)
        for P, w in zip(periods, weights):
            if tt < cum + P:
                return 0.001 + (b * w - 0.001) * cosf((tt - cum) / P)
            cum += P

    check(CosineRestart(periods, weights, eta_min=0.001), ref, n=200)


def _onecycle_ref(t, mx, total, pct, anneal, div, fdiv, three):
    init = mx / div
    lo = init / fdiv
    if three:
        phases = [(pct * total - 1, init, mx), (2 * pct * total - 2, mx, init), (total - 1, init, lo)]
    else:
        phases = [(pct * total - 1, init, mx), (total - 1, mx, lo)]
    start = 0.0
    for i, (end, a, b) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            p = (t - start) / (end - start)
            if anneal == "cos":
                return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)
            return (b - a) * p + a
        start = end


@pytest.mark.parametrize("anneal,three", [("cos", False), ("linear", False), ("cos", True), ("linear", True)])
def test_one_cycle(anneal, three):
    node = OneCycle(300, pct_start=0.25, anneal=anneal, three_phase=three)
    check(node, lambda t, b: _onecycle_ref(t, b, 300, 0.25, anneal, 25.0, 1e4, three), n=301)


def test_one_cycle_traps_values_and_horizon():
    v = run(OneCycle(10), 10, [1.0])[:, 0]
    np.testing.assert_allclose(v[:3], [0.04, 0.52, 1.0], rtol=parity.FLOAT64_RTOL)
    assert abs(v[3] - 0.950485) < 1e-6 and abs(v[9] - 4e-06) < 1e-12
    with pytest.raises(SpecError, match="total_steps"):
        run(OneCycle(10), 12, [1.0])


def test_one_cycle_momentum():
    node = OneCycleMomentum(100, pct_start=0.3, base_momentum=0.85, max_momentum=0.95)

    def ref(t, b):
        phases = [(29.0, 0.95, 0.85), (99, 0.85, 0.95)]
        start = 0.0
        for i, (end, a, c) in enumerate(phases):
            if t <= end or i == 1:
                p = (t - start) / (end - start)
                return c + (a - c) / 2 * (math.cos(math.pi * p) + 1)
            start = end

    check(node, ref, n=101)


def _wave(t, mode, up, down, g):
    """torch CyclicLR's (scale_factor, scale) at step t."""
    total = float(up + down)
    cyc = math.floor(1 + t / total)
    x = 1.0 + t / total - cyc
    ratio = up / total
    sf = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    scale = 1.0 if mode == "triangular" else (1 / 2.0 ** (cyc - 1) if mode == "triangular2" else g ** t)
    return sf, scale


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic(mode):
    up, down, hi, g = 20, 30, 0.5, 0.995

    def lr(t, b):  # low = the group's base
        sf, scale = _wave(t, mode, up, down, g)
        return b + (hi - b) * sf * scale

    def momentum(t, b):  # inverted: base_momentum 0.85, max_momentum 0.95
        sf, scale = _wave(t, mode, up, down, g)
        return 0.95 - (0.95 - 0.85) * sf * scale

    check(Cyclic(hi, None, up, down, mode, g), lr, n=300)
    check(Cyclic(0.95, 0.85, up, down, mode, g, inverted=True), momentum, n=300)


def test_wsd():
    W, S, D, r = 20, 50, 30, 0.1

    def ref(t, b):
        if t < W:
            return b * max(0.0, (t / W) * (1 - r) + r)
        if t < W + S:
            return b
        if t < W + S + D:
            p = (t - W - S) / D
            return b * max(0.0, 0.5 * (1 + math.cos(math.pi * 0.5 * 2 * p)) * (1 - r) + r)
        return b * r

    check(WarmupStableDecay(W, S, D, r), ref, n=150)


def test_plateau_with_metrics():
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85]
    with pytest.raises(UnsupportedError, match="metric"):
        run(Plateau(), 3, [1.0])
    # best 0.9 after step 2; steps 3, 4, 5 are bad -> the third (> patience) halves the lr
    full = Plan.single(Plateau(patience=2, factor=0.5, metrics=tuple(metrics)), 1.0).values(12)[:, 0]
    # then best 0.8 after step 6; steps 7, 8, 9 are bad -> halved again
    assert full.tolist() == [1.0] * 5 + [0.5] * 4 + [0.25] * 3


# --- compositions: trajectories observed in the real frameworks (TRAPS.md) ------------------


def vals(node, n):
    return Plan.single(node, 1.0).values(n)[:, 0]


def test_sequential_restart_at_milestone_torch():
    v = vals(Sequential((Linear(0.1, 1.0, 5), CosineAnnealing(10)), (5,)), 18)
    np.testing.assert_allclose(v[:8], [.1, .28, .46, .64, .82, 1.0, .975528, .904508], atol=1e-6)
    assert abs(v[15]) < 1e-15 and abs(v[16] - .024472) < 1e-6 and abs(v[17] - .095492) < 1e-6


def test_sequential_continuing_children_torch():
    np.testing.assert_allclose(vals(Sequential((Constant(.1, 3), Multiplicative(lambda e: .5)), (3,)), 6),
                               [.1, .1, .1, .05, .025, .0125], rtol=parity.FLOAT64_RTOL)
    np.testing.assert_allclose(vals(Sequential((Constant(.1, 3), Lambda(lambda e: .5 ** e)), (3,)), 6),
                               [.1, .1, .1, 1.0, .5, .25], rtol=parity.FLOAT64_RTOL)
    np.testing.assert_allclose(vals(Sequential((Linear(.1, 1, 5), Exponential(.9)), (3,)), 6),
                               [.1, .28, .46, 1.0, .9, .81], rtol=parity.FLOAT64_RTOL)


def test_sequential_global_step_oneflow():
    v = vals(Sequential((Linear(0.1, 1.0, 5), CosineAnnealing(10)), (5,), rescale=(False,)), 7)
    np.testing.assert_allclose(v, [.1, .28, .46, .64, .82, .5, .345492], atol=1e-6)


def test_chain_product_torch_and_oneflow():
    for mode in ("recursive", "nested"):
        np.testing.assert_allclose(vals(Chain((Constant(.1, 3), Exponential(.9)), mode), 6),
                                   [.1, .09, .081, .729, .6561, .59049], rtol=parity.FLOAT64_RTOL)
    a = vals(Chain((Linear(.1, 1, 4), CosineAnnealing(8))), 30)
    b = vals(Linear(.1, 1, 4), 30) * vals(CosineAnnealing(8), 30)
    np.testing.assert_allclose(a, b, rtol=parity.FLOAT64_RTOL, atol=1e-15)


def test_chain_recursive_cosine_additive_branch():
    # torch: at T_max+1 CosineAnnealingLR *adds* (base-eta_min)(1-cos(pi/T))/2, dropping other factors
    v = vals(Chain((CosineAnnealing(4), Exponential(.5))), 7)
    x = 1.0
    ref = [x]
    for t in range(1, 7):
        if (t - 1 - 4) % 8 == 0:
            x = x + (1.0 - 0.0) * (1 - math.cos(math.pi / 4)) / 2
        else:
            x = (1 + math.cos(math.pi * t / 4)) / (1 + math.cos(math.pi * (t - 1) / 4)) * x
        x = x * 0.5
        ref.append(x)
    np.testing.assert_allclose(v, ref, rtol=parity.FLOAT64_RTOL, atol=1e-15)


def test_cosine_periodic_past_tmax():
    np.testing.assert_allclose(vals(CosineAnnealing(4), 7), [1, .853553, .5, .146447, 0, .146447, .5], atol=1e-6)


def test_windows_mmengine_linear_then_cosine_freezes():
    # MMEngine: LinearLR(0.1, end=5) uses total_iters = end-begin-1 = 4
    w = Windows((Window(Linear(0.1, 1.0, 4), 0, 5), Window(CosineAnnealing(10), 5, 15)))
    v = vals(w, 20)
    np.testing.assert_allclose(v[:5], [.1, .325, .55, .775, 1.0], rtol=parity.FLOAT64_RTOL)
    assert abs(v[14] - 0.024472) < 1e-6 and v[19] == v[14]


def test_windows_overlap_multiplies_and_gap_holds():
    w = Windows((Window(Exponential(0.9), 0, 10), Window(Step(2, 0.5), 5, 9), Window(Constant(0.5, 3), 12, 15)))
    v = vals(w, 20)
    x, ref = 1.0, []
    for t in range(20):
        if 0 < t < 10:
            x *= 0.9
        if 5 <= t < 9 and (t - 5) > 0 and (t - 5) % 2 == 0:
            x *= 0.5
        if t == 12:  # Constant(0.5, 3) would restore at local step 3 = t 15: outside its window [12, 15)
            x *= 0.5
        ref.append(x)
    np.testing.assert_allclose(v, ref, rtol=parity.FLOAT64_RTOL)


def test_windows_epoch_based_holds_per_epoch():
    L = 7
    w = Windows((Window(Linear(0.25, 1.0, 20), 0, 21, 1), Window(MultiStep((2, 4), 0.1), 0, None, L)))
    v = vals(w, 6 * L)
    for t in range(6 * L):
        want = (0.25 + 0.75 * min(t, 20) / 20) * 0.1 ** sum(m <= t // L for m in (2, 4))
        assert abs(v[t] - want) <= parity.FLOAT64_RTOL * max(1.0, want), t  # base 1.0


def test_hold_and_shift():
    v = vals(Hold(CosineDecay(4), 2), 12)
    np.testing.assert_allclose(v, [1, 1, .853553, .853553, .5, .5, .146447, .146447, 0, 0, 0, 0], atol=1e-6)
    s = vals(Shift(Step(3, 0.5), 4), 6)
    np.testing.assert_allclose(s, [0.5 ** ((t + 4) // 3) for t in range(6)], rtol=0)


def test_multigroup_bases_are_per_group():
    p = Plan.single(Sequential((Linear(0.1, 1, 5), CosineAnnealing(10)), (5,)), [0.1, 0.02])
    v = p.values(16)
    np.testing.assert_allclose(v[:, 1], v[:, 0] * 0.2, rtol=parity.FLOAT64_RTOL, atol=1e-18)


def test_kinds_doc_is_generated_from_the_code():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "tools" / "gen_kind_docs.py"), "--check"])
    assert r.returncode == 0, "docs/kinds.md is stale: run python tools/gen_kind_docs.py"


def test_group_values_is_one_column_of_values():
    p = Plan.single(Chain((Linear(0.1, 1.0, 20), CosineAnnealing(50, eta_min=1e-3))), [0.1, 0.02, 0.5])
    full = p.values(300, start=7)
    for g in range(3):
        np.testing.assert_array_equal(p.group_values(300, "lr", g, start=7), full[:, g])
    with pytest.raises(SpecError, match="group"):
        p.group_values(3, "lr", 3)


def _acc_ref(t, b, total, W=0, C=0, k=1.0, lr_min=1e-6, ratio=None, start=1e-6, start_ratio=None):
    """pytorch-accelerated CosineLrScheduler as the Trainer steps it, written out from its source."""
    if t == 0:
        return start if W else b
    s = t - 1
    m = ratio * b if ratio is not None else lr_min
    if s < W:
        return (start_ratio * b if start_ratio is not None else start) + s * ((b - start) / W)
    Tc = total - (W + C)
    if s < Tc:
        return m + 0.5 * (b - m) * (1 + math.cos(math.pi * (s - W) ** k / Tc ** k))
    return m


@pytest.mark.parametrize("kw", [dict(total=200), dict(total=200, W=20, start=1e-3),
                                dict(total=150, W=10, C=30, k=2.0, ratio=0.05, start_ratio=0.1),
                                dict(total=60, W=40, C=10, lr_min=0.0)])
def test_k_decay_cosine(kw):
    node = KDecayCosine(kw["total"], kw.get("W", 0), kw.get("C", 0), kw.get("k", 1.0), kw.get("lr_min", 1e-6),
                        kw.get("ratio"), kw.get("start", 1e-6), kw.get("start_ratio"))
    check(node, lambda t, b: _acc_ref(t, b, **kw))


def _timm_ref(t, b, shape, T=1.0, lr_min=0.0, mul=1.0, decay=1.0, limit=1, k=1.0, power=0.5, lb=-7.0, ub=3.0,
              decay_t=1.0, ms=(), rate=1.0, W=0, init=0.0, prefix=False, scale=1.0):
    """timm *LRScheduler._get_lr(t) (v(0): its construction value), written out from its source."""
    def main(t):
        if shape == "step":
            return b * rate ** (t // decay_t)
        if shape == "multistep":
            return b * rate ** sum(m <= t + 1 for m in ms)
        if mul != 1:
            i = math.floor(math.log(1 - t / T * (1 - mul), mul))
            ti, tc = mul ** i * T, t - (1 - mul ** i) / (1 - mul) * T
        else:
            i, ti = t // T, T
            tc = t - T * i
        if i >= limit:
            return lr_min
        mx = b * decay ** i
        if shape == "cosine":
            return lr_min + 0.5 * (mx - lr_min) * (1 + math.cos(math.pi * tc ** k / ti ** k))
        if shape == "tanh":
            return lr_min + 0.5 * (mx - lr_min) * (1 - math.tanh(lb * (1 - tc / ti) + ub * tc / ti))
        return lr_min + (mx - lr_min) * (1 - tc ** k / ti ** k) ** power

    if t == 0:
        return scale * (init if W else b)
    if t < W:
        target = main(W) if shape == "tanh" and not prefix else b
        return scale * (init + t * ((target - init) / W))
    return scale * main(t - W if prefix else t)


TIMM_CASES = [
    dict(shape="cosine", T=100, lr_min=1e-4, W=10, init=1e-5),
    dict(shape="cosine", T=30, mul=2.0, decay=0.5, limit=3, k=2.0, W=5, prefix=True, scale=0.3),
    dict(shape="cosine", T=25, mul=1.5, limit=4, lr_min=1e-3),
    dict(shape="tanh", T=80, W=12, init=1e-3, lr_min=1e-5),
    dict(shape="tanh", T=50, lb=-4.0, ub=5.0, limit=3, decay=0.8, W=6, prefix=True),
    dict(shape="poly", T=120, power=2.0, k=1.5, W=8, init=1e-4, lr_min=1e-5),
    dict(shape="step", decay_t=2.4, rate=0.97, W=3, init=1e-6, prefix=True),
    dict(shape="multistep", ms=(1, 30, 30, 90), rate=0.3, W=5, init=0.01),
    dict(shape="multistep", ms=(1, 50), rate=0.5),  # v(0) is the base, not _get_lr(0)
]


@pytest.mark.parametrize("kw", TIMM_CASES, ids=[f"{c['shape']}-{i}" for i, c in enumerate(TIMM_CASES)])
def test_timm(kw):
    names = dict(T="t_initial", mul="cycle_mul", decay="cycle_decay", limit="cycle_limit", k="k_decay", rate="decay_rate",
                 ms="milestones", W="warmup_t", init="warmup_lr_init", prefix="warmup_prefix")
    node = Timm(**{names.get(k, k): v for k, v in kw.items()})
    check(node, lambda t, b: _timm_ref(t, b, **kw))


def test_timm_cycle_mul_below_one_refuses_past_the_end():
    with pytest.raises(UnsupportedError, match="math domain error"):
        run(Timm("cosine", t_initial=4, cycle_mul=0.5, cycle_limit=9), n=20)
