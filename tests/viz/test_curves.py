"""Training curves: one run and several runs."""
import numpy as np
import pytest

from tinygrad_attn.viz import plot_histories, plot_history

pytest.importorskip("matplotlib")


def history(n=5, acc_every=1, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(1, n + 1):
        row = {"epoch": e, "loss": float(2.0 / e + 0.01 * rng.random()), "time": 1.0}
        if acc_every and e % acc_every == 0:
            row["val_acc"] = min(1.0, 0.2 * e)
        rows.append(row)
    return rows


def test_plot_history_two_panels_and_file(tmp_path):
    h = history(6, acc_every=2)
    h[1]["val_acc"] = None  # epoch 2: explicitly not evaluated
    fig = plot_history(h, tmp_path / "h.png", title="run")
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.get_lines()) == 1 and len(ax_acc.get_lines()) == 1
    np.testing.assert_allclose(ax_loss.get_lines()[0].get_ydata(), [r["loss"] for r in h])
    np.testing.assert_allclose(ax_acc.get_lines()[0].get_xdata(), [4, 6])
    np.testing.assert_allclose(ax_acc.get_lines()[0].get_ydata(), [0.8, 1.0])


def test_plot_history_without_accuracy(tmp_path):
    fig = plot_history(history(3, acc_every=0), tmp_path / "h.svg")
    assert "<svg" in (tmp_path / "h.svg").read_text(encoding="utf-8")
    assert len(fig.axes[0].get_lines()) == 1 and len(fig.axes[1].get_lines()) == 0


def test_plot_histories_one_line_per_run(tmp_path):
    runs = {"attention": history(5, seed=1), "baseline": history(4, seed=2),
            "no-eval": history(3, acc_every=0)}
    fig = plot_histories(runs, tmp_path / "cmp.png")
    assert (tmp_path / "cmp.png").stat().st_size > 0
    ax_loss, ax_acc = fig.axes
    assert [ln.get_label() for ln in ax_loss.get_lines()] == ["attention", "baseline", "no-eval"]
    assert [ln.get_label() for ln in ax_acc.get_lines()] == ["attention", "baseline"]
    assert ax_loss.get_lines()[1].get_color() == ax_acc.get_lines()[1].get_color()


def test_bad_histories_raise():
    with pytest.raises(ValueError, match=r"plot_history: history is empty"):
        plot_history([])
    with pytest.raises(ValueError,
                       match=r"plot_history: history\[1\] lacks the key\(s\) \['loss'\]"):
        plot_history([{"epoch": 1, "loss": 1.0}, {"epoch": 2}])
    with pytest.raises(ValueError, match=r"val_acc'\] = 87.5 is outside \[0, 1\]"):
        plot_history([{"epoch": 1, "loss": 1.0, "val_acc": 87.5}])
    with pytest.raises(ValueError, match=r"\['loss'\] must be a number, got 'x'"):
        plot_history([{"epoch": 1, "loss": "x"}])
    with pytest.raises(TypeError, match=r"history\[0\] must be a dict"):
        plot_history([(1, 0.5)])
    with pytest.raises(TypeError, match="must be a list of per-epoch dicts"):
        plot_history({"epoch": 1, "loss": 1.0})
    with pytest.raises(TypeError, match=r"plot_histories: expected a dict"):
        plot_histories([history()])
    with pytest.raises(ValueError, match="no runs"):
        plot_histories({})
    with pytest.raises(ValueError, match=r"histories\['b'\]\[0\] lacks"):
        plot_histories({"a": history(), "b": [{"loss": 1.0}]})


def test_epoch_ticks_are_integers_and_one_epoch_is_not_a_dot():
    fig = plot_history(history(3))
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    one = plot_history([{"epoch": 1, "loss": 0.9, "val_acc": 0.6}])
    lo, hi = one.axes[0].get_xlim()
    assert lo <= 0.5 and hi >= 1.5  # a readable range around the single epoch


def test_loss_curve_draws_inside_the_epochs():
    h = [{"epoch": 1, "loss": 1.5, "loss_curve": [2.0, 1.5, 1.0, 0.5], "val_acc": 0.4},
         {"epoch": 2, "loss": 0.3, "loss_curve": [0.4, 0.2], "val_acc": 0.9}]
    ax_loss = plot_history(h).axes[0]
    epoch_line, curve = ax_loss.get_lines()
    np.testing.assert_allclose(epoch_line.get_ydata(), [1.5, 0.3])
    np.testing.assert_allclose(curve.get_xdata(), [0.25, 0.5, 0.75, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(curve.get_ydata(), [2.0, 1.5, 1.0, 0.5, 0.4, 0.2])
    assert ax_loss.get_xlim()[0] <= 0.0
    one = plot_history(h[:1]).axes[0]
    assert len(one.get_lines()[1].get_xdata()) == 4 and one.get_xlim()[0] <= 0.0
    with pytest.raises(ValueError, match=r"history\[0\]\['loss_curve'\]\[1\]"):
        plot_history([{"epoch": 1, "loss": 1.0, "loss_curve": [1.0, "x"]}])
    with pytest.raises(TypeError, match=r"loss_curve'\] must be a list of numbers"):
        plot_history([{"epoch": 1, "loss": 1.0, "loss_curve": 3.0}])
