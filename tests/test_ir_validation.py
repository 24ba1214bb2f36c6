"""Every bad spec raises SpecError naming the field path, the value and what was expected."""

from __future__ import annotations

import math

import pytest

import bridge
from bridge.errors import BridgeError, SpecError


def plan(sched, base=None, **top):
    d = {"groups": [{"base": base or {"lr": 0.1}}], "schedules": {"lr": sched}}
    d.update(top)
    return d


def seq(*kids, milestones):
    return {"kind": "sequential", "schedules": list(kids), "milestones": milestones}


LIN = {"kind": "linear", "start_factor": 0.1, "total_iters": 5}
COS = {"kind": "cosine_annealing", "T_max": 10}

CASES = [
    # (spec, path, message fragment)
    (plan({"kind": "cosine_anealing", "T_max": 3}), "schedules.lr.kind", "did you mean 'cosine_annealing'"),
    (plan({"T_max": 3}), "schedules.lr", "no 'kind'"),
    (plan({"kind": 3}), "schedules.lr.kind", "unknown schedule kind"),
    (plan({"kind": "lambda"}), "schedules.lr.kind", "callable cannot be read"),
    (plan({"kind": "step", "step_size": 3, "gama": 0.5}), "schedules.lr.gama", "did you mean 'gamma'"),
    (plan({"kind": "step", "step_size": 0}), "schedules.lr.step_size", "must be >= 1"),
    (plan({"kind": "step", "step_size": -2}), "schedules.lr.step_size", "must be >= 1"),
    (plan({"kind": "step", "step_size": 2.5}), "schedules.lr.step_size", "must be an integer"),
    (plan({"kind": "step", "step_size": "3"}), "schedules.lr.step_size", "must be an integer"),
    (plan({"kind": "step", "step_size": True}), "schedules.lr.step_size", "must be an integer"),
    (plan({"kind": "step", "step_size": 3, "gamma": float("nan")}), "schedules.lr.gamma", "must be finite"),
    (plan({"kind": "step", "step_size": 3, "gamma": -0.1}), "schedules.lr.gamma", "must be >= 0"),
    (plan({"kind": "step", "step_size": 3, "gamma": "0.1"}), "schedules.lr.gamma", "must be a number"),
    (plan({"kind": "multistep", "milestones": [8, 3]}), "schedules.lr.milestones", "non-decreasing"),
    (plan({"kind": "multistep", "milestones": [3, -1]}), "schedules.lr.milestones[1]", "must be >= 0"),
    (plan({"kind": "multistep", "milestones": 5}), "schedules.lr.milestones", "list of integers"),
    (plan({"kind": "multistep", "milestones": [1.5]}), "schedules.lr.milestones[0]", "integer"),
    (plan({"kind": "exponential", "gamma": 0}), "schedules.lr.gamma", "must be > 0"),
    (plan({"kind": "exponential", "gamma": float("inf")}), "schedules.lr.gamma", "finite"),
    (plan({"kind": "constant", "factor": -1}), "schedules.lr.factor", ">= 0"),
    (plan({"kind": "constant", "total_iters": -1}), "schedules.lr.total_iters", ">= 0"),
    (plan({"kind": "linear", "total_iters": 0}), "schedules.lr.total_iters", ">= 1"),
    (plan({"kind": "linear", "start_factor": -0.1}), "schedules.lr.start_factor", ">= 0"),
    (plan({"kind": "linear", "end_factor": float("nan")}), "schedules.lr.end_factor", "finite"),
    (plan({"kind": "polynomial", "total_iters": 0}), "schedules.lr.total_iters", ">= 1"),
    (plan({"kind": "polynomial", "total_iters": 4, "power": -1}), "schedules.lr.power", ">= 0"),
    (plan({"kind": "polynomial", "total_iters": 4, "cycle": "yes"}), "schedules.lr.cycle", "true or false"),
    (plan({"kind": "cosine_annealing", "T_max": 0}), "schedules.lr.T_max", ">= 1"),
    (plan({"kind": "cosine_annealing"}), None, None),  # T_max has a default: valid
    (plan({"kind": "cosine_annealing", "T_max": 5, "eta_min": 0.1, "eta_min_ratio": 0.1}),
     "schedules.lr.eta_min", "either eta_min or eta_min_ratio"),
    (plan({"kind": "cosine_annealing", "T_max": 5, "eta_min_ratio": -0.5}), "schedules.lr.eta_min_ratio", ">= 0"),
    (plan({"kind": "cosine_decay", "decay_steps": 0}), "schedules.lr.decay_steps", ">= 1"),
    (plan({"kind": "cosine_decay", "decay_steps": 5, "alpha": 0.1, "eta_min": 0.0}), "schedules.lr.alpha", "not both"),
    (plan({"kind": "warm_restarts", "T_0": 0}), "schedules.lr.T_0", ">= 1"),
    (plan({"kind": "warm_restarts", "T_0": 5, "T_mult": 0}), "schedules.lr.T_mult", ">= 1"),
    (plan({"kind": "warm_restarts", "T_0": 5, "T_mult": 1.5}), "schedules.lr.T_mult", "integer"),
    (plan({"kind": "warm_restarts", "T_0": 5, "decay_rate": 0}), "schedules.lr.decay_rate", "> 0"),
    (plan({"kind": "warm_restarts", "T_0": 5, "restart_limit": 0}), "schedules.lr.restart_limit", ">= 1"),
    (plan({"kind": "cosine_restart", "periods": [], "restart_weights": []}), "schedules.lr.periods", "must not be empty"),
    (plan({"kind": "cosine_restart", "periods": [5, 5], "restart_weights": [1]}), "schedules.lr.restart_weights", "one weight per period"),
    (plan({"kind": "cosine_restart", "periods": [5, 0], "restart_weights": [1, 1]}), "schedules.lr.periods[1]", ">= 1"),
    (plan({"kind": "one_cycle", "total_steps": 0}), "schedules.lr.total_steps", ">= 1"),
    (plan({"kind": "one_cycle", "total_steps": 100, "pct_start": 1.5}), "schedules.lr.pct_start", "<= 1"),
    (plan({"kind": "one_cycle", "total_steps": 100, "anneal": "cosine"}), "schedules.lr.anneal", "one of 'cos', 'linear'"),
    (plan({"kind": "one_cycle", "total_steps": 100, "div_factor": 0}), "schedules.lr.div_factor", "> 0"),
    (plan({"kind": "one_cycle", "total_steps": 3, "pct_start": 0.1}), "schedules.lr.pct_start", "empty phase"),
    (plan({"kind": "one_cycle_momentum", "total_steps": 10, "three_phase": 1}), "schedules.lr.three_phase", "true or false"),
    (plan({"kind": "cyclic", "high": 1.0, "step_size_up": 0}), "schedules.lr.step_size_up", ">= 1"),
    (plan({"kind": "cyclic", "high": 1.0, "mode": "sawtooth"}), "schedules.lr.mode", "triangular"),
    (plan({"kind": "cyclic", "high": 1.0, "step_size_down": 0}), "schedules.lr.step_size_down", ">= 1"),
    (plan({"kind": "exponential_decay", "decay_rate": 0.5, "decay_steps": 0}), "schedules.lr.decay_steps", ">= 1"),
    (plan({"kind": "natural_exp_decay", "decay_rate": -1}), "schedules.lr.decay_rate", ">= 0"),
    (plan({"kind": "inverse_time_decay", "staircase": None}), "schedules.lr.staircase", "true or false"),
    (plan({"kind": "piecewise_constant", "boundaries": [5, 5], "values": [1, 2, 3]}), "schedules.lr.boundaries", "increasing"),
    (plan({"kind": "piecewise_constant", "boundaries": [5], "values": [1]}), "schedules.lr.values", "len(boundaries)+1"),
    (plan({"kind": "piecewise_constant", "boundaries": [5], "values": [1, float("inf")]}), "schedules.lr.values[1]", "finite"),
    (plan({"kind": "inverse_sqrt", "warmup_steps": -1}), "schedules.lr.warmup_steps", ">= 0"),
    (plan({"kind": "noam", "d_model": 0}), "schedules.lr.d_model", ">= 1"),
    (plan({"kind": "wsd", "min_lr_ratio": 2}), "schedules.lr.min_lr_ratio", "<= 1"),
    (plan({"kind": "wsd", "decay_type": "exp"}), "schedules.lr.decay_type", "one of"),
    (plan({"kind": "table", "values": []}), "schedules.lr.values", "non-empty"),
    (plan({"kind": "table", "values": [0.1, float("nan")]}), "schedules.lr.values[1]", "finite"),
    (plan({"kind": "table", "values": [0.1], "after": "wrap"}), "schedules.lr.after", "'hold', 'error'"),
    (plan({"kind": "plateau", "factor": 1.0}), "schedules.lr.factor", "must be < 1"),
    (plan({"kind": "plateau", "mode": "minimum"}), "schedules.lr.mode", "'min', 'max'"),
    (plan({"kind": "plateau", "metrics": [1, "x"]}), "schedules.lr.metrics[1]", "number"),
    (plan(seq(LIN, COS, milestones=[5, 9])), "schedules.lr.milestones", "one entry fewer than schedules"),
    (plan(seq(LIN, COS, milestones=[5, 3][:1] + [])), None, None),  # valid
    (plan({"kind": "sequential", "schedules": [LIN, COS], "milestones": [-5]}), "schedules.lr.milestones[0]", ">= 0"),
    (plan({"kind": "sequential", "schedules": [], "milestones": []}), "schedules.lr.schedules", "at least one"),
    (plan({"kind": "sequential", "schedules": [LIN, {"kind": "step", "step_size": 0}], "milestones": [5]}),
     "schedules.lr.schedules[1].step_size", ">= 1"),
    (plan({"kind": "sequential", "schedules": [LIN, COS], "milestones": [5], "rescale": [True, False]}),
     "schedules.lr.rescale", "one entry per milestone"),
    (plan({"kind": "sequential", "schedules": "abc", "milestones": []}), "schedules.lr.schedules", "list of schedule"),
    (plan({"kind": "chain", "schedules": [LIN], "mode": "sum"}), "schedules.lr.mode", "'recursive', 'nested'"),
    (plan({"kind": "chain", "schedules": [LIN, {"kind": "nope"}]}), "schedules.lr.schedules[1].kind", "unknown"),
    (plan({"kind": "windows", "windows": [{"schedule": LIN, "begin": 5, "end": 5}]}), "schedules.lr.windows[0].end",
     "greater than begin"),
    (plan({"kind": "windows", "windows": [{"schedule": LIN, "begin": -1}]}), "schedules.lr.windows[0].begin", ">= 0"),
    (plan({"kind": "windows", "windows": [{"schedule": LIN, "every": 0}]}), "schedules.lr.windows[0].every", ">= 1"),
    (plan({"kind": "windows", "windows": [{"begin": 0}]}), "schedules.lr.windows[0]", "no 'schedule'"),
    (plan({"kind": "windows", "windows": [{"schedule": {"kind": "linear", "total_iters": -3}}]}),
     "schedules.lr.windows[0].schedule.total_iters", ">= 1"),
    (plan({"kind": "hold", "schedule": LIN, "every": 0}), "schedules.lr.every", ">= 1"),
    (plan({"kind": "shift", "schedule": LIN, "offset": -2}), "schedules.lr.offset", ">= 0"),
    (plan({"kind": "hold", "schedule": 5}), "schedules.lr.schedule", "mapping with a 'kind'"),
    # plan level
    ({"groups": []}, "groups", "non-empty list"),
    ({"groups": [{"base": {}}]}, "groups[0].base", "must map field names"),
    ({"groups": [{"base": {"lr": "0.1"}}]}, "groups[0].base.lr", "must be a number"),
    ({"groups": [{"base": {"lr": float("nan")}}]}, "groups[0].base.lr", "finite"),
    ({"groups": [{"base": {"lr": 0.1}, "lr": 0.2}]}, "groups[0].lr", "unknown key"),
    ({"groups": [{"base": {"lr": 0.1}, "schedules": {"momentum": COS}}]}, "groups[0].schedules.momentum", "no base value"),
    ({"groups": [{"base": {"lr": 0.1}}], "schedules": {"momentum": COS}}, "schedules.momentum", "no group has a base"),
    ({"groups": [{"base": {"lr": 0.1}}], "schema": 7}, "schema", "reads schema 1"),
    ({"groups": [{"base": {"lr": 0.1}}], "format": "other"}, "format", "must be"),
    ({"groups": [{"base": {"lr": 0.1}}], "epoch_length": 0}, "epoch_length", ">= 1"),
    ({"groups": [{"base": {"lr": 0.1}}], "total_step": 10}, "total_step", "unknown top-level key"),
    ({"groups": [{"base": {"lr": 0.1}, "name": 3}]}, "groups[0].name", "string"),
    ({"groups": "all"}, "groups", "non-empty list"),
    ([1, 2], "plan", "mapping"),
    # k_decay_cosine (pytorch-accelerated) and timm
    (plan({"kind": "k_decay_cosine", "total_steps": 0}), "schedules.lr.total_steps", ">= 1"),
    (plan({"kind": "k_decay_cosine", "total_steps": 9, "warmup_steps": -1}), "schedules.lr.warmup_steps", ">= 0"),
    (plan({"kind": "k_decay_cosine", "total_steps": 9, "cooldown_steps": 1.5}), "schedules.lr.cooldown_steps",
     "integer"),
    (plan({"kind": "k_decay_cosine", "total_steps": 9, "k_decay": 0}), "schedules.lr.k_decay", "> 0"),
    (plan({"kind": "k_decay_cosine", "total_steps": 9, "lr_min": -1e-6}), "schedules.lr.lr_min", ">= 0"),
    (plan({"kind": "k_decay_cosine", "total_steps": 9, "min_lr_ratio": "0.1"}), "schedules.lr.min_lr_ratio",
     "number"),
    (plan({"kind": "k_decay_cosine", "total_steps": 9, "warmup_start_ratio": -0.1}),
     "schedules.lr.warmup_start_ratio", ">= 0"),
    (plan({"kind": "k_decay_cosine", "total_steps": 9, "warmup_start": float("nan")}), "schedules.lr.warmup_start",
     "finite"),
    (plan({"kind": "timm", "shape": "cosin"}), "schedules.lr.shape", "must be one of"),
    (plan({"kind": "timm", "t_initial": 0}), "schedules.lr.t_initial", "> 0"),
    (plan({"kind": "timm", "cycle_mul": 0}), "schedules.lr.cycle_mul", "> 0"),
    (plan({"kind": "timm", "cycle_limit": -1}), "schedules.lr.cycle_limit", ">= 0"),
    (plan({"kind": "timm", "shape": "tanh", "lb": 2.0, "ub": 1.0}), "schedules.lr.ub", "greater than lb"),
    (plan({"kind": "timm", "shape": "multistep", "milestones": [6, 3]}), "schedules.lr.milestones", "sorted"),
    (plan({"kind": "timm", "shape": "multistep", "milestones": ["a"]}), "schedules.lr.milestones[0]", "number"),
    (plan({"kind": "timm", "shape": "step", "decay_t": 0}), "schedules.lr.decay_t", "> 0"),
    (plan({"kind": "timm", "warmup_t": 2.5}), "schedules.lr.warmup_t", "integer"),
    (plan({"kind": "timm", "warmup_prefix": 1}), "schedules.lr.warmup_prefix", "true or false"),
    (plan({"kind": "timm", "scale": -1.0}), "schedules.lr.scale", ">= 0"),
    (plan({"kind": "timm", "t_inital": 5}), "schedules.lr.t_inital", "did you mean 't_initial'"),
]


