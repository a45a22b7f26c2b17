"""Models: every option runs a step and generates; consistency; gradients; memorisation."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn_models import AttentionSeq2seq, PeekySeq2seq, Seq2seq, build_model
from tinygrad_attn.data import load_dataset
from tinygrad_attn.optim import Adam

V = 13
R = np.random.default_rng(3)


def batch(n=4, tin=6, tout=4):
    xs = R.integers(0, V, (n, tin))
    ts = R.integers(0, V, (n, tout + 1))
    ts[:, 0] = 1
    return xs, ts


CONFIGS = [
    dict(model="seq2seq"), dict(model="peeky"),
    *[dict(model="attention", bidirectional=b, attention_feed=f, num_layers=n)
      for b in (False, True) for f in ("affine", "lstm", "both") for n in (1, 2)],
]


def make(cfg, dtype=np.float32, hidden=8):
    c = dict(cfg, vocab_size=V, wordvec_size=5, hidden_size=hidden)
    return build_model(c, dtype=dtype)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_step_and_generate_shapes(cfg):
    ta.seed(0)
    m = make(cfg)
    xs, ts = batch()
    loss = m(xs, ts)
    assert loss.shape == () and loss.dtype == np.float32
    m.cleargrads()
    loss.backward()
    missing = [n for n, p in m.named_params() if p.grad is None]
    assert not missing, f"parameters without gradient: {missing}"
    Adam(m).update()
    out = m.generate(xs, 1, 7)
    assert out.shape == (4, 7) and out.dtype == np.int64
    if cfg["model"] == "attention":
        assert m.attention_weights.shape == (4, 7, 6)
        np.testing.assert_allclose(m.attention_weights.sum(-1), 1.0, rtol=1e-5)
    rebuilt = build_model(m.config)
    assert [n for n, _ in rebuilt.named_params()] == [n for n, _ in m.named_params()]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_generate_agrees_with_teacher_forced_forward(cfg):
    """Greedy outputs fed back as teacher inputs must reproduce themselves as argmaxes:
    the step-by-step decoder and the batched training path compute the same function."""
    ta.seed(1)
    m = make(cfg, dtype=np.float64)
    xs, _ = batch(n=5)
    gen = m.generate(xs, 1, 6)
    w_gen = m.attention_weights
    dec_in = np.concatenate([np.ones((5, 1), np.int64), gen[:, :-1]], axis=1)
    with ta.no_grad():
        logits = m.logits(xs, dec_in)
    np.testing.assert_array_equal(logits.data.argmax(-1), gen)
    if w_gen is not None:
        np.testing.assert_allclose(m.attention_weights, w_gen, rtol=1e-9)


@pytest.mark.parametrize("cfg", [CONFIGS[0], CONFIGS[1], dict(model="attention"),
                                 dict(model="attention", bidirectional=True, attention_feed="both",
                                      num_layers=2)], ids=["seq2seq", "peeky", "attention", "attention-full"])
def test_model_gradcheck_float64(cfg):
    ta.seed(2)
    m = make(cfg, dtype=np.float64, hidden=4)
    xs, ts = batch(n=2, tin=4, tout=3)
    res = ta.gradcheck(lambda: m(xs, ts), params=dict(m.named_params()), max_elements=12)
    assert res.passed, res.report()


def test_bad_input_errors():
    m = AttentionSeq2seq(V, 4, 8)
    with pytest.raises(ta.OpError, match="ids outside"):
        m(np.full((2, 3), V), np.ones((2, 3), np.int64))
    with pytest.raises(ta.OpError, match="integer ids"):
        m(np.zeros((2, 3)), np.ones((2, 3), np.int64))
    with pytest.raises(ta.OpError, match="ts must be"):
        m(np.zeros((2, 3), np.int64), np.ones((2, 1), np.int64))
    with pytest.raises(ValueError, match="attention_feed"):
        AttentionSeq2seq(V, attention_feed="nowhere")
    with pytest.raises(ValueError, match="even hidden_size"):
        AttentionSeq2seq(V, hidden_size=7, bidirectional=True)
    with pytest.raises(ValueError, match="unknown model"):
        build_model({"model": "no-such-model"})


def test_tiny_attention_model_memorises_small_set():
    """From chance to ~100% exact match on 32 date pairs in a few seconds."""
    data = load_dataset("date", samples=80, seed=5, val_fraction=0.2, reverse_input=True)
    x, t = data.x_train[:32], data.t_train[:32]
    ta.seed(0)
    m = AttentionSeq2seq(len(data.vocab), 16, 64)
    opt = Adam(m, lr=0.02)
    from tinygrad_attn.training import evaluate

    start = evaluate(m, x, t)
    for step in range(300):
        loss = m(x, t)
        m.cleargrads()
        loss.backward()
        opt.update()
    end = evaluate(m, x, t)
    assert start < 0.05
    assert end >= 0.95, f"accuracy after training {end}"


def _sequence_logprob(m, xs, seqs):
    """Total log-probability of each answer in ``seqs`` (N, L) under teacher forcing."""
    dec_in = np.concatenate([np.ones((len(seqs), 1), np.int64), seqs[:, :-1]], axis=1)
    with ta.no_grad():
        logp = ta.functions.log_softmax(m.logits(xs, dec_in)).data
    return np.take_along_axis(logp, seqs[..., None], axis=-1)[..., 0].sum(axis=1)


@pytest.mark.parametrize("cfg", [CONFIGS[0], CONFIGS[1], dict(model="attention"),
                                 dict(model="attention", bidirectional=True, attention_feed="both",
                                      num_layers=2)], ids=["seq2seq", "peeky", "attention", "attention-full"])
def test_beam_search(cfg):
    ta.seed(4)
    m = make(cfg, dtype=np.float64)
    xs, _ = batch(n=3)
    greedy = m.generate(xs, 1, 3)
    ids1, lp1 = m.beam_search(xs, 1, 3, beam_width=1)
    np.testing.assert_array_equal(ids1, greedy)  # width 1 is greedy
    np.testing.assert_allclose(lp1, _sequence_logprob(m, xs, greedy), rtol=1e-9)
    # width V over 2 steps keeps every prefix: the result is the exact best pair
    ids, lp = m.beam_search(xs, 1, 2, beam_width=V)
    pairs = np.array([(a, b) for a in range(V) for b in range(V)])
    for n in range(3):
        all_lp = _sequence_logprob(m, np.repeat(xs[n:n + 1], len(pairs), 0), pairs)
        assert lp[n] == pytest.approx(all_lp.max(), rel=1e-9)
        np.testing.assert_array_equal(ids[n], pairs[all_lp.argmax()])
    if cfg["model"] == "attention":
        ids, lp = m.beam_search(xs, 1, 4, beam_width=3)
        assert m.attention_weights.shape == (3, 4, 6)
        # the kept weights are those of the winning answer
        dec_in = np.concatenate([np.ones((3, 1), np.int64), ids[:, :-1]], axis=1)
        w_beam = m.attention_weights
        with ta.no_grad():
            m.logits(xs, dec_in)
        np.testing.assert_allclose(w_beam, m.attention_weights, rtol=1e-9)
    with pytest.raises(ValueError, match="beam_width"):
        m.beam_search(xs, 1, 3, beam_width=0)
