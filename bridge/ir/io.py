"""Plan files: JSON, YAML (needs PyYAML) and TOML, chosen by suffix."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Dict, List

from ..errors import BridgeError, SpecError

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}


def _kind(path: Any) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in SUFFIXES:
        raise SpecError(str(path), "unknown file type; use .json, .yaml, .yml or .toml", ext or "(none)",
                        show_value=True)
    return SUFFIXES[ext]


def read_file(path: Any) -> Any:
    """Parse a JSON/YAML/TOML file into plain Python data (nothing is executed)."""
    kind = _kind(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise BridgeError(f"{path}: cannot read ({e.strerror})") from None
    try:
        if kind == "json":
            return json.loads(raw.decode("utf-8"))
        if kind == "yaml":
            yaml = _yaml()
            return yaml.safe_load(raw.decode("utf-8"))
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - python < 3.11
            import tomli as tomllib
        return tomllib.loads(raw.decode("utf-8"))
    except BridgeError:
        raise
    except Exception as e:  # parse errors of the three formats
        line = getattr(e, "lineno", None) or getattr(getattr(e, "problem_mark", None), "line", None)
        where = f" (line {line})" if line else ""
        raise SpecError(str(path), f"is not valid {kind.upper()}{where}: {e}", None, show_value=False) from None


def dump_file(data: Dict[str, Any], path: Any) -> None:
    kind = _kind(path)
    if kind == "json":
        text = json.dumps(data, indent=2) + "\n"
    elif kind == "yaml":
        text = _yaml().safe_dump(data, sort_keys=False)
    else:
        text = to_toml(data)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise BridgeError("YAML files need PyYAML: pip install 'sched-bridge[yaml]'") from None
    return yaml


# -- a small TOML writer for plan dicts (TOML has no null: None values are left out) --


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items() if x is not None) + "}"
    raise SpecError("toml", "cannot write this value", v)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def to_toml(data: Dict[str, Any]) -> str:
    lines: List[str] = []
    tables = []
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, dict) or (isinstance(v, list) and v and all(isinstance(x, dict) for x in v)):
            tables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in tables:
        if isinstance(v, dict):
            lines.append(f"\n[{_key(k)}]")
            for kk, vv in v.items():
                if vv is not None:
                    lines.append(f"{_key(kk)} = {_scalar(vv)}")
        else:
            for item in v:
                lines.append(f"\n[[{_key(k)}]]")
                for kk, vv in item.items():
                    if vv is not None:
                        lines.append(f"{_key(kk)} = {_scalar(vv)}")
    return "\n".join(lines) + "\n"
