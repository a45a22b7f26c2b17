"""Reductions: sum, mean, max, min (with ``axis`` and ``keepdims``)."""
from __future__ import annotations

import numbers

from ..backend import get_array_module
from ..core import Function, OpError, Variable, as_variable
from .math import exp, log
from .shape import broadcast_to, reshape

__all__ = ["sum", "mean", "max", "min", "logsumexp"]

_SHORT_ROW = 128  # last axes up to this length take the column loop in row_max
_LOOP_ROWS_PER_COLUMN = 8  # ... when there are at least 8 rows per column: measured crossover
# (NumPy's max wins below it, e.g. a one-row decoding step: 0.9 us against 86 us for 1 x 128)


def _is_last(axis, ndim):
    return ndim >= 1 and axis in (-1, ndim - 1, (ndim - 1,))


def _fast_sum(x, xp):
    """Whether a sum may go to the BLAS: a contiguous, non-empty float32 NumPy array. float64
    (the gradient checks' dtype) keeps NumPy's pairwise summation: more accurate, and its
    rounding, which central differences magnify, stays what it was."""
    return (x.dtype == xp.float32 and x.size and xp.__name__ == "numpy"
            and x.flags.c_contiguous)


def row_sum(x, axis=-1):
    """``x.sum(axis, keepdims=True)``; over the last axis of a contiguous NumPy float32 array
    as one matrix-vector product with a vector of ones (the BLAS sums short rows about ten
    times faster than NumPy's reduction, which pays a fixed cost per row). Same values up to
    the order of the additions."""
    xp = get_array_module(x)
    if _is_last(axis, x.ndim) and _fast_sum(x, xp):
        K = x.shape[-1]
        out = x.reshape(-1, K) @ xp.ones(K, dtype=x.dtype)
        return out.reshape(x.shape[:-1] + (1,))
    return x.sum(axis=axis, keepdims=True)


def lead_sum(x, k=1):
    """``x.sum(axis=(0, ..., k-1))``: the sum over the first ``k`` axes; for a contiguous NumPy
    float32 array one vector-matrix product with a vector of ones (e.g. a bias gradient:
    several times faster than NumPy's reduction). Same values up to the order of the
    additions."""
    xp = get_array_module(x)
    if 0 < k < x.ndim and _fast_sum(x, xp):
        rows = 1
        for n in x.shape[:k]:
            rows *= n
        out = xp.ones(rows, dtype=x.dtype) @ x.reshape(rows, -1)
        return out.reshape(x.shape[k:])
    return x.sum(axis=tuple(range(k)))


def row_max(x, axis=-1):
    """``x.max(axis, keepdims=True)``; over a short last axis of a NumPy array with many rows
    (at least 8 per column) as a loop of element-wise maxima over its columns (NumPy's
    reduction over many rows of a few dozen elements is up to twice slower; over few rows
    it is much faster, so those keep it). Same values (NaN propagates as in ``max``)."""
    xp = get_array_module(x)
    if (_is_last(axis, x.ndim) and 1 < x.shape[-1] <= _SHORT_ROW and xp.__name__ == "numpy"
            and x.size >= _LOOP_ROWS_PER_COLUMN * x.shape[-1] ** 2):
        m = x[..., 0].copy()
        for j in range(1, x.shape[-1]):
            xp.maximum(m, x[..., j], out=m)
        return m[..., None]
    return x.max(axis=axis, keepdims=True)


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
        ax = self.axis
        if ax is not None and ax == tuple(range(len(ax))) and len(ax) < x.ndim:  # leading axes
            y = lead_sum(x, len(ax))
            return y.reshape((1,) * len(ax) + y.shape) if self.keepdims else y
        if ax is not None and len(ax) == 1 and ax[0] == x.ndim - 1:             # the last axis
            y = row_sum(x)
            return y if self.keepdims else y.reshape(y.shape[:-1])
        return x.sum(axis=ax, keepdims=self.keepdims)

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
