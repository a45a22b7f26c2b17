"""Sweeps on a real Dask cluster (local, and through a scheduler address): tiny models, seconds.

* the command line: 2 configurations x 2 seeds on a local cluster of 2 worker processes; every
  run is an ordinary run folder identical to ``tinygrad-attn train``'s; the table's numbers are
  the statistics of the runs' histories; a second start skips everything, a larger grid trains
  only what is new;
* a run that fails and a worker killed in the middle of a run: the others finish, the failed
  runs are reported, and the sweep resumes;
* Ctrl-C: exit status 130, finished runs kept, nothing half-written, and the sweep resumes;
* without Dask: a clear error naming the extra, and a finished sweep's table still builds.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the cluster extra (Dask) is not installed")

from tinygrad_attn.cli import main  # noqa: E402
from tinygrad_attn.sweep import sweep  # noqa: E402

TINY = ["--model", "attention", "--data", "date", "--samples", "60", "--hidden", "4",
        "--wordvec", "4", "--batch-size", "30", "--epochs", "2"]


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())


def _history(path):
    return json.loads(Path(path).read_text())["history"]


def test_cli_sweep_runs_every_configuration_and_seed_and_resumes(tmp_path, capsys):
    out = tmp_path / "sw"
    rc = main(["sweep", *TINY, "--grid", "score=dot,additive", "--seeds", "0-1", "--workers", "2",
               "--out", str(out)])
    text = capsys.readouterr()
    assert rc == 0, text.err
    assert "4 runs (2 configurations x 2 seeds)" in text.out
    assert "local cluster of 2 worker processes" in text.out
    runs = [f"score-{s}/seed-{i}" for s in ("dot", "additive") for i in (0, 1)]
    for r in runs:
        assert sorted(os.listdir(out / r)) == ["history.json", "model.npz", "run.json"]
        assert len(_history(out / r / "history.json")) == 2
    assert {"sweep.json", "table.csv", "table.md", "curves.png"} <= set(os.listdir(out))
    assert not [f for f in _files(out) if ".tmp-" in f]

    # a run of the sweep is the run `tinygrad-attn train` makes with the same options
    solo = tmp_path / "solo"
    assert main(["train", *TINY, "--score", "additive", "--seed", "1", "--threads", "1",
                 "--no-progress", "--out", str(solo)]) == 0
    capsys.readouterr()
    mine = _history(out / "score-additive/seed-1/history.json")
    theirs = _history(solo / "history.json")
    assert [e["loss_curve"] for e in mine] == [e["loss_curve"] for e in theirs]
    assert [e["val_acc"] for e in mine] == [e["val_acc"] for e in theirs]
    from tinygrad_attn.training import load_checkpoint
    model, info = load_checkpoint(out / "score-additive/seed-1/model.npz")
    assert info.config["score"] == "additive" and model.config["score"] == "additive"

    # the table: mean, sample std and Student-t interval of the seeds' histories
    rows = list(csv.DictReader(open(out / "table.csv")))
    assert {r["metric"] for r in rows} >= {"loss", "val_acc", "train_time", "time", "lr"}
    assert len({(r["score"], r["epoch"]) for r in rows}) == 4
    for r in rows:
        vals = [e[r["metric"]] for i in (0, 1)
                for e in _history(out / f"score-{r['score']}/seed-{i}/history.json")
                if e["epoch"] == int(r["epoch"])]
        assert r["n"] == "2"
        assert float(r["mean"]) == pytest.approx(statistics.mean(vals))
        assert float(r["std"]) == pytest.approx(statistics.stdev(vals), abs=1e-12)
        half = 12.706204736174 * statistics.stdev(vals) / 2 ** 0.5   # t(0.975, 1)
        assert float(r["ci_high"]) == pytest.approx(statistics.mean(vals) + half, abs=1e-9)
    assert "## val_acc" in (out / "table.md").read_text()

    # started again: nothing to train, no cluster, nothing rewritten
    stamp = {r: os.stat(out / r / "model.npz").st_mtime_ns for r in runs}
    assert main(["sweep", *TINY, "--grid", "score=dot,additive", "--seeds", "0-1",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 finished before (skipped), 0 to train" in text and "cluster" not in text
    assert stamp == {r: os.stat(out / r / "model.npz").st_mtime_ns for r in runs}
    # a larger grid: only the new configuration trains
    assert main(["sweep", *TINY, "--grid", "score=dot,additive,general", "--seeds", "0-1",
                 "--workers", "1", "--out", str(out)]) == 0
    assert "4 finished before (skipped), 2 to train" in capsys.readouterr().out
    assert stamp == {r: os.stat(out / r / "model.npz").st_mtime_ns for r in runs}
    # other fixed options in the same folder are refused before anything runs
    assert main(["sweep", *TINY[:-1], "3", "--grid", "score=dot", "--out", str(out)]) == 2
    assert "holds a sweep with other fixed options" in capsys.readouterr().err


@pytest.fixture
def cluster():
    """A local Dask cluster of 2 worker processes, reached through its scheduler address."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None, silence_logs=40)
    with c, distributed.Client(c) as client:
        yield c, client


