"""The gated tool step is a drop-in for LangGraph's ToolNode.

One set of tools (sync, async, `ToolRuntime`, `InjectedState`, `InjectedStore`,
`InjectedToolCallId`, a `Command`, raising ones) runs under every runner in `RUNNERS`: a
plain `StateGraph` with ToolNode (the reference) and `create_gated_agent` with a policy that
allows every call. The answers must be the same: content, status, name and tool_call_id of
each ToolMessage, the state a Command updated, and the exception when a tool's error ends
the run. A runner is one entry in `RUNNERS`: a function that compiles an agent from a
`Build`.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NotRequired

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, InjectedToolCallId, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.constants import END, START
from langgraph.graph import MessagesState, StateGraph
from langgraph.prebuilt import InjectedState, InjectedStore, ToolNode, ToolRuntime, tools_condition
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.graphs._agent import make_model_node
from interlock.nodes import (
    GatedState,
    InMemoryExecutionLedger,
    ToolSpec,
)
from interlock.risk import default_policy, utcnow


# -- the tools -----------------------------------------------------------------------------
def _where() -> str:
    return "on the loop" if threading.current_thread() is threading.main_thread() else "in a thread"


def _tools() -> list[BaseTool]:
    pair = threading.Barrier(2, timeout=5)  # two calls of one turn must run at the same time
    apair = asyncio.Barrier(2)

    @tool
    def echo(text: str) -> str:
        """Echo the text."""
        return f"echo {text}"

    @tool
    async def aecho(text: str) -> str:
        """Echo the text, asynchronously."""
        await asyncio.sleep(0)
        return f"aecho {text}, {_where()}"

    @tool
    def with_runtime(tag: str, runtime: ToolRuntime) -> str:
        """Report what the runtime carries."""
        store = "store" if runtime.store is not None else "no store"
        return f"{tag}: {runtime.tool_call_id} sees {len(runtime.state['messages'])}, {store}"

    @tool
    def with_state(tag: str, state: Annotated[dict[str, Any], InjectedState]) -> str:
        """Count the messages in the state."""
        return f"{tag}: {len(state['messages'])} messages"

    @tool
    def with_field(tag: str, messages: Annotated[list[Any], InjectedState("messages")]) -> str:
        """Name the last message's type."""
        return f"{tag}: last is {messages[-1].type}"

    @tool
    def with_store(key: str, store: Annotated[BaseStore, InjectedStore()]) -> str:
        """Write and read back a value."""
        store.put(("compat",), key, {"v": key.upper()})
        item = store.get(("compat",), key)
        return f"stored {item.value['v'] if item else None}"

    @tool
    def with_call_id(tag: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Name its own call."""
        return f"{tag}: {tool_call_id}"

    @tool
    def set_note(note: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Set the note in the state."""
        msg = ToolMessage(f"note set to {note}", tool_call_id=tool_call_id)
        return Command(update={"note": note, "messages": [msg]})

    @tool
    def meet(side: str) -> str:
        """Wait for the other call of this turn (both must run in parallel)."""
        pair.wait()
        return f"met {side}"

    @tool
    async def ameet(side: str) -> str:
        """Wait for the other call of this turn, asynchronously."""
        await asyncio.wait_for(apair.wait(), timeout=5)
        return f"met {side}, {_where()}"

    @tool
    def count(n: int) -> str:
        """Count to n."""
        return " ".join(str(i) for i in range(n))

    @tool
    def boom(text: str) -> str:
        """Always fails."""
        raise ValueError(f"boom {text}")

    return [
        echo,
        aecho,
        with_runtime,
        with_state,
        with_field,
        with_store,
        with_call_id,
        set_note,
        meet,
        ameet,
        count,
        boom,
    ]


# Metadata through `specs=`, not @gated: the same tool objects must also run ungoverned
# under plain ToolNode. Reads in staging: the bundled policy allows them.
ALLOWED = ToolSpec(
    effects=frozenset({"read"}), reversible=True, idempotent=True, environment="staging"
)
REVIEWED = ToolSpec(effects=frozenset({"delete"}), reversible=False, environment="production")


@dataclass(frozen=True)
class Case:
    calls: Sequence[tuple[str, dict[str, Any]]]
    modes: tuple[str, ...] = ("sync", "async")
    handle_tool_errors: Any = None
    """None: ToolNode's default."""


CASES: dict[str, Case] = {
    "sync": Case([("echo", {"text": "a"}), ("echo", {"text": "b"})]),
    "async": Case([("aecho", {"text": "a"}), ("echo", {"text": "b"})], modes=("async",)),
    "tool_runtime": Case([("with_runtime", {"tag": "rt"})]),
    "injected_state": Case([("with_state", {"tag": "s"}), ("with_field", {"tag": "f"})]),
    "injected_store": Case([("with_store", {"key": "k1"})]),
    "injected_tool_call_id": Case([("with_call_id", {"tag": "id"})]),
    "command": Case([("set_note", {"note": "hello"}), ("echo", {"text": "after"})]),
    "parallel": Case([("meet", {"side": "left"}), ("meet", {"side": "right"})]),
    "parallel_async": Case(
        [("ameet", {"side": "left"}), ("ameet", {"side": "right"})], modes=("async",)
    ),
    "invalid_args": Case([("count", {"n": "many"})]),
    "raises": Case([("boom", {"text": "x"})]),
    "raises_handled": Case(
        [("boom", {"text": "y"}), ("echo", {"text": "z"})], handle_tool_errors=True
    ),
    "raises_handled_text": Case([("boom", {"text": "w"})], handle_tool_errors="It broke."),
}


# -- the runners ---------------------------------------------------------------------------
@dataclass
class Build:
    """What a runner gets: the tools, a scripted model, where state and the store live."""

    tools: list[BaseTool]
    model: ScriptedChatModel
    checkpointer: Any
    store: BaseStore
    handle_tool_errors: Any = None
    ledger: InMemoryExecutionLedger = field(default_factory=InMemoryExecutionLedger)


class PlainState(MessagesState):
    note: NotRequired[str]


class NotedState(GatedState):
    note: NotRequired[str]


def plain_toolnode(b: Build) -> Any:
    opts = {} if b.handle_tool_errors is None else {"handle_tool_errors": b.handle_tool_errors}
    model: Any = make_model_node(b.model.bind_tools(b.tools), system_prompt=None, clock=utcnow)
    g: Any = StateGraph(PlainState)
    g.add_node("model", model)
    g.add_node("tools", ToolNode(b.tools, **opts))
    g.add_edge(START, "model")
    g.add_conditional_edges("model", tools_condition, ["tools", END])
    g.add_edge("tools", "model")
    return g.compile(checkpointer=b.checkpointer, store=b.store)


def gated_agent(b: Build) -> Any:
    return create_gated_agent(
        b.model,
        b.tools,
        default_policy(),
        specs={t.name: ALLOWED for t in b.tools},
        ledger=b.ledger,
        state_schema=NotedState,
        handle_tool_errors=b.handle_tool_errors,
        checkpointer=b.checkpointer,
        store=b.store,
    )


Runner = Callable[[Build], Any]
RUNNERS: dict[str, Runner] = {
    "toolnode": plain_toolnode,
    "create_gated_agent": gated_agent,
}
REFERENCE = "toolnode"


# -- running one case ----------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    messages: list[tuple[Any, ...]]
    note: str | None
    error: str | None


def _outcome(values: dict[str, Any] | None, error: BaseException | None) -> Outcome:
    if error is not None:
        return Outcome([], None, f"{type(error).__name__}: {error}")
    assert values is not None
    msgs = [
        (m.content, m.status, m.name, m.tool_call_id)
        for m in values["messages"]
        if isinstance(m, ToolMessage)
    ]
    return Outcome(msgs, values.get("note"), None)


def _build(case: Case, saver: Any) -> Build:
    model = ScriptedChatModel(steps=[say("Calling.", *case.calls)], final="Done.")
    return Build(_tools(), model, saver, InMemoryStore(), case.handle_tool_errors)


def _run_sync(runner: Runner, case: Case) -> tuple[Outcome, Build]:
    b = _build(case, InMemorySaver())
    graph = runner(b)
    try:
        out = graph.invoke({"messages": [("user", "go")]}, {"configurable": {"thread_id": "t"}})
    except Exception as exc:
        return _outcome(None, exc), b
    return _outcome(out, None), b


def _run_async(runner: Runner, case: Case, path: Path) -> tuple[Outcome, Build]:
    async def go() -> tuple[Outcome, Build]:
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            b = _build(case, saver)
            graph = runner(b)
            cfg = {"configurable": {"thread_id": "t"}}
            try:
                out = await graph.ainvoke({"messages": [("user", "go")]}, cfg)
            except Exception as exc:
                return _outcome(None, exc), b
            return _outcome(out, None), b

    return asyncio.run(go())


def _run(runner: Runner, case: Case, mode: str, tmp: Path) -> tuple[Outcome, Build]:
    if mode == "sync":
        return _run_sync(runner, case)
    return _run_async(runner, case, tmp / f"{uuid.uuid4().hex}.db")


def _params() -> Iterator[Any]:
    for name, case in CASES.items():
        for mode in case.modes:
            for runner in RUNNERS:
                if runner != REFERENCE:
                    yield pytest.param(name, mode, runner, id=f"{name}-{mode}-{runner}")


@pytest.mark.parametrize(("case", "mode", "runner"), list(_params()))
def test_the_same_tools_answer_the_same_under_every_runner(
    case: str, mode: str, runner: str, tmp_path: Path
) -> None:
    expected, _ = _run(RUNNERS[REFERENCE], CASES[case], mode, tmp_path)
    got, build = _run(RUNNERS[runner], CASES[case], mode, tmp_path)
    assert got == expected
    assert expected.messages or expected.error  # the reference really ran the tools
    if runner == "create_gated_agent":
        # Every call that ran has its ledger row closed: succeeded, or failed when it raised.
        statuses = sorted(r.status for r in build.ledger.all())
        want = sorted("failed" if s == "error" else "succeeded" for _, s, _, _ in got.messages)
        assert statuses == (want or ["failed"])
