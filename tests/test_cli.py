"""The tinygrad-attn command: train -> translate -> eval round trip, and its error paths."""
import json
import subprocess
import sys

import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.data import make_dates, save_text


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--model", "attention", "--data", "date", "--samples", "300", "--epochs", "1",
                 "--hidden", "16", "--wordvec", "8", "--batch-size", "64", "--out", str(out),
                 "--no-progress", "--reverse-input"])
    assert code == 0
    return out


def test_train_writes_checkpoint_and_history(tiny_run):
    assert (tiny_run / "model.npz").stat().st_size > 0
    hist = json.loads((tiny_run / "history.json").read_text())
    assert hist["config"]["model"] == "attention"
    assert len(hist["history"]) == 1 and 0.0 <= hist["history"][0]["val_acc"] <= 1.0


def test_translate_args_and_stdin(tiny_run, capsys, monkeypatch):
    ck = str(tiny_run / "model.npz")
    assert main(["translate", "--checkpoint", ck, "may 4, 2021", "1/2/05"]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 2 and all(len(x) <= 10 for x in lines)
    assert main(["translate", "--checkpoint", ck, "--beam", "3", "may 4, 2021", "1/2/05"]) == 0
    assert len(capsys.readouterr().out.strip().split("\n")) == 2
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("june 3, 1999\n\n12/31/99\n"))
    assert main(["translate", "--checkpoint", ck]) == 0
    out = capsys.readouterr().out.split("\n")  # one output line per input line, blank kept
    assert len(out) == 4 and out[1] == "" and out[3] == "" and out[0] and out[2]


def test_eval_on_book_format_file(tiny_run, tmp_path, capsys):
    path = tmp_path / "dates.txt"
    save_text(path, make_dates(50, seed=9))
    assert main(["eval", "--checkpoint", str(tiny_run / "model.npz"), "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("exact match: ") and "/50 = " in out


def test_eval_on_generated_dates_is_seeded_and_equals_the_same_pairs_in_a_file(tiny_run, tmp_path,
                                                                            capsys):
    ck = str(tiny_run / "model.npz")
    runs = []
    for _ in range(2):
        assert main(["eval", "--checkpoint", ck, "--data", "date", "--samples", "60",
                     "--seed", "9"]) == 0
        runs.append(capsys.readouterr().out)
    assert runs[0] == runs[1] and "/60 = " in runs[0]
    assert main(["eval", "--checkpoint", ck, "--data", "date"]) == 0
    assert "/1000 = " in capsys.readouterr().out
    assert main(["eval", "--checkpoint", ck]) == 2
    assert "--data" in capsys.readouterr().err


def test_every_option_of_every_command_has_help():
    from tinygrad_attn.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    missing = [(name, a.option_strings) for name, sub in [("", parser), *commands.items()]
               for a in sub._actions if a.option_strings and not a.help]
    assert not missing, missing


def test_threads_option_reaches_the_trainer_and_eval(tiny_run, tmp_path, monkeypatch, capsys):
    import contextlib

    import tinygrad_attn.cli.commands.eval as eval_cmd
    import tinygrad_attn.training.trainer as train_mod

    seen = []

    @contextlib.contextmanager
    def record(threads):
        seen.append(threads)
        yield

    monkeypatch.setattr(train_mod, "limit_threads", record)
    monkeypatch.setattr(eval_cmd, "limit_threads", record)
    assert main(["train", "--data", "date", "--samples", "40", "--epochs", "1", "--hidden", "8",
                 "--wordvec", "4", "--out", str(tmp_path / "t"), "--no-progress",
                 "--threads", "1"]) == 0
    path = tmp_path / "dates.txt"
    save_text(path, make_dates(5, seed=9))
    assert main(["eval", "--checkpoint", str(tiny_run / "model.npz"), "--data", str(path),
                 "--threads", "2"]) == 0
    assert main(["eval", "--checkpoint", str(tiny_run / "model.npz"), "--data", str(path)]) == 0
    assert seen == [1, 2, None]


@pytest.mark.parametrize("argv,message", [
    (["translate", "--checkpoint", "{ck}", "hello wörld"], "does not know: 'ö'"),
    (["translate", "--checkpoint", "{ck}", "x" * 41], "at most 40"),
    (["translate", "--checkpoint", "{missing}", "may 4, 2021"], "checkpoint not found"),
    (["translate", "--checkpoint", "{corrupt}", "may 4, 2021"], "corrupt or truncated"),
    (["eval", "--checkpoint", "{ck}", "--data", "{missing}"], "data file not found"),
    (["train", "--data", "{missing}", "--out", "{tmp}"], "data file not found"),
    (["train", "--epochs", "0", "--out", "{tmp}"], "argument --epochs: must be an integer in [1, "),
    (["train", "--threads", "0", "--out", "{tmp}"], "argument --threads: must be an integer in [1, "),
    (["eval", "--checkpoint", "{ck}", "--data", "{ck}", "--threads", "-2"],
     "argument --threads: must be an integer in [1, "),
    (["train", "--model", "seq2seq", "--bidirectional", "--out", "{tmp}"], "is an option of attention, not of --model seq2seq"),
])
def test_error_paths_one_line_nonzero(tiny_run, tmp_path, capsys, argv, message):
    corrupt = tmp_path / "bad.npz"
    corrupt.write_bytes((tiny_run / "model.npz").read_bytes()[:500])
    fill = dict(ck=str(tiny_run / "model.npz"), missing=str(tmp_path / "missing"),
                corrupt=str(corrupt), tmp=str(tmp_path / "o"))
    code = main([a.format(**fill) for a in argv])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert "Traceback" not in err and len(err.strip().split("\n")) == 1


def test_console_script_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint",
                        str(tmp_path / "none.npz"), "x"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("tinygrad-attn translate: error: argument --checkpoint: "
                               "checkpoint not found")
    assert "Traceback" not in r.stderr


def test_attention_heatmap_command(tiny_run, tmp_path, capsys):
    out = tmp_path / "att.png"
    assert main(["attention", "--checkpoint", str(tiny_run / "model.npz"), "--out", str(out),
                 "may 4, 2021", "10/31/90"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert "heatmap: " in text and text.count("->") >= 2


def test_attention_command_can_show_the_padding(tiny_run, tmp_path, capsys, monkeypatch):
    from tinygrad_attn import viz

    seen = {}
    real = viz.plot_attention_grid

    def spy(items, path, **kw):
        seen["widths"] = [item[0].shape[1] for item in items]
        seen["show_padding"] = kw.get("show_padding")
        return real(items, path, **kw)

    monkeypatch.setattr(viz, "plot_attention_grid", spy)
    out = tmp_path / "pad.png"
    assert main(["attention", "--checkpoint", str(tiny_run / "model.npz"), "--out", str(out),
                 "--show-padding", "may 4, 2021"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen["show_padding"] is True and seen["widths"][0] > len("may 4, 2021")
    assert "|may␣4,␣2021|" in capsys.readouterr().out   # the text rendering stays cropped
