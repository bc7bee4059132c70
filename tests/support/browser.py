"""A headless Chromium driven through chromedriver (Selenium) for tests of the web console.

Debian's `chromium` and `chromium-driver` packages (`./dev setup` installs them); every browser starts
with a fresh profile in a temporary folder, which goes when the browser quits.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service


@contextmanager
def headless_chromium(width: int = 1400, height: int = 1000) -> Iterator[webdriver.Chrome]:
    """A headless browser that keeps its console messages (see `script_errors`); quit on leaving."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.fail("chromium and chromedriver are needed (Debian: chromium, chromium-driver; `./dev setup`)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for argument in ("--headless=new", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                         # Tests often run as root in containers, where Chromium's sandbox cannot start.
                         "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                         "--disable-extensions", "--disable-background-networking"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        chrome = webdriver.Chrome(options=options, service=Service(driver))
        try:
            yield chrome
        finally:
            chrome.quit()


def script_errors(driver: webdriver.Chrome) -> list[str]:
    """The page's script errors since the last call (uncaught exceptions, `console.error`); failed
    requests are left out: a page may expect some (a 401 for a wrong token)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and entry.get("source") != "network"]
