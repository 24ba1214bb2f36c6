"""Probes: record what each param group really used at each optimizer update.

Attach a probe to a real training loop, get a :class:`Trace`, and compare it
with another framework's trace or with a plan (:func:`compare`).

- :func:`torch_probe` -- ``optimizer.register_step_pre_hook``: one record per
  ``optimizer.step()`` call actually made (a GradScaler-skipped step makes none).
- :func:`oneflow_probe` -- OneFlow 0.9 optimizers have no step hooks: the
  probe wraps the instance's ``step`` method (same contract).
- :func:`mindspore_probe` -- a ``mindspore.train.Callback``. The MindSpore
  optimizer reads its lr (and a dynamic weight decay) at index ``global_step``
  and then increments it, so the probe records, at each ``on_train_step_end``,
  every global_step value passed since the last record ``k0 .. k1-1``,
  evaluating the optimizer's own lr / weight-decay cell (or list) at each of them.
  This is exact in PyNative, GRAPH_MODE and dataset sink mode (where the callback
  fires once per sink of ``sink_size`` updates), and with overflow-skipped
  updates (global_step does not advance). Outside ``Model.train`` call
  ``probe.sync()`` after each train step.

Trace schema (CSV columns, JSON ``rows``): ``framework, field, group, update,
value`` -- ``update`` counts optimizer updates from 0; ``field`` is ``lr``,
``weight_decay``, ``momentum`` or ``betas[0]``. See docs/probes.md.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from bridge.accounting import apply_skips
from bridge.errors import SpecError
from bridge.parity import TRACE_RTOL, agree

__all__ = [
    "TRACE_COLUMNS", "CompareReport", "FieldReport", "Trace", "adam_fold", "apply_skips", "compare", "is_trace_file",
    "load_trace", "mindspore_probe", "oneflow_probe", "probe", "torch_probe",
]

TRACE_COLUMNS = ("framework", "field", "group", "update", "value")
TRACE_FORMAT = "sched-bridge-trace"
DEFAULT_FIELDS = ("lr", "weight_decay", "momentum", "betas[0]")
UNFOLD_NOTE = ("nn.AdamWeightDecay has no bias correction: lr and weight_decay are unfolded to torch AdamW's "
               "meaning (lr = learning_rate / f, weight_decay = wd * f, f = sqrt(1-b2^t)/(1-b1^t), t = update+1); "
               "MindSpore's own values are native_lr / native_weight_decay")
PathLike = Union[str, "os.PathLike[str]"]


# --------------------------------------------------------------------------- traces
class Trace:
    """Values applied at each optimizer update: ``(field, group, update) -> value``."""

    def __init__(self, framework: str = "", meta: Optional[Dict[str, Any]] = None):
        self.framework = framework
        self.meta: Dict[str, Any] = dict(meta or {})
        self._data: Dict[str, Dict[int, Dict[int, float]]] = {}

    def record(self, field: str, group: int, update: int, value: float) -> None:
        """Store one value (a later record for the same key replaces it)."""
        self._data.setdefault(field, {}).setdefault(int(group), {})[int(update)] = float(value)

    @property
    def fields(self) -> List[str]:
        return list(self._data)

    def n_groups(self, field: str = "lr") -> int:
        return 1 + max(self._data[field]) if field in self._data else 0

    def n_updates(self, field: str = "lr") -> int:
        g = self._data.get(field, {})
        return max((1 + max(v) for v in g.values() if v), default=0)

    def array(self, field: str = "lr") -> np.ndarray:
        """``(n_updates, n_groups)`` float64; NaN where nothing was recorded."""
        if field not in self._data:
            raise SpecError("field", f"not in this trace (fields: {', '.join(self.fields) or 'none'})", field)
        out = np.full((self.n_updates(field), self.n_groups(field)), np.nan)
        for g, series in self._data[field].items():
            if series:
                idx = np.fromiter(series.keys(), dtype=np.int64, count=len(series))
                out[idx, g] = np.fromiter(series.values(), dtype=np.float64, count=len(series))
        return out

    def rows(self) -> Iterable[Tuple[str, str, int, int, float]]:
        for f, groups in self._data.items():
            for g in sorted(groups):
                for u in sorted(groups[g]):
                    yield self.framework, f, g, u, groups[g][u]

    def __len__(self) -> int:
        return self.n_updates(self.fields[0]) if self.fields else 0

    def __repr__(self) -> str:
        return f"Trace({self.framework!r}, fields={self.fields}, updates={len(self)})"

    # ---- IO
    def to_csv(self, path: PathLike) -> None:
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(TRACE_COLUMNS)
            for fw, f, g, u, v in self.rows():
                w.writerow([fw, f, g, u, repr(v)])

    def to_json(self, path: Optional[PathLike] = None) -> str:
        doc = {"format": TRACE_FORMAT, "version": 1, "framework": self.framework, "meta": self.meta,
               "columns": list(TRACE_COLUMNS[1:]), "rows": [[f, g, u, v] for _, f, g, u, v in self.rows()]}
        text = json.dumps(doc)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def save(self, path: PathLike) -> None:
        """Write ``.csv`` or ``.json`` by extension."""
        (self.to_csv if str(path).lower().endswith(".csv") else self.to_json)(path)

    @classmethod
    def load(cls, path: PathLike) -> Trace:
        return load_trace(path)

    @classmethod
    def from_arrays(cls, framework: str, arrays: Dict[str, Any]) -> Trace:
        """Build from ``{field: (n_updates, n_groups) array}``."""
        t = cls(framework)
        for f, arr in arrays.items():
            a = np.asarray(arr, dtype=np.float64)
            a = a[:, None] if a.ndim == 1 else a
            for u in range(a.shape[0]):
                for g in range(a.shape[1]):
                    if not np.isnan(a[u, g]):
                        t.record(f, g, u, a[u, g])
        return t


def load_trace(path: PathLike) -> Trace:
    """Read a trace written by :meth:`Trace.save` (CSV or JSON)."""
    p = str(path)
    try:
        with open(p, newline="") as fh:
            text = fh.read()
    except OSError as e:
        raise SpecError("trace", f"cannot read ({e.strerror})", p) from None
    if p.lower().endswith(".json") or text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise SpecError(p, f"not valid JSON ({e})", None, show_value=False) from None
        if not isinstance(doc, dict) or doc.get("format") != TRACE_FORMAT or "rows" not in doc:
            raise SpecError(p, f"not a trace: expected a JSON object with format={TRACE_FORMAT!r} and rows",
                            None, show_value=False)
        t = Trace(str(doc.get("framework", "")), doc.get("meta") or {})
        for i, row in enumerate(doc["rows"]):
            try:
                f, g, u, v = row
                t.record(str(f), int(g), int(u), float(v))
            except (TypeError, ValueError):
                raise SpecError(f"{p}: rows[{i}]", "must be [field, group, update, value]", row) from None
        return t
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != TRACE_COLUMNS:
        raise SpecError(p, f"CSV header must be {','.join(TRACE_COLUMNS)}", header)
    t = Trace()
    for i, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            fw, f, g, u, v = row
            t.framework = t.framework or fw
            t.record(f, int(g), int(u), float(v))
        except ValueError:
            raise SpecError(f"{p}: line {i}", "must be framework,field,group,update,value", row) from None
    return t


def is_trace_file(path: PathLike) -> bool:
    """Whether ``path`` names a trace file: any ``.csv``, or a ``.json`` file holding a JSON object
    with ``format`` :data:`TRACE_FORMAT` (a plan file is ``.json`` too). Never raises."""
    p = str(path)
    low = p.lower()
    if low.endswith(".csv"):
        return True
    if not low.endswith(".json") or not os.path.isfile(p):
        return False
    try:
        with open(p) as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == TRACE_FORMAT


# --------------------------------------------------------------------------- torch / OneFlow
def _group_value(group: Any, name: str) -> Optional[float]:
    from bridge.frameworks._fields import has_field, read_field

    if not has_field(group, name):
        return None
    v = read_field(group, name)
    try:
        if hasattr(v, "asnumpy"):  # a MindSpore Parameter (torch-style MindSpore optimizers)
            return _ms_num(v)
        return float(v.item() if hasattr(v, "item") else v)
    except (TypeError, ValueError):
        return None


class _StepProbe:
    """Shared part of the torch hook and the OneFlow wrapper."""

    framework = ""

    def __init__(self, optimizer: Any, fields: Sequence[str] = DEFAULT_FIELDS):
        self.optimizer = optimizer
        self.fields = tuple(fields)
        self.trace = Trace(self.framework)
        self.updates = 0

    def _record(self) -> None:
        for g, group in enumerate(self.optimizer.param_groups):
            for f in self.fields:
                v = _group_value(group, f)
                if v is not None:
                    self.trace.record(f, g, self.updates, v)
        self.updates += 1

    def __enter__(self) -> _StepProbe:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def remove(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class _TorchProbe(_StepProbe):
    framework = "torch"

    def __init__(self, optimizer: Any, fields: Sequence[str] = DEFAULT_FIELDS):
        super().__init__(optimizer, fields)
        self._handle = optimizer.register_step_pre_hook(lambda opt, args, kwargs: self._record())

    def remove(self) -> None:
        self._handle.remove()


class _WrapProbe(_StepProbe):
    framework = "oneflow"

    def __init__(self, optimizer: Any, fields: Sequence[str] = DEFAULT_FIELDS):
        super().__init__(optimizer, fields)
        inner = optimizer.step

        def step(*args: Any, **kwargs: Any) -> Any:
            self._record()
            return inner(*args, **kwargs)

        self._inner = inner
        optimizer.step = step

    def remove(self) -> None:
        if self.optimizer.__dict__.get("step") is not None:
            del self.optimizer.step


_PROBES = {"torch": "torch_probe", "oneflow": "oneflow_probe", "mindspore": "mindspore_probe"}


def _check_framework(optimizer: Any, want: str) -> None:
    """Refuse an optimizer of another framework (found by :func:`bridge.detect`), naming its probe."""
    from bridge._frameworks import detect

    fw = detect(optimizer)
    if fw is not None and fw != want and fw in _PROBES:
        raise SpecError("optimizer", f"is a {fw} optimizer, not a {want} one: use bridge.probes.{_PROBES[fw]} "
                        "(or bridge.probes.probe, which picks it)", type(optimizer).__name__)


def probe(optimizer: Any, fields: Sequence[str] = DEFAULT_FIELDS, **kwargs: Any) -> Any:
    """The probe for ``optimizer``'s framework (:func:`bridge.detect`): :func:`torch_probe`,
    :func:`oneflow_probe` or :func:`mindspore_probe` (``kwargs``: its ``group_sizes``)."""
    from bridge._frameworks import detect

    fw = detect(optimizer)
    if fw not in _PROBES:
        raise SpecError("optimizer", "must be a torch, OneFlow or MindSpore optimizer"
                        + (f" (this is a {fw} object)" if fw else ""), type(optimizer).__name__)
    if fw == "mindspore":
        return mindspore_probe(optimizer, fields, **kwargs)
    if kwargs:
        raise SpecError(next(iter(kwargs)), f"is an argument of mindspore_probe only ({fw} optimizer)",
                        kwargs[next(iter(kwargs))])
    return torch_probe(optimizer, fields) if fw == "torch" else oneflow_probe(optimizer, fields)


def torch_probe(optimizer: Any, fields: Sequence[str] = DEFAULT_FIELDS) -> Any:
    """Record each group's ``fields`` before every real ``optimizer.step()`` (torch hook).

    Returns a probe with ``.trace`` and ``.remove()`` (also a context manager).
    """
    _check_framework(optimizer, "torch")
    if not hasattr(optimizer, "register_step_pre_hook"):
        raise SpecError("optimizer", "has no register_step_pre_hook (torch >= 2.0 optimizer expected)",
                        type(optimizer).__name__)
    return _TorchProbe(optimizer, fields)


def oneflow_probe(optimizer: Any, fields: Sequence[str] = DEFAULT_FIELDS) -> Any:
    """The same for OneFlow: a hook where the optimizer has one, else a ``step`` wrapper (0.9)."""
    _check_framework(optimizer, "oneflow")
    if hasattr(optimizer, "register_step_pre_hook"):
        p = _TorchProbe(optimizer, fields)
        p.trace.framework = "oneflow"
        return p
    return _WrapProbe(optimizer, fields)


# --------------------------------------------------------------------------- MindSpore
def _ms_num(x: Any) -> float:
    a = x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)
    return float(np.asarray(a, dtype=np.float64).reshape(-1)[0])


def _decimal32(x: Any) -> float:
    """A float32 hyper-parameter as the decimal it was written as (``0.999``, not 0.99900001):
    the shortest decimal that rounds to the same float32."""
    return float(str(np.float32(_ms_num(x))))


def adam_fold(betas: Tuple[float, float], update: int) -> float:
    """``sqrt(1 - b2**t) / (1 - b1**t)`` at ``t = update + 1``: the Adam bias correction as a factor
    on the step size. torch ``AdamW(lr, weight_decay)`` and MindSpore ``nn.AdamWeightDecay``
    (which does not bias-correct) make the same update when the latter's lr is ``lr * f`` and its
    weight decay ``weight_decay / f`` (``bridge.groups.translate_optimizer`` folds it so)."""
    b1, b2 = betas
    t = update + 1
    return float(np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t))


class _MsReader:
    """Evaluate a MindSpore optimizer's per-group lr / weight decay at a global step."""

    def __init__(self, opt: Any, group_sizes: Optional[Sequence[int]] = None):
        ms = _import("mindspore")
        self.ms = ms
        self.opt = opt
        n_params = len(opt.parameters)
        lrs: List[Any] = list(opt.learning_rate) if getattr(opt, "is_group_lr", False) else [opt.learning_rate]
        wds: List[Any] = list(opt.weight_decay) if isinstance(opt.weight_decay, tuple) else [opt.weight_decay]
        if group_sizes is None:
            # user groups are consecutive runs of parameters sharing one lr object / weight decay
            starts = [0]
            for i in range(1, n_params):
                lr_prev, lr_cur = lrs[min(i - 1, len(lrs) - 1)], lrs[min(i, len(lrs) - 1)]
                wd_prev, wd_cur = wds[min(i - 1, len(wds) - 1)], wds[min(i, len(wds) - 1)]
                if lr_prev is not lr_cur or self._wd_key(wd_prev) != self._wd_key(wd_cur):
                    starts.append(i)
        else:
            if sum(group_sizes) != n_params:
                raise SpecError("group_sizes", f"must add up to the optimizer's {n_params} parameters",
                                list(group_sizes))
            starts = list(np.cumsum([0] + list(group_sizes))[:-1])
        self.lr = [lrs[min(s, len(lrs) - 1)] for s in starts]
        self.wd = [wds[min(s, len(wds) - 1)] for s in starts]
        self.loss_scale = float(getattr(opt, "loss_scale", 1.0))
        self._lists: Dict[int, np.ndarray] = {}
        #: (beta1, beta2) of an nn.AdamWeightDecay (no bias correction: its values are unfolded)
        self.betas: Optional[Tuple[float, float]] = None
        if type(opt).__name__ == "AdamWeightDecay":
            self.betas = (_decimal32(opt.beta1), _decimal32(opt.beta2))

    @staticmethod
    def _wd_key(wd: Any) -> Any:
        return id(wd) if not hasattr(wd, "asnumpy") else _ms_num(wd)

    def _at(self, obj: Any, k: int) -> float:
        ms = self.ms
        if isinstance(obj, ms.Parameter) or (hasattr(obj, "asnumpy") and not isinstance(obj, ms.nn.Cell)):
            return _ms_num(obj)
        inner = getattr(obj, "learning_rate", None)
        if type(obj).__name__ == "_IteratorLearningRate" and inner is not None:
            arr = self._lists.get(id(obj))
            if arr is None:
                arr = self._lists[id(obj)] = np.asarray(inner.asnumpy(), dtype=np.float64)
            return float(arr[k])
        if type(obj).__name__ == "_ConvertToCell" and inner is not None:
            return _ms_num(inner)
        return _ms_num(obj(ms.Tensor(np.array([k], dtype=np.int32))))

    def values(self, k: int, fields: Sequence[str]) -> Dict[str, List[float]]:
        out: Dict[str, List[float]] = {}
        opt = self.opt
        fold = adam_fold(self.betas, k) if self.betas is not None else None
        if "lr" in fields:
            out["lr"] = [self._at(c, k) for c in self.lr]
        if "weight_decay" in fields:
            wd = []
            for w in self.wd:
                if type(w).__name__ == "_WrappedWeightDecay":
                    wd.append(self._at(w.weight_decay, k))
                else:  # stored multiplied by loss_scale
                    wd.append(self._at(w, k) / self.loss_scale)
            out["weight_decay"] = wd
        if fold is not None:  # nn.AdamWeightDecay: record torch AdamW's meaning, keep MindSpore's own
            for f, unfold in (("lr", lambda v: v / fold), ("weight_decay", lambda v: v * fold)):
                if f in out:
                    out["native_" + f] = out[f]
                    out[f] = [unfold(v) for v in out[f]]
        if "momentum" in fields and hasattr(opt, "momentum"):
            out["momentum"] = [_ms_num(opt.momentum)] * len(self.lr)
        if "betas[0]" in fields and hasattr(opt, "beta1"):
            out["betas[0]"] = [_ms_num(opt.beta1)] * len(self.lr)
        return out


