"""`InterlockMiddleware`: the Interlock gate for LangChain v1's `create_agent`.

    agent = create_agent(model, tools, middleware=[InterlockMiddleware(tools, policy)],
                         checkpointer=saver)

It does what `create_gated_agent` does, inside `create_agent`'s own loop:

- `after_model` assesses every proposed call. Calls that need a human stop at one
  `interrupt(ReviewRequest)` per model turn: the payload and the resume value are those of
  LangChain's `HumanInTheLoopMiddleware` (`{"decisions": [...]}` by position), and the
  request is the very one `create_gated_agent` raises, so the durable runtime (inbox,
  decision service, workers, CLI, console) treats a `create_agent` thread like its own.
- `wrap_tool_call` runs each call through guarded execution: an allowed call runs, an
  approved call runs only if the approval for its exact digest is consumed as its ledger row
  opens, anything else comes back to the model as a refusal `ToolMessage`.

A review that must open again (escalation, an edit that needs more, an expired or malformed
answer) needs a fresh interrupt id, which LangGraph gives per task: each round runs in a
LangGraph task of its own inside the `after_model` node, and a finished round's result is
kept, so re-running the node on resume never repeats its side effects.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, NotRequired, cast

from langchain.agents.middleware import AgentMiddleware, AgentState
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.func import task
from langgraph.graph.message import add_messages
from langgraph.runtime import ExecutionInfo, Runtime
from langgraph.types import Command

from interlock.nodes._bridge import async_only, sync_bridged
from interlock.nodes._execute import _Guarded, _Runner, checks_stops, remember
from interlock.nodes._gate import Gate, RunScope, Verdict
from interlock.nodes._payloads import InterlockState
from interlock.nodes._review import review_round
from interlock.nodes._router import held_calls
from interlock.nodes._session import with_session
from interlock.nodes._state import last_ai_message, merge_interlock, record_for
from interlock.nodes._stops import ROUTING_MAX_AGE, StopSource
from interlock.nodes._stores import ApprovalStore, AuditSink, ExecutionLedger
from interlock.nodes._toolspec import ToolSpec
from interlock.nodes._trace import aannounce, announce, settled
from interlock.risk import Credential, Policy, default_policy, utcnow
from interlock.risk.errors import ConfigError

__all__ = ["InterlockAgentState", "InterlockMiddleware"]

_Out = ToolMessage | Command[Any]


class InterlockAgentState(AgentState[Any]):
    """`create_agent`'s state plus the gate's own channel (decisions, rejections, round)."""

    interlock: NotRequired[Annotated[InterlockState, merge_interlock]]


def _opened_at(gate: Gate, scope: RunScope, held: Sequence[Verdict]) -> str:
    # A task: its result is kept, so the audit rows and the review clock's start are written
    # once however often the node re-runs on resume.
    for v in held:
        level = v.assessment.level if v.assessment else None
        gate.event(scope, "review", v.call, outcome="review", level=level, verdict=v)
    return scope.context.now.isoformat()


def _review_round(
    gate: Gate, context: Any, info: ExecutionInfo | None, state: Mapping[str, Any], opened: str
) -> tuple[str, dict[str, Any]]:
    # Each round is a task of its own: its namespace, hence its interrupt id, is new.
    ns = str(get_config()["configurable"].get("checkpoint_ns") or "")
    scope = gate.scope(context, info.patch(checkpoint_ns=ns) if info is not None else None)
    return review_round(gate, scope, state, opened_at=opened)


# LangGraph tasks, typed loosely: mypy cannot bind `task(name=...)`'s ParamSpec here.
_task: Any = task
_opened: Any = _task(name="interlock_review_opened")(_opened_at)
_round: Any = _task(name="interlock_review")(_review_round)


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `update` applied as the graph's reducers would apply it."""
    out = dict(base)
    if "messages" in update:
        out["messages"] = add_messages(out.get("messages") or [], update["messages"])
    if "interlock" in update:
        out["interlock"] = merge_interlock(out.get("interlock"), update["interlock"])
    return out


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

    # -- after the model: review ----------------------------------------------------------
    def _held(
        self, state: Mapping[str, Any], runtime: Runtime[Any]
    ) -> tuple[RunScope, list[Verdict]] | None:
        messages = state.get("messages") or []
        ai = last_ai_message(messages)
        if ai is None or not ai.tool_calls:
            return None
        scope = self.gate.scope(runtime.context, runtime.execution_info)
        held = held_calls(self.gate, scope, state, ai)
        return (scope, held) if held else None

    def after_model(
        self, state: InterlockAgentState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Stop for a human when any proposed call needs one; apply the decisions."""
        found = self._held(state, runtime)
        if found is None:
            return None  # nothing held: no write, no extra cost on the autonomous path
        scope, held = found
        opened: str = _opened(self.gate, scope, held).result()
        current: dict[str, Any] = dict(state)
        update: dict[str, Any] = {}
        while True:
            goto: str
            step: dict[str, Any]
            goto, step = _round(
                self.gate, runtime.context, runtime.execution_info, current, opened
            ).result()
            current, update = _merge(current, step), _merge(update, step)
            if goto != "review":
                return update

    async def aafter_model(
        self, state: InterlockAgentState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """`after_model` under asyncio (the review rounds are awaited, never blocked on)."""
        found = self._held(state, runtime)
        if found is None:
            return None
        scope, held = found
        opened: str = await _opened(self.gate, scope, held)
        current: dict[str, Any] = dict(state)
        update: dict[str, Any] = {}
        while True:
            goto: str
            step: dict[str, Any]
            goto, step = await _round(
                self.gate, runtime.context, runtime.execution_info, current, opened
            )
            current, update = _merge(current, step), _merge(update, step)
            if goto != "review":
                return update

    # -- the tool step: guarded execution -------------------------------------------------
    def _settle(self, request: ToolCallRequest) -> _Guarded:
        """Assess the call as it stands and clear it (ledger row open) or refuse it."""
        call, state, rt = request.tool_call, request.state, request.runtime
        gate = self.gate
        scope = gate.scope(rt.context, rt.execution_info, max_age=ROUTING_MAX_AGE)
        if not checks_stops(scope.ledger):
            scope = gate.restop(scope)
        scope = with_session(scope, state)
        messages = (state.get("messages") or []) if isinstance(state, Mapping) else []
        ai = last_ai_message(messages)
        ours = ai is not None and any(c.get("id") == call.get("id") for c in ai.tool_calls)
        record = record_for(state, ai, call["id"] or "") if ours and ai is not None else None
        rejected = (state.get("interlock") or {}).get("rejected")
        runner = _Runner(gate, scope, self._lock)
        with self._lock:
            out = runner.settle(call, record, ai.id if ai else None, rejected)
        # The tool runs with ToolNode's own per-call config: the verdict is written into it.
        return runner, out, *settled(gate, runner, out, rt.config, in_place=True)

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], _Out],
    ) -> _Out:
        """Run the call only if it is allowed now or approved exactly as it stands. An
        async-only tool runs too (create_agent's sync path refuses it): its coroutine on a
        private loop, as the gated tool step runs it, so the durable runtime's sync runs and
        resumes of `create_agent` threads take async tools."""
        runner, out, span, config, info = self._settle(request)
        if info is not None:
            announce(config, [info], ran=not isinstance(out, ToolMessage))
        if isinstance(out, ToolMessage):
            return cast(_Out, remember(runner, out, out))
        if async_only(request.tool):
            request = request.override(tool=sync_bridged(cast(BaseTool, request.tool)))
        got = runner._invoke(out, lambda: handler(request), span)
        return cast(_Out, remember(runner, out, got))

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[_Out]],
    ) -> _Out:
        """`wrap_tool_call` under asyncio: the tool is awaited; the stores (synchronous) are
        used off the event loop."""
        runner, out, span, config, info = await asyncio.to_thread(self._settle, request)
        if info is not None:
            await aannounce(config, [info], ran=not isinstance(out, ToolMessage))
        if isinstance(out, ToolMessage):
            return cast(_Out, remember(runner, out, out))
        got = await runner._invoke(out, lambda: handler(request), span)
        return cast(_Out, remember(runner, out, got))
