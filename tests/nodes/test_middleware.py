"""InterlockMiddleware under LangChain v1's `create_agent`: allowed calls run as they run
without the gate (sync, async, injected and `Command` tools), held calls stop at an interrupt
that validates as LangChain's `HITLRequest`, the decisions LangChain documents resume it,
denied calls come back as refusals, and a re-opened review gets its own interrupt id."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.agents.middleware.human_in_the_loop import HITLRequest, HITLResponse
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command
from pydantic import TypeAdapter

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import InMemoryAuditSink, InterlockMiddleware, allow_ungoverned, gated

RAN: list[tuple[str, Any]] = []


@tool
def lookup(order_id: str) -> str:
    """Look up an order."""
    RAN.append(("lookup", order_id))
    return f"{order_id}: 900 EUR"


@tool
async def alookup(order_id: str) -> str:
    """Look up an order (async)."""
    await asyncio.sleep(0)
    RAN.append(("alookup", order_id))
    return f"{order_id}: 900 EUR (async)"


@tool
def whoami(tool_call_id: Annotated[str, InjectedToolCallId], runtime: ToolRuntime) -> str:
    """Say which call and thread this is."""
    thread = runtime.config["configurable"]["thread_id"]
    return f"call {tool_call_id} of thread {thread}, {len(runtime.state['messages'])} messages"


@tool
def note(text: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
    """Keep a note (returns a Command)."""
    RAN.append(("note", text))
    return Command(update={"messages": [ToolMessage(f"noted {text}", tool_call_id=tool_call_id)]})


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    RAN.append(("refund", (order_id, amount)))
    return f"refunded {amount} on {order_id}"


@tool
def shell(command: str) -> str:
    """Run a shell command in production."""
    RAN.append(("shell", command))
    return "ok"


for _read in (lookup, alookup, whoami):
    gated(_read, effects={"read"}, environment="production")
gated(note, effects={"write"}, reversible=True, environment="staging")
gated(
    refund,
    effects={"spend"},
    reversible=False,
    environment="production",
    preview=lambda a: f"pays back {a.get('amount')} on {a.get('order_id')}",
)
gated(shell, effects={"write"}, reversible=True, environment="production")
TOOLS = [lookup, alookup, whoami, note, refund, shell]
BIG = ("refund", {"order_id": "o-2", "amount": 900.0})


@pytest.fixture(autouse=True)
def _fresh() -> None:
    RAN.clear()


def cfg(name: str = "t") -> Any:
    return {"configurable": {"thread_id": name}}


def model(*turns: AIMessage) -> ScriptedChatModel:
    return ScriptedChatModel(steps=list(turns), final="All done.")


def gated_agent(*turns: AIMessage, **options: Any) -> tuple[Any, InterlockMiddleware]:
    mw = InterlockMiddleware(TOOLS, **options)
    agent = create_agent(model(*turns), TOOLS, middleware=[mw], checkpointer=InMemorySaver())
    return agent, mw


def results(messages: list[Any]) -> list[tuple[str | None, str, str]]:
    return [(m.name, m.status, str(m.content)) for m in messages if isinstance(m, ToolMessage)]


def run(agent: Any, payload: Any, *, aio: bool, name: str = "t") -> dict[str, Any]:
    if aio:
        out: dict[str, Any] = asyncio.run(agent.ainvoke(payload, cfg(name)))
        return out
    got: dict[str, Any] = agent.invoke(payload, cfg(name))
    return got


ASK = {"messages": [("user", "Sort out order o-2.")]}


# -- allowed calls: the same messages as create_agent without a gate ----------------------
@pytest.mark.parametrize("aio", [False, True], ids=["invoke", "ainvoke"])
def test_allowed_calls_run_as_create_agent_runs_them(aio: bool) -> None:
    calls = [("lookup", {"order_id": "o-1"}), ("whoami", {}), ("note", {"text": "checked"})]
    if aio:
        calls.append(("alookup", {"order_id": "o-3"}))
    turn = say("Look around.", *calls)
    agent, mw = gated_agent(turn)
    gated_out = run(agent, ASK, aio=aio)
    gated_ran = sorted(RAN)
    RAN.clear()
    plain = create_agent(model(turn), TOOLS, checkpointer=InMemorySaver())
    with allow_ungoverned():  # the ungated baseline: create_agent exactly as it runs alone
        plain_out = run(plain, ASK, aio=aio)
    assert "__interrupt__" not in gated_out
    assert results(gated_out["messages"]) == results(plain_out["messages"])
    assert gated_ran == sorted(RAN)
    assert [m.status for m in gated_out["messages"] if isinstance(m, ToolMessage)] == [
        "success"
    ] * len(calls)
    assert gated_out["messages"][-1].content == "All done."
    # Each call went through guarded execution: one ledger row and one audit row each.
    audit = mw.gate.audit
    assert isinstance(audit, InMemoryAuditSink)
    executed = sorted(e["tool"] for e in audit.events if e["kind"] == "executed")
    assert executed == sorted(name for name, _ in calls)


def test_a_denied_call_comes_back_to_the_model_as_a_refusal() -> None:
    agent, _ = gated_agent(say("Wipe it.", ("shell", {"command": "mkfs.ext4 /dev/sdb"})))
    out = agent.invoke(ASK, cfg())
    assert "__interrupt__" not in out
    (denied,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert denied.status == "error"
    assert str(denied.content).startswith("DENIED by policy")
    assert RAN == []
    assert out["messages"][-1].content == "All done."


def test_a_tool_the_middleware_was_not_given_is_refused() -> None:
    mw = InterlockMiddleware([lookup])
    agent = create_agent(
        model(say("Refund.", BIG)), [lookup, refund], middleware=[mw], checkpointer=InMemorySaver()
    )
    out = agent.invoke(ASK, cfg())
    (msg,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert (msg.status, RAN) == ("error", [])
    assert "no tool named 'refund' among those Interlock governs" in str(msg.content)


# -- the interrupt: LangChain's HITLRequest, Interlock's ReviewRequest ---------------------
def test_the_interrupt_validates_as_langchains_hitl_request_and_matches_the_gated_agent() -> None:
    turn = say("Refund, after a look.", ("lookup", {"order_id": "o-2"}), BIG)
    agent, _ = gated_agent(turn)
    out = agent.invoke(ASK, cfg())
    # Each call is a task of its own: the allowed look-up ran, the refund waits alone.
    assert RAN == [("lookup", "o-2")]
    (intr,) = out["__interrupt__"]
    request = intr.value
    TypeAdapter(HITLRequest).validate_python(request)
    (config,) = request["review_configs"]
    assert config["allowed_decisions"] == ["approve", "edit", "reject", "respond"]
    assert config["interlock_decisions"] == ["escalate"]
    assert request["kind"] == "interlock.review"
    assert request["interrupt_id"] == intr.id  # digests are bound to this very interrupt
    (action,) = request["action_requests"]
    assert (action["name"], action["args"]) == BIG
    assert action["expected_outcome"] == "pays back 900.0 on o-2"

    # create_gated_agent raises the same request for the same turn.
    classic = create_gated_agent(model(turn), TOOLS, checkpointer=InMemorySaver())
    (theirs,) = classic.invoke(ASK, cfg())["__interrupt__"]
    assert set(theirs.value) == set(request)
    volatile = {"digest", "tool_call_id"}
    mine = {k: v for k, v in action.items() if k not in volatile}
    other = theirs.value["action_requests"][0]
    assert mine == {k: v for k, v in other.items() if k not in volatile}
    assert theirs.value["review_configs"] == request["review_configs"]


DECISIONS = {
    "approve": {"type": "approve"},
    "edit": {"type": "edit", "edited_action": {"name": "refund", "args": {**BIG[1], "amount": 40}}},
    "reject": {"type": "reject", "message": "Too much; offer a voucher."},
    "respond": {"type": "respond", "message": "The customer already got a voucher."},
}


@pytest.mark.parametrize("kind", list(DECISIONS))
@pytest.mark.parametrize("aio", [False, True], ids=["invoke", "ainvoke"])
def test_langchains_documented_decisions_resume_it(kind: str, aio: bool) -> None:
    response = {"decisions": [DECISIONS[kind]]}
    TypeAdapter(HITLResponse).validate_python(response)  # LangChain's own answer format
    agent, _ = gated_agent(say("Refund.", BIG))
    assert "__interrupt__" in run(agent, ASK, aio=aio)
    assert RAN == []
    out = run(agent, Command(resume=response), aio=aio)  # as Agent Chat UI resumes
    assert "__interrupt__" not in out
    (msg,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    if kind == "approve":
        assert RAN == [("refund", ("o-2", 900.0))]
        assert (msg.status, msg.content) == ("success", "refunded 900.0 on o-2")
    elif kind == "edit":
        assert RAN == [("refund", ("o-2", 40.0))]
        proposed = next(m for m in out["messages"] if isinstance(m, AIMessage))
        assert proposed.tool_calls[0]["args"]["amount"] == 40
    else:
        assert RAN == []
        assert DECISIONS[kind]["message"] in str(msg.content)
        # LangChain's semantics: a respond is the human's answer for the tool (success, the
        # message itself); a reject is an error.
        want = ("success", DECISIONS[kind]["message"]) if kind == "respond" else ("error", None)
        assert msg.status == want[0]
        if want[1] is not None:
            assert msg.content == want[1]
    assert out["messages"][-1].content == "All done."


@pytest.mark.parametrize("kind", ["reject", "respond"])
def test_reject_and_respond_come_back_as_human_in_the_loop_middleware_sends_them(
    kind: str,
) -> None:
    hitl = HumanInTheLoopMiddleware(interrupt_on={"refund": True})
    theirs = create_agent(
        model(say("Refund.", BIG)), TOOLS, middleware=[hitl], checkpointer=InMemorySaver()
    )
    ours, _ = gated_agent(say("Refund.", BIG))
    got = []
    for agent in (theirs, ours):
        with allow_ungoverned():  # HITL alone governs nothing Interlock knows of
            agent.invoke(ASK, cfg())
            out = agent.invoke(Command(resume={"decisions": [DECISIONS[kind]]}), cfg())
        (msg,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
        got.append(msg)
    assert got[0].status == got[1].status
    if kind == "respond":
        assert got[0].content == got[1].content
    assert RAN == []


def test_an_escalation_reopens_the_review_under_a_new_interrupt_id() -> None:
    agent, mw = gated_agent(say("Refund.", BIG))
    (first,) = agent.invoke(ASK, cfg())["__interrupt__"]
    escalate = {"type": "escalate", "role": "admin", "message": "above my pay grade"}
    (second,) = agent.invoke(Command(resume={first.id: {"decisions": [escalate]}}), cfg())[
        "__interrupt__"
    ]
    assert second.id != first.id
    assert second.value["interrupt_id"] == second.id
    assert (second.value["round"], second.value["escalated_to"]) == (2, "admin")
    assert second.value["action_requests"][0]["required_approval"]["roles"] == ["admin"]
    TypeAdapter(HITLRequest).validate_python(second.value)
    # A malformed answer re-opens it too (a third id), and changes nothing.
    (third,) = agent.invoke(Command(resume={second.id: {"decisions": []}}), cfg())["__interrupt__"]
    assert third.id not in (first.id, second.id)
    assert "not applied" in third.value["notes"][0]
    assert RAN == []
    out = agent.invoke(Command(resume={third.id: {"decisions": [{"type": "approve"}]}}), cfg())
    assert RAN == [("refund", ("o-2", 900.0))]
    assert out["messages"][-1].content == "All done."
    audit = mw.gate.audit
    assert isinstance(audit, InMemoryAuditSink)
    kinds = [e["kind"] for e in audit.events]
    # The review opened once for the turn, however often the node re-ran on resume.
    assert kinds.count("review") == 1
    assert kinds.count("executed") == 1


@pytest.mark.parametrize("aio", [False, True], ids=["invoke", "ainvoke"])
def test_several_held_calls_of_a_turn_are_interrupts_of_their_own(aio: bool) -> None:
    small = ("refund", {"order_id": "o-3", "amount": 700.0})
    agent, mw = gated_agent(say("Refund both.", ("lookup", {"order_id": "o-1"}), BIG, small))
    out = run(agent, ASK, aio=aio)
    # The allowed call ran in its own task; each held call waits at an interrupt of its own.
    assert RAN == [("lookup", "o-1")]
    first, second = out["__interrupt__"]
    assert first.id != second.id
    for intr in (first, second):
        TypeAdapter(HITLRequest).validate_python(intr.value)
        assert intr.value["interrupt_id"] == intr.id
    orders = {i.value["action_requests"][0]["args"]["order_id"]: i for i in (first, second)}
    assert set(orders) == {"o-2", "o-3"}
    # With several pending, LangGraph wants the id-addressed resume; each goes in alone.
    with pytest.raises(RuntimeError, match="multiple pending interrupts"):
        run(agent, Command(resume={"decisions": [{"type": "approve"}]}), aio=aio)
    approve = {"decisions": [{"type": "approve"}]}
    out = run(agent, Command(resume={orders["o-2"].id: approve}), aio=aio)
    (left,) = out["__interrupt__"]
    assert left.id == orders["o-3"].id  # the sibling waits under the same id
    assert RAN == [("lookup", "o-1"), ("refund", ("o-2", 900.0))]
    reject = {"decisions": [{"type": "reject", "message": "Not this one."}]}
    out = run(agent, Command(resume={left.id: reject}), aio=aio)
    assert "__interrupt__" not in out
    assert RAN == [("lookup", "o-1"), ("refund", ("o-2", 900.0))]
    assert [s for _, s, _ in results(out["messages"])] == ["success", "success", "error"]
    assert out["messages"][-1].content == "All done."
    audit = mw.gate.audit
    assert isinstance(audit, InMemoryAuditSink)
    kinds = [e["kind"] for e in audit.events]
    assert (kinds.count("review"), kinds.count("executed")) == (2, 2)


@tool
def wipe(target: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
    """Wipe a production target (returns a Command)."""
    RAN.append(("wipe", target))
    return Command(update={"messages": [ToolMessage(f"wiped {target}", tool_call_id=tool_call_id)]})


gated(wipe, effects={"write"}, reversible=False, environment="production")


def test_a_held_command_tool_runs_edited_with_its_own_update_and_the_decision() -> None:
    tools = [*TOOLS, wipe]
    mw = InterlockMiddleware(tools)
    turn = say("Wipe.", ("wipe", {"target": "cache"}))
    agent = create_agent(model(turn), tools, middleware=[mw], checkpointer=InMemorySaver())
    assert "__interrupt__" in agent.invoke(ASK, cfg())
    edit = {"type": "edit", "edited_action": {"name": "wipe", "args": {"target": "tmp"}}}
    out = agent.invoke(Command(resume={"decisions": [edit]}), cfg())
    assert "__interrupt__" not in out
    assert RAN == [("wipe", "tmp")]
    ai, result, final = out["messages"][-3:]
    assert isinstance(ai, AIMessage)
    assert ai.tool_calls[0]["args"] == {"target": "tmp"}  # the turn shows what ran
    assert (result.content, final.content) == ("wiped tmp", "All done.")
    (record,) = agent.get_state(cfg()).values["interlock"]["reviews"].values()
    assert record["decision"] == "edit"
