"""Read MMEngine-style configs (.py, .json, .yaml) without executing them.

A ``.py`` config is parsed with :mod:`ast` and evaluated by a small interpreter that knows
only data: numbers, strings, lists, tuples, sets, dicts, names assigned earlier in the
file, arithmetic, comparisons, conditional expressions, comprehensions, f-strings, a
fixed allow-list of pure built-ins (``dict``, ``list``, ``len``, ``range``, ``sum``,
``round``, ...), of methods of those data types (``dict.update``, ``str.format``, ...) and
``copy.deepcopy``; ``_base_`` inheritance (``pkg::`` scopes resolved from the installed
package), ``_base_.x`` / ``{{_base_.x}}`` references and assignments, ``del``, ``if``.
Everything is bounded (work, sizes, integers, strings, depth). Nothing is imported and
nothing outside the allow-list is called.

A statement that cannot be read this way (an import, a call to anything else, a function
definition, ...) is skipped: the names it would set (and the data it could have changed)
become :class:`Unreadable` placeholders. Reading fails (``SpecError`` with file, line and
why) only when a key that sched-bridge reads (:data:`NEEDED`, or ``need=``) depends on one.
``trust=True`` executes the file instead (``mmengine.Config.fromfile`` when installed,
else :mod:`runpy`).
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import copy as _copy_mod
import importlib.util
import json
import math
import operator
import os
import re
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from .errors import SpecError

__all__ = ["load_config", "Unreadable", "NEEDED", "trust_flag", "skipped_statements"]

PathLike = Union[str, "os.PathLike[str]"]

#: The top-level keys sched-bridge reads from a config (the importers, the CLI, lint): reading
#: fails when one of them depends on something that cannot be read without executing the file.
NEEDED: Tuple[str, ...] = ("param_scheduler", "optim_wrapper", "optimizer", "train_cfg", "max_epochs",
                           "max_iters", "auto_scale_lr")

#: Largest integer the literal reader computes, most values one assignment may expand to, the
#: longest string it builds, and the work (nodes evaluated + items built) one statement and one
#: file may cost.
MAX_INT_BITS = 4096
MAX_VALUES = 1_000_000
MAX_STR = 100_000
MAX_WORK = 1_000_000
MAX_FILE_WORK = 4 * MAX_WORK

_TRUST_HINT: contextvars.ContextVar[str] = contextvars.ContextVar("bridge_trust_hint", default="trust=True")


@contextlib.contextmanager
def trust_flag(flag: str) -> Iterator[None]:
    """Inside this block, messages that say a config needs executing name ``flag`` (the CLI
    sets ``"--trust"``; the default is the Python keyword ``trust=True``)."""
    tok = _TRUST_HINT.set(flag)
    try:
        yield
    finally:
        _TRUST_HINT.reset(tok)


def _hint() -> str:
    return _TRUST_HINT.get()


_SKIPPED: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar("bridge_config_skipped",
                                                                                 default=None)


@contextlib.contextmanager
def skipped_statements() -> Iterator[List[str]]:
    """Inside this block, each statement the literal reader skips (not executed; no key read
    depends on it, or reading fails) is appended to the yielded list as ``"file:line"``, once,
    in reading order (bases first). The command line reports them in one line."""
    out: List[str] = []
    tok = _SKIPPED.set(out)
    try:
        yield out
    finally:
        _SKIPPED.reset(tok)


_BIN: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
_UNARY: Dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos,
                                            ast.Not: operator.not_, ast.Invert: operator.invert}
_CMP: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_SYM = {ast.LShift: "<<", ast.RShift: ">>"}
#: ``from X import Name`` binds Name to the string "Name" (a scheduler / optimizer type)
_TYPE_MODULES = ("mmengine.optim", "mmengine.optim.scheduler", "mmengine.optim.scheduler.lr_scheduler",
                 "mmengine.optim.scheduler.momentum_scheduler", "mmengine.optim.scheduler.param_scheduler",
                 "mmengine.optim.optimizer", "torch.optim", "torch.optim.lr_scheduler")
_BASE_REF = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")
#: MMEngine's package scopes (``mmdet::path``): scope -> the module holding ``.mim/configs``
_SCOPES = {"mmcls": "mmcls", "mmdet": "mmdet", "mmdet3d": "mmdet3d", "mmseg": "mmseg", "mmaction": "mmaction",
           "mmtrack": "mmtrack", "mmpose": "mmpose", "mmedit": "mmedit", "mmocr": "mmocr", "mmgen": "mmgen",
           "mmfewshot": "mmfewshot", "mmrazor": "mmrazor", "mmflow": "mmflow", "mmhuman3d": "mmhuman3d",
           "mmrotate": "mmrotate", "mmselfsup": "mmselfsup", "mmyolo": "mmyolo", "mmpretrain": "mmpretrain",
           "mmagic": "mmagic"}


class Unreadable:
    """A config value the literal reader could not compute without executing the file.

    It stands where the value would be; reading fails only if a needed key depends on it
    (:meth:`error` is the ``SpecError`` raised then)."""

    __slots__ = ("where", "why", "text")

    def __init__(self, where: str, why: str, text: str):
        self.where, self.why, self.text = where, why, text

    def __repr__(self) -> str:
        return f"<unreadable: {self.where}: {self.why}>"

    def error(self, key: str = "") -> SpecError:
        what = f" (needed for {key})" if key else ""
        return SpecError(self.where, f"{self.why}{what}; nothing was executed (pass {_hint()} to run the config "
                         "as MMEngine does)", self.text)


class _Builtin:
    """An allow-listed pure function (a built-in or ``copy.deepcopy``)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Module:
    """``import copy``: the only module a config may name (for ``copy.deepcopy``)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


_MODULES = {"copy": {"deepcopy": "deepcopy", "copy": "shallowcopy"}}
_BUILTINS = ("dict", "list", "tuple", "set", "len", "range", "min", "max", "sum", "sorted", "zip", "enumerate",
             "round", "int", "float", "str", "bool", "abs", "reversed", "any", "all")
#: pure (or, for dict/list, in-place data) methods a config may call, per receiver type
_METHODS: Dict[type, Set[str]] = {
    dict: {"get", "keys", "values", "items", "copy", "update", "pop", "setdefault", "merge"},
    list: {"append", "extend", "insert", "pop", "index", "count", "copy", "remove"},
    tuple: {"index", "count"},
    str: {"format", "join", "replace", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower",
          "startswith", "endswith", "title", "capitalize", "zfill", "ljust", "rjust", "center", "count",
          "find", "index", "isdigit"},
}
_SCALARS = (int, float, str, bool, type(None))


def load_config(path: PathLike, *, trust: bool = False, need: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Top-level variables of a config (``param_scheduler``, ``optim_wrapper``, ``train_cfg``...).

    Without ``trust`` nothing in the file is executed. Values that cannot be read literally
    are :class:`Unreadable` placeholders; when one of ``need`` (default :data:`NEEDED`;
    dotted paths such as ``"train_dataloader.batch_size"`` allowed) depends on one, a
    :class:`SpecError` names the file, the line and why.
    """
    p = os.path.abspath(os.fspath(path))
    if os.path.isdir(p):
        raise SpecError("path", "is a directory, not a config file", os.fspath(path))
    if not os.path.isfile(p):
        raise SpecError("path", "no such config file", os.fspath(path))
    if trust and p.endswith(".py"):
        return _trusted_or_error(p)
    cfg = _load(p, stack=())
    for key in NEEDED if need is None else need:
        u = _find_unreadable(_lookup(cfg, key))
        if u is not None:
            raise u.error(key)
    return cfg


