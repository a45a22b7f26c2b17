"""Checkpoint files: arrays in a ``.npz`` plus JSON metadata, written atomically, loaded without pickle.

A file holds named arrays and one JSON document (stored as a unicode string array
under the key ``__meta__``). Writing goes to a temporary file ``.tmp-<pid>-*.npz`` in the
same folder, is flushed to disk, and is then renamed over the target, so an interrupted
write never leaves a half-written checkpoint; temporary files of writers that died
(killed mid-write) are removed by the next write in that folder. The file gets the usual
permissions of a new file (``0666`` minus the umask), or keeps those of the file it replaces.

Loading uses ``allow_pickle=False`` (a checkpoint can never execute code) and reads every
array's header first: only real floating, integer or boolean arrays below a size cap are
read at all; anything else is refused with one :class:`CheckpointError` naming the file.
"""
from __future__ import annotations

import json
import math
import os
import zipfile

import numpy as np

from .backend import as_numpy
from .files import atomic_write, clean_stale_temps
from .validate import input_file

__all__ = ["save_npz", "load_npz", "read_npz_meta", "read_npz_headers", "open_npz_arrays",
           "StoredArray", "clean_stale_temps", "CheckpointError",
           "META_KEY",
           "MAX_ARRAY_ELEMENTS", "MAX_META_CHARS"]

