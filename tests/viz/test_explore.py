"""viz.explore: the page embeds exactly the model's own numbers, escapes text, refuses bad input."""
import html
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tinygrad_attn import viz
from tinygrad_attn.data import TextTask, encode_questions
from tinygrad_attn.data.bits import make_copy
from tinygrad_attn.viz.explore import MAX_INPUTS, Explorer, decode_array
from tests.explore_fixtures import (DATES, EVIL, IN_WIDTH, OUT_WIDTH, arrays_equal, page_data,
                                    text_models, translator, vocab, write_ntm_checkpoint,
                                    write_text_checkpoints)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    return write_text_checkpoints(tmp_path_factory.mktemp("ck"))


@pytest.mark.parametrize("name", ["attention", "additive-bi-masked", "general-both", "transformer"])
def test_embedded_arrays_equal_the_models_trace(ckpts, name):
    tr = translator(ckpts[name])
    page = viz.explore(tr, DATES)
    data = page_data(page.html)
    assert data == page.data                      # what the page's script reads is .data
    (panel,) = data["panels"]
    ids = encode_questions(DATES, tr.vocab, tr.in_width, reverse=tr.reversed_input)
    api = tr.model.trace(ids, tr.vocab.start_id, tr.out_width)
    assert panel["reversed"] == tr.reversed_input and panel["in_width"] == IN_WIDTH
    for n, ex in enumerate(panel["examples"]):
        assert ex["text"] == DATES[n]
        assert ex["out"] == [tr.vocab.chars[i] for i in api["ids"][n]]
        assert ex["src"] == [tr.vocab.chars[i] for i in ids[n]]
        assert ex["mask"] == api["mask"][n].tolist()
        for key in ("weights", "probs", "scores", "context"):
            if key in api:
                assert arrays_equal(ex[key], api[key][n]), key
            else:
                assert ex[key] is None
        # padding: every fed position outside the text, wherever the reversal put it
        text_pos = [i for i, p in enumerate(ex["pad"]) if not p]
        assert len(text_pos) == len(DATES[n])
        assert "".join(ex["src"][i] for i in text_pos) == (
            DATES[n][::-1] if tr.reversed_input else DATES[n])
        if name == "transformer":
            for kind in ("enc", "dec", "cross"):
                assert len(ex["heads"][kind]) == 2
                for got, want in zip(ex["heads"][kind], api["attention"][kind]):
                    assert arrays_equal(got, want[n])
    # the decoded answers are the Translator's
    answers = tr.translate(DATES)
    for ex, a in zip(panel["examples"], answers):
        assert "".join(ex["out"]).strip(" ") == a


def test_bare_model_with_vocab_and_float64(ckpts):
    from tinygrad_attn_models import AttentionSeq2seq

    v = vocab()
    import tinygrad_attn as ta

    ta.seed(0)
    m = AttentionSeq2seq(len(v), 4, 6, dtype=np.float64)
    page = viz.explore(m, ["10/31/90"], task=TextTask(v, 12, 3))
    ex = page.data["panels"][0]["examples"][0]
    w = decode_array(ex["weights"])
    assert w.dtype == np.float64 and w.shape == (3, 12)
    api = m.trace(encode_questions(["10/31/90"], v, 12), v.start_id, 3)
    assert np.array_equal(w, api["weights"][0])
    with pytest.raises(ValueError, match="a text model needs its task"):
        viz.explore(m, ["10/31/90"])


def test_compare_puts_two_models_side_by_side(ckpts):
    a, b = translator(ckpts["attention"]), translator(ckpts["transformer"])
    page = viz.explore(a, DATES[:2], compare=b, labels=["dot", "transformer"])
    kinds = [p["kind"] for p in page.data["panels"]]
    labels = [p["label"] for p in page.data["panels"]]
    assert kinds == ["seq2seq", "transformer"] and labels == ["dot", "transformer"]
    assert [i["label"] for i in page.data["inputs"]] == DATES[:2]
    with pytest.raises(ValueError, match="2 models"):
        viz.explore(a, DATES[:1], compare=b, labels=["one"])


def test_ntm_page_equals_the_trace(tmp_path):
    from tinygrad_attn.training import load_checkpoint

    model, _ = load_checkpoint(write_ntm_checkpoint(tmp_path, read_heads=2))
    x, t = make_copy(3, 2, 4, 4, seed=0)
    page = viz.explore(model, x, targets=t)
    (panel,) = page.data["panels"]
    assert panel["kind"] == "ntm" and panel["rows"] == 12 and panel["read_heads"] == 2
    for n, ex in enumerate(panel["examples"]):
        api = model.trace(x[n:n + 1])
        for key, value in api.items():
            if key in ("write", "read"):      # embedded once, as the last addressing stage
                assert key not in ex
            else:
                assert arrays_equal(ex[key], value[0]), key
        assert np.array_equal(api["write"][0], decode_array(ex["sharpened"])[:, 0])
        assert np.array_equal(api["read"][0], decode_array(ex["sharpened"])[:, 1:])
        assert arrays_equal(ex["x"], x[n]) and arrays_equal(ex["target"], t[n])
    with pytest.raises(ValueError, match=r"must be a numeric array \(T, 5\)"):
        viz.explore(model, [np.zeros((4, 3))])
    with pytest.raises(ValueError, match="targets"):
        viz.explore(model, x, targets=t[:1])
    with pytest.raises(ValueError, match="NaN"):
        viz.explore(model, [np.full((3, 5), np.nan)])