@pytest.mark.parametrize("spec,path,fragment", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_spec_is_reported_with_path_value_and_expectation(spec, path, fragment):
    if path is None:
        bridge.from_dict(spec)  # the valid controls
        return
    with pytest.raises(SpecError) as ei:
        bridge.from_dict(spec)
    msg = str(ei.value)
    assert msg.startswith(path + ":"), msg
    assert fragment in msg, msg
    assert isinstance(ei.value, BridgeError) and isinstance(ei.value, ValueError)


def test_enough_cases():
    assert sum(1 for c in CASES if c[1] is not None) >= 60


def test_message_shows_the_value():
    with pytest.raises(SpecError, match=r"milestones: must be non-decreasing, got \[8, 3\]"):
        bridge.from_dict(plan({"kind": "multistep", "milestones": [8, 3]}))


def test_evaluation_errors_are_bridge_errors():
    p = bridge.from_dict(plan({"kind": "one_cycle", "total_steps": 10}))
    with pytest.raises(SpecError, match="total_steps"):
        p.values(20)
    with pytest.raises(SpecError, match="no such field"):
        p.values(3, field="momentum")
    with pytest.raises(SpecError, match="must be >= 0"):
        p.values(-1)
    t = bridge.from_dict(plan({"kind": "table", "values": [1, 2], "after": "error"}))
    with pytest.raises(SpecError, match="has 2 values"):
        t.values(3)
    assert math.isfinite(float(t.values(2)[-1, 0]))


def test_python_constructors_validate_too():
    from bridge.ir import Sequential, Step

    with pytest.raises(SpecError, match="step_size"):
        Step(0)
    with pytest.raises(SpecError, match="milestones"):
        Sequential((Step(2), Step(3)), ())
