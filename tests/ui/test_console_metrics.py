"""`interlock console --metrics-port --log-json` and `interlock metrics`: the console's
endpoint, scraped over HTTP before and after a reviewer decides in a real browser, shows what
SQL says (and what `interlock metrics` prints); the decision is logged as a JSON line by the
console's Streamlit process. Both backends."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from interlock.runtime import Runtime, upgrade

HERE = Path(__file__).resolve().parent
INTERLOCK = str(Path(sys.executable).with_name("interlock"))
CHROMIUM = "/usr/bin/chromium"


def _harness() -> ModuleType:
    """`test_console_browser.py`, loaded by path (pytest's importlib mode), for its sign-in
    and row-click helpers; shared with the other browser tests under the same name."""
    name = "interlock_tests_console_browser"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "test_console_browser.py")
        assert spec is not None
        assert spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def _story() -> ModuleType:
    sys.path.insert(0, str(HERE.parent / "runtime"))
    try:
        import metrics_story
    finally:
        sys.path.remove(str(HERE.parent / "runtime"))
    return metrics_story


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(url: str, proc: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"interlock console exited:\n{log.read_text()}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return str(answer.read().decode())
        except urllib.error.URLError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=_harness().CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_the_console_serves_database_numbers_and_logs_decisions_as_json(
    console_env: object, db_url: str, tmp_path: Path, browser: Browser, password: str
) -> None:
    story, ui = _story(), _harness()
    env = {**os.environ, "INTERLOCK_OPS_INFRA": str(tmp_path / "ops-infra.json"), "NO_COLOR": "1"}
    env.pop("INTERLOCK_LOG_FORMAT", None)
    demo = subprocess.run(
        [INTERLOCK, "demo", "--db", db_url], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    port, metrics_port = _free_port(), _free_port()
    log = tmp_path / "console.log"
    argv = [INTERLOCK, "console", "--db", db_url, "--port", str(port), "--headless"]
    argv += ["--metrics-port", str(metrics_port), "--log-json"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        with Runtime.open(db_url) as rt:
            before = story.scrape_samples(_scrape(metrics, proc, log))
            assert before == pytest.approx(story.expected_from_sql(rt))
            pending = [k for k in before if k[0] == "interlock_reviews_pending"]
            assert sum(before[k] for k in pending) == 1  # the PocketOS delete
            printed = subprocess.run(
                [INTERLOCK, "metrics", "--db", db_url], env=env, capture_output=True, text=True
            )
            assert printed.returncode == 0, printed.stderr
            assert story.scrape_samples(printed.stdout) == before

            ui._wait_healthy(f"http://127.0.0.1:{port}", proc, log)
            page = browser.new_page(viewport={"width": 1440, "height": 1400})
            ui.sign_in(page, f"http://127.0.0.1:{port}", "sam", password)
            ui._open_first_row(page)
            page.get_by_text("Reject with a message").click()
            message = page.get_by_role("textbox", name="Message to the agent (required)")
            message.fill(ui.ADVICE)
            message.press("Control+Enter")
            page.get_by_role("button", name="Submit: reject with a message").click()
            expect(page.get_by_text("Your decision (reject) was recorded.")).to_be_visible()
            page.close()

            after = story.scrape_samples(_scrape(metrics, proc, log))
            assert after == pytest.approx(story.expected_from_sql(rt))
            assert (
                after[("interlock_decisions_total", (("by", "reviewer"), ("type", "reject")))] == 1
            )
            decided = [r for r in rt.audit.rows() if r.event == "decision_recorded"]
            with rt.db.connection() as conn:
                team = conn.scalar(
                    "SELECT team FROM interlock_reviews WHERE id = ?", (decided[0].review_id,)
                )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text(errors="replace")
    assert f"metrics on {metrics}" in text
    lines = [json.loads(x) for x in text.splitlines() if x.startswith('{"ts"')]
    logged = [x for x in lines if x["event"] == "decision_recorded"]
    assert [(x["seq"], x["review_id"], x["actor"], x["outcome"]) for x in logged] == [
        (r.seq, r.review_id, "sam", "reject") for r in decided
    ]
    assert logged[0]["level"] == decided[0].data["level"]
    assert logged[0]["team"] == team  # the review's routed team (None when none was routed)


def test_a_taken_metrics_port_is_one_clear_line(db_url: str, tmp_path: Path) -> None:
    upgrade(db_url)  # the worker opens an existing database
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [INTERLOCK, "worker", "--db", db_url, "--once", "--metrics-port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot serve metrics on 127.0.0.1:{port}")
    assert "--metrics-port" in line
    assert "Traceback" not in done.stderr


def test_interlock_help_and_the_cli_import_no_prometheus_client() -> None:
    code = (
        "import sys\nfrom interlock.ui.cli import main\nsys.argv = ['interlock', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('prometheus_client' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
