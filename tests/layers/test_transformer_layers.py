"""The Transformer's layers: float64 gradient checks (masks, dropout, pre/post norm), heads,
positions, and incremental decoding equal to the masked full pass."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L

R = np.random.default_rng(11)
KMASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool).reshape(2, 1, 1, 5)


def ok(res):
    assert res.passed, res.report()


def test_layer_norm_layer_gradcheck_and_params():
    ln = L.LayerNorm(5)
    assert [n for n, _ in ln.named_params()] == ["gamma", "beta"]
    np.testing.assert_array_equal(ln.gamma.data, 1.0)
    ok(ta.check_layer(ln, R.standard_normal((2, 3, 5))))


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_mha_self_and_cross_gradcheck_and_weights_of_every_head(heads):
    mha = L.MultiHeadAttention(4, heads)
    x, mem = R.standard_normal((2, 3, 4)), R.standard_normal((2, 5, 4))
    ok(ta.check_layer(mha, x, mem, KMASK))
    y = mha(ta.Variable(x), ta.Variable(mem), KMASK)
    assert y.shape == (2, 3, 4) and mha.weights.shape == (2, heads, 3, 5)
    np.testing.assert_allclose(mha.weights.sum(-1), 1.0, rtol=1e-6)
    assert (mha.weights[0, :, :, 3:] == 0).all()
    ok(ta.check_layer(mha, x, None, np.tri(3, dtype=bool)))      # causal self-attention


def test_mha_heads_are_independent_attentions_side_by_side():
    ta.seed(1)
    mha = L.MultiHeadAttention(6, 3).to_device("cpu")
    x = ta.Variable(R.standard_normal((2, 4, 6)).astype(np.float32))
    y = mha(x)
    q = (x.data @ mha.query.W.data + mha.query.b.data)
    k = (x.data @ mha.key.W.data + mha.key.b.data)
    v = (x.data @ mha.value.W.data + mha.value.b.data)
    heads = []
    for h in range(3):
        s = slice(2 * h, 2 * h + 2)
        c, w = F.scaled_dot_product_attention(q[..., s], k[..., s], v[..., s])
        np.testing.assert_allclose(w.data, mha.weights[:, h], rtol=1e-5, atol=1e-6)
        heads.append(c.data)
    want = np.concatenate(heads, -1) @ mha.out.W.data + mha.out.b.data
    np.testing.assert_allclose(y.data, want, rtol=1e-5, atol=1e-5)
    assert mha.merge_heads(mha.split_heads(x)).data.tolist() == x.data.tolist()


def test_mha_bad_sizes():
    with pytest.raises(ValueError, match=r"d_model \(6\) must be a positive multiple of num_heads \(4\)"):
        L.MultiHeadAttention(6, 4)
    with pytest.raises(ta.OpError, match=r"queries must be \(N, T, 4\)"):
        L.MultiHeadAttention(4, 2)(ta.Variable(np.zeros((2, 3, 5), np.float32)))


def test_feed_forward_and_learned_positions_gradcheck():
    ok(ta.check_layer(L.PositionwiseFeedForward(4, 6, dropout=0.3), R.standard_normal((2, 3, 4))))
    pe = L.PositionalEncoding(4, "learned", max_len=6)
    ok(ta.check_layer(pe, R.standard_normal((2, 3, 4))))
    with pytest.raises(ta.OpError, match="positions up to 7 exceed max_len=6"):
        pe(ta.Variable(np.zeros((1, 3, 4), np.float32)), offset=4)
    with pytest.raises(ValueError, match="kind must be one of"):
        L.PositionalEncoding(4, "rotary")


def test_sinusoidal_positions_formula():
    P = L.sinusoidal_positions(7, 6, dtype=np.float64)
    for p in range(7):
        for i in range(3):
            ang = p / 10000 ** (2 * i / 6)
            assert P[p, 2 * i] == pytest.approx(np.sin(ang))
            assert P[p, 2 * i + 1] == pytest.approx(np.cos(ang))
    np.testing.assert_allclose(L.sinusoidal_positions(3, 6, offset=4, dtype=np.float64), P[4:7])
    assert L.sinusoidal_positions(2, 5).shape == (2, 5)               # odd width


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_encoder_block_gradcheck(norm):
    blk = L.TransformerEncoderBlock(4, 2, 6, dropout=0.2, norm=norm)
    ok(ta.check_layer(blk, R.standard_normal((2, 5, 4)), KMASK))


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_decoder_block_gradcheck(norm):
    blk = L.TransformerDecoderBlock(4, 2, 6, dropout=0.1, norm=norm)
    ok(ta.check_layer(blk, R.standard_normal((2, 3, 4)), R.standard_normal((2, 5, 4)),
                      np.tri(3, dtype=bool), KMASK, max_elements=40))


def test_block_residual_is_the_skip_connection():
    blk = L.TransformerEncoderBlock(4, 2, 6, norm="pre")
    for p in (blk.self_attn.out.W, blk.self_attn.out.b, blk.ff.outer.W, blk.ff.outer.b):
        p.data[...] = 0                                  # both sub-layers output 0
    x = R.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(blk(ta.Variable(x)).data, x)   # pre-norm: identity
    post = L.TransformerEncoderBlock(4, 2, 6, norm="post")
    for p in (post.self_attn.out.W, post.self_attn.out.b, post.ff.outer.W, post.ff.outer.b):
        p.data[...] = 0
    np.testing.assert_allclose(post(ta.Variable(x)).data,
                               F.layer_norm(F.layer_norm(x, np.ones(4, np.float32),
                                                         np.zeros(4, np.float32)),
                                            np.ones(4, np.float32), np.zeros(4, np.float32)).data,
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="norm must be one of"):
        L.TransformerEncoderBlock(4, 2, 6, norm="sandwich")


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_decoder_step_equals_the_causal_full_pass(norm):
    ta.seed(3)
    blk = L.TransformerDecoderBlock(8, 2, 16, norm=norm)
    x = ta.Variable(R.standard_normal((2, 5, 8)).astype(np.float32))
    mem = ta.Variable(R.standard_normal((2, 4, 8)).astype(np.float32))
    with ta.no_grad():
        full = blk(x, mem, F.causal_mask(5, x), KMASK[:, :, :, :4])
        kv = blk.cross_attn.keys_values(mem)
        past, outs = None, []
        for t in range(5):
            y, past = blk.step(x[:, t:t + 1], kv, past, KMASK[:, :, :, :4])
            outs.append(y.data)
        np.testing.assert_allclose(np.concatenate(outs, 1), full.data, rtol=1e-4, atol=1e-5)
        y2, _ = blk.step(x[:, 2:], kv, blk.step(x[:, :2], kv)[1], KMASK[:, :, :, :4])  # 3 at once
        np.testing.assert_allclose(y2.data, full.data[:, 2:], rtol=1e-4, atol=1e-5)
