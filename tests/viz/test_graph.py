"""Graph drawing: node/edge counts on small known graphs, clusters, collapsing, rendering."""
import re
import shutil
import sys

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.viz import GraphvizNotFoundError, plot_graph, to_dot

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="the Graphviz 'dot' program is not on PATH")

_NODE = re.compile(r'^\s*([vf]\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$', re.M)
_EDGE = re.compile(r"^\s*([vf]\d+) -> ([vf]\d+)(.*)$", re.M)


def parse(dot):
    """nodes: id -> (label lines, attribute text); edges: list of (src, dst, attrs)."""
    nodes = {m.group(1): (m.group(2).split("\\n"), m.group(3)) for m in _NODE.finditer(dot)}
    edges = [(m.group(1), m.group(2), m.group(3)) for m in _EDGE.finditer(dot)]
    return nodes, edges


def counts(dot):
    nodes, edges = parse(dot)
    return len(nodes), len(edges)


def first_label(nodes, nid):
    return nodes[nid][0][0]


def tanh_graph():
    x = ta.Variable(np.ones((2, 3), dtype=np.float32), name="x")
    w = ta.Parameter(np.full((2, 3), 0.5, dtype=np.float32), name="w")
    b = ta.Parameter(np.zeros(3, dtype=np.float32), name="b")
    return x, w, b, F.tanh(x * w + b)


def rnn_loop(steps=5, h0_leaf=True):
    """h = tanh(x W + h U) under scopes rnn/t=0..; loss = sum(h) outside the scopes."""
    rng = np.random.default_rng(0)
    x = ta.Variable(rng.standard_normal((2, 3)), name="x")
    W = ta.Parameter(rng.standard_normal((3, 4)), name="W")
    U = ta.Parameter(rng.standard_normal((4, 4)), name="U")
    h = ta.Variable(np.zeros((2, 4)), name="h0") if h0_leaf else None
    for k in range(steps):
        with ta.name_scope("rnn"), ta.name_scope(f"t={k}"):
            a = F.matmul(x, W)
            h = F.tanh(a if h is None else a + F.matmul(h, U))
    return h.sum()


# ----------------------------------------------------------------------------- plain graphs
def test_tanh_graph_exact_counts_edges_and_labels():
    x, w, b, y = tanh_graph()
    dot = to_dot(y)
    nodes, edges = parse(dot)
    # Variables x, w, b, x*w, x*w+b, y and Functions Mul, Add, Tanh
    assert (len(nodes), len(edges)) == (9, 8)
    fn_labels = sorted(first_label(nodes, n) for n in nodes if n.startswith("f"))
    assert fn_labels == ["Add", "Mul", "Tanh"]
    by_label = {}
    for n in nodes:
        by_label.setdefault(first_label(nodes, n), []).append(n)
    xid, wid, bid = by_label["x"][0], by_label["w"][0], by_label["b"][0]
    assert nodes[xid][0] == ["x", "(2, 3)", "float32"]
    assert nodes[bid][0] == ["b", "(3,)", "float32"]
    pairs = {(first_label(nodes, a), first_label(nodes, b_)) for a, b_, _ in edges}
    assert {("x", "Mul"), ("w", "Mul"), ("b", "Add"), ("Tanh", "(2, 3)")} <= pairs
    # edges run input -> Function -> output only
    assert all(a[0] != b_[0] for a, b_, _ in edges)


def test_parameters_and_outputs_are_drawn_distinctly():
    x, w, b, y = tanh_graph()
    nodes, _ = parse(to_dot(y))
    attrs = {first_label(nodes, n): nodes[n][1] for n in nodes}
    assert "cylinder" in attrs["w"] and "cylinder" in attrs["b"]
    assert "cylinder" not in attrs["x"]
    assert "shape=box" in attrs["Tanh"] and "shape=ellipse" in attrs["x"]
    roots = [n for n in nodes if "bold" in nodes[n][1]]
    assert len(roots) == 1 and roots[0].startswith("v")


def test_repeated_input_gives_one_edge_per_slot():
    x = ta.Variable(np.arange(3.0), name="x")
    nodes, edges = parse(to_dot(x * x))
    assert (len(nodes), len(edges)) == (3, 3)
    xid = next(n for n in nodes if first_label(nodes, n) == "x")
    assert sum(1 for a, _, _ in edges if a == xid) == 2


