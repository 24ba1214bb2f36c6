"""The sched-bridge CLI and SPEC expressions, checked against the real frameworks."""

from __future__ import annotations

import inspect
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _helpers import bridge_env, make_opt, trace
from _require import need

from bridge import parity
from bridge.cli import main
from bridge.spec import _REQ, ONEFLOW_SIGNATURES, TORCH_SIGNATURES, resolve

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
EXPR = ("SequentialLR([LinearLR(start_factor=0.1,total_iters=50), CosineAnnealingLR(T_max=150)], "
        "milestones=[50])")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True,
                          env=bridge_env(GLOG_v="3"), cwd=ROOT, timeout=300)


def torch_real(torch, build, lrs=(0.1,), steps=200):
    """lr per step of the REAL torch scheduler build(optimizer, lr_scheduler_module)."""
    opt = make_opt(torch, lrs, size=1, lr=lrs[0], momentum=0.9)
    return trace(opt, build(opt, torch.optim.lr_scheduler), steps)


def warm_cos(opt, L):
    return L.SequentialLR(opt, [L.LinearLR(opt, start_factor=0.1, total_iters=50),
                                L.CosineAnnealingLR(opt, T_max=150)], milestones=[50])


def close(ours, theirs, bases):
    r = parity.compare(ours, theirs, bases)  # the float64 contract
    assert r.ok, r.summary()


# --- through the real entry point (subprocess) ---


@pytest.mark.torch
def test_values_csv_subprocess_matches_torch(torch_mod):
    r = run("values", EXPR, "--steps", "200", "--lr", "0.1,0.01")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "step,group0,group1"
    got = np.array([[float(x) for x in ln.split(",")[1:]] for ln in lines[1:]])
    close(got, torch_real(torch_mod, warm_cos, (0.1, 0.01)), [0.1, 0.01])


@pytest.mark.parametrize("argv, code, text", [
    (["values", "CosineAnealingLR(T_max=10)", "--steps", "5"], 2, "expected one of CosineAnnealingLR"),
    (["values", "StepLR(step_size=3, gama=0.5)", "--steps", "5"], 2, "col 21, StepLR.gama: unknown argument; "
                                                                      "expected 'gamma'"),
    (["values", "StepLR(step_size=__import__('os'))", "--steps", "5"], 2, "expected a literal"),
    (["values", "no_such_file.yaml", "--steps", "5"], 2, "no such file"),
    (["values", EXPR, "--steps", "0"], 2, "must be >= 1"),
    (["lower", EXPR, "--to", "tensorflow"], 2, "invalid choice"),
])
def test_bad_inputs_subprocess(argv, code, text):
    r = run(*argv)
    assert r.returncode == code
    assert text in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 3


def test_debug_shows_traceback():
    r = run("--debug", "values", "StepLR(step_size=1.5)", "--steps", "3")
    assert r.returncode != 0 and "Traceback" in r.stderr and "SpecError" in r.stderr


@pytest.mark.torch
@pytest.mark.mindspore
def test_demo_subprocess():
    r = run("demo", "--steps", "600")
    assert r.returncode == 0, r.stderr
    assert "0.02" in r.stdout and "torch" in r.stdout and "mindspore-cell" in r.stdout
    assert "MISMATCH" not in r.stdout


# --- in process (bridge.cli.main) ---


