"""The engine's diagnostics: op errors that name the op, and anomaly mode.

Two things the engine (:mod:`tinygrad_attn.core`) reports but does not want in its
main line:

* **Op errors.** When an op's ``forward`` fails on its arrays (a NumPy shape error,
  say), the engine raises :func:`op_error` instead: an :class:`OpError` whose message
  names the op, its arguments and the shapes/dtypes of its inputs.
* **Anomaly mode.** Inside :class:`detect_anomaly` the engine calls the :data:`hook`
  around every op, forward and backward. The hook remembers the user's source line
  that created each op, and raises ``FloatingPointError`` naming the op, its input
  shapes and that line as soon as a result or a gradient holds NaN or Inf. Outside
  anomaly mode :data:`hook` is ``None`` and the engine pays one ``is None`` test per op.

The hook is an object with two methods, called by the engine:

* ``forward(f, inputs, outputs)`` after Function ``f`` computed ``outputs`` (Variables)
  from ``inputs`` (Variables), in or out of grad mode;
* ``backward(f, gys)`` runs ``f.backward(*gys)`` for ``Variable.backward`` and returns
  what it returned (one gradient Variable, or None, per input).

This module sits between the backend and the engine: it imports only the backend,
and knows Variables and Functions by their attributes (``data``, ``inputs``).
"""
from __future__ import annotations

import contextlib
import os
import traceback

from .backend import get_array_module

__all__ = ["OpError", "OpTypeError", "op_error", "describe", "detect_anomaly", "AnomalyHook",
           "hook"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------- op errors
class OpError(ValueError):
    """Bad input to an op: the message names the op and the shapes/dtypes involved."""


class OpTypeError(OpError, TypeError):
    """Bad input type to an op (also a ``TypeError``)."""


def describe(x) -> str:
    """Shape and dtype of a Variable or array as ``"(2, 3) float64"`` (``repr`` otherwise)."""
    d = x.data if hasattr(x, "creator") else x  # a Variable (an ndarray's .data is its buffer)
    shape = getattr(d, "shape", None)
    if shape is None:
        return repr(x)
    return f"{tuple(shape)} {getattr(d, 'dtype', None)}"


def op_error(f, inputs, err) -> OpError:
    """The error to raise when Function ``f``'s forward failed with ``err`` on ``inputs``.

    Args:
        f: the Function whose ``forward`` raised.
        inputs: its input Variables.
        err (Exception): what ``forward`` raised.

    Returns:
        OpError: ``"<Op><args>: inputs (<shape> <dtype>, ...): <err>"``; an
        :class:`OpTypeError` (also a ``TypeError``) when ``err`` is a ``TypeError``.
    """
    shapes = ", ".join(describe(x) for x in inputs)
    cls = OpTypeError if isinstance(err, TypeError) else OpError
    return cls(f"{type(f).__name__}{f._describe_args()}: inputs ({shapes}): {err}")


# ----------------------------------------------------------------------------- anomaly mode
def _user_frame():
    """The innermost stack frame outside this package, as 'file:line in func: code'."""
    for fr in reversed(traceback.extract_stack()):
        if not os.path.abspath(fr.filename).startswith(_PACKAGE_DIR):
            code = (fr.line or "").strip()    # none when typed at an interactive prompt
            return f"{fr.filename}:{fr.lineno} in {fr.name}" + (f": {code}" if code else "")
    return None


class AnomalyHook:
    """The engine hook of anomaly mode: creation sites and NaN/Inf checks.

    Attributes:
        backward_of: the Function whose ``backward`` is running (None outside backward), so
            that a NaN made by an op *inside* a backward names that backward's op and line.
    """

    def __init__(self):
        self.backward_of = None

    def forward(self, f, inputs, outputs):
        """Remember where ``f`` was created; raise if an output holds NaN or Inf."""
        f._creation_site = _user_frame()
        for y in outputs:
            self._check(f, y.data, "forward", inputs)

    def backward(self, f, gys):
        """Run ``f.backward(*gys)``; raise if a gradient it returns holds NaN or Inf."""
        outer, self.backward_of = self.backward_of, f
        try:
            gxs = f.backward(*gys)
        finally:
            self.backward_of = outer
        for gx in gxs if type(gxs) is tuple else (gxs,):
            if gx is not None:
                self._check(f, gx.data, "backward", f.inputs)
        return gxs

    def _check(self, f, arr, phase, inputs):
        xp = get_array_module(arr)
        if arr.dtype.kind != "f" or bool(xp.isfinite(arr).all()):
            return
        n_nan, n_inf = int(xp.isnan(arr).sum()), int(xp.isinf(arr).sum())
        culprit = f
        if phase == "forward" and self.backward_of is not None:  # an op run by a backward
            culprit = self.backward_of
            phase = f"backward (inside {type(culprit).__name__}.backward)"
        where = getattr(culprit, "_creation_site", None) or "(creation site unknown)"
        shapes = ", ".join(describe(x) for x in inputs)
        raise FloatingPointError(
            f"{type(f).__name__} produced {n_nan} NaN and {n_inf} Inf values in {phase} "
            f"(inputs: {shapes}); {type(culprit).__name__} was created at {where}")


hook = None
"""The engine's hook: an :class:`AnomalyHook` inside :class:`detect_anomaly`, else None."""


class detect_anomaly(contextlib.ContextDecorator):
    """Check every forward and backward result for NaN/Inf and name the culprit.

    Inside this context each Function remembers the user's source line that
    created it; when an op produces NaN or Inf (forward or backward), a
    ``FloatingPointError`` names the op, its input shapes, and that line.
    Normal runs pay nothing for this: stacks are recorded only in this mode.
    Usable as ``with ta.detect_anomaly():`` and as a decorator, ``@ta.detect_anomaly()``.
    """

    def __init__(self):
        self._prev = []

    def __enter__(self):
        global hook
        self._prev.append(hook)
        hook = AnomalyHook()
        return self

    def __exit__(self, *exc):
        global hook
        hook = self._prev.pop()
        return False
