"""The MindSpore graph-mode port of train_torch.py, made with sched-bridge.

The PyTorch recipe (optimizer groups + SequentialLR) is built as in the original and read
with ``bridge.from_torch``; ``translate_optimizer`` turns the torch optimizer into
``mindspore.nn.Momentum`` with the same groups, per-step lr lists and weight decays. The
net trains in GRAPH_MODE with ``nn.TrainOneStepCell``. Before every update the script reads
the lr and weight decay each group will use from the optimizer itself (``get_lr()`` and
``get_weight_decay()`` at the current ``global_step``) and logs them to a CSV.

    python train_mindspore.py --steps 200 --out mindspore_log.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mindspore as ms
from mindspore import nn
from train_torch import GROUP_NAMES, TorchNet, build, synthetic_batch

import bridge
from bridge.groups import translate_optimizer


class MsNet(nn.Cell):
    """TorchNet in MindSpore (same layer names: bn.weight/bias are bn.gamma/beta here)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, pad_mode="pad", padding=1, has_bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, pad_mode="pad", padding=1, has_bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Dense(32 * 8 * 8, 10)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()

    def construct(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        return self.fc(self.flatten(x))


def group_of_parameters(model, optimizer) -> list:
    """(torch parameter name, index of its group in the torch optimizer)."""
    ids = {id(p): g for g, grp in enumerate(optimizer.param_groups) for p in grp["params"]}
    return [(name, ids[id(p)]) for name, p in model.named_parameters()]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", default="mindspore_log.csv")
    args = ap.parse_args(argv)

    # 1. the torch recipe, exactly as the original builds it (never stepped here)
    tnet = TorchNet()
    topt, tsched = build(tnet, args.steps)
    plan = bridge.from_torch(tsched)

    # 2. the port: same groups, lr lists and weight decays on a MindSpore optimizer
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(0)
    net = MsNet()
    opt = translate_optimizer(topt, plan, params=net, source_model=tnet, total_steps=args.steps)
    assert type(opt).__name__ == "Momentum"

    # which optimizer parameter belongs to which torch group (by torch name -> MindSpore name)
    from bridge.groups import paramwise

    ms_name = {info.name: (info.native or info.name) for info in paramwise.describe(net, names="torch")}
    group_by_ms_name = {ms_name[n]: g for n, g in group_of_parameters(tnet, topt)}
    param_group = [group_by_ms_name[p.name] for p in opt.parameters]

    loss_net = nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"))
    train_step = nn.TrainOneStepCell(loss_net, opt)
    train_step.set_train()

    with open(args.out, "w", newline="") as f:
        log = csv.writer(f)
        log.writerow(["step", "group", "lr", "weight_decay", "loss"])
        for step in range(args.steps):
            assert int(opt.global_step.asnumpy().reshape(-1)[0]) == step
            # what the next update reads: per-parameter lr (learning_rate[global_step]) and weight decay
            lrs = [float(v.asnumpy()) for v in opt.get_lr()]
            wds = [float(np.asarray(v.asnumpy() if hasattr(v, "asnumpy") else v)) for v in opt.get_weight_decay()]
            x, y = synthetic_batch(step)
            loss = train_step(ms.Tensor(x), ms.Tensor(y.astype(np.int32)))
            for g, gname in enumerate(GROUP_NAMES):
                used = {(lr, wd) for lr, wd, pg in zip(lrs, wds, param_group) if pg == g}
                assert len(used) == 1, f"group {gname}: its parameters disagree: {used}"
                lr, wd = used.pop()
                log.writerow([step, gname, repr(lr), repr(wd), f"{float(loss.asnumpy()):.6f}"])
    print(f"mindspore: {args.steps} steps in GRAPH_MODE, final loss {float(loss.asnumpy()):.4f}, log in {args.out}")


if __name__ == "__main__":
    main()
