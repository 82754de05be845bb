"""What the metrics endpoint reads: a few grouped queries, in one snapshot of the database.

Everything is computed from the database at scrape time, so any number of workers and
consoles on one database report the same numbers (no per-process counters to disagree).
Review, decision, ledger and outbox numbers are GROUP BY queries over their tables (one row
per label set comes back, whatever the history). Counts of audited events are read
incrementally: the log is append-only and its `seq` has no gaps at the head (appends are
serialised on the head row), so each reader keeps its running totals and the `seq` it read
up to, and a scrape reads only the rows appended since, by primary key.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from interlock.runtime.audit import SYSTEM_ACTOR
from interlock.runtime.store import Conn, Database, Dialect
from interlock.runtime.store._db import from_db_ts

__all__ = ["DECISION_BUCKETS", "AuditTally", "DecisionTimes", "MetricsSnapshot", "read_snapshot"]

DECISION_BUCKETS: tuple[float, ...] = (
    30.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    28800.0,
    86400.0,
)
"""Upper bounds (seconds) of the time-to-decision histogram: 30 s to 24 h, then +Inf."""

_SECONDS: Mapping[Dialect, str] = {
    "postgres": "EXTRACT(EPOCH FROM (decided_at - created_at))",
    # SQLite keeps fixed-width UTC text (`iso_utc`); its date functions keep milliseconds
    # only, so whole seconds come from strftime and the microseconds from the text.
    "sqlite": "((strftime('%s', decided_at) - strftime('%s', created_at)) "
    "+ (CAST(substr(decided_at, 21, 6) AS INTEGER) "
    "- CAST(substr(created_at, 21, 6) AS INTEGER)) / 1000000.0)",
}


def _reviews_sql(dialect: Dialect) -> str:
    # Time to decision: proposals a person settled (decided, or escalated by a decision),
    # from the review's creation to its decision. Expired and cancelled ones are not decided.
    decided = (
        "CASE WHEN status IN ('decided', 'escalated') AND kind = 'review' "
        f"AND decided_at IS NOT NULL THEN {_SECONDS[dialect]} END"
    )
    buckets = ", ".join(
        f"sum(CASE WHEN secs <= {b!r} THEN 1 ELSE 0 END) AS le_{i}"
        for i, b in enumerate(DECISION_BUCKETS)
    )
    return (
        "SELECT status, kind, level, coalesce(team, '') AS team, expiry, count(*) AS n, "
        f"min(created_at) AS oldest, count(secs) AS decided, sum(secs) AS secs_sum, {buckets} "
        "FROM (SELECT status, kind, level, team, created_at, "
        "CASE WHEN status = 'expired' THEN (CASE WHEN outcome LIKE 'expired: escalated%' "
        "THEN 'escalated' ELSE 'denied' END) END AS expiry, "
        f"{decided} AS secs FROM interlock_reviews) AS r "
        "GROUP BY status, kind, level, coalesce(team, ''), expiry"
    )


_DECISIONS = (
    "SELECT type, who, count(*) AS n FROM (SELECT type, "
    "CASE WHEN reviewer = ? THEN 'expiry' ELSE 'reviewer' END AS who "
    "FROM interlock_decisions) AS d GROUP BY type, who"
)
# Allowed calls open their ledger row with no review; approved ones name their review.
_EXECUTIONS = (
    "SELECT status, CASE WHEN review_id IS NULL THEN 'allow' ELSE 'approved' END AS path, "
    "count(*) AS n FROM interlock_executions "
    "GROUP BY status, CASE WHEN review_id IS NULL THEN 'allow' ELSE 'approved' END"
)
_OUTBOX = (
    "SELECT status, channel, count(*) AS n, "
    "min(CASE WHEN status = 'pending' THEN created_at END) AS oldest "
    "FROM interlock_outbox GROUP BY status, channel"
)
_HEAD = "SELECT seq FROM interlock_audit_head WHERE id = 1"
_AUDIT = (
    "SELECT event, count(*) AS n FROM interlock_audit WHERE seq > ? AND seq <= ? GROUP BY event"
)


@dataclass
class AuditTally:
    """Running counts of audited events by name, up to `seq`; one per reader (a collector).
    Thread-safe: two scrapes at once read the new rows once."""

    seq: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def advance(self, conn: Conn) -> dict[str, int]:
        """Add the rows appended since the last call (in `conn`'s snapshot); the totals."""
        with self.lock:
            head = conn.scalar(_HEAD)
            top = int(head) if head is not None else 0
            if top < self.seq:  # another database behind the same URL: start over
                self.seq, self.counts = 0, Counter()
            if top > self.seq:
                for row in conn.all(_AUDIT, (self.seq, top)):
                    self.counts[str(row["event"])] += int(row["n"])
                self.seq = top
            return dict(self.counts)


@dataclass(frozen=True, kw_only=True)
class DecisionTimes:
    """One level's time-to-decision histogram: cumulative counts per bucket bound."""

    buckets: tuple[int, ...]
    count: int
    seconds: float


@dataclass(frozen=True, kw_only=True)
class MetricsSnapshot:
    """Every number the endpoint shows, as read in one snapshot."""

    pending: Mapping[tuple[str, str, str], int]
    """Pending reviews by (level, team, kind); team '' when none was routed."""
    opened: Mapping[tuple[str, str, str], int]
    """Every review ever opened, by (level, team, kind)."""
    oldest_pending: datetime | None
    decision_times: Mapping[str, DecisionTimes]
    """By level."""
    decisions: Mapping[tuple[str, str], int]
    """Recorded decisions by (type, by): by is `reviewer` or `expiry`."""
    escalations: Mapping[str, int]
    """Escalated reviews by how: `decision` or `expiry`."""
    expiries: Mapping[str, int]
    """Expired reviews by result: `escalated` or `denied`."""
    in_doubt_opened: int
    """In-doubt executions ever put in front of a human (reviews of kind in_doubt)."""
    executions: Mapping[tuple[str, str], int]
    """Ledger rows by (status, path): path `allow` (no review) or `approved`."""
    outbox: Mapping[tuple[str, str], int]
    """Outbox rows by (status, channel)."""
    outbox_oldest_pending: datetime | None
    audit_events: Mapping[str, int]
    """Audited events by name, all time."""

    @property
    def gate_outcomes(self) -> dict[str, int]:
        """What the gate decided, all time: allowed calls (their ledger rows), calls sent to
        review and calls denied (their audit events)."""
        allow = sum(n for (_, path), n in self.executions.items() if path == "allow")
        return {
            "allow": allow,
            "review": self.audit_events.get("review_required", 0),
            "deny": self.audit_events.get("action_denied", 0),
        }


def _times(rows: list[dict[str, Any]]) -> dict[str, DecisionTimes]:
    acc: dict[str, list[float]] = {}
    for r in rows:
        if not r["decided"]:
            continue
        got = acc.setdefault(str(r["level"]), [0.0] * (len(DECISION_BUCKETS) + 2))
        for i in range(len(DECISION_BUCKETS)):
            got[i] += int(r[f"le_{i}"] or 0)
        got[-2] += int(r["decided"])
        got[-1] += float(r["secs_sum"] or 0.0)
    return {
        level: DecisionTimes(
            buckets=tuple(int(x) for x in v[: len(DECISION_BUCKETS)]),
            count=int(v[-2]),
            seconds=v[-1],
        )
        for level, v in acc.items()
    }


def _oldest(values: list[Any]) -> datetime | None:
    found = [t for t in (from_db_ts(v) for v in values if v is not None) if t is not None]
    return min(found) if found else None


def read_snapshot(db: Database, tally: AuditTally) -> MetricsSnapshot:
    """Read every number in one snapshot (one consistent state on both backends)."""
    with db.snapshot() as conn:
        reviews = conn.all(_reviews_sql(conn.dialect))
        decisions = conn.all(_DECISIONS, (SYSTEM_ACTOR,))
        executions = conn.all(_EXECUTIONS)
        outbox = conn.all(_OUTBOX)
        events = tally.advance(conn)
    pending: Counter[tuple[str, str, str]] = Counter()
    opened: Counter[tuple[str, str, str]] = Counter()
    escalations: Counter[str] = Counter()
    expiries: Counter[str] = Counter()
    for r in reviews:
        key = (str(r["level"]), str(r["team"]), str(r["kind"]))
        opened[key] += int(r["n"])
        if r["status"] == "pending":
            pending[key] += int(r["n"])
        elif r["status"] == "escalated":
            escalations["decision"] += int(r["n"])
        elif r["status"] == "expired":
            expiries[str(r["expiry"])] += int(r["n"])
            if r["expiry"] == "escalated":
                escalations["expiry"] += int(r["n"])
    return MetricsSnapshot(
        pending=dict(pending),
        opened=dict(opened),
        oldest_pending=_oldest([r["oldest"] for r in reviews if r["status"] == "pending"]),
        decision_times=_times(reviews),
        decisions={(str(r["type"]), str(r["who"])): int(r["n"]) for r in decisions},
        escalations=dict(escalations),
        expiries=dict(expiries),
        in_doubt_opened=sum(n for (_, _, kind), n in opened.items() if kind == "in_doubt"),
        executions={(str(r["status"]), str(r["path"])): int(r["n"]) for r in executions},
        outbox={(str(r["status"]), str(r["channel"])): int(r["n"]) for r in outbox},
        outbox_oldest_pending=_oldest([r["oldest"] for r in outbox]),
        audit_events=events,
    )
