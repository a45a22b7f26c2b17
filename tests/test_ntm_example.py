"""examples/ntm_copy.py (the script behind the NTM results) runs end to end on a tiny budget."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("ntm_copy", ROOT / "examples" / "ntm_copy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ntm_copy_script_tiny_run(tmp_path):
    mod = load_script()
    out = tmp_path / "run"
    assert mod.main(["--controller", "ff", "--curriculum", "--memory-rows", "8", "--memory-width",
                     "4", "--hidden", "6", "--steps", "2", "--epochs", "2", "--val-samples", "8",
                     "--test-lengths", "3,5", "--out", str(out)]) == 0
    hist = json.loads((out / "history.json").read_text())
    assert [e["steps"] for e in hist["history"]] == [2, 4]
    res = json.loads((out / "results.json").read_text())
    assert set(res["test"]) == {"3", "5"} and res["params"] == hist["params"]
    assert all(v["bit_errors"] >= 0 for v in res["test"].values())
    assert (out / "model.npz").exists()
