"""`create_gated_agent` async end to end, on `AsyncSqliteSaver` and `AsyncPostgresSaver`.

Under `ainvoke`/`astream` the model is awaited (`ainvoke`, on the event loop), async tools
are awaited on the loop, and every synchronous store call (approvals, ledger, audit) runs
off the loop: the router in LangGraph's executor, the review node and the tool step in
`asyncio.to_thread`. A held call stops at an interrupt, `Command(resume=...)` approves it,
and it runs once: running the tool step again is answered from the ledger.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.outputs import ChatResult
from langchain_core.tools import tool
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.config import get_config
from langgraph.types import Command

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import (
    InMemoryApprovalStore,
    InMemoryAuditSink,
    InMemoryExecutionLedger,
    ToolSpec,
)

READ = ToolSpec(
    effects=frozenset({"read"}), reversible=True, idempotent=True, environment="staging"
)
DROP = ToolSpec(effects=frozenset({"delete"}), reversible=False, environment="production")


def _in_graph() -> bool:
    try:
        get_config()
    except RuntimeError:  # the test's own reads, outside any run
        return False
    return True


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Seen:
    """Where things ran: `blocking` lists store calls made on the event loop's thread."""

    def __init__(self) -> None:
        self.blocking: list[str] = []
        self.model: list[str] = []
        self.tools: list[tuple[str, bool]] = []

    def store(self, cls: type[Any]) -> Any:
        seen = self

        class OffLoop(cls):  # type: ignore[misc, valid-type]
            def __getattribute__(self, name: str) -> Any:
                attr = super().__getattribute__(name)
                if name.startswith("__") or not callable(attr):
                    return attr

                def checked(*args: Any, **kwargs: Any) -> Any:
                    if _on_loop() and _in_graph():
                        seen.blocking.append(f"{cls.__name__}.{name}")
                    return attr(*args, **kwargs)

                return checked

        return OffLoop()


class AsyncModel(ScriptedChatModel):
    """The script, recording whether each turn was generated natively under asyncio."""

    seen: Any = None

    def _generate(self, messages: list[BaseMessage], *a: Any, **kw: Any) -> ChatResult:
        self.seen.model.append("sync")
        return super()._generate(messages, *a, **kw)

    async def _agenerate(self, messages: list[BaseMessage], *a: Any, **kw: Any) -> ChatResult:
        self.seen.model.append("async on the loop" if _on_loop() else "async off the loop")
        return await super()._agenerate(messages, *a, **kw)


def _agent(seen: Seen, saver: Any) -> tuple[Any, InMemoryExecutionLedger]:
    @tool
    async def look(key: str) -> str:
        """Look a key up."""
        await asyncio.sleep(0)
        seen.tools.append((f"look {key}", threading.current_thread() is threading.main_thread()))
        return f"{key} ok"

    @tool
    async def drop(name: str) -> str:
        """Drop a production table."""
        await asyncio.sleep(0)
        seen.tools.append((f"drop {name}", threading.current_thread() is threading.main_thread()))
        return f"dropped {name}"

    model = AsyncModel(
        steps=[say("Looking, then dropping.", ("look", {"key": "a"}), ("drop", {"name": "t1"}))],
        seen=seen,
    )
    ledger = seen.store(InMemoryExecutionLedger)
    graph = create_gated_agent(
        model,
        [look, drop],
        specs={"look": READ, "drop": DROP},
        approvals=seen.store(InMemoryApprovalStore),
        ledger=ledger,
        audit=seen.store(InMemoryAuditSink),
        checkpointer=saver,
    )
    return graph, ledger


@asynccontextmanager
async def _saver(kind: str, tmp: Path, pg_url: Callable[[], str]) -> AsyncIterator[Any]:
    if kind == "sqlite":
        async with AsyncSqliteSaver.from_conn_string(str(tmp / "async.db")) as saver:
            yield saver
        return
    async with AsyncPostgresSaver.from_conn_string(pg_url()) as saver:
        await saver.setup()
        yield saver


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lazy_pg(request: pytest.FixtureRequest) -> Callable[[], str]:
    """The Postgres URL, created only when a test asks for it (the SQLite run needs none)."""
    return lambda: str(request.getfixturevalue("pg_url"))


def _tool_results(messages: list[Any]) -> list[tuple[str | None, str, str]]:
    return [(m.name, m.status, str(m.content)) for m in messages if isinstance(m, ToolMessage)]


def _check_async_run(seen: Seen) -> None:
    assert seen.blocking == []  # no store call on the event loop
    assert seen.model
    assert set(seen.model) == {"async on the loop"}
    # Async tools are awaited on the loop (asyncio.run drives it in the test's main thread).
    assert all(on_main for _, on_main in seen.tools)


