"""The neutral record (bridge.frameworks._record.SchedulerCall) the expression parser produces.

Expected sides come from the real constructors: torch's signatures (inspect), the torch
objects built from the same expression, OneFlow's signatures in the oneflow env.
"""

from __future__ import annotations

import inspect
import warnings

import pytest

from bridge.errors import SpecError
from bridge.frameworks._record import SchedulerCall
from bridge.spec import ONEFLOW_SIGNATURES, TORCH_SIGNATURES, read_expression

_NOT_ARGS = {"optimizer", "last_epoch", "last_step", "verbose", "schedulers", "scheduler",
             "scheduler_or_optimizer"}

#: one valid expression per torch class, with the required arguments only
_TORCH_MINIMAL = {
    "StepLR": "StepLR(step_size=3)",
    "MultiStepLR": "MultiStepLR(milestones=[2, 5])",
    "ConstantLR": "ConstantLR()",
    "LinearLR": "LinearLR()",
    "ExponentialLR": "ExponentialLR(gamma=0.9)",
    "SequentialLR": "SequentialLR([ConstantLR(), StepLR(step_size=3)], milestones=[4])",
    "PolynomialLR": "PolynomialLR()",
    "CosineAnnealingLR": "CosineAnnealingLR(T_max=10)",
    "ChainedScheduler": "ChainedScheduler([ConstantLR(), ExponentialLR(gamma=0.9)])",
    "CyclicLR": "CyclicLR(base_lr=0.01, max_lr=0.1)",
    "CosineAnnealingWarmRestarts": "CosineAnnealingWarmRestarts(T_0=5)",
    "OneCycleLR": "OneCycleLR(max_lr=0.1, total_steps=100)",
}


def test_record_is_frozen_and_walks_in_written_order():
    rec = read_expression("SequentialLR([LinearLR(total_iters=3), ChainedScheduler([StepLR(step_size=2), "
                          "ExponentialLR(gamma=0.5)])], milestones=[3])")
    assert isinstance(rec, SchedulerCall)
    assert [c.name for c in rec.walk()] == ["SequentialLR", "LinearLR", "ChainedScheduler", "StepLR",
                                            "ExponentialLR"]
    assert rec.dialect == "torch" and rec.step == 0 and dict(rec.group_values) == {}
    assert dict(rec.args) == {"milestones": [3]}  # the schedulers are children, not arguments
    with pytest.raises(AttributeError):
        rec.name = "StepLR"
    with pytest.raises(ValueError, match="dialect"):
        SchedulerCall("jax", "StepLR", {})


def test_columns_point_at_each_call():
    text = "ChainedScheduler([StepLR(step_size=2), ExponentialLR(gamma=0.5)])"
    rec = read_expression(text)
    assert [c.col for c in rec.walk()] == [0, text.index("StepLR"), text.index("ExponentialLR")]


def test_oneflow_dialect_is_detected_and_warmup_scheduler_is_a_child():
    rec = read_expression("WarmupLR(CosineDecayLR(decay_steps=100), warmup_iters=5)")
    assert rec.dialect == "oneflow"
    assert [c.name for c in rec.children] == ["CosineDecayLR"]
    assert "scheduler" not in rec.args and rec.args["warmup_iters"] == 5
    assert read_expression("WarmupLR(None, warmup_iters=5)").children == ()


def test_argument_errors_are_unchanged():
    with pytest.raises(SpecError, match="one milestone fewer than the 2 schedulers"):
        read_expression("SequentialLR([ConstantLR(), StepLR(step_size=3)], milestones=[1, 2])")
    with pytest.raises(SpecError, match="StepLR.step_size.*is required"):
        read_expression("StepLR()")


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(_TORCH_MINIMAL))
def test_torch_record_binds_torchs_own_signature(torch_mod, name):
    """args = every parameter of torch's constructor (but optimizer/schedulers/last_epoch), torch's defaults."""
    cls = getattr(torch_mod.optim.lr_scheduler, name)
    params = {p.name: p.default for p in inspect.signature(cls).parameters.values() if p.name not in _NOT_ARGS}
    rec = read_expression(_TORCH_MINIMAL[name], dialect="torch")
    assert rec.name == name and set(rec.args) == set(params)
    for p, default in params.items():
        if default is not inspect.Parameter.empty and p not in _TORCH_MINIMAL[name]:
            assert rec.args[p] == default, p
    assert {p for p, _ in TORCH_SIGNATURES[name]} - _NOT_ARGS == set(params)


