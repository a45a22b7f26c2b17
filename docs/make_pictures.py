"""Draw the pictures shown in docs/ (never drawn by hand).

    python docs/make_pictures.py --checkpoint runs/date/model.npz [--compare runs/compare-date/results.json]

Writes into docs/assets/:
* ``attention.png`` — heatmaps of four dates, from the trained checkpoint;
* ``history.png`` — the checkpoint's training curves;
* ``graph.svg`` — one training step of a small attention seq2seq, time steps collapsed;
* ``compare-date.png`` — the model comparison curves, when ``--compare`` is given.

    python docs/make_pictures.py --tutorial

runs the tutorial notebook (docs/tutorial.ipynb, generated from docs/tutorial.md) in a
temporary folder, prints what its cells print (the figures quoted on the page), and copies
the pictures it draws to ``tutorial-history.png``, ``tutorial-attention.png``,
``tutorial-attention-padding.png``, ``graph-book.svg`` and ``graph-matmul.svg``, so the
pictures on the tutorial page are exactly what its code draws (needs the dev extra).

    python docs/make_pictures.py --book

draws the chapter's pictures with the command line (``tinygrad-attn graph``):
``decoder-step-book.svg`` (one decoder step, attention in the book's Repeat -> x -> Sum form)
and ``decoder-step.svg`` (the same step as the model computes it, with batched matmuls).

    python docs/make_pictures.py --padding

runs ``examples/padding_mask.py`` (the tutorial's model without and with the padding mask)
and copies its pictures to ``tutorial-padding-unmasked.png``, ``tutorial-padding-masked.png``
and ``tutorial-padding-padding-run.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import tinygrad_attn as ta  # noqa: E402
from tinygrad_attn_models import AttentionSeq2seq  # noqa: E402
from tinygrad_attn import viz  # noqa: E402
from tinygrad_attn.training import Translator, read_checkpoint_info  # noqa: E402

EXAMPLES = ["september 27, 1994", "TUESDAY, SEPTEMBER 25, 1984", "10/31/90", "Jun 17, 2013"]


TUTORIAL_PICTURES = {"history.png": "tutorial-history.png",
                     "attention.png": "tutorial-attention.png",
                     "attention-padding.png": "tutorial-attention-padding.png",
                     "graph-book.svg": "graph-book.svg", "graph-matmul.svg": "graph-matmul.svg"}


def tutorial_pictures(out):
    """Execute the tutorial notebook in a temporary folder; print its output, copy its pictures."""
    import shutil
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(HERE, "tutorial.ipynb"), as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MPLBACKEND", "Agg")
        NotebookClient(nb, timeout=1200, kernel_name="python3",
                       resources={"metadata": {"path": tmp}}).execute()
        for i, cell in enumerate(nb.cells):
            text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                           if o.output_type == "stream")
            if text:
                print(f"--- cell {i}\n{text}", end="" if text.endswith("\n") else "\n")
        for src, dst in TUTORIAL_PICTURES.items():
            shutil.copyfile(os.path.join(tmp, src), os.path.join(out, dst))
    print("tutorial pictures written to", out)


def padding_pictures(out):
    """Run examples/padding_mask.py in a temporary folder; copy its pictures."""
    import importlib.util
    import shutil
    import tempfile

    path = os.path.join(os.path.dirname(HERE), "examples", "padding_mask.py")
    spec = importlib.util.spec_from_file_location("padding_mask", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with tempfile.TemporaryDirectory() as tmp:
        mod.main(["--out", tmp])
        for name in ("unmasked", "masked", "padding-run"):
            shutil.copyfile(os.path.join(tmp, f"attention-{name}.png"),
                            os.path.join(out, f"tutorial-padding-{name}.png"))
    print("padding pictures written to", out)


BOOK_PICTURES = {"decoder-step-book.svg": ["--attention-form", "book"], "decoder-step.svg": []}


def book_pictures(out):
    """One decoder step as the book draws it, with ``tinygrad-attn graph --decoder-step``."""
    from tinygrad_attn.cli import main as cli

    for name, extra in BOOK_PICTURES.items():
        code = cli(["graph", "--decoder-step", "--fused", *extra, "--out",
                    os.path.join(out, name), "--overwrite"])
        if code:
            raise SystemExit(code)
        os.remove(os.path.join(out, name[:-4] + ".dot"))  # the source is not shown


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=os.path.join("runs", "date", "model.npz"))
    p.add_argument("--compare", nargs="*", default=[])
    p.add_argument("--out", default=os.path.join(HERE, "assets"))
    p.add_argument("--tutorial", action="store_true",
                   help="run the tutorial notebook and copy its pictures (nothing else)")
    p.add_argument("--padding", action="store_true",
                   help="run examples/padding_mask.py and copy its pictures (nothing else)")
    p.add_argument("--book", action="store_true",
                   help="draw one decoder step as the book does (nothing else)")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.book:
        book_pictures(args.out)
        print("book pictures written to", args.out)
        return
    if args.tutorial or args.padding:
        if args.tutorial:
            tutorial_pictures(args.out)
        if args.padding:
            padding_pictures(args.out)
        return

    tr = Translator.from_checkpoint(args.checkpoint)
    answers, weights = tr.translate(EXAMPLES, return_attention=True)
    items = [(w[:len(a), :len(q)], q, a) for q, a, w in zip(EXAMPLES, answers, weights)]
    viz.plot_attention_grid(items, os.path.join(args.out, "attention.png"))
    info = read_checkpoint_info(args.checkpoint)
    if info.history:
        viz.plot_history(info.history, os.path.join(args.out, "history.png"),
                         title="attention seq2seq on dates")

    ta.seed(0)
    small = AttentionSeq2seq(len(tr.vocab), 8, 16)
    x = tr.encode(["may 4, 2021", "1/2/05"])
    t = tr.vocab.encode_batch(["_2021-05-04", "_2005-01-02"])
    with ta.functions.fused_ops(False):  # the graph shows the LSTM gates as separate ops
        loss = small(x[:, :8], t)
        loss.backward()
    viz.plot_graph(loss, os.path.join(args.out, "graph.svg"), collapse_steps=True, show_grad=True)

    for path in args.compare:
        with open(path) as f:
            res = json.load(f)
        name = os.path.basename(os.path.dirname(path)) or "compare"
        viz.plot_histories(res["results"], os.path.join(args.out, f"{name}.png"),
                           title=f"validation exact match on {res['task']}")
    print("pictures written to", args.out)


if __name__ == "__main__":
    main()
