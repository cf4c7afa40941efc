"""User-defined primitives, in the shape of torch.autograd.Function."""
from .ops.registry import Primitive
from .tensor import Tensor, apply


class Context:
    """What ``forward`` hands to ``backward``: saved arrays and which inputs need a gradient."""

    __slots__ = ("saved_tensors", "needs_input_grad", "__dict__")

    def __init__(self, needs_input_grad):
        self.saved_tensors = ()
        self.needs_input_grad = tuple(needs_input_grad)

    def save_for_backward(self, *arrays):
        """Keep arrays for ``backward`` (read them back as ``ctx.saved_tensors``)."""
        self.saved_tensors = arrays


class Function:
    """Subclass with static ``forward(ctx, *arrays)`` and ``backward(ctx, grad)``; call ``.apply``.

    Arrays in, arrays out: ``forward`` gets the inputs' NumPy arrays and returns one
    array; ``backward`` returns one gradient per input (None for inputs that need none).
    The engine treats it like a built-in op: gradcheck can check it and names it by
    its class name, and drawings show that name.

    Examples:
        >>> class Cube(minigrad.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return 3 * x ** 2 * g
        >>> y = Cube.apply(minigrad.tensor([2.0], requires_grad=True))
    """

    _primitive = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._primitive = Primitive(cls.__name__, cls._forward_and_vjp)

    @classmethod
    def _forward_and_vjp(cls, *arrays, needs):
        ctx = Context(needs)
        y = cls.forward(ctx, *arrays)

        def vjp(g):
            grads = cls.backward(ctx, g)
            grads = grads if isinstance(grads, tuple) else (grads,)
            if len(grads) != len(arrays):
                raise TypeError(
                    f"{cls.__name__}.backward returned {len(grads)} gradient(s) for {len(arrays)} input(s): "
                    "return one per input of forward, None where an input needs none"
                )
            return grads

        return y, vjp

    @staticmethod
    def forward(ctx, *arrays):
        """Compute the output from NumPy arrays; save what backward needs with `ctx.save_for_backward`."""
        raise NotImplementedError("a Function subclass defines a static forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx, grad):
        """Map the output's gradient to one gradient per input (None where not needed)."""
        raise NotImplementedError("a Function subclass defines a static backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs):
        """Run the op on Tensors (or arrays and numbers) and record it for backward."""
        if cls._primitive is None:
            raise TypeError("apply() is called on a subclass of minigrad.Function, not on Function itself")
        return apply(cls._primitive, *(x if isinstance(x, Tensor) else Tensor(x) for x in inputs))
