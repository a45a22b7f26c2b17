"""The bits models (NTM and the LSTM baseline): gradients, training, metrics, checkpoints, devices."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import backend
from tinygrad_attn.data.bits import load_bits_dataset, make_copy
from tinygrad_attn.npzfile import CheckpointError
from tinygrad_attn.training import Trainer, load_checkpoint, save_checkpoint

from tests.devices import device  # noqa: F401  (cpu and strict)
from tinygrad_attn_models.ntm import LSTMBitsModel, NTMModel

TINY_NTM = dict(memory_rows=6, memory_width=3, hidden_size=5)


def tiny(kind, dtype=np.float32, **kw):
    ta.seed(0)
    if kind == "ntm":
        return NTMModel(4, 3, **{**TINY_NTM, **kw}, dtype=dtype)
    return LSTMBitsModel(4, 3, hidden_size=6, **kw, dtype=dtype)


@pytest.mark.parametrize("kind,kw", [("ntm", {}), ("ntm", {"controller": "ff"}), ("lstm", {})])
def test_loss_gradcheck(kind, kw):
    model = tiny(kind, np.float64, **kw)
    x, t = make_copy(2, min_len=1, max_len=2, width=3, seed=1)
    res = ta.gradcheck(lambda: model(x.astype(np.float64), t.astype(np.float64)),
                       params=dict(model.named_params()))
    assert res.passed, res.report()


def test_metrics_count_bit_errors():
    model = tiny("ntm")
    x, t = make_copy(10, min_len=1, max_len=3, width=3, seed=2)
    m = model.metrics(x, t, batch_size=4)
    p = model.predict(x)
    errs = (((p > 0.5) != (t > 0.5)) & (t >= 0)).reshape(10, -1).sum(1)
    assert m["bit_errors"] == pytest.approx(errs.mean())
    assert m["acc"] == pytest.approx((errs == 0).mean())
    assert m["loss"] == pytest.approx(float(model(x, t).data), rel=1e-5)
    assert model.read_weights.shape == (10, 7, 6) and model.write_weights.shape == (10, 7, 6)
    with pytest.raises(ta.OpError, match=r"xs must be a float array \(N, T, 4\)"):
        model(x[:, :, :3], t)


@pytest.mark.parametrize("kind", ["ntm", "lstm"])
def test_train_checkpoint_round_trip_on_device(kind, device, tmp_path):
    data = load_bits_dataset("copy", samples=40, seed=0, val_fraction=0.25, max_len=3, width=3)
    model = tiny(kind).to_device(device)
    path = tmp_path / "m.npz"
    before = [backend.as_numpy(p.data).copy() for p in model.params()]
    tr = Trainer(model, data, batch_size=8, progress=False, checkpoint=str(path))
    hist = tr.fit(2)
    e = hist[-1]
    assert np.isfinite(e["loss"]) and 0 <= e["val_acc"] <= 1 and e["val_bit_errors"] >= 0
    assert all(not np.array_equal(backend.as_numpy(p.data), b) for p, b in zip(model.params(), before))
    assert all(backend.device_of(p.data) == device for p in model.params())
    p0 = model.predict(data.x_val)
    assert type(p0) is np.ndarray
    back = tiny(kind)  # weights from the checkpoint written by the Trainer
    meta = back.load_weights(path)
    assert meta["config"] == model.config
    assert meta["task"] == {"kind": "bits", "task": "copy", "max_len": 3, "width": 3}
    np.testing.assert_allclose(back.predict(data.x_val), p0, rtol=1e-5, atol=1e-6)
    save_checkpoint(tmp_path / "b.npz", model, None)
    assert back.load_weights(tmp_path / "b.npz")["task"] is None
    if kind == "ntm":
        other = NTMModel(4, 3, memory_rows=6, memory_width=4, hidden_size=5)
        with pytest.raises(CheckpointError, match="shape"):
            other.load_weights(path)


def test_config_and_parameter_match():
    ntm = NTMModel(9, 8)
    lstm = LSTMBitsModel(9, 8, hidden_size=119)
    assert ntm.config == {"model": "ntm", "input_width": 9, "output_width": 8, "memory_rows": 128,
                          "memory_width": 20, "controller": "lstm", "hidden_size": 100,
                          "read_heads": 1, "shift_range": 1}
    assert abs(ntm.num_params() - lstm.num_params()) / ntm.num_params() < 0.01
    with pytest.raises(ValueError, match="input_width"):
        NTMModel(0, 3)


@pytest.mark.parametrize("name", ["ntm", "ntm-ff", "lstm-bits"])
def test_registered_tiny_models_pass_check_model(name):
    from tinygrad_attn.cli.commands.gradcheck import run_case

    res = run_case("model", name, max_elements=20)
    assert res.passed, res.report()
    assert any(e.name == "input 0" for e in res.entries)  # the gradient reaches the input bits
