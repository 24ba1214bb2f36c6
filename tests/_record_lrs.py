"""Run a training script to its end and record the lr each param group really used at each
optimizer update (a global optimizer step pre-hook): the expected side of tests/test_capture.py.

    python tests/_record_lrs.py OUT.json SCRIPT [ARGS...]

Writes ``{"lrs": [[group0, group1, ...] per update], "optimizers": [lrs of each optimizer]}``:
``lrs`` are all updates in the order they happened, ``optimizers`` the same split per optimizer
(in the order they first updated). Independent of sched-bridge.
"""
import json
import runpy
import sys

from torch.optim.optimizer import register_optimizer_step_pre_hook


def main() -> None:
    out, script, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    rows = []
    per: dict = {}  # id of the optimizer's param_groups list (shared by wrappers) -> its rows

    def hook(opt, a, k):
        row = [float(g["lr"]) for g in opt.param_groups]
        rows.append(row)
        per.setdefault(id(opt.param_groups), []).append(row)

    register_optimizer_step_pre_hook(hook)
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")
    with open(out, "w") as fh:
        json.dump({"lrs": rows, "optimizers": list(per.values())}, fh)


if __name__ == "__main__":
    main()
