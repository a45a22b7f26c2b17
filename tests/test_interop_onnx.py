"""ONNX export traced from the recorded graph, run by onnxruntime; optional-dependency rules."""
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_attn import Variable, no_grad
from tinygrad_attn import functions as F
from tinygrad_attn.cli import main
from tinygrad_attn.export import OnnxSeq2seq, to_onnx
from tinygrad_attn.export.onnx_export import ExportError, trace_to_onnx
from tinygrad_attn.training.registry import build_model, get_spec

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

V, T_IN, T_OUT, START = 13, 9, 6, 1

CONFIGS = {
    "attention": {"model": "attention"},
    "attention-bidirectional": {"model": "attention", "bidirectional": True},
    "attention-lstm-feed-additive": {"model": "attention", "attention_feed": "lstm",
                                     "score": "additive"},
    "attention-stacked-both-general": {"model": "attention", "num_layers": 2,
                                       "attention_feed": "both", "score": "general"},
    "attention-scaled-projection": {"model": "attention", "score": "scaled",
                                    "embed_projection": True},
    "seq2seq": {"model": "seq2seq"},
    "peeky": {"model": "peeky"},
    "transformer": {"model": "transformer"},
    "transformer-post-learned": {"model": "transformer", "norm": "post", "positions": "learned",
                                 "num_layers": 2, "max_len": 16},
}


def make(name, seed=1):
    cfg = CONFIGS[name]
    c = {**get_spec(cfg["model"]).tiny_config(vocab_size=V), **cfg}
    return build_model(c, rng=np.random.default_rng(seed))


def our_probs(model, xs, ids):
    """Our softmax probabilities along the answer ``ids`` (N, T_OUT), step by step."""
    with no_grad():
        state = model.decoder_init(xs)
        out, prev = [], np.full(len(xs), START)
        for t in range(ids.shape[1]):
            s, state = model.decoder_step(prev, state)
            out.append(F.softmax(s).data)
            prev = ids[:, t]
        return np.stack(out, axis=1)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_onnxruntime_decodes_like_ours_on_1000_inputs(name, tmp_path):
    model = make(name)
    files = to_onnx(model, tmp_path, in_width=T_IN, out_width=T_OUT, start_id=START)
    for f in files[:2]:
        onnx.checker.check_model(onnx.load(f), full_check=True)
    xs = np.random.default_rng(7).integers(0, V, (1000, T_IN))
    ours = model.generate(xs, START, T_OUT)
    ids, probs = OnnxSeq2seq(tmp_path).generate(xs)
    assert ids.shape == (1000, T_OUT)
    assert np.array_equal(ids, ours)                 # every character of every answer
    worst = np.abs(probs - our_probs(model, xs, ours)).max()
    assert worst < 2e-6, worst                        # float32 rounding (measured: < 5e-7)


def test_unmapped_op_is_named():
    def fn(x):
        return [F.softmax_cross_entropy(x, np.zeros(len(x.data), dtype=np.int64))]

    a, b = Variable(np.ones((2, 3), np.float32)), Variable(np.ones((3, 3), np.float32))
    with pytest.raises(ExportError, match="no ONNX mapping for the op.s. SoftmaxCrossEntropy"):
        trace_to_onnx(fn, [a], [b], ["x"], ["loss"], "g")


def test_input_dependent_constant_is_refused():
    def fn(ids):  # a mask computed with NumPy from the ids: not in the recorded graph
        W = Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
        e = F.embedding(W, ids)
        return [e * Variable((ids != 0).astype(np.float32)[..., None])]

    a = np.array([[1, 0], [2, 3]], dtype=np.int64)
    b = np.array([[0, 1], [3, 0], [1, 1]], dtype=np.int64)
    with pytest.raises(ExportError, match="depends on the inputs"):
        trace_to_onnx(fn, [a], [b], ["ids"], ["y"], "g")


def test_control_flow_that_depends_on_values_is_refused():
    def fn(x):
        return [F.exp(x) if float(x.data.sum()) > 0 else F.tanh(x)]

    a, b = Variable(np.ones((2, 3), np.float32)), Variable(-np.ones((3, 3), np.float32))
    with pytest.raises(ExportError, match="differs between two traces"):
        trace_to_onnx(fn, [a], [b], ["x"], ["y"], "g")


@pytest.mark.parametrize("cfg, message", [
    ({"model": "attention", "mask_padding": True}, "mask_padding"),
    ({"model": "transformer", "pad_id": 0}, "pad_id")])
