import re
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn, viz
from minigrad.viz import renderer as render_module


def small_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    w = mg.tensor([3.0, 4.0], requires_grad=True, name="w")
    with mg.name_scope("layer"):
        y = (x * w).tanh()
    loss = y.sum()
    return x, w, loss


def vertices(dot):
    return [line for line in dot.body if re.match(r"\s*n\d+ \[", line)]


def edges(dot):
    return [line for line in dot.body if re.match(r"\s*n\d+ -> n\d+", line)]


def test_known_expression_has_the_expected_vertices_edges_and_cluster():
    x, w, loss = small_graph()
    dot = viz.to_dot(loss)
    assert len(vertices(dot)) == 2 + 3  # two leaves, mul, tanh, sum
    assert len(edges(dot)) == 4
    assert sum("subgraph cluster_" in line for line in dot.body) == 1
    source = dot.source
    for op in ("mul", "tanh", "sum"):
        assert f"<b>{op}</b>" in source
    assert "<b>x</b>" in source and "(2,) float32" in source


def test_nested_scopes_become_nested_clusters_in_time_order():
    cell = nn.LSTMCell(2, 3)
    state = None
    for t in range(11):
        with mg.name_scope(f"t{t}"):
            state = cell(mg.randn(1, 2), state)
    source = viz.to_dot(state[0].sum(), collapse=2).source  # each step's cell is one box named for its step
    assert re.findall(r"<b>t(\d+) / lstm_cell</b>", source) == [str(t) for t in range(11)]
    assert "label=<t" not in source  # no cluster around a lone box
    source = viz.to_dot(state[0].sum(), collapse=3).source
    labels = [line.split("<")[1].split(">")[0] for line in source.splitlines() if "label=<t" in line]
    assert labels == [f"t{t}" for t in range(11)]
    full = viz.to_dot(state[0].sum(), max_nodes=10_000).source
    for gate in ("forget_gate", "input_gate", "candidate", "output_gate", "cell", "hidden"):
        assert full.count(f"label=<{gate}>") == 11


def test_params_are_named_and_styled_apart_from_leaves_and_outputs():
    lin = nn.Linear(2, 3)
    x = mg.tensor([[1.0, 2.0]], requires_grad=True, name="x")
    out = lin(x).sum()
    source = viz.to_dot(out, params={"fc." + k: v for k, v in lin.named_parameters()}).source
    assert "<b>fc.weight</b>" in source and "<b>fc.bias</b>" in source
    param_line = next(line for line in source.splitlines() if "fc.weight" in line)
    leaf_line = next(line for line in source.splitlines() if "<b>x</b>" in line)
    out_line = next(line for line in source.splitlines() if "<b>sum</b>" in line)
    assert "rounded" in param_line and "rounded" not in leaf_line
    assert "penwidth=3" in out_line


def test_leaves_false_draws_the_ops_alone():
    x, w, loss = small_graph()
    dot = viz.to_dot(loss, leaves=False)
    assert len(vertices(dot)) == 3 and len(edges(dot)) == 2
    assert "<b>x</b>" not in dot.source


def test_show_grad_labels_norms_colours_and_legend():
    x, w, loss = small_graph()
    loss.backward(retain_graph=True)
    source = viz.to_dot(loss, show_grad=True).source
    expected = np.linalg.norm(w.data * (1 - np.tanh(x.data * w.data) ** 2))
    assert f"|grad| {expected:.2e}" in source  # the gradient of x
    assert "|grad| (log scale)" in source and "fillcolor=\"#" in source
    np.testing.assert_allclose(x.grad, w.data * (1 - np.tanh(x.data * w.data) ** 2))  # unchanged by drawing


def test_show_grad_of_several_outputs_uses_the_gradient_of_their_sum():
    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    a, b = x * 3, x * -1  # d(a + b)/dx = 2 per element: norm 2*sqrt(2), not 3*sqrt(2) + sqrt(2)
    source = viz.to_dot([a, b], show_grad=True).source
    x_line = next(line for line in source.splitlines() if "<b>x</b>" in line)
    assert f"|grad| {2 * np.sqrt(2):.2e}" in x_line


