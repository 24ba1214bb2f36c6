"""Recipe importers against the real libraries, step by step.

from_hf: real HF transformers; from_accelerated: real pytorch-accelerated; from_timm: timm's own
scheduler code, via tests/data/timm_reference.json (always) and live from the timm wheel when it
is in the cache (tools/derive_timm_reference.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _require import need, required

import bridge
from bridge import parity
from bridge.errors import SpecError, UnsupportedError

TOL = parity.FLOAT64_RTOL


def _opt(torch):
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(3)]
    # defaults['lr'] = 0.1, groups 0.05 / 0.1 / 0.002: HF's polynomial uses 0.1 for all
    return torch.optim.AdamW([{"params": [ps[0]], "lr": 0.05}, {"params": [ps[1]]},
                              {"params": [ps[2]], "lr": 0.002}], lr=0.1)


def _run_hf(torch, name, steps, W, N, kw, metrics=None):
    need("transformers")  # CI installs it: the comparison must not silently skip
    from transformers import get_scheduler

    opt = _opt(torch)
    sched = get_scheduler(name, opt, num_warmup_steps=W, num_training_steps=N, scheduler_specific_kwargs=kw)
    out = []
    for t in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if metrics is not None:
            sched.step(metrics[t])
        else:
            sched.step()
    return np.array(out)


CASES = [
    ("linear", 10, 100, {}),
    ("linear", 0, 50, {}),
    ("cosine", 10, 100, {}),
    ("cosine", 7, 57, {"num_cycles": 1.25}),     # integer period, periodic past the end
    ("cosine", 3, 40, {"num_cycles": 0.3}),     # non-integer period
    ("cosine_with_restarts", 10, 100, {"num_cycles": 3}),
    ("cosine_with_restarts", 5, 100, {"num_cycles": 4}),  # 95 % 4 != 0
    ("polynomial", 10, 100, {"lr_end": 1e-4, "power": 2.0}),
    ("polynomial", 0, 30, {}),
    ("constant", None, None, {}),
    ("constant_with_warmup", 12, None, {}),
    ("inverse_sqrt", 10, None, {}),
    ("inverse_sqrt", 0, None, {"timescale": 7}),
    ("cosine_with_min_lr", 10, 100, {"min_lr_rate": 0.1}),
    ("cosine_with_min_lr", 10, 100, {"min_lr": 1e-3}),   # relative to defaults['lr']
    ("cosine_warmup_with_min_lr", 10, 100, {"min_lr_rate": 0.05}),
    ("cosine_warmup_with_min_lr", 10, 100, {"min_lr_rate": 0.05, "warmup_lr_rate": 0.2}),
    ("cosine_warmup_with_min_lr", 0, 64, {"min_lr": 2e-3}),
    ("warmup_stable_decay", 10, 100, {"num_decay_steps": 30, "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", 10, None, {"num_decay_steps": 20, "num_stable_steps": 40,
                                       "warmup_type": "cosine", "decay_type": "1-sqrt"}),
    ("warmup_stable_decay", 8, 100, {"num_decay_steps": 40, "warmup_type": "1-sqrt", "decay_type": "linear",
                                     "min_lr_ratio": 0.02}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,W,N,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_hf_matches_transformers(torch_mod, name, W, N, kw):
    steps = 3 * (N or 60)
    ref = _run_hf(torch_mod, name, steps, W, N, kw)
    plan = bridge.from_hf(name, _opt(torch_mod), num_warmup_steps=W, num_training_steps=N, **kw)
    ours = plan.values(steps)
    scale = np.maximum(np.abs(ref), plan.bases()[None, :])
    bad = np.abs(ours - ref) > TOL * scale
    assert not bad.any(), (np.argwhere(bad)[0], ours[bad][:3], ref[bad][:3])
    assert not plan.schedule("lr").opaque, plan.schedule("lr")  # exact IR nodes, serialisable
    np.testing.assert_array_equal(bridge.from_dict(plan.to_dict()).values(steps), ours)


# (name, W, N, kw): 10^6 training steps; the cosine with W=10,000 gave two float32 values one
# apart from HF's before the plan followed HF's arithmetic (float64: 1e-16 apart at most steps)
LONG_CASES = [
    ("linear", 2_000, 1_000_000, {}),
    ("cosine", 10_000, 1_000_000, {}),
    ("cosine", 1_000, 1_000_000, {"num_cycles": 1.3}),
    ("cosine_with_restarts", 1_000, 1_000_000, {"num_cycles": 3}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,W,N,kw", LONG_CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(LONG_CASES)])
def test_hf_lambdas_float32_identical_at_1e6_steps(torch_mod, name, W, N, kw):
    """HF's own lr_lambdas (the partials transformers builds) times base_lr, the order of torch's
    LambdaLR, over 10% past num_training_steps: float32 identical at every step, 1e-12 in float64.
    Stepping torch 1.1e6 times takes ~30 s, so torch is stepped over a prefix only, to show that
    base_lr * lr_lambda(t) is what it computes."""
    need("transformers")
    from transformers import get_scheduler

    def make_opt():  # lrs whose float32 values HF's and the torch-order arithmetic round apart
        ps = [torch_mod.nn.Parameter(torch_mod.zeros(1, dtype=torch_mod.float64)) for _ in range(3)]
        return torch_mod.optim.AdamW([{"params": [p], "lr": lr} for p, lr in zip(ps, (5e-5, 1e-4, 2e-4))])

    opt = make_opt()
    sched = get_scheduler(name, opt, num_warmup_steps=W, num_training_steps=N, scheduler_specific_kwargs=kw)
    bases = list(sched.base_lrs)
    fns = sched.lr_lambdas
    steps = N + N // 10
    prefix = []
    for _ in range(W + 500):
        prefix.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    assert prefix == [[b * f(t) for b, f in zip(bases, fns)] for t in range(W + 500)]
    if all(f is fns[0] for f in fns):  # one lambda for every group (HF passes one)
        lam = np.fromiter((fns[0](t) for t in range(steps)), dtype=np.float64, count=steps)
        theirs = lam[:, None] * np.asarray(bases)[None, :]  # base_lr * lmbda(t), IEEE like Python
    else:  # pragma: no cover - HF builds a single lambda
        theirs = np.array([[b * f(t) for b, f in zip(bases, fns)] for t in range(steps)])
    plan = bridge.from_hf(name, make_opt(), num_warmup_steps=W, num_training_steps=N, **kw)
    ours = plan.values(steps)
    bad = np.argwhere(ours.astype(np.float32) != theirs.astype(np.float32))
    assert bad.size == 0, (bad[:3], ours[tuple(bad[0])], theirs[tuple(bad[0])])
    assert (np.abs(ours - theirs) <= TOL * np.maximum(np.abs(theirs), np.asarray(bases)[None, :])).all()
    # the same operations in the same order: equal bit for bit (NumPy's cos is the C library's
    # here; the torch-order formulas differed from HF by 1e-16 at ~40% of the steps)
    diff = np.argwhere(ours != theirs)
    assert diff.size == 0, (len(diff), diff[:3], ours[tuple(diff[0])], theirs[tuple(diff[0])])


@pytest.mark.torch
def test_hf_plateau(torch_mod):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.7, 0.7]
    kw = {"patience": 1, "factor": 0.5, "min_lr": 0.004}
    ref = _run_hf(torch_mod, "reduce_lr_on_plateau", len(metrics), None, None, kw, metrics=metrics)
    plan = bridge.from_hf("reduce_lr_on_plateau", _opt(torch_mod), metrics=metrics, **kw)
    np.testing.assert_allclose(plan.values(len(metrics)), ref, rtol=TOL, atol=1e-15)


def test_hf_traps():
    warm = bridge.from_hf("linear", base_lr=1.0, num_warmup_steps=2, num_training_steps=4)
    assert warm.values(6)[:, 0] == pytest.approx([0, 0.5, 1.0, 0.5, 0.0, 0.0])
    cos = bridge.from_hf("cosine", base_lr=1.0, num_warmup_steps=0, num_training_steps=4)
    assert cos.values(7)[:, 0] == pytest.approx([1, 0.853553, 0.5, 0.146447, 0, 0.146447, 0.5], abs=1e-6)
    with pytest.raises(SpecError, match="default_lr"):
        bridge.from_hf("polynomial", base_lrs=[0.1, 0.01], num_warmup_steps=0, num_training_steps=10)


def test_hf_errors():
    with pytest.raises(SpecError, match="did you mean 'cosine'"):
        bridge.from_hf("cosin", base_lr=0.1, num_warmup_steps=0, num_training_steps=10)
    with pytest.raises(SpecError, match="num_training_steps: is required"):
        bridge.from_hf("cosine", base_lr=0.1, num_warmup_steps=0)
    with pytest.raises(SpecError, match="lr_edn: not an argument"):
        bridge.from_hf("polynomial", base_lr=0.1, num_warmup_steps=0, num_training_steps=10, lr_edn=0.0)
    with pytest.raises(UnsupportedError, match="greedy"):
        bridge.from_hf("greedy", base_lr=0.1)


# ---------------------------------------------------------------------------
# pytorch-accelerated CosineLrScheduler
# ---------------------------------------------------------------------------


def _acc():
    return need("pytorch_accelerated.schedulers", "pytorch-accelerated")


def _run_acc(torch, sched_or_fn, steps):
    """Step as pytorch-accelerated's Trainer does: optimizer.step() then scheduler.step() per update."""
    opt = _opt(torch)
    sched = sched_or_fn(opt)
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.array(out), sched


