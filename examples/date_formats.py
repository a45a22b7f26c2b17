"""How well a date model reads each format, and how well its scores tell right from wrong.

    python examples/date_formats.py --checkpoint runs/date/model.npz --book path/to/date.txt

Prints (as Markdown tables) and writes to ``--json``:

* exact match on a file in the book's format (``--book``, e.g. the book's ``dataset/date.txt``,
  all its lines), overall and per book format;
* exact match on a held-out set of every format (:data:`~tinygrad_attn.data.ALL_DATE_FORMATS`,
  ``--per-format`` questions each, seed ``--seed``), without any question the model was
  trained on (the training data is regenerated from ``--train-samples`` and ``--train-seed``);
* how well the probability of the whole answer separates right from wrong answers and real
  dates from ``--nondates`` in-vocabulary texts that are not dates (ROC AUC), and what
  ``translate``'s default ``--min-prob`` flags;
* a few typed examples with their answers, probabilities and notes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

from tinygrad_attn.data import (  # noqa: E402
    ALL_DATE_FORMATS,
    DATE_FORMATS,
    format_date,
    load_text,
    make_dates,
)
from tinygrad_attn.cli.commands.translate import DEFAULT_MIN_PROB  # noqa: E402
from tinygrad_attn.training import Translator  # noqa: E402

EXAMPLES = ["2021-05-04", "4 May 2021", "MAY 04, 2021", "27 september 1994", "02/30/99",
            "hello world", "may 4, 2021", "05.04.2021", "2021년 5월 4일 (화)", "Tue, 4th May '21"]

_MONTH_PREFIXES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                   "nov", "dec")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--book", default=None, help="a file in the book's format (its date.txt)")
    p.add_argument("--per-format", type=int, default=1000, help="held-out questions per format")
    p.add_argument("--nondates", type=int, default=1000)
    p.add_argument("--seed", type=int, default=2024, help="seed of the held-out sets")
    p.add_argument("--train-samples", type=int, default=50000)
    p.add_argument("--train-seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--json", default=None, help="write the figures to this file")
    return p.parse_args(argv)


def scored(tr, texts, batch):
    out = []
    for i in range(0, len(texts), batch):
        out.extend(tr.translate_with_scores(texts[i:i + batch], refuse=True))
    return out


def roc_auc(pos, neg):
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        return None
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for v in np.unique(scores):  # average ranks of ties
        tie = scores == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def could_be_a_date(text):
    low = text.lower()
    if any(m in low for m in _MONTH_PREFIXES) or any(c in text for c in "년월일"):
        return True
    groups = re.findall(r"\d+", text)
    return len(groups) >= 3 or any(len(g) >= 8 for g in groups)


def make_nondates(n, chars, seed):
    """``n`` texts of the model's characters that do not name a date (three kinds)."""
    rng = np.random.default_rng(seed)
    letters = sorted(c for c in chars if c.isascii() and c.isalpha())
    lower = [c for c in letters if c.islower()]
    printable = sorted(c for c in chars if c not in "_")
    out = []
    while len(out) < n:
        kind = len(out) % 3
        if kind == 0:      # words: "hello world"
            words = ["".join(rng.choice(lower, size=rng.integers(2, 9)))
                     for _ in range(rng.integers(1, 4))]
            text = " ".join(w.title() if rng.random() < 0.3 else w for w in words)
        elif kind == 1:    # any of the model's characters
            text = "".join(rng.choice(printable, size=rng.integers(1, 31))).strip()
        else:              # numbers that are not dates: 42, 3.14, 1,234, 12-34
            a, b = rng.integers(0, 10 ** rng.integers(1, 5), size=2)
            text = str(a) if rng.random() < 0.4 else f"{a}{rng.choice(list('.,-/ '))}{b}"
        if text and not could_be_a_date(text):
            out.append(text)
    return out


def book_format_of(question, answer):
    day = dt.date.fromisoformat(answer)
    for f in DATE_FORMATS:
        try:
            if format_date(day, f) == question:
                return f
        except ValueError:
            pass
    return "other"


