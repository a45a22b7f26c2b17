"""``tinygrad-attn translate``: translate strings with a checkpoint."""
from __future__ import annotations

import sys

from .. import values as T
from ..common import load_translator
from ..values import CLIError


def add_parser(sub):
    """Register the ``translate`` sub-command."""
    p = sub.add_parser("translate", help="translate text with a trained checkpoint",
                       description="Translate each TEXT (or each line of stdin) with a checkpoint; "
                                   "exactly one output line per input (a blank input line gives "
                                   "a blank output line). Windows line endings are accepted.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"),
                   help="the text checkpoint to translate with (model.npz written by train)")
    p.add_argument("--beam", type=T.integer(1, T.MAX_BEAM), default=1, metavar="N",
                   help=f"beam width, 1 to {T.MAX_BEAM} (1 = greedy decoding)")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    return p


def read_stdin_lines():
    """The lines of stdin without their line endings (``\\n`` or ``\\r\\n``), blank ones kept.

    Raises:
        CLIError: stdin is not valid text (undecodable bytes).
    """
    try:
        text = sys.stdin.read()
    except UnicodeDecodeError as e:
        raise CLIError(f"stdin is not valid text in the {e.encoding} encoding "
                       f"(byte {e.start}): {e.reason}") from e
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def translate_lines(tr, texts, **kw):
    """Translate ``texts``; blank ones give "" (one answer per text, in order)."""
    keep = [i for i, t in enumerate(texts) if t.strip()]
    answers = [""] * len(texts)
    if keep:
        got = tr.translate([texts[i] for i in keep], **kw)
        for i, a in zip(keep, got):
            answers[i] = a
    return answers


def run(args):
    """Translate and print; returns 0."""
    texts = list(args.texts)
    from_stdin = not texts
    if from_stdin:
        if sys.stdin is None:
            raise CLIError("nothing to translate: give TEXT arguments or lines on stdin")
        texts = read_stdin_lines()
        if not any(t.strip() for t in texts):
            raise CLIError("nothing to translate: stdin holds no text")
    else:
        empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
        if empty:
            raise CLIError(f"TEXT number {empty[0]} is empty; give the text to translate")
    tr = load_translator(args.checkpoint)
    try:
        answers = translate_lines(tr, texts, beam_width=args.beam)
    except ValueError as e:
        raise CLIError(str(e)) from e
    for a in answers:
        print(a)
    return 0
