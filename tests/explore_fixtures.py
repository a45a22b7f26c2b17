"""Small untrained checkpoints and explorer pages for the explorer's tests (seconds, no training).

The explorer shows whatever the model computed, trained or not; what the tests check is that
the page shows exactly the model's numbers and behaves, which a random model shows as well.
"""
from __future__ import annotations

import json
import re

import numpy as np

import tinygrad_attn as ta
from tinygrad_attn.data import TextTask, Vocabulary
from tinygrad_attn.data.bits import BitsTask
from tinygrad_attn.training import Translator, save_checkpoint
from tinygrad_attn.viz.explore import decode_array

DATES = ["may 4, 2021", "TUESDAY, SEPTEMBER 25, 1984", "10/31/90", "2021-05-04 1984-09-25"]
EVIL = "<script>alert(1)</script>"
IN_WIDTH, OUT_WIDTH = 29, 10


def vocab(extra=""):
    return Vocabulary.from_texts(DATES + ["0123456789-abcdefghijklmnopqrstuvwxyz" + extra])


def text_models(v):
    """name -> (model, reversed_input): the attention variants and a Transformer."""
    from tinygrad_attn_models import AttentionSeq2seq, Seq2seq, TransformerSeq2seq

    ta.seed(0)
    V = len(v)
    return {
        "attention": (AttentionSeq2seq(V, 8, 16), True),
        "additive-bi-masked": (AttentionSeq2seq(V, 8, 16, bidirectional=True, score="additive",
                                                mask_padding=True, mask_scope="run"), False),
        "general-both": (AttentionSeq2seq(V, 8, 16, score="general", attention_feed="both"), True),
        "transformer": (TransformerSeq2seq(V, d_model=16, num_heads=2, num_layers=2, d_ff=24,
                                           dropout=0.0, pad_id=v.pad_id), False),
        "seq2seq": (Seq2seq(V, 8, 16), True),
    }


def write_text_checkpoints(folder, extra=""):
    """Save every model of :func:`text_models` as ``<name>.npz`` in ``folder``; returns paths."""
    v = vocab(extra)
    out = {}
    for name, (m, rev) in text_models(v).items():
        path = folder / f"{name}.npz"
        save_checkpoint(path, m, TextTask(v, IN_WIDTH, OUT_WIDTH, reversed_input=rev))
        out[name] = path
    return out


def write_ntm_checkpoint(folder, name="ntm", controller="lstm", read_heads=1):
    from tinygrad_attn_models import NTMModel

    ta.seed(1)
    m = NTMModel(5, 4, memory_rows=12, memory_width=5, hidden_size=8, controller=controller,
                 read_heads=read_heads)
    path = folder / f"{name}.npz"
    save_checkpoint(path, m, BitsTask("copy", {"min_len": 1, "max_len": 5, "width": 4}))
    return path


def translator(path):
    return Translator.from_checkpoint(path)


_DATA = re.compile(r'<script type="application/json" id="explorer-data">(.*?)</script>', re.S)


def page_data(html):
    """The JSON a page embeds (as the page's own script reads it)."""
    m = _DATA.search(html)
    assert m, "no embedded data"
    return json.loads(m.group(1))


def arrays_equal(embedded, expected):
    got = decode_array(embedded)
    expected = np.asarray(expected)
    return got.shape == expected.shape and got.dtype == expected.dtype and np.array_equal(got, expected)