@given(st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_show_grad_after_a_plain_backward_draws_the_leaves_gradients(n, seed):
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal(n), requires_grad=True, name="x")
    w = mg.tensor(rng.standard_normal(n), requires_grad=True, name="w")
    with mg.name_scope("layer"):
        loss = (x * w).tanh().sum()
    loss.backward()  # frees the graph
    source = viz.to_dot(loss, show_grad=True).source
    lines = source.splitlines()
    for name, leaf in (("x", x), ("w", w)):
        line = next(line for line in lines if f"<b>{name}</b>" in line)
        assert f"|grad| {np.linalg.norm(leaf.grad):.2e}" in line
    for op in ("mul", "tanh", "sum"):
        line = next(line for line in lines if f"<b>{op}</b>" in line)
        assert "gradient freed" in line and "|grad|" not in line.split("tooltip")[0]
    assert "retain_graph=True" in source  # the legend says how to keep them
    before = x.grad.copy()
    viz.to_dot(loss, show_grad=True)
    np.testing.assert_array_equal(x.grad, before)


def test_show_data_shows_small_values_and_summaries():
    with viz.keep_values():
        x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
        big = mg.tensor(np.arange(100.0), requires_grad=True)
        out = (x * 2).sum() + big.mean()
    source = viz.to_dot(out, show_data=True).source
    assert "[2., 4.]" in source and "min 0  mean 49.5  max 99" in source


def test_collapse_and_automatic_collapse_with_a_warning():
    lstm = nn.LSTM(2, 3)
    out, _ = lstm(mg.randn(30, 1, 2))
    collapsed = viz.to_dot(out.sum(), collapse="scope").source
    assert "box3d" in collapsed and "ops" in collapsed
    with pytest.warns(UserWarning, match="max_nodes=100"):
        dot = viz.to_dot(out.sum(), max_nodes=100)
    assert len(vertices(dot)) <= 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        viz.to_dot(out.sum(), max_nodes=100_000)
    with pytest.raises(ValueError, match="collapse"):
        viz.to_dot(out.sum(), collapse="everything")


