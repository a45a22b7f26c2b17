"""Checkpoints as safetensors files, with our metadata in the safetensors header.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's
dtype, shape and byte range, plus a ``"__metadata__"`` object of strings) and the raw bytes:
no code, nothing to unpickle. :func:`save_safetensors` stores the same JSON document our
``.npz`` checkpoints hold (model config, vocabulary, widths, history) as the metadata
string ``"tinygrad_attn"``; :func:`load_safetensors` checks it and every tensor's dtype and
shape against the model before reading any tensor data. The default checkpoint format
stays ``.npz`` + JSON; :func:`tinygrad_attn.train.load_checkpoint` (and so every command
taking ``--checkpoint``) reads both.

Needs the ``safetensors`` package (``pip install 'tinygrad-attn[export]'``).
"""
from __future__ import annotations

import json
import math
import os
import struct

import numpy as np

from ..io import CheckpointError, MAX_META_CHARS
from .book import _atomic_write

__all__ = ["save_safetensors", "load_safetensors", "is_safetensors", "META_NAME",
           "MAX_HEADER_BYTES"]

META_NAME = "tinygrad_attn"
"""The key of our JSON document in the safetensors ``__metadata__``."""
MAX_HEADER_BYTES = 100_000_000
"""Largest header read (the safetensors library's own limit)."""
_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "BF16": None}


def is_safetensors(path) -> bool:
    """True when ``path`` starts like a safetensors file (a plausible header length, then ``{``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    if len(head) < 9 or head[8:9] != b"{":
        return False
    n = struct.unpack("<Q", head[:8])[0]
    return 2 <= n <= MAX_HEADER_BYTES


def save_safetensors(path, model, vocab=None, *, reversed_input=False, in_width=None,
                     out_width=None, history=None, extra=None, overwrite=False):
    """Write ``model``'s weights and our metadata as a safetensors file (atomically).

    Arguments as :func:`tinygrad_attn.train.save_checkpoint`; ``overwrite``: replace an
    existing file (else FileExistsError).
    """
    from ..backend import as_numpy
    from ..train import CHECKPOINT_FORMAT
    from . import require

    st = require("safetensors.numpy")
    meta = {"format": CHECKPOINT_FORMAT, "config": model.config,
            "vocab": None if vocab is None else vocab.to_dict(),
            "reversed_input": bool(reversed_input), "in_width": in_width, "out_width": out_width,
            "history": history or [], "extra": extra or {}}
    arrays = {k: np.ascontiguousarray(as_numpy(v)) for k, v in model.state_dict().items()}
    data = st.save(arrays, metadata={META_NAME: json.dumps(meta)})
    _atomic_write(path, data, overwrite)


def _read_header(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: {len(head)} bytes; not a safetensors file (truncated?)")
        n = struct.unpack("<Q", head)[0]
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise CheckpointError(f"{path}: safetensors header of {n:,} bytes in a file of "
                                  f"{size:,} bytes; corrupt or truncated")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: unreadable safetensors header: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object")
    return header, 8 + n, size


def load_safetensors(path, device="cpu"):
    """Rebuild a model from a safetensors file written by :func:`save_safetensors`.

    The header (bounded in size), our metadata and every tensor's dtype, shape and byte
    range are checked against the model the config describes before any tensor is read.

    Returns:
        ``(model, meta)`` as :func:`tinygrad_attn.train.load_checkpoint`.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a safetensors file, no tinygrad-attn
            metadata, tensors that do not fit the model, truncated data.
    """
    from .. import checkpoint_schema as S
    from ..registry import build_model
    from ..train import CHECKPOINT_FORMAT
    from . import require

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    header, start, size = _read_header(path)
    md = header.pop("__metadata__", None) or {}
    text = md.get(META_NAME) if isinstance(md, dict) else None
    if not isinstance(text, str):
        raise CheckpointError(f"{path}: a safetensors file without tinygrad-attn metadata "
                              f"(no {META_NAME!r} entry in __metadata__); not one of our "
                              "checkpoints")
    if len(text) > MAX_META_CHARS:
        raise CheckpointError(f"{path}: the metadata is longer than {MAX_META_CHARS:,} characters")
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path}: the tinygrad-attn metadata is not JSON: {e}") from None
    meta = S.check_meta(meta, path, fmt=CHECKPOINT_FORMAT)
    headers = {}
    for name, info in header.items():
        try:
            dt = _DTYPES[info["dtype"]]
            shape = tuple(int(n) for n in info["shape"])
            lo, hi = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: tensor {name!r} has dtype "
                                  f"{info.get('dtype') if isinstance(info, dict) else info!r}; "
                                  "weights must be F16, F32 or F64") from None
        if dt is None:
            raise CheckpointError(f"{path}: tensor {name!r} is bfloat16, which NumPy cannot hold")
        if hi - lo != math.prod(shape) * np.dtype(dt).itemsize or start + hi > size or lo < 0:
            raise CheckpointError(f"{path}: tensor {name!r} ({shape}, {info['dtype']}) has a byte "
                                  f"range {lo}..{hi} that does not fit it or the file; corrupt "
                                  "or truncated")
        headers[name] = (shape, np.dtype(dt))
    described = S.describe_params(meta["config"], path)
    if described is not None:
        S.check_arrays(headers, described, path)
    st = require("safetensors.numpy")
    try:
        arrays = st.load_file(path)
    except Exception as e:  # the library raises its own SafetensorError
        raise CheckpointError(f"{path}: unreadable safetensors data: {e}") from None
    try:
        model = build_model(meta["config"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: bad checkpoint metadata: {e}") from e
    model.load_state_dict(arrays, source=path)
    if device != "cpu":
        model.to_device(device)
    return model, meta
