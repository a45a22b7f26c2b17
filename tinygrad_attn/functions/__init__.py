"""Differentiable operations (conventionally imported as ``F``).

Primitives (each a :class:`~tinygrad_attn.Function` with its own forward and backward)
are grouped by theme: :mod:`.math` (element-wise), :mod:`.shape`, :mod:`.reduce`,
:mod:`.linalg`, :mod:`.nn` and :mod:`.fused` (one op doing several ops' work, beside its
composed reference; :class:`fused_ops` switches). Composed helpers (``mean``, ``mean_squared_error``,
``dropout``, ``logsumexp``, the attention functions) are plain Python functions of
primitives and need no backward of their own.

Importing this package also gives :class:`~tinygrad_attn.Variable` its operators
(``+ - * / ** @``, ``x[...]``).
"""
from .. import core as _core
from .attention import (additive_score, attention_weight, dot_score, general_score, masked_softmax,
                        weight_sum)
from .fused import fused_ops, lstm_cell, lstm_cell_composed
from .linalg import linear, matmul
from .math import (abs, add, clip, div, exp, log, mul, neg, pow, rdiv, relu, rpow, rsub,
                   sigmoid, sqrt, square, sub, tanh, where)
from .nn import (dropout, embedding, log_softmax, mean_squared_error, softmax,
                 softmax_cross_entropy)
from .reduce import logsumexp, max, mean, min, sum
from .shape import (broadcast_to, concat, expand_dims, flatten, flip, get_item, reshape, split,
                    squeeze, stack, sum_to, swapaxes, transpose, unstack)

__all__ = [
    "abs", "add", "additive_score", "attention_weight", "broadcast_to", "clip", "concat", "div", "dot_score", "dropout",
    "embedding", "exp", "expand_dims", "flatten", "flip", "fused_ops", "general_score", "get_item", "linear", "log",
    "lstm_cell", "lstm_cell_composed",
    "log_softmax", "logsumexp", "masked_softmax", "matmul", "max", "mean", "mean_squared_error", "min", "mul",
    "neg", "pow", "rdiv", "relu", "reshape", "rpow", "rsub", "sigmoid", "softmax",
    "softmax_cross_entropy", "split", "sqrt", "square", "squeeze", "stack", "sub", "sum",
    "sum_to", "swapaxes", "tanh", "transpose", "unstack", "weight_sum", "where",
]


def _install_operators(V):
    V.__add__ = add
    V.__radd__ = add
    V.__sub__ = sub
    V.__rsub__ = rsub
    V.__mul__ = mul
    V.__rmul__ = mul
    V.__truediv__ = div
    V.__rtruediv__ = rdiv
    V.__neg__ = neg
    V.__pow__ = pow
    V.__rpow__ = rpow
    V.__matmul__ = matmul
    V.__rmatmul__ = lambda self, other: matmul(other, self)
    V.__getitem__ = get_item


_install_operators(_core.Variable)
_core._F = __import__(__name__, fromlist=["*"])
