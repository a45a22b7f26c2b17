"""The op-case table (tinygrad_attn.checks.opcases): its invariants, and every case checked in float64."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.checks.opcases import (OP_CASES, Draw, away, case, check_op_case, normal, op_case,
                                   op_case_ids, positive)

NUMERIC = [c for c in OP_CASES if c.numeric]


def test_ids_are_unique_and_every_op_has_a_case_of_its_own_name():
    ids = [c.id for c in OP_CASES]
    assert len(ids) == len(set(ids))
    assert set(F.__all__) <= set(ids), sorted(set(F.__all__) - set(ids))
    for c in OP_CASES:
        assert set(c.covers) <= set(F.__all__), (c.id, c.covers)
        assert c.describe()


def test_lookup_by_id_lists_the_valid_names():
    assert op_case("softmax").covers == ("softmax",)
    assert op_case_ids() == sorted(op_case_ids())
    with pytest.raises(KeyError, match="no op case 'rms_norm'; valid names: abs, add"):
        op_case("rms_norm")


def test_draws_are_seeded_and_keep_their_promises():
    c = op_case("div")
    a0, a1 = c.arrays(0), c.arrays(0)
    assert all(np.array_equal(x, y) for x, y in zip(a0, a1))
    assert not np.array_equal(c.arrays(1)[0], a0[0])
    rng = np.random.default_rng(0)
    assert np.all(np.abs(away(200, lo=0.5)(rng)) >= 0.5)
    assert np.all((positive(200)(rng) >= 0.5) & (positive(200)(rng) <= 2.0))
    x = normal(500, avoid=(0.5,))(rng)
    assert x.dtype == np.float64 and np.all(np.abs(x - 0.5) >= 0.05)
    with pytest.raises(ValueError, match="unknown kind 'cauchy'"):
        Draw((2,), "cauchy")(rng)


def test_a_new_case_is_one_entry():
    c = case("cube", lambda x: x * x * x, [normal(2, 3)], covers="mul")
    assert c.covers == ("mul",) and c.describe() == "x0 (2, 3)"
    res = check_op_case(c, seed=3)
    assert res.passed and res.title == "op case cube: x0 (2, 3)"


@pytest.mark.parametrize("c", NUMERIC, ids=[c.id for c in NUMERIC])
def test_every_case_passes_gradcheck_and_gradgradcheck(c):
    res = check_op_case(c)
    assert res.passed, res.report()
    if c.second_order:
        res2 = ta.gradgradcheck(c.checkable(), *c.arrays(0))
        assert res2.passed, res2.report()


def test_tie_cases_are_refused_by_the_numeric_check():
    assert {c.id for c in OP_CASES if not c.numeric} == {"max-ties", "min-ties"}
    with pytest.raises(ValueError, match="'max-ties' sits on a tie or kink"):
        check_op_case("max-ties")


def test_a_wrong_backward_fails_its_case(monkeypatch):
    from tinygrad_attn.functions import math as fmath

    monkeypatch.setattr(fmath.Exp, "backward", lambda self, gy: gy)
    res = check_op_case("exp")
    assert not res.passed and "diagnosis: input 0" in res.report()
