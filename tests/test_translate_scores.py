"""translate and attention never drop a good input; answers with their probabilities."""
import io
import math
import sys

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn.cli import main
from tinygrad_attn.cli.commands.translate import DEFAULT_MIN_PROB
from tinygrad_attn.data import DateTask, TextTask, check_date_answer, load_dataset
from tinygrad_attn.training import Translation, Translator, save_checkpoint
from tinygrad_attn.training.registry import build_model


@pytest.fixture(scope="module")
def date_ck(tmp_path_factory):
    """A small untrained attention model on the typed date task, its task recorded."""
    data = load_dataset("date", samples=40, seed=0, reverse_input=True)
    ta.seed(3)
    model = build_model({"model": "attention", "vocab_size": len(data.vocab), "wordvec_size": 4,
                         "hidden_size": 8})
    path = tmp_path_factory.mktemp("ck") / "model.npz"
    save_checkpoint(path, model, data.task)
    return str(path)


def test_checkpoint_records_the_task(date_ck):
    task = Translator.from_checkpoint(date_ck).task
    assert isinstance(task, DateTask) and task.kind == "date" and task.in_width == 40
    assert type(load_dataset("addition", samples=20).task) is TextTask
    assert isinstance(load_dataset("date-book", samples=20).task, DateTask)


def test_scores_are_the_models_probabilities(date_ck):
    tr = Translator.from_checkpoint(date_ck)
    texts = ["may 4, 2021", "2021년 5월 4일", "1/2/03"]
    res = tr.translate_with_scores(texts)
    assert [r.answer for r in res] == tr.translate(texts)       # same answers as translate()
    # greedy: each chosen character is the most probable one at its step; recompute the
    # step-by-step distributions independently of the teacher-forced pass
    model = tr.model
    x = tr.encode(texts)
    with ta.no_grad():
        state = model._decode_start(x)
        ids = np.full((len(texts),), tr.vocab.start_id, dtype=x.dtype)
        for t in range(tr.out_width):
            logits, state, _ = model._decode_step(ids, state)
            p = F.softmax(logits).data.astype(np.float64)
            ids = p.argmax(axis=1).astype(x.dtype)
            for n, r in enumerate(res):
                assert r.char_probs[t] == pytest.approx(p[n].max(), rel=1e-4, abs=1e-6)
    for r in res:
        assert r.prob == pytest.approx(math.prod(r.char_probs))
        assert 0 < r.prob <= r.least_prob <= 1
        assert r.least_prob == min(r.char_probs) and r.least_char == r.output[r.least_index]
        assert (r.problem is None) == (check_date_answer(r.answer) is None)


def test_beam_score_is_the_beams_probability(date_ck):
    tr = Translator.from_checkpoint(date_ck)
    texts = ["may 4, 2021", "27 sep 1994"]
    res = tr.translate_with_scores(texts, beam_width=3)
    ids, logp = tr.model.beam_search(tr.encode(texts), tr.vocab.start_id, tr.out_width, 3)
    for r, lp in zip(res, logp):
        assert r.prob == pytest.approx(math.exp(lp), rel=1e-4)
    assert [r.answer for r in res] == tr.translate(texts, beam_width=3)
    greedy = tr.translate_with_scores(texts)
    assert all(b.prob >= g.prob * (1 - 1e-5) for b, g in zip(res, greedy))  # beams find at least greedy


def test_refuse_one_input_keep_the_others(date_ck):
    tr = Translator.from_checkpoint(date_ck)
    res = tr.translate_with_scores(["may 4, 2021", "hello wörld", "", "x" * 41, "5.4.21"],
                                   refuse=True)
    assert [r.refused is None for r in res] == [True, False, False, False, True]
    assert "'ö'" in res[1].refused and "empty" in res[2].refused and "at most 40" in res[3].refused
    assert res[1].answer is None and str(res[1]) == ""
    with pytest.raises(ValueError, match="input 1: .*'ö'"):
        tr.translate_with_scores(["may 4, 2021", "hello wörld"])


