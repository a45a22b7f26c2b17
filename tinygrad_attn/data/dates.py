"""Synthetic date-format translation data: dates as people write them -> ISO dates.

:func:`make_dates` writes each date in one of two sets of formats:

* ``formats="book"``: the 13 US formats of :data:`DATE_FORMATS`, spelled as in the book's
  ``date.txt`` — the chapter's data (the book's file itself holds 10 of them: a weekday is
  only ever followed by the full month name there);
* ``formats="typed"`` (the default): those 13 plus the families in
  :data:`TYPED_DATE_FORMATS` (ISO 8601, day-first and year-first, ordinals, leading zeros,
  missing commas, mixed case, extra spaces, Korean), each varied at random.

Numeric dates whose first two numbers could both be the month are read the US way
(month first), as in the book: ``05/04/2021`` is 2021-05-04. Day-first numbers are only
written when the day cannot be a month (``27/09/1994``).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as _dt
import random as _random
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DATE_FORMATS",
    "TYPED_DATE_FORMATS",
    "ALL_DATE_FORMATS",
    "BOOK_SHARE",
    "DATE_ALPHABET",
    "TYPED_DATE_ALPHABET",
    "MAX_DATE_QUESTION_LEN",
    "MAX_TYPED_DATE_QUESTION_LEN",
    "DATE_ANSWER_LEN",
    "DEFAULT_END_DATE",
    "TYPED_DATE_RANGE",
    "check_date_answer",
    "format_date",
    "make_dates",
    "parse_two_digit_year",
]

_MONTHS = ("january", "february", "march", "april", "may", "june", "july",
           "august", "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday",
             "saturday", "sunday")  # index = date.weekday()
_CASES = ("lower", "title", "upper")


def _cased_words(words: tuple[str, ...], case: str) -> tuple[str, ...]:
    """Return ``words`` in ``"lower"``, ``"title"`` or ``"upper"`` case."""
    return tuple(w.title() if case == "title" else w.upper() if case == "upper" else w
                 for w in words)


_MONTH_NAMES = {("full", c): _cased_words(_MONTHS, c) for c in _CASES}
_MONTH_NAMES.update({("abbr", c): _cased_words(tuple(m[:3] for m in _MONTHS), c) for c in _CASES})
_WEEKDAY_NAMES = {c: _cased_words(_WEEKDAYS, c) for c in _CASES}

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


# ---------------------------------------------------------------- dates as people type them
TYPED_DATE_FORMATS: tuple[str, ...] = (
    "iso", "iso_basic", "ymd_numeric", "mdy_numeric", "dmy_numeric",
    "mdy_names", "dmy_names", "ymd_names", "weekday_mdy_names", "weekday_dmy_names",
    "korean", "korean_weekday")
"""The families of date spellings beyond the book's, each varied at random by
:func:`make_dates` (separators, zero padding, abbreviations, ordinals, commas, case, spaces).
One example each (of 1994-09-27, a Tuesday; :func:`format_date` without ``rng``):

* ``iso``: ``1994-09-27`` (ISO 8601, always this spelling)
* ``iso_basic``: ``19940927`` (ISO 8601 basic format)
* ``ymd_numeric``: ``1994/09/27``; also ``1994.9.27``, ``1994 9 27``, ``1994. 9. 27.``
* ``mdy_numeric``: ``09/27/1994``; also ``9-27-94``, ``09.27.1994`` (the US order)
* ``dmy_numeric``: ``27/09/1994``; also ``27.9.94`` (only days 13-31, which cannot be months;
  two-digit years only above 31, which cannot be days)
