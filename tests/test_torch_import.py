"""from_torch against real torch: every lr_scheduler class, step by step, per group and field."""

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

from bridge import SpecError, UnsupportedError, parity  # noqa: E402
from bridge.frameworks.torch import from_torch, record_torch, sample_torch  # noqa: E402

N = 10_000
LRS = (0.1, 0.05, 0.2)


def make_opt(kind="sgd", lrs=LRS):
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in lrs]
    if kind == "sgd":
        groups = [{"params": [p], "lr": lr, "momentum": 0.9 - 0.1 * i, "weight_decay": 1e-4 * (i + 1)}
                  for i, (p, lr) in enumerate(zip(ps, lrs))]
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    groups = [{"params": [p], "lr": lr, "betas": (0.9 - 0.05 * i, 0.999), "weight_decay": 0.01 * i}
              for i, (p, lr) in enumerate(zip(ps, lrs))]
    return torch.optim.AdamW(groups, lr=0.1)


def assert_follows(plan, rec, steps):
    """The plan follows torch's recorded fields under the float64 contract (bridge.parity)."""
    for f, theirs in rec.items():
        r = parity.compare(plan.values(steps, f), theirs, plan.bases(f))
        assert r.ok, r.summary(f)


def run_case(make, steps=N, kind="sgd"):
    opt = make_opt(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = make(opt)
        plan = from_torch(s)
        rec = record_torch(s, opt, steps, plan.fields)
    assert_follows(plan, rec, steps)
    return plan, rec


def _gamma(e):
    return 0.9995


CASES = {
    "lambda_per_group": (lambda o: L.LambdaLR(o, [lambda e: 0.999 ** e, lambda e: 1 / (1 + e), lambda e: 1.0]), 3000),
    "lambda_shared": (lambda o: L.LambdaLR(o, lambda e: min(1.0, (e + 1) / 100)), 3000),
    "multiplicative": (lambda o: L.MultiplicativeLR(o, _gamma), 3000),
    "multiplicative_groups": (lambda o: L.MultiplicativeLR(o, [_gamma, lambda e: 0.999, lambda e: 1.0]), 3000),
    "step": (lambda o: L.StepLR(o, 700, 0.5), N),
    "multistep_repeats": (lambda o: L.MultiStepLR(o, [30, 30, 800, 5000, 5000, 5000], 0.5), N),
    "constant": (lambda o: L.ConstantLR(o, 0.25, 400), N),
    "constant_zero_iters": (lambda o: L.ConstantLR(o, 0.25, 0), N),
    "linear": (lambda o: L.LinearLR(o, 0.01, 1.0, 800), N),
    "linear_down": (lambda o: L.LinearLR(o, 1.0, 0.1, 3000), N),
    "exponential": (lambda o: L.ExponentialLR(o, 0.9995), N),
    "polynomial": (lambda o: L.PolynomialLR(o, 6000, 2.0), N),
    "cosine_periodic": (lambda o: L.CosineAnnealingLR(o, 700), N),
    "cosine_eta_min_long": (lambda o: L.CosineAnnealingLR(o, 3000, eta_min=0.001), N),
    "warm_restarts": (lambda o: L.CosineAnnealingWarmRestarts(o, 50, 1, 1e-4), N),
    "warm_restarts_mult": (lambda o: L.CosineAnnealingWarmRestarts(o, 10, 3, 1e-3), N),
    "cyclic_triangular": (lambda o: L.CyclicLR(o, 0.001, 0.1, step_size_up=200), N),
    "cyclic_tri2_groups": (lambda o: L.CyclicLR(o, [0.001, 0.002, 0.003], [0.1, 0.2, 0.3], step_size_up=150,
                                                step_size_down=90, mode="triangular2"), N),
    "cyclic_exp_range": (lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=300, mode="exp_range", gamma=0.9999), N),
    "cyclic_no_momentum": (lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=50, cycle_momentum=False), N),
    "one_cycle": (lambda o: L.OneCycleLR(o, [0.5, 0.3, 0.1], total_steps=N), N),
    "one_cycle_three_linear": (lambda o: L.OneCycleLR(o, 1.0, total_steps=N + 5, pct_start=0.25, three_phase=True,
                                                      anneal_strategy="linear", div_factor=10.0,
                                                      final_div_factor=100.0), N),
    "sequential_warmup_cosine": (lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=500),
                                                              L.CosineAnnealingLR(o, 2000, 1e-4)], [500]), N),
    "sequential_milestone0": (lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=5),
                                                           L.CosineAnnealingLR(o, 900)], [0]), N),
    "sequential_early_milestone": (lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=50),
                                                                L.ExponentialLR(o, 0.9995)], [30]), N),
    "sequential_multiplicative_after": (lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.1, 30),
                                                                     L.MultiplicativeLR(o, _gamma)], [30]), 3000),
    "sequential_lambda_after": (lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.1, 30),
                                                             L.LambdaLR(o, lambda e: 0.999 ** e)], [30]), 3000),
    "sequential_three": (lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.5, 100), L.StepLR(o, 300, 0.5),
                                                      L.PolynomialLR(o, 2000, 1.5)], [100, 4000]), N),
    "chained_constant_exp": (lambda o: L.ChainedScheduler([L.ConstantLR(o, 0.1, 30), L.ExponentialLR(o, 0.9995)]), N),
    "chained_linear_cosine_eta": (lambda o: L.ChainedScheduler([L.LinearLR(o, 0.1, total_iters=400),
                                                                L.CosineAnnealingLR(o, 1500, eta_min=1e-3)]), N),
    "chained_three": (lambda o: L.ChainedScheduler([L.StepLR(o, 1000, 0.7), L.LinearLR(o, 0.2, total_iters=300),
                                                    L.MultiStepLR(o, [2000, 2000, 7000])]), N),
    "seq_in_seq": (lambda o: L.SequentialLR(o, [L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=50),
                                                                   L.CosineAnnealingLR(o, 900)], [50]),
                                                L.StepLR(o, 300)], [2000]), N),
    "seq_in_chain": (lambda o: L.ChainedScheduler([L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=50),
                                                                      L.CosineAnnealingLR(o, 900, 1e-3)], [50]),
                                                   L.ExponentialLR(o, 0.9999)]), N),
    "chain_in_seq": (lambda o: L.SequentialLR(o, [L.ChainedScheduler([L.LinearLR(o, 0.1, total_iters=40),
                                                                      L.StepLR(o, 30, 0.5)]),
                                                  L.StepLR(o, 300)], [1000]), N),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_follows_real_torch(name, kind):
    make, steps = CASES[name]
    if kind == "adamw" and name.startswith(("lambda", "multiplicative", "step", "constant", "linear")):
        steps = min(steps, 500)  # fields differ, arithmetic does not: keep the second optimizer cheap
    plan, _ = run_case(make, steps, kind)
    # the plan carries the full group state
    if kind == "sgd":
        assert {"lr", "momentum", "weight_decay"} <= set(plan.fields)
    else:
        assert {"lr", "betas[0]", "betas[1]", "weight_decay"} <= set(plan.fields)


