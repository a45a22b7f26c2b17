"""The ``tinygrad-attn`` command: one sub-command per module in :mod:`tinygrad_attn.cli.commands`.

Each sub-command module defines ``add_parser(subparsers)`` and ``run(args) -> int``.
Option values are checked while parsing (:mod:`tinygrad_attn.cli.values`); errors a user
can cause later (a missing file, a bad character, ...) are raised as :class:`CLIError`.
Whatever goes wrong, the command prints **one line** on stderr and exits non-zero:

* 2 — a bad argument or input (``tinygrad-attn train: error: argument --lr: ...``);
* 1 — anything unexpected (the exception's type and message; ``--debug`` or the environment
  variable ``TINYGRAD_ATTN_DEBUG=1`` shows the full traceback instead);
* 130 — interrupted with Ctrl-C.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from .values import CLIError

__all__ = ["main", "CLIError", "COMMANDS", "ArgumentParser", "DEBUG_ENV"]

COMMANDS = ["train", "translate", "eval", "graph", "attention", "explore", "gradcheck", "memory",
            "import_book", "export"]
DEBUG_ENV = "TINYGRAD_ATTN_DEBUG"
"""Environment variable: set to 1 to see tracebacks instead of one-line errors."""




class _UsageError(Exception):
    def __init__(self, prog, message):
        super().__init__(message)
        self.prog = prog


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a bad argument raises instead of printing usage and exiting.

    :func:`main` turns the error into one line: ``<prog>: error: <message> (see --help)``.
    """

    def error(self, message):
        raise _UsageError(self.prog, message)


def build_parser():
    """Return the argparse parser with every available sub-command."""
    parser = ArgumentParser(
        prog="tinygrad-attn",
        description="Train, inspect and check attention seq2seq models built on tinygrad_attn. "
                    "Errors are one line on stderr with exit status 2 (bad input) or 1 "
                    f"(unexpected; --debug or {DEBUG_ENV}=1 shows the traceback).")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"tinygrad_attn.cli.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"tinygrad_attn.cli.commands.{name}":
                continue
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _say(msg):
    print(_one_line(msg), file=sys.stderr)


def _tolerant_output():
    """Characters the terminal's encoding lacks (an accented answer on an ASCII-only stdout)
    are written as backslash escapes (``\\xe9``) instead of failing with an encoding error."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a text stream we can change
            pass


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that a training run saves its checkpoint and stops."""


def _raise_terminated(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    """Entry point of the console script; returns the exit status (never raises).

    SIGTERM stops a command the way Ctrl-C does (``train`` saves its checkpoint first); the
    exit status is then 143 (130 for Ctrl-C).
    """
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = debug or "--debug" in argv[:1]
    _tolerant_output()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _main(argv, debug)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv, debug) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        debug = debug or args.debug
        return int(args._run(args) or 0)
    except _UsageError as e:
        _say(f"{e.prog}: error: {e} (see {e.prog} --help)")
        return 2
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except CLIError as e:
        _say(f"tinygrad-attn: error: {e}")
        return 2
    except Terminated:
        _say("tinygrad-attn: terminated")
        return 143
    except KeyboardInterrupt:
        _say("tinygrad-attn: interrupted")
        return 130
    except BrokenPipeError:  # e.g. `| head`: the reader went away
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 141
    except Exception as e:  # the last resort: one line, never a traceback (unless asked)
        if debug:
            raise
        if isinstance(e, MemoryError):
            _say("tinygrad-attn: error: out of memory: the model or data is too large for this "
                 "machine (use smaller sizes)")
            return 1
        if isinstance(e, OSError) and e.strerror:
            where = f": {e.filename}" if e.filename else ""
            _say(f"tinygrad-attn: error: {e.strerror}{where}")
            return 1
        _say(f"tinygrad-attn: error: unexpected {type(e).__name__}: {e} "
             f"(rerun with --debug or {DEBUG_ENV}=1 for the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
