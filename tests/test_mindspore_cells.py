"""MindSpore LearningRateSchedule cells lowered from the IR, run by real MindSpore in GRAPH_MODE.

Compilations are shared: one graph evaluates every cell at once (MultiOut), one SGD step
drives cells as group lrs, one Momentum step drives a weight-decay cell.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest
import test_mindspore_cells_horizon as horizon
from _helpers import trace

import bridge
from bridge import parity
from bridge.frameworks import mindspore as bm
from bridge.frameworks import mindspore_nn as bmn
from bridge.ir import (
    Chain,
    CosineAnnealing,
    CosineDecay,
    Field,
    Group,
    InverseTimeDecay,
    Lambda,
    Linear,
    MultiStep,
    Noam,
    OneCycle,
    OneCycleMomentum,
    PiecewiseConstant,
    Plan,
    Polynomial,
    Sequential,
    Shift,
    Table,
)
from bridge.parity import MINDSPORE_CELL_FLOOR, MINDSPORE_CELL_RTOL

os.environ.setdefault("GLOG_v", "3")
pytestmark = pytest.mark.mindspore

N = 400
BASE = 0.5

# Each kind with its expected values written out in float64: the horizon test's cases (same node,
# formula from tests/test_mindspore_cells_horizon.py) or a formula here; never bridge's evaluator.
H = horizon.CASES


def _chain_linear_cosine_torch(t, base, start, iters, T, eta):
    """torch ChainedScheduler([LinearLR(start, total_iters=iters), CosineAnnealingLR(T, eta)]): each
    step() updates the group's lr in place, LinearLR first, by their chainable get_lr (checked bit
    for bit against torch 2.13). Values at steps 0..max(t)."""
    lr, out = base * start, [base * start]
    for k in range(1, int(np.max(t)) + 1):
        if k <= iters:
            lr *= 1.0 + (1.0 - start) / (iters * start + (k - 1) * (1.0 - start))
        if (k - 1 - T) % (2 * T) == 0:
            lr = lr + (base - eta) * (1 - math.cos(math.pi / T)) / 2
        else:
            lr = (1 + math.cos(math.pi * k / T)) / (1 + math.cos(math.pi * (k - 1) / T)) * (lr - eta) + eta
        out.append(lr)
    return np.asarray(out)[t]


KINDS = {  # name: (node, expected value at steps t)
    "constant": H["constant"][:2], "linear": H["linear"][:2],
    "linear_decay": (Linear(1.0, 0.0, 50), lambda t: BASE * horizon.f_linear(t, 1.0, 0.0, 50)),
    "step": H["step"][:2],
    "multistep": (MultiStep((10, 30, 30, 100), 0.3),
                  lambda t: BASE * 0.3 ** np.searchsorted([10, 30, 30, 100], t, side="right").astype(np.float64)),
    "exponential": H["exponential"][:2], "polynomial": H["polynomial"][:2],
    "polynomial_cycle": H["polynomial_cycle"][:2], "cosine": H["cosine"][:2], "cosine_ratio": H["cosine_ratio"][:2],
    "cosine_decay": H["cosine_decay"][:2],
    "cosine_decay_eta": (CosineDecay(150, eta_min=0.01), lambda t: horizon.f_cos_decay(t, 150, 0.01, BASE)),
    "warm_restarts": H["warm_restarts_x2_decay"][:2], "warm_restarts1": H["warm_restarts_limit5"][:2],
    "cosine_restart": H["cosine_restart"][:2],
    "one_cycle": H["one_cycle"][:2],  # OneCycle(400) = OneCycle(N)
    "one_cycle3": (OneCycle(N, max_lr=2.0, three_phase=True, anneal="linear"),
                   lambda t: horizon.f_one_cycle(t, N, 2.0, 0.3, "linear", three=True)),
    "one_cycle_momentum": (OneCycleMomentum(N), lambda t: horizon.f_one_cycle_momentum(t, N)),
    "cyclic2": H["cyclic2"][:2], "cyclic_exp": H["cyclic_exp_inverted"][:2],
    "exp_decay": H["exp_decay"][:2], "exp_decay_stair": H["exp_decay_stair"][:2], "nat_exp": H["nat_exp"][:2],
    "nat_exp_stair": H["nat_exp_stair"][:2], "inverse_time": H["inverse_time"][:2],
    "piecewise": (PiecewiseConstant((50, 120), (1.0, 0.3, 0.05), relative=True),
                  lambda t: BASE * np.asarray([1.0, 0.3, 0.05])[np.searchsorted([50, 120], t, side="right")]),
    "piecewise_incl": H["piecewise_incl"][:2],
    "inverse_sqrt": H["inverse_sqrt"][:2], "noam": (Noam(512, 40), lambda t: BASE * horizon.f_noam(t, 512, 40, 1)),
    "wsd": H["wsd"][:2], "wsd2": H["wsd2"][:2],
    "table": H["table"][:2],
    # compositions
    "warmup_cosine": H["sequential"][:2],  # Linear(0.1, 1.0, 20) then CosineAnnealing(N - 20)
    "sequential3": H["sequential3_oneflow"][:2],
    "chain": H["chain_product"][:2],
    # within T_max torch's chained cosine is the product of the two closed forms
    "chain_cosine": (Chain((Linear(0.1, 1.0, 20), CosineAnnealing(N))),
                     lambda t: BASE * horizon.f_linear(t, 0.1, 1.0, 20) * horizon.half_cos(t, N)),
    "chain_nested": H["chain_nested"][:2],
    "chain_table": (Chain((Linear(0.1, 1.0, 20), CosineAnnealing(100, eta_min=0.1))),
                    lambda t: _chain_linear_cosine_torch(t, BASE, 0.1, 20, 100, 0.1)),
    "windows": H["windows"][:2], "windows1": H["window_affine"][:2],
    "hold": H["hold"][:2],
    "shift": (Shift(CosineAnnealing(300), 50), lambda t: horizon.f_cos(t + 50, 300, 0.0, BASE)),
    "polynomial_update": H["polynomial_update"][:2],
}
NATIVE = {  # MindSpore's own cells where they meet the contract (at every int32 step:
    # tests/test_mindspore_cells_horizon.py); their formulas (mindspore/nn/learning_rate_schedule.py)
    "native_warmup": (Linear(0.0, 1.0, 60), "WarmUpLR", lambda t: BASE * np.minimum(t, 60) / 60),
    "native_inv": (InverseTimeDecay(0.2, 10), "InverseDecayLR", lambda t: BASE / (1 + 0.2 * t / 10)),
    "native_cos": (CosineDecay(150, alpha=0.2), "CosineDecayLR", lambda t: horizon.f_cos_decay(t, 150, 0.2 * BASE, BASE)),
    "native_poly": (Polynomial(100, 1.0, 0.1), "PolynomialDecayLR", lambda t: horizon.f_poly(t, 100, 1.0, 0.1, BASE)),
}
EXPECTED = {**{k: fn for k, (_, fn) in KINDS.items()}, **{k: fn for k, (_, _, fn) in NATIVE.items()}}
STEPS = np.arange(N, dtype=np.int64)


def _close(got, ref, base=BASE):
    got = np.asarray(got, dtype=np.float64).reshape(ref.shape)
    m = np.abs(ref) >= MINDSPORE_CELL_FLOOR * base
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
    return float(rel[m].max()) if m.any() else 0.0


@pytest.fixture(scope="module")
def evaluated(ms_graph_module):
    """Every cell evaluated on Tensor(arange(N), int32) in one compiled graph."""
    names, plans, cells = [], [], []
    with warnings.catch_warnings():  # chain_cosine, chain_table: exact only over N steps (they say so)
        warnings.simplefilter("ignore", bm.MindSporePrecisionWarning)
        for k, (nd, _) in KINDS.items():
            p = Plan.single(nd, base=BASE, total_steps=N)
            names.append(k)
            plans.append(p)
            cells.append(bridge.to_mindspore_cell(p, native=False))
        for k, (nd, _, _) in NATIVE.items():
            p = Plan.single(nd, base=BASE, total_steps=N)
            names.append(k)
            plans.append(p)
            cells.append(bridge.to_mindspore_cell(p))
    multi = bmn.cell_classes()["MultiOut"](cells)
    outs = multi(ms_graph_module.Tensor(np.arange(N, dtype=np.int32)))
    return names, plans, cells, multi, [o.asnumpy() for o in outs]


def test_every_kind_and_composition_within_2e6(evaluated):
    names, plans, _, _, outs = evaluated
    errs = {k: _close(o, EXPECTED[k](STEPS)) for k, o in zip(names, outs)}
    bad = {k: e for k, e in errs.items() if e > MINDSPORE_CELL_RTOL}
    assert not bad, bad


def test_native_cells_are_mindspores_own(evaluated, ms_graph_module):
    names, _, cells, _, _ = evaluated
    for k, c in zip(names, cells):
        if k in NATIVE:
            assert type(c).__name__ == NATIVE[k][1]
            assert type(c).__module__.startswith("mindspore.nn")
    lrs = __import__("mindspore.nn.learning_rate_schedule", fromlist=["x"])
    assert all(isinstance(c, lrs.LearningRateSchedule) for c in cells)


def test_scalar_int32_step_calls(evaluated, ms_graph_module):
    """The optimizer path: the cell called on a single int32 step (0-d and shape (1,))."""
    names, plans, _, multi, _ = evaluated
    for t in (0, 19, 20, 137, 399):
        outs = multi(ms_graph_module.Tensor(t, ms_graph_module.int32))
        for k, o in zip(names, outs):
            ref = float(EXPECTED[k](np.array([t]))[0])
            assert abs(float(o.asnumpy()) - ref) <= MINDSPORE_CELL_RTOL * max(abs(ref), MINDSPORE_CELL_FLOOR * BASE), (k, t)


def test_cells_as_group_lrs_drive_sgd(ms_graph_module):
    """End to end: each group's lr is a cell; the applied steps follow the plan (float32)."""
    from mindspore import Parameter, Tensor, nn, ops

    picks = ["warmup_cosine", "chain", "windows", "hold", "multistep", "one_cycle", "table"]
    plans = [Plan.single(KINDS[k][0], base=BASE, total_steps=N) for k in picks]

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.ws = ms_graph_module.ParameterTuple([Parameter(Tensor(np.zeros(1, np.float32)), name=f"c{g}")
                                          for g in range(len(plans))])

        def construct(self, x):
            s = 0.0
            for p in self.ws:
                s = s + ops.reduce_sum(p * x)
            return s

    net = Net()
    gp = bridge.to_mindspore_group_params(Plan(tuple(p.groups[0] for p in plans), total_steps=N),
                                          [[w] for w in net.ws], lr_as="cell")
    opt = nn.SGD(gp, learning_rate=0.1)
    train = nn.TrainOneStepCell(net, opt)
    x = Tensor(np.ones(1, np.float32))
    steps = 60
    applied = np.empty((steps, len(plans)))
    for t in range(steps):
        for w in net.ws:
            w.set_data(Tensor(np.zeros(1, np.float32)))
        train(x)
        applied[t] = [-float(w.asnumpy()[0]) for w in net.ws]
    for g, k in enumerate(picks):
        assert _close(applied[:, g], EXPECTED[k](np.arange(steps))) <= MINDSPORE_CELL_RTOL, k


