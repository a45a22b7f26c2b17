"""Pictures of a Neural Turing Machine at work, and of bit-error learning curves.

* :func:`plot_memory` — for one example: the input, target and output bits over time side by
  side, and the write and read weightings over time as heatmaps (memory row down, time
  across). On the copy task a trained machine's write head walks down the rows while the
  input comes in, and its read head walks the same rows again while it answers.
* :func:`plot_bit_error_curves` — bit errors per sequence against training time (steps or
  seconds) for several runs, on a log scale.

Figures are pyplot-free (see :mod:`tinygrad_attn.viz.attention`).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..backend import as_numpy
from .common import new_figure, save_figure

__all__ = ["plot_memory", "plot_bit_error_curves", "used_rows"]


def _host2d(a, fn, name):
    a = np.asarray(as_numpy(a))
    if a.ndim != 2 or a.dtype.kind not in "biuf":
        hint = "; pass one example, e.g. weights[0]" if a.ndim == 3 else ""
        raise ValueError(f"{fn}: {name} must be a numeric 2-D array (T, ...), got "
                         f"{a.dtype} {a.shape}{hint}")
    return a.astype(np.float64)


def used_rows(*weights, threshold=0.05, margin=1):
    """The memory rows worth drawing: every row a weighting puts more than ``threshold`` on.

    The memory is circular (a head that walks past the last row comes back at row 0), so
    the rows come as one circular run that skips the longest stretch of unused rows.

    Args:
        *weights: (T, R) weightings.
        threshold: the weight a row needs to count as used.
        margin: rows added on both sides of the run.

    Returns:
        An int array of row numbers in drawing order, e.g. ``[126, 127, 0, 1, 2]``; all rows
        ``0 .. R-1`` when none passes the threshold or the run would cover them anyway.
    """
    R = weights[0].shape[1]
    hot = np.zeros(R, bool)
    for w in weights:
        hot |= (np.asarray(w) > threshold).any(axis=0)
    idx = np.flatnonzero(hot)
    if len(idx) == 0:
        return np.arange(R)
    gaps = np.diff(np.concatenate([idx, idx[:1] + R]))   # unused stretch after each used row
    k = int(np.argmax(gaps))
    start, n = int(idx[(k + 1) % len(idx)]), R - int(gaps[k]) + 1   # the run after the gap
    n += 2 * margin
    if n >= R:
        return np.arange(R)
    return (start - margin + np.arange(n)) % R


def plot_memory(write_weights, read_weights, inputs, targets, outputs, path=None, *, rows=None,
                title=None, dpi=100, figsize=(10.0, 6.0)):
    """Draw one example: input / target / output bits, then write and read weightings over time.

    Args:
        write_weights: (T, R) the write head's weighting at every step.
        read_weights: (T, R) the (first) read head's weighting at every step.
        inputs: (T, C_in) input bits. targets: (T, C_out) target bits, negative where
            nothing is expected (drawn blank). outputs: (T, C_out) output probabilities.
        path: where to save (.png, .svg, .pdf), or None.
        rows: the memory rows to draw, in order; default :func:`used_rows`.
        title: optional title over the figure.
        dpi, figsize: resolution and size in inches.

    Returns:
        matplotlib.figure.Figure with five Axes (input, target, output, write, read).

    Raises:
        ValueError: arrays that are not 2-D or whose lengths T differ.
        ImportError: matplotlib is missing.
    """
    fn = "plot_memory"
    ww = _host2d(write_weights, fn, "write_weights")
    rw = _host2d(read_weights, fn, "read_weights")
    x = _host2d(inputs, fn, "inputs")
    t = _host2d(targets, fn, "targets")
    y = _host2d(outputs, fn, "outputs")
    T = ww.shape[0]
    if any(a.shape[0] != T for a in (rw, x, t, y)) or rw.shape[1] != ww.shape[1] or t.shape != y.shape:
        raise ValueError(f"{fn}: shapes do not agree: write {ww.shape}, read {rw.shape}, inputs "
                         f"{x.shape}, targets {t.shape}, outputs {y.shape} (need the same T, "
                         "the same memory rows, and targets shaped like outputs)")
    rows = used_rows(ww, rw) if rows is None else np.asarray(rows, dtype=np.int64)
    n = len(rows)
    fig = new_figure(fn, figsize, dpi)
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.6])
    axes = [fig.add_subplot(grid[0, i]) for i in range(3)]
    axes += [fig.add_subplot(grid[1, :2]), fig.add_subplot(grid[1, 2])]
    t_masked = np.ma.masked_less(t, 0)
    y_masked = np.ma.masked_where(t < 0, y)
    extent_bits = lambda a: (-0.5, T - 0.5, a.shape[1] - 0.5, -0.5)  # noqa: E731
    for ax, a, name in ((axes[0], x, "input"), (axes[1], t_masked, "target"),
                        (axes[2], y_masked, "output")):
        ax.imshow(a.T, aspect="auto", cmap="Greys", vmin=0, vmax=1, extent=extent_bits(a),
                  interpolation="nearest")
        ax.set_title(name)
        ax.set_xlabel("time step")
        ax.set_ylabel("channel")
    both = np.concatenate([ww[:, rows], rw[:, rows]], axis=0)
    axes[3].imshow(both.T, aspect="auto", cmap="viridis", vmin=0, vmax=1,
                   extent=(-0.5, 2 * T - 0.5, n - 0.5, -0.5), interpolation="nearest")
    axes[3].axvline(T - 0.5, color="white", lw=1)
    axes[3].set_title("write weighting (left)  |  read weighting (right)")
    axes[3].set_xlabel("time step (write, then read)")
    axes[3].set_ylabel("memory row")
    axes[3].set_xticks([0, T // 2, T - 1, T, T + T // 2, 2 * T - 1])
    axes[3].set_xticklabels([0, T // 2, T - 1, 0, T // 2, T - 1])
    overlay = np.zeros((n, T, 3))
    overlay[..., 0] = ww[:, rows].T                # write in red
    overlay[..., 1] = rw[:, rows].T                # read in green: yellow where they agree
    axes[4].imshow(np.clip(overlay, 0, 1), aspect="auto", interpolation="nearest",
                   extent=(-0.5, T - 0.5, n - 0.5, -0.5))
    ticks = np.unique(np.linspace(0, n - 1, min(n, 8)).round().astype(int))
    for ax in axes[3:]:
        ax.set_yticks(ticks)
        ax.set_yticklabels([str(int(rows[i])) for i in ticks])
    axes[4].set_title("write (red) and read (green)")
    axes[4].set_xlabel("time step")
    axes[4].set_ylabel("memory row")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi)
    return fig


def plot_bit_error_curves(histories, path=None, *, x="steps", y="val_bit_errors", title=None,
                          dpi=100, figsize=(7.0, 4.0)):
    """Bit errors per sequence during training, one line per run, log scale.

    Args:
        histories: mapping run name -> list of dicts, each with the keys ``x`` and ``y``.
        x: the key on the horizontal axis (e.g. ``"steps"`` or ``"wall_s"``).
        y: the key on the vertical axis.
        path, title, dpi, figsize: as for the other pictures.

    Returns:
        matplotlib.figure.Figure with one Axes holding one line per run.

    Raises:
        TypeError: ``histories`` is not a mapping.
        ValueError: an empty run or a row without the keys.
    """
    fn = "plot_bit_error_curves"
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError(f"{fn}: histories must be a non-empty mapping name -> list of dicts")
    fig = new_figure(fn, figsize, dpi)
    ax = fig.subplots()
    for name, rows in histories.items():
        rows = list(rows)
        if not rows or any(x not in r or y not in r for r in rows):
            raise ValueError(f"{fn}: run {name!r} is empty or has rows without {x!r} and {y!r}")
        xs = [float(r[x]) for r in rows]
        ys = [max(float(r[y]), 1e-3) for r in rows]  # 0 errors drawn at the floor of the log axis
        ax.plot(xs, ys, label=name)
    ax.set_yscale("log")
    ax.set_xlabel({"steps": "training steps", "wall_s": "wall time (s)"}.get(x, x))
    ax.set_ylabel("bit errors per sequence" if y == "val_bit_errors" else y)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path, dpi)
    return fig
