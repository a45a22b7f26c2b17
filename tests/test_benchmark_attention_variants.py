"""Smoke test of benchmarks/attention_variants.py: tiny runs through the CLI, a table and a JSON line."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_attention_variants_smoke(tmp_path):
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "attention_variants.py"), "--samples", "200",
         "--hidden", "8", "--pad-samples", "10", "--scores", "dot", "additive",
         "--masks", "none", "run", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    runs = result["runs"]
    assert [(r["score"], r["mask"]) for r in runs] == [("dot", "none"), ("dot", "run"),
                                                        ("additive", "none"), ("additive", "run")]
    for r in runs:
        assert 0.0 <= r["val_acc"] <= 1.0 and r["seconds"] > 0 and r["val_acc_per_epoch"][-1] == r["val_acc"]
        assert (r["padding_attention"] == 0.0) == (r["mask"] == "run")   # the mask removes it
    assert any(line.startswith("| additive | run |") for line in lines)
    with open(tmp_path / "additive-run-seed0" / "history.json") as f:
        cfg = json.load(f)["config"]
    assert cfg["score"] == "additive" and cfg["mask_padding"] is True and cfg["mask_scope"] == "run"
    # a rerun with --reuse keeps the finished runs (same numbers, no training)
    again = subprocess.run(proc.args + ["--reuse"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout.strip().splitlines()[-1])["runs"]
    assert all(r["reused"] for r in rerun)
    assert [r["seconds"] for r in rerun] == [r["seconds"] for r in runs]
