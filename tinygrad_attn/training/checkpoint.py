"""The checkpoint: one ``.npz`` file (weights + JSON metadata), in one module.

A checkpoint holds the model's weights and a JSON document: ``format``, ``config`` (the
model's config as its registry spec recorded it), ``task`` (the
:class:`~tinygrad_attn.data.task.Task` description: vocabulary and widths for text, the
generator for bits), ``history`` (one dict per epoch) and ``extra``. The file format itself
(atomic writes, no pickle, array headers read first) is :mod:`tinygrad_attn.npzfile`; the same
arrays and document can also be written as safetensors (:mod:`tinygrad_attn.safetensorsfile`,
``save_checkpoint(..., file_format="safetensors")``), and loading reads either.

Loading reads the file in this order and stops with one
:class:`~tinygrad_attn.npzfile.CheckpointError` naming the file and the field at the first
problem; nothing large is allocated before every check passed:

1. the array headers (names, shapes, dtypes — no data) and the metadata
   (:func:`read_checkpoint_info` stops here: ``eval`` reads a checkpoint's kind this way);
2. every metadata field: the config against the model's registered options and
   constructor (:func:`check_config`), the task by its kind's own ``from_description``;
3. the model is *described* — built with a :class:`~tinygrad_attn.layers.init.ShapeOnly`
   generator, which allocates no weight memory — giving every parameter's name and shape,
   and refusing a model of more than :data:`MAX_PARAMS` parameters;
4. the file's arrays against that description
   (:func:`~tinygrad_attn.layers.base.weight_problem`, the one dtype and shape check);
5. only then is the model built, once, and the arrays are read one at a time, each copied
   into its fresh weight (NaN/Inf refused): the memory peak is the model plus its largest
   stored array (plus that array's decompression buffer), however well the file compresses.

Checkpoints of format 1 (version 0.1.0: vocabulary and widths as top-level fields) load the
same way; they are read as format 2.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from ..data.task import Task, TaskError, task_from_description
from ..layers.base import weight_problem
from ..layers.init import ModelTooLarge, ShapeOnly
from ..npzfile import CheckpointError, open_npz_arrays, read_npz_meta, save_npz
from ..safetensorsfile import (is_safetensors, open_safetensors_arrays, read_safetensors_meta,
                               save_safetensors_file)
from .registry import build_model, get_spec

__all__ = ["CHECKPOINT_FORMAT", "FILE_FORMATS", "CheckpointInfo", "save_checkpoint", "load_checkpoint",
           "read_checkpoint_info", "check_config", "describe_params", "check_arrays",
           "CheckpointError", "MAX_PARAMS", "MAX_CONFIG_INT"]

CHECKPOINT_FORMAT = "tinygrad-attn-checkpoint/2"
_FORMAT_1 = "tinygrad-attn-checkpoint/1"
MAX_PARAMS = 300_000_000
"""Most parameters a checkpoint's model may have (1.2 GB of float32)."""
MAX_CONFIG_INT = 1_000_000
"""Largest integer accepted in a model config (widths, counts)."""

_POSITIVE_KEYS = ("vocab_size", "bit_width")
_POSITIVE_SUFFIXES = ("_size", "_width")  # widths: ints >= 1 (vocab_size, input_width, ...)


@dataclass
class CheckpointInfo:
    """A checkpoint's metadata, every field checked.

    Attributes:
        path: the file.
        config: the model's config (``config["model"]`` names it in the registry).
        task: the :class:`~tinygrad_attn.data.task.Task` it was trained on (None for
            weights saved without one).
        history: one dict per trained epoch.
        extra: any other JSON information stored with it.
    """

    path: str
    config: dict
    task: Task | None = None
    history: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def model_name(self) -> str:
        """The registered name of the model."""
        return self.config["model"]


FILE_FORMATS = ("npz", "safetensors")
"""The two file formats of a checkpoint: ``.npz`` (the default) and safetensors
(:mod:`tinygrad_attn.safetensorsfile`); both hold the same arrays and metadata."""


def save_checkpoint(path, model, task: Task | None = None, *, history=None, extra=None,
                    file_format: str = "npz") -> None:
    """Write the model's weights, config and task to ``path`` (atomic, no pickle).

    Args:
        path: the ``.npz`` file.
        model: a model built through the registry (its ``config`` was recorded then).
        task: the :class:`~tinygrad_attn.data.task.Task` it learns (what ``translate``,
            ``eval`` and the other commands need to use it).
        history: the training history (list of dicts).
        extra: any other JSON-serialisable information.
        file_format: ``"npz"`` or ``"safetensors"`` (needs the ``safetensors`` package).

    Raises:
        ValueError: an unknown ``file_format``; the model has no recorded config (build it through the registry, e.g.
            ``build_model`` or the model's registered class).
    """
    config = getattr(model, "config", None)
    if not isinstance(config, dict) or "model" not in config:
        raise ValueError(f"save_checkpoint: {type(model).__name__} has no recorded config; "
                         "build models through the registry (a registered class, or "
                         "tinygrad_attn.training.registry.build_model)")
    if task is not None and not isinstance(task, Task):
        raise TypeError(f"save_checkpoint: task must be a Task or None, got {type(task).__name__}")
    meta = {"format": CHECKPOINT_FORMAT, "config": config,
            "task": None if task is None else task.describe(),
            "history": history or [], "extra": extra or {}}
    if file_format not in FILE_FORMATS:
        raise ValueError(f"save_checkpoint: file_format must be one of {FILE_FORMATS}, got "
                         f"{file_format!r}")
    (save_npz if file_format == "npz" else save_safetensors_file)(path, model.state_dict(), meta)


