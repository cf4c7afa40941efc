"""Every Python code block in README.md and docs/ runs, in order, one namespace per page."""
import glob
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path):
    return BLOCK.findall(open(path, encoding="utf-8").read())


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: os.path.relpath(p, ROOT))
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for k, block in enumerate(python_blocks(page)):
        try:
            exec(compile(block, f"{os.path.basename(page)} block {k + 1}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"{os.path.relpath(page, ROOT)}, code block {k + 1} failed: {e!r}\n{block}") from e


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
