"""Drawing computation graphs: ``to_dot``/``draw`` build a graphviz.Digraph, ``render`` writes a file.

>>> from minigrad import viz
>>> viz.render(loss, "lstm.svg", params=dict(model.named_parameters()), show_grad=True)
"""
from ..engine import keep_values
from .dot import to_dot
from .renderer import find_renderer, render_source


def draw(outputs, **options):
    """The graph as a ``graphviz.Digraph`` (Jupyter shows it inline); takes ``to_dot``'s options."""
    return to_dot(outputs, **options)


def render(outputs, path, **options):
    """Draw ``outputs`` into ``path``: .svg, .png, .gv/.dot (and .pdf with a system Graphviz); returns the path."""
    return render_source(to_dot(outputs, **options).source, path)


__all__ = ["to_dot", "draw", "render", "keep_values", "find_renderer"]
