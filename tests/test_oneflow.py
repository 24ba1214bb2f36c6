"""OneFlow 0.9 both ways, against the real framework (every value read from param_groups).

Parity contract: |ours - theirs| <= 1e-12 * max(|theirs|, base) at every step.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import make_opt, trace

import bridge
from bridge import parity
from bridge.errors import SpecError, UnsupportedError
from bridge.frameworks import oneflow as oneflow_mod
from bridge.ir import (
    Chain,
    Constant,
    CosineAnnealing,
    CosineDecay,
    Cyclic,
    Exponential,
    Field,
    Group,
    Hold,
    Lambda,
    Linear,
    MultiStep,
    OneCycle,
    OneCycleMomentum,
    Plan,
    Plateau,
    Polynomial,
    Sequential,
    Shift,
    Step,
    Table,
    WarmRestarts,
)

pytestmark = pytest.mark.oneflow

N = 10_000
LRS = (0.1, 0.03)


def _opt(flow, lrs=LRS, kind="SGD", **kw):
    return make_opt(flow, lrs, kind, **kw)


def _trace(opt, sched, n, field="lr", metrics=None):
    """Real OneFlow: row t = the field after t scheduler steps (the optimizer itself is not stepped)."""
    return trace(opt, sched, n, field, step_optimizer=False, metrics=metrics)


def _check(ours, theirs, base):
    """``ours`` follows OneFlow's ``theirs`` under the float64 contract (bridge.parity)."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    r = parity.compare(ours, theirs, base)
    assert r.ok, r.summary("vs oneflow")


def _s(flow):
    return flow.optim.lr_scheduler


