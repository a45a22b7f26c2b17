"""What a checkpoint may contain: its metadata fields and arrays, checked before anything is built.

:func:`tinygrad_attn.train.load_checkpoint` reads a checkpoint in this order, and stops
with one :class:`~tinygrad_attn.io.CheckpointError` naming the file and the field at the
first problem:

1. the array headers (names, shapes, dtypes — no data) and the metadata JSON;
2. :func:`check_meta`: every metadata field's type and range (``format``, ``config``,
   ``vocab``, ``reversed_input``, ``in_width``, ``out_width``, ``history``, ``extra``);
   the config is checked against the model's registered options and constructor
   (ints are ints, not bools, strings or floats; booleans are JSON ``true``/``false``;
   widths positive and at most :data:`MAX_CONFIG_INT`);
3. :func:`describe_params`: the model is *described* — built with
   :func:`tinygrad_attn.layers.init.describe_only`, so no weight memory is allocated — which
   gives every parameter's name and shape, and refuses a model of more than
   :data:`MAX_PARAMS` parameters;
4. :func:`check_arrays`: the file's arrays against that description (names, shapes, real
   floating dtypes);
5. only then are the arrays read and the model built; loading the weights is all or
   nothing (:meth:`tinygrad_attn.layers.Layer.load_state_dict` also refuses NaN/Inf).
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from .data import Vocabulary
from .data.textfile import MAX_WIDTH as _MAX_WIDTH
from .data.vocab import MAX_VOCAB as _MAX_VOCAB
from .io import CheckpointError

__all__ = ["check_meta", "check_config", "describe_params", "check_arrays", "MAX_PARAMS",
           "MAX_CONFIG_INT", "MAX_VOCAB", "MAX_SEQ_WIDTH", "model_spec"]

MAX_PARAMS = 300_000_000
"""Most parameters a checkpoint's model may have (1.2 GB of float32)."""
MAX_CONFIG_INT = 1_000_000
"""Largest integer accepted in a model config (widths, counts)."""
MAX_VOCAB = _MAX_VOCAB
"""Largest vocabulary (the data's own limit, :data:`tinygrad_attn.data.vocab.MAX_VOCAB`)."""
MAX_SEQ_WIDTH = _MAX_WIDTH
"""Largest ``in_width`` / ``out_width`` (characters read / ids generated): the data files'
own limit, :data:`tinygrad_attn.data.textfile.MAX_WIDTH`, so ``train`` never writes a
checkpoint that the loaders refuse."""

_POSITIVE_KEYS = ("vocab_size", "bit_width")
_POSITIVE_SUFFIXES = ("_size", "_width")  # widths: ints >= 1 (vocab_size, input_width, ...)


def model_spec(name):
    """``(factory, options)`` of the registered model ``name`` (ValueError if unknown)."""
    from .registry import get_spec

    spec = get_spec(name)
    return spec.factory, tuple(spec.options)


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v):
    return (isinstance(v, (int, float, np.integer, np.floating))
            and not isinstance(v, (bool, np.bool_)))


def _kind(v):
    return "true/false" if isinstance(v, bool) else type(v).__name__


