"""Step accounting: how many optimizer updates a training run really makes.

:func:`count_updates` models, exactly, the arithmetic each framework does
between "N samples, batch B" and "optimizer.step() called K times":

- data-parallel sharding (torch ``DistributedSampler``: ``ceil(N/W)`` samples per
  rank, padded by wrapping; ``floor(N/W)`` with the sampler's ``drop_last``;
  MindSpore ``num_shards``: ``ceil(N/W)``, padded by wrapping);
- batching (torch ``DataLoader`` / MindSpore ``dataset.batch``: ``ceil`` or,
  with ``drop_last`` / ``drop_remainder``, ``floor`` of samples / batch);
- gradient accumulation, in one of three conventions (``accum=``):

  ``"floor"`` (default)
      the plain loop ``for i, b in enumerate(loader): ...; if (i+1) % A == 0:
      optimizer.step()`` -- ``floor(L/A)`` updates per epoch; the last ``L % A``
      micro-batches of each epoch leave gradients behind (they join the next
      epoch's first update unless ``zero_grad`` runs at epoch start).
  ``"ceil"``
      also step on the last batch of the epoch (HF ``Trainer``, accelerate's
      ``accumulate()`` which syncs at the end of the dataloader):
      ``ceil(L/A)`` updates per epoch.
  ``"continuous"``
      the counter runs over the whole run, never reset per epoch (a global
      ``step`` variable, or a MindSpore accumulation cell whose counter is a
      ``Parameter``): ``floor(E*L/A)`` in total.

- MindSpore sink mode: ``Model.train(E, ds, dataset_sink_mode=True,
  sink_size=S)`` on Ascend/GPU runs ``S`` steps per "epoch" (``E*S`` in total,
  the dataset repeats across "epochs"), and graph-mode callbacks fire once per
  sink (``cur_step_num`` advances by ``S``). ``sink_size=-1`` means ``S = L``.
  On CPU, MindSpore 2.10 silently falls back to non-sink training over the full
  dataset each epoch (``sink_size`` only changes ``cb_params.batch_num``); pass
  ``device_target="CPU"`` to model that.

Everything is integer arithmetic; ``explain=True`` keeps each line of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from bridge._frameworks import FRAMEWORKS
from bridge.errors import SpecError

__all__ = ["ACCUM_CONVENTIONS", "UpdateCount", "apply_skips", "count_updates"]

#: Accepted ``accum`` names -> canonical convention.
ACCUM_CONVENTIONS = {
    "floor": "floor", "plain": "floor",
    "ceil": "ceil", "flush": "ceil", "hf": "ceil", "accelerate": "ceil",
    "continuous": "continuous", "global": "continuous",
}

@dataclass(frozen=True)
class UpdateCount:
    """Result of :func:`count_updates`.

    ``batches_per_epoch``: micro-batches (forward/backward calls) per epoch and rank;
    ``updates_per_epoch``: optimizer updates per epoch (for ``accum="continuous"``
    the largest; see ``per_epoch``); ``per_epoch``: updates in each epoch (when
    ``epochs`` is given); ``total``: updates in the run (``None`` without
    ``epochs``); ``lines``: the arithmetic (when ``explain=True``); ``notes``:
    framework behaviour worth knowing (sink callbacks, leftovers).
    """

    samples_per_rank: int
    batches_per_epoch: int
    updates_per_epoch: int
    total: Optional[int]
    per_epoch: Tuple[int, ...] = ()
    callbacks_per_epoch: Optional[int] = None
    lines: Tuple[str, ...] = ()
    notes: Tuple[str, ...] = field(default=())

    def explain(self) -> str:
        """The arithmetic and notes as text."""
        return "\n".join(self.lines + tuple(f"note: {n}" for n in self.notes))

    def __int__(self) -> int:
        if self.total is None:
            return self.updates_per_epoch
        return self.total


def _pos_int(name: str, value: object, *, allow_none: bool = False, minimum: int = 1) -> Optional[int]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(name, f"must be an integer >= {minimum}", value)
    return value


def count_updates(
    dataset_size: int,
    batch_size: int,
    *,
    drop_last: bool = False,
    grad_accum: int = 1,
    world_size: int = 1,
    epochs: Optional[int] = None,
    sink_size: Optional[int] = None,
    dataset_sink: bool = False,
    framework: str = "torch",
    accum: str = "floor",
    sampler_drop_last: Optional[bool] = None,
    device_target: str = "Ascend",
    explain: bool = False,
) -> UpdateCount:
    """Count optimizer updates per epoch and in total.

    ``dataset_size``: samples (N); ``batch_size``: per-rank batch (B);
    ``drop_last``: DataLoader ``drop_last`` / MindSpore ``drop_remainder``;
    ``sampler_drop_last``: torch ``DistributedSampler(drop_last=)`` (defaults to
    ``drop_last``; MindSpore shards always pad); ``grad_accum``: micro-batches
    per update (A); ``world_size``: data-parallel ranks (W);
    ``accum``: ``"floor"`` (plain ``(i+1) % A == 0`` loop, default), ``"ceil"``
    (HF/accelerate, flush at epoch end) or ``"continuous"`` (counter never reset);
    MindSpore: ``dataset_sink`` + ``sink_size`` (``-1`` = whole dataset) and
    ``device_target`` (``"CPU"`` ignores sink mode, as MindSpore 2.10 does).
    """
    n = _pos_int("dataset_size", dataset_size)
    b = _pos_int("batch_size", batch_size)
    a = _pos_int("grad_accum", grad_accum)
    w = _pos_int("world_size", world_size)
    e = _pos_int("epochs", epochs, allow_none=True)
    assert n is not None and b is not None and a is not None and w is not None
    if framework not in FRAMEWORKS:
        raise SpecError("framework", f"must be one of {', '.join(map(repr, FRAMEWORKS))}", framework)
    conv = ACCUM_CONVENTIONS.get(accum) if isinstance(accum, str) else None
    if conv is None:
        raise SpecError("accum", f"must be one of {', '.join(map(repr, ACCUM_CONVENTIONS))}", accum)
    if sink_size is not None and sink_size != -1:
        _pos_int("sink_size", sink_size)
    if (dataset_sink or sink_size is not None) and framework != "mindspore":
        raise SpecError("sink_size", "dataset sink mode exists only with framework='mindspore'",
                        sink_size if sink_size is not None else dataset_sink)

    lines: List[str] = []
    notes: List[str] = []
    is_mindspore = framework == "mindspore"
    # 1. sharding
    if w == 1:
        per_rank = n
        lines.append(f"samples per rank = N = {n}")
    else:
        sdl = bool(drop_last if sampler_drop_last is None else sampler_drop_last) and not is_mindspore
        if sdl:
            per_rank = n // w
            lines.append(f"samples per rank = floor(N/W) = floor({n}/{w}) = {per_rank}"
                         " (DistributedSampler drop_last=True drops the tail)")
        else:
            per_rank = -(-n // w)
            pad = per_rank * w - n
            who = "MindSpore num_shards" if is_mindspore else "DistributedSampler"
            lines.append(f"samples per rank = ceil(N/W) = ceil({n}/{w}) = {per_rank}"
                         + (f" ({who} pads {pad} sample(s) by wrapping around)" if pad else ""))
    if per_rank == 0:
        raise SpecError("world_size", f"leaves no sample per rank for dataset_size={n}", w)
    # 2. batching
    if drop_last:
        batches = per_rank // b
        kw = "drop_remainder" if is_mindspore else "drop_last"
        lines.append(f"batches per epoch L = floor({per_rank}/B) = floor({per_rank}/{b}) = {batches}"
                     f" ({kw}=True)")
    else:
        batches = -(-per_rank // b)
        lines.append(f"batches per epoch L = ceil({per_rank}/B) = ceil({per_rank}/{b}) = {batches}")
    if batches == 0:
        raise SpecError("batch_size", f"with drop_last=True leaves no batch from {per_rank} samples per rank", b)

    # 3. MindSpore sink mode: what one "epoch" of Model.train is
    steps = batches
    callbacks: Optional[int] = None
    if is_mindspore and dataset_sink:
        s = batches if sink_size in (None, -1) else int(sink_size)
        if device_target.upper() == "CPU":
            lines.append(f"sink mode on CPU: MindSpore falls back to non-sink, steps per epoch = L = {batches}"
                         f" (sink_size={sink_size} ignored)")
            notes.append("MindSpore 2.10 Model.train on CPU ignores dataset_sink_mode (logs 'The CPU cannot "
                         "support dataset sink mode currently') and trains the full dataset each epoch")
            callbacks = batches
        else:
            steps = s
            lines.append(f"sink mode: steps per Model.train epoch = sink_size = {s}"
                         + ("" if s == batches else f" (not the dataset's {batches} batches)"))
            callbacks = 1
            notes.append(f"graph-mode callbacks fire once per sink: on_train_step_* once per epoch, "
                         f"cb_params.cur_step_num advances by {s}; epoch counters count sinks, not data epochs")
            if e is not None and s != batches:
                notes.append(f"{e} sink epochs consume {e * s} batches = {e * s / batches:g} data epochs")
    # 4. accumulation
    per_epoch: Tuple[int, ...] = ()
    total: Optional[int] = None
    if a == 1:
        upe = steps
        lines.append(f"updates per epoch = {steps} (no accumulation)")
        if e is not None:
            per_epoch = (upe,) * e
            total = upe * e
    elif conv == "floor":
        upe = steps // a
        lines.append(f"updates per epoch = floor({steps}/A) = floor({steps}/{a}) = {upe}"
                     " (plain loop: step when (i+1) % A == 0, i reset each epoch)")
        if steps % a:
            notes.append(f"{steps % a} micro-batch(es) per epoch reach no optimizer.step() in their epoch; their "
                         "gradients join the next epoch's first update unless zero_grad() runs at epoch start")
        if e is not None:
            per_epoch = (upe,) * e
            total = upe * e
    elif conv == "ceil":
        upe = -(-steps // a)
        lines.append(f"updates per epoch = ceil({steps}/A) = ceil({steps}/{a}) = {upe}"
                     " (also step on the epoch's last batch)")
        if e is not None:
            per_epoch = (upe,) * e
            total = upe * e
    else:  # continuous
        if e is None:
            upe = steps // a
            lines.append(f"updates per epoch ~ {steps}/{a} (continuous counter; give epochs for exact totals)")
        else:
            per_epoch = tuple(((k + 1) * steps) // a - (k * steps) // a for k in range(e))
            total = (e * steps) // a
            upe = max(per_epoch)
            lines.append(f"total updates = floor(E*{steps}/A) = floor({e}*{steps}/{a}) = {total}"
                         " (counter never reset)")
            if len(set(per_epoch)) > 1:
                lines.append(f"updates in each epoch vary: {list(per_epoch)}")
    if total is not None and (a == 1 or conv != "continuous"):
        lines.append(f"total updates = {upe} * E = {upe} * {e} = {total}")
    if total is not None and total == 0:
        notes.append("the run makes no optimizer update at all")
    return UpdateCount(
        samples_per_rank=per_rank,
        batches_per_epoch=batches,
        updates_per_epoch=upe,
        total=total,
        per_epoch=per_epoch,
        callbacks_per_epoch=callbacks,
        lines=tuple(lines) if explain else (),
        notes=tuple(notes),
    )


def apply_skips(values: Any, skipped: Sequence[int], framework: str) -> np.ndarray:
    """Values each framework really applies when the updates ``skipped`` overflow.

    ``values[t]`` is the schedule's value for attempt ``t`` (the plan). torch,
    OneFlow, MMEngine: GradScaler skips ``optimizer.step()`` but
    ``scheduler.step()`` still advances, so the applied sequence is ``values``
    with the skipped rows removed. MindSpore: the optimizer is not called and
    ``global_step`` does not advance, so the applied sequence is
    ``values[:n - len(skipped)]`` (the schedule is delayed, not cut).
    """
    arr = np.asarray(values, dtype=np.float64)
    sk = sorted({int(s) for s in skipped})
    if sk and (sk[0] < 0 or sk[-1] >= arr.shape[0]):
        raise SpecError("skipped", f"indices must lie in [0, {arr.shape[0]})", sk)
    if framework == "mindspore":
        return arr[: arr.shape[0] - len(sk)]
    if framework in ("torch", "oneflow", "mmengine"):
        return np.delete(arr, sk, axis=0)
    raise SpecError("framework", "must be 'torch', 'oneflow', 'mmengine' or 'mindspore'", framework)