# name -> (builder(flow, opt) -> scheduler, lrs, steps)
CASES = {
    "constant": (lambda f, o: _s(f).ConstantLR(o, factor=0.25, total_iters=7), LRS, N),
    "constant_default": (lambda f, o: _s(f).ConstantLR(o), LRS, 50),
    "linear": (lambda f, o: _s(f).LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=50), LRS, N),
    "linear_from_zero": (lambda f, o: _s(f).LinearLR(o, start_factor=0.0, total_iters=7), LRS, 40),
    "linear_total_0": (lambda f, o: _s(f).LinearLR(o, 0.2, 0.6, total_iters=0), LRS, 10),
    "exponential": (lambda f, o: _s(f).ExponentialLR(o, gamma=0.9995), LRS, N),
    "step": (lambda f, o: _s(f).StepLR(o, step_size=300, gamma=0.5), LRS, N),
    "multistep": (lambda f, o: _s(f).MultiStepLR(o, milestones=[100, 2000, 5000], gamma=0.3), LRS, N),
    "poly_defaults": (lambda f, o: _s(f).PolynomialLR(o, decay_batch=4000), LRS, N),
    "poly_cycle": (lambda f, o: _s(f).PolynomialLR(o, decay_batch=700, end_learning_rate=1e-3, power=2.0,
                                                   cycle=True), LRS, N),
    "cosine_decay": (lambda f, o: _s(f).CosineDecayLR(o, decay_steps=3000, alpha=0.1), LRS, N),
    "cosine_annealing": (lambda f, o: _s(f).CosineAnnealingLR(o, T_max=700, eta_min=0.001), LRS, N),
    "cawr_t1_decay": (lambda f, o: _s(f).CosineAnnealingWarmRestarts(o, T_0=50, decay_rate=0.9), LRS, N),
    "cawr_tmult2_limit": (lambda f, o: _s(f).CosineAnnealingWarmRestarts(
        o, T_0=10, T_mult=2, eta_min=0.001, decay_rate=0.7, restart_limit=6), LRS, N),
    "cawr_tmult3": (lambda f, o: _s(f).CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3), LRS, N),
    "cawr_t1_limit": (lambda f, o: _s(f).CosineAnnealingWarmRestarts(o, T_0=7, restart_limit=3,
                                                                     eta_min=1e-3), LRS, 200),
    "sequential_global": (lambda f, o: _s(f).SequentialLR(
        o, [_s(f).LinearLR(o, 0.1, total_iters=500), _s(f).CosineAnnealingLR(o, T_max=2000)], [500]),
        LRS, N),
    "sequential_rescaled": (lambda f, o: _s(f).SequentialLR(
        o, [_s(f).LinearLR(o, 0.1, total_iters=500), _s(f).CosineAnnealingLR(o, T_max=2000)], [500],
        interval_rescaling=True), LRS, N),
    "sequential_mixed": (lambda f, o: _s(f).SequentialLR(
        o, [_s(f).ConstantLR(o, 0.5, total_iters=100), _s(f).ExponentialLR(o, 0.999),
            _s(f).CosineDecayLR(o, 3000, alpha=0.05)], [300, 4000], interval_rescaling=[True, False]),
        LRS, N),
    "warmup_opt_linear": (lambda f, o: _s(f).WarmupLR(o, warmup_factor=0.1, warmup_iters=100), LRS, 400),
    "warmup_opt_constant": (lambda f, o: _s(f).WarmupLR(o, warmup_factor=0.5, warmup_iters=30,
                                                        warmup_method="constant"), LRS, 100),
    "warmup_linear": (lambda f, o: _s(f).WarmupLR(_s(f).CosineAnnealingLR(o, T_max=3000), warmup_factor=0.1,
                                                  warmup_iters=200), (0.1, 0.1), N),
    "warmup_linear_prefix": (lambda f, o: _s(f).WarmupLR(_s(f).CosineDecayLR(o, 3000, alpha=0.01),
                                                         warmup_factor=0.1, warmup_iters=200,
                                                         warmup_prefix=True), LRS, N),
    "warmup_constant": (lambda f, o: _s(f).WarmupLR(_s(f).StepLR(o, 100, 0.8), warmup_factor=0.2,
                                                    warmup_iters=250, warmup_method="constant"), LRS, N),
    "warmup_constant_prefix": (lambda f, o: _s(f).WarmupLR(_s(f).ExponentialLR(o, 0.9993), warmup_factor=0.2,
                                                           warmup_iters=250, warmup_method="constant",
                                                           warmup_prefix=True), LRS, N),
    "warmup_iters_0": (lambda f, o: _s(f).WarmupLR(_s(f).StepLR(o, 10, 0.5), warmup_iters=0), LRS, 60),
    "chained": (lambda f, o: _s(f).ChainedScheduler([_s(f).ConstantLR(o, 0.1, 3), _s(f).ExponentialLR(o, 0.999)]),
                LRS, N),
    "chained_eta_min": (lambda f, o: _s(f).ChainedScheduler(
        [_s(f).LinearLR(o, 0.2, total_iters=40), _s(f).CosineAnnealingLR(o, T_max=300, eta_min=0.01),
         _s(f).PolynomialLR(o, 5000, end_learning_rate=1e-3)]), LRS, N),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_import_matches_oneflow(flow, name):
    build, lrs, steps = CASES[name]
    opt = _opt(flow, lrs)
    sched = build(flow, opt)
    plan = bridge.from_oneflow(sched)
    assert plan.n_groups == len(lrs)
    assert plan.source.startswith("oneflow")
    ours = plan.values(steps)
    theirs = _trace(opt, sched, steps)
    _check(ours, theirs, plan.bases())
    # the plan is data: it survives JSON
    _check(bridge.from_dict(plan.to_dict()).values(steps), theirs, plan.bases())


def test_import_kinds(flow):
    s = _s(flow)
    opt = _opt(flow)
    plan = bridge.from_oneflow(s.SequentialLR(opt, [s.LinearLR(opt, 0.1, total_iters=5),
                                                     s.CosineAnnealingLR(opt, 10)], [5]))
    nd = plan.schedule()
    assert isinstance(nd, Sequential) and nd.rescale == (False,)
    opt = _opt(flow, (1.0, 1.0))
    w = s.WarmupLR(s.CosineAnnealingLR(opt, T_max=10), warmup_factor=0.1, warmup_iters=5)
    nd = bridge.from_oneflow(w).schedule()
    assert isinstance(nd, Sequential) and nd.rescale == (False,)
    # the warm-up ramps to the main schedule's value at warmup_iters (read from the live LinearLR)
    assert nd.schedules[0] == Linear(0.1, 0.5, 5)
    opt = _opt(flow)
    nd = bridge.from_oneflow(s.CosineAnnealingWarmRestarts(opt, 4, T_mult=2, restart_limit=0)).schedule()
    assert nd == WarmRestarts(4, 2, 0.0, 1.0, None, float_log_cycles=True)
    nd = bridge.from_oneflow(s.PolynomialLR(opt, 4)).schedule()
    assert nd == Polynomial(4, 1.0, 1e-4, False)
    nd = bridge.from_oneflow(s.ChainedScheduler([s.ConstantLR(opt, 0.1, 3), s.ExponentialLR(opt, 0.9)]))
    assert nd.schedule() == Chain((Constant(0.1, 3), Exponential(0.9)), mode="nested")


