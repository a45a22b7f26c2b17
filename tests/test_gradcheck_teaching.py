"""Gradient checking as a teaching tool: readable reports, check_layer/check_model,
hand-derived vs automatic gradients, anomaly mode, and the ``gradcheck`` command."""
import os
import runpy
import sys

import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.cli import main
from tinygrad_attn.functions import math as fmath
from tinygrad_attn.checks.gradcheck import check_layer, check_model
from tinygrad_attn.checks.lessons.hand_derived import (attention_weight_manual, attention_weight_manual_backward,
                                 compare_attention, compare_lstm_step, lstm_step_manual,
                                 lstm_step_manual_backward, weight_sum_manual,
                                 weight_sum_manual_backward)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
R = np.random.default_rng(11)


# ----------------------------------------------------------------------------- reports
class ScaledTanh(ta.Function):
    """tanh whose backward can be broken in chosen ways (for the diagnosis tests)."""

    mode = None

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        y = self.outputs[0]()
        g = gy * (1 - y * y)
        if self.mode == "sign":
            return -g
        if self.mode == "factor":
            return g * 0.5
        if self.mode == "missing":
            return None
        if self.mode == "element":
            mask = np.ones(gy.shape)
            mask[2, 1] = 2.0
            return g * ta.Variable(mask)
        if self.mode == "formula":
            return gy * (1 - y)
        return g


@pytest.mark.parametrize("mode,phrase", [
    ("sign", "sign error"),
    ("factor", "analytic = 0.5 x numeric"),
    ("missing", "analytic gradient is 0"),
    ("element", "only 1 of 12 elements fail (at (2, 1))"),
    ("formula", "no constant ratio"),
])
def test_failure_diagnosis_names_the_kind_of_bug(mode, phrase, monkeypatch):
    monkeypatch.setattr(ScaledTanh, "mode", mode)
    x = R.standard_normal((3, 4))
    # the extra term keeps x connected to the output when backward returns None
    res = ta.gradcheck(lambda v: ScaledTanh()(v) + v * 0.0, x)
    assert not res.passed
    e = res.entries[0]
    assert phrase in e.hint, e.hint
    rep = res.report()
    assert f"diagnosis: input 0 (3, 4): {e.hint}" in rep
    assert f"FAIL ({e.n_failed})" in rep and "gradcheck FAILED" in rep
    if mode == "element":
        assert e.worst_index == (2, 1) and e.n_failed == 1
        assert e.analytic == pytest.approx(2 * e.numeric, rel=1e-6)


def test_passing_report_table_columns_and_rule(capsys):
    monkey = ScaledTanh
    assert monkey.mode is None
    x = R.standard_normal((2, 3)).astype(np.float32)
    res = ta.gradcheck(lambda v: ScaledTanh()(v), x, verbose=True, title="tanh check")
    out = capsys.readouterr().out
    assert out.strip() == res.report()
    lines = out.splitlines()
    assert lines[0] == "tanh check"
    for col in ("shape", "checked", "max abs err", "max rel err", "tol used", "worst index",
                "analytic", "numeric", "result"):
        assert col in lines[1]
    assert lines[3].startswith("input 0") and lines[3].rstrip().endswith("ok")
    assert "|analytic - numeric| <= atol + rtol*|numeric|" in out
    assert "input 0 was float32; promoted to float64" in out
    e = res.entries[0]
    assert 0 < e.tol_used < 1e-2 and e.n_failed == 0 and e.hint == ""
    # the worst element is the one using the largest share of its tolerance
    assert e.max_abs_err < 1e-8


def test_promotion_note_groups_parameters_and_sampling_note():
    lin = L.Linear(30, 20)  # float32, W has 600 elements
    res = check_layer(lin, R.standard_normal((2, 30)), max_elements=40)
    assert res.passed, res.report()
    promo = [n for n in res.notes if "promoted to float64" in n]
    assert len(promo) == 1 and "W, b were float32" in promo[0]
    assert res.entry("W").checked == 40 and "40/600" in res.report()
    assert any("random sample" in n for n in res.notes)
    with pytest.raises(KeyError, match="no entry 'nope'"):
        res.entry("nope")


