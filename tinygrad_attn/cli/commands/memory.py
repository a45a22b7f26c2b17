"""``tinygrad-attn memory``: draw where a Neural Turing Machine writes and reads, for one example."""
from __future__ import annotations

from ... import viz
from ...data.bits import bit_errors
from .. import values as T
from ..common import load_task_checkpoint
from ..values import CLIError


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


def run(args):
    """Draw the picture; returns 0."""

    model, info = load_task_checkpoint(args.checkpoint, "memory")
    task = info.task
    if model.memory_weights() is None:
        raise CLIError(f"the model in {args.checkpoint} ({info.model_name}) has no memory; "
                       "this command draws an NTM's weightings")
    if args.repeats is not None:
        if task.name != "repeat-copy":
            raise CLIError(f"--repeats belongs to the repeat-copy task; the task of "
                           f"{args.checkpoint} is {task.name}")
        most = int(task.params.get("max_repeats", 10))
        if args.repeats > most:
            raise CLIError(f"--repeats {args.repeats} is above the {most} repeats the model was "
                           f"trained for (its task's max_repeats)")
    try:
        task.check_size(1, args.length, f"--length {args.length}")
        x, t = task.generate(1, args.length, seed=args.seed, repeats=args.repeats)
    except ValueError as e:
        raise CLIError(str(e)) from e
    y = model.predict(x)
    errors = int(bit_errors(y, t, threshold=0.5)[0])
    writes, reads = model.memory_weights()
    title = f"{task.name}, length {args.length}: {errors} bit error{'s' * (errors != 1)}"
    try:
        viz.plot_memory(writes[0], reads[0], x[0], t[0], y[0],
                        args.out, title=title)
    except ImportError as e:
        raise CLIError(f"{e}; install with: pip install \"tinygrad-attn[viz]\"") from e
    print(title)
    print(f"picture: {args.out}")
    return 0
