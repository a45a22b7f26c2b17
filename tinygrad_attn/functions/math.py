"""Element-wise primitives: arithmetic with NumPy broadcasting, exp, log, tanh, sigmoid, relu, ..."""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from ..core import Function, OpError, Variable, as_variable
from .shape import sum_to

__all__ = [
    "add", "sub", "rsub", "mul", "div", "rdiv", "neg", "pow", "rpow", "exp", "log", "tanh",
    "sigmoid", "relu", "where", "clip", "sqrt", "square", "abs",
]


def _check_broadcast(op, a, b):
    sa, sb = a.shape, b.shape
    if sa == sb:
        return
    for x, y in zip(reversed(sa), reversed(sb)):
        if x != y and x != 1 and y != 1:
            raise OpError(f"{op}: shapes {sa} and {sb} cannot be broadcast together "
                          f"(dtypes {a.dtype}, {b.dtype})")


class _Binary(Function):
    """Binary op with broadcasting; subclasses give forward and the two raw gradients."""

    def _reduce(self, gx0, gx1):
        x0, x1 = self.inputs
        s0 = x0.data.shape
        s1 = x1.data.shape
        if gx0 is not None and gx0.data.shape != s0:
            gx0 = sum_to(gx0, s0)
        if gx1 is not None and gx1.data.shape != s1:
            gx1 = sum_to(gx1, s1)
        return gx0, gx1


class Add(_Binary):
    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        return self._reduce(gy, gy)


class Sub(_Binary):
    def forward(self, x0, x1):
        return x0 - x1

    def backward(self, gy):
        return self._reduce(gy, -gy)


class Mul(_Binary):
    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs
        # Mul() directly rather than ``gy * x1``: gy has the broadcast shape of the
        # inputs, so the broadcast check of the operator cannot fail here.
        return self._reduce(Mul()(gy, x1), Mul()(gy, x0))


class Div(_Binary):
    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = gy / x1
        return self._reduce(gx0, gx0 * (-x0 / x1))


class Pow(_Binary):
    """``x0 ** x1`` with both operands differentiable (x0 > 0 where x1 gets a gradient)."""

    def forward(self, x0, x1):
        return x0 ** x1

    def backward(self, gy):
        x0, x1 = self.inputs
        y = self.outputs[0]()
        gx0 = gy * x1 * x0 ** (x1 - 1)
        xp = get_array_module(x0.data)
        pos = x0.data > 0  # d/dx1 x0**x1 = y log(x0) exists only where x0 > 0
        safe = where(pos, x0, Variable(xp.ones((), dtype=x0.dtype)))
        gx1 = gy * y * where(pos, log(safe), Variable(xp.zeros((), dtype=x0.dtype)))
        return self._reduce(gx0, gx1)


