"""The neutral record of one scheduler constructor call, shared by every importer.

A :class:`SchedulerCall` says what was built, in framework terms but without any framework
object: the dialect (``"torch"``, ``"oneflow"``, ``"mindspore"``), the class name, its
arguments bound to the constructor's signature (defaults filled in, the optimizer and the
scheduler arguments left out), the child schedulers of a composite, per-group values the
constructor took from the optimizer (``base_lrs``, ...) and the steps taken since it was built.

Both directions go through it: the readers of live objects (``read_torch``, ``read_oneflow``,
``read_mindspore_experimental``) and the expression parser (:mod:`bridge.spec`) produce records,
one table per dialect maps a record to IR nodes (``import_record``), and the way back,
``record_of(plan)``, gives the record of a plan's native twin, which the framework's
``construct`` builds (the live object, or through ``_source.write_call`` its source). No
framework is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

__all__ = ["SchedulerCall", "DIALECTS"]

#: the dialects a record can name
DIALECTS = ("torch", "oneflow", "mindspore", "mmengine")


@dataclass(frozen=True)
class SchedulerCall:
    """One scheduler constructor call, framework-neutral.

    ``args``: every constructor parameter after the optimizer, bound, with its default where
    not given; the parameters that take schedulers (``schedulers``, ``scheduler``) are not in
    ``args`` but in ``children``, in order. ``group_values``: per-param-group values the
    constructor read from the optimizer (e.g. ``{"base_lrs": (0.1, 0.05)}``); empty when the
    caller supplies them later. ``step``: steps taken since construction (0 for an
    expression). ``col``: 0-based column of the call in an expression (for messages), or None.

    :func:`bridge.spec.read_expression` gives the call as written. The importers map the call
    as the framework's constructors *store* it (``read_torch`` / ``read_oneflow`` for live
    objects, ``bridge.spec._torch_built`` / ``_oneflow_built`` for expressions): where a
    framework keeps no parameter, the record holds what it keeps instead (torch's CyclicLR
    ``total_size``/``step_ratio``, OneCycleLR ``phase_ends``; see each reader).
    """

    dialect: str
    name: str
    args: Mapping[str, Any]
    children: Tuple[SchedulerCall, ...] = ()
    group_values: Mapping[str, Tuple[float, ...]] = field(default_factory=dict)
    step: int = 0
    col: Optional[int] = None

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise ValueError(f"SchedulerCall.dialect must be one of {DIALECTS}, not {self.dialect!r}")
        if not isinstance(self.children, tuple):
            object.__setattr__(self, "children", tuple(self.children))

    def kwargs(self) -> Dict[str, Any]:
        """The arguments as a fresh dict (children not included)."""
        return dict(self.args)

    def walk(self) -> Tuple[SchedulerCall, ...]:
        """This call and every call nested in it, depth first, in the order written."""
        out = [self]
        for ch in self.children:
            out.extend(ch.walk())
        return tuple(out)
