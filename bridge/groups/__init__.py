"""Parameter-group and optimizer translation across frameworks.

- :func:`translate_optimizer`: torch optimizer (or neutral description) + Plan
  -> MindSpore optimizer / OneFlow kwargs, refusing what the target cannot express.
- :mod:`bridge.groups.paramwise`: MMEngine ``paramwise_cfg`` semantics.
- :mod:`bridge.groups.state`: scheduler step counters across frameworks (resume elsewhere).
"""

from __future__ import annotations

from .optimizers import describe_optimizer, translate_optimizer

__all__ = ["describe_optimizer", "translate_optimizer"]
