"""Layer cases: one representative call of every layer of ``L``, for the checks and the tests.

Like :mod:`tinygrad_attn.checks.opcases` for ops, one table, :data:`LAYER_CASES`, serves
``tinygrad-attn gradcheck layer NAME`` (:func:`check_layer_case`: the layer's floating
inputs and every parameter against central differences) and ``tests/test_device_matrix.py``
(the same layer on NumPy, the strict stand-in and CuPy: outputs, gradients, an optimizer
step). Adding a layer is one entry::

    LayerCase("layernorm", lambda: L.LayerNorm(4), [normal(2, 3, 4)],
              about="LayerNorm(4) on x (2, 3, 4)", names=("x",)),

Inputs are :class:`~tinygrad_attn.checks.opcases.Draw` objects (floating inputs, drawn from a
seeded Generator) or fixed arrays (integer ids keep their dtype).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import layers as L
from ..core import Variable
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
        names: the inputs' names (``("hs", "h")``), shown by the check's report rows.
    """

    id: str
    make: Callable
    inputs: tuple
    about: str = ""
    names: tuple = ()

    def arrays(self, seed=0) -> list:
        """The host call arguments: floating ones float64 from ``default_rng(seed)``."""
        return draw_inputs(self.inputs, seed)

    def describe(self) -> str:
        """``about``, or the input shapes when it is empty."""
        return self.about or describe_inputs(self.inputs)


_KMASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool).reshape(2, 1, 1, 5)

LAYER_CASES = (
    LayerCase("linear", lambda: L.Linear(3, 4), (normal(2, 5, 3),),
              "Linear(3, 4) on x (2, 5, 3)", names=("x",)),
    LayerCase("embedding", lambda: L.Embedding(7, 3), (np.array([[0, 6, 6, 2], [1, 0, 2, 2]]),),
              "Embedding(7, 3) on ids (2, 4) with repeats", names=("ids",)),
    LayerCase("lstmcell", lambda: L.LSTMCell(3, 4), (normal(2, 3), normal(2, 4), normal(2, 4)),
              "LSTMCell(3, 4) on x (2, 3), h (2, 4), c (2, 4); output (h, c) concatenated", names=("x", "h", "c")),
    LayerCase("lstm", lambda: L.LSTM(3, 4), (normal(2, 5, 3), normal(2, 4), normal(2, 4)),
              "LSTM(3, 4) on xs (2, 5, 3), h0 (2, 4), c0 (2, 4)", names=("xs", "h0", "c0")),
    LayerCase("gru", lambda: L.GRU(3, 4), (normal(2, 5, 3), normal(2, 4)),
              "GRU(3, 4) on xs (2, 5, 3), h0 (2, 4)", names=("xs", "h0")),
    LayerCase("bidirectional", lambda: L.Bidirectional(L.LSTM(3, 2), L.LSTM(3, 2)),
              (normal(2, 4, 3),), "Bidirectional(LSTM(3, 2), LSTM(3, 2)) on xs (2, 4, 3)", names=("xs",)),
    LayerCase("stacked", lambda: L.StackedLSTM(3, [4, 4, 5], residual=True), (normal(2, 4, 3),),
              "StackedLSTM(3, [4, 4, 5], residual) on xs (2, 4, 3)", names=("xs",)),
    LayerCase("attention", lambda: L.Attention(), (normal(2, 5, 4), normal(2, 4)),
              "Attention() on hs (2, 5, 4), h (2, 4)", names=("hs", "h")),
    LayerCase("timeattention", lambda: L.TimeAttention(), (normal(2, 5, 4), normal(2, 3, 4)),
              "TimeAttention() on hs_enc (2, 5, 4), hs_dec (2, 3, 4)", names=("hs", "h")),
    LayerCase("attention-general", lambda: L.Attention("general", hidden_size=4),
              (normal(2, 5, 4), normal(2, 3, 4), np.array([[True, False, True, True, True]] * 2)),
              "Attention('general', 4) on hs (2, 5, 4), h (2, 3, 4), key mask (2, 5)", names=("hs", "h", "mask")),
    LayerCase("attention-additive", lambda: L.Attention("additive", hidden_size=4, attention_size=3),
              (normal(2, 5, 4), normal(2, 4), np.array([[False, False, True, True, True],
                                                       [False, False, False, False, False]])),
              "Attention('additive', 4, A=3) on hs (2, 5, 4), h (2, 4), key mask with an empty row", names=("hs", "h", "mask")),
    # the Transformer's layers (dropout variants and post-norm: tests/layers/test_transformer_layers.py)
    LayerCase("layernorm", lambda: L.LayerNorm(5), (normal(2, 3, 5),), "LayerNorm(5) on x (2, 3, 5)"),
    LayerCase("mha", lambda: L.MultiHeadAttention(4, 2), (normal(2, 3, 4), normal(2, 5, 4), _KMASK),
              "MultiHeadAttention(4, 2) cross-attention: x (2, 3, 4) over memory (2, 5, 4), "
              "key-padding mask (2, 1, 1, 5)", names=("x", "memory", "mask")),
    LayerCase("feedforward", lambda: L.PositionwiseFeedForward(4, 6), (normal(2, 3, 4),),
              "PositionwiseFeedForward(4, 6) on x (2, 3, 4)", names=("x",)),
    LayerCase("positions", lambda: L.PositionalEncoding(4, "learned", max_len=6), (normal(2, 3, 4),),
              "PositionalEncoding(4, 'learned') on x (2, 3, 4)", names=("x",)),
    LayerCase("encoderblock", lambda: L.TransformerEncoderBlock(4, 2, 6), (normal(2, 5, 4), _KMASK),
              "TransformerEncoderBlock(4, 2, 6, pre-norm) on x (2, 5, 4), key-padding mask", names=("x", "mask")),
    LayerCase("decoderblock", lambda: L.TransformerDecoderBlock(4, 2, 6),
              (normal(2, 3, 4), normal(2, 5, 4), np.tri(3, dtype=bool), _KMASK),
              "TransformerDecoderBlock(4, 2, 6, pre-norm) on x (2, 3, 4), memory (2, 5, 4), "
              "causal and key-padding masks", names=("x", "memory", "causal mask", "key mask")),
    LayerCase("ntm", lambda: L.NTM(3, memory_rows=6, memory_width=3, hidden_size=4,
                                   memory_init=0.1), (normal(2, 3, 3),),
              "NTM(3, memory 6x3, hidden 4) on xs (2, 3, 3)", names=("xs",)),
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
    ``eps``, ``atol``, ``rtol``, ...); the result is titled ``"layer case <id>: <description>"``
    and its input rows carry the case's input ``names``.
    An unknown id raises KeyError.
    """
    c = find_case(LAYER_CASES, layer_case_or_id, "layer")
    seed_library(seed)
    args = [Variable(a, name=n) if n and a.dtype.kind == "f" else a
            for a, n in zip(c.arrays(seed), tuple(c.names) + (None,) * len(c.inputs))]
    result = check_layer(c.make(), *args, seed=seed, **check_options)
    for i, n in enumerate(c.names):           # held-constant inputs (masks, ids) by name too
        if not isinstance(args[i], Variable):
            result.notes = [t.replace(f"input {i} (not floating", f"{n} (not floating")
                            .replace(f"input {i}, ", f"{n}, ") for t in result.notes]
    result.title = f"layer case {c.id}: {c.describe()}"
    return result
