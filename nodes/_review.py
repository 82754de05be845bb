"""The human review node: `interrupt(ReviewRequest)`, then apply each decision.

Nothing here has a side effect before `interrupt()`: the node re-runs from its first line on
resume, so everything up to the interrupt only reads. After it returns, approvals go to the
store (outside the graph state) and decisions are recorded. When a review must open again
(bad answer, escalation, an edit that needs more, expiry) the node routes to itself, which
gives the new review its own interrupt id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import Runnable
from langgraph._internal._runnable import RunnableCallable  # as create_agent's nodes
from langgraph.config import get_config
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from interlock.nodes._decisions import validate_response
from interlock.nodes._digest import call_fingerprint, interrupt_id_for
from interlock.nodes._edit_rule import edit_exceeds
from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._payloads import Decision, ReviewRecord, ReviewRequest, ReviewRound
from interlock.nodes._refusal import sentence
from interlock.nodes._request import build_review_request, grant_of
from interlock.nodes._router import held_calls
from interlock.nodes._session import with_session
from interlock.nodes._state import last_ai_message
from interlock.nodes._stores import Approval, approval_issued
from interlock.nodes._trace import announce, listening, record_review, verdict_info
from interlock.risk import ApprovalRequirement
from interlock.risk.errors import DecisionError

__all__ = [
    "PROPOSED_AT",
    "check_tool_args",
    "make_review_node",
    "rejection_text",
    "review_round",
]

PROPOSED_AT = "interlock_proposed_at"


def rejection_text(tool: str, message: str) -> str:
    return (
        f"REJECTED by a human reviewer: {tool} was not run. "
        f"Reviewer's message: {sentence(message)} "
        "Do not propose this call again; follow the reviewer's guidance instead."
    )


class _Apply:
    """Applies one response to the pending calls; collects the node's update."""

    def __init__(self, gate: Gate, scope: RunScope, ai: AIMessage, request: ReviewRequest) -> None:
        self.gate, self.scope, self.ai, self.request = gate, scope, ai, request
        self.iid = request.get("interrupt_id", "")
        self.records: dict[str, ReviewRecord] = {}
        self.rejected: dict[str, str] = {}
        self.messages: list[Any] = []
        self.edited: dict[str, dict[str, Any]] = {}
        self.escalated: dict[str, str] = {}
        self.notes: list[str] = []

    def _record(self, v: Verdict, d: Decision, decision: str, digest: str | None) -> None:
        self.records[v.call["id"] or ""] = {
            "decision": decision,
            "interrupt_id": self.iid,
            "message_id": self.ai.id,
            "reviewer": d.get("reviewer"),
            "message": d.get("message"),
        }
        self.gate.event(
            self.scope,
            "decided",
            v.call,
            digest=digest,
            outcome=decision,
            reviewer=d.get("reviewer"),
            level=v.assessment.level if v.assessment else None,
            detail=d.get("message") or "",
            verdict=v,
        )

    def _grant(self, v: Verdict, d: Decision, digest: str, grant: ApprovalRequirement) -> bool:
        """Issue (or find) the approval for `digest`; False when none may be had."""
        store, now = self.scope.approvals, self.scope.context.now
        if not self.gate.issue_on_resume:
            if not approval_issued(store, digest):
                why = (
                    f"{v.call['name']}: no approval was issued for this exact action "
                    f"(digest {digest[:12]}...); approve it through the decision service."
                )
                self.notes.append(why)
                # An approve that did not come through the decision service (a resume the
                # agent side made itself): nothing runs, and the log says who it claimed.
                claimed = d.get("reviewer")
                detail = f"{why} The resume claimed reviewer {claimed!r}." if claimed else why
                self.gate.event(
                    self.scope, "decision_refused", v.call, digest=digest, detail=detail
                )
                return False
            return True
        reviewer = d.get("reviewer") or "resume"
        store.issue(
            Approval(
                digest=digest,
                tool=v.call["name"],
                thread_id=self.scope.thread_id,
                interrupt_id=self.iid,
                tool_call_id=v.call["id"] or "",
                reviewers=(reviewer,),
                roles=grant.roles,
                issued_at=now,
                expires_at=now + self.gate.approval_ttl,
            )
        )
        self.gate.event(self.scope, "approval_issued", v.call, digest=digest, reviewer=reviewer)
        return True

    def apply(self, v: Verdict, d: Decision, index: int, escalated_to: str | None) -> None:
        call, kind = v.call, d["type"]
        cid, name = call["id"] or "", call["name"]
        shown = self.request["action_requests"][index]
        digest = shown.get("digest") or None
        grant = grant_of(self.gate, v, escalated_to)
        if kind == "approve":
            if self._grant(v, d, digest or "", grant):
                self._record(v, d, "approve", digest)
        elif kind in ("reject", "respond"):
            text = d.get("message") or "The reviewer rejected this call."
            # LangChain's semantics: a respond is the human answering for the tool, so its
            # message is the result ("success"); a reject is an error the model must heed.
            content, status = (rejection_text(name, text), "error")
            if kind == "respond":
                content, status = text, "success"
            self.messages.append(
                ToolMessage(content=content, tool_call_id=cid, name=name, status=status)
            )
            if kind == "reject":
                self.rejected[call_fingerprint(name, call.get("args") or {})] = text
            self._record(v, d, kind, digest)
        elif kind == "escalate":
            role = str(d.get("role"))
            self.escalated[cid] = role
            who = d.get("reviewer") or "a reviewer"
            self.notes.append(f"{name}: escalated to {role} by {who}.")
            self.gate.event(
                self.scope,
                "escalated",
                call,
                digest=digest,
                outcome=role,
                reviewer=d.get("reviewer"),
                detail=d.get("message") or "",
                verdict=v,
            )
        else:
            self._edit(v, d, grant, escalated_to, digest)

    def _edit(
        self,
        v: Verdict,
        d: Decision,
        grant: ApprovalRequirement,
        escalated_to: str | None,
        shown_digest: str | None,
    ) -> None:
        call, name = v.call, v.call["name"]
        args: dict[str, Any] = d["args"]  # type: ignore[typeddict-item]  # normalised
        problem = check_tool_args(self.gate, name, args)
        if problem:
            self.notes.append(f"{name}: the edit was not applied: {problem}")
            if escalated_to:
                self.escalated[call["id"] or ""] = escalated_to
            return
        edited = {**call, "args": args}
        self.edited[call["id"] or ""] = args
        after = self.gate.assess_call(edited, self.scope)  # type: ignore[arg-type]
        if after.kind == "review":
            digest = self.gate.digest(name, args, self.scope, self.iid)
            # In strict mode the decision service already judged the edit against the
            # reviewer's own roles: an approval for the edited digest is its verdict.
            issued = not self.gate.issue_on_resume and approval_issued(self.scope.approvals, digest)
            why = "" if issued else edit_exceeds(v, after, grant=grant)
            if why:
                level = after.assessment.level if after.assessment else "?"
                self.notes.append(
                    f"{name}: the edited action goes back to review ({level}): {why}."
                )
                return
            if not self._grant(after, d, digest, grant):
                return
        self._record(v, d, "edit", shown_digest)