ACC_CASES = [
    dict(total_num_epochs=10, num_update_steps_per_epoch=7),
    dict(total_num_epochs=10, num_update_steps_per_epoch=7, num_warmup_epochs=2, warmup_starting_lr=1e-3),
    dict(total_num_epochs=10, num_update_steps_per_epoch=7, num_warmup_epochs=2, warmup_starting_lr_ratio=0.1,
         min_lr_ratio=0.01),
    dict(total_num_epochs=12, num_update_steps_per_epoch=5, num_warmup_epochs=1, num_cooldown_epochs=3,
         k_decay=2.0, lr_min=1e-5),
    dict(total_num_epochs=8, num_update_steps_per_epoch=9, num_warmup_epochs=1, warmup_starting_lr_ratio=0.5,
         warmup_starting_lr=0.02, num_cooldown_epochs=1, k_decay=1.0, min_lr_ratio=0.1),
    dict(total_num_epochs=6, num_update_steps_per_epoch=4, k_decay=0.5, lr_min=0.0, num_cooldown_epochs=2),
    dict(total_num_epochs=3, num_update_steps_per_epoch=4, num_warmup_epochs=2, warmup_starting_lr=0.1),
    dict(total_num_epochs=100, num_update_steps_per_epoch=50, num_warmup_epochs=5, num_cooldown_epochs=10,
         k_decay=2.0, lr_min=1e-6),  # a 10,000-step run
]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", ACC_CASES, ids=[f"acc-{i}" for i in range(len(ACC_CASES))])
def test_accelerated_matches_library(torch_mod, cfg):
    mod = _acc()
    total = cfg["total_num_epochs"] * cfg["num_update_steps_per_epoch"]
    steps = max(total + 20, int(total * 1.3))
    ref, _ = _run_acc(torch_mod, lambda o: mod.CosineLrScheduler(o, **cfg), steps)
    for plan in (bridge.from_accelerated(_opt(torch_mod), **cfg),
                 bridge.from_accelerated(mod.CosineLrScheduler.create_scheduler_fn(**cfg),
                                         base_lrs=[0.05, 0.1, 0.002])):
        ours = plan.values(steps)
        r = parity.compare(ours, ref, plan.bases())
        assert r.ok, r.summary()
        assert not plan.schedule("lr").opaque
        again = bridge.from_dict(plan.to_dict())
        np.testing.assert_array_equal(again.values(steps), ours)


