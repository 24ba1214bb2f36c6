"""MMEngine ``paramwise_cfg`` semantics, framework-neutral.

Mirrors ``DefaultOptimWrapperConstructor.add_params`` of MMEngine 0.10 rule
for rule (see docs/param-groups.md). Two steps:

1. :func:`describe` turns a torch / OneFlow ``nn.Module`` or a MindSpore
   ``nn.Cell`` into a list of :class:`ParamInfo` (name, module kind, ndim ...).
   A hand-written list works too.
2. :func:`apply` evaluates ``paramwise_cfg`` on it and returns a
   :class:`ParamTable`: per parameter the lr, weight decay and the rule that
   decided them, plus the groups for torch / OneFlow / MindSpore.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import SpecError, UnsupportedError

__all__ = ["ParamInfo", "Row", "ParamTable", "describe", "apply", "KINDS", "ImpliedGroup", "RULE_GROUPS",
           "implied_groups"]

#: Module kinds a parameter can belong to.
KINDS = ("norm", "conv", "dwconv", "linear", "embedding", "other")

_KNOWN = {"custom_keys", "bias_lr_mult", "bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult",
          "flat_decay_mult", "bypass_duplicate", "dcn_offset_lr_mult"}


@dataclass
class ParamInfo:
    """One parameter as MMEngine's constructor sees it.

    ``module``: dotted path of the owning module ("" at top level); ``local``:
    the name inside it (torch convention, e.g. ``weight``, ``bias``);
    ``native``: the framework's full name (MindSpore ``bn.gamma``); ``kind``:
    one of :data:`KINDS`; ``conv2d``: the module is a Conv2d (for
    ``dcn_offset_lr_mult``); ``in_dcn``: the module is a child of an mmcv DCN
    module; ``obj``: the parameter object (identity decides duplicates).
    """

    module: str
    local: str
    kind: str = "other"
    ndim: int = 2
    shape: Tuple[int, ...] = ()
    requires_grad: bool = True
    conv2d: bool = False
    in_dcn: bool = False
    native: Optional[str] = None
    obj: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpecError(f"{self.name}.kind", f"must be one of {', '.join(KINDS)}", self.kind)

    @property
    def name(self) -> str:
        return f"{self.module}.{self.local}" if self.module else self.local

    @property
    def key(self) -> str:
        """The string MMEngine matches custom keys against: ``f'{prefix}.{name}'``."""
        return f"{self.module}.{self.local}"


@dataclass
class Row:
    """The decision for one parameter."""

    info: ParamInfo
    lr: float
    weight_decay: Optional[float]
    rule: str
    group: Dict[str, Any]
    skipped: Optional[str] = None

    @property
    def name(self) -> str:
        return self.info.name


@dataclass
class ParamTable:
    """Per-parameter decisions, in MMEngine's traversal order."""

    rows: List[Row]
    base_lr: float
    base_wd: Optional[float]
    #: ``paramwise_cfg`` was empty: MMEngine passes ``model.parameters()`` as ONE group
    #: (frozen parameters included, duplicates removed).
    single: bool = False

    def as_dict(self) -> Dict[str, Dict[str, Any]]:
        """``name -> {lr, weight_decay, rule, skipped}`` (every parameter)."""
        return {r.name: {"lr": r.lr, "weight_decay": r.weight_decay, "rule": r.rule, "skipped": r.skipped}
                for r in self.rows}

    def groups(self) -> List[Dict[str, Any]]:
        """MMEngine's groups, one per kept parameter, with names: ``{'params': [name], ...}``."""
        if self.single:
            return [{"params": [r.name for r in self.rows if r.skipped is None]}]
        return [dict(r.group, params=[r.name]) for r in self.rows if r.skipped is None]

    def torch_groups(self) -> List[Dict[str, Any]]:
        """The same groups with the parameter objects (what MMEngine passes to a torch optimizer)."""
        if self.single:
            return [{"params": [r.info.obj for r in self.rows if r.skipped is None]}]
        return [dict(r.group, params=[r.info.obj]) for r in self.rows if r.skipped is None]

    oneflow_groups = torch_groups

    def merged(self) -> List[Dict[str, Any]]:
        """Groups of equal hyper-parameters merged, first-seen order: ``{'params': [names], ...}``."""
        out: List[Dict[str, Any]] = []
        index: Dict[Tuple[Tuple[str, str], ...], int] = {}
        for r in self.rows:
            if r.skipped is not None:
                continue
            sig = tuple(sorted((k, repr(v)) for k, v in r.group.items()))
            if sig not in index:
                index[sig] = len(out)
                out.append(dict(r.group, params=[]))
            out[index[sig]]["params"].append(r.name)
        return out

    def mindspore_groups(self, *, order_params: bool = True) -> List[Dict[str, Any]]:
        """MindSpore group dicts (merged) with the Parameter objects, plus ``order_params``.

        MMEngine's informational keys ``lr_mult``/``decay_mult`` are dropped;
        any other extra key cannot be expressed (MindSpore groups accept only
        params, lr, weight_decay, grad_centralization, order_params).
        """
        by_name = {r.name: r.info.obj for r in self.rows}
        out = []
        for g in self.merged():
            extra = set(g) - {"params", "lr", "weight_decay", "lr_mult", "decay_mult", "grad_centralization"}
            if extra:
                raise UnsupportedError(
                    f"paramwise_cfg sets {sorted(extra)} for {g['params'][:3]}: MindSpore param groups accept "
                    "only params, lr, weight_decay, grad_centralization, order_params; remove those keys "
                    "from custom_keys or set them optimizer-wide")
            d = {k: v for k, v in g.items() if k in ("lr", "weight_decay", "grad_centralization")}
            d["params"] = [by_name[n] for n in g["params"]]
            out.append(d)
        if order_params:
            out.append({"order_params": [r.info.obj for r in self.rows if r.skipped is None]})
        return out


