"""Every registered primitive against the oracle (tests/oracle.py) over the input space (tests/strategies.py).

``CASES`` holds one strategy per primitive; each draws ``(fn, arrays, torch_ok)``: a case written once
for NumPy, minigrad and torch, its NumPy inputs, and whether torch accepts it (torch has no
negative-step slices, for instance; such cases use central differences under either oracle).
tests/test_suite_strength.py drives ``test_primitive`` with wrong gradients planted, to show it fails.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import strategies as S
from minigrad.ops import REGISTRY
from oracle import ORACLES, check


@st.composite
def binary(draw, op, domain_b="real"):
    """a op b over broadcast pairs, float32/float64 mixes, integer arrays, plain NumPy arrays (constants)
    or Python/NumPy scalars on either side."""
    form = draw(st.sampled_from(["tensors", "tensors", "scalar_right", "scalar_left", "array", "int_tensor"]))
    if form in ("array", "int_tensor"):
        sa, sb = draw(S.broadcast_pairs())
        a = draw(S.arrays(sa, "positive" if op == "pow" else "real", draw(S.float_dtypes)))
        c = draw(S.arrays(sb, "nonzero" if op in ("div", "pow") else "real"))
        if op == "pow":
            c = np.round(c)  # whole exponents for a positive base; a NumPy base stays positive below
        if form == "int_tensor":  # an integer tensor: no gradient, NumPy's promotion
            c = np.round(c * 2).astype(np.int64) if op not in ("div", "pow") else np.where(c > 0, 1, 2).astype(np.int64)
            left = draw(st.booleans()) and op not in ("div", "pow")
            return (lambda ns, y, x: op_fn(op)(x, y) if left else op_fn(op)(y, x)), [a, c], True
        if draw(st.booleans()):
            return (lambda ns, x: op_fn(op)(x, c)), [a], False  # torch mixes NumPy arrays its own way
        base = np.abs(c) + 0.5 if op == "pow" else c
        return (lambda ns, x: op_fn(op)(base, x)), [a], False
    if form == "tensors":
        sa, sb = draw(S.broadcast_pairs())
        a = draw(S.arrays(sa, "positive" if op == "pow" else "real", draw(S.float_dtypes)))
        b = draw(S.arrays(sb, domain_b, draw(S.float_dtypes)))
        return (lambda ns, x, y: op_fn(op)(x, y)), [a, b], True
    s = draw(S.scalars())
    if op == "pow" and form == "scalar_left":
        s = abs(s) + 0.5  # a positive base
    if op == "div" and form == "scalar_right" and abs(s) < 0.5:
        s = 2
    a = draw(S.arrays(None, "positive" if op == "pow" and form == "scalar_right" else domain_b if form == "scalar_left"
                      else "real", draw(S.float_dtypes)))
    if form == "scalar_right":
        return (lambda ns, x: op_fn(op)(x, s)), [a], True
    return (lambda ns, x: op_fn(op)(s, x)), [a], True


def op_fn(op):
    return {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
            "div": lambda x, y: x / y, "pow": lambda x, y: x ** y}[op]


@st.composite
def pow_edges(draw):
    """x ** 0, x ** 1, 0.0 ** y, 0 ** y, special bases with tensor exponents: where naive formulas give NaN."""
    form = draw(st.sampled_from(["const_exponent", "const_base", "tensors"]))
    if form == "const_exponent":
        e = draw(st.sampled_from([0, 1, 2, 3, 0.0, 1.0, 2.0]))
        x = draw(S.special_arrays(specials=(0.0, 1.0, -1.0, 2.0, -0.5)))
        return (lambda ns, a: a ** e), [x], True
    if form == "const_base":
        base = draw(st.sampled_from([0.0, 0, 1.0, 2.0]))
        y = draw(S.special_arrays(specials=(1.0, 2.0, 0.5, 3.0)))
        return (lambda ns, b: base ** b), [y], True
    x = draw(S.special_arrays(specials=(0.0, 1.0, 2.0, 0.5)))
    y = draw(S.special_arrays(x.shape, specials=(1.0, 2.0, 3.0)))
    return (lambda ns, a, b: a ** b), [x, y], True


@st.composite
def unary(draw, name, domain="real"):
    x = draw(S.arrays(None, domain, draw(S.float_dtypes)))
    return (lambda ns, a: getattr(ns, name)(a)), [x], True


@st.composite
def neg(draw):
    return (lambda ns, a: -a), [draw(S.arrays())], True


@st.composite
def cast(draw):
    src, dst = draw(S.float_dtypes), draw(S.float_dtypes)
    return (lambda ns, a: ns.cast(a, dst)), [draw(S.arrays(None, "real", src))], True


@st.composite
def matmul(draw):
    """numpy.matmul's rules: 1-D on either side (both too), batched with broadcasting, size-0 dimensions."""
    k, n, m = (draw(st.integers(0, 3)) for _ in range(3))
    ba, bb = draw(S.broadcast_pairs().filter(lambda p: len(p[0]) <= 2 and len(p[1]) <= 2))
    sa = draw(st.sampled_from([(k,), ba + (n, k)]))
    sb = draw(st.sampled_from([(k,), bb + (k, m)]))
    use_fn = draw(st.booleans())
    fn = (lambda ns, a, b: ns.matmul(a, b)) if use_fn else (lambda ns, a, b: a @ b)
    return fn, [draw(S.arrays(sa)), draw(S.arrays(sb))], True


