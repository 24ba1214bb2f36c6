"""bridge.from_mmengine against real MMEngine schedulers, per iteration, group and field.

The reference loop is MMEngine's ParamSchedulerHook in an epoch-based run: schedulers are
built through the PARAM_SCHEDULERS registry (with the Runner's default ``end``), param
groups are read before each iteration, iteration-based schedulers step after each
iteration and epoch-based ones after each epoch.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from _require import need

import bridge
from bridge import parity
from bridge.errors import SpecError, UnsupportedError
from bridge.frameworks.mmengine import MMENGINE_TYPES

pytestmark = [pytest.mark.mmengine, pytest.mark.torch]

TOL = parity.FLOAT64_RTOL


def _opt(torch, kind="sgd", lrs=(0.1, 0.01)):
    ps = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)) for _ in lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)]
    if kind == "sgd":
        groups[-1]["momentum"] = 0.8
        groups[0]["weight_decay"] = 5e-4
        return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9, weight_decay=1e-4)
    if kind == "sgd_wd0":  # a group without weight decay (norm / bias groups of paramwise_cfg)
        groups[-1]["weight_decay"] = 0.0
        return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9, weight_decay=0.05)
    if kind == "adamw":
        groups[-1]["betas"] = (0.85, 0.99)
        return torch.optim.AdamW(groups, lr=lrs[0], betas=(0.9, 0.999), weight_decay=0.05)
    raise AssertionError(kind)


def _read(g, field):
    key, _, idx = field.partition("[")
    return g[key][int(idx[:-1])] if idx else g[key]


def run_mmengine(cfgs, opt, *, epoch_length, max_epochs, runner=True, metrics=None, fields=(), registry=None):
    """Real MMEngine schedulers driven like ParamSchedulerHook; returns {field: (N, G)}.
    ``registry``: the registry to build from (a package's, tests/_openmmlab.py), else MMEngine's."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    from mmengine.registry import PARAM_SCHEDULERS, DefaultScope

    reg = registry or PARAM_SCHEDULERS

    cfgs = [cfgs] if isinstance(cfgs, dict) else cfgs
    scheds = []
    for c in cfgs:
        c = copy.deepcopy(c)
        if runner:  # Runner._build_param_scheduler: default end = max_epochs / max_iters
            c.setdefault("end", max_epochs if c.get("by_epoch", True) else max_epochs * epoch_length)
        with DefaultScope.overwrite_default_scope(reg.scope):  # a Runner's default_scope
            scheds.append(reg.build(c, default_args=dict(optimizer=opt, epoch_length=epoch_length)))
    out = {f: [] for f in fields}
    for e in range(max_epochs):
        for _ in range(epoch_length):
            for f in fields:
                out[f].append([_read(g, f) for g in opt.param_groups])
            opt.step()
            for s in scheds:
                if not s.by_epoch:
                    s.step()
        for s in scheds:
            if s.by_epoch:
                s.step()
        if metrics is not None:  # after_val_epoch
            for s in scheds:
                if s.by_epoch and getattr(s, "need_val_args", False):
                    s.step({"loss": metrics[e]})
    return {f: np.array(v, dtype=np.float64) for f, v in out.items()}


def check(torch, cfgs, *, epoch_length, max_epochs, kind="sgd", lrs=(0.1, 0.01), runner=True,
          metrics=None, fields=None, registry=None):
    plan = bridge.from_mmengine(cfgs, _opt(torch, kind, lrs), epoch_length=epoch_length,
                                max_epochs=max_epochs if runner else None, metrics=metrics)
    fields = tuple(fields or plan.fields)
    ref = run_mmengine(cfgs, _opt(torch, kind, lrs), epoch_length=epoch_length, max_epochs=max_epochs,
                       runner=runner, metrics=metrics, fields=fields, registry=registry)
    N = epoch_length * max_epochs
    for f in fields:
        r = parity.compare(plan.values(N, f), ref[f], plan.bases(f))
        assert r.ok, r.summary(f"{f} vs mmengine")
    round_trip(torch, plan, ref, kind=kind, lrs=lrs, epoch_length=epoch_length, max_epochs=max_epochs,
               runner=runner, metrics=metrics, fields=fields, registry=registry)
    return plan, ref


def round_trip(torch, plan, ref, *, kind, lrs, epoch_length, max_epochs, runner, metrics, fields, registry=None):
    """to_mmengine(plan) read again is the same plan, and MMEngine's schedulers built from it step
    like the ones built from the original config (every field)."""
    written = bridge.to_mmengine(plan)
    again = bridge.from_mmengine(written, _opt(torch, kind, lrs), epoch_length=epoch_length,
                                 max_iters=plan.total_steps, metrics=metrics)
    assert again.groups == plan.groups and again.total_steps == plan.total_steps, written
    ref2 = run_mmengine(written, _opt(torch, kind, lrs), epoch_length=epoch_length, max_epochs=max_epochs,
                        runner=runner, metrics=metrics, fields=fields, registry=registry)
    for f in fields:
        r = parity.compare(ref2[f], ref[f], plan.bases(f))
        assert r.ok, r.summary(f"{f}: mmengine built from {written} vs from the original")


# ---------------------------------------------------------------------------
# realistic configs
# ---------------------------------------------------------------------------

REALISTIC = {
    # mmdet 1x: 500-iter linear warm-up, MultiStep [8, 11] over 12 epochs
    "det_1x": (dict(epoch_length=100, max_epochs=12), [
        dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
        dict(type="MultiStepLR", begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)]),
    "det_warmup_longer_than_epoch": (dict(epoch_length=30, max_epochs=12), [
        dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=100),
        dict(type="MultiStepLR", by_epoch=True, milestones=[8, 11])]),
    "det_3x_step": (dict(epoch_length=20, max_epochs=36), [
        dict(type="LinearLR", start_factor=0.067, by_epoch=False, begin=0, end=50),
        dict(type="MultiStepLR", begin=0, end=36, by_epoch=True, milestones=[27, 33])]),
    # mmseg: Poly by iteration with eta_min
    "seg_poly": (dict(epoch_length=200, max_epochs=10), [
        dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=2000, by_epoch=False)]),
    "seg_poly_warmup": (dict(epoch_length=200, max_epochs=10), [
        dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=150),
        dict(type="PolyLR", power=1.0, begin=150, end=2000, eta_min=0.0, by_epoch=False)]),
    # mmpretrain: epoch cosine converted to iterations, with warm-up
    "cls_cosine_convert": (dict(epoch_length=25, max_epochs=20), [
        dict(type="LinearLR", start_factor=0.25, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", T_max=15, by_epoch=True, begin=5, end=20, eta_min=1e-5,
             convert_to_iter_based=True)]),
    "cls_cosine_default_tmax": (dict(epoch_length=25, max_epochs=20), [
        dict(type="LinearLR", start_factor=1e-3, by_epoch=True, end=2, convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", eta_min=1e-5, by_epoch=True, begin=2, convert_to_iter_based=True)]),
    "cls_cosine_by_epoch": (dict(epoch_length=10, max_epochs=30), [
        dict(type="LinearLR", start_factor=0.01, by_epoch=True, begin=0, end=3),
        dict(type="CosineAnnealingLR", by_epoch=True, begin=3, end=30, eta_min=0.0)]),
    "cls_step": (dict(epoch_length=10, max_epochs=30), [
        dict(type="StepLR", step_size=10, gamma=0.1, by_epoch=True)]),
    # LLM style: warm-up + cosine by iteration to 10% of the peak
    "llm_cosine_ratio": (dict(epoch_length=1000, max_epochs=10), [
        dict(type="LinearLR", start_factor=1e-3, by_epoch=False, begin=0, end=200),
        dict(type="CosineAnnealingLR", eta_min_ratio=0.1, by_epoch=False, begin=200, end=10000)]),
    "llm_cosine_tmax_short": (dict(epoch_length=100, max_epochs=10), [
        dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50),
        dict(type="CosineAnnealingLR", T_max=300, eta_min_ratio=0.05, by_epoch=False, begin=50)]),
    # the freeze trap: cosine never reaches eta_min and then freezes
    "freeze_trap": (dict(epoch_length=10, max_epochs=3), [
        dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=5),
        dict(type="CosineAnnealingLR", T_max=10, by_epoch=False, begin=5, end=15)]),
    "overlap_iter": (dict(epoch_length=10, max_epochs=4), [
        dict(type="LinearLR", start_factor=0.2, by_epoch=False, begin=0, end=12),
        dict(type="ExponentialLR", gamma=0.95, by_epoch=False, begin=5, end=30)]),
    "overlap_epoch_iter": (dict(epoch_length=7, max_epochs=12), [
        dict(type="CosineAnnealingLR", by_epoch=False, begin=0, end=84, eta_min=0.001),
        dict(type="MultiStepLR", by_epoch=True, milestones=[3, 6, 9], gamma=0.5)]),
    "gaps_epoch": (dict(epoch_length=5, max_epochs=15), [
        dict(type="LinearLR", start_factor=0.5, by_epoch=True, begin=0, end=3),
        dict(type="StepLR", step_size=2, gamma=0.5, by_epoch=True, begin=5, end=10),
        dict(type="ExponentialLR", gamma=0.9, by_epoch=True, begin=12)]),
    "gaps_iter": (dict(epoch_length=10, max_epochs=5), [
        dict(type="ConstantLR", factor=0.5, by_epoch=False, begin=3, end=8),
        dict(type="PolyLR", power=2.0, by_epoch=False, begin=20, end=40, eta_min=0.001)]),
    "onecycle_iter": (dict(epoch_length=20, max_epochs=5), [
        dict(type="OneCycleLR", eta_max=[0.3, 0.03], by_epoch=False, pct_start=0.25)]),
    "onecycle_convert_three_phase": (dict(epoch_length=10, max_epochs=6), [
        dict(type="OneCycleLR", eta_max=0.5, total_steps=6, by_epoch=True, convert_to_iter_based=True,
             three_phase=True, anneal_strategy="linear")]),
    "cosine_restart_iter": (dict(epoch_length=10, max_epochs=10), [
        dict(type="CosineRestartLR", periods=[20, 30, 50], restart_weights=[1, 0.5, 0.25],
             eta_min=1e-4, by_epoch=False)]),
    "cosine_restart_convert": (dict(epoch_length=8, max_epochs=10), [
        dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=10),
        dict(type="CosineRestartLR", periods=[3, 7], restart_weights=[1, 0.8], eta_min_ratio=0.01,
             by_epoch=True, convert_to_iter_based=True, begin=0)]),
    "cosine_restart_past_periods": (dict(epoch_length=5, max_epochs=8), [
        dict(type="CosineRestartLR", periods=[3, 2], restart_weights=[1, 0.5], eta_min=0.0,
             by_epoch=True)]),
    "adam_betas_momentum": (dict(epoch_length=10, max_epochs=8, kind="adamw", lrs=(1e-3, 1e-4)), [
        dict(type="LinearLR", start_factor=0.01, by_epoch=False, end=20),
        dict(type="CosineAnnealingLR", by_epoch=False, begin=20, eta_min_ratio=0.1),
        dict(type="CosineAnnealingMomentum", by_epoch=False, begin=0, eta_min=0.85),
        dict(type="CosineAnnealingParamScheduler", param_name="weight_decay", by_epoch=True,
             eta_min=0.01)]),
    "adam_momentum_linear": (dict(epoch_length=10, max_epochs=5, kind="adamw", lrs=(1e-3, 2e-3)), [
        dict(type="LinearMomentum", start_factor=0.95, end_factor=1.0, by_epoch=False, end=25),
        dict(type="StepMomentum", step_size=2, gamma=0.99, by_epoch=True, begin=1)]),
    "sgd_momentum_and_lr": (dict(epoch_length=6, max_epochs=10), [
        dict(type="MultiStepLR", milestones=[4, 7], by_epoch=True),
        dict(type="PolyMomentum", eta_min=0.85, power=1.0, by_epoch=False),
        dict(type="ConstantMomentum", factor=0.5, by_epoch=True, begin=2, end=5)]),
    "weight_decay_schedule": (dict(epoch_length=10, max_epochs=6), [
        dict(type="LinearParamScheduler", param_name="weight_decay", start_factor=0.1, by_epoch=True),
        dict(type="ExponentialParamScheduler", param_name="lr", gamma=0.99, by_epoch=False)]),
    "multistep_repeated": (dict(epoch_length=4, max_epochs=10), [
        dict(type="MultiStepLR", milestones=[3, 3, 6], gamma=0.5, by_epoch=True)]),
    "multistep_convert": (dict(epoch_length=9, max_epochs=12), [
        dict(type="LinearLR", start_factor=0.001, by_epoch=False, end=20),
        dict(type="MultiStepLR", milestones=[8, 11], by_epoch=True, convert_to_iter_based=True)]),
    "step_convert_fraction_begin": (dict(epoch_length=10, max_epochs=6), [
        dict(type="StepLR", step_size=2, by_epoch=True, begin=0.5, end=5.5, convert_to_iter_based=True)]),
    "constant_then_cosine_epoch": (dict(epoch_length=3, max_epochs=20), [
        dict(type="ConstantLR", factor=0.25, by_epoch=True, end=4),
        dict(type="CosineAnnealingLR", by_epoch=True, begin=4, end=20, T_max=16)]),
    "linear_decay_end_factor": (dict(epoch_length=10, max_epochs=10), [
        dict(type="LinearLR", start_factor=1.0, end_factor=0.0, by_epoch=False, begin=10)]),
    "onecycle_param_scheduler": (dict(epoch_length=10, max_epochs=3), [
        dict(type="OneCycleParamScheduler", param_name="lr", eta_max=0.2, by_epoch=False,
             total_steps=30, div_factor=10.0)]),
}


