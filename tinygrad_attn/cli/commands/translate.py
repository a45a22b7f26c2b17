"""``tinygrad-attn translate``: translate strings with a checkpoint."""
from __future__ import annotations

import sys

from .. import values as T
from ..common import load_translator
from ..values import CLIError

DEFAULT_MIN_PROB = 0.9
"""Answers the model gives a lower probability are marked ``unsure``. For the quickstart's
date model this flags 9 of 10 wrong held-out answers and 93 % of in-vocabulary non-dates,
and 0.6 % of the right answers (docs/results.md)."""


def add_parser(sub):
    """Register the ``translate`` sub-command."""
    p = sub.add_parser("translate", help="translate text with a trained checkpoint",
                       description="Translate each TEXT (or each line of stdin) with a checkpoint: "
                                   "exactly one output line per input, in input order (a blank "
                                   "input line gives a blank output line). An input the model "
                                   "cannot read (unknown characters, too long, empty, not valid "
                                   "text) is refused: its output line stays blank, stderr says "
                                   "why, with its number, and the exit status is 2; every other "
                                   "input is still answered. Notes on answers (not a real date, "
                                   "or less probable than --min-prob) go to stderr, or with "
                                   "--scores at the end of the answer's line. Stdin is read and "
                                   "answered in groups of lines, memory bounded. Windows line "
                                   "endings are accepted.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"),
                   help="the text checkpoint to translate with (model.npz written by train)")
    p.add_argument("--beam", type=T.integer(1, T.MAX_BEAM), default=1, metavar="N",
                   help=f"beam width, 1 to {T.MAX_BEAM} (1 = greedy decoding)")
    p.add_argument("--scores", action="store_true",
                   help="after each answer (tab-separated): the probability of the whole answer, "
                        "the least certain character with its position (from 1) and "
                        "probability, and the notes")
    p.add_argument("--min-prob", type=T.probability(high_open=False), default=DEFAULT_MIN_PROB,
                   metavar="P", help="mark answers whose probability is below P as unsure, in "
                                     f"[0, 1] (default {DEFAULT_MIN_PROB}; 0 = never)")
    p.add_argument("texts", nargs="*", metavar="TEXT")
    return p


CHUNK = 256
"""Lines of stdin translated (and printed) at a time: memory stays bounded however long the
input is."""

MAX_SKIPPED_LINE = 1 << 20
"""Characters of one over-long stdin line read (and thrown away) before the command stops:
a longer line is refused, the next one answered, but an endless one ends the command."""


def _skip_rest_of_line(read, size, number):
    """Read and drop the rest of an over-long line, in bounded pieces (CLIError if endless)."""
    dropped = 0
    while True:
        piece = read(size)
        if not piece:
            return
        end = "\n" if isinstance(piece, str) else b"\n"
        if piece.endswith(end):
            return
        dropped += len(piece)
        if dropped > MAX_SKIPPED_LINE:
            raise CLIError(f"stdin line {number} goes on for more than {MAX_SKIPPED_LINE:,} "
                           "characters without a line break; stopping")


def stdin_chunks(limit=None, size=CHUNK):
    """Yield lists of up to ``size`` ``(line number, line, refusal)`` triples read from stdin.

    Each line is read with a bound (``limit`` characters): a longer line is refused (its
    rest read and dropped in bounded pieces; one without a line break for
    :data:`MAX_SKIPPED_LINE` characters ends the command), and so is a line that is not valid
    text in stdin's encoding; ``refusal`` says why (None for a line read whole). Lines end
    with ``\\n`` or ``\\r\\n``; bytes are decoded line by line (UTF-8 unless stdin says
    otherwise), so an undecodable line is named exactly.

    Raises:
        CLIError: an endless line.
    """
    raw = getattr(sys.stdin, "buffer", None)
    encoding = getattr(sys.stdin, "encoding", None) or "utf-8"
    read = raw.readline if raw is not None else sys.stdin.readline
    # at most 4 bytes per character, plus "\r\n"
    cap = -1 if limit is None else (4 * limit + 2 if raw is not None else limit + 2)
    newline = b"\n" if raw is not None else "\n"
    chunk, number = [], 0
    while True:
        number += 1
        data = read(cap)
        if not data:
            break
        body, refusal = "", None
        if not data.endswith(newline) and cap > 0 and len(data) >= cap:
            try:
                _skip_rest_of_line(read, cap, number)  # more than the model reads: drop the rest
            except CLIError:
                if chunk:
                    yield chunk  # the lines before an endless one are still answered
                raise
            refusal = f"longer than the {limit} characters this model reads"
        else:
            try:
                line = data.decode(encoding) if raw is not None else data
            except UnicodeDecodeError as e:
                refusal = f"not valid text in the {encoding} encoding: {e.reason}"
            else:
                body = line[:-1] if line.endswith("\n") else line
                if body.endswith("\r"):
                    body = body[:-1]
        chunk.append((number, body, refusal))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def notes(result, min_prob):
    """The notes on one answer: not a real date, unsure (probability below ``min_prob``)."""
    out = []
    if result.problem:
        out.append(result.problem)
    if result.prob is not None and result.prob < min_prob:
        out.append(f"unsure: probability {result.prob:.3g} < {min_prob:g}")
    return out


