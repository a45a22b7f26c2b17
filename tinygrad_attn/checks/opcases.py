"""Op cases: representative calls of every op of ``F``, used by the checks and the tests.

One table, :data:`OP_CASES`, serves three readers:

* ``tinygrad-attn gradcheck op NAME`` gradient-checks a case against central differences
  (:func:`check_op_case`);
* ``tests/functions/test_ops_strict.py`` runs every case on NumPy and on the strict
  stand-in device and compares outputs, gradients and second-order gradients;
* ``tests/test_gpu.py`` does the same on CuPy when a GPU is present.

Every op in ``F.__all__`` has a case whose ``id`` is the op's name (the tests check it);
other cases add variants worth checking (ties, masks, broadcasting, unused outputs).

Adding an op is one entry in :data:`OP_CASES`::

    case("layer_norm", lambda x, g, b: F.layer_norm(x, g, b), [normal(2, 3, 4), normal(4), normal(4)],
         about="x (2, 3, 4) normalised over the last axis, gain and bias (4,)"),

Inputs are drawn from a seeded Generator (:func:`normal`, :func:`positive`,
:func:`away`) or given as fixed arrays; ``consts`` are non-differentiable arrays (labels,
indices, masks) that the tests move to the device with the inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import functions as F
from ..backend import get_array_module
from ..core import test_mode
from .gradcheck import gradcheck, join_outputs

__all__ = ["OpCase", "Draw", "normal", "positive", "away", "draw_inputs", "describe_inputs",
           "case", "OP_CASES", "find_case", "op_case", "op_case_ids", "check_op_case"]


# ----------------------------------------------------------------------------- input draws
@dataclass(frozen=True)
class Draw:
    """How to draw one float64 input of a case from a Generator.

    Attributes:
        shape: the input's shape.
        kind: ``"normal"`` (standard normal times ``scale``), ``"positive"`` (uniform in
            ``[lo, hi]``) or ``"away"`` (``|x|`` uniform in ``[lo, hi]``, random sign).
        lo: lower bound (``positive``, ``away``).
        hi: upper bound (``positive``, ``away``).
        scale: standard deviation (``normal``).
        avoid: points (e.g. a clip bound) that no value may lie within 0.05 of; such
            values are moved 0.2 up (kinks break central differences).
    """

    shape: tuple
    kind: str = "normal"
    lo: float = 0.0
    hi: float = 1.0
    scale: float = 1.0
    avoid: tuple = ()

    def __call__(self, rng) -> np.ndarray:
        """The drawn host float64 array of ``shape``."""
        if self.kind == "normal":
            a = rng.standard_normal(self.shape) * self.scale
        elif self.kind == "positive":
            a = rng.uniform(self.lo, self.hi, self.shape)
        elif self.kind == "away":
            a = rng.uniform(self.lo, self.hi, self.shape) * rng.choice([-1.0, 1.0], self.shape)
        else:
            raise ValueError(f"Draw: unknown kind {self.kind!r}; use normal, positive or away")
        for p in self.avoid:
            a = np.where(np.abs(a - p) < 0.05, a + 0.2, a)
        return np.asarray(a, dtype=np.float64)


def normal(*shape, scale=1.0, avoid=()):
    """A standard-normal input of ``shape`` (times ``scale``), away from the ``avoid`` points."""
    return Draw(tuple(shape), "normal", scale=scale, avoid=tuple(avoid))


def positive(*shape, lo=0.5, hi=2.0):
    """An input of ``shape`` uniform in ``[lo, hi]`` (for log, sqrt, powers, divisors)."""
    return Draw(tuple(shape), "positive", lo=lo, hi=hi)


def away(*shape, lo=0.2, hi=1.5):
    """An input of ``shape`` with ``|x|`` uniform in ``[lo, hi]``: away from a kink at 0."""
    return Draw(tuple(shape), "away", lo=lo, hi=hi)


def draw_inputs(inputs, seed=0) -> list:
    """Host arrays for a case's ``inputs``: each :class:`Draw` drawn in order from
    ``numpy.random.default_rng(seed)``, each fixed array copied (its dtype kept)."""
    rng = np.random.default_rng(seed)
    return [x(rng) if isinstance(x, Draw) else np.array(x) for x in inputs]


def describe_inputs(inputs) -> str:
    """``"x0 (2, 3), x1 (3,)"``: the shapes of a case's inputs."""
    shapes = [x.shape if isinstance(x, Draw) else np.shape(x) for x in inputs]
    return ", ".join(f"x{i} {s}" for i, s in enumerate(shapes))


