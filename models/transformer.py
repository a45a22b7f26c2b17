"""TransformerSeq2seq: the encoder-decoder Transformer on the same engine and interface as the
chapter's models (compositions of ``L`` layers and ``F`` ops; no hand-written backward)."""
from __future__ import annotations

import numpy as np

from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.backend import as_numpy, get_array_module
from tinygrad_attn.core import OpError, Variable, name_scope
from tinygrad_attn.training.registry import ModelSpec, Option, register_model

from .seq2seq import Seq2seqBase

__all__ = ["TransformerSeq2seq", "SPEC"]


class TransformerSeq2seq(Seq2seqBase):
    """Encoder-decoder Transformer for the character tasks (dates, addition, book files).

    Encoder: embedding + positions, then ``num_layers`` blocks of self-attention and
    feed-forward. Decoder: embedding + positions, then blocks of causal self-attention,
    cross-attention over the encoder output, and feed-forward; a Linear layer gives the
    scores over the vocabulary. Every sub-layer sits in a residual (skip) connection with
    LayerNorm before it (``norm="pre"``, plus a final LayerNorm after each stack) or after it
    (``norm="post"``).

    Args:
        vocab_size: V.
        d_model: width of every position's vector.
        num_heads: attention heads (divides d_model).
        num_layers: blocks in the encoder and in the decoder.
        d_ff: inner width of the position-wise feed-forward layers.
        dropout: dropout rate on embeddings, sub-layer outputs, attention weights and the
            feed-forward hidden layer (training only).
        norm: ``"pre"`` or ``"post"``.
        positions: ``"sinusoidal"`` (fixed) or ``"learned"``.
        max_len: the longest sequence (input or output) the position vectors cover, for
            learned and sinusoidal positions alike.
        pad_id: id of the padding character, or None. When set, the padding run before the
            first and after the last other character of each input is masked out of every
            attention over the input (padding *inside* a text, e.g. the space in
            "may 4, 2021", stays visible).

    Interface as :class:`~tinygrad_attn_models.seq2seq.Seq2seqBase`: ``loss = model(xs, ts)``
    (``label_smoothing=`` optional), ``generate`` (incremental: each step reuses the cached
    keys and values of the earlier steps), ``beam_search``, ``config``.

    Attention weights: :attr:`attention_weights` (N, T_out, T_in) is the cross-attention of
    the **last decoder layer averaged over its heads** (the map the chapter draws);
    :attr:`all_attention_weights` holds every map: ``{"enc": [per layer (N, h, T_in, T_in)],
    "dec": [(N, h, T_out, T_out)], "cross": [(N, h, T_out, T_in)]}`` after a forward pass or
    ``generate`` (beam search keeps only the averaged map).
    """

    kind = "transformer"
    attention_maps = ("cross", "enc", "dec")

    def __init__(self, vocab_size, d_model=64, num_heads=4, num_layers=2, d_ff=256, dropout=0.1,
                 norm="pre", positions="sinusoidal", max_len=256, pad_id=None, dtype=np.float32,
                 rng=None):
        super().__init__(vocab_size, d_model, d_model, dtype)
        name = type(self).__name__
        for key, v in (("num_heads", num_heads), ("num_layers", num_layers), ("d_ff", d_ff),
                       ("max_len", max_len)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{name}: {key} must be a positive integer, got {v!r}")
        if d_model % num_heads:
            raise ValueError(f"{name}: d_model ({d_model}) must be a multiple of num_heads "
                             f"({num_heads})")
        if norm not in L.transformer.NORMS:
            raise ValueError(f"{name}: norm must be one of {L.transformer.NORMS}, got {norm!r}")
        if positions not in L.PositionalEncoding.KINDS:
            raise ValueError(f"{name}: positions must be one of {L.PositionalEncoding.KINDS}, "
                             f"got {positions!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}")
        if pad_id is not None and not 0 <= pad_id < vocab_size:
            raise ValueError(f"{name}: pad_id must be None or in [0, {vocab_size}), got {pad_id!r}")
        self.d_model, self.num_heads, self.num_layers = int(d_model), int(num_heads), int(num_layers)
        self.d_ff, self.dropout, self.norm = int(d_ff), float(dropout), norm
        self.positions, self.max_len = positions, int(max_len)
        self.pad_id = None if pad_id is None else int(pad_id)
        kw = dict(dtype=dtype, rng=rng)
        block = dict(d_model=d_model, num_heads=num_heads, d_ff=d_ff, dropout=self.dropout,
                     norm=norm, **kw)
        self.enc_embed = L.Embedding(vocab_size, d_model, std=1.0, **kw)
        self.enc_pos = L.PositionalEncoding(d_model, positions, max_len, **kw)
        self.encoder = [L.TransformerEncoderBlock(**block) for _ in range(num_layers)]
        self.dec_embed = L.Embedding(vocab_size, d_model, std=1.0, **kw)
        self.dec_pos = L.PositionalEncoding(d_model, positions, max_len, **kw)
        self.decoder = [L.TransformerDecoderBlock(**block) for _ in range(num_layers)]
        if norm == "pre":
            self.enc_norm = L.LayerNorm(d_model, dtype=dtype)
            self.dec_norm = L.LayerNorm(d_model, dtype=dtype)
        self.out = L.Linear(d_model, vocab_size, **kw)
        self._all = None
        self._log = None

    # --- masks (data, on the inputs' device)
    def source_mask(self, xs):
        """Key mask (N, 1, 1, T_in) hiding the leading/trailing padding of ``xs``, or None."""
        if self.pad_id is None:
            return None
        xp = get_array_module(xs)
        real = (xs != self.pad_id).astype(np.int32)
        keep = (xp.cumsum(real, axis=1) > 0) & (xp.cumsum(real[:, ::-1], axis=1)[:, ::-1] > 0)
        return keep.reshape(xs.shape[0], 1, 1, xs.shape[1])

    def _embed(self, embed, pos, ids, offset=0):
        x = pos(embed(ids), offset)
        return F.dropout(x, self.dropout) if self.dropout else x

    # --- teacher forcing
    def encode(self, xs, src_mask=None):
        """Encoder: ids (N, T_in) -> memory (N, T_in, d_model)."""
        x = self._embed(self.enc_embed, self.enc_pos, xs)
        for blk in self.encoder:
            x = blk(x, mask=src_mask)
        return self.enc_norm(x) if self.norm == "pre" else x

    def logits(self, xs, dec_in):
        """Scores (N, T_out, V) for decoder inputs ``dec_in`` (N, T_out) (teacher forcing)."""
        src_mask = self.source_mask(xs)
        return self.decode(self.encode(xs, src_mask), dec_in, src_mask)

    def decode(self, memory, dec_in, src_mask=None):
        """Decoder over a whole prefix: memory (N, T_in, d_model), ids (N, T_out) -> scores
        (N, T_out, V), position t seeing ids up to t (causal self-attention)."""
        y = self._embed(self.dec_embed, self.dec_pos, dec_in)
        causal = F.causal_mask(dec_in.shape[1], y)
        for blk in self.decoder:
            y = blk(y, memory, self_mask=causal, cross_mask=src_mask)
        if self.norm == "pre":
            y = self.dec_norm(y)
        self._all = {"enc": [b.self_attn.weights for b in self.encoder],
                     "dec": [b.self_attn.weights for b in self.decoder],
                     "cross": [b.cross_attn.weights for b in self.decoder]}
        self._attn = self._all["cross"][-1].mean(axis=1)
        return self.out(y)

    # --- the encoder and one decoder step as plain functions (what ONNX export traces)
    def decoder_init(self, xs):
        """The encoder as a function of the ids (see :meth:`Seq2seqBase.decoder_init`).

        The state: per decoder block the cross-attention keys and values of the encoder
        output (computed once), per block the self-attention keys and values of the
        positions decoded so far (none yet: length 0), and the position as a one-hot row
        (N, max_len), so that one step is the same graph at every position.
        """
        xs = self._ids(xs, "xs")
        if self.pad_id is not None:
            raise OpError("TransformerSeq2seq.decoder_init: with pad_id set the source mask is "
                          "computed from the ids outside the recorded graph; such a model has "
                          "no decoder_init (and no ONNX export)")
        memory = self.encode(xs)
        xp = get_array_module(memory.data)
        N, dt = xs.shape[0], memory.dtype
        state = []
        for blk in self.decoder:
            state += list(blk.cross_attn.keys_values(memory))
        empty = (N, self.num_heads, 0, self.d_model // self.num_heads)
        for _ in self.decoder:
            state += [Variable(xp.zeros(empty, dtype=dt)), Variable(xp.zeros(empty, dtype=dt))]
        position = xp.zeros((N, self.max_len), dtype=dt)
        position[:, 0] = 1
        return state + [Variable(position)]

    def decoder_step(self, ids, state):
        """One decoder step with cached keys and values (see :meth:`Seq2seqBase.decoder_step`):
        ``ids`` (N,) -> ``(scores (N, V), next state)``.

        The same computation as :meth:`generate`'s steps, except that the position vector is
        the one-hot position times the position table (exactly that table's row) and the
        next position is the one-hot row shifted by one (a product with a constant matrix):
        ops the ONNX export traces like any other.
        """
        n = self.num_layers
        memory_kv = [(state[2 * k], state[2 * k + 1]) for k in range(n)]
        past = [(state[2 * (n + k)], state[2 * (n + k) + 1]) for k in range(n)]
        position = state[4 * n]
        ids = self._ids(ids.reshape(-1, 1), "ids")
        N = ids.shape[0]
        xp = get_array_module(position.data)
        if self.positions == "learned":
            table = self.dec_pos.table
        else:
            table = Variable(L.transformer.sinusoidal_positions(self.max_len, self.d_model, xp,
                                                                position.dtype))
        y = self.dec_embed(ids) + F.reshape(F.matmul(position, table), (N, 1, self.d_model))
        new_past = []
        for k, blk in enumerate(self.decoder):
            y, kv = blk.step(y, memory_kv[k], past[k], None)
            new_past += list(kv)
        if self.norm == "pre":
            y = self.dec_norm(y)
        shift = xp.eye(self.max_len, k=1, dtype=position.dtype)     # position t -> t + 1
        state = [v for kv in memory_kv for v in kv] + new_past + [F.matmul(position,
                                                                          Variable(shift))]
        return F.reshape(self.out(y), (N, -1)), state

    def decoder_state_names(self):
        layers = range(self.num_layers)
        return ([f"{n}{k}" for k in layers for n in ("memory_k", "memory_v")]
                + [f"{n}{k}" for k in layers for n in ("past_k", "past_v")] + ["position"])

    # --- decoding (one position per step, cached keys and values)
    def generate(self, xs, start_id, max_len):
        """Greedy decoding of a batch (see :meth:`Seq2seqBase.generate`); also fills
        :attr:`all_attention_weights`."""
        self._log = []
        try:
            out = super().generate(xs, start_id, max_len)
            self._all = self._assemble(self._log)
        finally:
            self._log = None
        return out

    def trace(self, xs, start_id, max_len):
        """Greedy decoding that also returns every map (see :meth:`Seq2seqBase.trace`): besides
        ``ids``, ``probs`` and ``weights`` (the last layer's cross-attention averaged over its
        heads), ``"attention"`` is :attr:`all_attention_weights` and ``"mask"`` (N, T_in) the
        input positions attention may use (:meth:`source_mask`; all True without ``pad_id``)."""
        self._log = []
        try:
            out = super().trace(xs, start_id, max_len)
            self._all = self._assemble(self._log)
        finally:
            self._log = None
        out["attention"] = self.all_attention_weights
        xs = self._ids(xs, "xs")
        mask = self.source_mask(xs)
        out["mask"] = (np.ones(xs.shape, bool) if mask is None
                       else as_numpy(mask).reshape(xs.shape).astype(bool))
        return out

    def beam_search(self, xs, start_id, max_len, beam_width=4):
        """Beam search (see :meth:`Seq2seqBase.beam_search`); :attr:`attention_weights` holds
        the winners' averaged cross-attention, :attr:`all_attention_weights` is cleared."""
        self._log = None
        self._all = None
        return super().beam_search(xs, start_id, max_len, beam_width)

    def _decode_start(self, xs):
        src_mask = self.source_mask(xs)
        memory = self.encode(xs, src_mask)
        if self._log is not None:
            self._log.append([b.self_attn.weights for b in self.encoder])
        memory_kv = tuple(b.cross_attn.keys_values(memory) for b in self.decoder)
        return (memory_kv, None, 0, src_mask)

    def _decode_step(self, ids, state):
        memory_kv, past, t, src_mask = state
        if t >= self.max_len:
            raise OpError(f"{type(self).__name__}: cannot decode beyond max_len={self.max_len}")
        N = ids.shape[0]
        y = self._embed(self.dec_embed, self.dec_pos, ids.reshape(N, 1), offset=t)
        new_past = []
        for k, blk in enumerate(self.decoder):
            y, kv = blk.step(y, memory_kv[k], None if past is None else past[k], src_mask)
            new_past.append(kv)
        if self.norm == "pre":
            y = self.dec_norm(y)
        score = F.reshape(self.out(y), (N, -1))
        if self._log is not None:
            self._log.append(([b.self_attn.weights for b in self.decoder],
                              [b.cross_attn.weights for b in self.decoder]))
        w = self.decoder[-1].cross_attn.weights[:, :, 0, :].mean(axis=1)   # (N, T_in)
        return score, (memory_kv, tuple(new_past), t + 1, src_mask), w

    def _assemble(self, log):
        """Per-step weights of ``generate`` -> the same layout as a teacher-forced pass."""
        enc, steps = log[0], log[1:]
        xp = get_array_module(enc[0])
        T = len(steps)
        dec, cross = [], []
        for k in range(self.num_layers):
            N, h = steps[0][0][k].shape[:2]
            d = xp.zeros((N, h, T, T), dtype=steps[0][0][k].dtype)
            for t, (selfs, _) in enumerate(steps):
                d[:, :, t, :t + 1] = selfs[k][:, :, 0, :]
            dec.append(d)
            cross.append(xp.concatenate([c[k] for _, c in steps], axis=2))
        return {"enc": enc, "dec": dec, "cross": cross}

    @property
    def all_attention_weights(self):
        """Every attention map of the last forward pass or ``generate`` (host arrays), or None:
        ``{"enc": [...], "dec": [...], "cross": [...]}``, one (N, heads, T_q, T_k) array per
        layer."""
        if self._all is None:
            return None
        return {kind: [as_numpy(w) for w in ws] for kind, ws in self._all.items()}


SPEC = ModelSpec(
    TransformerSeq2seq.kind, TransformerSeq2seq, "text",
    (Option("hidden", int, 64, "model width d_model", config="d_model", low=1, high=8192),
     Option("heads", int, 4, "attention heads (divide --hidden)", config="num_heads", low=1,
            high=256),
     Option("layers", int, 2, "encoder and decoder blocks", config="num_layers", low=1, high=64),
     Option("ff", int, 256, "inner width of the feed-forward layers", config="d_ff", low=1,
            high=65536),
     Option("dropout", float, 0.1, "dropout rate", low=0.0, high=0.99),
     Option("norm", str, "pre", "LayerNorm before (pre) or after (post) each residual sum",
            choices=L.transformer.NORMS),
     Option("positions", str, "sinusoidal", "position vectors: fixed sinusoids or learned",
            choices=L.PositionalEncoding.KINDS),
     Option("max-len", int, 256, "longest input or answer the position vectors cover (learned "
            "table or sinusoids alike; checked against the data before training)",
            config="max_len", low=1, high=100000)),
    "the Transformer encoder-decoder (attention only, no RNN)",
    tiny={"vocab_size": 13, "d_model": 8, "num_heads": 2, "num_layers": 1, "d_ff": 12, "dropout": 0.0},
    variants={"post": {"norm": "post", "positions": "learned", "num_layers": 2, "dropout": 0.1,
                       "max_len": 16}},
)
register_model(SPEC)
