"""MindSpore 2.x, both directions: the public names, one module per MindSpore API behind them.

``mindspore_nn`` (lists, cells, source, the nn importers), ``mindspore_groups`` (optimizer
group params), ``mindspore_experimental`` (``mindspore.experimental.optim`` scheduler and its
importer), ``mindspore_cells`` (the cell classes). :func:`from_mindspore` dispatches here.

Lowering (IR -> MindSpore)
    :func:`to_mindspore_list` / :func:`to_mindspore_tensor`: the per-step list an
    optimizer takes as ``learning_rate`` (element t = v(t), used by the update with
    ``global_step == t``; past the end MindSpore raises "Gather index out of range").
    :func:`to_mindspore_cell`: a graph-compilable ``LearningRateSchedule``.
    :func:`to_mindspore_group_params`: the ``group_params`` list of an optimizer.

Import (MindSpore -> IR)
    :func:`from_mindspore`: dynamic-lr functions (by name or function), the six
    ``LearningRateSchedule`` cells, ``mindspore.experimental.optim.lr_scheduler``
    objects and bare lists / arrays / 1-D tensors.

MindSpore is imported inside the functions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SpecError
from ..ir import nodes
from ..ir.plan import Plan
from .mindspore_experimental import from_experimental, to_mindspore_scheduler
from .mindspore_groups import mixed_lr_groups, to_mindspore_group_params
from .mindspore_nn import (  # noqa: F401 - the public names of the split modules stay importable here
    DYNAMIC_LR_SIGNATURES,
    DYNAMIC_WD_OPTIMIZERS,
    FLOAT32_EXACT_STEPS,
    INT32_MAX_STEP,
    POLY_POWER_MAX,
    SOURCE_TABLE_LIMIT,
    MindSporePrecisionWarning,
    check_steps,
    from_cell,
    from_custom_cell,
    from_function,
    to_mindspore_cell,
    to_mindspore_list,
    to_mindspore_source,
    to_mindspore_tensor,
)

__all__ = [
    "FLOAT32_EXACT_STEPS", "INT32_MAX_STEP", "MindSporePrecisionWarning", "DYNAMIC_WD_OPTIMIZERS", "from_mindspore",
    "mixed_lr_groups", "to_mindspore_cell", "to_mindspore_group_params", "to_mindspore_list", "to_mindspore_scheduler",
    "to_mindspore_source", "to_mindspore_tensor",
]

def __getattr__(name: str) -> Any:
    # PlanScheduler lives in mindspore_experimental, created on first use (PEP 562).
    if name == "PlanScheduler":
        from . import mindspore_experimental

        return mindspore_experimental.PlanScheduler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _horizon(plan: Plan, total_steps: Any) -> Plan:
    if total_steps is None:
        return plan
    return Plan(plan.groups, plan.epoch_length, check_steps(total_steps), plan.source)


def from_mindspore(obj_or_name: Any, *args: Any, **kwargs: Any) -> Plan:
    """Read a MindSpore schedule into a :class:`~bridge.ir.Plan`.

    - a dynamic-lr function name (or the function) plus its arguments, e.g.
      ``from_mindspore("cosine_decay_lr", 0.0, 1.0, 12, 2, 4)``: per-step values
      use the epoch floor(i/step_per_epoch) (an IR ``hold``); ``plan.total_steps`` is
      ``total_step`` (the list's length);
    - a ``LearningRateSchedule`` cell (ExponentialDecayLR, NaturalExpDecayLR,
      InverseDecayLR, CosineDecayLR, PolynomialDecayLR, WarmUpLR) or a cell made by
      :func:`to_mindspore_cell`;
    - a ``mindspore.experimental.optim.lr_scheduler`` object (torch names and
      semantics; read from its construction, whatever it has been stepped since);
    - a list / tuple / NumPy array / 1-D Tensor of per-step values: a table that
      ends where the list ends (``after='error'``, as MindSpore raises there);
    - a user's own ``LearningRateSchedule`` subclass, with ``total_steps=N``: evaluated at
      steps 0..N-1 (:func:`~bridge.frameworks.mindspore_nn.from_custom_cell`), a table of the
      values MindSpore computed.
    """
    if callable(obj_or_name) and getattr(obj_or_name, "__name__", None) in DYNAMIC_LR_SIGNATURES \
            and not hasattr(obj_or_name, "construct"):
        obj_or_name = obj_or_name.__name__
    if isinstance(obj_or_name, str):
        name = obj_or_name.rsplit(".", 1)[-1]
        if name not in DYNAMIC_LR_SIGNATURES:
            import difflib

            close = difflib.get_close_matches(name, list(DYNAMIC_LR_SIGNATURES), n=1)
            raise SpecError("name", "unknown MindSpore dynamic-lr function (one of: " + ", ".join(DYNAMIC_LR_SIGNATURES) + ")"
                            + (f"; did you mean {close[0]!r}?" if close else ""), obj_or_name)
        return from_function(name, args, kwargs)
    total_steps = kwargs.pop("total_steps", None)
    progress = kwargs.pop("progress", True)
    if args or kwargs:
        raise SpecError("from_mindspore", "extra arguments are only for dynamic-lr function names (a custom "
                        "LearningRateSchedule takes total_steps= and progress=)", (args, kwargs))
    bp = getattr(obj_or_name, "bridge_plan", None)
    if isinstance(bp, Plan):
        return bp if total_steps is None else _horizon(bp, total_steps)
    from .._frameworks import detect, framework_class

    is_ms = detect(obj_or_name) == "mindspore"  # a user's subclass counts as its MindSpore base
    mro = [c.__name__ for c in type(obj_or_name).__mro__] if is_ms else []
    for cls in ("ExponentialDecayLR", "NaturalExpDecayLR", "InverseDecayLR", "CosineDecayLR", "PolynomialDecayLR",
                "WarmUpLR"):
        if cls in mro:
            return _horizon(from_cell(obj_or_name, cls), total_steps)
    if is_ms and "lr_scheduler" in (getattr(framework_class(obj_or_name), "__module__", None) or "") \
            and hasattr(obj_or_name, "optimizer"):
        return from_experimental(obj_or_name)
    if "LearningRateSchedule" in mro:
        return from_custom_cell(obj_or_name, total_steps, progress=progress)
    if total_steps is not None:
        raise SpecError("total_steps", "is only for a custom LearningRateSchedule (a list's length is its horizon)",
                        total_steps)
    vals = obj_or_name
    if hasattr(vals, "asnumpy"):
        vals = vals.asnumpy()
    if isinstance(vals, (list, tuple, np.ndarray)):
        if isinstance(vals, (list, tuple)):
            for i, x in enumerate(vals):
                if isinstance(x, (list, tuple)):
                    break  # the shape check below names it
                if isinstance(x, bool) or not isinstance(x, (int, float, np.number)):
                    raise SpecError(f"values[{i}]", "must be a number (MindSpore refuses other types)", x)
        try:
            arr = np.asarray(vals, dtype=np.float64) if not isinstance(vals, np.ndarray) else vals.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise SpecError("values", f"must be a 1-D list of numbers ({e})", None, show_value=False) from None
        if arr.ndim != 1 or arr.size == 0:
            raise SpecError("values", "must be a non-empty 1-D list of per-step values", np.shape(arr))
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
        if bad.size:
            raise SpecError(f"values[{int(bad[0])}]", "must be a finite number >= 0", float(arr[bad[0]]))
        return Plan.single(nodes.Table(arr, after="error"),
                           base=float(arr[0]), total_steps=int(arr.size),
                           source="mindspore dynamic lr list")
    raise SpecError("from_mindspore", "expected a dynamic-lr function name, a LearningRateSchedule cell, an "
                    "experimental lr_scheduler or a list of per-step values", type(obj_or_name).__name__)
