"""Checkpoints and seeded results of the AttentionSeq2seq written before its layers were
composed from ``L.StackedLSTM`` / one ``L.Attention`` (fixture: make_legacy_fixture.py, made
with main at f74bc52) load under their old parameter names and give the same numbers."""
import json
import os

import numpy as np

from tinygrad_attn.npzfile import load_npz
import pytest

import tinygrad_attn as ta
from tinygrad_attn_models import AttentionSeq2seq, build_model
from tinygrad_attn.training import load_checkpoint

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
FIX = np.load(os.path.join(HERE, "attention_legacy.npz"))
CONFIGS = json.loads(str(FIX["configs"]))


def _new_name(old):
    parts = old.split(".")
    if parts[0] in ("encoder", "decoder") and parts[1].isdigit():
        return ".".join([parts[0], "layers"] + parts[1:])
    return old


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_old_weights_load_and_compute_the_same(name):
    prefix = f"{name}/param/"
    old = {k[len(prefix):]: FIX[k] for k in FIX.files if k.startswith(prefix)}
    assert any(k.startswith("encoder.0.") for k in old)          # really the old naming
    m = build_model(CONFIGS[name], dtype=np.float64)
    m.load_state_dict(old)
    own = dict(m.named_params())
    assert set(own) == {_new_name(k) for k in old}
    xs, ts = FIX["xs"], FIX["ts"]
    ta.seed(5)                                                   # the same dropout masks
    loss = m(xs, ts)
    loss.backward()
    np.testing.assert_allclose(loss.data, FIX[f"{name}/loss"], rtol=1e-12)
    np.testing.assert_allclose(m.attention_weights, FIX[f"{name}/train_attention"], rtol=1e-10, atol=1e-14)
    for k in old:
        np.testing.assert_allclose(own[_new_name(k)].grad.data, FIX[f"{name}/grad/{k}"],
                                   rtol=1e-9, atol=1e-13, err_msg=k)
    np.testing.assert_array_equal(m.generate(xs, 1, 4), FIX[f"{name}/generate"])
    np.testing.assert_allclose(m.attention_weights, FIX[f"{name}/generate_attention"], rtol=1e-10, atol=1e-14)
    ids, logp = m.beam_search(xs, 1, 4, beam_width=3)
    np.testing.assert_array_equal(ids, FIX[f"{name}/beam"])
    np.testing.assert_allclose(logp, FIX[f"{name}/beam_logp"], rtol=1e-10)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_seeded_initialisation_is_unchanged(name):
    """The same seed gives the same weights as before (same draws in the same order)."""
    cfg = dict(CONFIGS[name])
    cfg.pop("model")
    ta.seed(11)
    m = AttentionSeq2seq(**cfg, dtype=np.float64)
    got = {k: np.asarray(v) for k, v in m.state_dict().items()}
    prefix = f"{name}/param/"
    for k in FIX.files:
        if k.startswith(prefix):
            np.testing.assert_array_equal(got[_new_name(k[len(prefix):])], FIX[k], err_msg=k)


def test_old_checkpoint_file_loads_with_defaults_for_new_options():
    path = os.path.join(HERE, "attention_legacy_checkpoint.npz")
    model, info = load_checkpoint(path)
    assert "score" not in load_npz(path)[1]["config"]            # written before the option
    assert model.config["score"] == "dot" and model.config["mask_padding"] is False
    out = model.generate(FIX["checkpoint/xs"], info.task.vocab.start_id, 3)
    np.testing.assert_array_equal(out, FIX["checkpoint/generate"])
    np.testing.assert_allclose(model.attention_weights, FIX["checkpoint/generate_attention"], rtol=1e-5)


def test_new_names_load_and_unknown_names_still_fail():
    m = build_model(CONFIGS["lstm"], dtype=np.float64)
    state = {k: np.array(v) for k, v in m.state_dict().items()}
    assert "decoder.layers.0.Wx" in state
    m.load_state_dict(state)                                     # today's names
    bad = dict(state, **{"decoder.7.Wx": state["decoder.layers.0.Wx"]})
    with pytest.raises(ta.npzfile.CheckpointError, match="unexpected keys"):
        m.load_state_dict(bad)