def test_split_draws_live_outputs_only():
    x = ta.Variable(np.ones((2, 6)), name="x")
    a, b, c = F.split(x, 3, axis=1)
    y = F.tanh(a)
    # x, Split, a, b, c, Tanh, y
    assert counts(to_dot(y)) == (7, 6)
    del c  # now dead: only a and b are drawn
    assert counts(to_dot(y)) == (6, 5)
    assert b is not None


def test_list_of_outputs_and_leaf_output():
    x = ta.Variable(np.ones(2), name="x")
    y1, y2 = F.exp(x), F.log(x)
    assert counts(to_dot([y1, y2, y1])) == (5, 4)
    assert counts(to_dot(x)) == (1, 0)


def test_grad_norms_after_backward():
    x, w, b, y = tanh_graph()
    assert "grad" not in to_dot(y, show_grad=True)  # no backward yet
    y.sum().backward()
    dot = to_dot(y, show_grad=True)
    for v in (x, w, b):
        norm = float(np.linalg.norm(v.grad.data.astype(np.float64)))
        assert f"\u2016grad\u2016={norm:.4g}" in dot
    nodes, _ = parse(dot)
    with_grad = sorted(first_label(nodes, n) for n in nodes
                       if any(ln.startswith("\u2016grad\u2016") for ln in nodes[n][0]))
    assert with_grad == ["b", "w", "x"]  # intermediate grads were not retained
    assert "grad" not in to_dot(y)


def test_clusters_follow_name_scopes():
    x = ta.Variable(np.ones((2, 3)), name="x")
    W = ta.Parameter(np.ones((3, 3)), name="W")
    with ta.name_scope("encoder"), ta.name_scope("lstm"):
        h = F.tanh(F.matmul(x, W))
    loss = h.sum()
    dot = to_dot(loss)
    enc = dot.index('subgraph "cluster_encoder" {')
    lstm = dot.index('subgraph "cluster_encoder/lstm" {')
    tanh = dot.index('[label="Tanh"')
    summ = dot.index('[label="Sum"')
    assert enc < lstm < tanh
    assert summ < enc  # Sum ran outside any scope: top level, emitted before the clusters
    assert dot.count("subgraph") == 2
    assert counts(dot) == counts(to_dot(loss, cluster=False))
    assert "subgraph" not in to_dot(loss, cluster=False)
    # W is used only inside encoder/lstm: drawn there
    assert dot.index('label="W') > lstm


# ----------------------------------------------------------------------------- collapsing
def test_collapse_rnn_loop_exact_counts():
    loss = rnn_loop(5)
    full = to_dot(loss)
    # 5 steps x (MatMul, MatMul, Add, Tanh) + Sum = 21 Functions;
    # leaves x, W, U, h0 + 5 x 4 results + loss = 25 Variables; 5 x 11 + 2 edges
    assert counts(full) == (46, 57)
    assert full.count("subgraph") == 6  # rnn and t=0..t=4
    col = to_dot(loss, collapse_steps=True)
    # MatMul x2, Add, Tanh (each x5) + Sum; their 4 merged outputs + x, W, U, h0 + loss
    assert counts(col) == (14, 14)
    nodes, edges = parse(col)
    merged = sorted(first_label(nodes, n) for n in nodes
                    if n.startswith("f") and "\u00d75" in first_label(nodes, n))
    assert merged == ["Add \u00d75", "MatMul \u00d75", "MatMul \u00d75", "Tanh \u00d75"]
    dashed = [(a, b) for a, b, attrs in edges if "dashed" in attrs]
    assert len(dashed) == 1  # h of step k -> MatMul(h, U) of step k+1
    assert first_label(nodes, dashed[0][1]) == "MatMul \u00d75"
    assert 't=* (\u00d75 steps)' in col
    assert col.count("subgraph") == 2


def test_collapsed_size_does_not_grow_with_steps():
    assert counts(to_dot(rnn_loop(3), collapse_steps=True)) == (14, 14)
    assert counts(to_dot(rnn_loop(9), collapse_steps=True)) == (14, 14)
    assert counts(to_dot(rnn_loop(9))) == (78, 101)  # 9 * 8 + 6 nodes, 9 * 11 + 2 edges


