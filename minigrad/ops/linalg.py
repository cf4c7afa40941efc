"""Matrix product, with numpy.matmul's rules for 1-D and batched operands."""
import math

import numpy as np

from .registry import Outer, primitive


def _mT(x):
    return x.swapaxes(-1, -2)


@primitive("matmul")
def matmul(a, b):
    """y = a @ b;  da = g @ b^T,  db = a^T @ g"""
    return np.matmul(a, b), (a, b)


@matmul.vjp
def matmul_vjp(g, saved, needs):
    a, b = saved
    # A 1-D operand is a row (a) or a column (b) whose axis the product dropped.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if b.ndim == 1:  # first: a 1-D @ 1-D product is 0-d, which only b's axis can be appended to
        g = g[..., None]
    if a.ndim == 1:
        g = g[..., None, :]
    da = db = None
    if needs[0]:
        da = np.matmul(g, _mT(b2))
        if a.ndim == 1:
            da = da[..., 0, :]
    if needs[1]:
        if a.ndim == 2 and b.ndim == 2:
            db = Outer(a, g)  # summed with other steps' products into one matmul by the engine
        else:
            db = np.matmul(_mT(a2), g)
            if b.ndim == 1:
                db = db[..., 0]
    return da, db


@primitive("linear")
def linear(x, w, b):
    """y = x @ w^T + b;  dx = g @ w,  dw = g^T @ x,  db = g"""
    y = np.matmul(x, w.T)
    if b is not None:
        if b.dtype == y.dtype and b.shape == y.shape[y.ndim - b.ndim :]:
            y += b  # in place: y is a new array, and b neither widens it nor changes its dtype
        else:
            y = y + b
    return y, (x, w)


@linear.vjp
def linear_vjp(g, saved, needs):
    x, w = saved
    dx = np.matmul(g, w) if needs[0] else None
    dw = None
    if needs[1]:
        rows_g = g
        if x.ndim != 2:  # a row per position of the leading axes (not -1: a size-0 axis leaves it undetermined)
            rows = math.prod(x.shape[:-1])
            rows_g, x = g.reshape(rows, g.shape[-1]), x.reshape(rows, x.shape[-1])
        dw = Outer(rows_g, x)
    return dx, dw, g if needs[2] else None
