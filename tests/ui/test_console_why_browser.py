"""The why first, edits a reviewer can judge, an inbox for 1,000 and narrow screens, in
Debian's Chromium at 1440×900 and 390×844 (the harness of `test_console_browser`).

Screenshots go to tests/artifacts/; docs/console-{review,edit,inbox}*.png are refreshed
when missing or with INTERLOCK_UPDATE_DOCS=1. Every wait is for a rendered element.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.runtime import Runtime, open_database
from interlock.ui._console_inbox import AGE_PX, LEVEL_PX
from tests.ui.test_console_browser import (
    INTERLOCK,
    ROOT,
    TIMEOUT_MS,
    _free_port,
    _open_first_row,
    _wait_healthy,
    browser,
    live_console,
    settle,
    shot,
    sign_in,
)

__all__ = ["browser", "live_console"]  # fixtures, imported for pytest

SIZES = {"wide": (1440, 900), "phone": (390, 844)}
MANY, SAME = 1000, 30


def _docs(path: Path, name: str) -> None:
    target = ROOT / "docs" / name
    if os.environ.get("INTERLOCK_UPDATE_DOCS") == "1" or not target.exists():
        shutil.copyfile(path, target)


def _page(browser: Browser, size: str) -> Page:
    w, h = SIZES[size]
    page = browser.new_page(viewport={"width": w, "height": h})
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _open_review(page: Page, base: str) -> None:
    sign_in(page, base, "sam", "correct horse battery")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    settle(page)
    _open_first_row(page)
    expect(page.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()
    settle(page)


def _not_cut(page: Page, selector: str) -> None:
    """Every text block under `selector` shows whole: nothing clipped sideways."""
    clipped = page.eval_on_selector_all(
        f"{selector} p, {selector} li",
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)",
    )
    assert clipped == []


@pytest.mark.parametrize("size", list(SIZES))
def test_the_why_is_above_the_fold_whole_and_before_the_decision(
    live_console: str, browser: Browser, size: str
) -> None:
    page = _page(browser, size)
    _open_review(page, live_console)
    why = page.locator(".st-key-review_why_0")
    page.screenshot(path=str(ROOT / "tests" / "artifacts" / f"review-top-{size}.png"))
    expect(why).to_contain_text("this would be the last copy of the data")
    expect(why).to_contain_text("Uses credential tok-ci-admin (environments: *)")
    expect(why).to_contain_text("Risky argument token = tok-ci-admin")
    box = why.bounding_box()
    assert box is not None
    assert box["y"] < SIZES[size][1]  # it starts on the first screen
    _not_cut(page, ".st-key-review_why_0")
    # The context comes before the decision, at both widths.
    request = page.get_by_role("heading", name="Request").bounding_box()
    decide = page.get_by_text("Your decision").first.bounding_box()
    assert request is not None
    assert decide is not None
    assert box["y"] < request["y"] < decide["y"]
    path = shot(page, f"review-{size}.png")
    _docs(path, f"console-review-{size}.png")


@pytest.mark.parametrize("size", list(SIZES))
def test_an_edit_shows_the_diff_and_the_new_dry_run_and_an_unknown_token_is_caught(
    live_console: str, browser: Browser, size: str
) -> None:
    page = _page(browser, size)
    _open_review(page, live_console)
    page.get_by_text("Edit arguments").click()
    args = page.get_by_role("textbox", name="Arguments (JSON)")
    args.fill('{"volume_id": "vol-staging-db", "token": "tok-nope"}')
    args.press("Control+Enter")
    expect(page.get_by_text("Refused by the tool.")).to_be_visible()
    expect(page.get_by_text("is not known to the tool", exact=False)).to_be_visible()
    submit = page.get_by_role("button", name="Submit: edit arguments")
    expect(submit).to_be_disabled()

    args.fill('{"volume_id": "vol-staging-db"}')
    args.press("Control+Enter")
    expect(page.get_by_text("The tool accepts these arguments.")).to_be_visible()
    table = page.locator("table").filter(has_text="becomes")
    expect(table).to_contain_text('"vol-prod-db"')
    expect(table).to_contain_text('"vol-staging-db"')
    expect(table).to_contain_text("(not set)")
    expect(page.get_by_text("deletes volume vol-staging-db (10 GB", exact=False)).to_be_visible()
    expect(page.get_by_text("was volume vol-prod-db in production", exact=False)).to_be_visible()
    page.get_by_text("If the edited call runs", exact=False).scroll_into_view_if_needed()
    path = shot(page, f"edit-{size}.png")
    _docs(path, f"console-edit-{size}.png")
    with Runtime.open() as rt:
        assert rt.inbox.count() == 1  # nothing was submitted


# -- 1,000 pending ---------------------------------------------------------------------------


def _restart_factory(**kw: Any) -> Any:
    """A gated agent whose one call (restart a production service) always needs review."""
    from langchain_core.tools import tool

    from interlock.graphs import ScriptedChatModel, build_gated_graph, say
    from interlock.nodes import gated

    @tool
    def restart_service(service: str) -> str:
        """Restart a service."""
        return f"{service} restarted"

    gated(restart_service, effects={"write"}, reversible=True, environment="production")

    def propose(messages: Any) -> Any:
        service = json.loads(str(messages[0].content))["service"]
        return say("Restarting it.", ("restart_service", {"service": service}))

    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=[propose]),
        [restart_service],
        kw["policy"],
        agent="fleet-agent",
        approvals=kw["approvals"],
        ledger=kw["ledger"],
        audit=kw["audit"],
        issue_on_resume=kw["issue_on_resume"],
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=kw["checkpointer"]), gate=gate)


@pytest.fixture(scope="module")
def many_console(
    tmp_path_factory: pytest.TempPathFactory, reviewers_template: Path
) -> Iterator[str]:
    """A console over 1,000 pending reviews: 30 identical PocketOS deletes and 970 restarts,
    with ages spread over 0-969 minutes (so text order and number order differ)."""
    folder = tmp_path_factory.mktemp("many")
    url = f"sqlite:///{folder}/interlock.db"
    reviewers = folder / "reviewers.toml"
    reviewers.write_bytes(reviewers_template.read_bytes())
    env = {**os.environ, "INTERLOCK_DATABASE_URL": url, "INTERLOCK_REVIEWERS": str(reviewers)}
    env["INTERLOCK_OPS_INFRA"] = str(folder / "ops-infra.json")
    env.pop("INTERLOCK_POLICY", None)
    saved = {k: os.environ.get(k) for k in ("INTERLOCK_OPS_INFRA",)}
    os.environ["INTERLOCK_OPS_INFRA"] = env["INTERLOCK_OPS_INFRA"]
    try:
        with Runtime.open(url, reviewers_path=reviewers, graphs={"fleet": _restart_factory}) as rt:
            for _ in range(SAME):
                rt.run("ops_agent", SCENARIO_REQUEST, agent="ops-agent")
            for i in range(MANY - SAME):
                rt.run("fleet", json.dumps({"service": f"svc-{i:04d}"}), agent="fleet-agent")
            ids = [s.id for s in rt.inbox.pending(sort="urgency", limit=MANY)]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert len(ids) == MANY
    now = datetime.now(UTC)
    with open_database(url) as db, db.transaction() as conn:
        for i, rid in enumerate(ids):
            conn.execute(
                "UPDATE interlock_reviews SET created_at = ? WHERE id = ?",
                (now - timedelta(minutes=(i * 7) % 970), rid),
            )
    port = _free_port()
    log = folder / "console.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [INTERLOCK, "console", "--db", url, "--port", str(port), "--headless"],
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _column_values(page: Page, name: str, grid_index: int = 0) -> list[str]:
    """The cells of column `name` the grid shows, top to bottom (its accessible table mirrors
    the canvas; rows are ordered by their aria-rowindex, not their place in the DOM)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(grid_index)
    expect(grid.locator("table tbody tr").first).to_be_attached()  # drawn lazily
    cells: list[list[Any]] = grid.evaluate(
        """(g, name) => {
            const heads = [...g.querySelectorAll('table thead th')];
            const bare = h => h.innerText.replace(/[^a-z ]/gi, '').trim();
            const col = heads.findIndex(h => bare(h) === name);
            if (col < 0) return [[-1, heads.map(h => h.innerText).join('|')]];
            const colindex = heads[col].getAttribute('aria-colindex');
            return [...g.querySelectorAll('table tbody tr')].map(tr => {
                const td = tr.querySelector(`td[aria-colindex="${colindex}"]`);
                return [Number(tr.getAttribute('aria-rowindex')), td ? td.innerText : ''];
            });
        }""",
        name,
    )
    assert cells[0][0] >= 0, f"no column {name!r} among {cells[0][1]}"
    return [text.strip() for _, text in sorted(cells)][:12]


