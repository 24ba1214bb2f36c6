"""Read MMEngine-style configs (.py, .json, .yaml) without executing them.

A ``.py`` config is parsed with :mod:`ast` and evaluated literally: numbers, strings,
lists, tuples, dicts, ``dict(...)`` calls, names assigned earlier in the file,
arithmetic, ``_base_`` inheritance (merged as MMEngine merges: nested dicts merge,
``_delete_=True`` replaces) and ``_base_.x`` / ``{{_base_.x}}`` references. Anything
else (imports, calls, loops, ...) is refused with file, line and reason, and nothing
runs. ``trust=True`` executes the file instead (``mmengine.Config.fromfile`` when
installed, else :mod:`runpy`).
"""

from __future__ import annotations

import ast
import json
import operator
import os
import re
from typing import Any, Callable, Dict, List, Set, Union

from .errors import SpecError

__all__ = ["load_config"]

PathLike = Union[str, "os.PathLike[str]"]

_BIN: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: Dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos,
                                            ast.Not: operator.not_}
#: ``from X import Name`` binds Name to the string "Name" (a scheduler / optimizer type)
_TYPE_MODULES = ("mmengine.optim", "mmengine.optim.scheduler", "mmengine.optim.scheduler.lr_scheduler",
                 "mmengine.optim.scheduler.momentum_scheduler", "mmengine.optim.scheduler.param_scheduler",
                 "mmengine.optim.optimizer", "torch.optim", "torch.optim.lr_scheduler")
_BASE_REF = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")


def load_config(path: PathLike, *, trust: bool = False) -> Dict[str, Any]:
    """Top-level variables of a config (``param_scheduler``, ``optim_wrapper``, ``train_cfg``...).

    Without ``trust`` nothing in the file is executed; what cannot be read literally
    raises :class:`SpecError` naming file, line and why.
    """
    p = os.path.abspath(os.fspath(path))
    if os.path.isdir(p):
        raise SpecError("path", "is a directory, not a config file", os.fspath(path))
    if not os.path.isfile(p):
        raise SpecError("path", "no such config file", os.fspath(path))
    if trust and p.endswith(".py"):
        try:
            return _trusted(p)
        except SpecError:
            raise
        except Exception as e:  # the config's own code failed: report it, as a bad input
            msg = str(e).splitlines()[0] if str(e) else ""
            raise SpecError(p, f"executing the config (--trust / trust=True) failed: {type(e).__name__}: {msg}",
                            None, show_value=False) from None
    return _load(p, stack=())


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
        return _strip_delete(_merge(raw, base))
    raise SpecError(p, "config files must end in .py, .json, .yaml or .yml", ext, show_value=True)


def _load_bases(p: str, base_files: Any, stack: tuple) -> Dict[str, Any]:
    files = [base_files] if isinstance(base_files, str) else base_files
    if not isinstance(files, (list, tuple)) or not all(isinstance(x, str) for x in files):
        raise SpecError(f"{p}: _base_", "must be a file name or a list of file names", base_files)
    merged: Dict[str, Any] = {}
    for name in files:
        bp = os.path.normpath(os.path.join(os.path.dirname(p), os.path.expanduser(name)))
        if not os.path.isfile(bp):
            raise SpecError(f"{p}: _base_", f"base file not found ({bp})", name)
        d = _load(bp, stack + (p,))
        dup = sorted(set(merged) & set(d))
        if dup:
            raise SpecError(f"{p}: _base_", "duplicate keys among bases are not allowed (MMEngine raises "
                            "KeyError)", dup)
        merged.update(d)
    return merged


def _merge(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]:
    """MMEngine ``Config._merge_a_into_b``: child ``a`` into base ``b``."""
    out = dict(b)
    for k, v in a.items():
        if isinstance(v, dict):
            v = dict(v)
            if k in out and not v.pop("_delete_", False):
                if not isinstance(out[k], dict):
                    raise SpecError(str(k), "is a dict in the child config but not in the base; set "
                                    "_delete_=True to replace it", type(out[k]).__name__)
                out[k] = _merge(v, out[k])
            else:
                out[k] = v
        else:
            out[k] = v
    return out


