"""The outbox survives an `interlock worker` SIGKILLed mid-delivery (both backends): the next
worker sends the message once more at most, under the same delivery id, once the
`[delivery] lease` runs out; and on Postgres the agent database role can
enqueue and deliver its own messages."""

from __future__ import annotations

import os
import signal
import socket
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

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
LEASE = 6.0  # [delivery] lease below: longer than the hook's 5 s timeout


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "notify.toml"
    path.write_text(
        'default_team = "ops"\n[teams.ops]\nchannels = ["hook"]\n'
        '[channels.hook]\nkind = "webhook"\nurl_env = "TEST_HOOK_URL"\n'
        'secret_env = "TEST_HOOK_SECRET"\ntimeout = "5s"\n'
        f'[delivery]\nlease = "{LEASE:g}s"\n'
    )
    return path


@pytest.fixture
def hooked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Path:
    path = _config(tmp_path)
    monkeypatch.setenv("INTERLOCK_NOTIFY", str(path))
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url)
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")
    return path


def _worker(db_url: str) -> subprocess.Popen[str]:
    """A real `interlock worker` process (it delivers from its notify thread)."""
    return subprocess.Popen(
        [INTERLOCK, "worker", "--db", db_url, "--poll", "0.05", "--reconcile-every", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def _outbox_row(rt: Runtime, row_id: str) -> dict[str, object]:
    with rt.db.connection() as conn:
        row = conn.one("SELECT * FROM interlock_outbox WHERE id = ?", (row_id,))
    assert row is not None
    return dict(row)


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_once_under_the_same_id(
    rt: Runtime,
    ops_options: dict[str, str],
    hooked: Path,
    receiver: Receiver,
    db_url: str,
) -> None:
    run = rt.run("ops_agent", ASK, options=ops_options)
    assert run.review_id
    hook_id = delivery_id("review_opened", run.review_id, "hook")
    receiver.delay = 60.0  # receives, then hangs: the worker is mid-send when it dies
    doomed = _worker(db_url)
    try:
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline:
            assert doomed.poll() is None, doomed.communicate()
            time.sleep(0.02)
        assert len(receiver.received) == 1
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=10)
    assert doomed.returncode == -signal.SIGKILL
    row = _outbox_row(rt, hook_id)
    # Claimed by that worker process, never settled.
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["claimed_by"] == f"{socket.gethostname()}:{doomed.pid}"
    receiver.delay = 0.0
    channels = build_channels(load_notify_config(hooked))
    # While the dead worker's lease lasts, nobody sends it again.
    assert deliver_due(rt.db, channels, worker_id="peek", now=utcnow()).claimed == 0

    nxt = _worker(db_url)
    try:
        deadline = time.monotonic() + LEASE + 60
        while _outbox_row(rt, hook_id)["status"] != "delivered":
            assert time.monotonic() < deadline, "the next worker never delivered it"
            assert nxt.poll() is None, nxt.communicate()
            time.sleep(0.05)
    finally:
        nxt.send_signal(signal.SIGTERM)
        nxt.communicate(timeout=30)
    assert nxt.returncode == 0
    assert [h.headers["X-Interlock-Delivery"] for h in receiver.received] == [hook_id, hook_id]
    assert receiver.received[0].body == receiver.received[1].body  # the same message
    row = _outbox_row(rt, hook_id)
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    later = utcnow() + timedelta(seconds=LEASE * 2)
    assert deliver_due(rt.db, channels, worker_id="peek", now=later).claimed == 0  # once


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
