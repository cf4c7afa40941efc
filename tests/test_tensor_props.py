"""Tensor's methods, the module functions (split, chunk, stack, concat, grad) and the Python protocol,
over the input space of tests/strategies.py, against tests/oracle.py."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import minigrad as mg
import strategies as S
from oracle import MG, NP, ORACLES, check, run_program, torch


@pytest.mark.parametrize("oracle", ORACLES)
@given(data=st.data())
def test_random_compositions_of_primitives(oracle, data):
    shapes = data.draw(S.broadcast_pairs())
    arrays = [data.draw(S.arrays(s, "real", data.draw(S.float_dtypes))) for s in shapes]
    program = data.draw(S.programs(2))
    check(lambda ns, a, b: run_program(ns, program, a, b)[-1], arrays, oracle)


@st.composite
def grad_calls(draw, leaves_only):
    """A program, and the values (leaves or intermediates, repeats allowed) to differentiate it by."""
    shapes = draw(S.broadcast_pairs(min_side=1))
    arrays = [draw(S.arrays(s)) for s in shapes]
    program = draw(S.programs(2))
    n = 2 if leaves_only else 2 + len(program)
    wrt = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
    return arrays, program, wrt


@pytest.mark.parametrize("oracle", ORACLES)
@given(call=st.data())
def test_grad_matches_the_oracle_and_leaves_grads_alone(oracle, call):
    """minigrad.grad(out, inputs, v) is torch.autograd.grad(out, inputs, v, allow_unused, materialize_grads)."""
    arrays, program, wrt = call.draw(grad_calls(leaves_only=oracle == "fd"))
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    values = run_program(MG, program, *xs)
    out = values[-1]
    v = np.random.default_rng(0).standard_normal(out.shape)
    got = mg.grad(out, [values[i] for i in wrt], v)
    assert all(x.grad is None for x in xs), "grad() must not accumulate into .grad"
    if oracle == "torch":
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        tvalues = run_program(__import__("oracle").TORCH, program, *ts)
        expected = torch.autograd.grad(tvalues[-1], [tvalues[i] for i in wrt], torch.tensor(v), allow_unused=True,
                                       materialize_grads=True)
        expected = [e.numpy() for e in expected]
    else:
        expected = []
        for i in wrt:  # central differences of sum(v * out) in input i
            base = [a.copy() for a in arrays]
            g = np.zeros(arrays[i].shape)
            for k in np.ndindex(g.shape):
                def f(d):
                    base[i][k] = arrays[i][k] + d
                    return float(np.sum(v * run_program(NP, program, *base)[-1]))
                g[k] = (f(1e-6) - f(-1e-6)) / 2e-6
                base[i][k] = arrays[i][k]
            expected.append(g)
    for k, (g, e) in enumerate(zip(got, expected)):
        assert isinstance(g, np.ndarray) and g.shape == e.shape, f"grad {k}: {type(g).__name__} {np.shape(g)}"
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6, err_msg=f"grad with respect to input {k} ({wrt[k]})")
    got[0][...] = 7.0  # a fresh array the caller owns: writing into it changes nothing else
    assert all(x.grad is None for x in xs)


def test_grad_takes_a_single_tensor_and_refuses_bad_arguments_changing_nothing():
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = (x * x).sum()
    assert np.allclose(mg.grad(y, x, retain_graph=True)[0], [2.0, 4.0])
    with pytest.raises(ValueError, match="inputs\\[1\\]"):
        mg.grad(y, [x, mg.tensor([1.0])], retain_graph=True)
    with pytest.raises(ValueError, match="grad_output"):
        mg.grad(x * 2, [x], grad_output=np.ones(3), retain_graph=True)
    with pytest.raises(TypeError, match="inputs"):
        mg.grad(y, [x.data], retain_graph=True)
    assert x.grad is None
    y.backward()  # the graph survived every refused call
    assert np.allclose(x.grad, [2.0, 4.0])


# -- split, chunk, stack, concat ------------------------------------------------------------------
@st.composite
def splits(draw):
    shape = draw(S.shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    if draw(st.booleans()):
        sections = draw(st.sampled_from([d for d in range(1, 5) if n % d == 0] or [1]))
        cuts = [n // sections * k for k in range(1, sections)]
        return shape, axis, sections, cuts
    cuts = draw(S.split_points(n))
    return shape, axis, cuts, cuts


@pytest.mark.parametrize("oracle", ORACLES)
@given(data=st.data())
def test_split(oracle, data):
    shape, axis, arg, cuts = data.draw(splits())
    x = data.draw(S.arrays(shape))

    def fn(ns, a):
        return list(ns.split(a, cuts, axis)) if ns is not MG else mg.split(a, arg, axis=axis)

    check(fn, [x], oracle)


@st.composite
def chunks(draw):
    shape = draw(S.shapes(min_dims=1))
    return shape, draw(st.integers(1, 4)), draw(st.integers(-len(shape), len(shape) - 1))


@pytest.mark.parametrize("oracle", ORACLES)
@given(data=st.data())
def test_chunk_is_torch_chunk(oracle, data):
    shape, n_chunks, axis = data.draw(chunks())
    x = data.draw(S.arrays(shape))
    n = shape[axis]
    step = -(-n // n_chunks)
    if torch is not None:  # torch.chunk decides the pieces
        expected = [p.shape for p in torch.chunk(torch.tensor(x), n_chunks, dim=axis)]
        assert [p.shape for p in mg.tensor(x).chunk(n_chunks, axis)] == [tuple(s) for s in expected]

    def fn(ns, a):
        if ns is MG:
            return a.chunk(n_chunks, axis)
        return list(np.split(a, list(range(step, n, step)) if n else n_chunks, axis=axis))

    check(fn, [x], oracle if torch is not None else "fd")


@given(data=st.data())
def test_split_and_chunk_refuse_bad_arguments(data):
    x = mg.tensor(data.draw(S.arrays(data.draw(S.shapes(min_dims=1, min_side=1)))))
    bad_axis = data.draw(st.sampled_from([x.ndim, -x.ndim - 1, 7]))
    with pytest.raises((ValueError, IndexError), match="axis"):
        mg.split(x, 1, axis=bad_axis)
    with pytest.raises((ValueError, IndexError), match="axis"):
        x.chunk(1, bad_axis)
    with pytest.raises(ValueError, match="chunks"):
        x.chunk(data.draw(st.integers(-2, 0)))
    with pytest.raises(ValueError, match="sections"):
        mg.split(x, data.draw(st.integers(-2, 0)))
    with pytest.raises(ValueError, match="0-d"):
        mg.split(mg.tensor(1.0), 1)


@given(data=st.data())
def test_stack_and_concat_take_arrays_and_lists_beside_tensors(data):
    shape = data.draw(S.shapes(max_dims=2))
    a = data.draw(S.arrays(shape))
    t = mg.tensor(a, requires_grad=True)
    out = mg.stack([t, a, a.tolist() if a.size else a])  # an empty list has lost its shape
    assert out.shape == (3,) + shape and out.dtype == np.float64
    out.sum().backward()
    assert np.array_equal(t.grad, np.ones(shape))
    if shape:
        assert mg.concat([t, a], axis=-1).shape == np.concatenate([a, a], axis=-1).shape
    with pytest.raises(ValueError, match="at least one"):
        mg.stack([])


# -- methods beside the primitives ----------------------------------------------------------------
@given(data=st.data())
def test_transpose_forms_and_T(data):
    """transpose(*axes), transpose(axes) and .T all agree with NumPy, negative axes included."""
    x = data.draw(S.arrays())
    axes = data.draw(S.permutations(x.ndim))
    t = mg.tensor(x)
    assert np.array_equal(t.transpose(*axes).data, x.transpose(axes))
    assert np.array_equal(t.transpose(axes).data, x.transpose(axes))
    assert np.array_equal(t.T.data, x.T)


@given(data=st.data())
def test_transpose_refuses_bad_axes_naming_them(data):
    x = data.draw(S.arrays(data.draw(S.shapes(min_dims=1))))
    axes = data.draw(st.lists(st.integers(-5, 5), min_size=x.ndim, max_size=x.ndim))
    assume(sorted(a % x.ndim if -x.ndim <= a < x.ndim else 99 for a in axes) != list(range(x.ndim)))
    with pytest.raises((ValueError, np.exceptions.AxisError), match="ax"):
        mg.tensor(x, requires_grad=True).transpose(*axes)


@given(data=st.data())
def test_dtype_changes_keep_gradients_in_the_inputs_dtype(data):
    src = data.draw(S.float_dtypes)
    x = mg.tensor(data.draw(S.arrays(None, "real", src)), requires_grad=True)
    y = data.draw(st.sampled_from([x.double, x.float, lambda: x.astype(np.float64)]))()
    (y * 3).sum().backward()
    assert x.grad.dtype == src and np.allclose(x.grad, 3)
    assert y.detach().requires_grad is False and y.detach().data is y.data


@given(data=st.data())
def test_binary_ops_promote_like_torch_for_scalars_and_like_numpy_for_arrays(data):
    """A Python or NumPy scalar keeps a float tensor's dtype (torch); two arrays promote as NumPy does."""
    dtype = data.draw(S.float_dtypes)
    t = mg.tensor(data.draw(S.arrays(None, "nonzero", dtype)), requires_grad=True)
    s = data.draw(S.scalars())
    op = data.draw(st.sampled_from(["add", "sub", "mul", "div"]))
    f = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[op]
    for out in (f(t, s), f(s, t) if s != 0 or op != "div" else f(t, 1.0)):
        assert out.dtype == dtype, f"{op} with {type(s).__name__}: {out.dtype}, expected {dtype}"
        if torch is not None:
            assert out.dtype.name == str(f(torch.zeros(1, dtype=getattr(torch, dtype.__name__)), s).dtype)[6:]
    other = data.draw(st.sampled_from([np.float32, np.float64, np.int64]))
    u = mg.tensor(np.ones(t.shape, other))
    assert f(t, u).dtype == np.result_type(dtype, other)
    f(t, u).sum().backward()
    assert t.grad.dtype == dtype


