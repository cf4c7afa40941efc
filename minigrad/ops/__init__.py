"""The differentiable primitives, each one forward and its vector-Jacobian product side by side."""
from . import elementwise, linalg, reduce, shape
from .registry import REGISTRY, Outer, Primitive, Scatter, dense, primitive, unbroadcast

__all__ = ["REGISTRY", "Primitive", "primitive", "unbroadcast", "Scatter", "Outer", "dense", "elementwise", "linalg", "reduce", "shape"]