def test_collapse_keeps_a_different_first_step_apart():
    loss = rnn_loop(5, h0_leaf=False)  # step 0: tanh(x W) without the recurrent term
    # MatMul(x, W) x5, MatMul(h, U) x4, Add x4, Tanh x4, step 0's Tanh, Sum;
    # their outputs (5 nodes) + x, W, U + loss
    assert counts(to_dot(loss, collapse_steps=True)) == (15, 16)
    nodes, _ = parse(to_dot(loss, collapse_steps=True))
    labels = sorted(first_label(nodes, n) for n in nodes if n.startswith("f"))
    assert labels == ["Add \u00d74", "MatMul \u00d74", "MatMul \u00d75", "Sum", "Tanh",
                      "Tanh \u00d74"]


def test_collapse_merges_per_step_constants_and_keeps_the_output():
    x = ta.Variable(np.ones(2), name="x")
    h = x
    for k in range(3):
        with ta.name_scope("s"), ta.name_scope(f"t={k}"):
            h = h * 0.5  # a new constant leaf each step
    # x, 3 constants, 3 Mul results, 3 Muls
    assert counts(to_dot(h)) == (10, 9)
    nodes, edges = parse(to_dot(h, collapse_steps=True))
    # Mul x3; x, the constants (one node), steps 0-1's results (one node), the output h
    assert (len(nodes), len(edges)) == (5, 5)
    consts = [n for n in nodes if nodes[n][0][:3] == ["()", "float64", "\u00d73"]]
    assert len(consts) == 1
    assert sum("bold" in nodes[n][1] for n in nodes) == 1


def test_second_derivative_graph():
    x = ta.Variable(np.array(2.0), name="x")
    y = x ** 3
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.creator is not None and float(gx.data) == pytest.approx(12.0)
    nodes, edges = parse(to_dot(gx))
    labels = [first_label(nodes, n) for n in nodes]
    assert "PowConst" in labels and labels.count("x") == 1
    xid = next(n for n in nodes if first_label(nodes, n) == "x")
    assert any(a == xid and first_label(nodes, b) == "PowConst" for a, b, _ in edges)
    x.cleargrad()
    gx.backward()
    assert float(x.grad.data) == pytest.approx(12.0)  # d2/dx2 x^3 = 6x


def test_bad_arguments():
    x, w, b, y = tanh_graph()
    with pytest.raises(TypeError, match="to_dot: expected a Variable"):
        to_dot(np.ones(3))
    with pytest.raises(TypeError, match="to_dot"):
        to_dot([])
    with pytest.raises(ValueError, match="rankdir must be one of"):
        to_dot(y, rankdir="XY")
    with pytest.raises(ValueError, match="max_label"):
        to_dot(y, max_label=2)
    assert "rankdir=LR" in to_dot(y, rankdir="LR")


def test_long_names_are_clipped_and_quoted():
    x = ta.Variable(np.ones(2), name='a"very' + "x" * 80)
    nodes, _ = parse(to_dot(F.exp(x), max_label=12))
    label = next(first_label(nodes, n) for n in nodes if "very" in first_label(nodes, n))
    assert label == 'a\\"veryxxxxx\u2026'


# ----------------------------------------------------------------------------- rendering
def test_plot_graph_writes_dot_source_without_graphviz_program(tmp_path):
    x, w, b, y = tanh_graph()
    g = plot_graph(y, tmp_path / "sub" / "g.dot")
    assert (tmp_path / "sub" / "g.dot").read_text(encoding="utf-8") == to_dot(y)
    assert g.source == to_dot(y)
    with pytest.raises(ValueError, match=r"plot_graph: cannot tell the format.*\.svg"):
        plot_graph(y, tmp_path / "g.jpeg")