def test_models_with_masks_say_why(cfg, message, tmp_path):
    m = build_model({**get_spec(cfg["model"]).tiny_config(vocab_size=V), **cfg})
    with pytest.raises(ExportError, match=message):
        to_onnx(m, tmp_path, in_width=T_IN, out_width=T_OUT, start_id=START)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("variant", [None, "ff"])
def test_ntm_exports_as_one_unrolled_graph(variant, tmp_path):
    import onnxruntime as ort

    spec = get_spec("ntm")
    m = build_model(spec.tiny_config(variant) if variant else spec.tiny_config(),
                    rng=np.random.default_rng(3))
    with pytest.raises(ExportError, match="sequence length"):
        to_onnx(m, tmp_path)
    to_onnx(m, tmp_path, seq_len=7)
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    xs = np.random.default_rng(0).integers(0, 2, (20, 7, m.input_width)).astype(np.float32)
    with no_grad():
        ref = m.logits(xs).data
    assert np.abs(sess.run(None, {"xs": xs})[0] - ref).max() < 1e-5


def test_cli_export_onnx_and_runner_translate(tmp_path, capsys):
    from tinygrad_attn.training import Translator

    run = tmp_path / "run"
    assert main(["train", "--model", "attention", "--data", "date", "--samples", "64",
                 "--epochs", "1", "--hidden", "8", "--wordvec", "4", "--out", str(run)]) == 0
    out = tmp_path / "onnx"
    assert main(["export", "--checkpoint", str(run / "model.npz"), "--format", "onnx",
                 "--out", str(out)]) == 0
    assert main(["export", "--checkpoint", str(run / "model.npz"), "--format", "onnx",
                 "--out", str(out)]) == 2            # nothing overwritten unasked
    assert "--overwrite" in capsys.readouterr().err
    texts = ["may 4, 2021", "1/2/05", "TUESDAY, SEP 25, 1984"]
    assert OnnxSeq2seq(out).translate(texts) == Translator.from_checkpoint(
        run / "model.npz").translate(texts)


def test_core_imports_no_optional_package():
    code = ("import sys, tinygrad_attn, tinygrad_attn.export, tinygrad_attn.training, "
            "tinygrad_attn.cli.main, tinygrad_attn.safetensorsfile; bad = [m for m in ('onnx', 'onnxruntime', 'safetensors') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_package_is_one_clear_error(monkeypatch, tmp_path):
    from tinygrad_attn.export import MissingDependency

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependency, match=r"pip install 'tinygrad-attn\[export\]'"):
        to_onnx(make("seq2seq"), tmp_path, in_width=T_IN, out_width=T_OUT, start_id=START)


# ----------------------------------------------------------------------------- every mapping
_W = np.random.default_rng(4).normal(size=(5, 4)).astype(np.float32)
_B = np.random.default_rng(5).normal(size=(4,)).astype(np.float32)
_C = np.random.default_rng(6).normal(size=(3, 5)).astype(np.float32)

