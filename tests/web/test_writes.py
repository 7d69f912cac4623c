"""Changing stages from the web page: a write token signs in, each change shows what
the gates say before it is made; without a write token the page is read-only."""

from __future__ import annotations

import re
from collections.abc import Callable

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.conftest import Cli, Showcase, Unchanged
from tests.server.conftest import Server

from .conftest import Shots, press


def add_token(cli: Cli, showcase: Showcase, name: str, role: str) -> str:
    """``modelreg token add`` as a person runs it; the secret is stdout's last word."""
    done = cli.ok("-C", showcase.root, "token", "add", name, "--role", role, "--email",
                  f"{name}@example.com")  # fmt: skip
    return str(done.stdout.split()[-1])


def sign_in(browser: WebDriver, server: Server, secret: str, page: str) -> None:
    """Open ``page``, be sent to the sign-in form, paste the secret, come back."""
    browser.delete_all_cookies()
    browser.get(server.url + page)
    assert browser.current_url.startswith(server.url + "/signin?next=")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    field = browser.find_element(By.ID, "token")
    assert field.get_attribute("type") == "password"
    field.send_keys(secret)
    press(browser, By.CSS_SELECTOR, "form.signin button[type=submit]")
    assert browser.current_url == server.url + page


def test_a_write_token_promotes_through_the_confirmation(
    lived_in: Showcase,
    cli: Cli,
    serve: Callable[..., Server],
    browser: WebDriver,
    shots: Shots,
) -> None:
    secret = add_token(cli, lived_in, "alice", "write")
    server = serve(lived_in.root)

    # nothing is shown without a token: the page asks for one
    browser.delete_all_cookies()
    browser.get(server.url + "/m/team/fraud")
    shots(browser, "sign-in")
    assert "team/fraud" not in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.ID, "token").send_keys("mrt_not-a-real-one")
    press(browser, By.CSS_SELECTOR, "form.signin button")
    assert "the token is not known to this server" in browser.find_element(By.TAG_NAME, "main").text

    sign_in(browser, server, secret, "/m/team/fraud")
    header = browser.find_element(By.CSS_SELECTOR, "header.top").text
    assert "signed in as alice (write)" in header
    cookie = browser.get_cookie("modelreg_session")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # no script reads it
    shots(browser, "team-fraud-signed-in")

    # promote v0.3.0 to dev: ranker (in dev) needs ~0.2.0, so a gate refuses
    Select(browser.find_element(By.ID, "act-ref")).select_by_visible_text("v0.3.0")
    Select(browser.find_element(By.ID, "act-stage")).select_by_visible_text("dev")
    press(browser, By.XPATH, "//button[. = 'Review promotion…']")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Promote team/fraud v0.3.0 to dev?"
    gates = browser.find_element(By.CSS_SELECTOR, "ul.gates").text
    assert "dependents" in gates and "ranker v1.0.0 holds dev and needs team/fraud ~0.2.0" in gates
    shots(browser, "confirm-promote-gate")

    # confirming without force: refused, nothing written, the page says why
    press(browser, By.XPATH, "//button[. = 'Promote']")
    assert "Not done" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    # force with a reason: done, and the timeline names alice and the gate
    browser.find_element(By.ID, "message").send_keys("ranker moves to 0.3 next")
    browser.find_element(By.CSS_SELECTOR, "label[for=force]").click()
    press(browser, By.XPATH, "//button[. = 'Promote']")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Done"
    status = browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert status == "team/fraud v0.3.0 holds dev (v0.1.0 held it)."
    shots(browser, "done-promote")
    press(browser, By.LINK_TEXT, "Back to team/fraud")
    newest = browser.find_element(By.CSS_SELECTOR, "ol.timeline li").text
    assert "assign v0.3.0 → dev" in newest
    assert "forced: dependents" in newest
    assert "by alice <alice@example.com>" in newest
    assert "“ranker moves to 0.3 next”" in newest

    # roll production back from v0.2.0 to v0.1.0 (named: v0.3.0 was rolled back
    # from, so there is no "version before" to go to): every gate passes
    Select(browser.find_element(By.ID, "act-rollback")).select_by_value("production")
    Select(browser.find_element(By.ID, "act-to")).select_by_visible_text("v0.1.0")
    press(browser, By.XPATH, "//button[. = 'Review rollback…']")
    assert browser.find_element(By.TAG_NAME, "h1").text == (
        "Roll back team/fraud production to v0.1.0?"
    )
    assert (
        "Every gate lets this through"
        in browser.find_element(By.ID, "gates").find_element(By.XPATH, "..").text
    )
    shots(browser, "confirm-rollback")
    press(browser, By.XPATH, "//button[. = 'Roll back']")
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == (
        "team/fraud production is back at v0.1.0 (from v0.2.0)."
    )

    # deprecate ranker, from its page
    browser.get(server.url + "/m/ranker")
    press(browser, By.XPATH, "//button[. = 'Review deprecating ranker…']")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Deprecate ranker?"
    press(browser, By.XPATH, "//button[. = 'Deprecate']")
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text == "ranker is deprecated."
    browser.get(server.url + "/")
    assert "ranker" not in [r.get_attribute("data-name") for r in browser.find_elements(
        By.CSS_SELECTOR, "tr[data-name]") if r.is_displayed()]  # fmt: skip

    # signing out forgets the cookie
    browser.get(server.url + "/m/ranker")
    press(browser, By.XPATH, "//button[. = 'Sign out']")
    assert browser.current_url == server.url + "/signin"
    browser.get(server.url + "/m/ranker")
    assert browser.current_url.startswith(server.url + "/signin")


