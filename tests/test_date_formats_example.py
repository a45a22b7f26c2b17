"""examples/date_formats.py: its ROC AUC, its non-dates, and a tiny run end to end."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.data import TYPED_DATE_ALPHABET, load_dataset, make_dates, save_text
from tinygrad_attn.training import save_checkpoint
from tinygrad_attn.training.registry import build_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("date_formats", ROOT / "examples" / "date_formats.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_roc_auc_is_the_pairwise_win_rate(example):
    rng = np.random.default_rng(0)
    pos = rng.integers(0, 5, 40).astype(float)   # many ties
    neg = rng.integers(0, 4, 30).astype(float)
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
    assert example.roc_auc(pos, neg) == pytest.approx(wins)
    assert example.roc_auc([1, 2], [0]) == 1.0 and example.roc_auc([0], [1, 2]) == 0.0
    assert example.roc_auc([], [1]) is None


def test_nondates_are_in_vocabulary_and_not_dates(example):
    texts = example.make_nondates(300, TYPED_DATE_ALPHABET + "_", seed=1)
    assert len(texts) == 300 and len(set(texts)) > 250
    assert all(set(t) <= set(TYPED_DATE_ALPHABET) and t.strip() for t in texts)
    assert not any(example.could_be_a_date(t) for t in texts)
    assert all(example.could_be_a_date(q) for q, _ in make_dates(200, seed=2))


def test_runs_end_to_end(example, tmp_path, capsys):
    data = load_dataset("date", samples=40, seed=0, reverse_input=True)
    ta.seed(0)
    model = build_model({"model": "attention", "vocab_size": len(data.vocab),
                         "wordvec_size": 4, "hidden_size": 8})
    ck = tmp_path / "m.npz"
    save_checkpoint(ck, model, data.task)
    book = tmp_path / "date.txt"
    save_text(book, make_dates(30, seed=5, formats="book"))
    out = tmp_path / "r.json"
    example.main(["--checkpoint", str(ck), "--book", str(book), "--per-format", "6",
                  "--nondates", "12", "--train-samples", "50", "--json", str(out)])
    rep = json.loads(out.read_text())
    assert rep["book"]["n"] == 30 and sum(v[1] for v in rep["book"]["per_format"].values()) == 30
    assert len(rep["held_out"]) == 25 and rep["scores"]["n_nondates"] == 12
    assert 0.0 <= rep["scores"]["auc_dates_vs_nondates"] <= 1.0
    assert '"benchmark": "date_formats"' in capsys.readouterr().out
