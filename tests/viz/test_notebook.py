"""Notebooks, run the way people run them: nbclient driving a real ipykernel, with no system `dot` on PATH."""
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WALKTHROUGH = os.path.join(ROOT, "examples", "walkthrough.ipynb")

for module in ("nbformat", "nbclient", "ipykernel"):
    pytest.importorskip(module, reason=f'{module} is missing: pip install -e ".[notebook]" to run notebook tests')

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

NO_DOT_CHECK = """import shutil, os
from minigrad.viz import find_renderer
assert shutil.which("dot") is None, os.environ["PATH"]
print("renderer:", os.path.basename(find_renderer("svg")))"""


def path_without_dot():
    """PATH with every folder that holds a program named `dot` left out; Python's own folder first."""
    folders = [os.path.dirname(sys.executable)] + os.environ.get("PATH", "").split(os.pathsep)
    kept = [f for f in dict.fromkeys(folders) if f and not os.path.exists(os.path.join(f, "dot"))]
    return os.pathsep.join(kept)


def run(nb, folder):
    """Execute ``nb`` in ``folder`` in a fresh kernel whose PATH has no `dot`; returns the executed notebook."""
    nb.cells.insert(0, nbformat.v4.new_code_cell(NO_DOT_CHECK))
    env = dict(os.environ, PATH=path_without_dot(), PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)
    assert "renderer: graphviz-pure" in "".join(o.get("text", "") for o in nb.cells[0].outputs)
    return nb


def displayed(nb, mime):
    """Every output of type ``mime`` the notebook's cells displayed, in order."""
    return [o["data"][mime] for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
            if o.output_type in ("display_data", "execute_result") and mime in o.get("data", {})]


def test_path_without_dot_really_has_none():
    found = [f for f in path_without_dot().split(os.pathsep) if os.path.exists(os.path.join(f, "dot"))]
    assert found == []


def test_a_minimal_notebook_shows_the_graph_as_svg(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import minigrad as mg\nfrom minigrad import nn, viz\n"
        "cell = nn.LSTMCell(2, 3)\nh, c = cell(mg.randn(1, 2))\nviz.draw(h.sum())")]
    svgs = displayed(run(nb, tmp_path), "image/svg+xml")
    assert len(svgs) == 1 and svgs[0].lstrip().startswith(("<?xml", "<svg", "<!--"))
    for text in ("sigmoid", "tanh", "forget_gate", "input_gate", "candidate", "output_gate", "lstm_cell"):
        assert text in svgs[0], text


def test_the_walkthrough_notebook_runs_and_shows_graphs_and_a_plot(tmp_path):
    nb = nbformat.read(WALKTHROUGH, as_version=4)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in nb.cells if cell.cell_type == "code"), "commit walkthrough.ipynb without outputs"
    nb = run(nb, tmp_path)
    svgs = displayed(nb, "image/svg+xml")
    assert len(svgs) == 3
    for text in ("forget_gate", "input_gate", "candidate", "output_gate", "sigmoid", "tanh", "matmul"):
        assert text in svgs[0] and text in svgs[1], text
    assert "|grad|" in svgs[1] and "gradient freed" in svgs[2] and "retain_graph=True" in svgs[2]
    assert len(displayed(nb, "image/png")) == 1  # the loss curve
    text = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "gradcheck passed: True" in text
    first, last = [float(v) for v in text.split("MSE: first ")[1].split("\n")[0].replace("last ", "").split(", ")]
    assert last < first / 5
    assert (tmp_path / "backward.html").exists()
