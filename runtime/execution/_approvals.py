"""Durable stores behind the nodes' seams: approvals, the execution ledger, the audit sink.

`DurableExecutionLedger.consume_and_start` consumes the approval and opens the ledger row in
ONE transaction (guarded execution calls it through `interlock.nodes.start_approved`): a
crash leaves either both or neither. Inside that step the approval's Ed25519 signature is
verified with the public keys alone (`KeyRing`): an unsigned, wrongly signed or replayed row
rolls the step back, runs nothing, comes back as "forged" and is audited `approval_forged`.
An attempt found `started` without an outcome is marked
`in_doubt` by `mark_in_doubt`, which also opens an in-doubt review so a human sees it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from interlock.nodes import Approval, ApprovalStore, ExecutionRecord, ExecutionStatus, StartOutcome
from interlock.risk import Policy
from interlock.risk.errors import NotFoundError
from interlock.runtime.audit._sink import DurableAuditSink
from interlock.runtime.audit._sql import head_query
from interlock.runtime.audit.log import AuditEntry, AuditLog
from interlock.runtime.review._in_doubt import open_in_doubt_review
from interlock.runtime.review._records import APPROVAL_COLUMNS, insert_approval
from interlock.runtime.review.signing import KeyRing
from interlock.runtime.store._claims import (
    Claim,
    ClaimLost,
    check_fence,
    claim_lost,
    fenced_all,
    is_fence_error,
)
from interlock.runtime.store._db import Conn, from_db_ts, iso_utc
from interlock.runtime.store.database import Database

__all__ = [
    "DurableApprovalStore",
    "DurableExecutionLedger",
    "consume_approval",
]

_REMEMBERED = 1024
_LEDGER_COLS = (
    "digest, thread_id, review_id, tool, status, result, error, started_at, finished_at, "
    "action_digest, tool_call_id"
)


def _approval(row: Mapping[str, Any]) -> Approval:
    issued, expires = from_db_ts(row["issued_at"]), from_db_ts(row["expires_at"])
    assert issued is not None
    assert expires is not None
    return Approval(
        digest=row["digest"],
        tool=row["tool"],
        thread_id=row["thread_id"],
        interrupt_id=row["interrupt_id"],
        tool_call_id=row["tool_call_id"],
        reviewers=tuple(json.loads(row["reviewers"])),
        roles=tuple(json.loads(row["roles"])),
        issued_at=issued,
        expires_at=expires,
        used_at=from_db_ts(row["consumed_at"]),
        review_id=row["review_id"] or "",
        action_index=int(row["action_index"]),
        policy_version=row["policy_version"] or "",
        key_id=row["key_id"] or "",
        signature=row["signature"] or "",
    )


def _record(row: Mapping[str, Any]) -> ExecutionRecord:
    started = from_db_ts(row["started_at"])
    assert started is not None
    status: ExecutionStatus = row["status"]
    return ExecutionRecord(
        key=row["digest"],
        digest=row["action_digest"] or row["digest"],
        tool=row["tool"],
        thread_id=row["thread_id"],
        tool_call_id=row["tool_call_id"],
        status=status,
        started_at=started,
        finished_at=from_db_ts(row["finished_at"]),
        result=row["result"] if row["result"] is not None else row["error"],
    )


_CONSUME = (
    "UPDATE interlock_approvals SET consumed_at = ? "
    "WHERE digest = ? AND consumed_at IS NULL AND expires_at > ?"
)
# The ledger row names the review its approval came from (read, not consumed, here: the
# consume in the same transaction decides whether the row stays).
_OPEN_ROW = (
    "SELECT ?, ?, (SELECT review_id FROM interlock_approvals WHERE digest = ?), ?, ?, "
    "NULL, NULL, ?, NULL, ?, ?"
)
_OPEN = (
    f"INSERT INTO interlock_executions ({_LEDGER_COLS}) {_OPEN_ROW} "
    "ON CONFLICT (digest) DO NOTHING RETURNING digest"
)


_CONSUME_ROW = f"{_CONSUME} RETURNING {APPROVAL_COLUMNS}"
# The row a signature was verified for, before the statement: it consumes only that row.
_CONSUME_SIGNED = f"{_CONSUME} AND signature = ?"


def _consume_open(consume: str) -> str:
    return (
        f"WITH used AS ({consume} RETURNING {APPROVAL_COLUMNS}), "
        f"opened AS (INSERT INTO interlock_executions ({_LEDGER_COLS}) {_OPEN_ROW} FROM used "
        "ON CONFLICT (digest) DO NOTHING RETURNING digest) "
        "SELECT used.* FROM used, opened"
    )


_CONSUME_OPEN = _consume_open(_CONSUME)
_CONSUME_OPEN_SIGNED = _consume_open(_CONSUME_SIGNED)


_INSERT = (
    f"INSERT INTO interlock_executions ({_LEDGER_COLS}) "
    "VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, NULL, ?, ?) ON CONFLICT (digest) DO NOTHING "
    "RETURNING digest"
)
# Only the attempt that is still open moves to its outcome: a row another process marked in
# doubt (or finished) stays as it is.
_FINISH = (
    "UPDATE interlock_executions SET status = ?, result = ?, error = ?, finished_at = ? "
    "WHERE digest = ? AND status = 'started'"
)
_OPENING = "opening an execution-ledger row"
_FINISHING = "recording the outcome of the tool it ran"
_KEPT_RESULT = 2000
"""Characters of a lost outcome kept in its `claim_lost` audit row."""

_NO_APPROVAL: StartOutcome = "no_approval"
_FORGED: StartOutcome = "forged"


class _Undo(Exception):
    def __init__(
        self, outcome: StartOutcome, why: str = "", approval: Approval | None = None
    ) -> None:
        super().__init__(outcome)
        self.outcome, self.why, self.approval = outcome, why, approval


def why_refused(ring: KeyRing, a: Approval, record: ExecutionRecord, now: datetime) -> str | None:
    """Why approval `a` may not start `record` (None: it may). The signature covers every
    field of `a`, so a row copied to another digest, thread, expiry or set of approvers fails
    it; the rest checks it names exactly this action."""
    why = ring.why_invalid(a)
    if why is None and (a.digest != record.digest or a.thread_id != record.thread_id):
        why = "the approval was signed for another action or thread"
    if why is None and a.expires_at <= now:
        why = "the approval has expired"
    return why


def _checked(ring: KeyRing, row: Mapping[str, Any], record: ExecutionRecord, now: datetime) -> Any:
    """Who approved, from a consumed row whose signature verifies; else raise _Undo."""
    a = _approval(row)
    why = why_refused(ring, a, record, now)
    if why is not None:
        raise _Undo(_FORGED, why, a)
    return {"review_id": row["review_id"], "by": list(a.reviewers)}


def _open_params(record: ExecutionRecord) -> tuple[Any, ...]:
    return (
        record.key,
        record.thread_id,
        record.digest,
        record.tool,
        record.status,
        record.started_at,
        record.digest,
        record.tool_call_id,
    )


def consume_approval(conn: Conn, digest: str, now: datetime) -> dict[str, Any] | None:
    """Mark the approval used when it is unused and unexpired; its row, or None."""
    rows = conn.fetch_all([(_CONSUME_ROW, (now, digest, now))])[0]
    return rows[0] if rows else None


class DurableApprovalStore:
    """Approvals in `interlock_approvals`. In strict mode only the decision service issues
    them (inside its decision transaction); `issue` exists for the protocol's sake (an
    unsigned approval it stores is refused at execution). `ring` holds the public keys that
    consuming verifies with; the default trusts no key."""

    def __init__(self, db: Database, ring: KeyRing | None = None) -> None:
        self.db = db
        self.ring = ring if ring is not None else KeyRing()
        self._issued: dict[str, Approval] = {}

    def known(self, digest: str) -> Approval | None:
        """The approval for `digest` as this process issued and signed it, if it did."""
        return self._issued.get(digest)

    def remember(self, approvals: Sequence[Approval]) -> None:
        """Approvals the caller just committed, so `issued` need not read them back."""
        for a in approvals:
            if len(self._issued) >= _REMEMBERED:
                self._issued.pop(next(iter(self._issued)))
            self._issued[a.digest] = a

    def issue(self, approval: Approval) -> Approval:
        with self.db.transaction() as conn:
            found = self.get_in(conn, approval.digest)
            if found is not None:
                return found
            review = conn.one(
                "SELECT id FROM interlock_reviews WHERE thread_id = ? AND interrupt_id = ? "
                "ORDER BY round DESC LIMIT 1",
                (approval.thread_id, approval.interrupt_id),
            )
            if review is None:
                msg = (
                    f"no review of thread {approval.thread_id!r} for interrupt "
                    f"{approval.interrupt_id!r}: approvals are issued for registered reviews."
                )
                raise NotFoundError(msg)
            insert_approval(conn, approval, review_id=review["id"], action_index=0)
        return approval

    def get_in(self, conn: Conn, digest: str) -> Approval | None:
        row = conn.one(
            f"SELECT {APPROVAL_COLUMNS} FROM interlock_approvals WHERE digest = ?", (digest,)
        )
        return None if row is None else _approval(row)

    def get(self, digest: str) -> Approval | None:
        with self.db.connection() as conn:
            return self.get_in(conn, digest)

    def issued(self, digest: str) -> bool:
        """Whether an approval was ever issued for `digest` (used or not). Approvals are
        never deleted, so one this process committed is known without a read."""
        return digest in self._issued or self.get(digest) is not None

    def consume(self, digest: str, *, now: datetime) -> Approval | None:
        """The approval, consumed, when it is unused, unexpired and its signature verifies;
        else None and nothing changed."""
        try:
            with self.db.transaction() as conn:
                row = consume_approval(conn, digest, now)
                if row is None:
                    return None
                found = _approval(row)
                if self.ring.why_invalid(found) is not None:
                    raise _Undo(_FORGED)
        except _Undo:
            return None
        return found


class DurableExecutionLedger:
    """The execution ledger in `interlock_executions`, one row per key."""

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
        exists: nothing changed). A signature that does not verify raises _Undo("forged")."""
        params = (now, record.digest, now, *_open_params(record))
        ring = approvals.ring
        if self.db.dialect == "postgres":
            mine = approvals.known(record.digest)
            if mine is not None:
                # This process signed it: verify that copy first, then one statement, one
                # round trip, its own transaction, which consumes only the row carrying that
                # very signature (the insert reads the rows the update returns).
                why = why_refused(ring, mine, record, now)
                if why is not None:
                    raise _Undo(_FORGED, why, mine)
                signed = (*params[:3], mine.signature, *params[3:])
                with self.db.connection() as conn:
                    rows = fenced_all(
                        conn, self.fence, _CONSUME_OPEN_SIGNED, signed, doing=_OPENING
                    )
                if not rows:
                    return None
                return {"review_id": rows[0]["review_id"], "by": list(mine.reviewers)}
            # Another process signed it: consume and open in a transaction, verify what the
            # statement returned, and commit only if the signature holds.
            with self.db.transaction() as conn:
                self._fence_in(conn)
                rows = conn.all(_CONSUME_OPEN, params)
                return _checked(ring, rows[0], record, now) if rows else None
        try:
            with self.db.transaction() as conn:
                self._fence_in(conn)
                rows = conn.all(_CONSUME_ROW, params[:3])
                if not rows:
                    raise _Undo(_NO_APPROVAL)
                who = _checked(ring, rows[0], record, now)
                if not conn.all(_OPEN, params[3:]):
                    raise _Undo(_NO_APPROVAL)
        except _Undo as undo:
            if undo.outcome == "forged":
                raise
            return None
        return dict(who)

    def _forged(self, record: ExecutionRecord, undo: _Undo) -> tuple[StartOutcome, None]:
        """Audit a refused approval (its step was rolled back: nothing consumed, nothing
        opened, nothing ran) with the run's deferred events before it, in order."""
        a = undo.approval
        deferred = self._deferred()
        entry = AuditEntry(
            event="approval_forged",
            actor="interlock-executor",
            thread_id=record.thread_id,
            review_id=(a.review_id or None) if a is not None else None,
            digest=record.digest,
            data={
                "tool": record.tool,
                "tool_call_id": record.tool_call_id,
                "reason": undo.why,
                "key_id": a.key_id if a is not None else "",
                "reviewers": list(a.reviewers) if a is not None else [],
            },
        )
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
        if conn.in_transaction:
            self._fence_in(conn)
            return bool(conn.all(_INSERT, params))
        return bool(fenced_all(conn, self.fence, _INSERT, params, doing=_OPENING))

    def _get(self, conn: Conn, key: str) -> ExecutionRecord | None:
        row = conn.one(f"SELECT {_LEDGER_COLS} FROM interlock_executions WHERE digest = ?", (key,))
        return None if row is None else _record(row)

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
                    return self._get(conn, record.key)
            self._defer_started(record, {"approved": False})
            return None
        deferred = self._deferred()
        with self.db.transaction() as conn:
            if not self._insert(conn, record, None):
                return self._get(conn, record.key)
            entries = [*deferred, self._started(record, {"approved": False})]
            self.audit.append_all(entries, conn=conn)
        self._written(deferred)
        return None

    def consume_and_start(
        self, record: ExecutionRecord, *, approvals: ApprovalStore, now: datetime
    ) -> tuple[StartOutcome, ExecutionRecord | None]:
        if not (isinstance(approvals, DurableApprovalStore) and approvals.db is self.db):
            # Stores on different databases cannot share a transaction: consume, then start.
            prior = self.get(record.key)
            if prior is not None:
                return "exists", prior
            if approvals.consume(record.digest, now=now) is None:
                return "no_approval", None
            prior = self.start(record)
            return ("exists", prior) if prior is not None else ("started", None)
        if self._defers():
            try:
                by = self._consume_open(record, now, approvals)
            except _Undo as undo:
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
                used, opened, head = conn.fetch_all(
                    [
                        (_CONSUME_ROW, (now, record.digest, now)),
                        (_OPEN, _open_params(record)),
                        (head_query(conn.dialect), ()),
                    ]
                )
                refused: StartOutcome | None = (
                    "exists" if not opened else "no_approval" if not used else None
                )
                if refused is not None:
                    raise _Undo(refused)
                # Verified before the commit: a bad signature rolls all of it back.
                who = _checked(approvals.ring, used[0], record, now)
                entries = [*deferred, self._started(record, {"approved": True, **who})]
                top = (int(head[0]["seq"]), str(head[0]["hash"])) if head else None
                self.audit.append_all(entries, conn=conn, head=top)
        except _Undo as undo:
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
            with self.db.transaction() as conn:
                self._fence_in(conn)
                conn.send(_FINISH, values)
                found = self._get(conn, key)
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
                row = conn.one(
                    f"SELECT {_LEDGER_COLS} FROM interlock_executions WHERE digest = ?", (key,)
                )
                changed = conn.execute(
                    "UPDATE interlock_executions SET status = 'in_doubt', error = ? "
                    "WHERE digest = ? AND status = 'started'",
                    (detail, key),
                )
                if row is None or changed != 1:
                    return False
                self._started_first(conn, row)
                open_in_doubt_review(conn, self.audit, self.policy, row, detail, now)
        except Exception as exc:
            lost = self._lost(exc, "marking an action in doubt")
            if lost is None:
                raise
            raise lost from None
        return True

    def _started_first(self, conn: Conn, row: Mapping[str, Any]) -> None:
        """Append the action's `execution_started` row unless the log has one (read after
        locking the audit head, so a writer of the deferred row cannot slip in between)."""
        digest = row["action_digest"] or row["digest"]
        found, seen = conn.fetch_all(
            [
                (head_query(conn.dialect), ()),
                (
                    "SELECT 1 AS seen FROM interlock_audit WHERE digest = ? "
                    "AND event = 'execution_started' LIMIT 1",
                    (digest,),
                ),
            ]
        )
        if seen or not found:
            return
        started = from_db_ts(row["started_at"])
        entry = AuditEntry(
            event="execution_started",
            actor="interlock-executor",
            thread_id=row["thread_id"],
            review_id=row["review_id"],
            digest=digest,
            data={
                "tool": row["tool"],
                "tool_call_id": row["tool_call_id"],
                "started_at": iso_utc(started) if started else None,
                "approved": row["review_id"] is not None,
                "recorded_by": "in-doubt marking (the starting process never wrote it)",
            },
        )
        self.audit.append_all([entry], conn=conn, head=(int(found[0]["seq"]), found[0]["hash"]))

    def report_lost(self, lost: ClaimLost) -> None:
        """After `lost`: write the run's deferred rows that are still true (an
        `execution_started` an in-doubt marking already wrote for it is not written twice),
        then `claim_lost` with the outcome the run could not record, in one transaction."""
        deferred = self._deferred()
        fence = self.fence
        with self.db.transaction() as conn:
            found = conn.fetch_all([(head_query(conn.dialect), ())])[0]
            started = {e.digest for e in deferred if e.event == "execution_started" and e.digest}
            have: set[str] = set()
            for digest in started:
                seen = conn.one(
                    "SELECT 1 AS seen FROM interlock_audit WHERE digest = ? "
                    "AND event = 'execution_started' LIMIT 1",
                    (digest,),
                )
                if seen:
                    have.add(digest)
            keep = [
                e for e in deferred if not (e.event == "execution_started" and e.digest in have)
            ]
            entry = AuditEntry(
                event="claim_lost",
                actor="interlock-executor",
                thread_id=fence.thread_id if fence else None,
                digest=None,
                data={"token": fence.token if fence else None, "reason": str(lost), **lost.outcome},
            )
            top = (int(found[0]["seq"]), str(found[0]["hash"])) if found else None
            self.audit.append_all([*keep, entry], conn=conn, head=top)
        self._written(deferred)
