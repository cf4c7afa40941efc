import numpy as np
import pytest
from hypothesis import settings

# Deterministic property tests: the same examples on every run, no deadline on a shared machine.
settings.register_profile("minigrad", derandomize=True, deadline=None, max_examples=25, print_blob=True)
settings.load_profile("minigrad")


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