def test_one_cycle_momentum_and_betas_are_driven():
    plan, rec = run_case(lambda o: L.OneCycleLR(o, [0.5, 0.3, 0.1], total_steps=2000), 2001, "adamw")
    assert plan.schedule("betas[0]", 1).kind == "one_cycle_momentum"
    assert rec["betas[0]"][0, 0] == 0.95 and abs(rec["betas[0]"][599, 0] - 0.85) < 1e-12
    plan, _ = run_case(lambda o: L.CyclicLR(o, 0.01, 0.1, step_size_up=20, base_momentum=0.7), 500, "sgd")
    assert plan.schedule("momentum", 0).inverted


def test_one_cycle_raises_past_total_steps_like_torch():
    opt = make_opt()
    s = L.OneCycleLR(opt, 1.0, total_steps=10)
    plan = from_torch(s)
    assert_follows(plan, record_torch(s, opt, 11, ["lr", "momentum"]), 11)  # step 10 is defined
    with pytest.raises(ValueError):
        s.step()
    with pytest.raises(SpecError):
        plan.values(12)


def test_plateau_is_a_plateau_node():
    opt = make_opt()
    s = L.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=[0.0, 0.01, 0.0])
    plan = from_torch(s)
    assert plan.schedule("lr", 1).kind == "plateau" and plan.schedule("lr", 1).min_lr == 0.01
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9] * 5
    rec = record_torch(s, opt, len(metrics) + 1, ["lr"], metrics=metrics)
    from dataclasses import replace

    withm = plan.with_field("lr", None)
    groups = []
    for i, g in enumerate(plan.groups):
        fs = dict(withm.groups[i].fields)
        fs["lr"] = type(g.fields["lr"])(g.fields["lr"].base, replace(g.fields["lr"].schedule, metrics=tuple(metrics)))
        groups.append(type(g)(fs))
    full = type(plan)(tuple(groups))
    assert_follows(full, rec, len(metrics) + 1)
    with pytest.raises(UnsupportedError):
        from_torch(s)  # it has seen metrics now


