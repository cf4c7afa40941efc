"""minigrad: a small, readable reverse-mode autograd library on NumPy."""
from . import nn, ops, optim
from .checkpoint import load_checkpoint, save_checkpoint
from .engine import detect_anomaly, enable_grad, is_grad_enabled, name_scope, no_grad
from .function import Context, Function
from .gradcheck import GradcheckError, gradcheck
from .io import load, save
from .tensor import (
    Tensor,
    arange,
    concat,
    exp,
    get_default_dtype,
    get_rng_state,
    grad,
    log,
    manual_seed,
    matmul,
    ones,
    ones_like,
    randn,
    relu,
    set_default_dtype,
    set_rng_state,
    sigmoid,
    split,
    sqrt,
    stack,
    tanh,
    tensor,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "zeros_like", "ones_like", "randn", "arange",
    "matmul", "concat", "stack", "split", "exp", "log", "sqrt", "tanh", "sigmoid", "relu",
    "no_grad", "enable_grad", "is_grad_enabled", "name_scope", "detect_anomaly",
    "Function", "Context", "grad", "gradcheck", "GradcheckError",
    "set_default_dtype", "get_default_dtype", "manual_seed",
    "get_rng_state", "set_rng_state", "ops", "nn", "optim", "save", "load", "save_checkpoint", "load_checkpoint",
]
