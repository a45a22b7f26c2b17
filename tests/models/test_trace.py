"""The models' trace(): the same decoding as generate/predict, plus what each step computed."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.training.registry import get_spec, model_names
from tinygrad_attn_models import AttentionSeq2seq, NTMModel, Seq2seq, TransformerSeq2seq

V = 11


def _xs():
    xs = np.random.default_rng(3).integers(1, V, (3, 7))
    xs[0, :3] = 0                       # a padded row (pad id 0 on the left)
    xs[1, 5:] = 0                       # and one padded on the right
    return xs


@pytest.mark.parametrize("kw", [
    {}, {"bidirectional": True}, {"score": "additive", "mask_padding": True},
    {"score": "general", "attention_feed": "both", "mask_padding": True, "mask_scope": "run"},
    {"score": "scaled", "attention_feed": "lstm", "num_layers": 2},
])
def test_attention_trace_matches_generate_and_explains_the_weights(kw):
    ta.seed(0)
    m = AttentionSeq2seq(V, 4, 6, **kw)
    xs = _xs()
    ids = m.generate(xs, 1, 5)
    w = m.attention_weights
    tr = m.trace(xs, 1, 5)
    assert np.array_equal(tr["ids"], ids) and np.array_equal(tr["weights"], w)
    assert tr["scores"].shape == w.shape and tr["context"].shape == (3, 5, 6)
    assert tr["probs"].shape == (3, 5, V)
    # the chosen id is the most probable one, and the probabilities sum to 1
    assert np.array_equal(tr["probs"].argmax(-1), ids)
    np.testing.assert_allclose(tr["probs"].sum(-1), 1, rtol=1e-5)
    # the weights are the masked softmax of the recorded scores
    mask = tr["mask"]
    expect = F.masked_softmax(tr["scores"].astype(np.float64),
                              np.broadcast_to(mask[:, None, :], w.shape)).data
    np.testing.assert_allclose(w, expect, rtol=1e-5, atol=1e-6)
    assert (w[~np.broadcast_to(mask[:, None, :], w.shape)] == 0).all()
    if kw.get("mask_padding"):
        assert not mask.all()
    else:
        assert mask.all()


def test_context_is_the_weighted_sum_and_scores_match_teacher_forcing():
    ta.seed(0)
    m = AttentionSeq2seq(V, 4, 6)
    xs = _xs()
    tr = m.trace(xs, 1, 4)
    hs, _ = m.encode(xs)
    # c = sum_j a_j hs_j: the recorded context is the weighted sum of the encoder states
    np.testing.assert_allclose(tr["context"], np.einsum("ntj,njh->nth", tr["weights"], hs.data),
                               rtol=1e-5, atol=1e-6)
    # the step-by-step scores equal those of one teacher-forced pass over the same answer
    dec_in = np.concatenate([np.ones((3, 1), np.int64), tr["ids"][:, :-1]], axis=1)
    with ta.no_grad():
        m.logits(xs, dec_in)
    np.testing.assert_allclose(tr["scores"], m.attention.score_values, rtol=1e-4, atol=1e-5)
    # for the chapter's dot score that is s = hs . h (h: the decoder's states)
    hs_dec = m.decoder(m.dec_embed(dec_in), [(h, None) for h in m.encode(xs)[1]]).data
    np.testing.assert_allclose(tr["scores"], np.einsum("njh,nth->ntj", hs.data, hs_dec),
                               rtol=1e-4, atol=1e-5)


def test_transformer_trace_has_every_map_and_matches_generate():
    ta.seed(0)
    m = TransformerSeq2seq(V, d_model=8, num_heads=2, num_layers=2, d_ff=12, dropout=0.0, pad_id=0)
    xs = _xs()
    ids = m.generate(xs, 1, 4)
    allw = m.all_attention_weights
    tr = m.trace(xs, 1, 4)
    assert np.array_equal(tr["ids"], ids)
    for kind in ("enc", "dec", "cross"):
        assert len(tr["attention"][kind]) == 2
        for a, b in zip(tr["attention"][kind], allw[kind]):
            assert np.array_equal(a, b)
    np.testing.assert_array_equal(tr["weights"], tr["attention"]["cross"][-1].mean(axis=1))
    assert tr["mask"].shape == xs.shape and not tr["mask"][0, :3].any() and tr["mask"][2].all()


def test_models_without_attention_trace_only_ids_and_probs():
    ta.seed(0)
    m = Seq2seq(V, 4, 6)
    tr = m.trace(_xs(), 1, 3)
    assert tr["weights"] is None and set(tr) == {"ids", "weights", "probs"}
    assert Seq2seq.attention_maps == ()


def test_ntm_trace_matches_predict_and_its_stages_compose():
    ta.seed(0)
    m = NTMModel(5, 4, memory_rows=8, memory_width=3, hidden_size=6, read_heads=2, shift_range=1)
    xs = np.random.default_rng(0).random((2, 6, 5)).astype(np.float32)
    p = m.predict(xs)
    tr = m.trace(xs)
    assert np.array_equal(tr["outputs"], p)
    assert np.array_equal(tr["sharpened"][:, :, 0], tr["write"])
    assert np.array_equal(tr["sharpened"][:, :, 1:], tr["read"])
    assert tr["memory"].shape == (2, 6, 8, 3) and tr["shift"].shape == (2, 6, 3, 3)
    np.testing.assert_allclose(tr["shift"].sum(-1), 1, rtol=1e-5)
    assert (tr["gamma"] >= 1).all() and ((tr["gate"] >= 0) & (tr["gate"] <= 1)).all()
    # sharpening: w ** gamma renormalised, applied to the recorded shifted weighting
    s = (tr["shifted"].astype(np.float64) + 1e-12) ** tr["gamma"][..., None]
    np.testing.assert_allclose(tr["sharpened"], s / s.sum(-1, keepdims=True), rtol=1e-4, atol=1e-6)
    # the memory after the last step is the layer's final state
    np.testing.assert_array_equal(tr["memory"][:, -1], m.ntm.state.memory.data)


def test_registry_reports_the_maps():
    names = model_names()
    maps = {n: get_spec(n).maps for n in names}
    assert maps["attention"] == ("cross",) and maps["transformer"] == ("cross", "enc", "dec")
    assert maps["ntm"] == ("memory",) and maps["seq2seq"] == () and maps["peeky"] == ()
    assert maps["lstm-bits"] == ()
