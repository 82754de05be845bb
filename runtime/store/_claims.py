"""One resumer per thread at a time, across processes and machines.

LangGraph alone lets two processes resume the same thread at once: both run the side effect
and the history forks (see shared/pitfalls.md). Every run and resume of a thread therefore
happens while holding its claim:

- Postgres: `pg_try_advisory_lock(hashtextextended(thread_id, 0))` on a pooled connection
  held for the whole resume. The server releases it if the holder dies. The decision service
  takes it in the same round trip that locks the review row (`claim_in`), so deciding and
  resuming are one claim.
- SQLite: a row in `interlock_thread_claims` (one machine shares the file). A claim whose
  process is gone, or that is older than `STALE_AFTER`, is taken over.

The claim is try-only: a busy thread is reported, never waited for, so a caller can say
"queued" instead of hanging behind a long run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from interlock.runtime.store._db import Conn, from_db_ts
from interlock.runtime.store.database import Database

__all__ = ["PG_CLAIM_BY_REVIEW", "STALE_AFTER", "Claim", "ThreadLocks"]

STALE_AFTER = timedelta(hours=1)
_HOST = socket.gethostname()
_PG_TRY = "pg_try_advisory_lock(hashtextextended(?, 0))"
_PG_UNLOCK = "pg_advisory_unlock(hashtextextended(?, 0))"
PG_CLAIM_BY_REVIEW = (
    "SELECT pg_try_advisory_lock(hashtextextended(thread_id, 0)) AS ok "
    "FROM interlock_reviews WHERE id = ?"
)
"""The claim on a review's thread, by review id (a plain read: evaluated once)."""


def _alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return True  # another machine: only age can tell
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A thread claim taken inside a caller's transaction (`ThreadLocks.claim_in`)."""

    thread_id: str
    owner: str
    """The claim row's owner on SQLite; "" on Postgres (the session holds the lock)."""


def _owner() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ThreadLocks:
    """Per-thread claims on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def hold(self, thread_id: str) -> Iterator[bool]:
        """Yields True while this caller holds the thread, False when someone else does."""
        with self.db.connection() as conn:
            if conn.dialect == "postgres":
                row = conn.one(f"SELECT {_PG_TRY} AS ok", (thread_id,))
                claim = Claim(thread_id=thread_id, owner="") if row and row["ok"] else None
            else:
                with self.db.begin(conn) as tx:
                    claim = self.claim_in(tx, thread_id)
            try:
                yield claim is not None
            finally:
                if claim is not None:
                    self.release(conn, claim)

    def claim_in(self, conn: Conn, thread_id: str) -> Claim | None:
        """Claim `thread_id` inside the caller's open transaction on `conn`; None when
        someone else holds it. On Postgres the lock belongs to `conn`'s session and outlives
        the transaction (a rollback included): always `release` it on the same `conn`."""
        if conn.dialect == "postgres":
            row = conn.one(f"SELECT {_PG_TRY} AS ok", (thread_id,))
            return Claim(thread_id=thread_id, owner="") if row and row["ok"] else None
        owner, now = _owner(), datetime.now(UTC)
        row = conn.one(
            "SELECT owner, claimed_at FROM interlock_thread_claims WHERE thread_id = ?",
            (thread_id,),
        )
        if row is not None:
            since = from_db_ts(row["claimed_at"]) or now
            if _alive(str(row["owner"])) and now - since < STALE_AFTER:
                return None
            conn.send("DELETE FROM interlock_thread_claims WHERE thread_id = ?", (thread_id,))
        conn.send(
            "INSERT INTO interlock_thread_claims (thread_id, owner, claimed_at) VALUES (?, ?, ?)",
            (thread_id, owner, now),
        )
        return Claim(thread_id=thread_id, owner=owner)

    def release(self, conn: Conn, claim: Claim) -> None:
        if conn.dialect == "postgres":
            conn.one(f"SELECT {_PG_UNLOCK} AS ok", (claim.thread_id,))
            return
        conn.execute(
            "DELETE FROM interlock_thread_claims WHERE thread_id = ? AND owner = ?",
            (claim.thread_id, claim.owner),
        )
