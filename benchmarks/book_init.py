"""What makes the book-style model train differently from ours: initialisation, one weight at a time.

Trains the chapter's attention seq2seq (embedding 16, hidden 256, batch 128, Adam 0.001,
clipping 5.0, reversed input) on the same generated dates in the book's 13 formats
(``date-book``) with **the same batches** for
every contender, and reports the loss along the way and the validation exact match at the
end of each epoch. The contenders differ only in their initial weights (or, for
``book-engine``, in the engine):

* ``ours``: the library's defaults (embeddings N(0, 1), LSTM N(0, 1/fan_in), output
  Affine Xavier N(0, 2/(fan_in + fan_out)), zero biases);
* ``embed0.01``: ours with ``embed_std=0.01`` (the only change the docs used to call "the
  book's initialisation");
* ``book``: every weight drawn as the book draws it (``init="book"``: embeddings N(0, 0.01^2),
  LSTM and output Affine N(0, 1/fan_in), zero biases);
* ``book-xavier-out``: ``book`` with the output Affine's W redrawn the Xavier way (isolates
  the output layer);
* ``book-weights``: ours with the book-style reference model's own initial arrays copied in
  (``benchmarks/book_reference.py``, same seed) — the same draws as ``book-engine``;
* ``book-engine``: the book-style reference model itself (hand-written backward), from its
  own initialisation. ``book-weights`` and ``book-engine`` must then follow the same losses
  up to float32 rounding: any gap is the engine, not the weights.

Usage::

    nice python benchmarks/book_init.py --threads 1                  # 2 epochs of 45,000, seed 0
    nice python benchmarks/book_init.py --threads 1 --seeds 0 1 --contenders ours embed0.01 book
    python benchmarks/book_init.py --samples 2000 --hidden 32 --epochs 1     # a quick look
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if sys.argv and sys.argv[0] and os.path.dirname(os.path.abspath(sys.argv[0])) == HERE:
    from train_step import pin_threads_from_argv

    pin_threads_from_argv(sys.argv[1:])

import numpy as np  # noqa: E402

from _common import ROOT, json_line, positive_int, print_table  # noqa: E402
from train_step import load_average, thread_settings  # noqa: E402

WORDVEC, LR, MAX_GRAD = 16, 0.001, 5.0
CONTENDERS = ("ours", "embed0.01", "book", "book-xavier-out", "book-weights", "book-engine")


def epoch_batches(seed, n, batch, epochs):
    """The shuffled index batches of every epoch (the same list for every contender)."""
    rng = np.random.default_rng(seed + 7919)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n)
        out.append([order[i:i + batch] for i in range(0, n, batch)])
    return out


def build_ours(name, vocab_size, hidden, seed):
    """Our AttentionSeq2seq with the initial weights of contender ``name``."""
    import tinygrad_attn as ta
    from tinygrad_attn_models import AttentionSeq2seq

    ta.seed(seed)
    if name == "ours":
        return AttentionSeq2seq(vocab_size, WORDVEC, hidden)
    if name == "embed0.01":
        return AttentionSeq2seq(vocab_size, WORDVEC, hidden, embed_std=0.01)
    if name in ("book", "book-xavier-out"):
        model = AttentionSeq2seq(vocab_size, WORDVEC, hidden, init="book")
        if name == "book-xavier-out":
            W = model.out.W
            fan_in, fan_out = W.shape
            rng = np.random.default_rng(seed + 1)
            W.data[...] = rng.standard_normal(W.shape) * np.sqrt(2.0 / (fan_in + fan_out))
        return model
    if name == "book-weights":
        import book_reference as br

        ref = br.BookAttentionSeq2seq(vocab_size, WORDVEC, hidden, seed=seed)
        model = AttentionSeq2seq(vocab_size, WORDVEC, hidden)
        model.load_state_dict(dict(zip(ref.PARAM_NAMES, ref.params)))
        return model
    raise ValueError(f"unknown contender {name!r}")


def weight_stds(model):
    """``{parameter name: std}`` of a model's initial weights (for the table of inits)."""
    return {k: float(np.std(np.asarray(v))) for k, v in model.state_dict().items()}