# -- the Python protocol ---------------------------------------------------------------------------
@given(data=st.data())
def test_iteration_yields_rows_that_carry_the_gradient(data):
    x = data.draw(S.arrays(data.draw(S.shapes(min_dims=1))))
    t = mg.tensor(x, requires_grad=True)
    rows = list(t)
    assert len(rows) == len(t) == len(x)
    for r, e in zip(rows, x):
        assert isinstance(r, mg.Tensor) and np.array_equal(r.data, e)
    if rows:
        w = np.arange(1, len(rows) + 1)
        sum(float(k) * r.sum() for k, r in zip(w, rows)).backward()
        np.testing.assert_allclose(t.grad, np.broadcast_to(w.reshape((-1,) + (1,) * (x.ndim - 1)), x.shape))


@given(data=st.data())
def test_truth_value_len_and_conversions(data):
    x = data.draw(S.arrays())
    t = mg.tensor(x)
    if x.size == 1:
        assert bool(t) == bool(x.item()) and float(t) == float(x.item()) and int(t) == int(x.item())
    else:
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(t)
        with pytest.raises(ValueError, match="one element"):
            t.item()
    if x.ndim == 0:
        with pytest.raises(TypeError, match="0-d"):
            len(t)
        with pytest.raises(TypeError, match="0-d"):
            iter(t)
    else:
        assert len(t) == len(x)