def test_weight_decay_cell_with_momentum_and_sgd_refusal(ms_graph_module):
    from mindspore import Parameter, Tensor, nn, ops

    wd_node = Sequential((Linear(0.1, 1.0, 5), CosineAnnealing(20)), (5,))
    plan = Plan((Group({"lr": Field(1.0), "weight_decay": Field(0.01, wd_node)}),), total_steps=30)

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(Tensor(np.ones(1, np.float32)), name="wd_w")

        def construct(self, x):
            return ops.reduce_sum(self.w * x)

    net = Net()
    gp = bridge.to_mindspore_group_params(plan, [[net.w]], lr_as="cell", optimizer="Momentum")
    assert isinstance(gp[0]["weight_decay"], bmn.cell_classes()["Schedule"])
    opt = nn.Momentum(gp, learning_rate=1.0, momentum=0.9)
    train = nn.TrainOneStepCell(net, opt)
    x = Tensor(np.zeros(1, np.float32))  # grad 0: the step is lr * wd * w = wd
    got = []
    for _ in range(25):
        net.w.set_data(Tensor(np.ones(1, np.float32)))
        for m in opt.moments:
            m.set_data(Tensor(np.zeros(1, np.float32)))
        train(x)
        got.append(1.0 - float(net.w.asnumpy()[0]))
    t = np.arange(25)  # 0.01 * (linear warm-up 0.1 -> 1 over 5 steps, then torch's cosine, T_max 20)
    wd = 0.01 * np.where(t < 5, horizon.f_linear(t, 0.1, 1.0, 5), horizon.half_cos(t - 5, 20))
    np.testing.assert_allclose(got, wd, atol=1.5e-7)

    with pytest.raises(bridge.UnsupportedError, match="nn.SGD.*nn.Momentum"):
        bridge.to_mindspore_group_params(plan, [[net.w]], lr_as="cell", optimizer=nn.SGD)
    with pytest.raises(TypeError, match="dynamic weight decay"):  # what MindSpore itself does
        nn.SGD(gp, learning_rate=1.0)


