"""The seams where durable storage plugs in: approvals, the execution ledger, the audit sink.

Approvals live here, outside the graph state, keyed by action digest: a state edited by hand
cannot mint one. The in-memory implementations serve tests, notebooks and single-process
runs; `interlock.runtime` provides the durable ones behind the same protocols.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from interlock.nodes._payloads import AuditEvent

__all__ = [
    "Approval",
    "ApprovalStore",
    "AuditSink",
    "ExecutionLedger",
    "ExecutionRecord",
    "InMemoryApprovalStore",
    "InMemoryAuditSink",
    "InMemoryExecutionLedger",
    "StartOutcome",
    "approval_issued",
    "consume_then_start",
    "start_approved",
]

ExecutionStatus = Literal["started", "succeeded", "failed", "in_doubt"]
StartOutcome = Literal["started", "exists", "no_approval", "forged"]
"""`forged`: an approval row matched but its signature did not verify (nothing ran)."""


@dataclass(frozen=True, kw_only=True)
class Approval:
    """A single-use permission to run exactly the action whose digest it names."""

    digest: str
    tool: str
    thread_id: str
    interrupt_id: str
    tool_call_id: str
    reviewers: tuple[str, ...]
    roles: tuple[str, ...]
    """The roles the approval was required from."""
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    # Where the approval came from and its reviewer-side signature (durable stores sign
    # and verify; the in-memory store leaves them empty).
    review_id: str = ""
    action_index: int = 0
    policy_version: str = ""
    key_id: str = ""
    signature: str = field(default="", repr=False)


@dataclass(frozen=True, kw_only=True)
class ExecutionRecord:
    """One ledger row: an action that started, and how it ended."""

    key: str
    digest: str
    tool: str
    thread_id: str
    tool_call_id: str
    status: ExecutionStatus
    started_at: datetime
    finished_at: datetime | None = None
    result: str | None = None
    stops_seen: frozenset[str] | None = None
    """The stop switches the call was assessed with, as "agent:NAME" / "environment:NAME".
    A ledger with `checks_stops = True` opens the row only while no other stop is set (in
    the statement that opens it) and raises `StopsChanged` otherwise; None: not checked."""


@runtime_checkable
class ApprovalStore(Protocol):
    def issue(self, approval: Approval) -> Approval:
        """Store `approval`. Idempotent by digest: an existing one is returned unchanged."""
        ...

    def get(self, digest: str) -> Approval | None:
        """The approval for `digest`, used or not, or None."""
        ...

    def consume(self, digest: str, *, now: datetime) -> Approval | None:
        """Mark the approval used and return it; None when missing, used or expired."""
        ...


@runtime_checkable
class ExecutionLedger(Protocol):
    def start(self, record: ExecutionRecord) -> ExecutionRecord | None:
        """Open `record` (status started). Returns None when it was opened, or the existing
        record when its key was seen before: the caller must then not run the tool again."""
        ...

    def finish(
        self, key: str, *, status: ExecutionStatus, result: str, now: datetime
    ) -> ExecutionRecord:
        """Close the record with its outcome."""
        ...

    def get(self, key: str) -> ExecutionRecord | None: ...


def approval_issued(approvals: ApprovalStore, digest: str) -> bool:
    """Whether `approvals` ever issued one for `digest`; a store may answer faster than
    `get` through an `issued(digest)` method."""
    fast = getattr(approvals, "issued", None)
    if callable(fast):
        return bool(fast(digest))
    return approvals.get(digest) is not None


def start_approved(
    approvals: ApprovalStore, ledger: ExecutionLedger, record: ExecutionRecord, *, now: datetime
) -> tuple[StartOutcome, ExecutionRecord | None]:
    """Consume the approval for `record.digest` and open `record`, together.

    A ledger with `consume_and_start(record, approvals=..., now=...)` does both in one
    transaction, so a crash can never leave an approval used without a ledger row (the
    action would silently never run) nor a row without its approval. Otherwise: consume,
    then start. Returns ("exists", prior) when the key was seen before (nothing consumed),
    ("no_approval", None) when no valid approval matches (nothing written), else
    ("started", None).
    """
    atomic = getattr(ledger, "consume_and_start", None)
    if callable(atomic):
        outcome: tuple[StartOutcome, ExecutionRecord | None] = atomic(
            record, approvals=approvals, now=now
        )
        return outcome
    return consume_then_start(approvals, ledger, record, now=now)


def consume_then_start(
    approvals: ApprovalStore, ledger: ExecutionLedger, record: ExecutionRecord, *, now: datetime
) -> tuple[StartOutcome, ExecutionRecord | None]:
    """`start_approved` for stores that cannot share a transaction: consume, then start
    (a crash between the two leaves a used approval and no row: the action never runs)."""
    prior = ledger.get(record.key)
    if prior is not None:
        return "exists", prior
    if approvals.consume(record.digest, now=now) is None:
        return "no_approval", None
    prior = ledger.start(record)
    return ("exists", prior) if prior is not None else ("started", None)


@runtime_checkable
class AuditSink(Protocol):
    def record(self, event: AuditEvent) -> None:
        """Append one event. Must not raise for a well-formed event."""
        ...


class InMemoryApprovalStore:
    """Approvals in a dict; fine for one process."""

    def __init__(self) -> None:
        self._items: dict[str, Approval] = {}
        self._lock = threading.Lock()

    def issue(self, approval: Approval) -> Approval:
        with self._lock:
            return self._items.setdefault(approval.digest, approval)

    def get(self, digest: str) -> Approval | None:
        return self._items.get(digest)

    def consume(self, digest: str, *, now: datetime) -> Approval | None:
        with self._lock:
            found = self._items.get(digest)
            if found is None or found.used_at is not None or now >= found.expires_at:
                return None
            used = replace(found, used_at=now)
            self._items[digest] = used
            return used

    def all(self) -> list[Approval]:
        return list(self._items.values())


def _updated(record: ExecutionRecord, **changes: Any) -> ExecutionRecord:
    """`dataclasses.replace(record, **changes)` without its field-by-field rebuild: a record
    finishes once per call that ran, on the path every allowed call takes."""
    done = object.__new__(ExecutionRecord)
    done.__dict__.update(record.__dict__, **changes)
    return done


class InMemoryExecutionLedger:
    """The ledger in a dict; it prevents double runs within one process."""

    def __init__(self) -> None:
        self._items: dict[str, ExecutionRecord] = {}
        self._lock = threading.Lock()

    def start(self, record: ExecutionRecord) -> ExecutionRecord | None:
        with self._lock:
            found = self._items.get(record.key)
            if found is not None:
                return found
            self._items[record.key] = record
            return None

    def finish(
        self, key: str, *, status: ExecutionStatus, result: str, now: datetime
    ) -> ExecutionRecord:
        with self._lock:
            done = _updated(self._items[key], status=status, result=result, finished_at=now)
            self._items[key] = done
            return done

    def get(self, key: str) -> ExecutionRecord | None:
        return self._items.get(key)

    def consume_and_start(
        self, record: ExecutionRecord, *, approvals: ApprovalStore, now: datetime
    ) -> tuple[StartOutcome, ExecutionRecord | None]:
        with self._lock:
            found = self._items.get(record.key)
            if found is not None:
                return "exists", found
            if approvals.consume(record.digest, now=now) is None:
                return "no_approval", None
            self._items[record.key] = record
            return "started", None

    def mark_in_doubt(self, key: str, *, detail: str, now: datetime) -> None:
        """An attempt started and never reported: say so, so nobody mistakes it for running."""
        with self._lock:
            found = self._items.get(key)
            if found is not None and found.status == "started":
                self._items[key] = replace(found, status="in_doubt", result=detail)

    def all(self) -> list[ExecutionRecord]:
        return list(self._items.values())


class InMemoryAuditSink:
    """Events in a list, in order."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        with self._lock:
            self.events.append(event)

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]
