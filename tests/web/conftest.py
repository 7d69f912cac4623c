"""A real browser (Debian's Chromium, headless) on the real server and on the report.

Screenshots of every page a test opens are kept under ``test-artifacts/web/``
(gitignored; the summary at the end of the run names the folder), so a person
can look at what the browser saw.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import Clock, Showcase, git
from tests.server.conftest import serve  # noqa: F401  (the fixture, for this folder)

from .browser import available, chromium, full_page_screenshot

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    missing = available()
    if missing is not None:
        if os.environ.get("MODELREG_REQUIRE_SERVERS") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    driver = chromium()
    yield driver
    driver.quit()


def press(browser: WebDriver, by: str, what: str) -> None:
    """Click a button or link that loads a page, and wait until the new one is there."""
    element = browser.find_element(by, what)
    element.click()

    def gone(_: WebDriver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # stale, or no longer in any document
            return True
        return False

    WebDriverWait(browser, 60).until(gone)


class Shots:
    """Screenshots of one test, numbered in the order taken."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def __call__(self, driver: WebDriver, what: str) -> Path:
        name = re.sub(r"[^A-Za-z0-9@.=-]+", "_", what).strip("_") or "page"
        path = self.folder / f"{len(self.taken) + 1:02d}-{name[:80]}.png"
        full_page_screenshot(driver, path)
        driver.set_window_size(1280, 900)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)
    if folder.exists():
        for old in folder.glob("*.png"):
            old.unlink()
    return Shots(folder)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ARTIFACTS.is_dir() and any(ARTIFACTS.rglob("*.png")):
        terminalreporter.write_line(f"web page screenshots: {ARTIFACTS}")


@pytest.fixture
def lived_in(showcase: Showcase, clock: Clock, tmp_path: Path) -> Showcase:
    """The showcase, plus one forced and signed promotion: ``team/fraud`` v0.1.0 to
    dev although ``ranker`` (in dev) needs ``~0.2.0``, signed with an SSH key."""
    key = tmp_path / "release-key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", str(key)],
        check=True,
    )
    root = showcase.root
    git(root, "config", "gpg.format", "ssh")
    git(root, "config", "user.signingkey", f"{key}.pub")
    clock.tick(60)
    showcase.registry.promote(
        "team/fraud@v0.1.0", "dev", force=True, sign=True, message="bisecting a regression"
    )
    clock.tick(60)
    return showcase