def test_a_read_token_sees_the_pages_and_cannot_write(
    lived_in: Showcase,
    cli: Cli,
    serve: Callable[..., Server],
    browser: WebDriver,
    shots: Shots,
    assert_unchanged: Unchanged,
) -> None:
    secret = add_token(cli, lived_in, "bob", "read")
    writer = add_token(cli, lived_in, "alice", "write")
    server = serve(lived_in.root)
    sign_in(browser, server, secret, "/m/team/fraud")
    assert "signed in as bob (read)" in browser.find_element(By.CSS_SELECTOR, "header").text
    assert not browser.find_elements(By.CSS_SELECTOR, "section.actions")
    # a file's download link works with the cookie (a read)
    link = browser.find_element(By.LINK_TEXT, "model.pkl").get_attribute("href")
    cookie = {"modelreg_session": secret}
    with assert_unchanged(lived_in.root):
        browser.get(server.url + "/act/promote?ref=team/fraud@v0.3.0&stage=production")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Not allowed"
        shots(browser, "read-token-refused")
        # a forged form: no CSRF token, a read token, or the cookie against the API
        form = {"ref": "team/fraud@v0.3.0", "stage": "production", "message": "x"}
        answer = requests.post(server.url + "/act/promote", data=form, cookies=cookie, timeout=60)
        assert answer.status_code == 403
        alice = {"modelreg_session": writer}
        answer = requests.post(server.url + "/act/promote", data=form, cookies=alice, timeout=60)
        assert answer.status_code == 403 and "the form is stale" in answer.text
        answer = requests.post(
            server.url + "/v2/models/team/fraud@v0.3.0/promote",
            json={"stage": "production"},
            cookies=alice,
            timeout=60,
        )
        assert answer.status_code == 401  # the API takes its header, never the cookie
    download = requests.get(link or "", cookies=cookie, timeout=60)
    assert download.status_code == 200 and download.content == b"team/fraud 0.3.0\n"


def test_without_tokens_the_page_is_read_only(
    lived_in: Showcase, serve: Callable[..., Server], browser: WebDriver
) -> None:
    server = serve(lived_in.root)
    browser.delete_all_cookies()
    browser.get(server.url + "/m/team/fraud")
    assert not browser.find_elements(By.CSS_SELECTOR, "section.actions")
    assert not browser.find_elements(By.LINK_TEXT, "Sign in")
    browser.get(server.url + "/act/deprecate?ref=team/fraud")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not allowed"
    assert "add a write token" in browser.find_element(By.TAG_NAME, "main").text
    page = requests.get(server.url + "/signin", timeout=60).text
    assert re.search(r"This server has no tokens", page)
