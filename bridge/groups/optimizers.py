"""Translate an optimizer (torch object or neutral description) plus a Plan to another framework.

Every hyper-parameter is passed explicitly (MindSpore's defaults differ:
AdamWeightDecay eps 1e-6, RMSProp lr 0.1, Adagrad accum 0.1 ...). Whatever
the target cannot express raises :class:`bridge.errors.UnsupportedError`;
nothing is dropped silently. Names come from mappings/optimizers.toml.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import mappings
from ..errors import SpecError, UnsupportedError
from ..ir import Field, Group, Plan, Table

__all__ = ["describe_optimizer", "port_source", "translate_optimizer"]

_CANON_SKIP = {"params", "param_names", "initial_lr", "foreach", "differentiable", "fused", "capturable",
               "decoupled_weight_decay", "name"}
_FALSY_OK = {"maximize": False, "amsgrad": False, "nesterov": False, "centered": False, "lr_decay": 0,
             "dampening": 0, "momentum": 0}


def describe_optimizer(source: Any) -> Dict[str, Any]:
    """Neutral description ``{"type", "defaults", "groups": [{"params", hyper-parameters...}]}``.

    ``source``: a torch / OneFlow optimizer or such a dict (group values
    override ``defaults``). Group ``params`` may be names or parameter objects.
    """
    if isinstance(source, Mapping):
        if "type" not in source or "groups" not in source:
            raise SpecError("source", "a description needs 'type' and 'groups'", sorted(source), show_value=True)
        defaults = dict(source.get("defaults", {}))
        groups = []
        for i, g in enumerate(source["groups"]):
            if "params" not in g:
                raise SpecError(f"source.groups[{i}]", "needs 'params'", g)
            groups.append({**defaults, **dict(g)})
        return {"type": str(source["type"]), "defaults": defaults, "groups": groups}
    if hasattr(source, "param_groups") and hasattr(source, "defaults"):
        groups = [dict(g) for g in source.param_groups]
        return {"type": type(source).__name__, "defaults": dict(source.defaults), "groups": groups}
    raise SpecError("source", "must be a torch/OneFlow optimizer or a description dict", type(source).__name__)


def _canon(opt: str, g: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in g.items() if k not in _CANON_SKIP}


def _shared(desc: Dict[str, Any], key: str) -> Any:
    vals = [g.get(key) for g in desc["groups"]]
    if any(v != vals[0] for v in vals):
        raise UnsupportedError(
            f"{key} differs between param groups ({vals}): MindSpore nn optimizers take {key} once for all "
            "groups (groups accept only params, lr, weight_decay, grad_centralization, order_params). "
            "Use one value, or target 'mindspore.experimental' / 'oneflow'")
    return vals[0]


def _pick_class(desc: Dict[str, Any], adamw: str) -> Tuple[str, str]:
    """(table optimizer name, framework key) for MindSpore."""
    t = desc["type"]
    if t == "SGD":
        g = desc["groups"][0]
        if float(g.get("momentum", 0) or 0) > 0 and float(g.get("dampening", 0) or 0) == 0:
            return "Momentum", "mindspore.nn"
        return "SGD", "mindspore.nn"
    if t == "AdamW" and adamw == "experimental":
        return "AdamW", "mindspore.experimental"
    if t in ("Adam", "AdamW", "RMSprop", "Adagrad", "LAMB"):
        return t, "mindspore.nn"
    raise UnsupportedError(f"no MindSpore translation for optimizer type {t!r}; known: SGD, Adam, AdamW, "
                           "RMSprop, Adagrad, LAMB")


def _kwargs(desc: Dict[str, Any], opt: str, fw: str, ignore: Sequence[str]) -> Dict[str, Any]:
    """Optimizer-wide native kwargs (lr / weight_decay handled per group elsewhere)."""
    spec = mappings.optimizer_spec(opt, fw)
    args = spec.get("args", {})
    out: Dict[str, Any] = {}
    keys: List[str] = []
    for g in desc["groups"]:
        for k in _canon(opt, g):
            if k not in keys:
                keys.append(k)
    for k in keys:
        if k in ("lr", "weight_decay"):
            continue
        val = _shared(desc, k) if fw == "mindspore.nn" else desc["groups"][0].get(k)
        if k not in args:
            if k in ignore or (k in _FALSY_OK and val == _FALSY_OK[k]):
                continue
            why = spec.get("missing", {}).get(k, f"{spec['class']} has no argument for it")
            raise UnsupportedError(
                f"{desc['type']}.{k}={val!r} cannot be expressed by {spec['class']}: {why}. "
                f"Set it to its neutral value, choose another target, or pass ignore=[{k!r}] to drop it knowingly")
        a = args[k]
        if "names" in a:
            for n, v in zip(a["names"], val):
                out[n] = float(v)
        else:
            out[a["name"]] = float(val) if isinstance(val, (int, float)) and not isinstance(val, bool) else val
    # explicit defaults: any remaining canonical arg the source did not state takes the SOURCE default
    return out


def _group_field(plan: Any, desc: Dict[str, Any], field: str, i: int) -> Tuple[float, bool]:
    if plan is not None and field in plan.groups[i].fields:
        f = plan.groups[i].fields[field]
        return float(f.base), f.schedule is not None
    return float(desc["groups"][i].get(field, 0.0) or 0.0), False


def _target_params(params: Any) -> Dict[str, Any]:
    """name -> MindSpore Parameter (torch-convention names and native names)."""
    from . import paramwise

    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    if hasattr(params, "trainable_params"):
        out: Dict[str, Any] = {}
        for info in paramwise.describe(params, names="torch"):
            out[info.name] = info.obj
            out[info.native or info.name] = info.obj
        return out
    return {p.name: p for p in params}


def _source_names(desc: Dict[str, Any], source_model: Any) -> List[List[str]]:
    ids: Dict[int, str] = {}
    if source_model is not None:
        ids = {id(p): n for n, p in source_model.named_parameters()}
    out = []
    for i, g in enumerate(desc["groups"]):
        names = g.get("param_names")
        if names is not None:
            out.append(list(names))
            continue
        row = []
        for j, p in enumerate(g["params"]):
            if isinstance(p, str):
                row.append(p)
            elif id(p) in ids:
                row.append(ids[id(p)])
            else:
                raise SpecError(f"source.groups[{i}].params[{j}]",
                                "cannot name this parameter; pass source_model=<the torch module> or build the "
                                "torch optimizer from model.named_parameters()", type(p).__name__)
        out.append(row)
    return out


def _bias_tables(n: int, b1: float, b2: float) -> Tuple[np.ndarray, np.ndarray]:
    """(lr factor, weight-decay factor) folding Adam bias correction into AdamWeightDecay."""
    t = np.arange(1, n + 1, dtype=np.float64)
    bc1 = 1.0 - b1 ** t
    bc2 = 1.0 - b2 ** t
    lr_f = np.sqrt(bc2) / bc1
    return lr_f, 1.0 / lr_f


def _group_kwargs(t: str, spec: Dict[str, Any], g: Mapping[str, Any], i: int,
                  ignore: Sequence[str]) -> Dict[str, Any]:
    """One source group's hyper-parameters under the target's names (torch-style group dicts)."""
    args = spec["args"]
    out: Dict[str, Any] = {}
    for k, v in _canon(t, g).items():
        if k not in args:
            if k in ignore or (k in _FALSY_OK and v == _FALSY_OK[k]):
                continue
            why = spec.get("missing", {}).get(k, f"{spec['class']} has no argument for it")
            raise UnsupportedError(f"groups[{i}].{k}={v!r} cannot be expressed by {spec['class']}: {why}")
        out[args[k]["name"]] = list(v) if isinstance(v, tuple) else v
    return out


def _params_of(tparams: Dict[str, Any], names: Sequence[str], i: int) -> List[Any]:
    """Group ``i``'s MindSpore Parameters, looked up by (torch-convention) name."""
    out = []
    for nm in names:
        if nm not in tparams:
            raise SpecError(f"groups[{i}].params", "no parameter of that name in the MindSpore net "
                            f"(have: {', '.join(list(tparams)[:8])} ...)", nm)
        out.append(tparams[nm])
    return out


