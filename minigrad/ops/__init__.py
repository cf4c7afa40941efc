"""The differentiable primitives, each one forward and its vector-Jacobian product side by side."""
from . import elementwise, linalg, random, reduce, shape
from .registry import REGISTRY, Outer, Part, Primitive, Scatter, dense, primitive, unbroadcast

__all__ = ["REGISTRY", "Primitive", "primitive", "unbroadcast", "Scatter", "Outer", "Part", "dense", "elementwise",
           "linalg", "random", "reduce", "shape"]
