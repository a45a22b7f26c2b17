"""Strings in, strings out: a trained text model with its task (vocabulary, widths)."""
from __future__ import annotations

import numpy as np

from ..data.dataset import TextTask
from ..npzfile import CheckpointError
from .checkpoint import load_checkpoint
from .scores import Translation, answer_scores

__all__ = ["Translator"]


class Translator:
    """Translate strings with a trained model.

    Args:
        model: the seq2seq model.
        task: its :class:`~tinygrad_attn.data.TextTask` (vocabulary, widths, reversal).
    """

    def __init__(self, model, task: TextTask):
        if not isinstance(task, TextTask):
            raise TypeError(f"Translator: task must be a TextTask, got {type(task).__name__}")
        self.model, self.task = model, task
        self.vocab = task.vocab
        self.in_width, self.out_width = task.in_width, task.out_width
        self.reversed_input = task.reversed_input

    @classmethod
    def from_checkpoint(cls, path, device="cpu"):
        """Load a checkpoint of a text task written by :func:`save_checkpoint`.

        Raises:
            CheckpointError: the file is bad, or its task is not text (a binary-vector model
                is not a translator).
        """
        model, info = load_checkpoint(path, device)
        if not isinstance(info.task, TextTask):
            kind = "no task" if info.task is None else f"a {info.task.title}"
            raise CheckpointError(f"{path} holds a model of {kind} ({info.model_name}), not a "
                                  "translator of text: use `tinygrad-attn eval` (or `memory` for "
                                  "an NTM)")
        return cls(model, info.task)

    def encode(self, texts):
        """Ids (N, in_width) for ``texts``; raises ValueError naming unknown chars or long inputs."""
        return self.task.encode(texts)

    def translate(self, texts, return_attention=False, beam_width=1):
        """Translate a list of strings; optionally also return attention weights (N, T_out, T_in).

        Args:
            texts: the inputs (a list of non-empty strings).
            return_attention: also return the attention weights (None for models without).
            beam_width: 1 for greedy decoding, more for beam search.

        The attention columns are in the order the characters were written (un-reversed).

        Raises:
            ValueError: no texts, an empty text, unknown characters, a text longer than
                the model reads, or a bad ``beam_width``.
        """
        if isinstance(texts, str):
            raise TypeError("Translator.translate expects a list of strings, got one str "
                            "(wrap it in a list)")
        texts = list(texts)
        if not texts:
            raise ValueError("Translator.translate: no texts given")
        for i, t in enumerate(texts):
            if isinstance(t, str) and not t.strip():
                raise ValueError(f"input {i} is empty (only spaces); there is nothing to "
                                 "translate")
        self._check_beam(beam_width)
        ids = self.encode(texts)
        out = self._decode(ids, beam_width)
        answers = self.task.decode(out)
        if not return_attention:
            return answers
        w = self.model.attention_weights
        if w is not None and self.reversed_input:
            w = w[:, :, ::-1]
        return answers, w

    def refusal(self, text):
        """Why ``text`` cannot be translated (empty, too long, unknown characters), or None."""
        if not isinstance(text, str):
            return f"not text: {type(text).__name__}"
        if not text.strip():
            return "empty (only spaces); there is nothing to translate"
        try:
            self.encode([text])
        except ValueError as e:
            return str(e)
        return None

    def translate_with_scores(self, texts, beam_width=1, refuse=False):
        """Translate and say how sure the model is: one :class:`~tinygrad_attn.training.scores.Translation` per text.

        Each result holds the answer, the probability of the whole answer (greedy: the product
        of the chosen characters' probabilities; beam search: the winning beam's probability,
        the same product for its characters), every character's probability, the least
        certain character, and the task's note on the answer (a
        :class:`~tinygrad_attn.data.DateTask` says when it is not a real calendar date). A
        model without a teacher-forced ``logits(xs, dec_in)`` method gives answers without
        probabilities (``prob`` None).

        Args:
            texts: the inputs (a list of strings).
            beam_width: 1 for greedy decoding, more for beam search.
            refuse: False: a bad input raises ValueError (as :meth:`translate`). True: a bad
                input gives a result with ``refused`` set (and no answer); the others are
                translated.

        Raises:
            ValueError: no texts, a bad ``beam_width``, or (``refuse=False``) a bad input.
        """
        if isinstance(texts, str):
            raise TypeError("Translator.translate_with_scores expects a list of strings, got "
                            "one str (wrap it in a list)")
        texts = list(texts)
        if not texts:
            raise ValueError("Translator.translate_with_scores: no texts given")
        self._check_beam(beam_width)
        reasons = [self.refusal(t) for t in texts]
        if not refuse:
            for i, why in enumerate(reasons):
                if why is not None:
                    raise ValueError(f"input {i}: {why}")
        keep = [i for i, why in enumerate(reasons) if why is None]
        results = [Translation(text=t, answer=None, refused=why) for t, why in zip(texts, reasons)]
        if not keep:
            return results
        ids = self.encode([texts[i] for i in keep])
        out = self._decode(ids, beam_width)
        # a model scores its answers through its teacher-forced pass, logits(xs, dec_in); a
        # model without one (e.g. a plugin that only defines forward and generate) gets none
        probs = (answer_scores(self.model, ids, out, self.vocab.start_id)
                 if callable(getattr(self.model, "logits", None)) else None)
        raw = [s[1:] if s.startswith(self.vocab.start_char) else s
               for s in self.vocab.decode_batch(out)]
        for row, i in enumerate(keep):
            answer = raw[row].strip(self.vocab.pad_char)
            scores = {}
            if probs is not None:
                p = probs[row]
                scores = dict(prob=float(np.prod(p)), char_probs=tuple(float(v) for v in p),
                              least_index=int(np.argmin(p)) if len(p) else None)
            results[i] = Translation(text=texts[i], answer=answer, output=raw[row],
                                     problem=self.task.check_answer(answer), **scores)
        return results

    def _check_beam(self, beam_width):
        if not (isinstance(beam_width, int) and not isinstance(beam_width, bool)
                and beam_width >= 1):
            raise ValueError(f"Translator.translate: beam_width must be an integer >= 1, "
                             f"got {beam_width!r}")

    def _decode(self, ids, beam_width):
        """Answer ids (N, out_width) by greedy decoding or beam search."""
        if beam_width > 1:
            out, _ = self.model.beam_search(ids, self.vocab.start_id, self.out_width, beam_width)
            return out
        return self.model.generate(ids, self.vocab.start_id, self.out_width)
