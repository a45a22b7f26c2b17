"""Models for the binary-vector tasks (copy, repeat copy): a Neural Turing Machine and an LSTM.

Both read ``xs`` (N, T, input_width) float bits and score ``ts`` (N, T, output_width; float or
integer) where ``ts >= 0`` (``-1`` marks "nothing expected": the input phase and padding):

* ``loss = model(xs, ts)`` — binary cross entropy of ``sigmoid(logits)``, averaged over the
  scored bits (``F.binary_cross_entropy_with_logits``, stable for any logit);
* ``model.predict(xs)`` — output probabilities (host float array);
* ``model.metrics(xs, ts)`` — ``{"acc": fraction of sequences without a wrong bit,
  "bit_errors": wrong bits per sequence, "loss": ...}`` (the Trainer validates with it);
* ``model.config`` rebuilds the model through the registry; ``state_dict``/``load_weights``.
"""
from __future__ import annotations

import numpy as np

from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.backend import as_device, as_numpy, device_of
from tinygrad_attn.core import OpError, Variable, name_scope, no_grad, test_mode
from tinygrad_attn.data.bits import bit_errors, make_copy
from tinygrad_attn.training.registry import ModelSpec, Option, register_model

__all__ = ["BitsModelBase", "NTMModel", "LSTMBitsModel", "SPECS"]


