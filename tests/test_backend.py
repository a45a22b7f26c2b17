"""The array backend: host/device transfers, the strict stand-in's refusals, GPU detection."""
import copy
import pickle
import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import backend
from tinygrad_attn import functions as F
from tinygrad_attn.backend import GPUUnavailableError, StrictArray, as_device, as_numpy, strict
from tinygrad_attn.core import Function
from tests.devices import assert_on_device, device, to_dev  # noqa: F401  (device is a fixture)


def S(a):
    """A strict device copy of host data ``a``."""
    return as_device(np.asarray(a), "strict")


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)])
def test_round_trip_host_strict_host(dtype, shape):
    a = (np.random.default_rng(1).standard_normal(shape) * 10).astype(dtype)
    d = as_device(a, "strict")
    assert type(d) is StrictArray and d.dtype == a.dtype and d.shape == a.shape
    back = as_numpy(d)
    assert type(back) is np.ndarray and back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)


def test_transfers_copy_instead_of_aliasing():
    a = np.arange(4.0)
    d = as_device(a, "strict")
    a[0] = 100.0
    assert as_numpy(d)[0] == 0.0
    back = as_numpy(d)
    back[1] = -5.0
    assert as_numpy(d)[1] == 1.0
    assert as_device(d, "strict") is d  # already there: no copy
    assert as_numpy(a) is a  # host data is returned as is


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_variable_round_trip_keeps_dtype_values_and_grad(dtype):
    x = ta.Variable(np.arange(6).reshape(2, 3).astype(dtype), name="x")
    x.grad = ta.Variable(np.ones((2, 3), dtype=dtype))
    assert x.to_device("strict") is x
    assert_on_device(x, "strict")
    assert_on_device(x.grad, "strict")
    assert x.dtype == dtype and x.grad.dtype == dtype
    assert "device='strict'" in repr(x)
    x.to_cpu()
    assert_on_device(x, "cpu")
    assert_on_device(x.grad, "cpu")
    assert x.dtype == dtype
    np.testing.assert_array_equal(x.data, np.arange(6).reshape(2, 3).astype(dtype))
    np.testing.assert_array_equal(x.numpy(), x.data)


def test_to_dev_accepts_lists_and_device_arrays(device):
    a = to_dev([[1.0, 2.0]], device)
    assert_on_device(a, device)
    b = to_dev(S([3, 4]), device)
    assert_on_device(b, device)
    np.testing.assert_array_equal(as_numpy(b), [3, 4])


def test_as_numpy_of_variables_and_scalars():
    v = ta.Variable(S([1.0, 2.0]))
    np.testing.assert_array_equal(as_numpy(v), [1.0, 2.0])
    assert as_numpy(3.5).dtype == np.float64 and as_numpy(3.5) == 3.5


def test_unknown_device_name():
    with pytest.raises(ValueError, match="unknown device 'tpu'.*cpu.*cuda.*strict"):
        as_device(np.ones(2), "tpu")


def test_strict_array_wraps_only_ndarrays():
    with pytest.raises(TypeError, match="StrictArray wraps numpy.ndarray"):
        StrictArray([1, 2])


# ----------------------------------------------------------------------------- dispatch
def test_get_array_module_and_device_of():
    h, d = np.ones(3), S(np.ones(3))
    assert backend.get_array_module(h) is np
    assert backend.get_array_module(d) is strict
    assert backend.get_array_module(ta.Variable(d)) is strict
    assert backend.get_array_module(ta.Variable(h)) is np
    assert backend.get_array_module(2.0) is np
    assert backend.get_array_module([1, 2]) is np
    assert [backend.device_of(v) for v in (h, d, ta.Variable(d))] == ["cpu", "strict", "strict"]


# ----------------------------------------------------------------------------- strict refusals
HOST = np.ones((2, 3))

