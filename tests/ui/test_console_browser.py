"""The console in a real browser: Debian's Chromium driven by Playwright, against a real
`interlock console` server on loopback and a database where `interlock demo` left the
PocketOS review pending.

Screenshots go to tests/artifacts/ (git-ignored); the review page's is copied to
docs/review-page.png for the README. Every wait is for a rendered element, never a sleep.
"""

from __future__ import annotations

import os
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
    subprocess.run(
        [INTERLOCK, "demo", "--db", url], env=env, cwd=tmp_path, check=True, capture_output=True
    )
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


def test_sign_in_and_read_the_policy_in_a_real_browser(
    live_console: str, browser: Browser, password: str
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, live_console, "sam", password)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    shot(page, "inbox.png")
    page.get_by_role("link", name="Policy").click()
    expect(page.get_by_text("Try an action")).to_be_visible()
    shot(page, "policy.png")
