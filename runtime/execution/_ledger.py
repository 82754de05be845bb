"""The execution ledger behind the nodes' `ExecutionLedger`: `interlock_executions`.

`DurableExecutionLedger.consume_and_start` consumes the approval and opens the ledger row in
ONE transaction (guarded execution calls it through `interlock.nodes.start_approved`): a
crash leaves either both or neither; a signature that does not verify rolls the step back,
runs nothing, comes back as "forged" and is audited `approval_forged`. Every write checks
the run's fencing token. An attempt found `started` without an outcome is marked `in_doubt`
by `mark_in_doubt`, which also opens an in-doubt review so a human sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from interlock.nodes import (
    ApprovalStore,
    AuditEvent,
    AuditSink,
    ExecutionRecord,
    ExecutionStatus,
    StartOutcome,
    consume_then_start,
)
from interlock.risk import Policy
from interlock.risk.errors import NotFoundError
from interlock.runtime.audit._sink import DEFERRED, DurableAuditSink
from interlock.runtime.audit._sql import head_query
from interlock.runtime.audit.log import AuditEntry, AuditLog
from interlock.runtime.execution._approvals import (
    CONSUME_ROW,
    FORGED,
    NO_APPROVAL,
    DurableApprovalStore,
    Undo,
    checked,
    why_refused,
)
from interlock.runtime.execution._ledger_audit import forged_entry, mark_row, write_lost
from interlock.runtime.execution._ledger_sql import (
    CONSUME_OPEN,
    CONSUME_OPEN_SIGNED,
    FINISH_ROW,
    INSERT,
    LEDGER_COLS,
    OPEN,
    STOPS_QUERY,
    check_stops,
    guarded,
    open_params,
    record_of,
    stops_changed,
)
from interlock.runtime.store._claims import (
    Claim,
    ClaimLost,
    check_fence,
    claim_lost,
    fenced_all,
    is_fence_error,
)
from interlock.runtime.store._db import Conn, iso_utc
from interlock.runtime.store.database import Database

__all__ = ["DurableExecutionLedger"]

_OPENING = "opening an execution-ledger row"
_FINISHING = "recording the outcome of the tool it ran"
_KEPT_RESULT = 2000
"""Characters of a lost outcome kept in its `claim_lost` audit row."""


class DurableExecutionLedger:
    """The execution ledger in `interlock_executions`, one row per key."""

    checks_stops = True
    """Rows open only while the stops are those the call was assessed with (`stops_seen`):
    checked in the statement (Postgres) or the write transaction (SQLite) that opens them."""

    def __init__(
        self, db: Database, audit: AuditLog, policy: Policy, sink: DurableAuditSink | None = None
    ) -> None:
        self.db, self.audit, self.policy, self.sink = db, audit, policy, sink
        self.fence: Claim | None = None
        """The claim of the run this ledger serves (`for_run`); None: writes are unfenced."""

    def for_run(self, sink: DurableAuditSink, fence: Claim | None = None) -> DurableExecutionLedger:
        """This ledger for one run: its writes also carry the run's deferred audit events,
        and, with `fence` (the run's claim), are refused with `ClaimLost` once another
        process took the thread over."""
        run = DurableExecutionLedger(self.db, self.audit, self.policy, sink)
        run.fence = fence
        return run

    def _fence_in(self, conn: Conn) -> None:
        """Inside a write transaction: go on only while the run's claim is the latest."""
        if self.fence is not None:
            check_fence(conn, self.fence)

    def _lost(self, exc: BaseException, doing: str) -> ClaimLost | None:
        """The `ClaimLost` for the database's refusal of a fenced write, else None."""
        if isinstance(exc, ClaimLost):
            return exc
        if self.fence is not None and is_fence_error(exc):
            return claim_lost(self.fence.thread_id, self.fence.token, doing)
        return None

    def _defers(self) -> bool:
        return self.sink is not None and self.sink.defer

    def _defer_started(self, record: ExecutionRecord, data: Mapping[str, Any]) -> None:
        assert self.sink is not None
        when = {"started_at": iso_utc(record.started_at)}
        self.sink.deferred.append(self._started(record, {**data, **when}))

    def _consume_open(
        self, record: ExecutionRecord, now: datetime, approvals: DurableApprovalStore
    ) -> dict[str, Any] | None:
        """Consume the approval and open the ledger row, both or neither, in one commit,
        after its signature verified; who approved, or None (no usable approval, or the row
        exists: nothing changed). A signature that does not verify raises Undo("forged")."""
        params = (now, record.digest, now, *open_params(record))
        ring = approvals.ring
        if self.db.dialect == "postgres":
            mine = approvals.known(record.digest)
            if mine is not None:
                # This process holds a copy (it signed it, or read it with the review it
                # resumes): verify that copy first, then one statement, one round trip, its
                # own transaction, which consumes only the row carrying that very signature
                # (the insert reads the rows the update returns).
                why = why_refused(ring, mine, record, now)
                if why is not None:
                    raise Undo(FORGED, why, mine)
                signed = (*params[:3], mine.signature, *params[3:])
                sql, args = guarded(CONSUME_OPEN_SIGNED, signed, record, "postgres")
                with self.db.connection() as conn:
                    rows = fenced_all(conn, self.fence, sql, args, doing=_OPENING)
                    if not rows:  # no approval, the row exists, or a stop set since
                        check_stops(conn, record)
                if not rows:
                    return None
                return {"review_id": rows[0]["review_id"], "by": list(mine.reviewers)}
            # No copy here: consume and open in a transaction, verify what the statement
            # returned, and commit only if the signature holds.
            with self.db.transaction() as conn:
                self._fence_in(conn)
                rows = conn.all(*guarded(CONSUME_OPEN, params, record, "postgres"))
                if not rows:
                    check_stops(conn, record)
                return checked(ring, rows[0], record, now) if rows else None
        try:
            with self.db.transaction() as conn:
                self._fence_in(conn)
                # The write lock is held from BEGIN IMMEDIATE: no stop commits meanwhile.
                check_stops(conn, record)
                rows = conn.all(CONSUME_ROW, params[:3])
                if not rows:
                    raise Undo(NO_APPROVAL)
                who = checked(ring, rows[0], record, now)
                if not conn.all(OPEN, params[3:]):
                    raise Undo(NO_APPROVAL)
        except Undo as undo:
            if undo.outcome == "forged":
                raise
            return None
        return dict(who)

    def _forged(self, record: ExecutionRecord, undo: Undo) -> tuple[StartOutcome, None]:
        """Audit a refused approval (its step was rolled back: nothing consumed, nothing
        opened, nothing ran) with the run's deferred events before it, in order."""
        deferred = self._deferred()
        entry = forged_entry(record, undo)
        self.audit.append_all([*deferred, entry])
        self._written(deferred)
        return "forged", None

    def _deferred(self) -> list[AuditEntry]:
        return list(self.sink.deferred) if self.sink is not None else []

    def _written(self, entries: list[AuditEntry]) -> None:
        if self.sink is not None and entries:
            del self.sink.deferred[: len(entries)]

    def _insert(self, conn: Conn, record: ExecutionRecord, review_id: str | None) -> bool:
        """Open the ledger row (fenced by the run's claim); False when it existed. Outside a
        transaction the fence check rides in the same message as the insert."""
        params = (
            record.key,
            record.thread_id,
            review_id,
            record.tool,
            record.status,
            record.started_at,
            record.digest,
            record.tool_call_id,
        )
        sql, args = guarded(INSERT, params, record, conn.dialect)
        if conn.in_transaction:
            self._fence_in(conn)
            return bool(conn.all(sql, args))
        return bool(fenced_all(conn, self.fence, sql, args, doing=_OPENING))

    def _prior(self, conn: Conn, record: ExecutionRecord) -> ExecutionRecord | None:
        """The row that kept `record` from opening; StopsChanged when none did (its stops
        guard refused it)."""
        prior = self._get(conn, record.key)
        if prior is None and record.stops_seen is not None:
            raise stops_changed(record)
        return prior

    def _get(self, conn: Conn, key: str) -> ExecutionRecord | None:
        row = conn.one(f"SELECT {LEDGER_COLS} FROM interlock_executions WHERE digest = ?", (key,))
        return None if row is None else record_of(row)

    def _started(self, record: ExecutionRecord, data: Mapping[str, Any]) -> AuditEntry:
        return AuditEntry(
            event="execution_started",
            actor="interlock-executor",
            thread_id=record.thread_id,
            digest=record.digest,
            data={"tool": record.tool, "tool_call_id": record.tool_call_id, **data},
        )

    def start(self, record: ExecutionRecord) -> ExecutionRecord | None:
        if self._defers():
            with self.db.connection() as conn:
                opened = self._insert(conn, record, None)
                if not opened:
                    return self._prior(conn, record)
            self._defer_started(record, {"approved": False})
            return None
        deferred = self._deferred()
        with self.db.transaction() as conn:
            if not self._insert(conn, record, None):
                return self._prior(conn, record)
            entries = [*deferred, self._started(record, {"approved": False})]
            self.audit.append_all(entries, conn=conn)
        self._written(deferred)
        return None

    def consume_and_start(
        self, record: ExecutionRecord, *, approvals: ApprovalStore, now: datetime
    ) -> tuple[StartOutcome, ExecutionRecord | None]:
        if not (isinstance(approvals, DurableApprovalStore) and approvals.db is self.db):
            # Stores on different databases cannot share a transaction.
            return consume_then_start(approvals, self, record, now=now)
        if self._defers():
            try:
                by = self._consume_open(record, now, approvals)
            except Undo as undo:
                return self._forged(record, undo)
            if by is None:
                prior = self.get(record.key)
                return ("exists", prior) if prior is not None else ("no_approval", None)
            self._defer_started(record, {"approved": True, **by})
            return "started", None
        deferred = self._deferred()
        try:
            with self.db.transaction() as conn:
                # One round trip: consume, open the ledger row, lock the audit head. Either
                # refusal rolls all of it back.
                stops, used, opened, head = conn.fetch_all(
                    [
                        (STOPS_QUERY, ()),  # in the transaction: exact
                        (CONSUME_ROW, (now, record.digest, now)),
                        (OPEN, open_params(record)),
                        (head_query(conn.dialect), ()),
                    ]
                )
                check_stops(conn, record, stops)
                refused: StartOutcome | None = (
                    "exists" if not opened else "no_approval" if not used else None
                )
                if refused is not None:
                    raise Undo(refused)
                # Verified before the commit: a bad signature rolls all of it back.
                who = checked(approvals.ring, used[0], record, now)
                entries = [*deferred, self._started(record, {"approved": True, **who})]
                top = (int(head[0]["seq"]), str(head[0]["hash"])) if head else None
                self.audit.append_all(entries, conn=conn, head=top)
        except Undo as undo:
            if undo.outcome == "exists":
                return "exists", self.get(record.key)
            if undo.outcome == "forged":
                return self._forged(record, undo)
            return "no_approval", None
        self._written(deferred)
        return "started", None

    def finish(
        self, key: str, *, status: ExecutionStatus, result: str, now: datetime
    ) -> ExecutionRecord:
        """Record the outcome of the attempt still open (`started`); the row as it is now.
        A row marked in doubt (or finished) meanwhile is never overwritten, and a run that
        lost its claim is refused with `ClaimLost`, which carries the outcome it could not
        record (the engine audits it)."""
        ok = status == "succeeded"
        values = (status, result if ok else None, None if ok else result, now, key)
        try:
            with self.db.connection() as conn:
                # One message on Postgres: the fence check, the update and its commit.
                rows = fenced_all(conn, self.fence, FINISH_ROW, values, doing=_FINISHING)
                found = record_of(rows[0]) if rows else self._get(conn, key)
        except Exception as exc:
            lost = self._lost(exc, _FINISHING)
            if lost is None:
                raise
            lost.outcome = {"execution": key, "status": status, "result": result[:_KEPT_RESULT]}
            raise lost from None
        if found is None:
            msg = f"no execution-ledger row {key!r} to finish"
            raise NotFoundError(msg)
        return found

    def finish_audited(
        self,
        key: str,
        *,
        status: ExecutionStatus,
        result: str,
        now: datetime,
        event: AuditEvent,
        audit: AuditSink,
    ) -> ExecutionRecord:
        """`finish`, then `audit.record(event)` (the gate's event about the outcome). When
        `audit` is this run's sink, both go in ONE transaction, the run's deferred rows
        before the event: the outcome and its audit rows commit together, in two round trips
        instead of three (one commit instead of two on SQLite)."""
        if self.sink is None or audit is not self.sink or event["kind"] in DEFERRED:
            found = self.finish(key, status=status, result=result, now=now)
            audit.record(event)
            return found
        ok = status == "succeeded"
        values = (status, result if ok else None, None if ok else result, now, key)
        deferred = self._deferred()
        entries = [*deferred, self.sink.entry(event)]
        try:
            with self.db.transaction() as conn:
                self._fence_in(conn)
                rows, head = conn.fetch_all([(FINISH_ROW, values), (head_query(conn.dialect), ())])
                now_row = record_of(rows[0]) if rows else self._get(conn, key)
                if now_row is None:
                    msg = f"no execution-ledger row {key!r} to finish"
                    raise NotFoundError(msg)
                top = (int(head[0]["seq"]), str(head[0]["hash"])) if head else None
                self.audit.append_all(entries, conn=conn, head=top)
        except Exception as exc:
            lost = self._lost(exc, _FINISHING)
            if lost is None:
                raise
            lost.outcome = {"execution": key, "status": status, "result": result[:_KEPT_RESULT]}
            raise lost from None
        self._written(deferred)
        return now_row

    def get(self, key: str) -> ExecutionRecord | None:
        with self.db.connection() as conn:
            return self._get(conn, key)

    def fenced(self, claim: Claim) -> DurableExecutionLedger:
        """This ledger with writes fenced by `claim` (and no run sink)."""
        out = DurableExecutionLedger(self.db, self.audit, self.policy, self.sink)
        out.fence = claim
        return out

    def mark_in_doubt(self, key: str, *, detail: str, now: datetime) -> bool:
        """Mark a started-but-never-finished attempt in doubt and open an in-doubt review
        with what is known, in one transaction; False when the row was not `started` any
        more (it finished, or someone marked it already): nothing was changed.

        The log stays causal: the process that started the action may have deferred its
        `execution_started` row (it is written with the run's next write) and died or lost
        its claim before writing it, so when the log has none for the action, one is
        written here first, from the ledger row, before the in-doubt rows."""
        try:
            with self.db.transaction() as conn:
                self._fence_in(conn)
                if not mark_row(conn, self.audit, self.policy, key, detail, now):
                    return False
        except Exception as exc:
            lost = self._lost(exc, "marking an action in doubt")
            if lost is None:
                raise
            raise lost from None
        return True

    def report_lost(self, lost: ClaimLost) -> None:
        """After `lost`: write the run's deferred rows that are still true (an
        `execution_started` an in-doubt marking already wrote for it is not written twice),
        then `claim_lost` with the outcome the run could not record, in one transaction."""
        deferred = self._deferred()
        with self.db.transaction() as conn:
            write_lost(conn, self.audit, deferred, self.fence, lost)
        self._written(deferred)
