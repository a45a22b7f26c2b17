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

The second half of the file runs the op cases of :mod:`tinygrad_attn.checks.opcases`
(:data:`OP_CASES`, re-exported here) on a device with :func:`run_case`, for
``tests/functions/test_ops_strict.py`` (stand-in vs NumPy) and ``tests/test_gpu.py``
(CuPy vs NumPy). The same table feeds ``tinygrad-attn gradcheck op``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import backend
from tinygrad_attn import functions as F
from tinygrad_attn.checks.opcases import OP_CASES, OpCase

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


def _r(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def run_case(case: OpCase, device: str) -> CaseResult:
    """Run ``case`` (from :data:`tinygrad_attn.checks.opcases.OP_CASES`) on ``device``: forward,
    backward, and optionally double backward.

    Outputs are reduced to a scalar with fixed random weights (on the device) so every
    output gets a gradient; the second-order pass differentiates ``sum(grad * v)``.

    Args:
        case: the case to run.
        device: device name.

    Returns:
        A :class:`CaseResult` with host copies and the array types seen.
    """
    xs = [ta.Variable(to_dev(a, device), name=f"x{i}") for i, a in enumerate(case.arrays())]
    cs = [to_dev(c, device) for c in case.consts]
    types = []
    ys = case.call(*xs, *cs)
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
