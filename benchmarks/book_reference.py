"""A hand-written-backward NumPy attention seq2seq, in the style of the book's chapter code.

This is the baseline the issue measures against ("the book's hand-written NumPy"): every
layer stores what its forward pass needs and implements ``backward`` by hand, recurrent
layers loop over time steps with ``np.dot`` per step, and parameters/gradients live in
parallel lists that the optimizer walks. It is our own implementation of that design,
written plainly on purpose (no fusing, no batching of the input projection, the attention
built from repeat + multiply + sum as the chapter does) so that it costs what such code
costs.

Architecture (the same as ``models.AttentionSeq2seq(V, D, H)`` with ``attention_feed="affine"``):

* encoder: Embedding (V, D) -> LSTM (D -> H) over T_in steps, returning all states hs_enc;
* decoder: Embedding (V, D) -> LSTM (D -> H) started from the encoder's last h (c = 0);
* attention for every decoder step: ``a = softmax(hs_enc . h_t)``, ``c_t = sum_s a_s hs_enc[s]``;
* output: Affine on ``[c_t, h_t]`` (2H -> V), softmax cross entropy averaged over N * T_out.

LSTM gates are ordered f, g, i, o, as in our engine, so weights copy over unchanged
(:meth:`BookAttentionSeq2seq.load_from`).

Usage as a library (the benchmark scripts do this)::

    from book_reference import BookAttentionSeq2seq, Adam, clip_grads
    model = BookAttentionSeq2seq(59, 16, 256)
    opt = Adam(lr=0.001)
    loss = model.forward(xs, ts)       # xs (N, T_in), ts (N, 1 + T_out) integer ids
    model.backward()
    clip_grads(model.grads, 5.0)
    opt.update(model.params, model.grads)

Run directly, it prints ms/step for a few steps: ``python benchmarks/book_reference.py``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    "Embedding", "TimeEmbedding", "LSTM", "TimeLSTM", "TimeAffine", "TimeSoftmaxWithLoss",
    "AttentionWeight", "WeightSum", "Attention", "TimeAttention", "AttentionEncoder",
    "AttentionDecoder", "BookAttentionSeq2seq", "Adam", "clip_grads", "softmax", "sigmoid",
    "evaluate_per_sample",
]


def sigmoid(x):
    """Logistic function, element-wise; same shape and dtype as ``x``."""
    return 1 / (1 + np.exp(-x))


def softmax(x):
    """Softmax over the last axis of a 1-D or 2-D array (shape and dtype kept)."""
    x = x - x.max(axis=-1, keepdims=True)
    x = np.exp(x)
    x /= x.sum(axis=-1, keepdims=True)
    return x


# ----------------------------------------------------------------------------- basic layers
class Embedding:
    """Row lookup for one time step: ids (N,) -> (N, D). Backward scatter-adds into dW."""

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.idx = None

    def forward(self, idx):
        """Args: idx (N,) integer ids. Returns: (N, D) rows of W."""
        W, = self.params
        self.idx = idx
        return W[idx]

    def backward(self, dout):
        """Args: dout (N, D). Accumulates into the gradient of W; returns None."""
        dW, = self.grads
        dW[...] = 0
        np.add.at(dW, self.idx, dout)
        return None


class TimeEmbedding:
    """Embedding applied step by step: ids (N, T) -> (N, T, D)."""

    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.layers = None
        self.W = W

    def forward(self, xs):
        """Args: xs (N, T) integer ids. Returns: (N, T, D)."""
        N, T = xs.shape
        V, D = self.W.shape
        out = np.empty((N, T, D), dtype=self.W.dtype)
        self.layers = []
        for t in range(T):
            layer = Embedding(self.W)
            out[:, t, :] = layer.forward(xs[:, t])
            self.layers.append(layer)
        return out

    def backward(self, dout):
        """Args: dout (N, T, D). Sums the per-step gradients into dW; returns None."""
        T = dout.shape[1]
        grad = 0
        for t in range(T):
            layer = self.layers[t]
            layer.backward(dout[:, t, :])
            grad += layer.grads[0]
        self.grads[0][...] = grad
        return None


class LSTM:
    """One LSTM step with cached values for the hand-written backward pass.

    Weights: Wx (D, 4H), Wh (H, 4H), b (4H,); gate order f, g, i, o.
    """

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache = None

    def forward(self, x, h_prev, c_prev):
        """Args: x (N, D), h_prev (N, H), c_prev (N, H). Returns: (h_next, c_next), each (N, H)."""
        Wx, Wh, b = self.params
        N, H = h_prev.shape
        A = np.dot(x, Wx) + np.dot(h_prev, Wh) + b
        f = A[:, :H]
        g = A[:, H:2 * H]
        i = A[:, 2 * H:3 * H]
        o = A[:, 3 * H:]
        f = sigmoid(f)
        g = np.tanh(g)
        i = sigmoid(i)
        o = sigmoid(o)
        c_next = f * c_prev + g * i
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, g, o, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        """Args: dh_next, dc_next (N, H). Returns: (dx (N, D), dh_prev (N, H), dc_prev (N, H))."""
        Wx, Wh, b = self.params
        x, h_prev, c_prev, i, f, g, o, c_next = self.cache
        tanh_c_next = np.tanh(c_next)
        ds = dc_next + (dh_next * o) * (1 - tanh_c_next ** 2)
        dc_prev = ds * f
        di = ds * g
        df = ds * c_prev
        do = dh_next * tanh_c_next
        dg = ds * i
        di *= i * (1 - i)
        df *= f * (1 - f)
        do *= o * (1 - o)
        dg *= (1 - g ** 2)
        dA = np.hstack((df, dg, di, do))
        dWh = np.dot(h_prev.T, dA)
        dWx = np.dot(x.T, dA)
        db = dA.sum(axis=0)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        dx = np.dot(dA, Wx.T)
        dh_prev = np.dot(dA, Wh.T)
        return dx, dh_prev, dc_prev


class TimeLSTM:
    """An LSTM over a sequence, one :class:`LSTM` step object per time step.

    Call ``forward(xs)`` with xs (N, T, D) -> hs (N, T, H). ``set_state(h)`` sets the initial
    hidden state (the cell starts at zero); after ``backward``, ``self.dh`` (N, H) is the
    gradient of that initial state.
    """

    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.layers = None
        self.h, self.c = None, None
        self.dh = None

    def set_state(self, h, c=None):
        """Set the initial hidden state h (N, H) (and optionally c) for the next forward."""
        self.h, self.c = h, c

    def forward(self, xs):
        """Args: xs (N, T, D). Returns: hs (N, T, H)."""
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        H = Wh.shape[0]
        self.layers = []
        hs = np.empty((N, T, H), dtype=Wx.dtype)
        h = np.zeros((N, H), dtype=Wx.dtype) if self.h is None else self.h
        c = np.zeros((N, H), dtype=Wx.dtype) if self.c is None else self.c
        for t in range(T):
            layer = LSTM(*self.params)
            h, c = layer.forward(xs[:, t, :], h, c)
            hs[:, t, :] = h
            self.layers.append(layer)
        self.h, self.c = None, None  # stateless: the next forward starts from zeros again
        return hs

    def backward(self, dhs):
        """Args: dhs (N, T, H). Returns: dxs (N, T, D); sets ``self.dh`` (N, H)."""
        Wx, Wh, b = self.params
        N, T, H = dhs.shape
        D = Wx.shape[0]
        dxs = np.empty((N, T, D), dtype=dhs.dtype)
        dh, dc = 0, 0
        grads = [0, 0, 0]
        for t in reversed(range(T)):
            layer = self.layers[t]
            dx, dh, dc = layer.backward(dhs[:, t, :] + dh, dc)
            dxs[:, t, :] = dx
            for k, grad in enumerate(layer.grads):
                grads[k] += grad
        for k, grad in enumerate(grads):
            self.grads[k][...] = grad
        self.dh = dh
        return dxs


class TimeAffine:
    """Affine over the last axis of (N, T, D) -> (N, T, O), as one matrix product."""

    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        """Args: x (N, T, D). Returns: (N, T, O)."""
        N, T, D = x.shape
        W, b = self.params
        rx = x.reshape(N * T, -1)
        out = np.dot(rx, W) + b
        self.x = x
        return out.reshape(N, T, -1)

    def backward(self, dout):
        """Args: dout (N, T, O). Returns: dx (N, T, D)."""
        x = self.x
        N, T, D = x.shape
        W, b = self.params
        dout = dout.reshape(N * T, -1)
        rx = x.reshape(N * T, -1)
        db = np.sum(dout, axis=0)
        dW = np.dot(rx.T, dout)
        dx = np.dot(dout, W.T)
        self.grads[0][...] = dW
        self.grads[1][...] = db
        return dx.reshape(N, T, D)


class TimeSoftmaxWithLoss:
    """Softmax cross entropy over (N, T, V) scores and (N, T) labels, mean over N * T."""

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None
        self.ignore_label = -1

    def forward(self, xs, ts):
        """Args: xs (N, T, V) scores, ts (N, T) integer labels. Returns: the scalar loss."""
        N, T, V = xs.shape
        mask = (ts != self.ignore_label)
        xs = xs.reshape(N * T, V)
        ts = ts.reshape(N * T)
        mask = mask.reshape(N * T)
        ys = softmax(xs)
        ls = np.log(ys[np.arange(N * T), ts])
        ls *= mask
        loss = -np.sum(ls)
        loss /= mask.sum()
        self.cache = (ts, ys, mask, (N, T, V))
        return loss

    def backward(self, dout=1):
        """Returns: dxs (N, T, V), the gradient of the loss times ``dout``."""
        ts, ys, mask, (N, T, V) = self.cache
        dx = ys
        dx[np.arange(N * T), ts] -= 1
        dx *= dout
        dx /= mask.sum()
        dx *= mask[:, np.newaxis]
        return dx.reshape((N, T, V))


# ----------------------------------------------------------------------------- attention
class AttentionWeight:
    """Scores of one decoder state against all encoder states, softmax over the encoder axis.

    forward(hs (N, T, H), h (N, H)) -> a (N, T).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, h):
        """Args: hs (N, T, H), h (N, H). Returns: a (N, T)."""
        N, T, H = hs.shape
        hr = h.reshape(N, 1, H).repeat(T, axis=1)
        t = hs * hr
        s = np.sum(t, axis=2)
        a = softmax(s)
        self.cache = (hs, hr)
        self.a = a
        return a

    def backward(self, da):
        """Args: da (N, T). Returns: (dhs (N, T, H), dh (N, H))."""
        hs, hr = self.cache
        a = self.a
        N, T, H = hs.shape
        ds = a * (da - np.sum(da * a, axis=1, keepdims=True))  # softmax backward
        dt = ds.reshape(N, T, 1).repeat(H, axis=2)
        dhs = dt * hr
        dhr = dt * hs
        dh = np.sum(dhr, axis=1)
        return dhs, dh


