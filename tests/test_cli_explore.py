"""tinygrad-attn explore: one HTML file per checkpoint and inputs; bad input is one line, nothing written."""
import os

import pytest

from tinygrad_attn.cli import main
from tests.explore_fixtures import DATES, EVIL, page_data, write_ntm_checkpoint, write_text_checkpoints


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ck")
    paths = write_text_checkpoints(folder)
    paths["ntm"] = write_ntm_checkpoint(folder)
    paths["ntm-ff"] = write_ntm_checkpoint(folder, "ntm-ff", controller="ff")
    return {k: str(v) for k, v in paths.items()}


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("name,kind", [("attention", "seq2seq"), ("additive-bi-masked", "seq2seq"),
                                       ("transformer", "transformer")])
def test_text_checkpoint(ck, tmp_path, capsys, name, kind):
    out = tmp_path / "e.html"
    code, stdout, err = _run(capsys, ["explore", "--checkpoint", ck[name], "--out", str(out), *DATES])
    assert code == 0, err
    assert f"explorer: {out} (" in stdout and "4 inputs" in stdout
    data = page_data(out.read_text(encoding="utf-8"))
    assert [p["kind"] for p in data["panels"]] == [kind]
    assert data["panels"][0]["label"] == ck[name]
    assert [i["label"] for i in data["inputs"]] == DATES


def test_compare_two_checkpoints(ck, tmp_path, capsys):
    out = tmp_path / "c.html"
    code, _, err = _run(capsys, ["explore", "--checkpoint", ck["attention"], "--compare",
                                 ck["additive-bi-masked"], "--out", str(out), "--title", "dot vs additive",
                                 DATES[0]])
    assert code == 0, err
    data = page_data(out.read_text(encoding="utf-8"))
    assert len(data["panels"]) == 2 and data["title"] == "dot vs additive"
    assert [p["label"] for p in data["panels"]] == [ck["attention"], ck["additive-bi-masked"]]
    code, _, err = _run(capsys, ["explore", "--checkpoint", ck["attention"], "--compare",
                                 ck["additive-bi-masked"], "--out", str(out), "--label", "dot", DATES[0]])
    assert code == 0, err
    assert [p["label"] for p in page_data(out.read_text(encoding="utf-8"))["panels"]] == [
        "dot", ck["additive-bi-masked"]]
    assert [p["reversed"] for p in data["panels"]] == [True, False]


def test_ntm_checkpoint_and_compare(ck, tmp_path, capsys):
    out = tmp_path / "n.html"
    code, stdout, err = _run(capsys, ["explore", "--checkpoint", ck["ntm"], "--compare", ck["ntm-ff"],
                                      "--examples", "2", "--length", "3", "--out", str(out)])
    assert code == 0, err
    assert "2 inputs" in stdout
    data = page_data(out.read_text(encoding="utf-8"))
    assert [p["kind"] for p in data["panels"]] == ["ntm", "ntm"]
    assert [i["label"] for i in data["inputs"]] == ["example 1 (T=7)", "example 2 (T=7)"]


@pytest.mark.parametrize("argv,message", [
    (["--checkpoint", "{seq2seq}", "may 4, 2021"], "(seq2seq) has no attention to explore; explore shows attention, ntm, transformer"),
    (["--checkpoint", "{attention}", "é"], "contains character(s) this model does not know: 'é'"),
    (["--checkpoint", "{attention}", "", " "], "TEXT 1 refused: empty (only spaces); there is nothing to translate (and 1 more)"),
    (["--checkpoint", "{attention}"], "give at least one TEXT"),
    (["--checkpoint", "{attention}", *["1"] * 33], "at most 32 TEXTs"),
    (["--checkpoint", "{attention}", "x" * 40], "reads at most 29"),
    (["--checkpoint", "{attention}", "--examples", "2", "1"], "--examples is for NTM checkpoints"),
    (["--checkpoint", "{ntm}", "abc"], "it takes no TEXT"),
    (["--checkpoint", "{attention}", "--compare", "{ntm}", "1"], "the same kind of input"),
    (["--checkpoint", "{nope}", "1"], "checkpoint"),
    (["--checkpoint", "{attention}", "--label", "a", "--label", "b", "1"], "--label given 2 times for 1 checkpoint"),
    (["--checkpoint", "{attention}", "--examples", "0", "1"], "--examples"),
])
def test_bad_input_one_line_nonzero_nothing_written(ck, tmp_path, capsys, argv, message):
    out = tmp_path / "o" / "x.html"
    out.parent.mkdir()
    fill = dict(ck, nope=str(tmp_path / "missing.npz"))
    code, stdout, err = _run(capsys, ["explore", "--out", str(out), *[a.format(**fill) for a in argv]])
    assert code == 2 and message in err, err
    assert len(err.strip().split("\n")) == 1 and "Traceback" not in err
    assert os.listdir(out.parent) == []


def test_a_refused_text_does_not_drop_the_others(ck, tmp_path, capsys):
    out = tmp_path / "e.html"
    code, stdout, err = _run(capsys, ["explore", "--checkpoint", ck["attention"], "--compare",
                                      ck["transformer"], "--out", str(out), "may 4, 2021", "é",
                                      "", "1/2/03"])
    assert code == 2 and "2 inputs" in stdout and out.exists()
    lines = err.strip().split("\n")
    assert [ln.split(" refused: ")[0] for ln in lines] == ["tinygrad-attn: TEXT 2",
                                                          "tinygrad-attn: TEXT 3"]
    assert "'é'" in lines[0] and "empty" in lines[1]
    assert [i["label"] for i in page_data(out.read_text(encoding="utf-8"))["inputs"]] == [
        "may 4, 2021", "1/2/03"]


def test_out_must_be_html_and_not_a_folder(ck, tmp_path, capsys):
    code, _, err = _run(capsys, ["explore", "--checkpoint", ck["attention"], "--out",
                                 str(tmp_path / "x.png"), "1"])
    assert code == 2 and ".html" in err
    code, _, err = _run(capsys, ["explore", "--checkpoint", ck["attention"], "--out", str(tmp_path), "1"])
    assert code == 2 and len(err.strip().split("\n")) == 1


def test_escaped_text_through_the_command(tmp_path, capsys):
    folder = tmp_path / "ck"
    folder.mkdir()
    paths = write_text_checkpoints(folder, extra="<>/()")
    out = tmp_path / "e.html"
    code, _, err = _run(capsys, ["explore", "--checkpoint", str(paths["attention"]), "--out", str(out), EVIL])
    assert code == 0, err
    raw = out.read_text(encoding="utf-8")
    assert raw.count("<script") == 2 and "alert(1)</script>" not in raw
    assert page_data(raw)["inputs"][0]["label"] == EVIL
