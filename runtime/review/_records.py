"""Review rows: registering a thread's live interrupts, and reading what is live.

A row is written after the graph stopped (never from inside a node), from the interrupt
payload as LangGraph stored it. `live_interrupts` reads the thread's latest checkpoint
through the checkpointer's own API (one indexed lookup), which is how the decision service
checks that a review is still current and how `reconcile` finds stale rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from interlock.risk import LEVELS, Policy, canonical_json
from interlock.runtime.store._db import Conn

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from interlock.nodes import Approval
    from interlock.runtime.audit.log import AuditLog

__all__ = [
    "APPROVAL_COLUMNS",
    "IN_DOUBT_COUNT",
    "PENDING_INTERRUPTS",
    "REVIEW_COLUMNS",
    "SUMMARY_COLUMNS",
    "LiveState",
    "action_rung",
    "cancel_stale",
    "in_doubt_count",
    "insert_approval",
    "live_interrupts",
    "new_id",
    "pending_ids",
    "qualifies",
    "reconcile",
    "register_interrupts",
    "review_fields",
    "target_of",
]

SUMMARY_COLUMNS = (
    "id, thread_id, checkpoint_ns, checkpoint_id, interrupt_id, round, status, level, score, "
    "environment, tool, action_count, agent, requester, required_roles, required_count, "
    "escalated_to, policy_version, created_at, expires_at, decided_at, resumed_at, "
    "graph, target, kind, rung, outcome, decided_by, next_review_id, team"
)
"""Everything but the payload: what a list needs."""
REVIEW_COLUMNS = f"{SUMMARY_COLUMNS}, payload"
_OFF_LADDER = 1000


def new_id(prefix: str = "rv") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def action_rung(policy: Policy, action: Mapping[str, Any]) -> int:
    """The lowest rung of the ladder that may decide `action` (a ReviewRequest action)."""
    need = action.get("required_approval") or {}
    ranks = [policy.rank(r) for r in need.get("roles") or []]
    on = [r for r in ranks if r >= 0]
    if on:
        return min(on)
    return _OFF_LADDER if ranks else 0


def qualifies(policy: Policy, roles: Iterable[str], action: Mapping[str, Any]) -> bool:
    """True when someone holding `roles` may decide `action`: a required role, or a role at
    or above the required rung of the policy's seniority ladder."""
    need = action.get("required_approval") or {}
    wanted = set(need.get("roles") or [])
    rung = action_rung(policy, action)
    return any(r in wanted or (0 <= rung <= policy.rank(r)) for r in roles)


def target_of(action: Mapping[str, Any]) -> str:
    res = action.get("resource") or {}
    if res.get("type") or res.get("id"):
        return f"{res.get('type', '')} {res.get('id', '')}".strip()
    return str(action.get("environment") or "")


def review_fields(request: Mapping[str, Any], policy: Policy, now: datetime) -> dict[str, Any]:
    """The indexed columns of a review, from its ReviewRequest payload."""
    actions: Sequence[Mapping[str, Any]] = request.get("action_requests") or []
    views = [a.get("assessment") or {} for a in actions]
    levels = [v.get("level") for v in views if v.get("level") in LEVELS]
    level = max(levels, key=LEVELS.index) if levels else "high"
    # The strictest action decides who sees the review.
    strict = max(actions, key=lambda a: action_rung(policy, a), default={})
    need = strict.get("required_approval") or {}
    counts = [int((a.get("required_approval") or {}).get("count") or 1) for a in actions]
    first = actions[0] if actions else {}
    target = target_of(first)
    if len(actions) > 1:
        target = f"{target} (+{len(actions) - 1} more)"
    expires = request.get("expires_at")
    opened = request.get("opened_at")
    return {
        "level": level,
        "score": max((int(v.get("score") or 0) for v in views), default=0),
        "tool": str(first.get("name") or "?"),
        "target": target,
        "environment": first.get("environment"),
        "action_count": max(1, len(actions)),
        "required_roles": canonical_json(list(need.get("roles") or policy.roles)),
        "required_count": max(counts, default=1),
        "rung": max((action_rung(policy, a) for a in actions), default=0),
        "escalated_to": request.get("escalated_to"),
        "policy_version": request.get("policy_version"),
        "created_at": datetime.fromisoformat(opened) if opened else now,
        "expires_at": datetime.fromisoformat(expires) if expires else None,
        "round": int(request.get("round") or 1),
        # Who is told (the policy's route); a payload from before routes has none.
        "team": request.get("team"),
    }


