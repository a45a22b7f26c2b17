"""Attention layers: the chapter's AttentionWeight + WeightSum, per step and time-batched."""
from __future__ import annotations

from .. import functions as F
from .base import Layer

__all__ = ["Attention", "TimeAttention"]


class Attention(Layer):
    """One decoder step of dot-product attention.

    Call: ``c = attn(hs, h)`` with encoder states hs (N, T_enc, H) and decoder state h (N, H)
    -> context vector c (N, H). Internally ``a = F.attention_weight(hs, h)`` (N, T_enc),
    softmax over the encoder axis, and ``c = F.weight_sum(hs, a)``.
    ``self.weights`` keeps ``a`` (raw array) for visualisation.

    Cost: two batched matmuls ((N, T_enc, H) x (N, H, 1) and (N, 1, T_enc) x (N, T_enc, H));
    ``hs`` is never repeated in memory.
    """

    def __init__(self):
        super().__init__()
        self.weights = None

    def forward(self, hs, h):
        a = F.attention_weight(hs, h)
        self.weights = a.data
        return F.weight_sum(hs, a)


class TimeAttention(Layer):
    """Attention for all decoder steps at once (teacher forcing).

    Call: ``c = attn(hs_enc, hs_dec)`` with hs_enc (N, T_enc, H), hs_dec (N, T_dec, H)
    -> contexts (N, T_dec, H). ``self.weights`` (N, T_dec, T_enc) keeps the weights for
    heatmaps. Cost: one (N, T_dec, H) x (N, H, T_enc) batched matmul for the scores and one
    (N, T_dec, T_enc) x (N, T_enc, H) for the contexts, instead of T_dec of each.
    """

    def __init__(self):
        super().__init__()
        self.weights = None

    def forward(self, hs_enc, hs_dec):
        a = F.attention_weight(hs_enc, hs_dec)
        self.weights = a.data
        return F.weight_sum(hs_enc, a)
