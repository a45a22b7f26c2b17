"""``tinygrad-attn gradcheck``: check one op, layer or model against central differences.

``tinygrad-attn gradcheck op softmax`` checks ``F.softmax`` on representative float64
inputs; ``layer lstm`` checks ``L.LSTM`` with respect to its input and every parameter
(the cases of :mod:`tinygrad_attn.checks.opcases` and :mod:`tinygrad_attn.checks.layercases`, shared with
the tests); ``model attention`` checks the loss of a tiny ``AttentionSeq2seq`` (built
through the model registry) with respect to every parameter. The report table is printed; the exit status is 0 when the check passes and
1 when it fails. ``all`` as the name runs every case of that kind.
"""
from __future__ import annotations

import tinygrad_attn as ta

from ... import validate as V
from ...checks.gradcheck import check_model
from ...checks.layercases import check_layer_case, layer_case, layer_case_ids
from ...checks.opcases import OP_CASES as ALL_OP_CASES
from ...checks.opcases import check_op_case, op_case
from ...training import registry
from .. import values as T
from ..common import model_example
from ..values import CLIError

__all__ = ["add_parser", "run", "OP_CASES", "LAYER_CASES", "MODEL_CASES", "build_case",
           "run_case"]


# ----------------------------------------------------------------------------- op cases
OP_CASES = [c.id for c in sorted(ALL_OP_CASES, key=lambda c: c.id) if c.numeric]
"""Names of the op cases this command checks (the table is :mod:`tinygrad_attn.checks.opcases`)."""


# ----------------------------------------------------------------------------- layer cases
LAYER_CASES = layer_case_ids()
"""Names of the layer cases (the table is :mod:`tinygrad_attn.checks.layercases`)."""


# ----------------------------------------------------------------------------- model cases
def model_cases():
    """Names of the model cases: every registered model, and ``NAME-VARIANT`` for its variants."""

    names = []
    for name in registry.model_names():
        names.append(name)
        names += [f"{name}-{v}" for v in registry.get_spec(name).variants]
    return names


MODEL_CASES = model_cases()

_KINDS = {"op": OP_CASES, "layer": LAYER_CASES, "model": MODEL_CASES}


def _check_name(kind, name):
    if kind not in _KINDS:
        raise CLIError(f"gradcheck: unknown kind {kind!r}; choose one of {sorted(_KINDS)}")
    if name not in _KINDS[kind]:
        raise CLIError(f"gradcheck: unknown {kind} {name!r}; valid names: "
                       f"{', '.join(_KINDS[kind])} (or 'all')")


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

    _check_name(kind, name)
    ta.seed(seed)
    if kind == "op":
        case = op_case(name)
        return case.describe(), case.checkable(), case.arrays(seed)
    if kind == "layer":
        case = layer_case(name)
        return case.describe(), case.make(), case.arrays(seed)

    base = max((n for n in registry.model_names() if name == n or name.startswith(n + "-")), key=len)
    variant = name[len(base) + 1:] or None
    model, batch = model_example(base, seq_len=5, batch=2, seed=seed, variant=variant)
    desc = f"{type(model).__name__}({', '.join(f'{k}={v!r}' for k, v in model.config.items() if k != 'model')})"
    return desc, model, batch


def run_case(kind, name, seed=0, eps=1e-6, atol=1e-5, rtol=1e-4, max_elements=None):
    """Run one named case and return its :class:`~tinygrad_attn.checks.gradcheck.GradcheckResult`.

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

    _check_name(kind, name)
    tol = dict(eps=eps, atol=atol, rtol=rtol, seed=seed)
    if kind == "op":
        desc = op_case(name).describe()
        res = check_op_case(name, max_elements=max_elements, **tol)
    elif kind == "layer":
        desc = layer_case(name).describe()
        res = check_layer_case(name, max_elements=max_elements or 200, **tol)
    else:
        desc, model, batch = build_case(kind, name, seed)
        res = check_model(model, *batch, max_elements=max_elements or 50, **tol)
    res.title = f"gradcheck {kind} {name}: {desc}"
    return res


# ----------------------------------------------------------------------------- command
def add_parser(subparsers):
    """Add ``gradcheck`` to ``subparsers`` (the main parser's ``add_subparsers()``) and return
    its ``argparse.ArgumentParser``."""
    p = subparsers.add_parser(
        "gradcheck", help="check an op, layer or model's gradients against central differences",
        description="Compare the engine's gradients with central differences in float64 and "
                    "print a table per checked input/parameter. Exit status 0 when every "
                    "element is within tolerance, 1 otherwise. NAME 'all' runs every case.",
        epilog=f"ops: {', '.join(OP_CASES)}. layers: {', '.join(LAYER_CASES)}. "
               f"models: {', '.join(MODEL_CASES)}.")
    p.add_argument("kind", choices=sorted(_KINDS), help="what to check")
    p.add_argument("name", help="which op/layer/model (see below), or 'all'")
    p.add_argument("--seed", type=T.ranged(V.SEED), default=0,
                   help="seed of the data and weights, 0 to 2**32-1 (default 0)")
    p.add_argument("--eps", type=T.ranged(V.GRADCHECK_EPS), default=1e-6,
                   help="central-difference step, in (0, 1] (default 1e-6)")
    p.add_argument("--atol", type=T.ranged(V.TOLERANCE), default=1e-5,
                   help="absolute tolerance, finite and >= 0 (default 1e-5)")
    p.add_argument("--rtol", type=T.ranged(V.TOLERANCE), default=1e-4,
                   help="relative tolerance, finite and >= 0 (default 1e-4)")
    p.add_argument("--max-elements", type=T.ranged(V.MAX_ELEMENTS), default=None,
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
