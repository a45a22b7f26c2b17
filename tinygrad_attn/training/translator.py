"""Strings in, strings out: a trained text model with its task (vocabulary, widths)."""
from __future__ import annotations

from ..data.dataset import TextTask
from ..npzfile import CheckpointError
from .checkpoint import load_checkpoint

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
        if not (isinstance(beam_width, int) and not isinstance(beam_width, bool)
                and beam_width >= 1):
            raise ValueError(f"Translator.translate: beam_width must be an integer >= 1, "
                             f"got {beam_width!r}")
        ids = self.encode(texts)
        if beam_width > 1:
            out, _ = self.model.beam_search(ids, self.vocab.start_id, self.out_width, beam_width)
        else:
            out = self.model.generate(ids, self.vocab.start_id, self.out_width)
        answers = self.task.decode(out)
        if not return_attention:
            return answers
        w = self.model.attention_weights
        if w is not None and self.reversed_input:
            w = w[:, :, ::-1]
        return answers, w
