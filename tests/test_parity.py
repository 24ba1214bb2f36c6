"""bridge.parity: the contracts on hand-built trajectories, and record() on real framework objects.

The expected side is written out here (numbers at the edge of each tolerance, closed forms of
the schedules), never taken from sched-bridge's evaluator.
"""

from __future__ import annotations

import math
import warnings
from types import ModuleType

import numpy as np
import pytest

import bridge
from bridge import parity
from bridge.ir import Plan, Step

NAN, INF = float("nan"), float("inf")


def test_constants_are_the_documented_contract() -> None:
    assert parity.FLOAT64_RTOL == 1e-12
    assert parity.MINDSPORE_LIST_DTYPE is np.float32
    assert parity.MINDSPORE_CELL_RTOL == 2e-6 and parity.MINDSPORE_CELL_FLOOR == 1e-6
    assert parity.TRACE_RTOL == 2e-6
    assert set(parity.CONTRACTS) == {"float64", "mindspore-list", "mindspore-cell", "tolerance"}


def test_float64_is_relative_to_max_of_value_and_base() -> None:
    theirs = np.array([[1.0, 0.5], [1e-3, 0.0]])
    bases = [1.0, 0.5]
    # 0.9e-12 * max(|v|, base) passes everywhere, also where the value is 0 or tiny
    near = theirs + 0.9e-12 * np.maximum(np.abs(theirs), bases)
    assert parity.compare(near, theirs, bases).ok
    # 1.1e-12 of it fails, at the first such step and group
    far = theirs.copy()
    far[1, 1] = 1.1e-12 * 0.5
    r = parity.compare(far, theirs, bases)
    assert not r.ok and r.first == (1, 1) and r.n_bad_steps == 1
    # without a base the float64 contract is purely relative: 0.9e-12 at value 1e-3 is too much
    r = parity.compare(near, theirs)
    assert r.first == (1, 0)


def test_nan_on_one_side_fails_every_contract() -> None:
    """An error that is NaN compares False with any tolerance: it must count as a mismatch."""
    ours, theirs = np.array([0.1, NAN, NAN, INF]), np.array([0.1, 0.1, NAN, INF])
    for contract in ("float64", "mindspore-list", "mindspore-cell", "tolerance"):
        r = parity.compare(ours, theirs, 0.1, contract)
        assert r.first == (1, 0), contract
        assert r.bad[:, 0].tolist() == [False, True, False, False], contract
        assert not parity.compare(theirs, ours, 0.1, contract).ok, contract


def test_mindspore_list_is_identity_after_float32_rounding() -> None:
    x = np.array([0.1, 0.3, 1e-5])
    as32 = x.astype(np.float32).astype(np.float64)  # 0.10000000149011612 ...
    assert parity.compare(x, as32, contract="mindspore-list").ok
    one_ulp = as32.copy()
    one_ulp[2] = float(np.nextafter(np.float32(1e-5), np.float32(1.0)))
    r = parity.compare(x, one_ulp, contract="mindspore-list")
    assert r.first == (2, 0)
    assert r.note == "float32 tensor: identical after rounding"


def test_mindspore_cell_is_relative_above_the_floor() -> None:
    base = 0.5
    theirs = np.array([0.5, 0.25, base * 1e-6, base * 0.9e-6])
    ok = theirs * (1 + np.array([1.9e-6, -1.9e-6, 1.9e-6, 0.0]))
    ok[3] = theirs[3] * 1.5  # below 1e-6 * base nothing is required
    assert parity.compare(ok, theirs, base, "mindspore-cell").ok
    bad = theirs * (1 + np.array([0.0, 0.0, 2.1e-6, 0.0]))  # at the floor it still counts
    assert parity.compare(bad, theirs, base, "mindspore-cell").first == (2, 0)
    bad = theirs * (1 + np.array([0.0, -2.1e-6, 0.0, 0.0]))
    assert parity.compare(bad, theirs, base, "mindspore-cell").first == (1, 0)


