"""Reminders before a review expires: `enqueue_reminders`, run by the worker's notify loop.

For each pending review whose deadline is within a configured `before_expiry` (e.g. 15
minutes), one `review_expiring` message per channel, once per (review, reminder): the
delivery id is made of both, so scanning again writes nothing new. When several reminders
are already due (a worker that was down), only the latest one is sent.
"""

from __future__ import annotations

from datetime import datetime

from interlock.risk import utcnow
from interlock.runtime.notify._config import NotifyConfig
from interlock.runtime.notify._notes import note_for_review
from interlock.runtime.notify.outbox import enqueue
from interlock.runtime.store import Database
from interlock.runtime.store._db import from_db_ts

__all__ = ["REMINDER_ACTOR", "enqueue_reminders"]

REMINDER_ACTOR = "interlock-reminder"

_SCAN = (
    "SELECT id, expires_at FROM interlock_reviews WHERE status = 'pending' "
    "AND expires_at IS NOT NULL AND expires_at > ? AND expires_at <= ? ORDER BY expires_at"
)


def enqueue_reminders(
    db: Database, config: NotifyConfig, *, now: datetime | None = None, limit: int = 500
) -> list[str]:
    """Enqueue the reminders due at `now`; the delivery ids written (or already there)."""
    offsets = config.reminders.before_expiry
    if not offsets:
        return []
    at = now or utcnow()
    ids: list[str] = []
    with db.transaction() as conn:
        rows = conn.all(_SCAN + " LIMIT ?", (at, at + max(offsets), limit))
        for row in rows:
            expires = from_db_ts(row["expires_at"])
            assert expires is not None  # the scan asked for a deadline
            due = [d for d in offsets if expires - d <= at]
            if not due:
                continue
            before = min(due)
            note = note_for_review(
                conn,
                config,
                "review_expiring",
                str(row["id"]),
                occurred_at=at,
                actor=REMINDER_ACTOR,
            )
            if note is not None:
                key = f"{row['id']}:before:{int(before.total_seconds())}"
                ids += enqueue(conn, config, note, key=key, now=at)
    return ids
