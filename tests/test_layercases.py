"""The layer-case table (tinygrad_attn.checks.layercases) shared by the gradcheck command and the
device tests."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import layers as L
from tinygrad_attn.checks.layercases import (LAYER_CASES, LayerCase, check_layer_case, layer_case,
                                      layer_case_ids)
from tinygrad_attn.checks.opcases import normal


def test_ids_are_unique_and_lookup_lists_the_valid_names():
    ids = [c.id for c in LAYER_CASES]
    assert len(ids) == len(set(ids)) and layer_case_ids() == sorted(ids)
    assert isinstance(layer_case("gru").make(), L.GRU)
    with pytest.raises(KeyError, match="no layer case 'rmsnorm'; valid names: attention, "):
        layer_case("rmsnorm")


def test_arrays_keep_integer_ids_and_draw_floats_from_the_seed():
    ids, = layer_case("embedding").arrays(5)
    assert ids.dtype.kind == "i" and ids.shape == (2, 4)
    a, b = layer_case("lstm").arrays(1), layer_case("lstm").arrays(1)
    assert [x.shape for x in a] == [(2, 5, 3), (2, 4), (2, 4)]
    assert all(x.dtype == np.float64 and np.array_equal(x, y) for x, y in zip(a, b))


def test_a_new_layer_case_is_one_entry_and_is_checked():
    c = LayerCase("tiny-linear", lambda: L.Linear(2, 2), (normal(3, 2),))
    assert c.describe() == "x0 (3, 2)"
    res = check_layer_case(c, seed=2)
    assert res.passed and res.title == "layer case tiny-linear: x0 (3, 2)"
    assert [e.name for e in res.entries] == ["input 0", "W", "b"]


def test_check_layer_case_depends_on_its_seed_only():
    def numbers(seed, library_state):
        ta.seed(library_state)
        res = check_layer_case("linear", seed=seed, max_elements=5)
        assert res.passed, res.report()
        return [(e.analytic, e.numeric, e.worst_index) for e in res.entries]

    assert numbers(4, 123) == numbers(4, 999)
    assert numbers(4, 123) != numbers(5, 123)