# ----------------------------------------------------------------------------- check_layer
def test_check_layer_lstmcell_tuple_output_all_params_and_restores_state():
    cell = L.LSTMCell(3, 4)
    before = {n: (p.data, p.data.copy(), p.dtype) for n, p in cell.named_params()}
    cell.b.grad = ta.Variable(np.ones(16, np.float32))
    res = check_layer(cell, R.standard_normal((2, 3)), R.standard_normal((2, 4)),
                      R.standard_normal((2, 4)))
    assert res.passed, res.report()
    assert [e.name for e in res.entries] == ["input 0", "input 1", "input 2", "Wx", "Wh", "b"]
    assert all(e.checked == e.size for e in res.entries)
    for n, p in cell.named_params():
        arr, copy, dtype = before[n]
        assert p.data is arr and p.dtype == dtype == np.float32
        np.testing.assert_array_equal(p.data, copy)
    np.testing.assert_array_equal(cell.b.grad.data, np.ones(16))
    assert cell.Wx.grad is None


def test_check_layer_detects_wrong_backward_inside_a_layer(monkeypatch):
    def wrong(self, gy):
        y = self.outputs[0]()
        return gy * y  # missing (1 - y)

    monkeypatch.setattr(fmath.Sigmoid, "backward", wrong)
    cell = L.LSTMCell(3, 4, dtype=np.float64)
    with ta.functions.fused_ops(False):  # the composed cell, whose gates use Sigmoid
        res = check_layer(cell, R.standard_normal((2, 3)), R.standard_normal((2, 4)),
                          R.standard_normal((2, 4)))
    assert not res.passed
    assert {"Wx", "Wh", "b"} <= {e.name for e in res.failures()}


