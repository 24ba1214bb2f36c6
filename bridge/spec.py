"""SPEC strings of the command line -> :class:`~bridge.Plan`.

A SPEC is one of:

- an IR plan file: ``.json`` / ``.yaml`` / ``.yml`` / ``.toml`` (:func:`bridge.load`);
- an MMEngine config (``.py`` read literally, never executed unless ``trust=True``; or a
  ``.json``/``.yaml`` config with a ``param_scheduler``), imported with
  :func:`bridge.from_mmengine`; base values come from ``optim_wrapper.optimizer`` and
  ``max_epochs``/``max_iters`` from ``train_cfg`` unless given;
- an expression of torch / OneFlow scheduler constructors, e.g.
  ``SequentialLR([LinearLR(start_factor=0.1, total_iters=500), CosineAnnealingLR(T_max=9500)], milestones=[500])``.
  It is parsed with :mod:`ast` (nothing is evaluated): whitelisted constructor names,
  literal arguments, bound to the real constructors' signatures (torch 2.13, OneFlow 0.9);
  the optimizer argument is implicit (a leading bare name such as ``optimizer`` is
  skipped). The arguments are read by the same mapping as :func:`bridge.from_torch` /
  :func:`bridge.from_oneflow`, so neither framework needs to be installed. Base lrs come
  from ``lr`` (default :data:`DEFAULT_LR` for one param group).

Dialect: names and keywords that only OneFlow has (``WarmupLR``, ``CosineDecayLR``,
``PolynomialLR(decay_batch=..., cycle=...)``, ``SequentialLR(interval_rescaling=...)``,
``restart_limit``, ``decay_rate``) or a ``oneflow.``/``flow.`` prefix select OneFlow;
otherwise torch (whose ``ChainedScheduler`` composes updates recursively, OneFlow's nests).
"""

from __future__ import annotations

import ast
import difflib
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .errors import SpecError, UnsupportedError
from .frameworks._record import SchedulerCall as _Call
from .ir import Plan

__all__ = ["resolve", "parse_expression", "build_torch", "read_expression", "is_expression", "DEFAULT_LR", "TORCH_SIGNATURES", "ONEFLOW_SIGNATURES"]

#: base lr of every param group when an expression is given without ``lr``
DEFAULT_LR = 0.1

_REQ = object()  # a required parameter

#: torch 2.13 constructor parameters after ``optimizer`` (up to ``last_epoch``), with defaults
TORCH_SIGNATURES: Dict[str, Tuple[Tuple[str, Any], ...]] = {
    "StepLR": (("step_size", _REQ), ("gamma", 0.1)),
    "MultiStepLR": (("milestones", _REQ), ("gamma", 0.1)),
    "ConstantLR": (("factor", 1.0 / 3), ("total_iters", 5)),
    "LinearLR": (("start_factor", 1.0 / 3), ("end_factor", 1.0), ("total_iters", 5)),
    "ExponentialLR": (("gamma", _REQ),),
    "SequentialLR": (("schedulers", _REQ), ("milestones", _REQ)),
    "PolynomialLR": (("total_iters", 5), ("power", 1.0)),
    "CosineAnnealingLR": (("T_max", _REQ), ("eta_min", 0.0)),
    "ChainedScheduler": (("schedulers", _REQ),),
    "CyclicLR": (("base_lr", _REQ), ("max_lr", _REQ), ("step_size_up", 2000), ("step_size_down", None),
                 ("mode", "triangular"), ("gamma", 1.0), ("scale_fn", None), ("scale_mode", "cycle"),
                 ("cycle_momentum", True), ("base_momentum", 0.8), ("max_momentum", 0.9)),
    "CosineAnnealingWarmRestarts": (("T_0", _REQ), ("T_mult", 1), ("eta_min", 0.0)),
    "OneCycleLR": (("max_lr", _REQ), ("total_steps", None), ("epochs", None), ("steps_per_epoch", None),
                   ("pct_start", 0.3), ("anneal_strategy", "cos"), ("cycle_momentum", True),
                   ("base_momentum", 0.85), ("max_momentum", 0.95), ("div_factor", 25.0),
                   ("final_div_factor", 1e4), ("three_phase", False)),
}
#: OneFlow 0.9 constructor parameters after ``optimizer`` (up to ``last_step``)
ONEFLOW_SIGNATURES: Dict[str, Tuple[Tuple[str, Any], ...]] = {
    "StepLR": (("step_size", _REQ), ("gamma", 0.1)),
    "MultiStepLR": (("milestones", _REQ), ("gamma", 0.1)),
    "ConstantLR": (("factor", 1.0 / 3), ("total_iters", 5)),
    "LinearLR": (("start_factor", 1.0 / 3), ("end_factor", 1.0), ("total_iters", 5)),
    "ExponentialLR": (("gamma", _REQ),),
    "PolynomialLR": (("decay_batch", _REQ), ("end_learning_rate", 0.0001), ("power", 1.0), ("cycle", False)),
    "CosineDecayLR": (("decay_steps", _REQ), ("alpha", 0.0)),
    "CosineAnnealingLR": (("T_max", _REQ), ("eta_min", 0.0)),
    "CosineAnnealingWarmRestarts": (("T_0", _REQ), ("T_mult", 1), ("eta_min", 0.0), ("decay_rate", 1.0),
                                    ("restart_limit", 0)),
    "SequentialLR": (("schedulers", _REQ), ("milestones", _REQ), ("interval_rescaling", False)),
    "ChainedScheduler": (("schedulers", _REQ),),
    # the first parameter is ``scheduler_or_optimizer``: here a scheduler, or absent
    "WarmupLR": (("scheduler", None), ("warmup_factor", 1.0 / 3), ("warmup_iters", 5),
                 ("warmup_method", "linear"), ("warmup_prefix", False)),
}
_NEEDS_CODE = {"LambdaLR": "a Python function (lr_lambda)", "MultiplicativeLR": "a Python function (lr_lambda)",
               "ReduceLROnPlateau": "the validation metrics passed to step()"}
