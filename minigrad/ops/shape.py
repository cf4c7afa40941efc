"""Primitives that move elements without changing them: reshape, transpose, indexing, concat, stack."""
import numpy as np

from .registry import Scatter, primitive, scatter_kind


@primitive("reshape")
def reshape(a, shape):
    """y = a.reshape(shape);  da = g.reshape(a.shape)"""
    return a.reshape(shape), lambda g: (g.reshape(a.shape),)


@primitive("transpose")
def transpose(a, axes):
    """y = a.transpose(axes);  da = g.transpose(inverse(axes))"""
    y = a.transpose(axes)  # NumPy checks the axes
    inverse = None if axes is None else tuple(np.argsort([i % a.ndim for i in axes]))
    return y, lambda g: (g.transpose(inverse),)


@primitive("getitem")
def getitem(a, index):
    """y = a[index];  da = zeros_like(a) with g added at [index]"""
    how = scatter_kind(index)
    return a[index], lambda g: (Scatter(index, g, how),)


@primitive("concat")
def concat(*arrays, axis):
    """y = concatenate(arrays, axis);  d(arrays) = split(g) at the pieces' boundaries"""
    y = np.concatenate(arrays, axis=axis)  # NumPy checks the axis
    cuts = np.cumsum([x.shape[axis] for x in arrays[:-1]])
    return y, lambda g: tuple(np.split(g, cuts, axis=axis))


@primitive("stack")
def stack(*arrays, axis):
    """y = stack(arrays, axis);  d(arrays)[k] = g.take(k, axis)"""
    return np.stack(arrays, axis=axis), lambda g: tuple(np.moveaxis(g, axis, 0))
