"""Checkpoint files: arrays in a ``.npz`` plus JSON metadata, written atomically, loaded without pickle.

A file holds named arrays and one JSON document (stored as a unicode string array
under the key ``__meta__``). Writing goes to a temporary file in the same folder,
is flushed to disk, and is then renamed over the target, so an interrupted write
never leaves a half-written checkpoint. Loading uses ``allow_pickle=False``: a
checkpoint can never execute code.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .backend import as_numpy

__all__ = ["save_npz", "load_npz", "CheckpointError", "META_KEY"]

META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, truncated, or does not fit the model."""


def save_npz(path, arrays: dict, meta: dict | None = None) -> None:
    """Write ``arrays`` (name -> array on any device) and ``meta`` (JSON-serialisable) atomically.

    Args:
        path: destination file (``.npz`` is not appended automatically).
        arrays: mapping of names to arrays; device arrays are copied to the host.
        meta: a JSON-serialisable dict (vocabulary, model config, history, ...).
    """
    path = os.fspath(path)
    if META_KEY in arrays:
        raise ValueError(f"save_npz: the array name {META_KEY!r} is reserved")
    payload = {k: as_numpy(v) for k, v in arrays.items()}
    payload[META_KEY] = np.array(json.dumps(meta or {}))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_npz(path):
    """Read a file written by :func:`save_npz`.

    Returns:
        (arrays, meta): a dict of host NumPy arrays and the metadata dict.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointError: the file is not a valid checkpoint (corrupt, truncated, pickled data).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated?): {e}") from e
    meta_arr = arrays.pop(META_KEY, None)
    meta = {}
    if meta_arr is not None:
        try:
            meta = json.loads(str(meta_arr))
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{path}: metadata is not valid JSON: {e}") from e
    return arrays, meta
