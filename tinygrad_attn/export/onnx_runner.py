"""Greedy decoding with the ONNX graphs of :func:`~tinygrad_attn.export.to_onnx` in onnxruntime.

The whole runner is the loop below: run the encoder once, then the decoder step once per
output character, feeding back the argmax. It needs ``onnxruntime`` and NumPy only, not
tinygrad_attn's engine (the vocabulary is a list in ``onnx_model.json``).
"""
from __future__ import annotations

import json
import os

import numpy as np

from ..validate import input_file
from . import require

__all__ = ["OnnxSeq2seq"]


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class OnnxSeq2seq:
    """A folder written by ``tinygrad-attn export --format onnx``, run with onnxruntime.

    Args:
        folder: the folder with ``encoder.onnx``, ``decoder_step.onnx``, ``onnx_model.json``.
        threads: onnxruntime's intra-op threads (None: its default).
    """

    def __init__(self, folder, threads=None):
        ort = require("onnxruntime")
        desc = os.path.join(folder, "onnx_model.json")
        input_file(desc, "ONNX description", 16 << 20)  # a regular file of bounded size
        with open(desc, encoding="utf-8") as f:
            self.desc = json.load(f)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        kw = dict(sess_options=opts, providers=["CPUExecutionProvider"])
        self.encoder = ort.InferenceSession(os.path.join(folder, "encoder.onnx"), **kw)
        self.decoder = ort.InferenceSession(os.path.join(folder, "decoder_step.onnx"), **kw)
        self.state_names = self.desc["state"]
        self.out_width = self.desc["out_width"]
        self.start_id = self.desc["start_id"]

    def generate(self, xs):
        """Greedy decoding of id rows ``xs`` (N, in_width): ``(ids (N, T_out), probs (N, T_out, V))``."""
        xs = np.asarray(xs)
        W, V = self.desc["in_width"], self.desc["config"]["vocab_size"]
        if xs.ndim != 2 or xs.shape[1] != W or xs.dtype.kind not in "iu" or not len(xs):
            raise ValueError(f"OnnxSeq2seq.generate: xs must be integer ids of shape (N, {W}), "
                             f"N >= 1, got {xs.dtype} {xs.shape}")
        if xs.min() < 0 or xs.max() >= V:
            raise ValueError(f"OnnxSeq2seq.generate: ids must lie in [0, {V}), got min "
                             f"{int(xs.min())} max {int(xs.max())}")
        xs = xs.astype(np.int64)
        state = self.encoder.run(None, {"xs": xs})
        N, T = xs.shape[0], self.out_width
        ids = np.full((N,), self.start_id, dtype=np.int64)
        out, probs = [], []
        for _ in range(T):
            scores, *state = self.decoder.run(None, {"ids": ids, **dict(zip(self.state_names, state))})
            ids = scores.argmax(axis=-1)
            out.append(ids)
            probs.append(_softmax(scores))
        return np.stack(out, axis=1), np.stack(probs, axis=1)

    def encode(self, texts):
        """Id rows for ``texts`` as the model was trained (padded with the pad char, reversed
        when the checkpoint says so)."""
        v = self.desc["vocab"]
        if v is None:
            raise ValueError("this export has no vocabulary; give id rows to generate()")
        if isinstance(texts, str):
            raise TypeError("OnnxSeq2seq.encode expects a list of strings, got one str")
        index = {c: i for i, c in enumerate(v["chars"])}
        W = self.desc["in_width"]
        for t in texts:
            unknown = sorted(set(t) - set(index))
            if len(t) > W or unknown or not t.strip():
                raise ValueError(f"input {t!r}: " + (f"{len(t)} characters; the model reads at "
                                 f"most {W}" if len(t) > W else "empty" if not t.strip() else
                                 "characters the model does not know: "
                                 + ", ".join(map(repr, unknown))))
        rows = [[index[c] for c in t.ljust(W, v.get("pad_char", " "))] for t in texts]
        xs = np.array(rows, dtype=np.int64)
        return xs[:, ::-1].copy() if self.desc["reversed_input"] else xs

    def translate(self, texts):
        """Answers for a list of strings (start symbol and padding stripped)."""
        xs = self.encode(texts)
        chars = self.desc["vocab"]["chars"]
        pad = self.desc["vocab"].get("pad_char", " ")
        ids, _ = self.generate(xs)
        return ["".join(chars[i] for i in row).strip(pad) for row in ids]
