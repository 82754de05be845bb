"""Transactions as the runtime uses them: writes sent without waiting (pipelined on Postgres),
failures that only surface at COMMIT, a second SQLite writer that waits its turn, and commits
that do not wait for the disk. On SQLite, Interlock's writes and LangGraph's checkpoint
writes in one process take turns without failing either way."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from interlock.runtime import Database, open_database
from interlock.runtime.store._claims import ThreadLocks
from interlock.runtime.store._fenced_saver import FENCE_KEY
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


def test_a_write_behind_a_checkpoint_write_of_this_process_goes_in_once_it_is_done(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    with open_database(f"sqlite:///{path}") as db:
        upgrade_database(db)
        saver: Any = db.checkpointer()
        order: list[str] = []
        writing = threading.Event()

        def checkpoint_write() -> None:
            # The saver's own cursor: its lock and SQLite's write lock, as a checkpoint holds.
            with saver.cursor() as cur:
                cur.execute(INSERT, ("agent", "checkpoint", "saver", "2026-12-07T00:00:00Z"))
                writing.set()
                time.sleep(0.05)
                order.append("checkpoint")

        writer = threading.Thread(target=checkpoint_write)
        writer.start()
        assert writing.wait(5)
        with db.transaction() as conn:
            order.append("ours")
            conn.send(INSERT, ("agent", "ours", "me", datetime.now(UTC)))
        writer.join(5)
        assert order == ["checkpoint", "ours"]
        assert _values(db) == ["checkpoint", "ours"]


def test_a_fenced_checkpoint_write_waits_for_a_transaction_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with open_database(f"sqlite:///{path}") as db:
        upgrade_database(db)
        saver: Any = db.checkpointer()
        failed: list[BaseException] = []
        with ThreadLocks(db).hold("t-1") as claim:
            assert claim is not None
            conf = {"thread_id": "t-1", "checkpoint_ns": "", FENCE_KEY: claim.token}
            cfg = {"configurable": conf}

            def put() -> None:
                try:
                    saver.put(cfg, empty_checkpoint(), {"source": "input", "step": -1}, {})
                except BaseException as exc:
                    failed.append(exc)

            writer = threading.Thread(target=put)
            with db.transaction() as conn:  # holds the write lock while the saver tries
                conn.send(INSERT, ("agent", "first", "me", datetime.now(UTC)))
                writer.start()
                time.sleep(0.05)
                assert writer.is_alive()  # waiting its turn, not failed
            writer.join(5)
        assert failed == []
        assert saver.get_tuple({"configurable": {"thread_id": "t-1", "checkpoint_ns": ""}})
        assert _values(db) == ["first"]
