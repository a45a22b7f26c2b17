"""Numerical gradient checking: compare autograd with central differences.

``gradcheck(fn, *inputs)`` evaluates ``fn`` (a function of Variables returning a
Variable of any shape), projects its output onto a fixed random direction ``R`` to
get a scalar ``L = sum(fn(*x) * R)``, and compares ``dL/dx`` from ``backward()``
with the central difference ``(L(x + eps) - L(x - eps)) / (2 eps)`` for every
element of every input (and of every extra Variable in ``params``).

An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
The returned :class:`GradcheckResult` has one :class:`GradcheckEntry` per checked
Variable with the worst element's index and both values; ``print(result)`` or
``result.report()`` shows them as a table, followed for each failing Variable by a
one-line diagnosis (missing gradient, sign error, constant factor, a few bad elements).

:func:`check_layer` and :func:`check_model` run the same check over every parameter of
a :class:`~tinygrad_attn.layers.Layer` or a seq2seq model, temporarily in float64.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import backend, seeding
from .. import functions as F
from .. import validate as V
from ..backend import get_array_module
from ..core import Variable
from ..layers.base import Layer
from .report import (
    element_index,
    format_table,
    host_float64,
    named_variables,
    worst_element,
)

__all__ = ["gradcheck", "gradgradcheck", "numerical_grad", "check_options", "check_layer", "check_model",
           "GradcheckResult", "GradcheckEntry", "GradcheckError", "join_outputs"]

_PROMOTION_WHY = ("because a float32 central difference keeps at most 4-5 correct digits (about "
                  "1 at eps=1e-6); float64 keeps about 10")


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., raise_on_failure=True)``; carries the result.

    Attributes:
        result (GradcheckResult): the failed check; its report is the message.
    """

    def __init__(self, result):
        super().__init__("\n" + result.report())
        self.result = result


@dataclass
class GradcheckEntry:
    """The comparison for one Variable.

    Attributes:
        name: an input's Variable name (``"hs"``), else ``"input 0"``, ``"input 1"``, ...,
            or a parameter's name.
        shape: the Variable's shape.
        max_abs_err: largest ``|analytic - numeric|``.
        max_rel_err: largest ``|analytic - numeric| / |numeric|`` among the elements whose
            ``|numeric|`` exceeds ``atol`` (relative errors of tiny gradients mean nothing;
            those are judged by ``atol``); 0 when there are none.
        worst_index: index of the element that uses the largest share of its tolerance
            (for a failure: the element that violates it most).
        analytic: the backward pass's gradient at ``worst_index``.
        numeric: the central difference at ``worst_index``.
        checked: how many elements were compared (all, or a sample).
        passed: every compared element within tolerance.
        n_failed: how many compared elements are outside the tolerance.
        hint: for a failure, a one-line guess at the kind of bug (empty when passed).
        tol_used: ``max |analytic - numeric| / (atol + rtol*|numeric|)`` over the compared
            elements: at most 1 passes; 0.001 means a thousand times inside the tolerance.
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
    n_failed: int = 0
    hint: str = ""
    tol_used: float = 0.0

    @property
    def size(self) -> int:
        """Number of elements of the checked Variable (``checked`` may be a sample of them)."""
        return int(np.prod(self.shape)) if len(self.shape) else 1


@dataclass
class GradcheckResult:
    """All entries of one check, plus the tolerances used. ``bool(result)`` is ``passed``.

    Attributes:
        entries: one :class:`GradcheckEntry` per checked Variable.
        eps: the central-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        notes: lines printed under the table (float64 promotion, sampling, ...).
        title: an optional first line of the report (what was checked).
    """

    entries: list = field(default_factory=list)
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-4
    notes: list = field(default_factory=list)
    title: str = ""

    @property
    def passed(self) -> bool:
        """True when every element of every entry is within tolerance."""
        return all(e.passed for e in self.entries)

    def __bool__(self):
        return self.passed

    def failures(self):
        """The entries that did not pass.

        Returns:
            A list of :class:`GradcheckEntry`.
        """
        return [e for e in self.entries if not e.passed]

    def entry(self, name):
        """The entry called ``name`` (e.g. ``"input 0"`` or ``"encoder.0.Wx"``).

        Raises:
            KeyError: naming the available entries.
        """
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"GradcheckResult.entry: no entry {name!r}; have "
                       f"{[e.name for e in self.entries]}")

    def report(self) -> str:
        """A table: one row per checked Variable, diagnoses of failures, then the tolerance rule.

        Returns:
            The multi-line report (also what ``str(result)`` gives).
        """
        head = ["", "shape", "checked", "max abs err", "max rel err", "tol used", "worst index",
                "analytic", "numeric", "result"]
        rows = []
        for e in self.entries:
            checked = str(e.checked) if e.checked == e.size else f"{e.checked}/{e.size}"
            verdict = "ok" if e.passed else f"FAIL ({e.n_failed})"
            rows.append([e.name, e.shape, checked, f"{e.max_abs_err:.2e}", f"{e.max_rel_err:.2e}",
                         f"{e.tol_used:.2g}", e.worst_index, f"{e.analytic:+.6e}",
                         f"{e.numeric:+.6e}", verdict])
        lines = format_table(head, rows, self.title)
        for e in self.failures():
            lines.append(f"diagnosis: {e.name} {e.shape}: {e.hint}")
        lines += list(self.notes)
        lines.append(f"rule: an element passes when |analytic - numeric| <= atol + rtol*|numeric| "
                     f"(atol={self.atol:g}, rtol={self.rtol:g}), i.e. 'tol used' <= 1; numeric = "
                     f"central difference (L(x+eps) - L(x-eps)) / 2eps with eps={self.eps:g}")
        if self.passed:
            verdict = "PASSED"
        else:
            verdict = f"FAILED ({len(self.failures())} of {len(self.entries)})"
        lines.append(f"gradcheck {verdict}")
        return "\n".join(lines)

    __str__ = report


def _to_float64_variable(x, promoted, label):
    """Return a float64 copy of ``x``'s data; records ``(label, dtype)`` when promoting."""
    if isinstance(x, Variable):
        data = x.data
    else:
        xp = get_array_module(x)
        data = x if hasattr(x, "dtype") else xp.asarray(x, dtype=np.float64)
    if data.dtype.kind != "f":
        raise TypeError(f"gradcheck: {label} has dtype {data.dtype}; only floating inputs have "
                        "gradients (pass integer arrays through a closure instead)")
    if data.dtype != np.float64:
        promoted.append((label, str(data.dtype)))
        data = data.astype(np.float64)
    else:
        data = data.copy()
    return data


