"""Read the TOML tables in ``mappings/`` (optimizer names, group keys, parameter names).

The top-level ``mappings/`` folder is the source of truth. In a source
checkout it is read from there; in an installed wheel the build copies it to
``bridge/mappings/`` (see ``setup.py``). Nothing here imports a framework.
"""

from __future__ import annotations

import functools
import inspect
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from .errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as _toml

__all__ = [
    "APIS",
    "TABLES",
    "constructor_rules",
    "data_dir",
    "load",
    "optimizers",
    "optimizer_spec",
    "native_name",
    "param_name",
    "signature_of",
]

#: The tables shipped, by name (file ``mappings/<name>.toml``).
TABLES = ("optimizers", "param_groups", "param_names", "constructor_args")

#: The framework APIs the tables have a column for (MindSpore has three). Not
#: ``bridge._frameworks.FRAMEWORKS``, the frameworks themselves.
APIS = ("torch", "oneflow", "mindspore.nn", "mindspore.experimental", "mindspore.mint")


def __getattr__(name: str) -> Any:
    if name == "FRAMEWORKS":  # the old name of APIS
        import warnings

        warnings.warn("bridge.mappings.FRAMEWORKS is deprecated; use bridge.mappings.APIS",
                      DeprecationWarning, stacklevel=2)
        return APIS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def data_dir() -> Path:
    """Folder holding the TOML tables: ``<checkout>/mappings`` or ``bridge/mappings`` (wheel)."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "mappings"
    if (here.parent / "pyproject.toml").is_file() and (checkout / "optimizers.toml").is_file():
        return checkout
    packaged = here / "mappings"
    if (packaged / "optimizers.toml").is_file():
        return packaged
    raise FileNotFoundError(
        f"sched-bridge mapping tables not found in {checkout} or {packaged}; "
        "reinstall the package (the wheel ships them in bridge/mappings/)"
    )


@functools.cache
def _load(name: str) -> Dict[str, Any]:
    with open(data_dir() / f"{name}.toml", "rb") as fh:
        return _toml.load(fh)


def load(name: str) -> Dict[str, Any]:
    """The parsed table ``mappings/<name>.toml`` (``name`` in :data:`TABLES`). Cached; do not mutate."""
    if name not in TABLES:
        raise SpecError("table", f"must be one of {', '.join(TABLES)}", name)
    return _load(name)


def constructor_rules(dialect: str) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{class: {argument: rule}}`` of ``mappings/constructor_args.toml`` for ``torch`` / ``oneflow``."""
    return load("constructor_args").get(dialect, {})


def optimizers() -> Dict[str, Dict[str, Any]]:
    """Optimizer name (torch style) -> its per-framework specs."""
    return {k: v for k, v in load("optimizers").items() if k != "frameworks"}


def optimizer_spec(optimizer: str, framework: str) -> Dict[str, Any]:
    """The spec of ``optimizer`` in ``framework`` (``class``, ``args``, ``missing``, ``extra``, ``notes``)."""
    table = optimizers()
    if optimizer not in table:
        raise SpecError("optimizer", f"unknown optimizer; known: {', '.join(table)}", optimizer)
    spec = table[optimizer]
    if framework not in spec:
        have = [f for f in APIS if f in spec]
        raise SpecError(f"{optimizer}", f"has no {framework} class (only {', '.join(have)})", framework,
                        show_value=False)
    out: Dict[str, Any] = spec[framework]
    return out


def native_name(optimizer: str, framework: str, canonical: str) -> Optional[List[str]]:
    """Native argument name(s) of canonical hyper-parameter ``canonical`` (None if missing)."""
    arg = optimizer_spec(optimizer, framework).get("args", {}).get(canonical)
    if arg is None:
        return None
    return list(arg["names"]) if "names" in arg else [arg["name"]]


def param_name(kind: str, name: str, *, src: str = "torch", dst: str = "mindspore") -> str:
    """Translate a parameter's local name for layer ``kind`` (e.g. batchnorm weight -> gamma).

    Names not in the table are returned unchanged.
    """
    layers = load("param_names")["layers"]
    if kind not in layers:
        return name
    names: Dict[str, str] = layers[kind]["names"]
    fw = {"oneflow": "torch"}
    s, d = fw.get(src, src), fw.get(dst, dst)
    if s == d:
        return name
    if s == "torch" and d == "mindspore":
        return names.get(name, name)
    if s == "mindspore" and d == "torch":
        inv = {v: k for k, v in names.items()}
        return inv.get(name, name)
    raise SpecError("param_name", "src/dst must be 'torch', 'oneflow' or 'mindspore'", (src, dst))


def signature_of(cls: Any) -> inspect.Signature:
    """The real ``__init__`` signature of ``cls``, looking through MindSpore's arg-recording decorator.

    MindSpore wraps optimizer ``__init__`` in ``opt_init_args_register`` without
    ``functools.wraps``, so ``inspect.signature`` sees ``(*args, **kwargs)``.
    """
    fn = cls.__init__
    for _ in range(4):
        fn = getattr(fn, "__wrapped__", fn)
        cells = getattr(fn, "__closure__", None) or ()
        inner = [c.cell_contents for c in cells
                 if inspect.isfunction(getattr(c, "cell_contents", None))
                 and c.cell_contents.__name__ == "__init__"]
        if not inner:
            break
        fn = inner[0]
    return inspect.signature(fn)
