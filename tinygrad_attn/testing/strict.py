"""The strict stand-in device: NumPy-backed arrays that refuse what CuPy refuses.

The device named ``"strict"`` exists to prove, on a CPU-only machine, that nothing in
the library calls NumPy directly on device data. Its arrays are a distinct type
(:class:`StrictArray`) and its array module is :data:`strict` (a proxy of NumPy whose
functions take and return StrictArrays). They refuse:

* mixing a host ``numpy.ndarray`` into a device operation (an operator,
  indexing, assignment, a function of :data:`strict`): ``TypeError: Unsupported type
  <class 'numpy.ndarray'> ...``;
* implicit conversion to the host (``numpy.asarray(a)``, ``numpy.array(a)``,
  ``float(a)`` on a non-scalar, ``a.tolist()``, pickling): ``TypeError``;
* calling a ``numpy.*`` function or ufunc on a device array (``numpy.sum(a)``,
  ``numpy.exp(a)``): ``TypeError`` (device code must use the module returned by
  :func:`tinygrad_attn.backend.get_array_module`).

Python and NumPy scalars mix freely with device arrays, as on CuPy. Only
:func:`tinygrad_attn.backend.as_numpy` / :func:`~tinygrad_attn.backend.as_device` cross
between host and device. The stand-in is slow; it is for tests, not for training.

This module knows nothing of the rest of the library (it imports only NumPy);
:mod:`tinygrad_attn.backend` dispatches to it.
"""
from __future__ import annotations

import numbers
import operator as _op
import types

import numpy as np

__all__ = ["StrictArray", "strict"]


def _is_host_array(x) -> bool:
    return isinstance(x, np.ndarray) and not isinstance(x, StrictArray)


def _unwrap(x, where: str):
    """Strip StrictArray wrappers from (nested) arguments; refuse host arrays."""
    t = type(x)
    if t is StrictArray:
        return x._a
    if t is np.ndarray:
        raise TypeError(
            f"Unsupported type {t} in {where}: a host numpy.ndarray of shape {x.shape} was mixed "
            "into a device operation (create it with the array module of the data, or move it "
            "with tinygrad_attn.backend.as_device)")
    if t is tuple or t is list:
        return t(_unwrap(v, where) for v in x)
    if t is dict:
        return {k: _unwrap(v, where) for k, v in x.items()}
    return x


def _wrap(x):
    if type(x) is np.ndarray:
        return StrictArray(x)
    if isinstance(x, np.generic):
        return StrictArray(np.asarray(x))
    if type(x) is tuple or type(x) is list:
        return type(x)(_wrap(v) for v in x)
    return x


def _operand(x, where: str):
    """The raw value of an operator's other operand, or NotImplemented for foreign types."""
    t = type(x)
    if t is StrictArray:
        return x._a
    if t is np.ndarray:
        _unwrap(x, where)  # raises the "Unsupported type" TypeError
    if isinstance(x, (numbers.Number, np.generic)):
        return x
    return NotImplemented  # e.g. a Variable: let its reflected operator run


def _binary(op, iop, name):
    """The forward, reflected and in-place operator methods of StrictArray for ``op``."""
    def forward(self, other):
        o = _operand(other, name)
        return NotImplemented if o is NotImplemented else _wrap(op(self._a, o))

    def reflected(self, other):
        o = _operand(other, name)
        return NotImplemented if o is NotImplemented else _wrap(op(o, self._a))

    def inplace(self, other):
        o = _operand(other, name)
        if o is NotImplemented:
            return NotImplemented
        self._a = iop(self._a, o)
        return self

    return forward, reflected, inplace


# ufuncs that a NumPy scalar on the left of a Python operator turns into (np.float32(2) * a)
_OPERATOR_UFUNCS = {
    "add", "subtract", "multiply", "true_divide", "divide", "floor_divide", "remainder", "power",
    "matmul", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal",
}

# ndarray attributes that would hand out host memory (CuPy has no such attributes)
_HOST_ATTRS = {"data", "ctypes", "tobytes", "tostring", "tofile", "dump", "dumps"}