def _promotion_notes(promoted):
    """One note per source dtype, naming (up to six of) the promoted Variables."""
    notes = []
    for dtype in sorted({d for _, d in promoted}):
        labels = [lab for lab, d in promoted if d == dtype]
        shown = ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")
        verb = "was" if len(labels) == 1 else "were"
        notes.append(f"note: {shown} {verb} {dtype}; promoted to float64 for the check "
                     f"{_PROMOTION_WHY}")
    return notes


def check_options(who, eps=1e-6, atol=1e-5, rtol=1e-4, max_elements=None, seed=0):
    """Validate a gradient check's options like the command line does (the same ranges).

    ``eps`` in (0, 1]; ``atol`` and ``rtol`` finite and >= 0; ``max_elements`` None or an
    integer in [1, 10**9]; ``seed`` None or an integer in [0, 2**32 - 1]. Returns them converted
    (floats and ints).

    Raises:
        TypeError: a value of the wrong type (a string, a bool, a float where an integer is
            needed).
        ValueError: a value out of range, NaN or infinite; the message names ``who``, the
            argument, its range and the value.
    """
    eps = V.GRADCHECK_EPS.check(eps, "eps", who)
    atol = V.TOLERANCE.check(atol, "atol", who)
    rtol = V.TOLERANCE.check(rtol, "rtol", who)
    if max_elements is not None:
        max_elements = V.MAX_ELEMENTS.check(max_elements, "max_elements", who)
    if seed is not None:  # None: fresh entropy (not reproducible), as numpy's default_rng
        seed = V.SEED.check(seed, "seed", who)
    return eps, atol, rtol, max_elements, seed


def numerical_grad(f, x, eps=1e-6, indices=None):
    """Central-difference gradient of the scalar function ``f()`` with respect to ``x.data``.

    Args:
        f: a function of no arguments returning a scalar (float or size-1 Variable); it must
            read ``x.data`` (which is perturbed in place and restored).
        x: the Variable to perturb (any shape S).
        eps: the step.
        indices: the flat element indices to compute (default: all).

    Returns:
        A host float64 array of shape S (zeros where not computed).

    Raises:
        ValueError: ``eps`` not a finite number in (0, 1].
    """
    eps = V.GRADCHECK_EPS.check(eps, "eps", "numerical_grad")
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


