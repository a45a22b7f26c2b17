"""Command-line pieces shared by the example scripts: checked numbers, ``--threads``, and an
output folder that is never overwritten unasked."""
from __future__ import annotations

import argparse
import os


def positive_int(text):
    """``argparse`` type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_threads(p):
    """Add ``--threads N`` (BLAS threads while training; default: the libraries' own)."""
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="BLAS threads for the matrix products (default: the libraries' own, one "
                        "per core unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise; 1 "
                        "is steadier on a machine other jobs keep busy)")


def check_out(p, out, files, overwrite):
    """Refuse (through ``p.error``, exit status 2) an ``out`` folder that already holds any of
    ``files``, unless ``overwrite``; otherwise create the folder."""
    there = [f for f in files if os.path.exists(os.path.join(out, f))]
    if there and not overwrite:
        p.error(f"{out} already holds a run ({', '.join(there)}); choose another --out or pass "
                "--overwrite to replace it")
    os.makedirs(out, exist_ok=True)