@pytest.mark.parametrize("size", list(SIZES))
def test_an_inbox_of_1000_sorts_age_as_numbers_and_groups_identical_actions(
    many_console: str, browser: Browser, size: str
) -> None:
    page = _page(browser, size)
    sign_in(page, many_console, "sam", "correct horse battery")
    expect(page.get_by_text("1000 pending · 1000 yours to decide")).to_be_visible()
    settle(page)
    expect(page).to_have_title("(30 new critical) Inbox · Interlock")
    # Filters fold away; the labels are whole when opened.
    filters = page.get_by_text("Filters", exact=True)
    expect(filters).to_be_visible()
    filters.click()
    expect(page.get_by_text("Expiring soon", exact=True)).to_be_visible()
    _not_cut(page, ".st-key-inbox_filters")
    filters.click()
    # Sort by age: numbers, so 2 min comes before 10 min.
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    assert box is not None
    # The grid is a canvas: click the age header (after the row markers and the level).
    page.mouse.click(box["x"] + 36 + LEVEL_PX + AGE_PX / 2, box["y"] + 17)
    settle(page)
    page.screenshot(path=str(ROOT / "tests" / "artifacts" / f"inbox-sorted-{size}.png"))
    ages = [int(v.split()[0]) for v in _column_values(page, "age") if v]
    assert len(ages) >= 5
    assert ages == sorted(ages)
    assert ages[0] == 0
    path = shot(page, f"inbox-{size}.png")
    _docs(path, f"console-inbox-{size}.png")
    # One group of 30 identical deletes.
    page.get_by_text("Identical actions: 1 group(s)").click()
    expect(page.get_by_role("button", name="Reject all 30")).to_be_disabled()  # not typed yet
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(2)
    settle(page)
    assert _column_values(page, "reviews", 1)[0] == "30"
    calls = "delete_volume(token='tok-ci-admin', volume_id='vol-prod-db')"
    assert _column_values(page, "calls", 1)[0] == calls


def test_keyboard_shortcuts_pick_a_decision_but_never_submit(
    live_console: str, browser: Browser
) -> None:
    page = _page(browser, "wide")
    _open_review(page, live_console)
    page.keyboard.press("Alt+A")
    expect(page.get_by_role("radio", name="Approve")).to_be_checked()
    expect(page.get_by_text("to confirm", exact=False)).to_be_visible()  # type the target
    expect(page.get_by_role("button", name="Submit: approve")).to_be_disabled()
    page.keyboard.press("Alt+X")
    expect(page.get_by_role("radio", name="Reject with a message")).to_be_checked()
    expect(page.get_by_role("button", name="Submit: reject with a message")).to_be_disabled()
    with Runtime.open() as rt:
        assert rt.inbox.count() == 1  # nothing was decided
