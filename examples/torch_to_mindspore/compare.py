"""Assert that the MindSpore port used the same lr and weight decay as PyTorch at every
update of every param group (identical after rounding to float32, MindSpore's dtype).

    python compare.py torch_log.csv mindspore_log.csv
"""

from __future__ import annotations

import csv
import sys

import numpy as np


def read(path: str):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    keys = [(int(r["step"]), r["group"]) for r in rows]
    vals = np.array([[float(r["lr"]), float(r["weight_decay"])] for r in rows])
    return keys, vals


def compare(torch_csv: str, mindspore_csv: str) -> int:
    tk, tv = read(torch_csv)
    mk, mv = read(mindspore_csv)
    if tk != mk:
        raise SystemExit(f"the logs cover different (step, group) rows: {len(tk)} vs {len(mk)}")
    if not tk:
        raise SystemExit("empty logs")
    same = np.float32(tv) == np.float32(mv)
    if not same.all():
        i = int(np.argwhere(~same)[0][0])
        raise SystemExit(f"first difference at step {tk[i][0]}, group {tk[i][1]}: "
                         f"torch lr/wd {tv[i].tolist()} vs mindspore {mv[i].tolist()}")
    steps = len({k[0] for k in tk})
    groups = sorted({k[1] for k in tk})
    print(f"identical in float32: lr and weight_decay of groups {groups} at all {steps} steps "
          f"(lr from {tv[:, 0].min():.6g} to {tv[:, 0].max():.6g})")
    return steps


if __name__ == "__main__":
    a, b = (sys.argv[1:3] if len(sys.argv) >= 3 else ("torch_log.csv", "mindspore_log.csv"))
    compare(a, b)
