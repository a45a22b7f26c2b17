"""Attention heatmaps and their text rendering."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.viz import attention_to_text, plot_attention, plot_attention_grid

pytest.importorskip("matplotlib")


def read_png_size(path):
    import matplotlib.image as mpimg

    img = mpimg.imread(str(path))
    return img.shape[1], img.shape[0]  # width, height


def soft_diagonal(t_out, t_in, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((t_out, t_in))
    s[np.arange(t_out), np.arange(t_out) % t_in] += 4.0
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_plot_attention_png_size_and_ticks(tmp_path):
    inp, out = "sep 3, 1999", "1999-09-03"
    w = soft_diagonal(len(out), len(inp))
    path = tmp_path / "a.png"
    fig = plot_attention(ta.Variable(w), inp, out, path, figsize=(4, 3), dpi=50, title="date")
    assert read_png_size(path) == (200, 150)
    ax = fig.axes[0]
    xt = [t.get_text() for t in ax.get_xticklabels()]
    yt = [t.get_text() for t in ax.get_yticklabels()]
    assert xt == ["s", "e", "p", "\u2423", "3", ",", "\u2423", "1", "9", "9", "9"]
    assert yt == list(out)
    assert len(fig.axes) == 2  # the heatmap and its colorbar
    np.testing.assert_allclose(ax.images[0].get_array(), w)
    assert ax.get_title() == "date"


def test_plot_attention_into_given_axes_and_svg(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    got = plot_attention(np.eye(3), "abc", ["x", "y", "z"], ax=ax)
    assert got is fig
    plot_attention(np.eye(2), "ab", "cd", tmp_path / "b.svg")
    assert "<svg" in (tmp_path / "b.svg").read_text(encoding="utf-8")


def test_plot_attention_rejects_bad_shapes():
    with pytest.raises(ValueError,
                       match=r"plot_attention: weights of shape \(3, 4\) do not match .* \(3, 5\)"):
        plot_attention(np.ones((3, 4)), "abcde", "xyz")
    with pytest.raises(ValueError, match=r"must be 2-D .* got shape \(1, 3, 5\).*weights\[0\]"):
        plot_attention(np.ones((1, 3, 5)), "abcde", "xyz")
    with pytest.raises(ValueError, match="NaN or Inf"):
        plot_attention(np.full((1, 1), np.nan), "a", "b")
    with pytest.raises(ValueError, match="figsize"):
        plot_attention(np.ones((1, 1)), "a", "b", figsize=(0, 3))


def test_plot_attention_grid(tmp_path):
    items = [(soft_diagonal(4, 6, s), "abcdef"[: 6], "wxyz") for s in range(3)]
    items.append((soft_diagonal(2, 3), "abc", "uv"))
    fig = plot_attention_grid(items, tmp_path / "grid.png", ncols=3, titles=list("ABCD"), dpi=40)
    assert (tmp_path / "grid.png").stat().st_size > 0
    images = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in images] == list("ABCD")
    hidden = [ax for ax in fig.axes if not ax.axison]
    assert len(hidden) == 2  # 4 maps in a 2 x 3 grid
    with pytest.raises(ValueError, match=r"plot_attention_grid: items\[1\]: weights of shape"):
        plot_attention_grid([items[0], (np.ones((2, 2)), "abc", "xy")])
    with pytest.raises(ValueError, match="items is empty"):
        plot_attention_grid([])
    with pytest.raises(ValueError, match="ncols"):
        plot_attention_grid(items, ncols=0)


def test_attention_to_text_marks_the_argmax_column():
    w = np.array([[0.1, 0.7, 0.1, 0.1],
                  [0.0, 0.0, 0.0, 1.0],
                  [0.5, 0.2, 0.2, 0.1]])
    text = attention_to_text(w, "ab d", "XYZ")
    lines = text.split("\n")
    assert lines[0] == "  |ab\u2423d|"
    assert lines[1].startswith("X |") and lines[1].endswith("-> b [1] 0.70")
    assert lines[2].endswith("-> d [3] 1.00")
    assert lines[3].endswith("-> a [0] 0.50")
    cells = [ln.split("|")[1] for ln in lines[1:4]]
    assert cells[1] == "   @"  # the largest weight gets the heaviest shade, 0 the lightest
    assert [c.index(max(c, key=" .:-=+*#%@".index)) for c in cells] == [1, 3, 0]
    assert len(lines) == 5 and lines[4].startswith("shades")


def test_attention_to_text_tokens_and_errors():
    text = attention_to_text(np.array([[0.2, 0.8]]), ["ab", "c"], ["out"])
    assert text.split("\n")[1] == "out |::@@| -> c [1] 0.80"  # 0.2 / 0.8 * 9 = 2.25 -> shade 2
    with pytest.raises(ValueError, match=r"attention_to_text: weights of shape \(2, 2\)"):
        attention_to_text(np.ones((2, 2)), "abc", "xy")
    with pytest.raises(ValueError, match="shades"):
        attention_to_text(np.ones((1, 1)), "a", "b", shades="@")


def test_show_padding_draws_and_marks_the_padding_columns(tmp_path):
    from tinygrad_attn.viz import PAD_LABEL, padding_share

    inp, out = "may 4, 21", "2021-05-04"
    w = soft_diagonal(len(out), len(inp) + 5)  # 5 padding columns after the text
    with pytest.raises(ValueError, match=r"crop the padding columns .* show_padding=True"):
        plot_attention(w, inp, out)
    fig = plot_attention(w, inp, out, tmp_path / "p.png", show_padding=True)
    ax = fig.axes[0]
    labels = ax.get_xticklabels()
    assert [t.get_text() for t in labels] == [*"may\u2423" "4,\u242321", *[PAD_LABEL] * 5]
    assert {t.get_color() for t in labels[len(inp):]} == {"tab:red"}
    assert labels[0].get_color() != "tab:red"
    np.testing.assert_allclose(ax.images[0].get_array(), w)  # nothing cropped
    assert [ln.get_xdata()[0] for ln in ax.get_lines()] == [len(inp) - 0.5]  # the boundary
    assert any("padding (5)" in t.get_text() for t in ax.texts)
    # no padding: same picture as without the option
    plain = plot_attention(w[:, :len(inp)], inp, out, show_padding=True).axes[0]
    assert len(plain.get_xticklabels()) == len(inp) and not plain.get_lines()
    with pytest.raises(ValueError, match=r"at least len\(input_text\)"):
        plot_attention(w[:, :3], inp, out, show_padding=True)
    with pytest.raises(TypeError, match="show_padding must be True or False"):
        plot_attention(w, inp, out, show_padding="yes")
    grid = plot_attention_grid([(w, inp, out), (w[:, :len(inp)], inp, out)], show_padding=True)
    assert len(grid.axes[0].get_xticklabels()) == len(inp) + 5
    # padding_share: the summed weight of the columns after the text, per row
    share = padding_share(w, len(inp))
    np.testing.assert_allclose(share, w[:, len(inp):].sum(axis=1))
    batch = np.stack([w, w])
    np.testing.assert_allclose(padding_share(batch, [len(inp), 2]),
                               [w[:, len(inp):].sum(1), w[:, 2:].sum(1)])
    with pytest.raises(ValueError, match=r"input_len must be integers in 0..14"):
        padding_share(w, 15)


def test_axis_labels_are_given_or_refused():
    w = np.full((2, 3), 1 / 3)
    fig = plot_attention_grid([(w, "abc", "xy")], axis_labels=("keys", "queries"))
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("keys", "queries")
    fig = plot_attention(w, "abc", "xy")
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("input", "output")
    with pytest.raises(ValueError, match="axis_labels must be two strings"):
        plot_attention(w, "abc", "xy", axis_labels=("only one",))
