"""The explorer in a real browser: headless Chromium (Debian's package) over the DevTools protocol.

Every page is opened from ``file://`` with the network switched off, and must render with no
console error and no request leaving the file. Screenshots of every view go to the artefact
folder (``$TINYGRAD_ATTN_ARTIFACTS`` or ``.artifacts/`` in the checkout) under ``explore/``.
Skipped, with the reason, where Chromium is missing or cannot start.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.cdp import Browser, skip_reason
from tests.explore_fixtures import (DATES, EVIL, page_data, translator, write_ntm_checkpoint,
                                    write_text_checkpoints)
from tinygrad_attn import viz
from tinygrad_attn.viz.explore import decode_array

_REASON = skip_reason()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"browser tests: {_REASON}")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("TINYGRAD_ATTN_ARTIFACTS") or ROOT / ".artifacts") / "explore"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """name -> (file, Explorer) for every view."""
    from tinygrad_attn.data.bits import make_copy
    from tinygrad_attn.training import load_checkpoint

    folder = tmp_path_factory.mktemp("pages")
    ck = write_text_checkpoints(folder)
    (folder / "evil").mkdir()
    evil_ck = write_text_checkpoints(folder / "evil", extra="<>/()")
    ntm, _ = load_checkpoint(write_ntm_checkpoint(folder, read_heads=2))
    x, t = make_copy(2, 3, 4, 4, seed=0)
    built = {
        "seq2seq": viz.explore(translator(ck["additive-bi-masked"]), DATES),
        "reversed": viz.explore(translator(ck["attention"]), DATES),
        "transformer": viz.explore(translator(ck["transformer"]), DATES),
        "ntm": viz.explore(ntm, x, targets=t),
        "compare": viz.explore(translator(ck["attention"]), DATES,
                               compare=translator(ck["transformer"]), labels=["dot", "transformer"]),
        "escaped": viz.explore(translator(evil_ck["attention"]), [EVIL, "a(b)c"]),
    }
    out = {}
    for name, page in built.items():
        path = folder / f"{name}.html"
        page.save(path)
        out[name] = (path, page)
    return out


@pytest.fixture(scope="module")
def browser():
    with Browser.launch() as b:
        yield b


def _open(browser, pages, name):
    path, page = pages[name]
    tab = browser.new_page()
    tab.offline()
    tab.goto(path.as_uri())
    return tab, page


def _finish(tab, name):
    """No console errors, nothing fetched beyond the file itself; a screenshot to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(ARTIFACTS / f"{name}.png")
    assert tab.errors() == []
    urls = [e["params"]["request"]["url"] for e in tab.events("Network.requestWillBeSent")]
    assert all(u.startswith(("file:", "data:")) for u in urls), urls
    assert tab.events("Page.javascriptDialogOpening") == []
    failed = tab.events("Network.loadingFailed")
    assert failed == [], failed


def _values(tab, selector):
    return tab.evaluate(f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
                        ".map(e => Number(e.getAttribute('data-v')))")


def _set_slider(tab, value):
    tab.evaluate(f"(() => {{ const s = document.getElementById('step'); s.value = {value};"
                 " s.dispatchEvent(new Event('input', {bubbles: true})); })()")


def test_attention_page_cells_hover_slider_padding(browser, pages):
    tab, page = _open(browser, pages, "seq2seq")
    ex = page.data["panels"][0]["examples"][0]
    w, s = decode_array(ex["weights"]), decode_array(ex["scores"])
    T_out, T_in = w.shape
    text_cols = [i for i, p in enumerate(ex["pad"]) if not p]          # not reversed: written order
    assert tab.evaluate("document.querySelectorAll('svg.main rect.cell').length") == T_out * len(DATES[0])
    assert tab.evaluate("document.querySelector('#steplabel').textContent").strip() == f"t = 1 / {T_out}"
    # hovering an output character selects that decoder step: its row of weights and scores
    tab.hover('.out .ch[data-step="3"]')
    assert tab.evaluate("document.querySelector('.out .ch.sel').getAttribute('data-step')") == "3"
    assert _values(tab, 'tr[data-row="a (weight)"] td') == [float(v) for v in w[3, text_cols]]
    assert _values(tab, 'tr[data-row="s (score)"] td') == [float(v) for v in s[3, text_cols]]
    assert tab.evaluate("document.querySelector('svg.main .rowsel').getAttribute('y')") == tab.evaluate(
        "document.querySelector('svg.main rect.cell[data-row=\"3\"]').getAttribute('y')")
    # the slider moves the step
    _set_slider(tab, 6)
    assert _values(tab, 'tr[data-row="a (weight)"] td') == [float(v) for v in w[6, text_cols]]
    assert _values(tab, 'tr[data-row="s (score)"] td') == [float(v) for v in s[6, text_cols]]
    assert tab.evaluate("document.querySelector('#steplabel').textContent").strip() == f"t = 7 / {T_out}"
    # context and probabilities of step 7 are the model's
    c, p = decode_array(ex["context"]), decode_array(ex["probs"])
    shown_c = _values(tab, ".context span[data-v]")
    assert shown_c == [float(v) for v in sorted(c[6], key=lambda v: -abs(v))[:8]]
    assert _values(tab, ".probs span[data-v]") == [float(v) for v in np.sort(p[6])[::-1][:6]]
    # masked positions are labelled (this model masks its padding run)
    tab.click("#showpad")
    assert tab.evaluate("document.querySelectorAll('svg.main rect.cell').length") == T_out * T_in
    assert tab.evaluate("document.querySelectorAll('.src .ch.masked').length") == sum(not m for m in ex["mask"])
    _finish(tab, "attention-seq2seq")


