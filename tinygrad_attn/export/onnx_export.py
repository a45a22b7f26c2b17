"""ONNX export traced from the graph the engine records (define-by-run, as onnx-chainer did).

A seq2seq model offers its encoder and one decoder step as plain functions
(``model.decoder_init(xs) -> state`` and ``model.decoder_step(ids, state) -> (scores,
state)``). :func:`to_onnx` runs each of them in grad mode, so that every op records its
:class:`~tinygrad_attn.core.Function` node, walks the nodes back from the outputs and writes
one ONNX node group per Function (:data:`OP_MAP`); a Function type without a mapping stops
the export with one :class:`ExportError` naming it. Nothing is dropped silently.

How the recorded graph becomes a graph for any batch size and any input:

* Each function is traced **twice**, with different batch sizes and different input ids.
  The two node lists must agree op by op (no data-dependent control flow).
* Values that do not depend on the inputs (parameters, and whatever is computed from them
  alone, e.g. the parts of a split weight matrix) become initializers. A constant that
  differs between the two traces depends on the inputs outside the recorded graph (e.g. a
  padding mask computed with NumPy from the ids): refused, naming the op that reads it —
  unless it is all one value and only its batch size differs (a zero start state): then
  it is built with ``Expand`` from the batch size of a graph input.
* Shapes recorded in ops (``Reshape``, ``BroadcastTo``) are compared between the traces: a
  dimension that differs is the batch; it becomes ``0`` (copy the input's) or ``-1``.
* Integer ids enter the graph where an op (``embedding``: ``GetItem`` with an index array)
  reads the input array itself or a reshaped view of it.

The greedy (or beam) loop runs outside the graphs, as with every traced seq2seq export;
:class:`tinygrad_attn.export.onnx_runner.OnnxSeq2seq` is a small runner for onnxruntime.

Needs the ``onnx`` package (``pip install 'tinygrad-attn[export]'``).
"""
from __future__ import annotations

import json
import os

import numpy as np

from ..core import OpError, Variable, enable_grad, no_grad, test_mode
from ..files import write_file
from ..functions.recurrent import composed_sequences
from . import require

__all__ = ["to_onnx", "trace_to_onnx", "ExportError", "OP_MAP", "DEFAULT_OPSET", "MIN_OPSET",
           "RUNNER_FILE"]

DEFAULT_OPSET = 21
"""The ONNX opset written by default (onnxruntime 1.18 and newer run it); 18 is the oldest the
exporter writes (ReduceMax with axes as an input, LayerNormalization)."""
MIN_OPSET = 18
"""The oldest opset the exporter writes."""
RUNNER_FILE = "onnx_model.json"
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1


class ExportError(ValueError):
    """The model cannot be exported as asked: an op without an ONNX mapping, an input-dependent
    constant, a shape the exporter cannot express for any batch size."""


# ----------------------------------------------------------------------------- tracing
class _Trace:
    """One run of a function in grad mode: the Function nodes from the inputs to the outputs."""

    def __init__(self, fn, inputs):
        self.inputs = inputs                     # [(name, array or Variable)]
        self.input_ids = {}                      # id(obj) -> name
        args = []
        for name, obj in inputs:
            self.input_ids[id(obj)] = name
            args.append(obj)
        with enable_grad(), test_mode(), composed_sequences():  # per-step ops, mapped below
            outs = fn(*args)
        self.outputs = list(outs)
        self.order = self._walk()

    def _walk(self):
        order, seen = [], set()
        for out in self.outputs:
            if out.creator is None or id(out.creator) in seen:
                continue
            stack = [(out.creator, False)]
            while stack:
                f, done = stack.pop()
                if done:
                    order.append(f)
                    continue
                if id(f) in seen:
                    continue
                seen.add(id(f))
                stack.append((f, True))
                for x in reversed(f.inputs):
                    if x.creator is not None and id(x) not in self.input_ids \
                            and id(x.creator) not in seen:
                        stack.append((x.creator, False))
        return order

    def input_of(self, arr):
        """(name, array) when ``arr`` is an id input or a reshaped view of one, else None."""
        if not isinstance(arr, np.ndarray):
            return None
        for name, obj in self.inputs:
            if isinstance(obj, np.ndarray) and (arr is obj or (
                    arr.base is obj and arr.size == obj.size and arr.flags.c_contiguous
                    and arr.__array_interface__["data"][0] == obj.__array_interface__["data"][0])):
                return name, obj
        return None


