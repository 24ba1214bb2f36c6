"""translate_optimizer: torch optimizer + plan -> real MindSpore optimizer, checked by stepping both."""

from __future__ import annotations

import numpy as np
import pytest

import bridge
from bridge.errors import SpecError, UnsupportedError
from bridge.groups import translate_optimizer
from bridge.ir import CosineAnnealing, Field, Group, Linear, Plan
from bridge.probes import compare, mindspore_probe, torch_probe


def _nets(torch, ms):
    tnn, mnn = torch.nn, ms.nn

    class TNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = tnn.Conv2d(2, 3, 3, padding=1, bias=False)  # BN follows (see AdamW eps note)
            self.bn = tnn.BatchNorm2d(3)
            self.fc = tnn.Linear(3 * 4 * 4, 5)

        def forward(self, x):
            return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))

    class MNet(mnn.Cell):
        def __init__(self):
            super().__init__()
            self.conv = mnn.Conv2d(2, 3, 3, pad_mode="pad", padding=1, has_bias=False)
            self.bn = mnn.BatchNorm2d(3)
            self.fc = mnn.Dense(3 * 4 * 4, 5)

    torch.manual_seed(0)
    t = TNet()
    m = MNet()
    # same weights (torch names -> MindSpore names via mappings/param_names.toml)
    from bridge.groups import paramwise

    by_torch_name = {p.name: p for p in paramwise.describe(m)}
    for name, p in t.named_parameters():
        info = by_torch_name[name]
        info.obj.set_data(ms.Tensor(p.detach().numpy().copy()))
    return t, m, by_torch_name


def _grads(t, torch):
    torch.manual_seed(1)
    x = torch.randn(4, 2, 4, 4)
    t.zero_grad()
    (t(x) ** 2).mean().backward()
    return {n: p.grad.detach().clone() for n, p in t.named_parameters()}


def _torch_groups(t, lr_fc=0.05):
    fc = [p for n, p in t.named_parameters() if n.startswith("fc.")]
    rest = [p for n, p in t.named_parameters() if not n.startswith("fc.")]
    return [{"params": rest}, {"params": fc, "lr": lr_fc, "weight_decay": 0.0}]


def _step_both(torch, ms, t, m, topt, mopt, by_name, steps=1, tsched=None):
    for _ in range(steps):
        g = _grads(t, torch)
        topt.step()
        if tsched is not None:
            tsched.step()
        names = {id(info.obj): n for n, info in by_name.items()}
        grads = tuple(ms.Tensor(g[names[id(p)]].numpy()) for p in mopt.parameters)
        mopt(grads)
    for n, p in t.named_parameters():
        theirs = by_name[n].obj.asnumpy()
        np.testing.assert_allclose(theirs, p.detach().numpy(), rtol=2e-5, atol=2e-6, err_msg=n)


def test_sgd_momentum_one_step_and_groups(torch_mod, ms):
    torch = torch_mod
    t, m, by_name = _nets(torch, ms)
    topt = torch.optim.SGD(_torch_groups(t), lr=0.1, momentum=0.9, weight_decay=1e-2)
    mopt = translate_optimizer(topt, params=m, source_model=t, total_steps=4)
    assert type(mopt).__name__ == "Momentum"
    assert mopt.is_group and mopt.is_group_lr
    # one lr table per parameter, in optimizer order: fc.* got the second group's 0.05
    lrs = {p.name: x.learning_rate.asnumpy() for p, x in zip(mopt.parameters, mopt.learning_rate)}
    assert set(lrs) == {"conv.weight", "bn.gamma", "bn.beta", "fc.weight", "fc.bias"}
    for name, table in lrs.items():
        np.testing.assert_array_equal(table, np.float32(0.05 if name.startswith("fc") else 0.1))
    assert [p.name for p in mopt.parameters] == ["conv.weight", "bn.gamma", "bn.beta", "fc.weight", "fc.bias"]
    assert mopt.momentum.asnumpy() == np.float32(0.9)
    _step_both(torch, ms, t, m, topt, mopt, by_name, steps=3)


