"""Shared helpers for the scripts in ``benchmarks/``.

Timing (warm-up, then the median of several repetitions, optionally interleaving
several contenders so that machine noise hits them alike), peak resident memory,
and output: a human-readable table plus one JSON line that scripts can grep for.

The scripts run from a source checkout without installing the package:
importing this module puts the repository root on ``sys.path``.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import statistics
import sys
import time
from typing import Callable, Iterable, Mapping, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

__all__ = [
    "ROOT", "Timings", "time_once", "time_repeated", "time_interleaved", "median", "peak_rss_mb",
    "try_import_torch", "format_table", "print_table", "json_line", "positive_int",
    "step_parser", "machine_info", "machine_lines", "print_machine",
]


def positive_int(text: str) -> int:
    """``argparse`` type: a strictly positive integer.

    Args:
        text (str): the command-line value.

    Returns:
        int: the parsed value.

    Raises:
        argparse.ArgumentTypeError: when ``text`` is not an integer >= 1.
    """
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


@dataclasses.dataclass
class Timings:
    """Times of the repetitions of one contender, in seconds.

    Attributes:
        wall (list[float]): elapsed wall-clock time of each repetition (``time.perf_counter``).
        cpu (list[float]): CPU time of this process during each repetition
            (``time.process_time``, all threads). Unlike wall time it barely moves when
            other processes compete for the cores, so it is the steadier figure on a
            busy machine.
    """

    wall: list = dataclasses.field(default_factory=list)
    cpu: list = dataclasses.field(default_factory=list)


def step_parser(doc: str, *, steps: int = 20, steps_help: str = "timed steps per contender",
                warmup: int = 3) -> argparse.ArgumentParser:
    """An argument parser for a training-step benchmark, with its timing options.

    Args:
        doc (str): the script's docstring (its first line is the description).
        steps (int): default of ``--steps``; steps_help (str): its help.
        warmup (int): default of ``--warmup`` (untimed rounds first).

    Returns:
        argparse.ArgumentParser: with ``--steps``, ``--warmup`` and ``--batch`` (default 128).
    """
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--steps", type=positive_int, default=steps, help=steps_help)
    p.add_argument("--warmup", type=int, default=warmup, help="untimed rounds first")
    p.add_argument("--batch", type=positive_int, default=128)
    return p


def time_once(fn: Callable[[], object]) -> tuple[float, float]:
    """Run ``fn()`` once after a garbage collection and return its times.

    Args:
        fn: a callable with no arguments.

    Returns:
        tuple[float, float]: ``(wall_seconds, cpu_seconds)``.
    """
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    fn()
    t1 = time.perf_counter()
    c1 = time.process_time()
    return t1 - t0, c1 - c0


def time_repeated(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> Timings:
    """Time ``fn()`` ``repeats`` times after ``warmup`` untimed calls.

    Args:
        fn: a callable with no arguments.
        repeats (int): timed calls (>= 1).
        warmup (int): untimed calls made first (>= 0).

    Returns:
        Timings: the ``repeats`` wall and CPU times in seconds, in call order.

    Raises:
        ValueError: when ``repeats < 1`` or ``warmup < 0``.
    """
    return time_interleaved({"fn": fn}, repeats, warmup)["fn"]


def time_interleaved(fns: Mapping[str, Callable[[], object]], repeats: int = 5,
                     warmup: int = 1) -> dict[str, Timings]:
    """Time several contenders round-robin: ``a, b, a, b, ...`` (after warm-up rounds).

    Interleaving makes slow drifts of the machine (frequency scaling, other
    processes) affect every contender alike, so their ratio is trustworthy.

    Args:
        fns: name -> callable with no arguments.
        repeats (int): timed rounds (>= 1); each round calls every contender once.
        warmup (int): untimed rounds made first (>= 0).

    Returns:
        dict[str, Timings]: name -> the ``repeats`` wall and CPU times in seconds.

    Raises:
        ValueError: when ``repeats < 1``, ``warmup < 0`` or ``fns`` is empty.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"time_interleaved: need repeats >= 1 and warmup >= 0, "
                         f"got repeats={repeats}, warmup={warmup}")
    if not fns:
        raise ValueError("time_interleaved: no functions to time")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: Timings() for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = time_once(fn)
            times[name].wall.append(wall)
            times[name].cpu.append(cpu)
    return times


def median(values: Iterable[float]) -> float:
    """Return the median of ``values`` (a non-empty iterable of numbers)."""
    return statistics.median(list(values))


def peak_rss_mb() -> float | None:
    """Return this process's peak resident set size in MiB, or None when unknown.

    Uses ``resource.getrusage`` (Unix: the true high-water mark), else psutil's
    ``peak_wset`` (Windows), else psutil's current RSS as a lower bound.
    """
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux reports KiB, macOS bytes.
        return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    except (ImportError, OSError):
        pass
    try:
        import psutil

        info = psutil.Process().memory_info()
        return getattr(info, "peak_wset", info.rss) / (1024 * 1024)
    except ImportError:
        return None