def _lookup(cfg: Any, dotted: str) -> Any:
    cur = cfg
    for part in dotted.split("."):
        if isinstance(cur, Unreadable):
            return cur
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _find_unreadable(v: Any) -> Optional[Unreadable]:
    if isinstance(v, Unreadable):
        return v
    items = v.values() if isinstance(v, dict) else v if isinstance(v, (list, tuple)) else ()
    for x in items:
        u = _find_unreadable(x)
        if u is not None:
            return u
    return None


def _load(p: str, stack: tuple) -> Dict[str, Any]:
    if p in stack:
        raise SpecError(p, "_base_ inheritance loops back to this file", list(stack))
    ext = os.path.splitext(p)[1].lower()
    if ext == ".py":
        return _load_py(p, stack)
    if ext in (".json", ".yaml", ".yml"):
        from .ir.io import decode_utf8, load_yaml, no_duplicate_keys

        with open(p, "rb") as f:
            text = decode_utf8(f.read(), p)
        if ext == ".json":
            try:
                raw = json.loads(text, object_pairs_hook=no_duplicate_keys)
            except json.JSONDecodeError as e:
                raise SpecError(f"{p}:{e.lineno}", f"invalid JSON ({e.msg})", None, show_value=False) from None
            except (RecursionError, ValueError) as e:
                raise SpecError(p, f"invalid JSON ({str(e).splitlines()[0][:120]})", None, show_value=False) from None
        else:
            raw = load_yaml(text, p)
        if not isinstance(raw, dict):
            raise SpecError(p, "a config file must hold a mapping at the top", type(raw).__name__)
        base_files = raw.pop("_base_", None)
        base = _load_bases(p, base_files, stack) if base_files is not None else {}
        return _merge(raw, base)
    raise SpecError(p, "config files must end in .py, .json, .yaml or .yml", ext, show_value=True)


def _package_dir(scope: str, p: str, name: str) -> str:
    module = _SCOPES.get(scope)
    if module is None:
        raise SpecError(f"{p}: _base_", f"unknown package scope '{scope}::' (MMEngine knows "
                        f"{', '.join(sorted(_SCOPES))})", name)
    where = _installed_dir(module)
    if where is None:
        raise SpecError(f"{p}: _base_", f"the base config is in the package '{module}' (scope '{scope}::'), "
                        f"which is not installed here; install it (pip install --no-deps {module}) to read "
                        "this config", name)
    return where


def _installed_dir(package: str) -> Optional[str]:
    """The directory of an installed package, found without importing it; None if not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    locs = list(spec.submodule_search_locations or []) if spec is not None else []
    return locs[0] if locs else None


def _base_path(p: str, name: str) -> Tuple[str, Optional[str]]:
    """The file a ``_base_`` entry names, and its package scope (``mmdet::...``) if any."""
    if "::" in name:
        scope, _, rel = name.partition("::")
        root = _package_dir(scope, p, name)
        bp = os.path.join(root, ".mim", "configs", rel)
        if not os.path.isfile(bp):
            raise SpecError(f"{p}: _base_", f"base file not found in the package '{scope}' ({bp})", name)
        return bp, scope
    bp = os.path.normpath(os.path.join(os.path.dirname(p), os.path.expanduser(name)))
    if not os.path.isfile(bp):
        raise SpecError(f"{p}: _base_", f"base file not found ({bp})", name)
    return bp, None


def _load_bases(p: str, base_files: Any, stack: tuple) -> Dict[str, Any]:
    files = [base_files] if isinstance(base_files, str) else base_files
    if not isinstance(files, (list, tuple)) or not all(isinstance(x, str) for x in files):
        raise SpecError(f"{p}: _base_", "must be a file name or a list of file names", base_files)
    merged: Dict[str, Any] = {}
    for name in files:
        bp, scope = _base_path(p, name)
        d = _load(bp, stack + (p,))
        if scope is not None:
            d = _with_scope(d, scope)
        dup = sorted(set(merged) & set(d))
        if dup:
            raise SpecError(f"{p}: _base_", "duplicate keys among bases are not allowed (MMEngine raises "
                            "KeyError)", dup)
        merged.update(d)
    return merged


def _with_scope(v: Any, scope: str, has_scope: bool = True) -> Any:
    """MMEngine's ``_dict_to_config_dict``: the outermost dicts with a ``type`` of a base read
    through a package scope get ``_scope_``."""
    if isinstance(v, dict):
        out = dict(v)
        if has_scope and "type" in v:
            has_scope = False
            if out.get("_scope_") is None:
                out["_scope_"] = scope
        return {k: _with_scope(x, scope, has_scope) for k, x in out.items()}
    if isinstance(v, list):
        return [_with_scope(x, scope, has_scope) for x in v]
    if isinstance(v, tuple):
        return tuple(_with_scope(x, scope, has_scope) for x in v)
    return v


def _merge(a: Dict[str, Any], b: Any) -> Any:
    """MMEngine ``Config._merge_a_into_b``: child ``a`` into base ``b``. As there, ``_delete_`` is
    removed only where the base has the key; a dict whose key the base lacks keeps it. (MMEngine
    pops it in place, from a copy of each value: ``_substitute_base_vars`` deep-copies every
    dict of the child separately, so the child's aliasing does not carry a pop over.)"""
    if isinstance(b, Unreadable):
        return b
    out = dict(b)
    for k, v in a.items():
        if isinstance(v, dict):
            v = dict(v)
            if k in out and not v.pop("_delete_", False):
                if not isinstance(out[k], (dict, Unreadable)):
                    raise SpecError(str(k), "is a dict in the child config but not in the base; set "
                                    "_delete_=True to replace it", type(out[k]).__name__)
                out[k] = _merge(v, out[k])
            else:
                out[k] = v
        else:
            out[k] = v
    return out


class _CfgDict(dict):
    """What MMEngine's ``ConfigDict`` does to data, for the dicts of ``_base_``: storing a plain
    dict or list into one stores a converted copy, ``update`` merges nested dicts, ``pop``
    defaults to None, attribute access reads keys."""

    def __init__(self, *args: Any, **kw: Any):
        super().__init__()
        for a in args:
            for k, v in (a.items() if isinstance(a, dict) else a):
                dict.__setitem__(self, k, _hook(v))
        for k, v in kw.items():
            dict.__setitem__(self, k, _hook(v))

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, _hook(value))

    def update(self, *args: Any, **kw: Any) -> None:
        other: Dict[Any, Any] = {}
        for a in args:
            other.update(a)
        other.update(kw)
        for k, v in other.items():
            if k not in self or not isinstance(self[k], dict) or not isinstance(v, dict):
                self[k] = v
            else:
                self[k].update(v)

    def pop(self, key: Any, default: Any = None) -> Any:
        return dict.pop(self, key, default)

    def merge(self, other: Dict[Any, Any]) -> None:
        """``ConfigDict.merge``: ``other`` merged in recursively, ``_delete_=True`` replaces."""
        merged = _cfg_merge(_copy_mod.deepcopy(other), _copy_mod.deepcopy(self))
        self.clear()
        for k, v in merged.items():
            self[k] = v

    def copy(self) -> _CfgDict:
        out = _CfgDict()
        for k, v in self.items():
            dict.__setitem__(out, k, v)
        return out

    def __deepcopy__(self, memo: Dict[int, Any]) -> _CfgDict:
        out = _CfgDict()
        memo[id(self)] = out
        for k, v in self.items():
            dict.__setitem__(out, _copy_mod.deepcopy(k, memo), _copy_mod.deepcopy(v, memo))
        return out


