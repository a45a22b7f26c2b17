"""Smoke tests of the training-step benchmarks, and a check that their references compute our model.

The scripts run in subprocesses with tiny settings (batch 4, hidden 8, 1-2 steps) and must
end with a JSON line that parses. The book-style NumPy reference (hand-written backward)
and the PyTorch reference must give the same loss and gradients as our engine from the same
weights (float64): otherwise the benchmark would compare different models.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

import book_reference as br  # noqa: E402
import tinygrad_attn_models as models  # noqa: E402
from scaling import linear_fit  # noqa: E402

try:
    import torch  # noqa: F401

    HAS_TORCH = True
except ImportError:
    HAS_TORCH = False

TINY = ["--steps", "2", "--warmup", "1", "--batch", "4", "--hidden", "8"]


def run_script(name, *argv, timeout=120):
    """Run ``benchmarks/<name>`` and return (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, os.path.join(BENCH, name), *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def last_json(stdout):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no JSON line in output:\n{stdout}"
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- the scripts
def test_train_step_json():
    argv = TINY + ["--alone-steps", "1", "--threads", "1"] + ([] if HAS_TORCH else ["--no-torch"])
    code, out, err = run_script("train_step.py", *argv)
    assert code == 0, err
    rec = last_json(out)
    assert rec["benchmark"] == "train_step"
    assert rec["batch"] == 4 and rec["hidden"] == 8 and rec["t_in"] == 29 and rec["t_out"] == 10
    assert rec["losses_agree"] is True
    names = ["ours", "book"] + (["torch"] if HAS_TORCH else [])
    for n in names:
        assert rec["alone_ms"][n] > 0
        # the single-contender subprocess reports its own peak, above its import baseline
        assert rec["peak_rss_mb"][n] >= rec["import_rss_mb"][n] > 0
    assert rec["ours_ms"] > 0 and rec["book_ms"] > 0
    assert rec["ratio_book_ours"] == pytest.approx(rec["book_ms"] / rec["ours_ms"], rel=1e-3)
    assert rec["thread_env"]["OPENBLAS_NUM_THREADS"] == "1"
    # the GEMM floor: the step's matrix products alone, timed in the same run
    assert rec["gemm_ms"] > 0 and rec["gemm_gflop"] > 0
    assert rec["ratio_ours_floor"] == pytest.approx(rec["ours_ms"] / rec["gemm_ms"], rel=1e-3)
    assert set(rec["phases"]) == {"1"}
    if HAS_TORCH:
        assert rec["torch_ms"] > 0 and rec["torch_threads"] == 1
        assert rec["ratio_ours_torch"] == pytest.approx(rec["ours_ms"] / rec["torch_ms"], rel=1e-3)
        # torch's import alone costs more memory than our whole run
        assert rec["import_rss_mb"]["torch"] > rec["peak_rss_mb"]["ours"]
    else:
        assert rec["torch_ms"] is None and rec["ratio_ours_torch"] is None
    assert "ms/step" in out  # the human table came first


def test_train_step_variants_are_timed_beside_ours():
    """Our variants (composed cell, table lookup) run in the same loop from the same weights;
    the memory subprocesses stay one per contender."""
    code, out, err = run_script("train_step.py", *TINY, "--alone-steps", "1", "--variants",
                                "--no-torch", "--no-book", "--no-floor")
    assert code == 0, err
    rec = last_json(out)
    assert rec["losses_agree"] is True
    for v in ("ours-composed", "ours-table"):
        assert rec["phases"]["default"]["ms"][v] > 0 and v not in rec["peak_rss_mb"]
    assert rec["phases"]["default"]["ratios"]["composed_fused"] > 0
    assert rec["phases"]["default"]["cpu_ratios"]["composed_fused"] > 0
    assert "fused ops off (composed) / fused" in out
    assert rec["keep_host_memory"] in (True, False) and rec["machine"]["numpy"]


def test_train_step_compare_threads_times_both_settings():
    argv = TINY + ["--no-rss", "--no-book", "--compare-threads"] + ([] if HAS_TORCH else ["--no-torch"])
    code, out, err = run_script("train_step.py", *argv)
    assert code == 0, err
    rec = last_json(out)
    assert set(rec["phases"]) == {"1", "default"}
    for ph in rec["phases"].values():
        assert ph["ms"]["ours"] > 0 and ph["ms"]["gemm"] > 0
        assert ph["ratios"]["ours_floor"] == pytest.approx(ph["ms"]["ours"] / ph["ms"]["gemm"],
                                                           rel=1e-3)
    if HAS_TORCH:
        assert rec["phases"]["1"]["torch_threads"] == 1
        assert rec["phases"]["1"]["ratios"]["torch_floor"] > 0
    code, _, err = run_script("train_step.py", "--compare-threads", "--threads", "1")
    assert code == 2 and "--compare-threads" in err


def test_gemm_floor_counts_the_products_our_step_computes(monkeypatch):
    """The floor's list of products has exactly the multiply-adds of our engine's step."""
    import train_step as tsb

    from tinygrad_attn.functions import linalg

    flops = []
    orig_linear, orig_matmul = linalg.Linear.forward, np.matmul

    def linear(self, x, W, b=None):
        flops.append(2 * (x.size // x.shape[-1]) * W.shape[0] * W.shape[1])
        return orig_linear(self, x, W, b)

    def matmul(a, b, **kw):  # MatMul and the fused recurrences' products
        lead = int(np.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])))
        flops.append(2 * lead * a.shape[-2] * a.shape[-1] * b.shape[-1])
        return orig_matmul(a, b, **kw)

    monkeypatch.setattr(linalg.Linear, "forward", linear)
    monkeypatch.setattr(np, "matmul", matmul)
    N, H = 3, 4
    step = tsb.ours_step_fn(tsb.build_ours(H), tsb.make_batches(N, count=1))
    step()
    assert sum(flops) == tsb.gemm_flops(tsb.gemm_list(N, H))
    tsb.gemm_numpy_fn(tsb.gemm_list(N, H))()  # every product's shapes fit