@pytest.mark.torch
def test_values_json_and_npy_match_torch(torch_mod, tmp_path, capsys):
    real = torch_real(torch_mod, warm_cos, (0.1, 0.01))
    assert main(["values", EXPR, "--steps", "200", "--lr", "0.1,0.01", "--format", "json", "--group", "1"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["groups"] == [1] and d["steps"] == 200
    close(np.array(d["values"]), real[:, 1:], [0.01])
    out = tmp_path / "v.npy"
    assert main(["values", EXPR, "--steps", "200", "--lr", "0.1,0.01", "-o", str(out)]) == 0
    arr = np.load(out)
    assert arr.shape == (200, 2) and arr.dtype == np.float64
    close(arr, real, [0.1, 0.01])


@pytest.mark.torch
@pytest.mark.parametrize("expr, build", [
    ("OneCycleLR(max_lr=0.5, total_steps=100, three_phase=True)",
     lambda o, L: L.OneCycleLR(o, max_lr=0.5, total_steps=100, three_phase=True)),
    ("CyclicLR(optimizer, 0.01, 0.1, step_size_up=7, mode='triangular2')",
     lambda o, L: L.CyclicLR(o, 0.01, 0.1, step_size_up=7, mode="triangular2")),
    ("ChainedScheduler([ConstantLR(factor=0.5, total_iters=4), ExponentialLR(gamma=0.97)])",
     lambda o, L: L.ChainedScheduler([L.ConstantLR(o, factor=0.5, total_iters=4), L.ExponentialLR(o, 0.97)])),
    ("torch.optim.lr_scheduler.MultiStepLR(milestones=[30, 60, 60], gamma=0.5)",
     lambda o, L: L.MultiStepLR(o, milestones=[30, 60, 60], gamma=0.5)),
    ("SequentialLR([SequentialLR([ConstantLR(factor=0.2, total_iters=10), StepLR(7)], milestones=[12]), "
     "PolynomialLR(total_iters=40, power=2.0)], milestones=[30])",
     lambda o, L: L.SequentialLR(o, [L.SequentialLR(o, [L.ConstantLR(o, factor=0.2, total_iters=10), L.StepLR(o, 7)],
                                                    milestones=[12]), L.PolynomialLR(o, total_iters=40, power=2.0)],
                                 milestones=[30])),
    ("CosineAnnealingWarmRestarts(T_0=10, T_mult=2, eta_min=0.001)",
     lambda o, L: L.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001)),
])
def test_expressions_match_real_torch(torch_mod, expr, build):
    plan = resolve(expr)
    N = 100 if "OneCycle" in expr else 200  # torch raises past total_steps
    close(plan.values(N), torch_real(torch_mod, build, steps=N), [plan.bases()[0]])


@pytest.mark.torch
def test_signature_tables_are_torch_213s(torch_mod):
    L = torch_mod.optim.lr_scheduler
    for name, params in TORCH_SIGNATURES.items():
        sig = [p for p in inspect.signature(getattr(L, name)).parameters.values()
               if p.name not in ("self", "optimizer", "last_epoch", "verbose")]
        assert [p.name for p in sig] == [p for p, _ in params], name
        for p, (_, default) in zip(sig, params):
            assert (p.default is inspect.Parameter.empty) == (default is _REQ), (name, p.name)
            if default is not _REQ:
                assert p.default == default, (name, p.name)


def test_oneflow_table_has_oneflow_only_names():
    assert {"WarmupLR", "CosineDecayLR"} <= set(ONEFLOW_SIGNATURES)
    plan = resolve("WarmupLR(CosineDecayLR(decay_steps=100), warmup_factor=0.1, warmup_iters=10)")
    assert "cosine_decay" in plan.describe() and plan.source.startswith("oneflow")


@pytest.mark.torch
def test_lower_torch_snippet_runs(torch_mod, tmp_path):
    out = tmp_path / "snip.py"
    assert main(["lower", EXPR, "--to", "torch", "--optimizer", "opt", "--lr", "0.1,0.01", "-o", str(out)]) == 0
    params = [{"params": [torch_mod.zeros(1, requires_grad=True)], "lr": lr} for lr in (0.5, 0.5)]
    ns = {"opt": torch_mod.optim.SGD(params, lr=0.5)}
    exec(compile(out.read_text(), str(out), "exec"), ns)
    sched, opt = ns["scheduler"], ns["opt"]
    assert "import bridge" not in out.read_text() and type(sched).__name__ == "SequentialLR"  # plain torch
    close(trace(opt, sched, 200), torch_real(torch_mod, warm_cos, (0.1, 0.01)), [0.1, 0.01])


@pytest.mark.torch
@pytest.mark.parametrize("expr, native", [
    ("OneCycleLR(max_lr=0.5, total_steps=300, three_phase=True)", "OneCycleLR"),
    ("ChainedScheduler([ExponentialLR(gamma=0.99), StepLR(step_size=40, gamma=0.5)])", "ChainedScheduler"),
    ("SequentialLR([LinearLR(start_factor=0.2, total_iters=20), CosineDecayLR(decay_steps=200, alpha=0.1)], "
     "milestones=[20])", None),  # OneFlow's CosineDecayLR: no torch twin
])
def test_lower_torch_native_or_bridge(torch_mod, expr, native, capsys):
    """Native constructors where exact (momentum wave included), the plan + bridge.to_torch otherwise;
    both step like torch's own scheduler built from the same expression."""
    torch = torch_mod
    L = torch.optim.lr_scheduler
    assert main(["lower", expr, "--to", "torch", "--optimizer", "opt", "--lr", "0.1"]) == 0
    text = capsys.readouterr().out
    assert ("import bridge" not in text) == (native is not None)

    def make():
        return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)

    ns = {"opt": make()}
    exec(text, ns)
    ref_opt = make()
    if native is None:  # the reference: the plan's own values (the OneFlow half checks CosineDecayLR itself)
        want = resolve(expr, lr=[0.1]).values(300)[:, 0]
        for t in range(300):
            assert ns["opt"].param_groups[0]["lr"] == pytest.approx(want[t], rel=parity.FLOAT64_RTOL, abs=0)
            ns["opt"].step()
            ns["scheduler"].step()
        return
    def bound(cls):
        return lambda *a, **k: cls(ref_opt, *a, **k)

    ref = eval(expr, {n: bound(getattr(L, n)) for n in dir(L)}
               | {"ChainedScheduler": lambda s: L.ChainedScheduler(s, optimizer=ref_opt)})
    assert type(ns["scheduler"]).__name__ == native
    for _ in range(300):
        for f in ("lr", "momentum"):
            assert ns["opt"].param_groups[0][f] == pytest.approx(ref_opt.param_groups[0][f], rel=parity.FLOAT64_RTOL, abs=0)
        for o, sch in ((ns["opt"], ns["scheduler"]), (ref_opt, ref)):
            o.step()
            sch.step()


