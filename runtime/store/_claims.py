"""One resumer per thread at a time, across processes and machines, fenced.

LangGraph alone lets two processes resume the same thread at once: both run the side effect
and the history forks (see shared/pitfalls.md). Every run and resume of a thread therefore
happens while holding its claim:

- Postgres: `pg_try_advisory_lock(hashtextextended(thread_id, 0))` on a pooled connection
  held for the whole resume. The server releases it if the holder dies. The decision service
  takes it in the same round trip that locks the review row (`PG_CLAIM_BY_REVIEW`), so
  deciding and resuming are one claim.
- SQLite: a row in `interlock_thread_claims` (one machine shares the file). A claim whose
  process is gone, or that is older than `STALE_AFTER`, is taken over.

A lock can die while its holder still runs (a Postgres restart drops every session, and the
holder's tool goes on). So taking a claim also takes the thread's next **fencing token**
(`interlock_thread_fences`, schema version 4), in the same statement, and every write the
holder makes for the thread checks the token in its own transaction (`fenced_all`,
`check_fence`, the fenced checkpointer): a holder that was overtaken is refused with
`ClaimLost` instead of overwriting what the new holder wrote.

The claim is try-only: a busy thread is reported, never waited for, so a caller can say
"queued" instead of hanging behind a long run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from interlock.risk.errors import ConflictError
from interlock.runtime.store._db import Conn, begin_immediate, from_db_ts
from interlock.runtime.store._schema_v4 import FENCE_SQLSTATE
from interlock.runtime.store.database import Database

__all__ = [
    "FENCE_CHECK",
    "PG_CLAIM_BY_REVIEW",
    "STALE_AFTER",
    "Claim",
    "ClaimLost",
    "ThreadLocks",
    "check_fence",
    "claim_lost",
    "fenced_all",
    "is_fence_error",
    "pg_fenced",
]

STALE_AFTER = timedelta(hours=1)
_HOST = socket.gethostname()
_NEXT_TOKEN = (
    "INSERT INTO interlock_thread_fences (thread_id, token) {source} "
    "ON CONFLICT (thread_id) DO UPDATE SET token = interlock_thread_fences.token + 1 "
    "RETURNING token"
)
# The lock is tried once (a materialised CTE is evaluated once) and the token taken only
# when it was got: one statement, one round trip, as the bare lock was.
_PG_HOLD = (
    "WITH lk AS MATERIALIZED (SELECT pg_try_advisory_lock(hashtextextended(?, 0)) AS ok), "
    f"f AS ({_NEXT_TOKEN.format(source='SELECT ?, 1 FROM lk WHERE ok')}) "
    "SELECT (SELECT ok FROM lk) AS ok, (SELECT token FROM f) AS token"
)
_PG_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(?, 0)) AS ok"
PG_CLAIM_BY_REVIEW = (
    "WITH lk AS MATERIALIZED (SELECT thread_id, "
    "pg_try_advisory_lock(hashtextextended(thread_id, 0)) AS ok "
    "FROM interlock_reviews WHERE id = ? AND resumed_at IS NULL), "
    f"f AS ({_NEXT_TOKEN.format(source='SELECT thread_id, 1 FROM lk WHERE ok')}) "
    "SELECT lk.ok, (SELECT token FROM f) AS token FROM lk"
)
"""The claim on a review's thread, by review id, and its fencing token (`ok`, `token`); no
claim (no row) once the review was carried into its thread: nothing is left to do under it,
and workers that listed it too must not take the thread (and a token) for nothing."""
FENCE_CHECK = "SELECT interlock_fence(?, ?) AS token"
"""Postgres: fails the transaction (SQLSTATE IL409) unless the token is still the latest."""


class ClaimLost(ConflictError):
    """Another process took the thread over while this one held it (its lock died, e.g.
    with a Postgres restart): this holder's writes are refused and it stops."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.outcome: dict[str, Any] = {}
        """What the holder could not record (the ledger key, status and result), if any."""


def claim_lost(thread_id: str, token: int, doing: str) -> ClaimLost:
    msg = (
        f"this process lost its claim on thread {thread_id!r} (token {token}) while {doing}: "
        "another worker took the thread over, e.g. after a database restart. It stopped "
        "there and wrote nothing more for the thread; run `interlock pending` for what the "
        "new holder left for a human."
    )
    return ClaimLost(msg)


def is_fence_error(exc: BaseException) -> bool:
    """True for the database's refusal of a write by an overtaken holder (Postgres)."""
    return getattr(exc, "sqlstate", None) == FENCE_SQLSTATE


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
    """A thread claim and its fencing token."""

    thread_id: str
    owner: str
    """The claim row's owner on SQLite; "" on Postgres (the session holds the lock)."""
    token: int
    """The thread's fencing token this claim took; a later claim takes a larger one."""


def _owner() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def check_fence(conn: Conn, claim: Claim) -> None:
    """Inside the caller's write transaction: go on only while `claim` is the thread's
    latest. Postgres queues the check in the transaction's pipeline (no round trip of its
    own; a stale token fails the transaction); SQLite, whose BEGIN IMMEDIATE already
    serialises writers, reads the token and raises `ClaimLost` at once."""
    if conn.dialect == "postgres":
        conn.send(FENCE_CHECK, (claim.thread_id, claim.token))
        return
    latest = conn.scalar(
        "SELECT token FROM interlock_thread_fences WHERE thread_id = ?", (claim.thread_id,)
    )
    if latest != claim.token:
        raise claim_lost(claim.thread_id, claim.token, "writing")


_FENCE_CTE = "il_fence AS MATERIALIZED (SELECT interlock_fence(?, ?) AS il_token)"


