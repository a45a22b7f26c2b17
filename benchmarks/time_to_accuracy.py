"""Time to a validation accuracy on the date task: ours vs the book-style NumPy model, one run.

Both train the chapter's attention seq2seq (embedding 16, hidden 256, batch 128, Adam lr
0.001, global-norm clipping 5.0, reversed input) on **the same data** (``--samples``
generated dates, 10 % held out for validation) until their exact-match validation accuracy
reaches ``--target`` (99.9 % by default) or ``--max-epochs`` pass. Each keeps its own
initialisation: ours the library's default (embeddings N(0, 1)), the book-style model the
book's (embeddings N(0, 0.01^2)).

They run in **one process, epochs interleaved** (ours epoch 1, book epoch 1, ours epoch 2,
...), so load from other processes hits both alike; each stops once it reaches the target.
Reported per contender: epochs to the target, seconds of training only (the sum of its
epochs' training time), seconds including its evaluations, and the ratios ours/book. CPU
seconds (this process's) are reported beside the wall-clock ones: on a shared machine they
move much less.

Evaluation: ours decodes the validation set in batches (``evaluate``); the book-style model
evaluates **one question at a time**, as the book's chapter does (``--book-eval batched``
decodes it in batches instead, to separate the two effects).

Usage::

    python benchmarks/time_to_accuracy.py --threads 1          # the full comparison (minutes)
    python benchmarks/time_to_accuracy.py --samples 2000 --hidden 32 --max-epochs 2 --target 0.5
    python benchmarks/time_to_accuracy.py --json
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if sys.argv and sys.argv[0] and os.path.dirname(os.path.abspath(sys.argv[0])) == HERE:
    from train_step import pin_threads_from_argv

    pin_threads_from_argv(sys.argv[1:])

import numpy as np  # noqa: E402

from _common import ROOT, json_line, positive_int, print_machine, print_table  # noqa: E402
from train_step import load_average, thread_settings  # noqa: E402

WORDVEC, LR, MAX_GRAD = 16, 0.001, 5.0


class Contender:
    """One model in the race: how to train an epoch and how to evaluate.

    Attributes:
        name: ``"ours"`` or ``"book"``. history: one dict per epoch.
        reached: the epoch at which the target was reached (None until then).
    """

    def __init__(self, name, train_epoch, evaluate):
        self.name, self._train, self._evaluate = name, train_epoch, evaluate
        self.history, self.reached = [], None

    def epoch(self, target):
        """Train one epoch, then evaluate; record the times; return the accuracy."""
        w0, c0 = time.perf_counter(), time.process_time()
        loss = self._train()
        w1, c1 = time.perf_counter(), time.process_time()
        acc = self._evaluate()
        w2, c2 = time.perf_counter(), time.process_time()
        self.history.append({"epoch": len(self.history) + 1, "loss": loss, "val_acc": acc,
                             "train_s": w1 - w0, "eval_s": w2 - w1,
                             "train_cpu_s": c1 - c0, "eval_cpu_s": c2 - c1})
        if self.reached is None and acc >= target:
            self.reached = len(self.history)
        return acc

    def totals(self):
        """Seconds up to the target epoch (or all epochs when it was not reached)."""
        hist = self.history[:self.reached] if self.reached else self.history
        out = {k: sum(e[k] for e in hist) for k in ("train_s", "eval_s", "train_cpu_s", "eval_cpu_s")}
        out["total_s"] = out["train_s"] + out["eval_s"]
        out["total_cpu_s"] = out["train_cpu_s"] + out["eval_cpu_s"]
        return out


def batches(rng, n, batch):
    """Shuffled index batches of one epoch."""
    order = rng.permutation(n)
    return [order[i:i + batch] for i in range(0, n, batch)]


def make_ours(data, hidden, batch, seed, fused=True):
    """Our AttentionSeq2seq, trained with the engine; batched evaluation.

    ``fused=False`` trains and evaluates inside ``F.fused_ops(False)`` (the per-step composed
    recurrences and cells: the reference), under the name ``"ours-composed"``; the same seed
    gives it the same initial weights and batch order.
    """
    import tinygrad_attn as ta
    from tinygrad_attn import functions as F
    from tinygrad_attn.optim import Adam, clip_grads
    from tinygrad_attn.training import evaluate
    from tinygrad_attn_models import AttentionSeq2seq

    ta.seed(seed)
    model = AttentionSeq2seq(len(data.vocab), WORDVEC, hidden)
    opt = Adam(model, lr=LR)
    rng = np.random.default_rng(seed)

    def train_epoch():
        total, count = 0.0, 0
        for idx in batches(rng, len(data.x_train), batch):
            loss = model(data.x_train[idx], data.t_train[idx])
            model.cleargrads()
            loss.backward()
            clip_grads(model.params(), MAX_GRAD)
            opt.update()
            total += float(loss.data)
            count += 1
        return total / count

    def evaluate_val():
        return evaluate(model, data.x_val, data.t_val)

    if fused:
        return Contender("ours", train_epoch, evaluate_val)
    return Contender("ours-composed", F.fused_ops(False)(train_epoch), F.fused_ops(False)(evaluate_val))


def make_book(data, hidden, batch, seed, eval_mode):
    """The book-style model (hand-written backward); per-sample evaluation by default."""
    import book_reference as br

    model = br.BookAttentionSeq2seq(len(data.vocab), WORDVEC, hidden, seed=seed)
    opt = br.Adam(lr=LR)
    rng = np.random.default_rng(seed)

    def train_epoch():
        total, count = 0.0, 0
        for idx in batches(rng, len(data.x_train), batch):
            total += model.forward(data.x_train[idx], data.t_train[idx])
            model.backward()
            br.clip_grads(model.grads, MAX_GRAD)
            opt.update(model.params, model.grads)
            count += 1
        return total / count

    def evaluate():
        if eval_mode == "per-sample":
            return br.evaluate_per_sample(model, data.x_val, data.t_val)
        start, size = int(data.t_val[0, 0]), data.t_val.shape[1] - 1
        right = 0
        for i in range(0, len(data.x_val), 512):
            guess = model.generate(data.x_val[i:i + 512], start, size)
            right += int((guess == data.t_val[i:i + 512, 1:]).all(axis=1).sum())
        return right / len(data.x_val)

    return Contender("book", train_epoch, evaluate)


def ratio(a, b):
    """``a / b``, or None when either is missing or ``b`` is 0."""
    return a / b if a is not None and b else None


def run(args):
    """Race both contenders; print a table and the JSON line; return the exit status."""
    from tinygrad_attn.data import load_dataset

    data = load_dataset("date-book", samples=args.samples, seed=args.seed, reverse_input=True)
    load_before = load_average()
    racers = [make_ours(data, args.hidden, args.batch, args.seed)]
    if args.composed:
        racers.append(make_ours(data, args.hidden, args.batch, args.seed, fused=False))
    if not args.no_book:
        racers.append(make_book(data, args.hidden, args.batch, args.seed, args.book_eval))
    for epoch in range(1, args.max_epochs + 1):
        running = [r for r in racers if r.reached is None]
        if not running:
            break
        for r in running:
            acc = r.epoch(args.target)
            e = r.history[-1]
            if not args.json:
                print(f"{r.name} epoch {epoch}: loss {e['loss']:.4f} val_acc {acc * 100:.2f}% "
                      f"(train {e['train_s']:.1f} s, eval {e['eval_s']:.1f} s)", flush=True)
    load_after = load_average()
    tot = {r.name: r.totals() for r in racers}
    reached = {r.name: r.reached for r in racers}
    both = all(reached.values()) and "book" in tot
    record = {
        "benchmark": "time_to_accuracy", "task": "date", "samples": args.samples,
        "train_size": int(len(data.x_train)), "val_size": int(len(data.x_val)),
        "hidden": args.hidden, "batch": args.batch, "target": args.target,
        "max_epochs": args.max_epochs, "book_eval": args.book_eval,
        "epochs_to_target": reached,
        "ratio_train_cpu_fused_composed": (ratio(tot["ours"]["train_cpu_s"],
                                                 tot["ours-composed"]["train_cpu_s"])
                                           if "ours-composed" in tot else None),
        "history": {r.name: r.history for r in racers},
        "train_s": {k: v["train_s"] for k, v in tot.items()},
        "total_s": {k: v["total_s"] for k, v in tot.items()},
        "train_cpu_s": {k: v["train_cpu_s"] for k, v in tot.items()},
        "total_cpu_s": {k: v["total_cpu_s"] for k, v in tot.items()},
        "ratio_train": ratio(tot["ours"]["train_s"], tot.get("book", {}).get("train_s")) if both else None,
        "ratio_total": ratio(tot["ours"]["total_s"], tot.get("book", {}).get("total_s")) if both else None,
        "ratio_train_cpu": (ratio(tot["ours"]["train_cpu_s"], tot.get("book", {}).get("train_cpu_s"))
                            if both else None),
        "thread_env": thread_settings(), "cpu_count": os.cpu_count(),
        "load_avg_before": load_before, "load_avg_after": load_after,
    }
    if not args.json:
        rows = [[r.name, reached[r.name] or f">{len(r.history)}", tot[r.name]["train_s"],
                 tot[r.name]["total_s"], tot[r.name]["train_cpu_s"], tot[r.name]["total_cpu_s"]]
                for r in racers]
        print_table(["model", "epochs to target", "train s", "train + eval s", "train CPU s",
                     "train + eval CPU s"], rows,
                    title=f"time to {args.target * 100:g} % validation exact match (date, "
                          f"{len(data.x_train)} train / {len(data.x_val)} validation)")
        if record["ratio_train"] is not None:
            print(f"ratio ours/book: training {record['ratio_train']:.2f}x, with evaluation "
                  f"{record['ratio_total']:.2f}x, training CPU time {record['ratio_train_cpu']:.2f}x")
        elif "book" in tot:
            print("ratio: not both contenders reached the target within --max-epochs")
        if record["ratio_train_cpu_fused_composed"] is not None:
            print(f"ratio ours/ours-composed: training CPU time "
                  f"{record['ratio_train_cpu_fused_composed']:.2f}x")
        print(f"thread variables: {thread_settings() or 'none set'}; load average before "
              f"{load_before}, after {load_after}")
    if not args.json:
        print_machine()
    print(json_line(record))
    return 0


def parse_args(argv=None):
    """Parse the command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=positive_int, default=50000, help="generated dates")
    p.add_argument("--target", type=float, default=0.999, help="validation exact match to reach")
    p.add_argument("--max-epochs", type=positive_int, default=5)
    p.add_argument("--hidden", type=positive_int, default=256)
    p.add_argument("--batch", type=positive_int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--book-eval", choices=("per-sample", "batched"), default="per-sample",
                   help="how the book-style model is evaluated (the book: per sample)")
    p.add_argument("--no-book", action="store_true", help="train ours only")
    p.add_argument("--composed", action="store_true",
                   help="also race ours with the fused ops off (per-step composed recurrences)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="BLAS/OpenMP threads (exported before NumPy loads)")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    if not 0.0 <= args.target <= 1.0 or math.isnan(args.target):
        p.error(f"--target must be in [0, 1], got {args.target}")
    return args


def main(argv=None):
    """Entry point; returns the exit status."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
