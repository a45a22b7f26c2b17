"""Seq2seq, PeekySeq2seq and AttentionSeq2seq (compositions of layers; no hand-written backward)."""
from __future__ import annotations

import numpy as np

from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.backend import as_device, as_numpy, device_of, get_array_module
from tinygrad_attn.core import OpError, Variable, name_scope, no_grad, test_mode
from tinygrad_attn.registry import ModelSpec, Option, register_model

__all__ = ["Seq2seqBase", "Seq2seq", "PeekySeq2seq", "AttentionSeq2seq", "SPECS"]


class Seq2seqBase(L.Layer):
    """Shared interface: ``loss = model(xs, ts)``, ``generate``, ``config``, device handling.

    ``xs`` (N, T_in) are input ids; ``ts`` (N, 1 + T_out) are the start id followed by the
    answer ids: the decoder reads ``ts[:, :-1]`` and is trained to predict ``ts[:, 1:]``.
    """

    kind = ""

    def __init__(self, vocab_size, wordvec_size, hidden_size, dtype, embed_std=1.0):
        super().__init__()
        if not embed_std > 0:
            raise ValueError(f"{type(self).__name__}: embed_std must be positive, got {embed_std!r}")
        self.embed_std = float(embed_std)
        for name, v in (("vocab_size", vocab_size), ("wordvec_size", wordvec_size),
                        ("hidden_size", hidden_size)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive integer, got {v!r}")
        self.vocab_size, self.wordvec_size, self.hidden_size = vocab_size, wordvec_size, hidden_size
        self.dtype = np.dtype(dtype)
        self._attn = None

    @property
    def config(self) -> dict:
        """JSON-serialisable architecture description (see :func:`build_model`)."""
        return {"model": self.kind, "vocab_size": int(self.vocab_size),
                "wordvec_size": int(self.wordvec_size), "hidden_size": int(self.hidden_size),
                "embed_std": self.embed_std}

    def _ids(self, a, name):
        """Integer ids on the model's device, checked against the vocabulary."""
        if isinstance(a, Variable):
            a = a.data
        if not hasattr(a, "dtype"):
            a = np.asarray(a)
        if a.ndim != 2 or a.dtype.kind not in "iu":
            raise OpError(f"{type(self).__name__}: {name} must be integer ids of shape (N, T), "
                          f"got {getattr(a, 'dtype', type(a))} {a.shape}")
        dev = self.device
        if device_of(a) != dev:
            a = as_device(a, dev)
        if a.size and (int(a.min()) < 0 or int(a.max()) >= self.vocab_size):
            raise OpError(f"{type(self).__name__}: {name} holds ids outside [0, {self.vocab_size})")
        return a

    def forward(self, xs, ts):
        xs = self._ids(xs, "xs")
        ts = self._ids(ts, "ts")
        if ts.shape[1] < 2 or ts.shape[0] != xs.shape[0]:
            raise OpError(f"{type(self).__name__}: ts must be (N, 1 + T_out) with N = {xs.shape[0]}, "
                          f"got {ts.shape}")
        logits = self.logits(xs, ts[:, :-1])
        with name_scope("loss"):
            return F.softmax_cross_entropy(logits, ts[:, 1:])

    def logits(self, xs, dec_in):
        """Scores (N, T_out, V) for decoder inputs ``dec_in`` (teacher forcing)."""
        raise NotImplementedError

    def generate(self, xs, start_id, max_len):
        """Greedy decoding of a batch.

        Args:
            xs: (N, T_in) input ids (host or device array).
            start_id: the id the decoder starts from.
            max_len: how many ids to produce.

        Returns:
            A host ``int64`` array (N, max_len).
        """
        xs = self._ids(xs, "xs")
        if max_len <= 0:
            raise ValueError(f"generate: max_len must be positive, got {max_len}")
        with no_grad(), test_mode():
            xp = get_array_module(xs)
            state = self._decode_start(xs)
            ids = xp.full((xs.shape[0],), int(start_id), dtype=xs.dtype)
            out_ids, weights = [], []
            for _ in range(int(max_len)):
                score, state, w = self._decode_step(ids, state)
                ids = score.data.argmax(axis=-1).astype(xs.dtype)
                out_ids.append(ids)
                weights.append(w)
            self._attn = None if weights[0] is None else xp.stack(weights, axis=1)
            return as_numpy(xp.stack(out_ids, axis=1)).astype(np.int64)

    def beam_search(self, xs, start_id, max_len, beam_width=4):
        """Beam-search decoding of a batch: keep the ``beam_width`` best partial answers.

        Every answer has exactly ``max_len`` ids (the tasks here have fixed-length answers,
        so there is no end symbol); the answer with the highest total log-probability wins.
        ``beam_width=1`` is greedy decoding.

        Args:
            xs: (N, T_in) input ids.
            start_id: the id the decoder starts from.
            max_len: how many ids to produce.
            beam_width: beams per input (>= 1).

        Returns:
            (ids, log_probs): a host ``int64`` array (N, max_len) and the winning answers'
            total log-probabilities (N,). For attention models :attr:`attention_weights`
            then holds the winners' weights.
        """
        xs = self._ids(xs, "xs")
        if max_len <= 0 or beam_width < 1:
            raise ValueError(f"beam_search: max_len and beam_width must be positive, got "
                             f"{max_len} and {beam_width}")
        B = int(beam_width)
        N = xs.shape[0]
        xp = get_array_module(xs)
        with no_grad(), test_mode():
            rows = xp.repeat(xp.arange(N), B)                   # input n -> rows n*B .. n*B+B-1
            state = self._decode_start(xs[rows])                 # every beam of input n starts alike
            ids = xp.full((N * B,), int(start_id), dtype=xs.dtype)
            score = xp.zeros((N, B), dtype=np.float64)
            score[:, 1:] = -np.inf                               # all beams start identical
            hist = xp.zeros((N * B, 0), dtype=xs.dtype)
            whist = None
            for _ in range(int(max_len)):
                logits, state, w = self._decode_step(ids, state)
                logp = F.log_softmax(logits).data.astype(np.float64)      # (N*B, V)
                V = logp.shape[1]
                total = (score.reshape(N * B, 1) + logp).reshape(N, B * V)
                best = xp.argsort(-total, axis=1)[:, :B]                  # (N, B)
                score = xp.take_along_axis(total, best, axis=1)
                beam, tok = best // V, best % V
                src = (xp.arange(N).reshape(N, 1) * B + beam).reshape(-1)  # parent rows
                state = _take_rows(state, N * B, src)
                ids = tok.reshape(-1).astype(xs.dtype)
                hist = xp.concatenate([hist[src], ids.reshape(-1, 1)], axis=1)
                if w is not None:
                    w = w[src].reshape(N * B, 1, -1)
                    whist = w if whist is None else xp.concatenate([whist[src], w], axis=1)
            win = xp.argmax(score, axis=1)
            pick = xp.arange(N) * B + win
            self._attn = None if whist is None else whist[pick]
            return (as_numpy(hist[pick]).astype(np.int64),
                    as_numpy(xp.take_along_axis(score, win.reshape(N, 1), axis=1)).reshape(N))

    def _decode_start(self, xs):
        """Encoder pass for decoding: returns the decoder's starting state (a nest of Variables)."""
        raise NotImplementedError

    def _decode_step(self, ids, state):
        """One decoder step from the previous ids (N,): returns (scores (N, V), state, weights or None)."""
        raise NotImplementedError

    @property
    def attention_weights(self):
        """Attention weights of the last forward/generate, host array (N, T_out, T_in), or None."""
        return None if self._attn is None else as_numpy(self._attn)


class Seq2seq(Seq2seqBase):
    """The baseline: Embedding + LSTM encoder; its last hidden state initialises the decoder.

    Args:
        vocab_size: V. wordvec_size: embedding width D. hidden_size: H.
        embed_std: standard deviation of the embeddings' initialisation (the book: 0.01).
    """

    kind = "seq2seq"

    def __init__(self, vocab_size, wordvec_size=16, hidden_size=128, embed_std=1.0,
                 dtype=np.float32, rng=None):
        super().__init__(vocab_size, wordvec_size, hidden_size, dtype, embed_std)
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.enc_embed = L.Embedding(V, D, std=self.embed_std, dtype=dtype, rng=rng)
        self.encoder = L.LSTM(D, H, dtype=dtype, rng=rng)
        self.dec_embed = L.Embedding(V, D, std=self.embed_std, dtype=dtype, rng=rng)
        self.decoder = L.LSTM(self._dec_in(D, H), H, dtype=dtype, rng=rng)
        self.out = L.Linear(self._out_in(H), V, dtype=dtype, rng=rng)

    def _dec_in(self, D, H):
        return D

    def _out_in(self, H):
        return H

    def encode(self, xs):
        """Run the encoder; returns its final hidden state h (N, H)."""
        self.encoder(self.enc_embed(xs))
        return self.encoder.h

    def logits(self, xs, dec_in):
        h = self.encode(xs)
        emb = self.dec_embed(dec_in)
        hs = self.decoder(self._peek_in(emb, h), h0=h)
        return self.out(self._peek_out(hs, h))

    def _peek_in(self, emb, h):
        return emb

    def _peek_out(self, hs, h):
        return hs

    def _decode_start(self, xs):
        h_enc = self.encode(xs)
        return (h_enc, h_enc, None)

    def _decode_step(self, ids, state):
        h_enc, h, c = state
        N = ids.shape[0]
        emb = self.dec_embed(ids.reshape(N, 1))                  # (N, 1, D)
        x = self._peek_in(emb, h_enc)[:, 0, :]
        h, c = self.decoder.step(F.linear(x, self.decoder.Wx, self.decoder.b), h, c)
        score = self.out(self._peek_out(F.reshape(h, (N, 1, -1)), h_enc))
        return F.reshape(score, (N, -1)), (h_enc, h, c), None


class PeekySeq2seq(Seq2seq):
    """Seq2seq whose decoder "peeks": the encoder state h joins every decoder input and the output layer."""

    kind = "peeky"

    def _dec_in(self, D, H):
        return D + H

    def _out_in(self, H):
        return 2 * H

    def _repeat(self, h, T):
        N, H = h.shape
        return F.broadcast_to(F.reshape(h, (N, 1, H)), (N, T, H))

    def _peek_in(self, emb, h):
        return F.concat([emb, self._repeat(h, emb.shape[1])], axis=-1)

    def _peek_out(self, hs, h):
        return F.concat([hs, self._repeat(h, hs.shape[1])], axis=-1)


ATTENTION_FEEDS = ("affine", "lstm", "both")


class AttentionSeq2seq(Seq2seqBase):
    """Attention seq2seq: the decoder attends to all encoder hidden states at every step.

    Args:
        vocab_size: V. wordvec_size: embedding width D. hidden_size: H (decoder width).
        bidirectional: the encoder's first layer is a bidirectional LSTM with H/2 units per
            direction (so hs stays (N, T, H)); the decoder starts from both final states
            concatenated.
        attention_feed: where the context vector goes —
            ``"affine"`` (the book: ``[c_t; h_t]`` into the output Affine layer; all decoder
            steps attend at once with batched matmuls),
            ``"lstm"`` (``c_{t-1}`` joins the next step's LSTM input; the Affine layer sees h_t),
            ``"both"`` (Luong-style input feeding: both of the above).
        num_layers: LSTM layers in encoder and decoder; from the second layer on each layer's
            input is added to its output (skip connections, as in GNMT).
        dropout: dropout between stacked layers (0 = none).
        embed_std: standard deviation of the embeddings' normal initialisation. The book uses
            0.01; the default 1.0 (PyTorch's) makes the encoder states depend on the input from
            the first step, and on the date task it changes validation accuracy after one
            epoch from 0 % to about 99 % (docs/results.md).

    After a forward pass or ``generate``, :attr:`attention_weights` is (N, T_out, T_in).
    """

    kind = "attention"

    def __init__(self, vocab_size, wordvec_size=16, hidden_size=256, bidirectional=False,
                 attention_feed="affine", num_layers=1, dropout=0.0, embed_std=1.0,
                 dtype=np.float32, rng=None):
        super().__init__(vocab_size, wordvec_size, hidden_size, dtype, embed_std)
        if attention_feed not in ATTENTION_FEEDS:
            raise ValueError(f"AttentionSeq2seq: attention_feed must be one of {ATTENTION_FEEDS}, "
                             f"got {attention_feed!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"AttentionSeq2seq: num_layers must be an integer >= 1, got {num_layers!r}")
        if bidirectional and hidden_size % 2:
            raise ValueError(f"AttentionSeq2seq: bidirectional needs an even hidden_size, got {hidden_size}")
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.bidirectional = bool(bidirectional)
        self.attention_feed = attention_feed
        self.num_layers = num_layers
        self.dropout = float(dropout)
        kw = dict(dtype=dtype, rng=rng)
        self.enc_embed = L.Embedding(V, D, std=self.embed_std, **kw)
        first = (L.Bidirectional(L.LSTM(D, H // 2, **kw), L.LSTM(D, H // 2, **kw))
                 if bidirectional else L.LSTM(D, H, **kw))
        self.encoder = [first] + [L.LSTM(H, H, **kw) for _ in range(num_layers - 1)]
        self.dec_embed = L.Embedding(V, D, std=self.embed_std, **kw)
        feed_lstm = attention_feed in ("lstm", "both")
        self.decoder = [L.LSTM(D + (H if feed_lstm else 0), H, **kw)] + \
            [L.LSTM(H, H, **kw) for _ in range(num_layers - 1)]
        self.attention = L.TimeAttention()
        self.step_attention = L.Attention()
        self.out = L.Linear(H if attention_feed == "lstm" else 2 * H, V, **kw)

    @property
    def config(self):
        c = super().config
        c.update(bidirectional=self.bidirectional, attention_feed=self.attention_feed,
                 num_layers=self.num_layers, dropout=self.dropout)
        return c

    # --- encoder
    def encode(self, xs):
        """Encoder: ids (N, T_in) -> all hidden states hs (N, T_in, H) and final h per layer."""
        x = self.enc_embed(xs)
        finals = []
        for k, layer in enumerate(self.encoder):
            inp = x
            if k > 0 and self.dropout:
                inp = F.dropout(inp, self.dropout)
            y = layer(inp)
            x = y + inp if k > 0 else y  # skip connection from the second layer on
            finals.append(layer.h)
        return x, finals

    # --- decoder
    def logits(self, xs, dec_in):
        hs_enc, finals = self.encode(xs)
        emb = self.dec_embed(dec_in)
        if self.attention_feed == "affine":
            hs = emb
            for k, layer in enumerate(self.decoder):
                inp = hs
                if k > 0 and self.dropout:
                    inp = F.dropout(inp, self.dropout)
                y = layer(inp, h0=finals[k])
                hs = y + inp if k > 0 else y
            ctx = self.attention(hs_enc, hs)              # all decoder steps at once
            self._attn = self.attention.weights
            return self.out(F.concat([ctx, hs], axis=-1))
        outs, weights = self._decode_steps(hs_enc, finals, emb)
        self._attn = get_array_module(weights[0]).stack(weights, axis=1)
        return self.out(F.stack(outs, axis=1))

    def _decode_steps(self, hs_enc, finals, emb):
        """Step-by-step decoding with the context fed into the next LSTM input."""
        first = self.decoder[0]
        D = self.wordvec_size
        T = emb.shape[1]
        Wx_emb, Wx_ctx = F.split(first.Wx, [D], axis=0)
        steps = F.unstack(F.linear(emb, Wx_emb, first.b), axis=1)
        states = [(finals[k], None) for k in range(len(self.decoder))]
        ctx = None
        outs, weights = [], []
        for t in range(T):
            with name_scope(f"t={t}"):
                out, ctx, states = self._step(steps[t], ctx, Wx_ctx, states, hs_enc)
            outs.append(out)
            weights.append(self.step_attention.weights)
        return outs, weights

    def _step(self, a, ctx, Wx_ctx, states, hs_enc):
        if ctx is not None:
            a = F.linear(ctx, Wx_ctx, a)
        new = []
        h, c = self.decoder[0].step(a, *states[0])
        new.append((h, c))
        x = h
        for k in range(1, len(self.decoder)):
            layer = self.decoder[k]
            inp = F.dropout(x, self.dropout) if self.dropout else x
            h, c = layer.step(F.linear(inp, layer.Wx, layer.b), *states[k])
            new.append((h, c))
            x = h + inp
        ctx = self.step_attention(hs_enc, x)
        out = x if self.attention_feed == "lstm" else F.concat([ctx, x], axis=-1)
        return out, ctx, new

    def _decode_start(self, xs):
        hs_enc, finals = self.encode(xs)
        return (hs_enc, None, [(finals[k], None) for k in range(len(self.decoder))])

    def _decode_step(self, ids, state):
        hs_enc, ctx, states = state
        first = self.decoder[0]
        if self.attention_feed in ("lstm", "both"):
            Wx_emb, Wx_ctx = F.split(first.Wx, [self.wordvec_size], axis=0)
        else:
            Wx_emb, Wx_ctx = first.Wx, None
        a = F.linear(self.dec_embed(ids), Wx_emb, first.b)
        out, ctx, states = self._step(a, ctx if Wx_ctx is not None else None, Wx_ctx, states, hs_enc)
        return self.out(out), (hs_enc, ctx, states), self.step_attention.weights


def _take_rows(state, n, rows):
    """Select batch rows ``rows`` of every array/Variable with ``n`` rows in a nested state."""
    if state is None:
        return None
    if isinstance(state, Variable):
        return Variable(state.data[rows]) if state.shape and state.shape[0] == n else state
    if isinstance(state, (tuple, list)):
        return type(state)(_take_rows(v, n, rows) for v in state)
    return state


def _common_options(hidden=128):
    """Command-line options every seq2seq model of the chapter takes."""
    return (Option("wordvec", int, 16, "embedding width D", config="wordvec_size", low=1, high=4096),
            Option("hidden", int, hidden, "hidden width H", config="hidden_size", low=1, high=8192),
            Option("embed-std", float, 1.0, "std of the embeddings' initialisation (the book: "
                   "0.01; 1.0 converges much faster)", config="embed_std", low=1e-8, high=100.0))


_TINY = {"wordvec_size": 4, "hidden_size": 6}

SPECS = (
    ModelSpec(Seq2seq.kind, Seq2seq, "text", _common_options(256),
              "the baseline: the encoder's last state initialises the decoder", tiny=_TINY),
    ModelSpec(PeekySeq2seq.kind, PeekySeq2seq, "text", _common_options(256),
              "seq2seq whose decoder sees the encoder's state at every step", tiny=_TINY),
    ModelSpec(AttentionSeq2seq.kind, AttentionSeq2seq, "text", _common_options(256) + (
        Option("bidirectional", bool, False, "bidirectional encoder"),
        Option("attention-feed", str, "affine", "where the context vector goes",
               choices=ATTENTION_FEEDS),
        Option("layers", int, 1, "stacked LSTM layers with skip connections",
               config="num_layers", low=1, high=64),
        Option("dropout", float, 0.0, "dropout between stacked layers", low=0.0, high=0.99)),
        "the chapter's attention seq2seq (and its GNMT-style variants)", tiny=_TINY,
        variants={"bi": {"bidirectional": True}, "lstm-feed": {"attention_feed": "lstm"},
                  "deep": {"num_layers": 2, "attention_feed": "both", "dropout": 0.2}}),
)
for _spec in SPECS:
    register_model(_spec)
