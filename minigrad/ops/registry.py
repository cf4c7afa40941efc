"""The primitive registry: every built-in op is registered here once.

A primitive is two plain NumPy functions, written side by side:

- ``forward(*arrays, **params) -> (y, saved)`` computes the output array ``y``
  and returns, beside it, whatever its gradient will need (``saved``: an array,
  a tuple, or None);
- ``backward(g, saved, needs) -> grads`` maps the output's gradient ``g`` to one
  gradient per input (``None`` where an input needs none); ``needs[i]`` is true
  when input ``i`` wants a gradient.

Gradients may keep the broadcast shape; the engine reduces them with
`unbroadcast`.  No closure is made per call: eager mode keeps ``saved`` on
the graph node, and ``minigrad.compile`` keeps it in its replay plan.
"""
import inspect

import numpy as np

REGISTRY = {}


class Primitive:
    """A named op: its ``forward`` and ``backward`` functions (see the module docstring).

    >>> square = Primitive("square", lambda a: (a * a, a), lambda g, a, needs: (2 * g * a,))
    """

    __slots__ = ("name", "forward", "backward", "backward_into", "takes_needs")

    def __init__(self, name, forward, backward=None):
        self.name = name
        self.forward = forward
        self.backward = backward
        self.backward_into = None  # optional, for an op of one input whose backward returns a Scatter (`vjp_into`)
        # A forward that declares `needs` is told which inputs want a gradient (user Functions' ctx).
        self.takes_needs = forward is not None and "needs" in inspect.signature(forward).parameters

    def vjp(self, backward):
        """Decorator: register ``backward(g, saved, needs)`` as this op's vector-Jacobian product."""
        self.backward = backward
        return backward

    def vjp_into(self, backward_into):
        """Decorator: register ``backward_into(g, saved, buffer)``, which adds into ``buffer`` what ``backward``'s
        `Scatter` would add, without making it (compiled code calls it where a buffer already holds the sum)."""
        self.backward_into = backward_into
        return backward_into

    def __repr__(self):
        return f"<primitive {self.name}>"

    @property
    def doc(self):
        """The one-line math of the op's gradient."""
        return (self.forward.__doc__ or "").strip().splitlines()[0]


def primitive(name):
    """Register ``forward`` as the built-in primitive ``name``; give its backward with ``@op.vjp``.

    >>> @primitive("tanh")
    ... def tanh(a):
    ...     '''y = tanh(a);  da = g * (1 - y^2)'''
    ...     y = np.tanh(a)
    ...     return y, y
    >>> @tanh.vjp
    ... def tanh_vjp(g, y, needs):
    ...     return (g - g * y * y,)
    """

    def register(forward):
        if name in REGISTRY:
            raise ValueError(f"primitive {name!r} is registered twice")
        REGISTRY[name] = op = Primitive(name, forward)
        return op

    return register


def broadcast_axes(grad_shape, shape):
    """The axes `unbroadcast` sums over: (the leading axes broadcasting added, the axes it stretched from 1)."""
    extra = len(grad_shape) - len(shape)
    added = tuple(range(extra)) if extra > 0 else ()
    kept = grad_shape[max(extra, 0):]
    return added, tuple(i for i, n in enumerate(shape) if n == 1 and kept[i] != 1)


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``.

    Examples:
        >>> unbroadcast(np.ones((2, 3)), (3,))
        array([2., 2., 2.])
    """
    if grad.shape == shape:
        return grad
    added, stretched = broadcast_axes(grad.shape, shape)
    if added:
        grad = grad.sum(axis=added)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"a gradient of shape {grad.shape} cannot be reduced to its input's shape {shape}")
    return np.asarray(grad)


class Scatter:
    """A sparse gradient: zeros of the input's shape with ``value`` added at ``index``.

    Indexing returns this instead of a padded copy, so the engine can add the
    gradients of many slices of one tensor (an LSTM's time steps, its gates)
    into a single buffer.  ``how`` says how to add (see `scatter_kind`).
    """

    __slots__ = ("index", "value", "how")

    def __init__(self, index, value, how):
        self.index = index
        self.value = value
        self.how = how

    def add_to(self, buffer):
        if self.how == "view":
            view = buffer[self.index]  # basic indexing: a view, added into in one pass
            if type(view) is np.ndarray:
                view += self.value  # np.add(view, value, out=view), without the slow keyword
            else:  # one element (x[0] of a vector, x[()] of a 0-d array) is a NumPy scalar, not a view
                buffer[self.index] += self.value
        elif self.how == "repeats":
            np.add.at(buffer, self.index, self.value)  # an index may repeat: every copy adds
        else:
            buffer[self.index] += self.value  # boolean masks: no repeats

    def dense(self, shape, dtype):
        out = np.zeros(shape, dtype)
        self.add_to(out)
        return out


_BASIC = (int, slice, type(None), type(Ellipsis))


def scatter_kind(index):
    """How a gradient is added at ``index``: into a "view" (basic indexing), with "repeats" (integer arrays), or by "mask"."""
    items = index if type(index) is tuple else (index,)
    for i in items:
        if type(i) not in _BASIC:
            break
    else:
        return "view"
    if any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items):
        return "repeats"
    return "mask"


class Outer:
    """A weight gradient kept as a sum of products ``a_k^T @ g_k``, evaluated a few large matmuls at a time.

    Each time step's ``x_t @ W`` contributes ``x_t^T g_t`` to W's gradient; stacking the pairs
    and multiplying once (``[x_1; ...; x_T]^T [g_1; ...; g_T]``) is what a hand-written BPTT
    does, and far faster than T small products added one by one.  Once the pairs waiting hold
    ``FOLD_ROWS`` rows they are multiplied into a running sum, so memory stays bounded.
    """

    __slots__ = ("lefts", "rights", "rows", "total")
    FOLD_ROWS = 2048

    def __init__(self, left, right):
        self.lefts = [left]
        self.rights = [right]
        self.rows = len(left)
        self.total = None

    def extend(self, other):
        self.lefts += other.lefts
        self.rights += other.rights
        self.rows += other.rows
        if other.total is not None:
            self.total = other.total if self.total is None else self.total + other.total
        if self.rows >= self.FOLD_ROWS:
            self.total = self.dense()
            self.lefts, self.rights, self.rows = [], [], 0

    def dense(self):
        if len(self.lefts) == 1:
            product = self.lefts[0].T @ self.rights[0]
        elif self.lefts:
            product = np.concatenate(self.lefts).T @ np.concatenate(self.rights)
        else:
            return self.total
        return product if self.total is None else self.total + product


class Part:
    """The gradient of output ``k`` of a node with ``n`` outputs (a compiled call): kept in a list by the engine."""

    __slots__ = ("k", "n", "g")

    def __init__(self, k, n, g):
        self.k, self.n, self.g = k, n, g


def dense(grad, shape):
    """A gradient as a plain array of ``shape``: Scatters and Outers filled in, broadcast gradients reduced."""
    if isinstance(grad, Scatter):
        return grad.dense(shape, grad.value.dtype)
    if isinstance(grad, Outer):
        return grad.dense()
    return unbroadcast(np.asarray(grad), shape)
