"""The ``sched-bridge`` command line (also ``python -m bridge``).

Argument parsing, calls into the library, printing and exit codes; nothing else. The work is
done by the public API: ``bridge.spec.resolve`` (SPEC -> Plan), ``Plan.iter_values``, the
lowerings (``bridge.frameworks.*``), ``bridge.parity``, ``bridge.probes``, ``bridge.linter``,
``bridge.plot`` and ``bridge.demo`` (docs/architecture.md).

Exit codes: 0 ok, 1 a parity mismatch (or a lint error finding), 2 a bad input (spec, file, argument),
3 a framework or feature not available here (a missing framework or matplotlib,
or a schedule the target cannot express), 128 + the signal number when interrupted (130: Ctrl-C).

Adding a subcommand is one decorated function::

    @command("lint", "check a schedule", spec=True, args=[arg("--strict", action="store_true")])
    def cmd_lint(args):
        plan = load_plan(args)   # the SPEC, resolved with the shared options
        ...
        return EXIT_OK
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import sys
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from . import BridgeError, FrameworkMissingError, Plan, SpecError, UnsupportedError, parity
from ._frameworks import PARITY_FRAMEWORKS
from .config import skipped_statements, trust_flag
from .ir.io import write_npy
from .limits import check_disk, check_memory, check_steps
from .outputs import Interrupted, atomic_output, atomic_path, check_destination, signals_raise
from .plot import MAX_INCHES, phase_switches

EXIT_OK, EXIT_MISMATCH, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: List[Tuple[str, str, bool, Sequence[Tuple[Tuple[str, ...], Dict[str, Any]]], Handler]] = []


def arg(*flags: str, **kw: Any) -> Tuple[Tuple[str, ...], Dict[str, Any]]:
    """One argparse argument for :func:`command`."""
    return flags, kw


def command(name: str, help: str, *, spec: bool = False,
            args: Sequence[Tuple[Tuple[str, ...], Dict[str, Any]]] = ()) -> Callable[[Handler], Handler]:
    """Register ``fn(args) -> exit code`` as a subcommand; ``spec=True`` adds SPEC and its options."""
    def deco(fn: Handler) -> Handler:
        _COMMANDS[:] = [c for c in _COMMANDS if c[0] != name]
        _COMMANDS.append((name, help, spec, list(args), fn))
        return fn
    return deco


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def _floats(text: str) -> List[float]:
    parts = text.split(",")
    if any(not x.strip() for x in parts):
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    try:
        return [float(x) for x in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _names(text: str) -> List[str]:
    out = [x.strip().lower() for x in text.split(",") if x.strip()]
    bad = [x for x in out if x not in PARITY_FRAMEWORKS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown framework {bad[0]!r}; expected some of "
                                         f"{', '.join(PARITY_FRAMEWORKS)}")
    return out


def _ints(text: str) -> Tuple[int, ...]:
    try:
        out = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated update indices like 0,3, got {text!r}") \
            from None
    if any(x < 0 for x in out):
        raise argparse.ArgumentTypeError(f"update indices must be >= 0, got {text!r}")
    return out


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _tolerance(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return v


_SPEC_ARGS = [
    arg("spec", metavar="SPEC", help="plan file (.json/.yaml/.toml), MMEngine config (.py), or an expression "
        "like \"StepLR(step_size=30, gamma=0.1)\""),
    arg("--lr", type=_floats, default=None, help="base lr(s) of an expression, one per param group "
        "(default 0.1); overrides a config's optimizer lr"),
    arg("--dialect", choices=("torch", "oneflow"), default=None, help="framework of an expression's names"),
    arg("--trust", action="store_true", help="execute a .py config instead of reading it literally"),
    arg("--epoch-length", type=_positive, default=None, help="iterations per epoch (MMEngine configs)"),
    arg("--max-epochs", type=_positive, default=None, help="overrides train_cfg.max_epochs"),
    arg("--max-iters", type=_positive, default=None, help="overrides train_cfg.max_iters"),
    arg("--steps-per-epoch", type=_positive, default=None, help="an expression's scheduler is stepped once per "
        "epoch of this many optimizer updates (e.g. torchvision's reference); the plan counts updates"),
]


def load_plan(args: argparse.Namespace) -> Plan:
    """The Plan of ``args.spec`` (with --lr, --dialect, --trust, --epoch-length, ..., and a --group
    KEY of an MMEngine config's paramwise_cfg); what was done with paramwise_cfg goes to stderr."""
    loaded = _load(args)
    if loaded.note:
        print(loaded.note, file=sys.stderr)
    return loaded.plan


def _resolve(args: argparse.Namespace, lr: Optional[List[float]] = None) -> Plan:
    from .spec import resolve

    plan = resolve(args.spec, lr=lr if lr is not None else args.lr, dialect=args.dialect, trust=args.trust,
                   epoch_length=args.epoch_length, max_epochs=args.max_epochs, max_iters=args.max_iters)
    spe = getattr(args, "steps_per_epoch", None)
    return plan if spe is None else plan.per_epoch(spe)


class _Loaded:
    """A SPEC as read: the plan (of the chosen paramwise group), the config it came from (if one),
    the paramwise_cfg groups and one line saying what was done with them."""

    def __init__(self, plan: Plan, config: Optional[Dict[str, Any]] = None, groups: Sequence[Any] = (),
                 note: Optional[str] = None, summary: Optional[str] = None):
        self.plan, self.config, self.groups, self.note = plan, config, list(groups), note
        self.summary = summary or note  #: the note without what the command showed


def _group_arg(text: str) -> Any:
    """--group: a param-group index (0, 1, ...) or a paramwise_cfg group name (a custom key, default, ...)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if not text:
        raise argparse.ArgumentTypeError("expected a param-group index or a paramwise_cfg group name")
    return text


def _read_config(args: argparse.Namespace) -> Optional[Dict[str, Any]]:
    """The MMEngine config SPEC names (read as resolve reads it), or None for other SPECs."""
    from .config import load_config
    from .spec import is_expression

    path = args.spec.strip()
    if is_expression(path) or os.path.splitext(path)[1].lower() not in (".py", ".json", ".yaml", ".yml") \
            or not os.path.isfile(path):
        return None
    try:
        if not path.lower().endswith(".py"):  # a data file is a config only with a param_scheduler (resolve)
            from .ir.io import read_file

            data = read_file(path)
            if not isinstance(data, dict) or "param_scheduler" not in data:
                return None
        cfg = load_config(path, trust=args.trust)
    except BridgeError:
        return None  # resolve() reports it
    return cfg if isinstance(cfg, dict) and "param_scheduler" in cfg else None


def _optimizer_cfg(cfg: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    wrapper = cfg.get("optim_wrapper") or {}
    wrapper = wrapper if isinstance(wrapper, dict) else {}
    opt = wrapper.get("optimizer") or cfg.get("optimizer") or {}
    return wrapper, (opt if isinstance(opt, dict) else {})


def _load(args: argparse.Namespace) -> _Loaded:
    """``args.spec`` read, with ``args.group`` applied when it names a paramwise_cfg group."""
    group = getattr(args, "group", None)
    cfg = _read_config(args)
    wrapper, opt = _optimizer_cfg(cfg) if cfg is not None else ({}, {})
    pw = wrapper.get("paramwise_cfg")
    if not pw or cfg is None:
        if isinstance(group, str):
            raise SpecError("--group", "a group name needs an MMEngine config with optim_wrapper.paramwise_cfg; "
                            "give a param-group index (0, 1, ...)", group)
        return _Loaded(_resolve(args), cfg)
    constructor = wrapper.get("constructor")
    if constructor not in (None, "DefaultOptimWrapperConstructor"):
        if isinstance(group, str):
            raise UnsupportedError(f"--group {group}: the config's optim_wrapper.constructor {constructor!r} is "
                                   "not MMEngine's DefaultOptimWrapperConstructor; only its paramwise_cfg rules "
                                   "are modelled (give a param-group index)")
        return _Loaded(_resolve(args), cfg, note=f"paramwise_cfg: not applied (constructor {constructor!r} is not "
                       "DefaultOptimWrapperConstructor, whose rules are the only ones modelled); every value is "
                       "the optimizer's")
    return _load_paramwise(args, cfg, pw, opt, group)


def _paramwise_summary(cfg: Any) -> Optional[str]:
    """One line on a config's paramwise_cfg (None when it has none or it cannot be read: the
    command reading the config reports that)."""
    from .groups.paramwise import implied_groups

    if not isinstance(cfg, dict):
        return None
    wrapper, opt = _optimizer_cfg(cfg)
    pw = wrapper.get("paramwise_cfg")
    if not pw or not isinstance(pw, dict):
        return None
    if wrapper.get("constructor") not in (None, "DefaultOptimWrapperConstructor"):
        return f"paramwise_cfg: not applied (constructor {wrapper.get('constructor')!r})"
    wd = opt.get("weight_decay")
    try:
        names = [g.name for g in implied_groups(pw, 1.0, wd if isinstance(wd, (int, float)) else None)]
    except BridgeError:
        return None
    return f"paramwise_cfg: {len(names)} groups ({', '.join(names)})"


def _load_paramwise(args: argparse.Namespace, cfg: Dict[str, Any], pw: Any, opt: Dict[str, Any],
                    group: Any) -> _Loaded:
    from .groups.paramwise import implied_groups

    if not isinstance(pw, dict):
        raise SpecError(f"{args.spec}: optim_wrapper.paramwise_cfg", "must be a dict", pw)
    plan = _resolve(args)
    wd = opt.get("weight_decay")
    base_wd = float(wd) if isinstance(wd, (int, float)) and not isinstance(wd, bool) else None
    groups = implied_groups(pw, float(plan.bases("lr")[0]), base_wd)
    names = [g.name for g in groups]
    n_keys = len(pw.get("custom_keys") or {})
    head = (f"paramwise_cfg: {n_keys} custom key{'s' if n_keys != 1 else ''}, {len(groups)} groups "
            f"({', '.join(names)})")
    if not isinstance(group, str):
        shown = ("'default'" if group in (None, 0) and plan.n_groups == 1 else
                 "the --lr groups (not paramwise groups)" if group is None else f"param group {group}")
        return _Loaded(plan, cfg, groups, f"{head}; showing {shown} (use --group KEY)", head)
    if group not in names:
        raise SpecError("--group", f"no such paramwise_cfg group; expected one of {', '.join(names)}", group)
    if plan.n_groups != 1:
        raise SpecError("--group", "a paramwise_cfg group needs a config with one optimizer lr (no --lr list)",
                        group)
    g = groups[names.index(group)]
    plan = _scaled(args, cfg, plan, g.lr, g.weight_decay)
    plan = Plan(plan.groups, plan.epoch_length, plan.total_steps, f"{plan.source}, paramwise group {group!r}")
    return _Loaded(plan, cfg, groups, f"{head}; showing group {group!r}: lr {g.lr!r}, weight_decay "
                   f"{g.weight_decay!r} ({g.rule})", head)


def _scaled(args: argparse.Namespace, cfg: Dict[str, Any], plan: Plan, lr: float, wd: Optional[float]) -> Plan:
    """The plan of one paramwise group: the config read again with the group's bases, so that what
    a scheduler takes as absolute (eta_min, ...) stays absolute."""
    from .frameworks.mmengine import from_mmengine
    from .ir import Field, Group

    plan = _resolve(args, lr=[lr]) if lr != float(plan.bases("lr")[0]) else plan
    if wd is None or "weight_decay" not in plan.fields or float(plan.bases("weight_decay")[0]) == wd:
        return plan
    fld = plan.field(0, "weight_decay")
    if fld.schedule is None:
        fields = dict(plan.groups[0].fields, weight_decay=Field(wd))
        return Plan((Group(fields),), plan.epoch_length, plan.total_steps, plan.source)
    bases = {f: [float(plan.bases(f)[0])] for f in plan.fields}
    bases["weight_decay"] = [wd]
    max_epochs, max_iters = _run_length(args, cfg)
    new = from_mmengine(cfg["param_scheduler"], bases=bases, epoch_length=plan.epoch_length,
                        max_epochs=max_epochs, max_iters=max_iters)
    return Plan(new.groups, new.epoch_length, new.total_steps, plan.source)


def _run_length(args: argparse.Namespace, cfg: Dict[str, Any]) -> Tuple[Optional[int], Optional[int]]:
    """max_epochs / max_iters as the config reader takes them (the flags, else train_cfg)."""
    if args.max_epochs is not None or args.max_iters is not None:
        return args.max_epochs, args.max_iters
    train = cfg.get("train_cfg") or {}
    train = train if isinstance(train, dict) else {}
    return train.get("max_epochs"), train.get("max_iters")


def _steps(args: argparse.Namespace, plan: Plan, default: int = 1000) -> int:
    if getattr(args, "steps", None):
        return check_steps(int(args.steps))
    if plan.total_steps:
        return check_steps(int(plan.total_steps), "--steps", what="steps (the plan's total_steps)")
    return default


def _in_memory(steps: int, cols: int) -> int:
    """``steps`` after checking that ``steps`` x ``cols`` values fit the memory limit (bridge.limits)."""
    check_steps(steps)
    check_memory(steps, cols, "--steps", advice="pass a smaller --steps, or write them to a file with "
                 "`sched-bridge values -o FILE` (streamed)")
    return steps


def _checked_blocks(plan: Plan, n: int, field: str, cols: List[int], chunk: int) -> Iterator[np.ndarray]:
    """``plan.iter_values`` of the groups ``cols``, each block checked by :func:`_finite` first."""
    lo = 0
    for block in plan.iter_values(n, field, chunk, groups=cols):
        _finite(block, lo, field)
        lo += block.shape[0]
        yield block


def _finite(block: np.ndarray, lo: int, field: str) -> None:
    """A non-finite value (a schedule that overflows float64) is a bad input, not a result."""
    if not np.isfinite(block).all():
        r, c = np.argwhere(~np.isfinite(block))[0]
        raise SpecError(field, f"the schedule overflows float64 at step {lo + int(r)} (param group {int(c)}: "
                        f"{float(block[r, c])!r}); check its factors (gamma, max_lr, ...)", None, show_value=False)


@contextlib.contextmanager
def _output(path: Optional[str]) -> Any:
    """stdout for None / '-', else a text file replaced atomically when the block succeeds."""
    if path in (None, "-"):
        yield sys.stdout
        return
    with atomic_output(path) as fh:
        yield fh


def _field(plan: Plan, field: str) -> str:
    if field not in plan.fields:
        raise SpecError("--field", f"the plan has no such field (it has: {', '.join(plan.fields)})", field)
    return field


def _groups(plan: Plan, group: Any) -> List[int]:
    if isinstance(group, str):  # a paramwise_cfg group: the plan is that group's (_load)
        return [0]
    if group is None:
        return list(range(plan.n_groups))
    if not 0 <= group < plan.n_groups:
        raise SpecError("--group", f"must be between 0 and {plan.n_groups - 1}", group)
    return [group]


def _table(plan: Plan, steps: List[int], field: str = "lr") -> str:
    vals = plan.at(steps, field)
    head = "  step  " + "  ".join(f"group {i:<10d}" for i in range(plan.n_groups))
    rows = [head]
    for s, row in zip(steps, vals):
        rows.append(f"{s:6d}  " + "  ".join(f"{v:<16.9g}" for v in row))
    return "\n".join(rows)


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, label: str):
        self.total, self.label = max(1, total), label
        self.on = sys.stderr.isatty() and total > 1 << 20

    def __call__(self, done: int) -> None:
        if self.on:
            k = int(30 * done / self.total)
            sys.stderr.write(f"\r{self.label} [{'#' * k}{'.' * (30 - k)}] {done}/{self.total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\n")


# ---------------------------------------------------------------------------
# show / values
# ---------------------------------------------------------------------------


def _print_paramwise(groups: Sequence[Any]) -> None:
    """The paramwise_cfg groups (bridge.groups.paramwise.implied_groups), one line each."""
    if not groups:
        return
    print(f"  {'--group':<16}{'lr':>14}{'weight_decay':>14}  rule; which parameters")
    for g in groups:
        wd = "-" if g.weight_decay is None else f"{g.weight_decay:.6g}"
        print(f"  {g.name:<16}{g.lr:>14.6g}{wd:>14}  {g.rule}; {g.who}")


@command("show", "the schedule in words and a compact table", spec=True,
         args=[arg("--steps", type=_positive, help="horizon of the table (default: the plan's total_steps or 1000)")])
def cmd_show(args: argparse.Namespace) -> int:
    loaded = _load(args)
    plan = loaded.plan
    N = _steps(args, plan)
    print(f"source: {plan.source or args.spec}")
    if loaded.note:
        print(loaded.note)
        _print_paramwise(loaded.groups)
    print(plan.describe())
    for f in plan.fields:
        lo_v = np.full(plan.n_groups, np.inf)
        hi_v = np.full(plan.n_groups, -np.inf)
        done = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for block in plan.iter_values(N, f):
                _finite(block, done, f)
                lo_v, hi_v = np.minimum(lo_v, block.min(axis=0)), np.maximum(hi_v, block.max(axis=0))
                done += block.shape[0]
        switches = phase_switches(plan, f)
        print(f"\n{f} over {N} updates: min {lo_v.tolist()}, max {hi_v.tolist()}"
              + (f", phases switch at {switches}" if switches else ""))
        marks = sorted({0, 1, N // 2, N - 1} | {m for m in switches if m < N}
                       | {m - 1 for m in switches if 0 < m <= N})
        print(_table(plan, marks, f))
    return EXIT_OK


@command("values", "per-step values as CSV, JSON or .npy", spec=True, args=[
    arg("--steps", type=_positive, help="number of steps (default: the plan's total_steps)"),
    arg("--field", default="lr", help="lr (default), momentum, weight_decay, betas[0], ..."),
    arg("--group", type=_group_arg, default=None, help="only this param group: an index, or a paramwise_cfg "
        "group of an MMEngine config (a custom key, default, norm, bias, dwconv, flat, dcn_offset)"),
    arg("--format", choices=("csv", "json", "npy"), default=None, help="default: from -o's suffix, else csv"),
    arg("-o", "--output", default=None, help="output file (default stdout; .npy needs a file)"),
])
def cmd_values(args: argparse.Namespace) -> int:
    plan = load_plan(args)
    if not args.steps and not plan.total_steps:
        raise SpecError("--steps", "is needed (the plan has no total_steps)", None, show_value=False)
    N = _steps(args, plan)
    field = _field(plan, args.field)
    cols = _groups(plan, args.group)
    fmt = args.format or {".npy": "npy", ".json": "json"}.get(os.path.splitext(args.output or "")[1].lower(), "csv")
    if fmt == "npy" and args.output in (None, "-"):
        raise SpecError("-o", "--format npy needs an output file", None, show_value=False)
    if args.output not in (None, "-"):
        check_destination(args.output)
        per_row = {"npy": 8 * len(cols), "csv": len(str(N)) + 2 + 25 * len(cols)}.get(fmt, 3 + 25 * len(cols))
        check_disk(args.output, 128 + N * per_row)
    if fmt == "npy":
        with atomic_output(args.output, binary=True) as fh, np.errstate(over="ignore", invalid="ignore"):
            write_npy(fh, _checked_blocks(plan, N, field, cols, 1 << 20), (N, len(cols)))
        return EXIT_OK
    bar = _Progress(N, "values")
    with _output(args.output) as fh, np.errstate(over="ignore", invalid="ignore"):
        if fmt == "csv":
            fh.write("step," + ",".join(f"group{g}" for g in cols) + "\n")
        else:
            fh.write(f'{{"field": {json.dumps(field)}, "groups": {json.dumps(cols)}, "steps": {N}, "values": [')
        lo = 0
        for block in _checked_blocks(plan, N, field, cols, 1 << 16):
            if fmt == "csv":
                fh.write("".join(f"{lo + i}," + ",".join(repr(float(x)) for x in row) + "\n"
                                 for i, row in enumerate(block)))
            else:
                fh.write(("," if lo else "") + ",".join(json.dumps(row.tolist()) for row in block))
            lo += block.shape[0]
            bar(lo)
        if fmt == "json":
            fh.write("]}\n")
        bar.close()
    return EXIT_OK


# ---------------------------------------------------------------------------
# lower
# ---------------------------------------------------------------------------

@command("lower", "write a list file or a Python snippet for a framework", spec=True, args=[
    arg("--to", required=True, choices=("torch", "oneflow", "mindspore-list", "mindspore-cell")),
    arg("--steps", type=_positive, help="list length for mindspore-list (default: the plan's total_steps)"),
    arg("--field", default="lr"),
    arg("--group", type=_group_arg, default=None, help="param group: an index (default 0; --standalone: every "
        "group) or a paramwise_cfg group of an MMEngine config (a custom key, default, norm, bias, ...)"),
    arg("--optimizer", default="optimizer", help="the optimizer's variable name in the snippet"),
    arg("--standalone", action="store_true",
        help="mindspore-cell: write a module that builds the cell without sched-bridge "
             "(its cell classes + make_schedule()); --steps sets a table's length"),
    arg("-o", "--output", default=None, help="output file (default stdout); a list file: .json, .npy or .txt"),
])
def cmd_lower(args: argparse.Namespace) -> int:
    plan = load_plan(args)
    field = _field(plan, args.field)
    _groups(plan, args.group)
    if args.standalone and args.to != "mindspore-cell":
        raise SpecError("--standalone", "applies to --to mindspore-cell only", args.to)
    if args.standalone:
        from .frameworks.mindspore import to_mindspore_source

        return _write_text(args.output, to_mindspore_source(plan, _groups(plan, args.group)[0] if args.group is not
                                                            None else None, field, sample=args.steps))
    group = _groups(plan, 0 if args.group is None else args.group)[0]
    if args.to == "mindspore-list":
        if not args.steps and not plan.total_steps:
            raise SpecError("--steps", "is needed for a list (the plan has no total_steps)", None, show_value=False)
        N = _in_memory(_steps(args, plan), 1)
        if args.output not in (None, "-"):
            check_destination(args.output)
        with np.errstate(over="ignore", invalid="ignore"):
            vals = plan.group_values(N, field, group)
        _finite(vals.reshape(-1, 1), 0, field)
        ext = os.path.splitext(args.output or "")[1].lower()
        if ext == ".npy":
            with atomic_path(args.output) as tmp:
                np.save(tmp, vals)
            return EXIT_OK
        if ext == ".txt":
            return _write_text(args.output, "".join(f"{float(v)!r}\n" for v in vals))
        return _write_text(args.output, json.dumps([float(v) for v in vals]) + "\n")
    if not args.optimizer.isidentifier():
        raise SpecError("--optimizer", "must be a Python variable name", args.optimizer)
    from .frameworks._source import snippet

    return _write_text(args.output, snippet(plan, args.to, optimizer=args.optimizer, group=group, field=field))


def _write_text(path: Optional[str], text: str) -> int:
    with _output(path) as fh:
        fh.write(text)
    return EXIT_OK


# ---------------------------------------------------------------------------
# parity
# ---------------------------------------------------------------------------


def _error_row(name: str, e: BaseException, kind: str = "lowering", what: str = "") -> Dict[str, Any]:
    return {"framework": name, "max_abs": float("nan"), "max_rel": float("nan"), "first_divergent": 0,
            "ok": False, "status": "ERROR", "kind": kind, "what": what, "seconds": float("nan"),
            "note": f"raised {type(e).__name__}: {e}"}


def _row(name: str, ours: np.ndarray, theirs: np.ndarray, bases: np.ndarray) -> Dict[str, Any]:
    """One row of the parity table, under the contract of the ``name`` target (bridge.parity)."""
    return parity.compare(ours, theirs, bases, parity.contract_for(name)).row(name)


def _target_row(t: parity.Target, ours: np.ndarray, bases: np.ndarray) -> Dict[str, Any]:
    if t.values is None:  # the framework cannot schedule the field: neither ok nor a difference
        return {"framework": t.name, "max_abs": float("nan"), "max_rel": float("nan"), "first_divergent": None,
                "ok": True, "status": "n/a", "kind": t.kind, "what": t.what, "seconds": float("nan"),
                "note": f"not applicable: {t.reason}"}
    r = _row(t.name, ours, t.values, bases)
    r.update(status="ok" if r["ok"] else "MISMATCH", kind=t.kind, what=t.what, seconds=t.seconds)
    return r


def _timed(name: str, kind: str, what: str, fn: Callable[[], np.ndarray]) -> parity.Target:
    t0 = time.perf_counter()
    v = fn()
    return parity.Target(name, kind, what, v, seconds=time.perf_counter() - t0)


def _source_targets(args: argparse.Namespace, loaded: Any, wanted: List[str], steps: int,
                    field: str) -> List[Tuple[str, Callable[[], Any]]]:
    """Rows that build the framework's own objects from what the user wrote (not our lowering):
    a torch expression built by torch, an MMEngine config's param_scheduler built by MMEngine."""
    from .spec import is_expression

    plan = loaded.plan
    out: List[Tuple[str, Callable[[], Any]]] = []
    if "torch" in wanted and is_expression(args.spec) and (plan.source or "").startswith("torch expression"):
        out.append(("torch (source)", lambda: _timed(
            "torch (source)", "source", "the expression built by torch itself",
            lambda: parity.expression_values(args.spec, plan, steps, field, dialect=args.dialect))))
    if "mmengine" in wanted and loaded.config is not None:
        max_epochs, max_iters = _run_length(args, loaded.config)
        out.append(("mmengine (source)", lambda: _timed(
            "mmengine (source)", "source", "the config's param_scheduler built by MMEngine, stepped like "
            "ParamSchedulerHook", lambda: parity.mmengine_values(loaded.config["param_scheduler"], plan, steps,
                                                                   field, max_epochs=max_epochs,
                                                                   max_iters=max_iters))))
    return out


