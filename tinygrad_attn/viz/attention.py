"""Attention heatmaps: which input characters each output character looked at.

A weight matrix of shape (T_out, T_in) (row i: the softmax weights the decoder used for
output character i over the T_in encoder positions) is drawn with the input text along
the x axis and the output text down the y axis, as in the chapter's date-format
example. :func:`attention_to_text` prints the same picture in a terminal.

Questions are padded to a fixed width, and the model's weights cover the padding
positions too. By default the weights must match the text exactly (crop them, e.g.
``w[:len(answer), :len(question)]``); with ``show_padding=True`` the columns after the text
are drawn as well, labelled ``PAD_LABEL`` in red behind a dashed line, so that attention
spent on the padding is visible instead of cropped away.

Figures are made and saved by :mod:`tinygrad_attn.viz.common` (no pyplot, format from
the file extension).
"""
from __future__ import annotations

import numpy as np

from ..backend import as_numpy
from .common import label_fonts, new_figure, save_figure

__all__ = ["plot_attention", "plot_attention_grid", "attention_to_text", "padding_share",
           "PAD_LABEL"]

PAD_LABEL = "\u00b7"
"""The column label of a padding position when ``show_padding=True`` (a middle dot)."""
_PAD_COLOR = "tab:red"

_VISIBLE = {" ": "\u2423", "\t": "\u21e5", "\n": "\u23ce", "": "\u2205"}


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


def _check(weights, input_text, output_text, fn, show_padding=False):
    """Host float64 weights (T_out, T_in), the two token lists and the number of padding
    columns (``show_padding``: the columns after the text), or a clear error."""
    if not isinstance(show_padding, bool):
        raise TypeError(f"{fn}: show_padding must be True or False, got {show_padding!r}")
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
    n_pad = 0
    if show_padding and a.shape[0] == len(outs) and a.shape[1] >= len(ins):
        n_pad = a.shape[1] - len(ins)
    elif a.shape != (len(outs), len(ins)):
        want = ("(len(output_text), at least len(input_text))" if show_padding
                else "(len(output_text), len(input_text))")
        hint = ("" if show_padding or a.shape[0] != len(outs) or a.shape[1] < len(ins) else
                f"; crop the padding columns (weights[:, :{len(ins)}]) or pass "
                "show_padding=True to draw them")
        raise ValueError(f"{fn}: weights of shape {a.shape} do not match {want} = "
                         f"({len(outs)}, {len(ins)}) for output {''.join(outs)!r} and input "
                         f"{''.join(ins)!r}{hint}")
    if a.size == 0:
        raise ValueError(f"{fn}: nothing to draw: weights have shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{fn}: weights contain NaN or Inf (shape {a.shape})")
    return a, ins, outs, n_pad


def padding_share(weights, input_len):
    """How much of each output row's attention falls on the padding columns.

    Args:
        weights: (T_out, T_in) or (N, T_out, T_in) weights, columns in written order (as
            ``Translator.translate(..., return_attention=True)`` returns them): the text
            first, then the padding.
        input_len: the length of the unpadded input (an int, or one int per example for a
            batch); columns ``input_len:`` are padding.

    Returns:
        float64 array (T_out,) or (N, T_out): the summed weight on the padding columns.

    Raises:
        ValueError: weights not 2-D or 3-D, or ``input_len`` outside 0..T_in.
    """
    a = np.asarray(as_numpy(weights), dtype=np.float64)
    if a.ndim not in (2, 3):
        raise ValueError(f"padding_share: weights must be (T_out, T_in) or (N, T_out, T_in), "
                         f"got shape {a.shape}")
    lens = np.broadcast_to(np.asarray(input_len), a.shape[:1] if a.ndim == 3 else ())
    if lens.dtype.kind not in "iu" or (lens < 0).any() or (lens > a.shape[-1]).any():
        raise ValueError(f"padding_share: input_len must be integers in 0..{a.shape[-1]} "
                         f"(the number of columns), got {input_len!r}")
    cols = np.arange(a.shape[-1])
    pad = cols >= (lens[..., None] if a.ndim == 3 else lens)   # (N, T_in) or (T_in,)
    if a.ndim == 3:
        return (a * pad[:, None, :]).sum(axis=-1)
    return (a * pad).sum(axis=-1)


def _check_labels(fn, axis_labels):
    if axis_labels is None:
        return ("input", "output")
    if (not isinstance(axis_labels, (tuple, list)) or len(axis_labels) != 2
            or not all(isinstance(t, str) for t in axis_labels)):
        raise ValueError(f"{fn}: axis_labels must be two strings (x label, y label), "
                         f"got {axis_labels!r}")
    return tuple(axis_labels)


