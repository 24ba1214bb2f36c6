"""bridge.load_config: literal reading of MMEngine configs, compared with mmengine.Config."""

from __future__ import annotations

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
