"""Matrix products: matmul (2-D and batched N-D) and the fused linear map."""
from __future__ import annotations

from ..backend import get_array_module
from ..core import Function, OpError, as_variable
from .reduce import sum as _sum
from .shape import reshape, sum_to, swapaxes, transpose

__all__ = ["matmul", "linear"]


class MatMul(Function):
    """``x0 @ x1`` for arrays with ndim >= 2; leading (batch) axes broadcast."""

    def forward(self, x0, x1):
        return get_array_module(x0).matmul(x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = matmul(gy, swapaxes(x1, -1, -2))
        gx1 = matmul(swapaxes(x0, -1, -2), gy)
        if gx0.shape != x0.shape:
            gx0 = sum_to(gx0, x0.shape)
        if gx1.shape != x1.shape:
            gx1 = sum_to(gx1, x1.shape)
        return gx0, gx1


def matmul(x0, x1):
    """Matrix product with NumPy's ``@`` semantics (1-D operands are promoted and squeezed back).

    Args:
        x0: (..., N, K) or (K,)
        x1: (..., K, M) or (K,)

    Returns:
        (..., N, M), with the batch axes broadcast.
    """
    x0 = as_variable(x0)
    x1 = as_variable(x1, x0)
    if x0.ndim == 0 or x1.ndim == 0:
        raise OpError(f"MatMul: operands must have at least 1 dimension, got shapes {x0.shape} "
                      f"and {x1.shape}")
    if x0.shape[-1] != x1.shape[-2 if x1.ndim > 1 else 0]:
        raise OpError(f"MatMul: inner dimensions differ: {x0.shape} @ {x1.shape} "
                      f"({x0.shape[-1]} != {x1.shape[-2 if x1.ndim > 1 else 0]}; "
                      f"dtypes {x0.dtype}, {x1.dtype})")
    if x0.ndim == 1 or x1.ndim == 1:
        a = reshape(x0, (1, x0.shape[0])) if x0.ndim == 1 else x0
        b = reshape(x1, (x1.shape[0], 1)) if x1.ndim == 1 else x1
        y = matmul(a, b)
        shape = y.shape
        if x0.ndim == 1:
            shape = shape[:-2] + shape[-1:]
        if x1.ndim == 1:
            shape = shape[:-1]
        return reshape(y, shape)
    if x0.shape[-1] != x1.shape[-2]:
        raise OpError(f"MatMul: inner dimensions differ: {x0.shape} @ {x1.shape} "
                      f"({x0.shape[-1]} != {x1.shape[-2]}; dtypes {x0.dtype}, {x1.dtype})")
    b0, b1 = x0.shape[:-2], x1.shape[:-2]
    for p, q in zip(reversed(b0), reversed(b1)):
        if p != q and p != 1 and q != 1:
            raise OpError(f"MatMul: batch dimensions of {x0.shape} and {x1.shape} cannot be "
                          "broadcast together")
    return MatMul()(x0, x1)


class Linear(Function):
    """``x @ W + b`` for x of shape (..., D), W (D, O), b (O,), (..., O) or None: one GEMM for all rows.

    ``b`` may be a full (..., O) array: then the op is a fused "project and add" (an LSTM step's
    ``h @ Wh + xWx_t``), one node and one output array instead of a matmul plus an add.
    """

    def forward(self, x, W, b=None):
        D = x.shape[-1]
        y = x.reshape(-1, D).dot(W) if x.ndim != 2 else x.dot(W)
        if x.ndim != 2:
            y = y.reshape(x.shape[:-1] + (W.shape[1],))
        if b is not None:
            if b.dtype == y.dtype and b.ndim <= y.ndim:
                y += b
            else:  # let NumPy promote (e.g. a float64 bias on float32 inputs), as x @ W + b would
                y = y + b
        return y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        D, O = W.shape
        gx = linear(gy, transpose(W))
        g2 = reshape(gy, (-1, O))
        gW = matmul(transpose(reshape(x, (-1, D))), g2)
        if len(self.inputs) == 3:
            b = self.inputs[2]
            gb = _sum(g2, axis=0) if b.shape == (O,) else sum_to(gy, b.shape)
            return gx, gW, gb
        return gx, gW


def linear(x, W, b=None):
    """Affine map over the last axis: ``x @ W + b``.

    Args:
        x: (..., D) inputs (any number of leading axes, e.g. (N, T, D) for all time steps).
        W: (D, O) weights.
        b: (O,) bias, or an array broadcastable to the output (..., O) (e.g. a per-row term
            (N, O) added in the same node), or None.

    Returns:
        (..., O). One matrix product for all leading positions.
    """
    x = as_variable(x)
    W = as_variable(W, x)
    if W.ndim != 2 or x.ndim < 1 or x.shape[-1] != W.shape[0]:
        raise OpError(f"Linear: input {x.shape} does not fit weight {W.shape} "
                      "(expected x (..., D) and W (D, O))")
    if b is None:
        return Linear()(x, W)
    b = as_variable(b, x)
    out = x.shape[:-1] + (W.shape[1],)
    if b.shape != (W.shape[1],) and (b.ndim > len(out) or any(
            p != q and p != 1 for p, q in zip(reversed(b.shape), reversed(out)))):
        raise OpError(f"Linear: bias shape {b.shape} does not broadcast to the output {out} "
                      f"of {x.shape} @ {W.shape}")
    return Linear()(x, W, b)
