"""Reading and writing the book's one-example-per-line text format.

Each line is the question padded with spaces to a fixed width, then ``"_"``,
then the answer padded to a fixed width, e.g. ``"16+75  _91  "``.

What a file may hold (checked by :func:`load_text`, each refusal one line naming the file
and the line number):

* UTF-8 text; a byte-order mark (``EF BB BF``, written by some Windows editors) at the very
  start is skipped; line endings ``\\n`` or ``\\r\\n``; a carriage return anywhere else (old
  Mac files end lines with CR alone) is refused rather than read as one long line;
* on every line a non-empty question, ``"_"`` and a non-empty answer; the answer may not
  contain ``"_"`` (it is the decoder's start symbol) nor begin with a space (the padding
  character: decoding strips padding, so such an answer could never be produced);
* questions and answers of at most :data:`MAX_WIDTH` characters (padding included), the
  widths a checkpoint may store;
* at most :data:`MAX_FILE_BYTES` bytes and :data:`MAX_LINES` lines; the file must be a
  regular file (a FIFO or a device is refused before it is opened).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

from ..files import atomic_write
from ..validate import open_input
from .task import MAX_SEQ_WIDTH
from .vocab import PAD_CHAR, START_CHAR

__all__ = ["load_text", "save_text", "check_pair", "SEPARATOR", "MAX_WIDTH", "MAX_FILE_BYTES",
           "MAX_LINES"]

SEPARATOR = "_"
"""Character between question and answer on each line."""
MAX_WIDTH = MAX_SEQ_WIDTH
"""Longest question or answer (characters, padding included): the largest input and output
width a model is trained for and a checkpoint may store. It is
:data:`tinygrad_attn.data.task.MAX_SEQ_WIDTH`, the one limit the loaders, the checkpoint and
``train`` all use."""
MAX_FILE_BYTES = 256 << 20
"""Largest data file read (256 MiB)."""
MAX_LINES = 10_000_000
"""Most examples in one data file (the command line's largest ``--samples``)."""

_BOM = "\ufeff"

PathLike = str | os.PathLike


def check_pair(question, answer, where, start_char=START_CHAR, pad_char=PAD_CHAR):
    """Refuse a question/answer pair that training or decoding cannot reproduce.

    Args:
        question, answer: the texts (padding included).
        where: the prefix of the message, e.g. ``"data.txt:12"``.
        start_char: the decoder's start symbol (refused in answers and questions).
        pad_char: the padding character (refused at the start of an answer).

    Raises:
        ValueError: an empty question or answer, the start symbol inside either, an answer
            beginning with the padding character, or a text longer than :data:`MAX_WIDTH`.
    """
    if not question.strip(pad_char):
        raise ValueError(f"{where}: the question is empty: {question!r}")
    if not answer.strip(pad_char):
        raise ValueError(f"{where}: the answer is empty: {answer!r}")
    for name, text in (("question", question), ("answer", answer)):
        if len(text) > MAX_WIDTH:
            raise ValueError(f"{where}: the {name} is {len(text):,} characters long; at most "
                             f"{MAX_WIDTH:,} are accepted (the widest input or output a model is "
                             "trained for)")
        if start_char in text:
            raise ValueError(f"{where}: the {name} {text[:40]!r} contains {start_char!r}, the "
                             "decoder's start symbol; it cannot be part of a question or answer")
    if question.startswith(_BOM):
        raise ValueError(f"{where}: the question begins with a byte-order mark (U+FEFF), which "
                         "a file cannot hold at the start of a question (it is skipped there)")
    if answer.startswith(pad_char):
        raise ValueError(f"{where}: the answer {answer[:40]!r} begins with {pad_char!r}, the "
                         "padding character; decoding strips padding, so it could never be "
                         "produced; left-align the answers")


def _read_utf8(path):
    """The text of ``path`` (bounded, regular files only), or one-line errors."""
    with open_input(path, "dataset text file", MAX_FILE_BYTES) as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # it grew after the size check
        raise ValueError(f"dataset text file {path} is larger than {MAX_FILE_BYTES >> 20} MiB; "
                         "refused")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte {e.start}: {e.reason}); "
                         "save the file as UTF-8") from None


def load_text(path: PathLike) -> list[tuple[str, str]]:
    """Read question/answer pairs from a text file in the book's format.

    Each line is split on its first ``"_"``; padding is kept as-is. Trailing
    empty lines at the end of the file are ignored. The rules of the module docstring apply.

    Args:
        path: The UTF-8 text file.

    Returns:
        The ``(question, answer)`` pairs in file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the path is a folder, a FIFO or a device, the file is too large, not
            UTF-8, is empty, has CR-only line endings, or a line breaks a rule (no ``"_"``,
            an empty question or answer, ``"_"`` in the answer, an answer beginning with a
            space, a text longer than :data:`MAX_WIDTH`); the message names the file and
            the 1-based line number.
    """
    path = os.fspath(path)
    try:
        text = _read_utf8(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "dataset text file not found", path) from None
    if text.startswith(_BOM):
        text = text[1:]  # a byte-order mark is not part of the first question
    pairs: list[tuple[str, str]] = []
    blank_run = 0  # blank lines are allowed at the end of the file only
    pos, lineno, n = 0, 0, len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        line = text[pos:end]
        pos = end + 1
        lineno += 1
        if line.endswith("\r"):
            line = line[:-1]
        if "\r" in line:
            raise ValueError(f"{path}:{lineno}: a carriage return (CR) inside the line: the file "
                             "seems to use CR-only (old Mac) line endings; convert them to LF "
                             "(or CRLF)")
        if line == "":
            blank_run += 1
            continue
        if blank_run:
            raise ValueError(f"{path}:{lineno - blank_run}: the line is empty (blank lines may "
                             "only end the file)")
        question, sep, answer = line.partition(SEPARATOR)
        if not sep:
            raise ValueError(f"{path}:{lineno}: line has no {SEPARATOR!r} separating "
                             f"question and answer: {line[:60]!r}")
        check_pair(question, answer, f"{path}:{lineno}")
        if len(pairs) >= MAX_LINES:
            raise ValueError(f"{path}: more than {MAX_LINES:,} examples; refused")
        pairs.append((question, answer))
    if not pairs:
        raise ValueError(f"dataset text file {path!r} is empty")
    return pairs


def save_text(path: PathLike, pairs: Iterable[tuple[str, str]]) -> None:
    """Write pairs in the book's format, atomically.

    Questions are right-padded with spaces to the longest question, answers to
    the longest answer. The file is written to a temporary file in the same
    directory and moved into place with ``os.replace``.

    Args:
        path: Destination file.
        pairs: ``(question, answer)`` string pairs.

    Raises:
        ValueError: If there are no pairs, a question or answer contains a line break, or
            a pair breaks a rule of :func:`check_pair` (so every file written loads again).
        TypeError: If a question or answer is not a string.
    """
    path = os.fspath(path)
    pairs = list(pairs)
    if not pairs:
        raise ValueError("save_text needs at least one pair (an empty file cannot be loaded)")
    for i, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(s, str) for s in pair):
            raise TypeError(f"pair {i} must be (str, str), got {pair!r}")
        q, a = pair
        if any(c in s for s in (q, a) for c in "\r\n"):
            raise ValueError(f"pair {i}: {pair!r} contains a line break")
        check_pair(q, a, f"pair {i}")
    q_width = max(len(q) for q, _ in pairs)
    a_width = max(len(a) for _, a in pairs)
    body = "".join(f"{q.ljust(q_width)}{SEPARATOR}{a.ljust(a_width)}\n" for q, a in pairs)

    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(body)
