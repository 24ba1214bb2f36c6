"""A small real PyTorch training run: conv net on synthetic data, SGD + momentum, no weight
decay on norm/bias parameters, linear warm-up then cosine (SequentialLR), stepped per
iteration. Logs the lr and weight_decay every param group uses at every update to a CSV.

    python train_torch.py --steps 200 --out torch_log.csv
"""

from __future__ import annotations

import argparse
import csv

import torch

BASE_LR, MOMENTUM, WEIGHT_DECAY, BATCH = 0.1, 0.9, 5e-4, 16
GROUP_NAMES = ("decay", "no_decay")


def warmup_steps(steps: int) -> int:
    return max(1, steps // 10)


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(16)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(32)
        self.fc = torch.nn.Linear(32 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(x.flatten(1))


def build(model: torch.nn.Module, steps: int):
    """The recipe: optimizer with a no-decay group for norm weights and biases, warm-up + cosine."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": WEIGHT_DECAY},
                           {"params": no_decay, "weight_decay": 0.0}], lr=BASE_LR, momentum=MOMENTUM)
    w = warmup_steps(steps)
    L = torch.optim.lr_scheduler
    sched = L.SequentialLR(opt, [L.LinearLR(opt, start_factor=0.01, total_iters=w),
                                 L.CosineAnnealingLR(opt, T_max=steps - w, eta_min=1e-4)], milestones=[w])
    return opt, sched


def synthetic_batch(step: int):
    """Deterministic synthetic data (NumPy, so the MindSpore port sees the same batches)."""
    import numpy as np

    rng = np.random.default_rng(step)
    x = rng.standard_normal((BATCH, 3, 16, 16), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, y


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", default="torch_log.csv")
    ap.add_argument("--plan-out", help="also write the recipe's plan (bridge.from_torch) to this JSON file")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    model = TorchNet()
    opt, sched = build(model, args.steps)
    if args.plan_out:  # for ports that cannot import torch (OneFlow runs on Python <= 3.10)
        import bridge

        bridge.from_torch(sched).dump(args.plan_out)
    loss_fn = torch.nn.CrossEntropyLoss()
    with open(args.out, "w", newline="") as f:
        log = csv.writer(f)
        log.writerow(["step", "group", "lr", "weight_decay", "loss"])
        for step in range(args.steps):
            x, y = synthetic_batch(step)
            loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
            opt.zero_grad()
            loss.backward()
            # the values this update uses, read from the optimizer right before it steps
            for g, group in enumerate(opt.param_groups):
                log.writerow([step, GROUP_NAMES[g], repr(group["lr"]), repr(group["weight_decay"]),
                              f"{loss.item():.6f}"])
            opt.step()
            sched.step()
    print(f"torch: {args.steps} steps, final loss {loss.item():.4f}, log in {args.out}")


if __name__ == "__main__":
    main()
