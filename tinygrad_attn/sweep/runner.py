"""One run of a sweep, as a worker executes it: the ``train`` command in a private folder.

:func:`train_run` is what the sweep sends to the cluster. It parses the run's arguments with
the ``train`` command's parser and calls the command's own ``run`` — the same code path as
``tinygrad-attn train`` — with ``--out`` pointing to a fresh temporary folder *on the worker*.
When training ends it reads the run's files back and returns their bytes, so the machine that
started the sweep writes them into its output folder: workers need no shared disk, and a run
that dies leaves nothing half-written in the sweep's folder.

It never raises for a run that fails: the error comes back as text, so one bad run does not
stop the others.
"""
from __future__ import annotations

import contextlib
import io
import os
import platform
import shutil
import tempfile
import time

__all__ = ["train_run", "RUN_FILES", "TEMP_PREFIX"]

RUN_FILES = ("model.npz", "history.json")
"""The files of a finished run (those the ``train`` command writes)."""
TEMP_PREFIX = "tinygrad-attn-run-"
"""Prefix of a run's temporary folder on its worker: ``tinygrad-attn-run-<pid>-...``."""


def _clean_stale_folders():
    """Remove run folders that workers which died (killed, or stopped by Ctrl-C) left behind."""
    from ..files import pid_alive

    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(TEMP_PREFIX):
            continue
        pid = name[len(TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def train_run(argv, threads=1):
    """Train one run with the ``train`` command's code path; return its files and log.

    Args:
        argv: the run's ``train`` arguments without ``--out`` (e.g. from :class:`~.plan.Run`).
        threads: BLAS threads for the run (``--threads``) unless ``argv`` sets its own;
            None leaves the libraries' default.

    Returns:
        dict: ``ok`` (bool), ``files`` (``{name: bytes}`` of every file the run wrote, when
        ok: :data:`RUN_FILES`, and ``model-last.npz`` with ``--keep best``),
        ``error`` (one line, when not ok), ``log`` (what the command printed), ``seconds``
        (wall time of the run), ``host`` (the worker's machine), ``version`` (the worker's
        tinygrad_attn).
    """
    import tinygrad_attn

    from ..cli.main import _UsageError
    from ..cli.train_run import run_training
    from ..cli.values import CLIError
    from .plan import train_parser

    argv = [str(a) for a in argv]
    if threads is not None and not any(a == "--threads" or a.startswith("--threads=")
                                       for a in argv):
        argv += ["--threads", str(int(threads))]
    result = {"ok": False, "files": {}, "error": None, "log": "", "seconds": 0.0,
              "host": platform.node(), "version": tinygrad_attn.__version__}
    _clean_stale_folders()
    tmp = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
    out = os.path.join(tmp, "run")
    log = io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(log):
            args = train_parser().parse_args([*argv, "--out", out, "--no-progress"])
            run_training(args)
        # every file the run wrote (model.npz, history.json, model-last.npz with --keep best);
        # hidden ones (the run lock) stay behind
        for name in sorted(os.listdir(out)):
            path = os.path.join(out, name)
            if not name.startswith(".") and os.path.isfile(path):
                with open(path, "rb") as f:
                    result["files"][name] = f.read()
        result["ok"] = True
    except (_UsageError, CLIError) as e:
        result["error"] = " ".join(str(e).split())
    except MemoryError:
        result["error"] = "out of memory: the model or data is too large for this worker"
    except Exception as e:  # a failing run is reported, never raised: the others go on
        result["error"] = " ".join(f"{type(e).__name__}: {e}".split())
    finally:
        result["seconds"] = time.perf_counter() - t0
        result["log"] = log.getvalue()[-20_000:]
        shutil.rmtree(tmp, ignore_errors=True)
    return result