def _keys_of(f):
    """The index arrays an op holds outside its inputs (embedding ids)."""
    name = type(f).__name__
    if name == "GetItem":
        key = f.key if isinstance(f.key, tuple) else (f.key,)
        return [k for k in key if isinstance(k, np.ndarray)]
    if name == "TakeRows":
        return [f.ids]
    return []


# ----------------------------------------------------------------------------- emitting
class _Graph:
    def __init__(self, onnx, ta, tb, opset):
        self.onnx, self.h = onnx, onnx.helper
        self.ta, self.tb = ta, tb
        self.opset = opset
        self.nodes, self.inits = [], []
        self.names = {}          # id(var in trace A) -> value name
        self.dynamic = set()     # id(var in trace A) that depend on the inputs
        self.count = 0
        self.batch = None        # (name, axis) of a graph input's batch dimension

    def fresh(self, hint="v"):
        self.count += 1
        return f"{hint}_{self.count}"

    def node(self, op, inputs, outputs=None, scope=None, **attrs):
        outputs = outputs or [self.fresh(op.lower())]
        self.nodes.append(self.h.make_node(op, inputs, outputs,
                                           name=self.fresh(f"{scope or ''}/{op}".lstrip("/")),
                                           **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def init(self, arr, hint="const"):
        name = self.fresh(hint)
        arr = np.asarray(arr)
        if not arr.flags.c_contiguous:    # (np.ascontiguousarray would make 0-d arrays 1-d)
            arr = arr.copy()
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values):
        return self.init(np.asarray(values, dtype=np.int64), "ints")

    # --- constants
    def const(self, a, b, who):
        """Initializer for a value computed without the inputs (``a``/``b`` in the two traces)."""
        if a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True):
            return self.init(a)
        if a.dtype == b.dtype and a.ndim == b.ndim:
            # the same along the batch-sized axes (e.g. a zero start state, a learned start
            # vector repeated per row): one row, expanded to the batch size at run time
            axes = [i for i, (da, db) in enumerate(zip(a.shape, b.shape)) if da != db]
            ra, rb = a, b
            for ax in axes:
                ra, rb = ra.take([0], axis=ax), rb.take([0], axis=ax)
            if np.array_equal(ra, rb) and np.array_equal(np.broadcast_to(ra, a.shape), a) \
                    and np.array_equal(np.broadcast_to(rb, b.shape), b):
                return self.node("Expand", [self.init(ra), self.dyn_shape(a.shape, b.shape, who)],
                                 scope=who)
        raise ExportError(f"{who}: reads a value that depends on the inputs but was computed "
                          f"outside the recorded graph (shapes {a.shape} and {b.shape} in two "
                          "traces); it cannot be exported")

    def dyn_shape(self, sa, sb, who):
        """A shape tensor: static entries as constants, batch entries from a graph input."""
        if self.batch is None:
            raise ExportError(f"{who}: a batch-sized shape with no batch input to take it from")
        name, axis, na, nb = self.batch
        parts = []
        for da, db in zip(sa, sb):
            if da == db:
                parts.append(self.ints([da]))
            elif (da, db) == (na, nb):
                shp = self.node("Shape", [name], scope=who)
                parts.append(self.node("Slice", [shp, self.ints([axis]), self.ints([axis + 1])],
                                       scope=who))
            else:
                raise ExportError(f"{who}: a shape dimension ({da} vs {db} in two traces) that "
                                  "is not the batch size")
        return self.node("Concat", parts, scope=who, axis=0) if len(parts) > 1 else parts[0]

    def value(self, va, vb, who):
        if id(va) in self.names:
            return self.names[id(va)]
        name = self.const(va.data, vb.data, who)
        self.names[id(va)] = name
        return name


