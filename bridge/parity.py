"""What "the same schedule" means, written once: the parity contracts, recording, comparing.

The contracts (DESIGN.md, docs/step-contract.md) as named constants:

- float64 frameworks (PyTorch, OneFlow, MMEngine):
  ``|ours - theirs| <= FLOAT64_RTOL * max(|theirs|, |base|)`` at every step;
- MindSpore per-step lists / Tensors: identical after rounding both sides to
  ``MINDSPORE_LIST_DTYPE`` (float32);
- MindSpore ``LearningRateSchedule`` cells (float32 arithmetic):
  ``|ours - theirs| <= MINDSPORE_CELL_RTOL * |theirs|`` wherever
  ``|theirs| >= MINDSPORE_CELL_FLOOR * |base|`` (below that floor nothing is required);
- an explicit tolerance (probe traces, ``assert_same_schedule(rtol=...)``):
  ``|ours - theirs| <= rtol * max(|ours|, |theirs|) + atol``, ``rtol`` defaulting to
  ``TRACE_RTOL`` (float32 frameworks; use ``FLOAT64_RTOL`` between float64 ones).

Under every contract two equal values (also two infinities of one sign) and two NaNs
agree; a NaN on one side only never does.

- :func:`compare` checks two ``(steps, groups)`` trajectories under a contract and returns a
  :class:`Comparison` (ok, worst errors, first divergent step and group, one-line summary).
  ``sched-bridge parity`` / ``demo``, the ``to_mmengine`` round trip,
  :func:`bridge.testing.assert_same_schedule`, :func:`bridge.probes.compare` and the test
  suite all call it (or :func:`agree`, its element-wise core).
- :func:`record` reads the per-step values of a live object (torch / OneFlow scheduler,
  MindSpore cell or Tensor, a Plan, a list or array) without changing it.
- :func:`framework_values` lowers a Plan to a framework, steps the real framework and
  records what it produced; :func:`expression_values` builds a torch expression with torch
  itself (``sched-bridge parity``'s ``torch (source)`` row: an importer error cannot pass as a
  plan agreeing with its own lowering).

No framework is imported unless an object of it is passed (or asked for by name).
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ._frameworks import PARITY_FRAMEWORKS, detect
from .errors import SpecError, UnsupportedError
from .ir import Plan

__all__ = [
    "CONTRACTS", "FLOAT64_RTOL", "MINDSPORE_CELL_FLOOR", "MINDSPORE_CELL_RTOL", "MINDSPORE_LIST_DTYPE",
    "TARGET_CONTRACTS", "TRACE_RTOL", "Comparison", "agree", "compare", "contract_for", "expression_values",
    "format_number", "framework_targets", "framework_values", "mmengine_values", "record", "Target",
]

#: float64 frameworks: |ours - theirs| <= FLOAT64_RTOL * max(|theirs|, |base|)
FLOAT64_RTOL = 1e-12
#: MindSpore lists and Tensors: both sides identical after rounding to this dtype
MINDSPORE_LIST_DTYPE = np.float32
#: MindSpore cells: relative error at most this ...
MINDSPORE_CELL_RTOL = 2e-6
#: ... wherever |theirs| >= MINDSPORE_CELL_FLOOR * |base|
MINDSPORE_CELL_FLOOR = 1e-6
#: default rtol of an explicit tolerance between recorded traces (float32 frameworks)
TRACE_RTOL = 2e-6

CONTRACTS = ("float64", "mindspore-list", "mindspore-cell", "tolerance")

#: the contract of each target of ``sched-bridge parity`` (its row names)
TARGET_CONTRACTS: Dict[str, str] = {
    "torch": "float64", "torch (source)": "float64", "oneflow": "float64", "mmengine": "float64",
    "mmengine (source)": "float64",
    "mindspore-list": "mindspore-list", "mindspore-cell": "mindspore-cell",
}


def format_number(x: float) -> str:
    """A tolerance as the docs write it: ``2e-06`` -> ``2e-6``, ``1e-12`` -> ``1e-12``."""
    return f"{x:g}".replace("e-0", "e-").replace("e+0", "e+")


def contract_for(target: str) -> str:
    """The contract a parity row of ``target`` is held to (float64 unless a MindSpore list or cell)."""
    return TARGET_CONTRACTS.get(target, "float64")


def _note(contract: str, rtol: float, atol: float) -> str:
    if contract == "float64":
        return f"float64: |err| <= {format_number(FLOAT64_RTOL)}*max(|value|, base)"
    if contract == "mindspore-list":
        return "float32 tensor: identical after rounding"
    if contract == "mindspore-cell":
        return (f"float32 cell: rel <= {format_number(MINDSPORE_CELL_RTOL)} where value >= "
                f"{format_number(MINDSPORE_CELL_FLOOR)}*base")
    return f"rtol={rtol:g}, atol={atol:g}"


def _as_2d(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise SpecError(name, f"must be per-step numbers ({e})", None, show_value=False) from None
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim != 2:
        raise SpecError(name, "must be 1-D (steps,) or 2-D (steps, groups)", arr.shape)
    return arr


def _bases(bases: Any, groups: int) -> np.ndarray:
    if bases is None:
        return np.zeros(groups)
    b = np.abs(np.asarray(bases, dtype=np.float64)).reshape(-1)
    if b.size == 1:
        return np.full(groups, float(b[0]))
    if b.size != groups:
        raise SpecError("bases", f"must be one base or one per group ({groups})", b.tolist())
    return b


def _check_contract(contract: str, rtol: Optional[float], atol: float) -> Tuple[float, float]:
    if contract not in CONTRACTS:
        raise SpecError("contract", f"must be one of {', '.join(repr(c) for c in CONTRACTS)}", contract)
    if contract != "tolerance" and (rtol is not None or atol):
        raise SpecError("rtol", f"only the 'tolerance' contract takes rtol/atol; {contract!r} is fixed",
                        rtol if rtol is not None else atol)
    r = TRACE_RTOL if rtol is None else float(rtol)
    a = float(atol)
    if not (r >= 0 and a >= 0 and np.isfinite(r) and np.isfinite(a)):
        raise SpecError("rtol" if not (r >= 0 and np.isfinite(r)) else "atol", "must be a finite number >= 0",
                        r if not (r >= 0 and np.isfinite(r)) else a)
    return r, a


def _agree(x: np.ndarray, y: np.ndarray, b: np.ndarray, contract: str, rtol: float, atol: float) -> np.ndarray:
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(x - y)
        if contract == "float64":
            within = err <= FLOAT64_RTOL * np.maximum(np.abs(y), b)
        elif contract == "mindspore-list":
            within = x.astype(MINDSPORE_LIST_DTYPE) == y.astype(MINDSPORE_LIST_DTYPE)
        elif contract == "mindspore-cell":
            within = (err <= MINDSPORE_CELL_RTOL * np.abs(y)) | (np.abs(y) < MINDSPORE_CELL_FLOOR * b)
        else:
            within = err <= rtol * np.maximum(np.abs(x), np.abs(y)) + atol
    return same | within


def agree(ours: Any, theirs: Any, bases: Any = None, contract: str = "float64", *,
          rtol: Optional[float] = None, atol: float = 0.0) -> np.ndarray:
    """Element-wise: True where ``ours`` and ``theirs`` agree under ``contract``.

    ``ours`` / ``theirs``: arrays of one shape (``theirs`` is the reference: the real
    framework); ``bases``: broadcast against them (one per group on the last axis, or one
    for all), or None (0: the float64 contract is then purely relative, the cell floor 0).
    ``rtol`` / ``atol`` only with ``contract="tolerance"``.
    """
    r, a = _check_contract(contract, rtol, atol)
    x, y = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if x.shape != y.shape:
        raise SpecError("theirs", f"must have the shape of ours {x.shape}", y.shape)
    b = np.abs(np.asarray(0.0 if bases is None else bases, dtype=np.float64))
    try:
        np.broadcast_shapes(b.shape, x.shape)
    except ValueError:
        raise SpecError("bases", f"must broadcast against the values {x.shape}", b.shape) from None
    return _agree(x, y, b, contract, r, a)


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: ``ok`` when every step of every group agrees."""

    contract: str
    ours: np.ndarray
    theirs: np.ndarray
    bad: np.ndarray  #: (steps, groups) True where the contract fails
    note: str  #: the contract in words, e.g. ``float64: |err| <= 1e-12*max(|value|, base)``

    @property
    def ok(self) -> bool:
        return not bool(self.bad.any())

    @property
    def n_steps(self) -> int:
        return int(self.bad.shape[0])

    @property
    def n_bad_steps(self) -> int:
        """Steps where at least one group fails."""
        return int(self.bad.any(axis=1).sum())

    @property
    def first(self) -> Optional[Tuple[int, int]]:
        """(step, group) of the first failure (earliest step, then lowest group), or None."""
        rows = np.nonzero(self.bad.any(axis=1))[0]
        if not rows.size:
            return None
        t = int(rows[0])
        return t, int(np.nonzero(self.bad[t])[0][0])

    @property
    def abs_err(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.abs(self.ours - self.theirs)

    @property
    def max_abs(self) -> float:
        return float(self.abs_err.max(initial=0.0))

    @property
    def max_rel(self) -> float:
        """Largest ``|ours - theirs| / |theirs|`` (``/ 1`` where theirs is 0)."""
        t = np.abs(self.theirs)
        return float((self.abs_err / np.where(t > 0, t, 1.0)).max(initial=0.0))

    def summary(self, what: str = "") -> str:
        """One line: ok, or the first divergent step and group with both values."""
        head = f"{what}: " if what else ""
        if self.ok:
            return f"{head}same over {self.n_steps} steps ({self.note})"
        t, g = self.first  # type: ignore[misc]
        return (f"{head}differs first at step {t} (group {g}): ours {float(self.ours[t, g])!r} vs theirs "
                f"{float(self.theirs[t, g])!r} (abs err {self.abs_err[t, g]:.3g}; {self.note}; "
                f"{self.n_bad_steps} of {self.n_steps} steps differ)")

    def row(self, name: str) -> Dict[str, Any]:
        """The row ``sched-bridge parity`` prints for target ``name``."""
        first = self.first
        return {"framework": name, "max_abs": self.max_abs, "max_rel": self.max_rel,
                "first_divergent": None if first is None else first[0], "ok": self.ok, "note": self.note}


def compare(ours: Any, theirs: Any, bases: Any = None, contract: str = "float64", *,
            rtol: Optional[float] = None, atol: float = 0.0) -> Comparison:
    """Compare two trajectories, ``(steps,)`` or ``(steps, groups)``, under ``contract``.

    ``theirs`` is the reference (what the real framework produced); ``bases``: the base value
    of each group (``plan.bases(field)``), one for all, or None (0). ``contract``: one of
    :data:`CONTRACTS` (see the module docstring); ``rtol`` / ``atol`` only with
    ``"tolerance"`` (``rtol`` defaults to :data:`TRACE_RTOL`).
    """
    r, a = _check_contract(contract, rtol, atol)
    x, y = _as_2d(ours, "ours"), _as_2d(theirs, "theirs")
    if x.shape != y.shape:
        raise SpecError("theirs", f"must have the shape of ours {x.shape}", y.shape)
    b = _bases(bases, x.shape[1])
    bad = ~_agree(x, y, b[None, :], contract, r, a)
    return Comparison(contract, x, y, bad, _note(contract, r, a))


# --------------------------------------------------------------------------- recording


def _steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise SpecError("steps", "must be a whole number >= 0", steps)
    return int(steps)


def _is_torch_like_scheduler(obj: Any) -> bool:
    """Duck-typed torch-style scheduler of no known framework (a third-party class)."""
    return hasattr(obj, "optimizer") and hasattr(obj, "last_epoch") and hasattr(obj, "state_dict")


def _pad(arr: np.ndarray, steps: int, what: str) -> np.ndarray:
    if arr.shape[0] < steps:
        raise AssertionError(f"{what} has {arr.shape[0]} values, fewer than steps={steps}")
    return arr[:steps].reshape(steps, 1)


def _record_torch(obj: Any, steps: int, field: str) -> np.ndarray:
    """A torch (or MMEngine: same protocol) scheduler, stepped as a deep copy."""
    from .frameworks.torch import record_torch

    s = copy.deepcopy(obj)  # copies the optimizer it references too
    with warnings.catch_warnings():  # the copy's optimizer.step wrapper is a fresh object
        warnings.filterwarnings("ignore", message=".*optimizer.step.*")
        return record_torch(s, s.optimizer, steps, (field,))[field]


def _record_oneflow(obj: Any, steps: int, field: str) -> np.ndarray:
    from .frameworks._fields import read_field, write_field

    # OneFlow schedulers cannot be deep-copied: step the object, then restore its state
    groups = obj.optimizer.param_groups
    state = copy.deepcopy(obj.state_dict())
    keys = sorted({"lr", field})
    saved = [{k: read_field(g, k) for k in keys} for g in groups]
    out = np.empty((steps, len(groups)))
    try:
        for t in range(steps):
            if t:
                obj.step()
            out[t] = [float(read_field(g, field)) for g in groups]
    finally:
        obj.load_state_dict(state)
        for g, vals in zip(groups, saved):
            for k, v in vals.items():
                write_field(g, k, v)
    return out


def _record_mindspore(obj: Any, steps: int) -> np.ndarray:
    import mindspore as ms

    if isinstance(obj, ms.Tensor):
        arr = obj.asnumpy().astype(np.float64).reshape(-1)
        return _pad(arr, steps, "the MindSpore Tensor")
    if not callable(obj):
        raise SpecError("schedule", "a MindSpore object is read when it is a LearningRateSchedule cell or a "
                        "Tensor of per-step values", type(obj).__name__)
    out = obj(ms.Tensor(np.arange(steps, dtype=np.int32)))
    arr = np.asarray(out.asnumpy(), dtype=np.float64).reshape(-1)
    return np.broadcast_to(arr, (steps,)).reshape(steps, 1).copy()


def record(obj: Any, steps: int, field: str = "lr") -> np.ndarray:
    """Per-step values of ``obj`` as a float64 array ``(steps, groups)``; row t is update t.

    ``obj``: a :class:`~bridge.Plan` (its values); a torch or MMEngine scheduler (a deep copy of
    it and its optimizer is stepped ``optimizer.step(); scheduler.step()``, yours is untouched); a
    OneFlow scheduler (stepped, then its ``state_dict()`` and the group values are restored:
    OneFlow objects cannot be deep-copied); a MindSpore ``LearningRateSchedule`` cell (called
    once on ``Tensor(arange(steps), int32)``) or ``Tensor``; a list / tuple / NumPy array
    (1-D: one group, 2-D: ``(steps, groups)``). The framework is found with
    :func:`bridge.detect` (a subclass of a framework class counts); nothing is imported
    unless such an object is passed.
    """
    steps = _steps(steps)
    if isinstance(obj, Plan):
        return obj.values(steps, field)
    fw = detect(obj)
    if fw in ("torch", "mmengine") and hasattr(obj, "optimizer") or fw is None and _is_torch_like_scheduler(obj):
        return _record_torch(obj, steps, field)
    if fw == "oneflow" and hasattr(obj, "optimizer"):
        return _record_oneflow(obj, steps, field)
    if fw == "mindspore":
        return _record_mindspore(obj, steps)
    if isinstance(obj, (list, tuple, np.ndarray)) or hasattr(obj, "__array__"):
        try:
            arr = np.asarray(obj, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as e:
            raise SpecError("schedule", f"a list/array of per-step values must hold numbers ({e})",
                            obj) from None
        if arr.ndim == 1:
            return _pad(arr, steps, "the list")
        if arr.ndim == 2:
            if arr.shape[0] < steps:
                raise AssertionError(f"the array has {arr.shape[0]} rows, fewer than steps={steps}")
            return arr[:steps]
        raise AssertionError(f"expected a 1-D or 2-D array of per-step values, got shape {arr.shape}")
    what = f"{fw} " if fw else ""
    raise SpecError("schedule", f"cannot read a schedule from a {what}{type(obj).__name__}: pass a bridge.Plan, a "
                    "torch / OneFlow scheduler, a MindSpore cell or Tensor, or a list/array of per-step values",
                    obj)


# --------------------------------------------------------------------------- a plan through a framework


def _param_groups(plan: Plan, mk: Callable[[], Any]) -> List[Dict[str, Any]]:
    out = []
    for g in plan.groups:
        d: Dict[str, Any] = {"params": [mk()]}
        for f, fld in g.fields.items():
            if not f.startswith("betas["):
                d[f] = fld.base
        if "betas[0]" in g.fields or "betas[1]" in g.fields:  # each from its own field; torch's defaults else
            d["betas"] = tuple(g.fields[f"betas[{i}]"].base if f"betas[{i}]" in g.fields else default
                               for i, default in enumerate((0.9, 0.999)))
        out.append(d)
    return out


def _torch_values(plan: Plan, steps: int, field: str) -> Tuple[np.ndarray, str]:
    from ._frameworks import import_framework
    from .frameworks.torch import record_torch, to_torch

    torch = import_framework("torch")
    groups = _param_groups(plan, lambda: torch.zeros(1, requires_grad=True))
    adam = any("betas" in g for g in groups)
    opt = (torch.optim.Adam if adam else torch.optim.SGD)(groups, lr=float(plan.bases("lr")[0])
                                                           if "lr" in plan.fields else 0.1)
    sched = to_torch(plan, opt)
    return record_torch(sched, opt, steps, (field,))[field], _lowered("to_torch", sched, "torch.")


def _lowered(call: str, sched: Any, native_prefix: str) -> str:
    """What a lowering built: the framework's own class (an exact twin) or sched-bridge's driver."""
    cls = type(sched)
    native = cls.__module__.startswith(native_prefix)
    return f"lowering: {call} -> {cls.__name__} ({'native class' if native else 'sched-bridge, plan-driven'})"


def _oneflow_values(plan: Plan, steps: int, field: str) -> Tuple[np.ndarray, str]:
    from ._frameworks import import_framework
    from .frameworks.oneflow import to_oneflow

    flow = import_framework("oneflow")
    groups = _param_groups(plan, lambda: flow.nn.Parameter(flow.zeros(1)))
    opt = flow.optim.SGD(groups, lr=0.1)
    sched = to_oneflow(plan, opt)
    return _record_oneflow(sched, steps, field), _lowered("to_oneflow", sched, "oneflow.")


def _mindspore_values(plan: Plan, steps: int, field: str, target: str) -> np.ndarray:
    """``target`` ("mindspore-list" or "mindspore-cell") of every group, as MindSpore evaluates it."""
    from ._frameworks import import_framework
    from .frameworks.mindspore import to_mindspore_cell, to_mindspore_tensor

    import_framework("mindspore")
    out = np.empty((steps, plan.n_groups))
    for g in range(plan.n_groups):
        obj = to_mindspore_tensor(plan, steps, g, field) if target == "mindspore-list" else \
            to_mindspore_cell(plan, g, field, sample=steps)
        out[:, g] = _record_mindspore(obj, steps)[:, 0]
    return out


def framework_values(plan: Plan, framework: str, steps: int, field: str = "lr") -> Dict[str, np.ndarray]:
    """Values the REAL framework produces for ``plan`` (lowered, then stepped): target -> (steps, G).

    ``framework``: ``"torch"`` (``{"torch": ...}``), ``"oneflow"`` or ``"mindspore"``
    (``{"mindspore-list": ..., "mindspore-cell": ...}``); compare each with
    ``compare(plan.values(steps, field), theirs, plan.bases(field), contract_for(target))``.
    """
    return {t.name: t.values for t in framework_targets(plan, framework, steps, field) if t.values is not None}


@dataclass(frozen=True)
class Target:
    """One row of ``sched-bridge parity``: what a real framework produced for a plan.

    ``kind``: ``"lowering"`` (the plan lowered by sched-bridge, then stepped: it checks the
    lowering, not the reading of the source) or ``"source"`` (the framework's own objects
    built from what the user wrote: a torch expression, an MMEngine config's
    ``param_scheduler``); ``what``: how the values were made, in words; ``values``:
    ``(steps, groups)``, or None when the target cannot schedule the field at all
    (``reason`` says why: "not applicable", which is neither ok nor a difference).
    """

    name: str
    kind: str
    what: str
    values: Optional[np.ndarray]
    reason: str = ""
    seconds: float = 0.0


#: fields a MindSpore ``nn`` optimizer takes as a per-step schedule: name -> targets that can carry it
MINDSPORE_SCHEDULABLE: Dict[str, Tuple[str, ...]] = {
    "lr": ("mindspore-list", "mindspore-cell"),
    "weight_decay": ("mindspore-cell",),  # weight_decay: a number or a Cell, never a list
}


def _mindspore_targets(plan: Plan, steps: int, field: str) -> List[Target]:
    can = MINDSPORE_SCHEDULABLE.get(field, ())
    what = {"mindspore-list": "lowering: to_mindspore_tensor (float32 per-step Tensor)",
            "mindspore-cell": "lowering: to_mindspore_cell (LearningRateSchedule cell)"}
    out = []
    for name in ("mindspore-list", "mindspore-cell"):
        if name in can:
            t0 = time.perf_counter()
            v = _mindspore_values(plan, steps, field, name)
            out.append(Target(name, "lowering", what[name], v, seconds=time.perf_counter() - t0))
        elif field == "weight_decay":
            out.append(Target(name, "lowering", what[name], None, "MindSpore optimizers take weight_decay as a "
                              "number or a Cell, not a per-step list"))
        else:
            out.append(Target(name, "lowering", what[name], None, f"MindSpore nn optimizers cannot schedule "
                              f"{field!r} (only learning_rate, and weight_decay as a Cell)"))
    return out


def framework_targets(plan: Plan, framework: str, steps: int, field: str = "lr") -> List[Target]:
    """:func:`framework_values` with what each row is (:class:`Target`: lowering or source,
    the class built, "not applicable" where the framework cannot schedule ``field``).

    ``framework``: ``"torch"``, ``"oneflow"``, ``"mindspore"``, or ``"mmengine"`` (the plan
    through :func:`bridge.to_mmengine`, then MMEngine's schedulers stepped like
    ``ParamSchedulerHook``; a plan MMEngine cannot express is "not applicable").
    """
    steps = _steps(steps)
    t0 = time.perf_counter()
    if framework == "torch":
        v, what = _torch_values(plan, steps, field)
        return [Target("torch", "lowering", what, v, seconds=time.perf_counter() - t0)]
    if framework == "oneflow":
        v, what = _oneflow_values(plan, steps, field)
        return [Target("oneflow", "lowering", what, v, seconds=time.perf_counter() - t0)]
    if framework == "mindspore":
        return _mindspore_targets(plan, steps, field)
    if framework == "mmengine":
        from .frameworks.mmengine import to_mmengine

        what = "lowering: to_mmengine -> MMEngine schedulers, stepped like ParamSchedulerHook"
        try:
            entries = to_mmengine(plan, check_steps=min(steps, 10_000) or 1)
        except UnsupportedError as e:
            return [Target("mmengine", "lowering", what, None, f"MMEngine cannot express it: {e}")]
        v = mmengine_values(entries, plan, steps, field, max_iters=plan.total_steps)
        return [Target("mmengine", "lowering", what, v, seconds=time.perf_counter() - t0)]
    raise SpecError("--frameworks", f"expected some of {', '.join(PARITY_FRAMEWORKS + ('mmengine',))}", framework)


def _mmengine_schedulers(param_scheduler: Any, opt: Any, epoch_length: int, max_epochs: Optional[int],
                         max_iters: Optional[int]) -> List[Any]:
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    from mmengine.registry import PARAM_SCHEDULERS

    entries = [param_scheduler] if isinstance(param_scheduler, dict) else list(param_scheduler)
    out = []
    for raw in entries:
        cfg = copy.deepcopy(dict(raw))
        if "ReduceOnPlateau" in str(cfg.get("type")):
            raise UnsupportedError(f"{cfg.get('type')} steps on validation metrics; a parity run has none")
        if "end" not in cfg:  # Runner._build_param_scheduler: the train loop's max epochs / iters
            default = max_epochs if cfg.get("by_epoch", True) else max_iters
            if default is not None:
                cfg["end"] = default
        out.append(PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=opt, epoch_length=epoch_length)))
    return out