def test_sgd_scheduled_lr_matches_torch_scheduler(torch_mod, ms):
    torch = torch_mod
    t, m, by_name = _nets(torch, ms)
    topt = torch.optim.SGD(_torch_groups(t), lr=0.1, momentum=0.9)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=4)
    plan = Plan((Group({"lr": Field(0.1, CosineAnnealing(T_max=4))}),
                 Group({"lr": Field(0.05, CosineAnnealing(T_max=4))})))
    mopt = translate_optimizer(topt, plan, params=m, source_model=t, total_steps=5)
    # per-step lrs: the MindSpore tables equal what torch's scheduler sets, in float32
    want = []
    probe = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1)), ], lr=0.1)
    s = torch.optim.lr_scheduler.CosineAnnealingLR(probe, T_max=4)
    for _ in range(5):
        want.append(probe.param_groups[0]["lr"])
        probe.step()
        s.step()
    np.testing.assert_array_equal(mopt.learning_rate[0].learning_rate.asnumpy(), np.float32(want))
    _step_both(torch, ms, t, m, topt, mopt, by_name, steps=4, tsched=tsched)


def test_adamw_bias_correction_folded(torch_mod, ms):
    torch = torch_mod
    t, m, by_name = _nets(torch, ms)
    # eps -> 0: the folded tables are exact (eps enters MindSpore's update as eps/sqrt(1-b2^t)).
    topt = torch.optim.AdamW(_torch_groups(t, lr_fc=0.02), lr=0.01, weight_decay=0.1, eps=1e-14)
    mopt = translate_optimizer(topt, params=m, source_model=t, total_steps=10)
    assert type(mopt).__name__ == "AdamWeightDecay"
    _step_both(torch, ms, t, m, topt, mopt, by_name, steps=3)


def test_adamw_default_eps_one_step(torch_mod, ms):
    torch = torch_mod
    t, m, by_name = _nets(torch, ms)
    topt = torch.optim.AdamW(_torch_groups(t, lr_fc=0.02), lr=0.01, weight_decay=0.1)
    mopt = translate_optimizer(topt, params=m, source_model=t, total_steps=10)
    # explicit, and folded: eps * sqrt(1 - b2) (MindSpore's default would be 1e-6)
    assert float(mopt.eps.asnumpy()[0]) == np.float32(1e-8 * 0.001 ** 0.5)
    _step_both(torch, ms, t, m, topt, mopt, by_name, steps=1)


def test_adamw_experimental_with_scheduler_matches_torch(torch_mod, ms):
    """adamw='experimental': torch-style groups (per-group betas kept) + a plan-driven scheduler."""
    torch = torch_mod
    t, m, by_name = _nets(torch, ms)
    groups = _torch_groups(t, lr_fc=0.02)
    groups[1]["betas"] = (0.8, 0.99)
    topt = torch.optim.AdamW(groups, lr=0.01, weight_decay=0.1)
    warm = torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.1, total_iters=2)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=4)
    tsched = torch.optim.lr_scheduler.SequentialLR(topt, [warm, cos], milestones=[2])
    plan = bridge.from_torch(tsched)
    with pytest.raises(UnsupportedError, match="lr_as='scheduler'"):
        translate_optimizer(topt, plan, params=m, source_model=t, adamw="experimental")
    mopt, msched = translate_optimizer(topt, plan, params=m, source_model=t, adamw="experimental",
                                       lr_as="scheduler")
    assert type(mopt).__name__ == "AdamW" and type(mopt).__module__.startswith("mindspore.experimental")
    assert [g["betas"] for g in mopt.param_groups] == [(0.9, 0.999), (0.8, 0.99)]
    for _ in range(5):
        want = [g["lr"] for g in topt.param_groups]
        got = [float(x.asnumpy()) for x in mopt.lrs]
        np.testing.assert_allclose(got, want, rtol=2e-7)
        _step_both(torch, ms, t, m, topt, mopt, by_name, steps=1, tsched=tsched)
        msched.step()


