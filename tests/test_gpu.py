"""Ops on a real GPU (CuPy) against NumPy. Skipped unless CuPy and a CUDA device are present.

Run only these with ``python -m pytest -q -m gpu``. The same op cases run on the strict
stand-in in ``tests/functions/test_ops_strict.py`` on every machine.
"""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import backend
from tinygrad_attn import functions as F
from tests.devices import DEVICES, OP_CASES, array_type, assert_on_device, requires_gpu, run_case, to_dev

pytestmark = [pytest.mark.gpu, requires_gpu]

GPU = "cuda"


def _assert_close(a, b, what):
    assert (a is None) == (b is None), what
    if a is None:
        return
    assert a.shape == b.shape and a.dtype == b.dtype, f"{what}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-11, err_msg=what)


def test_cuda_is_listed():
    assert "cuda" in DEVICES


# CuPy draws other random numbers than NumPy: cases that draw on the device are compared
# on the strict stand-in only (tests/functions/test_ops_strict.py)
GPU_CASES = [c for c in OP_CASES if not c.random_draws]


@pytest.mark.parametrize("case", GPU_CASES, ids=[c.id for c in GPU_CASES])
def test_op_matches_numpy_on_gpu(case):
    host = run_case(case, "cpu")
    dev = run_case(case, GPU)
    want = array_type(GPU)
    assert dev.types and all(t is want for t in dev.types), dev.types
    for k, (a, b) in enumerate(zip(host.outputs, dev.outputs)):
        _assert_close(a, b, f"{case.id} output {k}")
    for k, (a, b) in enumerate(zip(host.grads, dev.grads)):
        _assert_close(a, b, f"{case.id} grad of input {k}")
    for k, (a, b) in enumerate(zip(host.grads2, dev.grads2)):
        _assert_close(a, b, f"{case.id} second-order grad of input {k}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_round_trip_host_gpu_host(dtype):
    a = (np.random.default_rng(0).standard_normal((3, 4)) * 10).astype(dtype)
    d = backend.as_device(a, GPU)
    assert_on_device(d, GPU)
    assert d.dtype == a.dtype
    back = backend.as_numpy(d)
    assert type(back) is np.ndarray and back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)


def test_variable_to_gpu_and_back_with_grad():
    x = ta.Variable(np.arange(6.0).reshape(2, 3))
    F.sum(x * x).backward()
    assert x.to_gpu() is x
    assert_on_device(x, GPU)
    assert_on_device(x.grad, GPU)
    assert backend.device_of(x) == "cuda" and "device='cuda'" in repr(x)
    x.to_cpu()
    np.testing.assert_array_equal(x.grad.data, 2 * np.arange(6.0).reshape(2, 3))


def test_scatter_add_repeated_indices_on_gpu():
    xp = backend.get_array_module(to_dev(np.zeros(1), GPU))
    a = xp.zeros((4, 2))
    backend.scatter_add(xp, a, to_dev(np.array([1, 3, 1, 1]), GPU), to_dev(np.arange(8.0).reshape(4, 2), GPU))
    np.testing.assert_array_equal(backend.as_numpy(a), [[0, 0], [10, 13], [0, 0], [2, 3]])


def test_dropout_train_mode_on_gpu():
    ta.seed(3)
    x = ta.Variable(to_dev(np.full((50, 40), 2.0), GPU))
    y = F.dropout(x, p=0.25)
    F.sum(y).backward()
    assert_on_device(y, GPU)
    assert_on_device(x.grad, GPU)
    out = backend.as_numpy(y)
    assert set(np.unique(out).tolist()) == {0.0, 2.0 / 0.75}
    assert 0.15 < (out == 0).mean() < 0.35


def test_host_array_mixed_into_gpu_op_raises():
    x = ta.Variable(to_dev(np.ones((2, 3)), GPU))
    with pytest.raises(TypeError):
        F.where(np.ones((2, 3), dtype=bool), x, x)
