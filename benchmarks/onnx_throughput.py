"""Greedy decoding throughput: onnxruntime running our ONNX export vs our own engine.

For each model the same 1,000 date questions are decoded greedily by ``model.generate``
(ours, NumPy) and by the exported encoder/decoder graphs in onnxruntime
(:class:`tinygrad_attn.export.OnnxSeq2seq`), interleaved in one process (ours, ort, ours,
ort, ...). Both use one thread (BLAS pinned by the variables below, onnxruntime by
``intra_op_num_threads``) unless ``--threads`` says otherwise. The script also checks that
both decode every answer alike, character for character, and reports the worst difference
of their softmax probabilities along the greedy path.

Models: the chapter's attention seq2seq with the book's own trained weights (``--book-pkl``
and ``--book-data``, from a checkout of the book's repository) or else a freshly
initialised one of the same size (V=59, D=16, H=256), its bidirectional and input-feeding
variants, and the Transformer of the default size (untrained weights decode just as fast).

    python benchmarks/onnx_throughput.py [--book-pkl BOOK/ch08/AttentionSeq2seq.pkl --book-data BOOK/dataset/date.txt]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100, help="inputs per generate call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--book-pkl")
    ap.add_argument("--book-data")
    args = ap.parse_args(argv)
    for v in THREAD_VARS:
        os.environ[v] = str(args.threads)

    import json

    import numpy as np
    from _common import median, time_interleaved
    from threadpoolctl import threadpool_info, threadpool_limits

    from tinygrad_attn import functions as F
    from tinygrad_attn import no_grad
    from tinygrad_attn.data import load_dataset
    from tinygrad_attn.export import OnnxSeq2seq, import_book, to_onnx
    from tinygrad_attn.training.registry import build_model
    from tinygrad_attn.training import load_checkpoint

    threadpool_limits(args.threads)
    data = load_dataset("date", samples=max(args.inputs, 1000), seed=5, val_fraction=0.0)
    xs = data.x_train[:args.inputs].astype(np.int64)
    vocab = data.vocab
    models = {}
    if args.book_pkl:   # the book's weights, on the questions of the book's own data file
        from tinygrad_attn.export.book import book_vocabulary

        d = tempfile.mkdtemp()
        m, meta = load_checkpoint(import_book(args.book_pkl, args.book_data, "attention", d))
        vocab, pairs, w_in, _ = book_vocabulary(args.book_data)
        texts = [q for q, _ in pairs[:args.inputs]]
        xs = np.ascontiguousarray(vocab.encode_batch(texts, width=w_in)[:, ::-1]).astype(np.int64)
        models["attention (book weights)"] = m
    else:
        models["attention"] = build_model({"model": "attention", "vocab_size": len(vocab),
                                           "wordvec_size": 16, "hidden_size": 256})
    V = len(vocab)
    models["attention bidirectional"] = build_model(
        {"model": "attention", "vocab_size": V, "wordvec_size": 16, "hidden_size": 256,
         "bidirectional": True})
    models["attention 2 layers, feed both"] = build_model(
        {"model": "attention", "vocab_size": V, "wordvec_size": 16, "hidden_size": 256,
         "num_layers": 2, "attention_feed": "both"})
    models["transformer"] = build_model({"model": "transformer", "vocab_size": V,
                                         "dropout": 0.0})
    T_IN, T_OUT, start = xs.shape[1], 10, vocab.start_id
    rows = []
    for name, model in models.items():
        folder = tempfile.mkdtemp()
        to_onnx(model, folder, in_width=T_IN, out_width=T_OUT, start_id=start)
        runner = OnnxSeq2seq(folder, threads=args.threads)
        batches = [xs[i:i + args.batch] for i in range(0, len(xs), args.batch)]
        ours_ids = np.concatenate([model.generate(b, start, T_OUT) for b in batches])
        ort_out = [runner.generate(b) for b in batches]
        ort_ids = np.concatenate([o[0] for o in ort_out])
        ort_p = np.concatenate([o[1] for o in ort_out])
        with no_grad():   # our probabilities along our greedy path
            ps = []
            for b, ids in zip(batches, np.split(ours_ids, len(batches))):
                st = model.decoder_init(b)
                prev, steps = np.full(len(b), start), []
                for t in range(T_OUT):
                    s, st = model.decoder_step(prev, st)
                    steps.append(F.softmax(s).data)
                    prev = ids[:, t]
                ps.append(np.stack(steps, axis=1))
            our_p = np.concatenate(ps)
        same = float((ours_ids == ort_ids).all(axis=1).mean())
        worst = float(np.abs(our_p - ort_p).max())
        t = time_interleaved({
            "ours": lambda: [model.generate(b, start, T_OUT) for b in batches],
            "onnxruntime": lambda: [runner.generate(b) for b in batches]},
            repeats=args.repeats, warmup=1)
        ours_s, ort_s = median(t["ours"].wall), median(t["onnxruntime"].wall)
        rows.append({"model": name, "answers_equal": same, "worst_prob_diff": worst,
                     "ours_inputs_per_s": len(xs) / ours_s, "ort_inputs_per_s": len(xs) / ort_s,
                     "ort_speedup": ours_s / ort_s})
    import onnxruntime

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} "
                     f"threads)" for i in threadpool_info())
    print(f"CPU: {cpu}; BLAS: {blas}; onnxruntime {onnxruntime.__version__} "
          f"(intra-op threads {args.threads}); {len(xs)} inputs, batches of {args.batch}, "
          f"{T_OUT} steps, median of {args.repeats}")
    print(f"{'model':34s} {'equal':>6s} {'worst p diff':>12s} {'ours in/s':>10s} "
          f"{'ort in/s':>10s} {'ort/ours':>8s}")
    for r in rows:
        print(f"{r['model']:34s} {r['answers_equal']:6.1%} {r['worst_prob_diff']:12.2e} "
              f"{r['ours_inputs_per_s']:10.0f} {r['ort_inputs_per_s']:10.0f} "
              f"{r['ort_speedup']:7.2f}x")
    print(json.dumps({"benchmark": "onnx_throughput", "cpu": cpu, "blas": blas,
                      "onnxruntime": onnxruntime.__version__, "threads": args.threads,
                      "rows": rows}))


if __name__ == "__main__":
    main()
