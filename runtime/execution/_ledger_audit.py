"""What the ledger writes to the audit log when it marks an action in doubt, and when a run
lost its claim."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from interlock.runtime.audit._sql import head_query
from interlock.runtime.audit.log import AuditEntry, AuditLog
from interlock.runtime.store._db import Conn, from_db_ts, iso_utc

if TYPE_CHECKING:
    from interlock.nodes import ExecutionRecord
    from interlock.risk import Policy
    from interlock.runtime.execution._approvals import Undo
    from interlock.runtime.store._claims import Claim, ClaimLost

__all__ = ["forged_entry", "mark_row", "started_first", "write_lost"]


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


def forged_entry(record: ExecutionRecord, undo: Undo) -> AuditEntry:
    """`approval_forged` for an approval whose signature did not verify (nothing ran)."""
    a = undo.approval
    return AuditEntry(
        event="approval_forged",
        actor="interlock-executor",
        thread_id=record.thread_id,
        review_id=(a.review_id or None) if a is not None else None,
        digest=record.digest,
        data={
            "tool": record.tool,
            "tool_call_id": record.tool_call_id,
            "reason": undo.why,
            "key_id": a.key_id if a is not None else "",
            "reviewers": list(a.reviewers) if a is not None else [],
        },
    )


def mark_row(
    conn: Conn, audit: AuditLog, policy: Policy, key: str, detail: str, now: datetime
) -> bool:
    """In the caller's (fenced) transaction: mark the ledger row `key` in doubt if it is
    still `started`, with its `execution_started` audit row first when the log has none,
    and open its in-doubt review; False when it was not `started` (nothing changed)."""
    from interlock.runtime.execution._ledger_sql import LEDGER_COLS
    from interlock.runtime.review._in_doubt import open_in_doubt_review

    row = conn.one(f"SELECT {LEDGER_COLS} FROM interlock_executions WHERE digest = ?", (key,))
    changed = conn.execute(
        "UPDATE interlock_executions SET status = 'in_doubt', error = ? "
        "WHERE digest = ? AND status = 'started'",
        (detail, key),
    )
    if row is None or changed != 1:
        return False
    started_first(conn, audit, row)
    open_in_doubt_review(conn, audit, policy, row, detail, now)
    return True
