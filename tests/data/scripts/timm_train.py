"""The loop of timm's train.py with create_scheduler_v2: step_update(num_updates) after every
optimizer update, step(epoch + 1) after every epoch. Usage: timm_train.py [--sched cosine]
[--per-update] (step_on_epochs=False)."""
import argparse

import torch
from timm.scheduler import create_scheduler_v2


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sched", default="cosine")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--per-update", action="store_true")
    a = p.parse_args()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    loader = [(torch.randn(2, 4), torch.randint(0, 2, (2,))) for _ in range(7)]
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.05)
    lr_scheduler, num_epochs = create_scheduler_v2(
        optimizer, sched=a.sched, num_epochs=a.epochs, warmup_epochs=2, warmup_lr=1e-4, min_lr=1e-5,
        decay_epochs=2, decay_rate=0.5, step_on_epochs=not a.per_update, updates_per_epoch=len(loader))
    loss_fn = torch.nn.CrossEntropyLoss()
    updates_per_epoch = len(loader)
    for epoch in range(num_epochs):
        num_updates = epoch * updates_per_epoch
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            num_updates += 1
            lr_scheduler.step_update(num_updates=num_updates)
        lr_scheduler.step(epoch + 1)
    print("done", num_epochs * updates_per_epoch, "updates")


if __name__ == "__main__":
    main()
