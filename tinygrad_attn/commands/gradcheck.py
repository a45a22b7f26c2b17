"""``tinygrad-attn gradcheck``: check one op, layer or model against central differences.

``tinygrad-attn gradcheck op softmax`` checks ``F.softmax`` on representative float64
inputs; ``layer lstm`` checks ``L.LSTM`` with respect to its input and every parameter;
``model attention`` checks the loss of a tiny ``AttentionSeq2seq`` with respect to every
parameter. The report table is printed; the exit status is 0 when the check passes and
1 when it fails. ``all`` as the name runs every case of that kind.
"""
from __future__ import annotations

import numpy as np

from ..cli import CLIError

__all__ = ["add_parser", "run", "OP_CASES", "LAYER_CASES", "MODEL_CASES", "build_case",
           "run_case"]


# ----------------------------------------------------------------------------- op cases
def _away(rng, shape, lo=0.2, hi=1.5):
    """Random values with |x| in [lo, hi]: away from kinks at 0."""
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def _pos(rng, shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, shape)


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _flat(F, ys):
    """Join the outputs of a multi-output op into one Variable."""
    return F.concat([F.reshape(y, (-1,)) for y in ys], axis=0)


def _op_cases():
    """``{name: (description, build(rng) -> (fn, inputs))}`` for every op of ``F``."""
    from .. import functions as F

    def clip_input(rng):
        x = _n(rng, 3, 4)
        return np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.2, x)  # not at the bounds

    ids = np.array([[0, 3, 3], [5, 1, 0]])
    labels = np.array([[1, 0, 4], [2, -1, 3]])  # -1: ignored
    cond = np.array([[True, False, True, False]] * 3)
    C = {
        "abs": ("x (3, 4), |x| >= 0.2",
                lambda r: (F.abs, [_away(r, (3, 4))])),
        "add": ("(3, 4) + (4,) broadcast",
                lambda r: (F.add, [_n(r, 3, 4), _n(r, 4)])),
        "attention_weight": (
            "hs (2, 5, 4) with h (2, 4) and with h (2, 3, 4)",
            lambda r: (lambda hs, h1, h3: _flat(F, [F.attention_weight(hs, h1),
                                                    F.attention_weight(hs, h3)]),
                       [_n(r, 2, 5, 4), _n(r, 2, 4), _n(r, 2, 3, 4)])),
        "broadcast_to": ("(1, 4) -> (3, 4)",
                         lambda r: (lambda x: F.broadcast_to(x, (3, 4)), [_n(r, 1, 4)])),
        "clip": ("x (3, 4) clipped to [-0.5, 0.5], not at the bounds",
                 lambda r: (lambda x: F.clip(x, -0.5, 0.5), [clip_input(r)])),
        "concat": ("(2, 3) and (2, 4) along axis 1",
                   lambda r: (lambda a, b: F.concat([a, b], axis=1), [_n(r, 2, 3), _n(r, 2, 4)])),
        "div": ("(3, 4) / (4,) broadcast, |divisor| >= 0.5",
                lambda r: (F.div, [_n(r, 3, 4), _away(r, (4,), 0.5)])),
        "dropout": ("p=0.3 with a fixed mask (same Generator seed every call)",
                    lambda r: (lambda x: F.dropout(x, 0.3, rng=np.random.default_rng(0)),
                               [_n(r, 3, 4)])),
        "embedding": ("W (6, 3) at ids (2, 3) with a repeated id",
                      lambda r: (lambda W: F.embedding(W, ids), [_n(r, 6, 3)])),
        "exp": ("x (3, 4)",
                lambda r: (F.exp, [_n(r, 3, 4)])),
        "expand_dims": ("(3, 4) -> (3, 1, 4)",
                        lambda r: (lambda x: F.expand_dims(x, 1), [_n(r, 3, 4)])),
        "flatten": ("(2, 3, 4) -> (2, 12)",
                    lambda r: (F.flatten, [_n(r, 2, 3, 4)])),
        "flip": ("(2, 5) along axis 1",
                 lambda r: (lambda x: F.flip(x, 1), [_n(r, 2, 5)])),
        "get_item": ("x[1:, [0, 2, 2]] (a slice and a repeated index)",
                     lambda r: (lambda x: F.get_item(x, (slice(1, None), np.array([0, 2, 2]))),
                                [_n(r, 3, 4)])),
        "linear": ("x (2, 5, 3) W (3, 4) b (4,)",
                   lambda r: (F.linear, [_n(r, 2, 5, 3), _n(r, 3, 4), _n(r, 4)])),
        "log": ("x (3, 4) in [0.5, 2]",
                lambda r: (F.log, [_pos(r, (3, 4))])),
        "log_softmax": ("(2, 3, 5) over the last axis",
                        lambda r: (F.log_softmax, [_n(r, 2, 3, 5)])),
        "logsumexp": ("(3, 5) over axis 1",
                      lambda r: (lambda x: F.logsumexp(x, axis=1), [_n(r, 3, 5)])),
        "matmul": ("(2, 3, 4) @ (4, 5) broadcast over the batch",
                   lambda r: (F.matmul, [_n(r, 2, 3, 4), _n(r, 4, 5)])),
        "max": ("(3, 5) over axis 1 (distinct values)",
                lambda r: (lambda x: F.max(x, axis=1), [_n(r, 3, 5)])),
        "mean": ("(3, 4) over axis 0, keepdims",
                 lambda r: (lambda x: F.mean(x, axis=0, keepdims=True), [_n(r, 3, 4)])),
        "mean_squared_error": ("(3, 4) vs (3, 4)",
                               lambda r: (F.mean_squared_error, [_n(r, 3, 4), _n(r, 3, 4)])),
        "min": ("(3, 5) over axis 0 (distinct values)",
                lambda r: (lambda x: F.min(x, axis=0), [_n(r, 3, 5)])),
        "mul": ("(3, 4) * (3, 1) broadcast",
                lambda r: (F.mul, [_n(r, 3, 4), _n(r, 3, 1)])),
        "neg": ("x (3, 4)",
                lambda r: (F.neg, [_n(r, 3, 4)])),
        "pow": ("x ** 3 (constant) and x ** y (x > 0, y (4,) broadcast)",
                lambda r: (lambda x, y: _flat(F, [F.pow(x, 3), F.pow(x, y)]),
                           [_pos(r, (3, 4)), _n(r, 4)])),
        "rdiv": ("2 / x, |x| >= 0.5",
                 lambda r: (lambda x: F.rdiv(x, 2.0), [_away(r, (3, 4), 0.5)])),
        "relu": ("x (3, 4), |x| >= 0.2",
                 lambda r: (F.relu, [_away(r, (3, 4))])),
        "reshape": ("(2, 6) -> (3, 4)",
                    lambda r: (lambda x: F.reshape(x, (3, 4)), [_n(r, 2, 6)])),
        "rpow": ("c ** x with c (4,) > 0 broadcast",
                 lambda r: (F.rpow, [_n(r, 3, 4), _pos(r, (4,))])),
        "rsub": ("(4,) - (3, 4) broadcast",
                 lambda r: (F.rsub, [_n(r, 3, 4), _n(r, 4)])),
        "sigmoid": ("x (3, 4)",
                    lambda r: (F.sigmoid, [_n(r, 3, 4)])),
        "softmax": ("(2, 3, 5) over the last axis",
                    lambda r: (F.softmax, [_n(r, 2, 3, 5)])),
        "softmax_cross_entropy": ("logits (2, 3, 5), labels (2, 3) with one ignored (-1)",
                                  lambda r: (lambda x: F.softmax_cross_entropy(x, labels),
                                             [_n(r, 2, 3, 5)])),
        "split": ("(2, 6) into 3 along axis 1",
                  lambda r: (lambda x: _flat(F, F.split(x, 3, axis=1)), [_n(r, 2, 6)])),
        "sqrt": ("x (3, 4) in [0.5, 2]",
                 lambda r: (F.sqrt, [_pos(r, (3, 4))])),
        "square": ("x (3, 4)",
                   lambda r: (F.square, [_n(r, 3, 4)])),
        "squeeze": ("(3, 1, 4) -> (3, 4)",
                    lambda r: (lambda x: F.squeeze(x, 1), [_n(r, 3, 1, 4)])),
        "stack": ("two (2, 3) along axis 1",
                  lambda r: (lambda a, b: F.stack([a, b], axis=1), [_n(r, 2, 3), _n(r, 2, 3)])),
        "sub": ("(3, 4) - (1, 4) broadcast",
                lambda r: (F.sub, [_n(r, 3, 4), _n(r, 1, 4)])),
        "sum": ("(2, 3, 4) over axes (0, 2)",
                lambda r: (lambda x: F.sum(x, axis=(0, 2)), [_n(r, 2, 3, 4)])),
        "sum_to": ("(2, 3, 4) -> (3, 1)",
                   lambda r: (lambda x: F.sum_to(x, (3, 1)), [_n(r, 2, 3, 4)])),
        "swapaxes": ("(2, 3, 4) axes 0 and 2",
                     lambda r: (lambda x: F.swapaxes(x, 0, 2), [_n(r, 2, 3, 4)])),
        "tanh": ("x (3, 4)",
                 lambda r: (F.tanh, [_n(r, 3, 4)])),
        "transpose": ("(2, 3, 4) axes (1, 2, 0)",
                      lambda r: (lambda x: F.transpose(x, (1, 2, 0)), [_n(r, 2, 3, 4)])),
        "unstack": ("(2, 3, 4) along axis 1",
                    lambda r: (lambda x: _flat(F, F.unstack(x, axis=1)), [_n(r, 2, 3, 4)])),
        "weight_sum": (
            "hs (2, 5, 4) with a (2, 5) and with a (2, 3, 5)",
            lambda r: (lambda hs, a2, a3: _flat(F, [F.weight_sum(hs, a2), F.weight_sum(hs, a3)]),
                       [_n(r, 2, 5, 4), _n(r, 2, 5), _n(r, 2, 3, 5)])),
        "where": ("where(cond (3, 4), x (3, 4), y (4,) broadcast)",
                  lambda r: (lambda x, y: F.where(cond, x, y), [_n(r, 3, 4), _n(r, 4)])),
    }
    return C


