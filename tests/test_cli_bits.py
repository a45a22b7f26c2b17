"""The command line on the binary-vector tasks: train an NTM, eval in bit errors, draw its memory."""
import json

import pytest

from tinygrad_attn.cli import main


@pytest.fixture(scope="module")
def ntm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ntm")
    code = main(["train", "--model", "ntm", "--data", "copy", "--max-length", "3", "--samples", "96",
                 "--epochs", "1", "--batch-size", "16", "--memory-rows", "8", "--memory-width", "4",
                 "--hidden", "10", "--out", str(out), "--no-progress"])
    assert code == 0
    return out


def test_train_bits_writes_history_with_bit_errors(ntm_run):
    hist = json.loads((ntm_run / "history.json").read_text())
    assert hist["config"]["model"] == "ntm" and hist["config"]["memory_rows"] == 8
    assert hist["config"]["input_width"] == 9 and hist["config"]["output_width"] == 8
    e = hist["history"][0]
    assert e["val_bit_errors"] >= 0 and 0 <= e["val_acc"] <= 1


def test_eval_reports_bit_errors_per_length(ntm_run, capsys):
    assert main(["eval", "--checkpoint", str(ntm_run / "model.npz"), "--lengths", "2,4",
                 "--samples", "8"]) == 0
    out = capsys.readouterr().out
    assert "length 2: " in out and "length 4: " in out and "bit errors per sequence" in out


def test_memory_picture(ntm_run, tmp_path, capsys):
    out = tmp_path / "mem.png"
    assert main(["memory", "--checkpoint", str(ntm_run / "model.npz"), "--length", "5",
                 "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "copy, length 5: " in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["translate", "--checkpoint", "{ck}", "abc"], "binary-vector task (ntm)"),
    (["train", "--model", "ntm", "--data", "date", "--out", "{tmp}"], "learns bits tasks"),
    (["train", "--model", "attention", "--data", "copy", "--out", "{tmp}"], "models for it: lstm-bits, ntm"),
    (["train", "--model", "ntm", "--data", "copy", "--min-length", "5", "--max-length", "2",
      "--out", "{tmp}"], "1 <= min <= max"),
    (["eval", "--checkpoint", "{ck}", "--lengths", "a,b"], "comma-separated integers"),
])
def test_bits_error_paths(ntm_run, tmp_path, capsys, argv, message):
    fill = dict(ck=str(ntm_run / "model.npz"), tmp=str(tmp_path / "o"))
    code = main([a.format(**fill) for a in argv])
    err = capsys.readouterr().err
    assert code != 0 and message in err
    assert "Traceback" not in err and len(err.strip().split("\n")) == 1


def test_repeat_copy_train_eval_memory(tmp_path, capsys):
    out = tmp_path / "rc"
    assert main(["train", "--model", "ntm", "--data", "repeat-copy", "--max-length", "2",
                 "--max-repeats", "2", "--bit-width", "3", "--samples", "32", "--epochs", "1",
                 "--batch-size", "16", "--memory-rows", "8", "--memory-width", "4", "--hidden", "6",
                 "--out", str(out), "--no-progress"]) == 0
    hist = json.loads((out / "history.json").read_text())
    assert hist["config"]["input_width"] == 5 and hist["config"]["output_width"] == 4
    assert main(["eval", "--checkpoint", str(out / "model.npz"), "--lengths", "2,3",
                 "--samples", "4"]) == 0
    assert "repeat-copy (ntm)" in capsys.readouterr().out
    assert main(["memory", "--checkpoint", str(out / "model.npz"), "--length", "3",
                 "--repeats", "2", "--out", str(tmp_path / "rc.png")]) == 0
    assert "repeat-copy, length 3" in capsys.readouterr().out
