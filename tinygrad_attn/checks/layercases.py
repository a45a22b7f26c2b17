"""Layer cases: one representative call of every layer of ``L``, for the checks and the tests.

Like :mod:`tinygrad_attn.checks.opcases` for ops, one table, :data:`LAYER_CASES`, serves
``tinygrad-attn gradcheck layer NAME`` (:func:`check_layer_case`: the layer's floating
inputs and every parameter against central differences) and ``tests/test_device_matrix.py``
(the same layer on NumPy, the strict stand-in and CuPy: outputs, gradients, an optimizer
step). Adding a layer is one entry::

    LayerCase("layernorm", lambda: L.LayerNorm(4), [normal(2, 3, 4)],
              about="LayerNorm(4) on x (2, 3, 4)"),

Inputs are :class:`~tinygrad_attn.checks.opcases.Draw` objects (floating inputs, drawn from a
seeded Generator) or fixed arrays (integer ids keep their dtype).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import layers as L
from ..seeding import seed as seed_library
from .gradcheck import check_layer
from .opcases import describe_inputs, draw_inputs, find_case, normal

__all__ = ["LayerCase", "LAYER_CASES", "layer_case", "layer_case_ids", "check_layer_case"]


@dataclass(frozen=True)
class LayerCase:
    """One layer and the arguments of one call.

    Attributes:
        id: the case's name (for ``tinygrad-attn gradcheck layer`` and test ids).
        make: ``make() -> Layer``, a new layer (float32, initialised from the library RNG).
        inputs: one :class:`~tinygrad_attn.checks.opcases.Draw` or fixed array per call argument.
        about: a one-line description (default: the input shapes).
    """

    id: str
    make: Callable
    inputs: tuple
    about: str = ""

    def arrays(self, seed=0) -> list:
        """The host call arguments: floating ones float64 from ``default_rng(seed)``."""
        return draw_inputs(self.inputs, seed)

    def describe(self) -> str:
        """``about``, or the input shapes when it is empty."""
        return self.about or describe_inputs(self.inputs)


_KMASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool).reshape(2, 1, 1, 5)

LAYER_CASES = (
    LayerCase("linear", lambda: L.Linear(3, 4), (normal(2, 5, 3),),
              "Linear(3, 4) on x (2, 5, 3)"),
    LayerCase("embedding", lambda: L.Embedding(7, 3), (np.array([[0, 6, 6, 2], [1, 0, 2, 2]]),),
              "Embedding(7, 3) on ids (2, 4) with repeats"),
    LayerCase("lstmcell", lambda: L.LSTMCell(3, 4), (normal(2, 3), normal(2, 4), normal(2, 4)),
              "LSTMCell(3, 4) on x (2, 3), h (2, 4), c (2, 4); output (h, c) concatenated"),
    LayerCase("lstm", lambda: L.LSTM(3, 4), (normal(2, 5, 3), normal(2, 4), normal(2, 4)),
              "LSTM(3, 4) on xs (2, 5, 3), h0 (2, 4), c0 (2, 4)"),
    LayerCase("gru", lambda: L.GRU(3, 4), (normal(2, 5, 3), normal(2, 4)),
              "GRU(3, 4) on xs (2, 5, 3), h0 (2, 4)"),
    LayerCase("bidirectional", lambda: L.Bidirectional(L.LSTM(3, 2), L.LSTM(3, 2)),
              (normal(2, 4, 3),), "Bidirectional(LSTM(3, 2), LSTM(3, 2)) on xs (2, 4, 3)"),
    LayerCase("stacked", lambda: L.StackedLSTM(3, [4, 4, 5], residual=True), (normal(2, 4, 3),),
              "StackedLSTM(3, [4, 4, 5], residual) on xs (2, 4, 3)"),
    LayerCase("attention", lambda: L.Attention(), (normal(2, 5, 4), normal(2, 4)),
              "Attention() on hs (2, 5, 4), h (2, 4)"),
    LayerCase("timeattention", lambda: L.TimeAttention(), (normal(2, 5, 4), normal(2, 3, 4)),
              "TimeAttention() on hs_enc (2, 5, 4), hs_dec (2, 3, 4)"),
    LayerCase("attention-general", lambda: L.Attention("general", hidden_size=4),
              (normal(2, 5, 4), normal(2, 3, 4), np.array([[True, False, True, True, True]] * 2)),
              "Attention('general', 4) on hs (2, 5, 4), h (2, 3, 4), key mask (2, 5)"),
    LayerCase("attention-additive", lambda: L.Attention("additive", hidden_size=4, attention_size=3),
              (normal(2, 5, 4), normal(2, 4), np.array([[False, False, True, True, True],
                                                       [False, False, False, False, False]])),
              "Attention('additive', 4, A=3) on hs (2, 5, 4), h (2, 4), key mask with an empty row"),
    # the Transformer's layers (dropout variants and post-norm: tests/layers/test_transformer_layers.py)
    LayerCase("layernorm", lambda: L.LayerNorm(5), (normal(2, 3, 5),), "LayerNorm(5) on x (2, 3, 5)"),
    LayerCase("mha", lambda: L.MultiHeadAttention(4, 2), (normal(2, 3, 4), normal(2, 5, 4), _KMASK),
              "MultiHeadAttention(4, 2) cross-attention: x (2, 3, 4) over memory (2, 5, 4), "
              "key-padding mask (2, 1, 1, 5)"),
    LayerCase("feedforward", lambda: L.PositionwiseFeedForward(4, 6), (normal(2, 3, 4),),
              "PositionwiseFeedForward(4, 6) on x (2, 3, 4)"),
    LayerCase("positions", lambda: L.PositionalEncoding(4, "learned", max_len=6), (normal(2, 3, 4),),
              "PositionalEncoding(4, 'learned') on x (2, 3, 4)"),
    LayerCase("encoderblock", lambda: L.TransformerEncoderBlock(4, 2, 6), (normal(2, 5, 4), _KMASK),
              "TransformerEncoderBlock(4, 2, 6, pre-norm) on x (2, 5, 4), key-padding mask"),
    LayerCase("decoderblock", lambda: L.TransformerDecoderBlock(4, 2, 6),
              (normal(2, 3, 4), normal(2, 5, 4), np.tri(3, dtype=bool), _KMASK),
              "TransformerDecoderBlock(4, 2, 6, pre-norm) on x (2, 3, 4), memory (2, 5, 4), "
              "causal and key-padding masks"),
    LayerCase("ntm", lambda: L.NTM(3, memory_rows=6, memory_width=3, hidden_size=4,
                                   memory_init=0.1), (normal(2, 3, 3),),
              "NTM(3, memory 6x3, hidden 4) on xs (2, 3, 3)"),
)
"""Every layer case, one per layer of ``L`` that has parameters or attention."""


def layer_case_ids() -> list:
    """The ids of :data:`LAYER_CASES`, sorted."""
    return sorted(c.id for c in LAYER_CASES)


def layer_case(id) -> LayerCase:
    """The layer case called ``id`` (KeyError, listing the valid ids, when there is none)."""
    return find_case(LAYER_CASES, id, "layer")


def check_layer_case(layer_case_or_id, seed=0, **check_options):
    """Seed the library with ``seed``, build the case's layer, draw its inputs and run
    :func:`~tinygrad_attn.checks.gradcheck.check_layer` (``check_options``: ``max_elements``,
    ``eps``, ``atol``, ``rtol``, ...); the result is titled ``"layer case <id>: <description>"``.
    An unknown id raises KeyError.
    """
    c = find_case(LAYER_CASES, layer_case_or_id, "layer")
    seed_library(seed)
    result = check_layer(c.make(), *c.arrays(seed), seed=seed, **check_options)
    result.title = f"layer case {c.id}: {c.describe()}"
    return result
