"""Optional non-framework dependencies of some tests (transformers, mkdocs, matplotlib, ...).

``need(module, key)`` imports ``module``; when it is missing the test is skipped, unless ``key``
is listed in ``BRIDGE_REQUIRE`` (tox sets it), where the test fails: CI never skips silently.
``required()`` parses that variable for conftest's framework markers too.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Optional, Set

import pytest


def required() -> Set[str]:
    """The names in ``BRIDGE_REQUIRE`` (comma or semicolon separated, lower case)."""
    raw = os.environ.get("BRIDGE_REQUIRE", "")
    return {p.strip().lower() for p in raw.replace(";", ",").split(",") if p.strip()}


def need(module: str, key: Optional[str] = None) -> ModuleType:
    key = key or module.split(".")[0]
    if key.lower() in required():
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            pytest.fail(f"{module} is required here (BRIDGE_REQUIRE has {key!r}) but not importable: {exc}",
                        pytrace=False)
    return pytest.importorskip(module)
