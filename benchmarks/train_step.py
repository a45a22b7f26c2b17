"""One training step of the chapter's attention seq2seq: ours vs PyTorch vs the book's NumPy.

Configuration (the issue's, all overridable): float32, batch 128, vocabulary 59, embedding
16, hidden 256, 29 input steps, 10 decoder steps (decoder input 10 ids, target 10 ids),
Adam (lr 0.001), global-norm gradient clipping at 5.0. A step is: forward loss, clear the
gradients, backward, clip, Adam update.

The three contenders start from the **same weights** (ours are copied into the others)
and see the same random batches; their initial losses are printed as a check that they
compute the same model. They run **interleaved** in one process (ours, torch, book, ours,
...) after warm-up rounds, so load from other processes hits all alike and the ratios stay
meaningful on a busy machine; the median ms/step is reported.

Peak resident memory is measured per contender in a **separate subprocess** running only
that contender (``--only NAME``), since importing PyTorch alone inflates a process's RSS.
Those runs also give an "alone" ms/step (no other framework's threads in the process).
Beside wall-clock times the table shows the process's CPU time per step, which moves
much less than wall time when other processes compete for the cores.

Threads: by default NumPy's BLAS (OpenBLAS) and PyTorch each use one thread per core
(``torch.get_num_threads()`` is printed). On a small machine that other processes keep
busy, multi-threaded BLAS/OpenMP calls wait for descheduled threads and a step can get
many times slower; ``--threads 1`` pins every library to one thread (it exports
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` before NumPy loads,
and calls ``torch.set_num_threads``), which gives steadier and comparable figures there.

Allocator: unless ``--system-malloc``, the process first calls
``tinygrad_attn.backend.keep_host_memory()`` (glibc keeps freed multi-MiB blocks for reuse
instead of mapping fresh pages for every temporary array), as ``tinygrad-attn train`` does; it
applies to every contender.

Usage::

    python benchmarks/train_step.py                      # defaults above, 20 steps, 3 warm-up
    python benchmarks/train_step.py --steps 50 --warmup 5
    python benchmarks/train_step.py --threads 1           # one BLAS/OpenMP thread everywhere
    python benchmarks/train_step.py --device cuda         # ours on CuPy, torch on CUDA
    python benchmarks/train_step.py --json                # only the JSON line
    python benchmarks/train_step.py --only ours           # one contender, for memory (used internally)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads_from_argv(argv):
    """Honour ``--threads N`` before NumPy loads its BLAS: export it in the thread variables.

    OpenBLAS/MKL read these variables once, when NumPy is first imported, so this must run
    before that import (scripts call it at the top; the subprocesses inherit the variables).

    Args:
        argv: the command-line arguments (``sys.argv[1:]``).
    """
    for i, a in enumerate(argv):
        value = a.split("=", 1)[1] if a.startswith("--threads=") else (
            argv[i + 1] if a == "--threads" and i + 1 < len(argv) else None)
        if value is not None and value.isdigit() and int(value) > 0:
            for var in THREAD_VARS:
                os.environ[var] = value


HERE = os.path.dirname(os.path.abspath(__file__))
# Run as a script of this folder (this one, or scaling.py importing it): honour --threads
# now, before NumPy is imported below.
if sys.argv and sys.argv[0] and os.path.dirname(os.path.abspath(sys.argv[0])) == HERE:
    pin_threads_from_argv(sys.argv[1:])

import numpy as np  # noqa: E402

from _common import (ROOT, cuda_missing, json_line, print_machine, median, peak_rss_mb, positive_int,  # noqa: E402
                     print_table, step_parser, time_interleaved)

VOCAB, WORDVEC, T_IN, T_OUT = 59, 16, 29, 10
LR, MAX_GRAD = 0.001, 5.0
CONTENDERS = ("ours", "torch", "book")


# ----------------------------------------------------------------------------- helpers
def load_average():
    """Return the 1, 5 and 15 minute load averages as a list of floats (None where unknown)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def make_batches(batch, t_in=T_IN, t_out=T_OUT, vocab=VOCAB, count=4, seed=0):
    """Random id batches.

    Args:
        batch: N. t_in: input length. t_out: decoder steps. vocab: V. count: how many batches.
        seed: seeds the generator.

    Returns:
        list of ``(xs, ts)`` host int64 arrays, xs (N, t_in) and ts (N, 1 + t_out).
    """
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, vocab, (batch, t_in)), rng.integers(0, vocab, (batch, 1 + t_out)))
            for _ in range(count)]


