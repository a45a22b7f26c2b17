"""Sweeps without a cluster: the statistics (known values), the grid and seed parsing, the plan,
the table built from hand-written run folders, and that nothing below the sweep imports Dask."""
from __future__ import annotations

import ast
import csv
import io
import json
import math
import statistics
from pathlib import Path

import pytest

from tinygrad_attn.sweep import SweepError, load_table, parse_grid, parse_seeds
from tinygrad_attn.sweep.plan import options_to_argv, plan_runs
from tinygrad_attn.sweep.stats import summarize, t_cdf, t_quantile
from tinygrad_attn.sweep.table import SweepTable, build_rows

ROOT = Path(__file__).resolve().parents[1]

# Student t quantiles t(0.975, df) from published tables (e.g. NIST/SEMATECH e-Handbook, 1.3.6.7.2)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 10: 2.228, 20: 2.086,
        30: 2.042, 100: 1.984}


@pytest.mark.parametrize("df,expected", sorted(T975.items()))
def test_t_quantile_matches_the_published_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=6e-4)


def test_t_quantile_other_levels_and_symmetry():
    assert t_quantile(0.995, 5) == pytest.approx(4.032, abs=6e-4)   # 99 % two-sided, df 5
    assert t_quantile(0.95, 10) == pytest.approx(1.812, abs=6e-4)   # 90 % two-sided, df 10
    assert t_quantile(0.5, 3) == 0.0
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    # df = 1 is the Cauchy distribution: the quantile is tan(pi (p - 1/2))
    for p in (0.6, 0.9, 0.975, 0.999):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    # large df approaches the normal quantile
    assert t_quantile(0.975, 1e6) == pytest.approx(statistics.NormalDist().inv_cdf(0.975), abs=1e-5)
    for t in (-3.0, -0.5, 0.0, 0.7, 2.5):
        assert t_cdf(t, 7) + t_cdf(-t, 7) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, float("nan"), True])
def test_t_quantile_refuses_a_bad_probability(bad):
    with pytest.raises(ValueError, match="p must be a probability"):
        t_quantile(bad, 3)


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "3"])
def test_t_quantile_refuses_bad_degrees_of_freedom(bad):
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_quantile(0.975, bad)


def test_summarize_known_values():
    s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (s.n, s.mean) == (5, 3.0)
    assert s.std == pytest.approx(math.sqrt(2.5))                # sample std, divisor n - 1
    half = 2.7764451052 * math.sqrt(2.5) / math.sqrt(5)         # t(0.975, 4) s / sqrt(n)
    assert (s.low, s.high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert s.half_width == pytest.approx(half)
    # two seeds: t(0.975, 1) = 12.706 makes the interval wide
    s2 = summarize([0.8, 0.6])
    assert s2.std == pytest.approx(math.sqrt(0.02))
    assert s2.high - s2.mean == pytest.approx(12.7062047362 * math.sqrt(0.02) / math.sqrt(2))
    # identical values: no spread, a zero-width interval
    s3 = summarize([0.25, 0.25, 0.25])
    assert (s3.std, s3.low, s3.high) == (0.0, 0.25, 0.25)
    # one value: no spread at all
    s1 = summarize([0.7])
    assert (s1.n, s1.mean, s1.std, s1.low, s1.high) == (1, 0.7, None, None, None)
    # another level
    s90 = summarize([1.0, 2.0, 3.0, 4.0, 5.0], level=0.9)
    assert s90.high - 3 == pytest.approx(2.1318467863 * math.sqrt(2.5) / math.sqrt(5))


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [1.0, None], [True, 1.0]])
def test_summarize_refuses_bad_values(bad):
    with pytest.raises(ValueError, match="summarize"):
        summarize(bad)


# ----------------------------------------------------------------------------- seeds and grids
@pytest.mark.parametrize("spec,expected", [("0-4", [0, 1, 2, 3, 4]), ("3", [3]),
                                           ("0,2,7", [0, 2, 7]), ("0-2, 10", [0, 1, 2, 10]),
                                           ([5, 1], [1, 5]), (range(3), [0, 1, 2])])
def test_parse_seeds(spec, expected):
    assert parse_seeds(spec) == expected


@pytest.mark.parametrize("spec,match", [("", "not a seed"), ("a-b", "not a seed"),
                                        ("4-2", "ends below"), ("0-2,1", "given twice"),
                                        ("-1", "not a seed"), (f"0-{2**32}", r"\[0, 4294967295\]"),
                                        ("0-5000", "at most"), ([1.5], "integers"),
                                        ([-1], r"\[0, ")])
def test_parse_seeds_refuses(spec, match):
    with pytest.raises(SweepError, match=match):
        parse_seeds(spec)