def read_checkpoint_info(path) -> CheckpointInfo:
    """The checked metadata of the checkpoint at ``path``, reading no weights.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a tinygrad-attn checkpoint, or a field of the wrong type or range.
    """
    _, meta = (read_safetensors_meta if is_safetensors(path) else read_npz_meta)(path)
    return _check_meta(meta, str(path))


def load_checkpoint(path, device="cpu"):
    """Rebuild the model from a checkpoint, checking the whole file first (see the module).

    Returns:
        ``(model, info)``: the model (on ``device``) and its :class:`CheckpointInfo`.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a tinygrad-attn checkpoint, corrupt, a metadata field of the
            wrong type or range, weights that do not fit the model or are not finite.
    """
    source = str(path)
    safetensors = is_safetensors(path)   # both formats, read the same way
    headers, meta = (read_safetensors_meta if safetensors else read_npz_meta)(path)
    info = _check_meta(meta, source)
    check_arrays(headers, describe_params(info.config, source), source)
    try:
        model = build_model(info.config)
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{source}: bad checkpoint metadata: {e}") from e
    except MemoryError as e:
        raise CheckpointError(f"{source}: the model is too large for this machine's memory") from e
    # one stored array at a time, straight into the fresh model (dropped if anything fails):
    # the peak is the model plus its largest stored array, whatever the file's compression
    with (open_safetensors_arrays if safetensors else open_npz_arrays)(path, headers) as arrays:
        model.load_state_dict(arrays, source=source, atomic=False)
    if device != "cpu":
        model.to_device(device)
    return model, info


def _format_1_task(meta, source):
    """The task description of a format-1 file (vocabulary and widths at the top level)."""
    if meta.get("vocab") is not None:
        return {"kind": "text", "vocab": meta["vocab"], "in_width": meta.get("in_width"),
                "out_width": meta.get("out_width"),
                "reversed_input": meta.get("reversed_input", False)}
    data = (meta.get("extra") or {}).get("data") if isinstance(meta.get("extra"), dict) else None
    if isinstance(data, dict) and "task" in data:
        return {"kind": "bits", **data}
    return None


def _check_meta(meta, source) -> CheckpointInfo:
    if not isinstance(meta, dict):
        raise CheckpointError(f"{source}: metadata must be a JSON object, got {_kind(meta)}")
    fmt = meta.get("format")
    if fmt not in (CHECKPOINT_FORMAT, _FORMAT_1):
        raise CheckpointError(f"{source} is not a tinygrad-attn checkpoint (format {fmt!r}, "
                              f"expected {CHECKPOINT_FORMAT!r})")
    if "config" not in meta:
        raise CheckpointError(f"{source}: the metadata has no model config")
    config = check_config(meta["config"], source)
    extra = meta.get("extra", {})
    if not isinstance(extra, dict):
        raise CheckpointError(f"{source}: extra must be a JSON object, got {_kind(extra)}")
    task_d = meta.get("task") if fmt == CHECKPOINT_FORMAT else _format_1_task(meta, source)
    task = None
    if task_d is not None:
        try:
            task = task_from_description(task_d, source)
        except TaskError as e:
            raise CheckpointError(str(e)) from e
        spec_kind = get_spec(config["model"]).task
        if task.model_kind != spec_kind:
            raise CheckpointError(f"{source}: the model {config['model']!r} learns {spec_kind} "
                                  f"tasks, but the checkpoint's task feeds {task.model_kind} "
                                  "models")
        for key, value in task.model_fields().items():
            if key in config and config[key] != value:
                raise CheckpointError(f"{source}: config {key} {config[key]} does not match "
                                      f"the task's {value}")
    hist = meta.get("history", [])
    if not isinstance(hist, list):
        raise CheckpointError(f"{source}: history must be a list, got {_kind(hist)}")
    return CheckpointInfo(path=source, config=config, task=task, history=hist, extra=extra)


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
        spec = get_spec(name)
    except ValueError as e:
        raise CheckpointError(f"{where}: {e}") from e
    factory, options = spec.factory, spec.options
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
        if value is None and default is None:   # "the model's own default", as recorded
            out[key] = None
            continue
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


def describe_params(config, source="checkpoint", max_params=MAX_PARAMS):
    """``{name: shape}`` of the parameters of the model ``config`` describes, allocating none.

    Raises:
        CheckpointError: the model refuses the config, or would have more than
            ``max_params`` parameters.
    """
    try:
        model = build_model(config, rng=ShapeOnly(max_params))
    except ModelTooLarge as e:
        raise CheckpointError(f"{source}: {e}; refused") from e
    except MemoryError as e:
        raise CheckpointError(f"{source}: the model its config describes does not fit in "
                              "memory; refused") from e
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, ZeroDivisionError) as e:
        raise CheckpointError(f"{source}: the model {config.get('model')!r} refuses this "
                              f"config: {e}") from e
    described = {k: tuple(p.shape) for k, p in model.named_params()}
    total = sum(math.prod(s) for s in described.values())
    if total > max_params:  # parameters made without the generator (biases) count too
        raise CheckpointError(f"{source}: the model would have {total:,} parameters, more than "
                              f"{max_params:,}; refused")
    return described


def check_arrays(headers, described, source="checkpoint"):
    """Check the file's arrays (``{name: (shape, dtype)}``) against the described parameters.

    Every array must be a real floating weight of the described shape
    (:func:`~tinygrad_attn.layers.base.weight_problem`). When the names differ (a model may
    accept older names in its own ``load_state_dict``), the file must at least hold as many
    numbers as the model; the names are then checked when the weights are loaded.

    Raises:
        CheckpointError: listing missing and unexpected names, shape mismatches and dtypes.
    """
    problems = []
    for name, (shape, dtype) in headers.items():
        problem = weight_problem(name, shape, dtype, described.get(name, shape), "the file")
        if problem:
            problems.append(problem)
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
