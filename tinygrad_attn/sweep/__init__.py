"""Seeded sweeps: a grid of ``train`` options x seeds, on a Dask cluster, with a table across seeds.

::

    import tinygrad_attn as ta

    table = ta.sweep("sweeps/scores", grid={"score": ["dot", "additive"]}, seeds="0-2",
                     model="attention", data="date", epochs=1, samples=2000)
    table.summary("val_acc", score="dot")       # Summary(n=3, mean=..., std=..., low=..., high=...)

The same from the command line: ``tinygrad-attn sweep --model attention --data date --epochs 1
--samples 2000 --grid score=dot,additive --seeds 0-2 --out sweeps/scores``.

* :func:`sweep` — plan, skip finished runs, train the rest, write ``table.csv``/``table.md``
  and ``curves.png``, return a :class:`SweepTable`; :func:`load_table` reads a sweep folder.
* :mod:`~tinygrad_attn.sweep.stats` — mean, standard deviation, Student-t interval.
* :mod:`~tinygrad_attn.sweep.plan` — grids, seed ranges, one ``train`` command line per run.
* :mod:`~tinygrad_attn.sweep.runner` — one run on a worker (the ``train`` command's code path).
* :mod:`~tinygrad_attn.sweep.engine` — the only module that imports Dask (the ``cluster``
  extra), and only when there are runs to train.

The module is callable: ``ta.sweep(...)`` is :func:`sweep`.
"""
import sys
import types

from .driver import load_table, sweep
from .plan import SweepError, parse_grid, parse_seeds
from .stats import Summary, summarize, t_quantile
from .table import SweepTable

__all__ = ["sweep", "load_table", "SweepTable", "SweepError", "Summary", "summarize",
           "t_quantile", "parse_grid", "parse_seeds"]


class _CallableModule(types.ModuleType):
    """``tinygrad_attn.sweep`` is a package and, called, the :func:`sweep` function."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
