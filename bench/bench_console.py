"""The reviewer console in a real browser with 1,000 pending reviews: the inbox renders in
<= 1.5 s, signing in reaches a drawn inbox in <= 1.5 s, and a row click draws the review in
<= 1 s.

What is timed. A real `interlock console` server runs on a SQLite database whose inbox holds
`N` pending reviews, each opened by a real gated graph run through `Runtime.run` (a tiny
scripted agent that proposes one production restart). Debian's Chromium, driven by
Playwright, signs in, opens the Policy page, then clicks "Inbox" in the navigation. One
sample is the time from that click until the inbox is drawn: the caption reports all `N`
reviews, the table is on screen, Streamlit's script run has finished and no placeholder
skeleton is left. The baseline is the same measurement against an inbox of 10 reviews,
served the same way in the same run, so the ratio shows what the 1,000 rows cost.

Two more samples per round, each in a fresh browser context (no session cookie, as a
reviewer opening the console for the first time): from the click on "Sign in" until the
inbox is drawn as above, and from a click on the inbox's first row until the review page is
drawn (its heading names the action, the script run has finished, no skeleton is left).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from types import SimpleNamespace
from typing import Any

from bench._common import Row, row

__all__ = ["run"]

TARGET_MS = 1500.0
SIGNIN_TARGET_MS, OPEN_TARGET_MS = 1500.0, 1000.0
FULL, QUICK, BASE = 1000, 200, 10
REPS, QUICK_REPS = 7, 3
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
REVIEWER, PASSWORD = "bench-sre", "bench-password"


def _factory(
    *,
    checkpointer: Any,
    policy: Any,
    approvals: Any,
    ledger: Any,
    audit: Any,
    issue_on_resume: bool,
    options: Mapping[str, Any],
) -> Any:
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
        policy,
        agent="bench-agent",
        approvals=approvals,
        ledger=ledger,
        audit=audit,
        issue_on_resume=issue_on_resume,
    )
    return SimpleNamespace(graph=builder.compile(checkpointer=checkpointer), gate=gate)


def _seed(folder: Path, n: int) -> tuple[str, Path, float]:
    """A database with `n` pending reviews and a reviewers file; seconds spent seeding."""
    from interlock.runtime import Reviewers, Runtime

    url = f"sqlite:///{folder}/interlock.db"
    reviewers = folder / "reviewers.toml"
    Reviewers.load(reviewers).add(REVIEWER, ["sre-lead"], PASSWORD)
    t0 = time.perf_counter()
    with Runtime.open(url, reviewers_path=reviewers, graphs={"bench": _factory}) as rt:
        for i in range(n):
            rt.run("bench", json.dumps({"service": f"svc-{i:04d}"}), agent="bench-agent")
        count = rt.inbox.count()
    if count != n:
        msg = f"seeding left {count} pending reviews, expected {n}"
        raise RuntimeError(msg)
    return url, reviewers, time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str, reviewers: Path, folder: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "INTERLOCK_DATABASE_URL": url, "INTERLOCK_REVIEWERS": str(reviewers)}
    env.pop("INTERLOCK_POLICY", None)
    exe = str(Path(sys.executable).with_name("interlock"))
    with (folder / "console.log").open("wb") as log:
        proc = subprocess.Popen(
            [exe, "console", "--db", url, "--port", str(port), "--headless"],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                msg = f"interlock console did not start: {(folder / 'console.log').read_text()}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _measure(browser: Any, base: str, n: int, reps: int) -> list[float]:
    """Milliseconds from clicking "Inbox" until the table of `n` reviews is drawn."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(base)
    page.get_by_role("textbox", name="Name").fill(REVIEWER)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    done = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    skeleton = page.locator('[data-testid="stSkeleton"]')
    samples = []
    for i in range(reps + 1):  # the first round warms the server's caches up
        page.get_by_role("link", name="Policy").click()
        expect(page.get_by_text("Try an action")).to_be_visible()
        expect(done).to_have_count(1)
        t0 = time.perf_counter()
        page.get_by_role("link", name="Inbox").click()
        expect(page.get_by_text(f"{n} pending ·")).to_be_visible()
        expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
        expect(done).to_have_count(1)
        expect(skeleton).to_have_count(0)
        elapsed = (time.perf_counter() - t0) * 1000
        if i:
            samples.append(elapsed)
    page.close()
    return samples


