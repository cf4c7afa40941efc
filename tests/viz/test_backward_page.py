import math
import os
import pathlib
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import engine, nn, viz
from minigrad.viz.dot import _build


def unrolled(kind, steps, seed=0):
    rng = np.random.default_rng(seed)
    cell = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell}[kind](2, 3, rng=rng)
    state = None
    for t in range(steps):
        with mg.name_scope(f"t{t}"):
            state = cell(mg.tensor(rng.standard_normal((2, 2)), dtype=np.float32), state)
    h = state[0] if kind == "lstm" else state
    return dict(cell.named_parameters()), h.sum()


def engine_visits(loss):
    """The engine's own backward order, with the norm of the gradient arriving at each node."""
    visits = []
    engine.run_backward(loss._node, np.ones_like(loss.data), retain_graph=True, accumulate=False,
                        on_grad=lambda node, g: visits.append((node, float(np.linalg.norm(g)))))
    return visits


def page_data(path):
    import json

    text = open(path, encoding="utf-8").read()
    return json.loads(re.search(r"const DATA = (.*?);\n", text).group(1))


@given(st.sampled_from(["rnn", "lstm"]), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_the_page_holds_the_engines_order_and_gradients(tmp_path_factory, kind, steps, seed):
    params, loss = unrolled(kind, steps, seed)
    path = viz.backward_html(loss, tmp_path_factory.mktemp("page") / "b.html", params=params)
    visits = engine_visits(loss)
    builder = _build(loss, params=params)
    data = page_data(path)["steps"]
    assert [s["id"] for s in data] == [builder.vertex_of(node) for node, _ in visits]
    np.testing.assert_allclose([s["norm"] for s in data], [norm for _, norm in visits], rtol=1e-12)
    assert data[0]["norm"] == pytest.approx(math.sqrt(loss.data.size))  # the seed: d loss / d loss = 1
    for param in params.values():
        assert param.grad is None  # stepping through backward accumulates nothing


def test_the_page_is_self_contained(tmp_path):
    params, loss = unrolled("lstm", 2)
    text = open(viz.backward_html(loss, tmp_path / "b.html", params=params), encoding="utf-8").read()
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    assert not re.findall(r"(?:src|href)=\"https?:", text)
    assert text.count("<svg") == 1 and "<?xml" not in text


def test_bad_input_says_what_to_do(tmp_path):
    params, loss = unrolled("rnn", 2)
    with pytest.raises(ValueError, match=r"ending in \.html"):
        viz.backward_html(loss, tmp_path / "b.svg")
    with pytest.raises(TypeError, match="Tensor"):
        viz.backward_html(loss.data, tmp_path / "b.html")
    with pytest.raises(ValueError, match="no graph"):
        viz.backward_html(mg.tensor([1.0]), tmp_path / "b.html")
    loss.backward()
    with pytest.raises(ValueError, match=r"retain_graph=True"):
        viz.backward_html(loss, tmp_path / "b.html")
    assert not (tmp_path / "b.html").exists() and not (tmp_path / "b.svg").exists()


def save_screenshot(page, tmp_path, name):
    """Save where a person can look at it: $MINIGRAD_SCREENSHOTS when set, else the test's tmp_path."""
    folder = os.environ.get("MINIGRAD_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    page.screenshot(path=os.path.join(folder, name))


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_stepping_in_a_real_browser_follows_the_engine(chromium_browser, tmp_path, kind):
    params, loss = unrolled(kind, 4)
    path = viz.backward_html(loss, tmp_path / "backward.html", params=params)
    visits = engine_visits(loss)
    builder = _build(loss, params=params)
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(pathlib.Path(path).resolve().as_uri())
    assert page.text_content("#step") == f"step 0 of {len(visits)}"
    steps = min(25, len(visits))
    for k in range(steps):
        page.click("#next")
        node, norm = visits[k]
        vertex = builder.vertex_of(node)
        assert page.eval_on_selector_all("g.node.current", "els => els.map(e => e.id)") == [vertex]
        shown = float(page.text_content("#norm"))
        assert shown == pytest.approx(norm, rel=1e-3)
        op = node.op.name if node.tensor is None else None
        if op:
            assert page.text_content("#node").startswith(op)
            assert node.scope in page.text_content("#node")
        tooltip = page.get_attribute(f"[id='{vertex}'] a", "xlink:title") or ""
        assert (f"op: {op}" if op else "Parameter") in tooltip
    assert page.text_content("#step") == f"step {steps} of {len(visits)}"
    # finished vertices are filled with their gradient's colour; unvisited ones keep the drawing's
    first = builder.vertex_of(visits[0][0])
    fill = page.get_attribute(f"[id='{first}'] ellipse", "fill")
    assert fill.startswith("#") and fill.lower() not in ("#ffffff", "white")
    page.click("#prev")
    assert page.text_content("#step") == f"step {steps - 1} of {len(visits)}"
    assert page.eval_on_selector_all("g.node.current", "els => els.map(e => e.id)") == [
        builder.vertex_of(visits[steps - 2][0])]
    page.fill("#slider", str(len(visits)))
    page.dispatch_event("#slider", "input")
    assert float(page.text_content("#norm")) == pytest.approx(visits[-1][1], rel=1e-3)
    page.fill("#slider", str(steps))
    page.dispatch_event("#slider", "input")
    save_screenshot(page, tmp_path, f"backward_{kind}.png")
    assert errors == []
    assert all(url.startswith("file:") for url in requests), requests  # no network


def test_play_runs_to_the_end(chromium_browser, tmp_path):
    params, loss = unrolled("rnn", 1)
    path = viz.backward_html(loss, tmp_path / "backward.html", params=params)
    total = len(engine_visits(loss))
    page = chromium_browser.new_page()
    page.goto(pathlib.Path(path).resolve().as_uri())
    page.click("#play")
    page.wait_for_function(f"document.getElementById('step').textContent === 'step {total} of {total}'",
                           timeout=total * 400 + 5000)
    assert "play" in page.text_content("#play")  # stopped by itself at the end
