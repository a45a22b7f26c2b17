"""Seq2seq, PeekySeq2seq and AttentionSeq2seq (compositions of layers; no hand-written backward)."""
from __future__ import annotations

import re

import numpy as np

from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.backend import as_device, as_numpy, device_of, get_array_module
from tinygrad_attn.core import OpError, Variable, name_scope, no_grad, test_mode
from tinygrad_attn.functions.attention import ATTENTION_FORMS
from tinygrad_attn.training.registry import ModelSpec, Option, register_model

__all__ = ["INITS", "Seq2seqBase", "Seq2seq", "PeekySeq2seq", "AttentionSeq2seq", "padding_positions", "SPECS"]


INITS = ("default", "book")
"""Initialisation presets of the seq2seq models (the ``init`` argument)."""


class Seq2seqBase(L.Layer):
    """Shared interface: ``loss = model(xs, ts)``, ``generate``, ``config``, device handling.

    ``xs`` (N, T_in) are input ids; ``ts`` (N, 1 + T_out) are the start id followed by the
    answer ids: the decoder reads ``ts[:, :-1]`` and is trained to predict ``ts[:, 1:]``.

    Initialisation (``init``, ``embed_std``): the LSTM weights are always the book's
    (normal, std ``1/sqrt(fan_in)``; zero biases). ``init="default"`` draws the embeddings
    with std 1.0 (PyTorch's) and the output Affine layer Xavier-normal (std
    ``sqrt(2 / (fan_in + fan_out))``); ``init="book"`` draws every weight as the book's
    chapter code does: embeddings std 0.01 and the output Affine layer std ``1/sqrt(fan_in)``.
    ``embed_std`` (default: 1.0, or 0.01 with ``init="book"``) overrides the embeddings' std.
    """

    kind = ""
    attention_maps = ()
    """The attention maps :meth:`trace` returns (none for the models without attention):
    ``"cross"`` the decoder over the input at every step, ``"enc"`` / ``"dec"`` self-attention
    of the encoder / decoder (see :attr:`tinygrad_attn.training.registry.ModelSpec.maps`)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size, dtype, embed_std=None, init="default"):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"{type(self).__name__}: init must be one of {INITS}, got {init!r}")
        self.init = init
        if embed_std is None:
            embed_std = 0.01 if init == "book" else 1.0
        if isinstance(embed_std, bool) or not isinstance(embed_std, (int, float, np.integer, np.floating)) \
                or not 0 < embed_std < np.inf:
            raise ValueError(f"{type(self).__name__}: embed_std must be a positive number, got {embed_std!r}")
        self.embed_std = float(embed_std)
        self.out_init = "scaled" if init == "book" else "xavier"
        for name, v in (("vocab_size", vocab_size), ("wordvec_size", wordvec_size),
                        ("hidden_size", hidden_size)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive integer, got {v!r}")
        self.vocab_size, self.wordvec_size, self.hidden_size = vocab_size, wordvec_size, hidden_size
        self.dtype = np.dtype(dtype)
        self._attn = None

    def example_batch(self, rng, batch, seq_len, answer_len=None):
        """A random batch ``(xs, ts)`` for pictures and gradient checks: ``seq_len`` input ids
        and ``answer_len`` (default ``max(seq_len // 2, 2)``) answer ids after a start id."""
        steps = max(seq_len // 2, 2) if answer_len is None else int(answer_len)
        xs = rng.integers(0, self.vocab_size, size=(batch, seq_len))
        ts = rng.integers(0, self.vocab_size, size=(batch, steps + 1))
        return xs, ts

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

    def forward(self, xs, ts, label_smoothing=0.0):
        """Mean cross entropy of predicting ``ts[:, 1:]`` from ``xs`` and ``ts[:, :-1]``.

        Args:
            xs: (N, T_in) input ids. ts: (N, 1 + T_out) start id + answer ids.
            label_smoothing: see :func:`tinygrad_attn.functions.softmax_cross_entropy`.
        """
        xs = self._ids(xs, "xs")
        ts = self._ids(ts, "ts")
        if ts.shape[1] < 2 or ts.shape[0] != xs.shape[0]:
            raise OpError(f"{type(self).__name__}: ts must be (N, 1 + T_out) with N = {xs.shape[0]}, "
                          f"got {ts.shape}")
        logits = self.logits(xs, ts[:, :-1])
        with name_scope("loss"):
            return F.softmax_cross_entropy(logits, ts[:, 1:], label_smoothing=label_smoothing)

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
        return self._greedy(xs, start_id, max_len, "generate")

    def _greedy(self, xs, start_id, max_len, who, record=None):
        """The greedy decoding loop of :meth:`generate` and :meth:`trace`. With a dict
        ``record``, each step's probabilities and :meth:`_step_record` are appended to it."""
        xs = self._ids(xs, "xs")
        if max_len <= 0:
            raise ValueError(f"{who}: max_len must be positive, got {max_len}")
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
                if record is not None:
                    record.setdefault("probs", []).append(F.softmax(score, axis=-1).data)
                    for key, value in self._step_record(state).items():
                        record.setdefault(key, []).append(value)
            self._attn = None if weights[0] is None else xp.stack(weights, axis=1)
            return as_numpy(xp.stack(out_ids, axis=1)).astype(np.int64)

    def trace(self, xs, start_id, max_len):
        """Greedy decoding (as :meth:`generate`) that also returns what every step computed.

        Nothing is computed twice: the arrays are the ones the decoder's own forward pass
        made, collected step by step (the explorer, :func:`tinygrad_attn.viz.explore`, shows
        them).

        Args:
            xs: (N, T_in) input ids, as fed to the model (padded, reversed if it was trained so).
            start_id: the id the decoder starts from.
            max_len: how many ids to produce.

        Returns:
            A dict of host arrays: ``"ids"`` (N, T_out) the chosen ids (equal to
            :meth:`generate`'s), ``"probs"`` (N, T_out, V) the softmax of each step's scores
            over the vocabulary, ``"weights"`` (N, T_out, T_in) the attention weights (None
            for a model without attention), and what the model adds per step (see
            :meth:`_step_record`; for :class:`AttentionSeq2seq` ``"scores"`` and
            ``"context"``).
        """
        record = {}
        ids = self._greedy(xs, start_id, max_len, "trace", record)
        out = {"ids": ids, "weights": self.attention_weights}
        for key, values in record.items():
            out[key] = as_numpy(get_array_module(values[0]).stack(values, axis=1))
        return out

    def _step_record(self, state):
        """Arrays (N, ...) of one decoder step for :meth:`trace`, read from the layers after
        :meth:`_decode_step` (``state`` is the state it returned); none by default."""
        return {}

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

    def decoder_step_loss(self, xs, ts, step=1):
        """The loss of one decoder step alone, with everything it reads as leaves.

        The picture the book draws of the decoder: the encoder runs, then decoder steps
        ``0 .. step-1`` run without a graph (teacher forcing: step t reads ``ts[:, t]``); step
        ``step`` then runs from leaves — the encoder's states (``hs`` for the attention model)
        and the previous step's state, detached, names kept — reads ``ts[:, step]`` and is
        scored against ``ts[:, step + 1]``. Drawing the returned loss
        (:func:`~tinygrad_attn.viz.plot_graph`) shows that step's layers and nothing of the
        encoder.

        Args:
            xs: (N, T_in) input ids. ts: (N, 1 + T_out) start id + answer ids.
            step: which decoder step, 0 to T_out - 1 (0 starts from the encoder's state).

        Returns:
            The scalar loss Variable of that step.
        """
        xs = self._ids(xs, "xs")
        ts = self._ids(ts, "ts")
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) \
                or not 0 <= step < ts.shape[1] - 1:
            raise ValueError(f"{type(self).__name__}.decoder_step_loss: step must be an integer "
                             f"in [0, {ts.shape[1] - 2}] for ts of shape {ts.shape}, got {step!r}")
        with no_grad():
            state = self._decode_start(xs)
            for t in range(int(step)):
                _, state, _ = self._decode_step(ts[:, t], state)
        state = _detached(state)
        with name_scope(type(self).__name__):
            score, _, _ = self._decode_step(ts[:, step], state)
            with name_scope("loss"):
                return F.softmax_cross_entropy(score, ts[:, step + 1])

    # --- the encoder and one decoder step as plain functions (what ONNX export traces)
    def decoder_init(self, xs):
        """The encoder as a function of the ids alone: ``xs`` (N, T_in) -> the decoder's
        starting state, a list of Variables named by :meth:`decoder_state_names` (a zero
        state where decoding starts from none, which gives the same values).

        With :meth:`decoder_step`, greedy decoding is ``state = decoder_init(xs)``, then
        repeatedly ``scores, state = decoder_step(ids, state)`` and ``ids = argmax(scores)``.
        :func:`tinygrad_attn.export.to_onnx` traces both into ONNX graphs.
        """
        raise NotImplementedError(f"{type(self).__name__} has no decoder_init")

    def decoder_step(self, ids, state):
        """One decoder step: ``ids`` (N,) and the state list -> ``(scores (N, V), new state)``."""
        raise NotImplementedError(f"{type(self).__name__} has no decoder_step")

    def decoder_state_names(self):
        """Names of the entries of the decoder state (:meth:`decoder_init`)."""
        raise NotImplementedError(f"{type(self).__name__} has no decoder_state_names")

    def _zeros(self, like):
        """A zero Variable of ``like``'s shape and dtype (a start state that is "none")."""
        return Variable(get_array_module(like.data).zeros(like.shape, dtype=like.dtype))

    def _decode_start(self, xs):
        """Encoder pass for decoding: returns the decoder's starting state (a nest of Variables)."""
        raise NotImplementedError

    def _decode_step(self, ids, state):
        """One decoder step from the previous ids (N,): returns (scores (N, V), state, weights or None)."""
        raise NotImplementedError

    @property
    def all_attention_weights(self):
        """Every attention map by kind and layer (models with several, e.g. the
        Transformer); None here: a seq2seq model has at most one map,
        :attr:`attention_weights`."""
        return None

    @property
    def attention_weights(self):
        """Attention weights of the last forward/generate, host array (N, T_out, T_in), or None."""
        return None if self._attn is None else as_numpy(self._attn)


class Seq2seq(Seq2seqBase):
    """The baseline: Embedding + LSTM encoder; its last hidden state initialises the decoder.

    Args:
        vocab_size: V. wordvec_size: embedding width D. hidden_size: H.
        embed_std: standard deviation of the embeddings' initialisation (default 1.0, or the
            book's 0.01 with ``init="book"``).
        init: ``"default"`` or ``"book"`` (every weight drawn as the book does; see
            :class:`Seq2seqBase`).
    """

    kind = "seq2seq"

    def __init__(self, vocab_size, wordvec_size=16, hidden_size=128, embed_std=None,
                 init="default", dtype=np.float32, rng=None):
        super().__init__(vocab_size, wordvec_size, hidden_size, dtype, embed_std, init)
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.enc_embed = L.Embedding(V, D, std=self.embed_std, dtype=dtype, rng=rng)
        self.encoder = L.LSTM(D, H, dtype=dtype, rng=rng)
        self.dec_embed = L.Embedding(V, D, std=self.embed_std, dtype=dtype, rng=rng)
        self.decoder = L.LSTM(self._dec_in(D, H), H, dtype=dtype, rng=rng)
        self.out = L.Linear(self._out_in(H), V, init=self.out_init, dtype=dtype, rng=rng)

    def _dec_in(self, D, H):
        return D

    def _out_in(self, H):
        return H

    def encode(self, xs):
        """Run the encoder; returns its final hidden state h (N, H), named ``h_enc``."""
        self.encoder(self.enc_embed(xs))
        return _named(self.encoder.h, "h_enc")

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

    def decoder_init(self, xs):
        xs = self._ids(xs, "xs")
        h_enc = self.encode(xs)
        return [h_enc, h_enc, self._zeros(h_enc)]

    def decoder_step(self, ids, state):
        score, state, _ = self._decode_step(self._ids(ids.reshape(-1, 1), "ids").reshape(-1),
                                            tuple(state))
        return score, list(state)

    def decoder_state_names(self):
        return ["h_enc", "h", "c"]

    def _decode_step(self, ids, state):
        h_enc, h, c = state
        N = ids.shape[0]
        emb = self.dec_embed(ids.reshape(N, 1))                  # (N, 1, D)
        x = self._peek_in(emb, h_enc)[:, 0, :]
        with self.decoder.scope():
            h, c = _name_states([self.decoder.step_input(x, h, c)])[0]
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
MASK_SCOPES = ("ids", "run")


def padding_positions(ids, pad_id, scope="run"):
    """Where the padding of padded id rows is: a boolean array of ``ids``' shape, True = padding.

    Args:
        ids: (N, T) ids, padded to width T (on any device).
        pad_id: the padding id.
        scope: ``"run"``: the runs of ``pad_id`` at the two ends of each row, i.e. the positions
            that fill the text up to the width (first for reversed input, last otherwise); a
            ``pad_id`` inside the text (the date data pads with spaces, and dates contain
            spaces) is text. ``"ids"``: every position holding ``pad_id``.
    """
    if scope not in MASK_SCOPES:
        raise ValueError(f"padding_positions: scope must be one of {MASK_SCOPES}, got {scope!r}")
    is_pad = ids == pad_id
    if scope == "ids":
        return is_pad
    xp = get_array_module(ids)
    lead = xp.cumprod(is_pad, axis=1).astype(bool)
    trail = xp.flip(xp.cumprod(xp.flip(is_pad, axis=1), axis=1), axis=1).astype(bool)
    return lead | trail
ATTENTION_SCORES = L.ATTENTION_SCORES
_LEGACY_NAME = re.compile(r"^(encoder|decoder)\.(\d+)\.")


class AttentionSeq2seq(Seq2seqBase):
    """Attention seq2seq: the decoder attends to all encoder hidden states at every step.

    Composition: ``enc_embed`` -> ``encoder`` (:class:`~tinygrad_attn.layers.StackedLSTM`) gives
    hs_enc; ``dec_embed`` -> ``decoder`` (a StackedLSTM started from the encoder's final h per
    layer) gives the decoder states; ``attention`` (:class:`~tinygrad_attn.layers.Attention`)
    turns each decoder state into a context vector; ``out`` (Affine) scores ``[c_t; h_t]``.

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
        embed_std: standard deviation of the embeddings' normal initialisation: default 1.0
            (PyTorch's), or 0.01 (the book's) with ``init="book"``; given, it overrides either.
        init: ``"default"`` or ``"book"``: every weight drawn as the book's chapter code draws
            it (embeddings std 0.01, output Affine std ``1/sqrt(fan_in)``; the LSTM weights are
            the book's in both). See docs/results.md for what each changes on the date task.
        score: the attention score (:class:`~tinygrad_attn.layers.Attention`): ``"dot"`` (the
            chapter), ``"scaled"``, ``"general"`` (bilinear) or ``"additive"`` (Bahdanau).
        mask_padding: give the input's padding positions attention weight 0. Off by default,
            as in the book.
        mask_scope: which positions are padding (:func:`padding_positions`): ``"ids"`` (every
            position holding ``pad_id``; with the date data, whose padding character is the
            space, that includes the spaces inside a question) or ``"run"`` (only the padding
            that fills the input up to its width).
        pad_id: the padding id of the vocabulary (0 for every vocabulary that
            :mod:`tinygrad_attn.data` builds: the pad character comes first).
        attention_form: ``"matmul"`` or ``"book"`` (the book's Repeat -> x -> Sum graphs; same
            values, slower; for drawing and teaching).
        embed_projection: compute each embedding-then-input-projection as a lookup in the
            projected table ``E @ Wx + b`` (:meth:`L.Embedding.projected
            <tinygrad_attn.layers.Embedding.projected>`), once per step, for the encoder and
            (with ``attention_feed="affine"``) the decoder; same values and gradients up to
            rounding. Not with a bidirectional encoder. Off by default (docs/performance.md).

    After a forward pass or ``generate``, :attr:`attention_weights` is (N, T_out, T_in).
    Checkpoints written before the layers were composed from ``StackedLSTM`` (parameter names
    ``encoder.0.Wx``) load unchanged: :meth:`load_state_dict` maps them to ``encoder.layers.0.Wx``.
    """

    kind = "attention"
    attention_maps = ("cross",)

    def __init__(self, vocab_size, wordvec_size=16, hidden_size=256, bidirectional=False,
                 attention_feed="affine", num_layers=1, dropout=0.0, embed_std=None,
                 score="dot", mask_padding=False, pad_id=0, attention_form="matmul",
                 embed_projection=False, mask_scope="ids", init="default", dtype=np.float32,
                 rng=None):
        super().__init__(vocab_size, wordvec_size, hidden_size, dtype, embed_std, init)
        if attention_feed not in ATTENTION_FEEDS:
            raise ValueError(f"AttentionSeq2seq: attention_feed must be one of {ATTENTION_FEEDS}, "
                             f"got {attention_feed!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"AttentionSeq2seq: num_layers must be an integer >= 1, got {num_layers!r}")
        if bidirectional and hidden_size % 2:
            raise ValueError(f"AttentionSeq2seq: bidirectional needs an even hidden_size, got {hidden_size}")
        if score not in ATTENTION_SCORES:
            raise ValueError(f"AttentionSeq2seq: score must be one of {ATTENTION_SCORES}, got {score!r}")
        if embed_projection and bidirectional:
            raise ValueError("AttentionSeq2seq: embed_projection needs a unidirectional encoder")
        if not isinstance(pad_id, (int, np.integer)) or not 0 <= pad_id < vocab_size:
            raise ValueError(f"AttentionSeq2seq: pad_id must be an id in [0, {vocab_size}), got {pad_id!r}")
        if mask_scope not in MASK_SCOPES:
            raise ValueError(f"AttentionSeq2seq: mask_scope must be one of {MASK_SCOPES}, got {mask_scope!r}")
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.mask_scope = mask_scope
        self.bidirectional = bool(bidirectional)
        self.attention_feed = attention_feed
        self.num_layers = num_layers
        self.dropout = float(dropout)
        self.score = score
        self.mask_padding = bool(mask_padding)
        self.pad_id = int(pad_id)
        self.embed_projection = bool(embed_projection)
        kw = dict(dtype=dtype, rng=rng)
        self.enc_embed = L.Embedding(V, D, std=self.embed_std, **kw)
        self.encoder = L.StackedLSTM(D, H, num_layers, residual=True, dropout=self.dropout,
                                     bidirectional=self.bidirectional, **kw)
        self.dec_embed = L.Embedding(V, D, std=self.embed_std, **kw)
        self._feed_lstm = attention_feed in ("lstm", "both")
        self.decoder = L.StackedLSTM(D + (H if self._feed_lstm else 0), H, num_layers, residual=True,
                                     dropout=self.dropout, **kw)
        self.attention = L.Attention(score, hidden_size=H, form=attention_form, **kw)
        self.out = L.Linear(H if attention_feed == "lstm" else 2 * H, V, init=self.out_init, **kw)

    def load_state_dict(self, arrays, source="state dict", **options):
        """As :meth:`Layer.load_state_dict` (same ``options``), also accepting the names of
        older checkpoints (``encoder.0.Wx`` for today's ``encoder.layers.0.Wx``; same for
        ``decoder``). Stored arrays are renamed, not read."""
        arrays = {_LEGACY_NAME.sub(r"\1.layers.\2.", k): arrays[k] for k in arrays.keys()}
        return super().load_state_dict(arrays, source, **options)

    # --- encoder
    def encode(self, xs):
        """Encoder: ids (N, T_in) -> all hidden states hs (N, T_in, H) and final h per layer."""
        if self.embed_projection:
            hs = self.encoder(None, projected=self.encoder.project_embedding(self.enc_embed, xs))
        else:
            hs = self.encoder(self.enc_embed(xs))
        return _named(hs, "hs"), [_named(h, "h_enc") for h, _ in self.encoder.states]

    def key_mask(self, xs):
        """The attention mask for input ids ``xs`` (True = attend): not a padding position
        (:func:`padding_positions` with ``mask_scope``), or None when ``mask_padding`` is off."""
        return ~padding_positions(xs, self.pad_id, self.mask_scope) if self.mask_padding else None

    # --- decoder
    def logits(self, xs, dec_in):
        hs_enc, finals = self.encode(xs)
        mask = self.key_mask(xs)
        states = [(h, None) for h in finals]
        if not self._feed_lstm:
            if self.embed_projection:
                hs = self.decoder(None, states,
                                  projected=self.decoder.project_embedding(self.dec_embed, dec_in))
            else:
                hs = self.decoder(self.dec_embed(dec_in), states)
            hs = _named(hs, "h")                           # the decoder's h of every step
            ctx = self.attention(hs_enc, hs, mask)          # all decoder steps at once
            self._attn = self.attention.weights
            return self.out(F.concat([ctx, hs], axis=-1))
        emb = self.dec_embed(dec_in)
        proj_emb, proj_ctx = self.decoder.part_projections([self.wordvec_size, self.hidden_size])
        steps = F.unstack(proj_emb(emb), axis=1)            # all steps' embeddings in one GEMM
        ctx = None
        outs, weights = [], []
        for t in range(emb.shape[1]):
            with name_scope(f"t={t}"):
                out, ctx, states = self._feed_step(steps[t], ctx, proj_ctx, states, hs_enc, mask)
            outs.append(out)
            weights.append(self.attention.weights)
        self._attn = get_array_module(weights[0]).stack(weights, axis=1)
        return self.out(F.stack(outs, axis=1))

    def _feed_step(self, a, ctx, proj_ctx, states, hs_enc, mask):
        """One decoder step with the previous context fed into the LSTM input (``a``: the
        projected embedding)."""
        if ctx is not None:
            a = proj_ctx(ctx, add=a)
        x, states = self.decoder.step(None, states, projected=a)
        x, states = _named(x, "h"), _name_states(states)
        ctx = self.attention(hs_enc, x, mask)
        out = x if self.attention_feed == "lstm" else F.concat([ctx, x], axis=-1)
        return out, ctx, states

    def _decode_start(self, xs):
        hs_enc, finals = self.encode(xs)
        return (hs_enc, None, [(h, None) for h in finals], self.key_mask(xs))

    def decoder_init(self, xs):
        xs = self._ids(xs, "xs")
        if self.mask_padding:
            raise OpError("AttentionSeq2seq.decoder_init: with mask_padding the key mask is "
                          "computed from the ids outside the recorded graph; such a model has "
                          "no decoder_init (and no ONNX export)")
        hs_enc, finals = self.encode(xs)
        state = [hs_enc]
        if self._feed_lstm:
            state.append(self._zeros(finals[0]))     # no context before the first step
        for h in finals:
            state += [h, self._zeros(h)]
        return state

    def decoder_step(self, ids, state):
        ids = self._ids(ids.reshape(-1, 1), "ids").reshape(-1)
        hs_enc, rest = state[0], list(state[1:])
        ctx = rest.pop(0) if self._feed_lstm else None
        states = [(rest[2 * k], rest[2 * k + 1]) for k in range(self.num_layers)]
        score, (_, ctx, states, _), _ = self._decode_step(ids, (hs_enc, ctx, states, None))
        out = [hs_enc] + ([ctx] if self._feed_lstm else [])
        for h, c in states:
            out += [h, c]
        return score, out

    def decoder_state_names(self):
        names = ["hs_enc"] + (["context"] if self._feed_lstm else [])
        for k in range(self.num_layers):
            names += [f"h{k}", f"c{k}"]
        return names

    def _decode_step(self, ids, state):
        hs_enc, ctx, states, mask = state
        emb = self.dec_embed(ids)
        if self._feed_lstm:
            proj_emb, proj_ctx = self.decoder.part_projections([self.wordvec_size, self.hidden_size])
            out, ctx, states = self._feed_step(proj_emb(emb), ctx, proj_ctx, states, hs_enc, mask)
        else:
            x, states = self.decoder.step(emb, states)
            x, states = _named(x, "h"), _name_states(states)
            ctx = self.attention(hs_enc, x, mask)
            out = F.concat([ctx, x], axis=-1)
        return self.out(out), (hs_enc, ctx, states, mask), self.attention.weights

    def _step_record(self, state):
        # the attention layer's scores before the softmax, and the context vector it returned
        return {"scores": self.attention.score_values, "context": state[1].data}

    def trace(self, xs, start_id, max_len):
        """Greedy decoding that also returns every step's attention (see
        :meth:`Seq2seqBase.trace`): besides ``ids``, ``probs`` and ``weights``,
        ``"scores"`` (N, T_out, T_in) are the scores before the softmax (for ``score="dot"``
        the chapter's ``s = hs . h``; masked positions keep their score, their weight is 0),
        ``"context"`` (N, T_out, H) the context vectors c, and ``"mask"`` (N, T_in) the
        positions attention may use (:meth:`key_mask`; all True without ``mask_padding``)."""
        out = super().trace(xs, start_id, max_len)
        xs = self._ids(xs, "xs")
        mask = self.key_mask(xs)
        out["mask"] = (np.ones(xs.shape, bool) if mask is None else as_numpy(mask).astype(bool))
        return out


def _detached(state):
    """A copy of a nested decoder state whose Variables are leaves (names kept)."""
    if isinstance(state, Variable):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(_detached(v) for v in state)
    return state


def _named(v, name):
    """Name the Variable ``v`` (the chapter's names, for drawings) unless it has a name."""
    if isinstance(v, Variable) and v.name is None:
        v.name = name
    return v


def _name_states(states):
    """Name each LSTM layer's new state: ``h`` and ``cell`` (the memory cell)."""
    for h, c in states:
        _named(h, "h")
        _named(c, "cell")
    return states


def _take_rows(state, n, rows):
    """Select batch rows ``rows`` of every array/Variable with ``n`` rows in a nested state."""
    if state is None:
        return None
    if isinstance(state, Variable):
        return Variable(state.data[rows]) if state.shape and state.shape[0] == n else state
    if isinstance(state, (tuple, list)):
        return type(state)(_take_rows(v, n, rows) for v in state)
    if getattr(state, "ndim", 0) and state.shape[0] == n:  # a plain array, e.g. a mask
        return state[rows]
    return state


def _common_options(hidden=128):
    """Command-line options every seq2seq model of the chapter takes."""
    return (Option("wordvec", int, 16, "embedding width D", config="wordvec_size", low=1, high=4096),
            Option("hidden", int, hidden, "hidden width H", config="hidden_size", low=1, high=8192),
            Option("init", str, "default", "initialisation preset: default (embeddings std "
                   "1.0, output Affine Xavier) or book (every weight as the book: embeddings std "
                   "0.01, output Affine std 1/sqrt(fan_in)); the LSTM weights are the book's in "
                   "both", choices=INITS),
            Option("embed-std", float, None, "std of the embeddings' initialisation; default "
                   "1.0, or 0.01 with --init book", config="embed_std", low=1e-8, high=100.0))


_TINY = {"vocab_size": 13, "wordvec_size": 4, "hidden_size": 6}

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
        Option("dropout", float, 0.0, "dropout between stacked layers", low=0.0, high=0.99),
        Option("score", str, "dot", "attention score: dot (the chapter), scaled (dot / sqrt(H)), "
               "general (bilinear h W hs), additive (Bahdanau v.tanh(h Wq + hs Wk))",
               choices=ATTENTION_SCORES),
        Option("mask-padding", bool, False, "give the input's padding positions zero attention "
               "weight (the book attends to them)"),
        Option("attention-form", str, "matmul", "how attention is computed: matmul (batched "
               "matrix products) or book (the book's Repeat -> x -> Sum graphs; same values, "
               "slower; for drawing)", choices=ATTENTION_FORMS),
        Option("embed-projection", bool, False, "embedding + input projection as a lookup in "
               "the projected table E @ Wx (same values; see docs/performance.md)"),
        Option("mask-scope", str, "ids", "which positions --mask-padding hides: ids (every pad "
               "id, spaces inside a date included) or run (only the padding filling the input up "
               "to its width)", choices=MASK_SCOPES)),
        "the chapter's attention seq2seq (and its GNMT-style variants)", tiny=_TINY,
        variants={"bi": {"bidirectional": True}, "lstm-feed": {"attention_feed": "lstm"},
                  "deep": {"num_layers": 2, "attention_feed": "both", "dropout": 0.2},
                  "additive-masked": {"score": "additive", "mask_padding": True},
                  "embed-projection": {"embed_projection": True}}),
)
for _spec in SPECS:
    register_model(_spec)
