"""Edge inputs of every op: 0-d arrays, empty batches, empty axes, losses over no position.

The decisions (documented in docs/ and in the docstrings):

* an op that needs axes (a batch axis, a class axis, (N, T, H) states) refuses a 0-d input
  with an :class:`~tinygrad_attn.OpError` naming the op and the shapes;
* an empty batch flows through shape ops and softmaxes (the result is empty too);
* a reduction with no finite answer over an empty axis (``mean``, ``max``, ``min``,
  ``logsumexp``) is refused; ``sum`` of nothing is 0;
* a mean loss over zero positions (an empty batch, or every position ignored) is refused,
  like ``F.mean`` of an empty array.
"""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.checks.opcases import OP_CASES

X0 = np.array(0.5)


def _zero_d_like(a):
    a = np.asarray(a)
    return np.array(True) if a.dtype.kind == "b" else np.array(a.reshape(-1)[0] if a.size else 0,
                                                               dtype=a.dtype)


def _variants(c):
    """Every case with one of its inputs or constants replaced by a 0-d array."""
    xs = c.arrays()
    cs = [np.array(k) for k in c.consts]
    for i in range(len(xs)):
        yield f"input {i}", [*xs[:i], X0.copy(), *xs[i + 1:]], cs
    for j in range(len(cs)):
        yield f"const {j}", xs, [*cs[:j], _zero_d_like(cs[j]), *cs[j + 1:]]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_a_0d_argument_gives_a_result_or_one_clear_op_error(case):
    """No op fails on a 0-d argument with an internal error (IndexError, a bare NumPy line)."""
    for where, xs, cs in _variants(case):
        try:
            ys = case.call(*[ta.Variable(x) for x in xs], *cs)
        except ta.OpError as e:
            msg = str(e)
            assert "\n" not in msg.strip(), (case.id, where, msg)
            assert any(w in msg for w in ("()", "0 dimensions", "0-d")), (case.id, where, msg)
            assert "tuple index out of range" not in msg, (case.id, where, msg)
            continue
        except TypeError as e:  # only a documented argument-type refusal, naming the op
            pytest.fail(f"{case.id} with a 0-d {where}: TypeError {e}")
        assert all(isinstance(y, ta.Variable) for y in ys), (case.id, where)


@pytest.mark.parametrize("call,fragment", [
    (lambda: F.dot_score(X0, X0), "dot_score: expected hs (N, T_enc, H)"),
    (lambda: F.dot_score(np.ones((2, 3, 4)), X0), "got hs (2, 3, 4) and h ()"),
    (lambda: F.general_score(X0, X0, X0), "general_score: expected hs"),
    (lambda: F.general_score(np.ones((2, 3, 4)), np.ones((2, 5)), X0), "W must be (H_q, 4)"),
    (lambda: F.additive_score(X0, X0, X0, X0, X0), "additive_score: expected hs"),
    (lambda: F.additive_score(np.ones((2, 3, 4)), np.ones((2, 4)), X0, X0, X0),
     "additive_score: expected W_query"),
    (lambda: F.embedding(X0, np.array(1)), "embedding: the table must be (V, D)"),
    (lambda: F.flatten(X0), "flatten: expected (N, ...)"),
    (lambda: F.softmax_cross_entropy(X0, np.array(0)), "SoftmaxCrossEntropy: logits must be"),
])
def test_the_named_0d_failures_are_one_clear_line(call, fragment):
    with pytest.raises(ta.OpError) as e:
        call()
    assert fragment in str(e.value)


def test_0d_ids_take_one_row():
    W = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(F.embedding(W, np.array(2)).data, W[2])


@pytest.mark.parametrize("shape,out", [((0, 3), (0, 3)), ((0, 3, 2), (0, 6)), ((2, 0, 5), (2, 0)),
                                       ((4,), (4, 1)), ((2, 3, 4), (2, 12))])
def test_flatten_keeps_the_batch_axis_even_when_empty(shape, out):
    x = ta.Variable(np.random.default_rng(0).standard_normal(shape))
    y = F.flatten(x)
    assert y.shape == out
    F.sum(y * 2.0).backward()
    assert x.grad.shape == shape and np.all(x.grad.data == 2.0)


def test_softmaxes_of_an_empty_axis_or_batch_are_empty():
    for shape in [(2, 0), (0, 3), (0, 0)]:
        x = ta.Variable(np.zeros(shape))
        for f in (F.softmax, F.log_softmax, F.masked_softmax):
            y = f(x)
            assert y.shape == shape
            F.sum(y).backward()
            assert x.grad.shape == shape
            x.grad = None