APPROVAL_COLUMNS = (
    "digest, review_id, thread_id, action_index, reviewers, issued_at, expires_at, "
    "consumed_at, tool, interrupt_id, tool_call_id, roles, policy_version, key_id, signature"
)


def insert_approval(conn: Conn, approval: Approval, *, review_id: str, action_index: int) -> None:
    """One unused approval row (sent with the caller's transaction), signature included."""
    conn.send(
        f"INSERT INTO interlock_approvals ({APPROVAL_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
        (
            approval.digest,
            review_id,
            approval.thread_id,
            action_index,
            canonical_json(list(approval.reviewers)),
            approval.issued_at,
            approval.expires_at,
            approval.tool,
            approval.interrupt_id,
            approval.tool_call_id,
            canonical_json(list(approval.roles)),
            approval.policy_version,
            approval.key_id,
            approval.signature,
        ),
    )


def insert_review(conn: Conn, row: Mapping[str, Any]) -> None:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT INTO interlock_reviews ({cols}) VALUES ({marks})", tuple(row.values()))


@dataclass(frozen=True, kw_only=True)
class LiveState:
    """What a thread's latest checkpoint says: its id and the interrupts pending on it."""

    checkpoint_id: str | None
    interrupts: Mapping[str, Any]
    """interrupt id -> payload."""


def live_interrupts(saver: BaseCheckpointSaver[str], thread_id: str) -> LiveState:
    """The latest root checkpoint of `thread_id` and the interrupts written on it (subgraph
    interrupts bubble up to the root checkpoint's pending writes)."""
    tup = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    if tup is None:
        return LiveState(checkpoint_id=None, interrupts={})
    found: dict[str, Any] = {}
    for _task, channel, value in tup.pending_writes or ():
        if channel != "__interrupt__":
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            iid = getattr(item, "id", None)
            if iid is not None:
                found[str(iid)] = getattr(item, "value", None)
    return LiveState(
        checkpoint_id=str(tup.config["configurable"].get("checkpoint_id")), interrupts=found
    )


def is_review(value: Any) -> bool:
    return isinstance(value, dict) and value.get("kind") == "interlock.review"


def register_interrupts(
    conn: Conn,
    audit: AuditLog,
    policy: Policy,
    *,
    thread_id: str,
    graph: str,
    checkpoint_id: str | None,
    interrupts: Sequence[tuple[str, str, Any]],
    agent: str | None,
    requester: str | None,
    now: datetime,
) -> list[str]:
    """One row per Interlock review interrupt `(checkpoint_ns, interrupt_id, payload)`;
    idempotent (an interrupt seen before keeps its row). The review ids, in order, those
    opened now first: a thread may wait at several interrupts at once (InterlockMiddleware
    stops each held call in its own tool task), and the review a resume opens (an
    escalation's next round) comes before its still-pending siblings (`next_review_id`)."""
    ids: list[str] = []
    seen: list[str] = []
    for ns, iid, payload in interrupts:
        if not is_review(payload):
            continue
        fields = review_fields(payload, policy, now)
        found = conn.one(
            "SELECT id FROM interlock_reviews WHERE thread_id = ? AND interrupt_id = ? "
            "AND round = ? AND kind = 'review'",
            (thread_id, iid, fields["round"]),
        )
        if found is not None:
            seen.append(str(found["id"]))
            continue
        rid = new_id()
        insert_review(
            conn,
            {
                "id": rid,
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
                "interrupt_id": iid,
                "status": "pending",
                "agent": agent,
                "requester": requester,
                "payload": canonical_json(payload),
                "graph": graph,
                "kind": "review",
                **fields,
            },
        )
        audit.append(
            "review_opened",
            actor=agent or "agent",
            thread_id=thread_id,
            review_id=rid,
            data={
                "interrupt_id": iid,
                "level": fields["level"],
                "score": fields["score"],
                "tool": fields["tool"],
                "target": fields["target"],
                "required_roles": json.loads(fields["required_roles"]),
                "required_count": fields["required_count"],
                "policy_version": fields["policy_version"],
                "round": fields["round"],
                "team": fields["team"],
                "digests": [a.get("digest") for a in payload.get("action_requests") or []],
            },
            conn=conn,
        )
        ids.append(rid)
    return [*ids, *seen]


