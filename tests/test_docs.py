"""The docs site builds without a warning, and the runnable pages run as written."""

from __future__ import annotations

import subprocess
import sys

import pytest
from _docblocks import ROOT, python_blocks, run_blocks
from _require import need

DOCS = ROOT / "docs"
_FW = (pytest.mark.torch, pytest.mark.mindspore)
PAGES = [
    pytest.param("index.md", id="index.md"),
    pytest.param("step-contract.md", marks=pytest.mark.torch, id="step-contract.md"),
    pytest.param("porting.md", marks=_FW, id="porting.md"),
    pytest.param("testing.md", marks=_FW, id="testing.md"),
]


def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict`: broken links, anchors, nav entries and missing pages fail."""
    need("mkdocs")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "WARNING" not in out, out
    for page in ("index", "step-contract", "porting", "traps"):
        assert (tmp_path / "site" / page / "index.html").exists() or \
            (tmp_path / "site" / f"{page}.html").exists(), page


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [p.name for p in DOCS.glob("*.md") if p.name not in nav]
    assert not missing, f"add to mkdocs.yml nav: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_page_python_blocks_run(page, tmp_path, monkeypatch):
    path = DOCS / page
    assert python_blocks(path), f"{page} has no ```python block"
    monkeypatch.chdir(tmp_path)  # pages may write files (plan.dump)
    run_blocks(path)
