"""Recurrent layers: LSTM (cell and sequence), GRU, Bidirectional, stacked LSTM with skip connections.

All gradients come from the engine; these layers only compose ops. A whole sequence
(:class:`LSTM`, :class:`GRU`, and so every stacked, bidirectional or stateful use of them)
runs by default as the input projection of **all time steps** in one GEMM (``F.linear`` on
(N, T, D)) followed by **one** fused recurrence node (:func:`F.lstm_sequence
<tinygrad_attn.functions.lstm_sequence>`, :func:`F.gru_sequence
<tinygrad_attn.functions.gru_sequence>`), whose backward pass computes the recurrent weight's
gradient as one product over all steps. Inside ``F.fused_ops(False)`` (graph pictures, the
reference in the tests) the same layers compose per-step ops instead:

* the input projection of all time steps is still one GEMM;
* its result is cut into per-step views by **one** ``unstack`` node (backward: one stack);
* the four LSTM gates come from **one** ``split`` node on the (N, 4H) pre-activation;
* per step only ``h @ Wh + a_t`` (N, H) x (H, 4H) remains: one fused ``F.linear`` node;
* the hidden states are joined by **one** ``stack`` node into (N, T, H).
"""
from __future__ import annotations

import numpy as np

from .. import functions as F
from ..core import OpError, Variable, name_scope
from ..functions.recurrent import gru_step_composed
from . import init as I
from .base import Layer
from .basic import Linear

__all__ = ["LSTMCell", "LSTM", "GRUCell", "GRU", "Bidirectional", "StackedLSTM", "lstm_update"]

_SWAP = (1, 0, 2)  # (N, T, .) <-> (T, N, .)


def lstm_update(A, c):
    """The LSTM update from the pre-activation ``A`` (N, 4H), gate order f, g, i, o.

    ``c`` may be None (a zero initial cell). Returns ``(h, c)``, each (N, H).
    This is :func:`F.lstm_cell <tinygrad_attn.functions.lstm_cell>`: one fused node by
    default; inside ``F.fused_ops(False)`` the composition of one split node, 4 activations,
    3 element-wise products, 1 sum and 1 tanh (what graph pictures show).
    """
    return F.lstm_cell(A, c)


def _check_seq(name, xs, D):
    if xs.ndim != 3 or xs.shape[2] != D:
        raise OpError(f"{name}: expected input of shape (N, T, {D}), got {xs.shape}")
    if xs.shape[1] == 0:
        raise OpError(f"{name}: the input sequence is empty (T = 0, shape {xs.shape}); "
                      "a recurrent layer needs at least one time step")


def _check_state(name, s, N, H, what):
    if s is not None and s.shape != (N, H):
        raise OpError(f"{name}: initial {what} must have shape ({N}, {H}), got {s.shape}")


class _RecurrentBase(Layer):
    """Shared state handling (stateful option, final states, device moves)."""

    def __init__(self, input_size, hidden_size, stateful):
        super().__init__()
        self.input_size, self.hidden_size, self.stateful = input_size, hidden_size, stateful
        self.h = None
        self.c = None

    def set_state(self, h, c=None):
        """Set the state the next call starts from (stateful layers keep it across calls)."""
        self.h = h if h is None or isinstance(h, Variable) else Variable(h)
        self.c = c if c is None or isinstance(c, Variable) else Variable(c)

    def reset_state(self):
        """Forget the carried state: the next call starts from zeros."""
        self.h = None
        self.c = None

    def _move_state(self, device):
        for name in ("h", "c"):
            v = getattr(self, name)
            if v is not None:
                setattr(self, name, Variable(v.data).to_device(device))

    def _initial(self, h0, c0, N):
        H = self.hidden_size
        if h0 is None and self.stateful and self.h is not None:
            h0 = self.h.detach()  # truncated backprop: the graph stops at the call boundary
            c0 = None if self.c is None else self.c.detach()
        _check_state(type(self).__name__, h0, N, H, "h")
        _check_state(type(self).__name__, c0, N, H, "c")
        return h0, c0

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + (", stateful=True" if self.stateful else "")


