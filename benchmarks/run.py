#!/usr/bin/env python
"""sched-bridge benchmarks, measured against the native frameworks in one run.

    python benchmarks/run.py [--quick] [--only NAME[,NAME...]] [-o benchmarks/results.json]
    python benchmarks/run.py --render docs/performance.md [-i benchmarks/results.json]

Cases (``--only``): values, native_list, step, mindspore, import, stream, stream_kinds. Every figure is
a median of repeats; ratios are taken between timings from the same run. ``--quick`` runs
every case at a tiny size (a harness check, not a measurement). ``--render`` writes the
tables of docs/performance.md from a results file (and from benchmarks/results_before.json
when present: the before/after table). Not part of the unit tests.
"""

# ruff: noqa: B023, UP031  (lambdas are called at once; snippets are %-templates)
from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata as md
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

CASES = ("values", "native_list", "step", "mindspore", "import", "stream", "stream_kinds")
SCHEMA = 1
BASES = (0.1, 0.05, 0.01)
ETA_MIN = 1e-5
FRAMEWORKS = ("torch", "mindspore", "oneflow", "mmengine")

FULL = dict(values_n=(10**6, 10**7), values_rep=(7, 5), slow_cap_s=4.0, native_n=10**5, native_extrap=10**6,
            native_rep=3, ms_list_n=10**6, ms_list_rep=3, step_k=20000, step_rep=5, ms_steps=300,
            ms_mem_n=10**7, import_rep=7, stream_n=10**8, kinds_n=10**8, kinds_rep=3)
QUICK = dict(values_n=(10**4,), values_rep=(1,), slow_cap_s=4.0, native_n=10**3, native_extrap=10**4,
             native_rep=1, ms_list_n=10**4, ms_list_rep=1, step_k=300, step_rep=2, ms_steps=10,
             ms_mem_n=10**4, import_rep=2, stream_n=10**6, kinds_n=10**6, kinds_rep=1)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeats: int) -> List[float]:
    """Wall times of ``repeats`` calls (gc collected before each, not disabled)."""
    out = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def paired(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple:
    """Median wall times of ``a`` and ``b``, alternated so both see the same machine load."""
    ta: List[float] = []
    tb: List[float] = []
    a()  # warm-up, untimed: the first call of a size pays the process's page faults
    b()
    for _ in range(repeats):
        ta += timed(a, 1)
        tb += timed(b, 1)
    return med(ta), med(tb)


def med(xs: List[float]) -> float:
    return float(statistics.median(xs))


def row(case: str, label: str, *, n: Optional[int] = None, ours: Optional[float] = None,
        ref: Optional[float] = None, ours_what: str = "", ref_what: str = "", unit: str = "s",
        goal: str = "", met: Optional[bool] = None, note: str = "", **extra: Any) -> Dict[str, Any]:
    """One result row. ``speedup`` = ref / ours (> 1: ours is faster / smaller)."""
    r: Dict[str, Any] = dict(case=case, label=label, n=n, ours=ours, ref=ref, ours_what=ours_what,
                             ref_what=ref_what, unit=unit, goal=goal, met=met, note=note)
    r["speedup"] = (ref / ours) if (ours and ref) else None
    r.update(extra)
    return r


def _version(dist: str) -> Optional[str]:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def machine() -> Dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    return {
        "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "numpy": np.__version__,
        "torch": _version("torch"), "mindspore": _version("mindspore"),
        "git_commit": commit + ("+dirty" if dirty else ""),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def curve(N: int, start_factor: float = 0.01):
    """Linear warm-up (1% of N steps) then cosine to ETA_MIN: the node and its sizes."""
    from bridge.ir import CosineAnnealing, Linear, Sequential

    W = max(1, N // 100)
    node = Sequential((Linear(start_factor, 1.0, W), CosineAnnealing(N - W, eta_min=ETA_MIN)), (W,))
    return node, W, N - W


def numpy_curve(N: int, W: int, T: int, bases: Any, start_factor: float = 0.01) -> np.ndarray:
    """The hand-written NumPy closed form (the practical limit)."""
    b = np.asarray(bases, dtype=np.float64)
    out = np.empty((N, b.shape[0]))
    w = min(W, N)
    t = np.arange(w, dtype=np.float64)
    out[:w] = (start_factor + (1.0 - start_factor) / W * t)[:, None] * b
    if N > W:
        c = np.cos(np.arange(N - W, dtype=np.float64) * (np.pi / T))
        c += 1.0
        c *= 0.5
        out[W:] = ETA_MIN + c[:, None] * (b - ETA_MIN)
    return out


def torch_opt(bases: Any = BASES):
    import torch

    ps = [torch.nn.Parameter(torch.zeros(1)) for _ in bases]
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, bases)], lr=bases[0])


