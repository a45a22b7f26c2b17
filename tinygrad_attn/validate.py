"""The checks shared by the library and the command line: numeric arguments and input files.

A :class:`Range` says what an argument may be (an integer or a finite real number, with
inclusive or open bounds). It checks a value given to a function (:meth:`Range.check`, for
the library) and parses the text of a command-line option (:meth:`Range.parse`, used by
``tinygrad_attn.cli.values``), so the two cannot disagree about what is accepted or how a
refusal reads::

    >>> from tinygrad_attn.validate import Range
    >>> Range.real(0.0, low_open=True).check(float("nan"), "lr", "Adam")
    Traceback (most recent call last):
    ...
    ValueError: Adam: lr must be a finite number in (0, inf), got nan

The ranges used in several places are named here once (:data:`GRADCHECK_EPS`,
:data:`TOLERANCE`, :data:`MAX_ELEMENTS`, :data:`SEED`, :data:`LEARNING_RATE`, ...); the command
line uses the same objects, or a narrower range that the tests prove lies inside them.

:func:`input_file` and :func:`open_input` check a file to be read the same way everywhere
(missing, a folder, a FIFO or a device, unreadable, larger than a bound), *before* it is
opened, so a named pipe never blocks and ``/dev/zero`` is never read.

This module imports nothing from the package: every floor may use it.
"""
from __future__ import annotations

import errno
import math
import numbers
import os
import stat
from dataclasses import dataclass

__all__ = ["Range", "range_text", "check_choice", "input_file", "open_input", "file_kind", "GRADCHECK_EPS", "TOLERANCE", "MAX_ELEMENTS",
           "SEED", "LEARNING_RATE", "LEARNING_RATE_SET", "WEIGHT_DECAY", "DECAY_RATE",
           "OPTIMIZER_EPS", "MAX_NORM", "WARMUP", "PROBABILITY"]


def _num(v) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v)) if abs(v) >= 1e4 else f"{v:g}"
    return f"{v:g}" if isinstance(v, float) else str(v)


def range_text(low=None, high=None, low_open=False, high_open=False) -> str:
    """The interval in words, e.g. ``[1, 64]``, ``(0, inf)``, ``[0, 1)``."""
    lo = "-inf" if low is None else _num(low)
    hi = "inf" if high is None else _num(high)
    return (f"{'(' if low_open or low is None else '['}{lo}, "
            f"{hi}{')' if high_open or high is None else ']'}")


def _shown(value) -> str:
    """A value as it appears in a message: numbers plainly, anything else by repr and type."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"{value!r:.60} ({type(value).__name__})"
    text = repr(float(value)) if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


@dataclass(frozen=True)
class Range:
    """An integer or a finite real number within bounds (``None``: unbounded on that side).

    Attributes:
        kind: ``int`` or ``float``.
        low: the lower bound (None: none).
        high: the upper bound (None: none).
        low_open: ``low`` itself is excluded.
        high_open: ``high`` itself is excluded.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    @classmethod
    def integer(cls, low=None, high=None) -> "Range":
        """Integers in ``[low, high]``."""
        return cls(int, low, high)

    @classmethod
    def real(cls, low=None, high=None, low_open=False, high_open=False) -> "Range":
        """Finite real numbers in the interval (``*_open``: that bound excluded)."""
        return cls(float, low, high, low_open, high_open)

    # ------------------------------------------------------------------ words
    @property
    def text(self) -> str:
        """The interval, e.g. ``(0, 1]``."""
        return range_text(self.low, self.high, self.low_open, self.high_open)

    def describe(self) -> str:
        """``"an integer in [1, 64]"`` or ``"a finite number in (0, inf)"``."""
        return (f"an integer in {self.text}" if self.kind is int
                else f"a finite number in {self.text}")

    def contains(self, value) -> bool:
        """Whether the number ``value`` lies in the interval (and is finite)."""
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            v = int(value)  # exact, however large (float() of 10**400 overflows)
            if self.kind is float and abs(v) > 1.7976931348623157e308:
                return False  # no finite float holds it
        else:
            try:
                v = float(value)
            except (OverflowError, TypeError, ValueError):
                return False
            if not math.isfinite(v):
                return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        if self.high is not None and (v >= self.high if self.high_open else v > self.high):
            return False
        return True

    def within(self, other: "Range") -> bool:
        """Whether every value this range accepts is accepted by ``other`` too."""
        if self.kind is float and other.kind is int:
            return False

        def lower_ok():
            if other.low is None:
                return True
            if self.low is None:
                return False
            if self.low > other.low:
                return True
            return self.low == other.low and (self.low_open or not other.low_open)

        def upper_ok():
            if other.high is None:
                return True
            if self.high is None:
                return False
            if self.high < other.high:
                return True
            return self.high == other.high and (self.high_open or not other.high_open)

        return lower_ok() and upper_ok()

    # ------------------------------------------------------------------ library
    def check(self, value, name, who=""):
        """Return ``value`` (an ``int`` or ``float``) when it is in range, else refuse it.

        Args:
            value: the argument given.
            name: the argument's name, for the message.
            who: the function or class refusing it, for the message.

        Raises:
            TypeError: not a number (a string, a bool, None, an array), or a real number where
                an integer is needed.
            ValueError: a number outside the range, NaN or infinite.
        """
        head = f"{who}: " if who else ""
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if self.kind is int:
            if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
                raise TypeError(f"{head}{name} must be {self.describe()}, got {_shown(value)}")
            value = int(value)
        elif not real:
            raise TypeError(f"{head}{name} must be {self.describe()}, got {_shown(value)}")
        else:
            try:
                value = float(value)
            except OverflowError:  # an integer beyond every float: not finite
                raise ValueError(f"{head}{name} must be {self.describe()}, got "
                                 f"{_shown(value)}") from None
        if not self.contains(value):
            raise ValueError(f"{head}{name} must be {self.describe()}, got {_shown(value)}")
        return value

    # ------------------------------------------------------------------ command line
    def parse(self, text):
        """The value written in ``text`` (an option's argument), or ValueError with one line.

        Integers are written in base 10 (``1e3`` is not an integer); real numbers as Python
        writes floats. The message is ``must be <describe()>, got '<text>'``.
        """
        try:
            value = int(str(text).strip(), 10) if self.kind is int else float(str(text).strip())
        except ValueError:
            word = "an integer" if self.kind is int else "a number"
            raise ValueError(f"must be {word} in {self.text}, got {text!r}") from None
        if not self.contains(value):
            raise ValueError(f"must be {self.describe()}, got {text!r}")
        return value


