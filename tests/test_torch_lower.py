"""to_torch against real torch: native twins, PlanScheduler, round trips, resume, errors."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from _require import need

pytestmark = pytest.mark.torch

torch = need("torch")  # fails instead of skipping where BRIDGE_REQUIRE has torch
L: Any = torch.optim.lr_scheduler

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_torch_import import CASES, assert_follows, make_opt  # noqa: E402

import bridge  # noqa: E402
from bridge import Plan, SpecError, parity  # noqa: E402
from bridge.frameworks._source import snippet  # noqa: E402
from bridge.frameworks.torch import from_torch, record_torch, to_torch  # noqa: E402
from bridge.ir import (  # noqa: E402
    Chain,
    Constant,
    CosineAnnealing,
    Linear,
    OneCycle,
    OneCycleMomentum,
    Sequential,
    Step,
)
from bridge.ir.plan import Field, Group  # noqa: E402


def close(a, b, base, what=""):
    """``a`` follows ``b`` under the float64 contract (bridge.parity.compare)."""
    r = parity.compare(a, b, base)
    assert r.ok, r.summary(str(what))


def roundtrip(make, steps, kind="sgd", prefer_native=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = make_opt(kind)
        s = make(opt)
        plan = from_torch(s)
        fields = plan.fields
        theirs = record_torch(s, opt, steps, fields)
        opt2 = make_opt(kind, lrs=(1.0, 2.0, 3.0))  # its own lrs must not matter
        s2 = to_torch(plan, opt2, prefer_native=prefer_native)
        ours = record_torch(s2, opt2, steps, fields)
    for f in fields:
        close(ours[f], theirs[f], plan.bases(f), f)
    return s2


NATIVE = {"lambda_per_group", "lambda_shared", "multiplicative", "multiplicative_groups", "step",
          "multistep_repeats", "constant", "linear", "linear_down", "exponential", "polynomial",
          "cosine_periodic", "cosine_eta_min_long", "warm_restarts", "warm_restarts_mult", "cyclic_triangular",
          "cyclic_tri2_groups", "cyclic_exp_range", "cyclic_no_momentum", "one_cycle", "one_cycle_three_linear",
          "sequential_warmup_cosine", "sequential_milestone0", "sequential_early_milestone",
          "sequential_multiplicative_after", "sequential_lambda_after", "sequential_three",
          "chained_constant_exp", "chained_linear_cosine_eta", "chained_three", "seq_in_chain"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_roundtrip_follows_torch(name):
    make, steps = CASES[name]
    s2 = roundtrip(make, min(steps, 4000))
    expect = "PlanScheduler" if name not in NATIVE else type(make(make_opt())).__name__
    assert type(s2).__name__ == expect


@pytest.mark.parametrize("name", ["sequential_warmup_cosine", "chained_linear_cosine_eta", "one_cycle",
                                  "cyclic_tri2_groups", "lambda_per_group", "cosine_eta_min_long",
                                  "warm_restarts_mult", "sequential_multiplicative_after"])
def test_plan_scheduler_follows_torch(name):
    make, steps = CASES[name]
    s2 = roundtrip(make, steps, kind="adamw", prefer_native=False)
    assert type(s2).__name__ == "PlanScheduler"


def test_plan_scheduler_drives_betas_tuple_and_constants():
    plan = Plan((Group({"lr": Field(0.1, OneCycle(total_steps=100)),
                        "betas[0]": Field(0.95, OneCycleMomentum(total_steps=100)),
                        "weight_decay": Field(0.05)}),))
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=3.0, weight_decay=0.0, betas=(0.5, 0.9))
    s = to_torch(plan, opt, prefer_native=False)
    rec = record_torch(s, opt, 101, ["lr", "betas[0]", "betas[1]", "weight_decay"])
    assert isinstance(opt.param_groups[0]["betas"], tuple)
    assert np.all(rec["betas[1]"] == 0.9) and np.all(rec["weight_decay"] == 0.05)
    for f in ("lr", "betas[0]"):
        close(rec[f], plan.values(101, f), plan.bases(f))
    # the native twin drives beta1 too
    opt = torch.optim.AdamW([p], lr=3.0, weight_decay=0.0, betas=(0.5, 0.9))
    s = to_torch(plan, opt)
    assert type(s).__name__ == "OneCycleLR"
    rec2 = record_torch(s, opt, 101, ["lr", "betas[0]"])
    for f in ("lr", "betas[0]"):
        close(rec2[f], plan.values(101, f), plan.bases(f))


def _resume(plan, kind, prefer_native, stop, total):
    def build():
        p = [torch.nn.Parameter(torch.zeros(1)) for _ in range(plan.n_groups)]
        opt = torch.optim.SGD([{"params": [q]} for q in p], lr=0.5, momentum=0.5)
        return opt, to_torch(plan, opt, prefer_native=prefer_native)

    opt, s = build()
    full = record_torch(s, opt, total, ["lr", "momentum"])
    opt, s = build()
    first = record_torch(s, opt, stop + 1, ["lr", "momentum"])
    osd, ssd = opt.state_dict(), s.state_dict()
    torch.save({"o": osd, "s": ssd}, "/dev/null")  # state dicts are picklable
    opt2, s2 = build()
    opt2.load_state_dict(osd)
    s2.load_state_dict(ssd)
    assert type(s2).__name__ == kind
    rest = record_torch(s2, opt2, total - stop, ["lr", "momentum"])
    for f in ("lr", "momentum"):
        got = np.concatenate([first[f][:stop], rest[f]])
        assert np.array_equal(got, full[f]), f


DEEP = Sequential((Linear(0.1, 1.0, 50), Chain((Step(100, 0.5), CosineAnnealing(300, eta_min=1e-3))),
                   Sequential((CosineAnnealing(80), Step(7, 0.9)), (200,))), (50, 2000))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("native", [True, False])
def test_resume_is_exact(seed, native):
    rng = np.random.default_rng(seed)
    stop = int(rng.integers(1, 2999))
    node = Chain((Sequential((Linear(0.1, 1.0, 50), CosineAnnealing(300, eta_min=1e-3)), (50,)), Step(100, 0.5)))
    plan = Plan((Group({"lr": Field(0.1, node), "momentum": Field(0.9)}),
                 Group({"lr": Field(0.02, node), "momentum": Field(0.8)})))
    _resume(plan, "ChainedScheduler" if native else "PlanScheduler", native, stop, 3000)


@pytest.mark.parametrize("seed", range(2))
def test_resume_deep_recursive_plan_scheduler(seed):
    stop = int(np.random.default_rng(10 + seed).integers(1, 4999))
    plan = Plan((Group({"lr": Field(0.1, DEEP), "momentum": Field(0.9)}),
                 Group({"lr": Field(0.3, DEEP), "momentum": Field(0.7)})))
    _resume(plan, "PlanScheduler", True, stop, 5000)
    # and it is what the IR says
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p]}, {"params": [torch.nn.Parameter(torch.zeros(1))]}], lr=1.0, momentum=0.1)
    rec = record_torch(to_torch(plan, opt), opt, 5000, ["lr"])
    close(rec["lr"], plan.values(5000), plan.bases())


def test_group_count_mismatch_is_a_spec_error():
    plan = Plan.single(Step(10), base=[0.1, 0.2])
    opt = make_opt()  # three groups
    with pytest.raises(SpecError, match="plan has 2 param group.*optimizer has 3"):
        to_torch(plan, opt)
    with pytest.raises(SpecError, match="plan has 2"):
        to_torch(plan, opt, prefer_native=False)


def test_missing_field_is_a_spec_error():
    plan = Plan((Group({"lr": Field(0.1, Step(10)), "momentum": Field(0.9)}),))
    p = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(SpecError, match="betas"):
        to_torch(plan, torch.optim.Adam([p]))


# ---------------------------------------------------------------------------
# Hypothesis: random SequentialLR / ChainedScheduler of random leaves
# ---------------------------------------------------------------------------

LEAVES = [
    lambda o, d: L.StepLR(o, d.draw(st.integers(1, 40)), d.draw(st.sampled_from([0.5, 0.9, 0.1]))),
    lambda o, d: L.MultiStepLR(o, sorted(d.draw(st.lists(st.integers(0, 150), max_size=4))), 0.5),
    lambda o, d: L.ConstantLR(o, d.draw(st.sampled_from([0.1, 0.5, 1.0])), d.draw(st.integers(0, 60))),
    lambda o, d: L.LinearLR(o, d.draw(st.sampled_from([0.1, 0.3, 1.0])), d.draw(st.sampled_from([1.0, 0.5])),
                            d.draw(st.integers(1, 60))),
    lambda o, d: L.ExponentialLR(o, d.draw(st.sampled_from([0.99, 0.95]))),
    lambda o, d: L.PolynomialLR(o, d.draw(st.integers(1, 120)), d.draw(st.sampled_from([1.0, 2.0, 0.5]))),
    lambda o, d: L.CosineAnnealingLR(o, d.draw(st.integers(1, 60)), d.draw(st.sampled_from([0.0, 1e-3]))),
    lambda o, d: L.CosineAnnealingWarmRestarts(o, d.draw(st.integers(1, 30)), d.draw(st.integers(1, 3))),
    lambda o, d: L.LambdaLR(o, lambda e: 1.0 / (1.0 + 0.01 * e)),
    lambda o, d: L.MultiplicativeLR(o, lambda e: 0.98),
]


def _leaf(o, d):
    return LEAVES[d.draw(st.integers(0, len(LEAVES) - 1))](o, d)


def _composite(o, d, depth):
    kind = d.draw(st.sampled_from(["seq", "chain", "leaf"] if depth else ["leaf"]))
    if kind == "leaf":
        return _leaf(o, d)
    n = d.draw(st.integers(1, 3))
    if kind == "chain":
        kids = [_composite(o, d, depth - 1) for _ in range(n)]
        return L.ChainedScheduler(kids)
    kids = [_leaf(o, d) for _ in range(n)]
    ms = sorted(d.draw(st.lists(st.integers(0, 150), min_size=n - 1, max_size=n - 1)))
    return L.SequentialLR(o, kids, ms)


@settings(max_examples=int(__import__("os").environ.get("BRIDGE_HYP_EXAMPLES", "25")), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_compositions(data):
    steps = 400
    opt = make_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = _composite(opt, data, 2)
        plan = from_torch(s, fields=["lr"])
        theirs = record_torch(s, opt, steps, ["lr"])
        assert_follows(plan, {"lr": theirs["lr"]}, steps)
        for native in (True, False):
            opt2 = make_opt()
            s2 = to_torch(plan, opt2, prefer_native=native)
            ours = record_torch(s2, opt2, steps, ["lr"])
            close(ours["lr"], theirs["lr"], plan.bases(), (native, type(s2).__name__))


# ---------------------------------------------------------------------------
# torch refuses some native constructors: those plans get the PlanScheduler
# ---------------------------------------------------------------------------


def _lin(t, s, e, T):
    return s + (e - s) * min(t, T) / T


def _hf_linear(t, W=10, T=100):
    return t / W if t < W else max(0.0, (T - t) / (T - W))


def _hf_cosine(t, W=10, T=100):
    return t / W if t < W else max(0.0, 0.5 * (1.0 + math.cos(math.pi * (t - W) / (T - W))))


def _ms_warmup(t, spe=2, W=3):  # mindspore warmup_lr: the epoch floor(t/spe), capped at W
    return min(t // spe, W) / W


#: plan -> formula of the factor of base 0.1 (written out, not read from the evaluator)
REFUSED_NATIVE = {
    "ir_linear_from_0": (lambda: Plan.single(Linear(start_factor=0.0, end_factor=1.0, total_iters=10), 0.1),
                         lambda t: _lin(t, 0.0, 1.0, 10)),
    "ir_linear_above_1": (lambda: Plan.single(Linear(start_factor=0.5, end_factor=2.0, total_iters=8), 0.1),
                          lambda t: _lin(t, 0.5, 2.0, 8)),
    "ir_constant_0": (lambda: Plan.single(Constant(factor=0.0, total_iters=6), 0.1), lambda t: 0.0 if t < 6 else 1.0),
    "ir_constant_above_1": (lambda: Plan.single(Constant(factor=3.0, total_iters=6), 0.1),
                            lambda t: 3.0 if t < 6 else 1.0),
    "ir_constant_no_iters": (lambda: Plan.single(Constant(factor=0.5, total_iters=0), 0.1), lambda t: 1.0),
    "ir_warmup_cosine": (lambda: Plan.single(Sequential((Linear(0.0, 1.0, 5), CosineAnnealing(10)), (5,)), 0.1),
                         lambda t: _lin(t, 0.0, 1.0, 5) if t < 5 else (1 + math.cos(math.pi * (t - 5) / 10)) / 2),
    "ir_chain_constant_above_1": (lambda: Plan.single(Chain((Constant(2.0, 4), Step(3, 0.5))), 0.1),
                                  lambda t: (2.0 if t < 4 else 1.0) * 0.5 ** (t // 3)),
    "hf_linear": (lambda: bridge.from_hf("linear", num_warmup_steps=10, num_training_steps=100, base_lr=0.1),
                  _hf_linear),
    "hf_cosine": (lambda: bridge.from_hf("cosine", num_warmup_steps=10, num_training_steps=100, base_lr=0.1),
                  _hf_cosine),
    "mindspore_warmup_lr": (lambda: bridge.from_mindspore("warmup_lr", 0.1, 12, 2, 3), _ms_warmup),
}


def _sgd(lr=0.5, n=1):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(n)], lr=lr)


@pytest.mark.parametrize("name", sorted(REFUSED_NATIVE))
def test_plans_torch_refuses_natively_still_lower(name):
    make, formula = REFUSED_NATIVE[name]
    plan = make()
    want = np.array([0.1 * formula(t) for t in range(120)])
    opt = _sgd()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing from torch either
        s = to_torch(plan, opt)
        got = record_torch(s, opt, 120, ["lr"])["lr"][:, 0]
    if name == "mindspore_warmup_lr":  # a 12-value list: held past its end
        want[12:] = want[11]
    close(got, want, 0.1, name)
    # the written source: plain constructors only where torch runs them
    ns = {"optimizer": _sgd()}
    exec(snippet(plan, "torch"), ns)  # our own generated source
    got2 = record_torch(ns["scheduler"], ns["optimizer"], 120, ["lr"])["lr"][:, 0]
    close(got2, want, 0.1, name)


def test_lower_and_parity_cli_on_a_warmup_from_0(tmp_path, capsys):
    from bridge.cli import main

    path = tmp_path / "warm.json"
    REFUSED_NATIVE["ir_warmup_cosine"][0]().dump(path)
    assert main(["lower", "--to", "torch", str(path)]) == 0
    src = capsys.readouterr().out
    assert "start_factor=0.0" not in src
    assert main(["parity", "--frameworks", "torch", str(path), "--steps", "60"]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err and "MISMATCH" not in out.out


def test_parity_of_a_torch_expression_runs_torch_itself(capsys):
    from bridge.cli import main

    expr = ("SequentialLR([OneCycleLR(max_lr=1.0, total_steps=100, cycle_momentum=False), "
            "CosineAnnealingWarmRestarts(T_0=4), OneCycleLR(max_lr=0.5, total_steps=100, cycle_momentum=False)], "
            "milestones=[5, 10])")
    assert main(["parity", "--frameworks", "torch", "--lr", "0.3", expr, "--steps", "60"]) == 0
    out = capsys.readouterr().out
    row = [ln for ln in out.splitlines() if ln.startswith("torch (source)")]
    assert row and row[0].split()[2:4] == ["source", "ok"], out  # target, kind, result columns
    # torch refusing the expression itself is a failed row, not a traceback
    assert main(["parity", "--frameworks", "torch", "ConstantLR(factor=0.0, total_iters=3)", "--steps", "9"]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err and "torch (source)" in out.out and "ZeroDivisionError" in out.out


# ---------------------------------------------------------------------------
# a plan of N values: the standard loop runs to its end; past it the last value is held
# ---------------------------------------------------------------------------


def test_plan_from_a_list_runs_through_the_standard_loop():
    from bridge import PlanEndWarning

    values = [0.05 * (i + 1) for i in range(7)]
    plan = bridge.from_mindspore(values)
    opt = _sgd()
    s = to_torch(plan, opt)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning in the standard loop, N-th step() included
        for _ in range(len(values)):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            s.step()
    assert seen == values
    assert opt.param_groups[0]["lr"] == values[-1]  # what update N would use: the last value
    with pytest.warns(PlanEndWarning, match="past the end"):
        opt.step()  # update N ran beyond the list
        s.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once
        for _ in range(3):
            opt.step()
            s.step()
    assert opt.param_groups[0]["lr"] == values[-1] and s.get_last_lr() == [values[-1]]
    # resumed past the end: still the last value
    s2 = to_torch(plan, _sgd())
    s2.load_state_dict(s.state_dict())
    assert s2.optimizer.param_groups[0]["lr"] == values[-1]


def test_one_cycle_plan_scheduler_holds_past_total_steps():
    plan = Plan((Group({"lr": Field(1.0, OneCycle(total_steps=10)), "momentum": Field(0.95,
                 OneCycleMomentum(total_steps=10))}),))
    ref_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0, momentum=0.9)
    ref = L.OneCycleLR(ref_opt, max_lr=1.0, total_steps=10)
    theirs = record_torch(ref, ref_opt, 11, ["lr", "momentum"])  # steps 0..10; torch raises on the next
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0, momentum=0.9)
    s = to_torch(plan, opt, prefer_native=False)
    ours = record_torch(s, opt, 11, ["lr", "momentum"])
    for f in ("lr", "momentum"):
        close(ours[f], theirs[f], plan.bases(f))
    with pytest.warns(bridge.PlanEndWarning):
        for _ in range(2):
            opt.step()
            s.step()
    assert opt.param_groups[0]["lr"] == theirs["lr"][10, 0] and opt.param_groups[0]["momentum"] == theirs["momentum"][10, 0]


# ---------------------------------------------------------------------------
# PlanScheduler states know their plan
# ---------------------------------------------------------------------------


def test_plan_scheduler_refuses_foreign_states():
    plan = Plan.single(Sequential((Linear(0.1, 1.0, 5), Step(3, 0.5)), (5,)), base=[0.1, 0.2])
    s = to_torch(plan, _sgd(n=2), prefer_native=False)
    for _ in range(9):
        s.optimizer.step()
        s.step()
    sd = s.state_dict()
    # the same plan, rebuilt from its file form: resumes
    s2 = to_torch(bridge.from_dict(plan.to_dict()), _sgd(n=2), prefer_native=False)
    s2.load_state_dict(sd)
    assert [g["lr"] for g in s2.optimizer.param_groups] == [g["lr"] for g in s.optimizer.param_groups]
    opt = _sgd(n=2)
    native = L.ChainedScheduler([L.StepLR(opt, 3), L.ExponentialLR(opt, 0.9)])
    with pytest.raises(bridge.BridgeError, match="not a PlanScheduler state"):
        s2.load_state_dict(native.state_dict())
    with pytest.raises(bridge.BridgeError, match="not a PlanScheduler state"):
        s2.load_state_dict(L.StepLR(_sgd(n=2), 3).state_dict())
    other = to_torch(Plan.single(Step(3, 0.5), base=[0.1, 0.2]), _sgd(n=2), prefer_native=False)
    with pytest.raises(bridge.BridgeError, match="another plan: other schedules or base values"):
        other.load_state_dict(sd)
    three = to_torch(Plan.single(Step(3, 0.5), base=[0.1, 0.2, 0.3]), _sgd(n=3), prefer_native=False)
    with pytest.raises(bridge.BridgeError, match="2 param group"):
        three.load_state_dict(sd)


# a state round trip through torch.save is the uninterrupted run, torch's own scheduler's values
# and, bit for bit, plan.values (the driver evaluates as the plan does; torch is the reference)
STATE_CASES = {
    # lr and momentum, two groups with their own max_lr
    "one_cycle": (lambda o: L.OneCycleLR(o, max_lr=[0.4, 0.1], total_steps=6000), ("lr", "momentum")),
    # torch's chainable arithmetic (recursive: cosine past T_max), carried across chunks and the load
    "chained_cosine": (lambda o: L.ChainedScheduler([L.LinearLR(o, 0.1, 1.0, 50),
                                                     L.CosineAnnealingLR(o, 300, 1e-3)], optimizer=o), ("lr",)),
}


@pytest.mark.parametrize("name", sorted(STATE_CASES))
def test_plan_scheduler_state_round_trip_follows_torch(name):
    import io

    make, fields = STATE_CASES[name]
    n, k = 5000, 1500  # k is not on a chunk boundary; n spans several chunks

    def opt_():
        return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(2)],
                               lr=0.3, momentum=0.9)

    ref_opt = opt_()
    native = make(ref_opt)
    plan = from_torch(native)
    theirs = record_torch(native, ref_opt, n, fields)  # torch's own scheduler
    o = opt_()
    full = record_torch(to_torch(plan, o, prefer_native=False), o, n, fields)
    o = opt_()
    s = to_torch(plan, o, prefer_native=False)
    first = record_torch(s, o, k + 1, fields)  # rows 0..k: k steps done
    buf = io.BytesIO()
    torch.save(s.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf)
    assert sd["format"] == "sched-bridge/PlanScheduler" and sd["step"] == sd["last_epoch"] == k
    o2 = opt_()
    s2 = to_torch(bridge.from_dict(plan.to_dict()), o2, prefer_native=False)  # the plan re-read from its file form
    assert type(s2).__name__ == "PlanScheduler"
    s2.load_state_dict(sd)
    rest = record_torch(s2, o2, n - k, fields)  # rows k..n-1
    for f in fields:
        got = np.concatenate([first[f][:k], rest[f]])
        assert np.array_equal(got, full[f]), f
        close(got, theirs[f], plan.bases(f), f)
        assert np.array_equal(got, plan.values(n, f)), f


def test_mindspore_warmup_cell_lowers_to_torch(ms):
    from mindspore.nn.learning_rate_schedule import WarmUpLR

    plan = bridge.from_mindspore(WarmUpLR(0.1, 10))  # lr * min(step, 10) / 10: from 0
    opt = _sgd()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = record_torch(to_torch(plan, opt), opt, 30, ["lr"])["lr"][:, 0]
    want = np.array([0.1 * min(t, 10) / 10 for t in range(30)])
    close(got, want, 0.1)


# expressions are read by from_torch's record table: the order their constructors run
# in (as Python runs the expression) decides every base, as in torch
EXPRESSIONS = [
    "SequentialLR([OneCycleLR(max_lr=1.0, total_steps=900, cycle_momentum=False), CosineAnnealingWarmRestarts(T_0=4), "
    "OneCycleLR(max_lr=0.5, total_steps=900, cycle_momentum=False)], milestones=[5, 10])",
    # built first, a CyclicLR makes its base_lr the groups' initial_lr
    "SequentialLR([CyclicLR(base_lr=0.02, max_lr=0.1, step_size_up=6, step_size_down=23, cycle_momentum=False), "
    "CosineAnnealingWarmRestarts(T_0=24)], milestones=[125])",
    # built after another one, a CyclicLR starts from the initial_lr it finds
    "ChainedScheduler([ExponentialLR(gamma=0.99), StepLR(step_size=126, gamma=0.9), CyclicLR(base_lr=[0.01, 0.02], "
    "max_lr=0.2, step_size_up=112, step_size_down=137, mode='exp_range', gamma=0.999, cycle_momentum=False)])",
    # a OneCycleLR's first value uses its own max_lr; later ones read the last one's
    "ChainedScheduler([ChainedScheduler([StepLR(step_size=18, gamma=0.9), OneCycleLR(max_lr=[0.05, 0.1], "
    "total_steps=642, pct_start=0.45, div_factor=10.0, cycle_momentum=False), CyclicLR(base_lr=[0.02, 0.01], "
    "max_lr=0.1, step_size_up=139, step_size_down=139, mode='triangular2', cycle_momentum=False)]), "
    "OneCycleLR(max_lr=0.3, total_steps=700, three_phase=True, cycle_momentum=False)])",
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_expression_plans_follow_torch_built_from_them(expr):
    from bridge.spec import build_torch, parse_expression

    lrs = [0.3, 0.05]
    plan = parse_expression(expr, lr=lrs)
    opt = _sgd(n=2)
    for g, lr in zip(opt.param_groups, lrs):
        g["lr"] = lr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = record_torch(build_torch(expr, opt), opt, 600, ["lr"])["lr"]
    close(plan.values(600), theirs, plan.bases())


# ---------------------------------------------------------------------------
# the table back: IR -> record (torch.record_of) -> the native object / the written source
# ---------------------------------------------------------------------------

_NOT_ARGS = {"self", "optimizer", "last_epoch", "verbose", "schedulers"}


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_record_of_is_what_torch_builds_and_imports_back(name):
    """The record of an imported plan binds every parameter of torch's own constructor; built
    into a real scheduler (to_torch) and read back with read_torch it is the record torch's
    constructors store (bridge.spec._torch_built: what an expression with the same call gives);
    mapped by torch's table it is the plan again."""
    import inspect

    from bridge.frameworks.torch import import_record, read_torch, record_of
    from bridge.spec import _torch_built

    make, _ = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = from_torch(make(make_opt()))
        rec = record_of(plan)
        assert rec is not None and rec.dialect == "torch" and rec.name == type(make(make_opt())).__name__
        for c in rec.walk():
            params = set(inspect.signature(getattr(L, c.name).__init__).parameters) - _NOT_ARGS
            assert set(c.args) == params, c.name
        opt = make_opt(lrs=(1.0, 2.0, 3.0))  # to_torch writes the plan's bases
        live = read_torch(to_torch(plan, opt))
        _same_record(_torch_built(rec, list(plan.bases()))[0], live, name)
        assert live.step == 0
        assert import_record(live, opt.param_groups, plan.fields) == plan


def _same_record(ours, live, path):
    """Records equal but for what torch does not keep: pct_start (None when read), and the
    counters of a SequentialLR's children (its constructor moves them; the table reads the top's)."""
    assert (ours.dialect, ours.name, dict(ours.group_values)) == (live.dialect, live.name, dict(live.group_values)), path
    want = dict(ours.args, pct_start=None) if ours.name == "OneCycleLR" else dict(ours.args)
    assert want == dict(live.args), path
    assert len(ours.children) == len(live.children), path
    for i, (a, b) in enumerate(zip(ours.children, live.children)):
        _same_record(a, b, f"{path}[{i}]")


def test_record_of_none_where_no_native_twin():
    from bridge.frameworks.torch import record_of

    assert record_of(Plan.single(Linear(2.0, 1.0, 10), base=0.1)) is None  # torch refuses start_factor > 1
    assert record_of(Plan.single(Step(5, 0.5), base=[0.1]).with_field("momentum", Step(5, 0.5), base=[0.9])) is None
