"""Primitives that move elements without changing them: reshape, transpose, indexing, concat, stack."""
import numpy as np

from .registry import Scatter, primitive, scatter_kind


@primitive("reshape")
def reshape(a, shape):
    """y = a.reshape(shape);  da = g.reshape(a.shape)"""
    return a.reshape(shape), a.shape


@reshape.vjp
def reshape_vjp(g, shape, needs):
    return (g.reshape(shape),)


@primitive("transpose")
def transpose(a, axes):
    """y = a.transpose(axes);  da = g.transpose(inverse(axes))"""
    y = a.transpose(axes)  # NumPy checks the axes
    return y, None if axes is None else tuple(np.argsort([i % a.ndim for i in axes]))


@transpose.vjp
def transpose_vjp(g, inverse, needs):
    return (g.transpose(inverse),)


@primitive("getitem")
def getitem(a, index):
    """y = a[index];  da = zeros_like(a) with g added at [index]"""
    return a[index], (index, scatter_kind(index))


@getitem.vjp
def getitem_vjp(g, saved, needs):
    index, how = saved
    return (Scatter(index, g, how),)


@getitem.vjp_into
def getitem_vjp_into(g, saved, buffer):
    index, how = saved
    if how == "view":
        view = buffer[index]
        if type(view) is np.ndarray:
            view += g  # what Scatter.add_to does for a view
            return
    Scatter(index, g, how).add_to(buffer)


@primitive("concat")
def concat(*arrays, axis):
    """y = concatenate(arrays, axis);  d(arrays) = split(g) at the pieces' boundaries"""
    y = np.concatenate(arrays, axis=axis)  # NumPy checks the axis
    return y, (np.cumsum([x.shape[axis] for x in arrays[:-1]]), axis)


@concat.vjp
def concat_vjp(g, saved, needs):
    cuts, axis = saved
    return tuple(np.split(g, cuts, axis=axis))


@primitive("stack")
def stack(*arrays, axis):
    """y = stack(arrays, axis);  d(arrays)[k] = g.take(k, axis)"""
    return np.stack(arrays, axis=axis), axis


@stack.vjp
def stack_vjp(g, axis, needs):
    return tuple(np.moveaxis(g, axis, 0))
