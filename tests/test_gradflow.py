"""Gradient flow: norms per parameter, update ratios, the plot, and skip connections."""
import os
import runpy
import sys

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.viz import plot_grad_flow
from tinygrad_attn.checks.gradflow import (FlowRow, grad_flow,
                                    grad_flow_table, group_norms,
                                    record_update_ratios, snapshot_params, update_ratio_table,
                                    update_ratios)
from tinygrad_attn.checks.lessons.skip_connections import compare_skip_connections
from tinygrad_attn.optim import SGD, Adam

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
R = np.random.default_rng(3)


def _two_layer_net():
    net = L.Layer()
    net.fc1 = L.Linear(3, 5, dtype=np.float64, rng=np.random.default_rng(0))
    net.fc2 = L.Linear(5, 2, dtype=np.float64, rng=np.random.default_rng(1))
    x = R.standard_normal((4, 3))
    loss = F.sum(net.fc2(F.tanh(net.fc1(x))) ** 2)
    loss.backward()
    return net


def test_grad_flow_rows_match_numpy_norms():
    net = _two_layer_net()
    rows = grad_flow(net)
    assert [r.name for r in rows] == ["fc1.W", "fc1.b", "fc2.W", "fc2.b"]
    for r, (name, p) in zip(rows, net.named_params()):
        assert r.shape == p.shape and r.has_grad
        assert r.weight_norm == pytest.approx(np.linalg.norm(p.data))
        assert r.grad_norm == pytest.approx(np.linalg.norm(p.grad.data))
        if r.weight_norm > 0:
            assert r.ratio == pytest.approx(r.grad_norm / r.weight_norm)
    assert np.isnan(rows[1].ratio)  # zero-initialised bias: ratio undefined
    table = grad_flow_table(net, title="net")
    assert table.splitlines()[0] == "net" and "fc2.W" in table and "|grad|/|W|" in table
    assert "n/a" in table and "largest/smallest" in table


def test_grad_flow_accepts_params_and_flags_missing_grads():
    a = ta.Parameter(np.ones(3), name="w")
    b = ta.Parameter(np.ones(2), name="w")
    c = ta.Parameter(np.ones(2))
    F.sum(a * 2.0).backward()
    rows = grad_flow([a, b, c])
    assert [r.name for r in rows] == ["w#0", "w#1", "param 2"]
    assert rows[0].grad_norm == pytest.approx(2 * np.sqrt(3))
    assert not rows[1].has_grad and rows[1].grad_norm == 0.0
    assert "no grad" in grad_flow_table(rows)
    assert [r.name for r in grad_flow({"x": a})] == ["x"]
    with pytest.raises(TypeError, match="grad_flow: expected a Layer"):
        grad_flow(3)
    with pytest.raises(TypeError, match="'bad' is a ndarray"):
        grad_flow({"bad": np.ones(2)})


def test_group_norms_add_in_quadrature():
    rows = [FlowRow("a.0.W", (2, 2), 3.0, 1.0, 1 / 3), FlowRow("a.0.b", (2,), 4.0, 2.0, 0.5),
            FlowRow("a.1.W", (3,), 1.0, 0.5, 0.5)]
    g = group_norms(rows, depth=2)
    assert [r.name for r in g] == ["a.0", "a.1"]
    assert g[0].weight_norm == pytest.approx(5.0) and g[0].grad_norm == pytest.approx(np.sqrt(5))
    assert g[0].shape == (6,) and g[0].ratio == pytest.approx(np.sqrt(5) / 5)
    assert [r.name for r in group_norms(rows, key=lambda n: n[-1])] == ["W", "b"]
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        group_norms(rows, depth=0)


