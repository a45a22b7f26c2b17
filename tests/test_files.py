"""Run files written atomically and run folders owned: real processes and signals, bounded
in time (tinygrad_attn.files)."""
import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tinygrad_attn import files
from tinygrad_attn.files import atomic_write, clean_stale_temps
from tinygrad_attn.runlock import LOCK_NAME, RunLock, RunLockedError

POSIX = os.name == "posix"
ROOT = POSIX and os.geteuid() == 0


def temps(folder):
    return [n for n in os.listdir(folder) if n.startswith(".tmp-")]


def atomic_write_text(path, text):
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def atomic_write_bytes(path, data):
    with atomic_write(path, "wb") as f:
        f.write(data)


# ----------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_and_keeps_the_mode(tmp_path):
    p = tmp_path / "h.json"
    atomic_write_text(p, "one")
    os.chmod(p, 0o600)
    atomic_write_text(p, "two")
    assert p.read_text() == "two" and (os.stat(p).st_mode & 0o777) == 0o600
    atomic_write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01" and not temps(tmp_path)


def test_an_error_inside_the_block_leaves_the_old_file(tmp_path):
    p = tmp_path / "h.json"
    atomic_write_text(p, "old")
    with pytest.raises(KeyError):
        with atomic_write(p, "w", encoding="utf-8") as f:
            f.write("half")
            raise KeyError("stop")
    assert p.read_text() == "old" and not temps(tmp_path)


def test_a_symlink_is_replaced_never_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    run = tmp_path / "run"
    run.mkdir()
    link = run / "history.json"
    link.symlink_to(outside)
    atomic_write_text(link, "{}")
    assert outside.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "{}"


def test_a_folder_target_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        atomic_write_text(tmp_path / "d", "x")


def test_out_of_space_names_the_file_and_keeps_the_old_version(tmp_path, monkeypatch):
    p = tmp_path / "history.json"
    atomic_write_text(p, "complete")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OSError) as e:
        atomic_write_text(p, "x" * 1000)
    assert e.value.errno == errno.ENOSPC
    assert f"cannot write {p}: No space left on device" in str(e.value)
    assert "unchanged" in str(e.value)
    monkeypatch.undo()
    assert p.read_text() == "complete" and not temps(tmp_path)


@pytest.mark.skipif(not POSIX or ROOT, reason="permissions are not enforced for root")
def test_permission_denied_names_the_file(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        with pytest.raises(PermissionError) as e:
            atomic_write_text(ro / "model.txt", "x")
        assert f"cannot write {ro / 'model.txt'}" in str(e.value)
    finally:
        os.chmod(ro, 0o700)


def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".tmp-{dead}-abc.json"
    live = tmp_path / f".tmp-{os.getpid()}-abc.json"
    stale.write_text("x")
    live.write_text("y")
    assert clean_stale_temps(tmp_path) == [str(stale)]
    assert live.exists()


# ----------------------------------------------------------------------------- kill -9
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill_9_at_random_moments_leaves_a_complete_file(tmp_path):
    """A writer replacing a file again and again is killed 25 times at random moments:
    every time, the file is absent (killed before the first write) or one complete version."""
    target = tmp_path / "history.json"
    versions = {json.dumps({"v": i, "pad": "x" * (50_000 + 997 * i)}) for i in range(4)}
    ordered = sorted(versions)
    rng = random.Random(0)
    seen = set()
    deadline = time.monotonic() + 60
    for trial in range(25):
        assert time.monotonic() < deadline, "the kill -9 loop took too long"
        pid = os.fork()
        if pid == 0:  # the writer
            try:
                i = 0
                while True:
                    atomic_write_text(target, ordered[i % len(ordered)])
                    i += 1
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if target.exists():
            text = target.read_text()
            assert text in versions, f"trial {trial}: a torn file of {len(text)} characters"
            seen.add(text)
    assert seen, "no write ever completed"
    atomic_write_text(target, "{}")  # the next writer cleans the killed writers' temps
    assert not temps(tmp_path)


# ----------------------------------------------------------------------------- run lock
def test_a_second_lock_is_refused_naming_the_file_and_the_pid(tmp_path):
    with RunLock(tmp_path) as lock:
        assert (tmp_path / LOCK_NAME).read_text().startswith(f"pid={os.getpid()}\n")
        with pytest.raises(RunLockedError) as e:
            RunLock(tmp_path).acquire()
        msg = str(e.value)
        assert f"pid {os.getpid()}" in msg and str(tmp_path / LOCK_NAME) in msg and "\n" not in msg
        assert lock.held
    assert not (tmp_path / LOCK_NAME).exists()
    with RunLock(tmp_path):  # free again
        pass


def test_a_symlinked_lock_file_is_refused(tmp_path):
    (tmp_path / "elsewhere").write_text("")
    (tmp_path / LOCK_NAME).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError, match="is a symbolic link"):
        RunLock(tmp_path).acquire()


_HOLDER = """
import sys, time
from tinygrad_attn.runlock import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not POSIX, reason="signals")
def test_a_lock_of_a_killed_owner_is_taken_over(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=f"pid {p.pid}"):
            RunLock(tmp_path).acquire()
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert (tmp_path / LOCK_NAME).exists()  # left behind by the dead owner
    with RunLock(tmp_path) as lock:
        assert lock.took_over == str(p.pid)


_RACER = """
import sys, time
from tinygrad_attn.runlock import RunLock, RunLockedError
while time.time() < float(sys.argv[2]):
    pass
try:
    with RunLock(sys.argv[1]):
        print("won", flush=True)
        time.sleep(1.5)
except RunLockedError as e:
    print("refused", flush=True)
"""


@pytest.mark.skipif(not POSIX, reason="processes")
def test_racing_processes_one_wins(tmp_path):
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(tmp_path), str(start)],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(outs) == ["refused"] * 3 + ["won"], outs
