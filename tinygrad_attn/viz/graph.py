"""Draw the computational graph behind a Variable (DOT source, rendered by Graphviz).

The graph is the one autograd walks: starting from the given Variable(s), follow each
``creator`` Function to its ``inputs``, back to the leaves. Three kinds of node:

* **Variables**: ellipses showing the name (if any), the shape and the dtype;
* **Parameters**: gold cylinders (the stored state an optimizer updates), name first;
* **Functions**: light-blue boxes showing the op (the Function's class name).

Edges run input -> Function -> output, the direction of the forward pass. A Function
with several outputs (``split``, ``unstack``) shows every output that is still alive.

Each Function carries the :class:`~tinygrad_attn.name_scope` active when it ran; with
``cluster=True`` nodes are grouped into nested Graphviz clusters by that scope
("encoder/lstm" draws a box "lstm" inside a box "encoder"). With
``collapse_steps=True`` the time steps of a recurrent layer (scope components
``t=0``, ``t=1``, ...) are folded into one step: see :func:`to_dot` for the exact rule.

:func:`to_dot` needs nothing but NumPy; :func:`plot_graph` needs the ``graphviz`` Python
package and the Graphviz ``dot`` program.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..backend import as_numpy
from ..core import Parameter, Variable
from ..files import atomic_write

__all__ = ["to_dot", "plot_graph", "GraphvizNotFoundError"]

_RANKDIRS = ("TB", "LR", "BT", "RL")
_FORMATS = ("svg", "png", "pdf")
_STEP_RE = re.compile(r"^t=(\d+)$")

# node styles (DOT attribute strings)
_STYLE_VAR = 'shape=ellipse, style=filled, fillcolor="#fff2cc"'
_STYLE_OUT = 'shape=ellipse, style="filled,bold", fillcolor="#f8cecc"'
_STYLE_PARAM = 'shape=cylinder, style=filled, fillcolor="#ffd966"'
_STYLE_FN = 'shape=box, style=filled, fillcolor="#dae8fc"'
_STYLE_FN_COLLAPSED = 'shape=box3d, style=filled, fillcolor="#dae8fc"'
_STYLE_VAR_COLLAPSED = 'shape=ellipse, style=filled, fillcolor="#fff2cc", peripheries=2'


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is not installed (or not on PATH).

    Attributes:
        dot_path (pathlib.Path): where the DOT source was written anyway.
    """

    def __init__(self, message: str, dot_path=None):
        super().__init__(message)
        self.dot_path = dot_path


# ----------------------------------------------------------------------------- helpers
def _q(s: str) -> str:
    """Quote ``s`` as a DOT string; newlines become centred line breaks."""
    s = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: max(n - 1, 1)] + "\u2026"


def _shape_str(v) -> str:
    return str(tuple(int(d) for d in v.shape))


def _grad_norm(v) -> float:
    g = as_numpy(v.grad.data).astype(np.float64, copy=False)
    return float(np.sqrt(np.sum(g * g)))


def _split_scope(scope):
    """'enc/lstm/t=3' -> (('enc', 'lstm', 't=*'), (3,)); an unstepped scope has ks == ()."""
    if not scope:
        return (), ()
    parts, ks = [], []
    for c in str(scope).split("/"):
        m = _STEP_RE.match(c)
        if m:
            parts.append("t=*")
            ks.append(int(m.group(1)))
        else:
            parts.append(c)
    return tuple(parts), tuple(ks)


def _common_prefix(paths):
    paths = list(paths)
    if not paths:
        return ()
    first = paths[0]
    n = len(first)
    for p in paths[1:]:
        n = min(n, len(p))
        for i in range(n):
            if p[i] != first[i]:
                n = i
                break
    return first[:n]


def _as_outputs(output):
    if isinstance(output, Variable):
        return [output]
    if (isinstance(output, (list, tuple)) and output
            and all(isinstance(v, Variable) for v in output)):
        seen, outs = set(), []
        for v in output:
            if id(v) not in seen:
                seen.add(id(v))
                outs.append(v)
        return outs
    got = type(output).__name__
    if isinstance(output, (list, tuple)):
        got = f"{got} of {[type(v).__name__ for v in output][:5]}"
    raise TypeError(f"to_dot: expected a Variable or a non-empty list of Variables, got {got}")