def try_import_torch():
    """Return the ``torch`` module, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Format ``rows`` under ``headers`` as an aligned plain-text table.

    Args:
        headers: column titles (length C).
        rows: each a sequence of C cells; floats print with 4 significant digits
            (None prints as ``-``).

    Returns:
        str: the table, lines joined by newlines.

    Raises:
        ValueError: when a row does not have C cells.
    """
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e6 else f"{v:.4e}"
        return str(v)

    body = []
    for i, r in enumerate(rows):
        if len(r) != len(headers):
            raise ValueError(f"format_table: row {i} has {len(r)} cells, expected {len(headers)}")
        body.append([cell(v) for v in r])
    widths = [max([len(h)] + [len(r[j]) for r in body]) for j, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    for r in body:
        lines.append("  ".join(c.rjust(w) if j else c.ljust(w)
                               for j, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title=None) -> None:
    """Print :func:`format_table` output, under ``title`` when given."""
    if title:
        print(title)
    print(format_table(headers, rows))


def _cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        name = " ".join(fields.get("model name\t", "").split())
        family, model = fields.get("cpu family\t", "").strip(), fields.get("model\t\t", "").strip()
        if name:
            return name + (f" (family {family}, model {model})" if family and model else "")
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


_MACHINE = None


def machine_info() -> dict:
    """What a figure was measured on: CPU, BLAS and its kernel, NumPy and PyTorch versions.

    The BLAS libraries loaded in this process come from threadpoolctl (NumPy's OpenBLAS or
    MKL: version, the kernel it picked for this CPU, e.g. ``SkylakeX``, and its thread
    count). PyTorch's version is read from its package metadata without importing it (a
    memory run must not load it); its BLAS and CPU capability are added when this process
    has already imported it.

    Returns:
        dict: ``cpu``, ``cpu_count``, ``python``, ``numpy``, ``blas`` (list of dicts),
        ``torch`` (version or None), ``torch_blas``, ``torch_cpu_capability``, ``load_avg``.
    """
    global _MACHINE
    import importlib.metadata
    import platform

    import numpy

    if _MACHINE is None:
        try:
            from threadpoolctl import threadpool_info

            pools = [{k: p.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                            "architecture", "num_threads", "threading_layer")}
                     for p in threadpool_info()]
        except ImportError:
            pools = []
        try:
            torch_version = importlib.metadata.version("torch")
        except importlib.metadata.PackageNotFoundError:
            torch_version = None
        _MACHINE = {"cpu": _cpu_model(), "cpu_count": os.cpu_count(),
                    "python": platform.python_version(), "numpy": numpy.__version__,
                    "blas": pools, "torch": torch_version}
    info = dict(_MACHINE)
    torch = sys.modules.get("torch")
    if torch is not None:
        config = torch.__config__.show()
        info["torch_blas"] = next((w.split("=", 1)[1].rstrip(",") for w in config.split()
                                   if w.startswith("BLAS_INFO=")), None)
        try:
            info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        except AttributeError:
            info["torch_cpu_capability"] = None
        info["torch_threads"] = torch.get_num_threads()
    try:
        info["load_avg"] = [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        info["load_avg"] = None
    return info


def machine_lines(info=None) -> list:
    """:func:`machine_info` as human-readable lines (CPU; BLAS; versions)."""
    info = machine_info() if info is None else info
    lines = [f"machine: {info['cpu']}, {info['cpu_count']} CPUs; load average {info.get('load_avg')}"]
    pools = []
    for p in info["blas"]:
        if p["user_api"] == "blas":
            name = f"BLAS {p['internal_api']} {p['version'] or ''}".strip()
        else:
            name = f"{p['user_api']} ({p.get('prefix') or p['internal_api']})"
        arch = f", {p['architecture']} kernel" if p.get("architecture") else ""
        pools.append(f"{name}{arch}, {p['num_threads']} threads")
    lines.append("libraries: " + ("; ".join(pools) if pools else "no BLAS pool found (threadpoolctl)"))
    torch_text = info["torch"] or "not installed"
    if info.get("torch_blas") is not None or info.get("torch_cpu_capability") is not None:
        torch_text += (f" (BLAS {info.get('torch_blas')}, CPU capability "
                       f"{info.get('torch_cpu_capability')}, {info.get('torch_threads')} threads)")
    lines.append(f"versions: Python {info['python']}, NumPy {info['numpy']}, PyTorch {torch_text}")
    return lines


def print_machine(info=None) -> None:
    """Print :func:`machine_lines`."""
    for line in machine_lines(info):
        print(line)


def json_line(record: Mapping[str, object]) -> str:
    """Serialize ``record`` as one compact JSON line (floats rounded to 4 decimals).

    A benchmark's record (one with a ``"benchmark"`` key) gets a ``"machine"`` entry
    (:func:`machine_info`) unless it has one, so every figure names its CPU and BLAS.
    """
    if "benchmark" in record and "machine" not in record:
        record = {**record, "machine": machine_info()}

    def clean(v):
        if isinstance(v, float):
            return round(v, 4)
        if isinstance(v, Mapping):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(dict(record)), separators=(", ", ": "))


def cuda_missing(script: str, device: str) -> bool:
    """For ``--device cuda`` without CuPy or a GPU: print why on stderr and return True."""
    if device != "cuda":
        return False
    from tinygrad_attn.backend import gpu_available

    if gpu_available():
        return False
    print(f"{script}: --device cuda needs CuPy and a CUDA device "
          '(pip install "tinygrad-attn[gpu]")', file=sys.stderr)
    return True
