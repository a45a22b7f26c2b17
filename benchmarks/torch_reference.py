"""The chapter's attention seq2seq in PyTorch (eager), for side-by-side timing.

Same architecture as ``models.AttentionSeq2seq(V, D, H)`` with ``attention_feed="affine"``:

* encoder: ``nn.Embedding(V, D)`` -> ``nn.LSTM(D, H, batch_first=True)`` -> all states hs_enc;
* decoder: ``nn.Embedding(V, D)`` -> ``nn.LSTM(D, H, batch_first=True)`` started from the
  encoder's last h and a zero cell;
* attention for all decoder steps at once: ``a = softmax(hs_dec @ hs_enc^T)`` and
  ``ctx = a @ hs_enc`` (two ``torch.bmm``);
* ``nn.Linear(2H, V)`` on ``[ctx, hs_dec]``; ``nn.CrossEntropyLoss`` (mean over N * T_out).

A training step is ``zero_grad``, forward, backward, ``clip_grad_norm_(params, 5.0)``,
``torch.optim.Adam.step``. Threads: ``torch.set_num_threads`` is left at PyTorch's
default (the number of physical cores it sees; :func:`thread_info` reports it).

PyTorch is optional: importing this module does not import torch; the functions that need
it import it when called (``pip install "tinygrad-attn[bench]"``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["build_torch_model", "load_from_ours", "torch_grads_as_ours", "make_train_step",
           "thread_info"]


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError('torch_reference needs PyTorch: pip install "tinygrad-attn[bench]"') from None
    return torch


def build_torch_model(vocab_size, wordvec_size=16, hidden_size=256, dtype="float32", device="cpu"):
    """Build the PyTorch attention seq2seq.

    Args:
        vocab_size: V. wordvec_size: D. hidden_size: H.
        dtype: ``"float32"`` or ``"float64"``.
        device: a torch device string (``"cpu"``, ``"cuda"``).

    Returns:
        torch.nn.Module: ``loss = model(xs, ts)`` with xs (N, T_in) and ts (N, 1 + T_out)
        int64 tensors (the decoder reads ``ts[:, :-1]`` and predicts ``ts[:, 1:]``); after a
        call, ``model.attention_weights`` is the (N, T_out, T_in) tensor of weights.
    """
    torch = _torch()
    nn = torch.nn

    class TorchAttentionSeq2seq(nn.Module):
        def __init__(self):
            super().__init__()
            V, D, H = vocab_size, wordvec_size, hidden_size
            self.enc_embed = nn.Embedding(V, D)
            self.encoder = nn.LSTM(D, H, batch_first=True)
            self.dec_embed = nn.Embedding(V, D)
            self.decoder = nn.LSTM(D, H, batch_first=True)
            self.out = nn.Linear(2 * H, V)
            self.loss_fn = nn.CrossEntropyLoss()
            self.attention_weights = None

        def forward(self, xs, ts):
            hs_enc, (h, _) = self.encoder(self.enc_embed(xs))          # (N, T_in, H), (1, N, H)
            hs_dec, _ = self.decoder(self.dec_embed(ts[:, :-1]), (h, torch.zeros_like(h)))
            a = torch.softmax(torch.bmm(hs_dec, hs_enc.transpose(1, 2)), dim=-1)  # (N, T_out, T_in)
            ctx = torch.bmm(a, hs_enc)                                  # (N, T_out, H)
            score = self.out(torch.cat([ctx, hs_dec], dim=-1))          # (N, T_out, V)
            self.attention_weights = a.detach()
            return self.loss_fn(score.reshape(-1, score.shape[-1]), ts[:, 1:].reshape(-1))

    return TorchAttentionSeq2seq().to(device=device, dtype=getattr(torch, dtype))


def _gates_to_torch(a, H):
    """Reorder the last axis of ``a`` (..., 4H) from our gate order f, g, i, o to torch's i, f, g, o."""
    f, g, i, o = (a[..., k * H:(k + 1) * H] for k in range(4))
    return np.concatenate([i, f, g, o], axis=-1)