def test_trap_values(flow):
    """The documented OneFlow quirks, read from OneFlow and from the imported plan."""
    s = _s(flow)
    opt = _opt(flow, (1.0,))
    poly = s.PolynomialLR(opt, decay_batch=4)
    got = _trace(opt, poly, 5)[:, 0]
    assert got == pytest.approx([1, .750025, .50005, .250075, .0001], abs=1e-12)
    opt = _opt(flow, (1.0,))
    cyc = s.PolynomialLR(opt, decay_batch=4, cycle=True)
    plan = bridge.from_oneflow(cyc)
    assert plan.values(1)[0, 0] == pytest.approx(0.750025, abs=1e-12)
    assert _trace(opt, cyc, 1)[0, 0] == pytest.approx(0.750025, abs=1e-12)
    opt = _opt(flow, (1.0,))
    seq = s.SequentialLR(opt, [s.LinearLR(opt, 0.1, total_iters=5), s.CosineAnnealingLR(opt, 10)], [5])
    want = [.1, .28, .46, .64, .82, .5, .345492]
    assert bridge.from_oneflow(seq).values(7)[:, 0] == pytest.approx(want, abs=1e-6)
    assert _trace(opt, seq, 7)[:, 0] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("k", [1, 37, 2500])
def test_import_already_stepped(flow, k):
    s = _s(flow)
    opt = _opt(flow)
    sched = s.WarmupLR(s.CosineDecayLR(opt, 3000, alpha=0.01), warmup_factor=0.1, warmup_iters=200,
                       warmup_prefix=True)
    for _ in range(k):
        sched.step()
    plan = bridge.from_oneflow(sched)
    assert isinstance(plan.schedule(), Shift) and plan.schedule().offset == k
    now = [g["lr"] for g in opt.param_groups]
    _check(plan.values(1), [now], plan.bases())  # one step, every group
    _check(plan.values(3000), _trace(opt, sched, 3000), plan.bases())


def test_import_built_with_last_step(flow):
    s = _s(flow)
    opt = _opt(flow)
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    sched = s.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2, decay_rate=0.5, last_step=99)
    plan = bridge.from_oneflow(sched)
    assert plan.schedule() == Shift(WarmRestarts(10, 2, 0.0, 0.5, None, True), 100)
    _check(plan.values(N), _trace(opt, sched, N), plan.bases())


def test_import_lambda_per_group(flow):
    s = _s(flow)
    opt = _opt(flow)
    sched = s.LambdaLR(opt, [lambda t: 0.5 ** (t // 30), lambda t: 1.0 / (1 + t)])
    plan = bridge.from_oneflow(sched)
    assert all(isinstance(plan.schedule(group=g), Lambda) for g in range(2))
    _check(plan.values(2000), _trace(opt, sched, 2000), plan.bases())
    with pytest.raises(UnsupportedError, match="table"):
        plan.to_dict()
    _check(plan.tabulate(500).values(500), plan.values(500), plan.bases())


def test_import_custom_get_lr(flow):
    from oneflow.nn.optimizer.lr_scheduler import LRScheduler

    class Sqrt(LRScheduler):
        def get_lr(self, base_lr, step):
            return base_lr / math.sqrt(step + 1) + 1e-4

    opt = _opt(flow)
    sched = Sqrt(opt)
    plan = bridge.from_oneflow(sched)
    _check(plan.values(3000), _trace(opt, sched, 3000), plan.bases())


def test_import_plateau(flow):
    s = _s(flow)
    opt = _opt(flow)
    sched = s.ReduceLROnPlateau(opt, factor=0.5, patience=3, cooldown=2, min_lr=[1e-3, 5e-3],
                                threshold=0.01)
    plan = bridge.from_oneflow(sched)
    node = plan.schedule()
    assert isinstance(node, Plateau)
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 50), 0.5 + 0.05 * rng.random(400)]).tolist()
    theirs = _trace(opt, sched, len(metrics) + 1, metrics=metrics)
    groups = tuple(Group({"lr": Field(g.fields["lr"].base, Plateau(**{
        **{k: getattr(g.fields["lr"].schedule, k) for k in ("mode", "factor", "patience", "threshold",
                                                            "threshold_mode", "cooldown", "min_lr", "eps")},
        "metrics": tuple(metrics)}))}) for g in plan.groups)
    _check(Plan(groups).values(len(metrics) + 1), theirs, plan.bases())
    assert theirs[-1, 0] < theirs[0, 0]  # it did reduce
    with pytest.raises(UnsupportedError, match="before the first step"):
        bridge.from_oneflow(sched)


