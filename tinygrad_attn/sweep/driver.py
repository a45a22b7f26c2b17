"""The sweep itself: plan, skip what is finished, run the rest on the cluster, write the table.

The output folder::

    OUT/sweep.json                  the plan and every run's status (finished, failed, not run)
    OUT/<config>/seed-<s>/          an ordinary run folder: model.npz, history.json (as `train`
                                    writes them) and run.json (its command line, host, time, log)
    OUT/table.csv, OUT/table.md     every metric by epoch: mean, std, 95 % interval across seeds
    OUT/curves.png                  learning curves with bands (when matplotlib is installed)

A run counts as finished when its ``run.json`` exists (written last) with the same command
line and its two files are there; starting the same sweep again skips it. Every file is
written by this process (workers send the bytes back), atomically.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

from ..files import write_file
from .plan import (
    SweepError,
    options_to_argv,
    parse_grid,
    parse_seeds,
    plan_runs,
    train_parser,
)
from .runner import RUN_FILES
from .table import SweepTable, build_rows

__all__ = ["sweep", "load_table", "SWEEP_FILE", "RUN_RECORD"]

SWEEP_FILE = "sweep.json"
RUN_RECORD = "run.json"
_FORMAT = 1
_MAX_JSON = 64 << 20  # bytes of a history/sweep file read back


def _read_json(path):
    if os.path.getsize(path) > _MAX_JSON:
        raise SweepError(f"{path} is larger than {_MAX_JSON >> 20} MiB; not a sweep file")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _finished(out, run):
    """True when the run's record and files are there and the record has this command line."""
    folder = os.path.join(out, run.folder)
    rec = os.path.join(folder, RUN_RECORD)
    if not os.path.isfile(rec) or not all(os.path.isfile(os.path.join(folder, n))
                                          for n in RUN_FILES):
        return False
    try:
        record = _read_json(rec)
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("argv") == list(run.argv)


def _check_out(out, fixed, overwrite):
    """Refuse a file, a folder that is not a sweep, or a sweep made with other fixed options."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise SweepError(f"--out: {out} exists and is not a folder")
    if not os.path.isdir(out) or not os.listdir(out):
        return
    meta_path = os.path.join(out, SWEEP_FILE)
    if not os.path.isfile(meta_path):
        raise SweepError(f"--out: {out} is not empty and holds no {SWEEP_FILE}: not a sweep "
                         "folder; choose a new or empty folder")
    try:
        meta = _read_json(meta_path)
    except (OSError, ValueError) as e:
        raise SweepError(f"--out: {meta_path} cannot be read ({e})") from None
    if not isinstance(meta, dict):
        raise SweepError(f"--out: {meta_path} is not a sweep file")
    if meta.get("fixed") != fixed and not overwrite:
        raise SweepError(f"--out: {out} holds a sweep with other fixed options "
                         f"({' '.join(meta.get('fixed') or []) or 'none'}; now "
                         f"{' '.join(fixed) or 'none'}); choose another folder, or pass "
                         "--overwrite to train every run again")


def _history(out, run):
    with open(os.path.join(out, run.folder, "history.json"), encoding="utf-8") as f:
        data = json.load(f)
    hist = data.get("history") if isinstance(data, dict) else None
    if not isinstance(hist, list):
        raise SweepError(f"{os.path.join(out, run.folder, 'history.json')}: no history list")
    return hist


def _table(out, runs, statuses, grid_keys):
    groups, seen = [], {}
    for run in runs:
        key = json.dumps(run.config, sort_keys=True)
        if key not in seen:
            seen[key] = (run.config, [])
            groups.append(seen[key])
        if statuses[run.folder]["status"] == "finished":
            seen[key][1].append(_history(out, run))
    rows = build_rows(groups)
    return SweepTable(grid_keys, rows, [statuses[r.folder] for r in runs], folder=out)


def _clip(metric, v):
    """Bands are drawn inside a metric's range: accuracies in [0, 1], losses and errors >= 0."""
    if metric.endswith("acc"):
        return min(1.0, max(0.0, v))
    return max(0.0, v) if ("loss" in metric or "error" in metric) else v


