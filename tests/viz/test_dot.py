import re
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

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
    source = viz.to_dot(state[0].sum(), collapse=2).source
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


def test_show_grad_after_a_freed_backward_says_retain_graph():
    _, _, loss = small_graph()
    loss.backward()
    with pytest.raises(ValueError, match="retain_graph=True"):
        viz.to_dot(loss, show_grad=True)


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
    assert "evil" not in "".join(edges(dot)) and len(edges(dot)) == 2
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


def test_draw_returns_a_digraph_for_jupyter():
    _, _, loss = small_graph()
    dot = viz.draw(loss)
    assert hasattr(dot, "_repr_mimebundle_") or hasattr(dot, "_repr_svg_")
