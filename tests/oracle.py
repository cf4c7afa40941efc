"""The oracle the property suite checks minigrad against, and the one check every gradient test calls.

A case is written once, as ``fn(ns, *xs)``, against a small namespace ``ns`` that is NumPy, minigrad
or torch.  Forward values are compared with NumPy (float64).  Gradients are compared with one of two
oracles: ``"torch"`` (float64 autograd; only when torch is installed) or ``"fd"`` (central differences
of the NumPy forward in float64, needing nothing beyond NumPy).  Tests run both where torch exists, so
the torch-less path is exercised on every run; without torch only ``"fd"`` runs.
"""
import numpy as np
from numpy.testing import assert_allclose

import minigrad as mg
from minigrad.nn import functional as F

try:
    import torch
except ImportError:  # the oracle falls back to central differences
    torch = None

ORACLES = ["fd"] + (["torch"] if torch is not None else [])


def _logsumexp(x, axis=None, keepdims=False):
    axis = _ax(x, axis)
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0)
    y = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axis)


def _ax(x, axis):
    return None if x.ndim == 0 and axis in (0, -1) else axis  # NumPy's sum allows these on 0-d, its mean does not


def _np_split(x, cuts, axis):
    return np.split(x, cuts, axis=axis)


class NP:
    """The NumPy reference: forward values, and the function central differences differentiate."""

    name = "numpy"
    exp, log, sqrt, tanh = np.exp, np.log, np.sqrt, np.tanh
    sigmoid = staticmethod(lambda x: 1 / (1 + np.exp(-x)))
    relu = staticmethod(lambda x: np.maximum(x, 0))
    sum = staticmethod(lambda x, axis=None, keepdims=False: np.sum(x, axis=_ax(x, axis), keepdims=keepdims))
    mean = staticmethod(lambda x, axis=None, keepdims=False: np.mean(x, axis=_ax(x, axis), keepdims=keepdims))
    max = staticmethod(lambda x, axis=None, keepdims=False: np.max(x, axis=_ax(x, axis), keepdims=keepdims))
    logsumexp = staticmethod(_logsumexp)
    transpose = staticmethod(lambda x, axes=None: np.transpose(x, axes))
    reshape = staticmethod(lambda x, shape: np.reshape(x, shape))
    getitem = staticmethod(lambda x, index: x[index])
    flip_last = staticmethod(lambda x: x[..., ::-1])
    concat = staticmethod(lambda xs, axis=0: np.concatenate(xs, axis=axis))
    stack = staticmethod(lambda xs, axis=0: np.stack(xs, axis=axis))
    split = staticmethod(_np_split)
    matmul = staticmethod(np.matmul)
    linear = staticmethod(lambda x, w, b=None: x @ w.T + (0 if b is None else b))
    # Exact arithmetic: a cast between float dtypes is the identity (dtypes are checked elsewhere).
    cast = staticmethod(lambda x, dtype: x.astype(np.float64 if np.dtype(dtype).kind == "f" else dtype))


class MG:
    """minigrad, through its public functions and methods."""

    name = "minigrad"
    exp, log, sqrt, tanh, sigmoid, relu = mg.exp, mg.log, mg.sqrt, mg.tanh, mg.sigmoid, mg.relu
    sum = staticmethod(lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims))
    mean = staticmethod(lambda x, axis=None, keepdims=False: x.mean(axis=axis, keepdims=keepdims))
    max = staticmethod(lambda x, axis=None, keepdims=False: x.max(axis=axis, keepdims=keepdims))
    logsumexp = staticmethod(lambda x, axis=None, keepdims=False: x.logsumexp(axis=axis, keepdims=keepdims))
    transpose = staticmethod(lambda x, axes=None: x.transpose(*axes) if axes is not None else x.transpose())
    reshape = staticmethod(lambda x, shape: x.reshape(shape))
    getitem = staticmethod(lambda x, index: x[index])
    flip_last = staticmethod(lambda x: x[..., ::-1])
    concat = staticmethod(lambda xs, axis=0: mg.concat(xs, axis=axis))
    stack = staticmethod(lambda xs, axis=0: mg.stack(xs, axis=axis))
    split = staticmethod(lambda x, cuts, axis: mg.split(x, cuts, axis=axis))
    matmul = staticmethod(mg.matmul)
    linear = staticmethod(F.linear)
    cast = staticmethod(lambda x, dtype: x.astype(dtype))


if torch is not None:

    def _dims(x, axis):
        return tuple(range(x.ndim)) if axis is None else axis

    class TORCH:
        """torch, float64: the gradient oracle where it is installed."""

        name = "torch"
        exp, log, sqrt, tanh, sigmoid, relu = torch.exp, torch.log, torch.sqrt, torch.tanh, torch.sigmoid, torch.relu
        sum = staticmethod(lambda x, axis=None, keepdims=False: x.sum(dim=_dims(x, axis), keepdim=keepdims))
        mean = staticmethod(lambda x, axis=None, keepdims=False: x.mean(dim=_dims(x, axis), keepdim=keepdims))
        max = staticmethod(lambda x, axis=None, keepdims=False: torch.amax(x, dim=_dims(x, axis), keepdim=keepdims))
        logsumexp = staticmethod(lambda x, axis=None, keepdims=False: torch.logsumexp(x, dim=_dims(x, axis),
                                                                                    keepdim=keepdims))
        transpose = staticmethod(lambda x, axes=None: x.permute(tuple(reversed(range(x.ndim))) if axes is None else axes))
        reshape = staticmethod(lambda x, shape: x.reshape(shape))
        getitem = staticmethod(lambda x, index: x[index])
        flip_last = staticmethod(lambda x: torch.flip(x, (-1,)))
        concat = staticmethod(lambda xs, axis=0: torch.cat(list(xs), dim=axis))
        stack = staticmethod(lambda xs, axis=0: torch.stack(list(xs), dim=axis))
        split = staticmethod(lambda x, cuts, axis: torch.tensor_split(x, list(cuts), dim=axis))
        matmul = staticmethod(torch.matmul)
        linear = staticmethod(torch.nn.functional.linear)
        cast = staticmethod(lambda x, dtype: x.to(getattr(torch, np.dtype(dtype).name)))


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _tolerance(dtypes):
    return (1e-4, 1e-5) if all(d == np.float64 for d in dtypes) else (2e-3, 2e-4)