@pytest.mark.torch
def test_accelerated_live_scheduler_and_trainer_placeholders(torch_mod):
    mod = _acc()
    cfg = dict(total_num_epochs=9, num_update_steps_per_epoch=6, num_warmup_epochs=2, num_cooldown_epochs=1,
               k_decay=2.0, warmup_starting_lr_ratio=0.2)
    ref, sched = _run_acc(torch_mod, lambda o: mod.CosineLrScheduler(o, **cfg), 70)
    np.testing.assert_allclose(bridge.from_accelerated(sched).values(70), ref, rtol=TOL, atol=0)
    # the Trainer fills total_num_epochs / num_update_steps_per_epoch in: the caller says what they are
    fn = mod.CosineLrScheduler.create_scheduler_fn(num_warmup_epochs=2, num_cooldown_epochs=1, k_decay=2.0,
                                                   warmup_starting_lr_ratio=0.2)
    with pytest.raises(SpecError, match="total_num_epochs: is a Trainer placeholder"):
        bridge.from_accelerated(fn, base_lrs=[0.05, 0.1, 0.002])
    plan = bridge.from_accelerated(fn, base_lrs=[0.05, 0.1, 0.002], total_num_epochs=9, num_update_steps_per_epoch=6)
    np.testing.assert_allclose(plan.values(70), ref, rtol=TOL, atol=0)