def test_time_to_accuracy_json():
    code, out, err = run_script("time_to_accuracy.py", "--samples", "300", "--hidden", "8",
                                "--max-epochs", "2", "--target", "0.0", "--threads", "1")
    assert code == 0, err
    rec = last_json(out)
    assert rec["benchmark"] == "time_to_accuracy" and rec["train_size"] + rec["val_size"] == 300
    assert rec["epochs_to_target"] == {"ours": 1, "book": 1}  # target 0 is met at once
    for name in ("ours", "book"):
        e = rec["history"][name][0]
        assert e["train_s"] > 0 and e["eval_s"] > 0 and 0.0 <= e["val_acc"] <= 1.0
        assert rec["total_s"][name] == pytest.approx(e["train_s"] + e["eval_s"], rel=1e-3, abs=3e-4)
    assert rec["ratio_train"] == pytest.approx(rec["train_s"]["ours"] / rec["train_s"]["book"],
                                               rel=1e-2)
    assert "ratio ours/book" in out
    code, _, err = run_script("time_to_accuracy.py", "--target", "1.5")
    assert code == 2 and "--target" in err


def test_book_generate_matches_ours_and_per_sample_evaluation():
    model, xs, ts, _, _, state = _ours_float64()
    book = br.BookAttentionSeq2seq(V, D, H, dtype=np.float64)
    book.load_from(state)
    got = book.generate(xs, int(ts[0, 0]), T_OUT)
    np.testing.assert_array_equal(got, model.generate(xs, int(ts[0, 0]), T_OUT))
    per_sample = np.concatenate([book.generate(xs[i:i + 1], int(ts[0, 0]), T_OUT) for i in range(N)])
    np.testing.assert_array_equal(per_sample, got)
    answers = np.concatenate([ts[:, :1], got], axis=1)
    assert br.evaluate_per_sample(book, xs, answers) == 1.0
    answers[0, 1] = (answers[0, 1] + 1) % V
    assert br.evaluate_per_sample(book, xs, answers) == pytest.approx((N - 1) / N)


