"""Running and resuming threads: the only place a graph is invoked by the runtime.

Every run and resume holds the thread's fenced claim (`store._claims.ThreadLocks`), runs
with the durable stores in the LangGraph run context (the gate reads the stop switches
itself, live), and afterwards (outside any node) registers the interrupts the thread
stopped at as review rows. A resume is id-addressed (`Command(resume={interrupt_id: ...})`)
and built from the decision rows alone, so any process can perform it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from interlock.nodes import InterlockContext, StoppedScopes
from interlock.risk import Policy
from interlock.risk.errors import NotFoundError
from interlock.runtime.audit._sink import DurableAuditSink
from interlock.runtime.audit.log import AuditEntry, AuditLog
from interlock.runtime.execution._approvals import DurableApprovalStore, approval_of
from interlock.runtime.execution._ledger import DurableExecutionLedger
from interlock.runtime.execution._live_stops import DurableStopSource
from interlock.runtime.execution._runs import (
    RunResult,
    Snapshot,
    ThreadInfo,
    Update,
    claim_thread,
    resume_command,
)
from interlock.runtime.execution._settle import finished_state, settle
from interlock.runtime.execution._thread_read import Current, on_latest, send_current
from interlock.runtime.execution._transcript import describe_update
from interlock.runtime.execution.registry import BuiltGraph, GraphRegistry
from interlock.runtime.review._records import (
    LiveState,
    cancel_stale,
    live_interrupts,
    pending_ids,
)
from interlock.runtime.store._claims import Claim, ClaimLost, ThreadLocks
from interlock.runtime.store._db import Conn
from interlock.runtime.store._fenced_saver import FENCE_KEY
from interlock.runtime.store.database import Database

__all__ = ["Engine", "RunResult", "Snapshot", "ThreadInfo", "Update", "cancel_stale"]

_THREADS_KEPT = 1024
_SKIP: Any = object()  # a resume with nothing left to carry in


class Engine:
    local = True
    """Threads live in this database: their checkpoints can be read with the review row."""

    def __init__(
        self,
        *,
        db: Database,
        audit: AuditLog,
        policy: Policy,
        registry: GraphRegistry,
        approvals: DurableApprovalStore,
        ledger: DurableExecutionLedger,
        clock: Callable[[], datetime],
        stops: DurableStopSource | None = None,
    ) -> None:
        self.db, self.audit, self.policy, self.registry = db, audit, policy, registry
        self.stop_source = stops or DurableStopSource(db)
        self.approvals, self.ledger, self.clock = approvals, ledger, clock
        self.locks = ThreadLocks(db)
        self._threads: dict[str, ThreadInfo] = {}

    # -- seams (a server-backed engine overrides these) ---------------------------------------
    def new_thread_id(self, graph: str) -> str:
        return f"{graph.split(':')[-1]}-{uuid.uuid4().hex[:10]}"

    def live(self, thread_id: str) -> LiveState:
        """The interrupts live on the thread's latest checkpoint (one indexed lookup)."""
        return live_interrupts(self.db.checkpointer(), thread_id)

    def snapshot(self, built: BuiltGraph, thread_id: str) -> Snapshot:
        snap = built.graph.get_state({"configurable": {"thread_id": thread_id}})
        found: list[tuple[str, str, Any]] = []
        for task in snap.tasks:
            ns = ""
            if isinstance(task.state, dict):
                ns = str((task.state.get("configurable") or {}).get("checkpoint_ns") or "")
            found.extend((ns, i.id, i.value) for i in task.interrupts)
        return Snapshot(
            checkpoint_id=(snap.config.get("configurable") or {}).get("checkpoint_id"),
            interrupts=tuple(found),
            next=tuple(snap.next),
            messages=tuple((snap.values or {}).get("messages") or ()),
        )

    # -- reading ------------------------------------------------------------------------------
    def thread(self, thread_id: str) -> ThreadInfo | None:
        known = self._threads.get(thread_id)
        if known is not None:
            return known
        with self.db.connection() as conn:
            row = conn.one(
                "SELECT thread_id, graph, options, agent, requester FROM interlock_threads "
                "WHERE thread_id = ?",
                (thread_id,),
            )
        return None if row is None else self._remember(row)

    def _remember(self, row: Mapping[str, Any]) -> ThreadInfo:
        info = ThreadInfo(
            thread_id=row["thread_id"],
            graph=row["graph"],
            options=json.loads(row["options"] or "{}"),
            agent=row["agent"],
            requester=row["requester"],
        )
        # A thread's row is written once and never changed or deleted, so a row found stays
        # true: a decision's resume need not read it again. Bounded, oldest out first.
        if len(self._threads) >= _THREADS_KEPT:
            self._threads.pop(next(iter(self._threads)))
        self._threads[info.thread_id] = info
        return info

    def built_for(
        self, thread_id: str, row: Mapping[str, Any] | None = None
    ) -> tuple[ThreadInfo, BuiltGraph]:
        """The thread's row and its graph; `row` is its `interlock_threads` row when the
        caller already read it."""
        info = self._remember(row) if row is not None else self.thread(thread_id)
        if info is None:
            msg = (
                f"thread {thread_id!r} was not started by this runtime (no interlock_threads "
                "row), so it cannot be rebuilt here."
            )
            raise NotFoundError(msg)
        return info, self.registry.get(info.graph, info.options)

    def stops(self) -> tuple[frozenset[str], frozenset[str]]:
        """The stop switches now (agents, environments), read fresh."""
        view = self.stop_source.stopped()
        return view.agents, view.environments

    def _offer_stops(self, cur: Current) -> None:
        # Read with the review row moments ago: the resumed review node need not read again.
        view = StoppedScopes(agents=cur.stopped_agents, environments=cur.stopped_environments)
        self.stop_source.offer(view, read_at=cur.read_at)

    def context(self, agent: str | None, claim: Claim | None = None) -> InterlockContext:
        """The run context: durable stores and this run's audit sink. The stop switches are
        not in it: the gate asks its stop source at every evaluation. The ledger's writes
        are fenced by `claim`, the thread claim the run holds."""
        sink = DurableAuditSink(self.audit, agent or "agent", defer=True)
        return InterlockContext(
            agent=agent,
            approvals=self.approvals,
            ledger=self.ledger.for_run(sink, claim),
            audit=sink,
            stops=self.stop_source,
        )

    # -- running ------------------------------------------------------------------------------
    def _stream(
        self,
        built: BuiltGraph,
        payload: Any,
        thread_id: str,
        agent: str | None,
        on: Update | None,
        *,
        claim: Claim | None = None,
        hand_over: list[AuditEntry] | None = None,
        seen: list[Snapshot] | None = None,
    ) -> list[str]:
        """Run the graph; its update descriptions. The run's deferred audit rows are written
        when it returns, or moved to `hand_over` for the caller's next transaction (they
        are always written when it fails). `seen` gets the thread's state as the run left
        it when the run finished the thread (see `finished_state`)."""
        cfg: Any = {"configurable": {"thread_id": thread_id}}
        if claim is not None:  # every checkpoint write checks it (see store/_fenced_saver)
            cfg["configurable"][FENCE_KEY] = claim.token
        events: list[str] = []
        context = self.context(agent, claim)
        # "values", not "checkpoints": a checkpoint event deep-copies every pending
        # interrupt's payload (a whole ReviewRequest) at every step, before the tool runs.
        modes: Any = "updates" if seen is None else ["updates", "values"]
        last: Any = None  # the run's latest "values" event
        interrupted = False
        try:
            for item in built.graph.stream(payload, cfg, context=context, stream_mode=modes):
                chunk = item
                if seen is not None:
                    mode, chunk = item
                    if mode == "values":
                        last = chunk
                        continue
                for node, value in chunk.items():
                    if node == "__interrupt__":
                        interrupted = True
                        continue
                    if on is not None:
                        on(node, value)
                    events.extend(describe_update(node, value))
        except ClaimLost as lost:
            # Overtaken: say so in the log (with the outcome the ledger refused) and stop.
            if isinstance(context.ledger, DurableExecutionLedger):
                with suppress(Exception):
                    context.ledger.report_lost(lost)
            raise
        except BaseException:
            # The run's own error is the one to report; its deferred rows go in if they can.
            if isinstance(context.audit, DurableAuditSink):
                with suppress(Exception):
                    context.audit.flush()
            raise
        if isinstance(context.audit, DurableAuditSink):
            if hand_over is not None:
                hand_over.extend(context.audit.deferred)
                context.audit.deferred.clear()
            else:
                context.audit.flush()
        if seen is not None and not interrupted:  # it ran to its end: nothing is next
            seen.extend(finished_state(last))
        return events

    def start(
        self,
        *,
        thread_id: str,
        graph: str,
        options: Mapping[str, Any],
        text: str,
        agent: str | None,
        requester: str | None,
        on: Update | None = None,
    ) -> RunResult:
        built = self.registry.get(graph, options)
        agent = agent or built.gate.agent
        with self.locks.hold(thread_id) as claim:
            if claim is None:
                return RunResult(ran=False, busy=True)
            claim_thread(
                self.db, self.audit, thread_id, graph, options, agent, requester, self.clock()
            )
            payload = {"messages": [("user", text)]}
            rows: list[AuditEntry] = []
            seen: list[Snapshot] = []
            events = self._stream(
                built, payload, thread_id, agent, on, claim=claim, hand_over=rows, seen=seen
            )
            return self._settle(
                built, thread_id, graph, agent, requester, events, audit_rows=rows, seen=seen
            )

    def resume(self, review_id: str, on: Update | None = None) -> RunResult:
        """Carry a settled review into its thread, once. Safe to call again or from another
        process: a resumed review is a no-op, a busy thread reports `busy`. One round trip
        reads what it needs and takes the claim; the review row is locked meanwhile, so a
        resume finishing elsewhere cannot slip between the read and the claim."""
        with self.db.connection() as conn:  # held to the end: on Postgres it owns the claim
            with self.db.begin(conn) as tx:
                # Nothing here depends on what is read: the reads and the claim go out with
                # the COMMIT, one round trip, and are read once it is back.
                read = send_current(
                    tx,
                    self.locks,
                    review_id,
                    checkpoints=self.local,
                    claim=True,
                    head=False,
                    approvals=True,
                )
            cur = read()
            if cur is None:
                msg = f"no review {review_id!r}"
                raise NotFoundError(msg)
            try:
                row, thread_id = cur.row, cur.row["thread_id"]
                if row["resumed_at"] is not None:  # carried in already (no claim was taken)
                    found = pending_ids(conn, thread_id)
                    return RunResult(ran=False, review_ids=found, thread_id=thread_id)
                if cur.claim is None:
                    return RunResult(ran=False, busy=True, thread_id=thread_id)
                if row["status"] in ("pending", "cancelled"):
                    found = pending_ids(conn, thread_id)
                    return RunResult(ran=False, review_ids=found, thread_id=thread_id)
                info, built = self.built_for(thread_id, cur.thread)
                payload = (
                    resume_command(row, cur.decisions)
                    if on_latest(cur)
                    else self._payload(built, row, cur.decisions)
                )
                self._offer_stops(cur)
                # The review's approvals, signatures included, were read with it: the review
                # node need not look them up, and guarded execution verifies this copy and
                # consumes exactly that signed row in one statement.
                self.approvals.remember([approval_of(a) for a in cur.approvals])
                return self._carry(info, built, row, payload, on, claim=cur.claim, held=conn)
            finally:
                if cur.claim is not None:
                    self.locks.release(conn, cur.claim)

    def resume_held(
        self,
        cur: Current,
        decisions: Sequence[Mapping[str, Any]],
        on: Update | None = None,
        *,
        held: Conn | None = None,
    ) -> RunResult:
        """Resume the thread of `cur.row`, which the caller just settled in a transaction
        that also took the thread's claim (still held, on `held` when given) and found the
        review's interrupt live: nothing is read again."""
        info, built = self.built_for(cur.row["thread_id"], cur.thread)
        self._offer_stops(cur)
        payload = resume_command(cur.row, decisions)
        return self._carry(info, built, cur.row, payload, on, claim=cur.claim, held=held)

    def _carry(
        self,
        info: ThreadInfo,
        built: BuiltGraph,
        row: Mapping[str, Any],
        payload: Any,
        on: Update | None,
        *,
        claim: Claim | None = None,
        held: Conn | None = None,
    ) -> RunResult:
        """Run `payload` into the thread and settle it. `held`: the connection that holds
        `claim`, which the settling transaction then runs on and gives the claim back with."""
        thread_id, review_id = info.thread_id, row["id"]
        events: list[str] = []
        rows: list[AuditEntry] = []
        seen: list[Snapshot] = []
        if payload is not _SKIP:
            events = self._stream(
                built, payload, thread_id, info.agent, on, claim=claim, hand_over=rows, seen=seen
            )
        # The run's last audit rows, the review marked resumed (and pointing at the review
        # the thread stopped at next) and the interrupts registered: one transaction.
        return self._settle(
            built,
            thread_id,
            info.graph,
            info.agent,
            info.requester,
            events,
            audit_rows=rows,
            resumed=review_id,
            held=(held, claim) if held is not None and claim is not None else None,
            seen=seen,
        )

    def _payload(
        self, built: BuiltGraph, row: Mapping[str, Any], decisions: Sequence[Mapping[str, Any]]
    ) -> Any:
        live = self.live(row["thread_id"])
        if row["interrupt_id"] not in live.interrupts:
            # The answer was already taken in (a resume that died mid-run): carry on from the
            # latest checkpoint; the execution ledger keeps every action to at most once.
            state = self.snapshot(built, row["thread_id"])
            return None if state.next and not state.interrupts else _SKIP
        return resume_command(row, decisions)

    def _settle(
        self,
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
        seen: Sequence[Snapshot] = (),
    ) -> RunResult:
        """See `_settle.settle`; `seen`: the state the run left, from `_stream`."""
        state = seen[0] if seen else None
        return settle(
            self,
            built,
            thread_id,
            graph,
            agent,
            requester,
            events,
            audit_rows=audit_rows,
            resumed=resumed,
            held=held,
            state=state,
        )