# ----------------------------------------------------------------------------- cases
@F.fused_ops(False)
def _composed_lstm_cell(A, c):
    """``F.lstm_cell`` with the fused ops switched off."""
    return F.lstm_cell(A, c)


@dataclass(frozen=True)
class OpCase:
    """One call of one or more ops of ``F``, runnable on any device.

    Attributes:
        id: the case's name (the op's own name for its main case); a test id and a name
            for ``tinygrad-attn gradcheck op``.
        covers: the names in ``F.__all__`` the case exercises.
        fn: ``fn(*variables, *consts)`` returning a Variable or a list of Variables.
        inputs: one :class:`Draw` or fixed host array per differentiable input.
        consts: host arrays passed after the inputs (labels, indices, masks).
        about: a one-line description (default: the input shapes).
        second_order: the tests also compare gradients of gradients.
        test_mode: run under :class:`tinygrad_attn.test_mode`.
        numeric: central differences apply (False for a case placed on a tie or kink on
            purpose: the device tests still run it, the gradient check does not).
        random_draws: the case draws random numbers on the device (the strict stand-in
            draws NumPy's numbers; CuPy draws others, so the GPU comparison skips it).
    """

    id: str
    covers: tuple
    fn: Callable
    inputs: tuple
    consts: tuple = ()
    about: str = ""
    second_order: bool = True
    test_mode: bool = False
    numeric: bool = True
    random_draws: bool = False

    def arrays(self, seed=0) -> list:
        """The host float64 inputs, drawn from ``numpy.random.default_rng(seed)``."""
        return draw_inputs(self.inputs, seed)

    def describe(self) -> str:
        """``about``, or the input shapes when it is empty."""
        return self.about or describe_inputs(self.inputs)

    def call(self, *args) -> list:
        """Run ``fn(*args)`` (under test mode when set); the outputs as a list."""
        if self.test_mode:
            with test_mode():
                ys = self.fn(*args)
        else:
            ys = self.fn(*args)
        return list(ys) if isinstance(ys, (list, tuple)) else [ys]

    def checkable(self, consts=None):
        """A function of the input Variables alone returning one Variable, for gradcheck.

        Args:
            consts: the constants to close over (default: ``self.consts`` on the host).
        """
        cs = list(self.consts) if consts is None else list(consts)
        return lambda *xs: join_outputs(self.call(*xs, *cs), f"op case {self.id}")


def case(id, fn, inputs, *, covers=None, consts=(), **options) -> OpCase:
    """Make an :class:`OpCase`; ``covers`` defaults to the id (a str or a tuple of names)."""
    covers = (id,) if covers is None else ((covers,) if isinstance(covers, str) else covers)
    return OpCase(id, tuple(covers), fn, tuple(inputs), tuple(consts), **options)


def _dropout_fixed_mask(x):
    """Dropout with a mask from a fresh seeded Generator of x's device: one fixed mask."""
    return F.dropout(x, 0.3, rng=get_array_module(x.data).random.default_rng(0))


_IDS = np.array([[1, 3, 1], [0, 3, 3]])               # repeated ids: gradients accumulate
_LABELS = np.array([[0, 2, -1, 1], [3, -1, 2, 2]])     # -1: ignored
_MASK = np.random.default_rng(7).random((3, 4)) < 0.5
_KEYMASK = np.array([[True, False, True, True], [False, False, False, False]])  # row 2: all masked
_BIT_TARGETS = np.concatenate([np.random.default_rng(8).integers(0, 2, (2, 2, 4)),
                               -np.ones((2, 1, 4))], axis=1)  # the last row: not scored
_TIES = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, -1.0, 0.5], [2.0, -1.0, 0.0, 1.0]])
_PADMASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool).reshape(2, 1, 1, 5)
_PAD_IDS = np.array([[4, 2, 7, 0, 0], [3, 0, 5, 1, 6]])


def _composed_layer_norm(x, g, b):
    """``F.layer_norm`` with the fused ops switched off (the composed reference)."""
    with F.fused_ops(False):
        return F.layer_norm(x, g, b)


