"""Synthetic integer addition data ("16+75" -> "91")."""

from __future__ import annotations

import numpy as np

__all__ = ["ADDITION_ALPHABET", "make_addition", "addition_widths"]

ADDITION_ALPHABET = "+0123456789"
"""Every character that can occur in an addition question or answer."""

_MAX_DIGITS = 18  # sums of two 18-digit numbers still fit in int64


def addition_widths(max_digits: int = 3) -> tuple[int, int]:
    """Return the longest possible question and answer lengths.

    Args:
        max_digits: Maximum number of digits per operand.

    Returns:
        ``(2 * max_digits + 1, max_digits + 1)``, e.g. ``(7, 4)`` for 3 digits.
    """
    return 2 * max_digits + 1, max_digits + 1


def make_addition(n: int = 50000, seed: int = 0, max_digits: int = 3) -> list[tuple[str, str]]:
    """Generate (``"a+b"``, ``"a+b evaluated"``) pairs.

    Args:
        n: Number of pairs.
        seed: Seed for ``numpy.random.default_rng``.
        max_digits: Operands are drawn uniformly from ``0..10**max_digits - 1``.

    Returns:
        n pairs such as ``("16+75", "91")``, without padding.

    Raises:
        ValueError: If ``n`` is negative or ``max_digits`` is not in 1..18.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 1 <= max_digits <= _MAX_DIGITS:
        raise ValueError(f"max_digits must be in 1..{_MAX_DIGITS}, got {max_digits}")
    rng = np.random.default_rng(seed)
    ab = rng.integers(0, 10 ** max_digits, size=(n, 2), dtype=np.int64)
    sums = ab.sum(axis=1)
    return [(f"{a}+{b}", str(s)) for (a, b), s in zip(ab.tolist(), sums.tolist())]
