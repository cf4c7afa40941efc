import xml.etree.ElementTree as ET

import graphviz
import pytest

import minigrad as mg
from minigrad import nn, viz
from minigrad.viz import renderer as render_module


def lstm_step():
    cell = nn.LSTMCell(2, 3)
    h, _ = cell(mg.randn(1, 2))
    return h.sum()


def hide_system_dot(monkeypatch):
    """As on a machine without Graphviz: `dot` is not found, graphviz-pure still is."""
    which = render_module.shutil.which
    monkeypatch.setattr(render_module.shutil, "which", lambda name: None if name == "dot" else which(name))


def test_draw_keeps_source_digraph_and_renders(tmp_path):
    loss = lstm_step()
    d = viz.draw(loss, rankdir="LR")
    assert isinstance(d, viz.Drawing) and isinstance(d.digraph, graphviz.Digraph)
    assert d.source == viz.to_dot(loss, rankdir="LR").source and "rankdir=LR" in d.source
    path = d.render(tmp_path / "g.svg")
    assert ET.parse(path).getroot().tag.endswith("svg")
    assert "vertices" in repr(d)


def test_jupyter_gets_svg_without_a_system_dot(monkeypatch):
    pytest.importorskip("IPython", reason='IPython is not installed: pip install -e ".[notebook]"')
    from IPython.core.formatters import DisplayFormatter

    hide_system_dot(monkeypatch)
    assert render_module.find_renderer("svg").endswith("graphviz-pure")
    d = viz.draw(lstm_step())
    data, _ = DisplayFormatter().format(d)
    svg = data["image/svg+xml"]
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    for text in ("sigmoid", "tanh", "forget_gate", "output_gate"):
        assert text in svg
    assert d._repr_svg_() == svg  # rendered once, then kept


def test_graphviz_digraph_display_is_what_fails_without_dot(monkeypatch):
    """The reason for Drawing: the Digraph's own display needs the system `dot`."""
    import shutil

    if shutil.which("dot"):
        pytest.skip("a system dot is installed here, so the Digraph's own display works")
    with pytest.raises(Exception, match="dot"):
        viz.to_dot(lstm_step())._repr_mimebundle_()
