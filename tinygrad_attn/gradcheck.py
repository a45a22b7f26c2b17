"""Numerical gradient checking: compare autograd with central differences.

``gradcheck(fn, *inputs)`` evaluates ``fn`` (a function of Variables returning a
Variable of any shape), projects its output onto a fixed random direction ``R`` to
get a scalar ``L = sum(fn(*x) * R)``, and compares ``dL/dx`` from ``backward()``
with the central difference ``(L(x + eps) - L(x - eps)) / (2 eps)`` for every
element of every input (and of every extra Variable in ``params``).

An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
The returned :class:`GradcheckResult` has one :class:`GradcheckEntry` per checked
Variable with the worst element's index and both values; ``print(result)`` or
``result.report()`` shows them as a table.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import backend
from .backend import get_array_module
from .core import Variable, no_grad

__all__ = ["gradcheck", "gradgradcheck", "numerical_grad", "GradcheckResult", "GradcheckEntry",
           "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., raise_on_failure=True)``; carries the result."""

    def __init__(self, result):
        super().__init__("\n" + result.report())
        self.result = result


@dataclass
class GradcheckEntry:
    """The comparison for one Variable.

    Attributes:
        name: ``"input 0"``, ``"input 1"``, ... or a parameter's name.
        shape: the Variable's shape.
        max_abs_err: largest ``|analytic - numeric|``.
        max_rel_err: largest ``|analytic - numeric| / max(|numeric|, 1e-12)``.
        worst_index: index of the element that violates the tolerance most.
        analytic, numeric: the two gradient values at ``worst_index``.
        checked: how many elements were compared (all, or a sample).
        passed: every compared element within tolerance.
    """

    name: str
    shape: tuple
    max_abs_err: float
    max_rel_err: float
    worst_index: tuple
    analytic: float
    numeric: float
    checked: int
    passed: bool


@dataclass
class GradcheckResult:
    """All entries of one check, plus the tolerances used. ``bool(result)`` is ``passed``."""

    entries: list = field(default_factory=list)
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-4
    notes: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.entries)

    def __bool__(self):
        return self.passed

    def failures(self):
        """The entries that did not pass."""
        return [e for e in self.entries if not e.passed]

    def report(self) -> str:
        """A table: one row per checked Variable, then the tolerance rule in one line."""
        head = ["", "shape", "checked", "max abs err", "max rel err", "worst index", "analytic",
                "numeric", "result"]
        rows = [[e.name, str(e.shape), str(e.checked), f"{e.max_abs_err:.2e}", f"{e.max_rel_err:.2e}",
                 str(e.worst_index), f"{e.analytic:+.6e}", f"{e.numeric:+.6e}",
                 "ok" if e.passed else "FAIL"] for e in self.entries]
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        fmt = "  ".join("{:<%d}" % w for w in widths)
        lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
        lines += [fmt.format(*r) for r in rows]
        lines += list(self.notes)
        lines.append(f"rule: an element passes when |analytic - numeric| <= atol + rtol*|numeric| "
                     f"(atol={self.atol:g}, rtol={self.rtol:g}); numeric = central difference "
                     f"with eps={self.eps:g}")
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures())} of {len(self.entries)})"
        lines.append(f"gradcheck {verdict}")
        return "\n".join(lines)

    __str__ = report


def _to_float64_variable(x, notes, label):
    if isinstance(x, Variable):
        data = x.data
    else:
        xp = get_array_module(x)
        data = x if hasattr(x, "dtype") else xp.asarray(x, dtype=np.float64)
    if data.dtype.kind != "f":
        raise TypeError(f"gradcheck: {label} has dtype {data.dtype}; only floating inputs have "
                        "gradients (pass integer arrays through a closure instead)")
    if data.dtype != np.float64:
        notes.append(f"note: {label} was {data.dtype}; promoted to float64 because central "
                     "differences in float32 lose about half of the 7 significant digits")
        data = data.astype(np.float64)
    else:
        data = data.copy()
    return data