def cycle(items):
    """Endless iterator over ``items`` in order."""
    while True:
        yield from items


def build_ours(hidden, dtype=np.float32, seed=0, **options):
    """Our ``models.AttentionSeq2seq(59, 16, hidden)`` (attention_feed="affine"), seeded.

    ``options`` go to the model (e.g. ``embed_projection=True``).
    """
    import tinygrad_attn_models as models

    return models.AttentionSeq2seq(VOCAB, WORDVEC, hidden, dtype=dtype,
                                   rng=np.random.default_rng(seed), **options)


#: our step's variants (``--variants``): name -> (model options, fused ops on?)
VARIANTS = {"ours-composed": ({}, False), "ours-table": ({"embed_projection": True}, True)}


def variant_step_fn(name, hidden, batches, seed=0):
    """``step()`` of one of our :data:`VARIANTS` (CPU), and its initial loss."""
    from tinygrad_attn import functions as F
    from tinygrad_attn import no_grad

    options, fused = VARIANTS[name]
    model = build_ours(hidden, seed=seed, **options)
    inner = ours_step_fn(model, batches)
    x0, t0 = batches[0]
    with no_grad(), F.fused_ops(fused):
        loss0 = float(model(x0, t0).data)

    def step():
        with F.fused_ops(fused):
            return inner()

    return step, loss0


def _sync_fn(device):
    """A callable that waits for the GPU (a no-op on the CPU)."""
    if device == "cuda":
        import cupy

        return cupy.cuda.Device().synchronize
    return lambda: None


def ours_step_fn(model, batches, device="cpu", lr=LR, max_grad=MAX_GRAD):
    """Return ``step()`` running one training step of ``model`` on the next batch of ``batches``.

    Args:
        model: our model (on ``device``). batches: list of host ``(xs, ts)``.
        device: ``"cpu"`` or ``"cuda"`` (the batches are moved there once, up front).
        lr, max_grad: Adam's learning rate and the gradient-norm clip.

    Returns:
        callable: ``step() -> loss Variable``.
    """
    from tinygrad_attn.backend import as_device
    from tinygrad_attn.optim import Adam, clip_grads

    if device != "cpu":
        batches = [(as_device(x, device), as_device(t, device)) for x, t in batches]
    it = cycle(batches)
    opt = Adam(model.params(), lr=lr)
    sync = _sync_fn(device)

    def step():
        xs, ts = next(it)
        loss = model(xs, ts)
        model.cleargrads()
        loss.backward()
        clip_grads(model.params(), max_grad)
        opt.update()
        sync()
        return loss

    return step


def book_step_fn(model, batches):
    """Return ``step()`` running one training step of the book-style reference (host NumPy)."""
    from book_reference import Adam, clip_grads

    it = cycle(batches)
    opt = Adam(lr=LR)

    def step():
        xs, ts = next(it)
        loss = model.forward(xs, ts)
        model.backward()
        clip_grads(model.grads, MAX_GRAD)
        opt.update(model.params, model.grads)
        return loss

    return step


def torch_device(device):
    """The torch device for ``--device``: ``"cuda"`` when asked and available, else ``"cpu"``."""
    if device == "cuda":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cpu"


def torch_step_fn(tmodel, batches, tdev):
    """Return ``step()`` running one PyTorch training step on the next batch (tensors made up front)."""
    import torch

    import torch_reference as tr

    tb = [(torch.as_tensor(x, device=tdev), torch.as_tensor(t, device=tdev)) for x, t in batches]
    return tr.make_train_step(tmodel, tb, lr=LR, max_grad=MAX_GRAD, sync=tdev == "cuda")


