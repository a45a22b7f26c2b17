"""Synthetic date-format translation data: human-written US dates -> ISO dates."""

from __future__ import annotations

import datetime as _dt

import numpy as np

__all__ = [
    "DATE_FORMATS",
    "DATE_ALPHABET",
    "MAX_DATE_QUESTION_LEN",
    "DATE_ANSWER_LEN",
    "DEFAULT_END_DATE",
    "format_date",
    "make_dates",
    "parse_two_digit_year",
]

_MONTHS = ("january", "february", "march", "april", "may", "june", "july",
           "august", "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday",
             "saturday", "sunday")  # index = date.weekday()
_CASES = ("lower", "title", "upper")


def _cased(words: tuple[str, ...], case: str) -> tuple[str, ...]:
    """Return ``words`` in ``"lower"``, ``"title"`` or ``"upper"`` case."""
    return tuple(w.title() if case == "title" else w.upper() if case == "upper" else w
                 for w in words)


_MONTH_NAMES = {("full", c): _cased(_MONTHS, c) for c in _CASES}
_MONTH_NAMES.update({("abbr", c): _cased(tuple(m[:3] for m in _MONTHS), c) for c in _CASES})
_WEEKDAY_NAMES = {c: _cased(_WEEKDAYS, c) for c in _CASES}

DATE_FORMATS: tuple[str, ...] = ("numeric",) + tuple(
    f"{prefix}{style}_{case}"
    for prefix in ("", "weekday_") for style in ("full", "abbr") for case in _CASES)
"""The 13 question formats, e.g. ``"numeric"`` ("9/27/94"), ``"full_title"``
("September 27, 1994"), ``"weekday_abbr_upper"`` ("TUESDAY, SEP 25, 1984")."""

# (style, case, with_weekday) for every non-numeric format, in DATE_FORMATS order.
_FORMAT_PARTS = {name: (name.removeprefix("weekday_").split("_")[0],
                        name.split("_")[-1], name.startswith("weekday_"))
                 for name in DATE_FORMATS[1:]}

MAX_DATE_QUESTION_LEN = 29
"""Longest possible question: ``len("wednesday, september 27, 1994")``."""

DATE_ANSWER_LEN = 10
"""Every answer is ``YYYY-MM-DD``."""

DATE_ALPHABET: str = "".join(sorted(
    set("0123456789/,- ")
    | {ch for names in _MONTH_NAMES.values() for n in names for ch in n}
    | {ch for names in _WEEKDAY_NAMES.values() for n in names for ch in n}))
"""Every character that can occur in a date question or answer, sorted."""

_FIRST_YEAR = 1970  # two-digit years cover 1970..2069
_LAST_YEAR = 2069

DEFAULT_END_DATE = _dt.date(2026, 11, 24)
"""The default last date of :func:`make_dates`: a fixed day, so that the same seed gives the
same data on any day the code runs. It is the day the documented results were measured, so
the figures in the docs (results, getting started, tutorial) are reproducible."""


def parse_two_digit_year(yy: int | str) -> int:
    """Read a two-digit year the way people write them.

    ``70``-``99`` mean 1970-1999, ``00``-``69`` mean 2000-2069.

    Args:
        yy: The year as an int 0..99 or a string of one or two digits.

    Returns:
        The four-digit year.

    Raises:
        TypeError: If ``yy`` is neither int nor str.
        ValueError: If ``yy`` is outside 0..99 or not a 1-2 digit string.
    """
    if isinstance(yy, str):
        if not (1 <= len(yy) <= 2 and yy.isascii() and yy.isdigit()):
            raise ValueError(f"two-digit year must be 1 or 2 digits, got {yy!r}")
        yy = int(yy)
    elif isinstance(yy, bool) or not isinstance(yy, (int, np.integer)):
        raise TypeError(f"two-digit year must be int or str, got {type(yy).__name__}")
    yy = int(yy)
    if not 0 <= yy <= 99:
        raise ValueError(f"two-digit year must be in 0..99, got {yy}")
    return 1900 + yy if yy >= 70 else 2000 + yy


