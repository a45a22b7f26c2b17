"""``tinygrad-attn graph``: draw the computational graph of one training step.

Builds a small model with random weights (its tiny widths, then the model options given,
as ``train`` takes them), runs one forward pass on a random batch — or one decoder step
alone with ``--decoder-step`` — (and a backward pass for ``--show-grad``), and draws the
graph behind the loss with
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

    common.add_model_options(p, extra_models=("example",),
                      model_help="which registered model to draw, small (the model's tiny "
                                 "widths unless its options below say otherwise) and with random "
                                 "weights (default: attention), or 'example': a hand-written "
                                 "LSTM loop")
    p.add_argument("--decoder-step", nargs="?", type=T.integer(0, T.MAX_SEQ_LEN), const=1,
                   default=None, metavar="T",
                   help="draw one decoder step alone, as the book draws the decoder: the "
                        "encoder's states (hs) and the previous step's state are leaves; T is "
                        "which step (default when given without a value: 1, a step that has a "
                        "previous state; 0 starts from the encoder's state)")
    p.add_argument("--legend", action=argparse.BooleanOptionalAction, default=True,
                   help="add a note explaining the node shapes and the merged steps (default: on)")
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
    p.add_argument("--answer-len", type=T.integer(1, T.MAX_SEQ_LEN), default=None,
                   help="decoder steps of the random batch (text models), 1 to "
                        f"{T.MAX_SEQ_LEN} (default: half of --seq-len, at least 2)")
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
        args: the parsed namespace (``model`` and its options, ``decoder_step``, ``collapse``,
            ``show_grad``, ``cluster``, ``rankdir``, ``depth``, ``seq_len``, ``answer_len``,
            ``legend``, ``out``).

    Returns:
        The exit status (0).

    Raises:
        CLIError: bad ``--seq-len`` or extension, or Graphviz / the ``graphviz`` package
            missing (the .dot file is still written).
    """

    root, ext = os.path.splitext(args.out)
    beside = [] if ext.lower() in (".dot", ".gv") else [root + ".dot"]
    if args.model == "example":
        common.check_model_options(args)
        for flag, given in (("--decoder-step", args.decoder_step is not None),
                            ("--answer-len", args.answer_len is not None)):
            if given:
                raise CLIError(f"{flag} needs a registered model, not --model example")
    else:
        try:
            spec = registry.get_spec(args.model)
        except ValueError as e:
            raise CLIError(str(e)) from e
        common.check_model_options(args, {o.dest for o in spec.options})
        options = {o.key: getattr(args, o.dest) for o in spec.options
                   if getattr(args, o.dest, None) is not None}
        if args.answer_len is not None and spec.task != "text":
            raise CLIError(f"--answer-len applies to text models; --model {args.model} reads "
                           "binary vectors (use --seq-len)")
    T.check_writable_file(args.out, beside=beside, overwrite=args.overwrite)
    if args.model == "example":
        loss, what = example_loss(seq_len=args.seq_len), "built-in LSTM example"
        if args.show_grad:
            loss.backward()
    else:
        answer_len = args.answer_len              # None: the model's example_batch decides
        if spec.task == "text" and args.decoder_step is not None and answer_len is None:
            answer_len = max(args.seq_len // 2, 2, args.decoder_step + 1)
        try:
            model, batch = common.model_example(args.model, seq_len=args.seq_len, options=options,
                                                answer_len=answer_len)
        except ValueError as e:
            raise CLIError(str(e)) from e

        if args.decoder_step is not None:
            if not hasattr(model, "decoder_step_loss"):
                having = [n for n in registry.model_names()
                          if hasattr(registry.get_spec(n).factory, "decoder_step_loss")]
                raise CLIError(f"--decoder-step: model {args.model!r} has no decoder steps to "
                               f"draw (models with one: {', '.join(having) or 'none'})")
            steps = batch[1].shape[1] - 1 if spec.task == "text" else None
            if steps is not None and args.decoder_step >= steps:
                raise CLIError(f"--decoder-step {args.decoder_step} is beyond the answer's "
                               f"{steps} decoder steps (0 to {steps - 1}); raise --answer-len")
        with F.fused_ops(args.fused):  # the compositions teach more than one fused node
            try:
                loss = (model(*batch) if args.decoder_step is None else
                        model.decoder_step_loss(*batch, step=args.decoder_step))
            except ValueError as e:
                raise CLIError(str(e)) from e
            if args.show_grad:
                loss.backward()
        what = f"model {args.model} ({type(model).__name__})"
        if args.decoder_step is not None:
            what += f", decoder step {args.decoder_step} alone"
    try:
        plot_graph(loss, args.out, show_grad=args.show_grad, cluster=args.cluster,
                   collapse_steps=args.collapse, rankdir=args.rankdir, depth=args.depth,
                   **({} if args.depth else {"legend": args.legend}))
    except (GraphvizNotFoundError, ImportError, ValueError) as e:
        raise CLIError(str(e)) from e
    also = f" and its DOT source {beside[0]}" if beside else ""
    how = (f"scopes folded at depth {args.depth}" if args.depth else
           f"{'collapsed' if args.collapse else 'all'} time steps")
    print(f"wrote {args.out}{also} ({what}, {how})")
    return 0