OP_CASES = sorted(_op_cases())


# ----------------------------------------------------------------------------- layer cases
def _layer_cases():
    """``{name: (description, build(rng) -> (layer, inputs))}``."""
    from .. import layers as L

    C = {
        "linear": ("Linear(3, 4) on x (2, 5, 3)",
                   lambda r: (L.Linear(3, 4), [_n(r, 2, 5, 3)])),
        "embedding": ("Embedding(7, 3) on ids (2, 4) with repeats",
                      lambda r: (L.Embedding(7, 3), [np.array([[0, 6, 6, 2], [1, 0, 2, 2]])])),
        "lstmcell": ("LSTMCell(3, 4) on x (2, 3), h (2, 4), c (2, 4); output (h, c) concatenated",
                     lambda r: (L.LSTMCell(3, 4), [_n(r, 2, 3), _n(r, 2, 4), _n(r, 2, 4)])),
        "lstm": ("LSTM(3, 4) on xs (2, 5, 3), h0 (2, 4), c0 (2, 4)",
                 lambda r: (L.LSTM(3, 4), [_n(r, 2, 5, 3), _n(r, 2, 4), _n(r, 2, 4)])),
        "gru": ("GRU(3, 4) on xs (2, 5, 3), h0 (2, 4)",
                lambda r: (L.GRU(3, 4), [_n(r, 2, 5, 3), _n(r, 2, 4)])),
        "bidirectional": ("Bidirectional(LSTM(3, 2), LSTM(3, 2)) on xs (2, 4, 3)",
                          lambda r: (L.Bidirectional(L.LSTM(3, 2), L.LSTM(3, 2)),
                                     [_n(r, 2, 4, 3)])),
        "stacked": ("StackedLSTM(3, [4, 4, 5], residual, dropout 0.2) on xs (2, 4, 3)",
                    lambda r: (L.StackedLSTM(3, [4, 4, 5], residual=True, dropout=0.2),
                               [_n(r, 2, 4, 3)])),
        "attention": ("Attention() on hs (2, 5, 4), h (2, 4)",
                      lambda r: (L.Attention(), [_n(r, 2, 5, 4), _n(r, 2, 4)])),
        "timeattention": ("TimeAttention() on hs_enc (2, 5, 4), hs_dec (2, 3, 4)",
                          lambda r: (L.TimeAttention(), [_n(r, 2, 5, 4), _n(r, 2, 3, 4)])),
    }
    return C