class WeightSum:
    """Context vector: the attention-weighted sum of the encoder states.

    forward(hs (N, T, H), a (N, T)) -> c (N, H).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.cache = None

    def forward(self, hs, a):
        """Args: hs (N, T, H), a (N, T). Returns: c (N, H)."""
        N, T, H = hs.shape
        ar = a.reshape(N, T, 1).repeat(H, axis=2)
        t = hs * ar
        c = np.sum(t, axis=1)
        self.cache = (hs, ar)
        return c

    def backward(self, dc):
        """Args: dc (N, H). Returns: (dhs (N, T, H), da (N, T))."""
        hs, ar = self.cache
        N, T, H = hs.shape
        dt = dc.reshape(N, 1, H).repeat(T, axis=1)
        dar = dt * hs
        dhs = dt * ar
        da = np.sum(dar, axis=2)
        return dhs, da


class Attention:
    """AttentionWeight followed by WeightSum for one decoder step: (hs, h) -> c (N, H)."""

    def __init__(self):
        self.params, self.grads = [], []
        self.attention_weight_layer = AttentionWeight()
        self.weight_sum_layer = WeightSum()
        self.attention_weight = None

    def forward(self, hs, h):
        """Args: hs (N, T, H), h (N, H). Returns: c (N, H)."""
        a = self.attention_weight_layer.forward(hs, h)
        out = self.weight_sum_layer.forward(hs, a)
        self.attention_weight = a
        return out

    def backward(self, dout):
        """Args: dout (N, H). Returns: (dhs (N, T, H), dh (N, H))."""
        dhs0, da = self.weight_sum_layer.backward(dout)
        dhs1, dh = self.attention_weight_layer.backward(da)
        return dhs0 + dhs1, dh


class TimeAttention:
    """Attention for every decoder step, one :class:`Attention` object per step.

    forward(hs_enc (N, T_enc, H), hs_dec (N, T_dec, H)) -> contexts (N, T_dec, H).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.layers = None
        self.attention_weights = None

    def forward(self, hs_enc, hs_dec):
        """Args: hs_enc (N, T_enc, H), hs_dec (N, T_dec, H). Returns: (N, T_dec, H)."""
        N, T, H = hs_dec.shape
        out = np.empty_like(hs_dec)
        self.layers = []
        self.attention_weights = []
        for t in range(T):
            layer = Attention()
            out[:, t, :] = layer.forward(hs_enc, hs_dec[:, t, :])
            self.layers.append(layer)
            self.attention_weights.append(layer.attention_weight)
        return out

    def backward(self, dout):
        """Args: dout (N, T_dec, H). Returns: (dhs_enc (N, T_enc, H), dhs_dec (N, T_dec, H))."""
        N, T, H = dout.shape
        dhs_enc = 0
        dhs_dec = np.empty_like(dout)
        for t in range(T):
            layer = self.layers[t]
            dhs, dh = layer.backward(dout[:, t, :])
            dhs_enc += dhs
            dhs_dec[:, t, :] = dh
        return dhs_enc, dhs_dec


