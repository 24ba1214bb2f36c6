"""MindSpore ``mindspore.nn`` optimizer ``group_params``: :func:`to_mindspore_group_params`
and :func:`mixed_lr_groups`. MindSpore is imported inside the functions only."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from ..errors import SpecError, UnsupportedError
from ..ir.plan import Plan
from .mindspore_nn import (
    cell_classes,
    check_plan,
    check_steps,
    check_wd_optimizer,
    to_mindspore_cell,
    to_mindspore_list,
)

# ---------------------------------------------------------------------------
# group params
# ---------------------------------------------------------------------------


def to_mindspore_group_params(plan: Plan, params_per_group: Sequence[Sequence[Any]],
                              total_steps: Optional[int] = None, *, lr_as: str = "list",
                              order_params: Optional[Sequence[Any]] = None,
                              optimizer: Any = None, sample: Optional[int] = None) -> List[Dict[str, Any]]:
    """The ``group_params`` list for a ``mindspore.nn`` optimizer, one dict per plan group.

    ``lr``: a per-step list (``lr_as="list"``, needs ``total_steps``), a cell
    (``"cell"``) or a float (``"float"``, only for unscheduled lrs). ``weight_decay``
    (when the plan has it): a float, or a cell when scheduled (nn.SGD refuses
    those; pass ``optimizer`` to check). ``order_params`` goes last, alone in its dict.
    Static lrs are emitted as constant lists / cells when another group is dynamic,
    which avoids MindSpore's ``lr + 1.0 - 1.0`` float32 wrap (0.05 -> 0.04999995).
    """
    plan = check_plan(plan)
    if lr_as not in ("list", "cell", "float"):
        raise SpecError("lr_as", "must be 'list', 'cell' or 'float'", lr_as)
    if isinstance(params_per_group, (str, bytes)) or not hasattr(params_per_group, "__len__"):
        raise SpecError("params_per_group", "must be a list with one list of Parameters per plan group",
                        params_per_group)
    if len(params_per_group) != plan.n_groups:
        raise SpecError("params_per_group", f"must have one entry per plan group ({plan.n_groups})",
                        len(params_per_group))
    if lr_as == "list":
        if total_steps is None:
            raise SpecError("total_steps", "is needed with lr_as='list' (the length of each lr list)", None)
        total_steps = check_steps(total_steps)
    for i, g in enumerate(plan.groups):
        for name, fld in g.fields.items():
            if fld.schedule is not None and name not in ("lr", "weight_decay"):
                raise UnsupportedError(
                    f"groups[{i}].{name}: MindSpore group dicts take only params, lr, weight_decay, "
                    f"grad_centralization and order_params, so a scheduled {name!r} cannot be expressed; "
                    "use mindspore.experimental.optim with an IR-driven loop, or keep it constant")
    dyn = [plan.field(i, "lr").schedule is not None for i in range(plan.n_groups)]
    if lr_as == "float" and any(dyn):
        raise UnsupportedError(
            f"lr_as='float': groups {[i for i, d in enumerate(dyn) if d]} have a scheduled lr; "
            "use lr_as='list' or 'cell'")
    out: List[Dict[str, Any]] = []
    for i, params in enumerate(params_per_group):
        d: Dict[str, Any] = {"params": list(params)}
        base = float(plan.field(i, "lr").base)
        if lr_as == "float":
            d["lr"] = base
        elif lr_as == "list":
            d["lr"] = to_mindspore_list(plan, total_steps, i, "lr")  # type: ignore[arg-type]
        else:
            d["lr"] = to_mindspore_cell(plan, i, "lr", sample=sample)
        if "weight_decay" in plan.groups[i].fields:
            wf = plan.groups[i].fields["weight_decay"]
            if wf.schedule is None:
                d["weight_decay"] = float(wf.base)
            else:
                check_wd_optimizer(optimizer, True)
                if lr_as == "list" and total_steps is not None:
                    cells = cell_classes()
                    vals = plan.group_values(total_steps, "weight_decay", i)
                    d["weight_decay"] = cells["Schedule"](cells["TableCell"](vals, False), float(wf.base),
                                                      f"table of {total_steps} weight-decay steps")
                else:
                    d["weight_decay"] = to_mindspore_cell(plan, i, "weight_decay", sample=sample)
        out.append(d)
    if order_params is not None:
        out.append({"order_params": list(order_params)})
    return out


def mixed_lr_groups(group_params: Sequence[Dict[str, Any]]) -> List[int]:
    """Indices of groups whose static float lr MindSpore would wrap as ``lr + 1.0 - 1.0`` (float32)
    because another group's lr is dynamic (a list, 1-D tensor or cell)."""
    def dynamic(v: Any) -> bool:
        return not isinstance(v, (int, float)) and not (hasattr(v, "ndim") and v.ndim == 0)

    lrs = [g.get("lr") for g in group_params if "order_params" not in g]
    if not any(v is not None and dynamic(v) for v in lrs):
        return []
    return [i for i, v in enumerate(lrs) if isinstance(v, (int, float))]