* ``mdy_names``: ``September 27th, 1994``; also ``Sept. 27 1994``, ``SEP 27, '94``, ``Sep-27-1994``
* ``dmy_names``: ``27 September 1994``; also ``27-Sep-94``, ``the 27th of September, 1994``
* ``ymd_names``: ``1994 September 27``; also ``1994-Sep-27``
* ``weekday_mdy_names``: ``Tuesday, September 27th, 1994``; also ``tue sep 27 1994``
* ``weekday_dmy_names``: ``Tue, 27 Sep 1994``; also ``Tuesday the 27th of September 1994``
* ``korean``: ``1994년 9월 27일``; also ``1994년09월27일``, ``94년 9월 27일``
* ``korean_weekday``: ``1994년 9월 27일 화요일``; also ``1994년 9월 27일 (화)``, ``1994. 9. 27.(화)``
"""

ALL_DATE_FORMATS: tuple[str, ...] = DATE_FORMATS + TYPED_DATE_FORMATS
"""Every format name :func:`make_dates` and :func:`format_date` accept: the book's 13, then
the :data:`TYPED_DATE_FORMATS`."""

BOOK_SHARE = 0.25
"""Share of questions in the book's exact formats in the default (``"typed"``) mix; the rest
is spread evenly over :data:`TYPED_DATE_FORMATS`."""

MAX_TYPED_DATE_QUESTION_LEN = 40
"""Longest question of the ``"typed"`` generator (e.g. ``"Wednesday, the 27th of September,
1994"`` is 38 characters; longer variations lose their extra spaces)."""

TYPED_DATE_RANGE = (_dt.date(1900, 1, 1), _dt.date(2099, 12, 31))
"""Default first and last date of the ``"typed"`` generator (two-digit years are only written
for 1970..2069, see :func:`parse_two_digit_year`)."""

_KO_WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")  # index = date.weekday()
_ORDINAL_LETTERS = "stndrdth"
_LONG_MONTH_ABBR = {9: "sept"}
_LONG_WEEKDAY_ABBR = {1: ("tues",), 3: ("thur", "thurs")}

TYPED_DATE_ALPHABET: str = "".join(sorted(
    set(DATE_ALPHABET) | set(DATE_ALPHABET.upper()) | set(DATE_ALPHABET.lower())
    | set(_ORDINAL_LETTERS + _ORDINAL_LETTERS.upper()) | set("oftheOFTHE")
    | set("0123456789/,-. '()") | set("년월일요") | set("".join(_KO_WEEKDAYS))))
"""Every character the ``"typed"`` generator can write (the model's input alphabet)."""


def _pick(r, options):
    """One of ``options``: the first without a random source, else uniform."""
    return options[0] if r is None else options[int(r.random() * len(options))]


def _wpick(r, options, weights):
    """One of ``options`` with the given weights (the first one without a random source)."""
    if r is None:
        return options[0]
    u = r.random() * sum(weights)
    for option, w in zip(options, weights):
        u -= w
        if u < 0:
            return option
    return options[-1]


def _chance(r, p):
    """True with probability ``p`` (never without a random source)."""
    return r is not None and r.random() < p


def _ordinal(d: int) -> str:
    """``1 -> "1st"``, ``22 -> "22nd"``, ``13 -> "13th"``."""
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


def _two_digits_ok(year: int) -> bool:
    return _FIRST_YEAR <= year <= _LAST_YEAR


def _month_word(m: int, r, canonical: str = "full") -> str:
    """The month as a lower-case word: full, 3-letter, 3-letter with a dot, or ``sept``."""
    full = _MONTHS[m - 1]
    if r is None:
        return full if canonical == "full" else full[:3]
    form = _wpick(r, ("full", "abbr", "abbr.", "long"), (0.45, 0.35, 0.12, 0.08))
    if form == "full":
        return full
    if form == "long" and m in _LONG_MONTH_ABBR:
        return _LONG_MONTH_ABBR[m] + _pick(r, ("", "."))
    return full[:3] + ("." if form == "abbr." else "")


def _weekday_word(wd: int, r, canonical: str = "full") -> str:
    """The weekday as a lower-case word: full, 3-letter (maybe with a dot), ``tues``/``thurs``."""
    full = _WEEKDAYS[wd]
    if r is None:
        return full if canonical == "full" else full[:3]
    form = _wpick(r, ("full", "abbr", "abbr.", "long"), (0.55, 0.3, 0.05, 0.1))
    if form == "full":
        return full
    if form == "long" and wd in _LONG_WEEKDAY_ABBR:
        return _pick(r, _LONG_WEEKDAY_ABBR[wd])
    return full[:3] + ("." if form == "abbr." else "")


def _day_text(d: int, r, canonical: str = "plain") -> str:
    """The day of the month: ``4``, ``04`` or ``4th``."""
    form = canonical if r is None else _wpick(r, ("plain", "padded", "ordinal"), (0.55, 0.2, 0.25))
    return {"plain": str(d), "padded": f"{d:02d}", "ordinal": _ordinal(d)}[form]


def _year_text(y: int, r, p_short: float, apostrophe: bool) -> str:
    """Four digits, or (with probability ``p_short`` where allowed) two, as ``'94`` or ``94``."""
    if _two_digits_ok(y) and _chance(r, p_short):
        return ("'" if apostrophe else "") + f"{y % 100:02d}"
    return f"{y:04d}"


def _cased(text: str, r, canonical: str = "title") -> str:
    """``text`` (lower case) in lower, title, upper or random mixed case."""
    case = canonical if r is None else _wpick(r, ("lower", "title", "upper", "mixed"),
                                                (0.35, 0.35, 0.2, 0.1))
    if case == "lower":
        return text
    if case == "upper":
        return text.upper()
    if case == "mixed":
        return "".join(c.upper() if c.isalpha() and r.random() < 0.5 else c for c in text)
    words = text.split(" ")
    out = []
    for i, w in enumerate(words):  # words starting with a digit (4th) keep their suffix as is
        small = w in ("of", "the") and i > 0
        out.append(w if small or not w[:1].isalpha() else w[:1].upper() + w[1:])
    return " ".join(out)


def _spaced(text: str, r) -> str:
    """Sometimes an extra space somewhere, or one in front (what hurried typing does)."""
    if _chance(r, 0.12):
        spaces = [i for i, c in enumerate(text) if c == " "]
        if spaces:
            i = _pick(r, spaces)
            text = text[:i] + " " * (1 + int(r.random() * 2)) + text[i:]
    if _chance(r, 0.04):
        text = " " + text
    return text


def _numeric_parts(a: int, b: int, r, canonical_pad: bool) -> tuple[str, str]:
    """Two numbers, both zero-padded, both not, or one of each."""
    if r is None:
        pad = (canonical_pad, canonical_pad)
    else:
        mode = _wpick(r, ("both", "none", "mixed"), (0.45, 0.45, 0.1))
        pad = (True, True) if mode == "both" else (False, False) if mode == "none" else \
            _pick(r, ((True, False), (False, True)))
    return (f"{a:02d}" if pad[0] else str(a)), (f"{b:02d}" if pad[1] else str(b))


def _numeric_sep(r, options=("/", "-", ".")) -> str:
    sep = _pick(r, options)
    if _chance(r, 0.05):
        sep = f" {sep} "
    return sep


def _comma(r, p_comma: float) -> str:
    """The text between the day and a following year: ``", "``, ``" "`` or a rare variant."""
    if r is None:
        return ", "
    if not _chance(r, p_comma):
        return " "
    return _wpick(r, (", ", ",", " , "), (0.9, 0.06, 0.04))


def _mdy_names(day: _dt.date, r) -> str:
    if _chance(r, 0.1):  # May-04-2021, may/4/21
        sep = _pick(r, ("-", "/"))
        day_text = str(day.day) if r.random() < 0.5 else f"{day.day:02d}"
        year = _year_text(day.year, r, 0.3, apostrophe=False)
        return f"{_MONTHS[day.month - 1][:3]}{sep}{day_text}{sep}{year}"
    month = _month_word(day.month, r)
    d = _day_text(day.day, r, canonical="ordinal")
    year = _year_text(day.year, r, 0.12, apostrophe=True)
    return f"{month} {d}{_comma(r, 0.6)}{year}"


def _dmy_names(day: _dt.date, r, after_weekday: bool = False, canonical: str = "full") -> str:
    style = "space" if r is None else _wpick(
        r, ("space", "space_comma", "dash", "of", "slash"), (0.45, 0.1, 0.17, 0.2, 0.08))
    if style in ("space", "space_comma"):
        month = _month_word(day.month, r, canonical=canonical)
        year = _year_text(day.year, r, 0.08, apostrophe=True)
        sep = ", " if style == "space_comma" else " "
        return f"{_day_text(day.day, r)} {month}{sep}{year}"
    if style in ("dash", "slash"):
        sep = "-" if style == "dash" else "/"
        month = _MONTHS[day.month - 1][:3]
        year = _year_text(day.year, r, 0.4, apostrophe=False)
        day_text = str(day.day) if r is None or r.random() < 0.5 else f"{day.day:02d}"
        return f"{day_text}{sep}{month}{sep}{year}"
    the = "the " if (after_weekday or _chance(r, 0.5)) and _chance(r, 0.8) else ""
    year = _year_text(day.year, r, 0.05, apostrophe=True)
    return f"{the}{_ordinal(day.day)} of {_month_word(day.month, r)}{_comma(r, 0.5)}{year}"


def _ymd_names(day: _dt.date, r) -> str:
    style = _wpick(r, ("space", "dash", "comma", "slash"), (0.5, 0.3, 0.1, 0.1))
    if style == "dash" or style == "slash":
        sep = "-" if style == "dash" else "/"
        day_text = str(day.day) if r is None or r.random() < 0.5 else f"{day.day:02d}"
        return f"{day.year}{sep}{_MONTHS[day.month - 1][:3]}{sep}{day_text}"
    sep = ", " if style == "comma" else " "
    return f"{day.year}{sep}{_month_word(day.month, r)} {_day_text(day.day, r)}"


def _weekday_prefix(day: _dt.date, r, canonical: str) -> str:
    word = _weekday_word(day.weekday(), r, canonical=canonical)
    sep = ", " if r is None else _wpick(r, (", ", " ", ","), (0.7, 0.25, 0.05))
    return word + sep


def _korean(day: _dt.date, r) -> str:
    sp = " " if r is None or r.random() < 0.75 else ""
    m, d = (str(day.month), str(day.day)) if not _chance(r, 0.2) else (
        f"{day.month:02d}", f"{day.day:02d}")
    year = _year_text(day.year, r, 0.1, apostrophe=False)
    return f"{year}년{sp}{m}월{sp}{d}일"


def _korean_weekday(day: _dt.date, r) -> str:
    wd = _KO_WEEKDAYS[day.weekday()]
    if _chance(r, 0.3):  # the numeric form with a weekday, as printed on Korean receipts
        m, d = _numeric_parts(day.month, day.day, r, canonical_pad=False)
        if r.random() < 0.5:
            body = f"{day.year}. {m}. {d}."
        else:
            body = f"{day.year}.{m}.{d}"
        return body + _pick(r, (f"({wd})", f" ({wd})"))
    suffix = _wpick(r, (f" {wd}요일", f" ({wd})", f"({wd})", f"({wd}요일)", f" {wd}요일,"),
                    (0.4, 0.25, 0.2, 0.1, 0.05))
    if suffix.endswith(","):  # "화요일, 2021년 ..." (weekday first) also occurs
        return f"{wd}요일, {_korean(day, r)}"
    return _korean(day, r) + suffix


def _typed(day: _dt.date, fmt: str, r) -> str:
    """Spell ``day`` in the typed format family ``fmt`` (canonical spelling when ``r`` is None)."""
    y, m, d = day.year, day.month, day.day
    if fmt == "iso":
        return f"{y:04d}-{m:02d}-{d:02d}"
    if fmt == "iso_basic":
        return f"{y:04d}{m:02d}{d:02d}"
    if fmt == "ymd_numeric":
        mm, dd = _numeric_parts(m, d, r, canonical_pad=True)
        sep = _numeric_sep(r, ("/", ".", "-", " ", ". "))
        end = "." if sep == ". " and not _chance(r, 0.3) or sep == "." and _chance(r, 0.2) else ""
        return f"{y:04d}{sep}{mm}{sep}{dd}{end}"
    if fmt in ("mdy_numeric", "dmy_numeric"):
        if fmt == "dmy_numeric" and d <= 12:
            raise ValueError(f"{day.isoformat()} cannot be written day-first with numbers: "
                             f"day {d} could be a month (dmy_numeric needs days 13-31)")
        first, second = (m, d) if fmt == "mdy_numeric" else (d, m)
        a, b = _numeric_parts(first, second, r, canonical_pad=True)
        # day-first with a two-digit year only when it cannot be read year-first (27.9.94)
        short_ok = fmt == "mdy_numeric" or y % 100 > 31
        year = _year_text(y, r, 0.5 if short_ok else 0.0, apostrophe=False)
        sep = _numeric_sep(r)
        return f"{a}{sep}{b}{sep}{year}"
    if fmt == "mdy_names":
        text = _mdy_names(day, r)
    elif fmt == "dmy_names":
        text = _dmy_names(day, r)
    elif fmt == "ymd_names":
        text = _ymd_names(day, r)
    elif fmt == "weekday_mdy_names":
        text = _weekday_prefix(day, r, "full") + _mdy_names(day, r)
    elif fmt == "weekday_dmy_names":
        prefix = _weekday_prefix(day, r, "abbr")
        body = _dmy_names(day, r, after_weekday=True, canonical="abbr")
        if body.startswith("the "):
            prefix = prefix.rstrip(", ") + " "
        text = prefix + body
    elif fmt == "korean":
        return _spaced(_korean(day, r), r)
    elif fmt == "korean_weekday":
        return _spaced(_korean_weekday(day, r), r)
    else:
        raise ValueError(f"unknown date format {fmt!r}; choose from {ALL_DATE_FORMATS}")
    return _spaced(_cased(text, r), r)


def _fit(text: str) -> str:
    """Drop extra spaces from a question longer than :data:`MAX_TYPED_DATE_QUESTION_LEN`."""
    if len(text) > MAX_TYPED_DATE_QUESTION_LEN:
        text = " ".join(text.split())
    return text


def format_date(day: _dt.date, fmt: str, rng=None) -> str:
    """Write a date in one of the :data:`ALL_DATE_FORMATS`.

    The book's formats (:data:`DATE_FORMATS`) have one spelling each. The typed families
    (:data:`TYPED_DATE_FORMATS`) have many: without ``rng`` the family's example spelling
    (the one in the docs), with ``rng`` a random variation, as :func:`make_dates` writes them.

    Args:
        day: The date; for ``"numeric"`` its year must be in 1970..2069 so the
            two-digit year reads back correctly.
        fmt: A name from :data:`ALL_DATE_FORMATS`.
        rng: None, or a random source with a ``random()`` method returning floats in
            [0, 1) (``random.Random(seed)`` or ``numpy.random.default_rng(seed)``).

    Returns:
        The human-written date, e.g. ``"2/10/93"``, ``"saturday, july 18, 1981"`` or
        ``"1994년 9월 27일"``.

    Raises:
        ValueError: If ``fmt`` is unknown, a numeric year is out of range, or
            ``"dmy_numeric"`` is asked for a day 1-12 (it could be read as the month).
    """
    if fmt in TYPED_DATE_FORMATS:
        return _fit(_typed(day, fmt, rng))
    if fmt == "numeric":
        if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            raise ValueError(f"year {day.year} cannot be written with two digits "
                             f"(only {_FIRST_YEAR}..{_LAST_YEAR})")
        return f"{day.month}/{day.day}/{day.year % 100:02d}"
    try:
        style, case, weekday = _FORMAT_PARTS[fmt]
    except KeyError:
        raise ValueError(f"unknown date format {fmt!r}; choose from {ALL_DATE_FORMATS}") from None
    text = f"{_MONTH_NAMES[style, case][day.month - 1]} {day.day}, {day.year}"
    if weekday:
        text = f"{_WEEKDAY_NAMES[case][day.weekday()]}, {text}"
    return text


def _date_range(start_year, end_date, default_start, default_end):
    """``start_year`` and ``end_date`` with their defaults filled in, type-checked."""
    if start_year is None:
        start_year = default_start
    if end_date is None:
        end_date = default_end
    if isinstance(end_date, _dt.datetime):
        end_date = end_date.date()
    if not (hasattr(end_date, "toordinal") and hasattr(end_date, "year")):
        raise TypeError(f"end_date must be a datetime.date, got {type(end_date).__name__}")
    if isinstance(start_year, bool) or not isinstance(start_year, (int, np.integer)):
        raise TypeError(f"start_year must be an int, got {type(start_year).__name__}")
    return int(start_year), end_date


def make_dates(n: int = 50000, seed: int = 0, start_year: int | None = None,
               end_date: _dt.date | None = None,
               formats: str | Sequence[str] = "typed") -> list[tuple[str, str]]:
    """Generate (human date, ISO date) pairs.

    Dates are drawn uniformly from ``start_year``-01-01 to ``end_date`` (inclusive).
    Weekdays are the true weekday of the date. Two-digit years are read as 1970..2069
    (see :func:`parse_two_digit_year`).

    * ``formats="book"``: each question in one of the book's 13 :data:`DATE_FORMATS`, chosen
      uniformly; the range defaults to 1970-01-01..:data:`DEFAULT_END_DATE` and must lie in
      1970..2069 (the numeric format writes two-digit years). This is exactly the data of
      earlier versions (same seed, same list).
    * ``formats="typed"`` (default): a share :data:`BOOK_SHARE` of the questions in the
      book's formats, the rest spread evenly over the :data:`TYPED_DATE_FORMATS`, each
      varied at random; the range defaults to :data:`TYPED_DATE_RANGE` (1900..2099).
      Two-digit years are written only for 1970..2069 (elsewhere four digits, also in the
      book's numeric format).
    * a sequence of names from :data:`ALL_DATE_FORMATS`: uniformly over those (e.g.
      ``["iso"]`` for a held-out set of one format); the typed range.

    The default ranges are fixed, not tied to the calendar: equal arguments give equal
    lists on any day.

    Args:
        n: Number of pairs.
        seed: Seed for ``numpy.random.default_rng``; equal seeds (and equal other
            arguments) give equal lists.
        start_year: First year of the range.
        end_date: Last date of the range; pass ``datetime.date.today()`` for dates up
            to today.
        formats: ``"typed"``, ``"book"`` or a sequence of format names.

    Returns:
        n pairs ``(question, answer)``; questions have at most
        :data:`MAX_DATE_QUESTION_LEN` (book) or :data:`MAX_TYPED_DATE_QUESTION_LEN`
        characters, answers are ``YYYY-MM-DD`` (10 characters).

    Raises:
        ValueError: If ``n`` is negative, the date range is empty or out of bounds
            (book: 1970-01-01..2069-12-31; otherwise years 1000..9999), a format name is
            unknown, or only ``"dmy_numeric"`` is asked for a range without a day 13-31.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    book = isinstance(formats, str) and formats == "book"
    if book:
        start_year, end_date = _date_range(start_year, end_date, _FIRST_YEAR, DEFAULT_END_DATE)
        if start_year < _FIRST_YEAR or end_date.year > _LAST_YEAR:
            raise ValueError(f"dates must lie in {_FIRST_YEAR}-01-01..{_LAST_YEAR}-12-31 so that "
                             f"two-digit years are unambiguous; got start_year={start_year}, "
                             f"end_date={end_date.isoformat()}")
    else:
        if isinstance(formats, str):
            if formats != "typed":
                raise ValueError(f"formats must be 'typed', 'book' or a list of format names "
                                 f"from {ALL_DATE_FORMATS}; got {formats!r}")
            names = None
        else:
            names = list(formats)
            bad = [f for f in names if f not in ALL_DATE_FORMATS]
            if not names or bad:
                raise ValueError(f"unknown date format(s) {bad or names!r}; choose from "
                                 f"{ALL_DATE_FORMATS}")
        start_year, end_date = _date_range(start_year, end_date, TYPED_DATE_RANGE[0].year,
                                           TYPED_DATE_RANGE[1])
        if start_year < 1000 or end_date.year > 9999:
            raise ValueError(f"years must be written with four digits (1000..9999); got "
                             f"start_year={start_year}, end_date={end_date.isoformat()}")
    first = _dt.date(start_year, 1, 1).toordinal()
    last = end_date.toordinal()
    if last < first:
        raise ValueError(f"end_date {end_date.isoformat()} is before {start_year}-01-01")

    rng = np.random.default_rng(seed)
    ordinals = rng.integers(first, last + 1, size=n).tolist()
    if book:
        return _book_dates(ordinals, rng.integers(0, len(DATE_FORMATS), size=n).tolist())
    if names is None:
        in_book = (rng.random(n) < BOOK_SHARE).tolist()
        book_idx = rng.integers(0, len(DATE_FORMATS), size=n).tolist()
        typed_idx = rng.integers(0, len(TYPED_DATE_FORMATS), size=n).tolist()
        chosen = [DATE_FORMATS[b] if ib else TYPED_DATE_FORMATS[t]
                  for ib, b, t in zip(in_book, book_idx, typed_idx)]
    else:
        chosen = [names[i] for i in rng.integers(0, len(names), size=n).tolist()]
    r = _random.Random(int(rng.integers(0, 2**62)))
    out: list[tuple[str, str]] = []
    fromordinal = _dt.date.fromordinal
    for ordinal, fmt in zip(ordinals, chosen):
        day = fromordinal(ordinal)
        if fmt == "dmy_numeric" and day.day <= 12:
            day = _day_after_twelve(day, r, first, last)
            if day is None:
                if names is not None and set(names) == {"dmy_numeric"}:
                    raise ValueError(f"the range {_dt.date.fromordinal(first).isoformat()}.."
                                     f"{end_date.isoformat()} has no day 13-31 to write "
                                     f"day-first (dmy_numeric)")
                day, fmt = fromordinal(ordinal), "mdy_numeric"
        if fmt == "numeric" and not _two_digits_ok(day.year):
            question = f"{day.month}/{day.day}/{day.year:04d}"
        elif fmt in TYPED_DATE_FORMATS:
            question = _fit(_typed(day, fmt, r))
        else:
            question = format_date(day, fmt)
        out.append((question, f"{day.year:04d}-{day.month:02d}-{day.day:02d}"))
    return out


def _day_after_twelve(day: _dt.date, r, first: int, last: int) -> _dt.date | None:
    """A day 13..31 of ``day``'s month inside [first, last] (ordinals), or None."""
    dim = _calendar.monthrange(day.year, day.month)[1]
    options = [d for d in range(13, dim + 1) if first <= day.replace(day=d).toordinal() <= last]
    return day.replace(day=_pick(r, options)) if options else None


def _book_dates(ordinals: list[int], formats: list[int]) -> list[tuple[str, str]]:
    """The book's generator: ``ordinals[i]`` written in ``DATE_FORMATS[formats[i]]``."""
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


def check_date_answer(answer: str) -> str | None:
    """Why ``answer`` is not a real calendar date written ``YYYY-MM-DD``, or None if it is.

    Args:
        answer: A model's answer, e.g. ``"1999-02-30"``.

    Returns:
        None for a real date (years 0001..9999), else one line saying what is wrong, e.g.
        ``"no such day: February 1999 has 28 days"``.
    """
    if not isinstance(answer, str):
        return f"not text: {type(answer).__name__}"
    if not (len(answer) == 10 and answer[4] == "-" and answer[7] == "-"
            and all(answer[i].isascii() and answer[i].isdigit() for i in (0, 1, 2, 3, 5, 6, 8, 9))):
        return f"not in the form YYYY-MM-DD: {answer!r}"
    y, m, d = int(answer[:4]), int(answer[5:7]), int(answer[8:])
    if y == 0:
        return "no year 0000 (the calendar starts at 0001)"
    if not 1 <= m <= 12:
        return f"no month {m:02d} (months are 01-12)"
    dim = _calendar.monthrange(y, m)[1]
    if not 1 <= d <= dim:
        return f"no such day: {_MONTHS[m - 1].title()} {y} has {dim} days"
    return None