@given(data=st.data())
def test_single_elements_backward(data):
    """x[0], x[-1], x[1, 2], x[1][2], x[()]: a one-element result backpropagates into that element only."""
    x = data.draw(S.arrays(data.draw(S.shapes(min_side=1))))
    index = tuple(data.draw(st.integers(-n, n - 1)) for n in x.shape)
    t = mg.tensor(x, requires_grad=True)
    y = t
    if data.draw(st.booleans()):
        y = t[index]
    else:
        for i in index:  # x[1][2]
            y = y[i]
    (y * 3).backward()
    expected = np.zeros(x.shape)
    expected[index] = 3
    np.testing.assert_array_equal(t.grad, expected)


# -- factories and functional forms -----------------------------------------------------------------
@given(shape=S.shapes(), dtype=st.none() | S.float_dtypes, data=st.data())
def test_factories_match_numpy(shape, dtype, data):
    expected_dtype = mg.get_default_dtype() if dtype is None else np.dtype(dtype)
    for make, fill in ((mg.zeros, 0), (mg.ones, 1)):
        for t in (make(*shape, dtype=dtype), make(shape, dtype=dtype)):
            assert t.shape == shape and t.dtype == expected_dtype and np.all(t.data == fill)
    x = data.draw(S.arrays(shape, "real", data.draw(S.float_dtypes)))
    for like, fill in ((mg.zeros_like, 0), (mg.ones_like, 1)):
        t = like(mg.tensor(x))
        assert t.shape == x.shape and t.dtype == x.dtype and np.all(t.data == fill)
    r = mg.randn(*shape, rng=np.random.default_rng(3), dtype=dtype)
    np.testing.assert_array_equal(r.data, np.random.default_rng(3).standard_normal(shape).astype(expected_dtype))


