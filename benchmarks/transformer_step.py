"""One training step of ``TransformerSeq2seq``: ours vs the same model written in PyTorch.

Configuration (all overridable): float32, batch 128, vocabulary 59, 29 input and 10 output
positions (the date task's shapes), d_model 64, 4 heads, 2 encoder + 2 decoder blocks,
feed-forward 256, pre-norm, sinusoidal positions, dropout 0 (so both compute exactly the
same function), Adam (lr 0.001) and global-norm clipping at 5.0. A step is: forward loss,
clear the gradients, backward, clip, Adam update.

The PyTorch model below mirrors ours module by module (same attribute names, same
parameter layout up to transposes); our initial weights are copied into it and both see the
same batches, so their initial losses must agree (checked). The contenders run
**interleaved** in one process after warm-up rounds, so load from other processes hits both
alike; the median ms/step is reported, with the process's CPU time per step beside it.
Peak resident memory comes from one subprocess per contender (``--only NAME``).

Threads: ``--threads 1`` pins NumPy's BLAS and PyTorch to one thread; without it both use
their defaults (one per core). Run both ways on a shared machine; compare ratios, not times.

Allocator: unless ``--system-malloc``, the process first calls
``tinygrad_attn.backend.keep_host_memory()`` (glibc keeps freed multi-MiB blocks for reuse
instead of mapping fresh pages for every temporary array); it applies to both contenders.

Usage::

    python benchmarks/transformer_step.py --threads 1
    python benchmarks/transformer_step.py                  # default threads
    python benchmarks/transformer_step.py --json           # only the JSON line
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from train_step import pin_threads_from_argv  # noqa: E402  (imports no NumPy-using code first)

if sys.argv and sys.argv[0] and os.path.dirname(os.path.abspath(sys.argv[0])) == HERE:
    pin_threads_from_argv(sys.argv[1:])

import numpy as np  # noqa: E402

from _common import (ROOT, json_line, print_machine, median, positive_int, print_table,  # noqa: E402
                     step_parser, time_interleaved)
from train_step import (cpu_times, cycle, load_average, make_batches,  # noqa: E402
                        ours_step_fn, print_run_notes, process_peak_rss_mb, run_json_subprocess,
                        thread_settings, torch_available, wall_times)

VOCAB, T_IN, T_OUT = 59, 29, 10
LR, MAX_GRAD = 0.001, 5.0
CONTENDERS = ("ours", "torch")


def build_ours(args, seed=0):
    """Our ``TransformerSeq2seq`` with the benchmark's sizes (dropout 0), seeded."""
    from tinygrad_attn_models import TransformerSeq2seq

    return TransformerSeq2seq(VOCAB, d_model=args.d_model, num_heads=args.heads,
                              num_layers=args.layers, d_ff=args.ff, dropout=0.0, norm="pre",
                              rng=np.random.default_rng(seed))


