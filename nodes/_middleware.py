"""`InterlockMiddleware`: the Interlock gate for LangChain v1's `create_agent`.

    agent = create_agent(model, tools, middleware=[InterlockMiddleware(tools, policy)],
                         checkpointer=saver)

It does what `create_gated_agent` does, inside `create_agent`'s own loop, with one hook:
`wrap_tool_call` (and `awrap_tool_call`). `create_agent` sends each proposed call to its
tools node as a task of its own (`Send("tools", [call])`), so each call is gated there:

- an allowed call runs, after one assessment, as it runs without the middleware (the calls
  of a turn in parallel), its ledger row opened before and closed after;
- a denied call, or one to a tool the middleware was not given, comes back to the model as
  a refusal `ToolMessage`;
- a call that needs a human stops at `interrupt(ReviewRequest)` inside its own task. The
  payload validates as LangChain's `HITLRequest`, the resume value is theirs
  (`{"decisions": [...]}`), and the request is the very one `create_gated_agent` raises,
  so the durable runtime (inbox, decision service, workers, CLI, console) treats a
  `create_agent` thread like its own. Once decided, the call runs in that same task only if
  the approval for its exact digest is consumed as its ledger row opens.

No hook after the model: a turn with nothing held adds no node, no superstep and no
checkpoint to what `create_agent` alone does (an `after_model` hook is a node).

Several held calls in one turn are several reviews, one interrupt each, pending at once on
the thread; the turn's allowed calls have run meanwhile. Why not one interrupt for the turn,
as LangChain's `HumanInTheLoopMiddleware` raises: one interrupt for several calls needs a
node that sees the whole turn, which is the superstep this design removes, and each held
call has its own required roles, so the durable runtime already keeps one review row per
interrupt, decides each on its own and resumes by interrupt id
(`Command(resume={interrupt_id: {"decisions": [...]}})`); a worker carries each in as it
is decided, and the model is called again once every call of the turn has its answer. A
single held call, the common case, resumes with the plain `{"decisions": [...]}` as under
LangChain's middleware; with several pending, LangGraph requires the id-addressed form.

A review that must open again (escalation, an edit that needs more, an expired or malformed
answer) needs a fresh interrupt id: each round runs in a LangGraph task of its own inside the
call's tool task (`interlock.nodes._tool_review`), whose namespace, hence interrupt id, is
new, and whose result is kept, so re-running the tool task on resume repeats no side effect
(approvals, audit rows) before it reaches the open round's `interrupt()`.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, NotRequired, cast, overload

from langchain.agents.middleware import AgentMiddleware, AgentState
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import ExecutionInfo
from langgraph.types import Command

from interlock.nodes._bridge import async_only, sync_bridged
from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._guarded import CallRunner, Guarded, checks_stops, remember
from interlock.nodes._invoke import ToolOutput
from interlock.nodes._payloads import InterlockState
from interlock.nodes._session import session_in
from interlock.nodes._state import last_ai_message, merge_interlock, record_for
from interlock.nodes._stops import ROUTING_MAX_AGE, StopSource
from interlock.nodes._stores import ApprovalStore, AuditSink, ExecutionLedger
from interlock.nodes._tool_review import Reviewed, areview_call, review_call, review_rounds
from interlock.nodes._toolspec import ToolSpec
from interlock.nodes._trace import aannounce, announce, settled
from interlock.risk import Credential, Policy, default_policy, utcnow
from interlock.risk.errors import ConfigError

__all__ = ["InterlockAgentState", "InterlockMiddleware"]

_Out = ToolMessage | Command[Any]


class InterlockAgentState(AgentState[Any]):
    """`create_agent`'s state plus the gate's own channel (decisions, rejections, round)."""

    interlock: NotRequired[Annotated[InterlockState, merge_interlock]]


class InterlockMiddleware(AgentMiddleware[InterlockAgentState, Any, Any]):
    """Gate every tool call of a `create_agent` agent by an Interlock policy.

    `tools` are the agent's tools (the gate assesses, previews and re-checks edits with
    them); a call to a tool not listed here is refused. `policy` defaults to the bundled
    one. The stores default to memory; the durable runtime passes its own. With
    `issue_on_resume=True` a plain `Command(resume={"decisions": [...]})` approves, as
    LangChain's `HumanInTheLoopMiddleware` does; the durable runtime uses False, where only
    its decision service mints approvals. Or pass a ready `gate`.

    Needs a checkpointer, as any interrupt does. Tool calls must carry ids (chat models do).
    """

    state_schema = InterlockAgentState

    def __init__(
        self,
        tools: Sequence[BaseTool] = (),
        policy: Policy | None = None,
        *,
        gate: Gate | None = None,
        agent: str = "agent",
        credential: Credential | None = None,
        approvals: ApprovalStore | None = None,
        ledger: ExecutionLedger | None = None,
        audit: AuditSink | None = None,
        specs: Mapping[str, ToolSpec] | None = None,
        review_ttl: timedelta = timedelta(hours=24),
        approval_ttl: timedelta = timedelta(hours=1),
        issue_on_resume: bool = True,
        clock: Callable[[], datetime] = utcnow,
        stops: StopSource | None = None,
    ) -> None:
        super().__init__()
        if gate is None:
            names = [t.name for t in tools]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                msg = f"InterlockMiddleware tool names must be unique; {dupes} repeat."
                raise ConfigError(msg)
            stores: dict[str, Any] = {"approvals": approvals, "ledger": ledger, "audit": audit}
            gate = Gate(
                policy=policy or default_policy(),
                tools={t.name: t for t in tools},
                specs=dict(specs or {}),
                agent=agent,
                credential=credential,
                clock=clock,
                review_ttl=review_ttl,
                approval_ttl=approval_ttl,
                issue_on_resume=issue_on_resume,
                stops=stops,
                **{k: v for k, v in stores.items() if v is not None},
            )
        elif tools or policy is not None:
            msg = "InterlockMiddleware takes either a gate or tools and a policy, not both."
            raise ConfigError(msg)
        self.gate: Gate = gate
        # The calls of one tool step run in parallel; the run's stores and its deferred
        # audit events serve one caller at a time.
        self._lock = threading.Lock()

    # -- the tool step: review, then guarded execution ----------------------------------
    @overload
    def _settle(self, request: ToolCallRequest, decided: None = None) -> _Step: ...
    @overload
    def _settle(self, request: ToolCallRequest, decided: Reviewed) -> Guarded: ...
    def _settle(self, request: ToolCallRequest, decided: Reviewed | None = None) -> _Step:
        """Assess the call as it stands and clear it (ledger row open) or refuse it; or,
        when it needs a human and has no decision yet, what its review needs (`_Held`)."""
        call = decided.call if decided is not None else request.tool_call
        state, rt = request.state, request.runtime
        gate, info = self.gate, rt.execution_info
        session = session_in(state, (info.thread_id or "") if info is not None else "")
        scope = gate.scope(rt.context, info, max_age=ROUTING_MAX_AGE, session=session)
        if not checks_stops(scope.ledger):
            scope = gate.restop(scope)
        messages = (state.get("messages") or []) if isinstance(state, Mapping) else []
        ai = last_ai_message(messages)
        ours = ai is not None and any(c.get("id") == call.get("id") for c in ai.tool_calls)
        rejected = (state.get("interlock") or {}).get("rejected")
        verdict: Verdict | None = None
        if decided is not None:
            record = decided.record
        else:
            record = record_for(state, ai, call["id"] or "") if ours and ai is not None else None
            if ours and ai is not None and record is None:
                # One assessment: guarded execution below runs on this verdict.
                verdict = gate.assess_call(call, scope, rejected, keep=False)
                if verdict.kind == "review":
                    return _Held(scope, ai, verdict)
        runner = CallRunner(gate, scope, self._lock)
        with self._lock:
            out = runner.settle(call, record, ai.id if ai else None, rejected, verdict)
        # The tool runs with ToolNode's own per-call config: the verdict is written into it.
        return runner, out, *settled(gate, runner, out, rt.config, in_place=True)

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], _Out],
    ) -> _Out:
        """Stop for a human when the call needs one (an interrupt in this call's own task);
        run it only if it is allowed now or approved exactly as it stands. An async-only
        tool runs too (create_agent's sync path refuses it): its coroutine on a private
        loop, as the gated tool step runs it, so the durable runtime's sync runs and resumes
        of `create_agent` threads take async tools."""
        found, decided = self._settle(request), None
        if isinstance(found, _Held):
            decided = review_call(review_rounds(*found.review(self.gate, request)))
            if decided.answer is not None:
                return _with(decided, decided.answer)
            request = request.override(tool_call=decided.call)
            found = self._settle(request, decided)
        runner, out, span, config, info = found
        if info is not None:
            announce(config, [info], ran=not isinstance(out, ToolMessage))
        if isinstance(out, ToolMessage):
            return _with(decided, remember(runner, out, out))
        request = _cleared(request, bridge=True)
        got = runner._invoke(out, lambda: handler(request), span)
        return _with(decided, remember(runner, out, got))

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[_Out]],
    ) -> _Out:
        """`wrap_tool_call` under asyncio: the review rounds and the tool are awaited; the
        stores (synchronous) are used off the event loop."""
        found, decided = await asyncio.to_thread(self._settle, request), None
        if isinstance(found, _Held):
            decided = await areview_call(review_rounds(*found.review(self.gate, request)))
            if decided.answer is not None:
                return _with(decided, decided.answer)
            request = request.override(tool_call=decided.call)
            found = await asyncio.to_thread(self._settle, request, decided)
        runner, out, span, config, info = found
        if info is not None:
            await aannounce(config, [info], ran=not isinstance(out, ToolMessage))
        if isinstance(out, ToolMessage):
            return _with(decided, remember(runner, out, out))
        request = _cleared(request, bridge=False)
        got = await runner._invoke(out, lambda: handler(request), span)
        return _with(decided, remember(runner, out, got))


# create_agent wraps each wrap_tool_call hook in langsmith's `traceable`, which asks
# `inspect.signature` of the hook on every call: the signature is worked out once here.
for _hook in (InterlockMiddleware.wrap_tool_call, InterlockMiddleware.awrap_tool_call):
    _hook.__dict__["__signature__"] = inspect.signature(_hook)


@dataclass(frozen=True)
class _Held:
    """A call that needs a human and has no decision: what its review starts from."""

    scope: RunScope
    ai: AIMessage
    verdict: Verdict

    def review(self, gate: Gate, request: ToolCallRequest) -> _ReviewArgs:
        """What `review_call` / `areview_call` take for this call."""
        rt = request.runtime
        return gate, rt.context, rt.execution_info, self.scope, request.state, self.ai, self.verdict


_ReviewArgs = tuple[Gate, Any, ExecutionInfo | None, RunScope, Any, AIMessage, Verdict]


_Step = Guarded | _Held


def _cleared(request: ToolCallRequest, *, bridge: bool) -> ToolCallRequest:
    """`request` for a cleared call; with `bridge`, an async-only tool runnable from the sync
    path (its coroutine on a private loop, as the gated tool step runs it)."""
    tool = request.tool
    if not (bridge and isinstance(tool, BaseTool) and async_only(tool)):
        return request
    return request.override(tool=sync_bridged(tool))


def _with(decided: Reviewed | None, out: ToolOutput) -> _Out:
    """The call's result, with what its review decided (the edited turn, the decision
    records) as a state update beside it; unchanged when there was no review."""
    if decided is None:
        return cast(_Out, out)
    extra: dict[str, Any] = {"interlock": decided.interlock} if decided.interlock else {}
    if isinstance(out, ToolMessage):
        return Command(update={**extra, "messages": [*decided.messages, out]})
    # A tool's own Command (or list): the review's update goes beside it, untouched.
    side: Command[Any] = Command(update={**extra, "messages": list(decided.messages)})
    return cast(_Out, [side, *(out if isinstance(out, list) else [out])])
