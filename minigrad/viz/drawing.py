"""What ``viz.draw`` returns: a drawing Jupyter shows inline as SVG, without needing a system Graphviz."""
from .renderer import render_bytes, render_source


class Drawing:
    """A drawn graph: ``.source`` (DOT), ``.digraph`` (the ``graphviz.Digraph``), ``.svg()``, ``.render(path)``.

    Jupyter displays it as SVG rendered by the system ``dot`` when present, else by graphviz-pure
    (``graphviz.Digraph``'s own display needs the system ``dot``).

    Examples:
        >>> d = viz.draw(loss); d.render("loss.svg"); print(d.source[:7])
        digraph
    """

    def __init__(self, digraph):
        self.digraph = digraph
        self._svg = None

    @property
    def source(self):
        """The DOT source."""
        return self.digraph.source

    def svg(self):
        """The drawing as SVG text (rendered once, then kept)."""
        if self._svg is None:
            self._svg = render_bytes(self.source, "svg").decode("utf-8")
        return self._svg

    def render(self, path):
        """Write the drawing to ``path`` (.svg, .png, .gv/.dot, .pdf with a system Graphviz); returns the path."""
        return render_source(self.source, path)

    def _repr_svg_(self):
        return self.svg()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/svg+xml": self.svg(), "text/plain": repr(self)}

    def __repr__(self):
        vertices = sum(1 for line in self.digraph.body if " [" in line and "->" not in line)
        return f"<minigrad.viz.Drawing: {vertices} vertices; .svg(), .render(path), .source, .digraph>"
