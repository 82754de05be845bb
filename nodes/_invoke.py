"""Invoking one tool call exactly as LangGraph's `ToolNode` does, for guarded execution.

The gated tool step subclasses `ToolNode` and hands each call that may run to ToolNode's own
single-call path, so injection (`ToolRuntime`, `InjectedState`, `InjectedStore`,
`InjectedToolCallId`), async tools, `Command` results and `handle_tool_errors` behave as they
do without a gate. What ToolNode offers publicly runs a whole batch and decides for itself
which calls to run; guarded execution must decide per call, open the ledger row right before
the call starts and record its outcome right after, so it drives `_run_one` / `_arun_one`
(private, stable since langgraph 1.0; tests/nodes/test_tool_step_compat.py pins the
behaviour against plain ToolNode).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

from langchain_core.messages import ToolMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_executor_for_config
from langgraph.errors import GraphBubbleUp
from langgraph.prebuilt import ToolNode, ToolRuntime
from langgraph.runtime import Runtime
from langgraph.types import Command

from interlock.nodes._bridge import async_only, run_to_completion

__all__ = [
    "HandleToolErrors",
    "InputKind",
    "ToolOutput",
    "acall_tool",
    "call_tool",
    "gather_calls",
    "map_calls",
    "outcome_message",
    "outcome_of",
    "recorded",
    "tool_runtime",
]

ToolOutput = ToolMessage | Command[Any] | list[ToolMessage | Command[Any]]
"""What ToolNode's single-call path returns for one call."""

HandleToolErrors = bool | str | Callable[..., str] | type[Exception] | tuple[type[Exception], ...]
"""ToolNode's `handle_tool_errors` (its default: invalid arguments become an error message,
an exception the tool raises propagates)."""

InputKind = Literal["list", "dict"]
"""ToolNode's input forms the gated step takes: a state ("dict") or a list of messages."""

T = TypeVar("T")
R = TypeVar("R")


def tool_runtime(
    node: ToolNode, state: Any, call_id: str | None, config: RunnableConfig, runtime: Runtime[Any]
) -> ToolRuntime[Any, Any]:
    """The ToolRuntime ToolNode builds for one call (what `ToolRuntime` and the injected
    parameters receive)."""
    return ToolRuntime(
        state=state,
        tool_call_id=call_id,
        config=config,
        context=runtime.context,
        store=runtime.store,
        stream_writer=runtime.stream_writer,
        tools=list(node.tools_by_name.values()),
        execution_info=runtime.execution_info,
        server_info=runtime.server_info,
    )


def call_tool(
    node: ToolNode, call: Any, rt: ToolRuntime[Any, Any], kind: InputKind = "dict"
) -> ToolOutput:
    """Run one call through ToolNode's own path (injection, error handling, Command checks).
    An async-only tool, which ToolNode cannot run here, runs through its async path on a
    private event loop (interlock.nodes._bridge: how the sync runtime runs async tools)."""
    if async_only(node.tools_by_name.get(call["name"])):
        return run_to_completion(lambda: acall_tool(node, call, rt, kind))
    out: ToolOutput = node._run_one(call, kind, rt)
    return out


async def acall_tool(
    node: ToolNode, call: Any, rt: ToolRuntime[Any, Any], kind: InputKind = "dict"
) -> ToolOutput:
    """`call_tool` under asyncio: an async tool is awaited, a sync one runs as ToolNode runs it."""
    out: ToolOutput = await node._arun_one(call, kind, rt)
    return out


def outcome_message(out: ToolOutput, call_id: str) -> ToolMessage | None:
    """The ToolMessage that answers `call_id` in a tool's output (a Command carries it in its
    `messages` update); None when the output sends it elsewhere (a parent-graph Command)."""
    items: Sequence[Any] = out if isinstance(out, list) else [out]
    for item in items:
        if isinstance(item, ToolMessage) and item.tool_call_id == call_id:
            return item
        update = item.update if isinstance(item, Command) else None
        if isinstance(update, dict):
            for msg in convert_to_messages(update.get("messages") or []):
                if isinstance(msg, ToolMessage) and msg.tool_call_id == call_id:
                    return msg
    return None


def outcome_of(out: ToolOutput | None, exc: Exception | None, call_id: str) -> tuple[bool, str]:
    """Whether the call succeeded, and the text the ledger keeps: the answering message's
    content, or the exception the tool raised."""
    if exc is not None or out is None:
        return False, f"{type(exc).__name__}: {exc}"
    msg = outcome_message(out, call_id)
    content = msg.content if msg is not None else ""
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    return msg is None or msg.status != "error", text


async def recorded(
    pending: Awaitable[ToolOutput],
    close: Callable[[ToolOutput | None, Exception | None], None],
    answer: Callable[[Exception], ToolOutput] | None = None,
) -> ToolOutput:
    """Await an async call, then `close(output, exception)` off the event loop (the stores
    are synchronous); an exception is re-raised after it is recorded, or, with `answer`,
    answered by `answer(exception)`."""
    try:
        out = await pending
    except GraphBubbleUp:
        raise
    except Exception as exc:
        await asyncio.to_thread(close, None, exc)
        if answer is not None:
            return answer(exc)
        raise
    await asyncio.to_thread(close, out, None)
    return out


def map_calls(fn: Callable[[T], R], items: Sequence[T], config: RunnableConfig) -> list[R]:
    """`fn` over `items` as ToolNode runs sync calls: in the config's thread pool (which
    honours `max_concurrency`). A single call runs here, in a copy of the context, which
    saves the pool's ~0.1 ms on the common one-call step and keeps context changes local."""
    if len(items) == 1:
        return [contextvars.copy_context().run(fn, items[0])]
    with get_executor_for_config(config) as executor:
        return list(executor.map(fn, items))


async def gather_calls(
    fn: Callable[[T], Awaitable[R]], items: Sequence[T], config: RunnableConfig
) -> list[R]:
    """`fn` over `items` as ToolNode runs async calls: all at once, results in call order.
    Unlike ToolNode, `max_concurrency` holds here too, as it does under `invoke` (1 runs
    the calls of a turn one after another, each after the one before it ended)."""
    limit = config.get("max_concurrency")
    if not limit:
        return list(await asyncio.gather(*(fn(item) for item in items)))
    gate = asyncio.Semaphore(limit)

    async def bounded(item: T) -> R:
        async with gate:
            return await fn(item)

    return list(await asyncio.gather(*(bounded(item) for item in items)))