def build_contender(name, hidden, batches, device, seed=0, threads=None):
    """Build one contender from the same seeded weights.

    Args:
        name: ``"ours"``, ``"torch"`` or ``"book"``.
        hidden: H. batches: host ``(xs, ts)`` list. device: ``"cpu"`` or ``"cuda"``.
        seed: seeds our initial weights (copied into the others).
        threads: for torch, ``torch.set_num_threads(threads)``; None keeps PyTorch's default.

    Returns:
        tuple: ``(step, initial_loss, where)``: the step closure, the loss of the first batch
        before any update (float), and where it runs (``"cpu"``/``"cuda"``).

    Raises:
        ValueError: unknown ``name``.
    """
    ours = build_ours(hidden, seed=seed)
    state = {k: np.array(v) for k, v in ours.state_dict().items()}
    x0, t0 = batches[0]
    if name == "ours":
        from tinygrad_attn import no_grad

        if device == "cuda":
            ours.to_gpu()
        with no_grad():
            loss0 = float(ours(x0, t0).data)
        return ours_step_fn(ours, batches, device), loss0, device
    if name == "book":
        from book_reference import BookAttentionSeq2seq

        book = BookAttentionSeq2seq(VOCAB, WORDVEC, hidden)
        book.load_from(state)
        loss0 = float(book.forward(x0, t0))
        return book_step_fn(book, batches), loss0, "cpu"
    if name == "torch":
        import torch

        import torch_reference as tr

        if threads:
            torch.set_num_threads(threads)
        tdev = torch_device(device)
        tmodel = tr.build_torch_model(VOCAB, WORDVEC, hidden, device=tdev)
        tr.load_from_ours(tmodel, state)
        with torch.no_grad():
            loss0 = float(tmodel(torch.as_tensor(x0, device=tdev), torch.as_tensor(t0, device=tdev)))
        return torch_step_fn(tmodel, batches, tdev), loss0, tdev
    raise ValueError(f"build_contender: unknown contender {name!r}; expected one of {CONTENDERS}")


def gemm_list(batch, hidden, t_in=T_IN, t_out=T_OUT, vocab=VOCAB, wordvec=WORDVEC):
    """The matrix products of one training step of the chapter's model, forward and backward.

    The model's arithmetic as our step runs it: per LSTM the input projection of all steps
    at once and one recurrent product per step (the encoder's first step has no hidden
    state), the two batched attention products of all decoder steps, the output layer; the
    backward pass needs two products for each (the input's and the weight's gradient; the
    embedding's gradient comes from the input projection's input gradient). The recurrent
    weight's gradient is **one** product over all N * T rows (the fused sequence node stacks
    the previous hidden states of every step), not one per step.

    Args:
        batch: N. hidden: H. t_in, t_out: encoder and decoder steps. vocab: V. wordvec: D.

    Returns:
        list of ``(a_shape, b_shape, transpose_a, transpose_b, count)``: ``count`` products
        ``op(a) @ op(b)`` where ``op`` transposes the last two axes when asked (as a view,
        the way the frameworks pass transposed operands to the BLAS).
    """
    N, H, D, V = batch, hidden, wordvec, vocab
    G = 4 * H
    out = []
    for T, recurrent in ((t_in, t_in - 1), (t_out, t_out)):
        out += [((N * T, D), (D, G), False, False, 1),      # x @ Wx, all steps
                ((N * T, G), (D, G), False, True, 1),       # gx = g @ Wx^T
                ((N * T, D), (N * T, G), True, False, 1),   # gWx = x^T @ g
                ((N, H), (H, G), False, False, recurrent),  # h @ Wh per step
                ((N, G), (H, G), False, True, recurrent),   # gh = gA @ Wh^T
                ((N * T, H), (N * T, G), True, False, 1)]   # gWh = Hprev^T @ gA, all steps
    out += [((N, t_out, H), (N, t_in, H), False, True, 1),      # scores
            ((N, t_out, t_in), (N, t_in, H), False, False, 1),  # context
            ((N, t_out, t_in), (N, t_in, H), False, False, 1),  # g scores -> decoder states
            ((N, t_out, t_in), (N, t_out, H), True, False, 1),  # g scores -> encoder states
            ((N, t_out, H), (N, t_in, H), False, True, 1),      # g context -> weights
            ((N, t_out, t_in), (N, t_out, H), True, False, 1),  # g context -> encoder states
            ((N * t_out, 2 * H), (2 * H, V), False, False, 1),  # output layer
            ((N * t_out, V), (2 * H, V), False, True, 1),
            ((N * t_out, 2 * H), (N * t_out, V), True, False, 1)]
    return out


