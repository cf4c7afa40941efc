"""The recorded graph and the backward pass.

Every op that runs while grad mode is on and some input requires grad records
a `Node`: which op, in which name scope, its parent nodes and what the
op's forward saved for its backward.  A leaf tensor that requires grad gets a
`LeafNode`, where its gradient is accumulated.  Every node also gets a
sequence number when it is recorded; backward visits the nodes newest first
(without recursion), calls each op's ``backward(g, saved, needs)``, and frees
the saved values once used, unless ``retain_graph``.  `add_grad` is the
one rule for adding gradients, shared with ``minigrad.compile``'s replay.
"""
import functools
import inspect
import itertools
import threading
from heapq import heappop, heappush

import numpy as np

from .ops.registry import Outer, Part, Scatter, unbroadcast


class _State(threading.local):
    """Per thread, as in torch: a ``no_grad`` in one thread leaves every other thread recording.

    Every op reads several of these flags.  Each thread's copy sets them all when the thread
    first touches ``state``: a flag found in the thread's own dict reads in half the time of
    one that falls through to a class attribute (about 100 ns against 200).
    """

    def __init__(self):
        self.grad_enabled = True
        self.scope = ""  # "cell/gate": the name scopes open now, outermost first
        self.anomaly = False
        self.keep_values = False  # keep each op's arrays: gradcheck's diagnosis re-runs ops, drawings show values
        self.trace = None  # minigrad.compile's recorder while it traces a function
        self.retaining = False  # the backward pass in progress keeps saved values (retain_graph)


state = _State()


class _Watch:
    """How many threads now trace a function (``minigrad.compile``) or keep values (`keep_values`).

    Every op asks whether it must be recorded for a trace or keep its arrays.  Reading this plain
    counter first (``watch.count and state.trace is not None``) spares the two reads of per-thread
    flags that would answer no almost always: 2% of an eager LSTM step.  Changed under a lock;
    a thread that traces counts itself before it sets its flag, so it never reads a 0.
    """

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()

    def add(self, n):
        with self._lock:
            self.count += n


watch = _Watch()
_sequence = itertools.count()
FREED = type("Freed", (), {"__repr__": lambda self: "<freed by backward>"})()  # a node's saved values, once used


class Node:
    """One recorded op: the output's graph identity, kept light for speed."""

    __slots__ = ("op", "saved", "parents", "scope", "shape", "dtype", "name", "values", "seq", "_g", "_owned")
    tensor = None  # only leaves point back to their tensor

    def __init__(self, op, saved, parents, out):
        self.op = op
        self.saved = saved  # what op.forward kept for op.backward; FREED once backward has used it
        self.parents = parents
        self.scope = state.scope
        self.shape = out.shape
        self.dtype = out.dtype
        self.name = None
        self.values = None  # (input arrays, params, output) under keep_values()
        self.seq = next(_sequence)  # recording order: a node's consumers all have larger numbers
        self._g = None


class LeafNode:
    """Where gradients of a leaf tensor that requires grad arrive."""

    __slots__ = ("tensor", "seq", "_g", "_owned")
    op = saved = values = None
    parents = ()
    scope = ""

    def __init__(self, tensor):
        self.tensor = tensor
        self.seq = next(_sequence)
        self._g = None

    shape = property(lambda self: self.tensor.data.shape)
    dtype = property(lambda self: self.tensor.data.dtype)
    name = property(lambda self: self.tensor.name)


class _GradMode:
    """Base of the context managers that switch a flag of `state` and can decorate functions.

    Each works as ``with no_grad():``, as ``@no_grad()`` and as ``@no_grad``; on a generator
    function the mode holds while the generator's body runs, not merely while it is created.
    """

    flag = value = None

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)

    def __enter__(self):
        self._saved = getattr(state, self.flag)
        setattr(state, self.flag, self.value)
        return self

    def __exit__(self, *exc):
        setattr(state, self.flag, self._saved)

    def __call__(self, func):
        if not callable(func):
            raise TypeError(f"{type(self).__name__} decorates a function, got {type(func).__name__}")
        mode = type(self)
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                resume, value = gen.send, None
                while True:
                    with mode():
                        try:
                            item = resume(value)
                        except StopIteration as stop:
                            return stop.value
                    try:
                        resume, value = gen.send, (yield item)
                    except GeneratorExit:
                        gen.close()
                        raise
                    except BaseException as e:  # thrown into us: throw it into the body, in the mode
                        resume, value = gen.throw, e

            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mode():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Record no graph inside: ``with minigrad.no_grad(): y = model(x)``, or as a decorator."""

    flag, value = "grad_enabled", False


class enable_grad(_GradMode):
    """Record the graph again inside a ``no_grad`` block."""

    flag, value = "grad_enabled", True


class detect_anomaly(_GradMode):
    """Raise as soon as backward produces NaN or inf, naming the op and scope it came from.

    Examples:
        >>> with minigrad.detect_anomaly():
        ...     loss.backward()
    """

    flag, value = "anomaly", True


class keep_values(_GradMode):
    """Keep each recorded op's input and output arrays on its node (``node.values``).

    gradcheck's diagnosis re-checks each op on them; drawings with ``show_data`` show them.
    """

    flag, value = "keep_values", True

    def __enter__(self):
        watch.add(1)
        return super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        watch.add(-1)


def is_grad_enabled():
    """True unless inside ``no_grad``."""
    return state.grad_enabled


class name_scope:
    """Tag every op recorded inside with a scope path; scopes nest as ``outer/inner``.

    Examples:
        >>> with minigrad.name_scope("lstm_cell"), minigrad.name_scope("forget_gate"):
        ...     f = (x @ w).sigmoid()      # recorded in scope "lstm_cell/forget_gate"
    """

    def __init__(self, name):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"a name scope is a non-empty string without '/', got {name!r}")
        self.name = name

    def __enter__(self):
        self._saved = outer = state.scope
        state.scope = f"{outer}/{self.name}" if outer else self.name
        return self

    def __exit__(self, *exc):
        state.scope = self._saved


def unfolded(node):
    """``node`` itself, or for an output of a ``minigrad.compile``d call, the node of the same value in the graph
    of recorded ops that the call stands for (drawings show that graph)."""
    unfold = getattr(node, "unfold", None)
    return node if unfold is None else unfold()


def forward_order(roots):
    """All nodes reachable from ``roots``, each after its parents (iterative depth-first search)."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((p, False) for p in reversed(node.parents) if p is not None and p not in seen)
    return order


