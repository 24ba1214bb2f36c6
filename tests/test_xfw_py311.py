"""Cross-framework, torch half (Python 3.11). See tests/_xfw_cases.py for the protocol.

- ``test_xfw_write_torch``: real torch schedulers (torch-only kinds included); the IR plan is
  built by hand from the scheduler's arguments, checked against torch's own trajectory (and
  ``bridge.from_torch``'s plan too), and recorded for the OneFlow half.
- ``test_xfw_read_oneflow*``: the OneFlow half's plans (OneFlow-only kinds) are lowered to
  torch (``bridge.to_torch``) and to MindSpore lists (``bridge.to_mindspore_list``) and
  compared with the real-OneFlow recordings.
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
from bridge.ir import (
    Chain,
    Constant,
    CosineAnnealing,
    Cyclic,
    Exponential,
    Field,
    Group,
    Linear,
    MultiStep,
    OneCycle,
    OneCycleMomentum,
    Plan,
    Polynomial,
    Sequential,
    Step,
    WarmRestarts,
)

pytestmark = pytest.mark.torch

LRS = (0.1, 0.03)


def _single(node, lrs=LRS):
    return Plan.single(node, list(lrs))


def _onecycle(torch):
    opt = make_opt(torch, LRS, momentum=0.9)
    s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=5000)
    plan = Plan(tuple(Group({"lr": Field(lr, OneCycle(5000, max_lr=0.5)),
                             "momentum": Field(0.9, OneCycleMomentum(5000))}) for lr in LRS))
    return opt, s, plan, 5000


def _cyclic(torch):
    opt = make_opt(torch, LRS, momentum=0.9)
    s = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.5, step_size_up=300,
                                          mode="triangular2", base_momentum=0.8, max_momentum=0.9)
    plan = Plan(tuple(Group({"lr": Field(lr, Cyclic(high=0.5, low=0.01, step_size_up=300, mode="triangular2")),
                             "momentum": Field(0.9, Cyclic(high=0.9, low=0.8, step_size_up=300,
                                                           mode="triangular2", inverted=True))})
                      for lr in LRS))
    return opt, s, plan, 5000


def _case(torch, name):
    """(optimizer, real torch scheduler, hand-built plan, steps)."""
    L = torch.optim.lr_scheduler
    if name == "t_onecycle":
        return _onecycle(torch)
    if name == "t_cyclic":
        return _cyclic(torch)
    o = make_opt(torch, LRS)
    if name == "t_cosine":
        return o, L.CosineAnnealingLR(o, T_max=700, eta_min=1e-3), _single(CosineAnnealing(700, 1e-3)), 10000
    if name == "t_sequential":
        s = L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=500), L.CosineAnnealingLR(o, T_max=2000)], [500])
        return o, s, _single(Sequential((Linear(0.1, 1.0, 500), CosineAnnealing(2000)), (500,))), 5000
    if name == "t_chained":
        s = L.ChainedScheduler([L.LinearLR(o, 0.2, total_iters=40), L.CosineAnnealingLR(o, 300, eta_min=0.01)])
        return o, s, _single(Chain((Linear(0.2, 1.0, 40), CosineAnnealing(300, 0.01)))), 3000
    if name == "t_chained_products":
        s = L.ChainedScheduler([L.ConstantLR(o, 0.1, 3), L.ExponentialLR(o, 0.999)])
        return o, s, _single(Chain((Constant(0.1, 3), Exponential(0.999)))), 5000
    if name == "t_poly":
        return o, L.PolynomialLR(o, total_iters=4000, power=2.0), _single(Polynomial(4000, 2.0)), 5000
    if name == "t_multistep_repeat":
        return o, L.MultiStepLR(o, [100, 100, 500], 0.5), _single(MultiStep((100, 100, 500), 0.5)), 2000
    if name == "t_cawr":
        s = L.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=1e-4)
        return o, s, _single(WarmRestarts(10, 2, 1e-4)), 10000
    if name == "t_linear":
        return o, L.LinearLR(o, 0.05, 1.0, total_iters=1000), _single(Linear(0.05, 1.0, 1000)), 3000
    if name == "t_step":
        return o, L.StepLR(o, 250, 0.8), _single(Step(250, 0.8)), 5000
    raise AssertionError(name)  # pragma: no cover


@pytest.mark.parametrize("name", TORCH_CASES)
def test_xfw_write_torch(torch_mod, name):
    opt, sched, plan, steps = _case(torch_mod, name)
    imported = bridge.from_torch(sched)
    fields = [f for f in plan.fields if f in opt.param_groups[0]]
    trajs = {f: trace(opt, sched, steps, f) if f == "lr" else None for f in fields}
    if len(fields) > 1:  # step a twin for the other fields
        for f in fields[1:]:
            o2, s2, _, _ = _case(torch_mod, name)
            trajs[f] = trace(o2, s2, steps, f)
    for f, traj in trajs.items():
        check(plan.values(steps, f), traj, plan.bases(f), f"{name} {f} (hand-built plan vs torch)")
        check(imported.values(steps, f), traj, plan.bases(f), f"{name} {f} (bridge.from_torch vs torch)")
    write(name, plan.to_dict(), trajs["lr"], "torch", {f: t for f, t in trajs.items() if f != "lr"})


@pytest.mark.parametrize("name", ONEFLOW_CASES)
def test_xfw_read_oneflow(torch_mod, name):
    """A OneFlow schedule (recorded from real OneFlow) reproduced on the torch side."""
    plan_dict, trajs = read(name, "oneflow", "OneFlow (py39)")
    plan = bridge.from_dict(plan_dict)
    want = trajs["lr"]
    steps = want.shape[0]
    check(plan.values(steps), want, plan.bases(), f"{name} (plan values)")
    opt = make_opt(torch_mod, tuple(plan.bases()))
    sched = bridge.to_torch(plan, opt)
    check(trace(opt, sched, steps), want, plan.bases(), f"{name} (bridge.to_torch)")


@pytest.mark.mindspore
@pytest.mark.parametrize("name", ONEFLOW_CASES)
def test_xfw_read_oneflow_mindspore_list(name):
    """MindSpore per-step lists: identical to OneFlow's values after rounding to float32."""
    plan_dict, trajs = read(name, "oneflow", "OneFlow (py39)")
    plan = bridge.from_dict(plan_dict)
    want = trajs["lr"]
    for g in range(plan.n_groups):
        got = np.asarray(bridge.to_mindspore_list(plan, want.shape[0], group=g), dtype=np.float32)
        assert np.array_equal(got, want[:, g].astype(np.float32)), (name, g)


