"""Vanishing gradients in depth, and how skip (residual) connections fix them.

    python examples/skip_connections_gradflow.py                  # 8 layers, T=50 (~1 s)
    python examples/skip_connections_gradflow.py --layers 12 --out flow.png

Builds two StackedLSTMs with identical weights, one with residual connections (each
layer from the second on adds its input to its output) and one without, runs one
forward and backward pass on the same random sequence, and prints the gradient flow
of both (one row per parameter, then one per layer). Without skips the gradient that
reaches the first layer has passed through every layer above it and shrinks by orders
of magnitude; with skips it has a direct path and stays about as large as at the top.
Writes a bar chart (log scale) of the per-layer gradient norms of both stacks.
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

from tinygrad_attn.checks.gradflow import grad_flow_table, group_norms  # noqa: E402
from tinygrad_attn.viz import plot_grad_flow  # noqa: E402
from tinygrad_attn.checks.lessons.skip_connections import compare_skip_connections  # noqa: E402


def main(argv=None):
    """Run the comparison, print the tables and write the plot; returns the per-layer rows."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=8, help="LSTM layers (default 8)")
    ap.add_argument("--seq-len", type=int, default=50, help="sequence length T (default 50)")
    ap.add_argument("--batch", type=int, default=4, help="batch size N (default 4)")
    ap.add_argument("--size", type=int, default=16, help="input and hidden width (default 16)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join("runs", "skip_connections_gradflow.png"),
                    help="where to write the plot (default: runs/skip_connections_gradflow.png)")
    ap.add_argument("--no-plot", action="store_true", help="only print the tables")
    args = ap.parse_args(argv)

    runs = compare_skip_connections(num_layers=args.layers, seq_len=args.seq_len,
                                    batch=args.batch, size=args.size, seed=args.seed)
    per_layer = {}
    for label, rows in runs.items():
        print(grad_flow_table(rows, title=f"== {label}: per parameter =="))
        print()
        per_layer[label] = group_norms(rows, depth=2)   # layers.<k>.* -> layers.<k>
        print(grad_flow_table(per_layer[label], title=f"== {label}: per layer =="))
        print()

    print("first-layer / last-layer gradient norm:")
    for label, rows in per_layer.items():
        print(f"  {label:14s} {rows[0].grad_norm:.3e} / {rows[-1].grad_norm:.3e} = "
              f"{rows[0].grad_norm / rows[-1].grad_norm:.3g}")
    first_with = per_layer["with skips"][0].grad_norm
    first_without = per_layer["without skips"][0].grad_norm
    print(f"first layer, with skips / without skips: {first_with / first_without:.3g}x")

    if not args.no_plot:
        try:
            plot_grad_flow(per_layer, args.out,
                           title=f"gradient norm per layer: {args.layers}-layer StackedLSTM, "
                                 f"T={args.seq_len}")
            print(f"wrote {args.out}")
        except ImportError as e:
            print(f"(no plot: {e})")
    return per_layer


if __name__ == "__main__":
    main()
