"""Optimizers (SGD, Momentum, AdaGrad, Adam), global-norm gradient clipping, and
learning-rate schedules (warm-up then inverse square root, warm-up then cosine).

Every hyper-parameter is checked when it is given (finite and in range, with the shared
rules of :mod:`tinygrad_attn.validate`): ``Adam(lr=nan)`` is refused with one line instead
of turning every weight into NaN at the first update. ``opt.lr = value`` (what a schedule
does) is checked too.

Updates work on raw arrays in place, in each parameter's own dtype and on its own device
(optimizer state is created on, or moved to, the parameter's device). A parameter that
appears several times (shared between layers) is updated once.
"""
from __future__ import annotations

import math

from . import validate as V
from .backend import as_device, device_of, get_array_module

__all__ = ["Optimizer", "SGD", "Momentum", "AdaGrad", "Adam", "clip_grads", "grad_norm",
           "Schedule", "WarmupInverseSqrt", "WarmupCosine", "make_schedule", "SCHEDULES"]


def _unique(params):
    seen = set()
    out = []
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def grad_norm(params) -> float:
    """Global L2 norm of all gradients (parameters without a gradient are skipped)."""
    total = None
    for p in _unique(params):
        if p.grad is None:
            continue
        g = p.grad.data
        s = (g * g).sum()
        total = s if total is None else total + s
    return 0.0 if total is None else math.sqrt(float(total))


def clip_grads(params, max_norm: float) -> float:
    """Scale all gradients in place so that their global L2 norm is at most ``max_norm``.

    Args:
        params: an iterable of Parameters (e.g. ``model.params()``).
        max_norm: the largest allowed global norm (> 0).

    Returns:
        The global norm before clipping.
    """
    max_norm = V.MAX_NORM.check(max_norm, "max_norm", "clip_grads")
    params = _unique(params)
    norm = grad_norm(params)
    if norm > max_norm:
        rate = max_norm / (norm + 1e-6)
        for p in params:
            if p.grad is not None:  # a new Variable each: parameters may share one grad object
                p.grad = type(p.grad)(p.grad.data * p.grad.data.dtype.type(rate))
    return norm