def check_tool_args(gate: Gate, name: str, args: Mapping[str, Any]) -> str:
    """Validate args with the tool's own schema; "" when they pass."""
    schema: Any = gate.tools[name].tool_call_schema
    if not isinstance(schema, type) or not hasattr(schema, "model_validate"):
        return ""
    try:
        schema.model_validate(dict(args))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".replace("\n", " ")
    fields = getattr(schema, "model_fields", {})
    unknown = sorted(k for k in args if fields and k not in fields)
    return f"unknown arguments {unknown}; the tool takes {', '.join(fields)}" if unknown else ""


Goto = Literal["tools", "review", "model"]


def review_round(
    gate: Gate, scope: RunScope, state: Mapping[str, Any], *, opened_at: str | None = None
) -> tuple[Goto, dict[str, Any]]:
    """One review round over `state`: `interrupt(ReviewRequest)` for the held calls of the
    last AI turn, then apply the answer. Returns where to go next (`review` to re-open, which
    needs a fresh task, hence a fresh interrupt id) and the state update.

    The interrupt id is that of the task running in `scope.checkpoint_ns`. `opened_at` starts
    the review clock when no round is open (default: the model turn's proposal time, or now).
    """
    messages = state["messages"]
    ai = last_ai_message(messages)
    if ai is None:
        return "model", {"interlock": {"round": None}}
    scope = with_session(scope, state)  # an edited call is assessed in the thread's history
    il = state.get("interlock") or {}
    rnd: ReviewRound | None = il.get("round")
    escalations = dict(rnd["escalated"]) if rnd else {}
    pending = held_calls(gate, scope, state, ai)
    if not pending:
        return "tools", {"interlock": {"round": None}}

    now = scope.context.now
    opened = rnd["opened_at"] if rnd else opened_at or ai.response_metadata.get(PROPOSED_AT)
    request = build_review_request(
        gate,
        scope,
        messages,
        ai,
        pending,
        interrupt_id=interrupt_id_for(scope.checkpoint_ns),
        opened_at=datetime.fromisoformat(opened) if opened else now,
        round_info=rnd,
        escalations=escalations,
    )
    _announce_held(gate, request, pending)
    answer = interrupt(request)

    # -- after the interrupt: the answer is here; side effects are allowed from now on.
    nxt = (rnd["round"] if rnd else 1) + 1
    expires = datetime.fromisoformat(request["expires_at"]) if "expires_at" in request else None
    expired = expires is not None and now >= expires
    try:
        response = validate_response(request, answer)
        # A late answer may still stop or escalate the call; it may never run it.
        if expired and any(d["type"] in ("approve", "edit") for d in response["decisions"]):
            when = request.get("expires_at")
            msg = f"The review expired at {when}; it re-opens for a fresh look."
            raise DecisionError(msg)
    except DecisionError as exc:
        record_review(scope, request, None, str(exc))
        gate.event(scope, "decision_refused", pending[0].call, detail=str(exc))
        round_info: ReviewRound = {
            "round": nxt,
            "opened_at": now.isoformat() if expired else request.get("opened_at", now.isoformat()),
            "escalated": escalations,
            "notes": [f"The previous answer was not applied: {exc}"],
        }
        return "review", {"interlock": {"round": round_info}}

    record_review(scope, request, response["decisions"])
    work = _Apply(gate, scope, ai, request)
    for i, (verdict, decision) in enumerate(zip(pending, response["decisions"], strict=True)):
        work.apply(verdict, decision, i, escalations.get(verdict.call["id"] or ""))
    update: dict[str, Any] = {}
    out_messages: list[Any] = []
    if work.edited:
        calls = [
            {**c, "args": work.edited[c["id"] or ""]} if c["id"] in work.edited else c
            for c in ai.tool_calls
        ]
        out_messages.append(ai.model_copy(update={"tool_calls": calls}))
    out_messages.extend(work.messages)
    if out_messages:
        update["messages"] = out_messages
    il_update: dict[str, Any] = {"reviews": work.records, "rejected": work.rejected}
    decided = set(work.records)
    reopen = [v for v in pending if (v.call["id"] or "") not in decided]
    if reopen:
        kept = {cid: role for cid, role in escalations.items() if cid not in decided}
        il_update["round"] = {
            "round": nxt,
            "opened_at": now.isoformat(),
            "escalated": {**kept, **work.escalated},
            "notes": work.notes,
        }
        update["interlock"] = il_update
        return "review", update
    il_update["round"] = None
    update["interlock"] = il_update
    return "tools", update


