"""What a worker is told (`WorkerOptions`) and what it reports: one event per thing it did,
a sweep's counts, its lifetime totals, and which errors count as a database outage."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from interlock.risk.errors import ConfigError
from interlock.runtime.store import LOCK_TIMEOUT_SQLSTATE

__all__ = [
    "EventKind",
    "SweepResult",
    "WorkerEvent",
    "WorkerOptions",
    "WorkerStats",
    "is_outage",
]

EventKind = Literal[
    "resumed",
    "busy",
    "expired",
    "orphan",
    "reconciled",
    "failed",
    "claim_lost",
    "interrupted",
    "outage",
    "recovered",
]


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    """How often a worker looks for work, and how much it takes at once."""

    poll: float = 1.0
    """Seconds to sleep after a sweep that found nothing to do."""
    batch: int = 50
    """Settled reviews taken per sweep."""
    expire_every: float = 5.0
    """Seconds between expiry passes."""
    reconcile_every: float = 60.0
    """Seconds between inbox reconciliations (0 disables them)."""
    retry_after: float = 30.0
    """Seconds before a review whose resume failed is tried again by this worker."""
    max_backoff: float = 30.0
    """Longest wait between attempts while the database is unavailable."""
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    """Who this worker is in logs (its processes' claims are by thread, not by name)."""

    def __post_init__(self) -> None:
        for key in ("poll", "expire_every", "reconcile_every", "retry_after", "max_backoff"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or value < 0:
                msg = f"worker option {key} must be a number of seconds >= 0, got {value!r}."
                raise ConfigError(msg)
        if not isinstance(self.batch, int) or not 1 <= self.batch <= 10_000:
            msg = f"worker option batch must be 1-10000, got {self.batch!r}."
            raise ConfigError(msg)


@dataclass(frozen=True, kw_only=True)
class WorkerEvent:
    """One thing a worker did, for its log."""

    kind: EventKind
    review_id: str | None = None
    thread_id: str | None = None
    detail: str = ""
    thread_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """What one sweep did."""

    resumed: int = 0
    expired: int = 0
    orphans: int = 0
    """Orphaned threads carried on (their run had died with an execution `started`)."""
    marked_in_doubt: int = 0
    """Executions those recoveries actually put in front of a human as in doubt."""
    reconciled: int = 0
    busy: int = 0
    failed: int = 0
    claim_lost: int = 0
    """Resumes or recoveries stopped because another worker took their thread over."""
    interrupted: int = 0
    """Resumes or recoveries in flight when a database outage began (retried later)."""

    @property
    def worked(self) -> bool:
        return bool(self.resumed or self.expired or self.orphans or self.reconciled)


_COUNTS = tuple(f.name for f in fields(SweepResult))
"""The counts a sweep reports, which `WorkerStats` totals."""


@dataclass(kw_only=True)
class WorkerStats:
    """Totals over a worker's life (`interlock worker` prints them when it stops)."""

    sweeps: int = 0
    resumed: int = 0
    expired: int = 0
    orphans: int = 0
    marked_in_doubt: int = 0
    reconciled: int = 0
    busy: int = 0
    failed: int = 0
    claim_lost: int = 0
    interrupted: int = 0
    outages: int = 0
    seconds: float = 0.0

    def add(self, sweep: SweepResult, *, whole: bool = True) -> None:
        """Add a sweep's counts; `whole=False` for one an outage cut short (its work counts,
        it does not count as a sweep)."""
        self.sweeps += int(whole)
        for key in _COUNTS:  # every count a sweep reports
            setattr(self, key, getattr(self, key) + getattr(sweep, key))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean "the database is not answering", not "this item is bad"."""
    # A lock wait that timed out is about this item (another session holds its lock), not the DB.
    if getattr(exc, "sqlstate", None) == LOCK_TIMEOUT_SQLSTATE:
        return False
    names = {t.__name__ for t in type(exc).__mro__}
    if names & {"PoolTimeout", "PoolClosed", "InterfaceError", "ConnectionError"}:
        return True
    if "OperationalError" not in names:
        return False
    if type(exc).__module__.startswith("psycopg"):
        return True
    # SQLite: a busy or missing file is worth waiting for; "no such table" is not.
    text = str(exc).lower()
    return any(word in text for word in ("locked", "busy", "unable to open", "disk i/o"))