MIXING = {  # fn(d, xp): d a device array, xp its array module
    "device * host": lambda d, xp: d * HOST,
    "host * device": lambda d, xp: HOST * d,
    "host + device": lambda d, xp: HOST + d,
    "device - host": lambda d, xp: d - HOST,
    "device / host": lambda d, xp: d / HOST,
    "device ** host": lambda d, xp: d ** HOST,
    "device @ host": lambda d, xp: d @ HOST.T,
    "host @ device": lambda d, xp: HOST.T @ d,
    "device < host": lambda d, xp: d < HOST,
    "host == device": lambda d, xp: HOST == d,
    "device & host mask": lambda d, xp: (d > 0) & (HOST > 0),
    "in-place device += host": lambda d, xp: d.__iadd__(HOST),
    "device[host index]": lambda d, xp: d[np.array([0, 1])],
    "device[host bool mask]": lambda d, xp: d[HOST > 0],
    "device[..] = host": lambda d, xp: d.__setitem__(0, HOST[0]),
    "xp.where(host mask)": lambda d, xp: xp.where(HOST > 0, d, 0.0),
    "xp.exp(host)": lambda d, xp: xp.exp(HOST),
    "xp.maximum(device, host)": lambda d, xp: xp.maximum(d, HOST),
    "xp.add.at(host values)": lambda d, xp: xp.add.at(d, (0,), HOST[0]),
    "xp.concatenate([device, host])": lambda d, xp: xp.concatenate([d, HOST]),
    "method with host argument": lambda d, xp: d.dot(HOST.T),
}


@pytest.mark.parametrize("fn", MIXING.values(), ids=MIXING.keys())
def test_mixing_host_array_into_device_op_raises(fn):
    d = S(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="Unsupported type .*numpy.ndarray"):
        fn(d, backend.get_array_module(d))
    fn(np.arange(6.0).reshape(2, 3), np)  # the same code is fine on the host


IMPLICIT_HOST = {
    "np.asarray": lambda d: np.asarray(d),
    "np.array": lambda d: np.array(d),
    "np.asarray(dtype)": lambda d: np.asarray(d, dtype=np.float32),
    "tolist": lambda d: d.tolist(),
    "float(non-scalar)": lambda d: float(d),
    "int(non-scalar)": lambda d: int(d),
    "memoryview": lambda d: memoryview(d),
    "pickle": lambda d: pickle.dumps(d),
}


@pytest.mark.parametrize("fn", IMPLICIT_HOST.values(), ids=IMPLICIT_HOST.keys())
def test_implicit_conversion_to_host_raises(fn):
    with pytest.raises(TypeError):
        fn(S(np.arange(6.0).reshape(2, 3)))


def test_host_memory_attributes_are_not_exposed():
    d = S(np.arange(3.0))
    for name in ("data", "ctypes", "tobytes", "__array_interface__", "__array_struct__",
                 "__dlpack__"):
        assert not hasattr(d, name), name
    with pytest.raises(AttributeError, match="as_numpy"):
        d.data  # noqa: B018


NUMPY_CALLS = {
    "np.sum": lambda d: np.sum(d),
    "np.mean": lambda d: np.mean(d, axis=0),
    "np.where": lambda d: np.where(d > 1, d, 0.0),
    "np.concatenate": lambda d: np.concatenate([d, d]),
    "np.zeros_like": lambda d: np.zeros_like(d),
    "np.ndim": lambda d: np.ndim(d),
    "np.exp (ufunc)": lambda d: np.exp(d),
    "np.maximum (ufunc)": lambda d: np.maximum(d, 0.0),
    "np.add (ufunc, both device)": lambda d: np.add(d, d),
    "np.add.at (ufunc method)": lambda d: np.add.at(d, (0,), 1.0),
    "np.multiply(out=)": lambda d: np.multiply(2.0, d, out=d),
}


@pytest.mark.parametrize("fn", NUMPY_CALLS.values(), ids=NUMPY_CALLS.keys())
def test_numpy_functions_on_device_arrays_raise(fn):
    with pytest.raises(TypeError, match=r"numpy\.\S+ was called on a strict device array.*get_array_module"):
        fn(S(np.arange(6.0).reshape(2, 3)))