def test_failed_runs_and_a_killed_worker_do_not_stop_the_others(tmp_path, cluster):
    c, client = cluster
    bad = tmp_path / "bad.txt"
    bad.write_text("no separator here\n")
    out = tmp_path / "sw"
    opts = dict(model="attention", samples=3000, hidden=24, wordvec=8, batch_size=50, epochs=1)
    grid = {"data": ["date", str(bad)]}
    pids = client.run(os.getpid)                          # worker address -> process id
    box = {}
    th = threading.Thread(target=lambda: box.update(table=sweep(
        out, grid, "0-2", address=c.scheduler_address, verbose=False, plot=False, **opts)))
    th.start()
    killed = None
    deadline = time.time() + 120
    while killed is None and th.is_alive() and time.time() < deadline:
        for addr, keys in client.processing().items():
            if any("data-date" in str(k) for k in keys) and addr in pids:
                os.kill(pids[addr], signal.SIGKILL)       # a worker dies in the middle of a run
                killed = pids[addr]
                break
        time.sleep(0.05)
    th.join(300)
    assert killed is not None, "no run was seen running"
    table = box["table"]
    status = {r["folder"]: r for r in table.runs}
    date = [f for f in status if f.startswith("data-date/")]
    broken = [f for f in status if not f.startswith("data-date/")]
    assert len(date) == 3 and len(broken) == 3
    assert all(status[f]["status"] == "finished" for f in date)
    for f in broken:
        assert status[f]["status"] == "failed"
        assert str(bad) in status[f]["error"] and "separat" in status[f]["error"]
    assert table.summary("val_acc", data="date").n == 3
    assert all((out / f / "model.npz").is_file() for f in date)
    assert not any((out / f).exists() for f in broken)
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)

    # resumed after the data file is repaired: only the failed runs train
    bad.write_text("".join(f"{i}+{i}_{2 * i}\n" for i in range(300)))
    table = sweep(out, grid, "0-2", address=c.scheduler_address, verbose=False, plot=False,
                  **opts)
    assert not table.failed and all(r["status"] == "finished" for r in table.runs)
    assert table.summary("val_acc", data=str(bad)).n == 3
    assert table.summary("val_acc", data="date").n == 3
    # the run folder the killed worker left in the temporary directory was cleaned up
    assert not [n for n in os.listdir(tempfile.gettempdir())
                if n.startswith(f"tinygrad-attn-run-{killed}-")]


def test_ctrl_c_stops_cleanly_keeps_finished_runs_and_resumes(tmp_path):
    out = tmp_path / "sw"
    cmd = [sys.executable, "-m", "tinygrad_attn", "sweep", "--model", "attention",
           "--samples", "3000", "--hidden", "24", "--wordvec", "8", "--batch-size", "50",
           "--epochs", "1", "--grid", "score=dot,additive,general", "--seeds", "0",
           "--workers", "1", "--out", str(out), "--no-plot"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True,  # Ctrl-C reaches the whole process group
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 180
        while not (out / "score-dot/seed-0/run.json").exists():
            assert p.poll() is None and time.time() < deadline, p.communicate()[1][-2000:]
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["state"] == "interrupted"
    done = [r["folder"] for r in meta["runs"] if r["status"] == "finished"]
    assert "score-dot/seed-0" in done and len(done) < 3
    for f in done:
        assert sorted(os.listdir(out / f)) == ["history.json", "model.npz", "run.json"]
    assert not [f for f in _files(out) if ".tmp-" in f]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{len(done)} finished before (skipped), {3 - len(done)} to train" in r.stdout


def test_without_dask_a_clear_error_and_the_finished_table_still_builds(tmp_path, capsys,
                                                                        monkeypatch):
    out = tmp_path / "sw"
    opts = [*TINY[:-1], "1", "--keep", "best"]
    assert main(["sweep", *opts, "--grid", "score=dot", "--seeds", "0", "--workers", "1",
                 "--out", str(out), "--no-plot"]) == 0
    capsys.readouterr()
    # every file the run wrote comes back (--keep best adds model-last.npz); the lock does not
    assert sorted(os.listdir(out / "score-dot/seed-0")) == ["history.json", "model-last.npz",
                                                            "model.npz", "run.json"]
    monkeypatch.setitem(sys.modules, "distributed", None)     # as if the extra were missing
    assert main(["sweep", *opts, "--grid", "score=dot", "--seeds", "0", "--out", str(out),
                 "--no-plot"]) == 0                  # finished: no cluster needed
    capsys.readouterr()
    assert main(["sweep", *opts, "--grid", "score=dot,additive", "--seeds", "0",
                 "--out", str(out), "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "tinygrad-attn[cluster]"' in err
