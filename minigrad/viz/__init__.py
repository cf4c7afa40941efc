"""Drawing computation graphs: ``draw`` for notebooks, ``render`` to a file, ``backward_html`` to step through backward.

Examples:
    >>> from minigrad import viz
    >>> viz.render(loss, "lstm.svg", params=dict(model.named_parameters()), show_grad=True)
    >>> viz.draw(loss, show_grad=True)              # in Jupyter: shown inline as SVG
    >>> viz.backward_html(loss, "backward.html")    # backward, one node at a time
"""
from ..engine import keep_values
from .backward_page import backward_html
from .dot import to_dot
from .drawing import Drawing
from .renderer import find_renderer, render_source


def draw(outputs, **options):
    """The graph as a `Drawing`, which Jupyter shows inline as SVG; takes ``to_dot``'s options.

    Examples:
        >>> d = viz.draw(loss, show_grad=True, rankdir="LR")
        >>> d.digraph   # the graphviz.Digraph
    """
    return Drawing(to_dot(outputs, **options))


def render(outputs, path, **options):
    """Draw ``outputs`` into ``path``: .svg, .png, .gv/.dot (and .pdf with a system Graphviz); returns the path."""
    return render_source(to_dot(outputs, **options).source, path)


__all__ = ["to_dot", "draw", "render", "backward_html", "Drawing", "keep_values", "find_renderer"]
