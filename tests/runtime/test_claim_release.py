"""A thread claim given back with the commit of the transaction that settles its run
(`ThreadLocks.release_on_commit`): free for the next holder once, and only once, the
transaction's writes are in; still held after a rollback. Both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from interlock.runtime import Database
from interlock.runtime.store._claims import Claim, ThreadLocks
from interlock.runtime.store._db import Conn

INSERT = "INSERT INTO interlock_stops (scope, value, actor, created_at) VALUES (?, ?, ?, ?)"


def _claim(db: Database, locks: ThreadLocks, conn: Conn, thread_id: str) -> Claim | None:
    with db.begin(conn) as tx:
        return locks.claim_in(tx, thread_id)


def _free(db: Database, locks: ThreadLocks, thread_id: str) -> bool:
    """Whether another connection (another process, on SQLite another owner) can claim it now;
    the claim it takes is given back at once."""
    with db.connection() as other:
        got = _claim(db, locks, other, thread_id)
        if got is not None:
            locks.release(other, got)
        return got is not None


def test_a_claim_given_back_with_a_commit_is_free_after_it(db: Database) -> None:
    locks, thread_id = ThreadLocks(db), f"t-{uuid.uuid4().hex[:8]}"
    with db.connection() as conn:
        claim = _claim(db, locks, conn, thread_id)
        assert claim is not None
        assert not _free(db, locks, thread_id)
        with db.begin(conn) as tx:
            tx.send(INSERT, ("agent", thread_id, "me", datetime.now(UTC)))
            locks.release_on_commit(tx, claim)
        with db.connection() as other:
            # The write is visible by the time anyone can take the thread.
            seen = other.scalar(
                "SELECT count(*) AS n FROM interlock_stops WHERE value = ?", (thread_id,)
            )
            taken = _claim(db, locks, other, thread_id)
            assert seen == 1
            assert taken is not None
            # The first holder's release afterwards is a no-op: the new holder keeps it.
            locks.release(conn, claim)
            assert not _free(db, locks, thread_id)
            locks.release(other, taken)
    assert _free(db, locks, thread_id)


def test_a_rolled_back_transaction_leaves_the_claim_held(db: Database) -> None:
    locks, thread_id = ThreadLocks(db), f"t-{uuid.uuid4().hex[:8]}"
    with db.connection() as conn:
        claim = _claim(db, locks, conn, thread_id)
        assert claim is not None

        def settle_and_fail() -> None:
            with db.begin(conn) as tx:
                tx.send(INSERT, ("agent", thread_id, "me", datetime.now(UTC)))
                locks.release_on_commit(tx, claim)
                raise RuntimeError("settling failed")

        with pytest.raises(RuntimeError, match="settling failed"):
            settle_and_fail()
        assert not _free(db, locks, thread_id)
        with db.connection() as other:
            gone = other.scalar(
                "SELECT count(*) AS n FROM interlock_stops WHERE value = ?", (thread_id,)
            )
        assert gone == 0
        locks.release(conn, claim)
    assert _free(db, locks, thread_id)
