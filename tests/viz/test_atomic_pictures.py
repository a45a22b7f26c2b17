"""Pictures are written atomically: an interrupted save leaves the previous picture, and a
symbolic link at the output path is replaced, never followed."""
import os

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import viz

pytest.importorskip("matplotlib")


def _history():
    return [{"epoch": i, "loss": 1.0 / i, "val_acc": 0.1 * i, "loss_curve": [1.0 / i]}
            for i in range(1, 4)]


def temps(folder):
    return [n for n in os.listdir(folder) if n.startswith(".tmp-")]


def test_an_interrupted_picture_save_keeps_the_old_picture(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    out = tmp_path / "curve.png"
    viz.plot_history(_history(), path=out)
    before = out.read_bytes()
    assert before.startswith(b"\x89PNG")

    def broken(self, f, **kw):
        f.write(b"\x89PNG half a picture")
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(KeyboardInterrupt):
        viz.plot_history(_history(), path=out)
    assert out.read_bytes() == before and not temps(tmp_path)


def test_a_symlinked_picture_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = tmp_path / "curve.svg"
    out.symlink_to(outside)
    viz.plot_history(_history(), path=out)
    assert outside.read_text() == "precious"
    assert not out.is_symlink() and out.read_text().lstrip().startswith("<?xml")


def test_a_symlinked_dot_file_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    out = tmp_path / "g.dot"
    out.symlink_to(outside)
    x = ta.Variable(np.ones(2))
    viz.plot_graph(F.tanh(x), out)
    assert outside.read_text() == "precious"
    assert not out.is_symlink() and out.read_text().startswith("digraph")
