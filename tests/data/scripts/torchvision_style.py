"""A torchvision classification-reference-style loop: StepLR stepped once per epoch (or, with
--sched-per-batch, after every micro-batch, --accum-steps micro-batches per update).

Tiny model on random tensors; the loop's shape is the reference's (train_one_epoch over the
data loader, then lr_scheduler.step()). Two param groups (no weight decay on norm/bias).
"""
import argparse

import torch


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=7)
    p.add_argument("--batches", type=int, default=13)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--lr-step-size", type=int, default=3)
    p.add_argument("--lr-gamma", type=float, default=0.5)
    p.add_argument("--accum-steps", type=int, default=1, help="micro-batches per optimizer update")
    p.add_argument("--sched-per-batch", action="store_true", help="step the scheduler after every micro-batch")
    return p.parse_args()


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)
        self.norm = torch.nn.LayerNorm(3)
        self.head = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.norm(self.fc(x)))


def train_one_epoch(model, criterion, optimizer, data, args, lr_scheduler):
    model.train()
    for i, (x, y) in enumerate(data):
        loss = criterion(model(x), y) / args.accum_steps
        loss.backward()
        if (i + 1) % args.accum_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
        if args.sched_per_batch:
            lr_scheduler.step()


def main(args):
    torch.manual_seed(0)
    model = Net()
    data = [(torch.randn(2, 4), torch.randint(0, 2, (2,))) for _ in range(args.batches)]
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if name.endswith("bias") or name.startswith("norm") else decay).append(p)
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=args.lr, momentum=0.9)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.lr_step_size, gamma=args.lr_gamma)
    criterion = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        train_one_epoch(model, criterion, optimizer, data, args, lr_scheduler)
        if not args.sched_per_batch:
            lr_scheduler.step()
    print("done", args.epochs * (args.batches // args.accum_steps), "updates")


if __name__ == "__main__":
    main(get_args())
