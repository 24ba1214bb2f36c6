"""to_mindspore_scheduler against real MindSpore (mindspore.experimental.optim, PyNative): one
scheduler class, the state format every plan-driven scheduler shares, the lr the optimizer uses."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest

import bridge
from bridge import Plan, SpecError
from bridge.groups import state
from bridge.ir import CosineAnnealing, Linear, Sequential, Table

pytestmark = pytest.mark.mindspore

WARM, T_MAX, ETA = 50, 300, 1e-3
BASES = (0.2, 0.05)
PLAN = Plan.single(Sequential((Linear(0.1, 1.0, WARM), CosineAnnealing(T_MAX, eta_min=ETA)), (WARM,)),
                   base=list(BASES))


def formula(t: int, base: float) -> float:
    """torch's SequentialLR([LinearLR(0.1, total_iters=50), CosineAnnealingLR(300, eta_min=1e-3)],
    milestones=[50]), written out (the cosine is periodic past T_max)."""
    if t < WARM:
        return base * (0.1 + 0.9 * t / WARM)
    return ETA + (base - ETA) * (1 + math.cos(math.pi * (t - WARM) / T_MAX)) / 2


def _opt(ms, n_groups=2):
    from mindspore.experimental import optim

    groups = [{"params": [ms.Parameter(ms.Tensor(np.zeros(1, np.float32)), name=f"w{i}")], "lr": 1.0}
              for i in range(n_groups)]
    return optim.SGD(groups, lr=1.0)


def _lrs(opt):
    return [float(g["lr"].asnumpy()) for g in opt.param_groups]


def _run(opt, sched, steps):
    """Row t: each group's lr (float32, as the optimizer holds it) after t scheduler steps."""
    rows = []
    for t in range(steps):
        if t:
            sched.step()
        rows.append(_lrs(opt))
    return np.array(rows)


def test_state_round_trip_follows_the_formula(ms):
    """Step k, save (pickled), a new scheduler on a new optimizer loads it and continues: the
    uninterrupted run, the written-out schedule in float32, exactly plan.values rounded to float32,
    and the next update of the real optimizer uses lr(k)."""
    n, k = 1100, 1030  # k is past a chunk boundary (1024) and not on one
    o = _opt(ms)
    s = bridge.to_mindspore_scheduler(PLAN, o)
    first = _run(o, s, k + 1)  # rows 0..k: k steps done
    sd = pickle.loads(pickle.dumps(s.state_dict()))
    full = np.concatenate([first[:k], _run(o, s, n - k)])  # the same scheduler, uninterrupted
    assert sd["format"] == "sched-bridge/PlanScheduler" and sd["step"] == sd["last_epoch"] == k
    assert state.step_from(sd) == k
    o2 = _opt(ms)
    s2 = bridge.to_mindspore_scheduler(bridge.from_dict(PLAN.to_dict()), o2)  # the plan re-read from its file
    # one class, defined once
    assert type(s2) is type(s) and type(s).__name__ == "PlanScheduler"
    assert bridge.frameworks.mindspore.PlanScheduler is type(s)
    s2.load_state_dict(sd)
    assert _lrs(o2) == list(first[k])
    # the optimizer's next update really uses lr(k): w = 0 - lr * 1
    ws = [g["params"][0] for g in o2.param_groups]
    o2(tuple(ms.Tensor(np.ones(1, np.float32)) for _ in ws))
    assert [-float(w.asnumpy()[0]) for w in ws] == list(first[k])
    got = np.concatenate([first[:k], _run(o2, s2, n - k)])
    assert np.array_equal(got, full)
    want = np.array([[formula(t, b) for b in BASES] for t in range(n)])
    assert np.all(np.abs(got - want) <= 2.0 ** -24 * np.abs(want)), np.max(np.abs(got - want) / want)
    assert np.array_equal(got, PLAN.values(n).astype(np.float32).astype(np.float64))


def test_state_refusals_and_past_the_end(ms):
    o = _opt(ms)
    s = bridge.to_mindspore_scheduler(PLAN, o)
    for _ in range(7):
        s.step()
    sd = s.state_dict()
    other = bridge.to_mindspore_scheduler(Plan.single(CosineAnnealing(T_MAX), base=list(BASES)), _opt(ms))
    with pytest.raises(SpecError, match="another plan: other schedules or base values"):
        other.load_state_dict(sd)
    three = bridge.to_mindspore_scheduler(Plan.single(CosineAnnealing(T_MAX), base=[0.1] * 3), _opt(ms, 3))
    with pytest.raises(SpecError, match="2 param group"):
        three.load_state_dict(sd)
    with pytest.raises(SpecError, match="not a PlanScheduler state"):
        other.load_state_dict({"last_epoch": 7, "base_lrs": list(BASES)})
    # a plan of N values: N reads and N step() calls without a warning; past the end the last
    # value is held and the step past step N warns once
    values = [0.01 * (i + 1) for i in range(5)]
    plan = Plan.single(Table(tuple(values), after="error"), base=[values[0]] * 2)
    o = _opt(ms)
    s = bridge.to_mindspore_scheduler(plan, o)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(len(values)):
            seen.append(_lrs(o)[0])
            s.step()
    assert seen == [float(np.float32(v)) for v in values]
    with pytest.warns(bridge.PlanEndWarning, match="past the end"):
        s.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()
    assert _lrs(o) == [float(np.float32(values[-1]))] * 2
    o2 = _opt(ms)
    s2 = bridge.to_mindspore_scheduler(plan, o2)
    s2.load_state_dict(s.state_dict())  # resumed past the end: still the last value
    assert _lrs(o2) == [float(np.float32(values[-1]))] * 2


