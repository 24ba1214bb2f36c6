"""The OpenMMLab model zoo as users have it: every leaf config with a ``param_scheduler`` that
ships in the wheels of mmdet 3.3.0, mmpretrain 1.2.0, mmsegmentation 1.2.2 and mmyolo 0.6.0.

1. Reading: ``bridge.load_config`` (nothing executed) gives the same keys the importers read as
   ``mmengine.Config.fromfile`` (run in two worker processes, tests/_mmengine_read.py), the same
   whole config wherever it read a value (a skipped statement's placeholder aside), and refuses
   at most 1% of the configs (the exact count is asserted).
2. Plans: for a sample (every 20th config, and the first config of each distinct combination of
   scheduler types), ``bridge.from_mmengine`` equals MMEngine's real schedulers stepped like
   ParamSchedulerHook over the whole run.

The wheels are fetched with ``pip download --no-deps`` into a cache (``BRIDGE_WHEEL_CACHE``, tox
sets ``{toxworkdir}/wheels``; else ``~/.cache/sched-bridge/wheels``) and reused; with ``CI=true`` a
failed download fails the test instead of skipping it (the ``openmmlab_zoo`` fixture, conftest.py).
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from _helpers import OPENMMLAB_PACKAGES, bridge_env

import bridge
from bridge import parity
from bridge.config import NEEDED, Unreadable
from bridge.errors import BridgeError

pytestmark = pytest.mark.mmengine

KEYS = NEEDED
#: configs the literal reader refuses (the exact count; the issue allows 1%)
REFUSED = 0
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def zoo(openmmlab_zoo: Path) -> Path:
    return openmmlab_zoo


def _leaves(site: Path) -> List[str]:
    out = []
    for pkg in OPENMMLAB_PACKAGES:
        for p in sorted((site / pkg / ".mim" / "configs").rglob("*.py")):
            if "_base_" not in p.parts:
                out.append(str(p))
    return out


@pytest.fixture(scope="module")
def theirs(zoo: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Tuple[str, Any]]:
    """mmengine's reading of every leaf config, two worker processes."""
    files = _leaves(zoo)
    tmp = tmp_path_factory.mktemp("mmengine_read")
    env = bridge_env(PYTHONPATH=str(zoo))
    procs = []
    for i in range(2):
        out = tmp / f"part{i}.pickle"
        procs.append((out, subprocess.Popen([sys.executable, str(HERE / "_mmengine_read.py"), str(out),
                                             *files[i::2]], env=env, cwd=str(tmp))))
    got: Dict[str, Tuple[str, Any]] = {}
    for out, p in procs:
        assert p.wait(timeout=900) == 0, "the mmengine reader worker failed"
        with open(out, "rb") as fh:
            got.update(pickle.load(fh))
    return got


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _differs(ours: Any, ref: Any, at: str = "") -> str:
    """Where ``ours`` first differs from mmengine's reading ("" if nowhere), counting only what
    ours read (a skipped statement's :class:`~bridge.config.Unreadable` stands for whatever
    MMEngine computed)."""
    if isinstance(ours, Unreadable):
        return ""
    if isinstance(ours, dict) and isinstance(ref, dict):
        if ours.keys() != ref.keys():
            return f"{at or '.'}: keys {sorted(map(str, ours.keys() ^ ref.keys()))} in one only"
        return next(filter(None, (_differs(ours[k], ref[k], f"{at}.{k}") for k in ours)), "")
    if isinstance(ours, (list, tuple)) and isinstance(ref, (list, tuple)) and len(ours) == len(ref):
        return next(filter(None, (_differs(a, b, f"{at}[{i}]") for i, (a, b) in enumerate(zip(ours, ref)))), "")
    if ours is None or isinstance(ours, (int, float, str, bool, list, tuple, dict)):
        same = type(ours) is type(ref) and ours == ref
    else:
        same = ref == f"<{type(ours).__name__}>"
    return "" if same else f"{at}: ours {ours!r:.100} != mmengine {ref!r:.100}"


def _corpus(theirs: Dict[str, Tuple[str, Any]]) -> List[str]:
    return sorted(f for f, (state, cfg) in theirs.items() if state == "ok" and "param_scheduler" in cfg)


