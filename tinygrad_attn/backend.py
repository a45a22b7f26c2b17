"""Array modules: NumPy on the host, CuPy on a GPU, and a strict stand-in device.

Every op asks its data which array module to use (:func:`get_array_module`),
so the same op code runs on NumPy arrays, CuPy arrays, and the *strict
stand-in* arrays used by the test suite.

The strict stand-in (device name ``"strict"``) is a NumPy-backed device whose
arrays are a distinct type (:class:`StrictArray`) and refuse what CuPy refuses:

* mixing a host ``numpy.ndarray`` into a device operation raises ``TypeError``;
* implicit conversion to the host (``numpy.asarray(a)``, ``float(a)`` on a
  non-scalar, ``a.tolist()``) raises ``TypeError``;
* calling a ``numpy.*`` function on a device array raises ``TypeError``
  (device code must use the module returned by :func:`get_array_module`).

Only :func:`as_numpy` / :func:`as_device` cross between host and device. The
stand-in is slow and exists to prove, on a CPU-only machine, that nothing in
the library calls NumPy directly on device data.
"""
from __future__ import annotations

import numbers
import types

import numpy as np

__all__ = [
    "get_array_module", "as_numpy", "as_device", "device_of", "gpu_available",
    "StrictArray", "strict", "scatter_add", "GPUUnavailableError", "DEVICES",
]

DEVICES = ("cpu", "cuda", "strict")

_GPU_HINT = 'install the GPU extra with: pip install "tinygrad-attn[gpu]" (CuPy for CUDA 12)'


class GPUUnavailableError(RuntimeError):
    """Raised when a GPU is requested but CuPy or a CUDA device is missing."""


# ----------------------------------------------------------------------------- CuPy
_cupy = None
_cupy_checked = False


def _load_cupy():
    """Return the ``cupy`` module if it imports and sees a device, else ``None``."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: F401

            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # ImportError, CUDA driver errors, ...
            _cupy = None
    return _cupy


def gpu_available() -> bool:
    """Return True when CuPy is installed and at least one CUDA device is visible."""
    return _load_cupy() is not None


def _require_cupy():
    cp = _load_cupy()
    if cp is None:
        try:
            import cupy  # noqa: F401

            reason = "CuPy is installed but no CUDA device is visible"
        except Exception:
            reason = "CuPy is not installed"
        raise GPUUnavailableError(f"cannot move to the GPU: {reason}; {_GPU_HINT}")
    return cp


# ----------------------------------------------------------------------------- strict stand-in
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


class StrictArray(np.lib.mixins.NDArrayOperatorsMixin):
    """An array on the strict stand-in device (wraps a NumPy array, refuses host mixing).

    Args:
        a (numpy.ndarray): the data; it is not copied.
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
        """Refused: implicit host conversion (use :func:`as_numpy`)."""
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
        """Copy to the host (CuPy's spelling of :func:`as_numpy`)."""
        return self._a.copy()

    # --- numpy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        ins = _unwrap(inputs, where)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], where)
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
        attr = getattr(self._a, name)
        if callable(attr):
            def method(*args, **kwargs):
                return _wrap(attr(*_unwrap(args, name), **_unwrap(kwargs, name)))
            return method
        return _wrap(attr)

    def __repr__(self):
        return "strict_" + repr(self._a)

    def __reduce__(self):
        raise TypeError("strict device arrays cannot be pickled")


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
                args = (args[0],) + tuple(args[1:])  # explicit host -> device copy, like cupy.asarray
                return _wrap(np.array(attr(*args, **kwargs), copy=True))
            return _wrap(attr(*_unwrap(args, name), **_unwrap(kwargs, name)))
        fn.__name__ = name
        setattr(self, name, fn)
        return fn

    def __repr__(self):
        return f"<strict stand-in module {self.__name__}>"


class _StrictUfunc:
    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        return _wrap(self._uf(*_unwrap(args, self.__name__), **_unwrap(kwargs, self.__name__)))

    def __getattr__(self, method):
        m = getattr(self._uf, method)

        def fn(*args, **kwargs):
            return _wrap(m(*_unwrap(args, f"{self.__name__}.{method}"),
                           **_unwrap(kwargs, f"{self.__name__}.{method}")))
        return fn


strict = _StrictModule(np, "strict")
"""The stand-in device's array module (a proxy of NumPy returning StrictArrays)."""


# ----------------------------------------------------------------------------- dispatch
def get_array_module(x):
    """Return the array module (numpy, cupy or the strict stand-in) of ``x``.

    Args:
        x: an array, a :class:`~tinygrad_attn.Variable`, or a scalar.

    Returns:
        The module whose functions create arrays on the same device as ``x``.
    """
    t = type(x)
    if t is np.ndarray:
        return np
    if t is StrictArray:
        return strict
    data = getattr(x, "data", None)
    if data is not None and not isinstance(x, (np.ndarray, memoryview)) and hasattr(data, "shape"):
        return get_array_module(data)  # a Variable
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy
    return np


def device_of(x) -> str:
    """Return ``"cpu"``, ``"cuda"`` or ``"strict"`` for an array or Variable."""
    xp = get_array_module(x)
    if xp is np:
        return "cpu"
    if xp is strict:
        return "strict"
    return "cuda"


def as_numpy(x):
    """Copy ``x`` to the host as a ``numpy.ndarray`` (no copy when it already is one).

    Args:
        x: an array on any device, a Variable, or a Python/NumPy scalar.
    """
    data = getattr(x, "data", x) if not isinstance(x, np.ndarray) and hasattr(x, "creator") else x
    if type(data) is np.ndarray:
        return data
    if type(data) is StrictArray:
        return data._a.copy()
    if _cupy is not None and isinstance(data, _cupy.ndarray):
        return _cupy.asnumpy(data)
    return np.asarray(data)


def as_device(x, device: str):
    """Return array ``x`` on ``device`` (``"cpu"``, ``"cuda"``/``"gpu"`` or ``"strict"``).

    Raises:
        GPUUnavailableError: for ``"cuda"`` when CuPy or a CUDA device is missing.
        ValueError: for an unknown device name.
    """
    if device == "gpu":
        device = "cuda"
    if device == "cpu":
        return as_numpy(x)
    if device == "strict":
        if type(x) is StrictArray:
            return x
        return StrictArray(np.array(as_numpy(x), copy=True))
    if device == "cuda":
        cp = _require_cupy()
        if isinstance(x, cp.ndarray):
            return x
        return cp.asarray(as_numpy(x))
    raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")


def scatter_add(xp, a, indices, values):
    """In place ``a[indices] += values`` with repeated indices accumulating.

    Args:
        xp: the array module of ``a``.
        a: destination array (modified in place).
        indices: an index expression (tuple of ints, slices, integer arrays).
        values: values broadcastable to ``a[indices]``.
    """
    if xp is np or xp is strict:
        xp.add.at(a, indices, values)
    else:  # CuPy
        import cupyx

        cupyx.scatter_add(a, indices, values)


def is_scalar(x) -> bool:
    """True for Python and NumPy scalars (not arrays)."""
    return isinstance(x, (numbers.Number, np.generic))
