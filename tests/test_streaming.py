"""Streaming (Plan.iter_values / save_npy / values(start=) / at) continues recursive schedules from
chunk to chunk: O(N) work in total, O(chunk) memory, and the same numbers as one evaluation from
step 0 (bit for bit), for every kind and composition. The anchors against real torch are in
test_torch_import.py (cosine past T_max); test_streamed_cosine_matches_torch_past_t_max streams them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import bridge
from bridge.ir import (
    Chain,
    Constant,
    CosineAnnealing,
    CosineRestart,
    Cyclic,
    Exponential,
    HFLambda,
    Hold,
    Lambda,
    Linear,
    Multiplicative,
    MultiStep,
    OneCycle,
    Plan,
    Plateau,
    Polynomial,
    Sequential,
    Shift,
    Step,
    Table,
    Timm,
    WarmRestarts,
    Window,
    Windows,
    semantics,
)

pos = st.integers(1, 40)
frac = st.floats(0.05, 1.0)

# chainable leaves first: inside recursive chains and windows they are what makes the scan
chainable = st.one_of(
    st.builds(Constant, frac, st.integers(1, 30)),
    st.builds(Linear, frac, frac, pos),
    st.builds(Step, pos, st.floats(0.5, 1.0)),
    st.builds(MultiStep, st.lists(st.integers(0, 60), max_size=3).map(sorted).map(tuple), st.floats(0.5, 1.0)),
    st.builds(Exponential, st.floats(0.97, 1.0)),
    st.builds(Polynomial, pos, st.floats(0.5, 2.0), st.sampled_from([0.0, 1e-3])),
    st.builds(CosineAnnealing, st.integers(1, 25), st.sampled_from([0.0, 1e-4, 1e-3])),
    st.builds(CosineRestart, st.just((7, 11)), st.just((1.0, 0.5))),
    st.just(Multiplicative(lambda t: 0.999 if t % 3 else 1.001, label="wobble")),
)
closed = st.one_of(
    st.builds(WarmRestarts, pos, st.integers(1, 2), st.floats(0, 1e-3)),
    st.builds(Cyclic, st.floats(0.5, 2.0), st.none(), pos),
    st.builds(Table, st.lists(frac, min_size=1, max_size=20).map(tuple)),
    st.builds(Timm, st.just("cosine"), st.floats(5.0, 30.0)),
    st.just(Lambda(lambda t: 1.0 / (1.0 + 0.01 * t), label="inv")),
    st.just(OneCycle(total_steps=5000)),
    st.builds(HFLambda, st.sampled_from(["linear", "cosine", "cosine_with_restarts", "cosine_warmup_with_min_lr"]),
              st.integers(0, 30), st.integers(0, 300), st.floats(0.3, 3.0)),
)
leaf = st.one_of(chainable, closed)


def composite(children: st.SearchStrategy) -> st.SearchStrategy:
    def seq(ks: list, ms: list, rescale: bool) -> Sequential:
        return Sequential(tuple(ks), tuple(sorted(ms)), None if rescale else (False,) * len(ms))

    return st.one_of(
        st.lists(children, min_size=2, max_size=3).flatmap(
            lambda ks: st.builds(seq, st.just(ks), st.lists(st.integers(0, 90), min_size=len(ks) - 1,
                                                           max_size=len(ks) - 1), st.booleans())),
        st.builds(lambda ks: Chain(tuple(ks)), st.lists(st.one_of(chainable, children), min_size=1, max_size=3)),
        st.builds(lambda k, ks: Chain((k,) + tuple(ks), "nested"), children, st.lists(closed, max_size=2)),
        st.builds(Hold, children, st.integers(1, 5)),
        st.builds(Shift, children, st.integers(0, 30)),
        st.builds(lambda k1, k2, b, e: Windows((Window(k1, 0, b + 1), Window(k2, b, None, e))), children,
                  children, st.integers(0, 50), st.integers(1, 4)),
    )


# recursive chains of chainable leaves at any depth, under every composite
node = st.recursive(st.one_of(st.builds(lambda k: Chain((k,)), chainable), chainable, closed), composite,
                    max_leaves=6)
bases = st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=3)


def _one_shot(p: Plan, n: int) -> np.ndarray:
    """All n steps from step 0 in one evaluation, no carried state (the reference)."""
    sched = p.schedule()
    assert sched is not None
    return semantics.evaluate(sched, np.arange(n), p.bases())


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(node, bases, st.integers(1, 400), st.data())
def test_streamed_is_bit_identical_to_one_shot(nd, bs, n, data):
    p = Plan.single(nd, bs)
    try:
        full = _one_shot(p, n)
    except (bridge.SpecError, bridge.UnsupportedError) as e:
        event(f"refused: {type(e).__name__}")  # e.g. a nested chain with a recursive child
        return
    event("recursive" if any(semantics.needs_scan(x) for x in nd.walk()) else "closed forms only")
    # chunk sizes: 1, 7, random, and ones that cut at a milestone / window bound of the tree
    cuts = [m for x in nd.walk() for m in getattr(x, "milestones", ()) if isinstance(m, int) and 0 < m < n]
    cuts += [w.begin for x in nd.walk() if isinstance(x, Windows) for w in x.windows if 0 < w.begin < n]
    chunk = data.draw(st.sampled_from([1, 7, data.draw(st.integers(1, n))] + cuts), label="chunk")
    streamed = np.concatenate(list(p.iter_values(n, chunk=chunk)))
    np.testing.assert_array_equal(streamed, full)
    # the plan's own entry points, through the state it keeps between calls
    q = Plan.single(nd, bs)
    k = data.draw(st.integers(0, n - 1), label="start")
    np.testing.assert_array_equal(q.values(n - k, start=k), full[k:])
    np.testing.assert_array_equal(q.values(n), full)
    steps = np.asarray(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=20), label="steps"))
    np.testing.assert_array_equal(q.at(steps), full[steps])
    np.testing.assert_array_equal(q.at(np.sort(steps)), full[np.sort(steps)])


def test_values_in_increasing_pieces_equal_one_shot():
    nd = Sequential((Linear(0.001, 1.0, 50), Chain((CosineAnnealing(95, eta_min=1e-6),))), (50,))
    p = Plan.single(nd, [0.1, 0.02])
    full = _one_shot(p, 5000)
    parts = [p.values(m, start=s) for s, m in ((0, 1), (1, 7), (8, 1000), (1008, 3992))]
    np.testing.assert_array_equal(np.concatenate(parts), full)
    np.testing.assert_array_equal(p.values(5, start=2000), full[2000:2005])  # backwards: starts over


def test_plateau_streams_with_its_metrics():
    metrics = tuple(float(x) for x in np.abs(np.sin(np.arange(300) / 7.0)))
    nd = Plateau(patience=2, factor=0.5, cooldown=1, metrics=metrics)
    p = Plan.single(nd, [0.1, 0.3])
    full = _one_shot(p, 301)
    for chunk in (1, 7, 64):
        np.testing.assert_array_equal(np.concatenate(list(p.iter_values(301, chunk=chunk))), full)


README = Sequential((Linear(0.001, 1.0, 500), Chain((CosineAnnealing(9500),))), (500,))


def _scan_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    calls: list = []
    real = semantics.scan_range

    def spy(nd, lo, hi, *a, **k):
        calls.append((lo, hi))
        return real(nd, lo, hi, *a, **k)

    monkeypatch.setattr(semantics, "scan_range", spy)
    return calls


@pytest.mark.parametrize("nd", [
    README,  # README's expression: the recursive cosine is a Sequential child
    Hold(Shift(Chain((CosineAnnealing(300, eta_min=1e-4), Exponential(0.9999))), 40), 3),
    Windows((Window(Linear(0.1, 1.0, 99), 0, 100), Window(Chain((CosineAnnealing(900, eta_min=1e-3),)), 100))),
    Chain((Chain((CosineAnnealing(700, eta_min=1e-5),)), Linear(0.5, 1.0, 10)), "nested"),
], ids=["readme", "hold_shift_chain", "windows", "nested_chain"])
def test_streaming_does_chunk_sized_work(monkeypatch, nd):
    """Each chunk scans only its own steps: no scan from step 0 after the first chunk, and the
    steps scanned add up to the steps streamed (not chunks x steps)."""
    p = Plan.single(nd, [0.1])
    n, chunk = 20_000, 1024
    full = _one_shot(p, n)
    calls = _scan_calls(monkeypatch)
    streamed = np.concatenate(list(p.iter_values(n, chunk=chunk)))
    np.testing.assert_array_equal(streamed, full)
    assert calls, "the recursive node was not scanned at all"
    assert [c for c in calls[1:] if c[0] == 0] == []
    assert sum(hi - lo for lo, hi in calls) <= n + chunk
    assert max(hi - lo for lo, hi in calls) <= chunk + 1


def test_values_far_from_zero_scans_in_blocks(monkeypatch):
    """values(n, start=k) of a recursive schedule: memory O(n), not O(k)."""
    p = Plan.single(README, [0.1])
    calls = _scan_calls(monkeypatch)
    v = p.values(3, start=2_000_000)
    assert v.shape == (3, 1) and np.isfinite(v).all()
    assert max(hi - lo for lo, hi in calls) <= 1 << 18
    calls.clear()
    p.values(3, start=2_000_003)  # continues: only the new steps are scanned
    assert sum(hi - lo for lo, hi in calls) == 3


def test_save_npy_streams_a_recursive_composite(tmp_path):
    p = Plan.single(README, [0.1, 0.01, 0.05])
    path = tmp_path / "lr.npy"
    p.save_npy(path, 100_000, chunk=9_999)
    full = _one_shot(p, 100_000)
    np.testing.assert_array_equal(np.load(path), full)
    p.save_npy(path, 100_000, chunk=9_999, groups=[2, 0])  # some columns only (sched-bridge values --group)
    np.testing.assert_array_equal(np.load(path), full[:, [2, 0]])
    with pytest.raises(bridge.SpecError, match="groups"):
        p.save_npy(path, 10, groups=[3])


@pytest.mark.torch
def test_streamed_cosine_matches_torch_past_t_max(torch_mod):
    """README's expression and a lone CosineAnnealingLR(eta_min=1e-6), streamed in chunks that do not
    line up with T_max, against real torch over two and a half periods past T_max (float64 contract)."""
    from torch.optim import lr_scheduler as L

    n, T = 45_000, 9500
    makers = {
        "readme": lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.001, total_iters=500), L.CosineAnnealingLR(o, T)],
                                           milestones=[500]),
        "cosine_eta_min": lambda o: L.CosineAnnealingLR(o, T, eta_min=1e-6),
    }
    for name, make in makers.items():
        params = [torch_mod.nn.Parameter(torch_mod.zeros(1)) for _ in range(2)]
        opt = torch_mod.optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.02}], lr=0.1)
        sched = make(opt)
        plan = bridge.from_torch(sched)
        theirs = np.empty((n, 2))
        for t in range(n):
            theirs[t] = [g["lr"] for g in opt.param_groups]
            opt.step()
            sched.step()
        ours = np.concatenate(list(plan.iter_values(n, chunk=4099)))
        tol = 1e-12 * np.maximum(np.abs(theirs), [0.1, 0.02])
        bad = np.flatnonzero((np.abs(ours - theirs) > tol).any(axis=1))
        assert bad.size == 0, f"{name}: first step off: {bad[:3]}, {ours[bad[:3]]} vs {theirs[bad[:3]]}"
