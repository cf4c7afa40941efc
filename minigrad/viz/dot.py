"""Turn a recorded graph into a graphviz.Digraph: tensors, ops, scopes as clusters, gradient colours.

Reads the finished graph only; it never changes it (gradient norms come from a
side-effect-free backward that leaves every ``.grad`` alone).
"""
import html
import math
import re
import warnings

import numpy as np

from .. import engine
from ..nn.module import Parameter
from ..tensor import Tensor

OUTPUT = "#2e7d32"  # the border of output vertices
FONT = "Helvetica"  # both system Graphviz and graphviz-pure know its metrics
# Blue (vanishing) to red (exploding): ColorBrewer's RdYlBu, reversed.
PALETTE = ["#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8", "#fee090", "#fdae61", "#f46d43", "#d73027", "#a50026"]
DARK = {"#313695", "#4575b4", "#d73027", "#a50026"}


def _text(value):
    """Escape anything for an HTML-like Graphviz label: quotes, braces, angle brackets, newlines."""
    return html.escape(str(value), quote=True).replace("\n", "<br/>").replace("{", "&#123;").replace("}", "&#125;")


def _tip(lines):
    """Lines of plain text as a DOT tooltip: runs of white space made one space, backslashes kept literal."""
    return "\\n".join(" ".join(str(line).split()).replace("\\", "\\\\") for line in lines)


