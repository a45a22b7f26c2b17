"""The engine: Variable, Function, backward, and the grad-mode switches.

Define-by-run: every call of a :class:`Function` on :class:`Variable` inputs computes
its result at once and, in grad mode, records itself as the result's ``creator``.
``loss.backward()`` walks those records back, latest *generation* (distance from the
leaves) first, calling each Function's ``backward``. Backward methods are written with
ops, so with ``create_graph=True`` the backward pass is recorded too and can be
differentiated again. A Function holds its inputs strongly and its outputs weakly: a
graph is freed with its last Variable.

Op errors and anomaly mode live beside the engine in :mod:`tinygrad_attn.anomaly`; the
operators and array methods of Variable are the ops of :mod:`tinygrad_attn.functions`.
"""
from __future__ import annotations

import contextlib
import heapq
import weakref

import numpy as np

from . import anomaly as _anomaly
from . import backend
from .anomaly import OpError, OpTypeError, detect_anomaly, op_error  # noqa: F401  (re-exported)
from .backend import as_array, get_array_module

__all__ = [
    "Config", "Variable", "Parameter", "Function", "no_grad", "enable_grad", "test_mode",
    "train_mode", "detect_anomaly", "as_variable", "as_array", "name_scope", "OpError",
    "is_grad_enabled",
]


# ----------------------------------------------------------------------------- grad mode
class Config:
    """Global switches. Use the context managers rather than setting these directly.

    Attributes:
        enable_backprop: record graphs (grad mode). Off inside :class:`no_grad`.
        train: training behaviour (dropout active). Off inside :class:`test_mode`.
        scope: name of the Layer (and time step) currently running, stored on each Function
            for graph drawing; maintained by :class:`name_scope`.
    """

    enable_backprop = True
    train = True
    scope = None


def is_grad_enabled() -> bool:
    """Return True when operations are being recorded for backward."""
    return Config.enable_backprop


class _Mode(contextlib.ContextDecorator):
    """Sets ``Config.<_attr>`` to ``_value`` inside: ``with mode():``, ``@mode()`` or ``@mode``."""

    def __new__(cls, func=None):
        return super().__new__(cls) if func is None else cls()(func)  # @mode: wrap func

    def __init__(self, func=None):
        self._prev = []

    def __enter__(self):
        self._prev.append(getattr(Config, self._attr))
        setattr(Config, self._attr, self._value)
        return self

    def __exit__(self, *exc):
        setattr(Config, self._attr, self._prev.pop())
        return False


class no_grad(_Mode):
    """Do not record graphs (evaluation, generation): results get no creator, ``backward``
    stops at them. ``with ta.no_grad(): ...`` or as a decorator."""

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


