"""Which audited events are told to a team, and the message each becomes.

A message is built when its event is written (from the audit row and the review row the same
transaction just wrote), so it says what was true then, and delivery needs no other table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from interlock.runtime.notify._config import NotifyConfig
from interlock.runtime.notify._message import NotifyEvent, build_notification
from interlock.runtime.store import Conn
from interlock.runtime.store._db import iso_utc

__all__ = ["DIRECT_EVENTS", "delivery_id", "note_for_review", "note_for_stop", "notify_event"]

DIRECT_EVENTS: Mapping[str, NotifyEvent] = {
    "review_expired": "review_expired",
    "scope_stopped": "scope_stopped",
    "role_requested": "role_requested",
}
"""Audit event -> notification event, for the events that map one to one."""


def notify_event(event: str, data: Mapping[str, Any]) -> NotifyEvent | None:
    """The notification event an audit row is, or None when nobody is told of it.

    A review opened in a later round is an escalation (the review went up a rung); one of
    kind `in_doubt` is an execution in doubt."""
    if event == "review_opened":
        if data.get("kind") == "in_doubt":
            return "execution_in_doubt"
        return "review_escalated" if int(data.get("round") or 1) > 1 else "review_opened"
    return DIRECT_EVENTS.get(event)


def delivery_id(event: str, key: str, channel: str) -> str:
    """The deterministic delivery id (and dedupe key) of one event on one channel."""
    digest = hashlib.sha256(f"{event}|{key}|{channel}".encode()).hexdigest()
    return f"nt-{digest[:32]}"


def note_for_review(
    conn: Conn,
    config: NotifyConfig,
    event: NotifyEvent,
    review_id: str,
    *,
    occurred_at: datetime,
    actor: str,
    extra: str | None = None,
) -> dict[str, Any] | None:
    """The message about review `review_id` (its `team` says who is told; `id` is set per
    channel); None when the review row is not there."""
    row = conn.one(
        "SELECT id, thread_id, tool, target, environment, level, score, team, expires_at, "
        "escalated_to, payload FROM interlock_reviews WHERE id = ?",
        (review_id,),
    )
    if row is None:
        return None
    note = build_notification(
        event, row=row, delivery_id="-", config=config, occurred_at=occurred_at, actor=actor
    )
    if extra:
        note["summary"] = f"{note['summary']}; {extra}"
    return dict(note)


def note_for_stop(data: Mapping[str, Any], *, occurred_at: datetime, actor: str) -> dict[str, Any]:
    """The message about a stopped scope (no review; the default team is told)."""
    scope, value, reason = data.get("scope"), data.get("value"), data.get("reason")
    return {
        "event": "scope_stopped",
        "occurred_at": iso_utc(occurred_at),
        "review_id": None,
        "thread_id": None,
        "team": None,
        "tool": None,
        "target": f"{scope} {value}",
        "environment": None,
        "level": None,
        "score": None,
        "reasons": [str(reason)] if reason else [],
        "link": None,
        "expires_at": None,
        "actor": actor,
        "summary": f"{scope} {value} stopped by {actor}: every action it proposes is denied"
        + (f" ({reason})" if reason else ""),
    }