def _drawn(page: Any) -> None:
    from playwright.sync_api import expect

    expect(
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    ).to_have_count(1)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0)


def _measure_flow(browser: Any, base: str, n: int, reps: int) -> tuple[list[float], list[float]]:
    """Milliseconds from "Sign in" to the drawn inbox, and from a row click to the review."""
    import re

    from playwright.sync_api import expect

    signin, opened = [], []
    for i in range(reps + 1):  # the first round warms the server's caches up
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(base)
        page.get_by_role("textbox", name="Name").fill(REVIEWER)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        t0 = time.perf_counter()
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text(f"{n} pending ·")).to_be_visible()
        grid = page.locator('[data-testid="stDataFrame"]').first
        expect(grid).to_be_visible()
        _drawn(page)
        t1 = time.perf_counter()
        box = grid.bounding_box()
        if box is None:
            msg = "the inbox table has no bounding box"
            raise RuntimeError(msg)
        t2 = time.perf_counter()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection cell
        heading = page.get_by_role("heading", name=re.compile(r"^restart_service · "))
        expect(heading).to_be_visible()
        _drawn(page)
        t3 = time.perf_counter()
        if i:
            signin.append((t1 - t0) * 1000)
            opened.append((t3 - t2) * 1000)
        context.close()
    return signin, opened


def run(quick: bool = False) -> list[Row]:
    if not Path(CHROMIUM).exists():
        msg = f"{CHROMIUM} is missing; run `bash .ci/ensure-chromium` (never `playwright install`)"
        raise RuntimeError(msg)
    from playwright.sync_api import sync_playwright

    n, reps = (QUICK, QUICK_REPS) if quick else (FULL, REPS)
    root = Path(tempfile.mkdtemp(prefix="interlock-bench-console-"))
    try:
        (root / "big").mkdir()
        (root / "small").mkdir()
        big_url, big_reviewers, seed_s = _seed(root / "big", n)
        small_url, small_reviewers, _ = _seed(root / "small", BASE)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                with _server(small_url, small_reviewers, root / "small") as base:
                    small = _measure(browser, base, BASE, reps)
                    small_in, small_open = _measure_flow(browser, base, BASE, reps)
                with _server(big_url, big_reviewers, root / "big") as base:
                    big = _measure(browser, base, n, reps)
                    big_in, big_open = _measure_flow(browser, base, n, reps)
            finally:
                browser.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    value = median(big)
    note = f"median of {reps}; slowest {max(big):.0f} ms; Chromium headless, SQLite, loopback"
    return [
        row(
            f"console inbox render, {n} pending (browser)",
            value,
            "ms",
            target=f"<= {TARGET_MS:.0f} ms" + (" at 1,000 (quick run: fewer)" if quick else ""),
            ok=value <= TARGET_MS,
            baseline=median(small),
            baseline_name=f"same page, {BASE} pending",
            note=note,
        ),
        row(
            f"console sign in -> inbox drawn, {n} pending (browser)",
            median(big_in),
            "ms",
            target=f"<= {SIGNIN_TARGET_MS:.0f} ms",
            ok=median(big_in) <= SIGNIN_TARGET_MS,
            baseline=median(small_in),
            baseline_name=f"same page, {BASE} pending",
            note=f"median of {reps}, fresh browser context each; slowest {max(big_in):.0f} ms",
        ),
        row(
            f"console row click -> review drawn, {n} pending (browser)",
            median(big_open),
            "ms",
            target=f"<= {OPEN_TARGET_MS:.0f} ms",
            ok=median(big_open) <= OPEN_TARGET_MS,
            baseline=median(small_open),
            baseline_name=f"same page, {BASE} pending",
            note=f"median of {reps}; slowest {max(big_open):.0f} ms",
        ),
        row(
            f"seed {n} pending reviews via Runtime.run",
            seed_s * 1000 / n,
            "ms/review",
            note="setup cost, informational",
        ),
    ]