def test_import_errors(flow):
    with pytest.raises(SpecError, match="OneFlow LR scheduler"):
        bridge.from_oneflow(object())
    s = _s(flow)
    opt = _opt(flow)
    with pytest.raises(UnsupportedError, match="restart_limit"):
        bridge.from_oneflow(s.CosineAnnealingWarmRestarts(opt, 5, restart_limit=-1))


# ---------------------------------------------------------------------------
# lowering
# ---------------------------------------------------------------------------

NATIVE = {
    "constant": (Constant(0.3, 40), "ConstantLR"),
    "constant_forever": (Constant(0.3), "LinearLR"),
    "linear": (Linear(0.01, 1.0, 300), "LinearLR"),
    "step": (Step(250, 0.7), "StepLR"),
    "multistep": (MultiStep((10, 200, 3000), 0.5), "MultiStepLR"),
    "exponential": (Exponential(0.9996), "ExponentialLR"),
    "poly_torch": (Polynomial(5000, 2.0), "PolynomialLR"),
    "poly_cycle": (Polynomial(700, 1.5, 1e-4, True), "PolynomialLR"),
    "cosine": (CosineAnnealing(900, 1e-4), "CosineAnnealingLR"),
    "cosine_decay": (CosineDecay(4000, 0.02), "CosineDecayLR"),
    "warm_restarts_torch": (WarmRestarts(10, 2, 1e-4), "CosineAnnealingWarmRestarts"),
    "warm_restarts_oneflow": (WarmRestarts(10, 3, 0.0, 0.8, 4, True), "CosineAnnealingWarmRestarts"),
    "sequential": (Sequential((Linear(0.1, 1.0, 100), CosineAnnealing(5000)), (100,)), "SequentialLR"),
    "sequential_global": (Sequential((Linear(0.1, 0.5, 100), CosineDecay(5000, 0.1), Step(100, 0.9)),
                                     (100, 6000), (False, True)), "SequentialLR"),
    "chain_nested": (Chain((Linear(0.2, 1.0, 40), CosineAnnealing(300, 0.01)), "nested"), "ChainedScheduler"),
    "chain_torch_products": (Chain((Constant(0.1, 3), Exponential(0.999))), "ChainedScheduler"),
    "shifted": (Shift(Sequential((Linear(0.1, 1.0, 100), CosineDecay(5000, 0.1)), (100,)), 77), "SequentialLR"),
}


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_lower_native(flow, name):
    node, cls = NATIVE[name]
    plan = Plan.single(node, base=[0.2, 0.05])
    opt = _opt(flow, (1.0, 1.0))
    sched = bridge.to_oneflow(plan, opt)
    assert type(sched).__name__ == cls
    _check(_trace(opt, sched, N), plan.values(N), plan.bases())


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_native_source_runs_like_to_oneflow(flow, name):
    """The written OneFlow constructors (sched-bridge lower --to oneflow) need no sched-bridge and step
    exactly like the scheduler to_oneflow builds."""
    node, cls = NATIVE[name]
    plan = Plan.single(node, base=[0.2, 0.05])
    src = oneflow_mod.native_source(plan, "opt")
    assert src is not None and "bridge" not in src.replace("bridge.to_oneflow", ""), src
    assert f"lr_scheduler.{cls}(" in src
    opt = _opt(flow, (1.0, 1.0))
    ns = {"opt": opt}
    exec(compile(src, f"<native_source {name}>", "exec"), ns)
    ref_opt = _opt(flow, (1.0, 1.0))
    ref = bridge.to_oneflow(plan, ref_opt)
    n = 3000
    np.testing.assert_array_equal(_trace(opt, ns["scheduler"], n), _trace(ref_opt, ref, n))


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_record_of_is_what_oneflow_builds_and_imports_back(flow, name):
    """The table back: the record of the plan binds every parameter of OneFlow's own constructor;
    built (to_oneflow) and read back with read_oneflow it is the record again (as OneFlow's
    constructors store it: bridge.spec._oneflow_built, the bases in every call); mapped by the
    import table it is the plan again, or the equal form OneFlow's class has (_IMPORTS_AS)."""
    import inspect

    from bridge.frameworks.oneflow import import_record, read_oneflow, record_of
    from bridge.spec import _oneflow_built

    node, cls = NATIVE[name]
    plan = Plan.single(node, base=[0.2, 0.05])
    rec = record_of(plan)
    assert rec is not None and rec.dialect == "oneflow" and rec.name == cls
    for c in rec.walk():
        params = set(inspect.signature(getattr(_s(flow), c.name).__init__).parameters)
        assert set(c.args) == params - {"self", "optimizer", "schedulers", "last_step", "verbose"}, c.name
    live = read_oneflow(bridge.to_oneflow(plan, _opt(flow, (1.0, 1.0))))
    ours = _oneflow_built(rec, list(plan.bases()))

    def same(a, b, path):
        assert (a.name, dict(a.args), dict(a.group_values)) == (b.name, dict(b.args), dict(b.group_values)), path
        assert len(a.children) == len(b.children), path
        for i, (x, y) in enumerate(zip(a.children, b.children)):
            same(x, y, f"{path}[{i}]")

    same(ours, live, name)
    assert live.step == rec.step == (node.offset if isinstance(node, Shift) else 0)
    back = import_record(live, cls)
    assert back.groups == Plan.single(_IMPORTS_AS.get(name, node), base=[0.2, 0.05]).groups


