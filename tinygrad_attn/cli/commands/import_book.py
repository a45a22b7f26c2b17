"""``tinygrad-attn import-book``: the book's pickled weights -> a checkpoint."""
from __future__ import annotations

import os

from ...export.book import BOOK_MODELS, BookFormatError, import_book
from ...export.safe_pickle import UnsafePickleError
from .. import values as T
from ..values import CLIError


def add_parser(sub):
    """Register the ``import-book`` sub-command."""
    p = sub.add_parser(
        "import-book", help="turn the book's trained .pkl weights into a checkpoint",
        description="Read weights saved by the book's save_params (a pickle of float16 arrays, "
                    "e.g. ch08/AttentionSeq2seq.pkl) without running any code from the file, "
                    "rebuild the vocabulary from the book-format data file as the book's "
                    "dataset/sequence.py does, and write DIR/model.npz.")
    p.add_argument("pkl", metavar="PKL", type=T.existing_file("pickle file"))
    p.add_argument("--data", required=True, metavar="FILE", type=T.existing_file("data file"),
                   help="the book-format data file the weights were trained on (e.g. date.txt)")
    p.add_argument("--model", required=True, choices=BOOK_MODELS,
                   help="the book's model: attention (ch08 AttentionSeq2seq), seq2seq, peeky (ch07)")
    p.add_argument("--reverse", choices=["yes", "no"], default=None,
                   help="whether the model reads its input reversed (default: as the book's "
                        "training script: yes for attention, no for seq2seq and peeky)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for model.npz")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DIR/model.npz")
    return p


def run(args):
    """Import and write the checkpoint; returns 0."""
    T.check_run_dir(args.out, ["model.npz"], overwrite=args.overwrite)
    reverse = None if args.reverse is None else args.reverse == "yes"
    try:
        path = import_book(args.pkl, args.data, args.model, args.out, reverse=reverse,
                           overwrite=args.overwrite)
    except (UnsafePickleError, BookFormatError, FileExistsError, FileNotFoundError,
            ValueError) as e:  # ValueError: e.g. a data file the task refuses (TaskError)
        raise CLIError(str(e)) from None
    print(f"wrote {os.path.normpath(path)}")
    return 0
