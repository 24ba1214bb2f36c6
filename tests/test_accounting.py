"""Step accounting and loss-scaling skips, checked against the real frameworks."""

from __future__ import annotations

import itertools
import warnings
from types import ModuleType

import numpy as np
import pytest

from bridge.accounting import apply_skips, count_updates
from bridge.errors import SpecError


# ----------------------------------------------------------------------------- pure arithmetic
def test_explain_lines_and_notes() -> None:
    r = count_updates(10, 3, world_size=3, grad_accum=2, epochs=3, explain=True)
    assert (r.samples_per_rank, r.batches_per_epoch, r.updates_per_epoch, r.total) == (4, 2, 1, 3)
    text = r.explain()
    assert "ceil(10/3) = 4" in text and "pads 2 sample(s)" in text and "floor(2/2) = 1" in text
    assert int(r) == 3


def test_continuous_per_epoch_varies() -> None:
    r = count_updates(10, 1, grad_accum=3, epochs=3, accum="continuous")
    assert r.per_epoch == (3, 3, 4) and r.total == 10


def test_bad_arguments_raise_spec_error() -> None:
    with pytest.raises(SpecError, match="batch_size"):
        count_updates(10, 0)
    with pytest.raises(SpecError, match="accum"):
        count_updates(10, 2, accum="sometimes")
    with pytest.raises(SpecError, match="sink"):
        count_updates(10, 2, sink_size=4)
    with pytest.raises(SpecError, match="no batch"):
        count_updates(3, 4, drop_last=True)


def test_apply_skips_models() -> None:
    v = np.arange(6.0)
    assert apply_skips(v, [0, 2], "torch").tolist() == [1.0, 3.0, 4.0, 5.0]
    assert apply_skips(v, [0, 2], "mindspore").tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(SpecError, match="skipped"):
        apply_skips(v, [9], "torch")


# ----------------------------------------------------------------------------- torch
@pytest.mark.torch
def test_torch_dataloader_and_distributed_sampler(torch_mod: ModuleType) -> None:
    torch = torch_mod
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    for n, b, w, dl, sdl in itertools.product((7, 10, 13), (1, 3, 4), (1, 3, 4), (False, True), (False, True)):
        if dl and n // w < b or sdl and n // w == 0:
            continue
        ds = TensorDataset(torch.arange(n))
        per_rank = []
        batches = []
        for rank in range(w):
            sampler: DistributedSampler = DistributedSampler(ds, num_replicas=w, rank=rank, shuffle=False, drop_last=sdl)
            loader = DataLoader(ds, batch_size=b, sampler=sampler, drop_last=dl)
            per_rank.append(len(list(sampler)))
            batches.append(sum(1 for _ in loader))
        if per_rank[0] < b and dl:
            continue
        r = count_updates(n, b, world_size=w, drop_last=dl, sampler_drop_last=sdl)
        assert set(per_rank) == {r.samples_per_rank}, (n, b, w, dl, sdl)
        assert set(batches) == {r.batches_per_epoch}, (n, b, w, dl, sdl)


def _steps_in_loop(torch: ModuleType, n: int, b: int, a: int, epochs: int, convention: str) -> int:
    from torch.utils.data import DataLoader, TensorDataset

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    steps = [0]
    opt.register_step_post_hook(lambda *args: steps.__setitem__(0, steps[0] + 1))
    loader = DataLoader(TensorDataset(torch.ones(n, 1)), batch_size=b)
    g = 0
    for _ in range(epochs):
        for i, (x,) in enumerate(loader):
            (p * x).sum().backward()
            if convention == "floor":
                do = (i + 1) % a == 0
            elif convention == "ceil":  # HF Trainer / accelerate: also on the last batch
                do = (i + 1) % a == 0 or i + 1 == len(loader)
            else:  # continuous global counter
                g += 1
                do = g % a == 0
            if do:
                opt.step()
                opt.zero_grad()
    return steps[0]


@pytest.mark.torch
@pytest.mark.parametrize("convention", ["floor", "ceil", "continuous"])
def test_torch_grad_accum_loop_counts_optimizer_steps(torch_mod: ModuleType, convention: str) -> None:
    for n, b, a, e in ((10, 1, 3, 3), (20, 3, 2, 2), (17, 2, 4, 3), (8, 2, 4, 1), (9, 4, 5, 4)):
        real = _steps_in_loop(torch_mod, n, b, a, e, convention)
        r = count_updates(n, b, grad_accum=a, epochs=e, accum=convention)
        assert r.total == real, (n, b, a, e, convention)
        assert sum(r.per_epoch) == real


@pytest.mark.torch
def test_torch_gradscaler_skips_step_but_scheduler_advances(torch_mod: ModuleType) -> None:
    """torch.amp.GradScaler('cpu'): inf grads skip optimizer.step(); StepLR still advances."""
    torch = torch_mod
    from bridge.probes import compare, torch_probe

    p = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    probe = torch_probe(opt)
    skipped = [0, 3]
    n = 8
    plan_values = np.array([0.5**t for t in range(n)])  # what the scheduler holds before step t
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for t in range(n):
            opt.zero_grad()
            loss = (p * p).sum() * (float("inf") if t in skipped else 1.0)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
    msgs = [str(w.message) for w in caught]
    # skipping the very first step makes torch warn about the call order
    assert any("lr_scheduler.step()` before `optimizer.step()" in m for m in msgs)
    lr = probe.trace.array("lr")[:, 0]
    assert lr.shape[0] == n - len(skipped)
    assert lr.tolist() == apply_skips(plan_values, skipped, "torch").tolist()
    assert sched.last_epoch == n  # scheduler advanced on every iteration
    assert compare(probe.trace, plan_values, skipped=skipped, fields=["lr"]).ok
    rep = compare(probe.trace, plan_values, fields=["lr"])
    assert not rep.ok and "skipped updates" in rep.format()