def test_tolerance_is_symmetric_with_atol() -> None:
    a, b = np.array([1.0, 0.0]), np.array([1.0 + 1.5e-6, 1e-9])
    assert not parity.compare(a, b, contract="tolerance", rtol=1e-6).ok  # 1.5e-6 > 1e-6 * 1.0000015
    assert parity.compare(a, b, contract="tolerance", rtol=2e-6, atol=1e-9).ok
    assert parity.compare(a, b, contract="tolerance", rtol=2e-6).first == (1, 0)  # 1e-9 vs 0: no atol
    m = parity.agree(np.array([1.0, 2.0]), np.array([1.0 + 1e-6, 2.0]), contract="tolerance", rtol=1e-6)
    assert m.tolist() == [True, True]


def test_comparison_row_and_summary() -> None:
    theirs = np.array([[0.1, 0.01], [0.05, 0.005], [0.025, 0.0025]])
    ours = theirs.copy()
    ours[2, 1] = 0.0026
    r = parity.compare(ours, theirs, [0.1, 0.01])
    assert r.first == (2, 1) and r.max_abs == pytest.approx(1e-4) and r.max_rel == pytest.approx(0.04)
    row = r.row("torch")
    assert row == {"framework": "torch", "max_abs": r.max_abs, "max_rel": r.max_rel, "first_divergent": 2,
                   "ok": False, "note": "float64: |err| <= 1e-12*max(|value|, base)"}
    assert r.summary("lr").startswith("lr: differs first at step 2 (group 1): ours 0.0026 vs theirs 0.0025")
    assert parity.compare(theirs, theirs, [0.1, 0.01]).summary() == \
        "same over 3 steps (float64: |err| <= 1e-12*max(|value|, base))"
    assert parity.contract_for("mindspore-cell") == "mindspore-cell"
    assert parity.contract_for("oneflow") == "float64"


def test_bad_arguments_name_the_field() -> None:
    x = np.zeros((3, 2))
    with pytest.raises(bridge.SpecError, match="contract: must be one of"):
        parity.compare(x, x, contract="close-enough")
    with pytest.raises(bridge.SpecError, match="rtol: only the 'tolerance' contract"):
        parity.compare(x, x, contract="float64", rtol=1e-6)
    with pytest.raises(bridge.SpecError, match=r"theirs: must have the shape of ours \(3, 2\)"):
        parity.compare(x, np.zeros((3, 1)))
    with pytest.raises(bridge.SpecError, match="bases: must be one base or one per group"):
        parity.compare(x, x, [1.0, 2.0, 3.0])
    with pytest.raises(bridge.SpecError, match="rtol: must be a finite number"):
        parity.compare(x, x, contract="tolerance", rtol=-1.0)
    with pytest.raises(bridge.SpecError, match="steps: must be a whole number"):
        parity.record([0.1], 1.5)  # type: ignore[arg-type]
    with pytest.raises(bridge.SpecError, match="cannot read a schedule from a object"):
        parity.record(object(), 3)


