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
  backward is one more fused node, :class:`LayerNormGrad`, whose own backward is written
  with engine ops (so gradients of every order work); the tests check its gradients, second
  and third gradients against the composed version.

:func:`layer_norm` uses the fused op unless the switch :class:`~.fused.fused_ops` is off
(``with F.fused_ops(False): ...``), which also draws it as its separate ops in graph pictures.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..core import Function, OpError, as_variable
from .fused import fused_ops
from .reduce import mean as _mean
from .reduce import lead_sum, row_sum
from .reduce import sum as _sum
from .shape import broadcast_to, reshape

__all__ = ["layer_norm", "layer_norm_composed", "LayerNorm", "LayerNormGrad"]


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

    The forward keeps ``xhat`` and ``rstd = 1 / sqrt(var + eps)``; the backward is one
    :class:`LayerNormGrad` node, whose own backward is composed of ops, so gradients of
    every order exist.
    """

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, gamma, beta):
        xp = get_array_module(x)
        inv_d = 1.0 / x.shape[-1]
        if x.dtype == xp.float32:   # BLAS sums, no (.., D) temporary (float64: pairwise sums)
            xc = x - row_sum(x) * inv_d
            var = xp.einsum("...i,...i->...", xc, xc)[..., None] * inv_d
        else:
            xc = x - x.mean(axis=-1, keepdims=True)
            var = (xc * xc).mean(axis=-1, keepdims=True)
        rstd = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype)
        xc *= rstd                                  # xc now holds xhat
        self.xhat, self.rstd = xc, rstd
        y = xc * gamma
        y += beta
        return y

    def backward(self, gy):
        x, gamma, _ = self.inputs
        return tuple(LayerNormGrad(self.xhat, self.rstd, self.eps)(x, gamma, gy))

    def _describe_args(self):
        return f"(eps={self.eps})"


class LayerNormGrad(Function):
    """The gradient of :class:`LayerNorm`: ``(x, gamma, gy) -> (gx, ggamma, gbeta)``.

    Forward (one pass over arrays, given the saved ``xhat`` and ``rstd``; ``g = gy * gamma``,
    means ``m`` over the last axis, sums ``S`` over the leading axes)::

        gx     = rstd * (g - m(g) - xhat * m(g * xhat))
        ggamma = S(gy * xhat)
        gbeta  = S(gy)

    Its backward (:meth:`backward`) is written with ops, recomputing ``xhat`` and ``rstd``
    from x, so it can be differentiated again.
    """

    def __init__(self, xhat, rstd, eps):
        self.xhat, self.rstd, self.eps = xhat, rstd, eps

    def forward(self, x, gamma, gy):
        xhat, rstd = self.xhat, self.rstd
        D = x.shape[-1]
        g = gy * gamma
        xp = get_array_module(g)
        fast = g.dtype == xp.float32  # BLAS sums and einsum (float64 keeps pairwise sums)
        if fast:
            mg = row_sum(g) * (1.0 / D)
            mgx = xp.einsum("...i,...i->...", g, xhat)[..., None] * (1.0 / D)
        else:
            mg = g.mean(axis=-1, keepdims=True)
            mgx = (g * xhat).mean(axis=-1, keepdims=True)
        g -= mg
        g -= xhat * mgx
        g *= rstd
        gy2 = gy.reshape(-1, D)
        ggamma = (xp.einsum("ij,ij->j", gy2, xhat.reshape(-1, D)) if fast
                  else (gy2 * xhat.reshape(-1, D)).sum(axis=0))
        gbeta = lead_sum(gy2)
        return g, ggamma, gbeta

    def backward(self, A, B, C):
        """Second derivatives with ops, for upstream gradients A (of gx), B (of ggamma) and C
        (of gbeta); absent ones count as zeros. With ``P(u) = u - m(u) - xhat * m(u * xhat)``
        (self-adjoint)::

            dg     = rstd * P(A)
            d gy   = gamma * dg + B * xhat + C
            d gamma = S(gy * dg)
            d xhat = -rstd * (A * m(g * xhat) + g * m(A * xhat)) + gy * B
            d x    = rstd * P(d xhat) - rstd * m(A * gx) * xhat
        """
        x, gamma, gy = self.inputs
        D = x.shape[-1]
        xhat, rstd = _normalized(x, self.eps)
        g = gy * gamma

        def P(u):
            return (u - _mean(u, axis=-1, keepdims=True)
                    - xhat * _mean(u * xhat, axis=-1, keepdims=True))

        dgy = dgamma = None
        dxhat = None
        dx = None
        if A is not None:
            dg = rstd * P(A)
            dgy = dg * gamma
            dgamma = _sum(reshape(gy * dg, (-1, D)), axis=0)
            gx = rstd * P(g)
            dxhat = -rstd * (A * _mean(g * xhat, axis=-1, keepdims=True)
                             + g * _mean(A * xhat, axis=-1, keepdims=True))
            dx = -rstd * _mean(A * gx, axis=-1, keepdims=True) * xhat
        if B is not None:
            t = B * xhat
            dgy = t if dgy is None else dgy + t
            t = gy * B
            dxhat = t if dxhat is None else dxhat + t
        if C is not None:
            t = broadcast_to(C, gy.shape)
            dgy = t if dgy is None else dgy + t
        if dxhat is not None:
            t = rstd * P(dxhat)
            dx = t if dx is None else dx + t
        return dx, dgamma, dgy

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
    if D == 0:
        raise OpError(f"layer_norm: x {x.shape} has no features to normalise (D = 0); the mean "
                      "and variance of nothing are undefined, as for F.mean of an empty array")
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
