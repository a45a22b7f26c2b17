"""Gradient flow as a picture: gradient norms per parameter, bars on a log scale.

The numbers come from :func:`tinygrad_attn.checks.gradflow.grad_flow` (rows with ``name``,
``grad_norm`` and ``has_grad``); this module only draws them.
"""
from __future__ import annotations

import numpy as np

from .common import new_figure, save_figure

__all__ = ["plot_grad_flow"]


def plot_grad_flow(rows, path=None, title=None, figsize=None, dpi=100):
    """Bar chart of gradient norms per parameter on a log scale.

    Args:
        rows: a :class:`~tinygrad_attn.checks.gradflow.FlowRow` list (from :func:`~tinygrad_attn.checks.gradflow.grad_flow`), or a dict ``{label: rows}`` to compare several runs
            (e.g. with and without skip connections) as grouped bars.
        path: where to save the figure (format from the extension); None: do not save.
        title: figure title.
        figsize: (width, height) in inches (default: grows with the number of parameters).
        dpi: resolution.

    Returns:
        The matplotlib ``Figure`` (pyplot-free, so nothing stays open).

    Raises:
        ImportError: matplotlib is missing (``pip install "tinygrad-attn[viz]"``).
        ValueError: no rows.
    """
    series = rows if isinstance(rows, dict) else {"": rows}
    if not series or not any(len(r) for r in series.values()):
        raise ValueError("plot_grad_flow: no rows to plot (run backward and grad_flow first)")
    names = []
    for rs in series.values():
        for r in rs:
            if r.name not in names:
                names.append(r.name)
    n, k = len(names), len(series)
    if figsize is None:
        figsize = (max(6.0, 0.35 * n * max(k, 1) + 2), 4.5)
    fig = new_figure("plot_grad_flow", figsize, dpi)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / k
    floor = None
    for j, (label, rs) in enumerate(series.items()):
        by = {r.name: r.grad_norm for r in rs if r.has_grad}
        vals = [by.get(nm, 0.0) for nm in names]
        pos = [v for v in vals if v > 0]
        if pos:
            floor = min(pos) if floor is None else min(floor, min(pos))
        xs = [i - 0.4 + width * (j + 0.5) for i in range(n)]
        ax.bar(xs, [v if v > 0 else np.nan for v in vals], width=width, label=label or None)
    ax.set_yscale("log")
    ax.set_xticks(range(n))
    ax.set_xticklabels(names, rotation=90 if n > 12 else 30, fontsize=7 if n > 12 else 8,
                       ha="center" if n > 12 else "right")
    ax.set_ylabel("gradient L2 norm (log scale)")
    if floor is not None:
        ax.set_ylim(bottom=floor / 3)
    if k > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title or "gradient flow")
    ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path, dpi)
    return fig