@pytest.mark.parametrize("name", ["cosine_eta_min_long", "sequential_warmup_cosine", "chained_linear_cosine_eta",
                                  "step", "one_cycle", "warm_restarts_mult", "cyclic_tri2_groups",
                                  "multiplicative", "lambda_per_group", "seq_in_seq"])
def test_import_after_k_steps(name):
    make, _ = CASES[name]
    rng = np.random.default_rng(len(name))
    k = int(rng.integers(1, 1500))
    opt = make_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = make(opt)
        for _ in range(k):
            opt.step()
            s.step()
        plan = from_torch(s)
        rec = record_torch(s, opt, 2000, plan.fields)
    assert_follows(plan, rec, 2000)


def test_import_after_load_state_dict_and_last_epoch():
    opt = make_opt()
    s = L.CosineAnnealingLR(opt, 300, 1e-3)
    for _ in range(123):
        opt.step()
        s.step()
    sd, osd = s.state_dict(), opt.state_dict()
    opt2 = make_opt()
    opt2.load_state_dict(osd)
    s2 = L.CosineAnnealingLR(opt2, 300, 1e-3)
    s2.load_state_dict(sd)
    plan = from_torch(s2)
    assert plan.schedule("lr").kind == "shift" and plan.schedule("lr").offset == 123
    assert_follows(plan, record_torch(s2, opt2, 1000, ["lr"]), 1000)
    # last_epoch=k: torch's initial step puts it at k+1
    opt3 = make_opt()
    for g in opt3.param_groups:
        g["initial_lr"] = g["lr"]
    s3 = L.LambdaLR(opt3, lambda e: 0.99 ** e, last_epoch=25)
    plan3 = from_torch(s3)
    assert plan3.schedule("lr").offset == 26
    assert_follows(plan3, record_torch(s3, opt3, 200, ["lr"]), 200)
    # a chainable one resumed without the optimizer's state keeps the stale lr: refused, not guessed
    opt4 = make_opt()
    for g in opt4.param_groups:
        g["initial_lr"] = g["lr"]
    with pytest.raises(UnsupportedError, match="stepped 26 times"):
        from_torch(L.StepLR(opt4, 10, 0.5, last_epoch=25))


def test_external_lr_change_is_refused():
    opt = make_opt()
    s = L.ExponentialLR(opt, 0.99)
    opt.step()
    s.step()
    opt.param_groups[0]["lr"] = 0.5
    with pytest.raises(UnsupportedError, match="changed outside the scheduler"):
        from_torch(s)


class MyScheduler(L.LRScheduler):
    def get_lr(self):
        return [b * 0.5 ** self.last_epoch for b in self.base_lrs]


def test_custom_subclass_is_unsupported_with_table_hint():
    opt = make_opt()
    with pytest.raises(UnsupportedError, match="MyScheduler.*sample_torch"):
        from_torch(MyScheduler(opt))


def test_custom_scale_fn_is_unsupported_with_table_hint():
    opt = make_opt()
    s = L.CyclicLR(opt, 0.01, 0.1, step_size_up=10, scale_fn=lambda x: 0.9 ** x)
    with pytest.raises(UnsupportedError, match="scale_fn.*sample_torch"):
        from_torch(s)


def test_sample_torch_table_fallback():
    def factory():
        return MyScheduler(make_opt())

    plan = sample_torch(factory, 60)
    assert plan.schedule("lr", 0).kind == "table" and plan.schedule("momentum", 0) is None
    ref = factory()
    assert_follows(plan, record_torch(ref, ref.optimizer, 60, ["lr", "momentum"]), 60)
    opt = make_opt()
    s = L.CyclicLR(opt, 0.01, 0.1, step_size_up=10, scale_fn=lambda x: 0.9 ** x)
    plan = sample_torch(lambda: L.CyclicLR(make_opt(), 0.01, 0.1, step_size_up=10, scale_fn=lambda x: 0.9 ** x), 80)
    assert_follows(plan, record_torch(s, opt, 80, ["lr", "momentum"]), 80)


