"""mappings/*.toml against the real frameworks, and the generated docs against the tables."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from bridge import mappings

ROOT = Path(__file__).resolve().parent.parent
MARK = {"torch": "torch", "oneflow": "oneflow", "mindspore.nn": "mindspore",
        "mindspore.experimental": "mindspore", "mindspore.mint": "mindspore"}


def _resolve(path: str):
    from bridge._frameworks import import_framework

    import_framework(path.split(".")[0])
    mod, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError):  # a class path through an attribute
        m2, _, n2 = mod.rpartition(".")
        return getattr(getattr(importlib.import_module(m2), n2), name)


def _cases():
    for opt, spec in mappings.optimizers().items():
        for fw in mappings.APIS:
            if fw in spec:
                yield pytest.param(opt, fw, marks=getattr(pytest.mark, MARK[fw]), id=f"{opt}-{fw}")


@pytest.mark.parametrize("opt,fw", list(_cases()))
def test_defaults_match_real_signature(opt, fw):
    spec = mappings.optimizer_spec(opt, fw)
    cls = _resolve(spec["class"])
    sig = mappings.signature_of(cls).parameters
    for canon, arg in spec.get("args", {}).items():
        names = arg["names"] if "names" in arg else [arg["name"]]
        for i, native in enumerate(names):
            assert native in sig, f"{spec['class']} has no argument {native!r} ({canon})"
            real = sig[native].default
            if arg.get("required"):
                assert real is inspect.Parameter.empty, f"{spec['class']}.{native} has default {real!r}"
                continue
            want = arg["default"][i] if "names" in arg else arg["default"]
            if isinstance(real, tuple):
                real = list(real)
            assert real == want and type(real) is type(want), (
                f"{spec['class']}.{native}: table says {want!r}, real default {real!r}")
    for native, want in spec.get("extra", {}).items():
        assert native in sig, f"{spec['class']} has no argument {native!r}"
        assert sig[native].default == want
    for canon in spec.get("missing", {}):
        # a missing hyper-parameter must really be absent under its torch name
        assert canon not in sig or canon in ("momentum",), f"{spec['class']} does have {canon!r}"


@pytest.mark.parametrize("fw", [pytest.param(fw, marks=getattr(pytest.mark, fw))
                                for fw in ("torch", "oneflow", "mindspore")])
def test_module_kind_classes_exist(fw):
    # the marker (not a skip here): deselected where the framework is not, failing where tox requires it
    kinds = mappings.load("param_groups")["module_kinds"][fw]
    for paths in kinds.values():
        for p in paths:
            assert inspect.isclass(_resolve(p)), p


@pytest.mark.mindspore
def test_param_names_match_mindspore_layers(ms):
    nn = ms.nn
    layers = {"linear": nn.Dense(3, 4), "conv2d": nn.Conv2d(3, 4, 3, has_bias=True),
              "batchnorm": nn.BatchNorm2d(4), "layernorm": nn.LayerNorm((4,)),
              "groupnorm": nn.GroupNorm(2, 4), "embedding": nn.Embedding(5, 3)}
    table = mappings.load("param_names")["layers"]
    assert set(table) == set(layers)

    class Wrap(nn.Cell):
        def __init__(self, layer):
            super().__init__()
            self.m = layer

    for kind, layer in layers.items():
        names = [p.name.split(".", 1)[1] for p in Wrap(layer).get_parameters()]
        assert set(names) == set(table[kind]["names"].values()), kind
        order = table[kind].get("parameter_order", {}).get("mindspore")
        if order:
            assert names == order
    for kind, row in table.items():  # bridge.weights renames the parameters of these classes by the row
        for cls in row["mindspore_classes"]:
            assert inspect.isclass(getattr(nn, cls)), f"{kind}: mindspore.nn.{cls}"
        assert type(layers[kind]).__name__ in row["mindspore_classes"], kind


@pytest.mark.torch
def test_param_names_match_torch_layers(torch_mod):
    nn = torch_mod.nn
    layers = {"linear": nn.Linear(3, 4), "conv2d": nn.Conv2d(3, 4, 3),
              "batchnorm": nn.BatchNorm2d(4), "layernorm": nn.LayerNorm(4),
              "groupnorm": nn.GroupNorm(2, 4), "embedding": nn.Embedding(5, 3)}
    table = mappings.load("param_names")["layers"]
    for kind, layer in layers.items():
        names = [n for n, _ in layer.named_parameters()] + [n for n, _ in layer.named_buffers()
                                                             if n != "num_batches_tracked"]
        assert set(names) == set(table[kind]["names"]), kind
    assert mappings.param_name("batchnorm", "running_var") == "moving_variance"
    assert mappings.param_name("batchnorm", "gamma", src="mindspore", dst="torch") == "weight"


@pytest.mark.mindspore
def test_mindspore_group_keys_are_exactly_the_accepted_ones(ms):
    nn = ms.nn
    net = nn.Dense(2, 2)
    keys = mappings.load("param_groups")["frameworks"]["mindspore.nn"]["keys"]
    ps = net.trainable_params()
    group = {"params": ps, "lr": 0.1, "weight_decay": 0.0, "grad_centralization": False}
    assert set(group) | {"order_params"} == set(keys)
    nn.Momentum([group, {"order_params": ps}], learning_rate=0.1, momentum=0.9)
    with pytest.raises(KeyError):
        nn.Momentum([{"params": ps, "momentum": 0.5}], learning_rate=0.1, momentum=0.9)


def test_generated_docs_are_current(tmp_path):
    tool = ROOT / "tools" / "gen_mapping_docs.py"
    subprocess.run([sys.executable, str(tool), "--out", str(tmp_path)], check=True, cwd=ROOT)
    for page in ("optimizers.md", "param-groups.md", "expression-args.md"):
        fresh = (tmp_path / page).read_text(encoding="utf-8")
        committed = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert committed == fresh, f"docs/{page} is stale: run python tools/gen_mapping_docs.py"


def test_loader_tables():
    assert set(mappings.TABLES) == {"optimizers", "param_groups", "param_names", "constructor_args"}
    assert mappings.native_name("Adam", "mindspore.nn", "betas") == ["beta1", "beta2"]
    assert mappings.native_name("Adagrad", "mindspore.nn", "eps") is None
    with pytest.raises(mappings.SpecError):
        mappings.optimizer_spec("AdamW", "nonsense")