def gemm_flops(products):
    """Floating-point operations (2 per multiply-add) of a :func:`gemm_list`."""
    total = 0
    for a, b, ta_, tb, count in products:
        m = a[-1] if ta_ else a[-2]
        k = a[-2] if ta_ else a[-1]
        n = b[-2] if tb else b[-1]
        lead = 1
        for s in a[:-2]:
            lead *= s
        total += 2 * lead * m * k * n * count
    return total


def gemm_numpy_fn(products, seed=0):
    """Return ``step()`` computing every product of ``products`` with NumPy (float32), nothing else.

    The operands are made once, up front; each call runs the products in order, writing into
    fresh result arrays as a framework does. This is the **GEMM floor** of our step: the
    time no implementation on this BLAS can go below without removing products.
    """
    rng = np.random.default_rng(seed)
    work = []
    for a, b, ta_, tb, count in products:
        A = rng.standard_normal(a, dtype=np.float32)
        B = rng.standard_normal(b, dtype=np.float32)
        A = np.swapaxes(A, -1, -2) if ta_ else A
        B = np.swapaxes(B, -1, -2) if tb else B
        work.append((A, B, count))

    def step():
        for A, B, count in work:
            mm = np.dot if A.ndim == 2 else np.matmul
            for _ in range(count):
                mm(A, B)

    return step


def gemm_torch_fn(products, seed=0):
    """The same products with ``torch.matmul`` on CPU float32 (PyTorch's own GEMM floor)."""
    import torch

    rng = np.random.default_rng(seed)
    work = []
    for a, b, ta_, tb, count in products:
        A = torch.from_numpy(rng.standard_normal(a, dtype=np.float32))
        B = torch.from_numpy(rng.standard_normal(b, dtype=np.float32))
        work.append((A.transpose(-1, -2) if ta_ else A, B.transpose(-1, -2) if tb else B, count))

    def step():
        for A, B, count in work:
            for _ in range(count):
                torch.matmul(A, B)

    return step


def process_peak_rss_mb():
    """Peak resident memory of this process's own address space, in MiB (None when unknown).

    On Linux this reads ``VmHWM`` from ``/proc/self/status``: unlike ``getrusage``'s
    ``ru_maxrss``, it is not inherited from the parent across fork + exec, so a small child
    started by a big parent (one that imported torch) reports its own peak. Elsewhere it
    falls back to :func:`_common.peak_rss_mb`.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def wall_times(t):
    """Wall-clock seconds per repetition from a ``time_interleaved`` entry (list or Timings)."""
    return list(getattr(t, "wall", t))


def cpu_times(t):
    """CPU seconds per repetition from a ``time_interleaved`` entry, or None when not recorded."""
    cpu = getattr(t, "cpu", None)
    return list(cpu) if cpu else None


def thread_settings():
    """Return ``{variable: value}`` for the thread variables that are set (BLAS/OpenMP)."""
    return {v: os.environ[v] for v in THREAD_VARS if v in os.environ}


def print_run_notes(load_before, load_after, agree, where="", notes=()):
    """Print the thread variables, the lines ``notes``, the load averages (``where`` follows
    them) and a warning when the contenders' initial losses disagree (``agree`` false)."""
    print(f"thread variables: {thread_settings() or 'none set (BLAS default: one per core)'}")
    for line in notes:
        print(line)
    print(f"load average before {load_before}, after {load_after}{where}")
    if not agree:
        print("WARNING: initial losses differ: the contenders do not compute the same model")


