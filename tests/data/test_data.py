"""Tests for tinygrad_attn.data (vocabulary, generators, text files, datasets)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_attn.data import (
    DATE_ALPHABET,
    DATE_FORMATS,
    Seq2seqData,
    Vocabulary,
    decode_answers,
    encode_questions,
    format_date,
    load_dataset,
    load_text,
    make_addition,
    make_dates,
    parse_two_digit_year,
    save_text,
)

END = dt.date(2023, 6, 30)  # fixed end date so results do not depend on today

# ---------------------------------------------------------------- independent helpers
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
# Zeller's congruence numbering: 0 = saturday
ZELLER_DAYS = ["saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday"]

NUMERIC_RE = re.compile(r"^([1-9]\d?)/([1-9]\d?)/(\d\d)$")
WORDY_RE = re.compile(r"^(?:([A-Za-z]+), )?([A-Za-z]+) ([1-9]\d?), (\d{4})$")


def zeller_weekday(year: int, month: int, day: int) -> str:
    """Weekday name computed without datetime."""
    if month < 3:
        month += 12
        year -= 1
    k, j = year % 100, year // 100
    h = (day + (13 * (month + 1)) // 5 + k + k // 4 + j // 4 + 5 * j) % 7
    return ZELLER_DAYS[h]


def case_of(word: str) -> str:
    if word == word.lower():
        return "lower"
    if word == word.upper():
        return "upper"
    assert word == word[0].upper() + word[1:].lower(), word
    return "title"


def parse_question(q: str) -> tuple[tuple[int, int, int], str, str | None]:
    """Return ((y, m, d), format_name, weekday_or_None) parsed independently."""
    m = NUMERIC_RE.match(q)
    if m:
        mo, d, yy = int(m[1]), int(m[2]), int(m[3])
        year = 1900 + yy if yy >= 70 else 2000 + yy
        return (year, mo, d), "numeric", None
    m = WORDY_RE.match(q)
    assert m, f"unrecognised question {q!r}"
    weekday, month, day, year = m[1], m[2], int(m[3]), int(m[4])
    cases = {case_of(month)} | ({case_of(weekday)} if weekday else set())
    assert len(cases) == 1, f"mixed case in {q!r}"
    low = month.lower()
    if low in MONTHS:
        style, mo = "full", MONTHS.index(low) + 1
    else:
        prefixes = [m_ for m_ in MONTHS if m_[:3] == low]
        assert len(low) == 3 and prefixes, f"bad month {month!r} in {q!r}"
        style, mo = "abbr", MONTHS.index(prefixes[0]) + 1
    name = f"{'weekday_' if weekday else ''}{style}_{cases.pop()}"
    return (year, mo, day), name, weekday.lower() if weekday else None


@pytest.fixture(scope="module")
def dates2000():
    return make_dates(2000, seed=3, end_date=END, formats="book")


# ---------------------------------------------------------------- dates
def test_date_answers_and_weekdays_are_correct(dates2000):
    for q, a in dates2000:
        (y, mo, d), _, weekday = parse_question(q)
        assert a == f"{y:04d}-{mo:02d}-{d:02d}", (q, a)
        dt.date(y, mo, d)  # a real date
        if weekday is not None:
            assert weekday == zeller_weekday(y, mo, d), q


def test_known_weekdays():
    assert format_date(dt.date(1981, 7, 18), "weekday_full_lower") == "saturday, july 18, 1981"
    assert format_date(dt.date(1984, 9, 25), "weekday_full_upper") == "TUESDAY, SEPTEMBER 25, 1984"
    assert format_date(dt.date(1994, 9, 27), "full_title") == "September 27, 1994"
    assert format_date(dt.date(1979, 9, 10), "abbr_lower") == "sep 10, 1979"
    assert format_date(dt.date(1993, 2, 10), "numeric") == "2/10/93"
    with pytest.raises(ValueError, match="unknown date format"):
        format_date(dt.date(1993, 2, 10), "roman")


def test_all_formats_and_cases_appear(dates2000):
    counts = Counter(parse_question(q)[1] for q, _ in dates2000)
    assert set(counts) == set(DATE_FORMATS)
    assert len(DATE_FORMATS) == 13
    # roughly uniform: each of the 13 formats expected ~154 times
    assert min(counts.values()) > 80, counts


def test_numeric_dates_are_unpadded_two_digit_years(dates2000):
    numeric = [q for q, _ in dates2000 if "/" in q]
    assert numeric
    assert all(NUMERIC_RE.match(q) for q in numeric)


def test_two_digit_year_rule():
    assert parse_two_digit_year(5) == 2005
    assert parse_two_digit_year("05") == 2005
    assert parse_two_digit_year(99) == 1999
    assert parse_two_digit_year(70) == 1970
    assert parse_two_digit_year(69) == 2069
    assert parse_two_digit_year(0) == 2000
    for bad in (100, -1, "123", "ab", ""):
        with pytest.raises(ValueError):
            parse_two_digit_year(bad)
    assert format_date(dt.date(2005, 1, 2), "numeric") == "1/2/05"
    assert format_date(dt.date(1999, 12, 31), "numeric") == "12/31/99"


def test_generator_uses_two_digit_rule_around_2000():
    pairs = make_dates(400, seed=1, start_year=2005, end_date=dt.date(2005, 1, 2), formats="book")
    numeric = dict(p for p in pairs if "/" in p[0])
    assert numeric == {"1/1/05": "2005-01-01", "1/2/05": "2005-01-02"}
    pairs = make_dates(3000, seed=2, start_year=1999, end_date=dt.date(2000, 1, 1), formats="book")
    for q, a in pairs:
        if "/" in q:
            (y, mo, d), _, _ = parse_question(q)
            assert a == f"{y:04d}-{mo:02d}-{d:02d}"
            assert y in (1999, 2000)


def test_date_range_respected(dates2000):
    iso = sorted(a for _, a in dates2000)
    assert iso[0] >= "1970-01-01" and iso[-1] <= END.isoformat()
    assert iso[0] < "1972-01-01" and iso[-1] > "2021-01-01"  # spans the whole range
    with pytest.raises(ValueError):
        make_dates(10, start_year=1960, end_date=END, formats="book")
    with pytest.raises(ValueError):
        make_dates(10, start_year=1990, end_date=dt.date(1980, 1, 1), formats="book")


def test_default_end_date_is_fixed_not_today(monkeypatch):
    from tinygrad_attn.data import dates as dates_mod

    end = dates_mod.DEFAULT_END_DATE
    before = make_dates(20000, seed=0, formats="book")
    latest = max(a for _, a in before)
    assert latest <= end.isoformat()
    assert latest > (end - dt.timedelta(days=60)).isoformat()
    assert before == make_dates(20000, seed=0, end_date=end, formats="book")

    class LaterToday(dt.date):  # the calendar moves on: the default data must not
        @classmethod
        def today(cls):
            return cls(2031, 3, 4)

    fake_dt = type("FakeDatetime", (), {"date": LaterToday, "datetime": dt.datetime})
    monkeypatch.setattr(dates_mod, "_dt", fake_dt)
    assert make_dates(20000, seed=0, formats="book") == before


def test_dates_deterministic_by_seed():
    a = make_dates(500, seed=7, end_date=END, formats="book")
    assert a == make_dates(500, seed=7, end_date=END, formats="book")
    assert a != make_dates(500, seed=8, end_date=END, formats="book")


def test_date_lengths():
    pairs = make_dates(50000, seed=0, end_date=END, formats="book")
    assert max(len(q) for q, _ in pairs) == 29
    assert {len(a) for _, a in pairs} == {10}
    assert set("".join(q + a for q, a in pairs)) <= set(DATE_ALPHABET)


# ---------------------------------------------------------------- addition
def test_addition_correct_and_in_range():
    pairs = make_addition(3000, seed=5, max_digits=3)
    ops = []
    for q, a in pairs:
        left, right = q.split("+")
        assert int(left) + int(right) == int(a)
        assert str(int(left)) == left and str(int(a)) == a  # no zero padding
        ops += [int(left), int(right)]
    assert min(ops) >= 0 and max(ops) <= 999
    assert max(ops) > 900 and min(ops) < 100
    assert make_addition(50, seed=5) == make_addition(50, seed=5)
    assert make_addition(50, seed=5) != make_addition(50, seed=6)
    assert {q for q, _ in make_addition(2000, seed=0, max_digits=1)} >= {"0+0", "9+9"}
    with pytest.raises(ValueError):
        make_addition(5, max_digits=0)


# ---------------------------------------------------------------- text files
def test_text_round_trip(tmp_path):
    pairs = [("16+75", "91"), ("999+999", "1998"), ("1+1", "2")]
    path = tmp_path / "addition.txt"
    save_text(path, pairs)
    assert path.read_text().splitlines()[0] == "16+75  _91  "
    loaded = load_text(path)
    assert loaded == [(q.ljust(7), a.ljust(4)) for q, a in pairs]
    assert [(q.rstrip(), a.rstrip()) for q, a in loaded] == pairs
    assert os.listdir(tmp_path) == ["addition.txt"]  # no temp file left behind
    # overwriting works and keeps padding on load as-is
    save_text(str(path), [("a", "b")])
    assert load_text(str(path)) == [("a", "b")]


def test_load_splits_on_first_underscore(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("abc _xy \r\nq_z\n\n")
    assert load_text(path) == [("abc ", "xy "), ("q", "z")]
    path.write_text("abc _xy\r\nq_ \n\n")  # an answer of padding only is an empty answer
    with pytest.raises(ValueError, match="x.txt:2: the answer is empty"):
        load_text(path)
    # the start symbol inside an answer, or an answer that begins with padding, could
    # never be decoded back: refused with the line number
    path.write_text("abc _xy\r\nq_x_y\n")
    with pytest.raises(ValueError, match="x.txt:2: the answer 'x_y' contains '_'"):
        load_text(path)
    path.write_text("abc _xy\nq_ z\n")
    with pytest.raises(ValueError, match="x.txt:2: the answer ' z' begins with ' '"):
        load_text(path)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_text(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1+1_2\n2+2_4\n3+3 6\n")
    with pytest.raises(ValueError, match=r"bad\.txt:3") as info:
        load_text(bad)
    assert "3+3 6" in str(info.value)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_text(empty)
    with pytest.raises(ValueError):
        save_text(tmp_path / "y.txt", [("a_b", "c")])
    with pytest.raises(ValueError):
        save_text(tmp_path / "y.txt", [])


# ---------------------------------------------------------------- vocabulary
def test_vocab_ids_deterministic():
    v = Vocabulary.from_texts(["cab", "b1"])
    assert v.chars == (" ", "_", "1", "a", "b", "c")
    assert v.pad_id == 0 and v.start_id == 1 and len(v) == 6
    assert "a" in v and "z" not in v and 3 not in v
    assert v == Vocabulary.from_texts(["1bca"])
    assert v != Vocabulary.from_texts(["1bcad"])
    assert Vocabulary.from_texts(["ab"], specials=("_", " ")).start_id == 0
    assert v.encode("cab").tolist() == [5, 3, 4]
    assert v.encode("cab").dtype == np.int32


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.text(min_size=0, max_size=20), min_size=1, max_size=8))
def test_vocab_round_trip(texts):
    v = Vocabulary.from_texts(texts)
    for t in texts:
        ids = v.encode(t)
        assert ids.dtype == np.int32 and ids.shape == (len(t),)
        assert v.decode(ids) == t
        assert v.decode(ids.tolist()) == t
    batch = v.encode_batch(texts)
    width = max(len(t) for t in texts)
    assert batch.shape == (len(texts), width) and batch.dtype == np.int32
    assert v.decode_batch(batch) == [t.ljust(width) for t in texts]
    assert Vocabulary.from_dict(json.loads(json.dumps(v.to_dict()))) == v


def test_vocab_errors():
    v = Vocabulary.from_texts(["abc"])
    with pytest.raises(ValueError) as info:
        v.encode("abxyx")
    msg = str(info.value)
    assert "'x'" in msg and "'y'" in msg and "'abxyx'" in msg
    with pytest.raises(ValueError, match="'q'"):
        v.encode_batch(["ab", "aqb"])
    with pytest.raises(ValueError, match=r"'abcabc'.*6.*width 4"):
        v.encode_batch(["ab", "abcabc"], width=4)
    with pytest.raises(ValueError, match=r"\b9\b.*\b17\b"):
        v.decode([0, 9, 2, 17])
    with pytest.raises(ValueError):
        v.decode([-1])
    assert v.encode_batch(["ab"], width=4).tolist() == [[2, 3, 0, 0]]


# ---------------------------------------------------------------- datasets
def test_date_dataset_shapes_and_contents():
    data = load_dataset("date-book", samples=1000, seed=4)
    assert isinstance(data, Seq2seqData)
    assert data.x_train.shape == (900, 29) and data.x_val.shape == (100, 29)
    assert data.t_train.shape == (900, 11) and data.t_val.shape == (100, 11)
    for arr in (data.x_train, data.t_train, data.x_val, data.t_val):
        assert arr.dtype == np.int32
    assert (data.t_train[:, 0] == data.vocab.start_id).all()
    assert data.in_width == 29 and data.out_width == 10 and not data.reversed_input
    questions = [q.rstrip() for q in data.vocab.decode_batch(np.concatenate([data.x_train,
                                                                            data.x_val]))]
    answers = decode_answers(np.concatenate([data.t_train, data.t_val]), data.vocab)
    expected = make_dates(1000, seed=4, formats="book")
    assert sorted(zip(questions, answers)) == sorted(expected)
    # the split is shuffled, not the first 900 in generation order
    assert [q for q, _ in expected[:900]] != questions[:900]


def test_reverse_input_reverses():
    plain = load_dataset("addition", samples=300, seed=1)
    rev = load_dataset("addition", samples=300, seed=1, reverse_input=True)
    assert rev.reversed_input
    np.testing.assert_array_equal(rev.x_train, plain.x_train[:, ::-1])
    np.testing.assert_array_equal(rev.x_val, plain.x_val[:, ::-1])
    np.testing.assert_array_equal(rev.t_train, plain.t_train)
    assert rev.x_train.flags.c_contiguous
    assert plain.x_train.shape[1] == 7 and plain.t_train.shape[1] == 5
    q = plain.vocab.decode(plain.x_train[0])
    assert rev.vocab.decode(rev.x_train[0]) == q[::-1] != q


def test_split_sizes():
    assert load_dataset("addition", samples=1000, val_fraction=0.25).val_size == 250
    data = load_dataset("addition", samples=1000, val_fraction=0.0)
    assert data.train_size == 1000 and data.x_val.shape == (0, 7)
    with pytest.raises(ValueError):
        load_dataset("addition", samples=10, val_fraction=1.0)
    with pytest.raises(FileNotFoundError):
        load_dataset("no_such_source.txt")


def test_dataset_from_text_file_and_given_vocab(tmp_path):
    path = tmp_path / "add.txt"
    save_text(path, make_addition(50, seed=9))
    data = load_dataset(path, val_fraction=0.2, seed=0)
    assert data.train_size == 40 and data.val_size == 10
    assert data.in_width == 7 and data.t_train.shape[1] == 5
    small = Vocabulary.from_texts(["0123456789"])
    with pytest.raises(ValueError, match="'\\+'"):
        load_dataset(path, vocab=small)


def test_encode_questions_and_decode_answers():
    vocab = load_dataset("date", samples=200, seed=0).vocab
    x = encode_questions(["sep 10, 1979", "2/10/93"], vocab, 29)
    assert x.shape == (2, 29) and x.dtype == np.int32
    assert vocab.decode(x[1]) == "2/10/93".ljust(29)
    xr = encode_questions("sep 10, 1979", vocab, 29, reverse=True)
    np.testing.assert_array_equal(xr[0], x[0, ::-1])
    with pytest.raises(ValueError, match="is 35 characters; this model reads at most 29"):
        encode_questions("x" * 35, vocab, 29)
    with pytest.raises(ValueError, match="'#'"):
        encode_questions("sep #10, 1979", vocab, 29)
    t = vocab.encode_batch(["_1979-09-10", "_12  "], width=11)
    assert decode_answers(t, vocab) == ["1979-09-10", "12"]