def test_user_text_is_escaped(tmp_path):
    v = vocab(extra="<>/()'\"&;")
    m, _ = text_models(v)["attention"]
    texts = [EVIL, "a&b \"q\" 'x'"]
    page = viz.explore(m, texts, tmp_path / "e.html", task=TextTask(v, IN_WIDTH, OUT_WIDTH),
                       labels=["</script><b>label</b>"],
                       title="<img src=x onerror=alert(2)>")
    raw = (tmp_path / "e.html").read_text(encoding="utf-8")
    assert raw == page.html
    # only the page's own two script elements; no user text as markup anywhere
    assert raw.count("<script") == 2 and raw.count("</script>") == 2
    assert "<img" not in raw and "<b>" not in raw and "alert(1)</script>" not in raw
    assert html.escape("<img src=x onerror=alert(2)>") in raw     # the <title>
    assert page_data(raw)["inputs"][0]["label"] == EVIL           # intact as data


@pytest.mark.parametrize("inputs,message", [
    ([], "no inputs"),
    (["   "], "input 1 is empty"),
    (["may 4, 2021", "é?"], "input 2 'é?' contains character(s) this model does not know: 'é', '?'"),
    (["x" * 30], "reads at most 29"),
    (["1"] * (MAX_INPUTS + 1), f"at most {MAX_INPUTS} inputs"),
])
def test_bad_text_inputs_refused_nothing_written(ckpts, tmp_path, inputs, message):
    out = tmp_path / "x.html"
    with pytest.raises(ValueError, match=re.escape(message)):
        viz.explore(translator(ckpts["attention"]), inputs, out)
    assert not out.exists() and os.listdir(tmp_path) == []


def test_type_errors_and_models_without_attention(ckpts, tmp_path):
    with pytest.raises(TypeError, match="wrap it in a list"):
        viz.explore(translator(ckpts["attention"]), "may 4, 2021")
    with pytest.raises(ValueError, match="'seq2seq' has no attention to explore"):
        viz.explore(translator(ckpts["seq2seq"]), ["may 4, 2021"], tmp_path / "x.html")
    with pytest.raises(ValueError, match="is a folder"):
        viz.explore(translator(ckpts["attention"]), ["may 4, 2021"], tmp_path)
    assert os.listdir(tmp_path) == []


def test_size_is_checked_before_work(monkeypatch, ckpts):
    import importlib

    E = importlib.import_module("tinygrad_attn.viz.explore")   # the module (viz.explore is the function)

    monkeypatch.setattr(E, "MAX_BYTES", 100_000)
    tr = translator(ckpts["attention"])
    called = []
    monkeypatch.setattr(tr.model, "trace", lambda *a: called.append(1))
    with pytest.raises(ValueError, match="MB limit"):
        viz.explore(tr, DATES)
    assert called == []


def test_save_is_atomic_and_replaces(ckpts, tmp_path):
    out = tmp_path / "e.html"
    out.write_text("old")
    page = viz.explore(translator(ckpts["attention"]), DATES[:1], out)
    assert out.read_text(encoding="utf-8") == page.html and page.size == len(page.html.encode())
    assert sorted(os.listdir(tmp_path)) == ["e.html"]            # no temporary left behind


def test_notebook_display_is_an_isolated_iframe(ckpts):
    page = viz.explore(translator(ckpts["transformer"]), DATES[:1])
    assert isinstance(page, Explorer)
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and "<script" not in frame
    assert html.unescape(frame.split('srcdoc="', 1)[1].split('" title=', 1)[0]) == page.html
    assert "data-explorer-autosize" in frame
    assert "transformer" in repr(page)


def test_page_is_self_contained(ckpts):
    page = viz.explore(translator(ckpts["transformer"]), DATES)
    for marker in ("http://", "https://", "src=\"", "<link rel=\"stylesheet\"", "import("):
        assert marker not in page.html.replace("http://www.w3.org/2000/svg", ""), marker


def test_sizes_for_ten_inputs_stay_small():
    """The sizes quoted in docs/explore.md: 10 inputs of each model at its default size."""
    import tinygrad_attn as ta
    from tinygrad_attn.data.dates import make_dates
    from tinygrad_attn_models import AttentionSeq2seq, NTMModel, TransformerSeq2seq

    ta.seed(0)
    qs = [q for q, _ in make_dates(10, seed=0)]
    v = vocab(extra="".join(sorted(set("".join(qs)))))
    kw = dict(task=TextTask(v, 29, 10))
    sizes = {"attention": viz.explore(AttentionSeq2seq(len(v), 16, 256), qs, **kw).size,
             "transformer": viz.explore(TransformerSeq2seq(len(v), pad_id=0), qs, **kw).size}
    x, t = make_copy(10, 10, 10, 8, seed=0)
    sizes["ntm"] = viz.explore(NTMModel(9, 8), x, targets=t).size
    print(sizes)
    assert sizes["attention"] < 2**20 and sizes["transformer"] < 2**20, sizes
    assert sizes["ntm"] < 5 * 2**20, sizes        # the memory, R x W per step, is most of it


def test_from_html_round_trips_and_the_docs_pages_are_current(ckpts):
    page = viz.explore(translator(ckpts["attention"]), DATES[:2], title="t <1>")
    again = Explorer.from_html(page.html)
    assert again.html == page.html and again.title == "t <1>"
    with pytest.raises(ValueError, match="not an explorer page"):
        Explorer.from_html("<html></html>")
    docs = Path(__file__).resolve().parents[2] / "docs" / "assets"
    pages = sorted(docs.glob("explore-*.html"))
    assert len(pages) == 2
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert Explorer.from_html(text).html == text, (
            f"{path.name} is out of date: run python docs/make_explorers.py --refresh")
