"""The chapter's seq2seq models, built from ``tinygrad_attn`` layers and ops only.

* :class:`Seq2seq` — the encoder's last hidden state initialises the decoder.
* :class:`PeekySeq2seq` — that state is also fed to every decoder step and to the output layer.
* :class:`AttentionSeq2seq` — the encoder returns all hidden states; the decoder attends to
  them at every step (options: bidirectional encoder, where the context goes, stacked layers
  with skip connections).

All share ``loss = model(xs, ts)``, ``model.generate(xs, start_id, max_len)`` and a
``config`` dict from which :func:`build_model` rebuilds the same architecture.
"""
from .seq2seq import MODEL_NAMES, AttentionSeq2seq, PeekySeq2seq, Seq2seq, Seq2seqBase, build_model

__all__ = ["Seq2seqBase", "Seq2seq", "PeekySeq2seq", "AttentionSeq2seq", "build_model", "MODEL_NAMES"]
