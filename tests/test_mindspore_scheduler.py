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
