"""The parts every diagnostic shares: text tables, parameter names, worst-element differences.

``gradcheck`` (analytic vs numeric gradients), ``gradflow`` (gradient norms per
parameter), the hand-derived lessons (hand formulas vs the engine) and the ``gradcheck``
command all print the same kind of report: a left-aligned text table, rows named after
parameters, and for a comparison of two arrays the element where they differ most.
They build it from these helpers, so every report reads alike.

* :func:`format_table`: columns padded to their widest cell, a dashed rule under the head.
* :func:`named_variables`: ``[(name, Variable)]`` from a Layer, a dict or a list.
* :func:`worst_element`, :func:`element_index`, :func:`array_diff`: which element differs
  most, where it is, and both values there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import as_numpy
from ..core import Variable

__all__ = ["format_table", "format_number", "named_variables", "host_float64", "worst_element",
           "element_index", "ArrayDiff", "array_diff"]


def format_table(head, rows, title=None) -> list:
    """Lines of a left-aligned text table.

    Args:
        head: the column headings, k strings.
        rows: a list of rows, each k strings.
        title: an optional first line.

    Returns:
        A list of strings: the title (when given), the heading, a dashed rule, one line per
        row; trailing blanks are stripped.

    Raises:
        ValueError: a row whose length differs from the heading's.
    """
    head = [str(h) for h in head]
    rows = [[str(c) for c in r] for r in rows]
    for r in rows:
        if len(r) != len(head):
            raise ValueError(f"format_table: a row has {len(r)} cells, the heading {len(head)}: "
                             f"{r}")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    lines = [title] if title else []
    lines += [fmt.format(*head).rstrip(), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*r).rstrip() for r in rows]
    return lines


def format_number(v, spec=".3e") -> str:
    """``format(v, spec)``, or ``"n/a"`` for NaN (an undefined ratio)."""
    return "n/a" if v != v else format(v, spec)


def named_variables(obj, who="named_variables") -> list:
    """Name the Variables a diagnostic looks at.

    Args:
        obj: a Layer (its ``named_params()``: ``"layers.0.Wx"``, ...), a dict
            ``{name: Variable}``, one Variable, or an iterable of Variables (named by their
            ``.name``, else ``"param <i>"``; a name used twice gets ``"#<i>"`` appended).
        who: the caller's name, for the error message.

    Returns:
        A list of ``(name, Variable)`` pairs in order.

    Raises:
        TypeError: ``obj`` is none of these, or holds something that is not a Variable.
    """
    if hasattr(obj, "named_params") and callable(obj.named_params):
        pairs = list(obj.named_params())
    elif isinstance(obj, dict):
        pairs = list(obj.items())
    elif isinstance(obj, Variable):
        pairs = [(obj.name or "param 0", obj)]
    else:
        try:
            items = list(obj)
        except TypeError:
            raise TypeError(f"{who}: expected a Layer, a dict of Variables or an iterable of "
                            f"Variables, got {type(obj).__name__}") from None
        pairs = [(getattr(p, "name", None) or f"param {i}", p) for i, p in enumerate(items)]
        counts = {}
        for n, _ in pairs:
            counts[n] = counts.get(n, 0) + 1
        pairs = [(f"{n}#{i}" if counts[n] > 1 else n, p) for i, (n, p) in enumerate(pairs)]
    for name, p in pairs:
        if not isinstance(p, Variable):
            raise TypeError(f"{who}: {name!r} is a {type(p).__name__}, not a Variable/Parameter")
    return pairs


def host_float64(x) -> np.ndarray:
    """A host float64 copy-or-view of an array or Variable on any device."""
    return np.asarray(as_numpy(x), dtype=np.float64)


def worst_element(score) -> int:
    """Flat position of the largest entry of ``score`` (NaN counts as +inf; 0 when empty)."""
    score = np.asarray(score).reshape(-1)
    if score.size == 0:
        return 0
    return int(np.argmax(np.where(np.isnan(score), np.inf, score)))


def element_index(flat, shape) -> tuple:
    """The index tuple (Python ints) of flat position ``flat`` in ``shape``; ``()`` for 0-d."""
    shape = tuple(shape)
    if not shape:
        return ()
    return tuple(int(j) for j in np.unravel_index(int(flat), shape))


@dataclass
class ArrayDiff:
    """Where two arrays of one shape differ most.

    Attributes:
        shape: the arrays' shape.
        max_abs_diff: ``max |a - b|`` over all elements (inf where either is NaN; 0 when empty).
        index: the element where it occurs.
        a: the first array's value there.
        b: the second array's value there.
    """

    shape: tuple
    max_abs_diff: float
    index: tuple
    a: float
    b: float


def array_diff(a, b, who="array_diff") -> ArrayDiff:
    """Compare two arrays (or Variables, any device) element by element.

    Args:
        a: an array of shape S.
        b: an array of the same shape S.
        who: the caller's name, for the error message.

    Returns:
        ArrayDiff: the largest absolute difference, its index and both values there.

    Raises:
        ValueError: the shapes differ.
    """
    a, b = host_float64(a), host_float64(b)
    if a.shape != b.shape:
        raise ValueError(f"{who}: shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return ArrayDiff(a.shape, 0.0, (), 0.0, 0.0)
    diff = np.abs(a - b)
    diff = np.where(np.isnan(diff), np.inf, diff)
    k = worst_element(diff)
    return ArrayDiff(a.shape, float(diff.max()), element_index(k, a.shape),
                     float(a.reshape(-1)[k]), float(b.reshape(-1)[k]))
