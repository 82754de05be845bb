"""Expiry and in-doubt resolution: the decision service's other two writers of outcomes.

`expire_due(now)`: a pending review past its deadline escalates one rung up the policy's
seniority ladder (the thread re-opens a review for that role, with a fresh deadline) or, at
the top of the ladder, is denied: the thread resumes with a reject whose message starts
with "expired: denied". It is NEVER approved: the only decisions this module writes are
escalate and reject. A human decision racing the expiry is safe: the status flip is a
conditional UPDATE, so exactly one of them wins.

`resolve_in_doubt`: a human says whether an action whose outcome was unknown ran or not;
the ledger row and the in-doubt review are closed together, with an audit row.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from interlock.risk import canonical_json
from interlock.risk.errors import AuthorizationError, ConflictError, DecisionError
from interlock.runtime.review._records import new_id, qualifies
from interlock.runtime.review.reviewers import Reviewer

if TYPE_CHECKING:
    from datetime import datetime

    from interlock.runtime.decisions.service import DecisionOutcome, DecisionService

__all__ = ["expire_due", "resolve_in_doubt"]


def _decisions_for(
    request: dict[str, Any], role: str | None, expired_at: str, actor: str
) -> list[dict[str, Any]]:
    out = []
    for i, action in enumerate(request.get("action_requests") or []):
        configs = request.get("review_configs") or []
        config = configs[i] if i < len(configs) else {}
        # LangChain's types and Interlock's extras (escalate) sit in two keys of the config.
        allowed = [
            *(config.get("allowed_decisions") or []),
            *(config.get("interlock_decisions") or []),
        ]
        d: dict[str, Any]
        if role is not None and "escalate" in allowed:
            d = {
                "type": "escalate",
                "role": role,
                "message": f"expired at {expired_at}: nobody decided in time; escalated to {role}.",
            }
        elif "reject" in allowed or not allowed:
            d = {
                "type": "reject",
                "message": f"expired: denied. Nobody decided before "
                f"{expired_at}, so the action was not run.",
            }
        else:
            d = {
                "type": "respond",
                "message": f"expired: denied. Nobody decided before "
                f"{expired_at}, so the action was not run.",
            }
        d["reviewer"] = actor
        if action.get("digest"):
            d["digest"] = action["digest"]
        out.append(d)
    return out


def expire_due(service: DecisionService, now: datetime, limit: int) -> list[DecisionOutcome]:
    from interlock.runtime.decisions.service import SYSTEM_ACTOR, DecisionOutcome

    ladder = service.policy.roles
    out: list[DecisionOutcome] = []
    for row in service.rows_due(now, limit):
        request = json.loads(row["payload"])
        rung = int(row["rung"])
        role = ladder[rung + 1] if 0 <= rung < len(ladder) - 1 else None
        expired_at = str(request.get("expires_at") or row["expires_at"])
        decisions = _decisions_for(request, role, expired_at, SYSTEM_ACTOR)
        what = f"escalated to {role}" if role and decisions[0]["type"] == "escalate" else "denied"
        with service.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE interlock_reviews SET status = 'expired', decided_at = ?, decided_by = ?, "
                "outcome = ? WHERE id = ? AND status = 'pending'",
                (now, SYSTEM_ACTOR, f"expired: {what}", row["id"]),
            )
            if changed != 1:
                continue  # a human decided first: theirs stands
            for i, d in enumerate(decisions):
                conn.execute(
                    "INSERT INTO interlock_decisions (id, review_id, action_index, reviewer, "
                    "type, settles, digest, payload, created_at) "
                    "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    (
                        new_id("dc"),
                        row["id"],
                        i,
                        SYSTEM_ACTOR,
                        d["type"],
                        d.get("digest"),
                        canonical_json(d),
                        now,
                    ),
                )
            service.audit.append(
                "review_expired",
                actor=SYSTEM_ACTOR,
                thread_id=row["thread_id"],
                review_id=row["id"],
                data={
                    "expired_at": expired_at,
                    "outcome": what,
                    "role": role,
                    "level": row["level"],
                    "required_roles": json.loads(row["required_roles"]),
                },
                conn=conn,
            )
        base = DecisionOutcome(
            review_id=row["id"],
            thread_id=row["thread_id"],
            status="queued",
            notes=(f"expired: {what}",),
        )
        out.append(service.carry(base, "escalated" if what != "denied" else "resumed", None))
    return out


def resolve_in_doubt(
    service: DecisionService, review_id: str, *, ran: bool, reviewer: Reviewer, note: str
) -> str:
    """Close an in-doubt execution: it ran (succeeded) or it did not (failed). The outcome."""
    who: object = reviewer  # callers outside mypy may pass anything
    if not isinstance(who, Reviewer):
        msg = "resolving needs an authenticated Reviewer (rt.reviewers.authenticate)."
        raise AuthorizationError(msg)
    with service.db.connection() as conn:
        row = service.inbox.row(conn, review_id)
    if row["kind"] != "in_doubt":
        msg = f"review {row['id']} is a proposal, not an execution in doubt: use decide."
        raise DecisionError(msg)
    if row["status"] != "pending":
        msg = f"review {row['id']} was already resolved: {row['outcome']}."
        raise ConflictError(msg)
    roles = json.loads(row["required_roles"] or "[]")
    if not qualifies(service.policy, reviewer.roles, {"required_approval": {"roles": roles}}):
        msg = (
            f"{reviewer.name} may not resolve review {row['id']}: it needs "
            f"{' or '.join(roles)}; {reviewer.name} holds {', '.join(reviewer.roles)}."
        )
        raise AuthorizationError(msg)
    note = str(note or "")[:2000]
    outcome = "resolved: it ran" if ran else "resolved: it did not run"
    key = json.loads(row["payload"]).get("execution_key")
    now = service.clock()
    with service.db.transaction() as conn:
        changed = conn.execute(
            "UPDATE interlock_reviews SET status = 'decided', decided_at = ?, decided_by = ?, "
            "outcome = ?, resumed_at = ? WHERE id = ? AND status = 'pending'",
            (now, reviewer.name, outcome + (f" ({note})" if note else ""), now, row["id"]),
        )
        if changed != 1:
            msg = f"review {row['id']} was resolved by someone else first."
            raise ConflictError(msg)
        conn.execute(
            "UPDATE interlock_executions SET status = ?, finished_at = ?, "
            "result = CASE WHEN ? = 'succeeded' THEN ? ELSE result END, "
            "error = CASE WHEN ? = 'failed' THEN ? ELSE error END "
            "WHERE digest = ? AND status = 'in_doubt'",
            (
                "succeeded" if ran else "failed",
                now,
                "succeeded" if ran else "failed",
                note,
                "succeeded" if ran else "failed",
                note,
                key,
            ),
        )
        service.audit.append(
            "in_doubt_resolved",
            actor=reviewer.name,
            thread_id=row["thread_id"],
            review_id=row["id"],
            data={"ran": ran, "note": note, "execution_key": key, "tool": row["tool"]},
            conn=conn,
        )
    return outcome
