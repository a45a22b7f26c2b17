"""The Transformer's layers, composed from ``F`` ops (no hand-written backward).

* :class:`LayerNorm` — per-position normalisation with a learned scale and shift.
* :class:`MultiHeadAttention` — ``heads`` scaled dot-product attentions side by side, each on
  its own projection of the queries, keys and values; self-attention when no memory is
  given, cross-attention otherwise. ``weights`` keeps every head's weights.
* :class:`PositionwiseFeedForward` — Linear, ReLU, Linear applied at every position.
* :class:`PositionalEncoding` — adds sinusoidal (fixed) or learned position vectors.
* :class:`TransformerEncoderBlock` / :class:`TransformerDecoderBlock` — attention and
  feed-forward sub-layers, each wrapped in a residual (skip) connection with LayerNorm before
  (``norm="pre"``) or after (``norm="post"``) it.

Shapes: sequences are (N, T, d_model); heads are split as (N, heads, T, d_model / heads).
Masks are boolean arrays, True where attention is allowed (see :func:`F.causal_mask`,
:func:`F.padding_mask`).
"""
from __future__ import annotations

import numpy as np

from .. import functions as F
from ..backend import get_array_module
from ..core import OpError
from . import init as I
from .base import Layer
from .basic import Linear

__all__ = ["LayerNorm", "MultiHeadAttention", "PositionwiseFeedForward", "PositionalEncoding",
           "TransformerEncoderBlock", "TransformerDecoderBlock", "sinusoidal_positions", "NORMS"]

NORMS = ("pre", "post")


class LayerNorm(Layer):
    """Layer normalisation over the last axis: ``(x - mean) / sqrt(var + eps) * gamma + beta``.

    Args:
        dim: the width D of the last axis. eps: added to the variance.

    Parameters: ``gamma`` (D,) = 1 and ``beta`` (D,) = 0 at start. Shapes: (..., D) -> (..., D).
    """

    def __init__(self, dim, eps=1e-5, dtype=np.float32):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.gamma = I.zeros((dim,), dtype, name="gamma")
        self.gamma.data += 1
        self.beta = I.zeros((dim,), dtype, name="beta")

    def forward(self, x):
        return F.layer_norm(x, self.gamma, self.beta, self.eps)

    def extra_repr(self):
        return f"{self.dim}"


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention.

    Args:
        d_model: width of queries, keys and values (divisible by ``num_heads``).
        num_heads: heads h; each works on d_model / h features.
        dropout: dropout on the attention weights (training only).

    Call: ``y = mha(x, memory=None, mask=None)`` with queries from x (N, T_q, d_model) and keys
    and values from ``memory`` (N, T_k, d_model) (cross-attention) or from x itself when
    memory is None (self-attention). ``mask`` broadcasts to (N, h, T_q, T_k). Alternatively
    pass precomputed ``kv=(k, v)`` from :meth:`keys_values` (incremental decoding).
    Returns (N, T_q, d_model). ``self.weights`` keeps the raw weights (N, h, T_q, T_k) of
    every head.

    Cost: four (rows x d_model) @ (d_model x d_model) projections plus the two batched
    matmuls of attention per head.
    """

    def __init__(self, d_model, num_heads, dropout=0.0, dtype=np.float32, rng=None):
        super().__init__()
        if num_heads < 1 or d_model % num_heads:
            raise ValueError(f"MultiHeadAttention: d_model ({d_model}) must be a positive multiple "
                             f"of num_heads ({num_heads})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout}")
        self.d_model, self.num_heads, self.dropout = d_model, num_heads, dropout
        kw = dict(dtype=dtype, rng=rng)
        self.query = Linear(d_model, d_model, **kw)
        self.key = Linear(d_model, d_model, **kw)
        self.value = Linear(d_model, d_model, **kw)
        self.out = Linear(d_model, d_model, **kw)
        self.weights = None

    def split_heads(self, x):
        """(N, T, d_model) -> (N, h, T, d_model / h)."""
        N, T, _ = x.shape
        return F.transpose(F.reshape(x, (N, T, self.num_heads, -1)), (0, 2, 1, 3))

    def merge_heads(self, x):
        """(N, h, T, d) -> (N, T, h * d): the heads' outputs side by side."""
        N, _, T, _ = x.shape
        return F.reshape(F.transpose(x, (0, 2, 1, 3)), (N, T, self.d_model))

    def keys_values(self, memory):
        """Keys and values of ``memory`` (N, T_k, d_model), split into heads (N, h, T_k, d)."""
        return self.split_heads(self.key(memory)), self.split_heads(self.value(memory))

    def forward(self, x, memory=None, mask=None, kv=None):
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise OpError(f"MultiHeadAttention(d_model={self.d_model}): queries must be "
                          f"(N, T, {self.d_model}), got {x.shape}")
        if kv is None:
            kv = self.keys_values(x if memory is None else memory)
        k, v = kv
        q = self.split_heads(self.query(x))
        ctx, w = F.scaled_dot_product_attention(q, k, v, mask, dropout=self.dropout)
        self.weights = w.data
        return self.out(self.merge_heads(ctx))

    def extra_repr(self):
        return f"d_model={self.d_model}, heads={self.num_heads}"


