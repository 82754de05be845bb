"""Issue 15, items 1, 2, 4 and 6 in a real browser (Debian's Chromium through Playwright,
against a live `interlock console` where the demo left the PocketOS delete pending):
sessions that survive a reload and a new tab and end at sign-out, deep links through
sign-in, the stop banner and the "Denied" headline, a stale tab that learns of another
reviewer's decision by itself, and no decision pre-selected on a critical review.

The harness (fixtures, sign-in, screenshots) is `test_console_browser.py`'s. Screenshots go
to tests/artifacts/; docs/stopped-scope.png and docs/review-decided-elsewhere.png are
refreshed when missing or with INTERLOCK_UPDATE_DOCS=1. Every wait is for the page.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from interlock.runtime import Runtime
from tests.ui.browser_harness import harness

_h = harness()
live_console = _h.live_console  # the fixtures, reused as they are
browser = _h.browser
TIMEOUT_MS: int = _h.TIMEOUT_MS
ROOT = Path(__file__).resolve().parents[2]
COOKIE = "interlock_session"
ADVICE = "No: snapshot vol-prod-db first, then fix the staging credential."


def _context(browser: Browser) -> BrowserContext:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1200})
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


def _sign_in_here(page: Page, name: str, password: str) -> None:
    """Fill the sign-in form wherever it is shown (the address is left as it is)."""
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def _wait_cookie(page: Page) -> str:
    page.wait_for_function(f"document.cookie.includes('{COOKIE}=')")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
    return str(cookie["value"])


def _pending_id() -> str:
    with Runtime.open() as rt:
        (waiting,) = rt.inbox.pending()
    return waiting.id


def _to_docs(png: Path, name: str) -> None:
    target = ROOT / "docs" / name
    if os.environ.get("INTERLOCK_UPDATE_DOCS") == "1" or not target.exists():
        shutil.copyfile(png, target)


def test_reload_and_a_new_tab_keep_the_session_and_sign_out_ends_it(
    live_console: str, browser: Browser, password: str
) -> None:
    ctx = _context(browser)
    page = ctx.new_page()
    _h.sign_in(page, live_console, "sam", password)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    token = _wait_cookie(page)
    (cookie,) = [c for c in ctx.cookies() if c["name"] == COOKIE]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert token not in page.url

    page.reload()  # F5
    expect(page.get_by_text("Signed in as")).to_be_visible()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_role("textbox", name="Password")).to_have_count(0)

    tab = ctx.new_page()  # a new tab of the same browser, on a review
    tab.goto(f"{live_console}/review?review={_pending_id()}")
    expect(tab.get_by_text("Signed in as")).to_be_visible()
    expect(tab.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("textbox", name="Password")).to_be_visible()
    page.wait_for_function(f"!document.cookie.includes('{COOKIE}=')")

    # The old token, replayed from another browser, is refused: revoked on the server.
    thief = _context(browser)
    thief.add_cookies([{"name": COOKIE, "value": token, "url": live_console}])
    stolen = thief.new_page()
    stolen.goto(live_console)
    expect(stolen.get_by_role("textbox", name="Password")).to_be_visible()
    expect(stolen.get_by_text("Signed in as")).to_have_count(0)
    # The other tab is signed out too, by its own poll, without a reload.
    expect(tab.get_by_role("textbox", name="Password")).to_be_visible()
    thief.close()
    ctx.close()


def test_a_deep_link_opens_the_review_after_sign_in(
    live_console: str, browser: Browser, password: str
) -> None:
    rid = _pending_id()
    ctx = _context(browser)
    page = ctx.new_page()
    link = f"{live_console}/review?review={rid}"
    page.goto(link)
    expect(page.get_by_role("textbox", name="Password")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page).to_have_url(link)  # not rewritten to the sign-in page
    _sign_in_here(page, "sam", password)
    expect(page.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/review\?review={rid}$"))
    # The copy-link box holds the same address (its icon copies it).
    expect(page.get_by_text(link, exact=True)).to_be_visible()
    ctx.close()


def test_a_stopped_environment_shows_a_banner_and_the_outcome_leads_with_denied(
    live_console: str, browser: Browser, password: str
) -> None:
    with Runtime.open() as rt:
        ada = rt.authenticate("ada", password)
        rt.stops.stop("environment", "production", by=ada, reason="INC-7: deletes in prod")
    rid = _pending_id()
    ctx = _context(browser)
    page = ctx.new_page()
    _h.sign_in(page, live_console, "sam", password)
    banner = page.get_by_text("production is stopped by ada", exact=False)
    expect(banner.first).to_be_visible()  # on the inbox

    page.goto(f"{live_console}/review?review={rid}")  # the session cookie signs in
    expect(page.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()
    expect(page.get_by_text("You may still decide, but an approved action is")).to_be_visible()
    # Nothing is pre-selected on this critical, irreversible delete.
    for label in ("Approve", "Reject with a message", "Edit arguments"):
        expect(page.get_by_role("radio", name=label)).not_to_be_checked()
    expect(page.get_by_text("Choose a decision: nothing is pre-selected")).to_be_visible()
    _to_docs(_h.shot(page, "stopped-scope.png"), "stopped-scope.png")

    # The radio's label (a shortcut button beside it is labelled Approve too).
    page.get_by_test_id("stRadioGroup").get_by_text("Approve", exact=True).click()
    expect(page.get_by_text("approving records your decision, but the action")).to_be_visible()
    target = page.get_by_role("textbox", name="Target name")
    target.fill("vol-prod-db")
    target.press("Enter")
    submit = page.get_by_role("button", name="Submit: approve")
    expect(submit).to_be_enabled()
    submit.click()
    expect(page.get_by_text("Denied: production is stopped.")).to_be_visible()
    with Runtime.open() as rt:
        ran = [r for r in rt.audit.rows() if r.event.startswith("execution")]
    assert not any(r.data.get("tool") == "delete_volume" and "succeeded" in r.event for r in ran)
    ctx.close()


def test_a_stale_tab_learns_of_another_decision_without_a_reload(
    live_console: str, browser: Browser, password: str
) -> None:
    rid = _pending_id()
    link = f"{live_console}/review?review={rid}"
    stale_ctx, other_ctx = _context(browser), _context(browser)
    stale = stale_ctx.new_page()
    stale.goto(link)
    _sign_in_here(stale, "sam", password)
    expect(stale.get_by_text("expires in")).to_be_visible()
    other = other_ctx.new_page()
    other.goto(link)
    _sign_in_here(other, "sasha", password)
    other.get_by_text("Reject with a message").click()
    message = other.get_by_role("textbox", name="Message to the agent (required)")
    message.fill(ADVICE)
    message.press("Control+Enter")
    other.get_by_role("button", name="Submit: reject with a message").click()
    expect(other.get_by_text("Your decision (reject) was recorded.")).to_be_visible()

    # The stale tab is not touched: its poll notices within a few seconds.
    expect(stale.get_by_text(re.compile(r"This review is decided by sasha"))).to_be_visible()
    expect(stale.get_by_text(re.compile(r"Decided: reject by sasha"))).to_be_visible()
    expect(stale.get_by_text(ADVICE)).to_be_visible()
    expect(stale.get_by_role("button", name="Next review", exact=True)).to_be_visible()
    expect(stale.get_by_role("button", name=re.compile("^Submit"))).to_have_count(0)
    expect(stale.get_by_text("expires in")).to_have_count(0)
    expect(stale.get_by_text("approvals 0 of 1")).to_have_count(0)
    _to_docs(_h.shot(stale, "review-decided-elsewhere.png"), "review-decided-elsewhere.png")
    stale.get_by_role("button", name="Next review", exact=True).click()
    safe_path = stale.get_by_role("heading", name="snapshot_volume · volume vol-prod-db")
    expect(safe_path).to_be_visible()
    stale_ctx.close()
    other_ctx.close()