class BitsModelBase(L.Layer):
    """Shared interface of the bits models (loss, predict, metrics, config, device moves)."""

    kind = ""
    attention_maps = ()
    """The attention maps :meth:`trace` returns: ``("memory",)`` for a model with an addressed
    memory (read and write weightings), none otherwise."""

    def __init__(self, input_width, output_width, dtype):
        super().__init__()
        for name, v in (("input_width", input_width), ("output_width", output_width)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive integer, "
                                 f"got {v!r}")
        self.input_width, self.output_width = int(input_width), int(output_width)
        self.dtype = np.dtype(dtype)

    def _array(self, a, name, width, kinds="f"):
        """A float array (N, T, width) on the model's device (from one of dtype ``kinds``)."""
        if isinstance(a, Variable):
            a = a.data
        if not hasattr(a, "dtype"):
            a = np.asarray(a, dtype=self.dtype)
        if a.ndim != 3 or a.shape[2] != width or a.dtype.kind not in kinds:
            what = "a float" if kinds == "f" else "a float or integer"
            raise OpError(f"{type(self).__name__}: {name} must be {what} array (N, T, {width}), "
                          f"got {a.dtype} {a.shape}")
        dev = self.device
        if device_of(a) != dev:
            a = as_device(a, dev)
        return a.astype(self.dtype, copy=False)

    def logits(self, xs):
        """Output logits (N, T, output_width) for inputs ``xs`` (N, T, input_width)."""
        raise NotImplementedError

    def memory_weights(self):
        """``(write_weights, read_weights)`` of the last forward pass, or None: no memory."""
        return None

    def example_batch(self, rng, batch, seq_len):
        """A random copy-task batch ``(xs, ts)`` for this model's widths (for ``graph`` and
        ``gradcheck``): sequences of up to ``max(seq_len // 2, 1)`` vectors; ``xs`` float64,
        ``ts`` integer bits (-1: not scored), so a gradient check holds the targets fixed."""
        width = min(self.output_width, self.input_width - 1)
        x, t = make_copy(batch, 1, max(seq_len // 2, 1), width, seed=rng)
        xs = np.zeros(x.shape[:2] + (self.input_width,))
        ts = np.full(t.shape[:2] + (self.output_width,), -1, dtype=np.int64)
        xs[:, :, :x.shape[2]] = x
        ts[:, :, :t.shape[2]] = t
        return xs, ts

    def _input(self, xs):
        """``xs`` as a Variable on the model's device (a Variable there is kept: its gradient
        flows)."""
        if isinstance(xs, Variable) and device_of(xs.data) == self.device:
            self._array(xs, "xs", self.input_width)  # the checks only
            return xs
        return Variable(self._array(xs, "xs", self.input_width))

    def forward(self, xs, ts):
        xs = self._input(xs)
        ts = self._array(ts, "ts", self.output_width, kinds="fi")
        if ts.shape[:2] != xs.shape[:2]:
            raise OpError(f"{type(self).__name__}: xs {xs.shape} and ts {ts.shape} need the same "
                          "N and T")
        y = self.logits(xs)
        with name_scope("loss"):
            return F.binary_cross_entropy_with_logits(y, ts)

    def predict(self, xs):
        """Output probabilities, a host float array (N, T, output_width)."""
        xs = self._array(xs, "xs", self.input_width)
        with no_grad(), test_mode():
            return as_numpy(F.sigmoid(self.logits(Variable(xs))).data)

    def metrics(self, xs, ts, batch_size=256):
        """Validation figures on ``(xs, ts)``.

        Returns:
            ``{"acc": fraction of sequences with no wrong bit, "bit_errors": mean wrong bits
            per sequence, "loss": mean binary cross entropy per scored bit}``.
        """
        ts = np.asarray(as_numpy(ts))
        errs, loss, n_bits = [], 0.0, 0
        with no_grad(), test_mode():
            for i in range(0, len(ts), batch_size):
                x = self._array(xs[i:i + batch_size], "xs", self.input_width)
                t = ts[i:i + batch_size]
                y = self.logits(Variable(x))
                k = int((t >= 0).sum())
                if k:  # a batch with no scored bit adds nothing (its mean loss is undefined)
                    loss += float(as_numpy(F.binary_cross_entropy_with_logits(
                        y, as_device(t.astype(self.dtype), self.device)).data)) * k
                n_bits += k
                errs.append(bit_errors(as_numpy(y.data), t))
        e = np.concatenate(errs) if errs else np.zeros(0, np.int64)
        return {"acc": float((e == 0).mean()) if len(e) else 0.0,
                "bit_errors": float(e.mean()) if len(e) else 0.0,
                "loss": loss / max(n_bits, 1)}


class NTMModel(BitsModelBase):
    """A Neural Turing Machine with a sigmoid output layer (registered as ``"ntm"``).

    Args:
        input_width, output_width: channels of the input and target vectors (from the data).
        memory_rows, memory_width: the memory's size R x W.
        controller: ``"lstm"`` or ``"ff"``.
        hidden_size: the controller's width.
        read_heads: number of read heads (one write head).
        shift_range: the heads move up to this many rows per step.

    After a forward pass, :attr:`read_weights` (N, T, R) (first read head) and
    :attr:`write_weights` (N, T, R) are where the heads looked at every step.
    """

    kind = "ntm"
    attention_maps = ("memory",)

    def __init__(self, input_width, output_width, memory_rows=128, memory_width=20,
                 controller="lstm", hidden_size=100, read_heads=1, shift_range=1,
                 dtype=np.float32, rng=None):
        super().__init__(input_width, output_width, dtype)
        self.ntm = L.NTM(self.input_width, memory_rows=memory_rows, memory_width=memory_width,
                         hidden_size=hidden_size, controller=controller, read_heads=read_heads,
                         shift_range=shift_range, dtype=dtype, rng=rng)
        self.out = L.Linear(self.ntm.output_size, self.output_width, dtype=dtype, rng=rng)

    def logits(self, xs):
        """Logits (N, T, output_width): the output layer on ``[h_t, r_t]`` of every step."""
        return self.out(self.ntm(xs))

    def trace(self, xs):
        """Run ``xs`` (N, T, input_width) and return what every step computed (host arrays).

        Nothing is computed twice: the arrays are the ones the forward pass made (the NTM
        layer's ``record``, see :meth:`tinygrad_attn.layers.NTM.step`).

        Returns:
            A dict: ``"outputs"`` (N, T, output_width) output probabilities; ``"write"``
            (N, T, R) and ``"read"`` (N, T, read_heads, R) the weightings; ``"memory"``
            (N, T, R, W) the memory after each step's write; per head (write head first, then
            the read heads, axis 2): ``"content"``, ``"interpolated"``, ``"shifted"``,
            ``"sharpened"`` (N, T, 1 + read_heads, R) the weighting after each addressing
            stage, ``"shift"`` (N, T, 1 + read_heads, 2S+1) the shift distribution over
            -S..S, ``"gamma"``, ``"gate"``, ``"beta"`` (N, T, 1 + read_heads); ``"erase"``,
            ``"add"`` (N, T, W) and ``"reads"`` (N, T, read_heads, W).
        """
        xs = self._array(xs, "xs", self.input_width)
        with no_grad(), test_mode():
            logits = self.out(self.ntm(Variable(xs), record=True))
            out = {"outputs": as_numpy(F.sigmoid(logits).data)}
        steps = self.ntm.steps
        out["write"] = as_numpy(self.ntm.write_weights)
        out["read"] = as_numpy(self.ntm.read_weights)
        for key, value in steps.items():
            value = as_numpy(value)
            if key in ("gamma", "gate", "beta"):
                value = value[..., 0]
            out[key] = value
        return out

    def memory_weights(self):
        """``(write_weights, read_weights)``, each (N, T, R), of the last forward pass."""
        return self.write_weights, self.read_weights

    @property
    def read_weights(self):
        """Weightings of the first read head over the last forward pass, (N, T, R) host array."""
        w = self.ntm.read_weights
        return None if w is None else as_numpy(w[:, :, 0])

    @property
    def write_weights(self):
        """Write weightings over the last forward pass, (N, T, R) host array."""
        w = self.ntm.write_weights
        return None if w is None else as_numpy(w)


class LSTMBitsModel(BitsModelBase):
    """The baseline: an LSTM (one or more layers) and a sigmoid output layer (``"lstm-bits"``).

    Args:
        input_width, output_width: from the data.
        hidden_size: LSTM width (pick it to match another model's parameter count).
        num_layers: stacked LSTM layers (with skip connections from the second on).
    """

    kind = "lstm-bits"

    def __init__(self, input_width, output_width, hidden_size=128, num_layers=1,
                 dtype=np.float32, rng=None):
        super().__init__(input_width, output_width, dtype)
        if not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
            raise ValueError(f"LSTMBitsModel: num_layers must be a positive integer, got {num_layers!r}")
        self.hidden_size, self.num_layers = int(hidden_size), int(num_layers)
        self.rnn = L.StackedLSTM(self.input_width, hidden_size, num_layers=num_layers,
                                 residual=True, dtype=dtype, rng=rng)
        self.out = L.Linear(hidden_size, self.output_width, dtype=dtype, rng=rng)

    def logits(self, xs):
        """Logits (N, T, output_width)."""
        return self.out(self.rnn(xs))


_WIDTHS = {"input_width": 4, "output_width": 3}

SPECS = (
    ModelSpec(NTMModel.kind, NTMModel, "bits", (
        Option("memory-rows", int, 128, "memory rows R", low=1, high=65536),
        Option("memory-width", int, 20, "numbers per memory row W", low=1, high=4096),
        Option("controller", str, "lstm", "the NTM's controller", choices=("lstm", "ff")),
        Option("hidden", int, 100, "hidden width H", config="hidden_size", low=1, high=8192),
        Option("read-heads", int, 1, "read heads of the NTM", low=1, high=64),
        Option("shift-range", int, 1, "rows an NTM head may move per step", low=0, high=64)),
        "Neural Turing Machine: an LSTM controller with a memory it reads and writes by attention",
        tiny=dict(_WIDTHS, memory_rows=6, memory_width=3, hidden_size=4),
        variants={"ff": {"controller": "ff"}}),
    ModelSpec(LSTMBitsModel.kind, LSTMBitsModel, "bits", (
        Option("hidden", int, 128, "hidden width H", config="hidden_size", low=1, high=8192),
        Option("layers", int, 1, "stacked LSTM layers with skip connections",
               config="num_layers", low=1, high=64)),
        "the NTM's baseline: an LSTM with a sigmoid output layer",
        tiny=dict(_WIDTHS, hidden_size=5)),
)
for _spec in SPECS:
    register_model(_spec)
