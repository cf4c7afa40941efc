"""drawing.md's pictures: drawn by the code printed beside them, and readable in the page."""
import os
import re
import xml.etree.ElementTree as ET

import pytest

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")
PAGE = open(os.path.join(DOCS, "drawing.md"), encoding="utf-8").read()
COLUMN_PX = 688  # the text column of the Material theme in a 1280 px wide window (measured in chromium)
IMAGE = re.compile(r"(\[)?!\[[^\]]*\]\(figures/([^)]+)\)(\]\(([^)]+)\))?")


def code():
    return "\n".join(re.findall(r"^```python\n(.*?)^```", PAGE, re.S | re.M))


@pytest.mark.parametrize("name", sorted({m[1] for m in IMAGE.findall(PAGE) if m[1].endswith(".svg")}))
def test_each_svg_figure_is_written_by_the_page_and_readable(name):
    assert f'"{name}"' in code(), f"{name}: no code block on drawing.md writes it"
    root = ET.parse(os.path.join(DOCS, "figures", name)).getroot()
    natural_px = float(root.get("width").removesuffix("pt")) * 4 / 3
    units = float(root.get("viewBox").split()[2])
    smallest = min(float(e.get("font-size")) for e in root.iter() if e.get("font-size"))
    text_px = smallest * min(natural_px, COLUMN_PX) / units
    linked = any(m[1] == name and m[3] == f"figures/{name}" for m in IMAGE.findall(PAGE))
    assert text_px >= 10 or linked, f"{name}: text {text_px:.1f} px high in the page and no link to the full size"


@pytest.mark.parametrize("page", ["backward-rnn.html", "backward-lstm.html"])
def test_the_backward_pages_are_written_by_the_page_small_and_linked(page):
    assert f'"{page}"' in code()
    assert os.path.getsize(os.path.join(DOCS, page)) < 300_000
    assert f"]({page})" in open(os.path.join(DOCS, "why-lstm-remembers.md"), encoding="utf-8").read()
