"""``tinygrad-attn sweep``: ``train`` over a grid of options x seeds, with a table across seeds.

Every option that is not the sweep's own (``--model``, ``--data``, ``--epochs``,
``--samples``, ``--hidden``, ...) is a ``train`` option shared by every run; it is checked by
the ``train`` command's parser before anything starts. See :mod:`tinygrad_attn.sweep`.
"""
from __future__ import annotations

import sys

from .. import values as T


def add_parser(sub):
    """Register the ``sweep`` sub-command."""
    p = sub.add_parser(
        "sweep", help="train a grid of options x seeds; table of mean, std and 95%% interval",
        description="Train every combination of the --grid values with every seed (each run is "
                    "`tinygrad-attn train` into OUT/<configuration>/seed-<s>/), on a Dask "
                    "cluster: a local one (one worker process per core, or --workers N, one "
                    "BLAS thread each) unless --address names a running scheduler. Writes "
                    "OUT/table.csv and OUT/table.md (every metric by epoch: mean, standard "
                    "deviation and 95% Student-t interval across seeds) and OUT/curves.png. "
                    "Starting the same sweep again skips finished runs; a failing run is "
                    "reported and the others go on; Ctrl-C keeps every finished run. Every "
                    "other option (--model, --data, --epochs, --samples, --hidden, ...) is a "
                    "`tinygrad-attn train` option given to every run (see tinygrad-attn train "
                    "--help). Needs the cluster extra: pip install \"tinygrad-attn[cluster]\".",
        epilog="example: tinygrad-attn sweep --model attention --data date --epochs 2 --grid "
               "score=dot,additive bidirectional=false,true --seeds 0-4 --out sweeps/scores")
    p.allow_abbrev = False  # unknown options go to train: never guess a prefix
    p.add_argument("--grid", nargs="+", default=[], metavar="KEY=V1,V2",
                   help="train options and their values, e.g. score=dot,additive "
                        "bidirectional=false,true (switches take true/false); the runs are "
                        "every combination (default: none, one configuration)")
    p.add_argument("--seeds", default="0-2", metavar="SEEDS",
                   help="seeds of every configuration: a range 0-4, a list 0,3,7 or both "
                        "0-2,10 (default 0-2)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the sweep folder: created, or an earlier run of the same sweep (resumed)")
    p.add_argument("--workers", type=T.integer(1, 1024), default=None, metavar="N",
                   help="local worker processes, 1 to 1024 (default: one per core); not with "
                        "--address")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="submit to the Dask scheduler at ADDR (e.g. tcp://10.0.0.5:8786, "
                        "started with `dask scheduler`) instead of a local cluster")
    p.add_argument("--overwrite", action="store_true",
                   help="train every run again, replacing finished ones")
    p.add_argument("--no-plot", action="store_true", help="do not draw OUT/curves.png")
    p.set_defaults(_pass_through=True)
    return p


def run(args):
    """Run the sweep; 0 when every run finished, 1 when some failed."""
    from ...sweep import SweepError, sweep
    from ...sweep.engine import MissingExtraError
    from ..values import CLIError

    if args.address is not None and args.workers is not None:
        raise CLIError("--workers starts local workers; with --address the scheduler's workers "
                       "run the sweep (start them with `dask worker ADDR --nworkers N`)")
    try:
        table = sweep(args.out, args.grid, args.seeds, workers=args.workers,
                      address=args.address, overwrite=args.overwrite, plot=not args.no_plot,
                      train_args=getattr(args, "train_args", None) or ())
    except (SweepError, MissingExtraError, ConnectionError) as e:
        raise CLIError(str(e)) from e
    if table.failed:
        for r in table.failed:
            print(f"tinygrad-attn sweep: run {r['folder']} failed: {r['error']}", file=sys.stderr)
        print(f"tinygrad-attn sweep: {len(table.failed)} of {len(table.runs)} runs failed; the "
              "table holds the others (run the sweep again to retry the failed ones)",
              file=sys.stderr)
        return 1
    return 0
