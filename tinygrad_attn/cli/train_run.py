"""The ``train`` command's options and its run, shared by ``train`` and ``sweep``.

:func:`add_train_arguments` adds every ``tinygrad-attn train`` option to a parser and
:func:`run_training` trains as the parsed options ask: the ``train`` sub-command is these two
functions, and a sweep (:mod:`tinygrad_attn.sweep`) runs every one of its runs through the
same two, so a run of a sweep is exactly a ``train`` run. The models and their options come
from :mod:`tinygrad_attn.training.registry`: ``--model`` lists every registered name, and
each model's options (``--hidden``, ``--heads``, ...) are added once, whichever models share
them.
"""
from __future__ import annotations

import json
import os

import tinygrad_attn as ta

from .. import data as D
from ..backend import GPUUnavailableError, keep_host_memory
from ..files import atomic_write
from ..optim import SCHEDULES, make_schedule
from ..runlock import RunLock, RunLockedError
from ..npzfile import CheckpointError
from ..training import Trainer, TrainingDiverged, registry
from ..training.checkpoint import MAX_PARAMS, describe_params
from . import values as T
from .common import RUN_FILES, THREADS_HELP, add_model_options, model_config
from .values import CLIError

__all__ = ["add_train_arguments", "run_training", "TASK_OPTIONS"]

TASK_OPTIONS = ("reverse_input", "min_length", "max_length", "bit_width", "max_repeats")
"""The train options that belong to a data source; each source says which it takes."""


