"""Device helpers for tests: the device list, moving arrays, and a ``device`` fixture.

Use in a test module::

    from tests.devices import device, to_dev, to_host, assert_on_device  # noqa: F401

    def test_something(device):          # runs once on "cpu" and once on "strict"
        x = ta.Variable(to_dev(np.ones((2, 3)), device))
        y = F.tanh(x)
        assert_on_device(y, device)

``"strict"`` is the stand-in device of :mod:`tinygrad_attn.backend`: it refuses any
host NumPy array mixed into device code, so a test that passes on it proves the
code would not mix host and GPU arrays on CuPy. ``"cuda"`` is in :data:`DEVICES`
only when CuPy and a CUDA device are present.

The second half of the file is a table of op cases (:data:`OP_CASES`) with
:func:`run_case`, shared by ``tests/functions/test_ops_strict.py`` (stand-in vs
NumPy) and ``tests/test_gpu.py`` (CuPy vs NumPy).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import backend
from tinygrad_attn import functions as F

__all__ = ["DEVICES", "HOST_AND_STRICT", "device", "any_device", "to_dev", "to_host",
           "array_type", "assert_on_device", "requires_gpu", "OpCase", "OP_CASES", "run_case",
           "CaseResult"]

HOST_AND_STRICT = ["cpu", "strict"]
DEVICES = HOST_AND_STRICT + (["cuda"] if ta.gpu_available() else [])
"""Devices usable on this machine: always ``"cpu"`` and ``"strict"``, plus ``"cuda"``."""

requires_gpu = pytest.mark.skipif(not ta.gpu_available(), reason="needs CuPy and a CUDA device")
"""Skip marker for tests that need a real GPU (combine with ``@pytest.mark.gpu``)."""


@pytest.fixture(params=HOST_AND_STRICT)
def device(request):
    """The device name, ``"cpu"`` then ``"strict"`` (the test runs once per device)."""
    return request.param


@pytest.fixture(params=DEVICES)
def any_device(request):
    """Like :func:`device`, plus ``"cuda"`` when a GPU is available."""
    return request.param


def to_dev(a, device: str):
    """Copy ``a`` (array, list or number; any device) onto ``device``.

    Args:
        a: array-like of any shape.
        device: ``"cpu"``, ``"strict"`` or ``"cuda"``.

    Returns:
        An array of ``device``'s type with ``a``'s shape, dtype and values.
    """
    return backend.as_device(a, device)


def to_host(x):
    """Return ``x`` (array or Variable, any device) as a host ``numpy.ndarray``."""
    return backend.as_numpy(x)


def array_type(device: str) -> type:
    """The array class of ``device`` (``numpy.ndarray``, ``StrictArray`` or ``cupy.ndarray``)."""
    if device == "cpu":
        return np.ndarray
    if device == "strict":
        return backend.StrictArray
    import cupy

    return cupy.ndarray


def assert_on_device(x, device: str, what: str = "array"):
    """Assert that ``x`` (an array or a Variable) lives on ``device``.

    Raises:
        AssertionError: naming ``what``, the expected and the actual array type.
    """
    data = x.data if isinstance(x, ta.Variable) else x
    want = array_type(device)
    assert type(data) is want, f"{what} is a {type(data).__name__}, expected {want.__name__} on {device}"


# ----------------------------------------------------------------------------- op cases
@dataclass
class OpCase:
    """One call of one or more ops with fixed host inputs, runnable on any device.

    Attributes:
        id: test id.
        covers: names in ``F.__all__`` this case exercises.
        fn: ``fn(*variables, *constants) -> Variable or list of Variables``.
        inputs: host float64 arrays that become differentiable Variables.
        consts: host arrays (labels, indices, masks) moved to the device as plain arrays.
        second_order: also compare gradients of gradients (``create_graph=True``).
        test_mode: run under :class:`tinygrad_attn.test_mode`.
    """

    id: str
    covers: tuple
    fn: object
    inputs: list
    consts: list = field(default_factory=list)
    second_order: bool = True
    test_mode: bool = False


@dataclass
class CaseResult:
    """Host copies of what a case computed, plus the device arrays' types.

    Attributes:
        outputs: forward results, one host array per output.
        grads: first-order gradients of the inputs (None where no gradient reached).
        grads2: second-order gradients (empty when not computed).
        types: the array type of every output, gradient and second gradient.
    """

    outputs: list
    grads: list
    grads2: list
    types: list


def _r(seed, *shape, low=None):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(a) + low if low is not None else a


def run_case(case: OpCase, device: str) -> CaseResult:
    """Run ``case`` on ``device``: forward, backward, and optionally double backward.

    Outputs are reduced to a scalar with fixed random weights (on the device) so every
    output gets a gradient; the second-order pass differentiates ``sum(grad * v)``.

    Args:
        case: the case to run.
        device: device name.

    Returns:
        A :class:`CaseResult` with host copies and the array types seen.
    """
    xs = [ta.Variable(to_dev(a, device), name=f"x{i}") for i, a in enumerate(case.inputs)]
    cs = [to_dev(c, device) for c in case.consts]
    types = []
    if case.test_mode:
        with ta.test_mode():
            ys = case.fn(*xs, *cs)
    else:
        ys = case.fn(*xs, *cs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    loss = None
    for k, y in enumerate(ys):
        w = ta.Variable(to_dev(_r(100 + k, *y.shape), device))
        term = F.sum(y * w)
        loss = term if loss is None else loss + term
    loss.backward(create_graph=case.second_order)
    outputs = [to_host(y) for y in ys]
    grads = [None if x.grad is None else to_host(x.grad) for x in xs]
    types += [type(y.data) for y in ys] + [type(x.grad.data) for x in xs if x.grad is not None]
    grads2 = []
    if case.second_order:
        gxs = [x.grad for x in xs]
        for x in xs:
            x.cleargrad()
        total = None
        for i, g in enumerate(gxs):
            if g is None or g.creator is None:
                continue
            v = ta.Variable(to_dev(_r(200 + i, *g.shape), device))
            term = F.sum(g * v)
            total = term if total is None else total + term
        if total is not None:
            total.backward()
        grads2 = [None if x.grad is None else to_host(x.grad) for x in xs]
        types += [type(x.grad.data) for x in xs if x.grad is not None]
    return CaseResult(outputs, grads, grads2, types)


_IDS = np.array([[1, 3, 1], [0, 3, 3]])  # repeated ids: gradients must accumulate
_LABELS = np.array([[0, 2, -1, 1], [3, -1, 2, 2]])  # -1 = ignored
_MASK = np.random.default_rng(7).random((3, 4)) < 0.5
_TIES = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, -1.0, 0.5], [2.0, -1.0, 0.0, 1.0]])


def _case(id, covers, fn, inputs, consts=(), **kw):
    covers = (covers,) if isinstance(covers, str) else tuple(covers)
    return OpCase(id, covers, fn, list(inputs), list(consts), **kw)


OP_CASES = [
    # element-wise arithmetic with broadcasting
    _case("add-bcast", "add", lambda a, b: F.add(a, b), [_r(1, 3, 4), _r(2, 4)]),
    _case("sub-bcast", "sub", lambda a, b: F.sub(a, b), [_r(1, 2, 3, 4), _r(2, 3, 1)]),
    _case("mul-outer", "mul", lambda a, b: F.mul(a, b), [_r(1, 3, 1), _r(2, 1, 4)]),
    _case("div-bcast", "div", lambda a, b: F.div(a, b), [_r(1, 3, 4), _r(2, 4, low=0.5)]),
    _case("pow-var", "pow", lambda a, b: F.pow(a, b), [_r(1, 3, 4, low=0.5), _r(2, 4)]),
    _case("pow-const", "pow", lambda a: F.pow(a, 3) + a ** -1.5, [_r(1, 3, 4, low=0.5)]),
    _case("reflected", ("rsub", "rdiv", "rpow"),
          lambda a: F.rsub(a, 2.0) + F.rdiv(a, 3.0) + F.rpow(a, 2.0), [_r(1, 3, 4, low=0.5)]),
    _case("operators-scalars", ("neg",), lambda a: -(2.0 - a) * 1.5 / (a + 3.0) + 1 - a,
          [_r(1, 2, 5, low=0.1)]),
    _case("neg", "neg", lambda a: F.neg(a) * a, [_r(1, 5)]),
    _case("exp", "exp", F.exp, [_r(1, 3, 4)]),
    _case("log", "log", F.log, [_r(1, 3, 4, low=0.2)]),
    _case("tanh", "tanh", F.tanh, [_r(1, 3, 4)]),
    _case("sigmoid", "sigmoid", F.sigmoid, [_r(1, 3, 4) * 5]),
    _case("relu", "relu", F.relu, [_r(1, 3, 4)]),
    _case("sqrt", "sqrt", F.sqrt, [_r(1, 3, 4, low=0.3)]),
    _case("square", "square", F.square, [_r(1, 3, 4)]),
    _case("abs", "abs", F.abs, [_r(1, 3, 4)]),
    _case("clip", "clip", lambda a: F.clip(a, -0.5, 0.7) * a, [_r(1, 3, 4)]),
    _case("where-device-mask", "where", lambda a, b, m: F.where(m, a, b) * a,
          [_r(1, 3, 4), _r(2, 4)], [_MASK]),
    # reductions
    _case("sum-all", "sum", lambda a: F.sum(a) * a, [_r(1, 2, 3, 4)]),
    _case("sum-axes", "sum", lambda a: F.sum(a, axis=(0, 2)) ** 2, [_r(1, 2, 3, 4)]),
    _case("sum-keepdims", "sum", lambda a: F.sum(a, axis=1, keepdims=True) * a, [_r(1, 3, 4)]),
    _case("mean", "mean", lambda a: F.mean(a, axis=0) ** 2 + F.mean(a), [_r(1, 3, 4)]),
    _case("max-ties", "max", lambda a: F.max(a, axis=1) * 2.0 + F.max(a), [_TIES]),
    _case("min-keepdims", "min", lambda a: F.min(a, axis=0, keepdims=True) * a, [_TIES]),
    _case("logsumexp", "logsumexp", lambda a: F.logsumexp(a, axis=-1) ** 2, [_r(1, 2, 3, 5)]),
    # products
    _case("matmul-2d", "matmul", F.matmul, [_r(1, 3, 4), _r(2, 4, 5)]),
    _case("matmul-batch-bcast", "matmul", lambda a, b: a @ b, [_r(1, 2, 1, 3, 4), _r(2, 3, 4, 2)]),
    _case("matmul-vector", "matmul", lambda a, b: F.matmul(a, b) * F.matmul(b, b),
          [_r(1, 2, 3, 4), _r(2, 4)]),
    _case("linear-3d-bias", "linear", F.linear, [_r(1, 2, 3, 4), _r(2, 4, 5), _r(3, 5)]),
    _case("linear-nobias", "linear", lambda x, W: F.linear(x, W) ** 2, [_r(1, 3, 4), _r(2, 4, 2)]),
    # shapes
    _case("reshape", "reshape", lambda a: F.reshape(a, (4, -1)) ** 2, [_r(1, 2, 3, 4)]),
    _case("transpose", "transpose", lambda a: [F.transpose(a, (2, 0, 1)) ** 2, F.transpose(a) * a.T],
          [_r(1, 2, 3, 4)]),
    _case("swapaxes", "swapaxes", lambda a: F.swapaxes(a, 0, 2) ** 2, [_r(1, 2, 3, 4)]),
    _case("broadcast_to", "broadcast_to", lambda a: F.broadcast_to(a, (2, 3, 4)) ** 2, [_r(1, 3, 1)]),
    _case("sum_to", "sum_to", lambda a: F.sum_to(a, (3, 1)) ** 2, [_r(1, 2, 3, 4)]),
    _case("getitem-basic", "get_item", lambda a: a[1:, ::2] ** 2, [_r(1, 3, 4)]),
    _case("getitem-device-idx", "get_item", lambda a, i: F.get_item(a, i) ** 2, [_r(1, 4, 3)],
          [np.array([2, 0, 2, 3, 2])]),
    _case("getitem-tuple-idx", "get_item", lambda a, i, j: a[i, j] ** 2 + a[:, j].sum(),
          [_r(1, 4, 3)], [np.array([0, 3, 3, 1]), np.array([2, 1, 1, 0])]),
    _case("getitem-bool-mask", "get_item", lambda a, m: F.get_item(a, m) ** 2, [_r(1, 3, 4)],
          [_MASK]),
    _case("concat", "concat", lambda a, b, c: F.concat([a, b, c], axis=1) ** 2,
          [_r(1, 2, 1, 3), _r(2, 2, 4, 3), _r(3, 2, 2, 3)]),
    _case("split-sections", "split", lambda a: [p ** 2 for p in F.split(a, 3, axis=1)],
          [_r(1, 2, 6)]),
    _case("split-points-unused", "split", lambda a: F.split(a, [1, 4], axis=0)[1] ** 2,
          [_r(1, 5, 2)]),
    _case("stack", "stack", lambda a, b: F.stack([a, b, a], axis=1) ** 2, [_r(1, 2, 3), _r(2, 2, 3)]),
    _case("unstack", "unstack", lambda a: [p * (k + 1.0) for k, p in enumerate(F.unstack(a, axis=1))],
          [_r(1, 2, 4, 3)]),
    _case("unstack-partial", "unstack", lambda a: F.unstack(a, axis=0)[2] ** 2, [_r(1, 3, 2)]),
    _case("expand-squeeze", ("expand_dims", "squeeze"),
          lambda a: F.squeeze(F.expand_dims(a, -1) ** 2, 2), [_r(1, 2, 3)]),
    _case("flip", "flip", lambda a: F.flip(a, 1) * a, [_r(1, 2, 5)]),
    _case("flatten", "flatten", lambda a: F.flatten(a) ** 2, [_r(1, 2, 3, 4)]),
    # neural-network ops
    _case("softmax", "softmax", lambda a: F.softmax(a, axis=-1) * F.softmax(a, axis=0),
          [_r(1, 2, 3, 5)]),
    _case("log_softmax", "log_softmax", lambda a: F.log_softmax(a) ** 2, [_r(1, 3, 5)]),
    _case("softmax-ce-ignore", "softmax_cross_entropy",
          lambda x, t: F.softmax_cross_entropy(x, t, ignore_label=-1), [_r(1, 2, 4, 5)], [_LABELS]),
    _case("softmax-ce-2d", "softmax_cross_entropy",
          lambda x, t: F.softmax_cross_entropy(x, t, ignore_label=2), [_r(1, 6, 4)],
          [np.array([0, 2, 3, 1, 2, 0])]),
    _case("mse", "mean_squared_error", F.mean_squared_error, [_r(1, 3, 4), _r(2, 3, 4)]),
    _case("dropout-test-mode", "dropout", lambda a: F.dropout(a, 0.5) ** 2, [_r(1, 3, 4)],
          test_mode=True),
    _case("embedding-repeated", "embedding", lambda W, ids: F.embedding(W, ids) ** 2,
          [_r(1, 5, 3)], [_IDS]),
    _case("attention-step", ("attention_weight", "weight_sum"),
          lambda hs, h: F.weight_sum(hs, F.attention_weight(hs, h)), [_r(1, 2, 4, 3), _r(2, 2, 3)]),
    _case("attention-all-steps", ("attention_weight", "weight_sum"),
          lambda hs, h: [F.weight_sum(hs, F.attention_weight(hs, h)), F.attention_weight(hs, h)],
          [_r(1, 2, 4, 3), _r(2, 2, 5, 3)]),
]
"""Representative calls of every op in ``F.__all__`` (checked by ``test_every_op_is_covered``)."""
