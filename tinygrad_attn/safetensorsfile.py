"""Checkpoint files in the safetensors format: the same arrays and JSON metadata as an ``.npz``.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's
dtype, shape and byte range, plus a ``"__metadata__"`` object of strings) and the raw bytes:
no code, nothing to unpickle. Our JSON metadata document (the one
:mod:`tinygrad_attn.npzfile` stores under ``__meta__``) goes into ``__metadata__`` as the
string :data:`META_NAME`. The functions mirror :mod:`~tinygrad_attn.npzfile`'s, so the
checkpoint module reads either format the same way: the header (bounded in size) is read and
checked first, every tensor's dtype, shape and byte range against the file, then ``validate``
runs, and only then is tensor data read.

Needs the ``safetensors`` package (``pip install 'tinygrad-attn[export]'``), imported only
when a safetensors file is written or its data read.
"""
from __future__ import annotations

import json
import math
import os
import stat
import struct

import numpy as np

from .backend import as_numpy
from .files import atomic_write
from .npzfile import MAX_ARRAY_ELEMENTS, MAX_META_CHARS, CheckpointError, StoredArray
from .validate import input_file

__all__ = ["save_safetensors_file", "read_safetensors_meta",
           "open_safetensors_arrays",
           "is_safetensors", "META_NAME", "MAX_HEADER_BYTES"]

META_NAME = "tinygrad_attn"
"""The key of our JSON document in the safetensors ``__metadata__``."""
MAX_HEADER_BYTES = 100_000_000
"""Largest header read (the safetensors library's own limit)."""
_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8,
           "I16": np.int16, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_}


def _safetensors_numpy():
    try:
        import safetensors.numpy as st  # lazy: the optional export extra
    except ImportError as e:
        raise ImportError("safetensors is not installed; it comes with the export extra: "
                          "pip install 'tinygrad-attn[export]'") from e
    return st


def is_safetensors(path) -> bool:
    """True when ``path`` starts like a safetensors file (a plausible header length, then ``{``).

    Only a regular file is opened (a FIFO or a device is not: False, and the loader then
    refuses it with one line)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return (len(head) == 9 and head[8:9] == b"{"
            and 2 <= struct.unpack("<Q", head[:8])[0] <= MAX_HEADER_BYTES)


def save_safetensors_file(path, arrays: dict, meta: dict | None = None) -> None:
    """Write ``arrays`` (name -> array on any device) and ``meta`` (JSON) atomically.

    Raises:
        ImportError: the safetensors package is missing (one line naming the extra).
        ValueError: ``path`` is a folder.
    """
    st = _safetensors_numpy()
    path = os.fspath(path)
    data = st.save({k: np.ascontiguousarray(as_numpy(v)) for k, v in arrays.items()},
                   metadata={META_NAME: json.dumps(meta or {})})
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, "wb") as f:
        f.write(data)


def read_safetensors_meta(path) -> tuple[dict, dict]:
    """``(headers, meta)`` of a safetensors checkpoint, reading no tensor data.

    ``headers`` is ``{name: (shape, dtype)}``; ``meta`` our JSON metadata.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a safetensors file, no tinygrad-attn metadata, a header that is
            not JSON or too large, a tensor whose byte range does not fit it or the file, a
            dtype other than real numbers or booleans, too many elements.
    """
    path = os.fspath(path)
    try:  # before any open: a FIFO would block, a device never end
        size = input_file(path, "checkpoint", error=CheckpointError)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint not found: {path}") from None
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if n < 2 or n > MAX_HEADER_BYTES or 8 + n > size:
            raise CheckpointError(f"{path}: not a readable safetensors file (a header of {n:,} "
                                  f"bytes in a file of {size:,}; corrupt or truncated?)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: unreadable safetensors header: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object")
    md = header.pop("__metadata__", None)
    text = md.get(META_NAME) if isinstance(md, dict) else None
    if not isinstance(text, str):
        raise CheckpointError(f"{path}: a safetensors file without tinygrad-attn metadata (no "
                              f"{META_NAME!r} entry in __metadata__); not one of our checkpoints")
    if len(text) > MAX_META_CHARS:
        raise CheckpointError(f"{path}: the metadata is longer than {MAX_META_CHARS:,} characters")
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: metadata is not valid JSON: {e}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata must be a JSON object, got {type(meta).__name__}")
    start, headers, total = 8 + n, {}, 0
    for name, info in header.items():
        try:
            dtype = np.dtype(_DTYPES[info["dtype"]])
            shape = tuple(int(d) for d in info["shape"])
            lo, hi = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            got = info.get("dtype") if isinstance(info, dict) else info
            raise CheckpointError(f"{path}: tensor {name!r} ({str(got)[:40]}) is not a tensor of "
                                  f"real numbers or booleans") from None
        if min(shape, default=0) < 0 or lo < 0 or hi - lo != math.prod(shape) * dtype.itemsize \
                or start + hi > size:
            raise CheckpointError(f"{path}: tensor {name!r} ({shape}, {info['dtype']}) has a byte "
                                  f"range {lo}..{hi} that does not fit it or the file; corrupt or "
                                  "truncated")
        total += math.prod(shape)
        if total > MAX_ARRAY_ELEMENTS:
            raise CheckpointError(f"{path}: the tensors hold more than {MAX_ARRAY_ELEMENTS:,} "
                                  "elements; refused as too large")
        headers[name] = (shape, dtype)
    return headers, meta


class open_safetensors_arrays:
    """``with open_safetensors_arrays(path, headers) as arrays:`` a dict of
    :class:`~tinygrad_attn.npzfile.StoredArray`, each tensor read only when asked (as
    :func:`~tinygrad_attn.npzfile.open_npz_arrays` does for ``.npz`` files).

    Raises:
        ImportError: the safetensors package is missing.
        CheckpointError: the file cannot be opened.
    """

    def __init__(self, path, headers):
        self.path, self.headers = os.fspath(path), dict(headers)
        self._file = None

    def __enter__(self):
        _safetensors_numpy()
        from safetensors import safe_open

        try:
            self._file = safe_open(self.path, framework="numpy")
            f = self._file.__enter__()
        except Exception as e:  # the library raises its own SafetensorError
            raise CheckpointError(f"{self.path}: unreadable safetensors data: {e}") from None
        return {k: StoredArray(self.path, f.get_tensor, k, shape, dtype)
                for k, (shape, dtype) in self.headers.items()}

    def __exit__(self, *exc):
        if self._file is not None:
            self._file.__exit__(*exc)
        return False
