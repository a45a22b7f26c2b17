"""The Neural Turing Machine: attention used to read *and write* an external memory.

The memory is a matrix of ``rows`` vectors of ``width`` numbers per example, (N, R, W).
A head chooses *where* to read or write with a weighting ``w`` over the rows (N, R), each
row a number >= 0, summing to 1 — the chapter's attention weight. Every function also takes
several heads at once, (N, heads, ...), as the chapter's time-batched attention takes
several decoder steps: the layer addresses all its heads with one op per stage. The weighting comes from
four small steps, each a public function of ops here (no hand-written backward):

1. :func:`content_weights` — cosine similarity of a key with every memory row, scaled by a
   key strength ``beta`` and turned into weights by a softmax: the chapter's
   ``attention_weight`` with the rows and the key normalised to length 1;
2. :func:`interpolate` — a gate ``g`` mixes that with the previous weighting (stay or jump);
3. :func:`circular_shift` — a circular convolution with shift weights ``s`` over -S..S
   moves the focus to a neighbouring row (this is how a head *walks* the memory);
4. :func:`sharpen` — ``w ** gamma`` renormalised, ``gamma >= 1``, undoes the blur of the shift.

:func:`memory_read` is the chapter's weighted sum of the rows; :func:`memory_write` erases
then adds: ``M <- M * (1 - w e^T) + w a^T``.

:class:`NTM` runs a controller (an LSTM cell, or a feed-forward layer) that reads the input
and the last read vectors, and drives one write head and one or more read heads.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import functions as F
from ..backend import get_array_module
from ..core import OpError, Variable, name_scope
from . import init as I
from .base import Layer
from .basic import Linear
from .recurrent import LSTMCell

__all__ = ["cosine_similarity", "content_weights", "interpolate", "circular_shift", "sharpen",
           "address", "memory_read", "memory_write", "NTM", "NTMState"]

NTMState = namedtuple("NTMState", ["memory", "reads", "weights", "h", "c"])
NTMState.__doc__ = """The recurrent state of an :class:`NTM` between time steps.

Fields:
    memory: the memory matrix, (N, R, W).
    reads: the last read vectors, (N, read_heads, W).
    weights: the last weightings, (N, 1 + read_heads, R): the write head's, then the
        read heads'.
    h, c: the controller's hidden and cell state, (N, H) (``c`` is None for a
        feed-forward controller; both are None before the first step).
