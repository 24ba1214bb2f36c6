"""The package's layout rules, read from the source with ``ast`` (no module is executed).

- The semantics live in ``bridge/ir/semantics.py``; ``bridge/semantics.py`` is a deprecated shim
  that no code in the repository imports.
- Inside the IR, imports run one way: ``nodes`` -> ``semantics`` -> ``plan`` (function-level
  imports included); the IR imports nothing above it but errors, limits and outputs.
- No module reads another sched-bridge module's private names (``module._name``,
  ``from module import _name``, ``obj._name`` for a name another module defines). Private
  *modules* (``_check``, ``_frameworks``, ``_source``) are shared helpers of the package and may be
  imported anywhere in it. The only ``x._name`` reads of objects that are not sched-bridge's own
  are the framework (and standard library) privates listed in ``FOREIGN_PRIVATES``.
"""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest

import bridge
from bridge.ir import plan as plan_mod
from bridge.ir import semantics

PKG = Path(bridge.__file__).resolve().parent  # the code under test (the worktree, or tox's wheel)
REPO = Path(__file__).resolve().parents[1]
SHIM = "bridge.semantics"

# Private attributes of objects that are not sched-bridge's own, read (or set) on purpose, with the
# object they belong to. A new entry needs a reason; an entry nothing uses any more fails the test.
FOREIGN_PRIVATES: Dict[str, str] = {
    "_schedulers": "torch SequentialLR / ChainedScheduler children (MindSpore experimental SequentialLR too)",
    "_milestones": "torch SequentialLR milestones",
    "_schedule_phases": "torch OneCycleLR phases",
    "_anneal_func_type": "torch OneCycleLR anneal strategy",
    "_scale_fn_custom": "torch (and MindSpore experimental) CyclicLR custom scale_fn",
    "_cfg_dict": "mmengine Config contents",
    "_params": "MindSpore Cell parameters",
    "_cells": "MindSpore Cell children",
    "_getframe": "sys._getframe (caller's frame for a warning's location)",
}


# ---------------------------------------------------------------------------
# reading the source
# ---------------------------------------------------------------------------


def _modules() -> Dict[str, Path]:
    """Dotted name -> file for every module of the package."""
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _is_pkg(mod: str) -> bool:
    return MODULES[mod].name == "__init__.py"