def test_only_date_tasks_check_answers():
    data = load_dataset("date", samples=20)
    date, text = data.task, TextTask(data.vocab, data.in_width, data.out_width)
    assert date.check_answer("1999-02-30").startswith("not a real date: no such day")
    assert date.check_answer("1999-02-28") is None
    assert text.check_answer("1999-02-30") is None
    r = Translation(text="q", answer="1", output="1 ", prob=0.5, char_probs=(0.5, 1.0),
                    least_index=0)
    assert (r.least_char, r.least_prob) == ("1", 0.5)


def test_translate_answers_every_good_input_in_order(date_ck, capsys):
    argv = ["translate", "--checkpoint", date_ck, "may 4, 2021", "hello wörld", "05.04.2021", "",
            "x" * 41, "2021년 5월 4일 (화)"]
    assert main(argv) == 2
    cap = capsys.readouterr()
    out = cap.out.split("\n")[:-1]
    assert len(out) == 6 and [bool(o) for o in out] == [True, False, True, False, False, True]
    tr = Translator.from_checkpoint(date_ck)
    assert [out[i] for i in (0, 2, 5)] == tr.translate(["may 4, 2021", "05.04.2021",
                                                        "2021년 5월 4일 (화)"])
    refusals = [ln for ln in cap.err.split("\n") if "refused" in ln]
    assert [ln.split(" refused")[0] for ln in refusals] == [
        "tinygrad-attn: TEXT 2", "tinygrad-attn: TEXT 4", "tinygrad-attn: TEXT 5"]
    assert "'ö'" in refusals[0] and "empty" in refusals[1] and "at most 40" in refusals[2]
    assert main(["translate", "--checkpoint", date_ck, "may 4, 2021"]) == 0


def test_translate_stdin_refusals_name_the_line(date_ck, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("may 4, 2021\n\nhello wörld\r\n1/2/03\n"))
    assert main(["translate", "--checkpoint", date_ck, "--scores"]) == 2
    cap = capsys.readouterr()
    out = cap.out.split("\n")[:-1]
    assert len(out) == 4 and out[1] == "" and out[2] == ""
    assert "tinygrad-attn: stdin line 3 refused: " in cap.err and "line 2" not in cap.err
    for line in (out[0], out[3]):
        fields = line.split("\t")
        answer, p, least = fields[:3]
        assert p.startswith("p=") and 0 < float(p[2:]) <= 1
        assert least.startswith("least sure: ")
        notes = fields[3:]
        assert any(n.startswith("not a real date") for n in notes) == (
            check_date_answer(answer) is not None)
        assert any(n.startswith("unsure") for n in notes) == (float(p[2:]) < DEFAULT_MIN_PROB)


def test_translate_notes_without_scores_go_to_stderr(date_ck, capsys):
    # an untrained model: its answers are unsure (and usually not dates); the notes say so
    assert main(["translate", "--checkpoint", date_ck, "may 4, 2021"]) == 0
    cap = capsys.readouterr()
    answer = cap.out.strip()
    assert "\t" not in cap.out and "unsure" in cap.err and "TEXT 1 ('may 4, 2021' -> " in cap.err
    assert ("not a real date" in cap.err) == (check_date_answer(answer) is not None)
    assert main(["translate", "--checkpoint", date_ck, "--min-prob", "0", "may 4, 2021"]) == 0
    assert "unsure" not in capsys.readouterr().err


def test_attention_draws_the_readable_inputs(date_ck, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "a.png"
    code = main(["attention", "--checkpoint", date_ck, "--out", str(out), "may 4, 2021",
                 "hello wörld", "1/2/03"])
    cap = capsys.readouterr()
    assert code == 2 and out.exists()
    assert cap.err.strip().split("\n") == [
        cap.err.strip().split("\n")[0]] and "TEXT 2 refused: " in cap.err and "'ö'" in cap.err
    assert cap.out.count("->") >= 2 and "hello" not in cap.out
