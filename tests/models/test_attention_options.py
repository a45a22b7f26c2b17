"""AttentionSeq2seq's attention options: score variants, key-padding mask, the book's form;
config round trip through checkpoints; teacher forcing agrees with step-by-step decoding."""
import numpy as np
import pytest

import tinygrad_attn as ta
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_attn_models import AttentionSeq2seq, build_model, padding_positions
from tinygrad_attn.data import TextTask, Vocabulary
from tinygrad_attn.training import load_checkpoint, save_checkpoint

V, PAD = 13, 0
SCORES = ("dot", "scaled", "general", "additive")


def padded_batch(rng, n=5, tin=7, tout=4):
    xs = rng.integers(1, V, (n, tin))
    for i in range(n):                       # reversed input: padding comes first
        xs[i, : rng.integers(0, tin - 1)] = PAD
    ts = rng.integers(1, V, (n, tout + 1))
    ts[:, 0] = 1
    return xs, ts


def make(dtype=np.float64, **kw):
    return AttentionSeq2seq(V, 5, 6, dtype=dtype, **kw)


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("feed", ["affine", "both"])
@pytest.mark.parametrize("masked", [False, True])
def test_decoding_agrees_with_teacher_forcing_and_masks_padding(score, feed, masked):
    ta.seed(3)
    rng = np.random.default_rng(4)
    m = make(score=score, attention_feed=feed, mask_padding=masked)
    xs, ts = padded_batch(rng)
    loss = m(xs, ts)
    loss.backward()
    assert np.isfinite(float(loss.data))
    assert all(p.grad is not None for p in m.params())
    pad = np.broadcast_to((xs == PAD)[:, None, :], m.attention_weights.shape)
    assert np.all(m.attention_weights[pad] == 0) == masked
    gen = m.generate(xs, 1, 5)
    w_gen = m.attention_weights
    assert np.all(w_gen[np.broadcast_to((xs == PAD)[:, None, :], w_gen.shape)] == 0) == masked
    dec_in = np.concatenate([np.ones((5, 1), np.int64), gen[:, :-1]], axis=1)
    with ta.no_grad():
        logits = m.logits(xs, dec_in)
    np.testing.assert_array_equal(logits.data.argmax(-1), gen)
    np.testing.assert_allclose(m.attention_weights, w_gen, rtol=1e-9, atol=1e-15)
    ids, _ = m.beam_search(xs, 1, 5, beam_width=3)
    assert ids.shape == (5, 5)
    if masked:
        w = m.attention_weights
        assert np.all(w[np.broadcast_to((xs == PAD)[:, None, :], w.shape)] == 0)


def test_mask_makes_padding_content_irrelevant_to_attention():
    """With the mask the contexts do not depend on the encoder states at padding positions
    (their gradient through the attention is exactly zero); without it they do."""
    rng = np.random.default_rng(1)
    xs, _ = padded_batch(rng)
    h = ta.Variable(rng.standard_normal((5, 4, 6)))
    for masked in (True, False):
        ta.seed(0)
        m = make(mask_padding=masked)
        hs, _ = m.encode(xs)
        hv = ta.Variable(hs.data)
        ta.functions.sum(m.attention(hv, h, m.key_mask(xs))).backward()
        assert np.any(hv.grad.data[xs != PAD] != 0)
        assert np.all(hv.grad.data[xs == PAD] == 0) == masked


def test_model_gradcheck_with_every_option():
    ta.seed(2)
    m = AttentionSeq2seq(V, 3, 4, score="additive", mask_padding=True, attention_feed="both",
                         num_layers=2, dtype=np.float64)
    xs, ts = padded_batch(np.random.default_rng(2), n=2, tin=4, tout=3)
    res = ta.gradcheck(lambda: m(xs, ts), params=dict(m.named_params()), max_elements=8)
    assert res.passed, res.report()
    assert {"attention.W_query", "attention.W_key", "attention.v"} <= {e.name for e in res.entries}


@pytest.mark.parametrize("feed", ["affine", "lstm"])
def test_book_form_model_equals_matmul_form(feed):
    xs, ts = padded_batch(np.random.default_rng(6))
    out = []
    for form in ("matmul", "book"):
        ta.seed(8)
        m = make(score="general", mask_padding=True, attention_feed=feed, attention_form=form)
        loss = m(xs, ts)
        loss.backward()
        out.append((float(loss.data), {n: p.grad.data for n, p in m.named_params()},
                    m.generate(xs, 1, 4)))
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-12)
    for n, g in out[0][1].items():
        np.testing.assert_allclose(out[1][1][n], g, rtol=1e-9, atol=1e-13, err_msg=n)
    np.testing.assert_array_equal(out[0][2], out[1][2])


def test_config_round_trips_through_a_checkpoint(tmp_path):
    ta.seed(0)
    m = AttentionSeq2seq(V, 5, 6, score="general", mask_padding=True, pad_id=2, attention_form="book")
    c = m.config
    assert (c["score"], c["mask_padding"], c["pad_id"], c["attention_form"]) == ("general", True, 2, "book")
    assert c["mask_scope"] == "ids"
    vocab = Vocabulary.from_texts(["abcdefghijk"])
    assert len(vocab) == V
    save_checkpoint(tmp_path / "m.npz", m, TextTask(vocab, 5, 3))
    back, meta = load_checkpoint(tmp_path / "m.npz")
    assert back.config == c
    for (n, p), (n2, q) in zip(m.named_params(), back.named_params()):
        assert n == n2 and np.array_equal(p.data, q.data)
    assert "attention.W" in dict(back.named_params())
    old = {k: v for k, v in c.items()
           if k not in ("score", "mask_padding", "pad_id", "attention_form", "mask_scope")}
    d = build_model(old).config
    assert (d["score"], d["mask_padding"], d["pad_id"], d["attention_form"]) == ("dot", False, 0, "matmul")
    assert d["mask_scope"] == "ids"