def test_mixed_static_and_dynamic_group_lr_trap(ms_graph_module):
    """MindSpore wraps a static group lr as lr+1-1 when another group is dynamic (0.05 -> 0.04999995);
    to_mindspore_group_params emits the static group as a constant list instead."""
    from mindspore import Parameter, Tensor, nn, ops

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.a = Parameter(Tensor(np.zeros(1, np.float32)), name="mix_a")
            self.b = Parameter(Tensor(np.zeros(1, np.float32)), name="mix_b")

        def construct(self, x):
            return ops.reduce_sum(self.a * x) + ops.reduce_sum(self.b * x)

    plan = Plan((Group({"lr": Field(0.05)}), Group({"lr": Field(0.1, Linear(0.1, 1.0, 4))})))
    x = Tensor(np.ones(1, np.float32))

    def first_step(gp):
        net = Net()
        for d in gp:
            d["params"] = [net.a] if d["params"] == ["a"] else [net.b]
        train = nn.TrainOneStepCell(net, nn.SGD(gp, learning_rate=0.1))
        train(x)
        return -float(net.a.asnumpy()[0])

    naive = [{"params": ["a"], "lr": 0.05}, {"params": ["b"], "lr": bridge.to_mindspore_list(plan, 8, 1)}]
    assert bm.mixed_lr_groups(naive) == [0]
    wrapped = (np.float32(0.05) + np.float32(1.0)) - np.float32(1.0)  # 0.04999995
    got = first_step(naive)
    assert got == wrapped and got != np.float32(0.05)
    ours = bridge.to_mindspore_group_params(plan, [["a"], ["b"]], 8)
    assert bm.mixed_lr_groups(ours) == []
    assert first_step(ours) == np.float32(0.05)