def _gates_from_torch(a, H):
    """Inverse of :func:`_gates_to_torch`: torch's i, f, g, o -> our f, g, i, o (last axis)."""
    i, f, g, o = (a[..., k * H:(k + 1) * H] for k in range(4))
    return np.concatenate([f, g, i, o], axis=-1)


def load_from_ours(tmodel, state):
    """Copy weights from our model's ``state_dict()`` (host arrays) into the torch model.

    LSTM: ``weight_ih = Wx^T`` and ``weight_hh = Wh^T`` with the gates reordered,
    ``bias_ih = b`` (reordered), ``bias_hh = 0``. Linear: ``weight = W^T``.

    Args:
        tmodel: a model from :func:`build_torch_model`.
        state: ``{name: array}`` with our names (``enc_embed.W``, ``encoder.layers.0.Wx``, ...).
    """
    torch = _torch()
    H = tmodel.encoder.hidden_size
    p = next(tmodel.parameters())

    def put(param, value):
        with torch.no_grad():
            param.copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=p.dtype, device=p.device))

    for ours, layer in (("encoder.layers.0", tmodel.encoder), ("decoder.layers.0", tmodel.decoder)):
        put(layer.weight_ih_l0, _gates_to_torch(np.asarray(state[f"{ours}.Wx"]), H).T)
        put(layer.weight_hh_l0, _gates_to_torch(np.asarray(state[f"{ours}.Wh"]), H).T)
        put(layer.bias_ih_l0, _gates_to_torch(np.asarray(state[f"{ours}.b"]), H))
        put(layer.bias_hh_l0, np.zeros(4 * H))
    put(tmodel.enc_embed.weight, state["enc_embed.W"])
    put(tmodel.dec_embed.weight, state["dec_embed.W"])
    put(tmodel.out.weight, np.asarray(state["out.W"]).T)
    put(tmodel.out.bias, state["out.b"])


def torch_grads_as_ours(tmodel):
    """Return the torch model's gradients in our naming and layout (host float64 arrays).

    The LSTM bias gradient is ``bias_ih.grad`` (equal to ``bias_hh.grad``: both biases enter
    the same sum), reordered to our gate order.
    """
    H = tmodel.encoder.hidden_size

    def g(param):
        return param.grad.detach().cpu().double().numpy()

    out = {"enc_embed.W": g(tmodel.enc_embed.weight), "dec_embed.W": g(tmodel.dec_embed.weight),
           "out.W": g(tmodel.out.weight).T, "out.b": g(tmodel.out.bias)}
    for ours, layer in (("encoder.layers.0", tmodel.encoder), ("decoder.layers.0", tmodel.decoder)):
        out[f"{ours}.Wx"] = _gates_from_torch(g(layer.weight_ih_l0).T, H)
        out[f"{ours}.Wh"] = _gates_from_torch(g(layer.weight_hh_l0).T, H)
        out[f"{ours}.b"] = _gates_from_torch(g(layer.bias_ih_l0), H)
    return out


def make_train_step(tmodel, batches, lr=0.001, max_grad=5.0, sync=False):
    """Return a closure running one training step on the next of ``batches`` (cycled).

    Args:
        tmodel: the torch model.
        batches: list of ``(xs, ts)`` int64 tensors on the model's device, xs (N, T_in) and
            ts (N, 1 + T_out).
        lr: Adam learning rate. max_grad: global-norm clipping threshold.
        sync: call ``torch.cuda.synchronize()`` at the end (for honest GPU timings).

    Returns:
        callable: ``step() -> loss tensor`` (0-d).

    Raises:
        ValueError: ``batches`` is empty.
    """
    torch = _torch()
    if not batches:
        raise ValueError("make_train_step: batches is empty")
    opt = torch.optim.Adam(tmodel.parameters(), lr=lr)
    params = list(tmodel.parameters())
    state = {"i": 0}

    def step():
        xs, ts = batches[state["i"] % len(batches)]
        state["i"] += 1
        opt.zero_grad(set_to_none=True)
        loss = tmodel(xs, ts)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_grad)
        opt.step()
        if sync:
            torch.cuda.synchronize()
        return loss

    return step


def thread_info():
    """Return ``{"torch_threads": int, "torch_interop_threads": int}`` (PyTorch's defaults)."""
    torch = _torch()
    return {"torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads()}