def _diagnose(da, dn, bad, sel, shape, atol):
    """A one-line guess at what kind of bug makes ``da`` (analytic) differ from ``dn``."""
    nb, total = int(bad.sum()), int(bad.size)
    tiny = max(atol, 1e-12)
    if np.all(np.abs(da[bad]) <= 1e-12):
        return (f"the analytic gradient is 0 where the numeric one is not ({nb} of {total} "
                "elements): does backward return None or zeros for this Variable?")
    if np.all(np.abs(dn[bad]) <= tiny):
        return (f"the numeric gradient is ~0 where the analytic one is not ({nb} of {total} "
                "elements): backward sends gradient that the output does not depend on "
                "(wrong index, axis or input order?)")
    sig = np.abs(dn) > max(tiny, 1e-6 * float(np.abs(dn).max()))
    if sig.sum() >= 2:
        ratio = da[sig] / dn[sig]
        k = float(np.median(ratio))
        if np.allclose(ratio, k, rtol=1e-3, atol=0) and abs(k) > 1e-6:
            if abs(k + 1) < 1e-3:
                return "analytic = -numeric everywhere: a sign error in backward"
            return (f"analytic = {k:.4g} x numeric everywhere: a constant factor is missing or "
                    "extra in backward (2? 1/N? 1/(1-p)?)")
    if nb <= max(3, total // 10):
        first = [element_index(sel[w], shape) for w in np.flatnonzero(bad)[:3]]
        return (f"only {nb} of {total} elements fail (at {', '.join(map(str, first))}"
                f"{', ...' if nb > 3 else ''}): suspect index arithmetic, broadcasting or a "
                "non-differentiable point (kink, tie) at those elements")
    return (f"{nb} of {total} elements fail with no constant ratio between analytic and "
            "numeric: the backward formula itself is wrong")


def _input_labels(inputs, taken=()):
    """Report names of ``inputs``: a Variable's own name, else ``"input i"``; a name used
    twice (or by a parameter) gets ``" (input i)"`` added."""
    labels, seen = [], set(taken)
    for i, x in enumerate(inputs):
        name = getattr(x, "name", None) if isinstance(x, Variable) else None
        label = str(name) if name else f"input {i}"
        if label in seen:
            label = f"{label} (input {i})"
        seen.add(label)
        labels.append(label)
    return labels


_PROBE_ELEMENTS = 20   # failing elements recomputed with smaller steps
_PROBE_FLOOR = 1e-9    # smallest step tried (rounding error grows below it)


def _probe_step(objective, v, analytic, numeric, indices, eps, atol, rtol, hint):
    """Tell a step that is too large from a wrong backward: recompute the failing elements'
    central differences with eps/10 and eps/100 and watch the error.

    The central difference's own error shrinks like eps^2 for smooth functions (100x per 10x
    smaller step); a wrong backward leaves an error that does not move. Returns the diagnosis
    line (``hint`` kept, with what the smaller steps showed, when it is not the step)."""
    a, n = analytic.reshape(-1), numeric.reshape(-1)
    sel = np.arange(a.size) if indices is None else np.asarray(indices, dtype=np.int64)
    err = np.abs(a[sel] - n[sel])
    used = err / (atol + rtol * np.abs(n[sel]))
    bad = sel[~(used <= 1)][:_PROBE_ELEMENTS]
    steps = [e for e in (eps / 10, eps / 100) if e >= _PROBE_FLOOR]
    if not bad.size or not steps:
        return hint
    errs, passes = [float(np.max(np.abs(a[bad] - n[bad])))], []
    for e in steps:
        m = numerical_grad(objective, v, eps=e, indices=bad).reshape(-1)[bad]
        d = np.abs(a[bad] - m)
        errs.append(float(np.max(d)))
        passes.append(bool(np.all(d <= atol + rtol * np.abs(m))))
    trail = ", ".join(f"{e:.2e} at eps={s:g}" for e, s in zip(errs, [eps] + steps))
    if passes[-1] and errs[-1] < errs[0] / 10:
        ok = next(s for s, p in zip(steps, passes) if p)
        return (f"the step eps={eps:g} is too large, not the backward: on the failing elements "
                f"the error falls as the step shrinks ({trail}) and they pass from eps={ok:g}; "
                "the central difference's own error grows like eps^2 — rerun with a smaller eps")
    if errs[-1] >= errs[0] / 3:
        return (f"{hint}; a smaller step does not help ({trail}): not the step size")
    return f"{hint}; a smaller step changes the error ({trail}): try a smaller eps"


def _compare(name, analytic, numeric, atol, rtol, indices, shape):
    a = analytic.reshape(-1)
    n = numeric.reshape(-1)
    sel = np.arange(a.size) if indices is None else np.asarray(indices, dtype=np.int64)
    if sel.size == 0:
        return GradcheckEntry(name, tuple(shape), 0.0, 0.0, (), 0.0, 0.0, 0, True)
    da, dn = a[sel], n[sel]
    err = np.abs(da - dn)
    sig = np.abs(dn) > atol
    rel = err[sig] / np.abs(dn[sig])
    denom = atol + rtol * np.abs(dn)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero tolerance: exact or not
        used = np.where(denom > 0, err / np.where(denom > 0, denom, 1.0),
                        np.where(err > 0, np.inf, 0.0))
    used = np.where(np.isnan(used), np.inf, used)  # NaN counts as a failure
    bad = ~(used <= 1)
    w = worst_element(used)
    flat_w = int(sel[w])
    worst = element_index(flat_w, shape)
    n_failed = int(bad.sum())
    hint = _diagnose(da, dn, bad, sel, tuple(shape), atol) if n_failed else ""
    return GradcheckEntry(name, tuple(shape), float(np.max(err)), float(rel.max()) if rel.size
                          else 0.0, worst, float(a[flat_w]), float(n[flat_w]), int(sel.size),
                          n_failed == 0, n_failed, hint, float(used[w]))


def gradcheck(fn, *inputs, params=None, eps=1e-6, atol=1e-5, rtol=1e-4, max_elements=None,
              seed=0, raise_on_failure=False, verbose=False, title=""):
    """Check ``fn``'s analytic gradients against central differences.

    Args:
        fn: a function of Variables (one per entry of ``inputs``) returning a Variable of
            any shape.
        *inputs: floating arrays or Variables of any shapes; float32 ones are promoted to
            float64 (with a note in the report). A named Variable's rows carry its name
            (``Variable(hs, name="hs")``), others ``input 0``, ``input 1``, ...
        params: extra Variables (e.g. a layer's Parameters) that ``fn`` uses and that should
            be checked too; they are temporarily promoted to float64 and restored after.
            A dict maps names to Variables; a list gets names ``param 0``, ...
        eps: the central-difference step.
        atol: absolute tolerance of the per-element rule.
        rtol: relative tolerance of the per-element rule.
        max_elements: check at most this many randomly chosen elements per Variable
            (None: all).
        seed: seed for the projection direction and the element sample.
        raise_on_failure: raise :class:`GradcheckError` (with the report) when a check fails.
        verbose: print the report.
        title: a first line for the report.

    Returns:
        GradcheckResult: truthy when every element of every Variable passed.

    Raises:
        TypeError: ``fn`` not callable, an integer input, or ``fn`` returning something other
            than a Variable; an option of the wrong type.
        ValueError: an option out of range (``eps`` in (0, 1]; ``atol``, ``rtol`` finite and
            >= 0; ``max_elements`` >= 1; ``seed`` in [0, 2**32 - 1]), checked before ``fn`` runs.
        GradcheckError: with ``raise_on_failure=True``, when the check fails.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be a function of Variables, got {type(fn).__name__}")
    eps, atol, rtol, max_elements, seed = check_options("gradcheck", eps, atol, rtol,
                                                        max_elements, seed)
    promoted = []
    named = [] if params is None else named_variables(params, "gradcheck")
    labels = _input_labels(inputs, {label for label, _ in named})
    xs = [Variable(_to_float64_variable(x, promoted, lab), name=getattr(x, "name", None))
          for lab, x in zip(labels, inputs)]
    saved = [(p, p.data, p.grad) for _, p in named]
    try:
        for label, p in named:
            p.data = _to_float64_variable(p, promoted, label)
            p.grad = None
        targets = list(zip(labels, xs)) + named
        rng = np.random.default_rng(seed)
        y0 = fn(*xs)  # with grad mode on: fn may itself call backward (gradgradcheck)
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
        notes = _promotion_notes(promoted)
        result = GradcheckResult(eps=eps, atol=atol, rtol=rtol, notes=notes, title=title)
        analytics = [np.zeros(v.shape) if v.grad is None else host_float64(v.grad.data)
                     for _, v in targets]
        sampled = 0
        for (label, v), analytic in zip(targets, analytics):
            idx = None
            if max_elements is not None and v.size > max_elements:
                idx = np.sort(rng.choice(v.size, size=max_elements, replace=False))
                sampled += 1
            numeric = numerical_grad(objective, v, eps=eps, indices=idx)
            entry = _compare(label, analytic, numeric, atol, rtol, idx, v.shape)
            if not entry.passed:
                entry.hint = _probe_step(objective, v, analytic, numeric, idx, eps, atol, rtol,
                                         entry.hint)
            result.entries.append(entry)
        if sampled:
            notes.append(f"note: {sampled} Variable(s) larger than max_elements={max_elements} "
                         "were checked on a random sample of elements (column 'checked')")
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

    Args:
        fn: a function of Variables returning a Variable.
        *inputs: floating arrays or Variables.
        eps: the central-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        seed: seed of the random projections.
        raise_on_failure: raise :class:`GradcheckError` on failure.
        verbose: print the report.

    Returns:
        GradcheckResult: as for :func:`gradcheck`.

    Raises:
        TypeError, ValueError: as for :func:`gradcheck` (the options are checked first).
    """
    if not callable(fn):
        raise TypeError(f"gradgradcheck: fn must be a function of Variables, got "
                        f"{type(fn).__name__}")
    eps, atol, rtol, _, seed = check_options("gradgradcheck", eps, atol, rtol, None, seed)
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


# ----------------------------------------------------------------------------- layers and models
def _walk_layers(layer):
    """The layer and all its sub-layers, depth first."""
    yield layer
    for sub in layer.sublayers():
        yield from _walk_layers(sub)


def _layer_state(layer):
    """Snapshot of every layer's plain attributes (not its registered Parameters and Layers):
    recurrent states, recorded attention weights, ... (rebinding them restores them)."""
    snap = []
    for lay in _walk_layers(layer):
        own = set(lay.__dict__.get("_names", ()))
        attrs = {k: v for k, v in lay.__dict__.items() if k not in own}
        snap.append((lay, attrs))
    return snap


def _restore_state(snap):
    for lay, attrs in snap:
        for k, v in attrs.items():
            object.__setattr__(lay, k, v)


def join_outputs(out, who="join_outputs"):
    """One Variable from a call's output, for checking a call with several outputs.

    Args:
        out: a Variable, or a tuple/list of Variables (``None`` entries are skipped).
        who: the caller's name, for the error message.

    Returns:
        ``out`` itself, or the concatenation of every output flattened to 1-D.

    Raises:
        TypeError: ``out`` is neither.
    """

    if isinstance(out, Variable):
        return out
    if isinstance(out, (tuple, list)):
        parts = [o for o in out if o is not None]
        if parts and all(isinstance(o, Variable) for o in parts):
            return F.concat([F.reshape(o, (-1,)) for o in parts], axis=0)
    raise TypeError(f"{who}: the call must return a Variable or a tuple of Variables, got "
                    f"{type(out).__name__}")


def _is_float_input(x):
    d = x.data if isinstance(x, Variable) else x
    if d is None or isinstance(d, (bool, int, np.integer)):
        return False
    if isinstance(d, float):
        return True
    return hasattr(d, "dtype") and d.dtype.kind == "f"


def _check_module(who, module, call, inputs, max_elements, seed, eps, atol, rtol,
                  raise_on_failure, verbose, title):
    """Shared body of check_layer/check_model: state and RNG fixed for every evaluation."""

    if not isinstance(module, Layer):
        raise TypeError(f"{who}: expected a Layer, got {type(module).__name__}")
    eps, atol, rtol, max_elements, seed = check_options(who, eps, atol, rtol, max_elements, seed)
    params = dict(module.named_params())
    float_pos = [i for i, x in enumerate(inputs) if _is_float_input(x)]
    if not params and not float_pos:
        raise ValueError(f"{who}: nothing to check: {type(module).__name__} has no parameters "
                         f"and none of the inputs (dtypes "
                         f"{[getattr(x, 'dtype', type(x).__name__) for x in inputs]}) is floating")
    snap = _layer_state(module)
    host_rng = seeding.get_rng()
    rng_state = host_rng.bit_generator.state

    def fn(*vs):
        args = list(inputs)
        for pos, v in zip(float_pos, vs):
            args[pos] = v
        _restore_state(snap)                      # stateful layers start from the same state
        host_rng.bit_generator.state = rng_state  # dropout draws the same mask every time
        return join_outputs(call(*args), who)

    try:
        result = gradcheck(fn, *[inputs[i] for i in float_pos], params=params, eps=eps,
                           atol=atol, rtol=rtol, max_elements=max_elements, seed=seed,
                           title=title)
    finally:
        _restore_state(snap)
        host_rng.bit_generator.state = rng_state
    if float_pos and len(float_pos) < len(inputs):
        held = [getattr(inputs[i], "name", None) or f"input {i}" for i in range(len(inputs))
                if i not in float_pos]
        unnamed = [i for i in float_pos if not getattr(inputs[i], "name", None)]
        result.notes.append(f"note: {', '.join(map(str, held))} (not floating: ids, masks, None) "
                            "held constant" + (f"; 'input k' rows number the floating inputs "
                                               f"{float_pos} in order" if unnamed else ""))
    if verbose:
        print(result.report())
    if raise_on_failure and not result.passed:
        raise GradcheckError(result)
    return result


def check_layer(layer, *inputs, max_elements=200, seed=0, eps=1e-6, atol=1e-5, rtol=1e-4,
                raise_on_failure=False, verbose=False):
    """Gradient-check a layer with respect to its floating inputs and all of its parameters.

    The parameters are temporarily float64 (their original arrays, dtypes and gradients are
    put back afterwards, as is any state the layer keeps, e.g. a stateful LSTM's ``h``/``c``
    or an attention layer's ``weights``). Every evaluation starts from the same layer state
    and the same random-number state, so dropout uses one fixed mask.

    Args:
        layer: a :class:`~tinygrad_attn.layers.Layer`.
        *inputs: the call's arguments: floating arrays/Variables (checked, e.g. xs (N, T, D)),
            integer id arrays (held constant, e.g. for Embedding) or None (e.g. ``h=None``).
        max_elements: elements compared per Variable at most (a random sample beyond it).
        seed: seed of the projection direction and the samples.
        eps: the central-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        raise_on_failure: raise :class:`GradcheckError` when the check fails.
        verbose: print the report.

    Returns:
        GradcheckResult: entries ``"input k"`` for the floating inputs in order, then one per
        parameter under its qualified name (``"Wx"``, ``"layers.0.Wh"``, ...). A layer
        returning a tuple (e.g. LSTMCell's ``(h, c)``) is checked on the flattened
        concatenation of its outputs.

    Raises:
        TypeError: ``layer`` is not a Layer, or it returns neither a Variable nor a tuple.
        ValueError: nothing to check, or a bad ``max_elements``.
    """
    extra = layer.extra_repr() if hasattr(layer, "extra_repr") else ""
    title = f"check_layer: {type(layer).__name__}({extra})"
    return _check_module("check_layer", layer, layer, inputs, max_elements, seed, eps, atol,
                         rtol, raise_on_failure, verbose, title)


def check_model(model, xs, ts, max_elements=50, seed=0, eps=1e-6, atol=1e-5, rtol=1e-4,
                raise_on_failure=False, verbose=False):
    """Gradient-check a seq2seq model's loss ``model(xs, ts)`` against all named parameters.

    Use a tiny batch and a small model: every checked element costs two forward passes.
    Parameters are temporarily float64 and restored afterwards (arrays, dtypes, gradients),
    as are the model's recorded states (e.g. attention weights).

    Args:
        model: a Layer whose call ``model(xs, ts)`` returns a scalar loss (e.g. an
            ``AttentionSeq2seq``).
        xs: input ids, (N, T_in) integers.
        ts: target ids, (N, 1 + T_out) integers.
        max_elements, seed, eps, atol, rtol, raise_on_failure, verbose: as for
            :func:`check_layer` (``max_elements`` counts per parameter, 50 by default).

    Returns:
        GradcheckResult: one entry per parameter, named ``"encoder.0.Wx"`` etc.

    Raises:
        TypeError: ``model`` is not a Layer.
        ValueError: the model has no parameters, or a bad ``max_elements``.
    """
    shape = lambda a: tuple(getattr(a, "shape", ()))  # noqa: E731 - device arrays too
    title = f"check_model: {type(model).__name__} on xs {shape(xs)}, ts {shape(ts)}"
    return _check_module("check_model", model, model, (xs, ts), max_elements, seed, eps, atol,
                         rtol, raise_on_failure, verbose, title)