def test_accelerated_traps():
    # the first two updates both use the warm-up start; with warm-up the cosine is cut short
    p = bridge.from_accelerated(1.0, total_num_epochs=5, num_update_steps_per_epoch=1, num_warmup_epochs=2,
                                warmup_starting_lr=0.1, lr_min=0.0)
    assert p.values(7)[:, 0] == pytest.approx([0.1, 0.1, 0.55, 1.0, 0.0, 0.0, 0.0])
    # warmup_starting_lr_ratio starts at ratio*base but keeps the slope (base - warmup_starting_lr)/W,
    # and the construction value (update 0) is still warmup_starting_lr
    p = bridge.from_accelerated([2.0], total_num_epochs=10, num_update_steps_per_epoch=1, num_warmup_epochs=4,
                                warmup_starting_lr=0.4, warmup_starting_lr_ratio=0.5)
    assert p.values(5)[:, 0] == pytest.approx([0.4, 1.0, 1.4, 1.8, 2.2])
    # lr_min is absolute, min_lr_ratio relative to each group's base (and wins)
    p = bridge.from_accelerated([1.0, 0.1], total_num_epochs=2, num_update_steps_per_epoch=2, min_lr_ratio=0.1,
                                lr_min=0.5)
    assert p.values(6)[-1] == pytest.approx([0.1, 0.01])


def test_accelerated_errors():
    with pytest.raises(SpecError, match="total_num_epochs: is required"):
        bridge.from_accelerated(0.1, num_update_steps_per_epoch=3)
    with pytest.raises(SpecError, match="num_update_steps_per_epoch: must be >= 1"):
        bridge.from_accelerated(0.1, total_num_epochs=3, num_update_steps_per_epoch=0)
    with pytest.raises(SpecError, match="total_num_epochs: must be > 0"):
        bridge.from_accelerated(0.1, total_num_epochs=0, num_update_steps_per_epoch=3)
    with pytest.raises(SpecError, match="lr_min: must be >= 0"):
        bridge.from_accelerated(0.1, total_num_epochs=3, num_update_steps_per_epoch=3, lr_min=-1.0)
    with pytest.raises(SpecError, match="num_warmup_epochs: gives 1.5 updates"):
        bridge.from_accelerated(0.1, total_num_epochs=3, num_update_steps_per_epoch=3, num_warmup_epochs=0.5)
    with pytest.raises(SpecError, match="k_decay: must be > 0"):
        bridge.from_accelerated(0.1, total_num_epochs=3, num_update_steps_per_epoch=3, k_decay=0)
    with pytest.raises(SpecError, match="optimizer: must be a torch optimizer"):
        bridge.from_accelerated("adam", total_num_epochs=3, num_update_steps_per_epoch=3)


