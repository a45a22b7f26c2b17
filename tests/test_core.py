"""Engine semantics: accumulation, ordering, retain_grad, higher order, graph freeing, modes."""
import gc
import weakref

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.core import Function, OpError


def V(x):
    return ta.Variable(np.asarray(x, dtype=np.float64))


def test_reuse_accumulates():
    x = V(3.0)
    y = x + x
    y.backward()
    assert x.grad.data == 2.0


def test_diamond_graph_visits_each_function_once():
    x = V(2.0)
    a = x ** 2
    y = a ** 2 + a ** 2  # 2 x^4 -> 8 x^3 = 64
    y.backward()
    assert x.grad.data == 64.0


def test_several_paths_generations():
    x = V(0.5)
    a = F.tanh(x)
    b = F.exp(a)
    c = a * b + F.sigmoid(x) * a
    c.backward()
    eps = 1e-6
    f = lambda v: np.tanh(v) * np.exp(np.tanh(v)) + 1 / (1 + np.exp(-v)) * np.tanh(v)
    assert abs(x.grad.data - (f(0.5 + eps) - f(0.5 - eps)) / (2 * eps)) < 1e-8


def test_retain_grad():
    x = V([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    y.backward()
    assert h.grad is None and y.grad is None
    x.cleargrad()
    h = x * 3
    y = (h * h).sum()
    y.backward(retain_grad=True)
    np.testing.assert_allclose(h.grad.data, 2 * h.data)


def test_grads_accumulate_across_backward_calls_until_cleared():
    x = V(1.0)
    (x * 3).backward()
    (x * 3).backward()
    assert x.grad.data == 6.0
    x.cleargrad()
    (x * 3).backward()
    assert x.grad.data == 3.0


def test_second_derivatives_match_formulas():
    xs = np.linspace(-2, 2, 7)
    x = V(xs)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    gx = x.grad
    np.testing.assert_allclose(gx.data, 3 * xs ** 2)
    x.cleargrad()
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * xs)

    x = V(xs)
    F.tanh(x).sum().backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.sum().backward()
    t = np.tanh(xs)
    np.testing.assert_allclose(x.grad.data, -2 * t * (1 - t ** 2))


def test_third_order():
    x = V(1.5)
    y = x ** 4
    y.backward(create_graph=True)
    g1 = x.grad
    x.cleargrad()
    g1.backward(create_graph=True)
    g2 = x.grad
    x.cleargrad()
    g2.backward()
    assert np.isclose(x.grad.data, 24 * 1.5)


def test_long_chain_no_recursion_and_graph_freed():
    x = V(np.ones(3))
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    f_ref = weakref.ref(y.creator)
    first = weakref.ref(x)  # noqa: F841
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 1.0001 ** 10_000)
    del y
    gc.collect()
    assert f_ref() is None


def test_graph_freed_by_refcount_without_gc():
    gc.disable()
    try:
        x = V(np.ones(4))
        y = F.tanh(x * 2)
        ref = weakref.ref(y.creator)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_no_grad_records_nothing():
    x = V(2.0)
    with ta.no_grad():
        y = x * x
    assert y.creator is None
    with pytest.raises(RuntimeError, match="computed under no_grad"):  # as PyTorch refuses it
        y.backward()
    assert x.grad is None

    @ta.no_grad()
    def f(v):
        return v * 2

    @ta.no_grad
    def g(v):
        return v * 2
    assert f(x).creator is None and g(x).creator is None
    assert (x * 2).creator is not None
    with ta.no_grad():
        with ta.enable_grad():
            assert (x * 2).creator is not None
        assert (x * 2).creator is None


def test_test_mode_disables_dropout():
    x = V(np.ones((100,)))
    with ta.test_mode():
        assert F.dropout(x, 0.5) is x
        assert ta.Config.train is False
    assert ta.Config.train is True
    y = F.dropout(x, 0.5)
    assert set(np.unique(y.data)) <= {0.0, 2.0}


def test_detach_and_unchain_backward():
    x = V(2.0)
    h = x * 3
    d = h.detach()
    assert d.creator is None and d.data is h.data
    y = h * h
    y.unchain_backward()
    assert h.creator is None and y.creator is None