def _walk(outputs):
    """Functions and Variables backward-reachable from ``outputs``, in discovery order."""
    vars_, funcs = {}, {}
    queue = []

    def add_var(v):
        if id(v) not in vars_:
            vars_[id(v)] = v
            f = v.creator
            if f is not None and id(f) not in funcs:
                funcs[id(f)] = f
                queue.append(f)

    for v in outputs:
        add_var(v)
    i = 0
    while i < len(queue):
        f = queue[i]
        i += 1
        for x in f.inputs:
            add_var(x)
        for r in f.outputs:
            o = r()
            if o is not None:
                add_var(o)
    return list(vars_.values()), list(funcs.values())


# ----------------------------------------------------------------------------- graph model
class _Group:
    """One drawn node: a single Variable/Function, or several merged by ``collapse_steps``."""

    __slots__ = ("kind", "members", "scope", "did", "steps")

    def __init__(self, kind):
        self.kind = kind  # "var" or "fn"
        self.members = []
        self.scope = ()
        self.did = ""
        self.steps = set()


def _check_rankdir(rankdir):
    """Refuse a ``rankdir`` Graphviz does not know, naming the valid ones."""
    if rankdir not in _RANKDIRS:
        raise ValueError(f"to_dot: rankdir must be one of {_RANKDIRS}, got {rankdir!r}")


def _graph_of(output):
    """(outputs, Variables, Functions, ids of the outputs) of the graph behind ``output``."""
    outputs = _as_outputs(output)
    variables, functions = _walk(outputs)
    return outputs, variables, functions, {id(v) for v in outputs}


def _step_text(steps):
    """'t=0' / 't=1..4' / 't=0,2' for a set of single-level step indices (else '')."""
    if not steps or any(len(k) != 1 for k in steps):
        return ""
    ks = sorted(k[0] for k in steps)
    if len(ks) == 1:
        return f"t={ks[0]} only"
    if ks == list(range(ks[0], ks[-1] + 1)):
        return f"t={ks[0]}..{ks[-1]}"
    return "t=" + ",".join(map(str, ks))


_LEGEND_BASE = ("legend: box = Function (op); ellipse = Variable (name, shape, dtype); "
                "gold cylinder = Parameter; red = the output drawn")
_LEGEND_MERGED = ("3-D box, double ellipse, \u00d7n = one node for n time steps; dashed arrow = "
                  "state passed on to the next step")
_LEGEND_PARTIAL = ("'t=0 only' (or t=a..b) = ops of those steps only: the first step has no "
                   "previous state (an encoder's h and c, a decoder's memory cell c: zeros), so "
                   "it skips the ops that would read it and is drawn apart")


def _legend_stmt(lines, width=72):
    """A note node holding ``lines``, wrapped at ``width`` characters, left-aligned."""
    import textwrap

    rows = [r for line in lines for r in textwrap.wrap(line, width, subsequent_indent="  ")]
    text = "".join(_q(r)[1:-1] + "\\l" for r in rows)   # \l: end of a left-aligned line
    return f'legend [label="{text}", shape=note, style=filled, fillcolor=white, fontsize=9]'


