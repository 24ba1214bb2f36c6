"""Lazy access to the deep-learning frameworks (einops-style backend layer).

Nothing here imports a framework at module import time. ``import bridge`` must
never pull in torch, MindSpore, OneFlow or MMEngine; code that needs one calls
:func:`import_framework` inside a function.

Public functions:

- :func:`available` -- is the framework installed (and usable on this
  Python)? Decided with :func:`importlib.util.find_spec`, without importing.
- :func:`import_framework` -- import it (once; the module is cached) or raise
  :class:`bridge.errors.FrameworkMissingError` with a one-line hint naming the
  extra to install.
- :func:`detect` -- which framework an object belongs to (``"torch"``,
  ``"oneflow"``, ``"mindspore"``, ``"mmengine"`` or ``None``), answered from
  ``sys.modules`` and the MRO of its type, never by importing. Every "is this a
  torch / MindSpore / ... object?" question in sched-bridge goes through it.
  It lives here, next to :data:`FRAMEWORKS` and :func:`available`, rather than
  in a ``bridge/detect.py``: importing a submodule ``bridge.detect`` would rebind
  the package attribute ``bridge.detect`` (the function) to the module.

OneFlow 0.9 (the last release) is a CUDA 11.7 build that links cuDNN 8 and
cuBLAS 11 from the ``nvidia-cudnn-cu11`` / ``nvidia-cublas-cu11`` wheels.
Before importing it we preload those shared libraries (``ctypes``,
``RTLD_GLOBAL``) from every ``site-packages/nvidia/*/lib`` we can see, so the
import works whatever ``LD_LIBRARY_PATH`` says. Without a GPU OneFlow then
prints ``CUDA driver version is insufficient`` once and runs on the CPU.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import os
import sys
import threading
from types import ModuleType
from typing import Any, Optional

from bridge.errors import FrameworkMissingError, SpecError

__all__ = ["FRAMEWORKS", "PARITY_FRAMEWORKS", "available", "detect", "framework_class", "import_framework"]

#: Framework name -> (top-level module, extra of ``sched-bridge`` that installs it).
_SPECS: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"),
    "mindspore": ("mindspore", "mindspore"),
    "oneflow": ("oneflow", "oneflow"),
    "mmengine": ("mmengine", "mmengine"),
}

#: Every framework sched-bridge reads or writes: the one list (the CLI, bridge.accounting, ... import it).
FRAMEWORKS: tuple[str, ...] = tuple(_SPECS)

#: The frameworks :func:`bridge.parity.framework_values` lowers a Plan to and steps
#: (``sched-bridge parity --frameworks``, ``plot --overlay``). MMEngine is not one: a Plan
#: becomes an MMEngine config (``bridge.to_mmengine``), which is checked when it is written.
PARITY_FRAMEWORKS: tuple[str, ...] = tuple(f for f in FRAMEWORKS if f != "mmengine")

#: top-level module -> framework name (what :func:`detect` matches a class's module against)
_BY_MODULE: dict[str, str] = {module: name for name, (module, _) in _SPECS.items()}

#: OneFlow 0.9.0 ships real wheels for CPython 3.7-3.10 only; on newer Pythons
#: pip picks a 0.7.0 placeholder that raises on import.
_ONEFLOW_PYTHONS = ((3, 7), (3, 10))

_cache: dict[str, ModuleType] = {}
_lock = threading.RLock()
_nvidia_preloaded = False


def _check_name(name: str) -> tuple[str, str]:
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise SpecError(
            "framework", f"must be one of {', '.join(repr(f) for f in FRAMEWORKS)}", name
        ) from None


def _oneflow_python_ok() -> bool:
    lo, hi = _ONEFLOW_PYTHONS
    return lo <= sys.version_info[:2] <= hi


def _install_hint(name: str) -> str:
    module, extra = _SPECS[name]
    msg = f"{name} is not installed; install it with: pip install 'sched-bridge[{extra}]'"
    if name == "oneflow" and not _oneflow_python_ok():
        msg += (
            f" (OneFlow 0.9 needs Python 3.7-3.10; this is Python "
            f"{sys.version_info[0]}.{sys.version_info[1]})"
        )
    return msg


def available(name: str) -> bool:
    """Whether framework ``name`` can be imported here, decided without importing it.

    ``name`` is one of ``"torch"``, ``"mindspore"``, ``"oneflow"``, ``"mmengine"``
    (anything else raises :class:`bridge.errors.SpecError`). Uses
    :func:`importlib.util.find_spec`; for OneFlow it is also ``False`` on a
    Python outside 3.7-3.10 (only a placeholder wheel exists there). A module
    already imported counts as available.
    """
    module, _ = _check_name(name)
    if name in _cache or module in sys.modules:
        return True
    if name == "oneflow" and not _oneflow_python_ok():
        return False
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _nvidia_lib_dirs() -> list[str]:
    """``.../site-packages/nvidia/<pkg>/lib`` directories visible on ``sys.path``."""
    roots: list[str] = []
    try:
        spec = importlib.util.find_spec("nvidia")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        roots.extend(spec.submodule_search_locations)
    for entry in sys.path:
        cand = os.path.join(entry or os.curdir, "nvidia")
        if os.path.isdir(cand):
            roots.append(cand)
    dirs: list[str] = []
    seen: set[str] = set()
    for root in roots:
        try:
            subs = sorted(os.listdir(root))
        except OSError:
            continue
        for sub in subs:
            lib = os.path.realpath(os.path.join(root, sub, "lib"))
            if lib not in seen and os.path.isdir(lib):
                seen.add(lib)
                dirs.append(lib)
    return dirs


def _preload_nvidia_libs() -> list[str]:
    """Load cuDNN / cuBLAS from the nvidia wheels with ``RTLD_GLOBAL``.

    Libraries depend on each other (``libcublas`` on ``libcublasLt``, the cuDNN
    sub-libraries on ``libcudnn_ops_infer``), so load in rounds until no more
    progress is made. Failures are ignored: OneFlow's own import then reports
    what is missing. Returns the paths loaded.
    """
    global _nvidia_preloaded
    if _nvidia_preloaded or not sys.platform.startswith("linux"):
        return []
    _nvidia_preloaded = True
    pending: list[str] = []
    for lib in _nvidia_lib_dirs():
        if os.path.basename(os.path.dirname(lib)) not in ("cudnn", "cublas"):
            continue
        for fname in sorted(os.listdir(lib)):
            if fname.startswith(("libcudnn", "libcublas")) and ".so" in fname:
                pending.append(os.path.join(lib, fname))
    loaded: list[str] = []
    mode = getattr(os, "RTLD_GLOBAL", 0) | getattr(os, "RTLD_NOW", 0)
    while pending:
        failed: list[str] = []
        for path in pending:
            try:
                ctypes.CDLL(path, mode=mode)
            except OSError:
                failed.append(path)
            else:
                loaded.append(path)
        if len(failed) == len(pending):
            break
        pending = failed
    return loaded


def import_framework(name: str) -> ModuleType:
    """Import framework ``name`` lazily and return its top-level module (cached).

    ``name``: ``"torch"``, ``"mindspore"``, ``"oneflow"`` or ``"mmengine"``
    (anything else raises :class:`bridge.errors.SpecError`). Raises
    :class:`bridge.errors.FrameworkMissingError` (an ``ImportError``) with a
    one-line message naming the extra to install when the framework is absent
    or fails to import. For OneFlow the cuDNN / cuBLAS libraries of the nvidia
    wheels are preloaded first.
    """
    module, _ = _check_name(name)
    cached = _cache.get(name)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(name)
        if cached is not None:
            return cached
        if name == "oneflow":
            if not _oneflow_python_ok():
                raise FrameworkMissingError(_install_hint(name))
            _preload_nvidia_libs()
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            missing = getattr(exc, "name", None)
            if missing is None or missing == module or missing.startswith(module + "."):
                raise FrameworkMissingError(_install_hint(name)) from exc
            raise FrameworkMissingError(
                f"{_install_hint(name)} (importing {module} failed: {exc})"
            ) from exc
        _cache[name] = mod
        return mod


def framework_class(obj: Any) -> Optional[type]:
    """The first class of ``type(obj).__mro__`` defined in a framework's package, or None.

    For a user's subclass of ``torch.optim.lr_scheduler.StepLR`` this is ``StepLR``; for
    sched-bridge's own ``PlanScheduler`` it is torch's ``LRScheduler``. A class counts when
    the top-level package of its ``__module__`` is one of :data:`FRAMEWORKS` and that package
    is in ``sys.modules`` (an object of a framework cannot exist before the framework was
    imported, so when none is loaded the answer is None at once). Imports nothing.
    """
    if not any(module in sys.modules for module in _BY_MODULE):
        return None
    for klass in type(obj).__mro__:
        mod = getattr(klass, "__module__", None)
        if not isinstance(mod, str):
            continue
        top = mod.partition(".")[0]
        if top in _BY_MODULE and top in sys.modules:
            return klass
    return None


def detect(obj: Any) -> Optional[str]:
    """Which framework ``obj`` belongs to: ``"torch"``, ``"oneflow"``, ``"mindspore"``,
    ``"mmengine"``, or None (a plain Python / NumPy object, a Plan, ...).

    Answered from ``sys.modules`` and the MRO of ``type(obj)`` (:func:`framework_class`):
    the first framework class in the MRO decides, so a user's subclass of a framework class
    and sched-bridge's plan-driven schedulers (subclasses of the framework's scheduler base)
    are detected as that framework, and an MMEngine scheduler as ``"mmengine"`` although it
    drives a torch optimizer. Never imports a framework; ``obj`` is not touched.
    """
    klass = framework_class(obj)
    if klass is None:
        return None
    return _BY_MODULE[klass.__module__.partition(".")[0]]
