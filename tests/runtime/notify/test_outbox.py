"""The outbox on both backends: rows written iff the event commits, delivered to a real
webhook receiver (HMAC checked), a channel that is down retried with backoff and then
failed, audited and reported, reminders once per review and reminder."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from interlock.risk import utcnow
from interlock.runtime import Runtime
from interlock.runtime.execution.worker import Worker, WorkerOptions
from interlock.runtime.notify import verify_signature
from interlock.runtime.notify._notes import delivery_id
from interlock.runtime.notify.channels import build_channels
from interlock.runtime.notify.outbox import OutboxOptions, active_config, deliver_due
from interlock.runtime.notify.reminders import enqueue_reminders
from interlock.runtime.notify.status import outbox_status

if TYPE_CHECKING:
    from conftest import Receiver  # this folder's conftest (the fixture's type)

ASK = "Deploys to staging fail: api-staging answers 401. Please fix it."
SECRET = "hook-secret-1"
INTERLOCK = str(Path(sys.executable).with_name("interlock"))


def notify_file(tmp_path: Path, *, reminders: str = "") -> Path:
    path = tmp_path / "notify.toml"
    path.write_text(
        'console_url = "https://console.example.com"\n'
        'default_team = "ops"\n'
        f"{reminders}"
        "[teams.ops]\n"
        'channels = ["hook", "log"]\n'
        "[channels.hook]\n"
        'kind = "webhook"\n'
        'url_env = "TEST_HOOK_URL"\n'
        'secret_env = "TEST_HOOK_SECRET"\n'
        "timeout = 2\n"
        "[channels.log]\n"
        'kind = "file"\n'
        f'path = "{tmp_path / "notes.jsonl"}"\n'
    )
    return path


@pytest.fixture
def notifying(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Path:
    path = notify_file(tmp_path, reminders='[reminders]\nbefore_expiry = ["15m"]\n')
    monkeypatch.setenv("INTERLOCK_NOTIFY", str(path))
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    return path


def _rows(rt: Runtime) -> list[dict[str, object]]:
    with rt.db.connection() as conn:
        return conn.all("SELECT * FROM interlock_outbox ORDER BY channel, event")


def test_a_review_opened_writes_one_row_per_channel_and_a_rollback_writes_none(
    rt: Runtime, ops_options: dict[str, str], notifying: Path
) -> None:
    run = rt.run("ops_agent", ASK, options=ops_options)
    assert run.status == "pending"
    assert run.review_id
    rows = _rows(rt)
    assert [(r["event"], r["channel"], r["status"]) for r in rows] == [
        ("review_opened", "hook", "pending"),
        ("review_opened", "log", "pending"),
    ]
    for r in rows:
        assert r["id"] == delivery_id("review_opened", run.review_id, str(r["channel"]))
        note = json.loads(str(r["payload"]))
        assert note["id"] == r["id"]
        assert note["review_id"] == run.review_id
        assert (note["tool"], note["environment"], note["level"]) == (
            "delete_volume",
            "production",
            "critical",
        )
        assert note["link"] == f"https://console.example.com/review?review={run.review_id}"
        assert note["reasons"]

    # an event whose transaction rolls back leaves no message behind
    def expire_then_fail() -> None:
        with rt.db.transaction() as conn:
            rt.audit.append("review_expired", actor="t", review_id=run.review_id, conn=conn)
            assert len(conn.all("SELECT id FROM interlock_outbox")) == 4  # visible inside
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        expire_then_fail()
    assert len(_rows(rt)) == 2
    # the same event appended again (a retried transaction) is still one row per channel
    for _ in range(2):
        rt.audit.append("review_expired", actor="t", review_id=run.review_id)
    assert sorted(str(r["event"]) for r in _rows(rt)).count("review_expired") == 2


def test_no_notify_file_writes_nothing(
    rt: Runtime, ops_options: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTERLOCK_NOTIFY", raising=False)
    run = rt.run("ops_agent", ASK, options=ops_options)
    assert run.status == "pending"
    assert _rows(rt) == []


def test_delivery_reaches_the_webhook_signed_and_the_file(
    rt: Runtime, ops_options: dict[str, str], notifying: Path, receiver: Receiver, tmp_path: Path
) -> None:
    run = rt.run("ops_agent", ASK, options=ops_options)
    config = active_config()
    assert config is not None
    got = deliver_due(rt.db, build_channels(config), worker_id="w1")
    assert len(got.delivered) == 2
    assert not got.failed
    assert not got.retrying
    (hit,) = receiver.received
    assert verify_signature(hit.body, hit.headers.get("X-Interlock-Signature"), SECRET)
    hook_id = delivery_id("review_opened", str(run.review_id), "hook")
    assert hit.headers["X-Interlock-Delivery"] == hook_id
    line = json.loads((tmp_path / "notes.jsonl").read_text())
    assert line["review_id"] == run.review_id
    assert {str(r["status"]) for r in _rows(rt)} == {"delivered"}
    assert deliver_due(rt.db, build_channels(config), worker_id="w1").claimed == 0
    status = {s.channel: s for s in outbox_status(rt.db)}
    assert (status["hook"].delivered, status["hook"].pending, status["hook"].failed) == (1, 0, 0)


def test_a_channel_that_is_down_is_retried_with_backoff_then_failed_audited_and_kept(
    rt: Runtime,
    ops_options: dict[str, str],
    notifying: Path,
    monkeypatch: pytest.MonkeyPatch,
    dead_port: int,
    db_url: str,
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", f"http://127.0.0.1:{dead_port}/hook")
    run = rt.run("ops_agent", ASK, options=ops_options)
    config = active_config()
    assert config is not None
    opts = OutboxOptions(base_delay=10, max_delay=1000, max_attempts=4, jitter=0)
    channels = build_channels(config)
    now = utcnow()
    first = deliver_due(rt.db, channels, worker_id="w1", now=now, options=opts)
    assert len(first.delivered) == 1
    assert len(first.retrying) == 1
    hook_id = delivery_id("review_opened", str(run.review_id), "hook")
    waits = []
    for attempt in range(1, 4):
        with rt.db.connection() as conn:
            row = conn.one("SELECT * FROM interlock_outbox WHERE id = ?", (hook_id,))
        assert row is not None
        assert row["status"] == "pending"
        assert row["attempts"] == attempt
        assert "could not reach" in str(row["last_error"])
        waits.append(row["next_attempt_at"] - now)
        # not due before its backoff is over
        assert deliver_due(rt.db, channels, worker_id="w1", now=now, options=opts).claimed == 0
        now = row["next_attempt_at"]
        got = deliver_due(rt.db, channels, worker_id="w1", now=now, options=opts)
        assert got.claimed == 1
    assert [w.total_seconds() for w in waits] == pytest.approx([10, 20, 40], abs=0.01)
    assert got.failed == [hook_id]
    with rt.db.connection() as conn:
        row = conn.one("SELECT * FROM interlock_outbox WHERE id = ?", (hook_id,))
    assert row is not None
    assert row["status"] == "failed"
    assert row["attempts"] == 4
    assert json.loads(row["payload"])["review_id"] == run.review_id  # nothing lost
    (audited,) = rt.audit.rows(event="notification_failed")
    assert audited.data["delivery_id"] == hook_id
    assert audited.data["channel"] == "hook"
    assert audited.review_id == run.review_id
    assert rt.audit.verify().ok
    status = {s.channel: s for s in outbox_status(rt.db)}
    assert (status["hook"].failed, status["hook"].pending) == (1, 0)
    assert status["hook"].last_error
    assert "could not reach" in status["hook"].last_error
    assert (status["log"].delivered, status["log"].failed) == (1, 0)
    # what `interlock notify status` says (exit 1: something failed)
    cmd = [INTERLOCK, "notify", "status", "--db", db_url]
    out = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stderr
    hook = next(c for c in json.loads(out.stdout)["channels"] if c["channel"] == "hook")
    assert (hook["failed"], hook["pending"], hook["delivered"]) == (1, 0, 0)
    assert "could not reach" in hook["last_error"]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert text.returncode == 1
    assert "hook: 0 pending (0 retrying), 0 delivered, 1 failed" in text.stdout
    assert "log: 0 pending (0 retrying), 1 delivered, 0 failed" in text.stdout
    assert "Traceback" not in text.stderr


def test_notify_retry_sends_failed_messages_again_once_the_channel_is_back(
    rt: Runtime,
    ops_options: dict[str, str],
    notifying: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    dead_port: int,
    db_url: str,
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", f"http://127.0.0.1:{dead_port}/hook")
    run = rt.run("ops_agent", ASK, options=ops_options)
    config = active_config()
    assert config is not None
    once = OutboxOptions(max_attempts=1)
    got = deliver_due(rt.db, build_channels(config), worker_id="w1", options=once)
    hook_id = delivery_id("review_opened", str(run.review_id), "hook")
    assert got.failed == [hook_id]
    cmd = [INTERLOCK, "notify", "retry", "--db", db_url]

    bad = subprocess.run([*cmd, "--channel", "hok"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: no message for channel 'hok' in the outbox (channels: hook, log); pick one of "
        "those, or leave out --channel to retry every failed message."
    ]
    assert {s.channel: s.failed for s in outbox_status(rt.db)}["hook"] == 1  # unchanged

    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)  # the channel is fixed
    out = subprocess.run([*cmd, "--channel", "hook"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "put 1 failed message(s) back in the queue (hook 1)" in out.stdout
    (audited,) = rt.audit.rows(event="notification_retried")
    assert audited.data == {"channels": {"hook": 1}, "only": "hook"}
    sent = deliver_due(rt.db, build_channels(config), worker_id="w2", options=once)
    assert sent.delivered == [hook_id]
    assert [h.headers["X-Interlock-Delivery"] for h in receiver.received] == [hook_id]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert (again.returncode, again.stdout.strip()) == (0, "no failed messages: nothing changed.")
    status = subprocess.run(
        [INTERLOCK, "notify", "status", "--db", db_url], capture_output=True, text=True
    )
    assert status.returncode == 0  # nothing failed any more
    assert rt.audit.verify().ok


def test_a_reminder_is_enqueued_once_per_review_and_reminder(
    rt: Runtime, ops_options: dict[str, str], notifying: Path
) -> None:
    run = rt.run("ops_agent", ASK, options=ops_options)
    config = active_config()
    assert config is not None
    with rt.db.connection() as conn:
        expires = conn.scalar(
            "SELECT expires_at FROM interlock_reviews WHERE id = ?", (run.review_id,)
        )
    assert expires is not None
    assert enqueue_reminders(rt.db, config, now=expires - timedelta(minutes=20)) == []
    ids = enqueue_reminders(rt.db, config, now=expires - timedelta(minutes=10))
    assert len(ids) == 2
    again = enqueue_reminders(rt.db, config, now=expires - timedelta(minutes=5))
    assert again == ids  # the same delivery ids: no second row
    rows = [r for r in _rows(rt) if r["event"] == "review_expiring"]
    assert len(rows) == 2
    note = json.loads(str(rows[0]["payload"]))
    assert note["event"] == "review_expiring"
    assert note["review_id"] == run.review_id
    assert enqueue_reminders(rt.db, config, now=expires + timedelta(minutes=1)) == []


def test_the_worker_delivers_from_its_own_thread(
    rt: Runtime, ops_options: dict[str, str], notifying: Path, receiver: Receiver
) -> None:
    run = rt.run("ops_agent", ASK, options=ops_options)
    assert run.review_id
    stop = threading.Event()
    worker = threading.Thread(
        target=Worker(rt, WorkerOptions(poll=0.05)).run, kwargs={"stop": stop}
    )
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if {str(r["status"]) for r in _rows(rt)} == {"delivered"}:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert {str(r["status"]) for r in _rows(rt)} == {"delivered"}
    assert [h.headers["X-Interlock-Delivery"] for h in receiver.received] == [
        delivery_id("review_opened", run.review_id, "hook")
    ]