# ---------------------------------------------------------------- the rules
def apply(params: Sequence[ParamInfo], base_lr: float, base_wd: Optional[float] = None,
          paramwise_cfg: Optional[Mapping[str, Any]] = None) -> ParamTable:
    """Evaluate MMEngine ``paramwise_cfg`` on ``params`` (from :func:`describe`).

    ``base_lr`` / ``base_wd`` are the optimizer's ``lr`` / ``weight_decay``
    (``base_wd=None``: the optimizer config has no weight_decay).
    """
    cfg = dict(paramwise_cfg or {})
    unknown = set(cfg) - _KNOWN
    if unknown:
        raise SpecError("paramwise_cfg", f"unknown keys {sorted(unknown)}; known: {sorted(_KNOWN)}", cfg,
                        show_value=False)
    custom = cfg.get("custom_keys", {})
    if not isinstance(custom, Mapping):
        raise SpecError("paramwise_cfg.custom_keys", "must be a dict", custom)
    if base_wd is None:
        for key, val in custom.items():
            if "decay_mult" in val:
                raise SpecError(f"paramwise_cfg.custom_keys.{key}.decay_mult",
                                "needs the optimizer's weight_decay (base_wd is None)", val["decay_mult"])
        for k in ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult"):
            if k in cfg:
                raise SpecError(f"paramwise_cfg.{k}", "needs the optimizer's weight_decay (base_wd is None)",
                                cfg[k])
    if not cfg:  # MMEngine: `if not self.paramwise_cfg: params = model.parameters()`
        rows: List[Row] = []
        seen: set = set()
        for p in params:
            ident = id(p.obj) if p.obj is not None else p.name
            rows.append(Row(p, base_lr, base_wd, "no paramwise_cfg", {},
                            skipped="duplicate" if ident in seen else None))
            seen.add(ident)
        return ParamTable(rows, base_lr, base_wd, single=True)
    sorted_keys = sorted(sorted(custom.keys()), key=len, reverse=True)
    bias_lr_mult = cfg.get("bias_lr_mult")
    bias_decay_mult = cfg.get("bias_decay_mult")
    norm_decay_mult = cfg.get("norm_decay_mult")
    dwconv_decay_mult = cfg.get("dwconv_decay_mult")
    flat_decay_mult = cfg.get("flat_decay_mult")
    bypass = bool(cfg.get("bypass_duplicate", False))
    dcn_mult = cfg.get("dcn_offset_lr_mult")

    rows = []
    seen = set()
    for p in params:
        ident = id(p.obj) if p.obj is not None else p.name
        dup = ident in seen
        if bypass and dup:
            rows.append(Row(p, base_lr, base_wd, "bypass_duplicate", {}, skipped="duplicate"))
            continue
        if not p.requires_grad:
            rows.append(Row(p, base_lr, base_wd, "requires_grad=False", {}, skipped="requires_grad=False"))
            continue
        group: Dict[str, Any] = {}
        rule: List[str] = []
        is_norm = p.kind == "norm"
        matched = None
        for key in sorted_keys:
            if key in p.key:
                matched = key
                break
        if matched is not None:
            spec = custom[matched]
            group["lr"] = base_lr * spec.get("lr_mult", 1.0)
            if base_wd is not None:
                group["weight_decay"] = base_wd * spec.get("decay_mult", 1.0)
            group.update(spec)
            rule.append(f"custom_keys[{matched!r}]")
        else:
            if p.local == "bias" and not (is_norm or p.in_dcn) and bias_lr_mult is not None:
                group["lr"] = base_lr * bias_lr_mult
                rule.append("bias_lr_mult")
            if "conv_offset" in p.module and p.in_dcn and dcn_mult is not None and p.conv2d:
                group["lr"] = base_lr * dcn_mult
                rule.append("dcn_offset_lr_mult")
            if base_wd is not None:
                if is_norm and norm_decay_mult is not None:
                    group["weight_decay"] = base_wd * norm_decay_mult
                    rule.append("norm_decay_mult")
                elif p.local == "bias" and not p.in_dcn and bias_decay_mult is not None:
                    group["weight_decay"] = base_wd * bias_decay_mult
                    rule.append("bias_decay_mult")
                elif p.kind == "dwconv" and dwconv_decay_mult is not None:
                    group["weight_decay"] = base_wd * dwconv_decay_mult
                    rule.append("dwconv_decay_mult")
                elif p.ndim == 1 and not p.in_dcn and flat_decay_mult is not None:
                    group["weight_decay"] = base_wd * flat_decay_mult
                    rule.append("flat_decay_mult")
        seen.add(ident)
        rows.append(Row(p, float(group.get("lr", base_lr)),
                        group.get("weight_decay", base_wd), "+".join(rule) or "default", group,
                        skipped=None))
    return ParamTable(rows, base_lr, base_wd)


