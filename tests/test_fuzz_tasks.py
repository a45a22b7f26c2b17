"""Hypothesis: a checkpoint's stored task, fuzzed field by field, is either refused with one
CheckpointError line or describes work within the stated bounds (steps, array sizes)."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygrad_attn.data.bits import MAX_ELEMENTS, MAX_STEPS
from tinygrad_attn.npzfile import META_KEY, CheckpointError, read_npz_meta
from tinygrad_attn.training import read_checkpoint_info

FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
values = (st.none() | st.booleans() | st.integers(-3, 3) | st.integers(-2**70, 2**70)
          | st.sampled_from([10**6, 10_000, 9_999, 4_999, 5_000, 1000, 3333, 2**31])
          | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=6)
          | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3),
                                                                   st.integers(), max_size=2))


@pytest.fixture(scope="module")
def bits_ck(tmp_path_factory):
    from tinygrad_attn.cli import main

    root = tmp_path_factory.mktemp("fzt")
    assert main(["train", "--data", "repeat-copy", "--model", "ntm", "--samples", "10",
                 "--batch-size", "5", "--max-length", "2", "--max-repeats", "2", "--bit-width", "2",
                 "--hidden", "4", "--epochs", "1", "--no-progress", "--out", str(root / "r")]) == 0
    path = root / "r" / "model.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != META_KEY}
    return arrays, read_npz_meta(path)[1], root


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["task", "kind", "min_len", "max_len", "width",
                                               "max_repeats", "extra"]), values,
                              min_size=1, max_size=3))
def test_a_fuzzed_stored_task_is_refused_or_bounded(bits_ck, fields):
    arrays, meta, root = bits_ck
    m = json.loads(json.dumps(meta))
    m["task"].update(fields)
    path = root / "f.npz"
    np.savez(path, **arrays, **{META_KEY: np.array(json.dumps(m))})
    try:
        info = read_checkpoint_info(path)
    except CheckpointError as e:
        msg = str(e)
        assert msg and "\n" not in msg and "Traceback" not in msg
        return
    task = info.task
    assert task.steps() <= MAX_STEPS
    for n in (1, 256):   # what eval and memory would make, checked before any work
        try:
            T = task.check_size(n, int(task.params.get("max_len", 10)))
        except ValueError as e:
            assert "at most" in str(e)
            continue
        channels = int(task.params.get("width", 8)) + 2
        assert T <= MAX_STEPS and n * T * channels <= MAX_ELEMENTS
