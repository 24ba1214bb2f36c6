"""The plan-driven schedulers' driver without a framework: its state format, the states saved
before it, and the deprecated names it took over from bridge.ir.plan. (Values are tested against
each framework in test_torch_lower, test_oneflow and test_mindspore_scheduler.)"""

from __future__ import annotations

import warnings

import pytest

from bridge import Plan, SpecError
from bridge.frameworks import _driver, _fields
from bridge.groups import state
from bridge.ir import CosineAnnealing, Linear, Sequential, Step

PLAN = Plan.single(Sequential((Linear(0.1, 1.0, 5), Step(3, 0.5)), (5,)), base=[0.1, 0.2])


def test_state_format_and_refusals():
    d = _driver.Driver(PLAN)
    sd = d.state(9)
    assert sd["format"] == _driver.STATE_FORMAT == "sched-bridge/PlanScheduler"
    assert sd["step"] == 9 and sd["n_groups"] == 2 and sd["fields"] == ["lr"] and len(sd["plan"]) == 64
    assert state.step_from(sd) == 9 and state.resume_state(sd, "torch") == {"last_epoch": 9, "_step_count": 10}
    again = _driver.Driver(Plan.single(Sequential((Linear(0.1, 1.0, 5), Step(3, 0.5)), (5,)), base=[0.1, 0.2]))
    assert again.load(sd) == 9  # the same plan built again
    other = _driver.Driver(Plan.single(Step(3, 0.5), base=[0.1, 0.2]), lower="bridge.to_oneflow")
    with pytest.raises(SpecError, match="another plan: other schedules or base values"):
        other.load(sd)
    with pytest.raises(SpecError, match=r"2 param group\(s\), this plan has 3"):
        _driver.Driver(Plan.single(Step(3, 0.5), base=[0.1] * 3)).load(sd)
    momentum = PLAN.with_field("momentum", None, base=[0.9, 0.9])
    with pytest.raises(SpecError, match=r"fields \['lr'\], this plan has \['lr', 'momentum'\]"):
        _driver.Driver(momentum).load(sd)
    # a native scheduler's state: refused, with the way to continue the plan from it
    with pytest.raises(SpecError, match=r"not a PlanScheduler state.*bridge\.to_oneflow\(bridge\.groups"):
        other.load({"last_step": 9, "verbose": False, "base_lrs": [0.1, 0.2], "_last_lr": [0.1, 0.2]})
    with pytest.raises(SpecError, match="must be the dict"):
        other.load([9])
    for bad in (-1, 2.5, True, "9"):
        with pytest.raises(SpecError, match=r"state_dict\.step: must be a whole number >= 0"):
            again.load(dict(sd, step=bad))


def test_states_saved_before_the_driver():
    """torch's PlanScheduler state before the format tag, and OneFlow's, which held the plan itself."""
    d = _driver.Driver(PLAN)
    assert d.load({"last_epoch": 4, "_step_count": 5, "n_groups": 2, "fields": ["lr"]}) == 4
    assert d.load({"last_step": 6, "verbose": False, "plan": PLAN.to_dict()}) == 6
    assert d.load({"last_step": 6, "verbose": False, "plan": None}) == 6  # the plan was not serialisable
    with pytest.raises(SpecError, match="another plan: other schedules or base values"):
        d.load({"last_step": 6, "plan": Plan.single(CosineAnnealing(10), base=[0.1, 0.2]).to_dict()})


def test_group_checks_name_group_and_field():
    with pytest.raises(SpecError, match="must be a bridge.Plan"):
        _driver.check_groups({"lr": 0.1}, [{"lr": 0.1}])
    with pytest.raises(SpecError, match="one group per plan group: the plan has 2 param group.*optimizer has 1"):
        _driver.check_groups(PLAN, [{"lr": 0.1}])
    plan = PLAN.with_field("momentum", None, base=[0.9, 0.9])
    with pytest.raises(SpecError, match=r"param_groups\[1\]\.momentum: .*'betas\[0\]'.*it has: betas, lr"):
        _driver.check_groups(plan, [{"lr": 1.0, "momentum": 0.5}, {"lr": 1.0, "betas": (0.9, 0.99)}])
    groups = [{"lr": 1.0, "momentum": 0.5, "params": []}, {"lr": 1.0, "momentum": 0.5}]
    _driver.write_bases(plan, groups)
    assert groups == [{"lr": 0.1, "momentum": 0.9, "params": [], "initial_lr": 0.1},
                      {"lr": 0.2, "momentum": 0.9, "initial_lr": 0.2}]


def test_moved_names_still_import_with_a_deprecation_warning():
    import bridge.ir.plan as old

    for name, new in (("Cursor", _driver.Cursor), ("field_key", _fields.field_key),
                      ("has_field", _fields.has_field), ("read_field", _fields.read_field),
                      ("write_field", _fields.write_field)):
        with pytest.warns(DeprecationWarning, match=f"bridge.ir.plan.{name} moved to bridge.frameworks"):
            assert getattr(old, name) is new
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from bridge.ir.plan import Field, Plan  # noqa: F401 - what stays there does not warn
    with pytest.raises(AttributeError):
        old.no_such_name  # noqa: B018