# ---------------------------------------------------------------- adapters
def _framework_of(model: Any) -> str:
    for klass in type(model).__mro__:
        top = klass.__module__.split(".")[0]
        if top in ("torch", "oneflow", "mindspore"):
            return top
    raise SpecError("model", "must be a torch/OneFlow nn.Module or a MindSpore nn.Cell", type(model).__name__,
                    show_value=True)


def _classes(fw: str, kind: str) -> Tuple[type, ...]:
    from .. import mappings

    out = []
    for path in mappings.load("param_groups")["module_kinds"][fw][kind]:
        mod, _, name = path.rpartition(".")
        try:
            out.append(getattr(importlib.import_module(mod), name))
        except (ImportError, AttributeError):
            continue
    return tuple(out)


def _is_dcn(module: Any) -> bool:
    return any(k.__name__ in ("DeformConv2d", "ModulatedDeformConv2d") and k.__module__.startswith("mmcv")
               for k in type(module).__mro__)


def describe(model: Any, *, names: str = "torch") -> List[ParamInfo]:
    """The parameters of ``model`` in MMEngine's traversal order (own parameters, then children).

    torch / OneFlow ``nn.Module`` or MindSpore ``nn.Cell``. For MindSpore,
    ``names="torch"`` (default) gives each parameter its torch-convention local
    name (``gamma`` -> ``weight``, ``beta`` -> ``bias``, via
    mappings/param_names.toml) so a config written for torch matches the same
    parameters; ``names="native"`` keeps MindSpore's names.
    """
    from .._frameworks import import_framework

    fw = _framework_of(model)
    import_framework(fw)
    if names not in ("torch", "native"):
        raise SpecError("names", "must be 'torch' or 'native'", names)
    norm = _classes(fw, "norm")
    conv = _classes(fw, "conv2d")
    linear = _classes(fw, "linear")
    emb = _classes(fw, "embedding")
    out: List[ParamInfo] = []

    def kind_of(m: Any) -> str:
        if isinstance(m, norm):
            return "norm"
        if isinstance(m, conv):
            groups = getattr(m, "groups", getattr(m, "group", 1))
            return "dwconv" if getattr(m, "in_channels", None) == groups else "conv"
        if isinstance(m, linear):
            return "linear"
        if isinstance(m, emb):
            return "embedding"
        return "other"

    if fw in ("torch", "oneflow"):
        def walk(m: Any, prefix: str, in_dcn: bool) -> None:
            k = kind_of(m)
            for local, p in m.named_parameters(recurse=False):
                out.append(ParamInfo(prefix, local, k, p.ndim, tuple(p.shape), bool(p.requires_grad),
                                     isinstance(m, conv), bool(in_dcn), native=f"{prefix}.{local}" if prefix
                                     else local, obj=p))
            dcn = _is_dcn(m)
            for cname, child in m.named_children():
                walk(child, f"{prefix}.{cname}" if prefix else cname, dcn)

        walk(model, "", False)
        return out

    from .. import mappings

    layer_of = {"norm": None, "embedding": "embedding"}

    def ms_walk(cell: Any, prefix: str) -> None:
        k = kind_of(cell)
        for p in cell._params.values():
            full = p.name
            local = full.rsplit(".", 1)[-1]
            if names == "torch":
                if k == "norm":
                    layer = "batchnorm"
                else:
                    layer = layer_of.get(k) or "linear"
                local = mappings.param_name(layer, local, src="mindspore", dst="torch")
            mod = full.rsplit(".", 1)[0] if "." in full else ""
            out.append(ParamInfo(mod if names == "native" else prefix, local, k, len(p.shape), tuple(p.shape),
                                 bool(p.requires_grad), isinstance(cell, conv), False, native=full, obj=p))
        for cname, child in cell._cells.items():
            if child is not None:
                ms_walk(child, f"{prefix}.{cname}" if prefix else cname)

    ms_walk(model, "")
    return out