def _reshape_target(in_a, in_b, out_a, out_b, who):
    """Reshape target for every batch size: 0 copies an input dim, -1 infers one."""
    target, infer = [], False
    for i, (oa, ob) in enumerate(zip(out_a, out_b)):
        if oa == ob:
            target.append(oa)
        elif i < len(in_a) and in_a[i] == oa and in_b[i] == ob:
            target.append(0)
        elif not infer:
            target.append(-1)
            infer = True
        else:
            raise ExportError(f"{who}: reshape {in_a} -> {out_a} has more than one batch-dependent "
                              "dimension that does not copy the input's")
    if 0 in out_a:
        raise ExportError(f"{who}: reshape to an empty shape {out_a}")
    return target


def _out(f, i=0):
    """Output ``i`` of a recorded Function (None if it was freed)."""
    return f.outputs[i]()


# Each mapping: fn(g, fa, fb, ins, outs, who) emitting nodes that write the names in ``outs``.
def _unary(op):
    def emit(g, fa, fb, ins, outs, who):
        g.node(op, ins, outs, scope=who)
    return emit


def _binary(op):
    def emit(g, fa, fb, ins, outs, who):
        g.node(op, ins, outs, scope=who)
    return emit


def _linear(g, fa, fb, ins, outs, who):
    if len(ins) == 2:
        g.node("MatMul", ins, outs, scope=who)
    else:
        g.node("Add", [g.node("MatMul", ins[:2], scope=who), ins[2]], outs, scope=who)


def _powconst(g, fa, fb, ins, outs, who):
    x = fa.inputs[0]
    g.node("Pow", [ins[0], g.init(np.asarray(fa.c, dtype=x.dtype))], outs, scope=who)


def _clip(g, fa, fb, ins, outs, who):
    dt = fa.inputs[0].dtype
    lo = g.init(np.asarray(-np.inf if fa.lo is None else fa.lo, dt))
    hi = g.init(np.asarray(np.inf if fa.hi is None else fa.hi, dt))
    g.node("Clip", [ins[0], lo, hi], outs, scope=who)


def _axes(axis, ndim):
    if axis is None:
        return list(range(ndim))
    return [a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]


def _reduce(op):
    def emit(g, fa, fb, ins, outs, who):
        nd = fa.inputs[0].ndim
        g.node(op, [ins[0], g.ints(_axes(fa.axis, nd))], outs, scope=who,
               keepdims=int(bool(fa.keepdims)))
    return emit


def _softmax(op):
    def emit(g, fa, fb, ins, outs, who):
        g.node(op, ins, outs, scope=who, axis=int(fa.axis))
    return emit


def _where(g, fa, fb, ins, outs, who):
    cond = g.const(np.asarray(fa.cond), np.asarray(fb.cond), who)
    g.node("Where", [cond, ins[0], ins[1]], outs, scope=who)


def _reshape(g, fa, fb, ins, outs, who):
    xa, xb = fa.inputs[0], fb.inputs[0]
    ya, yb = _out(fa), _out(fb)
    g.node("Reshape", [ins[0], g.ints(_reshape_target(xa.shape, xb.shape, ya.shape, yb.shape,
                                                      who))], outs, scope=who)


def _transpose(g, fa, fb, ins, outs, who):
    nd = fa.inputs[0].ndim
    perm = list(range(nd))[::-1] if fa.axes is None else [a % nd for a in fa.axes]
    g.node("Transpose", ins, outs, scope=who, perm=perm)


def _broadcast(g, fa, fb, ins, outs, who):
    xa, xb = fa.inputs[0], fb.inputs[0]
    sa, sb = fa.shape, fb.shape
    pad = len(sa) - xa.ndim
    target = []
    for i, (da, db) in enumerate(zip(sa, sb)):
        j = i - pad
        if da == db:
            target.append(da)
        elif j >= 0 and xa.shape[j] == da and xb.shape[j] == db:
            target.append(1)     # Expand keeps the input's (batch) dimension
        else:
            raise ExportError(f"{who}: broadcast of {xa.shape} to {sa}: a batch-dependent "
                              "dimension the input does not have")
    g.node("Expand", [ins[0], g.ints(target)], outs, scope=who)


def _concat(g, fa, fb, ins, outs, who):
    g.node("Concat", ins, outs, scope=who, axis=int(fa.axis))


