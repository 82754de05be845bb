"""Issue 15's safer defaults in Debian's Chromium (the harness of `test_console_browser`):
no password in any label, a read-only reviewer pages the role it needs, escalation offers only
more senior roles and keeps the first age, a stop for a name the database does not know
asks first, and a stop set elsewhere reaches pages already open. Every wait is for the page."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta

from playwright.sync_api import Browser, Page, expect

from interlock.runtime import Runtime
from tests.ui.browser_harness import harness

_h = harness()
live_console = _h.live_console  # the fixtures, reused as they are
browser = _h.browser


def _page(browser: Browser) -> Page:
    page = browser.new_page(viewport={"width": 1440, "height": 1200})
    page.set_default_timeout(_h.TIMEOUT_MS)
    return page


def _pending_id() -> str:
    with Runtime.open() as rt:
        (review,) = rt.inbox.pending()
    return review.id


def _backdate(review_id: str, hours: int) -> None:
    """Make the review `hours` older, as if it had waited that long (test setup only)."""
    path = os.environ["INTERLOCK_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (created,) = db.execute(
            "SELECT created_at FROM interlock_reviews WHERE id = ?", (review_id,)
        ).fetchone()
        earlier = datetime.fromisoformat(created) - timedelta(hours=hours)
        db.execute(
            "UPDATE interlock_reviews SET created_at = ? WHERE id = ?",
            (earlier.isoformat(), review_id),
        )


def test_a_read_only_reviewer_sees_no_password_and_pages_the_role_it_needs(
    live_console: str, browser: Browser, password: str
) -> None:
    rid = _pending_id()
    page = _page(browser)
    _h.sign_in(page, live_console, "olivia", password)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Signed in as")).to_be_visible()
    assert "password" not in sidebar.inner_text().lower()
    page.goto(f"{live_console}/review?review={rid}")
    expect(page.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()
    expect(page.get_by_role("radiogroup")).to_have_count(0)  # no decision controls
    note = page.get_by_role("textbox", name="Why you need sre-lead (optional, goes with")
    note.fill("prod db at risk, INC-9")
    note.press("Enter")
    page.get_by_role("button", name="Page sre-lead").click()
    expect(page.get_by_text("Asked for sre-lead (audit row")).to_be_visible()
    expect(page.get_by_role("button", name="Page sre-lead")).to_have_count(0)  # asked once
    with Runtime.open() as rt:
        (row,) = [r for r in rt.audit.rows() if r.event == "role_requested"]
    assert (row.actor, row.review_id, row.data["note"]) == ("olivia", rid, "prod db at risk, INC-9")


def test_escalation_offers_only_senior_roles_and_the_next_reviewer_sees_the_first_age(
    live_console: str, browser: Browser, password: str
) -> None:
    rid = _pending_id()
    _backdate(rid, hours=2)
    page = _page(browser)
    _h.sign_in(page, live_console, "sam", password)
    page.goto(f"{live_console}/review?review={rid}")
    expect(page.get_by_text("waiting 2 h", exact=False)).to_be_visible()
    page.get_by_test_id("stRadioGroup").get_by_text("Escalate to a role", exact=True).click()
    page.get_by_role("combobox", name="Role (only roles above the one it needs now)").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(1)  # sre-lead is needed: only admin ranks higher
    expect(options.first).to_have_text("admin")
    options.first.click()
    page.get_by_role("button", name="Submit: escalate to a role").click()
    expect(page.get_by_text("Escalated: the review now waits for the named role.")).to_be_visible()

    with Runtime.open() as rt:
        (nxt,) = rt.inbox.pending()
    assert nxt.id != rid
    admin = _page(browser)
    _h.sign_in(admin, live_console, "ada", password)
    admin.goto(f"{live_console}/review?review={nxt.id}")
    expect(admin.get_by_text("waiting 2 h", exact=False)).to_be_visible()  # not "0 s"


def test_a_stop_for_a_name_nobody_has_seen_asks_before_it_is_set(
    live_console: str, browser: Browser, password: str
) -> None:
    page = _page(browser)
    _h.sign_in(page, live_console, "ada", password)
    page.get_by_role("link", name="Controls").click()
    page.get_by_test_id("stRadioGroup").get_by_text("environment", exact=True).click()
    name = page.get_by_role("textbox", name="Name")
    name.fill("prodution")
    name.press("Enter")
    reason = page.get_by_role("textbox", name="Reason (for a stop)")
    reason.fill("INC-8")
    reason.press("Enter")
    page.get_by_role("button", name="Stop…").click()
    expect(page.get_by_text("No review so far names the environment")).to_be_visible()
    with Runtime.open() as rt:
        assert rt.stops.active() == []  # nothing is stopped before the confirmation


def test_a_stop_set_elsewhere_reaches_an_open_inbox_and_review_without_a_reload(
    live_console: str, browser: Browser, password: str
) -> None:
    rid = _pending_id()
    inbox = _page(browser)
    _h.sign_in(inbox, live_console, "sam", password)
    expect(inbox.get_by_text("1 pending · 1 yours to decide")).to_be_visible()
    review = _page(browser)
    _h.sign_in(review, live_console, "sam", password)
    review.goto(f"{live_console}/review?review={rid}")
    expect(review.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()
    _h.settle(review)
    expect(review.get_by_text("production is stopped", exact=False)).to_have_count(0)

    with Runtime.open() as rt:  # an admin elsewhere (the CLI, another console)
        ada = rt.authenticate("ada", password)
        rt.stops.stop("environment", "production", by=ada, reason="INC-11: stop all deletes")
    # Neither page is touched: their polls bring the stop within a few seconds.
    expect(inbox.get_by_text("production is stopped by ada", exact=False).first).to_be_visible()
    expect(review.get_by_text("You may still decide, but an approved action is")).to_be_visible()
    with Runtime.open() as rt:
        rt.stops.resume("environment", "production", by=rt.authenticate("ada", password))
    expect(review.get_by_text("You may still decide, but an approved action is")).to_have_count(0)
