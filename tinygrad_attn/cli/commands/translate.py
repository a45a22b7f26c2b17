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
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"))
    p.add_argument("--beam", type=T.integer(1, T.MAX_BEAM), default=1, metavar="N",
                   help=f"beam width, 1 to {T.MAX_BEAM} (1 = greedy decoding)")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    return p


CHUNK = 256
"""Lines of stdin translated (and printed) at a time: memory stays bounded however long the
input is."""


def stdin_chunks(limit=None, size=CHUNK):
    """Yield lists of up to ``size`` ``(line number, line)`` pairs read from stdin.

    Each line is read with a bound (``limit`` characters): a line longer than that (e.g. a
    stream without line breaks) is refused at once, naming its number, instead of being read
    until memory runs out. Lines end with ``\\n`` or ``\\r\\n``; bytes are decoded line by
    line (UTF-8 unless stdin says otherwise), so an undecodable line is named exactly.

    Raises:
        CLIError: a line is not valid text, or is longer than ``limit``.
    """
    raw = getattr(sys.stdin, "buffer", None)
    encoding = getattr(sys.stdin, "encoding", None) or "utf-8"
    chunk, number = [], 0
    while True:
        number += 1
        if raw is not None:  # bytes: at most 4 per character, plus "\r\n"
            data = raw.readline(-1 if limit is None else 4 * limit + 2)
            if not data:
                break
            try:
                line = data.decode(encoding)
            except UnicodeDecodeError as e:
                raise CLIError(f"stdin line {number} is not valid text in the {encoding} "
                               f"encoding: {e.reason}") from e
        else:
            line = sys.stdin.readline(-1 if limit is None else limit + 2)
            if not line:
                break
        ended = line.endswith("\n")
        body = line[:-1] if ended else line
        if body.endswith("\r"):
            body = body[:-1]
        if limit is not None and len(body) > limit and not ended:
            raise CLIError(f"stdin line {number} is longer than the {limit} characters this "
                           "model reads")
        chunk.append((number, body))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def translate_lines(tr, texts, **kw):
    """Translate ``texts``; blank ones give "" (one answer per text, in order)."""
    keep = [i for i, t in enumerate(texts) if t.strip()]
    answers = [""] * len(texts)
    if keep:
        got = tr.translate([texts[i] for i in keep], **kw)
        for i, a in zip(keep, got):
            answers[i] = a
    return answers


def _translate(tr, numbered, where, **kw):
    """Answers for ``[(number, text)]``; a bad text is named by ``where`` and its number."""
    texts = [t for _, t in numbered]
    try:
        return translate_lines(tr, texts, **kw)
    except ValueError as e:
        for n, t in numbered:  # which one: check them one by one (only after a failure)
            if t.strip():
                try:
                    tr.encode([t])
                except ValueError as bad:
                    raise CLIError(f"{where} {n}: {bad}") from bad
        raise CLIError(str(e)) from e


def run(args):
    """Translate and print; returns 0.

    TEXT arguments are checked and translated together. Lines of stdin are read and
    translated :data:`CHUNK` at a time, each answer printed as soon as its chunk is done: a
    bad line stops the command with one error line naming it, after the answers of the lines
    before it.
    """
    texts = list(args.texts)
    if texts:
        empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
        if empty:
            raise CLIError(f"TEXT number {empty[0]} is empty; give the text to translate")
        tr = load_translator(args.checkpoint)
        for a in _translate(tr, list(enumerate(texts, 1)), "TEXT number", beam_width=args.beam):
            print(a)
        return 0
    if sys.stdin is None:
        raise CLIError("nothing to translate: give TEXT arguments or lines on stdin")
    tr = load_translator(args.checkpoint)
    held = 0          # blank lines before the first text: printed once a text comes
    seen_text = False
    for chunk in stdin_chunks(limit=tr.in_width):
        if not seen_text:
            if not any(t.strip() for _, t in chunk):
                held += len(chunk)
                continue
            seen_text = True
            print("\n" * held, end="")
        for a in _translate(tr, chunk, "stdin line", beam_width=args.beam):
            print(a)
        sys.stdout.flush()
    if not seen_text:
        raise CLIError("nothing to translate: stdin holds no text")
    return 0
