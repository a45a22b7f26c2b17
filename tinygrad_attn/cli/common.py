"""What several sub-commands share: opening checkpoints, model options, run folders, help."""
from __future__ import annotations

import argparse
import sys

import numpy as np

import tinygrad_attn as ta

from ..data.task import task_class
from ..npzfile import CheckpointError
from ..training import Translator, load_checkpoint, read_checkpoint_info, registry
from . import values as T
from .values import CLIError

__all__ = ["open_checkpoint", "add_model_options", "check_model_options", "model_config",
           "THREADS_HELP", "RUN_FILES", "load_translator", "load_task_checkpoint", "model_example",
           "readable_texts"]


def open_checkpoint(load, path):
    """``load(path)``, with a missing file or a bad checkpoint turned into one CLIError line."""
    try:
        return load(path)
    except FileNotFoundError as e:
        raise CLIError(f"checkpoint not found: {path}") from e
    except CheckpointError as e:
        raise CLIError(str(e)) from e


def load_translator(path):
    """A :class:`~tinygrad_attn.training.Translator` from ``path``, user errors as CLIError."""

    return open_checkpoint(Translator.from_checkpoint, path)


def readable_texts(translators, texts, command):
    """The TEXTs every translator can read; each other one refused on stderr with its number.

    A command with several inputs (``attention``, ``explore``) works on the readable ones and
    names each refused one (``tinygrad-attn: TEXT 2 refused: <reason>``); it then exits with 2.

    Raises:
        CLIError: no TEXT is readable (naming the first one's reason).
    """
    good, refused = [], []
    for n, text in enumerate(texts, start=1):
        why = next((w for w in (tr.refusal(text) for tr in translators) if w is not None), None)
        if why is None:
            good.append(text)
        else:
            refused.append(f"TEXT {n} refused: {why}")
    if not good:
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise CLIError(f"{command}: nothing to work on: {refused[0]}{more}")
    for line in refused:
        print(f"tinygrad-attn: {line}", file=sys.stderr)
    return good


def load_task_checkpoint(path, command):
    """``(model, info)`` of a checkpoint whose task supports ``command``; CLIError otherwise."""

    info = open_checkpoint(read_checkpoint_info, path)
    if info.task is None or command not in info.task.commands:
        what = "no task" if info.task is None else f"a {info.task.title}"
        fit = "" if info.task is None else (
            f" (for its task: {', '.join(sorted(info.task.commands))})")
        raise CLIError(f"{path} holds a model of {what} ({info.model_name}); `{command}` does "
                       f"not apply to it{fit}")
    return open_checkpoint(load_checkpoint, path)


THREADS_HELP = ("BLAS threads for the matrix products, 1 to 1024 (default: the libraries' own, "
                "one per core unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise; 1 is "
                "steadier on a machine other jobs keep busy)")

RUN_FILES = ("model.npz", "history.json", "model-last.npz")
"""The files a run writes into its ``--out`` folder (``model-last.npz``: with ``--keep best``)."""


def add_model_options(p, extra_models=(), model_help=None):
    """Add ``--model`` and every registered model's options to parser ``p``.

    ``extra_models``: further ``--model`` choices (e.g. ``graph``'s ``example``);
    ``model_help``: the help of ``--model``."""
    names = registry.model_names()
    p.add_argument("--model", choices=names + list(extra_models),
                   default="attention" if "attention" in names else None,
                   help=model_help or "which model (default: attention); each model's own "
                                      "options follow")
    group = p.add_argument_group("model options (each applies to the models named in brackets)")
    for dest, owners in registry.all_options().items():
        opt = owners[0][1]
        who = ", ".join(m if o.default is None else  # a default that depends on other options
                        f"{m}: {o.default!r}" if len(owners) > 1 else f"{m}; default {o.default!r}"
                        for m, o in owners)
        helptext = f"{opt.help} [{who}]"
        if opt.type is bool:
            group.add_argument(opt.flag, dest=dest, action=argparse.BooleanOptionalAction,
                               default=None, help=helptext)
        else:
            if opt.choices is None and opt.type in (int, float):
                helptext += f" (in {opt.range_text()})"
            group.add_argument(opt.flag, dest=dest, default=None,
                               type=T.option_type(opt, *(o for _, o in owners[1:])),
                               choices=opt.choices, help=helptext,
                               metavar=None if opt.choices else opt.dest.upper())


def check_model_options(args, own=()):
    """CLIError when an option of another model than ``args.model`` was given (``own``: the
    dests of the chosen model's options)."""
    for dest, owners in registry.all_options().items():
        if dest not in own and getattr(args, dest, None) is not None:
            flag = owners[0][1].flag
            raise CLIError(f"{flag} is an option of {', '.join(m for m, _ in owners)}, "
                           f"not of --model {args.model}")


def model_config(args, **data_fields):
    """The model config from the parsed options; CLIError for options of another model."""
    try:
        spec = registry.get_spec(args.model)
    except ValueError as e:
        raise CLIError(str(e)) from e
    check_model_options(args, {o.dest for o in spec.options})
    try:
        return spec, spec.config_from(vars(args), **data_fields)
    except ValueError as e:
        raise CLIError(str(e)) from e


def model_example(name, seq_len=5, batch=2, seed=0, variant=None, options=None, answer_len=None):
    """A small float64 instance of the registered model ``name`` and a random batch for it.

    The model takes its task kind's example fields (text: a vocabulary of 13 ids), then its
    spec's ``tiny`` config and ``variant``'s overrides, then ``options`` (config key -> value,
    checked like the command line's); the batch comes from the model's
    ``example_batch(rng, batch, seq_len)`` (with ``answer_len=`` when given: the decoder steps
    of a text model's batch).

    Returns:
        ``(model, (xs, ts))``.

    Raises:
        ValueError: an option the model does not have, or a value out of its range.
    """
    spec = registry.get_spec(name)
    ta.seed(seed)
    fields = task_class(spec.task).example_fields()
    config = spec.tiny_config(variant, **fields)
    by_key = {o.key: o for o in spec.options}
    for key, value in (options or {}).items():
        if key not in by_key:
            raise ValueError(f"model {name!r} has no option {key!r}")
        config[key] = by_key[key].check(value, name)
    model = spec.build(config, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if answer_len is not None:
        import inspect

        if "answer_len" not in inspect.signature(model.example_batch).parameters:
            raise ValueError(f"model {name!r} chooses its own answer length (its example_batch "
                             "takes no answer_len)")
        return model, model.example_batch(rng, batch, seq_len, answer_len=answer_len)
    return model, model.example_batch(rng, batch, seq_len)
