"""Settling a run: what the thread stopped at becomes review rows, in one transaction.

After every run and resume (outside any node) the engine registers the interrupts the
thread stopped at, cancels rows whose interrupt is gone, marks the resumed review, writes
the run's last audit rows and, on the connection that holds the run's claim, gives the
claim back with the commit. A run that finished its thread already streamed the state it
left (`finished_state`), so that is not read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from interlock.runtime.audit._sql import head_query
from interlock.runtime.audit.log import AuditEntry
from interlock.runtime.execution._runs import RunResult, Snapshot, ThreadStatus
from interlock.runtime.execution._transcript import final_message
from interlock.runtime.execution.registry import BuiltGraph
from interlock.runtime.review._records import (
    IN_DOUBT_COUNT,
    PENDING_INTERRUPTS,
    cancel_stale,
    register_interrupts,
)
from interlock.runtime.store._claims import Claim
from interlock.runtime.store._db import Conn

if TYPE_CHECKING:
    from interlock.runtime.execution._runner import Engine

__all__ = ["finished_state", "settle"]


def finished_state(last: Any) -> list[Snapshot]:
    """The thread's state from the last "values" stream event of a run that ran to its
    end (no interrupt, no error: nothing is next), as one Snapshot; none when the event is
    not a state with messages (the caller reads the state back). That event is the state
    of the checkpoint the run wrote last, so it is what `get_state` would read, without the
    read. No checkpoint id: with no interrupt, none is registered against it."""
    if not isinstance(last, dict) or not isinstance(last.get("messages"), list):
        return []
    messages = tuple(last["messages"])
    return [Snapshot(checkpoint_id=None, interrupts=(), next=(), messages=messages)]


def settle(
    engine: Engine,
    built: BuiltGraph,
    thread_id: str,
    graph: str,
    agent: str | None,
    requester: str | None,
    events: list[str],
    *,
    audit_rows: Sequence[AuditEntry] = (),
    resumed: str | None = None,
    held: tuple[Conn, Claim] | None = None,
    state: Snapshot | None = None,
) -> RunResult:
    """Register what the thread stopped at; mark rows whose interrupt is gone. In the
    same transaction: the run's `audit_rows` still to write, first, and the review it
    resumed (`resumed`) marked so. `held` (the connection holding the run's claim, and
    the claim): the transaction runs on it and gives the claim back as it commits. `state`:
    the thread's state as the run just left it (`finished_state`), else it is read."""
    snap = state if state is not None else engine.snapshot(built, thread_id)
    found = list(snap.interrupts)
    checkpoint_id = snap.checkpoint_id
    now = engine.clock()
    if held is not None and not engine.db.looks_alive(held[0]):
        held = None  # its session died (a server restart): a fresh connection settles
    tx = engine.db.transaction() if held is None else engine.db.begin(held[0])
    with tx as conn:
        # What the transaction reads goes out together: one round trip.
        reads: list[tuple[str, tuple[Any, ...]]] = [
            (PENDING_INTERRUPTS, (thread_id,)),
            (IN_DOUBT_COUNT, (thread_id,)),
        ]
        if audit_rows:
            reads.insert(0, (head_query(conn.dialect), ()))  # the head first, as before
        got = conn.fetch_all(reads)
        if audit_rows:
            top = got.pop(0)
            head = (int(top[0]["seq"]), str(top[0]["hash"])) if top else None
            engine.audit.append_all(list(audit_rows), conn=conn, head=head)
        pending, doubt_rows = got
        if resumed is not None:
            conn.send(
                "UPDATE interlock_reviews SET resumed_at = ? WHERE id = ? AND resumed_at IS NULL",
                (now, resumed),
            )
        live = {iid for _, iid, _ in found}
        cancel_stale(conn, engine.audit, thread_id, live, now, rows=pending)
        ids = register_interrupts(
            conn,
            engine.audit,
            engine.policy,
            thread_id=thread_id,
            graph=graph,
            checkpoint_id=checkpoint_id,
            interrupts=found,
            agent=agent,
            requester=requester,
            now=now,
        )
        doubt = int(doubt_rows[0]["n"])
        if resumed is not None and ids:
            conn.send(
                "UPDATE interlock_reviews SET next_review_id = ? WHERE id = ?",
                (ids[0], resumed),
            )
        if held is not None:
            engine.locks.release_on_commit(conn, held[1])
    for rid in ids:
        events.append(f"stopped for review {rid}")
    status: ThreadStatus = (
        "pending" if ids else "in_doubt" if doubt else "running" if snap.next else "done"
    )
    messages = snap.messages
    return RunResult(
        thread_id=thread_id,
        ran=True,
        events=tuple(events),
        review_ids=tuple(ids),
        thread_status=status,
        final_message=final_message(messages) if status == "done" else None,
    )
