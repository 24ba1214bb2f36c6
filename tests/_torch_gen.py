"""Random torch scheduler compositions for the property suites (tests/test_torch_properties.py).

A composition is drawn as data first (a tree of ``("leaf", cls, kwargs)``,
``("seq", children, milestones)`` and ``("chain", children)``), then built on a real
optimizer. Leaves are built in a drawn order (not only the order they appear in the
tree), since several torch schedulers rewrite the param groups (``initial_lr``, ``lr``,
``momentum``) when they are constructed; composites are built after their children.

``draw`` is anything with ``integers(lo, hi)`` (inclusive), ``choice(seq)`` and
``boolean()``: hypothesis' ``st.data()`` through :class:`HypDraw`, or
:class:`random.Random` through :class:`RandomDraw` (for exploring many cases by hand).
"""

from __future__ import annotations

import random
from typing import Any, Callable, Dict, List, Sequence, Tuple


class RandomDraw:
    def __init__(self, seed: int):
        self.r = random.Random(seed)

    def integers(self, lo: int, hi: int) -> int:
        return self.r.randint(lo, hi)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.r.randrange(len(seq))]

    def boolean(self) -> bool:
        return self.r.random() < 0.5


class HypDraw:
    def __init__(self, data: Any):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integers(self, lo: int, hi: int) -> int:
        return int(self.data.draw(self.st.integers(lo, hi)))

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.integers(0, len(seq) - 1)]

    def boolean(self) -> bool:
        return bool(self.data.draw(self.st.booleans()))


# -- the callables of LambdaLR / MultiplicativeLR (module level: picklable, named) --

def inv_time(e: int) -> float:
    return 1.0 / (1.0 + 0.01 * e)


def decay995(e: int) -> float:
    return 0.995 ** e


def warm_hold(e: int) -> float:
    return min(1.0, (e + 1) / 50)


def mul99(e: int) -> float:
    return 0.99


def mul_wobble(e: int) -> float:
    return 1.0 - 1e-3 * (e % 3)


LAMBDAS = (inv_time, decay995, warm_hold)
MULS = (mul99, mul_wobble)


def _per_group(draw: Any, G: int, values: Sequence[float]) -> Any:
    if draw.boolean():
        return draw.choice(values)
    return [draw.choice(values) for _ in range(G)]


