"""An interactive attention explorer: one self-contained HTML file per model and inputs.

:func:`explore` runs a model on some inputs through its public ``trace`` method (the model's
own forward pass, step by step) and writes a page that needs nothing else: the numbers, the
CSS and the JavaScript are inside the file, nothing is fetched, and it works from
``file://``, in the documentation site and in a notebook cell (an :class:`Explorer` shows
itself inline in Jupyter).

Views (chosen by the maps the model exposes, its ``attention_maps`` attribute, which the
model registry reports as :attr:`ModelSpec.maps <tinygrad_attn.training.registry.ModelSpec.maps>`):

* ``"cross"`` (the chapter's attention seq2seq): the input in written order (the order the
  encoder reads it, padding and masked positions labelled), the output; a decoder-step
  slider showing, at step t, the scores ``s`` before the softmax, the weights ``a`` after
  it, the largest entries of the context vector ``c`` and the probability of the chosen
  character beside the runners-up; the full heatmap; hover values everywhere.
* ``"enc"`` / ``"dec"`` (the Transformer): also every layer x head as a grid of small maps
  (encoder self, decoder causal self and cross-attention, and the mean over heads); click one
  to open it large.
* ``"memory"`` (the Neural Turing Machine): read and write weightings over time beside the
  memory, with a time slider showing the heads' positions, each addressing stage (content,
  interpolation, shift, sharpening) and the shift distribution.
* ``compare=``: two models side by side on the same inputs.

The numbers are embedded exactly as the model computed them (base64 of the arrays' bytes,
float32 or float64), so a page can be checked against the API (:attr:`Explorer.data`,
:func:`decode_array`). Inputs are written as text, never as markup.
"""
from __future__ import annotations

import base64
import html
import json
import os
from importlib import resources

import numpy as np

from ..backend import as_numpy
from ..files import write_file

__all__ = ["explore", "Explorer", "decode_array", "MAX_INPUTS", "MAX_BYTES", "EXPLORABLE_MAPS"]

MAX_INPUTS = 32
"""Most inputs (texts or bit sequences) in one page."""
MAX_BYTES = 16 * 2**20
"""Largest page :func:`explore` writes (checked from the shapes before any work)."""
EXPLORABLE_MAPS = ("cross", "enc", "dec", "memory")
"""The maps the explorer can show (a model's ``attention_maps`` must hold one of them)."""

_FORMAT = 1
_DATA_OPEN = '<script type="application/json" id="explorer-data">'


# ----------------------------------------------------------------------------- arrays
def _encode_array(a):
    """A host array as ``{"dtype", "shape", "data"}`` (base64 of its little-endian bytes)."""
    a = np.asarray(as_numpy(a))
    if a.dtype == np.float64:
        dt = "<f8"
    elif a.dtype.kind == "b":
        a, dt = a.astype(np.uint8), "|u1"
    elif a.dtype.kind in "iu":
        dt = "<i4"
    else:
        dt = "<f4"
    raw = np.ascontiguousarray(a.astype(dt, copy=False)).tobytes()
    return {"dtype": dt[1:], "shape": list(a.shape), "data": base64.b64encode(raw).decode("ascii")}


def decode_array(obj):
    """The NumPy array of an embedded ``{"dtype", "shape", "data"}`` object (see :attr:`Explorer.data`).

    Raises:
        ValueError: not such an object, or its bytes do not fit the shape.
    """
    if not isinstance(obj, dict) or set(obj) != {"dtype", "shape", "data"}:
        raise ValueError("decode_array: expected an embedded array {dtype, shape, data}")
    dt = {"f4": "<f4", "f8": "<f8", "u1": "|u1", "i4": "<i4"}.get(obj["dtype"])
    if dt is None:
        raise ValueError(f"decode_array: unknown dtype {obj['dtype']!r}")
    raw = base64.b64decode(obj["data"], validate=True)
    shape = tuple(int(n) for n in obj["shape"])
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * np.dtype(dt).itemsize:
        raise ValueError(f"decode_array: {len(raw)} bytes do not fit shape {shape} of {dt}")
    return np.frombuffer(raw, dtype=dt).reshape(shape)


def _nbytes_b64(count, itemsize=4):
    return (count * itemsize + 2) // 3 * 4


# ----------------------------------------------------------------------------- checks
def _model_maps(model, who="explore"):
    maps = tuple(getattr(model, "attention_maps", ()) or ())
    if not any(m in EXPLORABLE_MAPS for m in maps):
        name = (getattr(model, "config", None) or {}).get("model", type(model).__name__)
        raise ValueError(f"{who}: the model {name!r} has no attention to explore (its "
                         f"attention_maps is {maps!r}); the explorer needs a model with one of "
                         f"{', '.join(EXPLORABLE_MAPS)} (e.g. attention, transformer, ntm)")
    return maps


