"""mindcv 0.3.0 learning-rate schedules (``mindcv.scheduler.create_scheduler``) as plans.

mindcv builds a Python list of per-step values (a warm-up list followed by the main list);
a MindSpore optimizer uses element t for its update with ``global_step == t``. The plan is
the same schedule as IR nodes, so it lowers to every framework (``to_torch`` included) and
evaluates at any horizon; ``plan.total_steps`` is the list's length
(``steps_per_epoch * num_epochs``), where MindSpore stops with "Gather index out of range".

- per-epoch variants (``lr_epoch_stair=True``, ``step_decay``, ``multi_step_decay``): the
  epoch schedule held for ``steps_per_epoch`` steps (``Hold``);
- per-step ("refined") variants: the same formula on the step axis, its length in epochs
  times ``steps_per_epoch`` (``i / steps_per_epoch / D`` in mindcv, ``i / (D * steps_per_epoch)``
  here: equal up to float64 rounding);
- warm-up: ``Linear(warmup_factor, 1, ...)`` followed by the main schedule restarted at
  step 0 (``Sequential``), as mindcv concatenates the two lists;
- ``gradient_accumulation_steps: A`` in a config: update t still uses element t (MindSpore
  2.10's ``get_lr()`` does not advance ``global_step``), over ``floor(len / A)`` updates.

No framework is imported (mindcv itself is not needed).
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Mapping, Optional

from ..errors import BridgeWarning, SpecError, UnsupportedError
from ..ir import _check as c
from ..ir import nodes
from ..ir.plan import Plan

__all__ = ["MINDCV_SCHEDULERS", "MINDCV_CONFIG_DEFAULTS", "from_mindcv", "from_mindcv_config", "is_mindcv_config"]

#: The ``scheduler`` names mindcv 0.3.0's ``create_scheduler`` accepts.
MINDCV_SCHEDULERS = ("constant", "cosine_decay", "warmup_cosine_decay", "one_cycle", "cyclic", "exponential_decay",
                     "polynomial_decay", "step_decay", "multi_step_decay")

#: ``create_scheduler``'s own defaults (mindcv 0.3.0, ``mindcv/scheduler/scheduler_factory.py``).
_DEFAULTS: Dict[str, Any] = dict(scheduler="constant", lr=0.01, min_lr=1e-6, warmup_epochs=3, warmup_factor=0.0,
                                 decay_epochs=10, decay_rate=0.9, milestones=None, num_epochs=200, num_cycles=1,
                                 cycle_decay=1.0, lr_epoch_stair=False)

#: The training script's defaults for keys a YAML config leaves out (mindcv 0.3.0 ``config.py``;
#: they differ from ``create_scheduler``'s), by YAML key.
MINDCV_CONFIG_DEFAULTS: Dict[str, Any] = dict(
    scheduler="cosine_decay", lr=0.001, min_lr=1e-6, warmup_epochs=3, warmup_factor=0.0, decay_epochs=100,
    decay_rate=0.9, multi_step_decay_milestones=[30, 60, 90], epoch_size=90, num_cycles=1, cycle_decay=1.0,
    lr_epoch_stair=False)

#: YAML key -> ``create_scheduler`` argument (``train.py`` passes ``args.<key>``).
_YAML_TO_ARG = {"multi_step_decay_milestones": "milestones", "epoch_size": "num_epochs"}


def _args(kw: Mapping[str, Any], where: str) -> Dict[str, Any]:
    unknown = sorted(set(kw) - set(_DEFAULTS))
    if unknown:
        raise SpecError(f"{where}{unknown[0]}", "is not an argument of mindcv's create_scheduler (one of: "
                        + ", ".join(["steps_per_epoch", *_DEFAULTS]) + ")", kw[unknown[0]])
    a = dict(_DEFAULTS)
    a.update(kw)
    p = where
    sched = c.choice(f"{p}scheduler", a["scheduler"], MINDCV_SCHEDULERS)
    ms = a["milestones"]
    out: Dict[str, Any] = dict(
        scheduler=sched, lr=c.real(f"{p}lr", a["lr"], nonneg=True), min_lr=c.real(f"{p}min_lr", a["min_lr"]),
        warmup_epochs=c.integer(f"{p}warmup_epochs", a["warmup_epochs"], lo=0),
        warmup_factor=c.real(f"{p}warmup_factor", a["warmup_factor"], nonneg=True),
        decay_epochs=c.integer(f"{p}decay_epochs", a["decay_epochs"], lo=0),
        decay_rate=c.real(f"{p}decay_rate", a["decay_rate"], nonneg=True),
        milestones=tuple(sorted(c.int_list(f"{p}milestones", [] if ms is None else ms, lo=0))),
        num_epochs=c.integer(f"{p}num_epochs", a["num_epochs"], lo=1),
        num_cycles=c.integer(f"{p}num_cycles", a["num_cycles"], lo=1),
        cycle_decay=c.real(f"{p}cycle_decay", a["cycle_decay"], positive=True),
        lr_epoch_stair=c.boolean(f"{p}lr_epoch_stair", a["lr_epoch_stair"]))
    if out["num_epochs"] <= out["warmup_epochs"]:
        raise SpecError(f"{p}num_epochs", f"must be greater than warmup_epochs ({out['warmup_epochs']}); mindcv "
                        "builds no main schedule then", out["num_epochs"])
    return out


def _cosine(a: Dict[str, Any], spe: int, stair: bool, p: str) -> nodes.Node:
    if a["decay_epochs"] < 1:
        raise SpecError(f"{p}decay_epochs", f"must be >= 1 for {a['scheduler']!r} (the cosine's length)",
                        a["decay_epochs"])
    D = a["decay_epochs"] * (1 if stair else spe)
    if a["num_cycles"] == 1:
        return nodes.CosineDecay(D, eta_min=a["min_lr"])
    # cycle k: cosine from lr*cycle_decay**k down to min_lr over D steps; min_lr after the last cycle
    return nodes.WarmRestarts(T_0=D, T_mult=1, eta_min=a["min_lr"], decay_rate=a["cycle_decay"],
                              restart_limit=a["num_cycles"])


def _one_cycle(a: Dict[str, Any], spe: int, main: int, p: str) -> nodes.Node:
    if a["min_lr"] <= 0:
        raise SpecError(f"{p}min_lr", "must be > 0 for 'one_cycle' (mindcv divides by it)", a["min_lr"])
    initial = a["lr"] / 25.0
    return nodes.OneCycle(total_steps=main * spe, max_lr=None, pct_start=0.3, anneal="cos", div_factor=25.0,
                          final_div_factor=initial / a["min_lr"])


def _cyclic(a: Dict[str, Any], spe: int, main: int, p: str) -> nodes.Node:
    up = int(spe * main / a["num_cycles"] / 2)
    if up < 1:
        raise SpecError(f"{p}num_cycles", f"leaves cycles shorter than 2 steps ({spe * main} steps); mindcv "
                        "divides by zero", a["num_cycles"])
    return nodes.Cyclic(high=a["lr"], low=a["min_lr"], step_size_up=up)


def _main(a: Dict[str, Any], spe: int, p: str) -> nodes.Node:
    """The main (post-warm-up) schedule, restarting at its own step 0."""
    s, stair = a["scheduler"], a["lr_epoch_stair"]
    main = a["num_epochs"] - a["warmup_epochs"]
    if s in ("one_cycle", "cyclic"):
        if stair or a["warmup_epochs"] > 0:
            raise SpecError(f"{p}warmup_epochs" if a["warmup_epochs"] else f"{p}lr_epoch_stair",
                            f"must be 0 / false for {s!r} (mindcv raises ValueError: it supports neither warm-up "
                            "nor per-epoch values)", a["warmup_epochs"] if a["warmup_epochs"] else stair)
        return _one_cycle(a, spe, main, p) if s == "one_cycle" else _cyclic(a, spe, main, p)
    if s in ("cosine_decay", "warmup_cosine_decay"):
        node = _cosine(a, spe, stair, p)
    elif s == "exponential_decay":
        if a["decay_rate"] <= 0:
            raise SpecError(f"{p}decay_rate", "must be > 0 for 'exponential_decay'", a["decay_rate"])
        node = nodes.Exponential(a["decay_rate"]) if stair else \
            nodes.ExponentialDecay(decay_rate=a["decay_rate"], decay_steps=spe)
    elif s == "polynomial_decay":  # decay_rate is the power, the length is the main phase
        node = nodes.Polynomial(total_iters=main * (1 if stair else spe), power=a["decay_rate"])
    elif s == "step_decay":
        if a["decay_epochs"] < 1:
            raise SpecError(f"{p}decay_epochs", "must be >= 1 for 'step_decay' (mindcv divides by it)",
                            a["decay_epochs"])
        node, stair = nodes.Step(a["decay_epochs"], a["decay_rate"]), True
    elif s == "multi_step_decay":
        node, stair = nodes.MultiStep(a["milestones"], a["decay_rate"]), True
    else:  # constant
        return nodes.Constant()
    return nodes.Hold(node, spe) if stair and spe > 1 else node


def from_mindcv(steps_per_epoch: Any = None, **kwargs: Any) -> Plan:
    """Plan of mindcv 0.3.0's ``create_scheduler(steps_per_epoch, scheduler=..., lr=..., ...)``.

    Takes ``create_scheduler``'s arguments with its defaults (``scheduler='constant'``,
    ``lr=0.01``, ``warmup_epochs=3``, ``num_epochs=200``, ...). Value t of the plan is element
    t of mindcv's list; ``plan.total_steps`` is its length, ``plan.epoch_length`` is
    ``steps_per_epoch``. Arguments mindcv refuses (``ValueError``, a division by zero) are a
    :class:`~bridge.SpecError` naming the argument.
    """
    where = kwargs.pop("_where", "")
    if steps_per_epoch is None:
        raise SpecError(f"{where}steps_per_epoch", "is required: the optimizer updates per epoch (mindcv's "
                        "train.py passes the train loader's get_dataset_size())", None, show_value=False)
    spe = c.integer(f"{where}steps_per_epoch", steps_per_epoch, lo=1)
    a = _args(kwargs, where)
    node = _main(a, spe, where)
    W = a["warmup_epochs"]
    if W > 0:
        warm: nodes.Node = nodes.Linear(a["warmup_factor"], 1.0, W * (1 if a["lr_epoch_stair"] else spe))
        if a["lr_epoch_stair"] and spe > 1:
            warm = nodes.Hold(warm, spe)
        node = nodes.Sequential((warm, node), (W * spe,))
    shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return Plan.single(node, base=a["lr"], total_steps=spe * a["num_epochs"], epoch_length=spe,
                       source=f"mindcv create_scheduler({spe}{', ' + shown if shown else ''})")


def is_mindcv_config(data: Any) -> bool:
    """Whether parsed YAML/JSON data looks like a mindcv training config: a string ``scheduler``
    (checked later, so a misspelt one is reported by name) and its ``epoch_size`` or ``model`` key;
    not a plan file (``groups``) nor an MMEngine config (``param_scheduler``)."""
    return isinstance(data, Mapping) and "param_scheduler" not in data and "groups" not in data \
        and isinstance(data.get("scheduler"), str) and ("epoch_size" in data or "model" in data)


def _yaml_value(key: str, v: Any) -> Any:
    # mindcv's config.py hands YAML values to argparse as defaults, and argparse converts string
    # defaults with the option's type (so 'lr: 5e-4', a string in YAML 1.1, is a float there)
    if not isinstance(v, str) or key in ("scheduler", "multi_step_decay_milestones"):
        return v
    try:
        if key == "lr_epoch_stair":
            low = v.lower()
            if low in ("yes", "true", "t", "y", "1"):
                return True
            if low in ("no", "false", "f", "n", "0"):
                return False
            return v
        return int(v) if key in ("warmup_epochs", "decay_epochs", "epoch_size", "num_cycles",
                                          "gradient_accumulation_steps", "mode") else float(v)
    except ValueError:
        return v  # the checks name it


def from_mindcv_config(config: Any, steps_per_epoch: Optional[int] = None) -> Plan:
    """Plan of a mindcv training config (a YAML path or its parsed mapping), as ``train.py`` runs it.

    Keys the config leaves out take ``config.py``'s defaults (:data:`MINDCV_CONFIG_DEFAULTS`:
    ``scheduler='cosine_decay'``, ``lr=0.001``, ``epoch_size=90``, ``decay_epochs=100``, ...).
    ``steps_per_epoch`` is the train loader's ``get_dataset_size()`` (dataset size //
    ``batch_size`` with ``drop_remainder``): the config does not hold it, so pass it
    (``--epoch-length`` on the command line).
    """
    path = ""
    if isinstance(config, (str, os.PathLike)):
        from ..ir.io import read_file

        path = os.fspath(config)
        config = read_file(path)
        if not is_mindcv_config(config):
            raise SpecError(path, "is not a mindcv training config (needs a 'scheduler', one of "
                            + ", ".join(MINDCV_SCHEDULERS) + ", and 'epoch_size')", None, show_value=False)
    if not isinstance(config, Mapping):
        raise SpecError("config", "must be a mindcv YAML path or its parsed mapping", type(config).__name__)
    where = f"{os.path.basename(path)}: " if path else ""
    acc = _accumulation(config, where)
    if steps_per_epoch is None:
        raise SpecError(f"{where}steps_per_epoch", "is required: the batches per epoch (the train loader's "
                        "get_dataset_size(), dataset size // batch_size); pass steps_per_epoch=N "
                        "(--epoch-length N on the command line)", None, show_value=False)
    kw: Dict[str, Any] = {}
    for key, dflt in MINDCV_CONFIG_DEFAULTS.items():
        kw[_YAML_TO_ARG.get(key, key)] = _yaml_value(key, config.get(key, dflt))
    plan = from_mindcv(steps_per_epoch, _where=where, **kw)
    name = os.path.basename(path) if path else "mapping"
    if acc == 1:
        return Plan(plan.groups, plan.epoch_length, plan.total_steps, f"mindcv config {name}")
    return _accumulated(plan, acc, where, f"mindcv config {name}, gradient_accumulation_steps={acc}")


def _accumulated(plan: Plan, acc: int, where: str, source: str) -> Plan:
    """The run with ``acc`` batches per update, as mindcv 0.3.0's GradientAccumulation runs on MindSpore
    2.10 (measured in GRAPH_MODE): update t uses element t of the list, since ``Optimizer.get_lr()``
    (called on the batches that only accumulate) reads ``global_step`` without advancing it; the
    accumulation counter is a Parameter never reset per epoch, so the run makes floor(batches / acc)
    updates in all."""
    spe = plan.epoch_length or 1
    total = plan.total_steps or 0
    updates = total // acc
    if updates < 1:
        raise SpecError(f"{where}gradient_accumulation_steps", f"must not exceed the run's {total} batches: the "
                        "optimizer never updates", acc)
    warnings.warn(f"{where}gradient_accumulation_steps={acc}: MindSpore's optimizer reads element t of mindcv's "
                  f"lr list at its t-th update (global_step counts updates, not batches), so the run's {updates} "
                  f"updates use elements 0..{updates - 1} of {total}: the schedule runs {acc}x slower than its "
                  "epochs say and stops short of its end", BridgeWarning, stacklevel=3)
    return Plan(plan.groups, spe // acc if spe % acc == 0 else None, updates, source)


def _accumulation(config: Mapping[str, Any], where: str) -> int:
    """``gradient_accumulation_steps`` of a config (1 when absent), checked as mindcv 0.3.0 runs it on
    MindSpore 2.10: GRAPH_MODE only (``mode: 1``, PyNative, raises TypeError at the first update)."""
    acc = config.get("gradient_accumulation_steps", 1)
    if acc is None:
        return 1
    acc = c.integer(f"{where}gradient_accumulation_steps", _yaml_value("gradient_accumulation_steps", acc), lo=1)
    mode = _yaml_value("mode", config.get("mode", 0))
    if acc > 1 and mode == 1:
        raise UnsupportedError(f"{where}gradient_accumulation_steps={acc} with mode: 1 (PYNATIVE_MODE): mindcv "
                               "0.3.0's GradientAccumulation raises TypeError at its first update on MindSpore "
                               "2.10 (it assigns 0 to its accumulation_step Parameter); the run never schedules. "
                               "Train in GRAPH_MODE (mode: 0)")
    return acc

