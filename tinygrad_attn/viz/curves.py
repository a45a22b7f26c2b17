"""Training curves: loss and validation accuracy per epoch, for one run or several.

A *history* is a list with one dict per epoch holding at least ``"epoch"`` and
``"loss"``, and optionally ``"val_acc"`` (a fraction in [0, 1]; missing or None for
epochs without an evaluation) and ``"loss_curve"`` (the mean loss over consecutive equal
parts of the epoch, as the Trainer records it: drawn as a thin line inside the epoch, so
a one-epoch run shows how its loss fell). Other keys are ignored. Epoch ticks are
integers when the epochs are. Figures are pyplot-free (see
:mod:`tinygrad_attn.viz.attention`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from .common import new_figure, save_figure

__all__ = ["plot_history", "plot_histories"]


def _number(v, fn, where, key):
    if isinstance(v, bool) or v is None:
        raise ValueError(f"{fn}: {where}[{key!r}] must be a number, got {v!r}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: {where}[{key!r}] must be a number, got {v!r}") from None


def _parse(history, fn, name="history"):
    """Return (epochs, losses, acc_epochs, accs, curve) from a history, or raise a clear error.

    ``curve`` is ``(xs, ys)``: every epoch's ``loss_curve`` placed evenly inside
    (epoch - 1, epoch], empty when no epoch has one.
    """
    if isinstance(history, (str, bytes, Mapping)) or not hasattr(history, "__iter__"):
        raise TypeError(f"{fn}: {name} must be a list of per-epoch dicts, got "
                        f"{type(history).__name__}")
    rows = list(history)
    if not rows:
        raise ValueError(f"{fn}: {name} is empty: nothing to plot")
    epochs, losses, acc_epochs, accs = [], [], [], []
    curve_x, curve_y = [], []
    for i, row in enumerate(rows):
        where = f"{name}[{i}]"
        if not isinstance(row, Mapping):
            raise TypeError(f"{fn}: {where} must be a dict with keys 'epoch', 'loss' and "
                            f"optionally 'val_acc', got {type(row).__name__}")
        missing = [k for k in ("epoch", "loss") if k not in row]
        if missing:
            raise ValueError(f"{fn}: {where} lacks the key(s) {missing} (has {sorted(row)})")
        epoch = _number(row["epoch"], fn, where, "epoch")
        epochs.append(epoch)
        losses.append(_number(row["loss"], fn, where, "loss"))
        acc = row.get("val_acc")
        if acc is not None:
            acc = _number(acc, fn, where, "val_acc")
            if not (0.0 <= acc <= 1.0) and not math.isnan(acc):
                raise ValueError(f"{fn}: {where}['val_acc'] = {acc} is outside [0, 1] (give a "
                                 "fraction, not a percentage)")
            acc_epochs.append(epoch)
            accs.append(acc)
        part_losses = row.get("loss_curve")
        if part_losses is not None:
            if isinstance(part_losses, (str, bytes, Mapping)) or not hasattr(part_losses, "__iter__"):
                raise TypeError(f"{fn}: {where}['loss_curve'] must be a list of numbers, got "
                                f"{type(part_losses).__name__}")
            part_losses = [_number(v, fn, f"{where}['loss_curve']", k)
                           for k, v in enumerate(part_losses)]
            k = len(part_losses)
            curve_x.extend(epoch - 1 + (j + 1) / k for j in range(k))
            curve_y.extend(part_losses)
    return epochs, losses, acc_epochs, accs, (curve_x, curve_y)


def _epoch_axis(ax, epochs, curve_x):
    """Integer epoch ticks when the epochs are integers; a readable range for one epoch."""
    from matplotlib.ticker import MaxNLocator  # lazy: matplotlib is the optional viz extra

    if all(float(e).is_integer() for e in epochs):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    lo, hi = min(epochs), max(epochs)
    if curve_x:  # the first epoch's curve starts just after epoch - 1
        lo = min(lo - 1, min(curve_x))
    elif hi - lo < 1:  # one epoch and no curve: not a dot on a 0.96..1.04 axis
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.04 * (hi - lo)
    ax.set_xlim(lo - pad, hi + pad)


def _style_axes(ax_loss, ax_acc):
    from matplotlib.ticker import PercentFormatter  # lazy: optional viz extra

    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("training loss")
    ax_loss.grid(alpha=0.3)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_title("validation accuracy")
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax_acc.grid(alpha=0.3)


def _marker(n):
    return "o" if n <= 30 else None


def plot_history(history, path=None, *, title=None, dpi=100, figsize=(9.0, 3.5)):
    """Plot one run: loss per epoch (left) and validation accuracy per epoch (right).

    Args:
        history: list of per-epoch dicts with ``"epoch"`` and ``"loss"`` (numbers) and
            optionally ``"val_acc"`` (a fraction in [0, 1], or None/missing when not
            evaluated that epoch) and ``"loss_curve"`` (losses over equal parts of the epoch).
        path: where to save the picture (.png, .svg, .pdf), or None.
        title: optional title over both panels.
        dpi: resolution of the figure and of the saved file.
        figsize: (width, height) in inches.

    Returns:
        matplotlib.figure.Figure with two Axes: ``fig.axes[0]`` holds the per-epoch loss line
        (first) and, when any epoch has a ``loss_curve``, a thin line through those values
        placed inside each epoch; ``fig.axes[1]`` one accuracy line (none, and a note, when
        no epoch has val_acc).

    Raises:
        TypeError: ``history`` is not a list of dicts.
        ValueError: empty history, a missing key, a non-number, or val_acc outside [0, 1].
        ImportError: matplotlib is missing.
    """
    fn = "plot_history"
    epochs, losses, acc_epochs, accs, (curve_x, curve_y) = _parse(history, fn)
    fig = new_figure(fn, figsize, dpi)
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, losses, marker=_marker(len(epochs)), color="C0", label="epoch mean")
    if curve_x:
        ax_loss.plot(curve_x, curve_y, color="C0", alpha=0.45, linewidth=1.0,
                     label="during the epoch")
        ax_loss.legend(fontsize=8)
    if accs:
        ax_acc.plot(acc_epochs, accs, marker=_marker(len(accs)), color="C1")
    else:
        ax_acc.text(0.5, 0.5, "no validation accuracy recorded", ha="center", va="center",
                    transform=ax_acc.transAxes, color="gray")
    _style_axes(ax_loss, ax_acc)
    for ax in (ax_loss, ax_acc):
        _epoch_axis(ax, epochs, curve_x)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi)
    return fig


def plot_histories(histories, path=None, *, title=None, dpi=100, figsize=(10.0, 3.8)):
    """Compare runs: one line per run in a loss panel and in a validation-accuracy panel.

    Args:
        histories: mapping from run name (the legend label) to a history as in
            :func:`plot_history`, e.g. ``{"attention": h1, "baseline": h2}``.
        path: where to save the picture (.png, .svg, .pdf), or None.
        title: optional title over both panels.
        dpi: resolution of the figure and of the saved file.
        figsize: (width, height) in inches.

    Returns:
        matplotlib.figure.Figure with two Axes: ``fig.axes[0]`` has one loss line per run,
        ``fig.axes[1]`` one accuracy line per run that recorded any ``val_acc``. A run
        keeps its colour in both panels.

    Raises:
        TypeError: ``histories`` is not a mapping, or a history is malformed.
        ValueError: no runs, or a history failing :func:`plot_history`'s checks (the run
            is named).
        ImportError: matplotlib is missing.
    """
    fn = "plot_histories"
    if not isinstance(histories, Mapping):
        raise TypeError(f"{fn}: expected a dict {{run name: history}}, got "
                        f"{type(histories).__name__}")
    if not histories:
        raise ValueError(f"{fn}: no runs to plot (empty dict)")
    parsed = {str(k): _parse(h, fn, f"histories[{k!r}]") for k, h in histories.items()}
    fig = new_figure(fn, figsize, dpi)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for i, (name, (epochs, losses, acc_epochs, accs, _)) in enumerate(parsed.items()):
        color = f"C{i % 10}"
        ax_loss.plot(epochs, losses, marker=_marker(len(epochs)), color=color, label=name)
        if accs:
            ax_acc.plot(acc_epochs, accs, marker=_marker(len(accs)), color=color, label=name)
    _style_axes(ax_loss, ax_acc)
    all_epochs = [e for p in parsed.values() for e in p[0]]
    for ax in (ax_loss, ax_acc):
        _epoch_axis(ax, all_epochs, [])
    ax_loss.legend(fontsize=8)
    if ax_acc.get_lines():
        ax_acc.legend(fontsize=8)
    else:
        ax_acc.text(0.5, 0.5, "no validation accuracy recorded", ha="center", va="center",
                    transform=ax_acc.transAxes, color="gray")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi)
    return fig