def _warmup_then_lambda(n):
    """0.2 * (linear warm-up 0.1 -> 1 over 5 steps, then 0.9**e, e counted from the milestone), float32."""
    t = np.arange(n)
    return (0.2 * np.where(t < 5, horizon.f_linear(t, 0.1, 1.0, 5), 0.9 ** (t - 5.0))).astype(np.float32)


def test_opaque_needs_explicit_sample(ms_graph_module):
    p = Plan.single(Sequential((Linear(0.1, 1.0, 5), Lambda(lambda e: 0.9 ** e)), (5,)), base=0.2, total_steps=50)
    with pytest.raises(bridge.UnsupportedError, match="sample=N"):
        bridge.to_mindspore_cell(p)
    cell = bridge.to_mindspore_cell(p, sample=50)
    table = cell.expr.table.asnumpy()
    np.testing.assert_array_equal(table, _warmup_then_lambda(50))


def test_table_fallback_needs_a_horizon(ms_graph_module):
    nd = Chain((Linear(0.1, 1.0, 20), CosineAnnealing(100, eta_min=0.1)))
    with pytest.raises(bridge.UnsupportedError, match="sample=N"):
        bridge.to_mindspore_cell(Plan.single(nd, base=0.1))
    cell = bridge.to_mindspore_cell(Plan.single(nd, base=0.1), sample=30)
    assert cell.expr.table.shape == (30,)


