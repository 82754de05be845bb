"""An execution in doubt, put in front of a human as a review of its own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from interlock.risk import Policy, canonical_json
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.review._records import insert_review, new_id
from interlock.runtime.store._db import Conn, from_db_ts

__all__ = ["open_in_doubt_review"]


def open_in_doubt_review(
    conn: Conn,
    audit: AuditLog,
    policy: Policy,
    row: Mapping[str, Any],
    detail: str,
    now: datetime,
) -> None:
    """Open a review asking a human what happened to the execution-ledger `row`, with what
    is known: the original review's action and assessment when it can be found."""
    origin = None
    review_id = row["review_id"]
    if not review_id and row["action_digest"]:
        # An attempt opened without consuming (a retry): the approval still names it.
        found = conn.one(
            "SELECT review_id FROM interlock_approvals WHERE digest = ?",
            (row["action_digest"],),
        )
        review_id = found["review_id"] if found else None
    if review_id:
        origin = conn.one(
            "SELECT id, level, score, environment, target, required_roles, required_count, "
            "rung, payload, graph, agent, requester, team FROM interlock_reviews WHERE id = ?",
            (review_id,),
        )
    thread = conn.one(
        "SELECT graph, agent, requester FROM interlock_threads WHERE thread_id = ?",
        (row["thread_id"],),
    )
    action: dict[str, Any] = {"name": row["tool"], "args": {}, "description": detail}
    if origin is not None:
        for a in json.loads(origin["payload"]).get("action_requests") or []:
            if a.get("tool_call_id") == row["tool_call_id"]:
                action = {**a, "description": detail}
    started = from_db_ts(row["started_at"])
    request = {
        "action_requests": [action],
        "review_configs": [{"action_name": row["tool"], "allowed_decisions": []}],
        "kind": "interlock.in_doubt",
        "thread_id": row["thread_id"],
        "execution_key": row["digest"],
        "digest": row["action_digest"],
        "started_at": started.isoformat() if started else None,
        "notes": [detail],
        "origin_review_id": origin["id"] if origin else None,
    }
    src: Mapping[str, Any] = origin or thread or {}
    rid = new_id()
    insert_review(
        conn,
        {
            "id": rid,
            "thread_id": row["thread_id"],
            "checkpoint_ns": "",
            "interrupt_id": f"in-doubt:{row['digest']}",
            "round": 1,
            "status": "pending",
            "level": origin["level"] if origin else "high",
            "score": origin["score"] if origin else None,
            "environment": origin["environment"] if origin else None,
            "tool": row["tool"],
            "target": origin["target"] if origin else None,
            "agent": src.get("agent"),
            "requester": src.get("requester"),
            "graph": src.get("graph"),
            "required_roles": origin["required_roles"]
            if origin
            else canonical_json(list(policy.roles)),
            "required_count": 1,
            "rung": origin["rung"] if origin else 0,
            "created_at": now,
            "payload": canonical_json(request),
            "kind": "in_doubt",
            # The team of the review that approved it, else the policy's default team.
            "team": origin["team"] if origin else policy.default_team,
        },
    )
    audit.append(
        "review_opened",
        actor="interlock-executor",
        thread_id=row["thread_id"],
        review_id=rid,
        digest=row["action_digest"],
        data={"kind": "in_doubt", "tool": row["tool"], "detail": detail},
        conn=conn,
    )
