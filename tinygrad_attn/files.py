"""Writing the files of a run safely: atomic replacement, no link followed.

* :func:`atomic_open` / :func:`atomic_write_text` / :func:`atomic_write_bytes`: a file is
  written to a temporary file ``.tmp-<pid>-...`` in the same folder, flushed to disk
  (``fsync``), and renamed over the target. An interruption at any moment (Ctrl-C, SIGTERM,
  ``kill -9``, a full disk) leaves either the previous complete file or the new complete
  file, never a truncated one. The rename replaces a symbolic link at the target by the new
  file; it never writes through the link to the file it points to. An ``OSError`` (no space
  left, permission denied, ...) names the file being written and says that nothing was
  replaced.
* :func:`clean_stale_temps`: temporary files of writers that were killed are removed by the
  next writer in that folder.

This module sits low (it imports only :mod:`tinygrad_attn.validate`-level code), so the
checkpoint writer, the training loop, the pictures and the command line all use it.
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time

__all__ = ["atomic_open", "atomic_write_text", "atomic_write_bytes", "clean_stale_temps",
           "file_mode", "TEMP_PREFIX"]

TEMP_PREFIX = ".tmp-"
"""Temporary files are named ``.tmp-<pid>-<random><suffix>`` next to their target."""
_STALE_AGE_S = 3600.0  # a temp file without a readable pid is stale after an hour


def file_mode(path) -> int:
    """Mode for a written file: keep an existing regular file's, else ``0666`` minus the umask.

    A symbolic link's target is not consulted (the link is replaced, not followed).
    """
    try:
        st = os.lstat(path)
        if not os.path.islink(path):
            return st.st_mode & 0o7777
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_temps(folder, suffix="") -> list[str]:
    """Remove ``.tmp-<pid>-*<suffix>`` files in ``folder`` whose writer is gone; return them.

    A temporary file whose pid no longer runs is stale; one without a pid when it is more
    than an hour old. Only regular files are removed (never a link or a folder).
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not (name.startswith(TEMP_PREFIX) and name.endswith(suffix)):
            continue
        p = os.path.join(folder, name)
        rest = name[len(TEMP_PREFIX):]
        pid = rest.split("-", 1)[0]
        try:
            st = os.lstat(p)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            stale = (not _pid_alive(int(pid))) if pid.isdigit() and "-" in rest else \
                now - st.st_mtime > _STALE_AGE_S
            if stale:
                os.unlink(p)
                removed.append(p)
        except (OSError, ValueError):
            pass
    return removed


def _named_error(e: OSError, path, what) -> OSError:
    """The same error, naming the file and saying that nothing was replaced."""
    reason = e.strerror or str(e)
    return type(e)(e.errno, f"{reason} while writing {what} {path} (the previous version, if "
                            "any, is unchanged)", path) if e.errno else \
        OSError(f"{reason} while writing {what} {path}")


def _fsync_dir(folder):
    """Make a rename in ``folder`` durable (best effort: not every system can open folders)."""
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


@contextlib.contextmanager
def atomic_open(path, mode="wb", encoding=None, what="file"):
    """Open a temporary file to be renamed over ``path`` when the ``with`` block succeeds.

    Args:
        path: the target file. Its folder must exist.
        mode: ``"wb"`` or ``"w"`` (text, then ``encoding`` defaults to UTF-8).
        encoding: the text encoding.
        what: the file's role for error messages (``"history"``, ``"checkpoint"``).

    Yields:
        The open temporary file. If the block raises, the temporary file is removed and
        ``path`` is untouched.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        OSError: writing failed (no space, permissions, ...); the message names ``path``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    if os.path.isdir(path) and not os.path.islink(path):
        raise IsADirectoryError(errno.EISDIR, f"{path} is a folder; cannot write the {what} "
                                "there", path)
    folder = os.path.dirname(os.path.abspath(path))
    clean_stale_temps(folder)
    suffix = os.path.splitext(path)[1]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix,
                                   dir=folder)
    except OSError as e:
        raise _named_error(e, path, what) from e
    done = False
    try:
        kw = {"encoding": encoding or "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode(path))
        os.replace(tmp, path)   # replaces a link at `path` by the file: never follows it
        done = True
        _fsync_dir(folder)
    except OSError as e:
        raise _named_error(e, path, what) from e
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write_bytes(path, data: bytes, what="file") -> None:
    """Replace ``path`` by ``data`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb", what=what) as f:
        f.write(data)


def atomic_write_text(path, text: str, what="file", encoding="utf-8") -> None:
    """Replace ``path`` by ``text`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "w", encoding=encoding, what=what) as f:
        f.write(text)