class name_scope:
    """Label the Functions created inside with ``name`` (used to cluster graph drawings).

    Nested scopes join with ``/``. Layers open one named after their attribute path.
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
        if type(data) is not np.ndarray or data.dtype.kind not in "biuf":
            data = as_array(data)
        self.data = data
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0

    # --- array-like properties
    shape = property(lambda self: self.data.shape, doc="The shape of the data.")
    ndim = property(lambda self: self.data.ndim, doc="The number of axes of the data.")
    size = property(lambda self: self.data.size, doc="The number of elements of the data.")
    dtype = property(lambda self: self.data.dtype, doc="The dtype of the data.")

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        cls = type(self).__name__.lower()
        body = str(backend.as_numpy(self.data)).replace("\n", "\n" + " " * (len(cls) + 1))
        dev = backend.device_of(self.data)
        return (f"{cls}({body}" + (f", name={self.name!r}" if self.name else "")
                + (f", device={dev!r}" if dev != "cpu" else "") + ")")

    # --- graph bookkeeping
    def set_creator(self, func):
        """Record ``func`` as the producer of this Variable (what a recorded call does)."""
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
        stack, seen = [self.creator] if self.creator is not None else [], set()
        while stack:
            f = stack.pop()
            if f not in seen:
                seen.add(f)
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
        grad = self._seed(grad)
        if self.creator is None and self.generation == _NO_GRAD_GENERATION:
            raise RuntimeError(
                "backward(): this Variable was computed under no_grad, so no graph was "
                "recorded and no gradient can flow from it (as in PyTorch); compute it "
                "outside no_grad to differentiate it")
        if self.creator is None:  # a leaf: accumulates like every other leaf
            self.grad = grad if self.grad is None else _output(self.grad.data + grad.data)
            return
        self.grad = grad
        with enable_grad() if create_graph else no_grad():  # record backward only if asked
            _backprop(self, retain_grad, create_graph)

    def _seed(self, grad):
        """The gradient that starts backward: ``grad`` checked, or ones for a one-element loss."""
        xp = get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() needs an explicit grad for a non-scalar Variable of shape "
                    f"{self.shape}: pass grad=ones of that shape, or reduce it (e.g. .sum()) first")
            return Variable(xp.ones_like(self.data))
        if not isinstance(grad, Variable):
            grad = Variable(as_array(grad, xp, dtype=self.data.dtype))
        if grad.shape != self.shape:
            raise OpError(f"backward(): grad of shape {grad.shape} does not match the Variable's "
                          f"shape {self.shape}")
        return grad


_NO_GRAD_GENERATION = -1  # the generation of op results made under no_grad: backward() refuses them


class Parameter(Variable):
    """A Variable that a Layer owns and an optimizer updates."""

    __slots__ = ()


def as_variable(x, like=None):
    """Return ``x`` as a Variable; numbers adopt the dtype and device of ``like`` (a Variable)."""
    if isinstance(x, Variable):
        return x
    if like is not None and (backend.is_scalar(x) or isinstance(x, (list, tuple))):
        ld = like.data
        return Variable(as_array(x, get_array_module(ld), ld.dtype if ld.dtype.kind == "f" else None))
    return Variable(x)


_new, _weakref = object.__new__, weakref.ref
_ndarray, _np_generic = np.ndarray, np.generic


def _output(data, creator=None, generation=0):
    """A new Variable holding ``data``, an array the engine computed (an op's result or a sum
    of gradients), made by ``creator`` (None: a leaf) at ``generation``.

    The engine's one way to make such a Variable: it skips the checks of
    ``Variable.__init__``, which computed arrays do not need.
    """
    if type(data) is not _ndarray and isinstance(data, _np_generic):
        data = np.asarray(data)  # NumPy reductions of 0-d arrays return scalars
    v = _new(Variable)
    v.data = data
    v.name = None
    v.grad = None
    v.creator = creator
    v.generation = generation
    return v


# ----------------------------------------------------------------------------- Function
class Function:
    """Base class of every differentiable operation.

    Subclasses implement ``forward(*arrays)`` on raw arrays (returning an array or a tuple
    of arrays) and ``backward(*grads)`` on Variables (one per output, None for an output
    without a gradient), returning one Variable (or None) per input, built from ops so that
    it is differentiable itself. Inside ``backward`` the inputs are ``self.inputs`` and the
    outputs ``self.outputs[i]()`` (weak references); save on ``self`` during ``forward``
    anything else backward needs, and nothing more.

    Attributes (set when the call is recorded, i.e. in grad mode):
        inputs (tuple of Variable): the inputs, held strongly.
        outputs (tuple of weakref.ref): references to the output Variables.
        generation (int): the largest generation among the inputs.
        scope (str or None): the :class:`name_scope` active at the call.
    """

    generation = 0
    scope = None

    def __call__(self, *inputs):
        # Runs for every op, forward and backward: the one- and two-input cases are spelled
        # out, as loops, comprehensions and star-calls cost more than a small op's arithmetic.
        n = len(inputs)
        if n == 2:
            x0, x1 = inputs
            if not (isinstance(x0, Variable) and isinstance(x1, Variable)):
                inputs = x0, x1 = as_variable(x0), as_variable(x1)
        elif n == 1:
            x0 = inputs[0]
            if not isinstance(x0, Variable):
                x0 = as_variable(x0)
                inputs = (x0,)
        else:
            inputs = tuple([as_variable(x) for x in inputs])
        try:  # 1. forward on the raw arrays
            ys = (self.forward(x0.data, x1.data) if n == 2 else self.forward(x0.data) if n == 1
                  else self.forward(*[x.data for x in inputs]))
        except OpError:
            raise
        except Exception as e:
            raise op_error(self, inputs, e) from e
        if Config.enable_backprop:  # 2. in grad mode, record the call; outputs will point here
            if n == 2:
                gen = x0.generation if x0.generation > x1.generation else x1.generation
            elif n == 1:
                gen = x0.generation
            else:
                gen = max([x.generation for x in inputs], default=0)
            self.generation, self.inputs, self.scope = gen, inputs, Config.scope
            creator, gen = self, gen + 1
        else:
            creator, gen = None, _NO_GRAD_GENERATION
        if type(ys) is not tuple:  # 3. wrap the result(s)
            y = _output(ys, creator, gen)
            if creator is not None:
                self.outputs = (_weakref(y),)
            if _anomaly.hook is not None:  # detect_anomaly(): check the result
                _anomaly.hook.forward(self, inputs, (y,))
            return y
        outputs = [_output(y, creator, gen) for y in ys]
        if creator is not None:
            self.outputs = tuple([_weakref(y) for y in outputs])
        if _anomaly.hook is not None:
            _anomaly.hook.forward(self, inputs, outputs)
        return outputs

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


# ----------------------------------------------------------------------------- backward
def _backprop(root, retain_grad, create_graph):
    """Send ``root.grad`` back to every Variable ``root`` depends on.

    Functions run latest generation first (a heap), so each runs after every consumer of
    its outputs delivered its gradient. A Variable used twice gets the sum of its gradients:
    raw arrays (added in place when this pass owns the sum) unless ``create_graph``.
    """
    hook = _anomaly.hook  # detect_anomaly(): run each backward through the checking hook
    sum_with_ops = create_graph or hook is not None  # record (and check) the sums too
    push, pop = heapq.heappush, heapq.heappop
    heap = [(-root.creator.generation, 0, root.creator)]  # ties: first queued, first run
    queued = {root.creator}
    fresh = {root}  # non-leaves given a gradient in this pass (an older retained .grad is stale)
    owned = {}  # Variable -> the gradient Variable this pass summed for it alone
    while heap:
        f = pop(heap)[2]
        # 1. f's backward on its outputs' gradients (None for an output gone or without one)
        if len(f.outputs) == 1:  # the usual case; f was queued for this output's gradient
            y = f.outputs[0]()
            gy = None if y is None else y.grad
            gxs = f.backward(gy) if hook is None else hook.backward(f, (gy,))
            if y is not None and not retain_grad:
                y.grad = None  # an intermediate's gradient is dropped once used
        else:
            ys = [r() for r in f.outputs]
            gys = [y.grad if y is not None and y in fresh else None for y in ys]
            gxs = f.backward(*gys) if hook is None else hook.backward(f, gys)
            for y in ys:
                if y is not None and not retain_grad:
                    y.grad = None
        if type(gxs) is not tuple:
            gxs = (gxs,)
        # 2. add each input's gradient to its .grad; queue its creator on its first one
        for x, gx in zip(f.inputs, gxs):
            if gx is None:
                continue
            if gx.data.shape != x.data.shape:
                raise OpError(f"{type(f).__name__}.backward returned a gradient of shape "
                              f"{gx.shape} for an input of shape {x.shape}")
            c, xg = x.creator, x.grad
            if xg is None or (c is not None and x not in fresh):
                x.grad = gx  # the first gradient x gets in this pass
                if c is not None:
                    fresh.add(x)
                    if c not in queued:
                        queued.add(c)
                        push(heap, (-c.generation, len(queued), c))
            elif sum_with_ops:
                x.grad = xg + gx
            elif owned.get(x) is xg:
                xg.data += gx.data  # an array this pass made for x alone: add in place
            else:
                x.grad = owned[x] = _output(xg.data + gx.data)