def test_allowed_device_operations_match_numpy():
    h = np.arange(1.0, 7.0).reshape(2, 3)
    d = S(h)
    results = {
        "scalar ops": (2.0 - d * 3 / (d + 1.0) ** 2, 2.0 - h * 3 / (h + 1.0) ** 2),
        "numpy scalar on the left": (np.float64(2.5) * d - np.int64(1), np.float64(2.5) * h - 1),
        "numpy scalar on the right": (d ** np.float32(2.0), h ** np.float32(2.0)),
        "device with device": ((d @ d.T) @ d + (d > 2) * d, (h @ h.T) @ h + (h > 2) * h),
        "unary": (abs(-d) + (-d) + (+d), abs(-h) + (-h) + (+h)),
        "methods": (d.sum(axis=1, keepdims=True) + d.max() - d.mean(0),
                    h.sum(axis=1, keepdims=True) + h.max() - h.mean(0)),
        "module functions": (strict.where(d > 3, strict.exp(d), strict.zeros_like(d)),
                             np.where(h > 3, np.exp(h), 0.0)),
        "device index": (d[:, S([2, 0, 2])], h[:, [2, 0, 2]]),
        "device bool mask": (d[d > 2], h[h > 2]),
        "astype/reshape/T": (d.astype(np.float32).reshape(3, 2).T, h.astype(np.float32).reshape(3, 2).T),
    }
    for name, (got, want) in results.items():
        assert type(got) is StrictArray, name
        np.testing.assert_array_equal(as_numpy(got), want, err_msg=name)
    e = d.copy()
    e += 1.0
    e *= d
    e[0, S(1)] = S(-1.0)
    hh = (h + 1.0) * h
    hh[0, 1] = -1.0
    assert type(e) is StrictArray
    np.testing.assert_array_equal(as_numpy(e), hh)
    np.testing.assert_array_equal(as_numpy(d), h)  # d itself untouched by e's in-place ops


def test_scalar_conversions_and_explicit_transfers_are_allowed():
    d = S(np.array([[2.5]]))
    assert float(d) == 2.5 and d.item() == 2.5 and f"{d[0, 0]:.2f}" == "2.50"
    assert int(S(np.array(7))) == 7 and bool(S(np.array([True])))
    assert list(range(10))[S(np.array(3))] == 3  # __index__ on integer 0-d arrays
    with pytest.raises(ValueError, match="ambiguous"):
        bool(S(np.array([True, False])))
    np.testing.assert_array_equal(d.get(), [[2.5]])
    c = copy.deepcopy(d)
    assert type(c) is StrictArray and c is not d and float(c) == 2.5
    rows = list(S(np.arange(6).reshape(3, 2)))
    assert len(rows) == 3 and all(type(r) is StrictArray for r in rows)
    up = strict.asarray(np.arange(3))  # explicit host -> device copy, like cupy.asarray
    assert type(up) is StrictArray


def test_strict_array_with_variable_defers_to_variable():
    d = S(np.arange(3.0))
    v = ta.Variable(S(np.ones(3)))
    for y in (d + v, d * v, d - v, d / v, d @ v):
        assert isinstance(y, ta.Variable) and type(y.data) is StrictArray
    np.testing.assert_array_equal(as_numpy(d - v), [-1.0, 0.0, 1.0])


def test_strict_random_generator_draws_on_device():
    g = strict.random.default_rng(0)
    for a in (g.random((2, 3)), g.standard_normal((4,)), g.integers(0, 5, size=3)):
        assert type(a) is StrictArray
    h = np.random.default_rng(0).random((2, 3))
    np.testing.assert_array_equal(as_numpy(strict.random.default_rng(0).random((2, 3))), h)


@pytest.mark.parametrize("xp", [np, strict], ids=["numpy", "strict"])
def test_scatter_add_accumulates_repeated_indices(xp):
    a = xp.zeros((4, 2))
    idx = xp.asarray(np.array([1, 3, 1, 1]))
    vals = xp.asarray(np.arange(8.0).reshape(4, 2))
    backend.scatter_add(xp, a, idx, vals)
    np.testing.assert_array_equal(as_numpy(a), [[0, 0], [0 + 4 + 6, 1 + 5 + 7], [0, 0], [2, 3]])


