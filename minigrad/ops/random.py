"""Random primitives, and the generator they (and minigrad's initialisers) draw from by default."""
import numpy as np

from .registry import primitive

_rng = [np.random.default_rng()]  # one slot, replaced by minigrad.manual_seed


def default_rng():
    """The generator used when none is given; ``minigrad.manual_seed`` replaces it."""
    return _rng[0]


def set_default_rng(rng):
    _rng[0] = rng


@primitive("dropout")
def dropout(a, p, rng=None):
    """y = a * keep / (1 - p), keep ~ Bernoulli(1 - p), drawn afresh each call;  da = g * keep / (1 - p)"""
    keep = (default_rng() if rng is None else rng).random(a.shape) >= p
    scaled = keep.astype(a.dtype) / a.dtype.type(1 - p)
    return a * scaled, scaled


@dropout.vjp
def dropout_vjp(g, scaled, needs):
    return (g * scaled,)
