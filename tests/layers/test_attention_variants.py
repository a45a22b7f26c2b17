"""Attention scores (dot, scaled, general, additive), key-padding masks and the book's
Repeat -> x -> Sum form: float64 gradient checks (masks and batches included), hypothesis
over shapes, book form == matmul form (values and gradients), errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.core import OpError

SCORES = L.ATTENTION_SCORES
R = np.random.default_rng(5)


def key_mask(N, T, rng, full_row=None):
    m = rng.random((N, T)) < 0.7
    m[:, rng.integers(T)] = True                  # at least one allowed key per row ...
    if full_row is not None:
        m[full_row] = False                       # ... except a fully masked row
    return m


def layer(score, H, form="matmul", seed=0):
    return L.Attention(score, hidden_size=H, attention_size=3, form=form, dtype=np.float64,
                       rng=np.random.default_rng(seed))


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("steps", [None, 3])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_every_score(score, steps, masked):
    N, T, H = 3, 5, 4
    att = layer(score, H)
    hs = R.standard_normal((N, T, H))
    h = R.standard_normal((N, H) if steps is None else (N, steps, H))
    mask = key_mask(N, T, R, full_row=2) if masked else None
    res = ta.gradcheck(lambda a, b: att(a, b, mask), hs, h, params=dict(att.named_params()))
    assert res.passed, res.report()
    assert set(dict(att.named_params())) <= {e.name for e in res.entries}


@pytest.mark.parametrize("score", SCORES)
def test_gradcheck_with_a_mask_broadcast_over_the_batch(score):
    """A (1, T_dec, T_enc) mask (e.g. causal) broadcasts over the batch; a row may be empty."""
    att = layer(score, 4)
    mask = np.tril(np.ones((1, 3, 5), bool), k=1)
    mask[0, 0] = False                                # decoder step 0 may look nowhere
    res = ta.gradcheck(lambda hs, h: att(hs, h, mask), R.standard_normal((2, 5, 4)),
                       R.standard_normal((2, 3, 4)), params=dict(att.named_params()))
    assert res.passed, res.report()
    assert np.all(att.weights[:, 0] == 0) and np.allclose(att.weights[:, 1:].sum(-1), 1)


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_gradgradcheck_masked(score):
    att = layer(score, 3)
    mask = np.array([[True, False, True, True], [False, False, False, False]])
    res = ta.gradgradcheck(lambda hs, h: att(hs, h, mask), R.standard_normal((2, 4, 3)),
                           R.standard_normal((2, 2, 3)))
    assert res.passed, res.report()


@settings(max_examples=25, deadline=None)
@given(N=st.integers(1, 3), T=st.integers(1, 5), H=st.integers(1, 4), steps=st.sampled_from([None, 1, 3]),
       score=st.sampled_from(SCORES), masked=st.booleans(), seed=st.integers(0, 2**16))
def test_hypothesis_shapes(N, T, H, steps, score, masked, seed):
    rng = np.random.default_rng(seed)
    att = layer(score, H, seed=seed)
    hs = rng.standard_normal((N, T, H))
    h = rng.standard_normal((N, H) if steps is None else (N, steps, H))
    mask = (rng.random((N, T)) < 0.6) if masked else None
    c = att(ta.Variable(hs), ta.Variable(h), mask)
    a = att.weights
    assert c.shape == h.shape and a.shape == h.shape[:-1] + (T,)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(c.data))
    full = np.ones((N, T), bool) if mask is None else mask
    am = np.broadcast_to(full if steps is None else full[:, None, :], a.shape)
    np.testing.assert_allclose(a.sum(-1), np.where(am.any(-1), 1.0, 0.0), atol=1e-12)
    assert np.all(a[~am] == 0)
    np.testing.assert_allclose(c.data, a @ hs if steps is not None else np.einsum("nt,nth->nh", a, hs),
                               atol=1e-12)
    res = ta.gradcheck(lambda x, y: att(x, y, mask), hs, h, params=dict(att.named_params()),
                       max_elements=10)
    assert res.passed, res.report()


def _scores_reference(score, hs, h, att):
    """Plain NumPy formulas of the scores (an independent reference)."""
    H = hs.shape[-1]
    q = h if h.ndim == 3 else h[:, None, :]
    if score in ("dot", "scaled"):
        s = np.einsum("nqh,nth->nqt", q, hs) / (np.sqrt(H) if score == "scaled" else 1.0)
    elif score == "general":
        s = np.einsum("nqh,hk,ntk->nqt", q, att.W.data, hs)
    else:
        e = np.tanh((q @ att.W_query.data)[:, :, None, :] + (hs @ att.W_key.data)[:, None, :, :])
        s = e @ att.v.data
    return s if h.ndim == 3 else s[:, 0]


@pytest.mark.parametrize("score", SCORES)
def test_scores_match_numpy_formulas(score):
    att = layer(score, 4)
    hs, h = R.standard_normal((2, 5, 4)), R.standard_normal((2, 3, 4))
    for q in (h, h[:, 1]):
        np.testing.assert_allclose(att.scores(ta.Variable(hs), ta.Variable(q)).data,
                                   _scores_reference(score, hs, q, att), rtol=1e-12)


def test_masked_softmax_values_and_no_nan():
    s = ta.Variable(R.standard_normal((2, 3, 4)))
    mask = np.array([[True, False, True, True], [False, False, False, False]])
    a = F.masked_softmax(s, mask)
    ref = np.exp(s.data) * mask[:, None, :]
    ref = ref / np.maximum(ref.sum(-1, keepdims=True), 1e-300)
    np.testing.assert_allclose(a.data, ref, rtol=1e-12)
    assert np.all(a.data[1] == 0) and not np.isnan(a.data).any()
    F.sum(a * s).backward()
    assert s.grad.data[:, :, 1].max() == 0 and s.grad.data[1].max() == 0   # masked: no gradient
    # large scores do not overflow into the masked positions; float32 too
    big = ta.Variable(np.array([[1e30, -1e30, 3.0]], np.float32))
    out = F.masked_softmax(big, np.array([[False, True, True]]))
    np.testing.assert_allclose(out.data, [[0, 0, 1]], atol=1e-7)
    # a causal (1, T_dec, T_enc) mask broadcasts over the batch
    causal = np.tril(np.ones((1, 3, 4), bool))
    a = F.masked_softmax(ta.Variable(np.zeros((2, 3, 4))), causal)
    np.testing.assert_allclose(a.data[0, 0], [1, 0, 0, 0])


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("steps", [None, 3])
def test_book_form_equals_matmul_form(score, steps):
    """Values and every gradient of the book's Repeat -> x -> Sum graphs equal the matmul form."""
    hs = R.standard_normal((2, 5, 4))
    h = R.standard_normal((2, 4) if steps is None else (2, steps, 4))
    mask = key_mask(2, 5, R)
    results = []
    for form in ("matmul", "book"):
        att = layer(score, 4, form=form, seed=3)
        x, y = ta.Variable(hs), ta.Variable(h)
        c = att(x, y, mask)
        F.sum(c * ta.Variable(np.cos(np.arange(c.size)).reshape(c.shape))).backward()
        results.append((c.data, att.weights, x.grad.data, y.grad.data,
                        {n: p.grad.data for n, p in att.named_params()}))
    (c0, a0, gx0, gy0, gp0), (c1, a1, gx1, gy1, gp1) = results
    for u, v in ((c0, c1), (a0, a1), (gx0, gx1), (gy0, gy1)):
        np.testing.assert_allclose(v, u, rtol=1e-12, atol=1e-14)
    for n in gp0:
        np.testing.assert_allclose(gp1[n], gp0[n], rtol=1e-12, atol=1e-14)