def _split(g, fa, fb, ins, outs, who):
    x = fa.inputs[0]
    ax = fa.axis % x.ndim
    if x.shape[ax] != fb.inputs[0].shape[ax]:
        raise ExportError(f"{who}: split along the batch axis")
    bounds = [0, *fa.indices, x.shape[ax]]
    g.node("Split", [ins[0], g.ints(np.diff(bounds))], outs, scope=who, axis=ax)


def _stack(g, fa, fb, ins, outs, who):
    nd = fa.inputs[0].ndim + 1
    ax = fa.axis % nd
    parts = [g.node("Unsqueeze", [x, g.ints([ax])], scope=who) for x in ins]
    g.node("Concat", parts, outs, scope=who, axis=ax)


def _unstack(g, fa, fb, ins, outs, who):
    x = fa.inputs[0]
    ax = fa.axis % x.ndim
    n = x.shape[ax]
    if n != fb.inputs[0].shape[ax]:
        raise ExportError(f"{who}: unstack along the batch axis")
    pieces = g.node("Split", [ins[0], g.ints([1] * n)], [g.fresh("piece") for _ in range(n)],
                    scope=who, axis=ax)
    pieces = pieces if isinstance(pieces, list) else [pieces]
    for p, o in zip(pieces, outs):
        g.node("Squeeze", [p, g.ints([ax])], [o], scope=who)


def _lstm_cell(g, fa, fb, ins, outs, who):
    A = fa.inputs[0]
    H = A.shape[-1] // 4
    f, gg, i, o = g.node("Split", [ins[0], g.ints([H] * 4)], [g.fresh(n) for n in "fgio"],
                         scope=who, axis=-1)
    f, gg, i, o = (g.node("Sigmoid", [f], scope=who), g.node("Tanh", [gg], scope=who),
                   g.node("Sigmoid", [i], scope=who), g.node("Sigmoid", [o], scope=who))
    gi = g.node("Mul", [gg, i], None if fa.has_c else [outs[1]], scope=who)
    if fa.has_c:
        gi = g.node("Add", [gi, g.node("Mul", [f, ins[1]], scope=who)], [outs[1]], scope=who)
    g.node("Mul", [o, g.node("Tanh", [outs[1]], scope=who)], [outs[0]], scope=who)


def _layer_norm(g, fa, fb, ins, outs, who):
    g.node("LayerNormalization", ins, outs, scope=who, axis=-1, epsilon=float(fa.eps))


def _gather_ids(g, fa, fb, key_a, key_b, who):
    """The name of an index array: a graph input (maybe reshaped) or a constant."""
    hit = g.ta.input_of(key_a)
    if hit is None:
        if g.tb.input_of(key_b) is not None:
            raise ExportError(f"{who}: index array is the input in one trace only")
        return g.const(key_a.astype(np.int64), key_b.astype(np.int64), who)
    name, obj = hit
    obj_b = dict(g.tb.inputs)[name]
    if key_a.shape == obj.shape:
        return name
    return g.node("Reshape", [name, g.ints(_reshape_target(obj.shape, obj_b.shape, key_a.shape,
                                                           key_b.shape, who))], scope=who)


def _no_ellipsis(key, ndim):
    """``key`` with an Ellipsis written out as full slices."""
    for e, k in enumerate(key):
        if k is Ellipsis:
            return key[:e] + (slice(None),) * (ndim - len(key) + 1) + key[e + 1:]
    return key


