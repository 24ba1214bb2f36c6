"""bridge.load_config: literal reading of MMEngine configs, compared with mmengine.Config."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import bridge
from bridge import parity
from bridge.errors import SpecError

DATA = Path(__file__).parent / "data" / "configs"
LITERAL = ["retinanet_2x.py", "adamw_delete.py", "seg_poly.json", "child.yaml",
           "_base_/schedules/schedule_1x.py"]


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


@pytest.mark.mmengine
@pytest.mark.parametrize("name", LITERAL)
def test_same_as_mmengine_config(name):
    from mmengine.config import Config

    ours = bridge.load_config(DATA / name)
    theirs = Config.fromfile(str(DATA / name)).to_dict()
    theirs.pop("_base_", None)
    assert _plain(ours) == _plain(theirs)


def test_inheritance_and_delete():
    cfg = bridge.load_config(DATA / "adamw_delete.py")
    assert cfg["optim_wrapper"] == {
        "type": "OptimWrapper",
        "optimizer": {"type": "AdamW", "lr": 0.0004, "weight_decay": 0.05},
        "paramwise_cfg": {"norm_decay_mult": 0, "bias_decay_mult": 0}}
    cos = cfg["param_scheduler"][1]
    assert (cos["begin"], cos["end"], cos["T_max"]) == (18, 34, 16)
    assert cos["eta_min"] == pytest.approx(0.0004 * 0.05)
    assert cfg["train_cfg"] == {"type": "EpochBasedTrainLoop", "max_epochs": 36, "val_interval": -1}
    assert cfg["warmup"]["end"] == 500 and cfg["loop_cfg"]["max_epochs"] == 12
    child = bridge.load_config(DATA / "retinanet_2x.py")
    assert child["optim_wrapper"]["optimizer"] == {"type": "SGD", "lr": 0.01, "momentum": 0.9,
                                                   "weight_decay": 0.0001}
    assert child["train_dataloader"]["dataset"]["type"] == "CocoDataset"


def test_yaml_json():
    cfg = bridge.load_config(DATA / "child.yaml")
    assert cfg["optim_wrapper"]["optimizer"]["lr"] == 0.02
    assert cfg["train_cfg"] == {"type": "IterBasedTrainLoop", "max_iters": 80000}


def test_type_imports_become_names():
    cfg = bridge.load_config(DATA / "pure_types.py")
    assert [d["type"] for d in cfg["param_scheduler"]] == ["LinearLR", "CosineAnnealingLR"]
    assert cfg["optim_wrapper"]["optimizer"]["type"] == "SGD"
    assert "LinearLR" not in cfg


def _copy_malicious(tmp_path: Path, name: str) -> tuple:
    marker = tmp_path / "MARKER"
    text = (DATA / name).read_text().replace("MARKER_PATH", str(marker))
    p = tmp_path / name
    p.write_text(text)
    return p, marker


@pytest.mark.parametrize("name", ["malicious.py", "sneaky_call.py"])
def test_malicious_config_is_refused_and_not_executed(tmp_path, name):
    p, marker = _copy_malicious(tmp_path, name)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(SpecError) as ei:
            bridge.load_config(p)
    finally:
        os.chdir(cwd)
    msg = str(ei.value)
    assert f"{p}:" in msg and "nothing was executed" in msg and "trust=True" in msg
    assert ("import" in msg) if name == "malicious.py" else ("__import__" in msg)
    assert not marker.exists()


def test_trust_executes(tmp_path):
    p, marker = _copy_malicious(tmp_path, "malicious.py")
    cfg = bridge.load_config(p, trust=True)
    assert marker.exists()
    assert cfg["param_scheduler"][0]["type"] == "LinearLR"


def test_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.py"
    p.write_text("lr = 0.1\nparam_scheduler = [dict(type='StepLR', step_size=steps)]\n")
    with pytest.raises(SpecError, match=r"bad\.py:2: name 'steps' is not assigned earlier"):
        bridge.load_config(p)
    p.write_text("steps = []\nfor i in range(3):\n    steps.append(i)\n"
                 "param_scheduler = [dict(type='MultiStepLR', milestones=steps)]\n")
    with pytest.raises(SpecError, match=r"bad\.py:2: a For statement cannot be read.*needed for param_scheduler"):
        bridge.load_config(p)
    p.write_text("_base_ = 'missing.py'\n")
    with pytest.raises(SpecError, match="base file not found"):
        bridge.load_config(p)
    with pytest.raises(SpecError, match="no such config file"):
        bridge.load_config(tmp_path / "nope.py")


@pytest.mark.mmengine
@pytest.mark.torch
def test_loaded_config_gives_the_plan(torch_mod):
    cfg = bridge.load_config(DATA / "adamw_delete.py")
    L = 40
    plan = bridge.from_mmengine(cfg["param_scheduler"], bases={"lr": [cfg["optim_wrapper"]["optimizer"]["lr"]]},
                                epoch_length=L, max_epochs=cfg["train_cfg"]["max_epochs"])
    # the same through real MMEngine
    from test_mmengine import run_mmengine

    p = torch_mod.nn.Parameter(torch_mod.zeros(1, dtype=torch_mod.float64))
    opt = torch_mod.optim.AdamW([p], lr=cfg["optim_wrapper"]["optimizer"]["lr"])
    ref = run_mmengine(cfg["param_scheduler"], opt, epoch_length=L, max_epochs=36, fields=("lr",))["lr"]
    r = parity.compare(plan.values(36 * L), ref, plan.bases())
    assert r.ok, r.summary("vs mmengine")


def test_base_loop_detected(tmp_path):
    a = tmp_path / "a.py"
    b = tmp_path / "b.py"
    a.write_text("_base_ = './b.py'\nx = 1\n")
    b.write_text("_base_ = './a.py'\ny = 2\n")
    with pytest.raises(SpecError, match="loops back"):
        bridge.load_config(a)


def test_duplicate_base_keys(tmp_path):
    shutil.copy(DATA / "_base_/datasets/coco.py", tmp_path / "c1.py")
    shutil.copy(DATA / "_base_/datasets/coco.py", tmp_path / "c2.py")
    (tmp_path / "m.py").write_text("_base_ = ['c1.py', 'c2.py']\n")
    with pytest.raises(SpecError, match="duplicate keys"):
        bridge.load_config(tmp_path / "m.py")


@pytest.mark.parametrize("name", ["malicious.py", "sneaky_call.py"])
@pytest.mark.parametrize("argv", [["values", "--steps", "5"], ["show"], ["lint"], ["parity", "--steps", "5"],
                                  ["plot", "-o", "p.png"], ["lower", "--to", "torch"],
                                  ["convert", "--to", "spec"]])
def test_no_command_executes_a_config_without_trust(tmp_path, monkeypatch, capsys, name, argv):
    """Canary: every command that reads a SPEC refuses the config (exit 2) and runs none of it."""
    from bridge.cli import main

    p, marker = _copy_malicious(tmp_path, name)
    monkeypatch.chdir(tmp_path)
    cmd, rest = argv[0], argv[1:]
    assert main([cmd, str(p), *rest]) == 2
    assert "trust" in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.mmengine
def test_constructs_read_as_mmengine_reads_them():
    """Comprehensions, f-strings, built-ins, str methods, copy.deepcopy, _base_ assignments, update,
    del, if, a skipped import/call: the whole config equals mmengine.Config's."""
    from mmengine.config import Config

    p = DATA / "constructs" / "child.py"
    ours = bridge.load_config(p)
    theirs = Config.fromfile(str(p)).to_dict()
    theirs.pop("_base_", None)
    assert isinstance(ours.pop("os"), bridge.config.Unreadable) if "os" in ours else True
    theirs.pop("os", None)
    assert _plain(ours) == _plain(theirs)
    # pipe2's items came from _base_ (ConfigDicts): the stored list is new, its dicts are shared
    assert ours["train_dataloader"]["dataset"]["pipeline"][1]["scale"] == (1, 1)
    assert ours["model"]["backbone"]["depth"] == 101 and "tta_model" not in ours