def test_adamw_experimental_refusals(torch_mod, ms):
    torch = torch_mod
    t, m, _ = _nets(torch, ms)
    topt = torch.optim.AdamW(_torch_groups(t), lr=0.01, weight_decay=0.1)
    wd = Plan(tuple(Group({"lr": Field(g["lr"]), "weight_decay": Field(g["weight_decay"], Linear(1.0, 0.5, 4))})
                    for g in topt.param_groups))
    with pytest.raises(UnsupportedError, match=r"groups\[0\]\.weight_decay is scheduled.*adamw='fold'"):
        translate_optimizer(topt, wd, params=m, source_model=t, adamw="experimental", lr_as="scheduler")
    with pytest.raises(SpecError, match="lr_as"):
        translate_optimizer(topt, params=m, source_model=t, adamw="experimental", lr_as="cell")
    # constant lrs: the optimizer alone, groups' lr and weight_decay as given
    mopt = translate_optimizer(topt, params=m, source_model=t, adamw="experimental")
    assert [g["lr"] for g in mopt.param_groups] == [0.01, 0.05]
    assert [g["weight_decay"] for g in mopt.param_groups] == [0.1, 0.0]


def test_static_loss_scale(torch_mod, ms):
    """loss_scale=S: MindSpore fed S-scaled gradients (FixedLossScaleManager, no drop) steps like torch
    fed the true ones, weight decay included (MindSpore stores it multiplied by S)."""
    torch = torch_mod
    t, m, by_name = _nets(torch, ms)
    topt = torch.optim.SGD(_torch_groups(t), lr=0.1, momentum=0.9, weight_decay=1e-2)
    mopt = translate_optimizer(topt, params=m, source_model=t, total_steps=4, loss_scale=128.0)
    assert float(mopt.loss_scale) == 128.0
    names = {id(info.obj): n for n, info in by_name.items()}
    for _ in range(3):
        g = _grads(t, torch)
        topt.step()
        mopt(tuple(ms.Tensor(g[names[id(p)]].numpy() * 128.0) for p in mopt.parameters))
    for n, p in t.named_parameters():
        np.testing.assert_allclose(by_name[n].obj.asnumpy(), p.detach().numpy(), rtol=2e-5, atol=2e-6, err_msg=n)
    with pytest.raises(UnsupportedError, match="takes no loss_scale"):
        translate_optimizer(torch.optim.AdamW(t.parameters()), params=m, source_model=t, total_steps=4,
                            loss_scale=8.0)
    with pytest.raises(SpecError, match="loss_scale"):
        translate_optimizer(topt, params=m, source_model=t, total_steps=4, loss_scale=0)


def test_adamw_without_folding_differs(torch_mod, ms):
    """Documents the formula difference: plain nn.AdamWeightDecay has no bias correction."""
    torch = torch_mod
    t, m, by_name = _nets(torch, ms)
    topt = torch.optim.AdamW(t.parameters(), lr=0.01, weight_decay=0.0)
    mopt = ms.nn.AdamWeightDecay(m.trainable_params(), learning_rate=0.01, eps=1e-8, weight_decay=0.0)
    with pytest.raises(AssertionError):
        _step_both(torch, ms, t, m, topt, mopt, by_name, steps=1)