def _parity_names(text: str) -> List[str]:
    out = [x.strip().lower() for x in text.split(",") if x.strip()]
    known = PARITY_FRAMEWORKS + ("mmengine",)
    bad = [x for x in out if x not in known]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown framework {bad[0]!r}; expected some of {', '.join(known)}")
    return out


def _horizon(args: argparse.Namespace, plan: Plan) -> Tuple[int, str]:
    """Steps to compare, and a line saying what part of the run that is."""
    total = plan.total_steps
    if args.steps:
        n = int(args.steps)
        if total and n < total:
            return n, (f"checked updates 0..{n - 1} of {total} (--steps {n}): updates {n}..{total - 1} "
                       "were NOT checked")
        return n, f"checked {n} updates" + (f" (the whole run is {total})" if total else "")
    if total:
        return int(total), f"checked all {total} updates (the plan's whole run)"
    return 10_000, ("the plan has no total_steps (no run length): checked its first 10000 updates; pass "
                    "--steps N to check more")


@command("parity", "step the real frameworks and compare them with the plan", spec=True, args=[
    arg("--frameworks", type=_parity_names, default=None, help="comma list of torch, mindspore, oneflow, mmengine "
        "(default: every installed one; mmengine for MMEngine configs)"),
    arg("--steps", type=_positive, default=None, help="updates to compare (default: the plan's whole run, "
        "total_steps; 10000 when it has none); fewer than the run is reported as not checked"),
    arg("--field", default="lr"),
    arg("--group", type=_group_arg, default=None, help="only this param group: an index, or a paramwise_cfg "
        "group of an MMEngine config (a custom key, default, norm, bias, ...)"),
    arg("--trace", default=None, metavar="A.csv|A.json",
        help="compare a recorded probe trace with SPEC (a plan spec or another trace) instead"),
    arg("--skipped", type=_ints, default=(), help="with --trace: updates of A that overflowed, e.g. 0,3"),
    arg("--rtol", type=_tolerance, default=None, help=f"with --trace: relative tolerance (default "
        f"{parity.format_number(parity.TRACE_RTOL)}, float32 frameworks; use {parity.format_number(parity.FLOAT64_RTOL)} between "
        "float64 ones)"),
])
def cmd_parity(args: argparse.Namespace) -> int:
    if args.trace:
        return _parity_trace(args)
    loaded = _load(args)
    plan = loaded.plan
    if isinstance(args.group, int):
        plan = Plan((plan.groups[_groups(plan, args.group)[0]],), plan.epoch_length, plan.total_steps, plan.source)
        loaded.plan = plan
    field = _field(plan, args.field)
    N, covered = _horizon(args, plan)
    _in_memory(N, 2 * plan.n_groups)
    wanted = _parity_frameworks(args, loaded)
    ours = plan.values(N, field)
    bases = plan.bases(field)
    print(f"parity of {field} over {N} updates ({plan.source or args.spec})")
    if loaded.note:
        print(loaded.note)
    jobs = _source_targets(args, loaded, wanted, N, field)
    jobs += [(fw, functools.partial(parity.framework_targets, plan, fw, N, field)) for fw in wanted
             if fw != "mmengine" or loaded.config is None]
    rows = []
    for name, job in jobs:
        if N >= _LONG_RUN:
            print(f"parity: stepping {name} for {N} updates, one real scheduler step each ({_LONG_RUN_RATE})...",
                  file=sys.stderr, flush=True)
        try:
            got = job()
        except BridgeError:
            raise
        except Exception as e:  # the framework refused what it was given: a failed row, not a traceback
            rows.append(_error_row(name, e, "source" if "(source)" in name else "lowering"))
            continue
        for t in (got if isinstance(got, list) else [got]):
            rows.append(_target_row(t, ours, bases))
    _print_parity(rows)
    print(covered)
    checked = [r for r in rows if r["status"] != "n/a"]
    if not checked:
        print("nothing was compared: every row is n/a (why: in its row)")
        return EXIT_UNAVAILABLE
    return EXIT_OK if all(r["ok"] for r in checked) else EXIT_MISMATCH