def main(argv=None):
    args = parse_args(argv)
    tr = Translator.from_checkpoint(args.checkpoint)
    report = {"checkpoint": args.checkpoint, "task": tr.task.kind}
    t0 = time.perf_counter()

    # ---- the book's file
    if args.book:
        pairs = [(q.rstrip(" "), a.strip(" ")) for q, a in load_text(args.book)]
        res = scored(tr, [q for q, _ in pairs], args.batch)
        right = [r.answer == a for r, (_, a) in zip(res, pairs)]
        per = {}
        for (q, a), ok in zip(pairs, right):
            per.setdefault(book_format_of(q, a), []).append(ok)
        report["book"] = {"file": os.path.basename(args.book), "n": len(pairs),
                          "correct": int(sum(right)),
                          "per_format": {f: [int(sum(v)), len(v)] for f, v in per.items()}}
        print(f"\n{args.book}: exact match {sum(right)}/{len(pairs)} = "
              f"{100 * sum(right) / len(pairs):.2f} %")
        print("\n| book format | exact match |\n| --- | --- |")
        for f in DATE_FORMATS:
            if f in per:
                v = per[f]
                print(f"| `{f}` | {100 * sum(v) / len(v):.2f} % ({sum(v)}/{len(v)}) |")
        wrong = [(q, r.answer, a) for r, (q, a), ok in zip(res, pairs, right) if not ok]
        for q, got, a in wrong[:20]:
            print(f"  wrong: {q!r} -> {got} (expected {a})")

    # ---- held-out sets of every format
    trained = {q for q, _ in make_dates(args.train_samples, seed=args.train_seed)}
    held = {}
    all_probs, all_right = [], []
    print("\n| format | example | held-out exact match | mean probability |\n| --- | --- | --- | --- |")
    for k, fmt in enumerate(ALL_DATE_FORMATS):
        pairs = [(q, a) for q, a in make_dates(args.per_format, seed=[args.seed, k], formats=[fmt])
                 if q not in trained]
        res = scored(tr, [q for q, _ in pairs], args.batch)
        right = [r.answer == a for r, (_, a) in zip(res, pairs)]
        probs = [r.prob for r in res]
        all_probs += probs
        all_right += right
        held[fmt] = {"n": len(pairs), "correct": int(sum(right)),
                     "mean_prob": float(np.mean(probs)),
                     "wrong": [(q, r.answer, a) for r, (q, a), ok in zip(res, pairs, right)
                               if not ok][:5]}
        example = format_date(dt.date(1994, 9, 27), fmt)
        print(f"| `{fmt}` | `{example}` | {100 * sum(right) / len(pairs):.2f} % "
              f"({sum(right)}/{len(pairs)}) | {np.mean(probs):.4f} |")
    report["held_out"] = held
    n_all = len(all_right)
    print(f"\nall held-out: {sum(all_right)}/{n_all} = {100 * sum(all_right) / n_all:.2f} %")
    for fmt, h in held.items():
        for q, got, a in h["wrong"][:3]:
            print(f"  wrong ({fmt}): {q!r} -> {got} (expected {a})")

    # ---- scores: right vs wrong, dates vs non-dates
    nondates = make_nondates(args.nondates, tr.vocab.chars, args.seed)
    res_nd = scored(tr, nondates, args.batch)
    p_nd = [r.prob for r in res_nd]
    flagged_nd = [r.prob < DEFAULT_MIN_PROB or r.problem is not None for r in res_nd]
    probs = np.asarray(all_probs)
    right = np.asarray(all_right)
    auc_rw = roc_auc(probs[right], probs[~right])
    auc_dn = roc_auc(probs, p_nd)
    report["scores"] = {
        "auc_right_vs_wrong": auc_rw, "n_right": int(right.sum()), "n_wrong": int((~right).sum()),
        "auc_dates_vs_nondates": auc_dn, "n_nondates": len(nondates),
        "min_prob": DEFAULT_MIN_PROB,
        "right_flagged_unsure": (float(np.mean(probs[right] < DEFAULT_MIN_PROB))
                                 if right.any() else None),
        "wrong_flagged_unsure": (float(np.mean(probs[~right] < DEFAULT_MIN_PROB))
                                 if (~right).any() else None),
        "nondates_flagged": float(np.mean(flagged_nd)),
        "nondates_not_a_date": float(np.mean([r.problem is not None for r in res_nd])),
        "nondate_prob_median": float(np.median(p_nd)),
    }
    s = report["scores"]
    print(f"\nROC AUC right vs wrong answers (held-out, {s['n_right']} right, {s['n_wrong']} "
          f"wrong): {auc_rw if auc_rw is None else round(auc_rw, 4)}")
    print(f"ROC AUC held-out dates vs {len(nondates)} non-dates: {auc_dn:.4f}")
    print(f"at --min-prob {DEFAULT_MIN_PROB}: "
          + (f"{100 * s['right_flagged_unsure']:.2f} % of right answers flagged unsure; "
             if s["right_flagged_unsure"] is not None else "")
          + (f"{100 * s['wrong_flagged_unsure']:.1f} % of wrong ones; "
             if s["wrong_flagged_unsure"] is not None else "")
          + f"{100 * s['nondates_flagged']:.1f} % of non-dates flagged (unsure or not a "
            f"calendar date; {100 * s['nondates_not_a_date']:.1f} % not a calendar date)")
    not_date = np.asarray([r.problem is not None for r in res_nd])
    pn = np.asarray(p_nd)
    print("\n| --min-prob | right answers flagged | wrong answers flagged | non-dates flagged "
          "(unsure or not a real date) |\n| --- | --- | --- | --- |")
    s["thresholds"] = {}
    for t in (0.5, 0.8, 0.9, 0.95):
        row = (float(np.mean(probs[right] < t)) if right.any() else None,
               int((probs[~right] < t).sum()), float(np.mean((pn < t) | not_date)))
        s["thresholds"][str(t)] = row
        print(f"| {t} | " + (f"{100 * row[0]:.2f} %" if row[0] is not None else "-")
              + f" | {row[1]} of {int((~right).sum())} | {100 * row[2]:.1f} % |")
    for text, r in list(zip(nondates, res_nd))[:6]:
        print(f"  non-date {text!r} -> {r.answer} p={r.prob:.3g}")

    # ---- the examples
    print("\n| typed | answer | probability | least sure | notes |\n| --- | --- | --- | --- | --- |")
    ex = []
    for r in tr.translate_with_scores(EXAMPLES, refuse=True):
        if r.refused:
            print(f"| `{r.text}` | refused: {r.refused} | | | |")
            continue
        notes = [n for n in (r.problem, "unsure" if r.prob < DEFAULT_MIN_PROB else None) if n]
        print(f"| `{r.text}` | {r.answer} | {r.prob:.4f} | `{r.least_char}` at "
              f"{r.least_index + 1} ({r.least_prob:.3f}) | {'; '.join(notes)} |")
        ex.append({"text": r.text, "answer": r.answer, "prob": r.prob, "notes": notes})
    report["examples"] = ex
    report["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, ensure_ascii=False)
    print(json.dumps({"benchmark": "date_formats", "book_correct": report.get("book", {}).get(
        "correct"), "auc_right_vs_wrong": auc_rw, "auc_dates_vs_nondates": auc_dn}))


if __name__ == "__main__":
    main()
