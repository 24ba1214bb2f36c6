"""Smoke test of the benchmark harness (benchmarks/run.py): structure only, no timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _helpers import bridge_env, make_opt

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), *args], cwd=ROOT, env=bridge_env(), capture_output=True,
                          text=True, timeout=120)


def test_quick_import_case_writes_results_and_renders(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    p = _run("--quick", "--only", "import", "-o", str(out))
    assert p.returncode == 0, p.stderr
    res = json.loads(out.read_text())
    assert res["format"] == "sched-bridge/benchmarks" and res["quick"] is True
    for key in ("cpu", "cores", "python", "numpy", "torch", "mindspore", "git_commit"):
        assert key in res["machine"]
    assert list(res["cases"]) == ["import"]
    rows = res["cases"]["import"]
    assert rows and all({"label", "ours", "ref", "speedup", "unit", "goal", "met"} <= set(r) for r in rows)
    assert rows[0]["label"] != "FAILED", rows[0]["note"]
    assert rows[0]["frameworks_imported"] == []  # `import bridge` imports no framework
    assert isinstance(rows[0]["ours"], float) and rows[0]["ours"] > 0

    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nprose kept\n\n<!-- BEGIN GENERATED -->\nold\n<!-- END GENERATED -->\ntail kept\n")
    p = _run("--render", str(doc), "-i", str(out), "--before", str(tmp_path / "none.json"))
    assert p.returncode == 0, p.stderr
    text = doc.read_text()
    assert "prose kept" in text and "tail kept" in text and "\nold\n" not in text
    assert "## Machine and versions" in text and "`import bridge`" in text
    assert "| what | N | ours | time |" in text


def test_unknown_case_is_rejected() -> None:
    p = _run("--only", "nope")
    assert p.returncode != 0 and "unknown case" in p.stderr


# -- the fast paths the benchmarks led to keep torch parity (10,000 real steps, 1e-12) ---------

_FAST_CASES = {
    # lone CosineAnnealingLR = Chain([cosine]): closed form up to T_max, then cumulative products on
    # the way down and step by step on the way up (eta_min > 0)
    "cosine_eta_min_past_T_max": lambda L, o: L.CosineAnnealingLR(o, 700, eta_min=1e-3),
    "cosine_zero_floor_past_T_max": lambda L, o: L.CosineAnnealingLR(o, 300),
    # pure products (floor 0) in a ChainedScheduler
    "chain_cosine_exponential": lambda L, o: L.ChainedScheduler(
        [L.CosineAnnealingLR(o, 500), L.ExponentialLR(o, 0.9999)], optimizer=o),
    # products about eta_min once the warm-up is over
    "chain_linear_cosine_eta_min": lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, 0.1, 1.0, 300), L.CosineAnnealingLR(o, 12000, eta_min=1e-4)], optimizer=o),
    # ChainedScheduler([x]) inside a chain keeps torch's floor order (a*(x - eta_min) + eta_min); it
    # differed by 1.2e-12 on the rising half past T_max before
    "chain_linear_cosine_eta_min_past_T_max": lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, 0.1, 1.0, 300), L.CosineAnnealingLR(o, 2000, eta_min=1e-4)], optimizer=o),
    "sequential_linear_cosine": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, 0.01, 1.0, 100), L.CosineAnnealingLR(o, 900, eta_min=1e-5)], [100]),
}


def _opt(torch: Any) -> Any:
    return make_opt(torch, (0.1, 0.05, 0.01), size=1, lr=0.1)


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(_FAST_CASES))
def test_fast_paths_match_torch(case: str, torch_mod: Any) -> None:
    torch = torch_mod

    import bridge
    from bridge import parity
    from bridge.frameworks.torch import record_torch

    L = torch.optim.lr_scheduler
    N = 10_000
    plan = bridge.from_torch(_FAST_CASES[case](L, _opt(torch)))
    o = _opt(torch)
    theirs = record_torch(_FAST_CASES[case](L, o), o, N)["lr"]
    bases = [0.1, 0.05, 0.01]
    r = parity.compare(plan.values(N), theirs, bases)
    assert r.ok, r.summary("from_torch")
    o2 = _opt(torch)
    lowered = bridge.to_torch(plan, o2, prefer_native=False)  # PlanScheduler, values read via Cursor blocks
    ours = record_torch(lowered, o2, N)["lr"]
    r = parity.compare(ours, theirs, bases)
    assert r.ok, r.summary("to_torch(prefer_native=False)")