def _param_defaults(factory):
    """``({name: default}, accepts_any_keyword)`` of the factory's keyword parameters."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return {}, True
    out, var_kw = {}, False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            out[p.name] = p.default
    return out, var_kw


def check_config(config, source="config"):
    """Check a model config dict field by field; return it (a copy).

    Raises:
        CheckpointError: not an object, no/unknown model, a key the model does not take, a
            value of the wrong type (by the model's options and constructor defaults) or
            out of range.
    """
    where = f"{source}: config"
    if not isinstance(config, dict):
        raise CheckpointError(f"{where} must be a JSON object, got {_kind(config)}")
    name = config.get("model")
    if not isinstance(name, str):
        raise CheckpointError(f"{where}['model'] must be a model name, got {name!r}")
    try:
        factory, options = model_spec(name)
    except ValueError as e:
        raise CheckpointError(f"{where}: {e}") from e
    defaults, var_kw = _param_defaults(factory)
    by_key = {o.key: o for o in options}
    out = {"model": name}
    for key, value in config.items():
        if key == "model":
            continue
        if not isinstance(key, str) or key in ("dtype", "rng"):
            raise CheckpointError(f"{where}: unexpected key {key!r}")
        if key not in defaults and not var_kw:
            raise CheckpointError(f"{where}: model {name!r} has no option {key!r} "
                                  f"(it takes {', '.join(k for k in defaults if k not in ('dtype', 'rng'))})")
        if not (value is None or isinstance(value, (bool, str)) or _is_real(value)):
            raise CheckpointError(f"{where}[{key!r}] must be a number, string or true/false, "
                                  f"got {_kind(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise CheckpointError(f"{where}[{key!r}] must be finite, got {value!r}")
        opt = by_key.get(key)
        default = defaults.get(key, inspect.Parameter.empty)
        expect = type(default) if default not in (inspect.Parameter.empty, None) else None
        if opt is not None:
            expect = opt.type
        if key in _POSITIVE_KEYS or key.endswith(_POSITIVE_SUFFIXES):
            expect = int
        if expect is bool and not isinstance(value, bool):
            raise CheckpointError(f"{where}[{key!r}] must be true or false, got {value!r}")
        if expect is int and not _is_int(value):
            raise CheckpointError(f"{where}[{key!r}] must be an integer, got {_kind(value)} "
                                  f"{value!r}")
        if expect is float and not _is_real(value):
            raise CheckpointError(f"{where}[{key!r}] must be a number, got {_kind(value)} "
                                  f"{value!r}")
        if expect is str and not isinstance(value, str):
            raise CheckpointError(f"{where}[{key!r}] must be a string, got {_kind(value)} "
                                  f"{value!r}")
        if opt is not None:  # the range and choices the model declares
            try:
                value = opt.check(value, name)
            except ValueError as e:
                raise CheckpointError(f"{where}[{key!r}]: {e}") from e
        if _is_int(value):
            low = 1 if (key in _POSITIVE_KEYS or key.endswith(_POSITIVE_SUFFIXES)) else -MAX_CONFIG_INT
            if not low <= value <= MAX_CONFIG_INT:
                raise CheckpointError(f"{where}[{key!r}] must be an integer in "
                                      f"[{low}, {MAX_CONFIG_INT}], got {value}")
        out[key] = value
    return out


def _width(meta, key, source):
    v = meta.get(key)
    if v is None:
        return None
    if not _is_int(v) or not 1 <= v <= MAX_SEQ_WIDTH:
        raise CheckpointError(f"{source}: {key} must be an integer in [1, {MAX_SEQ_WIDTH}], "
                              f"got {_kind(v)} {v!r}")
    return int(v)


def check_meta(meta, source="checkpoint", fmt=None):
    """Check every field of a checkpoint's metadata; return a cleaned copy.

    The copy holds ``format``, ``config`` (checked by :func:`check_config`), ``vocab`` (a
    :class:`~tinygrad_attn.data.Vocabulary`, or None if the file has none), ``reversed_input``
    (bool), ``in_width``/``out_width`` (int or None), ``history`` (list) and ``extra`` (dict).

    Args:
        meta: the decoded JSON metadata.
        source: the file name, for messages.
        fmt: the expected ``format`` string (None: not checked).

    Raises:
        CheckpointError: naming the first field with a wrong type or value.
    """
    if not isinstance(meta, dict):
        raise CheckpointError(f"{source}: metadata must be a JSON object, got {_kind(meta)}")
    if fmt is not None and meta.get("format") != fmt:
        raise CheckpointError(f"{source} is not a tinygrad-attn checkpoint (format "
                              f"{meta.get('format')!r}, expected {fmt!r})")
    if "config" not in meta:
        raise CheckpointError(f"{source}: the metadata has no model config")
    out = dict(meta)
    out["config"] = check_config(meta["config"], source)
    vocab = meta.get("vocab")
    if vocab is not None:
        if not isinstance(vocab, dict):
            raise CheckpointError(f"{source}: vocab must be a JSON object, got {_kind(vocab)}")
        chars = vocab.get("chars")
        if not isinstance(chars, (list, str)) or len(chars) > MAX_VOCAB:
            raise CheckpointError(f"{source}: vocab chars must be a list of at most {MAX_VOCAB} "
                                  f"characters, got {_kind(chars)}")
        for k in ("pad_char", "start_char"):
            if k in vocab and not (isinstance(vocab[k], str) and len(vocab[k]) == 1):
                raise CheckpointError(f"{source}: vocab {k} must be one character, "
                                      f"got {vocab[k]!r}")
        try:
            vocab = Vocabulary.from_dict(vocab)
            vocab.pad_id, vocab.start_id  # both must be in the vocabulary
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{source}: bad vocabulary: {e}") from e
        vs = out["config"].get("vocab_size")
        if vs is not None and vs != len(vocab):
            raise CheckpointError(f"{source}: config vocab_size {vs} does not match the "
                                  f"vocabulary of {len(vocab)} characters")
    out["vocab"] = vocab
    rev = meta.get("reversed_input", False)
    if not isinstance(rev, bool):
        raise CheckpointError(f"{source}: reversed_input must be true or false, got "
                              f"{_kind(rev)} {rev!r}")
    out["reversed_input"] = rev
    out["in_width"] = _width(meta, "in_width", source)
    out["out_width"] = _width(meta, "out_width", source)
    hist = meta.get("history", [])
    if not isinstance(hist, list):
        raise CheckpointError(f"{source}: history must be a list, got {_kind(hist)}")
    out["history"] = hist
    extra = meta.get("extra", {})
    if not isinstance(extra, dict):
        raise CheckpointError(f"{source}: extra must be a JSON object, got {_kind(extra)}")
    out["extra"] = extra
    return out


def describe_params(config, source="checkpoint", max_params=MAX_PARAMS):
    """``{name: shape}`` of the parameters of the model ``config`` describes, allocating none.

    Returns None when the model cannot be described without building it (a model that
    writes into its fresh weights); the caller then relies on the other checks.

    Raises:
        CheckpointError: the config is refused by the model, or the model would have more
            than ``max_params`` parameters.
    """
    from .layers.init import ModelTooLarge, describe_only

    config = dict(config)
    name = config.pop("model")
    factory, _ = model_spec(name)
    try:
        with describe_only(max_params):
            model = factory(**config, dtype=np.float32, rng=np.random.default_rng(0))
            return {k: tuple(p.shape) for k, p in model.named_params()}
    except ModelTooLarge as e:
        raise CheckpointError(f"{source}: {e}; refused") from e
    except MemoryError as e:
        raise CheckpointError(f"{source}: the model its config describes does not fit in "
                              "memory; refused") from e
    except (TypeError, ValueError) as e:
        if "read-only" in str(e):
            return None
        raise CheckpointError(f"{source}: the model {name!r} refuses this config: {e}") from e
    except (AttributeError, IndexError, KeyError, RuntimeError, ZeroDivisionError):
        return None  # not describable: checked after building instead


def check_arrays(headers, described, source="checkpoint"):
    """Check the file's arrays (``{name: (shape, dtype)}``) against the described parameters.

    Every array must be real floating point. Arrays whose names the model has must have its
    shapes. When the names differ (a model may accept older names in its own
    ``load_state_dict``), the file must at least hold as many numbers as the model; the
    names are then checked when the weights are loaded (all or nothing).

    Raises:
        CheckpointError: listing missing and unexpected names, shape mismatches and
            non-floating dtypes.
    """
    problems = []
    for name, (shape, dtype) in headers.items():
        if np.dtype(dtype).kind != "f":
            problems.append(f"{name}: dtype {dtype}; weights must be real floating-point numbers")
        elif name in described and tuple(shape) != tuple(described[name]):
            problems.append(f"{name}: shape {tuple(shape)} in the file, "
                            f"{tuple(described[name])} for the model its config describes")
    missing = sorted(set(described) - set(headers))
    unexpected = sorted(set(headers) - set(described))
    if missing or unexpected:
        have = sum(math.prod(shape) for shape, _ in headers.values())
        need = sum(math.prod(shape) for shape in described.values())
        if have != need:
            if missing:
                problems.append(f"missing arrays {missing}")
            if unexpected:
                problems.append(f"unexpected arrays {unexpected}")
            problems.append(f"the file holds {have:,} numbers, the model has {need:,} parameters")
    if problems:
        raise CheckpointError(f"{source}: the arrays do not fit the model: " + "; ".join(problems))