def test_reversed_input_is_shown_in_written_order(browser, pages):
    tab, page = _open(browser, pages, "reversed")
    ex = page.data["panels"][0]["examples"][1]
    tab.click('[data-input="1"]')
    text = tab.evaluate("Array.from(document.querySelectorAll('.src .ch')).map(e => e.firstChild.textContent).join('')")
    assert text == DATES[1].replace(" ", "\u2423")
    assert "reads this input reversed" in tab.evaluate("document.body.textContent")
    # the encoder's order (a toggle) shows the padding first, as the model reads it
    tab.click("#encorder")
    tab.click("#showpad")
    order = tab.evaluate("Array.from(document.querySelectorAll('.src .ch')).map(e => Number(e.getAttribute('data-pos')))")
    assert order == list(range(len(ex["src"])))
    w = decode_array(ex["weights"])
    assert _values(tab, 'tr[data-row="a (weight)"] td') == [float(v) for v in w[0]]
    _finish(tab, "attention-reversed")


def test_transformer_grid_layers_by_heads_and_enlarge(browser, pages):
    tab, page = _open(browser, pages, "transformer")
    ex = page.data["panels"][0]["examples"][0]
    L, h = len(ex["heads"]["cross"]), decode_array(ex["heads"]["cross"][0]).shape[0]
    assert tab.evaluate("document.querySelectorAll('.thumb:not(.mean)').length") == L * h
    assert tab.evaluate("document.querySelectorAll('.thumb.mean').length") == L
    n_text = len(DATES[0])
    assert tab.evaluate("document.querySelector('.thumb[data-layer=\"1\"][data-head=\"1\"]')"
                        ".querySelectorAll('rect.cell').length") == 10 * n_text
    tab.click('.thumb[data-layer="1"][data-head="1"]')
    cross = decode_array(ex["heads"]["cross"][1])
    assert tab.evaluate("document.querySelectorAll('svg.big rect.cell').length") == 10 * n_text
    big = _values(tab, "svg.big rect.cell")
    assert big == [float(v) for v in cross[1][:, :n_text].ravel()]
    _finish(tab, "transformer-cross")
    tab.click('button[data-kind="enc"]')
    tab.click('.thumb.mean[data-layer="0"]')
    enc = decode_array(ex["heads"]["enc"][0])
    got = np.array(_values(tab, "svg.big rect.cell")).reshape(n_text, n_text)
    np.testing.assert_allclose(got, enc.mean(axis=0)[:n_text, :n_text], rtol=1e-6)
    _finish(tab, "transformer-encoder")
    tab.click('button[data-kind="dec"]')
    tab.click('.thumb[data-layer="0"][data-head="0"]')
    dec = decode_array(ex["heads"]["dec"][0])[0]
    assert _values(tab, "svg.big rect.cell") == [float(v) for v in dec.ravel()]
    assert np.triu(dec, 1).max() == 0                       # causal: nothing from the future
    _finish(tab, "transformer-decoder")


