"""Padding and attention: the tutorial's one-epoch model without and with the key-padding mask.

    python examples/padding_mask.py                       # 20,000 dates, one epoch, both models
    python examples/padding_mask.py --samples 50000 --epochs 3

Trains the attention seq2seq of the tutorial (section 8: hidden 256, batch 128, Adam, clipping
5.0, seed 0) three times on the same data — as in the book; with ``mask_padding=True`` (every
position whose id is the padding id gets attention weight 0: for dates, whose padding
character is the space, that includes the spaces inside a question); and with a mask of the
padding run alone (``mask_scope="run"``: the positions that fill the question up to the
width; the spaces inside stay visible) — and prints, for each: the validation exact
match, the mean share of attention on the padding per output row (``viz.padding_share``), and
how many validation answers are right per character. Writes ``attention-<name>.png``
(``unmasked``, ``masked``, ``padding-run``: the tutorial's four example dates with the padding
columns shown) into ``--out``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing
sys.path.insert(0, HERE)

from _args import add_threads, positive_int  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_attn as ta  # noqa: E402
from tinygrad_attn import viz  # noqa: E402
from tinygrad_attn.data import load_dataset  # noqa: E402
from tinygrad_attn.training import Trainer, Translator  # noqa: E402
from tinygrad_attn_models import AttentionSeq2seq  # noqa: E402

EXAMPLES = ["september 27, 1994", "TUESDAY, SEPTEMBER 25, 1984", "10/31/90", "Jun 17, 2013"]


VARIANTS = {"unmasked": ("no mask (the book)", {}),
            "masked": ("mask_padding=True", {"mask_padding": True}),
            "padding-run": ("padding run only", {"mask_padding": True, "mask_scope": "run"})}
"""name: (title, AttentionSeq2seq options)."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=positive_int, default=20000,
                   help="generated date pairs, 10 %% held out (default: 20000)")
    p.add_argument("--epochs", type=positive_int, default=1, help="epochs per variant (default: 1)")
    p.add_argument("--hidden", type=positive_int, default=256, help="hidden width H (default: 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and weights (default: 0)")
    p.add_argument("--out", default=os.path.join("runs", "padding"),
                   help="folder of the pictures (default: runs/padding)")
    p.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                   help="train only these variants")
    add_threads(p)
    return p.parse_args(argv)


def run(data, name, args):
    """Train one variant; return (validation accuracy, padding share per row, per-character
    accuracy, seconds, the examples' answers)."""
    options = VARIANTS[name][1]
    ta.seed(args.seed)
    model = AttentionSeq2seq(len(data.vocab), wordvec_size=16, hidden_size=args.hidden,
                             pad_id=data.vocab.pad_id, **options)
    trainer = Trainer(model, data, batch_size=128, max_grad=5.0, seed=args.seed, progress=False,
                      threads=args.threads)
    t0 = time.perf_counter()
    history = trainer.fit(args.epochs)
    seconds = time.perf_counter() - t0
    tr = Translator(model, data.task)
    questions = [data.vocab.decode(x[::-1]).rstrip(" ") for x in data.x_val]
    answers, weights = tr.translate(questions, return_attention=True)
    truth = [data.vocab.decode(t[1:]) for t in data.t_val]
    width = data.out_width
    per_char = np.mean([[a == b for a, b in zip(ans.ljust(width), ref.ljust(width))]
                        for ans, ref in zip(answers, truth)], axis=0)
    share = viz.padding_share(weights, [len(q) for q in questions]).mean(axis=0)
    ex_answers, ex_weights = tr.translate(EXAMPLES, return_attention=True)
    items = [(w[:len(a)], q, a) for q, a, w in zip(EXAMPLES, ex_answers, ex_weights)]
    viz.plot_attention_grid(items, os.path.join(args.out, f"attention-{name}.png"),
                            show_padding=True)
    return history[-1]["val_acc"], share, per_char, seconds, ex_answers


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    data = load_dataset("date-book", samples=args.samples, seed=args.seed, reverse_input=True)
    print(f"{data.train_size} training / {data.val_size} validation pairs, {args.epochs} epoch(s)")
    header = "  ".join(f"{c:>4}" for c in "YYYY-MM-DD")
    for name in args.only:
        title = VARIANTS[name][0]
        acc, share, per_char, seconds, answers = run(data, name, args)
        print(f"\n{title}: validation exact match {acc:.1%} ({seconds:.0f} s)")
        print(f"  row:                {header}")
        print("  on padding:         " + "  ".join(f"{v:4.2f}" for v in share))
        print("  character correct:  " + "  ".join(f"{v:4.2f}" for v in per_char))
        print("  examples: " + ", ".join(answers))
    print("\npictures: " + ", ".join(f"{args.out}/attention-{n}.png" for n in args.only))


if __name__ == "__main__":
    main()
