"""The web page on the real ``modelreg serve``, opened by a real browser.

Each test starts the server on a showcase registry, opens pages the way a person
would (typing, clicking links, pressing keys) and checks what is on the screen;
every page opened is kept as a screenshot (see conftest.py).
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from modelreg import Registry
from modelreg.server.web import views
from tests.conftest import Showcase, Unchanged
from tests.server.conftest import Server

from .conftest import Shots, press


def visible_rows(browser: WebDriver) -> list[str]:
    return [
        row.get_attribute("data-name") or ""
        for row in browser.find_elements(By.CSS_SELECTOR, "tr[data-name]")
        if row.is_displayed()
    ]


def text(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "main").text


def crawl(browser: WebDriver, start: str, shots: Shots, keep: Callable[[str], bool]) -> list[str]:
    """Open ``start`` and every page linked from it that ``keep`` accepts, each once;
    a screenshot of each. Returns the pages opened, in order."""
    seen: list[str] = []
    queue = [start]
    while queue:
        url = queue.pop(0).split("#")[0]
        if url in seen:
            continue
        seen.append(url)
        browser.get(url)
        title = browser.title
        assert title.endswith("· modelreg"), (url, title)
        heading = browser.find_element(By.TAG_NAME, "h1").text
        assert heading not in ("Not found", "Bad request", "Something went wrong"), (
            url,
            text(browser),
        )
        # a page names itself: its main landmark and its heading are there
        assert browser.find_elements(By.CSS_SELECTOR, "header nav[aria-label]")
        assert browser.find_elements(By.CSS_SELECTOR, "main#main")
        shots(browser, urlsplit(url).path.rsplit("/", 1)[-1] or "home")
        for link in browser.find_elements(By.CSS_SELECTOR, "main a[href], header a[href]"):
            href = link.get_attribute("href") or ""
            if keep(href) and href.split("#")[0] not in seen:
                queue.append(href)
    return seen


def test_every_page_opens_from_the_home_page(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)

    def ours(href: str) -> bool:
        path = urlsplit(href).path
        return href.startswith(server.url) and not path.startswith(("/v2/", "/static/"))

    opened = crawl(browser, server.url + "/?deprecated=1", shots, ours)
    paths = {urlsplit(u).path for u in opened}
    for page in (
        "/",
        "/m/embedder",
        "/m/team/fraud",
        "/m/ranker",
        "/m/legacy",
        "/m/embedder@v2.0.0",
        "/m/embedder@v1.0.0",
        "/m/team/fraud@v0.1.0",
        "/m/team/fraud@v0.2.0",
        "/m/team/fraud@v0.3.0",
        "/m/ranker@v1.0.0",
        "/m/legacy@v0.9.0",
        "/diff",
    ):
        assert page in paths, (page, sorted(paths))
    # the deregistered version is listed, but has no page to link to
    assert "/m/embedder@v1.1.0" not in paths


def test_the_home_page_lists_models_by_namespace_with_their_stages(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)
    browser.get(server.url + "/")
    shots(browser, "home")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Models"
    groups = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section.group h2")]
    assert groups == ["Top level", "team/"]
    assert visible_rows(browser) == ["embedder", "ranker", "team/fraud"]  # legacy: deprecated
    fraud = browser.find_element(By.CSS_SELECTOR, 'tr[data-name="team/fraud"]')
    assert "production v0.2.0" in fraud.text
    assert "staging v0.3.0" in fraud.text
    assert "team=risk" in fraud.text
    assert "assign v0.1.0 → dev" in fraud.text  # the last event
    assert browser.find_element(By.ID, "count").text == "3 of 4 models shown"

    # the deprecated model behind its toggle
    browser.find_element(By.CSS_SELECTOR, "label[for=deprecated]").click()
    press(browser, By.CSS_SELECTOR, "form[data-filters] button[type=submit]")
    assert "deprecated=1" in browser.current_url
    assert "legacy" in visible_rows(browser)
    assert "deprecated" in browser.find_element(By.CSS_SELECTOR, 'tr[data-name="legacy"]').text
    shots(browser, "home-with-deprecated")

    # typing filters as you go (the script) ...
    name = browser.find_element(By.ID, "q")
    name.send_keys("rank")
    assert visible_rows(browser) == ["ranker"]
    assert browser.find_element(By.ID, "count").text == "1 of 4 models shown"
    shots(browser, "typing-rank")
    # ... and submitting makes a link a colleague can paste
    name.send_keys(Keys.ENTER)
    WebDriverWait(browser, 60).until(lambda b: "q=rank" in b.current_url)
    assert "q=rank" in browser.current_url
    pasted = browser.current_url
    browser.get(pasted)
    assert visible_rows(browser) == ["ranker"]


def test_filters_work_without_javascript(lived_in: Showcase, serve: Callable[..., Server]) -> None:
    server = serve(lived_in.root)

    def names(query: str) -> list[str]:
        page = server.get("/" + query)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        return [
            n
            for n in ("embedder", "ranker", "team/fraud", "legacy")
            if f'data-name="{n}"' in page.text
        ]

    assert names("") == ["embedder", "ranker", "team/fraud"]
    assert names("?label=team%3Drisk") == ["team/fraud"]
    assert names("?label=search") == ["embedder"]
    assert names("?stage=production") == ["embedder", "team/fraud"]
    assert names("?q=FRAUD") == ["team/fraud"]
    assert names("?deprecated=1") == ["embedder", "ranker", "team/fraud", "legacy"]
    assert names("?q=nothing-like-it") == []
    assert "No model matches" in server.get("/?q=nothing-like-it").text


def test_namespaces_are_listed_and_each_opens_its_models(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)
    browser.get(server.url + "/")
    nav = browser.find_element(By.CSS_SELECTOR, "nav.namespaces")
    assert nav.get_attribute("aria-label") == "Namespaces"
    assert "team/ (1)" in nav.text
    press(browser, By.PARTIAL_LINK_TEXT, "team/")
    assert "ns=team" in browser.current_url
    assert visible_rows(browser) == ["team/fraud"]
    assert browser.find_element(By.ID, "count").text == "1 of 4 models shown in team/"
    shots(browser, "namespace-team")
    # the name filter keeps the namespace: the form carries it
    browser.find_element(By.ID, "q").send_keys("nothing-like-it", Keys.ENTER)
    WebDriverWait(browser, 60).until(lambda b: "q=nothing-like-it" in b.current_url)
    assert "ns=team" in browser.current_url
    assert visible_rows(browser) == []


def test_a_long_list_is_paged_and_every_model_is_reachable(
    tmp_path: Path, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    """More models than one page holds (the benchmark's generator: real git, real
    tags): 100 rows a page, the next page, "show all", and a search over all."""
    root = generated(tmp_path, "130x2")
    models = Registry(root).list_models()
    names = [m.name for m in models]
    assert len(names) == 130
    server = serve(root)
    browser.get(server.url + "/")
    shots(browser, "home-page-1")
    assert visible_rows(browser) == names[:100]
    assert browser.find_element(By.ID, "count").text == "130 of 130 models shown"
    pager = browser.find_element(By.CSS_SELECTOR, "nav.pager")
    assert "Models 1\N{EN DASH}100 of 130" in pager.text
    press(browser, By.LINK_TEXT, "Next 100 →")
    assert "page=2" in browser.current_url
    assert visible_rows(browser) == names[100:]
    assert (
        "Models 101\N{EN DASH}130 of 130" in browser.find_element(By.CSS_SELECTOR, "nav.pager").text
    )
    shots(browser, "home-page-2")
    press(browser, By.PARTIAL_LINK_TEXT, "Show all 130")
    assert visible_rows(browser) == names
    assert not browser.find_elements(By.CSS_SELECTOR, "nav.pager")

    # typing does not filter one page in the browser: the server searches them all
    browser.get(server.url + "/")
    field = browser.find_element(By.ID, "q")
    field.send_keys(names[120])
    assert len(visible_rows(browser)) == 100
    field.send_keys(Keys.ENTER)
    WebDriverWait(browser, 60).until(lambda b: "q=" in b.current_url)
    assert visible_rows(browser) == [names[120]]
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-name="{names[120]}"]')
    assert "assign" in row.text  # its last event, read for the rows shown

    # a label filter reads every model's latest manifest, beyond the first page
    latest = Registry(root).manifests((m.name, m.latest) for m in models if m.latest)
    team = latest[(names[120], models[120].latest)].labels["team"]
    wanted = [n for n in names if latest[(n, models[names.index(n)].latest)].labels["team"] == team]
    assert any(names.index(n) >= 100 for n in wanted)
    browser.get(server.url + "/?label=team%3D" + team)
    assert visible_rows(browser) == wanted


def generated(tmp_path: Path, shape: str) -> Path:
    """A registry from ``benchmarks/generate.py`` (git fast-import, modelreg's tags)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import generate

    root = tmp_path / "generated"
    generate.generate(
        root,
        generate.Shape.parse(shape),
        modelreg=[sys.executable, "-m", "modelreg"],
        env=dict(os.environ),
        remote=tmp_path / "generated-remote",
    )
    return root


def test_a_model_page_shows_versions_charts_history_and_dependencies(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)
    browser.get(server.url + "/")
    press(browser, By.LINK_TEXT, "team/fraud")
    assert browser.current_url == server.url + "/m/team/fraud"
    shots(browser, "team-fraud")
    main = text(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "team/fraud"
    assert "card fraud scorer" in main

    versions = browser.find_elements(By.CSS_SELECTOR, "table.versions tbody tr")
    assert [row.find_element(By.TAG_NAME, "th").text for row in versions] == [
        "v0.3.0",
        "v0.2.0",
        "v0.1.0",
    ]
    assert "staging" in versions[0].text and "precision 0.78" in versions[0].text
    assert "MIT" in versions[0].text and "Test User" in versions[0].text

    # one chart per metric, each an image with a text alternative listing the values
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart[role=img]")
    assert len(charts) == 2
    desc = browser.find_element(By.ID, "m-precision-desc").get_attribute("textContent")
    assert desc == "v0.1.0: 0.7, v0.2.0: 0.75, v0.3.0: 0.78"

    # history: who, when, what, why; the forced and signed promotion shows it
    timeline = browser.find_element(By.CSS_SELECTOR, "ol.timeline").text
    assert "rollback v0.2.0 back in production" in timeline
    assert "“latency regression”" in timeline
    first = browser.find_element(By.CSS_SELECTOR, "ol.timeline li").text
    assert "assign v0.1.0 → dev" in first
    assert "forced: dependents" in first
    assert "signed" in first
    assert "“bisecting a regression”" in first
    assert "by Test User" in first

    # dependencies both ways, linked
    assert "embedder v2.0.0" in main and "needs ^2.0.0" in main
    assert "ranker v1.0.0" in main
    assert "modelreg deps --reverse team/fraud reads every version" in main

    # files, with a download link to the API and commands to copy
    link = browser.find_element(By.LINK_TEXT, "model.pkl").get_attribute("href")
    assert link == server.url + "/v2/models/team/fraud@v0.3.0/files/model.pkl"
    assert "modelreg get team/fraud@v0.3.0" in main
    assert f"curl -fL -o model.pkl {link}" in main
    assert requests.get(link, timeout=60).content == b"team/fraud 0.3.0\n"

    # a dependency's link leads to its version page
    press(browser, By.LINK_TEXT, "embedder v2.0.0")
    assert browser.current_url == server.url + "/m/embedder@v2.0.0"
    assert browser.find_element(By.TAG_NAME, "h1").text == "embedder v2.0.0"
    shots(browser, "embedder-v2")


def test_a_version_page_shows_its_manifest_and_events(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)
    browser.get(server.url + "/m/team/fraud@v0.2.0")
    shots(browser, "fraud-v0.2.0")
    main = text(browser)
    assert "production" in main and "staging" in main
    manifest = browser.find_element(By.CSS_SELECTOR, "pre.manifest").text
    assert "name: team/fraud" in manifest and "version: 0.2.0" in manifest
    assert "- name: embedder" in manifest
    assert "Apache" not in manifest and "license: MIT" in manifest
    assert "“production for 0.2.0”" in main
    # any reference the CLI takes works in the address
    browser.get(server.url + "/m/team/fraud%23production")
    assert browser.find_element(By.TAG_NAME, "h1").text == "team/fraud v0.2.0"
    browser.get(server.url + "/m/team/fraud@latest")
    assert browser.find_element(By.TAG_NAME, "h1").text == "team/fraud v0.3.0"


def test_a_diff_of_two_versions(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)
    browser.get(server.url + "/m/team/fraud")
    press(browser, By.LINK_TEXT, "diff with v0.2.0")
    assert browser.find_element(By.TAG_NAME, "h1").text == "team/fraud: v0.2.0 → v0.3.0"
    shots(browser, "diff-0.2-0.3")
    metrics = browser.find_element(By.ID, "s-metrics").find_element(By.XPATH, "..").text
    assert "precision 0.75 0.78 +0.03" in metrics
    params = browser.find_element(By.ID, "s-params").find_element(By.XPATH, "..").text
    assert "trees 200 400 +200" in params
    assert "model.pkl" in browser.find_element(By.ID, "s-files").find_element(By.XPATH, "..").text

    # any two: pick them in the form
    select_a = browser.find_element(By.ID, "diff-a")
    select_a.find_element(By.XPATH, "option[. = 'team/fraud@v0.1.0']").click()
    press(browser, By.CSS_SELECTOR, "form.compare button")
    assert browser.find_element(By.TAG_NAME, "h1").text == "team/fraud: v0.1.0 → v0.3.0"
    deps = browser.find_element(By.ID, "s-dependencies").find_element(By.XPATH, "..").text
    assert "embedder >=1.0.0 ^2.0.0" in deps
    shots(browser, "diff-0.1-0.3")


def test_the_keyboard_and_screen_readers_find_their_way(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)
    for path in (
        "/",
        "/m/team/fraud",
        "/m/embedder@v2.0.0",
        "/diff?a=embedder@v1.0.0&b=embedder@v2.0.0",
    ):
        browser.get(server.url + path)
        # the first Tab reaches "Skip to content", which moves focus to the main landmark
        body = browser.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        assert active.text == "Skip to content", path
        active.send_keys(Keys.ENTER)
        assert browser.switch_to.active_element.get_attribute("id") == "main", path
        # every form control has a label, every chart a name
        unlabelled = browser.execute_script(
            """return Array.from(document.querySelectorAll(
                   'input:not([type=hidden]), select, textarea'))
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                 .map(e => e.id || e.name)"""
        )
        assert unlabelled == [], (path, unlabelled)
        nameless = browser.execute_script(
            """return Array.from(document.querySelectorAll('svg')).filter(
                 s => !s.getAttribute('aria-labelledby') && !s.getAttribute('aria-label')).length"""
        )
        assert nameless == 0, path
        assert browser.execute_script("return document.documentElement.lang") == "en"

    # the keyboard alone gets from the home page to a model
    browser.get(server.url + "/")
    link = browser.find_element(By.LINK_TEXT, "embedder")
    link.send_keys(Keys.ENTER)
    WebDriverWait(browser, 60).until(lambda b: b.current_url.endswith("/m/embedder"))
    assert browser.current_url == server.url + "/m/embedder"


def test_readable_on_a_phone(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver, shots: Shots
) -> None:
    server = serve(lived_in.root)
    try:
        for path in ("/", "/m/team/fraud", "/m/team/fraud@v0.3.0"):
            browser.set_window_size(390, 844)
            browser.get(server.url + path)
            # nothing wider than the screen: no sideways scrolling of the page itself
            wide = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, (path, wide)
            assert browser.save_screenshot(
                str(shots.folder / f"phone-{path.strip('/').replace('/', '_') or 'home'}.png")
            )
    finally:
        browser.set_window_size(1280, 900)


def test_a_missing_page_says_so_in_html(
    lived_in: Showcase, serve: Callable[..., Server], assert_unchanged: Unchanged
) -> None:
    server = serve(lived_in.root)
    with assert_unchanged(lived_in.root):
        for path, status, words in (
            ("/m/no-such-model", 404, "unknown model 'no-such-model'"),
            ("/m/embedder@v9.9.9", 404, "has no version v9.9.9"),
            ("/m/embedder@v1.1.0", 404, "was deregistered"),
            ("/m/embedder/history", 404, "no page at /m/embedder/history"),
            ("/m/..%2Fetc", 400, "segment"),
            ("/diff", 400, "two versions"),
            ("/diff?a=embedder@v1.0.0&b=nope@v1.0.0", 404, "unknown model"),
            ("/m/Bad%20Name!", 422, ""),
        ):
            answer = server.get(path)
            assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
            assert answer.headers["content-type"].startswith("text/html"), path
            assert words in html.unescape(answer.text), (path, answer.text)
            assert "Traceback" not in answer.text


def test_a_page_number_that_is_not_one_opens_the_first_page(
    lived_in: Showcase, serve: Callable[..., Server], assert_unchanged: Unchanged
) -> None:
    """A hand-edited ``?page=`` is the first page, never an error: ``²`` and ``①``
    are digits to ``str.isdigit`` but not to ``int`` (each was a 500)."""
    server = serve(lived_in.root)
    with assert_unchanged(lived_in.root):
        first = server.get("/")
        assert first.status_code == 200
        for page in ("-1", "abc", "0", "1e9", "9" * 30, "²", "①", "٣"):
            answer = server.get("/", params={"page": page})
            assert answer.status_code == 200, (page, answer.text[:300])
            assert answer.text == first.text, page
    assert "a bug in modelreg" not in server.output()


def test_a_metric_no_float_can_hold_is_left_off_the_chart() -> None:
    """A manifest from elsewhere may hold 10**400 or .inf: the model's page drew its
    chart with float() and answered 500; such a value is now no point on it."""
    rows = [
        {"version": "1.1.0", "metrics": {"a": 10**400, "b": 0.5}},
        {"version": "1.0.0", "metrics": {"a": 1, "b": float("inf")}},
    ]
    assert views.metric_series(rows) == [("a", [("1.0.0", 1.0)]), ("b", [("1.1.0", 0.5)])]


def test_pages_are_gzipped_and_reflect_new_events(
    lived_in: Showcase, serve: Callable[..., Server], tmp_path: Path
) -> None:
    server = serve(lived_in.root)
    zipped = requests.get(server.url + "/", headers={"Accept-Encoding": "gzip"}, timeout=60)
    assert zipped.headers["content-encoding"] == "gzip"
    plain = requests.get(server.url + "/", headers={"Accept-Encoding": "identity"}, timeout=60)
    assert "content-encoding" not in plain.headers
    assert zipped.text == plain.text
    # a write made beside the server (the CLI) shows on the next page view
    lived_in.registry.deprecate("ranker", message="from the CLI")
    again = server.get("/m/ranker")
    assert "“from the CLI”" in again.text
