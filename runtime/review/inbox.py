"""The review inbox: the read side. Lists come from `interlock_reviews` in SQL only (the
partial index on pending rows), never from scanning checkpoints.

A pending row always stands for a live interrupt on its thread's latest checkpoint: rows
are written after the graph stopped, the decision service re-checks that the interrupt is
still live before accepting a decision, and `reconcile()` cancels rows whose interrupt went
away behind the runtime's back (and registers live interrupts that have no row). Rows of
kind `in_doubt` are the exception: they stand for an execution whose outcome is unknown,
waiting for a human to say what happened (`DecisionService.resolve`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from interlock.risk import LEVELS, Policy
from interlock.risk.errors import ConfigError, NotFoundError
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.review._records import REVIEW_COLUMNS, reconcile
from interlock.runtime.review._summaries import (
    ACTION_COUNT,
    LIST_COLUMNS,
    REQUIRED_COUNT,
    DecisionRow,
    ReconcileResult,
    ReviewDetail,
    ReviewSummary,
    approvals_of,
    fetch_rows,
    rung_of,
    summaries_of,
    summary_of,
)
from interlock.runtime.review._timeline import TimelineEntry, timeline
from interlock.runtime.review.reviewers import Reviewer
from interlock.runtime.store._db import Conn, from_db_ts
from interlock.runtime.store._schema_v3 import LEVEL_RANK, URGENCY_ORDER
from interlock.runtime.store.database import Database

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from interlock.nodes import ReviewRequest

__all__ = [
    "DecisionRow",
    "Inbox",
    "InboxFilters",
    "ReconcileResult",
    "ReviewDetail",
    "ReviewSummary",
    "SortKey",
    "TimelineEntry",
]

SortKey = Literal["urgency", "age", "expiry", "level"]
# "urgency" (the default) is spelled exactly as schema v3 indexes it.
_MIN_PREFIX = 6
"""Characters of a review id (its `rv-` included) that may stand for the whole id."""

_SORTS: Mapping[str, str] = {
    "urgency": URGENCY_ORDER,
    "age": "created_at, id",
    "expiry": "(expires_at IS NULL), expires_at, created_at, id",
    "level": f"{LEVEL_RANK}, created_at, id",
}


class InboxFilters(TypedDict, total=False):
    """What `Inbox.pending` and `Inbox.count` filter on; every key is optional."""

    level: str | Sequence[str] | None
    """One level or several (`critical`, `high`, ...)."""
    environment: str | None
    tool: str | None
    role: str | None
    """Only reviews this role may decide."""
    reviewer: Reviewer | None
    """Only reviews this reviewer may decide."""
    expiring_within: timedelta | None
    min_age: timedelta | None
    thread_id: str | None
    team: str | Sequence[str] | None
    """One team or several (a reviewer's teams, `NotifyConfig.teams_of`): reviews the policy
    routed there. It narrows what is shown; who may decide is still `role`/`reviewer`. An
    empty sequence matches nothing."""


class Inbox:
    """Pending reviews, filtered and sorted in SQL; one review in full."""

    def __init__(
        self,
        db: Database,
        policy: Policy,
        checkpointer: Callable[[], BaseCheckpointSaver[str]],
        clock: Callable[[], datetime],
        audit: AuditLog,
    ) -> None:
        self.db, self.policy, self._checkpointer, self.clock = db, policy, checkpointer, clock
        self.audit = audit

    def _where(self, filters: InboxFilters) -> tuple[str, list[Any]]:
        level, role, reviewer = filters.get("level"), filters.get("role"), filters.get("reviewer")
        where: list[str] = ["status = 'pending'"]
        params: list[Any] = []
        if level is not None:
            wanted = [level] if isinstance(level, str) else list(level)
            bad = [lv for lv in wanted if lv not in LEVELS]
            if bad or not wanted:
                msg = f"unknown level(s) {bad or wanted}; choose from {', '.join(LEVELS)}."
                raise ConfigError(msg)
            where.append(f"level IN ({', '.join('?' for _ in wanted)})")
            params += wanted
        for column in ("environment", "tool", "thread_id"):
            value = filters.get(column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        team = filters.get("team")
        if team is not None:
            teams = [team] if isinstance(team, str) else list(dict.fromkeys(team))
            where.append(f"team IN ({', '.join('?' for _ in teams)})" if teams else "1 = 0")
            params += teams
        roles = [role] if role is not None else list(reviewer.roles) if reviewer else []
        if role is not None or reviewer is not None:
            ors = []
            for r in roles:
                rank = self.policy.rank(r)
                if rank >= 0:
                    ors.append("rung <= ?")
                    params.append(rank)
                ors.append("required_roles LIKE ?")
                params.append(f'%"{r}"%')
            where.append(f"({' OR '.join(ors) or '1 = 0'})")
        if reviewer is not None:
            where.append("coalesce(requester, '') <> ? AND coalesce(agent, '') <> ?")
            params += [reviewer.name, reviewer.name]
            where.append(
                "NOT EXISTS (SELECT 1 FROM interlock_decisions d "
                "WHERE d.review_id = interlock_reviews.id AND d.reviewer = ?)"
            )
            params.append(reviewer.name)
        now = self.clock()
        expiring_within, min_age = filters.get("expiring_within"), filters.get("min_age")
        if expiring_within is not None:
            where.append("expires_at IS NOT NULL AND expires_at <= ?")
            params.append(now + expiring_within)
        if min_age is not None:
            where.append("created_at <= ?")
            params.append(now - min_age)
        return " AND ".join(where), params

    def pending(
        self,
        *,
        sort: SortKey = "urgency",
        limit: int = 200,
        offset: int = 0,
        **filters: Unpack[InboxFilters],
    ) -> list[ReviewSummary]:
        """Pending reviews (and in-doubt executions), most urgent first by default:
        critical first, then the soonest expiry, then the oldest."""
        if sort not in _SORTS:
            msg = f"unknown sort {sort!r}; choose from {', '.join(_SORTS)}."
            raise ConfigError(msg)
        if not (0 < limit <= 10_000) or offset < 0:
            msg = f"limit must be 1-10000 and offset >= 0, got limit={limit}, offset={offset}."
            raise ConfigError(msg)
        where, params = self._where(filters)
        with self.db.connection() as conn:
            rows = fetch_rows(
                conn,
                f"SELECT {LIST_COLUMNS} FROM interlock_reviews WHERE {where} "
                f"ORDER BY {_SORTS[sort]} LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            # A pending row has approvals only while it waits for more: N-of-M, or other
            # actions of the same review still undecided.
            partial = [r[0] for r in rows if r[REQUIRED_COUNT] > 1 or r[ACTION_COUNT] > 1]
            approved = approvals_of(conn, partial)
        return summaries_of(rows, approved)

    def count(self, **filters: Unpack[InboxFilters]) -> int:
        """How many reviews `pending()` would list with the same filters."""
        where, params = self._where(filters)
        with self.db.connection() as conn:
            return int(
                conn.scalar(f"SELECT count(*) AS n FROM interlock_reviews WHERE {where}", params)
            )

    def row(self, conn: Conn, review_id: str) -> dict[str, Any]:
        """The review row for an id or a unique prefix of one (at least `_MIN_PREFIX`
        characters, the `rv-` included)."""
        text = str(review_id).strip()
        row = conn.one(f"SELECT {REVIEW_COLUMNS} FROM interlock_reviews WHERE id = ?", (text,))
        shown = text if len(text) <= 80 else text[:77] + "..."
        hint = "List the open ones with `interlock pending` and use an id from the first column."
        prefix = text.replace("-", "").isalnum()  # no LIKE wildcards in it
        if row is None and prefix and len(text) >= _MIN_PREFIX:
            found = conn.all(
                f"SELECT {REVIEW_COLUMNS} FROM interlock_reviews WHERE id LIKE ? "
                "ORDER BY id LIMIT 3",
                (f"{text}%",),
            )
            if len(found) > 1:
                ids = ", ".join(str(r["id"]) for r in found[:2])
                msg = (
                    f"{shown!r} is the start of more than one review ({ids}"
                    f"{', ...' if len(found) > 2 else ''}); give more of the id."
                )
                raise NotFoundError(msg)
            row = found[0] if found else None
        if row is None and prefix and len(text) < _MIN_PREFIX:
            msg = (
                f"no review {shown!r}: an id may be shortened to its first {_MIN_PREFIX} "
                f"characters or more (e.g. 'rv-3f9a'), no fewer. {hint}"
            )
            raise NotFoundError(msg)
        if row is None:
            msg = f"no review {shown!r}. {hint}"
            raise NotFoundError(msg)
        return row

    def summary(self, review_id: str) -> ReviewSummary:
        with self.db.connection() as conn:
            row = self.row(conn, review_id)
            return summary_of(row, approvals_of(conn, [row["id"]]).get(row["id"], ()))

    def get(self, review_id: str) -> ReviewDetail:
        """One review in full: its request, the decisions so far, and the thread's history."""
        with self.db.snapshot() as conn:
            row = self.row(conn, review_id)
            rid = row["id"]
            summary = summary_of(row, approvals_of(conn, [rid]).get(rid, ()))
            decisions = tuple(
                DecisionRow(
                    id=d["id"],
                    review_id=d["review_id"],
                    action_index=int(d["action_index"]),
                    reviewer=d["reviewer"],
                    type=d["type"],
                    settles=bool(d["settles"]),
                    digest=d["digest"],
                    payload=json.loads(d["payload"]),
                    created_at=from_db_ts(d["created_at"]) or summary.created_at,
                )
                for d in conn.all(
                    "SELECT id, review_id, action_index, reviewer, type, settles, digest, "
                    "payload, created_at FROM interlock_decisions WHERE review_id = ? "
                    "ORDER BY created_at, id",
                    (rid,),
                )
            )
            events = timeline(conn, self._checkpointer(), row["thread_id"])
        request: ReviewRequest = json.loads(row["payload"])
        return ReviewDetail(
            summary=summary, request=request, decisions=decisions, timeline=tuple(events)
        )

    def can_decide(self, summary: ReviewSummary, reviewer: Reviewer) -> bool:
        """The reviewer holds a role at or above the required rung, is not the requester
        or the agent, and has not approved this review already."""
        if summary.status not in ("pending", "in_doubt"):
            return False
        if reviewer.name in (summary.requester, summary.agent):
            return False
        if reviewer.name in summary.approvals:
            return False
        rung = rung_of(self.policy, summary.required_roles)
        return any(
            r in summary.required_roles or 0 <= rung <= self.policy.rank(r) for r in reviewer.roles
        )

    def reconcile(self, thread_id: str | None = None) -> ReconcileResult:
        """Fix rows that no longer match their thread (one thread, or every thread with a
        pending review): the only inbox call that reads checkpoints, one per thread."""
        with self.db.connection() as conn:
            if thread_id is not None:
                threads = [thread_id]
            else:
                threads = [
                    r["thread_id"]
                    for r in conn.all(
                        "SELECT DISTINCT thread_id FROM interlock_reviews "
                        "WHERE status = 'pending' AND kind = 'review'"
                    )
                ]
        saver = self._checkpointer()
        with self.db.transaction() as conn:
            cancelled, registered = reconcile(
                conn, self.audit, self.policy, saver, threads, self.clock()
            )
        return ReconcileResult(cancelled=tuple(cancelled), registered=tuple(registered))
