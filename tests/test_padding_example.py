"""examples/padding_mask.py: a tiny smoke run of both models (no accuracy is asserted)."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("matplotlib")


def test_padding_example_runs_both_models(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    spec = importlib.util.spec_from_file_location("padding_mask", ROOT / "examples" / "padding_mask.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--samples", "120", "--hidden", "8", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "no mask (the book)" in out and "mask_padding=True" in out
    masked = out.split("mask_padding=True")[1]
    shares = masked.split("on padding:")[1].splitlines()[0].split()
    assert shares and all(float(v) == 0.0 for v in shares)  # masked: nothing on the padding
    for name in ("unmasked", "masked"):
        assert (tmp_path / f"attention-{name}.png").stat().st_size > 0
