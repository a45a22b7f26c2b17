"""Weights in and out: the book's pickles (safely), safetensors, ONNX.

* :mod:`~tinygrad_attn.export.safe_pickle` — a restricted unpickler for NumPy arrays;
* :mod:`~tinygrad_attn.export.book` — the book's ``save_params`` pickles, both ways;
* :mod:`~tinygrad_attn.export.safetensors_format` — safetensors files with our metadata
  (needs the ``safetensors`` package: ``pip install tinygrad-attn[export]``);
* :mod:`~tinygrad_attn.export.onnx_export` — ONNX graphs traced from the recorded graph
  (needs ``onnx``; running them needs ``onnxruntime``).

The optional packages are imported only when those functions are called.
"""
from __future__ import annotations

from .book import (BOOK_MODELS, BookFormatError, book_layout, book_vocabulary, import_book,
                   read_book_params, write_book_params)
from .safe_pickle import UnsafePickleError, load_arrays

__all__ = ["BOOK_MODELS", "BookFormatError", "UnsafePickleError", "book_layout",
           "book_vocabulary", "import_book", "read_book_params", "write_book_params",
           "load_arrays", "save_safetensors", "load_safetensors", "to_onnx", "OnnxSeq2seq",
           "MissingDependency"]


class MissingDependency(ImportError):
    """An optional package of the ``export`` extra is not installed."""


def require(name):
    """Import the optional package ``name`` or raise one clear :class:`MissingDependency`."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise MissingDependency(f"{name} is not installed; it comes with the export extra: "
                                f"pip install 'tinygrad-attn[export]'") from e


def __getattr__(name):
    if name in ("save_safetensors", "load_safetensors"):
        from . import safetensors_format
        return getattr(safetensors_format, name)
    if name in ("to_onnx",):
        from . import onnx_export
        return getattr(onnx_export, name)
    if name in ("OnnxSeq2seq",):
        from . import onnx_runner
        return getattr(onnx_runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
