"""The book's pickled weights: safe reading, the layout mapping, both directions; safetensors."""
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_attn import no_grad
from tinygrad_attn.cli import main
from tinygrad_attn.data.dates import make_dates
from tinygrad_attn.export import (BookFormatError, UnsafePickleError, book_vocabulary,
                                  import_book, load_arrays, write_book_params)
from tinygrad_attn.export.safe_pickle import loads_arrays
from tinygrad_attn.npzfile import CheckpointError
from tinygrad_attn.training import load_checkpoint, save_checkpoint
from tinygrad_attn.training.registry import build_model

KINDS = ("attention", "seq2seq", "peeky")


# ----------------------------------------------------------------------------- helpers
def book_file(path, n=60, seed=3):
    """A data file in the book's format (fixed widths, '_' before the answer)."""
    pairs = make_dates(n, seed=seed)
    with open(path, "w") as f:
        for q, a in pairs:
            f.write(q.ljust(29) + "_" + a + "\n")
    return path


def book_vocab_reference(path):
    """The book's dataset/sequence.py, as written there: line[:idx], line[idx:-1]."""
    char_to_id = {}
    for line in open(path):
        idx = line.find("_")
        for text in (line[:idx], line[idx:-1]):
            for ch in text:
                if ch not in char_to_id:
                    char_to_id[ch] = len(char_to_id)
    return list(char_to_id)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def book_scores(kind, params, xs, dec_in):
    """The book's forward pass (common/time_layers.py, ch07, ch08) on its own parameter list."""
    eW, eWx, eWh, eb, dW, dWx, dWh, db, aW, ab = [p.astype(np.float64) for p in params]
    H = eWh.shape[0]

    def lstm(xs, Wx, Wh, b, h):
        c = np.zeros_like(h)
        hs = []
        for t in range(xs.shape[1]):
            A = xs[:, t] @ Wx + h @ Wh + b
            f, g, i, o = sigmoid(A[:, :H]), np.tanh(A[:, H:2 * H]), sigmoid(A[:, 2 * H:3 * H]), \
                sigmoid(A[:, 3 * H:])
            c = f * c + g * i
            h = o * np.tanh(c)
            hs.append(h)
        return np.stack(hs, axis=1)

    N = xs.shape[0]
    enc = lstm(eW[xs], eWx, eWh, eb, np.zeros((N, H)))
    h = enc[:, -1]
    emb = dW[dec_in]
    T = dec_in.shape[1]
    if kind == "peeky":
        hr = np.repeat(h[:, None], T, axis=1)
        out = lstm(np.concatenate([hr, emb], axis=2), dWx, dWh, db, h)
        return np.concatenate([hr, out], axis=2) @ aW + ab
    dec = lstm(emb, dWx, dWh, db, h)
    if kind == "seq2seq":
        return dec @ aW + ab
    s = np.einsum("nth,nsh->nts", dec, enc)
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    c = a @ enc
    return np.concatenate([c, dec], axis=2) @ aW + ab


def our_model(kind, V, seed=0, D=5, H=6):
    m = build_model({"model": kind, "vocab_size": V, "wordvec_size": D, "hidden_size": H},
                    rng=np.random.default_rng(seed))
    for p in m.params():  # non-zero biases, so that a mix-up of rows or blocks shows
        p.data[...] = np.random.default_rng(seed + 1).normal(0, 0.5, p.shape)
    return m


@pytest.fixture
def data(tmp_path):
    return book_file(tmp_path / "dates.txt")


# ----------------------------------------------------------------------------- vocabulary
def test_vocabulary_is_the_books(data, tmp_path):
    vocab, pairs, win, wout = book_vocabulary(data)
    assert list(vocab.chars) == book_vocab_reference(data)
    assert (win, wout) == (29, 10) and len(pairs) == 60 and pairs[0][1] == make_dates(60, seed=3)[0][1]
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(open(data, "rb").read().replace(b"\n", b"\r\n"))
    assert book_vocabulary(crlf)[0].chars == vocab.chars  # universal newlines, as the book


