"""The door to Dask distributed: a local cluster or a running scheduler, and the runs sent to it.

Dask is imported here only, when a sweep has runs to train (building the table of a finished
sweep needs none of it). Without an address, :func:`connect` starts a
``distributed.LocalCluster`` on this machine: one worker *process* per run slot, one thread
each (Dask's nannies also start every worker with ``OMP/MKL/OPENBLAS_NUM_THREADS=1``, and
every run gets ``--threads 1``), so parallel runs do not fight over the cores. With an
address it connects to a scheduler started with ``dask scheduler``, whose workers (``dask
worker ADDRESS``) may be on other machines.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import uuid
import warnings

__all__ = ["MissingExtraError", "connect", "submit_runs", "as_completed", "default_workers"]

EXTRA_HINT = 'pip install "tinygrad-attn[cluster]"'


class MissingExtraError(ImportError):
    """The cluster extra (Dask distributed) is not installed."""


def _dask():
    try:
        import distributed
    except ImportError as e:
        raise MissingExtraError(
            f"sweeps run on Dask distributed, which is not installed: {EXTRA_HINT}") from e
    return distributed


def default_workers() -> int:
    """The cores this process may use (``os.sched_getaffinity`` where it exists)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _sigint_ignored():
    """Start local worker processes with Ctrl-C ignored: the sweep itself stops them cleanly."""
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread (e.g. a notebook's worker thread): leave it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def connect(address=None, workers=None, n_runs=None):
    """A ``distributed.Client``: to the scheduler at ``address``, or to a new local cluster.

    Args:
        address: a scheduler address (``tcp://host:8786``) or None for a local cluster.
        workers: local worker processes (default: one per core); ignored with an address.
        n_runs: runs to do (no more local workers than that are started).

    Yields:
        ``(client, description)``; the local cluster is closed on leaving.

    Raises:
        MissingExtraError: Dask distributed is not installed.
        ConnectionError: the scheduler at ``address`` cannot be reached (within 20 s).
    """
    distributed = _dask()
    if address is not None:
        try:
            client = distributed.Client(address, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise ConnectionError(f"--address {address}: cannot reach a Dask scheduler there "
                                  f"({type(e).__name__}: {e}); start one with `dask scheduler`"
                                  ) from None
        try:
            n = len(client.scheduler_info().get("workers", {}))
            yield client, f"the scheduler at {address} ({n} workers now)"
        finally:
            client.close()
        return
    n = workers or default_workers()
    if n_runs:
        n = max(1, min(n, n_runs))
    with _sigint_ignored(), warnings.catch_warnings():
        # the scheduler's HTTP server moves to a free port when another cluster holds 8787
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster)
        try:
            yield client, f"a local cluster of {n} worker process{'es' if n > 1 else ''}"
        finally:
            client.close()
    finally:
        cluster.close()


def submit_runs(client, runs, threads=1):
    """Send every run to the cluster; return ``{future: run}``.

    Each future computes :func:`~tinygrad_attn.sweep.runner.train_run` for the run's argv.
    A worker that dies mid-run is replaced and its run retried by Dask (up to the scheduler's
    ``allowed-failures``, 3 by default).
    """
    from .runner import train_run

    tag = uuid.uuid4().hex[:8]
    return {client.submit(train_run, list(run.argv), threads, pure=False,
                          key=f"tinygrad-attn-train-{run.folder}-{tag}"): run for run in runs}


def as_completed(futures):
    """Dask's ``as_completed`` over ``futures`` (each future once, as it finishes)."""
    return _dask().as_completed(list(futures))
