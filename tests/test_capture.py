"""``sched-bridge capture`` / ``bridge.capture``: real training scripts, run as scripts.

Expected side: the lr each param group REALLY used at each optimizer update over the FULL run,
recorded by ``tests/_record_lrs.py`` (a torch optimizer pre-hook, run to the script's end in its
own process). Captured side: the plan capture wrote after stopping the script early. They must
agree at every update (rtol 1e-12), and the plan's horizon must be the run's length.
"""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pytest
from _require import required
from _xfw_cases import xfw_dir

import bridge
from bridge.capture import Cadence, capture, fit_cadence

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "data" / "scripts"
REPO = HERE.parent
# timm's package __init__ needs torchvision; this sitecustomize lets `import timm.scheduler` (timm's
# real code) work where torchvision cannot load (see the module's docstring)
TIMM_SHIM = HERE / "data" / "timm_no_torchvision"


def _env(timm: bool = False) -> Dict[str, str]:
    env = dict(os.environ, GLOG_v="3", PYTHONDONTWRITEBYTECODE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    paths = [str(REPO)] if (REPO / "bridge").is_dir() and Path(bridge.__file__).resolve().parent == REPO / "bridge" \
        else []
    if timm:
        paths.append(str(TIMM_SHIM))
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _run(args: Sequence[str], cwd: Path, timm: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=str(cwd), env=_env(timm), capture_output=True, text=True,
                          timeout=300)


def _truth(tmp_path: Path, script: str, args: Sequence[str] = (), timm: bool = False) -> np.ndarray:
    """The lr of each group at each update of the full run (the script run to its end)."""
    out = tmp_path / "truth.json"
    r = _run([str(HERE / "_record_lrs.py"), str(out), str(SCRIPTS / script), *args], tmp_path, timm)
    assert r.returncode == 0, r.stderr[-3000:]
    return np.asarray(json.loads(out.read_text())["lrs"], dtype=np.float64)


def _capture_cli(tmp_path: Path, script: str, args: Sequence[str] = (), opts: Sequence[str] = (),
                 timm: bool = False) -> subprocess.CompletedProcess:
    return _run(["-m", "bridge", "capture", "-o", str(tmp_path / "plan.json"), *opts, "--",
                 str(SCRIPTS / script), *args], tmp_path, timm)


def _same(plan: bridge.Plan, truth: np.ndarray) -> None:
    n = truth.shape[0]
    assert plan.total_steps == n, (plan.total_steps, n)
    np.testing.assert_allclose(plan.values(n, "lr"), truth, rtol=1e-12, atol=0)


def _need_timm() -> None:
    if importlib.util.find_spec("timm") is None:
        if "timm" in required():
            pytest.fail("timm is required here (BRIDGE_REQUIRE has 'timm') but not installed")
        pytest.skip("timm not installed")


# ---------------------------------------------------------------------------
# cadence (no framework)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seen, complete, want", [
    ([0, 1, 2], False, Cadence(0, 1, 1)),                          # per update
    ([0, 0, 0, 1, 1, 1, 2], False, Cadence(0, 1, 3)),              # per epoch of 3
    ([0, 0, 0, 1, 1], False, None),                                # one epoch seen: not yet sure
    ([0, 0, 0, 1, 1], True, Cadence(0, 1, 3)),                     # the run ended
    ([2, 5, 8], False, Cadence(2, 3, 1)),                          # 3 per update, 2 before the first
    ([0, 0, 0], True, Cadence(0, 1, 3)),                           # never stepped in the run
])
def test_fit_cadence(seen: List[int], complete: bool, want: Optional[Cadence]) -> None:
    assert fit_cadence(seen, complete) == want


def test_fit_cadence_refuses_irregular_stepping() -> None:
    with pytest.raises(bridge.UnsupportedError, match="irregular"):
        fit_cadence([2, 5, 8, 11, 15], True)


# ---------------------------------------------------------------------------
# real scripts, run as scripts
# ---------------------------------------------------------------------------


