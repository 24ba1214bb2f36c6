"""README's Python examples run as written (with real torch and MindSpore)."""

from __future__ import annotations

import pytest
from _docblocks import ROOT, python_blocks, run_blocks

README = ROOT / "README.md"


@pytest.mark.torch
@pytest.mark.mindspore
def test_readme_python_examples_run(tmp_path, monkeypatch):
    assert len(python_blocks(README)) >= 2
    monkeypatch.chdir(tmp_path)
    ns = run_blocks(README)
    assert ns["lr"].shape == (10_000, 2)
    assert len(ns["lrs"]) == 10_000 and abs(ns["lrs"][500] - 0.1) < 1e-12
    assert (tmp_path / "schedule.json").exists()
