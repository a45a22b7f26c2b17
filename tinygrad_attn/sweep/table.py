"""The sweep's table: every metric of every configuration by epoch, across seeds.

One row per (configuration, epoch, metric) with the number of seeds ``n``, the mean, the
sample standard deviation and the 95 % Student-t interval of the mean
(:mod:`tinygrad_attn.sweep.stats`). :class:`SweepTable` writes it as CSV (every number at
full precision, for other tools) and as Markdown (one section per metric, one line per
configuration, one column per epoch: ``mean ± std [low, high]``).
"""
from __future__ import annotations

import csv
import io
import math
import numbers
import os

from ..files import write_file
from .stats import Summary, summarize

__all__ = ["SweepTable", "build_rows", "metric_names", "format_value"]

CSV_COLUMNS = ("epoch", "metric", "n", "mean", "std", "ci_low", "ci_high", "level")


def _is_value(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def metric_names(histories) -> list[str]:
    """Every scalar metric found in the histories (``epoch`` and lists excluded), losses first."""
    seen = []
    for h in histories:
        for entry in h:
            for k, v in entry.items():
                if k != "epoch" and _is_value(v) and k not in seen:
                    seen.append(k)

    def rank(k):
        return (0 if k == "loss" else 1 if k.startswith("val_") else 2)

    return sorted(seen, key=lambda k: (rank(k), seen.index(k)))


def build_rows(groups, level=0.95) -> list[dict]:
    """Table rows from ``[(config, [history, ...]), ...]`` (one history per seed).

    Returns:
        list of dicts: the config's keys, then ``epoch``, ``metric`` and the
        :class:`~.stats.Summary` fields ``n``, ``mean``, ``std``, ``ci_low``, ``ci_high``,
        ``level``. A metric missing (or None) in some seeds' epoch is summarised over the
        seeds that have it.
    """
    rows = []
    for config, histories in groups:
        if not histories:
            continue
        metrics = metric_names(histories)
        epochs = sorted({e["epoch"] for h in histories for e in h if _is_value(e.get("epoch"))})
        for epoch in epochs:
            for m in metrics:
                vals = [e[m] for h in histories for e in h
                        if e.get("epoch") == epoch and _is_value(e.get(m))]
                if not vals:
                    continue
                s = summarize(vals, level)
                rows.append({**config, "epoch": int(epoch), "metric": m, "n": s.n,
                             "mean": s.mean, "std": s.std, "ci_low": s.low, "ci_high": s.high,
                             "level": level})
    return rows


def _decimals(metric, spread) -> int:
    """Decimals that show the spread to two significant digits (2 for percentages without one)."""
    scale = 100.0 if metric.endswith("acc") else 1.0
    if spread is None or spread == 0 or not math.isfinite(spread):
        return 2 if metric.endswith("acc") else 4
    return max(0, min(6, 1 - math.floor(math.log10(abs(spread) * scale))))


def format_value(metric, v, decimals=None) -> str:
    """A number for the Markdown table: accuracies (``*acc``) in percent, others as they are.

    ``decimals`` fixes the digits after the point (default: 2 for accuracies, else 4
    significant digits).
    """
    if v is None:
        return "–"
    if metric.endswith("acc"):
        return f"{v * 100:.{2 if decimals is None else decimals}f}"
    return f"{v:.4g}" if decimals is None else f"{v:.{decimals}f}"


def _cell(metric, row) -> str:
    unit = " %" if metric.endswith("acc") else ""
    if row["std"] is None:
        return f"{format_value(metric, row['mean'])}{unit} (n=1)"
    d = _decimals(metric, row["std"])
    return (f"{format_value(metric, row['mean'], d)} ± {format_value(metric, row['std'], d)}{unit} "
            f"[{format_value(metric, row['ci_low'], d)}, {format_value(metric, row['ci_high'], d)}]")


class SweepTable:
    """The result of a sweep: its runs and the table of every metric across seeds.

    Attributes:
        keys: the grid's option names (the configuration columns), in grid order.
        rows: one dict per (configuration, epoch, metric): the keys' values, ``epoch``,
            ``metric``, ``n``, ``mean``, ``std``, ``ci_low``, ``ci_high``, ``level``
            (``std`` and the interval are None with one seed).
        runs: one dict per run: ``folder``, ``config``, ``seed``, ``status`` (``finished``,
            ``failed``, ``not run``), ``error`` (for failed runs).
        folder: the sweep's output folder (or None).

    In a notebook the table shows itself as Markdown.
    """

    def __init__(self, keys, rows, runs=(), folder=None):
        self.keys = list(keys)
        self.rows = list(rows)
        self.runs = list(runs)
        self.folder = folder

    @property
    def failed(self) -> list[dict]:
        """The runs that failed (with their ``error``)."""
        return [r for r in self.runs if r["status"] == "failed"]

    @property
    def metrics(self) -> list[str]:
        """The metrics in the table, in order of appearance."""
        out = []
        for r in self.rows:
            if r["metric"] not in out:
                out.append(r["metric"])
        return out

    def configs(self) -> list[dict]:
        """The configurations in the table, in grid order."""
        out = []
        for r in self.rows:
            c = {k: r[k] for k in self.keys}
            if c not in out:
                out.append(c)
        return out

    def summary(self, metric, epoch=None, **config) -> Summary:
        """The :class:`~.stats.Summary` of ``metric`` at ``epoch`` (default: the last) for one configuration.

        ``config`` names the configuration by its grid values as text, e.g.
        ``table.summary("val_acc", epoch=1, score="dot")``.

        Raises:
            KeyError: no such metric, epoch or configuration in the table (the message lists
                what there is).
        """
        config = {k.replace("-", "_"): "true" if v is True else "false" if v is False else str(v)
                  for k, v in config.items()}
        unknown = set(config) - set(self.keys)
        if unknown:
            raise KeyError(f"summary: {sorted(unknown)} are not grid keys (keys: {self.keys})")
        rows = [r for r in self.rows if r["metric"] == metric
                and all(r[k] == v for k, v in config.items())]
        configs = {tuple(r[k] for k in self.keys) for r in rows}
        if not rows:
            raise KeyError(f"summary: no {metric!r} for {config or 'the sweep'} (metrics: "
                           f"{self.metrics}; configurations: {self.configs()})")
        if len(configs) > 1:
            raise KeyError(f"summary: {config or 'no configuration'} matches {len(configs)} "
                           f"configurations; name all of {self.keys}")
        epoch = max(r["epoch"] for r in rows) if epoch is None else epoch
        for r in rows:
            if r["epoch"] == epoch:
                return Summary(r["n"], r["mean"], r["std"], r["ci_low"], r["ci_high"], r["level"])
        raise KeyError(f"summary: no epoch {epoch} (epochs: {sorted({r['epoch'] for r in rows})})")

    # ------------------------------------------------------------------ output
    def csv(self) -> str:
        """The table as CSV text (a header line, then one line per row; empty cell for None)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([*self.keys, *CSV_COLUMNS])
        for r in self.rows:
            w.writerow([r[k] for k in self.keys] +
                       ["" if r[c] is None else repr(r[c]) if isinstance(r[c], float) else r[c]
                        for c in CSV_COLUMNS])
        return buf.getvalue()

    def markdown(self, title="Sweep") -> str:
        """The table as Markdown: one section per metric, one line per configuration."""
        n_seeds = sorted({r["n"] for r in self.rows})
        level = self.rows[0]["level"] if self.rows else 0.95
        lines = [f"# {title}", ""]
        finished = sum(r["status"] == "finished" for r in self.runs)
        if self.runs:
            lines += [f"{finished} of {len(self.runs)} runs finished"
                      + (f", {len(self.failed)} failed" if self.failed else "") + ".", ""]
        lines += [f"Each cell: mean ± sample standard deviation [{level * 100:g} % confidence "
                  f"interval of the mean, Student t] over the seeds (n = "
                  f"{', '.join(map(str, n_seeds)) or '0'}); accuracies in percent.", ""]
        for metric in self.metrics:
            rows = [r for r in self.rows if r["metric"] == metric]
            epochs = sorted({r["epoch"] for r in rows})
            lines += [f"## {metric}", ""]
            head = [k.replace("_", "-") for k in self.keys] or ["configuration"]
            lines.append("| " + " | ".join(head + [f"epoch {e}" for e in epochs]) + " |")
            lines.append("|" + " --- |" * (len(head) + len(epochs)))
            for c in self.configs():
                cells = [c[k] for k in self.keys] or ["(fixed options)"]
                for e in epochs:
                    r = next((r for r in rows if r["epoch"] == e
                              and all(r[k] == c[k] for k in self.keys)), None)
                    cells.append("" if r is None else _cell(metric, r))
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        if self.failed:
            lines += ["## Failed runs", ""]
            lines += [f"* `{r['folder']}`: {r['error']}" for r in self.failed]
            lines.append("")
        return "\n".join(lines)

    def _repr_markdown_(self):
        return self.markdown()

    def __repr__(self):
        return (f"SweepTable({len(self.configs())} configurations, {len(self.runs)} runs, "
                f"{len(self.failed)} failed, metrics {self.metrics})")

    def save(self, folder) -> tuple[str, str]:
        """Write ``table.csv`` and ``table.md`` into ``folder`` (atomically); return their paths."""
        paths = (os.path.join(folder, "table.csv"), os.path.join(folder, "table.md"))
        write_file(paths[0], self.csv())
        write_file(paths[1], self.markdown())
        return paths
