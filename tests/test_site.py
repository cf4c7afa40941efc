"""The built site, read in a real browser: every page at a desktop and a phone width.

Builds the site with `mkdocs build --strict` into a temporary folder, serves it on 127.0.0.1 and
opens every English page and every page with a Chinese source (`*.zh.md`) in headless Chromium
(tests/conftest.py's `chromium_browser`).  Screenshots of every page at both widths go to
$MINIGRAD_SCREENSHOTS when set (else a temporary folder): look at them after changing the docs.
"""
import functools
import glob
import http.server
import os
import re
import subprocess
import sys
import threading

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WIDTHS = {"desktop": (1280, 900), "phone": (412, 915)}


def _pages():
    """URL paths of the site's pages: every English page, and the Chinese ones written in Chinese."""
    docs = os.path.join(ROOT, "docs")
    exclude = {"vjp_table.md", "CONTRIBUTING-docs.md"}
    paths = []
    for md in sorted(glob.glob(os.path.join(docs, "*.md"))):
        name = os.path.basename(md)
        if name in exclude:
            continue
        stem, zh = (name[: -len(".zh.md")], True) if name.endswith(".zh.md") else (name[: -len(".md")], False)
        url = "" if stem == "index" else f"{stem}/"
        paths.append(("zh/" if zh else "") + url)
    return paths


PAGES = _pages()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from this checkout, served over HTTP; yields its base URL."""
    pytest.importorskip("mkdocs", reason='mkdocs is not installed: pip install -e ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = os.environ.get("MINIGRAD_SCREENSHOTS") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(folder, exist_ok=True)
    return folder


# Visible elements that stick out to the right of the viewport, unless they sit in something that
# scrolls sideways (code blocks, tables) or is hidden off-canvas (the phone drawer).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => { for (let e = el.parentElement; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) return true; } return false; };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= width + 1 || r.left >= width) continue;
    if (scrolls(el)) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.position === 'fixed') continue;
    bad.push(el.tagName.toLowerCase() + '.' + el.className + ' right=' + Math.round(r.right));
  }
  return {bad: bad.slice(0, 5), scrollWidth: document.documentElement.scrollWidth, width};
}"""

BROKEN_IMAGES_JS = """() => [...document.images]
  .filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => img.src)"""

# Text outside code blocks: where doctest prompts or untypeset math would show as prose.
PROSE_JS = """() => {
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  let text = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.parentElement.closest('pre, code, .katex, script, style')) text += n.textContent + ' ';
  }
  return text;
}"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "home")
def test_page_reads_well_in_a_browser(chromium_browser, site, screenshots, path, width):
    w, h = WIDTHS[width]
    page = chromium_browser.new_page(viewport={"width": w, "height": h})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(site + path, wait_until="load")
        page.wait_for_load_state("networkidle")
        name = (path.strip("/").replace("/", "_") or "home") + f"_{w}.png"
        page.screenshot(path=os.path.join(screenshots, name), full_page=True)
        where = f"{path or 'home'} at {w} px"
        assert not errors, f"{where}: console errors {errors}"
        broken = page.evaluate(BROKEN_IMAGES_JS)
        assert not broken, f"{where}: images that did not load: {broken}"
        overflow = page.evaluate(OVERFLOW_JS)
        assert not overflow["bad"] and overflow["scrollWidth"] <= overflow["width"], \
            f"{where}: wider than the viewport: {overflow}"
        prose = " ".join(page.evaluate(PROSE_JS).split())
        for literal in (">>>", ":func:", ":class:", ":meth:", "\\(", "\\["):
            assert literal not in prose, f"{where}: {literal!r} shows as text outside code: ...{prose[prose.find(literal) - 80:][:200]}..."
        lang = page.evaluate("document.documentElement.lang")
        assert lang == ("zh" if path.startswith("zh/") else "en"), f"{where}: <html lang={lang!r}>"
        if path.startswith("zh/"):
            font = page.evaluate("getComputedStyle(document.body).fontFamily")
            assert "Noto Sans CJK SC" in font and "PingFang SC" in font, f"{where}: no CJK font named: {font}"
            ids = page.eval_on_selector_all("article [id]", "els => els.map(e => e.id)")
            assert not [i for i in ids if re.fullmatch(r"_?\d*", i)], f"{where}: unreadable anchors {ids}"
        if "\\(" in open(_source(path), encoding="utf-8").read():
            assert page.locator(".katex").count() > 0, f"{where}: the math was not typeset"
    finally:
        page.close()


def _source(path):
    stem = path.removeprefix("zh/").strip("/") or "index"
    return os.path.join(ROOT, "docs", stem + (".zh.md" if path.startswith("zh/") else ".md"))


def test_searching_chinese_finds_the_page(chromium_browser, site):
    """Material's search, with the index segmented by jieba, finds a Chinese word inside a sentence."""
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(site + "zh/lstm-from-primitives/", wait_until="networkidle")
        page.locator("label.md-search__icon, .md-search__input").first.click()
        page.fill("input.md-search__input", "梯度检查")
        page.keyboard.press("End")  # Material searches on key events; fill() sends none
        page.wait_for_selector(".md-search-result__item", timeout=10_000)
        links = page.eval_on_selector_all(".md-search-result__item a", "els => els.map(e => e.href)")
        assert any("lstm-from-primitives" in link for link in links), links
    finally:
        page.close()