def test_book_form_is_the_books_graph():
    """form="book" really builds Repeat (broadcast_to) -> Mul -> Sum, and no MatMul."""
    def ops(fn):
        out = fn()
        seen, stack = set(), [out.creator]
        while stack:
            f = stack.pop()
            if f is None or id(f) in seen:
                continue
            seen.add(id(f))
            yield type(f).__name__
            stack.extend(x.creator for x in f.inputs)
    hs, h = ta.Variable(R.standard_normal((2, 5, 4))), ta.Variable(R.standard_normal((2, 4)))
    book = set(ops(lambda: F.weight_sum(hs, F.attention_weight(hs, h, form="book"), form="book")))
    assert {"BroadcastTo", "Mul", "Sum", "Softmax"} <= book and "MatMul" not in book
    assert "MatMul" in set(ops(lambda: F.weight_sum(hs, F.attention_weight(hs, h))))


def test_errors():
    hs, h = ta.Variable(np.zeros((2, 5, 4))), ta.Variable(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="score must be one of"):
        L.Attention("cosine")
    with pytest.raises(ValueError, match="needs a positive hidden_size"):
        L.Attention("general")
    with pytest.raises(ValueError, match="form must be one of"):
        L.Attention(form="loop")
    with pytest.raises(OpError, match="mask must be a boolean array"):
        F.attention_weight(hs, h, mask=np.ones((2, 5)))
    with pytest.raises(OpError, match=r"mask of shape \(2, 4\) does not fit scores \(2, 5\)"):
        F.attention_weight(hs, h, mask=np.ones((2, 4), bool))
    with pytest.raises(OpError, match="form must be one of"):
        F.weight_sum(hs, F.attention_weight(hs, h), form="loop")
    with pytest.raises(OpError, match=r"general_score: W must be \(H_q, 4\)"):
        F.general_score(hs, h, np.zeros((4, 3)))
    with pytest.raises(OpError, match="additive_score: expected W_query"):
        F.additive_score(hs, h, np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(OpError, match=r"must have width hidden_size=6"):
        L.Attention("general", hidden_size=6)(hs, h)


def test_time_attention_is_the_same_layer():
    assert L.TimeAttention is L.Attention
