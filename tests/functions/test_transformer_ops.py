"""The Transformer's ops in float64: masked softmax, scaled dot-product attention with masks,
LayerNorm (fused vs composed), label smoothing; learning-rate schedules."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.functions.norm import layer_norm_composed
from tinygrad_attn.optim import SGD, WarmupCosine, WarmupInverseSqrt, make_schedule

R = np.random.default_rng(5)


def ok(res):
    assert res.passed, res.report()


# ----------------------------------------------------------------------------- masked softmax
def test_masked_softmax_values_and_fully_masked_rows():
    x = R.standard_normal((2, 3, 4))
    mask = R.random((2, 3, 4)) < 0.6
    mask[0, 2] = False
    mask[1, 0] = True
    y = F.masked_softmax(x, mask).data
    assert not np.isnan(y).any()
    np.testing.assert_array_equal(y[0, 2], 0.0)            # fully masked row: zeros
    assert (y[~mask] == 0).all()
    rows = mask.any(-1)
    np.testing.assert_allclose(y.sum(-1)[rows], 1.0)
    ref = F.softmax(np.where(mask, x, -1e30)).data          # where some key is visible
    np.testing.assert_allclose(y[rows], ref[rows], rtol=1e-12)
    np.testing.assert_allclose(F.masked_softmax(x, np.ones((4,), bool)).data, F.softmax(x).data)


def test_masked_softmax_gradients_with_a_broadcast_mask():
    x = R.standard_normal((2, 3, 5))
    mask = R.random((1, 3, 5)) < 0.6
    mask[0, 1] = False
    ok(ta.gradcheck(lambda a: F.masked_softmax(a, mask), x))
    ok(ta.gradgradcheck(lambda a: F.masked_softmax(a, mask), x))
    g = ta.Variable(x)
    (F.masked_softmax(g, mask) * ta.Variable(R.standard_normal(x.shape))).sum().backward()
    assert (g.grad.data[:, ~mask[0]] == 0).all()            # no gradient to masked scores


def test_masked_softmax_errors():
    x = np.zeros((2, 3))
    with pytest.raises(ta.OpError, match="masked_softmax: mask must be a boolean"):
        F.masked_softmax(x, np.ones((2, 3)))
    with pytest.raises(ta.OpError, match=r"mask of shape \(4,\) does not fit scores \(2, 3\)"):
        F.masked_softmax(x, np.ones(4, bool))


# ----------------------------------------------------------------------------- attention
def test_sdpa_is_the_chapters_attention_scaled():
    hs = R.standard_normal((2, 5, 4))
    h = R.standard_normal((2, 3, 4))
    a = F.attention_weight(hs, h)
    c = F.weight_sum(hs, a)
    ctx, w = F.scaled_dot_product_attention(h * math.sqrt(4), hs, hs)
    np.testing.assert_allclose(w.data, a.data, rtol=1e-12)
    np.testing.assert_allclose(ctx.data, c.data, rtol=1e-12)


def test_sdpa_causal_mask_hides_the_future():
    x = R.standard_normal((2, 2, 4, 3))
    m = F.causal_mask(4, x)
    c1, w = F.scaled_dot_product_attention(x, x, x, m)
    assert (np.triu(np.ones((4, 4)), 1).astype(bool) & (w.data > 0)).sum() == 0
    x2 = x.copy()
    x2[..., 3, :] += 5.0                                     # change only the last position
    c2, _ = F.scaled_dot_product_attention(x2, x2, x2, m)
    np.testing.assert_allclose(c1.data[..., :3, :], c2.data[..., :3, :])


def test_sdpa_padding_mask_ignores_padded_keys_and_gradchecks():
    ids = np.array([[3, 1, 0, 0], [2, 2, 2, 0]])
    mask = F.padding_mask(ids, 0)
    assert mask.shape == (2, 1, 1, 4)
    q = R.standard_normal((2, 2, 3, 5))
    k = R.standard_normal((2, 2, 4, 5))
    v = R.standard_normal((2, 2, 4, 5))
    c1, w = F.scaled_dot_product_attention(q, k, v, mask)
    assert (w.data[0, :, :, 2:] == 0).all() and (w.data[1, :, :, 3] == 0).all()
    v2 = v.copy()
    v2[0, :, 2:] = 100.0
    c2, _ = F.scaled_dot_product_attention(q, k, v2, mask)
    np.testing.assert_allclose(c1.data[0], c2.data[0])

    def f(q, k, v):
        c, w = F.scaled_dot_product_attention(q, k, v, mask & F.causal_mask(3, q, 4))
        return F.concat([F.reshape(c, (-1,)), F.reshape(w, (-1,))], axis=0)

    ok(ta.gradcheck(f, q, k, v))
    ok(ta.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask[:1])[0],
                        q[:1], k[:1], v[:1]))


def test_sdpa_dropout_is_a_fixed_mask_under_a_fixed_generator():
    q = R.standard_normal((1, 3, 4))
    f = lambda q: F.scaled_dot_product_attention(q, q, q, dropout=0.3,  # noqa: E731
                                                 rng=np.random.default_rng(0))[0]
    ok(ta.gradcheck(f, q))
    with ta.test_mode():
        np.testing.assert_allclose(f(q).data, F.scaled_dot_product_attention(q, q, q)[0].data)


def test_causal_mask_with_more_keys_than_queries():
    m = F.causal_mask(2, np.zeros(1), 4)
    np.testing.assert_array_equal(m, [[1, 1, 1, 0], [1, 1, 1, 1]])


def test_sdpa_errors():
    with pytest.raises(ta.OpError, match=r"scaled_dot_product_attention: .* q \(2, 3, 4\), k \(2, 5, 3\)"):
        F.scaled_dot_product_attention(np.zeros((2, 3, 4)), np.zeros((2, 5, 3)), np.zeros((2, 5, 3)))
    with pytest.raises(ta.OpError, match="padding_mask: ids must be"):
        F.padding_mask(np.zeros(3, int), 0)


# ----------------------------------------------------------------------------- LayerNorm
@settings(max_examples=10, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), D=st.integers(2, 6),
       seed=st.integers(0, 100))
def test_fused_layer_norm_matches_the_composed_reference(lead, D, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal(tuple(lead) + (D,))
    g, b = r.standard_normal(D), r.standard_normal(D)
    gy = r.standard_normal(x.shape)
    outs = []
    for fused in (True, False):
        with F.fused_ops(fused):
            vs = [ta.Variable(a) for a in (x, g, b)]
            y = F.layer_norm(*vs)
            (y * ta.Variable(gy)).sum().backward(create_graph=True)
            first = [v.grad for v in vs]
            for v in vs:
                v.cleargrad()
            sum((f * ta.Variable(np.ones(f.shape))).sum() for f in first[:2]).backward()
            outs.append([y.data] + [f.data for f in first] + [v.grad.data if v.grad is not None
                                                              else np.zeros(v.shape) for v in vs])
            assert (type(y.creator).__name__ == "LayerNorm") == fused
    for a, c in zip(*outs):
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-10)


def test_layer_norm_gradchecks_and_normalises():
    x = R.standard_normal((2, 3, 5)) * 3 + 1
    g, b = R.standard_normal(5), R.standard_normal(5)
    y = F.layer_norm(x, np.ones(5), np.zeros(5)).data
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-4)
    ok(ta.gradcheck(F.layer_norm, x, g, b))
    ok(ta.gradgradcheck(F.layer_norm, x, g, b))
    ok(ta.gradcheck(layer_norm_composed, x, g, b))
    with pytest.raises(ta.OpError, match=r"layer_norm: expected x \(..., D\) .* gamma \(4,\)"):
        F.layer_norm(x, np.ones(4), np.zeros(5))


@pytest.mark.parametrize("shape", [(4,), (2, 3, 5), (3, 1)])
def test_fused_layer_norm_grad_node_gradchecks(shape):
    """The backward node alone, (x, gamma, gy) -> (gx, ggamma, gbeta): its gradients (the
    second derivatives of layer_norm) and their gradients, against central differences."""
    from tinygrad_attn.functions.norm import LayerNorm, LayerNormGrad

    r = np.random.default_rng(len(shape))
    x = r.standard_normal(shape) * 2 + 0.5
    D = shape[-1]
    g, gy = r.standard_normal(D), r.standard_normal(shape)
    W = [r.standard_normal(shape), r.standard_normal(D), r.standard_normal(D)]

    def fn(xv, gv, gyv):
        fwd = LayerNorm(1e-5)
        fwd.forward(xv.data, gv.data, np.zeros(D))           # saves xhat and rstd of x
        gx, gg, gb = LayerNormGrad(fwd.xhat, fwd.rstd, 1e-5)(xv, gv, gyv)
        return gx * W[0] + (gg * W[1] + gb * W[2]).sum()

    ok(ta.gradcheck(fn, x, g, gy))
    ok(ta.gradgradcheck(fn, x, g, gy))


def test_fused_layer_norm_third_order_equals_the_composed_reference():
    x = R.standard_normal((2, 3, 4))
    g, b = R.standard_normal(4), R.standard_normal(4)
    gy, S = R.standard_normal((2, 2, 3, 4))
    out = []
    for fused in (True, False):
        vs = [ta.Variable(a) for a in (x, g, b)]
        with F.fused_ops(fused):
            (F.layer_norm(*vs) * gy).sum().backward(create_graph=True)
            g1 = vs[0].grad
            for v in vs:
                v.cleargrad()
            (g1 * g1).sum().backward(create_graph=True)
            g2x, g2g = vs[0].grad, vs[1].grad
            for v in vs:
                v.cleargrad()
            ((g2x * S).sum() + (g2g * g2g).sum()).backward()
        out.append([v.grad.data for v in vs[:2]] + [g2x.data, g2g.data])
    for a, c in zip(*out):
        assert np.abs(a).max() > 1e-3
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- label smoothing
def test_label_smoothing_value_and_gradients():
    x = R.standard_normal((2, 3, 5))
    t = np.array([[1, 0, 4], [2, -1, 3]])
    e = 0.1
    logp = F.log_softmax(x).data
    keep = t != -1
    tt = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, tt[..., None], -1)[..., 0]
    want = -(((1 - e) * picked + e * logp.mean(-1)) * keep).sum() / keep.sum()
    np.testing.assert_allclose(F.softmax_cross_entropy(x, t, label_smoothing=e).data, want)
    np.testing.assert_allclose(F.softmax_cross_entropy(x, t, label_smoothing=0.0).data,
                               -(picked * keep).sum() / keep.sum())
    ok(ta.gradcheck(lambda a: F.softmax_cross_entropy(a, t, label_smoothing=e), x))
    ok(ta.gradgradcheck(lambda a: F.softmax_cross_entropy(a, t, label_smoothing=e), x))
    with pytest.raises(ta.OpError, match=r"label_smoothing must be in \[0, 1\), got 1.0"):
        F.softmax_cross_entropy(x, t, label_smoothing=1.0)


# ----------------------------------------------------------------------------- schedules
def test_warmup_inverse_sqrt():
    s = WarmupInverseSqrt(1e-3, warmup=100)
    assert s(1) == pytest.approx(1e-5)
    assert s(50) == pytest.approx(5e-4)
    assert s(100) == pytest.approx(1e-3)
    assert s(400) == pytest.approx(5e-4)
    lrs = [s(k) for k in range(1, 1000)]
    assert max(lrs) == pytest.approx(1e-3) and int(np.argmax(lrs)) == 99


def test_warmup_cosine_and_make_schedule():
    s = WarmupCosine(1e-3, warmup=10, total_steps=110, min_lr=1e-5)
    assert s(5) == pytest.approx(5e-4)
    assert s(10) == pytest.approx(1e-3)
    assert s(60) == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))
    assert s(110) == pytest.approx(1e-5) and s(500) == pytest.approx(1e-5)
    assert make_schedule("constant", 1e-3) is None
    assert isinstance(make_schedule("cosine", 1e-3, 10, 100), WarmupCosine)
    opt = SGD(lr=1.0)
    assert make_schedule("inverse-sqrt", 2e-3, 4).apply(opt, 2) == pytest.approx(1e-3)
    assert opt.lr == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        make_schedule("linear", 1e-3)
    with pytest.raises(ValueError, match=r"total_steps \(more than warmup\) must be an integer "
                                         r"in \[11, inf\), got 5"):
        WarmupCosine(1e-3, 10, 5)
    with pytest.raises(ValueError, match=r"warmup must be an integer in \[1, inf\)"):
        WarmupInverseSqrt(1e-3, 0)
