"""Training and the files it writes: the model registry, the Trainer, evaluation, checkpoints,
translation, and the BLAS thread limit.

* :mod:`~tinygrad_attn.training.registry` — how models plug in (``ModelSpec``, ``Option``);
  building a model through its spec records its config;
* :mod:`~tinygrad_attn.training.trainer` — :class:`Trainer`;
* :mod:`~tinygrad_attn.training.evaluation` — scoring a model beyond one batch;
* :mod:`~tinygrad_attn.training.checkpoint` — the checkpoint: format, schema, save, load;
* :mod:`~tinygrad_attn.training.translator` — :class:`Translator`, strings in and out;
* :mod:`~tinygrad_attn.training.scores` — :class:`Translation`: an answer with how sure the
  model is of it;
* :mod:`~tinygrad_attn.training.threads` — BLAS threads.
"""
from . import registry
from .checkpoint import (
                         CHECKPOINT_FORMAT,
                         CheckpointInfo,
                         load_checkpoint,
                         read_checkpoint_info,
                         save_checkpoint,
)
from .evaluation import evaluate, evaluate_bits
from .trainer import Trainer, TrainingDiverged
from .scores import Translation
from .translator import Translator

__all__ = ["registry", "Trainer", "TrainingDiverged", "evaluate", "evaluate_bits",
           "save_checkpoint", "load_checkpoint", "read_checkpoint_info", "CheckpointInfo",
           "Translator", "Translation", "CHECKPOINT_FORMAT"]
