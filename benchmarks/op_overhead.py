"""Per-op overhead of the engine: a long chain of tiny element-wise ops, forward + backward.

The workload is ``y = tanh(y * w + b)`` repeated ``--steps`` times on 4x4 float64
arrays, with the same Parameters ``w`` and ``b`` at every step, then
``y.sum().backward()``. The arrays are so small that the arithmetic costs next to
nothing: the time measured is the framework's own Python (or C++) bookkeeping per
op -- building Functions and Variables, recording the graph, ordering and running
the backward pass, accumulating the gradients of ``w`` and ``b``.

When PyTorch is importable the same chain runs in PyTorch (CPU, float64) in the
same process, repetitions interleaved (ours, torch, ours, torch, ...), and the
ratio ours/torch is reported. Gradients of the two are compared first, so both
really do the same work.

The headline figures are wall-clock medians; the CPU-time medians of the same
repetitions are reported beside them (``*_cpu_us_per_step``, ``cpu_ratio``) and are
the steadier figures when other processes compete for the cores.

Usage::

    python benchmarks/op_overhead.py [--steps 2000] [--repeats 11] [--warmup 2] [--json]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import (json_line, print_machine, median, peak_rss_mb, positive_int, print_table,
                     time_interleaved, try_import_torch)

import tinygrad_attn as ta  # noqa: E402  (path set up by _common)
from tinygrad_attn import functions as F  # noqa: E402


def make_inputs(seed: int = 0):
    """Return the host arrays ``(x0, w, b)``, each of shape (4, 4), float64."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((4, 4))
    w = rng.standard_normal((4, 4)) * 0.5
    b = rng.standard_normal((4, 4)) * 0.1
    return x0, w, b


def ours_chain(x0, w, b, steps: int):
    """Build a closure running the chain forward + backward with tinygrad_attn.

    Args:
        x0: start value, array (4, 4).
        w, b: Parameter values, arrays (4, 4).
        steps (int): chain length.

    Returns:
        tuple: ``(run, params)``; ``run()`` clears the grads and runs one forward + backward,
        ``params`` is ``(w, b)`` as Parameters whose ``.grad`` holds the result.
    """
    pw, pb = ta.Parameter(w.copy(), name="w"), ta.Parameter(b.copy(), name="b")
    tanh = F.tanh

    def run():
        pw.cleargrad()
        pb.cleargrad()
        y = ta.Variable(x0)
        for _ in range(steps):
            y = tanh(y * pw + pb)
        y.sum().backward()

    return run, (pw, pb)


def torch_chain(torch, x0, w, b, steps: int):
    """Build the same closure as :func:`ours_chain` in PyTorch (CPU, float64).

    Args:
        torch: the ``torch`` module.
        x0: start value, array (4, 4).
        w, b: parameter values, arrays (4, 4).
        steps (int): chain length.

    Returns:
        tuple: ``(run, params)`` with ``params`` the leaf tensors ``(w, b)``.
    """
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tx = torch.tensor(x0, dtype=torch.float64)
    tanh = torch.tanh

    def run():
        tw.grad = None
        tb.grad = None
        y = tx
        for _ in range(steps):
            y = tanh(y * tw + tb)
        y.sum().backward()

    return run, (tw, tb)


def parse_args(argv=None):
    """Parse the command line (see the module docstring).

    Args:
        argv (list[str], optional): arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: ``steps``, ``repeats``, ``warmup``, ``no_torch``, ``json``.
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=positive_int, default=2000, help="chain length (default 2000)")
    p.add_argument("--repeats", type=positive_int, default=11,
                   help="timed repetitions per framework; the median is reported (default 11)")
    p.add_argument("--warmup", type=int, default=2, help="untimed repetitions first (default 2)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    return args


def main(argv=None) -> int:
    """Run the benchmark and print its table and JSON line.

    Args:
        argv (list[str], optional): command-line arguments; ``sys.argv[1:]`` when None.

    Returns:
        int: the exit status: 0, or 1 when our gradients differ from PyTorch's.
    """
    args = parse_args(argv)
    x0, w, b = make_inputs()
    fns = {}
    ours_run, ours_params = ours_chain(x0, w, b, args.steps)
    fns["ours"] = ours_run
    torch = None if args.no_torch else try_import_torch()
    if torch is not None:
        torch_run, torch_params = torch_chain(torch, x0, w, b, args.steps)
        fns["torch"] = torch_run
        # Same work: the gradients must agree before timing means anything.
        ours_run()
        torch_run()
        for p, t in zip(ours_params, torch_params):
            if not np.allclose(p.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12):
                print(f"op_overhead: gradient of {p.name} differs from PyTorch's", file=sys.stderr)
                return 1

    times = time_interleaved(fns, repeats=args.repeats, warmup=args.warmup)
    per_step = 1e6 / args.steps  # seconds per run -> microseconds per step
    us = {k: median(t.wall) * per_step for k, t in times.items()}
    cpu_us = {k: median(t.cpu) * per_step for k, t in times.items()}
    torch_us = us.get("torch")
    torch_cpu_us = cpu_us.get("torch")

    record = {
        "benchmark": "op_overhead",
        "ours_us_per_step": us["ours"],
        "torch_us_per_step": torch_us,
        "ratio": us["ours"] / torch_us if torch_us else None,
        "ours_cpu_us_per_step": cpu_us["ours"],
        "torch_cpu_us_per_step": torch_cpu_us,
        "cpu_ratio": cpu_us["ours"] / torch_cpu_us if torch_cpu_us else None,
        "steps": args.steps,
        "repeats": args.repeats,
        "peak_rss_mb": peak_rss_mb(),
    }
    if not args.json:
        rows = [[k, us[k], min(t.wall) * per_step, max(t.wall) * per_step, cpu_us[k]]
                for k, t in times.items()]
        print_table(["framework", "us/step (median)", "min", "max", "CPU us/step (median)"], rows,
                    title=f"op_overhead: y = tanh(y * w + b), {args.steps} steps of 4x4 float64, "
                          f"forward + backward, {args.repeats} repeats")
        if torch_us:
            print(f"ratio ours/torch: {record['ratio']:.2f}x wall time, "
                  f"{record['cpu_ratio']:.2f}x CPU time")
        else:
            print("ratio ours/torch: - (PyTorch not run)")
    if not args.json:
        print_machine()
    print(json_line(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