@needs_dot
def test_plot_graph_renders_svg_and_png(tmp_path):
    x, w, b, y = tanh_graph()
    g = plot_graph(y, tmp_path / "g.svg", show_grad=False)
    svg = (tmp_path / "g.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "Tanh" in svg
    assert (tmp_path / "g.dot").read_text(encoding="utf-8") == g.source == to_dot(y)
    assert hasattr(g, "_repr_mimebundle_") or hasattr(g, "_repr_svg_")
    plot_graph(y, tmp_path / "g.png", collapse_steps=True)
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_dot_program_gives_install_hint(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    x, w, b, y = tanh_graph()
    with pytest.raises(GraphvizNotFoundError) as info:
        plot_graph(y, tmp_path / "g.svg")
    e = info.value
    assert not isinstance(e, FileNotFoundError) and isinstance(e, RuntimeError)
    msg = str(e)
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz",
                 "Windows", str(tmp_path / "g.dot")):
        assert hint in msg
    assert e.dot_path == tmp_path / "g.dot"
    assert (tmp_path / "g.dot").read_text(encoding="utf-8") == to_dot(y)
    assert not (tmp_path / "g.svg").exists()


# ----------------------------------------------------------------------------- CLI
def test_example_loss_collapses_to_a_fixed_size():
    from tinygrad_attn.cli.commands.graph import example_loss

    small, big = example_loss(seq_len=3), example_loss(seq_len=7)
    assert counts(to_dot(small, collapse_steps=True)) == counts(to_dot(big, collapse_steps=True))
    assert counts(to_dot(big))[0] > counts(to_dot(small))[0]
    assert 'subgraph "cluster_encoder/lstm/t=*"' in to_dot(big, collapse_steps=True)


def test_cli_draws_the_builtin_example(tmp_path, capsys):
    from tinygrad_attn.cli import main

    out = tmp_path / "g.dot"
    assert main(["graph", "--model", "example", "--out", str(out), "--no-collapse",
                 "--seq-len", "3"]) == 0
    captured = capsys.readouterr()
    assert "built-in LSTM example" in captured.err + captured.out
    text = out.read_text(encoding="utf-8")
    assert 'subgraph "cluster_encoder/lstm/t=2"' in text and "t=*" not in text


@pytest.mark.parametrize("model", ["attention", "seq2seq", "peeky"])
def test_cli_draws_a_model(tmp_path, model):
    from tinygrad_attn.cli import main

    out = tmp_path / "g.gv"
    assert main(["graph", "--model", model, "--show-grad", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("digraph {") and "SoftmaxCrossEntropy" in text
    assert "\u2016grad\u2016" in text


def test_cli_missing_dot_is_a_user_error(tmp_path, monkeypatch, capsys):
    from tinygrad_attn.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert "tinygrad-attn: error:" in err and "apt-get install graphviz" in err
    assert (tmp_path / "g.dot").is_file()
    assert main(["graph", "--out", str(tmp_path / "g.txt")]) == 2
    assert main(["graph", "--seq-len", "0", "--out", str(tmp_path / "g.dot")]) == 2


# ----------------------------------------------------------------------------- the book's pictures
_CLUSTER = re.compile(r'subgraph "cluster_([^"]*)" \{')


def clusters_of(dot):
    """{cluster path: [first label line of every node directly inside it]}."""
    out, stack = {}, []
    for line in dot.splitlines():
        m = _CLUSTER.search(line)
        if m:
            stack.append(m.group(1))
            out.setdefault(m.group(1), [])
        elif line.strip() == "}" and stack:
            stack.pop()
        else:
            n = _NODE.match(line)
            if n and stack:
                out[stack[-1]].append(n.group(2).split("\\n")[0])
    return out


@pytest.mark.parametrize("form, weight_ops, sum_ops", [
    ("matmul", {"Reshape", "MatMul", "Softmax"}, {"Reshape", "MatMul"}),
    ("book", {"Reshape", "BroadcastTo", "Mul", "Sum", "Softmax"}, {"Reshape", "BroadcastTo", "Mul", "Sum"}),
])
def test_cli_decoder_step_draws_the_books_decoder(tmp_path, capsys, form, weight_ops, sum_ops):
    """--decoder-step: one step, hs a leaf, AttentionWeight and WeightSum as clusters around
    their ops, the chapter's Variable names; model options (--attention-form) are taken."""
    from tinygrad_attn.cli import main

    out = tmp_path / "step.dot"
    assert main(["graph", "--decoder-step", "--fused", "--attention-form", form,
                 "--out", str(out)]) == 0
    assert "decoder step 1 alone" in capsys.readouterr().out
    dot = out.read_text(encoding="utf-8")
    nodes, edges = parse(dot)
    by_name = {lines[0]: nid for nid, (lines, _) in nodes.items()
               if nid.startswith("v") and len(lines) == 3}
    for name in ("hs", "h", "s", "a", "c", "cell"):
        assert name in by_name, (name, sorted(by_name))
    made = {dst for _, dst, _ in edges}
    assert by_name["hs"] not in made and by_name["cell"] not in made    # leaves
    cl = clusters_of(dot)
    root = "AttentionSeq2seq/attention"
    ops_w = {lab for lab in cl[f"{root}/AttentionWeight"] if lab[0].isupper()}
    ops_s = {lab for lab in cl[f"{root}/WeightSum"] if lab[0].isupper()}
    assert ops_w == weight_ops and ops_s == sum_ops
    assert {"s", "a"} <= set(cl[f"{root}/AttentionWeight"]) and "c" in cl[f"{root}/WeightSum"]
    assert sum(1 for lines, _ in nodes.values() if lines[0] == "LSTMCell") == 1
    assert not any("encoder" in c for c in cl)          # the encoder is not drawn
    # the step's clusters: embedding, decoder LSTM, attention, output layer, loss
    assert {"AttentionSeq2seq/dec_embed", "AttentionSeq2seq/decoder/0", "AttentionSeq2seq/out",
            "AttentionSeq2seq/loss"} <= set(cl)


def test_whole_model_names_and_marks_the_first_step(tmp_path):
    """The full graph names hs/h/s/a/c too; ops of the first step alone say so, and the
    legend explains it."""
    from tinygrad_attn.cli import main

    out = tmp_path / "g.dot"
    assert main(["graph", "--seq-len", "3", "--answer-len", "2", "--out", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    nodes, _ = parse(dot)
    names = {lines[0] for nid, (lines, _) in nodes.items() if nid.startswith("v")}
    assert {"hs", "h", "s", "a", "c"} <= names
    marked = [lines for nid, (lines, _) in nodes.items() if nid.startswith("f") and len(lines) > 1]
    assert any(lines[1] == "t=0 only" for lines in marked)
    assert any(lines[1] == "t=1..2" for lines in marked)     # encoder: 3 steps, t=0 apart
    assert "legend [label=" in dot and "t=0 only" in dot.split("legend [label=")[1]
    assert main(["graph", "--no-legend", "--out", str(out), "--overwrite"]) == 0
    assert "legend" not in out.read_text(encoding="utf-8")


def test_cli_graph_takes_every_model_option_and_refuses_others(tmp_path, capsys):
    from tinygrad_attn.training import registry
    from tinygrad_attn.cli import main

    out = tmp_path / "g.dot"
    assert main(["graph", "--model", "attention", "--attention-feed", "lstm", "--hidden", "4",
                 "--score", "general", "--out", str(out)]) == 0
    dot = out.read_text(encoding="utf-8")
    assert "(4, 4)" in dot                       # general score's W: hidden 4 taken
    # every option of every model is accepted by graph as by train
    from tinygrad_attn.cli import build_parser
    helptext = build_parser()._subparsers._group_actions[0].choices["graph"].format_help()
    for dest, owners in registry.all_options().items():
        assert owners[0][1].flag in helptext
    for argv, msg in ((["--model", "seq2seq", "--attention-feed", "lstm"], "not of --model seq2seq"),
                      (["--model", "example", "--hidden", "4"], "not of --model example"),
                      (["--model", "ntm", "--decoder-step"], "has no decoder steps"),
                      (["--decoder-step", "5", "--answer-len", "2"], "beyond the answer's 2"),
                      (["--model", "example", "--decoder-step"], "needs a registered model")):
        assert main(["graph", *argv, "--out", str(tmp_path / "x.dot"), "--overwrite"]) == 2
        assert msg in capsys.readouterr().err, argv


def test_decoder_step_loss_validates_the_step():
    from tinygrad_attn_models import AttentionSeq2seq

    m = AttentionSeq2seq(13, 4, 6, dtype=np.float64)
    xs, ts = np.ones((2, 5), dtype=np.int64), np.ones((2, 3), dtype=np.int64)
    assert m.decoder_step_loss(xs, ts, step=0).shape == ()
    with pytest.raises(ValueError, match=r"step must be an integer in \[0, 1\]"):
        m.decoder_step_loss(xs, ts, step=2)
