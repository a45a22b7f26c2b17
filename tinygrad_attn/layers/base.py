"""The Layer base class: parameters and sub-layers registered by attribute assignment."""
from __future__ import annotations

import numpy as np

from ..backend import as_device, as_numpy, device_of
from ..core import Parameter, name_scope
from ..npzfile import CheckpointError, load_npz, save_npz

__all__ = ["Layer", "LayerList", "weight_problem"]


def weight_problem(name, shape, dtype, want_shape, source="state dict"):
    """What is wrong with an array of ``shape``/``dtype`` as the weight ``name``, or None.

    The one check of a stored weight's dtype and shape: checkpoint loading asks it with the
    file's array headers (before reading any data), :meth:`Layer.load_state_dict` with the
    arrays themselves. Weights must be real floating-point numbers of the parameter's shape.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or dtype.fields is not None:
        return f"{name}: dtype {dtype} in {source}; weights must be real floating-point numbers"
    if tuple(shape) != tuple(want_shape):
        return f"{name}: shape {tuple(shape)} in {source}, {tuple(want_shape)} in the model"
    return None


class Layer:
    """Base class of layers and models.

    Assigning a :class:`~tinygrad_attn.Parameter`, a Layer, or a list/tuple of Layers to an
    attribute registers it; :meth:`params` and :meth:`named_params` then find it.
    Calling a layer runs :meth:`forward` inside a name scope (the attribute name), so
    graph drawings can group the ops by layer.
    """

    def __init__(self):
        object.__setattr__(self, "_names", [])
        object.__setattr__(self, "_scope_name", type(self).__name__)

    def __setattr__(self, name, value):
        if "_names" not in self.__dict__:
            object.__setattr__(self, "_names", [])
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
            value = LayerList(value)
        if isinstance(value, (Parameter, Layer)):
            if name not in self._names:
                self._names.append(name)
            if isinstance(value, LayerList):  # items are called directly: scope "name/i"
                object.__setattr__(value, "_scope_name", name)
                for i, item in enumerate(value):
                    object.__setattr__(item, "_scope_name", f"{name}/{i}")
            elif isinstance(value, Layer):
                object.__setattr__(value, "_scope_name", name)
            if isinstance(value, Parameter) and value.name is None:
                value.name = name
        elif name in self._names:
            self._names.remove(name)
        object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        with name_scope(self._scope_name):
            return self.forward(*args, **kwargs)

    def scope(self):
        """The name scope a call of this layer runs in (its attribute name), as a context
        manager: for methods other than ``forward`` (e.g. one decoder step), so that graph
        drawings put their ops in the layer's cluster too."""
        return name_scope(self._scope_name)

    def forward(self, *args, **kwargs):
        """Compute the layer's output (override in subclasses)."""
        raise NotImplementedError

    # --- parameters
    def named_params(self, prefix=""):
        """Yield ``(qualified_name, Parameter)`` pairs, e.g. ``("encoder.lstm.Wx", p)``.

        A Parameter shared by several sub-layers is yielded once (first name wins).
        """
        seen = set()
        for name, p in self._named_params(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _named_params(self, prefix):
        for name in self._names:
            v = self.__dict__[name]
            full = f"{prefix}{name}"
            if isinstance(v, Parameter):
                yield full, v
            else:
                yield from v._named_params(full + ".")

    def params(self):
        """Yield every Parameter of this layer and its sub-layers (each once)."""
        for _, p in self.named_params():
            yield p

    def sublayers(self):
        """Yield the direct sub-layers."""
        for name in self._names:
            v = self.__dict__[name]
            if isinstance(v, Layer):
                yield v

    def cleargrads(self):
        """Set every parameter's ``grad`` to None."""
        for p in self.params():
            p.cleargrad()

    def num_params(self) -> int:
        """Total number of scalar parameters."""
        return sum(p.size for p in self.params())

    # --- devices
    def to_device(self, device: str):
        """Move every parameter (and any recurrent state) to ``device``; return self."""
        for p in self.params():
            p.to_device(device)
        self._move_state(device)
        for sub in self._all_layers():
            sub._move_state(device)
        return self

    def _all_layers(self):
        for sub in self.sublayers():
            yield sub
            yield from sub._all_layers()

    def _move_state(self, device):
        """Hook for layers that keep state (e.g. a stateful LSTM)."""

    def to_gpu(self):
        """Move to the GPU (CuPy); raises a clear error when CuPy or a device is missing."""
        return self.to_device("cuda")

    def to_cpu(self):
        """Move to the host (NumPy)."""
        return self.to_device("cpu")

    @property
    def device(self) -> str:
        """``"cpu"``, ``"cuda"`` or ``"strict"``: where the parameters live."""
        for p in self.params():
            return device_of(p.data)
        return "cpu"

    # --- weights on disk
    def state_dict(self):
        """Return ``{qualified_name: array}`` of all parameters (device arrays, not copies)."""
        return {name: p.data for name, p in self.named_params()}

    def load_state_dict(self, arrays, source: str = "state dict", *, atomic: bool = True):
        """Copy arrays into the parameters after checking all of them (all or nothing).

        Every array must be present, expected, of the parameter's shape, of a real floating
        dtype (no integers, bools, strings, complex, dates or records), and finite after
        conversion to the parameter's dtype. Nothing is copied until every check passed.

        Args:
            arrays: a mapping of names to arrays, or to
                :class:`~tinygrad_attn.npzfile.StoredArray` s (read one at a time).
            source: what the arrays are, for messages.
            atomic: True (the default): check every array before changing any parameter,
                so a failure leaves the layer exactly as it was; this holds a converted copy
                of every weight until the end. False: copy each array into its parameter as
                soon as it is checked, holding at most one array at a time; a failure then
                leaves the layer partly loaded, so use it only for a layer that is thrown
                away on failure (a model just built to receive a checkpoint).

        Raises:
            CheckpointError: naming missing keys, unexpected keys, shape mismatches, bad
                dtypes or NaN/Inf values; with ``atomic``, the layer is left unchanged.
        """
        if not hasattr(arrays, "keys") or not hasattr(arrays, "__getitem__"):
            raise CheckpointError(f"cannot load {source} into {type(self).__name__}: expected "
                                  f"a dict of arrays, got {type(arrays).__name__}")
        own = dict(self.named_params())
        missing = sorted(set(own) - set(arrays.keys()))
        unexpected = sorted(set(arrays.keys()) - set(own), key=str)
        problems = []
        if missing:
            problems.append(f"missing keys {missing}")
        if unexpected:
            problems.append(f"unexpected keys {unexpected}")
        for name, p in own.items():
            if name not in arrays:
                continue
            a = arrays[name]
            if getattr(a, "dtype", None) is None or not hasattr(a, "shape"):
                problems.append(f"{name}: not an array ({type(a).__name__})")
                continue
            problem = weight_problem(name, a.shape, a.dtype, p.shape, source)
            if problem:
                problems.append(problem)
        if problems:
            raise CheckpointError(f"cannot load {source} into {type(self).__name__}: "
                                  + "; ".join(problems))
        staged = []
        bad = []
        for name, p in own.items():
            a = arrays[name]
            with np.errstate(over="ignore", invalid="ignore"):  # reported below
                if not atomic and isinstance(p.data, np.ndarray) and p.data.flags.writeable:
                    np.copyto(p.data, a.read() if hasattr(a, "read") else as_numpy(a),
                              casting="unsafe")  # in place: no converted copy is kept
                    host = p.data
                else:
                    host = np.asarray(as_numpy(a) if not hasattr(a, "read") else a.read()
                                      ).astype(p.dtype, copy=True)
                finite = bool(np.isfinite(host).all())
            if not finite:
                conv = f" after conversion to {p.dtype}" if a.dtype != p.dtype else ""
                bad.append(f"{name} ({int(np.isnan(host).sum())} NaN, "
                           f"{int(np.isinf(host).sum())} Inf{conv})")
                if not atomic:
                    break
            if atomic:
                staged.append((p, host))
            elif host is not p.data:
                p.data = as_device(host, device_of(p.data))
        if bad:
            raise CheckpointError(f"cannot load {source} into {type(self).__name__}: non-finite "
                                  f"weights in {', '.join(bad)}; the file is damaged or comes "
                                  "from a run that diverged")
        moved = [(p, as_device(host, device_of(p.data))) for p, host in staged]
        for p, data in moved:
            p.data = data

    def save_weights(self, path, meta: dict | None = None):
        """Save all parameters to ``path`` (``.npz`` + JSON metadata, atomic, no pickle)."""
        save_npz(path, self.state_dict(), meta)

    def load_weights(self, path):
        """Load parameters saved by :meth:`save_weights`; returns the file's metadata.

        Raises:
            FileNotFoundError: no such file.
            CheckpointError: corrupt/truncated file, missing keys, or shape mismatch
                (the layer is then unchanged).
        """
        arrays, meta = load_npz(path)
        self.load_state_dict(arrays, source=str(path))
        return meta

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for sub in self._names:
            v = self.__dict__[sub]
            if isinstance(v, Layer):
                body = repr(v).replace("\n", "\n  ")
                lines.append(f"  ({sub}): {body}")
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        """Extra text inside the repr (sizes); override in subclasses."""
        return ""


class LayerList(Layer):
    """A list of layers, registered as ``"0"``, ``"1"``, ... (so names read ``layers.0.Wx``)."""

    def __init__(self, layers=()):
        super().__init__()
        object.__setattr__(self, "_items", [])
        for layer in layers:
            self.append(layer)

    def append(self, layer):
        """Add a layer at the end."""
        if not isinstance(layer, Layer):
            raise TypeError(f"LayerList holds Layers, got {type(layer).__name__}")
        setattr(self, str(len(self._items)), layer)
        self._items.append(layer)

    def __getitem__(self, i):
        return self._items[i]

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)