def test_ntm_time_slider_and_addressing(browser, pages):
    tab, page = _open(browser, pages, "ntm")
    ex = page.data["panels"][0]["examples"][0]
    sharp, shift = decode_array(ex["sharpened"]), decode_array(ex["shift"])
    T, heads, R = sharp.shape
    assert tab.evaluate("document.querySelectorAll('svg.weighting').length") == heads
    assert tab.evaluate("document.querySelectorAll('svg.weighting')[0].querySelectorAll('rect.cell').length") == T * R
    _set_slider(tab, 4)
    assert _values(tab, "svg.sharpened rect.bar-cell") == [float(v) for v in sharp[4, 0]]
    assert _values(tab, ".shift span[data-v]") == [float(v) for v in shift[4, 0]]
    assert f"write head at row {int(sharp[4, 0].argmax())}" in tab.evaluate(
        "document.querySelector('.positions').textContent")
    tab.evaluate("(() => { const s = document.getElementById('head'); s.value = '2';"
                 " s.dispatchEvent(new Event('change')); })()")
    assert _values(tab, "svg.content rect.bar-cell") == [float(v) for v in decode_array(ex["content"])[4, 2]]
    mem = decode_array(ex["memory"])
    assert _values(tab, "svg.memory rect.cell") == [float(v) for v in mem[4].ravel()]
    _finish(tab, "ntm")


def test_compare_side_by_side(browser, pages):
    tab, page = _open(browser, pages, "compare")
    assert tab.evaluate("document.querySelectorAll('.panel').length") == 2
    assert tab.evaluate("Array.from(document.querySelectorAll('.panel h2')).map(e => e.textContent)") == [
        "dot", "transformer"]
    _set_slider(tab, 2)
    for k, panel in enumerate(page.data["panels"]):
        ex = panel["examples"][0]
        cols = [i for i, p in enumerate(ex["pad"]) if not p]
        if panel["reversed"]:
            cols = cols[::-1]
        w = decode_array(ex["weights"])
        got = _values(tab, f'.panel:nth-child({k + 1}) tr[data-row="a (weight)"] td')
        assert got == [float(v) for v in w[2, cols]]
    _finish(tab, "compare")


def test_user_text_shows_as_text(browser, pages):
    tab, page = _open(browser, pages, "escaped")
    label = tab.evaluate("document.querySelector('[data-input=\"0\"]').textContent")
    assert label == EVIL
    assert tab.evaluate("document.querySelectorAll('script').length") == 2
    assert page_data(pages["escaped"][0].read_text(encoding="utf-8"))["inputs"][0]["label"] == EVIL
    _finish(tab, "escaped")


@pytest.mark.parametrize("name", ["date", "transformer"])
def test_the_docs_pages(browser, name):
    """The explorers embedded in docs/explore.md (trained models): they render offline too."""
    path = ROOT / "docs" / "assets" / f"explore-{name}.html"
    page = viz.Explorer.from_html(path.read_text(encoding="utf-8"))
    tab = browser.new_page()
    tab.offline()
    tab.goto(path.as_uri())
    ex = page.data["panels"][0]["examples"][0]
    assert tab.evaluate("document.querySelectorAll('svg.main rect.cell').length") == (
        len(ex["out"]) * len(ex["text"]))
    tab.hover('.out .ch[data-step="5"]')
    w = decode_array(ex["weights"])
    cols = [i for i, p in enumerate(ex["pad"]) if not p][::-1]      # reversed input, written order
    assert _values(tab, 'tr[data-row="a (weight)"] td') == [float(v) for v in w[5, cols]]
    _finish(tab, f"docs-{name}")


def test_inline_notebook_display(browser, pages, tmp_path):
    """What a notebook shows (``_repr_html_``: the page in an iframe) renders and responds."""
    _, page = pages["transformer"]
    host = tmp_path / "notebook-output.html"
    host.write_text("<!DOCTYPE html><html><body><p>cell output:</p>" + page._repr_html_()
                    + "</body></html>", encoding="utf-8")
    tab = browser.new_page()
    tab.offline()
    tab.goto(host.as_uri())
    inner = "document.querySelector('iframe').contentDocument"
    ex = page.data["panels"][0]["examples"][0]
    assert tab.evaluate(f"{inner}.querySelectorAll('svg.main rect.cell').length") == (
        len(ex["out"]) * len(ex["text"]))
    assert tab.evaluate(f"{inner}.querySelectorAll('.thumb:not(.mean)').length") == 2 * 2
    # the frame fits the page, and grows when a map is opened large
    fit = "document.querySelector('iframe').getBoundingClientRect().height"
    before = tab.evaluate(fit)
    assert abs(before - tab.evaluate(f"{inner}.body.offsetHeight")) < 12 and before < 1400
    tab.evaluate(f"{inner}.querySelector('.thumb[data-layer=\"0\"][data-head=\"0\"]').click()")
    assert tab.evaluate(fit) > before + 100
    _finish(tab, "notebook-inline")
