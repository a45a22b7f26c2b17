"""Build the two explorers embedded in docs/explore.md (never written by hand).

    python docs/make_explorers.py            # train two small date models, write the pages
    python docs/make_explorers.py --keep runs/docs-explore   # keep the checkpoints there
    python docs/make_explorers.py --keep runs/docs-explore --reuse   # pages only
    python docs/make_explorers.py --refresh   # same numbers, the current page code

``--refresh`` rebuilds the committed pages from the data they embed, so a change to the
explorer's HTML, CSS or JavaScript reaches the docs without training again
(``tests/viz/test_explore.py`` fails while a page is out of date).

Trains, with the command line and in a temporary folder, the chapter's attention seq2seq
(reversed input, one epoch on 20,000 dates) and a small Transformer (two epochs), then writes
``docs/assets/explore-date.html`` and ``docs/assets/explore-transformer.html`` with
``tinygrad-attn explore`` for the same four dates, and prints each page's size.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tinygrad_attn.cli import main  # noqa: E402

INPUTS = ["may 4, 2021", "TUESDAY, SEPTEMBER 25, 1984", "10/31/90", "Jun 17, 2013"]
LABELS = {"date": "attention seq2seq: dot score, reversed input, hidden 256",
          "transformer": "Transformer: d_model 64, 2 layers x 4 heads"}
RUNS = {
    "date": ["--model", "attention", "--data", "date", "--samples", "20000", "--epochs", "1",
             "--hidden", "256", "--batch-size", "128", "--reverse-input", "--seed", "0"],
    "transformer": ["--model", "transformer", "--data", "date", "--samples", "20000",
                    "--epochs", "2", "--hidden", "64", "--heads", "4", "--layers", "2",
                    "--ff", "256", "--dropout", "0", "--schedule", "cosine", "--warmup", "200",
                    "--lr", "0.002", "--reverse-input", "--seed", "0"],
}


def build(folder, out_dir, reuse=False):
    """Train each run into ``folder`` (``reuse``: keep a checkpoint already there) and write
    its explorer into ``out_dir``."""
    for name, argv in RUNS.items():
        run = os.path.join(folder, name)
        if not (reuse and os.path.exists(os.path.join(run, "model.npz"))):
            start = time.perf_counter()
            code = main(["train", *argv, "--out", run, "--no-progress", "--overwrite"])
            if code:
                raise SystemExit(f"training {name} failed ({code})")
            print(f"{name}: trained in {time.perf_counter() - start:.0f} s")
        page = os.path.join(out_dir, f"explore-{name}.html")
        epochs = int(argv[argv.index("--epochs") + 1])
        code = main(["explore", "--checkpoint", os.path.join(run, "model.npz"), "--out", page,
                     "--label", LABELS[name],
                     "--title", f"Attention explorer: the {name} model after {epochs} "
                     f"epoch{'s' * (epochs != 1)} on 20,000 dates", *INPUTS])
        if code:
            raise SystemExit(f"explore {name} failed ({code})")


def refresh(out_dir):
    """Rewrite every ``explore-*.html`` in ``out_dir`` with the current page code."""
    from tinygrad_attn.viz import Explorer

    for name in sorted(os.listdir(out_dir)):
        if name.startswith("explore-") and name.endswith(".html"):
            path = os.path.join(out_dir, name)
            with open(path, encoding="utf-8") as f:
                page = Explorer.from_html(f.read())
            page.save(path)
            print(f"refreshed {path} ({page.size / 1024:.0f} KiB)")


def main_(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", metavar="FOLDER", help="keep the trained checkpoints here")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep: use the checkpoints already there instead of training")
    ap.add_argument("--out", default=os.path.join(HERE, "assets"), help="where the pages go")
    ap.add_argument("--refresh", action="store_true",
                    help="only rebuild the existing pages with the current page code")
    args = ap.parse_args(argv)
    if args.refresh:
        refresh(args.out)
    elif args.keep:
        os.makedirs(args.keep, exist_ok=True)
        build(args.keep, args.out, args.reuse)
    else:
        tmp = tempfile.mkdtemp(prefix="docs-explore-")
        try:
            build(tmp, args.out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main_()