PENDING_INTERRUPTS = (
    "SELECT id, interrupt_id FROM interlock_reviews WHERE thread_id = ? "
    "AND status = 'pending' AND kind = 'review'"
)
"""A thread's pending review rows and their interrupts (what `cancel_stale` reads)."""
IN_DOUBT_COUNT = (
    "SELECT count(*) AS n FROM interlock_reviews WHERE thread_id = ? "
    "AND status = 'pending' AND kind = 'in_doubt'"
)


def cancel_stale(
    conn: Conn,
    audit: AuditLog,
    thread_id: str,
    live: set[str],
    now: datetime,
    *,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> list[str]:
    """Pending review rows of `thread_id` whose interrupt is no longer live: cancelled.
    `rows`: what `PENDING_INTERRUPTS` returned in this transaction, when the caller read it."""
    if rows is None:
        rows = conn.all(PENDING_INTERRUPTS, (thread_id,))
    gone = [r["id"] for r in rows if r["interrupt_id"] not in live]
    # Every row lock first, then the audit head: the order the decision service locks in.
    done = [
        rid
        for rid in gone
        if conn.execute(
            "UPDATE interlock_reviews SET status = 'cancelled', outcome = ?, decided_at = ? "
            "WHERE id = ? AND status = 'pending'",
            ("the thread moved on: its interrupt is no longer pending", now, rid),
        )
    ]
    for rid in done:
        audit.append(
            "review_cancelled",
            actor="interlock-reconcile",
            thread_id=thread_id,
            review_id=rid,
            data={"reason": "interrupt no longer pending on the latest checkpoint"},
            conn=conn,
        )
    return gone


def reconcile(
    conn: Conn,
    audit: AuditLog,
    policy: Policy,
    saver: BaseCheckpointSaver[str],
    thread_ids: Sequence[str],
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Make the pending rows of `thread_ids` match their latest checkpoints: cancel rows
    whose interrupt is gone, register live review interrupts that have no row. Returns
    (cancelled ids, registered ids)."""
    cancelled: list[str] = []
    registered: list[str] = []
    for tid in thread_ids:
        live = live_interrupts(saver, tid)
        cancelled += cancel_stale(conn, audit, tid, set(live.interrupts), now)
        thread = conn.one(
            "SELECT graph, agent, requester FROM interlock_threads WHERE thread_id = ?", (tid,)
        )
        known = {
            r["interrupt_id"]
            for r in conn.all(
                "SELECT interrupt_id FROM interlock_reviews WHERE thread_id = ?", (tid,)
            )
        }
        fresh = [("", iid, v) for iid, v in live.interrupts.items() if iid not in known]
        if fresh:
            registered += register_interrupts(
                conn,
                audit,
                policy,
                thread_id=tid,
                graph=thread["graph"] if thread else "",
                checkpoint_id=live.checkpoint_id,
                interrupts=fresh,
                agent=thread["agent"] if thread else None,
                requester=thread["requester"] if thread else None,
                now=now,
            )
    return cancelled, registered


def pending_ids(conn: Conn, thread_id: str) -> tuple[str, ...]:
    """The thread's pending reviews, oldest first."""
    rows = conn.all(
        "SELECT id FROM interlock_reviews WHERE thread_id = ? AND status = 'pending' "
        "AND kind = 'review' ORDER BY created_at, id",
        (thread_id,),
    )
    return tuple(r["id"] for r in rows)


def in_doubt_count(conn: Conn, thread_id: str) -> int:
    """How many of the thread's actions wait for a human to say whether they ran."""
    return int(conn.scalar(IN_DOUBT_COUNT, (thread_id,)))
