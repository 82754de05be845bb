"""Guarded execution of one call: run it only if it is allowed now, or approved exactly as
it stands.

`CallRunner` assesses the call as it finds it in the state; nothing the state says about a
decision is trusted. (The one shortcut: an `allow` the router computed moments ago, in this
process, for the very same call object is reused, which keeps the autonomous path to one
assessment per call.) For a call that needs a human it recomputes the digest from the call
as it stands and consumes the matching approval from the store. A state edited by hand, or
a model that changed the arguments after an approval, finds no approval and is refused. The
ledger makes each action run at most once: a call whose earlier attempt started and never
finished is reported in doubt, not retried. The gated tool step (`_execute`) and the
`create_agent` middleware both run their calls through it.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, overload

from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphBubbleUp
from opentelemetry.trace import INVALID_SPAN, Span

from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._invoke import (
    ToolOutput,
    outcome_of,
    recorded,
)
from interlock.nodes._payloads import AuditEvent, ReviewRecord
from interlock.nodes._refusal import denial_text, stop_reason
from interlock.nodes._session import entry_of, record_entry
from interlock.nodes._stores import (
    ExecutionLedger,
    ExecutionRecord,
    ExecutionStatus,
    start_approved,
)
from interlock.nodes._toolspec import governed
from interlock.nodes._trace import current, end_execute, traced
from interlock.risk.errors import ExecutionRefused, StopsChanged

__all__ = ["CallRunner", "Cleared", "Guarded", "checks_stops", "remember", "stops_seen"]

_STOP_RETRIES = 5
"""Fresh assessments of one call when stop switches keep changing under it."""

_ATTEMPTS = 20
"""Attempts of one allowed call that keeps failing; past them its last failure is the answer."""

_KEPT_ERROR = 500
"""Characters of a failed approved call's exception that go back to the model."""


def checks_stops(ledger: ExecutionLedger) -> bool:
    """Whether `ledger` opens a row only while the stops are those the call was assessed
    with (`ExecutionRecord.stops_seen`), in the same statement: the runtime's does."""
    return bool(getattr(ledger, "checks_stops", False))


def stops_seen(scope: RunScope) -> frozenset[str]:
    ctx = scope.context
    return frozenset(
        [f"agent:{a}" for a in ctx.stopped_agents]
        + [f"environment:{e}" for e in ctx.stopped_environments]
    )


@dataclass(frozen=True)
class Cleared:
    """A call cleared to run: its ledger row is open (or it is an idempotent rerun)."""

    verdict: Verdict
    key: str
    digest: str
    approved: bool
    fresh: bool


def remember(runner: CallRunner, go: ToolMessage | Cleared, out: ToolOutput) -> ToolOutput:
    """`out` with the call's entry in the thread's history (`interlock.nodes._session`).
    A tool's `Command` result carries none: its messages are the tool's own."""
    if not isinstance(out, ToolMessage):
        return out
    v = runner.verdict
    if v.kind == "unknown_tool":
        return out
    if isinstance(go, Cleared):
        outcome = "failed" if out.status == "error" else ("approved" if go.approved else "allow")
    elif runner.ended is not None and runner.ended[0] == "in_doubt":
        outcome = "failed"  # it may have run
    elif runner.ended is not None and runner.ended[0] == "replayed":
        outcome = "allow" if out.status != "error" else "failed"
    elif runner.ended is not None and runner.ended[0] == "refused":
        outcome = "refused"
    else:
        outcome = "rejected" if v.kind == "rejected" else "denied"
    session = runner.scope.context.session
    entry = entry_of(runner.gate, v, outcome, out.content, runner.scope.context.now, session)
    return record_entry(out, entry)