@settings(max_examples=40, deadline=None)
@given(V=st.integers(1, 6), lead=st.lists(st.integers(0, 4), min_size=1, max_size=3),
       D=st.lists(st.integers(1, 3), max_size=2), neg=st.booleans(), seed=st.integers(0, 99))
def test_scatter_add_row_fast_path_equals_add_at(V, lead, D, neg, seed):
    """The sorted segment-sum path for one integer index array (an embedding's gradient)
    gives add.at's result: repeated rows, empty index arrays, negative ids (left to add.at)."""
    r = np.random.default_rng(seed)
    ids = r.integers(-V if neg else 0, V, tuple(lead))
    vals = r.standard_normal(tuple(lead) + tuple(D))
    a = r.standard_normal((V,) + tuple(D))
    want = a.copy()
    np.add.at(want, ids, vals)
    backend.scatter_add(np, a, ids, vals)
    np.testing.assert_allclose(a, want, rtol=1e-12, atol=1e-12)


def test_keep_host_memory_applies_on_glibc_only():
    import platform

    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert backend.keep_host_memory() is glibc
    a = np.ones((1024, 1024))                    # large blocks still allocate and free
    del a


# ----------------------------------------------------------------------------- the test
def test_numpy_mask_in_device_computation_raises_unsupported_type():
    """A computation that builds a mask with plain NumPy must fail on the stand-in."""

    def leaky(x):
        mask = x.data * np.ones(x.shape)  # host array mixed into device data: a GPU bug
        return x * ta.Variable(mask)

    def leaky_where(x):
        np_mask = np.arange(x.size).reshape(x.shape) % 2 == 0  # host boolean mask
        return F.where(np_mask, x, 0.0)

    host_x = np.arange(6.0).reshape(2, 3)
    for fn in (leaky, leaky_where):
        fn(ta.Variable(host_x))  # fine on NumPy: only the stand-in exposes it
        with pytest.raises(TypeError, match="Unsupported type"):
            fn(ta.Variable(to_dev(host_x, "strict")))


def test_function_calling_numpy_directly_is_caught():
    class NumpyExp(Function):  # wrong: numpy.exp instead of get_array_module(x).exp
        def forward(self, x):
            return np.exp(x)

        def backward(self, gy):
            return gy * self.outputs[0]()

    class GoodExp(NumpyExp):
        def forward(self, x):
            return backend.get_array_module(x).exp(x)

    x = ta.Variable(S(np.zeros(3)))
    with pytest.raises(TypeError, match="get_array_module"):
        NumpyExp()(x)
    y = GoodExp()(x)
    y.backward(grad=ta.Variable(S(np.ones(3))))
    assert type(y.data) is StrictArray and type(x.grad.data) is StrictArray
    np.testing.assert_array_equal(as_numpy(x.grad), np.ones(3))


def test_backward_seed_on_host_for_device_variable_raises():
    x = ta.Variable(S(np.zeros(3)))
    y = F.exp(x)
    with pytest.raises(TypeError, match="Unsupported type"):
        y.backward(grad=ta.Variable(np.ones(3)))


