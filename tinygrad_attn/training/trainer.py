"""The Trainer: mini-batch training of any registered model on any task's data.

* :class:`Trainer` — mini-batch training with a tqdm progress bar (loss, steps/s), gradient
  clipping, per-epoch validation scored by the data's task, a history, seeded shuffling, a
  clear stop on NaN/Inf loss, and a checkpoint (model, task, history) on every epoch and on
  Ctrl-C.
"""
from __future__ import annotations

import inspect
import math
import os
import sys
import time

import numpy as np

from .. import validate as V
from ..backend import as_device, as_numpy
from ..optim import Adam, clip_grads
from .checkpoint import save_checkpoint
from .evaluation import check_int
from .threads import check_threads, limit_threads

__all__ = ["Trainer", "TrainingDiverged", "KEEP"]

KEEP = ("last", "best")
"""Which epoch a :class:`Trainer`'s checkpoint holds (its ``keep`` argument)."""

_CURVE_PARTS = 20  # an epoch's loss_curve: the mean loss over (up to) this many parts


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or Inf; training stopped."""


class Trainer:
    """Mini-batch training of a registered model on a task's data.

    Args:
        model: the model (on any device; batches are moved to it here).
        data: train and validation arrays with their task: a
            :class:`~tinygrad_attn.data.TaskData` (or :class:`~tinygrad_attn.data.Seq2seqData`,
            :class:`~tinygrad_attn.data.BitsData`): ``task``, ``x_train``, ``t_train``,
            ``x_val``, ``t_val``.
        optimizer: defaults to ``Adam(model, lr)``.
        batch_size: examples per step.
        max_grad: global-norm clipping threshold (None = no clipping).
        lr: learning rate of the default optimizer.
        seed: seeds the shuffling (same seed, same order).
        val_samples: validate on at most this many examples (None = all).
        checkpoint: path written after every epoch and on Ctrl-C (None = no file).
        progress: show a tqdm bar (falls back to a plain line when tqdm is missing).
        threads: BLAS threads during :meth:`fit` (a positive integer; see
            :mod:`tinygrad_attn.training.threads`). None (the default) changes nothing: the
            libraries' default, one thread per core unless ``OPENBLAS_NUM_THREADS`` /
            ``OMP_NUM_THREADS`` say otherwise. On a machine that other jobs keep busy, 1 is
            steadier and often faster; on an idle one, one per core is faster.
        schedule: a :class:`~tinygrad_attn.optim.Schedule` setting the optimizer's learning
            rate before every update (step 1, 2, ...), or None (the rate stays).
        label_smoothing: passed to the model's loss, ``model(x, t, label_smoothing=e)``
            (0 = plain cross entropy; models whose ``forward`` lacks the argument refuse e > 0).
        keep: which epoch ``checkpoint`` holds: ``"last"`` (the default: written after every
            epoch) or ``"best"`` (the epoch with the best validation so far: highest
            ``val_acc``, ties going to fewer ``val_bit_errors``, then to the earlier epoch;
            the last epoch is also written, beside it as ``<name>-last<ext>``, e.g.
            ``model-last.npz``). With ``"best"`` every history entry records ``kept_epoch``,
            the epoch the checkpoint holds after it (the checkpoint's own history ends at that
            epoch), and :meth:`restore_best` puts those weights back into the model.
    """

    def __init__(self, model, data, optimizer=None, batch_size=128, max_grad=5.0, lr=0.001,
                 seed=0, val_samples=None, checkpoint=None, progress=True, threads=None,
                 schedule=None, label_smoothing=0.0, keep="last"):
        if keep not in KEEP:
            raise ValueError(f"Trainer: keep must be one of {KEEP}, got {keep!r}")
        self.keep = keep
        self.best_epoch = None
        self._best = None        # (key, host copy of the weights) of the best epoch so far
        check_int("Trainer", "batch_size", batch_size, 1)
        if val_samples is not None:
            check_int("Trainer", "val_samples", val_samples, 1)
        if max_grad is not None:  # 0 = no clipping; else what clip_grads takes
            try:
                max_grad = V.Range.real(0.0).check(max_grad, "max_grad (None or 0 = no clipping)",
                                                   "Trainer")
            except TypeError as e:
                raise ValueError(str(e)) from None
        if optimizer is None:  # the rule of the optimizer it makes (and of train --lr)
            try:
                lr = V.LEARNING_RATE.check(lr, "lr", "Trainer")
            except TypeError as e:
                raise ValueError(str(e)) from None
        self.threads = check_threads(threads, "Trainer: threads")
        if schedule is not None and not callable(getattr(schedule, "apply", None)):
            raise TypeError(f"Trainer: schedule must be a tinygrad_attn.optim.Schedule or None, "
                            f"got {type(schedule).__name__}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"Trainer: label_smoothing must be in [0, 1), got {label_smoothing}")
        if label_smoothing and "label_smoothing" not in inspect.signature(model.forward).parameters:
            raise ValueError(f"Trainer: {type(model).__name__} does not support label smoothing "
                             "(its forward has no label_smoothing argument)")
        self.schedule, self.label_smoothing = schedule, float(label_smoothing)
        self.step = 0
        self.model, self.data = model, data
        self.optimizer = optimizer if optimizer is not None else Adam(model, lr=lr)
        if self.optimizer.target is None and self.optimizer._params is None:  # not set up yet
            self.optimizer.setup(model)
        self.batch_size, self.max_grad = batch_size, max_grad
        self.rng = np.random.default_rng(seed)
        self.val_samples = val_samples
        self.checkpoint = checkpoint
        self.progress = progress
        self.history = []

    @property
    def last_checkpoint(self):
        """Where the last epoch is written with ``keep="best"`` (``model.npz`` ->
        ``model-last.npz``); None without a checkpoint or with ``keep="last"``."""
        if self.checkpoint is None or self.keep != "best":
            return None
        root, ext = os.path.splitext(os.fspath(self.checkpoint))
        return f"{root}-last{ext or '.npz'}"

    def restore_best(self):
        """Put the weights of the best epoch so far back into the model (``keep="best"``).

        Returns:
            The epoch restored, or None when there is none yet (or ``keep="last"``).
        """
        if self._best is None:
            return None
        dev = self.model.device
        self.model.load_state_dict({k: v if dev == "cpu" else as_device(v, dev)
                                    for k, v in self._best[1].items()}, "the best epoch's weights")
        return self.best_epoch

    def _keep_best(self, entry):
        """Remember the epoch of ``entry`` if it is the best so far; True if it is."""
        acc = entry.get("val_acc")
        bits = entry.get("val_bit_errors")
        key = (-math.inf if acc is None else acc, -math.inf if bits is None else -bits)
        if self._best is not None and not key > self._best[0]:
            return False
        state = {k: np.array(as_numpy(v), copy=True) for k, v in self.model.state_dict().items()}
        self._best = (key, state)
        self.best_epoch = entry["epoch"]
        return True

    def save(self, path=None):
        """Write a checkpoint (model, vocabulary, widths, history) to ``path`` or ``self.checkpoint``."""
        path = path or self.checkpoint
        if path is None:
            return None
        save_checkpoint(path, self.model, self.data.task, history=self.history)
        return path

    def _bar(self, total, desc):
        if not self.progress:
            return None
        try:
            from tqdm.auto import tqdm  # optional (viz extra): a plain line without it
        except ImportError:
            return None
        return tqdm(total=total, desc=desc, unit="step", leave=True, dynamic_ncols=True,
                    file=sys.stderr)

    def train_step(self, x, t):
        """One step on a batch (host arrays): forward, backward, clip, update. Returns the loss."""
        dev = self.model.device
        if dev != "cpu":
            x, t = as_device(x, dev), as_device(t, dev)
        self.step += 1
        if self.schedule is not None:
            self.schedule.apply(self.optimizer, self.step)
        loss = (self.model(x, t, label_smoothing=self.label_smoothing) if self.label_smoothing
                else self.model(x, t))
        self.model.cleargrads()
        loss.backward()
        if self.max_grad:
            clip_grads(self.model.params(), self.max_grad)
        self.optimizer.update()
        return float(loss.data)

    def validate(self):
        """Validation figures on (up to ``val_samples`` of) the validation set.

        The data's task scores them (``task.score``): exact match of greedy decoding for
        text (``{"acc": ...}``), the model's bit errors for bits (``acc``, ``bit_errors``, ...).
        """
        d = self.data
        n = len(d.x_val) if self.val_samples is None else min(self.val_samples, len(d.x_val))
        return self.data.task.score(self.model, d.x_val[:n], d.t_val[:n])

    def fit(self, epochs, callback=None):
        """Train for ``epochs`` epochs; returns the history (one dict per epoch).

        Each history entry holds ``epoch``, ``loss`` (mean training loss), ``loss_curve`` (the
        mean training loss over each of up to 20 consecutive, equal parts of the epoch, so one
        epoch still draws a curve), ``val_acc``, ``train_time`` and ``time`` (seconds,
        including validation), plus ``val_<name>`` for every other figure of the model's
        ``metrics`` (e.g. ``val_bit_errors``). Training and validation run under the
        ``threads`` limit given to the constructor.

        Raises:
            TrainingDiverged: the loss became NaN or Inf (the message says where and what to try).
            KeyboardInterrupt: after writing the checkpoint, when one is configured.
        """
        with limit_threads(self.threads):
            return self._fit(epochs, callback)

    def _fit(self, epochs, callback):
        d = self.data
        n = len(d.x_train)
        steps = max(1, math.ceil(n / self.batch_size))
        try:
            for _ in range(epochs):
                epoch = len(self.history) + 1
                t0 = time.perf_counter()
                order = self.rng.permutation(n)
                bar = self._bar(steps, f"epoch {epoch}")
                total = 0.0
                parts = min(_CURVE_PARTS, steps)
                part_sums = [0.0] * parts
                part_counts = [0] * parts
                for s in range(steps):
                    idx = order[s * self.batch_size:(s + 1) * self.batch_size]
                    loss = self.train_step(d.x_train[idx], d.t_train[idx])
                    if not math.isfinite(loss):
                        if bar is not None:
                            bar.close()
                        raise TrainingDiverged(
                            f"loss became {loss} at epoch {epoch}, step {s + 1}: training stopped. "
                            "Try a smaller learning rate, gradient clipping (max_grad), or float64.")
                    total += loss
                    part = s * parts // steps
                    part_sums[part] += loss
                    part_counts[part] += 1
                    if bar is not None:
                        bar.update(1)
                        if s % 10 == 0 or s == steps - 1:
                            bar.set_postfix(loss=f"{total / (s + 1):.4f}")
                train_time = time.perf_counter() - t0
                val = self.validate() if len(d.x_val) else {}
                acc = val.get("acc")
                entry = {"epoch": epoch, "loss": total / steps,
                         "loss_curve": [t / c for t, c in zip(part_sums, part_counts)],
                         "val_acc": acc,
                         **{f"val_{k}": v for k, v in val.items() if k != "acc"},
                         "train_time": train_time, "time": time.perf_counter() - t0,
                         "lr": float(self.optimizer.lr)}
                better = self.keep == "best" and self._keep_best(entry)
                if self.keep == "best":
                    entry["kept_epoch"] = self.best_epoch
                self.history.append(entry)
                if bar is not None:
                    bar.set_postfix(loss=f"{entry['loss']:.4f}",
                                    val_acc="-" if acc is None else f"{acc * 100:.2f}%")
                    bar.close()
                elif self.progress:
                    print(f"epoch {epoch}: loss {entry['loss']:.4f} val_acc "
                          f"{'-' if acc is None else f'{acc * 100:.2f}%'} ({entry['time']:.1f} s)",
                          file=sys.stderr)
                if self.keep == "best":
                    self.save(self.last_checkpoint)
                    if better:                    # its history: the epochs up to it
                        self.save()
                else:
                    self.save()
                if callback is not None:
                    callback(self, entry)
        except KeyboardInterrupt:
            if self.checkpoint is not None:
                path = self.last_checkpoint or self.checkpoint
                self.save(path)
                print(f"\ninterrupted: checkpoint saved to {path}", file=sys.stderr)
            raise
        return self.history
