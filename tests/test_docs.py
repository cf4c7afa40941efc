"""Every Python code block in README.md and docs/ runs, in order, one namespace per page.

How the docs show printed output (the convention every page follows):

- On a page where some Python block prints, every Python block is executed by markdown-exec when
  the site is built, in one session per page, and the source is shown above its output:

      ```python exec="on" source="block" session="<page>" result="text"    (a block that prints)
      ```python exec="on" source="above" session="<page>"                  (a block that doesn't)

  ("block" puts the output in Material's result box under the source; a silent block has no box.)
  `<page>` is the file name without `.md`, dots made dashes (`lstm-from-primitives-zh`).  The output
  is never pasted by hand, so it cannot drift from the code.  The build runs in a scratch directory
  (docs/hooks/build_in_tmp.py), so blocks may write files.  A block that needs torch guards itself
  (`try: import torch / except ImportError`) and says so: the site must build without torch.
- Code lines are at most 88 characters (the 1280 px column shows 88 without scrolling).
- Chinese pages are `page.zh.md` beside `page.md`; their paragraphs are not hard-wrapped (a line
  break between two Chinese characters shows as a stray space).
- Math is written \\( ... \\) inline and \\[ ... \\] for display; KaTeX typesets it from docs/assets.

This file runs every Python block (both languages) and checks those rules.
"""
import glob
import os
import re
import shlex

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
SITE_PAGES = [p for p in PAGES if os.path.basename(p) != "README.md"]
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```", re.S | re.M)
MAX_CODE_LINE = 88
CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"


def fences(path):
    """(language, attributes as a dict, source) of every fenced code block of a page."""
    for lang, attrs, body in FENCE.findall(open(path, encoding="utf-8").read()):
        yield lang, dict(a.split("=", 1) for a in shlex.split(attrs) if "=" in a), body


def python_blocks(path):
    return [body for lang, _, body in fences(path) if lang == "python"]


def page_id(path):
    return os.path.basename(path)[: -len(".md")].replace(".", "-")


def rel(path):
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=rel)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for k, block in enumerate(python_blocks(page)):
        try:
            exec(compile(block, f"{os.path.basename(page)} block {k + 1}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"{rel(page)}, code block {k + 1} failed: {e!r}\n{block}") from e


@pytest.mark.parametrize("page", [p for p in SITE_PAGES if any("print(" in b for b in python_blocks(p))], ids=rel)
def test_pages_that_print_show_the_output_of_a_real_run(page):
    for k, (lang, attrs, body) in enumerate(b for b in fences(page) if b[0] == "python"):
        expected = {"exec": "on", "source": "above", "session": page_id(page)}
        if "print(" in body:  # the source, then Material's result box holding the output
            expected.update(source="block", result="text")
        assert attrs == expected, (
            f"{rel(page)}, python block {k + 1}: its fence should read "
            f"```python {' '.join(f'{a}={v!r}'.replace(chr(39), chr(34)) for a, v in expected.items())}"
            f" (see this file's docstring), not {attrs}")


def test_code_lines_fit_the_column():
    long = [f"{rel(p)}: {len(line)} characters: {line}" for p in PAGES for _, _, body in fences(p)
            for line in body.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, f"wrap these code lines at {MAX_CODE_LINE} characters:\n" + "\n".join(long)


@pytest.mark.parametrize("page", [p for p in SITE_PAGES if p.endswith(".zh.md")], ids=rel)
def test_chinese_paragraphs_are_not_hard_wrapped(page):
    text = FENCE.sub("", open(page, encoding="utf-8").read())
    broken = re.findall(rf"[{CJK}]\n[{CJK}]", text)
    assert not broken, f"{rel(page)}: join these lines (a line break inside Chinese shows as a space): {broken}"


def test_the_readme_opens_with_the_two_commands():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    first_block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(first_block) == 2
    assert first_block[0].startswith("pip install -e . && python examples/")
    assert first_block[1].startswith('pip install -e ".[dev]" && pytest')


def test_the_table_of_gradient_rules_matches_the_registry():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", os.path.join(ROOT, "docs", "make_figures.py"))
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    on_disk = open(os.path.join(ROOT, "docs", "vjp_table.md"), encoding="utf-8").read()
    assert on_disk == make_figures.vjp_table(), "docs/vjp_table.md is stale: run python docs/make_figures.py"


def test_every_figure_the_docs_use_exists():
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", open(page, encoding="utf-8").read()):
            assert os.path.exists(os.path.join(os.path.dirname(page), target)), f"{page}: missing figure {target}"