HOSTILE = ['a"b', "back\\slash", "{brace}", "<b>html</b>", "line\nbreak", "]; evil -> injected [", "&amp;"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_cannot_break_or_inject(name, tmp_path):
    x = mg.tensor([1.0], requires_grad=True, name=name)
    with mg.name_scope(name.replace("/", "")):
        y = x * 2
    y.name = name
    dot = viz.to_dot(y.sum(), params={name: x})
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', "".join(edges(dot)))  # names may sit inside quoted tooltips
    assert "evil" not in unquoted and len(edges(dot)) == 2
    path = viz.render(y.sum(), tmp_path / "hostile.svg", params={name: x})
    root = ET.parse(path).getroot()
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert name.split("\n")[0].replace("&amp;", "&amp;")[:4] in texts or name.startswith("&")


def test_render_svg_png_and_dot(tmp_path):
    _, _, loss = small_graph()
    svg = viz.render(loss, tmp_path / "g.svg")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    png = viz.render(loss, tmp_path / "g.png")
    data = open(png, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 50 < width < 5000 and 50 < height < 5000
    gv = viz.render(loss, tmp_path / "g.gv")
    assert open(gv).read().startswith("digraph")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.gv", "g.png", "g.svg"]  # no temporary files


def test_rendering_prints_no_warnings(tmp_path, capfd):
    _, _, loss = small_graph()
    viz.render(loss, tmp_path / "g.png", show_grad=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_missing_renderer_and_unknown_suffix_say_what_to_do(tmp_path, monkeypatch):
    _, _, loss = small_graph()
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        viz.render(loss, tmp_path / "g.jpeg")
    monkeypatch.setattr(render_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(render_module.os.path, "exists", lambda p: False)
    with pytest.raises(RuntimeError, match="pip install graphviz-pure"):
        viz.render(loss, tmp_path / "g.svg")
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        viz.render(loss, tmp_path / "g.pdf")




XLINK = "{http://www.w3.org/1999/xlink}title"
SVG = "{http://www.w3.org/2000/svg}"


def renderers():
    """graphviz-pure always; the system `dot` too where it is installed."""
    import shutil
    import sys
    import os

    pure = shutil.which("graphviz-pure") or os.path.join(os.path.dirname(sys.executable), "graphviz-pure")
    found = [pytest.param(pure, id="graphviz-pure")]
    if shutil.which("dot"):
        found.append(pytest.param(shutil.which("dot"), id="system-dot"))
    return found


def svg_items(source, program, kind="node"):
    """(id, tooltip, centre x, centre y) of every SVG group of class ``kind``, rendered by ``program``."""
    root = ET.fromstring(render_module.render_bytes(source, "svg", program))
    items = []
    for g in root.iter(SVG + "g"):
        if g.get("class") != kind:
            continue
        link = next((a for a in g.iter(SVG + "a") if a.get(XLINK)), None)
        xs, ys = [], []
        for shape in g.iter():
            if shape.tag == SVG + "ellipse":
                xs.append(float(shape.get("cx")))
                ys.append(float(shape.get("cy")))
            elif shape.tag == SVG + "polygon":
                points = [tuple(map(float, p.split(","))) for p in shape.get("points").split()]
                xs += [p[0] for p in points]
                ys += [p[1] for p in points]
        centre = (sum(xs) / len(xs), sum(ys) / len(ys)) if xs else (None, None)
        items.append((g.get("id"), link.get(XLINK) if link is not None else None, *centre))
    return items


@pytest.mark.parametrize("program", renderers())
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_every_vertex_and_edge_has_a_tooltip_in_the_svg(program, n, seed):
    rng = np.random.default_rng(seed)
    with viz.keep_values():
        x = mg.tensor(rng.standard_normal((2, n)), requires_grad=True, name="x")
        w = mg.tensor(rng.standard_normal((n,)), requires_grad=True, name="w")
        with mg.name_scope("layer"), mg.name_scope("act"):
            y = (x * w).tanh()
        y.name = "y"
        loss = y.sum()
    loss.backward(retain_graph=True)
    source = viz.to_dot(loss, show_grad=True, show_data=True).source
    nodes = [item for item in svg_items(source, program) if item[0] != "legend"]
    assert len(nodes) == 5 and all(tip for _, tip, _, _ in nodes)
    by_first = {tip.splitlines()[0]: tip for _, tip, _, _ in nodes}
    tanh = by_first["op: tanh"]
    assert "name: y" in tanh and "scope: layer/act" in tanh and f"shape: (2, {n}) float64" in tanh
    values = y.data
    if values.size <= 4:
        assert "value: [" in tanh
    else:
        assert f"min {values.min():.3g} mean {values.mean():.3g} max {values.max():.3g}" in tanh
    gx = w.data * (1 - np.tanh(x.data * w.data) ** 2)
    leaf_x = next(tip for _, tip, _, _ in nodes if tip.startswith("leaf tensor") and "name: x" in tip)
    assert f"|grad|: {np.linalg.norm(gx):.3g}" in leaf_x
    edges_ = svg_items(source, program, "edge")
    tips = sorted(tip for _, tip, _, _ in edges_)
    assert tips == sorted(["input 0 of mul in layer/act", "input 1 of mul in layer/act",
                           "input 0 of tanh in layer/act", "input 0 of sum"])


def test_tooltips_say_when_values_or_gradients_are_not_known():
    x, w, loss = small_graph()
    tip = next(line for line in viz.to_dot(loss).source.splitlines() if "<b>tanh</b>" in line)
    assert "not kept (record the graph under viz.keep_values()" in tip and "grad" not in tip.split("tooltip")[1]
    loss.backward()
    tip = next(line for line in viz.to_dot(loss, show_grad=True).source.splitlines() if "<b>tanh</b>" in line)
    assert "freed by backward(); call backward(retain_graph=True)" in tip


def unrolled_lstm(steps, hidden=3):
    rng = np.random.default_rng(0)
    cell = nn.LSTMCell(2, hidden, rng=rng)
    state = None
    for t in range(steps):
        with mg.name_scope(f"t{t}"):
            state = cell(mg.tensor(rng.standard_normal((1, 2)), dtype=np.float32), state)
    return cell, state[0].sum()


def test_rankdir_and_aligned_steps_in_the_dot_source():
    _, _, loss = small_graph()
    assert "rankdir=TB" in viz.to_dot(loss).source and "rank=same" not in viz.to_dot(loss).source
    assert "rankdir=LR" in viz.to_dot(loss, rankdir="LR").source
    cell, loss = unrolled_lstm(3)
    source = viz.to_dot(loss, params=dict(cell.named_parameters())).source
    assert "rankdir=TB" in source and "newrank=true" in source
    rows = re.findall(r"\{rank=same; (.*?)\}", source)
    assert len(rows) >= 10 and all(len(row.split("; ")) in (2, 3) for row in rows)  # a vertex of each step
    assert source.count("shared by every step") == 1 and source.count("<b>weight_ih</b>") == 1
    assert "rankdir=LR" in viz.to_dot(loss, rankdir="LR").source
    with pytest.raises(ValueError, match="rankdir must be one of TB, LR"):
        viz.to_dot(loss, rankdir="sideways")


def step_boxes(source, program):
    """Time step -> (mean x, mean y) of its vertices in the rendered SVG."""
    boxes = {}
    for _, tip, x, y in svg_items(source, program):
        match = re.search(r"scope: (?:\S*/)?t(\d+)(?:/|$)", tip or "", re.M)
        if match:
            boxes.setdefault(int(match.group(1)), []).append((x, y))
    return {t: np.mean(v, axis=0) for t, v in boxes.items()}


@pytest.mark.parametrize("program", renderers())
@pytest.mark.parametrize("leaves", [True, False])
def test_rendered_time_steps_stand_side_by_side_in_time_order(program, leaves):
    cell, loss = unrolled_lstm(10)
    boxes = step_boxes(viz.to_dot(loss, params=dict(cell.named_parameters()), leaves=leaves).source, program)
    assert sorted(boxes) == list(range(10))
    xs, ys = [boxes[t][0] for t in range(1, 10)], [boxes[t][1] for t in range(1, 10)]  # t0 has no h_{t-1}
    assert all(a < b for a, b in zip(xs, xs[1:])), xs  # time runs left to right
    assert max(ys) - min(ys) < 1, ys  # in one row of aligned columns, not a staircase
    boxes = step_boxes(viz.to_dot(loss, rankdir="LR", leaves=leaves).source, program)
    xs, ys = [boxes[t][0] for t in range(1, 10)], [boxes[t][1] for t in range(1, 10)]
    assert all(a < b for a, b in zip(ys, ys[1:])), ys  # one row per step, time running down (SVG y grows down)
    assert max(xs) - min(xs) < 1, xs


@pytest.mark.parametrize("program", renderers())
@pytest.mark.parametrize("collapse", [2, 3])
def test_collapsed_steps_run_left_to_right(program, collapse):
    lstm = nn.LSTM(1, 4, rng=np.random.default_rng(0))
    out, _ = lstm(mg.randn(12, 2, 1, rng=np.random.default_rng(1)))
    source = viz.to_dot(out[-1].sum(), params=dict(lstm.named_parameters()), collapse=collapse).source
    boxes = step_boxes(source, program)
    assert sorted(boxes) == list(range(12))
    xs = [boxes[t][0] for t in range(12)]
    assert all(a < b for a, b in zip(xs, xs[1:])), xs


@pytest.mark.parametrize("program", renderers())
@pytest.mark.parametrize("collapse", [1, 2])
def test_steps_collapsed_to_one_box_each_make_one_row_in_time_order(program, collapse):
    cell, loss = unrolled_lstm(12)
    source = viz.to_dot(loss, params=dict(cell.named_parameters()), collapse=collapse).source
    boxes = step_boxes(source, program)
    xs, ys = [boxes[t][0] for t in range(12)], [boxes[t][1] for t in range(12)]
    assert all(a < b for a, b in zip(xs, xs[1:])), xs
    assert max(ys) - min(ys) < 1, ys
