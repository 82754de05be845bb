"""`@gated` fails closed: a gated tool runs only where an Interlock gate governs the call, or
where the caller opted out explicitly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import (
    InterlockMiddleware,
    allow_ungoverned,
    gated,
    governed,
    is_governed,
    spec_of,
    ungated,
)
from interlock.risk.errors import ConfigError, ExecutionRefused

RAN: list[str] = []


@tool
def read_logs(service: str) -> str:
    """Read a service's logs."""
    RAN.append(service)
    return f"{service}: all quiet"


@tool
async def aread_logs(service: str) -> str:
    """Read a service's logs (async)."""
    RAN.append(service)
    return f"{service}: all quiet"


@tool
def read_docs(topic: str) -> str:
    """Read the docs."""
    RAN.append(topic)
    return f"docs on {topic}"


gated(read_logs, effects={"read"}, environment="staging")
gated(aread_logs, effects={"read"}, environment="staging")
gated(read_docs, effects={"read"}, environment="staging", ungoverned="allow")
CALL = {"name": "read_logs", "args": {"service": "api"}, "id": "c1", "type": "tool_call"}


@pytest.fixture(autouse=True)
def _fresh() -> None:
    RAN.clear()


def cfg() -> Any:
    return {"configurable": {"thread_id": "t"}}


def tool_node_graph(*tools: Any) -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode(list(tools)))
    builder.add_edge(START, "tools")
    return builder.compile()


def proposal(name: str = "read_logs", **args: Any) -> dict[str, Any]:
    call = {**CALL, "name": name, "args": args or CALL["args"]}
    return {"messages": [AIMessage("", tool_calls=[call])]}


def test_a_gated_tool_refuses_to_run_under_a_plain_tool_node() -> None:
    graph = tool_node_graph(read_logs)
    with pytest.raises(ExecutionRefused, match="no Interlock gate governs this call") as err:
        graph.invoke(proposal())
    assert "\n" not in str(err.value)
    assert RAN == []


def test_a_gated_async_tool_refuses_under_ainvoke() -> None:
    graph = tool_node_graph(aread_logs)
    with pytest.raises(ExecutionRefused, match="aread_logs"):
        asyncio.run(graph.ainvoke(proposal("aread_logs")))
    assert RAN == []


@pytest.mark.parametrize("aio", [False, True], ids=["invoke", "ainvoke"])
def test_create_agent_without_the_middleware_refuses_gated_tools(aio: bool) -> None:
    model = ScriptedChatModel(steps=[say("Look.", ("read_logs", {"service": "api"}))])
    agent = create_agent(model, [read_logs], checkpointer=InMemorySaver())
    ask = {"messages": [("user", "why is api down?")]}
    go = (
        (lambda: asyncio.run(agent.ainvoke(ask, cfg())))
        if aio
        else (lambda: agent.invoke(ask, cfg()))
    )
    with pytest.raises(ExecutionRefused, match="InterlockMiddleware"):
        go()
    assert RAN == []


def test_a_direct_call_refuses_and_the_explicit_opt_outs_run() -> None:
    with pytest.raises(ExecutionRefused):
        read_logs.invoke({"service": "api"})
    with allow_ungoverned():
        assert read_logs.invoke({"service": "api"}) == "api: all quiet"
    with pytest.raises(ExecutionRefused):  # only inside the block
        read_logs.invoke({"service": "api"})
    assert read_docs.invoke({"topic": "gates"}) == "docs on gates"  # ungoverned="allow"
    out = tool_node_graph(read_docs).invoke(proposal("read_docs", topic="stops"))
    assert out["messages"][-1].content == "docs on stops"
    assert RAN == ["api", "gates", "stops"]


def test_the_governed_mark_names_one_tool() -> None:
    assert governed(lambda: read_logs.invoke({"service": "a"}), "read_logs")() == "a: all quiet"
    with pytest.raises(ExecutionRefused):  # a mark for another tool does not let this one run
        governed(lambda: read_logs.invoke({"service": "b"}), "read_docs")()
    assert not is_governed("read_logs")
    got = asyncio.run(governed(lambda: aread_logs.ainvoke({"service": "c"}), "aread_logs")())
    assert got == "c: all quiet"
    assert RAN == ["a", "c"]


def test_the_gates_own_execution_governs_its_calls() -> None:
    model = ScriptedChatModel(steps=[say("Look.", ("read_logs", {"service": "api"}))])
    ask = {"messages": [("user", "why is api down?")]}
    classic = create_gated_agent(model, [read_logs], checkpointer=InMemorySaver())
    assert classic.invoke(ask, cfg())["messages"][-2].content == "api: all quiet"
    mw = InterlockMiddleware([read_logs])
    agent = create_agent(model, [read_logs], middleware=[mw], checkpointer=InMemorySaver())
    out = agent.invoke(ask, cfg())
    (msg,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert (msg.status, msg.content) == ("success", "api: all quiet")
    assert RAN == ["api", "api"]


def test_gating_again_can_lift_or_restore_the_refusal() -> None:
    @tool
    def probe(x: int) -> int:
        """Probe."""
        return x

    gated(probe, effects={"read"}, ungoverned="allow")
    assert probe.invoke({"x": 1}) == 1
    gated(probe, effects={"read"})
    spec = spec_of(probe)
    assert spec is not None
    assert spec.ungoverned == "refuse"
    with pytest.raises(ExecutionRefused):
        probe.invoke({"x": 2})
    with pytest.raises(ConfigError, match="ungoverned"):
        gated(probe, effects={"read"}, ungoverned="sometimes")  # type: ignore[arg-type]


def test_copies_and_replaced_fields_stay_refused() -> None:
    """The guard is in the tool's class: a copy, new callbacks or new metadata do not lift
    it, so nobody opts out without saying so."""
    copies = [
        read_logs.model_copy(update={"callbacks": None}),
        read_logs.model_copy(update={"metadata": None}),
        read_logs.model_copy(deep=True),
    ]
    for copy in copies:
        with pytest.raises(ExecutionRefused, match="no Interlock gate governs"):
            copy.invoke({"service": "api"})
        with pytest.raises(ExecutionRefused):
            asyncio.run(copy.ainvoke({"service": "api"}))
    agent = create_agent(
        ScriptedChatModel(steps=[say("Look.", ("read_logs", {"service": "api"}))]),
        [read_logs.model_copy(update={"callbacks": []})],
        checkpointer=InMemorySaver(),
    )
    with pytest.raises(ExecutionRefused):
        agent.invoke({"messages": [("user", "why?")]}, cfg())
    assert RAN == []


def test_ungated_is_the_explicit_plain_copy() -> None:
    plain = ungated(read_logs)
    assert spec_of(plain) is None
    assert plain.invoke({"service": "api"}) == "api: all quiet"
    assert tool_node_graph(plain).invoke(proposal())["messages"][-1].content == "api: all quiet"
    with pytest.raises(ExecutionRefused):  # the original stays gated
        read_logs.invoke({"service": "api"})
    assert RAN == ["api", "api"]