# ----------------------------------------------------------------------------- MindSpore
def _ms_source(n: int) -> object:
    class Src:
        def __len__(self) -> int:
            return n

        def __getitem__(self, i: int) -> tuple:
            return np.full(2, float(i), np.float32), np.zeros(1, np.float32)

    return Src()


@pytest.mark.mindspore
def test_mindspore_batch_and_shards(ms: ModuleType) -> None:
    import mindspore.dataset as mds

    for n, b, w, dl in itertools.product((7, 10), (1, 3, 4), (1, 3, 4), (False, True)):
        sizes = set()
        for sid in range(w):
            kw = {"num_shards": w, "shard_id": sid} if w > 1 else {}
            d = mds.GeneratorDataset(_ms_source(n), ["x", "y"], shuffle=False, **kw)
            sizes.add(d.batch(b, drop_remainder=dl).get_dataset_size())
        if 0 in sizes:
            continue
        r = count_updates(n, b, world_size=w, drop_last=dl, framework="mindspore")
        assert sizes == {r.batches_per_epoch}, (n, b, w, dl)


@pytest.mark.mindspore
def test_mindspore_model_train_sink_mode_on_cpu(ms_graph: ModuleType) -> None:
    """On CPU, Model.train(dataset_sink_mode=True, sink_size=s) falls back to full epochs."""
    ms = ms_graph
    import mindspore.dataset as mds
    from mindspore import nn

    d = mds.GeneratorDataset(_ms_source(10), ["x", "y"], shuffle=False).batch(3)
    net = nn.Dense(2, 1)
    opt = nn.SGD(net.trainable_params(), 0.01)

    class Count(ms.train.Callback):  # type: ignore[name-defined]
        def __init__(self) -> None:
            self.calls = 0

        def on_train_step_end(self, run_context: object) -> None:
            self.calls += 1

    cb = Count()
    ms.train.Model(net, nn.MSELoss(), opt).train(3, d, callbacks=[cb], dataset_sink_mode=True, sink_size=2)
    real = int(opt.global_step.asnumpy().reshape(-1)[0])
    r = count_updates(10, 3, epochs=3, framework="mindspore", dataset_sink=True, sink_size=2,
                      device_target="CPU")
    assert real == r.total == 12 and cb.calls == (r.callbacks_per_epoch or 0) * 3
    dev = count_updates(10, 3, epochs=3, framework="mindspore", dataset_sink=True, sink_size=2)
    assert dev.total == 6 and dev.callbacks_per_epoch == 1  # Ascend/GPU: read from Model.train


def _cpu_loss_scale_cell(ms: ModuleType) -> type:
    from mindspore import nn, ops

    class CpuLossScaleCell(nn.TrainOneStepWithLossScaleCell):
        """Stock cell, but an overflow check that has CPU kernels (the stock one has none)."""

        def get_overflow_status(self, status, compute_output):
            return ops.logical_not(ms.amp.all_finite(compute_output))

    return CpuLossScaleCell


@pytest.mark.mindspore
def test_mindspore_loss_scale_overflow_does_not_advance_global_step(ms_graph: ModuleType) -> None:
    ms = ms_graph
    from mindspore import Parameter, Tensor, nn

    from bridge.probes import compare, mindspore_probe

    class Net(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.w = Parameter(Tensor(np.ones(2, np.float32)), name="w")

        def construct(self, x):
            return (self.w * x).sum()

    net = Net()
    lrs = [0.1 * (i + 1) for i in range(10)]
    opt = nn.SGD(net.trainable_params(), learning_rate=lrs)
    mgr = nn.DynamicLossScaleUpdateCell(loss_scale_value=16.0, scale_factor=2, scale_window=1000)
    step = _cpu_loss_scale_cell(ms)(net, opt, scale_sense=mgr)
    probe = mindspore_probe(opt)
    skipped = [0, 3, 4]
    n = 8
    used, gsteps = [], []
    for t in range(n):
        x = np.ones(2, np.float32)
        if t in skipped:
            x[0] = np.inf
        w0 = net.w.asnumpy().copy()
        _, overflow, _ = step(Tensor(x))
        assert bool(overflow.asnumpy()) == (t in skipped)
        used.append(float((w0 - net.w.asnumpy())[1]))
        gsteps.append(int(opt.global_step.asnumpy().reshape(-1)[0]))
        probe.sync()
    assert gsteps == [0, 1, 2, 2, 2, 3, 4, 5]
    applied = [u for t, u in enumerate(used) if t not in skipped]
    assert [u for t, u in enumerate(used) if t in skipped] == [0.0] * len(skipped)
    expect = apply_skips(np.asarray(lrs[:n], dtype=np.float32).astype(np.float64), skipped, "mindspore")
    np.testing.assert_allclose(applied, expect, rtol=1e-6)
    assert compare(probe.trace, np.array(lrs[:n]), skipped=skipped, fields=["lr"]).ok
