"""Character-level vocabulary mapping characters to integer ids and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Vocabulary", "PAD_CHAR", "START_CHAR"]

PAD_CHAR = " "
"""Default padding character (the book pads questions and answers with spaces)."""

START_CHAR = "_"
"""Default start-of-answer symbol fed to the decoder first."""


def _codepoints(text: str) -> np.ndarray:
    """Return the Unicode code points of ``text`` as an int64 array of shape (len(text),)."""
    raw = text.encode("utf-32-le", errors="surrogatepass")
    return np.frombuffer(raw, dtype="<u4").astype(np.int64)


class Vocabulary:
    """A deterministic character-level vocabulary.

    Ids are assigned in the order of ``chars``; :meth:`from_texts` puts the
    special characters first (in the given order) followed by every other
    character sorted by code point, so the same texts always give the same ids.

    Args:
        chars: The characters of the vocabulary, one per id, each a ``str`` of
            length 1, without duplicates.
        pad_char: Character used to pad sequences to a fixed width.
        start_char: Start symbol written before every decoder target.

    Raises:
        TypeError: If an entry of ``chars`` is not a string.
        ValueError: If an entry is not exactly one character or is repeated.
    """

    def __init__(self, chars: Iterable[str], pad_char: str = PAD_CHAR,
                 start_char: str = START_CHAR) -> None:
        """Create the vocabulary; see the class docstring for the arguments."""
        chars = tuple(chars)
        for ch in (*chars, pad_char, start_char):
            if not isinstance(ch, str):
                raise TypeError(f"vocabulary characters must be str, "
                                f"got {type(ch).__name__} {ch!r}")
            if len(ch) != 1:
                raise ValueError(f"vocabulary entries must be single characters, got {ch!r}")
        index: dict[str, int] = {}
        for i, ch in enumerate(chars):
            if ch in index:
                raise ValueError(f"character {ch!r} appears twice in the vocabulary "
                                 f"(ids {index[ch]} and {i})")
            index[ch] = i
        self._chars = chars
        self._index = index
        self._pad_char = pad_char
        self._start_char = start_char
        cps = np.array([ord(c) for c in chars], dtype=np.int64)
        self._cps = cps.astype("<u4")
        order = np.argsort(cps, kind="stable")
        self._sorted_cps = cps[order]
        self._sorted_ids = order.astype(np.int32)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_texts(cls, texts: Iterable[str], specials: Sequence[str] = (PAD_CHAR, START_CHAR),
                   *, pad_char: str = PAD_CHAR, start_char: str = START_CHAR) -> "Vocabulary":
        """Build a vocabulary from every character occurring in ``texts``.

        Args:
            texts: Strings whose characters make up the vocabulary.
            specials: Characters that get the first ids, in this order, whether
                or not they occur in ``texts``.
            pad_char: Padding character (normally one of ``specials``).
            start_char: Start symbol (normally one of ``specials``).

        Returns:
            The vocabulary: ``specials`` first, then the remaining characters
            sorted by code point.

        Raises:
            TypeError: If a text is not a string.
            ValueError: If a special is not a single character or is repeated.
        """
        specials = tuple(specials)
        seen: set[str] = set()
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must be str, got {type(text).__name__} {text!r}")
            seen.update(text)
        rest = sorted(seen.difference(specials))
        return cls((*specials, *rest), pad_char=pad_char, start_char=start_char)

    # ------------------------------------------------------------- properties
    @property
    def chars(self) -> tuple[str, ...]:
        """tuple[str, ...]: The characters, indexed by id."""
        return self._chars

    @property
    def pad_char(self) -> str:
        """str: The padding character."""
        return self._pad_char

    @property
    def start_char(self) -> str:
        """str: The start symbol."""
        return self._start_char

    @property
    def pad_id(self) -> int:
        """int: Id of the padding character.

        Raises:
            ValueError: If the padding character is not in the vocabulary.
        """
        return self.index(self._pad_char)

    @property
    def start_id(self) -> int:
        """int: Id of the start symbol ``"_"``.

        Raises:
            ValueError: If the start symbol is not in the vocabulary.
        """
        return self.index(self._start_char)

    def index(self, char: str) -> int:
        """Return the id of one character.

        Args:
            char: A single character.

        Returns:
            Its id.

        Raises:
            ValueError: If ``char`` is not in the vocabulary.
        """
        try:
            return self._index[char]
        except (KeyError, TypeError):
            raise ValueError(f"character {char!r} is not in the vocabulary") from None

    def unknown_chars(self, text: str) -> list[str]:
        """List the characters of ``text`` that the vocabulary lacks.

        Args:
            text: Any string.

        Returns:
            The unknown characters, each once, in order of first appearance
            (empty when every character is known).
        """
        out: list[str] = []
        for ch in text:
            if ch not in self._index and ch not in out:
                out.append(ch)
        return out

    def __len__(self) -> int:
        """Return the number of characters (the embedding table size)."""
        return len(self._chars)

    def __contains__(self, char: object) -> bool:
        """Return True if ``char`` is a single character of the vocabulary."""
        return isinstance(char, str) and char in self._index

    def __eq__(self, other: object) -> bool:
        """Return True if both vocabularies map the same ids to the same characters."""
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return (self._chars, self._pad_char, self._start_char) == (
            other._chars, other._pad_char, other._start_char)

    def __hash__(self) -> int:
        """Hash consistent with :meth:`__eq__`."""
        return hash((self._chars, self._pad_char, self._start_char))

    def __repr__(self) -> str:
        """Short description showing the characters."""
        return f"Vocabulary({''.join(self._chars)!r}, size={len(self)})"

    # --------------------------------------------------------------- encoding
    def _lookup(self, cps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map code points (any shape) to ids; also return a mask of known ones."""
        if len(self._sorted_cps) == 0:
            return np.zeros(cps.shape, np.int32), np.zeros(cps.shape, bool)
        pos = np.searchsorted(self._sorted_cps, cps)
        np.minimum(pos, len(self._sorted_cps) - 1, out=pos)
        known = self._sorted_cps[pos] == cps
        return self._sorted_ids[pos], known

    def _unknown_error(self, text: str) -> ValueError:
        """Build the ValueError naming every unknown character of ``text``."""
        unknown = ", ".join(repr(c) for c in self.unknown_chars(text))
        return ValueError(f"unknown character(s) {unknown} in text {text!r} "
                          f"(vocabulary: {''.join(self._chars)!r})")

    def encode(self, text: str) -> np.ndarray:
        """Convert a string to ids.

        Args:
            text: The string to encode.

        Returns:
            int32 array of shape (len(text),).

        Raises:
            TypeError: If ``text`` is not a string.
            ValueError: If ``text`` contains characters outside the vocabulary;
                the message names every unknown character and the text.
        """
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        ids, known = self._lookup(_codepoints(text))
        if not known.all():
            raise self._unknown_error(text)
        return ids.astype(np.int32, copy=False)

    def encode_batch(self, texts: Sequence[str], width: int | None = None) -> np.ndarray:
        """Encode several strings into one padded id matrix.

        Args:
            texts: N strings.
            width: Number of columns W; defaults to the longest text length.
                Shorter texts are right-padded with the pad character.

        Returns:
            int32 array of shape (N, W).

        Raises:
            TypeError: If an entry is not a string.
            ValueError: If a text is longer than ``width``, if ``width`` is
                negative, if a text has unknown characters, or if padding is
                needed but the pad character is not in the vocabulary.
        """
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"encode_batch expects strings, got {type(t).__name__} {t!r}")
        longest = max((len(t) for t in texts), default=0)
        if width is None:
            width = longest
        width = int(width)
        if width < 0:
            raise ValueError(f"width must be >= 0, got {width}")
        if longest > width:
            bad = next(t for t in texts if len(t) > width)
            raise ValueError(f"text {bad!r} has {len(bad)} characters, more than width {width}")
        if any(len(t) < width for t in texts):
            self.pad_id  # raises a clear error when there is no pad character
        joined = "".join(t.ljust(width, self._pad_char) for t in texts)
        ids, known = self._lookup(_codepoints(joined))
        if not known.all():
            row = int(np.flatnonzero(~known)[0]) // max(width, 1)
            raise self._unknown_error(texts[row])
        return ids.astype(np.int32, copy=False).reshape(len(texts), width)

    # --------------------------------------------------------------- decoding
    def _check_ids(self, ids: Any, ndim: int) -> np.ndarray:
        """Validate ids (integer dtype, ``ndim`` dims, in range); return them as an array."""
        arr = np.asarray(ids)
        if arr.size == 0:
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"ids must be integers, got dtype {arr.dtype}")
        if arr.ndim != ndim:
            raise ValueError(f"expected a {ndim}-D array of ids, got shape {arr.shape}")
        bad = (arr < 0) | (arr >= len(self._chars))
        if bad.any():
            names = ", ".join(str(int(v)) for v in np.unique(arr[bad]))
            raise ValueError(f"id(s) {names} out of range for a vocabulary of "
                             f"{len(self._chars)} characters (valid: 0..{len(self._chars) - 1})")
        return arr

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Convert ids back to a string (padding is kept).

        Args:
            ids: 1-D sequence of ids, shape (T,).

        Returns:
            The string of length T.

        Raises:
            TypeError: If the ids are not integers.
            ValueError: If ``ids`` is not 1-D or contains out-of-range ids
                (the message names them).
        """
        arr = self._check_ids(ids, 1)
        return self._cps[arr].tobytes().decode("utf-32-le", errors="surrogatepass")

    def decode_batch(self, ids: Sequence[Sequence[int]] | np.ndarray) -> list[str]:
        """Decode every row of an id matrix (padding is kept).

        Args:
            ids: Integer array of shape (N, T).

        Returns:
            N strings of length T.

        Raises:
            TypeError: If the ids are not integers.
            ValueError: If ``ids`` is not 2-D or contains out-of-range ids.
        """
        arr = self._check_ids(ids, 2)
        width = arr.shape[1]
        flat = self._cps[arr].tobytes().decode("utf-32-le", errors="surrogatepass")
        return [flat[i:i + width] for i in range(0, len(flat), width)] if width else [""] * len(arr)

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Return a plain, JSON-serialisable description (for checkpoints).

        Returns:
            ``{"chars": [...], "pad_char": str, "start_char": str}``.
        """
        return {"chars": list(self._chars), "pad_char": self._pad_char,
                "start_char": self._start_char}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Vocabulary":
        """Rebuild a vocabulary written by :meth:`to_dict`.

        Args:
            d: Mapping with key ``"chars"`` (list of single characters or one
                string) and optional ``"pad_char"`` / ``"start_char"``.

        Returns:
            The equal vocabulary.

        Raises:
            ValueError: If ``"chars"`` is missing or invalid.
            TypeError: If ``d`` is not a mapping or entries are not strings.
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"from_dict expects a mapping, got {type(d).__name__}")
        if "chars" not in d:
            raise ValueError("vocabulary dict has no 'chars' entry")
        chars = d["chars"]
        if not isinstance(chars, (str, list, tuple)):
            raise TypeError(f"'chars' must be a list of characters, got {type(chars).__name__}")
        return cls(chars, pad_char=d.get("pad_char", PAD_CHAR),
                   start_char=d.get("start_char", START_CHAR))
