"""from_mindspore: plans read from MindSpore reproduce MindSpore's own values."""

from __future__ import annotations

import os

import numpy as np
import pytest

import bridge
from bridge import parity
from bridge.frameworks import mindspore_nn as bmn
from bridge.ir import Plan, Table

os.environ.setdefault("GLOG_v", "3")
pytestmark = pytest.mark.mindspore

FUNCTIONS = [
    ("piecewise_constant_lr", dict(milestone=[2, 5, 6], learning_rates=[0.1, 0.05, 0.01])),
    ("piecewise_constant_lr", dict(milestone=[3, 3, 10], learning_rates=[0.1, 0.05, 0.01])),
    ("exponential_decay_lr", dict(learning_rate=0.1, decay_rate=0.9, total_step=50, step_per_epoch=3,
                                  decay_epoch=2)),
    ("exponential_decay_lr", dict(learning_rate=0.1, decay_rate=0.9, total_step=50, step_per_epoch=3,
                                  decay_epoch=2, is_stair=True)),
    ("natural_exp_decay_lr", dict(learning_rate=0.1, decay_rate=0.2, total_step=50, step_per_epoch=2,
                                  decay_epoch=4)),
    ("natural_exp_decay_lr", dict(learning_rate=0.1, decay_rate=0.2, total_step=50, step_per_epoch=2,
                                  decay_epoch=4, is_stair=True)),
    ("inverse_decay_lr", dict(learning_rate=0.1, decay_rate=0.5, total_step=40, step_per_epoch=1, decay_epoch=3)),
    ("inverse_decay_lr", dict(learning_rate=0.1, decay_rate=0.5, total_step=40, step_per_epoch=2, decay_epoch=3,
                              is_stair=True)),
    ("cosine_decay_lr", dict(min_lr=0.0, max_lr=1.0, total_step=12, step_per_epoch=2, decay_epoch=4)),
    ("cosine_decay_lr", dict(min_lr=0.01, max_lr=0.1, total_step=100, step_per_epoch=3, decay_epoch=20)),
    ("polynomial_decay_lr", dict(learning_rate=0.1, end_learning_rate=0.01, total_step=60, step_per_epoch=2,
                                 decay_epoch=10, power=2.0)),
    ("polynomial_decay_lr", dict(learning_rate=1.0, end_learning_rate=0.0, total_step=12, step_per_epoch=2,
                                 decay_epoch=2, power=1.0, update_decay_epoch=True)),
    ("polynomial_decay_lr", dict(learning_rate=0.5, end_learning_rate=0.05, total_step=80, step_per_epoch=1,
                                 decay_epoch=7, power=0.5, update_decay_epoch=True)),
    ("warmup_lr", dict(learning_rate=1.0, total_step=12, step_per_epoch=2, warmup_epoch=3)),
    ("warmup_lr", dict(learning_rate=0.1, total_step=30, step_per_epoch=1, warmup_epoch=7)),
]


@pytest.mark.parametrize("name,kw", FUNCTIONS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FUNCTIONS)])
def test_dynamic_lr_functions(ms, name, kw):
    from mindspore import nn

    theirs = np.array(getattr(nn, name)(**kw))
    plan = bridge.from_mindspore(name, **kw)
    assert plan.total_steps == len(theirs)
    r = parity.compare(plan.values(len(theirs)), theirs, plan.bases())  # Python floats: float64
    assert r.ok, r.summary(name)
    # positional arguments and the function object itself work too
    plan2 = bridge.from_mindspore(getattr(nn, name), *kw.values())
    r = parity.compare(plan2.values(len(theirs)), theirs, plan.bases())
    assert r.ok, r.summary(f"{name} (positional)")


def test_traps_documented_values(ms):
    c = bridge.from_mindspore("cosine_decay_lr", min_lr=0.0, max_lr=1.0, total_step=12, step_per_epoch=2,
                              decay_epoch=4)
    np.testing.assert_allclose(c.values(12)[:, 0], [1, 1, .853553, .853553, .5, .5, .146447, .146447, 0, 0, 0, 0],
                               atol=1e-6)
    w = bridge.from_mindspore("warmup_lr", 1.0, 12, 2, 3)
    assert w.values(3)[0, 0] == 0.0  # warm-up starts at 0


def test_function_argument_errors():
    with pytest.raises(bridge.SpecError, match="did you mean 'cosine_decay_lr'"):
        bridge.from_mindspore("cosine_decay")
    with pytest.raises(bridge.SpecError, match="step_per_epoch"):
        bridge.from_mindspore("warmup_lr", 1.0, 12, 0, 3)
    with pytest.raises(bridge.SpecError, match="decay_epoch.*is required"):
        bridge.from_mindspore("cosine_decay_lr", 0.0, 1.0, 12, 2)
    with pytest.raises(bridge.SpecError, match="max_lr"):
        bridge.from_mindspore("cosine_decay_lr", 1.0, 0.5, 12, 2, 4)
    with pytest.raises(bridge.SpecError, match="cumulative"):
        bridge.from_mindspore("piecewise_constant_lr", [5, 2], [0.1, 0.01])