OP_CASES = (
    # element-wise arithmetic, with broadcasting
    case("add", F.add, [normal(3, 4), normal(4)], about="(3, 4) + (4,) broadcast"),
    case("sub", F.sub, [normal(2, 3, 4), normal(3, 1)], about="(2, 3, 4) - (3, 1) broadcast"),
    case("mul", F.mul, [normal(3, 4), normal(3, 1)], about="(3, 4) * (3, 1) broadcast"),
    case("mul-outer", F.mul, [normal(3, 1), normal(1, 4)], covers="mul",
         about="(3, 1) * (1, 4): both sides broadcast"),
    case("div", F.div, [normal(3, 4), away(4, lo=0.5)],
         about="(3, 4) / (4,) broadcast, |divisor| >= 0.5"),
    case("pow", lambda x, y: [F.pow(x, 3), F.pow(x, y)], [positive(3, 4), normal(4)],
         about="x ** 3 (constant) and x ** y (x > 0, y (4,) broadcast)"),
    case("pow-const", lambda a: F.pow(a, 3) + a ** -1.5, [positive(3, 4)], covers="pow",
         about="x ** 3 + x ** -1.5, x > 0"),
    case("rsub", F.rsub, [normal(3, 4), normal(4)], about="(4,) - (3, 4) broadcast"),
    case("rdiv", lambda x: F.rdiv(x, 2.0), [away(3, 4, lo=0.5)], about="2 / x, |x| >= 0.5"),
    case("rpow", F.rpow, [normal(3, 4), positive(4)], about="c ** x with c (4,) > 0 broadcast"),
    case("reflected", lambda a: F.rsub(a, 2.0) + F.rdiv(a, 3.0) + F.rpow(a, 2.0),
         [positive(3, 4)], covers=("rsub", "rdiv", "rpow"),
         about="2 - x + 3 / x + 2 ** x with Python scalars"),
    case("operators-scalars", lambda a: -(2.0 - a) * 1.5 / (a + 3.0) + 1 - a, [positive(2, 5)],
         covers="neg", about="Python operators between a Variable (2, 5) and scalars"),
    case("neg", lambda a: F.neg(a) * a, [normal(5)], about="-x * x, x (5,)"),
    case("exp", F.exp, [normal(3, 4)]),
    case("log", F.log, [positive(3, 4)], about="x (3, 4) in [0.5, 2]"),
    case("tanh", F.tanh, [normal(3, 4)]),
    case("sigmoid", F.sigmoid, [normal(3, 4, scale=3.0)], about="x (3, 4), standard deviation 3"),
    case("relu", F.relu, [away(3, 4)], about="x (3, 4), |x| >= 0.2"),
    case("sqrt", F.sqrt, [positive(3, 4)], about="x (3, 4) in [0.5, 2]"),
    case("square", F.square, [normal(3, 4)]),
    case("abs", F.abs, [away(3, 4)], about="x (3, 4), |x| >= 0.2"),
    case("clip", lambda a: F.clip(a, -0.5, 0.7) * a, [normal(3, 4, avoid=(-0.5, 0.7))],
         about="clip(x, -0.5, 0.7) * x, x (3, 4) not at the bounds"),
    case("where", lambda a, b, m: F.where(m, a, b) * a, [normal(3, 4), normal(4)], consts=[_MASK],
         about="where(mask (3, 4), x (3, 4), y (4,) broadcast) * x"),
    # reductions
    case("sum", lambda a: F.sum(a, axis=(0, 2)) ** 2, [normal(2, 3, 4)],
         about="(2, 3, 4) over axes (0, 2), squared"),
    case("sum-all", lambda a: F.sum(a) * a, [normal(2, 3, 4)], covers="sum"),
    case("sum-keepdims", lambda a: F.sum(a, axis=1, keepdims=True) * a, [normal(3, 4)],
         covers="sum"),
    case("mean", lambda a: F.mean(a, axis=0) ** 2 + F.mean(a), [normal(3, 4)],
         about="(3, 4) over axis 0 and over all"),
    case("max", lambda x: F.max(x, axis=1), [normal(3, 5)], about="(3, 5) over axis 1 (no ties)"),
    case("max-ties", lambda a: F.max(a, axis=1) * 2.0 + F.max(a), [_TIES], covers="max",
         numeric=False, about="ties: the gradient goes to the first maximum"),
    case("min", lambda x: F.min(x, axis=0), [normal(3, 5)], about="(3, 5) over axis 0 (no ties)"),
    case("min-ties", lambda a: F.min(a, axis=0, keepdims=True) * a, [_TIES], covers="min",
         numeric=False, about="ties, keepdims"),
    case("logsumexp", lambda a: F.logsumexp(a, axis=-1) ** 2, [normal(2, 3, 5)],
         about="(2, 3, 5) over the last axis, squared"),
    # products
    case("matmul", F.matmul, [normal(2, 3, 4), normal(4, 5)],
         about="(2, 3, 4) @ (4, 5) broadcast over the batch"),
    case("matmul-2d", F.matmul, [normal(3, 4), normal(4, 5)], covers="matmul"),
    case("matmul-batch-bcast", lambda a, b: a @ b, [normal(2, 1, 3, 4), normal(3, 4, 2)],
         covers="matmul"),
    case("matmul-vector", lambda a, b: F.matmul(a, b) * F.matmul(b, b), [normal(2, 3, 4), normal(4)],
         covers="matmul", about="(2, 3, 4) @ (4,) and (4,) @ (4,)"),
    case("linear", F.linear, [normal(2, 5, 3), normal(3, 4), normal(4)],
         about="x (2, 5, 3), W (3, 4), b (4,)"),
    case("linear-nobias", lambda x, W: F.linear(x, W) ** 2, [normal(3, 4), normal(4, 2)],
         covers="linear"),
    # shapes
    case("reshape", lambda a: F.reshape(a, (4, -1)) ** 2, [normal(2, 3, 4)],
         about="(2, 3, 4) -> (4, -1), squared"),
    case("transpose", lambda a: [F.transpose(a, (2, 0, 1)) ** 2, F.transpose(a) * a.T],
         [normal(2, 3, 4)], about="(2, 3, 4) axes (2, 0, 1), and reversed (.T)"),
    case("swapaxes", lambda a: F.swapaxes(a, 0, 2) ** 2, [normal(2, 3, 4)],
         about="(2, 3, 4) axes 0 and 2"),
    case("broadcast_to", lambda a: F.broadcast_to(a, (2, 3, 4)) ** 2, [normal(3, 1)],
         about="(3, 1) -> (2, 3, 4)"),
    case("sum_to", lambda a: F.sum_to(a, (3, 1)) ** 2, [normal(2, 3, 4)],
         about="(2, 3, 4) -> (3, 1)"),
    case("get_item", lambda x, i: F.get_item(x, (slice(1, None), i)), [normal(3, 4)],
         consts=[np.array([0, 2, 2])], about="x[1:, [0, 2, 2]] (a slice and a repeated index)"),
    case("getitem-basic", lambda a: a[1:, ::2] ** 2, [normal(3, 4)], covers="get_item"),
    case("getitem-device-idx", lambda a, i: F.get_item(a, i) ** 2, [normal(4, 3)],
         consts=[np.array([2, 0, 2, 3, 2])], covers="get_item"),
    case("getitem-tuple-idx", lambda a, i, j: a[i, j] ** 2 + a[:, j].sum(), [normal(4, 3)],
         consts=[np.array([0, 3, 3, 1]), np.array([2, 1, 1, 0])], covers="get_item"),
    case("getitem-bool-mask", lambda a, m: F.get_item(a, m) ** 2, [normal(3, 4)], consts=[_MASK],
         covers="get_item"),
    case("concat", lambda a, b, c: F.concat([a, b, c], axis=1) ** 2,
         [normal(2, 1, 3), normal(2, 4, 3), normal(2, 2, 3)], about="three inputs along axis 1"),
    case("split", lambda a: [p ** 2 for p in F.split(a, 3, axis=1)], [normal(2, 6)],
         about="(2, 6) into 3 along axis 1"),
    case("split-points-unused", lambda a: F.split(a, [1, 4], axis=0)[1] ** 2, [normal(5, 2)],
         covers="split", about="split points [1, 4]; only one part used"),
    case("stack", lambda a, b: F.stack([a, b, a], axis=1) ** 2, [normal(2, 3), normal(2, 3)],
         about="(2, 3) inputs along axis 1, one used twice"),
    case("unstack", lambda a: [p * (k + 1.0) for k, p in enumerate(F.unstack(a, axis=1))],
         [normal(2, 4, 3)], about="(2, 4, 3) along axis 1"),
    case("unstack-partial", lambda a: F.unstack(a, axis=0)[2] ** 2, [normal(3, 2)],
         covers="unstack"),
    case("expand_dims", lambda x: F.expand_dims(x, 1) ** 2, [normal(3, 4)],
         about="(3, 4) -> (3, 1, 4)"),
    case("squeeze", lambda x: F.squeeze(x ** 2, 1), [normal(3, 1, 4)], about="(3, 1, 4) -> (3, 4)"),
    case("flip", lambda a: F.flip(a, 1) * a, [normal(2, 5)], about="(2, 5) along axis 1"),
    case("flatten", lambda a: F.flatten(a) ** 2, [normal(2, 3, 4)], about="(2, 3, 4) -> (2, 12)"),
    # neural-network ops
    case("softmax", F.softmax, [normal(2, 3, 5)], about="(2, 3, 5) over the last axis"),
    case("softmax-two-axes", lambda a: F.softmax(a, axis=-1) * F.softmax(a, axis=0),
         [normal(2, 3, 5)], covers="softmax"),
    case("log_softmax", lambda a: F.log_softmax(a) ** 2, [normal(2, 3, 5)],
         about="(2, 3, 5) over the last axis, squared"),
    case("softmax_cross_entropy", lambda x, t: F.softmax_cross_entropy(x, t, ignore_label=-1),
         [normal(2, 4, 5)], consts=[_LABELS],
         about="logits (2, 4, 5), labels (2, 4) with two ignored (-1)"),
    case("softmax-ce-2d", lambda x, t: F.softmax_cross_entropy(x, t, ignore_label=2),
         [normal(6, 4)], consts=[np.array([0, 2, 3, 1, 2, 0])], covers="softmax_cross_entropy",
         about="logits (6, 4), ignore_label=2"),
    case("mean_squared_error", F.mean_squared_error, [normal(3, 4), normal(3, 4)],
         about="(3, 4) vs (3, 4)"),
    case("softplus", lambda a: F.softplus(a) ** 2, [normal(3, 4, scale=3.0)],
         about="x (3, 4), standard deviation 3, squared"),
    case("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
         [normal(2, 3, 4, scale=2.0)], consts=[_BIT_TARGETS],
         about="logits (2, 3, 4), 0/1 targets with a row of -1 (not scored)"),
    case("dropout", _dropout_fixed_mask, [normal(3, 4)], random_draws=True,
         about="p=0.3 with a fixed mask (a Generator seeded alike every call)"),
    case("dropout-test-mode", lambda a: F.dropout(a, 0.5) ** 2, [normal(3, 4)], covers="dropout",
         test_mode=True, about="test mode: the identity"),
    case("embedding", lambda W, ids: F.embedding(W, ids) ** 2, [normal(5, 3)], consts=[_IDS],
         about="W (5, 3) at ids (2, 3) with repeated ids"),
    case("attention_weight", lambda hs, h1, h3: [F.attention_weight(hs, h1),
                                                 F.attention_weight(hs, h3)],
         [normal(2, 5, 4), normal(2, 4), normal(2, 3, 4)],
         about="hs (2, 5, 4) with h (2, 4) and with h (2, 3, 4)"),
    case("weight_sum", lambda hs, a2, a3: [F.weight_sum(hs, a2), F.weight_sum(hs, a3)],
         [normal(2, 5, 4), normal(2, 5), normal(2, 3, 5)],
         about="hs (2, 5, 4) with a (2, 5) and with a (2, 3, 5)"),
    case("attention-step", lambda hs, h: F.weight_sum(hs, F.attention_weight(hs, h)),
         [normal(2, 4, 3), normal(2, 3)], covers=("attention_weight", "weight_sum"),
         about="weight_sum(hs, attention_weight(hs, h)): one decoder step"),
    case("attention-all-steps",
         lambda hs, h: [F.weight_sum(hs, F.attention_weight(hs, h)), F.attention_weight(hs, h)],
         [normal(2, 4, 3), normal(2, 5, 3)], covers=("attention_weight", "weight_sum"),
         about="all 5 decoder steps at once, context and weights"),
    case("dot_score", lambda hs, h1, h3: [F.dot_score(hs, h1, scale=True), F.dot_score(hs, h3, form="book")],
         [normal(2, 5, 4), normal(2, 4), normal(2, 3, 4)],
         about="hs (2, 5, 4) with h (2, 4) scaled, and with h (2, 3, 4) in the book's form"),
    case("general_score", F.general_score, [normal(2, 5, 4), normal(2, 3), normal(3, 4)],
         about="hs (2, 5, 4), h (2, 3), W (3, 4)"),
    case("additive_score", F.additive_score,
         [normal(2, 5, 4), normal(2, 3, 4), normal(4, 3), normal(4, 3), normal(3)],
         about="hs (2, 5, 4), h (2, 3, 4), W_query (4, 3), W_key (4, 3), v (3,)"),
    case("masked_softmax", lambda s, m: F.masked_softmax(s, m) * s, [normal(2, 3, 4)],
         consts=[_KEYMASK], about="s (2, 3, 4), key mask (2, 4) with a fully masked row"),
    case("attention-book-form",
         lambda hs, h, m: F.weight_sum(hs, F.attention_weight(hs, h, mask=m, form="book"), form="book"),
         [normal(2, 4, 3), normal(2, 2, 3)], consts=[_KEYMASK], covers=("attention_weight", "weight_sum"),
         about="the book's Repeat -> x -> Sum graphs, 2 decoder steps, key mask"),
    case("embedding_projection", lambda E, W, b, ids: F.embedding_projection(E, ids, W, b) ** 2,
         [normal(5, 3), normal(3, 4), normal(4)], consts=[_IDS],
         about="rows of E (5, 3) @ W (3, 4) + b at ids (2, 3) with repeated ids"),
    case("lstm_cell", lambda A, c: list(F.lstm_cell(A, c)), [normal(3, 8, scale=1.5), normal(3, 2)],
         about="fused: pre-activations A (3, 8), previous cell (3, 2) -> h, c"),
    case("lstm-cell-zero-c", lambda A: list(F.lstm_cell(A)), [normal(3, 8, scale=1.5)],
         covers="lstm_cell", about="fused, no previous cell"),
    case("lstm-cell-h-only", lambda A, c: F.lstm_cell(A, c)[0], [normal(2, 12), normal(2, 3)],
         covers="lstm_cell", about="fused, the cell output unused (its gradient is None)"),
    case("lstm-cell-c-only", lambda A, c: F.lstm_cell(A, c)[1], [normal(2, 12), normal(2, 3)],
         covers="lstm_cell", about="fused, the hidden output unused"),
    case("lstm_cell_composed", lambda A, c: list(F.lstm_cell_composed(A, c)),
         [normal(3, 8, scale=1.5), normal(3, 2)], about="the composed reference of lstm_cell"),
    # whole recurrent sequences (fused, and the per-step references)
    case("lstm_sequence", lambda P, W, h, c: list(F.lstm_sequence(P, W, h, c)),
         [normal(2, 3, 8, scale=1.5), normal(2, 8), normal(2, 2), normal(2, 2)],
         about="fused: projections P (2, 3, 8), Wh (2, 8), h0 and c0 (2, 2) -> hs, h, c"),
    case("lstm-sequence-zero-state", lambda P, W: F.lstm_sequence(P, W)[0],
         [normal(2, 4, 12, scale=1.5), normal(3, 12)], covers="lstm_sequence",
         about="fused, zero initial state, only hs used"),
    case("lstm-sequence-final-c", lambda P, W, h: F.lstm_sequence(P, W, h)[2],
         [normal(2, 3, 8, scale=1.5), normal(2, 8), normal(2, 2)], covers="lstm_sequence",
         about="fused, only the final cell used"),
    case("lstm_sequence_composed", lambda P, W, h, c: list(F.lstm_sequence_composed(P, W, h, c)),
         [normal(2, 3, 8, scale=1.5), normal(2, 8), normal(2, 2), normal(2, 2)],
         about="the per-step reference of lstm_sequence"),
    case("gru_sequence", lambda P, W, h: list(F.gru_sequence(P, W, h)),
         [normal(2, 3, 6, scale=1.5), normal(2, 6), normal(2, 2)],
         about="fused: projections P (2, 3, 6), Wh (2, 6), h0 (2, 2) -> hs, h"),
    case("gru-sequence-zero-state", lambda P, W: F.gru_sequence(P, W)[0],
         [normal(2, 4, 9, scale=1.5), normal(3, 9)], covers="gru_sequence",
         about="fused, zero initial state, only hs used"),
    case("gru_sequence_composed", lambda P, W, h: list(F.gru_sequence_composed(P, W, h)),
         [normal(2, 3, 6, scale=1.5), normal(2, 6), normal(2, 2)],
         about="the per-step reference of gru_sequence"),
    # the Transformer's ops (masks are device data, moved with the inputs)
    case("scaled_dot_product_attention",
         lambda q, k, v, m: list(F.scaled_dot_product_attention(q, k, v, m)),
         [normal(2, 2, 3, 4), normal(2, 2, 5, 4), normal(2, 2, 5, 3)], consts=[_PADMASK],
         about="q (2, 2, 3, 4), k (2, 2, 5, 4), v (2, 2, 5, 3), key-padding mask (2, 1, 1, 5); "
               "context and weights"),
    case("causal_mask", lambda x: F.scaled_dot_product_attention(x, x, x, F.causal_mask(4, x))[0],
         [normal(2, 4, 3)], covers=("causal_mask", "scaled_dot_product_attention"),
         about="self-attention q = k = v (2, 4, 3) under causal_mask(4)"),
    case("padding_mask", lambda q, kv, ids: F.scaled_dot_product_attention(
        F.reshape(q, (2, 1, 3, 4)), F.reshape(kv, (2, 1, 5, 4)), F.reshape(kv, (2, 1, 5, 4)),
        F.padding_mask(ids, 0))[0], [normal(2, 3, 4), normal(2, 5, 4)], consts=[_PAD_IDS],
        covers=("padding_mask", "scaled_dot_product_attention"),
        about="q (2, 3, 4) over k = v (2, 5, 4) with padding_mask(ids, 0)"),
    case("sdpa-causal-and-padding", lambda q, k, v, ids: list(F.scaled_dot_product_attention(
        q, k, v, F.causal_mask(4, q) & F.padding_mask(ids, 0))),
        [normal(2, 2, 4, 3), normal(2, 2, 4, 3), normal(2, 2, 4, 2)],
        consts=[np.array([[5, 2, 0, 0], [0, 0, 0, 0]])],
        covers=("scaled_dot_product_attention", "causal_mask", "padding_mask"),
        about="both masks combined; the second input is all padding (zero weights, no NaN)"),
    case("layer_norm", F.layer_norm, [normal(2, 3, 5), normal(5), normal(5)],
         about="fused: x (2, 3, 5) normalised over the last axis, gamma and beta (5,)"),
    case("layer-norm-composed", _composed_layer_norm, [normal(2, 3, 5), normal(5), normal(5)],
         covers=("layer_norm", "fused_ops"), about="layer_norm inside fused_ops(False)"),
    case("fused_ops", lambda A, c: list(_composed_lstm_cell(A, c)),
         [normal(3, 8, scale=1.5), normal(3, 2)], covers=("fused_ops", "lstm_cell"),
         about="lstm_cell inside fused_ops(False): the composition"),
)
"""Every case; each op of ``F.__all__`` has one whose id is its name."""


