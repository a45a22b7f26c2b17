"""How our training step grows with the input length: time and peak memory against T_in.

Model and step as in ``train_step.py`` (attention seq2seq, float32, vocabulary 59,
embedding 16, Adam + clipping at 5.0, 10 decoder steps), for input lengths T_in in
8, 16, 32, 64, 128, 256 by default.

* **Time**: one model per length, all built in one process from the same seeded weights;
  their steps run **interleaved** (T=8, T=16, ..., T=256, T=8, ...) after warm-up rounds, so
  load from other processes spreads over all lengths alike. The median ms/step is reported
  with ms per input step, and a least-squares line ``ms = a + b * T_in`` with its R^2: a
  linear cost (R^2 near 1, ``b`` = the cost of one more encoder step) is what a recurrent
  encoder with one attention pass over hs should show.
* **Memory**: one subprocess per length (``--only-length T``) runs a few steps of that
  length alone and reports its peak RSS (``VmHWM``) and the RSS before the model was built;
  the growth above that baseline is fitted the same way (the graph keeps O(T_in) activations).

Usage::

    python benchmarks/scaling.py                       # batch 128, hidden 256, 5 steps per length
    python benchmarks/scaling.py --batch 32 --lengths 8 16 32 64
    python benchmarks/scaling.py --json                # only the JSON line
"""
from __future__ import annotations

import os
import sys

import train_step  # noqa: F401  (first: it applies --threads before NumPy loads)
import numpy as np  # noqa: E402

from _common import (ROOT, cuda_missing, json_line, print_machine, median, positive_int, print_table,  # noqa: E402
                     step_parser, time_interleaved)
from train_step import (T_OUT, build_ours, cpu_times, load_average, make_batches,  # noqa: E402
                        ours_step_fn, process_peak_rss_mb, run_json_subprocess, thread_settings,
                        wall_times)

DEFAULT_LENGTHS = (8, 16, 32, 64, 128, 256)


