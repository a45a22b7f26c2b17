"""``tinygrad-attn train``: train a registered model and write a checkpoint and its history.

The options and the run are in :mod:`tinygrad_attn.cli.train_run` (``tinygrad-attn sweep``
runs each of its runs through the same code).
"""
from __future__ import annotations

from ..train_run import add_train_arguments, run_training


def add_parser(sub):
    """Register the ``train`` sub-command."""
    p = sub.add_parser("train", help="train a model",
                       description="Train a registered model; writes DIR/model.npz (after every "
                                   "epoch and on Ctrl-C) and DIR/history.json. A folder that "
                                   "already holds a run is refused unless --overwrite is given. "
                                   "Every value is checked before training starts; the valid "
                                   "range is given below.")
    return add_train_arguments(p)


def run(args):
    """Train as asked; returns 0."""
    return run_training(args)
