"""The chapter's attention, as two visible composed functions.

``attention_weight(hs, h)``: how much each encoder state ``hs[t]`` matches the decoder
state ``h`` (dot products), turned into weights that sum to 1 by a softmax over the
encoder axis. ``weight_sum(hs, a)``: the context vector, the weighted sum of ``hs``.

Both accept a single decoder step (``h`` of shape (N, H)) or all decoder steps at once
(``h`` of shape (N, T_dec, H)); the batched form is one batched matmul for the scores
and one for the context, with no materialised repeat of ``hs``.
"""
from __future__ import annotations

from ..core import OpError, as_variable
from .linalg import matmul
from .nn import softmax
from .shape import reshape, swapaxes

__all__ = ["attention_weight", "weight_sum"]


def attention_weight(hs, h):
    """Attention weights ``a = softmax(hs . h)`` over the encoder axis.

    Args:
        hs: encoder hidden states, (N, T_enc, H).
        h: decoder hidden state(s), (N, H) for one step or (N, T_dec, H) for all steps.

    Returns:
        (N, T_enc) for one step, or (N, T_dec, T_enc); each row sums to 1.
    """
    hs = as_variable(hs)
    h = as_variable(h, hs)
    if hs.ndim != 3 or h.ndim not in (2, 3) or h.shape[0] != hs.shape[0] or h.shape[-1] != hs.shape[-1]:
        raise OpError(f"attention_weight: expected hs (N, T_enc, H) and h (N, H) or (N, T_dec, H), "
                      f"got hs {hs.shape} and h {h.shape}")
    if h.ndim == 2:
        N, H = h.shape
        s = reshape(matmul(hs, reshape(h, (N, H, 1))), (N, hs.shape[1]))  # (N, T_enc)
        return softmax(s, axis=-1)
    s = matmul(h, swapaxes(hs, 1, 2))  # (N, T_dec, T_enc)
    return softmax(s, axis=-1)


def weight_sum(hs, a):
    """Context vector ``c = sum_t a[t] * hs[t]``.

    Args:
        hs: encoder hidden states, (N, T_enc, H).
        a: attention weights, (N, T_enc) or (N, T_dec, T_enc).

    Returns:
        (N, H) or (N, T_dec, H).
    """
    hs = as_variable(hs)
    a = as_variable(a, hs)
    if hs.ndim != 3 or a.ndim not in (2, 3) or a.shape[0] != hs.shape[0] or a.shape[-1] != hs.shape[1]:
        raise OpError(f"weight_sum: expected hs (N, T_enc, H) and a (N, T_enc) or (N, T_dec, T_enc), "
                      f"got hs {hs.shape} and a {a.shape}")
    if a.ndim == 2:
        N, T = a.shape
        return reshape(matmul(reshape(a, (N, 1, T)), hs), (N, hs.shape[2]))
    return matmul(a, hs)
