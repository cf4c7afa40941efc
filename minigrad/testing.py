"""Helpers for users' own test suites."""
import numpy as np

from .gradcheck import gradcheck
from .tensor import Tensor


def assert_grad_close(fn, *inputs, **tolerances):
    """Assert that ``fn``'s gradients match finite differences (raises GradcheckError with a diagnosis).

    Arrays and lists among ``inputs`` become float64 tensors that require grad; Tensors are used as given.

    Examples:
        >>> f = lambda x, w: (x @ w).tanh()
        >>> assert_grad_close(f, np.random.rand(2, 3), np.random.rand(3, 4))
    """
    tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
               for x in inputs]
    gradcheck(fn, tensors, raise_exception=True, **tolerances)
