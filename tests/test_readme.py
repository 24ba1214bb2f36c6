"""README's Python examples run as written (with real torch and MindSpore)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.torch
@pytest.mark.mindspore
def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for code in blocks:
        exec(compile(code, str(README), "exec"), ns)
    assert ns["lr"].shape == (10_000, 2)
    assert len(ns["lrs"]) == 10_000 and abs(ns["lrs"][500] - 0.1) < 1e-12
    assert (tmp_path / "schedule.json").exists()
