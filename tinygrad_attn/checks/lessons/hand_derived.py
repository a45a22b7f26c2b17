"""Hand-derived gradients next to automatic ones: the chapter's formulas, checked by the engine.

The attention chapter writes every layer twice, a forward pass and a backward pass
derived by hand on raw arrays. This module does the same for the three steps that
matter most: the AttentionWeight step, the WeightSum step and one LSTM step, as
pure array code (no Variables, no graph). :func:`compare_attention` and
:func:`compare_lstm_step` then run the engine's composed versions
(``F.attention_weight``, ``F.weight_sum``, ``L.Attention``, ``L.LSTMCell``) on the
same float64 inputs with the same random upstream gradients and list, for every
gradient, the largest element-wise difference between hand and engine.

Shapes: N batch, T encoder steps, H hidden units, D input units.

AttentionWeight (scores, then a softmax over the encoder axis)::

    s[n, t] = sum_k hs[n, t, k] * h[n, k]          a = softmax(s, axis=1)
    ds  = a * (da - sum_t(a * da))                  (the softmax Jacobian, row by row)
    dhs = ds[:, :, None] * h[:, None, :]            dh = sum_t ds[:, :, None] * hs

WeightSum (the context vector)::

    c[n, k] = sum_t a[n, t] * hs[n, t, k]
    dhs = a[:, :, None] * dc[:, None, :]            da = sum_k dc[:, None, :] * hs

LSTM step (gate order f, g, i, o as in the book; ``A = x Wx + h_prev Wh + b``)::

    f, i, o = sigmoid(A_f), sigmoid(A_i), sigmoid(A_o);  g = tanh(A_g)
    c = f * c_prev + g * i;                           h = o * tanh(c)
    dc_total = dc + dh * o * (1 - tanh(c)^2)
    df = dc_total * c_prev * f(1-f);  dg = dc_total * i * (1-g^2)
    di = dc_total * g * i(1-i);       do = dh * tanh(c) * o(1-o)
    dA = [df, dg, di, do];  dx = dA Wx^T;  dh_prev = dA Wh^T;  dc_prev = dc_total * f
    dWx = x^T dA;  dWh = h_prev^T dA;  db = sum_n dA
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import functions as F
from ... import layers as L
from ...backend import get_array_module
from ...core import Variable
from ..report import array_diff, format_table

__all__ = [
    "attention_weight_manual", "attention_weight_manual_backward",
    "weight_sum_manual", "weight_sum_manual_backward",
    "lstm_step_manual", "lstm_step_manual_backward",
    "compare_attention", "compare_lstm_step", "GradComparison", "ComparisonRow",
]


# ----------------------------------------------------------------------------- checks
def _check(name, cond, msg):
    if not cond:
        raise ValueError(f"{name}: {msg}")


def _shape(x):
    return tuple(getattr(x, "shape", ()))


# ----------------------------------------------------------------------------- AttentionWeight
def attention_weight_manual(hs, h):
    """Forward pass of the AttentionWeight step, by hand.

    Args:
        hs: encoder hidden states, (N, T, H) float array.
        h: decoder hidden state, (N, H) float array.

    Returns:
        ``(a, cache)``: the weights a (N, T), each row summing to 1, and a dict
        ``{"hs", "h", "a"}`` for :func:`attention_weight_manual_backward`.

    Raises:
        ValueError: when the shapes do not fit (the message names them).
    """
    _check("attention_weight_manual", getattr(hs, "ndim", 0) == 3 and getattr(h, "ndim", 0) == 2
           and hs.shape[0] == h.shape[0] and hs.shape[2] == h.shape[1],
           f"expected hs (N, T, H) and h (N, H), got hs {_shape(hs)} and h {_shape(h)}")
    xp = get_array_module(hs)
    s = (hs * h[:, None, :]).sum(axis=2)              # (N, T) dot products
    s = s - s.max(axis=1, keepdims=True)              # stable softmax
    e = xp.exp(s)
    a = e / e.sum(axis=1, keepdims=True)
    return a, {"hs": hs, "h": h, "a": a}


def attention_weight_manual_backward(da, cache):
    """Backward pass of the AttentionWeight step, by hand: ``(dhs, dh)`` from ``da``.

    ``da`` (N, T) is the upstream gradient of the weights and ``cache`` the dict that
    :func:`attention_weight_manual` returned; the result holds dhs (N, T, H) and dh (N, H).
    A ``da`` of any other shape raises ValueError.
    """
    hs, h, a = cache["hs"], cache["h"], cache["a"]
    _check("attention_weight_manual_backward", _shape(da) == _shape(a),
           f"da must have the weights' shape {_shape(a)}, got {_shape(da)}")
    ds = a * (da - (a * da).sum(axis=1, keepdims=True))   # softmax backward
    dhs = ds[:, :, None] * h[:, None, :]
    dh = (ds[:, :, None] * hs).sum(axis=1)
    return dhs, dh


# ----------------------------------------------------------------------------- WeightSum
def weight_sum_manual(hs, a):
    """Forward pass of the WeightSum step (the context vector), by hand.

    Args:
        hs: encoder hidden states, (N, T, H).
        a: attention weights, (N, T).

    Returns:
        ``(c, cache)``: the context c (N, H) and a dict ``{"hs", "a"}``.

    Raises:
        ValueError: when the shapes do not fit.
    """
    _check("weight_sum_manual", getattr(hs, "ndim", 0) == 3 and getattr(a, "ndim", 0) == 2
           and a.shape == hs.shape[:2],
           f"expected hs (N, T, H) and a (N, T), got hs {_shape(hs)} and a {_shape(a)}")
    c = (a[:, :, None] * hs).sum(axis=1)
    return c, {"hs": hs, "a": a}


def weight_sum_manual_backward(dc, cache):
    """Backward pass of the WeightSum step, by hand.

    Args:
        dc: upstream gradient of the context, (N, H).
        cache: the dict returned by :func:`weight_sum_manual`.

    Returns:
        ``(dhs, da)``: (N, T, H) and (N, T).

    Raises:
        ValueError: ``dc`` is not (N, H).
    """
    hs, a = cache["hs"], cache["a"]
    _check("weight_sum_manual_backward", _shape(dc) == (hs.shape[0], hs.shape[2]),
           f"dc must be (N, H) = {(hs.shape[0], hs.shape[2])}, got {_shape(dc)}")
    dhs = a[:, :, None] * dc[:, None, :]
    da = (dc[:, None, :] * hs).sum(axis=2)
    return dhs, da


# ----------------------------------------------------------------------------- LSTM step
def _sigmoid(xp, x):
    return 1.0 / (1.0 + xp.exp(-x))


def lstm_step_manual(x, h_prev, c_prev, Wx, Wh, b):
    """Forward pass of one LSTM step, by hand (gate order f, g, i, o).

    Args:
        x: input, (N, D).
        h_prev: previous hidden state, (N, H).
        c_prev: previous cell state, (N, H).
        Wx: input weights, (D, 4H).
        Wh: recurrent weights, (H, 4H).
        b: bias, (4H,).

    Returns:
        ``(h_next, c_next, cache)``: (N, H), (N, H) and a dict for
        :func:`lstm_step_manual_backward`.

    Raises:
        ValueError: when the shapes do not fit.
    """
    ok = (getattr(x, "ndim", 0) == 2 and getattr(Wx, "ndim", 0) == 2 and Wx.shape[0] == x.shape[1]
          and Wx.shape[1] % 4 == 0)
    H = Wx.shape[1] // 4 if ok else -1
    N = x.shape[0] if getattr(x, "ndim", 0) == 2 else -1
    ok = ok and _shape(Wh) == (H, 4 * H) and _shape(b) == (4 * H,) \
        and _shape(h_prev) == (N, H) and _shape(c_prev) == (N, H)
    _check("lstm_step_manual", ok,
           f"expected x (N, D), h_prev and c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,); got "
           f"x {_shape(x)}, h_prev {_shape(h_prev)}, c_prev {_shape(c_prev)}, Wx {_shape(Wx)}, "
           f"Wh {_shape(Wh)}, b {_shape(b)}")
    xp = get_array_module(x)
    A = x @ Wx + h_prev @ Wh + b
    f = _sigmoid(xp, A[:, :H])
    g = xp.tanh(A[:, H:2 * H])
    i = _sigmoid(xp, A[:, 2 * H:3 * H])
    o = _sigmoid(xp, A[:, 3 * H:])
    c_next = f * c_prev + g * i
    tanh_c = xp.tanh(c_next)
    h_next = o * tanh_c
    cache = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh,
             "f": f, "g": g, "i": i, "o": o, "tanh_c": tanh_c}
    return h_next, c_next, cache


def lstm_step_manual_backward(dh_next, dc_next, cache):
    """Backward pass of one LSTM step through both outputs, by hand.

    Args:
        dh_next: upstream gradient of h_next, (N, H).
        dc_next: upstream gradient of c_next, (N, H).
        cache: the dict returned by :func:`lstm_step_manual`.

    Returns:
        ``(dx, dh_prev, dc_prev, dWx, dWh, db)`` with the shapes of
        x (N, D), h_prev (N, H), c_prev (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).

    Raises:
        ValueError: the upstream gradients are not (N, H).
    """
    f, g, i, o, tanh_c = cache["f"], cache["g"], cache["i"], cache["o"], cache["tanh_c"]
    _check("lstm_step_manual_backward", _shape(dh_next) == f.shape and _shape(dc_next) == f.shape,
           f"dh_next and dc_next must be (N, H) = {f.shape}, got {_shape(dh_next)} and "
           f"{_shape(dc_next)}")
    xp = get_array_module(f)
    ds = dc_next + dh_next * o * (1 - tanh_c ** 2)    # total gradient reaching the cell
    dc_prev = ds * f
    df = ds * cache["c_prev"] * f * (1 - f)
    dg = ds * i * (1 - g ** 2)
    di = ds * g * i * (1 - i)
    do = dh_next * tanh_c * o * (1 - o)
    dA = xp.concatenate([df, dg, di, do], axis=1)     # (N, 4H), the book's hstack
    dx = dA @ cache["Wx"].T
    dh_prev = dA @ cache["Wh"].T
    dWx = cache["x"].T @ dA
    dWh = cache["h_prev"].T @ dA
    db = dA.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


# ----------------------------------------------------------------------------- comparisons
@dataclass
class ComparisonRow:
    """One compared array: hand-derived vs engine.

    Attributes:
        step: which step it belongs to (``"AttentionWeight"``, ``"LSTM step"``, ...).
        name: the array (``"dhs"``, ``"forward a"``, ...).
        shape: its shape.
        max_abs_diff: ``max |hand - engine|`` over all elements.
        index: the element where that maximum occurs.
        hand: the hand-derived value there.
        engine: the engine's value there.
    """

    step: str
    name: str
    shape: tuple
    max_abs_diff: float
    index: tuple
    hand: float
    engine: float


@dataclass
class GradComparison:
    """Result of :func:`compare_attention` / :func:`compare_lstm_step`.

    Attributes:
        title: what was compared.
        rows: one :class:`ComparisonRow` per array.
    """

    title: str
    rows: list = field(default_factory=list)

    @property
    def max_diff(self) -> float:
        """The largest ``max_abs_diff`` of all rows."""
        return max((r.max_abs_diff for r in self.rows), default=0.0)

    @property
    def diffs(self) -> dict:
        """``{"<step>: <name>": max_abs_diff}`` for every row."""
        return {f"{r.step}: {r.name}": r.max_abs_diff for r in self.rows}

    def passed(self, tol=1e-10) -> bool:
        """True when every row's largest difference is at most ``tol``."""
        return all(r.max_abs_diff <= tol for r in self.rows)

    def add(self, step, name, hand, engine):
        """Compare two arrays of the same shape and append a row.

        Raises:
            ValueError: the shapes differ (a hand formula producing the wrong shape).
        """
        d = array_diff(hand, engine, f"GradComparison.add: {step} {name}: hand-derived vs engine")
        self.rows.append(ComparisonRow(step, name, d.shape, d.max_abs_diff, d.index, d.a, d.b))

    def report(self) -> str:
        """The comparison as a table (one row per array) with the overall maximum.

        Returns:
            The multi-line table (also ``str(comparison)``).
        """
        head = ["step", "array", "shape", "max |hand - engine|", "at", "hand", "engine"]
        rows = [[r.step, r.name, r.shape, f"{r.max_abs_diff:.2e}", r.index, f"{r.hand:+.12e}",
                 f"{r.engine:+.12e}"] for r in self.rows]
        lines = format_table(head, rows, self.title)
        lines.append(f"largest difference: {self.max_diff:.2e} (float64 round-off is ~1e-16 "
                     "per operation; a wrong formula gives differences of order 1e-2 to 1)")
        return "\n".join(lines)

    __str__ = report


