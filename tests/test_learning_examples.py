"""Smoke runs of the learning examples (tiny sizes; no accuracy is asserted).

* examples/padding_mask.py trains both models and draws both pictures;
* examples/quickstart.py says so when the model has not learned much yet.
"""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("matplotlib")


def _example(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_padding_example_runs_both_models(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    mod = _example("padding_mask")
    mod.main(["--samples", "120", "--hidden", "8", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "no mask (the book)" in out and "mask_padding=True" in out
    for title in ("mask_padding=True", "padding run only"):
        masked = out.split(title)[1]
        shares = masked.split("on padding:")[1].splitlines()[0].split()
        assert shares and all(float(v) == 0.0 for v in shares)  # masked: nothing on the padding
    for name in ("unmasked", "masked", "padding-run"):
        assert (tmp_path / f"attention-{name}.png").stat().st_size > 0


def test_quickstart_warns_when_the_model_has_not_learned(tmp_path, capsys):
    _example("quickstart").main(["--epochs", "1", "--samples", "120", "--hidden", "8",
                                 "--no-pictures", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "has not learned much yet" in out and "more --samples and --epochs" in out
