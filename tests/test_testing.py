"""bridge.testing.assert_same_schedule with real torch / MindSpore objects."""

from __future__ import annotations

import numpy as np
import pytest

import bridge
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
    assert_same_schedule(cell, plan, steps=200, rtol=2e-6)
    tensor = bridge.to_mindspore_tensor(plan, 200)
    assert_same_schedule(tensor, plan, steps=200, rtol=1e-7)
    from mindspore import nn

    real = nn.cosine_decay_lr(0.0, 0.1, 200, 20, 10)  # MindSpore's own list
    with pytest.raises(AssertionError, match="differs first at step 0"):
        assert_same_schedule(real, plan, steps=200)


@pytest.mark.torch
@pytest.mark.mindspore
def test_torch_scheduler_vs_mindspore_cell(torch_mod, ms):
    s = _torch_sched(torch_mod)
    cell = bridge.to_mindspore_cell(bridge.from_torch(s))
    assert_same_schedule(cell, s, steps=200, rtol=2e-6)


def test_lists_groups_and_bad_inputs():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_same_schedule(a, [[1.0, 2.0], [3.0, 4.0]], steps=2)
    assert_same_schedule([1.0, 1.0], np.ones((2, 3)), steps=2)  # one group vs three
    with pytest.raises(AssertionError, match="fewer than steps=3"):
        assert_same_schedule([1.0, 2.0], [1.0, 2.0, 3.0], steps=3)
    with pytest.raises(bridge.SpecError, match="cannot read a schedule"):
        schedule_values(object(), 3)


def test_pytest_fixture(pytester_or_skip=None):
    from bridge.pytest_plugin import same_schedule

    check = same_schedule.__wrapped__()
    check([0.1, 0.2], [0.1, 0.2], steps=2)
    with pytest.raises(AssertionError, match="step 1"):
        check([0.1, 0.2], [0.1, 0.3], steps=2)