def test_nested_composites_torch_cannot_run_are_refused():
    opt = make_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = L.SequentialLR(opt, [L.StepLR(opt, 3), L.ChainedScheduler([L.StepLR(opt, 2)])], [5])
    with pytest.raises(UnsupportedError, match="NotImplementedError"):
        from_torch(s)
    # a plain step() at epoch 0 that is affine (cosine with eta_min) has no node
    opt = make_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = L.SequentialLR(opt, [L.ChainedScheduler([L.LinearLR(opt, 0.1, total_iters=4),
                                                     L.CosineAnnealingLR(opt, 8, eta_min=1e-3)]), L.StepLR(opt, 3)], [20])
    with pytest.raises(UnsupportedError, match="plain step"):
        from_torch(s)


# Composites nested in a SequentialLR are stepped by the outer constructor with plain step()
# calls: their first chainable update is get_lr() at epoch 0 outside torch's initial mode.
NESTED_PLAIN = {
    "chain_linear_cosine": lambda o: L.SequentialLR(o, [L.ChainedScheduler([L.LinearLR(o, 0.1, total_iters=4),
                                                                            L.CosineAnnealingLR(o, 8)]),
                                                        L.StepLR(o, 3)], [20]),
    "chain_exp_poly_mul": lambda o: L.SequentialLR(o, [L.ChainedScheduler([L.ExponentialLR(o, 0.99),
                                                                           L.PolynomialLR(o, 30, 2.0),
                                                                           L.MultiplicativeLR(o, _gamma)]),
                                                       L.ConstantLR(o, 0.5, 7)], [40]),
    "seq_exp_first": lambda o: L.SequentialLR(o, [L.SequentialLR(o, [L.ExponentialLR(o, 0.95), L.StepLR(o, 5)],
                                                                 [12]), L.LinearLR(o, 0.2, total_iters=9)], [30]),
    # nested, it runs one step ahead: its milestone 0 falls before the plan starts
    "seq_milestone0_nested": lambda o: L.SequentialLR(o, [L.SequentialLR(o, [L.StepLR(o, 4), L.ExponentialLR(o, 0.9),
                                                                             L.StepLR(o, 6, 0.5)], [0, 15]),
                                                          L.CosineAnnealingLR(o, 25)], [40]),
}


@pytest.mark.parametrize("name", sorted(NESTED_PLAIN))
def test_nested_plain_first_step_follows_torch(name):
    run_case(NESTED_PLAIN[name], 300)


# OneCycleLR writes initial_lr (= max_lr/div_factor), max_lr and min_lr into the groups when it
# is built; every scheduler built earlier took its base_lrs from the previous initial_lr.
def _oc(o, mx, T=100):
    return L.OneCycleLR(o, max_lr=mx, total_steps=T, cycle_momentum=False)


def _issue_example(o):
    return L.SequentialLR(o, [_oc(o, 1.0), L.CosineAnnealingWarmRestarts(o, T_0=4), _oc(o, 0.5)], milestones=[5, 10])


def _built_before_listed(o):
    lam = L.LambdaLR(o, lambda e: 0.99 ** e)  # built first: base = the optimizer's lr
    step = L.StepLR(o, 7, 0.5)
    oc = _oc(o, 0.4, 400)
    cos = L.CosineAnnealingLR(o, 30)  # built after: base = 0.4/25
    return L.SequentialLR(o, [oc, step, cos, lam], milestones=[20, 60, 150])


def _chain_cyclic_after(o):
    oc = _oc(o, 0.3, 500)
    cyc = L.CyclicLR(o, 0.01, 0.1, step_size_up=17, cycle_momentum=False)  # starts from the initial_lr it finds
    return L.ChainedScheduler([L.ConstantLR(o, 0.5, 30), cyc, oc, L.ExponentialLR(o, 0.999)])


def _chain_lambda_one_cycle(o):
    lam = L.LambdaLR(o, lambda e: 0.995 ** e)  # built before: its base is the optimizer's lr
    return L.ChainedScheduler([_oc(o, 0.6, 300), lam, L.StepLR(o, 13, 0.7)])


