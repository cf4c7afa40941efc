"""minigrad.compile: trace a function once, then replay it as straight-line NumPy code.

The first call for a signature (shapes, dtypes and requires_grad of the Tensor arguments,
grad mode, non-Tensor arguments by value) runs the function eagerly while a recorder notes
every primitive it applies: which op, which values it read (arguments, leaves such as a
module's weights, constants made inside), its params and its name scope.  From that list
of steps, `Plan` writes one Python function for the forward pass; later calls run it
on plain arrays, with no Tensor and no graph node per op.  The outputs are ordinary
Tensors: their graph is one node for the whole call, whose backward runs a second generated
function.  That one is written from the first backward through the plan, which the engine's
own rules carry out (``op.backward`` and `minigrad.engine.add_grad`) while noting which
rule applied where; the code then applies the same rules in the same order, so every value
is bit for bit the one eager mode computes.  Python control flow is frozen at trace time.
"""
import builtins
import functools
import gc
import heapq
import re
import warnings
from collections import OrderedDict

import numpy as np

from . import engine
from .engine import Node, add_grad, state, watch
from . import loops as looping
from .loops import find_loops, longest_equal_run, ref_of, same_value, scope_pattern
from .ops.registry import Outer, Part, Primitive, Scatter, broadcast_axes
from .tensor import Tensor

CACHE_SIZE = 8  # plans kept per compiled function
WARN_AFTER = 4  # retraces of one function before a warning says what keeps changing


class CompileCheckError(AssertionError):
    """Raised by ``compile(fn, check=True)`` when a replay differs from an eager run of ``fn``."""


# -- recording -------------------------------------------------------------------------------
class Step:
    """One recorded op: ``out = op(*ins, **params)``; ``ins`` are slot numbers (None for a None input)."""

    __slots__ = ("op", "ins", "params", "needs", "tracked", "out", "scope", "name")

    def __init__(self, op, ins, params, needs, tracked, out, scope):
        self.op, self.ins, self.params, self.needs, self.tracked = op, ins, params, needs, tracked
        self.out, self.scope, self.name = out, scope, None

    def __repr__(self):
        args = ["None" if i is None else f"v{i}" for i in self.ins]
        args += [f"{k}={_short(v)}" for k, v in self.params.items()]
        return f"v{self.out} = {self.op.name}({', '.join(args)}){self.comment()}"

    def comment(self, scope=None):
        """``  # scope: name``, where the step has either (``scope``: written in its place)."""
        text = ": ".join(filter(None, (self.scope if scope is None else scope, self.name)))
        return f"  # {text}" if text else ""


def _short(value):
    text = repr(value).replace("Ellipsis", "...")
    return text if len(text) <= 40 else text[:37] + "..."


class ArgRef:
    """An argument's array inside a step's params (an index array passed to fn): read afresh on each call."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def resolve(self, arrays):
        return arrays[self.k]


def _resolve(value, arrays):
    if type(value) is tuple:
        return tuple(_resolve(v, arrays) for v in value)
    return value.resolve(arrays) if type(value) is ArgRef else value


def _has_ref(value):
    return type(value) is ArgRef or type(value) is tuple and any(map(_has_ref, value))


class _Recorder:
    """What ``state.trace`` points at while a function is traced: the steps and where each value comes from."""

    def __init__(self, flat):
        self.steps = []
        self.sources = []  # per slot: ("arg", k) | ("leaf", tensor) | ("const", array) | ("convert", k, dtype) | ("op", i)
        self.meta = []  # per slot: (shape, dtype)
        self.outs = []  # each step's output Tensor
        self.slot_of = {}  # id(Tensor or array) -> slot
        self.alive = []  # every object whose id is a key above, so no id is reused during the trace
        self.modules = []
        self.arg_arrays = {}  # id(an argument's array) -> position in flat
        for k, a in enumerate(flat):
            array = a.data if isinstance(a, Tensor) else a
            self.arg_arrays[id(array)] = k
            self._new_slot(a, ("arg", k), array)

    def _new_slot(self, obj, source, array):
        slot = len(self.sources)
        self.sources.append(source)
        self.meta.append((np.shape(array), np.asarray(array).dtype))
        self.slot_of[id(obj)] = slot
        self.alive.append(obj)
        return slot

    def slot(self, x):
        """The slot of an op's input: a traced value, an argument, a leaf read afresh each call, or a constant."""
        if x is None:
            return None
        found = self.slot_of.get(id(x))
        if found is not None:
            return found
        if isinstance(x, Tensor):
            return self._new_slot(x, ("leaf", x), x.data)  # made outside fn: read afresh on every call
        return self._new_slot(x, ("const", x), x)  # a number or an array made inside fn: frozen

    def record(self, op, args, params, out):
        ins = tuple(self.slot(a) for a in args)
        params = {key: self._param(value) for key, value in params.items()}
        tracked = out._node is not None
        needs = tuple(p is not None for p in out._node.parents) if tracked else (False,) * len(args)
        slot = self._new_slot(out, ("op", len(self.steps)), out.data)
        self.steps.append(Step(op, ins, params, needs, tracked, slot, state.scope))
        self.outs.append(out)

    def _param(self, value):
        """A param as recorded: an argument's array inside it (an index) becomes an `ArgRef`."""
        if type(value) is tuple:
            return tuple(self._param(v) for v in value)
        if isinstance(value, np.ndarray) and id(value) in self.arg_arrays:
            return ArgRef(self.arg_arrays[id(value)])
        return value

    def created(self, tensor, data):
        source = self.slot_of.get(id(data))
        if source is not None:  # Tensor(x) of an argument or a traced value: a copy made on every call
            self._new_slot(tensor, ("convert", source, tensor.data.dtype), tensor.data)
        else:
            self._new_slot(tensor, ("const", tensor.data), tensor.data)

    def detached(self, new, old):
        self.slot_of[id(new)] = self.slot(old)  # the same array; the ops that read it record needs=False
        self.alive.append(new)


