"""The durable outbox: messages written with their event, delivered later, at least once.

Enqueue. `AuditLog.append_all` hands each row it appends to `enqueue_audited` while the
event's transaction is still open, so a message exists iff its event commits: a review
opened (or escalated: opened in a later round; or in doubt), expired, a scope stopped, a role
requested. Each becomes one row per channel of the review's team (`NotifyConfig.channels_for`),
keyed by a deterministic delivery id (`ON CONFLICT DO NOTHING`: a retried transaction writes
one row). No notify file (`INTERLOCK_NOTIFY` unset) means nothing is written, and the gate's
own events never get here. Enqueueing is an INSERT in the open transaction: no network.

Deliver. `deliver_due` claims one due row at a time with a lease (`claimed_until`), sends it,
and marks it delivered; a `ChannelError` that may pass (`retryable`) is tried again after an
exponential backoff with jitter, until `max_attempts` or `max_age`; then the row is `failed`
(kept, with its last error) and an audit row `notification_failed` says so. A worker killed
mid-send leaves its claim to run out: the row is due again and goes once more under the
same delivery id, which receivers use to drop the duplicate.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from interlock.risk import utcnow
from interlock.risk.errors import ConfigError
from interlock.runtime.notify._config import DEFAULT_LEASE, NOTIFY_ENV, NotifyConfig
from interlock.runtime.notify._notes import (
    delivery_id,
    note_for_review,
    note_for_stop,
    notify_event,
)
from interlock.runtime.notify._outbox_sql import (
    MARK_DELIVERED,
    MARK_FAILED,
    RESCHEDULE,
    claim_sql,
    enqueue_sql,
)
from interlock.runtime.notify.errors import ChannelError, NotifyConfigError
from interlock.runtime.store import Conn, Database
from interlock.runtime.store._db import from_db_ts

if TYPE_CHECKING:
    from interlock.runtime.audit import AuditRow

__all__ = [
    "DeliveryReport",
    "OutboxOptions",
    "Sender",
    "active_config",
    "deliver_due",
    "enqueue",
    "enqueue_audited",
    "outbox_options",
]

_log = logging.getLogger("interlock.notify")
_cache: dict[str, tuple[int, NotifyConfig | None]] = {}
_cache_lock = threading.Lock()


class Sender(Protocol):
    """What the outbox needs of a channel (`interlock.runtime.notify.Channel`)."""

    def send(self, note: Any) -> None: ...


def active_config() -> NotifyConfig | None:
    """The notify file `INTERLOCK_NOTIFY` names, read once per change of the file; None when
    the variable is unset or the file is bad (said once in the log: an event must never fail
    because of it; `interlock notify check` says what is wrong)."""
    path = os.environ.get(NOTIFY_ENV)
    if not path:
        return None
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        stamp = -1
    with _cache_lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        from interlock.runtime.notify._loader import load_notify_config

        config: NotifyConfig | None
        try:
            config = load_notify_config(path)
        except NotifyConfigError as exc:
            _log.warning("notifications are off: %s (check it: interlock notify check)", exc)
            config = None
        _cache[path] = (stamp, config)
        return config


def enqueue(
    conn: Conn,
    config: NotifyConfig,
    note: Mapping[str, Any],
    *,
    key: str,
    now: datetime,
) -> list[str]:
    """Write `note` for each channel of its team in `conn`'s open transaction; the delivery
    ids (rows already there are kept as they are)."""
    channels = config.channels_for(note.get("team"))
    if not channels:
        return []
    ids, params = [], []
    for channel in channels:
        did = delivery_id(str(note["event"]), key, channel)
        body = json.dumps({**note, "id": did}, ensure_ascii=False, sort_keys=True)
        ids.append(did)
        params += [did, note["event"], note.get("review_id"), note.get("team"), channel, body]
        params += [now, now]
    conn.send(enqueue_sql(len(channels)), params)
    return ids


def enqueue_audited(conn: Conn, rows: Sequence[AuditRow]) -> None:
    """The messages of the audit rows being appended in `conn`'s transaction (the hook
    `AuditLog.append_all` calls when `INTERLOCK_NOTIFY` is set)."""
    wanted = [(r, e) for r in rows if (e := notify_event(r.event, r.data)) is not None]
    if not wanted:
        return
    config = active_config()
    if config is None:
        return
    for row, event in wanted:
        note: dict[str, Any] | None
        if event == "scope_stopped":
            note = note_for_stop(row.data, occurred_at=row.ts, actor=row.actor)
            key = f"{row.data.get('scope')}:{row.data.get('value')}:{row.ts.isoformat()}"
        elif row.review_id is not None:
            extra = row.data.get("outcome") if event == "review_expired" else None
            if event == "role_requested" and row.data.get("role"):
                extra = f"{row.actor} asks for {row.data['role']}"
            note = note_for_review(
                conn,
                config,
                event,
                row.review_id,
                occurred_at=row.ts,
                actor=row.actor,
                extra=str(extra) if extra else None,
            )
            key = row.review_id if event != "role_requested" else f"{row.review_id}:{row.seq}"
            if note is not None and event == "role_requested" and row.data.get("team"):
                note["team"] = str(row.data["team"])  # the team of the role asked for
        else:
            continue
        if note is not None:
            enqueue(conn, config, note, key=key, now=row.ts)


@dataclass(frozen=True, kw_only=True)
class OutboxOptions:
    """How delivery leases, retries and gives up."""

    lease: float = DEFAULT_LEASE
    """Seconds a claim lasts: longer than any channel's timeout, so only a dead worker's
    claim runs out."""
    base_delay: float = 2.0
    """Seconds before the first retry; each further retry waits twice as long."""
    max_delay: float = 300.0
    """The longest wait between two attempts."""
    max_attempts: int = 8
    """Attempts before a row is `failed`."""
    max_age: float = 24 * 3600.0
    """Seconds after which a row that still fails is `failed`, whatever its attempts."""
    jitter: float = 0.5
    """Part of each wait drawn at random (0-1), so workers do not retry in step."""

    def __post_init__(self) -> None:
        for key in ("lease", "base_delay", "max_delay", "max_age"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                msg = f"outbox option {key} must be a number of seconds > 0, got {value!r}."
                raise ConfigError(msg)
        if not isinstance(self.max_attempts, int) or not 1 <= self.max_attempts <= 100:
            msg = f"outbox option max_attempts must be 1-100, got {self.max_attempts!r}."
            raise ConfigError(msg)
        if not isinstance(self.jitter, int | float) or not 0 <= self.jitter <= 1:
            msg = f"outbox option jitter must be between 0 and 1, got {self.jitter!r}."
            raise ConfigError(msg)

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        full = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return float(full * (1 - self.jitter) + full * self.jitter * rng.random())


def outbox_options(config: NotifyConfig | None) -> OutboxOptions:
    """The delivery options the notify file's `[delivery]` sets, defaults for the rest."""
    if config is None:
        return OutboxOptions()
    d, base = config.delivery, OutboxOptions()
    return OutboxOptions(
        lease=base.lease if d.lease is None else d.lease,
        base_delay=base.base_delay if d.base_delay is None else d.base_delay,
        max_delay=base.max_delay if d.max_delay is None else d.max_delay,
        max_attempts=base.max_attempts if d.max_attempts is None else d.max_attempts,
        max_age=base.max_age if d.max_age is None else d.max_age,
    )


