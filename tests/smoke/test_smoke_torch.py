"""PyTorch is real here: a native CosineAnnealingLR follows its closed form."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.torch


def test_cosine_annealing_lr_matches_formula(torch_mod):
    torch = torch_mod
    base, eta_min, t_max = 0.1, 0.001, 10
    param = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=base)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(12):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    expected = [
        eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2 for t in range(13)
    ]
    assert len(seen) == 13
    for t, (got, want) in enumerate(zip(seen, expected)):
        assert abs(got - want) <= 1e-12 * max(abs(want), base), (t, got, want)
    # sanity: it is a real schedule, not a constant
    assert seen[0] == pytest.approx(base) and seen[10] == pytest.approx(eta_min)
    assert torch.__version__.startswith("2.")
