"""`create_gated_agent`: any tool-calling chat model and any LangChain tools, gated.

The graph is the usual agent loop with the gate folded in:

    START -> model -(gate: routing function)-> tools -> model ...
                               \\-> review -(Command)-> tools | review | model
                               \\-> END

An allowed call goes from the model straight to the tool step, as in an ungated agent; only
calls that need a human pass through `review`. Tools without Interlock metadata are unknown
to the policy and fail closed to review.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as as_tool
from langgraph._internal._runnable import RunnableCallable  # as create_agent's nodes
from langgraph.constants import END, START
from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Checkpointer

from interlock.graphs._planner import resolve_chat_model
from interlock.nodes import (
    PROPOSED_AT,
    ApprovalStore,
    AuditSink,
    ExecutionLedger,
    Gate,
    GatedState,
    HandleToolErrors,
    InMemoryApprovalStore,
    InMemoryAuditSink,
    InMemoryExecutionLedger,
    InterlockContext,
    ToolSpec,
    make_execute_node,
    make_review_node,
    make_router,
)
from interlock.risk import Credential, Policy, default_policy, utcnow
from interlock.risk.errors import ConfigError

__all__ = ["build_gated_graph", "create_gated_agent", "make_model_node"]


def make_model_node(
    model: Runnable[Any, Any], *, system_prompt: str | None, clock: Callable[[], datetime]
) -> Runnable[Any, dict[str, Any]]:
    """The model node: `model.invoke` under `graph.invoke/stream`, `await model.ainvoke`
    under `graph.ainvoke/astream` (a truly async model call, not one in an executor thread).

    Built as LangChain's `create_agent` builds its model node: LangGraph's `RunnableCallable`
    with both functions and no run of its own (the node's run is LangGraph's), so traces show
    the node and the chat model under it, as for a plain function node.
    """

    def prompt(state: Any) -> list[Any]:
        messages = list(state["messages"])
        if system_prompt:
            messages = [SystemMessage(content=system_prompt), *messages]
        return messages

    def update(reply: Any) -> dict[str, Any]:
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        if reply.tool_calls:
            # Ids make each call addressable; the time starts the review clock, if any.
            calls = [
                {**c, "id": c.get("id") or f"call_{uuid.uuid4().hex[:12]}"}
                for c in reply.tool_calls
            ]
            meta = {**reply.response_metadata, PROPOSED_AT: clock().isoformat()}
            reply = reply.model_copy(update={"tool_calls": calls, "response_metadata": meta})
        return {"messages": [reply]}

    def call_model(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return update(model.invoke(prompt(state), config))

    async def acall_model(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return update(await model.ainvoke(prompt(state), config))

    node: Runnable[Any, dict[str, Any]] = RunnableCallable(call_model, acall_model, trace=False)
    return node


def _tools(tools: Sequence[BaseTool | Callable[..., Any]]) -> list[BaseTool]:
    out = [t if isinstance(t, BaseTool) else as_tool(t) for t in tools]
    names = [t.name for t in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        msg = f"Tool names must be unique; {dupes} appear more than once."
        raise ConfigError(msg)
    return out


def build_gated_graph(
    model: BaseChatModel | Runnable[Any, Any] | str,
    tools: Sequence[BaseTool | Callable[..., Any]],
    policy: Policy | None = None,
    *,
    system_prompt: str | None = None,
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
    state_schema: type[Any] = GatedState,
    handle_tool_errors: HandleToolErrors | None = None,
) -> tuple[StateGraph[Any, Any, Any, Any], Gate]:
    """The uncompiled graph and its gate, for callers who compose further.

    `handle_tool_errors` is ToolNode's (None: its default, where invalid arguments come back
    to the model as an error message and an exception the tool raises ends the run, after
    the ledger recorded the failure).
    """
    tool_list = _tools(tools)
    gate = Gate(
        policy=policy or default_policy(),
        tools={t.name: t for t in tool_list},
        specs=dict(specs or {}),
        agent=agent,
        credential=credential,
        approvals=approvals if approvals is not None else InMemoryApprovalStore(),
        ledger=ledger if ledger is not None else InMemoryExecutionLedger(),
        audit=audit if audit is not None else InMemoryAuditSink(),
        clock=clock,
        review_ttl=review_ttl,
        approval_ttl=approval_ttl,
        issue_on_resume=issue_on_resume,
    )
    chat = resolve_chat_model(model) if isinstance(model, str) else model
    bound: Runnable[Any, Any] = chat
    if tool_list and isinstance(chat, BaseChatModel):
        bound = chat.bind_tools(tool_list)
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(
        state_schema, context_schema=InterlockContext
    )
    # The node functions are typed loosely (any state extending GatedState), which
    # LangGraph's add_node overloads cannot express.
    model_node: Any = make_model_node(bound, system_prompt=system_prompt, clock=clock)
    tools_node: Any = make_execute_node(gate, handle_tool_errors=handle_tool_errors)
    review_node: Any = make_review_node(gate)
    builder.add_node("model", model_node)
    builder.add_node("tools", tools_node)
    builder.add_node("review", review_node, destinations=("tools", "review", "model"))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", make_router(gate), ["tools", "review", END])
    builder.add_edge("tools", "model")
    return builder, gate


def create_gated_agent(
    model: BaseChatModel | Runnable[Any, Any] | str,
    tools: Sequence[BaseTool | Callable[..., Any]],
    policy: Policy | None = None,
    *,
    checkpointer: Checkpointer = None,
    store: BaseStore | None = None,
    name: str | None = None,
    interrupt_before: list[str] | None = None,
    interrupt_after: list[str] | None = None,
    **options: Any,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A compiled agent graph with the risk gate, human review and guarded execution.

    `model` is a chat model (tools are bound to it) or an `init_chat_model`-style string.
    `policy` defaults to the bundled policy. Options: `system_prompt`, `agent`, `credential`,
    `approvals`, `ledger`, `audit` (stores; in memory by default), `specs` (metadata for
    tools you cannot decorate), `review_ttl`, `approval_ttl`, `issue_on_resume`, `clock`,
    `state_schema`, `handle_tool_errors` (ToolNode's). The tool step runs tools as LangGraph's
    ToolNode does; `store=` reaches `InjectedStore` and `ToolRuntime.store`. Use it as any
    LangGraph graph: pass `checkpointer=`, read
    `__interrupt__`, resume with `Command(resume={"decisions": [...]})`.
    """
    builder, _ = build_gated_graph(model, tools, policy, **options)
    return builder.compile(
        checkpointer=checkpointer,
        store=store,
        name=name or "gated_agent",
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
    )
