"""A small PyTorch training script: the program being ported (it knows nothing of sched-bridge).

    python examples/capture_port/train_torch.py [--steps 12]

A conv + BatchNorm + linear classifier on fixed random batches; AdamW with two param groups
(no weight decay on norm and bias parameters), a 3-update linear warm-up then cosine decay,
the scheduler stepped once per optimizer update.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

BATCH, CLASSES = 8, 5


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)  # BatchNorm follows
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 6 * 6, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def batches(steps: int, seed: int = 0) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """The data: the same NumPy batches for any framework."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield (rng.standard_normal((BATCH, 3, 6, 6)).astype(np.float32),
               rng.integers(0, CLASSES, BATCH).astype(np.int32))


def build(steps: int) -> Tuple[nn.Module, torch.optim.Optimizer, Any]:
    torch.manual_seed(0)
    model = Net()
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and not n.startswith("bn.")]
    no_decay = [p for n, p in model.named_parameters() if not (n.endswith("weight") and not n.startswith("bn."))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=0.01, betas=(0.9, 0.99))
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps - 3, eta_min=1e-4)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[3])
    return model, opt, sched


def train(model: nn.Module, opt: torch.optim.Optimizer, sched: Any, steps: int) -> List[float]:
    losses = []
    model.train()
    for x, y in batches(steps):
        loss = nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y).long())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    args = ap.parse_args(argv)
    model, opt, sched = build(args.steps)
    losses = train(model, opt, sched, args.steps)
    print(f"torch: {args.steps} updates, loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