@pytest.mark.torch
def test_torchvision_style_epoch_stepped(tmp_path: Path, ms) -> None:
    """StepLR stepped once per epoch of 13 updates, 7 epochs; the horizon comes from --updates.
    ``--emit mindspore``: the written port builds a real nn.Momentum whose per-update lr tables
    are the lrs the torch run used (float32)."""
    truth = _truth(tmp_path, "torchvision_style.py")
    assert truth.shape == (91, 2)
    r = _capture_cli(tmp_path, "torchvision_style.py",
                     opts=["--updates", "91", "--emit", "mindspore", "-O", str(tmp_path / "port.py")])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "cadence: 1 step per epoch of 13 updates" in r.stdout
    assert "stopped early" in r.stdout and "done" not in r.stdout  # the script did not run to its end
    plan = bridge.load(tmp_path / "plan.json")
    _same(plan, truth)
    assert "fc.weight" in (plan.groups[0].name or "") and "fc.bias" in (plan.groups[1].name or "")

    spec = importlib.util.spec_from_file_location("captured_port", tmp_path / "port.py")
    assert spec is not None and spec.loader is not None
    port = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(port)

    class Net(ms.nn.Cell):  # the script's Net, in MindSpore
        def __init__(self) -> None:
            super().__init__()
            self.fc, self.norm, self.head = ms.nn.Dense(4, 3), ms.nn.LayerNorm((3,)), ms.nn.Dense(3, 2)

    net = Net()
    opt = port.make_optimizer(net)
    assert type(opt).__name__ == "Momentum"
    group_of = {"fc.weight": 0, "head.weight": 0, "fc.bias": 1, "norm.gamma": 1, "norm.beta": 1, "head.bias": 1}
    for p in net.trainable_params():
        got = opt.get_lr_parameter(p).asnumpy()
        np.testing.assert_array_equal(got, truth[:, group_of[p.name]].astype(np.float32), err_msg=p.name)


@pytest.mark.torch
def test_torchvision_style_without_updates_asks_for_it(tmp_path: Path) -> None:
    r = _capture_cli(tmp_path, "torchvision_style.py", ["--epochs", "3"])
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--updates" in r.stderr and "does not say how long the run is" in r.stderr
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before:UserWarning")
def test_scheduler_stepped_every_micro_batch_python_form(tmp_path: Path) -> None:
    """Gradient accumulation (3 micro-batches per update) with the scheduler stepped every
    micro-batch: 3 steps per update, 2 before the first; the Python form, in this process."""
    args = ["--batches", "12", "--epochs", "4", "--accum-steps", "3", "--sched-per-batch", "--lr-step-size", "5"]
    truth = _truth(tmp_path, "torchvision_style.py", args)
    assert truth.shape == (16, 2)
    script = str(SCRIPTS / "torchvision_style.py")
    old = sys.argv[:]
    sys.argv = [script, *args]
    try:
        with bridge.capture(updates=16) as cap:  # type: ignore[operator]  # the module is callable
            runpy.run_path(script, run_name="__main__")
    finally:
        sys.argv[:] = old
    assert cap.stopped_early
    assert "3 steps per update (+2 before the first update)" in cap.report()
    _same(cap.plan, truth)


