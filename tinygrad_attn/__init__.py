"""tinygrad_attn: a define-by-run autograd mini-framework for the attention seq2seq.

Typical imports::

    import tinygrad_attn as ta
    from tinygrad_attn import functions as F, layers as L

The lessons (hand-derived backward passes, the skip-connection demo) are not imported
here: ``ta.lessons`` loads them on first use (they are teaching code the framework never runs).
"""
from . import backend
from .backend import as_numpy, gpu_available, get_array_module
from .core import (Config, Function, OpError, Parameter, Variable, as_variable, detect_anomaly,
                   enable_grad, is_grad_enabled, name_scope, no_grad, test_mode, train_mode)
from . import functions
from .checks.gradcheck import check_layer, check_model, gradcheck, gradgradcheck, numerical_grad
from .seeding import seed
from . import layers, optim  # noqa: E402  (after functions: they use F)
from .checks import gradflow  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Config", "Function", "OpError", "Parameter", "Variable", "as_variable", "as_numpy",
    "backend", "layers", "optim", "gradflow", "check_layer", "check_model", "detect_anomaly", "enable_grad", "functions",
    "get_array_module", "gpu_available", "gradcheck", "gradgradcheck", "is_grad_enabled",
    "name_scope", "no_grad", "numerical_grad", "seed", "test_mode", "train_mode",
]

# lazy: the lessons are teaching code; importing the framework must not load them
_LAZY_MODULES = {"lessons": "tinygrad_attn.checks.lessons"}


def __getattr__(name):
    """Load the lesson modules on first use (``ta.lessons``)."""
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(_LAZY_MODULES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