def _natural(name):
    """Sort key that puts t2 before t10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _shape(shape, dtype):
    return f"{tuple(shape)} {np.dtype(dtype).name}"


def _summary(array):
    array = np.asarray(array)
    if array.size == 0:
        return "empty"
    if array.size <= 4:
        return np.array2string(array.ravel(), precision=3, separator=", ", suppress_small=True)
    return f"min {array.min():.3g}  mean {array.mean():.3g}  max {array.max():.3g}"


def _gradients(roots):
    """d(sum of outputs)/d(node) for every node, by backward passes that accumulate nothing.

    Returns ``(grads, freed)``: when ``backward()`` already freed the graph, ``grads`` holds the
    leaves' ``.grad`` alone and ``freed`` is True.
    """
    grads = {}

    def record(node, g):
        grads[node] = grads[node] + g if node in grads else np.array(g)

    try:
        for root in roots:
            if root._node is not None:
                engine.run_backward(root._node, np.ones_like(root.data), retain_graph=True, accumulate=False,
                                    on_grad=record)
    except RuntimeError as e:
        if "retain_graph" not in str(e):
            raise
        leaves = [n for n in engine.forward_order([r._node for r in roots if r._node is not None])
                  if n.tensor is not None and n.tensor.grad is not None]
        return {n: np.asarray(n.tensor.grad) for n in leaves}, True
    return grads, False


def _norm(g):
    return float(np.sqrt(np.vdot(g, g).real))


def _colour(norm, low, high):
    if norm is None or norm <= 0:
        return "#ffffff"
    if high <= low:
        return PALETTE[len(PALETTE) // 2]
    position = (math.log10(norm) - low) / (high - low)
    return PALETTE[min(int(position * len(PALETTE)), len(PALETTE) - 1)]


class _Graph:
    """The nodes to draw, after collapsing scopes: each vertex is a graph node or a whole scope."""

    def __init__(self, outputs, params, depth, leaves=True):
        self.outputs = outputs
        self.nodes = engine.forward_order([t._node for t in outputs if t._node is not None])
        if not leaves:
            self.nodes = [n for n in self.nodes if n.op is not None]
        self.param_names = {id(p): name for name, p in (params or {}).items()}
        self.output_of = {t._node: t for t in outputs if t._node is not None}  # output vertices get a border
        self.depth = depth

    def group(self, node):
        """The collapsed scope a node belongs to, or None when it is drawn on its own."""
        if self.depth is None or not node.scope:
            return None
        parts = node.scope.split("/")
        return "/".join(parts[: self.depth]) if len(parts) >= self.depth else None

    def vertex_count(self):
        groups = {self.group(n) for n in self.nodes} - {None}
        detached = sum(1 for t in self.outputs if t._node is None)  # drawn as vertices of their own
        return len(groups) + sum(1 for n in self.nodes if self.group(n) is None) + detached


def _max_depth(nodes):
    return max((len(n.scope.split("/")) for n in nodes if n.scope), default=0)


_STEP = re.compile(r"t(\d+)")  # the scope of one time step: t0, t1, ...
RANKDIRS = ("TB", "LR", "BT", "RL")


def _step(node):
    """The time step a node was recorded in (the first scope part named t<number>), or None."""
    for part in node.scope.split("/"):
        if _STEP.fullmatch(part):
            return int(part[1:])
    return None


def to_dot(outputs, *, params=None, show_grad=False, show_data=False, collapse=None, max_nodes=500, leaves=True,
           rankdir=None):
    """Draw the graph that computed ``outputs`` as a ``graphviz.Digraph``.

    Tensor vertices (boxes) show name, shape and dtype; leaves, Parameters (named from ``params``,
    e.g. ``dict(model.named_parameters())``, or their own names) and outputs are styled apart;
    op vertices (ellipses) show the op; edges follow the data.  Ops are grouped into nested
    clusters by name scope.  In SVG every vertex has a tooltip (op, scope, shape, dtype, value and
    gradient statistics) and every edge says which input of which op it feeds.

    ``show_grad`` colours every vertex by the norm of the gradient of the (summed) outputs with
    respect to it, on a log scale with a legend.  After a plain ``backward()``, which frees the
    graph, only the leaves' ``.grad`` are left: those are drawn, inner vertices say "gradient
    freed", and the legend says to call ``backward(retain_graph=True)`` to keep them.
    ``show_data`` shows values (all of them when few, else min/mean/max; intermediate values need
    the graph recorded under `minigrad.viz.keep_values`).  ``collapse="scope"`` or a depth
    draws each scope at that depth as one vertex; a graph of more than ``max_nodes`` vertices is
    collapsed automatically, with a warning.  ``leaves=False`` leaves out leaf tensors and
    Parameters.  ``rankdir`` ("TB", the default, or "LR", "BT", "RL") is the direction data flows.
    A graph unrolled over time steps (scopes t0, t1, ...) is drawn as aligned steps standing side
    by side across that direction, in time order: with "TB", one column per step, time running
    left to right, the weights the steps share drawn once above them; with "LR", one row per step.

    Examples:
        >>> params = dict(model.named_parameters())
        >>> dot = to_dot(loss, params=params, show_grad=True, rankdir="LR")
    """
    return _build(outputs, params=params, show_grad=show_grad, show_data=show_data, collapse=collapse,
                  max_nodes=max_nodes, leaves=leaves, rankdir=rankdir, stacklevel=3).digraph


def _build(outputs, *, params=None, show_grad=False, show_data=False, collapse=None, max_nodes=500, leaves=True,
           rankdir=None, stacklevel=2):
    """The finished `_Builder`: its ``digraph`` and which vertex each graph node became."""
    import graphviz

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise TypeError("to_dot takes a Tensor or a list of Tensors (the outputs to draw)")
    if rankdir is not None and rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)} (or None for the default), got {rankdir!r}")
    probe = _Graph(outputs, params, None, leaves)
    if collapse == "scope":
        depth = _max_depth(probe.nodes)
    elif collapse is None or isinstance(collapse, int) and not isinstance(collapse, bool):
        depth = collapse
    else:
        raise ValueError(f"collapse must be None, 'scope' or a scope depth (int), got {collapse!r}")
    graph = _Graph(outputs, params, depth, leaves)
    if graph.vertex_count() > max_nodes:
        for d in range(_max_depth(graph.nodes), 0, -1):
            graph = _Graph(outputs, params, d, leaves)
            if graph.vertex_count() <= max_nodes:
                break
        warnings.warn(
            f"the graph has {len(probe.nodes)} ops, more than max_nodes={max_nodes}: drawing scopes collapsed "
            f"to depth {graph.depth} ({graph.vertex_count()} vertices). Pass collapse= or a larger max_nodes",
            stacklevel=stacklevel,
        )
    grads, freed = _gradients(outputs) if show_grad else ({}, False)
    steps = {_step(n) for n in graph.nodes} - {None}
    builder = _Builder(graphviz, graph, grads, freed, show_data, rankdir, unrolled=len(steps) > 1)
    builder.build()
    return builder


class _Builder:
    def __init__(self, graphviz, graph, grads, freed, show_data, rankdir, unrolled):
        self.graphviz, self.graph, self.show_data = graphviz, graph, show_data
        self.grads, self.freed, self.rankdir, self.unrolled = grads, freed, rankdir, unrolled
        self.show_grad = bool(grads) or freed
        self.norms = {node: _norm(g) for node, g in grads.items()}
        self.ids = {}
        logs = [math.log10(v) for v in self.norms.values() if v > 0]
        self.low, self.high = (min(logs), max(logs)) if logs else (0.0, 0.0)
        self.scoped = {}  # scope path -> list of (vertex id, kwargs) drawn inside that cluster
        self.digraph = None

    def vid(self, key):
        return self.ids.setdefault(key, f"n{len(self.ids)}")

    def fill(self, node, norm, default):
        if not self.show_grad:
            return default, "black"
        if norm is None and self.freed and (node is None or node.tensor is None):
            return "#e0e0e0", "#424242"  # gradient freed
        colour = _colour(norm, self.low, self.high)
        return colour, "white" if colour in DARK else "black"

    def grad_line(self, node, norm):
        if not self.show_grad:
            return ""
        if norm is None and self.freed and (node is None or node.tensor is None):
            return '<br/><font point-size="9">gradient freed</font>'
        return f'<br/><font point-size="9">|grad| {norm:.2e}</font>' if norm is not None else ""

    def place(self, scope, vertex, **attrs):
        self.scoped.setdefault(scope or "", []).append((vertex, attrs))

    def tensor_label(self, title, shape, dtype, node, norm, values):
        label = f"<b>{_text(title)}</b><br/>{_text(_shape(shape, dtype))}" if title else _text(_shape(shape, dtype))
        if self.show_data and values is not None:
            label += f'<br/><font face="Courier" point-size="9">{_text(_summary(values))}</font>'
        return "<" + label + self.grad_line(node, norm) + ">"

    def tooltip(self, kind, node, values):
        """Plain text shown on hover: what the vertex is, where, its shape, values and gradient."""
        lines = [kind]
        if node.name:
            lines.append(f"name: {node.name}")
        lines.append(f"scope: {node.scope or '(none)'}")
        lines.append(f"shape: {_shape(node.shape, node.dtype)}")
        if values is not None:
            lines.append(f"value: {_summary(values)}")
        else:
            lines.append("value: not kept (record the graph under viz.keep_values() to see it)")
        g = self.grads.get(node)
        if g is not None:
            lines.append(f"|grad|: {_norm(g):.3g}; grad: {_summary(g)}")
        elif self.freed:
            lines.append("grad: freed by backward(); call backward(retain_graph=True) to keep it")
        return _tip(lines)

    def build(self):
        g = self.graphviz.Digraph("minigrad")
        g.attr(fontname=FONT, fontsize="11", compound="true")
        g.attr("node", fontname=FONT, fontsize="10")
        g.attr("edge", fontname=FONT, color="#555555", arrowsize="0.7")
        edges = {}
        groups = {}
        drawn = set(self.graph.nodes)
        for node in self.graph.nodes:
            group = self.graph.group(node)
            if group is not None:
                groups.setdefault(group, []).append(node)
                continue
            self.add_vertex(node)
        for group, members in groups.items():
            known = [self.norms[n] for n in members if n in self.norms]
            norm = max(known) if known else None
            fill, font = self.fill(None, norm, "#eeeeee")
            parts = group.split("/")
            steps = [k for k, part in enumerate(parts) if _STEP.fullmatch(part)]
            title = " / ".join(parts[steps[0]:]) if steps else parts[-1]  # the step stays in sight
            label = f"<<b>{_text(title)}</b><br/>{len(members)} ops{self.grad_line(None, norm)}>"
            ops = sorted({n.op.name for n in members})
            tip = [f"scope: {group}", f"{len(members)} ops: {', '.join(ops)}"]
            if norm is not None:
                tip.append(f"largest |grad| inside: {norm:.3g}")
            parent_scope = "/".join(group.split("/")[:-1])
            vertex = self.vid(("group", group))
            self.place(parent_scope, vertex, label=label, shape="box3d", style="filled", fillcolor=fill,
                       fontcolor=font, tooltip=_tip(tip), id=vertex)
        for node in self.graph.nodes:
            target = self.vertex_of(node)
            for k, parent in enumerate(node.parents):
                if parent in drawn:  # leaves are left out with leaves=False
                    source = self.vertex_of(parent)
                    if source != target:
                        where = f" in {node.scope}" if node.scope else ""
                        edges.setdefault((source, target), []).append(f"input {k} of {node.op.name}{where}")
        for out in self.graph.outputs:
            if out._node is None:  # a tensor outside any graph: draw it alone
                vertex = self.vid(("output", id(out)))
                g.node(vertex, self.tensor_label(out.name or "output", out.shape, out.dtype, None, None, out.data),
                       shape="box", style="filled,bold", fillcolor="#c8e6c9", color=OUTPUT, id=vertex,
                       tooltip=_tip(["a tensor outside any graph", f"shape: {_shape(out.shape, out.dtype)}",
                                     f"value: {_summary(out.data)}"]))
        self.emit_clusters(g, "")
        for (source, target), feeds in edges.items():  # in forward order: layout meets earlier steps first
            g.edge(source, target, tooltip=_tip(dict.fromkeys(feeds)))
        rows = self.step_rows(edges) if self.unrolled else []
        for row in rows:
            g.body.append("\t{rank=same; " + "; ".join(row) + "}\n")
        # A chain of steps left without a row runs left to right by itself.
        self.rankdir = self.rankdir or ("LR" if self.unrolled and not rows else "TB")
        g.graph_attr.update(rankdir=self.rankdir, **({"newrank": "true"} if rows else {}))  # printed first
        if self.show_grad:
            self.legend(g)
        self.digraph = g
        return g

    def step_rows(self, edges):
        """Rows of vertices to keep level, one per position in the cell: step t's k-th ``mul`` in ``cell``
        beside every other step's, so the steps stand side by side as aligned columns, in time order.
        Steps collapsed to one vertex each make one row, a chain, except inside a cluster, where
        graphviz-pure does not keep a chain of same-rank vertices in order: that row is left out."""
        rows, seen, count = {}, set(), {}
        for node in self.graph.nodes:
            t, vertex = _step(node), self.vertex_of(node)
            if t is None or vertex in seen:
                continue
            seen.add(vertex)
            group = self.graph.group(node)
            where = "/".join(p for p in (group or node.scope).split("/") if p != f"t{t}")
            key = (where, "scope" if group is not None else node.op.name)
            count[t, key] = count.get((t, key), -1) + 1
            rows.setdefault((*key, count[t, key]), {})[t] = vertex
        level = []
        for row in rows.values():
            members = [row[t] for t in sorted(row)]
            chained = any((a, b) in edges for a in members for b in members)
            if len(members) > 1 and not (chained and any(self.clustered(v) for v in members)):
                level.append(members)
        return level

    def inside(self, scope):
        """The (vertex, attributes) drawn anywhere inside the cluster of ``scope``."""
        return [v for s, vs in self.scoped.items() if s == scope or s.startswith(scope + "/") for v in vs]

    def lone(self, scope):
        """True when the cluster of ``scope`` would hold a single collapsed-scope box: it is not drawn."""
        inside = self.inside(scope)
        return len(inside) == 1 and inside[0][1]["shape"] == "box3d"

    def clustered(self, vertex):
        """True when ``vertex`` is drawn inside some cluster."""
        scope = next(s for s, vs in self.scoped.items() if any(v == vertex for v, _ in vs))
        while scope and self.lone(scope):
            scope = "/".join(scope.split("/")[:-1])
        return bool(scope)

    def vertex_of(self, node):
        group = self.graph.group(node)
        return self.vid(("group", group)) if group is not None else self.vid(node)

    def shared(self, node):
        """True for a leaf that ops of several time steps read (an unrolled cell's weights)."""
        if not self.unrolled:
            return False
        if not hasattr(self, "_readers"):
            self._readers = {}
            for n in self.graph.nodes:
                for p in n.parents:
                    self._readers.setdefault(p, set()).add(_step(n))
        return len(self._readers.get(node, set()) - {None}) > 1

    def add_vertex(self, node):
        norm = self.norms.get(node)  # None: not computed, or freed by backward()
        output = self.graph.output_of.get(node)
        mark = dict(color=OUTPUT, penwidth="3") if output is not None else {}
        vertex = self.vid(node)
        if node.tensor is not None:  # a leaf tensor
            t = node.tensor
            name = self.graph.param_names.get(id(t)) or t.name
            is_param = id(t) in self.graph.param_names or isinstance(t, Parameter)
            fill, font = self.fill(node, norm, "#bbdefb" if is_param else "#fff9c4")
            kind = f"Parameter {name}" if is_param and name else "Parameter" if is_param else "leaf tensor"
            self.place("(shared)" if self.shared(node) else "", vertex,
                       label=self.tensor_label(name or "leaf", t.shape, t.dtype, node, norm, t.data),
                       shape="box", style="filled,rounded" if is_param else "filled", fillcolor=fill, fontcolor=font,
                       tooltip=self.tooltip(kind, node, t.data), id=vertex, **mark)
            return
        fill, font = self.fill(node, norm, "#ffffff")
        label = f"<b>{_text(node.op.name)}</b>"
        name = node.name or (output.name if output is not None else None)
        if name:
            label += f"<br/><i>{_text(name)}</i>"
        label += f'<br/><font point-size="9">{_text(_shape(node.shape, node.dtype))}</font>'
        values = node.values[2] if node.values is not None else output.data if output is not None else None
        if self.show_data and node.values is not None:
            label += f'<br/><font face="Courier" point-size="9">{_text(_summary(node.values[2]))}</font>'
        self.place(node.scope, vertex, label="<" + label + self.grad_line(node, norm) + ">", shape="ellipse",
                   style="filled", fillcolor=fill, fontcolor=font, tooltip=self.tooltip(f"op: {node.op.name}", node,
                   values), id=vertex, **mark)

    def emit_clusters(self, g, prefix):
        """Nested clusters: every scope path becomes a cluster inside its parent's."""
        if prefix or not self.unrolled:
            for vertex, attrs in self.scoped.get(prefix, []):
                g.node(vertex, **attrs)
        children = sorted({s[len(prefix) + 1 if prefix else 0 :].split("/")[0] for s in self.scoped
                           if s and (not prefix or s.startswith(prefix + "/"))}, key=_natural)
        for child in children:
            path = f"{prefix}/{child}" if prefix else child
            if self.lone(path):
                # A cluster around one collapsed scope says nothing its label does not, and sibling
                # clusters in a chain defeat graphviz-pure's ranking: draw the vertex bare.
                vertex, attrs = self.inside(path)[0]
                g.node(vertex, **attrs)
                continue
            with g.subgraph(name="cluster_" + self.vid(("scope", path))) as sub:
                if path == "(shared)":
                    sub.attr(label="<shared by every step>", style="rounded,filled", color="#9e9e9e",
                             fillcolor="#f5f5f5", fontcolor="#424242", rank="source")
                else:
                    sub.attr(label="<" + _text(child) + ">", style="rounded,dashed", color="#9e9e9e",
                             fontcolor="#424242", tooltip=_tip([f"scope {path}"]))
                self.emit_clusters(sub, path)
        if not prefix and self.unrolled:  # declared after the steps, so that layout meets t0 first: time runs forward
            for vertex, attrs in self.scoped.get(prefix, []):
                g.node(vertex, **attrs)

    def legend(self, g):
        """One table: the colour of each band of gradient norms, smallest (vanishing) first."""
        step = (self.high - self.low) / len(PALETTE) if self.high > self.low else 0
        rows = ['<tr><td colspan="2"><b>|grad| (log scale)</b></td></tr>',
                '<tr><td bgcolor="#ffffff" width="18"> </td><td align="left">0 (no gradient)</td></tr>']
        if self.norms:
            for k, colour in enumerate(PALETTE):
                rows.append(f'<tr><td bgcolor="{colour}" width="18"> </td>'
                            f'<td align="left">&#8805; {10 ** (self.low + k * step):.1e}</td></tr>')
        if self.freed:
            rows.append('<tr><td bgcolor="#e0e0e0" width="18"> </td><td align="left">gradient freed by backward():<br/>'
                        'only leaves keep .grad.<br/>To see every gradient, call<br/>'
                        '<b>backward(retain_graph=True)</b></td></tr>')
        table = '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">' + "".join(rows) + "</table>>"
        g.node(self.vid("legend"), table, shape="plain", fontsize="9", id="legend")