def test_unneeded_statements_are_skipped_not_run(tmp_path):
    marker = tmp_path / "MARKER"
    p = tmp_path / "c.py"
    p.write_text(f"import os\nos.system('touch {marker}')\ntta = [open('x') for _ in range(3)]\n"
                 "param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n")
    cfg = bridge.load_config(p)
    assert cfg["param_scheduler"] == [{"type": "StepLR", "step_size": 3, "by_epoch": False}]
    from bridge.config import Unreadable

    assert isinstance(cfg["tta"], Unreadable) and "open" in cfg["tta"].why
    assert not marker.exists()
    with pytest.raises(SpecError, match=r"c\.py:3: calling open\(\.\.\.\).*needed for tta.*trust=True"):
        bridge.load_config(p, need=["tta"])


def test_missing_package_scope_names_it(tmp_path):
    p = tmp_path / "c.py"
    p.write_text("_base_ = ['mmrotate::x/y.py']\n")
    with pytest.raises(SpecError, match=r"package 'mmrotate' \(scope 'mmrotate::'\), which is not installed"):
        bridge.load_config(p)


def test_trust_with_a_missing_package_names_it_and_the_flag(tmp_path, capsys):
    from bridge.cli import main

    p = tmp_path / "c.py"
    p.write_text("lr = 0.1\nimport no_such_pkg_abc\n")
    with pytest.raises(SpecError, match=r"c\.py:2: .*needs the package 'no_such_pkg_abc'.*trust=True"):
        bridge.load_config(p, trust=True)
    assert main(["show", str(p), "--trust"]) == 2
    err = capsys.readouterr().err
    assert "no_such_pkg_abc" in err and "c.py:2" in err and "--trust" in err and "Traceback" not in err


