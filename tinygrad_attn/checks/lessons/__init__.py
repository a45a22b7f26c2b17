"""Lessons: code written to teach, not used by the framework itself.

* :mod:`~tinygrad_attn.checks.lessons.hand_derived`: the chapter's backward passes derived by
  hand on raw arrays (AttentionWeight, WeightSum, one LSTM step), compared with the engine.
* :mod:`~tinygrad_attn.checks.lessons.skip_connections`: gradient flow through a deep LSTM stack
  with and without residual connections.

``import tinygrad_attn`` does not import this package; ``tinygrad_attn.checks.lessons`` (or
``import tinygrad_attn.checks.lessons``) loads it on first use.
"""
from . import hand_derived, skip_connections
from .hand_derived import compare_attention, compare_lstm_step
from .skip_connections import compare_skip_connections

__all__ = ["hand_derived", "skip_connections", "compare_attention", "compare_lstm_step",
           "compare_skip_connections"]
