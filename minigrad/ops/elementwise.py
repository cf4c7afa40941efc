"""Elementwise primitives; NumPy broadcasts them, the engine unbroadcasts their gradients."""
import numpy as np

from .registry import primitive


@primitive("add")
def add(a, b):
    """y = a + b;  da = g,  db = g"""
    return a + b, lambda g: (g, g)


@primitive("sub")
def sub(a, b):
    """y = a - b;  da = g,  db = -g"""
    return a - b, lambda g: (g, -g)


@primitive("mul")
def mul(a, b):
    """y = a * b;  da = g * b,  db = g * a"""
    return a * b, lambda g: (g * b, g * a)


@primitive("div")
def div(a, b):
    """y = a / b;  da = g / b,  db = -g * y / b"""
    y = a / b
    return y, lambda g: (g / b, -g * y / b)


@primitive("pow")
def power(a, b, needs):
    """y = a ** b;  da = g * b * a ** (b - 1) (0 where b = 0),  db = g * y * log(a) (0 where a = 0, b >= 0)"""
    y = a**b

    def vjp(g):
        with np.errstate(divide="ignore", invalid="ignore"):  # the 0 ** -1 and log(0) that where() discards
            da = g * np.where(b == 0, 0, b * a ** (b - 1)) if needs[0] else None
            db = g * np.where((a == 0) & (b >= 0), 0, y * np.log(a)) if needs[1] else None
        return da, db

    return y, vjp


@primitive("neg")
def neg(a):
    """y = -a;  da = -g"""
    return -a, lambda g: (-g,)


@primitive("exp")
def exp(a):
    """y = exp(a);  da = g * y"""
    y = np.exp(a)
    return y, lambda g: (g * y,)


@primitive("log")
def log(a):
    """y = log(a);  da = g / a"""
    return np.log(a), lambda g: (g / a,)


@primitive("sqrt")
def sqrt(a):
    """y = sqrt(a);  da = g / (2 y)"""
    y = np.sqrt(a)
    return y, lambda g: (g / (2 * y),)


@primitive("tanh")
def tanh(a):
    """y = tanh(a);  da = g * (1 - y^2)"""
    y = np.tanh(a)
    return y, lambda g: (g - g * y * y,)  # no Python scalar: NumPy's slow path for tiny arrays


@primitive("sigmoid")
def sigmoid(a):
    """y = 1 / (1 + exp(-a));  da = g * y * (1 - y)"""
    # Through tanh: no overflow for any |a|, and exactly 0 and 1 in the limits.  A 0-d half
    # of a's float dtype, because NumPy takes a slow path for Python scalars on tiny arrays.
    half = np.array(0.5, a.dtype if a.dtype.kind == "f" else np.float64)
    y = np.tanh(a * half)
    y *= half
    y += half
    return y, lambda g: (g * y * (1 - y),)


@primitive("relu")
def relu(a):
    """y = max(a, 0);  da = g * (a > 0)"""
    return np.maximum(a, 0), lambda g: (g * (a > 0),)


@primitive("cast")
def cast(a, dtype):
    """y = a as dtype;  da = g as a's dtype"""
    return a.astype(dtype), lambda g: (g.astype(a.dtype),)
