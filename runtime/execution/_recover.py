"""Orphaned runs: a process died while a tool it started was running.

A resume that dies is picked up again through its review (the worker resumes settled reviews
whose thread never ran on). A *run* that dies (`rt.run`, before any review) has no review to
pick it up: what it leaves behind is an execution-ledger row still `started`, on a thread
nobody holds. The worker finds those rows, takes the thread's claim (so a live run, which
holds it, is never touched) and carries the thread on from its latest checkpoint. The tool
node runs again and guarded execution finds the `started` row: a non-idempotent action is
not run again but marked in doubt and put in front of a human; an idempotent one runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interlock.runtime.execution._runner import Engine, RunResult

__all__ = ["ORPHAN_DETAIL", "orphaned_threads", "recover_thread"]

ORPHAN_DETAIL = (
    "the process running this action stopped before recording an outcome; nobody knows "
    "whether it ran"
)


def orphaned_threads(engine: Engine, limit: int) -> list[str]:
    """Threads with a `started` execution and no decided review still waiting to resume."""
    with engine.db.connection() as conn:
        rows = conn.all(
            "SELECT DISTINCT e.thread_id FROM interlock_executions e "
            "WHERE e.status = 'started' AND NOT EXISTS (SELECT 1 FROM interlock_reviews r "
            "WHERE r.thread_id = e.thread_id AND r.resumed_at IS NULL "
            "AND r.status IN ('decided', 'escalated', 'expired')) LIMIT ?",
            (limit,),
        )
    return [r["thread_id"] for r in rows]


def recover_thread(engine: Engine, thread_id: str) -> RunResult:
    """Carry an orphaned thread on under its claim; `busy` when someone still holds it,
    `ran=False` when its executions finished meanwhile (nothing was marked). The result's
    `marked_in_doubt` counts the rows actually put in front of a human."""
    from dataclasses import replace

    from interlock.runtime.execution._runner import RunResult

    info, built = engine.built_for(thread_id)
    with engine.locks.hold(thread_id) as claim:
        if claim is None:
            return RunResult(ran=False, busy=True)
        digests = _started(engine, thread_id)
        if not digests:  # finished meanwhile
            return RunResult(ran=False)
        snap = engine.snapshot(built, thread_id)
        events: list[str] = []
        if snap.next and not snap.interrupts:
            events = engine._stream(built, None, thread_id, info.agent, None, claim=claim)
        # Whatever the re-run did not settle (no node left to run it) goes to a human.
        ledger = engine.ledger.fenced(claim)
        for digest in digests:
            ledger.mark_in_doubt(digest, detail=ORPHAN_DETAIL, now=engine.clock())
        marked = _in_doubt(engine, digests)
        result = engine._settle(built, thread_id, info.graph, info.agent, info.requester, events)
        return replace(result, marked_in_doubt=marked)


def _started(engine: Engine, thread_id: str) -> list[str]:
    with engine.db.connection() as conn:
        rows = conn.all(
            "SELECT digest FROM interlock_executions WHERE thread_id = ? AND status = 'started'",
            (thread_id,),
        )
    return [r["digest"] for r in rows]


def _in_doubt(engine: Engine, digests: list[str]) -> int:
    """How many of `digests` (all `started` when the recovery began) are in doubt now: the
    re-run's tool node marks some, the loop after it the rest; an idempotent action the
    re-run finished is not among them."""
    marks = ", ".join("?" for _ in digests)
    with engine.db.connection() as conn:
        return int(
            conn.scalar(
                "SELECT count(*) AS n FROM interlock_executions "
                f"WHERE status = 'in_doubt' AND digest IN ({marks})",
                digests,
            )
        )