def _import(name: str) -> Any:
    from bridge._frameworks import import_framework

    return import_framework(name)


_MS_CLASS: List[Any] = []


class _MsTorchStyleProbe(_StepProbe):
    """``mindspore.mint.optim`` / ``mindspore.experimental.optim`` optimizers: torch-style groups whose
    values a scheduler sets between updates. ``sync()`` right after each update (before
    ``scheduler.step()``) records the groups' values for it; the optimizer's own step counter
    (``state_step`` / ``step_t``) says whether exactly one update was made since the last sync."""

    framework = "mindspore"
    _COUNTERS = ("state_step", "step_t")

    def __init__(self, optimizer: Any, fields: Sequence[str] = DEFAULT_FIELDS):
        super().__init__(optimizer, fields)
        self._counter = next((a for a in self._COUNTERS if hasattr(optimizer, a)), None)
        self._last = self._count()

    def _count(self) -> Optional[int]:
        return None if self._counter is None else int(round(_ms_num(getattr(self.optimizer, self._counter))))

    def sync(self) -> int:
        """Record the update made since the last sync; return how many were made (0 or 1)."""
        c = self._count()
        n = 1 if c is None or self._last is None else c - self._last
        if n > 1:
            raise SpecError("sync", f"{n} optimizer updates since the last sync(), whose values are gone: call "
                            "probe.sync() after every update, before scheduler.step()", n)
        if n == 1:
            self._record()
        self._last = c
        return max(n, 0)

    def remove(self) -> None:
        """Nothing is attached to the optimizer."""