def _unwrap(model, task):
    """(model, task) of a Translator (its model and text task) or of a model and ``task``."""
    if hasattr(model, "model") and hasattr(model, "task"):           # a Translator
        return model.model, model.task
    return model, task


def _check_count(n, who):
    if n == 0:
        raise ValueError(f"{who}: no inputs given; give at least one")
    if n > MAX_INPUTS:
        raise ValueError(f"{who}: at most {MAX_INPUTS} inputs per page, got {n}")


def _check_texts(texts, vocab, in_width, who):
    if isinstance(texts, str):
        raise TypeError(f"{who}: inputs must be a list of strings, got one str (wrap it in a list)")
    texts = list(texts)
    _check_count(len(texts), who)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{who}: input {i + 1} must be a string, got {type(t).__name__}")
        if not t.strip():
            raise ValueError(f"{who}: input {i + 1} is empty; give the text to explore")
        if len(t) > in_width:
            raise ValueError(f"{who}: input {i + 1} {t!r} is {len(t)} characters; this model "
                             f"reads at most {in_width}")
        unknown = vocab.unknown_chars(t)
        if unknown:
            raise ValueError(f"{who}: input {i + 1} {t!r} contains character(s) this model does "
                             f"not know: {', '.join(repr(c) for c in unknown)}")
    return texts


def _check_bits(inputs, targets, model, who):
    if isinstance(inputs, np.ndarray) and inputs.ndim == 3:
        inputs = list(inputs)
    inputs = list(inputs)
    _check_count(len(inputs), who)
    if targets is not None:
        targets = list(targets)
        if len(targets) != len(inputs):
            raise ValueError(f"{who}: {len(targets)} targets for {len(inputs)} inputs")
    xs, ts = [], []
    for i, x in enumerate(inputs):
        x = np.asarray(as_numpy(x))
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != model.input_width or x.dtype.kind not in "biuf":
            raise ValueError(f"{who}: input {i + 1} must be a numeric array (T, "
                             f"{model.input_width}) with T >= 1, got {x.dtype} {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"{who}: input {i + 1} holds NaN or infinite values")
        xs.append(x)
        if targets is not None:
            t = np.asarray(as_numpy(targets[i]))
            if t.shape != (x.shape[0], model.output_width):
                raise ValueError(f"{who}: target {i + 1} must be ({x.shape[0]}, "
                                 f"{model.output_width}), got {t.shape}")
            ts.append(t)
    return xs, (ts if targets is not None else None)


# ----------------------------------------------------------------------------- sizes
def _text_floats(model, n, in_width, out_width, vocab_size):
    """Numbers one page embeds for ``n`` texts (an upper bound, for the size check)."""
    cfg = model.config
    per = out_width * (2 * in_width + vocab_size + int(cfg.get("hidden_size", 0) or 0))
    if "enc" in getattr(model, "attention_maps", ()):
        layers, heads = int(cfg.get("num_layers", 1)), int(cfg.get("num_heads", 1))
        per += layers * heads * (in_width * in_width + out_width * out_width + out_width * in_width)
    return n * per


def _bits_floats(model, lengths):
    n = model.ntm
    R, W, K, h = n.memory_rows, n.memory_width, 2 * n.shift_range + 1, 1 + n.read_heads
    per_step = (model.input_width + 2 * model.output_width + R * W + 4 * h * R + h * K + 3 * h
                + 2 * W + n.read_heads * W)
    return sum(int(T) * per_step for T in lengths)


def _check_size(floats, who):
    size = _nbytes_b64(floats) + 200_000
    if size > MAX_BYTES:
        raise ValueError(f"{who}: the page would hold about {size / 2**20:.1f} MB of numbers, "
                         f"more than the {MAX_BYTES // 2**20} MB limit; give fewer or shorter "
                         "inputs")


# ----------------------------------------------------------------------------- panels
def _describe(model, reversed_input=None):
    cfg = dict(getattr(model, "config", {}) or {})
    items = [f"{k}={v}" for k, v in cfg.items() if k != "model"]
    if reversed_input is not None:
        items.append(f"reversed_input={reversed_input}")
    return {"name": str(cfg.get("model", type(model).__name__)), "config": items}


def _text_panel(model, task, texts, label, who):
    vocab, in_width, out_width = task.vocab, task.in_width, task.out_width
    reversed_input = bool(task.reversed_input)
    maps = _model_maps(model, who)
    if "cross" not in maps:
        raise ValueError(f"{who}: this model's maps {maps!r} have no decoder-over-input "
                         "attention ('cross'); text inputs need one")
    if not callable(getattr(model, "trace", None)):
        raise ValueError(f"{who}: the model has no trace() method to read its attention from")
    ids = task.encode(texts)                  # padded, reversed if the model reads so
    tr = model.trace(ids, vocab.start_id, out_width)
    chars = list(vocab.chars)
    heads = tr.get("attention")
    examples = []
    for n, text in enumerate(texts):
        fed = [chars[int(i)] for i in ids[n]]
        pad = [True] * in_width
        for j in range(len(text)):                        # written position j is text
            pad[in_width - 1 - j if reversed_input else j] = False
        ex = {"text": text, "src": fed, "pad": pad,
              "mask": [bool(v) for v in tr["mask"][n]],
              "out": [chars[int(i)] for i in tr["ids"][n]],
              "weights": _encode_array(tr["weights"][n]),
              "probs": _encode_array(tr["probs"][n]),
              "scores": _encode_array(tr["scores"][n]) if "scores" in tr else None,
              "context": _encode_array(tr["context"][n]) if "context" in tr else None}
        if heads is not None:
            ex["heads"] = {kind: [_encode_array(w[n]) for w in per_layer]
                           for kind, per_layer in heads.items()}
        examples.append(ex)
    return {"kind": "transformer" if heads is not None else "seq2seq", "label": label,
            "model": _describe(model, reversed_input), "reversed": reversed_input,
            "in_width": int(in_width), "out_width": int(out_width), "vocab": chars,
            "start": vocab.start_char, "score": getattr(model, "score", None),
            "examples": examples}


def _bits_panel(model, xs, ts, label, who):
    maps = _model_maps(model, who)
    if "memory" not in maps or not callable(getattr(model, "trace", None)):
        raise ValueError(f"{who}: bit-vector inputs need a model with a memory (e.g. ntm); "
                         f"this one exposes {maps!r}")
    examples = []
    for n, x in enumerate(xs):
        tr = model.trace(x[None].astype(model.dtype))
        ex = {"x": _encode_array(np.asarray(x, dtype=model.dtype)),
              "target": None if ts is None else _encode_array(np.asarray(ts[n], dtype=model.dtype))}
        for key, value in tr.items():
            if key not in ("write", "read"):   # the same numbers as "sharpened" (write head first)
                ex[key] = _encode_array(value[0])
        examples.append(ex)
    ntm = model.ntm
    return {"kind": "ntm", "label": label, "model": _describe(model),
            "rows": ntm.memory_rows, "width": ntm.memory_width, "shift_range": ntm.shift_range,
            "read_heads": ntm.read_heads, "examples": examples}


# ----------------------------------------------------------------------------- the page
def _asset(name):
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _json_for_script(obj):
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _page(data, title):
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<link rel=\"icon\" href=\"data:,\">\n"
            f"<title>{html.escape(title)}</title>\n<style>\n{_asset('explore.css')}</style>\n"
            "</head>\n<body>\n<div id=\"explorer\"><noscript>This explorer needs JavaScript."
            "</noscript></div>\n"
            f"{_DATA_OPEN}{_json_for_script(data)}</script>\n"
            f"<script>\n{_asset('explore.js')}</script>\n</body>\n</html>\n")


