"""What a sweep will run: the grid, the seeds, and one ``train`` command line per run.

A sweep is ``tinygrad-attn train`` run once per (configuration, seed). Every run's options
are a list of ``train`` arguments (``["--model", "attention", "--score", "dot", "--seed",
"0", ...]``) parsed by the ``train`` command's own parser, so a sweep accepts exactly the
options ``train`` accepts, checked with the same ranges and messages, before anything runs.

* :func:`parse_seeds` — ``"0-4"``, ``"0,2,7"``, ``"0-2,10"`` -> a sorted list of seeds.
* :func:`parse_grid` — ``["score=dot,additive", "bidirectional=false,true"]`` -> a dict.
* :func:`plan_runs` — the fixed options, the grid and the seeds -> a list of :class:`Run`.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import numbers
import re
from dataclasses import dataclass, field

__all__ = ["Run", "SweepError", "parse_seeds", "parse_grid", "options_to_argv", "plan_runs",
           "train_parser", "MAX_RUNS", "MAX_SEEDS", "RESERVED"]

MAX_SEEDS = 1000
"""Most seeds one sweep accepts."""
MAX_RUNS = 10_000
"""Most runs (configurations x seeds) one sweep accepts."""
MAX_SEED = 2**32 - 1
RESERVED = {"seed": "give the seeds with --seeds (e.g. --seeds 0-4)",
            "out": "the sweep chooses each run's folder under its own --out",
            "overwrite": "give --overwrite to the sweep itself",
            "no_progress": "runs never show progress bars",
            "help": "not a training option"}
"""``train`` options a sweep sets itself (they cannot be fixed or put in the grid)."""
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class SweepError(ValueError):
    """A sweep that cannot run as asked (a bad grid, seed range, option or output folder)."""


def train_parser():
    """The ``tinygrad-attn train`` argument parser (the command's own, with abbreviations off)."""
    from ..cli.main import ArgumentParser
    from ..cli.train_run import add_train_arguments

    root = ArgumentParser(prog="tinygrad-attn", allow_abbrev=False)
    return add_train_arguments(root.add_subparsers().add_parser("train", allow_abbrev=False))


def parse_seeds(spec) -> list[int]:
    """Seeds from ``"0-4"`` (inclusive), ``"0,3,9"``, ``"0-2,10"`` or an iterable of integers.

    Raises:
        SweepError: a malformed item, a seed outside [0, 2**32-1], a range whose end is below
            its start, repeated seeds, none, or more than :data:`MAX_SEEDS`.
    """
    out = []
    if isinstance(spec, str):
        for part in spec.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
            if not m:
                raise SweepError(f"--seeds: {part!r} is not a seed or a range like 0-4 "
                                 f"(give e.g. '0-4' or '0,1,7')")
            a = int(m.group(1))
            b = a if m.group(2) is None else int(m.group(2))
            if b < a:
                raise SweepError(f"--seeds: the range {part!r} ends below its start")
            if b > MAX_SEED:
                raise SweepError(f"--seeds: seeds must be in [0, {MAX_SEED}], got {part!r}")
            if b - a + 1 > MAX_SEEDS:
                raise SweepError(f"--seeds: at most {MAX_SEEDS} seeds, got {part!r}")
            out.extend(range(a, b + 1))
    else:
        try:
            items = list(spec)
        except TypeError:
            raise SweepError(f"seeds must be a string like '0-4' or a list of integers, "
                             f"got {spec!r}") from None
        for s in items:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise SweepError(f"seeds must be integers, got {s!r}")
            s = int(s)
            if not 0 <= s <= MAX_SEED:
                raise SweepError(f"seeds must be in [0, {MAX_SEED}], got {s}")
            out.append(s)
    if not out:
        raise SweepError("--seeds: no seeds given")
    if len(out) > MAX_SEEDS:
        raise SweepError(f"--seeds: at most {MAX_SEEDS} seeds, got {len(out)}")
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise SweepError(f"--seeds: seed {dup[0]} is given twice")
    return sorted(out)


def _key(name: str) -> str:
    return name.strip().lstrip("-").replace("-", "_")


def parse_grid(items) -> dict[str, list[str]]:
    """The grid from ``KEY=V1,V2`` strings (or a dict ``{key: [values]}``), in the given order.

    Keys are ``train`` option names without dashes (``score``, ``bidirectional``,
    ``mask-padding`` or ``mask_padding``); values are kept as text (the ``train`` parser checks
    them). A dict's values may be Python values: ``True``/``False`` for switches, numbers.

    Raises:
        SweepError: a malformed item, an empty value, a key given twice or a value repeated.
    """
    grid: dict[str, list[str]] = {}
    if isinstance(items, dict):
        pairs = []
        for k, vs in items.items():
            if isinstance(vs, (str, bytes)) or not hasattr(vs, "__iter__"):
                raise SweepError(f"grid[{k!r}] must be a list of values, got {vs!r}")
            pairs.append((str(k), [_text(v) for v in vs]))
    else:
        if isinstance(items, str):
            items = [items]
        pairs = []
        for item in items:
            if not isinstance(item, str) or "=" not in item:
                raise SweepError(f"--grid: {item!r} is not KEY=V1,V2,... "
                                 "(e.g. score=dot,additive)")
            k, _, vs = item.partition("=")
            pairs.append((k, [v.strip() for v in vs.split(",")]))
    for k, vs in pairs:
        key = _key(k)
        if not key or not re.fullmatch(r"[A-Za-z0-9_]+", key):
            raise SweepError(f"--grid: bad option name {k!r}")
        if key in grid:
            raise SweepError(f"--grid: {key} is given twice")
        if not vs or any(v == "" for v in vs):
            raise SweepError(f"--grid: {k}= has an empty value (give e.g. {k}=a,b)")
        if len(set(vs)) != len(vs):
            raise SweepError(f"--grid: {k} repeats a value ({', '.join(vs)})")
        grid[key] = vs
    return grid


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _actions(parser):
    """``{dest-like key: action}`` for every ``--option`` of the train parser."""
    out = {}
    for a in parser._actions:
        for s in a.option_strings:
            if s.startswith("--") and not s.startswith("--no-"):
                out[_key(s)] = a
    return out


def _flag(action):
    return next(s for s in action.option_strings if s.startswith("--") and not s.startswith("--no-"))


def _option_argv(action, value: str, where: str) -> list[str]:
    """The train arguments that set ``action`` to ``value`` (text)."""
    flag = _flag(action)
    name = type(action).__name__
    if name in ("BooleanOptionalAction", "_StoreTrueAction"):
        v = value.strip().lower()
        if v not in _TRUE | _FALSE:
            raise SweepError(f"{where}: {flag} is a switch: give true or false, got {value!r}")
        if v in _TRUE:
            return [flag]
        return [f"--no-{flag[2:]}"] if name == "BooleanOptionalAction" else []
    if action.nargs == 0:
        raise SweepError(f"{where}: {flag} takes no value")
    return [flag, value]


def options_to_argv(options: dict, parser=None, where="option") -> list[str]:
    """``train`` arguments for a dict of options (``{"samples": 2000, "reverse_input": True}``).

    ``None`` values are left out; ``True``/``False`` turn switches on or off.

    Raises:
        SweepError: an unknown option, one the sweep sets itself, or a bad switch value.
    """
    parser = parser or train_parser()
    acts = _actions(parser)
    argv = []
    for k, v in options.items():
        key = _key(str(k))
        _check_key(key, acts, f"{where}: ")
        if v is None:
            continue
        argv += _option_argv(acts[key], _text(v), where)
    return argv


def _check_key(key, acts, where):
    if key in RESERVED:
        raise SweepError(f"{where}--{key.replace('_', '-')} cannot be set in a sweep: "
                         f"{RESERVED[key]}")
    if key not in acts:
        known = ", ".join(sorted(k.replace("_", "-") for k in acts if k not in RESERVED))
        raise SweepError(f"{where}{key.replace('_', '-')!r} is not an option of tinygrad-attn "
                         f"train (options: {known})")


def _given_keys(argv, acts) -> set[str]:
    keys = set()
    for tok in argv:
        if tok.startswith("--"):
            name = tok[2:].split("=", 1)[0]
            k = _key(name)
            if k not in acts and k.startswith("no_"):
                k = k[3:]
            keys.add(k)
    return keys


@dataclass(frozen=True)
class Run:
    """One training run of a sweep.

    Attributes:
        config: the grid values of this run, ``{key: value text}`` (empty without a grid).
        seed: its seed.
        argv: the complete ``train`` arguments except ``--out`` (``--seed`` included).
        folder: its folder relative to the sweep's output folder, e.g. ``score-dot/seed-0``.
    """

    config: dict = field(hash=False)
    seed: int
    argv: tuple
    folder: str

    @property
    def label(self) -> str:
        """``score=dot bidirectional=true seed 0``: how the run is named in messages."""
        cfg = " ".join(f"{k.replace('_', '-')}={v}" for k, v in self.config.items())
        return f"{cfg} seed {self.seed}".strip()


def _safe(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9.+_-]+", "_", text).strip("._") or "_"
    return s[:60]


def config_folder(config: dict) -> str:
    """The folder name of a configuration: ``score-dot_bidirectional-true`` (``base`` without grid)."""
    if not config:
        return "base"
    return "_".join(f"{_safe(k.replace('_', '-'))}-{_safe(v)}" for k, v in config.items())


def plan_runs(fixed_argv, grid, seeds, parser=None) -> list[Run]:
    """Every run of the sweep, each command line checked by the ``train`` parser.

    Args:
        fixed_argv: ``train`` arguments shared by every run (``["--model", "attention", ...]``).
        grid: ``{key: [value text, ...]}`` (see :func:`parse_grid`); the runs are its product.
        seeds: the seeds (see :func:`parse_seeds`).
        parser: the ``train`` parser (default: :func:`train_parser`).

    Raises:
        SweepError: an unknown or reserved option, an option both fixed and in the grid, a
            value the ``train`` command refuses (its own message, naming the configuration),
            or more than :data:`MAX_RUNS` runs.
    """
    from ..cli.common import model_config
    from ..cli.main import _UsageError
    from ..cli.values import CLIError

    parser = parser or train_parser()
    acts = _actions(parser)
    fixed_argv = [str(a) for a in fixed_argv]
    given = _given_keys(fixed_argv, acts)
    for k in given:
        _check_key(k, acts, "")
    for k in grid:
        _check_key(k, acts, "--grid: ")
        if k in given:
            raise SweepError(f"--{k.replace('_', '-')} is given both as a fixed option and in "
                             "--grid; keep one")
    n_configs = 1
    for vs in grid.values():
        n_configs *= len(vs)
    if n_configs * len(seeds) > MAX_RUNS:
        raise SweepError(f"the sweep has {n_configs} configurations x {len(seeds)} seeds = "
                         f"{n_configs * len(seeds)} runs; at most {MAX_RUNS}")
    keys = list(grid)
    runs, folders = [], {}
    for values in itertools.product(*(grid[k] for k in keys)):
        config = dict(zip(keys, values))
        where = " ".join(f"{k.replace('_', '-')}={v}" for k, v in config.items()) or "the options"
        cfg_argv = list(fixed_argv)
        for k, v in config.items():
            cfg_argv += _option_argv(acts[k], v, f"--grid {where}")
        try:
            args = parser.parse_args([*cfg_argv, "--out", "-", "--seed", "0"])
            model_config(args)
        except _UsageError as e:
            raise SweepError(f"{where}: {e}") from None
        except CLIError as e:
            raise SweepError(f"{where}: {e}") from None
        name = config_folder(config)
        if name in folders and folders[name] != config:
            digest = hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
            name = f"{name}-{digest}"
        folders[name] = config
        for seed in seeds:
            runs.append(Run(config, seed, tuple([*cfg_argv, "--seed", str(seed)]),
                            f"{name}/seed-{seed}"))
    return runs
