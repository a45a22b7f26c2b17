"""``tinygrad-attn translate``: translate strings with a checkpoint."""
from __future__ import annotations

import sys

from ..cli import CLIError


def add_parser(sub):
    """Register the ``translate`` sub-command."""
    p = sub.add_parser("translate", help="translate text with a trained checkpoint",
                       description="Translate each TEXT (or each line of stdin) with a checkpoint; "
                                   "one output line per input.")
    p.add_argument("--checkpoint", required=True, metavar="PATH")
    p.add_argument("--beam", type=int, default=1, metavar="N",
                   help="beam width (1 = greedy decoding)")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    return p


def load_translator(path):
    """A Translator from ``path``, with user errors turned into CLIError."""
    from ..io import CheckpointError
    from ..train import Translator

    try:
        return Translator.from_checkpoint(path)
    except FileNotFoundError as e:
        raise CLIError(f"checkpoint not found: {path}") from e
    except CheckpointError as e:
        raise CLIError(str(e)) from e


def run(args):
    """Translate and print; returns 0."""
    tr = load_translator(args.checkpoint)
    texts = args.texts if args.texts else [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise CLIError("nothing to translate: give TEXT arguments or lines on stdin")
    try:
        if args.beam < 1:
            raise CLIError(f"--beam must be at least 1, got {args.beam}")
        answers = tr.translate(texts, beam_width=args.beam)
    except ValueError as e:
        raise CLIError(str(e)) from e
    for a in answers:
        print(a)
    return 0