@pytest.mark.torch
def test_torch_objects_built_from_a_record_match_it(torch_mod):
    from bridge.spec import build_torch

    text = ("SequentialLR([LinearLR(start_factor=0.2, total_iters=4), ChainedScheduler([StepLR(step_size=3, "
            "gamma=0.5), MultiStepLR(milestones=[7, 9], gamma=0.3)])], milestones=[4])")
    rec = read_expression(text)
    opt = torch_mod.optim.SGD([torch_mod.nn.Parameter(torch_mod.zeros(1))], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = build_torch(text, opt)

    def check(r, s):
        assert type(s).__name__ == r.name
        kids = list(getattr(s, "_schedulers", []))
        assert len(kids) == len(r.children)
        for rc, sc in zip(r.children, kids):
            check(rc, sc)
        if r.name == "SequentialLR":
            assert list(s._milestones) == r.args["milestones"]
        elif r.name == "MultiStepLR":
            assert sorted(s.milestones.elements()) == r.args["milestones"] and s.gamma == r.args["gamma"]
        elif r.name not in ("ChainedScheduler",):
            for p, v in r.args.items():
                assert getattr(s, p) == v, (r.name, p)

    check(rec, built)


@pytest.mark.oneflow
@pytest.mark.parametrize("name", sorted(ONEFLOW_SIGNATURES))
def test_oneflow_table_binds_oneflows_own_signature(flow, name):
    cls = getattr(flow.optim.lr_scheduler, name)
    params = {p.name: p.default for p in inspect.signature(cls).parameters.values() if p.name not in _NOT_ARGS}
    ours = {p: d for p, d in ONEFLOW_SIGNATURES[name] if p not in _NOT_ARGS}
    assert set(ours) == set(params)
    for p, default in params.items():
        if default is not inspect.Parameter.empty:
            assert ours[p] == default, p


#: OneFlow expressions, each built for real by the lambda (optimizer o, scheduler module L)
_ONEFLOW_BUILT = [
    ("StepLR(step_size=3, gamma=0.5)", lambda o, L: L.StepLR(o, step_size=3, gamma=0.5)),
    ("PolynomialLR(decay_batch=20, end_learning_rate=0.001, power=2.0, cycle=True)",
     lambda o, L: L.PolynomialLR(o, decay_batch=20, end_learning_rate=0.001, power=2.0, cycle=True)),
    ("CosineAnnealingWarmRestarts(T_0=4, T_mult=2, decay_rate=0.5, restart_limit=3)",
     lambda o, L: L.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, decay_rate=0.5, restart_limit=3)),
    ("SequentialLR([ConstantLR(factor=0.5, total_iters=4), CosineDecayLR(decay_steps=30)], milestones=[4], "
     "interval_rescaling=True)",
     lambda o, L: L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=4), L.CosineDecayLR(o, decay_steps=30)],
                                 milestones=[4], interval_rescaling=True)),
    ("ChainedScheduler([StepLR(step_size=2), ExponentialLR(gamma=0.9)])",
     lambda o, L: L.ChainedScheduler([L.StepLR(o, step_size=2), L.ExponentialLR(o, gamma=0.9)])),
    ("WarmupLR(CosineDecayLR(decay_steps=50, alpha=0.1), warmup_factor=0.1, warmup_iters=7)",
     lambda o, L: L.WarmupLR(L.CosineDecayLR(o, decay_steps=50, alpha=0.1), warmup_factor=0.1, warmup_iters=7)),
    ("WarmupLR(StepLR(step_size=3), warmup_iters=4, warmup_method='constant', warmup_prefix=True)",
     lambda o, L: L.WarmupLR(L.StepLR(o, step_size=3), warmup_iters=4, warmup_method="constant",
                             warmup_prefix=True)),
]


def _same(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))
    return a == b


@pytest.mark.oneflow
@pytest.mark.parametrize("text, build", _ONEFLOW_BUILT, ids=[t for t, _ in _ONEFLOW_BUILT])
def test_oneflow_expression_record_is_what_oneflow_builds(flow, text, build):
    """The expression's record, as OneFlow would store it, equals the record read from the real object
    (WarmupLR included: OneFlow's own linear warmup end factor and milestones)."""
    from bridge.frameworks.oneflow import read_oneflow
    from bridge.spec import _oneflow_built

    o = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=0.1)
    live = read_oneflow(build(o, flow.optim.lr_scheduler))
    ours = _oneflow_built(read_expression(text, dialect="oneflow"), [0.1])

    def check(x, y, path):
        assert x.name == y.name, path
        assert set(x.args) == set(y.args), path
        for k in x.args:
            assert _same(x.args[k], y.args[k]), (path, k, x.args[k], y.args[k])
        assert _same(x.group_values["base_lrs"], y.group_values["base_lrs"]), path
        assert len(x.children) == len(y.children), path
        for i, (cx, cy) in enumerate(zip(x.children, y.children)):
            check(cx, cy, f"{path}[{i}]")

    check(ours, live, text)
    assert live.step == 0 and live.dialect == "oneflow"


