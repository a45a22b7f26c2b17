"""``tinygrad-attn attention``: draw the attention heatmap(s) of a checkpoint for some inputs.

For the chapter's models there is one map per input (decoder step x input character). Models
with several attentions (the Transformer: ``all_attention_weights``) also offer
``--kind enc|dec|cross`` (encoder self-attention, decoder causal self-attention,
cross-attention), ``--layer L|all`` and ``--head H|mean|all``: ``--layer all --head all``
draws every layer (rows) and head (columns) of one kind in one grid.
"""
from __future__ import annotations

from ... import viz
from .. import values as T
from ..common import load_translator, readable_texts
from ..values import CLIError

MAX_TEXTS = 64
"""Most inputs drawn in one picture."""

KINDS = ("cross", "enc", "dec")


def add_parser(sub):
    """Register the ``attention`` sub-command."""
    exts = ", ".join("." + e for e in T.IMAGE_EXTENSIONS)
    p = sub.add_parser("attention", help="attention heatmap of a checkpoint for TEXT inputs",
                       description="Translate each TEXT and draw where the decoder looked: one "
                                   "heatmap per input in a grid, written to exactly the --out "
                                   f"file (format by its extension: {exts}; no other file is "
                                   "written), plus a text rendering on stdout. An input the "
                                   "model cannot read is refused on stderr with its number (exit "
                                   "status 2) and the others are drawn. For a Transformer, "
                                   "choose the attention with --kind, --layer and --head.")
    p.add_argument("--checkpoint", required=True, metavar="PATH", type=T.existing_file("checkpoint"),
                   help="the checkpoint of an attention model (model.npz written by train)")
    p.add_argument("--out", required=True, metavar="FILE", type=T.output_file(T.IMAGE_EXTENSIONS),
                   help=f"the picture to write ({exts}); replaced if it exists")
    p.add_argument("--ncols", type=T.integer(1, MAX_TEXTS), default=None,
                   help=f"heatmaps per row, 1 to {MAX_TEXTS} (default 2; the number of heads "
                        "with --head all)")
    p.add_argument("--kind", choices=KINDS, default=None,
                   help="Transformer: cross-attention (default), encoder self-attention or "
                        "decoder (causal) self-attention")
    p.add_argument("--layer", default=None, metavar="L|all",
                   help="Transformer: layer index from 0 (negative counts from the end; "
                        "default -1, the last) or 'all'")
    p.add_argument("--head", default=None, metavar="H|mean|all",
                   help="Transformer: head index from 0, 'mean' over heads (default) or 'all'")
    p.add_argument("--no-text", action="store_true", help="do not print the text rendering")
    p.add_argument("--show-padding", action="store_true",
                   help="also draw the padding columns after each input (red dots), where "
                        "an unmasked model may put much of its attention")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    return p


def _index(value, n, what):
    """``value`` ('all', 'mean' or an int in [-n, n)) -> a list of indices or the string."""
    if value in ("all", "mean"):
        return value
    try:
        i = int(value)
    except ValueError:
        raise CLIError(f"--{what} must be an integer, 'all'"
                       f"{' or mean' if what == 'head' else ''}; got {value!r}") from None
    if not -n <= i < n:
        raise CLIError(f"--{what} {i} is out of range: the model has {n} {what}s "
                       f"(valid: 0 .. {n - 1}, or negative from the end)")
    return i % n


AXIS_LABELS = {
    "enc": ("input (keys)", "input (queries)"),
    "dec": ("answer so far (start + answer[:-1], keys)", "output (queries)"),
    "cross": ("input", "output"),
}
"""(x label, y label) of the maps of each ``--kind``."""


