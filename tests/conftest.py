"""Shared pytest setup for sched-bridge.

Framework markers (registered in pyproject.toml): ``torch``, ``mindspore``,
``oneflow``, ``mmengine``.

- A test marked with a framework (or using one of the framework fixtures
  below, which marks it automatically) is *skipped* when the framework is not
  installed -- checked with ``importlib.util.find_spec``, nothing is imported.
- Unless the framework is listed in the environment variable
  ``BRIDGE_REQUIRE`` (comma separated, e.g. ``torch,mindspore,mmengine``;
  tox sets it): then the test *fails*, so CI can never skip silently.

Fixtures: ``torch_mod``, ``ms`` (MindSpore, CPU, PyNative), ``ms_graph``
(MindSpore switched to GRAPH_MODE for the test), ``ms_graph_module`` (the same for a
whole module, so its tests share compilations), ``flow`` (OneFlow),
``mmengine_mod``, ``xfw_dir`` (directory shared by the tox environments for
recorded cross-framework trajectories).

Helpers shared by test modules (a real optimizer, the trajectory of a real training loop):
``tests/_helpers.py``; optional non-framework dependencies: ``tests/_require.py``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from _require import required

# Must be set before MindSpore is imported anywhere in the session.
os.environ.setdefault("GLOG_v", "3")

FRAMEWORKS = ("torch", "mindspore", "oneflow", "mmengine")
_FIXTURE_MARKS = {
    "torch_mod": "torch",
    "ms": "mindspore",
    "ms_graph": "mindspore",
    "ms_graph_module": "mindspore",
    "flow": "oneflow",
    "mmengine_mod": "mmengine",
}


def _available(name: str) -> bool:
    from bridge._frameworks import available

    return available(name)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "-"


def pytest_report_header(config: pytest.Config) -> list[str]:
    dists = {"torch": "torch", "mindspore": "mindspore", "oneflow": "oneflow",
             "mmengine": "mmengine-lite"}
    parts = []
    for fw in FRAMEWORKS:
        state = _version(dists[fw]) if _available(fw) else "absent"
        if state == "-":
            state = _version("mmengine") if fw == "mmengine" else "installed"
        parts.append(f"{fw}={state}")
    req = ",".join(sorted(required())) or "(none)"
    return [f"frameworks: {' '.join(parts)}; BRIDGE_REQUIRE={req}"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Runs before -m deselection: a test that uses a framework fixture gets the
    # framework's marker, so `-m "not torch"` deselects it too.
    for item in items:
        names = getattr(item, "fixturenames", ())
        for fixture, fw in _FIXTURE_MARKS.items():
            if fixture in names and item.get_closest_marker(fw) is None:
                item.add_marker(getattr(pytest.mark, fw))


def _need(name: str) -> None:
    if _available(name):
        return
    if name in required():
        pytest.fail(
            f"{name} is required here (BRIDGE_REQUIRE={os.environ.get('BRIDGE_REQUIRE')}) "
            f"but is not installed/usable in this environment",
            pytrace=False,
        )
    pytest.skip(f"{name} is not installed")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for fw in FRAMEWORKS:
        if item.get_closest_marker(fw) is not None:
            _need(fw)


def _import(name: str) -> ModuleType:
    _need(name)
    from bridge._frameworks import import_framework

    return import_framework(name)


@pytest.fixture(scope="session")
def torch_mod() -> ModuleType:
    return _import("torch")


@pytest.fixture(scope="session")
def _ms_session() -> ModuleType:
    ms = _import("mindspore")
    # CPU, PyNative by default; set once per session.
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")
        ms.set_context(mode=ms.PYNATIVE_MODE)
    else:  # older MindSpore
        ms.set_context(mode=ms.PYNATIVE_MODE, device_target="CPU")
    return ms


@pytest.fixture
def ms(_ms_session: ModuleType) -> ModuleType:
    """MindSpore on CPU in PYNATIVE_MODE."""
    return _ms_session


def _graph_mode(ms: ModuleType) -> Iterator[ModuleType]:
    old = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        yield ms
    finally:
        ms.set_context(mode=old)


@pytest.fixture
def ms_graph(_ms_session: ModuleType) -> Iterator[ModuleType]:
    """MindSpore on CPU switched to GRAPH_MODE for the duration of one test."""
    yield from _graph_mode(_ms_session)


@pytest.fixture(scope="module")
def ms_graph_module(_ms_session: ModuleType) -> Iterator[ModuleType]:
    """MindSpore on CPU switched to GRAPH_MODE for the duration of one test module."""
    yield from _graph_mode(_ms_session)


@pytest.fixture(scope="session")
def flow() -> ModuleType:
    return _import("oneflow")


@pytest.fixture(scope="session")
def mmengine_mod() -> ModuleType:
    _need("torch")
    return _import("mmengine")


@pytest.fixture(scope="session")
def xfw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory for recorded trajectories shared across tox environments.

    ``BRIDGE_XFW_DIR`` (tox sets ``{toxinidir}/.tox/xfw``) or a session temp dir.
    """
    raw = os.environ.get("BRIDGE_XFW_DIR")
    path = Path(raw) if raw else tmp_path_factory.mktemp("xfw")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def openmmlab_zoo() -> Iterator[Path]:
    """The configs shipped in the mmdet 3.3.0, mmpretrain 1.2.0, mmsegmentation 1.2.2 and mmyolo
    0.6.0 wheels, as they are (tests/_helpers.py: openmmlab_site), the directory on ``sys.path``
    so that ``pkg::`` scopes resolve (nothing of the packages is imported)."""
    from _helpers import openmmlab_site

    site = openmmlab_site()
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))