# ----------------------------------------------------------------------------- the model
class AttentionEncoder:
    """Embedding + TimeLSTM; forward(xs (N, T_in)) -> hs (N, T_in, H)."""

    def __init__(self, embed_W, lstm_Wx, lstm_Wh, lstm_b):
        self.embed = TimeEmbedding(embed_W)
        self.lstm = TimeLSTM(lstm_Wx, lstm_Wh, lstm_b)
        self.params = self.embed.params + self.lstm.params
        self.grads = self.embed.grads + self.lstm.grads

    def forward(self, xs):
        """Args: xs (N, T_in) ids. Returns: hs (N, T_in, H)."""
        xs = self.embed.forward(xs)
        return self.lstm.forward(xs)

    def backward(self, dhs):
        """Args: dhs (N, T_in, H). Returns: None (the ids get no gradient)."""
        dout = self.lstm.backward(dhs)
        self.embed.backward(dout)
        return None


class AttentionDecoder:
    """Embedding + TimeLSTM (started from the encoder's last h) + TimeAttention + TimeAffine."""

    def __init__(self, embed_W, lstm_Wx, lstm_Wh, lstm_b, affine_W, affine_b):
        self.embed = TimeEmbedding(embed_W)
        self.lstm = TimeLSTM(lstm_Wx, lstm_Wh, lstm_b)
        self.attention = TimeAttention()
        self.affine = TimeAffine(affine_W, affine_b)
        layers = [self.embed, self.lstm, self.attention, self.affine]
        self.params, self.grads = [], []
        for layer in layers:
            self.params += layer.params
            self.grads += layer.grads

    def forward(self, xs, enc_hs):
        """Args: xs (N, T_out) decoder input ids, enc_hs (N, T_in, H). Returns: scores (N, T_out, V)."""
        h = enc_hs[:, -1]
        self.lstm.set_state(h)
        out = self.embed.forward(xs)
        dec_hs = self.lstm.forward(out)
        c = self.attention.forward(enc_hs, dec_hs)
        out = np.concatenate((c, dec_hs), axis=2)
        return self.affine.forward(out)

    def backward(self, dscore):
        """Args: dscore (N, T_out, V). Returns: the gradient of enc_hs (N, T_in, H)."""
        dout = self.affine.backward(dscore)
        N, T, H2 = dout.shape
        H = H2 // 2
        dc, ddec_hs0 = dout[:, :, :H], dout[:, :, H:]
        denc_hs, ddec_hs1 = self.attention.backward(dc)
        ddec_hs = ddec_hs0 + ddec_hs1
        dout = self.lstm.backward(ddec_hs)
        dh = self.lstm.dh
        denc_hs[:, -1] += dh
        self.embed.backward(dout)
        return denc_hs


