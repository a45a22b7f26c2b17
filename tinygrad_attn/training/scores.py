"""How sure a model is of its answers, and what is wrong with an answer or an input.

:class:`Translation` is one input's result: the answer, the probability the model gives the
whole answer, its least certain character, and a note when the answer cannot be right (for
the date task: not a real calendar date, from the task's ``check_answer``) or the input was
refused. :func:`answer_scores`
computes the probabilities of given answers by one teacher-forced pass of the model, so the
same numbers come out for greedy decoding (the product of the chosen characters'
probabilities) and for beam search (the exponential of the beam's total log-probability).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import as_numpy, get_array_module
from ..core import no_grad, test_mode

__all__ = ["Translation", "answer_scores"]


@dataclass(frozen=True)
class Translation:
    """One input and what the model made of it.

    Attributes:
        text: the input as given.
        answer: the answer (padding stripped), or None when the input was refused.
        output: every character the model wrote, padding included (``char_probs`` and
            ``least_index`` refer to it; for fixed-width answers such as dates it is the
            answer).
        prob: the probability the model gives the whole answer (product of its characters'
            probabilities, each given the characters before it), or None when refused or
            when the model cannot score answers (it has no ``logits(xs, dec_in)``).
        char_probs: the probability of each answer character, in order.
        least_index: 0-based position of the least certain character (None when refused
            or the answer is empty).
        problem: why the answer cannot be right (``"not a real date: ..."``), or None.
        refused: why the input was not translated (unknown characters, too long, empty),
            or None.
    """

    text: str
    answer: str | None
    output: str | None = None
    prob: float | None = None
    char_probs: tuple = ()
    least_index: int | None = None
    problem: str | None = None
    refused: str | None = None

    @property
    def least_char(self) -> str | None:
        """The least certain character of the answer (None when there is none)."""
        return None if self.least_index is None else self.output[self.least_index]

    @property
    def least_prob(self) -> float | None:
        """That character's probability."""
        return None if self.least_index is None else self.char_probs[self.least_index]

    def __str__(self) -> str:
        return "" if self.answer is None else self.answer


def answer_scores(model, x, answer_ids, start_id):
    """Probability of each answer character, given the input and the characters before it.

    Args:
        model: a seq2seq model with ``logits(xs, dec_in)`` (teacher forcing).
        x: (N, T_in) input ids, as the model reads them.
        answer_ids: (N, T_out) the answers' ids (e.g. from ``generate`` or ``beam_search``).
        start_id: the decoder's start id.

    Returns:
        A host float64 array (N, T_out): entry (n, t) is the model's probability of
        ``answer_ids[n, t]``. The product along a row is the whole answer's probability.
    """
    answer_ids = np.asarray(answer_ids, dtype=np.int64)
    if answer_ids.ndim != 2 or answer_ids.shape[0] != x.shape[0] or answer_ids.shape[1] < 1:
        raise ValueError(f"answer_scores: answer_ids must be (N, T_out) with N = {x.shape[0]}, "
                         f"got {answer_ids.shape}")
    xp = get_array_module(x)
    ids = xp.asarray(answer_ids).astype(x.dtype)
    dec_in = xp.concatenate([xp.full((x.shape[0], 1), int(start_id), dtype=x.dtype),
                             ids[:, :-1]], axis=1)
    with no_grad(), test_mode():
        logits = as_numpy(model.logits(x, dec_in).data).astype(np.float64)  # (N, T, V)
    logits -= logits.max(axis=-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    chosen = np.take_along_axis(logp, answer_ids[:, :, None], axis=-1)[:, :, 0]
    return np.exp(chosen)
