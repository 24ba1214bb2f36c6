"""MMEngine is real here: a native LinearLR on a torch SGD follows its closed form."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.mmengine, pytest.mark.torch]


def test_linear_lr_matches_formula(torch_mod, mmengine_mod):
    torch = torch_mod
    from mmengine.optim.scheduler import LinearLR

    base, start, end = 1.0, 0.1, 5
    param = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=base)
    sched = LinearLR(opt, start_factor=start, end=end)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(6):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    # factor ramps linearly from start_factor to 1 over [begin, end - 1], then holds
    expected = [base * (start + (1.0 - start) * min(t, end - 1) / (end - 1)) for t in range(7)]
    for t, (got, want) in enumerate(zip(seen, expected)):
        assert abs(got - want) <= 1e-12 * max(abs(want), base), (t, got, want)
    assert seen[:5] == pytest.approx([0.1, 0.325, 0.55, 0.775, 1.0], abs=1e-12)