def _build(output, *, show_grad, cluster, collapse_steps, rankdir, max_label, legend=False):
    """Return the DOT body lines (each ending in a newline) for :func:`to_dot`."""
    _check_rankdir(rankdir)
    if not isinstance(max_label, int) or isinstance(max_label, bool) or max_label < 4:
        raise ValueError(f"to_dot: max_label must be an int >= 4, got {max_label!r}")
    outputs, variables, functions, out_ids = _graph_of(output)

    # output index of every live output, consumers of every Variable
    out_index = {}
    for f in functions:
        for k, r in enumerate(f.outputs):
            o = r()
            if o is not None:
                out_index[id(o)] = k
    consumers = {}
    for f in functions:
        for pos, x in enumerate(f.inputs):
            consumers.setdefault(id(x), []).append((f, pos))

    # --- which drawn node each Function belongs to
    fkey = {}
    fscope = {}   # drawn scope path of each Function
    fsteps = {}   # step indices (ks) of each Function
    step_of = {}  # (step scope prefix, ks) of each stepped Function
    if collapse_steps:
        intern = {}
        sig = {}
        for f in sorted(functions, key=lambda f: f.generation):  # creators before consumers
            parts, ks = _split_scope(f.scope)
            fscope[id(f)] = parts
            fsteps[id(f)] = ks
            if not ks:
                continue
            last = max(i for i, c in enumerate(parts) if c == "t=*")
            step_of[id(f)] = (parts[: last + 1], ks)
            ins = []
            for x in f.inputs:
                c = x.creator
                if c is not None and step_of.get(id(c)) == step_of[id(f)] and id(c) in sig:
                    ins.append(("in", sig[id(c)], out_index.get(id(x), 0)))
                elif isinstance(x, Parameter):
                    ins.append(("param", id(x)))
                else:
                    ins.append(("ext", _shape_str(x), str(x.dtype)))
            s = (parts, type(f), tuple(ins))
            sig[id(f)] = intern.setdefault(s, len(intern))
            fkey[id(f)] = ("c", sig[id(f)])
    for i, f in enumerate(functions):
        if id(f) not in fkey:
            fkey[id(f)] = ("f", i)
        if id(f) not in fscope:
            fscope[id(f)] = tuple(str(f.scope).split("/")) if f.scope else ()

    # --- which drawn node each Variable belongs to
    vkey = {}
    for i, v in enumerate(variables):
        c = v.creator
        if c is not None and id(c) in fkey:
            k = fkey[id(c)]
            merge = k[0] == "c" and id(v) not in out_ids  # the Variables asked for stay visible
            vkey[id(v)] = ("o", k, out_index.get(id(v), 0)) if merge else ("v", i)
            continue
        cons = consumers.get(id(v), [])
        if (collapse_steps and cons and id(v) not in out_ids and not isinstance(v, Parameter)
                and all(fkey[id(f)][0] == "c" for f, _ in cons)):
            vkey[id(v)] = ("l", tuple(sorted({(fkey[id(f)], p) for f, p in cons})))
        else:
            vkey[id(v)] = ("v", i)

    groups = {}

    def group(key, kind, obj):
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(kind)
        g.members.append(obj)
        return g

    for f in functions:
        g = group(fkey[id(f)], "fn", f)
        g.scope = fscope[id(f)]
        if fsteps.get(id(f)):
            g.steps.add(fsteps[id(f)])
    fgroup_scope = {k: g.scope for k, g in groups.items()}
    for v in variables:
        group(vkey[id(v)], "var", v)
    for g in groups.values():
        if g.kind == "fn":
            continue
        v = g.members[0]
        if v.creator is not None and id(v.creator) in fkey:
            g.scope = fgroup_scope[fkey[id(v.creator)]]
        else:
            scope = _common_prefix(fgroup_scope[fkey[id(f)]] for f, _ in consumers.get(id(v), []))
            if "t=*" in scope and len(g.members) == 1:  # one leaf for all steps (or for one)
                scope = scope[: scope.index("t=*")]
            g.scope = scope

    # steps folded into each "t=*" cluster path, for its label
    steps_at = {}
    for g in groups.values():
        for ks in g.steps:
            j = 0
            for i, c in enumerate(g.scope):
                if c == "t=*":
                    steps_at.setdefault(g.scope[: i + 1], set()).add(ks[: j + 1])
                    j += 1

    # --- node statements
    nv = nf = 0
    stmts = {}
    partial = False
    for g in groups.values():
        n = len(g.members)
        if g.kind == "fn":
            g.did = f"f{nf}"
            nf += 1
            first = g.members[0]
            name = type(first).__name__
            lines = [_clip(name if n == 1 else f"{name} \u00d7{n}", max_label)]
            if "t=*" in g.scope:
                inner = g.scope[: len(g.scope) - g.scope[::-1].index("t=*")]
                if len(steps_at.get(inner, ())) > 1 and g.steps != steps_at[inner]:
                    part = _step_text(g.steps)
                    if part:
                        lines.append(part)
                        partial = True
            if n == 1:
                tip = f"{name}{first._describe_args()}"
                if first.scope:
                    tip += f" in {first.scope}"
            else:
                tip = f"{name}{first._describe_args()} in {'/'.join(g.scope)}, {n} merged"
            style = _STYLE_FN if n == 1 else _STYLE_FN_COLLAPSED
        else:
            g.did = f"v{nv}"
            nv += 1
            first = g.members[0]
            lines = []
            names = {v.name for v in g.members}
            if len(names) == 1 and first.name:
                lines.append(_clip(str(first.name), max_label))
            shapes = {_shape_str(v) for v in g.members}
            lines.append(_clip(shapes.pop() if len(shapes) == 1 else "shape varies", max_label))
            dtypes = {str(v.dtype) for v in g.members}
            lines.append(dtypes.pop() if len(dtypes) == 1 else "dtype varies")
            if n > 1:
                lines.append(f"\u00d7{n}")
            elif show_grad and first.grad is not None:
                lines.append(_clip(f"\u2016grad\u2016={_grad_norm(first):.4g}", max_label))
            tip = " ".join(lines)
            if isinstance(first, Parameter):
                style = _STYLE_PARAM
            elif id(first) in out_ids:
                style = _STYLE_OUT
            elif n > 1:
                style = _STYLE_VAR_COLLAPSED
            else:
                style = _STYLE_VAR
        stmt = f"{g.did} [label={_q(chr(10).join(lines))}, tooltip={_q(_clip(tip, 200))}, {style}]"
        stmts.setdefault(g.scope if cluster else (), []).append(stmt)

    # --- edges: one per input slot and live output. When collapsing, identical edges are
    # drawn once, and an edge that only carries state from one step to the next (same
    # step cluster, different step) is dashed and does not constrain the layout.
    edges = {}  # (a, b) -> recurrent?
    plain = []

    def recurrent(x, f):
        c = x.creator
        sc, sf = step_of.get(id(c)), step_of.get(id(f))
        return sc is not None and sf is not None and sc[0] == sf[0] and sc[1] != sf[1]

    for f in functions:
        fid = groups[fkey[id(f)]].did
        pairs = [(groups[vkey[id(x)]].did, fid, x) for x in f.inputs]
        pairs += [(fid, groups[vkey[id(o)]].did, None) for o in (r() for r in f.outputs)
                  if o is not None]
        for a, b, x in pairs:
            if not collapse_steps:
                plain.append(f"{a} -> {b}")
                continue
            rec = x is not None and recurrent(x, f)
            edges[(a, b)] = edges.get((a, b), True) and rec
    for (a, b), rec in edges.items():
        plain.append(f"{a} -> {b}" + (" [style=dashed, constraint=false]" if rec else ""))
    if legend:
        text = [_LEGEND_BASE]
        if any(len(g.members) > 1 for g in groups.values()):
            text.append(_LEGEND_MERGED)
        if partial:
            text.append(_LEGEND_PARTIAL)
        stmts.setdefault((), []).append(_legend_stmt(text))

    # --- assemble, clusters nested by scope path
    def label_of(child):
        if child in steps_at and len(steps_at[child]) > 1:
            return f"{child[-1]} (\u00d7{len(steps_at[child])} steps)"
        return child[-1]

    return _nest_clusters(stmts, plain, rankdir=rankdir, max_label=max_label,
                          label_of=label_of, tooltips=True)


