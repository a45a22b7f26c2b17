"""Trainer: determinism, NaN stop, Ctrl-C checkpoint, checkpoint alone is enough to translate."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn_models import AttentionSeq2seq
from tinygrad_attn.data import load_dataset
from tinygrad_attn.npzfile import CheckpointError, save_npz
from tinygrad_attn.training import Trainer, TrainingDiverged, Translator, evaluate, load_checkpoint


@pytest.fixture(scope="module")
def data():
    return load_dataset("date", samples=120, seed=3, val_fraction=0.25, reverse_input=True)


def run(data, seed=0, epochs=2, **kw):
    ta.seed(seed)
    model = AttentionSeq2seq(len(data.vocab), 8, 16)
    tr = Trainer(model, data, batch_size=32, seed=seed, progress=False, **kw)
    return model, tr, tr.fit(epochs)


def test_seeded_runs_are_identical_and_seeds_differ(data):
    _, _, h1 = run(data, seed=1)
    _, _, h2 = run(data, seed=1)
    _, _, h3 = run(data, seed=2)
    assert [e["loss"] for e in h1] == [e["loss"] for e in h2]
    assert [e["loss"] for e in h1] != [e["loss"] for e in h3]
    assert [set(e) for e in h1][0] >= {"epoch", "loss", "loss_curve", "val_acc", "time",
                                        "train_time"}


def test_loss_curve_splits_the_epoch_into_parts(data, monkeypatch):
    import tinygrad_attn.training.trainer as train_mod

    # 90 training pairs, batch 32: 3 steps; with 2 parts the steps split 2 + 1
    monkeypatch.setattr(train_mod, "_CURVE_PARTS", 2)
    losses = iter([3.0, 1.0, 0.5])
    ta.seed(0)
    tr = Trainer(AttentionSeq2seq(len(data.vocab), 8, 16), data, batch_size=32, progress=False)
    monkeypatch.setattr(tr, "train_step", lambda x, t: next(losses))
    (entry,) = tr.fit(1)
    assert entry["loss_curve"] == [2.0, 0.5]
    assert entry["loss"] == pytest.approx(1.5)
    monkeypatch.setattr(train_mod, "_CURVE_PARTS", 20)  # fewer steps than parts: one per step
    losses = iter([3.0, 1.0, 0.5])
    (_, entry) = tr.fit(1)
    assert entry["loss_curve"] == [3.0, 1.0, 0.5]


def test_nan_loss_stops_with_clear_message(data, monkeypatch):
    ta.seed(0)
    model = AttentionSeq2seq(len(data.vocab), 8, 16)
    orig = model.forward

    def poisoned(xs, ts):
        return orig(xs, ts) * float("nan")
    monkeypatch.setattr(model, "forward", poisoned)
    tr = Trainer(model, data, batch_size=32, progress=False)
    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 1, step 1.*learning rate"):
        tr.fit(1)


def test_ctrl_c_saves_checkpoint_then_reraises(data, tmp_path):
    ta.seed(0)
    model = AttentionSeq2seq(len(data.vocab), 8, 16)
    ckpt = tmp_path / "model.npz"
    tr = Trainer(model, data, batch_size=32, progress=False, checkpoint=ckpt)
    calls = {"n": 0}
    orig = tr.train_step

    def interrupted(x, t):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return orig(x, t)
    tr.train_step = interrupted
    with pytest.raises(KeyboardInterrupt):
        tr.fit(3)
    assert ckpt.exists()
    restored, meta = load_checkpoint(ckpt)
    for (n, p), (_, q) in zip(model.named_params(), restored.named_params()):
        np.testing.assert_array_equal(p.data, q.data)  # the state at the interruption


def test_checkpoint_alone_translates_like_the_model(data, tmp_path):
    model, tr, _ = run(data, epochs=1, checkpoint=tmp_path / "m.npz")
    texts = ["may 4, 2021", "10/31/90"]
    direct = Translator(model, data.task).translate(texts)
    from_file = Translator.from_checkpoint(tmp_path / "m.npz").translate(texts)
    assert direct == from_file
    acc, pred = evaluate(model, data.x_val, data.t_val, batch_size=7, return_predictions=True)
    greedy = model.generate(data.x_val, data.vocab.start_id, data.out_width)
    np.testing.assert_array_equal(pred, greedy)  # batching does not change the answers
    answers = Translator(model, data.task).translate(
        [data.vocab.decode(row[::-1]).strip() for row in data.x_val])
    truth = [data.vocab.decode(row[1:]).strip() for row in data.t_val]
    assert acc == sum(a == b for a, b in zip(answers, truth)) / len(truth)


def test_checkpoint_that_is_not_ours(tmp_path):
    save_npz(tmp_path / "other.npz", {"w": np.zeros(2)}, {"hello": 1})
    with pytest.raises(CheckpointError, match="not a tinygrad-attn checkpoint"):
        load_checkpoint(tmp_path / "other.npz")


def test_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_keep_best_holds_the_best_validated_epoch_and_writes_the_last_beside_it(data, tmp_path,
                                                                               monkeypatch):
    """keep="best": the checkpoint holds the epoch with the best validation, the last epoch
    goes to model-last.npz, the history says which epoch is kept; restore_best brings it back."""
    ta.seed(0)
    model = AttentionSeq2seq(len(data.vocab), 8, 16)
    ckpt = tmp_path / "model.npz"
    tr = Trainer(model, data, batch_size=32, checkpoint=str(ckpt), progress=False, keep="best")
    scores = iter([0.50, 0.80, 0.30])               # epoch 2 is the best, epoch 3 collapses
    monkeypatch.setattr(tr, "validate", lambda: {"acc": next(scores)})
    weights = []
    tr.fit(3, callback=lambda t, e: weights.append(
        {k: np.array(v, copy=True) for k, v in t.model.state_dict().items()}))
    assert [e["kept_epoch"] for e in tr.history] == [1, 2, 2] and tr.best_epoch == 2
    best, _ = load_checkpoint(ckpt)
    last, _ = load_checkpoint(tmp_path / "model-last.npz")
    for k, v in best.state_dict().items():
        assert np.array_equal(v, weights[1][k])
        assert np.array_equal(last.state_dict()[k], weights[2][k])
    assert not np.array_equal(weights[1]["out.W"], weights[2]["out.W"])
    assert tr.restore_best() == 2
    assert all(np.array_equal(v, weights[1][k]) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="keep must be one of"):
        Trainer(model, data, keep="first")


def test_keep_best_breaks_ties_by_bit_errors_then_the_earlier_epoch(data, monkeypatch):
    ta.seed(0)
    tr = Trainer(AttentionSeq2seq(len(data.vocab), 8, 16), data, batch_size=64, progress=False,
                 keep="best")
    scores = iter([{"acc": 1.0, "bit_errors": 0.5}, {"acc": 1.0, "bit_errors": 0.1},
                   {"acc": 1.0, "bit_errors": 0.1}])
    monkeypatch.setattr(tr, "validate", lambda: next(scores))
    tr.fit(3)
    assert tr.best_epoch == 2 and tr.history[-1]["kept_epoch"] == 2


def test_cli_train_keep_best(tmp_path, capsys):
    import json

    from tinygrad_attn.cli import main

    out = tmp_path / "run"
    assert main(["train", "--data", "date", "--samples", "60", "--epochs", "2", "--hidden", "8",
                 "--wordvec", "4", "--out", str(out), "--no-progress", "--keep", "best"]) == 0
    said = capsys.readouterr().out
    hist = json.loads((out / "history.json").read_text())
    kept = hist["kept_epoch"]
    assert kept in (1, 2) and hist["history"][-1]["kept_epoch"] == kept
    assert (out / "model-last.npz").is_file() and f"(epoch {kept}, the best on validation" in said
    # an existing run with a model-last.npz is not replaced unasked
    assert main(["train", "--data", "date", "--samples", "60", "--epochs", "1", "--hidden", "8",
                 "--wordvec", "4", "--out", str(out), "--no-progress"]) == 2