#: a new-format config and its base (written at test time: their relative imports are config
#: syntax, not modules of this repository)
NEW_FORMAT_BASE = """\
from mmengine.optim.scheduler.lr_scheduler import LinearLR, MultiStepLR
from torch.optim.sgd import SGD
from mmengine.optim import OptimWrapper

optim_wrapper = dict(type=OptimWrapper, optimizer=dict(type=SGD, lr=0.02, momentum=0.9, weight_decay=0.0001))
max_epochs = 12
param_scheduler = [dict(type=LinearLR, start_factor=0.001, by_epoch=False, begin=0, end=500),
                   dict(type=MultiStepLR, begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
"""
NEW_FORMAT_CHILD = """\
from mmengine.config import read_base

with read_base():
    from .._base_.schedules.sched import *

from mmengine.optim.scheduler import CosineAnnealingLR

max_epochs = 24
train_cfg.update(max_epochs=max_epochs)
param_scheduler[1] = dict(type=CosineAnnealingLR, T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)
optim_wrapper.update(dict(optimizer=dict(lr=0.01)))
optim_wrapper.merge(dict(optimizer=dict(momentum=0.95), clip_grad=dict(max_norm=35)))
"""


@pytest.mark.mmengine
def test_new_format_config_reads_as_mmengine_reads_it(tmp_path):
    """`with read_base(): from .._base_.x import *`: bases read statically, classes imported for
    type=... recorded as MMEngine's lazy import records them (their dotted names)."""
    from mmengine.config import Config

    (tmp_path / "_base_" / "schedules").mkdir(parents=True)
    (tmp_path / "_base_" / "schedules" / "sched.py").write_text(NEW_FORMAT_BASE)
    (tmp_path / "exp").mkdir()
    p = tmp_path / "exp" / "child.py"
    p.write_text(NEW_FORMAT_CHILD)
    ours = bridge.load_config(p)
    assert _plain(ours) == _plain(Config.fromfile(str(p)).to_dict())
    assert ours["param_scheduler"][1]["type"] == "mmengine.optim.scheduler.CosineAnnealingLR"
    assert ours["optim_wrapper"]["optimizer"]["lr"] == 0.01 and ours["train_cfg"]["max_epochs"] == 24
    assert ours["optim_wrapper"]["optimizer"]["momentum"] == 0.95  # ConfigDict.merge


def test_new_format_base_missing_is_named(tmp_path):
    p = tmp_path / "c.py"
    p.write_text("from mmengine.config import read_base\nwith read_base():\n    from .nope import *\n")
    with pytest.raises(SpecError, match=r"c\.py:3: base config not found"):
        bridge.load_config(p)


