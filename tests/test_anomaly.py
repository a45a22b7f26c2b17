"""The engine's diagnostics module: op errors, the anomaly hook and how the engine calls it."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import anomaly, core
from tinygrad_attn import functions as F


class RecordingHook:
    """A hook that records what the engine tells it and changes nothing."""

    def __init__(self):
        self.events = []

    def forward(self, f, inputs, outputs):
        self.events.append(("forward", type(f).__name__, len(inputs), len(outputs)))

    def backward(self, f, gys):
        self.events.append(("backward", type(f).__name__, len(gys)))
        return f.backward(*gys)


@pytest.fixture
def recording_hook(monkeypatch):
    hook = RecordingHook()
    monkeypatch.setattr(anomaly, "hook", hook)
    return hook


# ----------------------------------------------------------------------------- the hook
def test_engine_calls_the_hook_for_every_forward_and_backward(recording_hook):
    x = ta.Variable(np.array([1.0, 2.0]))
    y = F.sum(F.tanh(x) * 3.0)
    assert [e[1] for e in recording_hook.events] == ["Tanh", "Mul", "Sum"]
    recording_hook.events.clear()
    y.backward()
    backward_ops = [e[1] for e in recording_hook.events if e[0] == "backward"]
    assert backward_ops == ["Sum", "Mul", "Tanh"]  # latest generation first
    forward_in_backward = [e[1] for e in recording_hook.events if e[0] == "forward"]
    assert forward_in_backward  # the backward passes run ops too, and the hook sees them
    np.testing.assert_allclose(x.grad.data, 3 * (1 - np.tanh([1.0, 2.0]) ** 2))


def test_hook_sees_every_output_of_a_multi_output_op(recording_hook):
    parts = F.split(ta.Variable(np.arange(6.0).reshape(2, 3)), 3, axis=1)
    assert len(parts) == 3
    assert recording_hook.events == [("forward", "Split", 1, 3)]


def test_no_hook_outside_anomaly_mode_and_restored_after_nesting():
    assert anomaly.hook is None
    with ta.detect_anomaly():
        outer = anomaly.hook
        assert isinstance(outer, anomaly.AnomalyHook)
        with ta.detect_anomaly():
            assert anomaly.hook is not outer
        assert anomaly.hook is outer
    assert anomaly.hook is None
    with pytest.raises(RuntimeError), ta.detect_anomaly():
        raise RuntimeError("leave the block by an error")
    assert anomaly.hook is None


def test_detect_anomaly_as_decorator():
    @ta.detect_anomaly()
    def log_of(v):
        return F.log(v)

    with np.errstate(divide="ignore"), pytest.raises(FloatingPointError, match="Log produced"):
        log_of(ta.Variable(np.array([0.0])))
    assert anomaly.hook is None


def test_anomaly_names_the_op_whose_backward_produced_nan_and_its_line():
    class HalfNaN(ta.Function):
        def forward(self, x):
            return x.copy()

        def backward(self, gy):
            return gy * ta.Variable(np.array([1.0, np.nan]))

    x = ta.Variable(np.array([1.0, 2.0]))
    with ta.detect_anomaly():
        y = HalfNaN()(x)  # the creation site
        with pytest.raises(FloatingPointError) as ei:
            F.sum(y * 2.0).backward()
    msg = str(ei.value)
    # the NaN is made by a Mul run inside HalfNaN.backward: the message blames HalfNaN
    assert "in backward (inside HalfNaN.backward)" in msg
    assert "HalfNaN was created at" in msg and "y = HalfNaN()(x)  # the creation site" in msg


def test_a_failed_backward_does_not_leave_a_stale_culprit():
    class Fails(ta.Function):
        def forward(self, x):
            return x.copy()

        def backward(self, gy):
            raise ArithmeticError("backward failed")

    with ta.detect_anomaly(), np.errstate(divide="ignore"):
        x = ta.Variable(np.array([1.0]))
        with pytest.raises(ArithmeticError):
            F.sum(Fails()(x)).backward()
        assert anomaly.hook.backward_of is None
        with pytest.raises(FloatingPointError) as ei:
            F.log(ta.Variable(np.array([0.0])))
    assert "in forward" in str(ei.value) and "Log was created at" in str(ei.value)


# ----------------------------------------------------------------------------- op errors
def test_op_error_names_op_arguments_and_input_shapes():
    class Boom(ta.Function):
        def forward(self, x, y):
            raise TypeError("wrong kind")

        def _describe_args(self):
            return "(k=3)"

    with pytest.raises(anomaly.OpTypeError) as ei:
        Boom()(ta.Variable(np.ones((2, 3))), ta.Variable(np.ones(4, np.float32)))
    msg = str(ei.value)
    assert msg == "Boom(k=3): inputs ((2, 3) float64, (4,) float32): wrong kind"
    assert isinstance(ei.value, TypeError) and isinstance(ei.value, ta.OpError)
    assert isinstance(ei.value.__cause__, TypeError)


def test_names_stay_importable_from_core_and_the_package():
    assert core.OpError is anomaly.OpError is ta.OpError
    assert core.detect_anomaly is anomaly.detect_anomaly is ta.detect_anomaly
    assert core.OpTypeError is anomaly.OpTypeError


def test_describe():
    assert anomaly.describe(ta.Variable(np.zeros((2, 1), np.int64))) == "(2, 1) int64"
    assert anomaly.describe(np.zeros(3)) == "(3,) float64"
    assert anomaly.describe(2.5) == "2.5"


# ----------------------------------------------------------------------------- the output helper
def test_output_helper_makes_leaf_or_linked_variables():
    v = core._output(np.float64(2.0))  # NumPy reductions of 0-d arrays return scalars
    assert type(v) is ta.Variable and type(v.data) is np.ndarray and v.shape == ()
    assert v.creator is None and v.generation == 0 and v.grad is None and v.name is None
    a = np.ones(3)
    f = ta.Function()
    w = core._output(a, f, 4)
    assert w.data is a  # no copy, no conversion
    assert w.creator is f and w.generation == 4


def test_op_outputs_point_back_in_grad_mode_only():
    x = ta.Variable(np.ones((2, 3)))
    y = F.tanh(x)
    assert y.creator is not None and y.generation == 1 and y.creator.outputs[0]() is y
    parts = F.split(y, 3, axis=1)
    assert [p.generation for p in parts] == [2, 2, 2]
    assert [r() for r in parts[0].creator.outputs] == parts
    with ta.no_grad():
        z = F.tanh(x)
        s = F.sum(x)
    assert z.creator is None and z.generation == -1  # a no_grad result: backward() refuses it
    assert type(s.data) is np.ndarray and s.shape == ()


def test_gradient_sums_are_fresh_variables_not_shared_with_a_consumer():
    x = ta.Variable(np.array([1.0, 2.0]))
    y = x * 2.0
    (F.sum(y) + F.sum(y * y) + F.sum(y)).backward()
    np.testing.assert_allclose(x.grad.data, 2 * (1 + 2 * np.array([2.0, 4.0]) + 1))