def _nest_clusters(stmts, edges, *, rankdir, max_label, label_of=None, tooltips=False):
    """DOT body lines: the graph header, ``stmts`` (scope path -> node statements) nested in
    one dashed cluster per scope path, then ``edges``. ``label_of(path)`` names a cluster
    (default: the path's last part); ``tooltips`` gives each cluster its full path as tooltip."""
    body = [f"\tgraph [rankdir={rankdir}, fontname=Helvetica, fontsize=10]\n",
            "\tnode [fontname=Helvetica, fontsize=10]\n",
            "\tedge [arrowsize=0.7]\n"]
    paths = set()
    for p in stmts:
        for i in range(1, len(p) + 1):
            paths.add(p[:i])
    children = {}
    for p in sorted(paths):
        children.setdefault(p[:-1], []).append(p)

    def emit(path, depth):
        ind = "\t" * depth
        for s in stmts.get(path, []):
            body.append(f"{ind}{s}\n")
        for child in children.get(path, []):
            label = label_of(child) if label_of is not None else child[-1]
            tip = f"tooltip={_q('/'.join(child))}, " if tooltips else ""
            body.append(f"{ind}subgraph {_q('cluster_' + '/'.join(child))} {{\n")
            body.append(f"{ind}\tgraph [label={_q(_clip(label, max_label))}, "
                        f"{tip}style=\"rounded,dashed\", color=gray50, fontcolor=gray30]\n")
            emit(child, depth + 1)
            body.append(f"{ind}}}\n")

    emit((), 1)
    body.extend(f"\t{e}\n" for e in edges)
    return body


