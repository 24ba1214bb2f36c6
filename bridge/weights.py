"""Weight transfer between torch, OneFlow and MindSpore models: the same start in one call.

    report = bridge.copy_weights(torch_model, mindspore_net)    # and back, or OneFlow
    print(report)                                               # what went where, what was skipped

Names are torch's on the torch / OneFlow side (their state dicts are name-identical) and
MindSpore's own on a MindSpore net, related through ``mappings/param_names.toml``: each
MindSpore cell's own parameters are renamed by the row of its class (``Dense``, ``Conv2d``,
``BatchNorm2d`` ``gamma``/``beta``/``moving_mean``/``moving_variance``, ``LayerNorm``,
``Embedding`` ``embedding_table`` ...); other cells' parameters keep their names. So a port
whose cells carry the torch attribute names maps with no configuration.

Every value is checked before anything is written: a name with no counterpart on the other
side, a destination parameter nothing would fill, a shape that differs. All of them are
reported in one :class:`bridge.errors.SpecError` (nothing is copied then). torch-only
state-dict entries (``num_batches_tracked``) are skipped on either side and listed in the report.
Frameworks are imported inside the functions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Tuple

import numpy as np

from . import mappings
from ._frameworks import detect
from .errors import SpecError

__all__ = ["WeightCopy", "copy_weights", "mindspore_names", "state_dict_arrays"]

#: destination entry: (shape, dtype, writer of one NumPy array)
_Sink = Tuple[Tuple[int, ...], Any, Callable[[np.ndarray], None]]


@dataclass
class WeightCopy:
    """What :func:`copy_weights` did: ``copied`` maps each source name to its destination name."""

    source: str
    destination: str
    copied: Dict[str, str] = field(default_factory=dict)
    skipped: List[str] = field(default_factory=list)

    def __str__(self) -> str:
        renamed = {a: b for a, b in self.copied.items() if a != b}
        lines = [f"copied {len(self.copied)} tensors {self.source} -> {self.destination}"
                 + (f" ({len(renamed)} renamed)" if renamed else "")]
        lines += [f"  {a} -> {b}" for a, b in renamed.items()]
        if self.skipped:
            lines.append(f"skipped (torch-only, no counterpart): {', '.join(self.skipped)}")
        return "\n".join(lines)


def _layer_names() -> Dict[str, Dict[str, str]]:
    """MindSpore cell class name -> {MindSpore local name: torch local name}."""
    out: Dict[str, Dict[str, str]] = {}
    for row in mappings.load("param_names")["layers"].values():
        inverse = {ms: t for t, ms in row["names"].items()}
        for cls in row.get("mindspore_classes", ()):
            out[cls] = inverse
    return out


def mindspore_names(net: Any) -> Dict[str, str]:
    """``{MindSpore parameter name: torch-convention name}`` for every parameter of ``net``
    (trainable or not: BatchNorm's moving statistics are Parameters in MindSpore)."""
    if detect(net) != "mindspore" or not hasattr(net, "cells_and_names"):
        raise SpecError("net", "must be a MindSpore nn.Cell", type(net).__name__)
    table = _layer_names()
    out: Dict[str, str] = {}
    seen = set()
    for prefix, cell in net.cells_and_names():
        rename = table.get(type(cell).__name__, {})
        for local, p in cell._params.items():
            if p is None or id(p) in seen:
                continue
            seen.add(id(p))
            dot = f"{prefix}." if prefix else ""
            out[p.name] = dot + rename.get(local, local)
    return out


def _numpy(v: Any) -> np.ndarray:
    if hasattr(v, "asnumpy"):
        return np.asarray(v.asnumpy())
    if hasattr(v, "detach"):
        v = v.detach()
    if hasattr(v, "cpu"):
        v = v.cpu()
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def state_dict_arrays(model: Any) -> Dict[str, np.ndarray]:
    """A model's weights as ``{torch-convention name: NumPy array}`` (copies): a torch / OneFlow
    module's state dict, a MindSpore net's parameters renamed (:func:`mindspore_names`), or a
    mapping of name -> tensor / array (a state dict, ``np.load`` of an ``.npz``) as is."""
    fw = detect(model)
    if fw == "mindspore" and hasattr(model, "cells_and_names"):
        names = mindspore_names(model)
        return {names[p.name]: np.array(p.asnumpy()) for p in model.get_parameters() if p.name in names}
    if isinstance(model, Mapping) or hasattr(model, "files"):
        return {str(k): np.array(_numpy(model[k])) for k in (model.files if hasattr(model, "files") else model)}
    if fw in ("torch", "oneflow") and hasattr(model, "state_dict"):
        return {k: np.array(_numpy(v)) for k, v in model.state_dict().items()}
    raise SpecError("model", "must be a torch / OneFlow module, a MindSpore nn.Cell or a mapping of name -> "
                    "tensor (a state dict)", type(model).__name__)


def _ms_sinks(net: Any) -> Dict[str, _Sink]:
    from ._frameworks import import_framework

    ms = import_framework("mindspore")
    names = mindspore_names(net)
    out: Dict[str, _Sink] = {}
    for p in net.get_parameters():
        if p.name in names:
            def write(a: np.ndarray, p: Any = p) -> None:
                p.set_data(ms.Tensor(a))

            out[names[p.name]] = (tuple(p.shape), ms.dtype_to_nptype(p.dtype), write)
    return out


def _module_sinks(model: Any, fw: str, pending: Dict[str, Any]) -> Dict[str, _Sink]:
    """torch / OneFlow: arrays are collected into ``pending`` and loaded with load_state_dict."""
    from ._frameworks import import_framework

    lib = import_framework(fw)
    out: Dict[str, _Sink] = {}
    for k, v in model.state_dict().items():
        def write(a: np.ndarray, k: str = k) -> None:
            t = lib.from_numpy(np.ascontiguousarray(a))
            pending[k] = t.reshape(a.shape) if tuple(t.shape) != a.shape else t  # OneFlow: 0-d comes as (1,)

        out[k] = (tuple(v.shape), _numpy(v).dtype, write)
    return out


def _fit(arr: np.ndarray, shape: Tuple[int, ...]) -> Any:
    """``arr`` in ``shape``: as is, or reshaped when only size-1 axes differ; None if neither."""
    if arr.shape == shape:
        return arr
    if [d for d in arr.shape if d != 1] == [d for d in shape if d != 1]:
        return arr.reshape(shape)
    return None


def _plan(src: Dict[str, np.ndarray], sinks: Dict[str, _Sink], strict: bool,
          labels: Tuple[str, str]) -> Tuple[List[Tuple[str, np.ndarray]], List[str]]:
    torch_only = set(mappings.load("param_names").get("torch_only", ()))
    problems: List[str] = []
    writes: List[Tuple[str, np.ndarray]] = []
    skipped: List[str] = []
    for name, arr in src.items():
        if name not in sinks:
            if name.rsplit(".", 1)[-1] in torch_only:
                skipped.append(name)
            elif strict:
                problems.append(f"{labels[0]} {name!r} {tuple(arr.shape)}: no parameter of that name in the "
                                f"{labels[1]} model")
            continue
        shape, dtype, _ = sinks[name]
        fitted = _fit(arr, shape)
        if fitted is None:
            problems.append(f"{name!r}: shape {tuple(arr.shape)} in the {labels[0]} model, {shape} in the "
                            f"{labels[1]} model")
            continue
        writes.append((name, np.asarray(fitted, dtype=dtype)))
    missing = [n for n in sinks if n not in src and n.rsplit(".", 1)[-1] not in torch_only]
    skipped += [n for n in sinks if n not in src and n not in missing]  # e.g. torch's num_batches_tracked
    if strict:
        problems += [f"{labels[1]} {n!r} {sinks[n][0]}: nothing in the {labels[0]} model maps to it" for n in missing]
    if problems:
        raise SpecError("copy_weights", f"{len(problems)} name(s) cannot be mapped (through "
                        "mappings/param_names.toml; nothing was copied):\n  " + "\n  ".join(problems), None,
                        show_value=False)
    return writes, skipped


def copy_weights(src: Any, dst: Any, *, strict: bool = True) -> WeightCopy:
    """Copy every weight of ``src`` into ``dst``; returns the :class:`WeightCopy` report.

    ``src``: a torch / OneFlow module, a MindSpore ``nn.Cell``, or a mapping of torch-convention
    name -> tensor / array (a torch ``state_dict()``, an ``.npz``). ``dst``: a torch / OneFlow
    module or a MindSpore ``nn.Cell``. Values are cast to the destination's dtype; a shape that
    differs only by size-1 axes is reshaped. ``strict`` (default): a source entry with no
    destination, or a destination parameter / buffer with no source, is an error (all such
    names in one :class:`~bridge.errors.SpecError`, before anything is written); ``strict=False``
    copies what maps and leaves the rest (shape mismatches are errors either way).
    """
    src_fw = detect(src) or "state dict"
    dst_fw = detect(dst)
    arrays = state_dict_arrays(src)
    pending: Dict[str, Any] = {}
    if dst_fw == "mindspore" and hasattr(dst, "cells_and_names"):
        sinks = _ms_sinks(dst)
    elif dst_fw in ("torch", "oneflow") and hasattr(dst, "load_state_dict"):
        sinks = _module_sinks(dst, dst_fw, pending)
    else:
        raise SpecError("dst", "must be a torch / OneFlow module or a MindSpore nn.Cell", type(dst).__name__)
    writes, skipped = _plan(arrays, sinks, strict, (src_fw, str(dst_fw)))
    for name, arr in writes:
        sinks[name][2](arr)
    if pending:
        dst.load_state_dict(pending, strict=False)
    report = WeightCopy(src_fw, str(dst_fw), skipped=skipped)
    ms_names = {t: m for m, t in mindspore_names(src).items()} if src_fw == "mindspore" else {}
    dst_names = {t: m for m, t in mindspore_names(dst).items()} if dst_fw == "mindspore" else {}
    for name, _ in writes:
        report.copied[ms_names.get(name, name)] = dst_names.get(name, name)
    return report