def _new_format(tmp_path: Path) -> Path:
    (tmp_path / "_base_" / "schedules").mkdir(parents=True)
    (tmp_path / "_base_" / "schedules" / "sched.py").write_text(NEW_FORMAT_BASE)
    (tmp_path / "exp").mkdir()
    p = tmp_path / "exp" / "child.py"
    p.write_text(NEW_FORMAT_CHILD)
    return p


@pytest.mark.mmengine
@pytest.mark.torch
def test_new_format_config_gives_the_schedule_mmengine_runs(tmp_path, torch_mod):
    """New-format config -> load_config (types as dotted import paths) -> from_mmengine: the plan
    equals MMEngine's schedulers built from Config.fromfile's own entries (lazy-imported classes)
    and stepped like ParamSchedulerHook over the whole run."""
    from mmengine.config import Config
    from test_mmengine import run_mmengine

    torch = torch_mod
    p = _new_format(tmp_path)
    cfg = bridge.load_config(p)
    assert cfg["param_scheduler"][0]["type"] == "mmengine.optim.scheduler.lr_scheduler.LinearLR"
    assert _plain(bridge.load_config(p, trust=True)) == _plain(cfg)  # run by MMEngine, lazily as it runs them

    def opt():
        return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=0.01, momentum=0.95)

    L, E = 30, cfg["train_cfg"]["max_epochs"]  # the 500-iteration warm-up ends in epoch 17 of 24
    plan = bridge.from_mmengine(cfg["param_scheduler"], opt(), epoch_length=L, max_epochs=E)
    theirs = Config.fromfile(str(p)).param_scheduler  # each type a LazyObject, built to the class
    ref = run_mmengine(list(theirs), opt(), epoch_length=L, max_epochs=E, fields=("lr",))["lr"]
    r = parity.compare(plan.values(L * E, "lr"), ref, plan.bases("lr"))
    assert r.ok, r.summary("new-format config vs mmengine")
    assert ref[0, 0] == pytest.approx(1e-5) and ref[-1, 0] < 1e-4  # the warm-up and the cosine both act


#: every module MMEngine 0.10 and its packages could name in a dotted type, and two wrong ones
_TYPE_MODULES = ("mmengine", "mmengine.optim", "mmengine.optim.scheduler", "mmengine.optim.scheduler.lr_scheduler",
                 "mmengine.optim.scheduler.momentum_scheduler", "mmengine.optim.scheduler.param_scheduler",
                 "torch.optim.lr_scheduler", "mmengine.optim.scheduler.nope")