META_KEY = "__meta__"
MAX_ARRAY_ELEMENTS = 1 << 30
"""Most elements in all the arrays of one file together (4 GiB of float32)."""
MAX_META_CHARS = 16 << 20
"""Longest metadata JSON document accepted (characters)."""


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, truncated, or does not fit the model."""


def save_npz(path, arrays: dict, meta: dict | None = None) -> None:
    """Write ``arrays`` (name -> array on any device) and ``meta`` (JSON-serialisable) atomically.

    Args:
        path: destination file (``.npz`` is not appended automatically).
        arrays: mapping of names to arrays; device arrays are copied to the host.
        meta: a JSON-serialisable dict (vocabulary, model config, history, ...).

    Raises:
        ValueError: a reserved array name, or ``path`` is a folder.
        OSError: the folder cannot be written (nothing is left behind).
    """
    path = os.fspath(path)
    if META_KEY in arrays:
        raise ValueError(f"save_npz: the array name {META_KEY!r} is reserved")
    if os.path.isdir(path):
        raise ValueError(f"save_npz: {path} is a folder; give a file name")
    payload = {k: as_numpy(v) for k, v in arrays.items()}
    payload[META_KEY] = np.array(json.dumps(meta or {}))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, "wb") as f:
        np.savez(f, **payload)


def _not_npz_message(path, head: bytes) -> str:
    if head.startswith(b"\x93NUMPY"):
        return (f"{path} is a single .npy array, not a tinygrad-attn checkpoint (not an .npz "
                "archive); checkpoints are written by save_checkpoint / Layer.save_weights")
    return f"{path} is not a tinygrad-attn checkpoint (not an .npz archive)"


def read_npz_headers(path) -> dict:
    """``{name: (shape, dtype)}`` of every array in the ``.npz`` at ``path``, reading no data.

    Raises:
        CheckpointError: not an .npz archive, a member that is not a ``.npy`` array, or
            an unreadable header.
    """
    path = os.fspath(path)
    try:  # regular files only (a FIFO would block the open)
        input_file(path, "checkpoint", error=CheckpointError)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint not found: {path}") from None
    with open(path, "rb") as f:
        head = f.read(8)
    if not head.startswith(b"PK"):
        raise CheckpointError(_not_npz_message(path, head))
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy"):
                    raise CheckpointError(f"{path}: member {name!r} is not a .npy array; "
                                          "not a tinygrad-attn checkpoint")
                with zf.open(info) as m:
                    version = np.lib.format.read_magic(m)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(m)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(m)
                    else:
                        raise CheckpointError(f"{path}: array {name[:-4]!r} has an unsupported "
                                              f".npy version {version}")
                out[name[:-4]] = (tuple(shape), np.dtype(dtype))
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, TypeError,
            RuntimeError, NotImplementedError, zipfile.LargeZipFile) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): "
                              f"{e}") from e
    return out


def read_npz_meta(path) -> tuple[dict, dict]:
    """``(headers, meta)`` of a file written by :func:`save_npz`, reading no array data.

    ``headers`` is ``{name: (shape, dtype)}`` of the arrays (without the metadata entry);
    ``meta`` is the JSON metadata. Every header is checked as :func:`load_npz` describes.

    Raises:
        FileNotFoundError, CheckpointError: as :func:`load_npz`.
    """
    path = os.fspath(path)
    try:  # before any open: a FIFO would block, a device never end
        input_file(path, "checkpoint", error=CheckpointError)
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint not found: {path}") from None
    headers = read_npz_headers(path)
    total = 0
    for name, (shape, dtype) in headers.items():
        if name == META_KEY:
            if dtype.kind != "U" or shape != () or dtype.itemsize // 4 > MAX_META_CHARS:
                raise CheckpointError(f"{path}: the metadata entry {META_KEY!r} is not one "
                                      f"JSON string (dtype {dtype}, shape {shape})")
            continue
        if dtype.hasobject:
            raise CheckpointError(f"{path}: array {name!r} holds pickled Python objects; "
                                  "refused (a checkpoint never runs code)")
        if dtype.kind not in "fiub" or dtype.fields is not None or dtype.subdtype is not None:
            raise CheckpointError(f"{path}: array {name!r} has dtype {dtype}; checkpoints hold "
                                  "real numbers only")
        total += math.prod(shape)
        if total > MAX_ARRAY_ELEMENTS:
            raise CheckpointError(f"{path}: the arrays hold more than {MAX_ARRAY_ELEMENTS:,} "
                                  "elements; refused as too large")
    meta = {}
    if META_KEY in headers:
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = _parse_meta(path, z[META_KEY])
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
            raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or "
                                  f"truncated?): {e}") from e
    return {k: v for k, v in headers.items() if k != META_KEY}, meta


def load_npz(path, validate=None):
    """Read a file written by :func:`save_npz`.

    Every array's header is checked before any data is read: its dtype must be a plain
    number type (real float, integer, bool) — no objects (pickle), strings, complex,
    dates or structured records — and all arrays together hold at most
    :data:`MAX_ARRAY_ELEMENTS` elements. The metadata must be a JSON object.

    Args:
        path: the file.
        validate: optional ``validate(headers, meta)`` called after the metadata is read
            and before any array data is: ``headers`` is ``{name: (shape, dtype)}``; it
            raises to refuse the file (nothing large has been allocated yet).

    Returns:
        (arrays, meta): a dict of host NumPy arrays and the metadata dict.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointError: the path is a folder, a FIFO or a device (refused before it is
            opened), or the file is not a valid checkpoint (not an .npz archive, corrupt,
            truncated, pickled data, an array of a non-numeric dtype, too large, metadata
            that is not a JSON object).
    """
    headers, meta = read_npz_meta(path)
    if validate is not None:
        validate(headers, meta)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in headers}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): {e}") from e
    return arrays, meta


class StoredArray:
    """One array of an open ``.npz`` file, read only when asked (``np.asarray(a)`` or
    :meth:`read`): its ``shape`` and ``dtype`` come from the header.

    Made by :func:`open_npz_arrays`; valid while that ``with`` block is open.
    """

    def __init__(self, path, getter, name, shape, dtype):
        self._path, self._get, self.name = path, getter, name
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    @property
    def size(self) -> int:
        """Number of elements (from the header)."""
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        """Number of axes (from the header)."""
        return len(self.shape)

    def read(self) -> np.ndarray:
        """The array's data (a new host array each call).

        Raises:
            CheckpointError: the member is corrupt or truncated, or its data does not match
                its header.
        """
        try:
            a = np.asarray(self._get(self.name))
        except CheckpointError:
            raise
        except Exception as e:  # zip, zlib and safetensors errors alike: a damaged file
            raise CheckpointError(f"{self._path} is not a readable checkpoint (corrupt or "
                                  f"truncated?): {e}") from e
        if a.shape != self.shape or a.dtype != self.dtype:
            raise CheckpointError(f"{self._path}: array {self.name!r} holds {a.dtype} "
                                  f"{a.shape}, not the {self.dtype} {self.shape} of its header")
        return a

    def __array__(self, dtype=None, copy=None):
        a = self.read()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        return f"StoredArray({self.name!r}, {self.shape}, {self.dtype})"


class open_npz_arrays:
    """``with open_npz_arrays(path, headers) as arrays:`` a dict ``{name: StoredArray}``.

    Nothing is read until an array is asked for, and then only that array: loading a model
    one weight at a time keeps at most one stored array in memory (see
    :meth:`tinygrad_attn.layers.Layer.load_state_dict`). ``headers`` are those
    :func:`read_npz_meta` checked.

    Raises:
        CheckpointError: the archive cannot be opened.
    """

    def __init__(self, path, headers):
        self.path, self.headers = os.fspath(path), dict(headers)
        self._npz = None

    def __enter__(self):
        try:
            self._npz = np.load(self.path, allow_pickle=False)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise CheckpointError(f"{self.path} is not a readable checkpoint (corrupt or "
                                  f"truncated?): {e}") from e
        return {k: StoredArray(self.path, self._npz.__getitem__, k, shape, dtype)
                for k, (shape, dtype) in self.headers.items()}

    def __exit__(self, *exc):
        if self._npz is not None:
            self._npz.close()
        return False


def _parse_meta(path, meta_arr):
    try:
        meta = json.loads(str(meta_arr))
    except (json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: metadata is not valid JSON: {e}") from e
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: metadata must be a JSON object, got "
                              f"{type(meta).__name__}")
    return meta