class StrictArray:
    """An array on the strict stand-in device (wraps a NumPy array, refuses host mixing).

    Operators (``+ - * / ** @ == < & ...``) work between StrictArrays and with Python or
    NumPy scalars; with a host ``numpy.ndarray`` they raise ``TypeError``; with any other
    type (e.g. a :class:`~tinygrad_attn.Variable`) they return ``NotImplemented`` so the
    other operand's reflected operator runs. Array methods and attributes (``.sum()``,
    ``.reshape()``, ``.astype()``, ``.shape``, ...) are those of NumPy, returning StrictArrays.

    Args:
        a (numpy.ndarray): the data, of any shape and dtype; it is not copied.

    Raises:
        TypeError: when ``a`` is not a ``numpy.ndarray``.
    """

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a):
        if type(a) is not np.ndarray:
            raise TypeError(f"StrictArray wraps numpy.ndarray, got {type(a)}")
        self._a = a

    # --- conversions that CuPy refuses
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion of a strict device array to a NumPy array is not "
                        "allowed; use tinygrad_attn.backend.as_numpy() explicitly")

    def tolist(self):
        """Refused: implicit host conversion (use :func:`tinygrad_attn.backend.as_numpy`)."""
        raise TypeError("StrictArray.tolist() is an implicit host transfer; use as_numpy() first")

    def __float__(self):
        if self._a.size != 1:
            raise TypeError(f"only size-1 device arrays convert to float, got shape {self._a.shape}")
        return float(self._a.reshape(()))

    def __int__(self):
        if self._a.size != 1:
            raise TypeError(f"only size-1 device arrays convert to int, got shape {self._a.shape}")
        return int(self._a.reshape(()))

    def __bool__(self):
        if self._a.size != 1:
            raise ValueError("truth value of a device array with more than one element is ambiguous")
        return bool(self._a.reshape(()))

    def __index__(self):
        if self._a.ndim != 0 or self._a.dtype.kind not in "iu":
            raise TypeError("only integer scalar device arrays can be used as an index")
        return int(self._a)

    def item(self):
        """Return the single element as a Python scalar (like CuPy's ``item``)."""
        return self._a.item()

    def get(self):
        """Copy to the host (CuPy's spelling of :func:`tinygrad_attn.backend.as_numpy`)."""
        return self._a.copy()

    def __format__(self, spec):  # CuPy formats (a copy on the host) too
        return format(self._a, spec)

    def __copy__(self):
        return StrictArray(self._a.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._a.copy())

    # --- operators
    __add__, __radd__, __iadd__ = _binary(_op.add, _op.iadd, "add")
    __sub__, __rsub__, __isub__ = _binary(_op.sub, _op.isub, "subtract")
    __mul__, __rmul__, __imul__ = _binary(_op.mul, _op.imul, "multiply")
    __truediv__, __rtruediv__, __itruediv__ = _binary(_op.truediv, _op.itruediv, "true_divide")
    __floordiv__, __rfloordiv__, __ifloordiv__ = _binary(_op.floordiv, _op.ifloordiv, "floor_divide")
    __mod__, __rmod__, __imod__ = _binary(_op.mod, _op.imod, "remainder")
    __pow__, __rpow__, __ipow__ = _binary(_op.pow, _op.ipow, "power")
    __matmul__, __rmatmul__, __imatmul__ = _binary(_op.matmul, _op.imatmul, "matmul")
    __and__, __rand__, __iand__ = _binary(_op.and_, _op.iand, "bitwise_and")
    __or__, __ror__, __ior__ = _binary(_op.or_, _op.ior, "bitwise_or")
    __xor__, __rxor__, __ixor__ = _binary(_op.xor, _op.ixor, "bitwise_xor")
    __lshift__, __rlshift__, __ilshift__ = _binary(_op.lshift, _op.ilshift, "left_shift")
    __rshift__, __rrshift__, __irshift__ = _binary(_op.rshift, _op.irshift, "right_shift")
    __eq__ = _binary(_op.eq, None, "equal")[0]
    __ne__ = _binary(_op.ne, None, "not_equal")[0]
    __lt__ = _binary(_op.lt, None, "less")[0]
    __le__ = _binary(_op.le, None, "less_equal")[0]
    __gt__ = _binary(_op.gt, None, "greater")[0]
    __ge__ = _binary(_op.ge, None, "greater_equal")[0]
    __hash__ = None

    def __neg__(self):
        return _wrap(-self._a)

    def __pos__(self):
        return _wrap(+self._a)

    def __abs__(self):
        return _wrap(abs(self._a))

    def __invert__(self):
        return _wrap(~self._a)

    # --- numpy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # Reached only from NumPy: a host ndarray or NumPy scalar on the left of an operator,
        # or a numpy.<ufunc>(...) call on device data.
        where = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        ins = _unwrap(inputs, where)  # refuses host ndarrays ("Unsupported type")
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], where)
        scalar_left = (method == "__call__" and len(inputs) == 2 and not kwargs
                       and ufunc.__name__ in _OPERATOR_UFUNCS
                       and isinstance(inputs[0], (numbers.Number, np.generic))
                       and type(inputs[1]) is StrictArray)
        if not scalar_left:
            raise TypeError(
                f"numpy.{where} was called on a strict device array; device code must use the "
                "module from tinygrad_attn.backend.get_array_module(x)")
        return _wrap(getattr(ufunc, method)(*ins, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(
            f"numpy.{func.__name__} was called on a strict device array; device code must use "
            "the module from tinygrad_attn.backend.get_array_module(x)")

    # --- array interface
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: StrictArray(self._a.T))
    flags = property(lambda self: self._a.flags)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for v in self._a:
            yield _wrap(v)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "__getitem__")])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "__setitem__")] = _unwrap(value, "__setitem__")

    def __getattr__(self, name):
        # Only for names not defined on the class: NumPy's array methods and attributes.
        # Dunder names (``__array_interface__``, ``__dlpack__``, ...) and host-memory
        # attributes are refused, so NumPy cannot read the data behind our back.
        if name.startswith("__") or name == "_a":
            raise AttributeError(name)
        if name in _HOST_ATTRS:
            raise AttributeError(f"StrictArray has no host-memory attribute {name!r}; "
                                 "use tinygrad_attn.backend.as_numpy() to copy to the host")
        attr = getattr(self._a, name)
        return _on_device(attr, name) if callable(attr) else _wrap(attr)

    def __repr__(self):
        return "strict_" + repr(self._a)

    def __reduce__(self):
        raise TypeError("strict device arrays cannot be pickled")