_MISSING = object()


def _cfg_merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        if not isinstance(b, dict):
            a.pop("_delete_", None)
            return a
        if a.pop("_delete_", False):
            b.clear()
        keys = list(b.keys()) + list(a.keys())
        return {k: _cfg_merge(a.get(k, _MISSING), b.get(k, _MISSING)) for k in keys if k != "_delete_"}
    return a if a is not _MISSING else b


def _hook(v: Any) -> Any:
    if type(v) is dict:
        return _CfgDict(v)
    if isinstance(v, (list, tuple)) and not isinstance(v, Unreadable):
        return type(v)(_hook(x) for x in v)
    return v


class _Refused(Exception):
    def __init__(self, node: ast.AST, why: str):
        super().__init__(why)
        self.node = node
        self.why = why


class _Poisoned(Exception):
    """An expression reached an :class:`Unreadable` value: it is unreadable for the same reason."""

    def __init__(self, u: Unreadable):
        super().__init__(u.why)
        self.u = u


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _result_bits(op: ast.operator, a: int, b: int) -> int:
    """An upper bound on the bits of ``a op b`` for ints, computed without computing it."""
    la, lb = a.bit_length(), b.bit_length()
    if isinstance(op, ast.Pow):
        return 0 if b < 0 or la <= 1 else la * b
    if isinstance(op, ast.Mult):
        return la + lb
    if isinstance(op, ast.LShift):
        return la + max(b, 0)
    return max(la, lb) + 1


def _isnum(v: Any) -> bool:
    return isinstance(v, (int, float))


def _count(v: Any) -> int:
    """Items in a container (the work of building or walking it)."""
    return len(v) if isinstance(v, (list, tuple, dict, set, str, range)) else 1