def test_record_lists_and_plans() -> None:
    assert parity.record([0.1, 0.2, 0.3], 2).tolist() == [[0.1], [0.2]]
    assert parity.record(np.ones((4, 3)), 4).shape == (4, 3)
    with pytest.raises(AssertionError, match="fewer than steps=3"):
        parity.record([0.1, 0.2], 3)
    plan = Plan.single(Step(2, 0.5), base=0.1)
    want = [0.1 * 0.5 ** (t // 2) for t in range(6)]
    np.testing.assert_array_equal(parity.record(plan, 6)[:, 0], want)


# ---------------------------------------------------------------------------
# record() on real framework objects
# ---------------------------------------------------------------------------


@pytest.mark.torch
def test_record_torch_scheduler_and_subclass_untouched(torch_mod: ModuleType) -> None:
    import torch

    class MyExp(torch.optim.lr_scheduler.ExponentialLR):  # detected through its MRO
        pass

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    s = MyExp(opt, gamma=0.9)
    got = parity.record(s, 50)
    want = np.array([0.1 * 0.9 ** t for t in range(50)])[:, None]
    assert parity.compare(got, want, 0.1).ok
    assert s.last_epoch == 0 and opt.param_groups[0]["lr"] == 0.1  # a copy was stepped
    # a torch Tensor of per-step values is an array, not a scheduler
    np.testing.assert_array_equal(parity.record(torch.tensor([0.5, 0.25], dtype=torch.float64), 2), [[0.5], [0.25]])


@pytest.mark.mmengine
def test_record_mmengine_scheduler(mmengine_mod: ModuleType) -> None:
    import torch
    from mmengine.optim.scheduler import LinearLR

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = LinearLR(opt, start_factor=0.1, by_epoch=False, begin=0, end=5)
        got = parity.record(s, 8)
    # MMEngine's LinearLR: total_iters = end - begin - 1 = 4 (docs/traps.md)
    want = np.array([0.1 * (0.1 + 0.9 * min(t, 4) / 4) for t in range(8)])[:, None]
    r = parity.compare(got, want, 0.1)
    assert r.ok, r.summary()
    assert s.last_step == 0 and opt.param_groups[0]["lr"] == pytest.approx(0.01)


@pytest.mark.oneflow
def test_record_oneflow_restores_the_scheduler(flow: ModuleType) -> None:
    opt = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=0.1)
    s = flow.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    got = parity.record(s, 10)
    want = np.array([0.1 * 0.5 ** (t // 3) for t in range(10)])[:, None]
    assert parity.compare(got, want, 0.1).ok
    assert s.last_step == 0 and opt.param_groups[0]["lr"] == pytest.approx(0.1)
    got2 = parity.record(s, 10)  # same again: nothing leaked from the first recording
    np.testing.assert_array_equal(got2, got)


@pytest.mark.mindspore
def test_record_mindspore_cell_and_tensor(ms: ModuleType) -> None:
    from mindspore import nn

    cell = nn.CosineDecayLR(0.0, 0.1, 10)  # MindSpore's own cell, float32 arithmetic, clamped past 10
    got = parity.record(cell, 15)
    want = np.array([0.05 * (1 + math.cos(math.pi * min(t, 10) / 10)) for t in range(15)])[:, None]
    assert parity.compare(got, want, 0.1, "mindspore-cell").ok
    assert not parity.compare(got, want, 0.1, "float64").ok  # float32 arithmetic is not float64
    lst = ms.Tensor(np.array([0.1, 0.05, 0.025], dtype=np.float32))
    assert parity.compare(parity.record(lst, 3), [0.1, 0.05, 0.025], contract="mindspore-list").ok


@pytest.mark.torch
def test_framework_values_torch_follow_the_closed_form(torch_mod: ModuleType) -> None:
    """framework_values (the CLI's parity rows) lowers and steps real torch."""
    plan = Plan.single(Step(3, 0.5), base=0.2)
    got = parity.framework_values(plan, "torch", 12)
    assert list(got) == ["torch"]
    want = np.array([0.2 * 0.5 ** (t // 3) for t in range(12)])[:, None]
    assert parity.compare(got["torch"], want, 0.2).ok
    with pytest.raises(bridge.SpecError, match="--frameworks: expected some of torch, mindspore, oneflow"):
        parity.framework_values(plan, "jax", 3)


@pytest.mark.mmengine
def test_mmengine_values_reads_each_beta(mmengine_mod: ModuleType) -> None:
    """MMEngine's own schedulers on Adam: a momentum scheduler moves betas[0]; betas[1] stays the
    optimizer's (each field is read as named, not betas[0] for both)."""
    cfg = [dict(type="CosineAnnealingMomentum", T_max=10, eta_min=0.85, by_epoch=False, begin=0, end=10)]
    plan = bridge.from_mmengine(cfg, bases={"lr": [1e-3], "betas[0]": [0.9], "betas[1]": [0.999]},
                                epoch_length=10, max_epochs=1)
    b1 = parity.mmengine_values(cfg, plan, 10, "betas[0]", max_epochs=1)[:, 0]
    b2 = parity.mmengine_values(cfg, plan, 10, "betas[1]", max_epochs=1)[:, 0]
    t = np.arange(10)
    np.testing.assert_allclose(b1, 0.85 + (0.9 - 0.85) * (1 + np.cos(np.pi * t / 10)) / 2, rtol=1e-12)
    np.testing.assert_array_equal(b2, np.full(10, 0.999))