#: native cases whose OneFlow class imports as another, equal, node (test_lower_native checks the
#: values against OneFlow): a factor forever is written LinearLR(f, f, 1); a torch-style chain of
#: products is OneFlow's nested ChainedScheduler; OneFlow counts restarts with a float log, which
#: agrees with the exact count for this T_0/T_mult (oneflow._float_cycles_agree)
_IMPORTS_AS = {
    "constant_forever": Linear(0.3, 0.3, 1),
    "chain_torch_products": Chain((Constant(0.1, 3), Exponential(0.999)), "nested"),
    "warm_restarts_torch": WarmRestarts(10, 2, 1e-4, float_log_cycles=True),
}


def test_record_of_none_where_no_native_twin():
    assert oneflow_mod.record_of(Plan.single(Linear(1.0, 4.0, 200), base=[0.2])) is None
    assert oneflow_mod.record_of(Plan.single(Step(5, 0.5), base=[0.1]).with_field(
        "momentum", Step(5, 0.5), base=[0.9])) is None
    assert oneflow_mod.record_of(Plan.single(Chain((Linear(0.1, 1.0, 50), CosineAnnealing(300, 1e-3))),
                                             base=[0.1]), graph=True) is None


PLAN_DRIVEN = {
    "table": Table(tuple(np.linspace(0.1, 0.001, 300).tolist())),
    "hold": Hold(CosineAnnealing(20, 1e-3), every=37),
    "one_cycle": OneCycle(total_steps=9000, max_lr=0.5),
    "cyclic": Cyclic(high=0.5, low=0.01, step_size_up=300, mode="triangular2"),
    "torch_chain": Chain((Linear(0.1, 1.0, 50), CosineAnnealing(300, 1e-3))),
    "repeated_milestone": MultiStep((100, 100, 500), 0.5),
    "cosine_eta_ratio": CosineAnnealing(400, eta_min_ratio=0.01),
    "linear_up": Linear(1.0, 4.0, 200),
}