LAYER_CASES = sorted(_layer_cases())

# ----------------------------------------------------------------------------- model cases
def model_cases():
    """Names of the model cases: every registered model, and ``NAME-VARIANT`` for its variants."""
    from .. import registry

    names = []
    for name in registry.model_names():
        names.append(name)
        names += [f"{name}-{v}" for v in registry.get_spec(name).variants]
    return names


MODEL_CASES = model_cases()

_KINDS = {"op": OP_CASES, "layer": LAYER_CASES, "model": MODEL_CASES}


def build_case(kind, name, seed=0):
    """Build the objects of one named case.

    Args:
        kind: ``"op"``, ``"layer"`` or ``"model"``.
        name: a name from ``OP_CASES``, ``LAYER_CASES`` or ``MODEL_CASES``.
        seed: seed of the inputs and of the weights (``tinygrad_attn.seed``).

    Returns:
        ``(description, target, inputs)``: for ops the function and its float64 inputs,
        for layers the layer and its call arguments, for models the model and ``(xs, ts)``.

    Raises:
        CLIError: an unknown kind or name (the message lists the valid names).
    """
    import tinygrad_attn as ta

    if kind not in _KINDS:
        raise CLIError(f"gradcheck: unknown kind {kind!r}; choose one of {sorted(_KINDS)}")
    if name not in _KINDS[kind]:
        raise CLIError(f"gradcheck: unknown {kind} {name!r}; valid names: "
                       f"{', '.join(_KINDS[kind])} (or 'all')")
    rng = np.random.default_rng(seed)
    ta.seed(seed)
    if kind == "op":
        desc, build = _op_cases()[name]
        fn, inputs = build(rng)
        return desc, fn, inputs
    if kind == "layer":
        desc, build = _layer_cases()[name]
        layer, inputs = build(rng)
        return desc, layer, inputs
    from .. import registry
    from .graph import model_example

    base = max((n for n in registry.model_names() if name == n or name.startswith(n + "-")), key=len)
    variant = name[len(base) + 1:] or None
    model, batch = model_example(base, seq_len=5, batch=2, seed=seed, variant=variant)
    desc = f"{type(model).__name__}({', '.join(f'{k}={v!r}' for k, v in model.config.items() if k != 'model')})"
    return desc, model, batch


