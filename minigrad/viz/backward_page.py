"""``backward_html``: one self-contained HTML page that steps through a backward pass, node by node."""
import json
import os

import numpy as np

from .. import engine
from ..tensor import Tensor
from .dot import DARK, PALETTE, _build, _norm, _shape
from .renderer import render_bytes

SHOWN_VALUES = 6  # how many of the arriving gradient's values the page lists


def _visits(loss):
    """The nodes in the order the engine's backward visits them, each with the gradient that arrived there."""
    visits = []
    try:
        engine.run_backward(loss._node, np.ones_like(loss.data), retain_graph=True, accumulate=False,
                            on_grad=lambda node, g: visits.append((node, np.array(g))))
    except RuntimeError as e:
        if "retain_graph" not in str(e):
            raise
        raise ValueError("backward_html needs the graph's backward functions, but backward() already freed them: "
                         "call backward_html before backward(), or call backward(retain_graph=True)") from None
    return visits


def backward_html(loss, path, *, params=None, rankdir=None, collapse=None, max_nodes=500, title=None):
    """Write ``path``: the graph of ``loss`` and controls that replay its backward pass one node at a time.

    Slider, previous/next and play step through the nodes in the order the engine's backward
    visits them (the same pass ``loss.backward()`` makes, run here without touching any ``.grad``):
    the current node is outlined, the gradient that just arrived is shown (norm and first values),
    and finished nodes are coloured by gradient norm on a log scale, blue (small) to red (large).
    The file needs no network: script, style and SVG are inline.  Takes ``to_dot``'s ``params``,
    ``rankdir``, ``collapse`` and ``max_nodes``; returns the path.

    Examples:
        >>> viz.backward_html(loss, "backward.html", params=dict(model.named_parameters()))
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"backward_html takes the Tensor to differentiate (a loss), got {type(loss).__name__}")
    if loss._node is None:
        raise ValueError("backward_html: this tensor has no graph (nothing that requires grad computed it); "
                         "pass a loss computed from tensors with requires_grad=True")
    path = os.fspath(path)
    if not path.lower().endswith((".html", ".htm")):
        raise ValueError(f"backward_html writes an HTML page: give a path ending in .html, got {path!r}")
    visits = _visits(loss)
    builder = _build(loss, params=params, rankdir=rankdir, collapse=collapse, max_nodes=max_nodes, stacklevel=3)
    svg = render_bytes(builder.digraph.source, "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]
    steps = []
    for node, g in visits:
        label = node.op.name if node.tensor is None else "leaf " + (node.tensor.name or "tensor")
        if node.tensor is not None and id(node.tensor) in builder.graph.param_names:
            label = "Parameter " + builder.graph.param_names[id(node.tensor)]
        steps.append({
            "id": builder.vertex_of(node),
            "label": label + (f" ({node.name})" if node.tensor is None and node.name else ""),
            "scope": node.scope,
            "shape": _shape(node.shape, node.dtype),
            "norm": _norm(g),
            "values": [float(v) for v in np.ravel(g)[:SHOWN_VALUES]],
            "size": int(np.size(g)),
        })
    data = {"steps": steps, "palette": PALETTE, "dark": sorted(DARK)}
    page = TEMPLATE.replace("__TITLE__", title or f"Backward through {len(steps)} nodes, step by step")
    page = page.replace("__SVG__", svg).replace("__DATA__", json.dumps(data).replace("</", "<\\/"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>__TITLE__</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #212121; }
header { position: sticky; top: 0; background: #fafafa; border-bottom: 1px solid #ddd; padding: 8px 12px; z-index: 1; }
h1 { font-size: 17px; margin: 0 0 6px 0; }
.controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
button { font-size: 14px; padding: 3px 10px; }
#slider { flex: 1; min-width: 200px; }
#panel { font-size: 14px; margin-top: 6px; line-height: 1.5; }
#values { font-family: monospace; }
#scale { display: flex; align-items: center; gap: 4px; font-size: 12px; margin-top: 4px; }
#scale span.band { width: 22px; height: 12px; display: inline-block; border: 1px solid #999; }
#graph { overflow: auto; padding: 8px; }
g.node.current > g > a > ellipse, g.node.current > g > a > polygon, g.node.current > g > a > path,
g.node.current > ellipse, g.node.current > polygon { stroke: #e91e63; stroke-width: 5px; }
</style></head>
<body>
<header>
<h1>__TITLE__</h1>
<div class="controls">
<button id="prev" title="previous node (left arrow)">&#9664; prev</button>
<button id="play" title="play / pause (space)">&#9654; play</button>
<button id="next" title="next node (right arrow)">next &#9654;</button>
<input id="slider" type="range" min="0" value="0">
<span id="step"></span>
<button id="zoomout" title="zoom out">&minus;</button><span id="zoom"></span><button id="zoomin" title="zoom in">+</button>
</div>
<div id="panel">
<div><b>Node:</b> <span id="node">press next or play: backward starts at the loss</span></div>
<div><b>Gradient that arrived:</b> |grad| = <span id="norm">-</span>, shape <span id="shape">-</span>,
first values <span id="values">-</span></div>
</div>
<div id="scale"><span>finished nodes by |grad| (log scale):</span><span id="bands"></span></div>
</header>
<div id="graph">__SVG__</div>
<script>
const DATA = __DATA__;
const steps = DATA.steps;
const slider = document.getElementById("slider");
slider.max = steps.length;
const logs = steps.map(s => s.norm > 0 ? Math.log10(s.norm) : null).filter(v => v !== null);
const low = logs.length ? Math.min(...logs) : 0, high = logs.length ? Math.max(...logs) : 0;
const original = new Map();
function shapes(id) {
  const g = document.getElementById(id);
  return g ? Array.from(g.querySelectorAll("ellipse, polygon, path")) : [];
}
function texts(id) {
  const g = document.getElementById(id);
  return g ? Array.from(g.querySelectorAll("text")) : [];
}
for (const s of steps) {
  if (!original.has(s.id)) {
    original.set(s.id, {fills: shapes(s.id).map(e => e.getAttribute("fill")),
                        colours: texts(s.id).map(e => e.getAttribute("fill"))});
  }
}
function colour(norm) {
  const P = DATA.palette;
  if (!(norm > 0)) return "#ffffff";
  if (high <= low) return P[Math.floor(P.length / 2)];
  return P[Math.min(Math.floor((Math.log10(norm) - low) / (high - low) * P.length), P.length - 1)];
}
function paint(id, fill) {
  const o = original.get(id);
  shapes(id).forEach((e, k) => e.setAttribute("fill", fill === null ? o.fills[k] : fill));
  const light = fill === null || !DATA.dark.includes(fill);
  texts(id).forEach((e, k) => { if (light) { if (o.colours[k] === null) e.removeAttribute("fill"); else e.setAttribute("fill", o.colours[k]); } else e.setAttribute("fill", "white"); });
}
function fmt(v) { return v === 0 ? "0" : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3); }
let at = 0, timer = null;
function show(k) {
  at = Math.max(0, Math.min(steps.length, k));
  slider.value = at;
  document.querySelectorAll("g.node.current").forEach(e => e.classList.remove("current"));
  const largest = new Map();  // a collapsed scope shows the largest gradient among its finished nodes
  for (let j = 0; j < at; j++) largest.set(steps[j].id, Math.max(largest.get(steps[j].id) || 0, steps[j].norm));
  for (const id of original.keys()) paint(id, largest.has(id) ? colour(largest.get(id)) : null);
  document.getElementById("step").textContent = "step " + at + " of " + steps.length;
  if (at === 0) {
    document.getElementById("node").textContent = "press next or play: backward starts at the loss";
    for (const f of ["norm", "shape", "values"]) document.getElementById(f).textContent = "-";
    return;
  }
  const s = steps[at - 1];
  const g = document.getElementById(s.id);
  if (g) { g.classList.add("current"); g.scrollIntoView({block: "nearest", inline: "nearest"}); }
  document.getElementById("node").textContent = s.label + (s.scope ? "  in " + s.scope : "");
  document.getElementById("norm").textContent = s.norm.toExponential(3);
  document.getElementById("shape").textContent = s.shape;
  document.getElementById("values").textContent = "[" + s.values.map(fmt).join(", ") + (s.size > s.values.length ? ", ...]" : "]");
}
function play() {
  if (timer) { clearInterval(timer); timer = null; document.getElementById("play").innerHTML = "&#9654; play"; return; }
  if (at >= steps.length) show(0);
  document.getElementById("play").innerHTML = "&#10074;&#10074; pause";
  timer = setInterval(() => { show(at + 1); if (at >= steps.length) play(); }, 400);
}
document.getElementById("prev").onclick = () => show(at - 1);
document.getElementById("next").onclick = () => show(at + 1);
document.getElementById("play").onclick = play;
slider.oninput = () => show(Number(slider.value));
const svg = document.querySelector("#graph svg");
const natural = parseFloat(svg.getAttribute("width")) * 4 / 3;  // Graphviz sizes SVG in points
let zoom = 1;
function setZoom(z) {
  zoom = Math.max(0.2, Math.min(2, z));
  svg.style.width = (natural * zoom) + "px"; svg.style.height = "auto";
  document.getElementById("zoom").textContent = " " + Math.round(zoom * 100) + "% ";
  const current = document.querySelector("g.node.current");
  if (current) current.scrollIntoView({block: "nearest", inline: "nearest"});
}
document.getElementById("zoomin").onclick = () => setZoom(zoom * 1.25);
document.getElementById("zoomout").onclick = () => setZoom(zoom / 1.25);
setZoom(Math.min(1, Math.max(0.4, (window.innerWidth - 24) / natural)));  // the whole strip, when text stays legible
document.addEventListener("keydown", e => {
  if (e.target.tagName === "INPUT" && e.target.type === "range") return;
  if (e.key === "ArrowRight") show(at + 1); else if (e.key === "ArrowLeft") show(at - 1);
  else if (e.key === " ") { e.preventDefault(); play(); }
});
const bands = document.getElementById("bands");
DATA.palette.forEach((c, k) => {
  const b = document.createElement("span"); b.className = "band"; b.style.background = c;
  b.title = "|grad| >= " + Math.pow(10, low + k * (high - low) / DATA.palette.length).toExponential(1);
  bands.appendChild(b);
});
bands.insertAdjacentText("afterbegin", Math.pow(10, low).toExponential(1) + " ");
bands.insertAdjacentText("beforeend", " " + Math.pow(10, high).toExponential(1));
show(0);
</script>
</body></html>
"""
