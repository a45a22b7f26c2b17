"""Writing files safely: every file the library writes goes through :func:`atomic_write`.

A write goes to a temporary file ``.tmp-<pid>-*`` in the destination's folder, is flushed
and fsync'ed, gets the destination's permissions (those of the file it replaces, or
``0666`` minus the umask for a new one), and is then renamed over the destination: an
interruption at any moment (Ctrl-C, kill -9, a full disk) leaves either the previous
complete file or the new complete file, never a half-written one. Temporary files of
writers that died are removed by the next write in the same folder.

This module imports only the standard library; it sits on the ground floor beside
:mod:`tinygrad_attn.backend`.
"""
from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager

__all__ = ["write_file", "atomic_write", "file_mode", "clean_stale_temps", "pid_alive"]

_STALE_AGE_S = 3600.0  # a temp file without a readable pid is stale after an hour


def file_mode(path) -> int:
    """Mode for a written file: keep an existing file's, else ``0666`` minus the umask.

    A symbolic link's target is never consulted: a link is replaced like a missing file.
    """
    try:
        st = os.lstat(path)
        if not os.path.islink(path):
            return st.st_mode & 0o7777
        raise FileNotFoundError(path)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_temps(folder) -> list[str]:
    """Remove ``.tmp-<pid>-*`` files left in ``folder`` by writers that are gone; return them.

    A temporary file named ``.tmp-<pid>-...`` is stale when that process no longer runs;
    one without a pid (older versions) when it is more than an hour old.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not name.startswith(".tmp-") or name.startswith(".tmp-probe-"):
            continue
        p = os.path.join(folder, name)
        pid = name[5:].split("-", 1)[0]
        try:
            stale = (not pid_alive(int(pid))) if pid.isdigit() and "-" in name[5:] else \
                now - os.stat(p).st_mtime > _STALE_AGE_S
            if stale and os.path.isfile(p) and not os.path.islink(p):
                os.unlink(p)
                removed.append(p)
        except OSError:
            pass
    return removed


@contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None, newline: str | None = None):
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    Usage::

        with atomic_write("runs/x/history.json", "w", encoding="utf-8") as f:
            json.dump(obj, f)

    If the block raises (or the process is interrupted), ``path`` is untouched and the
    temporary file is removed. A symbolic link at ``path`` is replaced by the new file,
    never followed (nothing outside the folder is written).

    Raises:
        ValueError: ``path`` is a folder.
        OSError: the folder cannot be written; the message names ``path``.
    """
    path = os.fspath(path)
    if os.path.isdir(path) and not os.path.islink(path):
        raise ValueError(f"{path} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    clean_stale_temps(folder)
    suffix = os.path.splitext(path)[1]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix=suffix, dir=folder)
    except OSError as e:
        raise type(e)(e.errno, f"cannot write {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode(path))
        os.replace(tmp, path)
        _fsync_dir(folder)  # the rename itself survives a power cut
    except OSError as e:
        _unlink(tmp)
        if e.strerror and path not in str(e):
            raise type(e)(e.errno, f"cannot write {path}: {e.strerror} (the previous version, "
                                   "if any, is unchanged)") from e
        raise
    except BaseException:
        _unlink(tmp)
        raise


def _fsync_dir(folder):
    """Flush a folder's entries to disk (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink(p):
    try:
        os.unlink(p)
    except OSError:
        pass


def write_file(path, data, *, overwrite: bool = True) -> None:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` through :func:`atomic_write`,
    creating the folder; with ``overwrite=False`` an existing file is refused.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        ValueError: ``path`` is a folder.
        OSError: the folder cannot be written (the message names ``path``).
    """
    path = os.fspath(path)
    if not overwrite and os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    if isinstance(data, str):
        data = data.encode("utf-8")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, "wb") as f:
        f.write(data)
