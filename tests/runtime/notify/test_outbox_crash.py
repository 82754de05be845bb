"""The outbox survives a worker SIGKILLed mid-delivery (both backends): the message goes once
more at most, under the same delivery id; and on Postgres the agent database role can
enqueue and deliver its own messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from interlock.risk import utcnow
from interlock.runtime import Runtime
from interlock.runtime.notify import load_notify_config
from interlock.runtime.notify._notes import delivery_id
from interlock.runtime.notify.channels import build_channels
from interlock.runtime.notify.outbox import OutboxOptions, deliver_due
from interlock.runtime.store import open_database, setup_roles, upgrade_database

if TYPE_CHECKING:
    from conftest import Receiver  # this folder's conftest (the fixture's type)

ASK = "Deploys to staging fail: api-staging answers 401. Please fix it."

WORKER = """
import sys
from interlock.runtime.notify import load_notify_config
from interlock.runtime.notify.channels import build_channels
from interlock.runtime.notify.outbox import OutboxOptions, deliver_due
from interlock.runtime.store import open_database

db = open_database(sys.argv[1])
channels = build_channels(load_notify_config(sys.argv[2]))
print("claiming", flush=True)
deliver_due(db, channels, worker_id="doomed", options=OutboxOptions(lease=2.0))
print("finished", flush=True)
"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "notify.toml"
    path.write_text(
        'default_team = "ops"\n[teams.ops]\nchannels = ["hook"]\n'
        '[channels.hook]\nkind = "webhook"\nurl_env = "TEST_HOOK_URL"\n'
        'secret_env = "TEST_HOOK_SECRET"\ntimeout = 60\n'
    )
    return path


@pytest.fixture
def hooked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Path:
    path = _config(tmp_path)
    monkeypatch.setenv("INTERLOCK_NOTIFY", str(path))
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")
    return path


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_once_under_the_same_id(
    rt: Runtime,
    ops_options: dict[str, str],
    hooked: Path,
    receiver: Receiver,
    db_url: str,
    tmp_path: Path,
) -> None:
    run = rt.run("ops_agent", ASK, options=ops_options)
    assert run.review_id
    receiver.delay = 60.0  # receives, then hangs: the worker is mid-send when it dies
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    proc = subprocess.Popen(
        [sys.executable, str(script), db_url, str(hooked)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        assert len(receiver.received) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    hook_id = delivery_id("review_opened", run.review_id, "hook")
    with rt.db.connection() as conn:
        row = conn.one("SELECT * FROM interlock_outbox WHERE id = ?", (hook_id,))
    assert row is not None
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("pending", 1, "doomed")
    receiver.delay = 0.0
    channels = build_channels(load_notify_config(hooked))
    # while the dead worker's lease lasts, nobody sends it again
    held = deliver_due(rt.db, channels, worker_id="next", now=utcnow())
    assert held.claimed == 0
    later = utcnow() + timedelta(seconds=3)
    got = deliver_due(rt.db, channels, worker_id="next", now=later)
    assert got.delivered == [hook_id]
    assert deliver_due(rt.db, channels, worker_id="next", now=later).claimed == 0
    assert [h.headers["X-Interlock-Delivery"] for h in receiver.received] == [hook_id, hook_id]
    assert receiver.received[0].body == receiver.received[1].body  # the same message
    with rt.db.connection() as conn:
        row = conn.one("SELECT * FROM interlock_outbox WHERE id = ?", (hook_id,))
    assert row is not None
    assert (row["status"], row["attempts"]) == ("delivered", 2)


@pytest.fixture
def agent_url(pg_url: str) -> Iterator[str]:
    tag = uuid.uuid4().hex[:8]
    agent, reviewer = f"ia_{tag}", f"ir_{tag}"
    with open_database(pg_url) as db:
        upgrade_database(db)
        db.checkpointer()
        got = setup_roles(db, agent=agent, reviewer=reviewer, agent_password="agent-pw-1")
    try:
        yield got.agent_url
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{agent}", "{reviewer}"')
            conn.execute(f'DROP ROLE IF EXISTS "{agent}"')
            conn.execute(f'DROP ROLE IF EXISTS "{reviewer}"')


def test_the_agent_role_enqueues_and_delivers_its_messages_but_may_not_delete_them(
    agent_url: str,
    ops_options: dict[str, str],
    hooked: Path,
    receiver: Receiver,
) -> None:
    with Runtime.open(agent_url) as rt:
        run = rt.run("ops_agent", ASK, options=ops_options)
        assert run.status == "pending"
        assert run.review_id
        got = deliver_due(
            rt.db, build_channels(load_notify_config(hooked)), worker_id="agent-worker"
        )
        assert got.delivered == [delivery_id("review_opened", run.review_id, "hook")]
    assert len(receiver.received) == 1
    with (
        psycopg.connect(agent_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("DELETE FROM interlock_outbox")
    with (
        psycopg.connect(agent_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("UPDATE interlock_outbox SET payload = '{}'")


def test_outbox_options_are_checked_in_one_line() -> None:
    with pytest.raises(Exception, match="outbox option lease must be a number of seconds > 0"):
        OutboxOptions(lease=0)
