"""Durable stores that open Interlock's database on first use, for graphs served elsewhere.

A graph module served by LangGraph Server is imported when the server starts, before any
run, and the server brings its own checkpointer. The stores here read the settings
(`INTERLOCK_DATABASE_URL`, `INTERLOCK_POLICY`) and open the database, migrated, only when
a node first needs an approval, a ledger row or an audit row: importing the graph opens
nothing, and a database that is down at start-up does not stop the server from loading.
Each store forwards to the runtime's durable implementation
(`interlock.runtime.execution._approvals`), so guarded execution still consumes the
approval and opens the ledger row in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from interlock.nodes import (
    Approval,
    ApprovalStore,
    AuditEvent,
    ExecutionRecord,
    ExecutionStatus,
    StartOutcome,
    StoppedScopes,
)
from interlock.risk import Policy
from interlock.runtime.audit._sink import DurableAuditSink
from interlock.runtime.audit.log import AuditLog
from interlock.runtime.execution._approvals import DurableApprovalStore
from interlock.runtime.execution._ledger import DurableExecutionLedger
from interlock.runtime.execution._live_stops import DurableStopSource
from interlock.runtime.review.policy_pin import PolicyPin, resolve_policy
from interlock.runtime.review.signing import public_ring
from interlock.runtime.store.database import Database, open_database
from interlock.runtime.store.migrations import upgrade_database
from interlock.runtime.store.settings import Settings

__all__ = [
    "SERVED_GRAPHS",
    "LazyApprovalStore",
    "LazyAuditSink",
    "LazyExecutionLedger",
    "LazyStopSource",
    "ServedStores",
    "served_graph_id",
]

SERVED_GRAPHS: Mapping[str, str] = {"ops_agent": "ops_agent_governed"}
"""Runtime graph name -> the id `langgraph.json` serves its governed form under. A name not
listed here is served under its own name."""


def served_graph_id(name: str) -> str:
    """The server's graph id for the runtime graph `name`."""
    return SERVED_GRAPHS.get(name, name)


@dataclass(frozen=True, kw_only=True)
class _Opened:
    db: Database
    approvals: DurableApprovalStore
    ledger: DurableExecutionLedger
    audit: DurableAuditSink
    stops: DurableStopSource


class ServedStores:
    """The three stores of one served graph, sharing one database opened on first use."""

    def __init__(
        self,
        *,
        policy: Policy,
        actor: str = "agent",
        settings: Callable[[], Settings] = Settings.from_env,
    ) -> None:
        self._policy, self._settings = policy, settings
        self.actor = actor
        """Who the audit rows of gate events name; set it before the first run."""
        self._opened: _Opened | None = None
        self._lock = threading.Lock()
        self.approvals = LazyApprovalStore(self.opened)
        self.ledger = LazyExecutionLedger(self.opened)
        self.audit = LazyAuditSink(self.opened)
        self.stops = LazyStopSource(self.opened)
        """The stop switches in the database: the gate's only source of stops on the server
        (a client's run context can add stops, never lift one)."""

    def opened(self) -> _Opened:
        """The open stores; the first call opens and migrates the database."""
        with self._lock:
            if self._opened is None:
                settings = self._settings()
                db = open_database(settings.database_url)
                log = AuditLog(db)
                try:
                    upgrade_database(db)
                    # The graph was built with its policy before the database opened: a
                    # database that pins another refuses this graph's every run.
                    named = "this served graph's policy (INTERLOCK_POLICY, else the bundled one)"
                    resolve_policy(PolicyPin(db, log), self._policy, named=named)
                except BaseException:
                    db.close()
                    raise
                self._opened = _Opened(
                    db=db,
                    # The agent side: it verifies approvals with public keys alone.
                    approvals=DurableApprovalStore(db, public_ring(settings, db.url)),
                    ledger=DurableExecutionLedger(db, log, self._policy),
                    audit=DurableAuditSink(log, self.actor),
                    stops=DurableStopSource(db),
                )
            return self._opened

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened.db.close()
                self._opened = None


class LazyApprovalStore:
    """`ApprovalStore` over Interlock's database, opened on first use."""

    def __init__(self, opened: Callable[[], _Opened]) -> None:
        self._opened = opened

    @property
    def target(self) -> DurableApprovalStore:
        return self._opened().approvals

    def issue(self, approval: Approval) -> Approval:
        return self.target.issue(approval)

    def get(self, digest: str) -> Approval | None:
        return self.target.get(digest)

    def consume(self, digest: str, *, now: datetime) -> Approval | None:
        return self.target.consume(digest, now=now)


class LazyExecutionLedger:
    """`ExecutionLedger` over Interlock's database, opened on first use."""

    def __init__(self, opened: Callable[[], _Opened]) -> None:
        self._opened = opened

    def start(self, record: ExecutionRecord) -> ExecutionRecord | None:
        return self._opened().ledger.start(record)

    def finish(
        self, key: str, *, status: ExecutionStatus, result: str, now: datetime
    ) -> ExecutionRecord:
        return self._opened().ledger.finish(key, status=status, result=result, now=now)

    def get(self, key: str) -> ExecutionRecord | None:
        return self._opened().ledger.get(key)

    def consume_and_start(
        self, record: ExecutionRecord, *, approvals: ApprovalStore, now: datetime
    ) -> tuple[StartOutcome, ExecutionRecord | None]:
        # Unwrap our own approval store, so the durable ledger sees its own database and
        # consumes the approval in the transaction that opens the row.
        real = approvals.target if isinstance(approvals, LazyApprovalStore) else approvals
        return self._opened().ledger.consume_and_start(record, approvals=real, now=now)

    def mark_in_doubt(self, key: str, *, detail: str, now: datetime) -> None:
        self._opened().ledger.mark_in_doubt(key, detail=detail, now=now)


class LazyAuditSink:
    """`AuditSink` into Interlock's audit log, opened on first use."""

    def __init__(self, opened: Callable[[], _Opened]) -> None:
        self._opened = opened

    def record(self, event: AuditEvent) -> None:
        self._opened().audit.record(event)


class LazyStopSource:
    """`StopSource` over Interlock's database, opened on first use."""

    def __init__(self, opened: Callable[[], _Opened]) -> None:
        self._opened = opened

    def stopped(self, *, max_age: float = 0.0) -> StoppedScopes:
        return self._opened().stops.stopped(max_age=max_age)
