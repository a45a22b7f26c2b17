"""Array modules and devices: NumPy on the host, CuPy on a GPU, the strict stand-in.

Every op asks its data which array module to use (:func:`get_array_module`),
so the same op code runs on NumPy arrays, CuPy arrays, and the *strict
stand-in* arrays used by the test suite. Devices are named ``"cpu"``,
``"cuda"`` (alias ``"gpu"``) and ``"strict"``; :func:`as_device` and
:func:`as_numpy` are the only ways across.

The strict stand-in itself (:class:`StrictArray` and its module :data:`strict`)
lives in :mod:`tinygrad_attn.testing.strict` and is re-exported here.

CuPy is optional: it is imported the first time a GPU is asked for
(:func:`gpu_available`, :func:`as_device` with ``"cuda"``) or a CuPy array is
seen; without it, moving to ``"cuda"`` raises :class:`GPUUnavailableError`.

This module sits under the engine: it imports nothing from :mod:`tinygrad_attn.core` or above.
"""
from __future__ import annotations

import numbers

import numpy as np

from .testing.strict import StrictArray, strict

__all__ = [
    "get_array_module", "as_numpy", "as_device", "device_of", "gpu_available",
    "StrictArray", "strict", "scatter_add", "GPUUnavailableError", "DEVICES", "as_array",
    "is_scalar", "keep_host_memory",
]

DEVICES = ("cpu", "cuda", "strict")

_GPU_HINT = 'install the GPU extra with: pip install "tinygrad-attn[gpu]" (CuPy for CUDA 12)'


class GPUUnavailableError(RuntimeError):
    """Raised when a GPU is requested but CuPy or a CUDA device is missing.

    The message says which of the two is missing and how to install the GPU extra
    (``pip install "tinygrad-attn[gpu]"``).
    """


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
    """Tell whether the ``"cuda"`` device can be used.

    Returns:
        True when CuPy imports and sees at least one CUDA device (probed once, then cached).
    """
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
    if _is_cupy_array(x):
        return _cupy
    return np


def _is_cupy_array(x) -> bool:
    """True for a CuPy array (loads CuPy on first sight of one, e.g. made with cupy directly)."""
    if _cupy is None:
        if _cupy_checked or not type(x).__module__.startswith("cupy"):
            return False
        _load_cupy()
    return _cupy is not None and isinstance(x, _cupy.ndarray)


def device_of(x) -> str:
    """Name the device of an array or Variable.

    Args:
        x: an array of any shape (NumPy, CuPy or StrictArray), a Variable, or a scalar.

    Returns:
        ``"cpu"`` (also for scalars and lists), ``"cuda"`` or ``"strict"``.
    """
    xp = get_array_module(x)
    if xp is np:
        return "cpu"
    if xp is strict:
        return "strict"
    return "cuda"


def as_numpy(x):
    """Copy ``x`` to the host as a ``numpy.ndarray`` (no copy when it already is one).

    Args:
        x: an array on any device, a Variable, a Python/NumPy scalar, or a nested list.

    Returns:
        numpy.ndarray: the same shape, dtype and values as ``x``.
    """
    data = getattr(x, "data", x) if not isinstance(x, np.ndarray) and hasattr(x, "creator") else x
    if type(data) is np.ndarray:
        return data
    if type(data) is StrictArray:
        return data._a.copy()
    if _is_cupy_array(data):
        return _cupy.asnumpy(data)
    return np.asarray(data)


def as_device(x, device: str):
    """Return array ``x`` on ``device`` (``"cpu"``, ``"cuda"``/``"gpu"`` or ``"strict"``).

    Args:
        x: an array on any device (or a Variable, scalar or nested list), any shape.
        device: the target device name.

    Returns:
        An array of the device's type with the shape, dtype and values of ``x``: ``x``
        itself when it is already there, otherwise a copy.

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
    if xp is np and _rows_scatter(a, indices, values):
        return
    if xp is np or xp is strict:
        xp.add.at(a, indices, values)
    else:  # CuPy
        import cupyx  # lazy: CuPy is the optional gpu extra

        cupyx.scatter_add(a, indices, values)


def _rows_scatter(a, indices, values):
    """``a[ids] += values`` for one integer index array over a's first axis, as sort, segment
    sums (``add.reduceat``) and one add per distinct row: several times faster than the
    unbuffered ``add.at`` for an embedding's gradient. Returns False (nothing done) for any
    other indexing, which ``add.at`` then handles.
    """
    if (type(indices) is not np.ndarray or indices.dtype.kind not in "iu" or a.ndim < 1
            or type(values) is not np.ndarray
            or values.shape != indices.shape + a.shape[1:] or indices.size == 0):
        return False
    ids = indices.ravel()
    rows = values.reshape((ids.size,) + a.shape[1:])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    if ids[0] < 0:          # negative ids alias rows: leave them to add.at
        return False
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    a[ids[starts]] += np.add.reduceat(rows[order], starts, axis=0)
    return True


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3     # glibc mallopt() parameters


def keep_host_memory(mmap_threshold_mb=32, trim_threshold_mb=1024):
    """Let the C allocator keep freed host memory for reuse (glibc only; a process-wide setting).

    A training step allocates and frees hundreds of temporary arrays of a few MiB. By default
    glibc serves large blocks by fresh ``mmap`` calls and hands freed memory back to the
    system, so each new array costs page faults on its first touch (kernel time that counts
    as the process's CPU time). Raising the two thresholds keeps such blocks in the heap, where
    the next step reuses them; the resident memory then stays near its peak instead of
    shrinking between steps.

    Args:
        mmap_threshold_mb: blocks at least this large still get their own mapping (glibc's
            maximum is 32 MiB on 64-bit systems).
        trim_threshold_mb: free memory at the top of the heap kept before trimming.

    Returns:
        True if both settings were applied, False where they cannot be (not glibc, e.g.
        macOS, Windows or musl); nothing changes then.
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold_mb * 2**20))
    ok &= mallopt(_M_TRIM_THRESHOLD, int(min(trim_threshold_mb * 2**20, 2**31 - 1)))
    return bool(ok)


def is_scalar(x) -> bool:
    """True for Python and NumPy scalars (not arrays)."""
    return isinstance(x, (numbers.Number, np.generic))


_NUMERIC_KINDS = "biuf"


def as_array(x, xp=np, dtype=None):
    """Turn ``x`` (array, scalar or nested list of numbers) into an array of module ``xp``.

    Args:
        x: an array of any device (returned as is), a number, or a nested list of numbers.
        xp: the array module that makes the array when ``x`` is not one already.
        dtype: the dtype to make it with (default: NumPy's choice).

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