class _Eval:
    """Evaluates expressions over the file's variables (``env``) and ``_base_`` (``base``).

    Values are plain Python data shared as Python shares them (``b = a`` is the same dict),
    so in-place changes (``a['k'] = 1``, ``a.update(...)``, ``_base_.x.y = 1``) behave as
    when the file runs."""

    def __init__(self, base: Dict[str, Any], p: str = ""):
        self.env: Dict[str, Any] = {}
        self.base = base
        self.p = p
        self.scopes: List[Dict[str, Any]] = []
        self.work = 0  # this statement's
        self.file_work = 0

    def tick(self, node: ast.AST, n: int = 1) -> None:
        self.work += n
        if self.work > MAX_WORK:
            raise _Refused(node, f"reading it takes too much work (more than {MAX_WORK:,} steps)")

    def start(self, node: ast.AST) -> None:
        """A new top-level statement: its own work budget, within the file's."""
        self.file_work += self.work
        self.work = 0
        if self.file_work > MAX_FILE_WORK:
            raise _Refused(node, f"reading the file takes too much work (more than {MAX_FILE_WORK:,} steps)")

    def __call__(self, node: ast.AST) -> Any:
        self.tick(node)
        m = getattr(self, "_" + type(node).__name__, None)
        if m is None:
            raise _Refused(node, f"{type(node).__name__} expressions are not read without {_hint()}")
        v = m(node)
        if isinstance(v, Unreadable):
            raise _Poisoned(v)
        return v

    # -- atoms -------------------------------------------------------------------------------
    def _Constant(self, node: ast.Constant) -> Any:
        v = node.value
        if v is Ellipsis or isinstance(v, (bytes, complex)):
            raise _Refused(node, "unsupported constant")
        return v

    def _Name(self, node: ast.Name) -> Any:
        for scope in reversed(self.scopes):
            if node.id in scope:
                return scope[node.id]
        if node.id in self.env:
            return self.env[node.id]
        if node.id == "_base_":
            return self.base
        if node.id == "__name__":  # MMEngine runs the file with no __name__ of its own
            return "builtins"
        if node.id in _BUILTINS:
            return _Builtin(node.id)
        raise _Refused(node, f"name '{node.id}' is not assigned earlier in the file")

    def _Attribute(self, node: ast.Attribute) -> Any:
        val = self(node.value)
        if isinstance(val, _Module):
            fn = _MODULES[val.name].get(node.attr)
            if fn is None:
                raise _Refused(node, f"'{val.name}.{node.attr}' is not read (only {val.name}."
                               f"{', '.join(_MODULES[val.name])})")
            return _Builtin(fn)
        if isinstance(val, _CfgDict):
            if node.attr not in val:
                raise _Refused(node, f"'{ast.unparse(node.value)}' has no key '{node.attr}'")
            return val[node.attr]
        raise _Refused(node, f"attribute access on a {type(val).__name__} is not read (MMEngine reads keys as "
                       "attributes only on _base_ and what comes from it)")

    def _List(self, node: ast.List) -> Any:
        return self._items(node.elts)

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self._items(node.elts))

    def _items(self, elts: List[ast.expr]) -> List[Any]:
        out: List[Any] = []
        for e in elts:
            if isinstance(e, ast.Starred):
                seq = self._iterable(e, self(e.value))
                self.tick(e, len(seq))
                out.extend(seq)
            else:
                out.append(self(e))
        return out

    def _Set(self, node: ast.Set) -> Any:
        return self._set(node, self._items(node.elts))

    @staticmethod
    def _set(node: ast.AST, items: Any) -> Set[Any]:
        try:
            return set(items)
        except TypeError:
            raise _Refused(node, "a set item must be hashable (a number or a string)") from None

    def _Dict(self, node: ast.Dict) -> Any:
        out: Dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values):
            if k is None:  # {**other}
                other = self(v)
                if not isinstance(other, dict):
                    raise _Refused(v, "** needs a dict")
                self.tick(v, len(other))
                out.update(other)
            else:
                self._put(k, out, self(k), self(v))
        return out

    @staticmethod
    def _put(node: ast.AST, d: Dict[Any, Any], key: Any, val: Any) -> None:
        try:
            d[key] = val
        except TypeError:
            raise _Refused(node, f"a {type(key).__name__} cannot be a dict key") from None

    def _JoinedStr(self, node: ast.JoinedStr) -> Any:
        parts = [self(v) for v in node.values]
        return self._str(node, "".join(parts))

    def _FormattedValue(self, node: ast.FormattedValue) -> Any:
        v = self(node.value)
        if not isinstance(v, _SCALARS + (list, tuple, dict)):
            raise _Refused(node, f"formatting a {type(v).__name__} is not read")
        spec = self(node.format_spec) if node.format_spec is not None else ""
        self._check_spec(node, spec)
        if node.conversion == ord("r"):
            v = repr(v)
        elif node.conversion == ord("s"):
            v = str(v)
        elif node.conversion == ord("a"):
            v = ascii(v)
        try:
            return self._str(node, format(v, spec))
        except (TypeError, ValueError) as e:
            raise _Refused(node, f"bad format ({e})") from None

    def _check_spec(self, node: ast.AST, spec: str) -> None:
        widths = [int(w) for w in re.findall(r"\d+", spec)]
        if any(w > 1000 for w in widths):
            raise _Refused(node, "a format width or precision over 1000 is not read")

    def _str(self, node: ast.AST, s: Any) -> Any:
        if isinstance(s, str):
            if len(s) > MAX_STR:
                raise _Refused(node, f"the result is too large (a str of more than {MAX_STR:,} characters)")
            self.tick(node, len(s) // 64)
        return s

    # -- operators ---------------------------------------------------------------------------
    def _BinOp(self, node: ast.BinOp) -> Any:
        return self._binop(node, node.op, self(node.left), self(node.right))

    def _binop(self, node: ast.AST, opn: ast.operator, a: Any, b: Any) -> Any:
        op = _BIN.get(type(opn))
        if op is None:
            raise _Refused(node, f"operator {type(opn).__name__} is not read")
        seq = (list, tuple, str)
        ok = (_isnum(a) and _isnum(b)) or (type(a) is type(b) and isinstance(a, seq) and isinstance(opn, ast.Add))
        if isinstance(opn, ast.Mult) and ((isinstance(a, seq) and _int(b)) or (isinstance(b, seq) and _int(a))):
            s, k = (a, b) if isinstance(a, seq) else (b, a)
            if max(k, 0) * len(s) > (MAX_STR if isinstance(s, str) else MAX_VALUES):
                raise _Refused(node, f"the result is too large (a {type(s).__name__} of more than "
                               f"{MAX_STR if isinstance(s, str) else MAX_VALUES:,} items)")
            ok = True
        if isinstance(opn, (ast.LShift, ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor)):
            ok = _int(a) and _int(b) or (isinstance(a, bool) and isinstance(b, bool))
            if isinstance(opn, (ast.LShift, ast.RShift)) and ok and (b < 0 or b > MAX_INT_BITS):
                raise _Refused(node, f"a shift ({_SYM[type(opn)]}) by {b} is not read (at most {MAX_INT_BITS})")
        if isinstance(opn, ast.Mod) and isinstance(a, str):
            raise _Refused(node, "% formatting of a str is not read (use an f-string or str.format)")
        if not ok:
            raise _Refused(node, f"arithmetic on {type(a).__name__} and {type(b).__name__} is not read")
        if isinstance(opn, ast.Pow) and _isnum(b) and abs(b) > 1000:
            raise _Refused(node, "exponent too large")
        if _int(a) and _int(b) and _result_bits(opn, a, b) > MAX_INT_BITS:
            raise _Refused(node, f"the result is too large (an integer of more than {MAX_INT_BITS} bits)")
        try:
            out = op(a, b)
        except (ArithmeticError, ValueError) as e:
            raise _Refused(node, f"arithmetic fails ({e})") from None
        self.tick(node, _count(out) if isinstance(out, (list, tuple, str)) else 0)
        return self._str(node, out)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        op = _UNARY.get(type(node.op))
        v = self(node.operand)
        if isinstance(node.op, ast.Not):
            return not v
        if op is None or not _isnum(v) or (isinstance(node.op, ast.Invert) and not _int(v)):
            raise _Refused(node, "unsupported unary operator")
        return op(v)

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        v: Any = None
        for e in node.values:
            v = self(e)
            if isinstance(node.op, ast.And) and not v:
                return v
            if isinstance(node.op, ast.Or) and v:
                return v
        return v

    def _Compare(self, node: ast.Compare) -> Any:
        a = self(node.left)
        for opn, e in zip(node.ops, node.comparators):
            b = self(e)
            self._comparable(node, a, b)
            try:
                ok = _CMP[type(opn)](a, b)
            except TypeError as ex:
                raise _Refused(node, f"comparison fails ({ex})") from None
            if not ok:
                return False
            a = b
        return True

    def _comparable(self, node: ast.AST, a: Any, b: Any) -> None:
        for v in (a, b):
            if not isinstance(v, _SCALARS + (list, tuple, dict, set)):
                raise _Refused(node, f"comparing a {type(v).__name__} is not read")
            self.tick(node, _count(v))

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self(node.body) if self(node.test) else self(node.orelse)

    def _Subscript(self, node: ast.Subscript) -> Any:
        val = self(node.value)
        sl: Any = node.slice
        if type(sl).__name__ == "Index":  # Python 3.8
            sl = sl.value  # pragma: no cover
        if isinstance(sl, ast.Slice):
            lo = self(sl.lower) if sl.lower else None
            hi = self(sl.upper) if sl.upper else None
            st = self(sl.step) if sl.step else None
            if not isinstance(val, (list, tuple, str)):
                raise _Refused(node, "slicing needs a list, tuple or str")
            try:
                out = val[lo:hi:st]
            except (TypeError, ValueError) as e:
                raise _Refused(node, f"bad slice ({e})") from None
            self.tick(node, len(out))
            return out
        key = self(sl)
        if not isinstance(val, (list, tuple, dict, str)):
            raise _Refused(node, f"indexing a {type(val).__name__} is not read")
        try:
            return val[key]
        except (KeyError, IndexError, TypeError):
            raise _Refused(node, f"no item {key!r}") from None

    # -- comprehensions ----------------------------------------------------------------------
    def _iterable(self, node: ast.AST, v: Any) -> Any:
        if isinstance(v, dict):
            return list(v)
        if isinstance(v, (list, tuple, str, range, set)):
            return v
        raise _Refused(node, f"iterating over a {type(v).__name__} is not read")

    def _comp(self, node: Any, gens: List[ast.comprehension], emit: Callable[[], None]) -> None:
        def loop(i: int) -> None:
            if i == len(gens):
                emit()
                return
            g = gens[i]
            if getattr(g, "is_async", 0):
                raise _Refused(node, "async comprehensions are not read")
            for item in self._iterable(g.iter, self(g.iter)):
                self.tick(g)
                _bind(g.target, item, self.scopes[-1], lambda n, why: _Refused(n, why))
                if all(self(c) for c in g.ifs):
                    loop(i + 1)

        self.scopes.append({})
        try:
            loop(0)
        finally:
            self.scopes.pop()

    def _ListComp(self, node: ast.ListComp) -> Any:
        out: List[Any] = []
        self._comp(node, node.generators, lambda: out.append(self(node.elt)))
        return out

    def _GeneratorExp(self, node: ast.GeneratorExp) -> Any:
        return tuple(self._ListComp(node))  # type: ignore[arg-type]

    def _SetComp(self, node: ast.SetComp) -> Any:
        return self._set(node, self._ListComp(node))  # type: ignore[arg-type]

    def _DictComp(self, node: ast.DictComp) -> Any:
        out: Dict[Any, Any] = {}
        self._comp(node, node.generators, lambda: self._put(node, out, self(node.key), self(node.value)))
        return out

    # -- calls -------------------------------------------------------------------------------
    def _refuse_call(self, node: ast.Call) -> _Refused:
        what = ast.unparse(node.func)
        return _Refused(node, f"calling {what}(...) would execute code; only the built-ins "
                        f"{', '.join(_BUILTINS)}, copy.deepcopy and methods of dicts, lists and strings are read "
                        f"(use {_hint()} to execute the config)")

    def _Call(self, node: ast.Call) -> Any:
        fn = node.func
        if isinstance(fn, ast.Attribute):
            recv = self(fn.value)
            if not isinstance(recv, _Module):
                return self._method(node, recv, fn.attr)
        if not isinstance(fn, (ast.Name, ast.Attribute)):
            raise self._refuse_call(node)
        try:
            f = self(fn)
        except _Refused:
            raise self._refuse_call(node) from None
        if not isinstance(f, _Builtin):
            raise self._refuse_call(node)
        return self._builtin(node, f.name, self._items(node.args), self._keywords(node))

    def _keywords(self, node: ast.Call) -> Dict[str, Any]:
        """A call's keyword arguments, ``**`` unpacking included (a dict with str keys, as Python needs)."""
        kw: Dict[str, Any] = {}
        for k in node.keywords:
            if k.arg is None:
                more = self(k.value)
                if not isinstance(more, dict) or not all(isinstance(x, str) for x in more):
                    raise _Refused(k.value, "** needs a dict with str keys")
                kw.update(more)
            else:
                kw[k.arg] = self(k.value)
        return kw

    def _method(self, node: ast.Call, recv: Any, name: str) -> Any:
        allowed = next((m for t, m in _METHODS.items() if isinstance(recv, t)), set())
        if name not in allowed:
            raise self._refuse_call(node)
        args, kw = self._items(node.args), self._keywords(node)
        for a in list(args) + list(kw.values()):
            self.tick(node, _count(a))
        if isinstance(recv, str):
            self._str_bound(node, recv, name, args, kw)
        try:
            out = getattr(recv, name)(*args, **kw)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            raise _Refused(node, f"{type(recv).__name__}.{name}(...) fails ({e})") from None
        if name in ("keys", "values", "items"):
            out = list(out)
        self.tick(node, _count(out))
        return self._str(node, out)

    def _str_bound(self, node: ast.AST, s: str, name: str, args: List[Any], kw: Dict[str, Any]) -> None:
        """Refuse a str method whose result could be huge, before calling it."""
        if name == "format":
            self._check_spec(node, s)
            if not all(isinstance(a, _SCALARS + (list, tuple, dict)) for a in list(args) + list(kw.values())):
                raise _Refused(node, "str.format of something other than data is not read")
            if re.search(r"\{[^}]*[.\[]", s):
                raise _Refused(node, "attribute or item access inside str.format is not read")
        if name in ("zfill", "ljust", "rjust", "center") and args and _int(args[0]) and args[0] > MAX_STR:
            raise _Refused(node, f"the result is too large (a str of more than {MAX_STR:,} characters)")
        if name == "replace" and len(args) >= 2 and isinstance(args[1], str):
            grow = (s.count(args[0]) if isinstance(args[0], str) and args[0] else len(s) + 1) * len(args[1])
            if len(s) + grow > MAX_STR:
                raise _Refused(node, f"the result is too large (a str of more than {MAX_STR:,} characters)")
        if name == "join" and args and isinstance(args[0], (list, tuple)):
            total = sum(len(x) for x in args[0] if isinstance(x, str)) + len(s) * len(args[0])
            if total > MAX_STR:
                raise _Refused(node, f"the result is too large (a str of more than {MAX_STR:,} characters)")

    def _builtin(self, node: ast.Call, name: str, args: List[Any], kw: Dict[str, Any]) -> Any:
        for a in list(args) + list(kw.values()):
            if isinstance(a, (_Builtin, _Module)):
                raise _Refused(node, f"passing a function to {name}(...) is not read")
            self.tick(node, _count(a))
        if name == "dict":
            if len(args) > 1:
                raise _Refused(node, "dict(...) takes at most one positional argument")
            d: Dict[Any, Any] = {}
            if args:
                try:
                    d.update(args[0])
                except (TypeError, ValueError) as e:
                    raise _Refused(node, f"dict(...) fails ({e})") from None
            d.update(kw)
            return d
        if kw and name not in ("sorted", "round", "min", "max", "sum", "enumerate", "int"):
            raise _Refused(node, f"{name}(...) takes no keyword arguments here")
        if name == "range":
            if not (1 <= len(args) <= 3 and all(_int(a) for a in args)):
                raise _Refused(node, "range(...) needs one to three integers")
            try:
                r = range(*args)
            except ValueError as e:
                raise _Refused(node, f"range(...) fails ({e})") from None
            if len(r) > MAX_VALUES:
                raise _Refused(node, f"range(...) of {len(r):,} items is too large (at most {MAX_VALUES:,})")
            return r
        if name in ("deepcopy", "shallowcopy"):
            if len(args) != 1 or kw:
                raise _Refused(node, "copy.deepcopy(...) takes one argument")
            return _copy_mod.deepcopy(args[0]) if name == "deepcopy" else _copy_mod.copy(args[0])
        if name in ("list", "tuple", "set", "sorted", "reversed", "zip", "enumerate", "min", "max", "sum", "any",
                    "all", "len"):
            for a in args:
                if not isinstance(a, (list, tuple, dict, set, str, range)) and not (
                        name in ("min", "max") and len(args) > 1):
                    raise _Refused(node, f"{name}(...) of a {type(a).__name__} is not read")
        fn: Any = {"list": list, "tuple": tuple, "set": set, "len": len, "min": min, "max": max, "sum": sum,
                   "sorted": sorted, "zip": lambda *a: list(zip(*a)), "enumerate": lambda *a, **k: list(
                       enumerate(*a, **k)), "round": round, "int": int, "float": float, "str": str, "bool": bool,
                   "abs": abs, "reversed": lambda *a: list(reversed(*a)), "any": any, "all": all}[name]
        if name in ("int", "float", "str", "round", "abs", "bool"):
            if not all(isinstance(a, _SCALARS) for a in args):
                raise _Refused(node, f"{name}(...) of a container is not read")
            if name == "int" and args and isinstance(args[0], str) and len(args[0]) > 1000:
                raise _Refused(node, "int(...) of a long str is not read")
        if name == "round" and len(args) > 1 and _int(args[1]) and abs(args[1]) > 1000:
            raise _Refused(node, "round(...) to more than 1000 digits is not read")
        try:
            out: Any = fn(*args, **kw)
        except (TypeError, ValueError, ArithmeticError) as e:
            raise _Refused(node, f"{name}(...) fails ({e})") from None
        if name == "set":
            out = self._set(node, out)
        if _int(out) and out.bit_length() > MAX_INT_BITS:
            raise _Refused(node, f"the result is too large (an integer of more than {MAX_INT_BITS} bits)")
        if isinstance(out, float) and not math.isfinite(out) and name == "sum":
            return out
        self.tick(node, _count(out))
        return self._str(node, out)


def _sub_literal(pattern: str, text: str, src: str) -> str:
    return re.sub(pattern, lambda _m: text, src)


def _is_read_base(st: ast.stmt) -> bool:
    return isinstance(st, ast.With) and len(st.items) == 1 and isinstance(st.items[0].context_expr, ast.Call) \
        and isinstance(st.items[0].context_expr.func, ast.Name) and st.items[0].context_expr.func.id == "read_base"


def _module_file(p: str, imp: ast.ImportFrom) -> str:
    """The file ``from <module> import`` names inside ``read_base()`` (as MMEngine finds it)."""
    mod = imp.module or ""
    if imp.level > 0:
        path = os.path.join(os.path.dirname(p), *([".."] * (imp.level - 1)), mod.replace(".", os.sep) + ".py")
    else:
        top, _, rest = mod.partition(".")
        if not rest:
            raise SpecError(f"{p}:{imp.lineno}", "a base config must be a module of a package "
                            "(from mmdet.configs.x import *), not a package", mod)
        where = _installed_dir(top)
        if where is None:
            raise SpecError(f"{p}:{imp.lineno}", f"the base config is in the package '{top}', which is not "
                            "installed here; install it to read this config", mod)
        path = os.path.join(where, *rest.split(".")) + ".py"
    path = os.path.normpath(path)
    if not os.path.isfile(path):
        raise SpecError(f"{p}:{imp.lineno}", f"base config not found ({path})", mod)
    return path


def _parse(p: str) -> Tuple[str, ast.Module]:
    """The source of a ``.py`` config after MMEngine's text substitutions, and its tree."""
    from .ir.io import decode_utf8

    with open(p, "rb") as f:
        src = decode_utf8(f.read(), p)
    # MMEngine's text substitutions: predefined variables, then {{_base_.a.b}} -> the base value
    stem, ext = os.path.splitext(os.path.basename(p))
    for key, value in (("fileDirname", os.path.dirname(p)), ("fileBasename", os.path.basename(p)),
                       ("fileBasenameNoExtension", stem), ("fileExtname", ext)):
        src = _sub_literal(r"\{\{\s*" + key + r"\s*\}\}", value.replace("\\", "/"), src)
    src = _BASE_REF.sub(lambda m: "_base_." + m.group(1), src)
    try:
        tree = ast.parse(src, filename=p)
    except SyntaxError as e:
        raise SpecError(f"{p}:{e.lineno}", f"syntax error ({e.msg})", None, show_value=False) from None
    except ValueError as e:  # a NUL byte (Python 3.9 raises ValueError, not SyntaxError)
        raise SpecError(p, f"syntax error ({e})", None, show_value=False) from None
    except (RecursionError, MemoryError):
        raise SpecError(p, "is nested too deeply to parse (an expression of thousands of nested terms)", None,
                        show_value=False) from None
    return src, tree


def _load_py(p: str, stack: tuple) -> Dict[str, Any]:
    if p in stack:
        raise SpecError(p, "_base_ inheritance loops back to this file", list(stack))
    return _Module_reader(p, *_parse(p), stack).run()


class _Module_reader:
    """Runs the statements of one config file over :class:`_Eval` (data only)."""

    def __init__(self, p: str, src: str, tree: ast.Module, stack: tuple,
                 new_format: Optional[bool] = None):
        self.p, self.src, self.tree, self.stack = p, src, tree, stack
        self.lines = src.splitlines()
        self.new_format = new_format  # None: the file says (a `with read_base():` block)
        self.hidden: Set[str] = set()  # names bound by imports / def: not config variables

    def unreadable(self, node: ast.AST, why: str) -> Unreadable:
        line = getattr(node, "lineno", "?")
        text = self.lines[line - 1].strip() if isinstance(line, int) and 0 < line <= len(self.lines) else ""
        return Unreadable(f"{self.p}:{line}", why, text)

    def refuse(self, node: ast.AST, why: str) -> SpecError:
        return self.unreadable(node, why).error()

    def run(self) -> Dict[str, Any]:
        env = self.run_env()
        cfg = {k: v for k, v in env.items() if not k.startswith("__") and k not in self.hidden
               and not isinstance(v, (_Builtin, _Module))}
        if self.new_format:  # plain Python: what the file and its read_base() imports leave bound
            return cfg
        return _merge(cfg, self.ev.base)

    def run_env(self) -> Dict[str, Any]:
        """Run the statements; the variables they leave (``self.hidden``: names that are not config
        variables)."""
        from .ir.io import expanded_size

        self.size = expanded_size
        if self.new_format is None:
            self.new_format = any(_is_read_base(st) for st in self.tree.body)
        base: Dict[str, Any] = {}
        for st in self.tree.body:  # _base_ first (MMEngine reads it before running the file)
            if isinstance(st, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in st.targets):
                try:
                    files = _Eval({})(st.value)
                except (_Refused, _Poisoned) as e:
                    raise self.refuse(getattr(e, "node", st), str(e)) from None
                base = _load_bases(self.p, files, self.stack)
        self.ev = _Eval(_CfgDict(base), self.p)
        try:
            for i, st in enumerate(self.tree.body):
                if i == 0 and isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant):
                    continue  # docstring
                self.statement(st)
        except RecursionError:
            raise SpecError(self.p, "an expression is nested too deeply to read (thousands of nested terms)",
                            None, show_value=False) from None
        return self.ev.env

    # -- new-format configs: `with read_base(): from .._base_.x import *` ---------------------
    def read_base(self, st: ast.With) -> None:
        """MMEngine's ``read_base``: each ``from <module> import ...`` in the block is a config
        file read the same way (relative to this file, or under an installed package); its
        variables (as ConfigDicts) become names here."""
        for imp in st.body:
            if not isinstance(imp, ast.ImportFrom) or imp.module is None:
                raise SpecError(self.p + f":{imp.lineno}", "only `from <config module> import ...` is allowed "
                                "inside `with read_base():`", ast.unparse(imp))
            path = _module_file(self.p, imp)
            if path in self.stack + (self.p,):
                raise SpecError(path, "read_base() imports loop back to this file", list(self.stack + (self.p,)))
            sub = _Module_reader(path, *_parse(path), self.stack + (self.p,), new_format=True)
            env = {k: _hook(v) for k, v in sub.run_env().items()}
            names = [(a.name, a.asname or a.name) for a in imp.names]
            if names == [("*", "*")]:
                names = [(k, k) for k in env if not k.startswith("__")]
            for name, as_name in names:
                if name not in env:
                    raise SpecError(f"{self.p}:{imp.lineno}", f"the base config {path} has no variable '{name}'",
                                    ast.unparse(imp))
                self.ev.env[as_name] = env[name]
                if name in sub.hidden:
                    self.hidden.add(as_name)
                else:
                    self.hidden.discard(as_name)

    def lazy_import(self, st: ast.ImportFrom) -> None:
        """A new-format ``from pkg.mod import Name``: MMEngine records ``type=Name`` lazily as the
        string ``"pkg.mod.Name"``; nothing is imported."""
        for a in st.names:
            self.ev.env[a.asname or a.name] = f"{st.module}.{a.name}"
            self.hidden.add(a.asname or a.name)

    # -- statements --------------------------------------------------------------------------
    def statement(self, st: ast.stmt) -> None:
        try:
            self.ev.start(st)
            self._statement(st)
        except _Refused as e:
            self.skip(st, self.unreadable(e.node, e.why))
        except _Poisoned as e:
            self.skip(st, e.u)

    def _statement(self, st: ast.stmt) -> None:
        ev = self.ev
        if isinstance(st, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "_base_" for t in st.targets):
                return
            val = ev(st.value)
            if self.size(val, {}) > MAX_VALUES:
                raise _Refused(st, f"the value is too large (more than {MAX_VALUES} items once shared parts are "
                               "counted each time)")
            for t in st.targets:
                self.store(t, val)
        elif isinstance(st, ast.AnnAssign):
            if st.value is not None:
                self.store(st.target, ev(st.value))
        elif isinstance(st, ast.AugAssign):
            self.augassign(st)
        elif isinstance(st, ast.Expr):
            if isinstance(st.value, ast.Constant):
                return
            if not isinstance(st.value, ast.Call) or not isinstance(st.value.func, ast.Attribute):
                raise _Refused(st, f"a {type(st.value).__name__} expression statement cannot be read without "
                               "executing it")
            ev(st.value)  # a data method (d.update(...), l.append(...)): its effect is the point
        elif isinstance(st, ast.Delete):
            for t in st.targets:
                self.delete(t)
        elif isinstance(st, ast.If):
            for sub in (st.body if ev(st.test) else st.orelse):
                self.statement(sub)
        elif isinstance(st, ast.With) and _is_read_base(st):
            self.read_base(st)
        elif isinstance(st, ast.ImportFrom) and st.module == "mmengine.config" and self.new_format:
            self.hidden.update(a.asname or a.name for a in st.names)  # read_base itself
        elif isinstance(st, ast.ImportFrom) and self.new_format and st.level == 0 and st.module \
                and all(a.name != "*" for a in st.names):
            self.lazy_import(st)
        elif isinstance(st, ast.ImportFrom) and st.module in _TYPE_MODULES and st.level == 0 \
                and all(a.name != "*" for a in st.names):
            for a in st.names:  # a scheduler/optimizer class used as type=...: its name
                ev.env[a.asname or a.name] = a.name
                self.hidden.add(a.asname or a.name)
        elif isinstance(st, ast.Import) and all(a.name in _MODULES for a in st.names):
            for a in st.names:
                ev.env[a.asname or a.name] = _Module(a.name)
        elif isinstance(st, (ast.Import, ast.ImportFrom)):
            raise _Refused(st, f"imports are not executed without {_hint()} (a config could run any code)")
        elif isinstance(st, ast.Pass):
            return
        else:
            raise _Refused(st, f"a {type(st).__name__} statement cannot be read without executing it")

    def store(self, t: ast.AST, val: Any) -> None:
        ev = self.ev
        if isinstance(t, ast.Name):
            ev.env[t.id] = val
            self.hidden.discard(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            if not isinstance(val, (list, tuple)) or len(val) != len(t.elts):
                raise _Refused(t, "cannot unpack this value")
            for sub, v in zip(t.elts, val):
                self.store(sub, v)
        elif isinstance(t, ast.Subscript) and not isinstance(t.slice, ast.Slice):
            obj, key = ev(t.value), ev(t.slice)
            if isinstance(obj, dict):
                _Eval._put(t, obj, key, val)
            elif isinstance(obj, list) and _int(key) and -len(obj) <= key < len(obj):
                obj[key] = val
            else:
                raise _Refused(t, f"cannot set item {key!r} of a {type(obj).__name__}")
        elif isinstance(t, ast.Attribute):
            obj = ev(t.value)
            if not isinstance(obj, _CfgDict):
                raise _Refused(t, "attributes are only set on _base_ and what comes from it (a plain dict has "
                               "none)")
            obj[t.attr] = val
        else:
            raise _Refused(t, "only names, items and attributes of dicts can be assigned")

    def delete(self, t: ast.AST) -> None:
        ev = self.ev
        if isinstance(t, ast.Name):
            if t.id not in ev.env:
                raise _Refused(t, f"name '{t.id}' is not assigned earlier in the file")
            del ev.env[t.id]
            return
        if isinstance(t, ast.Attribute):
            obj, key = ev(t.value), t.attr
            if not isinstance(obj, _CfgDict):
                raise _Refused(t, "attributes are only deleted on _base_ and what comes from it")
        elif isinstance(t, ast.Subscript) and not isinstance(t.slice, ast.Slice):
            obj, key = ev(t.value), ev(t.slice)
        else:
            raise _Refused(t, "only names, items and attributes of dicts can be deleted")
        try:
            del obj[key]
        except (KeyError, IndexError, TypeError):
            raise _Refused(t, f"no item {key!r} to delete") from None

    def augassign(self, st: ast.AugAssign) -> None:
        ev = self.ev
        load = _as_load(st.target)
        cur = ev(load)
        rhs = ev(st.value)
        if isinstance(cur, list) and isinstance(st.op, ast.Add):  # list += extends in place
            if not isinstance(rhs, (list, tuple)):
                raise _Refused(st, "+= on a list needs a list or tuple")
            ev.tick(st, len(rhs))
            cur.extend(rhs)
            return
        self.store(st.target, ev._binop(st, st.op, cur, rhs))

    # -- what a statement that cannot be read leaves behind --------------------------------
    def skip(self, st: ast.stmt, u: Unreadable) -> None:
        """``st`` is not run: the names it sets become ``u``, and so does every value holding
        data it might have changed (what it names, when it calls something or sets an item)."""
        seen = _SKIPPED.get()
        where = f"{self.p}:{st.lineno}"
        if seen is not None and where not in seen:
            seen.append(where)
        env = self.ev.env
        for name in _stored_names(st):
            env[name] = u
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            self.hidden.update(_stored_names(st))
        mutates = any(isinstance(n, ast.Call) for n in ast.walk(st)) or any(
            isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, (ast.Store, ast.Del))
            for n in ast.walk(st))
        if not mutates:
            return
        touched: Set[int] = set()
        for n in ast.walk(st):
            if isinstance(n, (ast.Name, ast.Attribute, ast.Subscript)):
                try:
                    v = self.ev(_as_load(n))
                except (_Refused, _Poisoned, RecursionError):
                    continue
                if isinstance(v, (dict, list, set)):
                    touched.add(id(v))
        if touched:
            self._poison_holders(touched, u)

    def _poison_holders(self, touched: Set[int], u: Unreadable) -> None:
        env, base = self.ev.env, self.ev.base
        if id(base) in touched:
            for k in list(base):
                base[k] = u
            return
        for holder in (env, base):
            for k, v in list(holder.items()):
                if _holds(v, touched, set()):
                    holder[k] = u


