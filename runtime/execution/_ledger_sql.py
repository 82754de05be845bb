"""The execution ledger's statements: opening a row (alone, or with the approval it
consumes, in one statement on Postgres) and recording the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interlock.nodes import ExecutionRecord, ExecutionStatus
from interlock.runtime.execution._approvals import CONSUME, CONSUME_SIGNED
from interlock.runtime.review._records import APPROVAL_COLUMNS
from interlock.runtime.store._db import from_db_ts

__all__ = [
    "CONSUME_OPEN",
    "CONSUME_OPEN_SIGNED",
    "FINISH",
    "INSERT",
    "LEDGER_COLS",
    "OPEN",
    "open_params",
    "record_of",
]

LEDGER_COLS = (
    "digest, thread_id, review_id, tool, status, result, error, started_at, finished_at, "
    "action_digest, tool_call_id"
)


def record_of(row: Mapping[str, Any]) -> ExecutionRecord:
    started = from_db_ts(row["started_at"])
    assert started is not None
    status: ExecutionStatus = row["status"]
    return ExecutionRecord(
        key=row["digest"],
        digest=row["action_digest"] or row["digest"],
        tool=row["tool"],
        thread_id=row["thread_id"],
        tool_call_id=row["tool_call_id"],
        status=status,
        started_at=started,
        finished_at=from_db_ts(row["finished_at"]),
        result=row["result"] if row["result"] is not None else row["error"],
    )


# The ledger row names the review its approval came from (read, not consumed, here: the
# consume in the same transaction decides whether the row stays).
OPEN_ROW = (
    "SELECT ?, ?, (SELECT review_id FROM interlock_approvals WHERE digest = ?), ?, ?, "
    "NULL, NULL, ?, NULL, ?, ?"
)
OPEN = (
    f"INSERT INTO interlock_executions ({LEDGER_COLS}) {OPEN_ROW} "
    "ON CONFLICT (digest) DO NOTHING RETURNING digest"
)


def consume_open_sql(consume: str) -> str:
    return (
        f"WITH used AS ({consume} RETURNING {APPROVAL_COLUMNS}), "
        f"opened AS (INSERT INTO interlock_executions ({LEDGER_COLS}) {OPEN_ROW} FROM used "
        "ON CONFLICT (digest) DO NOTHING RETURNING digest) "
        "SELECT used.* FROM used, opened"
    )


CONSUME_OPEN = consume_open_sql(CONSUME)
CONSUME_OPEN_SIGNED = consume_open_sql(CONSUME_SIGNED)


INSERT = (
    f"INSERT INTO interlock_executions ({LEDGER_COLS}) "
    "VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, NULL, ?, ?) ON CONFLICT (digest) DO NOTHING "
    "RETURNING digest"
)
# Only the attempt that is still open moves to its outcome: a row another process marked in
# doubt (or finished) stays as it is.
FINISH = (
    "UPDATE interlock_executions SET status = ?, result = ?, error = ?, finished_at = ? "
    "WHERE digest = ? AND status = 'started'"
)


def open_params(record: ExecutionRecord) -> tuple[Any, ...]:
    return (
        record.key,
        record.thread_id,
        record.digest,
        record.tool,
        record.status,
        record.started_at,
        record.digest,
        record.tool_call_id,
    )
