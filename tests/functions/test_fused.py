"""Fused primitives against their composed references (float64): values, gradients of every order."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.functions.fused import LSTMCell, LSTMCellGrad
from tests.devices import assert_on_device, device, to_dev, to_host  # noqa: F401  (device is a fixture)


def _inputs(rng, N=3, H=4, scale=1.5):
    return rng.standard_normal((N, 4 * H)) * scale, rng.standard_normal((N, H))


def _creators(y):
    """Names of the Functions in the graph behind ``y``."""
    seen, stack, names = set(), [y.creator], []
    while stack:
        f = stack.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        names.append(type(f).__name__)
        stack.extend(x.creator for x in f.inputs)
    return names


@settings(max_examples=25, deadline=None)
@given(N=st.integers(1, 5), H=st.integers(1, 6), with_c=st.booleans(), seed=st.integers(0, 99))
def test_fused_values_equal_the_composed_reference(N, H, with_c, seed):
    A, c = _inputs(np.random.default_rng(seed), N, H, scale=3.0)
    c = c if with_c else None
    h1, c1 = F.lstm_cell(A, c)
    with F.fused_ops(False):
        h2, c2 = F.lstm_cell(A, c)
    np.testing.assert_allclose(h1.data, h2.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c1.data, c2.data, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("use", ["both", "h", "c"])
@pytest.mark.parametrize("with_c", [True, False])
def test_fused_gradients_equal_the_composed_reference(use, with_c, rng):
    A, c = _inputs(rng)
    R1, R2 = rng.standard_normal((2, 3, 4))
    grads = []
    for fused in (True, False):
        a, cv = ta.Variable(A), ta.Variable(c) if with_c else None
        with F.fused_ops(fused):
            h, cn = F.lstm_cell(a, cv)
        loss = {"both": (h * R1).sum() + (cn * R2).sum(), "h": (h * R1).sum(),
                "c": (cn * R2).sum()}[use]
        loss.backward()
        grads.append((a.grad.data, None if cv is None else cv.grad.data))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12, atol=1e-15)
    if with_c:
        np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12, atol=1e-15)


def _weighted(use, R1, R2):
    def fn(A, c=None):
        h, cn = F.lstm_cell(A, c)
        if use == "h":
            return h * R1
        if use == "c":
            return cn * R2
        return h * R1 + cn * R2
    return fn


@pytest.mark.parametrize("use", ["both", "h", "c"])
@pytest.mark.parametrize("with_c", [True, False])
def test_fused_lstm_cell_gradcheck_and_gradgradcheck(use, with_c, rng):
    A, c = _inputs(rng)
    R1, R2 = rng.standard_normal((2, 3, 4))
    fn = _weighted(use, R1, R2)
    args = (A, c) if with_c else (A,)
    assert ta.gradcheck(fn, *args)
    assert ta.gradgradcheck(fn, *args)


def test_second_derivatives_equal_the_composed_reference(rng):
    """d/dx of (grad . R) through the fused backward equals the composed one, element by element."""
    A, c = _inputs(rng)
    R1, R2, S1 = rng.standard_normal((3, 3, 4))
    S0 = rng.standard_normal((3, 16))
    out = []
    for fused in (True, False):
        a, cv = ta.Variable(A), ta.Variable(c)
        with F.fused_ops(fused):
            h, cn = F.lstm_cell(a, cv)
            ((h * R1).sum() + (cn * R2).sum()).backward(create_graph=True)
            ga, gc = a.grad, cv.grad
            a.grad = cv.grad = None
            ((ga * S0).sum() + (gc * S1).sum()).backward()
        out.append((a.grad.data, cv.grad.data))
    for x, y in zip(*out):
        assert np.abs(x).max() > 1e-3
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-13)


def test_third_order_gradients_equal_the_composed_reference(rng):
    """The fused backward's backward is made of ops, so it can be differentiated once more."""
    A, c = _inputs(rng, 2, 2)
    fn = _weighted("both", *rng.standard_normal((2, 2, 2)))
    S = rng.standard_normal(A.shape)
    out = []
    for fused in (True, False):
        a, cv = ta.Variable(A), ta.Variable(c)
        with F.fused_ops(fused):
            fn(a, cv).sum().backward(create_graph=True)
            g1 = a.grad
            a.grad = cv.grad = None
            (g1 * g1).sum().backward(create_graph=True)
            g2 = a.grad
            a.grad = cv.grad = None
            (g2 * S).sum().backward()
        out.append((a.grad.data, cv.grad.data))
    for x, y in zip(*out):
        assert np.abs(x).max() > 1e-3
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-13)