def _freed(node):
    return RuntimeError(
        f"backward reached op '{node.op.name}' whose saved arrays were already freed by an earlier "
        "backward: pass retain_graph=True to the first backward() to go through the graph again"
    )


def run_backward(root, grad, retain_graph=False, accumulate=True, on_grad=None):
    """Propagate ``grad`` (the gradient of ``root``'s output) to every leaf below ``root``.

    Nodes are visited newest first (a max-heap on ``seq``): every consumer of a node was
    recorded after it, so its gradient is complete when it is popped.  Leaves' ``.grad``
    are written only once the whole pass has succeeded.  ``accumulate=False`` leaves them
    alone; ``on_grad(node, g)`` sees the total gradient of every node's output (gradcheck
    and drawing use both).
    """
    root._g, root._owned = grad, False
    heap = [(-root.seq, root)]
    leaves = []
    anomaly = state.anomaly
    retaining, state.retaining = state.retaining, retain_graph
    pop, push, ndarray, freed = heappop, heappush, np.ndarray, FREED  # locals: this loop runs once per node
    try:
        while heap:
            node = pop(heap)[1]
            g = node._g
            node._g = None
            if type(g) is Outer:
                g = g.dense()
            if on_grad is not None:
                on_grad(node, g)
            if node.tensor is not None:
                leaves.append((node, g))
                continue
            saved = node.saved
            if saved is freed:
                raise _freed(node)
            grads = node.op.backward(g, saved, node.parents)  # needs[i]: parent i is a node, not None
            if anomaly:
                _check_finite(node, grads)
            if not retain_graph:
                node.saved = freed
            for p, gp in zip(node.parents, grads):
                if p is None or gp is None:
                    continue
                if p._g is None:  # the first gradient to reach p: p joins the heap
                    if type(gp) is ndarray and gp.shape == p.shape:
                        p._g, p._owned = gp, False  # the common case, inline
                    else:
                        p._g, p._owned = add_grad(None, False, gp, p.shape, p.dtype)
                    push(heap, (-p.seq, p))
                else:
                    p._g, p._owned = add_grad(p._g, p._owned, gp, p.shape, p.dtype)
    except BaseException:
        for _, node in heap:
            node._g = None
        raise
    finally:
        state.retaining = retaining
    if accumulate:
        for node, g in leaves:
            _accumulate_leaf(node, g)


def add_grad(total, owned, g, shape, dtype):
    """``total + g`` for a value of ``shape`` and ``dtype``, returned with whether the engine owns the sum.

    ``total`` is None before the first gradient arrives.  An owned buffer is added into in
    place; one that is not (it may alias another array) is never written into.  Sparse
    (`Scatter`), weight-outer (`Outer`) and multi-output (`Part`)
    gradients are combined as their kinds allow; broadcast gradients are reduced.
    """
    if type(g) is Outer:
        if total is None:
            return g, True
        if type(total) is Outer:
            total.extend(g)
            return total, True
        g = g.dense()
    elif type(total) is Outer:
        total, owned = total.dense(), True
    if type(g) is Scatter:
        if total is None or not owned:
            buffer = np.zeros(shape, np.result_type(dtype, g.value.dtype))
            if total is not None:
                buffer += total
            total = buffer
        g.add_to(total)
        return total, True
    if type(g) is Part:
        total = [None] * g.n if total is None else total
        total[g.k] = g.g
        return total, True
    if g.shape != shape:
        g = unbroadcast(g, shape)
    if total is None:
        return g, False
    if owned:
        total += g
        return total, True
    return total + g, True


def _accumulate_leaf(node, g):
    tensor = node.tensor
    if tensor.grad is None:
        owned = node._owned and g.dtype == tensor.data.dtype and g.flags.writeable
        tensor.grad = g if owned else np.array(g, dtype=tensor.data.dtype)
    else:
        tensor.grad += g


def _check_finite(node, grads):
    for i, gp in enumerate(grads):
        gp = gp.value if type(gp) is Scatter else gp.dense() if type(gp) is Outer else gp.g if type(gp) is Part else gp
        if gp is not None and not np.isfinite(gp).all():
            where = f" in scope '{node.scope}'" if node.scope else ""
            kind = "NaN" if np.isnan(gp).any() else "inf"
            raise FloatingPointError(
                f"detect_anomaly: backward of op '{node.op.name}'{where} produced {kind} in the gradient of its "
                f"input {i} (output shape {node.shape}); look at that op's inputs (log of 0? division by 0?)"
            )