def _engine():

    return Variable, F, L


def _add_step(out, step, engine_fn, inputs, upstream, forward, grads):
    """Run ``engine_fn`` on Variables of ``inputs``, back-propagate ``upstream`` and add to
    ``out`` the forward row ``forward = (name, hand value)`` and one row per input gradient
    (``grads = [names, hand-derived gradients]``, in input order)."""
    Variable, _, _ = _engine()
    vs = [Variable(x) for x in inputs]
    y = engine_fn(*vs)
    y.backward(grad=Variable(upstream))
    out.add(step, forward[0], forward[1], y.data)
    for name, hand, v in zip(*grads, vs):
        out.add(step, name, hand, v.grad.data)


def compare_attention(seed=0, N=2, T=5, H=4, weight_backward=None, sum_backward=None):
    """Run the hand-derived attention formulas and the engine on the same float64 data.

    Three comparisons, each with random upstream gradients: the AttentionWeight step
    (``F.attention_weight``; forward a, then dhs and dh), the WeightSum step
    (``F.weight_sum`` with a as an independent input; forward c, then dhs and da), and
    the two chained (``L.Attention``): hs feeds both steps, so its gradient is the sum
    of the two hand-derived dhs.

    Args:
        seed: seed of the random data and upstream gradients.
        N: batch size.
        T: encoder steps.
        H: hidden units.
        weight_backward: the hand backward of AttentionWeight to test, called as
            ``weight_backward(da, cache) -> (dhs, dh)`` (default
            :func:`attention_weight_manual_backward`); pass a broken one to see it caught.
        sum_backward: the hand backward of WeightSum, ``sum_backward(dc, cache) -> (dhs, da)``
            (default :func:`weight_sum_manual_backward`).

    Returns:
        GradComparison: ``print()`` it for the table; ``.max_diff`` and ``.diffs`` hold the
        numbers.
    """
    _, F, L = _engine()
    weight_backward = weight_backward or attention_weight_manual_backward
    sum_backward = sum_backward or weight_sum_manual_backward
    rng = np.random.default_rng(seed)
    hs = rng.standard_normal((N, T, H))
    h = rng.standard_normal((N, H))
    da = rng.standard_normal((N, T))
    dc = rng.standard_normal((N, H))
    out = GradComparison(f"hand-derived vs engine: attention (float64, N={N}, T={T}, H={H}, "
                         f"seed={seed})")

    # AttentionWeight
    a_hand, cache_w = attention_weight_manual(hs, h)
    _add_step(out, "AttentionWeight", F.attention_weight, (hs, h), da,
              ("forward a", a_hand), [("dhs", "dh"), weight_backward(da, cache_w)])
    # WeightSum (a is an independent input here)
    c_hand, cache_s = weight_sum_manual(hs, a_hand)
    _add_step(out, "WeightSum", F.weight_sum, (hs, a_hand), dc,
              ("forward c", c_hand), [("dhs", "da"), sum_backward(dc, cache_s)])
    # Both chained, as in the Attention layer: hs is used twice, its gradients add up.
    dhs_ws, da_chain = sum_backward(dc, cache_s)
    dhs_aw, dh_chain = weight_backward(da_chain, cache_w)
    _add_step(out, "Attention (both)", L.Attention(), (hs, h), dc,
              ("forward c", c_hand), [("dhs", "dh"), (dhs_ws + dhs_aw, dh_chain)])
    return out


