"""Schema version 8: the inbox index carries the review's team again.

Schema v7 added `interlock_reviews.team` and the inbox lists it, but v3's covering index
(`interlock_reviews_inbox`) did not include it: every page had to visit the heap for each
pending row, and the planner stopped using the index at all, scanning every pending row and
sorting them instead (with 1,000 pending among 100,000 reviews: 3 ms for a page of 200
instead of 0.15 ms). The index is rebuilt with the same keys and `team` in its INCLUDE list.
Its size is bounded by the pending rows, so the rebuild is quick. SQLite has no INCLUDE
and keeps v3's index.

`INBOX_COVERED` names every column the index holds (keys and INCLUDE), so a test can check
that what the inbox selects is covered: a column added to the list must be added here, in a
new version.
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step
from interlock.runtime.store._schema_v3 import LEVEL_RANK

__all__ = ["INBOX_COVERED", "V8"]

_KEYS = f"(({LEVEL_RANK}), (expires_at IS NULL), expires_at, created_at, id)"
_LISTED = (
    "thread_id, graph, status, level, score, tool, target, environment, agent, requester, "
    "required_roles, required_count, escalated_to, action_count, kind, round, outcome, "
    "decided_by, decided_at, next_review_id, team"
)
INBOX_COVERED: frozenset[str] = frozenset(
    ["expires_at", "created_at", "id", *_LISTED.replace(" ", "").split(",")]
)
"""The columns an index-only scan of `interlock_reviews_inbox` can return (Postgres)."""

V8: tuple[Step, ...] = (
    {"postgres": "DROP INDEX interlock_reviews_inbox"},
    {
        "postgres": f"CREATE INDEX interlock_reviews_inbox ON interlock_reviews {_KEYS} "
        f"INCLUDE ({_LISTED}) WHERE status = 'pending'",
    },
)
