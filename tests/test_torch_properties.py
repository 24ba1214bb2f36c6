"""Property suite: random torch compositions, imported and lowered, against real torch.

Each example draws 1-3 param groups (different lrs, momentum or Adam betas), a tree of
SequentialLR / ChainedScheduler over StepLR ... CyclicLR / OneCycleLR / LambdaLR /
MultiplicativeLR leaves (as far as torch 2.13 runs it: a composite only where torch never
restarts it) and an order in which the leaves are built; builds the REAL schedulers,
imports them with ``from_torch`` right after construction, steps torch N times and
compares every field the plan drives within ``1e-12 * max(|torch|, base)``; then lowers the
plan with ``to_torch`` onto a fresh optimizer and steps that too.

A refusal (UnsupportedError) is allowed only when it is one of the deliberate ones listed
in docs/torch.md ("What from_torch refuses"); they are counted (hypothesis
``--hypothesis-show-statistics`` shows them; ``test_refusals_stay_rare`` bounds them).

A long-horizon check steps four representative schedules 10^6 times in torch.
"""

from __future__ import annotations

import collections
import math
import os
import re
import warnings
from typing import Any

import numpy as np
import pytest
from _require import need

pytestmark = pytest.mark.torch

torch = need("torch")  # fails instead of skipping where BRIDGE_REQUIRE has torch
L: Any = torch.optim.lr_scheduler

import _torch_gen as gen  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bridge import UnsupportedError, parity  # noqa: E402
from bridge.frameworks._fields import read_field  # noqa: E402
from bridge.frameworks.torch import from_torch, to_torch  # noqa: E402

DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "torch.md")

#: the deliberate refusals: message pattern -> the phrase docs/torch.md documents it with
DELIBERATE = {
    r"torch cannot restart a (SequentialLR|ChainedScheduler) at a SequentialLR milestone":
        "cannot restart a composite",
    r"a (OneCycleLR|CyclicLR) that cycles momentum inside a composite scheduler": "cycles momentum inside",
    r"CosineAnnealingLR first inside a composite nested in a SequentialLR gets a plain step\(\).*affine":
        "plain step() that is affine",
    r"CosineAnnealingLRs of this composition were built with different base lrs": "built with different bases",
    r"\(total_iters=0\) restarted at a SequentialLR milestone divides by zero": "total_iters=0 restarted",
}

STATS: collections.Counter = collections.Counter()


def _driven(plan):
    return [f for f in plan.fields if any(f in g.fields and g.fields[f].schedule is not None for g in plan.groups)]


def _record(s, opt, n, fields):
    """The real loop (read, optimizer.step(), scheduler.step()); stops where torch raises."""
    groups = opt.param_groups
    out = {f: np.empty((n, len(groups))) for f in fields}
    for t in range(n):
        if t:
            opt.step()
            try:
                s.step()
            except (ValueError, ZeroDivisionError, NotImplementedError):
                return {f: v[:t] for f, v in out.items()}
        for f in fields:
            out[f][t] = [float(read_field(g, f)) for g in groups]
    return out


def _check(plan, rec, what):
    """The plan follows torch's recorded fields under the float64 contract (bridge.parity)."""
    for f, theirs in rec.items():
        r = parity.compare(plan.values(theirs.shape[0], f), theirs, plan.bases(f))
        assert r.ok, r.summary(f"{what}: {f} vs torch")


def _deliberate(msg):
    return next((doc for pat, doc in DELIBERATE.items() if re.search(pat, msg)), None)


def test_deliberate_refusals_are_documented():
    text = open(DOCS, encoding="utf-8").read()
    for doc in DELIBERATE.values():
        assert doc in text, doc