class Explorer:
    """A built explorer page: :attr:`html` (the whole file), :attr:`data` (what it embeds),
    :meth:`save`; shown inline by Jupyter (:meth:`_repr_html_`, the page in an ``iframe``).

    Made by :func:`explore`.
    """

    def __init__(self, data, title):
        self.data = data
        self.title = title
        self.html = _page(data, title)

    @classmethod
    def from_html(cls, text):
        """The Explorer of a page this module wrote (its embedded data and title), rebuilt with
        the current page code: ``Explorer.from_html(old).html`` is ``old`` brought up to date.

        Raises:
            ValueError: ``text`` is not such a page.
        """
        start = text.find(_DATA_OPEN)
        end = text.find("</script>", start)
        if start < 0 or end < 0:
            raise ValueError("Explorer.from_html: not an explorer page (no embedded data)")
        try:
            data = json.loads(text[start + len(_DATA_OPEN):end])
        except ValueError as e:
            raise ValueError(f"Explorer.from_html: the embedded data is not JSON: {e}") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or "panels" not in data:
            raise ValueError(f"Explorer.from_html: unknown page format {data.get('format')!r}"
                             if isinstance(data, dict) else "Explorer.from_html: bad data")
        return cls(data, str(data.get("title", "")))

    @property
    def size(self) -> int:
        """The page's size in bytes (UTF-8)."""
        return len(self.html.encode("utf-8"))

    def save(self, path):
        """Write the page to ``path`` atomically (a temporary file, then a rename); returns ``path``."""
        write_file(path, self.html)
        return path

    def _repr_html_(self):
        height = 1500 if any(p["kind"] in ("transformer", "ntm") for p in self.data["panels"]) else 1100
        return (f"<iframe srcdoc=\"{html.escape(self.html, quote=True)}\" "
                f"title=\"{html.escape(self.title)}\" data-explorer-autosize "
                f"style=\"width:100%;height:{height}px;border:1px solid #ddd\"></iframe>")

    def __repr__(self):
        kinds = ", ".join(p["kind"] for p in self.data["panels"])
        return (f"Explorer({kinds}; {len(self.data['inputs'])} input(s); "
                f"{self.size / 1024:.0f} KiB)")