CELLS = [
    ("ExponentialDecayLR", (0.1, 0.9, 4)), ("ExponentialDecayLR", (0.1, 0.9, 4, True)),
    ("NaturalExpDecayLR", (0.1, 0.1, 4)), ("NaturalExpDecayLR", (0.1, 0.1, 4, True)),
    ("InverseDecayLR", (0.1, 0.5, 3)), ("InverseDecayLR", (0.1, 0.5, 3, True)),
    ("CosineDecayLR", (0.01, 0.1, 50)), ("PolynomialDecayLR", (0.1, 0.01, 40, 0.5)),
    ("PolynomialDecayLR", (0.1, 0.01, 15, 2.0, True)), ("WarmUpLR", (0.1, 25)),
]


def test_learning_rate_schedule_cells(ms):
    """Each real cell evaluated in GRAPH_MODE (one graph for all) against the imported plan."""
    import mindspore.nn.learning_rate_schedule as lrs

    steps = 120
    cells = [getattr(lrs, cls)(*args) for cls, args in CELLS]
    old = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        outs = bmn.cell_classes()["MultiOut"](cells)(ms.Tensor(np.arange(steps, dtype=np.int32)))
    finally:
        ms.set_context(mode=old)
    for (cls, args), cell, out in zip(CELLS, cells, outs):
        plan = bridge.from_mindspore(cell)
        ref = out.asnumpy().astype(np.float64)
        r = parity.compare(plan.values(steps)[:, 0], ref, plan.bases(), "mindspore-cell")  # theirs: float32
        assert r.ok, r.summary(f"{cls}{args}")


def test_natural_exp_decay_cell_ignores_decay_steps(ms):
    import mindspore.nn.learning_rate_schedule as lrs

    plan = bridge.from_mindspore(lrs.NaturalExpDecayLR(0.1, 0.1, 4))
    assert plan.value(8)[0] == pytest.approx(0.1 * np.exp(-0.8))


def _exp_run(ms, make, steps, groups=(0.1,)):
    from mindspore import Parameter, Tensor
    from mindspore.experimental import optim

    params = [{"params": [Parameter(Tensor(np.zeros(1, np.float32)), name=f"e{i}")], "lr": lr}
              for i, lr in enumerate(groups)]
    opt = optim.SGD(params, lr=groups[0])
    sch = make(opt)
    plan = bridge.from_mindspore(sch)
    rec = []
    for _ in range(steps):
        rec.append([float(g["lr"].asnumpy()) for g in opt.param_groups])
        sch.step()
    return plan, np.array(rec)


EXPERIMENTAL = {
    "StepLR": lambda s, o: s.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[3, 7, 7], gamma=0.5),
    "LinearLR": lambda s, o: s.LinearLR(o, start_factor=0.1, total_iters=6),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda s, o: s.PolynomialLR(o, total_iters=10, power=2.0),
    "ConstantLR": lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=5),
    "CosineAnnealingLR": lambda s, o: s.CosineAnnealingLR(o, T_max=6, eta_min=0.001),
    "LambdaLR": lambda s, o: s.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda s, o: s.MultiplicativeLR(o, lambda e: 0.95),
    "CyclicLR": lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=3,
                                        mode="triangular2"),
    "CosineAnnealingWarmRestarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    "SequentialLR": lambda s, o: s.SequentialLR(o, [s.LinearLR(o, start_factor=0.1, total_iters=5),
                                                    s.CosineAnnealingLR(o, T_max=10)], milestones=[5]),
}


@pytest.mark.parametrize("name", list(EXPERIMENTAL))
def test_experimental_schedulers(ms, name):
    from mindspore.experimental.optim import lr_scheduler as s

    steps = 25
    groups = (0.1,) if name in ("CyclicLR",) else (0.1, 0.02)
    plan, rec = _exp_run(ms, lambda o: EXPERIMENTAL[name](s, o), steps, groups)
    ours = plan.values(steps)
    # MindSpore computes these in float32
    np.testing.assert_allclose(ours, rec, rtol=3e-6, atol=1e-8)


def test_bare_list_becomes_table(ms):
    from mindspore import Tensor, nn

    lst = nn.cosine_decay_lr(0.0, 0.1, 20, 2, 5)
    plan = bridge.from_mindspore(lst)
    assert isinstance(plan.schedule(), Table) and plan.total_steps == 20
    np.testing.assert_array_equal(plan.values(20)[:, 0], lst)
    with pytest.raises(bridge.SpecError, match="20 values"):
        plan.values(21)
    t = bridge.from_mindspore(Tensor(np.float32(lst)))
    np.testing.assert_array_equal(t.values(20)[:, 0], np.float32(lst))


def test_round_trip_of_bridge_cells(ms):
    from bridge.ir import CosineAnnealing

    p = Plan.single(CosineAnnealing(10), base=0.1)
    assert bridge.from_mindspore(bridge.to_mindspore_cell(p)) is p


def test_unknown_object_is_a_spec_error():
    with pytest.raises(bridge.SpecError, match="expected a dynamic-lr function name"):
        bridge.from_mindspore(object())


