"""Attention heatmaps: which input characters each output character looked at.

A weight matrix of shape (T_out, T_in) (row i: the softmax weights the decoder used for
output character i over the T_in encoder positions) is drawn with the input text along
the x axis and the output text down the y axis, as in the chapter's date-format
example. :func:`attention_to_text` prints the same picture in a terminal.

Figures are made with ``matplotlib.figure.Figure`` directly, never through ``pyplot``:
no display, no global backend switch (a notebook's figures stay as they are), and
nothing kept alive in pyplot's figure list. Saving uses matplotlib's Agg/SVG/PDF
writers, picked from the file extension.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..backend import as_numpy

__all__ = ["plot_attention", "plot_attention_grid", "attention_to_text"]

_VISIBLE = {" ": "\u2423", "\t": "\u21e5", "\n": "\u23ce", "": "\u2205"}


def _new_figure(fn, figsize, dpi):
    """A pyplot-free matplotlib Figure; a clear error when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"{fn} needs matplotlib: pip install \"tinygrad-attn[viz]\"") from e
    if not (isinstance(dpi, (int, float)) and not isinstance(dpi, bool) and dpi > 0):
        raise ValueError(f"{fn}: dpi must be a positive number, got {dpi!r}")
    try:
        w, h = (float(v) for v in figsize)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: figsize must be (width, height) in inches, "
                         f"got {figsize!r}") from None
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        raise ValueError(f"{fn}: figsize must be two positive numbers, got {figsize!r}")
    return Figure(figsize=(w, h), dpi=dpi)