def test_parse_grid_text_and_dict():
    g = parse_grid(["score=dot,additive", "mask-padding=false,true"])
    assert g == {"score": ["dot", "additive"], "mask_padding": ["false", "true"]}
    assert list(g) == ["score", "mask_padding"]
    assert parse_grid({"bidirectional": [False, True], "hidden": [8, 16]}) == {
        "bidirectional": ["false", "true"], "hidden": ["8", "16"]}


@pytest.mark.parametrize("items,match", [(["score"], "KEY=V1"), (["score="], "empty value"),
                                         (["score=dot,,additive"], "empty value"),
                                         (["score=dot", "score=additive"], "twice"),
                                         (["score=dot,dot"], "repeats"), (["=dot"], "bad option"),
                                         ({"score": "dot"}, "list of values")])
def test_parse_grid_refuses(items, match):
    with pytest.raises(SweepError, match=match):
        parse_grid(items)


def test_plan_turns_the_grid_into_train_command_lines():
    runs = plan_runs(["--model", "attention", "--samples", "100"],
                     parse_grid(["score=dot,additive", "bidirectional=false,true",
                                 "reverse-input=false,true"]), [0, 3])
    assert len(runs) == 2 * 2 * 2 * 2
    first = runs[0]
    assert first.config == {"score": "dot", "bidirectional": "false", "reverse_input": "false"}
    assert first.argv == ("--model", "attention", "--samples", "100", "--score", "dot",
                          "--no-bidirectional", "--seed", "0")   # store_true off: left out
    last = runs[-1]
    assert last.argv == ("--model", "attention", "--samples", "100", "--score", "additive",
                         "--bidirectional", "--reverse-input", "--seed", "3")
    assert last.folder == "score-additive_bidirectional-true_reverse-input-true/seed-3"
    assert len({r.folder for r in runs}) == len(runs)
    assert last.label == "score=additive bidirectional=true reverse-input=true seed 3"


def test_plan_folder_names_are_safe_and_unique(tmp_path):
    a, b = tmp_path / "a b.txt", tmp_path / "a_b.txt"
    for p in (a, b):
        p.write_text("1+1_2\n")
    runs = plan_runs(["--model", "attention"], parse_grid({"data": [str(a), str(b)]}), [0])
    names = [r.folder for r in runs]
    assert len(set(names)) == 2
    for n in names:
        assert "/" not in n.split("/seed-")[0] and " " not in n


@pytest.mark.parametrize("fixed,grid,match", [
    (["--model", "attention"], ["score=dot,foo"], r"score=foo: argument --score: .*dot"),
    (["--model", "attention"], ["heads=1,2"], "--heads is an option of transformer"),
    (["--model", "attention", "--seed", "1"], [], "--seed cannot be set in a sweep"),
    (["--model", "attention"], ["out=a,b"], "--out cannot be set"),
    (["--model", "attention", "--hidden", "8"], ["hidden=8,16"], "both as a fixed option"),
    (["--model", "attention"], ["bidirectional=maybe"], "switch: give true or false"),
    (["--model", "attention"], ["hiden=8"], "'hiden' is not an option of tinygrad-attn train"),
    (["--model", "attention"], ["lr=0,0.1"], r"lr=0: argument --lr: must be a finite number in \(0, 10\]"),
    (["--model", "attention", "--epochs", "0"], [], "--epochs: must be an integer"),
])
def test_plan_refuses_what_train_refuses(fixed, grid, match):
    with pytest.raises(SweepError, match=match):
        plan_runs(fixed, parse_grid(grid), [0])


def test_options_to_argv_from_python_values():
    argv = options_to_argv({"model": "attention", "reverse_input": True, "bidirectional": False,
                            "samples": 2000, "val_samples": None})
    assert argv == ["--model", "attention", "--reverse-input", "--no-bidirectional",
                    "--samples", "2000"]
    with pytest.raises(SweepError, match="--seed cannot be set"):
        options_to_argv({"seed": 3})


# ----------------------------------------------------------------------------- the table
def _history(accs, losses):
    return [{"epoch": i + 1, "loss": l, "loss_curve": [l + 0.1, l], "val_acc": a,
             "train_time": 1.0, "time": 1.5, "lr": 0.001}
            for i, (a, l) in enumerate(zip(accs, losses))]


