"""Write ``fixtures/attention_legacy.npz``: AttentionSeq2seq checkpoints and seeded results
produced by the code before the models were rebuilt on ``L.StackedLSTM`` (main at f74bc52).

Run once with that code checked out (``python tests/models/make_legacy_fixture.py``); the test
``test_legacy_checkpoints.py`` then checks that today's code loads those weights under their
old names and computes the same losses, gradients, greedy and beam outputs and attention weights.
The fixture is data, not code: the old model's parameter names are stored as keys.
"""
import json
import os

import numpy as np

import tinygrad_attn as ta

try:
    from tinygrad_attn_models import AttentionSeq2seq
except ImportError:  # the layout before the registry
    from models import AttentionSeq2seq

V, D, H = 11, 4, 6
CASES = {
    "affine": dict(),
    "lstm": dict(attention_feed="lstm"),
    "both-bi-deep": dict(attention_feed="both", bidirectional=True, num_layers=2, dropout=0.3),
    "affine-deep": dict(num_layers=3, dropout=0.2),
}


def main():
    rng = np.random.default_rng(7)
    xs = rng.integers(0, V, (3, 5))
    ts = rng.integers(0, V, (3, 4))
    ts[:, 0] = 1
    out = {"xs": xs, "ts": ts}
    meta = {}
    for name, cfg in CASES.items():
        ta.seed(11)
        m = AttentionSeq2seq(V, D, H, dtype=np.float64, **cfg)
        for k, v in m.state_dict().items():
            out[f"{name}/param/{k}"] = np.array(v)
        ta.seed(5)                                      # dropout masks of the training pass
        loss = m(xs, ts)
        loss.backward()
        out[f"{name}/loss"] = np.array(loss.data)
        out[f"{name}/train_attention"] = m.attention_weights
        for k, p in m.named_params():
            out[f"{name}/grad/{k}"] = p.grad.data
        out[f"{name}/generate"] = m.generate(xs, 1, 4)
        out[f"{name}/generate_attention"] = m.attention_weights
        ids, logp = m.beam_search(xs, 1, 4, beam_width=3)
        out[f"{name}/beam"] = ids
        out[f"{name}/beam_logp"] = logp
        meta[name] = m.config
    # a whole checkpoint file as the CLI writes it (float32, a real vocabulary)
    from tinygrad_attn.data import TextTask, Vocabulary
    from tinygrad_attn.training import save_checkpoint
    vocab = Vocabulary.from_texts(["0123456789-"])
    ta.seed(3)
    m = AttentionSeq2seq(len(vocab), D, H, attention_feed="both", bidirectional=True, num_layers=2)
    ckpt = os.path.join(os.path.dirname(__file__), "fixtures", "attention_legacy_checkpoint.npz")
    save_checkpoint(ckpt, m, TextTask(vocab, 5, 3, reversed_input=True))
    print(ckpt, os.path.getsize(ckpt), "bytes")
    cx = np.random.default_rng(1).integers(0, len(vocab), (4, 5))
    out["checkpoint/xs"] = cx
    out["checkpoint/generate"] = m.generate(cx, vocab.start_id, 3)
    out["checkpoint/generate_attention"] = m.attention_weights
    out["configs"] = np.array(json.dumps(meta))
    path = os.path.join(os.path.dirname(__file__), "fixtures", "attention_legacy.npz")
    np.savez_compressed(path, **out)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