#: torch-style MindSpore APIs: target name -> (module, optimizer types it has)
_TORCH_STYLE = {"mindspore.experimental": ("mindspore.experimental.optim", ("AdamW",)),
                "mindspore.mint": ("mindspore.mint.optim", ("AdamW", "Adam", "SGD"))}


def _check_torch_style(desc: Dict[str, Any], plan: Any, api: str, lr_as: str) -> List[bool]:
    """Refusals shared by the torch-style APIs; returns which groups have a scheduled lr."""
    n_groups = len(desc["groups"])
    for i in range(n_groups):
        if _group_field(plan, desc, "weight_decay", i)[1]:
            raise UnsupportedError(
                f"groups[{i}].weight_decay is scheduled, but {_TORCH_STYLE[api][0]}.{desc['type']} reads "
                "weight_decay as a float once per group; use target='mindspore' with adamw='fold' "
                "(nn.AdamWeightDecay takes a weight-decay cell) or keep it constant")
    sched = [_group_field(plan, desc, "lr", i)[1] for i in range(n_groups)]
    if lr_as not in ("scheduler", "float", "list"):  # "list" is the default: no lists here, constants ok
        raise SpecError("lr_as", f"must be 'scheduler' (returns (optimizer, scheduler)) or 'float' for {api}",
                        lr_as)
    if any(sched) and lr_as != "scheduler":
        raise UnsupportedError(
            f"groups {[i for i, x in enumerate(sched) if x]} have a scheduled lr, which a "
            f"{api} optimizer only follows through a scheduler: pass lr_as='scheduler' "
            "to get (optimizer, scheduler) and call scheduler.step() after each optimizer step")
    return sched


