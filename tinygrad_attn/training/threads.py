"""Thread policy: how many threads NumPy's BLAS (OpenBLAS, MKL, ...) may use, set at run time.

NumPy's BLAS starts one thread per core when it loads. On an idle machine that makes the
matrix products of a training step faster; on a small machine that other processes keep
busy, the BLAS threads wait for each other and a step can get many times slower (see
``docs/performance.md``). :func:`limit_threads` changes the limit for a block of code
through `threadpoolctl <https://github.com/joblib/threadpoolctl>`_, which talks to the
BLAS libraries already loaded in the process, so it works after NumPy has been imported
(unlike the ``OPENBLAS_NUM_THREADS`` variable, read once at import).

The :class:`~tinygrad_attn.training.Trainer` (``threads=``) and the ``train``/``eval``
commands (``--threads``) use it. Their default, ``None``, changes nothing: the libraries'
own default (one thread per core, or what ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``
say) stays in force, so a limit set by the user's environment is respected.
"""
from __future__ import annotations

import contextlib
import numbers

__all__ = ["limit_threads", "blas_threads", "check_threads"]


def check_threads(threads, who="threads"):
    """Return ``threads`` as an int (or None), or raise ``ValueError`` naming ``who``.

    Args:
        threads: None (leave the libraries' default) or a positive integer.
        who: the option's name for the message (e.g. ``"--threads"``).
    """
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"{who} must be a positive integer or None (the libraries' default), "
                         f"got {threads!r}")
    return int(threads)


@contextlib.contextmanager
def limit_threads(threads):
    """Limit the BLAS (and OpenMP) thread pools to ``threads`` inside a ``with`` block.

    Args:
        threads: a positive integer, or None to change nothing.

    Raises:
        ValueError: ``threads`` is not None and not a positive integer.

    Example::

        with limit_threads(1):
            trainer.fit(1)     # every matrix product on one thread
    """
    threads = check_threads(threads)
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits  # lazy: only when a limit is asked for

    with threadpool_limits(limits=threads):
        yield


def blas_threads():
    """Return the current thread limit of each BLAS library loaded in this process.

    Returns:
        dict: ``{"openblas": 2, ...}`` (internal API name -> threads); empty when threadpoolctl
        finds no BLAS.
    """
    from threadpoolctl import threadpool_info  # lazy: inspects every loaded BLAS

    return {info["internal_api"]: info["num_threads"] for info in threadpool_info()
            if info.get("user_api") == "blas"}
