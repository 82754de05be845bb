"""When a tool raises under the middleware and the gated tool step: an allowed call runs
again when the thread is retried (as it does without a gate, and as ToolRetryMiddleware asks),
while an approved call that raised is answered once, to the model, and its review does not
stay pending beside the failed attempt."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ToolRetryMiddleware
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import (
    InMemoryAuditSink,
    InMemoryExecutionLedger,
    InterlockMiddleware,
    allow_ungoverned,
    gated,
)

CALLS: list[str] = []
FAILS = {"left": 0}


def _look_up(order_id: str) -> str:
    CALLS.append(order_id)
    if FAILS["left"] > 0:
        FAILS["left"] -= 1
        msg = "database timeout"
        raise RuntimeError(msg)
    return f"{order_id}: 900 EUR"


@tool
def flaky(order_id: str) -> str:
    """Look up an order; fails while FAILS['left'] > 0."""
    return _look_up(order_id)


@tool
async def aflaky(order_id: str) -> str:
    """Look up an order (async); fails while FAILS['left'] > 0."""
    await asyncio.sleep(0)
    return _look_up(order_id)


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an order; fails while FAILS['left'] > 0."""
    CALLS.append(order_id)
    if FAILS["left"] > 0:
        FAILS["left"] -= 1
        msg = "payment gateway down"
        raise RuntimeError(msg)
    return f"refunded {amount} on {order_id}"


for _read in (flaky, aflaky):
    gated(_read, effects={"read"}, environment="production")
gated(refund, effects={"spend"}, reversible=False, environment="production")
TOOLS = [flaky, aflaky, refund]
ASK = {"messages": [("user", "Sort out order o-2.")]}
CFG: Any = {"configurable": {"thread_id": "t"}}


@pytest.fixture(autouse=True)
def _fresh() -> None:
    CALLS.clear()
    FAILS["left"] = 0


def _model(*calls: tuple[str, dict[str, Any]]) -> ScriptedChatModel:
    return ScriptedChatModel(steps=[say("On it.", *calls)], final="All done.")


def _answers(out: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m.status, str(m.content)) for m in out["messages"] if isinstance(m, ToolMessage)]


def _run(agent: Any, payload: Any, *, aio: bool) -> dict[str, Any]:
    if aio:
        got: dict[str, Any] = asyncio.run(agent.ainvoke(payload, CFG))
    else:
        got = agent.invoke(payload, CFG)
    return got


def _retried(agent: Any, *, aio: bool) -> dict[str, Any]:
    with pytest.raises(RuntimeError, match="database timeout"):
        _run(agent, ASK, aio=aio)
    return _run(agent, None, aio=aio)


# -- an allowed call that raised runs again on retry, as without a gate -------------------
# create_agent alone cannot run an async-only tool under invoke: no baseline for that one.
@pytest.mark.parametrize(
    ("name", "aio"),
    [("flaky", False), ("flaky", True), ("aflaky", True)],
    ids=["sync-invoke", "sync-ainvoke", "async-ainvoke"],
)
def test_retrying_the_thread_reruns_an_allowed_call_that_raised(name: str, aio: bool) -> None:
    turn = (name, {"order_id": "o-2"})
    FAILS["left"] = 1
    with allow_ungoverned():  # the ungated baseline
        plain = _retried(create_agent(_model(turn), TOOLS, checkpointer=InMemorySaver()), aio=aio)
    assert CALLS == ["o-2", "o-2"]
    CALLS.clear()
    FAILS["left"] = 1
    ledger = InMemoryExecutionLedger()
    mw = InterlockMiddleware(TOOLS, ledger=ledger)
    agent = create_agent(_model(turn), TOOLS, middleware=[mw], checkpointer=InMemorySaver())
    out = _retried(agent, aio=aio)
    assert CALLS == ["o-2", "o-2"]
    assert _answers(out) == _answers(plain) == [("success", "o-2: 900 EUR")]
    # Each attempt has its own ledger row: the failure stays on record.
    assert sorted(r.status for r in ledger.all()) == ["failed", "succeeded"]
    # A call that succeeded is not run again by a later retry of the thread.
    assert _run(agent, None, aio=aio)["messages"][-1].content == "All done."
    assert CALLS == ["o-2", "o-2"]


