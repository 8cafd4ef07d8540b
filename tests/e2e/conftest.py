import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """Debian's headless chromium driven by Playwright; skips without either."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (the test extra)")
    if CHROMIUM is None:
        pytest.skip("no chromium here: apt-get install chromium (.ci/run does)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()