@pytest.mark.torch
def test_lower_mindspore_list_file_matches_torch(torch_mod, tmp_path):
    out = tmp_path / "lr.json"
    assert main(["lower", EXPR, "--to", "mindspore-list", "--steps", "200", "-o", str(out)]) == 0
    vals = json.loads(out.read_text())
    close(np.array(vals)[:, None], torch_real(torch_mod, warm_cos), [0.1])


@pytest.mark.torch
@pytest.mark.mindspore
def test_lower_mindspore_cell_snippet_runs(torch_mod: Any, ms: Any, tmp_path: Path, capsys: Any) -> None:
    assert main(["lower", EXPR, "--to", "mindspore-cell"]) == 0
    ns: dict = {}
    exec(capsys.readouterr().out, ns)
    from mindspore import Tensor

    got = ns["lr_cell"](Tensor(np.arange(200, dtype=np.int32))).asnumpy().astype(np.float64)
    want = torch_real(torch_mod, warm_cos)[:, 0]  # EXPR stepped in torch
    r = parity.compare(got, want, 0.1, "mindspore-cell")
    assert r.ok, r.summary()


def test_lower_mindspore_cell_standalone_module(capsys):
    """--standalone writes a module with no sched-bridge import (MindSpore is not needed to write it;
    test_mindspore_cells runs such modules with sched-bridge blocked)."""
    import ast

    assert main(["lower", EXPR, "--to", "mindspore-cell", "--standalone"]) == 0
    tree = ast.parse(capsys.readouterr().out)
    imported = {a.name.split(".")[0] for nd in ast.walk(tree) if isinstance(nd, ast.Import) for a in nd.names}
    imported |= {nd.module.split(".")[0] for nd in ast.walk(tree) if isinstance(nd, ast.ImportFrom) and nd.module}
    assert imported <= {"__future__", "itertools", "math", "typing", "mindspore", "numpy"}, imported
    assert "make_schedule" in {nd.name for nd in tree.body if isinstance(nd, ast.FunctionDef)}
    assert main(["lower", EXPR, "--to", "torch", "--standalone"]) == 2
    assert "--standalone: applies to --to mindspore-cell only" in capsys.readouterr().err


def test_written_sources_survive_any_plan_source_text():
    """A plan's source (a config path, an expression) goes into comments of the written code:
    backslashes, quotes and newlines must not break it."""
    import ast

    from bridge.frameworks import mindspore as bm
    from bridge.frameworks import oneflow as bo
    from bridge.frameworks import torch as bt

    odd = 'C:\\Users\\Nina\\cfg.py """ it\'s\nnext line \\N{'
    from bridge.ir import CosineAnnealing, Linear, Plan, Sequential

    nd = Sequential((Linear(0.1, 1.0, 50), CosineAnnealing(150)), (50,))
    plan = Plan(Plan.single(nd, base=[0.1, 0.01]).groups, source=odd)
    for text in (bm.to_mindspore_source(plan), bo.native_source(plan, "opt"), bt.native_source(plan, "opt")):
        assert text is not None
        ast.parse(text)