@pytest.mark.parametrize("name", sorted(PLAN_DRIVEN))
def test_lower_plan_driven(flow, name):
    plan = Plan.single(PLAN_DRIVEN[name], base=[0.2, 0.05])
    opt = _opt(flow, (1.0, 1.0))
    sched = bridge.to_oneflow(plan, opt)
    assert type(sched).__name__ == "PlanScheduler"
    assert oneflow_mod.native_source(plan, "opt") is None
    n = 9000 if name == "one_cycle" else N
    _check(_trace(opt, sched, n), plan.values(n), plan.bases())


def test_lower_every_field(flow):
    lr = OneCycle(total_steps=5000, max_lr=0.3)
    mom = OneCycleMomentum(total_steps=5000)
    plan = Plan((Group({"lr": Field(0.3, lr), "momentum": Field(0.9, mom),
                        "weight_decay": Field(1e-4, Step(1000, 0.5))}),
                 Group({"lr": Field(0.1, Linear(0.5, 1.0, 100)), "momentum": Field(0.9, mom),
                        "weight_decay": Field(0.0)})))
    opt = _opt(flow, (1.0, 1.0), momentum=0.5)
    sched = bridge.to_oneflow(plan, opt)
    assert type(sched).__name__ == "PlanScheduler"
    for field in ("lr", "momentum", "weight_decay"):
        opt2 = _opt(flow, (1.0, 1.0), momentum=0.5)
        s2 = bridge.to_oneflow(plan, opt2)
        _check(_trace(opt2, s2, 5000, field), plan.values(5000, field), plan.bases(field) + 1e-300)
    # Adam's beta1
    plan = Plan.single(lr, 0.3).with_field("betas[0]", mom, base=[0.95])
    opt = _opt(flow, (1.0,), kind="Adam")
    sched = bridge.to_oneflow(plan, opt)
    _check(_trace(opt, sched, 5000, "betas[0]"), plan.values(5000, "betas[0]"), plan.bases("betas[0]"))
    assert opt.param_groups[0]["betas"][1] == 0.999


def test_plan_driven_actually_trains(flow):
    """The optimizer uses the driven lr: w moves by lr*grad each update."""
    plan = Plan.single(Hold(Exponential(0.5), 3), 0.25)
    w = flow.nn.Parameter(flow.zeros(1, dtype=flow.float64))
    opt = flow.optim.SGD([w], lr=1.0)
    sched = bridge.to_oneflow(plan, opt)
    seen = []
    for _ in range(12):
        before = float(w.numpy()[0])
        opt.zero_grad()
        (w * 1.0).sum().backward()
        opt.step()
        sched.step()
        seen.append(before - float(w.numpy()[0]))
    _check(np.array(seen)[:, None], plan.values(12), plan.bases())


def test_state_dict_round_trip(flow):
    plan = Plan.single(Chain((Linear(0.1, 1.0, 50), CosineAnnealing(300, 1e-3))), [0.2, 0.05])
    opt = _opt(flow, (1.0, 1.0))
    sched = bridge.to_oneflow(plan, opt)
    for _ in range(5000):
        sched.step()
    sd = sched.state_dict()
    assert sd["last_step"] == sd["step"] == 5000 and sd["format"] == "sched-bridge/PlanScheduler"
    rest = _trace(opt, sched, 3000)
    # the state knows its plan: another plan's scheduler refuses it, naming what differs
    other = bridge.to_oneflow(Plan.single(Constant(1.0), [1.0, 1.0]), _opt(flow, (1.0, 1.0)), native=False)
    with pytest.raises(SpecError, match="another plan: other schedules or base values"):
        other.load_state_dict(sd)
    opt2 = _opt(flow, (1.0, 1.0))
    other = bridge.to_oneflow(bridge.from_dict(plan.to_dict()), opt2, native=False)  # the same plan, re-read
    other.load_state_dict(sd)
    other.step()
    opt2.step()
    got = [[g["lr"] for g in opt2.param_groups]]
    for _ in range(2999):
        other.step()
        got.append([g["lr"] for g in opt2.param_groups])
    _check(np.array(got)[:-1], rest[1:], plan.bases())


