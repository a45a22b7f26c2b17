"""The main job: train the attention seq2seq on the built-in date data, then show what it learned.

    python examples/quickstart.py            # defaults reach >= 99.9 % validation exact match
    python examples/quickstart.py --epochs 1 --samples 20000  # a quick look: ~70 %, ~30 s
    python examples/quickstart.py --threads 1                 # steadier on a busy machine

The quick look already learns (about 70 % exact match after ~20-30 s on a 2-core laptop)
and draws aligned heatmaps; with much less data (say 5,000 pairs) one epoch learns nothing
visible yet, and the script says so.

Writes to ``runs/date/`` — a quick look (fewer epochs or samples than the defaults) to
``runs/date-quick/``, so that it never replaces the full run — or to ``--out``; a folder that
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
from tinygrad_attn.training import Trainer, Translator  # noqa: E402

EXAMPLES = ["september 27, 1994", "TUESDAY, SEPTEMBER 25, 1984", "10/31/90", "Jun 17, 2013",
            "saturday, july 18, 1981", "2/10/93"]


RUN_FILES = ("model.npz", "history.json")
EPOCHS, SAMPLES = 3, 50000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=positive_int, default=EPOCHS,
                   help=f"training epochs (default: {EPOCHS})")
    p.add_argument("--samples", type=positive_int, default=SAMPLES,
                   help=f"generated date pairs, 10 %% held out for validation (default: {SAMPLES})")
    p.add_argument("--hidden", type=positive_int, default=256, help="hidden width H (default: 256)")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="examples per training step (default: 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and weights (default: 0)")
    p.add_argument("--out", default=None,
                   help="output folder (default: runs/date, or runs/date-quick for a run with "
                        "fewer epochs or samples than the defaults)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in the output folder")
    p.add_argument("--no-pictures", action="store_true",
                   help="skip history.png, attention.png and graph.svg")
    add_threads(p)
    args = p.parse_args(argv)
    if args.out is None:
        quick = args.epochs < EPOCHS or args.samples < SAMPLES
        args.out = os.path.join("runs", "date-quick" if quick else "date")
    check_out(p, args.out, RUN_FILES, args.overwrite)
    return args


def pictures(out, trainer, translator, data):
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
        answers, weights = translator.translate(EXAMPLES[:4], return_attention=True)
        items = []
        for text, ans, w in zip(EXAMPLES[:4], answers, weights):
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
    data = load_dataset("date", samples=args.samples, seed=args.seed, reverse_input=True)
    print(f"date data: {data.train_size} training / {data.val_size} validation pairs, "
          f"vocabulary of {len(data.vocab)} characters, input width {data.in_width}")
    ta.seed(args.seed)
    model = AttentionSeq2seq(len(data.vocab), wordvec_size=16, hidden_size=args.hidden)
    ckpt = os.path.join(args.out, "model.npz")
    trainer = Trainer(model, data, batch_size=args.batch_size, max_grad=5.0, seed=args.seed,
                      checkpoint=ckpt, threads=args.threads)
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
              "longer: --epochs 1 --samples 20000 reaches about 70 %, the defaults >= 99.9 %.")
    translator = Translator(model, data.task)
    for q, a in zip(EXAMPLES, translator.translate(EXAMPLES)):
        print(f"  {q:<30} -> {a}")
    if not args.no_pictures:
        pictures(args.out, trainer, translator, data)
    print(f"translate your own: tinygrad-attn translate --checkpoint {ckpt} \"may 4, 2021\"")


if __name__ == "__main__":
    main()