def _is_torch_style_ms(optimizer: Any) -> bool:
    try:
        from mindspore.experimental.optim import Optimizer
    except ImportError:  # pragma: no cover - MindSpore without experimental.optim
        return False
    return isinstance(optimizer, Optimizer)


def mindspore_probe(optimizer: Any = None, fields: Sequence[str] = DEFAULT_FIELDS, *,
                    group_sizes: Optional[Sequence[int]] = None) -> Any:
    """A ``mindspore.train.Callback`` recording each group's values at each update.

    ``optimizer``: the ``nn.Optimizer`` (default: ``cb_params.optimizer`` at train
    begin). ``group_sizes``: parameters per user group, when runs of equal
    lr/weight decay would merge groups. Outside ``Model.train``, call
    ``probe.sync()`` after each train step. The trace is ``probe.trace``.

    A ``mindspore.mint.optim`` / ``mindspore.experimental.optim`` optimizer (torch-style
    groups, driven by a scheduler) gets a probe that is not a callback: call ``probe.sync()``
    after each update and before ``scheduler.step()``.
    """
    if optimizer is not None:
        _check_framework(optimizer, "mindspore")
    ms = _import("mindspore")
    if optimizer is not None and _is_torch_style_ms(optimizer):
        if group_sizes is not None:
            raise SpecError("group_sizes", "torch-style MindSpore optimizers have param_groups; leave it None",
                            list(group_sizes))
        return _MsTorchStyleProbe(optimizer, fields)
    if not _MS_CLASS:
        class MindSporeProbe(ms.train.Callback):  # type: ignore[name-defined]
            __doc__ = mindspore_probe.__doc__

            def __init__(self, optimizer: Any, fields: Sequence[str],
                         group_sizes: Optional[Sequence[int]]) -> None:
                super().__init__()
                self.fields = tuple(fields)
                self.group_sizes = group_sizes
                self.trace = Trace("mindspore")
                self.optimizer: Any = None
                self._reader: Optional[_MsReader] = None
                self._next = 0
                if optimizer is not None:
                    self.attach(optimizer)

            def attach(self, optimizer: Any) -> None:
                self.optimizer = optimizer
                self._reader = _MsReader(optimizer, self.group_sizes)
                self._next = self._global_step()
                if self._reader.betas is not None:
                    self.trace.meta["adam_betas"] = list(self._reader.betas)
                    self.trace.meta["unfolded"] = UNFOLD_NOTE

            def _global_step(self) -> int:
                return int(np.asarray(self.optimizer.global_step.asnumpy()).reshape(-1)[0])

            def sync(self) -> int:
                """Record every update since the last sync; return how many."""
                if self._reader is None:
                    raise SpecError("optimizer", "no optimizer attached: pass one to mindspore_probe()", None,
                                    show_value=False)
                k1 = self._global_step()
                for k in range(self._next, k1):
                    for f, vals in self._reader.values(k, self.fields).items():
                        for g, v in enumerate(vals):
                            self.trace.record(f, g, k, v)
                n, self._next = k1 - self._next, max(k1, self._next)
                return max(n, 0)

            def on_train_begin(self, run_context: Any) -> None:
                if self.optimizer is None:
                    opt = run_context.original_args().optimizer
                    if opt is None:
                        raise SpecError("optimizer", "Model has no optimizer; pass it to mindspore_probe()",
                                        None, show_value=False)
                    self.attach(opt)

            def on_train_step_end(self, run_context: Any) -> None:
                self.sync()

            def on_train_end(self, run_context: Any) -> None:
                self.sync()

        _MS_CLASS.append(MindSporeProbe)
    return _MS_CLASS[0](optimizer, fields, group_sizes)


