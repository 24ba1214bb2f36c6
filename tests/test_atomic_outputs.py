"""Outputs are atomic: a failed or interrupted run leaves the destination as it was.

``sched-bridge values -o FILE`` (and every other writer) writes a temporary file beside
the destination and renames it on success. These tests interrupt real runs with SIGINT
and SIGTERM while the temporary file is being written, and fail runs part-way through.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest
from _helpers import bridge_env

from bridge.cli import main

ORIGINAL = "the user's own file\n"
# a recursive cosine with a floor is the slowest kind to stream (~50 ns a step in torch's order): a run of
# 5e7 steps lasts long enough to be interrupted mid-write whatever the format
BIG = ["values", "CosineAnnealingLR(T_max=1000, eta_min=0.001)", "--steps", "50000000"]


def _leftovers(d: Path) -> List[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))


def _foreground() -> None:
    # a run started from a background job inherits SIGINT ignored (and Python then never raises
    # KeyboardInterrupt); a user's Ctrl-C reaches a foreground process: restore the default
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: List[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bridge", *args], cwd=cwd, env=bridge_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_foreground)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except FileNotFoundError:  # renamed or removed since it was listed
        return 0


def _wait_for_partial(d: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    """Until a temporary file beside the destination holds some data."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        # whichever temporary file is filling
        if any(_size(p) > 4096 for p in d.iterdir() if ".part" in p.name):
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was interrupted: {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no temporary output appeared")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("suffix", [".csv", ".json", ".npy"])
def test_interrupted_run_leaves_destination_as_it_was(tmp_path: Path, sig: int, code: int, suffix: str) -> None:
    dest = tmp_path / f"lr{suffix}"
    dest.write_text(ORIGINAL)
    proc = _start([*BIG, "-o", dest.name], tmp_path)
    _wait_for_partial(tmp_path, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    assert dest.read_text() == ORIGINAL
    assert _leftovers(tmp_path) == []


def test_interrupted_run_without_destination_leaves_nothing(tmp_path: Path) -> None:
    proc = _start([*BIG, "-o", "new.csv"], tmp_path)
    _wait_for_partial(tmp_path, proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npy"])
def test_failure_part_way_leaves_destination(tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # gamma 2 overflows float64 after ~1030 steps: found while writing, after the first chunk
    dest = tmp_path / f"lr{suffix}"
    dest.write_text(ORIGINAL)
    monkeypatch.chdir(tmp_path)
    rc = main(["values", "ExponentialLR(gamma=2.0)", "--steps", "200000", "-o", dest.name])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "overflows float64 at step 1" in err
    assert dest.read_text() == ORIGINAL
    assert _leftovers(tmp_path) == []


def test_successful_run_replaces_destination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "lr.npy"
    dest.write_text(ORIGINAL)
    os.chmod(dest, 0o640)
    monkeypatch.chdir(tmp_path)
    assert main(["values", "StepLR(step_size=3)", "--steps", "10", "-o", dest.name]) == 0
    got = np.load(dest)
    assert got.shape == (10, 1) and got[3, 0] == pytest.approx(0.1 * 0.1)
    assert dest.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    assert _leftovers(tmp_path) == []


def test_dev_null_is_written_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["values", "StepLR(step_size=3)", "--steps", "10", "-o", os.devnull]) == 0
    assert Path(os.devnull).exists() and not Path(os.devnull).is_file()