#: torch expressions, each built for real by bridge.spec.build_torch (which runs torch's constructors)
_TORCH_BUILT = [
    "StepLR(step_size=3, gamma=0.5)",
    "MultiStepLR(milestones=[9, 2, 5, 5], gamma=0.3)",
    "PolynomialLR(total_iters=20, power=2.0)",
    "CosineAnnealingWarmRestarts(T_0=4, T_mult=2, eta_min=0.001)",
    "OneCycleLR(max_lr=[1.0, 0.5], total_steps=100, pct_start=0.25, three_phase=True, div_factor=10.0)",
    "OneCycleLR(max_lr=0.3, epochs=3, steps_per_epoch=7, anneal_strategy='linear', cycle_momentum=False)",
    "CyclicLR(base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=6, mode='exp_range', gamma=0.99)",
    "SequentialLR([LinearLR(start_factor=0.2, total_iters=4), CosineAnnealingLR(T_max=30, eta_min=0.001)], "
    "milestones=[4])",
    "ChainedScheduler([StepLR(step_size=2), ExponentialLR(gamma=0.9)])",
    # groups rewritten by constructors built later: a CyclicLR's lr, a second OneCycleLR's initial_lr
    "ChainedScheduler([OneCycleLR(max_lr=1.0, total_steps=50, cycle_momentum=False), CyclicLR(base_lr=0.01, "
    "max_lr=0.1, cycle_momentum=False), OneCycleLR(max_lr=0.5, total_steps=80, div_factor=5.0, "
    "cycle_momentum=False)])",
    "SequentialLR([ChainedScheduler([ConstantLR(factor=0.5, total_iters=3), OneCycleLR(max_lr=0.4, "
    "total_steps=60, cycle_momentum=False)]), StepLR(step_size=5)], milestones=[10])",
]


@pytest.mark.torch
@pytest.mark.parametrize("text", _TORCH_BUILT)
def test_torch_expression_record_is_what_torch_builds(torch_mod, text):
    """The expression's record, as torch's constructors would store it, equals the record read
    from the real torch object built from the same expression (group rewrites included); the
    expression carries pct_start, which torch does not keep."""
    from bridge.frameworks.torch import read_torch
    from bridge.spec import _torch_built, build_torch

    lrs = [0.1, 0.05]
    opt = torch_mod.optim.SGD([{"params": [torch_mod.nn.Parameter(torch_mod.zeros(1))], "lr": lr} for lr in lrs],
                              lr=0.1, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        live = read_torch(build_torch(text, opt))
    ours, groups = _torch_built(read_expression(text, dialect="torch"), lrs)

    def check(x, y, path):
        assert x.name == y.name and x.dialect == y.dialect == "torch", path
        assert set(x.args) == set(y.args), path
        for k in x.args:
            if k == "pct_start":
                assert y.args[k] is None and isinstance(x.args[k], float), path
            else:
                assert _same(x.args[k], y.args[k]), (path, k, x.args[k], y.args[k])
        assert set(x.group_values) == set(y.group_values), path
        for k in x.group_values:
            assert _same(x.group_values[k], y.group_values[k]), (path, k, x.group_values[k], y.group_values[k])
        assert len(x.children) == len(y.children), path
        for i, (cx, cy) in enumerate(zip(x.children, y.children)):
            check(cx, cy, f"{path}[{i}]")

    check(ours, live, text)
    # steps since construction: 0 at the top (a child's own counter, which torch's SequentialLR
    # moves while it builds, is not replayed: the table reads the top's, or a ChainedScheduler's
    # children's, which a fresh one keeps at 0)
    assert ours.step == live.step == 0
    # the groups the expression replays are the optimizer's after construction
    for grp, real in zip(groups, opt.param_groups):
        for k in ("initial_lr", "max_lr", "min_lr"):
            assert (k in grp) == (k in real), k
            if k in grp:
                assert _same(grp[k], real[k]), (k, grp[k], real[k])