def test_refusals(torch_mod, ms):
    torch = torch_mod
    t, m, _ = _nets(torch, ms)
    g = _torch_groups(t)
    g[1]["momentum"] = 0.5
    with pytest.raises(UnsupportedError, match="momentum differs"):
        translate_optimizer(torch.optim.SGD(g, lr=0.1, momentum=0.9), params=m, source_model=t, total_steps=3)
    with pytest.raises(UnsupportedError, match="amsgrad"):
        translate_optimizer(torch.optim.AdamW(t.parameters(), amsgrad=True), params=m, source_model=t,
                            total_steps=3)
    with pytest.raises(UnsupportedError, match="eps"):
        translate_optimizer(torch.optim.Adagrad(t.parameters()), params=m, source_model=t, total_steps=3)
    opt = translate_optimizer(torch.optim.Adagrad(t.parameters(), lr=0.01), params=m, source_model=t,
                              total_steps=3, ignore=["eps"])
    assert type(opt).__name__ == "Adagrad"
    plan = Plan((Group({"lr": Field(0.1), "momentum": Field(0.9, Linear(0.5, 1.0, 2))}),))
    with pytest.raises(UnsupportedError, match="momentum is scheduled"):
        translate_optimizer(torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9), plan, params=m,
                            source_model=t, total_steps=3)
    with pytest.raises(SpecError, match="cannot name"):
        translate_optimizer(torch.optim.SGD(t.parameters(), lr=0.1), params=m, total_steps=3)


def test_explicit_defaults_rmsprop(torch_mod, ms):
    torch = torch_mod
    t, m, _ = _nets(torch, ms)
    opt = translate_optimizer(torch.optim.RMSprop(t.parameters()), params=m, source_model=t, total_steps=2)
    assert type(opt).__name__ == "RMSProp"
    assert float(opt.decay) == pytest.approx(0.99) and float(opt.epsilon) == pytest.approx(1e-8)
    assert float(opt.learning_rate[0].learning_rate.asnumpy()[0]) == np.float32(0.01)


def test_description_source_to_oneflow():
    desc = {"type": "AdamW", "defaults": {"lr": 1e-3, "betas": (0.9, 0.99), "weight_decay": 0.05},
            "groups": [{"params": ["a.weight"]}, {"params": ["a.bias"], "weight_decay": 0.0}]}
    out = translate_optimizer(desc, target="oneflow")
    assert out["class"] == "oneflow.optim.AdamW"
    assert out["kwargs"]["weight_decay"] == 0.05 and out["kwargs"]["eps"] == 1e-8
    assert out["groups"][1]["weight_decay"] == 0.0


def test_resume_torch_run_in_mindspore(torch_mod, ms):
    """Stop a torch run after k steps; resume in MindSpore (global_step set, or list sliced)."""
    from bridge.groups import state

    torch = torch_mod
    k, n = 3, 8
    p = torch.nn.Parameter(torch.zeros(1))
    topt = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=6)
    for _ in range(k):
        topt.step()
        sched.step()
    sd = sched.state_dict()
    assert state.resume_state(sd, "torch") == {"last_epoch": sd["last_epoch"], "_step_count": sd["_step_count"]}
    want = []
    for _ in range(n - k):
        want.append(topt.param_groups[0]["lr"])
        topt.step()
        sched.step()
    plan = Plan.single(CosineAnnealing(T_max=6), 0.1)
    full = plan.values(n)[:, 0].tolist()
    w = ms.Parameter(ms.Tensor(np.zeros(1, np.float32)), name="w")
    for mode in ("global_step", "slice"):
        w.set_data(ms.Tensor(np.zeros(1, np.float32)))
        lrs = full if mode == "global_step" else state.slice_list(full, sd)
        opt = ms.nn.SGD([w], learning_rate=lrs)
        if mode == "global_step":
            state.resume_mindspore(opt, sd)
            assert state.step_from(opt) == k
        seen = []
        for _ in range(n - k):
            before = w.asnumpy().copy()
            opt((ms.Tensor(np.ones(1, np.float32)),))
            seen.append(float((before - w.asnumpy())[0]))
        np.testing.assert_allclose(seen, np.float32(want), rtol=1e-6)
    assert state.resume_state(k, "oneflow") == {"last_step": k}
    with pytest.raises(SpecError):
        state.resume_state(k, "jax")