class PositionwiseFeedForward(Layer):
    """``Linear(d_model, d_ff) -> ReLU -> dropout -> Linear(d_ff, d_model)`` at every position."""

    def __init__(self, d_model, d_ff, dropout=0.0, dtype=np.float32, rng=None):
        super().__init__()
        self.dropout = dropout
        self.inner = Linear(d_model, d_ff, init="he", dtype=dtype, rng=rng)
        self.outer = Linear(d_ff, d_model, dtype=dtype, rng=rng)

    def forward(self, x):
        h = F.relu(self.inner(x))
        if self.dropout:
            h = F.dropout(h, self.dropout)
        return self.outer(h)


def sinusoidal_positions(T, d_model, xp=np, dtype=np.float32, offset=0):
    """The fixed position vectors (T, d_model): ``sin(p / 10000^(2i/d))`` in even and
    ``cos(...)`` in odd features, for positions p = offset .. offset + T - 1.

    Args:
        T: number of positions. d_model: width. xp: array module (device) of the result.
        dtype: result dtype. offset: first position.
    """
    pos = xp.arange(offset, offset + T, dtype=np.float64).reshape(T, 1)
    i = xp.arange(0, d_model, 2, dtype=np.float64)
    angle = pos / (10000.0 ** (i / d_model))
    pe = xp.zeros((T, d_model), dtype=np.float64)
    pe[:, 0::2] = xp.sin(angle)
    pe[:, 1::2] = xp.cos(angle[:, :d_model // 2])
    return pe.astype(dtype)


class PositionalEncoding(Layer):
    """Add position vectors to a sequence (N, T, d_model): ``x + P[offset : offset + T]``.

    Args:
        d_model: width.
        kind: ``"sinusoidal"`` (fixed) or ``"learned"`` (a Parameter
            (max_len, d_model), normal std 0.1 at start).
        max_len: the longest sequence covered (the learned table has this many rows; the
            sinusoids are refused beyond it too, so both kinds accept the same inputs).
    """

    KINDS = ("sinusoidal", "learned")

    def __init__(self, d_model, kind="sinusoidal", max_len=256, dtype=np.float32, rng=None):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"PositionalEncoding: kind must be one of {self.KINDS}, got {kind!r}")
        self.d_model, self.kind, self.max_len = d_model, kind, max_len
        if kind == "learned":
            self.table = I.normal((max_len, d_model), 0.1, dtype, rng, name="table")

    def forward(self, x, offset=0):
        if len(x.shape) != 3 or x.shape[-1] != self.d_model:
            raise OpError(f"PositionalEncoding: expected x of shape (N, T, {self.d_model}), got "
                          f"{tuple(x.shape)}")
        T = x.shape[1]
        if offset + T > self.max_len:
            raise OpError(f"PositionalEncoding: positions up to {offset + T} exceed max_len="
                          f"{self.max_len}")
        if self.kind == "learned":
            return x + self.table[offset:offset + T]
        xp = get_array_module(x.data)
        return x + sinusoidal_positions(T, self.d_model, xp, x.dtype, offset)

    def extra_repr(self):
        return f"{self.d_model}, kind={self.kind!r}"


class _Block(Layer):
    """Shared residual wrapper: pre-norm ``x + drop(f(norm(x)))`` or post-norm
    ``norm(x + drop(f(x)))``."""

    def __init__(self, norm, dropout):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"{type(self).__name__}: norm must be one of {NORMS}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.norm, self.dropout = norm, dropout

    def _residual(self, x, norm, f):
        if self.norm == "pre":
            y = f(norm(x))
            return x + (F.dropout(y, self.dropout) if self.dropout else y)
        y = f(x)
        return norm(x + (F.dropout(y, self.dropout) if self.dropout else y))


class TransformerEncoderBlock(_Block):
    """Self-attention and feed-forward sub-layers, each inside a residual connection.

    Args:
        d_model: width. num_heads: attention heads. d_ff: inner width of the feed-forward.
        dropout: on each sub-layer's output, the attention weights and the feed-forward's
            hidden layer. norm: ``"pre"`` (LayerNorm before each sub-layer) or ``"post"``
            (after the residual sum, as in the original paper).

    Call: ``y = block(x, mask=None)``, x (N, T, d_model); ``mask`` broadcasts to
    (N, h, T, T) (e.g. a padding mask (N, 1, 1, T)).
    """

    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm="pre", dtype=np.float32,
                 rng=None):
        super().__init__(norm, dropout)
        kw = dict(dtype=dtype, rng=rng)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout, **kw)
        self.norm1 = LayerNorm(d_model, dtype=dtype)
        self.ff = PositionwiseFeedForward(d_model, d_ff, dropout, **kw)
        self.norm2 = LayerNorm(d_model, dtype=dtype)

    def forward(self, x, mask=None):
        x = self._residual(x, self.norm1, lambda h: self.self_attn(h, mask=mask))
        return self._residual(x, self.norm2, self.ff)


