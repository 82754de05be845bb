"""What the ledger writes to the audit log when it marks an action in doubt, and when a run
lost its claim."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from interlock.runtime.audit._sql import head_query
from interlock.runtime.audit.log import AuditEntry, AuditLog
from interlock.runtime.store._db import Conn, from_db_ts, iso_utc

if TYPE_CHECKING:
    from interlock.runtime.store._claims import Claim, ClaimLost

__all__ = ["started_first", "write_lost"]


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


def write_lost(
    conn: Conn,
    audit: AuditLog,
    deferred: Sequence[AuditEntry],
    fence: Claim | None,
    lost: ClaimLost,
) -> None:
    """In the caller's transaction: the run's `deferred` rows that are still true (an
    `execution_started` an in-doubt marking already wrote for it is not written twice), then
    `claim_lost` with the outcome the run could not record."""
    found = conn.fetch_all([(head_query(conn.dialect), ())])[0]
    started = {e.digest for e in deferred if e.event == "execution_started" and e.digest}
    have: set[str] = set()
    for digest in started:
        seen = conn.one(
            "SELECT 1 AS seen FROM interlock_audit WHERE digest = ? "
            "AND event = 'execution_started' LIMIT 1",
            (digest,),
        )
        if seen:
            have.add(digest)
    keep = [e for e in deferred if not (e.event == "execution_started" and e.digest in have)]
    entry = AuditEntry(
        event="claim_lost",
        actor="interlock-executor",
        thread_id=fence.thread_id if fence else None,
        digest=None,
        data={"token": fence.token if fence else None, "reason": str(lost), **lost.outcome},
    )
    top = (int(found[0]["seq"]), str(found[0]["hash"])) if found else None
    audit.append_all([*keep, entry], conn=conn, head=top)
