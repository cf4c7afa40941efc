"""The learning path (why an RNN forgets -> gates -> sequences -> variants -> forecasting -> gates over time)
exists in English and Chinese, and a Chinese reader is never sent to an English-only page."""
import glob
import os
import re

import pytest

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs")
PATH = ["why-lstm-remembers", "gates", "sequence", "seed-variants", "forecasting", "gates-over-time"]
CHINESE = sorted(glob.glob(os.path.join(DOCS, "*.zh.md")))
LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def read(path):
    return open(path, encoding="utf-8").read()


@pytest.mark.parametrize("page", PATH)
def test_every_page_of_the_path_exists_in_both_languages(page):
    for name in (f"{page}.md", f"{page}.zh.md"):
        assert os.path.exists(os.path.join(DOCS, name)), f"docs/{name} is missing"


@pytest.mark.parametrize("page", CHINESE, ids=os.path.basename)
def test_chinese_pages_link_only_to_pages_that_have_a_chinese_version(page):
    for target in LINK.findall(FENCE.sub("", read(page))):
        stem = target[: -len(".zh.md")] if target.endswith(".zh.md") else target[: -len(".md")]
        assert os.path.exists(os.path.join(DOCS, stem + ".zh.md")), (
            f"{os.path.basename(page)} links to {target}, which has no Chinese version: "
            f"write docs/{stem}.zh.md or link elsewhere")


def test_the_chinese_path_names_the_tutorials_terms():
    text = "".join(read(os.path.join(DOCS, f"{page}.zh.md")) for page in PATH)
    for term in ("遗忘门", "输入门", "输出门", "细胞状态", "记忆细胞", "单元状态", "候选记忆值", "⊙"):
        assert term in text, f"the Chinese learning path never says {term}"


@pytest.mark.parametrize("page", ["lstm-from-primitives", "why-lstm-remembers", "gates", "seed-variants"])
def test_chinese_pages_that_multiply_gates_say_the_product_is_elementwise(page):
    text = read(os.path.join(DOCS, f"{page}.zh.md"))
    assert "⊙" in text and "逐元素" in text, f"{page}.zh.md multiplies gates with * but never says it is element-wise (⊙)"
