"""bridge.lint (bridge/linter.py): every rule triggered from a real framework object or config, clean recipes pass.

Where a rule states what a framework does (Tensor lr aliasing, MindSpore's list overrun and
decay filter, float32 steps, torch's chained / sequential composition), the test makes the
real framework do it too, so the rule cannot go stale silently.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
from _helpers import trace

import bridge
from bridge import linter as L
from bridge.ir import CosineAnnealing, Linear, Plan, Sequential, Table, Window, Windows

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "tests" / "data" / "configs"


def rules_of(findings: List[L.Finding]) -> List[str]:
    return [f.rule for f in findings]


def only(findings: List[L.Finding], rule: str) -> List[L.Finding]:
    return [f for f in findings if f.rule == rule]


# ---------------------------------------------------------------------------
# the table, the docs, the API
# ---------------------------------------------------------------------------


def test_every_rule_has_text_and_a_check():
    table = L.rules()
    assert set(table) == set(L._CHECKS), "mappings/lint_rules.toml and bridge/linter.py disagree"
    for r in table.values():
        assert r.severity in L.SEVERITIES
        assert r.title and r.explanation and r.fix
        assert "\n" not in r.fix, f"{r.id}: fix must be one line"


def test_generated_docs_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_lint_docs.py"), "--check"], cwd=ROOT)
    assert r.returncode == 0, "docs/lint.md is stale: run python tools/gen_lint_docs.py"


@pytest.mark.torch
def test_docs_example_runs(torch_mod, capsys):
    text = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/lint.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    shown = [ln[2:] for ln in code.splitlines() if ln.startswith("# warning")]
    assert len(shown) == 2  # each shown finding starts as printed (rule and where)
    assert [ln.split(": ", 1)[0] for ln in out if ln.startswith("warning")] == [x.split(": ", 1)[0] for x in shown]


def test_format_and_exit_code():
    plan = Plan.single(Table([0.1, 0.05], after="error"), base=0.1)
    fs = L.lint(plan, total_steps=5)
    assert rules_of(fs) == ["horizon-cut-off"]  # a table that refuses past its end, not from MindSpore
    assert L.exit_code(fs) == 0
    text = L.format_findings(fs, explain=True)
    assert text.splitlines()[0].startswith("warning[horizon-cut-off] groups[0].lr schedule:")
    assert "  fix: " in text and "docs/lint.md#horizon-cut-off" in text and text.endswith("1 warning")
    assert L.format_findings([]) == "no findings"
    assert L.exit_code([L.Finding("x", "error", "w", "m", "f")]) == 1


def test_module_is_callable_and_plan_files(tmp_path):
    plan = Plan.single(CosineAnnealing(T_max=10), base=0.1)
    assert bridge.lint(plan, total_steps=100) == L.lint(plan, total_steps=100)
    path = tmp_path / "plan.json"
    plan.dump(path)
    assert rules_of(L.lint(path, total_steps=100)) == ["horizon-periodic"]
    assert rules_of(L.lint(plan.to_dict(), total_steps=100)) == ["horizon-periodic"]


def test_select_ignore_and_bad_ids():
    plan = Plan.single(CosineAnnealing(T_max=10), base=0.1)
    assert rules_of(L.lint(plan, total_steps=100)) == ["horizon-periodic"]
    assert L.lint(plan, total_steps=100, ignore=["horizon-periodic"]) == []
    assert L.lint(plan, total_steps=100, select=["windows-gap"]) == []
    with pytest.raises(L.SpecError, match="unknown rule id"):
        L.lint(plan, select=["no-such-rule"])


def test_no_total_steps_is_said():
    fs = L.lint(Plan.single(CosineAnnealing(T_max=10), base=0.1))
    assert rules_of(fs) == ["not-checked"] and "total_steps" in fs[0].message


def test_horizon_api_on_plans_per_group():
    # two groups with their own schedules: each is judged on its own
    plan = Plan.single(Sequential((Linear(0.01, 1.0, 100), CosineAnnealing(T_max=900)), (100,)), base=[0.1, 0.01])
    assert L.horizon(plan, 1000) == []
    fs = L.horizon(plan, 5000)
    assert [f.rule for f in fs] == ["horizon-periodic"] and fs[0].where.startswith("groups[*].lr")
    frozen = L.horizon(Plan.single(Windows((Window(CosineAnnealing(T_max=1), 0, 1),)), base=0.1), 100)
    assert rules_of(frozen) == ["horizon-cut-off"]  # an MMEngine window with end=1: the cosine never starts


# ---------------------------------------------------------------------------
# torch
# ---------------------------------------------------------------------------


def _opt(torch: Any, lr: Any = 1.0, groups: int = 1) -> Any:
    ps = [{"params": [torch.nn.Parameter(torch.zeros(2))]} for _ in range(groups)]
    return torch.optim.SGD(ps, lr=lr, momentum=0.9)


def _record(torch: Any, sched: Any, opt: Any, n: int, g: int = 0) -> List[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [float(v) for v in trace(opt, sched, n)[:, g]]


@pytest.mark.torch
def test_sequential_milestone_before_warmup_ends_jumps(torch_mod):
    lrs = torch_mod.optim.lr_scheduler

    def make(m):
        o = _opt(torch_mod)
        return lrs.SequentialLR(o, [lrs.LinearLR(o, 0.1, total_iters=5), lrs.ExponentialLR(o, 0.9)], [m]), o

    s, o = make(3)
    fs = L.lint(s, total_steps=20)
    assert rules_of(fs) == ["sequential-milestone-jump"]
    assert "jumps from 0.46 to 1 at step 3" in fs[0].message
    s, o = make(3)
    v = _record(torch_mod, s, o, 6)  # torch: the warm-up stops at 0.46 and the value jumps to the base
    assert v[2] == pytest.approx(0.46) and v[3] == 1.0 and v[4] == pytest.approx(0.9)
    s, o = make(5)  # milestone where the warm-up ends: no jump
    assert "sequential-milestone-jump" not in rules_of(L.lint(s, total_steps=20))


@pytest.mark.torch
def test_sequential_milestone_zero(torch_mod):
    lrs = torch_mod.optim.lr_scheduler
    o = _opt(torch_mod)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = lrs.SequentialLR(o, [lrs.ConstantLR(o, 0.1, total_iters=3), lrs.ExponentialLR(o, 0.9)], [0])
    fs = only(L.lint(s, total_steps=10), "sequential-milestone-jump")
    assert len(fs) == 1 and "no step at all" in fs[0].message
    v = _record(torch_mod, s, o, 4)  # torch: the ConstantLR never shows
    assert v[0] == 1.0 and v[1:] == pytest.approx([0.9, 0.81, 0.729])


@pytest.mark.torch
def test_multiplicative_after_milestone_continues(torch_mod):
    lrs = torch_mod.optim.lr_scheduler

    def make():
        o = _opt(torch_mod)
        return lrs.SequentialLR(o, [lrs.ConstantLR(o, 0.1, total_iters=3),
                                    lrs.MultiplicativeLR(o, lambda e: 0.5)], [3]), o

    s, o = make()
    fs = L.lint(s, total_steps=10)
    assert rules_of(fs) == ["sequential-continues"]
    assert "(0.1), not the base 1" in fs[0].message
    s, o = make()
    v = _record(torch_mod, s, o, 5)  # torch continues from 0.1 instead of restarting at 1.0
    assert v == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.025])


@pytest.mark.torch
def test_chained_with_warm_restarts_drops_the_warmup(torch_mod):
    lrs = torch_mod.optim.lr_scheduler
    o = _opt(torch_mod, 0.1)
    chained = lrs.ChainedScheduler([lrs.LinearLR(o, 0.1, total_iters=3), lrs.CosineAnnealingWarmRestarts(o, T_0=4)])
    fs = L.lint(chained, total_steps=40)
    assert rules_of(fs) == ["chain-overwrite"] and fs[0].severity == "error"
    assert "warm_restarts(T_0=4)" in fs[0].message and "linear(start_factor=0.1" in fs[0].message
    v = _record(torch_mod, chained, o, 10)
    o2 = _opt(torch_mod, 0.1)
    alone = _record(torch_mod, lrs.CosineAnnealingWarmRestarts(o2, T_0=4), o2, 10)
    assert v == alone  # torch: the LinearLR warm-up has no effect at all
    o3 = _opt(torch_mod, 0.1)  # non-chainable first, chainable after: fine
    ok = lrs.ChainedScheduler([lrs.CosineAnnealingWarmRestarts(o3, T_0=4), lrs.ExponentialLR(o3, 0.99)])
    assert L.lint(ok, total_steps=40) == []


@pytest.mark.torch
def test_tensor_lr_aliasing_initial_lr(torch_mod):
    torch = torch_mod
    lrs = torch.optim.lr_scheduler

    def make(alias):
        o = _opt(torch, torch.tensor(1.0, dtype=torch.float64))
        if alias:  # what resume code like group.setdefault("initial_lr", group["lr"]) does
            o.param_groups[0]["initial_lr"] = o.param_groups[0]["lr"]
        return lrs.SequentialLR(o, [lrs.ConstantLR(o, 0.1, total_iters=2), lrs.ExponentialLR(o, 0.9)], [2]), o

    s, o = make(False)  # torch 2.13 clones a Tensor lr into initial_lr: nothing to report
    assert o.param_groups[0]["initial_lr"] is not o.param_groups[0]["lr"]
    assert L.lint(s, total_steps=10) == []
    assert _record(torch, s, o, 4) == pytest.approx([0.1, 0.1, 1.0, 0.9])
    s, o = make(True)
    fs = L.lint(s, total_steps=10)
    assert "tensor-lr-alias" in rules_of(fs) and fs[0].where == "param_groups[0].initial_lr"
    assert "now 0.01" in fs[0].message
    v = _record(torch, s, o, 4)  # torch: the base was overwritten in place; the restart starts from 0.1, not 1.0
    assert v == pytest.approx([0.01, 0.01, 0.1, 0.09])


@pytest.mark.torch
def test_tensor_lr_shared_by_groups(torch_mod):
    torch = torch_mod
    lrs = torch.optim.lr_scheduler
    o = _opt(torch, torch.tensor(1.0, dtype=torch.float64), groups=2)  # one default tensor for both groups
    assert o.param_groups[0]["lr"] is o.param_groups[1]["lr"]
    s = lrs.LambdaLR(o, [lambda e: 1.0, lambda e: 0.1])
    fs = only(L.lint(s, total_steps=10), "tensor-lr-alias")
    assert [f.where for f in fs] == ["param_groups[1].lr"]
    assert float(o.param_groups[0]["lr"]) == pytest.approx(0.1)  # torch: group 0 holds group 1's value


@pytest.mark.torch
def test_tensor_lr_float32(torch_mod):
    torch = torch_mod
    lrs = torch.optim.lr_scheduler
    o = _opt(torch, torch.tensor(0.1))
    s = lrs.LinearLR(o, 0.1, total_iters=3)
    fs = L.lint(s, total_steps=10)
    assert rules_of(fs)[0] == "tensor-lr-float32" and "torch.float32" in fs[0].message
    assert set(rules_of(fs)) <= {"tensor-lr-float32", "not-checked"}  # from_torch refuses the rounded values
    v = _record(torch, s, o, 1)
    assert v[0] == float(np.float32(0.1) * np.float32(0.1)) != 0.1 * 0.1  # torch rounds to float32


@pytest.mark.torch
def test_cosine_periodic_cut_off_and_frozen(torch_mod):
    lrs = torch_mod.optim.lr_scheduler
    o = _opt(torch_mod)
    s = lrs.CosineAnnealingLR(o, T_max=10)
    fs = L.lint(s, total_steps=100)
    assert rules_of(fs) == ["horizon-periodic"] and "minimum 5 time(s)" in fs[0].message
    v = _record(torch_mod, s, o, 21)
    assert v[10] == pytest.approx(0.0, abs=1e-12) and v[20] == pytest.approx(1.0)  # torch climbs back
    o = _opt(torch_mod)
    fs = L.lint(lrs.CosineAnnealingLR(o, T_max=1000), total_steps=100)
    assert rules_of(fs) == ["horizon-cut-off"] and "2% of the way" in fs[0].message
    o = _opt(torch_mod)
    fs = L.lint(lrs.LinearLR(o, 1.0, 0.01, total_iters=10), total_steps=1000)
    assert rules_of(fs) == ["horizon-frozen"] and "stops changing at step 10 of 1000" in fs[0].message
    o = _opt(torch_mod)
    fs = L.lint(lrs.MultiStepLR(o, [30, 60, 90]), total_steps=50)
    assert rules_of(fs) == ["horizon-cut-off"] and "[60, 90]" in fs[0].message


@pytest.mark.torch
def test_one_cycle_overrun(torch_mod):
    lrs = torch_mod.optim.lr_scheduler
    o = _opt(torch_mod)
    s = lrs.OneCycleLR(o, max_lr=1.0, total_steps=10)
    assert L.lint(s, total_steps=11) == []
    fs = L.lint(s, total_steps=12)
    assert set(rules_of(fs)) == {"one-cycle-overrun"} and L.exit_code(fs) == 1
    assert {f.where.split()[0] for f in fs} == {"groups[0].lr", "groups[0].momentum"}
    for _ in range(10):
        o.step()
        s.step()
    with pytest.raises(ValueError):  # torch: the 11th step() after construction raises
        s.step()


@pytest.mark.torch
def test_clean_torch_warmup_cosine(torch_mod):
    lrs = torch_mod.optim.lr_scheduler
    total, warm = 10_000, 500
    o = _opt(torch_mod, 3e-4, groups=2)
    s = lrs.SequentialLR(o, [lrs.LinearLR(o, 1e-3, total_iters=warm),
                             lrs.CosineAnnealingLR(o, T_max=total - warm, eta_min=1e-6)], [warm])
    assert L.lint(s, total_steps=total) == []


@pytest.mark.torch
def test_eta_min_above_a_groups_base(torch_mod):
    torch = torch_mod
    lrs = torch.optim.lr_scheduler
    ps = [torch.nn.Parameter(torch.zeros(2)) for _ in range(2)]
    o = torch.optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 1e-5}], lr=1e-2)
    s = lrs.CosineAnnealingLR(o, T_max=100, eta_min=1e-4)  # a shared absolute floor above the backbone lr
    fs = L.lint(s, total_steps=100)
    assert rules_of(fs) == ["eta-min-ignored"] and fs[0].where.startswith("groups[1].lr")
    v = _record(torch, s, o, 51, g=1)
    assert v[50] > v[0]  # torch: the backbone lr rises


# ---------------------------------------------------------------------------
# MMEngine configs
# ---------------------------------------------------------------------------


def test_clean_mmengine_detection_config():
    from bridge.config import load_config

    cfg = load_config(CONFIGS / "retinanet_2x.py")
    assert L.lint(cfg, epoch_length=1000) == []
    assert L.lint(CONFIGS / "retinanet_2x.py", epoch_length=1000) == []
    assert L.lint(CONFIGS / "seg_poly.json") == []
    fs = L.lint(cfg)  # epoch-based entries need the epoch length
    assert rules_of(fs) == ["not-checked"] and "epoch_length" in fs[0].message


def _cfg(scheds, **train):
    train.setdefault("type", "EpochBasedTrainLoop" if "max_epochs" in train else "IterBasedTrainLoop")
    return {"train_cfg": train, "param_scheduler": scheds,
            "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9}}}


def test_mmengine_end_units():
    cfg = _cfg([dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=12),
                dict(type="CosineAnnealingLR", by_epoch=True, begin=0, end=1000)], max_epochs=12)
    fs = L.lint(cfg, epoch_length=500)
    units = only(fs, "mmengine-end-units")
    assert [f.where for f in units] == ["param_scheduler[0].end", "param_scheduler[1].end"]
    assert "12 iterations of 6000" in units[0].message and "iteration count" in units[1].message
    assert "horizon-cut-off" in rules_of(fs)  # the epoch cosine (T_max=1000) only runs 12 epochs
    # the same list checked with the config passed separately
    assert only(L.lint(cfg["param_scheduler"], config=cfg, epoch_length=500), "mmengine-end-units") == units


def test_mmengine_windows_gap_overlap_outside():
    cfg = _cfg([dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
                dict(type="CosineAnnealingLR", by_epoch=False, begin=501, end=10000, eta_min=1e-5),
                dict(type="ExponentialLR", gamma=0.999, by_epoch=False, begin=5000, end=10000),
                dict(type="CosineAnnealingLR", by_epoch=False, begin=20000, end=30000)], max_iters=10000)
    fs = L.lint(cfg)
    assert [(f.rule, f.where) for f in fs] == [
        ("window-outside-run", "param_scheduler[3].begin"),
        ("windows-gap", "param_scheduler[1]"),
        ("windows-overlap", "param_scheduler[2]"),
    ]
    assert L.exit_code(fs) == 1
    # the usual warm-up over a decay is not an overlap finding
    ok = _cfg([dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=500),
               dict(type="CosineAnnealingLR", by_epoch=False, begin=0, end=10000)], max_iters=10000)
    assert L.lint(ok) == []


def test_mmengine_end_left_short_freezes():
    # xtuner #386: the cosine's end is far shorter than the run
    cfg = _cfg([dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=300),
                dict(type="CosineAnnealingLR", by_epoch=False, begin=300, end=1000)], max_iters=10000)
    fs = L.lint(cfg)
    assert rules_of(fs) == ["horizon-frozen"] and "stops changing at step 999 of 10000" in fs[0].message


@pytest.mark.mmengine
def test_mmengine_gap_really_freezes(mmengine_mod):
    import torch
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

    o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=1.0)
    scheds = [LinearLR(o, start_factor=0.1, by_epoch=False, begin=0, end=5),
              CosineAnnealingLR(o, by_epoch=False, begin=6, end=20)]
    v = []
    for _ in range(10):
        v.append(o.param_groups[0]["lr"])
        for s in scheds:
            s.step()
    assert v[4] == v[5] == v[6] and v[7] < v[6]  # MMEngine: nothing moves the value at step 5 (the gap)
    cfg = _cfg([dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=5),
                dict(type="CosineAnnealingLR", by_epoch=False, begin=6, end=20)], max_iters=20)
    assert rules_of(L.lint(cfg)) == ["windows-gap"]


# ---------------------------------------------------------------------------
# MindSpore
# ---------------------------------------------------------------------------


def _ms_net(ms):
    return ms.nn.SequentialCell([ms.nn.Dense(2, 4), ms.nn.BatchNorm1d(4), ms.nn.Dense(4, 1)])


@pytest.mark.mindspore
def test_mindspore_decay_filter(ms):
    net = _ms_net(ms)
    params = net.trainable_params()
    opt = ms.nn.SGD(params, learning_rate=0.1, weight_decay=0.5)
    fs = L.lint(opt)
    assert rules_of(fs) == ["mindspore-decay-filter"]
    assert "2 of 6 parameters" in fs[0].message and "1.gamma, 1.beta" in fs[0].message
    for p in params:  # non-zero everywhere, then one update with zero gradients: only weight decay acts
        p.set_data(ms.Tensor(np.full(p.shape, 2.0, np.float32)))
    opt(tuple(ms.ops.zeros_like(p) for p in params))
    moved = {p.name: bool(np.any(p.asnumpy() != 2.0)) for p in params}
    assert moved == {"0.weight": True, "0.bias": True, "1.gamma": False, "1.beta": False,
                     "2.weight": True, "2.bias": True}
    grouped = ms.nn.SGD([{"params": params, "weight_decay": 0.5}], learning_rate=0.1)
    assert L.lint(grouped) == []  # with group dicts nothing is filtered by name
    assert L.lint(ms.nn.SGD(params, learning_rate=0.1)) == []  # no weight decay at all


def _ms_run(ms, lrs, steps):
    net = ms.nn.Dense(2, 1)
    opt = ms.nn.SGD(net.trainable_params(), learning_rate=lrs)
    step = ms.nn.TrainOneStepCell(ms.nn.WithLossCell(net, ms.nn.MSELoss()), opt)
    x, y = ms.Tensor(np.ones((4, 2), np.float32)), ms.Tensor(np.zeros((4, 1), np.float32))
    for _ in range(steps):
        step(x, y)
    return opt


@pytest.mark.mindspore
def test_mindspore_list_shorter_than_the_run(ms):
    lrs = [0.1, 0.2, 0.3]
    fs = L.lint(lrs, total_steps=4)
    assert rules_of(fs) == ["mindspore-list-short"] and L.exit_code(fs) == 1
    assert "update 3 raises" in fs[0].message
    assert L.lint(lrs, total_steps=3) == []
    opt = ms.nn.SGD(ms.nn.Dense(2, 1).trainable_params(), learning_rate=lrs)
    assert rules_of(L.lint(opt, total_steps=4)) == ["mindspore-list-short"]
    assert L.lint(opt, total_steps=3) == []
    _ms_run(ms, lrs, 3)
    with pytest.raises(RuntimeError, match="Gather"):  # MindSpore: no hold, an error
        _ms_run(ms, lrs, 4)


@pytest.mark.mindspore
def test_mindspore_list_overrun_in_graph_mode(ms_graph):
    with pytest.raises(RuntimeError, match="Gather"):
        _ms_run(ms_graph, [0.1, 0.2], 3)


@pytest.mark.mindspore
def test_mindspore_float32_steps(ms):
    cell = ms.nn.WarmUpLR(1.0, 2 ** 25)
    at = [float(cell(ms.Tensor(s, ms.int32)).asnumpy()) for s in (2 ** 24, 2 ** 24 + 1)]
    assert at[0] == at[1] == 0.5  # MindSpore: two steps, one value
    fs = L.lint(cell, total_steps=2 ** 25)
    assert rules_of(fs) == ["float32-step"] and "2^24" in fs[0].message
    assert L.lint(ms.nn.WarmUpLR(1.0, 1000), total_steps=2 ** 24) == []
    opt = ms.nn.Momentum(ms.nn.Dense(2, 1).trainable_params(), learning_rate=cell, momentum=0.9)
    assert "float32-step" in rules_of(L.lint(opt, total_steps=2 ** 25))
    fs = only(L.lint(opt, total_steps=2 ** 31), "float32-step")
    assert any("wraps to -2^31" in f.message for f in fs)
    net = ms.nn.Dense(2, 1)  # MindSpore: the int32 counter really wraps
    opt = ms.nn.SGD(net.trainable_params(), learning_rate=ms.nn.WarmUpLR(1.0, 10))
    opt.global_step.set_data(ms.Tensor(np.array([2 ** 31 - 1], np.int32)))
    ms.nn.TrainOneStepCell(ms.nn.WithLossCell(net, ms.nn.MSELoss()), opt)(
        ms.Tensor(np.ones((4, 2), np.float32)), ms.Tensor(np.zeros((4, 1), np.float32)))
    assert int(opt.global_step.asnumpy()[0]) == -(2 ** 31)


@pytest.mark.mindspore
def test_mindspore_experimental_periodic_cosine(ms):
    from mindspore.experimental.optim import SGD, lr_scheduler

    opt = SGD(ms.nn.Dense(2, 1).trainable_params(), lr=0.1)
    s = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    assert rules_of(L.lint(s, total_steps=100)) == ["horizon-periodic"]
    assert L.lint(s, total_steps=10) == []


@pytest.mark.mindspore
def test_clean_mindspore_list_from_a_plan(ms):
    from bridge.frameworks.mindspore import to_mindspore_list

    plan = Plan.single(Sequential((Linear(0.01, 1.0, 100), CosineAnnealing(T_max=900)), (100,)), base=0.1)
    lrs = to_mindspore_list(plan, 1000)
    assert L.lint(lrs, total_steps=1000) == []
    opt = ms.nn.Momentum(_ms_net(ms).trainable_params(), learning_rate=lrs, momentum=0.9)
    assert L.lint(opt, total_steps=1000) == []


# ---------------------------------------------------------------------------
# OneFlow (Python 3.9 environment)
# ---------------------------------------------------------------------------


@pytest.mark.oneflow
def test_oneflow_sequential_global_step(flow):
    S = flow.optim.lr_scheduler

    def make():
        o = flow.optim.SGD([flow.nn.Parameter(flow.zeros(2))], lr=1.0)
        return S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=5), S.CosineAnnealingLR(o, T_max=10)], [5]), o

    s, o = make()
    fs = L.lint(s, total_steps=11)
    assert rules_of(fs) == ["oneflow-global-step"] and "begins 5 steps into its own curve" in fs[0].message
    assert "horizon-periodic" in rules_of(L.lint(s, total_steps=15))  # global step 14 is past T_max=10
    s, o = make()
    v = []
    for _ in range(7):
        v.append(o.param_groups[0]["lr"])
        s.step()
    # OneFlow: the cosine starts 5 steps into its curve (0.5), not at the base
    assert v[5] == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 10)))


@pytest.mark.oneflow
def test_oneflow_polynomial_default_end_above_base(flow):
    S = flow.optim.lr_scheduler
    o = flow.optim.SGD([flow.nn.Parameter(flow.zeros(2))], lr=1e-5)
    s = S.PolynomialLR(o, decay_batch=10)  # end_learning_rate defaults to 1e-4
    fs = L.lint(s, total_steps=11)
    assert rules_of(fs) == ["eta-min-ignored"] and "rises towards 0.0001" in fs[0].message
    v = []
    for _ in range(3):
        v.append(o.param_groups[0]["lr"])
        s.step()
    assert v[0] < v[1] < v[2]  # OneFlow: the "decay" climbs


@pytest.mark.mindspore
def test_mindspore_group_lr_lists(ms):
    net = _ms_net(ms)
    ps = net.trainable_params()
    groups = [{"params": ps[:2], "lr": [0.1] * 10}, {"params": ps[2:], "lr": [0.01] * 5, "weight_decay": 0.0}]
    fs = L.lint(groups, total_steps=8)
    assert [(f.rule, f.where) for f in fs] == [("mindspore-list-short", "groups[1].lr schedule")]
    # MindSpore wants every list of one optimizer equally long; a static group lr is wrapped as a cell
    opt = ms.nn.Momentum([{"params": ps[:2], "lr": 0.01}, {"params": ps[2:], "lr": [0.01] * 5}],
                         learning_rate=0.1, momentum=0.9)
    assert [(f.rule, f.where) for f in L.lint(opt, total_steps=8)] == [("mindspore-list-short", "groups[1].lr schedule")]
    assert L.lint(opt, total_steps=5) == []


@pytest.mark.mindspore
def test_mindspore_scheduler_on_mint_sgd_does_nothing(ms_graph):
    """MindSpore's StepLR(step_size=1, gamma=0.5) on mint.optim.SGD(lr=0.1), GRAPH_MODE: the groups
    report 0.1 * 0.5**k but every update moves the weight by 0.1 (SGD reads lr_float, fixed at
    construction). The finding's fix, bridge.to_mindspore_scheduler, makes the updates follow the
    schedule, and lints clean."""
    from mindspore.experimental.optim import lr_scheduler as S

    from bridge.ir import Step

    ms = ms_graph

    def run(make):
        w = ms.Parameter(ms.Tensor(np.ones(1, np.float32)), name="w")
        opt = ms.mint.optim.SGD([w], lr=0.1)
        sched = make(opt)
        moved, said = [], []
        for _ in range(4):
            before = float(w.asnumpy()[0])
            said.append(float(opt.param_groups[0]["lr"].asnumpy()))
            opt((ms.Tensor(np.ones(1, np.float32)),))  # gradient 1: the weight moves by the lr used
            moved.append(before - float(w.asnumpy()[0]))
            sched.step()
        return sched, np.asarray(moved), np.asarray(said)

    want = 0.1 * 0.5 ** np.arange(4)
    sched, moved, said = run(lambda o: S.StepLR(o, step_size=1, gamma=0.5))
    np.testing.assert_allclose(said, want, rtol=1e-6)  # what the optimizer reports ...
    np.testing.assert_allclose(moved, 0.1, rtol=1e-6)  # ... is not what it uses
    fs = L.lint(sched, total_steps=4)
    assert rules_of(fs) == ["mindspore-mint-lr-float"] and L.exit_code(fs) == 1
    assert fs[0].where == "optimizer.param_groups[0].lr_float" and "every update uses 0.1" in fs[0].message
    assert "bridge.to_mindspore_scheduler(plan, optimizer)" in fs[0].fix
    sched, moved, said = run(lambda o: bridge.to_mindspore_scheduler(Plan.single(Step(1, 0.5), base=0.1), o))
    np.testing.assert_allclose(moved, want, rtol=1e-6)
    assert L.lint(sched, total_steps=4) == []
