"""Shape primitives: reshape, transpose, broadcast_to, sum_to, getitem, concat, split, stack."""
from __future__ import annotations

import numbers
import operator

from .. import backend
from ..backend import get_array_module
from ..core import Function, OpError, Variable, as_variable

__all__ = [
    "reshape", "transpose", "swapaxes", "broadcast_to", "sum_to", "get_item", "concat",
    "split", "stack", "unstack", "expand_dims", "squeeze", "flip", "flatten",
]


def _axis(op, axis, ndim, shape=None):
    """Normalise an axis (Python or NumPy integer) for an input with ``ndim`` axes, or raise OpError."""
    try:
        a = operator.index(axis)
    except TypeError:
        raise OpError(f"{op}: axis must be an integer, got {axis!r}") from None
    if not -ndim <= a < ndim:
        raise OpError(f"{op}: axis {a} is out of range for an input of shape "
                      f"{shape if shape is not None else ndim}")
    return a % ndim


def _sum_to_axes(shape, target):
    lead = len(shape) - len(target)
    if lead < 0:
        return None, None
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(target) if s == 1 and shape[i + lead] != 1)
    return lead, axes


def sum_to_array(x, shape):
    """Sum raw array ``x`` down to ``shape`` (the reverse of broadcasting)."""
    if x.shape == tuple(shape):
        return x
    lead, axes = _sum_to_axes(x.shape, shape)
    y = x.sum(axis=axes, keepdims=True)
    if lead:
        y = y.reshape(shape)
    return y


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.x_shape)

    def _describe_args(self):
        return f"(shape={self.shape})"


def reshape(x, shape):
    """Reshape ``x`` to ``shape`` (one entry may be -1)."""
    x = as_variable(x)
    shape = tuple(shape) if not isinstance(shape, int) else (shape,)
    if x.shape == shape:
        return x
    return Reshape(shape)(x)


def flatten(x):
    """Reshape (N, ...) to (N, prod(...)); (N,) becomes (N, 1), an empty batch (0, ...) stays empty.

    Raises:
        OpError: ``x`` is 0-d (it has no batch axis).
    """
    x = as_variable(x)
    if x.ndim < 1:
        raise OpError(f"flatten: expected (N, ...) with a batch axis, got a 0-d array (shape {x.shape})")
    rest = 1
    for d in x.shape[1:]:
        rest *= d
    return reshape(x, (x.shape[0], rest))


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy)
        n = len(self.axes)
        inv = tuple(sorted(range(n), key=lambda i: self.axes[i] % n))
        return transpose(gy, inv)

    def _describe_args(self):
        return f"(axes={self.axes})"


def transpose(x, axes=None):
    """Permute the axes of ``x`` (reverse them when ``axes`` is None)."""
    return Transpose(axes)(x)


