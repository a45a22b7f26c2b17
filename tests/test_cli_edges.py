"""Command-line edges: empty paths, output the terminal cannot encode (real subprocesses)."""
import os
import subprocess
import sys

import numpy as np
import pytest

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run(*argv, env=None, timeout=120, stdin=None):
    return subprocess.run([sys.executable, "-m", "tinygrad_attn", *map(str, argv)],
                          capture_output=True, text=True, timeout=timeout, input=stdin,
                          env=dict(ENV, **(env or {})))


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--out", ""], "argument --out: the run folder path is empty"),
    (["train", "--out", "  "], "argument --out: the run folder path is empty"),
    (["graph", "attention", "--out", ""], "argument --out: the file name is empty"),
    (["memory", "--checkpoint", "{ck}", "--out", ""], "argument --out: the file name is empty"),
    (["attention", "--checkpoint", "{ck}", "--out", "", "x"], "argument --out: the file name is empty"),
])
def test_an_empty_out_is_refused_with_one_line(tmp_path, argv, fragment):
    ck = tmp_path / "ck.npz"
    ck.write_bytes(b"PK")
    r = run(*[a.format(ck=ck) for a in argv])
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.split("\n")) == 1 and fragment in err, err
    assert os.listdir(tmp_path) == ["ck.npz"]


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_max_len_shorter_than_the_data_is_refused_before_training(tmp_path, positions):
    out = tmp_path / "run"
    r = run("train", "--data", "addition", "--model", "transformer", "--positions", positions,
            "--max-len", "4", "--samples", "40", "--hidden", "8", "--heads", "2", "--ff", "8",
            "--out", out)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.split("\n")) == 1, err
    assert "--model transformer cannot run the examples of --data addition" in err
    assert "raise --max-len to at least 7" in err
    assert not out.exists()  # refused before the run folder was made


def test_the_max_len_help_covers_both_kinds_of_positions():
    r = run("train", "--help")
    text = " ".join(r.stdout.split())
    assert "learned table or sinusoids alike" in text


# ----------------------------------------------------------------------------- other tasks' options
@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """Tiny trained checkpoints: text (addition), copy and repeat copy."""
    from tinygrad_attn.cli import main

    root = tmp_path_factory.mktemp("edges")
    bits = ["--model", "ntm", "--samples", "20", "--batch-size", "10", "--max-length", "3",
            "--bit-width", "2", "--hidden", "4", "--epochs", "1", "--no-progress"]
    assert main(["train", "--data", "addition", "--samples", "40", "--hidden", "4", "--wordvec",
                 "3", "--epochs", "1", "--no-progress", "--out", str(root / "txt")]) == 0
    assert main(["train", "--data", "copy", *bits, "--out", str(root / "copy")]) == 0
    assert main(["train", "--data", "repeat-copy", "--max-repeats", "2", *bits,
                 "--out", str(root / "rep")]) == 0
    return {k: str(root / k / "model.npz") for k in ("txt", "copy", "rep")}


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--data", "copy", "--model", "ntm", "--max-repeats", "3"],
     "does not take --max-repeats (--max-repeats belongs to --data repeat-copy)"),
    (["train", "--data", "addition", "--bit-width", "3"],
     "(--bit-width belongs to --data copy or repeat-copy)"),
    (["train", "--data", "date", "--max-length", "3"],
     "(--max-length belongs to --data copy or repeat-copy)"),
    (["train", "--data", "copy", "--model", "ntm", "--reverse-input"],
     "(--reverse-input belongs to --data addition or date or date-book or a file)"),
    (["eval", "--checkpoint", "{copy}", "--data", "date"], "--data belongs to date or text checkpoints"),
    (["eval", "--checkpoint", "{txt}", "--lengths", "3"], "--lengths belongs to bits checkpoints"),
    (["memory", "--checkpoint", "{copy}", "--repeats", "2", "--out", "{tmp}/m.png"],
     "--repeats belongs to the repeat-copy task; the task of"),
    (["memory", "--checkpoint", "{rep}", "--repeats", "3", "--out", "{tmp}/m.png"],
     "--repeats 3 is above the 2 repeats the model was trained for"),
    (["memory", "--checkpoint", "{rep}", "--length", "5000", "--out", "{tmp}/m.png"],
     "--length 5000: repeat-copy sequences of length 5000 with up to 2 repeats run"),
    (["eval", "--checkpoint", "{rep}", "--lengths", "2,3334"],
     "--lengths 3334: repeat-copy sequences of length 3334 with up to 2 repeats run"),
    (["translate", "--checkpoint", "{copy}", "1+1"], "binary-vector task"),
])
def test_options_of_another_task_are_refused_naming_where_they_belong(ckpts, tmp_path, capsys,
                                                                       argv, fragment):
    from tinygrad_attn.cli import main

    argv = [a.format(tmp=tmp_path, **ckpts) for a in argv]
    if argv[0] == "train":
        argv += ["--out", str(tmp_path / "run")]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.split("\n")) == 1 and fragment in err, err
    assert not (tmp_path / "run").exists() and not (tmp_path / "m.png").exists()


