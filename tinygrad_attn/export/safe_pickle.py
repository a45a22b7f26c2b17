"""Reading pickled NumPy weights without running any code from the file.

A pickle is a small program: every ``GLOBAL``/``STACK_GLOBAL`` opcode names a Python object
(any importable callable), and ``REDUCE``/``BUILD`` call it. :func:`load_arrays` reads a pickle
with an unpickler whose ``find_class`` admits only the few names a list, tuple or dict of
NumPy arrays needs, and even those are replaced by stand-ins written here that check their
arguments and build the arrays with ``numpy.frombuffer``:

==============================================  ===========================================
name in the file                                stand-in
==============================================  ===========================================
``numpy.core.multiarray._reconstruct``          an empty array builder (class must be the
``numpy._core.multiarray._reconstruct``         ``numpy.ndarray`` stand-in)
``numpy.ndarray``                               the array class marker; called as
                                                ``ndarray(shape, dtype, buffer)`` it builds the
                                                array from raw bytes
``numpy.dtype``                                 a dtype builder: real numbers and booleans only
``_codecs.encode``                              ``str -> bytes`` in latin-1 only (how protocol-2
                                                pickles store bytes)
==============================================  ===========================================

Every other name is refused with one line naming it (:class:`UnsafePickleError`), before
it is imported. This is the idea of PyTorch's ``torch.load(weights_only=True)``. Sizes are
bounded before work: the file size, the nesting depth, the number of arrays and every
array's byte count (which must match its shape and dtype exactly).
"""
from __future__ import annotations

import io
import math
import os
import pickle

import numpy as np

from ..validate import input_file, open_input

__all__ = ["load_arrays", "loads_arrays", "UnsafePickleError", "MAX_PICKLE_BYTES", "ALLOWED_GLOBALS"]

MAX_PICKLE_BYTES = 1 << 30
"""Largest pickle file read (1 GiB); larger files are refused before being read."""
MAX_DEPTH = 8
MAX_ITEMS = 100_000
_DTYPE_CODES = frozenset(["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"])


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names something other than what plain NumPy arrays need, or is malformed."""


class _StandIn:
    """Base of the stand-ins: no ``__dict__`` for a ``BUILD`` opcode to write into."""

    __slots__ = ()

    def __setstate__(self, state):
        raise UnsafePickleError(f"the pickle sets the state of {type(self).__name__}; refused")


class _ArrayClass(_StandIn):
    """Stand-in for ``numpy.ndarray`` (the class argument of ``_reconstruct``, or called
    as ``ndarray(shape, dtype, buffer)``)."""

    __slots__ = ()

    def __call__(self, shape, dtype, buffer=None, *rest):
        if rest or buffer is None:
            raise UnsafePickleError("numpy.ndarray(...) in the pickle has arguments other than "
                                    "(shape, dtype, buffer); refused")
        return _build(_check_shape(shape), _check_dtype(dtype), buffer)


_NDARRAY = _ArrayClass()


class _ArrayBuilder:
    """What ``_reconstruct`` returns: ``BUILD`` then hands it the array's state."""

    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise UnsafePickleError(f"an array's state must be (version, shape, dtype, "
                                    f"fortran, data), got {type(state).__name__} of length "
                                    f"{len(state) if isinstance(state, tuple) else '?'}")
        _, shape, dtype, fortran, data = state
        if not isinstance(fortran, bool):
            raise UnsafePickleError(f"an array's fortran flag must be a bool, got {fortran!r}")
        shape, dtype = _check_shape(shape), _check_dtype(dtype)
        arr = _build(shape[::-1] if fortran else shape, dtype, data)
        self.array = arr.T if fortran else arr


class _Reconstruct(_StandIn):
    """Stand-in for ``numpy.core.multiarray._reconstruct``: returns an empty array builder."""

    __slots__ = ()

    def __call__(self, cls, shape=None, typecode=None):
        if cls is not _NDARRAY:
            raise UnsafePickleError(f"_reconstruct of {type(cls).__name__}: only plain "
                                    "numpy.ndarray is admitted")
        return _ArrayBuilder()


_reconstruct = _Reconstruct()


class _DtypeBuilder:
    __slots__ = ("dtype", "code")

    def __init__(self, code, align=False, copy=True):
        if not isinstance(code, str) or code not in _DTYPE_CODES:
            raise UnsafePickleError(f"dtype {code!r} in the pickle: only real numbers and "
                                    f"booleans are admitted ({', '.join(sorted(_DTYPE_CODES))})")
        self.code = code
        self.dtype = np.dtype(code)

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise UnsafePickleError(f"dtype state {state!r} is not a plain number dtype's")
        if any(s is not None for s in state[2:5]):
            raise UnsafePickleError("structured or sub-array dtypes are refused")
        if state[1] in "<>":
            self.dtype = self.dtype.newbyteorder(state[1])


class _CodecsEncode(_StandIn):
    """Stand-in for ``_codecs.encode``: ``str -> bytes`` in latin-1 only."""

    __slots__ = ()

    def __call__(self, text, encoding="latin1"):
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise UnsafePickleError(f"_codecs.encode({type(text).__name__}, {encoding!r}): only "
                                    "str -> bytes in latin-1 is admitted")
        return text.encode("latin-1")


