"""One resumer per thread at a time, across processes and machines.

LangGraph alone lets two processes resume the same thread at once: both run the side effect
and the history forks (see shared/pitfalls.md). Every run and resume of a thread therefore
happens while holding its claim:

- Postgres: `pg_try_advisory_lock(hashtextextended(thread_id, 0))` on a dedicated pooled
  connection held for the whole resume. The server releases it if the holder dies.
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
from datetime import UTC, datetime, timedelta

from interlock.runtime._db import from_db_ts
from interlock.runtime.storage import Database

__all__ = ["STALE_AFTER", "ThreadLocks"]

STALE_AFTER = timedelta(hours=1)
_HOST = socket.gethostname()


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


class ThreadLocks:
    """Per-thread claims on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def hold(self, thread_id: str) -> Iterator[bool]:
        """Yields True while this caller holds the thread, False when someone else does."""
        if self.db.dialect == "postgres":
            with self._pg(thread_id) as got:
                yield got
            return
        with self._sqlite(thread_id) as got:
            yield got

    @contextmanager
    def _pg(self, thread_id: str) -> Iterator[bool]:
        with self.db.pg_pool.connection() as raw:
            row = raw.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS ok", (thread_id,)
            ).fetchone()
            got = bool(row and row["ok"])
            try:
                yield got
            finally:
                if got:
                    raw.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (thread_id,))

    @contextmanager
    def _sqlite(self, thread_id: str) -> Iterator[bool]:
        owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        now = datetime.now(UTC)
        with self.db.transaction() as conn:
            row = conn.one(
                "SELECT owner, claimed_at FROM interlock_thread_claims WHERE thread_id = ?",
                (thread_id,),
            )
            got = True
            if row is not None:
                since = from_db_ts(row["claimed_at"]) or now
                if _alive(str(row["owner"])) and now - since < STALE_AFTER:
                    got = False
                else:
                    conn.execute(
                        "DELETE FROM interlock_thread_claims WHERE thread_id = ?", (thread_id,)
                    )
            if got:
                conn.execute(
                    "INSERT INTO interlock_thread_claims (thread_id, owner, claimed_at) "
                    "VALUES (?, ?, ?)",
                    (thread_id, owner, now),
                )
        try:
            yield got
        finally:
            if got:
                with self.db.connection() as conn:
                    conn.execute(
                        "DELETE FROM interlock_thread_claims WHERE thread_id = ? AND owner = ?",
                        (thread_id, owner),
                    )
