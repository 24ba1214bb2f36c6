"""Train a tiny model in torch and in MindSpore with gradient accumulation, a probe on each,
and prove both applied identical per-update lr / weight decay / momentum.

    PYTHONPATH=. python examples/grad_accum_probe/run.py [--out DIR] [--mode graph|pynative]

Both runs: 24 samples, batch 2, accumulation 4 (plain ``(i+1) % 4 == 0`` loop), 3 epochs,
two param groups (lr 0.1 / 0.02, weight decay 1e-4 / 0), momentum 0.9, schedule
warm-up 3 updates then cosine to the end. torch steps the scheduler after each
optimizer.step(); MindSpore gets per-group lists indexed by its global_step.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np

import bridge
from bridge.accounting import count_updates
from bridge.ir import CosineAnnealing, Linear, Sequential
from bridge.ir.plan import Field, Group, Plan
from bridge.probes import Trace, compare, mindspore_probe, torch_probe

N, B, ACCUM, EPOCHS = 24, 2, 4, 3
BASE_LR = (0.1, 0.02)
WD = (1e-4, 0.0)
MOMENTUM = 0.9


def make_plan(total: int) -> Plan:
    warm = 3
    node = Sequential((Linear(start_factor=0.1, total_iters=warm), CosineAnnealing(T_max=total - warm)),
                      milestones=(warm,))
    groups = tuple(Group({"lr": Field(lr, node), "weight_decay": Field(wd, None),
                          "momentum": Field(MOMENTUM, None)}) for lr, wd in zip(BASE_LR, WD))
    return Plan(groups=groups)


def data() -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0], np.float32))[:, None]
    return x, y


def run_torch(plan: Plan) -> Trace:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    x, y = data()
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    groups = [{"params": model[0].parameters(), "lr": BASE_LR[0], "weight_decay": WD[0]},
              {"params": model[2].parameters(), "lr": BASE_LR[1], "weight_decay": WD[1]}]
    opt = torch.optim.SGD(groups, lr=BASE_LR[0], momentum=MOMENTUM)
    sched = bridge.to_torch(plan, opt)
    probe = torch_probe(opt, fields=("lr", "weight_decay", "momentum"))
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=B)
    for _ in range(EPOCHS):
        for i, (xb, yb) in enumerate(loader):
            loss = torch.nn.functional.mse_loss(model(xb), yb) / ACCUM
            loss.backward()
            if (i + 1) % ACCUM == 0:
                opt.step()
                sched.step()
                opt.zero_grad()
    probe.remove()
    return probe.trace


def run_mindspore(plan: Plan, total: int, graph: bool) -> Trace:
    import mindspore as ms
    import mindspore.dataset as mds
    from mindspore import nn, ops

    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE if graph else ms.PYNATIVE_MODE)
    ms.set_seed(0)
    x, y = data()
    net = nn.SequentialCell(nn.Dense(4, 8), nn.Tanh(), nn.Dense(8, 1))
    p = net.trainable_params()
    groups = [{"params": p[:2], "lr": bridge.to_mindspore_list(plan, total, group=0), "weight_decay": WD[0]},
              {"params": p[2:], "lr": bridge.to_mindspore_list(plan, total, group=1), "weight_decay": WD[1]}]
    opt = nn.Momentum(groups, learning_rate=BASE_LR[0], momentum=MOMENTUM)
    probe = mindspore_probe(opt, fields=("lr", "weight_decay", "momentum"))
    loss_fn = nn.MSELoss()

    def forward(xb: Any, yb: Any) -> Any:
        return loss_fn(net(xb), yb) / ACCUM

    grad_fn = ms.value_and_grad(forward, None, opt.parameters)

    @ms.jit
    def micro_step(xb: Any, yb: Any) -> Any:
        return grad_fn(xb, yb)[1]

    @ms.jit
    def apply(grads: Any) -> Any:
        return opt(grads)

    ds = mds.NumpySlicesDataset({"x": x, "y": y}, shuffle=False).batch(B)
    acc = None
    for _ in range(EPOCHS):
        for i, (xb, yb) in enumerate(ds.create_tuple_iterator()):
            grads = micro_step(xb, yb)
            acc = grads if acc is None else tuple(ops.add(a, g) for a, g in zip(acc, grads))
            if (i + 1) % ACCUM == 0:
                apply(acc)
                acc = None
                probe.sync()  # outside Model.train: record the updates just made
    return probe.trace


def main(argv: Any = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="grad_accum_probe_out")
    ap.add_argument("--mode", choices=("graph", "pynative"), default="graph")
    args = ap.parse_args(argv)
    count = count_updates(N, B, grad_accum=ACCUM, epochs=EPOCHS, explain=True)
    print(count.explain())
    total = int(count.total or 0)
    plan = make_plan(total)
    t_torch = run_torch(plan)
    t_ms = run_mindspore(plan, total, args.mode == "graph")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_torch.save(out / "torch.csv")
    t_ms.save(out / "mindspore.json")
    results: Dict[str, Any] = {
        "torch vs mindspore": compare(t_torch, t_ms, rtol=2e-6),
        "torch vs plan": compare(t_torch, plan, rtol=1e-12),
        "mindspore vs plan": compare(t_ms, plan, rtol=2e-6),
    }
    ok = len(t_torch) == len(t_ms) == total
    print(f"updates: torch {len(t_torch)}, mindspore {len(t_ms)}, count_updates {total}")
    for name, rep in results.items():
        print(f"== {name}\n{rep.format()}")
        ok = ok and rep.ok
    print("IDENTICAL per-update values" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("GLOG_v", "3")
    sys.exit(main())