# mmseg schedules at their real length (160k iterations): segformer's warm-up + PolyLR(power=1) and
# the classic PolyLR(eta_min=1e-4, power=0.9). Before the plan followed MMEngine's arithmetic,
# segformer's lr differed by up to 8e-13 and two float32 values were one apart.
LONG = {
    "segformer_160k": ((6e-5, 6e-4), [
        dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
        dict(type="PolyLR", eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False)]),
    "poly_0.9_160k": ((0.01, 0.001), [
        dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False)]),
}


@pytest.mark.parametrize("name", sorted(LONG))
def test_long_poly_is_mmengine_float32_at_every_iteration(torch_mod, name):
    """Real MMEngine schedulers stepped 160,000 times (as ParamSchedulerHook does for iteration-based
    ones): float32(ours) == float32(theirs) at every iteration, the 1e-12 contract in float64, and
    -- the same operations in the same order -- equality."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    from mmengine.registry import PARAM_SCHEDULERS

    lrs, cfgs = LONG[name]
    N = 160_000
    plan = bridge.from_mmengine(cfgs, _opt(torch_mod, "adamw", lrs), epoch_length=N, max_epochs=1)
    opt = _opt(torch_mod, "adamw", lrs)
    scheds = [PARAM_SCHEDULERS.build(copy.deepcopy(c), default_args=dict(optimizer=opt, epoch_length=N))
              for c in cfgs]
    theirs = np.empty((N, len(lrs)))
    with pytest.warns(UserWarning):  # optimizer.step() is not called: MMEngine warns once
        for t in range(N):
            theirs[t] = [g["lr"] for g in opt.param_groups]
            for s in scheds:
                s.step()
    ours = plan.values(N)
    bad = np.argwhere(ours.astype(np.float32) != theirs.astype(np.float32))
    assert bad.size == 0, (bad[:3], ours[tuple(bad[0])], theirs[tuple(bad[0])])
    assert (np.abs(ours - theirs) <= TOL * np.maximum(np.abs(theirs), np.asarray(lrs)[None, :])).all()
    diff = np.argwhere(ours != theirs)
    assert diff.size == 0, (len(diff), diff[:3])


@pytest.mark.parametrize("name", sorted(REALISTIC))
def test_realistic_config(torch_mod, name):
    kw, cfgs = REALISTIC[name]
    check(torch_mod, cfgs, **kw)


def test_freeze_trap_values(torch_mod):
    plan, ref = check(torch_mod, REALISTIC["freeze_trap"][1], epoch_length=10, max_epochs=3)
    lr = plan.values(30, "lr")[:, 0] / 0.1
    assert lr[14] == pytest.approx(0.024472, abs=1e-6)
    assert np.all(lr[14:] == lr[14])  # frozen, never reaches eta_min = 0


def test_linear_total_iters_is_end_minus_begin_minus_one(torch_mod):
    plan, _ = check(torch_mod, [dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=5)],
                    epoch_length=5, max_epochs=2, lrs=(1.0,))
    assert plan.values(6)[:, 0] == pytest.approx([0.1, 0.325, 0.55, 0.775, 1.0, 1.0], abs=1e-12)


def test_no_runner_end_is_infinite(torch_mod):
    cfgs = [dict(type="LinearLR", start_factor=0.5, by_epoch=False, end=10),
            dict(type="CosineAnnealingLR", by_epoch=False, begin=10),
            dict(type="PolyLR", by_epoch=True, power=2.0)]
    plan, _ = check(torch_mod, cfgs, epoch_length=10, max_epochs=4, runner=False)
    w = plan.schedule("lr").windows
    assert w[1].end is None and w[1].schedule.T_max == int(1e9) - 10


def test_open_end_after_begin_round_trips(torch_mod):
    """ConstantLR with no end starting late: total_iters open (MMEngine: INF - begin - 1), written back
    with its begin and an open end (to_mmengine once refused it)."""
    cfgs = [dict(type="ConstantLR", factor=0.5, by_epoch=False, begin=3),
            dict(type="LinearLR", start_factor=0.5, by_epoch=True, begin=1)]
    check(torch_mod, cfgs, epoch_length=4, max_epochs=5, runner=False)


# ---------------------------------------------------------------------------
# every registered type, both families of optimizer
# ---------------------------------------------------------------------------


def _typical(name):
    base = name
    for fam in ("ParamScheduler", "Momentum", "LR"):
        if name.endswith(fam):
            base = name[: -len(fam)]
            break
    kw = {
        "Constant": dict(factor=0.5, end=7),
        "CosineAnnealing": dict(T_max=9, eta_min=0.0),
        "CosineRestart": dict(periods=[4, 6], restart_weights=[1.0, 0.7], eta_min=0.0),
        "Exponential": dict(gamma=0.97),
        "Linear": dict(start_factor=0.5, end=6),
        "MultiStep": dict(milestones=[2, 5, 9], gamma=0.8),
        "OneCycle": dict(eta_max=0.2, total_steps=40),
        "Poly": dict(power=1.5, eta_min=0.0, begin=1, end=11),
        "Step": dict(step_size=3, gamma=0.9),
        "ReduceOnPlateau": dict(patience=1, factor=0.5),
    }[base]
    cfg = dict(type=name, **kw)
    if name.endswith("ParamScheduler"):
        cfg["param_name"] = "lr"
    return cfg


@pytest.mark.parametrize("name", [t for t in MMENGINE_TYPES if "ReduceOnPlateau" not in t])
@pytest.mark.parametrize("by_epoch", [False, True])
def test_every_type(torch_mod, name, by_epoch):
    cfg = _typical(name)
    cfg["by_epoch"] = by_epoch
    if by_epoch and "OneCycle" in name:
        cfg["total_steps"] = 12
    kind = "adamw" if "Momentum" in name and not by_epoch else "sgd"
    check(torch_mod, [cfg], epoch_length=4 if by_epoch else 1, max_epochs=12 if by_epoch else 40,
          kind=kind)


@pytest.mark.parametrize("name", [t for t in MMENGINE_TYPES if "ReduceOnPlateau" in t])
def test_reduce_on_plateau(torch_mod, name):
    cfg = _typical(name)
    cfg.update(patience=1, factor=0.5, cooldown=1, min_value=[0.01, 0.001] if name.endswith("LR") else 0.0)
    metrics = [5.0, 4.0, 4.0, 4.0, 3.0, 3.5, 3.5, 3.5, 3.5, 2.0]
    check(torch_mod, [cfg], epoch_length=3, max_epochs=10, metrics=metrics)


def test_plateau_without_metrics_explains(torch_mod):
    plan = bridge.from_mmengine(dict(type="ReduceOnPlateauLR"), _opt(torch_mod), epoch_length=3)
    with pytest.raises(UnsupportedError, match="metrics"):
        plan.values(10)


def test_bases_dict_equals_optimizer(torch_mod):
    cfgs = REALISTIC["sgd_momentum_and_lr"][1]
    a = bridge.from_mmengine(cfgs, _opt(torch_mod), epoch_length=6, max_epochs=10)
    b = bridge.from_mmengine(cfgs, bases={"lr": [0.1, 0.01], "momentum": [0.9, 0.8]},
                             epoch_length=6, max_epochs=10)
    for f in ("lr", "momentum"):
        np.testing.assert_array_equal(a.values(60, f), b.values(60, f))
    c = bridge.from_mmengine(dict(type="LinearMomentum", by_epoch=False, end=5),
                             bases={"lr": 1e-3, "betas[0]": 0.9}, epoch_length=6)
    assert "betas[0]" in c.fields


def test_plan_round_trips(torch_mod):
    plan = bridge.from_mmengine(REALISTIC["det_1x"][1], _opt(torch_mod), epoch_length=100, max_epochs=12)
    again = bridge.from_dict(plan.to_dict())
    np.testing.assert_array_equal(plan.values(1200), again.values(1200))


# ---------------------------------------------------------------------------
# one real Runner run validates the loop above
# ---------------------------------------------------------------------------


def test_matches_real_runner(torch_mod, tmp_path):
    torch = torch_mod
    need("cv2", "opencv")  # mmengine's Runner imports OpenCV (not part of mmengine-lite)
    from mmengine.hooks import Hook
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(1, 1)
            self.v = torch.nn.Linear(1, 1)

        def forward(self, x, mode="loss"):
            x = torch.stack(x) if isinstance(x, list) else x
            return {"loss": (self.w(x.float().view(-1, 1)) + self.v(x.float().view(-1, 1))).pow(2).mean()}

    seen = []

    class Record(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.append([(g["lr"], g["momentum"]) for g in runner.optim_wrapper.optimizer.param_groups])

    cfgs = [dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=7),
            dict(type="MultiStepLR", by_epoch=True, milestones=[2, 4], gamma=0.5),
            dict(type="CosineAnnealingMomentum", by_epoch=False, eta_min=0.5)]
    data = [dict(x=torch.tensor(float(i))) for i in range(5)]  # the model gets **data_preprocessor(batch)
    runner = Runner(
        model=Model(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=data, sampler=dict(type="DefaultSampler", shuffle=False),
                              batch_size=1, collate_fn=dict(type="default_collate")),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9),
                           paramwise_cfg=dict(custom_keys={"v": dict(lr_mult=0.1, momentum=0.8)})),
        param_scheduler=cfgs, train_cfg=dict(by_epoch=True, max_epochs=6),
        custom_hooks=[Record()], default_hooks=dict(logger=None, checkpoint=None), log_level="ERROR")
    runner.train()
    opt = runner.optim_wrapper.optimizer
    ref = np.array(seen)
    bases = {"lr": [g["initial_lr"] for g in opt.param_groups],
             "momentum": [g["initial_momentum"] for g in opt.param_groups]}
    plan = bridge.from_mmengine(cfgs, bases=bases, epoch_length=5, max_epochs=6)
    for k, f in enumerate(("lr", "momentum")):
        ours = plan.values(30, f)
        np.testing.assert_allclose(ours, ref[:, :, k], rtol=TOL, atol=TOL * max(bases[f]))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_error_milestones_decreasing():
    with pytest.raises(SpecError, match=r"param_scheduler\[1\]\.milestones: must be increasing, got \[8, 3\]"):
        bridge.from_mmengine([dict(type="LinearLR", by_epoch=False, end=5),
                              dict(type="MultiStepLR", milestones=[8, 3])], bases={"lr": [0.1]},
                             epoch_length=10)


def test_error_unknown_type_did_you_mean():
    with pytest.raises(SpecError, match=r"param_scheduler\[0\]\.type: .*did you mean 'CosineAnnealingLR'"):
        bridge.from_mmengine([dict(type="CosineAnealingLR")], bases={"lr": [0.1]}, epoch_length=10)


def test_error_unknown_argument_did_you_mean():
    with pytest.raises(SpecError, match=r"param_scheduler\.milestone: .*did you mean 'milestones'"):
        bridge.from_mmengine(dict(type="MultiStepLR", milestone=[3]), bases={"lr": [0.1]}, epoch_length=10)


def test_error_epoch_length_needed():
    with pytest.raises(SpecError, match=r"epoch_length: is needed: param_scheduler\[1\] \(MultiStepLR\)"):
        bridge.from_mmengine([dict(type="LinearLR", by_epoch=False, end=5),
                              dict(type="MultiStepLR", milestones=[8, 11])], bases={"lr": [0.1]})
    # iteration-based only: no epoch length needed
    bridge.from_mmengine([dict(type="LinearLR", by_epoch=False, end=5)], bases={"lr": [0.1]})


def test_error_eta_min_and_ratio():
    with pytest.raises(SpecError, match=r"param_scheduler\.eta_min: give exactly one"):
        bridge.from_mmengine(dict(type="CosineRestartLR", periods=[5]), bases={"lr": [0.1]}, epoch_length=2)


def test_error_start_factor_zero():
    with pytest.raises(SpecError, match="start_factor: must be > 0"):
        bridge.from_mmengine(dict(type="LinearLR", start_factor=0.0, end=5, by_epoch=False), bases={"lr": [0.1]})


def test_error_momentum_without_momentum(torch_mod):
    p = torch_mod.nn.Parameter(torch_mod.zeros(1))
    opt = torch_mod.optim.Adagrad([p], lr=0.1)
    with pytest.raises(SpecError, match="momentum"):
        bridge.from_mmengine(dict(type="StepMomentum", step_size=2, by_epoch=False), opt)


def test_error_end_before_begin():
    with pytest.raises(SpecError, match=r"param_scheduler\.end: must be larger than begin \(5\), got 3"):
        bridge.from_mmengine(dict(type="ExponentialLR", gamma=0.9, begin=5, end=3, by_epoch=False),
                             bases={"lr": [0.1]})


# ---------------------------------------------------------------------------
# optim_wrapper.accumulative_counts: the plan counts optimizer updates
# ---------------------------------------------------------------------------


def run_accumulating(torch, cfgs, *, k, epoch_length, max_epochs, lrs=(0.1, 0.01)):
    """MMEngine's real OptimWrapper(accumulative_counts=k), counts initialised as the Runner does
    (``initialize_count_status(model, 0, max_iters)``), schedulers built on the wrapper and
    stepped like ParamSchedulerHook; returns the lr of every real ``optimizer.step()`` (a step
    pre-hook on the torch optimizer)."""
    import mmengine.optim
    from mmengine.registry import PARAM_SCHEDULERS

    opt = _opt(torch, "sgd", lrs)
    used = []
    opt.register_step_pre_hook(lambda o, args, kwargs: used.append([g["lr"] for g in o.param_groups]))
    wrapper = mmengine.optim.OptimWrapper(opt, accumulative_counts=k)
    model = torch.nn.Linear(1, 1)
    wrapper.initialize_count_status(model, 0, epoch_length * max_epochs)
    scheds = []
    for c in cfgs:
        c = copy.deepcopy(c)
        c.setdefault("end", max_epochs if c.get("by_epoch", True) else max_epochs * epoch_length)
        scheds.append(PARAM_SCHEDULERS.build(c, default_args=dict(optimizer=wrapper, epoch_length=epoch_length)))
    params = [p for g in opt.param_groups for p in g["params"]]
    for _ in range(max_epochs):
        for _ in range(epoch_length):
            wrapper.update_params(sum((p * p).sum() for p in params) + 1.0)
            for s in scheds:
                if not s.by_epoch:
                    s.step()
        for s in scheds:
            if s.by_epoch:
                s.step()
    return np.array(used, dtype=np.float64)


@pytest.mark.parametrize("k, E, M", [(2, 5, 3), (3, 7, 4), (3, 4, 2)])
@pytest.mark.parametrize("name", ["iteration", "epoch", "convert", "open_end"])
def test_accumulative_counts_lr_of_each_update(torch_mod, k, E, M, name):
    cfgs = {
        "iteration": [dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=E + 2),
                      dict(type="CosineAnnealingLR", by_epoch=False, begin=E + 2, eta_min=1e-4)],
        "epoch": [dict(type="LinearLR", start_factor=0.25, by_epoch=False, end=5),
                  dict(type="MultiStepLR", by_epoch=True, milestones=[1, 2], gamma=0.5)],
        "convert": [dict(type="StepLR", step_size=1, gamma=0.7, by_epoch=True, convert_to_iter_based=True)],
        # no end: the last partial window's update uses the lr at the last iteration, not k-1 later
        "open_end": [dict(type="ExponentialLR", gamma=0.9, by_epoch=False, end=10**6)],
    }[name]
    theirs = run_accumulating(torch_mod, cfgs, k=k, epoch_length=E, max_epochs=M)
    assert theirs.shape[0] == -(-E * M // k)  # every k iterations, and the last one
    plan = bridge.from_mmengine(cfgs, _opt(torch_mod), epoch_length=E, max_epochs=M, accumulative_counts=k)
    assert plan.total_steps == theirs.shape[0]
    r = parity.compare(plan.values(plan.total_steps, "lr"), theirs, plan.bases("lr"))
    assert r.ok, r.summary(f"accumulative_counts={k} vs mmengine's OptimWrapper")
    # and back: the config written for it carries accumulative_counts and reads back the same plan
    again = bridge.from_mmengine(bridge.to_mmengine(plan), _opt(torch_mod), epoch_length=E, max_epochs=M,
                                 accumulative_counts=k)
    assert again.groups == plan.groups


# ---------------------------------------------------------------------------
# every numeric field of the optimizer's groups is in the plan, as from_torch has it
# ---------------------------------------------------------------------------

OPTIMIZERS = {  # optim_wrapper.optimizer of real configs
    "mmdet_sgd": dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=0.0001),  # _base_/schedules/schedule_1x.py
    "mmpretrain_adamw": dict(type="AdamW", lr=0.001, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_unscheduled_fields_are_constants_like_from_torch(torch_mod, name):
    cfg = dict(OPTIMIZERS[name])
    cls = getattr(torch_mod.optim, cfg.pop("type"))

    def opt():
        return cls([torch_mod.nn.Parameter(torch_mod.zeros(2))], **cfg)

    plan = bridge.from_mmengine([dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=10),
                                 dict(type="MultiStepLR", milestones=[2], by_epoch=True)], opt(),
                                epoch_length=10, max_epochs=3)
    o = opt()
    torch_plan = bridge.from_torch(torch_mod.optim.lr_scheduler.StepLR(o, 5))
    assert plan.fields == torch_plan.fields  # the same fields, in from_torch's order
    g = o.param_groups[0]
    for f in plan.fields:
        if f == "lr":
            continue
        key, _, i = f.partition("[")
        want = g[key][int(i[:-1])] if i else g[key]
        assert plan.groups[0].fields[f].base == want and plan.schedule(f) is None, f
    assert ("betas[1]" in plan.fields) == ("betas" in cfg) and ("momentum" in plan.fields) == ("momentum" in cfg)


def test_config_optimizer_fields_reach_the_plan(tmp_path):
    cfg = tmp_path / "cfg.py"
    cfg.write_text("optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.004, "
                   "betas=(0.9, 0.95), weight_decay=0.05, eps=1e-6), accumulative_counts=2)\n"
                   "param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, eta_min=0.0)]\n"
                   "train_cfg = dict(type='IterBasedTrainLoop', max_iters=101)\n")
    from bridge.spec import resolve

    plan = resolve(str(cfg))
    bases = {f: plan.groups[0].fields[f].base for f in plan.fields}
    assert bases == {"lr": 0.004, "betas[0]": 0.9, "betas[1]": 0.95, "weight_decay": 0.05, "eps": 1e-6}
    assert plan.total_steps == 51  # accumulative_counts=2 over 101 iterations: 50 full windows and the last one


def test_cli_convert_to_mmengine_round_trips_a_config(tmp_path):
    """`sched-bridge convert CFG --to mmengine` writes a config that reads back as the same plan:
    epoch-based windows, momentum and weight decay schedules, accumulative_counts."""
    from bridge.cli import main
    from bridge.spec import resolve

    cfg = tmp_path / "cfg.py"
    cfg.write_text("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4), "
                   "accumulative_counts=3)\n"
                   "param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, end=50),\n"
                   "    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11]),\n"
                   "    dict(type='CosineAnnealingMomentum', by_epoch=True, begin=1, eta_min=0.85),\n"
                   "    dict(type='PolyParamScheduler', param_name='weight_decay', by_epoch=False, power=0.9,"
                   " eta_min=1e-6, begin=40)]\n"
                   "train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12)\n")
    out = tmp_path / "out.py"
    assert main(["convert", str(cfg), "--to", "mmengine", "--epoch-length", "40", "-o", str(out)]) == 0
    text = out.read_text()
    assert "accumulative_counts=3" in text and "EpochBasedTrainLoop" in text and "--epoch-length 40" in text
    a, b = resolve(str(cfg), epoch_length=40), resolve(str(out), epoch_length=40)
    assert a.groups == b.groups and a.total_steps == b.total_steps == 160