def _on_device(func, name):
    """``func`` made a device function: StrictArray arguments unwrapped (host arrays refused,
    naming ``name``), array results wrapped as StrictArrays."""
    def fn(*args, **kwargs):
        return _wrap(func(*_unwrap(args, name), **_unwrap(kwargs, name)))
    fn.__name__ = name
    return fn


class _StrictModule:
    """A module-like proxy of NumPy whose functions take and return StrictArrays."""

    _TRANSFER = {"asarray", "array", "ascontiguousarray"}

    def __init__(self, mod, name):
        self._mod = mod
        self.__name__ = name

    def __getattr__(self, name):
        attr = getattr(self._mod, name)
        if isinstance(attr, types.ModuleType):
            return _StrictModule(attr, f"{self.__name__}.{name}")
        if isinstance(attr, np.ufunc):
            return _StrictUfunc(attr)
        if isinstance(attr, type) or not callable(attr):
            return attr
        transfer = name in self._TRANSFER

        def fn(*args, **kwargs):
            if transfer and args and _is_host_array(args[0]):
                # explicit host -> device copy, like cupy.asarray(numpy_array)
                return _wrap(np.array(attr(*args, **kwargs), copy=True))
            out = attr(*_unwrap(args, name), **_unwrap(kwargs, name))
            if isinstance(out, (np.random.Generator, np.random.RandomState)):
                return _StrictObject(out)  # strict.random.default_rng(): draws on the device
            return _wrap(out)
        fn.__name__ = name
        setattr(self, name, fn)
        return fn

    def __repr__(self):
        return f"<strict stand-in module {self.__name__}>"


class _StrictObject:
    """A proxy of a NumPy object (e.g. a random Generator) whose methods return StrictArrays."""

    def __init__(self, obj):
        self._obj = obj

    def __getattr__(self, name):
        if name.startswith("__") or name == "_obj":
            raise AttributeError(name)
        attr = getattr(self._obj, name)
        return _on_device(attr, name) if callable(attr) else _wrap(attr)

    def __repr__(self):
        return f"<strict stand-in {type(self._obj).__name__}>"


class _StrictUfunc:
    """A proxy of a NumPy ufunc: calls and methods (``strict.add.at``) on StrictArrays."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__
        self._call = _on_device(uf, uf.__name__)

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, method):
        return _on_device(getattr(self._uf, method), f"{self.__name__}.{method}")


strict = _StrictModule(np, "strict")
"""The stand-in device's array module (a proxy of NumPy returning StrictArrays)."""
