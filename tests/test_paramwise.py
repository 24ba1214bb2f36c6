"""bridge.groups.paramwise against MMEngine's real DefaultOptimWrapperConstructor."""

from __future__ import annotations

import pytest

from bridge.errors import SpecError
from bridge.groups import paramwise


def _model(torch, shared=False):
    nn = torch.nn

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3)
            self.bn1 = nn.BatchNorm2d(8)
            self.dw = nn.Conv2d(8, 8, 3, groups=8)
            self.gn = nn.GroupNorm(2, 8)
            self.frozen = nn.Linear(2, 2)
            self.frozen.weight.requires_grad_(False)

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)
            self.ln = nn.LayerNorm(4)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_embed = nn.Parameter(torch.zeros(1, 4))
            self.scale = nn.Parameter(torch.ones(4))
            self.backbone = Backbone()
            self.head = Head()
            self.decode_head = Head()
            self.embed = nn.Embedding(10, 4)
            self.rms = nn.RMSNorm(4)
            if shared:
                self.tied = nn.Linear(8, 4)
                self.tied.weight = self.head.fc.weight

    return Net()


CONFIGS = {
    "empty": {},
    "bias": {"bias_lr_mult": 2.0, "bias_decay_mult": 0.0},
    "norm": {"norm_decay_mult": 0.0},
    "norm_and_bias": {"norm_decay_mult": 0.5, "bias_decay_mult": 0.0, "bias_lr_mult": 3.0},
    "dwconv": {"dwconv_decay_mult": 0.1},
    "flat": {"flat_decay_mult": 0.0},
    "setr_head": {"custom_keys": {"head": {"lr_mult": 10.0}}},
    "longest_first": {"custom_keys": {"head": {"lr_mult": 10.0}, "decode_head": {"lr_mult": 5.0},
                                      "fc": {"lr_mult": 2.0}}},
    "mmengine_846": {"custom_keys": {"backbone": {"lr_mult": 0.1}}, "norm_decay_mult": 0.0,
                     "bias_decay_mult": 0.0},
    "decay_mult_and_extra": {"custom_keys": {"pos_embed": {"decay_mult": 0.0},
                                             "head.fc": {"lr_mult": 2.0, "decay_mult": 0.5, "momentum": 0.5}}},
    "tie_alphabetical": {"custom_keys": {"bn": {"lr_mult": 3.0}, "gn": {"lr_mult": 4.0},
                                         "nn": {"lr_mult": 7.0}}},
    "top_level_dot": {"custom_keys": {".scale": {"lr_mult": 0.0}}, "flat_decay_mult": 0.25},
    "everything": {"custom_keys": {"decode_head.ln": {"decay_mult": 2.0}}, "bias_lr_mult": 2.0,
                   "bias_decay_mult": 0.5, "norm_decay_mult": 0.0, "dwconv_decay_mult": 0.3,
                   "flat_decay_mult": 0.7},
    "bypass_duplicate": {"bypass_duplicate": True, "bias_lr_mult": 2.0},
}


def _mmengine_groups(mmengine_mod, model, cfg, base_wd=1e-4):
    from mmengine.optim import DefaultOptimWrapperConstructor

    opt = dict(type="SGD", lr=0.01, momentum=0.9)
    if base_wd is not None:
        opt["weight_decay"] = base_wd
    ctor = DefaultOptimWrapperConstructor(dict(optimizer=opt), cfg)
    return ctor(model).optimizer.param_groups


@pytest.mark.mmengine
@pytest.mark.parametrize("name", list(CONFIGS))
def test_parity_with_mmengine(name, torch_mod, mmengine_mod):
    torch = torch_mod
    cfg = CONFIGS[name]
    model = _model(torch, shared=name == "bypass_duplicate")
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    theirs = _mmengine_groups(mmengine_mod, model, cfg)
    table = paramwise.apply(paramwise.describe(model), 0.01, 1e-4, cfg)
    ours = table.torch_groups()
    assert len(theirs) == len(ours)
    for t, o in zip(theirs, ours):
        assert [names[id(p)] for p in t["params"]] == [names[id(p)] for p in o["params"]]
        assert [id(p) for p in t["params"]] == [id(p) for p in o["params"]]
        assert t["lr"] == o.get("lr", 0.01)
        assert t["weight_decay"] == o.get("weight_decay", 1e-4)
        for k, v in o.items():
            if k != "params":
                assert t[k] == v, k
    # the same groups give the same torch optimizer
    mine = torch.optim.SGD(ours, lr=0.01, momentum=0.9, weight_decay=1e-4)
    for a, b in zip(theirs, mine.param_groups):
        assert {k: v for k, v in a.items() if k != "params"} == {k: v for k, v in b.items() if k != "params"}


