"""``tinygrad-attn attention``: draw the attention heatmap(s) of a checkpoint for some inputs."""
from __future__ import annotations

from ..cli import CLIError
from .translate import load_translator


def add_parser(sub):
    """Register the ``attention`` sub-command."""
    p = sub.add_parser("attention", help="attention heatmap of a checkpoint for TEXT inputs",
                       description="Translate each TEXT and draw where the decoder looked: one "
                                   "heatmap per input in a grid (PNG/SVG/PDF by extension), plus "
                                   "a text rendering on stdout.")
    p.add_argument("--checkpoint", required=True, metavar="PATH")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--ncols", type=int, default=2)
    p.add_argument("--no-text", action="store_true", help="do not print the text rendering")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    return p


def run(args):
    """Write the heatmap grid; returns 0."""
    from .. import viz

    tr = load_translator(args.checkpoint)
    try:
        answers, weights = tr.translate(args.texts, return_attention=True)
    except ValueError as e:
        raise CLIError(str(e)) from e
    if weights is None:
        raise CLIError(f"the model in {args.checkpoint} has no attention "
                       f"({tr.model.config['model']}); train one with --model attention")
    items = [(w[:len(ans), :len(text)], text, ans)
             for text, ans, w in zip(args.texts, answers, weights)]
    if any(len(ans) == 0 for ans in answers):
        raise CLIError("the model produced an empty answer for some input; nothing to draw")
    try:
        viz.plot_attention_grid(items, args.out, ncols=args.ncols)
    except ImportError as e:
        raise CLIError(f"{e}; install with: pip install \"tinygrad-attn[viz]\"") from e
    if not args.no_text:
        for item in items:
            print(viz.attention_to_text(*item))
            print()
    print(f"heatmap: {args.out}")
    return 0
