"""Reductions: sum, mean, max, min (with ``axis`` and ``keepdims``)."""
from __future__ import annotations

import numbers

from ..core import Function, OpError, Variable, as_variable
from .math import exp, log
from .shape import broadcast_to, reshape

__all__ = ["sum", "mean", "max", "min", "logsumexp"]


def _norm_axis(axis, ndim, op):
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise OpError(f"{op}: axis {a} is out of range for an input with {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(out))


def _count(shape, axes):
    """How many elements each result element reduces over (all of them for ``axes`` None)."""
    n = 1
    for i, d in enumerate(shape):
        if axes is None or i in axes:
            n *= d
    return n


def _keepdims_shape(shape, axes):
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.x_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        if not self.keepdims:
            gy = reshape(gy, _keepdims_shape(self.x_shape, self.axis))
        return broadcast_to(gy, self.x_shape)

    def _describe_args(self):
        return f"(axis={self.axis}, keepdims={self.keepdims})"


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum of ``x`` over ``axis`` (an int, a tuple, or None for all axes)."""
    x = as_variable(x)
    return Sum(_norm_axis(axis, x.ndim, "Sum"), keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean of ``x`` over ``axis`` (composed: sum times 1/count)."""
    x = as_variable(x)
    axes = _norm_axis(axis, x.ndim, "Mean")
    n = _count(x.shape, axes)
    if n == 0:
        raise OpError(f"Mean: mean over an empty axis of an array of shape {x.shape} "
                      f"(axis={axis}) is undefined; NumPy would return NaN with a warning")
    return Sum(axes, keepdims)(x) * (1.0 / n)


class _Extreme(Function):
    _name = ""

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        if x.size == 0:
            raise OpError(f"{type(self).__name__}: reduction of an empty array of shape {x.shape}")
        self.x_shape = x.shape
        return getattr(x, self._name)(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x, = self.inputs
        y = self.outputs[0]().data
        shape = _keepdims_shape(self.x_shape, self.axis)
        mask = x.data == y.reshape(shape)
        mask = mask / mask.sum(axis=self.axis, keepdims=True)  # ties share the gradient
        if not self.keepdims:
            gy = reshape(gy, shape)
        return broadcast_to(gy, self.x_shape) * Variable(mask.astype(gy.dtype))

    def _describe_args(self):
        return f"(axis={self.axis}, keepdims={self.keepdims})"


class Max(_Extreme):
    _name = "max"


class Min(_Extreme):
    _name = "min"


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    x = as_variable(x)
    return Max(_norm_axis(axis, x.ndim, "Max"), keepdims)(x)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient equally."""
    x = as_variable(x)
    return Min(_norm_axis(axis, x.ndim, "Min"), keepdims)(x)


def logsumexp(x, axis=-1, keepdims=False):
    """``log(sum(exp(x), axis))`` computed stably (composed from primitives).

    Args:
        x: input Variable. axis: an int, a tuple of ints, or None (all axes).

    Raises:
        OpError: an axis out of range, or an empty reduction (``log(0) = -inf``; refused like
            :func:`max` and :func:`mean` of an empty array).
    """

    x = as_variable(x)
    axes = _norm_axis(axis, x.ndim, "LogSumExp")
    if _count(x.shape, axes) == 0:
        raise OpError(f"LogSumExp: over an empty axis of an array of shape {x.shape} (axis={axis}) "
                      "the result is log(0) = -inf, with no finite value or useful gradient; "
                      "refused like max and mean of an empty array")
    m = Variable(x.data.max(axis=axes, keepdims=True))  # a constant shift
    s = log(sum(exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdims:
        s = reshape(s, tuple(d for i, d in enumerate(s.shape) if axes is not None and i not in axes))
    return s
