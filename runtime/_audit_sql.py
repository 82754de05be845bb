"""The audit log's SQL: filters for `AuditLog.rows()` and the batched walk in `seq` order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from interlock.risk.errors import ConfigError
from interlock.runtime._db import Conn

__all__ = ["audit_where", "walk"]

_BATCH = 1000


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