OPS = {   # op name -> a function of x (N, 3, 5) float32 using it
    "Add": lambda x: x + Variable(_C), "Sub": lambda x: Variable(_C) - x, "Mul": lambda x: x * x,
    "Div": lambda x: x / (F.abs(x) + 1.0), "Pow": lambda x: F.pow(F.abs(x) + 1.0, x),
    "Neg": lambda x: -x, "Exp": F.exp, "Log": lambda x: F.log(F.abs(x) + 0.5), "Abs": F.abs,
    "Tanh": F.tanh, "Sigmoid": F.sigmoid, "ReLU": F.relu, "Softplus": F.softplus,
    "PowConst": lambda x: F.square(x) + F.sqrt(F.abs(x)), "Clip": lambda x: F.clip(x, -0.5, 0.7),
    "Where": lambda x: F.where(_C > 0, x, -x), "MatMul": lambda x: F.matmul(x, Variable(_W)),
    "Linear": lambda x: F.linear(x, Variable(_W), Variable(_B)),
    "Sum": lambda x: F.sum(x, axis=(1, 2)) + F.mean(x, axis=-1, keepdims=True).sum(axis=1),
    "Max": lambda x: F.max(x, axis=1), "Min": lambda x: F.min(x, axis=-1, keepdims=True),
    "Softmax": lambda x: F.softmax(x, axis=1), "LogSoftmax": lambda x: F.log_softmax(x),
    "Reshape": lambda x: F.reshape(x, (x.shape[0], 15)) + F.flatten(x),
    "Transpose": lambda x: F.transpose(x, (2, 0, 1)), "BroadcastTo":
        lambda x: F.broadcast_to(F.reshape(x[:, 0], (x.shape[0], 1, 5)), (x.shape[0], 4, 5)),
    "Concat": lambda x: F.concat([x, F.tanh(x)], axis=1),
    "Split": lambda x: F.split(x, [1, 3], axis=2)[1] * 2.0,
    "Stack": lambda x: F.stack([x, F.exp(x)], axis=-1), "Unstack": lambda x: F.unstack(x, 1)[2],
    "GetItem": lambda x: x[:, ::-1, 1:4] + F.flip(x, 2)[:, -1:, 0:3] + x[..., 2:3, -2:-5:-1],
    "LSTMCell": lambda x: F.lstm_cell(F.linear(x[:, 0], Variable(np.tile(_W, (1, 2)))),
                                      F.tanh(x[:, 1, :2]))[0],
    "LayerNorm": lambda x: F.layer_norm(x, Variable(_C[0]), Variable(_C[1])),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_mapped_op_matches_ours(op):
    import onnxruntime as ort

    from tinygrad_attn.export.onnx_export import OP_MAP

    fn = OPS[op]
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(n, 3, 5)).astype(np.float32) for n in (2, 3, 7))
    model = trace_to_onnx(lambda x: [fn(x)], [Variable(a)], [Variable(b)], ["x"], ["y"], op)
    used = {n.name.split("/")[-2] for n in model.graph.node if n.name.count("/") >= 1}
    assert op in used and op in OP_MAP, used      # the op is in the graph, mapped
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    with no_grad():
        ref = fn(Variable(c)).data
    np.testing.assert_allclose(sess.run(None, {"x": c})[0], ref, rtol=1e-5, atol=1e-5)


def test_every_mapping_has_a_test():
    from tinygrad_attn.export.onnx_export import OP_MAP

    assert set(OP_MAP) - set(OPS) <= {"TakeRows"}   # TakeRows: the embedding-projection model


def test_bad_arguments_one_line(tmp_path):
    m = make("attention")
    for kw, message in (({"in_width": 0, "out_width": 3, "start_id": 1}, "input width"),
                        ({"in_width": -2, "out_width": 3, "start_id": 1}, "in_width"),
                        ({"in_width": 5, "out_width": 3, "start_id": V}, "start_id")):
        with pytest.raises(ExportError, match=message):
            to_onnx(m, tmp_path / "x", **kw)
    with pytest.raises(ExportError, match="longer than the model's max_len 16"):
        to_onnx(make("transformer-post-learned"), tmp_path / "t", in_width=T_IN, out_width=17,
                start_id=START)
    to_onnx(m, tmp_path, in_width=T_IN, out_width=T_OUT, start_id=START)
    with pytest.raises(FileExistsError):
        to_onnx(m, tmp_path, in_width=T_IN, out_width=T_OUT, start_id=START)
    r = OnnxSeq2seq(tmp_path)
    with pytest.raises(ValueError, match=r"shape \(N, 9\)"):
        r.generate(np.zeros((2, 4), np.int64))
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 13\)"):
        r.generate(np.full((2, T_IN), V))
    with pytest.raises(ValueError, match="no vocabulary"):
        r.translate(["abc"])


def test_cli_export_bits_model_needs_seq_len(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "lstm-bits", "--data", "copy", "--samples", "32",
                 "--epochs", "1", "--hidden", "4", "--out", str(run)]) == 0
    capsys.readouterr()
    args = ["export", "--checkpoint", str(run / "model.npz"), "--format", "onnx", "--out",
            str(tmp_path / "o")]
    assert main(args) == 2 and "--seq-len" in capsys.readouterr().err
    assert main(args + ["--seq-len", "6"]) == 0
    assert (tmp_path / "o" / "model.onnx").exists()


@pytest.mark.parametrize("name", list(CONFIGS))
def test_decoder_functions_reproduce_generate(name):
    """The public encoder / one-step functions decode exactly as ``generate`` does."""
    model = make(name, seed=3)
    xs = np.random.default_rng(2).integers(0, V, (6, T_IN))
    ours = model.generate(xs, START, T_OUT)
    with no_grad():
        state = model.decoder_init(xs)
        assert len(state) == len(model.decoder_state_names())
        ids, out = np.full(6, START), []
        for _ in range(T_OUT):
            scores, state = model.decoder_step(ids, state)
            assert scores.shape == (6, V) and len(state) == len(model.decoder_state_names())
            ids = scores.data.argmax(axis=-1)
            out.append(ids)
    assert np.array_equal(np.stack(out, axis=1), ours)