def _band_panels(out, runs, statuses, table):
    """``{panel: {config label: series}}`` for :func:`tinygrad_attn.viz.plot_bands`."""
    from .stats import summarize

    panels = {}
    labels = {}
    for run in runs:
        labels.setdefault(json.dumps(run.config, sort_keys=True),
                          " ".join(f"{k.replace('_', '-')}={v}" for k, v in run.config.items())
                          or "runs")
    # the training loss within epochs (the Trainer's loss_curve), mean and 95 % band
    loss = {}
    for key, label in labels.items():
        curves = []
        for run in runs:
            if json.dumps(run.config, sort_keys=True) != key or \
                    statuses[run.folder]["status"] != "finished":
                continue
            pts = []
            for e in _history(out, run):
                c = e.get("loss_curve") or [e.get("loss")]
                pts += [(e["epoch"] - 1 + (i + 0.5) / len(c), v) for i, v in enumerate(c)]
            curves.append(pts)
        if not curves or any(len(c) != len(curves[0]) for c in curves):
            continue
        series = {"x": [p[0] for p in curves[0]], "mean": [], "low": [], "high": []}
        for i in range(len(curves[0])):
            s = summarize([c[i][1] for c in curves])
            series["mean"].append(s.mean)
            series["low"].append(None if s.low is None else max(0.0, s.low))  # a loss is >= 0
            series["high"].append(s.high)
        loss[label] = series
    if loss:
        panels["training loss"] = loss
    for metric in table.metrics:
        if not metric.startswith("val_"):
            continue
        panel = {}
        for c in table.configs():
            label = " ".join(f"{k.replace('_', '-')}={c[k]}" for k in table.keys) or "runs"
            rows = sorted((r for r in table.rows if r["metric"] == metric
                           and all(r[k] == c[k] for k in table.keys)), key=lambda r: r["epoch"])
            scale = 100.0 if metric.endswith("acc") else 1.0
            panel[label] = {"x": [r["epoch"] for r in rows],
                            "mean": [r["mean"] * scale for r in rows],
                            "low": [None if r["ci_low"] is None else
                                    _clip(metric, r["ci_low"]) * scale for r in rows],
                            "high": [None if r["ci_high"] is None else
                                     _clip(metric, r["ci_high"]) * scale for r in rows]}
        panels[metric + (" (%)" if metric.endswith("acc") else "")] = panel
    return panels


def _plot(out, runs, statuses, table, say):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        say('curves: not drawn (matplotlib is missing: pip install "tinygrad-attn[viz]")')
        return None
    from ..viz import plot_bands

    panels = _band_panels(out, runs, statuses, table)
    if not panels:
        return None
    path = os.path.join(out, "curves.png")
    plot_bands(panels, path, title="mean across seeds; band: 95 % interval of the mean "
                                   "(cut to the metric's range)")  # written atomically
    return path


def _write_meta(out, fixed, grid, seeds, runs, statuses, state):
    write_file(os.path.join(out, SWEEP_FILE), json.dumps(
        {"format": _FORMAT, "fixed": fixed, "grid": grid, "seeds": seeds, "state": state,
         "runs": [dict(statuses[r.folder], argv=list(r.argv)) for r in runs]}, indent=1))


