"""Every layer and every seq2seq model on each device (cpu and the strict stand-in; cuda when present).

On "strict", any NumPy call on device data, or a host array mixed into device code, raises:
passing here is the CPU-only proof that the GPU path does not mix host and device arrays.
"""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn_models import build_model
from tinygrad_attn import backend
from tinygrad_attn import functions as F
from tinygrad_attn import layers as L
from tinygrad_attn.data import load_dataset
from tinygrad_attn.checks.layercases import LAYER_CASES
from tinygrad_attn.optim import SGD, AdaGrad, Adam, Momentum, clip_grads
from tinygrad_attn.training import Trainer, Translator, load_checkpoint, save_checkpoint

from .devices import any_device as device  # noqa: F401  (cpu, strict, and cuda when present)

R = np.random.default_rng(0)


def on(device, a):
    return ta.Variable(backend.as_device(np.asarray(a, dtype=np.float32), device))


def _device_inputs(case):
    """The case's call arguments on the device: floating ones as float32 Variables."""
    return lambda d: tuple(on(d, a) if a.dtype.kind == "f" else backend.as_device(a, d)
                           for a in case.arrays())


LAYERS = {c.id: (c.make, _device_inputs(c)) for c in LAYER_CASES}   # tinygrad_attn/layercases.py
LAYERS["dropout"] = (lambda: L.Dropout(0.3), lambda d: (on(d, R.standard_normal((4, 3))),))


def _out(y):
    return F.concat(list(y), axis=-1) if isinstance(y, tuple) else y


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("opt_cls", [SGD, Momentum, AdaGrad, Adam])
def test_layer_step_on_device(device, name, opt_cls):
    make, inputs = LAYERS[name]
    ta.seed(0)
    layer = make().to_device(device)
    xs = inputs(device)
    y = _out(layer(*xs))
    assert backend.device_of(y.data) == device
    ref_layer = make()  # same seed would differ; compare against a CPU copy of the weights
    for (_, p), (_, q) in zip(layer.named_params(), ref_layer.named_params()):
        q.data = backend.as_numpy(p.data).copy()
    ys_cpu = _out(ref_layer(*[ta.Variable(backend.as_numpy(x.data if isinstance(x, ta.Variable) else x))
                              if isinstance(x, ta.Variable) else backend.as_numpy(x) for x in xs]))
    if name != "dropout":
        np.testing.assert_allclose(backend.as_numpy(y.data), ys_cpu.data, rtol=1e-5, atol=1e-6)
    (y * y).sum().backward()
    params = list(layer.params())
    for p in params:
        assert p.grad is not None and backend.device_of(p.grad.data) == device
    clip_grads(params, 1.0)
    before = [backend.as_numpy(p.data).copy() for p in params]
    opt_cls(layer).update()
    for p, b in zip(params, before):
        assert backend.device_of(p.data) == device
        assert not np.array_equal(backend.as_numpy(p.data), b)
    layer.to_cpu()
    assert all(type(p.data) is np.ndarray for p in layer.params())


def test_attention_mask_from_the_host_moves_to_the_scores_device():
    s = on("strict", R.standard_normal((2, 3, 4)))
    a = F.masked_softmax(s, np.array([[True, False, True, True], [False] * 4]))
    assert backend.device_of(a.data) == "strict"
    np.testing.assert_array_equal(backend.as_numpy(a.data)[1], 0)


def test_strict_catches_a_host_mask_in_device_code():
    x = on("strict", R.standard_normal((3, 4)))
    host_mask = np.ones((3, 4), dtype=bool)  # the classic bug: a mask made with plain NumPy
    with pytest.raises(TypeError, match="Unsupported type"):
        F.where(host_mask, x, x * 0)
    with pytest.raises(TypeError, match="Unsupported type"):
        x * ta.Variable(np.ones((3, 4), np.float32))


MODELS = [dict(model="seq2seq"), dict(model="peeky"), dict(model="attention"),
          dict(model="attention", bidirectional=True, attention_feed="both", num_layers=2),
          dict(model="attention", attention_feed="lstm"),
          dict(model="attention", score="additive", mask_padding=True, attention_feed="both"),
          dict(model="attention", score="general", mask_padding=True, mask_scope="run",
               attention_form="book"),
          dict(model="transformer"),
          dict(model="transformer", norm="post", positions="learned", pad_id=0, dropout=0.1)]


@pytest.mark.parametrize("cfg", MODELS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_model_step_generate_attention_checkpoint(device, cfg, tmp_path):
    data = load_dataset("date", samples=40, seed=1, val_fraction=0.25, reverse_input=True)
    V = len(data.vocab)
    ta.seed(0)
    sizes = (dict(d_model=8, num_heads=2, d_ff=12, num_layers=1, max_len=48)
             if cfg["model"] == "transformer" else dict(wordvec_size=4, hidden_size=8))
    model = build_model(dict(cfg, vocab_size=V, **sizes)).to_device(device)
    assert model.device == device
    trainer = Trainer(model, data, batch_size=16, progress=False)  # batches move inside
    hist = trainer.fit(1)
    assert np.isfinite(hist[0]["loss"]) and hist[0]["val_acc"] is not None
    for p in model.params():
        assert backend.device_of(p.data) == device
    out = model.generate(data.x_val, data.vocab.start_id, data.out_width)  # host ids are moved
    assert out.shape == (len(data.x_val), data.out_width) and type(out) is np.ndarray
    beam, logp = model.beam_search(data.x_val, data.vocab.start_id, data.out_width, beam_width=2)
    assert beam.shape == out.shape and type(beam) is np.ndarray and logp.shape == (len(data.x_val),)
    out = model.generate(data.x_val, data.vocab.start_id, data.out_width)  # restore greedy weights
    if cfg["model"] in ("attention", "transformer"):
        w = model.attention_weights
        assert type(w) is np.ndarray and w.shape == (len(data.x_val), data.out_width, data.in_width)
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-4)

    # checkpoint written from this device loads on the host and back, identical outputs
    path = tmp_path / "m.npz"
    save_checkpoint(path, model, data.task)
    host_model, meta = load_checkpoint(path)
    assert host_model.device == "cpu"
    np.testing.assert_array_equal(host_model.generate(data.x_val, data.vocab.start_id, data.out_width), out)
    back, _ = load_checkpoint(path, device=device)
    assert back.device == device
    tr = Translator.from_checkpoint(path, device=device)
    assert len(tr.translate(["may 4, 2021"])[0]) <= data.out_width


@pytest.mark.parametrize("opt_cls", [Momentum, AdaGrad, Adam])
def test_optimizer_state_follows_the_model_to_the_device(opt_cls):
    ta.seed(0)
    layer = L.Linear(3, 2)
    opt = opt_cls(layer)
    x = np.ones((4, 3), np.float32)
    (layer(ta.Variable(x)) ** 2).sum().backward()
    opt.update()                              # state created on the host
    layer.to_device("strict").cleargrads()
    (layer(on("strict", x)) ** 2).sum().backward()
    opt.update()                              # state moved, no host/device mixing
    assert all(backend.device_of(s) == "strict" for s in opt.state.values())
    assert all(backend.device_of(p.data) == "strict" for p in layer.params())


def test_cross_entropy_label_error_names_the_labels_on_the_device():
    x = on("strict", np.zeros((2, 3)))
    with pytest.raises(ta.OpError, match=r"labels \[3, 7\] are out of range for 3 classes"):
        F.softmax_cross_entropy(x, backend.as_device(np.array([3, 7]), "strict"))
