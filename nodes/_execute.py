"""Guarded execution: run a call only if it is allowed now, or approved exactly as it stands.

The node assesses every call as it finds it in the state; nothing the state says about a
decision is trusted. (The one shortcut: an `allow` the router computed moments ago, in this
process, for the very same call object is reused, which keeps the autonomous path to one
assessment per call.) For a call that needs a human it recomputes the digest from the call
as it stands and consumes the matching approval from the store. A state edited by hand, or
a model that changed the arguments after an approval, finds no approval and is refused. The
ledger makes each action run at most once: a call whose earlier attempt started and never
finished is reported in doubt, not retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import ToolCall, ToolMessage
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._payloads import ReviewRecord
from interlock.nodes._state import last_ai_message, open_calls
from interlock.nodes._stops import ROUTING_MAX_AGE
from interlock.nodes._stores import ExecutionLedger, ExecutionRecord, start_approved
from interlock.risk.errors import ExecutionRefused, StopsChanged

__all__ = ["denial_text", "make_execute_node", "stop_reason"]


def stop_reason(v: Verdict) -> str:
    """Why the call's scope is stopped ("" when it is not): the engine's stop-switch reason."""
    a = v.assessment
    if a is None or a.outcome != "deny":
        return ""
    return next((r.text for r in a.reasons if r.rule == "stop-switch"), "")


def denial_text(v: Verdict) -> str:
    name = v.call["name"]
    if v.kind == "rejected":
        return (
            f"REFUSED: a human reviewer already rejected this exact call to {name} "
            f"({v.note}). It was not run. Do not propose it again."
        )
    a = v.assessment
    reasons = "; ".join(r.text for r in a.reasons) if a else "the policy forbids it"
    risk = f" (risk {a.score}/100, {a.level})" if a else ""
    return (
        f"DENIED by policy{risk}: {name} was not run. Why: {reasons} "
        "Do not retry it; choose a safer action or ask a human."
    )


_STOP_RETRIES = 5
"""Fresh assessments of one call when stop switches keep changing under it."""


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


class _Runner:
    def __init__(self, gate: Gate, scope: RunScope) -> None:
        self.gate, self.scope = gate, scope

    def settle(
        self, call: ToolCall, rec: ReviewRecord | None, ai_id: str | None, rejected: Any
    ) -> ToolMessage:
        """Assess `call` and run it or refuse it; assessed again on a fresh read of the
        stops when the ledger finds one set since (nothing ran then)."""
        verdict = self.gate.assess_call(call, self.scope, rejected, reuse=True)
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
        self.gate.event(
            self.scope, "refused", v.call, digest=digest, level=level, detail=str(err), verdict=v
        )
        return self._msg(v, str(err), "error")

    def _msg(self, v: Verdict, content: str, status: str) -> ToolMessage:
        return ToolMessage(
            content=content, tool_call_id=v.call["id"] or "", name=v.call["name"], status=status
        )

    def run(self, v: Verdict, rec: ReviewRecord | None, ai_id: str | None) -> ToolMessage:
        call, gate, scope = v.call, self.gate, self.scope
        name, args = call["name"], call.get("args") or {}
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
        return self._invoke(v, digest, digest, approved=True, fresh=True)

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

    def _replay(self, v: Verdict, done: ExecutionRecord) -> ToolMessage:
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
            return self._msg(v, text, "error")
        if unknown:
            if checks_stops(self.scope.ledger) and self.gate.restop(self.scope) is not self.scope:
                # A rerun opens no ledger row to check the stops: read them fresh first.
                msg = f"the stop switches changed before {v.call['name']} reran"
                raise StopsChanged(msg)
            return self._invoke(v, done.key, done.digest, approved=True, fresh=False)
        status = "success" if done.status == "succeeded" else "error"
        return self._msg(v, done.result or "", status)

    def _execute(self, v: Verdict, key: str, digest: str, *, approved: bool) -> ToolMessage:
        prior = self.scope.ledger.start(self._record(v, key, digest))
        if prior is not None:
            return self._replay(v, prior)
        return self._invoke(v, key, digest, approved=approved, fresh=True)

    def _invoke(
        self, v: Verdict, key: str, digest: str, *, approved: bool, fresh: bool
    ) -> ToolMessage:
        call, scope = v.call, self.scope
        tool = self.gate.tools[call["name"]]
        try:
            out = tool.invoke(
                {
                    "type": "tool_call",
                    "name": call["name"],
                    "args": call.get("args") or {},
                    "id": call["id"],
                }
            )
            msg = out if isinstance(out, ToolMessage) else self._msg(v, str(out), "success")
        except GraphBubbleUp:
            raise
        except Exception as exc:  # the model hears about a failure; the ledger records it
            msg = self._msg(
                v, f"Error: {call['name']} failed: {type(exc).__name__}: {exc}", "error"
            )
        ok = msg.status != "error"
        text = msg.content if isinstance(msg.content, str) else str(msg.content)
        scope.ledger.finish(
            key, status="succeeded" if ok else "failed", result=text, now=self.gate.clock()
        )
        level = v.assessment.level if v.assessment else None
        self.gate.event(
            scope,
            "executed" if ok else "failed",
            call,
            digest=digest,
            level=level,
            outcome="approved" if approved else "allow",
            detail="" if fresh else "retried",
            verdict=v,
        )
        return msg


def make_execute_node(gate: Gate) -> Callable[[Any, Runtime[Any]], dict[str, Any]]:
    """The tool step: one ToolMessage for every call of the last AI turn that has none."""

    def tools(state: Any, runtime: Runtime[Any]) -> dict[str, Any]:
        messages = state["messages"]
        ai = last_ai_message(messages)
        if ai is None or not ai.tool_calls:
            return {}
        # Stops are read again before each call, so a stop set while an earlier call ran
        # reaches the next one. With a ledger that checks them in the statement opening its
        # row (the runtime's), a view up to ROUTING_MAX_AGE old will do: a stop set since
        # refuses the row and the call is assessed again on a fresh read. Otherwise: fresh.
        scope = gate.scope(runtime.context, runtime.execution_info, max_age=ROUTING_MAX_AGE)
        age = ROUTING_MAX_AGE if checks_stops(scope.ledger) else 0.0
        if age == 0.0:
            scope = gate.restop(scope)
        rejected = (state.get("interlock") or {}).get("rejected")
        runner = _Runner(gate, scope)
        out: list[ToolMessage] = []
        for call, record in open_calls(state, ai):
            if out:
                runner.scope = gate.restop(runner.scope, max_age=age)
            out.append(runner.settle(call, record, ai.id, rejected))
        return {"messages": out} if out else {}

    return tools
