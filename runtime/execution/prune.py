"""Checkpoint retention: `interlock prune --older-than 30d`.

Removes the checkpoints (and their pending writes) of threads that are finished and have
been idle longer than the cutoff. It keeps, and says why:

- threads with a pending review or an in-doubt execution (a human still has to look);
- threads with a decision not yet carried into the thread (a worker still has to resume);
- threads the graph has not finished (it would go on from its latest checkpoint);
- threads not started by this runtime, or whose graph is not registered here (we cannot
  tell whether they are finished).

Interlock's own tables are never touched: the audit log, reviews, decisions, approvals and
the execution ledger (which keeps an approved action from ever running twice) all stay.
Each thread is checked and deleted while holding its claim, so a concurrent resume cannot
slip in between.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from interlock.risk.errors import ConfigError, InterlockError
from interlock.runtime.store._claims import ThreadLocks
from interlock.runtime.store._db import from_db_ts, iso_utc

if TYPE_CHECKING:
    from interlock.runtime._runtime import Runtime

__all__ = ["PruneResult", "PrunedThread", "parse_age", "prune"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")

# Why a thread was kept, in the order they are checked.
IN_DOUBT = "execution in doubt or still running"
PENDING = "pending review"
UNRESUMED = "decision not yet carried out"
FOREIGN = "not started by Interlock"
UNKNOWN_GRAPH = "graph not registered here"
RECENT = "active within the cutoff"
UNFINISHED = "graph not finished"


def parse_age(text: str) -> timedelta:
    """'30d' -> 30 days. Units: s, m, h, d, w."""
    found = _AGE.match(str(text))
    if not found:
        msg = (
            f"an age is a number and a unit (s, m, h, d or w), such as 30d or 12h; "
            f"received {text!r}."
        )
        raise ConfigError(msg)
    return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])


@dataclass(frozen=True, kw_only=True)
class PrunedThread:
    thread_id: str
    checkpoints: int
    last_activity: datetime


@dataclass(frozen=True, kw_only=True)
class PruneResult:
    cutoff: datetime
    dry_run: bool
    removed: tuple[PrunedThread, ...] = ()
    """Threads whose checkpoints were removed (or would be, on a dry run)."""
    kept: dict[str, int] = field(default_factory=dict)
    """Threads left alone, counted by reason."""

    @property
    def checkpoints(self) -> int:
        return sum(t.checkpoints for t in self.removed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": iso_utc(self.cutoff),
            "dry_run": self.dry_run,
            "threads_removed": len(self.removed),
            "checkpoints_removed": self.checkpoints,
            "removed": [
                {**t.__dict__, "last_activity": iso_utc(t.last_activity)} for t in self.removed
            ],
            "kept": dict(self.kept),
        }


def _protected(rt: Runtime) -> dict[str, str]:
    """thread id -> why it must be kept, from Interlock's own tables (no checkpoint read)."""
    why: dict[str, str] = {}
    with rt.db.connection() as conn:
        for reason, sql in (
            (
                IN_DOUBT,
                "SELECT DISTINCT thread_id FROM interlock_executions "
                "WHERE status IN ('started', 'in_doubt')",
            ),
            (
                PENDING,
                "SELECT DISTINCT thread_id FROM interlock_reviews WHERE status = 'pending'",
            ),
            (
                UNRESUMED,
                "SELECT DISTINCT thread_id FROM interlock_reviews WHERE resumed_at IS NULL "
                "AND status IN ('decided', 'escalated', 'expired')",
            ),
        ):
            for row in conn.all(sql):
                why.setdefault(str(row["thread_id"]), reason)
    return why


def _threads(rt: Runtime) -> tuple[list[str], list[str]]:
    """(threads Interlock started, other threads that have checkpoints)."""
    with rt.db.connection() as conn:
        ours = [r["thread_id"] for r in conn.all("SELECT thread_id FROM interlock_threads")]
        saved = {r["thread_id"] for r in conn.all("SELECT DISTINCT thread_id FROM checkpoints")}
    known = set(ours)
    return sorted(t for t in ours if t in saved), sorted(saved - known)


def prune(
    rt: Runtime,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> PruneResult:
    """Remove the checkpoints of finished threads idle for longer than `older_than`."""
    if rt.langgraph_url:
        msg = (
            "prune removes checkpoints from Interlock's database, but with "
            "INTERLOCK_LANGGRAPH_URL set the LangGraph Server keeps them: use the server's "
            "thread TTL instead, or unset INTERLOCK_LANGGRAPH_URL."
        )
        raise ConfigError(msg)
    if older_than <= timedelta(0):
        msg = f"--older-than must be more than 0, got {older_than}."
        raise ConfigError(msg)
    cutoff = (now or rt.clock()) - older_than
    kept: Counter[str] = Counter()
    removed: list[PrunedThread] = []
    ours, foreign = _threads(rt)
    kept[FOREIGN] += len(foreign)
    why = _protected(rt)
    saver = rt.checkpointer()
    engine = rt.engine()
    locks = ThreadLocks(rt.db)
    for done, thread_id in enumerate(ours, 1):
        if on_progress is not None:
            on_progress(done, len(ours))
        if thread_id in why:
            kept[why[thread_id]] += 1
            continue
        with locks.hold(thread_id) as got:
            if not got:
                kept[IN_DOUBT] += 1  # being run or resumed right now
                continue
            reason, thread = _check(rt, engine, saver, thread_id, cutoff)
            if thread is None:
                kept[reason] += 1
                continue
            if not dry_run:
                saver.delete_thread(thread_id)
            removed.append(thread)
    return PruneResult(
        cutoff=cutoff,
        dry_run=dry_run,
        removed=tuple(removed),
        kept={k: v for k, v in kept.items() if v},
    )


def _check(
    rt: Runtime, engine: Any, saver: Any, thread_id: str, cutoff: datetime
) -> tuple[str, PrunedThread | None]:
    cfg: Any = {"configurable": {"thread_id": thread_id}}
    latest = saver.get_tuple(cfg)
    last = from_db_ts(latest.checkpoint.get("ts")) if latest is not None else None
    if last is None or last > cutoff:
        return RECENT, None
    if _protected_now(rt, thread_id):
        return PENDING, None
    try:
        _, built = engine.built_for(thread_id)
        snap = engine.snapshot(built, thread_id)
    except InterlockError:
        return UNKNOWN_GRAPH, None
    if snap.next or snap.interrupts:
        return UNFINISHED, None
    with rt.db.connection() as conn:
        count = int(
            conn.scalar("SELECT count(*) AS n FROM checkpoints WHERE thread_id = ?", (thread_id,))
        )
    return "", PrunedThread(thread_id=thread_id, checkpoints=count, last_activity=last)


def _protected_now(rt: Runtime, thread_id: str) -> bool:
    """Re-checked under the claim: a review may have opened since the first pass."""
    with rt.db.connection() as conn:
        return bool(
            conn.scalar(
                "SELECT count(*) AS n FROM interlock_reviews WHERE thread_id = ? AND "
                "(status = 'pending' OR (resumed_at IS NULL AND "
                "status IN ('decided', 'escalated', 'expired')))",
                (thread_id,),
            )
            or conn.scalar(
                "SELECT count(*) AS n FROM interlock_executions WHERE thread_id = ? "
                "AND status IN ('started', 'in_doubt')",
                (thread_id,),
            )
        )
