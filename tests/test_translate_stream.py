"""translate reads stdin in bounded chunks: answers come out while input still streams in,
an endless line is refused after a bounded read, bad lines are named exactly."""
import os
import subprocess
import sys
import threading

import pytest

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    from tinygrad_attn.cli import main

    out = tmp_path_factory.mktemp("tr") / "run"
    assert main(["train", "--data", "addition", "--samples", "40", "--hidden", "4", "--wordvec",
                 "3", "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    return str(out / "model.npz")


def translate(ck, data: bytes, timeout=120):
    # --min-prob 0: no notes on the answers of this untrained model, only refusals on stderr
    return subprocess.run([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck,
                           "--min-prob", "0"],
                          input=data, capture_output=True, timeout=timeout, env=ENV)


def test_one_answer_per_line_blank_lines_kept(ck):
    r = translate(ck, b"\n\n1+1\n\n2+3\r\n12+7")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().split("\n")
    assert len(lines) == 7 and lines[-1] == ""  # six answers, each ending with a newline
    assert lines[0] == lines[1] == lines[3] == "" and all(lines[i] for i in (2, 4, 5))


@pytest.mark.parametrize("data,bad,fragment", [
    (b"1+1\n\xff\xfe\n3+4\n", 2, "not valid text in the utf-8 encoding"),
    (b"1+1\n2+2\nab\n", 3, "input 'ab' contains character(s)"),
    (b"1+1\n" + b"1+1111111\n5+5", 2, "input '1+1111111' is 9 characters"),
    (b"1+1\n" + b"9" * 5000 + b"\n2+2\n", 2, "longer than the 7 characters this model reads"),
])
def test_a_bad_line_is_refused_by_its_number_the_others_answered(ck, data, bad, fragment):
    r = translate(ck, data)
    err = r.stderr.decode().strip()
    out = r.stdout.decode().split("\n")[:-1]
    n_lines = len(data.split(b"\n")) - (data.endswith(b"\n"))
    assert r.returncode == 2 and len(out) == n_lines, (out, err)
    assert [i + 1 for i, a in enumerate(out) if not a] == [bad]
    assert err == err.split("\n")[0] and err.startswith(f"tinygrad-attn: stdin line {bad} refused: ")
    assert fragment in err, err


@pytest.mark.parametrize("data,fragment,answered", [
    (b"1" * (20 << 20), "stdin line 1 goes on for more than 1,048,576 characters", 0),
    (b"1+1\n2+2\n" + b"9" * (20 << 20), "stdin line 3 goes on for more than", 2),
    (b"\n \n\r\n", "nothing to translate: stdin holds no text", 0),
])
def test_endless_line_or_no_text_stops_after_the_answers_before(ck, data, fragment, answered):
    r = translate(ck, data)
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and len(err.split("\n")) == 1 and fragment in err, err
    assert len([a for a in r.stdout.decode().split("\n") if a]) == answered


def test_answers_stream_out_before_stdin_ends(ck):
    """The first chunk's answers arrive while stdin is still open: nothing waits for (or
    holds) the whole input."""
    from tinygrad_attn.cli.commands.translate import CHUNK

    p = subprocess.Popen([sys.executable, "-m", "tinygrad_attn", "translate", "--checkpoint", ck],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=ENV)
    got = []

    def read():
        for _ in range(CHUNK):
            got.append(p.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        p.stdin.write(b"1+1\n" * CHUNK)
        p.stdin.flush()
        reader.join(timeout=90)           # stdin is still open here
        assert len(got) == CHUNK and all(line.endswith(b"\n") for line in got), \
            "no answers before the end of stdin"
    finally:
        p.stdin.close()
        p.wait(timeout=60)
        p.stdout.close()
        p.stderr.close()
    assert p.returncode == 0
