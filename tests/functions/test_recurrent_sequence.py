"""Fused LSTM/GRU sequences against their per-step composed references (float64)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.functions.recurrent import (GRUSequence, GRUSequenceGrad, LSTMSequence,
                                               LSTMSequenceGrad)
from tests.devices import assert_on_device, device, to_dev, to_host  # noqa: F401  (fixture)

KINDS = {"lstm": (4, 2), "gru": (3, 1)}  # gates, states


def _draw(rng, kind, N, T, H, with_state, scale=1.5):
    gates, nstates = KINDS[kind]
    P = rng.standard_normal((N, T, gates * H)) * scale
    Wh = rng.standard_normal((H, gates * H)) / np.sqrt(H) * 1.5
    states = [rng.standard_normal((N, H)) if with_state[k] else None for k in range(nstates)]
    return P, Wh, states


def _run(kind, P, Wh, states, time_major=False):
    if kind == "lstm":
        return list(F.lstm_sequence(P, Wh, *states, time_major=time_major))
    return list(F.gru_sequence(P, Wh, *states, time_major=time_major))


def _creators(y):
    seen, stack, names = set(), [y.creator], []
    while stack:
        f = stack.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        names.append(type(f).__name__)
        stack.extend(x.creator for x in f.inputs)
    return names


def _state_flags(kind):
    return [(a, b) for a in (False, True) for b in (False, True)] if kind == "lstm" else [(a,) for a in (False, True)]


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), N=st.integers(1, 4), T=st.integers(1, 5),
       H=st.integers(1, 5), flags=st.tuples(st.booleans(), st.booleans()), seed=st.integers(0, 99))
def test_values_equal_the_composed_reference(kind, N, T, H, flags, seed):
    P, Wh, states = _draw(np.random.default_rng(seed), kind, N, T, H, flags)
    fused = _run(kind, P, Wh, states)
    with F.fused_ops(False):
        composed = _run(kind, P, Wh, states)
    assert {"LSTMSequence", "GRUSequence"} & set(_creators(fused[0]))
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(fused[1].data, fused[0].data[:, -1])  # h is hs[:, -1]
    tm = _run(kind, np.ascontiguousarray(P.transpose(1, 0, 2)), Wh, states, time_major=True)
    with F.fused_ops(False):
        tm_ref = _run(kind, P.transpose(1, 0, 2), Wh, states, time_major=True)
    np.testing.assert_array_equal(tm[0].data, fused[0].data.transpose(1, 0, 2))
    for a, b in zip(tm, tm_ref):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


def _grads(kind, P, Wh, states, weights, fused, create_graph=False):
    vs = [ta.Variable(P), ta.Variable(Wh)] + [None if s is None else ta.Variable(s) for s in states]
    with F.fused_ops(fused):
        outs = _run(kind, vs[0], vs[1], vs[2:])
        loss = sum((o * w).sum() for o, w in zip(outs, weights) if w is not None)
        loss.backward(create_graph=create_graph)
    return [None if v is None else v.grad.data for v in vs]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("used", ["all", "hs", "final"])
def test_gradients_equal_the_composed_reference_both_backward_paths(kind, used, rng):
    """The unrecorded one-pass backward and the recorded ops backward agree with the
    per-step composition, for every combination of given initial states."""
    N, T, H = 3, 4, 3
    for flags in _state_flags(kind):
        P, Wh, states = _draw(rng, kind, N, T, H, flags)
        nout = 1 + KINDS[kind][1]
        weights = [rng.standard_normal((N, T, H))] + [rng.standard_normal((N, H)) for _ in range(nout - 1)]
        if used == "hs":
            weights[1:] = [None] * (nout - 1)
        elif used == "final":
            weights[0] = None
        ref = _grads(kind, P, Wh, states, weights, fused=False)
        fast = _grads(kind, P, Wh, states, weights, fused=True)
        recorded = _grads(kind, P, Wh, states, weights, fused=True, create_graph=True)
        for a, b, c in zip(ref, fast, recorded):
            if a is None:
                assert b is None and c is None
                continue
            assert np.abs(a).max() > 1e-6
            np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-13)
            np.testing.assert_allclose(c, a, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gradcheck_and_gradgradcheck(kind, rng):
    N, T, H = 2, 3, 2
    for flags in _state_flags(kind):
        P, Wh, states = _draw(rng, kind, N, T, H, flags)
        given_states = [s for s in states if s is not None]
        R = [rng.standard_normal((N, T, H))] + [rng.standard_normal((N, H))] * KINDS[kind][1]

        def fn(P, Wh, *ss, flags=flags):
            it = iter(ss)
            full = [next(it) if f else None for f in flags]
            outs = _run(kind, P, Wh, full)
            return sum((o * r).sum() for o, r in zip(outs, R))

        assert ta.gradcheck(fn, P, Wh, *given_states)
        assert ta.gradgradcheck(fn, P, Wh, *given_states)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_second_and_third_order_equal_the_composed_reference(kind, rng):
    N, T, H = 2, 3, 2
    P, Wh, states = _draw(rng, kind, N, T, H, (True, True))
    R = rng.standard_normal((N, T, H))
    S = rng.standard_normal(P.shape)
    out = []
    for fused in (True, False):
        vs = [ta.Variable(P), ta.Variable(Wh)] + [ta.Variable(s) for s in states]
        with F.fused_ops(fused):
            outs = _run(kind, vs[0], vs[1], vs[2:])
            (outs[0] * R).sum().backward(create_graph=True)
            g1 = [v.grad for v in vs]
            for v in vs:
                v.grad = None
            (g1[0] * g1[0]).sum().backward(create_graph=True)  # second order
            g2 = [v.grad for v in vs]
            second = [g.data.copy() for g in g2]
            for v in vs:
                v.grad = None
            (g2[0] * S).sum().backward()                      # third order
            out.append((second, [v.grad.data for v in vs]))
    for order in (0, 1):
        for x, y in zip(out[0][order], out[1][order]):
            assert np.abs(x).max() > 1e-6
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)


def test_the_unrecorded_backward_is_one_node_and_the_recorded_one_is_ops(rng):
    P, Wh, (h0, c0) = _draw(rng, "lstm", 2, 3, 2, (True, True))
    p, w = ta.Variable(P.transpose(1, 0, 2)), ta.Variable(Wh)
    hs, h, c = F.lstm_sequence(p, w, h0, c0, time_major=True)
    assert isinstance(hs.creator, LSTMSequence) and h.creator is hs.creator
    seen = []
    orig = LSTMSequenceGrad.forward

    def spy(self, *a):
        seen.append(type(self).__name__)
        return orig(self, *a)

    LSTMSequenceGrad.forward = spy
    try:
        hs.sum().backward()
        assert seen == ["LSTMSequenceGrad"] and p.grad.creator is None
        p.grad = w.grad = None
        hs, _, _ = F.lstm_sequence(p, w, h0, c0, time_major=True)
        hs.sum().backward(create_graph=True)
        assert seen == ["LSTMSequenceGrad"]                   # not used when recorded
        assert p.grad.creator is not None and w.grad.creator is not None
    finally:
        LSTMSequenceGrad.forward = orig


def test_grad_nodes_refuse_a_recorded_backward(rng):
    P, Wh, _ = _draw(rng, "gru", 2, 2, 2, (False,))
    seq = GRUSequence(False)
    seq(P, Wh)  # P read as (T, N, 3H)
    grad = GRUSequenceGrad(seq, (False, True, False))
    gP, _ = grad(ta.Variable(P), ta.Variable(Wh), np.ones((2, 2, 2)))
    with pytest.raises(ta.OpError, match="unrecorded backward pass"):
        gP.sum().backward()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_float32_stays_float32_and_mixed_dtypes_promote(kind, rng):
    P, Wh, states = _draw(rng, kind, 2, 3, 2, (True, True))
    p = ta.Variable(P.astype(np.float32))
    w = ta.Variable(Wh.astype(np.float32))
    outs = _run(kind, p, w, [s.astype(np.float32) for s in states])
    sum(o.sum() for o in outs).backward()
    assert all(o.dtype == np.float32 for o in outs) and p.grad.dtype == w.grad.dtype == np.float32
    mixed = _run(kind, P, Wh, [s.astype(np.float32) for s in states])  # float32 state, float64 P
    assert mixed[0].dtype == np.float64 and "Sequence" not in type(mixed[0].creator).__name__
    with F.fused_ops(False):
        ref = _run(kind, P, Wh, [s.astype(np.float32) for s in states])
    np.testing.assert_allclose(mixed[0].data, ref[0].data, rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: F.lstm_sequence(np.zeros((2, 3, 10)), np.zeros((2, 8))),
     r"lstm_sequence: projected input must be \(N, T, 4H\), got shape \(2, 3, 10\)"),
    (lambda: F.lstm_sequence(np.zeros((3, 2, 8)), np.zeros((2, 8)), np.zeros((3, 2)), time_major=True),
     r"lstm_sequence: h0 must have shape \(2, 2\), got \(3, 2\)"),
    (lambda: F.gru_sequence(np.zeros((3, 2, 7)), np.zeros((2, 6)), time_major=True),
     r"gru_sequence: projected input must be \(T, N, 3H\), got shape \(3, 2, 7\)"),
    (lambda: F.lstm_sequence(np.zeros((2, 0, 8)), np.zeros((2, 8))),
     r"lstm_sequence: the sequence is empty"),
    (lambda: F.lstm_sequence(np.zeros((2, 3, 8)), np.zeros((3, 8))),
     r"lstm_sequence: Wh must have shape \(2, 8\) for a projected input of shape \(2, 3, 8\), got \(3, 8\)"),
    (lambda: F.lstm_sequence(np.zeros((2, 3, 8)), np.zeros((2, 8)), None, np.zeros((3, 2))),
     r"lstm_sequence: c0 must have shape \(2, 2\), got \(3, 2\)"),
    (lambda: F.gru_sequence(np.zeros((2, 3)), np.zeros((1, 3))),
     r"gru_sequence: projected input must be \(N, T, 3H\)"),
    (lambda: F.gru_sequence(np.zeros((2, 3, 6)), np.zeros((2, 6)), np.zeros((2, 3))),
     r"gru_sequence: h0 must have shape \(2, 2\), got \(2, 3\)"),
])
def test_bad_shapes_are_one_clear_error(call, match):
    with pytest.raises(ta.OpError, match=match):
        call()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_on_the_device(kind, device, rng):
    P, Wh, states = _draw(rng, kind, 2, 3, 2, (True, True))
    vs = [ta.Variable(to_dev(a, device)) for a in [P, Wh] + states]
    outs = _run(kind, vs[0], vs[1], vs[2:])
    sum(o.sum() for o in outs).backward()
    for v in outs + [v.grad for v in vs]:
        assert_on_device(v, device, "output or gradient")
    ref = _grads(kind, P, Wh, states, [np.ones((2, 3, 2))] + [np.ones((2, 2))] * KINDS[kind][1], False)
    for v, r in zip(vs, ref):
        np.testing.assert_allclose(to_host(v.grad), r, rtol=1e-11)


# ----------------------------------------------------------------------------- layers and models
def _layer_grads(make, xs, fused, call=None):
    layer = make()
    with F.fused_ops(fused):
        out = layer(xs) if call is None else call(layer, xs)
        loss = (out * np.cos(np.arange(out.size)).reshape(out.shape)).sum()
        layer.cleargrads()
        loss.backward()
    return float(loss.data), {k: p.grad.data.copy() for k, p in layer.named_params()}


LAYERS = {
    "lstm": lambda: L.LSTM(3, 4, dtype=np.float64, rng=np.random.default_rng(1)),
    "gru": lambda: L.GRU(3, 4, dtype=np.float64, rng=np.random.default_rng(1)),
    "bidirectional": lambda: L.Bidirectional(L.LSTM(3, 2, dtype=np.float64, rng=np.random.default_rng(1)),
                                             L.LSTM(3, 2, dtype=np.float64, rng=np.random.default_rng(2))),
    "stacked": lambda: L.StackedLSTM(3, [4, 4, 5], residual=True, dtype=np.float64,
                                     rng=np.random.default_rng(1)),
}


def _stateful_twice(layer, xs):
    """A stateful LSTM called twice: the second call starts from the first's final state."""
    layer.stateful = True
    a = layer(xs)
    return a + layer(xs[:, ::-1])


