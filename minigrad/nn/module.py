"""Module and Parameter: containers of weights with torch's state_dict conventions."""
from collections import namedtuple

import numpy as np

from ..engine import state, watch
from ..tensor import Tensor, as_array, default_rng


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates; it always requires grad.

    Examples:
        >>> w = Parameter(np.zeros((3, 2)))
    """

    __slots__ = ()

    def __init__(self, data, dtype=None, name=None):
        super().__init__(data, requires_grad=True, dtype=dtype, name=name)

    def __repr__(self):
        return "Parameter(" + super().__repr__() + ")"


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def uniform(shape, bound, rng, dtype):
    """U(-bound, bound) samples as a Parameter (torch's default for Linear and recurrent weights)."""
    rng = default_rng() if rng is None else rng
    return Parameter(rng.uniform(-bound, bound, size=shape), dtype=dtype or np.float32)


class Module:
    """Base class: Parameters and sub-Modules assigned as attributes are registered in assignment order.

    Examples:
        >>> class Affine(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = Parameter(np.ones((2, 2)))
        ...     def forward(self, x):
        ...         return x @ self.w
    """

    def __init__(self):
        self.training = True

    def forward(self, *args, **kwargs):
        """Compute the module's output; every subclass defines it, and calling the module runs it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if watch.count and state.trace is not None:
            state.trace.modules.append(self)  # compile keys its plan on the training flags of the modules it ran
        return self.forward(*args, **kwargs)

    def named_children(self):
        """(attribute name, Module) pairs of the direct sub-modules, in assignment order."""
        return [(k, v) for k, v in vars(self).items() if isinstance(v, Module)]

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) pairs, as torch names them: ``lstm.weight_ih_l0``."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")

    def parameters(self):
        """Every Parameter of the module and its sub-modules, in `named_parameters` order."""
        return [p for _, p in self.named_parameters()]

    def modules(self):
        """The module itself, then every sub-module, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def zero_grad(self):
        """Clear every parameter's `.grad` (set it to None)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Set training mode (dropout active) on this module and its sub-modules; returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        """Set evaluation mode (dropout off), as `train(False)`; returns self."""
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter to ``dtype`` in place (e.g. float64 for gradcheck); returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    def double(self):
        """Convert every parameter to float64 (for gradcheck); returns self."""
        return self.to(np.float64)

    def float(self):
        """Convert every parameter to float32; returns self."""
        return self.to(np.float32)

    def state_dict(self):
        """A dict of copies of every parameter's array, keyed by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or torch tensors) into the parameters, cast to each parameter's dtype.

        Every key and shape is checked first: on any problem nothing is changed and the
        error lists the missing, unexpected and mismatched keys.  With ``strict=False``
        missing and unexpected keys are allowed and returned.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        new, problems = {}, []
        for key, p in own.items():
            if key not in state_dict:
                continue
            try:
                value = as_array(np.asarray(state_dict[key]))
            except TypeError as e:
                problems.append(f"{key}: {e}")
                continue
            if value.shape != p.shape:
                problems.append(f"{key}: shape {value.shape} in the state_dict, {p.shape} in the model")
            else:
                new[key] = value.astype(p.dtype)
        if problems or (strict and (missing or unexpected)):
            lines = [f"load_state_dict into {type(self).__name__} failed; no parameter was changed."]
            if missing and strict:
                lines.append(f"Missing keys: {missing}")
            if unexpected and strict:
                lines.append(f"Unexpected keys: {unexpected}")
            if problems:
                lines.append("Mismatched: " + "; ".join(problems))
            lines.append("Keys of this model: " + ", ".join(own) + ". Pass strict=False to skip missing or extra keys.")
            raise ValueError("\n".join(lines))
        for key, value in new.items():
            own[key].data = value
        return IncompatibleKeys(missing, unexpected)

    def __repr__(self):
        lines = [f"({k}): " + repr(v).replace("\n", "\n  ") for k, v in self.named_children()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}({extra}\n  " + "\n  ".join(lines) + "\n)"

    def extra_repr(self):
        """The text inside the module's repr, after its name; subclasses add their sizes."""
        return ""


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules; argument {i} is {type(m).__name__}")
            setattr(self, str(i), m)

    def __getitem__(self, i):
        return [m for _, m in self.named_children()][i]

    def __len__(self):
        return len(self.named_children())

    def forward(self, x):
        """Apply each module in turn to `x`."""
        for _, m in self.named_children():
            x = m(x)
        return x