def test_every_config_reads_as_mmengine_reads_it(theirs):
    files = _corpus(theirs)
    assert len(files) >= 2000, f"only {len(files)} configs with a param_scheduler: is the corpus complete?"
    refused, differ = [], []
    for f in files:
        try:
            ours = bridge.load_config(f)
        except BridgeError as e:
            refused.append(f"{f}: {e}")
            continue
        ref = theirs[f][1]
        for k in KEYS:
            if _plain(ours.get(k)) != _plain(ref.get(k)):
                differ.append(f"{f}: {k}: ours {ours.get(k)!r:.200} != mmengine {ref.get(k)!r:.200}")
        # the whole config too, where it was read (a `_delete_` with nothing to delete is kept)
        ours.pop("_base_", None)
        where = _differs(ours, {k: v for k, v in ref.items() if k != "_base_"})
        if where:
            differ.append(f"{f}: {where}")
    assert not differ, f"{len(differ)} differences from mmengine:\n" + "\n".join(differ[:20])
    assert len(refused) <= 0.01 * len(files) and len(refused) == REFUSED, (
        f"{len(refused)} of {len(files)} configs refused (expected {REFUSED}):\n" + "\n".join(refused))


def _types(ps: Any) -> Tuple[str, ...]:
    ps = [ps] if isinstance(ps, dict) else list(ps or [])
    return tuple(sorted(str(d.get("type")) for d in ps if isinstance(d, dict)))


def _sample(theirs: Dict[str, Tuple[str, Any]]) -> List[str]:
    files = _corpus(theirs)
    seen, picked = set(), []
    for i, f in enumerate(files):
        combo = _types(theirs[f][1]["param_scheduler"])
        if combo and (i % 20 == 0 or combo not in seen):
            picked.append(f)
        seen.add(combo)
    return picked


def _run(cfg: Dict[str, Any]) -> Tuple[int, int, bool]:
    """(epoch_length, max_epochs, by_epoch run) chosen so that the run covers every window:
    an epoch-based run gets epochs of a few iterations, enough for the iteration-based warm-ups."""
    tc = cfg.get("train_cfg") or {}
    if "max_iters" in tc:
        return int(tc["max_iters"]), 1, False
    E = int(tc.get("max_epochs", 12))
    ps = cfg["param_scheduler"]
    ends = [d.get("end", 0) for d in ([ps] if isinstance(ps, dict) else ps) if not d.get("by_epoch", True)]
    L = max(3, max([math.ceil(e / E) + 1 for e in ends if isinstance(e, (int, float)) and e < 1e8], default=3))
    return L, E, True


def _make(torch: Any, opt_cfg: Dict[str, Any], lr: float) -> Any:
    """A real optimizer with the config's base values (SGD, or AdamW when it has betas)."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    if "betas" in opt_cfg:
        return torch.optim.AdamW([p], lr=lr, betas=tuple(opt_cfg["betas"]))
    return torch.optim.SGD([p], lr=lr, momentum=float(opt_cfg.get("momentum", 0.9)),
                           weight_decay=float(opt_cfg.get("weight_decay", 0.0)))


def _registry(ps: Any) -> Any:
    """The registry the config's Runner builds from: the package's (run from its wheel,
    tests/_openmmlab.py) when an entry has one of its types, else MMEngine's."""
    from _openmmlab import scheduler_registry

    from bridge.frameworks.mmengine import DOWNSTREAM_TYPES

    own = {d.split(".", 1)[1]: d.split(".", 1)[0] for d in DOWNSTREAM_TYPES}
    pkgs = {own[t.rsplit(".", 1)[-1]] for t in _types(ps) if t.rsplit(".", 1)[-1] in own}
    assert len(pkgs) <= 1, pkgs
    return scheduler_registry(pkgs.pop()) if pkgs else None


def test_plans_of_a_sample_equal_mmengine_stepped_like_the_hook(theirs, torch_mod):
    """Every sampled config's plan, its downstream types (mmdet's QuadraticWarmupLR, mmseg's
    PolyLRRatio, mmpretrain's CosineAnnealingWeightDecay) run from the packages' wheels."""
    from test_mmengine import run_mmengine

    torch = torch_mod
    checked, downstream, failed = 0, 0, []
    for f in _sample(theirs):
        cfg = bridge.load_config(f)
        L, E, by_epoch = _run(cfg)
        opt_cfg = (cfg.get("optim_wrapper") or {}).get("optimizer") or cfg.get("optimizer") or {}
        lr = float(opt_cfg.get("lr", 0.01))
        plan = bridge.from_mmengine(cfg["param_scheduler"], _make(torch, opt_cfg, lr), epoch_length=L, max_epochs=E)
        reg = _registry(cfg["param_scheduler"])
        ref = run_mmengine(cfg["param_scheduler"], _make(torch, opt_cfg, lr), epoch_length=L, max_epochs=E,
                           fields=plan.fields, registry=reg)
        for field in plan.fields:
            r = parity.compare(plan.values(L * E, field), ref[field], plan.bases(field))
            if not r.ok:
                failed.append(r.summary(f"{f} {field} vs mmengine"))
        checked += 1
        downstream += reg is not None
    assert not failed, "\n".join(failed)
    assert (checked, downstream) == (116, 7)  # the pinned wheels' sample; 7 with downstream types
