"""Scoring a model on data: exact match for text, bit errors at chosen lengths for bits.

What a batch is scored by belongs to its :class:`~tinygrad_attn.data.task.Task`
(``task.score``); this module adds what evaluation needs beyond one batch.
"""
from __future__ import annotations

import numpy as np

from ..data.bits import BitsTask
from ..data.dataset import greedy_decode

__all__ = ["evaluate", "evaluate_bits", "check_int"]


def check_int(who, name, value, low):
    """Raise ValueError unless ``value`` is an integer >= ``low`` (not a bool)."""
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
            and value >= low):
        raise ValueError(f"{who}: {name} must be an integer >= {low}, got {value!r}")


def evaluate(model, x, t, batch_size=512, return_predictions=False):
    """Exact-match accuracy of greedy decoding.

    Args:
        model: a seq2seq model.
        x: (N, T_in) input ids. t: (N, 1 + T_out) start id + answer ids.
        batch_size: decoding batch size.
        return_predictions: also return the predicted ids (N, T_out).

    Returns:
        The fraction of rows whose whole answer is right (and the predictions if asked).
    """
    check_int("evaluate", "batch_size", batch_size, 1)
    if len(x) == 0:
        return (0.0, np.zeros((0, t.shape[1] - 1), np.int64)) if return_predictions else 0.0
    pred = greedy_decode(model, x, int(t[0, 0]), t.shape[1] - 1, batch_size)
    acc = float((pred == np.asarray(t[:, 1:])).all(axis=1).mean())
    return (acc, pred) if return_predictions else acc


def evaluate_bits(model, task, lengths, samples=256, seed=1, **params):
    """Bit errors per sequence of a bits model (one with ``metrics``) at fixed lengths.

    Args:
        model: e.g. the NTM or the LSTM baseline.
        task: a :class:`~tinygrad_attn.data.BitsTask`, or its name (``"copy"`` or
            ``"repeat-copy"``) with the generator's options in ``params``.
        lengths: the sequence lengths to test, e.g. ``[10, 20, 30]``.
        samples: sequences per length.
        seed: the test data of length L comes from seed ``[seed, L]``.
        **params: the generator's other options (``width``; ``max_repeats`` for repeat copy).

    Returns:
        ``{L: model.metrics(...)}``: ``acc``, ``bit_errors`` and ``loss`` per length.
    """
    bits = task if isinstance(task, BitsTask) else BitsTask(task, params)
    out = {}
    for L in lengths:
        x, t = bits.generate(samples, int(L), seed=[seed, int(L)])
        out[int(L)] = bits.score(model, x, t)
    return out
