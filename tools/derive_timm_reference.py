"""Derive tests/data/timm_reference.json by running timm's own scheduler code.

timm needs torchvision, which has no CPU build here, so ``import timm`` is impossible. This
script takes the timm wheel (``pip download --no-deps timm==1.0.31``), reads ONLY the files
``timm/scheduler/*.py`` out of it, and executes them as the modules ``timm.scheduler.*`` under
two empty package shims (``timm`` and ``timm.scheduler``). Their other imports (torch, numpy,
math, bisect, logging, warnings) are the real ones. Each configuration is then stepped the way
timm's train.py steps it (``step_update(num_updates)`` after every optimizer update, ``step(epoch
+ 1, metric)`` after every epoch) on a real torch SGD with three param groups (one with an
``lr_scale``); the lr of every group in effect for every update is recorded.

    python tools/derive_timm_reference.py [--wheel PATH] [--out PATH]

Without ``--wheel`` the wheel is looked up in ``$BRIDGE_TIMM_WHEEL`` and then in
``~/.cache/sched-bridge/``; if absent it is fetched there with ``pip download --no-deps``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
TIMM_VERSION = "1.0.31"
WHEEL_NAME = f"timm-{TIMM_VERSION}-py3-none-any.whl"
CACHE = Path(os.path.expanduser("~/.cache/sched-bridge"))
MODULES = ("scheduler", "cosine_lr", "tanh_lr", "step_lr", "multistep_lr", "poly_lr", "plateau_lr", "wsd_lr",
           "scheduler_factory")

# (name, how, scheduler, kwargs, updates_per_epoch, epochs, metrics)
#   how = "class": timm.scheduler.<scheduler>(optimizer, **kwargs)
#   how = "v2":    timm.scheduler.create_scheduler_v2(optimizer, sched=<scheduler>, **kwargs)
CONFIGS: List[Dict[str, Any]] = [
    dict(name="cosine_epochs_warmup", how="class", scheduler="CosineLRScheduler",
         kwargs=dict(t_initial=10, lr_min=1e-4, warmup_t=3, warmup_lr_init=1e-3), upe=4, epochs=16),
    dict(name="cosine_updates_prefix_kdecay", how="class", scheduler="CosineLRScheduler",
         kwargs=dict(t_initial=40, lr_min=1e-5, warmup_t=7, warmup_lr_init=1e-4, warmup_prefix=True,
                     k_decay=2.0, t_in_epochs=False), upe=5, epochs=12),
    dict(name="cosine_restarts_mul2_decay", how="class", scheduler="CosineLRScheduler",
         kwargs=dict(t_initial=5, cycle_mul=2.0, cycle_decay=0.5, cycle_limit=3, lr_min=1e-3, t_in_epochs=False),
         upe=1, epochs=45),
    dict(name="cosine_restarts_mul1_5", how="class", scheduler="CosineLRScheduler",
         kwargs=dict(t_initial=6, cycle_mul=1.5, cycle_decay=0.8, cycle_limit=4, warmup_t=2, warmup_lr_init=0.0,
                     t_in_epochs=False), upe=1, epochs=60),
    dict(name="cosine_restarts_mul1", how="class", scheduler="CosineLRScheduler",
         kwargs=dict(t_initial=8, cycle_limit=3, cycle_decay=0.7, k_decay=0.5), upe=2, epochs=30),
    dict(name="tanh_warmup_nonprefix", how="class", scheduler="TanhLRScheduler",
         kwargs=dict(t_initial=20, lr_min=1e-4, warmup_t=4, warmup_lr_init=1e-3, t_in_epochs=False),
         upe=3, epochs=10),
    dict(name="tanh_prefix_cycles", how="class", scheduler="TanhLRScheduler",
         kwargs=dict(t_initial=6, lb=-5.0, ub=4.0, cycle_mul=2.0, cycle_limit=2, warmup_t=2, warmup_prefix=True,
                     warmup_lr_init=1e-4), upe=2, epochs=24),
    dict(name="poly_kdecay", how="class", scheduler="PolyLRScheduler",
         kwargs=dict(t_initial=30, power=2.0, lr_min=1e-4, k_decay=1.5, warmup_t=5, warmup_lr_init=1e-5,
                     t_in_epochs=False), upe=4, epochs=10),
    dict(name="step_float_decay", how="class", scheduler="StepLRScheduler",
         kwargs=dict(decay_t=2.4, decay_rate=0.97, warmup_t=3, warmup_lr_init=1e-6), upe=2, epochs=20),
    dict(name="multistep_early", how="class", scheduler="MultiStepLRScheduler",
         kwargs=dict(decay_t=[2, 4], decay_rate=0.5, t_in_epochs=False), upe=1, epochs=8),
    dict(name="multistep_warmup_nonprefix", how="class", scheduler="MultiStepLRScheduler",
         kwargs=dict(decay_t=[1, 6, 6, 10], decay_rate=0.3, warmup_t=3, warmup_lr_init=0.01, warmup_prefix=False),
         upe=3, epochs=14),
    dict(name="plateau_warmup", how="class", scheduler="PlateauLRScheduler",
         kwargs=dict(decay_rate=0.5, patience_t=1, warmup_t=2, warmup_lr_init=1e-3, lr_min=1e-3, mode="min"),
         upe=2, epochs=16,
         metrics=[1.0, 0.9, 0.95, 0.8, 0.85, 0.86, 0.87, 0.7, 0.71, 0.72, 0.73, 0.74, 0.6, 0.6, 0.6, 0.6]),
    dict(name="v2_cosine_epochs", how="v2", scheduler="cosine",
         kwargs=dict(num_epochs=12, warmup_epochs=2, warmup_lr=1e-5, min_lr=1e-5, cooldown_epochs=2), upe=3,
         epochs=16),
    dict(name="v2_cosine_updates_prefix_cycles", how="v2", scheduler="cosine",
         kwargs=dict(num_epochs=4, warmup_epochs=1, warmup_prefix=True, cycle_limit=2, cycle_decay=0.5,
                     step_on_epochs=False, updates_per_epoch=5), upe=5, epochs=11),
    dict(name="v2_step", how="v2", scheduler="step",
         kwargs=dict(num_epochs=20, decay_epochs=3, decay_rate=0.5, warmup_epochs=2), upe=2, epochs=20),
    dict(name="v2_multistep_updates", how="v2", scheduler="multistep",
         kwargs=dict(num_epochs=10, decay_milestones=[3, 6], warmup_epochs=1, step_on_epochs=False,
                     updates_per_epoch=4), upe=4, epochs=10),
    dict(name="v2_poly", how="v2", scheduler="poly",
         kwargs=dict(num_epochs=10, decay_rate=0.9, min_lr=1e-4, k_decay=2.0), upe=3, epochs=12),
    dict(name="v2_tanh_updates", how="v2", scheduler="tanh",
         kwargs=dict(num_epochs=6, warmup_epochs=1, step_on_epochs=False, updates_per_epoch=3), upe=3, epochs=8),
    dict(name="v2_constant_warmup", how="v2", scheduler="constant",
         kwargs=dict(num_epochs=6, warmup_epochs=2, warmup_lr=1e-3), upe=2, epochs=6),
    dict(name="v2_plateau", how="v2", scheduler="plateau",
         kwargs=dict(num_epochs=12, patience_epochs=2, decay_rate=0.5, warmup_epochs=1, plateau_mode="max"),
         upe=2, epochs=12, metrics=[0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.31, 0.4, 0.4, 0.4, 0.4, 0.4]),
]

GROUPS = [dict(lr=0.1), dict(lr=0.05, lr_scale=0.5), dict(lr=0.002)]


def find_wheel(path: Optional[str] = None, fetch: bool = False) -> Optional[Path]:
    """The timm wheel: ``path``, $BRIDGE_TIMM_WHEEL, the cache dir; fetched there when ``fetch``."""
    shared = os.environ.get("BRIDGE_WHEEL_CACHE")  # where the test envs keep downloaded wheels
    for cand in (path, os.environ.get("BRIDGE_TIMM_WHEEL"), shared and str(Path(shared) / WHEEL_NAME),
                 str(CACHE / WHEEL_NAME)):
        if cand and Path(cand).is_file():
            return Path(cand)
    if not fetch:
        return None
    dest = Path(shared) if shared else CACHE
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"timm=={TIMM_VERSION}", "-d",
                    str(dest)], check=True, capture_output=True)
    return dest / WHEEL_NAME


def load_scheduler_modules(wheel: Path) -> Dict[str, types.ModuleType]:
    """Execute timm/scheduler/*.py from the wheel as ``timm.scheduler.*``; returns the modules by name.

    Only ``timm`` and ``timm.scheduler`` are shims (empty packages); everything the files
    import besides each other (torch, numpy, ...) is real. Nothing is left in sys.modules.
    """
    saved = {k: v for k, v in sys.modules.items() if k == "timm" or k.startswith("timm.")}
    for k in saved:
        del sys.modules[k]
    out: Dict[str, types.ModuleType] = {}
    try:
        for pkg in ("timm", "timm.scheduler"):
            m = types.ModuleType(pkg)
            m.__path__ = []  # a package with nothing to find on disk
            m.__package__ = pkg
            sys.modules[pkg] = m
        with zipfile.ZipFile(wheel) as z:
            for name in MODULES:
                fq = f"timm.scheduler.{name}"
                src = z.read(f"timm/scheduler/{name}.py").decode("utf-8")
                mod = types.ModuleType(fq)
                mod.__package__ = "timm.scheduler"
                mod.__file__ = f"{wheel}!timm/scheduler/{name}.py"
                sys.modules[fq] = mod
                exec(compile(src, mod.__file__, "exec"), mod.__dict__)
                out[name] = mod
    finally:
        for k in [k for k in sys.modules if k == "timm" or k.startswith("timm.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    return out


def timm_version(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        ns: Dict[str, Any] = {}
        exec(z.read("timm/version.py").decode("utf-8"), ns)
    return str(ns["__version__"])


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_optimizer(torch: Any) -> Any:
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in GROUPS]
    return torch.optim.SGD([{"params": [p], **g} for p, g in zip(ps, GROUPS)], lr=0.1)


def build(mods: Dict[str, types.ModuleType], cfg: Dict[str, Any], opt: Any) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PlateauLRScheduler is deprecated in 1.0.31
        if cfg["how"] == "v2":
            sched, _ = mods["scheduler_factory"].create_scheduler_v2(opt, sched=cfg["scheduler"], **cfg["kwargs"])
            return sched
        cls = next(getattr(m, cfg["scheduler"]) for m in mods.values() if hasattr(m, cfg["scheduler"]))
        return cls(opt, **cfg["kwargs"])


def run(mods: Dict[str, types.ModuleType], cfg: Dict[str, Any]) -> List[List[float]]:
    """Step as timm's train.py does; row u = every group's lr in effect for update u."""
    import torch

    opt = make_optimizer(torch)
    sched = build(mods, cfg, opt)
    upe, metrics = cfg["upe"], cfg.get("metrics")
    rows: List[List[float]] = []
    for epoch in range(cfg["epochs"]):
        num_updates = epoch * upe
        for _ in range(upe):
            rows.append([float(g["lr"]) for g in opt.param_groups])
            opt.step()
            num_updates += 1
            sched.step_update(num_updates=num_updates, metric=None)
        sched.step(epoch + 1, None if metrics is None else metrics[epoch])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help=f"path of {WHEEL_NAME}")
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "timm_reference.json"))
    a = ap.parse_args()
    wheel = find_wheel(a.wheel, fetch=True)
    assert wheel is not None
    version = timm_version(wheel)
    if version != TIMM_VERSION:
        sys.exit(f"{wheel} holds timm {version}, expected {TIMM_VERSION}")
    mods = load_scheduler_modules(wheel)
    import torch

    cases = []
    for cfg in CONFIGS:
        case = {k: v for k, v in cfg.items()}
        case["values"] = run(mods, cfg)
        cases.append(case)
    doc = {
        "what": "lr of each param group in effect for each optimizer update, from timm's own scheduler "
                "code stepped as timm's train.py steps it; produced by tools/derive_timm_reference.py",
        "timm_version": version,
        "wheel": wheel.name,
        "wheel_sha256": sha256(wheel),
        "torch_version": torch.__version__,
        "groups": GROUPS,
        "cases": cases,
    }
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {a.out}: {len(cases)} cases from timm {version} ({doc['wheel_sha256'][:12]})")


if __name__ == "__main__":
    main()
