"""The API validates like the command line: gradient checks' options, optimizers' and
schedules' hyper-parameters, with the one rule of tinygrad_attn.validate (and hypothesis
fuzzing that the command line and the API accept exactly the same values)."""
import argparse
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_attn as ta
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn import validate as V
from tinygrad_attn.cli import build_parser
from tinygrad_attn.checks.gradcheck import check_layer, numerical_grad
from tinygrad_attn.optim import (SGD, AdaGrad, Adam, Momentum, WarmupCosine, WarmupInverseSqrt,
                                 clip_grads)

FUZZ = settings(max_examples=60, deadline=None)
NASTY = [float("nan"), float("inf"), -float("inf"), -1.0, -1e-300, 0.0, True, None, "0.1", [1e-3],
         np.array([1e-3])]


def _wrong(v):
    """A deliberately wrong backward: d(x^2)/dx reported as 3x."""
    class Sq(ta.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * self.inputs[0] * 3.0

    return Sq()(v)


# ----------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("kw,exc,fragment", [
    ({"atol": -1}, ValueError, "gradcheck: atol must be a finite number in [0, inf), got -1"),
    ({"rtol": -1}, ValueError, "rtol must be a finite number in [0, inf)"),
    ({"atol": float("nan")}, ValueError, "atol must be a finite number"),
    ({"rtol": float("inf")}, ValueError, "rtol must be a finite number"),
    ({"eps": 0}, ValueError, "eps must be a finite number in (0, 1], got 0"),
    ({"eps": float("nan")}, ValueError, "eps must be a finite number in (0, 1], got nan"),
    ({"eps": -1e-6}, ValueError, "eps must be"),
    ({"eps": 2.0}, ValueError, "eps must be"),
    ({"eps": "1e-6"}, TypeError, "eps must be a finite number in (0, 1], got '1e-6' (str)"),
    ({"max_elements": 0}, ValueError, "max_elements must be an integer in [1, 1000000000], got 0"),
    ({"max_elements": -3}, ValueError, "max_elements must be an integer"),
    ({"max_elements": 2.5}, TypeError, "max_elements must be an integer"),
    ({"max_elements": True}, TypeError, "max_elements must be an integer"),
    ({"seed": -1}, ValueError, "seed must be an integer in [0, 4294967295]"),
    ({"seed": 10**400}, ValueError, "(401 digits)"),
    ({"atol": 10**400}, ValueError, "atol must be a finite number"),
])
def test_gradcheck_refuses_bad_options_before_running(kw, exc, fragment):
    calls = []

    def fn(x):
        calls.append(1)
        return _wrong(x)

    with pytest.raises(exc) as e:
        ta.gradcheck(fn, np.array([0.5, -1.0]), **kw)
    assert fragment in str(e.value) and "\n" not in str(e.value)
    assert not calls  # refused before fn ran


def test_a_wrong_gradient_is_never_passed_by_a_negative_tolerance():
    assert not ta.gradcheck(_wrong, np.array([0.5, -1.0]))
    with pytest.raises(ValueError):
        ta.gradcheck(_wrong, np.array([0.5, -1.0]), atol=-1, rtol=-1)


def test_the_other_checks_validate_the_same_options():
    x = np.array([0.5, -1.0])
    with pytest.raises(ValueError, match="gradgradcheck: atol must be"):
        ta.gradgradcheck(F.tanh, x, atol=-1)
    with pytest.raises(ValueError, match="gradgradcheck: eps must be"):
        ta.gradgradcheck(F.tanh, x, eps=0)
    with pytest.raises(ValueError, match="check_layer: rtol must be"):
        check_layer(L.Linear(2, 2), np.ones((1, 2)), rtol=-1)
    with pytest.raises(ValueError, match="check_layer: eps must be"):
        check_layer(L.Linear(2, 2), np.ones((1, 2)), eps=float("nan"))
    with pytest.raises(ValueError, match="numerical_grad: eps must be"):
        numerical_grad(lambda: 0.0, ta.Variable(x), eps=0.0)
    with pytest.raises(TypeError, match="gradcheck: fn must be a function"):
        ta.gradcheck(3, x)


def test_max_elements_one_checks_one_element():
    res = ta.gradcheck(F.tanh, np.linspace(-1, 1, 6), max_elements=1)
    assert res.passed and res.entries[0].checked == 1


# ----------------------------------------------------------------------------- optimizers
def _param():
    p = ta.Parameter(np.ones(2))
    p.grad = ta.Variable(np.full(2, 0.5))
    return p


