"""Fuzz: whatever dict, JSON text or expression comes in, only a BridgeError comes out.

Hypothesis builds plan dicts from valid ones with fields replaced by hostile values,
arbitrary JSON documents, and scheduler expressions with arbitrary literal arguments;
reading them (and evaluating a few steps of what reads) must either work or raise a
:class:`bridge.BridgeError` - never another exception.
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bridge
from bridge.spec import TORCH_SIGNATURES, parse_expression

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

hostile_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, 1e-320, 1e308, "nan", "inf", "", "step"]),
)
json_values = st.recursive(hostile_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)

#: a valid node of every shape; the tests replace its fields with hostile values
NODES: Dict[str, Dict[str, Any]] = {
    "step": {"kind": "step", "step_size": 3, "gamma": 0.5},
    "multistep": {"kind": "multistep", "milestones": [2, 5], "gamma": 0.5},
    "linear": {"kind": "linear", "start_factor": 0.1, "end_factor": 1.0, "total_iters": 5},
    "exponential": {"kind": "exponential", "gamma": 0.9},
    "polynomial": {"kind": "polynomial", "total_iters": 6, "power": 2.0},
    "cosine_annealing": {"kind": "cosine_annealing", "T_max": 7},
    "warm_restarts": {"kind": "warm_restarts", "T_0": 3, "T_mult": 2},
    "one_cycle": {"kind": "one_cycle", "total_steps": 20},
    "cyclic": {"kind": "cyclic", "high": 1.0, "step_size_up": 3},
    "piecewise_constant": {"kind": "piecewise_constant", "boundaries": [3], "values": [1.0, 0.5]},
    "table": {"kind": "table", "values": [0.1, 0.2]},
    "sequential": {"kind": "sequential", "schedules": [{"kind": "step", "step_size": 2},
                                                     {"kind": "cosine_annealing", "T_max": 4}],
                   "milestones": [3]},
    "chain": {"kind": "chain", "schedules": [{"kind": "step", "step_size": 2},
                                             {"kind": "exponential", "gamma": 0.9}]},
    "windows": {"kind": "windows", "windows": [{"schedule": {"kind": "linear", "start_factor": 0.1,
                                                             "end_factor": 1.0, "total_iters": 4},
                                                "begin": 0, "end": 5}]},
    "hold": {"kind": "hold", "schedule": {"kind": "step", "step_size": 2}, "every": 3},
    "shift": {"kind": "shift", "schedule": {"kind": "step", "step_size": 2}, "offset": 3},
}


def _plan(node: Any, base: Any = 0.1, **extra: Any) -> Dict[str, Any]:
    d = {"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": base}}],
         "schedules": {"lr": node}}
    d.update(extra)
    return d


def _read_and_evaluate(d: Any) -> None:
    try:
        plan = bridge.from_dict(d)
        plan.values(16)
    except bridge.BridgeError:
        pass


@SETTINGS
@given(kind=st.sampled_from(sorted(NODES)), data=st.data())
def test_mutated_node_fields(kind: str, data: st.DataObject) -> None:
    node = dict(NODES[kind])
    keys = sorted(k for k in node if k != "kind") or ["kind"]
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        node[key] = data.draw(json_values)
    _read_and_evaluate(_plan(node))


@SETTINGS
@given(doc=json_values)
def test_arbitrary_documents(doc: Any) -> None:
    _read_and_evaluate(doc)
    _read_and_evaluate(_plan(doc))
    _read_and_evaluate(_plan(NODES["step"], base=doc))


@SETTINGS
@given(text=st.text(max_size=200))
def test_arbitrary_json_text(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "plan.json"
    p.write_text(text, encoding="utf-8")
    try:
        bridge.load(str(p)).values(4)
    except bridge.BridgeError:
        pass


def _literal(v: Any) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    return repr(v)


@SETTINGS
@given(name=st.sampled_from(sorted(TORCH_SIGNATURES)), data=st.data())
def test_expression_arguments(name: str, data: st.DataObject) -> None:
    params = [p for p, _ in TORCH_SIGNATURES[name] if p not in ("schedulers", "scale_fn")]
    if not params:
        return
    chosen = data.draw(st.lists(st.sampled_from(params), min_size=1, max_size=3, unique=True))
    args = ", ".join(f"{p}={_literal(data.draw(hostile_scalars | st.lists(hostile_scalars, max_size=3)))}"
                     for p in chosen)
    text = f"{name}({args})" if name not in ("SequentialLR", "ChainedScheduler") else \
        f"{name}([StepLR(step_size=2), StepLR(step_size=3)], {args})"
    try:
        parse_expression(text).values(8)
    except bridge.BridgeError:
        pass


def test_json_round_trip_of_hostile_text() -> None:
    # the encoder never writes what the reader refuses
    plan = bridge.from_dict(_plan(NODES["step"]))
    assert bridge.from_dict(json.loads(plan.to_json())) == plan
