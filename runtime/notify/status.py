"""`outbox_status`: per channel, how many messages wait, went out or failed, and why; and
`retry_failed`, which puts failed messages back in the queue once a channel is fixed.

What `interlock notify status` and `interlock notify retry` use. A failed row's
`next_attempt_at` is when it gave up, so the last error shown is the latest one of a row not
delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from interlock.risk import utcnow
from interlock.runtime.notify._outbox_sql import RETRY_FAILED, STATUS_COUNTS, STATUS_ERRORS
from interlock.runtime.store import Database
from interlock.runtime.store._db import from_db_ts, iso_utc

__all__ = ["NOTIFICATION_RETRIED", "ChannelStatus", "outbox_status", "retry_failed"]

NOTIFICATION_RETRIED = "notification_retried"
"""The audit event of `retry_failed`."""


@dataclass(frozen=True, kw_only=True)
class ChannelStatus:
    """The outbox of one channel."""

    channel: str
    pending: int = 0
    retrying: int = 0
    """Of `pending`: tried at least once and not delivered yet."""
    delivered: int = 0
    failed: int = 0
    oldest_pending_age: float | None = None
    """Seconds since the oldest pending message was written."""
    last_error: str | None = None
    last_error_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "pending": self.pending,
            "retrying": self.retrying,
            "delivered": self.delivered,
            "failed": self.failed,
            "oldest_pending_age_s": None
            if self.oldest_pending_age is None
            else round(self.oldest_pending_age, 1),
            "last_error": self.last_error,
            "last_error_at": iso_utc(self.last_error_at) if self.last_error_at else None,
        }


def outbox_status(db: Database, *, now: datetime | None = None) -> list[ChannelStatus]:
    """One entry per channel that has messages, by name, read in one snapshot."""
    at = now or utcnow()
    with db.snapshot() as conn:
        counts = conn.all(STATUS_COUNTS)
        errors = {str(r["channel"]): r for r in conn.all(STATUS_ERRORS)}
    found: dict[str, dict[str, Any]] = {}
    for r in counts:
        entry = found.setdefault(str(r["channel"]), {"channel": str(r["channel"])})
        entry[str(r["status"])] = int(r["n"])
        if r["status"] == "pending":
            entry["retrying"] = int(r["tried"] or 0)
            oldest = from_db_ts(r["oldest"])
            entry["oldest_pending_age"] = (at - oldest).total_seconds() if oldest else None
    out = []
    for name in sorted(found):
        err = errors.get(name)
        if err is not None:
            found[name]["last_error"] = err["last_error"]
            found[name]["last_error_at"] = from_db_ts(err["next_attempt_at"])
        out.append(ChannelStatus(**found[name]))
    return out


def retry_failed(
    db: Database, *, actor: str, channel: str | None = None, now: datetime | None = None
) -> dict[str, list[str]]:
    """Make every failed message (of `channel`, or all) due now with fresh attempts; the
    worker sends them at its next pass, under their own delivery ids. Audited once, in the
    same transaction. Returns channel -> the delivery ids put back."""
    from interlock.runtime.audit import AuditLog

    at = now or utcnow()
    sql = RETRY_FAILED.format(only="AND channel = ?" if channel is not None else "")
    params: tuple[Any, ...] = (at, channel) if channel is not None else (at,)
    with db.transaction() as conn:
        rows = conn.all(sql, params)
        got: dict[str, list[str]] = {}
        for r in rows:
            got.setdefault(str(r["channel"]), []).append(str(r["id"]))
        if got:
            AuditLog(db).append(
                NOTIFICATION_RETRIED,
                actor=actor,
                data={"channels": {k: len(v) for k, v in sorted(got.items())}, "only": channel},
                conn=conn,
            )
    return {k: sorted(v) for k, v in sorted(got.items())}