def _absolute(mod: Optional[str], node: ast.ImportFrom) -> str:
    """The module an ImportFrom reads from (relative imports resolved against ``mod``)."""
    if not node.level:
        return node.module or ""
    assert mod is not None, "a relative import outside the package"
    parts = mod.split(".") if _is_pkg(mod) else mod.split(".")[:-1]
    parts = parts[:len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _imports(tree: ast.AST, mod: Optional[str]) -> Iterator[Tuple[int, str, Optional[str], Optional[str]]]:
    """(line, module, name, bound as) for every import anywhere in the tree (function level too).
    ``from pkg import sub`` of a submodule gives module ``pkg.sub`` and name None."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, None, a.asname or a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            src = _absolute(mod, node)
            for a in node.names:
                sub = f"{src}.{a.name}"
                if sub in MODULES or (src == "bridge" and a.name == "semantics"):
                    yield node.lineno, sub, None, a.asname or a.name
                else:
                    yield node.lineno, src, a.name, a.asname or a.name


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _defined_here(tree: ast.AST) -> Set[str]:
    """Names this module defines: module- and class-level names, and attributes it sets on objects
    (``self._x = ...``, ``s._x = ...``)."""
    out: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
    return out


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_module(src: str, name: str) -> bool:
    return f"{src}.{name}" in MODULES


def _bridge_bindings(tree: ast.AST, mod: str) -> Dict[str, str]:
    """Local name -> what it is bound to, for names imported from sched-bridge modules."""
    out = {}
    for _, src, name, bound in _imports(tree, mod):
        if bound is None or not (src == "bridge" or src.startswith("bridge.")):
            continue
        if name is None:
            if bound == src.split(".")[0] and "." in src:  # import bridge.x binds bridge
                out[bound] = "bridge"
            else:
                out[bound] = src
        else:
            out[bound] = f"{src}.{name}"
    return out


def _violations(mod: str, path: Path, used: Set[str]) -> Iterator[str]:
    tree = _tree(path)
    where = mod.replace(".", "/") + ("/__init__.py" if path.name == "__init__.py" else ".py")
    for line, src, name, _ in _imports(tree, mod):
        if name is not None and _private(name) and (src == "bridge" or src.startswith("bridge.")) and src != mod \
                and not _private_module(src, name):
            yield f"{where}:{line}: from {src} import {name} (a private name of another module)"
    own = _defined_here(tree)
    bound = _bridge_bindings(tree, mod)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not _private(node.attr):
            continue
        base = node.value
        if isinstance(base, ast.Name) and base.id in ("self", "cls"):
            continue
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
            continue
        target = bound.get(base.id) if isinstance(base, ast.Name) else None
        if target is not None:  # a sched-bridge module or class bound by an import
            if not _private_module(target, node.attr):
                yield f"{where}:{node.lineno}: {ast.unparse(node)} ({target} is sched-bridge's own)"
            continue
        if node.attr in own:
            continue  # this module's own private (on one of its objects)
        if node.attr in FOREIGN_PRIVATES:
            used.add(node.attr)
            continue
        yield f"{where}:{node.lineno}: {ast.unparse(node)} (another module's private, or a framework " \
            "private missing from FOREIGN_PRIVATES)"


# ---------------------------------------------------------------------------
# the rules
# ---------------------------------------------------------------------------


def test_the_rules_see_the_package() -> None:
    # the walk reads the package under test, every module of it
    assert "bridge.ir.semantics" in MODULES and "bridge.ir.plan" in MODULES and "bridge.frameworks.torch" in MODULES
    assert MODULES["bridge.ir.semantics"] == Path(semantics.__file__).resolve()
    assert len(MODULES) >= 30


def test_no_private_names_across_modules() -> None:
    used: Set[str] = set()
    bad = [v for mod, path in MODULES.items() for v in _violations(mod, path, used)]
    assert not bad, "\n".join(bad)
    stale = sorted(set(FOREIGN_PRIVATES) - used)
    assert not stale, f"FOREIGN_PRIVATES entries nothing reads any more: {stale}"


def _repo_files() -> Iterator[Tuple[Optional[str], Path]]:
    for mod, path in MODULES.items():
        if mod != SHIM:
            yield mod, path
    for d in ("tests", "benchmarks", "examples", "tools"):
        for p in sorted((REPO / d).rglob("*.py")) if (REPO / d).is_dir() else []:
            yield None, p


def test_nothing_imports_the_deprecated_shim() -> None:
    bad = []
    for mod, path in _repo_files():
        for line, src, _, _ in _imports(_tree(path), mod):
            if src == SHIM:
                bad.append(f"{path}:{line}: imports {SHIM} (use bridge.ir.semantics)")
    assert not bad, "\n".join(bad)


def test_the_rules_catch_what_they_forbid(tmp_path: Path) -> None:
    # each kind of offence, in a module placed in the package's namespace, is reported
    src = (
        "from . import semantics\n"
        "from .ir.semantics import _CHAIN\n"
        "from .ir import plan\n"
        "import sys\n"
        "def f(p, nd):\n"
        "    x = plan._steps_array([1])\n"
        "    y = p._batches('lr')\n"
        "    return sys._getframe(1), nd._schedulers, p._field(0, 'lr')\n"
    )
    path = tmp_path / "fake.py"
    path.write_text(src)
    MODULES["bridge.fake"] = path
    try:
        used: Set[str] = set()
        found = list(_violations("bridge.fake", path, used))
        shim = [s for _, s, _, _ in _imports(_tree(path), "bridge.fake") if s == SHIM]
    finally:
        del MODULES["bridge.fake"]
    text = "\n".join(found)
    assert shim == [SHIM]
    assert "import _CHAIN" in text and "plan._steps_array" in text
    assert "p._batches" in text and "p._field" in text
    assert "sys._getframe" not in text and "nd._schedulers" not in text  # listed framework privates
    assert used == {"_getframe", "_schedulers"}
    assert len(found) == 4, text


IR_ORDER = ["bridge.ir.nodes", "bridge.ir.semantics", "bridge.ir.plan"]
IR_MAY_IMPORT = {"bridge.errors", "bridge.limits", "bridge.outputs"}


def _bridge_imports(mod: str) -> Set[str]:
    return {src for _, src, _, _ in _imports(_tree(MODULES[mod]), mod)
            if src == "bridge" or src.startswith("bridge.")} - {mod}


def test_ir_imports_run_one_way() -> None:
    # nodes -> semantics -> plan, at module level and inside functions alike
    for i, mod in enumerate(IR_ORDER):
        later = set(IR_ORDER[i + 1:])
        assert not _bridge_imports(mod) & later, f"{mod} imports {sorted(_bridge_imports(mod) & later)}"
    assert _bridge_imports("bridge.ir.nodes") <= {"bridge.errors", "bridge.ir._check"}
    assert _bridge_imports("bridge.ir.semantics") <= {"bridge.errors", "bridge.ir.nodes"}
    assert {"bridge.ir.nodes", "bridge.ir.semantics"} <= _bridge_imports("bridge.ir.plan")
    # the IR imports nothing above it, and no cycle runs through it (function-level imports included)
    ir = [m for m in MODULES if m == "bridge.ir" or m.startswith("bridge.ir.")]
    for mod in ir:
        outside = {s for s in _bridge_imports(mod) if not s.startswith("bridge.ir")} - IR_MAY_IMPORT
        assert not outside, f"{mod} imports {sorted(outside)} from above the IR"
    graph = {m: _bridge_imports(m) & set(MODULES) for m in MODULES}
    for mod in ir + sorted(IR_MAY_IMPORT):
        seen: Set[str] = set()
        todo: List[str] = sorted(graph[mod])
        while todo:
            m = todo.pop()
            assert m != mod, f"an import cycle runs through {mod}"
            if m not in seen:
                seen.add(m)
                todo.extend(graph[m])


# ---------------------------------------------------------------------------
# the public names the lowerings use, and the deprecated path
# ---------------------------------------------------------------------------


def test_semantics_public_names_are_documented() -> None:
    for name in semantics.__all__:
        obj = getattr(semantics, name)
        assert not _private(name) and obj.__doc__ and obj.__doc__.strip(), name
    assert {"phase_ends", "chainable", "evaluate", "Carry"} <= set(semantics.__all__)
    for meth in (plan_mod.Plan.field, plan_mod.Plan.batches):
        assert meth.__doc__


def test_phase_ends_are_torch_onecycle_end_steps(torch_mod: Any) -> None:
    from bridge.ir.nodes import OneCycle

    sgd = torch_mod.optim.SGD([torch_mod.zeros(1, requires_grad=True)], lr=1.0)
    for T, pct, three in ((10, 0.3, False), (1000, 0.25, True), (7, 0.5, False), (101, 0.37, True)):
        s = torch_mod.optim.lr_scheduler.OneCycleLR(sgd, max_lr=1.0, total_steps=T, pct_start=pct, three_phase=three)
        ends = [ph["end_step"] for ph in s._schedule_phases]
        got = semantics.phase_ends(OneCycle(total_steps=T, pct_start=pct, three_phase=three))
        assert got == ends and [type(x) for x in got] == [type(x) for x in ends]


def test_chainable_kinds_are_torch_chainable_schedulers(torch_mod: Any) -> None:
    from bridge.ir import nodes

    # torch's schedulers with a chainable get_lr next to a closed form (the ones ChainedScheduler
    # composes recursively) are exactly the kinds chainable() names, MultiplicativeLR (chainable,
    # no closed form) aside
    lrs = torch_mod.optim.lr_scheduler
    kinds = {
        lrs.ConstantLR: nodes.Constant(factor=0.5, total_iters=2), lrs.LinearLR: nodes.Linear(),
        lrs.StepLR: nodes.Step(step_size=2), lrs.MultiStepLR: nodes.MultiStep(milestones=(2,)),
        lrs.ExponentialLR: nodes.Exponential(gamma=0.9), lrs.PolynomialLR: nodes.Polynomial(total_iters=4),
        lrs.CosineAnnealingLR: nodes.CosineAnnealing(T_max=4), lrs.LambdaLR: nodes.Lambda(lambda e: 1.0),
        lrs.OneCycleLR: nodes.OneCycle(total_steps=10), lrs.CyclicLR: nodes.Cyclic(high=1.0),
        lrs.CosineAnnealingWarmRestarts: nodes.WarmRestarts(T_0=3),
    }
    closed = {cls for cls in kinds if "_get_closed_form_lr" in vars(cls)}
    assert closed == {cls for cls, nd in kinds.items() if semantics.chainable(nd)}
    assert len(closed) == 7
    assert semantics.chainable(nodes.Multiplicative(lambda e: 0.5))
    assert not semantics.chainable(nodes.Sequential((nodes.Linear(), nodes.Step(step_size=2)), (3,)))


def test_deprecated_shim_warns_and_forwards() -> None:
    shim = importlib.import_module(SHIM)
    for name in semantics.__all__:
        with pytest.warns(DeprecationWarning, match=rf"bridge\.ir\.semantics\.{name}\b"):
            assert getattr(shim, name) is getattr(semantics, name)
    ns: Dict[str, object] = {}
    with pytest.warns(DeprecationWarning, match="bridge.semantics is deprecated"):
        exec("from bridge.semantics import evaluate", ns)  # the old spelling, as user code has it
    assert ns["evaluate"] is semantics.evaluate
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="_CHAIN"):
            _ = shim._CHAIN  # privates were never part of the API
    assert sorted(dir(shim)) == sorted(semantics.__all__)
