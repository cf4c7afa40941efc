"""Numerical gradient checking, and a diagnosis that names the op whose gradient is wrong."""
import numpy as np

from . import engine
from .ops.registry import dense
from .tensor import Tensor, grad


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytic gradient disagrees with the numeric one."""


def _outputs(result):
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not outs or not all(isinstance(o, Tensor) for o in outs):
        raise TypeError(f"gradcheck: fn must return a Tensor (or a tuple of them), got {type(result).__name__}")
    return outs


def _checked_inputs(inputs):
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not all(isinstance(x, Tensor) for x in inputs):
        raise TypeError("gradcheck: inputs must be Tensors; wrap arrays with minigrad.tensor(x, dtype=np.float64)")
    wanted = [x for x in inputs if x.requires_grad]
    if not wanted:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i, x in enumerate(inputs):
        if x.requires_grad and x.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} is {x.dtype}; finite differences need float64 to be accurate. "
                "Create it with dtype=np.float64 (or x.double()), and a module with .to(np.float64)"
            )
    return inputs


def _central_differences(x, f, eps):
    """(f() at x + eps e_k  -  f() at x - eps e_k) / (2 eps) for every element k, perturbing ``x`` in place.

    Every element is restored, even when ``f`` raises.
    """
    slopes = []
    for k in np.ndindex(x.shape):
        old = x[k]
        try:
            x[k] = old + eps
            plus = f()
            x[k] = old - eps
            minus = f()
        finally:
            x[k] = old
        slopes.append((plus - minus) / (2 * eps))
    return slopes


def _numeric_jacobian(fn, inputs, i, eps):
    """Columns d(out)/d(inputs[i][k]) by central differences."""

    def flat_outputs():
        with engine.no_grad():
            return np.concatenate([o.data.ravel() for o in _outputs(fn(*inputs))])

    cols = _central_differences(inputs[i].data, flat_outputs, eps)
    return np.stack(cols, axis=1) if cols else np.zeros((flat_outputs().size, 0))  # an empty input: no columns


def _analytic_jacobian(outs, inputs, i):
    """Rows d(out[j])/d(inputs[i]) by one backward per output element, leaving every .grad alone."""
    x = inputs[i]
    rows = []
    for o in outs:
        for j in np.ndindex(o.shape):
            if not o.requires_grad:  # an output that does not depend on any input
                rows.append(np.zeros(x.size))
                continue
            seed = np.zeros_like(o.data)
            seed[j] = 1
            rows.append(grad(o, [x], seed, retain_graph=True)[0].ravel())
    return np.stack(rows, axis=0) if rows else np.zeros((0, x.size))  # empty outputs: no rows


def _describe(x, i):
    return f"input {i}" + (f" ('{x.name}')" if x.name else "") + f" of shape {x.shape}"


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare ``fn``'s analytic Jacobian with central finite differences, for each input that requires grad.

    ``fn`` maps the input Tensors to a Tensor (or a tuple of Tensors) of any shape.  Inputs must be
    float64.  On a mismatch it raises `GradcheckError` (or returns False) with the worst element,
    and names the first recorded op whose own gradient is wrong, with its name scope.

    Examples:
        >>> x = minigrad.tensor(np.random.rand(3), dtype=np.float64, requires_grad=True)
        >>> minigrad.gradcheck(lambda x: (x * x).tanh(), (x,))
        True
    """
    inputs = _checked_inputs(inputs)
    outs = _outputs(fn(*inputs))
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        analytic = _analytic_jacobian(outs, inputs, i)
        numeric = _numeric_jacobian(fn, inputs, i, eps)
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and excess.max() > 0:
            if not raise_exception:
                return False
            row, col = np.unravel_index(np.argmax(excess), excess.shape)
            abs_err = np.abs(analytic - numeric)
            rel_err = abs_err / np.maximum(np.abs(numeric), 1e-12)
            element = tuple(int(v) for v in np.unravel_index(col, x.shape)) if x.ndim else ()
            raise GradcheckError(
                f"gradcheck failed for {_describe(x, i)}: at element {element} (output element {int(row)}), "
                f"analytic {analytic[row, col]:.6g} vs numeric {numeric[row, col]:.6g}; "
                f"max abs error {abs_err.max():.3g}, max rel error {rel_err.max():.3g} "
                f"(atol={atol}, rtol={rtol}).\n" + locate_wrong_op(fn, inputs, eps, atol, rtol)
            )
    return True