def mmengine_values(param_scheduler: Any, plan: Plan, steps: int, field: str = "lr", *,
                    max_epochs: Optional[int] = None, max_iters: Optional[int] = None) -> np.ndarray:
    """MMEngine's own schedulers for ``param_scheduler`` (a config's entries), stepped like
    ``ParamSchedulerHook``: ``(steps, groups)``, row t = the value update t uses.

    The optimizer is a torch SGD (Adam when ``plan`` has ``betas[0]``) with one group per plan
    group at the plan's base values; the schedulers are built through MMEngine's
    ``PARAM_SCHEDULERS`` registry with the Runner's default ``end`` (``max_epochs`` for
    epoch-based entries, ``max_iters`` for iteration-based ones; ``max_iters`` defaults to
    ``max_epochs * plan.epoch_length``) and ``epoch_length=plan.epoch_length``. Iteration-based
    schedulers step after every iteration, epoch-based ones after every ``epoch_length``.
    """
    from ._frameworks import import_framework
    from .frameworks._fields import read_field

    steps = _steps(steps)
    torch = import_framework("torch")
    import_framework("mmengine")
    L = plan.epoch_length or 1
    if max_iters is None and max_epochs is not None:
        max_iters = max_epochs * L
    groups = _param_groups(plan, lambda: torch.zeros(1, requires_grad=True))
    adam = any("betas" in g for g in groups)
    opt = (torch.optim.Adam if adam else torch.optim.SGD)(groups, lr=float(groups[0].get("lr", 0.1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": no training here
        scheds = _mmengine_schedulers(param_scheduler, opt, L, max_epochs, max_iters)
        by_iter = [s for s in scheds if not s.by_epoch]
        by_epoch = [s for s in scheds if s.by_epoch]
        pgs = opt.param_groups
        out = np.empty((steps, len(pgs)))
        for t in range(steps):
            out[t] = [float(read_field(g, field)) for g in pgs]
            for s in by_iter:
                s.step()
            if (t + 1) % L == 0:
                for s in by_epoch:
                    s.step()
    return out


def expression_values(expression: str, plan: Plan, steps: int, field: str = "lr", *,
                      dialect: Optional[str] = None) -> np.ndarray:
    """What torch itself produces for a torch scheduler ``expression`` (``(steps, groups)``).

    The expression is built with real torch (:func:`bridge.spec.build_torch`) on an SGD
    optimizer with one group per ``plan`` group at its base lr (momentum 0.9 when ``plan`` has
    a momentum field: a CyclicLR / OneCycleLR that cycles momentum) and stepped; ``plan`` is
    the expression's import (``bridge.spec.resolve``). Compare the result with
    ``plan.values(steps, field)`` under the float64 contract. What torch raises for the
    expression itself propagates.
    """
    from ._frameworks import import_framework
    from .frameworks.torch import record_torch
    from .spec import build_torch

    steps = _steps(steps)
    torch = import_framework("torch")
    bases = plan.bases("lr")
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": float(b)} for b in bases]
    opt = torch.optim.SGD(groups, lr=float(bases[0]), momentum=0.9 if "momentum" in plan.fields else 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = build_torch(expression, opt, dialect=dialect)
        return record_torch(sched, opt, steps, (field,))[field]
