"""Fused recurrent sequences: a whole LSTM or GRU run as one primitive, beside its per-step reference.

The per-step composition (one ``F.linear`` for ``h @ Wh + a_t``, one cell update, per time
step) records a dozen nodes per step, and its backward pays one small weight-gradient
product per step. The fused primitives here take the input projection of **all** steps
(``P = x Wx + b``, (N, T, G), one product made by the caller) and run the recurrence in one
node:

* forward: per step one product ``h_{t-1} @ Wh`` and the gate arithmetic, written into
  buffers made once per call;
* backward: per step one product ``gA_t @ Wh^T`` for the recurrence and the gate derivatives;
  the gradient of ``Wh`` is **one** product over all time steps,
  ``[h_{-1}; ...; h_{T-2}]^T @ [gA_0; ...; gA_{T-1}]`` (rows of every step stacked), and the
  gradient of ``P`` is the stacked ``gA`` itself, so the input-side gradients (``Wx``, ``x``,
  ``b``) stay one product each in the caller's ``F.linear``.

Rules kept (as for :mod:`.fused`):

* the backward pass is written with engine ops. When the backward pass is recorded
  (``backward(create_graph=True)``), it re-runs the recurrence with ops from the inputs and
  differentiates it step by step with ops (the fused LSTM cell's gradient node, matrix
  products, a stack), so gradients of every order exist. When it is not recorded, the same
  gradients come from one pass over saved buffers (:class:`LSTMSequenceGrad`,
  :class:`GRUSequenceGrad`); the tests check both against each other and against the
  composed reference;
* the composed per-step versions (:func:`lstm_sequence_composed`, :func:`gru_sequence_composed`)
  stay as the reference and are what graph pictures show: :class:`~.fused.fused_ops` off
  selects them.

Gate orders: LSTM ``f, g, i, o`` (as :func:`~.fused.lstm_cell`); GRU ``r, z, n`` with
``r = sigma(p_r + h W_r)``, ``z = sigma(p_z + h W_z)``, ``n = tanh(p_n + r * (h W_n))``,
``h' = n + z (h - n)``.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..core import Config, Function, OpError, Variable, as_variable
from .fused import LSTMCell, LSTMCellGrad, _sigmoid_into, fused_ops, lstm_cell
from .linalg import linear, matmul
from .math import sigmoid, tanh
from .shape import concat, reshape, split, stack, transpose, unstack

__all__ = ["lstm_sequence", "lstm_sequence_composed", "gru_sequence", "gru_sequence_composed"]


class composed_sequences:
    """Run :func:`lstm_sequence` and :func:`gru_sequence` as their per-step compositions inside
    a ``with`` block, while the other fused ops (the LSTM cell, layer norm) stay fused.

    For tools that read graphs node by node and know the per-step ops but not the sequence
    node (e.g. the ONNX exporter). ``F.fused_ops(False)`` turns off every fused op instead.
    """

    active = 0

    def __enter__(self):
        composed_sequences.active += 1
        return self

    def __exit__(self, *exc):
        composed_sequences.active -= 1
        return False


def _zeros_like_var(like, shape):
    xp = get_array_module(like.data)
    return Variable(xp.zeros(shape, dtype=like.dtype))


def _unpack(items, flags):
    """Split ``items`` into one entry per flag: the next item where the flag is set, else None."""
    items = list(items)
    return [items.pop(0) if f else None for f in flags]


# ============================================================================ LSTM
def lstm_sequence_composed(P, Wh, h0=None, c0=None, time_major=False):
    """The LSTM over a sequence as per-step ops: the reference for :func:`lstm_sequence`.

    Args:
        P: (N, T, 4H) input projections of all steps (``x Wx + b``), gate order f, g, i, o;
            (T, N, 4H) when ``time_major``.
        Wh: (H, 4H) recurrent weights.
        h0, c0: (N, H) initial states, or None (zeros).
        time_major: the time axis of ``P`` and ``hs`` comes first.

    Returns:
        ``(hs, h, c)``: hs (N, T, H) (or (T, N, H)) every hidden state; h, c (N, H) the final states.
        Graph: one unstack, per step one ``F.linear`` (``h @ Wh + p_t``) and one
        :func:`~.fused.lstm_cell` (composed too while :class:`~.fused.fused_ops` is off),
        one stack.
    """
    axis = 0 if time_major else 1
    h, c, hs = h0, c0, []
    for p in unstack(P, axis=axis):
        a = p if h is None else linear(h, Wh, p)
        h, c = lstm_cell(a, c)
        hs.append(h)
    return stack(hs, axis=axis), h, c


class LSTMSequence(Function):
    """Fused LSTM over a sequence: ``(P, Wh, [h0], [c0]) -> (hs, h_T, c_T)``, time-major.

    ``P`` is (T, N, 4H) and ``hs`` (T, N, H): every step's rows are contiguous, which NumPy's
    element-wise loops need to run at full speed (:func:`lstm_sequence` takes and returns
    either layout). Saves for the backward pass the gate values of every step, gate-major
    (T, 4, N, H: each gate a contiguous (N, H) array, so the backward pass works on whole
    arrays, not on column blocks of an (N, 4H) array; the g gate holds ``tanh(a_g)``), the cells (T + 1, N, H; row 0 is ``c0`` or zeros),
    ``tanh(c_t)`` (T, N, H) and the hidden states (T + 1, N, H; row 0 is ``h0`` or zeros),
    whose first T rows are the left operand of the single ``Wh`` gradient product; ``hs`` is
    a view of its last T rows.
    """

    def __init__(self, has_h, has_c):
        self.has_h, self.has_c = has_h, has_c

    def forward(self, P, Wh, *state):
        h0, c0 = _unpack(state, (self.has_h, self.has_c))
        xp = get_array_module(P)
        P = xp.ascontiguousarray(P)
        T, N, G = P.shape
        H = G // 4
        dt = P.dtype
        S = xp.empty((T, 4, N, H), dtype=dt)       # gates, gate-major: each gate contiguous
        C = xp.empty((T + 1, N, H), dtype=dt)      # C[t + 1] = c_t, C[0] = c0 (or zeros)
        TC = xp.empty((T, N, H), dtype=dt)         # tanh(c_t)
        Hs = xp.empty((T + 1, N, H), dtype=dt)     # Hs[t + 1] = h_t, Hs[0] = h0 (or zeros)
        A = xp.empty((N, G), dtype=dt)
        tmp = xp.empty((N, H), dtype=dt)
        C[0] = 0 if c0 is None else c0
        Hs[0] = 0 if h0 is None else h0
        for t in range(T):
            f, g, i, o = St = S[t]
            if t == 0 and h0 is None:
                A[...] = P[0]
            else:
                xp.matmul(Hs[t], Wh, out=A)
                A += P[t]
            # all four blocks at once, read gate by gate into the gate-major buffer ...
            xp.multiply(A.reshape(N, 4, H).transpose(1, 0, 2), 0.5, out=St)
            xp.tanh(St, out=St)
            St *= 0.5
            St += 0.5                              # sigmoid(a) = 0.5 tanh(a / 2) + 0.5
            xp.tanh(A[:, H:2 * H], out=g)         # ... then the g block's tanh over it
            c = C[t + 1]
            xp.multiply(g, i, out=c)
            xp.multiply(f, C[t], out=tmp)
            c += tmp                               # c = f c_{t-1} + g i
            tc = TC[t]
            xp.tanh(c, out=tc)
            xp.multiply(tc, o, out=Hs[t + 1])     # h = o * tanh(c)
        self.S, self.C, self.TC, self.Hs = S, C, TC, Hs
        return Hs[1:], Hs[T].copy(), C[T].copy()

    def backward(self, ghs, ghT, gcT):
        if ghs is None and ghT is None and gcT is None:
            return (None,) * len(self.inputs)
        P, Wh, h0, c0 = self._inputs()
        if Config.enable_backprop:               # recorded (create_graph): ops all the way
            return _lstm_backward_ops(self, P, Wh, h0, c0, ghs, ghT, gcT)
        ins = [x for x in (P, Wh, h0, c0, ghs, ghT, gcT) if x is not None]
        flags = (self.has_h, self.has_c, ghs is not None, ghT is not None, gcT is not None)
        grads = LSTMSequenceGrad(self, flags)(*ins)
        return tuple(grads) if isinstance(grads, list) else grads

    def _inputs(self):
        P, Wh, *rest = self.inputs
        h0, c0 = _unpack(rest, (self.has_h, self.has_c))
        return P, Wh, h0, c0


class LSTMSequenceGrad(Function):
    """The unrecorded backward pass of :class:`LSTMSequence`, in one pass over its saved buffers.

    ``(P, Wh, [h0], [c0], [ghs], [ghT], [gcT]) -> (gP, gWh, [gh0], [gc0])``, time-major like
    :class:`LSTMSequence`. Per step (latest first)::

        gh       = ghs[t] + gh_carry          (+ ghT at the last step)
        u        = gc + gh * o * (1 - tanh(c)**2)
        gA_t     = [u c_{t-1} f(1-f),  u i (1-g**2),  u g i(1-i),  gh tanh(c) o(1-o)]
        gc       = u * f,   gh_carry = gA_t @ Wh^T

    then ``gWh = [h_{-1}; ...; h_{T-2}]^T @ gP`` over all T * N rows at once (without ``h0``
    the first block is zeros: slicing it off would copy both operands, which costs more). It
    runs only while the backward pass is not recorded; a recorded backward pass uses per-step
    ops instead (see the module docstring), so this node never needs a backward of its own.
    """

    def __init__(self, seq, flags):
        self.seq = seq
        self.flags = flags

    def forward(self, P, Wh, *rest):
        has_h, has_c, has_gs, has_gh, has_gc = self.flags
        h0, c0, ghs, ghT, gcT = _unpack(rest, self.flags)
        seq = self.seq
        S, C, TC, Hs = seq.S, seq.C, seq.TC, seq.Hs
        xp = get_array_module(P)
        T, _, N, H = S.shape
        G = 4 * H
        dt = S.dtype
        gP = xp.empty((T, N, G), dtype=dt)
        gh = xp.zeros((N, H), dtype=dt) if ghT is None else ghT.copy()
        gc = xp.zeros((N, H), dtype=dt) if gcT is None else gcT.copy()
        sq = xp.empty((4, N, H), dtype=dt)
        D = xp.empty((4, N, H), dtype=dt)                # gA_t, gate-major (contiguous gates)
        Df, Dg, Di, Do = D
        u = xp.empty((N, H), dtype=dt)
        WhT = Wh.T
        for t in range(T - 1, -1, -1):
            St, tc = S[t], TC[t]
            f, g, i, o = St
            if ghs is not None:
                gh += ghs[t]
            xp.multiply(St, St, out=sq)
            xp.subtract(St, sq, out=D)                    # s (1 - s): f, i, o
            xp.subtract(1, sq[1], out=Dg)                 # 1 - g**2
            xp.multiply(tc, tc, out=u)
            xp.subtract(1, u, out=u)
            u *= o
            u *= gh
            u += gc                                       # u = gc + gh o (1 - tc**2)
            Do *= gh
            Do *= tc
            Df *= u
            Df *= C[t]
            Dg *= u
            Dg *= i
            Di *= u
            Di *= g
            xp.multiply(u, f, out=gc)                     # gc_{t-1}
            gA = gP[t]
            gA.reshape(N, 4, H)[...] = D.transpose(1, 0, 2)   # back to the (N, 4H) layout
            if t > 0 or has_h:
                xp.matmul(gA, WhT, out=gh)                # gh_{t-1} (the carry)
        gWh = xp.matmul(Hs[:T].reshape(T * N, H).T, gP.reshape(T * N, G))  # one product
        out = [gP, gWh]
        if has_h:
            out.append(gh)
        if has_c:
            out.append(gc)
        return tuple(out)

    def backward(self, *ggs):
        raise OpError("LSTMSequenceGrad: this node runs only in an unrecorded backward pass; "
                      "a recorded one (create_graph=True) differentiates the recurrence with ops")


def _lstm_backward_ops(seq, P, Wh, h0, c0, ghs, ghT, gcT):
    """The recorded backward pass of :class:`LSTMSequence` (time-major), composed of ops."""
    T, N, G = P.shape
    H = G // 4
    steps = unstack(P, axis=0)
    h, c = h0, c0
    cells, hprev, cprev = [], [], []
    for t in range(T):                                  # the forward pass again, as ops
        a = steps[t] if h is None else linear(h, Wh, steps[t])
        cell = LSTMCell(c is not None)
        hprev.append(h)
        cprev.append(c)
        h, c = cell(a) if c is None else cell(a, c)
        cells.append((cell, a))
    gsteps = unstack(ghs, axis=0) if ghs is not None else [None] * T
    gh, gc = ghT, gcT
    gAs = [None] * T
    for t in range(T - 1, -1, -1):
        if gsteps[t] is not None:
            gh = gsteps[t] if gh is None else gh + gsteps[t]
        cell, a = cells[t]
        ins = [a] + ([cprev[t]] if cprev[t] is not None else [])
        ins += [x for x in (gh, gc) if x is not None]
        res = LSTMCellGrad(cell.S, cell.tc, cprev[t] is not None, gh is not None, gc is not None)(*ins)
        if cprev[t] is not None:
            gA, gc = res
        else:
            gA, gc = res, None
        gAs[t] = gA
        gh = linear(gA, transpose(Wh)) if hprev[t] is not None else None
    gP = stack(gAs, axis=0)
    zero = _zeros_like_var(P, (N, H))
    Hp = stack([zero if x is None else x for x in hprev], axis=0)
    gWh = matmul(transpose(reshape(Hp, (T * N, H))), reshape(gP, (T * N, G)))
    out = [gP, gWh]
    if seq.has_h:
        out.append(gh)
    if seq.has_c:
        out.append(gc if gc is not None else zero)
    return tuple(out)


def _check_sequence(name, P, Wh, gates, states, time_major):
    layout = "(T, N, " if time_major else "(N, T, "
    if P.ndim != 3 or P.shape[2] == 0 or P.shape[2] % gates:
        raise OpError(f"{name}: projected input must be {layout}{gates}H), got shape {P.shape}")
    T, N, G = P.shape if time_major else (P.shape[1], P.shape[0], P.shape[2])
    H = G // gates
    if T == 0:
        raise OpError(f"{name}: the sequence is empty (T = 0, shape {P.shape})")
    if Wh.shape != (H, G):
        raise OpError(f"{name}: Wh must have shape ({H}, {G}) for a projected input of shape "
                      f"{P.shape}, got {Wh.shape}")
    for what, s in states:
        if s is not None and s.shape != (N, H):
            raise OpError(f"{name}: {what} must have shape ({N}, {H}), got {s.shape}")


def _same_dtype(P, *others):
    return all(x is None or x.dtype == P.dtype for x in others) and P.dtype.kind == "f"


_SWAP = (1, 0, 2)  # (N, T, .) <-> (T, N, .)


def lstm_sequence(P, Wh, h0=None, c0=None, time_major=False):
    """An LSTM over a whole sequence from its input projections: ``(hs, h, c)``.

    Args:
        P: (N, T, 4H) the input projection of every step, ``x Wx + b`` (one product for all
            steps, made by the caller, e.g. ``F.linear(xs, Wx, b)``); gate order f, g, i, o.
            (T, N, 4H) when ``time_major``.
        Wh: (H, 4H) recurrent weights.
        h0, c0: (N, H) initial hidden state and cell, or None (zeros).
        time_major: ``P`` and ``hs`` have the time axis first. The fused node works
            time-major (each step's rows contiguous); with batch-major ``P`` it makes one
            contiguous copy of it, so callers that can project a time-major input (as
            :class:`~tinygrad_attn.layers.LSTM` does) save that pass.

    Returns:
        ``(hs, h, c)``: hs (N, T, H) (or (T, N, H)) the hidden state after every step; h, c
        (N, H) the final hidden state and cell (``h`` equals the last step of ``hs``).

    One fused node (:class:`LSTMSequence`) while :class:`~.fused.fused_ops` is enabled (the
    default), else the per-step composition :func:`lstm_sequence_composed`. Both give the same
    values and gradients of every order. Mixed dtypes (e.g. a float32 state with float64
    projections) run the composition, which promotes as NumPy does.

    Raises:
        OpError: shapes that do not fit (``P`` not (N, T, 4H) with T >= 1, ``Wh`` not (H, 4H),
        a state not (N, H)).
    """
    P = as_variable(P)
    Wh = as_variable(Wh, P)
    h0 = None if h0 is None else as_variable(h0, P)
    c0 = None if c0 is None else as_variable(c0, P)
    _check_sequence("lstm_sequence", P, Wh, 4, (("h0", h0), ("c0", c0)), time_major)
    if not fused_ops.enabled or composed_sequences.active or not _same_dtype(P, Wh, h0, c0):
        return lstm_sequence_composed(P, Wh, h0, c0, time_major)
    Pt = P if time_major else transpose(P, _SWAP)
    ins = [x for x in (Pt, Wh, h0, c0) if x is not None]
    hs, h, c = LSTMSequence(h0 is not None, c0 is not None)(*ins)
    return (hs if time_major else transpose(hs, _SWAP)), h, c


# ============================================================================ GRU
def gru_step_composed(p, h, Wh):
    """One GRU step as ops from the projected input ``p`` (N, 3H), previous ``h`` (or None) and ``Wh``."""
    xr, xz, xn = split(p, 3, axis=-1)
    if h is None:
        z = sigmoid(xz)
        n = tanh(xn)
        return n - z * n
    hr, hz, hn = split(matmul(h, Wh), 3, axis=-1)  # r gates only the hidden part of n
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = tanh(xn + r * hn)
    return n + z * (h - n)


def gru_sequence_composed(P, Wh, h0=None, time_major=False):
    """The GRU over a sequence as per-step ops: the reference for :func:`gru_sequence`.

    Args:
        P: (N, T, 3H) input projections (``x Wx + b``), gate order r, z, n; (T, N, 3H) when
            ``time_major``.
        Wh: (H, 3H) recurrent weights. h0: (N, H) or None (zeros).
        time_major: the time axis of ``P`` and ``hs`` comes first.

    Returns:
        ``(hs, h)``: hs (N, T, H) (or (T, N, H)); h (N, H) the final state.
    """
    axis = 0 if time_major else 1
    h, hs = h0, []
    for p in unstack(P, axis=axis):
        h = gru_step_composed(p, h, Wh)
        hs.append(h)
    return stack(hs, axis=axis), h


class GRUSequence(Function):
    """Fused GRU over a sequence: ``(P, Wh, [h0]) -> (hs, h_T)``, time-major like
    :class:`LSTMSequence` (P (T, N, 3H), hs (T, N, H); see :func:`gru_sequence`).

    Saves per step ``r, z, n`` (T, N, 3H) and the hidden part ``h_{t-1} W_n`` (T, N, H), and
    the hidden states (T + 1, N, H; row 0 is ``h0`` or zeros) for the single ``Wh`` gradient
    product.
    """

    def __init__(self, has_h):
        self.has_h = has_h

    def forward(self, P, Wh, h0=None):
        xp = get_array_module(P)
        P = xp.ascontiguousarray(P)
        T, N, G = P.shape
        H = G // 3
        dt = P.dtype
        R = xp.empty((T, N, G), dtype=dt)           # r, z, n per step
        HN = xp.zeros((T, N, H), dtype=dt)          # h_{t-1} W_n (zeros without a state)
        Hs = xp.empty((T + 1, N, H), dtype=dt)      # Hs[t + 1] = h_t, Hs[0] = h0 (or zeros)
        M = xp.empty((N, G), dtype=dt)
        Hs[0] = 0 if h0 is None else h0
        for t in range(T):
            Rt, p, h = R[t], P[t], Hs[t + 1]
            n = Rt[:, 2 * H:]
            if t == 0 and h0 is None:
                _sigmoid_into(p[:, :2 * H], Rt[:, :2 * H])
                xp.tanh(p[:, 2 * H:], out=n)
                xp.multiply(Rt[:, H:2 * H], n, out=h)
                xp.subtract(n, h, out=h)                   # n - z n
            else:
                hp = Hs[t]
                xp.matmul(hp, Wh, out=M)
                HN[t] = M[:, 2 * H:]
                M[:, :2 * H] += p[:, :2 * H]
                _sigmoid_into(M[:, :2 * H], Rt[:, :2 * H])  # r, z
                xp.multiply(Rt[:, :H], HN[t], out=n)
                n += p[:, 2 * H:]
                xp.tanh(n, out=n)
                xp.subtract(hp, n, out=h)
                h *= Rt[:, H:2 * H]
                h += n                                     # n + z (h - n)
        self.R, self.HN, self.Hs = R, HN, Hs
        return Hs[1:], Hs[T].copy()

    def backward(self, ghs, ghT):
        if ghs is None and ghT is None:
            return (None,) * len(self.inputs)
        P, Wh = self.inputs[:2]
        h0 = self.inputs[2] if self.has_h else None
        if Config.enable_backprop:
            return _gru_backward_ops(self, P, Wh, h0, ghs, ghT)
        ins = [x for x in (P, Wh, h0, ghs, ghT) if x is not None]
        flags = (self.has_h, ghs is not None, ghT is not None)
        grads = GRUSequenceGrad(self, flags)(*ins)
        return tuple(grads) if isinstance(grads, list) else grads


class GRUSequenceGrad(Function):
    """The unrecorded backward pass of :class:`GRUSequence`, one pass over its saved buffers.

    ``(P, Wh, [h0], [ghs], [ghT]) -> (gP, gWh, [gh0])``, time-major. Per step (latest first),
    with ``gh`` the total gradient of ``h_t``::

        gan = gh (1 - z) (1 - n**2)                     (pre-activation of n)
        gar = gan * hn * r (1 - r),   gaz = gh (h_{t-1} - n) z (1 - z)
        gP_t = [gar, gaz, gan],   gM_t = [gar, gaz, gan * r]   (M = h_{t-1} Wh)
        gh_{t-1} = gh z + gM_t @ Wh^T

    then ``gWh = [h_{-1}; ...; h_{T-2}]^T @ gM`` over all T * N rows at once. Like
    :class:`LSTMSequenceGrad` it runs only in an unrecorded backward pass.
    """

    def __init__(self, seq, flags):
        self.seq = seq
        self.flags = flags

    def forward(self, P, Wh, *rest):
        has_h, has_gs, has_gh = self.flags
        h0, ghs, ghT = _unpack(rest, self.flags)
        seq = self.seq
        R, HN, Hs = seq.R, seq.HN, seq.Hs
        xp = get_array_module(P)
        T, N, G = R.shape
        H = G // 3
        dt = R.dtype
        gP = xp.empty((T, N, G), dtype=dt)
        gM = xp.empty((T, N, G), dtype=dt)
        gh = xp.zeros((N, H), dtype=dt) if ghT is None else ghT.copy()
        tmp = xp.empty((N, H), dtype=dt)
        WhT = Wh.T
        for t in range(T - 1, -1, -1):
            Rt = R[t]
            r, z, n = Rt[:, :H], Rt[:, H:2 * H], Rt[:, 2 * H:]
            if ghs is not None:
                gh += ghs[t]
            gPt, gMt = gP[t], gM[t]
            gan = gPt[:, 2 * H:]
            xp.multiply(n, n, out=gan)
            xp.subtract(1, gan, out=gan)                 # 1 - n**2
            xp.subtract(1, z, out=tmp)
            tmp *= gh                                    # gh (1 - z)
            gan *= tmp
            gaz = gPt[:, H:2 * H]
            xp.subtract(Hs[t], n, out=gaz)               # h_{t-1} - n
            gaz *= gh
            xp.multiply(z, z, out=tmp)
            xp.subtract(z, tmp, out=tmp)                 # z (1 - z)
            gaz *= tmp
            gar = gPt[:, :H]
            xp.multiply(r, r, out=tmp)
            xp.subtract(r, tmp, out=tmp)                 # r (1 - r)
            xp.multiply(gan, HN[t], out=gar)
            gar *= tmp
            gMt[:, :2 * H] = gPt[:, :2 * H]
            xp.multiply(gan, r, out=gMt[:, 2 * H:])
            if t > 0 or has_h:
                gh *= z
                gh += xp.matmul(gMt, WhT)
        gWh = xp.matmul(Hs[:T].reshape(T * N, H).T, gM.reshape(T * N, G))  # one product
        return (gP, gWh, gh) if has_h else (gP, gWh)

    def backward(self, *ggs):
        raise OpError("GRUSequenceGrad: this node runs only in an unrecorded backward pass; "
                      "a recorded one (create_graph=True) differentiates the recurrence with ops")


def _gru_backward_ops(seq, P, Wh, h0, ghs, ghT):
    """The recorded backward pass of :class:`GRUSequence` (time-major), composed of ops."""
    T, N, G = P.shape
    H = G // 3
    steps = unstack(P, axis=0)
    h = h0
    hprev, saved = [], []
    for t in range(T):                                  # the forward pass again, as ops
        xr, xz, xn = split(steps[t], 3, axis=-1)
        hprev.append(h)
        if h is None:
            z, n = sigmoid(xz), tanh(xn)
            saved.append((None, z, n, None))
            h = n - z * n
        else:
            hr, hz, hn = split(matmul(h, Wh), 3, axis=-1)
            r = sigmoid(xr + hr)
            z = sigmoid(xz + hz)
            n = tanh(xn + r * hn)
            saved.append((r, z, n, hn))
            h = n + z * (h - n)
    gsteps = unstack(ghs, axis=0) if ghs is not None else [None] * T
    gh = ghT
    gPs, gMs = [None] * T, [None] * T
    zero = _zeros_like_var(P, (N, H))
    for t in range(T - 1, -1, -1):
        if gsteps[t] is not None:
            gh = gsteps[t] if gh is None else gh + gsteps[t]
        r, z, n, hn = saved[t]
        hp = hprev[t]
        gan = gh * (1 - z) * (1 - n * n)
        gaz = gh * ((zero if hp is None else hp) - n) * (z * (1 - z))
        if hp is None:
            gPs[t] = concat([zero, gaz, gan], axis=-1)
            gMs[t] = concat([zero, zero, zero], axis=-1)
            gh = None
            continue
        gar = gan * hn * (r * (1 - r))
        gPs[t] = concat([gar, gaz, gan], axis=-1)
        gMs[t] = gM = concat([gar, gaz, gan * r], axis=-1)
        gh = gh * z + matmul(gM, transpose(Wh))
    gP = stack(gPs, axis=0)
    gM = stack(gMs, axis=0)
    Hp = stack([zero if x is None else x for x in hprev], axis=0)
    gWh = matmul(transpose(reshape(Hp, (T * N, H))), reshape(gM, (T * N, G)))
    return (gP, gWh, gh) if seq.has_h else (gP, gWh)


def gru_sequence(P, Wh, h0=None, time_major=False):
    """A GRU over a whole sequence from its input projections: ``(hs, h)``.

    Args:
        P: (N, T, 3H) the input projection of every step, ``x Wx + b`` (gate order r, z, n);
            (T, N, 3H) when ``time_major``.
        Wh: (H, 3H) recurrent weights.
        h0: (N, H) initial state, or None (zeros).
        time_major: ``P`` and ``hs`` have the time axis first (as in :func:`lstm_sequence`).

    Returns:
        ``(hs, h)``: hs (N, T, H) (or (T, N, H)) every hidden state, h (N, H) the final one.

    One fused node (:class:`GRUSequence`) while :class:`~.fused.fused_ops` is enabled, else
    :func:`gru_sequence_composed`; same values and gradients of every order.

    Raises:
        OpError: shapes that do not fit.
    """
    P = as_variable(P)
    Wh = as_variable(Wh, P)
    h0 = None if h0 is None else as_variable(h0, P)
    _check_sequence("gru_sequence", P, Wh, 3, (("h0", h0),), time_major)
    if not fused_ops.enabled or composed_sequences.active or not _same_dtype(P, Wh, h0):
        return gru_sequence_composed(P, Wh, h0, time_major)
    Pt = P if time_major else transpose(P, _SWAP)
    ins = [x for x in (Pt, Wh, h0) if x is not None]
    hs, h = GRUSequence(h0 is not None)(*ins)
    return (hs if time_major else transpose(hs, _SWAP)), h
