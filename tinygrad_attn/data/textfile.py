"""Reading and writing the book's one-example-per-line text format.

Each line is the question padded with spaces to a fixed width, then ``"_"``,
then the answer padded to a fixed width, e.g. ``"16+75  _91  "``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

from ..files import atomic_write

__all__ = ["load_text", "save_text", "SEPARATOR"]

SEPARATOR = "_"
"""Character between question and answer on each line."""

PathLike = str | os.PathLike


def load_text(path: PathLike) -> list[tuple[str, str]]:
    """Read question/answer pairs from a text file in the book's format.

    Each line is split on its first ``"_"``; padding is kept as-is. Trailing
    empty lines at the end of the file are ignored.

    Args:
        path: The UTF-8 text file.

    Returns:
        The ``(question, answer)`` pairs in file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the path is a folder, the file is not UTF-8, is empty, or a
            line has no ``"_"`` or an empty (all-space) question or answer; the
            message names the file and the 1-based line number.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "dataset text file not found", path)
    if os.path.isdir(path):
        raise ValueError(f"{path} is a folder, not a dataset text file")
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as e:
        text_line = None
        try:
            with open(path, "rb") as fh:
                text_line = fh.read(e.start).count(b"\n") + 1
        except OSError:
            pass
        line = f":{text_line}" if text_line else ""
        raise ValueError(f"{path}{line}: not UTF-8 text (byte {e.start}: {e.reason}); "
                         "save the file as UTF-8") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read the file: {e.strerror or e}") from None
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError(f"dataset text file {path!r} is empty")
    pairs: list[tuple[str, str]] = []
    for lineno, line in enumerate(lines, start=1):
        question, sep, answer = line.partition(SEPARATOR)
        if not sep:
            raise ValueError(f"{path}:{lineno}: line has no {SEPARATOR!r} separating "
                             f"question and answer: {line!r}")
        if not question.strip(" "):
            raise ValueError(f"{path}:{lineno}: the question is empty: {line!r}")
        if not answer.strip(" "):
            raise ValueError(f"{path}:{lineno}: the answer is empty: {line!r}")
        pairs.append((question, answer))
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
        ValueError: If there are no pairs, a question contains ``"_"``, or a
            question or answer contains a line break.
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
        if SEPARATOR in q:
            raise ValueError(f"pair {i}: question {q!r} contains the separator {SEPARATOR!r}")
        if any(c in s for s in (q, a) for c in "\r\n"):
            raise ValueError(f"pair {i}: {pair!r} contains a line break")
    q_width = max(len(q) for q, _ in pairs)
    a_width = max(len(a) for _, a in pairs)
    body = "".join(f"{q.ljust(q_width)}{SEPARATOR}{a.ljust(a_width)}\n" for q, a in pairs)

    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(body)
