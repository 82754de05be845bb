"""What a decision checks and writes inside the transaction that locked its review.

`record` refuses (raising, so nothing is written) on the first check that fails: an
in-doubt review, a review no longer pending, a malformed decision, a missing role or a
self-approval, an expired review, a thread no process could resume, an interrupt no longer
live; then plans edits and commits the decision, its signed approval and the audit row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from interlock.risk import Policy
from interlock.risk.errors import ConflictError, DecisionError
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.decisions._bound import bind_approvals
from interlock.runtime.decisions._commit import (
    Committed,
    Prepared,
    authorise,
    check_payload,
    commit,
    stale_message,
)
from interlock.runtime.execution._thread_read import Current, current_interrupt, moved_on
from interlock.runtime.review.reviewers import Reviewer
from interlock.runtime.store._db import Conn, from_db_ts

if TYPE_CHECKING:
    from interlock.runtime.execution._runner import Engine
    from interlock.runtime.review.signing import Signer

__all__ = ["prepare", "record"]


def prepare(request: Mapping[str, Any], index: int, raw: Any, reviewer: Reviewer) -> Prepared:
    from interlock.nodes import validate_decision

    raw = check_payload(raw)
    if isinstance(raw, Mapping):
        raw = {k: v for k, v in raw.items() if k != "reviewer"}  # identity is not input
    decision = dict(validate_decision(request, raw, index=index))  # type: ignore[arg-type]
    decision["reviewer"] = reviewer.name
    action = request["action_requests"][index]
    if action.get("digest"):
        decision.setdefault("digest", action["digest"])
    return Prepared(index=index, decision=decision, action=action)


def record(
    conn: Conn,
    audit: AuditLog,
    policy: Policy,
    engine: Engine,
    cur: Current,
    items: Mapping[int, Any],
    reviewer: Reviewer,
    *,
    now: datetime,
    approval_ttl: timedelta,
    signer: Signer,
) -> tuple[list[Prepared], Committed]:
    """Every check, then the writes, inside the transaction that locked the review.
    Raises (and so writes nothing) on the first check that fails."""
    row = cur.row
    if row["kind"] == "in_doubt":
        msg = (
            f"review {row['id']} is an execution in doubt, not a proposal: say what happened "
            f"with `interlock resolve {row['id']} --ran|--did-not-run`."
        )
        raise DecisionError(msg)
    if row["status"] != "pending":
        raise ConflictError(stale_message(conn, row))
    request = json.loads(row["payload"])
    prepared = [prepare(request, i, raw, reviewer) for i, raw in sorted(items.items())]
    # The row is the agent side's writing: approve only the action shown, at no less than
    # this side's own policy requires (`_bound`).
    prepared = bind_approvals(engine, policy, row, request, cur.thread, prepared)
    for p in prepared:
        authorise(policy, row, p, reviewer)
    expires = from_db_ts(row["expires_at"])
    if expires is not None and now >= expires:
        msg = (
            f"review {row['id']} expired at {expires.isoformat()}; it is escalated or "
            "denied by expiry and cannot be decided any more."
        )
        raise ConflictError(msg)
    engine.built_for(row["thread_id"], cur.thread)  # refuse now if no process could resume it
    if engine.local and not current_interrupt(engine, cur):
        raise ConflictError(moved_on(row))
    from interlock.runtime.decisions._edits import plan_edit

    prepared = [
        p
        if p.decision["type"] != "edit"
        else Prepared(
            index=p.index,
            decision=p.decision,
            action=p.action,
            edit=plan_edit(engine, policy, row, request, p, reviewer),
        )
        for p in prepared
    ]
    done = commit(
        conn,
        audit,
        cur,
        prepared,
        reviewer,
        now=now,
        approval_ttl=approval_ttl,
        signer=signer,
    )
    return prepared, done
