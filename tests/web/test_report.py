"""``modelreg report -o DIR``: the same pages as files, opened from disk by the browser."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import Showcase
from tests.server.conftest import Server

from .conftest import Shots
from .test_pages import crawl, text, visible_rows


def report(root: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as a CI job runs it."""
    return subprocess.run(
        [sys.executable, "-m", "modelreg", "-C", str(root), "report", "-o", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_report_is_the_pages_as_files(
    lived_in: Showcase, tmp_path: Path, browser: WebDriver, shots: Shots
) -> None:
    out = tmp_path / "public"
    done = report(lived_in.root, out, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"directory": str(out), "pages": 15, "models": 4}
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.html"))
    assert files == [
        "diff/embedder@v1.0.0..v2.0.0.html",
        "diff/team/fraud@v0.1.0..v0.2.0.html",
        "diff/team/fraud@v0.2.0..v0.3.0.html",
        "index.html",
        "m/embedder.html",
        "m/embedder@v1.0.0.html",
        "m/embedder@v2.0.0.html",
        "m/legacy.html",
        "m/legacy@v0.9.0.html",
        "m/ranker.html",
        "m/ranker@v1.0.0.html",
        "m/team/fraud.html",
        "m/team/fraud@v0.1.0.html",
        "m/team/fraud@v0.2.0.html",
        "m/team/fraud@v0.3.0.html",
    ]

    # every page, reached by following links from index.html, all relative
    home = out.as_uri() + "/index.html"
    opened = crawl(browser, home, shots, lambda href: href.startswith(out.as_uri()))
    reached = {unquote(url.removeprefix(out.as_uri() + "/")) for url in opened}
    assert reached == set(files)

    # the model page as on the server, without the server's parts
    browser.get(out.as_uri() + "/m/team/fraud.html")
    main = text(browser)
    assert "“latency regression”" in main
    assert "forced: dependents" in main and "signed" in main
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart[role=img]")) == 2
    assert "modelreg get team/fraud@v0.3.0" in main
    assert "curl" not in main  # no server to download from
    assert not browser.find_elements(By.LINK_TEXT, "model.pkl")
    assert not browser.find_elements(By.CSS_SELECTOR, "form.compare[action]")  # no /diff

    # the home page filters in the browser, from the same query parameters
    browser.get(home)
    assert visible_rows(browser) == ["embedder", "ranker", "team/fraud"]
    browser.get(home + "?label=team%3Drisk")
    assert visible_rows(browser) == ["team/fraud"]
    browser.get(home + "?deprecated=1")
    assert visible_rows(browser) == ["embedder", "legacy", "ranker", "team/fraud"]
    shots(browser, "report-home-deprecated")


def test_report_writes_again_over_its_own_folder_only(lived_in: Showcase, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert report(lived_in.root, out).returncode == 0
    (out / "m" / "stale.html").write_text("from an older report")
    again = report(lived_in.root, out)
    assert again.returncode == 0, again.stderr
    assert "Wrote 15 page(s) for 4 model(s)" in again.stdout
    assert not (out / "m" / "stale.html").exists()

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me")
    refused = report(lived_in.root, theirs)
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "is not empty and holds no earlier report" in refused.stderr
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"]


def test_the_report_compares_any_two_versions_as_the_server_does(
    lived_in: Showcase,
    tmp_path: Path,
    serve: Callable[..., Server],
    browser: WebDriver,
    shots: Shots,
) -> None:
    """Only neighbours have a diff page in the report; any other two are lined up in
    the browser from the sides the model page carries, to the same rows as /diff."""
    out = tmp_path / "public"
    assert report(lived_in.root, out).returncode == 0
    server = serve(lived_in.root)
    for name, a, b in (
        ("team/fraud", "0.1.0", "0.3.0"),
        ("team/fraud", "0.3.0", "0.1.0"),
        ("team/fraud", "0.2.0", "0.2.0"),
        ("embedder", "2.0.0", "1.0.0"),
    ):
        browser.get(f"{server.url}/diff?a={name}@v{a}&b={name}@v{b}")
        expected = tables(browser, "main")
        browser.get(out.as_uri() + f"/m/{name}.html")
        for field, version in (("diff-a", a), ("diff-b", b)):
            select = browser.find_element(By.ID, field)
            select.find_element(By.CSS_SELECTOR, f'option[value="{version}"]').click()
        browser.find_element(By.CSS_SELECTOR, "form[data-compare] button").click()
        result = browser.find_element(By.ID, "compare-result")
        assert result.find_element(By.TAG_NAME, "h3").text == f"v{a} → v{b}"
        assert tables(browser, "#compare-result") == expected
        assert ("identical" in result.text) == (a == b)
        if (a, b) == ("0.1.0", "0.3.0"):  # a delta as the server writes it, sign and all
            assert "precision 0.7 0.78 +0.08" in result.text
        shots(browser, f"report-compare-{name}-{a}-{b}")


def tables(browser: WebDriver, within: str) -> list[tuple[str, list[str]]]:
    """Each diff table under ``within``: its heading and its rows' text."""
    out = []
    for table in browser.find_elements(By.CSS_SELECTOR, f"{within} table.diff"):
        section = table.find_element(By.XPATH, "ancestor::section[1]")
        heading = section.find_element(By.CSS_SELECTOR, "h2, h3").text
        rows = [row.text for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
        out.append((heading, rows))
    return out