def compare_lstm_step(seed=0, N=3, D=4, H=5, backward=None):
    """Run the hand-derived LSTM step and the engine's ``L.LSTMCell`` on the same float64 data.

    The cell's parameters are set to the same random Wx (D, 4H), Wh (H, 4H), b (4H,); the
    upstream gradients dh_next and dc_next are random, and the engine back-propagates the
    scalar ``sum(h_next * dh_next) + sum(c_next * dc_next)``, which sends exactly those
    gradients into both outputs.

    Args:
        seed: seed of the data, parameters and upstream gradients.
        N: batch size.
        D: input units.
        H: hidden units.
        backward: the hand backward to test, ``backward(dh_next, dc_next, cache) ->
            (dx, dh_prev, dc_prev, dWx, dWh, db)`` (default :func:`lstm_step_manual_backward`).

    Returns:
        GradComparison: rows for the forward outputs and the six gradients.
    """
    Variable, F, L = _engine()
    backward = backward or lstm_step_manual_backward
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    h = rng.standard_normal((N, H))
    c = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = rng.standard_normal(4 * H) * 0.5
    dh_next = rng.standard_normal((N, H))
    dc_next = rng.standard_normal((N, H))

    h_hand, c_hand, cache = lstm_step_manual(x, h, c, Wx, Wh, b)
    grads_hand = backward(dh_next, dc_next, cache)

    cell = L.LSTMCell(D, H, dtype=np.float64)
    cell.Wx.data, cell.Wh.data, cell.b.data = Wx.copy(), Wh.copy(), b.copy()
    xv, hv, cv = Variable(x), Variable(h), Variable(c)
    h_next, c_next = cell(xv, hv, cv)
    loss = F.sum(h_next * Variable(dh_next)) + F.sum(c_next * Variable(dc_next))
    loss.backward()

    out = GradComparison(f"hand-derived vs engine: one LSTM step (float64, N={N}, D={D}, H={H}, "
                         f"seed={seed})")
    out.add("LSTM step", "forward h_next", h_hand, h_next.data)
    out.add("LSTM step", "forward c_next", c_hand, c_next.data)
    engine = [xv.grad, hv.grad, cv.grad, cell.Wx.grad, cell.Wh.grad, cell.b.grad]
    for name, gh, ge in zip(["dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"], grads_hand, engine):
        out.add("LSTM step", name, gh, ge.data)
    return out