def _draw(ax, a, ins, outs, title, cmap, n_pad=0, labels=("input", "output")):
    vmin = min(0.0, float(a.min()))
    vmax = max(1.0, float(a.max()))
    im = ax.imshow(a, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    size = 9 if max(len(ins), len(outs)) <= 30 else 6
    font = {"fontfamily": fam} if (fam := label_fonts([*ins, *outs])) else {}
    ax.set_xticks(range(len(ins) + n_pad))
    ax.set_xticklabels([_visible(t) for t in ins] + [PAD_LABEL] * n_pad, fontsize=size, **font)
    if n_pad:
        for label in ax.get_xticklabels()[len(ins):]:
            label.set_color(_PAD_COLOR)
        ax.axvline(len(ins) - 0.5, color=_PAD_COLOR, linestyle="--", linewidth=1.2)
        ax.text(len(ins) - 0.5 + n_pad / 2, -0.6, f"padding ({n_pad})", color=_PAD_COLOR,
                ha="center", va="bottom", fontsize=size)
    ax.set_yticks(range(len(outs)))
    ax.set_yticklabels([_visible(t) for t in outs], fontsize=size, **font)
    ax.set_xlabel(labels[0] + (f" (then {n_pad} padding positions)" if n_pad else ""))
    ax.set_ylabel(labels[1])
    if title:
        ax.set_title(title, **({"fontfamily": f} if (f := label_fonts([title])) else {}))
    ax.figure.colorbar(im, ax=ax)
    return im


def plot_attention(weights, input_text, output_text, path=None, *, ax=None, title=None, dpi=100,
                   figsize=None, cmap="gray", show_padding=False, axis_labels=None):
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
        show_padding: also draw the padding. ``weights`` may then have more columns than
            ``input_text`` has characters: the extra columns (after the text, the written
            order the Translator returns) are the padding positions, labelled
            :data:`PAD_LABEL` in red behind a dashed line. False (default): the shapes must
            match exactly.
        axis_labels: ``(x label, y label)``; default ``("input", "output")``. A map whose
            columns are not the input (a decoder's self-attention: the answer so far) says so.

    Returns:
        matplotlib.figure.Figure.

    Raises:
        ValueError: weights not 2-D, not (len(output_text), len(input_text)) (with
            ``show_padding``: fewer columns than characters), empty or not finite; bad
            ``dpi``/``figsize``.
        TypeError: non-numeric weights, non-text texts, a non-bool ``show_padding``.
        ImportError: matplotlib is missing.
    """
    fn = "plot_attention"
    a, ins, outs, n_pad = _check(weights, input_text, output_text, fn, show_padding)
    labels = _check_labels(fn, axis_labels)
    if ax is None:
        if figsize is None:
            figsize = (max(3.5, 0.32 * (len(ins) + n_pad) + 2.2),
                       max(2.5, 0.32 * len(outs) + 1.4))
        fig = new_figure(fn, figsize, dpi)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    _draw(ax, a, ins, outs, title, cmap, n_pad, labels)
    save_figure(fig, path, dpi)
    return fig


def plot_attention_grid(items, path=None, ncols=2, *, titles=None, dpi=100, figsize=None,
                        cmap="gray", show_padding=False, axis_labels=None):
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
        show_padding: draw padding columns, as in :func:`plot_attention`.
        axis_labels: ``(x label, y label)`` of every map, as in :func:`plot_attention`.

    Returns:
        matplotlib.figure.Figure with one Axes per item (plus their colorbars).

    Raises:
        ValueError: empty ``items``, an item that is not a 3-tuple, bad ``ncols`` or
            ``titles``, or an item failing :func:`plot_attention`'s checks (its index named).
        ImportError: matplotlib is missing.
    """
    fn = "plot_attention_grid"
    labels = _check_labels(fn, axis_labels)
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
        checked.append(_check(*item, f"{fn}: items[{i}]", show_padding))
    ncols = min(ncols, len(items))
    nrows = -(-len(items) // ncols)
    if figsize is None:
        t_in = max(len(c[1]) + c[3] for c in checked)
        t_out = max(len(c[2]) for c in checked)
        figsize = (ncols * max(3.5, 0.32 * t_in + 2.2), nrows * max(2.5, 0.32 * t_out + 1.4))
    fig = new_figure(fn, figsize, dpi)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, (a, ins, outs, n_pad) in enumerate(checked):
        _draw(axes[i], a, ins, outs, titles[i] if titles else None, cmap, n_pad, labels)
    for ax in axes[len(checked):]:
        ax.set_axis_off()
    fig.tight_layout()
    save_figure(fig, path, dpi)
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
    a, ins, outs, _ = _check(weights, input_text, output_text, fn)
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
