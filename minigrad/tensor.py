"""The Tensor front end: a NumPy array plus what backward needs, and the factories.

Each operator method is one line that hands its arrays to a primitive through
`apply`; the primitives themselves live in `minigrad.ops`.
"""
import numbers
import operator

import numpy as np

from . import engine
from .engine import LeafNode, Node, state, watch
from .ops import elementwise as E
from .ops import linalg, random, reduce as R, shape as S

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype):
    """Set the float dtype that Python lists and scalars become (float32 unless changed)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"the default dtype must be a float dtype such as float32 or float64, got {dtype}")
    _default_dtype = dtype


def get_default_dtype():
    """The float dtype that Python lists and scalars become."""
    return _default_dtype


def manual_seed(seed):
    """Seed the generator behind ``randn`` and the ``nn`` initialisers.

    Examples:
        >>> minigrad.manual_seed(0)
    """
    random.set_default_rng(np.random.default_rng(seed))


def default_rng():
    """The generator that ``randn``, dropout and ``nn`` use when they are given no ``rng``."""
    return random.default_rng()


def get_rng_state():
    """The state of the generator behind ``randn``, the ``nn`` initialisers and dropout: 6 uint64 words.

    Examples:
        >>> state = minigrad.get_rng_state()
        >>> a = minigrad.randn(3)
        >>> minigrad.set_rng_state(state)
        >>> b = minigrad.randn(3)   # b equals a
    """
    s = default_rng().bit_generator.state
    words = divmod(s["state"]["state"], 2**64) + divmod(s["state"]["inc"], 2**64) + (s["has_uint32"], s["uinteger"])
    return np.array(words, dtype=np.uint64)


def set_rng_state(state):
    """Put the generator back in a state that `get_rng_state` returned.

    Examples:
        >>> minigrad.set_rng_state(checkpoint["rng"])
    """
    words = np.asarray(state)
    if words.shape != (6,) or words.dtype != np.uint64:
        raise ValueError(f"set_rng_state: expected the 6 uint64 words that get_rng_state returns, got an array of "
                         f"dtype {words.dtype} and shape {words.shape}")
    state_hi, state_lo, inc_hi, inc_lo, has_uint32, uinteger = (int(w) for w in words)
    if has_uint32 > 1 or uinteger >= 2**32 or inc_lo % 2 == 0:
        raise ValueError(f"set_rng_state: {words.tolist()} is not a state get_rng_state returns (damaged?)")
    default_rng().bit_generator.state = {
        "bit_generator": "PCG64", "state": {"state": state_hi << 64 | state_lo, "inc": inc_hi << 64 | inc_lo},
        "has_uint32": has_uint32, "uinteger": uinteger,
    }


def _check_numeric(array, what="data"):
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"minigrad tensors hold real numbers, but the {what} has dtype {array.dtype} "
            f"({type(array).__name__}); convert it first, e.g. np.asarray(x, dtype=np.float32)"
        )
    return array


def as_array(data, dtype=None):
    """``data`` as a numeric NumPy array; lists and Python scalars become the default float dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        dtype = _default_dtype
    try:
        array = _check_numeric(np.asarray(data))
    except ValueError as e:  # ragged nested lists
        raise TypeError(f"cannot make a tensor from this {type(data).__name__}: {e}") from None
    return np.array(array, dtype=dtype)


