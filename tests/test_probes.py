"""Probes in real training loops, trace IO, and the parity comparison."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from bridge.errors import SpecError
from bridge.parity import FLOAT64_RTOL
from bridge.probes import Trace, compare, load_trace

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- trace IO
def test_trace_roundtrip_csv_json(tmp_path: Path) -> None:
    t = Trace.from_arrays("torch", {"lr": [[0.1, 0.01], [0.05, 0.005]], "momentum": [0.9, 0.85]})
    for name in ("t.csv", "t.json"):
        t.save(tmp_path / name)
        back = load_trace(tmp_path / name)
        assert back.framework == "torch" and sorted(back.fields) == ["lr", "momentum"]
        np.testing.assert_array_equal(back.array("lr"), t.array("lr"))
        np.testing.assert_array_equal(back.array("momentum"), t.array("momentum"))
    head = (tmp_path / "t.csv").read_text().splitlines()[:2]
    assert head == ["framework,field,group,update,value", "torch,lr,0,0,0.1"]
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["format"] == "sched-bridge-trace" and doc["columns"] == ["field", "group", "update", "value"]


def test_load_trace_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SpecError, match="CSV header"):
        load_trace(tmp_path / "bad.csv")
    (tmp_path / "bad.json").write_text('{"x": 1}')
    with pytest.raises(SpecError, match="not a trace"):
        load_trace(tmp_path / "bad.json")
    with pytest.raises(SpecError, match="cannot read"):
        load_trace(tmp_path / "missing.csv")


def test_compare_diagnoses_drift_and_counts() -> None:
    b = np.cos(np.linspace(0, 1, 50)) + 1
    drift = b * (1 + 1e-7 * np.arange(50))
    rep = compare(Trace.from_arrays("x", {"lr": drift}), b, rtol=1e-9)
    assert not rep.ok and "drift" in rep.format()
    short = compare(Trace.from_arrays("x", {"lr": b[:40]}), Trace.from_arrays("y", {"lr": b}))
    assert not short.ok and "update count differs" in short.format()
    assert compare(Trace.from_arrays("x", {"lr": b}), Trace.from_arrays("y", {"lr": b})).ok


# ----------------------------------------------------------------------------- torch
@pytest.mark.torch
def test_torch_probe_records_applied_values(torch_mod: ModuleType) -> None:
    """Recorded lr == the parameter delta (SGD, grad 1); OneCycle momentum wave recorded per group."""
    torch = torch_mod
    import bridge
    from bridge.probes import torch_probe

    a = torch.nn.Parameter(torch.zeros(1))
    b = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=12)
    plan = bridge.from_torch(sched)
    probe = torch_probe(opt)
    deltas = []
    for _ in range(12):
        opt.zero_grad()
        (a + b).sum().backward()
        before = a.item()
        opt.step()
        deltas.append(before - a.item())
        sched.step()
    lr = probe.trace.array("lr")
    mom = probe.trace.array("momentum")
    assert lr.shape == (12, 2) and len(set(mom[:, 0].round(12))) > 2
    assert abs(deltas[0] - lr[0, 0]) < 1e-7  # first update: no momentum buffer yet
    assert compare(probe.trace, plan, rtol=FLOAT64_RTOL).ok
    probe.remove()
    opt.step()
    assert len(probe.trace) == 12


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Detected call of")
def test_compare_off_by_one_and_epoch_vs_iteration(torch_mod: ModuleType) -> None:
    torch = torch_mod
    import bridge
    from bridge.probes import torch_probe

    def run(order: str) -> Trace:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        probe = torch_probe(opt, fields=("lr",))
        for _epoch in range(4):
            for _ in range(3):
                if order == "sched_first":
                    sched.step()
                p.grad = torch.ones(1)
                opt.step()
                if order == "ok":
                    sched.step()
            if order == "per_epoch":
                sched.step()
        return probe.trace

    p0 = torch.nn.Parameter(torch.zeros(1))
    plan = bridge.from_torch(torch.optim.lr_scheduler.StepLR(torch.optim.SGD([p0], lr=1.0), 2, 0.5))
    assert compare(run("ok"), plan).ok
    off = compare(run("sched_first"), plan)
    assert not off.ok and "off by one" in off.format()
    ep = compare(run("per_epoch"), plan)
    assert not ep.ok and "epoch vs iteration" in ep.format() and "floor(t/3)" in ep.format()


# ----------------------------------------------------------------------------- MindSpore
@pytest.mark.mindspore
def test_mindspore_probe_graph_mode_groups_match_parameter_updates(ms_graph: ModuleType) -> None:
    """Group lrs (a LearningRateSchedule cell and a list) read by the probe == the applied update
    (``ms_graph``: in GRAPH_MODE)."""
    from mindspore import Parameter, Tensor, nn
    from mindspore.nn.learning_rate_schedule import PolynomialDecayLR

    from bridge.probes import mindspore_probe

    class Net(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.a = Parameter(Tensor(np.zeros(1, np.float32)), name="a")
            self.b = Parameter(Tensor(np.zeros(1, np.float32)), name="b")

        def construct(self, x):
            return (self.a * x).sum() + (self.b * x).sum()

    net = Net()
    lst = [0.3, 0.2, 0.1, 0.05, 0.025, 0.0125]
    groups = [{"params": [net.a], "lr": PolynomialDecayLR(1.0, 0.0, 4, 1.0), "weight_decay": 0.0},
              {"params": [net.b], "lr": lst, "weight_decay": 0.0}]
    opt = nn.SGD(groups, learning_rate=0.1)
    step = nn.TrainOneStepCell(net, opt)
    probe = mindspore_probe(opt, fields=("lr", "weight_decay"))
    da, db = [], []
    for _ in range(6):
        a0, b0 = float(net.a.asnumpy()[0]), float(net.b.asnumpy()[0])
        step(Tensor(np.ones(1, np.float32)))
        probe.sync()
        da.append(a0 - float(net.a.asnumpy()[0]))
        db.append(b0 - float(net.b.asnumpy()[0]))
    lr = probe.trace.array("lr")
    assert lr.shape == (6, 2)
    np.testing.assert_allclose(lr[:, 0], da, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(lr[:, 1], db, rtol=2e-6)
    np.testing.assert_allclose(lr[:, 0], [1.0, 0.75, 0.5, 0.25, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(lr[:, 1], lst, rtol=1e-7)


@pytest.mark.mindspore
def test_mindspore_probe_callback_in_model_train_sink(ms_graph: ModuleType) -> None:
    """As a Callback in Model.train(dataset_sink_mode=True): one record per global_step value."""
    ms = ms_graph
    import mindspore.dataset as mds
    from mindspore import nn

    from bridge.probes import mindspore_probe

    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.zeros((10, 1), np.float32)
    d = mds.NumpySlicesDataset({"x": x, "y": y}, shuffle=False).batch(2)
    net = nn.Dense(2, 1)
    lrs = [0.01 * 0.9**i for i in range(15)]
    opt = nn.Momentum(net.trainable_params(), learning_rate=lrs, momentum=0.8, weight_decay=1e-3,
                      loss_scale=4.0)
    probe = mindspore_probe()  # optimizer taken from cb_params at train begin
    model = ms.train.Model(net, nn.MSELoss(), opt)
    model.train(3, d, callbacks=[probe], dataset_sink_mode=True, sink_size=5)
    n = int(opt.global_step.asnumpy().reshape(-1)[0])
    assert len(probe.trace) == n == 15
    np.testing.assert_allclose(probe.trace.array("lr")[:, 0], lrs, rtol=1e-6)
    np.testing.assert_allclose(probe.trace.array("momentum")[:, 0], 0.8, rtol=1e-6)
    # stored weight decay is multiplied by loss_scale; the probe reports the user's value
    np.testing.assert_allclose(probe.trace.array("weight_decay")[:, 0], 1e-3, rtol=1e-6)


# ----------------------------------------------------------------------------- OneFlow
@pytest.mark.oneflow
def test_oneflow_probe_wraps_step(flow: ModuleType) -> None:
    import bridge
    from bridge.probes import oneflow_probe

    p = flow.nn.Parameter(flow.zeros(1))
    opt = flow.optim.SGD([p], lr=1.0, momentum=0.9)
    sched = flow.optim.lr_scheduler.CosineDecayLR(opt, decay_steps=6, alpha=0.1)
    plan = bridge.from_oneflow(sched)
    probe = oneflow_probe(opt)
    for _ in range(8):
        p.grad = flow.ones(1)
        opt.step()
        sched.step()
    assert probe.trace.framework == "oneflow" and len(probe.trace) == 8
    assert compare(probe.trace, plan, rtol=FLOAT64_RTOL).ok
    probe.remove()
    opt.step()
    assert len(probe.trace) == 8


# ----------------------------------------------------------------------------- the example
@pytest.mark.torch
@pytest.mark.mindspore
def test_grad_accum_probe_example(tmp_path: Path, ms: ModuleType, torch_mod: ModuleType,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "examples" / "grad_accum_probe" / "run.py"
    spec = importlib.util.spec_from_file_location("grad_accum_probe_run", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # MindSpore's graph parser looks the module up by name
    spec.loader.exec_module(mod)
    old = ms.get_context("mode")
    try:
        rc = mod.main(["--out", str(tmp_path), "--mode", "graph"])
    finally:
        ms.set_context(mode=old)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "IDENTICAL per-update values" in out
    t, m = load_trace(tmp_path / "torch.csv"), load_trace(tmp_path / "mindspore.json")
    assert len(t) == len(m) == 9 and compare(t, m).ok


# ----------------------------------------------------------------------------- the AdamW fold
def _load_example(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # MindSpore's graph parser looks the module up by name
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def capture_port() -> ModuleType:
    return _load_example("capture_port_run", ROOT / "examples" / "capture_port" / "port_mindspore.py")


@pytest.mark.torch
@pytest.mark.mindspore
def test_unfolded_adamweightdecay_is_a_real_difference(ms: ModuleType, torch_mod: ModuleType,
                                                       capture_port: ModuleType) -> None:
    """nn.AdamWeightDecay given torch AdamW's lr and weight decay unchanged trains differently, and the
    probes say so (with the cause), although its lr list equals torch's lr."""
    import bridge
    from bridge.probes import torch_probe
    from bridge.weights import copy_weights, mindspore_names

    steps = 6
    tt = capture_port.train_torch
    model, opt, sched = tt.build(steps)
    plan = bridge.from_torch(sched)
    net = capture_port.make_net()
    copy_weights(model, net)
    torch_names = mindspore_names(net)
    ids = [{id(p) for p in g["params"]} for g in opt.param_groups]
    by_name = dict(model.named_parameters())
    groups = []
    for i, g in enumerate(opt.param_groups):
        ps = [p for p in net.trainable_params() if id(by_name[torch_names[p.name]]) in ids[i]]
        groups.append({"params": ps, "lr": bridge.to_mindspore_list(plan, steps, group=i),
                       "weight_decay": g["weight_decay"]})
    mopt = ms.nn.AdamWeightDecay(groups, learning_rate=0.01, beta1=0.9, beta2=0.99, eps=1e-8)
    probe = torch_probe(opt, fields=("lr", "weight_decay"))
    tt.train(model, opt, sched, steps)
    old = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        t_ms = capture_port.train_mindspore(net, mopt, steps)
    finally:
        ms.set_context(mode=old)
    rep = compare(probe.trace, t_ms, fields=["lr"])
    # betas (0.9, 0.99): sqrt(1 - b2) == 1 - b1, so the first update agrees and the second does not
    assert not rep.ok and rep.fields[0].first_divergence == (1, 0)
    assert "Adam bias correction" in rep.fields[0].cause
    # the probe is right: the weights really went elsewhere
    theirs = bridge.weights.state_dict_arrays(net)
    assert np.max(np.abs(theirs["fc.weight"] - model.fc.weight.detach().numpy())) > 1e-3
    np.testing.assert_allclose(t_ms.array("native_lr"), probe.trace.array("lr"), rtol=1e-6)  # the raw lists
