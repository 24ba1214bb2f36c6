"""MindSpore 2.10 traps (docs/traps.md) seen on the real framework: each test steps MindSpore (and
torch where the trap is a difference from torch) and asserts what it does, then what sched-bridge
does about it. Expected values come from the frameworks or from formulas written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import run_fresh_mindspore

import bridge
from bridge import Plan
from bridge.ir import CosineAnnealing

pytestmark = pytest.mark.mindspore


def _xsgd(ms, lr=1.0):
    from mindspore.experimental import optim

    return optim.SGD([ms.Parameter(ms.Tensor(np.zeros(1, np.float32)), name="w")], lr=lr)


def _lr(opt) -> float:
    return float(opt.param_groups[0]["lr"].asnumpy())


def test_multiplicative_never_applies_fn_of_0(ms, torch_mod):
    """SequentialLR([ConstantLR(0.1, 3), MultiplicativeLR(fn)], [3]), fn(0) = 0.5, fn(e > 0) = 0.9: at
    the milestone torch multiplies by fn(0) (its _update_lr(0)); MindSpore's MultiplicativeLR never
    calls fn(0). The plan read from MindSpore's scheduler follows MindSpore."""
    import torch.optim.lr_scheduler as T
    from mindspore.experimental.optim import lr_scheduler as S

    def fn(e):
        return 0.5 if e == 0 else 0.9

    torch = torch_mod
    to = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ts = T.SequentialLR(to, [T.ConstantLR(to, 0.1, 3), T.MultiplicativeLR(to, fn)], [3])
    o = _xsgd(ms)
    s = S.SequentialLR(o, [S.ConstantLR(o, 0.1, 3), S.MultiplicativeLR(o, fn)], [3])
    plan = bridge.from_mindspore(s)
    theirs, torchs = [], []
    for _ in range(7):
        theirs.append(_lr(o))
        torchs.append(to.param_groups[0]["lr"])
        s.step()
        to.step()
        ts.step()
    want_torch = [0.1, 0.1, 0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.9, 0.1 * 0.5 * 0.9 ** 2, 0.1 * 0.5 * 0.9 ** 3]
    want_ms = [0.1, 0.1, 0.1, 0.1, 0.1 * 0.9, 0.1 * 0.9 ** 2, 0.1 * 0.9 ** 3]
    np.testing.assert_allclose(torchs, want_torch, rtol=1e-12)
    np.testing.assert_allclose(theirs, want_ms, rtol=1e-6)
    np.testing.assert_allclose(plan.values(7)[:, 0], want_ms, rtol=1e-6)


def test_chainable_cosine_drifts_in_float32_plan_scheduler_does_not(ms):
    """MindSpore's CosineAnnealingLR(T_max=9, eta_min=1e-3) alone multiplies its float32 lr by a
    float32 ratio each step, so it drifts from the closed form (written out here) about linearly:
    ~3e-5 of the base by step 300 (3.7e-4 by step 1,750, up to 2e-7 per step; the test runs 400
    steps, MindSpore's step() costs ~10 ms on CPU). The same schedule through
    bridge.to_mindspore_scheduler sets the closed form each step: float32 rounding only."""
    from mindspore.experimental.optim import lr_scheduler as S

    n, T, eta = 401, 9, 1e-3
    t = np.arange(n)
    ref = eta + (1.0 - eta) * (1.0 + np.cos(np.pi * (t % (2 * T)) / T)) / 2.0
    o = _xsgd(ms)
    s = S.CosineAnnealingLR(o, T_max=T, eta_min=eta)
    theirs = []
    for _ in range(n):
        theirs.append(_lr(o))
        s.step()
    drift = np.abs(np.asarray(theirs) - ref)
    assert drift[:10].max() < 1e-6 and 2e-5 < drift.max() <= 2.0 ** -22 * n, drift.max()  # 300x float32 rounding
    o = _xsgd(ms)
    ours = bridge.to_mindspore_scheduler(Plan.single(CosineAnnealing(T, eta_min=eta), base=1.0), o)
    got = []
    for _ in range(n):
        got.append(_lr(o))
        ours.step()
    assert np.abs(np.asarray(got) - ref).max() <= 2.0 ** -24 * 2  # float32 rounding of values <= 1


def _mint_sgd_step(ms, lr=0.5):
    """One mint.optim.SGD update of w = 1 with gradient 1: the new w."""
    w = ms.Parameter(ms.Tensor(np.ones(1, np.float32)), name="w")
    opt = ms.mint.optim.SGD([w], lr=lr)
    opt((ms.Tensor(np.ones(1, np.float32)),))
    return float(w.asnumpy()[0])


def test_mint_sgd_pynative_on_cpu_leaves_parameters_unchanged(ms):
    """PyNative (CPU): the in-place update does not reach the Parameter; GRAPH_MODE below does.
    Run in a new interpreter: a graph compiled for the same update by an earlier test is reused."""
    out = run_fresh_mindspore("""
        w = ms.Parameter(ms.Tensor(np.ones(1, np.float32)), name="w")
        opt = ms.mint.optim.SGD([w], lr=0.5)
        opt((ms.Tensor(np.ones(1, np.float32)),))
        print(float(w.asnumpy()[0]))
    """)
    assert float(out.split()[-1]) == 1.0


def test_mint_sgd_graph_mode_on_cpu_updates(ms_graph):
    assert math.isclose(_mint_sgd_step(ms_graph), 0.5, rel_tol=1e-7)