# -- signatures ------------------------------------------------------------------------------
def _signature(args, kwargs):
    """(flat list of Tensors and arrays in the arguments, hashable key, readable description per argument)."""
    flat, key, first = [], [], {}

    def walk(x, label):
        if isinstance(x, Tensor):
            k = first.setdefault(id(x), len(flat))
            flat.append(x)
            key.append((label, ("Tensor", x.data.shape, x.data.dtype.str, x.requires_grad, k)))
        elif isinstance(x, np.ndarray):
            k = first.setdefault(id(x), len(flat))
            flat.append(x)
            key.append((label, ("array", x.shape, x.dtype.str, k)))
        elif type(x) in (tuple, list):
            key.append((label, (type(x).__name__, len(x))))
            for i, v in enumerate(x):
                walk(v, f"{label}[{i}]")
        elif type(x) is dict:
            key.append((label, ("dict", tuple(x))))
            for k, v in x.items():
                walk(v, f"{label}[{k!r}]")
        else:
            try:
                hash(x)
            except TypeError:
                raise TypeError(
                    f"compile: {label} is a {type(x).__name__}, which is neither a Tensor, a NumPy array nor a "
                    "hashable value; a compiled function is keyed on its arguments: pass this through a closure"
                ) from None
            key.append((label, ("value", type(x), x)))

    for i, a in enumerate(args):
        walk(a, f"argument {i}")
    for name, a in kwargs.items():
        walk(a, f"argument {name!r}")
    return flat, tuple(key)


def _what_changed(old, new):
    """Name what differs between two signatures, for the retrace warning."""
    old_d, new_d = dict(old), dict(new)
    changes = [f"{label}: {old_d.get(label)} -> {new_d.get(label)}" for label in {**old_d, **new_d}
               if old_d.get(label) != new_d.get(label)]
    return "; ".join(changes) or "the modules' training flags or the leaves' shapes"


def _flatten_outputs(result):
    """(Tensors in fn's result, a function that rebuilds the result's structure from new Tensors)."""
    if isinstance(result, Tensor):
        return [result], lambda ts: ts[0]
    if result is None:
        return [], lambda ts: None
    if type(result) in (tuple, list):
        parts = [_flatten_outputs(r) for r in result]
        sizes = [len(p[0]) for p in parts]

        def rebuild(ts):
            out, start = [], 0
            for (_, build), n in zip(parts, sizes):
                out.append(build(ts[start : start + n]))
                start += n
            return type(result)(out)

        return [t for p in parts for t in p[0]], rebuild
    raise TypeError(
        f"compile: the function returned a {type(result).__name__}; a compiled function returns Tensors (or tuples "
        "or lists of them), since any other value would be frozen at its first call's value"
    )


# -- the plan --------------------------------------------------------------------------------
class _Registers:
    """Variable names for values in generated code, reused like a CPU's registers.

    A value takes the lowest free name; once its last use is past the name is free again, and
    the next value assigned to it frees the old one.  So memory is given back as early as with
    a ``del`` after each last use, without the extra lines (each line costs compile time).
    """

    def __init__(self, prefix):
        self.prefix, self.free, self.count, self.of = prefix, [], 0, {}

    def __contains__(self, slot):
        return slot in self.of

    def __getitem__(self, slot):
        return f"{self.prefix}{self.of[slot]}"

    def take(self, slot):
        if self.free:
            self.of[slot] = heapq.heappop(self.free)
        else:
            self.of[slot], self.count = self.count, self.count + 1
        return self[slot]

    def release(self, slot):
        heapq.heappush(self.free, self.of.pop(slot))


