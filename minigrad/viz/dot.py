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


def _grad_norms(roots):
    """The L2 norm of d(sum of outputs)/d(node) for every node, by backward passes that accumulate nothing."""
    grads = {}
    for root in roots:
        if root._node is None:
            continue
        node = engine.unfolded(root._node)
        dead = [n for n in engine.forward_order([node]) if n.op is not None and n.saved is engine.FREED]
        if dead:
            raise ValueError(
                "show_grad needs the graph's backward functions, but backward() already freed them: "
                "call backward(retain_graph=True), or draw before calling backward()"
            )

        def record(node, g):
            grads[node] = grads[node] + g if node in grads else np.array(g)

        engine.run_backward(node, np.ones_like(root.data), retain_graph=True, accumulate=False, on_grad=record)
    return {node: float(np.sqrt(np.vdot(g, g))) for node, g in grads.items()}


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
        self.nodes = engine.forward_order([engine.unfolded(t._node) for t in outputs if t._node is not None])
        if not leaves:
            self.nodes = [n for n in self.nodes if n.op is not None]
        self.param_names = {id(p): name for name, p in (params or {}).items()}
        self.output_of = {engine.unfolded(t._node): t for t in outputs if t._node is not None}  # outputs: a border
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


def to_dot(outputs, *, params=None, show_grad=False, show_data=False, collapse=None, max_nodes=500, leaves=True):
    """Draw the graph that computed ``outputs`` as a ``graphviz.Digraph``.

    Tensor vertices (boxes) show name, shape and dtype; leaves, Parameters (named from ``params``,
    e.g. ``dict(model.named_parameters())``, or their own names) and outputs are styled apart;
    op vertices (ellipses) show the op; edges follow the data.  Ops are grouped into nested
    clusters by name scope.  ``show_grad`` colours every vertex by the norm of the gradient of
    the (summed) outputs with respect to it, on a log scale with a legend: the graph must still
    hold its backward functions (``backward(retain_graph=True)``, or not yet run).  ``show_data``
    shows values (all of them when few, else min/mean/max; intermediate values need the graph
    recorded under :func:`minigrad.viz.keep_values`).  ``collapse="scope"`` or a depth draws each
    scope at that depth as one vertex; a graph of more than ``max_nodes`` vertices is collapsed
    automatically, with a warning.  ``leaves=False`` leaves out leaf tensors and Parameters, for
    pictures of the flow through the ops alone (an RNN unrolled over many steps).

    >>> dot = to_dot(loss, params=dict(model.named_parameters()), show_grad=True)
    """
    import graphviz

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise TypeError("to_dot takes a Tensor or a list of Tensors (the outputs to draw)")
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
            stacklevel=2,
        )
    norms = _grad_norms(outputs) if show_grad else {}
    return _Builder(graphviz, graph, norms, show_data).build()


