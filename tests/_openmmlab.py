"""The OpenMMLab packages' own scheduler classes, run for real from their wheels.

mmdet / mmsegmentation / mmpretrain need mmcv (and more) to import, which this project does not
install; their scheduler modules need only mmengine and torch. ``scheduler_registry(pkg)`` reads
the module's source out of the wheel and executes it (their code, unmodified) with
``<pkg>.registry.PARAM_SCHEDULERS`` standing for a child of MMEngine's registry with the
package's scope, as the package itself defines it; the classes register there and build
through it (bare names, ``pkg.Name`` and MMEngine's own types through the parent).

The wheels (``pip download --no-deps``, nothing installed) come from the tests' one wheel cache
(``_helpers.fetch_wheels``: ``$BRIDGE_WHEEL_CACHE``, downloaded there when missing). Without
them the test is skipped, unless ``CI`` is true or ``BRIDGE_REQUIRE`` names ``openmmlab``: then
it fails, so CI never skips silently.
"""

from __future__ import annotations

import sys
import types
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional

from _helpers import fetch_wheels

#: package -> (distribution pin, wheel file, scheduler module inside it)
PACKAGES = {
    "mmdet": ("mmdet==3.3.0", "mmdet-3.3.0-py3-none-any.whl", "mmdet/engine/schedulers/quadratic_warmup.py"),
    "mmseg": ("mmsegmentation==1.2.2", "mmsegmentation-1.2.2-py3-none-any.whl",
              "mmseg/engine/schedulers/poly_ratio_scheduler.py"),
    "mmpretrain": ("mmpretrain==1.2.0", "mmpretrain-1.2.0-py2.py3-none-any.whl",
                   "mmpretrain/engine/schedulers/weight_decay_scheduler.py"),
}
_LOADED: Dict[str, Any] = {}


def wheel(pkg: str) -> Path:
    """The package's wheel, from the shared wheel cache or downloaded into it (skip, or fail on CI, without)."""
    pin, name, _ = PACKAGES[pkg]
    return fetch_wheels({pin: name}) / name


def scheduler_registry(pkg: str) -> Any:
    """``pkg``'s PARAM_SCHEDULERS registry with its scheduler module executed into it."""
    if pkg in _LOADED:
        return _LOADED[pkg]
    import mmengine.optim  # noqa: F401  (registers MMEngine's own schedulers)
    from mmengine.registry import PARAM_SCHEDULERS, Registry

    whl = wheel(pkg)
    path = PACKAGES[pkg][2]
    with zipfile.ZipFile(whl) as z:
        src = z.read(path).decode("utf-8")
    reg = Registry("parameter scheduler", parent=PARAM_SCHEDULERS, scope=pkg)
    saved: Dict[str, Optional[types.ModuleType]] = {m: sys.modules.get(m) for m in (pkg, f"{pkg}.registry")}
    top, sub = types.ModuleType(pkg), types.ModuleType(f"{pkg}.registry")
    sub.PARAM_SCHEDULERS = reg  # type: ignore[attr-defined]
    top.registry = sub  # type: ignore[attr-defined]
    sys.modules[pkg], sys.modules[f"{pkg}.registry"] = top, sub
    try:
        mod = types.ModuleType(path[:-3].replace("/", "."))
        mod.__file__ = f"{whl}!{path}"
        exec(compile(src, mod.__file__, "exec"), mod.__dict__)  # their code, as shipped
    finally:
        for m, v in saved.items():
            if v is None:
                sys.modules.pop(m, None)
            else:
                sys.modules[m] = v
    _LOADED[pkg] = reg
    return reg
