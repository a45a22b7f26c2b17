"""``tinygrad-attn eval``: exact-match accuracy of a checkpoint on a file in the book's format."""
from __future__ import annotations

from .. import cli_types as T
from ..cli import CLIError
from ..threads import limit_threads
from .train import THREADS_HELP
from .translate import load_translator


def add_parser(sub):
    """Register the ``eval`` sub-command."""
    p = sub.add_parser("eval", help="exact-match accuracy on a data file",
                       description="Print the exact-match accuracy of a checkpoint on a file in "
                                   "the book's question_answer format.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"))
    p.add_argument("--data", required=True, metavar="PATH", type=T.existing_file("data file"))
    p.add_argument("--batch-size", type=T.integer(1, T.MAX_BATCH), default=512,
                   help=f"examples decoded at once, 1 to {T.MAX_BATCH} (default 512)")
    p.add_argument("--threads", type=T.integer(1, 1024), default=None, metavar="N",
                   help=THREADS_HELP)
    return p


def run(args):
    """Evaluate and print the accuracy; returns 0."""
    from ..data import load_text

    try:
        pairs = load_text(args.data)
    except FileNotFoundError as e:
        raise CLIError(f"data file not found: {args.data}") from e
    except ValueError as e:
        raise CLIError(str(e)) from e
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
    print(f"exact match: {correct}/{n} = {100.0 * correct / n:.2f}%")
    return 0