def _store(out, run, result):
    """Write a finished run's files (bytes from the worker) into its folder; record last."""
    folder = os.path.join(out, run.folder)
    os.makedirs(folder, exist_ok=True)
    files = result["files"]
    for name in [n for n in files if n != "history.json"] + ["history.json"]:
        if os.sep in name or name != os.path.basename(name) or name in ("", ".", ".."):
            raise SweepError(f"run {run.folder}: the worker returned a bad file name {name!r}")
        write_file(os.path.join(folder, name), files[name])
    record = {k: result[k] for k in ("seconds", "host", "version", "log")}
    record.update(argv=list(run.argv), config=run.config, seed=run.seed,
                  finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    write_file(os.path.join(folder, RUN_RECORD), json.dumps(record, indent=1))


def _last(history, key):
    for e in reversed(history):
        v = e.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
    return None


def _brief(result):
    try:
        h = json.loads(result["files"]["history.json"])["history"]
    except (KeyError, ValueError, TypeError):
        return ""
    parts = []
    acc = _last(h, "val_acc")
    if acc is not None:
        parts.append(f"val_acc {acc * 100:.2f}%")
    bits = _last(h, "val_bit_errors")
    if bits is not None:
        parts.append(f"bit errors {bits:.3f}")
    loss = _last(h, "loss")
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    return "  ".join(parts)


@contextlib.contextmanager
def _term_as_interrupt():
    """Inside the block, SIGTERM (``kill``, a job scheduler) stops the sweep as Ctrl-C does.

    A handler already in place (the command line raises its own ``KeyboardInterrupt``
    subclass) is kept; only the default action, which would end the process at once, is
    replaced.
    """
    def handler(signum, frame):
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        yield
        return
    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the signal alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _failure_text(exc):
    msg = " ".join(f"{type(exc).__name__}: {exc}".split())
    if isinstance(exc, ModuleNotFoundError) and "tinygrad_attn" in str(exc):
        msg += " (install tinygrad-attn on every worker)"
    return msg


def sweep(out, grid=None, seeds="0-2", *, workers=None, address=None, overwrite=False,
          plot=True, verbose=True, train_args=(), **options):
    """Train every configuration of ``grid`` with every seed; return the table across seeds.

    Each run is ``tinygrad-attn train`` with the fixed options, the configuration's values and
    one seed, trained on a Dask cluster (a local one unless ``address`` is given) into its own
    run folder under ``out``. Finished runs found in ``out`` are skipped, so calling it again
    resumes an interrupted sweep; a run that fails is reported and the others go on.

    Args:
        out: the sweep's folder (created; an existing one must hold this sweep).
        grid: ``{option: [values]}`` or ``["score=dot,additive", ...]``: the configurations
            are the product of the values (None: one configuration, the fixed options).
        seeds: ``"0-4"``, ``"0,3,7"`` or a list of integers.
        workers: local worker processes (default: one per core; ignored with ``address``).
        address: a Dask scheduler's address (``tcp://host:8786``) to submit to.
        overwrite: train every run again, replacing finished ones (and accept other fixed
            options than those ``out`` was made with).
        plot: draw ``curves.png`` (needs matplotlib).
        verbose: print a line per run as it finishes.
        train_args: more fixed ``train`` arguments as a list (``["--samples", "2000"]``).
        **options: fixed ``train`` options by name: ``model="attention", data="date",
            epochs=2, samples=2000, reverse_input=True``.

    Returns:
        SweepTable: every metric by epoch, with the runs' statuses (``table.failed``).
        ``table.csv`` and ``table.md`` are written to ``out`` too.

    Raises:
        SweepError: a bad grid, seed list, option or folder (before anything runs).
        MissingExtraError: Dask distributed is not installed (``pip install
            "tinygrad-attn[cluster]"``) and there are runs to train.
        ConnectionError: no scheduler at ``address``.
        KeyboardInterrupt: after cancelling the runs in flight; finished runs are kept.
    """
    def say(msg):
        if verbose:
            print(msg, flush=True)

    out = os.fspath(out)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= 1024):
        raise SweepError(f"--workers must be an integer in [1, 1024], got {workers!r}")
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise SweepError(f"--address must be a scheduler address like tcp://host:8786, "
                         f"got {address!r}")
    seed_list = parse_seeds(seeds)
    grid = parse_grid(grid or {})
    parser = train_parser()
    fixed = options_to_argv(options, parser) + [str(a) for a in train_args]
    runs = plan_runs(fixed, grid, seed_list, parser)
    _check_out(out, fixed, overwrite)

    statuses = {r.folder: {"folder": r.folder, "config": r.config, "seed": r.seed,
                           "status": "not run", "error": None} for r in runs}
    todo = []
    for r in runs:
        if not overwrite and _finished(out, r):
            statuses[r.folder]["status"] = "finished"
        else:
            todo.append(r)
    n_cfg = len(runs) // len(seed_list)
    say(f"sweep: {len(runs)} runs ({n_cfg} configuration{'s' * (n_cfg != 1)} x "
        f"{len(seed_list)} seed{'s' * (len(seed_list) != 1)}); "
        f"{len(runs) - len(todo)} finished before (skipped), {len(todo)} to train")

    if todo:
        from . import engine

        with engine.connect(address, workers, len(todo)) as (client, where):
            os.makedirs(out, exist_ok=True)
            _write_meta(out, fixed, grid, seed_list, runs, statuses, "running")
            say(f"sweep: training on {where}")
            futures = engine.submit_runs(client, todo)
            done = 0
            try:
                with _term_as_interrupt():
                    for fut in engine.as_completed(futures):
                        run = futures[fut]
                        done += 1
                        try:
                            result = fut.result()
                        except Exception as e:  # the worker died too often, or could not run it
                            result = {"ok": False, "error": _failure_text(e), "seconds": 0.0,
                                      "host": "?"}
                        st = statuses[run.folder]
                        if result["ok"]:
                            _store(out, run, result)
                            st.update(status="finished", error=None)
                            say(f"[{done}/{len(todo)}] finished {run.label}: {_brief(result)} "
                                f"({result['seconds']:.1f} s on {result['host']})")
                        else:
                            st.update(status="failed", error=result["error"])
                            say(f"[{done}/{len(todo)}] FAILED   {run.label}: {result['error']}")
                        _write_meta(out, fixed, grid, seed_list, runs, statuses, "running")
            except KeyboardInterrupt:
                for fut in futures:
                    fut.cancel()
                _write_meta(out, fixed, grid, seed_list, runs, statuses, "interrupted")
                kept = sum(s["status"] == "finished" for s in statuses.values())
                print(f"sweep: interrupted; {kept} finished run{'s' * (kept != 1)} kept in "
                      f"{out} (run the same sweep again to train the rest)", file=sys.stderr,
                      flush=True)
                raise
        _write_meta(out, fixed, grid, seed_list, runs, statuses, "done")

    table = _table(out, runs, statuses, list(grid))
    if os.path.isdir(out):
        csv_path, md_path = table.save(out)
        say(f"table: {md_path}, {csv_path}")
        if plot:
            path = _plot(out, runs, statuses, table, say)
            if path:
                say(f"curves: {path}")
    return table


def load_table(out) -> SweepTable:
    """The table of the sweep in folder ``out`` as it stands (finished runs only; no training).

    Raises:
        SweepError: ``out`` holds no readable ``sweep.json``.
    """
    from .plan import Run

    path = os.path.join(os.fspath(out), SWEEP_FILE)
    try:
        meta = _read_json(path)
    except (OSError, ValueError) as e:
        raise SweepError(f"{out}: no readable {SWEEP_FILE} ({e})") from None
    runs = [Run(r["config"], r["seed"], tuple(r["argv"]), r["folder"]) for r in meta["runs"]]
    statuses = {r["folder"]: {k: r.get(k) for k in ("folder", "config", "seed", "status", "error")}
                for r in meta["runs"]}
    for r in runs:
        statuses[r.folder]["status"] = ("finished" if _finished(out, r) else
                                        statuses[r.folder]["status"] if
                                        statuses[r.folder]["status"] == "failed" else "not run")
    return _table(os.fspath(out), runs, statuses, list(meta.get("grid") or {}))
