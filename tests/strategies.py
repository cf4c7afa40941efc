"""The input space, as Hypothesis strategies: every test that draws inputs draws them from here.

Shapes reach 0-d, size-0 dimensions and 4-d; indices cover every kind NumPy accepts; values
come from a drawn seed (so examples shrink on shape and index, not on thousands of floats),
except where a strategy asks for the special values (0, 1, -1) that break naive formulas.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, basic_indices, mutually_broadcastable_shapes

seeds = st.integers(0, 2**16)


def shapes(min_dims=0, max_dims=4, min_side=0, max_side=3):
    """Array shapes from 0-d to 4-d, size-0 dimensions included."""
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def nonempty_shapes(min_dims=0, max_dims=4):
    return shapes(min_dims, max_dims, min_side=1)


def broadcast_pairs(min_side=0):
    """Two shapes that broadcast together (0-d and size-0 dimensions included)."""
    return mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=min_side, max_side=3).map(
        lambda s: s.input_shapes)


def values(shape, seed, domain="real", dtype=np.float64):
    """Values of ``shape`` for a domain: "real" N(0, 1), "positive" in [0.5, 2], "nonzero" |x| in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    if domain == "real":
        x = rng.standard_normal(shape)
    else:
        x = rng.uniform(0.5, 2.0, size=shape)
        if domain == "nonzero":
            x *= rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(x, dtype=dtype)


@st.composite
def arrays(draw, shape=None, domain="real", dtype=np.float64):
    """A float array of a drawn (or given) shape; ``domain`` as in :func:`values`."""
    shape = draw(shapes()) if shape is None else shape
    return values(shape, draw(seeds), domain, dtype)


@st.composite
def special_arrays(draw, shape=None, specials=(0.0, 1.0, -1.0, 2.0, 0.5)):
    """Arrays whose elements are special values (0, 1, -1 ...): where pow, log, relu and max have edge cases."""
    shape = draw(shapes(max_dims=2)) if shape is None else shape
    flat = draw(st.lists(st.sampled_from(specials), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(flat, dtype=np.float64).reshape(shape)


float_dtypes = st.sampled_from([np.float32, np.float64])


def scalars():
    """The other operand of a binary op as a number: Python int/float or a NumPy scalar."""
    return st.one_of(
        st.integers(-3, 3),
        st.floats(-3, 3, allow_nan=False, width=32).filter(lambda v: abs(v) > 0.1),
        st.sampled_from([np.float32(1.5), np.float64(-0.75), np.int64(2), np.int32(-1)]),
    )


# -- axes --------------------------------------------------------------------------------------
@st.composite
def axes(draw, ndim):
    """A reduction's ``axis``: None, one axis (maybe negative), or a tuple of distinct axes (maybe negative)."""
    if ndim == 0:  # NumPy (and torch) let a 0-d array take axis 0 or -1
        return draw(st.sampled_from([None, (), 0, -1]))
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
        lambda ax: st.tuples(*[st.sampled_from([a, a - ndim]) for a in ax]))
    return draw(st.none() | one | several)


@st.composite
def permutations(draw, ndim):
    """A permutation of ``range(ndim)`` for transpose, each axis written positive or negative."""
    perm = draw(st.permutations(range(ndim)))
    return tuple(draw(st.sampled_from([a, a - ndim])) for a in perm)


@st.composite
def split_points(draw, length):
    """Sorted cut points in [0, length] (repeats and empty pieces included), as numpy.split takes."""
    return sorted(draw(st.lists(st.integers(0, length), max_size=3)))


# -- indices -----------------------------------------------------------------------------------
@st.composite
def int_arrays(draw, n, max_len=4):
    """An integer index array into an axis of length ``n``: repeats, negatives, 0-d to 2-d."""
    form = draw(st.sampled_from(["1d", "2d", "0d"]))
    if n == 0:
        return np.zeros((0,), dtype=np.intp)
    ints = st.integers(-n, n - 1)
    if form == "0d":
        return np.array(draw(ints))
    if form == "2d":
        return np.array(draw(st.lists(st.lists(ints, min_size=2, max_size=2), min_size=1, max_size=2)))
    return np.array(draw(st.lists(ints, min_size=0, max_size=max_len)), dtype=np.intp)


@st.composite
def masks(draw, shape):
    """A boolean mask over the leading ``k`` axes of ``shape`` (k >= 1), or a 0-d True/False."""
    if not shape or draw(st.booleans()) and draw(st.booleans()):
        return np.array(draw(st.booleans()))
    k = draw(st.integers(1, len(shape)))
    size = int(np.prod(shape[:k]))
    flat = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    return np.array(flat, dtype=bool).reshape(shape[:k])


@st.composite
def indices(draw, shape):
    """Any index NumPy accepts for an array of ``shape``: ints (negative too), slices (negative steps),
    Ellipsis, None, integer arrays with repeats, boolean masks, lists, empty lists, and tuples mixing them."""
    kind = draw(st.sampled_from(["basic", "int", "element", "array", "list", "empty", "mask", "mixed"]))
    ndim = len(shape)
    if kind == "int" and ndim and shape[0]:
        return draw(st.integers(-shape[0], shape[0] - 1))
    if kind == "element" and ndim and all(shape):  # one element: x[1, 2], x[-1, 0, ...]
        return tuple(draw(st.integers(-n, n - 1)) for n in shape)
    if kind == "array" and ndim:
        return draw(int_arrays(shape[0]))
    if kind == "list" and ndim and shape[0]:
        return draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=4))
    if kind == "empty" and ndim:
        return []
    if kind == "mask":
        return draw(masks(shape))
    if kind == "mixed" and ndim >= 2:
        # Advanced indices next to or apart from slices, an int, Ellipsis: NumPy's ordering rules.
        first = draw(int_arrays(shape[0]))
        middle = draw(st.sampled_from([slice(None), slice(None, None, -1), Ellipsis]))
        if ndim >= 3 and draw(st.booleans()) and middle is not Ellipsis:
            last = draw(int_arrays(shape[2])) if shape[2] else slice(None)
            if isinstance(last, np.ndarray):
                last = np.broadcast_to(last, np.broadcast(first, last).shape) if _broadcasts(first, last) else slice(1)
            return (first, middle, last)
        return (first, middle) if draw(st.booleans()) else (slice(None), draw(int_arrays(shape[1])))
    return draw(basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))