def _operand(x):
    """The other operand of a binary op: a Tensor, a Python number (keeps the Tensor's dtype), or an array."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, numbers.Number) and not isinstance(x, complex):
        return x
    if isinstance(x, np.ndarray):
        return _check_numeric(x, "operand")
    return as_array(x)


def apply(op, *args, **params):
    """Run primitive ``op`` on the arrays of ``args`` and record it when a gradient is wanted."""
    arrays, parents, track = [], [], False
    for a in args:  # one plain loop: the hottest lines of the library
        if isinstance(a, Tensor):
            arrays.append(a.data)
            if a.requires_grad:
                parents.append(a._node or a._graph_node())
                track = True
                continue
        else:
            arrays.append(a)
        parents.append(None)
    track = track and state.grad_enabled
    if op.takes_needs:
        params["needs"] = [p is not None for p in parents] if track else [False] * len(args)
    try:
        y, saved = op.forward(*arrays, **params)
    except ValueError as e:
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise ValueError(f"{op.name}: inputs of shapes {shapes} do not fit: {e}") from None
    params.pop("needs", None)
    out = _recorded(op, saved, tuple(parents), y, arrays, params) if track else Tensor._wrap(y)
    if watch.count and state.trace is not None:
        state.trace.record(op, args, params, out)
    return out


def apply_unary(op, a, **params):
    """``apply(op, a, **params)`` for one Tensor, without the general loop: activations and indexing are hot."""
    y, saved = op.forward(a.data, **params) if params else op.forward(a.data)
    if a.requires_grad and state.grad_enabled:
        out = _recorded(op, saved, (a._node or a._graph_node(),), y, [a.data], params)
    else:
        out = Tensor._wrap(y)
    if watch.count and state.trace is not None:
        state.trace.record(op, (a,), params, out)
    return out


def apply_binary(op, a, b):
    """``apply(op, a, b)`` for a Tensor and another operand; two Tensors skip the general loop (arithmetic is hot)."""
    if not isinstance(b, Tensor):
        return apply(op, a, _operand(b))
    try:
        y, saved = op.forward(a.data, b.data)
    except ValueError:
        return apply(op, a, b)  # the general path raises the error that names the shapes
    if (a.requires_grad or b.requires_grad) and state.grad_enabled:
        parents = (a._node or a._graph_node() if a.requires_grad else None,
                   b._node or b._graph_node() if b.requires_grad else None)
        out = _recorded(op, saved, parents, y, [a.data, b.data], {})
    else:
        out = Tensor._wrap(y)
    if watch.count and state.trace is not None:
        state.trace.record(op, (a, b), {}, out)
    return out


def _recorded(op, saved, parents, y, arrays, params):
    """The output Tensor of an op recorded for backward (its arrays kept under ``keep_values``)."""
    out = Tensor.__new__(Tensor)
    out.data = y if type(y) is np.ndarray else np.asarray(y)
    out.grad, out._name, out.requires_grad = None, None, True
    out._node = node = Node(op, saved, parents, out.data)
    if watch.count and state.keep_values:
        node.values = (arrays, params, out.data)
    return out


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode gradients.

    Examples:
        >>> x = minigrad.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "_name", "_node", "__weakref__")
    __array_ufunc__ = None  # NumPy defers to our reflected operators: np.ones(3) + t is a Tensor

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = as_array(data, dtype)
        self.grad = None
        self._node = None
        self._name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()
        if watch.count and state.trace is not None:
            state.trace.created(self, data)

    def requires_grad_(self, requires_grad=True):
        """Make this leaf require (or stop requiring) a gradient; returns self."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only float tensors can require grad, this one is {self.data.dtype}; "
                "convert it first, e.g. minigrad.tensor(x, dtype=np.float64)"
            )
        if not self.is_leaf:
            raise RuntimeError("requires_grad can only be changed on a leaf tensor; use .detach() for a non-leaf")
        self.requires_grad = requires_grad
        return self

    def _graph_node(self):
        node = self._node
        if node is None:
            node = self._node = LeafNode(self)
        return node

    # -- what it is --------------------------------------------------------------------
    @property
    def name(self):
        """A label for drawings and gradcheck reports (None unless given)."""
        return self._name

    @name.setter
    def name(self, value):
        self._name = value
        if self._node is not None and self._node.tensor is None:
            self._node.name = value  # an op's output: the drawing reads the name from the graph

    shape = property(lambda self: self.data.shape, doc="The shape, as a tuple.")
    ndim = property(lambda self: self.data.ndim, doc="The number of dimensions.")
    dtype = property(lambda self: self.data.dtype, doc="The NumPy dtype.")
    size = property(lambda self: self.data.size, doc="The number of elements.")

    @property
    def is_leaf(self):
        """True unless the tensor was computed by a recorded op."""
        return self._node is None or self._node.tensor is self

    @property
    def op(self):
        """The name of the op that computed this tensor, or None for a leaf."""
        return None if self.is_leaf else self._node.op.name

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis; use .size or .item()")
        return len(self.data)

    def __iter__(self):
        """The rows (items along the first axis), as tensors that carry the gradient back."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor: it has no first axis; use .item()")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous: "
                "use t.data.any() or t.data.all(), or item() for a single element"
            )
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = "" if self.data.dtype == _default_dtype else f", dtype={self.data.dtype}"
        if self.requires_grad:
            extra += ", requires_grad=True" if self.is_leaf else f", op={self.op}"
        return f"tensor({body}{extra})"

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self):
        """The underlying NumPy array (shared, not copied)."""
        return self.data

    def tolist(self):
        """The values as nested Python lists."""
        return self.data.tolist()

    def detach(self):
        """A tensor sharing this one's data, cut off from the graph."""
        out = Tensor._wrap(self.data)
        if watch.count and state.trace is not None:
            state.trace.detached(out, self)
        return out

    def astype(self, dtype):
        """A copy with another dtype; gradients flow back in this tensor's dtype."""
        return apply(E.cast, self, dtype=np.dtype(dtype))

    def float(self):
        """A float32 copy (gradients flow back)."""
        return self.astype(np.float32)

    def double(self):
        """A float64 copy (gradients flow back), e.g. for gradcheck."""
        return self.astype(np.float64)

    @staticmethod
    def _wrap(array):
        t = Tensor.__new__(Tensor)
        t.data = array if type(array) is np.ndarray else np.asarray(array)
        t.grad, t._name, t._node, t.requires_grad = None, None, None, False
        return t

    # -- gradients ---------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Add d(self)/d(leaf) . grad into every leaf's ``.grad`` (``grad`` defaults to 1 for a scalar)."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input of the ops that made it had "
                "requires_grad=True (or it was made under no_grad). Create the inputs with requires_grad=True."
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a grad works on a single-element tensor, this one has shape {self.shape}: "
                    "reduce it first (y.sum().backward()) or pass grad= an array of that shape"
                )
            grad = np.ones_like(self.data)
        else:
            if not (type(grad) is np.ndarray and grad.dtype == self.data.dtype):
                grad = as_array(grad, self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(grad=...) needs a grad of the tensor's shape {self.shape}, got {grad.shape}")
        engine.run_backward(self._graph_node(), grad, retain_graph)

    def zero_grad(self):
        """Forget the accumulated gradient (set ``.grad`` to None)."""
        self.grad = None

    # -- arithmetic --------------------------------------------------------------------
    def __add__(self, other):
        return apply_binary(E.add, self, other)

    def __radd__(self, other):
        return apply(E.add, _operand(other), self)

    def __sub__(self, other):
        return apply_binary(E.sub, self, other)

    def __rsub__(self, other):
        return apply(E.sub, _operand(other), self)

    def __mul__(self, other):
        return apply_binary(E.mul, self, other)

    def __rmul__(self, other):
        return apply(E.mul, _operand(other), self)

    def __truediv__(self, other):
        return apply_binary(E.div, self, other)

    def __rtruediv__(self, other):
        return apply(E.div, _operand(other), self)

    def __pow__(self, other):
        return apply(E.power, self, other if isinstance(other, Tensor) else _operand(other))

    def __rpow__(self, other):
        return apply(E.power, _operand(other), self)

    def __neg__(self):
        return apply_unary(E.neg, self)

    def __matmul__(self, other):
        return apply(linalg.matmul, self, other if isinstance(other, Tensor) else _operand(other))

    def __rmatmul__(self, other):
        return apply(linalg.matmul, _operand(other), self)

    def exp(self):
        """e ** self, elementwise."""
        return apply_unary(E.exp, self)

    def log(self):
        """The natural logarithm, elementwise."""
        return apply_unary(E.log, self)

    def sqrt(self):
        """The square root, elementwise."""
        return apply_unary(E.sqrt, self)

    def tanh(self):
        """The hyperbolic tangent, elementwise (stable for any input)."""
        return apply_unary(E.tanh, self)

    def sigmoid(self):
        """1 / (1 + exp(-self)), elementwise, without overflow for any input."""
        return apply_unary(E.sigmoid, self)

    def relu(self):
        """max(self, 0), elementwise."""
        return apply_unary(E.relu, self)

    # -- shape -------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same elements in another shape (one -1 is inferred): ``t.reshape(2, -1)``."""
        return apply(S.reshape, self, shape=_shape_arg(shape))

    def transpose(self, *axes):
        """Permute the axes (reverse them when none are given), as numpy.transpose."""
        return apply(S.transpose, self, axes=_shape_arg(axes) if axes else None)

    T = property(lambda self: self.transpose(), doc="The axes reversed.")

    def __getitem__(self, index):
        return apply_unary(S.getitem, self, index=_index_arg(index))

    def chunk(self, chunks, axis=0):
        """Split into ``chunks`` pieces along ``axis`` (the last may be smaller, or fewer pieces), as torch.chunk."""
        if not isinstance(chunks, numbers.Integral) or chunks < 1:
            raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
        n = self.shape[_axis_index(axis, self.ndim, "chunk")]
        step = -(-n // chunks)
        return split(self, list(range(step, n, step)) if n else [0] * (chunks - 1), axis)  # torch: empty pieces

    # -- reductions --------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        """The sum over ``axis`` (all axes when None)."""
        return apply(R.sum_, self, axis=_axis_arg(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """The mean over ``axis`` (all axes when None)."""
        return apply(R.mean, self, axis=_axis_arg(axis, self.ndim), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        """The maximum over ``axis``; tied maxima share the gradient equally."""
        return apply(R.max_, self, axis=_axis_arg(axis, self.ndim), keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(self), axis)), computed without overflow."""
        return apply(R.logsumexp, self, axis=_axis_arg(axis, self.ndim), keepdims=keepdims)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(operator.index(n) for n in shape)


def _axis_index(axis, ndim, what):
    """``axis`` as an index in [0, ndim), or an error that names it."""
    if ndim == 0:
        raise ValueError(f"{what}: a 0-d tensor has no axis to cut along; reshape it to 1-d first")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a tensor with {ndim} dimensions "
                         f"(use -{ndim} .. {ndim - 1})")
    return axis % ndim


def _axis_arg(axis, ndim):
    if ndim == 0 and (axis == 0 or axis == -1):  # a 0-d tensor's only "axis", as torch and numpy.sum allow
        return None
    return tuple(axis) if isinstance(axis, list) else axis


def _index_arg(index):
    """Tensors and lists inside an index become NumPy arrays."""
    if type(index) is tuple:
        for i in index:
            if isinstance(i, (Tensor, list)):
                return tuple(_index_arg(i) for i in index)
        return index
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index) if index else np.zeros(0, np.intp)  # x[[]] selects nothing, as in NumPy
    return index


def _tensors(tensors, what):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{what} needs at least one tensor")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]


# -- functions ---------------------------------------------------------------------------
def matmul(a, b):
    """The matrix product ``a @ b``, with numpy.matmul's rules for 1-D and batched operands."""
    return apply(linalg.matmul, _operand(a), _operand(b))


def concat(tensors, axis=0):
    """Join tensors along an existing axis: ``concat([h, x], axis=1)``."""
    return apply(S.concat, *_tensors(tensors, "concat"), axis=axis)


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis: ``stack(hs)`` has shape (T, *h.shape)."""
    return apply(S.stack, *_tensors(tensors, "stack"), axis=axis)


def split(tensor, sections_or_indices, axis=0):
    """Cut a tensor into equal ``sections`` or at ``indices`` along ``axis``, as numpy.split.

    Examples:
        >>> i, f = minigrad.split(gates, 2, axis=1)
    """
    n = tensor.shape[_axis_index(axis, tensor.ndim, "split")]
    if isinstance(sections_or_indices, numbers.Integral):
        if sections_or_indices <= 0 or n % sections_or_indices:
            raise ValueError(
                f"split: axis {axis} of length {n} does not divide into {sections_or_indices} equal sections; "
                "pass a list of indices instead"
            )
        step = n // sections_or_indices
        cuts = [step * k for k in range(1, sections_or_indices)]
    else:
        cuts = [operator.index(i) for i in sections_or_indices]
    bounds = [0, *cuts, n]
    lead = (slice(None),) * _axis_index(axis, tensor.ndim, "split")
    return [tensor[lead + (slice(a, b),)] for a, b in zip(bounds, bounds[1:])]


def _unary(op):
    def f(x):
        return apply(op, x if isinstance(x, Tensor) else Tensor(x))

    f.__name__ = op.name
    f.__doc__ = f"``{op.name}`` elementwise; {op.doc}"
    return f


exp, log, sqrt, tanh, sigmoid, relu = (_unary(op) for op in (E.exp, E.log, E.sqrt, E.tanh, E.sigmoid, E.relu))


def grad(output, inputs, grad_output=None, retain_graph=False):
    """d(output)/d(input) for each of ``inputs`` (leaves or intermediate tensors), as arrays.

    Like torch.autograd.grad: nothing is accumulated into any ``.grad``.  An input that
    ``output`` does not depend on gets zeros (torch: ``allow_unused=True, materialize_grads=True``).
    ``inputs`` may be one tensor; the answer is always a list of new arrays, one per input.

    Examples:
        >>> gs = minigrad.grad(loss, hidden_states)     # ||d loss / d h_t|| for every t
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for k, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs[{k}] is a {type(t).__name__}; pass the Tensors to differentiate by")
        if not t.requires_grad:
            raise ValueError(f"grad(): inputs[{k}] does not require grad, so nothing flows to it; "
                             "create it with requires_grad=True or leave it out")
    if not output.requires_grad:
        raise RuntimeError("grad(): the output does not require grad, so it has no gradient with respect to anything")
    if grad_output is None:
        if output.size != 1:
            raise RuntimeError(f"grad() of an output of shape {output.shape} needs grad_output of that shape")
        grad_output = np.ones_like(output.data)
    grad_output = as_array(grad_output, output.dtype)
    if grad_output.shape != output.shape:
        raise ValueError(f"grad(): grad_output has shape {grad_output.shape}, the output {output.shape}; they must match")
    wanted = {}
    for k, t in enumerate(inputs):
        wanted.setdefault(id(t._graph_node()), []).append(k)
    found = [np.zeros_like(t.data) for t in inputs]

    def capture(node, g):
        for k in wanted.get(id(node), ()):
            found[k] = np.array(g, dtype=inputs[k].dtype)  # a copy: g may be a read-only view the engine shares

    engine.run_backward(output._graph_node(), grad_output, retain_graph, False, capture)
    return found


# -- factories ---------------------------------------------------------------------------
def tensor(data, requires_grad=False, dtype=None, name=None):
    """A new tensor holding a copy of ``data``: ``minigrad.tensor([1.0, 2.0], requires_grad=True)``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def _filled(fill, shape, dtype, requires_grad):
    dtype = _default_dtype if dtype is None else dtype
    return Tensor(np.full(_shape_arg(shape), fill, dtype=dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _filled(0, shape, dtype, requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _filled(1, shape, dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros of ``t``'s shape and dtype."""
    return Tensor(np.zeros_like(as_array(t), dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones of ``t``'s shape and dtype."""
    return Tensor(np.ones_like(as_array(t), dtype=dtype), requires_grad=requires_grad)


def randn(*shape, rng=None, dtype=None, requires_grad=False):
    """Standard normal samples: ``randn(2, 3, rng=np.random.default_rng(0))``."""
    rng = default_rng() if rng is None else rng
    dtype = _default_dtype if dtype is None else dtype
    return Tensor(rng.standard_normal(_shape_arg(shape)).astype(dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop): integers give int64, floats the default float dtype."""
    if stop is None:
        start, stop = 0, start
    if dtype is None and not all(isinstance(v, numbers.Integral) for v in (start, stop, step)):
        dtype = _default_dtype
    return Tensor(np.arange(start, stop, step, dtype=dtype), requires_grad=requires_grad)
