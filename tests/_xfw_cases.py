"""Shared by tests/test_xfw_oneflow.py (Python 3.9, OneFlow) and tests/test_xfw_py311.py (torch).

OneFlow and torch never share a process: each half records the real trajectories of its
framework into ``BRIDGE_XFW_DIR`` (default ``/tmp/bridge-xfw``) and checks the other half's
recordings when they are there:

    <name>.plan.json, <name>.oneflow.npy                written by the OneFlow half
    <name>.torch.plan.json, <name>.torch.npy            written by the torch half
    <name>.torch.<field>.npy                            other fields (e.g. momentum)

Trajectories are float64 arrays of shape (steps, groups); row t = value after t steps.
A missing recording skips the reading test, except in CI (``CI`` and ``BRIDGE_XFW_DIR``
both set), where it fails: tox runs oneflow -> py311 -> oneflow-xfw, so every recording
a reading test needs has been written by then.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bridge import parity

#: written by the OneFlow half (OneFlow-only kinds among them)
ONEFLOW_CASES = (
    "of_cosine_decay", "of_warmup_linear", "of_warmup_linear_prefix", "of_warmup_constant",
    "of_poly_defaults", "of_poly_cycle", "of_cawr_decay_limit", "of_cawr_tmult3",
    "of_sequential_global", "of_sequential_mixed", "of_chained", "of_multistep", "of_resumed",
)

#: written by the torch half (torch-only kinds among them)
TORCH_CASES = (
    "t_cosine", "t_sequential", "t_chained", "t_chained_products", "t_onecycle", "t_cyclic",
    "t_poly", "t_multistep_repeat", "t_cawr", "t_linear", "t_step",
)



def xfw_dir() -> Path:
    path = Path(os.environ.get("BRIDGE_XFW_DIR") or "/tmp/bridge-xfw")
    path.mkdir(parents=True, exist_ok=True)
    return path


def strict() -> bool:
    return bool(os.environ.get("CI")) and bool(os.environ.get("BRIDGE_XFW_DIR"))


def missing(what: str, writer: str) -> None:
    msg = (f"{what} not found in {xfw_dir()}: the {writer} half has not run yet "
           f"(run it first, with the same BRIDGE_XFW_DIR)")
    if strict():
        pytest.fail(msg + " [CI: recordings are required]", pytrace=False)
    pytest.skip(msg)


def _plan_file(name: str, suffix: str) -> str:
    return f"{name}.plan.json" if suffix == "oneflow" else f"{name}.{suffix}.plan.json"


def write(name: str, plan_dict: dict, traj: np.ndarray, suffix: str, extra: Any = None) -> None:
    d = xfw_dir()
    (d / _plan_file(name, suffix)).write_text(json.dumps(plan_dict, indent=1))
    np.save(d / f"{name}.{suffix}.npy", np.asarray(traj, dtype=np.float64))
    for field, arr in (extra or {}).items():
        np.save(d / f"{name}.{suffix}.{field}.npy", np.asarray(arr, dtype=np.float64))


def read(name: str, suffix: str, writer: str) -> tuple:
    """(plan dict, {field: trajectory}) or skip/fail when absent."""
    d = xfw_dir()
    pj, npy = d / _plan_file(name, suffix), d / f"{name}.{suffix}.npy"
    if not pj.exists() or not npy.exists():
        missing(f"{pj.name} / {npy.name}", writer)
    trajs = {"lr": np.load(npy)}
    for f in sorted(d.glob(f"{name}.{suffix}.*.npy")):
        if f.name.endswith(".plan.npy"):
            continue
        trajs[f.name[len(f"{name}.{suffix}."):-4]] = np.load(f)
    return json.loads(pj.read_text()), trajs


def check(ours: Any, theirs: Any, base: Any, what: str = "") -> None:
    """``ours`` follows the recorded framework trajectory under the float64 contract (bridge.parity)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    r = parity.compare(ours, theirs, base)
    assert r.ok, r.summary(what)


# ---------------------------------------------------------------- paramwise_cfg on a OneFlow model
#: MMEngine paramwise_cfg cases applied to a OneFlow model (tests/test_xfw_oneflow.py) and compared
#: with real MMEngine's DefaultOptimWrapperConstructor on the same torch model (tests/test_xfw_py311.py).
PARAMWISE_CASES = {
    "bias_norm": {"bias_lr_mult": 2.0, "bias_decay_mult": 0.5, "norm_decay_mult": 0.0},
    "dwconv_flat": {"dwconv_decay_mult": 0.1, "flat_decay_mult": 0.3},
    "custom_keys": {"custom_keys": {"head": {"lr_mult": 10.0}, "head.fc": {"lr_mult": 2.0, "decay_mult": 0.0},
                                    "embed": {"decay_mult": 0.0}}, "bias_lr_mult": 2.0},
}
PARAMWISE_BASE = {"lr": 0.01, "weight_decay": 1e-4}


def paramwise_model(fw: Any) -> Any:
    """conv + BN + depthwise conv + GroupNorm + Linear + LayerNorm + Embedding + a bare Parameter,
    built from ``fw.nn`` (torch and OneFlow share these names)."""
    nn: Any = fw.nn

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)
            self.ln = nn.LayerNorm(4)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_embed = nn.Parameter(fw.zeros(1, 4))
            self.conv = nn.Conv2d(3, 8, 3)
            self.bn = nn.BatchNorm2d(8)
            self.dw = nn.Conv2d(8, 8, 3, groups=8)
            self.gn = nn.GroupNorm(2, 8)
            self.head = Head()
            self.embed = nn.Embedding(10, 4)

    return Net()


def param_hparams(model: Any, param_groups: Any) -> dict:
    """parameter name -> [lr, weight_decay] as the real optimizer holds them."""
    name_of = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for g in param_groups:
        for p in (g["params"] if isinstance(g, dict) else g.parameters):  # OneFlow's ParamGroup
            out[name_of[id(p)]] = [float(g["lr"]), float(g["weight_decay"])]
    return out


# ---------------------------------------------------------------- one optimizer, both frameworks
#: torch optimizer + scheduler stepped with fixed gradients (tests/test_xfw_py311.py), translated
#: with bridge.translate_optimizer(target="oneflow") + bridge.to_oneflow and replayed on OneFlow
#: (tests/test_xfw_oneflow.py): the parameters must follow the same path.
OPTIMIZER_CASES = ("opt_sgd_nesterov", "opt_adamw")
OPT_STEPS = 6
RESUME_AT = 3  # the torch run's scheduler state_dict after this many updates is recorded


def optimizer_files(name: str) -> tuple:
    d = xfw_dir()
    return d / f"{name}.torch.optim.json", d / f"{name}.torch.optim.npz"