def _build_blocks(output, *, depth, show_grad, rankdir, max_label):
    """DOT body lines for ``to_dot(..., depth=k)``: one box per scope prefix of length k."""
    _check_rankdir(rankdir)
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"to_dot: depth must be an int >= 1 or None, got {depth!r}")
    outputs, variables, functions, out_ids = _graph_of(output)

    def parts(f):
        return tuple(str(f.scope).split("/")) if f.scope else ()

    node_of = {}                         # id(Function) -> drawn node key
    blocks = {}                          # block key -> [Functions]
    for i, f in enumerate(functions):
        p = parts(f)
        if len(p) >= depth:
            node_of[id(f)] = ("b", p[:depth])
            blocks.setdefault(p[:depth], []).append(f)
        else:
            node_of[id(f)] = ("f", i)
    consumers = {}
    for f in functions:
        for x in f.inputs:
            consumers.setdefault(id(x), set()).add(node_of[id(f)])
    params_in = {}                       # block key -> hidden Parameters used only there
    drawn = []
    for v in variables:
        users = consumers.get(id(v), set())
        own = node_of.get(id(v.creator)) if v.creator is not None else None
        if id(v) not in out_ids and users and own is not None and users == {own} and own[0] == "b":
            continue                     # made and used inside one block
        if own is None and len(users) == 1 and next(iter(users))[0] == "b":
            if isinstance(v, Parameter):     # a block's own parameter
                params_in.setdefault(next(iter(users))[1], set()).add(id(v))
                continue
            if not v.name:                   # an unnamed constant (a scale, an eps)
                continue
        drawn.append(v)

    stmts, ids = {}, {}
    for k, key in enumerate(sorted(blocks)):
        fs = blocks[key]
        ids[("b", key)] = f"b{k}"
        ops = {}
        for f in fs:
            ops[type(f).__name__] = ops.get(type(f).__name__, 0) + 1
        top = ", ".join(f"{n}\u00d7{c}" if c > 1 else n
                        for n, c in sorted(ops.items(), key=lambda t: -t[1])[:3])
        label = [key[-1], f"{len(fs)} ops, {len(params_in.get(key, ()))} params", _clip(top, max_label)]
        stmts.setdefault(key[:-1], []).append(
            f"b{k} [label={_q(chr(10).join(label))}, tooltip={_q('/'.join(key))}, "
            f"{_STYLE_FN_COLLAPSED}]")
    for i, f in enumerate(functions):
        if node_of[id(f)][0] == "f":
            ids[("f", i)] = f"f{i}"
            stmts.setdefault(parts(f), []).append(
                f"f{i} [label={_q(type(f).__name__)}, tooltip={_q(type(f).__name__ + f._describe_args())}, "
                f"{_STYLE_FN}]")
    vid = {}
    for j, v in enumerate(drawn):
        vid[id(v)] = f"v{j}"
        lines = ([_clip(str(v.name), max_label)] if v.name else []) + [_shape_str(v), str(v.dtype)]
        if show_grad and v.grad is not None:
            lines.append(_clip(f"\u2016grad\u2016={_grad_norm(v):.4g}", max_label))
        style = (_STYLE_PARAM if isinstance(v, Parameter) else
                 _STYLE_OUT if id(v) in out_ids else _STYLE_VAR)
        if v.creator is not None:
            c = node_of[id(v.creator)]
            scope = c[1][:-1] if c[0] == "b" else parts(v.creator)
        else:
            scope = _common_prefix((k[1][:-1] if k[0] == "b" else parts(functions[k[1]]))
                                   for k in consumers.get(id(v), ()))
        stmts.setdefault(scope, []).append(
            f"v{j} [label={_q(chr(10).join(lines))}, {style}]")
    edges = []
    seen = set()
    for f in functions:
        fid = ids[node_of[id(f)]]
        for x in f.inputs:
            if id(x) in vid and (vid[id(x)], fid) not in seen:
                seen.add((vid[id(x)], fid))
                edges.append(f"{vid[id(x)]} -> {fid}")
        for r in f.outputs:
            o = r()
            if o is not None and id(o) in vid and (fid, vid[id(o)]) not in seen:
                seen.add((fid, vid[id(o)]))
                edges.append(f"{fid} -> {vid[id(o)]}")

    return _nest_clusters(stmts, edges, rankdir=rankdir, max_label=max_label)


