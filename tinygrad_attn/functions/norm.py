"""Layer normalisation: normalise each position's feature vector, then scale and shift.

``layer_norm(x, gamma, beta)`` over the last axis of x (..., D)::

    mu   = mean(x)                       # per position
    var  = mean((x - mu) ** 2)
    xhat = (x - mu) / sqrt(var + eps)
    y    = xhat * gamma + beta           # gamma, beta: (D,)

Two implementations compute the same thing:

* :func:`layer_norm_composed` — the formula above written with ``F`` ops (about ten graph
  nodes); it is the reference.
* the fused primitive :class:`LayerNorm` — one node whose forward runs on arrays and whose
  backward is written with engine ops (so double backward works); the tests check its
  gradients and second gradients against the composed version.

:func:`layer_norm` uses the fused op unless the switch :class:`~.fused.fused_ops` is off
(``with F.fused_ops(False): ...``), which also draws it as its separate ops in graph pictures.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..core import Function, OpError, as_variable
from .fused import fused_ops
from .reduce import mean as _mean
from .reduce import sum as _sum
from .shape import reshape

__all__ = ["layer_norm", "layer_norm_composed", "LayerNorm"]


def _normalized(x, eps):
    """``(xhat, rstd)`` of Variable x over the last axis, written with ops."""
    mu = _mean(x, axis=-1, keepdims=True)
    xc = x - mu
    rstd = (_mean(xc * xc, axis=-1, keepdims=True) + eps) ** -0.5
    return xc * rstd, rstd


def layer_norm_composed(x, gamma, beta, eps=1e-5):
    """Layer normalisation over the last axis as a composition of ops (the reference)."""
    x, gamma, beta = _check(x, gamma, beta, eps)
    xhat, _ = _normalized(x, eps)
    return xhat * gamma + beta


class LayerNorm(Function):
    """Fused layer normalisation over the last axis: inputs (x, gamma, beta), one output.

    Backward (with ``g = gy * gamma`` and means over the last axis)::

        gx     = rstd * (g - mean(g) - xhat * mean(g * xhat))
        ggamma = sum over leading axes of gy * xhat
        gbeta  = sum over leading axes of gy

    ``xhat`` and ``rstd`` are recomputed there with ops from x, so the gradient is itself
    differentiable.
    """

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, gamma, beta):
        xp = get_array_module(x)
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=-1, keepdims=True)
        xc *= (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype)
        y = xc * gamma
        y += beta
        return y

    def backward(self, gy):
        x, gamma, beta = self.inputs
        xhat, rstd = _normalized(x, self.eps)
        g = gy * gamma
        gx = rstd * (g - _mean(g, axis=-1, keepdims=True)
                     - xhat * _mean(g * xhat, axis=-1, keepdims=True))
        D = x.shape[-1]
        gy2 = reshape(gy, (-1, D))
        ggamma = _sum(gy2 * reshape(xhat, (-1, D)), axis=0)
        gbeta = _sum(gy2, axis=0)
        return gx, ggamma, gbeta

    def _describe_args(self):
        return f"(eps={self.eps})"


def _check(x, gamma, beta, eps):
    x = as_variable(x)
    gamma = as_variable(gamma, x)
    beta = as_variable(beta, x)
    D = x.shape[-1] if x.ndim else None
    if x.ndim < 1 or gamma.shape != (D,) or beta.shape != (D,):
        raise OpError(f"layer_norm: expected x (..., D) with gamma (D,) and beta (D,), got x "
                      f"{x.shape}, gamma {gamma.shape}, beta {beta.shape}")
    if not eps > 0:
        raise OpError(f"layer_norm: eps must be positive, got {eps}")
    return x, gamma, beta


def layer_norm(x, gamma, beta, eps=1e-5):
    """Normalise x (..., D) over its last axis to mean 0 and variance 1, then ``* gamma + beta``.

    Args:
        x: inputs (..., D).
        gamma: scale (D,). beta: shift (D,).
        eps: added to the variance before the square root.

    Returns:
        (..., D). Uses the fused primitive :class:`LayerNorm`, or the composed reference
        when :class:`~.fused.fused_ops` is off.
    """
    x, gamma, beta = _check(x, gamma, beta, eps)
    if not fused_ops.enabled:
        xhat, _ = _normalized(x, eps)
        return xhat * gamma + beta
    return LayerNorm(float(eps))(x, gamma, beta)
