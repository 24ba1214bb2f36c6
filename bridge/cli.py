"""The ``sched-bridge`` command line (also ``python -m bridge``).

Exit codes: 0 ok, 1 a parity mismatch, 2 a bad input (spec, file, argument),
3 a framework or feature not available here.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import BridgeError, FrameworkMissingError, Plan, UnsupportedError
from .ir import CosineAnnealing, Field, Group, Linear, Sequential

EXIT_OK, EXIT_MISMATCH, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def demo_plan(total: int = 90_000, warmup: int = 500) -> Plan:
    """The built-in example: a detection-style recipe, linear warm-up then cosine, 2 groups."""
    sched = Sequential((Linear(0.001, 1.0, warmup), CosineAnnealing(total - warmup)), (warmup,))
    return Plan((Group({"lr": Field(0.02, sched), "weight_decay": Field(1e-4)}, "default"),
                 Group({"lr": Field(0.002, sched), "weight_decay": Field(0.0)}, "norm_and_bias")),
                total_steps=total, source="built-in demo: LinearLR(0.001, 500) + CosineAnnealingLR")


def _table(plan: Plan, steps: List[int], field: str = "lr") -> str:
    vals = plan.at(steps, field)
    head = "  step  " + "  ".join(f"group {i:<10d}" for i in range(plan.n_groups))
    rows = [head]
    for s, row in zip(steps, vals):
        rows.append(f"{s:6d}  " + "  ".join(f"{v:<16.9g}" for v in row))
    return "\n".join(rows)


def cmd_demo(args: argparse.Namespace) -> int:
    plan = demo_plan()
    n = plan.total_steps or 1
    print("sched-bridge demo:", plan.source)
    print(plan.describe())
    v = plan.values(n)
    print(f"\nlr over {n} updates: first {v[0].tolist()}, last {v[-1].tolist()}, "
          f"max {v.max(axis=0).tolist()}")
    marks = sorted({0, 1, 250, 499, 500, 501, n // 2, n - 2, n - 1})
    print(_table(plan, marks))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sched-bridge", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="cmd")
    d = sub.add_parser("demo", help="evaluate the built-in warm-up + cosine example")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args.func(args))
    except (FrameworkMissingError, UnsupportedError) as e:
        if args.debug:
            raise
        print(f"sched-bridge: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except BridgeError as e:
        if args.debug:
            raise
        print(f"sched-bridge: {e}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())