def _nested_seq_one_cycle(o):
    const, multi, step = L.ConstantLR(o, 0.5, 27), L.MultiStepLR(o, [], 0.1), L.StepLR(o, 9, 0.5)
    inner = L.SequentialLR(o, [_oc(o, 1.0), const, multi], [16, 67])
    return L.SequentialLR(o, [inner, step], [55])


ONE_CYCLE_BASES = {
    "issue_example": _issue_example,
    "built_before_listed": _built_before_listed,
    "chain_cyclic_after": _chain_cyclic_after,
    "lambda_restart_after_one_cycle": lambda o: L.SequentialLR(o, [L.LambdaLR(o, lambda e: 1 / (1 + e)), _oc(o, 0.8),
                                                                   L.MultiStepLR(o, [30, 90], 0.5)], [10, 40]),
    "chain_lambda_one_cycle": _chain_lambda_one_cycle,
    "nested_seq_one_cycle": _nested_seq_one_cycle,
}


@pytest.mark.parametrize("name", sorted(ONE_CYCLE_BASES))
def test_one_cycle_rewriting_initial_lr_follows_torch(name):
    run_case(ONE_CYCLE_BASES[name], 100 if name == "issue_example" else 300)


def test_issue_example_values():
    # written out: the warm restarts run from the initial_lr OneCycleLR(max_lr=1.0) left, 1.0/25,
    # although the second OneCycleLR rewrote it to 0.5/25 before SequentialLR was built
    opt = make_opt(lrs=(0.3,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = from_torch(_issue_example(opt), fields=["lr"])
    v = plan.values(10)[:, 0]
    wr = [0.04 * (1 + math.cos(math.pi * i / 4)) / 2 for i in range(4)]
    assert np.allclose(v[5:9], wr, rtol=1e-13, atol=0) and v[9] == pytest.approx(0.04, rel=1e-13)


def test_cosines_built_with_different_bases_are_refused():
    opt = make_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cos1 = L.CosineAnnealingLR(opt, 20)
        oc = _oc(opt, 0.5)
        s = L.SequentialLR(opt, [cos1, oc, L.CosineAnnealingLR(opt, 30)], [10, 50])
    with pytest.raises(UnsupportedError, match="different base lrs"):
        from_torch(s)


# resuming: state.resumed(plan, state_dict) of any torch scheduler is the uninterrupted run
RESUME = ["step", "cosine_eta_min_long", "warm_restarts_mult", "cyclic_tri2_groups", "one_cycle", "lambda_per_group",
          "sequential_three", "sequential_multiplicative_after", "chained_constant_exp", "chained_linear_cosine_eta",
          "chained_three", "seq_in_seq", "seq_in_chain", "chain_in_seq"]


@pytest.mark.parametrize("name", RESUME)
def test_resumed_from_state_dict_follows_torch(name):
    from bridge.groups import state

    make, _ = CASES[name]
    k = 1 + len(name) * 37 % 900
    opt = make_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = make(opt)
        plan = from_torch(s)
        for _ in range(k):
            opt.step()
            s.step()
        sd = s.state_dict()
        if type(s).__name__ == "ChainedScheduler":
            assert "last_epoch" not in sd  # torch stores only _schedulers and _last_lr for it
        rec = record_torch(s, opt, 1500, plan.fields)
    assert state.step_from(sd) == k
    assert_follows(state.resumed(plan, sd), rec, 1500)


def test_resumed_nested_chain_state():
    from bridge.groups import state

    opt = make_opt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = L.ChainedScheduler([L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=5), L.CosineAnnealingLR(opt, 20)],
                                               [5]),
                                L.ChainedScheduler([L.StepLR(opt, 7, 0.5), L.ExponentialLR(opt, 0.99)])])
        plan = from_torch(s, fields=["lr"])
        for _ in range(37):
            opt.step()
            s.step()
        sd = s.state_dict()
        rec = record_torch(s, opt, 200, ["lr"])
    assert_follows(state.resumed(plan, sd), rec, 200)
    bad = {"_schedulers": [{"last_epoch": 3}, {"last_epoch": 4}], "_last_lr": [0.1]}
    with pytest.raises(SpecError, match="different numbers of times"):
        state.step_from(bad)


def test_fields_argument():
    opt = make_opt()
    s = L.StepLR(opt, 3)
    assert from_torch(s, fields=["lr"]).fields == ["lr"]
    with pytest.raises(SpecError, match="betas"):
        from_torch(s, fields=["lr", "betas[0]"])
