"""What the ledger writes to the audit log when it marks an action in doubt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from interlock.runtime.audit._sql import head_query
from interlock.runtime.audit.log import AuditEntry, AuditLog
from interlock.runtime.store._db import Conn, from_db_ts, iso_utc

__all__ = ["started_first"]


def started_first(conn: Conn, audit: AuditLog, row: Mapping[str, Any]) -> None:
    """Append the action's `execution_started` row unless the log has one (read after
    locking the audit head, so a writer of the deferred row cannot slip in between)."""
    digest = row["action_digest"] or row["digest"]
    found, seen = conn.fetch_all(
        [
            (head_query(conn.dialect), ()),
            (
                "SELECT 1 AS seen FROM interlock_audit WHERE digest = ? "
                "AND event = 'execution_started' LIMIT 1",
                (digest,),
            ),
        ]
    )
    if seen or not found:
        return
    started = from_db_ts(row["started_at"])
    entry = AuditEntry(
        event="execution_started",
        actor="interlock-executor",
        thread_id=row["thread_id"],
        review_id=row["review_id"],
        digest=digest,
        data={
            "tool": row["tool"],
            "tool_call_id": row["tool_call_id"],
            "started_at": iso_utc(started) if started else None,
            "approved": row["review_id"] is not None,
            "recorded_by": "in-doubt marking (the starting process never wrote it)",
        },
    )
    audit.append_all([entry], conn=conn, head=(int(found[0]["seq"]), found[0]["hash"]))
