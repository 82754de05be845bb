"""The shared parts of the tool-step compatibility suite: one set of tools, the runners
that run them (ToolNode, `create_agent`, `create_agent` + `InterlockMiddleware`,
`create_gated_agent`), and how a case is run and compared. The tests are in
`test_tool_step_compat.py` (every runner answers as ToolNode does) and
`test_tool_step_gate_only.py` (what only a gate does).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NotRequired

from langchain.agents import AgentState, create_agent
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
    InMemoryApprovalStore,
    InMemoryExecutionLedger,
    InterlockMiddleware,
    PendingReview,
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
    specs: dict[str, ToolSpec] = field(default_factory=dict)
    """Gate metadata by tool name (ALLOWED for a tool not named)."""
    ledger: InMemoryExecutionLedger = field(default_factory=InMemoryExecutionLedger)
    approvals: InMemoryApprovalStore = field(default_factory=InMemoryApprovalStore)


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
        specs={t.name: b.specs.get(t.name, ALLOWED) for t in b.tools},
        ledger=b.ledger,
        approvals=b.approvals,
        state_schema=NotedState,
        handle_tool_errors=b.handle_tool_errors,
        checkpointer=b.checkpointer,
        store=b.store,
    )


class NotedAgentState(AgentState[Any]):
    note: NotRequired[str]


def plain_create_agent(b: Build) -> Any:
    return create_agent(
        b.model, b.tools, state_schema=NotedAgentState, checkpointer=b.checkpointer, store=b.store
    )


def middleware_agent(b: Build) -> Any:
    gate = InterlockMiddleware(
        b.tools,
        default_policy(),
        specs={t.name: b.specs.get(t.name, ALLOWED) for t in b.tools},
        ledger=b.ledger,
        approvals=b.approvals,
    )
    return create_agent(
        b.model,
        b.tools,
        middleware=[gate],
        state_schema=NotedAgentState,
        checkpointer=b.checkpointer,
        store=b.store,
    )


Runner = Callable[[Build], Any]
RUNNERS: dict[str, Runner] = {
    "toolnode": plain_toolnode,
    "create_agent": plain_create_agent,
    "middleware": middleware_agent,
    "create_gated_agent": gated_agent,
}
REFERENCE = "toolnode"
GATED = ["middleware", "create_gated_agent"]
"""The runners with a gate (the gate-only tests below run on these)."""

_NO_HANDLER = (
    "create_agent takes no handle_tool_errors: its ToolNode keeps ToolNode's default, and "
    "LangChain handles tool errors in middleware (wrap_tool_call) instead"
)
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    (case, runner): _NO_HANDLER
    for case in ("raises_handled", "raises_handled_text")
    for runner in ("create_agent", "middleware")
}
"""(case, runner) pairs the suite does not generate, with the reason: the runner has no
such option, so there is nothing to compare."""


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


def build_for(case: Case, saver: Any) -> Build:
    model = ScriptedChatModel(steps=[say("Calling.", *case.calls)], final="Done.")
    return Build(_tools(), model, saver, InMemoryStore(), case.handle_tool_errors)


class Thread:
    """One thread of a gated agent, driven with invoke (InMemorySaver) or ainvoke
    (AsyncSqliteSaver): the same steps either way."""

    def __init__(self, graph: Any, mode: str) -> None:
        self.graph, self.mode = graph, mode
        self.config: Any = {"configurable": {"thread_id": f"t-{uuid.uuid4().hex[:8]}"}}

    async def invoke(self, value: Any, config: Any = None, **kw: Any) -> Any:
        if self.mode == "sync":
            return self.graph.invoke(value, config or self.config, **kw)
        return await self.graph.ainvoke(value, config or self.config, **kw)

    async def state(self) -> Any:
        if self.mode == "sync":
            return self.graph.get_state(self.config)
        return await self.graph.aget_state(self.config)

    async def update(self, values: dict[str, Any]) -> None:
        if self.mode == "sync":
            self.graph.update_state(self.config, values, as_node="model")
        else:
            await self.graph.aupdate_state(self.config, values, as_node="model")

    async def before_tools(self) -> Any:
        """The config of the latest checkpoint about to run the tool step."""
        if self.mode == "sync":
            history = list(self.graph.get_state_history(self.config))
        else:
            history = [s async for s in self.graph.aget_state_history(self.config)]
        return next(s.config for s in history if s.next == ("tools",))


@asynccontextmanager
async def saver_for(mode: str, tmp: Path) -> AsyncIterator[Any]:
    """InMemorySaver under invoke, AsyncSqliteSaver under ainvoke."""
    if mode == "sync":
        yield InMemorySaver()
        return
    async with AsyncSqliteSaver.from_conn_string(str(tmp / f"{uuid.uuid4().hex}.db")) as saver:
        yield saver


def run_case(runner: Runner, case: Case, mode: str, tmp: Path) -> tuple[Outcome, Build]:
    async def go() -> tuple[Outcome, Build]:
        async with saver_for(mode, tmp) as saver:
            b = build_for(case, saver)
            try:
                out = await Thread(runner(b), mode).invoke({"messages": [("user", "go")]})
            except Exception as exc:
                return _outcome(None, exc), b
            return _outcome(out, None), b

    return asyncio.run(go())


# -- a gated agent with one reviewed tool ---------------------------------------------------
def gated_run(
    runner: str, mode: str, tmp: Path, scenario: Callable[[Thread, Build, list[str]], Any]
) -> None:
    """Run `scenario(thread, build, ran)` on a gated agent whose only tool, `drop` (async
    under ainvoke), needs a human: `ran` lists the calls that really ran."""
    ran: list[str] = []

    @tool("drop")
    def sync_drop(name: str) -> str:
        """Drop a production table."""
        ran.append(name)
        return f"dropped {name}"

    @tool("drop")
    async def async_drop(name: str) -> str:
        """Drop a production table."""
        ran.append(name)
        return f"dropped {name}"

    drop = sync_drop if mode == "sync" else async_drop

    async def go(saver: Any) -> None:
        model = ScriptedChatModel(steps=[say("Dropping.", ("drop", {"name": "t1"}))])
        b = Build([drop], model, saver, InMemoryStore(), specs={"drop": REVIEWED})
        await scenario(Thread(RUNNERS[runner](b), mode), b, ran)

    async def main() -> None:
        async with saver_for(mode, tmp) as saver:
            await go(saver)

    asyncio.run(main())


def pending_of(out: dict[str, Any], thread: Thread) -> PendingReview:
    (interrupt,) = out["__interrupt__"]
    thread_id = thread.config["configurable"]["thread_id"]
    return PendingReview(thread_id=thread_id, interrupt_id=interrupt.id, request=interrupt.value)