@pytest.mark.parametrize("make,fragment", [
    (lambda: Adam([_param()], lr=float("nan")), "Adam: lr must be a finite number in (0, inf), got nan"),
    (lambda: Adam([_param()], lr=float("inf")), "Adam: lr must be"),
    (lambda: SGD([_param()], lr=0.0), "SGD: lr must be a finite number in (0, inf), got 0.0"),
    (lambda: SGD([_param()], lr=-0.1), "SGD: lr must be"),
    (lambda: SGD([_param()], lr=0.1, weight_decay=-1e-4), "SGD: weight_decay must be"),
    (lambda: SGD([_param()], lr=0.1, weight_decay=float("nan")), "SGD: weight_decay must be"),
    (lambda: Momentum([_param()], momentum=1.0), "Momentum: momentum must be a finite number in [0, 1)"),
    (lambda: Momentum([_param()], momentum=-0.5), "Momentum: momentum must be"),
    (lambda: AdaGrad([_param()], eps=-1e-7), "AdaGrad: eps must be a finite number in [0, inf)"),
    (lambda: Adam([_param()], beta1=1.0), "Adam: beta1 must be a finite number in [0, 1)"),
    (lambda: Adam([_param()], beta2=float("nan")), "Adam: beta2 must be"),
    (lambda: Adam([_param()], eps=float("inf")), "Adam: eps must be"),
    (lambda: clip_grads([_param()], float("nan")), "clip_grads: max_norm must be"),
    (lambda: clip_grads([_param()], 0.0), "clip_grads: max_norm must be"),
    (lambda: WarmupInverseSqrt(float("nan"), 10), "WarmupInverseSqrt: peak_lr must be"),
    (lambda: WarmupInverseSqrt(1e-3, 2.5), "WarmupInverseSqrt: warmup must be an integer"),
    (lambda: WarmupInverseSqrt(1e-3, True), "WarmupInverseSqrt: warmup must be an integer"),
    (lambda: WarmupCosine(1e-3, 10, 100, min_lr=2e-3), "WarmupCosine: min_lr (at most peak_lr)"),
    (lambda: WarmupCosine(1e-3, 10, 100, min_lr=float("nan")), "WarmupCosine: min_lr"),
])
def test_optimizer_hyper_parameters_are_checked(make, fragment):
    with pytest.raises((ValueError, TypeError)) as e:
        make()
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_lr_nan_is_refused_and_no_weight_turns_nan():
    p = _param()
    with pytest.raises(ValueError):
        Adam([p], lr=float("nan")).update()
    assert np.all(p.data == 1.0)
    opt = Adam([p], lr=1e-3)
    for bad in (float("nan"), -1.0, "0.1", None):
        with pytest.raises((ValueError, TypeError), match="Adam: lr must be"):
            opt.lr = bad
    opt.lr = 0.0  # a schedule may decay to 0
    opt.update()
    assert np.all(p.data == 1.0) and opt.lr == 0.0


@pytest.mark.parametrize("value", NASTY, ids=repr)
@pytest.mark.parametrize("name", ["lr", "weight_decay", "beta1", "beta2", "eps"])
def test_nasty_values_never_reach_adam(name, value):
    if name != "lr" and type(value) is float and value == 0.0:
        Adam([_param()], **{name: value})  # 0 is in range for these
        return
    with pytest.raises((ValueError, TypeError), match=f"Adam: {name} must be"):
        Adam([_param()], **{name: value})


@FUZZ
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_adam_accepts_exactly_the_finite_positive_rates(lr):
    ok = math.isfinite(lr) and lr > 0
    try:
        Adam([_param()], lr=lr)
    except ValueError:
        assert not ok
    else:
        assert ok


# ----------------------------------------------------------------------------- one rule, no drift
def _subparsers():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def _option(command, dest):
    p = _subparsers()[command]
    return next(a for a in p._actions if a.dest == dest)


# (command, option dest) -> the library rule the option's value is passed to, and whether the
# command line must accept exactly the same values ("same") or may be narrower ("within")
FED = [
    ("gradcheck", "eps", V.GRADCHECK_EPS, "same"),
    ("gradcheck", "atol", V.TOLERANCE, "same"),
    ("gradcheck", "rtol", V.TOLERANCE, "same"),
    ("gradcheck", "max_elements", V.MAX_ELEMENTS, "same"),
    ("gradcheck", "seed", V.SEED, "same"),
    ("train", "lr", V.LEARNING_RATE, "within"),
    ("train", "warmup", V.WARMUP, "within"),
    ("train", "label_smoothing", V.PROBABILITY, "within"),
    ("train", "seed", V.SEED, "within"),
]


@pytest.mark.parametrize("command,dest,rule,how", FED, ids=[f"{c}-{d}" for c, d, _, _ in FED])
def test_command_line_ranges_are_the_library_ranges(command, dest, rule, how):
    cli_rule = getattr(_option(command, dest).type, "rule", None)
    assert cli_rule is not None, f"{command} --{dest} does not use a validate.Range"
    if how == "same":
        assert cli_rule == rule
    else:
        assert cli_rule.within(rule), (cli_rule.text, rule.text)