@pytest.mark.torch
def test_hf_trainer_warmup_restarts_accumulation(tmp_path: Path) -> None:
    """HF Trainer: warm-up 4, cosine_with_restarts (2 cycles), gradient_accumulation_steps=3; the
    horizon is HF's num_training_steps. Captured with the Python form in its own process."""
    pytest.importorskip("transformers")
    truth = _truth(tmp_path, "hf_trainer.py", [str(tmp_path / "out")])
    assert truth.shape == (30, 2)
    code = ("import sys; from bridge.capture import run_script; "
            f"cap = run_script({str(SCRIPTS / 'hf_trainer.py')!r}, [{str(tmp_path / 'out2')!r}]); "
            f"cap.plan.dump({str(tmp_path / 'plan.json')!r}); print(cap.report())")
    r = _run(["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "hf:cosine_with_restarts" in r.stdout and "1 step per update" in r.stdout
    _same(bridge.load(tmp_path / "plan.json"), truth)


@pytest.mark.torch
@pytest.mark.parametrize("args, cadence", [
    ([], "1 step per epoch of 7 updates"),
    (["--per-update"], "1 step per update"),
    (["--sched", "step"], "1 step per epoch of 7 updates"),
])
def test_timm_create_scheduler_v2(tmp_path: Path, args: List[str], cadence: str) -> None:
    """timm's train.py loop (step_update per update, step(epoch + 1) per epoch); the horizon is the
    epoch count create_scheduler_v2 returns."""
    _need_timm()
    truth = _truth(tmp_path, "timm_train.py", args, timm=True)
    assert truth.shape == (42, 1)
    r = _capture_cli(tmp_path, "timm_train.py", args, timm=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"cadence: {cadence}" in r.stdout
    _same(bridge.load(tmp_path / "plan.json"), truth)


@pytest.mark.torch
@pytest.mark.parametrize("args, scheduler", [([], "torch.optim.lr_scheduler.OneCycleLR"),
                                             (["--cosine"], "cosine_scheduler.CosineLrScheduler")])
def test_pytorch_accelerated_trainer(tmp_path: Path, args: List[str], scheduler: str) -> None:
    """pytorch-accelerated Trainer, gradient accumulation 2: OneCycleLR from create_scheduler_fn
    (placeholders), or the library's own CosineLrScheduler with a warm-up epoch."""
    pytest.importorskip("pytorch_accelerated")
    truth = _truth(tmp_path, "accelerated_trainer.py", args)
    assert truth.shape == (15, 1)
    r = _capture_cli(tmp_path, "accelerated_trainer.py", args)
    assert r.returncode == 0, r.stderr[-3000:]
    assert scheduler in r.stdout
    assert "horizon: 15 updates" in r.stdout
    _same(bridge.load(tmp_path / "plan.json"), truth)


# ---------------------------------------------------------------------------
# what capture refuses
# ---------------------------------------------------------------------------


@pytest.mark.torch
def test_lr_changed_outside_the_scheduler_is_an_error(torch_mod) -> None:
    torch = torch_mod
    model = torch.nn.Linear(2, 1)
    with pytest.raises(bridge.UnsupportedError, match="something else changes the lr"):
        with capture() as cap:
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
            for _ in range(10):
                model(torch.ones(1, 2)).sum().backward()
                opt.step()
                sched.step()
                opt.param_groups[0]["lr"] *= 0.5  # not the scheduler's doing
        _ = cap.plan


def _sgd_loop(torch, make, updates: int, every: int, swallow: bool = False) -> None:
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = make(opt)
    for t in range(updates):
        model(torch.ones(1, 2)).sum().backward()
        opt.step()
        if (t + 1) % every == 0:
            try:
                sched.step()
            except Exception:  # a script that swallows errors must not hide capture's
                if not swallow:
                    raise


@pytest.mark.torch
def test_a_scheduler_not_stepped_before_updates_is_an_error(torch_mod) -> None:
    with capture(updates=5) as cap:
        _sgd_loop(torch_mod, lambda o: torch_mod.optim.lr_scheduler.StepLR(o, 2), 40, 13)
    with pytest.raises(bridge.SpecError, match=r"StepLR drives this optimizer but the script had not stepped it"):
        _ = cap.plan


@pytest.mark.torch
def test_an_unreadable_scheduler_stops_the_script_and_is_reported(torch_mod) -> None:
    class Mine(torch_mod.optim.lr_scheduler.LRScheduler):  # a custom class: from_torch refuses it
        def get_lr(self):
            return [0.9 ** self.last_epoch * b for b in self.base_lrs]

    with capture() as cap:
        _sgd_loop(torch_mod, Mine, 40, 1, swallow=True)
    assert cap.stopped_early and len(cap.optimizers) == 1
    with pytest.raises(bridge.UnsupportedError):
        _ = cap.plan


@pytest.mark.torch
def test_from_timm_live_knows_its_horizon(torch_mod) -> None:
    """A live timm scheduler's plan carries timm's own cycle length (t_initial over the cycles,
    with cycle_mul, plus the prefixed warm-up) times the updates per epoch."""
    _need_timm()
    spec = importlib.util.spec_from_file_location("_timm_shim", TIMM_SHIM / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # the timm shim, where torchvision cannot load
    CosineLRScheduler = importlib.import_module("timm.scheduler").CosineLRScheduler
    opt = torch_mod.optim.SGD(torch_mod.nn.Linear(2, 1).parameters(), lr=0.1)
    s = CosineLRScheduler(opt, t_initial=5, cycle_mul=2.0, cycle_limit=3, warmup_t=2, warmup_prefix=True)
    assert bridge.from_timm(s, updates_per_epoch=4).total_steps == (5 + 10 + 20 + 2) * 4
    s2 = CosineLRScheduler(opt, t_initial=6, cycle_limit=2, t_in_epochs=False)
    assert bridge.from_timm(s2).total_steps == 12


# ---------------------------------------------------------------------------
# no script: steps per epoch, and options that do not apply
# ---------------------------------------------------------------------------


def _torch_per_epoch(torch, make, epochs: int, L: int) -> np.ndarray:
    """The lr real torch uses at each update when the scheduler is stepped once per epoch of L."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        for _ in range(L):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
        sched.step()
    return np.asarray(out)[:, None]


@pytest.mark.torch
def test_from_torch_steps_per_epoch(torch_mod) -> None:
    torch = torch_mod
    def make(o):
        return torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 3], gamma=0.3)
    truth = _torch_per_epoch(torch, make, 5, 7)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    plan = bridge.from_torch(make(opt), steps_per_epoch=7)
    assert plan.epoch_length == 7
    np.testing.assert_allclose(plan.values(35), truth, rtol=1e-12, atol=0)


@pytest.mark.torch
def test_cli_steps_per_epoch_for_an_expression(torch_mod, tmp_path: Path) -> None:
    from bridge.cli import main

    truth = _torch_per_epoch(torch_mod, lambda o: torch_mod.optim.lr_scheduler.StepLR(o, 2, gamma=0.5), 5, 3)
    out = tmp_path / "v.json"
    assert main(["values", "StepLR(step_size=2, gamma=0.5)", "--lr", "0.1", "--steps-per-epoch", "3",
                 "--steps", "15", "-o", str(out)]) == 0
    np.testing.assert_allclose(np.asarray(json.loads(out.read_text())["values"]), truth, rtol=1e-12, atol=0)


@pytest.mark.parametrize("argv, option, kind", [
    (["values", "StepLR(step_size=30)", "--steps", "5", "--epoch-length", "100"], "--epoch-length", "an expression"),
    (["show", "StepLR(step_size=30)", "--max-epochs", "3"], "--max-epochs", "an expression"),
    (["values", "StepLR(step_size=30)", "--steps", "5", "--trust"], "--trust", "an expression"),
    (["values", "{plan}", "--lr", "0.5"], "--lr", "a plan file"),
    (["values", "{plan}", "--steps-per-epoch", "4"], "--steps-per-epoch", "a plan file"),
    (["convert", "{plan}", "--to", "spec", "--epoch-length", "4"], "--epoch-length", "a plan file"),
    (["lower", "StepLR(step_size=3)", "--to", "torch", "--steps", "9"], "--steps", "--to mindspore-list"),
    (["parity", "StepLR(step_size=3)", "--steps", "5", "--rtol", "1e-9"], "--rtol", "--trace"),
    (["convert", "{plan}", "--to", "spec", "--steps", "9"], "--steps", "--to mmengine"),
    (["parity", "{plan}", "--trace", "{plan}", "--frameworks", "torch"], "--frameworks", "without --trace"),
    (["lint", "x.py", "--lr", "0.1"], "--lr", "not a .py config"),
])
def test_an_option_that_does_not_apply_is_an_error(argv: List[str], option: str, kind: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    from bridge.cli import main

    plan_file = tmp_path / "p.json"
    plan_file.write_text(json.dumps({"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": 0.1}}],
                                     "total_steps": 5}))
    argv = [a.replace("{plan}", str(plan_file)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert option in err and kind in err, err


# ---------------------------------------------------------------------------
# several schedulers on one optimizer, several optimizers
# ---------------------------------------------------------------------------


def _truth_per_optimizer(tmp_path: Path, script: str, args: Sequence[str] = ()) -> List[np.ndarray]:
    out = tmp_path / "truth.json"
    r = _run([str(HERE / "_record_lrs.py"), str(out), str(SCRIPTS / script), *args], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    return [np.asarray(x, dtype=np.float64) for x in json.loads(out.read_text())["optimizers"]]


@pytest.mark.torch
@pytest.mark.parametrize("order", ["warm-first", "cos-first"])
def test_two_schedulers_stepped_together(tmp_path: Path, torch_mod, order: str) -> None:
    """A LinearLR warm-up and a CosineAnnealingLR both stepped after every update: each step updates
    the lr in the order called. The captured plan equals the full run; the full run equals a real
    torch ChainedScheduler of the two in that order (the model capture uses)."""
    torch = torch_mod
    (truth,) = _truth_per_optimizer(tmp_path, "two_schedulers.py", ["--order", order])
    assert truth.shape == (40, 1)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30, eta_min=1e-3)
    chained = torch.optim.lr_scheduler.ChainedScheduler([warm, cos] if order == "warm-first" else [cos, warm])
    seen = []
    for _ in range(40):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        chained.step()
    np.testing.assert_allclose(np.asarray(seen)[:, None], truth, rtol=1e-15, atol=0)
    r = _capture_cli(tmp_path, "two_schedulers.py", ["--order", order], opts=["--updates", "40"])
    assert r.returncode == 0, r.stderr[-3000:]
    first, second = ("LinearLR", "CosineAnnealingLR") if order == "warm-first" else ("CosineAnnealingLR", "LinearLR")
    assert f"torch {first}, {second} (stepped in this order: a ChainedScheduler)" in r.stdout
    assert "stopped early" in r.stdout and "done" not in r.stdout
    _same(bridge.load(tmp_path / "plan.json"), truth)


@pytest.mark.torch
def test_two_optimizers_a_plan_each(tmp_path: Path) -> None:
    """A GAN: the discriminator's ExponentialLR per update, the generator's StepLR per epoch of 5
    updates. -o plan.json writes plan_0.json (first optimizer to update) and plan_1.json."""
    truth_d, truth_g = _truth_per_optimizer(tmp_path, "gan.py")
    assert truth_d.shape == truth_g.shape == (30, 1)
    r = _capture_cli(tmp_path, "gan.py", opts=["--updates", "30", "--emit", "oneflow", "-O", str(tmp_path / "port.py")])
    assert r.returncode == 0, r.stderr[-3000:]
    for i in (0, 1):  # a port per optimizer too, each compiling, each with its optimizer's plan
        text = (tmp_path / f"port_{i}.py").read_text()
        compile(text, f"port_{i}.py", "exec")
        assert "'class': 'oneflow.optim.Adam'" in text and f"'lr': {[4e-4, 1e-4][i]!r}" in text
    assert not (tmp_path / "port.py").exists()
    assert "optimizer 0: Adam" in r.stdout and "optimizer 1: Adam" in r.stdout
    assert "cadence: 1 step per update" in r.stdout and "cadence: 1 step per epoch of 5 updates" in r.stdout
    assert not (tmp_path / "plan.json").exists()
    d, g = bridge.load(tmp_path / "plan_0.json"), bridge.load(tmp_path / "plan_1.json")
    _same(d, truth_d)
    _same(g, truth_g)
    assert "0.weight" in (d.groups[0].name or "") and "0.weight" in (g.groups[0].name or "")


# ---------------------------------------------------------------------------
# the emitted ports, run on the real framework
# ---------------------------------------------------------------------------

#: files handed to tests/test_xfw_oneflow.py::test_xfw_read_torch_capture_emit (OneFlow, Python 3.9)
EMIT_ONEFLOW = "capture_emit_oneflow"


@pytest.mark.torch
def test_emit_oneflow_port_recorded_for_oneflow(tmp_path: Path) -> None:
    """``--emit oneflow`` of the two-scheduler script: the written port and the lrs of the full torch
    run go to BRIDGE_XFW_DIR; the OneFlow half (tests/test_xfw_oneflow.py) builds the port's
    optimizer and scheduler on a OneFlow model, steps them and compares with these lrs."""
    (truth,) = _truth_per_optimizer(tmp_path, "two_schedulers.py")
    r = _capture_cli(tmp_path, "two_schedulers.py",
                     opts=["--updates", "40", "--emit", "oneflow", "-O", str(tmp_path / "port.py")])
    assert r.returncode == 0, r.stderr[-3000:]
    text = (tmp_path / "port.py").read_text()
    assert "import oneflow as flow" in text and "def make_optimizer(model)" in text
    compile(text, "port.py", "exec")
    d = xfw_dir()
    (d / f"{EMIT_ONEFLOW}.port.py").write_text(text)
    np.save(d / f"{EMIT_ONEFLOW}.torch_lrs.npy", truth)


@pytest.mark.torch
@pytest.mark.mindspore
def test_emit_mindspore_adamw_port(tmp_path: Path, ms) -> None:
    """``--emit mindspore`` of an AdamW script (two groups, weight decay 0.05 / 0, warm-up and cosine
    stepped together): the port builds nn.AdamWeightDecay, whose per-update lr and weight-decay
    tables are torch's values with Adam's bias correction folded in (nn.AdamWeightDecay has none):
    lr_ms = lr * sqrt(1 - b2^n) / (1 - b1^n), wd_ms = wd * (1 - b1^n) / sqrt(1 - b2^n), n = update + 1.
    Unfolding them gives back the lr / weight decay of the full torch run."""
    (truth,) = _truth_per_optimizer(tmp_path, "two_schedulers.py", ["--adamw"])
    assert truth.shape == (40, 2)
    r = _capture_cli(tmp_path, "two_schedulers.py", ["--adamw"],
                     opts=["--updates", "40", "--emit", "mindspore", "-O", str(tmp_path / "port.py")])
    assert r.returncode == 0, r.stderr[-3000:]
    spec = importlib.util.spec_from_file_location("captured_adamw_port", tmp_path / "port.py")
    assert spec is not None and spec.loader is not None
    port = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(port)
    nn = ms.nn
    net = nn.SequentialCell([nn.Dense(4, 8), nn.LayerNorm((8,)), nn.Dense(8, 2)])
    opt = port.make_optimizer(net)
    assert type(opt).__name__ == "AdamWeightDecay"
    # trained 40 updates in MindSpore, a probe on the optimizer (it reads what MindSpore applied at each
    # update and unfolds it to torch AdamW's meaning)
    from bridge.probes import mindspore_probe

    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    grad_fn = ms.value_and_grad(lambda x, y: loss_fn(net(x), y), None, opt.parameters)
    probe = mindspore_probe(opt, fields=("lr", "weight_decay"))
    rng = np.random.default_rng(0)
    for _ in range(40):
        x, y = rng.standard_normal((4, 4)).astype(np.float32), rng.integers(0, 2, 4).astype(np.int32)
        _, grads = grad_fn(ms.Tensor(x), ms.Tensor(y))
        opt(grads)
        probe.sync()
    tr = probe.trace
    assert len(tr) == 40
    n = np.arange(1, 41)[:, None]
    fold = np.sqrt(1 - 0.99 ** n) / (1 - 0.9 ** n)  # written out here, not taken from the library
    np.testing.assert_allclose(tr.array("lr"), truth, rtol=2e-6, atol=0)
    np.testing.assert_allclose(tr.array("weight_decay"), np.tile([0.05, 0.0], (40, 1)), rtol=2e-6, atol=0)
    np.testing.assert_allclose(tr.array("native_lr"), truth * fold, rtol=2e-6, atol=0)
    np.testing.assert_allclose(tr.array("native_weight_decay")[:, 0], 0.05 / fold[:, 0], rtol=2e-6, atol=0)
