"""The helpers every diagnostic shares (tinygrad_attn.checks.report) and the lazy lesson imports."""
import re
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import layers as L
from tinygrad_attn.checks.report import (array_diff, element_index, format_number, format_table,
                                  named_variables, worst_element)


def test_format_table_pads_columns_and_rules_the_head():
    lines = format_table(["name", "value"], [["a", 1.5], ["longer", (2, 3)]], title="T")
    assert lines == ["T",
                     "name    value",
                     "------  ------",
                     "a       1.5",
                     "longer  (2, 3)"]
    assert format_table(["x"], [])[1:] == ["-"]
    with pytest.raises(ValueError, match="a row has 1 cells, the heading 2"):
        format_table(["a", "b"], [["only one"]])


def test_format_number_marks_undefined_ratios():
    assert format_number(float("nan")) == "n/a"
    assert format_number(1234.5) == "1.234e+03" and format_number(0.5, ".2f") == "0.50"


def test_named_variables_from_layer_dict_variable_and_list():
    lin = L.Linear(2, 3)
    assert [n for n, _ in named_variables(lin)] == ["W", "b"]
    v = ta.Variable(np.ones(2), name="w")
    assert named_variables({"k": v}) == [("k", v)]
    assert named_variables(v) == [("w", v)]
    u = ta.Variable(np.ones(2))
    w2 = ta.Variable(np.ones(2), name="w")
    assert [n for n, _ in named_variables([v, u, w2])] == ["w#0", "param 1", "w#2"]
    with pytest.raises(TypeError, match="gradflow: expected a Layer"):
        named_variables(3, "gradflow")
    with pytest.raises(TypeError, match="gradcheck: 'k' is a ndarray, not a Variable"):
        named_variables({"k": np.ones(2)}, "gradcheck")


def test_worst_element_and_its_index():
    score = np.array([[0.1, np.nan], [3.0, 0.2]])
    assert worst_element(score) == 1                    # NaN counts as the worst
    assert worst_element(np.array([0.1, 3.0])) == 1 and worst_element(np.array([])) == 0
    assert element_index(5, (2, 3)) == (1, 2) and element_index(0, ()) == ()
    assert all(type(i) is int for i in element_index(np.int64(4), (2, 3)))


def test_array_diff_finds_the_largest_difference():
    a = np.arange(6.0).reshape(2, 3)
    b = a.copy()
    b[1, 0] += 0.5
    b[0, 2] -= 0.25
    d = array_diff(a, ta.Variable(b))
    assert d.shape == (2, 3) and d.index == (1, 0)
    assert d.max_abs_diff == 0.5 and (d.a, d.b) == (3.0, 3.5)
    b[0, 1] = np.nan
    assert array_diff(a, b).max_abs_diff == np.inf and array_diff(a, b).index == (0, 1)
    assert array_diff(np.zeros((0, 2)), np.zeros((0, 2))).max_abs_diff == 0.0
    with pytest.raises(ValueError, match=r"cmp: shapes differ: \(2, 3\) vs \(3, 2\)"):
        array_diff(a, a.T, "cmp")


def test_gradcheck_gradflow_and_lessons_print_the_same_table():
    """One table format for every diagnostic: the head, then a rule of dashes per column."""
    from tinygrad_attn.checks.gradflow import grad_flow_table
    from tinygrad_attn.checks.lessons.hand_derived import compare_lstm_step

    lin = L.Linear(2, 2)
    ta.functions.sum(lin(np.ones((1, 2), np.float32))).backward()
    reports = [ta.check_layer(lin, np.ones((1, 2))).report(), grad_flow_table(lin),
               compare_lstm_step(N=1, D=2, H=2).report()]
    for rep in reports:
        lines = rep.splitlines()
        k = next(i for i, ln in enumerate(lines) if ln and set(ln) <= {"-", " "})
        head, rule = lines[k - 1], lines[k]
        starts = [m.start() for m in re.finditer(r"-+", rule)]
        assert re.fullmatch(r"-+(  -+)+", rule), rule
        cells = [m.start() for m in re.finditer(r"\S+(?: \S+)*", head)]
        assert len(starts) >= 3 and set(cells) <= set(starts), (head, rule)


LESSON_MODULES = ("tinygrad_attn.checks.lessons", "tinygrad_attn.checks.lessons.hand_derived",
                  "tinygrad_attn.checks.lessons.skip_connections", "tinygrad_attn.checks.lessons.hand_derived")


def test_import_tinygrad_attn_does_not_import_the_lessons():
    code = ("import sys, tinygrad_attn, tinygrad_attn.checks.gradflow, tinygrad_attn.viz; "
            f"print(sorted(m for m in {LESSON_MODULES!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_lessons_load_on_first_use_and_the_old_names_are_gone():
    code = ("import sys, tinygrad_attn as ta; "
            "from tinygrad_attn.checks.lessons import hand_derived; "
            "assert ta.lessons.compare_lstm_step is hand_derived.compare_lstm_step; "
            "assert not hasattr(ta, 'teach'); "
            "import tinygrad_attn.checks.gradflow as gf; "
            "assert not hasattr(gf, 'compare_skip_connections'); "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

