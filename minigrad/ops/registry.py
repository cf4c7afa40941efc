"""The primitive registry: every built-in op is registered here once.

A primitive is a NumPy function ``forward(*arrays, **params) -> (y, vjp)``:
it computes the output array ``y`` and returns, beside it, the closure
``vjp(g)`` that maps the output's gradient ``g`` to one gradient per input
(``None`` where an input needs none).  Gradients may keep the broadcast
shape; the engine reduces them with :func:`unbroadcast`.
"""
import inspect

import numpy as np

REGISTRY = {}


class Primitive:
    """A named op: its forward-and-vjp function and what it tells the engine."""

    __slots__ = ("name", "forward", "takes_needs")

    def __init__(self, name, forward):
        self.name = name
        self.forward = forward
        # An op that declares `needs` is told which inputs want a gradient,
        # so it can skip expensive ones (matmul) or ill-defined ones (pow).
        self.takes_needs = "needs" in inspect.signature(forward).parameters

    def __repr__(self):
        return f"<primitive {self.name}>"

    @property
    def doc(self):
        """The one-line math of the op's gradient."""
        return (self.forward.__doc__ or "").strip().splitlines()[0]


def primitive(name):
    """Register ``forward`` as the built-in primitive ``name``."""

    def register(forward):
        if name in REGISTRY:
            raise ValueError(f"primitive {name!r} is registered twice")
        REGISTRY[name] = op = Primitive(name, forward)
        return op

    return register


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``.

    >>> unbroadcast(np.ones((2, 3)), (3,))
    array([2., 2., 2.])
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"a gradient of shape {grad.shape} cannot be reduced to its input's shape {shape}")
    return np.asarray(grad)
