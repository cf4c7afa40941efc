"""Render DOT to SVG or PNG with the system `dot`, or else the `graphviz-pure` program pip installs."""
import os
import shutil
import subprocess
import sys

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".gv": "dot", ".dot": "dot"}


def find_renderer(fmt):
    """The program that can render ``fmt``: the system `dot` when present, else `graphviz-pure`."""
    system = shutil.which("dot")
    if system:
        return system
    if fmt == "pdf":
        raise RuntimeError(
            "rendering PDF needs the system Graphviz (apt-get install graphviz, or brew install graphviz); "
            "without it render to .svg or .png, which graphviz-pure handles"
        )
    beside_python = os.path.join(os.path.dirname(sys.executable), "graphviz-pure")
    pure = shutil.which("graphviz-pure") or (beside_python if os.path.exists(beside_python) else None)
    if pure:
        return pure
    raise RuntimeError(
        "no Graphviz renderer found: pip install graphviz-pure (installed with minigrad), "
        "or install the system Graphviz (apt-get install graphviz); .gv/.dot files need neither"
    )


def render_bytes(source, fmt, program=None):
    """DOT ``source`` rendered as ``fmt`` ("svg", "png", "pdf") by ``program`` (default: `find_renderer`).

    Examples:
        >>> svg = render_bytes("digraph { a -> b }", "svg").decode()
    """
    program = program or find_renderer(fmt)
    result = subprocess.run([program, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"{os.path.basename(program)} failed to render {fmt}: {result.stderr.decode(errors='replace')}")
    return result.stdout


def render_source(source, path):
    """Write DOT ``source`` to ``path``, rendered in the format its suffix names; returns the path."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"render: cannot tell the format from {path!r}; use a .svg, .png, .pdf, .gv or .dot name")
    fmt = FORMATS[suffix]
    data = source.encode("utf-8") if fmt == "dot" else render_bytes(source, fmt)
    with open(path, "wb") as f:
        f.write(data)
    return path