# ---------------------------------------------------------------------------
# timm (reference values from timm's own code: tools/derive_timm_reference.py)
# ---------------------------------------------------------------------------

REF_PATH = Path(__file__).parent / "data" / "timm_reference.json"
TIMM_REF = json.loads(REF_PATH.read_text())


def _timm_plan(case, groups, **extra):
    kw = dict(case["kwargs"])
    if case["how"] == "v2":
        kw.pop("updates_per_epoch", None)
    return bridge.from_timm(case["scheduler"], base_lrs=[g["lr"] for g in groups],
                            lr_scales=[g.get("lr_scale") for g in groups], updates_per_epoch=case["upe"],
                            metrics=case.get("metrics"), **kw, **extra)


def _assert_close(ours, ref, groups):
    r = parity.compare(ours, ref, [g["lr"] * g.get("lr_scale", 1.0) for g in groups])
    assert r.ok, r.summary()


def test_timm_reference_file():
    assert TIMM_REF["timm_version"] == "1.0.31" and len(TIMM_REF["wheel_sha256"]) == 64
    assert len(TIMM_REF["cases"]) >= 15
    for case in TIMM_REF["cases"]:  # every case really moves the lr
        assert len({round(v, 15) for row in case["values"] for v in row}) > 3, case["name"]


@pytest.mark.parametrize("case", TIMM_REF["cases"], ids=[c["name"] for c in TIMM_REF["cases"]])
def test_timm_matches_reference(case):
    ref = np.array(case["values"])
    plan = _timm_plan(case, TIMM_REF["groups"])
    _assert_close(plan.values(len(ref)), ref, TIMM_REF["groups"])
    again = bridge.from_dict(plan.to_dict())
    np.testing.assert_array_equal(again.values(len(ref)), plan.values(len(ref)))