@pytest.mark.oneflow
def test_oneflow_description_builds_real_optimizer(flow):
    desc = {"type": "AdamW", "defaults": {"lr": 1e-3, "weight_decay": 0.01},
            "groups": [{"params": ["w"]}, {"params": ["b"], "weight_decay": 0.0}]}
    out = translate_optimizer(desc, target="oneflow")
    ps = {"w": flow.nn.Parameter(flow.zeros(2, 2)), "b": flow.nn.Parameter(flow.zeros(2))}
    groups = [dict(g, params=[ps[n] for n in g["params"]]) for g in out["groups"]]
    opt = flow.optim.AdamW(groups, **out["kwargs"])
    assert opt.param_groups[0]["weight_decay"] == 0.01       # OneFlow's own default would be 0
    assert opt.param_groups[1]["weight_decay"] == 0.0


# ----------------------------------------------------------------------------- mindspore.mint.optim
def _mint_case(torch, t, kind):
    """torch optimizer (2 groups, per-group hyper-parameters) + a warm-up/cosine SequentialLR."""
    groups = _torch_groups(t, lr_fc=0.02)
    if kind == "SGD":
        groups[1].update(momentum=0.8, weight_decay=0.0)
        topt = torch.optim.SGD(groups, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)
    elif kind == "SGD-dampening":
        topt = torch.optim.SGD(groups, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=1e-2)
    else:
        groups[1]["betas"] = (0.8, 0.99)
        topt = getattr(torch.optim, kind)(groups, lr=0.01, weight_decay=0.1)
    warm = torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.1, total_iters=5)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=40)
    return topt, torch.optim.lr_scheduler.SequentialLR(topt, [warm, cos], milestones=[5])


@pytest.mark.parametrize("kind", ["Adam", "SGD", "SGD-dampening", "AdamW"])
def test_mint_optimizer_steps_like_torch(torch_mod, ms_graph, kind):
    """target='mindspore.mint': the same weights and gradients give the same parameters after each of
    50 updates under a scheduled lr (GRAPH_MODE: MindSpore 2.10's PyNative in-place ops do not change
    Parameters on CPU)."""
    torch, ms = torch_mod, ms_graph
    if kind == "AdamW" and str(ms.get_context("device_target")).upper() == "CPU":
        pytest.skip("mint.optim.AdamW's AdamW primitive has no CPU kernel in MindSpore 2.10 "
                    "(test_mint_adamw_refused_on_cpu checks the refusal)")
    t, m, by_name = _nets(torch, ms)
    topt, tsched = _mint_case(torch, t, kind)
    mopt, msched = translate_optimizer(topt, bridge.from_torch(tsched), target="mindspore.mint", params=m,
                                       source_model=t, lr_as="scheduler")
    assert type(mopt).__module__.startswith("mindspore.mint.optim")
    for tg, mg in zip(topt.param_groups, mopt.param_groups):  # every per-group value kept, by name
        for k in ("momentum", "dampening", "nesterov", "betas", "eps", "weight_decay"):
            if k in tg:
                assert mg[k] == tg[k], k
    names = {id(info.obj): n for n, info in by_name.items()}
    tprobe, mprobe = torch_probe(topt), mindspore_probe(mopt)  # the probes know mint optimizers too
    for u in range(50):
        np.testing.assert_allclose([float(x.asnumpy()) for x in mopt.lrs],
                                   [g["lr"] for g in topt.param_groups], rtol=2e-7)
        g = _grads(t, torch)
        topt.step()
        tsched.step()
        mopt(tuple(ms.Tensor(g[names[id(p)]].numpy()) for p in mopt.parameters))
        assert mprobe.sync() == 1
        msched.step()
        for n, p in t.named_parameters():
            np.testing.assert_allclose(by_name[n].obj.asnumpy(), p.detach().numpy(), rtol=2e-5, atol=2e-6,
                                       err_msg=f"{kind} update {u}: {n}")
    tprobe.remove()
    rep = compare(tprobe.trace, mprobe.trace)
    assert rep.ok and len(mprobe.trace) == 50, rep.format()
    assert set(mprobe.trace.fields) == set(tprobe.trace.fields)  # lr, weight_decay, momentum / betas[0]
    with pytest.raises(SpecError, match="2 optimizer updates since the last sync"):
        for _ in range(2):
            mopt(tuple(ms.Tensor(np.zeros(p.shape, np.float32)) for p in mopt.parameters))
        mprobe.sync()


