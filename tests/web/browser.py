"""Debian's Chromium, headless, driven by Selenium through the system chromedriver.

Nothing is downloaded: the driver is ``/usr/bin/chromedriver`` (Debian's
``chromium-driver``, which ``.ci/run`` installs) and ``SE_OFFLINE`` keeps Selenium
Manager from looking for another. Used by the tests in this folder and by
``examples/screenshots.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def available() -> str | None:
    """Why a browser cannot start here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.access(path, os.X_OK) or shutil.which(path)):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


def chromium(width: int = 1280, height: int = 900, *, dark: bool = False) -> webdriver.Chrome:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    if dark:
        options.add_argument("--force-dark-mode")
        options.add_argument("--blink-settings=preferredColorScheme=0")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def full_page_screenshot(driver: webdriver.Chrome, path: Path, width: int = 1280) -> None:
    """The whole page, not just the window: grow the window to the page's height."""
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
    )
    driver.set_window_size(width, min(int(height) + 40, 6000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
