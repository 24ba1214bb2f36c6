"""Cross-framework, OneFlow half (Python 3.9). See tests/_xfw_cases.py for the protocol.

- ``test_xfw_write_*``: real OneFlow schedules (OneFlow-only kinds included) are imported
  with ``bridge.from_oneflow``, checked against OneFlow's own trajectory, and recorded
  (plan + trajectory) for the torch half.
- ``test_xfw_read_*``: the torch half's plans are lowered with ``bridge.to_oneflow``, real
  OneFlow is stepped and compared with the recorded real-torch trajectory.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _helpers import make_opt, trace
from _xfw_cases import (
    ONEFLOW_CASES,
    OPT_STEPS,
    OPTIMIZER_CASES,
    PARAMWISE_BASE,
    PARAMWISE_CASES,
    RESUME_AT,
    TORCH_CASES,
    check,
    missing,
    optimizer_files,
    param_hparams,
    paramwise_model,
    read,
    write,
    xfw_dir,
)

import bridge
from bridge.parity import FLOAT64_RTOL

pytestmark = pytest.mark.oneflow

LRS = (0.1, 0.03)


def _resumed(s, o):
    sch = s.WarmupLR(s.CosineDecayLR(o, 6000, alpha=0.02), warmup_factor=0.05, warmup_iters=300,
                     warmup_prefix=True)
    for _ in range(1234):
        sch.step()
    return sch


# name -> (builder(lr_scheduler module, optimizer), lrs, steps)
BUILDERS = {
    "of_cosine_decay": (lambda s, o: s.CosineDecayLR(o, decay_steps=3000, alpha=0.1), LRS, 5000),
    "of_warmup_linear": (lambda s, o: s.WarmupLR(s.CosineAnnealingLR(o, T_max=4000), warmup_factor=0.1,
                                                 warmup_iters=300), (0.1, 0.1), 5000),
    "of_warmup_linear_prefix": (lambda s, o: s.WarmupLR(s.CosineAnnealingLR(o, T_max=4000),
                                                        warmup_factor=0.1, warmup_iters=300,
                                                        warmup_prefix=True), LRS, 5000),
    "of_warmup_constant": (lambda s, o: s.WarmupLR(s.StepLR(o, 400, 0.7), warmup_factor=0.25,
                                                   warmup_iters=500, warmup_method="constant"), LRS, 5000),
    "of_poly_defaults": (lambda s, o: s.PolynomialLR(o, decay_batch=3000), LRS, 4000),
    "of_poly_cycle": (lambda s, o: s.PolynomialLR(o, decay_batch=700, end_learning_rate=1e-3, power=2.0,
                                                  cycle=True), LRS, 5000),
    "of_cawr_decay_limit": (lambda s, o: s.CosineAnnealingWarmRestarts(
        o, T_0=10, T_mult=2, eta_min=1e-3, decay_rate=0.7, restart_limit=8), LRS, 5000),
    "of_cawr_tmult3": (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3, eta_min=1e-4),
                       LRS, 10000),
    "of_sequential_global": (lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, 0.1, total_iters=500), s.CosineAnnealingLR(o, T_max=3000)], [500]), LRS, 5000),
    "of_sequential_mixed": (lambda s, o: s.SequentialLR(
        o, [s.ConstantLR(o, 0.5, total_iters=100), s.ExponentialLR(o, 0.999), s.CosineDecayLR(o, 3000, 0.05)],
        [300, 2000], interval_rescaling=[True, False]), LRS, 5000),
    "of_chained": (lambda s, o: s.ChainedScheduler(
        [s.LinearLR(o, 0.2, total_iters=40), s.CosineAnnealingLR(o, T_max=300, eta_min=0.01)]), LRS, 3000),
    "of_multistep": (lambda s, o: s.MultiStepLR(o, [100, 1000, 1500], 0.5), LRS, 2000),
    "of_resumed": (_resumed, LRS, 4000),
}
assert tuple(BUILDERS) == ONEFLOW_CASES


@pytest.mark.parametrize("name", ONEFLOW_CASES)
def test_xfw_write_oneflow(flow, name):
    build, lrs, steps = BUILDERS[name]
    opt = make_opt(flow, lrs)
    sched = build(flow.optim.lr_scheduler, opt)
    plan = bridge.from_oneflow(sched)
    traj = trace(opt, sched, steps, step_optimizer=False)
    check(plan.values(steps), traj, plan.bases(), name)
    write(name, plan.to_dict(), traj, "oneflow")


@pytest.mark.parametrize("name", TORCH_CASES)
def test_xfw_read_torch(flow, name):
    """A torch schedule (recorded from real torch) lowered to OneFlow runs the same on OneFlow."""
    plan_dict, trajs = read(name, "torch", "torch (py311)")
    plan = bridge.from_dict(plan_dict)
    steps = trajs["lr"].shape[0]
    kw = {"momentum": 0.9} if "momentum" in plan.fields else {}
    for field, want in trajs.items():
        opt = make_opt(flow, tuple(plan.bases("lr")), **kw)
        sched = bridge.to_oneflow(plan, opt)
        check(trace(opt, sched, steps, field, step_optimizer=False), want, plan.bases(field), f"{name} {field}")


def test_xfw_write_oneflow_paramwise(flow):
    """paramwise_cfg applied to a real OneFlow model builds a real flow.optim.SGD; its per-parameter
    lr / weight decay are recorded for the torch half, which compares them with real MMEngine."""
    from bridge.groups import paramwise

    out = {}
    for name, cfg in PARAMWISE_CASES.items():
        model = paramwise_model(flow)
        table = paramwise.apply(paramwise.describe(model), PARAMWISE_BASE["lr"], PARAMWISE_BASE["weight_decay"],
                                cfg)
        opt = flow.optim.SGD(table.oneflow_groups(), lr=PARAMWISE_BASE["lr"], momentum=0.9,
                             weight_decay=PARAMWISE_BASE["weight_decay"])
        out[name] = param_hparams(model, opt.param_groups)
        assert set(out[name]) == {n for n, _ in model.named_parameters()}
    (xfw_dir() / "paramwise.oneflow.json").write_text(json.dumps(out, indent=1))


@pytest.mark.parametrize("name", OPTIMIZER_CASES)
def test_xfw_read_torch_optimizer(flow, name):
    """translate_optimizer(target='oneflow') + to_oneflow on a real OneFlow optimizer: with the torch
    run's gradients, every parameter follows torch's path (float32) and every lr matches."""
    meta_path, npz_path = optimizer_files(name)
    if not meta_path.exists() or not npz_path.exists():
        missing(meta_path.name, "torch (py311)")
    meta = json.loads(meta_path.read_text())
    arrays = np.load(npz_path)
    desc = meta["optimizer"]
    params = {k[len("init/"):]: flow.nn.Parameter(flow.tensor(v)) for k, v in arrays.items()
              if k.startswith("init/")}
    groups = [dict(g, params=[params[n] for n in g["params"]]) for g in desc["groups"]]
    cls = getattr(flow.optim, desc["class"].rsplit(".", 1)[1])
    opt = cls(groups, **desc["kwargs"])
    sched = bridge.to_oneflow(bridge.from_dict(meta["plan"]), opt)
    for t in range(OPT_STEPS):
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups], meta["lrs"][t], rtol=FLOAT64_RTOL)
        for n, p in params.items():
            p.grad = flow.tensor(arrays[f"grad{t}/{n}"])
        opt.step()
        sched.step()
        for n, p in params.items():
            # float32 kernels round differently (AdamW: up to 1.6e-7 here, 1e-5 of one update)
            np.testing.assert_allclose(p.numpy(), arrays[f"after{t}/{n}"], rtol=2e-6, atol=1e-6,
                                       err_msg=f"{name} step {t} {n}")


@pytest.mark.parametrize("name", OPTIMIZER_CASES)
def test_xfw_read_torch_resume(flow, name):
    """A torch run stopped after RESUME_AT updates (its scheduler state_dict) continues on OneFlow
    with torch's next lrs: state.resumed(plan, state_dict) + to_oneflow on a fresh optimizer."""
    from bridge.groups import state

    meta_path, _ = optimizer_files(name)
    if not meta_path.exists():
        missing(meta_path.name, "torch (py311)")
    meta = json.loads(meta_path.read_text())
    desc = meta["optimizer"]
    groups = [dict(g, params=[flow.nn.Parameter(flow.zeros(2))]) for g in desc["groups"]]
    opt = getattr(flow.optim, desc["class"].rsplit(".", 1)[1])(groups, **desc["kwargs"])
    assert state.step_from(meta["resume"]) == RESUME_AT
    sched = bridge.to_oneflow(state.resumed(bridge.from_dict(meta["plan"]), meta["resume"]), opt)
    for t in range(RESUME_AT, OPT_STEPS):
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups], meta["lrs"][t], rtol=FLOAT64_RTOL)
        opt.step()
        sched.step()


def test_xfw_read_torch_capture_emit(flow):
    """``sched-bridge capture --emit oneflow`` (tests/test_capture.py, py311): the written port run on
    real OneFlow. Its make_optimizer builds the OneFlow SGD and scheduler for a OneFlow model with
    the script's parameter names; stepped as the script steps (optimizer, then scheduler), every
    update's lr equals the full torch run's (two schedulers stepped together, warm-up then cosine)."""
    import importlib.util

    d = xfw_dir()
    port_py, lrs_npy = d / "capture_emit_oneflow.port.py", d / "capture_emit_oneflow.torch_lrs.npy"
    if not port_py.exists() or not lrs_npy.exists():
        missing(f"{port_py.name} / {lrs_npy.name}", "torch (py311, tests/test_capture.py)")
    want = np.load(lrs_npy)
    spec = importlib.util.spec_from_file_location("captured_oneflow_port", port_py)
    port = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(port)
    nn = flow.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    opt, sched = port.make_optimizer(model)
    assert type(opt).__name__ == "SGD" and port.TOTAL_STEPS == want.shape[0] == 40
    got = trace(opt, sched, want.shape[0], "lr")
    check(got, want, [0.1], "capture --emit oneflow")
