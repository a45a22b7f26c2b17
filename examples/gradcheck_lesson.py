"""The gradient-checking lesson, step by step (runs in a few seconds).

    python examples/gradcheck_lesson.py           # all steps
    python examples/gradcheck_lesson.py 3 5       # only steps 3 and 5

1. why central differences, and why float64
2. gradcheck of an op: reading the table
3. a deliberately broken Function: the report points at the input and the element
4. check_layer: a whole LSTM layer, parameters included
5. hand-derived vs automatic gradients of attention and of an LSTM step
6. anomaly mode: which op produced the first NaN/Inf, and on which line
7. gradient flow: vanishing gradients in a deep stack, and skip connections

docs/gradcheck.md explains each step; the commands ``tinygrad-attn gradcheck op softmax``,
``tinygrad-attn gradcheck layer lstm`` and ``tinygrad-attn gradcheck model attention`` run
the same checks from the shell.
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

import numpy as np  # noqa: E402

import tinygrad_attn as ta  # noqa: E402
from tinygrad_attn import functions as F  # noqa: E402
from tinygrad_attn import layers as L  # noqa: E402
from tinygrad_attn.checks.gradcheck import check_layer  # noqa: E402
from tinygrad_attn.checks.gradflow import grad_flow_table, group_norms  # noqa: E402
from tinygrad_attn.checks.lessons.skip_connections import compare_skip_connections  # noqa: E402
from tinygrad_attn.checks.lessons.hand_derived import compare_attention, compare_lstm_step  # noqa: E402


def header(n, text):
    """Print a step header."""
    print(f"\n{'=' * 78}\nstep {n}: {text}\n{'=' * 78}")


def step1():
    """Forward vs central differences, float64 vs float32, for d tanh(x)/dx at x = 0.5."""
    header(1, "why central differences, and why float64")
    x0, exact = 0.5, 1 - np.tanh(0.5) ** 2
    print(f"d/dx tanh(x) at x=0.5 is exactly {exact:.15f}; absolute errors of the estimates:")
    print(f"{'eps':>8}  {'forward f64':>12}  {'central f64':>12}  {'central f32':>12}")
    for eps in (1e-2, 1e-4, 1e-6, 1e-8):
        fwd = (np.tanh(x0 + eps) - np.tanh(x0)) / eps
        cen = (np.tanh(x0 + eps) - np.tanh(x0 - eps)) / (2 * eps)
        e32 = np.float32(eps)
        c32 = (np.tanh(np.float32(x0) + e32) - np.tanh(np.float32(x0) - e32)) / (2 * e32)
        print(f"{eps:8.0e}  {abs(fwd - exact):12.2e}  {abs(cen - exact):12.2e}  "
              f"{abs(float(c32) - exact):12.2e}")
    print("forward differences err ~eps, central ~eps^2; rounding adds ~1e-16/eps in float64 "
          "but ~1e-7/eps in float32,\nso float64 with eps=1e-6 gives ~10 correct digits, "
          "float32 at most 4-5 (at a large eps) and ~1 at eps=1e-6.")


def step2():
    """gradcheck of softmax, with the table."""
    header(2, "gradcheck of an op: `tinygrad-attn gradcheck op softmax`")
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    ta.gradcheck(F.softmax, x, verbose=True)


class BrokenSigmoid(ta.Function):
    """Sigmoid whose backward forgets the factor (1 - y): ``dy/dx = y`` instead of ``y(1 - y)``."""

    def forward(self, x):
        return 1 / (1 + np.exp(-x))

    def backward(self, gy):
        y = self.outputs[0]()
        return gy * y  # WRONG: should be gy * y * (1 - y)


class OneBadElement(ta.Function):
    """Elementwise x * w whose gradient for w is wrong in a single element (index arithmetic)."""

    def forward(self, x, w):
        return x * w

    def backward(self, gy):
        x, w = self.inputs
        gw = (gy * x).data.copy()
        gw[1, 2] = gw[2, 1]  # WRONG: swapped indices for one element
        return gy * w, ta.Variable(gw)


def step3():
    """Two broken Functions and what the report says."""
    header(3, "a deliberately broken Function")
    rng = np.random.default_rng(1)
    res = ta.gradcheck(lambda x: BrokenSigmoid()(x), rng.standard_normal((3, 4)))
    print(res)
    print()
    res = ta.gradcheck(lambda x, w: OneBadElement()(x, w), rng.standard_normal((3, 4)),
                       rng.standard_normal((3, 4)))
    print(res)


def step4():
    """check_layer on an LSTM (float32 parameters, checked in float64, restored)."""
    header(4, "check_layer: `tinygrad-attn gradcheck layer lstm`")
    ta.seed(0)
    lstm = L.LSTM(3, 4)
    xs = np.random.default_rng(2).standard_normal((2, 5, 3)).astype(np.float32)
    res = check_layer(lstm, xs, verbose=True)
    print(f"after the check: Wx is {lstm.Wx.dtype} again; passed={res.passed}")


def step5():
    """Hand-derived formulas vs the engine."""
    header(5, "hand-derived vs automatic gradients")
    print(compare_attention(seed=0))
    print()
    print(compare_lstm_step(seed=0))
    print()

    def softmax_backward_forgot_sum(da, cache):
        a, hs, h = cache["a"], cache["hs"], cache["h"]
        ds = a * da  # WRONG: the softmax Jacobian also subtracts a * sum(a * da)
        return ds[:, :, None] * h[:, None, :], (ds[:, :, None] * hs).sum(axis=1)

    wrong = compare_attention(seed=0, weight_backward=softmax_backward_forgot_sum)
    print("with the '- sum(a * da)' term forgotten:")
    for name, d in wrong.diffs.items():
        print(f"  {name:28s} {d:.2e}")


def step6():
    """Anomaly mode names the op and the line that made the first NaN/Inf."""
    header(6, "anomaly mode")
    rng = np.random.default_rng(3)
    lin = L.Linear(4, 3, dtype=np.float64)
    x = rng.standard_normal((2, 4))
    mask = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])  # a 0 that should not be there
    try:
        with ta.detect_anomaly(), np.errstate(divide="ignore"):
            p = F.softmax(lin(x)) * ta.Variable(mask)
            loss = -F.sum(F.log(p))  # log(0) = -inf
            loss.backward()
    except FloatingPointError as e:
        print(f"FloatingPointError: {e}")


def step7():
    """Gradient norms per layer with and without residual connections."""
    header(7, "gradient flow and skip connections (examples/skip_connections_gradflow.py)")
    runs = compare_skip_connections(num_layers=6, seq_len=20, batch=4, size=8, seed=0)
    for label, rows in runs.items():
        print(grad_flow_table(group_norms(rows), title=f"-- {label}, per layer --"))
        print()


STEPS = [step1, step2, step3, step4, step5, step6, step7]


def main(argv=None):
    """Run the chosen steps (all by default)."""
    argv = sys.argv[1:] if argv is None else argv
    chosen = [int(a) for a in argv] if argv else range(1, len(STEPS) + 1)
    for n in chosen:
        if not 1 <= n <= len(STEPS):
            raise SystemExit(f"gradcheck_lesson: steps are 1..{len(STEPS)}, got {n}")
        STEPS[n - 1]()


if __name__ == "__main__":
    main()