def linear_fit(xs, ys):
    """Least-squares line through the points ``(xs[i], ys[i])``.

    Args:
        xs, ys: sequences of K >= 2 numbers (K >= 3 for a meaningful R^2).

    Returns:
        dict: ``{"a": intercept, "b": slope, "r2": coefficient of determination}``
        (``r2`` is 1.0 when all ``ys`` are equal and the line fits them exactly).

    Raises:
        ValueError: fewer than 2 points, different lengths, or all ``xs`` equal.
    """
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"linear_fit: need two 1-D sequences of the same length >= 2, "
                         f"got {x.shape} and {y.shape}")
    if np.ptp(x) == 0:
        raise ValueError(f"linear_fit: all x are equal ({x[0]}); the slope is undefined")
    b, a = np.polyfit(x, y, 1)
    resid = y - (a + b * x)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    ss_res = float((resid ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {"a": float(a), "b": float(b), "r2": r2}


def run_only_length(args):
    """``--only-length T``: one length alone; prints one JSON line with ms/step and peak RSS."""
    import tinygrad_attn_models  # noqa: F401
    import tinygrad_attn  # noqa: F401

    import_rss = process_peak_rss_mb()
    T = args.only_length
    batches = make_batches(args.batch, t_in=T, seed=args.seed)
    model = build_ours(args.hidden, seed=args.seed)
    if args.device == "cuda":
        model.to_gpu()
    step = ours_step_fn(model, batches, args.device)
    t = time_interleaved({"T": step}, args.steps, args.warmup)["T"]
    cpu = cpu_times(t)
    print(json_line({"benchmark": "scaling_only", "t_in": T, "batch": args.batch,
                     "hidden": args.hidden, "ms": 1000 * median(wall_times(t)),
                     "cpu_ms": None if cpu is None else 1000 * median(cpu),
                     "import_rss_mb": import_rss, "peak_rss_mb": process_peak_rss_mb()}))
    return 0


def run_main(args):
    """Interleaved timing over all lengths, then one memory subprocess per length."""
    lengths = sorted(set(args.lengths))
    load_before = load_average()
    steps = {}
    for T in lengths:
        model = build_ours(args.hidden, seed=args.seed)
        if args.device == "cuda":
            model.to_gpu()
        steps[T] = ours_step_fn(model, make_batches(args.batch, t_in=T, seed=args.seed), args.device)
    times = time_interleaved(steps, args.steps, args.warmup)
    load_after = load_average()
    del steps
    ms = {T: 1000 * median(wall_times(times[T])) for T in lengths}
    cpu_ms = {T: 1000 * median(cpu_times(times[T])) for T in lengths if cpu_times(times[T])}

    peak, base = {}, {}
    if not args.no_rss:
        for T in lengths:
            argv = [os.path.basename(__file__), "--only-length", str(T), "--steps",
                    str(args.rss_steps), "--warmup", "1", "--batch", str(args.batch),
                    "--hidden", str(args.hidden), "--device", args.device, "--seed", str(args.seed)]
            if args.threads:
                argv += ["--threads", str(args.threads)]
            rec = run_json_subprocess(argv)
            peak[T], base[T] = rec["peak_rss_mb"], rec["import_rss_mb"]

    fit_ms = linear_fit(lengths, [ms[T] for T in lengths]) if len(lengths) >= 2 else None
    fit_cpu = (linear_fit(lengths, [cpu_ms[T] for T in lengths])
               if len(lengths) >= 2 and len(cpu_ms) == len(lengths) else None)
    fit_mem = (linear_fit(lengths, [peak[T] - base[T] for T in lengths])
               if len(lengths) >= 2 and peak else None)
    record = {
        "benchmark": "scaling", "device": args.device, "batch": args.batch, "hidden": args.hidden,
        "t_out": T_OUT, "dtype": "float32", "steps": args.steps, "warmup": args.warmup,
        "lengths": lengths,
        "ms": [ms[T] for T in lengths],
        "cpu_ms": [cpu_ms[T] for T in lengths] if len(cpu_ms) == len(lengths) else None,
        "peak_rss_mb": [peak[T] for T in lengths] if peak else None,
        "import_rss_mb": [base[T] for T in lengths] if base else None,
        "fit_ms": fit_ms, "fit_cpu_ms": fit_cpu, "fit_rss_mb": fit_mem,
        "threads_option": args.threads, "thread_env": thread_settings(),
        "cpu_count": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": load_after,
    }
    if not args.json:
        print(f"scaling: our attention seq2seq training step vs input length, float32, batch "
              f"{args.batch}, H={args.hidden}, T_out={T_OUT}; {args.steps} interleaved steps "
              f"per length after {args.warmup} warm-up")
        rows = []
        for T in lengths:
            rows.append([T, ms[T], ms[T] / T, cpu_ms.get(T), peak.get(T),
                         None if not peak else peak[T] - base[T]])
        print_table(["T_in", "ms/step", "ms per input step", "cpu ms/step", "peak RSS MiB",
                     "above import MiB"], rows)
        for label, fit, unit in (("wall", fit_ms, "ms"), ("cpu", fit_cpu, "ms"),
                                 ("memory", fit_mem, "MiB")):
            if fit is not None:
                print(f"fit {label}: {unit} = {fit['a']:.4g} + {fit['b']:.4g} * T_in   "
                      f"(R^2 = {fit['r2']:.5f})")
        print(f"load average before {load_before}, after {load_after}; "
              f"thread variables: {thread_settings() or 'none set'}")
    if not args.json:
        print_machine()
    print(json_line(record))
    return 0


def parse_args(argv=None):
    """Parse the command line (see the module docstring)."""
    p = step_parser(__doc__, steps=5, steps_help="timed steps per length", warmup=1)
    p.add_argument("--lengths", type=positive_int, nargs="+", default=list(DEFAULT_LENGTHS),
                   help="input lengths T_in")
    p.add_argument("--hidden", type=positive_int, default=256)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=positive_int, default=None,
                   help="BLAS/OpenMP threads (exported before NumPy loads); default: the library's")
    p.add_argument("--rss-steps", type=positive_int, default=2,
                   help="timed steps of each memory subprocess")
    p.add_argument("--no-rss", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--only-length", type=positive_int, help="run one length alone (memory run)")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    return args


def main(argv=None):
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    if cuda_missing("scaling", args.device):
        return 2
    return run_only_length(args) if args.only_length else run_main(args)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
