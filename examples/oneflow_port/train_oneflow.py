"""The PyTorch recipe of examples/torch_to_mindspore/train_torch.py, lowered to OneFlow.

Same conv net and param groups (no weight decay on norm weights and biases), SGD with
momentum, linear warm-up then cosine, stepped per iteration. The schedule is the IR plan
of the torch recipe: built here from IR nodes (OneFlow and torch do not share a Python:
OneFlow 0.9 needs Python <= 3.10), or read from the file ``train_torch.py --plan-out``
writes (``--plan plan.json``). ``bridge.to_oneflow`` lowers it to a native OneFlow
SequentialLR (``interval_rescaling=True``, torch's behaviour). The script trains a few
steps, logs the lr / weight decay each group uses per update to a CSV, and asserts them
against the plan (float64: within 1e-12 relative).

    python train_oneflow.py --steps 200 --out oneflow_log.csv
"""

from __future__ import annotations

import argparse
import csv

import numpy as np

import bridge
from bridge.ir import CosineAnnealing, Field, Group, Linear, Plan, Sequential

BASE_LR, MOMENTUM, WEIGHT_DECAY, BATCH = 0.1, 0.9, 5e-4, 16
GROUP_NAMES = ("decay", "no_decay")


def recipe_plan(steps: int) -> Plan:
    """train_torch.py's SGD groups + SequentialLR([LinearLR(0.01, w), CosineAnnealingLR(steps-w, 1e-4)], [w])."""
    w = max(1, steps // 10)
    lr = Sequential((Linear(0.01, 1.0, w), CosineAnnealing(steps - w, eta_min=1e-4)), milestones=(w,))
    return Plan(tuple(Group({"lr": Field(BASE_LR, lr), "weight_decay": Field(wd),
                             "momentum": Field(MOMENTUM)}, name=name)
                      for name, wd in zip(GROUP_NAMES, (WEIGHT_DECAY, 0.0))))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--plan", help="a plan file (e.g. from train_torch.py --plan-out); default: the IR recipe")
    ap.add_argument("--out", default="oneflow_log.csv")
    args = ap.parse_args(argv)

    from bridge._frameworks import import_framework

    flow = import_framework("oneflow")  # preloads the cuDNN/cuBLAS wheels OneFlow links against
    plan = bridge.load(args.plan) if args.plan else recipe_plan(args.steps)

    class FlowNet(flow.nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = flow.nn.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn1 = flow.nn.BatchNorm2d(16)
            self.conv2 = flow.nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
            self.bn2 = flow.nn.BatchNorm2d(32)
            self.fc = flow.nn.Linear(32 * 8 * 8, 10)

        def forward(self, x):
            x = flow.relu(self.bn1(self.conv1(x)))
            x = flow.relu(self.bn2(self.conv2(x)))
            return self.fc(flow.flatten(x, 1))

    flow.manual_seed(0)
    model = FlowNet()
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = flow.optim.SGD([{"params": decay}, {"params": no_decay}], lr=BASE_LR, momentum=MOMENTUM)
    sched = bridge.to_oneflow(plan, opt)  # writes each group's base lr / weight_decay / momentum
    print(f"lowered to {type(sched).__module__}.{type(sched).__name__}")

    want_lr = plan.values(args.steps, "lr")
    want_wd = plan.values(args.steps, "weight_decay")
    loss_fn = flow.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    with open(args.out, "w", newline="") as f:
        log = csv.writer(f)
        log.writerow(["step", "group", "lr", "weight_decay", "loss"])
        for step in range(args.steps):
            x = flow.tensor(rng.standard_normal((BATCH, 3, 16, 16), dtype=np.float32))
            y = flow.tensor(rng.integers(0, 10, BATCH).astype(np.int64))
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            for g, gname in enumerate(GROUP_NAMES):
                lr, wd = float(opt.param_groups[g]["lr"]), float(opt.param_groups[g]["weight_decay"])
                log.writerow([step, gname, repr(lr), repr(wd), f"{float(loss.numpy()):.6f}"])
                tol = 1e-12 * max(abs(want_lr[step, g]), plan.bases("lr")[g])
                assert abs(lr - want_lr[step, g]) <= tol, (step, gname, lr, want_lr[step, g])
                assert wd == want_wd[step, g], (step, gname, wd)
            opt.step()
            sched.step()
    print(f"oneflow: {args.steps} steps, lr and weight_decay of groups {list(GROUP_NAMES)} match the plan "
          f"at every step (final loss {float(loss.numpy()):.4f}); log in {args.out}")


if __name__ == "__main__":
    main()
