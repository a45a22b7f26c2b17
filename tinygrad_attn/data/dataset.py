"""Turning question/answer pairs into padded id arrays for seq2seq training."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .addition import ADDITION_ALPHABET, addition_widths, make_addition
from .dates import DATE_ALPHABET, DATE_ANSWER_LEN, MAX_DATE_QUESTION_LEN, make_dates
from .textfile import check_pair, load_text
from .vocab import MAX_VOCAB, PAD_CHAR, START_CHAR, Vocabulary

__all__ = ["Seq2seqData", "load_dataset", "encode_questions", "decode_answers"]


@dataclass
class Seq2seqData:
    """Encoded train/validation split of a seq2seq task.

    Attributes:
        x_train: int32 (N_train, in_width) question ids, padded (and reversed
            along time when ``reversed_input``).
        t_train: int32 (N_train, 1 + out_width) targets: start symbol ``"_"``
            followed by the padded answer ids.
        x_val: int32 (N_val, in_width) validation questions.
        t_val: int32 (N_val, 1 + out_width) validation targets.
        vocab: The vocabulary used for both questions and answers.
        reversed_input: Whether the question ids are time-reversed.
        in_width: Question length T_in.
        out_width: Answer length T_out (excluding the start symbol).
    """

    x_train: np.ndarray = field(repr=False)
    t_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    t_val: np.ndarray = field(repr=False)
    vocab: Vocabulary
    reversed_input: bool
    in_width: int
    out_width: int

    def __post_init__(self) -> None:
        """Check the array shapes against the widths.

        Raises:
            ValueError: If an array is not 2-D with the expected width, or
                x/t row counts disagree.
        """
        for name, arr, width in (("x_train", self.x_train, self.in_width),
                                 ("x_val", self.x_val, self.in_width),
                                 ("t_train", self.t_train, self.out_width + 1),
                                 ("t_val", self.t_val, self.out_width + 1)):
            if arr.ndim != 2 or arr.shape[1] != width:
                raise ValueError(f"{name} must have shape (N, {width}), got {arr.shape}")
        if len(self.x_train) != len(self.t_train) or len(self.x_val) != len(self.t_val):
            raise ValueError("x and t must have the same number of rows")

    @property
    def train_size(self) -> int:
        """int: Number of training examples."""
        return len(self.x_train)

    @property
    def val_size(self) -> int:
        """int: Number of validation examples."""
        return len(self.x_val)

    @property
    def vocab_size(self) -> int:
        """int: Number of distinct ids (embedding table size)."""
        return len(self.vocab)


def encode_questions(texts: str | Sequence[str], vocab: Vocabulary, width: int,
                     reverse: bool = False) -> np.ndarray:
    """Encode user questions for translation, as the model was trained.

    Args:
        texts: One question or a sequence of N questions.
        vocab: The model's vocabulary.
        width: The model's input width T_in.
        reverse: Reverse along time (for models trained with reversed input).

    Returns:
        int32 array of shape (N, width) (N = 1 for a single string).

    Raises:
        ValueError: If a question is longer than ``width`` or contains
            characters the vocabulary lacks; the message names the input.
    """
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for text in texts:
        if len(text) > width:
            raise ValueError(f"input {text!r} is {len(text)} characters; "
                             f"this model reads at most {width}")
        unknown = vocab.unknown_chars(text)
        if unknown:
            raise ValueError(f"input {text!r} contains character(s) this model does not know: "
                             f"{', '.join(repr(c) for c in unknown)}")
    x = vocab.encode_batch(texts, width=width)
    return np.ascontiguousarray(x[:, ::-1]) if reverse else x


def decode_answers(ids: np.ndarray | Sequence[Sequence[int]], vocab: Vocabulary) -> list[str]:
    """Decode answer ids to strings, dropping the start symbol and padding.

    A leading start symbol is removed, then the pad character is stripped
    from both ends of each answer.

    Args:
        ids: Integer array of shape (N, T); a 1-D (T,) array counts as one row.
        vocab: The vocabulary.

    Returns:
        N answer strings.

    Raises:
        ValueError: If ids are out of range or have more than two dimensions.
    """
    arr = np.asarray(ids)
    if arr.ndim == 1:
        arr = arr[None, :]
    out = []
    for s in vocab.decode_batch(arr):
        if s.startswith(vocab.start_char):
            s = s[1:]
        out.append(s.strip(vocab.pad_char))
    return out


def load_dataset(source: str | os.PathLike = "date", samples: int = 50000, seed: int = 0,
                 val_fraction: float = 0.1, reverse_input: bool = False,
                 vocab: Vocabulary | None = None) -> Seq2seqData:
    """Build the encoded train/validation data for a seq2seq task.

    Args:
        source: ``"date"`` (see :func:`make_dates`; dates 1970-01-01..2026-11-24),
            ``"addition"`` (3-digit operands) or a path to a text file in the
            book's format (then ``samples`` is ignored and every line is used).
        samples: Number of generated examples for ``"date"``/``"addition"``.
        seed: Seed for generation and for the train/validation shuffle.
        val_fraction: Fraction of examples (rounded) held out, in [0, 1).
        reverse_input: Reverse the question ids along time.
        vocab: Vocabulary to use (e.g. from a checkpoint); built from the
            data (plus the generator's full alphabet) when None.

    Returns:
        The :class:`Seq2seqData`. For ``"date"``: in_width 29, out_width 10;
        for ``"addition"``: 7 and 4; for files: the longest question/answer.

    Raises:
        FileNotFoundError: If ``source`` is neither a known name nor a file.
        ValueError: If ``samples`` < 1, ``val_fraction`` is outside [0, 1),
            the split leaves no training data, text has unknown characters, the file breaks
            a rule of :func:`~tinygrad_attn.data.load_text` (checked with the given
            vocabulary's start and padding characters too), or it uses more than
            :data:`~tinygrad_attn.data.vocab.MAX_VOCAB` distinct characters.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    alphabet = ""
    if isinstance(source, str) and source in ("date", "addition"):
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        if source == "date":
            pairs = make_dates(samples, seed=seed)
            in_width, out_width, alphabet = MAX_DATE_QUESTION_LEN, DATE_ANSWER_LEN, DATE_ALPHABET
        else:
            pairs = make_addition(samples, seed=seed)
            (in_width, out_width), alphabet = addition_widths(3), ADDITION_ALPHABET
    else:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"source must be 'date', 'addition' or a path, got {source!r}")
        if not os.path.lexists(source):
            raise FileNotFoundError(f"source {os.fspath(source)!r} is not 'date', 'addition' "
                                    f"or an existing text file")
        pairs = load_text(source)  # refuses folders, FIFOs, devices and bad lines itself
        in_width = max(len(q) for q, _ in pairs)
        out_width = max(len(a) for _, a in pairs)
        if vocab is not None and (vocab.start_char, vocab.pad_char) != (START_CHAR, PAD_CHAR):
            for i, (q, a) in enumerate(pairs):  # the given vocabulary's own special characters
                check_pair(q, a, f"{os.fspath(source)}:{i + 1}", vocab.start_char, vocab.pad_char)

    questions = [q for q, _ in pairs]
    if vocab is None:
        vocab = Vocabulary.from_texts([alphabet, *questions, *(a for _, a in pairs)])
        if len(vocab) > MAX_VOCAB:
            raise ValueError(f"{os.fspath(source)}: the data uses {len(vocab):,} distinct "
                             f"characters; a vocabulary holds at most {MAX_VOCAB:,}")
    start = vocab.start_char
    x = vocab.encode_batch(questions, width=in_width)
    t = vocab.encode_batch([start + a for _, a in pairs], width=out_width + 1)
    if reverse_input:
        x = np.ascontiguousarray(x[:, ::-1])

    n = len(pairs)
    n_val = int(round(n * val_fraction))
    if n - n_val < 1:
        raise ValueError(f"val_fraction {val_fraction} leaves no training examples out of {n}")
    order = np.random.default_rng([seed, 1]).permutation(n)
    train_idx, val_idx = order[: n - n_val], order[n - n_val:]
    return Seq2seqData(x_train=x[train_idx], t_train=t[train_idx],
                       x_val=x[val_idx], t_val=t[val_idx], vocab=vocab,
                       reversed_input=bool(reverse_input), in_width=in_width,
                       out_width=out_width)
