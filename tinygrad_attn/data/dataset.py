"""Turning question/answer pairs into padded id arrays for seq2seq training."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .addition import ADDITION_ALPHABET, addition_widths, make_addition
from .dates import (
    DATE_ALPHABET,
    DATE_ANSWER_LEN,
    MAX_DATE_QUESTION_LEN,
    MAX_TYPED_DATE_QUESTION_LEN,
    TYPED_DATE_ALPHABET,
    check_date_answer,
    make_dates,
)
from .task import (MAX_SEQ_WIDTH, MAX_VOCAB, DataSource, Task, TaskError, data_source,
                   data_sources, int_field, is_int, register_data_source, register_task_kind)
from .textfile import check_pair, load_text
from .vocab import PAD_CHAR, START_CHAR, Vocabulary

__all__ = ["TextTask", "greedy_decode", "DateTask", "Seq2seqData", "load_dataset", "encode_questions",
           "decode_answers", "MAX_DATA_IDS", "check_data_size", "GENERATED_TASKS"]

GENERATED_TASKS = ("date", "date-book", "addition")
"""The generated text tasks :func:`load_dataset` knows by name."""


MAX_DATA_IDS = 1 << 28
"""Most ids in the encoded questions and answers of one data set together (1 GiB of int32):
every example is padded to the longest question and answer, so one long line widens them
all; the product is checked before anything is encoded."""


def check_data_size(source, n, in_width, out_width):
    """Refuse ``n`` examples padded to ``in_width`` + ``out_width`` characters when their id
    arrays would pass :data:`MAX_DATA_IDS` (checked before generating or encoding).

    Raises:
        ValueError: naming the source, the product and the bound.
    """
    ids = int(n) * (int(in_width) + int(out_width) + 1)
    if ids > MAX_DATA_IDS:
        raise ValueError(f"{os.fspath(source)}: {int(n):,} examples padded to the longest "
                         f"question ({in_width}) and answer ({out_width}) make {ids:,} ids; at "
                         f"most {MAX_DATA_IDS:,} are encoded (fewer or shorter examples)")
    return ids


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
        source: The generator's name (one of :data:`GENERATED_TASKS`), or None for data
            read from a file; the date generators make :attr:`task` a :class:`DateTask`
            (checkpoints record it, so a date model's answers are checked against the
            calendar).
    """

    x_train: np.ndarray = field(repr=False)
    t_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    t_val: np.ndarray = field(repr=False)
    vocab: Vocabulary
    reversed_input: bool
    in_width: int
    out_width: int
    source: str | None = None

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
    def task(self):
        """The :class:`TextTask` (vocabulary, widths, reversal); a :class:`DateTask` for dates."""
        cls = DateTask if self.source in ("date", "date-book") else TextTask
        return cls(self.vocab, self.in_width, self.out_width, self.reversed_input)

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


def greedy_decode(model, x, start_id: int, length: int, batch_size: int = 512) -> np.ndarray:
    """Host ids ``(N, length)`` that ``model.generate`` writes for ``x``, ``batch_size`` rows at
    a time (what exact-match scoring compares with the answers)."""
    if len(x) == 0:
        return np.zeros((0, length), np.int64)
    return np.concatenate([model.generate(x[i:i + batch_size], start_id, length)
                           for i in range(0, len(x), batch_size)], axis=0)