@pytest.mark.mmengine
def test_dotted_types_are_read_where_mmengine_builds_the_same_class():
    """A type 'pkg.module.Name' is the class MMEngine's registry builds from it (Registry.get: the
    scope's registry, else the object at that import path): read as the built-in type exactly
    when that is MMEngine's own class of that name, refused (naming the paths that work) else."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    from mmengine.registry import PARAM_SCHEDULERS

    from bridge.frameworks.mmengine import MMENGINE_TYPES

    checked = 0
    for name in MMENGINE_TYPES:
        for mod in _TYPE_MODULES:
            try:
                theirs = PARAM_SCHEDULERS.get(f"{mod}.{name}") is PARAM_SCHEDULERS.get(name)
            except Exception:  # MMEngine raises RuntimeError or KeyError
                theirs = False
            try:
                bridge.from_mmengine([{"type": f"{mod}.{name}", "by_epoch": False}], bases={"lr": [0.1]})
                ours = True
            except SpecError as e:
                ours = not e.path.endswith(".type")  # a missing argument: the type itself was read
                if not ours:
                    assert "import it from one of: mmengine.optim" in str(e) or "CosineRestart" in name, e
            assert ours == theirs, (mod, name, ours, theirs)
            checked += theirs
    assert checked > 3 * len(MMENGINE_TYPES)  # 'mmengine.Name', the scheduler package, the defining module, ...
    plan = bridge.from_mmengine([{"type": "mmdet.engine.schedulers.QuadraticWarmupLR", "end": 4, "by_epoch": False},
                                 {"type": "mmdet.QuadraticWarmupMomentum", "end": 4, "by_epoch": False}],
                                bases={"lr": [0.1], "momentum": [0.9]})
    assert list(plan.fields) == ["lr", "momentum"]  # mmdet's quadratic warm-up: base * (t + 1)^2 / T^2, T = 4
    assert list(plan.values(5, "lr")[:, 0]) == pytest.approx([0.1 * k * k / 16 for k in (1, 2, 3, 4, 4)], rel=1e-12)
    # a class (a config run with trust=True): MMEngine's own, or torch's class of the same name
    from mmengine.optim.scheduler import LinearLR
    from torch.optim.lr_scheduler import LinearLR as TorchLinearLR

    assert bridge.from_mmengine([{"type": LinearLR, "end": 5, "by_epoch": False}], bases={"lr": [0.1]}).groups == \
        bridge.from_mmengine([{"type": "LinearLR", "end": 5, "by_epoch": False}], bases={"lr": [0.1]}).groups
    with pytest.raises(SpecError, match=r"param_scheduler\[0\]\.type: MMEngine would not build mmengine's LinearLR"):
        bridge.from_mmengine([{"type": TorchLinearLR, "end": 5, "by_epoch": False}], bases={"lr": [0.1]})
    with pytest.raises(SpecError, match=r"param_scheduler\[0\]\.type: .*'mmdet\.QuadraticWarmupLR'"):
        bridge.from_mmengine([{"type": "mmengine.QuadraticWarmupLR", "end": 4, "by_epoch": False}], bases={"lr": [0.1]})


@pytest.mark.mmengine
def test_delete_without_a_base_key_is_kept_as_mmengine_keeps_it(openmmlab_zoo, tmp_path):
    """mmdet 3.3.0's ga-fast-rcnn config sets optimizer_config=dict(_delete_=True, ...) over bases
    that have no optimizer_config: MMEngine keeps the `_delete_` key (it pops it only where there
    is something to delete); so do we, in .py and .json configs alike."""
    from mmengine.config import Config

    real = openmmlab_zoo / "mmdet" / ".mim" / "configs" / "guided_anchoring" / "ga-fast-rcnn_r50-caffe_fpn_1x_coco.py"
    ours = bridge.load_config(real)
    theirs = Config.fromfile(str(real), import_custom_modules=False).to_dict()
    assert ours["optimizer_config"] == theirs["optimizer_config"] == {
        "_delete_": True, "grad_clip": {"max_norm": 35, "norm_type": 2}}
    assert _plain(ours["optim_wrapper"]) == _plain(theirs["optim_wrapper"])
    (tmp_path / "base.py").write_text("a = dict(x=1, y=2)\n")
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"_base_": "base.py", "a": {"_delete_": True, "x": 3},
                                 "b": {"_delete_": True, "z": {"_delete_": False, "w": 4}}}))
    ours = bridge.load_config(child)
    theirs = Config.fromfile(str(child)).to_dict()
    theirs.pop("_base_", None)
    assert _plain(ours) == _plain(theirs) == {"a": {"x": 3}, "b": {"_delete_": True, "z": {"_delete_": False, "w": 4}}}


def test_cli_says_which_statements_it_skipped(tmp_path, capsys):
    """Statements the schedule does not need are skipped, not run, and every command that reads
    the config says so in one stderr line (how many, the first file:line); nothing is said when
    nothing was skipped, or with --trust (the file was run)."""
    from bridge.cli import main

    p = tmp_path / "c.py"
    p.write_text("lr = 0.1\nimport math\nparam_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n"
                 "half = math.pi / 2\noptim_wrapper = dict(optimizer=dict(type='SGD', lr=lr))\n")
    for argv in (["values", str(p), "--steps", "3"], ["show", str(p), "--steps", "3"], ["lint", str(p)],
                 ["convert", str(p), "--to", "mmengine"]):
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert err.splitlines()[-1] == (f"sched-bridge {argv[0]}: 2 config statements no key sched-bridge reads "
                                        f"depends on were skipped, not executed (first: {p}:2)"), err
        assert err.count("skipped, not executed") == 1
    assert main(["values", str(p), "--steps", "3", "--trust"]) == 0
    assert "skipped" not in capsys.readouterr().err
    clean = tmp_path / "clean.py"
    clean.write_text("param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n"
                     "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n")
    assert main(["values", str(clean), "--steps", "3"]) == 0
    assert capsys.readouterr().err == ""
