"""``tinygrad-attn eval``: accuracy of a checkpoint.

Text checkpoints: the exact-match accuracy on freshly generated pairs (``--data date`` or
``addition``, ``--samples`` of them from ``--seed``) or on a file in the book's
question_answer format.
Binary-vector checkpoints (copy, repeat copy): bit errors per sequence at given lengths.
"""
from __future__ import annotations

from .. import cli_types as T
from ..cli import CLIError
from ..threads import limit_threads
from . import open_checkpoint
from .train import THREADS_HELP
from .translate import load_translator


def add_parser(sub):
    """Register the ``eval`` sub-command."""
    p = sub.add_parser("eval", help="accuracy of a checkpoint (exact match, or bit errors)",
                       description="Text checkpoints: print the exact-match accuracy on --data: "
                                   "'date' or 'addition' (--samples pairs generated from --seed) "
                                   "or a file in the book's question_answer format. Checkpoints "
                                   "of a binary-vector task (copy, repeat-copy): print the bit "
                                   "errors per sequence on --samples fresh sequences of each "
                                   "--lengths.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"),
                   help="the checkpoint to evaluate (model.npz written by train)")
    p.add_argument("--data", metavar="DATA", type=T.data_source(("date", "addition")),
                   help="text checkpoints (required for them): 'date' or 'addition' to generate "
                        "--samples pairs from --seed, or a file in the book's format")
    p.add_argument("--batch-size", type=T.integer(1, T.MAX_BATCH), default=512,
                   help=f"examples decoded at once, 1 to {T.MAX_BATCH} (default 512)")
    p.add_argument("--threads", type=T.integer(1, 1024), default=None, metavar="N",
                   help=THREADS_HELP)
    p.add_argument("--lengths", default=None, metavar="L1,L2,...",
                   help="sequence lengths (bits checkpoints; default: the training maximum)")
    p.add_argument("--samples", type=T.integer(1, T.MAX_SAMPLES), default=None,
                   help="generated pairs (--data date/addition; default 1000) or sequences per "
                        "length (bits checkpoints; default 256)")
    p.add_argument("--seed", type=T.integer(0, 2**32 - 1), default=1,
                   help="seed of the generated pairs or test sequences, 0 to 2**32-1 (default 1; "
                        "train draws its data from seed 0 by default, so these are other draws — "
                        "a few generated dates may still repeat training ones)")
    return p


def _is_bits_checkpoint(path):
    from ..io import load_npz

    _, meta = open_checkpoint(load_npz, path)
    return isinstance(meta, dict) and "vocab" in meta and meta["vocab"] is None


def run_bits(args):
    """Bit errors per sequence at each length; returns 0."""
    from ..train import evaluate_bits
    from .memory import load_bits_checkpoint, task_params

    model, data = load_bits_checkpoint(args.checkpoint)
    samples = 256 if args.samples is None else args.samples
    try:
        lengths = [int(v) for v in (args.lengths or str(data.get("max_len", 10))).split(",") if v]
    except ValueError as e:
        raise CLIError(f"--lengths must be comma-separated integers, got {args.lengths!r}") from e
    if not lengths or min(lengths) < 1 or max(lengths) > 10_000:
        raise CLIError(f"--lengths must be integers in [1, 10000], got {args.lengths!r}")
    params = task_params(data, 1)
    del params["length"]
    try:
        res = evaluate_bits(model, data["task"], lengths, samples=samples, seed=args.seed,
                            **params)
    except ValueError as e:
        raise CLIError(str(e)) from e
    print(f"{data['task']} ({model.config['model']}), {samples} sequences per length")
    for L, m in res.items():
        print(f"length {L}: {m['bit_errors']:.3f} bit errors per sequence, "
              f"{100 * m['acc']:.1f}% sequences perfect")
    return 0


def run(args):
    """Evaluate and print the accuracy; returns 0."""
    from ..data import load_text

    if _is_bits_checkpoint(args.checkpoint):
        return run_bits(args)
    if args.data is None:
        raise CLIError("--data is needed for a text checkpoint: 'date' or 'addition' (generated) "
                       "or a file in the book's format")
    if args.data in ("date", "addition"):
        from ..data import make_addition, make_dates

        n = 1000 if args.samples is None else args.samples
        pairs = (make_dates if args.data == "date" else make_addition)(n, seed=args.seed)
        source = f"{n} generated {args.data} pairs (seed {args.seed})"
    else:
        try:
            pairs = load_text(args.data)
        except FileNotFoundError as e:
            raise CLIError(f"data file not found: {args.data}") from e
        except ValueError as e:
            raise CLIError(str(e)) from e
        source = args.data
    tr = load_translator(args.checkpoint)
    questions = [q.rstrip(" ") for q, _ in pairs]
    answers = [a.strip(" ") for _, a in pairs]
    correct = 0
    try:
        with limit_threads(args.threads):
            for i in range(0, len(questions), args.batch_size):
                got = tr.translate(questions[i:i + args.batch_size])
                correct += sum(g == a for g, a in zip(got, answers[i:i + args.batch_size]))
    except ValueError as e:
        raise CLIError(f"{args.data}: {e}") from e
    n = len(questions)
    print(f"exact match on {source}: {correct}/{n} = {100.0 * correct / n:.2f}%")
    return 0
