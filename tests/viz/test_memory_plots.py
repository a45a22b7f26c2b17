"""NTM pictures: weightings over time beside the bits, and bit-error curves."""
import numpy as np
import pytest

from tinygrad_attn.viz import plot_bit_error_curves, plot_memory
from tinygrad_attn.viz.memory import used_rows

pytest.importorskip("matplotlib")


def walk(T, R, start=2):
    """A head that moves one row per step from ``start``."""
    w = np.zeros((T, R))
    w[np.arange(T), (start + np.arange(T)) % R] = 1.0
    return w


def test_plot_memory_panels_and_file(tmp_path):
    T, R = 9, 16
    x = np.zeros((T, 4))
    x[:4, :3] = np.random.default_rng(0).integers(0, 2, (4, 3))
    x[4, 3] = 1
    t = -np.ones((T, 3))
    t[5:9] = x[:4, :3]
    y = np.clip(t, 0, 1) * 0.9 + 0.05
    fig = plot_memory(walk(T, R), walk(T, R), x, t, y, tmp_path / "m.png", title="copy")
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [ax.get_title() for ax in fig.axes][:3] == ["input", "target", "output"]
    img = fig.axes[3].get_images()[0].get_array()
    rows = used_rows(walk(T, R), walk(T, R))
    np.testing.assert_array_equal(rows, np.arange(1, 12))  # rows 2..10 used, margin 1
    assert img.shape == (len(rows), 2 * T)  # write steps, then read steps
    np.testing.assert_array_equal(img[:, :T], walk(T, R)[:, 1:12].T)
    with pytest.raises(ValueError, match="shapes do not agree"):
        plot_memory(walk(T, R), walk(T + 1, R), x, t, y)
    with pytest.raises(ValueError, match="one example"):
        plot_memory(walk(T, R)[None], walk(T, R), x, t, y)


def test_used_rows_wraparound_and_empty(tmp_path):
    w = walk(6, 20, start=17)  # rows 17, 18, 19, 0, 1, 2: one run across the end
    np.testing.assert_array_equal(used_rows(w), [16, 17, 18, 19, 0, 1, 2, 3])
    np.testing.assert_array_equal(used_rows(np.zeros((3, 5))), np.arange(5))
    np.testing.assert_array_equal(used_rows(walk(9, 10)), np.arange(10))  # almost all used
    x, t = np.zeros((6, 2)), -np.ones((6, 1))
    fig = plot_memory(w, w, x, t, np.zeros((6, 1)), tmp_path / "w.png")
    labels = [tk.get_text() for tk in fig.axes[3].get_yticklabels()]
    assert labels[0] == "16" and "0" in labels and labels[-1] == "3"


def test_bit_error_curves(tmp_path):
    runs = {"NTM": [{"steps": 250 * i, "val_bit_errors": 10.0 / i} for i in range(1, 6)],
            "LSTM": [{"steps": 250 * i, "val_bit_errors": 0.0} for i in range(1, 3)]}
    fig = plot_bit_error_curves(runs, tmp_path / "c.png")
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == ["NTM", "LSTM"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [1e-3, 1e-3])  # 0 at the floor
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="without"):
        plot_bit_error_curves({"x": [{"steps": 1}]})
    with pytest.raises(TypeError):
        plot_bit_error_curves([])
