"""An MMEngine config's param_scheduler -> a per-step MindSpore lr list (.npy), checked.

1. ``bridge.load_config`` reads the config (nothing executed), ``bridge.from_mmengine`` gives
   the plan, ``plan.save_npy`` streams ``--steps`` values (float32, what MindSpore stores) to
   disk.
2. Real MMEngine schedulers (built from the same config through its registry, on a torch
   SGD optimizer) are stepped like ParamSchedulerHook through the whole run; the lr they
   hold at ~2,000 sampled updates (plus every milestone and the warm-up end) must equal the
   list: identical in float32 and within 1e-12 of the float64 plan.
3. If MindSpore is installed, the list is given to a real ``nn.Momentum`` and its
   ``get_lr()`` is read at sampled ``global_step`` values.

    python make_list.py --steps 1000000 --out lr.npy
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import numpy as np

import bridge

HERE = os.path.dirname(os.path.abspath(__file__))


def sample_points(n: int, epoch_length: int, warmup_end: int, milestones, k: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(0)
    pts = set(rng.integers(0, n, k).tolist()) | {0, 1, n - 1}
    for b in [warmup_end] + [m * epoch_length for m in milestones]:
        pts |= {b - 1, b, b + 1}
    return np.array(sorted(p for p in pts if 0 <= p < n))


def mmengine_values(cfgs, lr: float, momentum: float, wd: float, epoch_length: int, max_epochs: int,
                    at: np.ndarray) -> np.ndarray:
    """Step real MMEngine schedulers like ParamSchedulerHook; the lr at the updates in ``at``."""
    import mmengine.optim  # noqa: F401  (registers the schedulers)
    import torch
    from mmengine.registry import PARAM_SCHEDULERS

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=wd)
    scheds = []
    for c in copy.deepcopy(cfgs):  # Runner._build_param_scheduler: default end = max_epochs / max_iters
        c.setdefault("end", max_epochs if c.get("by_epoch", True) else max_epochs * epoch_length)
        scheds.append(PARAM_SCHEDULERS.build(c, default_args=dict(optimizer=opt, epoch_length=epoch_length)))
    iter_based = [s for s in scheds if not s.by_epoch]
    epoch_based = [s for s in scheds if s.by_epoch]
    group = opt.param_groups[0]
    want = set(at.tolist())
    out = []
    t = 0
    for _ in range(max_epochs):
        for _ in range(epoch_length):
            if t in want:
                out.append(group["lr"])  # what update t uses (ParamSchedulerHook steps after it)
            opt.step()
            for s in iter_based:        # after_train_iter
                s.step()
            t += 1
        for s in epoch_based:           # after_train_epoch
            s.step()
    return np.array(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=os.path.join(HERE, "faster_rcnn_20e.py"))
    ap.add_argument("--steps", type=int, default=1_000_000, help="total updates (a multiple of max_epochs)")
    ap.add_argument("--out", default="lr.npy")
    args = ap.parse_args(argv)

    cfg = bridge.load_config(args.config)
    max_epochs = int(cfg["train_cfg"]["max_epochs"])
    if args.steps % max_epochs:
        raise SystemExit(f"--steps must be a multiple of max_epochs ({max_epochs})")
    epoch_length = args.steps // max_epochs
    o = cfg["optim_wrapper"]["optimizer"]
    plan = bridge.from_mmengine(cfg["param_scheduler"], bases={"lr": [o["lr"]]},
                                epoch_length=epoch_length, max_epochs=max_epochs)

    t0 = time.perf_counter()
    plan.save_npy(args.out, args.steps, "lr", dtype="float32")
    lrs = np.load(args.out, mmap_mode="r")[:, 0]
    print(f"wrote {args.out}: {lrs.shape[0]:,} float32 lrs in {time.perf_counter() - t0:.2f} s "
          f"(epoch_length {epoch_length}, {max_epochs} epochs)")

    warm = next(c for c in cfg["param_scheduler"] if c["type"] == "LinearLR")
    steps = next(c for c in cfg["param_scheduler"] if c["type"] == "MultiStepLR")
    at = sample_points(args.steps, epoch_length, int(warm["end"]), steps["milestones"])
    t0 = time.perf_counter()
    theirs = mmengine_values(cfg["param_scheduler"], o["lr"], o["momentum"], o["weight_decay"],
                             epoch_length, max_epochs, at)
    ours64 = plan.at(at)[:, 0]
    assert np.array_equal(np.asarray(lrs[at]), np.float32(theirs)), "list differs from MMEngine in float32"
    err = np.abs(ours64 - theirs) / np.maximum(np.abs(theirs), o["lr"])
    assert err.max() <= 1e-12, f"float64 plan differs from MMEngine by {err.max():.3g} (relative)"
    print(f"MMEngine stepped {args.steps:,} updates in {time.perf_counter() - t0:.1f} s: "
          f"{at.size} sampled lrs identical in float32, max float64 rel. error {err.max():.1e}")

    try:
        import mindspore as ms
    except ImportError:
        print("MindSpore not installed: skipped the optimizer check")
        return
    from bridge.groups import state

    w = ms.Parameter(ms.Tensor(np.zeros(1, np.float32)), name="w")
    opt = ms.nn.Momentum([w], learning_rate=ms.Tensor(np.asarray(lrs)), momentum=o["momentum"])
    for t in at[:: max(1, at.size // 50)]:
        state.resume_mindspore(opt, int(t))
        assert float(opt.get_lr().asnumpy()) == lrs[t], t
    print("mindspore.nn.Momentum reads the same lr at sampled global_step values")


if __name__ == "__main__":
    main()