def test_a_non_ascii_answer_on_an_ascii_only_stdout(tmp_path):
    """translate prints an answer the terminal cannot encode as backslash escapes."""
    from tinygrad_attn.data import TextTask, Vocabulary
    from tinygrad_attn.training import registry, save_checkpoint

    vocab = Vocabulary.from_texts(["0123456789+é"])
    model = registry.build_model({"model": "attention", "vocab_size": len(vocab),
                                  "wordvec_size": 3, "hidden_size": 4})
    out_b = [p for name, p in model.named_params() if p.shape == (len(vocab),)][-1]
    out_b.data[...] = -50.0
    out_b.data[vocab.index("é")] = 50.0          # the model always answers "é"
    ck = tmp_path / "e.npz"
    save_checkpoint(ck, model, TextTask(vocab, 3, 2))
    r = run("translate", "--checkpoint", ck, "1+1", env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "\\xe9\\xe9"


@pytest.mark.parametrize("command", [["translate", "1+1"], ["eval", "--data", "addition"],
                                     ["attention", "--out", "{tmp}/a.png", "1+1"]])
def test_an_ntm_checkpoint_carrying_a_vocabulary_is_refused_clearly(ckpts, tmp_path, capsys,
                                                                    command):
    """A bits model whose stored task was swapped for a text task (vocabulary and widths)
    never reaches the translator: the checkpoint itself is refused."""
    import json

    from tinygrad_attn.cli import main
    from tinygrad_attn.npzfile import META_KEY, read_npz_meta

    _, text_meta = read_npz_meta(ckpts["txt"])
    with np.load(ckpts["copy"]) as z:
        arrays = {k: z[k] for k in z.files if k != META_KEY}
        meta = json.loads(str(z[META_KEY]))
    meta["task"] = text_meta["task"]
    bad = tmp_path / "ntm_with_vocab.npz"
    np.savez(bad, **arrays, **{META_KEY: np.array(json.dumps(meta))})
    argv = [command[0], "--checkpoint", str(bad), *[a.format(tmp=tmp_path) for a in command[1:]]]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.split("\n")) == 1, err
    assert "the model 'ntm' learns bits tasks, but the checkpoint's task feeds text models" in err
    assert "unexpected" not in err


def test_generated_data_is_sized_and_probed_before_it_is_made(ckpts, tmp_path, capsys,
                                                              monkeypatch):
    """eval on a generator the model cannot read fails on a 64-example probe (not after
    generating all --samples); train refuses a data set above the id bound before
    generating any of it."""
    from tinygrad_attn.cli import main
    from tinygrad_attn.data import dataset

    asked = []
    real = dataset.make_dates

    def spy(n, *a, **k):
        asked.append(n)
        return real(n, *a, **k)

    monkeypatch.setattr(dataset, "make_dates", spy)
    code = main(["eval", "--checkpoint", ckpts["txt"], "--data", "date", "--samples", "1000000"])
    err = capsys.readouterr().err
    assert code == 2 and "is 10 characters; this model writes at most" in err, err
    assert asked == [64]
    asked.clear()
    code = main(["train", "--data", "date", "--samples", "10000000", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "make 510,000,000 ids; at most 268,435,456" in err, err
    assert asked == [] and not (tmp_path / "r").exists()


@pytest.mark.parametrize("opts", [
    ["--model", "transformer", "--hidden", "8192", "--heads", "8", "--layers", "64", "--ff", "8192"],
    ["--model", "attention", "--hidden", "8192", "--wordvec", "4096"],
])
def test_a_model_too_large_for_a_checkpoint_is_refused_before_it_is_built(tmp_path, capsys,
                                                                          monkeypatch, opts):
    from tinygrad_attn.cli import main
    from tinygrad_attn.training import registry

    def never(*a, **k):
        raise AssertionError("the model was built")

    monkeypatch.setattr(registry, "build_model", never)
    code = main(["train", *opts, "--data", "addition", "--samples", "50",
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.split("\n")) == 1, err
    assert "would have more than 300,000,000 parameters" in err and "use smaller" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("lengths,fragment", [
    ("1,,2", "--lengths must be comma-separated integers, got '1,,2'"),
    ("", "--lengths must be comma-separated integers"),
    ("3,a", "--lengths must be comma-separated integers"),
    (",".join(["2"] * 65), "--lengths gives 65 lengths; at most 64"),
])
def test_eval_lengths_are_strict_and_bounded(ckpts, capsys, lengths, fragment):
    from tinygrad_attn.cli import main

    code = main(["eval", "--checkpoint", ckpts["copy"], "--lengths", lengths])
    err = capsys.readouterr().err.strip()
    assert code == 2 and fragment in err, err