def build_torch(args):
    """The same architecture in PyTorch (eager), with our parameter names.

    Returns:
        torch.nn.Module: ``loss = model(xs, ts)`` for int64 tensors xs (N, T_in), ts (N, 1 + T_out).
    """
    import torch
    from torch import nn

    from tinygrad_attn.layers import sinusoidal_positions

    d, h, L, ff = args.d_model, args.heads, args.layers, args.ff

    class MHA(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key, self.value, self.out = (nn.Linear(d, d) for _ in range(4))

        def forward(self, x, memory, mask=None):
            N, T, _ = x.shape
            S = memory.shape[1]
            q = self.query(x).view(N, T, h, -1).transpose(1, 2)
            k = self.key(memory).view(N, S, h, -1).transpose(1, 2)
            v = self.value(memory).view(N, S, h, -1).transpose(1, 2)
            scores = q @ k.transpose(-1, -2) / (d // h) ** 0.5
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            w = torch.softmax(scores, dim=-1)
            return self.out((w @ v).transpose(1, 2).reshape(N, T, d))

    class FF(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.outer = nn.Linear(d, ff), nn.Linear(ff, d)

        def forward(self, x):
            return self.outer(torch.relu(self.inner(x)))

    class Enc(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn, self.norm1 = MHA(), nn.LayerNorm(d)
            self.ff, self.norm2 = FF(), nn.LayerNorm(d)

        def forward(self, x):
            y = self.norm1(x)
            x = x + self.self_attn(y, y)
            return x + self.ff(self.norm2(x))

    class Dec(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn, self.norm1 = MHA(), nn.LayerNorm(d)
            self.cross_attn, self.norm2 = MHA(), nn.LayerNorm(d)
            self.ff, self.norm3 = FF(), nn.LayerNorm(d)

        def forward(self, x, memory, causal):
            y = self.norm1(x)
            x = x + self.self_attn(y, y, causal)
            x = x + self.cross_attn(self.norm2(x), memory)
            return x + self.ff(self.norm3(x))

    class TorchTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc_embed = nn.Embedding(VOCAB, d)
            self.encoder = nn.ModuleList(Enc() for _ in range(L))
            self.dec_embed = nn.Embedding(VOCAB, d)
            self.decoder = nn.ModuleList(Dec() for _ in range(L))
            self.enc_norm, self.dec_norm = nn.LayerNorm(d), nn.LayerNorm(d)
            self.out = nn.Linear(d, VOCAB)
            self.register_buffer("pe", torch.as_tensor(sinusoidal_positions(256, d)))

        def forward(self, xs, ts):
            dec_in, target = ts[:, :-1], ts[:, 1:]
            x = self.enc_embed(xs) + self.pe[:xs.shape[1]]
            for blk in self.encoder:
                x = blk(x)
            memory = self.enc_norm(x)
            T = dec_in.shape[1]
            causal = torch.ones(T, T, dtype=torch.bool, device=xs.device).tril()
            y = self.dec_embed(dec_in) + self.pe[:T]
            for blk in self.decoder:
                y = blk(y, memory, causal)
            logits = self.out(self.dec_norm(y))
            return nn.functional.cross_entropy(logits.reshape(-1, VOCAB), target.reshape(-1))

    return TorchTransformer()


def torch_name(ours_name):
    """Our parameter name -> the PyTorch module's (``W``/``gamma`` -> ``weight``, ``b``/``beta`` -> ``bias``)."""
    head, _, leaf = ours_name.rpartition(".")
    return f"{head}.{ {'W': 'weight', 'b': 'bias', 'gamma': 'weight', 'beta': 'bias'}[leaf] }"


def load_into_torch(tmodel, state):
    """Copy our ``state_dict`` into the PyTorch model (Linear weights transposed)."""
    import torch

    own = dict(tmodel.named_parameters())
    if len(own) != len(state):
        raise ValueError(f"parameter counts differ: ours {len(state)}, torch {len(own)}")
    with torch.no_grad():
        for name, arr in state.items():
            p = own[torch_name(name)]
            a = arr if "embed" in name or arr.ndim == 1 else arr.T
            if tuple(p.shape) != a.shape:
                raise ValueError(f"{name}: ours {a.shape}, torch {tuple(p.shape)}")
            p.copy_(torch.as_tensor(np.ascontiguousarray(a)))


def build_contender(name, args, batches):
    """``(step, initial_loss)`` for ``"ours"`` or ``"torch"``, both from our seeded weights."""
    ours = build_ours(args, seed=args.seed)
    x0, t0 = batches[0]
    if name == "ours":
        from tinygrad_attn import no_grad

        with no_grad():
            loss0 = float(ours(x0, t0).data)
        return ours_step_fn(ours, batches, lr=LR, max_grad=MAX_GRAD), loss0
    if name == "torch":
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        tmodel = build_torch(args)
        load_into_torch(tmodel, {k: np.array(v) for k, v in ours.state_dict().items()})
        tb = cycle([(torch.as_tensor(x), torch.as_tensor(t)) for x, t in batches])
        with torch.no_grad():
            loss0 = float(tmodel(torch.as_tensor(x0), torch.as_tensor(t0)))
        opt = torch.optim.Adam(tmodel.parameters(), lr=LR)

        def step():
            xs, ts = next(tb)
            opt.zero_grad(set_to_none=True)
            loss = tmodel(xs, ts)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(tmodel.parameters(), MAX_GRAD)
            opt.step()
            return loss

        return step, loss0
    raise ValueError(f"unknown contender {name!r}; expected one of {CONTENDERS}")


def _sizes(args):
    return ["--batch", str(args.batch), "--d-model", str(args.d_model), "--heads",
            str(args.heads), "--layers", str(args.layers), "--ff", str(args.ff), "--seed",
            str(args.seed)] + (["--threads", str(args.threads)] if args.threads else []) + (
            ["--system-malloc"] if args.system_malloc else [])


def run_only(args):
    """``--only NAME``: one contender alone; one JSON line with its ms/step and peak RSS."""
    import tinygrad_attn_models  # noqa: F401
    if args.only == "torch":
        import torch  # noqa: F401
    import_rss = process_peak_rss_mb()
    batches = make_batches(args.batch, T_IN, T_OUT, VOCAB, seed=args.seed)
    step, loss0 = build_contender(args.only, args, batches)
    t = time_interleaved({args.only: step}, args.steps, args.warmup)[args.only]
    print(json_line({"benchmark": "transformer_step_only", "contender": args.only,
                     "ms": 1000 * median(wall_times(t)), "cpu_ms": 1000 * median(cpu_times(t)),
                     "initial_loss": loss0, "import_rss_mb": import_rss,
                     "peak_rss_mb": process_peak_rss_mb()}))
    return 0


def run_main(args):
    """Interleaved timing, then one memory subprocess per contender; table + JSON line."""
    names = ["ours"] + (["torch"] if not args.no_torch and torch_available() else [])
    load_before = load_average()
    batches = make_batches(args.batch, T_IN, T_OUT, VOCAB, seed=args.seed)
    steps, loss0 = {}, {}
    for n in names:
        steps[n], loss0[n] = build_contender(n, args, batches)
    agree = all(abs(v - loss0["ours"]) <= 1e-4 * max(1.0, abs(loss0["ours"]))
                for v in loss0.values())
    times = time_interleaved(steps, args.steps, args.warmup)
    load_after = load_average()
    ms = {n: 1000 * median(wall_times(t)) for n, t in times.items()}
    cpu = {n: 1000 * median(cpu_times(t)) for n, t in times.items()}
    alone, peak, base = {}, {}, {}
    if not args.no_rss:
        for n in names:
            rec = run_json_subprocess([os.path.basename(__file__), "--only", n, "--steps",
                                       str(args.alone_steps), "--warmup", "1", *_sizes(args)])
            alone[n], peak[n], base[n] = rec["ms"], rec["peak_rss_mb"], rec["import_rss_mb"]
    ratio = ms["ours"] / ms["torch"] if "torch" in ms else None
    cpu_ratio = cpu["ours"] / cpu["torch"] if "torch" in cpu else None
    torch_threads = None
    if "torch" in names:
        import torch

        torch_threads = torch.get_num_threads()
    n_params = build_ours(args).num_params()
    record = {"benchmark": "transformer_step", "batch": args.batch, "vocab": VOCAB, "t_in": T_IN,
              "t_out": T_OUT, "d_model": args.d_model, "heads": args.heads,
              "layers": args.layers, "ff": args.ff, "params": n_params, "steps": args.steps,
              "warmup": args.warmup, "ours_ms": ms["ours"], "torch_ms": ms.get("torch"),
              "ratio_ours_torch": ratio, "cpu_ms": cpu, "cpu_ratio_ours_torch": cpu_ratio,
              "alone_ms": alone or None, "peak_rss_mb": peak or None,
              "import_rss_mb": base or None, "initial_loss": loss0, "losses_agree": agree,
              "torch_threads": torch_threads, "threads_option": args.threads,
              "thread_env": thread_settings(), "cpu_count": os.cpu_count(),
              "keep_host_memory": args.kept_memory,
              "load_avg_before": load_before, "load_avg_after": load_after}
    if not args.json:
        print(f"transformer_step: float32, batch {args.batch}, V={VOCAB}, T_in={T_IN} "
              f"T_out={T_OUT}, d_model={args.d_model} heads={args.heads} layers={args.layers} "
              f"ff={args.ff} ({n_params} parameters), Adam + clip {MAX_GRAD}; {args.steps} "
              f"interleaved steps after {args.warmup} warm-up")
        rows = [[n, ms[n], min(1000 * v for v in wall_times(times[n])), cpu[n], alone.get(n),
                 peak.get(n), base.get(n), loss0[n]] for n in names]
        print_table(["contender", "ms/step (median)", "min", "cpu ms", "alone ms",
                     "peak RSS MiB", "import RSS MiB", "initial loss"], rows)
        if ratio is not None:
            print(f"ratio ours/torch: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU time "
                  f"(below 1: ours faster); torch threads {torch_threads}")
        alloc = "keep_host_memory() applied" if args.kept_memory else "defaults"
        print_run_notes(load_before, load_after, agree, " (shared machine)",
                        notes=[f"C allocator: {alloc}"])
        print_machine()
    print(json_line(record))
    return 0 if agree else 1


def parse_args(argv=None):
    """Parse the command line (see the module docstring)."""
    p = step_parser(__doc__)
    p.add_argument("--d-model", type=positive_int, default=64)
    p.add_argument("--heads", type=positive_int, default=4)
    p.add_argument("--layers", type=positive_int, default=2)
    p.add_argument("--ff", type=positive_int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--alone-steps", type=positive_int, default=5,
                   help="timed steps of each single-contender memory subprocess")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="BLAS/OpenMP and torch threads (default: the libraries' defaults)")
    p.add_argument("--only", choices=CONTENDERS, help="run one contender alone (memory run)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument("--no-rss", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--system-malloc", action="store_true",
                   help="leave the C allocator's defaults (else backend.keep_host_memory(), "
                        "which applies to both contenders: they share the process)")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    if args.d_model % args.heads:
        p.error(f"--d-model ({args.d_model}) must be a multiple of --heads ({args.heads})")
    if args.only == "torch" and not torch_available():
        p.error("--only torch: PyTorch is not installed")
    return args


def main(argv=None):
    """Entry point; returns 1 when the contenders' initial losses disagree."""
    args = parse_args(argv)
    from tinygrad_attn.backend import keep_host_memory

    args.kept_memory = False if args.system_malloc else keep_host_memory()
    return run_only(args) if args.only else run_main(args)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
