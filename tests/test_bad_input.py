"""Issue 15: every bad argument or file gives one clear line; nothing is overwritten unasked,
nothing is half-loaded. One test (or parametrised case) per case listed in the issue."""
import io
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.cli import main
from tinygrad_attn.data import load_dataset, load_text, make_dates, save_text
from tinygrad_attn.npzfile import CheckpointError, clean_stale_temps, load_npz, save_npz
from tinygrad_attn.training import CHECKPOINT_FORMAT, Trainer, Translator, load_checkpoint, save_checkpoint


def build(config):
    try:
        from tinygrad_attn.training.registry import build_model
    except ImportError:
        from models import build_model
    return build_model(config)


def one_line_error(capsys, code, *fragments):
    """The command failed with exactly one stderr line holding every fragment."""
    err = capsys.readouterr().err
    assert code not in (0, None), err
    lines = err.strip().split("\n")
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in err, (f, err)
    return err


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A small (untrained) attention checkpoint on the date task: (path, arrays, meta)."""
    data = load_dataset("date", samples=40, seed=0, reverse_input=True)
    ta.seed(0)
    model = build({"model": "attention", "vocab_size": len(data.vocab), "wordvec_size": 4,
                   "hidden_size": 6})
    path = tmp_path_factory.mktemp("ck") / "model.npz"
    save_checkpoint(path, model, data.task)
    arrays, meta = load_npz(path)
    return str(path), arrays, meta


def write_ck(path, arrays, meta):
    save_npz(path, arrays, meta)
    return str(path)


# ----------------------------------------------------------------- command-line values
@pytest.mark.parametrize("argv,fragments", [
    (["eval", "--checkpoint", "{ck}", "--data", "{data}", "--batch-size", "-5"],
     ["argument --batch-size", "[1, 65536]", "'-5'"]),
    (["eval", "--checkpoint", "{ck}", "--data", "{data}", "--batch-size", "0"],
     ["argument --batch-size", "[1, 65536]"]),
    (["train", "--lr", "-0.1", "--out", "{out}"], ["argument --lr", "(0, 10]"]),
    (["train", "--lr", "nan", "--out", "{out}"], ["argument --lr"]),
    (["train", "--max-grad", "-1", "--out", "{out}"], ["argument --max-grad", "[0, inf)"]),
    (["train", "--hidden", "100000000", "--out", "{out}"], ["argument --hidden", "[1, 8192]"]),
    (["train", "--batch-size", "0", "--out", "{out}"], ["argument --batch-size"]),
    (["train", "--batch-size", "-5", "--out", "{out}"], ["argument --batch-size"]),
    (["train", "--val-samples", "0", "--out", "{out}"], ["argument --val-samples", "[1, "]),
    (["train", "--val-samples", "-3", "--out", "{out}"], ["argument --val-samples"]),
    (["train", "--samples", "1e3", "--out", "{out}"], ["argument --samples", "integer"]),
    (["train", "--data", "{folder}", "--out", "{out}"], ["argument --data", "is a folder"]),
    (["translate", "--checkpoint", "{ck}", "--beam", "100000", "x"], ["argument --beam", "[1, 64]"]),
    (["translate", "--checkpoint", "{ck}", "--beam", "0", "x"], ["argument --beam"]),
    (["attention", "--checkpoint", "{ck}", "--out", "{folder}/a.png", "--ncols", "0", "x"],
     ["argument --ncols", "[1, 64]"]),
    (["attention", "--checkpoint", "{ck}", "--out", "{folder}/a.xyz", "1/2/03"],
     ["argument --out", "'.xyz'", ".png"]),
    (["attention", "--checkpoint", "{ck}", "--out", "{folder}/rep", "1/2/03"],
     ["argument --out", "no extension"]),
    (["gradcheck", "op", "tanh", "--eps", "nan"], ["argument --eps", "(0, 1]"]),
    (["gradcheck", "op", "tanh", "--atol", "inf"], ["argument --atol"]),
    (["graph", "--no-collapse", "--seq-len", "300", "--out", "{folder}/g.dot"],
     ["argument --seq-len", "[1, 64]"]),
    (["graph", "--out", "{folder}/g.jpg"], ["argument --out", "'.jpg'"]),
    (["eval", "--checkpoint", "{ck}", "--data", "{folder}"], ["argument --data", "is a folder"]),
    (["translate", "--checkpoint", "{folder}", "x"], ["argument --checkpoint", "is a folder"]),
    (["no-such-command"], ["invalid choice"]),
])
def test_bad_values_are_one_line_before_any_work(ckpt, tmp_path, capsys, argv, fragments):
    data = tmp_path / "d.txt"
    save_text(data, make_dates(5, seed=1))
    fill = dict(ck=ckpt[0], data=str(data), out=str(tmp_path / "run"), folder=str(tmp_path))
    code = main([a.format(**fill) for a in argv])
    assert code == 2
    one_line_error(capsys, code, *fragments)
    assert not (tmp_path / "run").exists()  # no empty run folder left behind


def test_help_lists_ranges_and_files_written_beside(capsys):
    assert main(["graph", "--help"]) == 0
    out = capsys.readouterr().out
    assert "x.dot" in out and "--overwrite" in out and "1 to 64" in out
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--overwrite" in out and "history.json" in out


def test_last_resort_handler_one_line_and_debug_shows_traceback(monkeypatch, capsys):
    from tinygrad_attn.cli.commands import gradcheck as cmd

    def boom(*a, **k):
        raise KeyError("surprise")

    monkeypatch.setattr(cmd, "run_case", boom)
    code = main(["gradcheck", "op", "tanh"])
    assert code == 1
    one_line_error(capsys, code, "unexpected KeyError", "--debug")
    with pytest.raises(KeyError):
        main(["--debug", "gradcheck", "op", "tanh"])
    monkeypatch.setenv("TINYGRAD_ATTN_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["gradcheck", "op", "tanh"])


def test_memory_error_is_one_line(monkeypatch, capsys):
    from tinygrad_attn.cli.commands import gradcheck as cmd

    monkeypatch.setattr(cmd, "run_case", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    code = main(["gradcheck", "op", "tanh"])
    one_line_error(capsys, code, "out of memory")


# ----------------------------------------------------------------- output paths
@pytest.mark.parametrize("where,fragment", [
    ("file", "is not a folder"),
    ("devnull", "is not a folder"),
    ("model_dir", "is a folder"),
    ("readonly", "cannot write in /proc"),
    ("existing", "already holds a run"),
])
def test_train_out_checked_before_training(tmp_path, capsys, monkeypatch, where, fragment):
    import tinygrad_attn.data as data_mod

    def no_data(*a, **k):
        raise AssertionError("data was loaded before --out was checked")

    monkeypatch.setattr(data_mod, "load_dataset", no_data)
    out = tmp_path / "run"
    if where == "file":
        out.write_text("x")
    elif where == "devnull":
        out = "/dev/null"
    elif where == "model_dir":
        (out / "model.npz").mkdir(parents=True)
    elif where == "readonly":
        out = "/proc/tinygrad-attn-run"  # not writable, even for root
    else:
        out.mkdir()
        (out / "model.npz").write_bytes(b"old run")
    code = main(["train", "--out", str(out), "--no-progress"])
    one_line_error(capsys, code, fragment)
    if where == "existing":
        assert (out / "model.npz").read_bytes() == b"old run"


def test_train_overwrite_replaces_an_existing_run(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--data", "addition", "--samples", "40", "--epochs", "1", "--hidden", "4",
            "--wordvec", "4", "--batch-size", "20", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    first = (out / "model.npz").read_bytes()
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(argv + ["--overwrite", "--seed", "3"]) == 0
    assert (out / "model.npz").read_bytes() != first


def test_graph_never_replaces_an_unnamed_dot_file(tmp_path, capsys):
    keep = tmp_path / "keep.dot"
    keep.write_text("my own graph")
    code = main(["graph", "--out", str(tmp_path / "keep.svg")])
    one_line_error(capsys, code, "keep.dot exists", "--overwrite")
    assert keep.read_text() == "my own graph"
    assert main(["graph", "--out", str(tmp_path / "other.dot")]) == 0
    assert "wrote" in capsys.readouterr().out


def test_graph_names_the_file_written_beside(tmp_path, capsys):
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot missing")
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "g.dot") in out and (tmp_path / "g.dot").exists()
    assert main(["graph", "--out", str(tmp_path / "g.svg"), "--overwrite"]) == 0


def test_attention_out_is_a_folder(ckpt, tmp_path, capsys):
    d = tmp_path / "rep.png"
    d.mkdir()
    code = main(["attention", "--checkpoint", ckpt[0], "--out", str(d), "1/2/03"])
    one_line_error(capsys, code, "is a folder")


def test_attention_empty_text_is_refused(ckpt, tmp_path, capsys):
    code = main(["attention", "--checkpoint", ckpt[0], "--out", str(tmp_path / "a.png"), " "])
    one_line_error(capsys, code, "TEXT 1 refused: empty")


def test_attention_writes_exactly_the_named_file(ckpt, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "a.svg"
    assert main(["attention", "--checkpoint", ckpt[0], "--out", str(out), "--no-text",
                 "1/2/03"]) == 0
    assert sorted(os.listdir(tmp_path)) == ["a.svg"]
    assert f"heatmap: {out}" in capsys.readouterr().out


# ----------------------------------------------------------------- checkpoint files
def test_files_written_with_the_umask_and_stale_temps_removed(tmp_path):
    old = os.umask(0o022)
    try:
        stale = tmp_path / ".tmp-999999999-abc.npz"  # a writer that no longer exists
        stale.write_bytes(b"half")
        legacy = tmp_path / ".tmp-xyz.npz"  # old naming, an hour old
        legacy.write_bytes(b"half")
        os.utime(legacy, (0, 0))
        mine = tmp_path / f".tmp-{os.getpid()}-live.npz"  # this process: kept
        mine.write_bytes(b"busy")
        save_npz(tmp_path / "w.npz", {"a": np.zeros(2)})
        assert stat.S_IMODE(os.stat(tmp_path / "w.npz").st_mode) == 0o644
        assert not stale.exists() and not legacy.exists() and mine.exists()
        assert clean_stale_temps(tmp_path) == []
    finally:
        os.umask(old)


@pytest.mark.parametrize("content,fragment", [
    (b'{"format": "tinygrad-attn-checkpoint/1"}', "not an .npz archive"),
    (bytes(range(256)) * 4, "not an .npz archive"),
    (b"", "not an .npz archive"),
    (b"\x80\x04\x95pickle", "not an .npz archive"),
])
def test_non_npz_files_are_named_as_such(tmp_path, capsys, content, fragment):
    p = tmp_path / "x.npz"
    p.write_bytes(content)
    with pytest.raises(CheckpointError, match=fragment):
        load_checkpoint(p)
    code = main(["translate", "--checkpoint", str(p), "x"])
    err = one_line_error(capsys, code, fragment)
    assert "pickled" not in err


def test_npy_given_as_checkpoint(tmp_path, capsys):
    p = tmp_path / "w.npy"
    np.save(p, np.zeros(3))
    code = main(["translate", "--checkpoint", str(p), "x"])
    one_line_error(capsys, code, "single .npy array", "not an .npz archive")


def _meta_case(meta, case):
    m = json.loads(json.dumps(meta))
    c = m["config"]
    if case == "not_object":
        return [1, 2]
    if case == "hidden_str":
        c["hidden_size"] = "6"
    elif case == "hidden_negative":
        c["hidden_size"] = -6
    elif case == "hidden_fraction":
        c["hidden_size"] = 6.5
    elif case == "hidden_float":
        c["hidden_size"] = 6.0
    elif case == "hidden_bool":
        c["wordvec_size"] = True
    elif case == "hidden_huge":
        c["hidden_size"] = 10 ** 6
    elif case == "params_huge":  # each width allowed, the whole far too large: described only
        c.update(hidden_size=8192, wordvec_size=4096, num_layers=64)
    elif case == "in_width_huge":
        m["task"]["in_width"] = 10 ** 9
    elif case == "in_width_str":
        m["task"]["in_width"] = "29"
    elif case == "out_width_zero":
        m["task"]["out_width"] = 0
    elif case == "reversed_no":
        m["task"]["reversed_input"] = "no"
    elif case == "config_list":
        m["config"] = ["attention"]
    elif case == "unknown_model":
        c["model"] = "nope"
    elif case == "unknown_key":
        c["colour"] = "red"
    elif case == "bidirectional_str":
        c["bidirectional"] = "yes"
    elif case == "vocab_dupes":
        m["task"]["vocab"]["chars"] = ["a", "a"]
    elif case == "vocab_not_chars":
        m["task"]["vocab"]["chars"] = [1, 2]
    elif case == "vocab_missing_pad":
        m["task"]["vocab"]["pad_char"] = "\u2603"
    elif case == "vocab_size_mismatch":
        m["task"]["vocab"]["chars"] = m["task"]["vocab"]["chars"][:-1]
    elif case == "history_str":
        m["history"] = "lots"
    elif case == "format":
        m["format"] = "other/1"
    return m


META_CASES = {
    "not_object": "metadata must be a JSON object",
    "hidden_str": "hidden_size",
    "hidden_negative": "hidden_size",
    "hidden_fraction": "hidden_size",
    "hidden_bool": "wordvec_size",
    "hidden_float": "hidden_size'] must be an integer, got float 6.0",
    "hidden_huge": "hidden_size",
    "params_huge": "more than 300,000,000 parameters",
    "in_width_huge": "in_width must be an integer in [1, 10000]",
    "in_width_str": "in_width must be an integer",
    "out_width_zero": "out_width must be an integer",
    "reversed_no": "reversed_input must be true or false",
    "config_list": "config must be a JSON object",
    "unknown_model": "unknown model 'nope'",
    "unknown_key": "'colour'",
    "bidirectional_str": "bidirectional",
    "vocab_dupes": "bad vocabulary",
    "vocab_not_chars": "bad vocabulary",
    "vocab_missing_pad": "bad vocabulary",
    "vocab_size_mismatch": "config vocab_size 72 does not match the task's 71",  # typed dates
    "history_str": "history must be a list",
    "format": "not a tinygrad-attn checkpoint",
}


@pytest.mark.parametrize("case", sorted(META_CASES))
def test_checkpoint_metadata_is_checked(ckpt, tmp_path, capsys, case):
    _, arrays, meta = ckpt
    p = write_ck(tmp_path / "m.npz", arrays, {})
    if case == "not_object":  # save_npz only writes dicts: write the JSON by hand
        np.savez(p, **arrays, __meta__=np.array(json.dumps([1, 2])))
    else:
        write_ck(p, arrays, _meta_case(meta, case))
    with pytest.raises(CheckpointError, match=__import__("re").escape(META_CASES[case])):
        Translator.from_checkpoint(p)
    code = main(["translate", "--checkpoint", p, "1/2/03"])
    one_line_error(capsys, code, META_CASES[case])


@pytest.mark.parametrize("bad,fragment", [
    ("nan", "non-finite weights"),
    ("inf", "non-finite weights"),
    ("overflow", "after conversion to float32"),
    ("int", "dtype int64"),
    ("complex", "complex128"),
    ("datetime", "datetime64"),
    ("strings", "<U"),
    ("structured", "real numbers only"),
    ("shape", "shape"),
    ("missing", "missing arrays"),
    ("extra", "unexpected arrays"),
])
def test_checkpoint_arrays_are_checked(ckpt, tmp_path, capsys, bad, fragment):
    _, arrays, meta = ckpt
    arrays = dict(arrays)
    name = sorted(arrays)[0]
    a = arrays[name]
    if bad == "nan":
        a = a.copy()
        a.flat[0] = np.nan
    elif bad == "inf":
        a = a.copy()
        a.flat[-1] = -np.inf
    elif bad == "overflow":
        a = a.astype(np.float64)
        a.flat[0] = 1e300
    elif bad == "int":
        a = a.astype(np.int64)
    elif bad == "complex":
        a = a.astype(np.complex128)
    elif bad == "datetime":
        a = np.zeros(a.shape, "datetime64[s]")
    elif bad == "strings":
        a = a.astype(str)
    elif bad == "structured":
        a = np.zeros(a.shape, [("x", "f4"), ("y", "f4")])
    elif bad == "shape":
        a = a[..., :1]
    elif bad == "missing":
        del arrays[name]
    elif bad == "extra":
        arrays["spare"] = np.zeros(2, np.float32)
    if bad not in ("missing", "extra"):
        arrays[name] = a
    p = write_ck(tmp_path / "a.npz", arrays, meta)
    with pytest.raises(CheckpointError, match=__import__("re").escape(fragment)):
        load_checkpoint(p)
    code = main(["translate", "--checkpoint", p, "1/2/03"])
    one_line_error(capsys, code, fragment)


@pytest.mark.parametrize("bad", ["strings", "nan", "int", "complex", "datetime", "structured"])
def test_load_weights_is_all_or_nothing(tmp_path, bad):
    ta.seed(0)
    layer = L.Linear(3, 2)
    before = {k: v.copy() for k, v in layer.state_dict().items()}
    new = {k: v + 1 for k, v in before.items()}
    b = new["b"]
    new["b"] = {"strings": b.astype(str), "nan": np.full_like(b, np.nan),
                "int": b.astype(np.int32), "complex": b.astype(np.complex64),
                "datetime": np.zeros(b.shape, "datetime64[D]"),
                "structured": np.zeros(b.shape, [("a", "f4")])}[bad]
    path = tmp_path / "w.npz"
    save_npz(path, new)
    with pytest.raises(CheckpointError):
        layer.load_weights(path)
    for k, v in layer.state_dict().items():  # W was not copied although it was fine
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(CheckpointError):  # the same through load_state_dict directly
        layer.load_state_dict(new)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_good_checkpoint_still_round_trips(ckpt):
    model, info = load_checkpoint(ckpt[0])
    assert info.task.reversed_input is True and info.task.in_width == 40
    tr = Translator.from_checkpoint(ckpt[0])
    assert len(tr.translate(["1/2/03", "may 4, 2021"])) == 2


# ----------------------------------------------------------------- data and text
def test_data_file_with_empty_question_or_answer(tmp_path, capsys, ckpt):
    for i, line in enumerate(["   _1999-01-02", "1/2/99_          "]):
        p = tmp_path / f"d{i}.txt"
        p.write_text("may 4, 2021_2021-05-04\n" + line + "\n")
        with pytest.raises(ValueError, match=f"{p}:2: the (question|answer) is empty"):
            load_text(p)
        code = main(["eval", "--checkpoint", ckpt[0], "--data", str(p)])
        one_line_error(capsys, code, f"{p}:2")
        code = main(["train", "--data", str(p), "--out", str(tmp_path / "r"), "--no-progress"])
        one_line_error(capsys, code, f"{p}:2")


def test_undecodable_data_file_names_the_file(tmp_path, capsys, ckpt):
    p = tmp_path / "latin1.txt"
    p.write_bytes("1/2/03_2003-01-02\nd\xe9c 3_2003-12-03\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt:2: not UTF-8"):
        load_text(p)
    code = main(["eval", "--checkpoint", ckpt[0], "--data", str(p)])
    one_line_error(capsys, code, "latin1.txt:2: not UTF-8")


def test_load_text_on_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        load_text(tmp_path)


def test_stdin_crlf_and_blank_lines_keep_one_output_per_input(ckpt, monkeypatch, capsys):
    lines = ["1/2/03", "", "may 4, 2021", "   ", "12/31/99"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\r\n".join(lines) + "\r\n"))
    assert main(["translate", "--checkpoint", ckpt[0]]) == 0
    out = capsys.readouterr().out.split("\n")[:-1]
    assert len(out) == 5 and out[1] == "" and out[3] == "" and all(out[i] for i in (0, 2, 4))


def test_stdin_without_text_and_empty_arguments(ckpt, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n\n"))
    code = main(["translate", "--checkpoint", ckpt[0]])
    one_line_error(capsys, code, "stdin holds no text")
    code = main(["translate", "--checkpoint", ckpt[0], "--min-prob", "0", "1/2/03", ""])
    cap = capsys.readouterr()  # 1/2/03 is answered (an untrained model: not a real date)
    assert code == 2 and cap.out.split("\n")[0] and cap.out.split("\n")[1] == ""
    err = cap.err.strip().split("\n")
    assert err[-1].startswith("tinygrad-attn: TEXT 2 refused: empty")
    assert all(ln.startswith("tinygrad-attn: TEXT 1 ('1/2/03' -> ") for ln in err[:-1])
    code = main(["translate", "--checkpoint", ckpt[0], "--min-prob", "0", "", "1/2/03"])
    assert code == 2 and capsys.readouterr().out.split("\n")[0] == ""


def test_empty_text_is_an_error_not_a_date(ckpt):
    tr = Translator.from_checkpoint(ckpt[0])
    with pytest.raises(ValueError, match="input 1 is empty"):
        tr.translate(["1/2/03", ""])
    with pytest.raises(ValueError, match="beam_width"):
        tr.translate(["1/2/03"], beam_width=0)


def test_trainer_and_evaluate_refuse_bad_sizes():
    data = load_dataset("addition", samples=30, seed=0)
    model = build({"model": "seq2seq", "vocab_size": len(data.vocab), "wordvec_size": 4,
                   "hidden_size": 4})
    for kw, frag in [({"batch_size": 0}, "batch_size"), ({"batch_size": -5}, "batch_size"),
                     ({"val_samples": 0}, "val_samples"), ({"val_samples": -1}, "val_samples"),
                     ({"max_grad": -1.0}, "max_grad"), ({"max_grad": float("nan")}, "max_grad"),
                     ({"lr": -0.1}, "lr"), ({"lr": float("inf")}, "lr")]:
        with pytest.raises(ValueError, match=frag):
            Trainer(model, data, **kw)
    from tinygrad_attn.training import evaluate

    with pytest.raises(ValueError, match="batch_size"):
        evaluate(model, data.x_val, data.t_val, batch_size=0)


# ----------------------------------------------------------------- engine
def test_backward_of_a_no_grad_result_raises_like_pytorch():
    x = ta.Variable(np.array([1.0, 2.0]))
    with ta.no_grad():
        y = (x * x).sum()
    with pytest.raises(RuntimeError, match="computed under no_grad"):
        y.backward()
    assert x.grad is None
    leaf = ta.Variable(np.array(3.0))  # a leaf made by the user still accumulates
    leaf.backward()
    assert float(leaf.grad.data) == 1.0


def test_mean_of_an_empty_array_is_an_error():
    with pytest.raises(ta.OpError, match="Mean: mean over an empty axis"):
        F.mean(ta.Variable(np.zeros((0, 3))))
    with pytest.raises(ta.OpError, match="Mean"):
        F.mean(ta.Variable(np.zeros((2, 0))), axis=1)
    assert F.mean(ta.Variable(np.zeros((0, 3))), axis=1).shape == (0,)  # nothing to average


@pytest.mark.parametrize("make", [lambda: L.LSTM(3, 4), lambda: L.GRU(3, 4)])
def test_recurrent_layer_over_zero_steps(make):
    with pytest.raises(ta.OpError, match="empty \\(T = 0"):
        make()(ta.Variable(np.zeros((2, 0, 3), np.float32)))


def test_console_script_one_line_for_bad_value():
    r = subprocess.run([sys.executable, "-m", "tinygrad_attn", "gradcheck", "op", "tanh",
                        "--eps", "nan"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().split("\n")) == 1 and "--eps" in r.stderr


def test_shape_only_rng_gives_exact_shapes_without_allocating():
    from tinygrad_attn.layers.init import ModelTooLarge, ShapeOnly
    from tinygrad_attn.training.registry import build_model

    config = {"model": "attention", "vocab_size": 11, "wordvec_size": 5, "hidden_size": 8,
              "bidirectional": True, "num_layers": 2}
    d = ShapeOnly()
    described = build_model(config, rng=d)
    real = build(config)
    assert {k: p.shape for k, p in described.named_params()} == \
        {k: p.shape for k, p in real.named_params()}
    assert d.count <= real.num_params() == sum(p.size for p in described.params())
    d = ShapeOnly()  # 8192 x 32768 float32 matrices: described in no time, no memory
    big = build_model(dict(config, hidden_size=8192, wordvec_size=4096), rng=d)
    assert d.count > 10**9
    assert all(p.data.strides == (0,) * p.ndim for p in big.params() if p.size > 1 << 16)
    assert sum(p.data.nbytes for p in big.params() if p.data.strides != (0,) * p.ndim) < 10**7
    with pytest.raises(ModelTooLarge, match="more than 100 parameters"):
        build_model(config, rng=ShapeOnly(max_params=100))


def test_temp_file_of_a_killed_writer_is_removed_by_the_next_save(tmp_path):
    """kill -9 during a checkpoint write: the target is intact, the next save cleans up."""
    import signal
    import textwrap

    target = tmp_path / "model.npz"
    save_npz(target, {"W": np.zeros(3)}, {"v": 1})
    code = textwrap.dedent(f"""
        import time, numpy as np
        import tinygrad_attn.npzfile as io
        real = np.savez
        def slow(f, **kw):
            real(f, **kw); f.flush(); print("writing", flush=True); time.sleep(60)
        io.np.savez = slow
        io.save_npz({str(target)!r}, {{"W": np.ones(3)}}, {{"v": 2}})
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        temps = [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
        assert len(temps) == 1 and temps[0].startswith(f".tmp-{child.pid}-")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert load_npz(target)[1] == {"v": 1}  # the old checkpoint is intact
    save_npz(target, {"W": np.zeros(3)}, {"v": 3})
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")] == []
    assert load_npz(target)[1] == {"v": 3}
