"""``tinygrad-attn train``: train a registered model and write a checkpoint and its history.

The models and their options come from :mod:`tinygrad_attn.registry`: ``--model`` lists every
registered name, and each model's options (``--hidden``, ``--heads``, ...) are added once,
whichever models share them.
"""
from __future__ import annotations

import argparse
import json
import os

from .. import cli_types as T
from .. import registry
from ..cli import CLIError
from ..data.bits import BIT_TASKS
from ..optim import SCHEDULES

THREADS_HELP = ("BLAS threads for the matrix products, 1 to 1024 (default: the libraries' own, "
                "one per core unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise; 1 is "
                "steadier on a machine other jobs keep busy)")

RUN_FILES = ("model.npz", "history.json", "model-last.npz")
"""The files a run writes into its ``--out`` folder."""


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


def add_parser(sub):
    """Register the ``train`` sub-command."""
    p = sub.add_parser("train", help="train a model",
                       description="Train a registered model; writes DIR/model.npz (after every "
                                   "epoch and on Ctrl-C) and DIR/history.json. A folder that "
                                   "already holds a run is refused unless --overwrite is given. "
                                   "Every value is checked before training starts; the valid "
                                   "range is given below.")
    add_model_options(p)
    p.add_argument("--data", default="date", type=T.data_source(("date", "addition", *BIT_TASKS)),
                   help="'date', 'addition', a file in the book's format, or a binary-vector "
                        "task: 'copy', 'repeat-copy' (for --model ntm, lstm-bits)")
    p.add_argument("--samples", type=T.integer(1, T.MAX_SAMPLES), default=50000,
                   help=f"generated examples, 1 to {T.MAX_SAMPLES} (default 50000)")
    bits = p.add_argument_group("binary-vector tasks (--data copy, repeat-copy)")
    bits.add_argument("--min-length", type=T.integer(1, 10000), default=1,
                      help="shortest sequence (default 1)")
    bits.add_argument("--max-length", type=T.integer(1, 10000), default=10,
                      help="longest sequence (default 10)")
    bits.add_argument("--bit-width", type=T.integer(1, 4096), default=8,
                      help="bits per vector (default 8)")
    bits.add_argument("--max-repeats", type=T.integer(1, 1000), default=10,
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
    p.add_argument("--reverse-input", action="store_true",
                   help="feed each question reversed, as the book does for the date task "
                        "(text data; default: as written)")
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
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the run folder (created): model.npz and history.json are written there")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the model.npz and history.json of an existing run in DIR")
    return p


def run(args):
    """Train as asked; returns 0."""
    import tinygrad_attn as ta

    from ..backend import GPUUnavailableError, keep_host_memory
    from ..data import BIT_TASKS, load_bits_dataset, load_dataset
    from ..optim import make_schedule
    from ..train import Trainer, TrainingDiverged

    T.check_run_dir(args.out, RUN_FILES, overwrite=args.overwrite)
    keep_host_memory()          # reuse freed temporaries' memory (glibc; see backend)
    if args.warmup is not None and args.schedule == "constant":
        raise CLIError(f"--warmup needs --schedule inverse-sqrt or cosine, got --warmup "
                       f"{args.warmup} with --schedule {args.schedule}")
    task = "bits" if args.data in BIT_TASKS else "text"
    try:
        spec_task = registry.get_spec(args.model).task
    except ValueError as e:
        raise CLIError(str(e)) from e
    if spec_task != task:
        fit = ", ".join(registry.model_names(task))
        raise CLIError(f"--model {args.model} learns {spec_task} tasks, but --data {args.data} is "
                       f"a {task} task (models for it: {fit})")
    try:
        if args.data in BIT_TASKS:
            params = dict(min_len=args.min_length, max_len=args.max_length, width=args.bit_width)
            if args.data == "repeat-copy":
                params["max_repeats"] = args.max_repeats
            data = load_bits_dataset(args.data, samples=args.samples, seed=args.seed, **params)
        else:
            data = load_dataset(args.data, samples=args.samples, seed=args.seed,
                                reverse_input=args.reverse_input)
    except FileNotFoundError as e:
        raise CLIError(f"data file not found: {args.data}") from e
    except ValueError as e:
        raise CLIError(str(e)) from e
    fields = data.model_fields() if hasattr(data, "model_fields") else {"vocab_size": len(data.vocab)}
    spec, config = model_config(args, **fields)

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

    def write_history(tr, entry):
        record = {"config": config, "history": tr.history}
        if args.keep == "best":
            record["kept_epoch"] = tr.best_epoch
        _write_json_atomically(os.path.join(args.out, "history.json"), record)
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


def _write_json_atomically(path, obj):
    """Write ``obj`` as JSON to ``path`` through a temporary file, fsync and rename."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
