"""Make drawing.md's pictures by running drawing.md's own code: each figure is what the code beside it writes.

    python docs/drawing_figures.py     # writes docs/figures/drawing_*.{svg,png} and docs/backward-*.html

The Python blocks of docs/drawing.md run in order, in one namespace, inside a temporary folder;
the SVG files they write go to docs/figures/, the backward pages to docs/.  A screenshot of the
RNN's backward page (docs/figures/drawing_backward_page.png) needs Playwright and Debian's chromium.
"""
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def run_page(folder):
    """Run drawing.md's Python blocks in ``folder``; returns the names of the files they wrote."""
    source = open(os.path.join(HERE, "drawing.md"), encoding="utf-8").read()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        namespace = {"__name__": "__docs__"}
        for k, block in enumerate(BLOCK.findall(source)):
            exec(compile(block, f"drawing.md block {k + 1}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return sorted(os.listdir(folder))


def screenshot(page, png, steps):
    """The backward page after ``steps`` presses of next, 820 x 560 px."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright missing: kept the old", os.path.relpath(png, HERE))
        return
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium missing: kept the old", os.path.relpath(png, HERE))
        return
    from pathlib import Path

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 820, "height": 560})
        tab.goto(Path(page).resolve().as_uri())
        for _ in range(steps):
            tab.click("#next")
        tab.screenshot(path=png)
        browser.close()
    print("wrote", os.path.relpath(png, HERE))


def main():
    sys.path.insert(0, os.path.join(HERE, ".."))
    import warnings

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        for name in run_page(folder):
            target = os.path.join(HERE, "figures" if name.endswith(".svg") else "", name)
            if name.endswith((".svg", ".html")):
                shutil.copyfile(os.path.join(folder, name), target)
                print("wrote", os.path.relpath(target, HERE), f"({os.path.getsize(target) // 1024} KB)")
    screenshot(os.path.join(HERE, "backward-rnn.html"), os.path.join(HERE, "figures", "drawing_backward_page.png"), 20)


if __name__ == "__main__":
    main()
