"""The date generator for the formats people type (make_dates(formats="typed") and friends).

Every generated question is read back by an independent parser written here (its own
month table, weekday rule and ordering rules), so a wrong label or an ambiguous spelling
fails the test.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter

import pytest

from tinygrad_attn.data import (
    ALL_DATE_FORMATS,
    BOOK_SHARE,
    DATE_FORMATS,
    MAX_TYPED_DATE_QUESTION_LEN,
    TYPED_DATE_ALPHABET,
    TYPED_DATE_FORMATS,
    TYPED_DATE_RANGE,
    check_date_answer,
    format_date,
    load_dataset,
    make_dates,
)

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
KO_WEEKDAYS = "월화수목금토일"


def weekday_of(y, m, d):
    """Monday = 0, by Zeller's congruence (no datetime)."""
    if m < 3:
        m += 12
        y -= 1
    k, j = y % 100, y // 100
    h = (d + (13 * (m + 1)) // 5 + k + k // 4 + j // 4 + 5 * j) % 7  # 0 = saturday
    return (h + 5) % 7


def two_digit(yy):
    return 1900 + yy if yy >= 70 else 2000 + yy


def month_of(word):
    w = word.rstrip(".")
    hits = [i + 1 for i, name in enumerate(MONTHS) if name == w or (len(w) >= 3 and name.startswith(w))]
    assert len(hits) == 1 and (len(w) in (3, 4) or w == MONTHS[hits[0] - 1]), word
    return hits[0]


def weekday_index(word):
    w = word.rstrip(".,")
    hits = [i for i, name in enumerate(WEEKDAYS) if name == w or (len(w) >= 3 and name.startswith(w))]
    assert len(hits) == 1, word
    return hits[0]


def parse(q):
    """(year, month, day) of a typed question; asserts on anything it cannot read."""
    s = q.strip()
    weekday = None
    ko = re.fullmatch(r"(?:(.)요일, )?(\d{2}|\d{4})년 ?(\d{1,2})월 ?(\d{1,2})일"
                      r"(?: ?\((.)(?:요일)?\)| (.)요일)?", re.sub(r" +", " ", s))
    if ko:
        wd = ko[1] or ko[5] or ko[6]
        yt, m, d = ko[2], int(ko[3]), int(ko[4])
        y = two_digit(int(yt)) if len(yt) == 2 else int(yt)
        if wd:
            weekday = KO_WEEKDAYS.index(wd)
    elif (kn := re.fullmatch(r"(\d{4})\. ?(\d{1,2})\. ?(\d{1,2})\.? ?\((.)\)",
                             re.sub(r" +", " ", s))):
        y, m, d = int(kn[1]), int(kn[2]), int(kn[3])
        weekday = KO_WEEKDAYS.index(kn[4])
    else:
        low = s.lower()
        words = re.split(r"[ ,]+", low)
        if words and re.fullmatch(r"[a-z]+\.?", words[0]) and words[0].rstrip(".")[:3] in [
                w[:3] for w in WEEKDAYS]:
            weekday = weekday_index(words[0])
            low = low[len(words[0]):]
        low = re.sub(r"\bthe\b|\bof\b", " ", low)
        tokens = [t for t in re.split(r"[ ,/\-.]+", low) if t]
        names = [t for t in tokens if re.fullmatch(r"[a-z]+\.?", t)]
        nums = [t for t in tokens if t not in names]
        assert len(names) <= 1, q
        if names:
            m = month_of(names[0])
            assert len(nums) == 2, q
            if tokens.index(names[0]) > 0 and re.fullmatch(r"\d{4}", nums[0]):
                year_tok, day_tok = nums      # year first: 1994 sep 27
            else:
                day_tok, year_tok = nums      # month first (sep 27 1994) or day first (27 sep 1994)
            mo = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)?", day_tok)
            assert mo, q
            d = int(mo[1])
            if mo[2]:
                assert mo[2] == {1: "st", 2: "nd", 3: "rd"}.get(d % 10 if d not in (11, 12, 13)
                                                                 else 0, "th"), q
            yt = year_tok.lstrip("'")
            assert re.fullmatch(r"\d{2}|\d{4}", yt), q
            y = two_digit(int(yt)) if len(yt) == 2 else int(yt)
        else:
            assert all(re.fullmatch(r"\d+", t) for t in nums), q
            if len(nums) == 1:
                assert len(nums[0]) == 8, q
                y, m, d = int(nums[0][:4]), int(nums[0][4:6]), int(nums[0][6:])
            else:
                assert len(nums) == 3, q
                a, b, c = nums
                if len(a) == 4:
                    y, m, d = int(a), int(b), int(c)
                else:
                    assert len(c) in (2, 4), q
                    y = two_digit(int(c)) if len(c) == 2 else int(c)
                    if int(a) > 12:  # the only day-first case: the first number cannot be a month
                        d, m = int(a), int(b)
                        # a two-digit year after a day-first date must not read as yy-mm-dd
                        assert len(c) == 4 or int(c) > 31, q
                    else:
                        m, d = int(a), int(b)
    if weekday is not None:
        assert weekday == weekday_of(y, m, d), f"wrong weekday in {q!r}"
    return y, m, d


