"""The backend-neutral schedule IR: node types, the Plan, (de)serialisation.

No framework is imported here, ever. What each node computes is defined in
:mod:`bridge.ir.semantics`. Imports run one way: ``nodes`` -> ``semantics`` ->
``plan``.
"""

from __future__ import annotations

from .nodes import (
    KINDS,
    Chain,
    Constant,
    CosineAnnealing,
    CosineDecay,
    CosineRestart,
    Cyclic,
    Exponential,
    ExponentialDecay,
    HFLambda,
    Hold,
    InverseSqrt,
    InverseTimeDecay,
    KDecayCosine,
    Lambda,
    Linear,
    Multiplicative,
    MultiStep,
    NaturalExpDecay,
    Noam,
    Node,
    OneCycle,
    OneCycleMomentum,
    PiecewiseConstant,
    Plateau,
    Polynomial,
    QuadraticWarmup,
    Sequential,
    Shift,
    Step,
    Stride,
    Table,
    Timm,
    WarmRestarts,
    WarmupStableDecay,
    Window,
    Windows,
    node_from_dict,
)
from .plan import SCHEMA, Field, Group, Plan, from_dict

__all__ = [
    "KINDS", "SCHEMA", "Chain", "Constant", "CosineAnnealing", "CosineDecay", "CosineRestart", "Cyclic",
    "Exponential", "ExponentialDecay", "Field", "Group", "HFLambda", "Hold", "InverseSqrt", "InverseTimeDecay",
    "KDecayCosine", "Lambda", "Linear", "MultiStep", "Multiplicative", "NaturalExpDecay", "Node", "Noam", "OneCycle",
    "OneCycleMomentum", "PiecewiseConstant", "Plan", "Plateau", "Polynomial", "QuadraticWarmup", "Sequential", "Shift", "Stride",
    "Step", "Table", "Timm", "WarmRestarts", "WarmupStableDecay", "Window", "Windows", "from_dict",
    "node_from_dict",
]
