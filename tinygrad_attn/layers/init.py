"""Weight initialisation, reproducible from :func:`tinygrad_attn.seed` or a Generator."""
from __future__ import annotations

import math

import numpy as np

from ..core import Parameter
from ..seeding import get_rng

__all__ = ["xavier_normal", "he_normal", "scaled_normal", "normal", "zeros", "ShapeOnly",
           "ModelTooLarge"]


class ModelTooLarge(ValueError):
    """Raised by a :class:`ShapeOnly` generator when the parameters exceed its ``max_params``."""


_SMALL = 1 << 16  # parameters this small are real arrays even when only described


class ShapeOnly:
    """A stand-in random generator that *describes* a model instead of initialising it.

    Pass it as ``rng`` to any layer or model constructor: every initialiser of this module
    then returns a Parameter of the right name, shape and dtype without drawing numbers, and
    a large one (more than 65,536 elements) holds a zero-strided writable view of a single
    zero, so describing even a huge model allocates no weight memory. Small ones are real
    zero arrays (a constructor may still adjust them, e.g. ``gamma.data += 1``). The running
    total of parameters is checked against ``max_params``.

    Attributes:
        count: parameters created so far by the initialisers that take ``rng`` (``zeros``
            takes none: biases and norm gains are real, small arrays, counted by the caller
            from the described shapes).

    Raises:
        ModelTooLarge: at the first parameter that takes the total past ``max_params``.
    """

    def __init__(self, max_params: int | None = None):
        self.max_params = max_params
        self.count = 0

    def parameter(self, shape, dtype, name) -> Parameter:
        """The described Parameter (see the class docstring)."""
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"negative dimension in parameter shape {shape}")
        self.count += math.prod(shape)
        if self.max_params is not None and self.count > self.max_params:
            raise ModelTooLarge(f"the model would have more than {self.max_params:,} parameters "
                                f"(reached {self.count:,} at a parameter of shape {shape})")
        if math.prod(shape) <= _SMALL:
            return Parameter(np.zeros(shape, dtype), name=name)
        one = np.zeros(1, dtype)
        return Parameter(np.lib.stride_tricks.as_strided(one, shape, (0,) * len(shape)),
                         name=name)


def _rng(rng):
    return get_rng() if rng is None else rng


def xavier_normal(shape, dtype=np.float32, rng=None, name=None):
    """Glorot/Xavier normal: std ``sqrt(2 / (fan_in + fan_out))`` (for tanh/sigmoid/linear layers)."""
    if isinstance(rng, ShapeOnly):
        return rng.parameter(shape, dtype, name)
    fan_in, fan_out = shape[0], shape[-1]
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def he_normal(shape, dtype=np.float32, rng=None, name=None):
    """He normal: std ``sqrt(2 / fan_in)`` (for ReLU layers)."""
    if isinstance(rng, ShapeOnly):
        return rng.parameter(shape, dtype, name)
    std = np.sqrt(2.0 / shape[0])
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def scaled_normal(shape, dtype=np.float32, rng=None, name=None):
    """The book's recurrent initialisation: standard normal divided by ``sqrt(fan_in)``."""
    if isinstance(rng, ShapeOnly):
        return rng.parameter(shape, dtype, name)
    std = 1.0 / np.sqrt(shape[0])
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def normal(shape, std=0.01, dtype=np.float32, rng=None, name=None):
    """Normal with a fixed standard deviation (small, for embeddings)."""
    if isinstance(rng, ShapeOnly):
        return rng.parameter(shape, dtype, name)
    return Parameter((_rng(rng).standard_normal(shape) * std).astype(dtype), name=name)


def zeros(shape, dtype=np.float32, name=None):
    """All zeros (biases)."""
    return Parameter(np.zeros(shape, dtype=dtype), name=name)
