"""`gated_create_agent_factory`: your LangChain v1 `create_agent` agent, gated by
`InterlockMiddleware`, as a graph factory of the durable runtime.

    # myapp/agents.py
    from interlock.graphs import gated_create_agent_factory

    support = gated_create_agent_factory(
        "openai:gpt-4.1", [refund, lookup_order], agent="support-agent",
        system_prompt="You help customers with their orders.",
    )

    rt.run("myapp.agents:support", "Refund order o-2.")  # or an `interlock.graphs` entry point

Every process that touches a thread (the one that starts it, the CLI or console that decides
its review, the worker that resumes it) rebuilds the agent from that name with the runtime's
checkpointer, policy and durable stores, and in strict mode (`issue_on_resume=False`), where
only the decision service mints approvals. So the factory must build the same agent
everywhere: define it at module level, from code rather than from a live object.

`model` and `tools` may also be functions of the thread's `options` (the mapping given to
`rt.run(..., options=...)`), e.g. `lambda o: o.get("model", "openai:gpt-4.1")`. LangChain
(the `agents` extra) is imported when the agent is built, not when this module is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from interlock.nodes import ApprovalStore, AuditSink, ExecutionLedger, Gate, ToolSpec
from interlock.risk import Credential, Policy
from interlock.risk.errors import ConfigError

if TYPE_CHECKING:
    from langchain.agents.middleware import AgentMiddleware
    from langgraph.checkpoint.base import BaseCheckpointSaver

    from interlock.nodes import InterlockMiddleware

__all__ = ["GatedCreateAgent", "ModelSource", "ToolsSource", "gated_create_agent_factory"]

Options = Mapping[str, Any]
ModelSource = BaseChatModel | str | Callable[[Options], BaseChatModel | str]
"""A chat model, an `init_chat_model` string, or a function of the thread's options."""
ToolsSource = Sequence[BaseTool] | Callable[[Options], Sequence[BaseTool]]
"""The agent's tools, or a function of the thread's options returning them."""

# The runtime supplies these; letting a caller set them would bypass its stores.
_RUNTIME_OWNED = frozenset(
    {"checkpointer", "policy", "approvals", "ledger", "audit", "issue_on_resume"}
)


@dataclass(frozen=True, kw_only=True)
class GatedCreateAgent:
    """What the factory returns: the compiled `create_agent` graph, the gate the runtime
    re-assesses edits with, and the middleware holding it."""

    graph: Any
    gate: Gate
    middleware: InterlockMiddleware


def _model(source: ModelSource, options: Options) -> BaseChatModel | str:
    if isinstance(source, BaseChatModel | str):
        return source
    return source(options)


def _tools(source: ToolsSource, options: Options) -> list[BaseTool]:
    found = list(source(options) if callable(source) else source)
    bad = [type(t).__name__ for t in found if not isinstance(t, BaseTool)]
    if bad:
        msg = f"gated_create_agent_factory needs LangChain tools (BaseTool); got {bad}."
        raise ConfigError(msg)
    return found


def gated_create_agent_factory(
    model: ModelSource,
    tools: ToolsSource,
    *,
    middleware: Sequence[AgentMiddleware[Any, Any, Any]] = (),
    agent: str = "agent",
    credential: Credential | None = None,
    specs: Mapping[str, ToolSpec] | None = None,
    review_ttl: timedelta = timedelta(hours=24),
    approval_ttl: timedelta = timedelta(hours=1),
    **create_agent_kwargs: Any,
) -> Callable[..., GatedCreateAgent]:
    """A runtime graph factory building `create_agent(model, tools, middleware=[
    InterlockMiddleware(...), *middleware], checkpointer=..., **create_agent_kwargs)`.

    The Interlock middleware comes first, so it is the outermost `wrap_tool_call` (nothing
    runs a tool it has not let through, and a held call stops there first). `agent`,
    `credential`, `specs` and the TTLs go to the middleware's gate; the rest
    (`system_prompt`, `response_format`, `context_schema`, `store`, `name`, ...) to
    `create_agent`. The checkpointer, policy and stores come from the runtime.
    """
    owned = sorted(_RUNTIME_OWNED & create_agent_kwargs.keys())
    if owned:
        msg = f"gated_create_agent_factory: {owned} come from the runtime; do not pass them."
        raise ConfigError(msg)
    extra = list(middleware)

    def factory(
        *,
        checkpointer: BaseCheckpointSaver[str] | None,
        policy: Policy,
        approvals: ApprovalStore,
        ledger: ExecutionLedger,
        audit: AuditSink,
        issue_on_resume: bool,
        options: Options,
    ) -> GatedCreateAgent:
        from langchain.agents import create_agent

        from interlock.nodes import InterlockMiddleware

        found = _tools(tools, options)
        gate_mw = InterlockMiddleware(
            found,
            policy,
            agent=agent,
            credential=credential,
            specs=specs,
            review_ttl=review_ttl,
            approval_ttl=approval_ttl,
            approvals=approvals,
            ledger=ledger,
            audit=audit,
            issue_on_resume=issue_on_resume,
        )
        graph = create_agent(
            _model(model, options),
            found,
            middleware=[gate_mw, *extra],
            checkpointer=checkpointer,
            **create_agent_kwargs,
        )
        return GatedCreateAgent(graph=graph, gate=gate_mw.gate, middleware=gate_mw)

    factory.__doc__ = f"The {agent!r} create_agent agent, gated, as the durable runtime builds it."
    return factory