#: from this many updates on, parity says on stderr that it is stepping each framework
_LONG_RUN = 1_000_000
#: measured (docs/cli.md): a 10^6-update torch parity row on a shared 2-core machine
_LONG_RUN_RATE = "torch took 14-27 s per million updates on a 2-core machine"


def _parity_frameworks(args: argparse.Namespace, loaded: Any) -> List[str]:
    from ._frameworks import available

    installed = [f for f in PARITY_FRAMEWORKS if available(f)]
    if loaded.config is not None and available("mmengine") and available("torch"):
        installed.append("mmengine")
    wanted = args.frameworks or installed
    missing = [f for f in wanted if not available(f) or f == "mmengine" and not available("torch")]
    if missing:
        raise FrameworkMissingError(f"--frameworks: {', '.join(missing)} not installed in this environment "
                                    f"(installed: {', '.join(installed) or 'none'})")
    if not wanted:
        raise FrameworkMissingError("parity needs torch, mindspore or oneflow installed; none is")
    return wanted


def _print_parity(rows: List[Dict[str, Any]]) -> None:
    print(f"{'target':<19}{'kind':<10}{'result':<10}{'max abs err':>12}{'max rel err':>12}{'first diff':>11}"
          f"{'seconds':>9}  what; contract")
    for r in rows:
        first = "-" if r["first_divergent"] is None else str(r["first_divergent"])
        num = (lambda x: "-" if x != x else f"{x:.3g}")  # noqa: E731  (NaN: nothing compared)
        print(f"{r['framework']:<19}{r['kind']:<10}{r['status']:<10}{num(r['max_abs']):>12}{num(r['max_rel']):>12}"
              f"{first:>11}{num(r['seconds']):>9}  {r['what'] + '; ' if r['what'] else ''}{r['note']}")


