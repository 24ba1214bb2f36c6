"""MindSpore per-step lists: the convention (element t = update with global_step t) proven
from parameter updates of real nn.SGD / nn.Momentum / nn.Adam in GRAPH_MODE: the applied
updates are compared with the list (tensor) handed to the optimizer. The lists' values are
checked against formulas here and against real torch / OneFlow elsewhere
(test_mindspore_cells.py, test_xfw_py311.py, test_cli.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import bridge
from bridge.ir import (
    Chain,
    Constant,
    CosineAnnealing,
    CosineDecay,
    Cyclic,
    Exponential,
    ExponentialDecay,
    Hold,
    Linear,
    MultiStep,
    NaturalExpDecay,
    OneCycle,
    Plan,
    Polynomial,
    Sequential,
    Shift,
    Step,
    Table,
    WarmRestarts,
    Window,
    Windows,
)

os.environ.setdefault("GLOG_v", "3")
pytestmark = pytest.mark.mindspore

N = 40  # optimizer updates per end-to-end run

SCHEDULES = {
    "constant": Constant(0.25, 5),
    "linear": Linear(0.1, 1.0, 10),
    "step": Step(4, 0.5),
    "multistep": MultiStep((3, 9, 9, 20), 0.5),
    "exponential": Exponential(0.9),
    "polynomial": Polynomial(30, 2.0),
    "cosine": CosineAnnealing(12),
    "cosine_decay": CosineDecay(25, alpha=0.1),
    "warm_restarts": WarmRestarts(5, 2, 0.01),
    "one_cycle": OneCycle(N),
    "cyclic": Cyclic(high=2.0, step_size_up=6, step_size_down=4),
    "exp_decay": ExponentialDecay(0.5, 7),
    "nat_exp": NaturalExpDecay(0.05, 1),
    "table": Table(np.linspace(1.0, 0.1, N)),
    "warmup_cosine": Sequential((Linear(0.1, 1.0, 5), CosineAnnealing(10)), (5,)),
    "chain": Chain((Constant(0.1, 3), Exponential(0.9))),
    "windows": Windows((Window(Linear(0.1, 1.0, 5), 0, 5), Window(CosineAnnealing(6, eta_min=0.01), 1, 7, 5))),
    "hold": Hold(CosineAnnealing(4), 3),
    "shift": Shift(Step(5, 0.7), 3),
}


def _plans():
    return [Plan.single(s, base=0.5) for s in SCHEDULES.values()]


def _model(ms, G):
    from mindspore import Parameter, Tensor, nn, ops

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.ws = ms.ParameterTuple(
                [Parameter(Tensor(np.zeros(1, np.float32)), name=f"w{g}") for g in range(G)])

        def construct(self, x):  # loss = sum_g w_g * x  ->  grad = x
            s = 0.0
            for p in self.ws:
                s = s + ops.reduce_sum(p * x)
            return s

    return Net()


def _run(ms, net, opt, steps, reset):
    """Applied step of every group per update: w is reset to 0 first, so -w is exact."""
    from mindspore import Tensor, nn

    train = nn.TrainOneStepCell(net, opt)
    x = Tensor(np.ones(1, np.float32))
    out = np.empty((steps, len(net.ws)), dtype=np.float32)
    for t in range(steps):
        for p in net.ws:
            p.set_data(Tensor(np.zeros(1, np.float32)))
        reset()
        train(x)
        out[t] = [-float(p.asnumpy()[0]) for p in net.ws]
    return out, train, x


@pytest.fixture(scope="module")
def sgd_run(ms_graph_module):
    """One compiled SGD step drives every schedule, one param group each."""
    from mindspore import nn

    plans = _plans()
    net = _model(ms_graph_module, len(plans))
    lists = [bridge.to_mindspore_list(p, N) for p in plans]
    groups = [{"params": [net.ws[g]], "lr": lst} for g, lst in enumerate(lists)]
    opt = nn.SGD(groups, learning_rate=0.1)
    applied, train, x = _run(ms_graph_module, net, opt, N, lambda: None)
    return lists, applied, train, x


def test_list_is_float64_values_of_the_schedule():
    p = Plan.single(Sequential((Linear(0.1, 1.0, 5), CosineAnnealing(10)), (5,)), base=[0.5, 0.05])
    lst = bridge.to_mindspore_list(p, 30, group=1)
    assert isinstance(lst, list) and len(lst) == 30 and all(isinstance(v, float) for v in lst)
    # group 1 (base 0.05): linear warm-up 0.1 -> 1 over 5 steps, then torch's periodic cosine, T_max 10
    t = np.arange(30)
    want = 0.05 * np.where(t < 5, 0.1 + 0.9 * t / 5, (1 + np.cos(np.pi * (t - 5) / 10)) / 2)
    np.testing.assert_allclose(lst, want, rtol=1e-12, atol=1e-15)


def test_sgd_uses_element_t_at_update_t(sgd_run):
    lists, applied, _, _ = sgd_run
    for g, (name, lst) in enumerate(zip(SCHEDULES, lists)):
        np.testing.assert_array_equal(applied[:, g], np.float32(lst), err_msg=name)


def test_past_the_end_mindspore_raises_gather_out_of_range(sgd_run):
    _, _, train, x = sgd_run
    with pytest.raises(RuntimeError, match="(?i)gather|out of range|index"):
        train(x)


def test_momentum_uses_element_t(ms_graph_module):
    from mindspore import Tensor, nn

    plans = _plans()[:6]
    net = _model(ms_graph_module, len(plans))
    tensors = [bridge.to_mindspore_tensor(p, N) for p in plans]
    groups = [{"params": [net.ws[g]], "lr": tens} for g, tens in enumerate(tensors)]
    opt = nn.Momentum(groups, learning_rate=0.1, momentum=0.9)

    def reset():  # zero the velocity, so the step is exactly lr * grad
        for m in opt.moments:
            m.set_data(Tensor(np.zeros(1, np.float32)))

    applied, _, _ = _run(ms_graph_module, net, opt, N, reset)
    for g, tens in enumerate(tensors):
        np.testing.assert_array_equal(applied[:, g], tens.asnumpy())


def test_adam_uses_element_t(ms_graph_module):
    """Adam with a constant gradient 1: m_t = 1-b1^(t+1), v_t = 1-b2^(t+1) and the bias
    corrections cancel, so the step is lr_t (up to eps and float32 rounding)."""
    from mindspore import nn

    plans = [Plan.single(SCHEDULES[k], base=0.5) for k in ("linear", "step", "cyclic")]
    net = _model(ms_graph_module, len(plans))
    lists = [bridge.to_mindspore_list(p, N) for p in plans]
    groups = [{"params": [net.ws[g]], "lr": lst} for g, lst in enumerate(lists)]
    opt = nn.Adam(groups, learning_rate=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    applied, _, _ = _run(ms_graph_module, net, opt, N, lambda: None)
    for g, lst in enumerate(lists):
        lr = np.asarray(lst)
        np.testing.assert_allclose(applied[:, g], lr, rtol=1e-5)
        assert not np.allclose(applied[1:, g], lr[:-1], rtol=1e-3)  # not shifted by one


def test_tensor_is_float32_and_matches_list(ms_graph_module):
    p = Plan.single(OneCycle(100), base=0.3)
    tens = bridge.to_mindspore_tensor(p, 100)
    assert tens.dtype == ms_graph_module.float32 and tens.shape == (100,)
    np.testing.assert_array_equal(tens.asnumpy(), np.float32(bridge.to_mindspore_list(p, 100)))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, None])
def test_total_steps_is_checked(bad):
    p = Plan.single(Linear(), base=0.1)
    with pytest.raises(bridge.SpecError, match="total_steps"):
        bridge.to_mindspore_list(p, bad)


def test_bad_group_and_field_are_spec_errors():
    p = Plan.single(Linear(), base=0.1)
    with pytest.raises(bridge.SpecError, match="group"):
        bridge.to_mindspore_list(p, 5, group=3)
    with pytest.raises(bridge.SpecError, match="momentum"):
        bridge.to_mindspore_list(p, 5, field="momentum")


def test_millions_of_steps():
    """Two million steps (how fast: benchmarks/run.py's native_list and mindspore cases, not a timed test)."""
    p = Plan.single(Sequential((Linear(0.01, 1.0, 10_000), CosineAnnealing(1_990_000)), (10_000,)), base=0.1)
    lst = bridge.to_mindspore_list(p, 2_000_000)
    assert len(lst) == 2_000_000 and lst[0] == pytest.approx(0.001)
    t = np.array([1, 9_999, 10_000, 1_000_000, 1_999_999])
    want = 0.1 * np.where(t < 10_000, 0.01 + 0.99 * t / 10_000, (1 + np.cos(np.pi * (t - 10_000) / 1_990_000)) / 2)
    np.testing.assert_allclose(np.asarray(lst)[t], want, rtol=1e-12)
