"""Losses and activations built from the primitives."""
import numpy as np

from ..tensor import Tensor, apply, default_rng
from ..engine import name_scope
from ..ops import linalg


def linear(x, weight, bias=None):
    """x @ weight^T + bias, as one op (torch's F.linear): the affine map W [h, x] + b of the tutorials."""
    return apply(linalg.linear, as_tensor(x, weight.dtype), weight, bias)


def as_tensor(x, dtype):
    """``x`` itself if it is a Tensor, else a new Tensor of ``dtype`` (inputs given as arrays or lists)."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(name, a, b):
    if a.shape != b.shape:
        raise ValueError(f"{name}: input shape {a.shape} and target shape {b.shape} differ; they must be equal")


def mse_loss(input, target, reduction="mean"):
    """mean((input - target)^2)."""
    target = as_tensor(target, input.dtype)
    _check_same_shape("mse_loss", input, target)
    with name_scope("mse_loss"):
        d = input - target
        return _reduce(d * d, reduction)


def log_softmax(x, axis=-1):
    """x - logsumexp(x): the log of softmax, computed stably."""
    return x - x.logsumexp(axis=axis, keepdims=True)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed stably."""
    return log_softmax(x, axis).exp()


def cross_entropy(logits, target, reduction="mean"):
    """-log softmax(logits)[target] for logits (N, C) and integer class targets (N,).

    Examples:
        >>> loss = cross_entropy(model(x), np.array([0, 2, 1]))
    """
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy targets are integer class indices, got dtype {t.dtype}; use .astype(int)")
    if logits.ndim != 2 or t.shape != logits.shape[:1]:
        raise ValueError(f"cross_entropy takes logits (N, C) and targets (N,), got {logits.shape} and {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= logits.shape[1]):
        raise ValueError(f"cross_entropy targets must lie in [0, {logits.shape[1]}), got {t.min()}..{t.max()}")
    with name_scope("cross_entropy"):
        picked = logits[np.arange(len(t)), t]
        return _reduce(logits.logsumexp(axis=1) - picked, reduction)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """-[z log sigmoid(x) + (1 - z) log(1 - sigmoid(x))], as max(x, 0) - x z + log(1 + exp(-|x|))."""
    target = as_tensor(target, logits.dtype)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    with name_scope("bce_with_logits"):
        absolute = logits.relu() + (-logits).relu()
        return _reduce(logits.relu() - logits * target + ((-absolute).exp() + 1).log(), reduction)


def dropout(x, p=0.5, training=True, rng=None):
    """Zero elements with probability ``p`` and scale the rest by 1/(1-p) (identity unless training)."""
    if not training or p == 0:
        return x
    rng = default_rng() if rng is None else rng
    keep = (rng.random(x.shape) >= p).astype(x.dtype) / x.dtype.type(1 - p)
    return x * keep
