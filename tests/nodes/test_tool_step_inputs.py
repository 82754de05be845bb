"""The gated tool step takes ToolNode's inputs and answers in ToolNode's form: a state
mapping or object under its `messages_key`, or a bare list of messages. Inputs with no model
turn to gate against are refused with one clear line, and nothing runs."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel
from typing_extensions import TypedDict

from interlock.nodes import Gate, GatedToolNode, InMemoryExecutionLedger, gated, ungated
from interlock.risk import default_policy
from interlock.risk.errors import ConfigError

RAN: list[str] = []


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    RAN.append(key)
    return f"{key}: ok"


gated(lookup, effects={"read"}, reversible=True, idempotent=True, environment="staging")


def _turn() -> list[AnyMessage]:
    calls = [
        {"name": "lookup", "args": {"key": k}, "id": f"c-{k}", "type": "tool_call"}
        for k in ("a", "b")
    ]
    return [HumanMessage("look"), AIMessage(content="", tool_calls=calls, id="ai-1")]


def _nodes(**options: Any) -> tuple[ToolNode, GatedToolNode, InMemoryExecutionLedger]:
    ledger = InMemoryExecutionLedger()
    gate = Gate.for_tools(default_policy(), [lookup], ledger=ledger)
    return ToolNode([ungated(lookup)], **options), GatedToolNode(gate, **options), ledger


class _Outer(TypedDict):
    n: int


def _invoke(node: ToolNode, given: Any) -> Any:
    """`node.invoke(given)` from inside a running graph, where a node gets its runtime."""
    got: list[Any] = []

    def step(state: _Outer) -> dict[str, Any]:
        got.append(node.invoke(given))
        return {}

    g: Any = StateGraph(_Outer)
    g.add_node("step", step)
    g.add_edge(START, "step")
    g.add_edge("step", END)
    g.compile().invoke({"n": 0})
    return got[0]


def _answers(out: Any, key: str = "messages") -> list[tuple[str, str, str]]:
    messages = out if isinstance(out, list) else out[key]
    assert all(isinstance(m, ToolMessage) for m in messages)
    return [(m.tool_call_id, str(m.content), m.status) for m in messages]


class Convo(BaseModel):
    messages: list[AnyMessage]


@pytest.mark.parametrize(
    ("given", "options", "key"),
    [
        (lambda: {"messages": _turn()}, {}, "messages"),
        (lambda: _turn(), {}, "messages"),
        (lambda: {"history": _turn()}, {"messages_key": "history"}, "history"),
        (lambda: Convo(messages=_turn()), {}, "messages"),
    ],
    ids=["state", "list", "messages_key", "object"],
)
def test_each_input_toolnode_takes_gets_toolnodes_answer(
    given: Any, options: dict[str, Any], key: str
) -> None:
    plain, gated_step, ledger = _nodes(**options)
    expected = _invoke(plain, given())
    RAN.clear()
    got = _invoke(gated_step, given())
    assert type(got) is type(expected)  # a list for a list, a state update otherwise
    assert _answers(got, key) == _answers(expected, key)
    assert sorted(RAN) == ["a", "b"]
    assert sorted(r.status for r in ledger.all()) == ["succeeded", "succeeded"]


@pytest.mark.parametrize(
    "given",
    [
        lambda: [{"name": "lookup", "args": {"key": "a"}, "id": "c-a", "type": "tool_call"}],
        lambda: {
            "__type": "tool_call_with_context",
            "tool_call": {"name": "lookup", "args": {"key": "a"}, "id": "c-a", "type": "tool_call"},
            "state": {"messages": _turn()},
        },
    ],
    ids=["bare-tool-calls", "sent-call"],
)
def test_an_input_with_no_model_turn_is_refused_and_nothing_runs(given: Any) -> None:
    _, gated_step, ledger = _nodes()
    RAN.clear()
    with pytest.raises(ConfigError, match=r"GatedToolNode got .* InterlockMiddleware") as err:
        _invoke(gated_step, given())
    assert "\n" not in str(err.value)
    assert RAN == []
    assert ledger.all() == []


def test_a_turn_with_every_call_answered_returns_nothing_in_the_inputs_form() -> None:
    _, gated_step, _ = _nodes()
    answered = [*_turn(), *(ToolMessage("done", tool_call_id=f"c-{k}") for k in ("a", "b"))]
    RAN.clear()
    assert _invoke(gated_step, answered) == []
    assert _invoke(gated_step, {"messages": answered}) == {}
    assert RAN == []