def _refuse_cpu_kernel(ms: Any, api: str, t: str) -> None:
    """mint.optim.AdamW is one AdamW primitive, which MindSpore 2.10 has no CPU kernel for."""
    if api == "mindspore.mint" and t == "AdamW" and str(ms.get_context("device_target")).upper() == "CPU":
        raise UnsupportedError(
            "mindspore.mint.optim.AdamW runs the AdamW primitive, which has no CPU kernel in MindSpore 2.10 "
            "(the first update fails with 'Unsupported op [AdamW] on CPU'); on CPU use "
            "target='mindspore', adamw='experimental' (mindspore.experimental.optim.AdamW, the same "
            "formula) or the default adamw='fold' (nn.AdamWeightDecay)")


def _to_ms_torch_style(desc: Dict[str, Any], plan: Any, params: Any, source_model: Any,
                       lr_as: str, ignore: Sequence[str], api: str) -> Any:
    """A mindspore.experimental / mindspore.mint optimizer with torch-style groups; a scheduled lr
    needs lr_as='scheduler' (returns (optimizer, to_mindspore_scheduler(plan, optimizer)))."""
    import importlib

    from .._frameworks import import_framework

    module, types = _TORCH_STYLE[api]
    t = desc["type"]
    if t not in types:
        raise UnsupportedError(f"{module} has no translation for optimizer type {t!r}; known: {', '.join(types)}")
    spec = mappings.optimizer_spec(t, api)
    sched = _check_torch_style(desc, plan, api, lr_as)
    ms = import_framework("mindspore")  # a clear FrameworkMissingError first
    _refuse_cpu_kernel(ms, api, t)
    cls = getattr(importlib.import_module(module), t)
    tparams = _target_params(params)
    names = _source_names(desc, source_model)
    groups: List[Dict[str, Any]] = []
    for i, g in enumerate(desc["groups"]):
        ps = _params_of(tparams, names[i], i)
        kw = _group_kwargs(t, spec, g, i, ignore)
        kw["lr"] = _group_field(plan, desc, "lr", i)[0]
        kw["weight_decay"] = _group_field(plan, desc, "weight_decay", i)[0]
        groups.append({"params": ps, **{k: (tuple(v) if isinstance(v, list) else v) for k, v in kw.items()}})
    try:
        opt = cls(groups, lr=groups[0]["lr"])  # lr: mint.optim.SGD requires it; every group sets its own
    except (TypeError, ValueError, KeyError) as exc:
        raise UnsupportedError(f"{spec['class']} refused the translated groups: {exc}") from exc
    if lr_as != "scheduler":
        return opt
    from ..frameworks.mindspore import to_mindspore_scheduler

    lr_plan = plan if plan is not None else Plan(tuple(
        Group({"lr": Field(_group_field(None, desc, "lr", i)[0])}) for i in range(len(sched))))
    return opt, to_mindspore_scheduler(lr_plan, opt)


