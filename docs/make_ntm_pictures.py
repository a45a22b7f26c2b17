"""Draw the NTM results pictures from the runs of ``examples/ntm_copy.py``.

    python docs/make_ntm_pictures.py NAME=RUN_DIR [NAME=RUN_DIR ...] --memory RUN_DIR

Writes ``docs/assets/ntm-curves.png`` (validation bit errors per sequence against wall time,
one line per run) and, from the checkpoint of ``--memory``, ``docs/assets/ntm-memory.png``
(one copy example of length ``--length``: the bits and the write/read weightings), and prints
a Markdown table of the runs' ``results.json`` (bit errors per sequence at each test length).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tinygrad_attn import viz  # noqa: E402
from tinygrad_attn.data.bits import bit_errors, make_copy  # noqa: E402
from tinygrad_attn.training import load_checkpoint  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", metavar="NAME=RUN_DIR")
    p.add_argument("--memory", metavar="RUN_DIR", help="run whose checkpoint draws the memory")
    p.add_argument("--length", type=int, default=20)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--assets", default=os.path.join(HERE, "assets"))
    args = p.parse_args(argv)

    histories, rows = {}, []
    for item in args.runs:
        name, path = item.split("=", 1)
        with open(os.path.join(path, "history.json")) as f:
            histories[name] = json.load(f)["history"]
        res_path = os.path.join(path, "results.json")
        if os.path.exists(res_path):
            with open(res_path) as f:
                rows.append((name, json.load(f)))
    viz.plot_bit_error_curves(histories, os.path.join(args.assets, "ntm-curves.png"), x="wall_s",
                              title="copy task: validation bit errors per sequence (lengths 1-10)")
    if rows:
        lengths = list(rows[0][1]["test"])
        print("| model | parameters | steps | wall time | " + " | ".join(
            f"length {L}" for L in lengths) + " |")
        print("| --- " * (4 + len(lengths)) + "|")
        for name, r in rows:
            cells = [f"{r['test'][L]['bit_errors']:.3f}" for L in lengths]
            print(f"| {name} | {r['params']:,} | {r['steps']:,} | {r['wall_s'] / 60:.0f} min | "
                  + " | ".join(cells) + " |")
    if args.memory:
        model, info = load_checkpoint(os.path.join(args.memory, "model.npz"))
        width = info.task.params["width"]
        x, t = make_copy(1, length=args.length, width=width, seed=args.seed)
        y = model.predict(x)
        errors = int(bit_errors(y, t, threshold=0.5)[0])
        viz.plot_memory(model.write_weights[0], model.read_weights[0], x[0], t[0], y[0],
                        os.path.join(args.assets, "ntm-memory.png"),
                        title=f"NTM on a copy of length {args.length} (trained on 1-10): "
                              f"{errors} bit error{'s' * (errors != 1)}")
        print(f"memory picture: length {args.length}, {errors} bit errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
