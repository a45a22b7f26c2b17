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
         "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    runs = result["runs"]
    assert [(r["score"], r["masked"]) for r in runs] == [("dot", False), ("dot", True),
                                                          ("additive", False), ("additive", True)]
    for r in runs:
        assert 0.0 <= r["val_acc"] <= 1.0 and r["seconds"] > 0 and r["val_acc_per_epoch"][-1] == r["val_acc"]
        assert (r["padding_attention"] == 0.0) == r["masked"]    # the mask removes it, nothing else does
    assert any(line.startswith("| additive | yes |") for line in lines)
    with open(tmp_path / "additive-masked-seed0" / "history.json") as f:
        cfg = json.load(f)["config"]
    assert cfg["score"] == "additive" and cfg["mask_padding"] is True