# ---------------------------------------------------------------- without a model
#: Names of the rule-based groups :func:`implied_groups` lists (custom keys use their own key).
RULE_GROUPS = ("default", "norm", "norm_bias", "bias", "dwconv", "dwconv_bias", "flat", "dcn_offset")

# One representative parameter per rule-based group, run through :func:`apply` so the list
# follows the same rules (and precedence) as the per-parameter table: (name, parameter, who,
# the paramwise_cfg keys that can change it, the group it falls back to when its values equal
# that group's). The module names are deliberately unlike real ones; a custom key that matches
# a parameter's name wins over these rules (MMEngine checks custom keys first).
_FLAT, _BIAS = ("flat_decay_mult",), ("bias_lr_mult", "bias_decay_mult", "flat_decay_mult")
_REPRESENTATIVES = (
    ("default", ParamInfo("\x00default", "weight", "conv", 4), "every other parameter (conv / linear weights, ...)",
     (), ""),
    ("norm", ParamInfo("\x00norm", "weight", "norm", 1), "weights (and biases, unless norm_bias is listed) of "
     "norm layers", ("norm_decay_mult",) + _FLAT, "default"),
    ("norm_bias", ParamInfo("\x00norm", "bias", "norm", 1), "biases of norm layers",
     ("norm_decay_mult", "bias_decay_mult") + _FLAT, "norm"),
    ("bias", ParamInfo("\x00conv", "bias", "conv", 1), "biases of other (non-norm, non-DCN) layers", _BIAS,
     "default"),
    ("dwconv", ParamInfo("\x00dwconv", "weight", "dwconv", 4), "weights of depth-wise convs",
     ("dwconv_decay_mult",), "default"),
    ("dwconv_bias", ParamInfo("\x00dwconv", "bias", "dwconv", 1), "biases of depth-wise convs",
     _BIAS + ("dwconv_decay_mult",), "bias"),
    ("flat", ParamInfo("\x00other", "scale", "other", 1), "other 1-D parameters (not biases, not norms)", _FLAT,
     "default"),
    ("dcn_offset", ParamInfo("\x00dcn.conv_offset", "weight", "conv", 4, conv2d=True, in_dcn=True),
     "conv_offset weights of mmcv DCN modules", ("dcn_offset_lr_mult",), "default"),
)


