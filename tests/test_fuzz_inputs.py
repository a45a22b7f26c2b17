"""Property tests (hypothesis): random metadata, arrays and command-line values through the
loaders and the CLI give a clean result or one clear error — never a traceback, a hang or a
half-loaded model (issue 15)."""
import io
import json
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import cli
from tinygrad_attn import layers as L
from tinygrad_attn.data import BitsTask, load_dataset
from tinygrad_attn.npzfile import CheckpointError, load_npz, save_npz
from tinygrad_attn.training import Translator, load_checkpoint, save_checkpoint

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_scalars = (st.none() | st.booleans() | st.integers(-2**40, 2**40)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=6), kids, max_size=4), max_leaves=12)
nasty_numbers = st.sampled_from([0, -1, 1, 2, 10**6, 10**9, 2**63, -2**63, 0.5, 1e300, True,
                                 False, "1", "", None, [], {}, float("nan"), float("inf")])


def build(config):
    try:
        from tinygrad_attn.training.registry import build_model
    except ImportError:
        from models import build_model
    return build_model(config)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    data = load_dataset("addition", samples=20, seed=0)
    ta.seed(0)
    model = build({"model": "attention", "vocab_size": len(data.vocab), "wordvec_size": 3,
                   "hidden_size": 4})
    path = tmp_path_factory.mktemp("fz") / "base.npz"
    save_checkpoint(path, model, data.task)
    arrays, meta = load_npz(path)
    return str(path), arrays, meta, tmp_path_factory.mktemp("fz2")


def _loads_cleanly_or_refuses(path):
    try:
        tr = Translator.from_checkpoint(path)
    except CheckpointError as e:
        msg = str(e)
        assert msg and "Traceback" not in msg
        return None
    return tr


def _translates_or_refuses(tr):
    """An accepted checkpoint translates, or refuses the input with one clear ValueError
    (e.g. a model that reads fewer characters than the input has)."""
    if tr is None:
        return
    try:
        assert len(tr.translate(["1+2"])) == 1
    except ValueError as e:
        assert str(e) and "\n" not in str(e)


@FAST
@given(field=st.sampled_from(["format", "config", "task", "task.vocab", "task.reversed_input",
                              "task.in_width", "task.out_width", "task.kind", "history", "extra",
                              "config.model", "config.hidden_size", "config.wordvec_size",
                              "config.vocab_size", "config.bidirectional", "config.attention_feed",
                              "config.num_layers", "config.embed_std", "task.vocab.chars",
                              "task.vocab.pad_char", "drop"]),
       value=json_values | nasty_numbers)
def test_random_metadata_loads_or_gives_one_checkpoint_error(base, field, value):
    _, arrays, meta, tmp = base
    m = json.loads(json.dumps(meta))
    if field == "drop":
        m.pop(value if isinstance(value, str) and value in m else "config")
    elif "." in field:
        *path, key = field.split(".")
        target = m
        for k in path:
            target = target[k]
        target[key] = value
    else:
        m[field] = value
    path = tmp / "m.npz"
    np.savez(path, **arrays, __meta__=np.array(json.dumps(m)))
    _translates_or_refuses(_loads_cleanly_or_refuses(path))


dtypes = st.sampled_from(["f2", "f4", "f8", "i4", "u1", "?", "c8", "M8[s]", "m8[s]", "U3", "S3",
                          [("a", "f4")]])


@FAST
@given(dtype=dtypes, shape=st.lists(st.integers(0, 5), max_size=3).map(tuple),
       fill=st.sampled_from([0.0, 1.5, np.nan, np.inf, -1e39]), which=st.integers(0, 100))
