"""The one place where command-line values are checked: argparse ``type=`` callables and path checks.

Every sub-command of ``tinygrad-attn`` declares its options with these helpers, so a bad
value is refused while the arguments are parsed, before any work starts, with one line
that names the option, the valid range and the value given::

    tinygrad-attn train: error: argument --batch-size: must be an integer in [1, 65536], got '0'

* :func:`ranged` — a :class:`~tinygrad_attn.validate.Range` of the library (the same rule the
  API applies to the argument the option feeds); :func:`integer`, :func:`real`,
  :func:`probability` — numbers with a range of the command line's own (floats must be
  finite: ``nan`` and ``inf`` are refused).
* :func:`option_type` — the same for a model's registry :class:`~tinygrad_attn.training.registry.Option`
  (its ``type``, ``low``, ``high`` and ``choices``).
* :func:`existing_file`, :func:`existing_dir`, :func:`data_source` — inputs that must exist.
* :func:`output_file` — a file to write, with an allowed set of extensions.
* :func:`check_writable_file`, :func:`check_run_dir` — called by a command before its long
  work starts: the folder can be written to, nothing that was not named is replaced, and an
  existing run is only overwritten with ``--overwrite``.

The helpers raise :class:`argparse.ArgumentTypeError` (while parsing) or
:class:`~tinygrad_attn.cli.CLIError` (the path checks); :func:`tinygrad_attn.cli.main` prints
either as one line on stderr with a non-zero exit status.
"""
from __future__ import annotations

import argparse
import os
import tempfile

from ..validate import Range, input_file, range_text

__all__ = ["CLIError", "ranged", "integer", "real", "probability", "option_type", "existing_file", "existing_dir",
           "data_source", "run_folder", "output_file", "check_writable_file", "check_run_dir", "range_text",
           "MAX_BATCH", "MAX_SAMPLES", "MAX_BEAM", "MAX_SEQ_LEN", "IMAGE_EXTENSIONS"]

MAX_BATCH = 65536
"""Largest ``--batch-size`` accepted."""
MAX_SAMPLES = 10_000_000
"""Largest number of generated examples (``--samples``, ``--val-samples``)."""
MAX_BEAM = 64
"""Largest beam width (``translate --beam``)."""
MAX_SEQ_LEN = 64
"""Largest ``graph --seq-len`` (an uncollapsed drawing of more steps is unreadable and slow)."""
IMAGE_EXTENSIONS = ("png", "svg", "pdf", "jpg", "jpeg")
"""Picture formats the ``attention`` command writes (by the extension of ``--out``)."""


def _named(fn, name):
    fn.__name__ = name  # argparse uses it in "invalid <name> value" messages
    return fn


def ranged(rule: Range):
    """An argparse type for a :class:`~tinygrad_attn.validate.Range`: the library's own rule,
    so an option and the API argument it feeds accept exactly the same values."""

    def parse(text):
        try:
            return rule.parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.rule = rule  # the tests compare it with the library's ranges
    return _named(parse, "integer" if rule.kind is int else "number")


def integer(low=None, high=None):
    """An argparse type: an integer in ``[low, high]`` (either bound may be None)."""
    return ranged(Range.integer(low, high))


def real(low=None, high=None, low_open=False, high_open=False):
    """An argparse type: a finite float in the interval (``*_open``: that bound excluded)."""
    return ranged(Range.real(low, high, low_open, high_open))


def probability(high_open=True):
    """An argparse type: a probability in ``[0, 1)`` (``[0, 1]`` with ``high_open=False``)."""
    return real(0.0, 1.0, high_open=high_open)


def option_type(opt, *others):
    """An argparse type for a registry :class:`~tinygrad_attn.training.registry.Option` (not bool).

    The text is converted to ``opt.type`` and checked by ``opt.check`` (type, ``low``/``high``,
    ``choices``), so the range a model declares is the range the command line enforces.
    When several models share the flag (``others``: their Options), a value passes if one
    of them accepts it; the chosen model's own range is checked again when its config is made.
    """
    opts = (opt, *others)
    lows = [o.low for o in opts]
    highs = [o.high for o in opts]
    low = None if None in lows else min(lows)
    high = None if None in highs else max(highs)
    if opt.type is int:
        base = integer(low, high)
    elif opt.type is float:
        base = real(low, high)
    else:
        def base(text):
            return str(text)

    def parse(text):
        value = base(text)
        first = None
        for o in opts:
            try:
                return o.check(value)
            except ValueError as e:
                first = first or e
        msg = str(first)
        prefix = f"{opt.flag} "
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
        raise argparse.ArgumentTypeError(msg)

    return _named(parse, opt.type.__name__)


# ----------------------------------------------------------------------------- inputs
def existing_file(what="file", max_bytes=None):
    """An argparse type: a path to an existing, readable regular file (not a FIFO or a
    device: those are refused without being opened), of at most ``max_bytes``.

    The check is :func:`tinygrad_attn.validate.input_file`, the one the loaders use."""

    def parse(text):
        path = os.fspath(text)
        if path == "":
            raise argparse.ArgumentTypeError(f"the {what} path is empty")
        try:
            input_file(path, what, max_bytes, argparse.ArgumentTypeError)
        except FileNotFoundError:
            raise argparse.ArgumentTypeError(f"{what} not found: {path}") from None
        return path

    return _named(parse, what)


