"""Tasks: what a kind of data means to the framework, behind one interface.

A :class:`Task` is everything the framework needs to know about a kind of data *without*
its arrays — what it stores in a checkpoint, what it decides in a model's config, how a
batch is scored and how outputs are decoded for people. The Trainer, the evaluation, the
checkpoint and every command ask the task; none of them branches on what kind it is.

* :class:`~tinygrad_attn.data.dataset.TextTask` — character sequences with a :class:`~tinygrad_attn.data.Vocabulary`
  (dates, addition, files in the book's format): the model gets ``vocab_size``; a batch
  is scored by the exact match of greedy decoding.
* :class:`~tinygrad_attn.data.bits.BitsTask` — sequences of binary vectors (copy, repeat copy): the model gets
  ``input_width`` and ``output_width``; a batch is scored by the model's bit errors.

A :class:`TaskData` holds a task with its train and validation arrays. Data comes from a
*source*: a name such as ``"date"`` or ``"copy"``, or a file path, looked up in one table
(:func:`register_data_source`, :func:`load_data`). A new kind of task is a new subclass
registered with :func:`register_task_kind`; a new source of data for an existing kind is one
:func:`register_data_source` call. Code outside this repository registers both from a module
named in the entry-point group ``tinygrad_attn.tasks`` (read lazily, on the first lookup of
a name that is not known yet) — see "Add your own task" in the docs.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

__all__ = ["Task", "TaskData", "TaskError", "DataSource",
           "register_task_kind", "task_kinds", "task_class", "task_from_description", "register_data_source",
           "data_source", "data_sources", "load_data", "TASK_ENTRY_POINT_GROUP", "MAX_SEQ_WIDTH", "MAX_VOCAB",
           "is_int", "int_field"]

TASK_ENTRY_POINT_GROUP = "tinygrad_attn.tasks"
MAX_SEQ_WIDTH = 10_000
"""Longest sequence a stored task may describe (characters read, ids generated, time steps)."""
MAX_VOCAB = 1_000_000
"""Largest vocabulary a stored task may hold."""


class TaskError(ValueError):
    """A task description (e.g. read from a checkpoint) is malformed or out of range."""


def is_int(v) -> bool:
    """True for a Python or NumPy integer (not a bool)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def int_field(d: dict, key: str, low: int, high: int, source: str, default=None) -> int:
    """``d[key]`` checked to be an integer in ``[low, high]`` (TaskError naming it otherwise)."""
    v = d.get(key, default)
    if not is_int(v) or not low <= v <= high:
        kind = "true/false" if isinstance(v, bool) else type(v).__name__
        raise TaskError(f"{source}: {key} must be an integer in [{low}, {high}], got {kind} {v!r}")
    return int(v)