def test_ainvoke_interrupts_resumes_and_runs_the_approved_call_once(
    kind: str, tmp_path: Path, lazy_pg: Callable[[], str]
) -> None:
    seen = Seen()

    async def main() -> None:
        async with _saver(kind, tmp_path, lazy_pg) as saver:
            graph, ledger = _agent(seen, saver)
            cfg: Any = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:8]}"}}
            out = await graph.ainvoke({"messages": [("user", "go")]}, cfg)
            (stop,) = out["__interrupt__"]
            assert [a["name"] for a in stop.value["action_requests"]] == ["drop"]
            assert [t for t, _ in seen.tools] == []  # the turn waits: nothing ran yet
            state = await graph.aget_state(cfg)
            assert state.next == ("review",)

            out = await graph.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), cfg)
            assert sorted(t for t, _ in seen.tools) == ["drop t1", "look a"]  # in parallel
            assert _tool_results(out["messages"]) == [
                ("look", "success", "a ok"),
                ("drop", "success", "dropped t1"),
            ]
            assert out["messages"][-1].content == "Done."
            assert sorted(r.status for r in ledger.all()) == ["succeeded", "succeeded"]

            # The tool step again, from the checkpoint before it: the ledger answers.
            history = [s async for s in graph.aget_state_history(cfg)]
            before = next(s.config for s in history if s.next == ("tools",))
            again = await graph.ainvoke(None, before)
            assert sorted(t for t, _ in seen.tools) == ["drop t1", "look a"]
            assert ("drop", "success", "dropped t1") in _tool_results(again["messages"])

    asyncio.run(main())
    _check_async_run(seen)


def test_astream_stops_at_the_review_and_a_rejection_runs_nothing(
    kind: str, tmp_path: Path, lazy_pg: Callable[[], str]
) -> None:
    seen = Seen()

    async def main() -> None:
        async with _saver(kind, tmp_path, lazy_pg) as saver:
            graph, ledger = _agent(seen, saver)
            cfg: Any = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:8]}"}}
            nodes: list[str] = []
            async for chunk in graph.astream({"messages": [("user", "go")]}, cfg):
                nodes.extend(chunk)
            assert nodes == ["model", "__interrupt__"]

            answer = {"decisions": [{"type": "reject", "message": "Not today."}]}
            nodes = []
            async for chunk in graph.astream(Command(resume=answer), cfg, stream_mode="updates"):
                nodes.extend(chunk)
            assert nodes == ["review", "tools", "model"]
            assert [t for t, _ in seen.tools] == ["look a"]
            state = await graph.aget_state(cfg)
            results = _tool_results(state.values["messages"])
            assert results[0] == ("drop", "error", results[0][2])
            assert "REJECTED by a human reviewer" in results[0][2]
            assert results[1] == ("look", "success", "a ok")
            assert [r.tool for r in ledger.all()] == ["look"]

    asyncio.run(main())
    _check_async_run(seen)


def test_the_sync_path_still_works_and_runs_async_tools(tmp_path: Path) -> None:
    """The same agent under invoke (the durable runtime's path): the model's sync path, the
    async tools on a private loop."""
    from langgraph.checkpoint.memory import InMemorySaver

    seen = Seen()
    graph, ledger = _agent(seen, InMemorySaver())
    cfg: Any = {"configurable": {"thread_id": "sync"}}
    graph.invoke({"messages": [("user", "go")]}, cfg)
    out = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), cfg)
    assert set(seen.model) == {"sync"}
    # The turn's two calls run in parallel, as under ToolNode: in either order.
    assert sorted(t for t, _ in seen.tools) == ["drop t1", "look a"]
    assert _tool_results(out["messages"])[-1] == ("drop", "success", "dropped t1")
    assert len(ledger.all()) == 2


def test_a_sync_invoke_from_async_code_still_runs_an_async_only_tool() -> None:
    """A sync `invoke` made where a loop already runs (one call: it runs in the caller's
    thread, which cannot start a second loop): the coroutine gets a thread of its own."""
    from langgraph.checkpoint.memory import InMemorySaver

    @tool
    async def look(key: str) -> str:
        """Look a key up."""
        await asyncio.sleep(0)
        return f"{key} ok"

    model = ScriptedChatModel(steps=[say("Looking.", ("look", {"key": "a"}))])
    graph = create_gated_agent(model, [look], specs={"look": READ}, checkpointer=InMemorySaver())

    async def main() -> Any:
        return graph.invoke({"messages": [("user", "go")]}, {"configurable": {"thread_id": "x"}})

    out = asyncio.run(main())
    assert _tool_results(out["messages"]) == [("look", "success", "a ok")]
