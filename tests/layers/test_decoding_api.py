"""The layers' public one-step decoding API: LSTM.step_input / part_projections,
StackedLSTM.step (dropout and skip connections as in forward), bidirectional stacks."""
import numpy as np
import pytest

import tinygrad_attn as ta
import tinygrad_attn.seeding as tr
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.core import OpError

R = np.random.default_rng(11)
f64 = dict(dtype=np.float64)


class _RowPatternRng:
    """A stand-in Generator whose ``random(shape)`` depends only on the batch row and the
    feature (not on the time step), so one (N, T, H) draw equals T draws of (N, H)."""

    def random(self, shape):
        n = np.arange(shape[0]).reshape((-1,) + (1,) * (len(shape) - 1))
        f = np.arange(shape[-1])
        return ((7 * n + 3 * f) % 10) / 10.0 + np.zeros(shape)


def _run_steps(stack, xs, states=None):
    outs = []
    for t in range(xs.shape[1]):
        out, states = stack.step(ta.Variable(xs[:, t]), states)
        outs.append(out.data)
    return np.stack(outs, axis=1), states


@pytest.mark.parametrize("sizes", [[4, 4, 4], [4, 5, 5]])
def test_stacked_step_applies_the_same_dropout_as_forward(monkeypatch, sizes):
    """step-by-step == forward in train mode with dropout (would fail when step skips dropout)."""
    monkeypatch.setattr(tr, "get_rng", lambda xp=np: _RowPatternRng())
    ta.seed(0)
    st = L.StackedLSTM(3, sizes, dropout=0.5, **f64)
    xs = R.standard_normal((2, 5, 3))
    full = st(ta.Variable(xs)).data
    stepped, states = _run_steps(st, xs)
    np.testing.assert_allclose(stepped, full, rtol=1e-12)
    for (h, c), (h2, c2) in zip(states, st.states):
        np.testing.assert_allclose(h.data, h2.data, rtol=1e-12)
        np.testing.assert_allclose(c.data, c2.data, rtol=1e-12)
    with ta.test_mode():   # and dropout really acts: without it the result differs
        plain = st(ta.Variable(xs)).data
    assert not np.allclose(plain, full)


def test_stacked_step_dropout_draws_masks_in_train_mode_only():
    ta.seed(0)
    st = L.StackedLSTM(3, 4, num_layers=2, dropout=0.5, **f64)
    x = ta.Variable(R.standard_normal((64, 3)))
    a, _ = st.step(x, None)
    b, _ = st.step(x, None)
    assert not np.allclose(a.data, b.data)          # two different masks
    with ta.test_mode():
        c, _ = st.step(x, None)
        d, _ = st.step(x, None)
    np.testing.assert_array_equal(c.data, d.data)


def test_step_input_and_part_projections_match_the_whole_input():
    lstm = L.LSTM(5, 4, **f64)
    x = R.standard_normal((3, 5))
    h, c = R.standard_normal((3, 4)), R.standard_normal((3, 4))
    h1, c1 = lstm.step_input(ta.Variable(x), ta.Variable(h), ta.Variable(c))
    p_a, p_b = lstm.part_projections([2, 3])
    a = p_b(x[:, 2:], add=p_a(x[:, :2]))
    h2, c2 = lstm.step(a, ta.Variable(h), ta.Variable(c))
    np.testing.assert_allclose(h2.data, h1.data, rtol=1e-12)
    np.testing.assert_allclose(c2.data, c1.data, rtol=1e-12)
    hs = lstm(ta.Variable(x[:, None, :]), ta.Variable(h), ta.Variable(c))
    np.testing.assert_allclose(hs.data[:, 0], h1.data, rtol=1e-12)
    np.testing.assert_allclose(p_a(x[:, :2], add=p_b(x[:, 2:])).data, lstm.project(x).data, rtol=1e-12)


def test_part_projections_gradcheck():
    lstm = L.LSTM(5, 3, **f64)

    def f(x1, x2):
        p1, p2 = lstm.part_projections([2, 3])
        return p2(x2, add=p1(x1))
    res = ta.gradcheck(f, R.standard_normal((2, 4, 2)), R.standard_normal((2, 4, 3)),
                       params=dict(lstm.named_params()))
    assert res.passed, res.report()


def test_stacked_step_with_projected_input_and_gradcheck():
    st = L.StackedLSTM(5, [4, 6], dropout=0.0, **f64)
    x = R.standard_normal((2, 5))
    states = [(ta.Variable(R.standard_normal((2, 4))), None), (None, ta.Variable(R.standard_normal((2, 6))))]
    out1, _ = st.step(ta.Variable(x), states)
    out2, _ = st.step(None, states, projected=st.project(x))
    np.testing.assert_allclose(out2.data, out1.data, rtol=1e-12)

    def f(x):
        out, new = st.step(x, states)
        return out + F.sum(new[0][1]) + F.sum(new[1][0])
    res = ta.gradcheck(f, x, params=dict(st.named_params()))
    assert res.passed, res.report()


def test_bidirectional_stack():
    st = L.StackedLSTM(3, 4, num_layers=2, bidirectional=True, **f64)
    assert isinstance(st.layers[0], L.Bidirectional)
    xs = R.standard_normal((2, 5, 3))
    res = ta.gradcheck(lambda x: st(x) + F.sum(st.states[0][0]), xs, params=dict(st.named_params()))
    assert res.passed, res.report()
    assert st.states[0][0].shape == (2, 4)
    with pytest.raises(OpError, match="bidirectional"):
        st.step(ta.Variable(xs[:, 0]), None)
    with pytest.raises(ValueError, match="even width"):
        L.StackedLSTM(3, 5, bidirectional=True)


def test_bad_calls():
    lstm = L.LSTM(5, 4)
    with pytest.raises(OpError, match=r"sum to the input size 5"):
        lstm.part_projections([2, 2])
    with pytest.raises(OpError, match=r"step_input: expected x of shape \(N, 5\)"):
        lstm.step_input(ta.Variable(np.zeros((2, 4), np.float32)))
    st = L.StackedLSTM(5, 4)
    with pytest.raises(OpError, match="exactly one of x and projected"):
        st.step(None, None)


def test_project_embedding_equals_projecting_the_embeddings():
    emb = L.Embedding(7, 3, **f64)
    st = L.StackedLSTM(3, 4, num_layers=2, **f64)
    ids = np.array([[0, 6, 6, 2], [1, 0, 2, 2]])
    np.testing.assert_allclose(st.project_embedding(emb, ids).data, st.project(emb(ids)).data,
                               rtol=1e-12)


def test_the_chapter_models_use_public_layer_methods_only():
    """models/seq2seq.py never reads a sub-layer's weights (``self.decoder.Wx``,
    ``layer.b``...): a decoder step goes through the layers' public methods."""
    import ast
    import pathlib

    src = pathlib.Path(__file__).resolve().parents[2] / "models" / "seq2seq.py"
    weights = {"Wx", "Wh", "b", "W", "W_query", "W_key", "v"}
    bad = [f"line {n.lineno}: .{n.attr}" for n in ast.walk(ast.parse(src.read_text()))
           if isinstance(n, ast.Attribute) and n.attr in weights
           and not (isinstance(n.value, ast.Name) and n.value.id == "self")]
    assert not bad, bad