def add_train_arguments(p):
    """Add every option of ``tinygrad-attn train`` to the argparse parser ``p``; return ``p``."""
    add_model_options(p)
    p.add_argument("--data", default="date", type=T.data_source(tuple(D.data_sources())),
                   help="a data source (" + "; ".join(
                       f"'{n}': {D.data_source(n).help}" for n in D.data_sources()) +
                        ") or a file in the book's question_answer format")
    p.add_argument("--samples", type=T.integer(1, T.MAX_SAMPLES), default=50000,
                   help=f"generated examples, 1 to {T.MAX_SAMPLES} (default 50000)")
    bits = p.add_argument_group("binary-vector tasks (--data copy, repeat-copy)")
    bits.add_argument("--min-length", type=T.integer(1, 10000), default=None,
                      help="shortest sequence (default 1)")
    bits.add_argument("--max-length", type=T.integer(1, 10000), default=None,
                      help="longest sequence (default 10)")
    bits.add_argument("--bit-width", type=T.integer(1, 4096), default=None,
                      help="bits per vector (default 8)")
    bits.add_argument("--max-repeats", type=T.integer(1, 1000), default=None,
                      help="most repeats (repeat-copy; default 10)")
    p.add_argument("--epochs", type=T.integer(1, 100000), default=3,
                   help="1 to 100000 (default 3)")
    p.add_argument("--batch-size", type=T.integer(1, T.MAX_BATCH), default=128,
                   help=f"examples per step, 1 to {T.MAX_BATCH} (default 128)")
    p.add_argument("--lr", type=T.real(0.0, 10.0, low_open=True), default=0.001,
                   help="learning rate, in (0, 10] (default 0.001)")
    p.add_argument("--max-grad", type=T.real(0.0), default=5.0,
                   help="gradient-norm clipping threshold, >= 0; 0 turns clipping off (default 5)")
    p.add_argument("--schedule", choices=SCHEDULES, default="constant",
                   help="learning-rate schedule: constant --lr, or linear warm-up to --lr then "
                        "inverse-sqrt decay or a cosine down to 0 at the last step")
    p.add_argument("--warmup", type=T.integer(1, 10_000_000), default=None, metavar="STEPS",
                   help="warm-up steps of --schedule inverse-sqrt/cosine (default: 400)")
    p.add_argument("--label-smoothing", type=T.real(0.0, 1.0, high_open=True), default=0.0,
                   metavar="E", help="spread E of the target over all characters, in [0, 1) "
                                     "(0 = plain cross entropy)")
    p.add_argument("--seed", type=T.integer(0, 2**32 - 1), default=0,
                   help="seed of the data, weights and shuffling, 0 to 2**32-1 (default 0)")
    p.add_argument("--reverse-input", action="store_true", default=None,
                   help="feed the questions reversed (the book's trick for the date task; text "
                        "tasks; default: as written)")
    p.add_argument("--keep", choices=("last", "best"), default="last",
                   help="which epoch model.npz holds: last (default) or best (the best "
                        "validation exact match so far, ties to fewer bit errors, then the "
                        "earlier epoch; the last epoch is then also written to "
                        "model-last.npz, and history.json records kept_epoch)")
    p.add_argument("--val-samples", type=T.integer(1, T.MAX_SAMPLES), default=None, metavar="N",
                   help="validate on at most N examples, N >= 1 (default: all)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="where to train: cpu (NumPy, default) or cuda (CuPy; needs the gpu "
                        "extra and an NVIDIA GPU)")
    p.add_argument("--threads", type=T.integer(1, 1024), default=None, metavar="N",
                   help=THREADS_HELP)
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar: one line per epoch only")
    p.add_argument("--out", required=True, metavar="DIR", type=T.run_folder(),
                   help="the run folder (created): model.npz and history.json are written there")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the model.npz and history.json of an existing run in DIR")
    return p


def run_training(args):
    """Train as the parsed ``train`` options ``args`` ask; returns 0 (CLIError for bad input)."""

    T.check_run_dir(args.out, RUN_FILES, overwrite=args.overwrite)
    keep_host_memory()          # reuse freed temporaries' memory (glibc; see backend)
    if args.warmup is not None and args.schedule == "constant":
        raise CLIError(f"--warmup needs --schedule inverse-sqrt or cosine, got --warmup "
                       f"{args.warmup} with --schedule {args.schedule}")
    try:
        spec = registry.get_spec(args.model)
        source = D.data_source(args.data)
    except ValueError as e:
        raise CLIError(str(e)) from e
    if source.kind != spec.task:
        raise CLIError(f"--model {args.model} learns {spec.task} tasks, but --data {args.data} "
                       f"is a {source.kind} task (models for it: "
                       f"{', '.join(registry.model_names(source.kind)) or 'none'})")
    options = {k: getattr(args, k) for k in TASK_OPTIONS}
    try:
        data = D.load_data(args.data, samples=args.samples, seed=args.seed, **options)
    except FileNotFoundError as e:
        raise CLIError(f"data file not found: {args.data}") from e
    except ValueError as e:
        raise CLIError(str(e)) from e
    spec, config = model_config(args, **data.task.model_fields())

    try:  # described first, allocating nothing: a model no checkpoint could hold is refused
        describe_params(config, f"--model {args.model} with these options")
    except CheckpointError as e:
        raise CLIError(f"{e} (a checkpoint holds at most {MAX_PARAMS:,}; use smaller widths or "
                       "fewer layers)") from e
    ta.seed(args.seed)
    try:
        model = registry.build_model(config)
    except ValueError as e:
        raise CLIError(str(e)) from e
    if args.device != "cpu":
        try:
            model.to_device(args.device)
        except GPUUnavailableError as e:
            raise CLIError(str(e)) from e
    _dry_run(args, model, data)
    ckpt = os.path.join(args.out, "model.npz")
    steps = -(-len(data.x_train) // args.batch_size) * args.epochs
    schedule = make_schedule(args.schedule, args.lr, args.warmup or 400, steps)
    try:
        trainer = Trainer(model, data, batch_size=args.batch_size, max_grad=args.max_grad,
                          lr=args.lr, seed=args.seed, val_samples=args.val_samples,
                          checkpoint=ckpt, progress=not args.no_progress, threads=args.threads,
                          schedule=schedule, label_smoothing=args.label_smoothing,
                          keep=args.keep)
    except ValueError as e:
        raise CLIError(str(e)) from e
    os.makedirs(args.out, exist_ok=True)  # only once every check has passed: no empty run folder
    try:  # one run per folder: a second train into it is refused while this one lives
        lock = RunLock(args.out).acquire()
    except (RunLockedError, OSError) as e:
        raise CLIError(f"--out: {e}") from e
    try:
        # checked again now that the folder is ours: a run that finished meanwhile counts
        T.check_run_dir(args.out, RUN_FILES, overwrite=args.overwrite)
        return _fit(args, trainer, model, data, ckpt)
    finally:
        lock.release()


def _dry_run(args, model, data):
    """One example through the model before the run folder exists: a model that cannot run
    the data (e.g. a Transformer whose ``--max-len`` is shorter than the questions) is refused
    now, with one line, instead of inside the first step."""
    from ..backend import as_device, device_of

    dev = device_of(next(iter(model.params())).data) if list(model.params()) else "cpu"
    x, t = (as_device(a[:1], dev) for a in (data.x_train, data.t_train))
    try:
        with ta.no_grad(), ta.test_mode():
            model(x, t)
    except ta.OpError as e:
        hint = ""
        widths = data.task.widths()
        need = max(widths.values(), default=0)
        if model.config.get("max_len", need) < need:
            hint = (f"; raise --max-len to at least {need} (the data has "
                    f"{', '.join(f'{k} {v}' for k, v in widths.items())})")
        raise CLIError(f"--model {args.model} cannot run the examples of --data {args.data}: "
                       f"{e}{hint}") from e


def _fit(args, trainer, model, data, ckpt):
    """Train in the locked run folder, writing the history after every epoch."""

    def write_history(tr, entry):
        record = {"config": model.config, "task": data.task.describe(), "history": tr.history}
        if args.keep == "best":
            record["kept_epoch"] = tr.best_epoch
        with atomic_write(os.path.join(args.out, "history.json"), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
        acc = entry["val_acc"]
        bits = entry.get("val_bit_errors")
        extra = "" if bits is None else f"  bit errors/seq {bits:.3f}"
        print(f"epoch {entry['epoch']}: loss {entry['loss']:.4f}  val_acc "
              f"{'-' if acc is None else f'{acc * 100:.2f}%'}{extra}  ({entry['time']:.1f} s)",
              flush=True)

    try:
        trainer.fit(args.epochs, callback=write_history)
    except TrainingDiverged as e:
        raise CLIError(str(e)) from e
    if args.keep == "best":
        best = trainer.history[trainer.best_epoch - 1] if trainer.best_epoch else None
        acc = best and best["val_acc"]
        print(f"checkpoint: {ckpt} (epoch {trainer.best_epoch}, the best on validation"
              + ("" if acc is None else f": {acc * 100:.2f}%") + f"); last epoch: "
              f"{trainer.last_checkpoint}")
    else:
        print(f"checkpoint: {ckpt}")
    print(f"history: {os.path.join(args.out, 'history.json')}")
    return 0