# ----------------------------------------------------------------------------- GPU detection
@pytest.fixture
def fresh_cupy_cache(monkeypatch):
    """Forget any earlier CuPy probe; monkeypatch restores the real cache afterwards."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_checked", False)
    return monkeypatch


def _assert_gpu_error(excinfo, reason):
    msg = str(excinfo.value)
    assert reason in msg, msg
    assert 'pip install "tinygrad-attn[gpu]"' in msg, msg


def test_to_gpu_without_cupy_raises_clear_error(fresh_cupy_cache):
    fresh_cupy_cache.setitem(sys.modules, "cupy", None)  # "import cupy" raises ImportError
    assert ta.gpu_available() is False
    x = ta.Variable(np.arange(3.0))
    with pytest.raises(GPUUnavailableError) as excinfo:
        x.to_gpu()
    _assert_gpu_error(excinfo, "CuPy is not installed")
    assert type(x.data) is np.ndarray  # left where it was
    for dev in ("cuda", "gpu"):
        with pytest.raises(GPUUnavailableError, match="CuPy is not installed"):
            as_device(np.ones(2), dev)
    assert issubclass(GPUUnavailableError, RuntimeError)


def _fake_cupy(n_devices):
    """A minimal stand-in for the cupy module: arrays wrap NumPy arrays."""
    cp = types.ModuleType("cupy")

    class ndarray:  # noqa: N801 - mirrors cupy.ndarray
        __module__ = "cupy._core.core"

        def __init__(self, a):
            self.a = a
            self.shape, self.dtype = a.shape, a.dtype

    cp.ndarray = ndarray
    cp.asarray = lambda a: ndarray(np.array(a, copy=True))
    cp.asnumpy = lambda x: x.a.copy()
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: n_devices))
    return cp


def test_cupy_without_device_is_reported(fresh_cupy_cache):
    fresh_cupy_cache.setitem(sys.modules, "cupy", _fake_cupy(0))
    assert ta.gpu_available() is False
    with pytest.raises(GPUUnavailableError) as excinfo:
        ta.Variable(np.ones(2)).to_gpu()
    _assert_gpu_error(excinfo, "CuPy is installed but no CUDA device is visible")


def test_fake_gpu_dispatch_round_trip(fresh_cupy_cache):
    cp = _fake_cupy(1)
    fresh_cupy_cache.setitem(sys.modules, "cupy", cp)
    assert ta.gpu_available() is True
    x = ta.Variable(np.arange(4.0))
    x.grad = ta.Variable(np.ones(4))
    x.to_gpu()
    assert type(x.data) is cp.ndarray and type(x.grad.data) is cp.ndarray
    assert backend.get_array_module(x) is cp and backend.device_of(x) == "cuda"
    x.to_cpu()
    np.testing.assert_array_equal(x.data, np.arange(4.0))
    np.testing.assert_array_equal(x.grad.data, np.ones(4))


def test_cupy_array_recognised_before_any_probe(fresh_cupy_cache):
    """An array made with cupy directly (before the library probed for CuPy) still dispatches."""
    cp = _fake_cupy(1)
    fresh_cupy_cache.setitem(sys.modules, "cupy", cp)
    a = cp.asarray(np.arange(3.0))
    assert backend.get_array_module(a) is cp
    np.testing.assert_array_equal(as_numpy(a), np.arange(3.0))


def _cupy_importable():
    try:
        import cupy  # noqa: F401
    except Exception:
        return False
    return True


@pytest.mark.skipif(_cupy_importable(), reason="CuPy is installed here")
def test_real_gpu_path_without_cupy():
    assert ta.gpu_available() is False
    with pytest.raises(GPUUnavailableError) as excinfo:
        ta.Variable(np.ones(2)).to_gpu()
    _assert_gpu_error(excinfo, "CuPy is not installed")


# ----------------------------------------------------------------------------- module layout
def _package_imports(module):
    """The tinygrad_attn modules that ``module``'s source imports (relative or absolute)."""
    import ast
    import inspect

    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                found.update([node.module] if node.module else [a.name for a in node.names])
            elif node.module and node.module.startswith("tinygrad_attn"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tinygrad_attn"))
    return found


def test_dispatch_and_the_strict_device_are_separate_modules():
    from tinygrad_attn.testing import strict as strict_module

    assert backend.StrictArray is strict_module.StrictArray
    assert backend.strict is strict_module.strict
    assert _package_imports(strict_module) == set()  # the stand-in knows nothing of the library
    assert _package_imports(backend) == {"testing.strict"}  # dispatch: never the engine


def test_as_array_lives_in_the_backend_and_stays_in_core():
    from tinygrad_attn import core

    assert core.as_array is backend.as_array
    a = backend.as_array([1, 2], strict, dtype=np.float32)
    assert type(a) is StrictArray and a.dtype == np.float32
    with pytest.raises(TypeError, match="numeric"):
        backend.as_array(np.array(["a"]))