def load_dataset(source: str | os.PathLike = "date", samples: int = 50000, seed: int = 0,
                 val_fraction: float = 0.1, reverse_input: bool = False,
                 vocab: Vocabulary | None = None) -> Seq2seqData:
    """Build the encoded train/validation data for a seq2seq task.

    Args:
        source: ``"date"`` (dates as people type them: the book's formats and many
            more, see :func:`make_dates`), ``"date-book"`` (only the book's 13 formats,
            dates 1970-01-01..2026-11-24: the chapter's data), ``"addition"`` (3-digit
            operands) or a path to a text file in the book's format (then ``samples`` is
            ignored and every line is used).
        samples: Number of generated examples for the named tasks.
        seed: Seed for generation and for the train/validation shuffle.
        val_fraction: Fraction of examples (rounded) held out, in [0, 1).
        reverse_input: Reverse the question ids along time.
        vocab: Vocabulary to use (e.g. from a checkpoint); built from the
            data (plus the generator's full alphabet) when None.

    Returns:
        The :class:`Seq2seqData`. For ``"date"``: in_width 40, out_width 10; for
        ``"date-book"``: 29 and 10; for ``"addition"``: 7 and 4; for files: the longest
        question/answer.

    Raises:
        FileNotFoundError: If ``source`` is neither a known name nor a file.
        ValueError: If ``samples`` < 1, ``val_fraction`` is outside [0, 1),
            the split leaves no training data, text has unknown characters, the file breaks
            a rule of :func:`~tinygrad_attn.data.load_text` (checked with the given
            vocabulary's start and padding characters too), or it uses more than
            :data:`~tinygrad_attn.data.task.MAX_VOCAB` distinct characters.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    alphabet = ""
    source_name = None
    if isinstance(source, str) and source in GENERATED_TASKS:
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        source_name = source
        if source == "date":
            in_width, out_width = MAX_TYPED_DATE_QUESTION_LEN, DATE_ANSWER_LEN
            alphabet = TYPED_DATE_ALPHABET
            check_data_size(source, samples, in_width, out_width)  # before generating
            pairs = make_dates(samples, seed=seed, formats="typed")
        elif source == "date-book":
            in_width, out_width, alphabet = MAX_DATE_QUESTION_LEN, DATE_ANSWER_LEN, DATE_ALPHABET
            check_data_size(source, samples, in_width, out_width)  # before generating
            pairs = make_dates(samples, seed=seed, formats="book")
        else:
            (in_width, out_width), alphabet = addition_widths(3), ADDITION_ALPHABET
            check_data_size(source, samples, in_width, out_width)
            pairs = make_addition(samples, seed=seed)
    else:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"source must be one of {GENERATED_TASKS} or a path, got {source!r}")
        if not os.path.lexists(source):
            raise FileNotFoundError(f"source {os.fspath(source)!r} is not one of "
                                    f"{', '.join(GENERATED_TASKS)} or an existing text file")
        pairs = load_text(source)  # refuses folders, FIFOs, devices and bad lines itself
        in_width = max(len(q) for q, _ in pairs)
        out_width = max(len(a) for _, a in pairs)
        if vocab is not None and (vocab.start_char, vocab.pad_char) != (START_CHAR, PAD_CHAR):
            for i, (q, a) in enumerate(pairs):  # the given vocabulary's own special characters
                check_pair(q, a, f"{os.fspath(source)}:{i + 1}", vocab.start_char, vocab.pad_char)

    check_data_size(source, len(pairs), in_width, out_width)  # before encoding
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
                       out_width=out_width, source=source_name)


@register_task_kind
class TextTask(Task):
    """Character sequences with a vocabulary: questions in, answers out.

    Args:
        vocab: the :class:`~tinygrad_attn.data.Vocabulary` of questions and answers.
        in_width: characters the model reads (questions are padded to it).
        out_width: ids the model generates (answers are padded to it).
        reversed_input: the model reads its input reversed (the book's trick).
    """

    kind = "text"
    title = "text task"
    model_kind = "text"
    commands = frozenset({"train", "eval", "translate", "attention", "explore"})

    def __init__(self, vocab, in_width: int, out_width: int, reversed_input: bool = False):
        for name, v in (("in_width", in_width), ("out_width", out_width)):
            if not is_int(v) or not 1 <= v <= MAX_SEQ_WIDTH:
                raise TaskError(f"TextTask: {name} must be an integer in [1, {MAX_SEQ_WIDTH}], "
                                f"got {v!r}")
        self.vocab, self.in_width, self.out_width = vocab, int(in_width), int(out_width)
        self.reversed_input = bool(reversed_input)

    def model_fields(self) -> dict:
        """``{"vocab_size": len(vocab)}``."""
        return {"vocab_size": len(self.vocab)}

    def describe(self) -> dict:
        """Kind, vocabulary, widths and reversal."""
        return {"kind": self.kind, "vocab": self.vocab.to_dict(), "in_width": self.in_width,
                "out_width": self.out_width, "reversed_input": self.reversed_input}

    @classmethod
    def from_description(cls, d: dict, source: str = "task") -> "TextTask":
        """Rebuild from :meth:`describe`'s dict (vocabulary checked character by character)."""
        vocab = d.get("vocab")
        if not isinstance(vocab, dict):
            raise TaskError(f"{source}: the task's vocab must be a JSON object, got "
                            f"{type(vocab).__name__}")
        chars = vocab.get("chars")
        if not isinstance(chars, (list, str)) or len(chars) > MAX_VOCAB:
            raise TaskError(f"{source}: vocab chars must be a list of at most {MAX_VOCAB:,} "
                            f"characters, got {type(chars).__name__}")
        for k in ("pad_char", "start_char"):
            if k in vocab and not (isinstance(vocab[k], str) and len(vocab[k]) == 1):
                raise TaskError(f"{source}: vocab {k} must be one character, got {vocab[k]!r}")
        try:
            v = Vocabulary.from_dict(vocab)
            v.pad_id, v.start_id  # both must be in the vocabulary
        except (TypeError, ValueError) as e:
            raise TaskError(f"{source}: bad vocabulary: {e}") from e
        rev = d.get("reversed_input", False)
        if not isinstance(rev, bool):
            raise TaskError(f"{source}: reversed_input must be true or false, got {rev!r}")
        return cls(v, int_field(d, "in_width", 1, MAX_SEQ_WIDTH, source),
                   int_field(d, "out_width", 1, MAX_SEQ_WIDTH, source), rev)

    def widths(self) -> dict:
        """``{"in_width": ..., "out_width": ...}``."""
        return {"in_width": self.in_width, "out_width": self.out_width}

    @classmethod
    def example_fields(cls) -> dict:
        """A vocabulary of 13 ids for small example models."""
        return {"vocab_size": 13}

    def steps(self) -> int:
        """Encoder plus decoder steps."""
        return self.in_width + self.out_width

    def encode(self, texts) -> np.ndarray:
        """Ids ``(N, in_width)`` of ``texts`` as the model reads them (padded, maybe reversed).

        Raises:
            ValueError: a text longer than ``in_width`` or with characters the vocabulary
                lacks (naming the text).
        """
        return encode_questions(list(texts), self.vocab, self.in_width, reverse=self.reversed_input)

    def decode(self, outputs) -> list[str]:
        """Answer strings from generated ids ``(N, T)`` (start symbol and padding removed)."""
        return decode_answers(outputs, self.vocab)

    def check_answer(self, answer: str) -> str | None:
        """Why ``answer`` cannot be right for this task, or None (nothing known to be wrong).

        A plain text task knows nothing about its answers; :class:`DateTask` checks dates
        against the calendar.
        """
        return None

    eval_options = ("data", "samples", "seed")

    def eval_sets(self, data=None, samples=1000, seed=1):
        """``[(label, x, t)]`` to evaluate on: a file in the book's format, or generated data.

        Args:
            data: a path, or the name of a generator (``"date"``, ...), encoded with this
                task's vocabulary and widths.
            samples, seed: for a generator.

        Raises:
            ValueError: no data given, unknown characters, or lines longer than the model reads.
        """
        if data is None:
            raise ValueError("--data is needed for a text checkpoint (a file in the book's "
                             "format, or a generator such as 'date')")
        src = data_source(data)
        if src.kind != self.model_kind or src.pairs is None:
            raise ValueError(f"--data {data} ({src.help or src.kind}) gives no question/answer "
                             "text to evaluate a text checkpoint on")
        if isinstance(data, str) and data in data_sources():  # a generator: size known now
            check_data_size(f"--data {data} --samples {samples}", samples, self.in_width,
                            self.out_width)
        generated = isinstance(data, str) and data in data_sources()
        if generated and samples > 64:  # a small sample first: a data set the model cannot
            self._encode_pairs(data, src.pairs(data, samples=64, seed=seed))  # read fails fast
        pairs = src.pairs(data, samples=samples, seed=seed)
        check_data_size(data, len(pairs), self.in_width, self.out_width)
        x, t = self._encode_pairs(data, pairs)
        return [(str(data), x, t)]

    def _encode_pairs(self, data, pairs):
        """``(x, t)`` of question/answer pairs, refusing answers the model cannot write."""
        questions = [q.rstrip(" ") for q, _ in pairs]
        answers = [a.strip(" ") for _, a in pairs]
        for i, a in enumerate(answers):
            if len(a) > self.out_width:
                raise ValueError(f"{data}: answer {i + 1} {a!r} is {len(a)} characters; this "
                                 f"model writes at most {self.out_width}")
            unknown = self.vocab.unknown_chars(a)
            if unknown:
                raise ValueError(f"{data}: answer {i + 1} {a!r} contains character(s) this model "
                                 f"does not know: {', '.join(repr(c) for c in unknown)}")
        x = self.encode(questions)
        t = self.vocab.encode_batch([self.vocab.start_char + a for a in answers],
                                    width=self.out_width + 1)
        return x, t

    def summary(self, label, figures, n) -> str:
        """One line for people: ``exact match: 998/1000 = 99.80%``."""
        acc = figures["acc"]
        return f"exact match: {round(acc * n)}/{n} = {100.0 * acc:.2f}%"

    def score(self, model, x, t, batch_size: int = 512) -> dict:
        """``{"acc": exact-match accuracy of greedy decoding}`` (``model.generate``)."""
        if len(x) == 0:
            return {"acc": 0.0}
        pred = greedy_decode(model, x, int(t[0, 0]), t.shape[1] - 1, batch_size)
        return {"acc": float((pred == np.asarray(t[:, 1:])).all(axis=1).mean())}


@register_task_kind
class DateTask(TextTask):
    """A text task whose answers are dates ``YYYY-MM-DD`` (``--data date`` and ``date-book``).

    The same as :class:`TextTask` (same model, same vocabulary and widths), and it knows
    what a right answer looks like: :meth:`check_answer` refuses an answer that is not a
    real calendar date. Checkpoints record the kind, so ``translate`` can say so.
    """

    kind = "date"
    title = "date task"

    def check_answer(self, answer: str) -> str | None:
        """``"not a real date: ..."`` when ``answer`` is not a calendar date, else None."""
        why = check_date_answer(answer)
        return None if why is None else f"not a real date: {why}"


def _load(name, samples=50000, seed=0, reverse_input=False):
    """The data of a generator name, or of a file in the book's format (every line is used;
    ``samples`` does not apply to files)."""
    return load_dataset(name, samples=samples, seed=seed, reverse_input=reverse_input)


register_data_source(DataSource("date", "text", _load, ("reverse_input",),
                                "dates as people type them (the book's 13 formats, ISO, "
                                "day-first, ordinals, Korean, ...) -> ISO dates",
                                pairs=lambda name, samples, seed: make_dates(samples, seed=seed)))
register_data_source(DataSource("date-book", "text", _load, ("reverse_input",),
                                "the book's 13 US date formats only (the chapter's data)",
                                pairs=lambda name, samples, seed: make_dates(
                                    samples, seed=seed, formats="book")))
register_data_source(DataSource("addition", "text", _load, ("reverse_input",),
                                "3-digit additions",
                                pairs=lambda name, samples, seed: make_addition(samples, seed=seed)))
register_data_source(DataSource("file", "text", _load, ("reverse_input",),
                                "a file in the book's question_answer format",
                                pairs=lambda path, samples, seed: load_text(path)), files=True)