def format_date(day: _dt.date, fmt: str) -> str:
    """Write a date in one of the :data:`DATE_FORMATS`.

    Args:
        day: The date; for ``"numeric"`` its year must be in 1970..2069 so the
            two-digit year reads back correctly.
        fmt: A name from :data:`DATE_FORMATS`.

    Returns:
        The human-written date, e.g. ``"2/10/93"`` or ``"saturday, july 18, 1981"``.

    Raises:
        ValueError: If ``fmt`` is unknown or a numeric year is out of range.
    """
    if fmt == "numeric":
        if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            raise ValueError(f"year {day.year} cannot be written with two digits "
                             f"(only {_FIRST_YEAR}..{_LAST_YEAR})")
        return f"{day.month}/{day.day}/{day.year % 100:02d}"
    try:
        style, case, weekday = _FORMAT_PARTS[fmt]
    except KeyError:
        raise ValueError(f"unknown date format {fmt!r}; choose from {DATE_FORMATS}") from None
    text = f"{_MONTH_NAMES[style, case][day.month - 1]} {day.day}, {day.year}"
    if weekday:
        text = f"{_WEEKDAY_NAMES[case][day.weekday()]}, {text}"
    return text


def make_dates(n: int = 50000, seed: int = 0, start_year: int = 1970,
               end_date: _dt.date | None = None) -> list[tuple[str, str]]:
    """Generate (human date, ISO date) pairs.

    Dates are drawn uniformly from ``start_year``-01-01 to ``end_date``
    (inclusive); each question uses one of the 13 :data:`DATE_FORMATS`, chosen
    uniformly. Weekdays are the true weekday of the date. Numeric questions
    use two-digit years, which is why the date range must lie in 1970..2069
    (see :func:`parse_two_digit_year`).

    The default range is fixed (``start_year``-01-01 to :data:`DEFAULT_END_DATE`), not tied
    to the calendar: equal arguments give equal lists on any day.

    Args:
        n: Number of pairs.
        seed: Seed for ``numpy.random.default_rng``; equal seeds (and equal
            ``start_year``/``end_date``) give equal lists.
        start_year: First year of the range (>= 1970).
        end_date: Last date of the range (year <= 2069); defaults to
            :data:`DEFAULT_END_DATE` (2026-11-24); pass ``datetime.date.today()`` for
            dates up to today.

    Returns:
        n pairs ``(question, answer)``; questions have at most 29 characters,
        answers are ``YYYY-MM-DD`` (10 characters).

    Raises:
        ValueError: If ``n`` is negative or the date range is empty or outside
            1970-01-01..2069-12-31.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if end_date is None:
        end_date = DEFAULT_END_DATE
    if isinstance(end_date, _dt.datetime):
        end_date = end_date.date()
    if start_year < _FIRST_YEAR or end_date.year > _LAST_YEAR:
        raise ValueError(f"dates must lie in {_FIRST_YEAR}-01-01..{_LAST_YEAR}-12-31 so that "
                         f"two-digit years are unambiguous; got start_year={start_year}, "
                         f"end_date={end_date.isoformat()}")
    first = _dt.date(start_year, 1, 1).toordinal()
    last = end_date.toordinal()
    if last < first:
        raise ValueError(f"end_date {end_date.isoformat()} is before {start_year}-01-01")

    rng = np.random.default_rng(seed)
    ordinals = rng.integers(first, last + 1, size=n).tolist()
    formats = rng.integers(0, len(DATE_FORMATS), size=n).tolist()

    parts = [None] + [_FORMAT_PARTS[name] for name in DATE_FORMATS[1:]]
    out: list[tuple[str, str]] = []
    append = out.append
    fromordinal = _dt.date.fromordinal
    for ordinal, f in zip(ordinals, formats):
        day = fromordinal(ordinal)
        answer = f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
        if f == 0:
            question = f"{day.month}/{day.day}/{day.year % 100:02d}"
        else:
            style, case, weekday = parts[f]
            question = f"{_MONTH_NAMES[style, case][day.month - 1]} {day.day}, {day.year}"
            if weekday:
                question = f"{_WEEKDAY_NAMES[case][day.weekday()]}, {question}"
        append((question, answer))
    return out