def swapaxes(x, a, b):
    """Swap two axes of ``x`` (a transpose)."""
    x = as_variable(x)
    a, b = _axis("swapaxes", a, x.ndim, x.shape), _axis("swapaxes", b, x.ndim, x.shape)
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        xp = get_array_module(x)
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.x_shape)

    def _describe_args(self):
        return f"(shape={self.shape})"


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (a read-only view); backward sums back."""
    x = as_variable(x)
    if x.shape == tuple(shape):
        return x
    return BroadcastTo(shape)(x)


class SumTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = x.shape
        lead, axes = _sum_to_axes(x.shape, self.shape)
        if lead is None or any(s != 1 and x.shape[i + lead] != s for i, s in enumerate(self.shape)):
            raise OpError(f"SumTo: cannot sum shape {x.shape} down to {self.shape}")
        return sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.x_shape)

    def _describe_args(self):
        return f"(shape={self.shape})"


def sum_to(x, shape):
    """Sum ``x`` over broadcast axes so that it has ``shape``."""
    x = as_variable(x)
    if x.shape == tuple(shape):
        return x
    return SumTo(shape)(x)


def _is_advanced(key):
    if type(key) is not tuple:
        key = (key,)
    for k in key:
        if isinstance(k, (list, bool)) or (hasattr(k, "shape") and hasattr(k, "dtype")):
            return True
    return False


def _unwrap_key(key):
    if isinstance(key, Variable):
        return key.data
    if type(key) is tuple:
        return tuple(k.data if isinstance(k, Variable) else k for k in key)
    return key


def _describe_key(key):
    """An index in one short line: arrays by dtype and shape, tuples item by item."""
    if isinstance(key, tuple):
        return "(" + ", ".join(_describe_key(k) for k in key) + ("," if len(key) == 1 else "") + ")"
    if hasattr(key, "shape") and hasattr(key, "dtype") and getattr(key, "ndim", 0):
        return f"<{key.dtype} array {tuple(key.shape)}>"
    return f"{key!r:.80}".replace("\n", " ")


class GetItem(Function):
    """``x[key]``; backward scatters the gradient back (adding at repeated indices)."""

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        self.x_shape = x.shape
        self.x_dtype = x.dtype
        return x[self.key]

    def backward(self, gy):
        return GetItemGrad(self.key, self.x_shape, self.x_dtype)(gy)

    def _describe_args(self):
        return f"(key={_describe_key(self.key)})"


class GetItemGrad(Function):
    def __init__(self, key, shape, dtype):
        self.key = key
        self.shape = shape
        self.dtype = dtype

    def forward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _is_advanced(self.key):
            backend.scatter_add(xp, gx, self.key, gy)
        else:
            gx[self.key] = gy
        return gx

    def backward(self, ggx):
        return get_item(ggx, self.key)


def get_item(x, key):
    """Index ``x`` like NumPy (basic and advanced); backward scatter-adds.

    An embedding lookup is ``get_item(W, ids)``: repeated ids accumulate their gradients.
    """
    return GetItem(_unwrap_key(key))(x)


def flip(x, axis):
    """Reverse ``x`` along ``axis`` (a view; backward reverses back)."""
    x = as_variable(x)
    axis = _axis("flip", axis, x.ndim, x.shape)
    key = [slice(None)] * x.ndim
    key[axis] = slice(None, None, -1)
    return get_item(x, tuple(key))


class Concat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(xs[0])
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        idx = []
        acc = 0
        for s in self.sizes[:-1]:
            acc += s
            idx.append(acc)
        gxs = split(gy, idx, axis=self.axis)
        return tuple(gxs) if isinstance(gxs, list) else (gxs,)

    def _describe_args(self):
        return f"(axis={self.axis})"


def concat(xs, axis=0):
    """Join Variables along an existing axis (shapes must agree elsewhere)."""
    xs = list(xs)
    if not xs:
        raise OpError("concat: needs at least one input")
    if len(xs) == 1:
        return as_variable(xs[0])
    first = as_variable(xs[0])
    xs = [first] + [as_variable(x, first) for x in xs[1:]]
    nd = xs[0].ndim
    ax = _axis("concat", axis, nd, xs[0].shape)
    for x in xs:
        if x.ndim != nd or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if i != ax):
            raise OpError(f"concat(axis={axis}): shapes {[x.shape for x in xs]} differ outside "
                          "the concatenation axis")
    return Concat(axis)(*xs)


class Split(Function):
    """One node, several outputs: views of the input between the split points."""

    def __init__(self, indices, axis):
        self.indices = list(indices)
        self.axis = axis

    def forward(self, x):
        self.x_shape = x.shape
        self.dtype = x.dtype
        xp = get_array_module(x)
        return tuple(xp.split(x, self.indices, axis=self.axis))

    def backward(self, *gys):
        gys = _fill_none(gys, self, lambda i: self._piece_shape(i))
        return concat(gys, axis=self.axis)

    def _piece_shape(self, i):
        bounds = [0] + self.indices + [self.x_shape[self.axis]]
        shape = list(self.x_shape)
        shape[self.axis] = bounds[i + 1] - bounds[i]
        return tuple(shape)

    def _describe_args(self):
        return f"(indices={self.indices}, axis={self.axis})"


def _fill_none(gys, f, shape_of):
    if None not in gys:  # Variables compare by identity, so this is a fast scan
        return list(gys)
    ref = next(g for g in gys if g is not None)
    xp = get_array_module(ref.data)
    return [g if g is not None else Variable(xp.zeros(shape_of(i), dtype=ref.dtype))
            for i, g in enumerate(gys)]


def split(x, indices_or_sections, axis=0):
    """Split ``x`` along ``axis`` into a list of views (one graph node, several outputs).

    Args:
        x: Variable to split.
        indices_or_sections: an int N (N equal parts) or a sorted list of split points.
        axis: the axis to split.
    """
    x = as_variable(x)
    axis = _axis("split", axis, x.ndim, x.shape)
    n = x.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise OpError(f"split: axis {axis} of shape {x.shape} (size {n}) does not divide "
                          f"into {k} equal sections")
        step = n // k
        indices = [step * i for i in range(1, k)]
    else:
        indices = [int(i) for i in indices_or_sections]
        if any(b < a for a, b in zip(indices, indices[1:])) or any(i < 0 or i > n for i in indices):
            raise OpError(f"split: split points {indices} invalid for axis {axis} of size {n} "
                          f"(shape {x.shape})")
    out = Split(indices, axis)(x)
    return out if isinstance(out, list) else [out]


class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        xp = get_array_module(xs[0])
        return xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        out = unstack(gy, self.axis)
        return tuple(out)


class Unstack(Function):
    """Split along ``axis`` and drop it: (..., T, ...) -> T arrays; one node."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.x_shape = x.shape
        n = x.shape[self.axis]
        ax = self.axis % x.ndim
        key = [slice(None)] * x.ndim
        outs = []
        for i in range(n):
            key[ax] = i
            outs.append(x[tuple(key)])
        return tuple(outs)

    def backward(self, *gys):
        shape = list(self.x_shape)
        del shape[self.axis % len(shape)]
        gys = _fill_none(gys, self, lambda i: tuple(shape))
        return stack(gys, axis=self.axis)

    def _describe_args(self):
        return f"(axis={self.axis})"


