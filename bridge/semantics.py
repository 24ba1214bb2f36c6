"""Deprecated: the semantics moved to :mod:`bridge.ir.semantics`.

Every public name of :mod:`bridge.ir.semantics` is still readable here, with a
DeprecationWarning on each use; this module will be removed in a later release.
"""

from __future__ import annotations

import warnings
from typing import Any, List

from .ir import semantics as _semantics

__all__ = list(_semantics.__all__)


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'bridge.semantics' has no attribute {name!r}")
    warnings.warn(f"bridge.semantics is deprecated: use bridge.ir.semantics.{name} (it moved there)",
                  DeprecationWarning, stacklevel=2)
    return getattr(_semantics, name)


def __dir__() -> List[str]:
    return sorted(__all__)