def _save(fig, path, dpi):
    if path is not None:
        path = os.fspath(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fig.savefig(path, dpi=dpi)


def _tokens(text, fn, what):
    if isinstance(text, str):
        return list(text)
    try:
        toks = [str(t) for t in text]
    except TypeError:
        raise TypeError(f"{fn}: {what} must be a string or a list of tokens, "
                        f"got {type(text).__name__}") from None
    return toks


def _visible(tok: str) -> str:
    if tok in _VISIBLE:
        return _VISIBLE[tok]
    return tok.replace(" ", _VISIBLE[" "]).replace("\n", _VISIBLE["\n"])


def _check(weights, input_text, output_text, fn):
    """Host float64 weights (T_out, T_in) and the two token lists, or a clear error."""
    ins = _tokens(input_text, fn, "input_text")
    outs = _tokens(output_text, fn, "output_text")
    a = np.asarray(as_numpy(weights))
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: weights must be numeric, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.ndim != 2:
        hint = ("; for a batch (N, T_out, T_in) pass one example, e.g. weights[0]"
                if a.ndim == 3 else "")
        raise ValueError(f"{fn}: weights must be 2-D (T_out, T_in), got shape {a.shape}{hint}")
    if a.shape != (len(outs), len(ins)):
        raise ValueError(f"{fn}: weights of shape {a.shape} do not match (len(output_text), "
                         f"len(input_text)) = ({len(outs)}, {len(ins)}) for output "
                         f"{''.join(outs)!r} and input {''.join(ins)!r}")
    if a.size == 0:
        raise ValueError(f"{fn}: nothing to draw: weights have shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{fn}: weights contain NaN or Inf (shape {a.shape})")
    return a, ins, outs


def _draw(ax, a, ins, outs, title, cmap):
    vmin = min(0.0, float(a.min()))
    vmax = max(1.0, float(a.max()))
    im = ax.imshow(a, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    size = 9 if max(len(ins), len(outs)) <= 30 else 6
    ax.set_xticks(range(len(ins)))
    ax.set_xticklabels([_visible(t) for t in ins], fontsize=size)
    ax.set_yticks(range(len(outs)))
    ax.set_yticklabels([_visible(t) for t in outs], fontsize=size)
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax)
    return im


def plot_attention(weights, input_text, output_text, path=None, *, ax=None, title=None, dpi=100,
                   figsize=None, cmap="gray"):
    """Draw one attention map: input characters across, output characters down.

    Args:
        weights: (T_out, T_in) array or Variable (any device; copied to the host). Row i
            holds the weights output character i gave to each input position.
        input_text: the T_in input characters (a string) or tokens (a list of strings).
            Spaces are shown as "␣".
        output_text: the T_out output characters or tokens.
        path: where to save the picture (format from the extension: .png, .svg, .pdf);
            None to only return the figure.
        ax: a matplotlib Axes to draw into (its figure is returned; ``figsize`` ignored).
        title: optional title.
        dpi: resolution of the figure and the saved file; a PNG is figsize*dpi pixels.
        figsize: (width, height) in inches; default grows with the text lengths.
        cmap: matplotlib colormap name (default "gray", as in the chapter).

    Returns:
        matplotlib.figure.Figure.

    Raises:
        ValueError: weights not 2-D, not (len(output_text), len(input_text)), empty or
            not finite; bad ``dpi``/``figsize``.
        TypeError: non-numeric weights or non-text texts.
        ImportError: matplotlib is missing.
    """
    fn = "plot_attention"
    a, ins, outs = _check(weights, input_text, output_text, fn)
    if ax is None:
        if figsize is None:
            figsize = (max(3.5, 0.32 * len(ins) + 2.2), max(2.5, 0.32 * len(outs) + 1.4))
        fig = _new_figure(fn, figsize, dpi)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    _draw(ax, a, ins, outs, title, cmap)
    _save(fig, path, dpi)
    return fig


def plot_attention_grid(items, path=None, ncols=2, *, titles=None, dpi=100, figsize=None,
                        cmap="gray"):
    """Draw several attention maps in one figure (a grid, ``ncols`` maps per row).

    Args:
        items: non-empty list of ``(weights, input_text, output_text)`` tuples, each as in
            :func:`plot_attention` (weights (T_out, T_in); sizes may differ per item).
        path: where to save the picture (.png, .svg, .pdf), or None.
        ncols: maps per row (>= 1); fewer when there are fewer items.
        titles: optional list of one title per item.
        dpi: resolution of the figure and the saved file.
        figsize: (width, height) in inches of the whole figure; default from the sizes.
        cmap: matplotlib colormap name.

    Returns:
        matplotlib.figure.Figure with one Axes per item (plus their colorbars).

    Raises:
        ValueError: empty ``items``, an item that is not a 3-tuple, bad ``ncols`` or
            ``titles``, or an item failing :func:`plot_attention`'s checks (its index named).
        ImportError: matplotlib is missing.
    """
    fn = "plot_attention_grid"
    items = list(items)
    if not items:
        raise ValueError(f"{fn}: items is empty; pass a list of (weights, input_text, output_text)")
    if not isinstance(ncols, int) or isinstance(ncols, bool) or ncols < 1:
        raise ValueError(f"{fn}: ncols must be an int >= 1, got {ncols!r}")
    if titles is not None:
        titles = list(titles)
        if len(titles) != len(items):
            raise ValueError(f"{fn}: got {len(titles)} titles for {len(items)} items")
    checked = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(f"{fn}: items[{i}] must be a (weights, input_text, output_text) "
                             f"tuple, got {type(item).__name__}")
        checked.append(_check(*item, f"{fn}: items[{i}]"))
    ncols = min(ncols, len(items))
    nrows = -(-len(items) // ncols)
    if figsize is None:
        t_in = max(len(c[1]) for c in checked)
        t_out = max(len(c[2]) for c in checked)
        figsize = (ncols * max(3.5, 0.32 * t_in + 2.2), nrows * max(2.5, 0.32 * t_out + 1.4))
    fig = _new_figure(fn, figsize, dpi)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, (a, ins, outs) in enumerate(checked):
        _draw(axes[i], a, ins, outs, titles[i] if titles else None, cmap)
    for ax in axes[len(checked):]:
        ax.set_axis_off()
    fig.tight_layout()
    _save(fig, path, dpi)
    return fig


def attention_to_text(weights, input_text, output_text, shades=" .:-=+*#%@") -> str:
    """Render an attention map as text for a terminal.

    One row per output character, one column per input character (tokens longer than
    one character widen every column). A cell shows ``shades[k]`` with
    ``k = round(w / max(weights) * (len(shades) - 1))``, so the largest weight is the
    last shade ("@") and 0 the first (" "). After each row, ``-> c [j] 0.93`` names the
    input token ``c`` at column ``j`` with the row's largest weight (the first one on ties).

    Args:
        weights: (T_out, T_in) array or Variable.
        input_text: the T_in input characters (string) or tokens (list of strings).
        output_text: the T_out output characters or tokens.
        shades: characters from lightest to heaviest (at least 2).

    Returns:
        The picture as one string (lines joined with newlines, no trailing newline):
        a header line with the input, T_out rows, and a legend line.

    Raises:
        ValueError: shape mismatch, empty or non-finite weights, fewer than 2 shades.
        TypeError: non-numeric weights or non-text texts.
    """
    fn = "attention_to_text"
    if not isinstance(shades, str) or len(shades) < 2:
        raise ValueError(f"{fn}: shades must be a string of at least 2 characters, got {shades!r}")
    a, ins, outs = _check(weights, input_text, output_text, fn)
    vin = [_visible(t) for t in ins]
    vout = [_visible(t) for t in outs]
    cw = max(len(t) for t in vin)
    rw = max(len(t) for t in vout)
    top = float(a.max())
    scale = top if top > 0 else 1.0
    n = len(shades) - 1
    lines = [" " * rw + " |" + "".join(t.center(cw) for t in vin) + "|"]
    for i, o in enumerate(vout):
        row = a[i]
        cells = "".join(shades[min(n, max(0, int(round(w / scale * n))))] * cw for w in row)
        j = int(np.argmax(row))
        lines.append(f"{o.rjust(rw)} |{cells}| -> {vin[j]} [{j}] {row[j]:.2f}")
    lines.append(f"shades {shades!r}: 0 .. {top:.3g}")
    return "\n".join(lines)