@pytest.mark.torch
@pytest.mark.mindspore
def test_parity_torch_and_mindspore(torch_mod, ms, capsys):
    assert main(["parity", EXPR, "--steps", "300", "--lr", "0.1,0.01", "--frameworks", "torch,mindspore"]) == 0
    out = capsys.readouterr().out
    assert _rows(out) == {"torch (source)": ("source", "ok"), "torch": ("lowering", "ok"),
                          "mindspore-list": ("lowering", "ok"), "mindspore-cell": ("lowering", "ok")}, out
    assert "checked 300 updates" in out


def test_parity_missing_framework_exit_3(capsys):
    from bridge._frameworks import available

    # runs in every env: OneFlow (Python <= 3.10) and torch 2.13 never share one here
    absent = [fw for fw in ("oneflow", "torch") if not available(fw)]
    assert absent, "both oneflow and torch are installed: no missing framework to ask for"
    assert main(["parity", EXPR, "--frameworks", absent[0], "--steps", "10"]) == 3
    assert f"{absent[0]} not installed" in capsys.readouterr().err


def test_plot_png_size(tmp_path):
    need("matplotlib")
    out = tmp_path / "lr.png"
    assert main(["plot", EXPR, "--steps", "200", "--log", "-o", str(out), "--size", "6x3", "--dpi", "50"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (300, 150)


def test_plot_svg_and_bad_suffix(tmp_path, capsys):
    need("matplotlib")
    assert main(["plot", EXPR, "--steps", "100", "-o", str(tmp_path / "a.svg")]) == 0
    assert (tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")
    assert main(["plot", EXPR, "-o", str(tmp_path / "a.pdf")]) == 2
    assert "must end in .png or .svg" in capsys.readouterr().err


def test_show_marks_phases(capsys):
    assert main(["show", EXPR, "--steps", "200"]) == 0
    out = capsys.readouterr().out
    assert "phases switch at [50]" in out and "    49  " in out


def test_config_needs_epoch_length(capsys):
    cfg = str(ROOT / "tests/data/configs/_base_/schedules/schedule_1x.py")
    assert main(["values", cfg, "--steps", "10"]) == 2
    assert "--epoch-length" in capsys.readouterr().err
    assert main(["values", cfg, "--epoch-length", "100", "--steps", "1200", "-o", os.devnull]) == 0


@pytest.mark.torch
@pytest.mark.mmengine
def test_convert_to_mmengine_steps_like_torch(torch_mod, tmp_path):
    expr = ("SequentialLR([LinearLR(start_factor=0.1, total_iters=49), MultiStepLR(milestones=[60, 120])], "
            "milestones=[50])")
    out = tmp_path / "cfg.py"
    assert main(["convert", expr, "--to", "mmengine", "-o", str(out)]) == 0
    from mmengine.optim.scheduler import LinearLR, MultiStepLR

    from bridge.config import load_config

    cfg = load_config(out)
    p = torch_mod.zeros(1, requires_grad=True)
    opt = torch_mod.optim.SGD([p], lr=cfg["optim_wrapper"]["optimizer"]["lr"], momentum=0.9)
    kinds = {"LinearLR": LinearLR, "MultiStepLR": MultiStepLR}
    scheds = [kinds[d.pop("type")](opt, **d) for d in cfg["param_scheduler"]]
    got = trace(opt, scheds, 200)
    real = torch_real(torch_mod, lambda o, L: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=49),
                                                                  L.MultiStepLR(o, milestones=[60, 120])],
                                                             milestones=[50]))
    close(got, real, [0.1])
    # a SequentialLR whose warm-up is cut by the milestone has no exact MMEngine form
    assert main(["convert", EXPR, "--to", "mmengine"]) == 3


def test_convert_config_to_spec_round_trip(tmp_path):
    cfg = str(ROOT / "tests/data/configs/_base_/schedules/schedule_1x.py")
    out = tmp_path / "plan.json"
    assert main(["convert", cfg, "--to", "spec", "--epoch-length", "100", "-o", str(out)]) == 0
    a = resolve(cfg, epoch_length=100).values(1200)
    b = resolve(str(out)).values(1200)
    assert np.array_equal(a, b)


