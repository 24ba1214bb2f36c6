"""Extract and run the ```python blocks of a Markdown file (README, docs pages)."""

from __future__ import annotations

import linecache
import re
import sys
import types
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]

_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```", re.S | re.M)


def python_blocks(path: Path) -> List[str]:
    """The source of every fenced ```python block of ``path``, in order."""
    return _BLOCK.findall(Path(path).read_text(encoding="utf-8"))


def run_blocks(path: Path) -> Dict[str, Any]:
    """Execute the blocks of ``path`` in order, in one namespace (a page reads as one script).

    The namespace is a real module registered in ``sys.modules``: MindSpore's graph
    compiler resolves a Cell's globals through ``sys.modules[cls.__module__]`` and
    reads its source with ``inspect`` (hence the ``linecache`` entry per block).
    """
    name = "_doc_" + re.sub(r"\W", "_", Path(path).stem)
    mod = types.ModuleType(name)
    mod.__file__ = str(path)
    sys.modules[name] = mod
    try:
        for i, code in enumerate(python_blocks(path)):
            fname = f"{path} (python block {i + 1})"
            linecache.cache[fname] = (len(code), None, code.splitlines(True), fname)
            exec(compile(code, fname, "exec"), mod.__dict__)
    finally:
        sys.modules.pop(name, None)
    return mod.__dict__
