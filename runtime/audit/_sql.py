"""The audit log's SQL: appends, filters for `AuditLog.rows()`, the batched walk."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from interlock.risk.errors import ConfigError
from interlock.runtime.store._db import Conn

__all__ = ["HEAD_MISSING", "append_sql", "audit_where", "head_query", "walk"]

_BATCH = 1000
_COLUMNS = "seq, ts, event, actor, thread_id, review_id, digest, data, prev_hash, hash"
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
HEAD_MISSING = "the audit head row is missing; run `interlock audit verify` and restore it."
_MOVE_HEAD = "UPDATE interlock_audit_head SET seq = ?, hash = ? WHERE id = 1"


def head_query(dialect: str) -> str:
    """The head row, locked on Postgres (SQLite's BEGIN IMMEDIATE already serialises)."""
    lock = " FOR UPDATE" if dialect == "postgres" else ""
    return f"SELECT seq, hash FROM interlock_audit_head WHERE id = 1{lock}"


def append_sql(dialect: str, rows: Sequence[tuple[Any, ...]]) -> list[tuple[str, tuple[Any, ...]]]:
    """Statements that insert `rows` (in `seq` order) and move the head to the last one.
    On Postgres that is one statement: a round trip, not two."""
    insert = f"INSERT INTO interlock_audit ({_COLUMNS}) VALUES {', '.join(_ROW for _ in rows)}"
    values = tuple(v for r in rows for v in r)
    head = (rows[-1][0], rows[-1][-1])
    if dialect == "postgres":
        return [(f"WITH appended AS ({insert}) {_MOVE_HEAD}", (*values, *head))]
    return [(insert, values), (_MOVE_HEAD, head)]


def audit_where(
    since: datetime | None,
    until: datetime | None,
    thread_id: str | None,
    review_id: str | None,
    actor: str | None,
    event: str | Sequence[str] | None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, op, value in (
        ("ts", ">=", since),
        ("ts", "<", until),
        ("thread_id", "=", thread_id),
        ("review_id", "=", review_id),
        ("actor", "=", actor),
    ):
        if value is not None:
            clauses.append(f" AND {column} {op} ?")
            params.append(value)
    if event is not None:
        events = [event] if isinstance(event, str) else list(event)
        if not events:
            msg = "event filter is empty: give one event name or several."
            raise ConfigError(msg)
        clauses.append(f" AND event IN ({', '.join('?' for _ in events)})")
        params.extend(events)
    return "".join(clauses), params


def walk(conn: Conn, select: str, filters: tuple[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Rows in `seq` order, in batches, so a long log never sits in memory at once."""
    where, params = filters
    last: int | None = None
    while True:
        after = "" if last is None else " AND seq > ?"
        args = [*params, *([] if last is None else [last]), _BATCH]
        batch = conn.all(f"{select} WHERE 1 = 1{where}{after} ORDER BY seq LIMIT ?", args)
        yield from batch
        if len(batch) < _BATCH:
            return
        last = int(batch[-1]["seq"])