def find_case(cases, case_or_id, kind="op"):
    """The case called ``case_or_id`` in ``cases`` (a case object is returned as it is).

    Raises:
        KeyError: no such case; the message lists the valid ids of that ``kind``.
    """
    if not isinstance(case_or_id, str):
        return case_or_id
    for c in cases:
        if c.id == case_or_id:
            return c
    raise KeyError(f"no {kind} case {case_or_id!r}; valid names: "
                   f"{', '.join(sorted(c.id for c in cases))}")


def op_case_ids() -> list:
    """The ids of :data:`OP_CASES`, sorted."""
    return sorted(c.id for c in OP_CASES)


def op_case(id) -> OpCase:
    """The op case called ``id`` (KeyError, listing the valid ids, when there is none)."""
    return find_case(OP_CASES, id, "op")


def check_op_case(op_case_or_id, seed=0, **gradcheck_options):
    """Gradient-check one op case in float64 against central differences, on the host.

    ``seed`` draws the inputs and gradcheck's projection; ``gradcheck_options`` (``eps``,
    ``atol``, ``rtol``, ``max_elements``, ...) go to :func:`~tinygrad_attn.checks.gradcheck.gradcheck`.
    Returns its GradcheckResult titled ``"op case <id>: <description>"``. Raises KeyError
    for an unknown id and ValueError for a case that is not ``numeric`` (placed on a tie or
    kink on purpose).
    """
    c = find_case(OP_CASES, op_case_or_id, "op")
    if not c.numeric:
        raise ValueError(f"check_op_case: case {c.id!r} sits on a tie or kink on purpose; "
                         "central differences do not apply to it")
    result = gradcheck(c.checkable(), *c.arrays(seed), seed=seed, **gradcheck_options)
    result.title = f"op case {c.id}: {c.describe()}"
    return result
