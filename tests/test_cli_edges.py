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
