"""Heatmap labels in Korean: a font with Hangul is asked for, or a clear warning given."""
import warnings

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from tinygrad_attn import viz  # noqa: E402
from tinygrad_attn.viz import common  # noqa: E402


def test_label_fonts_only_for_cjk(monkeypatch):
    assert common.label_fonts(["september 27, 1994", "1994-09-27"]) is None
    monkeypatch.setattr(common, "_found_cjk", ["NanumGothic"])
    assert common.label_fonts(["2021년 5월 4일"]) == ["DejaVu Sans", "NanumGothic"]


def test_warns_once_without_a_hangul_font(monkeypatch, tmp_path):
    monkeypatch.setattr(common, "_found_cjk", [])
    monkeypatch.setattr(common, "_warned", False)
    text, answer = "2021년 5월 4일 (화)", "2021-05-04"
    w = np.full((len(answer), len(text)), 1.0 / len(text))
    with pytest.warns(UserWarning, match="fonts-nanum"):
        assert common.label_fonts([text]) == ["DejaVu Sans"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matplotlib's own missing-glyph warnings
        viz.plot_attention(w, text, answer, tmp_path / "ko.png")
    assert (tmp_path / "ko.png").stat().st_size > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        common.label_fonts([text])  # the second time: no warning of ours