def _broadcasts(a, b):
    try:
        np.broadcast(a, b)
    except ValueError:
        return False
    return True


@st.composite
def index_chains(draw, shape, max_len=2):
    """One to ``max_len`` indices applied one after another (``x[1][2]``, ``x[::-1][..., None]``)."""
    chain = []
    for _ in range(draw(st.integers(1, max_len))):
        index = draw(indices(shape))
        chain.append(index)
        shape = np.empty(shape)[index].shape
    return chain


# -- compositions ------------------------------------------------------------------------------
UNARY_STEPS = ["tanh", "sigmoid", "neg", "exp_tanh", "square", "relu_shift", "flip", "sum_keep", "scale"]
BINARY_STEPS = ["add", "sub", "mul", "div_pos"]


@st.composite
def programs(draw, n_inputs, max_steps=6):
    """A random straight-line program over ``n_inputs`` broadcastable inputs: each step applies a unary
    step to, or combines two of, the values so far (inputs and earlier results); see oracle.run_program."""
    steps = []
    for k in range(draw(st.integers(1, max_steps))):
        n = n_inputs + k
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(UNARY_STEPS)), draw(st.integers(0, n - 1))))
        else:
            steps.append((draw(st.sampled_from(BINARY_STEPS)), draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
    return steps


@st.composite
def recurrent_programs(draw, max_steps=6):
    """A random recurrent cell run for T steps: a program over (x[t], the carried values, a weight) whose
    values become the next carried values; which value each step also leaves in a stacked output,
    whether the first carried values are made inside the function (constants) or passed in, and
    whether a second cell takes over from some step on (two loops back to back), are drawn."""
    n_carry = draw(st.integers(1, 2))
    n_in = 2 + n_carry  # x[t], the carried values, the weight
    program = draw(programs(n_in, max_steps))
    n_values = n_in + len(program)
    T = draw(st.integers(1, 12))
    return {
        "program": program,
        "then": draw(st.one_of(st.none(), programs(n_in, max_steps))),  # from step "switch" on: another cell
        "switch": draw(st.integers(0, T)),
        "T": T,
        "n_carry": n_carry,
        "next": [draw(st.integers(0, n_values - 1)) for _ in range(n_carry)],  # an input too: a value 2 steps old
        "stacked": draw(st.one_of(st.none(), st.integers(0, n_values - 1))),
        "inside": draw(st.booleans()),
    }