_codecs_encode = _CodecsEncode()


ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeBuilder,
    ("_codecs", "encode"): _codecs_encode,
}
"""The only names a pickle may use, mapped to the stand-ins that replace them."""


def _check_shape(shape):
    if not (isinstance(shape, tuple) and len(shape) <= 32
            and all(type(n) is int and 0 <= n for n in shape)):
        raise UnsafePickleError(f"an array shape must be a tuple of non-negative ints, got {shape!r}")
    return shape


def _check_dtype(dtype):
    if not isinstance(dtype, _DtypeBuilder):
        raise UnsafePickleError(f"an array dtype must be a numpy.dtype, got {type(dtype).__name__}")
    return dtype.dtype


def _build(shape, dtype, data):
    if isinstance(data, str):  # protocol 0-2 may store the bytes as a latin-1 str
        data = data.encode("latin-1")
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError(f"an array's data must be bytes, got {type(data).__name__}")
    need = math.prod(shape) * dtype.itemsize
    if len(data) != need:
        raise UnsafePickleError(f"an array of shape {shape} and dtype {dtype} needs {need} bytes, "
                                f"the pickle holds {len(data)}")
    return np.frombuffer(bytes(data), dtype=dtype).reshape(shape).copy()


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        key = (module, name)
        if key not in ALLOWED_GLOBALS:
            raise UnsafePickleError(f"the pickle names {module}.{name}; refused (only NumPy "
                                    "arrays in lists, tuples and dicts are read, no code runs)")
        return ALLOWED_GLOBALS[key]

    def persistent_load(self, pid):
        raise UnsafePickleError("the pickle uses persistent ids; refused")


def _finish(obj, depth=0, count=None):
    """Replace array builders by their arrays; refuse anything but arrays in containers."""
    count = [0] if count is None else count
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        raise UnsafePickleError(f"the pickle nests deeper than {MAX_DEPTH} or holds more than "
                                f"{MAX_ITEMS} items; refused")
    if isinstance(obj, _ArrayBuilder):
        if obj.array is None:
            raise UnsafePickleError("an array in the pickle has no data")
        return obj.array
    if isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, list):
        return [_finish(v, depth + 1, count) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_finish(v, depth + 1, count) for v in obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise UnsafePickleError(f"a dict key in the pickle is {type(k).__name__}; "
                                        "only str and int keys are admitted")
            out[k] = _finish(v, depth + 1, count)
        return out
    if obj is None or type(obj) in (int, float, str, bool):
        return obj
    raise UnsafePickleError(f"the pickle holds a {type(obj).__name__}; only NumPy arrays in "
                            "lists, tuples and dicts are admitted")


def loads_arrays(data: bytes, source: str = "pickle"):
    """Unpickle ``data`` (bytes) that must hold NumPy arrays in lists/tuples/dicts; no code runs.

    Raises:
        UnsafePickleError: a name outside :data:`ALLOWED_GLOBALS`, a non-number dtype, an
            array whose bytes do not match its shape, or an object other than arrays in
            containers; the message starts with ``source``.
    """
    if len(data) > MAX_PICKLE_BYTES:
        raise UnsafePickleError(f"{source}: {len(data):,} bytes is larger than the "
                                f"{MAX_PICKLE_BYTES:,} bytes read; refused")
    try:
        obj = _Unpickler(io.BytesIO(data)).load()
        return _finish(obj)
    except UnsafePickleError as e:   # names from the file may hold any character: one line
        raise UnsafePickleError(f"{source}: " + " ".join(str(e).split())) from None
    except RecursionError:
        raise UnsafePickleError(f"{source}: the pickle nests too deeply; refused") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, KeyError,
            IndexError, OverflowError, MemoryError, UnicodeDecodeError) as e:
        what = "truncated" if isinstance(e, EOFError) or "truncated" in str(e) else "not a valid pickle"
        detail = " ".join(repr(str(e))[1:-1].split())[:200]   # one line, whatever the file held
        raise UnsafePickleError(f"{source}: {what} ({type(e).__name__}: {detail})") from None


def load_arrays(path, max_bytes: int = MAX_PICKLE_BYTES):
    """Read a pickle file of NumPy arrays (e.g. the book's ``save_params`` output) safely.

    The file size is checked before it is read; see :func:`loads_arrays`.

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: as :func:`loads_arrays`, or the file is larger than ``max_bytes``.
    """
    path = os.fspath(path)
    try:  # regular files only, checked before any open (a FIFO would block)
        size = input_file(path, "pickle file", error=UnsafePickleError)
    except FileNotFoundError:
        raise FileNotFoundError(f"pickle file not found: {path}") from None
    if size > max_bytes:
        raise UnsafePickleError(f"{path}: {size:,} bytes is larger than the {max_bytes:,} bytes "
                                "read; refused")
    with open_input(path, "pickle file", error=UnsafePickleError) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafePickleError(f"{path}: larger than the {max_bytes:,} bytes read; refused")
    return loads_arrays(data, source=path)
