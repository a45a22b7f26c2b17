"""Every command on ``--model transformer`` (tiny sizes): train (schedules, label smoothing),
translate (greedy and beam), eval, attention (kinds, layers, heads), graph, gradcheck."""
import json

import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.data import make_dates, save_text

TINY = ["--hidden", "8", "--heads", "2", "--layers", "2", "--ff", "12", "--dropout", "0.1"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("trun")
    code = main(["train", "--model", "transformer", *TINY, "--norm", "post", "--positions",
                 "learned", "--max-len", "40", "--data", "date", "--samples", "200", "--epochs",
                 "2", "--batch-size", "64", "--schedule", "cosine", "--warmup", "2",
                 "--label-smoothing", "0.1", "--reverse-input", "--no-progress", "--out", str(out)])
    assert code == 0
    return out


def test_train_records_the_config_schedule_and_history(run_dir):
    hist = json.loads((run_dir / "history.json").read_text())
    cfg = hist["config"]
    assert cfg["model"] == "transformer" and cfg["d_model"] == 8 and cfg["num_heads"] == 2
    assert cfg["norm"] == "post" and cfg["positions"] == "learned" and cfg["max_len"] == 40
    assert len(hist["history"]) == 2
    assert hist["history"][1]["lr"] < hist["history"][0]["lr"] <= 0.001   # cosine decays


def test_translate_eval(run_dir, tmp_path, capsys):
    ck = str(run_dir / "model.npz")
    assert main(["translate", "--checkpoint", ck, "may 4, 2021", "1/2/05"]) == 0
    assert len(capsys.readouterr().out.strip().split("\n")) == 2
    assert main(["translate", "--checkpoint", ck, "--beam", "3", "may 4, 2021"]) == 0
    assert len(capsys.readouterr().out.strip().split("\n")) == 1
    path = tmp_path / "d.txt"
    save_text(path, make_dates(20, seed=3))
    assert main(["eval", "--checkpoint", ck, "--data", str(path)]) == 0
    assert "/20 = " in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["cross", "enc", "dec"])
def test_attention_every_kind_layer_and_head(run_dir, tmp_path, capsys, kind):
    ck = str(run_dir / "model.npz")
    out = tmp_path / f"{kind}.png"
    assert main(["attention", "--checkpoint", ck, "--out", str(out), "--kind", kind,
                 "--layer", "all", "--head", "all", "may 4, 2021"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert text.count(f"{kind} layer ") == 4                      # 2 layers x 2 heads
    assert main(["attention", "--checkpoint", ck, "--out", str(out), "--kind", kind,
                 "--layer", "0", "--head", "1", "may 4, 2021"]) == 0
    assert f"{kind} layer 0, head 1" in capsys.readouterr().out


@pytest.mark.parametrize("kind, xlabel, ylabel", [
    ("cross", "input", "output"),
    ("enc", "input (keys)", "input (queries)"),
    ("dec", "answer so far (start + answer[:-1], keys)", "output (queries)"),
])
def test_attention_axis_labels_say_what_each_kind_maps(run_dir, tmp_path, monkeypatch, kind,
                                                        xlabel, ylabel):
    """A decoder self-attention map's columns are the answer so far, not the input."""
    from tinygrad_attn import viz

    figs = []
    real = viz.plot_attention_grid
    monkeypatch.setattr(viz, "plot_attention_grid",
                        lambda *a, **k: figs.append(real(*a, **k)) or figs[-1])
    assert main(["attention", "--checkpoint", str(run_dir / "model.npz"), "--out",
                 str(tmp_path / "m.png"), "--kind", kind, "--no-text", "may 4, 2021"]) == 0
    ax = figs[0].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (xlabel, ylabel)


def test_graph_and_gradcheck(tmp_path, capsys):
    dot = tmp_path / "g.dot"
    assert main(["graph", "--model", "transformer", "--out", str(dot)]) == 0
    src = dot.read_text()
    assert "encoder/0" in src and "decoder/0" in src and "cross_attn" in src
    folded = tmp_path / "blocks.dot"
    assert main(["graph", "--model", "transformer", "--depth", "4", "--out", str(folded)]) == 0
    small = folded.read_text()
    assert small.count("->") < src.count("->") / 3                  # far fewer edges
    assert 'label="self_attn\\n17 ops, 8 params' in small           # one box per sub-layer
    assert "cluster_TransformerSeq2seq/decoder/0" in small
    assert main(["graph", "--model", "transformer", "--depth", "0", "--out", str(folded)]) == 2
    assert main(["gradcheck", "model", "transformer", "--max-elements", "4"]) == 0
    assert "gradcheck PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["train", "--model", "attention", "--heads", "2", "--out", "{tmp}"],
     "--heads is an option of transformer, not of --model attention"),
    (["train", "--model", "transformer", "--hidden", "6", "--heads", "4", "--samples", "20",
      "--out", "{tmp}"], "d_model (6) must be a multiple of num_heads (4)"),
    (["train", "--model", "transformer", "--warmup", "10", "--out", "{tmp}"],
     "--warmup needs --schedule inverse-sqrt or cosine"),
    (["train", "--model", "transformer", "--label-smoothing", "1.5", "--out", "{tmp}"],
     "--label-smoothing: must be a finite number in [0, 1)"),
    (["train", "--model", "ntm", "--data", "copy", "--max-length", "3", "--label-smoothing",
      "0.1", "--samples", "20", "--out", "{tmp}/run"], "does not support label smoothing"),
    (["attention", "--checkpoint", "{ck}", "--out", "{tmp}/a.png", "--head", "7", "may 4"],
     "--head 7 is out of range: the model has 2 heads"),
    (["attention", "--checkpoint", "{ck}", "--out", "{tmp}/a.png", "--layer", "mean", "may 4"],
     "--layer takes an index or 'all'"),
])
def test_error_paths(run_dir, tmp_path, capsys, argv, message):
    fill = dict(tmp=str(tmp_path), ck=str(run_dir / "model.npz"))
    code = main([a.format(**fill) for a in argv])
    err = capsys.readouterr().err
    assert code != 0 and message in err
    assert "Traceback" not in err and len(err.strip().split("\n")) == 1
    assert not (tmp_path / "run").exists()  # a refused run leaves no folder behind