def _getitem(g, fa, fb, ins, outs, who):
    x = fa.inputs[0]
    key_a = fa.key if isinstance(fa.key, tuple) else (fa.key,)
    key_b = fb.key if isinstance(fb.key, tuple) else (fb.key,)
    key_a, key_b = _no_ellipsis(key_a, x.ndim), _no_ellipsis(key_b, x.ndim)
    arrays = [k for k in key_a if isinstance(k, np.ndarray)]
    if arrays:
        pos = [i for i, k in enumerate(key_a) if isinstance(k, np.ndarray)]
        full = all(isinstance(k, slice) and k == slice(None) for i, k in enumerate(key_a)
                   if i not in pos)
        if len(pos) != 1 or not full or arrays[0].dtype.kind not in "iu":
            raise ExportError(f"{who}: GetItem with key {fa.key!r:.60} (advanced indexing other "
                              "than one integer index array) has no ONNX mapping")
        idx = _gather_ids(g, fa, fb, arrays[0], key_b[pos[0]], who)
        g.node("Gather", [ins[0], idx], outs, scope=who, axis=pos[0])
        return
    if any(k is None for k in key_a) or any(isinstance(k, np.ndarray) for k in key_b):
        raise ExportError(f"{who}: GetItem with key {fa.key!r:.60} (None / new axes) has no "
                          "ONNX mapping")
    starts, ends, axes, steps, drops = [], [], [], [], []
    for ax, k in enumerate(key_a):
        if isinstance(k, slice):
            if k == slice(None):
                continue
            step = 1 if k.step is None else int(k.step)
            starts.append((0 if step > 0 else -1) if k.start is None else int(k.start))
            ends.append((_INT64_MAX if step > 0 else _INT64_MIN) if k.stop is None else int(k.stop))
            axes.append(ax)
            steps.append(step)
        elif isinstance(k, (int, np.integer)):
            drops.append((ax, int(k)))
        else:
            raise ExportError(f"{who}: GetItem with key {fa.key!r:.60} has no ONNX mapping")
    y = ins[0]
    if axes:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)],
                   None if drops else [outs[0]], scope=who)
    for n, (ax, i) in enumerate(sorted(drops, reverse=True)):   # highest axis first
        last = n == len(drops) - 1
        y = g.node("Gather", [y, g.init(np.asarray(i, np.int64))], [outs[0]] if last else None,
                   scope=who, axis=ax)
    if not axes and not drops:
        g.node("Identity", [y], outs, scope=who)


def _take_rows(g, fa, fb, ins, outs, who):
    idx = _gather_ids(g, fa, fb, fa.ids, fb.ids, who)
    g.node("Gather", [ins[0], idx], outs, scope=who, axis=0)


OP_MAP = {
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _binary("Pow"), "Neg": _unary("Neg"), "Exp": _unary("Exp"), "Log": _unary("Log"),
    "Abs": _unary("Abs"), "Tanh": _unary("Tanh"), "Sigmoid": _unary("Sigmoid"),
    "ReLU": _unary("Relu"), "Softplus": _unary("Softplus"), "PowConst": _powconst, "Clip": _clip,
    "Where": _where,
    "MatMul": _binary("MatMul"), "Linear": _linear,
    "Sum": _reduce("ReduceSum"), "Max": _reduce("ReduceMax"), "Min": _reduce("ReduceMin"),
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Reshape": _reshape, "Transpose": _transpose, "BroadcastTo": _broadcast,
    "Concat": _concat, "Split": _split, "Stack": _stack, "Unstack": _unstack,
    "GetItem": _getitem, "TakeRows": _take_rows,
    "LSTMCell": _lstm_cell, "LayerNorm": _layer_norm,
}
"""Function type name -> the ONNX nodes it becomes (the engine's forward ops; the backward
ops, e.g. ``GetItemGrad`` or ``LSTMCellGrad``, never appear in a traced forward graph)."""


def _dims(sa, sb, batch):
    """ONNX dims: static sizes, ``"N"`` for the batch, ``"T"`` for another size that varies
    (the length of a key/value cache)."""
    nb = None if batch is None else batch[2:]
    return [int(da) if da == db else "N" if (da, db) == nb else "T" for da, db in zip(sa, sb)]


def _onnx_type(onnx, arr):
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(arr.dtype))