@lru_cache(maxsize=64)
def pg_fenced(sql: str) -> str:
    """`sql` (one write statement with RETURNING, or a WITH statement whose final SELECT
    reads its CTEs) with the fence check in the same statement, which then takes the
    thread and the token as its first two parameters. The check is the preserved side of a
    LEFT JOIN, so it runs even when the write matches no row; its rows are the statement's,
    plus one all-NULL row when it has none (`fenced_all` drops it). One statement, not
    two: the server prepares it once per connection instead of planning it every time."""
    if sql.startswith("WITH "):
        ctes, sep, final = sql[len("WITH ") :].rpartition(") SELECT ")
        if not sep or ")" in final:
            msg = f"cannot fence a statement whose final SELECT is not simple: {sql[:80]}..."
            raise ValueError(msg)
        body = f"{_FENCE_CTE}, {ctes}), il_out AS (SELECT {final})"
    else:
        body = f"{_FENCE_CTE}, il_out AS ({sql})"
    return f"WITH {body} SELECT il_out.* FROM il_fence LEFT JOIN il_out ON true"


def fenced_all(
    conn: Conn, claim: Claim | None, sql: str, params: Sequence[Any], *, doing: str
) -> list[dict[str, Any]]:
    """Run one write statement (outside a transaction) and return its rows, refused with
    `ClaimLost` when `claim` was overtaken. On Postgres the check is part of the statement
    (`pg_fenced`): one implicit transaction, one round trip, the fence row locked FOR SHARE
    until the statement commits. Without a claim: the bare statement."""
    if claim is None:
        return conn.all(sql, params)
    if conn.dialect == "postgres":
        try:
            rows = conn.all(pg_fenced(sql), (claim.thread_id, claim.token, *params))
        except Exception as exc:
            if is_fence_error(exc):
                raise claim_lost(claim.thread_id, claim.token, doing) from None
            raise
        # Every statement fenced here returns a key column: an all-NULL row is the join's.
        return [r for r in rows if any(v is not None for v in r.values())]
    begin_immediate(conn.raw)
    try:
        check_fence(conn, claim)
        rows = conn.all(sql, params)
    except BaseException:
        conn.raw.execute("ROLLBACK")
        raise
    conn.raw.execute("COMMIT")
    return rows


class ThreadLocks:
    """Per-thread claims on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._let_go: set[tuple[int, str, int]] = set()
        """Claims given back with a commit (`release_on_commit`): `release` skips them."""

    @contextmanager
    def hold(self, thread_id: str) -> Iterator[Claim | None]:
        """Yields the claim while this caller holds the thread, None when someone else
        does."""
        with self.db.connection() as conn:
            claim: Claim | None = None
            try:
                if conn.dialect == "postgres":
                    row = conn.one(_PG_HOLD, (thread_id, thread_id))
                    if row and row["ok"]:
                        claim = Claim(thread_id=thread_id, owner="", token=int(row["token"]))
                else:
                    with self.db.begin(conn) as tx:
                        claim = self.claim_in(tx, thread_id)
            except BaseException:
                if conn.dialect == "postgres":  # a session lock outlives a failed statement
                    with suppress(Exception):
                        conn.one(_PG_UNLOCK, (thread_id,))
                raise
            try:
                yield claim
            finally:
                if claim is not None:
                    self.release(conn, claim)

    def claim_in(self, conn: Conn, thread_id: str) -> Claim | None:
        """Claim `thread_id` inside the caller's open transaction on `conn`; None when
        someone else holds it. On Postgres the lock belongs to `conn`'s session and outlives
        the transaction (a rollback included): always `release` it on the same `conn`."""
        if conn.dialect == "postgres":
            row = conn.one(_PG_HOLD, (thread_id, thread_id))
            if not (row and row["ok"]):
                return None
            return Claim(thread_id=thread_id, owner="", token=int(row["token"]))
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
        token = conn.scalar(_NEXT_TOKEN.format(source="VALUES (?, 1)"), (thread_id,))
        return Claim(thread_id=thread_id, owner=owner, token=int(token))

    def release_on_commit(self, conn: Conn, claim: Claim) -> None:
        """Inside a `Database.begin()` transaction on the connection that holds `claim`: give
        the claim back as that transaction commits, without a round trip of its own. Postgres
        sends the unlock right after the COMMIT, in the same round trip, so nobody takes the
        thread before the transaction's writes are visible; SQLite deletes the claim row in
        the transaction itself. After a rollback the claim is still held (`release` then
        gives it back); after the commit `release` has nothing left to do."""
        if conn.dialect == "postgres":
            conn.then.append((_PG_UNLOCK, (claim.thread_id,)))
        else:
            conn.send(
                "DELETE FROM interlock_thread_claims WHERE thread_id = ? AND owner = ?",
                (claim.thread_id, claim.owner),
            )
        key = (id(conn.raw), claim.thread_id, claim.token)
        conn.on_commit(lambda: self._let_go.add(key))

    def release(self, conn: Conn, claim: Claim) -> None:
        """Give the claim back. On Postgres a connection the server dropped (a restart)
        took its lock with it: nothing is left to release, and that is not an error of the
        run being finished."""
        key = (id(conn.raw), claim.thread_id, claim.token)
        if key in self._let_go:  # given back with a commit already
            self._let_go.discard(key)
            return
        if conn.dialect == "postgres":
            if conn.raw.closed or conn.raw.broken:
                return
            try:
                conn.one(_PG_UNLOCK, (claim.thread_id,))
            except Exception:
                if not (conn.raw.closed or conn.raw.broken):
                    raise
            return
        conn.execute(
            "DELETE FROM interlock_thread_claims WHERE thread_id = ? AND owner = ?",
            (claim.thread_id, claim.owner),
        )