def _parity_trace(args: argparse.Namespace) -> int:
    """``parity SPEC --trace A``: what a run applied (probe trace A) vs a plan or trace B."""
    from .probes import compare as compare_traces
    from .probes import is_trace_file, load_trace

    a = load_trace(args.trace)
    b: Any = load_trace(args.spec) if is_trace_file(args.spec) else load_plan(args)
    rep = compare_traces(a, b, rtol=parity.TRACE_RTOL if args.rtol is None else args.rtol, skipped=args.skipped,
                         fields=None if args.field == "lr" else [args.field])
    print(rep.format())
    return EXIT_OK if rep.ok else EXIT_MISMATCH


# ---------------------------------------------------------------------------
# lint
# ---------------------------------------------------------------------------


def _rule_ids(text: str) -> List[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


@command("lint", "check a schedule or MMEngine config for known traps (docs/lint.md)", spec=True, args=[
    arg("--steps", type=_positive, default=None, help="optimizer updates in the run (the horizon rules need it; "
        "default: the plan's total_steps or the config's train_cfg)"),
    arg("--select", type=_rule_ids, default=None, help="only these rule ids (comma list)"),
    arg("--ignore", type=_rule_ids, default=(), help="skip these rule ids (comma list)"),
    arg("--explain", action="store_true", help="print each rule's explanation too"),
])
def cmd_lint(args: argparse.Namespace) -> int:
    from .linter import exit_code, format_findings, lint, rules

    unknown = [r for r in list(args.select or ()) + list(args.ignore) if r not in rules()]
    if unknown:
        raise SpecError("--select/--ignore", f"unknown rule id; known: {', '.join(sorted(rules()))}", unknown[0])
    obj: Any
    if args.spec.lower().endswith(".py"):
        from .config import load_config

        obj = load_config(args.spec, trust=args.trust)
        note = _paramwise_summary(obj)
        if note:
            print(f"{note}; lint checks the schedule every group shares (the groups scale its bases)",
                  file=sys.stderr)
    else:
        obj = load_plan(args)
    steps = check_steps(args.steps) if args.steps else (obj.total_steps if isinstance(obj, Plan) else None)
    findings = lint(obj, total_steps=steps, epoch_length=args.epoch_length, max_epochs=args.max_epochs,
                    max_iters=args.max_iters, select=args.select, ignore=args.ignore)
    print(format_findings(findings, explain=args.explain))
    return exit_code(findings)


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------


def _size(text: str) -> Tuple[float, float]:
    try:
        w, h = (float(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in inches like 8x4.5, got {text!r}") from None
    if not (math.isfinite(w) and math.isfinite(h) and 0 < w <= MAX_INCHES and 0 < h <= MAX_INCHES):
        raise argparse.ArgumentTypeError(f"width and height must be > 0 and <= {MAX_INCHES} inches, got {text!r}")
    return w, h


@command("plot", "draw the schedule into a .png or .svg", spec=True, args=[
    arg("-o", "--output", required=True, help="FILE.png or FILE.svg"),
    arg("--steps", type=_positive, default=None),
    arg("--field", default="lr"),
    arg("--overlay", type=_names, default=(), help="comma list of frameworks whose real values are drawn too"),
    arg("--log", action="store_true", help="log-scale y axis"),
    arg("--size", type=_size, default=(8.0, 4.5), help="WIDTHxHEIGHT in inches (default 8x4.5)"),
    arg("--dpi", type=_positive, default=100),
])
def cmd_plot(args: argparse.Namespace) -> int:
    from .plot import plot_plan

    plan = load_plan(args)
    field = _field(plan, args.field)
    plot_plan(plan, args.output, steps=_steps(args, plan), field=field, overlay=args.overlay, log=args.log,
              size=args.size, dpi=args.dpi)
    print(f"wrote {args.output}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# convert
# ---------------------------------------------------------------------------


@command("convert", "MMEngine config <-> IR plan file", args=[
    arg("config", metavar="CONFIG", help="an MMEngine config (.py/.json/.yaml) or a plan file"),
    arg("--to", required=True, choices=("spec", "mmengine")),
    arg("-o", "--output", default=None, help="output file (default stdout; a plan: .json/.yaml/.toml)"),
    arg("--trust", action="store_true"), arg("--epoch-length", type=_positive, default=None),
    arg("--max-epochs", type=_positive, default=None), arg("--max-iters", type=_positive, default=None),
    arg("--lr", type=_floats, default=None), arg("--steps", type=_positive, default=None,
                                                 help="steps checked after converting to MMEngine"),
])
def cmd_convert(args: argparse.Namespace) -> int:
    loaded = _load(argparse.Namespace(**dict(vars(args), spec=args.config, dialect=None, group=None)))
    plan = loaded.plan
    if loaded.note:  # the plan holds the optimizer's base values; the groups scale them
        print(f"{loaded.summary}; converted the optimizer's base values (group 'default'); the other groups "
              "scale them (sched-bridge show lists them)", file=sys.stderr)
    if args.to == "spec":
        if args.output in (None, "-"):
            print(plan.to_json())
        else:
            check_destination(args.output)
            plan.dump(args.output)
        return EXIT_OK
    from .frameworks.mmengine import config_text, to_mmengine

    return _write_text(args.output, config_text(plan, to_mmengine(plan, check_steps=args.steps)))


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------


@command("demo", "the built-in warm-up + cosine example: evaluate, lower, parity-check, plot", args=[
    arg("--steps", type=_positive, default=2000, help="steps of the parity check (default 2000)"),
    arg("--plot", default=None, help="also write this .png/.svg (default: none)"),
])
def cmd_demo(args: argparse.Namespace) -> int:
    from ._frameworks import available
    from .demo import demo_plan
    from .plot import plot_plan

    plan = demo_plan()
    total = plan.total_steps or 1
    print("sched-bridge demo:", plan.source)
    print(plan.describe())
    lrs = plan.values(total)
    print(f"\nlr over {total} updates: first {lrs[0].tolist()}, last {lrs[-1].tolist()}, "
          f"max {lrs.max(axis=0).tolist()}")
    print(_table(plan, sorted({0, 1, 250, 499, 500, 501, total // 2, total - 2, total - 1})))
    have = [f for f in PARITY_FRAMEWORKS if available(f)]
    rc = EXIT_OK
    if have:
        steps = min(int(args.steps), total)
        ours, bases = plan.values(steps), plan.bases("lr")
        print(f"\nparity over the first {steps} updates (real frameworks installed here: {', '.join(have)}):")
        for fw in have:
            try:
                got = parity.framework_values(plan, fw, steps)
            except (FrameworkMissingError, UnsupportedError) as e:
                print(f"  {fw:<15} skipped: {e}")
                continue
            for name, theirs in got.items():
                r = _row(name, ours, theirs, bases)
                rc = rc if r["ok"] else EXIT_MISMATCH
                print(f"  {name:<15} max abs err {r['max_abs']:.3g}  {'ok' if r['ok'] else 'MISMATCH'}")
    else:
        print("\n(no framework installed: install torch, mindspore or oneflow to parity-check)")
    if args.plot:
        try:
            plot_plan(plan, args.plot, steps=total)
            print(f"wrote {args.plot}")
        except FrameworkMissingError as e:
            print(f"(plot skipped: {e})")
    return rc


# ---------------------------------------------------------------------------
# capture
# ---------------------------------------------------------------------------


@command("capture", "run a training script unchanged and write the plan of its optimizer's schedules "
         "(docs/capture.md)", args=[
    arg("-o", "--output", required=True, help="plan file to write (.json/.yaml/.toml)"),
    arg("--updates", type=_positive, default=None, help="optimizer updates in the run: the horizon where the "
        "scheduler does not say it; the script is never run past it"),
    arg("--emit", choices=("mindspore", "oneflow"), default=None,
        help="also write the optimizer + schedule code for this framework (-O FILE)"),
    arg("-O", "--emit-output", default=None, metavar="FILE", help="where --emit writes (a .py file)"),
    arg("script", metavar="SCRIPT", help="the training script, after `--`"),
    arg("script_args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's own arguments"),
])
def cmd_capture(args: argparse.Namespace) -> int:
    from .capture import emit_source, run_script
    from .linter import format_findings, lint

    if (args.emit is None) != (args.emit_output is None):
        raise SpecError("--emit" if args.emit is None else "-O", "--emit and -O go together", None,
                        show_value=False)
    check_destination(args.output)
    if args.emit_output:
        check_destination(args.emit_output)
    cap = run_script(args.script, args.script_args, updates=args.updates)
    plans = cap.all_plans
    print(cap.report())
    if any(not p.total_steps for p in plans):
        raise SpecError("--updates", "is required: the scheduler does not say how long the run is and the script "
                        "was stopped before its end; pass the run's optimizer updates", None, show_value=False)
    n = len(plans)  # several optimizers (a GAN): one file each, numbered in update order
    ports = [emit_source(cap, args.emit, os.path.basename(args.script), which=i) for i in range(n)] \
        if args.emit else []  # every port built (and checked) before anything is written
    for i, plan in enumerate(plans):
        print(format_findings(lint(plan, total_steps=plan.total_steps)))
        out = _numbered(args.output, i, n)
        check_destination(out)
        plan.dump(out)
        print(f"wrote {out}")
    for i, src in enumerate(ports):
        port = _numbered(args.emit_output, i, n)
        check_destination(port)
        _write_text(port, src)
        print(f"wrote {port}")
    return EXIT_OK


def _numbered(path: str, i: int, n: int) -> str:
    """``path`` for the i-th of n optimizers: itself when there is one, else ``stem_i.suffix``."""
    if n == 1:
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}_{i}{ext}"


# ---------------------------------------------------------------------------
# options that do not apply are errors, never silently ignored
# ---------------------------------------------------------------------------

# option (argparse dest) -> the SPEC kinds it applies to
_APPLIES = {
    "lr": ("expression", "config"), "dialect": ("expression",), "steps_per_epoch": ("expression",),
    "trust": ("config .py",), "epoch_length": ("config", "mindcv"), "max_epochs": ("config",), "max_iters": ("config",),
}
_KIND_WORDS = {"expression": "an expression", "config": "an MMEngine config", "config .py": "a .py MMEngine config",
               "plan": "a plan file", "mindcv": "a mindcv training config"}
_KINDS_WORDS = {"expression": "expressions", "config": "MMEngine configs", "config .py": ".py MMEngine configs",
                "mindcv": "mindcv training configs (steps per epoch)"}
# (command, option dest) -> (what must hold, in words, the test on args)
_ONLY_WITH: Dict[Tuple[str, str], Tuple[str, Callable[[argparse.Namespace], bool]]] = {
    ("parity", "skipped"): ("with --trace", lambda a: bool(a.trace)),
    ("parity", "rtol"): ("with --trace", lambda a: bool(a.trace)),
    ("parity", "frameworks"): ("without --trace (a trace is compared as it was recorded)", lambda a: not a.trace),
    ("parity", "steps"): ("without --trace (a trace is compared as it was recorded)", lambda a: not a.trace),
    ("lower", "optimizer"): ("with --to torch or oneflow", lambda a: a.to in ("torch", "oneflow") and not a.standalone),
    ("lower", "steps"): ("with --to mindspore-list or --standalone", lambda a: a.to == "mindspore-list" or a.standalone),
    ("convert", "steps"): ("with --to mmengine", lambda a: a.to == "mmengine"),
    ("lint", "lr"): ("with a SPEC that is not a .py config (lint reads a .py config's own lr)",
                     lambda a: not a.spec.lower().endswith(".py")),
}


def _spec_kind(text: str) -> Optional[str]:
    """'expression', 'config .py', 'config' (a data file with param_scheduler), 'mindcv' (a mindcv
    training YAML) or 'plan'; None if unreadable."""
    from .frameworks.mindcv import is_mindcv_config
    from .ir.io import read_file
    from .spec import is_expression

    if is_expression(text):
        return "expression"
    if os.path.splitext(text.strip())[1].lower() == ".py":
        return "config .py"
    try:
        data = read_file(text.strip())
    except (BridgeError, OSError):
        return None  # resolve() reports it
    if isinstance(data, dict) and "param_scheduler" in data:
        return "config"
    return "mindcv" if is_mindcv_config(data) else "plan"


def _given(args: argparse.Namespace, dest: str, parser: argparse.ArgumentParser) -> bool:
    v = getattr(args, dest, None)
    return v is not None and v != parser.get_default(dest) and v not in ((), [], False)


def _check_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """An option given where it does not apply (to this SPEC kind, or without the option it
    needs) is a SpecError naming the option and what it applies to."""
    text = getattr(args, "spec", None) or (getattr(args, "config", None) if args.cmd == "convert" else None)
    if args.cmd == "parity" and getattr(args, "trace", None):
        text = None  # --trace compares traces; SPEC may be a trace file
    kind = _spec_kind(text) if isinstance(text, str) else None
    for dest, kinds in _APPLIES.items():
        if kind is None or not hasattr(args, dest) or not _given(args, dest, parser):
            continue
        ok = kind in kinds or (kind == "config .py" and "config" in kinds)
        if not ok:
            flag = "--" + dest.replace("_", "-")
            hint = "; an epoch-stepped expression takes --steps-per-epoch" if dest == "epoch_length" \
                and kind == "expression" else ""
            raise SpecError(flag, "does not apply to " + _KIND_WORDS[kind] + " (it applies to "
                            + " and ".join(_KINDS_WORDS[k] for k in kinds) + ")" + hint, text)
    for (cmd, dest), (need, holds) in _ONLY_WITH.items():
        if args.cmd == cmd and _given(args, dest, parser) and not holds(args):
            flag = "-" * (1 + (len(dest) > 1)) + dest.replace("_", "-")
            raise SpecError(flag, f"applies only {need}", getattr(args, dest), show_value=False)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line (plus where to get help), exit code 2."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sched-bridge", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    for name, help_, spec, extra, fn in _COMMANDS:
        sp = sub.add_parser(name, help=help_, description=help_)
        for flags, kw in (list(_SPEC_ARGS) if spec else []) + list(extra):
            sp.add_argument(*flags, **kw)
        sp.set_defaults(func=fn, subparser=sp)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(raw)
    except SystemExit as e:  # argparse: 2 on a bad argument, 0 on --help
        return int(e.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        _check_options(args, args.subparser)
        with signals_raise(), trust_flag("--trust"), skipped_statements() as skipped:
            rc = int(args.func(args))  # config messages name the flag to type (trust_flag)
        if skipped:  # the "never executed" promise, visible: what the config reader did not run
            print(f"sched-bridge {args.cmd}: {len(skipped)} config statement{'s' if len(skipped) > 1 else ''} "
                  f"no key sched-bridge reads depends on {'were' if len(skipped) > 1 else 'was'} skipped, not "
                  f"executed (first: {skipped[0]})", file=sys.stderr)
        return rc
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM / SIGHUP (outputs.Interrupted)
        if args.debug:
            raise
        sig = e.signum if isinstance(e, Interrupted) else 2
        print(f"sched-bridge {args.cmd}: interrupted ({'SIGINT' if sig == 2 else str(e)}); "
              "no output file was changed", file=sys.stderr)
        return 128 + sig
    except (FrameworkMissingError, UnsupportedError) as e:
        if args.debug:
            raise
        print(f"sched-bridge {args.cmd}: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except BridgeError as e:
        if args.debug:
            raise
        print(f"sched-bridge {args.cmd}: {e}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:  # `... | head`
        return EXIT_OK


#: names that lived here before the library took them over: old name -> (module, name there, the
#: name to use now). Each still resolves, with a DeprecationWarning, for one release.
_MOVED: Dict[str, Tuple[str, str, str]] = {
    "to_mmengine": ("bridge.frameworks.mmengine", "to_mmengine", "bridge.to_mmengine"),
    "plot_plan": ("bridge.plot", "plot_plan", "bridge.plot_plan"),
    "DEMO_RECIPE": ("bridge.demo", "DEMO_RECIPE", "bridge.demo.DEMO_RECIPE"),
    "demo_plan": ("bridge.demo", "demo_plan", "bridge.demo.demo_plan"),
    "snippet": ("bridge.frameworks._source", "snippet", "bridge.frameworks._source.snippet"),
    "framework_values": ("bridge.parity", "framework_values", "bridge.parity.framework_values"),
    "compare": ("bridge.cli", "_row", "bridge.parity.compare(ours, theirs, bases, contract).row(name)"),
    "FRAMEWORKS": ("bridge._frameworks", "PARITY_FRAMEWORKS", "bridge._frameworks.PARITY_FRAMEWORKS"),
}


def __getattr__(name: str) -> Any:
    moved = _MOVED.get(name)
    if moved is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    module, attr, use = moved
    warnings.warn(f"bridge.cli.{name} is deprecated; use {use}", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(module), attr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