def _strip_delete(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_delete(x) for k, x in v.items() if k != "_delete_"}
    if isinstance(v, list):
        return [_strip_delete(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_strip_delete(x) for x in v)
    return v


class _Refused(Exception):
    def __init__(self, node: ast.AST, why: str):
        super().__init__(why)
        self.node = node
        self.why = why


class _Eval:
    def __init__(self, base: Dict[str, Any]):
        self.env: Dict[str, Any] = {}
        self.base = base

    def __call__(self, node: ast.AST) -> Any:
        m = getattr(self, "_" + type(node).__name__, None)
        if m is None:
            raise _Refused(node, f"{type(node).__name__} expressions are not read without trust=True")
        return m(node)

    def _Constant(self, node: ast.Constant) -> Any:
        v = node.value
        if v is Ellipsis or isinstance(v, bytes):
            raise _Refused(node, "unsupported constant")
        return v

    def _base_path(self, node: ast.AST, parts: List[str]) -> Any:
        cur: Any = self.base
        for i, p in enumerate(parts):
            if isinstance(cur, dict) and p in cur:
                cur = cur[p]
            elif isinstance(cur, (list, tuple)) and p.isdigit() and int(p) < len(cur):
                cur = cur[int(p)]
            else:
                raise _Refused(node, f"the base config has no '_base_.{'.'.join(parts[: i + 1])}'")
        return _copy(cur)

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            return _copy(self.env[node.id])
        if node.id == "_base_":
            return _copy(self.base)
        if node.id in ("True", "False", "None"):  # pragma: no cover - Constant on 3.8+
            return {"True": True, "False": False, "None": None}[node.id]
        raise _Refused(node, f"name '{node.id}' is not assigned earlier in the file")

    def _Attribute(self, node: ast.Attribute) -> Any:
        parts: List[str] = []
        cur: ast.AST = node
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name) and cur.id == "_base_":
            return self._base_path(node, parts[::-1])
        if isinstance(cur, ast.Name) and cur.id in self.env and isinstance(self.env[cur.id], dict):
            val: Any = self.env[cur.id]
            for p in parts[::-1]:
                if not isinstance(val, dict) or p not in val:
                    raise _Refused(node, f"'{cur.id}' has no key '{p}'")
                val = val[p]
            return _copy(val)
        raise _Refused(node, "attribute access is only read on _base_ and on dicts of this file")

    def _List(self, node: ast.List) -> Any:
        return [self(e) for e in node.elts]

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self(e) for e in node.elts)

    def _Set(self, node: ast.Set) -> Any:
        items = [self(e) for e in node.elts]
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
                out.update(other)
            else:
                key = self(k)
                try:
                    out[key] = self(v)
                except TypeError:
                    raise _Refused(k, f"a {type(key).__name__} cannot be a dict key") from None
        return out

    def _Call(self, node: ast.Call) -> Any:
        fn = node.func
        if not (isinstance(fn, ast.Name) and fn.id in ("dict", "list", "tuple") and fn.id not in self.env):
            what = ast.unparse(fn) if hasattr(ast, "unparse") else type(fn).__name__
            raise _Refused(node, f"calling {what}(...) would execute code; only dict(...), list(...) and "
                           "tuple(...) are read (use trust=True to execute the config)")
        args = [self(a) for a in node.args]
        if fn.id == "dict":
            out: Dict[str, Any] = {}
            if len(args) > 1:
                raise _Refused(node, "dict(...) takes at most one positional argument")
            if args:
                out.update(args[0])
            for kw in node.keywords:
                if kw.arg is None:
                    out.update(self(kw.value))
                else:
                    out[kw.arg] = self(kw.value)
            return out
        if node.keywords or len(args) > 1:
            raise _Refused(node, f"{fn.id}(...) takes one positional argument here")
        seq = args[0] if args else []
        if not isinstance(seq, (list, tuple)):
            raise _Refused(node, f"{fn.id}(...) of a {type(seq).__name__} is not read")
        return list(seq) if fn.id == "list" else tuple(seq)

    def _BinOp(self, node: ast.BinOp) -> Any:
        op = _BIN.get(type(node.op))
        if op is None:
            raise _Refused(node, f"operator {type(node.op).__name__} is not read")
        a, b = self(node.left), self(node.right)
        ok = (_isnum(a) and _isnum(b)) or (type(a) is type(b) and isinstance(a, (list, tuple, str))
                                           and isinstance(node.op, ast.Add))
        if isinstance(node.op, ast.Mult) and ((isinstance(a, (list, tuple)) and _isint(b))
                                              or (isinstance(b, (list, tuple)) and _isint(a))):
            ok = True
        if not ok:
            raise _Refused(node, f"arithmetic on {type(a).__name__} and {type(b).__name__} is not read")
        if isinstance(node.op, ast.Pow) and _isnum(b) and abs(b) > 1000:
            raise _Refused(node, "exponent too large")
        if _int(a) and _int(b) and _result_bits(node.op, a, b) > MAX_INT_BITS:
            raise _Refused(node, f"the result is too large (an integer of more than {MAX_INT_BITS} bits)")
        try:
            return op(a, b)
        except (ArithmeticError, ValueError) as e:
            raise _Refused(node, f"arithmetic fails ({e})") from None

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        op = _UNARY.get(type(node.op))
        v = self(node.operand)
        if op is None or (not _isnum(v) and not isinstance(node.op, ast.Not)):
            raise _Refused(node, "unsupported unary operator")
        return op(v)

    def _Subscript(self, node: ast.Subscript) -> Any:
        val = self(node.value)
        sl: Any = node.slice
        if type(sl).__name__ == "Index":  # Python 3.8
            sl = sl.value  # pragma: no cover
        if isinstance(sl, ast.Slice):
            lo = self(sl.lower) if sl.lower else None
            hi = self(sl.upper) if sl.upper else None
            st = self(sl.step) if sl.step else None
            if not isinstance(val, (list, tuple)):
                raise _Refused(node, "slicing needs a list")
            try:
                return val[lo:hi:st]
            except (TypeError, ValueError) as e:
                raise _Refused(node, f"bad slice ({e})") from None
        key = self(sl)
        try:
            return _copy(val[key])
        except (KeyError, IndexError, TypeError):
            raise _Refused(node, f"no item {key!r}") from None


