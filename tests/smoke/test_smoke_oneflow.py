"""OneFlow is real here: a native CosineDecayLR follows its clamped closed form."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.oneflow


def test_cosine_decay_lr_matches_formula(flow):
    base, decay_steps, alpha = 1.0, 4, 0.1
    param = flow.nn.Parameter(flow.zeros(2))
    opt = flow.optim.SGD([param], lr=base)
    sched = flow.optim.lr_scheduler.CosineDecayLR(opt, decay_steps=decay_steps, alpha=alpha)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])

    def formula(t: int) -> float:
        t = min(t, decay_steps)
        cos = 0.5 * (1 + math.cos(math.pi * t / decay_steps))
        return base * ((1 - alpha) * cos + alpha)

    expected = [formula(t) for t in range(7)]
    for t, (got, want) in enumerate(zip(seen, expected)):
        assert abs(got - want) <= 1e-12 * max(abs(want), base), (t, got, want)
    assert seen == pytest.approx([1.0, 0.868198, 0.55, 0.231802, 0.1, 0.1, 0.1], abs=1e-6)
    assert flow.__version__.startswith("0.9")