def test_mint_refusals(torch_mod, ms):
    torch = torch_mod
    t, m, _ = _nets(torch, ms)
    topt, tsched = _mint_case(torch, t, "Adam")
    plan = bridge.from_torch(tsched)
    with pytest.raises(UnsupportedError, match="lr_as='scheduler'"):
        translate_optimizer(topt, plan, target="mindspore.mint", params=m, source_model=t)
    with pytest.raises(UnsupportedError, match="no translation for optimizer type 'RMSprop'"):
        translate_optimizer(torch.optim.RMSprop(t.parameters()), target="mindspore.mint", params=m,
                            source_model=t)
    with pytest.raises(UnsupportedError, match="loss scale"):
        translate_optimizer(topt, target="mindspore.mint", params=m, source_model=t, loss_scale=8.0)
    wd = Plan(tuple(Group({"lr": Field(g["lr"]), "weight_decay": Field(g["weight_decay"], Linear(1.0, 0.5, 4))})
                    for g in topt.param_groups))
    with pytest.raises(UnsupportedError, match=r"groups\[0\]\.weight_decay is scheduled.*mint"):
        translate_optimizer(topt, wd, target="mindspore.mint", params=m, source_model=t, lr_as="scheduler")
    # constant lrs: the optimizer alone
    mopt = translate_optimizer(topt, target="mindspore.mint", params=m, source_model=t)
    assert [g["betas"] for g in mopt.param_groups] == [(0.9, 0.999), (0.8, 0.99)]
    with pytest.raises(SpecError, match="target"):
        translate_optimizer(topt, target="mindspore.mnt", params=m, source_model=t)


def test_mint_adamw_refused_on_cpu(torch_mod, ms_graph):
    torch, ms = torch_mod, ms_graph
    t, m, by_name = _nets(torch, ms)
    if str(ms.get_context("device_target")).upper() != "CPU":
        pytest.skip("the refusal is for CPU devices only")
    topt = torch.optim.AdamW(t.parameters(), lr=0.01)
    with pytest.raises(UnsupportedError, match="no CPU kernel.*adamw='experimental'"):
        translate_optimizer(topt, target="mindspore.mint", params=m, source_model=t)
    # the refusal is real: MindSpore's own mint AdamW cannot make an update here
    mopt = ms.mint.optim.AdamW(m.trainable_params(), lr=0.01)
    with pytest.raises(RuntimeError, match="Unsupported op \\[AdamW\\] on CPU"):
        mopt(tuple(ms.Tensor(np.ones(p.shape, np.float32)) for p in mopt.parameters))