@pytest.mark.oneflow
@pytest.mark.parametrize("expr, build", [
    ("WarmupLR(CosineDecayLR(decay_steps=100), warmup_factor=0.1, warmup_iters=10)",
     lambda o, L: L.WarmupLR(L.CosineDecayLR(o, decay_steps=100), warmup_factor=0.1, warmup_iters=10)),
    ("PolynomialLR(decay_batch=30, cycle=True, power=2.0)",
     lambda o, L: L.PolynomialLR(o, decay_batch=30, cycle=True, power=2.0)),
    ("oneflow.ChainedScheduler([ConstantLR(factor=0.5, total_iters=3), ExponentialLR(gamma=0.9)])",
     lambda o, L: L.ChainedScheduler([L.ConstantLR(o, factor=0.5, total_iters=3), L.ExponentialLR(o, gamma=0.9)])),
])
def test_oneflow_expressions_match_real_oneflow(flow, expr, build):
    from bridge.testing import assert_same_schedule

    opt = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=0.1)
    s = build(opt, flow.optim.lr_scheduler)
    assert_same_schedule(resolve(expr), s, steps=150)
    assert s.last_step == 0  # read without disturbing it


@pytest.mark.torch
def test_parity_trace_against_spec_and_trace(torch_mod, tmp_path, capsys):
    """`parity SPEC --trace run.csv`: a real torch run's probe trace vs the spec (ok), vs a run that
    called scheduler.step() before optimizer.step() (exit 1, off by one named)."""
    from bridge.probes import torch_probe

    torch = torch_mod
    spec = "SequentialLR([LinearLR(start_factor=0.1,total_iters=3), CosineAnnealingLR(T_max=7)], milestones=[3])"

    def run(path, early_step):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1)
        L = torch.optim.lr_scheduler
        sched = L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=3), L.CosineAnnealingLR(opt, T_max=7)], [3])
        with torch_probe(opt, fields=("lr",)) as probe:
            for _ in range(10):
                if early_step:
                    sched.step()
                opt.step()
                if not early_step:
                    sched.step()
        probe.trace.save(path)
        return path

    good = run(tmp_path / "good.csv", False)
    bad = run(tmp_path / "bad.json", True)
    assert main(["parity", spec, "--trace", str(good), "--rtol", str(parity.FLOAT64_RTOL)]) == 0
    assert "lr: OK over 10 updates" in capsys.readouterr().out
    assert main(["parity", spec, "--trace", str(bad), "--rtol", str(parity.FLOAT64_RTOL)]) == 1
    assert "off by one" in capsys.readouterr().out.lower()
    assert main(["parity", str(good), "--trace", str(bad)]) == 1  # trace vs trace
    assert main(["parity", spec, "--trace", str(good), "--skipped", "x"]) == 2


def test_lint_subprocess(tmp_path):
    """`sched-bridge lint`: warnings exit 0, an error finding exits 1, a clean MMEngine config passes,
    an unknown rule id is a bad input (2). The rules themselves are tested in tests/test_lint.py."""
    jump = run("lint", "SequentialLR([LinearLR(start_factor=0.1,total_iters=500), CosineAnnealingLR(T_max=9500)], "
               "milestones=[300])", "--steps", "10000")
    assert jump.returncode == 0, jump.stderr
    assert "warning[sequential-milestone-jump]" in jump.stdout and "jumps from 0.06382 to 0.1 at step 300" in jump.stdout
    over = run("lint", "OneCycleLR(max_lr=0.1, total_steps=100)", "--steps", "200", "--explain")
    assert over.returncode == 1 and "error[one-cycle-overrun]" in over.stdout
    clean = run("lint", str(DATA / "configs" / "retinanet_2x.py"), "--epoch-length", "100")
    assert clean.returncode == 0 and clean.stdout.strip() == "no findings", clean.stdout + clean.stderr
    bad = run("lint", "StepLR(step_size=3)", "--select", "nope")
    assert bad.returncode == 2 and "unknown rule id" in bad.stderr and "Traceback" not in bad.stderr


# --- layout: the command line parses, calls the library and prints ---


def test_cli_defines_only_commands_and_the_subcommand_api():
    """Library code (lowerings, plotting, the demo, parity) lives in the library, not in bridge/cli.py:
    its public functions are the subcommands, the parser and the API of docs/cli.md."""
    import ast

    tree = ast.parse((ROOT / "bridge" / "cli.py").read_text(encoding="utf-8"))
    public = {nd.name for nd in tree.body if isinstance(nd, (ast.FunctionDef, ast.ClassDef))
              and not nd.name.startswith("_") and not nd.name.startswith("cmd_")}
    assert public == {"arg", "command", "load_plan", "build_parser", "main"}, public