def torch_curve(opt: Any, N: int, W: int, T: int):
    from torch.optim import lr_scheduler as L

    return L.SequentialLR(opt, [L.LinearLR(opt, 0.01, 1.0, W), L.CosineAnnealingLR(opt, T, eta_min=ETA_MIN)], [W])


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


# ---------------------------------------------------------------------------
# 1. plan.values vs NumPy
# ---------------------------------------------------------------------------


def case_values(cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    import bridge

    rows = []
    have_torch = _version("torch") is not None
    slow: Dict[str, float] = {}
    for N, rep in zip(cfg["values_n"], cfg["values_rep"]):
        node, W, T = curve(N)
        plan = bridge.Plan.single(node, BASES)
        t_ir, t_np = paired(lambda: plan.values(N), lambda: numpy_curve(N, W, T, BASES), rep)
        diff = rel_diff(plan.values(N), numpy_curve(N, W, T, BASES))
        rows.append(row("values", "IR Sequential(Linear, CosineAnnealing), 3 groups", n=N, ours=t_ir, ref=t_np,
                        ours_what="plan.values", ref_what="hand-written NumPy", goal="ours <= 1.5x NumPy",
                        met=t_ir <= 1.5 * t_np, max_rel_diff=diff, repeats=rep))
        if not have_torch:
            continue
        opt = torch_opt()
        imported = bridge.from_torch(torch_curve(opt, N, W, T))
        lone_opt = torch_opt()
        from torch.optim import lr_scheduler as L

        lone = bridge.from_torch(L.CosineAnnealingLR(lone_opt, N, eta_min=ETA_MIN))
        cos_ref = lambda: ETA_MIN + (np.cos(np.arange(N) * (np.pi / N))[:, None] + 1.0) * 0.5 * (  # noqa: E731
            np.asarray(BASES) - ETA_MIN)
        for key, label, p, ref_what, ref_fn in (
                ("seq", "from_torch(SequentialLR(LinearLR, CosineAnnealingLR)), 3 groups", imported,
                 "hand-written NumPy", lambda: numpy_curve(N, W, T, BASES)),
                ("lone", "from_torch(CosineAnnealingLR) alone (recursive chain), 3 groups", lone,
                 "NumPy cosine closed form", cos_ref)):
            prev = slow.get(key)
            if prev is not None and prev * N > cfg["slow_cap_s"]:
                est = prev * N
                t_ref = med(timed(ref_fn, rep))
                rows.append(row("values", label, n=N, ours=est, ref=t_ref, ours_what="plan.values",
                                ref_what=ref_what, goal="ours <= 1.5x NumPy", met=est <= 1.5 * t_ref,
                                note="extrapolated linearly from the smaller size (too slow to run here)",
                                measured=False))
                continue
            r = 1 if prev is not None and prev * N > 1.0 else rep
            t_p, t_ref = paired(lambda: p.values(N, "lr"), ref_fn, r)
            slow[key] = t_p / N
            diff = rel_diff(p.values(N, "lr"), ref_fn())
            rows.append(row("values", label, n=N, ours=t_p, ref=t_ref, ours_what="plan.values",
                            ref_what=ref_what, goal="ours <= 1.5x NumPy", met=t_p <= 1.5 * t_ref,
                            max_rel_diff=diff, repeats=r, measured=True))
    return rows


# ---------------------------------------------------------------------------
# 2. the list the way users produce it today
# ---------------------------------------------------------------------------


def _torch_loop(N: int, W: int, T: int) -> List[List[float]]:
    opt = torch_opt()
    s = torch_curve(opt, N, W, T)
    out = []
    groups = opt.param_groups
    for _ in range(N):
        out.append([g["lr"] for g in groups])
        s.step()
    return out


def case_native_list(cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    import bridge

    rows = []
    n, big, rep = cfg["native_n"], cfg["native_extrap"], cfg["native_rep"]
    if _version("torch") is not None:
        warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")
        for N, measured in ((n, True), (big, False)):
            node, W, T = curve(N)
            plan = bridge.Plan.single(node, BASES)
            t_ours, t_list = paired(lambda: plan.values(N),
                                    lambda: [plan.values(N)[:, g].tolist() for g in range(len(BASES))], max(rep, 3))
            if measured:
                t_torch = med(timed(lambda: _torch_loop(N, W, T), rep))
                per = t_torch / N
                note = "measured"
            else:
                t_torch = per * N
                note = f"torch time extrapolated linearly from the {n:,}-step run (stepping is O(1) per step)"
            for what, t, goal in (("plan.values (ndarray)", t_ours, True),
                                  ("per-group lists: plan.values(N)[:, g].tolist()", t_list, False)):
                rows.append(row("native_list", f"torch SequentialLR stepped N times, 3 groups vs {what}", n=N,
                                ours=t, ref=t_torch, ours_what=what, ref_what="torch step()+param_groups loop",
                                goal=">= 100x faster" if goal else "(information: Python floats)",
                                met=(t_torch / t >= 100) if goal else None, note=note, ref_measured=measured))
    if _version("mindspore") is not None:
        import mindspore.nn as msnn

        N = cfg["ms_list_n"]
        rep = cfg["ms_list_rep"]
        node, W, T = curve(N, start_factor=0.0)
        plan = bridge.Plan.single(node, BASES)

        def ms_lists() -> List[List[float]]:
            return [msnn.warmup_lr(b, W, 1, W) + msnn.cosine_decay_lr(ETA_MIN, b, T, 1, T) for b in BASES]

        def ours() -> List[List[float]]:
            return [bridge.to_mindspore_list(plan, N, group=g) for g in range(len(BASES))]

        t_ours, t_ms = paired(ours, ms_lists, rep)
        a = np.asarray(ms_lists(), dtype=np.float32)
        b = np.asarray(ours(), dtype=np.float32)
        same = bool(np.array_equal(a, b))
        rows.append(row("native_list", "MindSpore nn.warmup_lr + nn.cosine_decay_lr lists, 3 groups", n=N,
                        ours=t_ours, ref=t_ms, ours_what="to_mindspore_list x3", ref_what="MindSpore generators x3",
                        goal="faster", met=t_ours < t_ms, identical_float32=same,
                        note="same curve (warm-up from 0); float32-identical: " + ("yes" if same else "NO")))
    return rows


# ---------------------------------------------------------------------------
# 3. step() of the lowered torch scheduler vs the native one
# ---------------------------------------------------------------------------


def torch_depth(opt: Any, depth: int, N: int = 10**6, W: int = 100):
    """depth 1: CosineAnnealingLR; 2: SequentialLR(LinearLR, 1); 3: ChainedScheduler(2, ExponentialLR);
    4: ChainedScheduler(3, StepLR)."""
    from torch.optim import lr_scheduler as L

    s: Any = L.CosineAnnealingLR(opt, N, eta_min=ETA_MIN)
    if depth >= 2:
        s = L.SequentialLR(opt, [L.LinearLR(opt, 0.01, 1.0, W), s], [W])
    if depth >= 3:
        s = L.ChainedScheduler([s, L.ExponentialLR(opt, 0.999999)], optimizer=opt)
    if depth >= 4:
        s = L.ChainedScheduler([s, L.StepLR(opt, 10**5, 0.5)], optimizer=opt)
    return s


def _per_step(make: Callable[[], Any], K: int, rep: int) -> float:
    times = []
    for _ in range(rep):
        s = make()
        step = s.step
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(K):
            step()
        times.append((time.perf_counter() - t0) / K)
    return med(times)


def case_step(cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    if _version("torch") is None:
        return []
    import bridge

    warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")
    K, rep = cfg["step_k"], cfg["step_rep"]
    rows = []
    native1 = None
    plans = {}
    for d in (1, 2, 3, 4):
        plans[d] = bridge.from_torch(torch_depth(torch_opt(), d))
    for d in (1, 2, 3, 4):
        t_nat = _per_step(lambda: torch_depth(torch_opt(), d), K, rep)
        t_ps = _per_step(lambda: bridge.to_torch(plans[d], torch_opt(), prefer_native=False), K, rep)
        if native1 is None:
            native1 = t_nat
        default = type(bridge.to_torch(plans[d], torch_opt())).__name__
        rows.append(row("step", f"depth {d}: {type(torch_depth(torch_opt(), d)).__name__}", n=d, ours=t_ps,
                        ref=t_nat, ours_what="PlanScheduler.step()", ref_what="native step()", unit="s/step",
                        goal="<= native depth-1 step", met=t_ps <= native1, native_depth1=native1,
                        to_torch_default=default, steps=K, repeats=rep))
    return rows


# ---------------------------------------------------------------------------
# 4. MindSpore graph-mode train step
# ---------------------------------------------------------------------------


def _ms_own_cell(W: int, T: int, base: float):
    import mindspore as ms
    import mindspore.nn as msnn
    from mindspore.nn.learning_rate_schedule import LearningRateSchedule

    class WarmupCosine(LearningRateSchedule):  # what users write with MindSpore's own cells
        def __init__(self) -> None:
            super().__init__()
            self.warm = msnn.WarmUpLR(base, W)
            self.cos = msnn.CosineDecayLR(ETA_MIN, base, T)
            self.W = ms.Tensor(W, ms.int32)

        def construct(self, global_step):  # type: ignore[no-untyped-def]
            if global_step < self.W:
                return self.warm(global_step)
            return self.cos(global_step - self.W)

    return WarmupCosine()


def case_mindspore(cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    if _version("mindspore") is None:
        return []
    import mindspore as ms
    import mindspore.nn as msnn

    import bridge

    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        ms.set_device("CPU")
    except Exception:  # older MindSpore
        ms.set_context(device_target="CPU")
    N, K = cfg["ms_mem_n"], cfg["ms_steps"]
    node, W, T = curve(N, start_factor=0.0)
    plan = bridge.Plan.single(node, BASES[0])
    x = ms.Tensor(np.ones((8, 16), np.float32))
    y = ms.Tensor(np.zeros((8, 1), np.float32))

    def drive(make_lr: Callable[[], Any]) -> Dict[str, float]:
        t0 = time.perf_counter()
        lr = make_lr()
        t_lr = time.perf_counter() - t0
        net = msnn.Dense(16, 1)
        t0 = time.perf_counter()
        opt = msnn.Momentum(net.trainable_params(), learning_rate=lr, momentum=0.9)
        t_opt = time.perf_counter() - t0
        train = msnn.TrainOneStepCell(msnn.WithLossCell(net, msnn.MSELoss()), opt)
        train.set_train()
        t0 = time.perf_counter()
        train(x, y).asnumpy()
        t_compile = time.perf_counter() - t0
        per = []
        for _ in range(K):
            t0 = time.perf_counter()
            train(x, y).asnumpy()
            per.append(time.perf_counter() - t0)
        return dict(make=t_lr, opt=t_opt, compile=t_compile, step=med(per))

    small = bridge.Plan.single(curve(1000)[0], BASES[0])
    drive(lambda: bridge.to_mindspore_list(small, 1000))  # warm-up: MindSpore's first graph pays extra
    ms_own = drive(lambda: _ms_own_cell(W, T, BASES[0]))
    cell = drive(lambda: bridge.to_mindspore_cell(plan))
    lst_holder: Dict[str, Any] = {}

    def make_list() -> List[float]:
        lst_holder["l"] = bridge.to_mindspore_list(plan, N)
        return lst_holder["l"]

    lst = drive(make_list)
    li = lst_holder.pop("l")
    list_bytes = sys.getsizeof(li) + len(li) * sys.getsizeof(0.5)
    del li
    rows = [
        row("mindspore", "train step, lowered cell vs MindSpore's own cells", ours=cell["step"], ref=ms_own["step"],
            ours_what="to_mindspore_cell", ref_what="WarmUpLR+CosineDecayLR cell", unit="s/step",
            goal="no slower", met=cell["step"] <= ms_own["step"] * 1.05, steps=K),
        row("mindspore", "train step, list vs MindSpore's own cells", n=N, ours=lst["step"], ref=ms_own["step"],
            ours_what="to_mindspore_list", ref_what="WarmUpLR+CosineDecayLR cell", unit="s/step", steps=K),
        row("mindspore", "first call (graph compile), lowered cell vs own cells", ours=cell["compile"],
            ref=ms_own["compile"], ours_what="to_mindspore_cell", ref_what="own cells"),
        row("mindspore", "first call (graph compile), list vs own cells", n=N, ours=lst["compile"],
            ref=ms_own["compile"], ours_what="to_mindspore_list", ref_what="own cells"),
        row("mindspore", "building the lr + optimizer: lowered cell vs list", n=N,
            ours=cell["make"] + cell["opt"], ref=lst["make"] + lst["opt"], ours_what="to_mindspore_cell",
            ref_what="to_mindspore_list"),
        row("mindspore", "memory of the lr: Python list vs float32 Tensor in the optimizer", n=N,
            ours=4.0 * N, ref=float(list_bytes), ours_what="float32 Tensor", ref_what="Python list of floats",
            unit="bytes", note="the lowered cell holds a few scalars"),
    ]
    return rows


# ---------------------------------------------------------------------------
# 5. import time, streaming to .npy
# ---------------------------------------------------------------------------

_IMPORT_SNIPPET = """
import sys, time, json
t0 = time.perf_counter()
import bridge
t1 = time.perf_counter()
numpy_loaded = "numpy" in sys.modules
bridge.Plan  # first use: loads NumPy and the IR
t2 = time.perf_counter()
print(json.dumps({"bridge": t1 - t0, "first_use": t2 - t1, "numpy_loaded": numpy_loaded,
                  "frameworks": [m for m in %r if m in sys.modules]}))
""" % (FRAMEWORKS,)

_NUMPY_SNIPPET = """
import time, json
t0 = time.perf_counter()
import numpy
print(json.dumps({"numpy": time.perf_counter() - t0}))
"""


def _sub(code: str, timeout: int = 300) -> Dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"subprocess failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def case_import(cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    runs = [_sub(_IMPORT_SNIPPET) for _ in range(cfg["import_rep"])]
    npy = med([_sub(_NUMPY_SNIPPET)["numpy"] for _ in range(cfg["import_rep"])])
    fw = sorted({m for r in runs for m in r["frameworks"]})
    own = med([r["bridge"] for r in runs])
    first = med([r["first_use"] for r in runs])
    lazy_np = not any(r["numpy_loaded"] for r in runs)
    note = "no framework imported" if not fw else "FRAMEWORKS IMPORTED: " + ", ".join(fw)
    return [
        row("import", "import bridge (cold process)", ours=own, goal="< 50 ms", met=own < 0.05 and not fw,
            ours_what="fresh subprocess", note=note + ("; NumPy not loaded yet" if lazy_np else "; NumPy loaded"),
            frameworks_imported=fw, repeats=len(runs)),
        row("import", "first use (bridge.Plan: loads NumPy + the IR) vs import numpy alone", ours=first, ref=npy,
            ours_what="bridge.Plan", ref_what="import numpy", note="both in fresh processes"),
    ]


_STREAM_SNIPPET = """
import json, os, sys, time
import numpy as np

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

sys.path.insert(0, %(root)r)
sys.path.insert(0, os.path.join(%(root)r, "benchmarks"))
import bridge
from run import curve, BASES
N = %(n)d
node, W, T = curve(N)
plan = bridge.Plan.single(node, BASES[0])
hwm0 = status("VmHWM")
t0 = time.perf_counter()
plan.save_npy(%(path)r, N)
dt = time.perf_counter() - t0
peak = status("VmHWM")
size = os.path.getsize(%(path)r)
a = np.load(%(path)r, mmap_mode="r")
ok = a.shape == (N, 1) and abs(float(a[N // 2, 0]) - float(plan.value(N // 2)[0])) < 1e-15
del a
print(json.dumps({"time": dt, "peak_rss": peak, "hwm_before": hwm0, "size": size,
                  "ok": ok}))
"""


def case_stream(cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    N = cfg["stream_n"]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "lr.npy")
        r = _sub(_STREAM_SNIPPET % dict(root=str(ROOT), n=N, path=path), timeout=600)
    grow = r["peak_rss"] - r["hwm_before"]
    return [
        row("stream", "plan.save_npy, 1 group float64: time", n=N, ours=r["time"], ours_what="plan.save_npy",
            note=f"{N / r['time'] / 1e6:.0f} M steps/s; file readable and correct: {r['ok']}"),
        row("stream", "plan.save_npy: peak RSS vs file size", n=N, ours=float(r["peak_rss"]), ref=float(r["size"]),
            ours_what="peak RSS of the process", ref_what=".npy file size", unit="bytes",
            goal="bounded (<< file size)", met=grow < 0.25 * r["size"],
            note=f"RSS grew by {grow / 2**20:.0f} MiB while writing; before: {r['hwm_before'] / 2**20:.0f} MiB",
            rss_growth=grow),
    ]


# Streaming recursive schedules against the simplest kinds. The expressions go through bridge.spec
# (no framework imported), which imports a lone CosineAnnealingLR as a recursive chain, as from_torch
# does: past T_max torch's chainable arithmetic is not the closed form.
STREAM_KINDS = (  # key, expression, dialect, label
    ("constant", "ConstantLR(factor=0.5, total_iters=1000)", "torch", "ConstantLR"),
    ("step", "StepLR(step_size=1000000, gamma=0.9)", "torch", "StepLR"),  # no underflow: 0.9**100 at 10^8
    ("cosine_closed", "CosineAnnealingLR(T_max=9500)", "oneflow",
     "CosineAnnealingLR(9500) closed form (OneFlow's, not recursive)"),
    ("readme", "SequentialLR([LinearLR(start_factor=0.001, total_iters=500), CosineAnnealingLR(T_max=9500)], "
               "milestones=[500])", "torch", "README: SequentialLR(LinearLR, CosineAnnealingLR(9500))"),
    ("cosine", "CosineAnnealingLR(T_max=9500)", "torch", "lone CosineAnnealingLR(9500), eta_min=0"),
    ("cosine_eta_min", "CosineAnnealingLR(T_max=9500, eta_min=1e-6)", "torch",
     "lone CosineAnnealingLR(9500), eta_min=1e-6"),
)

GOAL_KINDS = ("readme", "cosine", "cosine_eta_min")

_KINDS_SNIPPET = """
import json, os, sys, time
import numpy as np

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

sys.path.insert(0, %(root)r)
from bridge import spec
from bridge.ir import semantics
N = %(n)d
plan = spec.resolve(%(expr)r, lr=[0.1], dialect=%(dialect)r)
recursive = any(semantics.needs_scan(x) for x in plan.schedule().walk())
hwm0 = status("VmHWM")
t0 = time.perf_counter()
plan.save_npy(%(path)r, N)
dt = time.perf_counter() - t0
peak = status("VmHWM")
a = np.load(%(path)r, mmap_mode="r")
m = min(N, 10**6)
ok = a.shape == (N, 1) and bool(np.array_equal(a[:m], plan.values(m))) and bool(np.isfinite(a[-m:]).all())
del a
os.unlink(%(path)r)
print(json.dumps({"time": dt, "peak_rss": peak, "hwm_before": hwm0, "ok": ok, "recursive": recursive,
                  "plan": plan.describe()}))
"""


def _ram_dir() -> Optional[str]:
    """A RAM-backed directory (tmpfs) with room for the files, if there is one: the disk's speed
    (shared, noisy) then stays out of the timings; tmpfs pages written with write() are not the
    process's RSS."""
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
        return shm if os.path.isdir(shm) and st.f_bavail * st.f_frsize > 4 * 2**30 else None
    except OSError:
        return None


def case_stream_kinds(cfg: Dict[str, Any]) -> List[Dict[str, Any]]:
    """save_npy of N steps for each of STREAM_KINDS, each in a fresh process (time of save_npy, peak
    RSS of the process); repeats alternate the kinds so that all see the same machine load. Files go
    to tmpfs when there is one (see _ram_dir) and are deleted after each run."""
    N, rep = cfg["kinds_n"], cfg["kinds_rep"]
    runs: Dict[str, List[Dict[str, Any]]] = {k: [] for k, _, _, _ in STREAM_KINDS}
    where = _ram_dir()
    with tempfile.TemporaryDirectory(dir=where) as d:
        for i in range(rep):
            order = STREAM_KINDS if i % 2 == 0 else STREAM_KINDS[::-1]
            for key, expr, dialect, _ in order:
                path = os.path.join(d, f"{key}.npy")
                runs[key].append(_sub(_KINDS_SNIPPET % dict(root=str(ROOT), n=N, expr=expr, dialect=dialect,
                                                            path=path), timeout=900))
    t = {k: med([r["time"] for r in rs]) for k, rs in runs.items()}
    rows = []
    for key, expr, _, label in STREAM_KINDS:
        rs = runs[key]
        peak = max(r["peak_rss"] for r in rs)
        ok = all(r["ok"] for r in rs)
        note = (f"{N / t[key] / 1e6:.0f} M steps/s; peak RSS {peak / 2**20:.0f} MiB; written to "
                f"{'tmpfs' if where else 'disk'}; "
                f"{'recursive (scanned)' if rs[0]['recursive'] else 'closed form'}; first 10^6 rows equal "
                f"plan.values: {ok}")
        if key == "constant":
            rows.append(row("stream_kinds", f"{label}: save_npy time", n=N, ours=t[key], ours_what=expr,
                            note=note, peak_rss=peak, times=[r["time"] for r in rs]))
            continue
        slow = t[key] / t["step"]
        rows.append(row("stream_kinds", f"{label}: save_npy time vs StepLR", n=N, ours=t[key], ref=t["step"],
                        ours_what=expr, ref_what="StepLR",
                        goal="<= 3x StepLR, peak RSS < 400 MiB" if key in GOAL_KINDS else "",
                        met=(slow <= 3.0 and peak < 400 * 2**20) if key in GOAL_KINDS else None,
                        note=note + f"; {t[key] / t['constant']:.2f}x ConstantLR's time",
                        peak_rss=peak, times=[r["time"] for r in rs], vs_constant=t[key] / t["constant"]))
    return rows


RUNNERS: Dict[str, Callable[[Dict[str, Any]], List[Dict[str, Any]]]] = {
    "values": case_values, "native_list": case_native_list, "step": case_step,
    "mindspore": case_mindspore, "import": case_import, "stream": case_stream, "stream_kinds": case_stream_kinds,
}


def run(only: List[str], quick: bool, out: Path) -> Dict[str, Any]:
    cfg = QUICK if quick else FULL
    res: Dict[str, Any] = {
        "format": "sched-bridge/benchmarks", "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick, "command": "python benchmarks/run.py" + (" --quick" if quick else "")
        + (f" --only {','.join(only)}" if set(only) != set(CASES) else "") + f" -o {out.as_posix()}",
        "machine": machine(), "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "cases": {}, "durations_s": {},
    }
    for name in only:
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            res["cases"][name] = RUNNERS[name](cfg)
        except Exception as e:  # keep the other cases
            res["cases"][name] = [row(name, "FAILED", note=f"{type(e).__name__}: {e}")]
            print(f"[bench] {name} failed: {e!r}", file=sys.stderr)
        res["durations_s"][name] = round(time.perf_counter() - t0, 2)
        print(f"[bench] {name}: {res['durations_s'][name]} s", file=sys.stderr, flush=True)
    res["machine"]["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    return res


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

TITLES = {
    "values": "1. `plan.values` vs a hand-written NumPy closed form",
    "native_list": "2. The list, produced the way users do it today",
    "step": "3. `step()`: lowered `PlanScheduler` vs the native torch scheduler",
    "mindspore": "4. MindSpore graph-mode train step (tiny Dense net, CPU)",
    "import": "5a. `import bridge`",
    "stream": "5b. Streaming 10^8 steps to `.npy`",
    "stream_kinds": "5c. Streaming 10^8 steps: recursive schedules against the simplest kinds",
}


def fmt(v: Optional[float], unit: str) -> str:
    if v is None:
        return "-"
    if unit == "bytes":
        for u, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if v >= size:
                return f"{v / size:.1f} {u}"
        return f"{v:.0f} B"
    suffix = "/step" if unit == "s/step" else ""
    for u, s in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if v >= s:
            return f"{v / s:.3g} {u}{suffix}"
    return f"{v * 1e9:.3g} ns{suffix}"


def _met(m: Optional[bool]) -> str:
    return "-" if m is None else ("yes" if m else "**no**")


def render_table(rows: List[Dict[str, Any]]) -> List[str]:
    out = ["| what | N | ours | time | reference | time | ref / ours | goal | met | notes |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sp = "-" if r.get("speedup") is None else f"{r['speedup']:.3g}x"
        n = "-" if r.get("n") is None else (f"{r['n']:.0e}".replace("+0", "") if r["case"] != "step" else str(r["n"]))
        notes = r.get("note", "")
        if r.get("max_rel_diff") is not None:
            notes = (notes + "; " if notes else "") + f"max rel diff vs reference {r['max_rel_diff']:.1e}"
        if r.get("to_torch_default"):
            notes = (notes + "; " if notes else "") + f"to_torch() default returns {r['to_torch_default']}"
        out.append(f"| {r['label']} | {n} | {r.get('ours_what', '')} | {fmt(r.get('ours'), r['unit'])} | "
                   f"{r.get('ref_what', '')} | {fmt(r.get('ref'), r['unit'])} | {sp} | {r.get('goal', '')} | "
                   f"{_met(r.get('met'))} | {notes} |")
    return out


def _key(r: Dict[str, Any]) -> Any:
    return (r["case"], r["label"], r.get("n"))


def render(res: Dict[str, Any], before: Optional[Dict[str, Any]] = None) -> str:
    m = res["machine"]
    lines = ["<!-- generated by `python benchmarks/run.py --render docs/performance.md` from "
             "benchmarks/results.json: edit benchmarks/run.py, not the tables -->", "",
             "## Machine and versions", "",
             f"- CPU: {m.get('cpu')}, {m.get('cores')} cores ({m.get('platform')})",
             f"- Python {m.get('python')}, NumPy {m.get('numpy')}, torch {m.get('torch')}, "
             f"MindSpore {m.get('mindspore')}",
             f"- git commit {m.get('git_commit')}, run {res.get('created')}"
             + (" (**--quick**: harness check, not a measurement)" if res.get("quick") else ""),
             f"- load average at start / end: {m.get('loadavg_start')} / {m.get('loadavg_end')}",
             f"- command: `{res.get('command')}` (durations per case, s: {res.get('durations_s')})", ""]
    for name in CASES:
        rows = res["cases"].get(name)
        if not rows:
            continue
        lines += [f"## {TITLES[name]}", ""] + render_table(rows) + [""]
    if before is not None:
        old = {_key(r): r for rows in before["cases"].values() for r in rows}
        lines += ["## Before / after the optimisations", "",
                  f"Before: commit {before['machine'].get('git_commit')}, run {before.get('created')}; "
                  "after: this run. Same machine, cases and sizes; `ours` figures marked * were "
                  "extrapolated (too slow to run). The before run timed each side in turn; later runs "
                  "alternate ours/reference after one untimed call of each.", "",
                  "| case | what | N | ours before | ours after | ref/ours before | ref/ours after |",
                  "|---|---|---|---|---|---|---|"]
        for name in CASES:
            for r in res["cases"].get(name, []):
                o = old.get(_key(r))
                if o is None or o.get("ours") is None:
                    continue
                sp0 = "-" if o.get("speedup") is None else f"{o['speedup']:.3g}x"
                sp1 = "-" if r.get("speedup") is None else f"{r['speedup']:.3g}x"
                n = "-" if r.get("n") is None else str(r["n"])
                star0 = "*" if o.get("measured") is False else ""
                star1 = "*" if r.get("measured") is False else ""
                lines.append(f"| {name} | {r['label']} | {n} | {fmt(o['ours'], o['unit'])}{star0} | "
                             f"{fmt(r['ours'], r['unit'])}{star1} | {sp0} | {sp1} |")
        lines.append("")
    return "\n".join(lines)


def write_doc(doc: Path, res: Dict[str, Any], before: Optional[Dict[str, Any]]) -> None:
    """Replace the generated part of ``doc`` (between the markers) with the tables."""
    begin, end = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"
    body = render(res, before)
    text = doc.read_text() if doc.exists() else f"# Performance\n\n{begin}\n{end}\n"
    if begin not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(head + begin + "\n" + body + "\n" + end + tail)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the harness (< 1 minute)")
    ap.add_argument("--only", default=",".join(CASES), help="comma-separated cases: " + ", ".join(CASES))
    ap.add_argument("-o", "--output", default="benchmarks/results.json", help="results file to write")
    ap.add_argument("--render", metavar="DOC", help="write the tables into DOC from the results file; runs nothing")
    ap.add_argument("-i", "--input", default="benchmarks/results.json", help="results file --render reads")
    ap.add_argument("--before", default="benchmarks/results_before.json",
                    help="results from before the optimisations, for --render's before/after table (if present)")
    a = ap.parse_args(argv)
    if a.render:
        res = json.loads(Path(a.input).read_text())
        bp = Path(a.before)
        before = json.loads(bp.read_text()) if bp.exists() and bp.resolve() != Path(a.input).resolve() else None
        write_doc(Path(a.render), res, before)
        print(f"wrote {a.render} from {a.input}" + (f" and {a.before}" if before else ""))
        return 0
    only = [x.strip() for x in a.only.split(",") if x.strip()]
    bad = [x for x in only if x not in CASES]
    if bad:
        ap.error(f"unknown case(s) {bad}; choose from {', '.join(CASES)}")
    res = run(only, a.quick, Path(a.output))
    print(render(res, None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
