"""bridge.frameworks._source: what the lowerings write out evaluates back to the same values."""

from __future__ import annotations

import math
import types

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.frameworks._source import WIDTH, Recorder, Src, literal

scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=40) | st.lists(c, max_size=4).map(tuple),
                      max_leaves=80)


@settings(max_examples=300, deadline=None)
@given(values)
def test_literal_evaluates_to_the_value(v):
    text = literal(v, "    ")
    assert eval(text) == v  # our own output
    assert type(eval(text)) is type(v)


def test_nan_and_arrays():
    assert math.isnan(eval(literal(float("nan")))) and eval(literal(-float("inf"))) == -float("inf")
    for arr in (np.linspace(0.1, 1e-9, 77), np.arange(5, dtype=np.int32), np.float32([0.1, 1 / 3])):
        back = eval(literal(arr), {"np": np})
        assert back.dtype == arr.dtype and np.array_equal(back, arr)


def test_recorded_calls_rebuild_the_same_objects():
    made = []

    def cls(name):
        return lambda *a, **k: made.append((name, a, k)) or (name, a, tuple(sorted(k.items())))

    ns = {"lr_scheduler": types.SimpleNamespace(A=cls("A"), B=cls("B")), "opt": "OPT"}
    rec = Recorder("lr_scheduler.")
    call = rec.A(Src("opt"), [rec.B(Src("opt"), gamma=0.1 + 0.2, steps=list(range(60))), rec.B(Src("opt"))],
                 (500,), flag=True)
    text = repr(call)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    direct = ns["lr_scheduler"].A("OPT", [ns["lr_scheduler"].B("OPT", gamma=0.1 + 0.2, steps=list(range(60))),
                                          ns["lr_scheduler"].B("OPT")], (500,), flag=True)
    assert eval(text, ns) == direct
    assert Recorder()["Cell"](1).name == "Cell"
