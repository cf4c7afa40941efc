import numpy as np
import pytest

import minigrad as mg


class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x**2 * g


class ScaleBy(mg.Function):
    @staticmethod
    def forward(ctx, x, s):
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        return g * s, (g * x if ctx.needs_input_grad[1] else None)


def test_custom_function_forward_backward_and_gradcheck():
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = Cube.apply(x)
    assert y.op == "Cube"
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 12.0])
    assert mg.gradcheck(lambda x: Cube.apply(x.tanh()), (x,))


def test_needs_input_grad_and_none_gradients():
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    s = mg.tensor(3.0, dtype=np.float64)
    ScaleBy.apply(x, s).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])
    s.requires_grad_()
    assert mg.gradcheck(lambda x, s: ScaleBy.apply(x, s), (x, s))


def test_backward_returning_the_wrong_number_of_gradients_is_explained():
    class Broken(mg.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    y = Broken.apply(mg.tensor([1.0], requires_grad=True), mg.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="one per input"):
        y.sum().backward()