def translate_optimizer(source: Any, plan: Any = None, *, target: str = "mindspore", params: Any = None,
                        total_steps: Optional[int] = None, lr_as: str = "list", source_model: Any = None,
                        adamw: str = "fold", ignore: Sequence[str] = (), loss_scale: float = 1.0) -> Any:
    """A ready ``target`` optimizer whose groups, hyper-parameters and schedules match ``source``.

    ``source``: a torch optimizer or ``{"type", "groups", "defaults"}``.
    ``plan``: a :class:`bridge.Plan` with one group per optimizer group
    (``lr`` and optionally ``weight_decay`` scheduled); ``None`` = constants.
    ``target``: ``"mindspore"`` (returns the ``mindspore.nn`` optimizer; ``params``
    is the MindSpore net or its parameters, matched by torch-convention names),
    ``"mindspore.mint"`` (``mindspore.mint.optim`` ``AdamW`` / ``Adam`` / ``SGD`` with
    torch-style groups, every per-group hyper-parameter kept; a scheduled lr needs
    ``lr_as="scheduler"``, which returns ``(optimizer, scheduler)``; on CPU step it
    compiled, GRAPH_MODE or ``ms.jit``) or ``"oneflow"`` (returns ``{"class", "kwargs",
    "groups"}`` with names).
    ``lr_as``: ``"list"`` (per-step lists, needs ``total_steps``), ``"cell"`` or
    ``"float"`` (constant lrs only). ``adamw``: ``"fold"`` (nn.AdamWeightDecay
    with the bias correction folded into per-step lr / weight-decay tables) or
    ``"experimental"`` (mindspore.experimental.optim.AdamW with torch-style groups;
    ``lr_as="scheduler"`` returns ``(optimizer, scheduler)``, the scheduler from
    :func:`bridge.frameworks.mindspore.to_mindspore_scheduler`). ``ignore``:
    hyper-parameters you accept to drop (e.g. ``["eps"]`` for nn.Adagrad).
    ``loss_scale``: the static loss scale of a MindSpore ``FixedLossScaleManager(S,
    drop_overflow_update=False)`` run; the optimizer divides the gradients by it.
    """
    desc = describe_optimizer(source)
    if plan is not None and plan.n_groups != len(desc["groups"]):
        raise SpecError("plan", f"must have one group per optimizer group ({len(desc['groups'])})",
                        plan.n_groups)
    if plan is not None:
        for i, g in enumerate(plan.groups):
            for k, f in g.fields.items():
                if f.schedule is not None and k not in ("lr", "weight_decay") and target.startswith("mindspore"):
                    raise UnsupportedError(
                        f"plan.groups[{i}].{k} is scheduled, but MindSpore optimizers read {k} once "
                        "(only learning_rate and weight_decay can change per step). Remove that schedule "
                        "(e.g. OneCycleLR(cycle_momentum=False)) or train with a custom optimizer")
    if target == "oneflow":
        if loss_scale != 1.0:
            raise UnsupportedError(f"loss_scale={loss_scale!r}: OneFlow optimizers take no loss scale; "
                                   "scale with nn.Graph.set_grad_scaler (it unscales before the update)")
        return _to_oneflow(desc, ignore)
    if target == "mindspore.mint":
        if loss_scale != 1.0:
            raise UnsupportedError(f"loss_scale={loss_scale!r}: mindspore.mint.optim optimizers take no loss "
                                   "scale; unscale the gradients before the update")
        return _to_ms_torch_style(desc, plan, params, source_model, lr_as, ignore, target)
    if target != "mindspore":
        raise SpecError("target", "must be 'mindspore', 'mindspore.mint' or 'oneflow'", target)
    if adamw not in ("fold", "experimental"):
        raise SpecError("adamw", "must be 'fold' or 'experimental'", adamw)
    opt, fw = _pick_class(desc, adamw)
    if isinstance(loss_scale, bool) or not isinstance(loss_scale, (int, float)) or not loss_scale > 0:
        raise SpecError("loss_scale", "must be a number > 0", loss_scale)
    spec = mappings.optimizer_spec(opt, fw)
    if loss_scale != 1.0 and "loss_scale" not in spec.get("extra", {}):
        raise UnsupportedError(
            f"loss_scale={loss_scale}: {spec['class']} takes no loss_scale, so it "
            "would apply scaled gradients; unscale before the optimizer instead (nn.TrainOneStepWithLossScaleCell "
            "or DynamicLossScaleManager do), and keep loss_scale=1.0 here")
    if fw == "mindspore.experimental":
        return _to_ms_torch_style(desc, plan, params, source_model, lr_as, ignore, fw)
    if lr_as not in ("list", "cell", "float"):
        raise SpecError("lr_as", "must be 'list', 'cell' or 'float'", lr_as)
    kwargs = _kwargs(desc, opt, fw, ignore)

    from .._frameworks import import_framework

    ms = import_framework("mindspore")
    cls = getattr(ms.nn, spec["class"].rsplit(".", 1)[1])
    n_groups = len(desc["groups"])
    fold = opt == "AdamW"
    sched = [(_group_field(plan, desc, "lr", i)[1] if plan is not None else False) for i in range(n_groups)]
    wd_sched = [_group_field(plan, desc, "weight_decay", i)[1] for i in range(n_groups)]
    dynamic = any(sched) or fold
    if dynamic and lr_as == "float":
        raise UnsupportedError("lr_as='float' cannot express a scheduled lr"
                               + (" or AdamW's folded bias correction" if fold else "")
                               + "; use lr_as='list' with total_steps")
    if (dynamic or any(wd_sched)) and lr_as == "list" and total_steps is None:
        raise SpecError("total_steps", "is needed for lr_as='list' (one value per optimizer update)", None)
    if fold and lr_as == "cell":
        raise UnsupportedError("AdamW's folded bias correction needs per-step tables: use lr_as='list'")
    if opt == "SGD" and any(wd_sched):
        raise UnsupportedError("nn.SGD rejects a weight-decay Cell, so a scheduled weight decay cannot be "
                               "expressed; it would be translated to nn.Momentum if dampening were 0")

    tparams = _target_params(params)
    names = _source_names(desc, source_model)
    b1, b2 = (desc["groups"][0].get("betas") or (0.9, 0.999)) if fold else (0.9, 0.999)
    lr_f = wd_f = None
    if fold:
        assert total_steps is not None
        lr_f, wd_f = _bias_tables(total_steps, float(b1), float(b2))
        # MindSpore's eps' acts as eps'/sqrt(1-b2^t) after the fold; eps' = eps*sqrt(1-b2) is exact at the
        # first update and within eps of torch's eps at every later one (eps' = eps would be off by ~30 eps).
        kwargs["eps"] = float(kwargs.get("eps", 1e-8)) * (1.0 - float(b2)) ** 0.5
    groups: List[Dict[str, Any]] = []
    order: List[Any] = []
    for i in range(n_groups):
        ps = _params_of(tparams, names[i], i)
        order.extend(ps)
        base, is_s = _group_field(plan, desc, "lr", i)
        if lr_as == "float" and not dynamic:
            lr: Any = base
        elif lr_as == "cell":
            from ..frameworks.mindspore import to_mindspore_cell

            lr = to_mindspore_cell(plan, group=i, field="lr") if (plan is not None and is_s) else \
                ms.Tensor(np.full(1, base, np.float32))
        else:
            assert total_steps is not None
            vals = plan.group_values(total_steps, "lr", i) if (plan is not None and is_s) else \
                np.full(total_steps, base)
            if lr_f is not None:
                vals = vals * lr_f
            lr = ms.Tensor(np.asarray(vals, np.float32))
        wbase, w_s = _group_field(plan, desc, "weight_decay", i)
        wd: Any = wbase
        if w_s or wd_f is not None:
            assert total_steps is not None
            wv = plan.group_values(total_steps, "weight_decay", i) if w_s else np.full(total_steps, wbase)
            if wd_f is not None:
                wv = wv * wd_f
            if w_s or wbase != 0:  # a cell returning wv[global_step] (the last value past the end)
                from ..frameworks.mindspore import to_mindspore_cell

                table = Plan.single(Table(wv), wbase, field="weight_decay")
                wd = to_mindspore_cell(table, field="weight_decay")
            else:
                wd = 0.0
        groups.append({"params": ps, "lr": lr, "weight_decay": wd})
    groups.append({"order_params": order})
    lr0 = groups[0]["lr"]
    if opt == "Momentum" and "momentum" not in kwargs:
        raise UnsupportedError("nn.Momentum needs momentum")
    if loss_scale != 1.0:
        kwargs["loss_scale"] = float(loss_scale)
    try:
        return cls(groups, learning_rate=lr0, **kwargs)
    except (TypeError, ValueError, KeyError) as exc:
        raise UnsupportedError(f"{spec['class']} refused the translated arguments {sorted(kwargs)}: {exc}") from exc


