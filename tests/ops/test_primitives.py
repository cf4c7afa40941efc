"""Every registered primitive is gradchecked on random shapes, broadcasting included."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minigrad as mg
from minigrad.nn import functional as F
from minigrad.ops import REGISTRY


def leaf(shape, seed, low=-2.0, high=2.0):
    data = np.random.default_rng(seed).uniform(low, high, size=shape)
    return mg.tensor(data, dtype=np.float64, requires_grad=True)


def away_from_zero(shape, seed):
    x = leaf(shape, seed, 0.5, 2.0).data * np.random.default_rng(seed + 1).choice([-1, 1], size=shape)
    return mg.tensor(x, dtype=np.float64, requires_grad=True)


two = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
one = array_shapes(min_dims=0, max_dims=3, max_side=3)
seeds = st.integers(0, 2**16)


@st.composite
def binary(draw, low=-2.0, high=2.0):
    (sa, sb), _ = draw(two)
    seed = draw(seeds)
    return leaf(sa, seed, low, high), leaf(sb, seed + 1, low, high)


@st.composite
def reduction(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1) | st.just(tuple(range(len(shape)))))
    return leaf(shape, draw(seeds)), axis, draw(st.booleans())


@st.composite
def matmul_operands(draw):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(st.sampled_from([(), (2,), (2, 1)]))
    kind = draw(st.sampled_from(["1d@2d", "2d@1d", "1d@1d", "nd@nd", "nd@2d"]))
    shapes = {
        "1d@2d": ((k,), (k, m)), "2d@1d": ((n, k), (k,)), "1d@1d": ((k,), (k,)),
        "nd@nd": (batch + (n, k), (2, k, m)), "nd@2d": (batch + (n, k), (k, m)),
    }[kind]
    seed = draw(seeds)
    return leaf(shapes[0], seed), leaf(shapes[1], seed + 1)


@st.composite
def linear_operands(draw):
    """x (..., k) with 0 to 2 batch axes, w (m, k), and a bias of shape (m,), (..., m) or none."""
    k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch = draw(st.sampled_from([(), (2,), (2, 3)]))
    seed = draw(seeds)
    x, w = leaf(batch + (k,), seed), leaf((m, k), seed + 1)
    bias = draw(st.sampled_from(["vector", "full", "none"]))
    b = {"vector": leaf((m,), seed + 2), "full": leaf(batch + (m,), seed + 2), "none": None}[bias]
    return (x, w) if b is None else (x, w, b)


@st.composite
def pieces(draw):
    """Tensors that agree on every axis but one, for concat; same shapes for stack."""
    base = list(draw(array_shapes(min_dims=1, max_dims=3, max_side=3)))
    axis = draw(st.integers(0, len(base) - 1))
    seed = draw(seeds)
    out = []
    for i in range(draw(st.integers(1, 3))):
        shape = list(base)
        shape[axis] = draw(st.integers(1, 3))
        out.append(leaf(tuple(shape), seed + i))
    return out, axis


def unary(fn, strategy=None):
    strategy = st.builds(leaf, one, seeds) if strategy is None else strategy
    return strategy.map(lambda x: (fn, (x,)))


def _index_cases():
    a = st.builds(leaf, st.just((3, 4)), seeds)
    indices = st.sampled_from([
        1, -1, slice(1, 3), (slice(None), 2), (Ellipsis, None, slice(0, 4, 2)),
        np.array([0, 2, 2]), (np.array([0, 1, 0]), np.array([3, 3, 1])),
        np.array([True, False, True]), (slice(None), np.array([1, 1, 1, 3])),
    ])
    return st.tuples(a, indices).map(lambda p: (lambda x, i=p[1]: x[i], (p[0],)))


# One strategy per registered primitive: each yields (fn, inputs) for gradcheck.
CASES = {
    "add": binary().map(lambda p: (lambda a, b: a + b, p)),
    "sub": binary().map(lambda p: (lambda a, b: a - b, p)),
    "mul": binary().map(lambda p: (lambda a, b: a * b, p)),
    "div": binary().map(lambda p: (lambda a, b: a / b, (p[0], away_from_zero(p[1].shape, 7)))),
    "pow": st.one_of(
        binary(0.5, 2.0).map(lambda p: (lambda a, b: a ** b, p)),
        st.builds(leaf, one, seeds, st.just(0.5), st.just(2.0)).map(lambda x: (lambda a: a ** 3 + 2.0 ** a, (x,))),
    ),
    "neg": unary(lambda a: -a),
    "exp": unary(mg.exp),
    "log": unary(mg.log, st.builds(leaf, one, seeds, st.just(0.2), st.just(3.0))),
    "sqrt": unary(mg.sqrt, st.builds(leaf, one, seeds, st.just(0.2), st.just(3.0))),
    "tanh": unary(mg.tanh),
    "sigmoid": unary(mg.sigmoid),
    "relu": unary(mg.relu, st.builds(away_from_zero, one, seeds)),
    "cast": unary(lambda a: a.astype(np.float32).astype(np.float64) * 0 + a.astype(np.float64)),
    "matmul": matmul_operands().map(lambda p: (lambda a, b: a @ b, p)),
    "linear": linear_operands().map(lambda p: (lambda x, w, b=None: F.linear(x, w, b), p)),
    "reshape": unary(lambda a: a.reshape(-1)),
    "transpose": st.builds(leaf, array_shapes(min_dims=2, max_dims=3, max_side=3), seeds).map(
        lambda x: (lambda a: a.transpose(*reversed(range(a.ndim))) * 1.0 + a.T, (x,))),
    "getitem": _index_cases(),
    "concat": pieces().map(lambda p: (lambda *ts, axis=p[1]: mg.concat(ts, axis=axis), tuple(p[0]))),
    "stack": st.tuples(one, seeds, st.integers(-1, 0)).map(
        lambda p: (lambda a, b, ax=p[2]: mg.stack([a, b], axis=ax), (leaf(p[0], p[1]), leaf(p[0], p[1] + 1)))),
    # A fresh generator per call: every forward gradcheck runs draws the same mask.
    "dropout": st.tuples(one, seeds, st.sampled_from([0.2, 0.5])).map(
        lambda p: (lambda a, s=p[1], q=p[2]: F.dropout(a, q, rng=np.random.default_rng(s)), (leaf(p[0], p[1]),))),
    "sum": reduction().map(lambda p: (lambda a, ax=p[1], kd=p[2]: a.sum(axis=ax, keepdims=kd), (p[0],))),
    "mean": reduction().map(lambda p: (lambda a, ax=p[1], kd=p[2]: a.mean(axis=ax, keepdims=kd), (p[0],))),
    "max": reduction().map(lambda p: (lambda a, ax=p[1], kd=p[2]: a.max(axis=ax, keepdims=kd), (p[0],))),
    "logsumexp": reduction().map(lambda p: (lambda a, ax=p[1], kd=p[2]: a.logsumexp(axis=ax, keepdims=kd), (p[0],))),
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_primitive_has_a_gradcheck_case(name):
    assert name in CASES, f"primitive {name!r} is registered without a gradcheck case in CASES"


@pytest.mark.parametrize("name", sorted(CASES))
def test_primitive_gradient_matches_finite_differences(name):
    assert name in REGISTRY, f"CASES names {name!r}, which is not a registered primitive"

    @given(CASES[name])
    def check(case):
        fn, inputs = case
        assert mg.gradcheck(fn, inputs)

    check()


def test_every_primitive_has_a_one_line_gradient_docstring():
    for name, op in REGISTRY.items():
        assert "y = " in op.doc and ";" in op.doc, f"{name}: docstring should read 'y = ...;  da = ...'"
