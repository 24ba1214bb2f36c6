"""to_torch against real torch: native twins, PlanScheduler, round trips, resume, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_torch_import import CASES, assert_follows, make_opt  # noqa: E402

from bridge import Plan, SpecError  # noqa: E402
from bridge.frameworks.torch import from_torch, record_torch, to_torch  # noqa: E402
from bridge.ir import Chain, CosineAnnealing, Linear, OneCycle, OneCycleMomentum, Sequential, Step  # noqa: E402
from bridge.ir.plan import Field, Group  # noqa: E402


def close(a, b, base):
    scale = np.maximum(np.abs(b), np.abs(base))
    err = np.abs(a - b) / np.where(scale > 0, scale, 1.0)
    return float(err.max())


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
        assert close(ours[f], theirs[f], plan.bases(f)) <= 1e-12, f
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
        assert close(rec[f], plan.values(101, f), plan.bases(f)) <= 1e-12
    # the native twin drives beta1 too
    opt = torch.optim.AdamW([p], lr=3.0, weight_decay=0.0, betas=(0.5, 0.9))
    s = to_torch(plan, opt)
    assert type(s).__name__ == "OneCycleLR"
    rec2 = record_torch(s, opt, 101, ["lr", "betas[0]"])
    for f in ("lr", "betas[0]"):
        assert close(rec2[f], plan.values(101, f), plan.bases(f)) <= 1e-12


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
    assert close(rec["lr"], plan.values(5000), plan.bases()) <= 1e-12


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
            assert close(ours["lr"], theirs["lr"], plan.bases()) <= 1e-12, (native, type(s2).__name__)