def _to_oneflow(desc: Dict[str, Any], ignore: Sequence[str]) -> Dict[str, Any]:
    t = desc["type"]
    if t not in mappings.optimizers() or "oneflow" not in mappings.optimizers()[t]:
        raise UnsupportedError(f"no OneFlow class for optimizer type {t!r}")
    spec = mappings.optimizer_spec(t, "oneflow")
    args = spec["args"]
    groups = []
    kwargs: Dict[str, Any] = {}
    for i, g in enumerate(desc["groups"]):
        out = _group_kwargs(t, spec, g, i, ignore)
        if t == "RMSprop" and out.get("momentum", 0) != 0:
            raise UnsupportedError("OneFlow 0.9 RMSprop requires momentum == 0")
        if i == 0:
            kwargs = {k: v for k, v in out.items()}
        groups.append({"params": [p if isinstance(p, str) else p for p in g["params"]], **out})
    for k, a in args.items():  # pass every default explicitly (OneFlow's differ from torch's)
        if a.get("name") and a["name"] not in kwargs and not a.get("required"):
            kwargs[a["name"]] = mappings.optimizer_spec(t, "torch")["args"].get(k, a).get("default") \
                if "torch" in mappings.optimizers()[t] else a["default"]
    return {"class": spec["class"], "kwargs": kwargs, "groups": groups}




