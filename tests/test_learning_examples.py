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


@pytest.mark.parametrize("name", ["quickstart", "compare_models", "padding_mask", "ntm_copy"])
def test_every_training_example_takes_threads_and_documents_every_option(name, capsys,
                                                                         monkeypatch):
    import argparse

    mod = _example(name)
    entry = getattr(mod, "parse_args", None) or mod.main
    parsers = []
    real = argparse.ArgumentParser.parse_args
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args",
                        lambda self, *a, **k: (parsers.append(self), real(self, *a, **k))[1])
    with pytest.raises(SystemExit) as e:
        entry(["--help"])
    assert e.value.code == 0
    assert "--threads N" in capsys.readouterr().out
    undocumented = [a.option_strings for a in parsers[0]._actions if a.option_strings and not a.help]
    assert not undocumented, f"options without help in {name}: {undocumented}"
    with pytest.raises(SystemExit) as e:
        entry(["--threads", "0", "--out", "x"])
    assert e.value.code == 2
    assert "--threads: expected a positive integer, got 0" in capsys.readouterr().err


def test_quickstart_quick_look_has_its_own_folder_and_never_replaces_a_run(tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.chdir(tmp_path)
    mod = _example("quickstart")
    args = mod.parse_args(["--epochs", "1", "--samples", "120"])
    assert args.out == str(Path("runs") / "date-quick")
    assert mod.parse_args(["--out", "elsewhere"]).out == "elsewhere"
    mod.main(["--epochs", "1", "--samples", "120", "--hidden", "8", "--no-pictures",
              "--threads", "1"])
    assert (tmp_path / "runs" / "date-quick" / "model.npz").is_file()
    assert not (tmp_path / "runs" / "date").exists()
    before = (tmp_path / "runs" / "date-quick" / "model.npz").read_bytes()
    with pytest.raises(SystemExit) as e:
        mod.main(["--epochs", "1", "--samples", "120", "--hidden", "8", "--no-pictures"])
    assert e.value.code == 2 and "already holds a run" in capsys.readouterr().err
    assert (tmp_path / "runs" / "date-quick" / "model.npz").read_bytes() == before
    mod.main(["--epochs", "1", "--samples", "120", "--hidden", "8", "--no-pictures",
              "--overwrite"])
