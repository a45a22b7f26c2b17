"""Data files at the edges: byte-order marks, CR-only line endings, the start and padding
characters inside answers, one line-length limit, special files (FIFOs, devices) refused
before they are opened, bounded reads."""
import os
import subprocess
import sys
import textwrap

import pytest

from tinygrad_attn.data import load_dataset, load_text, save_text
from tinygrad_attn.data import textfile
from tinygrad_attn.data.task import MAX_SEQ_WIDTH
from tinygrad_attn.npzfile import CheckpointError, load_npz

HAS_FIFO = hasattr(os, "mkfifo")


def write(tmp_path, data: bytes, name="d.txt"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_a_utf8_bom_at_the_start_is_skipped_deliberately(tmp_path):
    p = write(tmp_path, "\ufeff12+3_15\n4+4 _8 \n".encode("utf-8"))
    assert load_text(p) == [("12+3", "15"), ("4+4 ", "8 ")]
    data = load_dataset(p, val_fraction=0.0)
    assert "\ufeff" not in data.vocab.chars


def test_cr_only_line_endings_are_refused_with_one_line(tmp_path):
    p = write(tmp_path, b"1+1_2\r2+2_4\r")
    with pytest.raises(ValueError) as e:
        load_text(p)
    msg = str(e.value)
    assert "d.txt:1: a carriage return (CR) inside the line" in msg and "\n" not in msg
    # CRLF and LF are fine, and may be mixed
    p = write(tmp_path, b"1+1_2\r\n2+2_4\n3+3_6")
    assert load_text(p) == [("1+1", "2"), ("2+2", "4"), ("3+3", "6")]


@pytest.mark.parametrize("body,line,fragment", [
    ("1+1_2\n2+2__4\n", 2, "the answer '_4' contains '_'"),
    ("1+1_2\n3+3_6\n2+2_4_\n", 3, "the answer '4_' contains '_'"),
    ("1+1_2\n2+2_ 4\n", 2, "the answer ' 4' begins with ' ', the padding character"),
])
def test_start_and_padding_characters_in_answers_are_refused_with_the_line(tmp_path, body, line,
                                                                           fragment):
    p = write(tmp_path, body.encode())
    with pytest.raises(ValueError) as e:
        load_text(p)
    assert f"d.txt:{line}: " in str(e.value) and fragment in str(e.value)
    # the library never writes such a file either
    q, _, a = body.split("\n")[line - 1].partition("_")
    with pytest.raises(ValueError, match="pair 0"):
        save_text(tmp_path / "out.txt", [(q, a)])


def test_spaces_inside_questions_stay_allowed(tmp_path):
    """The book's date questions hold spaces ("september 27, 1994"): padding inside a
    question is data, only an answer's leading padding is lost in decoding."""
    p = write(tmp_path, b"september 27, 1994 _1994-09-27\n")
    assert load_text(p) == [("september 27, 1994 ", "1994-09-27")]


def test_a_custom_vocabulary_checks_its_own_special_characters(tmp_path):
    from tinygrad_attn.data import Vocabulary

    vocab = Vocabulary.from_texts(["0123456789+#.", " "], specials=(".", "#"), pad_char=".",
                                  start_char="#")
    p = write(tmp_path, b"1+1_2\n2+2_#4\n")
    with pytest.raises(ValueError, match="d.txt:2: the answer '#4' contains '#'"):
        load_dataset(p, vocab=vocab, val_fraction=0.0)


def test_one_line_length_limit_shared_with_the_checkpoint(tmp_path):
    assert MAX_SEQ_WIDTH == textfile.MAX_WIDTH
    w = textfile.MAX_WIDTH
    ok = write(tmp_path, ("1" * w + "_" + "2" * w + "\n").encode())
    pairs = load_text(ok)
    assert len(pairs[0][0]) == w and len(pairs[0][1]) == w
    for body, name in [("1" * (w + 1) + "_2\n", "question"), ("1_" + "2" * (w + 1) + "\n", "answer")]:
        with pytest.raises(ValueError) as e:
            load_text(write(tmp_path, ("3+4_7\n" + body).encode()))
        assert f"d.txt:2: the {name} is {w + 1:,} characters long; at most {w:,}" in str(e.value)


def test_a_10_mb_one_line_file_is_refused_quickly(tmp_path):
    p = write(tmp_path, b"1" * (10 << 20) + b"_2\n")
    with pytest.raises(ValueError, match="d.txt:1: the question is 10,485,760 characters"):
        load_text(p)


def test_the_file_size_is_bounded_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(textfile, "MAX_FILE_BYTES", 64)
    p = write(tmp_path, b"1+1_2\n" * 20)
    with pytest.raises(ValueError, match=r"d.txt is 120 bytes; at most 64 bytes is read"):
        load_text(p)


def test_blank_lines_only_at_the_end(tmp_path):
    assert load_text(write(tmp_path, b"1+1_2\n\n\n")) == [("1+1", "2")]
    with pytest.raises(ValueError, match="d.txt:2: the line is empty"):
        load_text(write(tmp_path, b"1+1_2\n\n2+2_4\n"))


# ----------------------------------------------------------------------------- special files
def _run(code, timeout=60):
    """Run ``code`` in a fresh interpreter with a hard timeout (a blocking open would hang)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"))


@pytest.mark.skipif(not HAS_FIFO, reason="no named pipes on this system")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = _run(f"""
        from tinygrad_attn.data import load_text, load_dataset
        from tinygrad_attn.npzfile import load_npz, CheckpointError
        from tinygrad_attn.safetensorsfile import read_safetensors_meta
        from tinygrad_attn.training import load_checkpoint, read_checkpoint_info
        from tinygrad_attn.export.book import book_vocabulary
        from tinygrad_attn.export.safe_pickle import load_arrays
        for f in (load_text, load_dataset, load_npz, load_checkpoint, read_checkpoint_info,
                  read_safetensors_meta, book_vocabulary, load_arrays):
            try:
                f({str(fifo)!r})
            except (ValueError, CheckpointError, __import__("pickle").UnpicklingError) as e:
                print(type(e).__name__, e)
    """)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().split("\n")
    assert len(lines) == 8, r.stdout
    assert all("is a named pipe (FIFO), not a regular file" in ln for ln in lines), r.stdout
    assert all(ln.startswith("CheckpointError") for ln in lines[2:6])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_before_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(ValueError, match="is a character device, not a regular file"):
        load_text(device)
    with pytest.raises(ValueError, match="is a character device"):
        load_dataset(device)  # not "not found"
    with pytest.raises(CheckpointError, match="is a character device"):
        load_npz(device)


@pytest.mark.skipif(not HAS_FIFO, reason="no named pipes on this system")
@pytest.mark.parametrize("argv", [
    ["eval", "--checkpoint", "{fifo}", "--data", "{ok}"],
    ["translate", "--checkpoint", "{fifo}", "2+2"],
    ["train", "--data", "{fifo}", "--out", "{out}"],
    ["eval", "--checkpoint", "{ok}", "--data", "/dev/zero"],
    ["train", "--data", "/dev/zero", "--out", "{out}"],
])
def test_the_commands_refuse_special_files_with_one_line(tmp_path, argv):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    ok = write(tmp_path, b"1+1_2\n")
    argv = [a.format(fifo=fifo, ok=ok, out=tmp_path / "run") for a in argv]
    r = subprocess.run([sys.executable, "-m", "tinygrad_attn", *argv], capture_output=True,
                       text=True, timeout=60,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"))
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert len(err.split("\n")) == 1 and "not a regular file" in err, err
    assert "not found" not in err
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- fuzzing
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
_chunks = st.sampled_from([b"_", b" ", b"\n", b"\r", b"\r\n", b"\xef\xbb\xbf", b"\xff", b"a",
                           b"12+3", b"\xc3\xa9", b"\x00", "\u2028".encode()])


@FUZZ
@given(st.lists(_chunks, max_size=30))
def test_any_bytes_load_cleanly_or_give_one_line_naming_the_file(tmp_path, parts):
    p = write(tmp_path, b"".join(parts), "f.txt")
    try:
        pairs = load_text(p)
    except ValueError as e:
        msg = str(e)
        assert "\n" not in msg and str(p) in msg, msg
        return
    for q, a in pairs:  # what loads obeys every rule
        assert q.strip(" ") and a.strip(" ") and "_" not in q + a and not a.startswith(" ")
        assert "\r" not in q + a and "\n" not in q + a and "\ufeff" not in q[:1]


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="_\r\n"),
                min_size=1, max_size=12)


@FUZZ
@given(st.lists(st.tuples(_text, _text), min_size=1, max_size=5))
@example([("\ufeffa", "b")]).via("a BOM-led question would be skipped when read back")
def test_what_save_text_writes_loads_back(tmp_path, pairs):
    p = tmp_path / "s.txt"
    try:
        save_text(p, pairs)
    except ValueError as e:
        assert "pair " in str(e)  # only pairs that break a rule (e.g. blank or space-led)
        return
    back = load_text(p)
    assert [(q.rstrip(" "), a.rstrip(" ")) for q, a in back] == \
        [(q.rstrip(" "), a.rstrip(" ")) for q, a in pairs]


def test_one_long_line_cannot_widen_every_example_past_the_bound(tmp_path, monkeypatch):
    from tinygrad_attn.data import dataset

    monkeypatch.setattr(dataset, "MAX_DATA_IDS", 1000)
    p = write(tmp_path, b"1+1_2\n" * 10 + b"9" * 200 + b"_1\n")
    with pytest.raises(ValueError, match=r"11 examples padded to the longest question \(200\) "
                                         r"and answer \(1\) make 2,222 ids; at most 1,000"):
        load_dataset(p)
    monkeypatch.setattr(dataset.Vocabulary, "encode_batch", None)  # refused before encoding
    with pytest.raises(ValueError, match="make 2,222 ids"):
        load_dataset(p)