def test_torch_plan_scheduler_state_continues_in_mindspore(torch_mod, ms):
    """One state format: the state of torch's PlanScheduler after k steps resumes the same plan
    on MindSpore, which then follows torch's run (rounded to float32)."""
    torch = torch_mod
    n, k = 400, 130
    topt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in BASES], lr=1.0)
    ts = bridge.to_torch(PLAN, topt, prefer_native=False)
    for _ in range(k):
        topt.step()
        ts.step()
    sd = ts.state_dict()
    theirs = []
    for _ in range(n - k):
        theirs.append([g["lr"] for g in topt.param_groups])
        topt.step()
        ts.step()
    o = _opt(ms)
    s = bridge.to_mindspore_scheduler(PLAN, o)
    s.load_state_dict(sd)
    assert np.array_equal(_run(o, s, n - k), np.array(theirs, dtype=np.float32).astype(np.float64))


# ---------------------------------------------------------------------------
# import: every experimental scheduler class, read into the record and mapped by torch's table,
# against the real MindSpore scheduler stepped here
# ---------------------------------------------------------------------------

GROUPS3 = (0.1, 0.02, 0.05)
#: MindSpore steps in float32: ours (float64) and theirs agree within this, relative to the value
#: or the group's base ...
RTOL32 = 2e-5
#: ... plus this much per step where a chainable scheduler runs alone: it multiplies its float32 lr
#: by a float32 factor every step and the rounding adds up (a CosineAnnealingLR(T_max=9) measured
#: up to ~2.1e-7 of its base per step, 3.7e-4 after 1,750 steps; docs/traps.md); a SequentialLR restarts its children
#: from their closed form at each milestone
RTOL32_PER_STEP = 2.0 ** -22


def _xsgd(ms, bases=GROUPS3):
    from mindspore.experimental import optim

    groups = [{"params": [ms.Parameter(ms.Tensor(np.zeros(1, np.float32)), name=f"x{i}")], "lr": b}
              for i, b in enumerate(bases)]
    return optim.SGD(groups, lr=1.0)


def _theirs(opt, sched, steps, metrics=None):
    """Row t: each group's lr after t scheduler steps (metrics: ReduceLROnPlateau's)."""
    rows = []
    for t in range(steps):
        if t:
            sched.step() if metrics is None else sched.step(ms_tensor(metrics[t - 1]))
        rows.append(_lrs(opt))
    return np.array(rows)


def ms_tensor(x):
    import mindspore

    return mindspore.Tensor(x, mindspore.float32)


def _assert_close(ours, theirs, bases, per_step=0.0):
    scale = np.maximum(np.abs(theirs), np.asarray(bases)[None, :])
    err = np.abs(ours - theirs) / scale
    allowed = RTOL32 + per_step * np.arange(len(theirs))[:, None]
    assert np.all(err <= allowed), (int(np.argmax((err / allowed).max(axis=1))), float(err.max()))


#: one constructor per class MindSpore 2.10 ships (ReduceLROnPlateau: separately, it needs metrics)
LEAVES = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[3, 9, 9, 40], gamma=0.5),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.97),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=30, power=2.0),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=5),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=9, eta_min=0.001),
    "LambdaLR": lambda S, o: S.LambdaLR(o, [lambda e: 0.98 ** e, lambda e: 1.0 / (1 + e), lambda e: 0.5]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.97 if e % 2 else 1.01),
    "CyclicLR": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.002, 0.005], max_lr=[0.1, 0.02, 0.05],
                                        step_size_up=4, step_size_down=3, mode="triangular2"),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
}


def test_every_class_is_covered(ms):
    """The classes the reader knows are every scheduler MindSpore 2.10's module ships (it has no
    ChainedScheduler and no OneCycleLR)."""
    from mindspore.experimental.optim import lr_scheduler as S

    from bridge.frameworks.mindspore_experimental import CLASSES

    shipped = {k for k, v in vars(S).items()
               if isinstance(v, type) and v.__module__ == S.__name__ and k != "LRScheduler"}
    assert shipped == set(CLASSES) == set(LEAVES) | {"SequentialLR", "ReduceLROnPlateau"}
    assert not hasattr(S, "ChainedScheduler") and not hasattr(S, "OneCycleLR")


