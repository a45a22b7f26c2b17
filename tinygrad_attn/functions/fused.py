"""Fused primitives: one op doing the work of several, for speed, beside its composed reference.

A fused op computes in one pass over the arrays what a composition of ops computes in many
(one graph node instead of a dozen, and far fewer temporary arrays). The rules that keep
it honest:

* its ``backward`` is written with engine ops (here: one more fused op, whose own backward
  is a composition of ops), so ``create_graph=True`` and higher-order gradients work;
* the composed version stays in the code as the **reference**: the tests check values,
  gradients and second derivatives of the fused op against it in float64, and it is what
  graph pictures show (a dozen named ops teach more than one);
* a switch chooses: :class:`fused_ops` (on by default).

``lstm_cell(A, c_prev)`` is the LSTM's gate activations and cell update from the
pre-activation ``A = x Wx + h Wh + b`` (N, 4H), gate order f, g, i, o:

.. math::

    f = \\sigma(a_f),\\ g = \\tanh(a_g),\\ i = \\sigma(a_i),\\ o = \\sigma(a_o),\\quad
    c = f \\odot c_{prev} + g \\odot i,\\quad h = o \\odot \\tanh(c).
"""
from __future__ import annotations

import functools

from ..backend import get_array_module
from ..core import Function, OpError, Variable, as_variable
from .math import sigmoid, tanh
from .shape import concat, split

__all__ = ["fused_ops", "lstm_cell", "lstm_cell_composed"]


class fused_ops:
    """Switch between fused primitives (default) and their composed references.

    ``with F.fused_ops(False): ...`` runs the composed ops inside the block (e.g. to draw
    the graph of an LSTM with its gates as separate nodes); ``F.fused_ops.enabled`` is the
    current setting (assign it to change the default for the whole program). Also usable
    as a decorator: ``@F.fused_ops(False)``.

    Args:
        enabled: True for the fused ops, False for the compositions.
    """

    enabled = True

    def __init__(self, enabled=True):
        self.value = bool(enabled)
        self._prev = []

    def __enter__(self):
        self._prev.append(fused_ops.enabled)
        fused_ops.enabled = self.value
        return self

    def __exit__(self, *exc):
        fused_ops.enabled = self._prev.pop()
        return False

    def __call__(self, func):
        value = self.value

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with fused_ops(value):
                return func(*args, **kwargs)
        return wrapper


# ----------------------------------------------------------------------------- the LSTM cell
def lstm_cell_composed(A, c_prev=None):
    """The LSTM update as a composition of ops: the reference for :func:`lstm_cell`.

    Args:
        A: pre-activations (N, 4H), gate order f, g, i, o.
        c_prev: the previous cell (N, H), or None (a zero cell).

    Returns:
        ``(h, c)``, each (N, H). Graph: one Split, 3 Sigmoid and 2 Tanh, 3 or 4 Mul, 1 Add.
    """
    f, g, i, o = split(A, 4, axis=-1)
    g = tanh(g)
    i = sigmoid(i)
    o = sigmoid(o)
    if c_prev is None:
        c = g * i
    else:
        c = sigmoid(f) * c_prev + g * i
    h = o * tanh(c)
    return h, c


