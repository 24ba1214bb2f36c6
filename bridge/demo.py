"""The built-in example of ``sched-bridge demo``: a detection recipe's warm-up + cosine lr.

:func:`demo_plan` imports :data:`DEMO_RECIPE` (a torch expression, parsed, never run) for
two param groups and adds each group's constant weight decay. The command line evaluates
it, checks it against every installed framework and plots it.
"""

from __future__ import annotations

from .ir import Field, Group, Plan

__all__ = ["DEMO_RECIPE", "demo_plan"]

#: the recipe's torch scheduler (lr), as an expression
DEMO_RECIPE = ("SequentialLR([LinearLR(start_factor=0.001, total_iters=500), CosineAnnealingLR(T_max=89500)], "
               "milestones=[500])")


def demo_plan(total: int = 90_000) -> Plan:
    """:data:`DEMO_RECIPE` with base lrs 0.02 / 0.002 and constant weight decays 1e-4 / 0 (groups
    ``default`` and ``norm_and_bias``), ``total`` updates long."""
    from .spec import resolve

    lr = resolve(DEMO_RECIPE, lr=[0.02, 0.002], dialect="torch")
    groups = tuple(Group({"lr": g.fields["lr"], "weight_decay": Field(wd)}, name)
                   for g, wd, name in zip(lr.groups, (1e-4, 0.0), ("default", "norm_and_bias")))
    return Plan(groups, total_steps=total, source=f"built-in demo (torch recipe): {DEMO_RECIPE}")