def test_train_step_only_mode_and_json_flag():
    code, out, err = run_script("train_step.py", "--only", "book", "--steps", "1", "--warmup", "0",
                                "--batch", "3", "--hidden", "6")
    assert code == 0, err
    rec = last_json(out)
    assert rec["contender"] == "book" and rec["batch"] == 3 and rec["ms"] > 0


def test_train_step_rejects_bad_options():
    code, _, err = run_script("train_step.py", "--steps", "0")
    assert code == 2 and "--steps" in err and "positive integer" in err
    code, _, err = run_script("train_step.py", "--warmup", "-1")
    assert code == 2 and "--warmup" in err


def test_cuda_without_a_gpu_is_a_clear_error():
    from tinygrad_attn.backend import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present: --device cuda would run the benchmark")
    for script in ("train_step.py", "scaling.py"):
        code, _, err = run_script(script, "--device", "cuda", *TINY)
        assert code == 2 and "--device cuda needs CuPy" in err, (script, err)


def test_scaling_json():
    code, out, err = run_script("scaling.py", *TINY, "--lengths", "4", "8", "16", "--rss-steps", "1")
    assert code == 0, err
    rec = last_json(out)
    assert rec["benchmark"] == "scaling" and rec["lengths"] == [4, 8, 16]
    assert len(rec["ms"]) == 3 and all(v > 0 for v in rec["ms"])
    assert set(rec["fit_ms"]) == {"a", "b", "r2"}
    assert len(rec["peak_rss_mb"]) == 3
    assert "ms per input step" in out