def trace_to_onnx(fn, inputs_a, inputs_b, input_names, output_names, graph_name,
                  opset=DEFAULT_OPSET):
    """Trace ``fn`` on two input sets and build an ONNX ``ModelProto``.

    Args:
        fn: called as ``fn(*inputs)``; returns a list of Variables (the outputs).
        inputs_a, inputs_b: two lists of inputs (integer id arrays are passed as arrays,
            float inputs as Variables) with different batch sizes (axis 0) and values.
        input_names, output_names: graph input and output names.
        graph_name: the ONNX graph's name.
        opset: the ONNX opset (>= :data:`MIN_OPSET`).

    Raises:
        ExportError: an unmapped op (named), an input-dependent constant, control flow that
            differs between the traces, a shape that cannot follow the batch size.
    """
    onnx = require("onnx")
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset}: the exporter needs opset {MIN_OPSET} or newer")
    ta = _Trace(fn, list(zip(input_names, inputs_a)))
    tb = _Trace(fn, list(zip(input_names, inputs_b)))
    if len(ta.outputs) != len(output_names) or len(tb.outputs) != len(output_names):
        raise ExportError(f"{graph_name}: {len(ta.outputs)} outputs for names {output_names}")
    if [type(f) for f in ta.order] != [type(f) for f in tb.order]:
        raise ExportError(f"{graph_name}: the recorded graph differs between two traces "
                          "(control flow that depends on the batch size or the input values)")
    g = _Graph(onnx, ta, tb, opset)
    graph_inputs = []
    for (name, a), (_, b) in zip(ta.inputs, tb.inputs):
        arr_a = a.data if isinstance(a, Variable) else a
        arr_b = b.data if isinstance(b, Variable) else b
        if g.batch is None and arr_a.ndim and arr_a.shape[0] != arr_b.shape[0]:
            g.batch = (name, 0, arr_a.shape[0], arr_b.shape[0])
        dims = _dims(arr_a.shape, arr_b.shape, g.batch)
        graph_inputs.append(onnx.helper.make_tensor_value_info(name, _onnx_type(onnx, arr_a), dims))
        if isinstance(a, Variable):
            g.names[id(a)] = name
            g.dynamic.add(id(a))
    # which nodes depend on the inputs
    dyn_nodes = []
    for fa in ta.order:
        uses_input = any(ta.input_of(k) is not None for k in _keys_of(fa))
        if uses_input or any(id(x) in g.dynamic for x in fa.inputs):
            dyn_nodes.append(fa)
            for r in fa.outputs:
                v = r()
                if v is not None:
                    g.dynamic.add(id(v))
    pair = {id(fa): fb for fa, fb in zip(ta.order, tb.order)}
    missing = sorted({type(f).__name__ for f in dyn_nodes} - set(OP_MAP))
    if missing:
        raise ExportError(f"{graph_name}: no ONNX mapping for the op(s) {', '.join(missing)} "
                          f"(mapped: {', '.join(sorted(OP_MAP))})")
    for fa in dyn_nodes:
        fb = pair[id(fa)]
        who = f"{fa.scope or graph_name}/{type(fa).__name__}"
        ins = [g.names[id(x)] if id(x) in g.dynamic else g.value(x, y, who)
               for x, y in zip(fa.inputs, fb.inputs)]
        outs = []
        for r in fa.outputs:
            name = g.fresh(type(fa).__name__.lower())
            v = r()
            if v is not None:
                g.names[id(v)] = name
            outs.append(name)
        OP_MAP[type(fa).__name__](g, fa, pair[id(fa)], ins, outs, who)
    graph_outputs, used = [], set()
    for name, va, vb in zip(output_names, ta.outputs, tb.outputs):
        src = g.names[id(va)] if id(va) in g.dynamic else g.value(va, vb, f"{graph_name}/{name}")
        g.node("Identity", [src], [name], scope=graph_name)
        used.add(src)
        dims = _dims(va.shape, vb.shape, g.batch)
        graph_outputs.append(onnx.helper.make_tensor_value_info(name, _onnx_type(onnx, va.data),
                                                                dims))
    graph = onnx.helper.make_graph(g.nodes, graph_name, graph_inputs, graph_outputs, g.inits)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="tinygrad-attn")
    model.ir_version = min(model.ir_version, 10)   # what current onnxruntime releases read
    onnx.checker.check_model(model, full_check=True)
    return model


# ----------------------------------------------------------------------------- seq2seq
def _trace_inputs(model, batch, in_width, seed):
    """Random ids (batch, in_width) that own their memory, and the generator."""
    rng = np.random.default_rng(seed)
    xs = np.array(rng.integers(0, int(model.vocab_size), (batch, in_width)), dtype=np.int64)
    return xs, rng