@pytest.mark.parametrize("text, message", [
    ("abc\n", "no '_'"), ("ab _1\nabc _12\n", "differ from the first line"),
    ("", "empty"), ("ab_c\n", "no space character")])
def test_bad_data_files(tmp_path, text, message):
    p = tmp_path / "d.txt"
    p.write_text(text)
    with pytest.raises(BookFormatError, match=message):
        book_vocabulary(p)


# ----------------------------------------------------------------------------- mapping
@pytest.mark.parametrize("kind", KINDS)
def test_imported_weights_compute_the_books_scores(kind, data, tmp_path):
    """A pickle in the book's layout (made from a model of ours) -> import -> our outputs equal
    the book's forward pass (a NumPy transcription of its layers) on the same arrays."""
    vocab = book_vocabulary(data)[0]
    write_book_params(our_model(kind, len(vocab)), tmp_path / "w.pkl")
    params = load_arrays(tmp_path / "w.pkl")
    assert all(p.dtype == np.float16 for p in params)
    ck = import_book(tmp_path / "w.pkl", data, kind, tmp_path / "run")
    model, info = load_checkpoint(ck)
    assert info.task.reversed_input == (kind == "attention") and info.task.vocab == vocab
    assert (info.task.in_width, info.task.out_width) == (29, 10)
    rng = np.random.default_rng(5)
    xs, dec = rng.integers(0, len(vocab), (7, 29)), rng.integers(0, len(vocab), (7, 4))
    with no_grad():
        ours = model.logits(xs, dec).data
    ref = book_scores(kind, params, xs, dec)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_ours_book_ours(kind, data, tmp_path):
    vocab = book_vocabulary(data)[0]
    m = our_model(kind, len(vocab), seed=7)
    write_book_params(m, tmp_path / "w.pkl")
    back, _ = load_checkpoint(import_book(tmp_path / "w.pkl", data, kind, tmp_path / "r"))
    for (name, a), (name2, b) in zip(m.state_dict().items(), back.state_dict().items()):
        assert name == name2
        assert np.array_equal(a.astype(np.float16).astype(np.float32), b), name  # float16 rounding
    write_book_params(back, tmp_path / "w2.pkl")  # and book -> ours -> book is exact
    assert all(np.array_equal(a, b) for a, b in
               zip(load_arrays(tmp_path / "w.pkl"), load_arrays(tmp_path / "w2.pkl")))
    with no_grad():  # outputs within float16 rounding of the weights
        xs = np.random.default_rng(1).integers(0, len(vocab), (5, 29))
        a, b = m.logits(xs, xs[:, :3]).data, back.logits(xs, xs[:, :3]).data
    assert np.abs(a - b).max() <= 2e-2 * max(1.0, np.abs(a).max())


def test_export_refuses_models_the_book_lacks(tmp_path):
    m = build_model({"model": "attention", "vocab_size": 9, "wordvec_size": 3, "hidden_size": 4,
                     "bidirectional": True})
    with pytest.raises(BookFormatError, match="bidirectional"):
        write_book_params(m, tmp_path / "w.pkl")
    assert not (tmp_path / "w.pkl").exists()


