"""The model registry: how models plug into the framework without the framework importing them.

A model is known to ``tinygrad_attn`` only through a :class:`ModelSpec` — its name (used by
``--model`` and stored in every checkpoint), the callable that builds it from a config dict,
the kind of task it learns and the command-line options it adds. The framework never
imports a models package by name: it finds models through the packaging entry-point group
``tinygrad_attn.models`` (:data:`ENTRY_POINT_GROUP`). The project's own models
(``tinygrad_attn_models``, the repository's ``models/`` folder) are found that way, and a
model written anywhere else plugs in the same way — or by calling :func:`register_model`
directly in the running program::

    from tinygrad_attn.training.registry import ModelSpec, Option, register_model

    register_model(ModelSpec(
        name="tiny", factory=TinyModel, task="text",
        options=(Option("hidden", int, 32, "hidden width", config="hidden_size", low=1),),
        help="a one-layer toy"))

Entry points are read lazily, the first time a name is looked up, so ``import tinygrad_attn``
stays cheap and never imports model code.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["ENTRY_POINT_GROUP", "Option", "ModelSpec", "register_model",
           "unregister_model", "get_spec", "model_names", "build_model", "all_options",
           "load_plugins", "recorded_config"]

ENTRY_POINT_GROUP = "tinygrad_attn.models"

@dataclass(frozen=True)
class Option:
    """One command-line option a model adds to ``tinygrad-attn train`` (and friends).

    Args:
        name: the flag without dashes (``"heads"`` gives ``--heads``; ``_`` is written ``-``).
        type: ``int``, ``float``, ``str`` or ``bool`` (``bool`` is an on/off switch,
            ``--name`` / ``--no-name``).
        default: the value used when the flag is not given.
        help: one line for ``--help``.
        config: the key of the model's config (and constructor argument) it sets;
            default: ``name`` with ``-`` written ``_``.
        choices: the allowed values, if a fixed set.
        low, high: the allowed range (inclusive) for numbers.
    """

    name: str
    type: type
    default: Any
    help: str = ""
    config: str | None = None
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None

    def __post_init__(self):
        if self.type not in (int, float, str, bool):
            raise TypeError(f"Option {self.name!r}: type must be int, float, str or bool, "
                            f"got {self.type!r}")
        if not self.name or not self.name.replace("-", "_").replace("_", "").isalnum():
            raise ValueError(f"Option: bad name {self.name!r}")

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--attention-feed``."""
        return "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        """The attribute name argparse stores the value under."""
        return self.name.replace("-", "_")

    @property
    def key(self) -> str:
        """The config key this option sets."""
        return self.config or self.dest

    def check(self, value, who="") -> Any:
        """Return ``value`` converted to this option's type, or raise ValueError naming the range."""
        where = f"{who}: " if who else ""
        if self.type is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{where}{self.flag} must be true or false, got {value!r}")
            return bool(value)
        if self.type in (int, float):
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                value, (bool, np.bool_))
            if ok and self.type is int:
                ok = float(value).is_integer()
            if not ok or not np.isfinite(value):
                raise ValueError(f"{where}{self.flag} must be a finite {self.type.__name__}, "
                                 f"got {value!r}")
            value = self.type(value)
            if (self.low is not None and value < self.low) or \
                    (self.high is not None and value > self.high):
                raise ValueError(f"{where}{self.flag} must be in {self.range_text()}, got {value!r}")
        elif not isinstance(value, str):
            raise ValueError(f"{where}{self.flag} must be a string, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{where}{self.flag} must be one of {', '.join(map(str, self.choices))}; "
                             f"got {value!r}")
        return value

    def range_text(self) -> str:
        """The valid range in words, e.g. ``[1, 4096]``."""
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"[{lo}, {hi}]"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the framework knows about one model.

    Args:
        name: the model's name: ``--model NAME`` on the command line and ``config["model"]``
            in checkpoints.
        factory: a callable (usually the class) called as ``factory(**config, dtype=, rng=)``
            with the config minus its ``"model"`` key.
        task: the kind of :class:`~tinygrad_attn.data.task.Task` it learns (``"text"``:
            the data gives ``vocab_size``; ``"bits"``: ``input_width`` and ``output_width``;
            a kind of your own: whatever its ``model_fields()`` returns).
        options: the :class:`Option` s it adds to the command line.
        help: one line for ``--help`` listings.
        tiny: config values of a small instance (for ``graph`` and ``gradcheck``), e.g.
            ``{"hidden_size": 6}``; the rest comes from the options' defaults.
        variants: named config overrides of the tiny instance that ``gradcheck model``
            checks too, e.g. ``{"bi": {"bidirectional": True}}`` (checked as ``NAME-bi``).

    A model whose inputs are not integer ids in ``[0, vocab_size)`` defines
    ``example_batch(rng, batch, seq_len) -> (xs, ts)`` so that ``graph`` and ``gradcheck``
    can feed it.
    """

    name: str
    factory: Callable
    task: str = "text"
    options: tuple = field(default_factory=tuple)
    help: str = ""
    tiny: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)

    def __hash__(self):
        return hash((self.name, self.task))

    @property
    def maps(self) -> tuple:
        """The attention maps the model exposes through its ``trace`` method (the factory's
        ``attention_maps``): ``"cross"`` (decoder over input, per step), ``"enc"``, ``"dec"``
        (self-attention), ``"memory"`` (an NTM's read and write weightings); empty for a model
        without attention. ``tinygrad-attn explore`` and
        :func:`tinygrad_attn.viz.explore` use it to choose their views."""
        return tuple(getattr(self.factory, "attention_maps", ()) or ())

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or not self.name.replace(
                "-", "").replace("_", "").isalnum():
            raise ValueError(f"ModelSpec: bad model name {self.name!r}")
        if not isinstance(self.task, str) or not self.task:
            raise ValueError(f"ModelSpec {self.name!r}: task must be a task kind such as "
                             f"'text' or 'bits', got {self.task!r}")
        object.__setattr__(self, "options", tuple(self.options))
        keys = [o.key for o in self.options]
        if len(set(keys)) != len(keys):
            raise ValueError(f"ModelSpec {self.name!r}: two options set the same config key")

    def config_from(self, values: dict, **data_fields) -> dict:
        """The config dict for option ``values`` (name -> value or None for the default).

        ``data_fields`` are what the data decides (``vocab_size=...``, or ``input_width=...`` and ``output_width=...``).
        Values are checked against each option's type and range (ValueError otherwise).
        """
        config = {"model": self.name}
        config.update(data_fields)
        for opt in self.options:
            v = values.get(opt.dest)
            config[opt.key] = opt.default if v is None else opt.check(v, self.name)
        return config

    def tiny_config(self, variant: str | None = None, **data_fields) -> dict:
        """Config of a small instance (``tiny`` over the defaults, then ``variants[variant]``)."""
        config = self.config_from({}, **data_fields)
        config.update(self.tiny)
        if variant is not None:
            if variant not in self.variants:
                raise ValueError(f"model {self.name!r} has no variant {variant!r}; "
                                 f"variants: {', '.join(self.variants) or 'none'}")
            config.update(self.variants[variant])
        return config

    def build(self, config: dict, dtype=np.float32, rng=None):
        """Build the model described by ``config`` (whose ``"model"`` must be this spec's name).

        The model's ``config`` attribute is then the complete config it was built with:
        every constructor argument, defaults included (see :func:`recorded_config`).
        """
        config = dict(config)
        if config.pop("model", self.name) != self.name:
            raise ValueError(f"ModelSpec {self.name!r}: config is for another model")
        try:
            model = self.factory(**config, dtype=dtype, rng=rng)
        except TypeError as e:
            raise ValueError(f"model {self.name!r}: bad options: {e}") from e
        if not isinstance(self.factory, type):  # a function: record here what it was given
            model.config = recorded_config(self.name, self.factory, (), config)
        return model


def _plain(v):
    """A JSON value for a constructor argument (NumPy scalars become Python numbers)."""
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def recorded_config(name: str, factory, args: tuple, kwargs: dict) -> dict:
    """``{"model": name, **every argument of factory(*args, **kwargs)}``, defaults included.

    ``dtype`` and ``rng`` are not part of a config (they say how, not what, to build).
    """
    sig = inspect.signature(factory)
    bound = sig.bind_partial(*args, **kwargs)
    bound.apply_defaults()
    out = {"model": name}
    for k, v in bound.arguments.items():
        p = sig.parameters[k]
        if k in ("self", "dtype", "rng") or p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.VAR_KEYWORD:
            out.update({kk: _plain(vv) for kk, vv in v.items()})
        else:
            out[k] = _plain(v)
    return out


def _record_config_of(cls, name: str) -> None:
    """Make every instance of ``cls`` record the arguments it was built with as ``config``.

    The constructor is wrapped once; the outermost registered constructor of an instance
    writes last, so a registered subclass records its own name and arguments.
    """
    if cls.__dict__.get("_recorded_name") == name:
        return
    original = cls.__dict__.get("_recording_original", cls.__init__)

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        object.__setattr__(self, "config", recorded_config(name, original, (self, *args), kwargs))

    cls.__init__ = __init__
    cls._recording_original = original
    cls._recorded_name = name


_REGISTRY: dict[str, ModelSpec] = {}
_plugins_loaded = False
_plugin_errors: list[str] = []


def register_model(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Make ``spec`` known under ``spec.name``; returns it.

    Registering the same spec twice is harmless; a *different* spec under a taken name
    raises ValueError unless ``replace=True``.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register_model: expected a ModelSpec, got {type(spec).__name__}")
    old = _REGISTRY.get(spec.name)
    same_code = old is not None and getattr(old.factory, "__qualname__", None) == getattr(
        spec.factory, "__qualname__", 0)  # the same module imported again
    if old is not None and old != spec and not (replace or same_code):
        raise ValueError(f"register_model: the name {spec.name!r} is taken (by "
                         f"{getattr(old.factory, '__qualname__', old.factory)!r}); "
                         "pass replace=True to override it")
    if isinstance(spec.factory, type):
        _record_config_of(spec.factory, spec.name)
    _REGISTRY[spec.name] = spec
    return spec


def unregister_model(name: str) -> None:
    """Forget the model ``name`` (no error if unknown)."""
    _REGISTRY.pop(name, None)


def load_plugins(force: bool = False) -> list[str]:
    """Import every entry point of :data:`ENTRY_POINT_GROUP` (once); return the errors met.

    An entry point may name a module (whose import registers its models), a
    :class:`ModelSpec`, or a list of specs. A plugin that fails to import is skipped;
    its error is kept and shown when a name cannot be found.
    """
    global _plugins_loaded
    if _plugins_loaded and not force:
        return list(_plugin_errors)
    _plugins_loaded = True
    from importlib.metadata import entry_points  # lazy: read on the first unknown name

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as e:  # a broken plugin must not break the others
            _plugin_errors.append(f"{ep.name} ({ep.value}): {type(e).__name__}: {e}")
            continue
        specs = obj if isinstance(obj, (list, tuple)) else [obj]
        for s in specs:
            if isinstance(s, ModelSpec):
                register_model(s, replace=True)
    return list(_plugin_errors)


def model_names(task: str | None = None) -> list[str]:
    """Sorted names of the registered models (of one task if given)."""
    load_plugins()
    return sorted(n for n, s in _REGISTRY.items() if task is None or s.task == task)


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; ValueError listing the known names otherwise."""
    if name not in _REGISTRY:
        load_plugins()
    spec = _REGISTRY.get(name)
    if spec is None:
        known = ", ".join(model_names()) or "none"
        extra = f" (plugins that failed to load: {'; '.join(_plugin_errors)})" if _plugin_errors else ""
        if not _REGISTRY and not _plugin_errors:
            extra = (" (no models are registered: is tinygrad-attn installed, e.g. "
                     "`pip install -e .`?)")
        raise ValueError(f"unknown model {name!r}; known models: {known}{extra}")
    return spec


def build_model(config: dict, dtype=np.float32, rng=None):
    """Rebuild a model from its ``config`` dict (as stored in checkpoints).

    Raises:
        ValueError: not a dict, unknown model name, or options the model rejects.
    """
    if not isinstance(config, dict):
        raise ValueError(f"build_model: config must be a JSON object, got {type(config).__name__}")
    name = config.get("model")
    if not isinstance(name, str):
        raise ValueError(f"build_model: config['model'] must be a model name, got {name!r}")
    return get_spec(name).build(config, dtype=dtype, rng=rng)


def all_options(task: str | None = None) -> dict[str, list[tuple[str, Option]]]:
    """Every option of the registered models, by flag: ``{dest: [(model, Option), ...]}``.

    Models may share a flag (``--layers``) as long as its type agrees; a conflict raises
    ValueError naming both models.
    """
    out: dict[str, list[tuple[str, Option]]] = {}
    for name in model_names(task):
        for opt in _REGISTRY[name].options:
            seen = out.setdefault(opt.dest, [])
            for other, o in seen:
                if o.type is not opt.type:
                    raise ValueError(f"models {other!r} and {name!r} both define {opt.flag} "
                                     f"with different types ({o.type.__name__} vs "
                                     f"{opt.type.__name__})")
            seen.append((name, opt))
    return out

