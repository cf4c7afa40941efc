"""Feed-forward layers."""
import math

import numpy as np

from ..tensor import Tensor, default_rng
from . import functional as F
from .module import Module, Parameter, uniform


class Linear(Module):
    """y = x @ weight.T + bias, with weight (out, in) and torch's U(-1/sqrt(in), 1/sqrt(in)) initialisation."""

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = uniform((out_features, in_features), bound, rng, dtype)
        self.bias = uniform((out_features,), bound, rng, dtype) if bias else None

    def forward(self, x):
        """`x @ weight.T + bias` for `x` of shape (..., in_features)."""
        x = F.as_tensor(x, self.weight.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects an input with in_features={self.in_features} features in its last axis, "
                             f"got shape {x.shape}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        """The sizes shown in the repr: in_features, out_features, bias."""
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table: ``Embedding(vocab, dim)(ids)`` gives rows of ``weight`` (initialised N(0, 1))."""

    def __init__(self, num_embeddings, embedding_dim, rng=None, dtype=None):
        super().__init__()
        rng = default_rng() if rng is None else rng
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim)), dtype=dtype or np.float32)

    def forward(self, ids):
        """The rows of `weight` for integer `ids` of any shape: shape `ids.shape + (embedding_dim,)`."""
        ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding takes integer ids, got dtype {ids.dtype}")
        n = self.weight.shape[0]
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise ValueError(f"Embedding ids must lie in [0, num_embeddings={n}), got {ids.min()} .. {ids.max()}")
        return self.weight[ids]

    def extra_repr(self):
        """The sizes shown in the repr: num_embeddings, embedding_dim."""
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"


class Dropout(Module):
    """Zero each element with probability ``p`` in training (scaling the rest by 1/(1-p)); identity in eval."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p, self.rng = p, rng

    def forward(self, x):
        """`x` with elements zeroed with probability `p` in training mode; `x` itself in eval mode."""
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        """The probability shown in the repr: p."""
        return f"p={self.p}"


class ReLU(Module):
    """max(x, 0) as a Module, for Sequential."""

    def forward(self, x):
        """`max(x, 0)`, elementwise."""
        return x.relu()


class Tanh(Module):
    """tanh(x) as a Module, for Sequential."""

    def forward(self, x):
        """`tanh(x)`, elementwise."""
        return x.tanh()
