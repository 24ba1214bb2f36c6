"""Schedule node types: small frozen dataclasses, validated on construction.

A node describes v(t; base): the value a param-group field holds after t
scheduler steps, given the group's base value. What each kind *computes* is
defined in one place, :mod:`bridge.ir.semantics`; this module only holds the
parameters, their validation and (de)serialisation (it imports neither the
semantics nor the plan).

Parameters named ``*_factor``, ``gamma``, ``alpha`` and ``*_ratio`` are relative
to the base; ``eta_min``, ``end_value``, ``min_lr``, ``low``/``high`` and
``max_lr`` are absolute values.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, Iterator, Optional, Tuple, Type

from ..errors import SpecError, UnsupportedError
from . import _check as c

KINDS: Dict[str, Type[Node]] = {}


def _register(cls: Any) -> Any:
    KINDS[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class Node:
    """Base class of every schedule node."""

    kind: ClassVar[str] = ""
    #: framework classes this kind corresponds to (for docs and error messages)
    maps_to: ClassVar[Tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:  # pragma: no cover - overridden
        pass

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def children(self) -> Tuple[Node, ...]:
        """Direct child nodes (empty for leaves)."""
        return ()

    def walk(self) -> Iterator[Node]:
        """This node and all nodes below it, depth first."""
        yield self
        for ch in self.children():
            yield from ch.walk()

    @property
    def opaque(self) -> bool:
        """True when this node or a child holds a Python callable."""
        return any(isinstance(n, (Lambda, Multiplicative)) for n in self.walk())

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe dict; ``from_dict(node.to_dict()) == node``."""
        out: Dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            out[f.name] = _dump_value(getattr(self, f.name), f"{self.kind}.{f.name}")
        return out

    # Keras-style names
    def get_config(self) -> Dict[str, Any]:
        return self.to_dict()

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> Node:
        return node_from_dict(config)

    def describe(self) -> str:
        """One line in words."""
        parts = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Node) or (isinstance(v, tuple) and v and isinstance(v[0], (Node, Window))):
                continue
            if v is None or (f.default is not dataclasses.MISSING and v == f.default):
                continue
            if callable(v):
                v = getattr(v, "__name__", "fn")
            parts.append(f"{f.name}={_fmt(v)}")
        return f"{self.kind}({', '.join(parts)})"


def _fmt(v: Any) -> str:
    if isinstance(v, tuple) and len(v) > 8:
        return "[" + ", ".join(_fmt(x) for x in v[:4]) + f", ... ({len(v)} values)]"
    if isinstance(v, tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v) if isinstance(v, str) else str(v)


