"""``tinygrad-attn graph``: draw the computational graph of one training step.

Builds a small model with random weights, runs one forward pass on a random batch
(and a backward pass for ``--show-grad``), and draws the graph behind the loss with
:func:`tinygrad_attn.viz.plot_graph`. The format follows the extension of ``--out``
(``.svg``, ``.png``, ``.pdf``; ``.dot``/``.gv`` need no Graphviz program).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import tinygrad_attn as ta

from ... import functions as F
from ...training import registry
from ...viz import GraphvizNotFoundError, plot_graph
from .. import common
from .. import values as T
from ..values import CLIError

__all__ = ["add_parser", "run", "example_loss"]


def add_parser(subparsers):
    """Register the ``graph`` sub-command.

    Args:
        subparsers: the ``add_subparsers()`` object of the main parser.

    Returns:
        The ``argparse.ArgumentParser`` of the sub-command.
    """
    p = subparsers.add_parser(
        "graph", help="draw the computational graph of one training step",
        description="Draw the computational graph of one training step of a small model "
                    "(random weights and data). Needs Graphviz for .svg/.png/.pdf.")

    names = registry.model_names()
    p.add_argument("--model", choices=names + ["example"],
                   default="attention" if "attention" in names else "example",
                   help="which registered model to draw, small and with random weights "
                        "(default: attention), or 'example': a hand-written LSTM loop")
    p.add_argument("--collapse", action=argparse.BooleanOptionalAction, default=True,
                   help="merge the time steps of recurrent layers into one (default: on)")
    p.add_argument("--show-grad", action="store_true",
                   help="run backward too and show each gradient's L2 norm")
    p.add_argument("--no-cluster", dest="cluster", action="store_false",
                   help="do not group nodes by layer scope")
    p.add_argument("--rankdir", choices=["TB", "LR", "BT", "RL"], default="TB",
                   help="layout direction (default: TB)")
    p.add_argument("--fused", action="store_true",
                   help="draw the fused ops the model runs for speed (one LSTMSequence node per "
                        "recurrent layer, one LSTMCell node per decoding step) instead of their "
                        "compositions (gates as separate nodes, the default)")
    p.add_argument("--depth", type=T.integer(1, 64), default=None, metavar="K",
                   help="fold every scope K levels deep into one box with its op count (the "
                        "model's name is level 1: 4 draws a Transformer as encoder/0/self_attn, "
                        "encoder/0/ff, ... boxes, on one screen); default: every op")
    p.add_argument("--seq-len", type=T.integer(1, T.MAX_SEQ_LEN), default=5,
                   help=f"input sequence length of the random batch, 1 to {T.MAX_SEQ_LEN} "
                        "(default: 5)")
    p.add_argument("--out", required=True, metavar="FILE",
                   type=T.output_file(("svg", "png", "pdf", "dot", "gv")),
                   help="output file: .svg, .png, .pdf, .dot or .gv. For .svg/.png/.pdf the DOT "
                        "source is also written beside it, with the extension .dot "
                        "(x.svg -> x.dot); an existing .dot file there is not replaced "
                        "without --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the .dot file written beside the picture if it exists")
    return p


def example_loss(seq_len=5, batch=2, in_size=3, hidden=4, classes=5, seed=0):
    """The built-in example: an LSTM-like recurrence written with ``F`` ops, then a loss.

    Every step runs under ``name_scope("encoder/lstm/t=<k>")`` (gates from one
    ``linear`` and a ``split``), the classifier under ``"decoder/affine"``, so the
    drawing shows clusters and, with ``collapse_steps=True``, one folded step.

    Args:
        seq_len: number of time steps T.
        batch: batch size N.
        in_size: input features D; the input is (N, T, D).
        hidden: hidden size H (weights (D, 4H), (H, 4H), (4H,)).
        classes: output classes C of the final (H, C) affine layer.
        seed: NumPy seed of the random weights and data.

    Returns:
        The scalar loss Variable (softmax cross entropy of the last hidden state).
    """

    if seq_len < 1:
        raise ValueError(f"example_loss: seq_len must be >= 1, got {seq_len}")
    rng = np.random.default_rng(seed)
    xs = ta.Variable(rng.standard_normal((batch, seq_len, in_size)), name="xs")
    Wx = ta.Parameter(rng.standard_normal((in_size, 4 * hidden)) * 0.5, name="Wx")
    Wh = ta.Parameter(rng.standard_normal((hidden, 4 * hidden)) * 0.5, name="Wh")
    b = ta.Parameter(np.zeros(4 * hidden), name="b")
    Wo = ta.Parameter(rng.standard_normal((hidden, classes)) * 0.5, name="Wo")
    h = ta.Variable(np.zeros((batch, hidden)), name="h0")
    c = ta.Variable(np.zeros((batch, hidden)), name="c0")
    with ta.name_scope("encoder"), ta.name_scope("lstm"):
        for t in range(seq_len):
            with ta.name_scope(f"t={t}"):
                a = F.linear(xs[:, t, :], Wx, b) + F.matmul(h, Wh)
                f, g, i, o = F.split(a, 4, axis=1)
                c = F.sigmoid(f) * c + F.tanh(g) * F.sigmoid(i)
                h = F.sigmoid(o) * F.tanh(c)
    with ta.name_scope("decoder"), ta.name_scope("affine"):
        logits = F.matmul(h, Wo)
    return F.softmax_cross_entropy(logits, rng.integers(0, classes, size=batch))


def run(args) -> int:
    """Draw the graph; return 0.

    Args:
        args: the parsed namespace (``model``, ``collapse``, ``show_grad``, ``cluster``,
            ``rankdir``, ``depth``, ``seq_len``, ``out``).

    Returns:
        The exit status (0).

    Raises:
        CLIError: bad ``--seq-len`` or extension, or Graphviz / the ``graphviz`` package
            missing (the .dot file is still written).
    """

    root, ext = os.path.splitext(args.out)
    beside = [] if ext.lower() in (".dot", ".gv") else [root + ".dot"]
    T.check_writable_file(args.out, beside=beside, overwrite=args.overwrite)
    if args.model == "example":
        loss, what = example_loss(seq_len=args.seq_len), "built-in LSTM example"
        if args.show_grad:
            loss.backward()
    else:
        try:
            model, batch = common.model_example(args.model, seq_len=args.seq_len)
        except ValueError as e:
            raise CLIError(str(e)) from e

        with F.fused_ops(args.fused):  # the compositions teach more than one fused node
            loss = model(*batch)
            if args.show_grad:
                loss.backward()
        what = f"model {args.model} ({type(model).__name__})"
    try:
        plot_graph(loss, args.out, show_grad=args.show_grad, cluster=args.cluster,
                   collapse_steps=args.collapse, rankdir=args.rankdir, depth=args.depth)
    except (GraphvizNotFoundError, ImportError, ValueError) as e:
        raise CLIError(str(e)) from e
    also = f" and its DOT source {beside[0]}" if beside else ""
    how = (f"scopes folded at depth {args.depth}" if args.depth else
           f"{'collapsed' if args.collapse else 'all'} time steps")
    print(f"wrote {args.out}{also} ({what}, {how})")
    return 0