def numerical_grad(f, x, eps=1e-6, indices=None):
    """Central-difference gradient of the scalar function ``f()`` with respect to ``x.data``.

    Args:
        f: a function of no arguments returning a scalar (float or size-1 Variable); it must
            read ``x.data`` (which is perturbed in place and restored).
        x: the Variable to perturb.
        eps: the step.
        indices: the flat element indices to compute (default: all).

    Returns:
        A host float64 array shaped like ``x`` (zeros where not computed).
    """
    data = x.data
    flat = data.reshape(-1)
    if flat.base is None or not (flat.base is data or flat.base is getattr(data, "base", None)):
        data = data.copy()  # make the perturbation visible through x.data
        x.data = data
        flat = data.reshape(-1)
    grad = np.zeros(data.size, dtype=np.float64)
    idx = range(data.size) if indices is None else indices
    for i in idx:
        i = int(i)
        old = flat[i].item() if hasattr(flat[i], "item") else float(flat[i])
        flat[i] = old + eps
        fp = _scalar(f())
        flat[i] = old - eps
        fm = _scalar(f())
        flat[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad.reshape(data.shape)


def _scalar(v):
    if isinstance(v, Variable):
        v = v.data
    return float(v.item()) if hasattr(v, "item") else float(v)


def _compare(name, analytic, numeric, atol, rtol, indices, shape):
    a = analytic.reshape(-1)
    n = numeric.reshape(-1)
    sel = np.arange(a.size) if indices is None else np.asarray(indices, dtype=np.int64)
    if sel.size == 0:
        return GradcheckEntry(name, tuple(shape), 0.0, 0.0, (), 0.0, 0.0, 0, True)
    da, dn = a[sel], n[sel]
    err = np.abs(da - dn)
    rel = err / np.maximum(np.abs(dn), 1e-12)
    excess = err - (atol + rtol * np.abs(dn))
    w = int(np.argmax(excess))
    flat_w = int(sel[w])
    worst = tuple(int(i) for i in np.unravel_index(flat_w, shape)) if len(shape) else ()
    return GradcheckEntry(name, tuple(shape), float(err.max()), float(rel.max()), worst,
                          float(a[flat_w]), float(n[flat_w]), int(sel.size), bool((excess <= 0).all()))


def gradcheck(fn, *inputs, params=None, eps=1e-6, atol=1e-5, rtol=1e-4, max_elements=None,
              seed=0, raise_on_failure=False, verbose=False):
    """Check ``fn``'s analytic gradients against central differences.

    Args:
        fn: a function of Variables (one per entry of ``inputs``) returning a Variable.
        *inputs: arrays or Variables; float32 ones are promoted to float64 (with a note).
        params: extra Variables (e.g. a layer's Parameters) that ``fn`` uses and that should
            be checked too; they are temporarily promoted to float64 and restored after.
            A dict maps names to Variables; a list gets names ``param 0``, ...
        eps, atol, rtol: step and tolerances (see the module docstring).
        max_elements: check at most this many randomly chosen elements per Variable.
        seed: seed for the projection direction and the element sample.
        raise_on_failure: raise :class:`GradcheckError` (with the report) when a check fails.
        verbose: print the report.

    Returns:
        GradcheckResult: truthy when every element of every Variable passed.
    """
    notes = []
    xs = [Variable(_to_float64_variable(x, notes, f"input {i}")) for i, x in enumerate(inputs)]
    if params is None:
        named = []
    elif isinstance(params, dict):
        named = list(params.items())
    else:
        named = [(getattr(p, "name", None) or f"param {i}", p) for i, p in enumerate(params)]
    saved = [(p, p.data, p.grad) for _, p in named]
    try:
        for label, p in named:
            p.data = _to_float64_variable(p, notes, label)
            p.grad = None
        targets = [(f"input {i}", x) for i, x in enumerate(xs)] + named
        rng = np.random.default_rng(seed)
        with no_grad():
            y0 = fn(*xs)
        if not isinstance(y0, Variable):
            raise TypeError(f"gradcheck: fn must return a Variable, got {type(y0).__name__}")
        xp = get_array_module(y0.data)
        R = xp.asarray(rng.standard_normal(y0.shape)) if xp is np else \
            backend.as_device(rng.standard_normal(y0.shape), backend.device_of(y0.data))

        def objective():
            y = fn(*xs)
            return (y * Variable(R)).sum()

        loss = objective()
        loss.backward()
        result = GradcheckResult(eps=eps, atol=atol, rtol=rtol, notes=notes)
        analytics = [np.zeros(v.shape) if v.grad is None
                     else backend.as_numpy(v.grad.data).astype(np.float64) for _, v in targets]
        for (label, v), analytic in zip(targets, analytics):
            idx = None
            if max_elements is not None and v.size > max_elements:
                idx = np.sort(rng.choice(v.size, size=max_elements, replace=False))
            numeric = numerical_grad(objective, v, eps=eps, indices=idx)
            result.entries.append(_compare(label, analytic, numeric, atol, rtol, idx, v.shape))
    finally:
        for p, data, grad in saved:
            p.data = data
            p.grad = grad
    if verbose:
        print(result.report())
    if raise_on_failure and not result.passed:
        raise GradcheckError(result)
    return result


def gradgradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=1, raise_on_failure=False,
                  verbose=False):
    """Check second-order gradients: gradcheck of the gradient that ``backward(create_graph=True)``
    builds for ``fn``.

    Args and return value as in :func:`gradcheck` (no ``params``).
    """
    rng = np.random.default_rng(seed)
    state = {}

    def first_order(*xs):
        y = fn(*xs)
        if "R" not in state:
            state["R"] = rng.standard_normal(y.shape)
            state["R2"] = [rng.standard_normal(x.shape) for x in xs]
        xp = get_array_module(y.data)
        loss = (y * Variable(xp.asarray(state["R"]))).sum()
        for x in xs:
            x.grad = None
        loss.backward(create_graph=True)
        total = None
        for x, r2 in zip(xs, state["R2"]):
            g = x.grad
            x.grad = None
            if g is None:
                continue
            term = (g * Variable(xp.asarray(r2))).sum()
            total = term if total is None else total + term
        if total is None:
            total = Variable(xp.zeros((), dtype=y.dtype))
        return total

    return gradcheck(first_order, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed,
                     raise_on_failure=raise_on_failure, verbose=verbose)