def test_variable_basics():
    x = ta.Variable(np.arange(6.0).reshape(2, 3), name="x")
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.dtype == np.float64
    assert "name='x'" in repr(x)
    assert x.T.shape == (3, 2)
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.transpose().shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    assert x.sum().item() == 15 and x.mean(axis=0).shape == (3,)
    assert isinstance(ta.Parameter(np.zeros(2)), ta.Variable)
    assert (np.float64(2.0) * x).creator is not None
    y = np.ones((2, 3)) + x  # ndarray on the left defers to Variable
    assert isinstance(y, ta.Variable)
    assert isinstance(x @ np.ones((3, 1)), ta.Variable)


def test_integer_leaf_gets_no_float_confusion():
    t = ta.Variable(np.array([1, 2]))
    assert t.dtype.kind == "i"
    y = t * 0.5
    assert y.dtype.kind == "f"


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("bad", [None, "abc", ["a", "b"], np.array(["x"]), np.array([object()]),
                                 {"a": 1}])
def test_bad_data(bad):
    with pytest.raises(TypeError):
        ta.Variable(bad)


def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(OpError, match=r"MatMul.*\(2, 3\).*\(4, 5\)"):
        F.matmul(V(np.ones((2, 3))), V(np.ones((4, 5))))


def test_broadcast_error():
    with pytest.raises(OpError, match=r"Add: shapes \(2, 3\) and \(4,\)"):
        V(np.ones((2, 3))) + V(np.ones(4))
    with pytest.raises(OpError, match=r"Mul"):
        V(np.ones((2, 3))) * np.ones((3, 2))


def test_concat_split_errors():
    with pytest.raises(OpError, match="concat"):
        F.concat([V(np.ones((2, 3))), V(np.ones((3, 3)))], axis=1)
    with pytest.raises(OpError, match="split"):
        F.split(V(np.ones((2, 5))), 2, axis=1)
    with pytest.raises(OpError, match="stack"):
        F.stack([V(np.ones(2)), V(np.ones(3))])


def test_backward_nonscalar_needs_grad():
    x = V(np.ones(3))
    y = x * 2
    with pytest.raises(RuntimeError, match=r"explicit grad.*\(3,\)"):
        y.backward()
    y.backward(np.ones(3))
    np.testing.assert_allclose(x.grad.data, 2.0)
    with pytest.raises(OpError, match="does not match"):
        (x * 2).backward(np.ones(4))


def test_forward_error_is_wrapped_with_op_name():
    class Boom(Function):
        def forward(self, x):
            raise ValueError("inner failure")

    with pytest.raises(OpError, match=r"Boom: inputs \(\(2,\) float64\): inner failure"):
        Boom()(V(np.ones(2)))


def test_cross_entropy_label_errors():
    x = V(np.zeros((2, 3)))
    with pytest.raises(OpError, match=r"labels \[3\] are out of range for 3 classes"):
        F.softmax_cross_entropy(x, np.array([0, 3]))
    with pytest.raises(OpError, match="shape"):
        F.softmax_cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(OpError, match="integers"):
        F.softmax_cross_entropy(x, np.array([0.0, 1.0]))