def test_wrong_counts_and_shapes_one_line_each(data, tmp_path):
    vocab = book_vocabulary(data)[0]
    write_book_params(our_model("attention", len(vocab)), tmp_path / "w.pkl")
    params = load_arrays(tmp_path / "w.pkl")

    def attempt(arrays, kind="attention"):
        (tmp_path / "x.pkl").write_bytes(pickle.dumps(arrays))
        with pytest.raises(BookFormatError) as e:
            import_book(tmp_path / "x.pkl", data, kind, tmp_path / "out", overwrite=True)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "9 arrays in the pickle; the book's attention model has 10" in attempt(params[:9])
    bad = list(params)
    bad[5] = bad[5][:, :-4]
    assert "array 5 (decoder.lstm.Wx) has shape" in attempt(bad)
    assert "array 8 (decoder.affine.W)" in attempt(params, "seq2seq")  # (2H, V) is not seq2seq's
    wide = [np.concatenate([p, p[:1]]) if i in (0, 4) else p for i, p in enumerate(params)]
    wide[8], wide[9] = np.concatenate([wide[8], wide[8][:, :1]], 1), np.append(wide[9], 0)
    assert "vocabulary of" in attempt(wide)
    nan = list(params)
    nan[3] = nan[3].copy()
    nan[3][0] = np.nan
    assert "non-finite" in attempt(nan)
    assert "holds a dict" in attempt({"a": params[0]}) or "list of arrays" in attempt({"a": params[0]})
    assert not (tmp_path / "out" / "model.npz").exists()


# ----------------------------------------------------------------------------- malicious pickles
class _Payload:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


def _touch_cmd(marker):
    return f"{sys.executable} -c \"open({str(marker)!r}, 'w')\""


def _replaced(blob, old, new):
    assert old in blob
    return blob.replace(old, new)


def _payloads(marker):
    arr = np.ones((2, 3), np.float16)
    sys_call = _Payload(os.system, _touch_cmd(marker))
    eval_call = _Payload(eval, f"open({str(marker)!r}, 'w')")
    exec_call = _Payload(exec, f"open({str(marker)!r}, 'w')")
    popen = _Payload(subprocess.getoutput, _touch_cmd(marker))

    class DtypeAttack(pickle.Pickler):  # an array whose dtype slot is os.system(...)
        def reducer_override(self, obj):
            if isinstance(obj, np.dtype):
                return os.system, (_touch_cmd(marker),)
            return NotImplemented

    buf = io.BytesIO()
    DtypeAttack(buf, protocol=2).dump([arr])
    return {
        "top-level os.system": pickle.dumps(sys_call),
        "os.system in the list": pickle.dumps([arr, sys_call]),
        "eval nested in a dict": pickle.dumps({"w": [arr, (arr, eval_call)]}),
        "exec in a tuple": pickle.dumps((arr, exec_call), protocol=0),
        "subprocess": pickle.dumps([popen]),
        "as the dtype": buf.getvalue(),
        "_reconstruct of another class": _replaced(pickle.dumps(arr, protocol=2), b"numpy\nndarray", b"posix\nsystem"),
        "numpy's own runstring": b"\x80\x02cnumpy.testing._private.utils\nrunstring\nq\x00X\x05\x00\x00\x001+1==2q\x01}q\x02\x86q\x03Rq\x04.",
    }


def test_malicious_pickles_never_execute(tmp_path, data):
    marker = tmp_path / "pwned"
    for what, blob in _payloads(marker).items():
        p = tmp_path / "evil.pkl"
        p.write_bytes(blob)
        with pytest.raises(UnsafePickleError) as e:
            load_arrays(p)
        msg = str(e.value)
        assert "\n" not in msg and "refused" in msg, (what, msg)
        assert not marker.exists(), what
        code = main(["import-book", str(p), "--data", str(data), "--model", "attention",
                     "--out", str(tmp_path / "o")])
        assert code == 2 and not marker.exists(), what
    # the loader names what it refused
    with pytest.raises(UnsafePickleError, match=r"posix\.system|os\.system"):
        loads_arrays(pickle.dumps([_Payload(os.system, "true")]))
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        loads_arrays(pickle.dumps([_Payload(eval, "1")]))


def test_refused_dtypes_and_stand_in_state():
    obj = np.array([object()], dtype=object)
    with pytest.raises(UnsafePickleError, match="dtype"):
        loads_arrays(pickle.dumps(obj))
    with pytest.raises(UnsafePickleError, match="dtype"):
        loads_arrays(pickle.dumps(np.array(["a"])))
    # BUILD on a stand-in (trying to plant attributes) is refused
    blob = b"\x80\x02cnumpy\nndarray\nq\x00}q\x01X\x01\x00\x00\x00aq\x02K\x01sb."
    with pytest.raises(UnsafePickleError, match="refused"):
        loads_arrays(blob)


