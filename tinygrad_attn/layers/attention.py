"""The attention layer: the chapter's AttentionWeight + WeightSum, for one step or all steps."""
from __future__ import annotations

import numpy as np

from .. import functions as F
from ..core import OpError, name_scope
from ..functions.attention import ATTENTION_FORMS, _named
from . import init as I
from .base import Layer

__all__ = ["Attention", "TimeAttention", "ATTENTION_SCORES"]

ATTENTION_SCORES = ("dot", "scaled", "general", "additive")
"""How :class:`Attention` scores an encoder state against the decoder state."""


class Attention(Layer):
    """Attention over encoder states: scores -> (masked) softmax -> weighted sum.

    One layer serves one decoder step and all decoder steps at once (the book's Attention
    and TimeAttention): ``c = attn(hs, h, mask=None)`` with encoder states hs (N, T_enc, H) and
    decoder state(s) h (N, H) -> context (N, H), or h (N, T_dec, H) -> contexts (N, T_dec, H).
    ``self.weights`` keeps the weights (raw array, (N, T_enc) or (N, T_dec, T_enc)) for heatmaps,
    and ``self.score_values`` the scores of the same call before the softmax (and before any
    mask), for explaining the weights (:func:`tinygrad_attn.viz.explore`).

    The forward pass runs the scores and the softmax in a name scope ``AttentionWeight`` and the
    weighted sum in ``WeightSum`` (the book's two layers, drawn as two clusters by
    :func:`~tinygrad_attn.viz.plot_graph`), and names the Variables as the chapter does:
    ``hs`` and ``h`` (the inputs, when they have no name yet), ``s`` (scores), ``a`` (weights)
    and ``c`` (context).

    Args:
        score: how a decoder state h is compared with each encoder state hs[t]:
            ``"dot"`` (the chapter: ``h . hs[t]``, no parameters),
            ``"scaled"`` (``h . hs[t] / sqrt(H)``, no parameters),
            ``"general"`` (bilinear ``h W hs[t]``; parameter ``W`` (H, H)),
            ``"additive"`` (Bahdanau ``v . tanh(h W_query + hs[t] W_key)``; parameters
            ``W_query`` (H, A), ``W_key`` (H, A), ``v`` (A,)).
        hidden_size: H; needed by ``"general"`` and ``"additive"``.
        attention_size: A for ``"additive"`` (default H).
        form: ``"matmul"`` (batched matrix products) or ``"book"`` (the book's Repeat -> x -> Sum
            graphs; same values and gradients, slower: for teaching and checking).

    ``mask`` (call argument): a boolean array, True where attention is allowed — (N, T_enc) for
    key padding (e.g. ``xs != pad_id``) or any shape broadcastable to the scores; masked
    positions get weight exactly 0 (see :func:`~tinygrad_attn.functions.masked_softmax`).

    Cost (matmul form, dot scores): two batched matmuls ((N, T_dec, H) x (N, H, T_enc) for the
    scores, (N, T_dec, T_enc) x (N, T_enc, H) for the contexts); ``hs`` is never repeated in memory.
    """

    def __init__(self, score="dot", hidden_size=None, attention_size=None, form="matmul",
                 dtype=np.float32, rng=None):
        super().__init__()
        if score not in ATTENTION_SCORES:
            raise ValueError(f"Attention: score must be one of {ATTENTION_SCORES}, got {score!r}")
        if form not in ATTENTION_FORMS:
            raise ValueError(f"Attention: form must be one of {ATTENTION_FORMS}, got {form!r}")
        if score in ("general", "additive") and not (isinstance(hidden_size, (int, np.integer))
                                                     and hidden_size > 0):
            raise ValueError(f"Attention: score {score!r} needs a positive hidden_size, got {hidden_size!r}")
        self.score, self.form, self.hidden_size = score, form, hidden_size
        if score == "general":
            self.W = I.scaled_normal((hidden_size, hidden_size), dtype, rng, name="W")
        elif score == "additive":
            A = hidden_size if attention_size is None else int(attention_size)
            if A <= 0:
                raise ValueError(f"Attention: attention_size must be positive, got {attention_size!r}")
            self.W_query = I.scaled_normal((hidden_size, A), dtype, rng, name="W_query")
            self.W_key = I.scaled_normal((hidden_size, A), dtype, rng, name="W_key")
            self.v = I.scaled_normal((A,), dtype, rng, name="v")
        self.weights = None
        self.score_values = None

    def scores(self, hs, h):
        """The scores before the softmax: (N, T_enc) or (N, T_dec, T_enc)."""
        if self.score in ("general", "additive") and (len(hs.shape) == 0
                                                     or hs.shape[-1] != self.hidden_size):
            raise OpError(f"Attention({self.score!r}): hs {hs.shape} must have width "
                          f"hidden_size={self.hidden_size}")
        if self.score == "dot":
            return F.dot_score(hs, h, form=self.form)
        if self.score == "scaled":
            return F.dot_score(hs, h, scale=True, form=self.form)
        if self.score == "general":
            return F.general_score(hs, h, self.W, form=self.form)
        return F.additive_score(hs, h, self.W_query, self.W_key, self.v)

    def forward(self, hs, h, mask=None):
        with name_scope("AttentionWeight"):          # the book's two layers, as two scopes
            s = _named(self.scores(hs, h), "s")
            a = _named(F.masked_softmax(s, mask), "a")
        self.score_values = s.data
        self.weights = a.data
        return F.weight_sum(hs, a, form=self.form)   # in its own scope WeightSum, named "c"

    def extra_repr(self):
        parts = [] if self.score == "dot" else [f"score={self.score!r}"]
        if self.form != "matmul":
            parts.append(f"form={self.form!r}")
        return ", ".join(parts)


TimeAttention = Attention
"""The book's name for attention over all decoder steps; the same layer as :class:`Attention`."""