def score_text(result):
    """``p=0.998<TAB>least sure: '4' at 10 (0.999)`` for one answered input."""
    if result.prob is None:
        return "p=n/a (the model has no logits() to score answers with)"
    if result.least_index is None:
        return f"p={result.prob:.4g}"
    ch = result.least_char
    shown = "padding" if ch == " " else repr(ch)
    return (f"p={result.prob:.4g}\tleast sure: {shown} at {result.least_index + 1} "
            f"({result.least_prob:.4g})")


def translate_each(tr, texts, blank_ok, beam_width=1, refusals=None):
    """One :class:`~tinygrad_attn.training.Translation` or None (a blank line) per text.

    Blank texts give None when ``blank_ok`` (stdin), else a refusal; a text with a reason in
    ``refusals`` (same length as ``texts``) is refused for it; bad inputs are refused one by
    one, the rest translated together.
    """
    from ...training import Translation

    refusals = refusals or [None] * len(texts)
    results = [None if why is None else Translation(text=t, answer=None, refused=why)
               for t, why in zip(texts, refusals)]
    todo = [i for i, t in enumerate(texts)
            if refusals[i] is None and (t.strip() or not blank_ok)]
    got = tr.translate_with_scores([texts[i] for i in todo], beam_width=beam_width,
                                   refuse=True) if todo else []
    for i, r in zip(todo, got):
        results[i] = r
    return results


def report(numbered, scores, min_prob, what="input"):
    """Print one stdout line per ``(number, result)``, refusals and notes on stderr.

    Returns:
        How many inputs were refused.
    """
    refused = 0
    for n, r in numbered:
        if r is None:
            print()
            continue
        if r.refused is not None:
            refused += 1
            print()
            sys.stdout.flush()
            print(f"tinygrad-attn: {what} {n} refused: {r.refused}", file=sys.stderr)
            continue
        said = notes(r, min_prob)
        if scores:
            print("\t".join([r.answer, score_text(r), *said]))
        else:
            print(r.answer)
            sys.stdout.flush()
            for note in said:
                print(f"tinygrad-attn: {what} {n} ({r.text!r} -> {r.answer}): {note}",
                      file=sys.stderr)
    sys.stdout.flush()
    return refused


def run(args):
    """Translate and print; returns 0, or 2 when an input was refused.

    TEXT arguments are checked one by one and translated together. Lines of stdin are read
    and translated :data:`CHUNK` at a time, each answer printed as soon as its group is
    done. A refused input leaves its output line blank and is named on stderr; every other
    input is answered.
    """
    texts = list(args.texts)
    if texts:
        tr = load_translator(args.checkpoint)
        try:
            results = translate_each(tr, texts, blank_ok=False, beam_width=args.beam)
        except ValueError as e:
            raise CLIError(str(e)) from e
        refused = report(enumerate(results, 1), args.scores, args.min_prob, what="TEXT")
        return 2 if refused else 0
    if sys.stdin is None:
        raise CLIError("nothing to translate: give TEXT arguments or lines on stdin")
    tr = load_translator(args.checkpoint)
    held = 0          # blank lines before the first text: printed once a text comes
    seen_text = False
    refused = 0
    for chunk in stdin_chunks(limit=tr.in_width):
        if not seen_text:
            if not any(t.strip() or why for _, t, why in chunk):
                held += len(chunk)
                continue
            seen_text = True
            print("\n" * held, end="")
        try:
            results = translate_each(tr, [t for _, t, _ in chunk], blank_ok=True,
                                     beam_width=args.beam,
                                     refusals=[why for _, _, why in chunk])
        except ValueError as e:
            raise CLIError(str(e)) from e
        refused += report(zip((n for n, _, _ in chunk), results), args.scores, args.min_prob,
                          what="stdin line")
    if not seen_text:
        raise CLIError("nothing to translate: stdin holds no text")
    return 2 if refused else 0
