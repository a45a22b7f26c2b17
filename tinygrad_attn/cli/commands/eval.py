"""``tinygrad-attn eval``: accuracy of a checkpoint.

Text checkpoints: the exact-match accuracy on a file in the book's question_answer format.
Binary-vector checkpoints (copy, repeat copy): bit errors per sequence at given lengths.
"""
from __future__ import annotations

from ... import data as D
from ...data.task import task_class, task_kinds
from ...training.threads import limit_threads
from .. import values as T
from ..common import THREADS_HELP, load_task_checkpoint
from ..values import CLIError


def add_parser(sub):
    """Register the ``eval`` sub-command."""
    p = sub.add_parser("eval", help="accuracy of a checkpoint (exact match, or bit errors)",
                       description="Text checkpoints: print the exact-match accuracy on --data, a "
                                   "file in the book's question_answer format. Checkpoints of a "
                                   "binary-vector task (copy, repeat-copy): print the bit errors "
                                   "per sequence on --samples fresh sequences of each --lengths.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"),
                   help="the checkpoint to evaluate (model.npz written by train)")
    p.add_argument("--data", metavar="SOURCE", type=T.data_source(tuple(D.data_sources())),
                   help="text checkpoints (required for them): a file in the book's format, or "
                        "a generator (e.g. 'date', 'addition') seeded by --seed")
    p.add_argument("--batch-size", type=T.integer(1, T.MAX_BATCH), default=512,
                   help=f"examples decoded at once, 1 to {T.MAX_BATCH} (default 512)")
    p.add_argument("--threads", type=T.integer(1, 1024), default=None, metavar="N",
                   help=THREADS_HELP)
    p.add_argument("--lengths", default=None, metavar="L1,L2,...",
                   help="sequence lengths (bits checkpoints; default: the training maximum)")
    p.add_argument("--samples", type=T.integer(1, T.MAX_SAMPLES), default=None,
                   help="examples per set: sequences per length (bits; default 256) or "
                        "generated questions (--data date/addition; default 1000)")
    p.add_argument("--seed", type=T.integer(0, 2**32 - 1), default=None,
                   help="seed of the generated examples, 0 to 2**32-1 (default 1)")
    return p


def run(args):
    """Score the checkpoint on what its task evaluates on; print one line per set; returns 0."""
    model, info = load_task_checkpoint(args.checkpoint, "eval")
    task = info.task
    given = {"data": args.data, "lengths": _lengths(args.lengths),
             "samples": args.samples, "seed": args.seed}
    wrong = sorted(k for k, v in given.items()
                   if v is not None and k not in task.eval_options and k not in ("samples", "seed"))
    if wrong:
        owners = [f"--{k} belongs to {' or '.join(kinds) or 'no'} checkpoints" for k in wrong
                  for kinds in [[kd for kd in task_kinds() if k in task_class(kd).eval_options]]]
        raise CLIError(f"{', '.join('--' + k for k in wrong)} does not apply to a {task.kind} "
                       f"checkpoint (it takes {', '.join('--' + k for k in task.eval_options)}; "
                       f"{'; '.join(owners)})")
    options = {k: v for k, v in given.items() if k in task.eval_options and v is not None}
    try:
        with limit_threads(args.threads):
            sets = task.eval_sets(**options)
            results = [(label, task.score(model, x, t, batch_size=args.batch_size), len(x))
                       for label, x, t in sets]
    except FileNotFoundError as e:
        raise CLIError(f"data file not found: {args.data}") from e
    except ValueError as e:
        raise CLIError(str(e)) from e
    heading = task.heading(info.model_name, **options)
    if heading:
        print(heading)
    for label, figures, n in results:
        print(task.summary(label, figures, n))
    return 0


def _lengths(text):
    if text is None:
        return None
    try:
        lengths = [int(v.strip(), 10) for v in text.split(",")]
    except ValueError as e:
        raise CLIError(f"--lengths must be comma-separated integers, got {text[:60]!r}") from e
    if len(lengths) > MAX_LENGTHS:
        raise CLIError(f"--lengths gives {len(lengths):,} lengths; at most {MAX_LENGTHS} are "
                       "evaluated in one run")
    return lengths


MAX_LENGTHS = 64
"""Most sequence lengths one ``eval --lengths`` run scores."""