@st.composite
def linear(draw):
    k, m = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    batch = draw(S.shapes(max_dims=2))
    x, w = draw(S.arrays(batch + (k,))), draw(S.arrays((m, k)))
    if draw(st.booleans()):
        return (lambda ns, a, b: ns.linear(a, b)), [x, w], True
    return (lambda ns, a, b, c: ns.linear(a, b, c)), [x, w, draw(S.arrays((m,)))], True


def _shapes_of_size(n):
    out = [(n,), (1, n), (n, 1)]
    out += [(a, n // a) for a in range(2, n) if n % a == 0]
    out += [(0, 2), (3, 0, 1)] if n == 0 else []
    return out


@st.composite
def reshape(draw):
    x = draw(S.arrays())
    target = draw(st.sampled_from(_shapes_of_size(x.size)))
    if x.size and draw(st.booleans()):
        i = draw(st.integers(0, len(target) - 1))
        target = target[:i] + (-1,) + target[i + 1:]
    return (lambda ns, a: ns.reshape(a, target)), [x], True


@st.composite
def transpose(draw):
    x = draw(S.arrays())
    axes = draw(st.none() | S.permutations(x.ndim))
    return (lambda ns, a: ns.transpose(a, axes)), [x], True


@st.composite
def getitem(draw):
    x = draw(S.arrays())
    chain = draw(S.index_chains(x.shape))

    def fn(ns, a):
        for index in chain:
            a = ns.getitem(a, index)
        return a

    return fn, [x], False  # torch lacks negative-step slices and some mixes: central differences


@st.composite
def concat(draw):
    base = list(draw(S.shapes(min_dims=1)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        shape = list(base)
        shape[axis] = draw(st.integers(0, 3))
        pieces.append(draw(S.arrays(tuple(shape))))
    return (lambda ns, *xs: ns.concat(xs, axis=axis)), pieces, True


@st.composite
def stack(draw):
    shape = draw(S.shapes(max_dims=3))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    pieces = [draw(S.arrays(shape)) for _ in range(draw(st.integers(1, 3)))]
    return (lambda ns, *xs: ns.stack(xs, axis=axis)), pieces, True


@st.composite
def dropout(draw):
    """A fixed mask per case: the generator is seeded afresh on every forward the oracle runs. No torch run."""
    x = draw(S.arrays(None, "real", draw(S.float_dtypes)))
    p, seed = draw(st.sampled_from([0.2, 0.5])), draw(st.integers(0, 2**16))
    return (lambda ns, a: ns.dropout(a, p, seed)), [x], False


@st.composite
def reduction(draw, name):
    x = draw(S.arrays(draw(S.nonempty_shapes() if name == "max" else S.shapes())))
    axis, keepdims = draw(S.axes(x.ndim)), draw(st.booleans())
    torch_ok = axis != ()  # torch reads dim=() as "every axis", NumPy (and minigrad) as "none"
    return (lambda ns, a: getattr(ns, name)(a, axis=axis, keepdims=keepdims)), [x], torch_ok


CASES = {
    "add": binary("add"), "sub": binary("sub"), "mul": binary("mul"), "div": binary("div", "nonzero"),
    "pow": st.one_of(binary("pow"), pow_edges()),
    "neg": neg(), "exp": unary("exp"), "log": unary("log", "positive"), "sqrt": unary("sqrt", "positive"),
    "tanh": unary("tanh"), "sigmoid": unary("sigmoid"), "relu": unary("relu", "nonzero"), "cast": cast(),
    "matmul": matmul(), "linear": linear(),
    "reshape": reshape(), "transpose": transpose(), "getitem": getitem(), "concat": concat(), "stack": stack(),
    "dropout": dropout(),
    "sum": reduction("sum"), "mean": reduction("mean"), "max": reduction("max"), "logsumexp": reduction("logsumexp"),
}


def check_case(case, oracle):
    fn, arrays, torch_ok = case
    return check(fn, arrays, oracle if torch_ok else "fd")


# getitem's cases are central differences under either oracle: no need to run them twice.
PARAMS = [(n, o) for n in sorted(CASES) for o in ORACLES if o == "fd" or n != "getitem"]


@pytest.mark.parametrize("name, oracle", PARAMS)
@given(data=st.data())
def test_primitive(name, oracle, data):
    """Forward equals NumPy's; gradients equal the oracle's, for every input the case strategy draws."""
    check_case(data.draw(CASES[name], label=name), oracle)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_primitive_has_a_case(name):
    assert name in CASES, f"primitive {name!r} is registered without a strategy in CASES"


def test_every_primitive_has_a_one_line_gradient_docstring():
    for name, op in REGISTRY.items():
        assert "y = " in op.doc and ";" in op.doc, f"{name}: docstring should read 'y = ...;  da = ...'"


@given(data=st.data())
def test_a_backward_into_adds_what_the_backward_scatter_adds(data):
    """An op's ``backward_into(g, saved, buffer)`` (compiled code's way to add a slice's gradient) must add exactly,
    bit for bit, what ``backward``'s Scatter adds, for every index kind, into a buffer already holding values."""
    shape = data.draw(S.shapes(min_side=0))
    dtype = data.draw(S.float_dtypes)
    index = data.draw(S.indices(shape))
    for name, op in REGISTRY.items():
        if op.backward_into is None:
            continue
        a = S.values(shape, 1, dtype=dtype)
        y, saved = op.forward(a, index=index)
        g = np.asarray(S.values(np.shape(y), 2, dtype=dtype))
        expected, got = S.values(shape, 3, dtype=dtype), S.values(shape, 3, dtype=dtype)
        op.backward(g, saved, [True])[0].add_to(expected)
        op.backward_into(g, saved, got)
        np.testing.assert_array_equal(got, expected, err_msg=name)
