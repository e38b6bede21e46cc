"""A headless Chromium for tests that look at a page as a person would (selenium with
Debian's `chromium` and `chromium-driver`; `.ci/run` installs them when CI=true). Where no
browser is found, a test is skipped with the reason, except in CI, where it fails."""

from __future__ import annotations

import os
import shutil

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> tuple[str | None, str | None]:
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    driver = shutil.which("chromedriver") or (
        os.path.exists("/usr/lib/chromium/chromedriver") and "/usr/lib/chromium/chromedriver"
    )
    return browser, driver or None


@pytest.fixture(scope="module")
def chromium():
    binary, driver = find_browser()
    if not (binary and driver):
        missing = "a Chromium browser" if not binary else "chromedriver"
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"CI must run the browser tests, but {missing} is not installed (.ci/run installs "
                "chromium and chromium-driver)"
            )
        pytest.skip(f"{missing} not found: `apt-get install chromium chromium-driver` to run the browser tests")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1000,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # every request, for tests that list them
    drv = webdriver.Chrome(service=Service(driver), options=options)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()