def test_moved_names_resolve_with_a_deprecation_warning():
    """Names that moved out of bridge.cli (and mappings.FRAMEWORKS, renamed APIS) still resolve, with a
    DeprecationWarning naming the new place, to the very objects at the new place."""
    import bridge
    import bridge.cli as cli
    from bridge import _frameworks, demo, mappings, plot
    from bridge.frameworks import _source, mmengine

    moved = {"to_mmengine": mmengine.to_mmengine, "plot_plan": plot.plot_plan, "demo_plan": demo.demo_plan,
             "DEMO_RECIPE": demo.DEMO_RECIPE, "snippet": _source.snippet,
             "framework_values": parity.framework_values, "FRAMEWORKS": _frameworks.PARITY_FRAMEWORKS}
    for name, new in moved.items():
        with pytest.warns(DeprecationWarning, match=rf"bridge\.cli\.{name} is deprecated; use "):
            assert getattr(cli, name) is new
    with pytest.warns(DeprecationWarning, match=r"bridge\.cli\.compare is deprecated"):
        row = cli.compare("torch", np.ones((3, 1)), np.array([[1.0], [2.0], [1.0]]), np.ones(1))
    assert not row["ok"] and row["first_divergent"] == 1 and row["framework"] == "torch"
    with pytest.raises(AttributeError):
        _ = cli.no_such_name
    assert bridge.to_mmengine is mmengine.to_mmengine and bridge.plot_plan is plot.plot_plan
    with pytest.warns(DeprecationWarning, match=r"mappings\.FRAMEWORKS is deprecated"):
        assert mappings.FRAMEWORKS == mappings.APIS
    assert _frameworks.PARITY_FRAMEWORKS == ("torch", "mindspore", "oneflow")


# --- parity: the whole run, what each row is, MMEngine's own schedulers; paramwise_cfg groups ---


@pytest.fixture
def retinanet(openmmlab_zoo):
    """mmdet 3.3.0's configs/retinanet/retinanet_r50_fpn_1x_coco.py as the wheel ships it (model,
    dataset, schedule, runtime and TTA bases)."""
    return str(openmmlab_zoo / "mmdet" / ".mim" / "configs" / "retinanet" / "retinanet_r50_fpn_1x_coco.py")

DINO = str(DATA / "configs" / "dino_paramwise.py")  # real mmdet 3.3.0 optimizer with paramwise_cfg


