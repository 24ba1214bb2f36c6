"""bridge.from_hf against real HF transformers schedulers (torch LambdaLR), step by step."""

from __future__ import annotations

import os

import numpy as np
import pytest

import bridge
from bridge.errors import SpecError, UnsupportedError

pytestmark = [pytest.mark.torch]

TOL = 1e-12


def _opt(torch):
    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in range(3)]
    # defaults['lr'] = 0.1, groups 0.05 / 0.1 / 0.002: HF's polynomial uses 0.1 for all
    return torch.optim.AdamW([{"params": [ps[0]], "lr": 0.05}, {"params": [ps[1]]},
                              {"params": [ps[2]], "lr": 0.002}], lr=0.1)


def _run_hf(torch, name, steps, W, N, kw, metrics=None):
    if "transformers" in os.environ.get("BRIDGE_REQUIRE", ""):
        import transformers  # CI installs it: the comparison must not silently skip
    else:
        transformers = pytest.importorskip("transformers")
    from transformers import get_scheduler

    opt = _opt(torch)
    sched = get_scheduler(name, opt, num_warmup_steps=W, num_training_steps=N, scheduler_specific_kwargs=kw)
    out = []
    for t in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if metrics is not None:
            sched.step(metrics[t])
        else:
            sched.step()
    assert transformers
    return np.array(out)


CASES = [
    ("linear", 10, 100, {}),
    ("linear", 0, 50, {}),
    ("cosine", 10, 100, {}),
    ("cosine", 7, 57, {"num_cycles": 1.25}),     # integer period, periodic past the end
    ("cosine", 3, 40, {"num_cycles": 0.3}),     # non-integer period: Lambda fallback
    ("cosine_with_restarts", 10, 100, {"num_cycles": 3}),
    ("cosine_with_restarts", 5, 100, {"num_cycles": 4}),  # 95 % 4 != 0
    ("polynomial", 10, 100, {"lr_end": 1e-4, "power": 2.0}),
    ("polynomial", 0, 30, {}),
    ("constant", None, None, {}),
    ("constant_with_warmup", 12, None, {}),
    ("inverse_sqrt", 10, None, {}),
    ("inverse_sqrt", 0, None, {"timescale": 7}),
    ("cosine_with_min_lr", 10, 100, {"min_lr_rate": 0.1}),
    ("cosine_with_min_lr", 10, 100, {"min_lr": 1e-3}),   # relative to defaults['lr']
    ("cosine_warmup_with_min_lr", 10, 100, {"min_lr_rate": 0.05}),
    ("cosine_warmup_with_min_lr", 10, 100, {"min_lr_rate": 0.05, "warmup_lr_rate": 0.2}),
    ("cosine_warmup_with_min_lr", 0, 64, {"min_lr": 2e-3}),
    ("warmup_stable_decay", 10, 100, {"num_decay_steps": 30, "min_lr_ratio": 0.1}),
    ("warmup_stable_decay", 10, None, {"num_decay_steps": 20, "num_stable_steps": 40,
                                       "warmup_type": "cosine", "decay_type": "1-sqrt"}),
    ("warmup_stable_decay", 8, 100, {"num_decay_steps": 40, "warmup_type": "1-sqrt", "decay_type": "linear",
                                     "min_lr_ratio": 0.02}),
]


@pytest.mark.parametrize("name,W,N,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_hf_matches_transformers(torch_mod, name, W, N, kw):
    steps = 3 * (N or 60)
    ref = _run_hf(torch_mod, name, steps, W, N, kw)
    plan = bridge.from_hf(name, _opt(torch_mod), num_warmup_steps=W, num_training_steps=N, **kw)
    ours = plan.values(steps)
    scale = np.maximum(np.abs(ref), plan.bases()[None, :])
    bad = np.abs(ours - ref) > TOL * scale
    assert not bad.any(), (np.argwhere(bad)[0], ours[bad][:3], ref[bad][:3])
    if not (name == "cosine" and kw.get("num_cycles") == 0.3) and not (
            name == "cosine_with_restarts" and kw.get("num_cycles") == 4):
        assert not plan.schedule("lr").opaque, plan.schedule("lr")  # exact IR nodes, serialisable
        bridge.from_dict(plan.to_dict())


def test_hf_plateau(torch_mod):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.7, 0.7]
    kw = {"patience": 1, "factor": 0.5, "min_lr": 0.004}
    ref = _run_hf(torch_mod, "reduce_lr_on_plateau", len(metrics), None, None, kw, metrics=metrics)
    plan = bridge.from_hf("reduce_lr_on_plateau", _opt(torch_mod), metrics=metrics, **kw)
    np.testing.assert_allclose(plan.values(len(metrics)), ref, rtol=TOL, atol=1e-15)


def test_hf_traps():
    warm = bridge.from_hf("linear", base_lr=1.0, num_warmup_steps=2, num_training_steps=4)
    assert warm.values(6)[:, 0] == pytest.approx([0, 0.5, 1.0, 0.5, 0.0, 0.0])
    cos = bridge.from_hf("cosine", base_lr=1.0, num_warmup_steps=0, num_training_steps=4)
    assert cos.values(7)[:, 0] == pytest.approx([1, 0.853553, 0.5, 0.146447, 0, 0.146447, 0.5], abs=1e-6)
    with pytest.raises(SpecError, match="default_lr"):
        bridge.from_hf("polynomial", base_lrs=[0.1, 0.01], num_warmup_steps=0, num_training_steps=10)


def test_hf_errors():
    with pytest.raises(SpecError, match="did you mean 'cosine'"):
        bridge.from_hf("cosin", base_lr=0.1, num_warmup_steps=0, num_training_steps=10)
    with pytest.raises(SpecError, match="num_training_steps: is required"):
        bridge.from_hf("cosine", base_lr=0.1, num_warmup_steps=0)
    with pytest.raises(SpecError, match="lr_edn: not an argument"):
        bridge.from_hf("polynomial", base_lr=0.1, num_warmup_steps=0, num_training_steps=10, lr_edn=0.0)
    with pytest.raises(UnsupportedError, match="greedy"):
        bridge.from_hf("greedy", base_lr=0.1)
