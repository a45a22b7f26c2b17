"""The book's pickled weights ("Deep Learning from Scratch 2", ch. 7 and 8): in and out.

The book's ``BaseModel.save_params`` pickles ``[p.astype(float16) for p in model.params]``,
a list in the order of ``model.params`` (the encoder's parameters, then the decoder's).
:func:`read_book_params` reads such a file with the restricted unpickler of
:mod:`~tinygrad_attn.export.safe_pickle` (no code from the file runs), checks the count and
every shape against :func:`book_layout`, and maps the arrays to our parameter names.
:func:`write_book_params` writes the other direction.

The mapping (V vocabulary, D embedding width, H hidden width; the book's ``Affine`` and
``TimeLSTM`` compute ``x @ W + b`` and pack the gates f, g, i, o in that order, as ours do,
so the arrays are used as they are, except the two row swaps of the peeky decoder):

===  ==========================  ======================  ===========  ==================================
#    book (``model.params``)     ours                    shape        layout
===  ==========================  ======================  ===========  ==================================
0    encoder.embed.W             enc_embed.W             (V, D)       same
1    encoder.lstm.Wx             encoder[.layers.0].Wx   (D, 4H)      same (gates f, g, i, o)
2    encoder.lstm.Wh             encoder[.layers.0].Wh   (H, 4H)      same
3    encoder.lstm.b              encoder[.layers.0].b    (4H,)        same
4    decoder.embed.W             dec_embed.W             (V, D)       same
5    decoder.lstm.Wx             decoder[.layers.0].Wx   (D, 4H)      same; peeky: (H + D, 4H), the
                                                                      book's input is ``[h, x]``, ours
                                                                      ``[x, h]``: row blocks swapped
6    decoder.lstm.Wh             decoder[.layers.0].Wh   (H, 4H)      same
7    decoder.lstm.b              decoder[.layers.0].b    (4H,)        same
8    decoder.affine.W            out.W                   (H, V)       seq2seq: same; attention (2H, V):
                                                                      both read ``[c, h]``, same;
                                                                      peeky (2H, V): book ``[h_enc, h]``,
                                                                      ours ``[h, h_enc]``: swapped
9    decoder.affine.b            out.b                   (V,)         same
===  ==========================  ======================  ===========  ==================================

(``[.layers.0]``: the attention model's encoder and decoder are stacks of one layer.)
The book's decoder starts from the encoder's last hidden state and a zero cell, as ours.
"""
from __future__ import annotations

import io
import os
import pickle

import numpy as np

from ..backend import as_numpy
from ..data.dataset import TextTask
from ..data.vocab import Vocabulary
from ..files import write_file
from ..npzfile import CheckpointError
from ..training import save_checkpoint
from ..training.registry import build_model
from ..validate import input_file, open_input
from .safe_pickle import load_arrays

__all__ = ["BOOK_MODELS", "book_layout", "import_book", "BookFormatError", "read_book_params", "book_arrays",
           "write_book_params", "book_vocabulary", "BOOK_REVERSED", "MAX_DATA_BYTES"]

BOOK_MODELS = ("attention", "seq2seq", "peeky")
"""Our model kinds that have a book counterpart (AttentionSeq2seq, Seq2seq, PeekySeq2seq)."""

BOOK_REVERSED = {"attention": True, "seq2seq": False, "peeky": False}
"""Whether the book's training script feeds the input reversed: ch08/train.py does
(``x[:, ::-1]``); ch07/train_seq2seq.py has ``is_reverse = False`` as written."""

MAX_DATA_BYTES = 256 << 20
"""Largest book-format data file read for the vocabulary."""


class BookFormatError(CheckpointError):
    """The book's weights do not fit the model (count, shapes, values) or the data file is bad."""


def _prefix(kind):
    return ".layers.0" if kind == "attention" else ""