class Task(ABC):
    """The interface every kind of data implements (see the module docstring).

    Class attributes:
        kind: the name stored in checkpoints (``"text"``, ``"bits"``, ...).
        model_kind: the kind of model it feeds, matched against ``ModelSpec.task``
            (a subclass of :class:`~tinygrad_attn.data.TextTask` with a kind of its own
            still feeds ``"text"`` models).
        commands: the command-line sub-commands that can run on a checkpoint of this kind
            (``train`` and ``eval`` always can).
    """

    kind: ClassVar[str] = ""
    title: ClassVar[str] = "task"
    """What the kind is called in messages ("text task", "binary-vector task")."""
    model_kind: ClassVar[str] = ""
    commands: ClassVar[frozenset] = frozenset({"train", "eval"})

    @abstractmethod
    def model_fields(self) -> dict:
        """What the data decides in a model's config (e.g. ``{"vocab_size": 59}``)."""

    @abstractmethod
    def describe(self) -> dict:
        """A JSON-serialisable description (with ``"kind"``), enough to rebuild the task."""

    @classmethod
    @abstractmethod
    def from_description(cls, d: dict, source: str = "task") -> "Task":
        """Rebuild the task from :meth:`describe`'s dict, checking every field.

        Raises:
            TaskError: naming ``source`` and the first bad field.
        """

    @abstractmethod
    def score(self, model, x, t, batch_size: int = 512) -> dict:
        """Figures of ``model`` on the examples ``(x, t)``: ``{"acc": ...}`` plus any others."""

    @abstractmethod
    def decode(self, outputs) -> list:
        """The model's outputs for people (strings for text, 0/1 arrays for bits)."""

    eval_options: ClassVar[tuple] = ()
    """The ``eval`` options :meth:`eval_sets` takes (others are refused)."""

    @abstractmethod
    def eval_sets(self, **options) -> list:
        """``[(label, x, t)]``: the examples ``eval`` scores, from its options."""

    @abstractmethod
    def summary(self, label: str, figures: dict, n: int) -> str:
        """One line for people about ``figures`` (from :meth:`score`) on ``n`` examples."""

    def heading(self, model_name: str, **options) -> str | None:
        """A first line for ``eval``'s report (None: no heading)."""
        return None

    def steps(self) -> int:
        """The longest sequence (time steps) the task makes a model run: checked before work."""
        return 0

    def widths(self) -> dict:
        """The sequence lengths the task makes a model read or write, by name (for messages
        such as "raise --max-len to at least ..."); empty when it has none to name."""
        return {}

    @classmethod
    def example_fields(cls) -> dict:
        """Data-decided config fields of a small example model (for ``graph``, ``gradcheck``)."""
        return {}

    def __eq__(self, other):
        return type(other) is type(self) and other.describe() == self.describe()

    def __repr__(self):
        return f"{type(self).__name__}({self.describe()!r})"


_KINDS: dict[str, type[Task]] = {}