@pytest.mark.mmengine
def test_setr_trap_and_846_rules_named(torch_mod, mmengine_mod):
    model = _model(torch_mod)
    t = paramwise.apply(paramwise.describe(model), 0.01, 1e-4, CONFIGS["setr_head"]).as_dict()
    assert t["decode_head.fc.weight"]["lr"] == pytest.approx(0.1)
    assert t["decode_head.fc.weight"]["rule"] == "custom_keys['head']"
    t = paramwise.apply(paramwise.describe(model), 0.01, 1e-4, CONFIGS["mmengine_846"]).as_dict()
    assert t["backbone.bn1.weight"]["weight_decay"] == 1e-4       # not 0: custom key wins
    assert t["head.ln.weight"]["weight_decay"] == 0.0
    assert t["backbone.frozen.weight"]["skipped"] == "requires_grad=False"


@pytest.mark.mmengine
def test_shared_parameter_without_bypass_fails_like_mmengine(torch_mod, mmengine_mod):
    model = _model(torch_mod, shared=True)
    with pytest.raises(ValueError, match="more than one"):
        _mmengine_groups(mmengine_mod, model, {"bias_lr_mult": 1.0})
    groups = paramwise.apply(paramwise.describe(model), 0.01, 1e-4, {"bias_lr_mult": 1.0}).torch_groups()
    with pytest.raises(ValueError, match="more than one"):
        torch_mod.optim.SGD(groups, lr=0.01)


@pytest.mark.mmengine
def test_missing_base_wd_refused_like_mmengine(torch_mod, mmengine_mod):
    model = _model(torch_mod)
    for cfg in ({"norm_decay_mult": 0.0}, {"custom_keys": {"head": {"decay_mult": 0.0}}}):
        with pytest.raises(ValueError):
            _mmengine_groups(mmengine_mod, model, cfg, base_wd=None)
        with pytest.raises(SpecError):
            paramwise.apply(paramwise.describe(model), 0.01, None, cfg)


def test_hand_written_description():
    infos = [paramwise.ParamInfo("backbone.bn", "weight", "norm", 1),
             paramwise.ParamInfo("backbone.bn", "bias", "norm", 1),
             paramwise.ParamInfo("decode_head.conv", "bias", "conv", 1)]
    t = paramwise.apply(infos, 1.0, 0.1, {"bias_lr_mult": 2.0, "norm_decay_mult": 0.0,
                                          "custom_keys": {"head": {"lr_mult": 5.0}}})
    assert [(r.lr, r.weight_decay, r.rule) for r in t.rows] == [
        (1.0, 0.0, "norm_decay_mult"), (1.0, 0.0, "norm_decay_mult"), (5.0, 0.1, "custom_keys['head']")]
    with pytest.raises(SpecError, match="unknown keys"):
        paramwise.apply(infos, 1.0, 0.1, {"bias_lr_mul": 2.0})
    with pytest.raises(SpecError, match="kind"):
        paramwise.ParamInfo("a", "b", "batchnorm")


@pytest.mark.mindspore
@pytest.mark.torch
def test_mindspore_cell_matches_torch_module(ms, torch_mod):
    """A matched MindSpore port gets the same per-parameter decisions (torch-convention names)."""
    torch, nn = torch_mod, ms.nn

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.bn = torch.nn.BatchNorm2d(4)
            self.dw = torch.nn.Conv2d(4, 4, 3, groups=4)
            self.head = torch.nn.Linear(4, 2)

    class MNet(nn.Cell):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, has_bias=True)
            self.bn = nn.BatchNorm2d(4)
            self.dw = nn.Conv2d(4, 4, 3, group=4, has_bias=True)
            self.head = nn.Dense(4, 2)

    cfg = {"bias_lr_mult": 2.0, "bias_decay_mult": 0.5, "dwconv_decay_mult": 0.1,
           "custom_keys": {"head": {"lr_mult": 3.0}}}
    t = paramwise.apply(paramwise.describe(TNet()), 0.1, 1e-3, cfg).as_dict()
    m_table = paramwise.apply(paramwise.describe(MNet()), 0.1, 1e-3, cfg)
    m = m_table.as_dict()
    kept = {k: v for k, v in m.items() if v["skipped"] is None}
    assert kept == t
    # the MindSpore groups build a real optimizer with those values
    groups = m_table.mindspore_groups()
    opt = nn.Momentum(groups, learning_rate=0.1, momentum=0.9, weight_decay=1e-3)
    assert len(opt.parameters) == 8
    native = paramwise.describe(MNet(), names="native")
    assert [p.name for p in native][:4] == ["conv.weight", "conv.bias", "bn.moving_mean", "bn.moving_variance"]


