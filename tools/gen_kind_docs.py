"""Render docs/kinds.md from the IR node classes (bridge.ir.KINDS): run `python tools/gen_kind_docs.py`."""

from __future__ import annotations

import dataclasses
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.ir import KINDS  # noqa: E402


def render() -> str:
    out = [
        "# Schedule kinds",
        "",
        "Generated from `bridge/ir/nodes.py` by `tools/gen_kind_docs.py`; do not edit by hand.",
        "What each kind computes is defined once, in `bridge/ir/semantics.py`; `t` is the number of",
        "scheduler steps completed, `base` the param group's base value (see [the IR](ir.md)).",
        "",
        "| kind | computes | fields (default) | corresponds to |",
        "|---|---|---|---|",
    ]
    for name in sorted(KINDS):
        cls = KINDS[name]
        doc = " ".join((inspect.getdoc(cls) or "").split())
        fields = []
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                d = f.default
                d = "callable" if callable(d) else repr(d)
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                d = "..."
            else:
                d = "required"
            fields.append(f"`{f.name}` ({d})")
        maps = "; ".join(cls.maps_to)
        out.append(f"| `{name}` | {doc.replace('|', '/')} | {', '.join(fields)} | {maps} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    target = ROOT / "docs" / "kinds.md"
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if target.exists() and target.read_text() == text else 1)
    target.write_text(text)
    print(f"wrote {target}")
