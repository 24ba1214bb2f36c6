"""bridge.detect: which framework an object belongs to, from sys.modules and the MRO, importing nothing.

Each framework's objects are real ones (built in the test); the linter, which dispatches on
detect, is run on what used to fall through: sched-bridge's own PlanScheduler and a user's
subclass of a torch scheduler.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import bridge
from bridge import linter as L
from bridge._frameworks import framework_class
from bridge.ir import CosineAnnealing, Plan, Step

ROOT = Path(__file__).resolve().parent.parent


def test_plain_objects_are_no_framework() -> None:
    plan = Plan.single(Step(3, 0.5), base=0.1)
    for obj in (object(), 1.0, "torch", [0.1, 0.2], np.arange(3.0), plan, {"lr": 0.1}, None, len):
        assert bridge.detect(obj) is None, obj
        assert framework_class(obj) is None


def test_a_lookalike_module_name_is_not_the_framework() -> None:
    """Only the top-level package counts: ``torchvision_x`` / ``mindspore_ext`` are not torch / MindSpore."""
    for mod in ("torchvision_x.sched", "mindspore_ext", "oneflowish", "my.torch.sched"):
        klass = type("StepLR", (), {"__module__": mod})
        assert bridge.detect(klass()) is None, mod


_SUBPROCESS = textwrap.dedent("""
    import json, sys
    import bridge
    from bridge import detect                       # bridge._frameworks: the function
    import bridge.parity, bridge.testing, bridge.probes, bridge.linter  # what calls it
    FW = ("torch", "mindspore", "oneflow", "mmengine")
    before = set(sys.modules)
    # classes that claim a framework module while that framework is not imported
    fake = [type(n, (), {"__module__": m})() for n, m in (
        ("StepLR", "torch.optim.lr_scheduler"), ("CosineDecayLR", "mindspore.nn.learning_rate_schedule"),
        ("LinearLR", "mmengine.optim.scheduler.lr_scheduler"), ("StepLR", "oneflow.nn.optimizer.step_lr"))]
    answers = [detect(o) for o in fake + [object(), 0.1, [0.1], bridge.parity.FLOAT64_RTOL]]
    after = set(sys.modules)
    print(json.dumps({"answers": answers, "new": sorted(after - before),
                      "frameworks": sorted(m for m in sys.modules if m.split(".")[0] in FW)}))