@dataclass(frozen=True)
class ImpliedGroup:
    """One kind of parameter group a ``paramwise_cfg`` creates, without a model.

    ``name``: the custom key itself, or one of :data:`RULE_GROUPS`; ``lr`` / ``weight_decay``:
    the group's base values (``weight_decay`` None when the optimizer has none); ``rule``: the
    multipliers in words (``lr_mult=0.1``); ``who``: which parameters land in it.
    """

    name: str
    lr: float
    weight_decay: Optional[float]
    rule: str
    who: str


def _fmt_mults(spec: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in spec.items()) or "no multipliers"


def implied_groups(paramwise_cfg: Optional[Mapping[str, Any]], base_lr: float,
                   base_wd: Optional[float] = None) -> List[ImpliedGroup]:
    """The groups ``paramwise_cfg`` implies, with their lr / weight_decay bases (no model needed).

    ``default`` first, then each custom key (longest first, as MMEngine matches them), then
    the rule-based groups the config switches on (``norm``, ``bias``, ``dwconv``, ``flat``,
    ``dcn_offset``). Which parameters a model puts in which group needs the model
    (:func:`describe` + :func:`apply`); the values here follow the same rules.
    ``base_wd=None``: the optimizer has no ``weight_decay`` (MMEngine then applies no
    ``decay_mult``).
    """
    cfg = dict(paramwise_cfg or {})
    unknown = set(cfg) - _KNOWN
    if unknown:
        raise SpecError("paramwise_cfg", f"unknown keys {sorted(unknown)}; known: {sorted(_KNOWN)}", cfg,
                        show_value=False)
    custom = cfg.get("custom_keys", {}) or {}
    if not isinstance(custom, Mapping):
        raise SpecError("paramwise_cfg.custom_keys", "must be a dict", custom)
    apply([], base_lr, base_wd, cfg)  # MMEngine's checks (a decay_mult without weight_decay, ...)
    rules = {k: v for k, v in cfg.items() if k != "custom_keys"}
    reps = [r for r in _REPRESENTATIVES if r[0] == "default" or any(k in rules for k in r[3])]
    # the rules alone: a representative parameter of each group through the same code as a model's
    table = apply([r[1] for r in reps], base_lr, base_wd, rules or {"bypass_duplicate": False})
    found: Dict[str, ImpliedGroup] = {}
    for (name, _, who, keys, parent), row in zip(reps, table.rows):
        g = ImpliedGroup(name, row.lr, row.weight_decay, ", ".join(f"{k}={rules[k]!r}" for k in keys if k in rules)
                         or "the optimizer's lr and weight_decay", who)
        same_as = found.get(parent) or found.get("default")
        if name == "default" or same_as is None or (g.lr, g.weight_decay) != (same_as.lr, same_as.weight_decay) \
                or parent == "default":
            found[name] = g
    out = [found["default"]]
    for key in sorted(sorted(custom), key=len, reverse=True):
        spec = custom[key]
        if not isinstance(spec, Mapping):
            raise SpecError(f"paramwise_cfg.custom_keys.{key}", "must be a dict", spec)
        lr = float(spec["lr"]) if "lr" in spec else base_lr * float(spec.get("lr_mult", 1.0))
        kwd: Optional[float] = None
        if base_wd is not None:
            kwd = float(spec["weight_decay"]) if "weight_decay" in spec \
                else base_wd * float(spec.get("decay_mult", 1.0))
        out.append(ImpliedGroup(key, lr, kwd, _fmt_mults(spec), f"parameters whose name contains {key!r}"))
    out.extend(g for name, g in found.items() if name != "default")
    return out
