"""The NumPy fast paths of the reductions (row_sum, lead_sum, row_max) equal NumPy's own."""
import numpy as np
import pytest

from tinygrad_attn.functions.reduce import lead_sum, row_max, row_sum

SHAPES = [(1, 128), (4, 64), (128, 10), (1024, 40), (3, 5, 7), (7,), (0, 4), (4, 0), (2, 1)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_max_equals_numpy_including_nan_and_inf(shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    if x.size > 2:
        x.flat[1] = -np.inf
        x.flat[-1] = np.nan
    if x.shape[-1] == 0:
        with pytest.raises(ValueError):
            x.max(axis=-1)
        return
    np.testing.assert_array_equal(row_max(x), x.max(axis=-1, keepdims=True))
    y = x[..., ::2] if x.ndim and x.shape[-1] > 1 else x     # not contiguous
    np.testing.assert_array_equal(row_max(y), y.max(axis=-1, keepdims=True))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_and_lead_sums_equal_numpy_up_to_rounding(shape, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    ref = x.astype(np.float64)
    np.testing.assert_allclose(row_sum(x), ref.sum(axis=-1, keepdims=True), rtol=tol, atol=tol)
    assert row_sum(x).dtype == dtype
    for k in range(1, x.ndim):
        np.testing.assert_allclose(lead_sum(x, k), ref.sum(axis=tuple(range(k))), rtol=tol,
                                   atol=tol * max(1, x.shape[0]))
    if dtype == np.float64:       # float64 keeps NumPy's own summation: identical
        np.testing.assert_array_equal(row_sum(x), x.sum(axis=-1, keepdims=True))