def _holds(v: Any, ids: Set[int], seen: Set[int]) -> bool:
    if id(v) in ids:
        return True
    if not isinstance(v, (dict, list, tuple)) or id(v) in seen:
        return False
    seen.add(id(v))
    items = v.values() if isinstance(v, dict) else v
    return any(_holds(x, ids, seen) for x in items)


def _stored_names(st: ast.stmt) -> List[str]:
    if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [st.name]
    if isinstance(st, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in st.names if a.name != "*"]
    out: List[str] = []
    todo: List[ast.AST] = [st]
    while todo:  # not into nested function bodies (their names are local)
        n = todo.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.append(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not st:
            out.append(n.name)
            continue
        elif isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(n))
    return out


def _as_load(n: ast.AST) -> ast.expr:
    """The same target read instead of written (``d['k'] += 1`` reads ``d['k']`` first)."""
    if isinstance(n, ast.Name):
        return ast.copy_location(ast.Name(id=n.id, ctx=ast.Load()), n)
    if isinstance(n, ast.Attribute):
        return ast.copy_location(ast.Attribute(value=n.value, attr=n.attr, ctx=ast.Load()), n)
    if isinstance(n, ast.Subscript):
        return ast.copy_location(ast.Subscript(value=n.value, slice=n.slice, ctx=ast.Load()), n)
    assert isinstance(n, ast.expr)
    return n


