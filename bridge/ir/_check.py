"""Small validators used by the IR nodes; each raises SpecError(path, what, value)."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from ..errors import SpecError

#: Largest magnitude of a whole-number field (steps, sizes, milestones): steps are int64
#: in the evaluator, and no run comes near 2**62 updates.
INT_LIMIT = 2**62


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def real(path: str, v: Any, *, positive: bool = False, nonneg: bool = False,
         lo: Optional[float] = None, hi: Optional[float] = None, lo_open: bool = False) -> float:
    if hasattr(v, "item") and not isinstance(v, (list, tuple)):
        try:
            v = v.item()  # numpy / framework scalars
        except Exception:  # pragma: no cover - defensive
            pass
    if not _is_real(v):
        raise SpecError(path, "must be a number", v)
    try:
        f = float(v)
    except OverflowError:  # an int beyond float64
        raise SpecError(path, "must be finite (it is beyond the float64 range)", v) from None
    if not math.isfinite(f):
        raise SpecError(path, "must be finite", v)
    if positive and not f > 0:
        raise SpecError(path, "must be > 0", v)
    if nonneg and f < 0:
        raise SpecError(path, "must be >= 0", v)
    if lo is not None and (f <= lo if lo_open else f < lo):
        raise SpecError(path, f"must be {'>' if lo_open else '>='} {lo}", v)
    if hi is not None and f > hi:
        raise SpecError(path, f"must be <= {hi}", v)
    return f


def integer(path: str, v: Any, *, lo: Optional[int] = None) -> int:
    if hasattr(v, "item") and not isinstance(v, (list, tuple)):
        try:
            v = v.item()
        except Exception:  # pragma: no cover
            pass
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise SpecError(path, "must be an integer", v)
    if abs(v) > INT_LIMIT:
        raise SpecError(path, f"must be at most 2**62 ({INT_LIMIT}) in size", v)
    if lo is not None and v < lo:
        raise SpecError(path, f"must be >= {lo}", v)
    return v


def opt_int(path: str, v: Any, *, lo: Optional[int] = None) -> Optional[int]:
    return None if v is None else integer(path, v, lo=lo)


def opt_real(path: str, v: Any, **kw: Any) -> Optional[float]:
    return None if v is None else real(path, v, **kw)


def boolean(path: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise SpecError(path, "must be true or false", v)
    return v


def text(path: str, v: Any) -> str:
    if not isinstance(v, str):
        raise SpecError(path, "must be a string", type(v).__name__)
    return v


def choice(path: str, v: Any, options: Sequence[str]) -> str:
    if v not in options:
        raise SpecError(path, f"must be one of {', '.join(map(repr, options))}", v)
    return str(v)


def int_list(path: str, v: Any, *, lo: Optional[int] = None, nondecreasing: bool = False,
             increasing: bool = False, nonempty: bool = False) -> tuple:
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        raise SpecError(path, "must be a list of integers", v)
    out = tuple(integer(f"{path}[{i}]", x, lo=lo) for i, x in enumerate(v))
    if nonempty and not out:
        raise SpecError(path, "must not be empty", list(out))
    if increasing and any(b <= a for a, b in zip(out, out[1:])):
        raise SpecError(path, "must be increasing", list(out))
    if nondecreasing and any(b < a for a, b in zip(out, out[1:])):
        raise SpecError(path, "must be non-decreasing", list(out))
    return out


def real_list(path: str, v: Any, *, nonempty: bool = False, **kw: Any) -> tuple:
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        raise SpecError(path, "must be a list of numbers", v)
    out = tuple(real(f"{path}[{i}]", x, **kw) for i, x in enumerate(v))
    if nonempty and not out:
        raise SpecError(path, "must not be empty", list(out))
    return out
