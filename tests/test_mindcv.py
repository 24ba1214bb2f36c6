"""from_mindcv: mindcv 0.3.0's own create_scheduler lists, every step through the end of training.

The expected side is always mindcv's real ``create_scheduler`` (installed), fed the way its
``train.py`` feeds it: for YAML configs, with the arguments its real ``config.py`` parser
(vendored in tests/data/mindcv/) reads from the vendored configs.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from types import ModuleType
from typing import Any, Dict

import numpy as np
import pytest
from _helpers import run_fresh_mindspore
from _require import need

import bridge
from bridge import parity
from bridge.spec import resolve

DATA = os.path.join(os.path.dirname(__file__), "data", "mindcv")
CONFIGS = sorted(glob.glob(os.path.join(DATA, "*.yaml")))
pytestmark = pytest.mark.mindspore  # mindcv imports MindSpore

#: ImageNet-1k's 1,281,167 training images over the 8 devices of a ``distribute: True`` run
IMAGES_PER_DEVICE = 160146


@pytest.fixture(scope="module")
def create_scheduler() -> Any:
    return need("mindcv.scheduler", "mindcv").create_scheduler


@pytest.fixture(scope="module")
def mindcv_config() -> ModuleType:
    """mindcv's train-config parser (its config.py, vendored): YAML -> the argparse namespace."""
    spec = importlib.util.spec_from_file_location("mindcv_config", os.path.join(DATA, "mindcv_config.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _train_py_kwargs(a: Any) -> Dict[str, Any]:
    """The keyword arguments mindcv 0.3.0's train.py passes to create_scheduler."""
    return dict(scheduler=a.scheduler, lr=a.lr, min_lr=a.min_lr, warmup_epochs=a.warmup_epochs,
                warmup_factor=a.warmup_factor, decay_epochs=a.decay_epochs, decay_rate=a.decay_rate,
                milestones=a.multi_step_decay_milestones, num_epochs=a.epoch_size, num_cycles=a.num_cycles,
                cycle_decay=a.cycle_decay, lr_epoch_stair=a.lr_epoch_stair)


def _same(plan: bridge.Plan, theirs: Any, what: str) -> None:
    """Every step of mindcv's list: float64 contract, and identical once MindSpore stores it as float32."""
    theirs = np.asarray(theirs, dtype=np.float64)
    assert plan.total_steps == theirs.size, what
    ours = plan.values(theirs.size)[:, 0]
    r = parity.compare(ours, theirs, plan.bases())
    assert r.ok, r.summary(what)
    bad = np.flatnonzero(np.float32(ours) != np.float32(theirs))
    assert bad.size == 0, f"{what}: float32 differs at steps {bad[:5].tolist()}"


def _cases() -> list:
    out = []
    for s in ("constant", "cosine_decay", "warmup_cosine_decay", "exponential_decay", "polynomial_decay",
              "step_decay", "multi_step_decay"):
        for stair in (False, True):
            for warm, wf in ((0, 0.0), (3, 0.01)):
                out.append(dict(scheduler=s, lr=0.1, min_lr=1e-5, warmup_epochs=warm, warmup_factor=wf,
                                decay_epochs=7, decay_rate=2.0 if s == "polynomial_decay" else 0.5,
                                milestones=[12, 3, 5, 5], num_epochs=40, lr_epoch_stair=stair))
    out += [
        dict(scheduler="cosine_decay", lr=0.1, min_lr=1e-5, decay_epochs=8, num_epochs=50, num_cycles=3,
             cycle_decay=0.7),
        dict(scheduler="cosine_decay", lr=0.1, min_lr=1e-5, decay_epochs=8, num_epochs=50, num_cycles=3,
             cycle_decay=0.7, lr_epoch_stair=True),
        dict(scheduler="cosine_decay", lr=0.1, min_lr=1e-5, decay_epochs=20, num_epochs=50, num_cycles=3),
        dict(scheduler="one_cycle", lr=0.1, min_lr=1e-5, warmup_epochs=0, num_epochs=50),
        dict(scheduler="cyclic", lr=0.1, min_lr=1e-5, warmup_epochs=0, num_epochs=50, num_cycles=3),
        dict(scheduler="cyclic", lr=0.1, min_lr=1e-5, warmup_epochs=0, num_epochs=50, num_cycles=7),
        dict(),  # every default: constant after a 3-epoch warm-up from 0, 200 epochs
    ]
    return out


CASES = _cases()


@pytest.mark.parametrize("spe", [1, 37])
def test_every_scheduler_name_every_step(create_scheduler, spe):
    for kw in CASES:
        _same(bridge.from_mindcv(spe, **kw), create_scheduler(spe, **kw), f"spe={spe} {kw}")


@pytest.mark.parametrize("path", CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_real_configs_through_the_end_of_training(create_scheduler, mindcv_config, path):
    args = mindcv_config.parse_args(["-c", path])
    spe = IMAGES_PER_DEVICE // args.batch_size  # drop_remainder: True in each of them
    theirs = create_scheduler(spe, **_train_py_kwargs(args))
    _same(bridge.from_mindcv_config(path, steps_per_epoch=spe), theirs, os.path.basename(path))
    # the command line's SPEC: a mindcv YAML is recognised, --epoch-length is steps_per_epoch
    plan = resolve(path, epoch_length=spe)
    assert plan.total_steps == len(theirs) and plan.epoch_length == spe
    np.testing.assert_array_equal(plan.values(8192)[:, 0], bridge.from_mindcv(spe, **_train_py_kwargs(args))
                                  .values(8192)[:, 0])


@pytest.mark.torch
@pytest.mark.parametrize("name,spe", [("coat_lite_mini_ascend.yaml", 23), ("crossvit_15_ascend.yaml", 97),
                                      ("bit_resnet50_ascend.yaml", 211)])
def test_lowered_to_torch_through_the_end_of_training(torch_mod, create_scheduler, mindcv_config, name, spe):
    torch = torch_mod
    path = os.path.join(DATA, name)
    theirs = np.asarray(create_scheduler(spe, **_train_py_kwargs(mindcv_config.parse_args(["-c", path]))))
    plan = bridge.from_mindcv_config(path, steps_per_epoch=spe)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=plan.bases()[0])
    sched = bridge.to_torch(plan, opt)
    got = np.empty(theirs.size)
    group = opt.param_groups[0]
    for t in range(theirs.size):  # the value the (t+1)-th update uses, then the scheduler steps
        got[t] = group["lr"]
        opt.step()
        sched.step()
    r = parity.compare(got, theirs, plan.bases())
    assert r.ok, r.summary(f"torch, {name}, {theirs.size} steps")


def test_cli_values_of_a_config(create_scheduler, mindcv_config, tmp_path, capsys):
    from bridge.cli import main

    path = os.path.join(DATA, "edgenext_small_ascend.yaml")  # lr: 4e-3, a string in YAML 1.1
    spe = 11
    theirs = np.asarray(create_scheduler(spe, **_train_py_kwargs(mindcv_config.parse_args(["-c", path]))))
    out = tmp_path / "v.npy"
    assert main(["values", path, "--epoch-length", str(spe), "-o", str(out)]) == 0
    got = np.load(out)[:, 0]
    assert got.shape == theirs.shape
    assert parity.compare(got, theirs, [0.004]).ok
    assert main(["show", path, "--epoch-length", str(spe)]) == 0
    assert "mindcv config edgenext_small_ascend.yaml" in capsys.readouterr().out
    assert main(["lower", path, "--epoch-length", str(spe), "--to", "mindspore-list"]) == 0
    import ast

    lowered = np.asarray(ast.literal_eval(capsys.readouterr().out.strip()))
    np.testing.assert_array_equal(np.float32(lowered), np.float32(theirs))  # what MindSpore's optimizer holds
    # without the epoch length: exit 2 naming the flag to type
    assert main(["values", path]) == 2
    assert "--epoch-length" in capsys.readouterr().err


def test_what_mindcv_refuses_is_a_spec_error(create_scheduler):
    for kw, path in [(dict(scheduler="one_cycle", num_epochs=10), "warmup_epochs"),
                     (dict(scheduler="cyclic", warmup_epochs=0, lr_epoch_stair=True, num_epochs=10), "lr_epoch_stair"),
                     (dict(scheduler="cosine", num_epochs=10), "scheduler")]:
        with pytest.raises(ValueError):  # mindcv itself
            create_scheduler(10, **kw)
        with pytest.raises(bridge.SpecError, match=path):
            bridge.from_mindcv(10, **kw)
    with pytest.raises(ZeroDivisionError):
        create_scheduler(10, scheduler="step_decay", decay_epochs=0, num_epochs=10)
    with pytest.raises(bridge.SpecError, match="decay_epochs"):
        bridge.from_mindcv(10, scheduler="step_decay", decay_epochs=0, num_epochs=10)
    with pytest.raises(bridge.SpecError, match="steps_per_epoch"):
        bridge.from_mindcv(scheduler="constant")
    with pytest.raises(bridge.SpecError, match="steps_per_epoch=N"):
        bridge.from_mindcv_config(os.path.join(DATA, "resnet_50_ascend.yaml"))
    with pytest.raises(bridge.SpecError, match="not an argument"):
        bridge.from_mindcv(10, epochs=3)


def _accumulated_lrs(ms: Any, lrs: Any, acc: int, batches: int) -> list:
    """mindcv's own TrainStep (gradient_accumulation_steps=acc, fixed loss scale 1 as its create_trainer
    builds it) run for ``batches`` batches with MindSpore's SGD on ``lrs``: the lr of each real update
    (w reset to 0 before each batch; acc a power of two: the accumulated gradient is exactly 1)."""
    from mindcv.utils.train_step import TrainStep

    class Net(ms.nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.w = ms.Parameter(ms.Tensor(np.zeros(1, np.float32)), name="w")

        def construct(self, x: Any) -> Any:
            return (self.w * x).sum()

    net = Net()
    opt = ms.nn.SGD(net.trainable_params(), learning_rate=[float(v) for v in lrs])
    step = TrainStep(net, opt, scale_sense=ms.Tensor(1.0, ms.float32), gradient_accumulation_steps=acc)
    step.set_train()
    x = ms.Tensor(np.ones(1, np.float32))
    used = []
    for _ in range(batches):
        net.w.set_data(ms.Tensor(np.zeros(1, np.float32)))
        before = int(opt.global_step.asnumpy()[0])
        step(x)
        if int(opt.global_step.asnumpy()[0]) != before:  # an update
            used.append(-float(net.w.asnumpy()[0]))
    return used


def test_gradient_accumulation_as_mindcv_runs_it(create_scheduler, ms_graph):
    """gradient_accumulation_steps=4 (upstream volo_d3 uses 2), 5 batches per epoch, 5 epochs, run by
    mindcv's TrainStep in GRAPH_MODE (its train.py's default): MindSpore 2.10's optimizer reads element t
    of the list at update t (get_lr() on the accumulating batches does not advance global_step), and the
    25 batches make 6 updates (the counter runs across epochs). The plan is that run, and warns."""
    cfg = {"scheduler": "warmup_cosine_decay", "epoch_size": 5, "warmup_epochs": 1, "warmup_factor": 0.1,
           "lr": 0.5, "min_lr": 0.01, "decay_epochs": 4, "gradient_accumulation_steps": 4}
    lrs = create_scheduler(5, scheduler="warmup_cosine_decay", lr=0.5, min_lr=0.01, warmup_epochs=1,
                           warmup_factor=0.1, decay_epochs=4, num_epochs=5)
    used = np.asarray(_accumulated_lrs(ms_graph, lrs, 4, 25))
    assert used.size == 6
    np.testing.assert_array_equal(used.astype(np.float32), np.asarray(lrs[:6], dtype=np.float32))
    assert not np.allclose(used, np.asarray(lrs, dtype=np.float32)[3::4][:6])  # not one element per batch
    with pytest.warns(bridge.BridgeWarning, match=r"elements 0\.\.5 of 25.*4x slower"):
        plan = bridge.from_mindcv_config(cfg, steps_per_epoch=5)
    assert plan.total_steps == 6 and plan.epoch_length is None
    np.testing.assert_array_equal(plan.values(6)[:, 0].astype(np.float32), used.astype(np.float32))
    with pytest.warns(bridge.BridgeWarning):
        assert bridge.from_mindcv_config(dict(cfg, gradient_accumulation_steps=5), steps_per_epoch=5).epoch_length == 1
    with pytest.raises(bridge.SpecError, match="never updates"):
        bridge.from_mindcv_config(dict(cfg, gradient_accumulation_steps=26), steps_per_epoch=5)


def test_gradient_accumulation_in_pynative_mode_is_refused(ms):
    """mode: 1: mindcv's GradientAccumulation assigns 0 to its accumulation_step Parameter and
    MindSpore 2.10 raises TypeError at the first update, so the run never schedules: refused."""
    # in a new interpreter: a TrainStep graph compiled by an earlier test would be reused
    out = run_fresh_mindspore(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        from test_mindcv import _accumulated_lrs
        try:
            _accumulated_lrs(ms, [0.1] * 8, 2, 4)
        except TypeError as e:
            print("TypeError", e)
    """)
    assert "TypeError" in out and "accumulation_step" in out, out
    with pytest.raises(bridge.UnsupportedError, match=r"gradient_accumulation_steps=2 with mode: 1.*GRAPH_MODE"):
        bridge.from_mindcv_config({"scheduler": "cosine_decay", "epoch_size": 10, "mode": 1,
                                   "gradient_accumulation_steps": 2}, steps_per_epoch=5)
    with pytest.raises(bridge.SpecError, match="gradient_accumulation_steps"):
        bridge.from_mindcv_config({"scheduler": "cosine_decay", "epoch_size": 10, "gradient_accumulation_steps": 0},
                                  steps_per_epoch=5)


def test_a_misspelt_scheduler_in_a_config_is_named(tmp_path):
    p = tmp_path / "typo.yaml"
    p.write_text("model: resnet50\nscheduler: cosine_decy\nepoch_size: 10\n")
    with pytest.raises(bridge.SpecError, match="typo.yaml: scheduler: must be one of .*cosine_decy"):
        resolve(str(p), epoch_length=5)
