"""The inbox's value types: one row of the inbox, one review in full, one decision."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from interlock.risk import Policy
from interlock.runtime._db import Conn, from_db_ts
from interlock.runtime._timeline import TimelineEntry

if TYPE_CHECKING:
    from interlock.nodes import ReviewRequest

__all__ = [
    "DecisionRow",
    "ReconcileResult",
    "ReviewDetail",
    "ReviewStatus",
    "ReviewSummary",
    "approvals_of",
    "rung_of",
    "summary_of",
]

ReviewStatus = Literal["pending", "decided", "expired", "escalated", "cancelled", "in_doubt"]


@dataclass(frozen=True, kw_only=True)
class ReviewSummary:
    """One row of the inbox."""

    id: str
    thread_id: str
    graph: str
    status: ReviewStatus
    level: str
    score: int
    tool: str
    target: str
    environment: str | None
    agent: str | None
    requester: str | None
    created_at: datetime
    expires_at: datetime | None
    required_roles: tuple[str, ...]
    required_count: int
    approvals: tuple[str, ...]
    """Reviewers who approved so far (N-of-M progress)."""
    escalated_to: str | None
    action_count: int
    kind: str = "review"
    """`review` (a live interrupt) or `in_doubt` (an execution whose outcome is unknown)."""
    round: int = 1
    outcome: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    next_review_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("created_at", "expires_at", "decided_at"):
            out[key] = out[key].isoformat() if out[key] else None
        out["required_roles"] = list(self.required_roles)
        out["approvals"] = list(self.approvals)
        return out


@dataclass(frozen=True, kw_only=True)
class DecisionRow:
    """One recorded decision (the decision service is its only writer)."""

    id: str
    review_id: str
    action_index: int
    reviewer: str
    type: str
    settles: bool
    """True when this decision settled its action (the last approval of N, or any other)."""
    digest: str | None
    payload: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True, kw_only=True)
class ReviewDetail:
    summary: ReviewSummary
    request: ReviewRequest
    """The interrupt payload (for an in-doubt row: what is known about the execution)."""
    decisions: tuple[DecisionRow, ...] = ()
    timeline: tuple[TimelineEntry, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary.to_dict(),
            "request": dict(self.request),
            "decisions": [d.to_dict() for d in self.decisions],
            "timeline": [t.to_dict() for t in self.timeline],
        }


@dataclass(frozen=True, kw_only=True)
class ReconcileResult:
    cancelled: tuple[str, ...] = ()
    """Pending rows whose interrupt was no longer live."""
    registered: tuple[str, ...] = ()
    """Live review interrupts that had no row."""


def summary_of(row: Mapping[str, Any], approvals: Sequence[str] = ()) -> ReviewSummary:
    created = from_db_ts(row["created_at"])
    assert created is not None
    status = row["status"]
    if row["kind"] == "in_doubt" and status == "pending":
        status = "in_doubt"
    return ReviewSummary(
        id=row["id"],
        thread_id=row["thread_id"],
        graph=row["graph"] or "",
        status=status,
        level=row["level"],
        score=int(row["score"] or 0),
        tool=row["tool"],
        target=row["target"] or "",
        environment=row["environment"],
        agent=row["agent"],
        requester=row["requester"],
        created_at=created,
        expires_at=from_db_ts(row["expires_at"]),
        required_roles=tuple(json.loads(row["required_roles"] or "[]")),
        required_count=int(row["required_count"]),
        approvals=tuple(approvals),
        escalated_to=row["escalated_to"],
        action_count=int(row["action_count"]),
        kind=row["kind"],
        round=int(row["round"]),
        outcome=row["outcome"],
        decided_by=row["decided_by"],
        decided_at=from_db_ts(row["decided_at"]),
        next_review_id=row["next_review_id"],
    )


def approvals_of(conn: Conn, ids: Sequence[str]) -> dict[str, list[str]]:
    """Who approved each review so far, in order."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = conn.all(
        f"SELECT review_id, reviewer FROM interlock_decisions WHERE review_id IN ({marks}) "
        "AND type = 'approve' ORDER BY created_at, id",
        tuple(ids),
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        names = out.setdefault(r["review_id"], [])
        if r["reviewer"] not in names:
            names.append(r["reviewer"])
    return out


def rung_of(policy: Policy, roles: Sequence[str]) -> int:
    ranks = [policy.rank(r) for r in roles if policy.rank(r) >= 0]
    return min(ranks) if ranks else (1000 if roles else 0)