def _rows(out):
    """target -> (kind, result) of a parity table."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        for kind in ("source", "lowering"):
            if kind in parts[1:3]:
                i = parts.index(kind)
                rows[" ".join(parts[:i])] = (kind, parts[i + 1])
    return rows


@pytest.mark.mmengine
@pytest.mark.torch
def test_parity_retinanet_covers_the_whole_run_and_catches_a_planted_difference(
        torch_mod, mmengine_mod, retinanet, tmp_path, capsys, monkeypatch):
    """The real RetinaNet 1x config, read without --trust, with 7,330 iterations per epoch (COCO
    train2017 at 16 images per iteration; a config does not say its epoch length, so --epoch-length
    is needed): milestones at 58,640 and 80,630 (past the old 10,000-step default). MMEngine's own
    schedulers and the torch lowering are stepped over all 87,960 updates; a plan that misses the
    last decay differs first exactly at 80,630."""
    import bridge.cli as cli

    argv = ["parity", retinanet, "--epoch-length", "7330", "--frameworks", "torch,mmengine"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "parity of lr over 87960 updates" in out and "checked all 87960 updates (the plan's whole run)" in out
    assert _rows(out) == {"mmengine (source)": ("source", "ok"), "torch": ("lowering", "ok")}, out
    planted = tmp_path / "planted.py"  # the same run with the second milestone never reached
    planted.write_text(f"_base_ = [{retinanet!r}]\n"
                       + "param_scheduler = [\n"
                       "    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),\n"
                       "    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 12], gamma=0.1)]\n")
    real_resolve = cli._resolve
    monkeypatch.setattr(cli, "_resolve", lambda args, lr=None: real_resolve(
        type(args)(**dict(vars(args), spec=str(planted))), lr))
    assert main(argv[:-1] + ["mmengine"]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("mmengine (source)"))
    assert line.split()[3:7] == ["MISMATCH", "0.0009", "9", "80630"], line  # 1e-3 vs 1e-4 from epoch 11 on


@pytest.mark.mmengine
@pytest.mark.torch
def test_parity_fewer_steps_than_the_run_says_what_was_not_checked(torch_mod, mmengine_mod, retinanet, capsys):
    assert main(["parity", retinanet, "--epoch-length", "7330", "--frameworks", "mmengine", "--steps", "10000"]) == 0
    assert "checked updates 0..9999 of 87960 (--steps 10000): updates 10000..87959 were NOT checked" \
        in capsys.readouterr().out


@pytest.mark.torch
@pytest.mark.parametrize("expr, total", [
    ("OneCycleLR(max_lr=0.1, total_steps=100)", 100),
    ("OneCycleLR(max_lr=0.1, epochs=4, steps_per_epoch=25, three_phase=True)", 100),
    ("SequentialLR([LinearLR(start_factor=0.1, total_iters=5), "
     "OneCycleLR(max_lr=0.1, total_steps=40, cycle_momentum=False)], milestones=[5])", 45),
    ("ChainedScheduler([OneCycleLR(max_lr=0.1, total_steps=30, cycle_momentum=False), ExponentialLR(gamma=0.9)])", 30),
])
def test_parity_of_an_expression_with_its_own_horizon_checks_that_run(torch_mod, capsys, expr, total):
    """A OneCycleLR says how long its run is (torch raises past it): the plan's total_steps, so
    `parity` without --steps checks exactly that run. The horizon is torch's: a loop stepping the
    real scheduler after each of `total` updates works, one more step raises."""
    torch = torch_mod
    opt = make_opt(torch, [0.1])
    sched = _build_torch(torch, expr, opt)
    for _ in range(total):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step"):
        sched.step()
    assert resolve(expr).total_steps == total
    assert main(["parity", expr, "--frameworks", "torch"]) == 0
    out = capsys.readouterr().out
    assert f"checked all {total} updates (the plan's whole run)" in out and _rows(out) == {
        "torch (source)": ("source", "ok"), "torch": ("lowering", "ok")}, out


def _build_torch(torch, expr, opt):
    """The torch scheduler an expression names, on ``opt`` (its nested calls get ``opt`` too)."""
    import ast

    L = torch.optim.lr_scheduler
    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):  # ChainedScheduler(schedulers, optimizer=None)
            if node.func.id == "ChainedScheduler":
                node.keywords.append(ast.keyword("optimizer", ast.Name("optimizer", ast.Load())))
            else:
                node.args.insert(0, ast.Name("optimizer", ast.Load()))
    ast.fix_missing_locations(tree)
    return eval(compile(tree, "<expr>", "eval"), {"optimizer": opt, **{k: getattr(L, k) for k in dir(L)}})


@pytest.mark.torch
@pytest.mark.mindspore
def test_parity_field_mindspore_cannot_schedule_is_not_applicable(torch_mod, ms, capsys):
    """OneCycleLR cycles momentum: torch schedules it, a MindSpore nn optimizer cannot (n/a, exit 0)."""
    expr = "OneCycleLR(max_lr=0.1, total_steps=100)"
    assert main(["parity", expr, "--field", "momentum", "--steps", "100", "--frameworks", "torch,mindspore"]) == 0
    out = capsys.readouterr().out
    assert _rows(out) == {"torch (source)": ("source", "ok"), "torch": ("lowering", "ok"),
                          "mindspore-list": ("lowering", "n/a"), "mindspore-cell": ("lowering", "n/a")}, out
    assert "cannot schedule 'momentum'" in out and "checked 100 updates" in out


DINO_ARGS = ["--epoch-length", "10"]  # 12 epochs of 10 iterations: the decay at epoch 11 = update 110


def test_show_lists_paramwise_groups(capsys):
    assert main(["show", DINO, *DINO_ARGS]) == 0
    out = capsys.readouterr().out
    assert "paramwise_cfg: 1 custom key, 2 groups (default, backbone); showing 'default' (use --group KEY)" in out
    rows = {ln.split()[0]: ln.split()[1:3] for ln in out.splitlines() if ln.startswith("  default")
            or ln.startswith("  backbone")}
    assert rows == {"default": ["0.0001", "0.0001"], "backbone": ["1e-05", "0.0001"]}, out


def test_values_and_lower_take_a_paramwise_group(tmp_path, capsys):
    want = [1e-4 * 0.1] * 110 + [1e-4 * 0.1 * 0.1] * 10  # backbone: lr_mult 0.1, then MultiStep at epoch 11
    assert main(["values", DINO, *DINO_ARGS, "--group", "backbone", "--format", "json"]) == 0
    cap = capsys.readouterr()
    got = [row[0] for row in json.loads(cap.out)["values"]]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert "showing group 'backbone': lr 1e-05, weight_decay 0.0001 (lr_mult=0.1)" in cap.err
    out = tmp_path / "lr.json"
    assert main(["lower", DINO, *DINO_ARGS, "--group", "backbone", "--to", "mindspore-list", "-o", str(out)]) == 0
    np.testing.assert_allclose(json.loads(out.read_text()), want, rtol=1e-15)
    assert main(["lower", DINO, *DINO_ARGS, "--group", "0", "--to", "mindspore-list", "-o", str(out)]) == 0
    np.testing.assert_allclose(json.loads(out.read_text()), [1e-4] * 110 + [1e-5] * 10, rtol=1e-15)
    assert "showing 'default'" in capsys.readouterr().err
    assert main(["values", DINO, *DINO_ARGS, "--group", "backbon"]) == 2
    assert "expected one of default, backbone" in capsys.readouterr().err
    assert main(["values", EXPR, "--steps", "3", "--group", "backbone"]) == 2
    assert "needs an MMEngine config with optim_wrapper.paramwise_cfg" in capsys.readouterr().err


@pytest.mark.mmengine
@pytest.mark.torch
def test_parity_paramwise_group_against_mmengine(torch_mod, mmengine_mod, capsys):
    assert main(["parity", DINO, *DINO_ARGS, "--group", "backbone", "--frameworks", "mmengine,torch"]) == 0
    out = capsys.readouterr().out
    assert "paramwise group 'backbone'" in out and "checked all 120 updates" in out
    assert _rows(out) == {"mmengine (source)": ("source", "ok"), "torch": ("lowering", "ok")}, out


WD_CONFIG = """
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.001, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'head': dict(lr_mult=10.0, decay_mult=0.5)}))
train_cfg = dict(by_epoch=False, max_iters=1000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', by_epoch=False, begin=0, end=1000,
         eta_min=0.01),
]
"""


@pytest.mark.mmengine
@pytest.mark.torch
@pytest.mark.mindspore
def test_paramwise_group_scales_a_scheduled_weight_decay(torch_mod, mmengine_mod, ms, tmp_path, capsys):
    """--group head: weight_decay 0.05 * decay_mult 0.5 is the cosine's start, eta_min stays absolute;
    MindSpore takes weight_decay as a Cell but not as a list (n/a)."""
    cfg = tmp_path / "wd.py"
    cfg.write_text(WD_CONFIG)
    assert main(["values", str(cfg), "--group", "head", "--field", "weight_decay", "--format", "json"]) == 0
    got = np.array([r[0] for r in json.loads(capsys.readouterr().out)["values"]])
    t = np.arange(1000)
    np.testing.assert_allclose(got, 0.01 + (0.025 - 0.01) * (1 + np.cos(np.pi * t / 1000)) / 2, rtol=1e-12)
    assert main(["parity", str(cfg), "--group", "head", "--field", "weight_decay",
                 "--frameworks", "mmengine,torch,mindspore"]) == 0
    assert _rows(capsys.readouterr().out) == {
        "mmengine (source)": ("source", "ok"), "torch": ("lowering", "ok"), "mindspore-list": ("lowering", "n/a"),
        "mindspore-cell": ("lowering", "ok")}


def test_paramwise_of_another_constructor_is_said_not_applied(tmp_path, capsys):
    cfg = tmp_path / "lrd.py"  # mmseg / mmpretrain layer-wise decay: not DefaultOptimWrapperConstructor's rules
    cfg.write_text("optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.001, weight_decay=0.05),\n"
                   "    constructor='LearningRateDecayOptimizerConstructor',\n"
                   "    paramwise_cfg=dict(num_layers=12, decay_rate=0.9, decay_type='layer_wise'))\n"
                   "train_cfg = dict(by_epoch=False, max_iters=100)\n"
                   "param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)]\n")
    assert main(["show", str(cfg)]) == 0
    assert "paramwise_cfg: not applied (constructor 'LearningRateDecayOptimizerConstructor'" in \
        capsys.readouterr().out
    assert main(["values", str(cfg), "--group", "backbone"]) == 3
    assert "only its paramwise_cfg rules are modelled" in capsys.readouterr().err
