"""Plan files: JSON, YAML (needs PyYAML) and TOML, chosen by suffix; streamed ``.npy`` value files."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import IO, Any, Dict, Iterable, List, Tuple

from ..errors import BridgeError, SpecError

__all__ = ["SUFFIXES", "YAML_MAX_VALUES", "decode_utf8", "dump_file", "expanded_size", "load_yaml", "no_duplicate_keys", "write_npy",
           "read_file", "to_toml"]

SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}


def _kind(path: Any) -> str:
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise SpecError("path", "must be a file name (str or os.PathLike)", path)
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if not isinstance(ext, str) or ext not in SUFFIXES:  # a bytes path's b".json" is no suffix either
        raise SpecError(str(path), "unknown file type; use .json, .yaml, .yml or .toml", ext or "(none)",
                        show_value=True)
    return SUFFIXES[ext]


#: Most values a YAML document may expand to through its aliases (``*name``): a few
#: lines of anchors can otherwise stand for billions of values (an "alias bomb").
YAML_MAX_VALUES = 1_000_000


def read_file(path: Any) -> Any:
    """Parse a JSON/YAML/TOML file into plain Python data (nothing is executed).

    Duplicate keys are refused (the formats let the last one win silently), and so
    are YAML aliases that expand beyond :data:`YAML_MAX_VALUES` values.
    """
    kind = _kind(path)
    if os.path.isdir(path):
        raise SpecError(str(path), "is a directory, not a plan file", None, show_value=False)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise BridgeError(f"{path}: cannot read ({e.strerror})") from None
    text = decode_utf8(raw, str(path))
    try:
        if kind == "json":
            return json.loads(text, object_pairs_hook=no_duplicate_keys)
        if kind == "yaml":
            return load_yaml(text, str(path))
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - python < 3.11
            import tomli as tomllib
        return tomllib.loads(text)
    except BridgeError:
        raise
    except RecursionError:
        raise SpecError(str(path), f"is nested too deeply to read as {kind.upper()}", None,
                        show_value=False) from None
    except Exception as e:  # parse errors of the three formats
        line = getattr(e, "lineno", None)
        where = f" (line {line})" if line else ""
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "integer string conversion" in msg:
            msg = "a number has more than 4300 digits"
        raise SpecError(str(path), f"is not valid {kind.upper()}{where}: {msg}", None, show_value=False) from None


def decode_utf8(raw: bytes, where: str) -> str:
    """``raw`` as text; a file that is not UTF-8 is a SpecError naming the byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(where, f"is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                        "save it as UTF-8", None, show_value=False) from None


def no_duplicate_keys(pairs: List[Any]) -> Dict[str, Any]:
    """``object_pairs_hook`` for ``json.loads``: the mapping, or a SpecError naming a key given twice."""
    out: Dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise SpecError(str(k), "appears twice in the same mapping (which one is meant?)", v)
        out[k] = v
    return out


def load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate keys and alias bombs; errors are SpecErrors."""
    yaml = _yaml()

    class Loader(yaml.SafeLoader):  # type: ignore[name-defined]
        pass

    def mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                dup = key in seen
                seen.add(key)
            except TypeError:
                raise SpecError(where, f"line {key_node.start_mark.line + 1}: a mapping key must be a "
                                "string or a number", None, show_value=False) from None
            if dup:
                raise SpecError(f"{where}: {key}", f"appears twice in the same mapping (line "
                                f"{key_node.start_mark.line + 1})", None, show_value=False)
        return loader.construct_mapping(node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        data = yaml.load(text, Loader=Loader)  # a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(where, f"is not valid YAML{line}: {what}", None, show_value=False) from None
    except RecursionError:
        raise SpecError(where, "is nested too deeply to read as YAML", None, show_value=False) from None
    size = expanded_size(data, {})
    if size > YAML_MAX_VALUES:
        raise SpecError(where, f"its aliases (*name) expand to {size} values, more than the "
                        f"{YAML_MAX_VALUES} sched-bridge reads (an alias bomb?)", None, show_value=False)
    return data


def expanded_size(v: Any, memo: Dict[int, int]) -> int:
    """How many values ``v`` stands for once shared (aliased) parts are counted each time (``memo``:
    ``{}``, filled as it goes); the count stops soon after it passes YAML_MAX_VALUES."""
    if not isinstance(v, (dict, list)):
        return 1
    got = memo.get(id(v))
    if got is not None:
        return got
    memo[id(v)] = 1  # a recursive alias counts once
    items = list(v.items()) if isinstance(v, dict) else [(None, x) for x in v]
    n = 1
    for k, x in items:
        n += expanded_size(x, memo) + (0 if k is None else 1)
        if n > YAML_MAX_VALUES:
            break
    memo[id(v)] = n
    return n


def write_npy(fh: IO[bytes], blocks: Iterable[Any], shape: Tuple[int, int], dtype: Any = "float64") -> None:
    """Write ``blocks`` (arrays of rows, ``shape[0]`` rows in all) to ``fh`` as one ``.npy`` array.

    Streams: only the header and one block are in memory; plain writes, so no mapped pages
    count as memory."""
    import numpy as np

    dt = np.dtype(dtype)
    np.lib.format.write_array_header_1_0(
        fh, {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": tuple(shape)})
    for block in blocks:
        np.ascontiguousarray(block, dtype=dt).tofile(fh)


def dump_file(data: Dict[str, Any], path: Any) -> None:
    """Write plain data (a plan's dict form) to ``path`` as JSON, YAML or TOML, chosen by its suffix."""
    kind = _kind(path)
    if kind == "json":
        text = json.dumps(data, indent=2) + "\n"
    elif kind == "yaml":
        text = _yaml().safe_dump(data, sort_keys=False)
    else:
        text = to_toml(data)
    from ..outputs import atomic_output

    with atomic_output(path, flag="path") as fh:
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
    """``data`` (a plan's dict form) as TOML text: its plain values first, then a table per mapping
    and per list of mappings; deeper mappings are inline tables; None values are left out."""
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
