"""Stop sources are asked at every evaluation: a stop reaches the very next call, even one
proposed in the same model turn, and nothing in a run's context can lift it."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from interlock.graphs import ScriptedChatModel, build_gated_graph, say
from interlock.nodes import InMemoryExecutionLedger, InterlockContext, StaticStops, gated
from interlock.risk import default_policy


def _agent(stops: StaticStops, turns: list[list[str]]) -> tuple[Any, list[str], Any]:
    done: list[str] = []

    @tool
    def write_setting(key: str) -> str:
        """Write a staging setting."""
        done.append(key)
        if key == "stop-after-me":
            stops.stop(environment="staging")  # an administrator, while this call runs
        return f"{key} written"

    gated(write_setting, effects={"write"}, reversible=True, environment="staging")
    ledger = InMemoryExecutionLedger()
    steps = [
        say(f"turn {i}", *[("write_setting", {"key": k}) for k in t]) for i, t in enumerate(turns)
    ]
    builder, gate = build_gated_graph(
        ScriptedChatModel(steps=steps),
        [write_setting],
        default_policy(),
        agent="writer",
        ledger=ledger,
    )
    gate.watch_stops(stops)
    return builder.compile(checkpointer=InMemorySaver()), done, ledger


def _errors(out: dict[str, Any]) -> list[str]:
    return [
        str(m.content)
        for m in out["messages"]
        if isinstance(m, ToolMessage) and m.status == "error"
    ]


def test_a_stop_during_a_call_reaches_the_next_call_of_the_same_turn() -> None:
    graph, done, ledger = _agent(StaticStops(), [["stop-after-me", "second"], ["third"]])
    out = graph.invoke({"messages": [("user", "go")]}, {"configurable": {"thread_id": "t"}})
    assert done == ["stop-after-me"]
    assert len(ledger.all()) == 1
    errors = _errors(out)
    assert len(errors) == 2
    assert all("Environment 'staging' is stopped by an administrator" in e for e in errors)


def test_a_context_cannot_lift_a_stop_or_rename_the_agent_out_of_it() -> None:
    graph, done, _ = _agent(StaticStops(agents={"writer"}), [["one"]])
    context = InterlockContext(agent="someone-else", stopped_agents=frozenset())
    out = graph.invoke(
        {"messages": [("user", "go")]}, {"configurable": {"thread_id": "t"}}, context=context
    )
    assert done == []
    (error,) = _errors(out)
    assert "Agent 'someone-else' is stopped by an administrator" in error
