"""Binary-vector sequence tasks of the Neural Turing Machine paper: copy and repeat copy.

Every example is a pair of float32 arrays of the same length T:

* the input ``x`` (T, input_width): the bits, then a delimiter on its own channel, then zeros
  while the answer is expected;
* the target ``t`` (T, output_width): ``-1`` ("nothing expected here": the loss and the bit
  errors skip it) during the input phase and the padding, the expected bits afterwards.

**copy** (``width`` bits per vector, sequence length L): input channels ``width`` bits + 1
delimiter; T = 2L + 1; the answer is the L vectors again.

**repeat-copy** (length L, repeats K): input channels ``width`` bits + delimiter + a
repeat-count channel that holds ``K / max_repeats`` at the delimiter step; the answer is the
L vectors K times, then an end marker on an extra output channel; T = L + 2 + K L.

Examples of different lengths are padded at the end to a common T (input 0, target -1).
Generators take a seed (NumPy ``Generator``): the same seed gives the same data.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BIT_TASKS", "BitsData", "make_copy", "make_repeat_copy", "make_bits",
           "load_bits_dataset", "bit_errors", "sequence_steps", "check_bits_size", "MAX_STEPS",
           "MAX_ELEMENTS"]

BIT_TASKS = ("copy", "repeat-copy")
"""Names of the binary-vector tasks (``--data`` values of ``tinygrad-attn train``)."""

MAX_STEPS = 10_000
"""Most time steps of one sequence (T = 2L + 1 for copy, L + 2 + L K for repeat copy): a model
runs them one after the other, so this bounds the time and memory of every forward pass."""
MAX_ELEMENTS = 1 << 28
"""Most elements of one generated input array (N x T x channels; 1 GiB of float32)."""


def sequence_steps(task, length, repeats=1):
    """The time steps T of a ``task`` sequence of ``length`` L (and ``repeats`` K).

    ``copy``: ``2 L + 1``; ``repeat-copy``: ``L + 2 + L K`` (the padded length of a batch
    uses the largest L and K).
    """
    if task == "copy":
        return 2 * int(length) + 1
    if task == "repeat-copy":
        return int(length) + 2 + int(length) * int(repeats)
    raise ValueError(f"unknown bits task {task!r}; known: {', '.join(BIT_TASKS)}")


def check_bits_size(who, task, n, max_len, width, max_repeats=1):
    """Refuse, before anything is allocated, data whose sequences or arrays are too large.

    Args:
        who: the caller, for the message.
        task: ``"copy"`` or ``"repeat-copy"``.
        n: examples; max_len: the longest L; width: bits per vector; max_repeats: the most K.

    Returns:
        T, the padded number of steps.

    Raises:
        ValueError: T above :data:`MAX_STEPS` (the message shows the product the model would
            run) or ``n x T x channels`` above :data:`MAX_ELEMENTS`.
    """
    T = sequence_steps(task, max_len, max_repeats)
    if T > MAX_STEPS:
        how = (f"2 x {max_len} + 1" if task == "copy"
               else f"L + 2 + L x K = {max_len} + 2 + {max_len} x {max_repeats}")
        raise ValueError(f"{who}: {task} sequences of length {max_len}"
                         f"{'' if task == 'copy' else f' with up to {max_repeats} repeats'} run "
                         f"{how} = {T:,} steps; at most {MAX_STEPS:,} are allowed (shorter "
                         "lengths or fewer repeats)")
    channels = int(width) + (1 if task == "copy" else 2)
    total = int(n) * T * channels
    if total > MAX_ELEMENTS:
        raise ValueError(f"{who}: {n:,} {task} sequences of {T:,} steps x {channels} channels are "
                         f"{total:,} numbers; at most {MAX_ELEMENTS:,} are generated at once "
                         "(fewer samples or shorter sequences)")
    return T


def _check_range(name, lo, hi):
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer))) or lo < 1 or hi < lo:
        raise ValueError(f"{name}: need integers 1 <= min <= max, got min {lo!r} and max {hi!r}")


def _check_counts(name, n, width):
    ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 1
             for v in (n, width))
    if not ok:
        raise ValueError(f"{name}: n and width must be integers >= 1, got n {n!r} and width "
                         f"{width!r}")


def make_copy(n, min_len=1, max_len=10, width=8, seed=0, length=None):
    """``n`` copy-task examples with lengths drawn uniformly from [min_len, max_len].

    Args:
        n: number of examples (>= 1).
        min_len, max_len: the range of sequence lengths L.
        width: bits per vector.
        seed: seed of the NumPy Generator (or a Generator).
        length: if given, every example has exactly this length (overrides the range).

    Returns:
        (x, t): float32 (n, 2 max_len + 1, width + 1) and (n, 2 max_len + 1, width);
        ``t`` is -1 where nothing is expected.

    Raises:
        ValueError: bad counts, or sizes beyond :func:`check_bits_size`'s bounds (checked
            before anything is allocated).
    """
    if length is not None:
        min_len = max_len = length
    _check_range("make_copy", min_len, max_len)
    _check_counts("make_copy", n, width)
    check_bits_size("make_copy", "copy", n, max_len, width)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lens = rng.integers(min_len, max_len + 1, size=n)
    bits = rng.integers(0, 2, size=(n, max_len, width)).astype(np.float32)
    T = 2 * max_len + 1
    x = np.zeros((n, T, width + 1), np.float32)
    t = np.full((n, T, width), -1.0, np.float32)
    for i, L in enumerate(lens):
        x[i, :L, :width] = bits[i, :L]
        x[i, L, width] = 1.0
        t[i, L + 1:2 * L + 1] = bits[i, :L]
    return x, t


def make_repeat_copy(n, min_len=1, max_len=10, width=8, min_repeats=1, max_repeats=10, seed=0,
                     length=None, repeats=None):
    """``n`` repeat-copy examples: copy the sequence K times, then signal the end.

    Args:
        n: number of examples.
        min_len, max_len: range of sequence lengths L (``length`` fixes it).
        width: bits per vector.
        min_repeats, max_repeats: range of repeat counts K (``repeats`` fixes it);
            the count is given to the model as ``K / max_repeats``.
        seed: seed or Generator.

    Returns:
        (x, t): float32 (n, T, width + 2) and (n, T, width + 1), T = max_len + 2 +
        max_len * max_repeats (K is normalised by ``max_repeats``, so a model trained with
        one ``max_repeats`` must be tested with the same).

    Raises:
        ValueError: bad counts, or sizes beyond :func:`check_bits_size`'s bounds (checked
            before anything is allocated).
    """
    if length is not None:
        min_len = max_len = length
    _check_range("make_repeat_copy", min_len, max_len)
    if repeats is not None:
        _check_range("make_repeat_copy repeats", repeats, max_repeats)
        min_repeats = repeats
    _check_range("make_repeat_copy repeats", min_repeats, max_repeats)
    _check_counts("make_repeat_copy", n, width)
    check_bits_size("make_repeat_copy", "repeat-copy", n, max_len, width, max_repeats)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lens = rng.integers(min_len, max_len + 1, size=n)
    reps = np.full(n, repeats) if repeats is not None else rng.integers(min_repeats, max_repeats + 1, size=n)
    bits = rng.integers(0, 2, size=(n, max_len, width)).astype(np.float32)
    T = max_len + 2 + max_len * max_repeats
    x = np.zeros((n, T, width + 2), np.float32)
    t = np.full((n, T, width + 1), -1.0, np.float32)
    for i, (L, K) in enumerate(zip(lens, reps)):
        x[i, :L, :width] = bits[i, :L]
        x[i, L, width] = 1.0
        x[i, L, width + 1] = K / max_repeats
        start = L + 1
        ans = np.concatenate([np.tile(bits[i, :L], (K, 1)), np.zeros((1, width), np.float32)])
        end = np.zeros((K * L + 1, 1), np.float32)
        end[-1] = 1.0
        t[i, start:start + K * L + 1] = np.concatenate([ans, end], axis=1)
    return x, t


def make_bits(task, n, seed=0, **kw):
    """Dispatch to :func:`make_copy` or :func:`make_repeat_copy` by ``task`` name."""
    if task == "copy":
        return make_copy(n, seed=seed, **kw)
    if task == "repeat-copy":
        return make_repeat_copy(n, seed=seed, **kw)
    raise ValueError(f"unknown bits task {task!r}; known: {', '.join(BIT_TASKS)}")


def bit_errors(logits_or_probs, t, threshold=0.0):
    """Bit errors per sequence: wrong bits where ``t >= 0``, summed per example.

    Args:
        logits_or_probs: (N, T, C) host array; a bit is predicted 1 where it exceeds
            ``threshold`` (0 for logits, 0.5 for probabilities).
        t: (N, T, C) targets with -1 where nothing is expected.

    Returns:
        int64 (N,): the number of wrong bits of each example.
    """
    y = np.asarray(logits_or_probs)
    t = np.asarray(t)
    if y.shape != t.shape:
        raise ValueError(f"bit_errors: predictions {y.shape} and targets {t.shape} differ in shape")
    wrong = ((y > threshold) != (t > 0.5)) & (t >= 0)
    return wrong.reshape(len(t), -1).sum(axis=1).astype(np.int64)


@dataclass
class BitsData:
    """Train/validation split of a binary-vector task (the :class:`~tinygrad_attn.train.Trainer`
    reads the same attribute names as for :class:`~tinygrad_attn.data.Seq2seqData`).

    Attributes:
        x_train, t_train: float32 (N_train, T, input_width) and (N_train, T, output_width).
        x_val, t_val: the validation arrays (same T).
        task: ``"copy"`` or ``"repeat-copy"``.
        params: the generator's keyword arguments (``min_len``, ``max_len``, ``width``, ...),
            enough to generate test data of other lengths.
    """

    x_train: np.ndarray = field(repr=False)
    t_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    t_val: np.ndarray = field(repr=False)
    task: str
    params: dict

    def __post_init__(self):
        """Check shapes: 3-D arrays, matching rows and lengths."""
        for x, t, name in ((self.x_train, self.t_train, "train"), (self.x_val, self.t_val, "val")):
            if x.ndim != 3 or t.ndim != 3 or x.shape[:2] != t.shape[:2]:
                raise ValueError(f"BitsData: x_{name} {x.shape} and t_{name} {t.shape} must be "
                                 "(N, T, C) with the same N and T")

    @property
    def input_width(self) -> int:
        """Channels of the input vectors."""
        return int(self.x_train.shape[2])

    @property
    def output_width(self) -> int:
        """Channels of the target vectors."""
        return int(self.t_train.shape[2])

    def model_fields(self) -> dict:
        """What the data decides in a model's config: ``input_width`` and ``output_width``."""
        return {"input_width": self.input_width, "output_width": self.output_width}

    def describe(self) -> dict:
        """JSON description stored in checkpoints: the task and its generator parameters."""
        return {"task": self.task, **self.params}


def load_bits_dataset(task="copy", samples=10000, seed=0, val_fraction=0.1, **params):
    """Generate a :class:`BitsData` (training and validation examples from one generator).

    Args:
        task: ``"copy"`` or ``"repeat-copy"``.
        samples: total examples (>= 2); ``val_fraction`` of them are held out.
        seed: generator seed.
        **params: the task generator's options (``min_len``, ``max_len``, ``width``, ...).
    """
    if task not in BIT_TASKS:
        raise ValueError(f"unknown bits task {task!r}; known: {', '.join(BIT_TASKS)}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = int(round(samples * val_fraction))
    if samples - n_val < 1:
        raise ValueError(f"samples={samples} with val_fraction {val_fraction} leaves no training data")
    x, t = make_bits(task, samples, seed=seed, **params)
    return BitsData(x_train=x[n_val:], t_train=t[n_val:], x_val=x[:n_val], t_val=t[:n_val],
                    task=task, params=dict(params))
