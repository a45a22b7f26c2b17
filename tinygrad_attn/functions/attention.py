"""The chapter's attention, as visible composed functions (no backward of their own).

``attention_weight(hs, h)``: how much each encoder state ``hs[t]`` matches the decoder
state ``h`` (dot products), turned into weights that sum to 1 by a softmax over the
encoder axis. ``weight_sum(hs, a)``: the context vector, the weighted sum of ``hs``.

Both accept a single decoder step (``h`` of shape (N, H)) or all decoder steps at once
(``h`` of shape (N, T_dec, H)); the batched form is one batched matmul for the scores
and one for the context, with no materialised repeat of ``hs``.

Two forms compute the same values and gradients:

* ``form="matmul"`` (default): batched matrix products, as above.
* ``form="book"``: the book's graph, node for node: AttentionWeight is
  Repeat (``h`` copied along the encoder axis) -> x (element-wise with ``hs``) -> Sum (over H)
  -> Softmax, and WeightSum is Repeat (``a`` copied along H) -> x -> Sum (over the encoder
  axis). All decoder steps at once loop over the steps, as the book's TimeAttention does.
  It is the reference for teaching and for checking the matmul form, not for speed.

The pieces used by the attention layer's variants: :func:`dot_score` (the chapter's score,
optionally scaled by ``1/sqrt(H)``), :func:`general_score` (bilinear, ``h W hs``),
:func:`additive_score` (Bahdanau, ``v . tanh(h W_q + hs W_k)``) and :func:`masked_softmax`
(key-padding masks: masked positions get weight 0; a fully masked row gets all zeros, never NaN).

The Transformer's :func:`scaled_dot_product_attention` ``(q, k, v, mask)`` is the same two
steps with three changes: the scores are divided by ``sqrt(d)``, the states scored (keys
``k``) and the states summed (values ``v``) may differ, and a boolean ``mask`` (data, not a
special case: :func:`causal_mask`, :func:`padding_mask`) removes positions from the
softmax. ``attention_weight(hs, h)`` equals the weights of
``scaled_dot_product_attention(h * sqrt(H), hs, hs)``.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import as_device, device_of, get_array_module
from ..core import OpError, Variable, as_variable, name_scope
from .linalg import linear, matmul
from .math import tanh, where
from .nn import dropout as _dropout
from .nn import softmax
from .reduce import sum as _sum
from .shape import broadcast_to, reshape, stack, swapaxes, unstack

__all__ = ["attention_weight", "weight_sum", "dot_score", "general_score", "additive_score",
           "masked_softmax", "scaled_dot_product_attention", "causal_mask", "padding_mask",
           "ATTENTION_FORMS"]

ATTENTION_FORMS = ("matmul", "book")
"""The two forms of :func:`attention_weight` / :func:`weight_sum` / :func:`dot_score`."""


def _check_form(op, form):
    if form not in ATTENTION_FORMS:
        raise OpError(f"{op}: form must be one of {ATTENTION_FORMS}, got {form!r}")


def _check_query(op, hs, h, width=None):
    """hs must be (N, T_enc, H) and h (N, width) or (N, T_dec, width) (0-d inputs included).

    ``width`` None: the last axis of hs; ``False``: not checked (a weight that fixes it is
    itself malformed and is reported next).
    """
    if width is None:
        width = hs.shape[-1] if hs.ndim == 3 else None
    shown = "H" if width in (None, False) else width
    if (hs.ndim != 3 or h.ndim not in (2, 3) or h.shape[0] != hs.shape[0]
            or (width is not False and h.shape[-1] != width)):
        raise OpError(f"{op}: expected hs (N, T_enc, H) and h (N, {shown}) or (N, T_dec, {shown}), "
                      f"got hs {hs.shape} and h {h.shape}")


def dot_score(hs, h, scale=False, form="matmul"):
    """Scores ``s[t] = hs[t] . h`` (the chapter's), divided by ``sqrt(H)`` when ``scale``.

    Args:
        hs: encoder hidden states, (N, T_enc, H).
        h: decoder state(s), (N, H) for one step or (N, T_dec, H) for all steps.
        scale: divide by ``sqrt(H)`` (scaled dot product, as in the Transformer).
        form: ``"matmul"`` (one batched matmul) or ``"book"`` (Repeat -> x -> Sum).

    Returns:
        (N, T_enc) or (N, T_dec, T_enc), before the softmax.
    """
    hs = as_variable(hs)
    h = as_variable(h, hs)
    _check_query("dot_score", hs, h)
    _check_form("dot_score", form)
    N, T, H = hs.shape
    if form == "book":
        if h.ndim == 3:  # the book's TimeAttention: one Attention per decoder step
            s = stack([dot_score(hs, h_t, scale, form) for h_t in unstack(h, axis=1)], axis=1)
            return s
        hr = broadcast_to(reshape(h, (N, 1, H)), (N, T, H))   # Repeat
        s = _sum(hs * hr, axis=2)                             # x, Sum
    elif h.ndim == 2:
        s = reshape(matmul(hs, reshape(h, (N, H, 1))), (N, T))
    else:
        s = matmul(h, swapaxes(hs, 1, 2))
    return s * (1.0 / math.sqrt(H)) if scale else s


def general_score(hs, h, W, form="matmul"):
    """Bilinear ("general", Luong) scores ``s[t] = h W hs[t]``.

    Args:
        hs: (N, T_enc, H). h: (N, H_q) or (N, T_dec, H_q). W: (H_q, H).
        form: as in :func:`dot_score` (the product with ``hs`` is a dot product of ``h W``).

    Returns:
        (N, T_enc) or (N, T_dec, T_enc).
    """
    hs = as_variable(hs)
    h = as_variable(h, hs)
    W = as_variable(W, hs)
    _check_query("general_score", hs, h, W.shape[0] if W.ndim == 2 else False)
    if W.ndim != 2 or W.shape[1] != hs.shape[-1]:
        raise OpError(f"general_score: W must be (H_q, {hs.shape[-1]}) for hs {hs.shape}, got {W.shape}")
    return dot_score(hs, linear(h, W), form=form)


def additive_score(hs, h, W_query, W_key, v):
    """Additive (Bahdanau) scores ``s[t] = v . tanh(h W_query + hs[t] W_key)``.

    Args:
        hs: (N, T_enc, H). h: (N, H_q) or (N, T_dec, H_q).
        W_query: (H_q, A). W_key: (H, A). v: (A,).

    Returns:
        (N, T_enc) or (N, T_dec, T_enc). Memory: one (N, [T_dec,] T_enc, A) tanh.
    """
    hs = as_variable(hs)
    h = as_variable(h, hs)
    W_query, W_key, v = (as_variable(p, hs) for p in (W_query, W_key, v))
    _check_query("additive_score", hs, h, W_query.shape[0] if W_query.ndim == 2 else False)
    A = v.shape[0] if v.ndim == 1 else None
    if (A is None or W_query.ndim != 2 or W_key.ndim != 2 or W_query.shape[1] != A
            or W_key.shape != (hs.shape[-1], A)):
        raise OpError(f"additive_score: expected W_query (H_q, A), W_key ({hs.shape[-1]}, A), v (A,), "
                      f"got {W_query.shape}, {W_key.shape}, {v.shape}")
    N, T, _ = hs.shape
    k = linear(hs, W_key)                                    # (N, T_enc, A)
    q = linear(h, W_query)                                   # (N, A) or (N, T_dec, A)
    if h.ndim == 2:
        e = tanh(reshape(q, (N, 1, A)) + k)                  # (N, T_enc, A)
    else:
        e = tanh(reshape(q, (N, h.shape[1], 1, A)) + reshape(k, (N, 1, T, A)))
    return reshape(linear(e, reshape(v, (A, 1))), e.shape[:-1])


def _key_mask(op, mask, shape, xp):
    """A boolean mask broadcastable to scores ``shape``; a 2-D (N, T_enc) mask is a key mask."""
    mask = getattr(mask, "data", mask)
    if not hasattr(mask, "dtype"):
        mask = xp.asarray(mask)
    if mask.dtype.kind != "b":
        raise OpError(f"{op}: mask must be a boolean array (True = attend), got dtype {mask.dtype}")
    if len(shape) == 3 and mask.ndim == 2:
        mask = mask.reshape(mask.shape[0], 1, mask.shape[1])   # key mask, same for every query
    try:
        if np.broadcast_shapes(mask.shape, tuple(shape)) != tuple(shape):   # shapes, not data
            raise ValueError
    except ValueError:
        raise OpError(f"{op}: mask of shape {mask.shape} does not fit scores {tuple(shape)} "
                      "(expected (N, T_enc) or a shape broadcastable to the scores)") from None
    return mask


def masked_softmax(s, mask=None, axis=-1):
    """Softmax of scores ``s`` over the key axis, with masked positions given weight exactly 0.

    Args:
        s: scores, (N, T_enc) or (N, T_dec, T_enc).
        mask: None, or a boolean array, True where attention is allowed: (N, T_enc) (a key
            mask, e.g. ``xs != pad_id``; for 3-D scores the same for every query) or an array
            with the scores' number of axes that broadcasts to them (e.g. a causal mask
            (1, T_dec, T_enc)).
        axis: must be the last axis (the keys).

    Returns:
        Weights of ``s``'s shape; each row sums to 1 over its allowed positions, and a row with
        no allowed position is all zeros (not NaN). Composition: ``where`` -> ``softmax`` ->
        ``x mask``; masked scores get no gradient.
    """
    s = as_variable(s)
    if axis not in (-1, s.ndim - 1):
        raise OpError(f"masked_softmax: only the last axis is supported, got axis {axis} for {s.shape}")
    if mask is None:
        return softmax(s, axis=-1)
    xp = get_array_module(s.data)
    mask = _key_mask("masked_softmax", mask, s.shape, xp)
    if device_of(mask) != device_of(s.data):      # e.g. a host mask for scores on a device
        mask = as_device(mask, device_of(s.data))
    low = xp.asarray(np.finfo(s.dtype).min / 2, dtype=s.dtype)   # finite: exp underflows to 0
    a = softmax(where(mask, s, low), axis=-1)
    return a * mask.astype(s.dtype)  # fully masked rows: uniform * 0 = 0


def attention_weight(hs, h, mask=None, form="matmul"):
    """Attention weights ``a = softmax(hs . h)`` over the encoder axis.

    Args:
        hs: encoder hidden states, (N, T_enc, H).
        h: decoder hidden state(s), (N, H) for one step or (N, T_dec, H) for all steps.
        mask: optional boolean key mask, True = attend (see :func:`masked_softmax`).
        form: ``"matmul"`` or ``"book"`` (Repeat -> x -> Sum -> Softmax); same values.

    Returns:
        (N, T_enc) for one step, or (N, T_dec, T_enc); each row sums to 1. Named ``"a"``,
        computed in the name scope ``AttentionWeight`` (the scores inside are named ``"s"``).
    """
    hs = as_variable(hs)
    h = as_variable(h, hs)
    if hs.ndim != 3 or h.ndim not in (2, 3) or h.shape[0] != hs.shape[0] or h.shape[-1] != hs.shape[-1]:
        raise OpError(f"attention_weight: expected hs (N, T_enc, H) and h (N, H) or (N, T_dec, H), "
                      f"got hs {hs.shape} and h {h.shape}")
    with name_scope("AttentionWeight"):
        s = _named(dot_score(hs, h, form=form), "s")
        return _named(masked_softmax(s, mask), "a")


def weight_sum(hs, a, form="matmul"):
    """Context vector ``c = sum_t a[t] * hs[t]``.

    Args:
        hs: encoder hidden states, (N, T_enc, H).
        a: attention weights, (N, T_enc) or (N, T_dec, T_enc).
        form: ``"matmul"`` (one batched matmul) or ``"book"`` (Repeat -> x -> Sum).

    Returns:
        (N, H) or (N, T_dec, H), named ``"c"``, computed in the name scope ``WeightSum``.
    """
    hs = as_variable(hs)
    a = as_variable(a, hs)
    if hs.ndim != 3 or a.ndim not in (2, 3) or a.shape[0] != hs.shape[0] or a.shape[-1] != hs.shape[1]:
        raise OpError(f"weight_sum: expected hs (N, T_enc, H) and a (N, T_enc) or (N, T_dec, T_enc), "
                      f"got hs {hs.shape} and a {a.shape}")
    _check_form("weight_sum", form)
    with name_scope("WeightSum"):
        return _named(_weight_sum(hs, a, form), "c")


def _weight_sum(hs, a, form):
    N, T, H = hs.shape
    if form == "book":
        if a.ndim == 3:
            return stack([_weight_sum(hs, a_t, form) for a_t in unstack(a, axis=1)], axis=1)
        ar = broadcast_to(reshape(a, (N, T, 1)), (N, T, H))   # Repeat
        return _sum(hs * ar, axis=1)                          # x, Sum
    if a.ndim == 2:
        return reshape(matmul(reshape(a, (N, 1, T)), hs), (N, H))
    return matmul(a, hs)


def _named(v, name):
    """Give the fresh output ``v`` the chapter's name (shown by drawings and reports)."""
    if v.name is None:
        v.name = name
    return v