def test_long_horizon_alone_does_not_warn(ms_graph_module):
    """Bridge cells keep steps in int32: a horizon past 2**24 is no reason to warn (only a kind or
    composition that cannot follow the schedule somewhere is, tests/test_mindspore_cells_horizon.py)."""
    p = Plan.single(CosineAnnealing(1 << 25), base=0.1, total_steps=(1 << 25) + 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", bm.MindSporePrecisionWarning)
        cell = bridge.to_mindspore_cell(p)
    t = np.array([1 << 24, (1 << 24) + 1, (1 << 25) - 1], dtype=np.int64)
    got = bmn.cell_classes()["MultiOut"]([cell])(ms_graph_module.Tensor(t.astype(np.int32)))[0].asnumpy()
    ref = 0.1 * (1 + np.cos(np.pi * t / (1 << 25))) / 2
    assert _close(got, ref, 0.1) <= MINDSPORE_CELL_RTOL


def test_float32_step_limit_of_mindspore_cells(ms_graph_module):
    """MindSpore's own WarmUpLR casts global_step to float32: 2**24 and 2**24+1 give the same value."""
    import mindspore.nn.learning_rate_schedule as lrs

    W = 1 << 25
    multi = bmn.cell_classes()["MultiOut"]([lrs.WarmUpLR(1.0, W),
                                             bridge.to_mindspore_cell(Plan.single(Linear(0.0, 1.0, W), base=1.0),
                                                                      native=False)])
    native, ours = multi(ms_graph_module.Tensor(np.array([1 << 24, (1 << 24) + 1], dtype=np.int32)))
    assert native.asnumpy()[0] == native.asnumpy()[1] == 0.5
    # bridge cells keep the step in int32: the remaining-steps count is what gets rounded
    assert ours.asnumpy()[1] >= ours.asnumpy()[0]


def test_torch_sequential_to_mindspore(ms_graph_module, torch_mod):
    torch = torch_mod
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.5)
    sch = torch.optim.lr_scheduler.SequentialLR(
        opt, [torch.optim.lr_scheduler.LinearLR(opt, 0.1, total_iters=5),
              torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)], milestones=[5])
    plan = bridge.from_torch(sch)
    rec = trace(opt, sch, 40)[:, 0]
    r = parity.compare(plan.values(40)[:, 0], rec, plan.bases())
    assert r.ok, r.summary("plan vs torch")
    lst = bridge.to_mindspore_list(plan, 40)
    r = parity.compare(lst, rec, plan.bases(), "mindspore-list")
    assert r.ok, r.summary("list vs torch")
    cell = bridge.to_mindspore_cell(plan)
    got = bmn.cell_classes()["MultiOut"]([cell])(ms_graph_module.Tensor(np.arange(40, dtype=np.int32)))[0].asnumpy()
    assert _close(got, rec) <= MINDSPORE_CELL_RTOL


_STANDALONE_RUN = """
import importlib, sys
import numpy as np


class Block:  # the written modules must not need sched-bridge
    def find_spec(self, name, path=None, target=None):
        if name == "bridge" or name.startswith("bridge."):
            raise ImportError("bridge is blocked in this process")


sys.meta_path.insert(0, Block())
import mindspore as ms
from mindspore import Parameter, Tensor, nn, ops

ms.set_device("CPU")
ms.set_context(mode=ms.GRAPH_MODE)
out, names, sgd_names, N, steps = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), *map(int, sys.argv[4:6])
mods = {k: importlib.import_module("sched_" + k) for k in names}
multi = mods[names[0]].MultiOut([mods[k].make_schedule() for k in names])
values = [o.asnumpy() for o in multi(Tensor(np.arange(N, dtype=np.int32)))]

# the cells as group lrs of nn.SGD in a graph-mode train step: the applied steps
ws = [Parameter(Tensor(np.zeros(1, np.float32)), name=f"w{g}") for g in range(len(sgd_names))]


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.ws = ms.ParameterTuple(ws)

    def construct(self, x):
        s = 0.0
        for p in self.ws:
            s = s + ops.reduce_sum(p * x)
        return s


net = Net()
opt = nn.SGD([{"params": [w], "lr": mods[k].make_schedule()} for w, k in zip(net.ws, sgd_names)],
             learning_rate=0.1)
train = nn.TrainOneStepCell(net, opt)
applied = np.empty((steps, len(sgd_names)))
for t in range(steps):
    for w in net.ws:
        w.set_data(Tensor(np.zeros(1, np.float32)))
    train(Tensor(np.ones(1, np.float32)))
    applied[t] = [-float(w.asnumpy()[0]) for w in net.ws]
assert not [m for m in sys.modules if m == "bridge" or m.startswith("bridge.")]
np.savez(out, applied, *values)
"""


