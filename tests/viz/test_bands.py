"""plot_bands: a line and a band per label, an error bar for a single point, clear errors."""
from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from tinygrad_attn.viz import plot_bands  # noqa: E402


def test_lines_bands_and_error_bars(tmp_path):
    fig = plot_bands({
        "loss": {"a": {"x": [1, 2, 3], "mean": [3, 2, 1], "low": [2.5, 1.5, 0.5],
                       "high": [3.5, 2.5, 1.5]},
                 "b": {"x": [1, 2, 3], "mean": [3, 2.5, 2], "low": None, "high": None}},
        "acc": {"a": {"x": [1], "mean": [50.0], "low": [40.0], "high": [60.0]},
                "b": {"x": [1], "mean": [20.0], "low": [None], "high": [None]}}},
        tmp_path / "b.png")
    loss, acc = fig.axes
    assert [ln.get_label() for ln in loss.get_lines()] == ["a", "b"]
    assert len(loss.collections) == 1                    # only "a" has a spread
    assert [float(t) for t in loss.get_xticks()] == [1.0, 2.0, 3.0]
    # one point per label: the labels sit side by side, "a" with an error bar from 40 to 60
    named = {ln.get_label(): ln for ln in acc.get_lines() if ln.get_label() in ("a", "b")}
    xa, xb = named["a"].get_xdata()[0], named["b"].get_xdata()[0]
    assert xa != xb and abs(xa - 1) < 0.5 and abs(xb - 1) < 0.5
    segs = [c for c in acc.collections if hasattr(c, "get_segments")]
    ys = sorted(y for c in segs for seg in c.get_segments() for _, y in seg)
    assert ys[0] == pytest.approx(40.0) and ys[-1] == pytest.approx(60.0)
    assert (tmp_path / "b.png").stat().st_size > 0


@pytest.mark.parametrize("panels,err,match", [
    ({}, ValueError, "non-empty"),
    ({"p": {}}, ValueError, r"panels\['p'\]"),
    ({"p": {"a": [1, 2]}}, TypeError, "'x' and 'mean'"),
    ({"p": {"a": {"x": [1, 2], "mean": [1]}}}, ValueError, "one length"),
    ({"p": {"a": {"x": [1], "mean": [float("nan")]}}}, ValueError, "finite numbers only"),
])
def test_bad_panels_are_named(panels, err, match):
    with pytest.raises(err, match=match):
        plot_bands(panels)
