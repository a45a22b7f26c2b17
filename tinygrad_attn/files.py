"""Writing the files of a run safely: atomic replacement, no link followed, one owner.

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
* :class:`RunLock`: an exclusive lock on a run folder. The lock file holds the owner's pid;
  a second writer is refused with one line naming the lock file and that pid while the owner
  lives, and takes the lock over once the owner is gone (the operating system releases the
  lock of a dead process, ``kill -9`` included).

This module sits low (it imports only :mod:`tinygrad_attn.validate`-level code), so the
checkpoint writer, the training loop, the pictures and the command line all use it.
"""
from __future__ import annotations

import contextlib
import errno
import os
import socket
import tempfile
import time

try:  # POSIX: flock locks die with their process
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["atomic_open", "atomic_write_text", "atomic_write_bytes", "clean_stale_temps",
           "file_mode", "RunLock", "RunLockedError", "LOCK_NAME", "TEMP_PREFIX"]

TEMP_PREFIX = ".tmp-"
"""Temporary files are named ``.tmp-<pid>-<random><suffix>`` next to their target."""
LOCK_NAME = ".tinygrad-attn.lock"
"""The lock file inside a run folder."""
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


# ----------------------------------------------------------------------------- run lock
class RunLockedError(RuntimeError):
    """The run folder is held by another living process (the message names it)."""


def _read_owner(fd) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        lines = os.read(fd, 4096).decode("utf-8", "replace").split("\n")
    except OSError:
        return {}
    out = {}
    for ln in lines:
        k, _, v = ln.partition("=")
        if k.strip():
            out[k.strip()] = v.strip()
    return out


class RunLock:
    """An exclusive lock on a run folder (a context manager).

    ``with RunLock(folder): ...`` creates (or takes over) ``folder/.tinygrad-attn.lock``,
    writes ``pid=...``, ``host=...`` and ``started=...`` into it and holds an operating-system
    lock on it (``flock``) until the block ends; then the file is removed. A second
    ``RunLock`` on the same folder, in this process or another, raises
    :class:`RunLockedError` naming the lock file and the owner's pid. A lock file left by a
    process that died (even by ``kill -9``) holds no operating-system lock any more and is
    taken over (:attr:`took_over` names the dead owner's pid).

    Args:
        folder: the run folder (it must exist).
        what: how the message calls the folder's user (``"run"``).

    Raises:
        RunLockedError: on enter, when another living process holds the folder.
        OSError: the lock file cannot be created (naming it); it is a symbolic link.
    """

    def __init__(self, folder, what="run"):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, LOCK_NAME)
        self.what = what
        self.fd = None
        self.took_over = None

    def _refuse(self, owner):
        pid = owner.get("pid", "?")
        since = owner.get("started", "")
        host = owner.get("host", "")
        where = f" on {host}" if host and host != socket.gethostname() else ""
        raise RunLockedError(
            f"{self.folder} is in use by another {self.what} (pid {pid}{where}"
            f"{', since ' + since if since else ''}; lock file {self.path}); wait for it to "
            "finish or choose another folder")

    def acquire(self):
        """Take the lock (see the class docstring); returns self."""
        if self.fd is not None:
            raise RuntimeError(f"RunLock: {self.path} is already held by this object")
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        for _ in range(20):
            try:
                fd = os.open(self.path, flags, 0o644)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise OSError(errno.ELOOP, f"the lock file {self.path} is a symbolic link; "
                                  "refused (remove it)", self.path) from None
                raise _named_error(e, self.path, "lock file") from e
            try:
                if not self._lock_fd(fd):
                    self._refuse(_read_owner(fd))
                try:  # the file we locked must still be the one at the path
                    same = os.path.samestat(os.lstat(self.path), os.fstat(fd))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
                old = _read_owner(fd).get("pid")
                self.took_over = old if old and old != str(os.getpid()) else None
                body = (f"pid={os.getpid()}\nhost={socket.gethostname()}\n"
                        f"started={time.strftime('%Y-%m-%d %H:%M:%S')}\n").encode()
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, body)
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                raise
            self.fd = fd
            return self
        raise RunLockedError(f"{self.folder}: could not take the lock file {self.path} (it keeps "
                             "being replaced by another process)")

    def _lock_fd(self, fd) -> bool:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
            except OSError as e:  # e.g. a file system without flock: fall back to the pid
                if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
        owner = _read_owner(fd).get("pid", "")
        return not (owner.isdigit() and int(owner) != os.getpid() and _pid_alive(int(owner)))

    def release(self):
        """Remove the lock file and release the lock (nothing when not held)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            with contextlib.suppress(OSError):
                if os.path.samestat(os.lstat(self.path), os.fstat(fd)):
                    os.unlink(self.path)  # while still holding it: nobody can take the old one
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self.fd is not None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False

    def __repr__(self):
        return f"RunLock({self.folder!r}, held={self.held})"
