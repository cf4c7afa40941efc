"""Elementwise primitives; NumPy broadcasts them, the engine unbroadcasts their gradients."""
import numpy as np

from .registry import primitive


class _Constant(dict):
    """``value`` as a read-only 0-d array per float dtype (float64 for other dtypes), made once: NumPy is slow
    with Python scalars on tiny arrays, and a dict lookup (``_HALF[a.dtype]``) is the cheapest way to get one."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        s = self[dtype] = np.array(self.value, dtype if dtype.kind == "f" else np.float64)
        s.flags.writeable = False
        return s


_HALF, _ONE = _Constant(0.5), _Constant(1)


@primitive("add")
def add(a, b):
    """y = a + b;  da = g,  db = g"""
    return a + b, None


@add.vjp
def add_vjp(g, saved, needs):
    return g, g


@primitive("sub")
def sub(a, b):
    """y = a - b;  da = g,  db = -g"""
    return a - b, None


@sub.vjp
def sub_vjp(g, saved, needs):
    return g, -g


@primitive("mul")
def mul(a, b):
    """y = a * b;  da = g * b,  db = g * a"""
    return a * b, (a, b)


@mul.vjp
def mul_vjp(g, saved, needs):
    a, b = saved
    return g * b if needs[0] else None, g * a if needs[1] else None


@primitive("div")
def div(a, b):
    """y = a / b;  da = g / b,  db = -g * y / b"""
    y = a / b
    return y, (b, y)


@div.vjp
def div_vjp(g, saved, needs):
    b, y = saved
    return g / b if needs[0] else None, -g * y / b if needs[1] else None


@primitive("pow")
def power(a, b):
    """y = a ** b;  da = g * b * a ** (b - 1) (0 where b = 0),  db = g * y * log(a) (0 where a = 0, b >= 0)"""
    y = a**b
    return y, (a, b, y)


@power.vjp
def power_vjp(g, saved, needs):
    a, b, y = saved
    with np.errstate(divide="ignore", invalid="ignore"):  # the 0 ** -1 and log(0) that where() discards
        da = g * np.where(b == 0, 0, b * a ** (b - 1)) if needs[0] else None
        db = g * np.where((a == 0) & (b >= 0), 0, y * np.log(a)) if needs[1] else None
    return da, db


@primitive("neg")
def neg(a):
    """y = -a;  da = -g"""
    return -a, None


@neg.vjp
def neg_vjp(g, saved, needs):
    return (-g,)


@primitive("exp")
def exp(a):
    """y = exp(a);  da = g * y"""
    y = np.exp(a)
    return y, y


@exp.vjp
def exp_vjp(g, y, needs):
    return (g * y,)


@primitive("log")
def log(a):
    """y = log(a);  da = g / a"""
    return np.log(a), a


@log.vjp
def log_vjp(g, a, needs):
    return (g / a,)


@primitive("sqrt")
def sqrt(a):
    """y = sqrt(a);  da = g / (2 y)"""
    y = np.sqrt(a)
    return y, y


@sqrt.vjp
def sqrt_vjp(g, y, needs):
    return (g / (2 * y),)


@primitive("tanh")
def tanh(a):
    """y = tanh(a);  da = g * (1 - y^2)"""
    y = np.tanh(a)
    return y, y


@tanh.vjp
def tanh_vjp(g, y, needs):
    return (g - g * y * y,)  # no Python scalar: NumPy's slow path for tiny arrays


@primitive("sigmoid")
def sigmoid(a):
    """y = 1 / (1 + exp(-a));  da = g * y * (1 - y)"""
    # Through tanh: no overflow for any |a|, and exactly 0 and 1 in the limits.  A 0-d half
    # of a's float dtype, because NumPy takes a slow path for Python scalars on tiny arrays.
    half = _HALF[a.dtype]
    y = np.tanh(a * half)
    y *= half
    y += half
    return y, y


@sigmoid.vjp
def sigmoid_vjp(g, y, needs):
    return (g * y * (_ONE[y.dtype] - y),)


@primitive("relu")
def relu(a):
    """y = max(a, 0);  da = g * (a > 0)"""
    return np.maximum(a, 0), a


@relu.vjp
def relu_vjp(g, a, needs):
    return (g * (a > 0),)


@primitive("cast")
def cast(a, dtype):
    """y = a as dtype;  da = g as a's dtype"""
    return a.astype(dtype), a.dtype


@cast.vjp
def cast_vjp(g, dtype, needs):
    return (g.astype(dtype),)