def _bind(t: ast.AST, val: Any, env: Dict[str, Any], refuse: Callable[[ast.AST, str], Exception]) -> None:
    if isinstance(t, ast.Name):
        env[t.id] = val
    elif isinstance(t, (ast.Tuple, ast.List)):
        if not isinstance(val, (list, tuple)) or len(val) != len(t.elts):
            raise refuse(t, "cannot unpack this value")
        for sub, v in zip(t.elts, val):
            _bind(sub, v, env, refuse)
    else:
        raise refuse(t, "only plain names can be assigned")


def _trusted_or_error(p: str) -> Dict[str, Any]:
    """Execute the config (``trust=True``); a failure of its own code is a ``SpecError`` naming the
    file and line, a module it imports that is not installed is named as such."""
    import sys

    try:
        return _trusted(p)
    except SpecError:
        raise
    except Exception as e:  # the config's own code failed: report it, as a bad input
        where = p
        tb = e.__traceback__
        while tb is not None:  # the innermost frame in a config file (the file or one of its bases)
            fname = tb.tb_frame.f_code.co_filename
            if fname.endswith(".py") and os.path.isfile(fname) and not fname.startswith(sys.prefix):
                where = f"{fname}:{tb.tb_lineno}"
            tb = tb.tb_next
        if isinstance(e, ModuleNotFoundError) and e.name:
            raise SpecError(where, f"executing the config ({_hint()}) needs the package '{e.name.split('.')[0]}', "
                            f"which is not installed here (No module named {e.name!r}); install it, or read the "
                            f"config without {_hint()}", None, show_value=False) from None
        msg = str(e).splitlines()[0] if str(e) else ""
        raise SpecError(where, f"executing the config ({_hint()}) failed: {type(e).__name__}: {msg}",
                        None, show_value=False) from None


def _trusted(p: str) -> Dict[str, Any]:
    try:
        from mmengine.config import Config
    except ImportError:
        Config = None
    if Config is not None:
        with open(p, "rb") as f:  # a new-format file (`with read_base():`) is run with its lazy imports
            lazy = any(_is_read_base(st) for st in ast.parse(f.read(), p).body)
        cfg = Config.fromfile(p, lazy_import=lazy)
        out = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg._cfg_dict.to_dict())
        return {k: v for k, v in out.items() if not k.startswith("__")}
    import runpy
    import types

    env = runpy.run_path(p)
    raw = {k: v for k, v in env.items()
           if not k.startswith("__") and not isinstance(v, (types.ModuleType, types.FunctionType, type))}
    base_files = raw.pop("_base_", None)
    base = _load_bases(p, base_files, (p,)) if base_files is not None else {}
    return _merge(raw, base)