#: Largest integer the literal reader computes, and most values one assignment may expand to.
MAX_INT_BITS = 4096
MAX_VALUES = 1_000_000


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _result_bits(op: ast.operator, a: int, b: int) -> int:
    """An upper bound on the bits of ``a op b`` for ints, computed without computing it."""
    la, lb = a.bit_length(), b.bit_length()
    if isinstance(op, ast.Pow):
        return 0 if b < 0 or la <= 1 else la * b
    if isinstance(op, ast.Mult):
        return la + lb
    return max(la, lb) + 1


def _isnum(v: Any) -> bool:
    return isinstance(v, (int, float))


def _isint(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v


def _load_py(p: str, stack: tuple) -> Dict[str, Any]:
    from .ir.io import decode_utf8, expanded_size

    with open(p, "rb") as f:
        src = decode_utf8(f.read(), p)
    # MMEngine's text substitution: {{_base_.a.b}} -> the base value
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
    try:
        return _eval_module(p, src, tree, stack, expanded_size)
    except RecursionError:
        raise SpecError(p, "an expression is nested too deeply to read (thousands of nested terms)", None,
                        show_value=False) from None


def _eval_module(p: str, src: str, tree: ast.Module, stack: tuple, size: Callable[[Any, Dict[int, int]], int]
                 ) -> Dict[str, Any]:
    def refuse(node: ast.AST, why: str) -> SpecError:
        line = getattr(node, "lineno", "?")
        text = src.splitlines()[line - 1].strip() if isinstance(line, int) else ""
        return SpecError(f"{p}:{line}", f"{why}; nothing was executed (pass trust=True to run the config "
                         "as MMEngine does)", text)

    # _base_ first (MMEngine reads it before running the file)
    base: Dict[str, Any] = {}
    for st in tree.body:
        if isinstance(st, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in st.targets):
            try:
                files = _Eval({})(st.value)
            except _Refused as e:
                raise refuse(e.node, e.why) from None
            base = _load_bases(p, files, stack)
    ev = _Eval(base)
    imported: Set[str] = set()
    for i, st in enumerate(tree.body):
        if i == 0 and isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) \
                and isinstance(st.value.value, str):
            continue  # docstring
        if isinstance(st, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == "_base_" for t in st.targets):
                continue
            try:
                val = ev(st.value)
            except _Refused as e:
                raise refuse(e.node, e.why) from None
            if size(val, {}) > MAX_VALUES:
                raise refuse(st, f"the value is too large (more than {MAX_VALUES} items once shared parts are "
                             "counted each time)")
            for t in st.targets:
                _bind(t, val, ev.env, refuse)
                imported.difference_update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.value is not None:
            try:
                ev.env[st.target.id] = ev(st.value)
                imported.discard(st.target.id)
            except _Refused as e:
                raise refuse(e.node, e.why) from None
        elif isinstance(st, ast.ImportFrom) and st.module in _TYPE_MODULES and st.level == 0 \
                and all(a.name != "*" for a in st.names):
            for a in st.names:  # a scheduler/optimizer class used as type=...: its name
                ev.env[a.asname or a.name] = a.name
                imported.add(a.asname or a.name)
        elif isinstance(st, (ast.Import, ast.ImportFrom)):
            raise refuse(st, "imports are refused without trust=True (a config could run any code)")
        elif isinstance(st, ast.Pass):
            continue
        else:
            raise refuse(st, f"a {type(st).__name__} statement cannot be read without executing it")
    # names bound to class names by imports are not config variables
    cfg = {k: v for k, v in ev.env.items() if not k.startswith("__") and k not in imported}
    return _strip_delete(_merge(cfg, base))


def _bind(t: ast.AST, val: Any, env: Dict[str, Any], refuse: Callable[[ast.AST, str], SpecError]) -> None:
    if isinstance(t, ast.Name):
        env[t.id] = val
    elif isinstance(t, (ast.Tuple, ast.List)):
        if not isinstance(val, (list, tuple)) or len(val) != len(t.elts):
            raise refuse(t, "cannot unpack this value")
        for sub, v in zip(t.elts, val):
            _bind(sub, v, env, refuse)
    else:
        raise refuse(t, "only plain names can be assigned")


def _trusted(p: str) -> Dict[str, Any]:
    try:
        from mmengine.config import Config
    except ImportError:
        Config = None
    if Config is not None:
        cfg = Config.fromfile(p, lazy_import=False)
        out = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg._cfg_dict.to_dict())
        return {k: v for k, v in out.items() if not k.startswith("__")}
    import runpy
    import types

    env = runpy.run_path(p)
    raw = {k: v for k, v in env.items()
           if not k.startswith("__") and not isinstance(v, (types.ModuleType, types.FunctionType, type))}
    base_files = raw.pop("_base_", None)
    base = _load_bases(p, base_files, (p,)) if base_files is not None else {}
    return _strip_delete(_merge(raw, base))