def train(name, data, hidden, batches, seed, log_every):
    """Train contender ``name`` on ``batches``; return its record."""
    from tinygrad_attn.optim import Adam, clip_grads
    from tinygrad_attn.training import evaluate

    record = {"contender": name, "seed": seed, "losses": [], "val_acc": [], "epoch_loss": []}
    if name == "book-engine":
        import book_reference as br

        model = br.BookAttentionSeq2seq(len(data.vocab), WORDVEC, hidden, seed=seed)
        opt = br.Adam(lr=LR)
        record["init_std"] = {k: float(np.std(p)) for k, p in zip(model.PARAM_NAMES, model.params)}

        def step(idx):
            loss = model.forward(data.x_train[idx], data.t_train[idx])
            model.backward()
            br.clip_grads(model.grads, MAX_GRAD)
            opt.update(model.params, model.grads)
            return float(loss)

        def accuracy():
            start, size = int(data.t_val[0, 0]), data.t_val.shape[1] - 1
            right = 0
            for i in range(0, len(data.x_val), 512):
                guess = model.generate(data.x_val[i:i + 512], start, size)
                right += int((guess == data.t_val[i:i + 512, 1:]).all(axis=1).sum())
            return right / len(data.x_val)
    else:
        model = build_ours(name, len(data.vocab), hidden, seed)
        record["init_std"] = weight_stds(model)
        opt = Adam(model, lr=LR)

        def step(idx):
            loss = model(data.x_train[idx], data.t_train[idx])
            model.cleargrads()
            loss.backward()
            clip_grads(model.params(), MAX_GRAD)
            opt.update()
            return float(loss.data)

        def accuracy():
            return evaluate(model, data.x_val, data.t_val)

    t0 = time.process_time()
    k, window = 0, []
    for epoch in batches:
        total = 0.0
        for idx in epoch:
            loss = step(idx)
            total += loss
            window.append(loss)
            k += 1
            if k % log_every == 0:
                record["losses"].append((k, float(np.mean(window))))
                window = []
        record["epoch_loss"].append(total / len(epoch))
        record["val_acc"].append(accuracy())
    record["cpu_s"] = time.process_time() - t0
    return record


def run(args):
    """Train every contender for every seed; print a table and the JSON line."""
    from tinygrad_attn.data import load_dataset

    data = load_dataset("date-book", samples=args.samples, seed=args.data_seed, reverse_input=True)
    load_before = load_average()
    records = []
    for seed in args.seeds:
        batches = epoch_batches(seed, len(data.x_train), args.batch, args.epochs)
        for name in args.contenders:
            r = train(name, data, args.hidden, batches, seed, args.log_every)
            records.append(r)
            if not args.json:
                acc = ", ".join(f"{a * 100:.2f} %" for a in r["val_acc"])
                curve = " ".join(f"{loss:.2f}" for _, loss in r["losses"])
                print(f"{name} seed {seed}: validation {acc}; loss every {args.log_every} steps: "
                      f"{curve} ({r['cpu_s']:.0f} CPU s)", flush=True)
    if not args.json:
        print_table(["contender", "seed"] + [f"epoch {i + 1}" for i in range(args.epochs)],
                    [[r["contender"], r["seed"]] + [f"{a * 100:.2f} %" for a in r["val_acc"]]
                     for r in records],
                    title=f"validation exact match (date, {len(data.x_train)} train / "
                          f"{len(data.x_val)} validation, hidden {args.hidden})")
        print(f"thread variables: {thread_settings() or 'none set'}; load average before "
              f"{load_before}, after {load_average()}")
    print(json_line({"benchmark": "book_init", "samples": args.samples, "hidden": args.hidden,
                     "batch": args.batch, "epochs": args.epochs, "data_seed": args.data_seed,
                     "train_size": int(len(data.x_train)), "val_size": int(len(data.x_val)),
                     "records": records, "thread_env": thread_settings(),
                     "load_avg_before": load_before, "load_avg_after": load_average()}))
    return 0


def parse_args(argv=None):
    """Parse the command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=positive_int, default=50000,
                   help="generated dates, 10 %% held out for validation (default: 50000)")
    p.add_argument("--epochs", type=positive_int, default=2, help="epochs (default: 2)")
    p.add_argument("--hidden", type=positive_int, default=256, help="hidden width H (default: 256)")
    p.add_argument("--batch", type=positive_int, default=128, help="batch size (default: 128)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0],
                   help="initialisation and batch-order seeds (default: 0)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the generated dates (default: 0)")
    p.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS),
                   help="which initialisations to train (default: all)")
    p.add_argument("--log-every", type=positive_int, default=50,
                   help="average the training loss over this many steps (default: 50)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="BLAS/OpenMP threads (exported before NumPy loads)")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    return p.parse_args(argv)


def main(argv=None):
    """Entry point; returns the exit status."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
