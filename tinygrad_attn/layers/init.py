"""Weight initialisation, reproducible from :func:`tinygrad_attn.seed` or a Generator."""
from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np

from ..core import Parameter
from ..random import get_rng

__all__ = ["xavier_normal", "he_normal", "scaled_normal", "normal", "zeros", "describe_only",
           "ModelTooLarge"]


class ModelTooLarge(ValueError):
    """Raised inside :func:`describe_only` when the parameters exceed its ``max_params``."""


class _Describe:
    def __init__(self, max_params):
        self.max_params = max_params
        self.count = 0


_DESCRIBE = None
_SMALL = 1 << 16  # parameters this small are real arrays even when described


@contextmanager
def describe_only(max_params=None):
    """Build layers without allocating their weights: for checking sizes before building.

    Inside the block every initialiser of this module returns a Parameter of the right
    shape and dtype filled with zeros, without random draws; a large one's data is a
    read-only zero-strided view (no memory), so a model can be *described* — its parameter
    names and shapes — for any config. (Parameters of at most 65536 elements get real
    arrays, so a constructor may still adjust them in place, e.g. ``gamma.data += 1``.)
    The running total of parameters is checked against ``max_params``.

    Yields:
        an object whose ``count`` is the number of parameters created so far.

    Raises:
        ModelTooLarge: the parameters exceed ``max_params`` (raised at the first one that does).
    """
    global _DESCRIBE
    prev, _DESCRIBE = _DESCRIBE, _Describe(max_params)
    try:
        yield _DESCRIBE
    finally:
        _DESCRIBE = prev


def _described(shape, dtype, name):
    """The Parameter of a :func:`describe_only` block (None outside one)."""
    d = _DESCRIBE
    if d is None:
        return None
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in parameter shape {shape}")
    d.count += math.prod(shape)
    if d.max_params is not None and d.count > d.max_params:
        raise ModelTooLarge(f"the model would have more than {d.max_params:,} parameters "
                            f"(reached {d.count:,} at a parameter of shape {shape})")
    if math.prod(shape) <= _SMALL:  # small: a real (writable) array,
        return Parameter(np.zeros(shape, dtype), name=name)  # e.g. for `gamma.data += 1`
    return Parameter(np.broadcast_to(np.zeros((), dtype), shape), name=name)


def _rng(rng):
    return get_rng() if rng is None else rng


def xavier_normal(shape, dtype=np.float32, rng=None, name=None):
    """Glorot/Xavier normal: std ``sqrt(2 / (fan_in + fan_out))`` (for tanh/sigmoid/linear layers)."""
    p = _described(shape, dtype, name)
    if p is not None:
        return p
    fan_in, fan_out = shape[0], shape[-1]
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def he_normal(shape, dtype=np.float32, rng=None, name=None):
    """He normal: std ``sqrt(2 / fan_in)`` (for ReLU layers)."""
    p = _described(shape, dtype, name)
    if p is not None:
        return p
    std = np.sqrt(2.0 / shape[0])
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def scaled_normal(shape, dtype=np.float32, rng=None, name=None):
    """The book's recurrent initialisation: standard normal divided by ``sqrt(fan_in)``."""
    p = _described(shape, dtype, name)
    if p is not None:
        return p
    std = 1.0 / np.sqrt(shape[0])
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def normal(shape, std=0.01, dtype=np.float32, rng=None, name=None):
    """Normal with a fixed standard deviation (small, for embeddings)."""
    p = _described(shape, dtype, name)
    if p is not None:
        return p
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def zeros(shape, dtype=np.float32, name=None):
    """All zeros (biases)."""
    p = _described(shape, dtype, name)
    if p is not None:
        return p
    return Parameter(np.zeros(shape, dtype=dtype), name=name)
