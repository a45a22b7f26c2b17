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

from .task import (MAX_SEQ_WIDTH, DataSource, Task, TaskError, int_field, is_int,
                   register_data_source, register_task_kind)

__all__ = ["BitsTask", "BIT_TASKS", "BitsData", "make_copy", "make_repeat_copy", "make_bits",
           "load_bits_dataset", "bit_errors", "sequence_steps", "check_bits_size", "MAX_STEPS",
           "MAX_ELEMENTS"]

BIT_TASKS = ("copy", "repeat-copy")
"""Names of the binary-vector tasks (``--data`` values of ``tinygrad-attn train``)."""

MAX_STEPS = MAX_SEQ_WIDTH
"""Most time steps of one sequence (T = 2L + 1 for copy, L + 2 + L K for repeat copy): a model
runs them one after the other, so this bounds the time and memory of every forward pass. It
is :data:`~tinygrad_attn.data.task.MAX_SEQ_WIDTH`, the limit of every stored sequence."""
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
    """Train/validation split of a binary-vector task (the :class:`~tinygrad_attn.training.Trainer`
    reads the same attribute names as for :class:`~tinygrad_attn.data.Seq2seqData`).

    Attributes:
        x_train, t_train: float32 (N_train, T, input_width) and (N_train, T, output_width).
        x_val, t_val: the validation arrays (same T).
        name: ``"copy"`` or ``"repeat-copy"``.
        params: the generator's keyword arguments (``min_len``, ``max_len``, ``width``, ...),
            enough to generate test data of other lengths.
        task: the :class:`~tinygrad_attn.data.task.BitsTask` (name and params).
    """

    x_train: np.ndarray = field(repr=False)
    t_train: np.ndarray = field(repr=False)
    x_val: np.ndarray = field(repr=False)
    t_val: np.ndarray = field(repr=False)
    name: str
    params: dict

    def __post_init__(self):
        """Check shapes: 3-D arrays, matching rows and lengths."""
        for x, t, name in ((self.x_train, self.t_train, "train"), (self.x_val, self.t_val, "val")):
            if x.ndim != 3 or t.ndim != 3 or x.shape[:2] != t.shape[:2]:
                raise ValueError(f"BitsData: x_{name} {x.shape} and t_{name} {t.shape} must be "
                                 "(N, T, C) with the same N and T")

    @property
    def task(self):
        """The :class:`~tinygrad_attn.data.task.BitsTask` these examples come from."""
        return BitsTask(self.name, self.params)


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
                    name=task, params=dict(params))


