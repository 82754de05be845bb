"""Schema version 3: the inbox's default order, read straight off an index.

`interlock pending` and the console list pending reviews most urgent first: critical before
high before medium before low, then the soonest expiry, then the oldest. A partial index over
exactly those sort expressions, restricted to pending rows, returns a page in index order: no
sort, and decided history (most of the table) is never read. On Postgres the index also
carries every column the list shows (INCLUDE), so a page is an index-only scan. That matters
beyond the heap reads it saves: without it the planner, misled by the table-wide correlation of
`expires_at`, prefers scanning every pending row and sorting them, several times slower once
history is large. Its size is bounded by the number of pending reviews. SQLite has no INCLUDE;
it uses the same keys. The query must spell the order as `URGENCY_ORDER` does.
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["LEVEL_RANK", "URGENCY_ORDER", "V3"]

LEVEL_RANK = "CASE level WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END"
"""The review's level as a rank, most urgent first."""
URGENCY_ORDER = f"{LEVEL_RANK}, (expires_at IS NULL), expires_at, created_at, id"
"""The inbox's default ORDER BY, as indexed."""

_KEYS = f"(({LEVEL_RANK}), (expires_at IS NULL), expires_at, created_at, id)"
_LISTED = (
    "thread_id, graph, status, level, score, tool, target, environment, agent, requester, "
    "required_roles, required_count, escalated_to, action_count, kind, round, outcome, "
    "decided_by, decided_at, next_review_id"
)

V3: tuple[Step, ...] = (
    {
        "postgres": f"CREATE INDEX interlock_reviews_inbox ON interlock_reviews {_KEYS} "
        f"INCLUDE ({_LISTED}) WHERE status = 'pending'",
        "sqlite": f"CREATE INDEX interlock_reviews_inbox ON interlock_reviews {_KEYS} "
        "WHERE status = 'pending'",
    },
)
