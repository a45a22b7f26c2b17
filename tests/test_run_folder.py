"""A run folder is owned and its files are never half-written: concurrent trains, kill -9 at
random moments, SIGTERM, symlinks, a full disk (real processes and signals, bounded in time)."""
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tinygrad_attn import files
from tinygrad_attn.cli import main
from tinygrad_attn.runlock import LOCK_NAME, RunLock
from tinygrad_attn.training import load_checkpoint

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
TINY = ["--data", "addition", "--samples", "60", "--hidden", "4", "--wordvec", "3",
        "--batch-size", "30", "--no-progress"]
POSIX = os.name == "posix"


def cli(*argv, timeout=120):
    return subprocess.Popen([sys.executable, "-m", "tinygrad_attn", *map(str, argv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def complete(run):
    """Both run files load completely; returns (config of model.npz, history dict)."""
    _, info = load_checkpoint(run / "model.npz")
    hist = json.loads((run / "history.json").read_text())
    assert isinstance(hist["history"], list) and hist["config"]["model"] == "attention"
    return info.config, hist


def temps(folder):
    return [n for n in os.listdir(folder) if n.startswith(".tmp-")]


# ----------------------------------------------------------------------------- concurrency
@pytest.mark.skipif(not POSIX, reason="signals")
def test_two_trains_into_one_folder_one_is_refused(tmp_path):
    run = tmp_path / "run"
    a = cli("train", *TINY, "--epochs", "100000", "--out", run)
    try:
        deadline = time.monotonic() + 60
        while not (run / LOCK_NAME).exists():  # A owns the folder
            assert a.poll() is None, a.communicate()[1]
            assert time.monotonic() < deadline, "the first train never took the run folder"
            time.sleep(0.05)
        b = cli("train", *TINY, "--epochs", "1", "--out", run, "--overwrite")
        _, err = b.communicate(timeout=120)
        assert b.returncode == 2, err
        err = err.strip()
        assert len(err.split("\n")) == 1, err
        assert f"in use by another run (pid {a.pid}" in err and LOCK_NAME in err
    finally:
        a.send_signal(signal.SIGTERM)   # stops like Ctrl-C: saves its checkpoint first
        _, err_a = a.communicate(timeout=60)
    assert a.returncode == 143 and "terminated" in err_a, err_a
    config, hist = complete(run)          # A's files, complete
    assert config["hidden_size"] == 4 and hist["history"]
    assert not (run / LOCK_NAME).exists() and not temps(run)


@pytest.mark.skipif(not POSIX, reason="signals")
def test_two_trains_started_together_one_wins(tmp_path):
    run = tmp_path / "run"
    procs = [cli("train", *TINY, "--epochs", "100000", "--seed", str(i), "--out", run)
             for i in range(2)]
    try:
        deadline = time.monotonic() + 120
        while all(p.poll() is None for p in procs):
            assert time.monotonic() < deadline, "neither train was refused"
            time.sleep(0.05)
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        err = loser.communicate()[1].strip()
        assert loser.returncode == 2 and len(err.split("\n")) == 1, err
        assert "in use by another run" in err or "already holds a run" in err, err
        assert winner.poll() is None  # still training, undisturbed
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.communicate(timeout=60)


# ----------------------------------------------------------------------------- kill -9
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill_9_at_random_moments_leaves_complete_files(tmp_path, capsys):
    """A train (forked from this process: no start-up cost) is killed 25 times at random
    moments while it rewrites its checkpoint and history every epoch; every time, both files
    are the previous complete version or a new complete one, and the next train takes the
    dead one's lock over."""
    run = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    first, _ = complete(run)
    rng = random.Random(1)
    deadline = time.monotonic() + 90
    epochs_seen = set()
    for trial in range(25):
        assert time.monotonic() < deadline, "the kill -9 loop took too long"
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = main(["train", *TINY, "--epochs", "100000", "--seed", str(trial),
                             "--out", str(run), "--overwrite"])
            finally:
                os._exit(code)
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        config, hist = complete(run)
        assert config == first  # same options: the same config, whichever version it is
        epochs_seen.add(len(hist["history"]))
    capsys.readouterr()
    assert max(epochs_seen) > 1, "no kill ever came after a new epoch was written"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run), "--overwrite"]) == 0
    complete(run)
    assert not (run / LOCK_NAME).exists() and not temps(run)


# ----------------------------------------------------------------------------- links, disks
def test_a_symlinked_history_is_replaced_not_followed(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    outside = tmp_path / "outside.json"
    outside.write_text("precious")
    (run / "history.json").unlink()
    (run / "history.json").symlink_to(outside)
    (run / "model.npz").rename(tmp_path / "elsewhere.npz")
    (run / "model.npz").symlink_to(tmp_path / "elsewhere.npz")
    before = (tmp_path / "elsewhere.npz").read_bytes()
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run), "--overwrite"]) == 0
    assert outside.read_text() == "precious"
    assert (tmp_path / "elsewhere.npz").read_bytes() == before
    assert not (run / "history.json").is_symlink() and not (run / "model.npz").is_symlink()
    complete(run)


@pytest.mark.parametrize("error,fragment", [(errno.ENOSPC, "No space left on device"),
                                            (errno.EACCES, "Permission denied")])
def test_a_full_disk_or_no_permission_names_the_file(tmp_path, monkeypatch, capsys, error,
                                                       fragment):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    before = (run / "history.json").read_text()
    capsys.readouterr()

    real_fsync = os.fsync

    def fail(fd):  # the data files' temporaries fail; the lock file is written fine
        if not os.path.exists(f"/proc/self/fd/{fd}"):
            pytest.skip("needs /proc/self/fd to tell the files apart")
        if ".tmp-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(error, os.strerror(error))
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fail)
    code = main(["train", *TINY, "--epochs", "1", "--out", str(run), "--overwrite"])
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.split("\n")) == 1, err
    assert fragment in err and str(run / "model.npz") in err and "unchanged" in err, err
    assert (run / "history.json").read_text() == before
    complete(run)
    assert not temps(run) and not (run / LOCK_NAME).exists()


def test_a_lock_file_that_cannot_be_written_is_named(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    code = main(["train", *TINY, "--epochs", "1", "--out", str(run)])
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"cannot write the lock file {run / LOCK_NAME}" in err, err
    assert "No space left on device" in err and len(err.split("\n")) == 1


def test_the_lock_is_released_when_training_fails(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    with RunLock(run):
        assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 2
    assert "in use by another run" in capsys.readouterr().err
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    assert not (run / LOCK_NAME).exists()