def draw_leaf(draw: Any, G: int, N: int, momentum: bool) -> Tuple[str, str, Dict[str, Any]]:
    """One leaf: (``"leaf"``, class name, constructor kwargs)."""
    name = draw.choice(["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
                        "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "CyclicLR",
                        "MultiplicativeLR", "LambdaLR"])
    T = max(2, N // 4)
    kw: Dict[str, Any]
    if name == "StepLR":
        kw = dict(step_size=draw.integers(1, T), gamma=draw.choice([0.5, 0.9, 0.1, 0.97]))
    elif name == "MultiStepLR":
        k = draw.integers(0, 4)
        kw = dict(milestones=sorted(draw.integers(0, N) for _ in range(k)), gamma=draw.choice([0.5, 0.1, 0.9]))
    elif name == "ConstantLR":
        kw = dict(factor=draw.choice([0.1, 0.25, 0.5, 1.0, 1.0 / 3]), total_iters=draw.integers(0, T))
    elif name == "LinearLR":
        kw = dict(start_factor=draw.choice([0.001, 0.1, 1.0 / 3, 1.0]), end_factor=draw.choice([1.0, 0.5, 0.0]),
                  total_iters=draw.integers(0, T))
    elif name == "ExponentialLR":
        kw = dict(gamma=draw.choice([0.99, 0.999, 0.95]))
    elif name == "PolynomialLR":
        kw = dict(total_iters=draw.integers(0, 2 * T), power=draw.choice([1.0, 2.0, 0.5]))
    elif name == "CosineAnnealingLR":
        kw = dict(T_max=draw.integers(1, T), eta_min=draw.choice([0.0, 1e-4, 1e-3]))
    elif name == "CosineAnnealingWarmRestarts":
        kw = dict(T_0=draw.integers(1, T), T_mult=draw.integers(1, 3), eta_min=draw.choice([0.0, 1e-4]))
    elif name == "OneCycleLR":
        three = draw.boolean()
        kw = dict(max_lr=_per_group(draw, G, [1.0, 0.5, 0.3, 0.05]), total_steps=draw.integers(N, 2 * N),
                  pct_start=draw.choice([0.3, 0.25, 0.1, 0.45]), anneal_strategy=draw.choice(["cos", "linear"]),
                  three_phase=three, div_factor=draw.choice([25.0, 10.0]),
                  final_div_factor=draw.choice([1e4, 100.0]), cycle_momentum=momentum and draw.boolean())
        if kw["cycle_momentum"]:
            kw.update(base_momentum=_per_group(draw, G, [0.85, 0.8]), max_momentum=_per_group(draw, G, [0.95, 0.9]))
    elif name == "CyclicLR":
        kw = dict(base_lr=_per_group(draw, G, [0.001, 0.01, 0.02]), max_lr=_per_group(draw, G, [0.1, 0.2, 0.05]),
                  step_size_up=draw.integers(1, T), step_size_down=draw.choice([None, draw.integers(1, T)]),
                  mode=draw.choice(["triangular", "triangular2", "exp_range"]),
                  gamma=draw.choice([1.0, 0.999]), cycle_momentum=momentum and draw.boolean())
        if kw["cycle_momentum"]:
            kw.update(base_momentum=_per_group(draw, G, [0.8, 0.85]), max_momentum=_per_group(draw, G, [0.9, 0.95]))
    elif name == "MultiplicativeLR":
        kw = dict(lr_lambda=draw.choice(MULS))
    else:
        kw = dict(lr_lambda=draw.choice(LAMBDAS) if draw.boolean() else [draw.choice(LAMBDAS) for _ in range(G)])
    return ("leaf", name, kw)


def draw_tree(draw: Any, G: int, N: int, momentum: bool, depth: int = 2) -> Any:
    kind = draw.choice(["seq", "chain", "leaf", "seq"] if depth else ["leaf"])
    if kind == "leaf":
        return draw_leaf(draw, G, N, momentum)
    n = draw.integers(1, 3)
    if kind == "chain":
        return ("chain", [draw_tree(draw, G, N, momentum, depth - 1) for _ in range(n)])
    # torch cannot restart a composite at a milestone (NotImplementedError): only the child
    # active from step 0 may be one
    kids = [draw_tree(draw, G, N, momentum, depth - 1)] + [draw_leaf(draw, G, N, momentum) for _ in range(n - 1)]
    lo = 1 if kids[0][0] != "leaf" else 0
    ms = sorted(draw.integers(lo, N // 2) for _ in range(n - 1))
    return ("seq", kids, ms)


def leaves(tree: Any) -> List[Any]:
    if tree[0] == "leaf":
        return [tree]
    return [x for k in tree[1] for x in leaves(k)]


def build(tree: Any, opt: Any, order: Sequence[int] = ()) -> Any:
    """The real torch scheduler of ``tree`` on ``opt``; leaves built in ``order`` (indices
    into :func:`leaves`, default: tree order), composites after their children."""
    import torch

    L = torch.optim.lr_scheduler
    lv = leaves(tree)
    built: Dict[int, Any] = {}
    for i in (order or range(len(lv))):
        _, name, kw = lv[i]
        built[id(lv[i])] = getattr(L, name)(opt, **kw)

    def make(t: Any) -> Any:
        if t[0] == "leaf":
            return built[id(t)]
        kids = [make(k) for k in t[1]]
        if t[0] == "chain":
            return L.ChainedScheduler(kids, optimizer=opt)
        return L.SequentialLR(opt, kids, list(t[2]))

    return make(tree)


def describe(tree: Any) -> str:
    if tree[0] == "leaf":
        args = ", ".join(f"{k}={getattr(v, '__name__', v)!r}" if callable(v) else f"{k}={v!r}"
                         for k, v in tree[2].items())
        return f"{tree[1]}({args})"
    inner = ", ".join(describe(k) for k in tree[1])
    if tree[0] == "chain":
        return f"ChainedScheduler([{inner}])"
    return f"SequentialLR([{inner}], milestones={list(tree[2])})"


def make_optimizer(kind: str, lrs: Sequence[float], moms: Sequence[float]) -> Any:
    import torch

    ps = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64)) for _ in lrs]
    if kind == "adam":
        return torch.optim.Adam([{"params": [p], "lr": lr, "betas": (m, 0.999)}
                                 for p, lr, m in zip(ps, lrs, moms)], lr=0.1)
    if kind == "sgd_momentum":
        return torch.optim.SGD([{"params": [p], "lr": lr, "momentum": m}
                                for p, lr, m in zip(ps, lrs, moms)], lr=0.1, momentum=0.9)
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, lrs)], lr=0.1)


Draw = Callable[..., Any]