def run_case(kind, name, seed=0, eps=1e-6, atol=1e-5, rtol=1e-4, max_elements=None):
    """Run one named case and return its :class:`~tinygrad_attn.gradcheck.GradcheckResult`.

    Args:
        kind: ``"op"``, ``"layer"`` or ``"model"``.
        name: the case's name.
        seed: seed of data and weights.
        eps: central-difference step.
        atol: absolute tolerance.
        rtol: relative tolerance.
        max_elements: elements per Variable at most (default: all for ops, 200 for layers,
            50 for models).

    Returns:
        GradcheckResult, with a title naming the case.

    Raises:
        CLIError: an unknown kind or name.
    """
    from ..gradcheck import check_layer, check_model, gradcheck

    desc, target, inputs = build_case(kind, name, seed)
    tol = dict(eps=eps, atol=atol, rtol=rtol, seed=seed)
    if kind == "op":
        res = gradcheck(target, *inputs, max_elements=max_elements, **tol)
    elif kind == "layer":
        res = check_layer(target, *inputs, max_elements=max_elements or 200, **tol)
    else:
        res = check_model(target, *inputs, max_elements=max_elements or 50, **tol)
    res.title = f"gradcheck {kind} {name}: {desc}"
    return res


# ----------------------------------------------------------------------------- command
def add_parser(subparsers):
    """Register the ``gradcheck`` sub-command.

    Args:
        subparsers: the ``add_subparsers()`` object of the main parser.

    Returns:
        The ``argparse.ArgumentParser`` of the sub-command.
    """
    p = subparsers.add_parser(
        "gradcheck", help="check an op, layer or model's gradients against central differences",
        description="Compare the engine's gradients with central differences in float64 and "
                    "print a table per checked input/parameter. Exit status 0 when every "
                    "element is within tolerance, 1 otherwise. NAME 'all' runs every case.",
        epilog=f"ops: {', '.join(OP_CASES)}. layers: {', '.join(LAYER_CASES)}. "
               f"models: {', '.join(MODEL_CASES)}.")
    p.add_argument("kind", choices=sorted(_KINDS), help="what to check")
    p.add_argument("name", help="which op/layer/model (see below), or 'all'")
    p.add_argument("--seed", type=int, default=0, help="seed of the data and weights (default 0)")
    p.add_argument("--eps", type=float, default=1e-6, help="central-difference step (default 1e-6)")
    p.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default 1e-5)")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    p.add_argument("--max-elements", type=int, default=None,
                   help="check at most this many elements per tensor (default: all for ops, "
                        "200 for layers, 50 for models)")
    return p


def run(args) -> int:
    """Run the check(s); print the report(s).

    Returns:
        0 when every check passed, 1 otherwise.

    Raises:
        CLIError: unknown name, or bad option values.
    """
    if args.eps <= 0 or args.atol < 0 or args.rtol < 0:
        raise CLIError(f"gradcheck: need --eps > 0 and --atol, --rtol >= 0; got eps={args.eps}, "
                       f"atol={args.atol}, rtol={args.rtol}")
    if args.max_elements is not None and args.max_elements < 1:
        raise CLIError(f"gradcheck: --max-elements must be positive, got {args.max_elements}")
    if args.seed < 0:
        raise CLIError(f"gradcheck: --seed must be >= 0, got {args.seed}")
    names = _KINDS[args.kind] if args.name == "all" else [args.name]
    failed = []
    for name in names:
        res = run_case(args.kind, name, seed=args.seed, eps=args.eps, atol=args.atol,
                       rtol=args.rtol, max_elements=args.max_elements)
        if len(names) == 1 or not res.passed:
            print(res.report())
            if len(names) > 1:
                print()
        else:
            worst = max((e.tol_used for e in res.entries), default=0.0)
            print(f"ok    {args.kind} {name}  ({len(res.entries)} tensors, tol used {worst:.2g})")
        if not res.passed:
            failed.append(name)
    if len(names) > 1:
        print(f"{len(names) - len(failed)} of {len(names)} passed"
              + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