def stack(xs, axis=0):
    """Stack Variables of equal shape along a new axis."""
    xs = list(xs)
    if not xs:
        raise OpError("stack: needs at least one input")
    first = as_variable(xs[0])
    xs = [first] + [as_variable(x, first) for x in xs[1:]]
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise OpError(f"stack: all inputs need the same shape, got {[x.shape for x in xs]}")
    return Stack(axis)(*xs)


def unstack(x, axis=0):
    """Split ``x`` along ``axis`` into a list of Variables without that axis (one node)."""
    x = as_variable(x)
    axis = _axis("unstack", axis, x.ndim, x.shape)
    if x.shape[axis] == 0:
        raise OpError(f"unstack: axis {axis} of shape {x.shape} is empty")
    if x.shape[axis] == 1:
        return [squeeze(x, axis)]
    out = Unstack(axis)(x)
    return out if isinstance(out, list) else [out]


def expand_dims(x, axis):
    """Insert a length-1 axis (a reshape)."""
    x = as_variable(x)
    ax = _axis("expand_dims", axis, x.ndim + 1, x.shape)
    shape = list(x.shape)
    shape.insert(ax, 1)
    return reshape(x, shape)


def squeeze(x, axis):
    """Remove a length-1 axis (a reshape)."""
    x = as_variable(x)
    axis = _axis("squeeze", axis, x.ndim, x.shape)
    if x.shape[axis] != 1:
        raise OpError(f"squeeze: axis {axis} of shape {x.shape} is not 1")
    shape = list(x.shape)
    del shape[axis]
    return reshape(x, shape)