def test_truncated_oversized_and_empty(tmp_path):
    good = pickle.dumps([np.ones((40, 8), np.float16)] * 3)
    p = tmp_path / "t.pkl"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(UnsafePickleError, match="truncated") as e:
        load_arrays(p)
    assert "\n" not in str(e.value)
    p.write_bytes(good)
    with pytest.raises(UnsafePickleError, match="larger than the 100 bytes"):
        load_arrays(p, max_bytes=100)
    p.write_bytes(b"")
    with pytest.raises(UnsafePickleError, match="truncated|not a valid pickle"):
        load_arrays(p)
    # an array whose byte count does not match its shape
    blob = _replaced(pickle.dumps(np.ones((4,), np.float16), protocol=2), b"K\x04\x85", b"K\x05\x85")
    with pytest.raises(UnsafePickleError, match="needs 10 bytes, the pickle holds 8"):
        loads_arrays(blob)


def test_reads_old_and_new_numpy_pickles():
    a = np.arange(12, dtype=np.float16).reshape(3, 4)
    new = pickle.dumps([a, a.T, {"b": np.array([True, False])}])
    new2 = pickle.dumps([a, a.T, {"b": np.array([True, False])}], protocol=2)
    old = _replaced(new2, b"numpy._core.multiarray", b"numpy.core.multiarray")
    for blob in (new, old, pickle.dumps([a], protocol=2), pickle.dumps([a], protocol=0)):
        got = loads_arrays(blob)
        assert np.array_equal(got[0], a) and got[0].dtype == np.float16
    got = loads_arrays(new)
    assert np.array_equal(got[1], a.T) and got[2]["b"].dtype == bool


# ----------------------------------------------------------------------------- CLI
def test_cli_import_export_and_translate(data, tmp_path, capsys):
    vocab = book_vocabulary(data)[0]
    write_book_params(our_model("attention", len(vocab)), tmp_path / "w.pkl")
    out = tmp_path / "run"
    assert main(["import-book", str(tmp_path / "w.pkl"), "--data", str(data), "--model",
                 "attention", "--out", str(out)]) == 0
    assert main(["import-book", str(tmp_path / "w.pkl"), "--data", str(data), "--model",
                 "attention", "--out", str(out)]) == 2  # nothing overwritten unasked
    assert "overwrite" in capsys.readouterr().err
    ck = str(out / "model.npz")
    assert main(["export", "--checkpoint", ck, "--format", "book", "--out",
                 str(tmp_path / "b.pkl")]) == 0
    assert all(np.array_equal(a, b) for a, b in
               zip(load_arrays(tmp_path / "w.pkl"), load_arrays(tmp_path / "b.pkl")))
    st = str(tmp_path / "m.safetensors")
    assert main(["export", "--checkpoint", ck, "--format", "safetensors", "--out", st]) == 0
    capsys.readouterr()
    assert main(["translate", "--checkpoint", ck, "may 4, 2021"]) == 0
    a = capsys.readouterr().out
    assert main(["translate", "--checkpoint", st, "may 4, 2021"]) == 0
    assert capsys.readouterr().out == a


# ----------------------------------------------------------------------------- safetensors
@pytest.mark.parametrize("config", [
    {"model": "attention", "vocab_size": 13, "wordvec_size": 3, "hidden_size": 4,
     "bidirectional": True, "num_layers": 2, "attention_feed": "both"},
    {"model": "transformer", "vocab_size": 13},
    {"model": "peeky", "vocab_size": 13, "wordvec_size": 3, "hidden_size": 4}])
