"""Reductions: sum, mean, max, logsumexp."""
import numpy as np

from .registry import primitive


def _keep(g, axis, ndim, keepdims):
    """Give a reduced gradient back the reduced axes (as size 1), so it broadcasts against the input."""
    if keepdims or axis is None and g.ndim == ndim:
        return g
    if axis is None:
        return np.reshape(g, (1,) * ndim)
    return np.expand_dims(g, axis)


@primitive("sum")
def sum_(a, axis=None, keepdims=False):
    """y = sum(a, axis);  da = g broadcast to a.shape"""
    shape, ndim = a.shape, a.ndim
    return np.sum(a, axis=axis, keepdims=keepdims), lambda g: (np.broadcast_to(_keep(g, axis, ndim, keepdims), shape),)


@primitive("mean")
def mean(a, axis=None, keepdims=False):
    """y = mean(a, axis);  da = g broadcast to a.shape / n"""
    shape, ndim = a.shape, a.ndim
    y = np.mean(a, axis=axis, keepdims=keepdims)
    n = a.size // max(y.size, 1) or 1  # n = 0 only for an empty input, whose gradient is empty
    return y, lambda g: (np.broadcast_to(_keep(g, axis, ndim, keepdims) / n, shape),)


@primitive("max")
def max_(a, axis=None, keepdims=False):
    """y = max(a, axis);  da = g where a == y, shared equally between ties"""
    y = np.max(a, axis=axis, keepdims=keepdims)

    def vjp(g):
        hit = a == _keep(y, axis, a.ndim, keepdims)
        return (_keep(g, axis, a.ndim, keepdims) * hit / hit.sum(axis=axis, keepdims=True),)

    return y, vjp


@primitive("logsumexp")
def logsumexp(a, axis=None, keepdims=False):
    """y = log(sum(exp(a), axis));  da = g * exp(a - y)"""
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)  # an empty sum: log 0 = -inf, as torch
    m = np.where(np.isfinite(m), m, 0)
    y_kept = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    y = y_kept if keepdims else np.squeeze(y_kept, axis=axis)
    return y, lambda g: (_keep(g, axis, a.ndim, keepdims) * np.exp(a - y_kept),)