@register_task_kind
class BitsTask(Task):
    """Sequences of binary vectors from a generator (copy, repeat copy), as the NTM learns.

    Args:
        name: ``"copy"`` or ``"repeat-copy"``.
        params: the generator's options (``min_len``, ``max_len``, ``width``, and
            ``max_repeats`` for repeat copy); enough to make test data of other lengths.
    """

    kind = "bits"
    title = "binary-vector task"
    model_kind = "bits"
    commands = frozenset({"train", "eval", "memory", "explore"})
    _FIELDS = {"copy": ("min_len", "max_len", "width"),
               "repeat-copy": ("min_len", "max_len", "width", "max_repeats")}
    _HIGH = {"min_len": 10_000, "max_len": 10_000, "width": 4096, "max_repeats": 1000}

    def __init__(self, name: str, params: dict):
        if name not in self._FIELDS:
            raise TaskError(f"BitsTask: unknown task {name!r}; known: {', '.join(self._FIELDS)}")
        self.name, self.params = name, dict(params)

    def model_fields(self) -> dict:
        """``input_width`` and ``output_width``: the channels of the generator's vectors."""
        x, t = self.generate(1, 1)
        return {"input_width": int(x.shape[2]), "output_width": int(t.shape[2])}

    def describe(self) -> dict:
        """Kind, generator name and its options."""
        return {"kind": self.kind, "task": self.name, **self.params}

    @classmethod
    def from_description(cls, d: dict, source: str = "task") -> "BitsTask":
        """Rebuild from :meth:`describe`'s dict; every option in range, the steps bounded."""
        name = d.get("task")
        if not isinstance(name, str) or name not in cls._FIELDS:
            raise TaskError(f"{source}: the bits task must be one of {', '.join(cls._FIELDS)}, "
                            f"got {name!r:.60}")
        params = {}
        for k in cls._FIELDS[name]:
            if k in d:
                params[k] = int_field(d, k, 1, cls._HIGH[k], source)
        unknown = sorted(set(d) - {"kind", "task", *cls._FIELDS[name]})
        if unknown:
            raise TaskError(f"{source}: the {name} task has no field(s) {', '.join(unknown)}")
        task = cls(name, params)
        if params.get("min_len", 1) > params.get("max_len", 10):
            raise TaskError(f"{source}: min_len {params['min_len']} is above max_len "
                            f"{params.get('max_len', 10)}")
        try:
            check_bits_size(source, name, 1, params.get("max_len", 10), params.get("width", 8),
                            params.get("max_repeats", 10))
        except ValueError as e:
            raise TaskError(str(e)) from None
        return task

    def widths(self) -> dict:
        """``{"steps": ...}``: the longest sequence of the trained lengths."""
        return {"steps": self.steps()}

    def steps(self, length: int | None = None, repeats: int | None = None) -> int:
        """Time steps of one sequence of ``length`` (default: the longest trained): the padded
        length the generator makes and the model runs (:func:`sequence_steps`)."""
        L = int(self.params.get("max_len", 10) if length is None else length)
        K = int(self.params.get("max_repeats", 10) if repeats is None else repeats)
        return sequence_steps(self.name, L, K)

    def check_size(self, n: int, length: int, who="") -> int:
        """Refuse ``n`` sequences of ``length`` beyond :func:`check_bits_size`'s bounds, before
        any work; returns the steps T."""
        return check_bits_size(who or self.name, self.name, n, length,
                               int(self.params.get("width", 8)),
                               int(self.params.get("max_repeats", 10)))

    def generate(self, n: int, length: int, seed=0, repeats: int | None = None):
        """``(x, t)``: ``n`` fresh examples of one ``length`` (for evaluation and pictures).

        Raises:
            ValueError: ``repeats`` for a task other than repeat copy, or sizes beyond
                :func:`check_bits_size` (before anything is allocated).
        """
        if repeats is not None and self.name != "repeat-copy":
            raise ValueError(f"repeats belong to the repeat-copy task, not {self.name}")
        most = int(self.params.get("max_repeats", 10))
        if repeats is not None and not (is_int(repeats) and 1 <= repeats <= most):
            raise ValueError(f"repeats must be an integer in [1, {most}] (the task's "
                             f"max_repeats: the model reads K / max_repeats), got {repeats!r}")
        params = {"width": int(self.params.get("width", 8)), "length": int(length)}
        if self.name == "repeat-copy":
            params["max_repeats"] = int(self.params.get("max_repeats", 10))
            if repeats is not None:
                params["repeats"] = int(repeats)
        return make_bits(self.name, n, seed=seed, **params)

    eval_options = ("lengths", "samples", "seed")

    def eval_sets(self, lengths=None, samples=256, seed=1):
        """``[(label, x, t)]``: ``samples`` fresh sequences of each length (default: the longest
        trained); the data of length L comes from seed ``[seed, L]``.

        Raises:
            ValueError: a length outside [1, 10000] or sequences longer than the bound.
        """
        if lengths is None:
            lengths = [int(self.params.get("max_len", 10))]
        for L in lengths:  # every length is checked before any data is made
            if not is_int(L) or not 1 <= L <= MAX_STEPS:
                raise ValueError(f"--lengths must be integers in [1, {MAX_STEPS}], got {L!r}")
            self.check_size(samples, int(L), f"--lengths {L}")
        out = []
        for L in lengths:
            x, t = self.generate(samples, int(L), seed=[seed, int(L)])
            out.append((f"length {L}", x, t))
        return out

    def heading(self, model_name: str, samples=256, **options) -> str:
        """``repeat-copy (ntm), 256 sequences per length``."""
        return f"{self.name} ({model_name}), {samples} sequences per length"

    def summary(self, label, figures, n) -> str:
        """One line for people: bit errors per sequence and the share of perfect sequences."""
        return (f"{label}: {figures['bit_errors']:.3f} bit errors per sequence, "
                f"{100 * figures['acc']:.1f}% sequences perfect")

    def decode(self, outputs) -> list:
        """0/1 arrays from the model's output probabilities (threshold 0.5)."""
        return [(np.asarray(o) > 0.5).astype(np.int8) for o in outputs]

    def score(self, model, x, t, batch_size: int = 512) -> dict:
        """The model's own figures, ``model.metrics(x, t)``: ``acc``, ``bit_errors``, ``loss``."""
        return dict(model.metrics(x, t))


def _load_bits(name, samples=10000, seed=0, min_length=1, max_length=10, bit_width=8,
               max_repeats=10):
    params = dict(min_len=min_length, max_len=max_length, width=bit_width)
    if name == "repeat-copy":
        params["max_repeats"] = max_repeats
    return load_bits_dataset(name, samples=samples, seed=seed, **params)


register_data_source(DataSource("copy", "bits", _load_bits,
                                ("min_length", "max_length", "bit_width"),
                                "copy a sequence of bit vectors"))
register_data_source(DataSource("repeat-copy", "bits", _load_bits,
                                ("min_length", "max_length", "bit_width", "max_repeats"),
                                "copy a sequence of bit vectors K times"))