_MMCV_OPS = '''
"""Stand-in for mmcv-full's DCN classes (mmcv-full needs compiled ops and has no build for torch
2.13): same class names, module and structure (the *Pack variants own a ``conv_offset`` Conv2d)."""
import torch
from torch import nn


class DeformConv2d(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin, k, k))


class DeformConv2dPack(DeformConv2d):
    def __init__(self, cin, cout, k):
        super().__init__(cin, cout, k)
        self.conv_offset = nn.Conv2d(cin, 2 * k * k, k)


class ModulatedDeformConv2d(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout))


class ModulatedDeformConv2dPack(ModulatedDeformConv2d):
    def __init__(self, cin, cout, k):
        super().__init__(cin, cout, k)
        self.conv_offset = nn.Conv2d(cin, 3 * k * k, k)
'''


@pytest.fixture
def fake_mmcv(tmp_path, monkeypatch):
    import sys

    pkg = tmp_path / "mmcv"
    (pkg / "ops").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_ext.py").write_text("")  # what mmengine's mmcv_full_available() looks for
    (pkg / "ops" / "__init__.py").write_text(_MMCV_OPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [m for m in sys.modules if m == "mmcv" or m.startswith("mmcv.")]:
        del sys.modules[name]


@pytest.mark.mmengine
@pytest.mark.parametrize("cfg", [
    {"dcn_offset_lr_mult": 0.1},
    {"dcn_offset_lr_mult": 0.1, "bias_lr_mult": 2.0, "bias_decay_mult": 0.0, "flat_decay_mult": 0.5},
    {"dcn_offset_lr_mult": 0.0, "norm_decay_mult": 0.0, "custom_keys": {"dcn2": {"lr_mult": 3.0}}},
], ids=["offset", "offset_bias_flat", "offset_custom_keys"])
def test_dcn_offset_lr_mult_parity_with_mmengine(cfg, fake_mmcv, torch_mod, mmengine_mod):
    """dcn_offset_lr_mult: only the conv_offset of an mmcv DCN module, with bias/flat rules not
    applied inside it, exactly as MMEngine's constructor does when mmcv-full is present."""
    from mmcv.ops import DeformConv2dPack, ModulatedDeformConv2dPack
    from mmengine.utils.dl_utils import mmcv_full_available

    assert mmcv_full_available()
    nn = torch_mod.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.dcn = DeformConv2dPack(4, 4, 3)
            self.dcn2 = ModulatedDeformConv2dPack(4, 4, 3)
            self.conv_offset = nn.Conv2d(4, 4, 1)  # named like an offset, but not inside a DCN

    model = Net()
    want = _mmengine_groups(mmengine_mod, model, cfg)
    table = paramwise.apply(paramwise.describe(model), 0.01, 1e-4, cfg)
    got = table.torch_groups()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert [id(p) for p in g["params"]] == [id(p) for p in w["params"]]
        # a key left out of a group dict takes the optimizer default (lr=0.01, weight_decay=1e-4)
        assert (g.get("lr", 0.01), g.get("weight_decay", 1e-4)) == (w["lr"], w["weight_decay"])
    rules = {r.name: r.rule for r in table.rows}
    assert "dcn_offset_lr_mult" in rules["dcn.conv_offset.weight"]
    assert "dcn_offset_lr_mult" not in (rules["conv_offset.weight"] or "")


# --- the groups a paramwise_cfg implies without a model (sched-bridge show / --group KEY) ---

# Which implied group each parameter of _model() belongs to, decided here by hand from MMEngine's
# rules (custom keys first, longest key first; then norm > bias > dwconv > flat for the decay):
# (name, kind) with kind one of default / norm / bias / dwconv / flat.
_PARAM_KINDS = {
    "pos_embed": "default", "scale": "flat", "backbone.conv1.weight": "default", "backbone.conv1.bias": "bias",
    "backbone.bn1.weight": "norm", "backbone.bn1.bias": "norm_bias", "backbone.dw.weight": "dwconv",
    "backbone.dw.bias": "dwconv_bias", "backbone.gn.weight": "norm", "backbone.gn.bias": "norm_bias",
    "backbone.frozen.bias": "bias", "head.fc.weight": "default", "head.fc.bias": "bias", "head.ln.weight": "norm",
    "head.ln.bias": "norm_bias", "decode_head.fc.weight": "default", "decode_head.fc.bias": "bias",
    "decode_head.ln.weight": "norm", "decode_head.ln.bias": "norm_bias", "embed.weight": "default",
    "rms.weight": "flat",  # RMSNorm is not one of MMEngine's norm classes: a 1-D "other" parameter
}


# a group that is not listed (no rule changes it, or it equals the group it falls back to) -> that group
_FALLBACK = {"norm_bias": "norm", "dwconv_bias": "bias", "norm": "default", "bias": "default", "dwconv": "default",
             "flat": "default"}


def _expected_group(name, cfg, implied):
    module = name.rsplit(".", 1)[0] if "." in name else ""
    for key in sorted(sorted(cfg.get("custom_keys", {})), key=len, reverse=True):
        if key in f"{module}.{name.rsplit('.', 1)[-1]}":  # MMEngine matches f"{prefix}.{name}"
            return key
    kind = _PARAM_KINDS[name]
    while kind not in implied:
        kind = _FALLBACK[kind]
    return kind


IMPLIED = ["bias", "norm", "norm_and_bias", "dwconv", "flat", "setr_head", "longest_first", "mmengine_846",
           "decay_mult_and_extra", "everything"]


@pytest.mark.mmengine
@pytest.mark.parametrize("name", IMPLIED)
def test_implied_groups_match_mmengine_constructor(name, torch_mod, mmengine_mod):
    """Every parameter of a real model gets, from MMEngine's DefaultOptimWrapperConstructor, the lr
    and weight_decay of the implied group the rules put it in."""
    cfg = CONFIGS[name]
    model = _model(torch_mod)
    names = {id(p): n for n, p in model.named_parameters()}
    implied = {g.name: g for g in paramwise.implied_groups(cfg, 0.01, 1e-4)}
    assert list(implied)[0] == "default"
    seen = set()
    for group in _mmengine_groups(mmengine_mod, model, cfg):
        for p in group["params"]:
            n = names[id(p)]
            if n == "backbone.frozen.weight":  # requires_grad=False: MMEngine keeps the base values
                continue
            want = implied[_expected_group(n, cfg, implied)]
            seen.add(want.name)
            assert (group["lr"], group["weight_decay"]) == (want.lr, want.weight_decay), (n, want)
    # every rule-based group has a parameter here (a custom key may be shadowed by a longer one)
    assert set(implied) - set(cfg.get("custom_keys", {})) <= seen, (seen, set(implied))


def test_implied_groups_rules_and_errors():
    gs = paramwise.implied_groups({"custom_keys": {"backbone": {"lr_mult": 0.1}}, "norm_decay_mult": 0.0}, 2.0, 0.5)
    assert [(g.name, g.lr, g.weight_decay) for g in gs] == [("default", 2.0, 0.5), ("backbone", 0.2, 0.5),
                                                            ("norm", 2.0, 0.0)]
    # bias_decay_mult alone reaches the biases of norm layers too (MMEngine's elif order), not bias_lr_mult
    gs = paramwise.implied_groups({"bias_lr_mult": 2.0, "bias_decay_mult": 0.0}, 1.0, 0.5)
    assert [(g.name, g.lr, g.weight_decay) for g in gs] == [("default", 1.0, 0.5), ("norm_bias", 1.0, 0.0),
                                                            ("bias", 2.0, 0.0)]
    assert [g.weight_decay for g in paramwise.implied_groups({"bias_lr_mult": 2.0}, 1.0, None)] == [None, None]
    with pytest.raises(SpecError, match="custom_keys.backbone.decay_mult"):
        paramwise.implied_groups({"custom_keys": {"backbone": {"decay_mult": 0.1}}}, 1.0, None)
    with pytest.raises(SpecError, match="unknown keys"):
        paramwise.implied_groups({"bias_lr": 2.0}, 1.0, 0.1)