class BookAttentionSeq2seq:
    """The chapter's attention seq2seq with hand-written backward passes.

    Args:
        vocab_size: V. wordvec_size: D. hidden_size: H.
        dtype: float32 (default, as in the issue) or float64 (for gradient checks).
        seed: seeds the book-style initialisation (embeddings N(0, 0.01^2), LSTM weights
            N(0, 1/fan_in), Affine weights N(0, 1/fan_in), zero biases).

    ``params`` and ``grads`` are parallel lists of arrays in the order
    enc_embed.W, encoder Wx, Wh, b, dec_embed.W, decoder Wx, Wh, b, out.W, out.b.
    """

    #: names of ``params`` in the naming of ``models.AttentionSeq2seq.named_params()``
    PARAM_NAMES = ("enc_embed.W", "encoder.layers.0.Wx", "encoder.layers.0.Wh", "encoder.layers.0.b",
                   "dec_embed.W", "decoder.layers.0.Wx", "decoder.layers.0.Wh", "decoder.layers.0.b",
                   "out.W", "out.b")

    def __init__(self, vocab_size, wordvec_size=16, hidden_size=256, dtype=np.float32, seed=0):
        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.default_rng(seed).standard_normal
        f = np.dtype(dtype).type

        def lstm_weights():
            return ((rn((D, 4 * H)) / np.sqrt(D)).astype(f), (rn((H, 4 * H)) / np.sqrt(H)).astype(f),
                    np.zeros(4 * H, dtype=f))

        enc_embed_W = (rn((V, D)) / 100).astype(f)
        dec_embed_W = (rn((V, D)) / 100).astype(f)
        affine_W = (rn((2 * H, V)) / np.sqrt(2 * H)).astype(f)
        affine_b = np.zeros(V, dtype=f)
        self.encoder = AttentionEncoder(enc_embed_W, *lstm_weights())
        self.decoder = AttentionDecoder(dec_embed_W, *lstm_weights(), affine_W, affine_b)
        self.softmax = TimeSoftmaxWithLoss()
        self.params = self.encoder.params + self.decoder.params
        self.grads = self.encoder.grads + self.decoder.grads

    def forward(self, xs, ts):
        """Args: xs (N, T_in) ids, ts (N, 1 + T_out) start id + answer ids. Returns: the loss (float)."""
        decoder_xs, decoder_ts = ts[:, :-1], ts[:, 1:]
        h = self.encoder.forward(xs)
        score = self.decoder.forward(decoder_xs, h)
        return self.softmax.forward(score, decoder_ts)

    def backward(self, dout=1):
        """Fill ``self.grads`` with the gradients of the last forward's loss (times ``dout``)."""
        dout = self.softmax.backward(dout)
        dh = self.decoder.backward(dout)
        self.encoder.backward(dh)

    def generate(self, xs, start_id, sample_size):
        """Greedy decoding, step by step with the step-level layers (no gradients kept).

        Args:
            xs: (N, T_in) input ids. start_id: the decoder's first input id.
            sample_size: how many ids to produce.

        Returns:
            (N, sample_size) int64 ids. The book evaluates one question per call
            (:func:`evaluate_per_sample`); any N works.
        """
        enc_hs = self.encoder.forward(xs)
        dec = self.decoder
        Wx, Wh, b = dec.lstm.params
        h = enc_hs[:, -1]
        c = np.zeros_like(h)
        ids = np.full(len(xs), start_id, dtype=np.int64)
        out = []
        for _ in range(sample_size):
            x = dec.embed.forward(ids.reshape(-1, 1))[:, 0]
            h, c = LSTM(Wx, Wh, b).forward(x, h, c)
            ctx = Attention().forward(enc_hs, h)
            score = dec.affine.forward(np.concatenate((ctx, h), axis=1)[:, None, :])
            ids = score[:, 0].argmax(axis=1)
            out.append(ids)
        return np.stack(out, axis=1).astype(np.int64)

    def load_from(self, state):
        """Copy weights in place from ``{name: array}`` (e.g. our model's ``state_dict()``).

        Args:
            state: a mapping with every name in :attr:`PARAM_NAMES` (host arrays of matching shapes).

        Raises:
            ValueError: naming a missing key or a shape mismatch.
        """
        for name, p in zip(self.PARAM_NAMES, self.params):
            if name not in state:
                raise ValueError(f"BookAttentionSeq2seq.load_from: missing weight {name!r}")
            a = np.asarray(state[name])
            if a.shape != p.shape:
                raise ValueError(f"BookAttentionSeq2seq.load_from: {name} has shape {a.shape}, "
                                 f"expected {p.shape}")
            p[...] = a.astype(p.dtype)

    def named_grads(self):
        """Return ``{name: gradient array}`` after :meth:`backward` (names as :attr:`PARAM_NAMES`)."""
        return dict(zip(self.PARAM_NAMES, self.grads))