def _sigmoid_into(x, out):
    """``out[...] = 1 / (1 + exp(-x))`` as ``0.5 * tanh(x / 2) + 0.5`` (never overflows)."""
    xp = get_array_module(x)
    xp.multiply(x, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5


class LSTMCell(Function):
    """Fused LSTM update: ``(A, c_prev) -> (h, c)`` in one pass (see :func:`lstm_cell`).

    Keeps the gate values (N, 4H; the g block holds ``tanh(a_g)``) and ``tanh(c)`` (N, H)
    for the backward pass, which is one :class:`LSTMCellGrad` node. The element-wise work
    runs on whole contiguous arrays where it can: NumPy is about three times slower on an
    (N, H) column block of an (N, 4H) array than on a contiguous (N, H) array.
    """

    def __init__(self, has_c):
        self.has_c = has_c

    def forward(self, A, c_prev=None):
        xp = get_array_module(A)
        H = A.shape[-1] // 4
        S = xp.empty_like(A)
        _sigmoid_into(A, S)                        # all four blocks at once (contiguous) ...
        g = xp.tanh(A[:, H:2 * H])                 # ... and the g block's tanh beside it
        S[:, H:2 * H] = g
        c = g * S[:, 2 * H:3 * H]                  # g * i
        if c_prev is not None:
            c += S[:, :H] * c_prev                 # + f * c_prev
        tc = xp.tanh(c)
        h = tc * S[:, 3 * H:]                      # o * tanh(c)
        self.S, self.tc = S, tc
        return h, c

    def backward(self, gh, gc):
        A = self.inputs[0]
        ins = [A]
        if self.has_c:
            ins.append(self.inputs[1])
        if gh is not None:
            ins.append(gh)
        if gc is not None:
            ins.append(gc)
        if gh is None and gc is None:
            return (None,) * len(self.inputs)
        grads = LSTMCellGrad(self.S, self.tc, self.has_c, gh is not None, gc is not None)(*ins)
        return tuple(grads) if isinstance(grads, list) else grads


class LSTMCellGrad(Function):
    """The gradient of :class:`LSTMCell`: ``(A, [c_prev], [gh], [gc]) -> (gA, [gc_prev])``.

    Forward (one pass, given the saved gates f, g, i, o and ``tc = tanh(c)``)::

        u        = gc + gh * o * (1 - tc**2)
        gA       = [u * c_prev * f(1-f),  u * i * (1-g**2),  u * g * i(1-i),  gh * tc * o(1-o)]
        gc_prev  = u * f

    computed as ``M * D`` on whole (N, 4H) arrays: ``D`` the gates' derivatives
    ``[f(1-f), 1-g**2, i(1-i), o(1-o)]``, ``M`` the four factors ``[u c_prev, u i, u g, gh tc]``.
    Its backward is a composition of ops (:meth:`backward`), so the LSTM cell has gradients
    of every order.
    """

    def __init__(self, S, tc, has_c, has_gh, has_gc):
        self.S, self.tc = S, tc
        self.has_c, self.has_gh, self.has_gc = has_c, has_gh, has_gc

    def forward(self, *arrays):
        A, cp, gh, gc = self._unpack(arrays)
        xp = get_array_module(A)
        S, tc = self.S, self.tc
        H = A.shape[-1] // 4
        f, g, i, o = S[:, :H], S[:, H:2 * H], S[:, 2 * H:3 * H], S[:, 3 * H:]
        D = S - S * S                              # f(1-f), (junk), i(1-i), o(1-o)
        gsq = g * g
        xp.subtract(1, gsq, out=D[:, H:2 * H])     # 1 - g**2
        if gh is not None:
            gho = gh * o
            u = tc * tc
            xp.subtract(1, u, out=u)
            u *= gho                               # gh * o * (1 - tc**2)
            if gc is not None:
                u += gc
            m_o = gh * tc
        else:
            u = gc
            m_o = xp.zeros_like(gc)
        m_f = u * cp if cp is not None else xp.zeros_like(u)
        M = xp.concatenate([m_f, u * i, u * g, m_o], axis=1)
        M *= D
        if cp is None:
            return M
        return M, u * f

    def _unpack(self, items):
        items = list(items)
        A = items.pop(0)
        cp = items.pop(0) if self.has_c else None
        gh = items.pop(0) if self.has_gh else None
        gc = items.pop(0) if self.has_gc else None
        return A, cp, gh, gc

    def backward(self, *ggs):
        """Second derivatives, composed of ops (absent inputs and gradients count as zeros)."""
        A, cp, gh, gc = self._unpack(self.inputs)
        if self.has_c:
            GA, Gcp = ggs
        else:
            GA, Gcp = ggs[0], None
        xp = get_array_module(A.data)
        H = A.shape[-1] // 4

        def zeros(shape):
            return Variable(xp.zeros(shape, dtype=A.dtype))

        cp_ = cp if cp is not None else zeros((A.shape[0], H))
        gh_ = gh if gh is not None else zeros((A.shape[0], H))
        gc_ = gc if gc is not None else zeros((A.shape[0], H))
        GA = GA if GA is not None else zeros(A.shape)
        Gcp = Gcp if Gcp is not None else zeros((A.shape[0], H))
        af, ag, ai, ao = split(A, 4, axis=-1)
        f, g, i, o = sigmoid(af), tanh(ag), sigmoid(ai), sigmoid(ao)
        Gf, Gg, Gi, Go = split(GA, 4, axis=-1)
        tc = tanh(f * cp_ + g * i)
        t = 1 - tc * tc                            # d tanh(c) / dc
        df, dg, di, do = f * (1 - f), 1 - g * g, i * (1 - i), o * (1 - o)
        u = gc_ + gh_ * o * t
        gu = Gf * cp_ * df + Gg * i * dg + Gi * g * di + Gcp * f   # d(.)/du
        gcell = (gu * gh_ * o * (-2 * tc) + Go * gh_ * do) * t       # d(.)/dc through tanh(c)
        dA_f = (Gf * u * cp_ * (1 - 2 * f) + Gcp * u + gcell * cp_) * df
        dA_g = (Gg * u * i * (-2 * g) + Gi * u * di + gcell * i) * dg
        dA_i = (Gg * u * dg + Gi * u * g * (1 - 2 * i) + gcell * g) * di
        dA_o = (gu * gh_ * t + Go * gh_ * tc * (1 - 2 * o)) * do
        out = [concat([dA_f, dA_g, dA_i, dA_o], axis=-1)]
        if self.has_c:
            out.append(Gf * u * df + gcell * f)
        if self.has_gh:
            out.append(gu * o * t + Go * tc * do)
        if self.has_gc:
            out.append(gu)
        return tuple(out)


def lstm_cell(A, c_prev=None):
    """The LSTM's gate activations and cell update: ``(h, c)`` from pre-activations ``A``.

    Args:
        A: (N, 4H) pre-activations ``x Wx + h Wh + b``, gate order f (forget), g (candidate),
            i (input), o (output).
        c_prev: the previous cell (N, H), or None for a zero cell.

    Returns:
        ``(h, c)``, each (N, H): ``c = sigmoid(a_f) * c_prev + tanh(a_g) * sigmoid(a_i)``,
        ``h = sigmoid(a_o) * tanh(c)``.

    One fused node (:class:`LSTMCell`) while :class:`fused_ops` is enabled (the default),
    else the composition :func:`lstm_cell_composed`. Both give the same values and gradients
    of every order. When ``c_prev`` and ``A`` differ in dtype (e.g. a float32 carried state
    in a float64 check) the composition runs, promoting as NumPy does.

    Raises:
        OpError: ``A`` is not (N, 4H), or ``c_prev`` is not (N, H).
    """
    A = as_variable(A)
    if A.ndim != 2 or A.shape[1] % 4 or A.shape[1] == 0:
        raise OpError(f"lstm_cell: pre-activations must be (N, 4H), got shape {A.shape}")
    N, H = A.shape[0], A.shape[1] // 4
    if c_prev is not None:
        c_prev = as_variable(c_prev, A)
        if c_prev.shape != (N, H):
            raise OpError(f"lstm_cell: c_prev must have shape ({N}, {H}) for A of shape "
                          f"{A.shape}, got {c_prev.shape}")
    if not fused_ops.enabled or (c_prev is not None and c_prev.dtype != A.dtype):
        return lstm_cell_composed(A, c_prev)  # mixed dtypes: promote as NumPy does
    if c_prev is None:
        return tuple(LSTMCell(False)(A))
    return tuple(LSTMCell(True)(A, c_prev))
