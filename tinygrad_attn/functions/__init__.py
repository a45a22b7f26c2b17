"""Differentiable operations (conventionally imported as ``F``).

Primitives (each a :class:`~tinygrad_attn.Function` with its own forward and backward)
are grouped by theme: :mod:`.math` (element-wise), :mod:`.shape`, :mod:`.reduce`,
:mod:`.linalg`, :mod:`.nn`, :mod:`.fused` (one op doing several ops' work, beside its
composed reference; :class:`fused_ops` switches) and :mod:`.recurrent` (a whole LSTM or GRU
sequence as one fused op). Composed helpers (``mean``, ``mean_squared_error``,
``dropout``, ``logsumexp``, the attention functions) are plain Python functions of
primitives and need no backward of their own.

Importing this package also gives :class:`~tinygrad_attn.Variable` its operators
(``+ - * / ** @``, ``x[...]``) and its array-like methods (``reshape``, ``transpose``,
``T``, ``sum``, ``mean``, ``max``, ``min``), all of them the ops below.
"""
from .. import core as _core
from .attention import (additive_score, attention_weight, causal_mask, dot_score, general_score,
                        masked_softmax, padding_mask, scaled_dot_product_attention, weight_sum)
from .fused import fused_ops, lstm_cell, lstm_cell_composed
from .linalg import linear, matmul
from .math import (abs, add, clip, div, exp, log, mul, neg, pow, rdiv, relu, rpow, rsub,
                   sigmoid, sqrt, square, sub, tanh, where)
from .nn import (binary_cross_entropy_with_logits, dropout, embedding, embedding_projection,
                 log_softmax, mean_squared_error, softmax, softmax_cross_entropy, softplus)
from .norm import layer_norm
from .recurrent import gru_sequence, gru_sequence_composed, lstm_sequence, lstm_sequence_composed
from .reduce import logsumexp, max, mean, min, sum
from .shape import (broadcast_to, concat, expand_dims, flatten, flip, get_item, reshape, split,
                    squeeze, stack, sum_to, swapaxes, transpose, unstack)

__all__ = [
    "abs", "add", "additive_score", "attention_weight", "binary_cross_entropy_with_logits",
    "broadcast_to", "causal_mask", "clip",
    "concat", "div", "dot_score", "dropout", "embedding", "embedding_projection", "exp",
    "expand_dims", "flatten", "flip", "fused_ops", "general_score", "get_item", "gru_sequence",
    "gru_sequence_composed", "layer_norm",
    "linear", "log", "lstm_cell", "lstm_cell_composed", "lstm_sequence", "lstm_sequence_composed",
    "log_softmax", "logsumexp",
    "masked_softmax", "matmul", "max", "mean", "mean_squared_error", "min", "mul", "neg",
    "padding_mask", "pow", "rdiv", "relu", "reshape", "rpow", "rsub",
    "scaled_dot_product_attention", "sigmoid", "softmax",
    "softmax_cross_entropy", "softplus", "split", "sqrt", "square", "squeeze", "stack", "sub", "sum",
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


def _reshape_method(self, *shape):
    """Return this Variable reshaped (``x.reshape(2, 3)`` or ``x.reshape((2, 3))``)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return reshape(self, shape)


def _transpose_method(self, *axes):
    """Permute axes (``x.transpose(1, 0, 2)`` or ``x.transpose((1, 0, 2))``; none: reverse them)."""
    if len(axes) == 0:
        axes = None
    elif len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,):
        axes = axes[0]
    return transpose(self, axes)


def _install_methods(V):
    """The array-like methods of Variable: ``x.reshape``, ``x.T``, ``x.sum(axis)``, ..."""
    V.reshape = _reshape_method
    V.transpose = _transpose_method
    V.T = property(transpose, doc="The transpose (axes reversed).")
    V.sum = sum
    V.mean = mean
    V.max = max
    V.min = min


_install_operators(_core.Variable)
_install_methods(_core.Variable)
