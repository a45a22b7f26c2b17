"""float64 gradient checks of every primitive and composed op, broadcasting shapes included."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_attn as ta
from tinygrad_attn import functions as F

R = np.random.default_rng(42)


def rand(*shape, low=None):
    a = R.standard_normal(shape)
    if low is not None:
        a = np.abs(a) + low
    return a


def check(fn, *xs, **kw):
    res = ta.gradcheck(fn, *xs, **kw)
    assert res.passed, res.report()
    return res


BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                   ((), (2, 3)), ((5,), ())]


@pytest.mark.parametrize("sa,sb", BROADCAST_PAIRS)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
def test_binary_broadcast(op, sa, sb):
    a = rand(*sa, low=0.5) if op in ("div", "pow") else rand(*sa)
    b = rand(*sb, low=0.5) if op in ("div", "pow") else rand(*sb)
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "pow": lambda x, y: x ** y}[op]
    res = check(fn, a, b)
    assert [e.shape for e in res.entries] == [sa, sb]


def test_reflected_and_scalar_forms():
    a = rand(3, 2, low=0.5)
    check(lambda x: 2.0 - x, a)
    check(lambda x: 3.0 / x, a)
    check(lambda x: 2.0 ** x, a)
    check(lambda x: 1.5 * x + 0.5, a)
    check(lambda x: -x, a)
    check(lambda x: x ** 3, a)
    check(lambda x: x ** -1.5, a)


@pytest.mark.parametrize("name,fn,low", [
    ("exp", F.exp, None), ("log", F.log, 0.2), ("tanh", F.tanh, None), ("sigmoid", F.sigmoid, None),
    ("relu", F.relu, 0.1), ("sqrt", F.sqrt, 0.3), ("square", F.square, None), ("abs", F.abs, 0.1),
])
def test_unary(name, fn, low):
    a = rand(4, 3, low=low)
    if name in ("relu", "abs"):
        a = a * np.where(R.random(a.shape) < 0.5, -1, 1)
    check(fn, a)


def test_clip_and_where():
    a = rand(5, 4) * 2
    a[np.abs(np.abs(a) - 1) < 0.05] = 0.3  # keep away from the kinks
    check(lambda x: F.clip(x, -1.0, 1.0), a)
    cond = R.random((5, 4)) < 0.5
    check(lambda x, y: F.where(cond, x, y), rand(5, 4), rand(4))
    check(lambda x, y: F.where(cond[:, :1], x, y), rand(1, 4), rand(5, 4))


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_reductions(axis, keepdims):
    a = rand(3, 4, 5)
    check(lambda x: F.sum(x, axis, keepdims), a)
    check(lambda x: F.mean(x, axis, keepdims), a)
    check(lambda x: F.max(x, axis, keepdims), a)
    check(lambda x: F.min(x, axis, keepdims), a)


def test_logsumexp():
    check(lambda x: F.logsumexp(x, axis=1), rand(3, 6))


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                                   ((1, 3, 4), (2, 4, 2)), ((4,), (4, 3)), ((3, 4), (4,)),
                                   ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul(sa, sb):
    check(F.matmul, rand(*sa), rand(*sb))


@pytest.mark.parametrize("xs", [(5, 3), (2, 4, 3)])
def test_linear(xs):
    check(lambda x, W, b: F.linear(x, W, b), rand(*xs), rand(3, 6), rand(6))
    check(lambda x, W: F.linear(x, W), rand(*xs), rand(3, 6))
    full = xs[:-1] + (6,)
    check(lambda x, W, b: F.linear(x, W, b), rand(*xs), rand(3, 6), rand(*full))  # fused add
    check(lambda x, W, b: F.linear(x, W, b), rand(*xs), rand(3, 6), rand(1, 6))
    check(lambda x, W, b: F.linear(x, W, b), rand(*xs), rand(3, 6), rand(1))


def test_linear_bias_shape_error():
    with pytest.raises(ta.OpError, match=r"Linear: bias shape \(4, 6\) does not broadcast"):
        F.linear(ta.Variable(rand(5, 3)), ta.Variable(rand(3, 6)), ta.Variable(rand(4, 6)))


def test_shape_ops():
    a = rand(2, 3, 4)
    check(lambda x: F.reshape(x, (4, 6)), a)
    check(lambda x: F.transpose(x, (2, 0, 1)), a)
    check(lambda x: x.T, a)
    check(lambda x: F.swapaxes(x, 0, 2), a)
    check(lambda x: F.broadcast_to(x, (5, 3, 4)), rand(3, 1))
    check(lambda x: F.sum_to(x, (3, 1)), rand(2, 3, 4))
    check(lambda x: F.flip(x, 1), a)
    check(lambda x: F.expand_dims(x, 1), a)


@pytest.mark.parametrize("key", [1, (slice(None), 2), (slice(0, 2), slice(None), slice(1, 3)),
                                 (Ellipsis, 0), np.array([0, 1, 0, 0]),
                                 (np.array([0, 1, 1]), slice(None), np.array([2, 2, 0]))])
def test_getitem(key):
    check(lambda x: x[key], rand(3, 3, 4))


def test_getitem_repeated_indices_accumulate():
    W = ta.Variable(np.zeros((4, 2)))
    ids = np.array([[1, 1, 3], [1, 0, 3]])
    F.embedding(W, ids).sum().backward()
    np.testing.assert_array_equal(W.grad.data[:, 0], [1, 3, 0, 2])
    check(lambda w: F.embedding(w, ids) * 2, rand(4, 2))


def test_concat_split_stack_unstack():
    a, b, c = rand(2, 3), rand(2, 1), rand(2, 4)
    check(lambda x, y, z: F.concat([x, y, z], axis=1), a, b, c)
    check(lambda x: F.concat(F.split(x, [1, 3], axis=1)[::-1], axis=1), rand(2, 5))
    check(lambda x: F.split(x, 2, axis=0)[1] * 3, rand(4, 3))  # unused output gets zeros
    check(lambda x, y: F.stack([x, y], axis=1), rand(2, 3), rand(2, 3))
    check(lambda x: F.unstack(x, axis=1)[2] * F.unstack(x, axis=1)[0], rand(2, 4, 3))


def test_split_is_one_node_with_views():
    x = ta.Variable(rand(2, 8))
    parts = F.split(x, 4, axis=1)
    assert len({id(p.creator) for p in parts}) == 1
    assert all(np.shares_memory(p.data, x.data) for p in parts)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_family(axis):
    check(lambda x: F.softmax(x, axis), rand(3, 4, 5))
    check(lambda x: F.log_softmax(x, axis), rand(3, 4, 5))


def test_softmax_cross_entropy():
    t2 = np.array([0, 3, 2])
    check(lambda x: F.softmax_cross_entropy(x, t2), rand(3, 5))
    t3 = np.array([[1, -1, 4], [0, 2, -1]])
    check(lambda x: F.softmax_cross_entropy(x, t3), rand(2, 3, 5))


def test_mse_and_dropout():
    check(F.mean_squared_error, rand(3, 4), rand(3, 4))
    ta.seed(3)
    x = rand(50, 4)

    def fn(v):
        ta.seed(3)  # same mask for every evaluation
        return F.dropout(v, 0.3)
    check(fn, x)


def test_attention_functions():
    hs, h, hd = rand(2, 5, 3), rand(2, 3), rand(2, 4, 3)
    check(F.attention_weight, hs, h)
    check(F.attention_weight, hs, hd)
    check(F.weight_sum, hs, F.softmax(ta.Variable(rand(2, 5))).data)
    check(F.weight_sum, hs, rand(2, 4, 5))
    check(lambda s, q: F.weight_sum(s, F.attention_weight(s, q)), hs, hd)


# ------------------------------------------------------------------ property-based broadcasting
@st.composite
def broadcastable_pair(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    other = list(shape)
    other = [1 if draw(st.booleans()) else s for s in other]
    drop = draw(st.integers(0, len(other)))
    other = other[drop:]
    if draw(st.booleans()):
        return tuple(shape), tuple(other)
    return tuple(other), tuple(shape)


@settings(max_examples=40, deadline=None)
@given(broadcastable_pair(), st.sampled_from(["add", "mul", "sub", "div"]))
def test_binary_broadcast_property(shapes, op):
    sa, sb = shapes
    a = rand(*sa)
    b = rand(*sb, low=0.5)
    fn = {"add": F.add, "mul": F.mul, "sub": F.sub, "div": F.div}[op]
    y = fn(ta.Variable(a), ta.Variable(b))
    assert y.shape == np.broadcast_shapes(sa, sb)
    check(fn, a, b)


@settings(max_examples=25, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.data())
def test_sum_axis_property(shape, data):
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keep = data.draw(st.booleans())
    a = rand(*shape)
    y = F.sum(ta.Variable(a), axis, keep)
    np.testing.assert_allclose(y.data, a.sum(axis=axis, keepdims=keep))
    check(lambda x: F.sum(x, axis, keep), a)


def test_float32_forward_keeps_dtype():
    x = ta.Variable(np.ones((2, 3), np.float32))
    for y in [x * 2.0, x + 1, 2.0 / x, x ** 2, F.tanh(x), F.sigmoid(x), F.softmax(x), x.mean()]:
        assert y.dtype == np.float32, y
    y = F.softmax_cross_entropy(x, np.array([0, 1]))
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_softplus_matches_the_composed_reference_and_is_stable():
    a = rand(4, 3) * 3
    ref = lambda x: F.relu(x) + F.log(1.0 + F.exp(-F.abs(x)))  # noqa: E731  (the composed form)
    np.testing.assert_allclose(F.softplus(a).data, ref(ta.Variable(a)).data, rtol=1e-12)
    check(F.softplus, a)
    res = ta.gradgradcheck(F.softplus, a)
    assert res.passed, res.report()
    x = ta.Variable(a)
    F.sum(F.softplus(x)).backward()
    np.testing.assert_allclose(x.grad.data, 1 / (1 + np.exp(-a)), rtol=1e-12)
    big = F.softplus(np.array([-1000.0, 0.0, 1000.0])).data
    np.testing.assert_allclose(big, [0.0, np.log(2), 1000.0])


def test_binary_cross_entropy_with_logits():
    x = rand(3, 4, 2) * 2
    t = (R.random((3, 4, 2)) < 0.5).astype(np.float64)
    t[:, :2] = -1  # not scored
    p = 1 / (1 + np.exp(-x))
    scored = t >= 0
    ref = -(t * np.log(p) + (1 - t) * np.log(1 - p))[scored].mean()
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t).data, ref, rtol=1e-12)
    check(lambda v: F.binary_cross_entropy_with_logits(v, t), x)
    res = ta.gradgradcheck(lambda v: F.binary_cross_entropy_with_logits(v, t), x)
    assert res.passed, res.report()
    # soft targets, every element scored; huge logits stay finite
    ts = R.random((3, 4, 2))
    check(lambda v: F.binary_cross_entropy_with_logits(v, ts), x)
    huge = F.binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([0.0, 1.0])).data
    np.testing.assert_allclose(huge, 1e4)
    with pytest.raises(ta.OpError, match="every one of its 24 positions is ignored"):
        F.binary_cross_entropy_with_logits(x, -np.ones_like(x))  # mean over none: undefined
    with pytest.raises(ta.OpError, match="same shape"):
        F.binary_cross_entropy_with_logits(x, t[:, :1])
    with pytest.raises(ta.OpError, match=r"targets must lie in \[0, 1\]"):
        F.binary_cross_entropy_with_logits(x, t + 2)
