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
                                   "cannot read (unknown characters, too long, empty) is refused: "
                                   "its output line stays blank, stderr says why, with its "
                                   "number, and the exit status is 2; every other input is still "
                                   "answered. Notes on answers (not a real date, or less "
                                   "probable than --min-prob) go to stderr, or with --scores at "
                                   "the end of the answer's line. Windows line endings are "
                                   "accepted.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"))
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


def translate_each(tr, texts, blank_ok, beam_width=1):
    """One :class:`~tinygrad_attn.training.Translation` or None (a blank line) per text.

    Blank texts give None when ``blank_ok`` (stdin), else a refusal; bad inputs are refused
    one by one, the rest translated together.
    """
    from ...training import Translation

    results = [None] * len(texts)
    todo = [i for i, t in enumerate(texts) if t.strip() or not blank_ok]
    got = tr.translate_with_scores([texts[i] for i in todo], beam_width=beam_width,
                                   refuse=True) if todo else []
    for i, r in zip(todo, got):
        results[i] = r
    for i, r in enumerate(results):
        if r is None and not blank_ok:  # pragma: no cover - todo covers every text then
            results[i] = Translation(text=texts[i], answer=None, refused="empty")
    return results


def report(results, scores, min_prob, what="input"):
    """Print one stdout line per input, refusals and notes on stderr; returns the refusals."""
    refused = 0
    for n, r in enumerate(results, start=1):
        if r is None:
            print()
            continue
        if r.refused is not None:
            refused += 1
            print()
            print(f"tinygrad-attn: {what} {n} refused: {r.refused}", file=sys.stderr)
            continue
        said = notes(r, min_prob)
        if scores:
            print("\t".join([r.answer, score_text(r), *said]))
        else:
            print(r.answer)
            for note in said:
                print(f"tinygrad-attn: {what} {n} ({r.text!r} -> {r.answer}): {note}",
                      file=sys.stderr)
    sys.stdout.flush()
    return refused


def run(args):
    """Translate and print; returns 0, or 2 when an input was refused."""
    texts = list(args.texts)
    from_stdin = not texts
    if from_stdin:
        if sys.stdin is None:
            raise CLIError("nothing to translate: give TEXT arguments or lines on stdin")
        texts = read_stdin_lines()
        if not any(t.strip() for t in texts):
            raise CLIError("nothing to translate: stdin holds no text")
    tr = load_translator(args.checkpoint)
    try:
        results = translate_each(tr, texts, blank_ok=from_stdin, beam_width=args.beam)
    except ValueError as e:
        raise CLIError(str(e)) from e
    what = "line" if from_stdin else "TEXT"
    refused = report(results, args.scores, args.min_prob, what=what)
    return 2 if refused else 0