def explore(model, inputs, out=None, *, task=None, compare=None, labels=None, targets=None,
            title=None):
    """Build an interactive attention explorer for ``model`` on ``inputs`` (and write it).

    Args:
        model: a :class:`~tinygrad_attn.training.Translator` (a model and its text task), a
            text model with ``task=``, or an NTM (which takes bit sequences). The model must
            expose attention (``attention_maps``: see :data:`EXPLORABLE_MAPS`) through a
            ``trace`` method.
        inputs: for text models a list of strings (at most :data:`MAX_INPUTS`, none empty,
            only characters of the vocabulary, each at most ``in_width`` long); for an NTM a
            list of (T, input_width) arrays (or one (N, T, input_width) array).
        out: a ``.html`` file to write (atomically), or None.
        task: the :class:`~tinygrad_attn.data.TextTask` of a bare text model (vocabulary,
            widths, reversal); a Translator brings its own.
        compare: a second model (or Translator) shown beside the first on the same inputs;
            it must take the same kind of input (a bare text model shares ``task``).
        labels: names of the models in the page (default: their registered names).
        targets: for an NTM, the expected outputs (T, output_width) per input (negative:
            nothing expected), drawn beside the outputs.
        title: the page title.

    Returns:
        An :class:`Explorer` (displays itself in a notebook).

    Raises:
        ValueError: a model without attention, a text model without a task, no or too many
            inputs, an empty input, unknown characters, an input longer than the model reads,
            a page over :data:`MAX_BYTES`, or an ``out`` that is a folder. Nothing is written
            then.
        TypeError: inputs of the wrong type.
    """
    who = "explore"
    models = [model] if compare is None else [model, compare]
    unwrapped = [_unwrap(m, task) for m in models]
    if labels is None:
        labels = [str((getattr(m, "config", None) or {}).get("model", type(m).__name__))
                  for m, _ in unwrapped]
        if len(labels) == 2 and labels[0] == labels[1]:
            labels = [f"{labels[0]} (1)", f"{labels[1]} (2)"]
    labels = [str(s) for s in labels]
    if len(labels) != len(models):
        raise ValueError(f"{who}: {len(labels)} labels for {len(models)} models")
    if out is not None and os.path.isdir(os.fspath(out)):
        raise ValueError(f"{who}: {out} is a folder; give a file name")
    kinds = {"memory" in _model_maps(m, who) for m, _ in unwrapped}
    if len(kinds) != 1:
        raise ValueError(f"{who}: compare needs two models of the same kind of input (two text "
                         "models or two NTMs)")
    bits = kinds.pop()
    panels = []
    if bits:
        xs, ts = _check_bits(inputs, targets, unwrapped[0][0], who)
        for m, _ in unwrapped[1:]:
            _check_bits(xs, ts, m, who)
        _check_size(sum(_bits_floats(m, [len(x) for x in xs]) for m, _ in unwrapped), who)
        for (m, _), label in zip(unwrapped, labels):
            panels.append(_bits_panel(m, xs, ts, label, who))
        items = [{"label": f"example {i + 1} (T={len(x)})"} for i, x in enumerate(xs)]
    else:
        if targets is not None:
            raise ValueError(f"{who}: targets are for NTM inputs; text models produce their answer")
        floats = 0
        for m, t in unwrapped:
            if t is None or not all(hasattr(t, a) for a in ("vocab", "in_width", "out_width",
                                                             "reversed_input", "encode")):
                raise ValueError(f"{who}: a text model needs its task (pass a Translator, or "
                                 "task=TextTask(vocab, in_width, out_width, reversed_input))")
            texts = _check_texts(inputs, t.vocab, t.in_width, who)
            floats += _text_floats(m, len(texts), t.in_width, t.out_width, len(t.vocab))
        _check_size(floats, who)
        for (m, t), label in zip(unwrapped, labels):
            panels.append(_text_panel(m, t, texts, label, who))
        items = [{"label": t} for t in texts]
    if title is None:
        title = "Attention explorer: " + " vs ".join(labels)
    data = {"format": _FORMAT, "title": str(title), "task": "bits" if bits else "text",
            "inputs": items, "panels": panels}
    page = Explorer(data, str(title))
    if out is not None:
        page.save(out)
    return page