# ----------------------------------------------------------------------------- training
def evaluate_per_sample(model, x, t):
    """Exact-match accuracy the way the book's chapter measures it: one question at a time.

    Args:
        model: a :class:`BookAttentionSeq2seq`. x: (N, T_in) ids. t: (N, 1 + T_out) ids.

    Returns:
        float: the fraction of questions whose whole answer is right.
    """
    start_id, size = int(t[0, 0]), t.shape[1] - 1
    correct = 0
    for i in range(len(x)):
        guess = model.generate(x[i:i + 1], start_id, size)[0]
        correct += int((guess == t[i, 1:]).all())
    return correct / max(len(x), 1)


def clip_grads(grads, max_norm):
    """Scale the arrays in ``grads`` in place so their global L2 norm is at most ``max_norm``.

    Args:
        grads: list of gradient arrays (any shapes).
        max_norm: the norm threshold.

    Returns:
        float: the norm before clipping.
    """
    total_norm = 0
    for grad in grads:
        total_norm += np.sum(grad ** 2)
    total_norm = np.sqrt(total_norm)
    rate = max_norm / (total_norm + 1e-6)
    if rate < 1:
        for grad in grads:
            grad *= rate
    return float(total_norm)


class Adam:
    """Adam over parallel lists of parameter and gradient arrays, updated in place.

    Args:
        lr: learning rate. beta1, beta2: moment decay rates. eps: denominator guard.
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.iter = 0
        self.m, self.v = None, None

    def update(self, params, grads):
        """One update of every array in ``params`` from the same-position array in ``grads``."""
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        # a Python float keeps float32 arrays float32 (NumPy 2 promotes by numpy-scalar dtype)
        lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for i in range(len(params)):
            self.m[i] += (1 - self.beta1) * (grads[i] - self.m[i])
            self.v[i] += (1 - self.beta2) * (grads[i] ** 2 - self.v[i])
            params[i] -= lr_t * self.m[i] / (np.sqrt(self.v[i]) + self.eps)


def _main():
    import argparse
    import time

    p = argparse.ArgumentParser(description="Time the book-style NumPy attention seq2seq.")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    xs = rng.integers(0, 59, (args.batch, 29))
    ts = rng.integers(0, 59, (args.batch, 11))
    model = BookAttentionSeq2seq(59, 16, args.hidden)
    opt = Adam(0.001)
    for k in range(args.steps):
        t0 = time.perf_counter()
        loss = model.forward(xs, ts)
        model.backward()
        clip_grads(model.grads, 5.0)
        opt.update(model.params, model.grads)
        print(f"step {k}: loss {loss:.4f}  {1000 * (time.perf_counter() - t0):.1f} ms")
    from _common import print_machine

    print_machine()


if __name__ == "__main__":
    _main()