# -- a user's own LearningRateSchedule --------------------------------------------------------


def _custom_cells(ms):
    """Two user cells as people write them: one vectorisable, one with Python control flow on the step."""
    from mindspore import ops
    from mindspore.nn.learning_rate_schedule import LearningRateSchedule

    class WarmupExp(LearningRateSchedule):  # elementwise: takes a Tensor of steps
        def __init__(self, lr, warmup, rate):
            super().__init__()
            self.lr, self.warmup, self.rate = lr, float(warmup), rate

        def construct(self, global_step):
            s = ops.cast(global_step, ms.float32)
            return self.lr * ops.minimum(s / self.warmup, 1.0) * ops.exp(-self.rate * s)

    class Stepped(LearningRateSchedule):  # `if` on the step: one step at a time only
        def __init__(self, lr, boundary):
            super().__init__()
            self.lr, self.boundary = lr, boundary

        def construct(self, global_step):
            s = ops.cast(global_step, ms.float32)
            if global_step < self.boundary:
                return self.lr * (s + 1.0) / self.boundary
            return self.lr * ops.cos(s * 0.001)

    return WarmupExp, Stepped


def _called(ms, cell, n):
    """What an optimizer gets at global_step 0..n-1 (an int32 Tensor of shape (1,), reshaped)."""
    return np.array([cell(ms.Tensor(np.array([t], np.int32))).asnumpy().reshape(()) for t in range(n)])


def test_custom_cell_vectorisable(ms):
    WarmupExp, _ = _custom_cells(ms)
    cell = WarmupExp(0.1, 500, 1e-4)
    n = 2000
    plan = bridge.from_mindspore(cell, total_steps=n)
    theirs = _called(ms, cell, n)
    assert theirs.dtype == np.float32 and isinstance(plan.schedule(), Table) and plan.total_steps == n
    np.testing.assert_array_equal(plan.values(n)[:, 0], theirs.astype(np.float64))  # exactly, every step
    assert "table" in plan.source and "float32" in plan.source and "on Tensors of steps" in plan.source
    with pytest.raises(bridge.SpecError):  # not evaluated past total_steps: no guess there
        plan.values(n + 1)
    # a production horizon in chunks (a padded last one), checked at sampled steps
    big = bridge.from_mindspore(cell, total_steps=1_000_003)
    for t in (0, 1, 65535, 65536, 499_999, 1_000_002):
        assert big.value(t)[0] == float(cell(ms.Tensor(np.array([t], np.int32))).asnumpy()[0])


def test_custom_cell_with_python_control_flow(ms, capfd):
    _, Stepped = _custom_cells(ms)
    cell = Stepped(0.05, 300)
    n = 800
    plan = bridge.from_mindspore(cell, total_steps=n)
    err = capfd.readouterr().err
    assert "step by step" in plan.source and "Stepped" in err and f"{n}/{n}" in err.replace(" ", "")
    np.testing.assert_array_equal(plan.values(n)[:, 0], _called(ms, cell, n).astype(np.float64))


def test_custom_cell_graph_mode(ms_graph, capfd):
    ms = ms_graph
    WarmupExp, Stepped = _custom_cells(ms)
    for cell, n in ((WarmupExp(0.2, 64, 3e-4), 2500), (Stepped(0.05, 40), 300)):
        plan = bridge.from_mindspore(cell, total_steps=n, progress=False)
        np.testing.assert_array_equal(plan.values(n)[:, 0], _called(ms, cell, n).astype(np.float64))
    assert "step by step" in plan.source  # the second one cannot take a Tensor of steps in a graph either
    assert "ERROR" not in capfd.readouterr().err  # the failed compile of that attempt is not shown


def test_custom_cell_refusal_advice_works_when_followed(ms):
    WarmupExp, _ = _custom_cells(ms)
    cell = WarmupExp(0.1, 10, 0.0)
    with pytest.raises(bridge.SpecError, match="total_steps") as e:
        bridge.from_mindspore(cell)
    advice = "from_mindspore(cell, total_steps=N)"
    assert advice in str(e.value)
    N = 40
    plan = eval("bridge." + advice, {"bridge": bridge, "cell": cell, "N": N})  # do what it says
    np.testing.assert_array_equal(plan.values(N)[:, 0], _called(ms, cell, N).astype(np.float64))
    # the table lowers like any plan: MindSpore's own list of it is the cell's values
    np.testing.assert_array_equal(np.float32(bridge.to_mindspore_list(plan, N)), _called(ms, cell, N))


def test_custom_cell_progress_bar_without_tqdm(ms, capfd, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)  # not installed: the plain bar on stderr
    _, Stepped = _custom_cells(ms)
    cell = Stepped(0.05, 30)
    plan = bridge.from_mindspore(cell, total_steps=120)
    err = capfd.readouterr().err
    assert "evaluating Stepped step by step: 120/120 steps (100%)" in err
    np.testing.assert_array_equal(plan.values(120)[:, 0], _called(ms, cell, 120).astype(np.float64))