@pytest.mark.parametrize("name", list(LEAVES))
def test_import_each_class(ms, name):
    from mindspore.experimental.optim import lr_scheduler as S

    o = _xsgd(ms)
    s = LEAVES[name](S, o)
    plan = bridge.from_mindspore(s)
    assert plan.source == f"mindspore.experimental.optim.lr_scheduler.{name}"
    steps = 150
    theirs = _theirs(o, s, steps)
    _assert_close(plan.values(steps), theirs, plan.bases(), RTOL32_PER_STEP)


def test_import_plateau(ms):
    from dataclasses import replace

    from mindspore.experimental.optim import lr_scheduler as S

    o = _xsgd(ms)
    s = S.ReduceLROnPlateau(o, factor=0.5, patience=2, min_lr=[0.0, 0.01, 0.0])
    plan = bridge.from_mindspore(s)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9] * 4
    theirs = _theirs(o, s, len(metrics) + 1, metrics)
    with_metrics = Plan(tuple(type(g)({"lr": type(g.fields["lr"])(
        g.fields["lr"].base, replace(g.fields["lr"].schedule, metrics=tuple(metrics)))}) for g in plan.groups))
    _assert_close(with_metrics.values(len(metrics) + 1), theirs, plan.bases())
    assert theirs[-1, 1] == pytest.approx(0.01) and theirs[-1, 0] < 0.01  # min_lr per group, really reached
    with pytest.raises(bridge.UnsupportedError, match="already seen metrics"):
        bridge.from_mindspore(s)


def test_import_long_sequential_and_resumed(ms):
    """Every class inside one SequentialLR (each one after the first started at a milestone),
    three groups, 2,000 steps; imported fresh and again after 777 steps (a resumed scheduler:
    the plan starts at the lr it holds now)."""
    from mindspore.experimental.optim import lr_scheduler as S

    order = ["MultiStepLR", "LinearLR", "StepLR", "ExponentialLR", "PolynomialLR", "ConstantLR",
             "CosineAnnealingLR", "LambdaLR", "MultiplicativeLR", "CyclicLR", "CosineAnnealingWarmRestarts"]
    o = _xsgd(ms)
    kids = [LEAVES[k](S, o) for k in order]
    milestones = [60 + 170 * i for i in range(len(order) - 1)]
    s = S.SequentialLR(o, kids, milestones=milestones)
    steps, k = 2000, 777
    plan = bridge.from_mindspore(s)
    theirs = _theirs(o, s, k + 1)
    resumed = bridge.from_mindspore(s)  # stepped k times
    theirs = np.concatenate([theirs[:k], _theirs(o, s, steps - k)])
    _assert_close(plan.values(steps), theirs, plan.bases())
    _assert_close(resumed.values(steps - k), theirs[k:], resumed.bases())
    # each class's stretch really ran: the lr moved within it
    for i, m in enumerate(milestones[:-1]):
        assert len(set(theirs[m:milestones[i + 1], 0])) > 1, order[i + 1]


def test_import_refuses_what_mindspore_runs_differently(ms):
    from mindspore.experimental.optim import lr_scheduler as S

    o = _xsgd(ms)
    s = S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=3), S.MultiStepLR(o, [2, 4], 0.5)], milestones=[3])
    with pytest.raises(bridge.UnsupportedError, match="MultiStepLR at a milestone"):
        bridge.from_mindspore(s)
    s.step()
    s.step()
    with pytest.raises(AttributeError, match="step_size"):  # what MindSpore does at the milestone
        s.step()
    o = _xsgd(ms)
    inner = S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=3), S.StepLR(o, 2, 0.5)], milestones=[3])
    outer = S.SequentialLR(o, [inner, S.ExponentialLR(o, 0.9)], milestones=[10])
    with pytest.raises(bridge.UnsupportedError, match="inside a SequentialLR"):
        bridge.from_mindspore(outer)
    # torch's constructors would leave 0.1 * 0.1 here; MindSpore's step the LinearLR twice
    assert _lrs(o)[0] != pytest.approx(0.01)
    o = _xsgd(ms)
    cyc = S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, scale_fn=lambda x: 0.5)
    with pytest.raises(bridge.UnsupportedError, match=r"custom scale_fn.*bridge\.from_mindspore\(values\)"):
        bridge.from_mindspore(cyc)
    # MindSpore's float32 last_epoch: resumed at 2**24 it no longer counts
    o = _xsgd(ms)
    for g in o.param_groups:
        g["initial_lr"] = 0.1
    far = S.StepLR(o, step_size=3, gamma=0.5, last_epoch=2 ** 24)
    far.step()
    assert float(far.last_epoch.asnumpy()) == 2 ** 24  # did not move
    with pytest.raises(bridge.UnsupportedError, match="stops counting"):
        bridge.from_mindspore(far)
