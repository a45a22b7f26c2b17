"""Layers: float64 gradient checks w.r.t. inputs and every parameter, and behaviour."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.npzfile import CheckpointError

R = np.random.default_rng(7)
f64 = dict(dtype=np.float64)


def check_layer(layer, fn, *inputs):
    res = ta.gradcheck(fn, *inputs, params=dict(layer.named_params()))
    assert res.passed, res.report()
    names = [e.name for e in res.entries]
    assert set(dict(layer.named_params())) <= set(names)
    return res


def test_linear_and_embedding():
    lin = L.Linear(3, 4, **f64)
    check_layer(lin, lin, R.standard_normal((2, 5, 3)))
    lin_nb = L.Linear(3, 4, bias=False, init="he", **f64)
    check_layer(lin_nb, lin_nb, R.standard_normal((6, 3)))
    emb = L.Embedding(5, 3, **f64)
    ids = np.array([[0, 4, 4], [1, 0, 2]])
    check_layer(emb, lambda: emb(ids) * 1.0)


def test_lstm_cell_and_sequence():
    cell = L.LSTMCell(3, 4, **f64)
    x, h, c = R.standard_normal((2, 3)), R.standard_normal((2, 4)), R.standard_normal((2, 4))
    check_layer(cell, lambda a, b, d: F.concat(list(cell(a, b, d)), axis=1), x, h, c)
    lstm = L.LSTM(3, 4, **f64)
    check_layer(lstm, lambda xs, h0, c0: lstm(xs, h0, c0) + F.sum(lstm.c), R.standard_normal((2, 5, 3)), h, c)


def test_gru():
    cell = L.GRUCell(3, 4, **f64)
    check_layer(cell, cell, R.standard_normal((2, 3)), R.standard_normal((2, 4)))
    gru = L.GRU(3, 4, **f64)
    check_layer(gru, gru, R.standard_normal((2, 5, 3)))


def test_bidirectional_and_stacked():
    bi = L.Bidirectional(L.LSTM(3, 2, **f64), L.LSTM(3, 2, **f64))
    check_layer(bi, lambda xs: bi(xs) + F.sum(bi.h) + F.sum(bi.c), R.standard_normal((2, 4, 3)))
    st = L.StackedLSTM(3, [4, 4, 5], residual=True, **f64)  # layer 2 -> 3 needs a projection
    assert st.projections is not None
    check_layer(st, st, R.standard_normal((2, 4, 3)))
    bigru = L.Bidirectional(L.GRU(3, 2, **f64), L.GRU(3, 2, **f64))
    check_layer(bigru, bigru, R.standard_normal((2, 4, 3)))


def test_attention_layers():
    hs = R.standard_normal((2, 5, 4))
    att = L.Attention()
    check_layer(att, att, hs, R.standard_normal((2, 4)))
    tatt = L.TimeAttention()
    check_layer(tatt, tatt, hs, R.standard_normal((2, 3, 4)))


def test_attention_weights_sum_to_one_and_context_is_weighted_sum():
    hs = R.standard_normal((3, 6, 4))
    h = R.standard_normal((3, 4))
    att = L.Attention()
    c = att(ta.Variable(hs), ta.Variable(h))
    a = att.weights
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)
    scores = np.einsum("nth,nh->nt", hs, h)
    expect_a = np.exp(scores - scores.max(1, keepdims=True))
    expect_a /= expect_a.sum(1, keepdims=True)
    np.testing.assert_allclose(a, expect_a, rtol=1e-10)
    np.testing.assert_allclose(c.data, np.einsum("nt,nth->nh", expect_a, hs), rtol=1e-10)
    # the time-batched layer agrees with the per-step one at every decoder step
    hd = R.standard_normal((3, 2, 4))
    tatt = L.TimeAttention()
    ct = tatt(ta.Variable(hs), ta.Variable(hd))
    for t in range(2):
        ci = L.Attention()(ta.Variable(hs), ta.Variable(hd[:, t]))
        np.testing.assert_allclose(ct.data[:, t], ci.data, rtol=1e-10)
    np.testing.assert_allclose(tatt.weights.sum(-1), 1.0)


def test_stateful_lstm_carries_state_and_reset_clears():
    lstm = L.LSTM(2, 3, stateful=True, **f64)
    xs = R.standard_normal((1, 4, 2))
    whole = lstm(ta.Variable(xs)).data
    lstm.reset_state()
    a = lstm(ta.Variable(xs[:, :2])).data
    b = lstm(ta.Variable(xs[:, 2:])).data  # continues from the carried state
    np.testing.assert_allclose(np.concatenate([a, b], axis=1), whole, rtol=1e-12)
    lstm.reset_state()
    fresh = lstm(ta.Variable(xs[:, 2:])).data
    assert not np.allclose(fresh, b)
    stateless = L.LSTM(2, 3, **f64)
    stateless.Wx.data[...] = lstm.Wx.data
    stateless.Wh.data[...] = lstm.Wh.data
    stateless(ta.Variable(xs[:, :2]))
    np.testing.assert_allclose(stateless(ta.Variable(xs[:, 2:])).data, fresh)


def test_bidirectional_backward_half_reads_reversed_sequence():
    fwd, bwd = L.LSTM(1, 2, **f64), L.LSTM(1, 2, **f64)
    bi = L.Bidirectional(fwd, bwd)
    xs = np.array([[[1.0], [0.0], [0.0], [-3.0]]])  # asymmetric
    out = bi(ta.Variable(xs)).data
    fwd_alone = L.LSTM(1, 2, **f64)
    fwd_alone.Wx.data, fwd_alone.Wh.data, fwd_alone.b.data = bwd.Wx.data, bwd.Wh.data, bwd.b.data
    rev = fwd_alone(ta.Variable(xs[:, ::-1].copy())).data[:, ::-1]
    np.testing.assert_allclose(out[..., 2:], rev, rtol=1e-12)
    # position 0 of the backward half has read the whole sequence, so it sees the -3
    xs2 = xs.copy()
    xs2[0, 3, 0] = 5.0
    out2 = bi(ta.Variable(xs2)).data
    assert not np.allclose(out2[0, 0, 2:], out[0, 0, 2:])
    np.testing.assert_allclose(out2[0, 0, :2], out[0, 0, :2])  # forward half at t=0 cannot


def test_residual_stack_adds_input():
    st = L.StackedLSTM(3, 3, num_layers=2, residual=True, **f64)
    plain = L.StackedLSTM(3, 3, num_layers=2, residual=False, **f64)
    for (_, p), (_, q) in zip(st.named_params(), plain.named_params()):
        q.data = p.data
    xs = ta.Variable(R.standard_normal((2, 4, 3)))
    y_res = st(xs).data
    y_plain = plain(xs).data
    h1 = st.layers[0].h  # noqa: F841
    first = L.LSTM(3, 3, **f64)
    first.Wx.data, first.Wh.data, first.b.data = st.layers[0].Wx.data, st.layers[0].Wh.data, st.layers[0].b.data
    np.testing.assert_allclose(y_res - y_plain, first(xs).data, rtol=1e-10)


def test_named_params_and_shared():
    class Net(L.Layer):
        def __init__(self):
            super().__init__()
            self.a = L.Linear(2, 3)
            self.blocks = [L.Linear(3, 3), L.Linear(3, 3)]
            self.tied = self.a  # shared layer: its params are listed once

    net = Net()
    names = [n for n, _ in net.named_params()]
    assert names == ["a.W", "a.b", "blocks.0.W", "blocks.0.b", "blocks.1.W", "blocks.1.b"]
    assert net.num_params() == 2 * 3 + 3 + 2 * (9 + 3)


def test_save_load_roundtrip_and_errors(tmp_path):
    net = L.StackedLSTM(3, 4, num_layers=2)
    path = tmp_path / "w.npz"
    net.save_weights(path, meta={"note": "x"})
    other = L.StackedLSTM(3, 4, num_layers=2)
    meta = other.load_weights(path)
    assert meta == {"note": "x"}
    for (n1, p1), (n2, p2) in zip(net.named_params(), other.named_params()):
        assert n1 == n2 and np.array_equal(p1.data, p2.data) and p1.dtype == p2.dtype

    before = {n: p.data.copy() for n, p in other.named_params()}
    wrong = L.StackedLSTM(3, 5, num_layers=2)
    wrong.save_weights(tmp_path / "wrong.npz")
    with pytest.raises(CheckpointError, match=r"layers.0.Wx: shape \(3, 20\)"):
        other.load_weights(tmp_path / "wrong.npz")
    fewer = L.StackedLSTM(3, 4, num_layers=1)
    fewer.save_weights(tmp_path / "fewer.npz")
    with pytest.raises(CheckpointError, match="missing keys"):
        other.load_weights(tmp_path / "fewer.npz")
    data = path.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        other.load_weights(tmp_path / "trunc.npz")
    with pytest.raises(FileNotFoundError):
        other.load_weights(tmp_path / "nope.npz")
    for n, p in other.named_params():
        np.testing.assert_array_equal(p.data, before[n])  # unchanged after every failure


def test_layer_input_errors():
    with pytest.raises(ta.OpError, match=r"LSTM: expected input of shape \(N, T, 3\), got \(2, 3\)"):
        L.LSTM(3, 4)(ta.Variable(np.zeros((2, 3), np.float32)))
    with pytest.raises(ta.OpError, match=r"Linear\(3, 4\)"):
        L.Linear(3, 4)(ta.Variable(np.zeros((2, 5), np.float32)))
    with pytest.raises(ta.OpError, match="initial h"):
        L.LSTM(3, 4)(ta.Variable(np.zeros((2, 5, 3), np.float32)), h0=ta.Variable(np.zeros((2, 3))))
    with pytest.raises(ta.OpError, match="ids must lie in"):
        L.Embedding(5, 2)(np.array([[0, 5]]))


def test_seeded_init_is_reproducible():
    ta.seed(11)
    a = L.LSTM(3, 4)
    ta.seed(11)
    b = L.LSTM(3, 4)
    ta.seed(12)
    c = L.LSTM(3, 4)
    assert np.array_equal(a.Wx.data, b.Wx.data) and not np.array_equal(a.Wx.data, c.Wx.data)
    assert a.Wx.dtype == np.float32
    g = np.random.default_rng(5)
    d = L.Linear(3, 4, rng=g)
    e = L.Linear(3, 4, rng=np.random.default_rng(5))
    assert np.array_equal(d.W.data, e.W.data)
    std = L.Linear(300, 300).W.data.std()
    assert abs(std - np.sqrt(2 / 600)) < 0.005  # Xavier