def test_table_rows_are_the_statistics_of_the_seeds():
    groups = [({"score": "dot"}, [_history([0.5, 0.9], [1.0, 0.2]),
                                  _history([0.7, 0.95], [0.8, 0.1]),
                                  _history([0.6, 1.0], [0.9, 0.3])]),
              ({"score": "additive"}, [_history([0.1, 0.4], [2.0, 1.0])])]
    rows = build_rows(groups)
    t = SweepTable(["score"], rows)
    s = t.summary("val_acc", epoch=1, score="dot")
    assert (s.n, s.mean) == (3, pytest.approx(0.6))
    assert s.std == pytest.approx(0.1)
    assert s.high - s.mean == pytest.approx(4.302652729749 * 0.1 / math.sqrt(3))
    assert t.summary("val_acc", score="dot").mean == pytest.approx(0.95)   # last epoch
    one = t.summary("loss", epoch=2, score="additive")
    assert (one.n, one.mean, one.std, one.low) == (1, 1.0, None, None)
    assert t.metrics == ["loss", "val_acc", "train_time", "time", "lr"]  # lists left out
    with pytest.raises(KeyError, match="no epoch 3"):
        t.summary("val_acc", epoch=3, score="dot")
    with pytest.raises(KeyError, match="matches 2 configurations"):
        t.summary("val_acc")
    with pytest.raises(KeyError, match="not grid keys"):
        t.summary("val_acc", hidden=3)
    # CSV: every row, full precision, empty cells for a single seed's spread
    parsed = list(csv.DictReader(io.StringIO(t.csv())))
    assert len(parsed) == len(rows) == 2 * 2 * 5
    r = next(p for p in parsed if p["score"] == "dot" and p["metric"] == "val_acc"
             and p["epoch"] == "1")
    assert float(r["mean"]) == pytest.approx(0.6) and float(r["std"]) == pytest.approx(0.1)
    r1 = next(p for p in parsed if p["score"] == "additive" and p["metric"] == "loss")
    assert r1["std"] == "" and r1["ci_low"] == "" and r1["n"] == "1"
    md = t.markdown()
    acc_section = md.split("## val_acc")[1].split("##")[0]
    assert "| dot | 60.0 ± 10.0 % [35.2, 84.8] | 95.0 ± 5.0 % [82.6, 107.4] |" in acc_section
    assert "10.00 % (n=1)" in md


def test_a_missing_metric_is_summarised_over_the_seeds_that_have_it():
    h1 = _history([0.5], [1.0])
    h2 = _history([0.7], [1.2])
    h2[0]["val_acc"] = None                      # e.g. no validation that epoch
    rows = build_rows([({}, [h1, h2])])
    acc = next(r for r in rows if r["metric"] == "val_acc")
    loss = next(r for r in rows if r["metric"] == "loss")
    assert (acc["n"], acc["mean"], loss["n"]) == (1, 0.5, 2)


def test_load_table_reads_a_sweep_folder_without_dask(tmp_path):
    """A finished sweep's folder: the table comes back from the files alone."""
    runs = plan_runs(["--model", "attention"], parse_grid(["score=dot,additive"]), [0, 1])
    meta = {"format": 1, "fixed": ["--model", "attention"], "grid": {"score": ["dot", "additive"]},
            "seeds": [0, 1], "state": "done", "runs": []}
    for i, r in enumerate(runs):
        d = tmp_path / r.folder
        d.mkdir(parents=True)
        (d / "history.json").write_text(json.dumps({"config": {}, "history":
                                                    _history([0.1 * (i + 1)], [1.0])}))
        (d / "model.npz").write_bytes(b"")
        (d / "run.json").write_text(json.dumps({"argv": list(r.argv)}))
        meta["runs"].append({"folder": r.folder, "config": r.config, "seed": r.seed,
                             "status": "finished", "error": None, "argv": list(r.argv)})
    (tmp_path / "sweep.json").write_text(json.dumps(meta))
    t = load_table(tmp_path)
    assert t.summary("val_acc", score="dot").mean == pytest.approx(0.15)
    assert t.summary("val_acc", score="additive").mean == pytest.approx(0.35)
    # a run whose record names another command line is not counted as finished
    (tmp_path / runs[0].folder / "run.json").write_text(json.dumps({"argv": ["--other"]}))
    t2 = load_table(tmp_path)
    assert t2.summary("val_acc", score="dot").n == 1
    assert sum(r["status"] == "not run" for r in t2.runs) == 1


# ----------------------------------------------------------------------------- the layering
def test_only_the_engine_imports_dask():
    """The core, ``train`` and the rest of the sweep never import Dask (the cluster extra)."""
    offenders = []
    for path in (ROOT / "tinygrad_attn").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            if any(n.split(".")[0] in ("dask", "distributed") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == ["tinygrad_attn/sweep/engine.py"] * len(offenders) and offenders, offenders


def test_import_tinygrad_attn_and_train_do_not_load_dask():
    import subprocess
    import sys

    code = ("import sys, tinygrad_attn as ta; "
            "import tinygrad_attn.training; import tinygrad_attn.cli.commands.train; s = ta.sweep; "
            "print(callable(s), sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('dask', 'distributed')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True []"
