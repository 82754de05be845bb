"""The inbox's value types: one row of the inbox, one review in full, one decision."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from interlock.risk import Policy
from interlock.runtime.review._timeline import TimelineEntry
from interlock.runtime.store._db import Conn, from_db_ts, iso_utc

if TYPE_CHECKING:
    from interlock.nodes import ReviewRequest

__all__ = [
    "ACTION_COUNT",
    "LIST_COLUMNS",
    "REQUIRED_COUNT",
    "DecisionRow",
    "ReconcileResult",
    "ReviewDetail",
    "ReviewStatus",
    "ReviewSummary",
    "approvals_of",
    "fetch_rows",
    "rung_of",
    "summaries_of",
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
    team: str | None = None
    """The team told about it (the policy's route); None when the policy has no routes.
    Who may decide is `required_roles`, never the team."""

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


LIST_COLUMNS = (
    "id, thread_id, graph, status, level, score, tool, target, environment, agent, requester, "
    "created_at, expires_at, required_roles, required_count, escalated_to, action_count, kind, "
    "round, outcome, decided_by, decided_at, next_review_id, team"
)
"""What one `ReviewSummary` is built from, in the order `summaries_of` unpacks."""
_NAMES = tuple(LIST_COLUMNS.replace(" ", "").split(","))
REQUIRED_COUNT, ACTION_COUNT = _NAMES.index("required_count"), _NAMES.index("action_count")

_new = object.__new__
_set = object.__setattr__


def _utc(value: Any) -> datetime | None:
    # Both drivers give aware UTC datetimes (SQLite through its converter, psycopg because
    # the pool's sessions are in UTC): then nothing is left to do.
    if value is None:
        return None
    if type(value) is datetime:
        zone = value.tzinfo
        if zone is UTC:
            return value
        if zone is not None:
            return value.astimezone(UTC)
    return from_db_ts(value)


class _Roles(dict[str, tuple[str, ...]]):
    """Parsed `required_roles` texts: one list holds only a handful of distinct ones."""

    def __missing__(self, text: str) -> tuple[str, ...]:
        value = tuple(json.loads(text or "[]"))
        self[text] = value
        return value


def summaries_of(
    rows: Iterable[Sequence[Any]], approvals: Mapping[str, Sequence[str]] | None = None
) -> list[ReviewSummary]:
    """Inbox rows from `LIST_COLUMNS` tuples; `approvals` by review id (N-of-M progress).

    A list holds up to thousands of rows, so each summary is filled in through its
    `__dict__` (what the frozen dataclass's own `__init__` ends up with, without one
    `object.__setattr__` per field) and each distinct roles text is parsed once."""
    roles = _Roles()
    approved = approvals or {}
    out = []
    for (
        rid,
        thread_id,
        graph,
        status,
        level,
        score,
        tool,
        target,
        environment,
        agent,
        requester,
        created_at,
        expires_at,
        required_roles,
        required_count,
        escalated_to,
        action_count,
        kind,
        round_,
        outcome,
        decided_by,
        decided_at,
        next_review_id,
        team,
    ) in rows:
        created = _utc(created_at)
        assert created is not None
        summary = _new(ReviewSummary)
        _set(
            summary,
            "__dict__",
            {
                "id": rid,
                "thread_id": thread_id,
                "graph": graph or "",
                "status": "in_doubt" if kind == "in_doubt" and status == "pending" else status,
                "level": level,
                "score": int(score or 0),
                "tool": tool,
                "target": target or "",
                "environment": environment,
                "agent": agent,
                "requester": requester,
                "created_at": created,
                "expires_at": _utc(expires_at),
                "required_roles": roles[required_roles],
                "required_count": int(required_count),
                "approvals": tuple(approved.get(rid, ())),
                "escalated_to": escalated_to,
                "action_count": int(action_count),
                "kind": kind,
                "round": int(round_),
                "outcome": outcome,
                "decided_by": decided_by,
                "decided_at": _utc(decided_at),
                "next_review_id": next_review_id,
                "team": team,
            },
        )
        out.append(summary)
    return out


def summary_of(row: Mapping[str, Any], approvals: Sequence[str] = ()) -> ReviewSummary:
    """One inbox row from a review row (a mapping holding at least `LIST_COLUMNS`)."""
    (summary,) = summaries_of([[row[c] for c in _NAMES]], {row["id"]: approvals})
    return summary


def fetch_rows(conn: Conn, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
    """The rows of `sql` as plain sequences in column order: no dict per row."""
    if conn.dialect == "postgres":
        from psycopg.rows import tuple_row

        with conn.raw.cursor(row_factory=tuple_row) as cur:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
            return list(cur.fetchall())
    values = [iso_utc(p) if isinstance(p, datetime) else p for p in params]
    return list(conn.raw.execute(sql, values).fetchall())


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
