"""Weight initialisation, reproducible from :func:`tinygrad_attn.seed` or a Generator."""
from __future__ import annotations

import numpy as np

from ..core import Parameter
from ..random import get_rng

__all__ = ["xavier_normal", "he_normal", "scaled_normal", "normal", "zeros"]


def _rng(rng):
    return get_rng() if rng is None else rng


def xavier_normal(shape, dtype=np.float32, rng=None, name=None):
    """Glorot/Xavier normal: std ``sqrt(2 / (fan_in + fan_out))`` (for tanh/sigmoid/linear layers)."""
    fan_in, fan_out = shape[0], shape[-1]
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def he_normal(shape, dtype=np.float32, rng=None, name=None):
    """He normal: std ``sqrt(2 / fan_in)`` (for ReLU layers)."""
    std = np.sqrt(2.0 / shape[0])
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def scaled_normal(shape, dtype=np.float32, rng=None, name=None):
    """The book's recurrent initialisation: standard normal divided by ``sqrt(fan_in)``."""
    std = 1.0 / np.sqrt(shape[0])
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def normal(shape, std=0.01, dtype=np.float32, rng=None, name=None):
    """Normal with a fixed standard deviation (small, for embeddings)."""
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def zeros(shape, dtype=np.float32, name=None):
    """All zeros (biases)."""
    return Parameter(np.zeros(shape, dtype=dtype), name=name)
