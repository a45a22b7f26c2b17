"""Weights in and out: the book's pickles (safely), safetensors, ONNX.

* :mod:`~tinygrad_attn.export.safe_pickle` — a restricted unpickler for NumPy arrays;
* :mod:`~tinygrad_attn.export.book` — the book's ``save_params`` pickles, both ways;
* :func:`save_safetensors` / :func:`load_safetensors` — checkpoints as safetensors files with
  our metadata (:mod:`tinygrad_attn.safetensorsfile`; needs the ``safetensors`` package:
  ``pip install tinygrad-attn[export]``);
* :mod:`~tinygrad_attn.export.onnx_export` — ONNX graphs traced from the recorded graph
  (needs ``onnx``; running them needs ``onnxruntime``).

The optional packages are imported only when those functions are called.
"""
from __future__ import annotations

import importlib
import os

from ..npzfile import CheckpointError
from ..safetensorsfile import is_safetensors
from ..training import load_checkpoint, save_checkpoint
from .book import (
    BOOK_MODELS,
    BookFormatError,
    book_layout,
    book_vocabulary,
    import_book,
    read_book_params,
    write_book_params,
)
from .safe_pickle import UnsafePickleError, load_arrays

__all__ = ["BOOK_MODELS", "BookFormatError", "UnsafePickleError", "book_layout",
           "book_vocabulary", "import_book", "read_book_params", "write_book_params",
           "load_arrays", "save_safetensors", "load_safetensors", "to_onnx", "OnnxSeq2seq",
           "MissingDependency"]


class MissingDependency(ImportError):
    """An optional package of the ``export`` extra is not installed."""


def require(name):
    """Import the optional package ``name`` or raise one clear :class:`MissingDependency`."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise MissingDependency(f"{name} is not installed; it comes with the export extra: "
                                f"pip install 'tinygrad-attn[export]'") from e


def save_safetensors(path, model, task=None, *, history=None, extra=None, overwrite=False):
    """Write a checkpoint as a safetensors file (weights, and our metadata in its header).

    The same as :func:`~tinygrad_attn.training.save_checkpoint` with
    ``file_format="safetensors"``, refusing to replace an existing file unless ``overwrite``.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        MissingDependency: the safetensors package is not installed.
    """
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    require("safetensors")
    save_checkpoint(path, model, task, history=history, extra=extra, file_format="safetensors")


def load_safetensors(path, device="cpu"):
    """Rebuild a model from a safetensors checkpoint: ``(model, info)`` as
    :func:`~tinygrad_attn.training.load_checkpoint` (which reads both formats).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a safetensors file, or not one of our checkpoints, or tensors
            that do not fit the model (checked before any tensor is read).
        MissingDependency: the safetensors package is not installed.
    """
    if os.path.exists(path) and not os.path.isdir(path) and not is_safetensors(path):
        raise CheckpointError(f"{path} is not a safetensors file")
    require("safetensors")
    return load_checkpoint(path, device)


def __getattr__(name):
    if name in ("to_onnx", "OnnxSeq2seq"):   # lazy: their modules are only needed for ONNX
        module = "onnx_export" if name == "to_onnx" else "onnx_runner"
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