def _maps(tr, args, texts, answers):
    """``[(weights, row_text, col_text, title)]`` for a model with all_attention_weights."""
    maps = tr.model.all_attention_weights
    kind = args.kind or "cross"
    if args.layer == "mean":
        raise CLIError("--layer takes an index or 'all' (not 'mean')")
    per_layer = maps[kind]
    layers = _index(args.layer if args.layer is not None else "-1", len(per_layer), "layer")
    heads_n = per_layer[0].shape[1]
    heads = _index(args.head if args.head is not None else "mean", heads_n, "head")
    layers = range(len(per_layer)) if layers == "all" else [layers]
    start = tr.vocab.start_char
    items = []
    for n, (text, ans) in enumerate(zip(texts, answers)):
        if kind == "enc":
            rows, cols = text, text
        elif kind == "dec":
            rows, cols = ans, start + ans[:-1]       # query t predicts answer[t] from its inputs
        else:
            rows, cols = ans, text
        for k in layers:
            w = per_layer[k][n]                      # (heads, T_q, T_k), columns as fed
            if tr.reversed_input:
                if kind in ("enc", "cross"):
                    w = w[:, :, ::-1]
                if kind == "enc":
                    w = w[:, ::-1, :]
            w = w[:, :len(rows), :len(cols)]
            if heads == "mean":
                items.append((w.mean(axis=0), cols, rows, f"{kind} layer {k}, mean of heads"))
            else:
                for h in (range(heads_n) if heads == "all" else [heads]):
                    items.append((w[h], cols, rows, f"{kind} layer {k}, head {h}"))
    return items, (heads_n if heads == "all" else 2)


def run(args):
    """Write the heatmap grid of every readable input; returns 0, or 2 if one was refused."""
    if len(args.texts) > MAX_TEXTS:
        raise CLIError(f"attention: at most {MAX_TEXTS} TEXTs per picture, got {len(args.texts)}")
    T.check_writable_file(args.out)
    tr = load_translator(args.checkpoint)
    texts = readable_texts([tr], args.texts, "attention")
    try:
        answers, weights = tr.translate(texts, return_attention=True)
    except ValueError as e:
        raise CLIError(str(e)) from e
    if weights is None:
        raise CLIError(f"the model in {args.checkpoint} has no attention "
                       f"({tr.model.config['model']}); train one with --model attention")
    if any(len(ans) == 0 for ans in answers):
        raise CLIError("the model produced an empty answer for some input; nothing to draw")
    several = tr.model.all_attention_weights is not None
    if not several and any(v is not None for v in (args.kind, args.layer, args.head)):
        raise CLIError(f"--kind, --layer and --head need a model with several attentions (e.g. "
                       f"--model transformer); {tr.model.config['model']} has one map")
    if several and args.show_padding:
        raise CLIError("--show-padding draws the chapter's one map per input; for a Transformer "
                       "choose maps with --kind, --layer and --head")
    labels = None
    if several:
        found, ncols = _maps(tr, args, texts, answers)
        items = [(w, cols, rows) for w, cols, rows, _ in found]
        titles = [t for *_, t in found]
        labels = AXIS_LABELS[args.kind or "cross"]
    else:
        items = [(w[:len(ans), :len(text)], text, ans)
                 for text, ans, w in zip(texts, answers, weights)]
        titles, ncols = None, 2
    drawn = items
    if args.show_padding:  # all input columns: the text, then its padding
        drawn = [(w[:len(ans)], text, ans) for text, ans, w in zip(texts, answers, weights)]
    try:
        viz.plot_attention_grid(drawn, args.out, ncols=args.ncols or ncols, titles=titles,
                                show_padding=args.show_padding, axis_labels=labels)
    except ImportError as e:
        raise CLIError(f"{e}; install with: pip install \"tinygrad-attn[viz]\"") from e
    except ValueError as e:
        raise CLIError(f"attention: {e}") from e
    if not args.no_text:
        for i, item in enumerate(items):
            if titles:
                print(titles[i])
            print(viz.attention_to_text(*item))
            print()
    print(f"heatmap: {args.out}")
    return 2 if len(texts) < len(args.texts) else 0