def test_bad_options():
    with pytest.raises(ValueError, match="score must be one of"):
        make(score="cosine")
    with pytest.raises(ValueError, match=r"pad_id must be an id in \[0, 13\)"):
        make(pad_id=13)
    with pytest.raises(ValueError, match="form must be one of"):
        make(attention_form="loop")
    with pytest.raises(ValueError, match="mask_scope must be one of"):
        make(mask_scope="spaces")
    with pytest.raises(ValueError, match="scope must be one of"):
        padding_positions(np.zeros((1, 2), int), 0, "all")


def test_padding_positions_run_and_ids():
    ids = np.array([[0, 0, 5, 0, 7, 0],       # reversed input: padding first, a pad id inside
                    [3, 0, 4, 0, 0, 0],       # padding last
                    [0, 0, 0, 0, 0, 0],       # nothing but padding
                    [1, 2, 3, 4, 5, 6]])
    run = padding_positions(ids, 0)
    np.testing.assert_array_equal(run, [[1, 1, 0, 0, 0, 1], [0, 0, 0, 1, 1, 1],
                                        [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(padding_positions(ids, 0, "ids"), ids == 0)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=8), min_size=1, max_size=4)
       .filter(lambda r: len({len(x) for x in r}) == 1))
def test_padding_run_property(rows):
    ids = np.array(rows)
    run = padding_positions(ids, 0)
    assert not np.any(run & (ids != 0))                       # only pad ids are padding
    for r, m in zip(ids, run):
        text = np.flatnonzero(r != 0)
        if text.size:                                          # everything between the text's ends is text
            assert not m[text[0]:text[-1] + 1].any() and m[:text[0]].all() and m[text[-1] + 1:].all()
        else:
            assert m.all()


@pytest.mark.parametrize("feed", ["affine", "both"])
def test_run_scope_keeps_inner_pad_ids_visible(feed):
    ta.seed(4)
    m = make(mask_padding=True, mask_scope="run", attention_feed=feed)
    xs = np.array([[0, 0, 5, 0, 7, 3, 2], [0, 0, 0, 0, 0, 0, 0], [4, 0, 6, 6, 1, 2, 9]])
    ts = np.ones((3, 4), np.int64)
    loss = m(xs, ts)
    assert np.isfinite(float(loss.data))
    for w in (m.attention_weights, (m.generate(xs, 1, 3), m.attention_weights)[1]):
        assert np.all(w[0][:, :2] == 0) and np.all(w[0][:, 3] > 0)   # inner pad id still attended
        assert np.all(w[1] == 0)                                      # all padding: zeros, no NaN
        assert np.all(w[2][:, 1] > 0)
    assert m.config["mask_scope"] == "run"


@pytest.mark.parametrize("kind", ["seq2seq", "peeky", "attention"])
def test_book_initialisation_preset_draws_every_weight_as_the_book(kind, tmp_path):
    """init="book": embeddings std 0.01 and the output Affine std 1/sqrt(fan_in) (the book's
    chapter code), against the default's std 1.0 and Xavier; embed_std overrides either."""
    V_, D, H = 30, 16, 64
    ta.seed(0)
    book = build_model({"model": kind, "vocab_size": V_, "wordvec_size": D, "hidden_size": H,
                        "init": "book"})
    ta.seed(0)
    ours = build_model({"model": kind, "vocab_size": V_, "wordvec_size": D, "hidden_size": H})
    fan_in = book.out.W.shape[0]
    assert book.config["init"] == "book" and book.embed_std == 0.01
    assert ours.config["init"] == "default" and ours.embed_std == 1.0
    assert book.config["embed_std"] is None          # recorded as given: the preset's value
    assert np.std(book.enc_embed.W.data) == pytest.approx(0.01, rel=0.1)
    assert np.std(ours.enc_embed.W.data) == pytest.approx(1.0, rel=0.1)
    assert np.std(book.out.W.data) == pytest.approx(1 / np.sqrt(fan_in), rel=0.1)
    assert np.std(ours.out.W.data) == pytest.approx(np.sqrt(2 / (fan_in + V_)), rel=0.1)
    assert not np.any(book.out.b.data)
    # the LSTM weights are the book's in both presets (same draws from the same seed)
    for name in ("encoder", "decoder"):
        a, b = dict(getattr(book, name).named_params()), dict(getattr(ours, name).named_params())
        for k in a:
            assert np.std(a[k].data) == pytest.approx(np.std(b[k].data), rel=0.15), (name, k)
    over = build_model({"model": kind, "vocab_size": V_, "wordvec_size": D, "hidden_size": H,
                        "init": "book", "embed_std": 0.5})
    assert over.config["embed_std"] == 0.5 and over.embed_std == 0.5 and np.std(over.dec_embed.W.data) == pytest.approx(0.5, rel=0.1)
    path = tmp_path / "m.npz"
    vocab = Vocabulary.from_texts(["abcdefghijklmnopqrstuvwxyz0123456789"[:V_ - 2]])
    assert len(vocab) == V_
    save_checkpoint(path, book, TextTask(vocab, 5, 3))
    assert load_checkpoint(path)[0].config == book.config
    with pytest.raises(ValueError, match="init must be one of"):
        build_model({"model": kind, "vocab_size": V_, "init": "pytorch"})
    with pytest.raises(ValueError, match="embed_std must be a positive number"):
        build_model({"model": kind, "vocab_size": V_, "embed_std": 0.0})