@dataclass(kw_only=True)
class DeliveryReport:
    """What one `deliver_due` call did."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


def _error_text(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}"
    return text[:500]


def deliver_due(
    db: Database,
    channels: Mapping[str, Sender],
    *,
    worker_id: str,
    now: datetime | Callable[[], datetime] | None = None,
    batch: int = 20,
    options: OutboxOptions | None = None,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Claim, send and settle up to `batch` due rows, one at a time (each claim's lease
    covers one send). `now` is a fixed time or a clock (default: UTC now)."""
    from interlock.runtime.audit import AuditLog

    opts = options or OutboxOptions()
    rng = rng or random.Random()
    clock: Callable[[], datetime] = now if callable(now) else (lambda: now or utcnow())
    report = DeliveryReport()
    claim = claim_sql(db.dialect)
    for _ in range(batch):
        at = clock()
        with db.transaction() as conn:
            got = conn.all(claim, (worker_id, at + timedelta(seconds=opts.lease), at, at))
        if not got:
            break
        row = got[0]
        rid, attempts = str(row["id"]), int(row["attempts"])
        sender = channels.get(str(row["channel"]))
        error: BaseException | None = None
        try:
            if sender is None:
                known = ", ".join(sorted(channels)) or "none"
                msg = f"channel {row['channel']!r} is not in the notify file (channels: {known})"
                raise ChannelError(msg, False)
            sender.send(json.loads(row["payload"]))
        except Exception as exc:
            error = exc
        done = clock()
        if error is None:
            with db.transaction() as conn:
                conn.execute(MARK_DELIVERED, (done, rid))
            report.delivered.append(rid)
            continue
        text = _error_text(error)
        retryable = getattr(error, "retryable", True)  # a channel's own bug: try again
        age = (done - (from_db_ts(row["created_at"]) or done)).total_seconds()
        if retryable and attempts < opts.max_attempts and age < opts.max_age:
            later = done + timedelta(seconds=opts.delay(attempts, rng))
            with db.transaction() as conn:
                conn.execute(RESCHEDULE, (later, text, rid, worker_id))
            report.retrying.append(rid)
            continue
        why = "not retryable" if not retryable else f"gave up after {attempts} attempts"
        with db.transaction() as conn:
            if conn.execute(MARK_FAILED, (done, text, rid, worker_id)):
                AuditLog(db, clock=clock).append(
                    "notification_failed",
                    actor=worker_id,
                    review_id=row["review_id"],
                    data={
                        "delivery_id": rid,
                        "event": row["event"],
                        "channel": row["channel"],
                        "attempts": attempts,
                        "error": text,
                        "why": why,
                    },
                    conn=conn,
                )
        _log.warning("notification %s to %s failed (%s): %s", rid, row["channel"], why, text)
        report.failed.append(rid)
    return report
