"""Accuracy of the book's own trained weights imported into tinygrad_attn.

Usage (from a checkout of the book's repository, deep-learning-from-scratch-2):

    python benchmarks/book_weights_accuracy.py BOOK/ch08/AttentionSeq2seq.pkl BOOK/dataset/date.txt

Imports the weights (restricted unpickler, no code from the file runs), rebuilds the
book's split of the data exactly as ``dataset/sequence.py`` does (``numpy.random.seed(1984)``,
``numpy.random.shuffle``, the last 10 % for validation), feeds the questions reversed as
``ch08/train.py`` does, and prints greedy exact-match accuracy on the book's validation
split and on the whole file.
"""
from __future__ import annotations

import argparse
import platform
import tempfile

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pkl")
    ap.add_argument("data")
    ap.add_argument("--model", default="attention", choices=["attention", "seq2seq", "peeky"])
    args = ap.parse_args(argv)

    from tinygrad_attn.export.book import book_vocabulary, import_book
    from tinygrad_attn.training import Translator

    with tempfile.TemporaryDirectory() as d:
        tr = Translator.from_checkpoint(import_book(args.pkl, args.data, args.model, d))
    vocab, pairs, in_width, out_width = book_vocabulary(args.data)
    x = vocab.encode_batch([q for q, _ in pairs], width=in_width)
    t = vocab.encode_batch([a for _, a in pairs], width=out_width)
    idx = np.arange(len(x))
    np.random.RandomState(1984).shuffle(idx)  # = numpy.random.seed(1984); numpy.random.shuffle
    split = len(x) - len(x) // 10
    if tr.reversed_input:
        x = np.ascontiguousarray(x[:, ::-1])
    guess = np.concatenate([tr.model.generate(x[i:i + 1000], vocab.start_id, out_width)
                            for i in range(0, len(x), 1000)])
    ok = (guess == t).all(axis=1)
    val = idx[split:]
    print(f"{platform.processor() or platform.machine()}: book weights {args.pkl}")
    print(f"validation split of the book ({len(val)} questions): {ok[val].mean():.4%}")
    print(f"whole file ({len(x)} questions): {ok.mean():.4%}")


if __name__ == "__main__":
    main()