def _op_gradients(node, eps, rng):
    """(input index, vjp's gradient, finite differences' gradient) for each input of one recorded op."""
    arrays, params, _ = node.values
    forward = node.op.forward
    extra = {"needs": [p is not None for p in node.parents]} if node.op.takes_needs else {}

    def run(arrs):
        return np.asarray(forward(*arrs, **params, **extra)[0], dtype=np.float64)

    y, vjp = forward(*arrays, **params, **extra)
    # |g| in [0.5, 1.5]: a cotangent near 0 would hide a wrong gradient below atol
    g = rng.uniform(0.5, 1.5, np.shape(y)) * rng.choice([-1.0, 1.0], np.shape(y))
    grads = vjp(np.asarray(g, dtype=np.asarray(y).dtype))
    out = []
    for i, parent in enumerate(node.parents):
        if parent is None:
            continue
        x = np.array(arrays[i], dtype=np.float64)
        analytic = np.zeros(x.shape) if grads[i] is None else dense(grads[i], x.shape)
        arrs = list(arrays)
        arrs[i] = x
        numeric = np.reshape(_central_differences(x, lambda: np.sum(g * run(arrs)), eps), x.shape)
        out.append((i, analytic, numeric))
    return out


def check_op(node, eps=1e-6, atol=1e-5, rtol=1e-3, rng=None):
    """Check one recorded op's vjp on its own recorded inputs; return None, or what is wrong."""
    rng = np.random.default_rng(0) if rng is None else rng
    for i, analytic, numeric in _op_gradients(node, eps, rng):
        bad = np.abs(analytic - numeric) > atol + rtol * np.abs(numeric)
        if bad.any():
            k = tuple(int(v) for v in np.argwhere(bad)[0])
            return (
                f"its gradient for input {i} (shape {analytic.shape}) is wrong: at {k} the vjp gives "
                f"{analytic[k]:.6g}, finite differences {numeric[k]:.6g}"
            )
    return None


def _relative_error(node, eps):
    """The op's largest relative disagreement with finite differences, ignoring differences below 1e-9."""
    worst = 0.0
    for _, analytic, numeric in _op_gradients(node, eps, np.random.default_rng(0)):
        diff = np.abs(analytic - numeric)
        if diff.size:
            worst = max(worst, float(np.max(np.where(diff > 1e-9, diff / np.maximum(np.abs(numeric), 1e-12), 0))))
    return worst


def locate_wrong_op(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Re-run ``fn``, re-check every recorded op on its actual inputs, and say which is first wrong."""
    with engine.keep_values():
        outs = _outputs(fn(*inputs))
    nodes = [n for n in engine.forward_order([o._node for o in outs if o._node is not None]) if n.op is not None]
    wrong = []
    for node in nodes:
        problem = check_op(node, eps, atol, rtol)
        if problem:
            wrong.append((node, problem))
    if not wrong:
        # Tiny gradients can be wrong by less than atol at the op yet by more once the ops after it scale them.
        errors = [(_relative_error(n, eps), n) for n in nodes]
        worst, suspect = max(errors, key=lambda e: e[0], default=(0.0, None))
        if worst > 10 * rtol:
            where = f" in {suspect.scope}" if suspect.scope else ""
            return (
                f"No recorded op fails its own check at atol={atol}, but op '{suspect.op.name}'{where} disagrees "
                f"with finite differences by a relative {worst:.3g} on gradients smaller than atol: the likeliest "
                "culprit (rerun gradcheck at inputs where its gradient is larger to be sure)."
            )
        return (
            f"Each of the {len(nodes)} recorded ops has a correct gradient on its own inputs, so the error "
            "lies in how fn combines them: look for changes to .data, randomness, or work done outside "
            "minigrad's ops (NumPy on .data) between the inputs and the output."
        )
    node, problem = wrong[0]
    where = f" in {node.scope}" if node.scope else ""
    more = f" ({len(wrong) - 1} later op(s) also fail their own check)" if len(wrong) > 1 else ""
    return f"The first op whose own gradient is wrong: op '{node.op.name}'{where}: {problem}{more}."