def _numeric_grads(fn, arrays, wants, cotangents, eps=1e-6):
    """d/dx_k sum(v * fn(NP, x)) by central differences of the NumPy forward, in float64."""
    xs = [np.array(a, dtype=np.float64) if a.dtype.kind == "f" else a for a in arrays]

    def loss():
        outs = _as_list(fn(NP, *xs))
        return sum(float(np.sum(v * np.asarray(o, dtype=np.float64))) for v, o in zip(cotangents, outs))

    grads = []
    for x, want in zip(xs, wants):
        if not want:
            grads.append(None)
            continue
        g = np.zeros(x.shape)
        for k in np.ndindex(x.shape):
            old = x[k]
            x[k] = old + eps
            plus = loss()
            x[k] = old - eps
            minus = loss()
            x[k] = old
            g[k] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def _torch_grads(fn, arrays, wants, cotangents):
    xs = [torch.tensor(np.asarray(a, dtype=np.float64) if a.dtype.kind == "f" else a, requires_grad=bool(w))
          for a, w in zip(arrays, wants)]
    outs = _as_list(fn(TORCH, *xs))
    pairs = [(o, torch.tensor(v)) for o, v in zip(outs, cotangents) if o.requires_grad]
    if pairs:
        torch.autograd.backward([o for o, _ in pairs], [v for _, v in pairs])
    return [None if not w else (np.zeros(a.shape) if x.grad is None else x.grad.numpy()) for a, x, w in
            zip(arrays, xs, wants)]


def check(fn, arrays, oracle="fd", seed=0, forward_only=False):
    """The property every case must have: minigrad's ``fn`` gives NumPy's values, and its gradients
    (from ``backward`` with a random cotangent, into every float input) match the oracle's.

    ``arrays`` are the inputs as NumPy arrays; float ones become tensors that require grad, in
    their own dtype.  Returns minigrad's outputs for further checks.
    """
    wants = [a.dtype.kind == "f" for a in arrays]
    ref = _as_list(fn(NP, *[np.array(a, dtype=np.float64) if w else a for a, w in zip(arrays, wants)]))
    xs = [mg.tensor(a, requires_grad=w) for a, w in zip(arrays, wants)]
    outs = _as_list(fn(MG, *xs))
    rtol, atol = _tolerance([a.dtype for a, w in zip(arrays, wants) if w])
    assert len(outs) == len(ref), f"{len(outs)} outputs, NumPy gives {len(ref)}"
    for o, r in zip(outs, ref):
        assert isinstance(o, mg.Tensor), f"an output is a {type(o).__name__}, not a Tensor"
        assert o.shape == np.shape(r), f"output shape {o.shape}, NumPy gives {np.shape(r)}"
        assert_allclose(o.data.astype(np.float64), r, rtol=rtol, atol=atol, err_msg="forward differs from NumPy")
    if forward_only or not any(wants):
        return outs
    rng = np.random.default_rng(seed)
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    tracked = [(o, v) for o, v in zip(outs, cotangents) if o.requires_grad]
    for o, v in tracked:
        o.backward(v.astype(o.dtype), retain_graph=True)
    if oracle == "torch":
        expected = _torch_grads(fn, arrays, wants, cotangents)
    else:
        expected = _numeric_grads(fn, arrays, wants, cotangents)
    for k, (x, e) in enumerate(zip(xs, expected)):
        if e is None:
            continue
        got = np.zeros(x.shape, x.dtype) if x.grad is None else x.grad
        assert got.shape == x.shape and got.dtype == x.dtype, (
            f"input {k}: grad {got.dtype}{got.shape} for a {x.dtype}{x.shape} input")
        assert_allclose(got, e, rtol=rtol, atol=atol, err_msg=f"gradient of input {k} differs from the {oracle} oracle")
    return outs


def _unary_step(ns, name, x):
    if name == "exp_tanh":
        return ns.exp(ns.tanh(x))
    if name == "square":
        return x ** 2
    if name == "relu_shift":
        return ns.relu(x + 0.3137)  # shifted off the kink at 0
    if name == "flip":
        return ns.flip_last(x) if x.ndim else x
    if name == "sum_keep":
        return ns.sum(x, axis=-1, keepdims=True) if x.ndim else x
    if name == "scale":
        return 0.5 * x
    return -x if name == "neg" else getattr(ns, name)(x)


def run_program(ns, program, *xs):
    """Run a program from strategies.programs; returns every value (inputs first), so any can be an output."""
    values = list(xs)
    for name, *args in program:
        a = values[args[0]]
        if len(args) == 1:
            values.append(_unary_step(ns, name, a))
            continue
        b = values[args[1]]
        values.append({"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                       "div_pos": lambda: a / (ns.sigmoid(b) + 0.5)}[name]())
    return values
