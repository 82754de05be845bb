"""The outbox's SQL: enqueue, claim with a lease, settle, and the status counts.

Claiming is one UPDATE of the oldest due row: on Postgres its subquery takes the row with
`FOR UPDATE SKIP LOCKED`, so workers sharing a database never wait on each other's rows; on
SQLite the write transaction (BEGIN IMMEDIATE) already serialises claims. A claim sets
`claimed_by`/`claimed_until` (the lease) and counts the attempt before anything is sent, so a
worker killed mid-send leaves a row that is due again once its lease runs out.
"""

from __future__ import annotations

__all__ = [
    "CLAIM",
    "ENQUEUE_ROW",
    "MARK_DELIVERED",
    "MARK_FAILED",
    "RESCHEDULE",
    "RETRY_FAILED",
    "STATUS_COUNTS",
    "STATUS_ERRORS",
    "claim_sql",
    "enqueue_sql",
]

_COLUMNS = "id, event, review_id, team, channel, payload, status, attempts, created_at, "
_COLUMNS += "next_attempt_at"
ENQUEUE_ROW = "(?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"


def enqueue_sql(rows: int) -> str:
    """One INSERT of `rows` rows; a delivery id already there is left alone (a retried
    transaction, a reminder seen twice)."""
    values = ", ".join(ENQUEUE_ROW for _ in range(rows))
    return f"INSERT INTO interlock_outbox ({_COLUMNS}) VALUES {values} ON CONFLICT (id) DO NOTHING"


_DUE = (
    "SELECT id FROM interlock_outbox WHERE status = 'pending' AND next_attempt_at <= ? "
    "AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at, id LIMIT 1"
)
CLAIM = (
    "UPDATE interlock_outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1 "
    "WHERE id = ({due}) "
    "RETURNING id, event, review_id, channel, payload, attempts, created_at"
)


def claim_sql(dialect: str) -> str:
    """Claim the oldest due row (params: worker, lease end, now, now)."""
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgres" else ""
    return CLAIM.format(due=_DUE + lock)


# Settling is fenced by status: a row another worker already delivered stays delivered.
MARK_DELIVERED = (
    "UPDATE interlock_outbox SET status = 'delivered', delivered_at = ?, claimed_by = NULL, "
    "claimed_until = NULL WHERE id = ? AND status = 'pending'"
)
RESCHEDULE = (
    "UPDATE interlock_outbox SET next_attempt_at = ?, last_error = ?, claimed_by = NULL, "
    "claimed_until = NULL WHERE id = ? AND status = 'pending' AND claimed_by = ?"
)
# A failed row keeps its payload (nothing lost); next_attempt_at records when it gave up.
MARK_FAILED = (
    "UPDATE interlock_outbox SET status = 'failed', next_attempt_at = ?, last_error = ?, "
    "claimed_by = NULL, claimed_until = NULL WHERE id = ? AND status = 'pending' "
    "AND claimed_by = ?"
)

# An operator's retry: a failed row is due again with fresh attempts (its age still counts
# from the event, so one older than max_age gets one more attempt).
RETRY_FAILED = (
    "UPDATE interlock_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
    "claimed_by = NULL, claimed_until = NULL WHERE status = 'failed' {only} RETURNING id, channel"
)

STATUS_COUNTS = (
    "SELECT channel, status, count(*) AS n, min(created_at) AS oldest, "
    "sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS tried "
    "FROM interlock_outbox GROUP BY channel, status ORDER BY channel, status"
)
STATUS_ERRORS = (
    "SELECT channel, last_error, next_attempt_at, status FROM ("
    "SELECT channel, last_error, next_attempt_at, status, ROW_NUMBER() OVER "
    "(PARTITION BY channel ORDER BY next_attempt_at DESC, id) AS k FROM interlock_outbox "
    "WHERE last_error IS NOT NULL AND status <> 'delivered') AS errs WHERE k = 1"
)
