"""Fenced thread claims: a holder whose claim died (and was taken over) cannot write.

Each claim takes the thread's next fencing token; every ledger write and checkpoint of the
holder checks it in the same transaction. On both backends: the ledger refuses an
overtaken holder's outcome and never overwrites `in_doubt`, its checkpoints are refused (no
fork), and a resume whose claim is killed mid-tool stops with `ClaimLost` while the new
holder finishes the thread; the log stays causal.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import pytest

from interlock.nodes import ExecutionRecord
from interlock.risk import default_policy
from interlock.runtime import AuditLog, Database, Runtime
from interlock.runtime.audit._sink import DurableAuditSink
from interlock.runtime.execution._ledger import DurableExecutionLedger
from interlock.runtime.execution.worker import Worker, WorkerEvent, WorkerOptions
from interlock.runtime.store._claims import Claim, ClaimLost, ThreadLocks
from interlock.runtime.store._fenced_saver import FENCE_KEY

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _graphs_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))


def _overtaken(db: Database, thread_id: str) -> tuple[Claim, Claim]:
    """A's claim, then B's after A's lock went away: A still holds its (stale) Claim."""
    locks = ThreadLocks(db)
    with locks.hold(thread_id) as a:
        assert a is not None
    with locks.hold(thread_id) as b:
        assert b is not None
    assert b.token > a.token
    return a, b


def _record(key: str, thread_id: str) -> ExecutionRecord:
    return ExecutionRecord(
        key=key,
        digest=f"digest-{key}",
        tool="delete_volume",
        thread_id=thread_id,
        tool_call_id=f"call-{key}",
        status="started",
        started_at=datetime.now(UTC),
    )


def _audit(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return conn.all("SELECT seq, event, digest, data FROM interlock_audit ORDER BY seq")


def test_an_overtaken_holder_cannot_finish_or_start_and_the_log_stays_causal(
    db: Database,
) -> None:
    audit, policy = AuditLog(db), default_policy()
    base = DurableExecutionLedger(db, audit, policy)
    a, b = _overtaken(db, "t-1")
    ledger_a = base.for_run(DurableAuditSink(audit, "agent", defer=True), a)
    # A, overtaken, may not start another action: nothing is written.
    with pytest.raises(ClaimLost, match="lost its claim on thread 't-1'"):
        ledger_a.start(_record("k-0", "t-1"))
    with db.connection() as conn:
        assert conn.scalar("SELECT count(*) AS n FROM interlock_executions") == 0
    ledger_b = base.for_run(DurableAuditSink(audit, "agent", defer=True), b)
    assert ledger_b.start(_record("k-1", "t-1")) is None  # its execution_started is deferred
    # B's claim dies in turn and C takes over: C finds the row started and marks it.
    c = _overtaken(db, "t-1")[1]
    assert base.fenced(c).mark_in_doubt("k-1", detail="nobody knows", now=datetime.now(UTC))
    with pytest.raises(ClaimLost) as lost:
        ledger_b.finish("k-1", status="succeeded", result="deleted", now=datetime.now(UTC))
    assert lost.value.outcome == {"execution": "k-1", "status": "succeeded", "result": "deleted"}
    got = base.get("k-1")
    assert got is not None
    assert got.status == "in_doubt"  # never overwritten
    ledger_b.report_lost(lost.value)
    rows = _audit(db)
    events = [(r["event"], r["digest"]) for r in rows]
    started = events.index(("execution_started", "digest-k-1"))
    opened = next(i for i, r in enumerate(rows) if r["event"] == "review_opened")
    assert started < opened  # written by the in-doubt marking, since B had only deferred it
    assert events.count(("execution_started", "digest-k-1")) == 1  # B's copy not written twice
    assert events[-1][0] == "claim_lost"
    assert json.loads(rows[-1]["data"])["status"] == "succeeded"
    assert audit.verify().ok


def test_finishing_never_overwrites_an_action_marked_in_doubt(db: Database) -> None:
    ledger = DurableExecutionLedger(db, AuditLog(db), default_policy())  # no claim at all
    assert ledger.start(_record("k-1", "t-1")) is None
    assert ledger.mark_in_doubt("k-1", detail="nobody knows", now=datetime.now(UTC))
    assert not ledger.mark_in_doubt("k-1", detail="again", now=datetime.now(UTC))
    done = ledger.finish("k-1", status="succeeded", result="deleted", now=datetime.now(UTC))
    assert (done.status, done.result) == ("in_doubt", "nobody knows")


class _State(TypedDict, total=False):
    steps: list[str]


def _graph(db: Database) -> Any:
    from langgraph.graph import END, START, StateGraph

    def step(state: _State) -> dict[str, list[str]]:
        return {"steps": [*state.get("steps", []), "x"]}

    builder = StateGraph(_State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder.compile(checkpointer=db.checkpointer())


def _checkpoints(db: Database, thread_id: str) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return conn.all(
            "SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints WHERE thread_id = ?",
            (thread_id,),
        )


def test_the_checkpoints_of_an_overtaken_holder_are_refused(db: Database) -> None:
    graph = _graph(db)
    first = ThreadLocks(db)
    with first.hold("t-1") as a:
        assert a is not None
        cfg = {"configurable": {"thread_id": "t-1", FENCE_KEY: a.token}}
        graph.invoke({"steps": []}, cfg)
    before = _checkpoints(db, "t-1")
    assert before
    b = _overtaken(db, "t-1")[1]
    with pytest.raises(ClaimLost):
        graph.invoke({"steps": []}, cfg)  # A again, after B took the thread
    assert _checkpoints(db, "t-1") == before  # nothing of A's second run was kept
    graph.invoke({"steps": []}, {"configurable": {"thread_id": "t-1", FENCE_KEY: b.token}})
    after = _checkpoints(db, "t-1")
    assert len(after) > len(before)
    parents = [c["parent_checkpoint_id"] for c in after]
    assert len(parents) == len(set(parents))  # one history


def _kill_claim(rt: Runtime, thread_id: str) -> None:
    """A's claim dies while its tool runs: on Postgres its session is terminated (as a
    restart does), on SQLite its claim row is taken away (as a stale takeover does)."""
    with rt.db.connection() as conn:
        if conn.dialect == "sqlite":
            conn.execute("DELETE FROM interlock_thread_claims WHERE thread_id = ?", (thread_id,))
            return
        holders = conn.all(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert len(holders) == 1, holders
        conn.execute("SELECT pg_terminate_backend(?)", (holders[0]["pid"],))


def test_a_resume_whose_claim_dies_mid_tool_stops_and_the_new_holder_finishes(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    from fencing_story import check_one_story, queue_slow_delete, wait_for

    rt_a, rt_b = open_rt(), open_rt()
    review_id, thread_id, infra = queue_slow_delete(rt_a, tmp_path, slow=2.0)
    ended: dict[str, Any] = {}

    def holder_a() -> None:
        try:
            ended["a"] = rt_a.decisions.resume(review_id)
        except Exception as exc:
            ended["a"] = exc

    a = threading.Thread(target=holder_a)
    a.start()
    wait_for(Path(f"{infra.path}.started").exists, "A's delete to start")
    _kill_claim(rt_a, thread_id)
    seen: list[WorkerEvent] = []
    stats = Worker(rt_b, WorkerOptions(reconcile_every=0), on_event=seen.append).run(once=True)
    assert (stats.resumed, stats.failed) == (1, 0), seen
    assert seen[-1].thread_status == "in_doubt"
    a.join(60)
    assert isinstance(ended.get("a"), ClaimLost), ended
    check_one_story(rt_b, thread_id, infra)