# ----------------------------------------------------------------------------- helpers
def test_linear_fit_recovers_a_line_and_rejects_bad_input():
    fit = linear_fit([8, 16, 32, 64], [3 + 2 * t for t in (8, 16, 32, 64)])
    assert fit["a"] == pytest.approx(3) and fit["b"] == pytest.approx(2) and fit["r2"] == pytest.approx(1)
    noisy = linear_fit([1, 2, 3, 4], [1.0, 4.0, 2.0, 5.0])
    assert 0 < noisy["r2"] < 1
    with pytest.raises(ValueError, match="linear_fit.*same length"):
        linear_fit([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="linear_fit: all x are equal"):
        linear_fit([5, 5], [1, 2])


# ----------------------------------------------------------------------------- same model
V, D, H, N, T_IN, T_OUT = 7, 3, 5, 4, 6, 3


def _ours_float64():
    """Our model in float64 with non-zero biases, a batch, and its loss and gradients."""
    rng = np.random.default_rng(1)
    model = models.AttentionSeq2seq(V, D, H, dtype=np.float64, rng=np.random.default_rng(0))
    for _, p in model.named_params():
        p.data = p.data + 0.1 * rng.standard_normal(p.shape)
    xs = rng.integers(0, V, (N, T_IN))
    ts = rng.integers(0, V, (N, 1 + T_OUT))
    loss = model(xs, ts)
    model.cleargrads()
    loss.backward()
    grads = {n: np.array(p.grad.data) for n, p in model.named_params()}
    state = {n: np.array(p.data) for n, p in model.named_params()}
    return model, xs, ts, float(loss.data), grads, state


def test_book_reference_matches_our_gradients():
    model, xs, ts, loss, grads, state = _ours_float64()
    book = br.BookAttentionSeq2seq(V, D, H, dtype=np.float64)
    book.load_from(state)
    assert book.forward(xs, ts) == pytest.approx(loss, rel=1e-12)
    book.backward()
    got = book.named_grads()
    assert set(got) == set(grads)
    for name, g in grads.items():
        assert np.abs(g).max() > 1e-6, f"{name}: vanishing gradient makes the check empty"
        np.testing.assert_allclose(got[name], g, rtol=1e-9, atol=1e-12, err_msg=name)
    # the attention weights agree too
    a = np.stack(book.decoder.attention.attention_weights, axis=1)
    np.testing.assert_allclose(a, model.attention_weights, rtol=1e-12)


def test_book_reference_detects_a_different_model():
    """Same check, one weight changed: the gradients must then disagree (the check can fail)."""
    _, xs, ts, _, grads, state = _ours_float64()
    state = dict(state)
    state["decoder.layers.0.Wh"] = state["decoder.layers.0.Wh"] * 1.5
    book = br.BookAttentionSeq2seq(V, D, H, dtype=np.float64)
    book.load_from(state)
    book.forward(xs, ts)
    book.backward()
    assert not np.allclose(book.named_grads()["decoder.layers.0.Wh"], grads["decoder.layers.0.Wh"], rtol=1e-6)


def test_book_reference_training_step_is_float32_and_lowers_the_loss():
    rng = np.random.default_rng(0)
    xs, ts = rng.integers(0, V, (8, T_IN)), rng.integers(0, V, (8, 1 + T_OUT))
    book = br.BookAttentionSeq2seq(V, D, H)
    opt = br.Adam(lr=0.01)
    losses = []
    for _ in range(20):
        losses.append(book.forward(xs, ts))
        book.backward()
        br.clip_grads(book.grads, 5.0)
        opt.update(book.params, book.grads)
    assert all(p.dtype == np.float32 for p in book.params)
    assert all(m.dtype == np.float32 for m in opt.m + opt.v)
    assert losses[-1] < losses[0] - 0.1


def test_book_reference_load_from_errors():
    book = br.BookAttentionSeq2seq(V, D, H, dtype=np.float64)
    state = {n: np.zeros(p.shape) for n, p in zip(book.PARAM_NAMES, book.params)}
    bad = dict(state)
    del bad["out.b"]
    with pytest.raises(ValueError, match=r"load_from: missing weight 'out.b'"):
        book.load_from(bad)
    bad = dict(state, **{"encoder.layers.0.Wh": np.zeros((H, H))})
    with pytest.raises(ValueError, match=r"load_from: encoder.layers.0.Wh has shape \(5, 5\), expected \(5, 20\)"):
        book.load_from(bad)


def test_book_clip_grads_scales_to_max_norm():
    grads = [np.full((2, 2), 3.0), np.full(3, 4.0)]
    norm = br.clip_grads(grads, 1.0)
    assert norm == pytest.approx(np.sqrt(4 * 9 + 3 * 16))
    assert np.sqrt(sum((g ** 2).sum() for g in grads)) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_torch_reference_matches_our_gradients():
    import torch

    import torch_reference as tr

    model, xs, ts, loss, grads, state = _ours_float64()
    tmodel = tr.build_torch_model(V, D, H, dtype="float64")
    tr.load_from_ours(tmodel, state)
    tloss = tmodel(torch.as_tensor(xs), torch.as_tensor(ts))
    tloss.backward()
    assert float(tloss.detach()) == pytest.approx(loss, rel=1e-12)
    got = tr.torch_grads_as_ours(tmodel)
    assert set(got) == set(grads)
    for name, g in grads.items():
        np.testing.assert_allclose(got[name], g, rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(tmodel.attention_weights.numpy(), model.attention_weights, rtol=1e-12)


# ----------------------------------------------------------------------------- transformer_step
T_TINY = ["--steps", "2", "--warmup", "1", "--batch", "4", "--d-model", "8", "--heads", "2",
          "--ff", "12", "--alone-steps", "1"]


def test_transformer_step_json():
    argv = T_TINY + ["--threads", "1"] + ([] if HAS_TORCH else ["--no-torch"])
    code, out, err = run_script("transformer_step.py", *argv)
    assert code == 0, err
    rec = last_json(out)
    assert rec["benchmark"] == "transformer_step" and rec["d_model"] == 8 and rec["heads"] == 2
    assert rec["losses_agree"] is True and rec["ours_ms"] > 0 and rec["params"] > 0
    assert rec["peak_rss_mb"]["ours"] >= rec["import_rss_mb"]["ours"] > 0
    if HAS_TORCH:
        assert rec["torch_ms"] > 0 and rec["torch_threads"] == 1
        assert rec["ratio_ours_torch"] == pytest.approx(rec["ours_ms"] / rec["torch_ms"], rel=1e-3)
    else:
        assert rec["torch_ms"] is None and rec["ratio_ours_torch"] is None
    assert "ms/step" in out
    assert isinstance(rec["keep_host_memory"], bool) and "C allocator:" in out
    code, out, err = run_script("transformer_step.py", *argv, "--system-malloc", "--no-rss",
                                "--json")
    assert code == 0, err
    assert last_json(out)["keep_host_memory"] is False
    code, _, err = run_script("transformer_step.py", "--d-model", "6", "--heads", "4")
    assert code == 2 and "must be a multiple of --heads" in err


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_transformer_torch_mirror_computes_our_model():
    """Same weights, same batch, float64: the PyTorch mirror's loss and every gradient equal
    ours, so the benchmark compares the same model."""
    import argparse

    import torch
    import transformer_step as ts

    args = argparse.Namespace(d_model=8, heads=2, layers=2, ff=12, seed=0)
    ours = ts.build_ours(args)
    for p in ours.params():
        p.data = p.data.astype(np.float64)
    tm = ts.build_torch(args).double()
    from tinygrad_attn.layers import sinusoidal_positions

    tm.pe = torch.as_tensor(sinusoidal_positions(256, 8, dtype=np.float64))  # not via float32
    ts.load_into_torch(tm, {k: np.array(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(1)
    xs, t = rng.integers(0, ts.VOCAB, (3, 7)), rng.integers(0, ts.VOCAB, (3, 5))
    loss = ours(xs, t)
    ours.cleargrads()
    loss.backward()
    tl = tm(torch.as_tensor(xs), torch.as_tensor(t))
    tl.backward()
    assert tl.item() == pytest.approx(float(loss.data), rel=1e-10)
    tgrads = {n: p.grad.numpy() for n, p in tm.named_parameters()}
    for name, p in ours.named_params():
        g = tgrads[ts.torch_name(name)]
        g = g if "embed" in name or g.ndim == 1 else g.T
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-8, atol=1e-10, err_msg=name)


def test_book_init_contenders_share_batches_and_the_reference_weights():
    """benchmarks/book_init.py: every contender trains on the same batches; 'book-weights' (the
    reference's arrays in our engine) and 'book-engine' (the reference itself) start from the
    same weights, so their first losses agree; init='book' draws the book's stds."""
    code, out, err = run_script("book_init.py", "--samples", "200", "--hidden", "8",
                                "--epochs", "1", "--log-every", "1", "--json")
    assert code == 0, err
    rec = json.loads(out.strip().splitlines()[-1])
    by = {r["contender"]: r for r in rec["records"]}
    assert set(by) == {"ours", "embed0.01", "book", "book-xavier-out", "book-weights",
                       "book-engine"}
    first = {k: r["losses"][0][1] for k, r in by.items()}
    assert abs(first["book-weights"] - first["book-engine"]) < 1e-3
    assert by["book-weights"]["init_std"] == pytest.approx(by["book-engine"]["init_std"], rel=1e-3)
    assert by["book"]["init_std"]["enc_embed.W"] < 0.02 < by["ours"]["init_std"]["enc_embed.W"]
