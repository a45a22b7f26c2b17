"""``tinygrad-attn export``: a checkpoint -> the book's pickle, safetensors or ONNX."""
from __future__ import annotations

import os

from ...export import MissingDependency, save_safetensors
from ...export.book import BookFormatError, write_book_params
from ...export.onnx_export import ExportError, to_onnx
from ...training import load_checkpoint
from .. import values as T
from ..common import open_checkpoint
from ..values import CLIError

FORMATS = ("book", "safetensors", "onnx")


def add_parser(sub):
    """Register the ``export`` sub-command."""
    p = sub.add_parser(
        "export", help="write a checkpoint as the book's pickle, safetensors or ONNX",
        description="book: a pickle of float16 arrays in the order of the book's model.params "
                    "(for the book's own scripts; --out FILE.pkl). safetensors: weights and our "
                    "metadata (--out FILE.safetensors; every command reads it as a checkpoint). "
                    "onnx: the encoder and one decoder step as ONNX graphs (--out DIR).")
    p.add_argument("--checkpoint", required=True, metavar="PATH",
                   type=T.existing_file("checkpoint"),
                   help="the checkpoint to export (model.npz written by train)")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="book (the book's pickle), safetensors, or onnx (see above)")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="the file (book, safetensors) or folder (onnx) to write")
    p.add_argument("--opset", type=T.integer(18, 23), default=None, metavar="N",
                   help="ONNX opset, 18 to 23 (default 21)")
    p.add_argument("--seq-len", type=T.integer(1, 10000), default=None, metavar="T",
                   help="onnx, binary-vector models (ntm, lstm-bits): the sequence length of "
                        "the graph (it is unrolled over time)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    return p


def run(args):
    """Export; returns 0."""
    model, info = open_checkpoint(load_checkpoint, args.checkpoint)
    try:
        if args.format == "onnx":
            files = (["encoder.onnx", "decoder_step.onnx"] if hasattr(model, "decoder_init")
                     else ["model.onnx"])
            if files == ["model.onnx"] and args.seq_len is None:
                raise CLIError(f"--seq-len T is needed to export a {info.model_name} model: its "
                               "graph is unrolled over the T steps of a sequence")
            T.check_run_dir(args.out, files + ["onnx_model.json"], overwrite=args.overwrite)
            try:
                paths = to_onnx(model, args.out, info.task, opset=args.opset,
                                seq_len=args.seq_len, overwrite=args.overwrite)
            except ExportError as e:
                raise CLIError(str(e)) from None
            for p in paths:
                print(f"wrote {os.path.normpath(p)}")
            return 0
        T.check_writable_file(args.out)
        if os.path.exists(args.out) and not args.overwrite:
            raise CLIError(f"--out: {args.out} exists; pass --overwrite to replace it")
        if args.format == "book":
            write_book_params(model, args.out, overwrite=True)
        else:
            save_safetensors(args.out, model, info.task, history=info.history, extra=info.extra,
                             overwrite=True)
    except (BookFormatError, MissingDependency, FileExistsError) as e:
        raise CLIError(str(e)) from None
    print(f"wrote {os.path.normpath(args.out)}")
    return 0
