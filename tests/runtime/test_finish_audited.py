"""A call's outcome and the gate's audit event about it commit together
(`DurableExecutionLedger.finish_audited`): the run's deferred rows, then the event, in the
transaction that records the outcome; an overtaken holder writes neither. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from interlock.nodes import AuditEvent, ExecutionRecord, InMemoryAuditSink
from interlock.risk import default_policy
from interlock.runtime import AuditLog, Database
from interlock.runtime.audit._sink import DurableAuditSink
from interlock.runtime.execution._ledger import DurableExecutionLedger
from interlock.runtime.store._claims import Claim, ClaimLost, ThreadLocks


def _claims(db: Database, thread_id: str) -> tuple[Claim, Claim]:
    """A's claim, then B's after A's went away: A still holds its stale Claim."""
    locks = ThreadLocks(db)
    with locks.hold(thread_id) as a:
        assert a is not None
    with locks.hold(thread_id) as b:
        assert b is not None
    return a, b


def _record(key: str, thread_id: str) -> ExecutionRecord:
    return ExecutionRecord(
        key=key,
        digest=f"digest-{key}",
        tool="restart_service",
        thread_id=thread_id,
        tool_call_id=f"call-{key}",
        status="started",
        started_at=datetime.now(UTC),
    )


def _event(key: str, thread_id: str) -> AuditEvent:
    return {
        "kind": "executed",
        "at": datetime.now(UTC).isoformat(),
        "thread_id": thread_id,
        "tool": "restart_service",
        "tool_call_id": f"call-{key}",
        "digest": f"digest-{key}",
        "outcome": "allow",
        "level": "low",
        "detail": "",
        "reviewer": None,
    }


def _events(db: Database) -> list[tuple[str, Any]]:
    with db.connection() as conn:
        rows = conn.all("SELECT event, digest FROM interlock_audit ORDER BY seq")
    return [(r["event"], r["digest"]) for r in rows]


def test_the_outcome_and_its_audit_rows_commit_together_in_order(db: Database) -> None:
    audit = AuditLog(db)
    sink = DurableAuditSink(audit, "agent", defer=True)
    _, claim = _claims(db, "t-1")
    ledger = DurableExecutionLedger(db, audit, default_policy()).for_run(sink, claim)
    assert ledger.start(_record("k-1", "t-1")) is None  # its execution_started is deferred
    assert [e.event for e in sink.deferred] == ["execution_started"]
    now = datetime.now(UTC)
    done = ledger.finish_audited(
        "k-1", status="succeeded", result="ok", now=now, event=_event("k-1", "t-1"), audit=sink
    )
    assert (done.status, done.result) == ("succeeded", "ok")
    assert sink.deferred == []
    assert _events(db)[-2:] == [
        ("execution_started", "digest-k-1"),
        ("execution_succeeded", "digest-k-1"),
    ]
    assert audit.verify().ok


def test_an_overtaken_holder_records_neither_the_outcome_nor_the_event(db: Database) -> None:
    audit = AuditLog(db)
    sink = DurableAuditSink(audit, "agent", defer=True)
    a, b = _claims(db, "t-2")
    base = DurableExecutionLedger(db, audit, default_policy())
    assert base.for_run(DurableAuditSink(audit, "agent"), b).start(_record("k-2", "t-2")) is None
    before = _events(db)
    stale = base.for_run(sink, a)
    with pytest.raises(ClaimLost) as lost:
        stale.finish_audited(
            "k-2",
            status="succeeded",
            result="deleted",
            now=datetime.now(UTC),
            event=_event("k-2", "t-2"),
            audit=sink,
        )
    assert lost.value.outcome == {"execution": "k-2", "status": "succeeded", "result": "deleted"}
    got = base.get("k-2")
    assert got is not None
    assert got.status == "started"
    assert _events(db) == before


def test_another_sink_gets_the_event_after_the_outcome(db: Database) -> None:
    audit = AuditLog(db)
    ledger = DurableExecutionLedger(db, audit, default_policy())  # no run sink
    assert ledger.start(_record("k-3", "t-3")) is None
    elsewhere = InMemoryAuditSink()
    done = ledger.finish_audited(
        "k-3",
        status="failed",
        result="boom",
        now=datetime.now(UTC),
        event=_event("k-3", "t-3"),
        audit=elsewhere,
    )
    assert done.status == "failed"
    assert [e["kind"] for e in elsewhere.events] == ["executed"]
