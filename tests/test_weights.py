"""bridge.copy_weights: real torch / MindSpore / OneFlow nets give the same outputs after a transfer."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Tuple

import numpy as np
import pytest

from bridge.errors import SpecError
from bridge.weights import copy_weights, mindspore_names, state_dict_arrays


def _torch_net(torch: ModuleType) -> Any:
    tnn = torch.nn

    class TNet(tnn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.emb = tnn.Embedding(10, 4)
            self.conv = tnn.Conv2d(3, 6, 3, padding=1)
            self.bn = tnn.BatchNorm2d(6)
            self.fc = tnn.Linear(6 * 4 * 4, 8)
            self.ln = tnn.LayerNorm(8)
            self.head = tnn.Linear(8 + 4, 3)

        def forward(self, x: Any, ids: Any) -> Any:
            h = self.ln(self.fc(torch.relu(self.bn(self.conv(x))).flatten(1)))
            return self.head(torch.cat([h, self.emb(ids)], 1))

    torch.manual_seed(0)
    t = TNet()
    with torch.no_grad():  # non-trivial BN statistics and affine parameters
        t.bn.weight.uniform_(0.5, 1.5)
        t.bn.bias.uniform_(-0.5, 0.5)
        t.ln.weight.uniform_(0.5, 1.5)
        t(torch.randn(8, 3, 4, 4) * 2 + 1, torch.zeros(8, dtype=torch.long))
    return t


def _ms_net(ms: ModuleType) -> Any:
    mnn, ops = ms.nn, ms.ops

    class MNet(mnn.Cell):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.emb = mnn.Embedding(10, 4)
            self.conv = mnn.Conv2d(3, 6, 3, pad_mode="pad", padding=1, has_bias=True)
            self.bn = mnn.BatchNorm2d(6, momentum=0.9)
            self.fc = mnn.Dense(6 * 4 * 4, 8)
            self.ln = mnn.LayerNorm((8,), epsilon=1e-5)
            self.head = mnn.Dense(8 + 4, 3)

        def construct(self, x: Any, ids: Any) -> Any:
            h = self.ln(self.fc(ops.relu(self.bn(self.conv(x))).reshape(x.shape[0], -1)))
            return self.head(ops.concat([h, self.emb(ids)], 1))

    return MNet()


def _inputs(seed: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 3, 4, 4)).astype(np.float32), rng.integers(0, 10, 5).astype(np.int32)


def _outputs(torch: ModuleType, ms: ModuleType, t: Any, m: Any, train: bool) -> Tuple[np.ndarray, np.ndarray]:
    x, ids = _inputs()
    t.train(train)
    m.set_train(train)
    with torch.no_grad():
        a = t(torch.from_numpy(x), torch.from_numpy(ids.astype(np.int64))).numpy()
    b = m(ms.Tensor(x), ms.Tensor(ids)).asnumpy()
    return a, b


def test_torch_to_mindspore_same_outputs(torch_mod: ModuleType, ms: ModuleType) -> None:
    torch = torch_mod
    t, m = _torch_net(torch), _ms_net(ms)
    a, b = _outputs(torch, ms, t, m, train=False)
    assert np.abs(a - b).max() > 1e-2  # different starts before the transfer
    report = copy_weights(t, m)
    assert report.copied["bn.weight"] == "bn.gamma" and report.copied["bn.running_var"] == "bn.moving_variance"
    assert report.copied["emb.weight"] == "emb.embedding_table" and report.copied["ln.bias"] == "ln.beta"
    assert report.skipped == ["bn.num_batches_tracked"]
    assert len(report.copied) == len(list(m.get_parameters())) == 13
    for train in (False, True):  # eval: the moving statistics; train: batch statistics
        a, b = _outputs(torch, ms, t, m, train=train)
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=f"train={train}")
    assert "bn.weight -> bn.gamma" in str(report)


def test_mindspore_to_torch_same_outputs(torch_mod: ModuleType, ms: ModuleType) -> None:
    torch = torch_mod
    m = _ms_net(ms)
    rng = np.random.default_rng(3)
    for p in m.get_parameters():  # every MindSpore value differs from torch's init, moving stats included
        v = rng.uniform(0.5, 1.5, p.shape) if "moving_variance" in p.name else rng.standard_normal(p.shape) * 0.3
        p.set_data(ms.Tensor(v.astype(np.float32)))
    t = _torch_net(torch)
    report = copy_weights(m, t)
    assert report.copied["bn.moving_mean"] == "bn.running_mean" and report.source == "mindspore"
    np.testing.assert_array_equal(t.bn.running_var.numpy(), m.bn.moving_variance.asnumpy())
    for train in (False, True):
        a, b = _outputs(torch, ms, t, m, train=train)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"train={train}")
    # a state dict (what torch.load gives) works as the source too, and the names round-trip
    arrays = state_dict_arrays(m)
    assert set(arrays) == set(t.state_dict()) - {"bn.num_batches_tracked"}
    m2 = _ms_net(ms)
    sd = t.state_dict()
    copy_weights(sd, m2)
    for p in m2.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), sd[mindspore_names(m2)[p.name]].numpy())


def test_unmappable_names_all_reported(torch_mod: ModuleType, ms: ModuleType) -> None:
    torch = torch_mod
    t, m = _torch_net(torch), _ms_net(ms)
    before = {p.name: p.asnumpy().copy() for p in m.get_parameters()}
    sd = t.state_dict()
    sd["extra.weight"] = torch.zeros(2)             # no MindSpore counterpart
    sd["fc.weight"] = torch.zeros(8, 95)            # wrong shape
    del sd["head.bias"]                             # a MindSpore parameter nothing fills
    with pytest.raises(SpecError) as ei:
        copy_weights(sd, m)
    msg = str(ei.value)
    assert "3 name(s) cannot be mapped" in msg
    assert "'extra.weight' (2,): no parameter of that name" in msg
    assert "'fc.weight': shape (8, 95) in the state dict model, (8, 96)" in msg
    assert "'head.bias' (3,): nothing in the state dict model maps to it" in msg
    for p in m.get_parameters():  # nothing was written
        np.testing.assert_array_equal(p.asnumpy(), before[p.name])
    # strict=False copies what maps; a shape mismatch stays an error
    del sd["fc.weight"]
    report = copy_weights(sd, m, strict=False)
    assert "head.bias" not in report.copied and report.copied["head.weight"] == "head.weight"
    with pytest.raises(SpecError, match="dst"):
        copy_weights(t, object())


@pytest.mark.oneflow
def test_oneflow_round_trip_through_torch_names(flow: ModuleType, tmp_path: Any) -> None:
    """OneFlow's state dict has torch's names: an .npz of torch-convention arrays loads into a OneFlow
    model, and a OneFlow model into another, with the same outputs."""
    fnn = flow.nn

    def net() -> Any:
        return fnn.Sequential(fnn.Conv2d(3, 4, 3, padding=1), fnn.BatchNorm2d(4), fnn.ReLU(), fnn.Flatten(),
                              fnn.Linear(4 * 4 * 4, 3))

    flow.manual_seed(0)
    a = net()
    a.train()
    a(flow.randn(6, 3, 4, 4) * 2 + 1)  # non-trivial running statistics
    np.savez(tmp_path / "w.npz", **state_dict_arrays(a))
    b = net()
    report = copy_weights(np.load(tmp_path / "w.npz"), b)
    assert report.copied["1.running_mean"] == "1.running_mean" and not report.skipped
    c = net()
    copy_weights(a, c)
    x = flow.tensor(_inputs()[0])
    for m in (a, b, c):
        m.eval()
    want = a(x).numpy()
    for m in (b, c):
        np.testing.assert_array_equal(m(x).numpy(), want)
    sd = state_dict_arrays(a)
    sd["4.weight"] = np.zeros((3, 5), np.float32)
    with pytest.raises(SpecError, match=r"'4.weight': shape \(3, 5\)"):
        copy_weights(sd, b)


def test_conv1d_weight_reshaped_both_ways(torch_mod: ModuleType, ms: ModuleType) -> None:
    """MindSpore's Conv1d keeps its weight as (out, in, 1, k), torch's is (out, in, k): reshaped."""
    torch = torch_mod
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3))
    m = ms.nn.SequentialCell([ms.nn.Conv1d(3, 4, 3, pad_mode="valid", has_bias=True)])
    assert tuple(m[0].weight.shape) == (4, 3, 1, 3)
    copy_weights(t, m)
    x = np.random.default_rng(0).standard_normal((2, 3, 7)).astype(np.float32)
    with torch.no_grad():
        want = t(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(m(ms.Tensor(x)).asnumpy(), want, rtol=1e-5, atol=1e-6)
    t2 = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3))
    copy_weights(m, t2)
    np.testing.assert_array_equal(t2[0].weight.detach().numpy(), t[0].weight.detach().numpy())