@FUZZ
@given(st.sampled_from(["eps", "atol", "rtol", "max_elements", "seed"]),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                 st.integers(-10, 2**33), st.sampled_from([0, 1, 1e-6, 1.0, 2**32 - 1, 2**32])))
def test_gradcheck_cli_and_api_accept_the_same_values(name, value):
    """The text the command line accepts is exactly what the API accepts (hypothesis)."""
    parse = _option("gradcheck", name).type
    if isinstance(value, float) and name in ("max_elements", "seed"):
        text = repr(value)            # "1.0" is not an integer on the command line, nor in the API
    else:
        text = str(value)
    try:
        parsed = parse(text)
        cli_ok = True
    except argparse.ArgumentTypeError:
        cli_ok = False
    try:
        ta.gradcheck(F.tanh, np.array([0.3]), **{name: value})
        api_ok = True
    except (ValueError, TypeError):
        api_ok = False
    assert cli_ok == api_ok, (name, value, text)
    if cli_ok:
        assert parsed == value


@FUZZ
@given(st.sampled_from([V.GRADCHECK_EPS, V.TOLERANCE, V.LEARNING_RATE, V.DECAY_RATE,
                        V.PROBABILITY, V.Range.real(-2.5, 3.0, True, False)]),
       st.floats(allow_nan=True, allow_infinity=True))
def test_range_check_and_parse_agree(rule, value):
    try:
        rule.parse(repr(value))
        parsed = True
    except ValueError as e:
        parsed = False
        assert repr(value) in str(e)
    try:
        rule.check(value, "x", "f")
        checked = True
    except ValueError as e:
        checked = False
        assert str(e).startswith("f: x must be") and rule.text in str(e)
    assert parsed == checked == rule.contains(value)


@FUZZ
@given(st.integers(-5, 5), st.integers(-5, 5), st.booleans(), st.booleans(),
       st.integers(-5, 5), st.integers(-5, 5), st.booleans(), st.booleans(),
       st.floats(-7, 7))
def test_within_means_every_value_is_accepted(a, b, ao, bo, c, d, co, do, x):
    inner = V.Range.real(min(a, b), max(a, b), ao, bo)
    outer = V.Range.real(min(c, d), max(c, d), co, do)
    if inner.within(outer) and inner.contains(x):
        assert outer.contains(x)
    for probe in (inner.low, inner.high):
        if inner.within(outer) and inner.contains(probe):
            assert outer.contains(probe)


OPTIMIZER_ARGS = [(SGD, "lr", V.LEARNING_RATE), (SGD, "weight_decay", V.WEIGHT_DECAY),
                  (Momentum, "momentum", V.DECAY_RATE), (AdaGrad, "eps", V.OPTIMIZER_EPS),
                  (Adam, "beta1", V.DECAY_RATE), (Adam, "beta2", V.DECAY_RATE),
                  (Adam, "eps", V.OPTIMIZER_EPS), (Adam, "lr", V.LEARNING_RATE)]


@FUZZ
@given(st.sampled_from(OPTIMIZER_ARGS),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3),
                 st.sampled_from([True, None, "0.5", 10**400])))
def test_every_optimizer_argument_follows_its_rule(arg, value):
    cls, name, rule = arg
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    expect = numeric and rule.contains(value)
    try:
        cls([_param()], **{name: value})
        got = True
    except (ValueError, TypeError) as e:
        got = False
        assert str(e).startswith(f"{cls.__name__}: {name} must be"), str(e)
    assert got == expect, (cls.__name__, name, value)


def test_a_zero_gradient_passes_under_a_purely_relative_tolerance():
    """atol = 0 is valid: where both gradients are exactly 0 the element passes (no 0/0
    counted as a failure), and a wrong gradient still fails."""
    x = np.array([0.5, -1.0])
    res = ta.gradcheck(lambda v: v * 0.0, x, atol=0, rtol=1e-4)
    assert res.passed, res.report()
    assert not ta.gradcheck(_wrong, x, atol=0, rtol=1e-4)


@pytest.mark.parametrize("kw,fragment", [
    ({"lr": float("nan")}, "Trainer: lr must be a finite number in (0, inf), got nan"),
    ({"lr": 0}, "Trainer: lr must be a finite number in (0, inf), got 0"),
    ({"lr": "0.1"}, "Trainer: lr must be a finite number"),
    ({"max_grad": -1.0}, "Trainer: max_grad (None or 0 = no clipping) must be a finite number in [0, inf)"),
    ({"max_grad": float("inf")}, "Trainer: max_grad"),
])
def test_the_trainer_checks_its_hyper_parameters_with_the_same_rules(kw, fragment):
    from tinygrad_attn.data import load_dataset
    from tinygrad_attn.training import Trainer, registry

    data = load_dataset("addition", samples=20)
    model = registry.build_model({"model": "attention", "vocab_size": len(data.vocab),
                                  "wordvec_size": 3, "hidden_size": 4})
    with pytest.raises(ValueError) as e:
        Trainer(model, data, progress=False, **kw)
    assert fragment in str(e.value)