def test_the_gated_tool_step_reruns_an_allowed_call_that_raised_too() -> None:
    FAILS["left"] = 1
    agent = create_gated_agent(
        _model(("flaky", {"order_id": "o-2"})), TOOLS, checkpointer=InMemorySaver()
    )
    out = _retried(agent, aio=False)
    assert CALLS == ["o-2", "o-2"]
    assert _answers(out) == [("success", "o-2: 900 EUR")]


@pytest.mark.parametrize("aio", [False, True], ids=["invoke", "ainvoke"])
def test_tool_retry_middleware_outside_the_gate_retries_an_allowed_call(aio: bool) -> None:
    FAILS["left"] = 2
    retry = ToolRetryMiddleware(max_retries=2, initial_delay=0, jitter=False)
    mw = InterlockMiddleware(TOOLS)
    agent = create_agent(
        _model(("flaky", {"order_id": "o-2"})),
        TOOLS,
        middleware=[retry, mw],
        checkpointer=InMemorySaver(),
    )
    out = _run(agent, ASK, aio=aio)
    assert CALLS == ["o-2"] * 3
    assert _answers(out) == [("success", "o-2: 900 EUR")]
    audit = mw.gate.audit
    assert isinstance(audit, InMemoryAuditSink)
    assert [e["kind"] for e in audit.events if e["kind"] in ("executed", "failed")] == [
        "failed",
        "failed",
        "executed",
    ]


# -- an approved call that raised: answered once, the review is over ----------------------
BIG = ("refund", {"order_id": "o-2", "amount": 900.0})


@pytest.mark.parametrize("aio", [False, True], ids=["invoke", "ainvoke"])
def test_an_approved_call_that_raised_is_answered_and_leaves_no_pending_review(
    aio: bool,
) -> None:
    FAILS["left"] = 1
    mw = InterlockMiddleware(TOOLS)
    agent = create_agent(_model(BIG), TOOLS, middleware=[mw], checkpointer=InMemorySaver())
    assert "__interrupt__" in _run(agent, ASK, aio=aio)
    out = _run(agent, Command(resume={"decisions": [{"type": "approve"}]}), aio=aio)
    assert CALLS == ["o-2"]
    ((status, text),) = _answers(out)
    assert status == "error"
    assert "refund was approved and started, and it failed with RuntimeError: payment" in text
    assert "It was not retried" in text
    assert out["messages"][-1].content == "All done."
    state = agent.get_state(CFG)
    assert (state.interrupts, state.next) == ((), ())
    # Nothing can run it again: neither a retry nor a late, different decision.
    _run(agent, None, aio=aio)
    _run(agent, Command(resume={"decisions": [{"type": "reject", "message": "no"}]}), aio=aio)
    assert CALLS == ["o-2"]
    audit = mw.gate.audit
    assert isinstance(audit, InMemoryAuditSink)
    assert [e["kind"] for e in audit.events].count("failed") == 1


def test_the_gated_tool_step_answers_an_approved_call_that_raised_the_same_way() -> None:
    FAILS["left"] = 1
    agent = create_gated_agent(_model(BIG), TOOLS, checkpointer=InMemorySaver())
    assert "__interrupt__" in agent.invoke(ASK, CFG)
    out = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CFG)
    assert CALLS == ["o-2"]
    ((status, text),) = _answers(out)
    assert status == "error"
    assert "approved and started, and it failed with RuntimeError" in text
    assert agent.get_state(CFG).next == ()


def test_a_reviewers_message_without_a_final_period_still_reads_as_two_sentences() -> None:
    agent = create_agent(
        _model(BIG), TOOLS, middleware=[InterlockMiddleware(TOOLS)], checkpointer=InMemorySaver()
    )
    agent.invoke(ASK, CFG)
    reject = {"type": "reject", "message": "Offer a voucher instead"}
    out = agent.invoke(Command(resume={"decisions": [reject]}), CFG)
    ((_, text),) = _answers(out)
    assert "Reviewer's message: Offer a voucher instead. Do not propose" in text
