"""The gated tool step: `GatedToolNode` (a drop-in for LangGraph's ToolNode) and
`make_execute_node`. Each call of the turn goes through guarded execution (`_guarded`):
allowed now or approved exactly as it stands, else refused; the allowed ones run as ToolNode
runs them (in parallel, with its injection and error handling).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AnyMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_config_list
from langgraph.prebuilt import ToolNode, ToolRuntime
from langgraph.runtime import Runtime
from pydantic import BaseModel

from interlock.nodes._gate import Gate
from interlock.nodes._guarded import (
    CallRunner,
    Cleared,
    Guarded,
    checks_stops,
    remember,
)
from interlock.nodes._invoke import (
    HandleToolErrors,
    InputKind,
    ToolOutput,
    acall_tool,
    call_tool,
    gather_calls,
    map_calls,
    tool_runtime,
)
from interlock.nodes._session import with_session
from interlock.nodes._state import last_ai_message, open_calls
from interlock.nodes._stops import ROUTING_MAX_AGE
from interlock.nodes._trace import aannounce, announce, settled
from interlock.risk.errors import ConfigError

__all__ = ["Cleared", "GatedToolNode", "make_execute_node"]


def gated_input(node: ToolNode, given: Any) -> tuple[Mapping[str, Any], InputKind]:
    """What the gate reads from the tool step's input, as ToolNode takes it (a state with
    the node's `messages_key`, as a mapping or an object, or a list of messages), and the
    form ToolNode answers in. A bare list of tool calls or a `Send` of one call carries no
    model turn to gate against: refused with one clear line, as ToolNode refuses an input
    with no messages."""
    key = node._messages_key
    if isinstance(given, list):
        if given and isinstance(given[-1], dict) and given[-1].get("type") == "tool_call":
            msg = (
                "GatedToolNode got a bare list of tool calls; it gates the calls of the "
                "model's last turn, so pass the graph state (or its messages) instead, or "
                "use InterlockMiddleware with create_agent."
            )
            raise ConfigError(msg)
        return {"messages": given}, "list"
    if isinstance(given, Mapping):
        if given.get("__type") == "tool_call_with_context":
            msg = (
                "GatedToolNode got one tool call sent on its own (Send); it gates the calls "
                "of the model's last turn together, so route the whole state to it, or use "
                "InterlockMiddleware with create_agent, which gates each sent call."
            )
            raise ConfigError(msg)
        messages = given.get(key)
        interlock = given.get("interlock")
    else:
        messages = getattr(given, key, None)
        interlock = getattr(given, "interlock", None)
    if not messages:
        msg = (
            f"GatedToolNode found no messages under {key!r} in its input ({type(given).__name__})."
        )
        raise ValueError(msg)  # ToolNode's own error for the same input
    if isinstance(given, Mapping) and key == "messages":
        return given, "dict"
    return {"messages": messages, "interlock": interlock}, "dict"


class _Step:
    """One run of the tool step: the calls of the last AI turn that have no answer yet."""

    def __init__(self, node: GatedToolNode, given: Any, runtime: Runtime[Any]) -> None:
        gate = node.gate
        state, self.kind = gated_input(node, given)
        # The tools are injected the input as given, as ToolNode injects it.
        self.node, self.gate, self.state, self.given = node, gate, state, given
        self.runtime = runtime
        self.ai = last_ai_message(state["messages"])
        self.calls = open_calls(state, self.ai) if self.ai is not None else []
        if not self.calls:
            return
        # Stops are read again before each call: a stop set while one call ran reaches the
        # calls that start after it. A ledger that checks them in the statement opening its
        # row (the runtime's) makes a view up to ROUTING_MAX_AGE old enough (a stop set since
        # refuses the row; the call is assessed again on a fresh read). Otherwise: fresh.
        scope = gate.scope(runtime.context, runtime.execution_info, max_age=ROUTING_MAX_AGE)
        self.age = ROUTING_MAX_AGE if checks_stops(scope.ledger) else 0.0
        scope = with_session(scope, state)
        self.scope = gate.restop(scope) if self.age == 0.0 else scope
        self.rejected = (state.get("interlock") or {}).get("rejected")
        self.lock = threading.Lock()

    def items(self, config: RunnableConfig) -> list[tuple[int, RunnableConfig]]:
        return list(enumerate(get_config_list(config, len(self.calls))))

    def guard(self, index: int, config: RunnableConfig) -> Guarded:
        """Settle call `index`; with its trace (span, the tool's config, the verdict)."""
        call, record = self.calls[index]
        with self.lock:
            scope = self.scope if index == 0 else self.gate.restop(self.scope, max_age=self.age)
            runner = CallRunner(self.gate, scope, self.lock)
            ai_id = self.ai.id if self.ai is not None else None
            go = runner.settle(call, record, ai_id, self.rejected)
        return runner, go, *settled(self.gate, runner, go, config)

    def tool_runtime(self, index: int, config: RunnableConfig) -> ToolRuntime[Any, Any]:
        call_id = self.calls[index][0]["id"]
        return tool_runtime(self.node, self.given, call_id, config, self.runtime)

    def run(self, item: tuple[int, RunnableConfig]) -> ToolOutput:
        index, config = item
        runner, go, span, config, info = self.guard(index, config)
        if info is not None:
            announce(config, [info], ran=not isinstance(go, ToolMessage))
        if isinstance(go, ToolMessage):
            return remember(runner, go, go)
        rt = self.tool_runtime(index, config)
        out = runner._invoke(go, lambda: call_tool(self.node, go.verdict.call, rt, self.kind), span)
        return remember(runner, go, out)

    async def arun(self, item: tuple[int, RunnableConfig]) -> ToolOutput:
        index, config = item
        runner, go, span, config, info = await asyncio.to_thread(self.guard, index, config)
        if info is not None:
            await aannounce(config, [info], ran=not isinstance(go, ToolMessage))
        if isinstance(go, ToolMessage):
            return remember(runner, go, go)
        rt = self.tool_runtime(index, config)
        out = await runner._invoke(
            go, lambda: acall_tool(self.node, go.verdict.call, rt, self.kind), span
        )
        return remember(runner, go, out)


class GatedToolNode(ToolNode):
    """LangGraph's `ToolNode` with the gate in front of every call: a drop-in tool step.

    Each unanswered call of the last AI turn is assessed as it stands; an allowed or approved
    call runs as under ToolNode (`ToolRuntime`, `InjectedState`, `InjectedStore`,
    `InjectedToolCallId`, async tools, `Command` results, `handle_tool_errors`), the calls
    of a turn in parallel (the config's thread pool under `invoke`, `asyncio.gather` under
    `ainvoke`). Each opens its ledger row before it starts and records its outcome after,
    also when the tool raises. It takes ToolNode's inputs (a state with `messages_key`,
    as a mapping or an object, or a list of messages) and answers in ToolNode's form (a
    state update, or a list for a list). A rerun answered from the ledger gets the recorded
    message only (a Command's other updates are not replayed). A bare list of tool calls,
    or one call sent on its own, carries no model turn to gate: refused (`ConfigError`).
    """

    def __init__(
        self,
        gate: Gate,
        *,
        name: str = "tools",
        tags: list[str] | None = None,
        handle_tool_errors: HandleToolErrors | None = None,
        messages_key: str = "messages",
    ) -> None:
        """`handle_tool_errors`, `messages_key`: as ToolNode's; None keeps ToolNode's
        default error handling."""
        options: dict[str, Any] = {}
        if handle_tool_errors is not None:
            options["handle_tool_errors"] = handle_tool_errors
        tools = list(gate.tools.values())
        super().__init__(tools, name=name, tags=tags, messages_key=messages_key, **options)
        self.gate = gate

    # ToolNode's batch entry points, overridden (private names: ToolNode registers them as
    # its sync and async functions); the single-call path below them stays ToolNode's.
    def _func(
        self,
        input: list[AnyMessage] | dict[str, Any] | BaseModel,
        config: RunnableConfig,
        runtime: Runtime[Any],
    ) -> Any:
        step = _Step(self, input, runtime)
        if not step.calls:
            return [] if step.kind == "list" else {}
        outputs = map_calls(step.run, step.items(config), config)
        return self._combine_tool_outputs(outputs, step.kind)

    async def _afunc(
        self,
        input: list[AnyMessage] | dict[str, Any] | BaseModel,
        config: RunnableConfig,
        runtime: Runtime[Any],
    ) -> Any:
        # Reading the stops may touch the database: off the event loop.
        step = await asyncio.to_thread(_Step, self, input, runtime)
        if not step.calls:
            return [] if step.kind == "list" else {}
        outputs = await gather_calls(step.arun, step.items(config), config)
        return self._combine_tool_outputs(outputs, step.kind)


def make_execute_node(
    gate: Gate, *, handle_tool_errors: HandleToolErrors | None = None
) -> GatedToolNode:
    """The tool step: one answer for every call of the last AI turn that has none."""
    return GatedToolNode(gate, handle_tool_errors=handle_tool_errors)