class _Builder:
    def __init__(self, graphviz, graph, norms, show_data):
        self.graphviz, self.graph, self.norms, self.show_data = graphviz, graph, norms, show_data
        self.ids = {}
        logs = [math.log10(v) for v in norms.values() if v > 0]
        self.low, self.high = (min(logs), max(logs)) if logs else (0.0, 0.0)
        self.scoped = {}  # scope path -> list of (vertex id, kwargs) drawn inside that cluster

    def vid(self, key):
        return self.ids.setdefault(key, f"n{len(self.ids)}")

    def fill(self, norm, default):
        if not self.norms:
            return default, "black"
        colour = _colour(norm, self.low, self.high)
        return colour, "white" if colour in DARK else "black"

    def grad_line(self, norm):
        return f'<br/><font point-size="9">|grad| {norm:.2e}</font>' if self.norms and norm is not None else ""

    def place(self, scope, vertex, **attrs):
        self.scoped.setdefault(scope or "", []).append((vertex, attrs))

    def tensor_label(self, title, shape, dtype, norm, values):
        label = f"<b>{_text(title)}</b><br/>{_text(_shape(shape, dtype))}" if title else _text(_shape(shape, dtype))
        if self.show_data and values is not None:
            label += f'<br/><font face="Courier" point-size="9">{_text(_summary(values))}</font>'
        return "<" + label + self.grad_line(norm) + ">"

    def build(self):
        g = self.graphviz.Digraph("minigrad")
        g.attr(rankdir="TB", fontname=FONT, fontsize="11", compound="true")
        g.attr("node", fontname=FONT, fontsize="10")
        g.attr("edge", fontname=FONT, color="#555555", arrowsize="0.7")
        edges = set()
        groups = {}
        drawn = set(self.graph.nodes)
        for node in self.graph.nodes:
            group = self.graph.group(node)
            if group is not None:
                groups.setdefault(group, []).append(node)
                continue
            self.add_vertex(node)
        for group, members in groups.items():
            norm = max((self.norms.get(n, 0.0) for n in members), default=None)
            fill, font = self.fill(norm, "#eeeeee")
            label = f"<<b>{_text(group.split('/')[-1])}</b><br/>{len(members)} ops{self.grad_line(norm)}>"
            parent_scope = "/".join(group.split("/")[:-1])
            self.place(parent_scope, self.vid(("group", group)), label=label, shape="box3d", style="filled",
                       fillcolor=fill, fontcolor=font)
        for node in self.graph.nodes:
            target = self.vertex_of(node)
            for parent in node.parents:
                if parent in drawn:  # leaves are left out with leaves=False
                    source = self.vertex_of(parent)
                    if source != target:
                        edges.add((source, target))
        for out in self.graph.outputs:
            if out._node is None:  # a tensor outside any graph: draw it alone
                g.node(self.vid(("output", id(out))), self.tensor_label(out.name or "output", out.shape, out.dtype,
                       None, out.data), shape="box", style="filled,bold", fillcolor="#c8e6c9", color=OUTPUT)
        self.emit_clusters(g, "")
        for source, target in sorted(edges):
            g.edge(source, target)
        if self.norms:
            self.legend(g)
        return g

    def vertex_of(self, node):
        group = self.graph.group(node)
        return self.vid(("group", group)) if group is not None else self.vid(node)

    def add_vertex(self, node):
        norm = self.norms.get(node)
        output = self.graph.output_of.get(node)
        mark = dict(color=OUTPUT, penwidth="3") if output is not None else {}
        if node.op is None:  # a leaf tensor
            t = node.tensor
            name = self.graph.param_names.get(id(t)) or t.name
            is_param = id(t) in self.graph.param_names or isinstance(t, Parameter)
            fill, font = self.fill(norm, "#bbdefb" if is_param else "#fff9c4")
            self.place("", self.vid(node), label=self.tensor_label(name or "leaf", t.shape, t.dtype, norm, t.data),
                       shape="box", style="filled,rounded" if is_param else "filled", fillcolor=fill, fontcolor=font,
                       **mark)
            return
        fill, font = self.fill(norm, "#ffffff")
        label = f"<b>{_text(node.op.name)}</b>"
        name = node.name or (output.name if output is not None else None)
        if name:
            label += f"<br/><i>{_text(name)}</i>"
        label += f'<br/><font point-size="9">{_text(_shape(node.shape, node.dtype))}</font>'
        if self.show_data and node.values is not None:
            label += f'<br/><font face="Courier" point-size="9">{_text(_summary(node.values[2]))}</font>'
        self.place(node.scope, self.vid(node), label="<" + label + self.grad_line(norm) + ">", shape="ellipse",
                   style="filled", fillcolor=fill, fontcolor=font, **mark)

    def emit_clusters(self, g, prefix):
        """Nested clusters: every scope path becomes a cluster inside its parent's."""
        for vertex, attrs in self.scoped.get(prefix, []):
            g.node(vertex, **attrs)
        children = sorted({s[len(prefix) + 1 if prefix else 0 :].split("/")[0] for s in self.scoped
                           if s and (not prefix or s.startswith(prefix + "/"))}, key=_natural)
        for child in children:
            path = f"{prefix}/{child}" if prefix else child
            with g.subgraph(name="cluster_" + self.vid(("scope", path))) as sub:
                sub.attr(label="<" + _text(child) + ">", style="rounded,dashed", color="#9e9e9e", fontcolor="#424242")
                self.emit_clusters(sub, path)

    def legend(self, g):
        """One table: the colour of each band of gradient norms, smallest (vanishing) first."""
        step = (self.high - self.low) / len(PALETTE) if self.high > self.low else 0
        rows = ['<tr><td colspan="2"><b>|grad| (log scale)</b></td></tr>',
                '<tr><td bgcolor="#ffffff" width="18"> </td><td align="left">0 (no gradient)</td></tr>']
        for k, colour in enumerate(PALETTE):
            rows.append(f'<tr><td bgcolor="{colour}" width="18"> </td>'
                        f'<td align="left">&#8805; {10 ** (self.low + k * step):.1e}</td></tr>')
        table = '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">' + "".join(rows) + "</table>>"
        g.node(self.vid("legend"), table, shape="plain", fontsize="9")