def test_wrong_backward_caught_by_gradcheck_with_input_and_element():
    class BadMul(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            a, b = self.inputs
            xp = np
            wrong = gy * a
            mask = np.ones(b.shape)
            mask[1, 2] = 1.5  # element (1, 2) of input 1 is wrong
            return gy * b, wrong * ta.Variable(mask)

    a, b = np.random.randn(3, 4), np.random.randn(3, 4)
    res = ta.gradcheck(lambda x, y: BadMul()(x, y), a, b)
    assert not res.passed
    assert res.entries[0].passed
    bad = res.entries[1]
    assert not bad.passed and bad.name == "input 1" and bad.worst_index == (1, 2)
    assert "FAIL" in res.report() and "input 1" in res.report()
    with pytest.raises(AssertionError, match="FAILED"):
        ta.gradcheck(lambda x, y: BadMul()(x, y), a, b, raise_on_failure=True)


def test_gradcheck_promotes_float32_with_note():
    res = ta.gradcheck(F.tanh, np.ones((2, 2), np.float32))
    assert res.passed
    assert any("promoted to float64" in n for n in res.notes)


def test_gradgradcheck():
    assert ta.gradgradcheck(lambda a, b: F.tanh(a * b) / b, np.random.randn(3, 2),
                            np.abs(np.random.randn(2)) + 0.5).passed
    assert ta.gradgradcheck(lambda a: F.softmax(a), np.random.randn(3, 4)).passed
    assert ta.gradgradcheck(lambda a: F.sigmoid(a) * F.exp(a), np.random.randn(3, 4)).passed
    assert ta.gradgradcheck(lambda a, b: F.matmul(a, b), np.random.randn(2, 3), np.random.randn(3, 2)).passed


def test_anomaly_mode_names_op_and_line():
    x = V(np.array([1.0, 0.0]))
    with ta.detect_anomaly(), pytest.warns(RuntimeWarning, match="divide by zero"):
        with pytest.raises(FloatingPointError) as ei:
            y = F.log(x)  # the line that must be named
    msg = str(ei.value)
    assert "Log" in msg and "test_core.py" in msg and "F.log(x)" in msg
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y = F.log(x)  # outside anomaly mode: no error, NumPy's warning and -inf
    assert np.isinf(y.data).any()


def test_second_order_grad_of_0d_stays_an_array():
    x = V(0.3)
    F.tanh(x).backward(create_graph=True)
    g = x.grad
    x.cleargrad()
    g.backward()
    assert type(x.grad.data) is np.ndarray and x.grad.shape == ()
    y = V(0.3)
    (y * y + y * 3).backward()  # two 0-d gradients summed without a graph
    assert type(y.grad.data) is np.ndarray and y.grad.data == 0.6 + 3


def test_anomaly_mode_under_no_grad_still_names_op_line_and_inputs():
    x = V(np.array([1.0, 0.0]))
    with ta.detect_anomaly(), ta.no_grad(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError) as ei:
            F.log(x)  # evaluated without a graph
    msg = str(ei.value)
    assert "Log produced" in msg and "(2,) float64" in msg and "F.log(x)" in msg


# ------------------------------------------------------------------ regressions from review
def _grads(build, create_graph):
    s, t = V(1.0), V(1.0)
    build(s, t).backward(create_graph=create_graph)
    return float(s.grad.data), float(t.grad.data)


def test_in_place_accumulation_never_touches_a_shared_gradient():
    def build(s, t):
        a = s * 1
        b = (t * 1) * 1
        x = a + b            # Add hands the same gradient object to a and b
        return F.sum(x * 2 + x * 3 + a * 5)
    assert _grads(build, False) == _grads(build, True) == (10.0, 5.0)


def test_retained_intermediate_grads_are_not_sent_upstream_again():
    x = V([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    y.backward(retain_grad=True)
    x.cleargrad()
    y.backward(retain_grad=True)
    np.testing.assert_allclose(x.grad.data, [18.0, 36.0])
    np.testing.assert_allclose(h.grad.data, 2 * h.data)  # the latest pass's value, not the sum


def test_backward_on_a_leaf_accumulates():
    x = V(2.0)
    x.backward()
    x.backward()
    assert x.grad.data == 2.0


def test_numpy_scalar_exponent_is_a_constant():
    x = V([-2.0, 3.0])
    with ta.detect_anomaly():  # no spurious log of a negative base
        (x ** np.float64(2)).sum().backward()
        np.testing.assert_allclose(x.grad.data, [-4.0, 6.0])
        y = V([-2.0, 3.0])
        (y ** ta.Variable(2.0)).sum().backward()
        np.testing.assert_allclose(y.grad.data, [-4.0, 6.0])


@pytest.mark.parametrize("call", [
    lambda x: F.split(x, 2, axis=5), lambda x: F.unstack(x, axis=5), lambda x: F.squeeze(x, 4),
    lambda x: F.flip(x, 3), lambda x: F.swapaxes(x, 0, 4), lambda x: F.expand_dims(x, 7),
    lambda x: F.concat([x, x], axis=5), lambda x: F.clip(x, np.zeros(3), np.ones(3)),
    lambda x: F.sum(x, axis=2), lambda x: F.softmax(x, axis=3)])
def test_bad_axes_raise_op_error_naming_the_op(call):
    with pytest.raises(OpError, match=r"axis|numbers"):
        call(V(np.ones((2, 3))))


def test_numpy_integer_axes_and_list_conditions():
    x = V(np.ones((4, 2)))
    assert F.sum(x, axis=np.int64(0)).shape == (2,)
    assert len(F.split(x, np.int64(2))) == 2
    assert F.where([True, False], x, 0.0).shape == (4, 2)
    assert F.logsumexp(x, axis=None).shape == ()
    assert F.logsumexp(x, axis=(0, 1), keepdims=True).shape == (1, 1)
