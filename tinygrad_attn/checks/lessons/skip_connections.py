"""The skip-connection demo: gradient flow through a deep LSTM stack with and without skips.

Gradients that shrink by orders of magnitude from the last layers to the first are
*vanishing*; residual (skip) connections, which add a layer's input to its output, let
the gradient reach the first layers unchanged. :func:`compare_skip_connections` shows it
on a deep :class:`~tinygrad_attn.layers.StackedLSTM`; the measuring tools are in
:mod:`tinygrad_attn.checks.gradflow`.
"""
from __future__ import annotations

import numpy as np

from ... import functions as F
from ...core import Variable
from ...layers import StackedLSTM
from ..gradflow import grad_flow

__all__ = ["compare_skip_connections"]


def compare_skip_connections(num_layers=8, seq_len=50, batch=4, size=16, seed=0):
    """One backward pass through a deep StackedLSTM, with and without residual connections.

    Both stacks get the same weights (same seed) and the same data; the loss is the mean
    squared error of the top layer's outputs at every step against a random target.

    Args:
        num_layers: LSTM layers in the stack.
        seq_len: T, the sequence length.
        batch: N.
        size: input and hidden width (equal, so the skips need no projection).
        seed: seed of the weights, inputs and target.

    Returns:
        ``{"with skips": rows, "without skips": rows}``: :class:`~tinygrad_attn.checks.gradflow.FlowRow`
        lists per parameter (names ``layers.<k>.Wx`` etc.); ``group_norms(rows)`` gives one
        row per layer.

    Raises:
        ValueError: a size that is not a positive integer.
    """
    for name, v in (("num_layers", num_layers), ("seq_len", seq_len), ("batch", batch),
                    ("size", size)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"compare_skip_connections: {name} must be a positive integer, "
                             f"got {v!r}")
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((batch, seq_len, size))
    target = rng.standard_normal((batch, seq_len, size))
    out = {}
    for label, residual in (("with skips", True), ("without skips", False)):
        stack = StackedLSTM(size, size, num_layers=num_layers, residual=residual,
                            dtype=np.float64, rng=np.random.default_rng(seed + 1))
        loss = F.mean_squared_error(stack(Variable(xs)), Variable(target))
        loss.backward()
        out[label] = grad_flow(stack)
    return out