# --------------------------------------------------------------------------- compare
@dataclass
class FieldReport:
    """Comparison of one field."""

    field: str
    n_compared: int
    n_a: int
    n_b: int
    first_divergence: Optional[Tuple[int, int]] = None  # (update, group)
    value_a: float = float("nan")
    value_b: float = float("nan")
    max_rel_error: float = 0.0
    cause: str = ""

    @property
    def ok(self) -> bool:
        return self.first_divergence is None and not self.cause


@dataclass
class CompareReport:
    """Result of :func:`compare`; ``ok`` when every compared field matches."""

    label_a: str
    label_b: str
    rtol: float
    fields: List[FieldReport] = field(default_factory=list)
    skipped: Tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.fields) and all(f.ok for f in self.fields)

    @property
    def first(self) -> Optional[FieldReport]:
        bad = [f for f in self.fields if f.first_divergence is not None]
        return min(bad, key=lambda f: f.first_divergence or (0, 0)) if bad else None

    def format(self) -> str:
        head = f"parity {self.label_a} vs {self.label_b} (rtol={self.rtol:g}"
        head += f", skipped={list(self.skipped)})" if self.skipped else ")"
        lines = [head]
        for f in self.fields:
            if f.ok:
                lines.append(f"  {f.field}: OK over {f.n_compared} updates (max rel error {f.max_rel_error:.2e})")
            elif f.first_divergence is None:
                lines.append(f"  {f.field}: {f.cause}")
            else:
                u, g = f.first_divergence
                lines.append(f"  {f.field}: first divergence at update {u}, group {g}: "
                             f"{f.value_a!r} vs {f.value_b!r} (max rel error {f.max_rel_error:.2e})")
                if f.cause:
                    lines.append(f"    likely cause: {f.cause}")
        if not self.fields:
            lines.append("  no common field to compare")
        lines.append("OK" if self.ok else "DIFFERENT")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """The trace contract: bridge.parity's ``"tolerance"`` (``|a-b| <= rtol*max(|a|,|b|) + atol``)."""
    return agree(a, b, contract="tolerance", rtol=rtol, atol=atol)


