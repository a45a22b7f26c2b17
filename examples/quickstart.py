"""The main job: train the attention seq2seq on the built-in date data, then show what it learned.

    python examples/quickstart.py            # dates as people type them; >= 99.9 % on the book's formats
    python examples/quickstart.py --data date-book --samples 50000 --epochs 3 --schedule constant
                                             # the chapter's data and run (the book's 13 formats)
    python examples/quickstart.py --threads 1   # steadier on a machine other jobs keep busy

The default data (``--data date``) holds the book's 13 US formats and many more spellings:
ISO 8601, day-first and year-first dates, ordinals, leading zeros, missing commas, mixed
case, extra spaces and Korean dates (see :func:`tinygrad_attn.data.make_dates`). A model
only knows the formats it was shown: one trained on the book's formats alone misreads
``2021-05-04`` or ``4 May 2021``.

Writes to ``runs/date/`` (``runs/date-book/`` with ``--data date-book``) — a one-epoch quick
look to ``runs/date-quick/``, so that it never replaces the full run — or to ``--out``; a folder that
already holds a run is refused unless ``--overwrite`` is given. It writes ``model.npz``
(checkpoint: weights, vocabulary,
config), ``history.json``, ``history.png`` (training curves), ``attention.png`` (heatmaps
of four example dates), ``graph.svg`` and ``graph.dot`` (the computational graph of one
training step of a small model, time steps collapsed, and its Graphviz source) and prints
sample conversions and a text heatmap.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing
sys.path.insert(0, HERE)

from _args import add_threads, check_out, positive_int  # noqa: E402

import tinygrad_attn as ta  # noqa: E402
from tinygrad_attn_models import AttentionSeq2seq  # noqa: E402
from tinygrad_attn.data import load_dataset  # noqa: E402
from tinygrad_attn.optim import make_schedule  # noqa: E402
from tinygrad_attn.training import Trainer, Translator  # noqa: E402

BOOK_EXAMPLES = ["september 27, 1994", "TUESDAY, SEPTEMBER 25, 1984", "10/31/90", "Jun 17, 2013",
                 "saturday, july 18, 1981", "2/10/93"]
TYPED_EXAMPLES = ["2021-05-04", "4 May 2021", "MAY 04, 2021", "2021년 5월 4일 (화)",
                  "27 september 1994", "Tue, 4th May '21", "05.04.2021", "10/31/90"]


RUN_FILES = ("model.npz", "history.json")
EPOCHS, SAMPLES = 4, 100000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", choices=("date", "date-book"), default="date",
                   help="date: dates as people type them (default); date-book: the book's 13 formats")
    p.add_argument("--epochs", type=positive_int, default=EPOCHS,
                   help=f"training epochs (default: {EPOCHS})")
    p.add_argument("--samples", type=positive_int, default=SAMPLES,
                   help=f"generated date pairs, 10 %% held out for validation (default: {SAMPLES})")
    p.add_argument("--schedule", choices=("cosine", "constant"), default="cosine",
                   help="learning rate: a short warm-up, then a cosine down to 0 (default), or "
                        "constant (the chapter's run)")
    p.add_argument("--hidden", type=positive_int, default=256, help="hidden width H (default: 256)")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="examples per training step (default: 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and weights (default: 0)")
    p.add_argument("--out", default=None,
                   help="output folder (default: runs/DATA, e.g. runs/date; a one-epoch quick "
                        "look: runs/DATA-quick)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in the output folder")
    p.add_argument("--no-pictures", action="store_true",
                   help="skip history.png, attention.png and graph.svg")
    add_threads(p)
    args = p.parse_args(argv)
    if args.out is None:                   # a one-epoch quick look never lands on a real run
        args.out = os.path.join("runs", args.data + ("-quick" if args.epochs == 1 else ""))
    check_out(p, args.out, RUN_FILES, args.overwrite)
    return args


def pictures(out, trainer, translator, data, examples):
    """Training curves, attention heatmaps and a computational graph (needs the viz extra)."""
    try:
        from tinygrad_attn import viz
    except ImportError as e:  # pragma: no cover - viz is part of the package
        print(f"(no pictures: {e})")
        return
    written = []
    try:
        viz.plot_history(trainer.history, os.path.join(out, "history.png"), title="attention seq2seq on dates")
        written.append("history.png")
        examples = examples[:4]
        answers, weights = translator.translate(examples, return_attention=True)
        items = []
        for text, ans, w in zip(examples, answers, weights):
            # rows: the answer's characters; columns: the question as written (the padding
            # columns after it are cropped: viz.plot_attention(..., show_padding=True) shows them)
            items.append((w[:len(ans), :len(text)], text, ans))
        viz.plot_attention_grid(items, os.path.join(out, "attention.png"))
        written.append("attention.png")
        print(viz.attention_to_text(*items[0]))
    except ImportError as e:
        print(f"(no matplotlib pictures: {e}; install with: pip install \"tinygrad-attn[viz]\")")
    # one training step of a small model, time steps collapsed so it fits on a screen
    ta.seed(0)
    small = AttentionSeq2seq(len(data.vocab), 8, 16)
    loss = small(data.x_train[:2, -8:], data.t_train[:2])  # 8 input steps keep the picture small
    loss.backward()
    try:
        viz.plot_graph(loss, os.path.join(out, "graph.svg"), collapse_steps=True, show_grad=True)
        written += ["graph.svg", "graph.dot"]
    except (ImportError, RuntimeError) as e:
        print(f"(graph.dot written, but no SVG: {e})")
    print("pictures:", ", ".join(os.path.join(out, w) for w in written))


def main(argv=None):
    args = parse_args(argv)
    print(f"writing to {args.out}")
    data = load_dataset(args.data, samples=args.samples, seed=args.seed, reverse_input=True)
    print(f"date data: {data.train_size} training / {data.val_size} validation pairs, "
          f"vocabulary of {len(data.vocab)} characters, input width {data.in_width}")
    ta.seed(args.seed)
    model = AttentionSeq2seq(len(data.vocab), wordvec_size=16, hidden_size=args.hidden)
    ckpt = os.path.join(args.out, "model.npz")
    steps = -(-data.train_size // args.batch_size) * args.epochs
    schedule = make_schedule(args.schedule, 0.001, warmup=100, total_steps=steps)
    trainer = Trainer(model, data, batch_size=args.batch_size, max_grad=5.0, seed=args.seed,
                      checkpoint=ckpt, schedule=schedule, threads=args.threads)
    t0 = time.perf_counter()

    def report(tr, e):
        print(f"epoch {e['epoch']}: loss {e['loss']:.4f}, validation exact match "
              f"{e['val_acc'] * 100:.2f}% ({e['time']:.1f} s)", flush=True)

    trainer.fit(args.epochs, callback=report)
    print(f"trained in {time.perf_counter() - t0:.1f} s; checkpoint: {ckpt}")
    tmp = os.path.join(args.out, "history.json.tmp")
    with open(tmp, "w") as f:                 # atomically: temp file, fsync, rename
        json.dump(trainer.history, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(args.out, "history.json"))

    final = trainer.history[-1]["val_acc"] if trainer.history else None
    if final is not None and final < 0.5:
        print(f"note: only {final:.1%} of the validation answers are right: the model has not "
              "learned much yet, so the answers and heatmaps below are mostly noise. Train "
              "longer (more --samples and --epochs): the defaults reach >= 99.9 % on the "
              "book's formats.")
    translator = Translator(model, data.task)
    examples = BOOK_EXAMPLES if args.data == "date-book" else TYPED_EXAMPLES
    for r in translator.translate_with_scores(examples):
        note = f"  ({r.problem})" if r.problem else ""
        print(f"  {r.text:<30} -> {r.answer}  p={r.prob:.3f}{note}")
    if not args.no_pictures:
        pictures(args.out, trainer, translator, data, examples)
    print(f"translate your own: tinygrad-attn translate --checkpoint {ckpt} --scores "
          f"\"may 4, 2021\" \"2021-05-04\"")


if __name__ == "__main__":
    main()
