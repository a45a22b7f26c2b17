"""``tinygrad-attn memory``: draw where a Neural Turing Machine writes and reads, for one example."""
from __future__ import annotations

from .. import cli_types as T
from ..cli import CLIError
from . import open_checkpoint


def add_parser(sub):
    """Register the ``memory`` sub-command."""
    p = sub.add_parser("memory", help="memory weightings of an NTM checkpoint on one example",
                       description="Generate one example of the checkpoint's task (copy or repeat "
                                   "copy) and draw the input, target and output bits and the "
                                   "write and read weightings over time (PNG/SVG/PDF by "
                                   "extension); prints the example's bit errors.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"),
                   help="the checkpoint of an NTM (model.npz written by train --model ntm)")
    p.add_argument("--out", required=True, metavar="FILE", type=T.output_file(T.IMAGE_EXTENSIONS),
                   help="the picture; its extension chooses the format")
    p.add_argument("--length", type=T.integer(1, 10000), default=10,
                   help="sequence length of the example (default 10)")
    p.add_argument("--repeats", type=T.integer(1, 1000), default=None,
                   help="repeat count (repeat-copy)")
    p.add_argument("--seed", type=T.integer(0, 2**32 - 1), default=0, help="seed of the example")
    return p


def load_bits_checkpoint(path):
    """(model, task description) of a bits checkpoint, user errors as CLIError."""
    from ..train import load_checkpoint

    model, meta = open_checkpoint(load_checkpoint, path)
    data = (meta.get("extra") or {}).get("data")
    if meta.get("vocab") is not None or not isinstance(data, dict) or "task" not in data:
        raise CLIError(f"{path} is not a checkpoint of a binary-vector task (copy, repeat-copy)")
    return model, data


def task_params(data, length, repeats=None):
    """The generator options for one length of the checkpoint's task."""
    params = {"width": int(data.get("width", 8)), "length": int(length)}
    if data["task"] == "repeat-copy":
        params["max_repeats"] = int(data.get("max_repeats", 10))
        if repeats is not None:
            params["repeats"] = int(repeats)
    return params


def run(args):
    """Draw the picture; returns 0."""
    from .. import viz
    from ..data.bits import bit_errors, make_bits

    model, data = load_bits_checkpoint(args.checkpoint)
    if not hasattr(model, "write_weights"):
        raise CLIError(f"the model in {args.checkpoint} ({model.config['model']}) has no memory; "
                       "this command draws an NTM's weightings")
    try:
        x, t = make_bits(data["task"], 1, seed=args.seed,
                         **task_params(data, args.length, args.repeats))
    except ValueError as e:
        raise CLIError(str(e)) from e
    y = model.predict(x)
    errors = int(bit_errors(y, t, threshold=0.5)[0])
    title = f"{data['task']}, length {args.length}: {errors} bit error{'s' * (errors != 1)}"
    try:
        viz.plot_memory(model.write_weights[0], model.read_weights[0], x[0], t[0], y[0],
                        args.out, title=title)
    except ImportError as e:
        raise CLIError(f"{e}; install with: pip install \"tinygrad-attn[viz]\"") from e
    print(title)
    print(f"picture: {args.out}")
    return 0