def _all_close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and a.size > 0 and bool(np.all(_close(a, b, rtol, atol)))


def _is_subsequence(short: np.ndarray, long: np.ndarray, rtol: float, atol: float) -> Optional[List[int]]:
    """Rows of ``long`` to delete so it equals ``short`` (greedy), or None."""
    dropped: List[int] = []
    j = 0
    for i in range(short.shape[0]):
        while j < long.shape[0] and not np.all(_close(short[i], long[j], rtol, atol)):
            dropped.append(j)
            j += 1
        if j == long.shape[0]:
            return None
        j += 1
    return dropped


def _bias_correction(a: np.ndarray, b: np.ndarray, betas: Any, rtol: float, atol: float) -> str:
    """The cause when ``a`` and ``b`` differ by Adam's bias correction factor at every update."""
    if betas is None or a.shape[0] == 0:
        return ""
    k = min(a.shape[0], b.shape[0])
    f = np.array([adam_fold(tuple(betas), u) for u in range(k)])[:, None]
    if _all_close(a[:k], b[:k] / f, rtol, atol) or _all_close(a[:k], b[:k] * f, rtol, atol):
        return ("Adam bias correction: the sides differ by f = sqrt(1-b2^t)/(1-b1^t) at every update: an "
                "nn.AdamWeightDecay (no bias correction) given torch AdamW's lr / weight decay unchanged; "
                "bridge.groups.translate_optimizer folds f into its lr and weight-decay tables")
    return ""