class TransformerDecoderBlock(_Block):
    """Causal self-attention, cross-attention over the encoder's output, and feed-forward,
    each inside a residual connection (arguments as :class:`TransformerEncoderBlock`).

    Call: ``y = block(x, memory, self_mask=None, cross_mask=None)`` with x (N, T, d_model),
    memory (N, S, d_model); ``self_mask`` is normally :func:`F.causal_mask` (T, T).
    :meth:`step` runs one new position at a time with cached keys and values.
    """

    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm="pre", dtype=np.float32,
                 rng=None):
        super().__init__(norm, dropout)
        kw = dict(dtype=dtype, rng=rng)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout, **kw)
        self.norm1 = LayerNorm(d_model, dtype=dtype)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout, **kw)
        self.norm2 = LayerNorm(d_model, dtype=dtype)
        self.ff = PositionwiseFeedForward(d_model, d_ff, dropout, **kw)
        self.norm3 = LayerNorm(d_model, dtype=dtype)

    def forward(self, x, memory, self_mask=None, cross_mask=None):
        x = self._residual(x, self.norm1, lambda h: self.self_attn(h, mask=self_mask))
        x = self._residual(x, self.norm2, lambda h: self.cross_attn(h, memory, mask=cross_mask))
        return self._residual(x, self.norm3, self.ff)

    def step(self, x, memory_kv, past_kv=None, cross_mask=None):
        """Incremental decoding: the newest position(s) x (N, t, d_model) attend to the cached
        keys/values ``past_kv`` of earlier positions (or None) and to themselves.

        Args:
            x: the new position(s), (N, t, d_model) (t = 1 in greedy decoding).
            memory_kv: ``self.cross_attn.keys_values(memory)``, computed once per input.
            past_kv: (k, v) of this block's self-attention for the earlier positions.
            cross_mask: as in :meth:`forward`.

        Returns:
            (y, (k, v)): the outputs (N, t, d_model) and the keys/values of all positions so
            far (pass them as ``past_kv`` next time). Equal to :meth:`forward` with a causal
            mask, position by position.
        """
        new = []

        def self_part(h):
            k, v = self.self_attn.keys_values(h)
            if past_kv is not None:
                k = F.concat([past_kv[0], k], axis=2)
                v = F.concat([past_kv[1], v], axis=2)
            new.append((k, v))
            t = h.shape[1]
            mask = None if t == 1 else F.causal_mask(t, h, k.shape[2])
            return self.self_attn(h, mask=mask, kv=(k, v))

        x = self._residual(x, self.norm1, self_part)
        x = self._residual(x, self.norm2,
                           lambda h: self.cross_attn(h, mask=cross_mask, kv=memory_kv))
        return self._residual(x, self.norm3, self.ff), new[0]