def book_layout(kind):  # noqa: N802 - a table, spelled like a constant
    """The table for one model kind: ``[(book name, our name, shape(V, D, H), swap)]``.

    ``swap`` is None, or ``"H"``: the book's first H rows go after the others in ours
    (the peeky decoder's concatenations put the encoder state first, ours put it last).
    """
    if kind not in BOOK_MODELS:
        raise ValueError(f"the book has no model {kind!r}; one of {BOOK_MODELS}")
    p = _prefix(kind)
    dec_in = (lambda V, D, H: (H + D, 4 * H)) if kind == "peeky" else (lambda V, D, H: (D, 4 * H))
    out_rows = (lambda H: H) if kind == "seq2seq" else (lambda H: 2 * H)
    return [
        ("encoder.embed.W", "enc_embed.W", lambda V, D, H: (V, D), None),
        ("encoder.lstm.Wx", f"encoder{p}.Wx", lambda V, D, H: (D, 4 * H), None),
        ("encoder.lstm.Wh", f"encoder{p}.Wh", lambda V, D, H: (H, 4 * H), None),
        ("encoder.lstm.b", f"encoder{p}.b", lambda V, D, H: (4 * H,), None),
        ("decoder.embed.W", "dec_embed.W", lambda V, D, H: (V, D), None),
        ("decoder.lstm.Wx", f"decoder{p}.Wx", dec_in, "H" if kind == "peeky" else None),
        ("decoder.lstm.Wh", f"decoder{p}.Wh", lambda V, D, H: (H, 4 * H), None),
        ("decoder.lstm.b", f"decoder{p}.b", lambda V, D, H: (4 * H,), None),
        ("decoder.affine.W", "out.W", lambda V, D, H: (out_rows(H), V),
         "H" if kind == "peeky" else None),
        ("decoder.affine.b", "out.b", lambda V, D, H: (V,), None),
    ]


def _swap(a, k):
    return np.concatenate([a[k:], a[:k]], axis=0)


def _dims(params, kind, source):
    """(V, D, H) from the embedding and the encoder LSTM's Wh."""
    if not isinstance(params, (list, tuple)):
        raise BookFormatError(f"{source}: the book's weights are a list of arrays, the pickle "
                              f"holds a {type(params).__name__}")
    n = len(book_layout(kind))
    if len(params) != n:
        raise BookFormatError(f"{source}: {len(params)} arrays in the pickle; the book's "
                              f"{kind} model has {n} (wrong model kind or not the book's file?)")
    for i, a in enumerate(params):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            raise BookFormatError(f"{source}: array {i} is "
                                  f"{getattr(a, 'dtype', type(a).__name__)}, not floating point")
    if params[0].ndim != 2 or params[2].ndim != 2:
        raise BookFormatError(f"{source}: array 0 (encoder.embed.W) must be (V, D) and array 2 "
                              f"(encoder.lstm.Wh) (H, 4H); got {params[0].shape} and "
                              f"{params[2].shape}")
    V, D = params[0].shape
    H = params[2].shape[0]
    return V, D, H


def book_arrays(params, kind, vocab_size=None, source="book weights"):
    """Map the book's parameter list to ``({our name: float32 array}, (V, D, H))``.

    Raises:
        BookFormatError: a wrong array count, any shape that does not fit the table (all
            named in one line), a vocabulary size that differs from ``vocab_size``, or
            values that are not finite.
    """
    V, D, H = _dims(params, kind, source)
    if V < 1 or D < 1 or H < 1:
        raise BookFormatError(f"{source}: empty dimensions V={V}, D={D}, H={H}")
    problems = []
    out = {}
    for i, ((book, ours, shape, swap), a) in enumerate(zip(book_layout(kind), params)):
        want = shape(V, D, H)
        if a.shape != want:
            problems.append(f"array {i} ({book}) has shape {a.shape}, expected {want}")
            continue
        a = np.asarray(a, dtype=np.float32)  # the book's load_params: astype('f')
        out[ours] = np.ascontiguousarray(_swap(a, H) if swap else a)
    if problems:
        raise BookFormatError(f"{source}: the arrays do not fit the book's {kind} model with "
                              f"V={V}, D={D}, H={H}: " + "; ".join(problems))
    if vocab_size is not None and V != vocab_size:
        raise BookFormatError(f"{source}: the weights are for a vocabulary of {V} characters, "
                              f"the data file gives {vocab_size} (not the data the model was "
                              "trained on?)")
    bad = [n for n, a in out.items() if not np.isfinite(a).all()]
    if bad:
        raise BookFormatError(f"{source}: arrays {bad} hold non-finite values")
    return out, (V, D, H)


