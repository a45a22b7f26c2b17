"""Every op of F, forward, backward and double backward, on the strict stand-in device.

Each case of ``tinygrad_attn.checks.opcases.OP_CASES`` (the table ``tinygrad-attn gradcheck op``
checks too) runs on NumPy and on the stand-in; the numbers
must agree and every array the stand-in produces must be a StrictArray (so no op
silently fell back to the host). The stand-in raises TypeError on any host NumPy
array mixed into device code, so passing here means the ops would not mix host and
device arrays on CuPy either.
"""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import backend
from tinygrad_attn import functions as F
from tests.devices import OP_CASES, run_case, to_dev

ALL_OPS = set(F.__all__)


def test_every_op_is_covered():
    covered = set()
    for case in OP_CASES:
        unknown = set(case.covers) - ALL_OPS
        assert not unknown, f"case {case.id} names ops not in F: {unknown}"
        covered |= set(case.covers)
    missing = sorted(ALL_OPS - covered)
    assert not missing, f"ops without a case in tinygrad_attn/opcases.py: {missing}"


def _assert_same(a, b, what):
    assert (a is None) == (b is None), \
        f"{what}: a gradient on one device only (NumPy {a is not None}, strict {b is not None})"
    if a is None:
        return
    assert a.shape == b.shape and a.dtype == b.dtype, f"{what}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14, err_msg=what)


@pytest.mark.parametrize("case", OP_CASES, ids=[c.id for c in OP_CASES])
def test_op_matches_numpy_on_strict(case):
    host = run_case(case, "cpu")
    dev = run_case(case, "strict")
    assert dev.types and all(t is backend.StrictArray for t in dev.types), dev.types
    assert all(t is np.ndarray for t in host.types), host.types
    for k, (a, b) in enumerate(zip(host.outputs, dev.outputs)):
        _assert_same(a, b, f"{case.id} output {k}")
    assert any(g is not None for g in host.grads), f"{case.id}: no gradient reached any input"
    for k, (a, b) in enumerate(zip(host.grads, dev.grads)):
        _assert_same(a, b, f"{case.id} grad of input {k}")
    for k, (a, b) in enumerate(zip(host.grads2, dev.grads2)):
        _assert_same(a, b, f"{case.id} second-order grad of input {k}")


def test_embedding_repeated_ids_accumulate_on_strict():
    W = ta.Variable(to_dev(np.arange(12.0).reshape(4, 3), "strict"))
    ids = to_dev(np.array([[2, 2], [0, 2]]), "strict")
    F.sum(F.embedding(W, ids)).backward()
    assert type(W.grad.data) is backend.StrictArray
    np.testing.assert_array_equal(backend.as_numpy(W.grad), [[1] * 3, [0] * 3, [3] * 3, [0] * 3])


def test_cross_entropy_ignore_label_on_strict():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    t = np.array([[1, -1, 3], [-1, -1, 0]])
    y = F.softmax_cross_entropy(ta.Variable(to_dev(x, "strict")), to_dev(t, "strict"))
    keep = t != -1
    lse = np.log(np.exp(x).sum(-1))
    picked = np.take_along_axis(x, np.where(keep, t, 0)[..., None], -1)[..., 0]
    expected = ((lse - picked) * keep).sum() / keep.sum()
    assert type(y.data) is backend.StrictArray
    assert abs(float(y.data) - expected) < 1e-12


def test_cross_entropy_labels_left_on_host_raise():
    x = ta.Variable(to_dev(np.zeros((2, 4)), "strict"))
    with pytest.raises(TypeError, match="Unsupported type"):
        F.softmax_cross_entropy(x, np.array([1, 2]))


def test_dropout_train_mode_on_strict():
    ta.seed(3)
    x = ta.Variable(to_dev(np.full((50, 40), 2.0), "strict"))
    y = F.dropout(x, p=0.25)
    F.sum(y).backward()
    assert type(y.data) is backend.StrictArray and type(x.grad.data) is backend.StrictArray
    out = backend.as_numpy(y)
    assert set(np.unique(out).tolist()) == {0.0, 2.0 / 0.75}
    assert 0.15 < (out == 0).mean() < 0.35
    np.testing.assert_allclose(backend.as_numpy(x.grad), (out != 0) / 0.75)


def test_split_unstack_outputs_are_device_arrays():
    x = ta.Variable(to_dev(np.arange(24.0).reshape(2, 3, 4), "strict"))
    parts = F.split(x, [1, 3], axis=2) + F.unstack(x, axis=1)
    assert [p.shape for p in parts] == [(2, 3, 1), (2, 3, 2), (2, 3, 1), (2, 4), (2, 4), (2, 4)]
    assert all(type(p.data) is backend.StrictArray for p in parts)
    np.testing.assert_array_equal(backend.as_numpy(parts[4]), np.arange(24.0).reshape(2, 3, 4)[:, 1])


def test_detect_anomaly_works_on_strict():
    x = ta.Variable(to_dev(np.array([1.0, -1.0]), "strict"))
    with ta.detect_anomaly(), np.errstate(invalid="ignore"), \
            pytest.raises(FloatingPointError, match="Log"):
        F.log(x)


def test_variable_to_device_round_trip_with_grad():
    x = ta.Variable(np.arange(6.0).reshape(2, 3))
    F.sum(x * x).backward()
    assert x.to_device("strict") is x
    assert type(x.data) is backend.StrictArray and type(x.grad.data) is backend.StrictArray
    y = F.tanh(x)
    assert backend.device_of(y) == "strict"
    assert x.to_cpu() is x
    assert type(x.data) is np.ndarray and type(x.grad.data) is np.ndarray
    np.testing.assert_array_equal(x.data, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.grad.data, 2 * np.arange(6.0).reshape(2, 3))