@settings(max_examples=int(os.environ.get("BRIDGE_HYP_EXAMPLES", "150")), deadline=None, derandomize=True,
          database=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_compositions_follow_torch(data):
    d = gen.HypDraw(data)
    G = d.integers(1, 3)
    N = d.choice([300, 800, 2000])
    kind = d.choice(["sgd", "sgd_momentum", "adam"])
    lrs = [d.choice([0.1, 0.05, 0.3, 1.0]) for _ in range(G)]
    moms = [d.choice([0.9, 0.8, 0.95]) for _ in range(G)]
    tree = gen.draw_tree(d, G, N, kind != "sgd")
    order = list(range(len(gen.leaves(tree))))
    if d.boolean():  # build the leaves in another order than the tree lists them
        order = d.data.draw(st.permutations(order))
    what = f"{gen.describe(tree)} built in order {order}, {kind}, lrs {lrs}"
    event(f"top: {tree[0]}, {len(gen.leaves(tree))} leaves, N={N}")
    opt = gen.make_optimizer(kind, lrs, moms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = gen.build(tree, opt, order)
        try:
            plan = from_torch(s)
        except UnsupportedError as e:
            doc = _deliberate(str(e))
            assert doc is not None, f"undocumented refusal of {what}: {e}"
            STATS["refused: " + doc] += 1
            event("refused: " + doc)
            return
        fields = _driven(plan)
        rec = _record(s, opt, N, fields)
        _check(plan, rec, what)
        STATS["followed"] += 1
        event("followed")
        n = rec["lr"].shape[0]
        # lowered back onto a fresh optimizer of the same kind (its own values must not matter)
        opt2 = gen.make_optimizer(kind, [7.0] * G, [0.5] * G)
        native = d.boolean()
        s2 = to_torch(plan, opt2, prefer_native=native)
        event(f"lowered to {'a native scheduler' if type(s2).__name__ != 'PlanScheduler' else 'PlanScheduler'}")
        ours = _record(s2, opt2, n, fields)
    for f in fields:
        assert ours[f].shape == rec[f].shape, (what, f, ours[f].shape, rec[f].shape)
        r = parity.compare(ours[f], rec[f], plan.bases(f))
        assert r.ok, r.summary(f"to_torch ({type(s2).__name__}) of {what}: {f}")


def test_refusals_stay_rare():
    if not sum(STATS.values()):  # selected alone: gather the statistics first (not a skip)
        test_random_compositions_follow_torch()
    total = sum(STATS.values())
    refused = total - STATS["followed"]
    print(f"\nrandom torch compositions: {STATS['followed']} followed torch, {refused} refused: "
          + ", ".join(f"{k} x{v}" for k, v in sorted(STATS.items()) if k != "followed"))
    assert refused <= 0.25 * total, dict(STATS)


# ---------------------------------------------------------------------------
# long horizon: 10^6 real torch steps (about 2-8 us each here), two groups
# ---------------------------------------------------------------------------

LONG = {
    # README's warm-up + cosine, continued far past T_max (periodic)
    "readme_warmup_cosine": lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.001, total_iters=500),
                                                         L.CosineAnnealingLR(o, T_max=9500)], milestones=[500]),
    "warm_restarts_mult2": lambda o: L.CosineAnnealingWarmRestarts(o, T_0=1000, T_mult=2, eta_min=1e-5),
    "chained_step_cosine_eta": lambda o: L.ChainedScheduler([L.StepLR(o, 30000, 0.7),
                                                             L.CosineAnnealingLR(o, 7000, eta_min=1e-4)]),
    "cosine_eta_min": lambda o: L.CosineAnnealingLR(o, 3000, eta_min=1e-3),
}
LONG_N = 1_000_000


@pytest.mark.parametrize("name", sorted(LONG))
def test_long_horizon_follows_torch(name):
    opt = gen.make_optimizer("sgd", [0.1, 0.02], [0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = LONG[name](opt)
    plan = from_torch(s, fields=["lr"])
    g0, g1 = opt.param_groups
    theirs = np.empty((LONG_N, 2))
    step = s.step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(LONG_N):  # the scheduler alone: optimizer.step() changes nothing it reads
            theirs[t, 0] = g0["lr"]
            theirs[t, 1] = g1["lr"]
            step()
    if name == "readme_warmup_cosine":  # it is periodic: back at the top every 2*9500 steps
        assert math.isclose(theirs[500 + 2 * 9500 * 50, 0], 0.1, rel_tol=1e-9)
    r = parity.compare(plan.values(LONG_N), theirs, plan.bases())
    assert r.ok, r.summary(name)
