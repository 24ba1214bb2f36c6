"""bridge.testing.assert_same_schedule with real torch / MindSpore objects."""

from __future__ import annotations

import numpy as np
import pytest

import bridge
from bridge import parity
from bridge.ir import CosineAnnealing, Linear, Plan, Sequential
from bridge.testing import assert_same_schedule, schedule_values

WARM_COS = Sequential((Linear(0.1, 1.0, 20), CosineAnnealing(180)), (20,))


def _torch_sched(torch, T_max=180):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    L = torch.optim.lr_scheduler
    return L.SequentialLR(opt, [L.LinearLR(opt, start_factor=0.1, total_iters=20),
                                L.CosineAnnealingLR(opt, T_max=T_max)], milestones=[20])


@pytest.mark.torch
def test_plan_vs_live_torch_scheduler_and_untouched(torch_mod):
    s = _torch_sched(torch_mod)
    assert_same_schedule(Plan.single(WARM_COS, base=0.1), s, steps=200)
    # the user's scheduler and optimizer were not stepped
    assert s.last_epoch == 0 and s.optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
    # values equal a plain stepping of a fresh twin
    twin = _torch_sched(torch_mod)
    real = []
    for _ in range(200):
        real.append(twin.optimizer.param_groups[0]["lr"])
        twin.optimizer.step()
        twin.step()
    assert_same_schedule(s, real, steps=200, rtol=0.0)


@pytest.mark.torch
def test_failure_names_first_divergent_step(torch_mod):
    s = _torch_sched(torch_mod, T_max=170)  # differs once the cosine starts moving
    with pytest.raises(AssertionError) as ei:
        assert_same_schedule(Plan.single(WARM_COS, base=0.1), s, steps=200)
    msg = str(ei.value)
    assert "differs first at step 21" in msg
    assert "<--" in msg and "    21" in msg and "    18" in msg  # a table around it


@pytest.mark.mindspore
def test_mindspore_cell_tensor_and_list(ms):
    plan = Plan.single(WARM_COS, base=0.1)
    cell = bridge.to_mindspore_cell(plan)
    assert_same_schedule(cell, plan, steps=200, contract="mindspore-cell")
    tensor = bridge.to_mindspore_tensor(plan, 200)
    assert_same_schedule(tensor, plan, steps=200, contract="mindspore-list")
    with pytest.raises(bridge.ParityError, match="float64: "):  # float32 arithmetic is not float64
        assert_same_schedule(cell, plan, steps=200)
    from mindspore import nn

    real = nn.cosine_decay_lr(0.0, 0.1, 200, 20, 10)  # MindSpore's own list
    with pytest.raises(AssertionError, match="differs first at step 0"):
        assert_same_schedule(real, plan, steps=200)


@pytest.mark.torch
@pytest.mark.mindspore
def test_torch_scheduler_vs_mindspore_cell(torch_mod, ms):
    s = _torch_sched(torch_mod)
    cell = bridge.to_mindspore_cell(bridge.from_torch(s))
    assert_same_schedule(cell, s, steps=200, contract="mindspore-cell")
    assert_same_schedule(cell, s, steps=200, rtol=parity.MINDSPORE_CELL_RTOL)  # the explicit form


def test_lists_groups_and_bad_inputs():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_same_schedule(a, [[1.0, 2.0], [3.0, 4.0]], steps=2)
    assert_same_schedule([1.0, 1.0], np.ones((2, 3)), steps=2)  # one group vs three
    with pytest.raises(AssertionError, match="fewer than steps=3"):
        assert_same_schedule([1.0, 2.0], [1.0, 2.0, 3.0], steps=3)
    with pytest.raises(bridge.SpecError, match="cannot read a schedule"):
        parity.record(object(), 3)
    with pytest.raises(bridge.SpecError, match="rtol: only with contract='tolerance'"):
        assert_same_schedule([1.0], [1.0], steps=1, contract="mindspore-list", rtol=1e-6)


def test_schedule_values_is_a_deprecated_alias_of_parity_record():
    with pytest.warns(DeprecationWarning, match="use bridge.parity.record"):
        got = schedule_values([0.1, 0.2, 0.3], 2)
    np.testing.assert_array_equal(got, parity.record([0.1, 0.2, 0.3], 2))


def test_default_contract_is_float64_relative_to_the_plan_base():
    """The float64 contract: |a - b| <= 1e-12 * max(|b|, base). A cosine that ends at 0 in one
    framework and at 1e-18 in another is the same schedule; with no base known it is not."""
    plan = Plan.single(CosineAnnealing(2), base=0.1)  # 0.1, 0.05, 0.0
    near_zero = [0.1, 0.05, 1e-18]
    assert_same_schedule(near_zero, plan, steps=3)
    assert_same_schedule(near_zero, [0.1, 0.05, 0.0], steps=3, bases=[0.1])
    with pytest.raises(AssertionError, match="differs first at step 2"):
        assert_same_schedule(near_zero, [0.1, 0.05, 0.0], steps=3)
    with pytest.raises(bridge.ParityError, match=r"float64: \|err\| <= 1e-12\*max\(\|value\|, base\)"):
        assert_same_schedule([0.1, 0.05 + 1e-13], plan, steps=2)


def test_nan_is_never_the_same_schedule():
    """|nan - x| > tol is False: the old check let a NaN through on either side."""
    nan = float("nan")
    for a, b in (([0.1, nan], [0.1, 0.1]), ([0.1, 0.1], [0.1, nan])):
        with pytest.raises(bridge.ParityError, match="differs first at step 1"):
            assert_same_schedule(a, b, steps=2)
        with pytest.raises(bridge.ParityError, match="rtol=0.5, atol=0"):
            assert_same_schedule(a, b, steps=2, rtol=0.5)


def test_pytest_fixture(pytester_or_skip=None):
    from bridge.pytest_plugin import same_schedule

    check = same_schedule.__wrapped__()
    check([0.1, 0.2], [0.1, 0.2], steps=2)
    with pytest.raises(AssertionError, match="step 1"):
        check([0.1, 0.2], [0.1, 0.3], steps=2)
