"""Two schedulers on one optimizer, both stepped after every update (a common script shape):
a LinearLR warm-up and a CosineAnnealingLR, in the order given by --order. With --adamw: AdamW
with two param groups (weight decay 0.05 / 0) instead of SGD with one.
"""
import argparse

import torch


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--updates", type=int, default=40)
    p.add_argument("--order", choices=("warm-first", "cos-first"), default="warm-first")
    p.add_argument("--adamw", action="store_true")
    return p.parse_args()


def main(args):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 2))
    if args.adamw:
        decay = [p for n, p in model.named_parameters() if n.endswith("weight") and not n.startswith("1.")]
        rest = [p for n, p in model.named_parameters() if not (n.endswith("weight") and not n.startswith("1."))]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                                      lr=0.01, betas=(0.9, 0.99))
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=5)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=30, eta_min=1e-3)
    order = [warm, cos] if args.order == "warm-first" else [cos, warm]
    for _ in range(args.updates):
        x, y = torch.randn(4, 4), torch.randint(0, 2, (4,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for s in order:
            s.step()
    print("done")


if __name__ == "__main__":
    main(get_args())