def _diagnose(a: np.ndarray, b_full: np.ndarray, t0: int, rtol: float, atol: float, betas: Any = None) -> str:
    """Heuristic cause of a divergence first seen at update ``t0``."""
    n = min(a.shape[0], 4096)
    a = a[:n]
    m = min(b_full.shape[0], n + 1)
    b = b_full[:m]
    k = min(n, m)
    adam = _bias_correction(a, b, betas, rtol, atol)
    if adam:
        return adam
    # off by one
    if k > 2 and _all_close(a[: k - 1], b[1:k], rtol, atol):
        return ("off by one: a[t] == b[t+1] (a applies the value one scheduler step ahead: scheduler.step() "
                "before optimizer.step(), or a list/table starting one index late)")
    if k > 2 and _all_close(a[1:k], b[: k - 1], rtol, atol):
        return ("off by one: a[t] == b[t-1] (a lags one step: its first update used the construction value "
                "twice, or its scheduler starts one step late)")
    # epoch vs iteration
    lim = min(k, 512)
    for e in range(2, max(2, lim // 2) + 1):
        idx = np.arange(k) // e
        if idx[-1] < m and _all_close(a[:k], b[idx], rtol, atol):
            return (f"epoch vs iteration: a[t] == b[floor(t/{e})] (a's scheduler is stepped once per epoch of {e} "
                    f"updates while b counts updates; scale milestones/T_max by {e} or step per iteration)")
        if _all_close(a[:k], b[idx * e], rtol, atol):
            return (f"epoch vs iteration: a holds b's value for {e} updates (a[t] == b[{e}*floor(t/{e})]: "
                    "per-epoch (stair) stepping against per-iteration stepping)")
        if _all_close(b[:k], a[np.minimum(idx, n - 1)], rtol, atol):
            return (f"epoch vs iteration: b[t] == a[floor(t/{e})] (b is stepped once per epoch of {e} updates)")
    # skipped updates
    for short, long, who in ((a, b_full, "a"), (b[:k], a, "b")):
        if short.shape[0] >= 2:
            dropped = _is_subsequence(short, long[: short.shape[0] + 64], rtol, atol)
            if dropped:
                return (f"skipped updates: {who} equals the other with update(s) {dropped[:10]} removed "
                        "(torch GradScaler skipped optimizer.step() while scheduler.step() advanced); "
                        "pass skipped=[...] to compare")
    # tiny drift growing: closed vs chainable form
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(a[:k] - b[:k]) / np.maximum(np.abs(b[:k]), 1e-300)
    rel = np.nan_to_num(rel, nan=0.0, posinf=0.0)
    if rel.size and 0 < rel.max() < 1e-3:
        tail = rel[t0:]
        if tail.size > 2 and tail[-1] >= tail[0]:
            return ("tiny drift growing: closed form vs chainable (recursive) form, or float32 accumulation; "
                    "compare with a looser rtol or lower with the other form")
        return "float rounding (e.g. float32 MindSpore cells): use rtol=2e-6 or compare after float32 rounding"
    return "values differ (not an off-by-one, epoch/iteration, skip or drift pattern): compare the schedules"


def _as_array(x: Any, f: str) -> Optional[np.ndarray]:
    if isinstance(x, Trace):
        return x.array(f) if f in x.fields else None
    arr = np.asarray(x, dtype=np.float64)
    return arr[:, None] if arr.ndim == 1 else arr


def compare(trace_a: Trace, b: Any, *, rtol: float = TRACE_RTOL, atol: float = 0.0,
            fields: Optional[Sequence[str]] = None, skipped: Sequence[int] = (),
            framework: Optional[str] = None) -> CompareReport:
    """Compare trace ``a`` with trace ``b``, a :class:`bridge.Plan`, or an array.

    ``b`` is what a run with no skipped update applies (a Plan gives its
    values per update). ``skipped``: updates of run ``a`` that overflowed;
    ``b`` is then mapped with :func:`apply_skips` for ``a``'s framework
    (``framework`` overrides ``trace_a.framework``). A value matches when
    ``|a-b| <= rtol*max(|a|,|b|) + atol`` (:func:`bridge.parity.agree`, contract
    ``"tolerance"``; ``rtol`` defaults to :data:`bridge.parity.TRACE_RTOL`, for float32
    frameworks; use :data:`bridge.parity.FLOAT64_RTOL` between float64 ones). Against a Plan only ``a``'s updates
    are compared; between traces a different update count is a divergence.
    """
    from bridge.ir.plan import Plan

    if not isinstance(trace_a, Trace):
        raise SpecError("trace_a", "must be a bridge.probes.Trace (load one with load_trace(path))",
                        type(trace_a).__name__)
    fw = framework or trace_a.framework or "torch"
    sk = tuple(sorted({int(s) for s in skipped}))
    is_plan = isinstance(b, Plan)
    if isinstance(b, Trace):
        label_b = f"trace[{b.framework or '?'}]"
        common = [f for f in trace_a.fields if f in b.fields]
    elif is_plan:
        label_b = "plan"
        common = [f for f in trace_a.fields if f in b.fields]
    else:
        label_b = "array"
        common = trace_a.fields[:1] if fields is None else list(fields)
    if fields is not None:
        missing = [f for f in fields if f not in common]
        if missing:
            raise SpecError("fields", f"not in both sides (common: {', '.join(common) or 'none'})", missing)
        common = list(fields)
    report = CompareReport(f"trace[{trace_a.framework or '?'}]", label_b, rtol, skipped=sk)
    betas = trace_a.meta.get("adam_betas") or (b.meta.get("adam_betas") if isinstance(b, Trace) else None)
    for f in common:
        a = trace_a.array(f)
        n_a = a.shape[0]
        if is_plan:
            bv = b.values(n_a + len(sk) + 1, field=f)
        else:
            arr = _as_array(b, f)
            assert arr is not None
            bv = arr
        expected = apply_skips(bv, [s for s in sk if s < bv.shape[0]], fw) if sk else bv
        n_b = expected.shape[0] if not is_plan else n_a
        if a.shape[1] != expected.shape[1]:
            report.fields.append(FieldReport(f, 0, n_a, n_b, cause=(
                f"group count differs: {a.shape[1]} vs {expected.shape[1]}")))
            continue
        k = min(n_a, expected.shape[0])
        ok = _close(a[:k], expected[:k], rtol, atol)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(a[:k] - expected[:k]) / np.maximum(np.abs(expected[:k]), 1e-300)
        rel = np.where(np.isnan(rel) | ok & (np.abs(a[:k] - expected[:k]) == 0), 0.0, rel)
        fr = FieldReport(f, k, n_a, n_b, max_rel_error=float(rel.max()) if rel.size else 0.0)
        bad = np.argwhere(~ok)
        if bad.size:
            u, g = int(bad[0][0]), int(bad[0][1])
            fr.first_divergence = (u, g)
            fr.value_a, fr.value_b = float(a[u, g]), float(expected[u, g])
            fr.cause = _diagnose(a, expected, u, rtol, atol, betas)
        elif not is_plan and n_a != n_b:
            fr.first_divergence = (k, 0)
            fr.cause = (f"update count differs: {n_a} vs {n_b} updates (values agree on the first {k}); "
                        "check count_updates (accumulation, drop_last, sink size) or skipped updates")
        report.fields.append(fr)
    return report