def test_update_ratios_sgd_is_lr_times_grad():
    net = _two_layer_net()
    flow = {r.name: r for r in grad_flow(net)}
    rows = record_update_ratios(net, SGD(net, lr=0.1))
    for r in rows:
        assert r.update_norm == pytest.approx(0.1 * flow[r.name].grad_norm)
        assert r.weight_norm == pytest.approx(flow[r.name].weight_norm)
    table = update_ratio_table(rows)
    assert "|update|/|W|" in table and "rule of thumb" in table
    # Adam's first step moves every element by about lr: |update| ~ lr * sqrt(size)
    net = _two_layer_net()
    before = snapshot_params(net)
    Adam(net, lr=1e-3).update()
    for r in update_ratios(net, before):
        assert r.update_norm == pytest.approx(1e-3 * np.sqrt(np.prod(r.shape)), rel=1e-3)
    with pytest.raises(KeyError, match="'fc1.W' is not in before_state"):
        update_ratios(net, {})
    with pytest.raises(ValueError, match=r"fc1.W was \(1,\), is now \(3, 5\)"):
        update_ratios(net, {n: np.zeros(1) for n in before})


def test_plot_grad_flow_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    net = _two_layer_net()
    rows = grad_flow(net)
    fig = plot_grad_flow(rows, tmp_path / "sub" / "flow.png", title="t")
    assert (tmp_path / "sub" / "flow.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == [r.name for r in rows]
    fig2 = plot_grad_flow({"a": rows, "b": rows[:2]}, None)
    assert len(fig2.axes[0].patches) == 8 and fig2.axes[0].get_legend() is not None
    with pytest.raises(ValueError, match="no rows"):
        plot_grad_flow([], None)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_skip_connections_keep_first_layer_gradients(seed):
    """Measured over 20 seeds (6 layers, T=10, N=4, width 8): with/without first-layer norm
    >= 47x, first/last without skips <= 0.08, with skips >= 1.4."""
    runs = compare_skip_connections(num_layers=6, seq_len=10, batch=4, size=8, seed=seed)
    with_, without = group_norms(runs["with skips"]), group_norms(runs["without skips"])
    assert [r.name for r in with_] == [f"layers.{k}" for k in range(6)]
    # identical weights in both stacks (same seed): only the skips differ
    assert with_[0].weight_norm == pytest.approx(without[0].weight_norm)
    assert with_[0].grad_norm / without[0].grad_norm > 20
    assert without[0].grad_norm / without[-1].grad_norm < 0.2
    assert with_[0].grad_norm / with_[-1].grad_norm > 1.0
    norms = [r.grad_norm for r in without]
    assert norms[0] < norms[2] < norms[5]  # shrinking toward the input


def test_compare_skip_connections_bad_argument():
    with pytest.raises(ValueError, match="compare_skip_connections: num_layers must be a positive"):
        compare_skip_connections(num_layers=0)


def test_skip_connections_example_runs(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    out = tmp_path / "flow.png"
    monkeypatch.setattr(sys, "argv", ["x", "--layers", "4", "--seq-len", "6", "--size", "6",
                                      "--out", str(out)])
    runpy.run_path(os.path.join(ROOT, "examples", "skip_connections_gradflow.py"),
                   run_name="__main__")
    text = capsys.readouterr().out
    assert "== with skips: per layer ==" in text and "== without skips: per parameter ==" in text
    assert "first layer, with skips / without skips:" in text
    assert out.stat().st_size > 1000


def test_grad_flow_and_update_ratios_on_the_strict_device():
    from tinygrad_attn import backend

    lin = L.Linear(3, 2, dtype=np.float64).to_device("strict")
    x = backend.as_device(R.standard_normal((4, 3)), "strict")
    F.sum(lin(ta.Variable(x)) ** 2).backward()
    rows = grad_flow(lin)
    g = backend.as_numpy(lin.W.grad.data)
    assert rows[0].grad_norm == pytest.approx(np.linalg.norm(g))
    ups = record_update_ratios(lin, SGD(lin, lr=0.5))
    assert ups[0].update_norm == pytest.approx(0.5 * np.linalg.norm(g))