def _dump_value(v: Any, path: str) -> Any:
    if isinstance(v, Node):
        return v.to_dict()
    if isinstance(v, Window):
        return v.to_dict()
    if isinstance(v, tuple):
        return [_dump_value(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if callable(v):
        raise UnsupportedError(
            f"{path}: a Python callable cannot be serialised; sample it into a table first "
            "with bridge.tabulate(plan, steps) (or Plan.tabulate(steps))")
    return v


# ---------------------------------------------------------------------------
# leaves
# ---------------------------------------------------------------------------


@_register
@dataclass(frozen=True)
class Constant(Node):
    """base*factor for t < total_iters, then base (total_iters=None: forever)."""

    kind: ClassVar[str] = "constant"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch ConstantLR", "OneFlow ConstantLR", "MMEngine ConstantLR")
    factor: float = 1.0
    total_iters: Optional[int] = None

    def _validate(self) -> None:
        self._set("factor", c.real("factor", self.factor, nonneg=True))
        self._set("total_iters", c.opt_int("total_iters", self.total_iters, lo=0))


@_register
@dataclass(frozen=True)
class Linear(Node):
    """base*(start + (end-start)*min(t, T)/T)."""

    kind: ClassVar[str] = "linear"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch LinearLR", "OneFlow LinearLR", "MMEngine LinearLR")
    start_factor: float = 1.0 / 3
    end_factor: float = 1.0
    total_iters: int = 5

    def _validate(self) -> None:
        self._set("start_factor", c.real("start_factor", self.start_factor, nonneg=True))
        self._set("end_factor", c.real("end_factor", self.end_factor, nonneg=True))
        self._set("total_iters", c.integer("total_iters", self.total_iters, lo=1))


@_register
@dataclass(frozen=True)
class Step(Node):
    """base*gamma**floor(t/step_size)."""

    kind: ClassVar[str] = "step"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch StepLR", "OneFlow StepLR", "MMEngine StepLR")
    step_size: int = 1
    gamma: float = 0.1

    def _validate(self) -> None:
        self._set("step_size", c.integer("step_size", self.step_size, lo=1))
        self._set("gamma", c.real("gamma", self.gamma, nonneg=True))


@_register
@dataclass(frozen=True)
class MultiStep(Node):
    """base*gamma**(number of milestones <= t); a repeated milestone applies gamma again."""

    kind: ClassVar[str] = "multistep"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch MultiStepLR", "OneFlow MultiStepLR", "MMEngine MultiStepLR")
    milestones: Tuple[int, ...] = ()
    gamma: float = 0.1

    def _validate(self) -> None:
        self._set("milestones", c.int_list("milestones", self.milestones, lo=0, nondecreasing=True))
        self._set("gamma", c.real("gamma", self.gamma, nonneg=True))


@_register
@dataclass(frozen=True)
class Exponential(Node):
    """base*gamma**t."""

    kind: ClassVar[str] = "exponential"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch ExponentialLR", "OneFlow ExponentialLR", "MMEngine ExponentialLR")
    gamma: float = 0.9

    def _validate(self) -> None:
        self._set("gamma", c.real("gamma", self.gamma, positive=True))


@_register
@dataclass(frozen=True)
class Polynomial(Node):
    """(base-end)*(1-min(t,T)/T)**power + end; cycle=True: OneFlow's cyclic form."""

    kind: ClassVar[str] = "polynomial"
    maps_to: ClassVar[Tuple[str, ...]] = (
        "torch PolynomialLR", "OneFlow PolynomialLR", "MMEngine PolyLR",
        "MindSpore polynomial_decay_lr / PolynomialDecayLR")
    total_iters: int = 5
    power: float = 1.0
    end_value: float = 0.0
    cycle: bool = False

    def _validate(self) -> None:
        self._set("total_iters", c.integer("total_iters", self.total_iters, lo=1))
        self._set("power", c.real("power", self.power, nonneg=True))
        self._set("end_value", c.real("end_value", self.end_value))
        self._set("cycle", c.boolean("cycle", self.cycle))


@_register
@dataclass(frozen=True)
class QuadraticWarmup(Node):
    """base*((t+1)/total_iters)**2 for t < total_iters, then base; as a chainable update (MMEngine's
    form) step 0 sets base/T**2 and step t adds base*(2t+1)/T**2."""

    kind: ClassVar[str] = "quadratic_warmup"
    maps_to: ClassVar[Tuple[str, ...]] = ("mmdet QuadraticWarmupLR / QuadraticWarmupMomentum / "
                                          "QuadraticWarmupParamScheduler",)
    total_iters: int = 5

    def _validate(self) -> None:
        self._set("total_iters", c.integer("total_iters", self.total_iters, lo=1))


@_register
@dataclass(frozen=True)
class CosineAnnealing(Node):
    """eta_min + (base-eta_min)*(1+cos(pi*t/T_max))/2, periodic past T_max as torch computes it."""

    kind: ClassVar[str] = "cosine_annealing"
    maps_to: ClassVar[Tuple[str, ...]] = (
        "torch CosineAnnealingLR", "OneFlow CosineAnnealingLR", "MMEngine CosineAnnealingLR",
        "MindSpore experimental CosineAnnealingLR")
    T_max: int = 1
    eta_min: float = 0.0
    eta_min_ratio: Optional[float] = None

    def _validate(self) -> None:
        self._set("T_max", c.integer("T_max", self.T_max, lo=1))
        self._set("eta_min", c.real("eta_min", self.eta_min))
        self._set("eta_min_ratio", c.opt_real("eta_min_ratio", self.eta_min_ratio, nonneg=True))
        if self.eta_min_ratio is not None and self.eta_min != 0.0:
            raise SpecError("eta_min", "give either eta_min or eta_min_ratio, not both", self.eta_min)


@_register
@dataclass(frozen=True)
class CosineDecay(Node):
    """Clamped cosine: reaches its floor at decay_steps and stays there.

    Floor is ``eta_min`` (absolute) when given, else ``alpha*base``.
    """

    kind: ClassVar[str] = "cosine_decay"
    maps_to: ClassVar[Tuple[str, ...]] = (
        "OneFlow CosineDecayLR", "MindSpore cosine_decay_lr / CosineDecayLR", "Keras CosineDecay")
    decay_steps: int = 1
    alpha: float = 0.0
    eta_min: Optional[float] = None

    def _validate(self) -> None:
        self._set("decay_steps", c.integer("decay_steps", self.decay_steps, lo=1))
        self._set("alpha", c.real("alpha", self.alpha, nonneg=True))
        self._set("eta_min", c.opt_real("eta_min", self.eta_min))
        if self.eta_min is not None and self.alpha != 0.0:
            raise SpecError("alpha", "give either alpha (relative) or eta_min (absolute), not both", self.alpha)


@_register
@dataclass(frozen=True)
class WarmRestarts(Node):
    """SGDR: cosine from base*decay_rate**i down to eta_min over cycle i of length T_0*T_mult**i.

    ``restart_limit`` (OneFlow): after that many cycles the value stays at eta_min.
    ``float_log_cycles`` reproduces OneFlow's floating-point cycle index for T_mult > 1.
    """

    kind: ClassVar[str] = "warm_restarts"
    maps_to: ClassVar[Tuple[str, ...]] = (
        "torch CosineAnnealingWarmRestarts", "OneFlow CosineAnnealingWarmRestarts")
    T_0: int = 1
    T_mult: int = 1
    eta_min: float = 0.0
    decay_rate: float = 1.0
    restart_limit: Optional[int] = None
    float_log_cycles: bool = False

    def _validate(self) -> None:
        self._set("T_0", c.integer("T_0", self.T_0, lo=1))
        self._set("T_mult", c.integer("T_mult", self.T_mult, lo=1))
        self._set("eta_min", c.real("eta_min", self.eta_min))
        self._set("decay_rate", c.real("decay_rate", self.decay_rate, positive=True))
        self._set("restart_limit", c.opt_int("restart_limit", self.restart_limit, lo=1))
        self._set("float_log_cycles", c.boolean("float_log_cycles", self.float_log_cycles))


@_register
@dataclass(frozen=True)
class CosineRestart(Node):
    """MMEngine CosineRestart: cosine cycles of given ``periods``, peak base*restart_weights[i]."""

    kind: ClassVar[str] = "cosine_restart"
    maps_to: ClassVar[Tuple[str, ...]] = ("MMEngine CosineRestartLR",)
    periods: Tuple[int, ...] = (1,)
    restart_weights: Tuple[float, ...] = (1.0,)
    eta_min: float = 0.0
    eta_min_ratio: Optional[float] = None

    def _validate(self) -> None:
        self._set("periods", c.int_list("periods", self.periods, lo=1, nonempty=True))
        self._set("restart_weights", c.real_list("restart_weights", self.restart_weights, nonneg=True))
        if len(self.restart_weights) != len(self.periods):
            raise SpecError("restart_weights", f"must have one weight per period ({len(self.periods)})",
                            list(self.restart_weights))
        self._set("eta_min", c.real("eta_min", self.eta_min))
        self._set("eta_min_ratio", c.opt_real("eta_min_ratio", self.eta_min_ratio, nonneg=True))
        if self.eta_min_ratio is not None and self.eta_min != 0.0:
            raise SpecError("eta_min", "give either eta_min or eta_min_ratio, not both", self.eta_min)


@_register
@dataclass(frozen=True)
class OneCycle(Node):
    """torch OneCycleLR's lr: max_lr/div_factor up to max_lr, then down to initial/final_div_factor.

    ``max_lr=None`` takes the group's base value as the peak. Defined for t in 0..total_steps
    (torch raises past that).
    """

    kind: ClassVar[str] = "one_cycle"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch OneCycleLR", "MMEngine OneCycleLR")
    total_steps: int = 2
    max_lr: Optional[float] = None
    pct_start: float = 0.3
    anneal: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def _validate(self) -> None:
        self._set("total_steps", c.integer("total_steps", self.total_steps, lo=1))
        self._set("max_lr", c.opt_real("max_lr", self.max_lr, nonneg=True))
        self._set("pct_start", c.real("pct_start", self.pct_start, lo=0.0, hi=1.0))
        self._set("anneal", c.choice("anneal", self.anneal, ("cos", "linear")))
        self._set("div_factor", c.real("div_factor", self.div_factor, positive=True))
        self._set("final_div_factor", c.real("final_div_factor", self.final_div_factor, positive=True))
        self._set("three_phase", c.boolean("three_phase", self.three_phase))
        _check_phases(self.total_steps, self.pct_start, self.three_phase)


@_register
@dataclass(frozen=True)
class OneCycleMomentum(Node):
    """torch OneCycleLR's momentum (or Adam beta1) cycle: max -> base -> max (absolute values)."""

    kind: ClassVar[str] = "one_cycle_momentum"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch OneCycleLR(cycle_momentum=True)",)
    total_steps: int = 2
    pct_start: float = 0.3
    anneal: str = "cos"
    three_phase: bool = False
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def _validate(self) -> None:
        self._set("total_steps", c.integer("total_steps", self.total_steps, lo=1))
        self._set("pct_start", c.real("pct_start", self.pct_start, lo=0.0, hi=1.0))
        self._set("anneal", c.choice("anneal", self.anneal, ("cos", "linear")))
        self._set("three_phase", c.boolean("three_phase", self.three_phase))
        self._set("base_momentum", c.real("base_momentum", self.base_momentum))
        self._set("max_momentum", c.real("max_momentum", self.max_momentum))
        _check_phases(self.total_steps, self.pct_start, self.three_phase)


def _check_phases(total: int, pct: float, three: bool) -> None:
    ends = [pct * total - 1, 2 * pct * total - 2, total - 1] if three else [pct * total - 1, total - 1]
    start = 0.0
    for i, e in enumerate(ends):
        if not e > start:
            raise SpecError(
                "pct_start", f"gives an empty phase {i} (phase ends at step {e:g}, starts at "
                f"{start:g}) for total_steps={total}; torch divides by zero there", pct)
        start = e


@_register
@dataclass(frozen=True)
class Cyclic(Node):
    """torch CyclicLR: triangular waves between low and high (``low=None``: the base value).

    ``inverted=True`` gives the momentum wave: high - (high-low)*wave.
    """

    kind: ClassVar[str] = "cyclic"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch CyclicLR", "MindSpore experimental CyclicLR")
    high: float = 0.1
    low: Optional[float] = None
    step_size_up: int = 2000
    step_size_down: Optional[int] = None
    mode: str = "triangular"
    gamma: float = 1.0
    inverted: bool = False

    def _validate(self) -> None:
        self._set("high", c.real("high", self.high))
        self._set("low", c.opt_real("low", self.low))
        self._set("step_size_up", c.integer("step_size_up", self.step_size_up, lo=1))
        self._set("step_size_down", c.opt_int("step_size_down", self.step_size_down, lo=1))
        self._set("mode", c.choice("mode", self.mode, ("triangular", "triangular2", "exp_range")))
        self._set("gamma", c.real("gamma", self.gamma, positive=True))
        self._set("inverted", c.boolean("inverted", self.inverted))


@_register
@dataclass(frozen=True)
class ExponentialDecay(Node):
    """base*rate**(t/decay_steps), or floor(t/decay_steps) with staircase."""

    kind: ClassVar[str] = "exponential_decay"
    maps_to: ClassVar[Tuple[str, ...]] = ("MindSpore exponential_decay_lr / ExponentialDecayLR", "Keras ExponentialDecay")
    decay_rate: float = 0.5
    decay_steps: int = 1
    staircase: bool = False

    def _validate(self) -> None:
        self._set("decay_rate", c.real("decay_rate", self.decay_rate, positive=True))
        self._set("decay_steps", c.integer("decay_steps", self.decay_steps, lo=1))
        self._set("staircase", c.boolean("staircase", self.staircase))


@_register
@dataclass(frozen=True)
class NaturalExpDecay(Node):
    """base*exp(-rate*p), p = t/decay_steps (floor with staircase)."""

    kind: ClassVar[str] = "natural_exp_decay"
    maps_to: ClassVar[Tuple[str, ...]] = ("MindSpore natural_exp_decay_lr / NaturalExpDecayLR",)
    decay_rate: float = 0.1
    decay_steps: int = 1
    staircase: bool = False

    def _validate(self) -> None:
        self._set("decay_rate", c.real("decay_rate", self.decay_rate, nonneg=True))
        self._set("decay_steps", c.integer("decay_steps", self.decay_steps, lo=1))
        self._set("staircase", c.boolean("staircase", self.staircase))


@_register
@dataclass(frozen=True)
class InverseTimeDecay(Node):
    """base/(1 + rate*p), p = t/decay_steps (floor with staircase)."""

    kind: ClassVar[str] = "inverse_time_decay"
    maps_to: ClassVar[Tuple[str, ...]] = ("MindSpore inverse_decay_lr / InverseDecayLR", "Keras InverseTimeDecay")
    decay_rate: float = 0.1
    decay_steps: int = 1
    staircase: bool = False

    def _validate(self) -> None:
        self._set("decay_rate", c.real("decay_rate", self.decay_rate, nonneg=True))
        self._set("decay_steps", c.integer("decay_steps", self.decay_steps, lo=1))
        self._set("staircase", c.boolean("staircase", self.staircase))


@_register
@dataclass(frozen=True)
class PiecewiseConstant(Node):
    """values[i] between boundaries; a boundary b starts the next value at t = b.

    ``inclusive=True`` (Keras) keeps the old value at t = b. ``relative=True``: values are
    factors of the base.
    """

    kind: ClassVar[str] = "piecewise_constant"
    maps_to: ClassVar[Tuple[str, ...]] = ("MindSpore piecewise_constant_lr", "Keras PiecewiseConstantDecay", "optax piecewise_constant_schedule")
    boundaries: Tuple[int, ...] = ()
    values: Tuple[float, ...] = (1.0,)
    relative: bool = False
    inclusive: bool = False

    def _validate(self) -> None:
        self._set("boundaries", c.int_list("boundaries", self.boundaries, lo=0, increasing=True))
        self._set("values", c.real_list("values", self.values, nonempty=True))
        if len(self.values) != len(self.boundaries) + 1:
            raise SpecError("values", f"must have len(boundaries)+1 = {len(self.boundaries) + 1} entries",
                            list(self.values))
        self._set("relative", c.boolean("relative", self.relative))
        self._set("inclusive", c.boolean("inclusive", self.inclusive))


@_register
@dataclass(frozen=True)
class InverseSqrt(Node):
    """HF inverse_sqrt: t/warmup during warm-up, then 1/sqrt((t+timescale-warmup)/timescale)."""

    kind: ClassVar[str] = "inverse_sqrt"
    maps_to: ClassVar[Tuple[str, ...]] = ("HF get_inverse_sqrt_schedule",)
    warmup_steps: int = 0
    timescale: Optional[int] = None

    def _validate(self) -> None:
        self._set("warmup_steps", c.integer("warmup_steps", self.warmup_steps, lo=0))
        self._set("timescale", c.opt_int("timescale", self.timescale, lo=1))


@_register
@dataclass(frozen=True)
class Noam(Node):
    """Transformer (Noam): base*d_model**-0.5*min(n**-0.5, n*warmup**-1.5), n = t+offset."""

    kind: ClassVar[str] = "noam"
    maps_to: ClassVar[Tuple[str, ...]] = ("'Attention is all you need' schedule",)
    d_model: int = 512
    warmup_steps: int = 4000
    offset: int = 1

    def _validate(self) -> None:
        self._set("d_model", c.integer("d_model", self.d_model, lo=1))
        self._set("warmup_steps", c.integer("warmup_steps", self.warmup_steps, lo=1))
        self._set("offset", c.integer("offset", self.offset, lo=1))


@_register
@dataclass(frozen=True)
class WarmupStableDecay(Node):
    """HF warmup_stable_decay: warm-up from min_lr_ratio, hold at base, decay to min_lr_ratio."""

    kind: ClassVar[str] = "wsd"
    maps_to: ClassVar[Tuple[str, ...]] = ("HF get_wsd_schedule",)
    warmup_steps: int = 0
    stable_steps: int = 0
    decay_steps: int = 1
    min_lr_ratio: float = 0.0
    warmup_type: str = "linear"
    decay_type: str = "cosine"
    num_cycles: float = 0.5

    def _validate(self) -> None:
        self._set("warmup_steps", c.integer("warmup_steps", self.warmup_steps, lo=0))
        self._set("stable_steps", c.integer("stable_steps", self.stable_steps, lo=0))
        self._set("decay_steps", c.integer("decay_steps", self.decay_steps, lo=0))
        self._set("min_lr_ratio", c.real("min_lr_ratio", self.min_lr_ratio, lo=0.0, hi=1.0))
        self._set("warmup_type", c.choice("warmup_type", self.warmup_type, ("linear", "cosine", "1-sqrt")))
        self._set("decay_type", c.choice("decay_type", self.decay_type, ("linear", "cosine", "1-sqrt")))
        self._set("num_cycles", c.real("num_cycles", self.num_cycles, nonneg=True))


HF_LAMBDAS = ("linear", "cosine", "cosine_with_restarts", "cosine_warmup_with_min_lr")


@_register
@dataclass(frozen=True)
class HFLambda(Node):
    """HF transformers' LambdaLR schedules in HF's own arithmetic: base*lr_lambda(t), lr_lambda as
    transformers.optimization computes it (float divisions, math.cos of pi*num_cycles*2*progress).

    Warm-up from 0 over num_warmup_steps W, then over num_training_steps N: ``linear``
    max(0, (N-t)/max(1, N-W)); ``cosine`` max(0, f*(1-min_lr_rate) + min_lr_rate), f =
    0.5*(1+cos(pi*num_cycles*2*(t-W)/max(1, N-W))), periodic past N; ``cosine_with_restarts``
    0.5*(1+cos(pi*((num_cycles*p) % 1))), 0 from N on; ``cosine_warmup_with_min_lr`` the same cosine
    at (t-W+1), warm-up (t+1)/W or warmup_lr_rate + (1-warmup_lr_rate)*t/(W-1).
    """

    kind: ClassVar[str] = "hf_lambda"
    maps_to: ClassVar[Tuple[str, ...]] = (
        "HF get_scheduler linear / cosine / cosine_with_restarts / cosine_with_min_lr / cosine_warmup_with_min_lr",)
    name: str = "linear"
    num_warmup_steps: int = 0
    num_training_steps: int = 1
    num_cycles: float = 0.5
    min_lr_rate: float = 0.0
    warmup_lr_rate: Optional[float] = None

    def _validate(self) -> None:
        self._set("name", c.choice("name", self.name, HF_LAMBDAS))
        self._set("num_warmup_steps", c.integer("num_warmup_steps", self.num_warmup_steps, lo=0))
        self._set("num_training_steps", c.integer("num_training_steps", self.num_training_steps, lo=0))
        self._set("num_cycles", c.real("num_cycles", self.num_cycles, positive=True))
        self._set("min_lr_rate", c.real("min_lr_rate", self.min_lr_rate))
        self._set("warmup_lr_rate", c.opt_real("warmup_lr_rate", self.warmup_lr_rate))
        if self.warmup_lr_rate is not None and self.name != "cosine_warmup_with_min_lr":
            raise SpecError("warmup_lr_rate", "only cosine_warmup_with_min_lr has a warm-up rate", self.warmup_lr_rate)
        if self.min_lr_rate != 0.0 and self.name not in ("cosine", "cosine_warmup_with_min_lr"):
            raise SpecError("min_lr_rate", f"{self.name!r} has no min_lr_rate", self.min_lr_rate)


@_register
@dataclass(frozen=True)
class KDecayCosine(Node):
    """pytorch-accelerated CosineLrScheduler as its Trainer steps it (v(0): warm-up start or base, v(t) = g(t-1)).

    g(s): s < W: start + s*(base - warmup_start)/W (start = warmup_start_ratio*base if given, else
    warmup_start); s < total - W - C: m + (base - m)*(1 + cos(pi*(s-W)**k/(total-W-C)**k))/2 with
    m = min_lr_ratio*base if given, else lr_min; then m.
    """

    kind: ClassVar[str] = "k_decay_cosine"
    maps_to: ClassVar[Tuple[str, ...]] = ("pytorch-accelerated CosineLrScheduler",)
    total_steps: int = 1
    warmup_steps: int = 0
    cooldown_steps: int = 0
    k_decay: float = 1.0
    lr_min: float = 1e-6
    min_lr_ratio: Optional[float] = None
    warmup_start: float = 1e-6
    warmup_start_ratio: Optional[float] = None

    def _validate(self) -> None:
        self._set("total_steps", c.integer("total_steps", self.total_steps, lo=1))
        self._set("warmup_steps", c.integer("warmup_steps", self.warmup_steps, lo=0))
        self._set("cooldown_steps", c.integer("cooldown_steps", self.cooldown_steps, lo=0))
        self._set("k_decay", c.real("k_decay", self.k_decay, positive=True))
        self._set("lr_min", c.real("lr_min", self.lr_min, nonneg=True))
        self._set("min_lr_ratio", c.opt_real("min_lr_ratio", self.min_lr_ratio, nonneg=True))
        self._set("warmup_start", c.real("warmup_start", self.warmup_start, nonneg=True))
        self._set("warmup_start_ratio", c.opt_real("warmup_start_ratio", self.warmup_start_ratio, nonneg=True))


TIMM_SHAPES = ("cosine", "tanh", "poly", "step", "multistep")


@_register
@dataclass(frozen=True)
class Timm(Node):
    """timm Cosine/Tanh/Poly/Step/MultiStepLRScheduler ``_get_lr(t)`` times ``scale`` (a group's lr_scale).

    v(0) = scale*(warmup_lr_init if warmup_t else base) (set at construction); v(t) = scale*_get_lr(t).
    Warm-up: warmup_lr_init + t*(target - warmup_lr_init)/warmup_t (target: base; tanh without
    prefix: its value at warmup_t). Cycles (cosine/tanh/poly): length t_initial*cycle_mul**i, peak
    base*cycle_decay**i, lr_min from cycle ``cycle_limit`` on. step: base*decay_rate**(t//decay_t);
    multistep: base*decay_rate**bisect_right(milestones, t+1). lr_min and warmup_lr_init are absolute.
    """

    kind: ClassVar[str] = "timm"
    maps_to: ClassVar[Tuple[str, ...]] = (
        "timm CosineLRScheduler", "timm TanhLRScheduler", "timm PolyLRScheduler", "timm StepLRScheduler",
        "timm MultiStepLRScheduler")
    shape: str = "cosine"
    t_initial: float = 1.0
    lr_min: float = 0.0
    cycle_mul: float = 1.0
    cycle_decay: float = 1.0
    cycle_limit: int = 1
    k_decay: float = 1.0
    power: float = 0.5
    lb: float = -7.0
    ub: float = 3.0
    decay_t: float = 1.0
    milestones: Tuple[float, ...] = ()
    decay_rate: float = 1.0
    warmup_t: int = 0
    warmup_lr_init: float = 0.0
    warmup_prefix: bool = False
    scale: float = 1.0

    def _validate(self) -> None:
        self._set("shape", c.choice("shape", self.shape, TIMM_SHAPES))
        self._set("t_initial", c.real("t_initial", self.t_initial, positive=True))
        self._set("lr_min", c.real("lr_min", self.lr_min, nonneg=True))
        self._set("cycle_mul", c.real("cycle_mul", self.cycle_mul, positive=True))
        self._set("cycle_decay", c.real("cycle_decay", self.cycle_decay, nonneg=True))
        self._set("cycle_limit", c.integer("cycle_limit", self.cycle_limit, lo=0))
        self._set("k_decay", c.real("k_decay", self.k_decay, positive=True))
        self._set("power", c.real("power", self.power, nonneg=True))
        self._set("lb", c.real("lb", self.lb))
        self._set("ub", c.real("ub", self.ub))
        if not self.lb < self.ub:
            raise SpecError("ub", f"must be greater than lb ({self.lb}); timm asserts lb < ub", self.ub)
        self._set("decay_t", c.real("decay_t", self.decay_t, positive=True))
        ms = c.real_list("milestones", self.milestones)
        if any(b < a for a, b in zip(ms, ms[1:])):
            raise SpecError("milestones", "must be sorted (timm bisects them)", list(ms))
        self._set("milestones", ms)
        self._set("decay_rate", c.real("decay_rate", self.decay_rate, nonneg=True))
        self._set("warmup_t", c.integer("warmup_t", self.warmup_t, lo=0))
        self._set("warmup_lr_init", c.real("warmup_lr_init", self.warmup_lr_init, nonneg=True))
        self._set("warmup_prefix", c.boolean("warmup_prefix", self.warmup_prefix))
        self._set("scale", c.real("scale", self.scale, nonneg=True))


@_register
@dataclass(frozen=True, eq=False)
class Table(Node):
    """Explicit values for steps 0..len-1 (``relative``: factors of the base).

    Past the end: ``after='hold'`` keeps the last value, ``'error'`` refuses.
    """

    kind: ClassVar[str] = "table"
    maps_to: ClassVar[Tuple[str, ...]] = ("MindSpore dynamic lr list", "any sampled schedule")
    values: Any = (1.0,)  # any sequence of numbers; stored as a read-only float64 array
    relative: bool = False
    after: str = "hold"

    def _validate(self) -> None:
        import numpy as np

        try:
            arr = np.asarray(self.values, dtype=np.float64) if not isinstance(self.values, np.ndarray) \
                else self.values.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            bad_i = next((i for i, x in enumerate(self.values) if not is_finite_number(x)), 0) \
                if isinstance(self.values, (list, tuple)) else None
            if bad_i is None:
                raise SpecError("values", "must be a non-empty list of numbers", _short(self.values)) from None
            raise SpecError(f"values[{bad_i}]", "must be a number", _short(self.values[bad_i])) from None
        if arr.ndim != 1 or arr.size == 0:
            raise SpecError("values", "must be a non-empty list of numbers", _short(self.values))
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise SpecError(f"values[{int(bad[0])}]", "must be finite", float(arr[bad[0]]))
        arr.setflags(write=False)
        self._set("values", arr)
        self._set("relative", c.boolean("relative", self.relative))
        self._set("after", c.choice("after", self.after, ("hold", "error")))

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "values": [float(x) for x in self.values],
                "relative": self.relative, "after": self.after}

    def __eq__(self, other: object) -> bool:
        import numpy as np

        return (isinstance(other, Table) and self.relative == other.relative and self.after == other.after
                and np.array_equal(self.values, other.values))

    def __hash__(self) -> int:
        return hash((self.kind, len(self.values), float(self.values[0]), float(self.values[-1]), self.relative))

    def describe(self) -> str:
        v = self.values
        return f"table({len(v)} values, {float(v[0]):.6g} .. {float(v[-1]):.6g}{', relative' if self.relative else ''})"


def _short(v: Any) -> Any:
    try:
        return list(v)[:5]
    except TypeError:
        return v


@_register
@dataclass(frozen=True)
class Lambda(Node):
    """Opaque: base*fn(t) (torch/OneFlow LambdaLR). Evaluates; cannot be serialised or compiled."""

    kind: ClassVar[str] = "lambda"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch LambdaLR", "OneFlow LambdaLR", "HF transformers schedules")
    fn: Callable[[int], float] = field(default=lambda t: 1.0)
    label: str = "lambda"

    def _validate(self) -> None:
        if not callable(self.fn):
            raise SpecError("fn", "must be callable", self.fn)


@_register
@dataclass(frozen=True)
class Multiplicative(Node):
    """Opaque, chainable: value *= fn(t) each step (torch MultiplicativeLR)."""

    kind: ClassVar[str] = "multiplicative"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch MultiplicativeLR",)
    fn: Callable[[int], float] = field(default=lambda t: 1.0)
    label: str = "multiplicative"

    def _validate(self) -> None:
        if not callable(self.fn):
            raise SpecError("fn", "must be callable", self.fn)


@_register
@dataclass(frozen=True)
class Plateau(Node):
    """Metric-driven (ReduceLROnPlateau). Needs ``metrics`` (one value per scheduler step) to evaluate."""

    kind: ClassVar[str] = "plateau"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch ReduceLROnPlateau", "OneFlow ReduceLROnPlateau", "MMEngine ReduceOnPlateauLR")
    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8
    metrics: Optional[Tuple[float, ...]] = None

    def _validate(self) -> None:
        self._set("mode", c.choice("mode", self.mode, ("min", "max")))
        self._set("factor", c.real("factor", self.factor, nonneg=True))
        if self.factor >= 1.0:
            raise SpecError("factor", "must be < 1", self.factor)
        self._set("patience", c.integer("patience", self.patience, lo=0))
        self._set("threshold", c.real("threshold", self.threshold, nonneg=True))
        self._set("threshold_mode", c.choice("threshold_mode", self.threshold_mode, ("rel", "abs")))
        self._set("cooldown", c.integer("cooldown", self.cooldown, lo=0))
        self._set("min_lr", c.real("min_lr", self.min_lr, nonneg=True))
        self._set("eps", c.real("eps", self.eps, nonneg=True))
        if self.metrics is not None:
            self._set("metrics", c.real_list("metrics", self.metrics))


# ---------------------------------------------------------------------------
# composition
# ---------------------------------------------------------------------------


def _node(path: str, v: Any) -> Node:
    if isinstance(v, dict):
        return node_from_dict(v, path)
    if not isinstance(v, Node):
        raise SpecError(path, "must be a schedule node", v)
    return v


@_register
@dataclass(frozen=True)
class Sequential(Node):
    """Child i runs from milestones[i-1]; at a milestone it restarts from the base value.

    ``rescale[i]`` False makes child i+1 see the global step (OneFlow
    ``interval_rescaling=False``). A ``multiplicative`` child continues from the current
    value (torch MultiplicativeLR inside SequentialLR).
    """

    kind: ClassVar[str] = "sequential"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch SequentialLR", "OneFlow SequentialLR / WarmupLR", "optax join_schedules")
    schedules: Tuple[Node, ...] = ()
    milestones: Tuple[int, ...] = ()
    rescale: Optional[Tuple[bool, ...]] = None

    def _validate(self) -> None:
        if isinstance(self.schedules, (str, bytes, dict)) or not hasattr(self.schedules, "__iter__"):
            raise SpecError("schedules", "must be a list of schedule nodes", self.schedules)
        kids = tuple(_node(f"schedules[{i}]", s) for i, s in enumerate(self.schedules))
        if not kids:
            raise SpecError("schedules", "must contain at least one schedule", [])
        self._set("schedules", kids)
        ms = c.int_list("milestones", self.milestones, lo=0, nondecreasing=True)
        if len(ms) != len(kids) - 1:
            raise SpecError("milestones", f"must have one entry fewer than schedules ({len(kids) - 1})", list(ms))
        self._set("milestones", ms)
        if self.rescale is None:
            self._set("rescale", (True,) * len(ms))
        else:
            r = self.rescale
            if isinstance(r, bool):
                r = (r,) * len(ms)
            rs = tuple(c.boolean(f"rescale[{i}]", x) for i, x in enumerate(r))
            if len(rs) != len(ms):
                raise SpecError("rescale", f"must have one entry per milestone ({len(ms)})", list(rs))
            self._set("rescale", rs)

    def children(self) -> Tuple[Node, ...]:
        return self.schedules


@_register
@dataclass(frozen=True)
class Chain(Node):
    """All children act at once.

    ``mode='recursive'`` (torch ChainedScheduler): each step every child applies its
    chainable update to the current value, in order. ``mode='nested'`` (OneFlow
    ChainedScheduler): each child's closed form takes the previous child's value as its base.
    """

    kind: ClassVar[str] = "chain"
    maps_to: ClassVar[Tuple[str, ...]] = ("torch ChainedScheduler", "OneFlow ChainedScheduler")
    schedules: Tuple[Node, ...] = ()
    mode: str = "recursive"

    def _validate(self) -> None:
        if isinstance(self.schedules, (str, bytes, dict)) or not hasattr(self.schedules, "__iter__"):
            raise SpecError("schedules", "must be a list of schedule nodes", self.schedules)
        kids = tuple(_node(f"schedules[{i}]", s) for i, s in enumerate(self.schedules))
        if not kids:
            raise SpecError("schedules", "must contain at least one schedule", [])
        self._set("schedules", kids)
        self._set("mode", c.choice("mode", self.mode, ("recursive", "nested")))

    def children(self) -> Tuple[Node, ...]:
        return self.schedules


@dataclass(frozen=True)
class Window:
    """One MMEngine scheduler: ``schedule`` acts on scheduler steps begin <= k < end.

    ``every`` is how many plan steps one scheduler step takes (1: by iteration;
    the epoch length: by epoch). ``end=None``: forever.
    """

    schedule: Node
    begin: int = 0
    end: Optional[int] = None
    every: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", _node("schedule", self.schedule))
        object.__setattr__(self, "begin", c.integer("begin", self.begin, lo=0))
        object.__setattr__(self, "end", c.opt_int("end", self.end, lo=1))
        object.__setattr__(self, "every", c.integer("every", self.every, lo=1))
        if self.end is not None and self.end <= self.begin:
            raise SpecError("end", f"must be greater than begin ({self.begin})", self.end)

    def to_dict(self) -> Dict[str, Any]:
        return {"schedule": self.schedule.to_dict(), "begin": self.begin, "end": self.end, "every": self.every}


@_register
@dataclass(frozen=True)
class Windows(Node):
    """MMEngine ``param_scheduler`` list: each window applies its chainable update while active.

    Before its window a scheduler does nothing; after it the value is frozen; overlapping
    windows compose in list order. At step 0 every window starting at 0 acts in list order;
    later, iteration-based windows (every=1) act before epoch-based ones, as MMEngine's
    ParamSchedulerHook steps them.
    """

    kind: ClassVar[str] = "windows"
    maps_to: ClassVar[Tuple[str, ...]] = ("MMEngine param_scheduler list",)
    windows: Tuple[Window, ...] = ()

    def _validate(self) -> None:
        if isinstance(self.windows, (str, bytes, dict)) or not hasattr(self.windows, "__iter__"):
            raise SpecError("windows", "must be a list of windows", self.windows)
        ws = []
        for i, w in enumerate(self.windows):
            if isinstance(w, dict):
                try:
                    w = Window(**w)
                except TypeError as e:
                    raise SpecError(f"windows[{i}]", f"bad window fields ({e})", list(w)) from None  # type: ignore[call-overload]
                except SpecError as e:
                    raise _prefix(e, f"windows[{i}]") from None
            if not isinstance(w, Window):
                raise SpecError(f"windows[{i}]", "must be a window {schedule, begin, end, every}", w)
            ws.append(w)
        if not ws:
            raise SpecError("windows", "must contain at least one window", [])
        self._set("windows", tuple(ws))

    def children(self) -> Tuple[Node, ...]:
        return tuple(w.schedule for w in self.windows)


@_register
@dataclass(frozen=True)
class Hold(Node):
    """v(t) = child(floor(t/every)): an epoch-based schedule on an iteration axis."""

    kind: ClassVar[str] = "hold"
    maps_to: ClassVar[Tuple[str, ...]] = ("stepping a scheduler once per epoch", "MindSpore dynamic-lr functions (step_per_epoch)")
    schedule: Node = field(default_factory=lambda: Constant())
    every: int = 1

    def _validate(self) -> None:
        self._set("schedule", _node("schedule", self.schedule))
        self._set("every", c.integer("every", self.every, lo=1))

    def children(self) -> Tuple[Node, ...]:
        return (self.schedule,)


@_register
@dataclass(frozen=True)
class Shift(Node):
    """v(t) = child(t + offset): a schedule resumed at step ``offset``."""

    kind: ClassVar[str] = "shift"
    maps_to: ClassVar[Tuple[str, ...]] = ("last_epoch / last_step != -1",)
    schedule: Node = field(default_factory=lambda: Constant())
    offset: int = 0

    def _validate(self) -> None:
        self._set("schedule", _node("schedule", self.schedule))
        self._set("offset", c.integer("offset", self.offset, lo=0))

    def children(self) -> Tuple[Node, ...]:
        return (self.schedule,)


@_register
@dataclass(frozen=True)
class Stride(Node):
    """v(t) = child(min(t*every + offset, last)): a schedule read every ``every`` steps.

    MMEngine's gradient accumulation (``accumulative_counts=k``): the schedulers step every
    iteration, the optimizer updates after iterations k-1, 2k-1, ... and after the last one
    (``last``, None: no last partial window), so update t uses the iteration schedule there.
    """

    kind: ClassVar[str] = "stride"
    maps_to: ClassVar[Tuple[str, ...]] = ("MMEngine optim_wrapper.accumulative_counts",)
    schedule: Node = field(default_factory=lambda: Constant())
    every: int = 1
    offset: int = 0
    last: Optional[int] = None

    def _validate(self) -> None:
        self._set("schedule", _node("schedule", self.schedule))
        self._set("every", c.integer("every", self.every, lo=1))
        self._set("offset", c.integer("offset", self.offset, lo=0))
        self._set("last", c.opt_int("last", self.last, lo=0))

    def children(self) -> Tuple[Node, ...]:
        return (self.schedule,)


# ---------------------------------------------------------------------------
# dict -> node
# ---------------------------------------------------------------------------


def _prefix(e: SpecError, prefix: str) -> SpecError:
    path = f"{prefix}.{e.path}" if e.path and not e.path.startswith("[") else f"{prefix}{e.path}"
    return SpecError(path, e.reason, e.value, show_value=e.show_value)


#: Deepest nesting of composite nodes read from a dict (no framework composes deeper).
MAX_DEPTH = 64


def node_from_dict(d: Any, path: str = "schedule", _depth: int = 0) -> Node:
    """Build a node from its dict form; errors carry ``path``."""
    if isinstance(d, Node):
        return d
    if _depth > MAX_DEPTH:
        raise SpecError(path, f"is nested too deeply (more than {MAX_DEPTH} composite levels); "
                        "flatten the composition or tabulate part of it", None, show_value=False)
    if not isinstance(d, dict):
        raise SpecError(path, "must be a mapping with a 'kind'", d)
    if "kind" not in d:
        raise SpecError(path, "has no 'kind' (one of: " + ", ".join(sorted(KINDS)) + ")", sorted(d))
    kind = d["kind"]
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None or cls in (Lambda, Multiplicative):
        hint = ""
        if kind in ("lambda", "multiplicative"):
            hint = " (a Python callable cannot be read from a file; use a 'table')"
        close = _closest(str(kind), KINDS)
        raise SpecError(f"{path}.kind", "unknown schedule kind" + hint +
                        (f"; did you mean {close!r}?" if close else ""), kind)
    names = {f.name for f in dataclasses.fields(cls)}
    extra = sorted(set(d) - names - {"kind"})
    if extra:
        close = _closest(extra[0], names)
        raise SpecError(f"{path}.{extra[0]}", f"unknown field for kind {kind!r} (fields: {', '.join(sorted(names))})"
                        + (f"; did you mean {close!r}?" if close else ""), d[extra[0]])
    kw: Dict[str, Any] = {}
    for name in names:
        if name not in d:
            continue
        v = d[name]
        if name == "schedule":
            v = node_from_dict(v, f"{path}.schedule", _depth + 1)
        elif name == "schedules" and isinstance(v, list):
            v = tuple(node_from_dict(x, f"{path}.schedules[{i}]", _depth + 1) for i, x in enumerate(v))
        elif name == "windows" and isinstance(v, list):
            ws = []
            for i, w in enumerate(v):
                wp = f"{path}.windows[{i}]"
                if isinstance(w, dict) and "schedule" in w:
                    w = dict(w)
                    w["schedule"] = node_from_dict(w["schedule"], f"{wp}.schedule", _depth + 1)
                    try:
                        w = Window(**w)
                    except TypeError as e:
                        raise SpecError(wp, f"bad window fields ({e})", sorted(w)) from None
                    except SpecError as e:
                        raise _prefix(e, wp) from None
                elif isinstance(w, dict):
                    raise SpecError(wp, "has no 'schedule'", sorted(w))
                ws.append(w)
            v = tuple(ws)
        elif isinstance(v, list):
            v = tuple(v)
        kw[name] = v
    try:
        return cls(**kw)
    except SpecError as e:
        raise _prefix(e, path) from None


def _closest(word: str, options: Any) -> Optional[str]:
    import difflib

    m = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return m[0] if m else None


def is_finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
