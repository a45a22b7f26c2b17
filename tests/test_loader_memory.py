"""The checkpoint loader's peak memory is bounded: the model plus its largest stored array
(plus a small constant), however well the file compresses and whatever its dtype."""
import tracemalloc

import numpy as np

from tinygrad_attn.data import TextTask, Vocabulary
from tinygrad_attn.npzfile import META_KEY, read_npz_meta
from tinygrad_attn.training import load_checkpoint, registry, save_checkpoint

SLACK = 2 << 20  # interpreter and bookkeeping allocations


def test_loading_peaks_at_the_model_plus_one_stored_array(tmp_path):
    vocab = Vocabulary.from_texts(["0123456789+"])
    config = {"model": "transformer", "vocab_size": len(vocab), "d_model": 128, "num_heads": 2,
              "num_layers": 6, "d_ff": 512, "max_len": 16}
    model = registry.build_model(config)
    plain = tmp_path / "plain.npz"
    save_checkpoint(plain, model, TextTask(vocab, 7, 4))
    headers, meta = read_npz_meta(plain)
    # the same weights as float64 zeros, compressed: a file of a few kB that decompresses
    # to twice the model's size
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, **{k: np.zeros(shape, np.float64) for k, (shape, _) in
                                  headers.items()}, **{META_KEY: np.array(__import__("json").dumps(meta))})
    model_bytes = sum(p.data.nbytes for p in model.params())
    largest = max(int(np.prod(shape)) for shape, _ in headers.values()) * 8
    all_stored = sum(int(np.prod(shape)) for shape, _ in headers.values()) * 8
    assert packed.stat().st_size < model_bytes / 20   # it does compress
    assert all_stored > 10 * largest                  # many arrays: the bound means something
    del model

    tracemalloc.start()
    try:
        loaded, _ = load_checkpoint(packed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(np.all(p.data == 0) for p in loaded.params())
    bound = model_bytes + 2 * largest + SLACK
    assert peak <= bound, (f"peak {peak / 2**20:.1f} MiB > bound {bound / 2**20:.1f} MiB "
                           f"(model {model_bytes / 2**20:.1f}, largest stored array "
                           f"{largest / 2**20:.2f}, all stored {all_stored / 2**20:.1f})")
    assert peak < model_bytes + all_stored  # never every stored array at once