def _derive_tool():
    spec = importlib.util.spec_from_file_location(
        "derive_timm_reference", Path(__file__).parents[1] / "tools" / "derive_timm_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.torch
def test_timm_live_from_wheel(torch_mod):
    """timm's scheduler files from the wheel (cached, else `pip download --no-deps`), run in-process on
    real torch. Without the wheel it skips, except where timm is required (tox py311, CI): it fails."""
    tool = _derive_tool()
    try:
        wheel = tool.find_wheel(fetch=True)
    except (OSError, subprocess.SubprocessError) as e:
        msg = f"{tool.WHEEL_NAME} is not cached and could not be downloaded: {e}"
        if "timm" in required() or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    assert tool.sha256(wheel) == TIMM_REF["wheel_sha256"]
    mods = tool.load_scheduler_modules(wheel)
    by_name = {c["name"]: c for c in TIMM_REF["cases"]}
    for cfg in tool.CONFIGS:
        live = np.array(tool.run(mods, cfg))
        np.testing.assert_array_equal(live, np.array(by_name[cfg["name"]]["values"]))  # the file is current
        # a live scheduler object: its attributes are read
        sched = tool.build(mods, cfg, tool.make_optimizer(torch_mod))
        plan = bridge.from_timm(sched, updates_per_epoch=cfg["upe"], metrics=cfg.get("metrics"))
        _assert_close(plan.values(len(live)), live, tool.GROUPS)
    # a 10,000-update cosine with restarts, per update
    cfg = dict(name="long", how="class", scheduler="CosineLRScheduler", upe=100, epochs=100,
               kwargs=dict(t_initial=1500, cycle_mul=1.5, cycle_decay=0.7, cycle_limit=5, k_decay=1.5,
                           warmup_t=300, warmup_lr_init=1e-5, lr_min=1e-6, t_in_epochs=False))
    live = np.array(tool.run(mods, cfg))
    _assert_close(_timm_plan(cfg, tool.GROUPS).values(len(live)), live, tool.GROUPS)


def test_timm_traps():
    # MultiStepLRScheduler decays one step early (bisect_right(decay_t, t + 1))
    p = bridge.from_timm("MultiStepLRScheduler", base_lr=1.0, decay_t=[2, 4], decay_rate=0.5, t_in_epochs=False)
    assert p.values(5)[:, 0] == pytest.approx([1, 0.5, 0.5, 0.25, 0.25])
    # CosineLRScheduler(warmup_prefix=False) runs the cosine on the global t
    p = bridge.from_timm("CosineLRScheduler", base_lr=1.0, t_initial=10, warmup_t=2, t_in_epochs=False)
    assert p.values(3)[2, 0] == pytest.approx(0.904508, abs=1e-6)
    # epoch-based: each value holds for updates_per_epoch updates
    p = bridge.from_timm("cosine", base_lr=1.0, num_epochs=4, updates_per_epoch=3)
    v = p.values(12)[:, 0]
    assert v[:3].tolist() == [1.0] * 3 and v[3] == v[5] == pytest.approx(0.853553, abs=1e-6)
    # lr_scale multiplies every value of its group
    p = bridge.from_timm("step", base_lrs=[1.0, 1.0], lr_scales=[None, 0.1], decay_epochs=2, num_epochs=6,
                         updates_per_epoch=1)
    assert p.values(3)[2] == pytest.approx([0.1, 0.01])


def test_timm_errors():
    with pytest.raises(SpecError, match="updates_per_epoch: is required"):
        bridge.from_timm("cosine", base_lr=0.1, num_epochs=10)
    with pytest.raises(UnsupportedError, match="noise"):
        bridge.from_timm("cosine", base_lr=0.1, num_epochs=10, noise=[0.4, 0.9], updates_per_epoch=2)
    with pytest.raises(UnsupportedError, match="noise_range_t"):
        bridge.from_timm("CosineLRScheduler", base_lr=0.1, t_initial=10, noise_range_t=5, updates_per_epoch=2)
    with pytest.raises(SpecError, match="sched: unknown timm scheduler"):
        bridge.from_timm("cosin", base_lr=0.1, updates_per_epoch=2)
    with pytest.raises(UnsupportedError, match="wsd"):
        bridge.from_timm("wsd", base_lr=0.1, updates_per_epoch=2)
    with pytest.raises(SpecError, match="warmup_epoch: not an argument of timm create_scheduler_v2"):
        bridge.from_timm("cosine", base_lr=0.1, updates_per_epoch=2, warmup_epoch=3)
    with pytest.raises(SpecError, match="t_max: not an argument of timm CosineLRScheduler"):
        bridge.from_timm("CosineLRScheduler", base_lr=0.1, t_max=3, updates_per_epoch=2)
    with pytest.raises(SpecError, match="num_epochs: must be > 0"):
        bridge.from_timm("cosine", base_lr=0.1, num_epochs=0, updates_per_epoch=2)
    with pytest.raises(SpecError, match="min_lr: must be >= 0"):
        bridge.from_timm("cosine", base_lr=0.1, min_lr=-1.0, updates_per_epoch=2)
    with pytest.raises(SpecError, match="ub: must be greater than lb"):
        bridge.from_timm("TanhLRScheduler", base_lr=0.1, t_initial=5, lb=3.0, ub=1.0, updates_per_epoch=2)
    with pytest.raises(SpecError, match="step_on_epochs: must be True for sched='plateau'"):
        bridge.from_timm("plateau", base_lr=0.1, step_on_epochs=False, updates_per_epoch=2)
    with pytest.raises(SpecError, match="lr_scales: must have one entry per param group"):
        bridge.from_timm("cosine", base_lrs=[0.1, 0.2], lr_scales=[1.0], updates_per_epoch=2)
    with pytest.raises(UnsupportedError, match="metric"):  # plateau without a metric trace
        bridge.from_timm("plateau", base_lr=0.1, updates_per_epoch=2).values(5)
    with pytest.raises(UnsupportedError, match="math domain error"):
        bridge.from_timm("CosineLRScheduler", base_lr=0.1, t_initial=4, cycle_mul=0.5, cycle_limit=100,
                         t_in_epochs=False).values(20)