class PowConst(Function):
    """``x ** c`` for a constant number ``c``."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        x, = self.inputs
        c = self.c
        return gy * (x ** (c - 1) * c)

    def _describe_args(self):
        return f"(c={self.c})"


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def _pair(x0, x1, op):
    """Return ``(x0, x1)`` as Variables (numbers take the other's dtype); check broadcasting."""
    if isinstance(x0, Variable):
        if not isinstance(x1, Variable):
            x1 = as_variable(x1, x0)
    else:
        x1 = as_variable(x1)
        x0 = as_variable(x0, x1)
    a, b = x0.data, x1.data
    if a.shape != b.shape:
        _check_broadcast(op, a, b)
    return x0, x1


# The binary ops below test the common case (two Variables of the same shape) inline
# before falling back to _pair: they are called for every ``+ - * /`` of every step.

def add(x0, x1):
    """``x0 + x1`` with NumPy broadcasting."""
    if not (isinstance(x0, Variable) and isinstance(x1, Variable)
            and x0.data.shape == x1.data.shape):
        x0, x1 = _pair(x0, x1, "Add")
    return Add()(x0, x1)


def sub(x0, x1):
    """``x0 - x1`` with NumPy broadcasting."""
    if not (isinstance(x0, Variable) and isinstance(x1, Variable)
            and x0.data.shape == x1.data.shape):
        x0, x1 = _pair(x0, x1, "Sub")
    return Sub()(x0, x1)


def rsub(x0, x1):
    """``x1 - x0`` (reflected)."""
    x0, x1 = _pair(x0, x1, "Sub")
    return Sub()(x1, x0)


def mul(x0, x1):
    """``x0 * x1`` with NumPy broadcasting."""
    if not (isinstance(x0, Variable) and isinstance(x1, Variable)
            and x0.data.shape == x1.data.shape):
        x0, x1 = _pair(x0, x1, "Mul")
    return Mul()(x0, x1)


def div(x0, x1):
    """``x0 / x1`` with NumPy broadcasting."""
    if not (isinstance(x0, Variable) and isinstance(x1, Variable)
            and x0.data.shape == x1.data.shape):
        x0, x1 = _pair(x0, x1, "Div")
    return Div()(x0, x1)


def rdiv(x0, x1):
    """``x1 / x0`` (reflected)."""
    x0, x1 = _pair(x0, x1, "Div")
    return Div()(x1, x0)


def neg(x):
    """``-x``."""
    return Neg()(x)


def pow(x, c):  # noqa: A001 - mirrors the operator
    """``x ** c``; ``c`` a number (constant) or a Variable (differentiable)."""
    if isinstance(c, Variable) or (hasattr(c, "shape") and c.ndim > 0 and not isinstance(c, np.generic)):
        x, c = _pair(x, c, "Pow")
        return Pow()(x, c)
    if hasattr(c, "shape"):  # a NumPy scalar or 0-d array: a constant exponent
        c = c.item()
    return PowConst(c)(x)


def rpow(x, c):
    """``c ** x`` (reflected)."""
    x, c = _pair(x, c, "Pow")
    return Pow()(c, x)


def square(x):
    """``x ** 2``."""
    return PowConst(2)(x)


def sqrt(x):
    """``x ** 0.5``."""
    return PowConst(0.5)(x)


class Exp(Function):
    def forward(self, x):
        return get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.outputs[0]()


def exp(x):
    """Element-wise ``e**x``."""
    return Exp()(x)


class Log(Function):
    def forward(self, x):
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


def log(x):
    """Element-wise natural logarithm."""
    return Log()(x)


class Abs(Function):
    def forward(self, x):
        return get_array_module(x).abs(x)

    def backward(self, gy):
        x, = self.inputs
        xp = get_array_module(x.data)
        return gy * Variable(xp.sign(x.data))


def abs(x):  # noqa: A001
    """Element-wise absolute value (gradient 0 at 0)."""
    return Abs()(x)


class Tanh(Function):
    def forward(self, x):
        return get_array_module(x).tanh(x)

    def backward(self, gy):
        return TanhGrad()(self.outputs[0](), gy)


class TanhGrad(Function):
    """``gy * (1 - y**2)`` as one node (the backward of tanh, itself differentiable)."""

    def forward(self, y, gy):
        return gy * (1 - y * y)

    def backward(self, gz):
        y, gy = self.inputs
        return gz * gy * y * -2.0, TanhGrad()(y, gz)


def tanh(x):
    """Element-wise hyperbolic tangent."""
    return Tanh()(x)


class Sigmoid(Function):
    def forward(self, x):
        # 0.5 * tanh(x / 2) + 0.5 equals 1 / (1 + exp(-x)) and never overflows.
        xp = get_array_module(x)
        y = xp.tanh(x * 0.5)
        y *= 0.5
        y += 0.5
        return y

    def backward(self, gy):
        return SigmoidGrad()(self.outputs[0](), gy)


class SigmoidGrad(Function):
    """``gy * y * (1 - y)`` as one node (the backward of sigmoid, itself differentiable)."""

    def forward(self, y, gy):
        return gy * y * (1 - y)

    def backward(self, gz):
        y, gy = self.inputs
        return gz * gy * (1 - 2 * y), SigmoidGrad()(y, gz)


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, stable for any ``x``."""
    return Sigmoid()(x)


class ReLU(Function):
    def forward(self, x):
        return get_array_module(x).maximum(x, 0)  # one pass (x * (x > 0) takes two)

    def backward(self, gy):
        x, = self.inputs
        return gy * Variable(x.data > 0)  # a boolean mask: the product casts it in its own pass


def relu(x):
    """``max(x, 0)`` element-wise."""
    return ReLU()(x)


class Where(Function):
    def __init__(self, cond):
        self.cond = cond

    def forward(self, x0, x1):
        return get_array_module(x0).where(self.cond, x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        xp = get_array_module(gy.data)
        zero = Variable(xp.zeros((), dtype=gy.dtype))
        gx0 = where(self.cond, gy, zero)
        gx1 = where(self.cond, zero, gy)
        if gx0.shape != x0.shape:
            gx0 = sum_to(gx0, x0.shape)
        if gx1.shape != x1.shape:
            gx1 = sum_to(gx1, x1.shape)
        return gx0, gx1


def where(cond, x0, x1):
    """``x0`` where ``cond`` is true, else ``x1`` (all three broadcast). ``cond`` gets no grad."""
    if isinstance(cond, Variable):
        cond = cond.data
    if not hasattr(cond, "dtype"):
        ref = x0 if isinstance(x0, Variable) else x1
        cond = get_array_module(getattr(ref, "data", ref)).asarray(cond)
    x0, x1 = _pair(x0, x1, "Where")
    if cond.dtype.kind != "b":
        raise OpError(f"where: cond must be a boolean array, got dtype {cond.dtype}")
    xp = get_array_module(x0.data)
    try:
        xp.broadcast_shapes(cond.shape, x0.shape, x1.shape)
    except ValueError:
        raise OpError(f"where: shapes cond {cond.shape}, x0 {x0.shape}, x1 {x1.shape} cannot be "
                      "broadcast together") from None
    return Where(cond)(x0, x1)


class Clip(Function):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        x, = self.inputs
        d = x.data
        mask = (d >= self.lo) & (d <= self.hi)
        return gy * Variable(mask.astype(gy.dtype))

    def _describe_args(self):
        return f"(lo={self.lo}, hi={self.hi})"


def clip(x, lo, hi):
    """Limit ``x`` to ``[lo, hi]``; the gradient is zero where clipped."""
    lo = float("-inf") if lo is None else lo
    hi = float("inf") if hi is None else hi
    if hasattr(lo, "shape") and getattr(lo, "ndim", 0) or hasattr(hi, "shape") and getattr(hi, "ndim", 0):
        raise OpError("clip: lo and hi must be numbers (use F.where for element-wise bounds)")
    if lo > hi:
        raise OpError(f"clip: lo={lo} is greater than hi={hi}")
    return Clip(lo, hi)(x)