def test_check_layer_detects_a_wrong_fused_backward(monkeypatch):
    from tinygrad_attn.functions import fused

    orig = fused.LSTMCellGrad.forward

    def wrong(self, *arrays):
        out = orig(self, *arrays)
        gA = out[0] if isinstance(out, tuple) else out
        gA[:, : gA.shape[1] // 4] *= 0.5  # a wrong forget-gate gradient
        return out

    cell = L.LSTMCell(3, 4, dtype=np.float64)
    args = R.standard_normal((2, 3)), R.standard_normal((2, 4)), R.standard_normal((2, 4))
    assert check_layer(cell, *args).passed
    monkeypatch.setattr(fused.LSTMCellGrad, "forward", wrong)
    res = check_layer(cell, *args)
    assert not res.passed
    assert {"Wx", "Wh", "b"} <= {e.name for e in res.failures()}


def test_check_layer_keeps_stateful_and_recorded_state():
    lstm = L.LSTM(3, 4, stateful=True)
    lstm(ta.Variable(R.standard_normal((2, 2, 3)).astype(np.float32)))
    h, c = lstm.h, lstm.c
    res = check_layer(lstm, R.standard_normal((2, 3, 3)))
    assert res.passed, res.report()
    assert lstm.h is h and lstm.c is c
    att = L.TimeAttention()
    assert check_layer(att, R.standard_normal((2, 5, 4)), R.standard_normal((2, 3, 4))).passed
    assert att.weights is None  # what it was before the check


def test_check_layer_integer_inputs_and_dropout_with_fixed_rng():
    emb = L.Embedding(6, 3)
    res = check_layer(emb, np.array([[0, 5, 5]]))
    assert res.passed and [e.name for e in res.entries] == ["W"]
    assert res.entry("W").checked == 18
    stack = L.StackedLSTM(3, 4, num_layers=2, dropout=0.5)
    ta.seed(5)
    expected = ta.seeding.get_rng().random(3)
    ta.seed(5)
    res = check_layer(stack, R.standard_normal((2, 4, 3)))
    assert res.passed, res.report()
    # the library RNG is where it was: the check consumed no random numbers for good
    np.testing.assert_array_equal(ta.seeding.get_rng().random(3), expected)


def test_check_layer_bad_arguments():
    with pytest.raises(TypeError, match="check_layer: expected a Layer, got function"):
        check_layer(F.tanh, np.ones(3))
    with pytest.raises(ValueError, match=r"check_layer: max_elements must be an integer in \[1, "):
        check_layer(L.Linear(2, 2), np.ones((1, 2)), max_elements=0)
    with pytest.raises(ValueError, match="nothing to check: Dropout has no parameters"):
        check_layer(L.Dropout(0.1), np.array([1, 2]))


def test_check_model_seq2seq_restores_dtypes():
    import tinygrad_attn_models as models

    ta.seed(0)
    m = models.AttentionSeq2seq(9, 4, 6)
    m.cleargrads()
    arrays = {n: p.data for n, p in m.named_params()}
    xs = R.integers(0, 9, (2, 4))
    ts = R.integers(0, 9, (2, 3))
    res = check_model(m, xs, ts, max_elements=15)
    assert res.passed, res.report()
    assert {e.name for e in res.entries} == set(arrays)
    assert all(e.checked <= 15 for e in res.entries)
    for n, p in m.named_params():
        assert p.data is arrays[n] and p.dtype == np.float32 and p.grad is None
    assert m.attention_weights is None
    assert res.title.startswith("check_model: AttentionSeq2seq on xs (2, 4), ts (2, 3)")


# ----------------------------------------------------------------------------- hand-derived
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_derived_attention_equals_engine(seed):
    cmp = compare_attention(seed=seed, N=3, T=6, H=5)
    steps = {r.step for r in cmp.rows}
    assert steps == {"AttentionWeight", "WeightSum", "Attention (both)"}
    for key in ("AttentionWeight: dhs", "AttentionWeight: dh", "WeightSum: dhs", "WeightSum: da",
                "Attention (both): dhs", "Attention (both): dh"):
        assert cmp.diffs[key] <= 1e-10, cmp.report()
    assert cmp.passed(1e-10) and cmp.max_diff <= 1e-10
    assert "max |hand - engine|" in cmp.report()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_derived_lstm_step_equals_engine(seed):
    cmp = compare_lstm_step(seed=seed, N=2, D=3, H=4)
    names = [r.name for r in cmp.rows]
    assert names == ["forward h_next", "forward c_next", "dx", "dh_prev", "dc_prev", "dWx",
                     "dWh", "db"]
    assert cmp.max_diff <= 1e-10, cmp.report()


def test_hand_formulas_against_central_differences():
    """The hand formulas are right on their own, not merely equal to the engine."""
    hs, h, da = R.standard_normal((2, 4, 3)), R.standard_normal((2, 3)), R.standard_normal((2, 4))
    a, cache = attention_weight_manual(hs, h)
    dhs, dh = attention_weight_manual_backward(da, cache)
    eps = 1e-6
    e = np.zeros_like(h)
    e[1, 2] = eps
    plus, minus = attention_weight_manual(hs, h + e)[0], attention_weight_manual(hs, h - e)[0]
    num = ((plus - minus) * da).sum()
    assert dh[1, 2] == pytest.approx(num / (2 * eps), rel=1e-6)
    dc = R.standard_normal((2, 3))
    _, cache_s = weight_sum_manual(hs, a)
    _, dA = weight_sum_manual_backward(dc, cache_s)
    e = np.zeros_like(a)
    e[0, 3] = eps
    num = ((weight_sum_manual(hs, a + e)[0] - weight_sum_manual(hs, a - e)[0]) * dc).sum()
    assert dA[0, 3] == pytest.approx(num / (2 * eps), rel=1e-6)


def test_wrong_hand_formula_is_detected():
    def forgot_sum(da, cache):
        a, hs, h = cache["a"], cache["hs"], cache["h"]
        ds = a * da
        return ds[:, :, None] * h[:, None, :], (ds[:, :, None] * hs).sum(axis=1)

    cmp = compare_attention(seed=0, weight_backward=forgot_sum)
    assert cmp.diffs["AttentionWeight: dhs"] > 1e-3 and cmp.diffs["AttentionWeight: dh"] > 1e-3
    assert cmp.diffs["WeightSum: da"] <= 1e-10  # the untouched step still agrees
    assert not cmp.passed()

    def mean_not_sum(dc, cache):
        hs, a = cache["hs"], cache["a"]
        return a[:, :, None] * dc[:, None, :], (dc[:, None, :] * hs).mean(axis=2)
    assert compare_attention(seed=0, sum_backward=mean_not_sum).diffs["WeightSum: da"] > 1e-3

    def cell_forgets_forget_gate(dh, dc, cache):
        dx, dh_prev, dc_prev, dWx, dWh, db = lstm_step_manual_backward(dh, dc, cache)
        return dx, dh_prev, dc_prev / cache["f"], dWx, dWh, db   # dc_prev = ds, not ds * f
    cmp = compare_lstm_step(seed=0, backward=cell_forgets_forget_gate)
    assert cmp.diffs["LSTM step: dc_prev"] > 1e-3 and cmp.diffs["LSTM step: dx"] <= 1e-10


def test_manual_functions_reject_bad_shapes():
    with pytest.raises(ValueError, match=r"attention_weight_manual: expected hs \(N, T, H\).*"
                                         r"hs \(2, 4\) and h \(2, 3\)"):
        attention_weight_manual(np.ones((2, 4)), np.ones((2, 3)))
    _, cache = attention_weight_manual(np.ones((2, 4, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"da must have the weights' shape \(2, 4\), got \(2, 3\)"):
        attention_weight_manual_backward(np.ones((2, 3)), cache)
    with pytest.raises(ValueError, match="weight_sum_manual: .* a \\(2, 5\\)"):
        weight_sum_manual(np.ones((2, 4, 3)), np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"lstm_step_manual: .*Wh \(3, 8\)"):
        lstm_step_manual(np.ones((2, 3)), np.ones((2, 2)), np.ones((2, 2)), np.ones((3, 8)),
                         np.ones((3, 8)), np.ones(8))


# ----------------------------------------------------------------------------- anomaly mode
def test_anomaly_log_zero_in_model_like_computation_names_op_and_line():
    lin = L.Linear(4, 3, dtype=np.float64)
    x = R.standard_normal((2, 4))
    mask = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    with ta.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError) as ei:
            p = F.softmax(lin(x)) * ta.Variable(mask)
            loss = -F.mean(F.log(p))  # the culprit line
            loss.backward()
    msg = str(ei.value)
    assert msg.startswith("Log produced 0 NaN and 1 Inf values in forward")
    assert "test_gradcheck_teaching.py" in msg
    assert "loss = -F.mean(F.log(p))  # the culprit line" in msg
    assert "(2, 3) float64" in msg


def test_anomaly_nan_returned_by_a_backward_is_reported_as_backward():
    class NaNGrad(ta.Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return ta.Variable(np.full(gy.shape, np.nan))

    x = ta.Variable(R.standard_normal((2, 3)))
    with ta.detect_anomaly():
        y = NaNGrad()(x)  # created here
        loss = F.sum(y * y)
        with pytest.raises(FloatingPointError) as ei:
            loss.backward()
    msg = str(ei.value)
    assert "NaNGrad produced 6 NaN and 0 Inf values in backward" in msg
    assert "y = NaNGrad()(x)  # created here" in msg
    # outside anomaly mode the NaN passes silently
    y = NaNGrad()(x)
    F.sum(y * y).backward()
    assert np.isnan(x.grad.data).all()


def test_anomaly_inf_computed_inside_backward_names_backward_and_forward_line():
    x = ta.Variable(np.array([0.0, 4.0]))
    with ta.detect_anomaly(), np.errstate(divide="ignore"):
        y = F.sqrt(x)  # sqrt at 0: d/dx = inf
        with pytest.raises(FloatingPointError) as ei:
            F.sum(y).backward()
    msg = str(ei.value)
    assert "backward" in msg and "y = F.sqrt(x)" in msg


# ----------------------------------------------------------------------------- the command
def test_cli_op_passes_and_prints_table(capsys):
    assert main(["gradcheck", "op", "softmax"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gradcheck op softmax: (2, 3, 5)")
    assert "tol used" in out and "gradcheck PASSED" in out


def test_cli_fails_with_exit_1_on_a_wrong_backward(monkeypatch, capsys):
    def wrong(self, gy):
        y = self.outputs[0]()
        return gy * (1 - y)  # should be 1 - y**2

    monkeypatch.setattr(fmath.Tanh, "backward", wrong)
    assert main(["gradcheck", "op", "tanh", "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "gradcheck FAILED" in out and "diagnosis: input 0" in out
    with F.fused_ops(False):  # tanh is inside the composed cell
        assert main(["gradcheck", "layer", "lstmcell"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_cli_unknown_name_lists_valid_names(capsys):
    assert main(["gradcheck", "layer", "transformer"]) == 2
    err = capsys.readouterr().err
    assert "unknown layer 'transformer'" in err
    for name in ("linear", "lstmcell", "bidirectional", "timeattention"):
        assert name in err
    assert main(["gradcheck", "op", "tanh", "--eps", "0"]) == 2
    assert "argument --eps: must be a finite number in (0, 1]" in capsys.readouterr().err


def test_cli_cases_cover_every_op_and_the_named_layers_and_models():
    from tinygrad_attn.cli.commands import gradcheck as cmd

    assert set(F.__all__) <= set(cmd.OP_CASES), sorted(set(F.__all__) - set(cmd.OP_CASES))
    assert set(cmd.LAYER_CASES) == {"linear", "embedding", "lstmcell", "lstm", "gru",
                                    "bidirectional", "stacked", "attention", "timeattention",
                                    "attention-general", "attention-additive",
                                    "layernorm", "mha", "feedforward", "positions",
                                    "encoderblock", "decoderblock", "ntm"}
    assert set(cmd.MODEL_CASES) == {"seq2seq", "peeky", "attention", "attention-bi",
                                    "attention-lstm-feed", "attention-deep",
                                    "attention-additive-masked", "attention-embed-projection",
                                    "transformer", "transformer-post", "ntm", "ntm-ff",
                                    "lstm-bits"}


def test_cli_all_ops_and_all_layers_pass(capsys):
    assert main(["gradcheck", "op", "all"]) == 0
    out = capsys.readouterr().out
    n = len(__import__("tinygrad_attn.cli.commands.gradcheck", fromlist=["x"]).OP_CASES)
    assert out.strip().endswith(f"{n} of {n} passed") and out.count("\nok    op ") == n - 1
    assert main(["gradcheck", "layer", "all", "--max-elements", "30"]) == 0


def test_cli_model(capsys):
    assert main(["gradcheck", "model", "attention-deep", "--max-elements", "10"]) == 0
    out = capsys.readouterr().out
    assert "decoder.layers.1.Wh" in out and "gradcheck PASSED" in out


# ----------------------------------------------------------------------------- the lesson
def test_lesson_example_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["gradcheck_lesson.py"])
    runpy.run_path(os.path.join(ROOT, "examples", "gradcheck_lesson.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("gradcheck FAILED") == 2 and "only 1 of 12 elements fail" in out
    assert "Log produced" in out and "with skips, per layer" in out


def test_check_layer_on_the_strict_device_keeps_device_arrays():
    """The strict stand-in refuses host NumPy mixed into device code, as CuPy does."""
    from tinygrad_attn import backend

    cell = L.LSTMCell(3, 4).to_device("strict")
    arrays = {n: p.data for n, p in cell.named_params()}
    x = backend.as_device(R.standard_normal((2, 3)), "strict")
    res = check_layer(cell, x)
    assert res.passed, res.report()
    for n, p in cell.named_params():
        assert p.data is arrays[n] and backend.device_of(p.data) == "strict"


def test_too_large_a_step_is_told_from_a_wrong_backward(monkeypatch):
    """A failure at a large eps whose error falls like eps^2 is the step; one whose error
    stays put when eps shrinks is the backward."""
    x = ta.Variable(R.standard_normal((3, 4)), name="x")
    res = ta.gradcheck(lambda v: ta.functions.tanh(v) * 3.0, x, eps=0.5)
    assert not res.passed
    hint = res.entries[0].hint
    assert res.entries[0].name == "x"
    assert hint.startswith("the step eps=0.5 is too large, not the backward"), hint
    assert "at eps=0.05" in hint and "rerun with a smaller eps" in hint
    assert ta.gradcheck(lambda v: ta.functions.tanh(v) * 3.0, x, eps=0.005).passed
    monkeypatch.setattr(ScaledTanh, "mode", "formula")
    bad = ta.gradcheck(lambda v: ScaledTanh()(v), x, eps=0.5)
    hint = bad.entries[0].hint
    assert "a smaller step does not help" in hint and hint.endswith("not the step size"), hint
    assert "the backward formula itself is wrong" in hint
    assert "too large" not in hint


def test_report_rows_carry_variable_names():
    hs = ta.Variable(R.standard_normal((2, 5, 4)), name="hs")
    h = ta.Variable(R.standard_normal((2, 4)), name="h")
    res = ta.gradcheck(lambda a, b, u, w: ta.functions.weight_sum(
        a, ta.functions.attention_weight(a, b)).sum() * (u.sum() + w.sum()),
        hs, h, ta.Variable(np.ones(2), name="hs"), np.ones(3))
    assert [e.name for e in res.entries] == ["hs", "h", "hs (input 2)", "input 3"]
    from tinygrad_attn.checks.layercases import check_layer_case

    rep = check_layer_case("attention-general").report()
    assert rep.splitlines()[3].startswith("hs ") and rep.splitlines()[4].startswith("h ")
    assert "note: mask (not floating" in rep
