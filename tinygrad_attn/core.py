"""The engine: Variable, Function, backward, and the grad-mode switches.

Define-by-run: every call of a :class:`Function` on :class:`Variable` inputs
computes its result at once and, in grad mode, records itself as the result's
``creator``. ``loss.backward()`` then walks those records in reverse order of
*generation* (a node's distance from the leaves), calling each Function's
``backward``. Backward methods are written with the same ops as the forward
pass, so with ``create_graph=True`` the backward pass is itself recorded and can
be differentiated again (higher-order gradients).

A Function holds its inputs strongly (the graph must reach the leaves) and its
outputs only weakly: once the last Variable of a graph is dropped, the whole
graph is freed by reference counting.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import traceback
import weakref

import numpy as np

from . import backend
from .backend import get_array_module

__all__ = [
    "Config", "Variable", "Parameter", "Function", "no_grad", "enable_grad", "test_mode",
    "train_mode", "detect_anomaly", "as_variable", "as_array", "name_scope", "OpError",
    "is_grad_enabled",
]


class Config:
    """Global switches. Use the context managers rather than setting these directly.

    Attributes:
        enable_backprop: record graphs (grad mode). Off inside :class:`no_grad`.
        train: training behaviour (dropout active). Off inside :class:`test_mode`.
        anomaly: record creation stack traces and check for NaN/Inf (:class:`detect_anomaly`).
        scope: name of the Layer (and time step) currently running, stored on each Function
            for graph drawing; maintained by :class:`name_scope`.
    """

    enable_backprop = True
    train = True
    anomaly = False
    scope = None
    _backward_of = None  # in anomaly mode: the Function whose backward is running


def is_grad_enabled() -> bool:
    """Return True when operations are being recorded for backward."""
    return Config.enable_backprop


class _Mode:
    """A config switch usable as ``with mode():``, ``@mode()`` and ``@mode``."""

    _attr = ""
    _value = None

    def __init__(self, func=None):
        self._func = func
        self._prev = []
        if func is not None:
            functools.update_wrapper(self, func)

    def __enter__(self):
        self._prev.append(getattr(Config, self._attr))
        setattr(Config, self._attr, self._value)
        return self

    def __exit__(self, *exc):
        setattr(Config, self._attr, self._prev.pop())
        return False

    def __call__(self, *args, **kwargs):
        if self._func is None:  # used as @mode(): args[0] is the function to wrap
            func = args[0]
            mode = type(self)

            @functools.wraps(func)
            def wrapper(*a, **k):
                with mode():
                    return func(*a, **k)
            return wrapper
        with type(self)():
            return self._func(*args, **kwargs)

    def __get__(self, obj, objtype=None):  # so @no_grad works on methods too
        if obj is None or self._func is None:
            return self
        return functools.partial(self.__call__, obj)


class no_grad(_Mode):
    """Do not record graphs: ``with ta.no_grad(): ...`` or as a decorator.

    Inside, results have no creator and ``backward`` cannot reach past them.
    Use it for evaluation and generation; it saves memory and time.
    """

    _attr, _value = "enable_backprop", False


class enable_grad(_Mode):
    """Record graphs again inside a :class:`no_grad` block."""

    _attr, _value = "enable_backprop", True


class test_mode(_Mode):
    """Evaluation behaviour (dropout becomes the identity); does not affect recording."""

    _attr, _value = "train", False

    __test__ = False  # not a pytest test class


class train_mode(_Mode):
    """Training behaviour (the default); undoes :class:`test_mode` inside it."""

    _attr, _value = "train", True


class detect_anomaly(_Mode):
    """Check every forward and backward result for NaN/Inf and name the culprit.

    Inside this context each Function remembers the user's source line that
    created it; when an op produces NaN or Inf (forward or backward), a
    ``FloatingPointError`` names the op, its input shapes, and that line.
    Normal runs pay nothing for this: stacks are recorded only in this mode.
    """

    _attr, _value = "anomaly", True


class name_scope:
    """Label the Functions created inside with ``name`` (used to cluster graph drawings).

    Nested scopes join with ``/``. Layers open a scope named after their
    attribute path automatically.
    """

    __slots__ = ("name", "_prev")

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self._prev = Config.scope
        Config.scope = self.name if self._prev is None else f"{self._prev}/{self.name}"
        return self

    def __exit__(self, *exc):
        Config.scope = self._prev
        return False


class OpError(ValueError):
    """Bad input to an op: the message names the op and the shapes/dtypes involved."""


class OpTypeError(OpError, TypeError):
    """Bad input type to an op (also a ``TypeError``)."""


def _describe(x) -> str:
    d = x.data if isinstance(x, Variable) else x
    shape = getattr(d, "shape", None)
    dtype = getattr(d, "dtype", None)
    if shape is None:
        return repr(x)
    return f"{tuple(shape)} {dtype}"


def _raise_op_error(f, inputs, err):
    shapes = ", ".join(_describe(x) for x in inputs)
    cls = OpTypeError if isinstance(err, TypeError) else OpError
    raise cls(f"{type(f).__name__}{f._describe_args()}: inputs ({shapes}): {err}") from err


# ----------------------------------------------------------------------------- data checks
_NUMERIC_KINDS = "biuf"


def as_array(x, xp=np, dtype=None):
    """Turn ``x`` (array, scalar or nested list of numbers) into an array of module ``xp``.

    Raises:
        TypeError: for None, strings, objects or anything non-numeric.
    """
    if x is None:
        raise TypeError("Variable data must be an array or a number, got None")
    if hasattr(x, "dtype") and hasattr(x, "shape") and not isinstance(x, np.generic):
        a = x
    else:
        if isinstance(x, (str, bytes)):
            raise TypeError(f"Variable data must be numeric, got the string {x!r}")
        try:
            a = xp.asarray(x) if dtype is None else xp.asarray(x, dtype=dtype)
        except (ValueError, TypeError) as e:
            raise TypeError(f"cannot make an array of {type(x).__name__} {x!r:.60}: {e}") from e
    if a.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"Variable data must be numeric (bool/int/float), got dtype {a.dtype}"
                        + (f" from {x!r:.60}" if not hasattr(x, "shape") else ""))
    return a


# Module-level aliases used by the hot paths (a global lookup instead of attribute chains).
_ndarray = np.ndarray
_np_generic = np.generic
_weakref = weakref.ref
_new_variable = object.__new__


# ----------------------------------------------------------------------------- Variable
class Variable:
    """A node of the graph: an array plus what autograd needs.

    Args:
        data: an array (NumPy, CuPy or stand-in), a number, or a nested list of numbers.
            Python floats become float64, ints int64 (as in NumPy).
        name (str, optional): shown in reprs and graph drawings.

    Attributes:
        data: the array.
        grad (Variable or None): the gradient after ``backward()``.
        creator (Function or None): the Function that produced this value.
        generation (int): 0 for leaves; one more than the creator's inputs' maximum.
    """

    __slots__ = ("data", "name", "grad", "creator", "generation", "__weakref__")
    __array_priority__ = 200

    def __init__(self, data, name=None):
        t = type(data)
        if t is not np.ndarray or data.dtype.kind not in _NUMERIC_KINDS:
            data = as_array(data)
        self.data = data
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0

    # --- array-like properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        cls = type(self).__name__.lower()
        if self.data is None:
            return f"{cls}(None)"
        body = str(backend.as_numpy(self.data)).replace("\n", "\n" + " " * (len(cls) + 1))
        extra = f", name={self.name!r}" if self.name else ""
        dev = backend.device_of(self.data)
        if dev != "cpu":
            extra += f", device={dev!r}"
        return f"{cls}({body}{extra})"

    # --- graph bookkeeping
    def set_creator(self, func):
        """Record ``func`` as the producer of this Variable (done by Function calls)."""
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self):
        """Forget the gradient (set ``grad`` to None)."""
        self.grad = None

    def detach(self):
        """Return a new leaf Variable sharing this data, cut off from the graph."""
        return Variable(self.data, name=self.name)

    def unchain(self):
        """Drop the link to the creator: this Variable becomes a leaf."""
        self.creator = None

    def unchain_backward(self):
        """Cut every creator link upstream of this Variable (truncated backprop)."""
        if self.creator is None:
            return
        stack = [self.creator]
        seen = set()
        while stack:
            f = stack.pop()
            if id(f) in seen:
                continue
            seen.add(id(f))
            for x in f.inputs:
                if x.creator is not None:
                    stack.append(x.creator)
                    x.unchain()
        self.unchain()

    def item(self):
        """Return the single element as a Python scalar."""
        return self.data.item()

    def numpy(self):
        """Return the data as a host ``numpy.ndarray`` (a copy when on a device)."""
        return backend.as_numpy(self.data)

    # --- devices
    def to_device(self, device: str):
        """Move data (and grad) to ``"cpu"``, ``"cuda"`` or ``"strict"`` in place; return self."""
        self.data = backend.as_device(self.data, device)
        if self.grad is not None:
            self.grad.to_device(device)
        return self

    def to_gpu(self):
        """Move to the GPU (CuPy). Raises a clear error when CuPy or a device is missing."""
        return self.to_device("cuda")

    def to_cpu(self):
        """Move to the host (NumPy)."""
        return self.to_device("cpu")

    # --- backward
    def backward(self, grad=None, retain_grad=False, create_graph=False):
        """Compute gradients of this Variable with respect to every Variable it depends on.

        Gradients accumulate into ``.grad`` (call ``cleargrad()``/``cleargrads()`` between steps).

        Args:
            grad: the seed gradient, same shape as this Variable. May be omitted only when
                this Variable has exactly one element (a loss); a non-scalar without an
                explicit ``grad`` raises ``RuntimeError`` (as in PyTorch).
            retain_grad: keep ``.grad`` on intermediate Variables too (default: only leaves).
            create_graph: record the backward pass itself, so the gradients are Variables with
                creators and can be differentiated again (higher-order gradients).
        """
        xp = get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() needs an explicit grad for a non-scalar Variable of shape "
                    f"{self.shape}: pass grad=ones of that shape, or reduce it (e.g. .sum()) first")
            grad = Variable(xp.ones_like(self.data))
        else:
            if not isinstance(grad, Variable):
                grad = Variable(as_array(grad, xp, dtype=self.data.dtype))
            if grad.shape != self.shape:
                raise OpError(f"backward(): grad of shape {grad.shape} does not match the "
                              f"Variable's shape {self.shape}")
        if self.creator is None:  # a leaf: accumulates like every other leaf
            self.grad = grad if self.grad is None else Variable(self.grad.data + grad.data)
            return
        self.grad = grad

        # The loop below is the backward hot path: locals instead of globals and
        # attributes, the push of a creator inlined, and the one-output case first.
        heap = [(-self.creator.generation, 0, self.creator)]
        seen = {self.creator}
        counter = itertools.count(1)
        heappush, heappop = heapq.heappush, heapq.heappop
        anomaly = Config.anomaly
        # Without create_graph (and outside anomaly mode, which checks every op's
        # result) gradients are summed as raw arrays: no graph would be recorded
        # anyway, so going through the Add Function would only add overhead.
        raw_accumulate = not create_graph and not anomaly
        owned = {}  # Variable -> the gradient Variable this pass summed for it alone
        # Non-leaf Variables that received a gradient in this pass: a .grad left on an
        # intermediate by an earlier backward(retain_grad=True) must not be sent upstream again.
        fresh = {self}
        prev = Config.enable_backprop
        Config.enable_backprop = create_graph
        try:
            while heap:
                f = heappop(heap)[2]
                if anomaly:
                    Config._backward_of = f
                refs = f.outputs
                if len(refs) == 1:
                    o = refs[0]()
                    if o is None:
                        gxs = f.backward(None)
                    else:
                        gxs = f.backward(o.grad)
                        if not retain_grad:
                            o.grad = None
                    outs = ()  # its grad is already handled
                else:
                    outs = [r() for r in refs]
                    gxs = f.backward(*[o.grad if o is not None and o in fresh else None
                                       for o in outs])
                if type(gxs) is not tuple:
                    gxs = (gxs,)
                for x, gx in zip(f.inputs, gxs):
                    if gx is None:
                        continue
                    gdata = gx.data
                    if gdata.shape != x.data.shape:
                        raise OpError(f"{type(f).__name__}.backward returned a gradient of shape "
                                      f"{gx.shape} for an input of shape {x.shape}")
                    if anomaly:
                        _check_finite(f, gdata, "backward")
                    xg = x.grad
                    if xg is not None and x.creator is not None and x not in fresh:
                        xg = None  # stale, from an earlier backward(retain_grad=True)
                    if xg is None:
                        x.grad = gx
                        if x.creator is not None:
                            fresh.add(x)
                    elif raw_accumulate:
                        if owned.get(x) is xg:
                            # An array this pass allocated for x alone: add in place. Only x
                            # holds it until x's creator reads it, after every consumer of x.
                            xg.data += gdata
                            continue
                        gsum = xg.data + gdata
                        if type(gsum) is not _ndarray and isinstance(gsum, _np_generic):
                            gsum = np.asarray(gsum)  # 0-d arrays add up to a NumPy scalar
                        v = _new_variable(Variable)  # Variable(gsum), inlined
                        v.data = gsum
                        v.name = None
                        v.grad = None
                        v.creator = None
                        v.generation = 0
                        x.grad = v
                        owned[x] = v
                    else:
                        x.grad = xg + gx
                    c = x.creator
                    if c is not None and c not in seen:
                        seen.add(c)
                        heappush(heap, (-c.generation, next(counter), c))
                if not retain_grad:
                    for o in outs:
                        if o is not None:
                            o.grad = None
        finally:
            Config.enable_backprop = prev
            Config._backward_of = None

    # --- shape helpers as methods (the ops live in tinygrad_attn.functions)
    def reshape(self, *shape):
        """Return this Variable reshaped (``x.reshape(2, 3)`` or ``x.reshape((2, 3))``)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _F.reshape(self, shape)

    def transpose(self, *axes):
        """Permute axes (no axes: reverse them)."""
        if len(axes) == 0:
            axes = None
        elif len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,):
            axes = axes[0]
        return _F.transpose(self, axes)

    @property
    def T(self):
        return _F.transpose(self)

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (all axes when None)."""
        return _F.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis`` (all axes when None)."""
        return _F.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``."""
        return _F.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        """Minimum over ``axis``."""
        return _F.min(self, axis, keepdims)


class Parameter(Variable):
    """A Variable that a Layer owns and an optimizer updates."""

    __slots__ = ()


_F = None  # set by tinygrad_attn.functions at import (breaks the import cycle)


def as_variable(x, like=None):
    """Return ``x`` as a Variable; numbers adopt the dtype and device of ``like`` (a Variable)."""
    if isinstance(x, Variable):
        return x
    if like is not None:
        ld = like.data
        xp = get_array_module(ld)
        if backend.is_scalar(x) or isinstance(x, (list, tuple)):
            dtype = ld.dtype if ld.dtype.kind == "f" else None
            return Variable(as_array(x, xp, dtype))
    return Variable(x)


def _check_finite(f, arr, phase, inputs=None):
    xp = get_array_module(arr)
    if arr.dtype.kind == "f" and not bool(xp.isfinite(arr).all()):
        n_nan = int(xp.isnan(arr).sum())
        n_inf = int(xp.isinf(arr).sum())
        outer = Config._backward_of
        if phase == "forward" and outer is not None:  # an op run inside some backward()
            where = getattr(outer, "_creation_site", None) or "(creation site unknown)"
            phase = f"backward (inside {type(outer).__name__}.backward)"
            culprit = type(outer).__name__
        else:
            where = getattr(f, "_creation_site", None) or "(creation site unknown)"
            culprit = type(f).__name__
        ins = getattr(f, "inputs", ()) if inputs is None else inputs
        shapes = ", ".join(_describe(x) for x in ins)
        raise FloatingPointError(
            f"{type(f).__name__} produced {n_nan} NaN and {n_inf} Inf values in {phase} "
            f"(inputs: {shapes}); {culprit} was created at {where}")


def _user_frame():
    """The innermost stack frame outside this package, as 'file:line in func: code'."""
    import os

    pkg = os.path.dirname(os.path.abspath(__file__))
    for fr in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(fr.filename).startswith(pkg):
            return f"{fr.filename}:{fr.lineno} in {fr.name}: {(fr.line or '').strip()}"
    return None


def _as_variables(inputs):
    """Return the tuple ``inputs`` with every non-Variable wrapped by :func:`as_variable`."""
    return tuple([x if isinstance(x, Variable) else as_variable(x) for x in inputs])


# ----------------------------------------------------------------------------- Function
class Function:
    """Base class of every differentiable operation.

    Subclasses implement:

    * ``forward(*arrays)`` on raw arrays, returning an array or a tuple of arrays;
    * ``backward(*grads)`` on Variables (one per output, None for outputs that got no
      gradient), returning one Variable (or None) per input, built from ops so that it is
      differentiable itself.

    Inside ``backward`` the inputs are ``self.inputs`` and the outputs
    ``self.outputs[i]()`` (weak references). Save anything else the backward
    pass needs on ``self`` during ``forward``, and nothing more.

    Attributes (set when the call is recorded, i.e. in grad mode):
        inputs (tuple of Variable): the inputs, held strongly.
        outputs (tuple of weakref.ref): references to the output Variables.
        generation (int): the largest generation among the inputs.
        scope (str or None): the :class:`name_scope` active at the call.
    """

    generation = 0
    scope = None

    def __call__(self, *inputs):
        # Hot path: this runs for every op, forward and backward. Kept free of
        # comprehensions and repeated global/attribute lookups; the common cases
        # (one or two Variable inputs, one output) take the shortest route.
        n = len(inputs)
        if n == 2:
            x0, x1 = inputs
            if not (isinstance(x0, Variable) and isinstance(x1, Variable)):
                inputs = _as_variables(inputs)
                x0, x1 = inputs
        elif n == 1:
            x0 = inputs[0]
            if not isinstance(x0, Variable):
                x0 = as_variable(x0)
                inputs = (x0,)
        else:
            inputs = _as_variables(inputs)
        try:
            if n == 2:
                ys = self.forward(x0.data, x1.data)
            elif n == 1:
                ys = self.forward(x0.data)
            else:
                ys = self.forward(*[x.data for x in inputs])
        except OpError:
            raise
        except Exception as e:
            _raise_op_error(self, inputs, e)
        config = Config
        if type(ys) is not tuple:  # one output
            if type(ys) is not _ndarray and isinstance(ys, _np_generic):
                ys = np.asarray(ys)
            v = _new_variable(Variable)
            v.data = ys
            v.name = None
            v.grad = None
            if config.enable_backprop:
                if n == 2:
                    gen = x0.generation
                    g1 = x1.generation
                    if g1 > gen:
                        gen = g1
                elif n == 1:
                    gen = x0.generation
                else:
                    gen = 0
                    for x in inputs:
                        if x.generation > gen:
                            gen = x.generation
                self.generation = gen
                v.creator = self
                v.generation = gen + 1
                self.inputs = inputs
                self.outputs = (_weakref(v),)
                self.scope = config.scope
                if config.anomaly:
                    self._creation_site = _user_frame()
                    _check_finite(self, ys, "forward", inputs)
            else:
                v.creator = None
                v.generation = 0
                if config.anomaly:
                    self._creation_site = _user_frame()
                    _check_finite(self, ys, "forward", inputs)
            return v
        outputs = []
        for y in ys:
            if type(y) is not _ndarray and isinstance(y, _np_generic):
                y = np.asarray(y)
            v = _new_variable(Variable)
            v.data = y
            v.name = None
            v.grad = None
            v.creator = None
            v.generation = 0
            outputs.append(v)
        if config.enable_backprop:
            gen = 0
            for x in inputs:
                if x.generation > gen:
                    gen = x.generation
            self.generation = gen
            for v in outputs:
                v.creator = self
                v.generation = gen + 1
            self.inputs = inputs
            self.outputs = tuple([_weakref(v) for v in outputs])
            self.scope = config.scope
        if config.anomaly:
            self._creation_site = _user_frame()
            for y in ys:
                _check_finite(self, y, "forward", inputs)
        return outputs if len(outputs) > 1 else outputs[0]

    def forward(self, *xs):
        """Compute the outputs from raw input arrays."""
        raise NotImplementedError

    def backward(self, *gys):
        """Return input gradients (Variables) from output gradients (Variables)."""
        raise NotImplementedError

    def _describe_args(self) -> str:
        """Extra arguments shown in error messages (e.g. the axis)."""
        return ""

    def __repr__(self):
        return f"<{type(self).__name__}{self._describe_args()} gen={self.generation}>"
