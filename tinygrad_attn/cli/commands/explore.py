"""``tinygrad-attn explore``: write an interactive attention explorer (one HTML file).

Text checkpoints (attention seq2seq, Transformer) take TEXT inputs; an NTM checkpoint takes
``--examples`` generated sequences of its task. ``--compare`` puts a second checkpoint beside
the first on the same inputs. The page is built by :func:`tinygrad_attn.viz.explore`.
"""
from __future__ import annotations

from ... import viz
from ...training import Translator, load_checkpoint, read_checkpoint_info, registry
from ...viz.explore import EXPLORABLE_MAPS, MAX_INPUTS
from .. import values as T
from ..common import open_checkpoint, readable_texts
from ..values import CLIError

EXTENSIONS = ("html", "htm")


def add_parser(sub):
    """Register the ``explore`` sub-command."""
    p = sub.add_parser(
        "explore", help="interactive attention explorer (one self-contained HTML file)",
        description="Run a checkpoint on TEXT inputs (or, for an NTM, on --examples sequences of "
                    "its task) and write one HTML file to explore its attention in a browser: "
                    "decoder steps with scores, weights, context and probabilities, the full "
                    "heatmap, every Transformer layer and head, an NTM's read and write "
                    "weightings beside its memory. The file needs no network and no other file. "
                    "A TEXT a model cannot read is refused on stderr with its number (exit "
                    "status 2) and the others are explored; nothing is written when every "
                    "input, or a checkpoint, is refused.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"),
                   help="the checkpoint to explore (model.npz written by train)")
    p.add_argument("--compare", metavar="PATH", type=T.existing_file("checkpoint"), default=None,
                   help="a second checkpoint shown beside the first on the same inputs")
    p.add_argument("--out", required=True, metavar="FILE", type=T.output_file(EXTENSIONS),
                   help="the .html file to write; replaced if it exists")
    p.add_argument("--title", default=None, help="the page title")
    p.add_argument("--label", action="append", default=None, metavar="NAME",
                   help="the name shown over a model (once per checkpoint, in order; default: "
                        "the checkpoint paths)")
    p.add_argument("--examples", type=T.integer(1, MAX_INPUTS), default=None,
                   help=f"NTM: how many sequences of the checkpoint's task, 1 to {MAX_INPUTS} "
                        "(default 3)")
    p.add_argument("--length", type=T.integer(1, 1000), default=None,
                   help="NTM: length of each sequence (default 10)")
    p.add_argument("--repeats", type=T.integer(1, 1000), default=None,
                   help="NTM: repeat count (repeat-copy)")
    p.add_argument("--seed", type=T.integer(0, 2**32 - 1), default=0,
                   help="NTM: seed of the sequences (default 0)")
    p.add_argument("texts", nargs="*", metavar="TEXT",
                   help=f"inputs of a text checkpoint (1 to {MAX_INPUTS})")
    return p


def _open(path):
    """``(kind, thing)`` of a checkpoint: ``("text", Translator)`` or ``("bits", (model, task))``.

    The metadata is checked first (the task must support ``explore``, the model must have
    attention maps in the registry), so a refused checkpoint costs no weights.
    """
    info = open_checkpoint(read_checkpoint_info, path)
    if info.task is None or "explore" not in info.task.commands:
        what = "no task" if info.task is None else f"a {info.task.title}"
        raise CLIError(f"{path} holds a model of {what} ({info.model_name}); `explore` does not "
                       "apply to it")
    try:
        maps = registry.get_spec(info.model_name).maps
    except ValueError as e:
        raise CLIError(str(e)) from e
    if not any(m in EXPLORABLE_MAPS for m in maps):
        able = [n for n in registry.model_names()
                if any(m in EXPLORABLE_MAPS for m in registry.get_spec(n).maps)]
        raise CLIError(f"the model in {path} ({info.model_name}) has no attention to explore; "
                       f"explore shows {', '.join(able)} checkpoints")
    model, info = open_checkpoint(load_checkpoint, path)
    if info.task.model_kind == "text":
        return "text", Translator(model, info.task)
    return "bits", (model, info.task)


def run(args):
    """Write the explorer; returns 0, or 2 when a TEXT was refused (the others are shown)."""
    texts = list(args.texts)
    if len(texts) > MAX_INPUTS:
        raise CLIError(f"explore: at most {MAX_INPUTS} TEXTs per page, got {len(texts)}")
    T.check_writable_file(args.out)
    paths = [args.checkpoint] + ([args.compare] if args.compare else [])
    labels = args.label or []
    if len(labels) > len(paths):
        raise CLIError(f"--label given {len(labels)} times for {len(paths)} checkpoint"
                       f"{'s' * (len(paths) != 1)}")
    opened = [_open(p) for p in paths]
    kinds = [k for k, _ in opened]
    if len(set(kinds)) != 1:
        raise CLIError(f"--compare needs two checkpoints of the same kind of input; "
                       f"{args.checkpoint} takes {kinds[0]} and {args.compare} {kinds[1]}")
    kw = dict(labels=labels + [str(p) for p in paths[len(labels):]], title=args.title)
    if kinds[0] == "text":
        ntm_only = [f for f, v in (("--examples", args.examples), ("--length", args.length),
                                   ("--repeats", args.repeats)) if v is not None]
        if ntm_only:
            raise CLIError(f"{ntm_only[0]} is for NTM checkpoints; {args.checkpoint} takes TEXT inputs")
        if not texts:
            raise CLIError(f"give at least one TEXT to explore ({args.checkpoint} is a text model)")
        models = [tr for _, tr in opened]
        inputs = readable_texts(models, texts, "explore")  # every model must read an input
    else:
        if texts:
            raise CLIError(f"{args.checkpoint} is an NTM checkpoint: it takes no TEXT; use "
                           "--examples, --length and --seed")
        task = opened[0][1][1]
        try:
            x, t = task.generate(args.examples or 3, args.length or 10, seed=args.seed,
                                 repeats=args.repeats)
        except ValueError as e:
            raise CLIError(str(e)) from e
        inputs, kw["targets"] = list(x), list(t)
        models = [m for _, (m, _) in opened]
    try:
        page = viz.explore(models[0], inputs, compare=models[1] if len(models) > 1 else None,
                           **kw)
    except (ValueError, TypeError) as e:
        raise CLIError(str(e)) from e
    page.save(args.out)
    print(f"explorer: {args.out} ({page.size / 1024:.0f} KiB, {len(inputs)} input"
          f"{'s' * (len(inputs) != 1)})")
    return 2 if kinds[0] == "text" and len(inputs) < len(texts) else 0
