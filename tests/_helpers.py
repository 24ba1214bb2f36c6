"""Small helpers shared by the tests: a real optimizer, the trajectory of a real training loop,
and the environment of a subprocess that must import the same ``bridge`` as the tests.

The framework module is passed in (the ``torch_mod`` / ``flow`` fixtures of conftest.py, or a
module-level ``torch``), never imported here: importing this module needs no framework.
Nothing here computes a tolerance (that is ``bridge.parity``'s job).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np


def bridge_env(**extra: str) -> Dict[str, str]:
    """``os.environ`` (plus ``extra``) for a subprocess that imports the same ``bridge`` as this
    process: the installed wheel under tox, the source tree when pytest runs from a checkout.
    That directory goes first on ``PYTHONPATH`` (a script's own directory or the cwd would
    otherwise decide)."""
    import bridge

    env = dict(os.environ, **extra)
    parent = str(Path(bridge.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([parent] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def make_opt(fw: Any, lrs: Sequence[Any] = (0.1,), kind: str = "SGD", *, size: int = 2, dtype: Any = None,
             **kw: Any) -> Any:
    """``fw.optim.<kind>`` (``fw``: the torch or oneflow module) over one zero parameter of shape
    ``(size,)`` per group, group ``i`` with lr ``lrs[i]``; keyword arguments go to the optimizer."""
    def param() -> Any:
        return fw.nn.Parameter(fw.zeros(size) if dtype is None else fw.zeros(size, dtype=dtype))

    return getattr(fw.optim, kind)([{"params": [param()], "lr": lr} for lr in lrs], **kw)


def read_group(group: Any, field: str) -> float:
    """A param group's hyper-parameter as the framework stores it (``"betas[0]"``: Adam's beta1)."""
    return float(group["betas"][0] if field == "betas[0]" else group[field])


def trace(opt: Any, scheds: Any, n: int, field: str = "lr", *, step_optimizer: bool = True,
          metrics: Optional[Sequence[float]] = None) -> np.ndarray:
    """The real training loop for ``n`` updates: row ``t`` = every group's ``field`` in effect for
    update ``t`` (after ``t`` scheduler steps), shape ``(n, groups)``, float64.

    Between two reads: ``opt.step()`` (unless ``step_optimizer`` is false), then ``step()`` of each
    scheduler in ``scheds`` (one, or a list stepped in order), ``step(metrics[t])`` when given.
    Nothing is stepped after the last read.
    """
    many = list(scheds) if isinstance(scheds, (list, tuple)) else [scheds]
    rows = [[read_group(g, field) for g in opt.param_groups]]
    for t in range(n - 1):
        if step_optimizer:
            opt.step()
        for s in many:
            if metrics is None:
                s.step()
            else:
                s.step(metrics[t])
        rows.append([read_group(g, field) for g in opt.param_groups])
    return np.array(rows, dtype=np.float64)


def run_fresh_mindspore(code: str, timeout: int = 300) -> str:
    """Run ``code`` in a new interpreter with MindSpore on CPU in PYNATIVE_MODE; its stdout.

    For checks of MindSpore's own PyNative behaviour: in one pytest process, graphs compiled by
    earlier tests (same cells, same shapes) are reused and change what PyNative does.
    """
    import subprocess
    import sys
    import textwrap

    prelude = ("import numpy as np, mindspore as ms\n"
               "ms.set_context(mode=ms.PYNATIVE_MODE, device_target='CPU')\n")
    r = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=bridge_env(GLOG_v="3"),
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"exit {r.returncode}:\n{r.stderr[-3000:]}"
    return r.stdout


#: the OpenMMLab wheels whose shipped configs the tests read (``<pkg>/.mim/configs``)
OPENMMLAB_WHEELS = {"mmdet==3.3.0": "mmdet-3.3.0-py3-none-any.whl",
                    "mmpretrain==1.2.0": "mmpretrain-1.2.0-py2.py3-none-any.whl",
                    "mmsegmentation==1.2.2": "mmsegmentation-1.2.2-py3-none-any.whl",
                    "mmyolo==0.6.0": "mmyolo-0.6.0-py3-none-any.whl"}
OPENMMLAB_PACKAGES = ("mmdet", "mmpretrain", "mmseg", "mmyolo")


def wheel_cache() -> Path:
    """``BRIDGE_WHEEL_CACHE`` (tox sets ``~/.cache/sched-bridge/wheels``), else that same directory."""
    raw = os.environ.get("BRIDGE_WHEEL_CACHE")
    return Path(raw) if raw else Path.home() / ".cache" / "sched-bridge" / "wheels"


def fetch_wheels(wheels: Dict[str, str]) -> Path:
    """The :func:`wheel_cache` directory holding every wheel of ``wheels`` (pin -> file name),
    the missing ones fetched with ``pip download --no-deps`` (nothing installed). A failed download
    skips the test, or fails it under ``CI=true`` or where ``BRIDGE_REQUIRE`` names ``openmmlab``."""
    import pytest
    from _require import required

    cache = wheel_cache()
    cache.mkdir(parents=True, exist_ok=True)
    missing = [pin for pin, name in wheels.items() if not (cache / name).is_file()]
    if missing:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                            "-d", str(cache), *missing], capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not all((cache / n).is_file() for n in wheels.values()):
            msg = f"pip download --no-deps {' '.join(missing)} into {cache} failed:\n{r.stderr[-2000:]}"
            if os.environ.get("CI", "").lower() in ("1", "true", "yes") or "openmmlab" in required():
                pytest.fail(msg, pytrace=False)
            pytest.skip(msg)
    return cache


def openmmlab_site() -> Path:
    """A directory holding each OpenMMLab package's ``__init__.py`` and ``.mim/configs`` from its
    wheel (fetched once with ``pip download --no-deps`` into :func:`wheel_cache`, unzipped once);
    on ``sys.path`` it lets ``pkg::`` scopes resolve without importing anything. A failed download
    skips the test, or fails it under ``CI=true``."""
    cache = fetch_wheels(OPENMMLAB_WHEELS)
    site = cache / "site"
    if not (site / ".complete").is_file():
        for name in OPENMMLAB_WHEELS.values():
            with zipfile.ZipFile(cache / name) as z:
                for m in z.namelist():
                    top, _, rest = m.partition("/")
                    if top in OPENMMLAB_PACKAGES and (rest == "__init__.py" or rest.startswith(".mim/configs/")):
                        z.extract(m, site)
        (site / ".complete").write_text("ok")
    return site