@pytest.fixture(scope="module")
def typed():
    return make_dates(6000, seed=11)


def test_every_answer_is_the_date_the_question_names(typed):
    for q, a in typed:
        y, m, d = parse(q)
        assert a == f"{y:04d}-{m:02d}-{d:02d}", (q, a)
        assert check_date_answer(a) is None


def test_each_family_read_back_and_varied():
    for fmt in TYPED_DATE_FORMATS:
        pairs = make_dates(400, seed=3, formats=[fmt])
        for q, a in pairs:
            y, m, d = parse(q)
            assert a == f"{y:04d}-{m:02d}-{d:02d}", (fmt, q, a)
        # the spellings vary: count shapes with digits masked
        shapes = {re.sub(r"\d", "9", q) for q, _ in pairs}
        minimum = 1 if fmt in ("iso", "iso_basic") else 8
        assert len(shapes) >= minimum, (fmt, sorted(shapes)[:5])


def test_mix_shares_alphabet_lengths_and_range(typed):
    questions = [q for q, _ in typed]
    assert set("".join(questions)) <= set(TYPED_DATE_ALPHABET)
    assert max(map(len, questions)) <= MAX_TYPED_DATE_QUESTION_LEN
    def book_spellings(a):
        day = dt.date.fromisoformat(a)
        return {format_date(day, f) for f in DATE_FORMATS
                if f != "numeric" or 1970 <= day.year <= 2069}

    n_book = sum(q in book_spellings(a) for q, a in typed)
    # the book's formats are BOOK_SHARE of the mix (plus the typed spellings that happen to
    # coincide with one of them)
    assert BOOK_SHARE * len(typed) * 0.9 < n_book < (BOOK_SHARE + 0.1) * len(typed)
    years = sorted(int(a[:4]) for _, a in typed)
    lo, hi = TYPED_DATE_RANGE
    assert lo.year <= years[0] < lo.year + 3 and hi.year - 3 < years[-1] <= hi.year
    assert any("년" in q for q in questions) and any("요일" in q for q in questions)
    assert any(q != q.lower() and q != q.upper() and q != q.title() for q in questions)


def test_reproducible_by_seed_and_independent_of_today(monkeypatch):
    a = make_dates(3000, seed=5)
    assert a == make_dates(3000, seed=5)
    assert a != make_dates(3000, seed=6)
    from tinygrad_attn.data import dates as dates_mod

    class LaterToday(dt.date):
        @classmethod
        def today(cls):
            return cls(2031, 3, 4)

    monkeypatch.setattr(dates_mod, "_dt", type("D", (), {"date": LaterToday,
                                                         "datetime": dt.datetime}))
    assert make_dates(3000, seed=5) == a


