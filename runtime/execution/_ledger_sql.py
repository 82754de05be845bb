"""The execution ledger's statements: opening a row (alone, or with the approval it
consumes, in one statement on Postgres) and recording the outcome."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from interlock.nodes import ExecutionRecord, ExecutionStatus
from interlock.risk.errors import StopsChanged
from interlock.runtime.execution._approvals import CONSUME, CONSUME_SIGNED
from interlock.runtime.execution._live_stops import STOPS_QUERY
from interlock.runtime.review._records import APPROVAL_COLUMNS
from interlock.runtime.store._db import Conn, from_db_ts

__all__ = [
    "CONSUME_OPEN",
    "CONSUME_OPEN_SIGNED",
    "FINISH",
    "FINISH_ROW",
    "INSERT",
    "LEDGER_COLS",
    "OPEN",
    "STOPS_QUERY",
    "check_stops",
    "guarded",
    "open_params",
    "record_of",
    "seen_param",
    "stops_changed",
    "stops_guard",
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


def stops_guard(dialect: str) -> str:
    """True while every stop switch set now is one the call was assessed with (the last
    parameter: a JSON list of "scope:value"). A stop set after the assessment makes the
    statement it guards change nothing, atomically with the write: no window between a
    read of the stops and the ledger row."""
    seen = (
        "SELECT value FROM json_each(?)"
        if dialect == "sqlite"
        else "SELECT jsonb_array_elements_text(CAST(? AS jsonb))"
    )
    return f"NOT EXISTS (SELECT 1 FROM interlock_stops WHERE scope || ':' || value NOT IN ({seen}))"


def seen_param(record: ExecutionRecord) -> str:
    return json.dumps(sorted(record.stops_seen or ()))


_CONSUME_GUARDED = {
    d: (f"{CONSUME} AND {stops_guard(d)}", f"{CONSUME_SIGNED} AND {stops_guard(d)}")
    for d in ("sqlite", "postgres")
}
_GUARDED = {
    d: {
        CONSUME_OPEN: consume_open_sql(_CONSUME_GUARDED[d][0]),
        CONSUME_OPEN_SIGNED: consume_open_sql(_CONSUME_GUARDED[d][1]),
        INSERT: (
            f"INSERT INTO interlock_executions ({LEDGER_COLS}) "
            "SELECT ?, ?, ?, ?, ?, NULL, NULL, ?, NULL, ?, ? "
            f"WHERE {stops_guard(d)} ON CONFLICT (digest) DO NOTHING RETURNING digest"
        ),
    }
    for d in ("sqlite", "postgres")
}


def guarded(
    sql: str, params: tuple[Any, ...], record: ExecutionRecord, dialect: str
) -> tuple[str, tuple[Any, ...]]:
    """`sql` (INSERT, CONSUME_OPEN or CONSUME_OPEN_SIGNED) and its parameters, with the
    stops guard when `record` says which stops it was assessed with. The guard's parameter
    follows the consume's (the consume statements) or comes last (INSERT)."""
    if record.stops_seen is None:
        return sql, params
    seen = seen_param(record)
    if sql == INSERT:
        return _GUARDED[dialect][INSERT], (*params, seen)
    head = 4 if sql == CONSUME_OPEN_SIGNED else 3
    return _GUARDED[dialect][sql], (*params[:head], seen, *params[head:])


# Only the attempt that is still open moves to its outcome: a row another process marked in
# doubt (or finished) stays as it is.
FINISH = (
    "UPDATE interlock_executions SET status = ?, result = ?, error = ?, finished_at = ? "
    "WHERE digest = ? AND status = 'started'"
)
FINISH_ROW = f"{FINISH} RETURNING {LEDGER_COLS}"


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


def _changed(rows: list[dict[str, Any]], record: ExecutionRecord) -> bool:
    """Whether the stops in `rows` (of STOPS_QUERY) include one `record` was not assessed with."""
    seen = record.stops_seen or frozenset()
    return any(f"{r['scope']}:{r['value']}" not in seen for r in rows)


def stops_changed(record: ExecutionRecord) -> StopsChanged:
    msg = f"a stop switch was set after {record.tool} was assessed; it did not run."
    return StopsChanged(msg)


def check_stops(
    conn: Conn, record: ExecutionRecord, rows: list[dict[str, Any]] | None = None
) -> None:
    """Raise StopsChanged when a stop `record` was not assessed with is set now (`rows`:
    STOPS_QUERY's, when the caller read them already)."""
    if record.stops_seen is None:
        return
    if _changed(conn.all(STOPS_QUERY) if rows is None else rows, record):
        raise stops_changed(record)