def test_random_arrays_load_all_or_nothing(base, dtype, shape, fill, which):
    _, arrays, meta, tmp = base
    names = sorted(arrays)
    name = names[which % len(names)]
    bad = dict(arrays)
    a = np.zeros(shape, dtype=dtype)
    if a.dtype.kind in "fc":
        with np.errstate(over="ignore"):  # -1e39 becomes -inf in float16/32: also refused
            a[...] = fill
    bad[name] = a
    path = tmp / "a.npz"
    save_npz(path, bad, meta)
    _loads_cleanly_or_refuses(path)

    # the same arrays into a model that exists: unchanged unless everything fits
    model = build(meta["config"])
    before = {k: v.copy() for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(bad)
    except CheckpointError:
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v, before[k])
    else:
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v, bad[k].astype(v.dtype))


@FAST
@given(blob=st.binary(max_size=300), prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY",
                                                            b"PK\x05\x06" + bytes(18)]))
def test_random_bytes_as_checkpoint(base, blob, prefix):
    path = base[3] / "r.npz"
    path.write_bytes(prefix + blob)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


# ----------------------------------------------------------------------------- the CLI
values = (st.sampled_from(["0", "-1", "-5", "1", "3", "nan", "inf", "-inf", "1e309", "1e9",
                           "99999999999999999999", "0.5", "", " ", "abc", "--", "/dev/null",
                           "/proc", "/", "date", "addition", "x.png", "x.svg", "x", "é"])
          | st.integers(-10**6, 10**6).map(str) | st.floats().map(str) | st.text(max_size=6))


def _options(command):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    p = sub.choices[command.replace("_", "-")]   # module import_book: command import-book
    opts = [a for a in p._actions if a.option_strings and a.dest != "help"]
    return p, opts


def _check_result(capsys, code, clean=(0,)):
    """A clean result (an exit status in ``clean``) or exactly one line on stderr."""
    err = capsys.readouterr().err
    assert isinstance(code, int)
    if code not in clean:
        lines = err.strip().split("\n")
        assert len(lines) == 1 and lines[0], err
    assert "Traceback" not in err


def _argv_strategy(command, extra=()):
    _, opts = _options(command)

    def one(action):
        flag = action.option_strings[-1]
        if action.nargs == 0:
            return st.just([flag])
        return values.map(lambda v: [flag, v])

    return st.lists(st.sampled_from(opts).flatmap(one), max_size=5).map(
        lambda parts: [command.replace("_", "-"), *extra, *[x for part in parts for x in part]])


@pytest.mark.parametrize("command", cli.COMMANDS)  # every command, present and future
def test_random_values_for_every_option_parse_or_refuse_in_one_line(command, monkeypatch, capsys,
                                                                      base, tmp_path):
    """Every option of every command: parsing (with the run stubbed) is clean or one line."""
    from tinygrad_attn.cli import commands  # noqa: F401
    import importlib

    try:
        mod = importlib.import_module(f"tinygrad_attn.cli.commands.{command}")
    except ModuleNotFoundError:
        pytest.skip(f"no command module {command!r}")
    monkeypatch.setattr(mod, "run", lambda args: 0)
    extra = {"train": ["--out", str(tmp_path / "o")], "graph": ["--out", str(tmp_path / "g.dot")],
             "translate": ["--checkpoint", base[0]],
             "eval": ["--checkpoint", base[0], "--data", base[0]],
             "gradcheck": ["op", "tanh"],
             "import_book": [base[0], "--data", base[0], "--model", "attention",
                             "--out", str(tmp_path / "i")],
             "export": ["--checkpoint", base[0], "--format", "book",
                        "--out", str(tmp_path / "b.pkl")]}.get(command, [])

    @FAST
    @given(argv=_argv_strategy(command, extra))
    def check(argv):
        _check_result(capsys, cli.main(argv))

    check()


@FAST
@given(texts=st.lists(st.text(max_size=12), min_size=0, max_size=4),
       beam=st.sampled_from(["1", "2", "0", "65", "x"]))