def existing_dir(what="folder"):
    """An argparse type: a path to an existing folder."""

    def parse(text):
        path = os.fspath(text)
        if not os.path.isdir(path):
            raise argparse.ArgumentTypeError(
                f"{what} not found: {path}" if not os.path.exists(path)
                else f"{path} is not a folder")
        return path

    return _named(parse, what)


def data_source(names=("date", "addition")):
    """An argparse type: one of the generator ``names`` or an existing data file."""
    check = existing_file("data file")

    def parse(text):
        if text in names:
            return text
        try:
            return check(text)
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{e} (give {' or '.join(map(repr, names))} or a "
                                             "file in the book's format)") from None

    return _named(parse, "data")


def run_folder(what="run folder"):
    """An argparse type: a folder path to create or reuse (not empty, not only spaces)."""

    def parse(text):
        path = os.fspath(text)
        if not path.strip():
            raise argparse.ArgumentTypeError(f"the {what} path is empty; give a folder name")
        return path

    return _named(parse, "folder")


def output_file(extensions):
    """An argparse type: a file name ending in one of ``extensions`` (without dots)."""
    exts = tuple(e.lower() for e in extensions)

    def parse(text):
        path = os.fspath(text)
        if not path.strip():
            raise argparse.ArgumentTypeError(f"the file name is empty; give a file ending in "
                                             f"{', '.join('.' + e for e in exts)}")
        ext = os.path.splitext(path)[1][1:].lower()
        if ext not in exts:
            said = f"'.{ext}'" if ext else "no extension"
            raise argparse.ArgumentTypeError(
                f"cannot tell the format of {path!r} ({said}): use one of "
                f"{', '.join('.' + e for e in exts)}")
        return path

    return _named(parse, "file")


# ----------------------------------------------------------------------------- outputs
class CLIError(Exception):
    """A user-facing error: printed as ``tinygrad-attn: error: <message>``, exit status 2.

    Defined here (below the command line) so every layer of the CLI can raise it;
    :mod:`tinygrad_attn.cli` exports it too.
    """


def _cli_error(msg):
    return CLIError(msg)


def _probe_dir(folder, flag):
    """Raise CLIError unless a file can be created in the existing ``folder``."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-probe-", dir=folder)
    except OSError as e:
        raise _cli_error(f"{flag}: cannot write in {folder}: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(tmp)


def _nearest_existing(path):
    """The path itself or its closest existing ancestor (must be a folder to create below it)."""
    p = os.path.abspath(path)
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return p


def _check_creatable_dir(folder, flag):
    """``folder`` exists (and is writable) or can be created below a writable ancestor."""
    base = _nearest_existing(folder)
    if not os.path.isdir(base):
        raise _cli_error(f"{flag}: {base} is a file, not a folder")
    _probe_dir(base, flag)


def check_writable_file(path, flag="--out", beside=(), overwrite=False):
    """Check, before any work, that ``path`` can be written and nothing unnamed is replaced.

    Args:
        path: the file the user named (it may be replaced: the user asked for it).
        flag: the option name for messages.
        beside: other files the command will write next to it (e.g. ``x.dot`` for ``x.svg``);
            an existing one is an error unless ``overwrite``.
        overwrite: allow replacing the files in ``beside``.

    Raises:
        CLIError: ``path`` is a folder or a device, its folder cannot be written, or a file in
            ``beside`` exists and ``overwrite`` is False.
    """
    path = os.fspath(path)
    for p in (path, *beside):
        if os.path.isdir(p):
            raise _cli_error(f"{flag}: {p} is a folder; give a file name")
        if os.path.exists(p) and not os.path.isfile(p):
            raise _cli_error(f"{flag}: {p} is not a regular file (a device or pipe?)")
    for p in beside:
        if os.path.exists(p) and not overwrite:
            raise _cli_error(f"{flag}: {p} exists and would be replaced (it is written beside "
                             f"{path}); pass --overwrite to replace it, or choose another name")
    _check_creatable_dir(os.path.dirname(os.path.abspath(path)), flag)


def check_run_dir(folder, files, flag="--out", overwrite=False):
    """Check a run folder before training: writable, and not holding a run unless ``overwrite``.

    Args:
        folder: the run folder (created later, when training starts).
        files: names of the files the run writes there (``model.npz``, ``history.json``).
        overwrite: allow replacing those files.

    Raises:
        CLIError: the folder is a file or a device, cannot be written or created, one of
            ``files`` is a folder, or one exists and ``overwrite`` is False.
    """
    folder = os.fspath(folder)
    if not folder.strip():
        raise _cli_error(f"{flag}: the run folder path is empty; give a folder name")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise _cli_error(f"{flag}: {folder} exists and is not a folder (the run folder holds "
                         f"{', '.join(files)})")
    for name in files:
        p = os.path.join(folder, name)
        if os.path.isdir(p):
            raise _cli_error(f"{flag}: {p} is a folder; cannot write the run's {name} there")
        if os.path.exists(p) and not os.path.isfile(p):
            raise _cli_error(f"{flag}: {p} is not a regular file")
    existing = [n for n in files if os.path.exists(os.path.join(folder, n))]
    if existing and not overwrite:
        raise _cli_error(f"{flag}: {folder} already holds a run ({', '.join(existing)}); pass "
                         "--overwrite to replace it, or choose another folder")
    _check_creatable_dir(folder, flag)