@pytest.mark.parametrize("name", sorted(LAYERS) + ["stateful"])
def test_layers_use_the_fused_sequence_and_match_the_composition(name, rng):
    xs = rng.standard_normal((2, 5, 3))
    make = LAYERS.get(name, LAYERS["lstm"])
    call = _stateful_twice if name == "stateful" else None
    layer = make()
    out = layer(xs) if call is None else call(layer, xs)
    names = _creators(out)
    assert "LSTMSequence" in names or "GRUSequence" in names
    assert "LSTMCell" not in names and "Sigmoid" not in names
    l1, g1 = _layer_grads(make, xs, True, call)
    l2, g2 = _layer_grads(make, xs, False, call)
    assert l1 == pytest.approx(l2, rel=1e-12)
    assert g1.keys() == g2.keys()
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-10, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("options", [{}, {"bidirectional": True}, {"num_layers": 2},
                                     {"attention_feed": "both", "num_layers": 2},
                                     {"embed_projection": True}])
def test_attention_model_loss_and_gradients_equal_the_composition(options):
    import tinygrad_attn_models as models

    rng = np.random.default_rng(3)
    xs = rng.integers(0, 11, (3, 6))
    ts = rng.integers(0, 11, (3, 5))
    out = []
    for fused in (True, False):
        model = models.AttentionSeq2seq(11, 4, 6, dtype=np.float64, rng=np.random.default_rng(0),
                                        **options)
        with F.fused_ops(fused):
            loss = model(xs, ts)
            model.cleargrads()
            loss.backward()
        out.append((float(loss.data), {k: p.grad.data for k, p in model.named_params()}))
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-12)
    for k, g in out[0][1].items():
        np.testing.assert_allclose(g, out[1][1][k], rtol=1e-9, atol=1e-12, err_msg=k)


def test_composed_sequences_keeps_the_cell_fused(rng):
    from tinygrad_attn.functions.recurrent import composed_sequences

    lstm = LAYERS["lstm"]()
    xs = rng.standard_normal((2, 4, 3))
    fused = lstm(xs)
    with composed_sequences():
        per_step = lstm(xs)
    names = _creators(per_step)
    assert "LSTMCell" in names and "LSTMSequence" not in names and "Sigmoid" not in names
    assert "LSTMSequence" in _creators(lstm(xs))   # the block restored the default
    np.testing.assert_allclose(per_step.data, fused.data, rtol=1e-12)