# ----------------------------------------------------------------------------- port_source
def test_port_source_mindspore_nn_adamw(torch_mod, ms):
    """The written port (no torch needed to run it) builds nn.AdamWeightDecay whose lr table is torch's
    lr times the bias correction sqrt(1-b2^t)/(1-b1^t), per group."""
    torch = torch_mod
    t, m, _ = _nets(torch, ms)
    topt, tsched = _mint_case(torch, t, "AdamW")
    plan = bridge.from_torch(tsched)
    with pytest.raises(UnsupportedError, match="betas differs between param groups"):  # refused while writing
        bridge.port_source(topt, plan, total_steps=8, source_model=t)
    topt.param_groups[1]["betas"] = (0.9, 0.999)
    src = bridge.port_source(topt, plan, total_steps=8, source_model=t)
    assert "import torch" not in src and "'params': ['conv.weight', 'bn.weight', 'bn.bias']" in src
    want = []
    for _ in range(8):
        want.append([g["lr"] for g in topt.param_groups])
        topt.step()
        tsched.step()
    scope = {"net": m}
    exec(compile(src, "<port>", "exec"), scope)
    opt = scope["optimizer"]
    assert type(opt).__name__ == "AdamWeightDecay"
    u = np.arange(1, 9)
    fold = np.sqrt(1 - 0.999 ** u) / (1 - 0.9 ** u)
    for i, g in ((0, 0), (4, 1)):  # parameter 0 (conv.weight) is in group 0, parameter 4 (fc.bias) in group 1
        np.testing.assert_allclose(opt.learning_rate[i].learning_rate.asnumpy(), np.array(want)[:, g] * fold,
                                   rtol=1e-6)
    src = bridge.port_source(topt, plan, adamw="experimental", source_model=t)  # torch's formula, a scheduler
    exec(compile(src, "<port>", "exec"), scope)
    assert type(scope["optimizer"]).__module__.startswith("mindspore.experimental")
    assert [float(x.asnumpy()) for x in scope["optimizer"].lrs] == pytest.approx(want[0], rel=1e-7)
    scope["scheduler"].step()
    assert [float(x.asnumpy()) for x in scope["optimizer"].lrs] == pytest.approx(want[1], rel=1e-7)
    with pytest.raises(SpecError, match="adamw"):
        bridge.port_source(topt, plan, adamw="folded", total_steps=8, source_model=t)
    with pytest.raises(UnsupportedError, match="amsgrad"):  # refused while writing, as when translating
        bridge.port_source(torch.optim.AdamW(t.parameters(), amsgrad=True), total_steps=4, source_model=t)
    with pytest.raises(SpecError, match="total_steps"):
        bridge.port_source(topt, plan, source_model=t)


def test_port_source_mint_sgd_steps_like_torch(torch_mod, ms_graph):
    torch, ms = torch_mod, ms_graph
    t, m, by_name = _nets(torch, ms)
    topt, tsched = _mint_case(torch, t, "SGD")
    src = bridge.port_source(topt, bridge.from_torch(tsched), target="mindspore.mint", source_model=t)
    scope = {"net": m}
    exec(compile(src, "<port>", "exec"), scope)
    mopt, msched = scope["optimizer"], scope["scheduler"]
    assert type(mopt).__module__.startswith("mindspore.mint.optim")
    names = {id(info.obj): n for n, info in by_name.items()}
    for _ in range(8):
        g = _grads(t, torch)
        topt.step()
        tsched.step()
        mopt(tuple(ms.Tensor(g[names[id(p)]].numpy()) for p in mopt.parameters))
        msched.step()
    for n, p in t.named_parameters():
        np.testing.assert_allclose(by_name[n].obj.asnumpy(), p.detach().numpy(), rtol=2e-5, atol=2e-6, err_msg=n)


@pytest.mark.oneflow
def test_port_source_oneflow_runs(flow):
    """From a description (no torch in the OneFlow env): the written code builds the OneFlow optimizer with
    torch's defaults and a scheduler whose lrs follow warm-up + cosine, written out here."""
    import math

    from bridge.ir import Sequential

    desc = {"type": "AdamW", "defaults": {"lr": 0.1, "weight_decay": 0.01},
            "groups": [{"params": ["0.weight"]}, {"params": ["0.bias"], "weight_decay": 0.0}]}
    node = Sequential((Linear(0.1, 1.0, 2), CosineAnnealing(T_max=4)), milestones=(2,))
    plan = Plan(tuple(Group({"lr": Field(0.1, node)}) for _ in range(2)))
    src = bridge.port_source(desc, plan, target="oneflow", model="model")
    scope = {"model": flow.nn.Sequential(flow.nn.Linear(3, 2))}
    exec(compile(src, "<port>", "exec"), scope)
    opt, sched = scope["optimizer"], scope["scheduler"]
    assert type(opt).__name__ == "AdamW" and [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
    seen = []
    for _ in range(6):
        seen.append(opt.param_groups[1]["lr"])
        opt.step()
        sched.step()
    want = [0.01, 0.055] + [0.1 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)]
    np.testing.assert_allclose(seen, want, rtol=1e-12)