def register_task_kind(cls: type[Task]) -> type[Task]:
    """Make a :class:`Task` subclass known under ``cls.kind`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Task)) or not cls.kind:
        raise TypeError(f"register_task_kind: expected a Task subclass with a kind, got {cls!r}")
    old = _KINDS.get(cls.kind)
    if old is not None and old.__qualname__ != cls.__qualname__:
        raise ValueError(f"register_task_kind: the kind {cls.kind!r} is taken by {old.__qualname__}")
    _KINDS[cls.kind] = cls
    return cls


def task_class(kind: str) -> type[Task]:
    """The registered :class:`Task` subclass of ``kind`` (ValueError listing the known kinds)."""
    if kind not in _KINDS:
        _load_plugins()
    if kind not in _KINDS:
        raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(sorted(_KINDS))}")
    return _KINDS[kind]


def task_kinds() -> list[str]:
    """Sorted names of the known task kinds."""
    _load_plugins()
    return sorted(_KINDS)


def task_from_description(d, source: str = "task") -> Task:
    """The :class:`Task` that ``d`` (a :meth:`Task.describe` dict) describes, checked.

    Raises:
        TaskError: not an object, an unknown kind, or a bad field (naming ``source``).
    """
    if not isinstance(d, dict):
        raise TaskError(f"{source}: the task must be a JSON object, got {type(d).__name__}")
    kind = d.get("kind")
    if not isinstance(kind, str):
        raise TaskError(f"{source}: the task's kind must be a name such as "
                        f"{', '.join(map(repr, sorted(_KINDS)))}, got {type(kind).__name__} "
                        f"{kind!r:.40}")
    if kind not in _KINDS:
        _load_plugins()
    if kind not in _KINDS:
        raise TaskError(f"{source}: unknown task kind {kind!r}; known: {', '.join(sorted(_KINDS))}")
    return _KINDS[kind].from_description(d, source)


@dataclass
class TaskData:
    """A task with its train and validation examples (what the Trainer consumes).

    Attributes:
        task: the :class:`Task`.
        x_train, t_train, x_val, t_val: the arrays (row i of x goes with row i of t).
    """

    task: Task
    x_train: Any = field(repr=False)
    t_train: Any = field(repr=False)
    x_val: Any = field(repr=False)
    t_val: Any = field(repr=False)

    def __post_init__(self):
        """Check that inputs and targets have the same number of rows."""
        if len(self.x_train) != len(self.t_train) or len(self.x_val) != len(self.t_val):
            raise ValueError(f"TaskData: x and t must have the same number of rows, got "
                             f"{len(self.x_train)}/{len(self.t_train)} (train) and "
                             f"{len(self.x_val)}/{len(self.t_val)} (validation)")


@dataclass(frozen=True)
class DataSource:
    """A named way to make :class:`TaskData`.

    Attributes:
        name: what ``--data`` takes (``"date"``, ``"copy"``, ...).
        kind: the kind of model its task feeds (``"text"``, ``"bits"``), matched against
            ``ModelSpec.task`` before anything is loaded.
        load: ``load(name, samples=, seed=, **options) -> TaskData`` (``name`` is what
            ``--data`` got: the source's name, or the file path for the file reader).
        options: the names of the ``train`` options it takes (``"reverse_input"``,
            ``"min_length"``, ...); the others are refused for this source.
        help: one line for ``--help``.
        pairs: for text sources, ``pairs(name, samples=, seed=) -> [(question, answer)]``
            (what ``eval`` encodes with a checkpoint's own vocabulary); None otherwise.
    """

    name: str
    kind: str
    load: Callable
    options: tuple = ()
    help: str = ""
    pairs: Callable | None = None


_SOURCES: dict[str, DataSource] = {}
_FILE_SOURCE: list[DataSource] = []
_plugins_loaded = False
_plugin_errors: list[str] = []


def register_data_source(source: DataSource, *, files: bool = False) -> DataSource:
    """Make ``source`` available as ``--data NAME`` (``files=True``: it reads file paths)."""
    if not isinstance(source, DataSource):
        raise TypeError(f"register_data_source: expected a DataSource, got {type(source).__name__}")
    if files:
        _FILE_SOURCE[:] = [source]
    else:
        _SOURCES[source.name] = source
    return source


def _load_plugins():
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points  # lazy: read on the first unknown name

    for ep in entry_points(group=TASK_ENTRY_POINT_GROUP):
        try:
            ep.load()  # the module registers its sources and kinds when imported
        except Exception as e:  # a broken plugin must not break the others
            _plugin_errors.append(f"{ep.name} ({ep.value}): {type(e).__name__}: {e}")


def data_sources() -> list[str]:
    """Sorted names of the registered data sources (besides file paths)."""
    _load_plugins()
    return sorted(_SOURCES)


def data_source(name) -> DataSource:
    """The :class:`DataSource` for ``name``: a registered name, else the file reader.

    Raises:
        ValueError: no source of that name and no file reader registered.
    """
    if name not in _SOURCES:
        _load_plugins()
    if name in _SOURCES:
        return _SOURCES[name]
    if _FILE_SOURCE:
        return _FILE_SOURCE[0]
    raise ValueError(f"unknown data source {name!r}; known: {', '.join(data_sources())}")


def load_data(name, samples: int = 50000, seed: int = 0, **options) -> TaskData:
    """:class:`TaskData` from the source ``name`` (a registered name or a file path).

    Options the source does not take are refused (ValueError naming the source).
    """
    src = data_source(name)
    extra = sorted(k for k, v in options.items() if v is not None and k not in src.options)
    if extra:
        owners = []
        for k in extra:
            takers = [n for n in data_sources() if k in _SOURCES[n].options]
            if _FILE_SOURCE and k in _FILE_SOURCE[0].options:
                takers.append("a file")
            flag = "--" + k.replace("_", "-")
            owners.append(f"{flag} belongs to --data {' or '.join(takers)}" if takers
                          else f"{flag} belongs to no data source")
        raise ValueError(f"--data {name} ({src.help or src.kind}) does not take "
                         f"{', '.join('--' + k.replace('_', '-') for k in extra)} "
                         f"({'; '.join(owners)})")
    kw = {k: v for k, v in options.items() if v is not None}
    return src.load(name, samples=samples, seed=seed, **kw)