class CallRunner:
    """Guarded execution of one call. `lock` is the tool step's: the calls of one step run
    in parallel, their ledger and audit writes one at a time (a run's stores and its deferred
    audit events serve one caller at a time)."""

    verdict: Verdict  # what traces report (interlock.nodes._trace.Settled): set as it settles
    record: ReviewRecord | None = None
    ended: tuple[str, str | None] | None = None

    def __init__(self, gate: Gate, scope: RunScope, lock: threading.Lock | None = None) -> None:
        self.gate, self.scope = gate, scope
        self.lock: threading.Lock = lock if lock is not None else threading.Lock()

    def settle(
        self,
        call: ToolCall,
        rec: ReviewRecord | None,
        ai_id: str | None,
        rejected: Any,
        verdict: Verdict | None = None,
    ) -> ToolMessage | Cleared:
        """Assess `call` (or take `verdict`, the caller's assessment of this very call under
        this runner's scope) and run it or refuse it; assessed again on a fresh read of the
        stops when the ledger finds one set since (nothing ran then)."""
        if verdict is None or verdict.call is not call:
            verdict = self.gate.assess_call(call, self.scope, rejected, reuse=True)
        if stop_reason(verdict) and checks_stops(self.scope.ledger):
            # The view may predate a stop's lifting: a stop refuses only as it is now.
            fresh = self.gate.restop(self.scope)
            if fresh is not self.scope:
                self.scope = fresh
                verdict = self.gate.assess_call(call, fresh, rejected, reuse=False)
        for _ in range(_STOP_RETRIES):
            try:
                return self.run(verdict, rec, ai_id)
            except StopsChanged:
                self.scope = self.gate.restop(self.scope)
                verdict = self.gate.assess_call(call, self.scope, rejected, reuse=False)
        return self.refuse(verdict, "the stop switches kept changing while it was checked.", None)

    def refuse(self, v: Verdict, reason: str, digest: str | None) -> ToolMessage:
        err = ExecutionRefused(
            f"Refused to run {v.call['name']}: {reason} It was not run. If it is still needed, "
            "propose it again so that a reviewer can decide on it as it stands."
        )
        level = v.assessment.level if v.assessment else None
        self.verdict, self.ended = v, ("refused", digest)
        self.gate.event(
            self.scope, "refused", v.call, digest=digest, level=level, detail=str(err), verdict=v
        )
        return self._msg(v, str(err), "error")

    def _msg(self, v: Verdict, content: str, status: str) -> ToolMessage:
        return ToolMessage(
            content=content, tool_call_id=v.call["id"] or "", name=v.call["name"], status=status
        )

    def run(self, v: Verdict, rec: ReviewRecord | None, ai_id: str | None) -> ToolMessage | Cleared:
        """The refusal for `v`, or its clearance to run (the ledger row is open by then)."""
        call, gate, scope = v.call, self.gate, self.scope
        name, args = call["name"], call.get("args") or {}
        self.verdict, self.record, self.ended = v, rec, None
        if v.kind == "unknown_tool":
            gate.event(scope, "unknown_tool", call, detail=v.note)
            return self._msg(v, v.note, "error")
        if v.kind in ("deny", "rejected"):
            stopped = stop_reason(v)
            if stopped and rec is not None and rec.get("decision") in ("approve", "edit"):
                # Approved before the stop: an approval never outlasts a stop.
                digest = gate.digest(name, args, scope, rec.get("interrupt_id"))
                why = f"{stopped} It was approved before the stop; a stop overrides approvals."
                return self.refuse(v, why, digest)
            level = v.assessment.level if v.assessment else None
            detail = v.note or stopped
            gate.event(scope, "denied", call, outcome=v.kind, level=level, detail=detail, verdict=v)
            return self._msg(v, denial_text(v), "error")
        if v.kind == "allow":
            digest = gate.digest(name, args, scope, None)
            # One run per proposed call: the thread, the model turn and the call id name it.
            key = f"allow:{scope.thread_id}:{ai_id}:{call['id']}"
            return self._execute(v, key, digest, approved=False)
        # review: it runs only with an approval for exactly this action.
        if rec is None or rec.get("decision") not in ("approve", "edit"):
            return self.refuse(v, "it needs a human decision and has none.", None)
        digest = gate.digest(name, args, scope, rec.get("interrupt_id"))
        # The approval is consumed in the same step (one transaction, where the ledger can)
        # that opens the ledger row: never one without the other. A row already there (an
        # earlier attempt) comes back as "exists", with nothing consumed.
        outcome, prior = start_approved(
            scope.approvals, scope.ledger, self._record(v, digest, digest), now=scope.context.now
        )
        if outcome == "exists" and prior is not None:
            return self._replay(v, prior)
        if outcome == "forged":
            reason = (
                f"the approval stored for this action (digest {digest[:12]}...) does not carry "
                "a valid reviewer signature; it was refused and nothing ran."
            )
            return self.refuse(v, reason, digest)
        if outcome != "started":
            reason = (
                f"no valid approval matches this exact action (digest {digest[:12]}...). "
                "Its arguments, the policy or the review changed since it was approved, or the "
                "approval was already used or has expired."
            )
            return self.refuse(v, reason, digest)
        return Cleared(v, digest, digest, approved=True, fresh=True)

    def _record(self, v: Verdict, key: str, digest: str) -> ExecutionRecord:
        return ExecutionRecord(
            key=key,
            digest=digest,
            tool=v.call["name"],
            thread_id=self.scope.thread_id,
            tool_call_id=v.call["id"] or "",
            status="started",
            started_at=self.scope.context.now,
            stops_seen=stops_seen(self.scope) if checks_stops(self.scope.ledger) else None,
        )

    def _replay(self, v: Verdict, done: ExecutionRecord) -> ToolMessage | Cleared:
        unknown = done.status in ("started", "in_doubt")
        if unknown and not (v.spec and v.spec.idempotent):
            text = (
                f"IN DOUBT: an earlier attempt to run {v.call['name']} started and never "
                "reported an outcome. It was not retried; a human must check what happened."
            )
            if done.status == "started":
                # A durable ledger also puts the action in front of a human here.
                mark = getattr(self.scope.ledger, "mark_in_doubt", None)
                if (
                    callable(mark)
                    and mark(done.key, detail=text, now=self.scope.context.now) is False
                ):
                    # Not marked: the attempt finished meanwhile. Its outcome is the answer.
                    now = self.scope.ledger.get(done.key)
                    if now is not None and now.status in ("succeeded", "failed"):
                        return self._replay(v, now)
                self.gate.event(
                    self.scope, "in_doubt", v.call, digest=done.digest, detail=text, verdict=v
                )
            self.ended = ("in_doubt", done.digest)
            return self._msg(v, text, "error")
        if unknown:
            if checks_stops(self.scope.ledger) and self.gate.restop(self.scope) is not self.scope:
                # A rerun opens no ledger row to check the stops: read them fresh first.
                msg = f"the stop switches changed before {v.call['name']} reran"
                raise StopsChanged(msg)
            return Cleared(v, done.key, done.digest, approved=True, fresh=False)
        status = "success" if done.status == "succeeded" else "error"
        self.ended = ("replayed", done.digest)  # answered from the ledger: nothing ran
        return self._msg(v, done.result or "", status)

    def _execute(
        self, v: Verdict, key: str, digest: str, *, approved: bool
    ) -> ToolMessage | Cleared:
        attempt, n = key, 1
        while True:
            prior = self.scope.ledger.start(self._record(v, attempt, digest))
            if prior is None:
                return Cleared(v, attempt, digest, approved=approved, fresh=True)
            if prior.status != "failed" or n >= _ATTEMPTS:
                return self._replay(v, prior)
            # An allowed call that failed runs again when the thread is retried, as ToolNode
            # reruns it (and as ToolRetryMiddleware asks): each attempt has its own row.
            n += 1
            attempt = f"{key}#{n}"

    @overload
    def _invoke(
        self, go: Cleared, run_tool: Callable[[], Awaitable[ToolOutput]], span: Span = ...
    ) -> Awaitable[ToolOutput]: ...
    @overload
    def _invoke(
        self, go: Cleared, run_tool: Callable[[], ToolOutput], span: Span = ...
    ) -> ToolOutput: ...
    def _invoke(self, go: Cleared, run_tool: Callable[[], Any], span: Span = INVALID_SPAN) -> Any:
        """Run the cleared call (ToolNode's path) and record how it ended. An async call
        comes back as an awaitable that records its outcome when it is done. `span`, the
        call's `interlock.execute` span, is current while the tool runs and ends with it."""
        run = governed(run_tool, go.verdict.call["name"])  # @gated tools run here only
        try:
            if span.is_recording():
                with current(span):
                    out = run()
            else:
                out = run()
        except GraphBubbleUp:
            end_execute(span, ledger="started", status="interrupted")
            raise
        except Exception as exc:  # handle_tool_errors let it through: recorded, then raised
            self._close(go, None, exc, span)
            if go.approved:
                return self._spent(go, exc)
            raise
        if inspect.isawaitable(out):
            pending = traced(span, out) if span.is_recording() else out
            spent = (lambda exc: self._spent(go, exc)) if go.approved else None
            return recorded(pending, lambda got, exc: self._close(go, got, exc, span), spent)
        self._close(go, out, None, span)
        return out

    def _spent(self, go: Cleared, exc: Exception) -> ToolMessage:
        """The answer to an approved call that raised. Not re-raised, unlike an allowed
        call's error: the approval is used, so a retry of the step could only answer from
        the ledger, and the review must not stay pending beside a failed attempt (another
        decision on it would be taken and ignored). The thread goes on to the model."""
        name = go.verdict.call["name"]
        error = f"{type(exc).__name__}: {exc}"[:_KEPT_ERROR]
        text = (
            f"{name} was approved and started, and it failed with {error}. It was not "
            "retried: the approval is used. If it is still needed, propose it again for a "
            "fresh review."
        )
        return self._msg(go.verdict, text, "error")

    def _close(
        self, go: Cleared, out: ToolOutput | None, exc: Exception | None, span: Span = INVALID_SPAN
    ) -> None:
        """Close the ledger row with the call's outcome (`out`, or the exception) and audit it."""
        v, scope = go.verdict, self.scope
        ok, text = outcome_of(out, exc, v.call["id"] or "")
        status: ExecutionStatus = "succeeded" if ok else "failed"
        with self.lock:
            now, joint = self.gate.clock(), getattr(scope.ledger, "finish_audited", None)
            if joint is None:  # a ledger that records the outcome on its own, then the event
                scope.ledger.finish(go.key, status=status, result=text, now=now)

            def finish_with(event: AuditEvent) -> None:
                # The outcome and its audit event in one write, where the ledger can.
                assert joint is not None
                joint(go.key, status=status, result=text, now=now, event=event, audit=scope.audit)

            level = v.assessment.level if v.assessment else None
            self.gate.event(
                scope,
                "executed" if ok else "failed",
                v.call,
                digest=go.digest,
                level=level,
                outcome="approved" if go.approved else "allow",
                detail="" if go.fresh else "retried",
                verdict=v,
                to=None if joint is None else finish_with,
            )
        ledger = "started" if go.fresh else "rerun"
        end_execute(span, ledger=ledger, status="succeeded" if ok else "failed")


Guarded = tuple[CallRunner, ToolMessage | Cleared, Span, RunnableConfig, dict[str, Any] | None]
