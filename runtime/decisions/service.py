"""The decision service: the ONLY writer of decisions.

`decide()` takes the reviewer from authentication (a `Principal`), never from the payload
(any `reviewer` key sent is replaced). It validates with the nodes' own rules, authorises
(a role at or above the required rung; nobody approves their own run's action; N-of-M needs
N different people), checks the review is current (still pending, not expired, its
interrupt still live on the thread's latest checkpoint), then records the decision, issues
the single-use approval bound to the action digest and writes the audit row in ONE
transaction. Only the winner of that transaction resumes the thread, under the thread's
claim, addressing the interrupt by id. Refusals change nothing; refusals that matter for
oversight (stale or replayed decisions: someone decided first, the thread moved on, the
review expired) are audited as `decision_refused`; a malformed decision, a missing role or a
self-approval leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from interlock.risk import Policy
from interlock.risk.errors import (
    AuthorizationError,
    ConflictError,
    DecisionError,
    InterlockError,
)
from interlock.runtime.audit.log import SYSTEM_ACTOR, AuditLog
from interlock.runtime.decisions._commit import (
    Committed,
    Prepared,
    stale_message,
)
from interlock.runtime.decisions._failures import denied_message, give_back, is_integrity
from interlock.runtime.decisions._guard import require_principal
from interlock.runtime.decisions._outcome import (
    DecisionOutcome,
    OutcomeStatus,
    outcome_of,
    span_end,
    span_start,
    with_changes,
)
from interlock.runtime.decisions._record import record
from interlock.runtime.execution._thread_read import (
    Current,
    moved_on,
    read_current,
)
from interlock.runtime.review._records import REVIEW_COLUMNS
from interlock.runtime.review.inbox import Inbox
from interlock.runtime.review.reviewers import Reviewer
from interlock.runtime.store._claims import Claim
from interlock.runtime.store._db import Conn
from interlock.runtime.store.database import Database

if TYPE_CHECKING:
    from interlock.runtime.execution._runner import Engine, Update
    from interlock.runtime.review.signing import Signer

__all__ = ["SYSTEM_ACTOR", "DecisionOutcome", "DecisionService"]


class DecisionService:
    def __init__(
        self,
        *,
        db: Database,
        audit: AuditLog,
        policy: Policy,
        inbox: Inbox,
        engine: Callable[[], Engine],
        clock: Callable[[], datetime],
        signer: Callable[[], Signer],
        approval_ttl: timedelta = timedelta(hours=1),
    ) -> None:
        self.db, self.audit, self.policy, self.inbox = db, audit, policy, inbox
        self._engine, self.clock, self.approval_ttl = engine, clock, approval_ttl
        self._signer = signer  # loaded on the first decision: only deciders hold the key

    # -- refusals ---------------------------------------------------------------------------
    def _refuse(self, row: Mapping[str, Any], reviewer: Reviewer, exc: InterlockError) -> NoReturn:
        self.audit.append(
            "decision_refused",
            actor=reviewer.name,
            thread_id=row["thread_id"],
            review_id=row["id"],
            data={"error": type(exc).__name__, "reason": str(exc)},
        )
        raise exc

    def _row(self, review_id: Any) -> dict[str, Any]:
        if not isinstance(review_id, str):
            msg = f"a review id is text such as 'rv-3f9a2c1b7e20', got {type(review_id).__name__}."
            raise DecisionError(msg)
        with self.db.connection() as conn:
            return self.inbox.row(conn, review_id)

    # -- deciding ---------------------------------------------------------------------------
    def decide(
        self,
        review_id: str,
        decision: Any,
        *,
        reviewer: Reviewer,
        action: int = 0,
        resume: bool = True,
        on_update: Update | None = None,
    ) -> DecisionOutcome:
        """Decide one action of a review (`action` counts from 0)."""
        if isinstance(action, bool) or not isinstance(action, int):
            msg = f"action is the index of an action (0, 1, ...), got {action!r}."
            raise DecisionError(msg)
        return self._decide(review_id, {action: decision}, reviewer, resume, on_update)

    def decide_all(
        self,
        review_id: str,
        decisions: Sequence[Any],
        *,
        reviewer: Reviewer,
        resume: bool = True,
        on_update: Update | None = None,
    ) -> DecisionOutcome:
        """Decide every action of a review at once, in order, in one transaction."""
        if not isinstance(decisions, list | tuple):
            got = type(decisions).__name__
            msg = f"decide_all takes a list with one decision per action, got {got}."
            raise DecisionError(msg)
        row = self._row(review_id)
        if len(decisions) != int(row["action_count"]):
            msg = (
                f"review {row['id']} holds {row['action_count']} action(s) and needs one "
                f"decision each, in order; received {len(decisions)}."
            )
            raise DecisionError(msg)
        return self._decide(row["id"], dict(enumerate(decisions)), reviewer, resume, on_update)

    def _decide(
        self,
        review_id: str,
        items: Mapping[int, Any],
        reviewer: Reviewer,
        resume: bool,
        on: Update | None,
    ) -> DecisionOutcome:
        """`_decide_now` in an `interlock.decision` span (the resume it carries nests in it)."""
        from interlock.nodes import trace_span  # LangGraph: not for `interlock --help`

        start = span_start(review_id, reviewer.name, items)
        with trace_span("interlock.decision", start) as span:
            return span_end(span, self._decide_now(review_id, items, reviewer, resume, on))

    def _decide_now(
        self,
        review_id: str,
        items: Mapping[int, Any],
        reviewer: Reviewer,
        resume: bool,
        on: Update | None,
    ) -> DecisionOutcome:
        require_principal(self.audit, reviewer, review_id)
        signer = self._signer()  # a process without the signing key stops here, unchanged
        engine = self._engine()
        # A signing process builds only configured graphs (names come from agent-written rows).
        engine.registry.only_configured()
        if not engine.local:
            # A served thread's state is read over HTTP, which may write to the inbox: done
            # before the transaction locks the review.
            review_id = self._check_served(engine, review_id, reviewer)
        claim: Claim | None = None
        cur: Current | None = None
        # Deciding and resuming in this process: the decision's commit need not wait for the
        # disk, because the resume commits durably (LangGraph's checkpoint, the execution
        # ledger) before anything acts on it. Every other way out makes it durable first.
        relaxed = resume and engine.local
        with self.db.connection() as conn:  # held to the end: on Postgres it owns the claim
            failed, recorded = True, False
            try:
                try:
                    with self.db.begin(conn, durable=not relaxed) as tx:
                        cur = self._current(tx, engine, review_id, claim=resume and engine.local)
                        claim = cur.claim
                        prepared, done = self._record(tx, engine, cur, items, reviewer, signer)
                except ConflictError as exc:
                    assert cur is not None
                    self._refuse(cur.row, reviewer, exc)
                except InterlockError:
                    raise
                except Exception as exc:
                    if cur is None or not is_integrity(exc):
                        raise
                    rid = cur.row["id"]
                    msg = f"another decision on review {rid} won the race; yours was not applied."
                    self._refuse(cur.row, reviewer, ConflictError(msg))
                recorded = True
                if relaxed and not (done.settled and claim is not None):
                    self._make_durable(cur.row["id"])
                try:
                    out = self._after(engine, cur, prepared, done, claim, resume, on, conn)
                except BaseException:
                    if relaxed:  # the resume failed before committing anything durably
                        with suppress(Exception):
                            self._make_durable(cur.row["id"])
                    raise
                failed = False
                return out
            except Exception as exc:
                if getattr(exc, "sqlstate", None) != "42501":
                    raise
                raise AuthorizationError(denied_message(exc, recorded)) from None
            finally:
                if claim is not None:
                    give_back(engine, conn, claim, failed=failed)

    def _make_durable(self, review_id: str) -> None:
        """Commit a write durably after a relaxed commit: the log is ordered, so this flushes
        the decision too. Rewriting the review's own row is a write that changes nothing."""
        with self.db.transaction() as conn:
            conn.send(
                "UPDATE interlock_reviews SET decided_at = decided_at WHERE id = ?", (review_id,)
            )

    def _current(self, conn: Conn, engine: Engine, review_id: Any, *, claim: bool) -> Current:
        if not isinstance(review_id, str):
            msg = f"a review id is text such as 'rv-3f9a2c1b7e20', got {type(review_id).__name__}."
            raise DecisionError(msg)
        args = {"checkpoints": engine.local, "claim": claim}
        cur = read_current(conn, engine.locks, review_id.strip(), **args)
        if cur is None:  # a unique prefix of an id, or a clear "no such review"
            full = self.inbox.row(conn, review_id)["id"]
            cur = read_current(conn, engine.locks, full, **args)
            assert cur is not None
        return cur

    def _record(
        self,
        conn: Conn,
        engine: Engine,
        cur: Current,
        items: Mapping[int, Any],
        reviewer: Reviewer,
        signer: Signer,
    ) -> tuple[list[Prepared], Committed]:
        """Every check, then the writes (`_record.record`)."""
        return record(
            conn,
            self.audit,
            self.policy,
            engine,
            cur,
            items,
            reviewer,
            now=self.clock(),
            approval_ttl=self.approval_ttl,
            signer=signer,
        )

    def _check_served(self, engine: Engine, review_id: str, reviewer: Reviewer) -> str:
        row = self._row(review_id)
        live = row["status"] == "pending" and row["kind"] == "review"
        if live and row["interrupt_id"] not in engine.live(row["thread_id"]).interrupts:
            self._refuse(row, reviewer, ConflictError(moved_on(row)))
        return str(row["id"])

    def _after(
        self,
        engine: Engine,
        cur: Current,
        prepared: list[Prepared],
        done: Committed,
        claim: Claim | None,
        resume: bool,
        on: Update | None,
        held: Conn | None = None,
    ) -> DecisionOutcome:
        """The decision is committed: report it, and resume the thread when it settled
        (`held`: the connection that holds `claim`)."""
        engine.approvals.remember(done.issued)
        notes = tuple(
            f"{p.action.get('name')}: the edited action goes back to review: {p.edit.why}"
            for p in prepared
            if p.edit is not None and p.edit.why
        )
        base = DecisionOutcome(
            review_id=cur.row["id"],
            thread_id=cur.row["thread_id"],
            status="waiting",
            approvals=done.approvals,
            notes=notes,
        )
        if not done.settled:
            return base
        if not resume:
            return with_changes(base, status="queued", thread_status="pending")
        status: OutcomeStatus = "escalated" if done.escalated else "resumed"
        if claim is None:  # a served thread, or another process holds it: the usual way
            return self.carry(base, status, on)
        # Still under the claim taken with the review's lock: nobody can have moved the
        # thread, so the resume is built from what this transaction wrote.
        return outcome_of(base, status, engine.resume_held(cur, done.decisions, on, held=held))

    def carry(
        self, base: DecisionOutcome, status: OutcomeStatus, on: Update | None
    ) -> DecisionOutcome:
        return outcome_of(base, status, self._engine().resume(base.review_id, on))

    # -- for workers ------------------------------------------------------------------------
    def resume(self, review_id: str, *, on_update: Update | None = None) -> DecisionOutcome:
        """Carry a settled review into its thread (what a worker does with a queued one)."""
        row = self._row(review_id)
        base = DecisionOutcome(review_id=row["id"], thread_id=row["thread_id"], status="queued")
        if row["status"] == "pending":
            return with_changes(base, status="waiting")
        if row["status"] == "cancelled":
            with self.db.connection() as conn:
                raise ConflictError(stale_message(conn, row))
        return self.carry(base, "resumed", on_update)

    def resume_listed(self, review_id: str) -> DecisionOutcome | None:
        """`resume` of an id `unresumed` listed, as a worker calls it: a settled review never
        goes back to pending or cancelled, so the engine's read under the thread's claim is
        the only one (one round trip fewer). None when another process carried it in since it
        was listed: this call did nothing. A served thread takes the usual way."""
        engine = self._engine()
        if not engine.local:
            return self.resume(review_id)
        result = engine.resume(review_id)
        if not (result.ran or result.busy):
            return None
        thread_id = result.thread_id or ""
        base = DecisionOutcome(review_id=review_id, thread_id=thread_id, status="queued")
        return outcome_of(base, "resumed", result)

    def resume_due(self, *, limit: int = 100) -> list[DecisionOutcome]:
        """Resume settled reviews whose thread has not run on yet, oldest first."""
        return [self.resume(review_id) for review_id in self.unresumed(limit=limit)]

    def unresumed(self, *, limit: int = 100) -> list[str]:
        """Settled reviews whose thread has not run on yet, oldest decision first."""
        with self.db.connection() as conn:
            rows = conn.all(
                "SELECT id FROM interlock_reviews WHERE resumed_at IS NULL "
                "AND status IN ('decided', 'escalated', 'expired') ORDER BY decided_at LIMIT ?",
                (limit,),
            )
        return [r["id"] for r in rows]

    def expire_due(self, now: datetime | None = None, *, limit: int = 100) -> list[DecisionOutcome]:
        from interlock.runtime.decisions._expiry import expire_due

        return expire_due(self, now or self.clock(), limit)

    def resolve(self, review_id: str, *, ran: bool, reviewer: Reviewer, note: str = "") -> str:
        from interlock.runtime.decisions._expiry import resolve_in_doubt

        require_principal(self.audit, reviewer, review_id)
        return resolve_in_doubt(self, review_id, ran=ran, reviewer=reviewer, note=note)

    def rows_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        with self.db.connection() as conn:
            return conn.all(
                f"SELECT {REVIEW_COLUMNS} FROM interlock_reviews WHERE status = 'pending' "
                "AND kind = 'review' AND expires_at IS NOT NULL AND expires_at <= ? "
                "ORDER BY expires_at LIMIT ?",
                (now, limit),
            )