def test_ambiguous_numbers_follow_the_us_convention():
    # numeric dates: month first unless the first number cannot be a month
    for q, a in make_dates(600, seed=2, formats=["mdy_numeric"]):
        first = int(re.split(r"[ /.\-]+", q.strip())[0])
        assert first == int(a[5:7]), (q, a)
    for q, a in make_dates(600, seed=2, formats=["dmy_numeric"]):
        first = int(re.split(r"[ /.\-]+", q.strip())[0])
        assert first == int(a[8:]) > 12, (q, a)
    assert format_date(dt.date(2021, 5, 4), "mdy_numeric") == "05/04/2021"
    with pytest.raises(ValueError, match="could be a month"):
        format_date(dt.date(2021, 5, 4), "dmy_numeric")


def test_documented_examples():
    day = dt.date(1994, 9, 27)
    examples = {
        "iso": "1994-09-27", "iso_basic": "19940927", "ymd_numeric": "1994/09/27",
        "mdy_numeric": "09/27/1994", "dmy_numeric": "27/09/1994",
        "mdy_names": "September 27th, 1994", "dmy_names": "27 September 1994",
        "ymd_names": "1994 September 27", "weekday_mdy_names": "Tuesday, September 27th, 1994",
        "weekday_dmy_names": "Tue, 27 Sep 1994", "korean": "1994년 9월 27일",
        "korean_weekday": "1994년 9월 27일 화요일"}
    assert set(examples) == set(TYPED_DATE_FORMATS)
    for fmt, text in examples.items():
        assert format_date(day, fmt) == text
        assert parse(text) == (1994, 9, 27)
    r = random.Random(0)  # with a random source: variations of the same date
    variants = {format_date(day, "dmy_names", r) for _ in range(50)}
    assert len(variants) > 10 and all(parse(v) == (1994, 9, 27) for v in variants)


def test_book_formats_alone_unchanged_by_the_new_default():
    book = make_dates(500, seed=7, formats="book")
    assert all(len(q) <= 29 for q, _ in book)
    assert all(re.fullmatch(r"[A-Za-z0-9/, ]+", q) for q, _ in book)
    assert book != make_dates(500, seed=7)
    # a list of book format names writes the book's spellings too (4-digit years outside
    # 1970..2069 for the numeric one)
    for q, a in make_dates(300, seed=1, formats=list(DATE_FORMATS)):
        y, m, d = parse(q)
        assert a == f"{y:04d}-{m:02d}-{d:02d}"


def test_datasets_by_name():
    typed = load_dataset("date", samples=200, seed=0)
    book = load_dataset("date-book", samples=200, seed=0)
    assert (typed.in_width, typed.out_width, typed.source) == (MAX_TYPED_DATE_QUESTION_LEN, 10, "date")
    assert (book.in_width, book.out_width, book.source) == (29, 10, "date-book")
    assert typed.task.kind == book.task.kind == "date"
    assert set(TYPED_DATE_ALPHABET) <= set(typed.vocab.chars)
    assert "년" not in book.vocab.chars


def test_check_date_answer():
    assert check_date_answer("2021-05-04") is None
    assert check_date_answer("2000-02-29") is None
    assert "28 days" in check_date_answer("1999-02-30")
    assert "28 days" in check_date_answer("1900-02-29")
    assert "month 13" in check_date_answer("2021-13-01")
    assert "form YYYY-MM-DD" in check_date_answer("2021-5-4")
    assert "form YYYY-MM-DD" in check_date_answer("19a9-02-03")
    assert "year 0000" in check_date_answer("0000-01-01")
    assert "no such day" in check_date_answer("2021-04-00")


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown date format"):
        make_dates(5, formats=["iso", "nope"])
    with pytest.raises(ValueError, match="'typed', 'book'"):
        make_dates(5, formats="books")
    with pytest.raises(ValueError, match="no day 13-31"):
        make_dates(5, formats=["dmy_numeric"], start_year=2021, end_date=dt.date(2021, 1, 5))
    with pytest.raises(ValueError, match="four digits"):
        make_dates(5, start_year=999)
    with pytest.raises(ValueError, match="n must be"):
        make_dates(-1)
    with pytest.raises(ValueError, match="unknown date format"):
        format_date(dt.date(2021, 5, 4), "roman")
    assert len(ALL_DATE_FORMATS) == 13 + len(TYPED_DATE_FORMATS)
