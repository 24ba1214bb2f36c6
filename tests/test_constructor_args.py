"""mappings/constructor_args.toml against the real constructors.

Every rule that quotes a framework check (``framework = ...``) is tried on the real
torch / OneFlow class with a value just outside the rule: the framework must refuse it
(at construction or within a few steps), and the expression reader must refuse it too,
naming the argument. Rules that say ``why`` are sched-bridge's own and are only checked
on the reader's side.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Dict, List, Tuple

import pytest

import bridge
from bridge import mappings
from bridge.spec import parse_expression

#: valid values of the required arguments, per class
REQUIRED: Dict[str, Dict[str, Any]] = {
    "StepLR": {"step_size": 3}, "MultiStepLR": {"milestones": [2, 4]}, "ExponentialLR": {"gamma": 0.9},
    "CosineAnnealingLR": {"T_max": 5}, "CosineAnnealingWarmRestarts": {"T_0": 3},
    "OneCycleLR": {"max_lr": 1.0, "total_steps": 20}, "CyclicLR": {"base_lr": 0.1, "max_lr": 1.0},
    "PolynomialLR": {}, "CosineDecayLR": {"decay_steps": 5},
}
ONEFLOW_REQUIRED = {"PolynomialLR": {"decay_batch": 5}}


def _outside(rule: Dict[str, Any]) -> List[Any]:
    """Values that break the bounds of ``rule`` that the framework checks, just outside them."""
    kind = rule["type"]
    checks = set(rule.get("framework_checks", ["type", "min", "gt", "max", "choices", "increasing"]))
    out: List[Any] = []
    if "choices" in rule and "choices" in checks:
        out.append("bogus")
    step = 1 if kind in ("int", "ints") else 0.5
    if "min" in rule and "min" in checks:
        out.append(rule["min"] - step)
    if "gt" in rule and "gt" in checks:
        out.append(rule["gt"] if kind != "int" else int(rule["gt"]))
    if "max" in rule and "max" in checks:
        out.append(rule["max"] + step)
    if kind == "int" and "type" in checks:
        out.append(2.5)
    if kind == "ints":
        out = [[x] for x in out]
        if rule.get("increasing") and "increasing" in checks:
            out.append([4, 2])
    return out


def _cases(dialect: str) -> List[Tuple[str, str, Any]]:
    cases = []
    for cls, args in mappings.constructor_rules(dialect).items():
        for arg, rule in args.items():
            if not rule.get("framework") or (cls == "SequentialLR" and arg == "milestones"):
                continue
            for v in _outside(rule):
                cases.append((cls, arg, v))
    return cases


def _kwargs(dialect: str, cls: str, arg: str, v: Any) -> Dict[str, Any]:
    kw = dict(REQUIRED.get(cls, {}))
    if dialect == "oneflow":
        kw.update(ONEFLOW_REQUIRED.get(cls, {}))
    if cls == "OneCycleLR" and arg in ("epochs", "steps_per_epoch"):
        kw.pop("total_steps")
        kw.update({"epochs": 2, "steps_per_epoch": 5})
    kw[arg] = v
    return kw


def _expression(cls: str, kw: Dict[str, Any]) -> str:
    return f"{cls}(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")"


def _refuses(build: Any, steps: int = 3) -> bool:
    try:
        sched = build()
        for _ in range(steps):
            sched.optimizer.step()
            sched.step()
    except (ValueError, TypeError, ZeroDivisionError, AssertionError):
        return True
    return False


def _check(dialect: str, cls: str, arg: str, v: Any, mod: ModuleType) -> None:
    kw = _kwargs(dialect, cls, arg, v)
    with pytest.raises(bridge.SpecError) as info:
        parse_expression(_expression(cls, kw), dialect=dialect)
    assert f"{cls}.{arg}" in str(info.value)
    Sched = getattr(mod.optim.lr_scheduler, cls)

    def build() -> Any:
        w = mod.nn.Parameter(mod.zeros(2))
        opt = mod.optim.SGD([w], lr=0.1, momentum=0.9)
        return Sched(opt, **kw)

    assert _refuses(build), f"{dialect} accepts {cls}({arg}={v!r}) although the table quotes its refusal"


@pytest.mark.torch
@pytest.mark.parametrize("cls, arg, v", _cases("torch"), ids=lambda x: str(x))
def test_torch_refuses_what_the_table_says(torch_mod: ModuleType, cls: str, arg: str, v: Any) -> None:
    _check("torch", cls, arg, v, torch_mod)


@pytest.mark.oneflow
@pytest.mark.parametrize("cls, arg, v", _cases("oneflow"), ids=lambda x: str(x))
def test_oneflow_refuses_what_the_table_says(flow: ModuleType, cls: str, arg: str, v: Any) -> None:
    _check("oneflow", cls, arg, v, flow)


@pytest.mark.parametrize("dialect", ["torch", "oneflow"])
def test_every_rule_names_its_reason(dialect: str) -> None:
    for cls, args in mappings.constructor_rules(dialect).items():
        for arg, rule in args.items():
            assert rule["type"] in ("int", "number", "str", "bool", "ints", "numbers", "number_or_numbers",
                                    "bool_or_bools"), (cls, arg)
            bounded = any(k in rule for k in ("min", "max", "gt", "lt", "choices", "increasing"))
            self_evident = set(rule) <= {"type", "min"} and rule.get("min") == 0  # a count or a size
            assert set(rule.get("framework_checks", [])) <= set(rule) | {"type"}, (cls, arg)
            if bounded and not self_evident:
                assert rule.get("framework") or rule.get("why"), f"{dialect}.{cls}.{arg}: say whose rule it is"


def test_sequential_milestones_count() -> None:
    with pytest.raises(bridge.SpecError, match="SequentialLR.milestones.*one milestone fewer"):
        parse_expression("SequentialLR([StepLR(step_size=2), StepLR(step_size=3)], milestones=[1, 2])")
