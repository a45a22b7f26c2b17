"""The ``tinygrad-attn`` command line (the top floor).

* :mod:`~tinygrad_attn.cli.main` — the entry point: one sub-command per module of
  :mod:`tinygrad_attn.cli.commands`, one-line errors, exit statuses;
* :mod:`~tinygrad_attn.cli.values` — value types of the options (ranges checked while parsing);
* :mod:`~tinygrad_attn.cli.common` — what several sub-commands share (opening checkpoints,
  model options, run folders, help texts).
"""
from .main import COMMANDS, DEBUG_ENV, ArgumentParser, build_parser, main
from .values import CLIError

__all__ = ["main", "build_parser", "CLIError", "COMMANDS", "ArgumentParser", "DEBUG_ENV"]
