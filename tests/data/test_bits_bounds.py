"""Sizes of the binary-vector tasks are bounded before anything is allocated, as the product
the model runs (repeat copy: T = L + 2 + L K steps)."""
import os
import subprocess
import sys

import pytest

from tinygrad_attn.data import bits
from tinygrad_attn.data.bits import (MAX_STEPS, check_bits_size, make_copy, make_repeat_copy,
                                     sequence_steps)


def test_sequence_steps_are_the_padded_lengths_the_generators_make():
    for L, K in [(1, 1), (3, 2), (7, 5)]:
        x, _ = make_copy(2, length=L, width=3)
        assert x.shape[1] == sequence_steps("copy", L)
        x, _ = make_repeat_copy(2, length=L, repeats=K, max_repeats=K, width=3)
        assert x.shape[1] == sequence_steps("repeat-copy", L, K) == L + 2 + L * K


@pytest.mark.parametrize("call,fragment", [
    (lambda: make_repeat_copy(1, max_len=10_000, max_repeats=1000, width=1),
     "run L + 2 + L x K = 10000 + 2 + 10000 x 1000 = 10,010,002 steps; at most 10,000"),
    (lambda: make_repeat_copy(1, max_len=100, max_repeats=100, width=1), "10,102 steps"),
    (lambda: make_copy(1, max_len=5000, width=1), "2 x 5000 + 1 = 10,001 steps"),
    (lambda: make_copy(10**7, max_len=50, width=8), "numbers; at most"),
    (lambda: make_copy(2, max_len=3, width=0), "n and width must be integers >= 1"),
    (lambda: make_copy(2.5, max_len=3, width=2), "n and width must be integers >= 1"),
])
def test_too_large_is_refused_before_allocation(call, fragment, monkeypatch):
    monkeypatch.setattr(bits.np, "zeros", None)   # any allocation would fail differently
    with pytest.raises(ValueError) as e:
        call()
    assert fragment in str(e.value)


def test_the_largest_allowed_sequence_is_accepted():
    L = (MAX_STEPS - 2) // 2   # repeat copy with K = 1: 2L + 2 <= MAX_STEPS
    assert check_bits_size("t", "repeat-copy", 1, L, 2, 1) == 2 * L + 2 <= MAX_STEPS
    with pytest.raises(ValueError):
        check_bits_size("t", "repeat-copy", 1, L + 1, 2, 1)


def test_train_refuses_the_product_with_one_line_and_no_run_folder(tmp_path):
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "tinygrad_attn", "train", "--data", "repeat-copy",
                        "--model", "ntm", "--max-length", "10000", "--max-repeats", "1000",
                        "--out", str(out)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"))
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert len(err.split("\n")) == 1 and "10,010,002 steps" in err, err
    assert not out.exists()


def test_task_generate_checks_repeats_against_its_own_task():
    from tinygrad_attn.data.bits import BitsTask

    rep = BitsTask("repeat-copy", {"max_len": 3, "width": 2, "max_repeats": 2})
    with pytest.raises(ValueError, match=r"repeats must be an integer in \[1, 2\] .* got 3"):
        rep.generate(1, 2, repeats=3)
    x, _ = rep.generate(1, 2, repeats=2)
    assert x.shape[1] == sequence_steps("repeat-copy", 2, 2)
    with pytest.raises(ValueError, match="repeats belong to the repeat-copy task, not copy"):
        BitsTask("copy", {"max_len": 3, "width": 2}).generate(1, 2, repeats=1)
