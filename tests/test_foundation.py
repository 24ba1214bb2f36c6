"""Import hygiene and Python 3.9 compatibility of the package itself."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import bridge_env

import bridge

SRC = Path(__file__).resolve().parent.parent / "bridge"
HEAVY = ("torch", "mindspore", "oneflow", "mmengine", "matplotlib")
# Framework runtime: Cell subclasses need MindSpore to be defined. Imported only by
# bridge.frameworks.mindspore_nn.cell_classes(), and copied into to_mindspore_source's modules.
RUNTIME = ("bridge.frameworks.mindspore_cells",)

_PROBE = r"""
import importlib, json, os, pkgutil, sys
heavy = {heavy!r}
runtime = {runtime!r}
import bridge
after_bridge = sorted(m for m in heavy if m in sys.modules)
imported, errors = [], {{}}
for info in pkgutil.walk_packages(bridge.__path__, "bridge."):
    if info.name.rsplit(".", 1)[-1] == "__main__" or info.name in runtime:
        continue
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except Exception as exc:
        errors[info.name] = f"{{type(exc).__name__}}: {{exc}}"
after_all = sorted(m for m in heavy if m in sys.modules)
print(json.dumps({{"after_bridge": after_bridge, "after_all": after_all,
                  "imported": imported, "errors": errors, "file": os.path.realpath(list(bridge.__path__)[0])}}))
"""


def _probe(tmp_path: Path) -> dict:
    # Fresh interpreter, run outside the repo, seeing the same `bridge` as this process.
    env = bridge_env()
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY, runtime=RUNTIME)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_bridge_imports_no_framework(tmp_path):
    res = _probe(tmp_path)
    assert res["file"].startswith(str(Path(list(bridge.__path__)[0]).resolve()))
    assert res["after_bridge"] == [], f"`import bridge` imported {res['after_bridge']}"


def test_every_bridge_module_imports_without_frameworks(tmp_path):
    res = _probe(tmp_path)
    assert res["errors"] == {}, f"bridge modules failing to import: {res['errors']}"
    assert "bridge._frameworks" in res["imported"]
    assert res["after_all"] == [], (
        f"importing every bridge module pulled in {res['after_all']}: frameworks must be "
        "imported lazily, inside functions"
    )


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_sources_found():
    assert SRC.is_dir() and len(_sources()) >= 2


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC.parent)))
def test_python39_syntax(path):
    src = path.read_text(encoding="utf-8")
    try:
        ast.parse(src, filename=str(path), feature_version=(3, 9))
    except SyntaxError as exc:
        pytest.fail(f"{path}: not Python 3.9 syntax: {exc}", pytrace=False)


def test_mappings_ship_inside_the_package():
    """Every top-level mappings/*.toml is importable data of the installed package."""
    tables = sorted(p.name for p in (SRC.parent / "mappings").glob("*.toml"))
    assert tables, f"no mappings/*.toml in {SRC.parent / 'mappings'}"
    from importlib.resources import files

    shipped = files("bridge") / "mappings"
    missing = [name for name in tables if not (shipped / name).is_file()]
    assert not missing, (
        f"mappings {missing} are not inside the installed package (bridge/mappings/); "
        "ship them in the wheel"
    )


def test_frameworks_layer_contract():
    from bridge import _frameworks
    from bridge.errors import BridgeError, FrameworkMissingError, SpecError

    assert set(_frameworks.FRAMEWORKS) == {"torch", "mindspore", "oneflow", "mmengine"}
    with pytest.raises(SpecError):
        _frameworks.available("tensorflow")
    with pytest.raises(SpecError):
        _frameworks.import_framework("tensorflow")
    if sys.version_info >= (3, 11):
        assert _frameworks.available("oneflow") is False
        with pytest.raises(FrameworkMissingError) as info:
            _frameworks.import_framework("oneflow")
        msg = str(info.value)
        assert "sched-bridge[oneflow]" in msg and "3.7-3.10" in msg
        assert isinstance(info.value, (BridgeError, ImportError))
    for name in _frameworks.FRAMEWORKS:
        assert isinstance(_frameworks.available(name), bool)
