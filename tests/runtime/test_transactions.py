"""Transactions as the runtime uses them: writes sent without waiting (pipelined on Postgres),
failures that only surface at COMMIT, a second SQLite writer that waits its turn, and commits
that do not wait for the disk."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from interlock.runtime import Database, open_database
from interlock.runtime.store.migrations import upgrade_database

INSERT = "INSERT INTO interlock_stops (scope, value, actor, created_at) VALUES (?, ?, ?, ?)"


def _values(db: Database) -> list[str]:
    with db.connection() as conn:
        return [r["value"] for r in conn.all("SELECT value FROM interlock_stops ORDER BY value")]


def test_writes_sent_without_waiting_commit_together(db: Database) -> None:
    now = datetime.now(UTC)
    with db.transaction() as conn:
        for name in ("a1", "a2", "a3"):
            conn.send(INSERT, ("agent", name, "me", now))
        # A read in the same transaction sees them (it waits for everything queued before).
        assert conn.scalar("SELECT count(*) AS n FROM interlock_stops") == 3
    assert _values(db) == ["a1", "a2", "a3"]


def test_a_failure_that_surfaces_at_commit_writes_nothing(db: Database) -> None:
    now = datetime.now(UTC)
    with db.transaction() as conn:
        conn.send(INSERT, ("agent", "kept", "me", now))

    def send_a_duplicate() -> None:
        with db.transaction() as conn:
            conn.send(INSERT, ("agent", "fresh", "me", now))
            conn.send(INSERT, ("agent", "kept", "me", now))  # violates the primary key

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        send_a_duplicate()
    assert _values(db) == ["kept"]
    # The connection that failed is usable again, prepared statements included.
    for name in ("after-1", "after-2"):
        with db.transaction() as conn:
            conn.send(INSERT, ("agent", name, "me", now))
    assert _values(db) == ["after-1", "after-2", "kept"]


def test_an_error_raised_by_the_caller_rolls_back_queued_writes(db: Database) -> None:
    now = datetime.now(UTC)

    def fail_after_sending() -> None:
        with db.transaction() as conn:
            conn.send(INSERT, ("agent", "never", "me", now))
            msg = "the caller changed its mind"
            raise RuntimeError(msg)

    for _ in range(3):  # the same statements on the same pooled connection each time
        with pytest.raises(RuntimeError, match="changed its mind"):
            fail_after_sending()
    with db.transaction() as conn:
        conn.send(INSERT, ("agent", "then", "me", now))
    assert _values(db) == ["then"]


def test_a_commit_that_does_not_wait_for_the_disk_is_still_a_commit(db: Database) -> None:
    now = datetime.now(UTC)
    with db.connection() as held, db.begin(held, durable=False) as conn:
        conn.send(INSERT, ("agent", "relaxed", "me", now))
    with db.connection() as conn:
        assert conn.scalar("SELECT count(*) AS n FROM interlock_stops") == 1
    if db.dialect == "sqlite":  # the connection goes back to the pool as durable as before
        with db.connection() as conn:
            assert conn.scalar("PRAGMA synchronous") == 2


def test_a_second_sqlite_writer_waits_for_the_first_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with open_database(f"sqlite:///{path}") as db:
        upgrade_database(db)
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # holds SQLite's single write lock
        released = threading.Event()

        def release_soon() -> None:
            time.sleep(0.05)
            released.set()
            other.execute("COMMIT")

        threading.Thread(target=release_soon).start()
        with db.transaction() as conn:
            assert released.is_set()  # it got in only after the other writer let go
            conn.send(INSERT, ("agent", "waited", "me", datetime.now(UTC)))
        other.close()
        assert _values(db) == ["waited"]
