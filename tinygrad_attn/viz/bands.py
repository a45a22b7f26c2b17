"""Curves with bands: one line per group (its mean) and a shaded band (its spread).

Used for learning curves over several seeds (:mod:`tinygrad_attn.sweep` draws the mean
across seeds with the 95 % interval as the band), but it draws any such data: every panel
maps a label to ``{"x": [...], "mean": [...], "low": [...], "high": [...]}`` (``low`` and
``high`` may be None, or contain None where there is no spread, e.g. a single seed).
Figures are pyplot-free (see :mod:`tinygrad_attn.viz.common`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from .common import new_figure, save_figure

__all__ = ["plot_bands"]


def _series(fn, panel, label, s):
    if not isinstance(s, Mapping) or "x" not in s or "mean" not in s:
        raise TypeError(f"{fn}: panels[{panel!r}][{label!r}] must be a dict with 'x' and 'mean' "
                        f"(and optionally 'low', 'high'), got {type(s).__name__}")
    x, mean = list(s["x"]), list(s["mean"])
    low = s.get("low")
    high = s.get("high")
    low = [None] * len(x) if low is None else list(low)
    high = [None] * len(x) if high is None else list(high)
    if not x or not (len(x) == len(mean) == len(low) == len(high)):
        raise ValueError(f"{fn}: panels[{panel!r}][{label!r}]: x, mean, low and high must be "
                         f"non-empty and of one length, got {len(x)}, {len(mean)}, {len(low)}, "
                         f"{len(high)}")
    for name, vals in (("x", x), ("mean", mean)):
        for v in vals:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{fn}: panels[{panel!r}][{label!r}]['{name}'] holds {v!r}; "
                                 "finite numbers only")
    return x, mean, low, high


def plot_bands(panels, path=None, *, title=None, dpi=100, figsize=None, ylabels=None):
    """Draw one panel per entry of ``panels``, each with a mean line and a band per label.

    Args:
        panels: ``{panel title: {label: {"x", "mean", "low", "high"}}}``; a label keeps its
            colour in every panel.
        path: where to save the picture (.png, .svg, .pdf), or None.
        title: optional title over all panels.
        dpi: resolution.
        figsize: (width, height) in inches; default 4.2 inches per panel by 3.6.
        ylabels: optional ``{panel title: y-axis label}``.

    Returns:
        matplotlib.figure.Figure with one Axes per panel (``fig.axes``, in order), each with
        one line per label and one shaded band per label that has any spread (an error bar
        instead where a label has a single point, e.g. a one-epoch run).

    Raises:
        TypeError, ValueError: malformed panels (the panel and label are named).
        ImportError: matplotlib is missing.
    """
    fn = "plot_bands"
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError(f"{fn}: panels must be a non-empty dict {{title: {{label: series}}}}")
    parsed = {}
    labels = []
    for p, series in panels.items():
        if not isinstance(series, Mapping) or not series:
            raise ValueError(f"{fn}: panels[{p!r}] must be a non-empty dict {{label: series}}")
        parsed[p] = {str(k): _series(fn, p, k, s) for k, s in series.items()}
        for k in parsed[p]:
            if k not in labels:
                labels.append(k)
    n = len(parsed)
    fig = new_figure(fn, figsize or (4.2 * n + 0.6, 3.6), dpi)
    from matplotlib.ticker import MaxNLocator
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (p, series) in zip(axes, parsed.items()):
        singles = [k for k, s in series.items() if len(set(s[0])) == 1]
        for label, (x, mean, low, high) in series.items():
            color = f"C{labels.index(label) % 10}"
            if label in singles:  # side by side, so that the error bars do not hide each other
                shift = (singles.index(label) - (len(singles) - 1) / 2) * 0.3 / max(1, len(singles))
                x = [v + shift for v in x]
            ax.plot(x, mean, color=color, label=label, marker="o" if len(x) <= 12 else None,
                    markersize=3)
            pts = [(xi, lo, hi) for xi, lo, hi in zip(x, low, high)
                   if lo is not None and hi is not None]
            if len(pts) == 1 or (pts and len(set(x)) == 1):   # one point: an error bar
                xi, lo, hi = pts[0]
                m = mean[x.index(xi)]
                ax.errorbar([xi], [m], yerr=[[max(0.0, m - lo)], [max(0.0, hi - m)]],
                            color=color, capsize=4, linewidth=1.2)
            elif pts:
                ax.fill_between([t[0] for t in pts], [t[1] for t in pts], [t[2] for t in pts],
                                color=color, alpha=0.2, linewidth=0)
        ax.set_title(str(p), fontsize=10)
        ax.set_xlabel("epoch")
        xs = sorted({v for s in series.values() for v in s[0]})
        if len(xs) <= 12 and all(float(v).is_integer() for v in xs):
            ax.set_xticks(xs)                     # a few whole epochs: one tick each
            if len(xs) == 1:
                ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ylabels and p in ylabels:
            ax.set_ylabel(ylabels[p])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi)
    return fig
