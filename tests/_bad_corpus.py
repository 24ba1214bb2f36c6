"""The bad-input corpus: what a careless or hostile user types, and what they must get back.

Each case is a :class:`Case`: a CLI command line or a few lines of Python, the files it
reads (written into a scratch directory first), the exit code expected (2: bad input,
3: not available here, 130: interrupted) and text the message must contain (the field
path, usually). ``tests/test_bad_inputs.py`` runs every case in a forked child with a
time and memory limit (``tests/_badrun.py``) and also checks that no traceback is shown
and the message is short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "cli" | "py"
    payload: Union[Tuple[str, ...], str]
    expect: Tuple[str, ...] = ()  # substrings of the message (stderr), all required
    rc: int = 2
    files: Dict[str, Union[str, bytes]] = field(default_factory=dict)


def cli(id: str, *argv: str, expect: Union[str, Tuple[str, ...]] = (), rc: int = 2,
        files: Optional[Dict[str, Union[str, bytes]]] = None) -> Case:
    return Case(id, "cli", tuple(argv), (expect,) if isinstance(expect, str) else tuple(expect), rc,
                files or {})


def py(id: str, code: str, expect: Union[str, Tuple[str, ...]] = (), rc: int = 2,
       files: Optional[Dict[str, Union[str, bytes]]] = None) -> Case:
    return Case(id, "py", code, (expect,) if isinstance(expect, str) else tuple(expect), rc, files or {})


# ---------------------------------------------------------------------------
# expressions: each torch / OneFlow constructor with arguments the framework refuses
# ---------------------------------------------------------------------------

#: (constructor with a placeholder {}, bad argument texts, the field path expected)
_EXPR_ARGS: List[Tuple[str, List[str], str]] = [
    ("StepLR(step_size={})", ["0", "-1", "1.5", "'a'", "None", "10**30", "True", "[3]"], "StepLR.step_size"),
    ("StepLR(step_size=3, gamma={})", ["-0.1", "float('nan')", "'x'", "None", "1e999", "[0.1]"], "StepLR.gamma"),
    ("MultiStepLR(milestones={})", ["[99999999999999999999999]", "[-1]", "[1.5]", "3", "'ab'", "[[1]]",
                                    "None"], "MultiStepLR.milestones"),
    ("MultiStepLR(milestones=[2], gamma={})", ["-1.0", "'a'", "float('inf')"], "MultiStepLR.gamma"),
    ("ConstantLR(factor={})", ["2.0", "-0.5", "1.5", "'a'", "float('nan')"], "ConstantLR.factor"),
    ("ConstantLR(total_iters={})", ["-1", "1.5", "'a'", "10**40"], "ConstantLR.total_iters"),
    ("LinearLR(start_factor={})", ["0", "0.0", "1.5", "-1", "'a'", "float('nan')"], "LinearLR.start_factor"),
    ("LinearLR(end_factor={})", ["-0.5", "2", "'a'"], "LinearLR.end_factor"),
    ("LinearLR(total_iters={})", ["-3", "2.5", "10**40"], "LinearLR.total_iters"),
    ("ExponentialLR(gamma={})", ["-0.5", "'a'", "float('nan')", "None"], "ExponentialLR.gamma"),
    ("PolynomialLR(total_iters={})", ["-1", "0.5", "10**40"], "PolynomialLR.total_iters"),
    ("PolynomialLR(power={})", ["'a'", "float('nan')", "-1"], "PolynomialLR.power"),
    ("CosineAnnealingLR(T_max={})", ["0", "-5", "1e23", "2.5", "'a'", "None", "10**40"],
     "CosineAnnealingLR.T_max"),
    ("CosineAnnealingLR(T_max=10, eta_min={})", ["-1", "'a'", "float('nan')", "float('inf')"],
     "CosineAnnealingLR.eta_min"),
    ("CosineAnnealingWarmRestarts(T_0={})", ["0", "-1", "1.5", "'a'", "10**40"],
     "CosineAnnealingWarmRestarts.T_0"),
    ("CosineAnnealingWarmRestarts(T_0=5, T_mult={})", ["0", "1.5", "-2", "'a'"],
     "CosineAnnealingWarmRestarts.T_mult"),
    ("CosineAnnealingWarmRestarts(T_0=5, eta_min={})", ["'a'", "float('nan')"],
     "CosineAnnealingWarmRestarts.eta_min"),
    ("OneCycleLR(max_lr=1.0, total_steps={})", ["0", "-10", "2.5", "'a'", "10**40"], "OneCycleLR.total_steps"),
    ("OneCycleLR(max_lr={}, total_steps=10)", ["'a'", "float('nan')", "[1.0, 2.0, 3.0]"], "OneCycleLR.max_lr"),
    ("OneCycleLR(max_lr=1.0, total_steps=10, pct_start={})", ["1.5", "-0.1", "'a'"], "OneCycleLR.pct_start"),
    ("OneCycleLR(max_lr=1.0, total_steps=10, anneal_strategy={})", ["'cubic'", "3"],
     "OneCycleLR.anneal_strategy"),
    ("OneCycleLR(max_lr=1.0, total_steps=10, div_factor={})", ["0", "'a'"], "OneCycleLR.div_factor"),
    ("OneCycleLR(max_lr=1.0, total_steps=10, final_div_factor={})", ["0", "'a'"],
     "OneCycleLR.final_div_factor"),
    ("OneCycleLR(max_lr=1.0, epochs={}, steps_per_epoch=5)", ["0", "-2", "'a'"], "OneCycleLR.epochs"),
    ("CyclicLR(base_lr=0.1, max_lr=1.0, step_size_up={})", ["0", "-1", "'a'", "1.5"], "CyclicLR.step_size_up"),
    ("CyclicLR(base_lr=0.1, max_lr=1.0, step_size_down={})", ["-1", "'a'", "0"], "CyclicLR.step_size_down"),
    ("CyclicLR(base_lr=0.1, max_lr=1.0, mode={})", ["'sine'", "3"], "CyclicLR.mode"),
    ("CyclicLR(base_lr={}, max_lr=1.0)", ["'a'", "float('nan')"], "CyclicLR.base_lr"),
    ("SequentialLR([StepLR(step_size=2), StepLR(step_size=3)], milestones={})",
     ["[-1]", "[1, 2]", "[]", "'a'", "[1.5]", "[99999999999999999999999]"], "SequentialLR.milestones"),
    ("SequentialLR(schedulers={}, milestones=[])", ["[]", "3", "['a']"], "SequentialLR.schedulers"),
    ("ChainedScheduler(schedulers={})", ["[]", "3", "[1, 2]"], "ChainedScheduler.schedulers"),
]

#: whole expressions that are wrong as a whole: (expression, expected text)
_EXPR_WHOLE: List[Tuple[str, str]] = [
    ("StepLR(step_size=3, gamma=0.1", "not valid Python syntax"),
    ("StepLR(step_size=3, step_size=4)", "step_size"),
    ("StepLR(3, 0.1, 5, 6, 7)", "StepLR"),
    ("StepLR()", "StepLR.step_size"),
    ("StepLR(step_size=3, bogus=1)", "bogus"),
    ("NoSuchLR(step_size=3)", "NoSuchLR"),
    ("__import__('os').system('true')", "class name"),
    ("StepLR(step_size=3).step()", "expression"),
    ("[StepLR(step_size=3)]", "expression"),
    ("lambda: 1", "expression"),
    ("StepLR(**{'step_size': 3})", "expression"),
    ("StepLR(*[3])", "expression"),
    ("StepLR(step_size=open('/etc/passwd'))", "StepLR.step_size"),
    ("StepLR(step_size=3)\nStepLR(step_size=4)", "expression"),
    ("1 + 1", "expression"),
    ("x" * 5000, "expression"),
    ("StepLR(step_size=" + "(" * 400 + "3" + ")" * 400 + ")", "expression"),
    ("SequentialLR([" + "ChainedScheduler([" * 200 + "StepLR(step_size=3)" + "])" * 200 + "], milestones=[])",
     "expression"),
    ("StepLR(step_size=3) if True else None", "expression"),
    ("LambdaLR(lr_lambda=lambda e: 0.5 ** e)", "LambdaLR"),
    ("ReduceLROnPlateau(mode='min')", "ReduceLROnPlateau"),
    ("WarmupLR(StepLR(step_size=3), warmup_iters=-1)", "WarmupLR.warmup_iters"),
    ("CosineDecayLR(decay_steps=0)", "CosineDecayLR.decay_steps"),
    ("PolynomialLR(decay_batch=0)", "PolynomialLR.decay_batch"),
    ("oneflow.optim.lr_scheduler.StepLR(step_size=0)", "StepLR.step_size"),
    ("StepLR(step_size=3)\x00", "expression"),
    ("ExponentialLR(gamma=1e300)", "overflows float64 at step 2"),
    ("StepLR(step_size=3, gamma=1e-400)", ""),
]


def _expr_cases() -> Iterator[Case]:
    for tmpl, bads, path in _EXPR_ARGS:
        for i, b in enumerate(bads):
            yield cli(f"expr-{tmpl.split('(')[0]}-{path.split('.')[-1]}-{i}", "values", tmpl.format(b),
                      "--steps", "20", expect=path)
    for i, (text, want) in enumerate(_EXPR_WHOLE):
        if text == "StepLR(step_size=3, gamma=1e-400)":  # a denormal rounds to 0.0: valid, torch agrees
            yield cli(f"expr-whole-{i}", "values", text, "--steps", "3", rc=0)
            continue
        yield cli(f"expr-whole-{i}", "values", text, "--steps", "5", expect=want)


# ---------------------------------------------------------------------------
# plan files (JSON / YAML / TOML)
# ---------------------------------------------------------------------------


def _plan(lr: object, groups: object = None, **extra: object) -> dict:
    d = {"format": "sched-bridge/plan", "schema": 1,
         "groups": groups if groups is not None else [{"base": {"lr": 0.1}}],
         "schedules": {"lr": lr}}
    d.update(extra)
    return d


_STEP = {"kind": "step", "step_size": 3, "gamma": 0.5}

#: (name, plan dict (or raw text), expected text)
_PLAN_DICTS: List[Tuple[str, object, str]] = [
    ("kind-unknown", _plan({"kind": "stepp", "step_size": 3}), "step"),
    ("kind-missing", _plan({"step_size": 3}), "kind"),
    ("kind-int", _plan({"kind": 3}), "kind"),
    ("step-size-0", _plan({"kind": "step", "step_size": 0}), "step_size"),
    ("step-size-str", _plan({"kind": "step", "step_size": "3"}), "step_size"),
    ("step-size-float", _plan({"kind": "step", "step_size": 2.5}), "step_size"),
    ("step-size-huge", _plan({"kind": "step", "step_size": 99999999999999999999999}), "step_size"),
    ("step-gamma-neg", _plan({"kind": "step", "step_size": 3, "gamma": -1}), "gamma"),
    ("step-extra-key", _plan({"kind": "step", "step_size": 3, "gama": 0.1}), "gama"),
    ("multistep-desc", _plan({"kind": "multistep", "milestones": [8, 3]}), "milestones"),
    ("multistep-huge", _plan({"kind": "multistep", "milestones": [99999999999999999999999]}), "milestones"),
    ("multistep-neg", _plan({"kind": "multistep", "milestones": [-3]}), "milestones"),
    ("multistep-notlist", _plan({"kind": "multistep", "milestones": 3}), "milestones"),
    ("cosine-tmax-huge", _plan({"kind": "cosine_annealing", "T_max": 1e23}), "T_max"),
    ("cosine-tmax-0", _plan({"kind": "cosine_annealing", "T_max": 0}), "T_max"),
    ("cosine-eta-nan", _plan({"kind": "cosine_annealing", "T_max": 5, "eta_min": "nan"}), "eta_min"),
    ("linear-total-neg", _plan({"kind": "linear", "start_factor": 0.1, "end_factor": 1.0,
                                "total_iters": -1}), "total_iters"),
    ("linear-start-huge", _plan({"kind": "linear", "start_factor": 1e400, "end_factor": 1.0,
                                 "total_iters": 5}), "start_factor"),
    ("exp-gamma-inf", _plan({"kind": "exponential", "gamma": 1e400}), "gamma"),
    ("exp-gamma-overflow", _plan({"kind": "exponential", "gamma": 1e300}), "gamma"),
    ("seq-ms-mismatch", _plan({"kind": "sequential", "schedules": [_STEP, _STEP], "milestones": [1, 2]}),
     "milestones"),
    ("seq-ms-desc", _plan({"kind": "sequential", "schedules": [_STEP, _STEP, _STEP], "milestones": [5, 2]}),
     "milestones"),
    ("seq-empty", _plan({"kind": "sequential", "schedules": [], "milestones": []}), "schedules"),
    ("seq-child-bad", _plan({"kind": "sequential", "schedules": [_STEP, {"kind": "step", "step_size": -1}],
                              "milestones": [3]}),
     "schedules[1]"),
    ("chain-mode", _plan({"kind": "chain", "schedules": [_STEP], "mode": "sideways"}), "mode"),
    ("chain-empty", _plan({"kind": "chain", "schedules": []}), "schedules"),
    ("table-empty", _plan({"kind": "table", "values": []}), "values"),
    ("table-str", _plan({"kind": "table", "values": ["a", 0.1]}), "values"),
    ("table-nan", _plan({"kind": "table", "values": [0.1, "nan"]}), "values"),
    ("table-after", _plan({"kind": "table", "values": [0.1], "after": "loop"}), "after"),
    ("hold-every-0", _plan({"kind": "hold", "schedule": _STEP, "every": 0}), "every"),
    ("shift-neg", _plan({"kind": "shift", "schedule": _STEP, "offset": -3}), "offset"),
    ("windows-empty", _plan({"kind": "windows", "windows": []}), "windows"),
    ("windows-begin-end", _plan({"kind": "windows", "windows": [{"schedule": _STEP, "begin": 5, "end": 2}]}),
     "end"),
    ("onecycle-steps", _plan({"kind": "one_cycle", "total_steps": 0}), "total_steps"),
    ("onecycle-pct", _plan({"kind": "one_cycle", "total_steps": 10, "pct_start": 2.0}), "pct_start"),
    ("cyclic-mode", _plan({"kind": "cyclic", "high": 1.0, "step_size_up": 2, "mode": "sine"}), "mode"),
    ("plateau-mode", _plan({"kind": "plateau", "mode": "middle"}), "mode"),
    ("piecewise-len", _plan({"kind": "piecewise_constant", "boundaries": [3], "values": [1.0]}), "values"),
    ("lambda-in-file", _plan({"kind": "lambda", "fn": "lambda e: 0.5"}), "lambda"),
    ("groups-empty", _plan(_STEP, groups=[]), "groups"),
    ("groups-notlist", _plan(_STEP, groups={"base": {"lr": 0.1}}), "groups"),
    ("group-no-base", _plan(_STEP, groups=[{}]), "groups[0]"),
    ("base-neg", _plan(_STEP, groups=[{"base": {"lr": -0.1}}]), "lr"),
    ("base-huge", _plan(_STEP, groups=[{"base": {"lr": 1e400}}]), "lr"),
    ("base-int-huge", _plan(_STEP, groups=[{"base": {"lr": 10 ** 400}}]), "lr"),
    ("base-str", _plan(_STEP, groups=[{"base": {"lr": "0.1"}}]), "lr"),
    ("base-bool", _plan(_STEP, groups=[{"base": {"lr": True}}]), "lr"),
    ("base-missing-field", _plan(_STEP, groups=[{"base": {"momentum": 0.9}}]), "lr"),
    ("schema-2", _plan(_STEP, schema=2), "schema"),
    ("schema-str", _plan(_STEP, schema="1"), "schema"),
    ("format-other", _plan(_STEP, format="something/else"), "format"),
    ("total-steps-neg", _plan(_STEP, total_steps=-5), "total_steps"),
    ("total-steps-float", _plan(_STEP, total_steps=2.5), "total_steps"),
    ("schedules-notdict", {"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": 0.1}}],
                           "schedules": [_STEP]}, "schedules"),
    ("top-list", [1, 2, 3], "plan"),
    ("top-null", None, "plan"),
    ("top-string", "plan", "plan"),
]


def _deep(depth: int, kind: str = "chain") -> dict:
    nd: dict = _STEP
    for _ in range(depth):
        nd = {"kind": kind, "schedules": [nd]} if kind == "chain" else {"kind": "hold", "schedule": nd, "every": 1}
    return nd


def _plan_cases() -> Iterator[Case]:
    for name, d, want in _PLAN_DICTS:
        yield cli(f"plan-json-{name}", "values", "p.json", "--steps", "5", expect=want,
                  files={"p.json": json.dumps(d)})
    for depth in (300, 900, 5000):
        for kind in ("chain", "hold"):
            yield cli(f"plan-deep-{kind}-{depth}", "values", "p.json", "--steps", "5", expect="deep",
                      files={"p.json": json.dumps(_plan(_deep(depth, kind)))} if depth < 900 else
                      {"p.json": _deep_json(depth, kind)})
    raw = [
        ("dup-key", '{"format": "sched-bridge/plan", "schema": 1, "schema": 2, "groups": [{"base": {"lr": 0.1}}],'
                    ' "schedules": {"lr": {"kind": "step", "step_size": 3}}}', "schema"),
        ("dup-key-node", '{"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": 0.1}}],'
                         ' "schedules": {"lr": {"kind": "step", "step_size": 3, "step_size": 4}}}', "step_size"),
        ("trailing-comma", '{"schema": 1,}', "JSON"),
        ("empty", "", "JSON"),
        ("nan-literal", '{"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": NaN}}],'
                        ' "schedules": {}}', "lr"),
        ("inf-literal", '{"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": Infinity}}],'
                        ' "schedules": {}}', "lr"),
        ("huge-exp", '{"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": 1e99999999}}],'
                     ' "schedules": {}}', "lr"),
        ("huge-int-digits", '{"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": 0.1}}],'
                            ' "schedules": {"lr": {"kind": "step", "step_size": ' + "9" * 5000 + '}}}', "digits"),
        ("deep-array", "[" * 100000 + "]" * 100000, "JSON"),
        ("bom", "\ufeff" + json.dumps(_plan(_STEP)), "JSON"),
    ]
    for name, text, want in raw:
        yield cli(f"plan-raw-{name}", "values", "p.json", "--steps", "5", expect=want, files={"p.json": text})
    yield cli("plan-latin1", "values", "p.json", "--steps", "5", expect="UTF-8",
              files={"p.json": b'{"source": "caf\xe9"}'})
    yaml_cases = [
        ("syntax", "format: sched-bridge/plan\nschema: 1\ngroups: [\n", "line"),
        ("dup-key", "format: sched-bridge/plan\nschema: 1\nschema: 2\ngroups: [{base: {lr: 0.1}}]\n"
                    "schedules: {lr: {kind: step, step_size: 3}}\n", "schema"),
        ("alias-bomb", _yaml_bomb(), "alias"),
        ("alias-bomb-source", _yaml_bomb(key="source"), "alias"),
        ("python-tag", "format: sched-bridge/plan\nschema: !!python/object/apply:os.system ['true']\n", "YAML"),
        ("tab-indent", "format: sched-bridge/plan\nschema: 1\ngroups:\n\t- base: {lr: 0.1}\n", "line"),
        ("scalar", "just a string\n", "plan"),
        ("step-size-str", "format: sched-bridge/plan\nschema: 1\ngroups: [{base: {lr: 0.1}}]\n"
                          "schedules: {lr: {kind: step, step_size: three}}\n", "step_size"),
        ("date", "format: sched-bridge/plan\nschema: 1\ngroups: [{base: {lr: 2024-01-01}}]\nschedules: {}\n", "lr"),
    ]
    for name, text, want in yaml_cases:
        yield cli(f"plan-yaml-{name}", "values", "p.yaml", "--steps", "5", expect=want, files={"p.yaml": text})
    toml_cases = [
        ("syntax", 'format = "sched-bridge/plan"\nschema = \n', "TOML"),
        ("dup-key", 'format = "sched-bridge/plan"\nschema = 1\nschema = 2\n', "TOML"),
        ("step-size-neg", 'format = "sched-bridge/plan"\nschema = 1\n[[groups]]\nbase = {lr = 0.1}\n'
                          '[schedules.lr]\nkind = "step"\nstep_size = -3\n', "step_size"),
        ("base-inf", 'format = "sched-bridge/plan"\nschema = 1\n[[groups]]\nbase = {lr = inf}\n'
                     '[schedules]\n', "lr"),
    ]
    for name, text, want in toml_cases:
        yield cli(f"plan-toml-{name}", "values", "p.toml", "--steps", "5", expect=want, files={"p.toml": text})
    yield cli("plan-missing", "values", "nope.json", "--steps", "5", expect="nope.json")
    yield cli("plan-dir", "values", "d.json", "--steps", "5", expect=("d.json", "directory"),
              files={"d.json/x": "{}"})
    yield cli("plan-suffix", "values", "p.txt", "--steps", "5", expect="p.txt", files={"p.txt": "{}"})
    yield cli("plan-total-steps-huge", "values", "p.json", expect="--steps",
              files={"p.json": json.dumps(_plan(_STEP, total_steps=10 ** 12))})
    yield cli("plan-total-steps-huge-show", "show", "p.json", expect="--steps",
              files={"p.json": json.dumps(_plan(_STEP, total_steps=10 ** 12))})


def _deep_json(depth: int, kind: str) -> str:
    inner = json.dumps(_STEP)
    if kind == "chain":
        head, tail = '{"kind": "chain", "schedules": [', "]}"
    else:
        head, tail = '{"kind": "hold", "every": 1, "schedule": ', "}"
    node = head * depth + inner + tail * depth
    return ('{"format": "sched-bridge/plan", "schema": 1, "groups": [{"base": {"lr": 0.1}}], "schedules": {"lr": '
            + node + "}}")


def _yaml_bomb(key: str = "meta") -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines += ["format: sched-bridge/plan", "schema: 1", "groups: [{base: {lr: 0.1}}]",
              "schedules: {lr: {kind: step, step_size: 3}}", f"{key}: *a8"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# MMEngine configs read literally
# ---------------------------------------------------------------------------

_OPT = "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\ntrain_cfg = dict(by_epoch=False, max_iters=100)\n"

_PS = "param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n"
#: the scheduler depends on the bad statement's name ``x`` (the reader skips statements no needed key
#: depends on, so each bound is checked both ways: refused when needed, skipped fast when not)
_PSX = "param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False, gamma=x)]\n"

#: (case name, statements that bind ``x``, what the message names when the scheduler needs ``x``)
_BAD_X: List[Tuple[str, str, str]] = [
    ("import", "import os\nx = os.getcwd()\n", "import"),
    ("call", "x = open('/etc/passwd')\n", "open"),
    ("dunder", "x = ().__class__\n", "__class__"),
    ("pow-bomb", "x = 10 ** 1000\nx = x * x\nx = x * x\nx = x * x\nx = x * x\nx = x * x\nx = x * x\n"
                 "x = x * x\nx = x * x\nx = x * x\nx = x * x\nx = x * x\nx = x * x\nx = x * x\n", "too large"),
    ("pow-huge", "x = 10 ** 10 ** 10\n", "too large"),
    ("pow-float", "x = 10.0 ** 400\n", "x"),
    ("lshift", "x = 1 << 10 ** 9\n", "<<"),
    ("str-mult", "x = 'a' * 10 ** 10\n", "str"),
    ("list-mult", "x = [[0] * 10000] * 10000\ny = x\n", "too large"),
    ("list-mult-nested", "x = [0] * 1000\nx = [x] * 1000\nx = [x] * 1000\n", "too large"),
    ("zero-slice", "x = [1, 2, 3][::0]\n", "slice"),
    ("unhashable-key", "x = {[1]: 2}\n", "key"),
    ("div-zero", "x = 1 / 0\n", "zero"),
    ("mod-zero", "x = 1 % 0\n", "zero"),
    ("str-minus", "x = 'a' - 1\n", "x"),
    ("index-oob", "x = [1][5]\n", "no item"),
    ("attr", "x = dict(a=1).a\n", "attribute"),
    ("del", "x = 1\ndel x\n", "'x' is not assigned"),
    ("while", "while True:\n    x = 1\n", "While"),
    ("class", "class A:\n    pass\nx = A\n", "ClassDef"),
    ("def", "def f():\n    return 0.1\nx = f()\n", "f()"),
    # comprehensions, f-strings, built-ins and str methods are read, each bounded
    ("comp-range-huge", "x = [i for i in range(10 ** 9)]\n", "range"),
    ("comp-nested-work", "x = [[j for j in range(100000)] for i in range(100000)]\n", "too much work"),
    ("comp-memory", "x = [[0] * 10000 for i in range(100000)]\n", "too much work"),
    ("dictcomp-work", "x = {i: i for i in range(10 ** 6)}\n", "too much work"),
    ("genexp-sum-work", "x = sum(i * j for i in range(10 ** 6) for j in range(10 ** 6))\n", "too much work"),
    ("fstring-width", "x = f'{1:>999999999}'\n", "width"),
    ("format-width", "x = '{:>999999999}'.format(1)\n", "width"),
    ("format-attr", "x = '{0.__class__}'.format(1)\n", "attribute"),
    ("str-join-bomb", "x = ','.join(['a' * 1000] * 100000)\n", "too large"),
    ("str-doubling", "x = 'ab' * 50000\nx = x + x\n", "too large"),
    ("str-replace-bomb", "x = ('a' * 1000).replace('a', 'b' * 1000)\n", "too large"),
    ("str-zfill", "x = 'a'.zfill(10 ** 9)\n", "too large"),
    ("str-percent", "x = '%s' % 1\n", "%"),
    ("int-long-str", "x = int('9' * 5000)\n", "long str"),
    ("round-digits", "x = round(1.5, 10 ** 9)\n", "1000 digits"),
    ("sum-ints-huge", "x = sum([2 ** 4000] * 100000)\n", "too large"),
    ("deepcopy-shared", "import copy\na = [0] * 1000\nb = [a] * 1000\nx = [copy.deepcopy(b)] * 1000\n",
     "too large"),
    ("method-not-allowed", "x = 'a'.encode()\n", "encode"),
    ("builtin-not-allowed", "x = eval('1')\n", "eval"),
    ("builtin-shadowed", "getattr = open\nx = getattr(1)\n", "open"),
    ("lambda", "f = lambda: 1\nx = f()\n", "Lambda"),
    ("walrus-comp", "x = [(y := i) for i in range(3)]\n", "NamedExpr"),
    ("if-unreadable", "if open('f'):\n    x = 1\nelse:\n    x = 2\n", "open"),
    ("mutation-poisons", "x = dict(a=1)\nsome_function(x)\n", "some_function"),
    ("alias-poisons", "a = dict(g=0.1)\nx = a\na.update(open('f'))\n", "open"),
]

_CONFIGS: List[Tuple[str, str, Union[str, Tuple[str, ...]]]] = [
    ("deep-sum", _OPT + "x = " + "+".join(["1"] * 100000) + "\n" + _PS, "deep"),
    ("deep-parens", _OPT + "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n" + _PS, "nested"),
    ("deep-list", _OPT + "x = " + "[" * 3000 + "]" * 3000 + "\n" + _PS, "nested"),
    ("syntax", _OPT + "param_scheduler = [dict(type='StepLR', step_size=3)\n", "syntax error"),
    ("no-scheduler", _OPT, "param_scheduler"),
    ("scheduler-notlist", _OPT + "param_scheduler = 3\n", "param_scheduler"),
    ("scheduler-no-type", _OPT + "param_scheduler = [dict(step_size=3)]\n", "param_scheduler[0]"),
    ("scheduler-unknown", _OPT + "param_scheduler = [dict(type='NoSuchLR')]\n", "NoSuchLR"),
    ("scheduler-bad-arg", _OPT + "param_scheduler = [dict(type='StepLR', step_size=0, by_epoch=False)]\n", "step_size"),
    ("scheduler-begin-end", _OPT + "param_scheduler = [dict(type='LinearLR', begin=10, end=5, by_epoch=False)]\n", "end"),
    ("scheduler-neg-begin", _OPT + "param_scheduler = [dict(type='LinearLR', begin=-1, end=5, by_epoch=False)]\n", "begin"),
    ("lr-neg", "optim_wrapper = dict(optimizer=dict(type='SGD', lr=-0.1))\n"
               "train_cfg = dict(by_epoch=False, max_iters=100)\n"
               "param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n", "lr"),
    ("lr-str", "optim_wrapper = dict(optimizer=dict(type='SGD', lr='fast'))\n"
               "train_cfg = dict(by_epoch=False, max_iters=100)\n"
               "param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n", "lr"),
    ("max-iters-neg", "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"
                      "train_cfg = dict(by_epoch=False, max_iters=-100)\n"
                      "param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n", "max_iters"),
    ("base-loop", "_base_ = ['c.py']\n" + _OPT + "param_scheduler = []\n", "loops"),
    ("base-missing", "_base_ = ['nope.py']\n" + _OPT + "param_scheduler = []\n", "nope.py"),
    ("base-notstr", "_base_ = [3]\n" + _OPT + "param_scheduler = []\n", "_base_"),
    ("base-scope-unknown", "_base_ = ['nosuchpkg::a/b.py']\n" + _OPT + _PS, "nosuchpkg::"),
    ("base-scope-missing", "_base_ = ['mmrotate::a/b.py']\n" + _OPT + _PS, ("mmrotate", "not installed")),
    ("walrus", _OPT + "param_scheduler = [(y := 3)]\n", "param_scheduler"),
    ("nul-byte", _OPT + "x = 1\x00\n" + _PS, "syntax error"),
    ("needed-unreadable-hint", _OPT + "import os\nparam_scheduler = [dict(type='StepLR', step_size=os.sep)]\n",
     ("c.py:3", "needed for param_scheduler", "--trust")),
]
_CONFIGS += [(name, _OPT + text + _PSX, want) for name, text, want in _BAD_X]


def _config_cases() -> Iterator[Case]:
    for name, text, want in _CONFIGS:
        yield cli(f"config-{name}", "values", "c.py", "--steps", "5", expect=want, files={"c.py": text})
    for name, text, _ in _BAD_X:  # the same statements, needed by nothing: skipped, nothing run, fast
        yield cli(f"config-unneeded-{name}", "values", "c.py", "--steps", "5", rc=0,
                  files={"c.py": _OPT + text + _PS})
    yield py("config-trust-missing-pkg-py", "import bridge\nbridge.load_config('c.py', trust=True)",
             expect=("no_such_pkg_xyz", "c.py:1", "not installed", "trust=True"),
             files={"c.py": "import no_such_pkg_xyz\n" + _OPT})
    yield cli("config-latin1", "values", "c.py", "--steps", "5", expect="UTF-8",
              files={"c.py": b"# caf\xe9\n" + _OPT.encode() + b"param_scheduler = [dict(type='StepLR', step_size=3)]\n"})
    yield cli("config-json-bad", "values", "c.json", "--steps", "5", expect="JSON", files={"c.json": "{"})
    yield cli("config-yaml-bomb", "values", "c.yaml", "--steps", "5", expect="alias",
              files={"c.yaml": _yaml_bomb("param_scheduler").replace("format: sched-bridge/plan\n", "")})
    yield cli("config-yaml-notmapping", "values", "c.yaml", "--steps", "5", expect="mapping",
              files={"c.yaml": "- 1\n- 2\n"})
    yield cli("config-dir", "values", "c.py", "--steps", "5", expect=("c.py", "directory"),
              files={"c.py/x": ""})
    yield cli("config-trust-missing-pkg", "values", "c.py", "--steps", "5", "--trust",
              expect=("no_such_pkg_xyz", "c.py:1", "not installed", "--trust"),
              files={"c.py": "import no_such_pkg_xyz\n" + _OPT})


# ---------------------------------------------------------------------------
# command-line arguments
# ---------------------------------------------------------------------------

_E = "StepLR(step_size=3)"


_PLAN_FILE = {"p.json": json.dumps(_plan(_STEP))}
_CONFIG_PY = {"c.py": "param_scheduler = [dict(type='StepLR', step_size=3, by_epoch=False)]\n"
                      "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))\n"}

#: (id, argv, files, what the message must name): an option that does not apply to the SPEC kind,
#: or applies only with another option, for each command (an error, never silently ignored)
_NOT_APPLYING: List[Tuple[str, Tuple[str, ...], Dict[str, Any], Tuple[str, ...]]] = [
    ("values-epoch-length-expr", ("values", _E, "--steps", "5", "--epoch-length", "4"), {},
     ("--epoch-length", "an expression")),
    ("values-lr-plan", ("values", "p.json", "--lr", "0.5"), _PLAN_FILE, ("--lr", "a plan file")),
    ("show-max-epochs-expr", ("show", _E, "--max-epochs", "3"), {}, ("--max-epochs", "an expression")),
    ("show-steps-per-epoch-plan", ("show", "p.json", "--steps-per-epoch", "4"), _PLAN_FILE,
     ("--steps-per-epoch", "a plan file")),
    ("lower-steps-torch", ("lower", _E, "--to", "torch", "--steps", "9"), {}, ("--steps", "--to mindspore-list")),
    ("lower-trust-expr", ("lower", _E, "--to", "mindspore-list", "--steps", "9", "--trust"), {},
     ("--trust", "an expression")),
    ("plot-dialect-plan", ("plot", "p.json", "--dialect", "oneflow", "-o", "p.png"), _PLAN_FILE,
     ("--dialect", "a plan file")),
    ("parity-rtol-no-trace", ("parity", _E, "--steps", "5", "--rtol", "1e-9"), {}, ("--rtol", "--trace")),
    ("lint-lr-py-config", ("lint", "c.py", "--lr", "0.1"), _CONFIG_PY, ("--lr", "not a .py config")),
    ("convert-steps-spec", ("convert", "p.json", "--to", "spec", "--steps", "9"), _PLAN_FILE,
     ("--steps", "--to mmengine")),
    ("convert-epoch-length-plan", ("convert", "p.json", "--to", "spec", "--epoch-length", "4"), _PLAN_FILE,
     ("--epoch-length", "a plan file")),
]

_NO_SCHED = ("import torch\nw = torch.nn.Parameter(torch.zeros(1))\nopt = torch.optim.SGD([w], lr=0.1)\n"
             "for _ in range(4):\n    opt.step()\n")


def _capture_cases() -> Iterator[Case]:
    for name, argv, files, want in _NOT_APPLYING:
        yield cli(f"opt-{name}", *argv, expect=want, files=files)
    yield cli("capture-missing-script", "capture", "-o", "p.json", "--", "nope.py", expect=("SCRIPT", "nope.py"))
    yield cli("capture-updates-0", "capture", "-o", "p.json", "--updates", "0", "--", "s.py", expect="--updates",
              files={"s.py": ""})
    yield cli("capture-emit-no-O", "capture", "-o", "p.json", "--emit", "oneflow", "--", "s.py", expect="-O",
              files={"s.py": ""})
    import importlib.util

    if importlib.util.find_spec("torch") is None:  # the cases below run a script under torch
        return
    yield cli("capture-no-scheduler", "capture", "-o", "p.json", "--", "s.py", expect="--updates",
              files={"s.py": _NO_SCHED})
    yield cli("capture-no-update", "capture", "-o", "p.json", "--", "s.py", expect=("SCRIPT", "optimizer update"),
              files={"s.py": "import torch\n"})
    yield cli("capture-script-raises", "capture", "-o", "p.json", "--", "s.py",
              expect=("SCRIPT", "ValueError: boom", "s.py:3"),
              files={"s.py": "import torch\nx = 1\nraise ValueError('boom\\nsecond line')\n"})
    yield cli("capture-script-exits", "capture", "-o", "p.json", "--", "s.py", "--flag",
              expect=("SCRIPT", "exited with 3", "--flag"), files={"s.py": "import sys\nsys.exit(3)\n"})


def _arg_cases() -> Iterator[Case]:
    bad_steps = ["0", "-1", "abc", "1.5", "1e3", str(10 ** 12), str(10 ** 40), ""]
    for cmd in ("values", "show", "lower", "plot", "parity", "lint"):
        for i, s in enumerate(bad_steps):
            extra = {"lower": ["--to", "mindspore-list"], "plot": ["-o", "p.png"]}.get(cmd, [])
            yield cli(f"arg-{cmd}-steps-{i}", cmd, _E, "--steps", s, *extra, expect="--steps")
    for i, g in enumerate(["5", "-1", "x", str(10 ** 30)]):
        yield cli(f"arg-group-{i}", "values", _E, "--steps", "5", "--group", g, expect="--group")
    for i, f in enumerate(["momentum", "", "lr]", "betas[9]"]):
        yield cli(f"arg-field-{i}", "values", _E, "--steps", "5", "--field", f, expect="--field")
    for i, lr in enumerate(["x", "-1", "nan", "inf", "1e400", "", "0.1,,0.2", "0.1,x"]):
        yield cli(f"arg-lr-{i}", "values", _E, "--steps", "5", "--lr", lr, expect="--lr")
    for i, el in enumerate(["0", "-5", "x", "1.5"]):
        yield cli(f"arg-epoch-length-{i}", "values", _E, "--steps", "5", "--epoch-length", el,
                  expect="--epoch-length")
    for i, r in enumerate(["nan", "-1", "x", "inf"]):
        yield cli(f"arg-rtol-{i}", "parity", _E, "--steps", "5", "--rtol", r, expect="--rtol")
    for i, d in enumerate(["100000", "0", "x"]):
        yield cli(f"arg-dpi-{i}", "plot", _E, "--steps", "5", "--dpi", d, "-o", "p.png", expect="--dpi")
    for i, s in enumerate(["100000x100000", "0x5", "axb", "5", "-3x4", "nanxinf"]):
        yield cli(f"arg-size-{i}", "plot", _E, "--steps", "5", "--size", s, "-o", "p.png", expect="--size")
    yield cli("arg-format", "values", _E, "--steps", "5", "--format", "xml", expect="--format")
    yield cli("arg-npy-stdout", "values", _E, "--steps", "5", "--format", "npy", expect="-o")
    yield cli("arg-unknown-cmd", "frobnicate", _E, expect="frobnicate")
    yield cli("arg-unknown-flag", "values", _E, "--stepz", "5", expect="--stepz")
    yield cli("arg-no-spec", "values", expect="SPEC")
    yield cli("arg-dialect", "values", _E, "--dialect", "jax", expect="--dialect")
    yield cli("arg-lower-to", "lower", _E, "--to", "jax", expect="--to")
    yield cli("arg-lower-standalone", "lower", _E, "--to", "torch", "--standalone", expect="--standalone")
    yield cli("arg-lower-optimizer", "lower", _E, "--to", "torch", "--optimizer", "my opt", expect="--optimizer")
    yield cli("arg-lower-list-nosteps", "lower", _E, "--to", "mindspore-list", expect="--steps")
    yield cli("arg-convert-to", "convert", "c.py", "--to", "jax", expect="--to")
    yield cli("arg-frameworks", "parity", _E, "--steps", "5", "--frameworks", "jax", expect="jax")
    yield cli("arg-lint-rule", "lint", _E, "--steps", "5", "--ignore", "NOPE999", expect="NOPE999")
    yield cli("arg-overlay", "plot", _E, "--steps", "5", "--overlay", "jax", "-o", "p.png", expect="jax")
    yield cli("arg-values-nosteps", "values", _E, expect="--steps")
    # output paths
    outs = [("missing-dir", "nodir/x.csv", "nodir"), ("proc", "/proc/x.csv", "/proc/x.csv"),
            ("is-dir", "adir", "directory"), ("empty", "", "-o")]
    for name, path, want in outs:
        cmds: Tuple[Tuple[str, Optional[List[str]]], ...] = (
            ("values", []), ("lower", ["--to", "mindspore-list"]), ("plot", []), ("convert", None))
        for cmd, out_extra in cmds:
            if out_extra is None:
                yield cli(f"out-{cmd}-{name}", "convert", "p.json", "--to", "spec", "-o", path, expect=want,
                          files={"p.json": json.dumps(_plan(_STEP)), "adir/x": ""})
                continue
            yield cli(f"out-{cmd}-{name}", cmd, _E, "--steps", "5", *out_extra, "-o", path, expect=want,
                      files={"adir/x": ""})
    yield cli("out-npy-missing-dir", "values", _E, "--steps", "5", "-o", "nodir/x.npy", expect="nodir")
    yield cli("out-plot-suffix", "plot", _E, "--steps", "5", "-o", "p.gif2", expect="-o")
    yield cli("out-values-disk", "values", _E, "--steps", str(2 ** 31 - 1), "-o", "/dev/shm/huge.csv",
              expect=("--steps", "free"))


# ---------------------------------------------------------------------------
# the Python API
# ---------------------------------------------------------------------------

_P = "import bridge\nfrom bridge.ir import nodes as n\nplan = bridge.Plan.single(n.Step(3, 0.5), base=0.1)\n"

_PY: List[Tuple[str, str, str]] = [
    ("values-huge", _P + "plan.values(10**12)", "plan.values"),
    ("values-neg", _P + "plan.values(-1)", "n"),
    ("values-str", _P + "plan.values('x')", "n"),
    ("values-float", _P + "plan.values(2.5)", "n"),
    ("values-start-neg", _P + "plan.values(5, start=-3)", "start"),
    ("values-field", _P + "plan.values(5, field='momentum')", "momentum"),
    ("group-values-group", _P + "plan.group_values(5, group=4)", "group"),
    ("at-neg", _P + "plan.at([-1])", "step"),
    ("at-str", _P + "plan.at(['a'])", "steps"),
    ("at-huge", _P + "plan.at([10**30])", "steps"),
    ("iter-chunk-0", _P + "list(plan.iter_values(10, chunk=0))", "chunk"),
    ("iter-chunk-neg", _P + "list(plan.iter_values(10, chunk=-5))", "chunk"),
    ("iter-n-huge-stream-ok", _P + "it = plan.iter_values(10**12)\nnext(it)", ""),
    ("save-npy-dir", _P + "plan.save_npy('.', 5)", "."),
    ("save-npy-huge", _P + "plan.save_npy('x.npy', 10**15)", "free"),
    ("tabulate-huge", _P + "plan.tabulate(10**12)", "tabulate"),
    ("step-0", "from bridge.ir import nodes as n\nn.Step(0)", "step_size"),
    ("step-str", "from bridge.ir import nodes as n\nn.Step('3')", "step_size"),
    ("linear-nan", "from bridge.ir import nodes as n\nn.Linear(float('nan'), 1.0, 5)", "start_factor"),
    ("plan-base-neg", "import bridge\nfrom bridge.ir import nodes as n\nbridge.Plan.single(n.Step(3), base=-1)",
     "base"),
    ("plan-base-str", "import bridge\nfrom bridge.ir import nodes as n\nbridge.Plan.single(n.Step(3), base='x')",
     "base"),
    ("plan-node-notnode", "import bridge\nbridge.Plan.single('StepLR', base=0.1)", "schedule"),
    ("from-dict-none", "import bridge\nbridge.from_dict(None)", "plan"),
    ("from-dict-deep", "import bridge, json\nd = {'kind': 'step', 'step_size': 3}\nfor _ in range(5000):\n"
                       "    d = {'kind': 'chain', 'schedules': [d]}\nbridge.from_dict({'format': "
                       "'sched-bridge/plan', 'schema': 1, 'groups': [{'base': {'lr': 0.1}}], "
                       "'schedules': {'lr': d}})", "deep"),
    ("load-missing", "import bridge\nbridge.load('nope.json')", "nope.json"),
    ("load-dir", "import bridge\nbridge.load('.')", "."),
    ("load-int", "import bridge\nbridge.load(3)", "path"),
    ("from-mindspore-str", "import bridge\nbridge.from_mindspore([0.1, 'x'])", "[1]"),
    ("from-mindspore-empty", "import bridge\nbridge.from_mindspore([])", "empty"),
    ("from-mindspore-nan", "import bridge\nbridge.from_mindspore([0.1, float('nan')])", "[1]"),
    ("from-mindspore-neg", "import bridge\nbridge.from_mindspore([0.1, -0.5])", "[1]"),
    ("from-mindspore-nested", "import bridge\nbridge.from_mindspore([[0.1], [0.2]])", "1-D"),
    ("from-mindspore-name", "import bridge\nbridge.from_mindspore('no_such_lr', 1.0)", "no_such_lr"),
    ("from-torch-obj", "import bridge\nbridge.from_torch(object())", "scheduler"),
    ("from-torch-none", "import bridge\nbridge.from_torch(None)", "scheduler"),
    ("from-mmengine-notlist", "import bridge\nbridge.from_mmengine(3)", "param_scheduler"),
    ("from-mmengine-bad", "import bridge\nbridge.from_mmengine([dict(type='StepLR', step_size=-1, by_epoch=False)], "
                          "bases={'lr': [0.1]})", "step_size"),
    ("state-resumed-str", _P + "from bridge.groups import state\nstate.resumed(plan, {'last_epoch': 'x'})",
     "last_epoch"),
    ("state-resumed-float", _P + "from bridge.groups import state\nstate.resumed(plan, {'last_epoch': 1.7})",
     "last_epoch"),
    ("state-step-from-float", "from bridge.groups import state\nstate.step_from({'last_epoch': 1.7})", "last_epoch"),
    ("state-step-from-neg", "from bridge.groups import state\nstate.step_from({'last_epoch': -5})", "last_epoch"),
    ("state-step-from-empty", "from bridge.groups import state\nstate.step_from({})", "last_epoch"),
    ("state-step-from-str", "from bridge.groups import state\nstate.step_from('x')", "state"),
    ("same-schedule-str", "import bridge.testing as bt\nbt.assert_same_schedule('foo', 'bar')", "foo"),
    ("same-schedule-none", "import bridge.testing as bt\nbt.assert_same_schedule(None, None, steps=5)", "None"),
    ("same-schedule-steps", _P + "import bridge.testing as bt\nbt.assert_same_schedule(plan, plan, steps=-1)",
     "steps"),
    ("to-ms-list-0", _P + "bridge.to_mindspore_list(plan, 0)", "total_steps"),
    ("to-ms-list-huge", _P + "bridge.to_mindspore_list(plan, 2**31)", "total_steps"),
    ("to-ms-list-group", _P + "bridge.to_mindspore_list(plan, 5, group=3)", "group"),
    ("translate-optimizer-bad", "import bridge\nbridge.translate_optimizer(3)", "optimizer"),
    ("lint-bad", "import bridge\nbridge.lint(3)", "lint"),
    ("parse-expr-bad", "from bridge.spec import parse_expression\nparse_expression('StepLR(')", "syntax"),
    ("parse-expr-notstr", "from bridge.spec import parse_expression\nparse_expression(3)", "expression"),
    ("resolve-bad", "from bridge.spec import resolve\nresolve('')", "SPEC"),
    ("load-config-missing", "from bridge.config import load_config\nload_config('nope.py')", "nope.py"),
    ("plan-dump-suffix", _P + "plan.dump('x.xml')", "x.xml"),
    ("plan-dump-dir", _P + "plan.dump('nodir/x.json')", "nodir"),
]


def _py_cases() -> Iterator[Case]:
    for name, code, want in _PY:
        if name == "iter-n-huge-stream-ok":
            yield py(f"py-{name}", code, rc=0)
            continue
        yield py(f"py-{name}", code, expect=want)


def cases() -> List[Case]:
    out: List[Case] = []
    for gen in (_expr_cases, _plan_cases, _config_cases, _arg_cases, _capture_cases, _py_cases):
        out.extend(gen())
    ids = [c.id for c in out]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"duplicate case ids: {sorted(dup)}"
    return out