def _portable(desc: Dict[str, Any], source_model: Any) -> Dict[str, Any]:
    """``desc`` with parameter names instead of objects and plain Python values (writable as source)."""
    names = _source_names(desc, source_model)

    def plain(v: Any) -> Any:
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        if hasattr(v, "item") and not isinstance(v, (bool, int, float, str)):
            return v.item()
        return v

    groups = [{"params": names[i], **{k: plain(v) for k, v in _canon(desc["type"], g).items()}}
              for i, g in enumerate(desc["groups"])]
    defaults = {k: plain(v) for k, v in _canon(desc["type"], desc["defaults"]).items()}
    return {"type": desc["type"], "defaults": defaults, "groups": groups}


def _check_portable(desc: Dict[str, Any], target: str, adamw: str, ignore: Sequence[str]) -> None:
    """The refusals translate_optimizer would raise that need no framework, raised while writing."""
    if target == "oneflow":
        _to_oneflow(desc, ignore)
        return
    if target == "mindspore.mint":
        module, types = _TORCH_STYLE[target]
        if desc["type"] not in types:
            raise UnsupportedError(f"{module} has no translation for optimizer type {desc['type']!r}; "
                                   f"known: {', '.join(types)}")
        spec = mappings.optimizer_spec(desc["type"], target)
        for i, g in enumerate(desc["groups"]):
            _group_kwargs(desc["type"], spec, g, i, ignore)
        return
    if adamw not in ("fold", "experimental"):
        raise SpecError("adamw", "must be 'fold' or 'experimental'", adamw)
    opt, fw = _pick_class(desc, adamw)
    if fw == "mindspore.nn":
        _kwargs(desc, opt, fw, ignore)


