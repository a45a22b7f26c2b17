"""Optimizers and gradient clipping against hand-computed updates."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import layers as L
from tinygrad_attn.optim import SGD, AdaGrad, Adam, Momentum, clip_grads, grad_norm


def param(v, g):
    p = ta.Parameter(np.array(v, dtype=np.float64))
    p.grad = ta.Variable(np.array(g, dtype=np.float64))
    return p


def test_sgd_momentum_adagrad():
    p = param([1.0, 2.0], [0.5, -1.0])
    SGD([p], lr=0.1).update()
    np.testing.assert_allclose(p.data, [0.95, 2.1])
    p = param([1.0], [1.0])
    opt = Momentum([p], lr=0.1, momentum=0.9)
    opt.update()
    opt.update()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 - (0.09 + 0.1)])
    p = param([1.0], [2.0])
    AdaGrad([p], lr=0.1, eps=0.0).update()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * 2.0 / 2.0])


def test_adam_bias_correction():
    p = param([1.0, -1.0], [0.2, -0.4])
    opt = Adam([p], lr=0.01, eps=0.0)
    opt.update()
    # after one step with bias correction the update is lr * sign(g)
    np.testing.assert_allclose(p.data, [0.99, -0.99])
    p.grad = ta.Variable(np.array([0.2, -0.4]))
    opt.update()
    m = 0.1 * 0.2 * 0.9 + 0.1 * 0.2
    v = 0.001 * 0.04 * 0.999 + 0.001 * 0.04
    lr_t = 0.01 * np.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2)
    np.testing.assert_allclose(p.data[0], 0.99 - lr_t * m / np.sqrt(v))


def test_weight_decay():
    p = param([2.0], [0.0])
    SGD([p], lr=0.5, weight_decay=0.1).update()
    np.testing.assert_allclose(p.data, [2.0 - 0.5 * 0.2])


def test_clip_grads_global_norm():
    a, b = param([0.0, 0.0], [3.0, 0.0]), param([0.0], [4.0])
    assert grad_norm([a, b]) == pytest.approx(5.0)
    before = clip_grads([a, b], 1.0)
    assert before == pytest.approx(5.0)
    assert grad_norm([a, b]) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(a.grad.data / b.grad.data[0], [0.75, 0.0])
    c = param([0.0], [0.5])
    clip_grads([c], 1.0)
    assert c.grad.data[0] == 0.5
    with pytest.raises(ValueError):
        clip_grads([c], 0.0)


def test_shared_parameter_updated_once():
    p = param([1.0], [1.0])
    SGD([p, p], lr=0.1).update()
    np.testing.assert_allclose(p.data, [0.9])

    class Tied(L.Layer):
        def __init__(self):
            super().__init__()
            self.a = L.Linear(2, 2)
            self.b = self.a

    net = Tied()
    for q in net.params():
        q.grad = ta.Variable(np.ones_like(q.data))
    w0 = net.a.W.data.copy()
    SGD(net, lr=0.1).update()
    np.testing.assert_allclose(net.a.W.data, w0 - 0.1, rtol=1e-6)


def test_float32_stays_float32():
    p = ta.Parameter(np.ones(3, np.float32))
    p.grad = ta.Variable(np.ones(3, np.float32))
    opt = Adam([p])
    for _ in range(3):
        opt.update()
    assert p.dtype == np.float32
    assert all(s.dtype == np.float32 for s in opt.state.values())


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="lr"):
        SGD([], lr=0)
    with pytest.raises(RuntimeError, match="setup"):
        SGD(lr=0.1).update()


def test_clip_grads_with_parameters_sharing_one_gradient_object():
    a = ta.Parameter(np.zeros(2))
    b = ta.Parameter(np.zeros(2))
    ((a + b) * 10.0).sum().backward()
    assert a.grad is b.grad  # Add hands both the same gradient
    clip_grads([a, b], 1.0)
    assert grad_norm([a, b]) == pytest.approx(1.0, rel=1e-5)
