"""Gradient flow: how large each parameter's gradient (and update) is, relative to its weights.

After ``loss.backward()``, :func:`grad_flow` lists every parameter with the L2 norms of its
weights and its gradient and their ratio; :func:`grad_flow_table` prints them and
:func:`tinygrad_attn.viz.plot_grad_flow` draws the gradient norms as bars on a log scale. Gradients that
shrink by orders of magnitude from the last layers to the first are *vanishing*; skip
(residual) connections are the classic cure, which the lesson
:func:`tinygrad_attn.checks.lessons.skip_connections.compare_skip_connections` demonstrates on a
deep :class:`~tinygrad_attn.layers.StackedLSTM`.

For the optimizer step itself, :func:`snapshot_params` + :func:`update_ratios` (or
:func:`record_update_ratios`, which wraps ``optimizer.update()``) give the ratio
``|update| / |weights|`` per parameter; a common rule of thumb is about 1e-3 per step
(much larger: the learning rate is too high; much smaller: too low or vanishing gradients).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..backend import get_array_module
from .report import format_number, format_table, host_float64, named_variables

__all__ = ["FlowRow", "UpdateRow", "grad_flow", "grad_flow_table", "group_norms",
           "snapshot_params", "update_ratios", "record_update_ratios", "update_ratio_table"]


@dataclass
class FlowRow:
    """Gradient flow of one parameter (or of a group of parameters).

    Attributes:
        name: qualified parameter name (``"layers.0.Wx"``) or group name (``"layers.0"``).
        shape: the parameter's shape; for a group, ``(number of elements,)``.
        weight_norm: L2 norm of the weights.
        grad_norm: L2 norm of the gradient (0 when the parameter got no gradient).
        ratio: ``grad_norm / weight_norm`` (NaN when the weights are all zero).
        has_grad: whether the parameter had a gradient at all.
    """

    name: str
    shape: tuple
    weight_norm: float
    grad_norm: float
    ratio: float
    has_grad: bool = True


@dataclass
class UpdateRow:
    """Size of one optimizer step for one parameter.

    Attributes:
        name: qualified parameter name.
        shape: the parameter's shape.
        weight_norm: L2 norm of the weights before the step.
        update_norm: L2 norm of (after - before).
        ratio: ``update_norm / weight_norm`` (NaN when the weights were all zero).
    """

    name: str
    shape: tuple
    weight_norm: float
    update_norm: float
    ratio: float


def _norm(a) -> float:
    xp = get_array_module(a)
    return float(xp.sqrt((a.astype(xp.float64) * a.astype(xp.float64)).sum()))


def _ratio(num, den):
    return num / den if den > 0 else float("nan")


def grad_flow(model_or_params):
    """Weight and gradient norms of every parameter, after ``backward()``.

    Args:
        model_or_params: a Layer (its ``named_params()``), a dict ``{name: Variable}`` or an
            iterable of Variables (named by their ``.name``).

    Returns:
        A list of :class:`FlowRow`, in parameter order.

    Raises:
        TypeError: for anything else.
    """
    rows = []
    for name, p in named_variables(model_or_params, "grad_flow"):
        w = _norm(p.data)
        has = p.grad is not None
        g = _norm(p.grad.data) if has else 0.0
        rows.append(FlowRow(name, tuple(p.shape), w, g, _ratio(g, w), has))
    return rows


def group_norms(rows, depth=2, key=None):
    """Combine rows into groups (e.g. one per layer): norms add in quadrature.

    Args:
        rows: :class:`FlowRow` list from :func:`grad_flow`.
        depth: group by the first ``depth`` dot-separated parts of the name
            (``"layers.0.Wx"`` -> ``"layers.0"`` for depth 2).
        key: alternatively a function ``name -> group name`` (overrides ``depth``).

    Returns:
        A list of :class:`FlowRow`, one per group in order of first appearance; ``shape`` is
        ``(total number of elements,)``.
    """
    if key is None:
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"group_norms: depth must be a positive integer, got {depth!r}")
        key = lambda n: ".".join(n.split(".")[:depth])  # noqa: E731
    groups = {}
    for r in rows:
        g = groups.setdefault(key(r.name), [0.0, 0.0, 0, False])
        g[0] += r.weight_norm ** 2
        g[1] += r.grad_norm ** 2
        g[2] += int(np.prod(r.shape)) if len(r.shape) else 1
        g[3] = g[3] or r.has_grad
    out = []
    for name, (w2, g2, n, has) in groups.items():
        w, g = math.sqrt(w2), math.sqrt(g2)
        out.append(FlowRow(name, (n,), w, g, _ratio(g, w), has))
    return out


def grad_flow_table(rows_or_model, title=None) -> str:
    """The gradient flow as a text table.

    Args:
        rows_or_model: :class:`FlowRow` list, or anything :func:`grad_flow` accepts.
        title: an optional first line.

    Returns:
        One line per parameter (name, shape, |W|, |grad|, |grad|/|W|), then the smallest and
        largest gradient norms and their ratio.
    """
    rows = rows_or_model
    if not (isinstance(rows, list) and all(isinstance(r, FlowRow) for r in rows)):
        rows = grad_flow(rows_or_model)
    body = [[r.name, str(r.shape), format_number(r.weight_norm),
             format_number(r.grad_norm) if r.has_grad else "no grad", format_number(r.ratio) if r.has_grad else "-"]
            for r in rows]
    lines = format_table(["parameter", "shape", "|W|", "|grad|", "|grad|/|W|"], body, title)
    norms = [r.grad_norm for r in rows if r.has_grad and r.grad_norm > 0]
    if norms:
        lo, hi = min(norms), max(norms)
        lines.append(f"grad norms span {lo:.2e} .. {hi:.2e} (largest/smallest = {hi / lo:.3g})")
    return "\n".join(lines)


def snapshot_params(model_or_params) -> dict:
    """Host copies of every parameter's data, to measure an update later.

    Args:
        model_or_params: as for :func:`grad_flow`.

    Returns:
        ``{name: numpy array}``.
    """
    return {name: np.array(host_float64(p.data), copy=True)
            for name, p in named_variables(model_or_params, "snapshot_params")}


def update_ratios(model_or_params, before_state):
    """How far each parameter moved since ``before_state``, relative to its size.

    Args:
        model_or_params: as for :func:`grad_flow` (names must match ``before_state``).
        before_state: the dict from :func:`snapshot_params` taken before the step.

    Returns:
        A list of :class:`UpdateRow`.

    Raises:
        KeyError: a parameter missing from ``before_state``.
        ValueError: a shape that changed.
    """
    rows = []
    for name, p in named_variables(model_or_params, "update_ratios"):
        if name not in before_state:
            raise KeyError(f"update_ratios: parameter {name!r} is not in before_state "
                           f"(has {sorted(before_state)[:8]})")
        before = before_state[name]
        now = host_float64(p.data)
        if before.shape != now.shape:
            raise ValueError(f"update_ratios: {name} was {before.shape}, is now {now.shape}")
        w = float(np.linalg.norm(before.astype(np.float64)))
        u = float(np.linalg.norm(now - before))
        rows.append(UpdateRow(name, tuple(now.shape), w, u, _ratio(u, w)))
    return rows


def record_update_ratios(model_or_params, optimizer):
    """Run ``optimizer.update()`` once and return the update/weight ratio of every parameter.

    Args:
        model_or_params: the parameters the optimizer updates (as for :func:`grad_flow`).
        optimizer: an :class:`~tinygrad_attn.optim.Optimizer` (gradients already computed).

    Returns:
        A list of :class:`UpdateRow`.
    """
    before = snapshot_params(model_or_params)
    optimizer.update()
    return update_ratios(model_or_params, before)


def update_ratio_table(rows, title=None) -> str:
    """The update ratios as a text table.

    Args:
        rows: :class:`UpdateRow` list.
        title: an optional first line.

    Returns:
        One line per parameter (name, shape, |W|, |update|, |update|/|W|) and the rule of thumb.
    """
    body = [[r.name, str(r.shape), format_number(r.weight_norm), format_number(r.update_norm), format_number(r.ratio)]
            for r in rows]
    lines = format_table(["parameter", "shape", "|W|", "|update|", "|update|/|W|"], body, title)
    lines.append("rule of thumb: |update|/|W| around 1e-3 per step; >> 1e-2: lr too high; "
                 "<< 1e-5: lr too low or gradients vanishing")
    return "\n".join(lines)