def run_json_subprocess(argv, timeout=1800):
    """Run ``python argv...`` from the benchmarks folder and return its last JSON line as a dict.

    Raises:
        RuntimeError: the process failed or printed no JSON line (its stderr is included).
    """
    proc = subprocess.run([sys.executable, *argv], cwd=HERE, capture_output=True, text=True,
                          timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"subprocess {' '.join(argv)} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def torch_available():
    """True when PyTorch imports (checked in a subprocess-free way: import it here)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- modes
def run_only(args):
    """``--only NAME``: one contender alone; prints one JSON line with its ms/step and peak RSS."""
    import tinygrad_attn  # noqa: F401  (our weights seed every contender)
    if args.only == "ours":
        import tinygrad_attn_models  # noqa: F401
    elif args.only == "book":
        import book_reference  # noqa: F401
    else:
        import torch_reference  # noqa: F401
        import torch  # noqa: F401
    import_rss = process_peak_rss_mb()  # interpreter + numpy + the contender's framework, no model yet
    batches = make_batches(args.batch, seed=args.seed)
    step, loss0, where = build_contender(args.only, args.hidden, batches, args.device, args.seed,
                                         args.threads)
    times = time_interleaved({args.only: step}, args.steps, args.warmup)[args.only]
    cpu = cpu_times(times)
    record = {"benchmark": "train_step_only", "contender": args.only, "device": where,
              "batch": args.batch, "hidden": args.hidden, "steps": args.steps,
              "ms": 1000 * median(wall_times(times)),
              "cpu_ms": None if cpu is None else 1000 * median(cpu), "initial_loss": loss0,
              "import_rss_mb": import_rss, "peak_rss_mb": process_peak_rss_mb()}
    print(json_line(record))
    return 0


def time_phase(steps, args, limit, torch_default):
    """Time ``steps`` interleaved under a thread limit; return times, medians and ratios.

    Args:
        steps: name -> step callable (contenders and GEMM floors).
        args: the parsed options (steps, warmup).
        limit: BLAS/OpenMP threads for this phase (threadpoolctl, and ``torch.set_num_threads``),
            or None for the libraries' defaults (PyTorch back to ``torch_default``).
        torch_default: PyTorch's thread count at start (None without PyTorch).

    Returns:
        dict with ``times`` (name -> Timings), ``ms`` and ``cpu_ms`` (medians), ``ratios``.
    """
    from tinygrad_attn.training.threads import limit_threads

    if torch_default is not None:
        import torch

        if limit is not None:
            torch.set_num_threads(limit)
        elif not args.threads:
            torch.set_num_threads(torch_default)
    with limit_threads(limit):
        times = time_interleaved(steps, args.steps, args.warmup)
    ms = {n: 1000 * median(wall_times(t)) for n, t in times.items()}
    cpu_ms = {n: 1000 * median(cpu_times(t)) for n, t in times.items() if cpu_times(t)}
    return {"times": times, "ms": ms, "cpu_ms": cpu_ms, "ratios": phase_ratios(ms),
            "cpu_ratios": phase_ratios(cpu_ms),
            "torch_threads": (None if torch_default is None else __import__("torch").get_num_threads())}


def phase_ratios(ms):
    """Ratios of one phase: ours/torch, book/ours, ours/GEMM floor, torch/its GEMM floor, ..."""
    def r(a, b):
        return ms[a] / ms[b] if a in ms and b in ms and ms[b] > 0 else None

    return {"ours_torch": r("ours", "torch"), "book_ours": r("book", "ours"),
            "composed_fused": r("ours-composed", "ours"), "table_plain": r("ours-table", "ours"),
            "table_floor": r("ours-table", "gemm"),
            "ours_floor": r("ours", "gemm"), "torch_floor": r("torch", "gemm_torch"),
            "torch_numpy_floor": r("torch", "gemm"), "floor_numpy_torch": r("gemm", "gemm_torch")}


def run_main(args):
    """Interleaved timing of all contenders, then one memory subprocess per contender."""
    names = ["ours"]
    has_torch = not args.no_torch and torch_available()
    if has_torch:
        names.append("torch")
    if not args.no_book:
        names.append("book")
    load_before = load_average()
    batches = make_batches(args.batch, seed=args.seed)
    steps, loss0, where = {}, {}, {}
    for name in names:
        steps[name], loss0[name], where[name] = build_contender(name, args.hidden, batches,
                                                                args.device, args.seed, args.threads)
    if args.variants and args.device == "cpu":
        for name in VARIANTS:
            steps[name], loss0[name] = variant_step_fn(name, args.hidden, batches, args.seed)
            where[name] = "cpu"
            names.append(name)
    ref = loss0["ours"]
    agree = all(abs(v - ref) <= 1e-3 * max(1.0, abs(ref)) for v in loss0.values())
    floor_names = []
    if not args.no_floor:
        products = gemm_list(args.batch, args.hidden)
        if args.device == "cpu":
            steps["gemm"] = gemm_numpy_fn(products, args.seed)
            floor_names.append("gemm")
            if has_torch:
                steps["gemm_torch"] = gemm_torch_fn(products, args.seed)
                floor_names.append("gemm_torch")
    torch_default = None
    if has_torch:
        import torch

        torch_default = torch.get_num_threads()
    if args.compare_threads:
        plan = [("1", 1), ("default", None)]
    else:
        plan = [(str(args.threads) if args.threads else "default", None)]
    phases = {}
    for label, limit in plan:
        phases[label] = time_phase(steps, args, limit, torch_default)
    first = phases[plan[0][0]]
    times, ms, cpu_ms = first["times"], first["ms"], first["cpu_ms"]
    load_after = load_average()

    alone, alone_cpu, peak, base = {}, {}, {}, {}
    if not args.no_rss:
        for name in [n for n in names if n in CONTENDERS]:
            argv = [os.path.basename(__file__), "--only", name, "--steps", str(args.alone_steps),
                    "--warmup", "1", "--batch", str(args.batch), "--hidden", str(args.hidden),
                    "--device", args.device, "--seed", str(args.seed)]
            if args.threads:
                argv += ["--threads", str(args.threads)]
            if args.system_malloc:
                argv.append("--system-malloc")
            rec = run_json_subprocess(argv)
            alone[name], alone_cpu[name] = rec["ms"], rec.get("cpu_ms")
            peak[name], base[name] = rec["peak_rss_mb"], rec["import_rss_mb"]

    ratios = first["ratios"]
    ratio_ours_torch, ratio_book_ours = ratios["ours_torch"], ratios["book_ours"]
    threads = None
    if has_torch:
        import torch_reference as tr

        threads = tr.thread_info()
    record = {
        "benchmark": "train_step", "device": args.device, "where": where,
        "batch": args.batch, "hidden": args.hidden, "wordvec": WORDVEC, "vocab": VOCAB,
        "t_in": T_IN, "t_out": T_OUT, "dtype": "float32", "steps": args.steps,
        "warmup": args.warmup,
        "ours_ms": ms.get("ours"), "torch_ms": ms.get("torch"), "book_ms": ms.get("book"),
        "gemm_ms": ms.get("gemm"), "gemm_torch_ms": ms.get("gemm_torch"),
        "ratio_ours_torch": ratio_ours_torch, "ratio_book_ours": ratio_book_ours,
        "ratio_ours_floor": ratios["ours_floor"], "ratio_torch_floor": ratios["torch_floor"],
        "gemm_gflop": (gemm_flops(gemm_list(args.batch, args.hidden)) / 1e9
                       if floor_names else None),
        "phases": {label: {"ms": ph["ms"], "cpu_ms": ph["cpu_ms"], "ratios": ph["ratios"],
                           "cpu_ratios": ph["cpu_ratios"],
                           "torch_threads": ph["torch_threads"]}
                   for label, ph in phases.items()},
        "cpu_ms": cpu_ms or None, "alone_ms": alone or None, "alone_cpu_ms": alone_cpu or None,
        "peak_rss_mb": peak or None, "import_rss_mb": base or None,
        "initial_loss": loss0, "losses_agree": agree,
        "torch_threads": first["torch_threads"],
        "threads_option": args.threads, "thread_env": thread_settings(),
        "cpu_count": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": load_after,
        "keep_host_memory": args.kept_memory,
    }
    if not args.json:
        print(f"train_step: attention seq2seq, float32, batch {args.batch}, V={VOCAB} D={WORDVEC} "
              f"H={args.hidden}, T_in={T_IN} T_out={T_OUT}, Adam + clip {MAX_GRAD}; "
              f"{args.steps} interleaved steps after {args.warmup} warm-up")
        for label, ph in phases.items():
            if len(phases) > 1 or label != "default":
                print(f"\n-- threads: {label} (torch threads {ph['torch_threads']})")
            rows = []
            for n in names + floor_names:
                t = [1000 * v for v in wall_times(ph["times"][n])]
                rows.append([n, where.get(n, "cpu"), ph["ms"][n], min(t), max(t),
                             ph["cpu_ms"].get(n), alone.get(n), alone_cpu.get(n), peak.get(n),
                             base.get(n), loss0.get(n)])
            print_table(["contender", "device", "ms/step (median)", "min", "max", "cpu ms",
                         "alone ms", "alone cpu ms", "peak RSS MiB", "import RSS MiB",
                         "initial loss"], rows)
            r, rc = ph["ratios"], ph["cpu_ratios"]
            for key, text in (("ours_torch", "ours/torch (below 1: ours faster)"),
                              ("book_ours", "book/ours (above 1: ours faster)"),
                              ("ours_floor", "ours/GEMM floor (NumPy's BLAS)"),
                              ("torch_floor", "torch/GEMM floor (torch.matmul)"),
                              ("floor_numpy_torch", "GEMM floor NumPy/torch"),
                              ("composed_fused", "ours with fused ops off (composed) / fused"),
                              ("table_plain", "ours with embedding table lookup / plain"),
                              ("table_floor", "ours with table lookup / GEMM floor")):
                if r[key] is not None:
                    cpu = f" ({rc[key]:.2f}x CPU time)" if rc.get(key) is not None else ""
                    print(f"ratio {text}: {r[key]:.2f}x{cpu}")
        print("(ms: wall clock, interleaved in one process; cpu ms: this process's CPU time, all "
              "threads; alone: a subprocess running only that contender, which also gives the "
              "peak RSS; import RSS: the same process before building the model; gemm: the "
              "step's matrix products alone, same shapes, NumPy; gemm_torch: the same with "
              "torch.matmul)")
        if floor_names:
            print(f"GEMM work per step: {record['gemm_gflop']:.2f} GFLOP")
        if threads is not None:
            how = f"--threads {args.threads}" if args.threads else "PyTorch's default"
            print(f"torch threads: {threads['torch_threads']} ({how}; interop "
                  f"{threads['torch_interop_threads']}), cpus: {os.cpu_count()}")
        alloc = "keep_host_memory() applied" if args.kept_memory else "defaults"
        print_run_notes(load_before, load_after, agree, notes=[f"C allocator: {alloc}"])
    if not args.json:
        print_machine()
    print(json_line(record))
    return 0 if agree else 1


def parse_args(argv=None):
    """Parse the command line (see the module docstring)."""
    p = step_parser(__doc__)
    p.add_argument("--hidden", type=positive_int, default=256)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: ours on CuPy, torch on CUDA when available (book stays on CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alone-steps", type=positive_int, default=5,
                   help="timed steps of each single-contender memory subprocess")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="BLAS/OpenMP threads for every contender (exports OMP_NUM_THREADS, "
                        "OPENBLAS_NUM_THREADS, MKL_NUM_THREADS before NumPy loads, and "
                        "torch.set_num_threads); default: the libraries' defaults")
    p.add_argument("--only", choices=CONTENDERS, help="run one contender alone (memory run)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--no-book", action="store_true", help="skip the book-style reference")
    p.add_argument("--no-rss", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--variants", action="store_true",
                   help="also time our step with the composed LSTM cell (fused ops off) and "
                        "with the embedding projection as a table lookup")
    p.add_argument("--no-floor", action="store_true",
                   help="skip the GEMM floor (the step's matrix products alone)")
    p.add_argument("--compare-threads", action="store_true",
                   help="time everything twice in this run: on one thread, then with the "
                        "libraries' default threads (threadpoolctl; needs no --threads)")
    p.add_argument("--system-malloc", action="store_true",
                   help="leave the C allocator's defaults (else backend.keep_host_memory(), as "
                        "`tinygrad-attn train` does; it applies to every contender: they share "
                        "the process)")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    if args.compare_threads and args.threads:
        p.error("--compare-threads measures 1 and the default threads itself: drop --threads")
    if args.only == "torch" and not torch_available():
        p.error("--only torch: PyTorch is not installed")
    return args


def main(argv=None):
    """Entry point; returns the exit status (1 when the contenders' initial losses disagree)."""
    args = parse_args(argv)
    if cuda_missing("train_step", args.device):
        return 2
    from tinygrad_attn.backend import keep_host_memory

    args.kept_memory = False if args.system_malloc else keep_host_memory()
    return run_only(args) if args.only else run_main(args)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
