import os

import numpy as np
import pytest
from hypothesis import settings

# Property-test profiles: "ci" (chosen when the environment sets CI) is derandomized, so CI is reproducible,
# with bounded examples and no example database; "default" is for local runs; "thorough" searches longer:
# `pytest --hypothesis-profile=thorough`.  None has a deadline: the machines are shared.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25, database=None, print_blob=True)
settings.register_profile("default", deadline=None, max_examples=25, print_blob=True)
settings.register_profile("thorough", deadline=None, max_examples=500, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def chromium_browser():
    """A real headless Chromium (Debian's `chromium`) driven by Playwright; skips, saying why, without them."""
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH: install Debian's `chromium` package (.ci/run does so where apt is usable)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip('playwright is not installed: pip install -e ".[browser]"')
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()
