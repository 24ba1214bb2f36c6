"""sched-bridge: one schedule IR, exact across PyTorch, MindSpore, OneFlow and MMEngine.

``import bridge`` imports neither NumPy nor a framework: the IR (and NumPy with it)
loads on first use of a name below, each framework only inside the call that needs it.
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING, Any

from .errors import (
    BridgeError,
    BridgeWarning,
    FrameworkMissingError,
    ParityError,
    PlanEndWarning,
    SpecError,
    UnsupportedError,
)

if TYPE_CHECKING:  # resolved lazily below: `import bridge` imports neither NumPy nor the IR
    from .ir import Field, Group, Plan, from_dict, node_from_dict
    from .ir import nodes as schedules

__version__ = "0.1.0"


def load(path: str | _os.PathLike[str]) -> Plan:
    """Read a plan from a JSON, YAML or TOML file (nothing is executed)."""
    from .ir import from_dict
    from .ir.io import read_file

    return from_dict(read_file(path))


def tabulate(plan: Plan, steps: int) -> Plan:
    """Sample every schedule of ``plan`` into explicit tables of ``steps`` values."""
    return plan.tabulate(steps)


# Everything else resolves on first use (PEP 562), so `import bridge` stays light
# (the CLI's --help, the pytest plugin) and imports no framework.
_LAZY = {
    "Plan": (".ir", "Plan"),
    "Field": (".ir", "Field"),
    "Group": (".ir", "Group"),
    "from_dict": (".ir", "from_dict"),
    "node_from_dict": (".ir", "node_from_dict"),
    "schedules": (".ir.nodes", None),
    "from_torch": (".frameworks.torch", "from_torch"),
    "to_torch": (".frameworks.torch", "to_torch"),
    "from_mindspore": (".frameworks.mindspore", "from_mindspore"),
    "to_mindspore_list": (".frameworks.mindspore", "to_mindspore_list"),
    "to_mindspore_tensor": (".frameworks.mindspore", "to_mindspore_tensor"),
    "to_mindspore_cell": (".frameworks.mindspore", "to_mindspore_cell"),
    "to_mindspore_source": (".frameworks.mindspore", "to_mindspore_source"),
    "to_mindspore_group_params": (".frameworks.mindspore", "to_mindspore_group_params"),
    "from_oneflow": (".frameworks.oneflow", "from_oneflow"),
    "to_oneflow": (".frameworks.oneflow", "to_oneflow"),
    "from_mmengine": (".frameworks.mmengine", "from_mmengine"),
    "to_mmengine": (".frameworks.mmengine", "to_mmengine"),
    "register_mmengine_scheduler": (".frameworks.mmengine", "register_mmengine_scheduler"),
    "load_config": (".config", "load_config"),
    "from_hf": (".recipes", "from_hf"),
    "from_timm": (".recipes", "from_timm"),
    "from_accelerated": (".recipes", "from_accelerated"),
    "from_mindcv": (".frameworks.mindcv", "from_mindcv"),
    "from_mindcv_config": (".frameworks.mindcv", "from_mindcv_config"),
    "to_mindspore_scheduler": (".frameworks.mindspore", "to_mindspore_scheduler"),
    "translate_optimizer": (".groups.optimizers", "translate_optimizer"),
    "port_source": (".groups.optimizers", "port_source"),
    "copy_weights": (".weights", "copy_weights"),
    "count_updates": (".accounting", "count_updates"),
    "apply_skips": (".accounting", "apply_skips"),
    "load_trace": (".probes", "load_trace"),
    "compare_traces": (".probes", "compare"),
    "torch_probe": (".probes", "torch_probe"),
    "oneflow_probe": (".probes", "oneflow_probe"),
    "mindspore_probe": (".probes", "mindspore_probe"),
    "probe": (".probes", "probe"),
    "lint": (".linter", "lint"),
    "capture": (".capture", "capture"),
    "assert_same_schedule": (".testing", "assert_same_schedule"),
    "detect": ("._frameworks", "detect"),
    "plot_plan": (".plot", "plot_plan"),
    "parity": (".parity", None),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'bridge' has no attribute {name!r}")
    import importlib

    mod = importlib.import_module(target[0], __name__)
    value = mod if target[1] is None else getattr(mod, target[1])
    globals()[name] = value  # resolved once
    return value


__all__ = [
    "BridgeError", "BridgeWarning", "Field", "FrameworkMissingError", "Group", "ParityError", "Plan",
    "PlanEndWarning", "SpecError",
    "UnsupportedError", "from_dict", "load", "node_from_dict", "schedules", "tabulate",
]