def test_translate_random_texts_clean_or_one_line(base, capsys, texts, beam):
    argv = ["translate", "--checkpoint", base[0], "--beam", beam, "--", *texts]
    old = sys.stdin
    sys.stdin = io.StringIO("\n".join(texts))
    try:
        code = cli.main(argv)
    finally:
        sys.stdin = old
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    if out.out:  # the inputs were read: one output line each, refusals and notes on stderr
        n_in = len(texts) if texts else len("\n".join(texts).split("\n"))
        assert len(out.out.split("\n")) - 1 == n_in
        err = [ln for ln in out.err.split("\n") if ln]
        assert all(re.match(r"tinygrad-attn: (TEXT|stdin line) \d+ ", ln) for ln in err), err
        assert (code == 2) == any(" refused: " in ln for ln in err) and code in (0, 2)
    else:
        assert code != 0 and len(out.err.strip().split("\n")) == 1


@FAST
@given(eps=values, atol=values, name=st.sampled_from(["tanh", "softmax", "nope", "all"]))
def test_gradcheck_random_tolerances(capsys, eps, atol, name):
    if name == "all":
        name = "exp"  # keep it fast
    code = cli.main(["gradcheck", "op", name, "--eps", eps, "--atol", atol])
    _check_result(capsys, code, clean=(0, 1))  # 1: the check ran and failed (report on stdout)


def test_layer_load_random_state_dicts_leave_layer_unchanged():
    @FAST
    @given(st.dictionaries(st.sampled_from(["W", "b", "x", ""]),
                           st.sampled_from([np.zeros((3, 2), "f4"), np.ones(2, "f8"),
                                            np.zeros(2, "i4"), np.array(["a", "b"]),
                                            np.full(2, np.nan), np.zeros((2, 3), "f4"), 1.0,
                                            "text", None]), max_size=4))
    def check(d):
        ta.seed(0)
        layer = L.Linear(3, 2)
        before = {k: v.copy() for k, v in layer.state_dict().items()}
        try:
            layer.load_state_dict(d)
        except CheckpointError as e:
            assert str(e)
            for k, v in layer.state_dict().items():
                np.testing.assert_array_equal(v, before[k])

    check()


def _each_random_config_value(base, out, check_file):
    """Hypothesis run: copies of checkpoint ``base`` (written to ``out``) whose config field
    (any but "model") holds a random value, each passed to ``check_file(out)``."""
    arrays, meta = load_npz(base)
    keys = sorted(k for k in meta["config"] if k != "model")

    @FAST
    @given(key=st.sampled_from(keys), value=nasty_numbers | json_scalars)
    def check(key, value):
        m = json.loads(json.dumps(meta))
        m["config"][key] = value
        np.savez(out, **arrays, __meta__=np.array(json.dumps(m)))
        check_file(out)

    check()


@pytest.mark.parametrize("name", __import__("tinygrad_attn.training.registry", fromlist=["x"]).model_names("text"))
def test_random_config_values_for_every_registered_model(name, tmp_path):
    """Every config field of every registered text model: a checkpoint whose field holds a
    random value loads and translates, or is refused with one CheckpointError."""
    from tinygrad_attn.training.registry import get_spec

    data = load_dataset("addition", samples=20, seed=0)
    ta.seed(0)
    model = build(get_spec(name).tiny_config(vocab_size=len(data.vocab)))
    path = tmp_path / "base.npz"
    save_checkpoint(path, model, data.task)
    _each_random_config_value(path, tmp_path / "m.npz",
                              lambda p: _translates_or_refuses(_loads_cleanly_or_refuses(p)))


@pytest.mark.parametrize("name", __import__("tinygrad_attn.training.registry", fromlist=["x"]).model_names("bits"))
def test_random_config_values_for_every_registered_bits_model(name, tmp_path):
    """The same for the binary-vector models (no vocabulary): load cleanly or refuse."""
    from tinygrad_attn.training.registry import get_spec

    ta.seed(0)
    model = build(get_spec(name).tiny_config(input_width=4, output_width=3))
    path = tmp_path / "base.npz"
    save_checkpoint(path, model, BitsTask("copy", {"max_len": 3, "width": 2}))

    def loads_or_refuses(p):
        try:
            load_checkpoint(p)
        except CheckpointError as e:
            assert str(e) and "\n" not in str(e)

    _each_random_config_value(path, tmp_path / "m.npz", loads_or_refuses)