""")


def test_detect_imports_nothing() -> None:
    """In a fresh interpreter: detect (and importing parity / testing / probes / linter) loads no
    framework, and detect itself adds no module at all to sys.modules."""
    r = subprocess.run([sys.executable, "-c", _SUBPROCESS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["frameworks"] == [], out
    assert out["new"] == [], out
    # a class naming a framework module that is not loaded is not that framework
    assert out["answers"] == [None] * len(out["answers"]), out


@pytest.mark.torch
def test_torch_objects(torch_mod: ModuleType) -> None:
    import torch  # the fixture made sure it is there; a real import types the subclass below
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    L_ = torch.optim.lr_scheduler
    step = L_.StepLR(opt, step_size=3)

    class MyStep(torch.optim.lr_scheduler.StepLR):  # a user's subclass, defined outside torch
        pass

    mine = MyStep(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), step_size=3)
    own = bridge.to_torch(Plan.single(Step(3, 0.5), base=0.1),
                          torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), prefer_native=False)
    assert type(own).__module__.startswith("bridge.")  # sched-bridge's PlanScheduler
    for obj in (p, torch.tensor([0.1]), opt, step, mine, own, torch.nn.Linear(2, 1)):
        assert bridge.detect(obj) == "torch", type(obj)
    assert framework_class(mine) is L_.StepLR
    assert framework_class(own) is L_.LRScheduler


@pytest.mark.mindspore
def test_mindspore_objects(ms: ModuleType) -> None:
    from mindspore import nn
    from mindspore.experimental import optim as xopt

    net = nn.Dense(2, 1)
    opt = nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    cell = nn.CosineDecayLR(0.0, 0.1, 10)
    ours = bridge.to_mindspore_cell(Plan.single(CosineAnnealing(10), base=0.1))
    xsgd = xopt.SGD(net.trainable_params(), lr=0.1)
    xstep = xopt.lr_scheduler.StepLR(xsgd, 2, 0.5)

    class MyCell(nn.CosineDecayLR):
        pass

    for obj in (ms.Tensor([0.1]), net, opt, cell, ours, xsgd, xstep, MyCell(0.0, 0.1, 10)):
        assert bridge.detect(obj) == "mindspore", type(obj)


@pytest.mark.mindspore
def test_from_mindspore_reads_a_subclass_of_an_experimental_scheduler_as_mindspore(ms: ModuleType) -> None:
    """The dispatch goes by detect: a user's subclass reaches the experimental-scheduler reader
    (which names it as unsupported), and a torch scheduler is no longer taken for one."""
    from mindspore import nn
    from mindspore.experimental import optim as xopt

    class MyStep(xopt.lr_scheduler.StepLR):
        pass

    sched = MyStep(xopt.SGD(nn.Dense(2, 1).trainable_params(), lr=0.1), 2, 0.5)
    with pytest.raises(bridge.UnsupportedError, match="MyStep is not supported"):
        bridge.from_mindspore(sched)


@pytest.mark.torch
def test_from_mindspore_refuses_a_torch_scheduler(torch_mod: ModuleType) -> None:
    torch = torch_mod
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(bridge.SpecError, match="from_mindspore: expected a dynamic-lr function name"):
        bridge.from_mindspore(torch.optim.lr_scheduler.StepLR(opt, 3))


@pytest.mark.oneflow
def test_oneflow_objects(flow: ModuleType) -> None:
    p = flow.nn.Parameter(flow.zeros(1))
    opt = flow.optim.SGD([p], lr=0.1)
    step = flow.optim.lr_scheduler.StepLR(opt, step_size=3)
    own = bridge.to_oneflow(Plan.single(Step(3, 0.5), base=0.1), flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))],
                                                                                 lr=0.1), native=False)
    assert type(own).__module__.startswith("bridge.")
    for obj in (p, flow.zeros(2), opt, step, own):
        assert bridge.detect(obj) == "oneflow", type(obj)


@pytest.mark.oneflow
def test_lint_oneflow_plan_scheduler(flow: ModuleType) -> None:
    """to_oneflow(native=False) is linted as the plan it follows (it used to be "not checked")."""
    opt = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=0.1)
    own = bridge.to_oneflow(Plan.single(CosineAnnealing(10), base=0.1), opt, native=False)
    fs = bridge.lint(own, total_steps=100)
    assert [f.rule for f in fs] == ["horizon-periodic"], fs


@pytest.mark.mmengine
def test_mmengine_objects(mmengine_mod: ModuleType) -> None:
    import torch
    from mmengine.optim import OptimWrapper
    from mmengine.optim.scheduler import LinearLR

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = LinearLR(opt, start_factor=0.1, by_epoch=False, begin=0, end=5)
    for obj in (sched, OptimWrapper(opt)):
        assert bridge.detect(obj) == "mmengine", type(obj)
    assert bridge.detect(opt) == "torch"  # the optimizer it drives stays torch's


# ---------------------------------------------------------------------------
# lint goes by detect
# ---------------------------------------------------------------------------


@pytest.mark.torch
def test_lint_plan_scheduler_is_linted_as_its_plan(torch_mod: ModuleType) -> None:
    """bridge.lint(bridge.to_torch(plan, opt, prefer_native=False)) raised SpecError
    ("expected a Plan, a torch/OneFlow scheduler, ...") before: its class lives in bridge."""
    torch = torch_mod
    plan = Plan.single(CosineAnnealing(10), base=0.1)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = bridge.to_torch(plan, opt, prefer_native=False)
    fs = bridge.lint(sched, total_steps=100)
    assert [f.rule for f in fs] == ["horizon-periodic"], fs  # T_max=10 in a 100-step run: periodic
    assert "T_max=10" in fs[0].message
    # torch itself climbs back past T_max (what the rule warns about)
    opt2 = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    real = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    lrs = []
    for _ in range(21):
        lrs.append(opt2.param_groups[0]["lr"])
        opt2.step()
        real.step()
    assert lrs[10] < 1e-12 and lrs[20] == pytest.approx(0.1)
    assert bridge.lint(sched, total_steps=10) == []


@pytest.mark.torch
def test_lint_user_subclass_of_steplr(torch_mod: ModuleType) -> None:
    """A user's subclass of StepLR is a torch scheduler: the live-object rules run on it; its
    get_lr has no IR form, which lint reports (not-checked) instead of refusing the object."""
    import torch

    class WarmStep(torch.optim.lr_scheduler.StepLR):
        pass

    lr = torch.tensor(0.1)  # float32: torch rounds every scheduled value to float32
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    fs = bridge.lint(WarmStep(opt, step_size=3), total_steps=100)
    assert [f.rule for f in fs] == ["tensor-lr-float32", "not-checked"], fs
    assert "WarmStep" in fs[1].message
    opt.step()
    assert opt.param_groups[0]["lr"].dtype == torch.float32  # the rule's claim, on the real object

    plain = WarmStep(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), step_size=3)
    fs = bridge.lint(plain, total_steps=100)
    assert [f.rule for f in fs] == ["not-checked"] and fs[0].severity == "info", fs
    assert L.exit_code(fs) == 0


# ---------------------------------------------------------------------------
# probes go by detect
# ---------------------------------------------------------------------------


@pytest.mark.torch
def test_probe_picks_the_framework_and_refuses_the_wrong_one(torch_mod: ModuleType) -> None:
    from bridge.probes import mindspore_probe, oneflow_probe, probe

    torch = torch_mod
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    with probe(opt, fields=("lr",)) as pr:
        for _ in range(5):
            opt.step()
            sched.step()
    assert pr.trace.framework == "torch"
    assert pr.trace.array("lr")[:, 0].tolist() == [0.1 * 0.5 ** (t // 2) for t in range(5)]
    # a torch optimizer given to the OneFlow probe used to be recorded as a "oneflow" trace
    with pytest.raises(bridge.SpecError, match="is a torch optimizer, not a oneflow one: use bridge.probes.torch_probe"):
        oneflow_probe(opt)
    with pytest.raises(bridge.SpecError, match="is a torch optimizer, not a mindspore one"):
        mindspore_probe(opt)
    with pytest.raises(bridge.SpecError, match="optimizer: must be a torch, OneFlow or MindSpore optimizer"):
        probe(object())
