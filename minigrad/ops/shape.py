"""Primitives that move elements without changing them: reshape, transpose, indexing, concat, stack."""
import numpy as np

from .registry import primitive


@primitive("reshape")
def reshape(a, shape):
    """y = a.reshape(shape);  da = g.reshape(a.shape)"""
    return a.reshape(shape), lambda g: (g.reshape(a.shape),)


@primitive("transpose")
def transpose(a, axes):
    """y = a.transpose(axes);  da = g.transpose(inverse(axes))"""
    inverse = None if axes is None else tuple(np.argsort(axes))
    return a.transpose(axes), lambda g: (g.transpose(inverse),)


def _is_basic(index):
    """True when `index` holds only ints, slices, None and Ellipsis (a view, no repeats)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items)


def _has_int_array(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items)


@primitive("getitem")
def getitem(a, index):
    """y = a[index];  da = zeros_like(a) with g added at [index]"""
    shape, dtype = a.shape, a.dtype

    def vjp(g):
        da = np.zeros(shape, np.result_type(dtype, g.dtype))
        if _has_int_array(index):
            np.add.at(da, index, g)  # an index may repeat: every copy adds its gradient
        else:
            da[index] = g
        return (da,)

    return a[index], vjp


@primitive("concat")
def concat(*arrays, axis):
    """y = concatenate(arrays, axis);  d(arrays) = split(g) at the pieces' boundaries"""
    cuts = np.cumsum([x.shape[axis] for x in arrays[:-1]])
    return np.concatenate(arrays, axis=axis), lambda g: tuple(np.split(g, cuts, axis=axis))


@primitive("stack")
def stack(*arrays, axis):
    """y = stack(arrays, axis);  d(arrays)[k] = g.take(k, axis)"""
    return np.stack(arrays, axis=axis), lambda g: tuple(np.moveaxis(g, axis, 0))
