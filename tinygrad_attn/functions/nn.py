"""Neural-network primitives: softmax, log_softmax, cross entropy, softplus, binary cross entropy,
MSE, dropout, embedding."""
from __future__ import annotations

from .. import seeding
from ..backend import as_numpy, get_array_module
from ..core import Config, Function, OpError, Variable, as_variable
from .fused import fused_ops
from .linalg import linear, matmul
from .math import exp, sigmoid, where
from .reduce import row_max, row_sum
from .reduce import sum as _sum
from .shape import get_item, reshape

__all__ = ["softmax", "log_softmax", "softmax_cross_entropy", "softplus",
           "binary_cross_entropy_with_logits", "mean_squared_error", "dropout", "embedding",
           "embedding_projection"]


def _softmax_array(x, axis):
    xp = get_array_module(x)
    if x.size == 0:  # an empty axis (or an empty batch): the result has no elements either
        return xp.zeros_like(x)
    y = x - row_max(x, axis)
    xp.exp(y, out=y)
    y /= row_sum(y, axis)
    return y


class Softmax(Function):
    """``y = exp(x - max) / sum(exp(x - max))`` over ``axis``.

    Backward: ``gx = y * gy - y * sum(y * gy)``; one fused :class:`SoftmaxGrad` node while
    :class:`~.fused.fused_ops` is on, else that formula as four ops (the reference).
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return _softmax_array(x, self.axis)

    def backward(self, gy):
        y = self.outputs[0]()
        if fused_ops.enabled and y.dtype == gy.dtype:
            return SoftmaxGrad(self.axis)(y, gy)
        return _softmax_grad_composed(y, gy, self.axis)

    def _describe_args(self):
        return f"(axis={self.axis})"


def _softmax_grad_composed(y, gy, axis):
    """The softmax gradient as ops: ``y * gy - y * sum(y * gy)`` (the reference)."""
    gx = y * gy
    return gx - y * _sum(gx, axis=axis, keepdims=True)


class SoftmaxGrad(Function):
    """Fused softmax gradient: ``(y, gy) -> y * (gy - sum(y * gy))`` over ``axis`` in one pass
    (one node, one output array, instead of Mul, Sum, Mul, Sub).

    Its backward is composed of ops, so softmax keeps gradients of every order: for an
    upstream gradient ``G`` and ``s = sum(y * gy)``::

        d gy = y * (G - sum(G * y))
        d y  = G * (gy - s) - gy * sum(G * y)
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, y, gy):
        xp = get_array_module(y)
        gx = y * gy
        s = row_sum(gx, self.axis)
        xp.subtract(gy, s, out=gx)
        gx *= y
        return gx

    def backward(self, G):
        y, gy = self.inputs
        ax = self.axis
        sGy = _sum(G * y, axis=ax, keepdims=True)
        dgy = y * (G - sGy)
        dy = G * (gy - _sum(y * gy, axis=ax, keepdims=True)) - gy * sGy
        return dy, dgy

    def _describe_args(self):
        return f"(axis={self.axis})"


def softmax(x, axis=-1):
    """Softmax over ``axis`` (stable: the maximum is subtracted first)."""
    x = as_variable(x)
    _check_axis("Softmax", x, axis)
    return Softmax(axis)(x)


class LogSoftmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        if x.size == 0:  # nothing to normalise: an empty result of the same shape
            return xp.zeros_like(x)
        y = x - row_max(x, self.axis)
        y -= xp.log(row_sum(xp.exp(y), self.axis))
        return y

    def backward(self, gy):
        y = self.outputs[0]()
        return gy - exp(y) * _sum(gy, axis=self.axis, keepdims=True)

    def _describe_args(self):
        return f"(axis={self.axis})"


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` computed stably."""
    x = as_variable(x)
    _check_axis("LogSoftmax", x, axis)
    return LogSoftmax(axis)(x)


def _check_scored(op, count, size, what, ignoring):
    """Refuse a mean loss over zero positions (an empty batch, or every position ignored)."""
    if count:
        return
    why = (f"every one of its {size} positions is ignored ({ignoring})" if size and ignoring
           else "the batch is empty")
    raise OpError(f"{op}: no position to average over for {what}: {why}; the mean over zero "
                  "positions is undefined (as F.mean of an empty array); skip such a batch")


def _check_axis(op, x, axis):
    if not -x.ndim <= axis < x.ndim:
        raise OpError(f"{op}: axis {axis} is out of range for shape {x.shape}")


class SoftmaxCrossEntropy(Function):
    """Mean cross entropy of logits (..., C) against integer labels (...), skipping ``ignore_label``.

    With label smoothing ``e`` the target is ``(1 - e) * onehot(t) + e / C`` instead of the
    one-hot vector: per position ``lse(x) - (1 - e) x_t - e mean_c(x_c)``.
    """

    def __init__(self, t, ignore_label, label_smoothing=0.0):
        self.t = t
        self.ignore_label = ignore_label
        self.label_smoothing = label_smoothing

    def forward(self, x):
        xp = get_array_module(x)
        C = x.shape[-1]
        x2 = x.reshape(-1, C)
        t = self.t.reshape(-1)
        mask = t != self.ignore_label
        self.count = int(mask.sum())
        tt = xp.where(mask, t, 0)
        self.tt = tt
        self.mask = mask
        m = row_max(x2)
        lse = xp.log(row_sum(xp.exp(x2 - m)))[:, 0] + m[:, 0]
        picked = x2[xp.arange(x2.shape[0]), tt]
        e = self.label_smoothing
        if e:
            picked = (1.0 - e) * picked + e * x2.mean(axis=1)
        nll = (lse - picked) * mask
        return xp.asarray(nll.sum() / max(self.count, 1), dtype=x.dtype)

    def backward(self, gy):
        x, = self.inputs
        xp = get_array_module(x.data)
        C = x.shape[-1]
        n = self.tt.shape[0]
        e = self.label_smoothing
        target = xp.full((n, C), e / C, dtype=x.dtype) if e else xp.zeros((n, C), dtype=x.dtype)
        target[xp.arange(n), self.tt] += 1.0 - e
        scale = (self.mask.astype(x.dtype) / max(self.count, 1)).reshape(x.shape[:-1] + (1,))
        y = softmax(x, axis=-1)
        return (y - Variable(target.reshape(x.shape))) * Variable(scale) * gy

    def _describe_args(self):
        return f"(label_smoothing={self.label_smoothing})" if self.label_smoothing else ""


def softmax_cross_entropy(x, t, ignore_label=-1, label_smoothing=0.0):
    """Mean softmax cross entropy.

    Args:
        x: logits, (N, C) or (N, T, C).
        t: integer labels, (N,) or (N, T) (an array or Variable; it gets no gradient).
        ignore_label: label value excluded from the loss and from the mean's count.
        label_smoothing: ``e`` in [0, 1): the target puts ``1 - e`` on the label and spreads
            ``e`` evenly over all C classes (0 = the plain one-hot target).

    Returns:
        A scalar Variable: the mean over non-ignored positions.

    Raises:
        OpError: a 0-d ``x``; labels of the wrong shape or out of range; and, like
            :func:`~tinygrad_attn.functions.mean` of an empty array, a batch with no scored
            position (empty, or every label equal to ``ignore_label``): the mean over zero
            positions is undefined (the sum would be 0 and carry no gradient).
    """
    x = as_variable(x)
    t = t.data if isinstance(t, Variable) else t
    if not hasattr(t, "dtype"):
        t = get_array_module(x.data).asarray(t)
    if x.ndim < 1:
        raise OpError(f"SoftmaxCrossEntropy: logits must be (..., C) with a class axis, got a 0-d "
                      f"array (shape {x.shape}); labels {t.shape}")
    if t.dtype.kind not in "iu":
        raise OpError(f"SoftmaxCrossEntropy: labels must be integers, got dtype {t.dtype}")
    if x.shape[:-1] != t.shape:
        raise OpError(f"SoftmaxCrossEntropy: logits {x.shape} need labels of shape {x.shape[:-1]}, "
                      f"got {t.shape}")
    if not 0.0 <= label_smoothing < 1.0:
        raise OpError(f"SoftmaxCrossEntropy: label_smoothing must be in [0, 1), got {label_smoothing}")
    C = x.shape[-1]
    out_of_range = (t != ignore_label) & ((t < 0) | (t >= C))
    if t.size and bool(out_of_range.any()):
        bad = sorted({int(v) for v in as_numpy(t[out_of_range]).reshape(-1)[:5]})  # explicit copy
        raise OpError(f"SoftmaxCrossEntropy: labels {bad} are out of range for {C} classes "
                      f"(ignore_label={ignore_label})")
    _check_scored("SoftmaxCrossEntropy", int((t != ignore_label).sum()), t.size,
                  f"logits {x.shape}", f"ignore_label={ignore_label}")
    return SoftmaxCrossEntropy(t, ignore_label, float(label_smoothing))(x)


class Softplus(Function):
    """``log(1 + exp(x))``, computed as ``max(x, 0) + log1p(exp(-|x|))`` (never overflows).

    Its derivative is ``sigmoid(x)``, itself an op, so double backward works.
    """

    def forward(self, x):
        xp = get_array_module(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


def softplus(x):
    """Element-wise ``log(1 + exp(x))``: a smooth ReLU whose output is always positive.

    Stable for any ``x`` (``softplus(1000) == 1000``, ``softplus(-1000) == 0``); the gradient
    is ``sigmoid(x)``. The composed reference ``relu(x) + log(1 + exp(-abs(x)))`` gives the
    same values and gradients (see the tests).
    """
    return Softplus()(as_variable(x))


def binary_cross_entropy_with_logits(x, t, ignore_below=0.0):
    """Mean binary cross entropy of ``sigmoid(x)`` against targets ``t`` (composed, stable).

    Per element ``-t log(sigmoid(x)) - (1 - t) log(1 - sigmoid(x)) = softplus(x) - t x``,
    which never takes the log of 0, however large ``|x|`` is.

    Args:
        x: logits (any shape).
        t: targets in [0, 1], same shape as ``x`` (array or Variable; gets no gradient).
            Elements with ``t < ignore_below`` (e.g. -1 marking "no target here") are left out
            of the loss and of the mean's count.
        ignore_below: the threshold for ignored targets (0.0: negative targets are ignored).

    Returns:
        A scalar Variable: the mean over the scored elements.

    Raises:
        OpError: shapes differ, a target above 1, or no scored element (an empty batch, or
            every target below ``ignore_below``): the mean over zero elements is undefined,
            as for :func:`~tinygrad_attn.functions.mean` of an empty array.
    """
    x = as_variable(x)
    t = t.data if isinstance(t, Variable) else t
    if not hasattr(t, "dtype"):
        t = get_array_module(x.data).asarray(t, dtype=x.dtype)
    if t.shape != x.shape:
        raise OpError(f"binary_cross_entropy_with_logits: logits {x.shape} and targets {t.shape} "
                      "must have the same shape")
    if t.dtype.kind != "f":
        t = t.astype(x.dtype)
    scored = t >= ignore_below
    if t.size and bool(((t > 1) & scored).any()):
        raise OpError("binary_cross_entropy_with_logits: targets must lie in [0, 1] "
                      f"(or below {ignore_below} to be ignored), got a maximum of {float(t.max())}")
    count = int(scored.sum())
    _check_scored("binary_cross_entropy_with_logits", count, t.size, f"logits {x.shape}",
                  f"ignore_below={ignore_below}")
    zero = Variable(get_array_module(x.data).zeros((), dtype=x.dtype))
    per = softplus(x) - x * Variable(t.astype(x.dtype))
    if count != t.size:
        per = where(scored, per, zero)
    return _sum(per) * (1.0 / max(count, 1))


def mean_squared_error(x0, x1):
    """Mean of ``(x0 - x1) ** 2`` over all elements (composed).

    Raises:
        OpError: the broadcast difference is empty (the mean over zero elements is undefined,
            as for :func:`~tinygrad_attn.functions.mean`).
    """
    x0 = as_variable(x0)
    diff = x0 - x1
    _check_scored("mean_squared_error", diff.size, diff.size, f"difference {diff.shape}", None)
    return _sum(diff * diff) * (1.0 / diff.size)


def dropout(x, p=0.5, rng=None):
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The identity inside :class:`~tinygrad_attn.test_mode`. ``rng`` is a NumPy/CuPy Generator
    (default: the library's seeded generator).
    """
    x = as_variable(x)
    if not 0.0 <= p < 1.0:
        raise OpError(f"dropout: p must be in [0, 1), got {p}")
    if not Config.train or p == 0.0:
        return x
    xp = get_array_module(x.data)
    if rng is None:

        rng = seeding.get_rng(xp)
    mask = (rng.random(x.shape) >= p).astype(x.dtype) * (1.0 / (1.0 - p))
    return x * Variable(mask.astype(x.dtype))


def embedding(W, ids):
    """Rows of ``W`` (V, D) at integer ``ids`` (any shape) -> ids.shape + (D,).

    The backward pass scatter-adds, so repeated ids accumulate their gradients.
    """
    W = as_variable(W)
    ids = ids.data if isinstance(ids, Variable) else ids
    if not hasattr(ids, "dtype") or ids.dtype.kind not in "iu":
        raise OpError(f"embedding: ids must be an integer array, got {type(ids).__name__} "
                      f"{getattr(ids, 'dtype', '')}")
    if W.ndim < 1:
        raise OpError(f"embedding: the table must be (V, D) (one row per id), got a 0-d array "
                      f"(shape {W.shape})")
    V = W.shape[0]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= V):
        raise OpError(f"embedding: ids must lie in [0, {V}), got min {int(ids.min())} "
                      f"max {int(ids.max())}")
    return get_item(W, ids)


class TakeRows(Function):
    """Rows of a small table ``W`` (V, D) at integer ``ids`` -> ids.shape + (D,).

    The backward pass is one matrix product, ``onehot(ids)^T @ gy`` ((V, M) x (M, D) for M
    ids), instead of a scatter-add: for a table of a few dozen rows and M in the thousands,
    NumPy's ``add.at`` is about five times slower than that product.
    """

    def __init__(self, ids):
        self.ids = ids

    def forward(self, W):
        flat = self.ids.reshape(-1)
        return get_array_module(W).take(W, flat, axis=0).reshape(self.ids.shape + W.shape[1:])

    def backward(self, gy):
        W, = self.inputs
        xp = get_array_module(gy.data)
        flat = self.ids.reshape(-1)
        onehot = xp.zeros((W.shape[0], flat.size), dtype=gy.dtype)
        onehot[flat, xp.arange(flat.size)] = 1
        return matmul(Variable(onehot), reshape(gy, (flat.size, W.shape[1])))


def embedding_projection(E, ids, W, b=None):
    """``linear(embedding(E, ids), W, b)`` computed as a lookup in the projected table.

    With a small vocabulary, projecting the V rows of the embedding table once
    (``P = E @ W + b``, (V, O)) and taking the rows of ``P`` at ``ids`` gives the same result
    as embedding every id and projecting all N*T vectors: one (V, D) x (D, O) product instead
    of an (N*T, D) x (D, O) one. A composition of ops (a linear map, then a row lookup whose
    backward is a one-hot product), so gradients reach ``E``, ``W`` and ``b``.

    Args:
        E: embedding table (V, D). ids: integer ids of any shape. W: (D, O). b: (O,) or None.

    Returns:
        ids.shape + (O,).

    Raises:
        OpError: ids not integers or outside [0, V); shapes that do not fit.
    """
    E = as_variable(E)
    ids = ids.data if isinstance(ids, Variable) else ids
    if not hasattr(ids, "dtype") or ids.dtype.kind not in "iu":
        raise OpError(f"embedding_projection: ids must be an integer array, got "
                      f"{type(ids).__name__} {getattr(ids, 'dtype', '')}")
    if E.ndim != 2:
        raise OpError(f"embedding_projection: the table must be (V, D), got shape {E.shape}")
    V = E.shape[0]
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= V):
        raise OpError(f"embedding_projection: ids must lie in [0, {V}), got min {int(ids.min())} "
                      f"max {int(ids.max())}")
    return TakeRows(ids)(linear(E, W, b))
