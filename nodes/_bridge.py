"""Async-only tools under a sync run: the gated tool step's bridge.

LangChain's async-only tools (`@tool async def ...`: a `StructuredTool` with a coroutine and
no function) refuse sync invocation, so under `graph.invoke/stream` ToolNode fails on them.
The durable runtime runs and resumes threads with the sync `graph.stream` (its stores,
checkpointer and fenced claims are synchronous), so the gated tool step's sync path runs
such a tool's coroutine itself: to completion, on a private event loop in the thread that
runs the call (the step's worker thread). Nothing else changes: the call goes through
ToolNode's own async single-call path (injection, error handling, `Command` results), the
ledger row opens before and closes after, as for a sync tool.

Why a loop per call (`asyncio.run`) rather than one kept per thread: nothing outlives the
call (no loop, task or async generator left behind on a pool thread), and an async tool
that caches loop-bound objects across calls must already cope with several loops. The cost
is about a tenth of a millisecond per call, on a path that used to fail.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from langchain_core.tools import BaseTool

__all__ = ["async_only", "run_to_completion", "sync_bridged"]

T = TypeVar("T")


def async_only(tool: BaseTool | None) -> bool:
    """Whether `tool` can only be awaited (a `StructuredTool`/`Tool` with a coroutine and no
    sync function); tools that have a sync path keep it."""
    if tool is None:
        return False
    return getattr(tool, "func", True) is None and getattr(tool, "coroutine", None) is not None


def run_to_completion(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine `make()` to completion from sync code, on a loop of its own.

    The coroutine runs in a copy of the caller's context (LangGraph's run config and runtime
    live in context variables). Where this thread already runs a loop (a sync `invoke` made
    from async code), it cannot start another: the coroutine runs on a fresh thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    ctx = contextvars.copy_context()
    with ThreadPoolExecutor(1, thread_name_prefix="interlock-async-tool") as pool:
        return pool.submit(ctx.run, lambda: asyncio.run(make())).result()


def sync_bridged(tool: BaseTool) -> BaseTool:
    """A copy of the async-only `tool` whose sync path runs its coroutine to completion (for
    `InterlockMiddleware.wrap_tool_call`, whose handler is create_agent's sync ToolNode path).

    The sync function wraps the coroutine (`functools.wraps`), so the tool passes it the
    same `callbacks` and config parameters it would pass the coroutine; name, schema,
    metadata, callbacks and class (the @gated guard) are the original's."""
    coro: Callable[..., Coroutine[Any, Any, Any]] = cast(Any, tool).coroutine

    @functools.wraps(coro)
    def run(*args: Any, **kwargs: Any) -> Any:
        return run_to_completion(lambda: coro(*args, **kwargs))

    return tool.model_copy(update={"func": run})
