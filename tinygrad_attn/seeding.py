"""The library's random number generator, seeded with :func:`seed` for reproducible runs."""
from __future__ import annotations

import numpy as np

__all__ = ["seed", "get_rng"]

_rng = np.random.default_rng(0)
_device_rngs = {}


def seed(n: int) -> None:
    """Seed every random choice the library makes (initialisation, dropout, shuffling).

    Args:
        n: a non-negative integer.
    """
    global _rng
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {n!r}")
    _rng = np.random.default_rng(int(n))
    _device_rngs.clear()


def get_rng(xp=np):
    """Return the library's Generator for array module ``xp`` (NumPy's by default).

    Device generators are derived from the host generator, so one :func:`seed` call
    fixes them too.
    """
    if xp is np:
        return _rng
    g = _device_rngs.get(id(xp))
    if g is None:
        g = xp.random.default_rng(int(_rng.integers(2**31)))
        _device_rngs[id(xp)] = g
    return g