"""


def _normalize_rows(x, eps):
    """``x / sqrt(sum(x**2, -1) + eps)``: rows of length (almost) 1; zero rows stay near zero."""
    return x / F.sqrt(F.sum(x * x, axis=-1, keepdims=True) + eps)


def cosine_similarity(memory, key, eps=1e-6):
    """Cosine similarity of ``key`` with every memory row.

    Args:
        memory: (N, R, W). key: (N, W), or (N, heads, W) for several keys.
        eps: added under each square root, so an all-zero row or key gives similarity ~0
            and a finite gradient instead of 0/0.

    Returns:
        (N, R) (or (N, heads, R)), values in [-1, 1].
    """
    _check_memory("cosine_similarity", memory, key, "key")
    m = _normalize_rows(memory, eps)
    k = _normalize_rows(key, eps)
    if key.ndim == 2:
        N, W = key.shape
        return F.reshape(F.matmul(m, F.reshape(k, (N, W, 1))), (N, memory.shape[1]))
    return F.matmul(k, F.swapaxes(m, 1, 2))


def content_weights(memory, key, beta, eps=1e-6):
    """Content addressing: ``softmax(beta * cosine(key, row))`` over the rows.

    This is the chapter's ``F.attention_weight(hs, h)`` with ``hs`` the memory rows and ``h``
    the key, both normalised to length 1, and the key scaled by its strength ``beta`` (the
    larger ``beta``, the sharper the focus on the best-matching row).

    Args:
        memory: (N, R, W). key: (N, W) or (N, heads, W). beta: key strength >= 0, (N, 1)
            or (N, heads, 1).
        eps: see :func:`cosine_similarity`.

    Returns:
        (N, R) or (N, heads, R): weights >= 0 summing to 1 over the rows.
    """
    _check_memory("content_weights", memory, key, "key")
    return F.attention_weight(_normalize_rows(memory, eps), _normalize_rows(key, eps) * beta)


def interpolate(w_content, w_prev, gate):
    """``gate * w_content + (1 - gate) * w_prev``: jump to the content match or stay.

    Args:
        w_content, w_prev: (..., R). gate: (..., 1) in [0, 1].
    """
    return w_prev + gate * (w_content - w_prev)


def _shift_index(xp, rows, shift_range):
    # idx[j, i] = (i - shift_j) % R for shift_j = -S .. S: row i takes its weight from i - shift_j
    shifts = xp.arange(-shift_range, shift_range + 1).reshape(-1, 1)
    return (xp.arange(rows).reshape(1, -1) - shifts) % rows


def circular_shift(w, shift):
    """Circular convolution of a weighting with shift weights over -S..S.

    ``out[i] = sum_j shift[j] * w[(i - (j - S)) mod R]``: with all of ``shift`` on ``+1`` the
    focus moves one row down (row R-1 wraps to row 0). Composed as one gather of the 2S+1
    rotated copies (its backward scatter-adds) and one batched matmul.

    Args:
        w: (N, R) or (N, heads, R). shift: (N, 2S+1) or (N, heads, 2S+1), weights >= 0
            summing to 1 (a softmax).

    Returns:
        The shape of ``w``.
    """
    if w.ndim not in (2, 3) or shift.ndim != w.ndim or shift.shape[:-1] != w.shape[:-1] \
            or shift.shape[-1] % 2 != 1:
        raise OpError(f"circular_shift: expected w (N, [heads,] R) and shift (N, [heads,] 2S+1), "
                      f"got w {w.shape} and shift {shift.shape}")
    R = w.shape[-1]
    K = shift.shape[-1]
    if K > R:
        raise OpError(f"circular_shift: {K} shifts need at least {K} rows, got {R}")
    idx = _shift_index(get_array_module(w.data), R, K // 2)
    lead = w.shape[:-1]
    rolled = F.get_item(w, (Ellipsis, idx))                            # (..., K, R)
    return F.reshape(F.matmul(F.reshape(shift, lead + (1, K)), rolled), w.shape)


def sharpen(w, gamma, eps=1e-12):
    """``(w + eps) ** gamma`` renormalised over the rows; ``gamma >= 1`` sharpens.

    Args:
        w: (..., R), >= 0. gamma: (..., 1), >= 1.
        eps: keeps the power and its gradient with respect to ``gamma`` (``log w``) finite
            where a weight is exactly 0.
    """
    p = (w + eps) ** gamma
    return p / F.sum(p, axis=-1, keepdims=True)


def address(memory, w_prev, key, beta, gate, shift, gamma, eps=1e-6, record=None):
    """The whole addressing pipeline: content, interpolation, shift, sharpening.

    For several heads at once, every argument but ``memory`` has a heads axis after N.

    Args:
        memory: (N, R, W). w_prev: (N, R). key: (N, W). beta: (N, 1) >= 0.
        gate: (N, 1) in [0, 1]. shift: (N, 2S+1) a softmax. gamma: (N, 1) >= 1.
        record: a dict, or None; when given, the weighting after each stage is stored in it
            (Variables): ``"content"``, ``"interpolated"``, ``"shifted"`` and ``"sharpened"``
            (the result).

    Returns:
        The new weighting (N, R) (or (N, heads, R)).
    """
    wc = content_weights(memory, key, beta, eps)
    wg = interpolate(wc, w_prev, gate)
    ws = circular_shift(wg, shift)
    w = sharpen(ws, gamma)
    if record is not None:
        record.update(content=wc, interpolated=wg, shifted=ws, sharpened=w)
    return w


def memory_read(memory, w):
    """The read vector: the chapter's weighted sum of the rows, ``sum_i w[i] * memory[i]``.

    Args:
        memory: (N, R, W). w: (N, R), or (N, heads, R) for several heads.

    Returns:
        (N, W) or (N, heads, W).
    """
    return F.weight_sum(memory, w)


def memory_write(memory, w, erase, add):
    """Erase then add: ``memory * (1 - w erase^T) + w add^T``.

    Each row i forgets the fraction ``w[i] * erase`` of every entry and gains ``w[i] * add``:
    a row the head does not look at (``w[i] = 0``) is left unchanged.

    Args:
        memory: (N, R, W). w: (N, R). erase: (N, W) in [0, 1]. add: (N, W).

    Returns:
        The new memory (N, R, W).
    """
    _check_memory("memory_write", memory, erase, "erase", heads=False)
    N, R, W = memory.shape
    if w.shape != (N, R) or add.shape != (N, W):
        raise OpError(f"memory_write: expected w ({N}, {R}) and add ({N}, {W}), got w {w.shape} "
                      f"and add {add.shape}")
    wc = F.reshape(w, (N, R, 1))
    return memory * (1.0 - wc * F.reshape(erase, (N, 1, W))) + wc * F.reshape(add, (N, 1, W))


def _check_memory(op, memory, v, name, heads=True):
    ok = memory.ndim == 3 and v.ndim in ((2, 3) if heads else (2,)) and v.shape[0] == memory.shape[0] \
        and v.shape[-1] == memory.shape[2]
    if not ok:
        raise OpError(f"{op}: expected memory (N, R, W) and {name} (N, W)"
                      f"{' or (N, heads, W)' if heads else ''}, got memory {memory.shape} and "
                      f"{name} {v.shape}")


class NTM(Layer):
    """A Neural Turing Machine over a sequence: xs (N, T, D) -> (N, T, H + read_heads * W).

    Args:
        input_size: D, the width of each input vector.
        memory_rows: R, rows of the memory (how many vectors it can hold).
        memory_width: W, numbers per row.
        hidden_size: H, the controller's width.
        controller: ``"lstm"`` (an LSTM cell) or ``"ff"`` (one tanh layer: the memory is then
            the only thing carried from step to step).
        read_heads: how many read heads (there is one write head).
        shift_range: S, a head may move -S..S rows per step.
        memory_init: the constant every memory entry starts from (a small non-zero value
            keeps the cosine similarity well defined).
        eps: the small constant of the cosine similarity.

    Each step: the controller reads ``[x_t, r_{t-1}]``; one Linear maps its output to the
    parameters of every head (key, ``beta``, gate, shift, ``gamma``; erase and add for the
    writer); all heads address the memory together (one op per stage, heads on an axis of
    their own); the read heads read, then the write head erases and adds. The output at
    step t is ``[h_t, r_t]`` (a model puts its own output layer on top).

    The memory is reset for every call (per batch): each call starts from
    :meth:`initial_state` unless a ``state`` is given. After a call, ``self.state`` is the
    final :class:`NTMState`, and ``self.read_weights`` (N, T, read_heads, R) and
    ``self.write_weights`` (N, T, R) hold the weightings of every step (raw arrays, for
    pictures). A call with ``record=True`` also fills ``self.steps``: every value of
    :meth:`step`'s ``record``, stacked over time on axis 1 (raw arrays).

    The initial weightings focus on row 0; the initial read vectors are learned.
    """

    def __init__(self, input_size, memory_rows=128, memory_width=20, hidden_size=100,
                 controller="lstm", read_heads=1, shift_range=1, memory_init=1e-6, eps=1e-6,
                 dtype=np.float32, rng=None):
        super().__init__()
        for name, v, low in (("input_size", input_size, 1), ("memory_rows", memory_rows, 1),
                             ("memory_width", memory_width, 1), ("hidden_size", hidden_size, 1),
                             ("read_heads", read_heads, 1), ("shift_range", shift_range, 0)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
                raise ValueError(f"NTM: {name} must be an integer >= {low}, got {v!r}")
        if controller not in ("lstm", "ff"):
            raise ValueError(f"NTM: controller must be 'lstm' or 'ff', got {controller!r}")
        if 2 * shift_range + 1 > memory_rows:
            raise ValueError(f"NTM: shift_range {shift_range} needs at least {2 * shift_range + 1} "
                             f"memory rows, got {memory_rows}")
        self.input_size, self.memory_rows, self.memory_width = input_size, memory_rows, memory_width
        self.hidden_size, self.controller_kind = hidden_size, controller
        self.read_heads, self.shift_range = read_heads, shift_range
        self.memory_init, self.eps = float(memory_init), float(eps)
        W, H = memory_width, hidden_size
        ctrl_in = input_size + read_heads * W
        if controller == "lstm":
            self.controller = LSTMCell(ctrl_in, H, dtype=dtype, rng=rng)
        else:
            self.controller = Linear(ctrl_in, H, dtype=dtype, rng=rng)
        # per head: key W, beta 1, gate 1, shift 2S+1, gamma 1; then the writer's erase and add
        self._per_head = W + 2 * shift_range + 4
        cuts = np.cumsum([W, 1, 1, 2 * shift_range + 1])
        self._head_cuts = [int(i) for i in cuts]
        n_addr = (read_heads + 1) * self._per_head
        self._cuts = [n_addr, n_addr + W]
        self.heads = Linear(H, n_addr + 2 * W, dtype=dtype, rng=rng)
        self.read_init = I.normal((read_heads, W), 0.01, dtype, rng, name="read_init")
        self.state = None
        self.read_weights = None
        self.write_weights = None
        self.steps = None

    @property
    def output_size(self) -> int:
        """Width of each output vector: H + read_heads * W."""
        return self.hidden_size + self.read_heads * self.memory_width

    def initial_state(self, batch_size, xp=None, dtype=None):
        """A fresh state for ``batch_size`` examples: constant memory, weightings on row 0.

        Args:
            batch_size: N.
            xp: the array module (default: the parameters' device).
            dtype: default: the parameters' dtype.
        """
        p = self.read_init
        xp = get_array_module(p.data) if xp is None else xp
        dtype = p.dtype if dtype is None else dtype
        N, R, W = batch_size, self.memory_rows, self.memory_width
        memory = Variable(xp.full((N, R, W), self.memory_init, dtype=dtype))
        w0 = xp.zeros((N, 1 + self.read_heads, R), dtype=dtype)
        w0[:, :, 0] = 1
        reads = F.broadcast_to(F.reshape(p, (1, self.read_heads, W)), (N, self.read_heads, W))
        return NTMState(memory, reads, Variable(w0), None, None)

    def step(self, x, state, record=None):
        """One time step: ``x`` (N, D) and an :class:`NTMState` -> (output (N, H + rW), new state).

        With a dict ``record``, the step's intermediate Variables are stored in it (the
        write head first, then the read heads, on axis 1): the head parameters ``"beta"``,
        ``"gate"``, ``"shift"`` (N, 1 + read_heads, 2S+1) and ``"gamma"`` as the heads used
        them, the weighting after each addressing stage (see :func:`address`), ``"erase"``,
        ``"add"``, the ``"reads"`` and the written ``"memory"``.
        """
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise OpError(f"NTM: expected x of shape (N, {self.input_size}), got {x.shape}")
        N = x.shape[0]
        nr, W = self.read_heads, self.memory_width
        ctrl_in = F.concat([x, F.reshape(state.reads, (N, nr * W))], axis=-1)
        if self.controller_kind == "lstm":
            h, c = self.controller(ctrl_in, state.h, state.c)
        else:
            h, c = F.tanh(self.controller(ctrl_in)), None
        addr, erase, add = F.split(self.heads(h), self._cuts, axis=-1)
        with name_scope("address"):  # all heads at once: head 0 writes, heads 1.. read
            key, beta, gate, shift, gamma = F.split(
                F.reshape(addr, (N, 1 + nr, self._per_head)), self._head_cuts, axis=-1)
            beta, gate = F.softplus(beta), F.sigmoid(gate)
            shift, gamma = F.softmax(shift, axis=-1), 1.0 + F.softplus(gamma)
            w = address(state.memory, state.weights, F.tanh(key), beta, gate, shift, gamma,
                        self.eps, record=record)
        with name_scope("read"):
            reads = memory_read(state.memory, w[:, 1:])                 # (N, nr, W)
        with name_scope("write"):
            erase, add = F.sigmoid(erase), F.tanh(add)
            memory = memory_write(state.memory, w[:, 0], erase, add)
        if record is not None:
            record.update(beta=beta, gate=gate, shift=shift, gamma=gamma, erase=erase, add=add,
                          reads=reads, memory=memory)
        out = F.concat([h, F.reshape(reads, (N, nr * W))], axis=-1)
        return out, NTMState(memory, reads, w, h, c)

    def forward(self, xs, state=None, record=False):
        """Run every time step; with ``record=True`` also keep every step's intermediate values
        in :attr:`steps` (see :meth:`step`)."""
        if xs.ndim != 3 or xs.shape[2] != self.input_size:
            raise OpError(f"NTM: expected input of shape (N, T, {self.input_size}), got {xs.shape}")
        N, T, _ = xs.shape
        if state is None:
            state = self.initial_state(N)
        outs, ws, recs = [], [], []
        for t, x in enumerate(F.unstack(xs, axis=1)):
            rec = {} if record else None
            with name_scope(f"t={t}"):
                y, state = self.step(x, state, rec)
            outs.append(y)
            ws.append(state.weights.data)
            if record:
                recs.append(rec)
        xp = get_array_module(xs.data)
        w = xp.stack(ws, axis=1)                                         # (N, T, 1 + nr, R)
        self.state = state
        self.write_weights = w[:, :, 0]
        self.read_weights = w[:, :, 1:]
        self.steps = ({k: xp.stack([r[k].data for r in recs], axis=1) for k in recs[0]}
                      if record else None)
        return F.stack(outs, axis=1)

    def reset_state(self):
        """Forget the last call's state and weightings (every call starts afresh anyway)."""
        self.state = None
        self.read_weights = None
        self.write_weights = None
        self.steps = None

    def _move_state(self, device):
        self.reset_state()

    def extra_repr(self):
        return (f"{self.input_size}, memory={self.memory_rows}x{self.memory_width}, "
                f"hidden={self.hidden_size}, controller={self.controller_kind}, "
                f"read_heads={self.read_heads}, shifts=+-{self.shift_range}")
