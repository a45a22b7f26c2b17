"""Train a bits model (the NTM or the LSTM baseline) on the copy task for a wall-time budget.

    python examples/ntm_copy.py --model ntm --minutes 60 --out runs/ntm-copy
    python examples/ntm_copy.py --model lstm-bits --hidden 119 --minutes 60 --out runs/lstm-copy

Each "epoch" is ``--steps`` training steps on freshly generated sequences (lengths
``--min-len``..``--max-len``, one new seed per epoch, so no sequence is seen twice), followed
by a validation on a fixed set of the same lengths. With ``--curriculum`` the longest length
starts at 2 and grows by one whenever the validation has fewer than 0.5 bit errors per
sequence, up to ``--max-len``. Training stops after ``--minutes`` of wall time (or
``--epochs``); then the last checkpoint is evaluated on ``--test-lengths`` (256 sequences
each, fixed seeds). Writes ``OUT/model.npz`` (a normal checkpoint: ``tinygrad-attn eval``
reads it), ``OUT/history.json`` (per epoch: steps, wall time, loss, bit errors) and
``OUT/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from _args import add_threads, positive_int  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_attn as ta  # noqa: E402
from tinygrad_attn.data.bits import BitsData, make_copy  # noqa: E402
from tinygrad_attn.optim import Adam  # noqa: E402
from tinygrad_attn.training import Trainer  # noqa: E402

from tinygrad_attn_models.ntm import LSTMBitsModel, NTMModel  # noqa: E402


def build(args, width):
    """The model named by ``args.model``."""
    if args.model == "ntm":
        return NTMModel(width + 1, width, memory_rows=args.memory_rows,
                        memory_width=args.memory_width, controller=args.controller,
                        hidden_size=args.hidden)
    return LSTMBitsModel(width + 1, width, hidden_size=args.hidden, num_layers=args.layers)


def test_errors(model, lengths, width, n=256):
    """Bit errors per sequence (and the fraction of perfect sequences) at each length."""
    out = {}
    for L in lengths:
        x, t = make_copy(n, length=L, width=width, seed=1000 + L)
        m = model.metrics(x, t)
        out[str(L)] = {"bit_errors": m["bit_errors"], "acc": m["acc"]}
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["ntm", "lstm-bits"], default="ntm",
                   help="the NTM or an LSTM baseline of the same interface (default: ntm)")
    p.add_argument("--hidden", type=positive_int, default=100,
                   help="controller (or LSTM) hidden width (default: 100)")
    p.add_argument("--layers", type=positive_int, default=1,
                   help="LSTM layers of the baseline (default: 1)")
    p.add_argument("--memory-rows", type=positive_int, default=128,
                   help="NTM memory rows N (default: 128)")
    p.add_argument("--memory-width", type=positive_int, default=20,
                   help="NTM memory width M (default: 20)")
    p.add_argument("--controller", choices=["lstm", "ff"], default="lstm",
                   help="NTM controller: lstm or ff (feed-forward) (default: lstm)")
    p.add_argument("--width", type=positive_int, default=8, help="bits per vector (default: 8)")
    p.add_argument("--min-len", type=positive_int, default=1,
                   help="shortest training sequence (default: 1)")
    p.add_argument("--max-len", type=positive_int, default=10,
                   help="longest training sequence (default: 10)")
    p.add_argument("--curriculum", action="store_true",
                   help="start at length 2 and lengthen when the validation bit errors fall "
                        "below 0.5")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="sequences per step (default: 16)")
    p.add_argument("--steps", type=positive_int, default=250,
                   help="training steps per epoch (default: 250)")
    p.add_argument("--epochs", type=positive_int, default=10 ** 6,
                   help="epochs at most (default: until --minutes)")
    p.add_argument("--minutes", type=float, default=60.0,
                   help="stop after the epoch that passes this wall time (default: 60)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 0.001)")
    p.add_argument("--max-grad", type=float, default=10.0,
                   help="global-norm gradient clipping (default: 10)")
    p.add_argument("--val-samples", type=positive_int, default=256,
                   help="validation sequences (default: 256)")
    p.add_argument("--test-lengths", default="10,20,30",
                   help="comma-separated lengths tested after training (default: 10,20,30)")
    p.add_argument("--seed", type=int, default=0, help="seed of data and weights (default: 0)")
    p.add_argument("--out", required=True, help="output folder (model.npz, history.json, "
                   "results.json)")
    p.add_argument("--keep", choices=("best", "last"), default="best",
                   help="which epoch model.npz holds and the test measures: best (on "
                        "validation; default — a run can collapse late) or last; the last epoch "
                        "is also written to model-last.npz")
    add_threads(p)
    args = p.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    ta.seed(args.seed)
    W = args.width
    model = build(args, W)
    print(f"{args.model}: {model.num_params()} parameters", flush=True)
    xv, tv = make_copy(args.val_samples, args.min_len, args.max_len, W, seed=[args.seed, 99])
    cur_max = min(2, args.max_len) if args.curriculum else args.max_len

    def data_for(epoch):
        nonlocal xv, tv
        n = args.steps * args.batch_size
        x, t = make_copy(n, args.min_len, cur_max, W, seed=[args.seed, epoch])
        if args.curriculum:  # validate on the lengths trained so far
            xv, tv = make_copy(args.val_samples, args.min_len, cur_max, W, seed=[args.seed, 99])
        return BitsData(x, t, xv, tv, name="copy",
                        params={"min_len": args.min_len, "max_len": args.max_len, "width": W})

    trainer = Trainer(model, data_for(0), optimizer=Adam(model, lr=args.lr),
                      batch_size=args.batch_size, max_grad=args.max_grad, seed=args.seed,
                      checkpoint=os.path.join(args.out, "model.npz"), progress=False,
                      threads=args.threads, keep=args.keep)
    log = []
    t_start = time.perf_counter()
    for epoch in range(args.epochs):
        trainer.data = data_for(epoch)
        entry = trainer.fit(1)[-1]
        wall = time.perf_counter() - t_start
        rec = {"epoch": epoch + 1, "steps": (epoch + 1) * args.steps, "wall_s": round(wall, 1),
               "loss": entry["loss"], "val_bit_errors": entry["val_bit_errors"],
               "val_acc": entry["val_acc"], "cur_max_len": cur_max}
        log.append(rec)
        print(json.dumps(rec), flush=True)
        with open(os.path.join(args.out, "history.json"), "w") as f:
            json.dump({"args": vars(args), "params": model.num_params(), "history": log}, f, indent=1)
        if args.curriculum and cur_max < args.max_len and entry["val_bit_errors"] < 0.5:
            cur_max += 1
        if wall > args.minutes * 60:
            break
    if args.keep == "best":
        print(f"testing epoch {trainer.restore_best()}, the best on validation", flush=True)
    lengths = [int(s) for s in args.test_lengths.split(",") if s]
    res = {"model": args.model, "params": model.num_params(), "steps": log[-1]["steps"],
           "wall_s": log[-1]["wall_s"], "kept_epoch": trainer.best_epoch,
           "test": test_errors(model, lengths, W)}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