def read_book_params(path, kind):
    """Read the book's pickle at ``path`` safely and map it: see :func:`book_arrays`.

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: a refused or malformed pickle.
        BookFormatError: the arrays do not fit the model.
    """
    return book_arrays(load_arrays(path), kind, source=os.fspath(path))


def _book_kind(model):
    kind = model.config.get("model")
    if kind not in BOOK_MODELS:
        raise BookFormatError(f"the book has no counterpart of a {kind!r} model; the book's "
                              f"format holds {', '.join(BOOK_MODELS)}")
    if kind == "attention":
        c = model.config
        different = {k: c.get(k) for k, v in (("bidirectional", False), ("attention_feed", "affine"),
                                               ("num_layers", 1), ("score", "dot"),
                                               ("mask_padding", False)) if c.get(k) != v}
        if different:
            raise BookFormatError(f"the book's AttentionSeq2seq has one unidirectional layer, "
                                  f"dot scores, the context fed to the affine layer and no "
                                  f"padding mask; this model differs: {different}")
    return kind


def write_book_params(model, path, overwrite=False):
    """Write ``model``'s weights as the book's ``save_params`` does: a pickled list of float16
    arrays in the order of the book's ``model.params`` (atomically).

    The arrays are pickled as ``numpy.ndarray(shape, dtype, bytes)``, which every NumPy
    version loads (the book's ``load_params`` runs ``pickle.load`` and casts to float32).

    Raises:
        BookFormatError: a model the book has no counterpart for, or weights beyond float16's
            range.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    kind = _book_kind(model)
    state = {k: np.asarray(v, dtype=np.float32) for k, v in _host_state(model).items()}
    H = int(model.hidden_size)
    arrays = []
    for book, ours, _, swap in book_layout(kind):
        a = state[ours]
        if swap:  # ours [:H'] / [H':] back to the book's order; the first block of ours is the
            a = _swap(a, a.shape[0] - H)  # book's second one (of H rows)
        big = float(np.abs(a).max()) if a.size else 0.0
        if not big <= 65504.0:
            raise BookFormatError(f"{ours}: |w| up to {big:g} does not fit float16 (max 65504)")
        arrays.append(a.astype(np.float16))
    write_file(path, _dumps(arrays), overwrite=overwrite)


def _host_state(model):
    return {k: as_numpy(v) for k, v in model.state_dict().items()}


class _PortablePickler(pickle.Pickler):
    def reducer_override(self, obj):
        if type(obj) is np.ndarray:
            a = np.ascontiguousarray(obj)
            return np.ndarray, (a.shape, a.dtype, a.tobytes())
        return NotImplemented


def _dumps(arrays):
    buf = io.BytesIO()
    _PortablePickler(buf, protocol=3).dump(arrays)
    return buf.getvalue()


def book_vocabulary(path, max_bytes=MAX_DATA_BYTES):
    """The vocabulary the book's ``dataset/sequence.py`` builds from a data file, and its widths.

    As ``load_data``: each line is split at its first ``"_"``; the question is what comes
    before, the answer the ``"_"`` and what follows (without the line's newline); characters
    get ids in the order they first appear, going through the lines, each line's question
    before its answer.

    Returns:
        ``(vocab, pairs, in_width, out_width)``: the :class:`Vocabulary` (pad ``" "``, start
        ``"_"``), the (question, answer-without-``"_"``) pairs, the question width and the
        answer width (without the start symbol), taken from the first line as the book does.

    Raises:
        FileNotFoundError: no such file.
        BookFormatError: too large, not UTF-8, empty, a line without
            ``"_"``, lines of different widths (the book's arrays need one width), or no
            space character (our checkpoints pad with it).
    """
    path = os.fspath(path)
    try:  # regular files only, checked before any open (a FIFO would block)
        size = input_file(path, "data file", error=BookFormatError)
    except FileNotFoundError:
        raise FileNotFoundError(f"data file not found: {path}") from None
    if size > max_bytes:
        raise BookFormatError(f"{path}: {size:,} bytes is larger than the {max_bytes:,} read")
    try:
        with open_input(path, "data file", error=BookFormatError) as raw, \
                io.TextIOWrapper(raw, encoding="utf-8") as f:  # universal newlines, as the book's open()
            text = f.read(max_bytes + 1)
        if len(text) > max_bytes:
            raise BookFormatError(f"{path}: larger than the {max_bytes:,} bytes read")
        lines = text.split("\n")
    except UnicodeDecodeError as e:
        raise BookFormatError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise BookFormatError(f"{path}: the data file is empty")
    order: dict[str, None] = {}
    pairs = []
    for n, line in enumerate(lines, 1):
        idx = line.find("_")
        if idx < 0:
            raise BookFormatError(f"{path}:{n}: no '_' between question and answer")
        q, a = line[:idx], line[idx:]
        if n == 1:
            widths = (len(q), len(a))
        elif (len(q), len(a)) != widths:
            raise BookFormatError(f"{path}:{n}: question/answer widths {len(q)}/{len(a)} differ "
                                  f"from the first line's {widths[0]}/{widths[1]}; the book's "
                                  "format pads every line to the same widths")
        for ch in q + a:
            order.setdefault(ch, None)
        pairs.append((q, a[1:]))
    if " " not in order:
        raise BookFormatError(f"{path}: the data has no space character, which checkpoints use "
                              "as padding")
    if widths[1] < 2:
        raise BookFormatError(f"{path}: the answers are empty")
    return Vocabulary(list(order), pad_char=" ", start_char="_"), pairs, widths[0], widths[1] - 1


def import_book(pkl, data, kind, out_dir, reverse=None, overwrite=False):
    """Turn the book's pickled weights into a checkpoint ``out_dir/model.npz``.

    Args:
        pkl: the book's ``.pkl`` (e.g. ``ch08/AttentionSeq2seq.pkl``).
        data: the book-format data file it was trained on (e.g. ``dataset/date.txt``): the
            vocabulary is rebuilt from it as the book's ``dataset/sequence.py`` builds it.
        kind: ``"attention"``, ``"seq2seq"`` or ``"peeky"``.
        out_dir: the folder for ``model.npz`` (created if missing).
        reverse: whether the model reads its input reversed; None: as the book's training
            script for that model (:data:`BOOK_REVERSED`).
        overwrite: replace an existing ``model.npz``.

    Returns:
        The path of the checkpoint written.

    Raises:
        FileNotFoundError: the pickle or the data file is missing.
        UnsafePickleError: the pickle names anything but NumPy arrays, or is malformed.
        BookFormatError: the arrays do not fit the model, or the data file is bad.
        FileExistsError: ``model.npz`` exists and ``overwrite`` is False.
    """
    if kind not in BOOK_MODELS:
        raise BookFormatError(f"the book has no model {kind!r}; one of {', '.join(BOOK_MODELS)}")
    out = os.path.join(os.fspath(out_dir), "model.npz")
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out} exists; refusing to overwrite it")
    vocab, _, in_width, out_width = book_vocabulary(data)
    arrays, (V, D, H) = book_arrays(load_arrays(pkl), kind, len(vocab), source=os.fspath(pkl))
    model = build_model({"model": kind, "vocab_size": V, "wordvec_size": D, "hidden_size": H,
                         "embed_std": 0.01})
    model.load_state_dict(arrays, source=os.fspath(pkl))
    rev = BOOK_REVERSED[kind] if reverse is None else bool(reverse)
    save_checkpoint(out, model, TextTask(vocab, in_width, out_width, reversed_input=rev),
                    extra={"imported_from": {"format": "book-pickle",
                                             "weights": os.path.basename(os.fspath(pkl)),
                                             "data": os.path.basename(os.fspath(data))}})
    return out