def test_plan_scheduler_state_round_trip_follows_oneflow(flow):
    """Step k, save (pickled), a new PlanScheduler on a new optimizer loads it and continues: the
    uninterrupted run; OneFlow's own SequentialLR for lr and the written-out step decay for
    momentum; and, bit for bit, plan.values (the driver evaluates as the plan does)."""
    import pickle

    n, k = 5000, 1500  # k is not on a chunk boundary; n spans several chunks
    sch = flow.optim.lr_scheduler
    ref = _opt(flow, (0.2, 0.05))
    native = sch.SequentialLR(ref, [sch.LinearLR(ref, 0.1, 1.0, 50), sch.CosineAnnealingLR(ref, 300, 1e-3)], [50],
                              interval_rescaling=True)
    plan = bridge.from_oneflow(native).with_field("momentum", Step(1000, 0.5), base=[0.9, 0.8])
    theirs = [[g["lr"] for g in ref.param_groups]]
    for _ in range(n - 1):
        native.step()
        theirs.append([g["lr"] for g in ref.param_groups])
    mom = np.array([[0.9 * 0.5 ** (t // 1000), 0.8 * 0.5 ** (t // 1000)] for t in range(n)])

    def run(opt, sched, steps):  # row t: (lr, momentum) of each group after t steps
        rows = []
        for t in range(steps):
            if t:
                sched.step()
            rows.append([[g[f] for g in opt.param_groups] for f in ("lr", "momentum")])
        return np.array(rows)

    o = _opt(flow, (1.0, 1.0), momentum=0.5)
    full = run(o, bridge.to_oneflow(plan, o), n)
    o = _opt(flow, (1.0, 1.0), momentum=0.5)
    s = bridge.to_oneflow(plan, o)
    assert type(s).__name__ == "PlanScheduler"
    first = run(o, s, k + 1)  # rows 0..k: k steps done
    sd = pickle.loads(pickle.dumps(s.state_dict()))
    assert sd["format"] == "sched-bridge/PlanScheduler" and sd["step"] == sd["last_step"] == k
    o2 = _opt(flow, (1.0, 1.0), momentum=0.5)
    s2 = bridge.to_oneflow(bridge.from_dict(plan.to_dict()), o2)  # the plan re-read from its file form
    s2.load_state_dict(sd)
    got = np.concatenate([first[:k], run(o2, s2, n - k)])
    assert np.array_equal(got, full)
    for i, (f, want) in enumerate((("lr", np.array(theirs)), ("momentum", mom))):
        r = parity.compare(got[:, i], want, plan.bases(f))
        assert r.ok, r.summary(f)
        assert np.array_equal(got[:, i], plan.values(n, f)), f


def test_native_false_equals_native(flow):
    plan = Plan.single(NATIVE["sequential_global"][0], [0.2, 0.05])
    opt_a, opt_b = _opt(flow, (1.0, 1.0)), _opt(flow, (1.0, 1.0))
    a = bridge.to_oneflow(plan, opt_a)
    b = bridge.to_oneflow(plan, opt_b, native=False)
    assert type(a).__name__ == "SequentialLR" and type(b).__name__ == "PlanScheduler"
    _check(_trace(opt_b, b, N), _trace(opt_a, a, N), plan.bases())


def test_lower_lambda_and_plateau(flow):
    plan = Plan((Group({"lr": Field(0.1, Lambda(lambda t: 0.9 ** t))}),
                 Group({"lr": Field(0.2, Lambda(lambda t: 1 / (t + 1)))})))
    opt = _opt(flow)
    sched = bridge.to_oneflow(plan, opt)
    assert type(sched).__name__ == "LambdaLR"
    _check(_trace(opt, sched, 500), plan.values(500), plan.bases())
    node = Plateau(factor=0.5, patience=2)
    plan = Plan.single(node, [0.1, 0.01])
    opt = _opt(flow)
    sched = bridge.to_oneflow(plan, opt)
    assert type(sched).__name__ == "ReduceLROnPlateau"
    metrics = [1.0] * 40
    theirs = _trace(opt, sched, 41, metrics=metrics)
    ours = Plan.single(Plateau(factor=0.5, patience=2, metrics=tuple(metrics)), [0.1, 0.01]).values(41)
    _check(ours, theirs, plan.bases())
    with pytest.raises(UnsupportedError, match="graph"):
        bridge.to_oneflow(plan, _opt(flow), graph=True)


def test_round_trip_import_lower(flow):
    s = _s(flow)
    opt = _opt(flow)
    orig = s.WarmupLR(s.CosineAnnealingWarmRestarts(opt, 10, 2, decay_rate=0.8, restart_limit=5),
                      warmup_factor=0.1, warmup_iters=30, warmup_prefix=True)
    plan = bridge.from_oneflow(orig)
    opt2 = _opt(flow)
    low = bridge.to_oneflow(plan, opt2)
    assert type(low).__name__ == "SequentialLR"
    assert bridge.from_oneflow(low).schedule() == plan.schedule()
    _check(_trace(opt2, low, N), _trace(opt, orig, N), plan.bases())


def test_graph_refusals_and_errors(flow):
    opt = _opt(flow)
    with pytest.raises(UnsupportedError, match="ChainedScheduler"):
        bridge.to_oneflow(Plan.single(NATIVE["chain_nested"][0], list(LRS)), opt, graph=True)
    with pytest.raises(UnsupportedError, match="momentum"):
        plan = Plan.single(Linear(), list(LRS)).with_field("momentum", Step(5), base=[0.9, 0.9])
        bridge.to_oneflow(plan, _opt(flow, momentum=0.9), graph=True)
    with pytest.raises(SpecError, match="one group per plan group"):
        bridge.to_oneflow(Plan.single(Linear(), 0.1), opt)
    with pytest.raises(SpecError, match="betas"):
        bridge.to_oneflow(Plan.single(Linear(), list(LRS)).with_field("betas[0]", None, base=[.9, .9]), opt)
    sched = bridge.to_oneflow(Plan.single(Table((1.0, 0.5)), list(LRS)), opt)
    with pytest.raises(UnsupportedError, match="eager"):
        sched._generate_conf_for_graph(None)


def test_nn_graph_runs_lowered_scheduler(flow):
    """nn.Graph compiles the native lowering; the update sizes follow the plan (float32 weights)."""
    lin = flow.nn.Linear(3, 1, bias=False)
    flow.nn.init.zeros_(lin.weight)
    opt = flow.optim.SGD(lin.parameters(), lr=1.0)
    plan = Plan.single(Sequential((Linear(0.1, 1.0, 5), CosineDecay(20, 0.1)), (5,), (False,)), 0.5)
    sched = bridge.to_oneflow(plan, opt, graph=True)

    class G(flow.nn.Graph):
        def __init__(self):
            super().__init__()
            self.m = lin
            self.add_optimizer(opt, lr_sch=sched)

        def build(self, x):
            loss = self.m(x).sum()
            loss.backward()
            return loss

    g = G()
    x = flow.ones(1, 3)
    ws = [float(lin.weight.numpy()[0, 0])]
    for _ in range(30):
        g(x)
        ws.append(float(lin.weight.numpy()[0, 0]))
    used = -np.diff(np.array(ws))
    want = plan.values(30)[:, 0]
    # float32 weights: the difference of two weights of size ~10 carries ~1e-6 absolute error
    assert np.max(np.abs(used - want)) < 1e-5


def test_plan_scheduler_runs_through_a_list_and_holds(flow):
    """A plan of N values (a MindSpore list) in the standard loop: N reads, N step() calls, no
    error; past the end the last value is held and the step() past step N warns once."""
    import warnings

    values = [0.01 * (i + 1) for i in range(6)]
    plan = Plan((Group({"lr": Field(values[0], Table(tuple(values), after="error"))}),
                 Group({"lr": Field(values[0], Table(tuple(values), after="error"))})))
    opt = _opt(flow)
    s = bridge.to_oneflow(plan, opt)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(len(values)):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            s.step()
    assert seen == values and opt.param_groups[1]["lr"] == values[-1]
    with pytest.warns(bridge.PlanEndWarning, match="past the end"):
        opt.step()
        s.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()
    assert [g["lr"] for g in opt.param_groups] == [values[-1]] * 2
