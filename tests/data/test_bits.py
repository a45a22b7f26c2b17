"""Copy and repeat-copy generators: layout, seeds, padding, bit errors."""
import numpy as np
import pytest

from tinygrad_attn.data.bits import (BitsData, bit_errors, load_bits_dataset, make_bits, make_copy,
                                     make_repeat_copy)


def test_copy_layout():
    x, t = make_copy(50, min_len=1, max_len=6, width=4, seed=3)
    assert x.shape == (50, 13, 5) and t.shape == (50, 13, 4)
    assert x.dtype == np.float32 and t.dtype == np.float32
    for xi, ti in zip(x, t):
        L = int(np.argmax(xi[:, 4]))             # the delimiter step
        assert 1 <= L <= 6 and xi[:, 4].sum() == 1
        np.testing.assert_array_equal(ti[L + 1:2 * L + 1], xi[:L, :4])  # the answer is the input
        assert (ti[:L + 1] == -1).all() and (ti[2 * L + 1:] == -1).all()
        assert (xi[L + 1:] == 0).all()
        assert set(np.unique(xi[:L, :4])) <= {0.0, 1.0}
    lens = (t[:, :, 0] >= 0).sum(1)
    assert lens.min() == 1 and lens.max() == 6  # the whole range is drawn


def test_copy_seeds_and_fixed_length():
    a = make_copy(8, seed=5)
    b = make_copy(8, seed=5)
    c = make_copy(8, seed=6)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    x, t = make_copy(4, length=20, width=3, seed=0)
    assert x.shape == (4, 41, 4) and ((t[:, :, 0] >= 0).sum(1) == 20).all()
    with pytest.raises(ValueError, match="1 <= min <= max"):
        make_copy(3, min_len=5, max_len=2)


def test_repeat_copy_layout():
    x, t = make_repeat_copy(20, min_len=1, max_len=3, width=2, max_repeats=4, seed=1)
    assert x.shape == (20, 3 + 2 + 12, 4) and t.shape == (20, 17, 3)
    for xi, ti in zip(x, t):
        L = int(np.argmax(xi[:, 2]))
        K = int(round(xi[L, 3] * 4))
        assert 1 <= K <= 4
        scored = ti[:, 0] >= 0
        assert scored.sum() == K * L + 1
        ans = ti[scored]
        np.testing.assert_array_equal(ans[:-1, :2], np.tile(xi[:L, :2], (K, 1)))
        assert ans[-1, 2] == 1 and (ans[:-1, 2] == 0).all()  # the end marker
    with pytest.raises(ValueError, match="unknown bits task"):
        make_bits("sort", 3)


def test_bit_errors_and_dataset():
    t = np.array([[[1, 0], [-1, -1]], [[0, 0], [1, 1]]], np.float32)
    logits = np.array([[[3, -2], [5, 5]], [[1, -1], [-1, 2]]], np.float32)
    np.testing.assert_array_equal(bit_errors(logits, t), [0, 2])
    np.testing.assert_array_equal(bit_errors(1 / (1 + np.exp(-logits)), t, threshold=0.5), [0, 2])
    d = load_bits_dataset("copy", samples=40, seed=2, max_len=3, width=5)
    assert isinstance(d, BitsData) and len(d.x_val) == 4 and len(d.x_train) == 36
    assert d.task.model_fields() == {"input_width": 6, "output_width": 5}
    assert d.task.describe() == {"kind": "bits", "task": "copy", "max_len": 3, "width": 5}
    assert getattr(d, "vocab", None) is None
    with pytest.raises(ValueError, match="unknown bits task"):
        load_bits_dataset("sort")
    with pytest.raises(ValueError, match="must be"):
        BitsData(d.x_train, d.t_train[:, :2], d.x_val, d.t_val, "copy", {})
