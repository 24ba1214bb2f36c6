"""Drawing a plan: its values per param group, the real frameworks' values, where phases switch.

Built on the public API (``Plan.values``, :func:`bridge.parity.framework_values`);
matplotlib is imported inside :func:`plot_plan` only (``pip install matplotlib``).
"""

from __future__ import annotations

import os
import textwrap
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import FrameworkMissingError, SpecError
from .ir import Plan, nodes
from .limits import check_memory, check_steps
from .outputs import atomic_path, check_destination

__all__ = ["MAX_INCHES", "MAX_PIXELS_SIDE", "phase_switches", "plot_plan"]

#: Largest figure side in inches (a wall poster) ...
MAX_INCHES = 100.0
#: ... and in pixels: matplotlib refuses images over 2**16 pixels a side.
MAX_PIXELS_SIDE = 1 << 15


def phase_switches(plan: Plan, field: str = "lr") -> List[int]:
    """Steps (> 0) where the first group's ``field`` schedule switches phase: the milestones of a
    top-level SequentialLR or MultiStep, the window edges of MMEngine windows (after any Shift)."""
    node = plan.schedule(field, 0)
    out: List[int] = []
    offset = 0
    while isinstance(node, nodes.Shift):
        offset += node.offset
        node = node.schedule
    if isinstance(node, (nodes.Sequential, nodes.MultiStep)):
        out = list(node.milestones)
    elif isinstance(node, nodes.Windows):
        out = sorted({w.begin * w.every for w in node.windows if w.begin} |
                     {w.end * w.every for w in node.windows if w.end is not None})
    return [m - offset for m in out if m - offset > 0]


def plot_plan(plan: Plan, path: str, *, steps: int, field: str = "lr", overlay: Sequence[str] = (),
              log: bool = False, size: Tuple[float, float] = (8.0, 4.5), dpi: int = 100,
              title: Optional[str] = None) -> None:
    """Draw ``field`` of every param group over ``steps`` updates into ``path`` (.png or .svg).

    ``overlay``: frameworks (``"torch"``, ``"mindspore"``, ``"oneflow"``) whose real values
    (:func:`bridge.parity.framework_values`) are drawn dashed; dotted lines mark
    :func:`phase_switches`. ``size`` in inches, at ``dpi``; the file is replaced atomically.
    Raises :class:`~bridge.FrameworkMissingError` without matplotlib.
    """
    from .parity import framework_values

    check_destination(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".svg"):
        raise SpecError("-o", "must end in .png or .svg", path)
    px = max(size) * dpi
    if px > MAX_PIXELS_SIDE:
        raise SpecError("--dpi", f"--size {size[0]:g}x{size[1]:g} at --dpi {dpi} is {px:.0f} pixels wide, more "
                        f"than {MAX_PIXELS_SIDE}; lower --dpi or --size", dpi)
    check_steps(steps, "--steps")
    check_memory(steps, plan.n_groups * (1 + len(overlay)), "--steps",
                 advice="pass a smaller --steps, or write them to a file with `sched-bridge values -o FILE` "
                        "(streamed)")
    try:
        import matplotlib
    except ImportError:
        raise FrameworkMissingError("plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vals = plan.values(steps, field)
    x = np.arange(steps)
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    try:
        for g in range(plan.n_groups):
            name = plan.groups[g].name
            ax.plot(x, vals[:, g], lw=1.6, label=f"plan group {g}" + (f" ({name})" if name else ""))
        for fw in overlay:
            for label, theirs in framework_values(plan, fw, steps, field).items():
                for g in range(plan.n_groups):
                    ax.plot(x, theirs[:, g], ls="--", lw=1.0, label=f"{label} group {g}")
        for m in phase_switches(plan, field):
            if m < steps:
                ax.axvline(m, color="grey", ls=":", lw=1)
                ax.annotate(f"step {m}", (m, 1.0), xycoords=("data", "axes fraction"), fontsize=8,
                            ha="left", va="top", color="grey")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("optimizer update")
        ax.set_ylabel(field)
        # about 11 characters of 9-pt text per inch of figure width
        ax.set_title(textwrap.fill(title or (plan.source or "schedule"), max(20, int(size[0] * 11))), fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
