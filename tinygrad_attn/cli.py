"""The ``tinygrad-attn`` command: one sub-command per module in :mod:`tinygrad_attn.commands`.

Each sub-command module defines ``add_parser(subparsers)`` and ``run(args) -> int``.
Errors a user can cause (a missing file, a bad character, ...) are raised as
:class:`CLIError` and printed as one line on stderr with a non-zero exit status.
"""
from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "CLIError", "COMMANDS"]

COMMANDS = ["train", "translate", "eval", "graph", "attention", "gradcheck"]


class CLIError(Exception):
    """A user-facing error: printed as ``tinygrad-attn: error: <message>``, exit status 2."""


def build_parser():
    """Return the argparse parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="tinygrad-attn",
        description="Train, inspect and check attention seq2seq models built on tinygrad_attn.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"tinygrad_attn.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"tinygrad_attn.commands.{name}":
                continue
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except CLIError as e:
        print(f"tinygrad-attn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinygrad-attn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