class LSTMCell(Layer):
    """One LSTM step: ``(x, h, c) -> (h', c')``.

    Args:
        input_size: D. hidden_size: H.

    Shapes: x (N, D); h, c (N, H) or None (zeros). Parameters: Wx (D, 4H), Wh (H, 4H), b (4H,),
    initialised with the book's scaled normal (std 1/sqrt(fan_in)) and zero bias.
    """

    def __init__(self, input_size, hidden_size, dtype=np.float32, rng=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        H = hidden_size
        self.Wx = I.scaled_normal((input_size, 4 * H), dtype, rng, name="Wx")
        self.Wh = I.scaled_normal((H, 4 * H), dtype, rng, name="Wh")
        self.b = I.zeros((4 * H,), dtype, name="b")

    def forward(self, x, h=None, c=None):
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise OpError(f"LSTMCell: expected x of shape (N, {self.input_size}), got {x.shape}")
        _check_state("LSTMCell", h, x.shape[0], self.hidden_size, "h")
        _check_state("LSTMCell", c, x.shape[0], self.hidden_size, "c")
        A = F.linear(x, self.Wx, self.b)
        if h is not None:
            A = F.linear(h, self.Wh, A)
        return lstm_update(A, c)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class LSTM(_RecurrentBase):
    """An LSTM over a whole sequence (the book's TimeLSTM), returning every hidden state.

    Args:
        input_size: D. hidden_size: H.
        stateful: carry the final state into the next call (truncated backprop: the graph
            is cut at the call boundary); ``reset_state()`` clears it.

    Call: ``hs = lstm(xs, h0=None, c0=None)`` with xs (N, T, D) -> hs (N, T, H).
    After a call, ``lstm.h`` and ``lstm.c`` (N, H) are the final states (in the graph, so a
    decoder initialised from them sends gradients back into the encoder).

    Cost per call: one (N*T, D) x (D, 4H) GEMM for all inputs, then one fused recurrence node
    (per step one (N, H) x (H, 4H) GEMM and the gate arithmetic; backward: per step one GEMM,
    and the gradient of ``Wh`` as one product over all steps). Inside ``F.fused_ops(False)``
    the recurrence is composed per step (about a dozen ops each; what graph pictures show).
    Decoders that run one step at a time use :meth:`step`.
    """

    def __init__(self, input_size, hidden_size, stateful=False, dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, stateful)
        H = hidden_size
        self.Wx = I.scaled_normal((input_size, 4 * H), dtype, rng, name="Wx")
        self.Wh = I.scaled_normal((H, 4 * H), dtype, rng, name="Wh")
        self.b = I.zeros((4 * H,), dtype, name="b")

    def project(self, xs):
        """Input projection of all steps at once: (N, T, D) -> (N, T, 4H)."""
        return F.linear(xs, self.Wx, self.b)

    def part_projections(self, sizes):
        """The input projection split by the parts of a concatenated input.

        For an input made of parts, e.g. ``[embedding; context]`` with widths ``(D, H)``, each
        part can be projected on its own, when it becomes known: the embeddings of all steps
        at once, the context one step at a time. The parts' projections add up to
        :meth:`project` of the concatenated input, without building the concatenation.

        Args:
            sizes: the parts' widths, summing to ``input_size``.

        Returns:
            One function per part, ``proj(x, add=None)``: x (..., size) -> (..., 4H), i.e.
            ``x @ Wx[rows of the part] (+ b for the first part) (+ add)`` in one ``F.linear``
            node (``add``: e.g. another part's projection). One split node serves all parts.
        """
        sizes = [int(n) for n in sizes]
        if not sizes or any(n <= 0 for n in sizes) or sum(sizes) != self.input_size:
            raise OpError(f"LSTM.part_projections: part widths {sizes} must be positive and sum "
                          f"to the input size {self.input_size}")
        bounds = list(np.cumsum(sizes)[:-1])
        pieces = F.split(self.Wx, bounds, axis=0) if bounds else [self.Wx]

        def make(k, W):
            def proj(x, add=None):
                if k == 0:
                    return F.linear(x, W, self.b if add is None else self.b + add)
                return F.linear(x, W, add)
            return proj
        return [make(k, W) for k, W in enumerate(pieces)]

    def project_embedding(self, embedding, ids):
        """:meth:`project` of ``embedding(ids)`` as a lookup in the projected table
        (:meth:`Embedding.projected <tinygrad_attn.layers.Embedding.projected>`): ids (N, T) ->
        (N, T, 4H), the same values from one (V, D) x (D, 4H) product."""
        return embedding.projected(ids, self.Wx, self.b)

    def step(self, a, h, c):
        """One step from a projected input ``a`` (N, 4H): returns ``(h, c)``.

        ``a`` comes from :meth:`project` (all steps at once) or :meth:`part_projections`;
        :meth:`step_input` projects a raw input itself.
        ``h @ Wh + a`` is one fused ``F.linear`` node (one GEMM, one output array).
        """
        if h is not None:
            a = F.linear(h, self.Wh, a)
        return lstm_update(a, c)

    def step_input(self, x, h=None, c=None):
        """One step from a raw input ``x`` (N, D): project it, then :meth:`step`; returns ``(h, c)``.

        ``h``, ``c`` (N, H) or None (zeros). For decoders that produce their input one step at a
        time (greedy or beam-search decoding).
        """
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise OpError(f"LSTM.step_input: expected x of shape (N, {self.input_size}), got {x.shape}")
        _check_state("LSTM.step_input", h, x.shape[0], self.hidden_size, "h")
        _check_state("LSTM.step_input", c, x.shape[0], self.hidden_size, "c")
        return self.step(self.project(x), h, c)

    def forward(self, xs, h0=None, c0=None, projected=None):
        """Run the sequence: xs (N, T, D) -> hs (N, T, H).

        ``projected``: the input projection (N, T, 4H) computed elsewhere (e.g.
        :meth:`Embedding.projected <tinygrad_attn.layers.Embedding.projected>`, a lookup in the
        projected embedding table); then ``xs`` must be None.
        """
        if (xs is None) == (projected is None):
            raise OpError("LSTM: give exactly one of xs and projected")
        if F.fused_ops.enabled and projected is None:
            _check_seq("LSTM", xs, self.input_size)
            N = xs.shape[0]
            h, c = self._initial(h0, c0, N)
            # time-major projection (T, N, 4H): each step's rows contiguous for the fused node
            proj = F.linear(F.transpose(xs, _SWAP), self.Wx, self.b)
            hs, self.h, self.c = F.lstm_sequence(proj, self.Wh, h, c, time_major=True)
            return F.transpose(hs, _SWAP)
        if projected is None:
            _check_seq("LSTM", xs, self.input_size)
            projected = self.project(xs)
        elif projected.ndim != 3 or projected.shape[2] != 4 * self.hidden_size:
            raise OpError(f"LSTM: projected input must be (N, T, {4 * self.hidden_size}), "
                          f"got {projected.shape}")
        N, T, _ = projected.shape
        h, c = self._initial(h0, c0, N)
        if F.fused_ops.enabled:  # the whole recurrence as one node (F.lstm_sequence)
            hs, self.h, self.c = F.lstm_sequence(projected, self.Wh, h, c)
            return hs
        steps = F.unstack(projected, axis=1)
        hs = []
        for t in range(T):
            with name_scope(f"t={t}"):
                h, c = self.step(steps[t], h, c)
            hs.append(h)
        self.h, self.c = h, c
        return F.stack(hs, axis=1)


class GRUCell(Layer):
    """One GRU step ``(x, h) -> h'`` (gates r, z, candidate n; ``h' = n + z * (h - n)``).

    Shapes: x (N, D); h (N, H) or None. Parameters Wx (D, 3H), Wh (H, 3H), b (3H,).
    """

    def __init__(self, input_size, hidden_size, dtype=np.float32, rng=None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        H = hidden_size
        self.Wx = I.scaled_normal((input_size, 3 * H), dtype, rng, name="Wx")
        self.Wh = I.scaled_normal((H, 3 * H), dtype, rng, name="Wh")
        self.b = I.zeros((3 * H,), dtype, name="b")

    def forward(self, x, h=None):
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise OpError(f"GRUCell: expected x of shape (N, {self.input_size}), got {x.shape}")
        _check_state("GRUCell", h, x.shape[0], self.hidden_size, "h")
        return gru_update(F.linear(x, self.Wx, self.b), h, self.Wh)


def gru_update(a, h, Wh):
    """The GRU update from the projected input ``a`` (N, 3H), previous ``h`` (or None) and ``Wh``
    (composed of ops: :func:`tinygrad_attn.functions.recurrent.gru_step_composed`)."""
    return gru_step_composed(a, h, Wh)


class GRU(_RecurrentBase):
    """A GRU over a sequence: xs (N, T, D) -> hs (N, T, H); ``gru.h`` is the final state.

    Same structure as :class:`LSTM`: one input GEMM, then one fused recurrence node
    (:func:`F.gru_sequence <tinygrad_attn.functions.gru_sequence>`), or inside
    ``F.fused_ops(False)`` per step one (N, H) x (H, 3H) GEMM and one split.
    ``stateful`` as in :class:`LSTM`.
    """

    def __init__(self, input_size, hidden_size, stateful=False, dtype=np.float32, rng=None):
        super().__init__(input_size, hidden_size, stateful)
        H = hidden_size
        self.Wx = I.scaled_normal((input_size, 3 * H), dtype, rng, name="Wx")
        self.Wh = I.scaled_normal((H, 3 * H), dtype, rng, name="Wh")
        self.b = I.zeros((3 * H,), dtype, name="b")

    def forward(self, xs, h0=None):
        _check_seq("GRU", xs, self.input_size)
        N, T, _ = xs.shape
        h, _ = self._initial(h0, None, N)
        if F.fused_ops.enabled:  # the whole recurrence as one node, time-major as in LSTM
            proj = F.linear(F.transpose(xs, _SWAP), self.Wx, self.b)
            hs, self.h = F.gru_sequence(proj, self.Wh, h, time_major=True)
            return F.transpose(hs, _SWAP)
        steps = F.unstack(F.linear(xs, self.Wx, self.b), axis=1)
        hs = []
        for t in range(T):
            with name_scope(f"t={t}"):
                h = gru_update(steps[t], h, self.Wh)
            hs.append(h)
        self.h = h
        return F.stack(hs, axis=1)


class Bidirectional(Layer):
    """Run one recurrent layer forward and another over the reversed sequence; concatenate.

    Args:
        forward_layer: e.g. ``LSTM(D, H)``, reads x_1 .. x_T.
        backward_layer: a layer of the same kind, reads x_T .. x_1.

    Call: xs (N, T, D) -> (N, T, H_f + H_b): position t holds the forward state after x_t
    and the backward state after x_T .. x_t, so every position sees both sides.
    ``self.h`` (and ``self.c`` for LSTMs) are the two final states concatenated, (N, H_f + H_b),
    ready to initialise a decoder.
    """

    def __init__(self, forward_layer, backward_layer):
        super().__init__()
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer
        self.h = None
        self.c = None

    def forward(self, xs):
        hf = self.forward_layer(xs)
        hb = F.flip(self.backward_layer(F.flip(xs, 1)), 1)
        fl, bl = self.forward_layer, self.backward_layer
        self.h = F.concat([fl.h, bl.h], axis=-1)
        self.c = F.concat([fl.c, bl.c], axis=-1) if getattr(fl, "c", None) is not None else None
        return F.concat([hf, hb], axis=-1)

    def reset_state(self):
        """Reset both directions."""
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()


class StackedLSTM(Layer):
    """Several LSTM layers on top of each other, with residual (skip) connections.

    Args:
        input_size: D of the first layer.
        hidden_size: H, or a list of H per layer.
        num_layers: how many layers (ignored when ``hidden_size`` is a list).
        residual: from the second layer on, add each layer's input to its output (GNMT);
            when the widths differ, the input goes through a bias-free Linear projection.
        dropout: dropout probability on each layer's input from the second layer on (0 = none),
            in :meth:`forward` and in :meth:`step` alike.
        bidirectional: the first layer is a :class:`Bidirectional` LSTM with H/2 units per
            direction (H even), so its output is still H wide (GNMT's encoder). Such a stack
            reads whole sequences only (no :meth:`step`).

    Call: ``hs = stack(xs, states=None)``, xs (N, T, D) -> (N, T, H_last). ``states`` is a
    list of (h, c) per layer (either may be None: zeros); after a call ``self.states`` holds the
    final (h, c) per layer (for a bidirectional first layer, both directions concatenated).

    Decoding one step at a time: ``out, states = stack.step(x, states)`` with x (N, D), or
    with the first layer's input already projected (:meth:`project`, :meth:`part_projections`)
    ``stack.step(None, states, projected=a)``. ``stack.layers`` are the LSTMs, bottom first.
    """

    def __init__(self, input_size, hidden_size, num_layers=2, residual=True, dropout=0.0,
                 bidirectional=False, dtype=np.float32, rng=None):
        super().__init__()
        sizes = list(hidden_size) if isinstance(hidden_size, (list, tuple)) else [hidden_size] * num_layers
        if not sizes:
            raise ValueError("StackedLSTM: needs at least one layer")
        if bidirectional and sizes[0] % 2:
            raise ValueError(f"StackedLSTM: a bidirectional first layer needs an even width, got {sizes[0]}")
        self.sizes = sizes
        self.residual = residual
        self.dropout = dropout
        self.bidirectional = bool(bidirectional)
        ins = [input_size] + sizes[:-1]
        kw = dict(dtype=dtype, rng=rng)
        first = (Bidirectional(LSTM(input_size, sizes[0] // 2, **kw), LSTM(input_size, sizes[0] // 2, **kw))
                 if bidirectional else LSTM(input_size, sizes[0], **kw))
        self.layers = [first] + [LSTM(i, o, **kw) for i, o in zip(ins[1:], sizes[1:])]
        for k, layer in enumerate(self.layers):  # graph scopes "stack/0", "stack/1", ...
            object.__setattr__(layer, "_scope_name", str(k))
        needs = [k for k, (i, o) in enumerate(zip(ins, sizes)) if residual and k > 0 and i != o]
        self._proj_index = {k: n for n, k in enumerate(needs)}  # layer k -> its projection
        projs = [Linear(ins[k], sizes[k], bias=False, **kw) for k in needs]
        self.projections = projs if projs else None
        self.states = None

    def _skip(self, k, x, y):
        if not self.residual or k == 0:
            return y
        if k in self._proj_index:
            x = self.projections[self._proj_index[k]](x)
        return y + x

    def _layer_input(self, k, x):
        return F.dropout(x, self.dropout) if k > 0 and self.dropout else x

    def forward(self, xs, states=None, projected=None):
        """Run every layer: xs (N, T, D) -> (N, T, H_last).

        ``projected``: the first layer's input projection (N, T, 4H_0) computed elsewhere
        (then ``xs`` is None; not with a bidirectional first layer).
        """
        if projected is not None:
            self._first_lstm("forward(projected=...)")
        out = xs
        finals = []
        for k, layer in enumerate(self.layers):
            h0, c0 = (None, None) if states is None or states[k] is None else states[k]
            if k == 0 and projected is not None:
                out = layer(None, h0, c0, projected=projected)
                finals.append((layer.h, layer.c))
                continue
            x_in = self._layer_input(k, out)
            if k == 0 and self.bidirectional:
                if h0 is not None or c0 is not None:
                    raise OpError("StackedLSTM: a bidirectional first layer starts from zeros "
                                  "(pass None as its state)")
                y = layer(x_in)
            else:
                y = layer(x_in, h0, c0)
            out = self._skip(k, x_in, y)
            finals.append((layer.h, layer.c))
        self.states = finals
        return out

    def project(self, xs):
        """The first layer's input projection (all steps at once): (N, T, D) -> (N, T, 4H_0)."""
        return self._first_lstm("project").project(xs)

    def part_projections(self, sizes):
        """The first layer's input projection split by input parts (see :meth:`LSTM.part_projections`)."""
        return self._first_lstm("part_projections").part_projections(sizes)

    def project_embedding(self, embedding, ids):
        """The first layer's :meth:`LSTM.project_embedding`: ids (N, T) -> (N, T, 4H_0)."""
        return self._first_lstm("project_embedding").project_embedding(embedding, ids)

    def _first_lstm(self, what):
        if self.bidirectional:
            raise OpError(f"StackedLSTM.{what}: not available with a bidirectional first layer")
        return self.layers[0]

    def step(self, x, states=None, projected=None):
        """One time step of every layer (for decoders).

        Args:
            x: the first layer's input (N, D); None when ``projected`` is given.
            states: list of (h, c) per layer, or None (zeros everywhere).
            projected: the first layer's input already projected, (N, 4H_0).

        Returns:
            ``(out, states)``: the top output (N, H_last) (after the skip connection) and the
            new (h, c) per layer. Dropout and skip connections as in :meth:`forward`.
        """
        first = self._first_lstm("step")
        if (x is None) == (projected is None):
            raise OpError("StackedLSTM.step: give exactly one of x and projected")
        new = []
        out = x
        with self.scope():                       # drawn in the stack's cluster, per layer
            for k, layer in enumerate(self.layers):
                h, c = (None, None) if states is None or states[k] is None else states[k]
                with layer.scope():
                    if k == 0:
                        h, c = (first.step(projected, h, c) if x is None
                                else first.step_input(x, h, c))
                        out = h
                    else:
                        x_in = self._layer_input(k, out)
                        h, c = layer.step(layer.project(x_in), h, c)
                        out = self._skip(k, x_in, h)
                new.append((h, c))
        return out, new
