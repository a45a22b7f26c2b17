"""Linear, Embedding and Dropout layers."""
from __future__ import annotations

import numpy as np

from .. import functions as F
from ..core import OpError
from . import init as I
from .base import Layer

__all__ = ["Linear", "Embedding", "Dropout"]


class Linear(Layer):
    """Affine layer ``y = x W + b`` over the last axis.

    Args:
        in_size: input width D.
        out_size: output width O.
        bias: add a bias (zeros at start).
        init: ``"xavier"`` (default: std ``sqrt(2 / (D + O))``), ``"he"`` (for ReLU stacks:
            std ``sqrt(2 / D)``) or ``"scaled"`` (the book's Affine layers: std ``1 / sqrt(D)``).
        dtype: parameter dtype (float32 by default).
        rng: a NumPy Generator (default: the library's, see :func:`tinygrad_attn.seed`).

    Shapes: x (..., D) -> (..., O). Cost: one GEMM of (prod(...), D) x (D, O) for all
    leading positions, e.g. every time step at once.
    """

    def __init__(self, in_size, out_size, bias=True, init="xavier", dtype=np.float32, rng=None):
        super().__init__()
        self.in_size, self.out_size = in_size, out_size
        make = {"xavier": I.xavier_normal, "he": I.he_normal, "scaled": I.scaled_normal}.get(init)
        if make is None:
            raise ValueError(f"Linear: init must be 'xavier', 'he' or 'scaled', got {init!r}")
        self.W = make((in_size, out_size), dtype, rng, name="W")
        self.b = I.zeros((out_size,), dtype, name="b") if bias else None

    def forward(self, x):
        if len(x.shape) == 0 or x.shape[-1] != self.in_size:
            raise OpError(f"Linear({self.in_size}, {self.out_size}): input of shape {x.shape} "
                          f"has last axis {x.shape[-1] if len(x.shape) else 'none (0-d)'}, "
                          f"expected {self.in_size}")
        return F.linear(x, self.W, self.b)

    def extra_repr(self):
        return f"{self.in_size}, {self.out_size}"


class Embedding(Layer):
    """Lookup table: integer ids (any shape) -> vectors ids.shape + (D,).

    Args:
        vocab_size: number of ids V.
        dim: vector width D.
        std: standard deviation of the normal initialisation (0.01 as in the book).

    Repeated ids accumulate their gradients (scatter-add in the backward pass).
    """

    def __init__(self, vocab_size, dim, std=0.01, dtype=np.float32, rng=None):
        super().__init__()
        self.vocab_size, self.dim = vocab_size, dim
        self.W = I.normal((vocab_size, dim), std, dtype, rng, name="W")

    def forward(self, ids):
        return F.embedding(self.W, ids)

    def projected(self, ids, W, b=None):
        """``linear(self(ids), W, b)`` as a lookup in the projected table (``F.embedding_projection``).

        Args:
            ids: integer ids, any shape. W: (dim, O), e.g. an LSTM's ``Wx``. b: (O,) or None.

        Returns:
            ids.shape + (O,): the same values as projecting the embeddings, from one
            (V, dim) x (dim, O) product instead of one per id.
        """
        return F.embedding_projection(self.W, ids, W, b)

    def extra_repr(self):
        return f"{self.vocab_size}, {self.dim}"


class Dropout(Layer):
    """Inverted dropout with probability ``p``; the identity in :class:`~tinygrad_attn.test_mode`."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p)

    def extra_repr(self):
        return f"p={self.p}"
