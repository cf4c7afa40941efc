import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_grad_close


def f64(*shape, seed=0, requires_grad=True):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=np.float64, requires_grad=requires_grad)


class PlantedBugTanh(mg.Function):
    """tanh with a deliberately wrong backward: the derivative should be 1 - y^2, not 1 - y."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y)


def cell_with_planted_bug(x, w):
    with mg.name_scope("lstm_cell"):
        with mg.name_scope("forget_gate"):
            f = (x @ w).sigmoid()
        with mg.name_scope("candidate"):
            c = PlantedBugTanh.apply(x @ w)
        return f * c


def test_gradcheck_passes_correct_gradients():
    x, w = f64(2, 3), f64(3, 4, seed=1)
    assert mg.gradcheck(lambda x, w: (x @ w).tanh() * (x @ w).sigmoid(), (x, w))


def test_gradcheck_catches_the_planted_bug_and_names_op_and_scope():
    x, w = f64(2, 3, seed=2), f64(3, 4, seed=3)
    x.name = "x"
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(cell_with_planted_bug, (x, w))
    message = str(info.value)
    assert "input 0 ('x') of shape (2, 3)" in message
    assert "analytic" in message and "numeric" in message and "max abs error" in message
    assert "op 'PlantedBugTanh' in lstm_cell/candidate" in message
    assert isinstance(info.value, AssertionError)


def test_gradcheck_returns_false_when_not_raising():
    x, w = f64(2, 3), f64(3, 4, seed=1)
    assert mg.gradcheck(cell_with_planted_bug, (x, w), raise_exception=False) is False


def test_gradcheck_refuses_float32_and_says_use_float64():
    with pytest.raises(TypeError, match="float64"):
        mg.gradcheck(lambda x: x * 2, (mg.randn(3, requires_grad=True),))
    with pytest.raises(ValueError, match="requires_grad"):
        mg.gradcheck(lambda x: x * 2, (f64(3, requires_grad=False),))


def test_gradcheck_leaves_grads_and_data_as_they_were():
    x = f64(3)
    w = f64(3, seed=1)  # used inside fn but not checked
    x.grad = np.full(3, 7.0)
    before = x.data.copy()
    assert mg.gradcheck(lambda x: (x * w).tanh(), (x,))
    np.testing.assert_array_equal(x.grad, np.full(3, 7.0))
    np.testing.assert_array_equal(x.data, before)
    assert w.grad is None


def test_an_fn_that_raises_midway_leaves_the_inputs_as_they_were():
    x = f64(3)
    before = x.data.copy()
    calls = []

    def flaky(x):
        calls.append(1)
        if len(calls) > 3:  # fails while gradcheck is perturbing x
            raise RuntimeError("boom")
        return x * 2

    with pytest.raises(RuntimeError, match="boom"):
        mg.gradcheck(flaky, (x,))
    np.testing.assert_array_equal(x.data, before)


def test_gradcheck_of_tuple_outputs():
    x = f64(2, 2)
    assert mg.gradcheck(lambda x: (x.exp(), x.sum(axis=0)), (x,))


def test_assert_grad_close_takes_arrays():
    assert_grad_close(lambda x, w: (x @ w).tanh(), np.random.rand(2, 3), np.random.rand(3, 4))
    with pytest.raises(mg.GradcheckError, match="PlantedBugTanh"):
        assert_grad_close(lambda x: PlantedBugTanh.apply(x), np.random.rand(3))


def test_diagnosis_when_every_op_is_right_but_fn_is_not_differentiable_code():
    def sneaky(x):
        y = x * 2
        y.data = y.data ** 2  # work outside the ops: the recorded gradient no longer matches
        return y

    with pytest.raises(mg.GradcheckError, match="correct gradient on its own inputs"):
        mg.gradcheck(sneaky, (f64(3),))


def test_wrong_builtin_style_primitive_is_named():
    from minigrad.ops import Primitive
    from minigrad.tensor import apply

    def bad_square(a):
        """y = a^2;  da = g * a  (wrong on purpose: should be 2 g a)"""
        return a * a, a

    op = Primitive("bad_square", bad_square, lambda g, a, needs: (g * a,))  # not registered: a test-only op
    with pytest.raises(mg.GradcheckError, match="op 'bad_square'"):
        mg.gradcheck(lambda x: apply(op, x.exp()).sum(), (f64(4),))
