"""The exclusive lock of a run folder: one writer at a time, a dead writer's lock taken over.

``with RunLock(folder): ...`` holds ``folder/.tinygrad-attn.lock``: the lock file holds the
owner's pid; a second writer (in this process or another) is refused with one line naming
the lock file and that pid while the owner lives, and takes the lock over once the owner is
gone. On POSIX systems the operating system's ``flock`` does the locking, so a lock is
released the moment its process dies, ``kill -9`` included; elsewhere the pid in the file is
checked.

This module imports only the standard library.
"""
from __future__ import annotations

import contextlib
import errno
import os
import socket
import time

from .files import pid_alive

try:  # POSIX: flock locks die with their process
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["RunLock", "RunLockedError", "LOCK_NAME"]

LOCK_NAME = ".tinygrad-attn.lock"
"""The lock file inside a run folder."""


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
                raise type(e)(e.errno, f"cannot create the lock file {self.path}: "
                              f"{e.strerror or e}", self.path) from e
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
                try:
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    os.write(fd, body)
                    os.fsync(fd)
                except OSError as e:  # e.g. a full disk: name the file
                    raise type(e)(e.errno, f"cannot write the lock file {self.path}: "
                                           f"{e.strerror or e}") from e
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
        return not (owner.isdigit() and int(owner) != os.getpid() and pid_alive(int(owner)))

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
