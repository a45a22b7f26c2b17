"""What every picture shares: a matplotlib Figure made without pyplot, and saving it.

Figures are ``matplotlib.figure.Figure`` objects made directly, never through ``pyplot``:
no display, no global backend switch (a notebook's figures stay as they are), and nothing
kept alive in pyplot's figure list. Saving picks matplotlib's Agg/SVG/PDF writer from the
file extension. matplotlib is imported only when a figure is made.
"""
from __future__ import annotations

import math
import os
import warnings

from ..files import atomic_write

__all__ = ["new_figure", "save_figure", "label_fonts", "CJK_FONTS"]

CJK_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic",
             "Apple SD Gothic Neo", "AppleGothic", "UnDotum", "Baekmuk Gulim",
             "Noto Sans CJK JP", "Droid Sans Fallback")
"""Fonts with Hangul (and other CJK characters), tried in this order after DejaVu Sans."""

_found_cjk = None
_warned = False


def label_fonts(texts):
    """The font family list for labels showing ``texts``: None when DejaVu Sans covers them.

    Labels with Hangul (or other CJK characters, e.g. Korean dates such as ``2021년 5월 4일``)
    get DejaVu Sans followed by the installed fonts of :data:`CJK_FONTS`, so matplotlib
    draws each character with the first font that has it. Without such a font it warns once
    (the characters would show as boxes) and names a package to install.
    """
    global _found_cjk, _warned
    if not any(ord(c) >= 0x1100 for t in texts for c in str(t)):
        return None
    if _found_cjk is None:
        from matplotlib import font_manager

        names = {f.name for f in font_manager.fontManager.ttflist}
        _found_cjk = [n for n in CJK_FONTS if n in names]
    if not _found_cjk and not _warned:
        _warned = True
        warnings.warn("no installed font has Hangul/CJK characters, so they show as boxes; "
                      "install one (e.g. `apt install fonts-nanum` or fonts-noto-cjk) and clear "
                      "matplotlib's font cache", stacklevel=3)
    return ["DejaVu Sans", *_found_cjk]


def new_figure(fn, figsize, dpi):
    """A pyplot-free matplotlib Figure, with clear errors for bad sizes or missing matplotlib.

    Args:
        fn: the calling function's name, for the error messages.
        figsize: ``(width, height)`` in inches, two positive numbers.
        dpi: dots per inch, a positive number.

    Returns:
        A new ``matplotlib.figure.Figure``.

    Raises:
        ImportError: matplotlib is not installed (names ``pip install "tinygrad-attn[viz]"``).
        ValueError: a bad ``figsize`` or ``dpi``.
    """
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


def save_figure(fig, path, dpi):
    """Write ``fig`` to ``path`` (format from the extension), making missing folders.

    The picture is written atomically (:func:`tinygrad_attn.files.atomic_write`): an
    interruption leaves the previous picture, and a symbolic link at ``path`` is replaced,
    never followed.

    Args:
        fig: a matplotlib Figure.
        path: a file path (str or path-like), or None to save nothing.
        dpi: dots per inch of raster formats.
    """
    if path is not None:
        path = os.fspath(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        fmt = os.path.splitext(path)[1][1:].lower() or None
        with atomic_write(path, "wb") as f:  # an interrupted save leaves the old picture
            fig.savefig(f, dpi=dpi, format=fmt)