def test_safetensors_round_trip_is_bit_identical(config, tmp_path):
    from tinygrad_attn.data import TextTask, Vocabulary
    from tinygrad_attn.export import load_safetensors, save_safetensors
    from tinygrad_attn.training.registry import get_spec

    config = {**get_spec(config["model"]).tiny_config(), **config}
    m = build_model(config, rng=np.random.default_rng(2))
    vocab = Vocabulary([" ", "_", *"0123456789-"])
    task = TextTask(vocab, 7, 3, reversed_input=True) if config["model"] != "ntm" else None
    save_safetensors(tmp_path / "m.safetensors", m, task, history=[{"epoch": 1}])
    back, info = load_safetensors(tmp_path / "m.safetensors")
    assert back.config == m.config and info.task == task and info.history == [{"epoch": 1}]
    for (k, a), (k2, b) in zip(m.state_dict().items(), back.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    with pytest.raises(FileExistsError):
        save_safetensors(tmp_path / "m.safetensors", m, task)


def test_safetensors_bad_files(tmp_path):
    from safetensors.numpy import save_file

    from tinygrad_attn.export import save_safetensors

    m = build_model({"model": "seq2seq", "vocab_size": 5, "wordvec_size": 2, "hidden_size": 3})
    p = tmp_path / "m.safetensors"
    save_safetensors(p, m)
    blob = p.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(blob[:-10])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path / "cut.safetensors")
    save_file({"w": np.zeros(3, np.float32)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="without tinygrad-attn metadata"):
        load_checkpoint(tmp_path / "foreign.safetensors")
    other = build_model({"model": "seq2seq", "vocab_size": 5, "wordvec_size": 2, "hidden_size": 4})
    save_safetensors(tmp_path / "o.safetensors", other)
    # our metadata with another model's tensors: refused before any tensor is read
    import json
    import struct
    n = struct.unpack("<Q", blob[:8])[0]
    head = json.loads(blob[8:8 + n])
    ob = (tmp_path / "o.safetensors").read_bytes()
    on = struct.unpack("<Q", ob[:8])[0]
    ohead = json.loads(ob[8:8 + on])
    ohead["__metadata__"] = head["__metadata__"]
    h = json.dumps(ohead).encode()
    (tmp_path / "mix.safetensors").write_bytes(struct.pack("<Q", len(h)) + h + ob[8 + on:])
    with pytest.raises(CheckpointError, match="do not fit the model"):
        load_checkpoint(tmp_path / "mix.safetensors")
    save_checkpoint(tmp_path / "m.npz", m, None)  # the npz format is still read
    assert load_checkpoint(tmp_path / "m.npz")[0].config == m.config


def test_mutated_pickles_load_or_refuse_in_one_line(tmp_path):
    """Random byte changes and cuts of a valid weights pickle: arrays, or one UnsafePickleError."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    arrays = [np.arange(6, dtype=np.float16).reshape(2, 3), (np.ones(4, np.float32),),
              {"b": np.zeros((2, 2), np.int8)}]
    blobs = [pickle.dumps(arrays, protocol=p) for p in (0, 2, 3, 5)]
    marker = tmp_path / "ran"

    @settings(max_examples=300, deadline=None)
    @given(which=st.integers(0, len(blobs) - 1),
           edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
           cut=st.one_of(st.none(), st.integers(0, 10_000)))
    def check(which, edits, cut):
        blob = bytearray(blobs[which])
        for pos, val in edits:
            blob[pos % len(blob)] = val
        if cut is not None:
            blob = blob[:cut % (len(blob) + 1)]
        try:
            out = loads_arrays(bytes(blob))
        except UnsafePickleError as e:
            assert "\n" not in str(e)
        else:
            assert isinstance(out, (list, tuple, dict, np.ndarray, int, float, str, bool,
                                    type(None)))
        assert not marker.exists()

    check()


def test_refusal_names_stay_on_one_line():
    # STACK_GLOBAL takes any strings, newlines included
    blob = (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x05os\nxy\x94\x8c\x06sys\ntm\x94"
            b"\x93\x94.")
    with pytest.raises(UnsafePickleError) as e:
        loads_arrays(blob)
    assert "\n" not in str(e.value) and "refused" in str(e.value)