def to_dot(output, *, show_grad=False, cluster=True, collapse_steps=False, rankdir="TB",
           max_label=40, depth=None, legend=False) -> str:
    """Return the Graphviz DOT source of the graph that produced ``output``.

    The graph holds every Function and Variable backward-reachable from ``output``
    (following ``creator`` and ``inputs``), plus every live output of those Functions.
    Variable nodes (ellipses) show name, shape such as ``(2, 3)`` and dtype;
    Parameters are gold cylinders; Functions are blue boxes labelled with the op's
    class name; the given outputs are drawn bold red. There is one edge per input slot
    (``x * x`` gives two edges x -> Mul) and one per live output (Function -> Variable).

    Scopes: with ``cluster=True`` a Function is drawn inside nested clusters named after
    the components of its ``scope`` (``"encoder/lstm"``: cluster ``lstm`` inside cluster
    ``encoder``); a Variable goes with the Function that created it, and a leaf (input
    or Parameter) into the deepest scope shared by all the Functions that use it (when
    collapsing, outside the ``t=*`` step cluster unless it stands for several merged
    per-step leaves).

    Collapsing (``collapse_steps=True``): a scope component ``t=<k>`` marks time step k.
    Such Functions are merged across steps into one node per *position within the
    step*, where a position is the Function's scope with every ``t=<k>`` replaced by
    ``t=*``, its class, and, for each input, where the input comes from: the position
    and output index of its creator when that creator ran in the same step, the
    Parameter itself, or else (the previous step's state, a leaf, an outside value)
    only the input's shape and dtype. Two Functions of different steps computing the
    same thing from the same kind of inputs therefore share a node, labelled e.g.
    ``Sigmoid ×5``; their outputs merge likewise (output index per merged Function),
    except the Variables passed as ``output``, which are always drawn on their own.
    Non-Parameter leaves used only by merged Functions (per-step constants) merge when
    they feed the same merged Functions at the same argument positions. Identical edges
    are drawn once when collapsing (so ``x * x`` has one arrow then); an edge that
    carries a value from one step to a later one (the recurrent state) is dashed and
    does not constrain the layout.
    Functions outside stepped scopes are unchanged. So a loop of T steps of k ops draws
    k op nodes instead of T*k whatever T is, provided every step computes the same
    thing; a step that differs (say t=0 skips the recurrent matmul because there is no
    state yet) keeps its own nodes for what it computes differently and for everything
    downstream of that within the step. An op node that stands for some of its cluster's
    steps only says which on a second line (``t=0 only``, ``t=1..4``).

    Higher-order graphs need nothing special: the gradient Variables left by
    ``backward(create_graph=True)`` have creators, so ``to_dot(x.grad)`` draws the
    backward pass (linked to the forward Variables it reads).

    Args:
        output: a :class:`~tinygrad_attn.Variable` (any shape) or a list of them.
        show_grad: add the L2 norm of ``.grad`` (``‖grad‖=...``) to each Variable that has
            one (merged nodes show none).
        cluster: group nodes into clusters by Function scope.
        collapse_steps: merge recurrent time steps as described above.
        rankdir: Graphviz layout direction, one of "TB", "LR", "BT", "RL".
        max_label: longest label line in characters (longer ones end in "…"); >= 4.
        depth: None (every op), or k >= 1: every Function whose scope has at least k
            components is folded into one box per scope prefix of length k (a model's
            block such as ``TransformerSeq2seq/encoder/0/self_attn`` at k = 4), labelled
            with its op and parameter counts and its commonest ops; Variables made and used
            inside one box, and Parameters and unnamed constants used by one box only, are
            not drawn. Boxes sit in clusters of their parent scopes.
            A deep model's step then fits on one screen. (``collapse_steps`` and ``cluster``
            do not apply.)
        legend: add a note explaining the node shapes (and, when collapsing, the merged
            nodes and the steps drawn apart). Not with ``depth``.

    Returns:
        The DOT source (``digraph { ... }``) as a string.

    Raises:
        TypeError: ``output`` is not a Variable or a non-empty list of Variables.
        ValueError: bad ``rankdir``, ``max_label`` or ``depth``.
    """
    if depth is not None:
        body = _build_blocks(output, depth=depth, show_grad=show_grad, rankdir=rankdir,
                             max_label=max_label)
        return "digraph {\n" + "".join(body) + "}\n"
    body = _build(output, show_grad=show_grad, cluster=cluster, collapse_steps=collapse_steps,
                  rankdir=rankdir, max_label=max_label, legend=legend)
    return "digraph {\n" + "".join(body) + "}\n"


