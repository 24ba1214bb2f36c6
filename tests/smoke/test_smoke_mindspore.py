"""MindSpore is real here: with ``learning_rate=[l0, l1, l2]`` the optimizer's
t-th update (global_step t, from 0) uses ``l_t`` -- read off the parameter
updates of a real ``nn.SGD`` in GRAPH_MODE: ``w_{t+1} = w_t - l_t * g``."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.mindspore


def test_sgd_lr_list_element_t_drives_update_t(ms_graph):
    ms = ms_graph
    from mindspore import Parameter, Tensor, nn, ops

    assert ms.get_context("mode") == ms.GRAPH_MODE
    lrs = [0.1, 0.2, 0.3]
    w0 = np.array([1.0, 2.0], dtype=np.float32)
    x = np.array([1.0, 3.0], dtype=np.float32)  # d(sum(w * x))/dw = x: a known gradient

    class Linear(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.w = Parameter(Tensor(w0.copy()), name="w")

        def construct(self, inp):
            return ops.reduce_sum(self.w * inp)

    net = Linear()
    opt = nn.SGD(net.trainable_params(), learning_rate=lrs)
    grad_fn = ms.value_and_grad(net, None, opt.parameters)

    @ms.jit
    def train_step(inp):
        loss, grads = grad_fn(inp)
        opt(grads)
        return loss

    ws = [net.w.asnumpy().astype(np.float64)]
    for _ in range(len(lrs)):
        train_step(Tensor(x))
        ws.append(net.w.asnumpy().astype(np.float64))

    g = x.astype(np.float64)
    for t, lr in enumerate(lrs):
        step = ws[t] - ws[t + 1]
        np.testing.assert_allclose(step, lr * g, rtol=1e-5, atol=1e-6, err_msg=f"update {t}")
    expected = w0.astype(np.float64) - np.cumsum(lrs)[-1] * g
    np.testing.assert_allclose(ws[-1], expected, rtol=1e-5)