def port_source(source: Any, plan: Any = None, *, target: str = "mindspore", total_steps: Optional[int] = None,
                source_model: Any = None, adamw: str = "fold", ignore: Sequence[str] = (),
                model: str = "net", optimizer: str = "optimizer") -> str:
    """Python source that builds, in the ``target`` framework, the optimizer and schedule of ``source``.

    ``source``: a torch optimizer (``source_model`` names its parameters) or a description
    dict; ``plan``: its schedule (:func:`bridge.from_torch`, a captured plan), ``None`` for
    constant values. ``target``: ``"mindspore"`` (``mindspore.nn``, lists of ``total_steps``
    values, AdamW folded), ``"mindspore.mint"`` (``mindspore.mint.optim`` + a scheduler to step
    after each update; so is ``"mindspore"`` with ``adamw="experimental"`` for an AdamW) or
    ``"oneflow"`` (``oneflow.optim`` + a scheduler). The code expects the
    model in a variable named ``model`` (a MindSpore ``nn.Cell`` with the torch attribute names,
    or a OneFlow module) and defines ``optimizer`` (and ``scheduler``). It holds the plan and
    the optimizer description as literals and calls :func:`translate_optimizer` on them at run
    time, so the written code builds exactly what ``translate_optimizer`` builds; torch is not
    needed to run it. What the target cannot express is refused here, as there.
    """
    import pprint

    from ..frameworks import _source

    if target not in ("mindspore", "mindspore.mint", "oneflow"):
        raise SpecError("target", "must be 'mindspore', 'mindspore.mint' or 'oneflow'", target)
    for name, v in (("model", model), ("optimizer", optimizer)):
        if not v.isidentifier():
            raise SpecError(name, "must be a Python identifier", v)
    desc = _portable(describe_optimizer(source), source_model)
    if plan is not None and plan.n_groups != len(desc["groups"]):
        raise SpecError("plan", f"must have one group per optimizer group ({len(desc['groups'])})", plan.n_groups)
    _check_portable(desc, target, adamw, ignore)
    torch_style = target == "mindspore.mint" or (adamw == "experimental" and desc["type"] == "AdamW")
    if target == "mindspore" and total_steps is None and not torch_style:
        raise SpecError("total_steps", "is needed for target 'mindspore' (per-update lists)", None)
    fmt = lambda v: pprint.pformat(v, indent=1, width=100, sort_dicts=False)  # noqa: E731
    lines = [f"# {desc['type']} and its schedule ported by sched-bridge (bridge.port_source)"]
    extra = f", ignore={list(ignore)!r}" if ignore else ""
    if target == "oneflow":
        out = _to_oneflow(desc, ignore)
        lines += ["import oneflow as flow", "",
                  f"params = dict({model}.named_parameters())",
                  f"groups = {fmt(out['groups'])}",
                  f"{optimizer} = {out['class'].replace('oneflow.', 'flow.')}(",
                  "    [{**g, 'params': [params[n] for n in g['params']]} for g in groups],",
                  f"    **{fmt(out['kwargs'])})"]
        if plan is not None:  # native OneFlow schedulers where exact, else the plan-driven one
            lines += ["", _source.snippet(plan, "oneflow", optimizer=optimizer).rstrip(),
                      "# scheduler.step() once per optimizer update"]
        return "\n".join(lines) + "\n"
    lines += ["import bridge", "",
              f"plan = {'None' if plan is None else 'bridge.from_dict(' + fmt(plan.to_dict()) + ')'}",
              f"source = {fmt(desc)}", ""]
    if torch_style:
        how = "target='mindspore.mint'" if target == "mindspore.mint" else "adamw='experimental'"
        lines += ["# call scheduler.step() after each optimizer update",
                  f"{optimizer}, scheduler = bridge.translate_optimizer(",
                  f"    source, plan, {how}, params={model}, lr_as='scheduler'{extra})"]
    else:
        lines += ["# per-update lists, indexed by the optimizer's global_step",
                  f"{optimizer} = bridge.translate_optimizer(",
                  f"    source, plan, params={model}, total_steps={int(total_steps or 0)}, adamw={adamw!r}{extra})"]
    return "\n".join(lines) + "\n"
    if target == "mindspore.mint":
        call = (f"{optimizer}, scheduler = bridge.translate_optimizer(source, plan, target='mindspore.mint', "
                f"params={model}, lr_as='scheduler'{extra})  # scheduler.step() after each update")
    else:
        call = (f"{optimizer} = bridge.translate_optimizer(source, plan, params={model}, "
                f"total_steps={int(total_steps or 0)}, adamw={adamw!r}{extra})  # global_step indexes the lists")
    lines += ["", call]
    return "\n".join(lines) + "\n"