def _missing_dot_message(path, dot_path) -> str:
    return (f"plot_graph: cannot render {path}: the Graphviz 'dot' program was not found on "
            f"PATH. The DOT source was written to {dot_path}. Install the Graphviz system "
            "package (the pip package 'graphviz' alone is not enough): "
            "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
            "`conda install graphviz` (conda), or the Windows installer from "
            "https://graphviz.org/download/ (then add its bin folder to PATH).")


def plot_graph(output, path, **to_dot_kwargs):
    """Draw the graph behind ``output`` to a file and return it as a ``graphviz.Digraph``.

    The format comes from the extension of ``path``: ``.svg``, ``.png`` or ``.pdf`` are
    rendered with Graphviz ``dot``; ``.dot``/``.gv`` write the source only (no Graphviz
    program needed). The DOT source is always written next to the picture
    (``graph.svg`` -> ``graph.dot``), before rendering, so it survives a missing ``dot``.
    In Jupyter the returned Digraph displays itself (``_repr_mimebundle_``).

    Args:
        output: a Variable or a list of Variables (see :func:`to_dot`).
        path: output file (str or path-like); missing parent folders are created.
        **to_dot_kwargs: ``show_grad``, ``cluster``, ``collapse_steps``, ``rankdir``,
            ``max_label``, ``depth``, ``legend`` as in :func:`to_dot`.

    Returns:
        graphviz.Digraph whose ``source`` equals ``to_dot(output, **to_dot_kwargs)``.

    Raises:
        ValueError: unsupported extension (or a bad :func:`to_dot` argument).
        ImportError: the ``graphviz`` Python package is missing (the .dot file is written).
        GraphvizNotFoundError: the ``dot`` program is missing (the .dot file is written).
    """
    path = Path(os.fspath(path))
    fmt = path.suffix[1:].lower()
    if fmt not in _FORMATS + ("dot", "gv"):
        raise ValueError(f"plot_graph: cannot tell the format of {str(path)!r}: use one of the "
                         f"extensions {', '.join('.' + f for f in _FORMATS)}, .dot or .gv")
    source = to_dot(output, **to_dot_kwargs)
    body = source.splitlines(keepends=True)[1:-1]  # between "digraph {" and "}"
    dot_path = path if fmt in ("dot", "gv") else path.with_suffix(".dot")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(dot_path, "w", encoding="utf-8") as f:
        f.write(source)
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(f"plot_graph needs the 'graphviz' Python package: "
                          f"pip install \"tinygrad-attn[viz]\" (the DOT source was written to "
                          f"{dot_path})") from e
    g = graphviz.Digraph(body=body, format=fmt if fmt in _FORMATS else None)
    if fmt in _FORMATS:
        try:
            data = g.pipe(format=fmt)
        except (graphviz.ExecutableNotFound, FileNotFoundError) as e:
            raise GraphvizNotFoundError(_missing_dot_message(path, dot_path), dot_path) from e
        with atomic_write(path, "wb") as f:
            f.write(data)
    return g
