"""The console in a real browser: Debian's Chromium driven by Playwright, against a real
`interlock console` server on loopback and a database where `interlock demo` left the
PocketOS review pending.

Screenshots go to tests/artifacts/ (git-ignored); the review page's is copied to
docs/review-page.png for the README when that file is missing or INTERLOCK_UPDATE_DOCS=1
(so a test run does not dirty the working tree). Every wait is for a rendered element, never
a sleep.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INTERLOCK = str(Path(sys.executable).with_name("interlock"))
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)  # assertions wait for the page, up to this long


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"interlock console exited early:\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"interlock console did not answer on {base}:\n{log.read_text()}", pytrace=False)


@pytest.fixture
def live_console(
    tmp_path: Path, reviewers_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A real console server on a SQLite database with the PocketOS review pending."""
    url = f"sqlite:///{tmp_path}/interlock.db"
    reviewers = tmp_path / "reviewers.toml"
    reviewers.write_bytes(reviewers_template.read_bytes())
    env = {
        **os.environ,
        "INTERLOCK_DATABASE_URL": url,
        "INTERLOCK_REVIEWERS": str(reviewers),
        "INTERLOCK_OPS_INFRA": str(tmp_path / "ops-infra.json"),
        "NO_COLOR": "1",
    }
    env.pop("INTERLOCK_POLICY", None)
    for key in ("INTERLOCK_DATABASE_URL", "INTERLOCK_REVIEWERS", "INTERLOCK_OPS_INFRA"):
        monkeypatch.setenv(key, env[key])
    demo = subprocess.run(
        [INTERLOCK, "demo", "--db", url], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    with Runtime.open(url) as rt:  # the demo left the PocketOS delete waiting in the inbox
        assert [s.tool for s in rt.inbox.pending()] == ["delete_volume"]
    port = _free_port()
    log = tmp_path / "console.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [INTERLOCK, "console", "--db", url, "--port", str(port), "--headless"],
            env=env,
            cwd=tmp_path,
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(base)
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=TIMEOUT_MS)
    # The session cookie is written by a script in the page; a goto before it ran would land
    # on the sign-in form again (seen under CI load).
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not any(c["name"] == "interlock_session" for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the console never stored its session cookie"
        page.wait_for_timeout(50)


def settle(page: Page) -> None:
    """Wait until the script run finished and lazy elements (tables, editors) are drawn."""
    expect(
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    ).to_have_count(1)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0)


def shot(page: Page, name: str) -> Path:
    settle(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


ADVICE = "Never delete production volumes. Snapshot it, then fix the staging credential."


def _open_first_row(page: Page) -> None:
    """Click the first row of the inbox table (a canvas grid): its row-selection cell."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # below the header, first row


def test_reject_the_pocketos_delete_in_a_real_browser(
    live_console: str, browser: Browser, password: str
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, live_console, "sam", password)

    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_text("1 pending · 1 yours to decide")).to_be_visible()
    shot(page, "inbox.png")

    _open_first_row(page)
    expect(page.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()
    expect(page.get_by_text("3 backups live on this volume and would be lost")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/review\?review=rv-"))
    review_png = shot(page, "review.png")
    readme_png = ROOT / "docs" / "review-page.png"
    if os.environ.get("INTERLOCK_UPDATE_DOCS") == "1" or not readme_png.exists():
        shutil.copyfile(review_png, readme_png)  # the README's screenshot, refreshed on demand

    page.get_by_text("Reject with a message").click()
    message = page.get_by_role("textbox", name="Message to the agent (required)")
    message.fill(ADVICE)
    message.press("Control+Enter")  # commits the text area, as a reviewer's Ctrl+Enter does
    submit = page.get_by_role("button", name="Submit: reject with a message")
    expect(submit).to_be_enabled()
    submit.click()

    expect(page.get_by_text("Your decision (reject) was recorded.")).to_be_visible()
    expect(page.get_by_text("agent proposes snapshot_volume", exact=False)).to_be_visible()
    expect(page.get_by_role("heading", name="snapshot_volume · volume vol-prod-db")).to_be_visible()
    shot(page, "after-reject.png")
    with Runtime.open() as rt:
        (waiting,) = rt.inbox.pending()
        decided = [r for r in rt.audit.rows() if r.event == "decision_recorded"]
    assert waiting.tool == "snapshot_volume"  # the safe path, waiting for its own review
    assert [(r.actor, r.data["type"], r.data["message"]) for r in decided] == [
        ("sam", "reject", ADVICE)
    ]


def test_the_inbox_refreshes_by_itself_and_the_policy_page_reads(
    live_console: str, browser: Browser, password: str
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, live_console, "olivia", password)
    expect(page.get_by_text("1 pending · 0 yours to decide")).to_be_visible()
    with Runtime.open() as rt:  # a new review arrives while the page is open
        rt.run("ops_agent", SCENARIO_REQUEST, agent="ops-agent")
    expect(page.get_by_text("2 pending · 0 yours to decide")).to_be_visible()  # no click
    page.get_by_role("link", name="Policy").click()
    expect(page.get_by_text("Try an action")).to_be_visible()
    shot(page, "policy.png")


def test_a_row_click_finds_the_review_page_code_already_loaded(
    live_console: str, browser: Browser, password: str
) -> None:
    from interlock.ui._console_prefetch import REVIEW_CHUNKS, review_chunk_files

    files = review_chunk_files()
    # A Streamlit upgrade that renames a chunk must fail here, not slow the console down.
    assert [f.split(".", 1)[0] for f in files] == list(REVIEW_CHUNKS)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})  # a fresh cache
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, live_console, "sam", password)
    expect(page.get_by_text("1 pending · 1 yours to decide")).to_be_visible()
    settle(page)
    page.wait_for_function(
        "files => files.every(f => performance.getEntriesByType('resource')"
        ".some(e => e.name.endsWith('/' + f)))",
        arg=list(files),
    )
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if r.url.endswith(".js") else None)
    _open_first_row(page)
    expect(page.get_by_role("heading", name="delete_volume · volume vol-prod-db")).to_be_visible()
    settle(page)
    expect(page.get_by_role("radiogroup").first).to_be_visible()  # a lazily loaded element
    assert fetched == []  # the code block and the radio came from the inbox's prefetch
