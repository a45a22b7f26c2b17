"""The Neural Turing Machine: every addressing piece and the whole layer, gradient-checked in float64."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.layers import ntm as N

R = np.random.default_rng(11)
f64 = dict(dtype=np.float64)


def check(fn, *xs, **kw):
    res = ta.gradcheck(fn, *xs, **kw)
    assert res.passed, res.report()
    return res


def gg(fn, *xs):
    res = ta.gradgradcheck(fn, *xs)
    assert res.passed, res.report()


def softmax_rows(a):
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_cosine_similarity_values_and_grads():
    M, k = R.standard_normal((2, 5, 3)), R.standard_normal((2, 3))
    cos = N.cosine_similarity(ta.Variable(M), ta.Variable(k), eps=0.0).data
    ref = np.einsum("nrw,nw->nr", M, k) / (np.linalg.norm(M, axis=-1) * np.linalg.norm(k, axis=-1)[:, None])
    np.testing.assert_allclose(cos, ref, rtol=1e-12)
    check(N.cosine_similarity, M, k)
    # an all-zero row: similarity 0 and a finite gradient, thanks to eps
    M[0, 2] = 0.0
    assert N.cosine_similarity(ta.Variable(M), ta.Variable(k)).data[0, 2] == 0.0
    check(N.cosine_similarity, M, k)


def test_content_weights_are_the_chapters_attention_on_unit_vectors():
    M, k, beta = R.standard_normal((2, 5, 3)), R.standard_normal((2, 3)), np.abs(R.standard_normal((2, 1))) + 0.5
    w = N.content_weights(ta.Variable(M), ta.Variable(k), ta.Variable(beta), eps=0.0).data
    cos = np.einsum("nrw,nw->nr", M, k) / (np.linalg.norm(M, axis=-1) * np.linalg.norm(k, axis=-1)[:, None])
    np.testing.assert_allclose(w, softmax_rows(beta * cos), rtol=1e-12)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    check(N.content_weights, M, k, beta)
    gg(N.content_weights, M, k, beta)
    # a strong key picks the best-matching row
    M2 = np.eye(4)[None].repeat(2, 0)
    sharp = N.content_weights(ta.Variable(M2), ta.Variable(M2[:, 2]), ta.Variable(np.full((2, 1), 50.0))).data
    assert (sharp.argmax(-1) == 2).all() and (sharp[:, 2] > 0.99).all()


def test_interpolate():
    wc, wp, g = softmax_rows(R.standard_normal((3, 6))), softmax_rows(R.standard_normal((3, 6))), R.random((3, 1))
    out = N.interpolate(ta.Variable(wc), ta.Variable(wp), ta.Variable(g)).data
    np.testing.assert_allclose(out, g * wc + (1 - g) * wp)
    check(N.interpolate, wc, wp, g)


@pytest.mark.parametrize("S", [0, 1, 2])
def test_circular_shift_matches_np_roll(S):
    w, s = softmax_rows(R.standard_normal((2, 7))), softmax_rows(R.standard_normal((2, 2 * S + 1)))
    out = N.circular_shift(ta.Variable(w), ta.Variable(s)).data
    ref = sum(s[:, [j]] * np.roll(w, j - S, axis=1) for j in range(2 * S + 1))
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    check(N.circular_shift, w, s)
    gg(N.circular_shift, w, s)


def test_circular_shift_moves_focus_and_wraps():
    w = np.zeros((1, 5))
    w[0, 4] = 1.0
    plus_one = ta.Variable(np.array([[0.0, 0.0, 1.0]]))  # shifts -1, 0, +1
    out = N.circular_shift(ta.Variable(w), plus_one).data
    np.testing.assert_array_equal(out, [[1.0, 0, 0, 0, 0]])  # row 4 -> row 0
    with pytest.raises(ta.OpError, match="circular_shift"):
        N.circular_shift(ta.Variable(w), ta.Variable(np.ones((1, 2)) / 2))
    with pytest.raises(ta.OpError, match="at least 7 rows"):
        N.circular_shift(ta.Variable(w), ta.Variable(np.ones((1, 7)) / 7))


def test_sharpen():
    w, gamma = softmax_rows(R.standard_normal((2, 6))), 1 + np.abs(R.standard_normal((2, 1)))
    out = N.sharpen(ta.Variable(w), ta.Variable(gamma), eps=0.0).data
    ref = w ** gamma / (w ** gamma).sum(-1, keepdims=True)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert (out.max(-1) >= w.max(-1)).all()  # sharper
    check(N.sharpen, w, gamma)
    gg(N.sharpen, w, gamma)
    # exact zeros (a one-hot weighting) keep finite gradients (central differences would
    # step below 0, outside the domain, so the analytic gradient is checked for finiteness)
    wv, gv = ta.Variable(np.eye(6)[[1, 3]]), ta.Variable(gamma)
    F.sum(N.sharpen(wv, gv) * ta.Variable(R.standard_normal((2, 6)))).backward()
    assert np.isfinite(wv.grad.data).all() and np.isfinite(gv.grad.data).all()


def test_read_and_write():
    M, w = R.standard_normal((2, 4, 3)), softmax_rows(R.standard_normal((2, 4)))
    e, a = R.random((2, 3)), R.standard_normal((2, 3))
    np.testing.assert_allclose(N.memory_read(ta.Variable(M), ta.Variable(w)).data,
                               np.einsum("nr,nrw->nw", w, M))
    new = N.memory_write(ta.Variable(M), ta.Variable(w), ta.Variable(e), ta.Variable(a)).data
    ref = M * (1 - w[:, :, None] * e[:, None, :]) + w[:, :, None] * a[:, None, :]
    np.testing.assert_allclose(new, ref)
    check(N.memory_read, M, w)
    check(N.memory_write, M, w, e, a)
    gg(N.memory_write, M, w, e, a)
    # a one-hot write with erase 1 replaces exactly that row
    onehot = np.eye(4)[[2, 0]]
    new = N.memory_write(ta.Variable(M), ta.Variable(onehot), ta.Variable(np.ones((2, 3))),
                         ta.Variable(a)).data
    np.testing.assert_allclose(new[0, 2], a[0])
    np.testing.assert_allclose(new[1, 0], a[1])
    np.testing.assert_array_equal(new[0, [0, 1, 3]], M[0, [0, 1, 3]])
    with pytest.raises(ta.OpError, match="memory_write"):
        N.memory_write(ta.Variable(M), ta.Variable(w), ta.Variable(e), ta.Variable(a[:, :2]))


def test_address_pipeline():
    M, wp = R.standard_normal((2, 5, 3)), softmax_rows(R.standard_normal((2, 5)))
    k, beta, g = R.standard_normal((2, 3)), np.abs(R.standard_normal((2, 1))) + 0.5, R.random((2, 1))
    s, gamma = softmax_rows(R.standard_normal((2, 3))), 1 + np.abs(R.standard_normal((2, 1)))
    w = N.address(ta.Variable(M), ta.Variable(wp), ta.Variable(k), ta.Variable(beta), ta.Variable(g),
                  ta.Variable(s), ta.Variable(gamma)).data
    np.testing.assert_allclose(w.sum(-1), 1.0)
    check(N.address, M, wp, k, beta, g, s, gamma)


def _ntm(controller="lstm", read_heads=1, shift_range=1):
    ta.seed(3)
    return L.NTM(4, memory_rows=6, memory_width=3, hidden_size=5, controller=controller,
                 read_heads=read_heads, shift_range=shift_range, memory_init=0.1, **f64)


@pytest.mark.parametrize("kw", [dict(), dict(controller="ff"), dict(read_heads=2, shift_range=2)],
                         ids=["lstm", "ff", "2heads"])
def test_ntm_layer_gradcheck_over_time_steps(kw):
    ntm = _ntm(**kw)
    xs = R.standard_normal((2, 3, 4))

    def fn(x):  # the outputs and the final memory, so every path is checked
        y = ntm(x)
        return F.concat([F.reshape(y, (2, -1)), F.reshape(ntm.state.memory, (2, -1))], axis=1)

    res = check(fn, xs, params=dict(ntm.named_params()))
    assert {e.name for e in res.entries} >= set(dict(ntm.named_params()))


def test_ntm_shapes_weights_and_fresh_memory_per_call():
    ntm = _ntm(read_heads=2)
    xs = ta.Variable(R.standard_normal((2, 5, 4)))
    y1 = ntm(xs).data
    assert y1.shape == (2, 5, ntm.output_size) == (2, 5, 5 + 2 * 3)
    assert ntm.read_weights.shape == (2, 5, 2, 6) and ntm.write_weights.shape == (2, 5, 6)
    np.testing.assert_allclose(ntm.read_weights.sum(-1), 1.0)
    np.testing.assert_allclose(ntm.write_weights.sum(-1), 1.0)
    y2 = ntm(xs).data  # the memory does not carry over between calls
    np.testing.assert_array_equal(y1, y2)
    # step by step from the same initial state gives the same outputs
    state = ntm.initial_state(2)
    outs = []
    for t in range(5):
        o, state = ntm.step(xs[:, t], state)
        outs.append(o.data)
    np.testing.assert_allclose(np.stack(outs, 1), y1)
    # continuing from a given state differs from a fresh start
    y3 = ntm(xs, state=state).data
    assert not np.allclose(y3, y1)


def test_ntm_bad_arguments():
    with pytest.raises(ValueError, match="controller"):
        L.NTM(3, controller="gru")
    with pytest.raises(ValueError, match="memory_rows"):
        L.NTM(3, memory_rows=0)
    with pytest.raises(ValueError, match="shift_range 3 needs at least 7"):
        L.NTM(3, memory_rows=4, shift_range=3)
    ntm = _ntm()
    with pytest.raises(ta.OpError, match=r"NTM: expected input of shape \(N, T, 4\)"):
        ntm(ta.Variable(np.zeros((2, 3, 5))))


def test_several_heads_at_once_equal_one_head_at_a_time():
    M = R.standard_normal((2, 7, 3))
    k, beta = R.standard_normal((2, 3, 3)), np.abs(R.standard_normal((2, 3, 1))) + 0.5
    wp, g = softmax_rows(R.standard_normal((2, 3, 7))), R.random((2, 3, 1))
    s, gamma = softmax_rows(R.standard_normal((2, 3, 3))), 1 + np.abs(R.standard_normal((2, 3, 1)))
    V = ta.Variable
    together = N.address(V(M), V(wp), V(k), V(beta), V(g), V(s), V(gamma)).data
    for h in range(3):
        one = N.address(V(M), V(wp[:, h]), V(k[:, h]), V(beta[:, h]), V(g[:, h]), V(s[:, h]),
                        V(gamma[:, h])).data
        np.testing.assert_allclose(together[:, h], one, rtol=1e-12)
        np.testing.assert_allclose(N.cosine_similarity(V(M), V(k)).data[:, h],
                                   N.cosine_similarity(V(M), V(k[:, h])).data, rtol=1e-12)
    reads = N.memory_read(V(M), V(together)).data
    np.testing.assert_allclose(reads, np.einsum("nhr,nrw->nhw", together, M))
    check(N.address, M, wp, k, beta, g, s, gamma)
    check(N.circular_shift, wp, s)
    gg(N.circular_shift, wp, s)
    with pytest.raises(ta.OpError, match="circular_shift"):
        N.circular_shift(V(wp), V(s[:, :2]))