@pytest.mark.mmengine
def test_xfw_read_oneflow_paramwise(torch_mod, mmengine_mod):
    """OneFlow groups from bridge's paramwise_cfg == real MMEngine's on the same torch model."""
    from mmengine.optim import DefaultOptimWrapperConstructor

    path = xfw_dir() / "paramwise.oneflow.json"
    if not path.exists():
        missing(path.name, "OneFlow (py39)")
    recorded = json.loads(path.read_text())
    assert set(recorded) == set(PARAMWISE_CASES)
    for name, cfg in PARAMWISE_CASES.items():
        model = paramwise_model(torch_mod)
        ctor = DefaultOptimWrapperConstructor(
            dict(optimizer=dict(type="SGD", momentum=0.9, **PARAMWISE_BASE)), cfg)
        want = param_hparams(model, ctor(model).optimizer.param_groups)
        assert recorded[name] == want, name


def _torch_optimizer(torch, model, name):
    params = dict(model.named_parameters())
    decay = [p for p in params.values() if p.ndim > 1]
    no_decay = [p for p in params.values() if p.ndim <= 1]
    if name == "opt_sgd_nesterov":
        return torch.optim.SGD([{"params": decay}, {"params": no_decay, "weight_decay": 0.0, "lr": 0.05}],
                               lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True)
    return torch.optim.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0.0, "betas": (0.8, 0.99)}],
                             lr=0.01, weight_decay=0.1)


@pytest.mark.parametrize("name", OPTIMIZER_CASES)
def test_xfw_write_torch_optimizer(torch_mod, name):
    """Record a real torch optimizer + SequentialLR run with fixed gradients for the OneFlow half."""
    from bridge.groups import translate_optimizer

    torch = torch_mod
    torch.manual_seed(0)
    model = paramwise_model(torch)
    names = {id(p): n for n, p in model.named_parameters()}
    opt = _torch_optimizer(torch, model, name)
    L = torch.optim.lr_scheduler
    sched = L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=2), L.CosineAnnealingLR(opt, T_max=4)], [2])
    plan = bridge.from_torch(sched)
    desc = translate_optimizer(opt, target="oneflow")
    desc["groups"] = [dict(g, params=[names[id(p)] for p in g["params"]]) for g in desc["groups"]]
    arrays = {f"init/{n}": p.detach().numpy().copy() for n, p in model.named_parameters()}
    lrs = []
    for t in range(OPT_STEPS):
        lrs.append([g["lr"] for g in opt.param_groups])
        for n, p in model.named_parameters():
            p.grad = torch.randn_like(p)
            arrays[f"grad{t}/{n}"] = p.grad.numpy().copy()
        opt.step()
        sched.step()
        if t + 1 == RESUME_AT:
            resume = {k: v for k, v in sched.state_dict().items() if k in ("last_epoch", "_step_count")}
        for n, p in model.named_parameters():
            arrays[f"after{t}/{n}"] = p.detach().numpy().copy()
    check(plan.values(OPT_STEPS), lrs, plan.bases(), f"{name} lr (from_torch vs torch)")
    meta, npz = optimizer_files(name)
    meta.write_text(json.dumps({"optimizer": desc, "plan": plan.to_dict(), "lrs": lrs, "resume": resume},
                               indent=1))
    np.savez(npz, **arrays)