def scaled_dot_product_attention(q, k, v, mask=None, dropout=0.0, rng=None):
    """The chapter's two steps for many queries at once, with scaling and a mask.

    1. weights ``a = softmax(q k^T / sqrt(d) + mask)`` over the key axis (masked keys get
       weight 0; a query whose keys are all masked gets all-zero weights, not NaN);
    2. context ``c = a v``: for every query the weighted sum of the values.

    Args:
        q: queries (..., T_q, d), e.g. (N, heads, T_q, d).
        k: keys (..., T_k, d).
        v: values (..., T_k, d_v).
        mask: None, or a boolean array broadcastable to (..., T_q, T_k), True where a
            query may attend to a key (e.g. :func:`causal_mask` and :func:`padding_mask`
            combined with ``&``), on the inputs' device.
        dropout: probability of dropping each weight after the softmax (training only).
        rng: Generator for the dropout mask (default: the library's).

    Returns:
        ``(context, weights)``: (..., T_q, d_v) and (..., T_q, T_k) Variables (the weights
        before dropout).

    Cost: two batched matmuls, (T_q x d) @ (d x T_k) and (T_q x T_k) @ (T_k x d_v) per
    leading index.
    """
    q = as_variable(q)
    k = as_variable(k, q)
    v = as_variable(v, q)
    if (q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim or q.shape[-1] != k.shape[-1]
            or k.shape[-2] != v.shape[-2] or q.shape[:-2] != k.shape[:-2]
            or k.shape[:-2] != v.shape[:-2]):
        raise OpError(f"scaled_dot_product_attention: expected q (..., T_q, d), k (..., T_k, d) "
                      f"and v (..., T_k, d_v) with the same leading axes, got q {q.shape}, "
                      f"k {k.shape}, v {v.shape}")
    scale = 1.0 / math.sqrt(q.shape[-1])
    if q.shape[-1] < k.shape[-2]:   # scale the smaller array: q (.., T_q, d) or the scores
        scores = matmul(q * scale, swapaxes(k, -1, -2))                          # step 1
    else:
        scores = matmul(q, swapaxes(k, -1, -2)) * scale
    if mask is not None:
        if isinstance(mask, Variable):
            mask = mask.data
        if hasattr(mask, "ndim") and mask.ndim < scores.ndim:   # NumPy broadcasting: lead 1s
            mask = mask.reshape((1,) * (scores.ndim - mask.ndim) + tuple(mask.shape))
    weights = masked_softmax(scores, mask, axis=-1)
    a = _dropout(weights, dropout, rng=rng) if dropout else weights
    return matmul(a, v), weights                                                 # step 2


def causal_mask(T, like, T_k=None):
    """Boolean (T, T_k) mask, True on and below the diagonal: query i sees keys 0..i (+ offset).

    Args:
        T: number of queries.
        like: an array or Variable whose device the mask is made on.
        T_k: number of keys (default T); with T_k > T the queries are the last T positions
            (query i sees keys 0 .. i + T_k - T).
    """
    data = like.data if isinstance(like, Variable) else like
    xp = get_array_module(data)
    T_k = T if T_k is None else T_k
    return xp.tri(T, T_k, T_k - T, dtype=bool)


def padding_mask(ids, pad_id):
    """Boolean (N, 1, 1, T) key mask, False where ``ids`` (N, T) equals ``pad_id``.

    Broadcasts against scores (N, heads, T_q, T); combine with :func:`causal_mask` by ``&``.
    """
    data = ids.data if isinstance(ids, Variable) else ids
    if data.ndim != 2:
        raise OpError(f"padding_mask: ids must be (N, T), got shape {data.shape}")
    return (data != pad_id).reshape(data.shape[0], 1, 1, data.shape[1])
