"""Schema version 7: routing and the notification outbox.

- `interlock_reviews.team`: the team the policy routed the review to (who is *told*; roles and
  separation of duties still decide who may decide). Indexed for the inbox's "my team" filter.
- `interlock_outbox`: one row per message to one channel, written in the same transaction as
  the event it reports and delivered later by the worker (at least once; `id` is the delivery
  id and dedupe key, so a row written twice for one event is one row).
"""

from __future__ import annotations

from interlock.runtime.store._schema import Step

__all__ = ["V7"]

_TEAM = "ALTER TABLE interlock_reviews ADD COLUMN team TEXT"
_TEAM_INDEX = (
    "CREATE INDEX interlock_reviews_team ON interlock_reviews (team, created_at) "
    "WHERE status = 'pending'"
)

_OUTBOX = """
CREATE TABLE interlock_outbox (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    review_id TEXT,
    team TEXT,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_by TEXT,
    claimed_until TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    last_error TEXT
)
"""
_OUTBOX_INDEX = (
    "CREATE INDEX interlock_outbox_due ON interlock_outbox (next_attempt_at) "
    "WHERE status = 'pending'"
)

V7: tuple[Step, ...] = (_TEAM, _TEAM_INDEX, _OUTBOX, _OUTBOX_INDEX)
