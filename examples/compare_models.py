"""The chapter's comparison: baseline vs peeky vs attention seq2seq, plus the attention variants.

    python examples/compare_models.py --task date-book            # seq2seq, peeky, attention
    python examples/compare_models.py --task date-book --variants # + bidirectional, lstm feed, skip
    python examples/compare_models.py --task addition --epochs 10

For each configuration it trains with the same data, seed and budget, records the validation
exact-match accuracy per epoch, and writes to ``--out`` (default ``runs/compare-<task>``):
``results.md`` (a table: one row per model, one column per epoch, plus seconds per epoch),
``results.json`` and ``curves.png`` (all runs in one plot).
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

from _args import add_threads, check_out, positive_int  # noqa: E402

import tinygrad_attn as ta  # noqa: E402
from tinygrad_attn.training.registry import build_model  # noqa: E402
from tinygrad_attn.data import load_dataset  # noqa: E402
from tinygrad_attn.training import Trainer  # noqa: E402

BASE = {
    "seq2seq": dict(model="seq2seq"),
    "peeky": dict(model="peeky"),
    "attention": dict(model="attention"),
}
VARIANTS = {
    "attention, bidirectional": dict(model="attention", bidirectional=True),
    "attention, context into LSTM": dict(model="attention", attention_feed="lstm"),
    "attention, context into both": dict(model="attention", attention_feed="both"),
    "attention, 2 layers + skip": dict(model="attention", num_layers=2),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="date-book",
                   help="date-book (the chapter's data, the default), date (dates as people type "
                        "them), addition, or a file in the book's format")
    p.add_argument("--epochs", type=positive_int, default=3, help="epochs per model (default: 3)")
    p.add_argument("--samples", type=positive_int, default=50000,
                   help="generated pairs for date/addition, 10 %% held out (default: 50000)")
    p.add_argument("--hidden", type=positive_int, default=256, help="hidden width H (default: 256)")
    p.add_argument("--wordvec", type=positive_int, default=16, help="embedding width D (default: 16)")
    p.add_argument("--batch-size", type=positive_int, default=128,
                   help="examples per training step (default: 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and weights (default: 0)")
    p.add_argument("--reverse-input", action=argparse.BooleanOptionalAction, default=True,
                   help="feed the question reversed (the book does; default on)")
    p.add_argument("--variants", action="store_true", help="also run the attention variants")
    p.add_argument("--only", nargs="*", default=None, help="run only these names")
    p.add_argument("--val-samples", type=positive_int, default=None,
                   help="validate on this many pairs only (default: all)")
    p.add_argument("--out", default=None,
                   help="output folder (default: runs/compare-<task>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results already in the output folder")
    add_threads(p)
    args = p.parse_args(argv)
    name = "date" if args.task == "date-book" else os.path.basename(args.task)  # the docs' folder
    args.out = args.out or os.path.join("runs", f"compare-{name}")
    check_out(p, args.out, ("results.md", "results.json"), args.overwrite)
    return args


def markdown_table(results, epochs):
    head = "| model | " + " | ".join(f"epoch {e}" for e in range(1, epochs + 1)) + " | s/epoch |"
    sep = "|" + " --- |" * (epochs + 2)
    rows = [head, sep]
    for name, hist in results.items():
        accs = [f"{h['val_acc'] * 100:.2f}%" for h in hist]
        accs += [""] * (epochs - len(accs))
        sec = sum(h["train_time"] for h in hist) / max(len(hist), 1)
        rows.append(f"| {name} | " + " | ".join(accs) + f" | {sec:.0f} |")
    return "\n".join(rows)


def main(argv=None):
    args = parse_args(argv)
    out = args.out
    data = load_dataset(args.task, samples=args.samples, seed=args.seed, reverse_input=args.reverse_input)
    configs = dict(BASE)
    if args.variants:
        configs.update(VARIANTS)
    if args.only:
        unknown = set(args.only) - set(configs)
        if unknown:
            sys.exit(f"unknown names {sorted(unknown)}; choose from {sorted(configs)}")
        configs = {k: v for k, v in configs.items() if k in args.only}
    results = {}
    for name, cfg in configs.items():
        print(f"== {name}", flush=True)
        ta.seed(args.seed)
        model = build_model(dict(cfg, vocab_size=len(data.vocab), wordvec_size=args.wordvec,
                                 hidden_size=args.hidden))
        trainer = Trainer(model, data, batch_size=args.batch_size, max_grad=5.0, seed=args.seed,
                          val_samples=args.val_samples, threads=args.threads)
        t0 = time.perf_counter()
        trainer.fit(args.epochs, callback=lambda tr, e: print(
            f"   epoch {e['epoch']}: loss {e['loss']:.4f}  val_acc {e['val_acc'] * 100:.2f}%  "
            f"({e['train_time']:.0f} s training)", flush=True))
        print(f"   {time.perf_counter() - t0:.0f} s", flush=True)
        results[name] = trainer.history
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump({"task": args.task, "args": vars(args), "results": results}, f, indent=1)
    table = markdown_table(results, args.epochs)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(f"Validation exact match on `{args.task}` ({data.train_size} training pairs, "
                f"hidden {args.hidden}, batch {args.batch_size}, seed {args.seed}):\n\n{table}\n")
    print(table)
    try:
        from tinygrad_attn import viz

        viz.plot_histories(results, os.path.join(out, "curves.png"))
        print("curves:", os.path.join(out, "curves.png"))
    except ImportError as e:
        print(f"(no plot: {e})")


if __name__ == "__main__":
    main()