def _check_cpu(model):
    device = getattr(model, "device", "cpu")
    if device != "cpu":
        raise ExportError(f"the model is on {device!r}; export traces it with NumPy: move it "
                          "to the CPU first (model.to_cpu())")


def to_onnx(model, out_dir, task=None, *, in_width=None, out_width=None, start_id=None,
            seq_len=None, opset=None, overwrite=False):
    """Export a seq2seq model as two ONNX graphs and a JSON description for the runner.

    Writes ``out_dir/encoder.onnx`` (``xs`` (N, in_width) int64 -> the decoder's starting
    state), ``out_dir/decoder_step.onnx`` (``ids`` and the state -> ``scores`` and the next
    state) and ``out_dir/onnx_model.json`` (what :class:`~tinygrad_attn.export.onnx_runner.
    OnnxSeq2seq` needs: state names, widths, the vocabulary, the start id).

    The decoder step reads the previous ids (N,) and the state, and returns the scores
    (N, V) and the next state. For the Transformer the state holds the cached keys and
    values (their length grows by one per step) and the position (one-hot).

    Args:
        model: a seq2seq model with ``decoder_init``/``decoder_step`` (see
            :class:`~tinygrad_attn_models.seq2seq.Seq2seqBase`).
        out_dir: the folder to write (created if missing).
        task: the model's :class:`~tinygrad_attn.data.TextTask` (``info.task`` of
            :func:`~tinygrad_attn.training.load_checkpoint`): the widths, the vocabulary and
            the input reversal.
        in_width, out_width, start_id: needed when ``task`` is None (they override it).
        seq_len: for the binary-vector models (NTM, LSTM): the sequence length T of the
            graph ``model.onnx`` (``xs`` (N, T, input_width) -> ``logits``), which is
            unrolled over time, as every graph traced from a define-by-run run is.
        opset: the ONNX opset (default :data:`DEFAULT_OPSET`).
        overwrite: replace existing files.

    The binary-vector models (``ntm``, ``lstm-bits``) have no decoder loop: they export as
    one graph ``model.onnx`` for sequences of length ``seq_len``.

    Returns:
        The paths written.

    Raises:
        ExportError: a model without the two functions, an op without an ONNX mapping, an
            input-dependent constant (e.g. a padding mask), or missing widths.
        FileExistsError: a file exists and ``overwrite`` is False.
    """
    if not hasattr(model, "decoder_init") and hasattr(model, "input_width"):
        return _bits_to_onnx(model, out_dir, seq_len, opset, overwrite)
    vocab = getattr(task, "vocab", None)
    in_width = in_width or getattr(task, "in_width", None)
    out_width = out_width or getattr(task, "out_width", None)
    if start_id is None and vocab is not None:
        start_id = vocab.start_id
    if not hasattr(model, "decoder_init") or not hasattr(model, "decoder_step"):
        raise ExportError(f"{type(model).__name__} has no decoder_init/decoder_step; only the "
                          "seq2seq models (attention, seq2seq, peeky, transformer) export to ONNX")
    if not in_width or not out_width or start_id is None:
        raise ExportError("to_onnx needs the input width, the answer length and the start id "
                          "(from the checkpoint's metadata, or as arguments)")
    for name, v, hi in (("in_width", in_width, 10_000), ("out_width", out_width, 10_000),
                        ("start_id", start_id, int(model.vocab_size) - 1)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not \
                (0 if name == "start_id" else 1) <= v <= hi:
            raise ExportError(f"to_onnx: {name} must be an integer in "
                              f"[{0 if name == 'start_id' else 1}, {hi}], got {v!r}")
    max_len = getattr(model, "max_len", None)
    if max_len is not None and out_width > max_len:
        raise ExportError(f"to_onnx: out_width {out_width} is longer than the model's max_len "
                          f"{max_len}")
    opset = DEFAULT_OPSET if opset is None else int(opset)
    out_dir = os.fspath(out_dir)
    files = [os.path.join(out_dir, n) for n in ("encoder.onnx", "decoder_step.onnx", RUNNER_FILE)]
    for p in files:
        if os.path.exists(p) and not overwrite:
            raise FileExistsError(f"{p} exists; refusing to overwrite it")
    names = list(model.decoder_state_names())
    def enc(xs):
        return model.decoder_init(xs)

    def step(ids, *state):
        scores, new = model.decoder_step(ids, list(state))
        return [scores, *new]

    _check_cpu(model)
    xs_a, rng = _trace_inputs(model, 2, in_width, 11)
    xs_b, _ = _trace_inputs(model, 3, in_width, 12)
    try:
        encoder = trace_to_onnx(enc, [xs_a], [xs_b], ["xs"], names, "encoder", opset)
        V = int(model.vocab_size)
        with no_grad():   # realistic states to trace the step with: after 1 and 2 steps
            st_a, st_b = model.decoder_init(xs_a), model.decoder_init(xs_b)
            for _ in range(1):   # (a growing key/value cache then differs in length too)
                st_a = model.decoder_step(np.array(rng.integers(0, V, 2), dtype=np.int64),
                                          st_a)[1]
            for _ in range(2):
                st_b = model.decoder_step(np.array(rng.integers(0, V, 3), dtype=np.int64),
                                          st_b)[1]
            st_a = [Variable(v.data.copy()) for v in st_a]
            st_b = [Variable(v.data.copy()) for v in st_b]
        ids_a = np.array(rng.integers(0, V, 2), dtype=np.int64)
        ids_b = np.array(rng.integers(0, V, 3), dtype=np.int64)
        out_names = ["scores"] + [f"next_{n}" for n in names]
        decoder = trace_to_onnx(step, [ids_a, *st_a], [ids_b, *st_b], ["ids", *names],
                                out_names, "decoder_step", opset)
    except OpError as e:
        raise ExportError(str(e)) from None
    desc = {"format": "tinygrad-attn-onnx/1", "opset": opset, "config": model.config,
            "state": names,
            "in_width": int(in_width), "out_width": int(out_width), "start_id": int(start_id),
            "reversed_input": bool(getattr(task, "reversed_input", False)),
            "vocab": None if vocab is None else vocab.to_dict()}
    os.makedirs(out_dir, exist_ok=True)
    write_file(files[0], encoder.SerializeToString(), overwrite=True)
    write_file(files[1], decoder.SerializeToString(), overwrite=True)
    write_file(files[2], json.dumps(desc, indent=1).encode(), overwrite=True)
    return files


def _bits_to_onnx(model, out_dir, seq_len, opset, overwrite):
    """One graph ``xs`` (N, seq_len, input_width) float -> ``logits`` for a binary-vector model."""
    if not isinstance(seq_len, (int, np.integer)) or isinstance(seq_len, bool) \
            or not 1 <= seq_len <= 10_000:
        raise ExportError(f"{type(model).__name__}: give the sequence length the graph is for "
                          f"(seq_len, an integer in [1, 10000], got {seq_len!r}; the graph is "
                          "unrolled over time)")
    _check_cpu(model)
    T = int(seq_len)
    opset = DEFAULT_OPSET if opset is None else int(opset)
    out_dir = os.fspath(out_dir)
    files = [os.path.join(out_dir, "model.onnx"), os.path.join(out_dir, RUNNER_FILE)]
    for p in files:
        if os.path.exists(p) and not overwrite:
            raise FileExistsError(f"{p} exists; refusing to overwrite it")
    rng = np.random.default_rng(11)
    W = int(model.input_width)
    xa = Variable(rng.integers(0, 2, (2, T, W)).astype(model.dtype))
    xb = Variable(rng.integers(0, 2, (3, T, W)).astype(model.dtype))
    try:
        graph = trace_to_onnx(lambda xs: [model.logits(xs)], [xa], [xb], ["xs"], ["logits"],
                              "model", opset)
    except OpError as e:
        raise ExportError(str(e)) from None
    desc = {"format": "tinygrad-attn-onnx/1", "opset": opset, "config": model.config,
            "seq_len": T, "input_width": W, "output_width": int(model.output_width)}
    os.makedirs(out_dir, exist_ok=True)
    write_file(files[0], graph.SerializeToString(), overwrite=True)
    write_file(files[1], json.dumps(desc, indent=1).encode(), overwrite=True)
    return files