_ONEFLOW_ONLY_KW = {"decay_batch", "end_learning_rate", "cycle", "interval_rescaling", "decay_rate",
                    "restart_limit"}
_TORCH_ONLY_KW = {("PolynomialLR", "total_iters")}
_SCHEDULER_PARAMS = {"schedulers", "scheduler"}
_PREFIXES = {"torch": "torch", "lr_scheduler": None, "oneflow": "oneflow", "flow": "oneflow"}


# ---------------------------------------------------------------------------
# resolve
# ---------------------------------------------------------------------------


def resolve(spec: str, *, lr: Optional[Sequence[float]] = None, dialect: Optional[str] = None,
            trust: bool = False, epoch_length: Optional[int] = None, max_epochs: Optional[int] = None,
            max_iters: Optional[int] = None) -> Plan:
    """The Plan a SPEC string names (file path or constructor expression)."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("SPEC", "must be a plan file, an MMEngine config or a scheduler expression", spec)
    text = spec.strip()
    ext = os.path.splitext(text)[1].lower()
    if "(" not in text and (ext in (".json", ".yaml", ".yml", ".toml", ".py") or os.path.exists(text)):
        if os.path.isdir(text):
            raise SpecError("SPEC", "is a directory; give a plan file, a config or an expression", text)
        if not os.path.isfile(text):
            raise SpecError("SPEC", "no such file", text)
        if ext == ".py":
            return _from_config(text, trust, epoch_length, max_epochs, max_iters, lr)
        from .ir.io import read_file

        data = read_file(text)
        if isinstance(data, Mapping) and "param_scheduler" in data:
            return _from_config(text, False, epoch_length, max_epochs, max_iters, lr)
        from .frameworks.mindcv import from_mindcv_config, is_mindcv_config

        if is_mindcv_config(data):  # a mindcv training YAML (its create_scheduler arguments)
            return from_mindcv_config(text, epoch_length)
        from .ir import from_dict

        return from_dict(data)
    return parse_expression(text, lr=lr, dialect=dialect)


def _from_config(path: str, trust: bool, epoch_length: Optional[int], max_epochs: Optional[int],
                 max_iters: Optional[int], lr: Optional[Sequence[float]]) -> Plan:
    from .config import load_config
    from .frameworks.mmengine import from_mmengine, optimizer_bases

    cfg = load_config(path, trust=trust)
    ps = cfg.get("param_scheduler")
    if ps is None:
        raise SpecError(f"{path}: param_scheduler", "is missing (not an MMEngine training config?)",
                        sorted(cfg)[:12])
    train = cfg.get("train_cfg") or {}
    if max_epochs is None and max_iters is None and isinstance(train, Mapping):
        max_epochs = train.get("max_epochs")
        max_iters = train.get("max_iters")
    wrapper = cfg.get("optim_wrapper") or {}
    opt = wrapper.get("optimizer") or cfg.get("optimizer") or {}
    bases: Dict[str, Any] = {}
    if isinstance(opt, Mapping):
        try:  # every numeric field of the optimizer (lr, momentum, weight_decay, betas[i], eps, ...)
            bases = {k: v[0] for k, v in optimizer_bases(opt).items()}
        except SpecError as e:
            raise SpecError(f"{path}: {e.path}", e.reason, e.value) from None
    if lr is not None:
        bases["lr"] = list(lr)
    if "lr" not in bases:
        raise SpecError(f"{path}: optim_wrapper.optimizer.lr", "is missing; pass --lr", None, show_value=False)
    G = len(bases["lr"]) if isinstance(bases["lr"], list) else 1
    bases = {k: (v if isinstance(v, list) else [v] * G) for k, v in bases.items()}
    try:
        plan = from_mmengine(ps, bases=bases, epoch_length=epoch_length, max_epochs=max_epochs,
                             max_iters=max_iters, accumulative_counts=wrapper.get("accumulative_counts", 1)
                             if isinstance(wrapper, Mapping) else 1)
    except SpecError as e:
        if e.path == "epoch_length":
            raise SpecError("--epoch-length", str(e.reason).replace(
                "pass epoch_length=len(train_dataloader)", "pass --epoch-length N (iterations per epoch, "
                "len(train_dataloader))"), None, show_value=False) from None
        raise
    return Plan(plan.groups, plan.epoch_length, plan.total_steps, f"mmengine config {os.path.basename(path)}")


# ---------------------------------------------------------------------------
# expressions
# ---------------------------------------------------------------------------


def _where(node: Optional[ast.AST], what: str) -> str:
    """The path of ``what`` at ``node`` in an expression: ``expression, col 12, StepLR.gamma``."""
    col = getattr(node, "col_offset", None)
    where = f"expression, col {col + 1}" if col is not None else "expression"
    return f"{where}{', ' + what if what else ''}"


def _err(node: Optional[ast.AST], what: str, message: str) -> SpecError:
    return SpecError(_where(node, what), message, None, show_value=False)


def parse_expression(text: str, *, lr: Optional[Sequence[float]] = None, dialect: Optional[str] = None) -> Plan:
    """The Plan of a torch/OneFlow constructor expression (parsed, never evaluated)."""
    call, dialect = _parse(text, dialect)
    bases = _bases(lr)
    if dialect == "oneflow":
        return _oneflow_plan(call, bases, text)
    return _torch_plan(call, bases, text)


def read_expression(text: str, *, dialect: Optional[str] = None) -> _Call:
    """The neutral record (:class:`~bridge.frameworks._record.SchedulerCall`) of an expression.

    Parsed, never evaluated; arguments bound to the constructor's signature with its
    defaults, the composed schedulers as ``children``; the dialect as detected (or given).
    """
    return _parse(text, dialect)[0]


def _bases(lr: Optional[Sequence[float]]) -> List[float]:
    bases = [DEFAULT_LR] if lr is None else [float(x) for x in lr]
    if not bases or not all(math.isfinite(b) and b >= 0 for b in bases):
        raise SpecError("--lr", "must be one or more finite base lrs >= 0", list(lr or []))
    return bases


def _parse(text: str, dialect: Optional[str]) -> Tuple[_Call, str]:
    if dialect not in (None, "torch", "oneflow"):
        raise SpecError("dialect", "must be 'torch' or 'oneflow'", dialect)
    if not isinstance(text, str):
        raise SpecError("expression", "must be a string such as 'StepLR(step_size=30)'", text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise SpecError(f"expression, col {e.offset or 0}", f"is not valid Python syntax ({e.msg})", None,
                        show_value=False) from None
    except (ValueError, RecursionError, MemoryError) as e:  # a NUL byte (Python 3.9), absurd nesting
        raise SpecError("expression", f"is not valid Python syntax ({e or 'nested too deeply'})", None,
                        show_value=False) from None
    if not isinstance(tree.body, ast.Call):
        raise _err(tree.body, "", "expected a scheduler constructor call such as StepLR(step_size=30)")
    hint = _dialect_hints(tree.body)
    if dialect is None:
        dialect = "oneflow" if "oneflow" in hint else "torch"
        if hint >= {"oneflow", "torch"}:
            raise _err(tree.body, "", "mixes torch-only and OneFlow-only names/arguments; pick one "
                       "framework's constructors (or pass --dialect)")
    sigs = ONEFLOW_SIGNATURES if dialect == "oneflow" else TORCH_SIGNATURES
    return _parse_call(tree.body, sigs, dialect, ""), dialect


def is_expression(spec: str) -> bool:
    """Whether a SPEC string is a constructor expression (not a file)."""
    text = spec.strip() if isinstance(spec, str) else ""
    ext = os.path.splitext(text)[1].lower()
    return bool(text) and not ("(" not in text and (ext in (".json", ".yaml", ".yml", ".toml", ".py")
                                                    or os.path.exists(text)))


def build_torch(text: str, optimizer: Any, *, dialect: Optional[str] = None) -> Any:
    """The REAL torch scheduler a torch expression names, built on ``optimizer``.

    Constructors run in the order the expression writes them (arguments first), as Python
    would run the expression; the optimizer argument is ``optimizer``. For parity checks of
    an expression against torch itself (``sched-bridge parity``). torch's own errors (a value
    its constructor refuses) propagate.
    """
    call, dialect = _parse(text, dialect)
    if dialect != "torch":
        raise SpecError("expression", "is a OneFlow expression, not a torch one", text, show_value=False)
    from ._frameworks import import_framework
    from .frameworks.torch import construct

    return construct(call, optimizer, import_framework("torch").optim.lr_scheduler)


def _qualname(f: ast.AST) -> Tuple[str, Optional[str]]:
    parts: List[str] = []
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    else:
        return "", None
    parts.reverse()
    return parts[-1], _PREFIXES.get(parts[0]) if len(parts) > 1 else None


def _dialect_hints(node: ast.AST) -> set:
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name, pre = _qualname(sub.func)
            if pre:
                out.add(pre)
            if name in ("WarmupLR", "CosineDecayLR"):
                out.add("oneflow")
            if name in ("CyclicLR", "OneCycleLR"):
                out.add("torch")
            for kw in sub.keywords:
                if kw.arg in _ONEFLOW_ONLY_KW:
                    out.add("oneflow")
                if (name, kw.arg) in _TORCH_ONLY_KW:
                    out.add("torch")
    return out


def _parse_call(node: ast.AST, sigs: Mapping[str, Tuple[Tuple[str, Any], ...]], dialect: str, where: str) -> _Call:
    if not isinstance(node, ast.Call):
        raise _err(node, where, "expected a scheduler constructor call")
    name, _ = _qualname(node.func)
    if not name:
        raise _err(node, where, "expected a scheduler class name before '('")
    if name not in sigs:
        if name in _NEEDS_CODE:
            raise _err(node, name, f"needs {_NEEDS_CODE[name]}, which an expression cannot carry; build it "
                       f"in Python and read it with bridge.from_{dialect}(scheduler)")
        close = difflib.get_close_matches(name, list(sigs), n=3, cutoff=0.5)
        other = ONEFLOW_SIGNATURES if sigs is TORCH_SIGNATURES else TORCH_SIGNATURES
        extra = f" ({name} is a {'OneFlow' if dialect == 'torch' else 'torch'} name)" if name in other else ""
        raise _err(node.func, name, f"unknown {dialect} scheduler{extra}; expected one of "
                   + (", ".join(close) if close else ", ".join(sorted(sigs))))
    params = sigs[name]
    names = [p for p, _ in params]
    args = list(node.args)
    if args and isinstance(args[0], ast.Name):
        args = args[1:]  # StepLR(optimizer, ...): the optimizer is implicit
    if len(args) > len(names):
        raise _err(args[len(names)], name, f"takes at most {len(names)} argument(s) after the optimizer "
                   f"({', '.join(names)})")
    bound: Dict[str, Any] = {}
    children: List[_Call] = []
    raw: Dict[str, ast.AST] = {}
    for p, a in zip(names, args):
        raw[p] = a
    for kw in node.keywords:
        if kw.arg is None:
            raise _err(kw.value, name, "**kwargs are not supported; write the arguments out")
        if kw.arg == "optimizer" and isinstance(kw.value, ast.Name):
            continue  # ChainedScheduler(..., optimizer=optimizer): implicit
        if kw.arg in ("last_epoch", "last_step", "verbose"):
            if kw.arg != "verbose" and _literal(kw.value, name, kw.arg) != -1:
                raise _err(kw.value, f"{name}.{kw.arg}", "resuming is not modelled in an expression; "
                           "build from step 0 and read the plan from the resumed step")
            continue
        if kw.arg not in names:
            close = difflib.get_close_matches(kw.arg, names, n=1, cutoff=0.5)
            raise _err(kw, f"{name}.{kw.arg}", "unknown argument; expected "
                       + (f"{close[0]!r}" if close else "one of " + ", ".join(names)))
        if kw.arg in raw:
            raise _err(kw, f"{name}.{kw.arg}", "given twice (positionally and by keyword)")
        raw[kw.arg] = kw.value
    for p, default in params:
        path = f"{name}.{p}" if not where else f"{where} > {name}.{p}"
        if p not in raw:
            if default is _REQ:
                raise _err(node, f"{name}.{p}", "is required")
            if p not in _SCHEDULER_PARAMS:
                bound[p] = default
        elif p in _SCHEDULER_PARAMS:
            v = raw[p]
            if p == "scheduler":
                if not (isinstance(v, ast.Constant) and v.value is None):
                    children.append(_parse_call(v, sigs, dialect, path))
            else:
                if not isinstance(v, (ast.List, ast.Tuple)) or not v.elts:
                    raise _err(v, path, "expected a non-empty list of scheduler constructors")
                children.extend(_parse_call(e, sigs, dialect, f"{path}[{i}]") for i, e in enumerate(v.elts))
        else:
            bound[p] = _literal(raw[p], name, p)
    if name == "CyclicLR" and bound["scale_fn"] is not None:
        raise _err(raw["scale_fn"], "CyclicLR.scale_fn", "a custom scale_fn is Python code; use mode=")
    _check_args(name, bound, raw, dialect, where, {p for p, d in params if d is None}, len(children))
    return _Call(dialect, name, bound, tuple(children), col=getattr(node, "col_offset", 0))


#: the largest whole number an argument may hold (steps are int64 in the evaluator)
_INT_LIMIT = 2**62


def _check_args(name: str, bound: Dict[str, Any], raw: Mapping[str, ast.AST], dialect: str, where: str,
                optional: Set[str], n_children: int) -> None:
    """Check the arguments given to ``name`` against ``mappings/constructor_args.toml``.

    ``optional``: the parameters whose default is None (passing None explicitly is the default).
    ``n_children``: how many schedulers the call composes.
    """
    from .mappings import constructor_rules

    rules = constructor_rules(dialect).get(name, {})
    for p, rule in rules.items():
        if p not in raw or (p in optional and bound[p] is None):
            continue  # the constructor's default
        v = bound[p]
        problem = _broken_rule(v, rule)
        if problem is None and name == "SequentialLR" and p == "milestones" and len(v) != n_children - 1:
            problem = f"must hold one milestone fewer than the {n_children} schedulers"
            rule = {"framework": "Sequential Schedulers expects number of schedulers provided to be one more "
                                 "than the number of milestone points"}
        if problem is None:
            continue
        fw = "torch" if dialect == "torch" else "OneFlow"
        if rule.get("framework"):
            problem += f" ({fw} refuses it: {rule['framework']!r})"
        elif rule.get("why"):
            problem += f" ({rule['why']})"
        path = f"{name}.{p}" if not where else f"{where} > {name}.{p}"
        raise SpecError(_where(raw[p], path), problem, v)


def _broken_rule(v: Any, rule: Mapping[str, Any]) -> Optional[str]:
    """What is wrong with ``v`` under ``rule`` (a constructor_args.toml entry), or None."""
    kind = rule["type"]
    if kind in ("ints", "numbers") or (kind.endswith("_or_numbers") and isinstance(v, list)) or \
            (kind == "bool_or_bools" and isinstance(v, list)):
        if not isinstance(v, list):
            return "must be a list"
        each = {"ints": "int", "numbers": "number", "bool_or_bools": "bool"}.get(kind, "number")
        for i, x in enumerate(v):
            bad = _broken_rule(x, {**rule, "type": each})
            if bad is not None:
                return f"item [{i}] {bad}"
        if rule.get("increasing") and any(b <= a for a, b in zip(v, v[1:])):
            return "must be increasing"
        return None
    if kind == "bool_or_bools":
        kind = "bool"
    if kind == "bool":
        return None if isinstance(v, bool) else "must be True or False"
    if kind == "str":
        if not isinstance(v, str) or v not in rule.get("choices", [v]):
            return "must be one of " + ", ".join(repr(c) for c in rule["choices"])
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "must be a whole number" if kind == "int" else "must be a number"
    if kind == "int" and not isinstance(v, int):
        return "must be a whole number"
    if isinstance(v, float) and not math.isfinite(v):
        return "must be finite"
    if isinstance(v, int) and abs(v) > _INT_LIMIT:
        return f"must be at most 2**62 in size ({_INT_LIMIT})"
    lo, hi, gt, lt = rule.get("min"), rule.get("max"), rule.get("gt"), rule.get("lt")
    if lo is not None and v < lo:
        return f"must be >= {lo}"
    if gt is not None and v <= gt:
        return f"must be > {gt}"
    if hi is not None and v > hi:
        return f"must be <= {hi}"
    if lt is not None and v >= lt:
        return f"must be < {lt}"
    return None


def _literal(node: ast.AST, name: str, p: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and \
            isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)) and \
            not isinstance(node.operand.value, bool):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, name, p) for e in node.elts]
    raise _err(node, f"{name}.{p}", "expected a literal (number, string, True/False/None or a list of them); "
               "expressions are parsed, never evaluated")


# -- torch: the record as torch's constructors would build it, read by from_torch's table --


def _per_group(v: Any, G: int, what: str, col: Optional[int]) -> List[float]:
    vals = v if isinstance(v, list) else [v] * G
    if len(vals) != G or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vals):
        raise SpecError(f"expression, col {(col or 0) + 1}, {what}", f"expected a number or {G} numbers "
                        "(one per param group, see --lr)", v)
    return [float(x) for x in vals]


def _num(c: _Call, p: str, *, integer: bool = False) -> Any:
    v = c.args[p]
    ok = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok:
        raise SpecError(f"expression, col {(c.col or 0) + 1}, {c.name}.{p}",
                        f"expected {'an integer' if integer else 'a number'}", v)
    return v


def _torch_built(c: _Call, bases: List[float]) -> Tuple[_Call, List[Dict[str, Any]]]:
    """``c`` as torch's constructors store it (what :func:`bridge.frameworks.torch.read_torch`
    reads from the live object built from the same expression), and the param groups as
    those constructors leave them (``bases`` as the lrs before).

    Replays what the constructors do to the groups, in the order the expression builds them
    (arguments first): the first scheduler sets ``initial_lr`` to the lr, a CyclicLR writes
    its ``base_lr`` into the lr first, a OneCycleLR rewrites ``initial_lr`` (and writes
    ``max_lr``/``min_lr``/momentum bounds); each takes ``initial_lr`` as its ``base_lrs``.
    A OneCycleLR's record holds those group values as the last one built left them (torch
    reads them from the group at every step). ``pct_start`` is carried as written.
    """
    groups: List[Dict[str, Any]] = [{"lr": b} for b in bases]
    rec = _torch_build(c, groups)
    return _one_cycle_groups(rec, groups), groups


def _one_cycle_groups(r: _Call, groups: List[Dict[str, Any]]) -> _Call:
    import dataclasses

    from .frameworks.torch import one_cycle_group_values

    if r.children:
        return dataclasses.replace(r, children=tuple(_one_cycle_groups(k, groups) for k in r.children))
    if r.name != "OneCycleLR":
        return r
    gv = {**r.group_values, **one_cycle_group_values(groups, r.args["cycle_momentum"])}
    return dataclasses.replace(r, group_values=gv)


def _torch_build(c: _Call, groups: List[Dict[str, Any]]) -> _Call:
    a = c.args
    G = len(groups)

    def built(args: Dict[str, Any], kids: Sequence[_Call] = (), gv: Optional[Dict[str, Any]] = None) -> _Call:
        return _Call("torch", c.name, args, tuple(kids), gv or {}, 0, c.col)

    if c.name in ("SequentialLR", "ChainedScheduler"):
        kids = [_torch_build(k, groups) for k in c.children]
        if c.name == "ChainedScheduler":
            return built({}, kids)
        milestones = a["milestones"]
        if not isinstance(milestones, list) or len(milestones) != len(kids) - 1 or \
                not all(isinstance(m, int) and not isinstance(m, bool) for m in milestones):
            raise SpecError(f"expression, col {(c.col or 0) + 1}, SequentialLR.milestones",
                            f"expected {len(kids) - 1} integer(s), one less than the schedulers", milestones)
        return built({"milestones": list(milestones)}, kids)
    # what torch's constructor takes as base_lrs: initial_lr as this scheduler is built
    if c.name == "CyclicLR":
        for grp, b in zip(groups, _per_group(a["base_lr"], G, "CyclicLR.base_lr", c.col)):
            grp["lr"] = b
    for grp in groups:
        grp.setdefault("initial_lr", grp["lr"])
    gv: Dict[str, Any] = {"base_lrs": tuple(grp["initial_lr"] for grp in groups)}
    ints = {"step_size", "total_iters", "T_max", "T_0", "T_mult", "total_steps", "epochs", "steps_per_epoch"}
    for p, v in a.items():
        if p in ints and v is not None:
            _num(c, p, integer=True)
        elif p in ("gamma", "factor", "start_factor", "end_factor", "power", "eta_min", "pct_start",
                   "div_factor", "final_div_factor"):
            _num(c, p)
    if c.name == "MultiStepLR":
        if not isinstance(a["milestones"], list) or not all(isinstance(m, int) for m in a["milestones"]):
            raise SpecError(f"expression, col {(c.col or 0) + 1}, MultiStepLR.milestones", "expected a list of integers",
                            a["milestones"])
        return built({"milestones": sorted(a["milestones"]), "gamma": a["gamma"]}, gv=gv)
    if c.name == "CyclicLR":
        up = float(_num(c, "step_size_up", integer=True))
        down = float(a["step_size_down"]) if a["step_size_down"] is not None else up
        last = gv["base_lrs"]  # its first value: the initial_lr it found
        gv = {"base_lrs": tuple(_per_group(a["base_lr"], G, "CyclicLR.base_lr", c.col)),
              "last_lr": last, "max_lrs": tuple(_per_group(a["max_lr"], G, "CyclicLR.max_lr", c.col))}
        total = up + down
        ratio = up / total
        if a["mode"] not in ("triangular", "triangular2", "exp_range"):
            raise SpecError(f"expression, col {(c.col or 0) + 1}, CyclicLR.mode",
                            "expected 'triangular', 'triangular2' or 'exp_range'", a["mode"])
        mom = bool(a["cycle_momentum"])
        if mom:
            gv["base_momentums"] = tuple(_per_group(a["base_momentum"], G, "CyclicLR.base_momentum", c.col))
            gv["max_momentums"] = tuple(_per_group(a["max_momentum"], G, "CyclicLR.max_momentum", c.col))
        return built({"total_size": total, "step_ratio": ratio, "mode": a["mode"], "gamma": a["gamma"],
                      "scale_fn": None, "cycle_momentum": mom, "use_beta1": False}, gv=gv)
    if c.name == "OneCycleLR":
        T = a["total_steps"]
        if T is None:
            if a["epochs"] is None or a["steps_per_epoch"] is None:
                raise SpecError(f"expression, col {(c.col or 0) + 1}, OneCycleLR.total_steps",
                                "is required (or epochs and steps_per_epoch)", None, show_value=False)
            T = int(a["epochs"]) * int(a["steps_per_epoch"])
        pct = float(_num(c, "pct_start"))
        if a["anneal_strategy"] not in ("cos", "linear"):
            raise SpecError(f"expression, col {(c.col or 0) + 1}, OneCycleLR.anneal_strategy", "expected 'cos' or 'linear'",
                            a["anneal_strategy"])
        ends = [float(pct * T) - 1] + ([float(2 * pct * T) - 2] if a["three_phase"] else []) + [T - 1]
        mom = bool(a["cycle_momentum"])
        mx = _per_group(a["max_lr"], G, "OneCycleLR.max_lr", c.col)
        bm = _per_group(a["base_momentum"], G, "OneCycleLR.base_momentum", c.col)
        xm = _per_group(a["max_momentum"], G, "OneCycleLR.max_momentum", c.col)
        for g, grp in enumerate(groups):
            grp["initial_lr"] = mx[g] / a["div_factor"]
            grp["max_lr"] = mx[g]
            grp["min_lr"] = grp["initial_lr"] / a["final_div_factor"]
            grp["base_momentum"], grp["max_momentum"] = bm[g], xm[g]
        # its first value, computed from its own initial/max lr (a later OneCycleLR rewrites them)
        if a["anneal_strategy"] == "cos":
            last = [g["max_lr"] + (g["initial_lr"] - g["max_lr"]) / 2.0 * (math.cos(0.0) + 1) for g in groups]
        else:
            last = [(g["max_lr"] - g["initial_lr"]) * 0.0 + g["initial_lr"] for g in groups]
        gv = {"base_lrs": tuple(grp["initial_lr"] for grp in groups), "last_lr": tuple(last)}
        return built({"total_steps": T, "phase_ends": ends, "anneal_strategy": a["anneal_strategy"],
                      "cycle_momentum": mom, "use_beta1": False, "pct_start": pct}, gv=gv)
    return built(dict(a), gv=gv)


def _torch_plan(call: _Call, bases: List[float], text: str) -> Plan:
    from .frameworks.torch import import_record

    rec, groups = _torch_built(call, bases)
    plan = _guard(lambda: import_record(rec, groups, None, check=False))
    return Plan(plan.groups, total_steps=_own_horizon(rec), source=f"torch expression {text}")


def _own_horizon(rec: _Call) -> Optional[int]:
    """The run an expression defines itself: a OneCycleLR's ``total_steps`` (torch raises past it;
    a CyclicLR or a CosineAnnealingLR's ``T_max`` goes on for ever), placed where a SequentialLR
    runs it; the shortest one inside a ChainedScheduler. None when it has none."""
    if rec.name == "OneCycleLR":
        return int(rec.args["total_steps"])
    hs = [_own_horizon(k) for k in rec.children]
    if rec.name == "SequentialLR":
        ms = list(rec.args["milestones"])
        starts = [0] + ms
        # a scheduler that runs out before the next one starts ends the run there
        hs = [None if h is None or (i < len(ms) and starts[i] + h >= ms[i]) else starts[i] + h
              for i, h in enumerate(hs)]
    known = [h for h in hs if h is not None]
    return min(known) if known else None


# -- OneFlow: the record as OneFlow's constructors would build it, read by from_oneflow's table --


def _oneflow_built(c: _Call, bases: List[float]) -> _Call:
    """``c`` as OneFlow's constructors store it (what :func:`bridge.frameworks.oneflow.read_oneflow`
    reads from a live object): a WarmupLR is the SequentialLR it builds, interval_rescaling
    one flag per milestone, every scheduler holding ``bases``."""
    gv = {"base_lrs": tuple(bases)}
    a = c.args

    def built(name: str, args: Dict[str, Any], kids: Sequence[_Call] = ()) -> _Call:
        return _Call("oneflow", name, args, tuple(kids), gv, 0, c.col)

    if c.name == "WarmupLR":
        inner = _oneflow_built(c.children[0], bases) if c.children else None
        W = _num(c, "warmup_iters", integer=True)
        if a["warmup_method"] not in ("linear", "constant"):
            raise SpecError(f"expression, col {(c.col or 0) + 1}, WarmupLR.warmup_method",
                            "expected 'linear' or 'constant'", a["warmup_method"])
        if inner is None and W == 0:
            raise SpecError(f"expression, col {(c.col or 0) + 1}, WarmupLR.warmup_iters",
                            "must be > 0 without a scheduler (OneFlow raises ValueError)", W)
        kids = []
        if W > 0:
            if a["warmup_method"] == "linear":
                end = 1.0
                if inner is not None and not a["warmup_prefix"]:
                    from .frameworks.oneflow import record_nodes

                    if len(set(bases)) > 1:
                        raise SpecError(f"expression, col {(c.col or 0) + 1}, WarmupLR",
                                        "OneFlow refuses a linear WarmupLR around a scheduler when the param "
                                        "groups have different base lrs", bases)
                    node = record_nodes(inner, bases, "WarmupLR.scheduler", False)[0]
                    import numpy as np

                    from .ir import semantics

                    end = float(semantics.evaluate(node, np.array([W]), np.array([bases[0]]))[0, 0]) / bases[0]
                kids.append(built("LinearLR", {"start_factor": a["warmup_factor"], "end_factor": end,
                                               "total_iters": W}))
            else:
                kids.append(built("ConstantLR", {"factor": a["warmup_factor"], "total_iters": W}))
        if inner is not None:
            kids.append(inner)
        ms = [W] if len(kids) == 2 else []
        return built("SequentialLR", {"milestones": ms, "interval_rescaling": [bool(a["warmup_prefix"])] * len(ms)},
                     kids)
    if c.name in ("SequentialLR", "ChainedScheduler"):
        kids = [_oneflow_built(k, bases) for k in c.children]
        if c.name == "ChainedScheduler":
            return built("ChainedScheduler", {}, kids)
        milestones = a["milestones"]
        if not isinstance(milestones, list) or len(milestones) != len(kids) - 1:
            raise SpecError(f"expression, col {(c.col or 0) + 1}, SequentialLR.milestones",
                            f"expected {len(kids) - 1} integer(s), one less than the schedulers", milestones)
        r = a["interval_rescaling"]
        return built("SequentialLR", {"milestones": list(milestones),
                                      "interval_rescaling": list(r) if isinstance(r, list) else [bool(r)] * len(milestones)},
                     kids)
    return built(c.name, dict(a))


def _oneflow_plan(call: _Call, bases: List[float], text: str) -> Plan:
    from .frameworks.oneflow import import_record

    rec = _oneflow_built(call, bases)
    plan = _guard(lambda: import_record(rec, call.name))
    return Plan(plan.groups, source=f"oneflow expression {text}")


def _guard(fn: Any) -> Plan:
    """Run an importer on an expression's record; a wrong argument type becomes a SpecError, not a traceback."""
    try:
        return fn()
    except (SpecError, UnsupportedError):
        raise
    except (TypeError, ValueError, AttributeError, KeyError, ZeroDivisionError) as e:
        raise SpecError("expression", f"invalid argument ({e})", None, show_value=False) from None
