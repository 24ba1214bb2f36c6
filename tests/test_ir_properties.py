"""Property tests: random valid specs evaluate to finite values, survive serialisation, and stream
exactly like the in-memory evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bridge
from bridge.ir import (
    Chain,
    Constant,
    CosineAnnealing,
    CosineDecay,
    CosineRestart,
    Cyclic,
    Exponential,
    ExponentialDecay,
    Field,
    Group,
    Hold,
    InverseSqrt,
    InverseTimeDecay,
    Linear,
    MultiStep,
    NaturalExpDecay,
    Noam,
    OneCycle,
    OneCycleMomentum,
    PiecewiseConstant,
    Plan,
    Polynomial,
    Sequential,
    Shift,
    Step,
    Table,
    WarmRestarts,
    WarmupStableDecay,
    Window,
    Windows,
)

pos_int = st.integers(1, 60)
frac = st.floats(0.01, 1.0)
gamma = st.floats(0.5, 1.0)

leaf = st.one_of(
    st.builds(Constant, frac, st.integers(0, 40)),
    st.builds(Linear, frac, frac, pos_int),
    st.builds(Step, pos_int, gamma),
    st.builds(MultiStep, st.lists(st.integers(0, 80), max_size=4).map(sorted).map(tuple), gamma),
    st.builds(Exponential, st.floats(0.95, 1.0)),
    st.builds(Polynomial, pos_int, st.floats(0.5, 3.0), st.floats(0.0, 1e-3), st.booleans()),
    st.builds(CosineAnnealing, pos_int, st.floats(0.0, 1e-3)),
    st.builds(CosineDecay, pos_int, st.floats(0.0, 0.5)),
    st.builds(WarmRestarts, pos_int, st.integers(1, 3), st.floats(0, 1e-3), st.floats(0.5, 1.0)),
    st.builds(CosineRestart, st.just((10, 20)), st.just((1.0, 0.5))),
    st.builds(Cyclic, st.floats(0.5, 2.0), st.none(), pos_int, st.none(),
              st.sampled_from(["triangular", "triangular2", "exp_range"]), st.floats(0.99, 1.0)),
    st.builds(ExponentialDecay, gamma, pos_int, st.booleans()),
    st.builds(NaturalExpDecay, st.floats(0, 0.5), pos_int, st.booleans()),
    st.builds(InverseTimeDecay, st.floats(0, 0.5), pos_int, st.booleans()),
    st.builds(PiecewiseConstant, st.just((10, 30)), st.tuples(frac, frac, frac)),
    st.builds(InverseSqrt, st.integers(0, 30)),
    st.builds(Noam, st.integers(16, 512), pos_int),
    st.builds(WarmupStableDecay, st.integers(0, 20), st.integers(0, 20), st.integers(0, 20), st.floats(0, 0.5)),
    st.builds(OneCycle, st.just(200), st.none(), st.floats(0.1, 0.9)),
    st.builds(OneCycleMomentum, st.just(200), st.floats(0.1, 0.9)),
    st.builds(Table, st.lists(frac, min_size=1, max_size=30).map(tuple)),
)


def composite(children):
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).flatmap(
            lambda ks: st.lists(st.integers(0, 60), min_size=len(ks) - 1, max_size=len(ks) - 1).map(
                lambda ms: Sequential(tuple(ks), tuple(sorted(ms))))),
        st.builds(lambda ks: Chain(tuple(ks)), st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda k, e: Hold(k, e), children, st.integers(1, 5)),
        st.builds(lambda k, o: Shift(k, o), children, st.integers(0, 20)),
        st.builds(lambda k1, k2, b: Windows((Window(k1, 0, b + 1), Window(k2, b, None))), children, children,
                  st.integers(0, 40)),
    )


node = st.recursive(leaf, composite, max_leaves=5)
base = st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=3)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(node, base)
def test_random_specs_evaluate_finite(nd, bases):
    n = 150
    p = Plan.single(nd, bases)
    try:
        v = p.values(n)
    except bridge.SpecError as e:  # e.g. a one-cycle asked past its horizon: must say so
        assert "total_steps" in str(e)
        return
    assert v.shape == (n, len(bases))
    assert np.isfinite(v).all()


@SETTINGS
@given(node, base)
def test_dict_round_trip_evaluates_identically(nd, bases):
    p = Plan((Group({"lr": Field(bases[0], nd), "momentum": Field(0.9)}),), epoch_length=7)
    d = json.loads(json.dumps(p.to_dict()))
    q = bridge.from_dict(d)
    assert q.to_dict() == p.to_dict()
    try:
        a = p.values(120)
    except bridge.SpecError as e:  # a one-cycle asked past its horizon (as above); nothing else
        assert "total_steps" in str(e)
        return
    np.testing.assert_array_equal(q.values(120), a)


@SETTINGS
@given(node, base, st.integers(1, 64))
def test_streamed_equals_in_memory(nd, bases, chunk):
    p = Plan.single(nd, bases)
    try:
        full = p.values(130)
    except bridge.SpecError as e:  # a one-cycle asked past its horizon (as above); nothing else
        assert "total_steps" in str(e)
        return
    streamed = np.concatenate(list(p.iter_values(130, chunk=chunk)))
    np.testing.assert_allclose(streamed, full, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".toml"])
def test_file_round_trip(tmp_path, suffix):
    sched = Sequential((Linear(0.001, 1.0, 500), CosineAnnealing(9500, eta_min=1e-6)), (500,))
    p = Plan((Group({"lr": Field(0.1, sched), "weight_decay": Field(5e-4)}, "decay"),
              Group({"lr": Field(0.01, sched), "weight_decay": Field(0.0)}, "no_decay")),
             epoch_length=100, total_steps=10_000, source="test")
    path = tmp_path / f"plan{suffix}"
    p.dump(path)
    q = bridge.load(path)
    assert q.to_dict() == p.to_dict()
    np.testing.assert_array_equal(q.values(10_000), p.values(10_000))


def test_npy_streaming_writer(tmp_path):
    p = Plan.single(Sequential((Linear(0.1, 1.0, 1000), CosineAnnealing(99_000)), (1000,)), [0.1, 0.01])
    path = tmp_path / "lr.npy"
    p.save_npy(path, 100_000, chunk=30_000)
    arr = np.load(path)
    np.testing.assert_array_equal(arr, p.values(100_000))


def test_recursive_streaming_carries_state():
    nd = Windows((Window(Linear(0.1, 1.0, 99), 0, 100), Window(CosineAnnealing(900, eta_min=1e-3), 100, 1000)))
    p = Plan.single(nd, [0.1])
    np.testing.assert_allclose(np.concatenate(list(p.iter_values(1000, chunk=37))), p.values(1000), rtol=1e-13)


def test_get_config_from_config_round_trip():
    nd = Chain((Linear(0.1, 1.0, 5), Exponential(0.9)))
    assert type(nd).from_config(nd.get_config()) == nd
