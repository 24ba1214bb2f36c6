"""Param-group field access, the same for every framework.

A field is any param-group key: ``lr``, ``momentum``, ``weight_decay``, ``betas[0]`` (the
first entry of ``betas``), ``initial_lr``... A group is a torch / MindSpore-experimental
``dict`` or a OneFlow ``ParamGroup`` (``group[key]`` and ``key in group`` work on all of
them). Runtime code, not IR: it lived in ``bridge.ir.plan`` until the plan-driven
schedulers got one driver (:mod:`bridge.frameworks._driver`); the old names there are
deprecated aliases. No framework is imported here.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Tuple

__all__ = ["field_key", "has_field", "read_field", "write_field"]

_ITEM = re.compile(r"^(\w+)\[(\d+)\]$")
_MISSING: Any = object()


def field_key(name: str) -> Tuple[str, Optional[int]]:
    """The param-group key a field lives under: ``'betas[0]' -> ('betas', 0)``, ``'lr' -> ('lr', None)``."""
    m = _ITEM.match(name)
    return (m.group(1), int(m.group(2))) if m else (name, None)


def has_field(group: Any, name: str) -> bool:
    """Whether a param group (dict, or OneFlow ``ParamGroup``) holds ``name``."""
    key, i = field_key(name)
    if i is None:
        return key in group
    seq = group[key] if key in group else None
    return isinstance(seq, (tuple, list)) and i < len(seq)


def read_field(group: Any, name: str, default: Any = _MISSING) -> Any:
    """The raw value of field ``name`` in a param group (``default`` when it has none)."""
    if default is not _MISSING and not has_field(group, name):
        return default
    key, i = field_key(name)
    return group[key] if i is None else group[key][i]


def write_field(group: Any, name: str, value: float) -> None:
    """Set field ``name`` in a param group; a Tensor value (torch's Tensor lr) is filled in place."""
    key, i = field_key(name)
    if i is not None:
        seq = list(group[key])
        if hasattr(seq[i], "fill_"):
            seq[i].fill_(value)
        else:
            seq[i] = value
        group[key] = tuple(seq)
        return
    cur: Any = group[key] if key in group else None
    if hasattr(cur, "fill_") and not isinstance(cur, (int, float)):
        cur.fill_(value)
    else:
        group[key] = value
