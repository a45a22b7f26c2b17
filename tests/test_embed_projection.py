"""Embedding -> input projection as a lookup in the projected table: same values and gradients."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn_models import AttentionSeq2seq


def test_embedding_projection_equals_embed_then_linear(rng):
    E, W, b = rng.standard_normal((7, 3)), rng.standard_normal((3, 8)), rng.standard_normal(8)
    ids = rng.integers(0, 7, (4, 5))
    ids[0, :3] = 2  # repeated ids accumulate
    G = rng.standard_normal((4, 5, 8))
    got = []
    for fn in (lambda e, w, bb: F.embedding_projection(e, ids, w, bb),
               lambda e, w, bb: F.linear(F.embedding(e, ids), w, bb)):
        e, w, bb = ta.Variable(E), ta.Variable(W), ta.Variable(b)
        y = fn(e, w, bb)
        (y * G).sum().backward()
        got.append((y.data, e.grad.data, w.grad.data, bb.grad.data))
    for a, c in zip(*got):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-13)


def test_embedding_projection_gradcheck_and_gradgradcheck(rng):
    E, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    ids = rng.integers(0, 5, (2, 6))

    def fn(e, w, bb):
        return F.tanh(F.embedding_projection(e, ids, w, bb))

    assert ta.gradcheck(fn, E, W, b)
    assert ta.gradgradcheck(fn, E, W, b)
    assert ta.gradcheck(lambda e, w: F.embedding_projection(e, ids, w), E, W)  # no bias


@pytest.mark.parametrize("ids, match", [
    (np.array([[0, 5]]), r"embedding_projection: ids must lie in \[0, 5\), got min 0 max 5"),
    (np.array([[0.0, 1.0]]), r"embedding_projection: ids must be an integer array"),
])
def test_embedding_projection_bad_ids(ids, match):
    with pytest.raises(ta.OpError, match=match):
        F.embedding_projection(np.zeros((5, 3)), ids, np.zeros((3, 4)))


def test_lstm_takes_a_projected_input(rng):
    emb = L.Embedding(6, 3, dtype=np.float64, rng=np.random.default_rng(1))
    lstm = L.LSTM(3, 4, dtype=np.float64, rng=np.random.default_rng(2))
    ids = rng.integers(0, 6, (2, 5))
    a = lstm(emb(ids))
    b = lstm(None, projected=emb.projected(ids, lstm.Wx, lstm.b))
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
    with pytest.raises(ta.OpError, match="LSTM: give exactly one of xs and projected"):
        lstm(None)
    with pytest.raises(ta.OpError, match=r"LSTM: projected input must be \(N, T, 16\)"):
        lstm(None, projected=np.zeros((2, 5, 12)))


@pytest.mark.parametrize("layers", [1, 2])
def test_model_with_embed_projection_matches_the_plain_model(layers, rng):
    kw = dict(num_layers=layers, dtype=np.float64)
    plain = AttentionSeq2seq(9, 3, 4, rng=np.random.default_rng(0), **kw)
    table = AttentionSeq2seq(9, 3, 4, embed_projection=True, rng=np.random.default_rng(0), **kw)
    assert table.config["embed_projection"] is True and plain.config["embed_projection"] is False
    xs, ts = rng.integers(0, 9, (3, 6)), rng.integers(0, 9, (3, 4))
    grads = []
    for m in (plain, table):
        loss = m(xs, ts)
        m.cleargrads()
        loss.backward()
        grads.append((float(loss.data), {n: p.grad.data for n, p in m.named_params()}))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-12)
    for name, g in grads[0][1].items():
        np.testing.assert_allclose(grads[1][1][name], g, rtol=1e-10, atol=1e-13, err_msg=name)
    np.testing.assert_array_equal(plain.generate(xs, 1, 4), table.generate(xs, 1, 4))


def test_embed_projection_refuses_a_bidirectional_encoder():
    with pytest.raises(ValueError, match="embed_projection needs a unidirectional encoder"):
        AttentionSeq2seq(9, 3, 4, bidirectional=True, embed_projection=True)
