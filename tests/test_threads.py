"""Thread policy: limit_threads / Trainer(threads=...) change the BLAS pool and restore it."""
import os

import pytest

import tinygrad_attn as ta
from tinygrad_attn_models import AttentionSeq2seq
from tinygrad_attn.data import load_dataset
from tinygrad_attn.training.threads import blas_threads, check_threads, limit_threads
from tinygrad_attn.training import Trainer

threadpoolctl = pytest.importorskip("threadpoolctl")


def _need_blas():
    if not blas_threads():
        pytest.skip("threadpoolctl finds no BLAS library in this NumPy")


def test_the_suite_runs_on_one_blas_thread():
    _need_blas()
    assert set(blas_threads().values()) == {1}
    assert os.environ.get("OPENBLAS_NUM_THREADS") == "1"


def test_limit_threads_sets_and_restores():
    _need_blas()
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores to tell 1 thread from 2")
    with threadpoolctl.threadpool_limits(2):
        assert max(blas_threads().values()) == 2
        with limit_threads(1):
            assert set(blas_threads().values()) == {1}
        assert max(blas_threads().values()) == 2
        with limit_threads(None):  # None changes nothing
            assert max(blas_threads().values()) == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_one_clear_error(bad):
    with pytest.raises(ValueError, match=r"threads must be a positive integer or None"):
        check_threads(bad)
    with pytest.raises(ValueError, match=r"threads must be a positive integer"):
        with limit_threads(bad):
            pass


def test_trainer_fits_under_its_thread_limit():
    _need_blas()
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores to tell 1 thread from 2")
    data = load_dataset("date", samples=40, seed=3, val_fraction=0.25)
    ta.seed(0)
    model = AttentionSeq2seq(len(data.vocab), 4, 8)
    seen = []
    tr = Trainer(model, data, batch_size=16, progress=False, threads=1)
    with threadpoolctl.threadpool_limits(2):
        tr.fit(1, callback=lambda t, e: seen.append(blas_threads()))
        assert max(blas_threads().values()) == 2  # restored after fit
    assert seen and set(seen[0].values()) == {1}
    with pytest.raises(ValueError, match=r"Trainer: threads must be a positive integer"):
        Trainer(model, data, threads=0)