@given(st.integers(-5, 5), st.integers(-5, 5) | st.none(), st.sampled_from([1, 2, -1, 0.5, -0.5]))
def test_arange_matches_numpy_and_torch_dtypes(start, stop, step):
    args = (start,) if stop is None else (start, stop, step)
    t = mg.arange(*args)
    floats = any(isinstance(v, float) for v in args)
    np.testing.assert_allclose(t.data, np.arange(*args))
    assert t.dtype == (mg.get_default_dtype() if floats else np.int64)
    if torch is not None and t.size:  # torch refuses an empty range that NumPy (and minigrad) give
        assert str(torch.arange(*args).dtype)[6:] == t.dtype.name


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "relu"])
@given(data=st.data())
def test_functional_forms_take_tensors_arrays_and_lists(name, data):
    x = data.draw(S.arrays(None, "positive"))
    f = getattr(mg, name)
    expected = getattr(NP, name)(x)
    np.testing.assert_allclose(f(mg.tensor(x)).data, expected, rtol=1e-12)
    np.testing.assert_allclose(f(x).data, expected, rtol=1e-12)
    assert f(x.tolist()).dtype == mg.get_default_dtype() if x.size else True


@given(data=st.data())
def test_backward_refuses_a_grad_of_the_wrong_shape_changing_nothing(data):
    shape = data.draw(S.shapes())
    x = mg.tensor(data.draw(S.arrays(shape)), requires_grad=True)
    y = x * 2
    wrong = data.draw(S.shapes().filter(lambda s: s != shape))
    with pytest.raises(ValueError, match="grad"):
        y.backward(np.ones(wrong))
    if x.size != 1:
        with pytest.raises(RuntimeError, match="single-element"):
            y.backward()
    assert x.grad is None
    y.backward(np.ones(shape))
    np.testing.assert_array_equal(x.grad, np.full(shape, 2.0))


@given(data=st.data())
def test_out_of_range_axes_are_refused_naming_the_axis(data):
    x = mg.tensor(data.draw(S.arrays(data.draw(S.shapes(min_side=1)))), requires_grad=True)
    n = max(x.ndim, 1)  # NumPy lets a 0-d array take axis 0 or -1 (an int, not a tuple)
    bad = data.draw(st.sampled_from([n, -n - 1, n + 2]))
    method = data.draw(st.sampled_from(["sum", "mean", "max", "logsumexp"]))
    axis = data.draw(st.sampled_from([bad, (bad,), (0, bad)] if x.ndim else [bad]))
    with pytest.raises((ValueError, IndexError), match="axis"):
        getattr(x, method)(axis=axis)
    join = data.draw(st.sampled_from([mg.stack, mg.concat] if x.ndim else [mg.stack]))
    n = x.ndim + (join is mg.stack)  # stack has one axis more to choose from
    with pytest.raises((ValueError, IndexError), match="axis"):
        join([x, x], axis=data.draw(st.sampled_from([n, -n - 1, n + 3])))
    assert x.grad is None