def test_the_switch_picks_the_graph_and_restores(rng):
    A, c = _inputs(rng)
    h, _ = F.lstm_cell(ta.Variable(A), ta.Variable(c))
    assert "LSTMCell" in _creators(h) and "Sigmoid" not in _creators(h)
    assert F.fused_ops.enabled
    with F.fused_ops(False):
        assert not F.fused_ops.enabled
        with F.fused_ops(True):
            assert F.fused_ops.enabled
        h, _ = F.lstm_cell(ta.Variable(A), ta.Variable(c))
    assert F.fused_ops.enabled
    names = _creators(h)
    assert {"Split", "Sigmoid", "Tanh", "Mul", "Add"} <= set(names) and "LSTMCell" not in names

    @F.fused_ops(False)
    def composed_graph():
        return _creators(F.lstm_cell(ta.Variable(A))[0])

    assert "Sigmoid" in composed_graph() and F.fused_ops.enabled


def test_the_backward_is_one_node_and_keeps_the_gradient_in_one_array(rng):
    A, c = _inputs(rng)
    a = ta.Variable(A)
    h, cn = F.lstm_cell(a, ta.Variable(c))
    assert isinstance(h.creator, LSTMCell)
    (h.sum() + cn.sum()).backward(create_graph=True)
    assert isinstance(a.grad.creator, LSTMCellGrad)


def test_lstm_layers_use_the_switch(rng):
    lstm = ta.layers.LSTM(3, 4, dtype=np.float64, rng=np.random.default_rng(0))
    xs = rng.standard_normal((2, 5, 3))
    y1 = lstm(xs)
    with F.fused_ops(False):
        y2 = lstm(xs)
    assert "LSTMSequence" in _creators(y1)  # the whole sequence as one node
    assert "LSTMCell" not in _creators(y2) and "LSTMSequence" not in _creators(y2)
    np.testing.assert_allclose(y1.data, y2.data, rtol=1e-12)


@pytest.mark.parametrize("A_shape, c_shape, match", [
    ((3, 10), None, r"lstm_cell: pre-activations must be \(N, 4H\), got shape \(3, 10\)"),
    ((3, 4, 4), None, r"lstm_cell: pre-activations must be \(N, 4H\)"),
    ((3, 8), (3, 3), r"lstm_cell: c_prev must have shape \(3, 2\) for A of shape \(3, 8\), got \(3, 3\)"),
])
def test_bad_shapes_are_one_clear_error(A_shape, c_shape, match):
    c = None if c_shape is None else np.zeros(c_shape)
    with pytest.raises(ta.OpError, match=match):
        F.lstm_cell(np.zeros(A_shape), c)


def test_mixed_dtypes_promote_like_the_composition(rng):
    A, c = _inputs(rng)
    h, cn = F.lstm_cell(A, c.astype(np.float32))
    assert h.dtype == cn.dtype == np.float64 and "LSTMCell" not in _creators(h)
    np.testing.assert_allclose(h.data, F.lstm_cell(A, c.astype(np.float32).astype(np.float64))[0].data)