def test_logsumexp_over_an_empty_axis_is_refused_and_over_an_empty_batch_is_empty():
    with pytest.raises(ta.OpError, match=r"LogSumExp: over an empty axis .*\(2, 0\).*-inf"):
        F.logsumexp(np.zeros((2, 0)), axis=1)
    with pytest.raises(ta.OpError, match="LogSumExp: over an empty axis"):
        F.logsumexp(np.zeros((0, 3)), axis=None)
    x = ta.Variable(np.zeros((0, 3)))
    y = F.logsumexp(x, axis=1)
    assert y.shape == (0,)
    F.sum(y).backward()
    assert x.grad.shape == (0, 3)
    # the same decision as the other reductions without an identity
    for f in (F.mean, F.max, F.min):
        with pytest.raises(ta.OpError):
            f(np.zeros((2, 0)), axis=1)
    assert float(F.sum(np.zeros((2, 0))).data) == 0.0


@pytest.mark.parametrize("call,fragment", [
    (lambda: F.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)), "the batch is empty"),
    (lambda: F.softmax_cross_entropy(np.zeros((2, 3)), -np.ones(2, int)),
     "every one of its 2 positions is ignored (ignore_label=-1)"),
    (lambda: F.softmax_cross_entropy(np.zeros((2, 4, 3)), np.full((2, 4), 7), ignore_label=7),
     "every one of its 8 positions is ignored (ignore_label=7)"),
    (lambda: F.binary_cross_entropy_with_logits(np.zeros((0, 2)), np.zeros((0, 2))),
     "the batch is empty"),
    (lambda: F.binary_cross_entropy_with_logits(np.zeros(3), -np.ones(3)),
     "every one of its 3 positions is ignored"),
    (lambda: F.mean_squared_error(np.zeros(0), np.zeros(0)), "the batch is empty"),
])
def test_a_mean_loss_over_no_position_is_refused_like_mean_of_empty(call, fragment):
    with pytest.raises(ta.OpError) as e:
        call()
    msg = str(e.value)
    assert fragment in msg and "undefined" in msg and "\n" not in msg
    with pytest.raises(ta.OpError, match="undefined"):
        F.mean(np.zeros(0))


def test_one_scored_position_is_enough_and_ignored_ones_get_no_gradient():
    x = ta.Variable(np.random.default_rng(1).standard_normal((3, 4)))
    t = np.array([-1, 2, -1])
    loss = F.softmax_cross_entropy(x, t)
    loss.backward()
    assert np.all(x.grad.data[[0, 2]] == 0) and np.any(x.grad.data[1] != 0)
    ref = -np.log(np.exp(x.data[1, 2]) / np.exp(x.data[1]).sum())
    np.testing.assert_allclose(float(loss.data), ref, rtol=1e-12)


def test_layer_norm_over_zero_features_is_refused_and_an_empty_batch_is_empty():
    with pytest.raises(ta.OpError, match=r"layer_norm: x \(2, 0\) has no features to normalise"):
        F.layer_norm(np.zeros((2, 0)), np.zeros(0), np.zeros(0))
    x = ta.Variable(np.zeros((0, 3)))
    y = F.layer_norm(x, np.ones(3), np.zeros(3))
    assert y.shape == (0, 3)
    F.sum(y).backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_an_empty_batch_gives_a_result_and_gradient_or_one_clear_op_error(case):
    """Every op case with its inputs (one, or all with the constants) cut to an empty first
    axis: a result whose gradient flows, or an OpError — no bare NumPy error, no warning."""
    import warnings

    def empty(a):
        a = np.asarray(a)
        return a[:0] if a.ndim else a

    xs, cs = case.arrays(), [np.array(k) for k in case.consts]
    variants = [([empty(x) for x in xs], [empty(k) for k in cs])]
    variants += [([empty(x) if i == j else x for i, x in enumerate(xs)], cs)
                 for j in range(len(xs))]
    for ex, ec in variants:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                ys = [y for y in case.call(*[ta.Variable(x) for x in ex], *ec) if y is not None]
            except ta.OpError as e:
                assert "\n" not in str(e).strip()
                continue
            total = None
            for y in ys:
                s = F.sum(y)
                total = s if total is None else total + s
            if total is not None:
                total.backward()
