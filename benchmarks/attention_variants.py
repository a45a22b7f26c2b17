"""Attention scores and padding masks on the date task: a short training run per variant.

Every variant trains through the command line (``tinygrad-attn train --model attention``)
with the same data, seed and budget, so the only difference is ``--score`` and the mask:
``none`` (the book), ``ids`` (``--mask-padding``: every padding id, so for dates also the
spaces inside a question) or ``run`` (``--mask-padding --mask-scope run``: only the padding
that fills the input up to its width). For each run it reports the validation exact match
(per epoch), the wall time of the run and its ratio to the chapter's model (dot score, no
mask) in the same invocation, and how much of the attention (on validation inputs, greedy
decoding) goes to the padding run.

    python benchmarks/attention_variants.py --samples 20000 --epochs 1 --seeds 0 1 --out runs/attn-variants

``--reuse`` keeps a finished run found in ``--out`` (same options) instead of training it
again, and measures its checkpoint.

Prints a Markdown table and, as the last line, a JSON object with every number.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time

import numpy as np

SCORES = ("dot", "scaled", "general", "additive")


MASKS = ("none", "ids", "run")


def padding_attention(ckpt, samples, seed, limit):
    """Mean attention weight on the padding run over the validation inputs (greedy decoding)."""
    from tinygrad_attn.data import load_dataset
    from tinygrad_attn.training import load_checkpoint
    from tinygrad_attn_models import padding_positions

    model, info = load_checkpoint(ckpt)
    data = load_dataset("date-book", samples=samples, seed=seed, reverse_input=True,
                        vocab=info.task.vocab)
    x = data.x_val[:limit]
    model.generate(x, data.vocab.start_id, data.out_width)
    a = model.attention_weights                                     # (N, T_out, T_in)
    pad = padding_positions(x, data.vocab.pad_id, "run")[:, None, :]
    return float((a * pad).sum() / (a.shape[0] * a.shape[1]))


def run_one(score, mask, seed, args):
    """Train (or, with ``--reuse``, find) one run; return its numbers."""
    from tinygrad_attn.cli import main

    out = os.path.join(args.out, f"{score}-{mask}-seed{seed}")
    argv = ["train", "--model", "attention", "--data", "date-book", "--samples", str(args.samples),
            "--epochs", str(args.epochs), "--seed", str(seed), "--reverse-input", "--no-progress",
            "--hidden", str(args.hidden), "--score", score, "--out", out,
            "--overwrite"]  # a rerun of the benchmark replaces its own runs
    if mask != "none":
        argv += ["--mask-padding", "--mask-scope", mask]
    hist_path = os.path.join(out, "history.json")
    timing_path = os.path.join(out, "benchmark.json")
    reused = False
    if args.reuse and os.path.exists(hist_path) and os.path.exists(timing_path):
        with open(timing_path) as f:
            done = json.load(f)
        reused = done.get("argv") == argv
    if reused:
        seconds = done["seconds"]
    else:
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(argv)
        seconds = time.perf_counter() - t0
        if rc != 0:
            raise SystemExit(f"training {score} mask={mask} seed={seed} failed with exit code {rc}")
        with open(timing_path, "w") as f:
            json.dump({"argv": argv, "seconds": seconds}, f)
    with open(hist_path) as f:
        hist = json.load(f)["history"]
    return {"score": score, "mask": mask, "seed": seed, "val_acc": hist[-1]["val_acc"],
            "val_acc_per_epoch": [h["val_acc"] for h in hist],
            "loss": hist[-1]["loss"], "seconds": seconds, "reused": reused,
            "padding_attention": padding_attention(os.path.join(out, "model.npz"), args.samples,
                                                   seed, args.pad_samples)}


def table(rows, seeds):
    """Markdown table: one line per variant, accuracy per seed, mean, padding share, time."""
    ref = np.mean([r["seconds"] for r in rows if r["score"] == "dot" and r["mask"] == "none"])
    head = ("| score | padding mask | " + " | ".join(f"exact match, seed {s}" for s in seeds)
            + " | mean | attention on the padding run | seconds per run | time vs dot, no mask |")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for score in SCORES:
        for mask in MASKS:
            rs = [r for r in rows if r["score"] == score and r["mask"] == mask]
            if not rs:
                continue
            accs = [r["val_acc"] * 100 for r in rs]
            sec = np.mean([r["seconds"] for r in rs])
            pad = np.mean([r["padding_attention"] for r in rs])
            lines.append(f"| {score} | {mask} | "
                         + " | ".join(f"{a:.2f} %" for a in accs)
                         + f" | {np.mean(accs):.2f} % | {pad:.3f} | {sec:.1f} | {sec / ref:.2f}x |")
    return "\n".join(lines)


def main(argv=None):
    """Run every variant; print the table and a JSON line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--scores", nargs="+", default=list(SCORES), choices=SCORES)
    p.add_argument("--masks", nargs="+", default=list(MASKS), choices=MASKS)
    p.add_argument("--reuse", action="store_true", help="keep finished runs found in --out")
    p.add_argument("--pad-samples", type=int, default=1000,
                   help="validation inputs used to measure the attention on padding")
    p.add_argument("--out", default="runs/attention-variants")
    args = p.parse_args(argv)
    rows = []
    for seed in args.seeds:
        for score in args.scores:
            for mask in args.masks:
                r = run_one(score, mask, seed, args)
                rows.append(r)
                per_epoch = " ".join(f"{a * 100:.2f}" for a in r["val_acc_per_epoch"])
                print(f"{score:9s} mask={mask:4s} seed={seed}: {per_epoch} %  "
                      f"padding {r['padding_attention']:.3f}  {r['seconds']:.1f} s", flush=True)
    if "dot" in args.scores and "none" in args.masks:
        print(table(rows, args.seeds))
    from _common import machine_info, print_machine

    print_machine()
    print(json.dumps({"samples": args.samples, "epochs": args.epochs, "hidden": args.hidden,
                      "runs": rows, "machine": machine_info()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
