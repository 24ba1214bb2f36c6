"""Each example in examples/ runs as a subprocess, short (--steps), and really compares."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _docblocks import ROOT
from _helpers import bridge_env

import bridge
from bridge import parity
from bridge.probes import load_trace

EX = ROOT / "examples"


def _run(script: Path, *args: str, cwd: Path, timeout: int = 300) -> str:
    env = bridge_env()  # the same bridge as this test (the installed wheel under tox)
    env.setdefault("GLOG_v", "3")
    proc = subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{script.name} {' '.join(args)} exited {proc.returncode}:\n{out[-4000:]}"
    return out


def _read_log(path: Path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    keys = [(int(r["step"]), r["group"]) for r in rows]
    vals = np.array([[float(r["lr"]), float(r["weight_decay"])] for r in rows])
    return keys, vals


def _recipe_plan(steps: int):
    sys.path.insert(0, str(EX / "oneflow_port"))
    try:
        import train_oneflow
    finally:
        sys.path.pop(0)
    return train_oneflow.recipe_plan(steps)


@pytest.mark.torch
@pytest.mark.mindspore
def test_torch_to_mindspore(tmp_path):
    d = EX / "torch_to_mindspore"
    steps = 30
    _run(d / "train_torch.py", "--steps", str(steps), "--out", "torch.csv", "--plan-out", "plan.json",
         cwd=tmp_path)
    _run(d / "train_mindspore.py", "--steps", str(steps), "--out", "ms.csv", cwd=tmp_path)
    out = _run(d / "compare.py", "torch.csv", "ms.csv", cwd=tmp_path)
    assert f"at all {steps} steps" in out
    tk, tv = _read_log(tmp_path / "torch.csv")
    mk, mv = _read_log(tmp_path / "ms.csv")
    assert tk == mk == [(s, g) for s in range(steps) for g in ("decay", "no_decay")]
    r = parity.compare(mv, tv, contract="mindspore-list")  # identical after float32 rounding
    assert r.ok, r.summary("mindspore log vs torch log")
    # a real schedule, not a constant: warm-up from 0.001, peak 0.1, cosine down
    lr = tv[0::2, 0]
    assert lr[0] == pytest.approx(0.001, rel=1e-12) and lr.max() == pytest.approx(0.1, rel=1e-12)
    assert lr[-1] < 0.01 and np.all(np.diff(lr[3:]) < 0)
    assert set(tv[0::2, 1]) == {5e-4} and set(tv[1::2, 1]) == {0.0}
    # the recipe plan the OneFlow port uses is the torch recipe (read back from from_torch's dump)
    r = parity.compare(bridge.load(tmp_path / "plan.json").values(steps), _recipe_plan(steps).values(steps))
    assert r.ok, r.summary("plan.json")


@pytest.mark.mmengine
@pytest.mark.torch
def test_mmengine_to_mindspore_list(tmp_path):
    steps = 20_000
    out = _run(EX / "mmengine_to_mindspore_list" / "make_list.py", "--steps", str(steps), "--out", "lr.npy",
               cwd=tmp_path)
    assert "sampled lrs identical in float32" in out
    lr = np.load(tmp_path / "lr.npy")
    assert lr.shape == (steps, 1) and lr.dtype == np.float32
    epoch = steps // 20
    # warm-up from 0.02 * 0.001 over 500 updates, x0.1 at epochs 16 and 19 (values per MMEngine)
    assert lr[0, 0] == np.float32(0.02 * 0.001) and lr[500, 0] == np.float32(0.02)
    assert lr[16 * epoch - 1, 0] == np.float32(0.02) and lr[16 * epoch, 0] == pytest.approx(0.002, rel=1e-6)
    assert lr[-1, 0] == pytest.approx(0.0002, rel=1e-6)


@pytest.mark.oneflow
def test_oneflow_port(tmp_path):
    steps = 30
    out = _run(EX / "oneflow_port" / "train_oneflow.py", "--steps", str(steps), "--out", "of.csv", cwd=tmp_path)
    assert "match the plan at every step" in out
    keys, vals = _read_log(tmp_path / "of.csv")
    assert keys == [(s, g) for s in range(steps) for g in ("decay", "no_decay")]
    plan = _recipe_plan(steps)
    # the recipe written out (warm-up LinearLR(0.01, w), then cosine to an absolute 1e-4), not plan.values
    base, w = plan.bases("lr")[0], steps // 10
    t = np.arange(steps, dtype=np.float64)
    warm = base * (0.01 + 0.99 * t / w)
    cos = 1e-4 + (base - 1e-4) * (1 + np.cos(np.pi * (t - w) / (steps - w))) / 2
    want = np.repeat(np.where(t < w, warm, cos)[:, None], 2, axis=1)
    r = parity.compare(vals[:, 0].reshape(steps, 2), want, plan.bases("lr"))
    assert r.ok, r.summary("oneflow log vs the recipe's formula")
    assert set(vals[0::2, 1]) == {5e-4} and set(vals[1::2, 1]) == {0.0}


@pytest.mark.torch
@pytest.mark.mindspore
def test_capture_port(tmp_path):
    """examples/capture_port as a user runs it: the unchanged torch script captured, its MindSpore
    GRAPH_MODE port trained from the same weights; the per-update lr / weight decay MindSpore's
    AdamWeightDecay really used, unfolded, equal the torch run's (float32)."""
    steps = 12
    out = _run(EX / "capture_port" / "port_mindspore.py", "--steps", str(steps), "--out", "out", cwd=tmp_path)
    assert "IDENTICAL per-update values" in out and "MISMATCH" not in out
    assert "script stopped early" in out and "horizon: 12 updates" in out  # the script was captured
    assert "bn.weight -> bn.gamma" in out and "mindspore.nn.AdamWeightDecay" in out
    t, m = load_trace(tmp_path / "out" / "torch.csv"), load_trace(tmp_path / "out" / "mindspore.json")
    assert t.framework == "torch" and m.framework == "mindspore" and len(t) == len(m) == steps
    for f in ("lr", "weight_decay"):
        np.testing.assert_allclose(m.array(f), t.array(f).astype(np.float32), rtol=2e-6, atol=0, err_msg=f)
    # torch's schedule really moved: 3-update linear warm-up from 0.001, then cosine to 1e-4 at the end
    lr = t.array("lr")[:, 0]
    np.testing.assert_allclose(lr[:4], [0.001, 0.004, 0.007, 0.01], rtol=1e-12)
    assert np.all(np.diff(lr[3:]) < 0) and lr[-1] > 1e-4
    assert m.meta["adam_betas"] == [0.9, 0.99]
    # what MindSpore itself used is the folded value: lr * sqrt(1 - b2^t) / (1 - b1^t), t = update + 1
    u = np.arange(1, steps + 1)[:, None]
    np.testing.assert_allclose(m.array("native_lr"), t.array("lr") * np.sqrt(1 - 0.99 ** u) / (1 - 0.9 ** u),
                               rtol=1e-6)
    np.testing.assert_allclose(m.array("native_weight_decay")[:, 0], 0.05 * (1 - 0.9 ** u[:, 0]) /
                               np.sqrt(1 - 0.99 ** u[:, 0]), rtol=1e-6)