class Optimizer:
    """Base class: ``opt = Adam(model.params())`` (or ``Adam().setup(model)``), then ``opt.update()``.

    Args:
        params: Parameters or a Layer (its ``params()`` are taken at every update, so
            parameters added later are included).
        lr: learning rate, finite and > 0 (set later through ``opt.lr``: finite and >= 0,
            since a schedule may decay it to 0).
        weight_decay: L2 penalty coefficient added to the gradient (``g + wd * p``),
            finite and >= 0.

    Raises:
        TypeError, ValueError: a hyper-parameter that is not a number, or not finite and in
            range; the message names the optimizer, the argument, its range and the value.
    """

    def __init__(self, params=None, lr=0.01, weight_decay=0.0):
        who = type(self).__name__
        self._lr = V.LEARNING_RATE.check(lr, "lr", who)
        self.weight_decay = V.WEIGHT_DECAY.check(weight_decay, "weight_decay", who)
        self.state = {}
        self.target = None
        self._params = None
        if params is not None:
            self.setup(params)

    @property
    def lr(self) -> float:
        """The learning rate (a schedule sets it before every update)."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = V.LEARNING_RATE_SET.check(value, "lr", type(self).__name__)

    def setup(self, params):
        """Attach to a Layer or an iterable of Parameters; returns self."""
        if hasattr(params, "params") and callable(params.params):
            self.target = params
        else:
            self._params = _unique(params)
        return self

    def parameters(self):
        """The parameters this optimizer updates (each once)."""
        if self.target is not None:
            return _unique(self.target.params())
        if self._params is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(model or params) first")
        return self._params

    def update(self):
        """Apply one update to every parameter that has a gradient."""
        self.begin_step()
        for p in self.parameters():
            if p.grad is None:
                continue
            g = p.grad.data
            if g.dtype != p.data.dtype:
                g = g.astype(p.data.dtype)
            if self.weight_decay:
                g = g + p.data * p.data.dtype.type(self.weight_decay)
            self.update_one(p, g)

    def begin_step(self):
        """Hook called once per update before the parameters (e.g. Adam's step count)."""

    def _slot(self, p, name):
        key = (id(p), name)
        s = self.state.get(key)
        if s is None:
            xp = get_array_module(p.data)
            s = xp.zeros_like(p.data)
            self.state[key] = s
        elif get_array_module(s) is not get_array_module(p.data):
            s = as_device(s, device_of(p.data))  # the model moved: state follows
            self.state[key] = s
        return s

    def update_one(self, p, g):
        """Update one parameter from its gradient array ``g`` (override)."""
        raise NotImplementedError


class SGD(Optimizer):
    """Plain gradient descent: ``p -= lr * g``."""

    def update_one(self, p, g):
        p.data -= p.data.dtype.type(self.lr) * g


class Momentum(Optimizer):
    """SGD with momentum: ``v = momentum * v - lr * g; p += v``."""

    def __init__(self, params=None, lr=0.01, momentum=0.9, weight_decay=0.0):
        self.momentum = V.DECAY_RATE.check(momentum, "momentum", type(self).__name__)
        super().__init__(params, lr, weight_decay)

    def update_one(self, p, g):
        v = self._slot(p, "v")
        t = p.data.dtype.type
        v *= t(self.momentum)
        v -= t(self.lr) * g
        p.data += v


class AdaGrad(Optimizer):
    """AdaGrad: ``h += g*g; p -= lr * g / (sqrt(h) + eps)``."""

    def __init__(self, params=None, lr=0.01, eps=1e-7, weight_decay=0.0):
        self.eps = V.OPTIMIZER_EPS.check(eps, "eps", type(self).__name__)
        super().__init__(params, lr, weight_decay)

    def update_one(self, p, g):
        h = self._slot(p, "h")
        xp = get_array_module(p.data)
        t = p.data.dtype.type
        h += g * g
        p.data -= t(self.lr) * g / (xp.sqrt(h) + t(self.eps))


class Adam(Optimizer):
    """Adam with bias correction.

    ``m += (1-b1)(g-m); v += (1-b2)(g*g-v); p -= lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v)+eps)``.
    """

    def __init__(self, params=None, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        who = type(self).__name__
        self.beta1 = V.DECAY_RATE.check(beta1, "beta1", who)
        self.beta2 = V.DECAY_RATE.check(beta2, "beta2", who)
        self.eps = V.OPTIMIZER_EPS.check(eps, "eps", who)
        super().__init__(params, lr, weight_decay)
        self.t = 0

    def begin_step(self):
        self.t += 1
        self._lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** self.t) / (1.0 - self.beta1 ** self.t)

    def update_one(self, p, g):
        m = self._slot(p, "m")
        v = self._slot(p, "v")
        xp = get_array_module(p.data)
        t = p.data.dtype.type
        # One scratch array instead of a temporary per operation (same arithmetic).
        d = g - m
        d *= t(1 - self.beta1)
        m += d
        xp.multiply(g, g, out=d)
        d -= v
        d *= t(1 - self.beta2)
        v += d
        xp.sqrt(v, out=d)
        d += t(self.eps)
        xp.divide(m, d, out=d)
        d *= t(self._lr_t)
        p.data -= d


# ----------------------------------------------------------------------------- schedules
class Schedule:
    """A learning rate per step: ``lr = schedule(step)`` for steps 1, 2, 3, ...

    :meth:`apply` sets an optimizer's ``lr`` for a step (the Trainer calls it before every
    update). Subclasses implement :meth:`__call__`.
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def apply(self, optimizer, step: int) -> float:
        """Set ``optimizer.lr`` to the rate of ``step``; returns it."""
        optimizer.lr = lr = float(self(step))
        return lr


def _check_schedule(name, peak_lr, warmup):
    return (V.LEARNING_RATE.check(peak_lr, "peak_lr", name),
            V.WARMUP.check(warmup, "warmup", name))


class WarmupInverseSqrt(Schedule):
    """Linear warm-up to ``peak_lr`` over ``warmup`` steps, then decay as 1/sqrt(step):

    ``lr(s) = peak_lr * min(s / warmup, sqrt(warmup / s))`` (the original Transformer's
    schedule, with the peak given directly instead of through d_model).
    """

    def __init__(self, peak_lr, warmup):
        peak_lr, warmup = _check_schedule("WarmupInverseSqrt", peak_lr, warmup)
        self.peak_lr, self.warmup = peak_lr, warmup

    def __call__(self, step):
        s = max(int(step), 1)
        return self.peak_lr * min(s / self.warmup, math.sqrt(self.warmup / s))

    def __repr__(self):
        return f"WarmupInverseSqrt(peak_lr={self.peak_lr}, warmup={self.warmup})"


class WarmupCosine(Schedule):
    """Linear warm-up to ``peak_lr`` over ``warmup`` steps, then half a cosine down to
    ``min_lr`` at ``total_steps`` (and ``min_lr`` after that)."""

    def __init__(self, peak_lr, warmup, total_steps, min_lr=0.0):
        peak_lr, warmup = _check_schedule("WarmupCosine", peak_lr, warmup)
        total_steps = V.Range.integer(warmup + 1, None).check(
            total_steps, "total_steps (more than warmup)", "WarmupCosine")
        min_lr = V.Range.real(0.0, peak_lr).check(min_lr, "min_lr (at most peak_lr)", "WarmupCosine")
        self.peak_lr, self.warmup, self.total_steps, self.min_lr = peak_lr, warmup, total_steps, min_lr

    def __call__(self, step):
        s = max(int(step), 1)
        if s <= self.warmup:
            return self.peak_lr * s / self.warmup
        p = min((s - self.warmup) / (self.total_steps - self.warmup), 1.0)
        return self.min_lr + 0.5 * (self.peak_lr - self.min_lr) * (1.0 + math.cos(math.pi * p))

    def __repr__(self):
        return (f"WarmupCosine(peak_lr={self.peak_lr}, warmup={self.warmup}, "
                f"total_steps={self.total_steps}, min_lr={self.min_lr})")


SCHEDULES = ("constant", "inverse-sqrt", "cosine")
"""Names accepted by :func:`make_schedule` (and the CLI's ``--schedule``)."""


def make_schedule(name, peak_lr, warmup=1, total_steps=None):
    """A schedule by name: ``"constant"`` (None: the optimizer's lr stays), ``"inverse-sqrt"``
    (:class:`WarmupInverseSqrt`) or ``"cosine"`` (:class:`WarmupCosine`, needs total_steps)."""
    if name == "constant":
        return None
    if name == "inverse-sqrt":
        return WarmupInverseSqrt(peak_lr, warmup)
    if name == "cosine":
        if total_steps is None:
            raise ValueError("make_schedule: 'cosine' needs total_steps")
        return WarmupCosine(peak_lr, warmup, max(total_steps, warmup + 1))
    raise ValueError(f"make_schedule: unknown schedule {name!r}; expected one of {SCHEDULES}")
