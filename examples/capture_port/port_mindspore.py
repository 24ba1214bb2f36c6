"""The port: train_torch.py's training run in MindSpore GRAPH_MODE, from the same start, with the
same per-update lr and weight decay -- and the probes proving it.

    PYTHONPATH=. python examples/capture_port/port_mindspore.py [--steps 12] [--out DIR]

1. the plan: ``bridge.capture`` runs the unchanged torch script, stops it once the schedule is
   known, and reads what its optimizer and scheduler do at each update of the whole run;
2. ``translate_optimizer``: the MindSpore optimizer for the torch one, with the plan lowered to
   per-update tables (AdamW -> nn.AdamWeightDecay, its missing bias correction folded in);
3. ``copy_weights``: the torch model's initial weights into the MindSpore net;
4. both runs trained on the same batches, a probe on each; ``compare`` says whether every
   group used the same lr / weight decay at every update (the MindSpore probe unfolds the
   AdamW fold, see docs/probes.md). Exit 0 when identical.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_torch

import bridge
from bridge.capture import optimizer_description, run_script
from bridge.probes import Trace, compare, mindspore_probe, torch_probe

HERE = Path(__file__).resolve().parent


def make_net() -> Any:
    """train_torch.Net in MindSpore, with the torch attribute names (so weights map by name)."""
    from mindspore import nn, ops

    class Net(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, pad_mode="pad", padding=1, has_bias=False)
            self.bn = nn.BatchNorm2d(8, momentum=0.9)  # MindSpore momentum = 1 - torch's 0.1
            self.fc = nn.Dense(8 * 6 * 6, train_torch.CLASSES)

        def construct(self, x: Any) -> Any:
            return self.fc(ops.relu(self.bn(self.conv(x))).reshape(x.shape[0], -1))

    return Net()


def train_mindspore(net: Any, opt: Any, steps: int) -> Trace:
    import mindspore as ms
    from mindspore import nn

    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")

    def forward(x: Any, y: Any) -> Any:
        return loss_fn(net(x), y)

    grad_fn = ms.value_and_grad(forward, None, opt.parameters)

    @ms.jit
    def train_step(x: Any, y: Any) -> Any:
        loss, grads = grad_fn(x, y)
        opt(grads)
        return loss

    probe = mindspore_probe(opt, fields=("lr", "weight_decay", "betas[0]"))
    net.set_train(True)
    for x, y in train_torch.batches(steps):
        train_step(ms.Tensor(x), ms.Tensor(y))
        probe.sync()  # outside Model.train: record the update just made
    return probe.trace


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--out", default="capture_port_out")
    args = ap.parse_args(argv)
    import mindspore as ms

    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)

    # 1. the plan: the unchanged script run under a capture, stopped as soon as its schedule is known
    #    (the same as `sched-bridge capture -o plan.json --updates N -- train_torch.py --steps N`);
    #    the run's length is given: its cosine does not say where the run ends
    cap = run_script(str(HERE / "train_torch.py"), ["--steps", str(args.steps)], updates=args.steps)
    print(cap.report())
    plan = cap.plan
    model, opt, sched = train_torch.build(args.steps)  # the torch run to compare with, same seed
    net = make_net()
    print(bridge.copy_weights(model, net))
    # 2. the optimizer the script built (its groups, parameter names and hyper-parameters, as captured)
    mopt = bridge.translate_optimizer(optimizer_description(cap), plan, params=net, total_steps=plan.total_steps)
    print(f"optimizer: torch {type(opt).__name__} -> mindspore.nn.{type(mopt).__name__}")

    probe = torch_probe(opt, fields=("lr", "weight_decay", "betas[0]"))
    train_torch.train(model, opt, sched, args.steps)
    probe.remove()
    t_ms = train_mindspore(net, mopt, args.steps)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    probe.trace.save(out / "torch.csv")
    t_ms.save(out / "mindspore.json")
    results = {"torch vs mindspore": compare(probe.trace, t_ms),
               "torch vs plan": compare(probe.trace, plan, rtol=1e-12),
               "mindspore vs plan": compare(t_ms, plan)}
    ok = len(probe.trace) == len(t_ms) == args.steps
    for name, rep in results.items():
        print(f"== {name}\n{rep.format()}")
        ok = ok and rep.ok
    theirs = bridge.weights.state_dict_arrays(net)
    drift = max(float(np.max(np.abs(theirs[k] - v.numpy()))) for k, v in model.state_dict().items() if k in theirs)
    print(f"max |torch - mindspore| over all weights after {args.steps} updates: {drift:.2e}")
    ok = ok and drift < 1e-5
    print("IDENTICAL per-update values" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("GLOG_v", "3")
    sys.exit(main())