def _announce_held(gate: Gate, request: ReviewRequest, held: list[Verdict]) -> None:
    """Tell the run's callback handlers which calls wait for a human (each time the node
    runs: it runs again on resume, and that run held them too)."""
    try:
        config = get_config()
    except RuntimeError:  # outside a run
        return
    if not listening(config):
        return
    iid = request.get("interrupt_id")
    shown = request["action_requests"]
    infos = [
        verdict_info(
            v, "review", policy_version=gate.policy.version, digest=a.get("digest"), review_id=iid
        )
        for v, a in zip(held, shown, strict=True)
    ]
    announce(config, infos, ran=False)


def make_review_node(
    gate: Gate, *, tools: str = "tools", model: str = "model", name: str = "review"
) -> Runnable[Any, Command[str]]:
    """The review node. Routes to `tools` when every call is decided, to itself to re-open.

    Sync and async: under `graph.ainvoke/astream` the round runs off the event loop
    (`asyncio.to_thread`, in the run's context), since its stores are synchronous and may
    be a database (the stop switches, approvals, audit). `interrupt()` works there as in a
    sync node. As the model node, a `RunnableCallable` with no run of its own.
    """
    where: dict[Goto, str] = {"tools": tools, "review": name, "model": model}

    def review(state: Any, runtime: Runtime[Any]) -> Command[str]:
        scope = gate.scope(runtime.context, runtime.execution_info)
        goto, update = review_round(gate, scope, state)
        return Command(goto=where[goto], update=update)

    async def areview(state: Any, runtime: Runtime[Any]) -> Command[str]:
        return await asyncio.to_thread(review, state, runtime)

    node: Runnable[Any, Command[str]] = RunnableCallable(review, areview, trace=False)
    return node
