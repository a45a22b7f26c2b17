"""The project's models, built from ``tinygrad_attn`` layers and ops only.

Installed as the package ``tinygrad_attn_models`` (the repository folder is ``models/``), so
a ``models.py`` of your own never shadows it. Importing it registers every model with
:mod:`tinygrad_attn.training.registry`; the framework finds it through the ``tinygrad_attn.models``
entry-point group and never imports it by name.

The chapter's seq2seq models:

* :class:`Seq2seq` — the encoder's last hidden state initialises the decoder.
* :class:`PeekySeq2seq` — that state is also fed to every decoder step and to the output layer.
* :class:`AttentionSeq2seq` — the encoder returns all hidden states; the decoder attends to
  them at every step (options: bidirectional encoder, where the context goes, stacked layers
  with skip connections).

Beyond the chapter:

* :class:`TransformerSeq2seq` — attention only: multi-head self- and cross-attention,
  feed-forward layers, positions, residual connections (``--model transformer``).

All share ``loss = model(xs, ts)``, ``model.generate(xs, start_id, max_len)`` and a
``config`` dict from which :func:`tinygrad_attn.training.registry.build_model` rebuilds the same
architecture.

The binary-vector tasks' models (copy, repeat copy; :mod:`.ntm`):

* :class:`NTMModel` (``ntm``) — a Neural Turing Machine with a sigmoid output layer.
* :class:`LSTMBitsModel` (``lstm-bits``) — its baseline, an LSTM with the same output layer.
"""
from tinygrad_attn.training.registry import build_model

from .ntm import BitsModelBase, LSTMBitsModel, NTMModel
from .seq2seq import AttentionSeq2seq, PeekySeq2seq, Seq2seq, Seq2seqBase, padding_positions
from .transformer import TransformerSeq2seq

__all__ = ["Seq2seqBase", "Seq2seq", "PeekySeq2seq", "AttentionSeq2seq", "TransformerSeq2seq",
           "BitsModelBase", "NTMModel", "LSTMBitsModel", "build_model", "padding_positions"]
