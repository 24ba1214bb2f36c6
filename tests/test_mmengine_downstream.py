"""The OpenMMLab packages' own scheduler types against their real classes, and user types.

Survey of the model zoos' ``param_scheduler`` types not built into MMEngine (mmdet 3.3.0,
mmpretrain 1.2.0, mmsegmentation 1.2.2, mmyolo 0.6.0 wheels: configs and
``engine/schedulers``): mmdet ``QuadraticWarmupLR`` (YOLOX, ByteTrack, StrongSORT configs, also
written ``mmdet.QuadraticWarmupLR`` in mmyolo's), with ``QuadraticWarmupMomentum`` and
``QuadraticWarmupParamScheduler``; mmseg ``PolyLRRatio`` (``_base_/schedules/schedule_25k.py``);
mmpretrain ``CosineAnnealingWeightDecay`` (SparK configs). mmyolo registers none (its
YOLOv5/PPYOLOE ``ParamSchedulerHook`` subclasses are hooks, not param schedulers).

Each is run from the package's wheel (tests/_openmmlab.py), stepped like ParamSchedulerHook by
tests/test_mmengine.py's ``check``, which also writes the plan back with ``to_mmengine`` and
steps the package's classes built from that.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _openmmlab import scheduler_registry
from test_mmengine import _opt, check

import bridge
from bridge.errors import SpecError
from bridge.frameworks.mmengine import MMENGINE_TYPES, TABLE
from bridge.ir import nodes as n

pytestmark = [pytest.mark.mmengine, pytest.mark.torch]

YOLOX = [  # mmdet configs/yolox/yolox_s_8xb8-300e_coco.py, 300 -> 20 epochs
    dict(type="mmdet.QuadraticWarmupLR", by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", eta_min=0.01 * 0.05, begin=5, T_max=15, end=15, by_epoch=True,
         convert_to_iter_based=True),
    dict(type="ConstantLR", by_epoch=True, factor=1, begin=15, end=20),
]
SEG_25K = [  # mmseg configs/_base_/schedules/schedule_25k.py, 25k -> 250 iterations
    dict(type="LinearLR", start_factor=3e-2, begin=0, end=120, by_epoch=False),
    dict(type="PolyLRRatio", eta_min_ratio=3e-2, power=0.9, begin=120, end=240, by_epoch=False),
    dict(type="ConstantLR", by_epoch=False, factor=1, begin=240, end=250),
]
SPARK = [  # mmpretrain configs/spark/spark_sparse-resnet50_8xb512-amp-coslr-800e_in1k.py, 800 -> 16 epochs
    dict(type="LinearLR", start_factor=1e-4, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type="CosineAnnealingLR", T_max=14, by_epoch=True, begin=2, end=16, convert_to_iter_based=True),
    dict(type="CosineAnnealingWeightDecay", eta_min=0.2, T_max=16, by_epoch=True, begin=0, end=16),
]


def test_yolox_quadratic_warmup(torch_mod):
    plan, _ = check(torch_mod, YOLOX, epoch_length=7, max_epochs=20, registry=scheduler_registry("mmdet"))
    w = plan.schedule("lr").windows[0]
    assert w.schedule == n.QuadraticWarmup(35) and (w.begin, w.end, w.every) == (0, 35, 1)


@pytest.mark.parametrize("cfg, kind, E, M", [
    (dict(type="QuadraticWarmupMomentum", by_epoch=False, begin=2, end=13), "adamw", 5, 4),
    (dict(type="QuadraticWarmupMomentum", by_epoch=True, end=3), "sgd", 4, 6),
    (dict(type="QuadraticWarmupParamScheduler", param_name="weight_decay", by_epoch=True, begin=1, end=4,
          convert_to_iter_based=True), "sgd", 3, 6),
])
def test_quadratic_warmup_forms(torch_mod, cfg, kind, E, M):
    check(torch_mod, [cfg], epoch_length=E, max_epochs=M, kind=kind, registry=scheduler_registry("mmdet"))


def test_quadratic_warmup_overlapping_windows_add_in_order(torch_mod):
    """The warm-up adds to whatever value the groups hold (MMEngine's arithmetic, not a closed form)."""
    cfgs = [dict(type="ExponentialLR", gamma=0.9, by_epoch=False, end=12),
            dict(type="QuadraticWarmupLR", by_epoch=False, begin=3, end=10),
            dict(type="StepLR", step_size=2, gamma=0.5, by_epoch=True, begin=1)]
    check(torch_mod, cfgs, epoch_length=4, max_epochs=5, registry=scheduler_registry("mmdet"))


def test_quadratic_warmup_needs_a_finite_end(torch_mod):
    from mmengine.registry import DefaultScope

    reg = scheduler_registry("mmdet")
    with pytest.raises(ValueError, match="less than infinity"), DefaultScope.overwrite_default_scope("mmdet"):
        reg.build(dict(type="QuadraticWarmupLR", by_epoch=False), default_args=dict(optimizer=_opt(torch_mod)))
    with pytest.raises(SpecError, match=r"param_scheduler\[0\]\.end: QuadraticWarmupLR needs a finite end"):
        bridge.from_mmengine([dict(type="QuadraticWarmupLR", by_epoch=False)], _opt(torch_mod))


def test_seg_25k_poly_ratio(torch_mod):
    plan, _ = check(torch_mod, SEG_25K, epoch_length=50, max_epochs=5, lrs=(0.001, 0.01),
                    registry=scheduler_registry("mmseg"))
    floors = [plan.schedule("lr", g).windows[1].schedule.end_value for g in range(2)]
    assert floors == [0.001 * 3e-2, 0.01 * 3e-2]  # base * eta_min_ratio, per group


def test_poly_ratio_without_ratio_is_poly(torch_mod):
    cfg = dict(type="PolyLRRatio", eta_min=1e-4, power=2.0, by_epoch=True, begin=1, end=6)
    check(torch_mod, [cfg], epoch_length=3, max_epochs=8, registry=scheduler_registry("mmseg"))


def test_spark_cosine_weight_decay_keeps_a_zero_group(torch_mod):
    plan, ref = check(torch_mod, SPARK, epoch_length=6, max_epochs=16, kind="sgd_wd0",
                      registry=scheduler_registry("mmpretrain"))
    assert (ref["weight_decay"][:, 1] == 0).all() and ref["weight_decay"][-1, 0] > 0.05  # real: 0 stays 0


# ---------------------------------------------------------------------------
# user types
# ---------------------------------------------------------------------------


def test_registered_type_as_equivalent_entry(torch_mod):
    """A user's class that computes what PolyLR does, mapped by returning the PolyLR entry."""
    from mmengine.optim.scheduler import PolyLR
    from mmengine.registry import PARAM_SCHEDULERS, Registry

    reg = Registry("parameter scheduler", parent=PARAM_SCHEDULERS, scope="user_poly_test")

    @reg.register_module()
    class MyPolyLR(PolyLR):  # the user's own type, registered in their own scope
        pass

    bridge.register_mmengine_scheduler("MyPolyLR", lambda e: dict(e, type="PolyLR"))
    cfgs = [dict(type="LinearLR", start_factor=0.1, by_epoch=False, end=8),
            dict(type="MyPolyLR", power=2.0, eta_min=1e-4, by_epoch=True, begin=1)]
    check(torch_mod, cfgs, epoch_length=4, max_epochs=6, registry=reg)


def test_registered_type_as_nodes(torch_mod):
    """A user's class whose schedule is given as IR nodes (one per group) over its window."""
    from mmengine.optim.scheduler import LinearLR
    from mmengine.registry import PARAM_SCHEDULERS, Registry

    reg = Registry("parameter scheduler", parent=PARAM_SCHEDULERS, scope="user_nodes_test")

    @reg.register_module()
    class HalfThenFullLR(LinearLR):  # start at half the lr, reach it linearly by end-1
        def __init__(self, optimizer, **kw):
            super().__init__(optimizer, start_factor=0.5, end_factor=1.0, **kw)

    def fn(entry):
        return n.Linear(0.5, 1.0, entry["end"] - entry.get("begin", 0) - 1)

    bridge.register_mmengine_scheduler("HalfThenFullLR", fn)
    cfgs = [dict(type="HalfThenFullLR", by_epoch=False, begin=2, end=9), dict(type="ExponentialLR", gamma=0.9)]
    check(torch_mod, cfgs, epoch_length=5, max_epochs=4, registry=reg)


def test_register_refuses_builtin_and_bad_functions():
    with pytest.raises(SpecError, match="built in already"):
        bridge.register_mmengine_scheduler("LinearLR", lambda e: e)
    bridge.register_mmengine_scheduler("BrokenLR", lambda e: 1 / 0)
    with pytest.raises(SpecError, match=r"param_scheduler\[0\]: bridge.register_mmengine_scheduler\('BrokenLR', "
                                        r"fn\): fn failed \(ZeroDivisionError"):
        bridge.from_mmengine([dict(type="BrokenLR", by_epoch=False)], bases={"lr": [0.1]})


def test_unknown_type_names_the_registration():
    with pytest.raises(SpecError, match=r"param_scheduler\[0\]\.type: 'WarmupCosineLR' is not built in .*"
                                        r"bridge\.register_mmengine_scheduler\('WarmupCosineLR', fn\)"):
        bridge.from_mmengine([dict(type="WarmupCosineLR", by_epoch=False)], bases={"lr": [0.1]})


def test_lint_unknown_type_fails_and_its_fix_works(tmp_path):
    cfg = tmp_path / "cfg.py"
    cfg.write_text("optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))\n"
                   "param_scheduler = [dict(type='MyWarmupLR', by_epoch=False, end=100, start_factor=0.1),\n"
                   "                   dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=1000)]\n"
                   "train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    env.pop("SCHED_BRIDGE_PLUGINS", None)
    cmd = [sys.executable, "-m", "bridge", "lint", str(cfg)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "error[mmengine-unknown-type] param_scheduler[0].type: 'MyWarmupLR'" in r.stdout
    assert "SCHED_BRIDGE_PLUGINS=my_schedulers" in r.stdout and "register_mmengine_scheduler('MyWarmupLR'" in r.stdout
    # follow the fix: a module that maps the type, named in SCHED_BRIDGE_PLUGINS
    (tmp_path / "my_schedulers.py").write_text(
        "import bridge\n"
        "bridge.register_mmengine_scheduler('MyWarmupLR', lambda entry: dict(entry, type='LinearLR'))\n")
    env["SCHED_BRIDGE_PLUGINS"] = "my_schedulers"
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mmengine-unknown-type" not in r.stdout and "not-checked" not in r.stdout


def test_docs_register_example_runs():
    from _docblocks import ROOT, python_blocks

    block = next(b for b in python_blocks(ROOT / "docs" / "mmengine.md") if "register_mmengine_scheduler" in b)
    ns: dict = {}
    exec(compile(block, "docs/mmengine.md", "exec"), ns)
    assert ns["plan"].values(6)[:, 0] == pytest.approx([0.05, 0.0625, 0.075, 0.0875, 0.1, 0.1], rel=1e-12)


# ---------------------------------------------------------------------------
# the table's signatures are the real classes'
# ---------------------------------------------------------------------------


def _params(cls, drop=("self", "optimizer")):
    import inspect

    out = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in drop or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = "required" if p.default is p.empty else p.default
    return out


def _table_sig(name):
    row = next(r for r in TABLE if name in r.names)
    return {k: "required" if d is row.REQUIRED else d for k, d in row.signature(name)}


@pytest.mark.parametrize("name", [t for t in MMENGINE_TYPES if t.endswith("ParamScheduler")])
def test_signature_is_mmengines(torch_mod, mmengine_mod, name):
    import mmengine.optim  # noqa: F401
    from mmengine.registry import PARAM_SCHEDULERS

    assert _table_sig(name) == _params(PARAM_SCHEDULERS.get(name))
    # the LR / Momentum forms take the same arguments but param_name
    lr = name.replace("ParamScheduler", "LR")
    assert _table_sig(lr) == {k: v for k, v in _params(PARAM_SCHEDULERS.get(name)).items() if k != "param_name"}


def test_downstream_signatures_are_the_packages(torch_mod, mmengine_mod):
    from mmengine.optim.scheduler import CosineAnnealingParamScheduler, PolyParamScheduler

    quad = scheduler_registry("mmdet").get("QuadraticWarmupParamScheduler")
    assert _table_sig("QuadraticWarmupParamScheduler") == _params(quad)
    ratio = scheduler_registry("mmseg").get("PolyLRRatio")
    assert _table_sig("PolyLRRatio") == {**_params(ratio), **_params(PolyParamScheduler, ("self", "optimizer",
                                                                                            "param_name"))}
    scheduler_registry("mmpretrain")  # the mixin passes 'weight_decay' as param_name
    assert _table_sig("CosineAnnealingWeightDecay") == _params(CosineAnnealingParamScheduler,
                                                               ("self", "optimizer", "param_name"))
