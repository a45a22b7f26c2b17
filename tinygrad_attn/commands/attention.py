"""``tinygrad-attn attention``: draw the attention heatmap(s) of a checkpoint for some inputs."""
from __future__ import annotations

from .. import cli_types as T
from ..cli import CLIError
from .translate import load_translator

MAX_TEXTS = 64
"""Most inputs drawn in one picture."""


def add_parser(sub):
    """Register the ``attention`` sub-command."""
    exts = ", ".join("." + e for e in T.IMAGE_EXTENSIONS)
    p = sub.add_parser("attention", help="attention heatmap of a checkpoint for TEXT inputs",
                       description="Translate each TEXT and draw where the decoder looked: one "
                                   "heatmap per input in a grid, written to exactly the --out "
                                   f"file (format by its extension: {exts}; no other file is "
                                   "written), plus a text rendering on stdout.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"))
    p.add_argument("--out", required=True, metavar="FILE", type=T.output_file(T.IMAGE_EXTENSIONS),
                   help=f"the picture to write ({exts}); replaced if it exists")
    p.add_argument("--ncols", type=T.integer(1, MAX_TEXTS), default=2,
                   help=f"heatmaps per row, 1 to {MAX_TEXTS} (default 2)")
    p.add_argument("--no-text", action="store_true", help="do not print the text rendering")
    p.add_argument("--show-padding", action="store_true",
                   help="also draw the padding columns after each input (red dots), where "
                        "an unmasked model may put much of its attention")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    return p


def run(args):
    """Write the heatmap grid; returns 0."""
    from .. import viz

    if len(args.texts) > MAX_TEXTS:
        raise CLIError(f"attention: at most {MAX_TEXTS} TEXTs per picture, got {len(args.texts)}")
    empty = [i + 1 for i, t in enumerate(args.texts) if not t.strip()]
    if empty:
        raise CLIError(f"TEXT number {empty[0]} is empty; give the text to draw")
    T.check_writable_file(args.out)
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
    drawn = items
    if args.show_padding:  # all input columns: the text, then its padding
        drawn = [(w[:len(ans)], text, ans) for text, ans, w in zip(args.texts, answers, weights)]
    try:
        viz.plot_attention_grid(drawn, args.out, ncols=args.ncols, show_padding=args.show_padding)
    except ImportError as e:
        raise CLIError(f"{e}; install with: pip install \"tinygrad-attn[viz]\"") from e
    except ValueError as e:
        raise CLIError(f"attention: {e}") from e
    if not args.no_text:
        for item in items:
            print(viz.attention_to_text(*item))
            print()
    print(f"heatmap: {args.out}")
    return 0