def check_choice(value, choices, name, who=""):
    """Return ``value`` when it is one of ``choices``, else ValueError naming them."""
    if value not in choices:
        head = f"{who}: " if who else ""
        raise ValueError(f"{head}{name} must be one of {', '.join(map(repr, choices))}, "
                         f"got {value!r:.60}")
    return value


# ----------------------------------------------------------------------------- shared ranges
GRADCHECK_EPS = Range.real(0.0, 1.0, low_open=True)
"""The central-difference step of gradient checks: ``(0, 1]``."""
TOLERANCE = Range.real(0.0)
"""``atol`` and ``rtol`` of gradient checks: finite and ``>= 0``."""
MAX_ELEMENTS = Range.integer(1, 10**9)
"""How many elements per Variable a gradient check compares at most."""
SEED = Range.integer(0, 2**32 - 1)
"""Seeds of random generators."""
LEARNING_RATE = Range.real(0.0, low_open=True)
"""An optimizer's learning rate when it is made: finite and ``> 0``."""
LEARNING_RATE_SET = Range.real(0.0)
"""A learning rate set later (by a schedule, which may decay to 0): finite and ``>= 0``."""
WEIGHT_DECAY = Range.real(0.0)
"""L2 weight decay: finite and ``>= 0``."""
DECAY_RATE = Range.real(0.0, 1.0, high_open=True)
"""Momentum and Adam's betas: ``[0, 1)``."""
OPTIMIZER_EPS = Range.real(0.0)
"""The small constant of AdaGrad/Adam denominators: finite and ``>= 0`` (0 gives the exact
formula, for teaching; a parameter whose gradients are all 0 then gets 0/0)."""
MAX_NORM = Range.real(0.0, low_open=True)
"""The global gradient norm clipping scales down to: finite and ``> 0``."""
WARMUP = Range.integer(1, None)
"""Warm-up steps of a learning-rate schedule: an integer ``>= 1``."""
PROBABILITY = Range.real(0.0, 1.0, high_open=True)
"""Dropout and label smoothing: ``[0, 1)``."""


# ----------------------------------------------------------------------------- input files
def file_kind(mode) -> str:
    """What an ``st_mode`` is, in words: ``"a folder"``, ``"a named pipe (FIFO)"``, ..."""
    for test, words in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return words
    return "not a regular file"


def _size_text(n) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{n} bytes"


def _refuse_special(path, what, st, error):
    if stat.S_ISREG(st.st_mode):
        return
    kind = file_kind(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path} is a folder, not a {what}")
    raise error(f"{what} {path} is {kind}, not a regular file; refused (it could block or "
                "never end)")


def input_file(path, what="file", max_bytes=None, error=ValueError) -> int:
    """Check, without opening it, that ``path`` is a readable regular file of bounded size.

    Symbolic links are followed (a link to a regular file is fine).

    Args:
        path: the file.
        what: its role, for messages (``"checkpoint"``, ``"data file"``).
        max_bytes: the largest size accepted (None: any).
        error: the exception class raised for a bad file (e.g. a loader's own error class).

    Returns:
        The file's size in bytes.

    Raises:
        FileNotFoundError: nothing at ``path`` (or a dangling link).
        error: a folder, a FIFO, a device or a socket; not readable; larger than
            ``max_bytes``. The message is one line naming the file.
    """
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{what} not found", path) from None
    except OSError as e:
        raise error(f"{what} {path}: cannot read it: {e.strerror or e}") from None
    _refuse_special(path, what, st, error)
    if not os.access(path, os.R_OK):
        raise error(f"{what} {path} is not readable (permissions)")
    if max_bytes is not None and st.st_size > max_bytes:
        raise error(f"{what} {path} is {_size_text(st.st_size)}; at most "
                    f"{_size_text(max_bytes)} is read")
    return st.st_size


def open_input(path, what="file", max_bytes=None, error=ValueError):
    """Open a file for reading in binary after :func:`input_file`'s checks.

    The open itself cannot block (``O_NONBLOCK``: a file swapped for a FIFO after the check
    is still refused, by ``fstat`` of the opened descriptor).

    Returns:
        A binary file object (a context manager). Read at most ``max_bytes + 1`` bytes from
        it to notice a file that grew after the check.

    Raises:
        FileNotFoundError, error: as :func:`input_file`.
    """
    path = os.fspath(path)
    input_file(path, what, max_bytes, error)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | \
        getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{what} not found", path) from None
    except OSError as e:
        raise error(f"{what} {path}: cannot open it: {e.strerror or e}") from None
    try:
        _refuse_special(path, what, os.fstat(fd), error)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