class Plan:
    """The recorded steps of one signature, and the generated code that replays them.

    ``plan.code`` is the forward function; ``plan.backward_code`` holds each backward function
    written so far (one per set of outputs that receive a gradient).  ``print(plan)`` lists the steps.
    """

    def __init__(self, recorder, flat, outputs, rebuild, fn_name):
        self.steps, self.sources, self.meta = recorder.steps, recorder.sources, recorder.meta
        for step, out in zip(self.steps, recorder.outs):
            step.name = out._name
        self.fn_name, self.rebuild = fn_name, rebuild
        self.out_slots = [recorder.slot(t) for t in outputs]
        self.out_names = [t._name for t in outputs]
        self.modules = [(m, m.training) for m in dict.fromkeys(recorder.modules)]
        self.leaves = [src[1] for src in self.sources if src[0] == "leaf"]
        self.leaf_meta = [(t.data.shape, t.data.dtype, t.requires_grad) for t in self.leaves]
        self.input_slots = [s for s, src in enumerate(self.sources)
                            if src[0] == "leaf" and src[1].requires_grad
                            or src[0] == "arg" and isinstance(flat[src[1]], Tensor) and flat[src[1]].requires_grad]
        self.hub_slots = [s for s in self.out_slots
                          if self.sources[s][0] == "op" and self.steps[self.sources[s][1]].tracked]
        self.loops = find_loops(self.steps, self.sources, self.meta)
        self.loop_at = {loop.start: loop for loop in self.loops}
        self.body = {}  # slot -> (loop, block, position) of every value a loop makes
        for loop in self.loops:
            for j in range(loop.count):
                for r in range(loop.period):
                    self.body[self.steps[loop.start + j * loop.period + r].out] = (loop, j, r)
        self.backward_code = {}
        self._backward_fns = {}
        self.code, self._forward = self._write_forward()
        self.hub_op = Primitive(f"compiled {fn_name}", None, self._hub_backward)

    def __repr__(self):
        return "\n".join(map(repr, self.steps))

    def valid(self):
        """False when a module's training flag or a leaf's shape, dtype or requires_grad changed since the trace."""
        for m, training in self.modules:
            if m.training != training:
                return False
        for t, (shape, dtype, requires_grad) in zip(self.leaves, self.leaf_meta):
            d = t.data
            if d.shape != shape or d.dtype != dtype or t.requires_grad != requires_grad:
                return False
        return True

    # ---- forward ----
    def _write_forward(self):
        lines, env, names = [], {"_array": np.array, "_resolve": _resolve}, {}
        steps, sources, body = self.steps, self.sources, self.body
        leaf_index = {s: j for j, s in enumerate(s for s, src in enumerate(sources) if src[0] == "leaf")}
        keep = set(self.out_slots)
        last_use, first_use, listed, copied = {}, {}, set(), {}

        def use(s, i):
            """Value ``s`` is read at step ``i``.  Loop values read after their loop: listed, or copied out."""
            where = body.get(s)
            if where is None:
                last_use[s] = max(last_use.get(s, -1), i)
                first_use.setdefault(s, i)
            elif where[1] < where[0].count - 1:
                listed.add((where[0].start, where[2]))  # a block other than the last: E lists
            else:
                found = copied.setdefault(where[0].start, {})
                found[s] = max(found.get(s, -1), i)

        def loop_inputs(loop):
            """(slot, ref) of each value the loop reads from outside: ext in every block, prev before the first."""
            return [(s, ref) for r, row in enumerate(loop.refs) for s, ref in zip(steps[loop.start + r].ins, row)
                    if ref is not None and ref[0] != "own"]

        i = 0
        while i < len(steps):
            loop = self.loop_at.get(i)
            if loop is None:
                for s in steps[i].ins:
                    if s is not None:
                        use(s, i)
                i += 1
            else:
                for s, ref in loop_inputs(loop):
                    use(s, loop.end - 1 if ref[0] == "ext" else loop.start)
                i = loop.end
        for s in keep:
            use(s, len(steps))
        for start, found in copied.items():
            for s, i in list(found.items()):
                if (start, body[s][2]) in listed:
                    del found[s]
                else:
                    last_use[s] = i
        for s, src in enumerate(sources):  # a conversion reads its source where it is first used
            if src[0] == "convert" and s in first_use:
                last_use[src[1]] = max(last_use.get(src[1], -1), first_use[s])
        regs = _Registers("r")

        def ref(slot):
            src = sources[slot]
            if src[0] == "const":
                env[f"K{slot}"] = src[1]
                return f"K{slot}"
            if src[0] == "arg":
                return f"A[{src[1]}]"
            if src[0] == "leaf":
                return f"L[{leaf_index[slot]}]"
            where = body.get(slot)
            if where is not None and (where[0].start, where[2]) in listed:
                return f"E{where[0].start}_{where[2]}[{where[1]}]"
            if slot not in regs and src[0] == "convert":
                env[f"D{slot}"] = src[2]
                value = f"_array({ref(src[1])}, D{slot})"
                lines.append(f"    {regs.take(slot)} = {value}")
            return regs[slot]

        n_saved = 0
        i = 0
        while i < len(steps):
            loop = self.loop_at.get(i)
            if loop is not None:
                n_saved = self._write_loop(loop, lines, env, names, ref, listed, n_saved)
                for s in copied.get(loop.start, ()):  # values of the last block read after the loop
                    lines.append(f"    {regs.take(s)} = x{body[s][2]}")
                for s, _ in loop_inputs(loop):
                    if s in regs and last_use[s] < loop.end and s not in keep:
                        regs.release(s)
                i = loop.end
                continue
            step = steps[i]
            args = ["None" if s is None else ref(s) for s in step.ins]
            text = self._call(i, step, args, env, names)
            for start, q, count in {(body[s][0].start, body[s][2], body[s][0].count) for s in step.ins if s in body}:
                if (start, q) in listed:  # all of a loop's E list, in order: *E
                    text = _starred(text, f"E{start}_{q}", 0, count)
            for s in dict.fromkeys(step.ins):  # inputs used for the last time: their registers are free again
                if s is not None and last_use.get(s) == i and s not in keep and s in regs:
                    regs.release(s)
            out = regs.take(step.out)
            if step.tracked:
                lines.append(f"    {out}, S[{n_saved}] = {text}{step.comment()}")
                n_saved += 1
            else:
                lines.append(f"    {out} = {text}[0]{step.comment()}")
            if step.out not in last_use and step.out not in keep:
                regs.release(step.out)  # never read: freed by the next value that takes its register
            i += 1
        outs = [ref(s) for s in self.out_slots]
        lines.append(f"    return [{', '.join(outs)}], S")
        code = (f"def forward(A, L):\n    # {self.fn_name}: {len(steps)} ops. A: the arguments' arrays, "
                f"L: the leaves', S: what each op saved for its gradient\n    S = [None] * {n_saved}\n"
                + "\n".join(lines) + "\n")
        exec(_compiled(code, f"<compiled {self.fn_name} forward>"), env)
        return code, env["forward"]

    def _call(self, i, step, args, env, names, params=None):
        """``f_op(args, key=P{i}_key, needs=...)``: the call of step ``i``'s forward (``params``: names to read them by)."""
        fwd = _function_name(env, names, "f_", step.op, step.op.forward)
        for key, value in step.params.items():
            if params is None:
                name, resolve = f"P{i}_{key}", _has_ref(value)
                env[name] = value
            else:
                name, resolve = params[key]
            args.append(f"{key}=_resolve({name}, A)" if resolve else f"{key}={name}")
        if step.op.takes_needs:
            args.append(f"needs={_needs_name(env, step.needs)}")
        return f"{fwd}({', '.join(args)})"

    def _write_loop(self, loop, lines, env, names, ref, listed, n_saved):
        """Write ``loop`` as a Python for loop over its blocks; return the number of saved values after it.

        Position ``q`` of the block runs into variable ``x{q}``; a value the next block reads (a carried
        h or c) is read from ``x{q}`` before this block assigns it.  Values read after the loop go
        into the E lists, one per position.  A params value that differs between blocks is read from
        the list the loop runs over.
        """
        steps, p, n = self.steps, loop.period, loop.count
        block = steps[loop.start : loop.start + p]
        ext = {}
        for r, row in enumerate(loop.refs):
            for s, r_ in zip(block[r].ins, row):
                if r_ is not None and r_[0] == "ext":
                    ext[s] = ref(s)
        for q in loop.carried():
            lines.append(f"    x{q} = {ref(steps[loop.start - p + q].out)}")
        lists = [q for q in range(p) if (loop.start, q) in listed]
        for q in lists:
            lines.append(f"    E{loop.start}_{q} = []")
        varying, params = [], []
        for r, step in enumerate(block):
            names_r = {}
            for key, value in step.params.items():
                values = [steps[loop.start + j * p + r].params[key] for j in range(n)]
                resolve = any(map(_has_ref, values))
                if all(same_value(value, v) for v in values[1:]):
                    names_r[key] = (f"P{loop.start + r}_{key}", resolve)
                    env[f"P{loop.start + r}_{key}"] = value
                else:
                    names_r[key] = (f"{key}{r}", resolve)
                    varying.append((f"{key}{r}", values))
            params.append(names_r)
        m = sum(step.tracked for step in block)
        k = "k" if m else "_"
        scope = scope_pattern(block[0].scope, steps[loop.start + p].scope)  # a loop has 2 blocks or more
        about = f"  # {n} blocks of {p} ops{': ' if scope else ''}{scope}"
        if varying:
            env[f"B{loop.start}"] = list(zip(range(n_saved, n_saved + n * m, m) if m else [None] * n,
                                             *(values for _, values in varying)))
            lines.append(f"    for {k}, {', '.join(name for name, _ in varying)} in B{loop.start}:{about}")
        elif m:
            lines.append(f"    for k in range({n_saved}, {n_saved + n * m}, {m}):{about}")
        else:
            lines.append(f"    for _ in range({n}):{about}")
        c = 0
        for r, (step, row) in enumerate(zip(block, loop.refs)):
            args = ["None" if ref_ is None else ext[s] if ref_[0] == "ext" else f"x{ref_[1]}"
                    for s, ref_ in zip(step.ins, row)]
            text = self._call(loop.start + r, step, args, env, names, params[r])
            comment = step.comment(scope_pattern(step.scope, steps[loop.start + p + r].scope))
            if step.tracked:
                lines.append(f"        x{r}, S[k{f' + {c}' if c else ''}] = {text}{comment}")
                c += 1
            else:
                lines.append(f"        x{r} = {text}[0]{comment}")
            if r in lists:
                lines.append(f"        E{loop.start}_{r}.append(x{r})")
        return n_saved + n * m

    def unfold(self, hub):
        """Graph nodes for every tracked step, as eager mode would have recorded them, on this call's saved values.

        For drawings: ``viz.to_dot`` of a compiled output draws the ops, scopes and names of the trace.
        Returns {slot: node}; the nodes are kept on ``hub``.
        """
        nodes = dict(zip(self.input_slots, hub.parents))
        saved = hub.saved
        k = 0
        for step in self.steps:
            if not step.tracked:
                continue
            parents = tuple(nodes.get(s) if need else None for s, need in zip(step.ins, step.needs))
            value = engine.FREED if saved is engine.FREED else saved[k]
            node = Node(step.op, value, parents, _Meta(*self.meta[step.out]))
            node.scope, node.name = step.scope, step.name
            nodes[step.out] = node
            k += 1
        hub._unfolded = nodes
        return nodes

    # ---- backward ----
    def _hub_backward(self, grads, saved, needs):
        saved = list(saved) if state.retaining else saved  # the code frees each saved value once used
        pattern = tuple(g is not None for g in grads)
        fn = self._backward_fns.get(pattern)
        paused = gc.isenabled()
        gc.disable()
        try:
            return fn(saved, grads) if fn is not None else self._discover(pattern, grads, saved)
        finally:
            if paused:
                gc.enable()

    def _discover(self, pattern, grads, saved):
        """Backward through the steps by the engine's rules on real values, writing down each rule it applies.

        Returns the gradients of the call's inputs, and keeps the written function for the next calls.
        The lines are written with a token per gradient (`_g`), given variable names by `_render_backward`.
        """
        position = {i: k for k, i in enumerate(i for i, step in enumerate(self.steps) if step.tracked)}
        env, names = {"add_grad": add_grad, "_zeros": np.zeros, "_asarray": np.asarray}, {}
        total, owned = {}, {}
        items = []  # (step index or None, [(code, comment)]), in the order the backward runs them
        top = len(position)

        def accumulate(slot, g, expr, into=None):
            """Add gradient ``g`` (named ``expr`` in the code) into ``slot`` by add_grad; return the line that does
            the same: add_grad's branch for these kinds written out where it is a one-liner, else a call to it.
            ``into``: the op's ``backward_into`` call, less its buffer, which adds a `Scatter` without making it."""
            shape, dtype = self.meta[slot]
            t, o = total.get(slot), owned.get(slot, False)
            total[slot], owned[slot] = add_grad(t, o, g, shape, dtype)
            v = _g(slot)
            if type(g) is Outer and t is None:
                return f"{v} = {expr}"
            if type(g) is Outer and type(t) is Outer:
                return f"{v}.extend({expr})"
            if type(g) is Scatter and t is None:
                env[f"Z{slot}"] = (shape, np.result_type(dtype, g.value.dtype))
                return f"{v} = _zeros(*\x01Z{slot}\x02); " + (f"{into}{v})" if into else f"{expr}.add_to({v})")
            if type(g) is Scatter and o and type(t) is np.ndarray:
                return f"{into}{v})" if into else f"{expr}.add_to({v})"
            if type(g) is np.ndarray and type(t) is np.ndarray and g.shape == shape == t.shape:
                return f"{v} += {expr}" if o else f"{v} = {v} + {expr}"
            if type(g) is np.ndarray and t is None:  # a broadcast operand's first gradient: unbroadcast's sums
                added, stretched = broadcast_axes(g.shape, shape)
                if added:
                    expr = f"{expr}.sum(axis={added})"
                if stretched:
                    expr = f"{expr}.sum(axis={stretched}, keepdims=True)"
                return f"{v} = {expr}" if shape else f"{v} = _asarray({expr})"
            env[f"M{slot}"] = self.meta[slot]
            before = "None, False" if t is None else f"{v}, {o!r}"
            return f"{v}, _ = add_grad({before}, {expr}, \x01M{slot}\x02[0], \x01M{slot}\x02[1])"

        items.append((None, [_split(accumulate(slot, grads[k], f"G[{k}]"), "")
                             for k, slot in enumerate(self.hub_slots) if pattern[k]]))
        for i in reversed(range(len(self.steps))):
            step = self.steps[i]
            if not step.tracked or step.out not in total:
                continue
            lines = []
            comment = step.comment()
            g = total.pop(step.out)
            del owned[step.out]
            v = _g(step.out)
            if type(g) is Outer:
                g = g.dense()
                lines.append((f"{v} = {v}.dense()", ""))
            bwd = _function_name(env, names, "vjp_", step.op, step.op.backward)
            k = position[i]
            results = step.op.backward(g, saved[k], step.needs)
            saved[k] = engine.FREED
            if k < top - 1:  # saved values of steps no gradient reaches
                lines.append((f"del S[-{top - 1 - k}:]", ""))
            top = k
            call = f"{bwd}({v}, S.pop(), {_needs_name(env, step.needs)})"
            targets, after = [], []
            for j, (s, gp) in enumerate(zip(step.ins, results)):
                if s is None or gp is None or not step.needs[j]:
                    targets.append("_")
                elif s not in total and type(gp) is np.ndarray and gp.shape == self.meta[s][0]:
                    total[s], owned[s] = gp, False  # the engine's common case: the first gradient, as it is
                    targets.append(_g(s))
                elif len(step.ins) == 1:  # one line: the gradient added where the call is
                    into = None
                    if step.op.backward_into is not None:  # a Scatter is added where it goes, not made
                        into = f"{_function_name(env, names, 'vjp_into_', step.op, step.op.backward_into)}({v}, S.pop(), "
                    lines.append((accumulate(s, gp, f"{call}[0]", into), comment))
                    break
                else:
                    targets.append(f"t{j}")
                    after.append((accumulate(s, gp, f"t{j}"), ""))
            else:
                lines.append((f"{', '.join(targets)}{',' if len(targets) == 1 else ''} = {call}", comment))
            lines.extend(after)
            items.append((i, [_split(code, comment) for code, comment in lines]))
        result = "return (" + "".join(f"{_g(s)}, " if s in total else "None, " for s in self.input_slots) + ")"
        items.append((None, [_split(result, "")]))
        code = (f"def backward(S, G):\n    # {self.fn_name}. S: the saved values, G: gradients of outputs "
                f"{[k for k, p in enumerate(pattern) if p]}\n" + self._render_backward(items, env) + "\n")
        exec(_compiled(code, f"<compiled {self.fn_name} backward>"), env)
        self.backward_code[pattern] = code
        self._backward_fns[pattern] = env["backward"]
        return tuple(total.get(s) for s in self.input_slots)

    def _backward_loops(self, by_step, env):
        """(loop, first block, blocks) for each loop whose blocks' backward lines are the same but for names.

        A block's lines are compared with each gradient written as own/prev/ext of that block (as
        `loops.input_refs` classifies inputs) and each constant as its value.
        """
        sources, found = self.sources, []
        for loop in self.loops:
            p, texts = loop.period, []
            for j in range(loop.count):
                b = loop.start + j * p
                text = []
                for i in range(b + p - 1, b - 1, -1):
                    for parts, _, template in by_step.get(i, ()):
                        text.append(template)
                        text.extend(ref_of(slot, sources, b, p) if kind == "g" else env[f"{kind}{slot}"]
                                    for kind, slot in _tokens(parts))
                texts.append(text)
            j0, n = longest_equal_run(texts)
            if n >= 2 and texts[j0] and (n - 1) * p >= looping.MIN_SAVED:
                found.append((loop, j0, n))
        return found

    def _render_backward(self, items, env):
        """The backward's text from its lines: gradients in registers ``g0, g1, ...``, and each loop that
        `_backward_loops` finds written once, as a for loop over its blocks from the last to the first.

        In a loop, position ``q``'s gradient is ``gx{q}``.  Where another block or code outside the
        loop adds to it (a carried h or c; each h stacked into the output), it lives in a list
        ``gs{loop}_{q}``: one entry per block, after one for the value carried into the first block.
        Each block pops its own entry and adds into the entry of the block before it, ``[-1]``.
        """
        steps, sources = self.steps, self.sources
        by_step = {i: lines for i, lines in items if i is not None}
        number = {i: num for num, (i, _) in enumerate(items) if i is not None}
        first_seen = {}
        for num, (_, lines) in enumerate(items):
            for parts, _, _ in lines:
                for kind, slot in _tokens(parts):
                    if kind == "g" and slot not in first_seen:
                        first_seen[slot] = num
        loops = []
        for loop, j0, n in self._backward_loops(by_step, env):
            p = loop.period
            lo = loop.start + j0 * p
            top, hi = lo + (n - 1) * p, lo + n * p
            begin = min(number[i] for i in range(lo, hi) if i in number)
            carried, ext = set(), set()
            for i in range(top, hi):
                for parts, _, _ in by_step.get(i, ()):
                    for kind, slot in _tokens(parts):
                        where, q = ref_of(slot, sources, top, p) if kind == "g" else ("const", None)
                        if where == "prev":
                            carried.add(q)
                        elif where == "ext":
                            ext.add(slot)
            if all(first_seen.get(s, begin) < begin for s in ext):  # outside gradients the body adds into exist
                loops.append(_BackwardLoop(loop, lo, n, carried))
        inside, span = {}, {}
        for k, bl in enumerate(loops):
            for idx in range(bl.lo, bl.hi):
                inside[steps[idx].out] = (k, (idx - bl.lo) // bl.p, (idx - bl.lo) % bl.p)
                span[idx] = k
        if inside:
            for i, lines in items:  # gradients of a loop's values that code outside the loop adds to
                for parts, _, _ in lines:
                    for kind, slot in _tokens(parts):
                        where = inside.get(slot) if kind == "g" else None
                        if where is not None and where[0] != span.get(i):
                            loops[where[0]].listed.add(where[2])
        regs = _Registers("g")
        named = {}  # the lists a line names, in order: name -> entries

        def straight(kind, s):
            if kind != "g":
                return f"{kind}{s}"
            where = inside.get(s)
            if where is not None:
                named[f"{loops[where[0]].name}{where[2]}"] = loops[where[0]].n
                return f"{loops[where[0]].name}{where[2]}[{where[1] + 1}]"
            return regs[s] if s in regs else regs.take(s)

        def written(parts):
            """The line, with a list's every block entry in order (a stack's gradients) as one ``*gs..[1:]``."""
            named.clear()
            text = _fill(parts, straight)
            for name, n in named.items():
                starred = _starred(text, name, 1, n + 1)
                if starred != text:
                    return starred  # one starred target per assignment
            return text

        out = [f"    {bl.name}{q} = [None] * {bl.n + 1}" for bl in loops for q in sorted(bl.listed)]
        for i, lines in items:
            k = span.get(i)
            if k is not None:
                if not loops[k].written:  # the loop's first step in the backward's order
                    loops[k].written = True
                    out.extend(self._backward_loop_lines(loops[k], by_step, straight, regs, inside))
                continue
            for parts, comment, _ in lines:
                out.append(f"    {written(parts)}{comment}")
            if i is not None and steps[i].out in regs:
                regs.release(steps[i].out)
        return "\n".join(out)

    def _backward_loop_lines(self, bl, by_step, straight, regs, inside):
        """The for loop that runs the backward of ``bl``'s blocks, with the lines that pass its carried gradients."""
        steps, sources, p, top, name = self.steps, self.sources, bl.p, bl.hi - bl.p, bl.name
        lines = []
        inits = {q: steps[bl.lo - p + q].out for q in sorted(bl.carried)}
        for q, init in inits.items():
            if init in regs or init in inside:  # it has a gradient already: a register's, or an earlier loop's entry
                lines.append(f"    {name}{q}[0] = {straight('g', init)}")

        def body(kind, slot):
            where, q = ref_of(slot, sources, top, p) if kind == "g" else ("const", None)
            if where == "own":
                return f"gx{q}"
            if where == "prev":
                return f"{name}{q}[-1]"
            return straight(kind, slot)

        scope = scope_pattern(steps[top].scope, steps[top - p].scope)
        lines.append(f"    for _ in range({bl.n}):  # {bl.n} blocks of {p} ops, last to first{': ' if scope else ''}{scope}")
        lines.extend(f"        gx{q} = {name}{q}.pop()" for q in sorted(bl.listed))
        for i in range(top + p - 1, top - 1, -1):
            for parts, comment, _ in by_step.get(i, ()):
                if comment:
                    comment = steps[i].comment(scope_pattern(steps[i].scope, steps[i - p].scope))
                lines.append(f"        {_fill(parts, body)}{comment}")
        for q, init in inits.items():
            lines.append(f"    {straight('g', init)} = {name}{q}[0]")
        return lines


class _BackwardLoop:
    """A loop of the backward: ``n`` blocks of ``loop`` from step ``lo`` on, and which positions' gradients
    live in lists (``listed``: carried from one block to the one before, or added to outside the loop)."""

    def __init__(self, loop, lo, n, carried):
        self.loop, self.lo, self.n, self.p = loop, lo, n, loop.period
        self.hi = lo + n * loop.period
        self.carried, self.listed = carried, set(carried)
        self.name = f"gs{loop.start}_"
        self.written = False


class _Meta:
    """Shape and dtype of a value, for graph nodes rebuilt without their arrays."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


_TOKEN = re.compile("\x01([gZM])(\\d+)\x02")  # a gradient's or a constant's name in a backward line


def _split(code, comment):
    """A backward line as (parts, comment, template): ``parts`` alternates text with each name's kind and slot."""
    parts = _TOKEN.split(code)
    parts[2::3] = map(int, parts[2::3])
    return parts, comment, "\x01".join(parts[0::3])


def _tokens(parts):
    """(kind, slot) of each name in a split line."""
    return zip(parts[1::3], parts[2::3])


def _fill(parts, name):
    """The line with each name written as ``name(kind, slot)`` says."""
    out = [parts[0]]
    for k in range(1, len(parts), 3):
        out += (name(parts[k], parts[k + 1]), parts[k + 2])
    return "".join(out)


def _g(slot):
    """The token for slot's gradient in a backward line, named by `Plan._render_backward`."""
    return f"\x01g{slot}\x02"


def _starred(text, name, start, stop):
    """``text`` with ``name[start], ..., name[stop - 1]``, side by side and in order, written as one
    ``*name`` (``*name[start:]``): a loop's list passed, or assigned, whole."""
    run = ", ".join(f"{name}[{j}]" for j in range(start, stop))
    return text.replace(run, f"*{name}[{start}:]" if start else f"*{name}", 1)


_CODE_CACHE = OrderedDict()  # source text -> code object, for the last CODE_CACHE_SIZE texts compiled
CODE_CACHE_SIZE = 32


def _compiled(source, filename):
    """``source`` compiled by Python, or the code object compiled from the same text before.

    Compiling is most of a new signature's one-off cost (about 10-25 us per line).  Constants are
    named in the text and their values live in the globals the code runs with, so a retrace for a
    new batch size writes the same text and skips the compiler.
    """
    key = (source, filename)
    code = _CODE_CACHE.get(key)
    if code is None:
        code = _CODE_CACHE[key] = builtins.compile(source, filename, "exec")
        if len(_CODE_CACHE) > CODE_CACHE_SIZE:
            _CODE_CACHE.popitem(last=False)
    else:
        _CODE_CACHE.move_to_end(key)
    return code


def _function_name(env, names, prefix, op, function):
    """The name the written code calls ``function`` by: ``f_tanh``, ``vjp_tanh`` (numbered if two ops share a name).

    ``names`` remembers the name given to each function (``env``, the code's globals, keeps string keys only).
    """
    name = names.get(function)
    if name is None:
        base = prefix + "".join(c if c.isalnum() else "_" for c in op.name)
        name, n = base, 1
        while name in env:
            n += 1
            name = f"{base}{n}"
        env[name], names[function] = function, name
    return name


def _needs_name(env, needs):
    """``needs_TF``: which inputs of an op want a gradient, as a named constant of the written code."""
    name = _NEEDS_NAMES.get(needs)
    if name is None:
        name = _NEEDS_NAMES[needs] = "needs_" + "".join("T" if n else "F" for n in needs)
    if name not in env:
        env[name] = list(needs)
    return name


_NEEDS_NAMES = {}


class _HubNode(Node):
    """The graph node of a whole compiled call: its parents are the call's inputs that require grad."""

    __slots__ = ("_unfolded",)

    def __init__(self, op, saved, parents):
        self.op, self.saved, self.parents = op, saved, parents
        self.scope, self.shape, self.dtype, self.name, self.values = "", (), None, None, None
        self.seq = next(engine._sequence)
        self._g = self._unfolded = None


def _output_backward(g, k_of_n, needs):
    return (Part(*k_of_n, g),)


_OUTPUT = Primitive("output", None, _output_backward)


class _OutputNode(Node):
    """The node of output ``k`` of a compiled call: its one parent is the call's `_HubNode`."""

    __slots__ = ("plan", "slot")

    def unfold(self):
        """The node of this output in the graph of recorded ops, rebuilt from the plan with this call's saved values."""
        hub = self.parents[0]
        nodes = getattr(hub, "_unfolded", None)
        if nodes is None:
            nodes = self.plan.unfold(hub)
        return nodes[self.slot]


class Compiled:
    """A traced-and-replayed version of ``fn``, made by `compile`; call it as ``fn``.

    ``traces`` counts the traces so far; ``plan`` is the `Plan` used last (``print(plan)``
    lists its steps), ``code`` its generated forward, ``plan.backward_code`` its backward(s).

    Examples:
        >>> step = minigrad.compile(lambda x: (x * x).sum())
        >>> step(minigrad.ones(3, requires_grad=True)).item(), step.traces
        (3.0, 1)
    """

    def __init__(self, fn, check=False):
        self.fn = fn
        self.check = 2 if check is True else int(check)  # how many replays are checked against eager
        self.cache = OrderedDict()
        self.traces = 0
        self._last_key = None
        functools.update_wrapper(self, fn, updated=())

    @property
    def code(self):
        """The generated forward code of the most recent plan (its backward: ``self.plan.backward_code``)."""
        return None if self.plan is None else self.plan.code

    @property
    def plan(self):
        """The most recently used `Plan`."""
        return self.cache.get(self._last_key)

    def __call__(self, *args, **kwargs):
        if state.trace is not None or state.anomaly or state.keep_values:
            return self.fn(*args, **kwargs)  # inside another trace, or a diagnosis that needs every op's node
        flat, key = _signature(args, kwargs)
        full_key = (key, state.grad_enabled)
        plan = self.cache.get(full_key)
        if plan is None or not plan.valid():
            return self._trace(args, kwargs, flat, full_key)
        self.cache.move_to_end(full_key)
        self._last_key = full_key
        if self.check > 0:
            self.check -= 1
            return self._checked(plan, flat, args, kwargs)
        return _replay(plan, flat)

    def _trace(self, args, kwargs, flat, key):
        if self.traces >= WARN_AFTER and self._last_key is not None:
            warnings.warn(
                f"compile: {getattr(self.fn, '__name__', type(self.fn).__name__)} is traced again ({self.traces + 1} traces); what changed since the last "
                f"call: {_what_changed(self._last_key[0], key[0]) if self._last_key[1] == key[1] else 'grad mode'}. "
                "Each new signature costs a trace; keep shapes, dtypes and non-Tensor arguments fixed",
                stacklevel=3,
            )
        recorder = _Recorder(flat)
        watch.add(1)
        state.trace = recorder
        try:
            result = self.fn(*args, **kwargs)
        finally:
            state.trace = None
            watch.add(-1)
        outputs, rebuild = _flatten_outputs(result)
        self.cache[key] = Plan(recorder, flat, outputs, rebuild, getattr(self.fn, "__name__", type(self.fn).__name__))
        self._last_key = key
        self.traces += 1
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return result

    def _checked(self, plan, flat, args, kwargs):
        """Replay, and compare every op's result with an eager run of fn on the same arguments."""
        recorder = _Recorder(flat)
        states = _generator_states(plan)
        watch.add(1)
        state.trace = recorder
        try:
            self.fn(*args, **kwargs)
        finally:
            state.trace = None
            watch.add(-1)
        _restore_generators(states)
        values = _forward_values(plan, flat)
        for i, (ours, theirs) in enumerate(zip(plan.steps, recorder.steps)):
            where = f" in scope '{ours.scope}'" if ours.scope else ""
            if ours.op is not theirs.op:
                raise CompileCheckError(
                    f"compile(check=True): op {i} of the trace is '{ours.op.name}'{where}, but eager fn now runs "
                    f"'{theirs.op.name}' there: fn's Python control flow depends on its inputs' values. "
                    "Make the branch an op, or call fn without compile")
            if not np.array_equal(values[i], recorder.outs[i].data, equal_nan=True):
                raise CompileCheckError(
                    f"compile(check=True): op {i}, '{ours.op.name}'{where}, gives a different result replayed than "
                    "eager: fn's control flow or a NumPy value made inside fn depends on its inputs; the trace froze it")
        if len(recorder.steps) != len(plan.steps):
            raise CompileCheckError(
                f"compile(check=True): the trace has {len(plan.steps)} ops, eager fn now runs {len(recorder.steps)}: "
                "fn's Python control flow depends on its inputs' values")
        return _replay(plan, flat)


def _generator_states(plan):
    """The state of every generator the plan's random ops draw from, to draw the same values twice."""
    from .ops import random

    gens = {id(g): g for step in plan.steps for g in step.params.values() if isinstance(g, np.random.Generator)}
    gens[id(random.default_rng())] = random.default_rng()
    return [(g, g.bit_generator.state) for g in gens.values()]


def _restore_generators(states):
    for g, s in states:
        g.bit_generator.state = s


def _forward_values(plan, flat):
    """Every step's output array, by running the steps one by one (``check=True`` compares them with eager)."""
    values = {}
    for slot, src in enumerate(plan.sources):
        if src[0] == "arg":
            values[slot] = flat[src[1]].data if isinstance(flat[src[1]], Tensor) else flat[src[1]]
        elif src[0] == "leaf":
            values[slot] = src[1].data
        elif src[0] == "const":
            values[slot] = src[1]
        elif src[0] == "convert":
            values[slot] = np.array(values[src[1]], src[2])
    arrays = [a.data if isinstance(a, Tensor) else a for a in flat]
    outs = []
    for step in plan.steps:
        extra = {"needs": list(step.needs)} if step.op.takes_needs else {}
        params = {key: _resolve(value, arrays) for key, value in step.params.items()}
        y = step.op.forward(*(None if s is None else values[s] for s in step.ins), **params, **extra)[0]
        values[step.out] = y
        outs.append(y)
    return outs


def _replay(plan, flat):
    """Run the plan's forward code on this call's arrays; wrap its outputs as Tensors, graph-linked to the call."""
    arrays = [a.data if isinstance(a, Tensor) else a for a in flat]
    paused = gc.isenabled()
    gc.disable()  # the replay makes no cycles: the collector would only cost time
    try:
        outs, saved = plan._forward(arrays, [t.data for t in plan.leaves])
    finally:
        if paused:
            gc.enable()
    hub, k, tensors = None, 0, []
    for slot, y, name in zip(plan.out_slots, outs, plan.out_names):
        src = plan.sources[slot]
        if slot in plan.hub_slots:
            if hub is None:
                inputs = (plan.sources[s] for s in plan.input_slots)
                tensors_in = (src_[1] if src_[0] == "leaf" else flat[src_[1]] for src_ in inputs)
                hub = _HubNode(plan.hub_op, saved, tuple(t._node or t._graph_node() for t in tensors_in))
            t = Tensor.__new__(Tensor)
            t.data, t.grad, t._name, t.requires_grad = y, None, name, True
            t._node = node = _OutputNode(_OUTPUT, (k, len(plan.hub_slots)), (hub,), y)
            node.name, node.plan, node.slot = name, plan, slot
            k += 1
        elif src[0] == "arg" and isinstance(flat[src[1]], Tensor):
            t = flat[src[1]]
        elif src[0] == "leaf":
            t = src[1]
        else:
            t = Tensor._wrap(y)
            t._name = name
        tensors.append(t)
    return plan.rebuild(tensors)


def compile(fn=None, *, check=False):
    """Trace ``fn`` on its first call for each signature, and replay it on later calls; also a decorator.

    The replay computes bit for bit what ``fn`` computes eagerly, forward and backward, without a
    Tensor or graph node per op.  Python control flow is frozen at the trace (as in torch.jit.trace):
    ``check=True`` (or a number of calls) re-runs ``fn`` eagerly on the first replays and raises
    `CompileCheckError` naming the first op whose result differs.  ``compiled.code`` is the
    generated forward code.

    Examples:
        >>> lstm = minigrad.nn.LSTM(8, 16)
        >>> step = minigrad.compile(lambda x: lstm(x)[0].sum())
        >>> loss = step(np.ones((5, 2, 8), np.float32))     # traced
        >>> loss = step(np.zeros((5, 2, 8), np.float32))    # replayed
        >>> loss.backward()                                 # lstm's weights get .grad
    """
    if fn is None:
        return lambda f: Compiled(f, check)
    if not callable(fn):
        raise TypeError(f"compile takes a function (or a Module) to trace, got a {type(fn).__name__}")
    return Compiled(fn, check)