def test_float32_stays_float32(rng):
    A, c = _inputs(rng)
    a = ta.Variable(A.astype(np.float32))
    h, cn = F.lstm_cell(a, ta.Variable(c.astype(np.float32)))
    (h.sum() + cn.sum()).backward()
    assert h.dtype == cn.dtype == a.grad.dtype == np.float32


def test_fused_cell_on_the_device(device, rng):
    A, c = _inputs(rng)
    a, cv = ta.Variable(to_dev(A, device)), ta.Variable(to_dev(c, device))
    h, cn = F.lstm_cell(a, cv)
    (h.sum() + cn.sum()).backward()
    for x, what in ((h, "h"), (cn, "c"), (a.grad, "gA"), (cv.grad, "gc")):
        assert_on_device(x, device, what)
    with F.fused_ops(False):
        a2, c2 = ta.Variable(A), ta.Variable(c)
        h2, cn2 = F.lstm_cell(a2, c2)
        (h2.sum() + cn2.sum()).backward()
    np.testing.assert_allclose(to_host(a.grad), a2.grad.data, rtol=1e-12)


def test_graph_command_draws_the_composition_unless_fused(tmp_path, capsys):
    from tinygrad_attn.cli import main

    out = tmp_path / "g.dot"
    assert main(["graph", "--model", "attention", "--no-collapse", "--out", str(out)]) == 0
    composed = out.read_text()
    assert main(["graph", "--model", "attention", "--no-collapse", "--fused", "--out", str(out)]) == 0
    fused = out.read_text()
    assert 'label="Sigmoid"' in composed and "LSTMCell" not in composed
    assert "LSTMSequence" in fused and 'label="Sigmoid"' not in fused
    assert F.fused_ops.enabled  # the command restores the switch


# ----------------------------------------------------------------------------- softmax gradient
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_fused_softmax_grad_node_gradchecks(axis, rng):
    """The backward node alone, (y, gy) -> y * (gy - sum(y * gy)): its gradients and their
    gradients against central differences (y any positive array, not only a softmax)."""
    from tinygrad_attn.functions.nn import SoftmaxGrad

    y = rng.random((2, 3, 4)) + 0.1
    gy = rng.standard_normal((2, 3, 4))
    assert ta.gradcheck(lambda a, b: SoftmaxGrad(axis)(a, b), y, gy)
    assert ta.gradgradcheck(lambda a, b: SoftmaxGrad(axis)(a, b), y, gy)


@pytest.mark.parametrize("axis", [-1, 1])
def test_fused_softmax_grad_equals_the_composed_reference_to_third_order(axis, rng):
    x = rng.standard_normal((2, 3, 5)) * 2
    R, S = rng.standard_normal((2, 2, 3, 5))
    out = []
    for fused in (True, False):
        v = ta.Variable(x)
        with F.fused_ops(fused):
            y = F.softmax(v, axis)
            (y * R).sum().backward(create_graph=True)
            g1 = v.grad
            assert ("SoftmaxGrad" in _creators(g1)) == fused
            v.cleargrad()
            (g1 * g1).sum().backward(create_graph=True)
            g2 = v.grad
            v.cleargrad()
            (g2 * S).sum().backward()
        out.append([g1.data, g2.data, v.grad.data])
    for a, c in zip(*out):
        assert np.abs(a).max() > 1e-3
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_fused_softmax_grad_float32_and_device(device, rng):
    x = rng.standard_normal((3, 4))
    v = ta.Variable(to_dev(x.astype(np.float32), device))
    (F.softmax(v) * to_dev(np.arange(4.0, dtype=np.float32), device)).sum().backward()
    assert_on_device(v.grad, device, "softmax grad")
    assert v.grad.dtype == np.float32
    w = ta.Variable(x)
    with F.fused_ops(False):
        (F.softmax(w) * np.arange(4.0)).sum().backward()
    np.testing.assert_allclose(to_host(v.grad), w.grad.data, rtol=1e-5, atol=1e-6)