def test_standalone_source_runs_without_bridge(evaluated, tmp_path):
    """to_mindspore_source: each cell written out as a module and run in a process where sched-bridge
    cannot be imported gives to_mindspore_cell's float32 values bit for bit, and drives nn.SGD."""
    names, plans, _, _, outs = evaluated
    for k, p in zip(names, plans):
        src = bridge.to_mindspore_source(p, native=k in NATIVE)
        assert "bridge" not in src.replace("bridge_table_", "").replace("sched-bridge", "").replace(
            "bridge.to_mindspore", ""), k
        (tmp_path / f"sched_{k}.py").write_text(src)
    sgd = ["warmup_cosine", "table", "chain_table", "one_cycle", "native_cos"]  # two tables from two modules
    steps = 60
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    (tmp_path / "run_written.py").write_text(_STANDALONE_RUN)  # MindSpore compiles only code from files
    res = subprocess.run([sys.executable, "run_written.py", str(tmp_path / "out.npz"), ",".join(names),
                          ",".join(sgd), str(N), str(steps)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    got = np.load(tmp_path / "out.npz")
    applied, values = got["arr_0"], [got[f"arr_{i + 1}"] for i in range(len(names))]
    for k, mine, theirs in zip(names, outs, values):
        np.testing.assert_array_equal(theirs, mine, err_msg=k)
    for g, k in enumerate(sgd):
        assert _close(applied[:, g], EXPECTED[k](np.arange(steps))) <= MINDSPORE_CELL_RTOL, k


def test_standalone_source_tables_and_limits(ms_graph_module: Any) -> None:
    p = Plan.single(Sequential((Linear(0.1, 1.0, 5), Lambda(lambda e: 0.9 ** e)), (5,)), base=0.2, total_steps=50)
    with pytest.raises(bridge.UnsupportedError, match="sample=N"):
        bridge.to_mindspore_source(p)
    ns: dict = {}
    exec(compile(bridge.to_mindspore_source(p, sample=50, name="lr_fn"), "<written>", "exec"), ns)
    cell = ns["lr_fn"]()
    np.testing.assert_array_equal(cell.expr.table.asnumpy(), _warmup_then_lambda(50))
    two = Plan.single(Sequential((Linear(0.1, 1.0, 20), CosineAnnealing(N - 20)), (20,)), base=[0.5, 0.02])
    ns = {}
    exec(compile(bridge.to_mindspore_source(two), "<written>", "exec"), ns)
    assert [ns["make_schedule"](g).base for g in (0, 1)] == [0.5, 0.02]
    assert type(ns["make_schedule"]().expr).__name__ == "Switch"
    with pytest.raises(ValueError, match=r"group must be one of \[0, 1\], got 2"):
        ns["make_schedule"](2)
    ns = {}
    exec(compile(bridge.to_mindspore_source(two, group=1), "<written>", "exec"), ns)
    assert ns["make_schedule"]().base == 0.02
    with pytest.raises(ValueError):
        ns["make_schedule"](0)
    big = Plan.single(Table(np.linspace(1, 0.1, bm.SOURCE_TABLE_LIMIT + 1)), base=0.1)
    with pytest.raises(bridge.UnsupportedError, match="mindspore-list"):
        bridge.to_mindspore_source(big)
    with pytest.raises(bridge.SpecError, match="identifier"):
        bridge.to_mindspore_source(p, sample=5, name="make schedule")
