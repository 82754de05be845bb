"""`create_gated_agent` over two different tool sets, on real checkpointers."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from interlock.graphs import Infra, ScriptedChatModel, create_gated_agent, make_ops_tools, say
from interlock.nodes import (
    InMemoryAuditSink,
    InterlockContext,
    gated,
    pending_reviews,
    resume_command,
)
from interlock.risk import Resource

# -- tool set 2: a support desk; one tool carries no Interlock metadata ----------------------
ORDERS = {"o-1": 40.0, "o-2": 900.0}
REFUNDS: list[tuple[str, float]] = []
EMAILS: list[str] = []


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order."""
    return f"{order_id}: {ORDERS[order_id]}"


@tool
def refund_order(order_id: str, amount: float) -> str:
    """Refund an order."""
    REFUNDS.append((order_id, amount))
    return f"refunded {amount} on {order_id}"


@tool
def send_email(to: str, body: str) -> str:
    """Send an email to a customer."""
    EMAILS.append(to)
    return "sent"


gated(lookup_order, effects={"read"}, environment="production")
gated(
    refund_order,
    effects={"spend"},
    reversible=False,
    environment="production",
    resource=lambda a: Resource(type="order", id=str(a.get("order_id"))),
    preview=lambda a: f"pays back {a.get('amount')} on {a.get('order_id')}",
)


def thread(name: str) -> Any:
    return {"configurable": {"thread_id": name}}


def test_support_tools_run_allowed_calls_and_stop_for_money_and_unknown_tools(
    saver: BaseCheckpointSaver[str],
) -> None:
    REFUNDS.clear()
    EMAILS.clear()
    model = ScriptedChatModel(
        steps=[
            say("Check the order.", ("lookup_order", {"order_id": "o-1"})),
            say("Small refund.", ("refund_order", {"order_id": "o-1", "amount": 40.0})),
            say(
                "Big refund and tell the customer.",
                ("refund_order", {"order_id": "o-2", "amount": 900.0}),
                ("send_email", {"to": "c@example.com", "body": "refunded"}),
            ),
        ],
        final="All done.",
    )
    agent = create_gated_agent(model, [lookup_order, refund_order, send_email], checkpointer=saver)
    cfg = thread("support")
    agent.invoke({"messages": [("user", "Refund the customer.")]}, cfg)

    # A read and a small refund ran without anyone; the big refund and the undeclared tool wait.
    assert REFUNDS == [("o-1", 40.0)]
    (review,) = pending_reviews(agent, cfg)
    names = [a["name"] for a in review.request["action_requests"]]
    assert names == ["refund_order", "send_email"]
    email = review.request["action_requests"][1]
    assert any("Unknown tool" in r["text"] for r in email["assessment"]["reasons"])
    assert "No dry run" in email["expected_outcome"]
    assert EMAILS == []

    # Two actions, decided separately: the refund is rejected, the email approved.
    agent.invoke(
        resume_command(review, [{"type": "reject", "message": "Too much."}, {"type": "approve"}]),
        cfg,
    )
    assert REFUNDS == [("o-1", 40.0)]
    assert EMAILS == ["c@example.com"]
    final = agent.get_state(cfg).values["messages"][-1]
    assert isinstance(final, AIMessage)
    assert final.content == "All done."


def test_two_risky_ops_calls_in_one_step_make_one_review_decided_per_action(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    model = ScriptedChatModel(
        steps=[
            say(
                "Clean up and open production.",
                ("delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}),
                (
                    "change_network_policy",
                    {"environment": "production", "ingress": "public", "token": "tok-ci-admin"},
                ),
                ("list_resources", {"kind": "volumes"}),
            )
        ]
    )
    agent = create_gated_agent(model, make_ops_tools(infra), checkpointer=saver)
    cfg = thread("two-risky")
    agent.invoke({"messages": [("user", "Tidy up.")]}, cfg)
    (review,) = pending_reviews(agent, cfg)
    actions = review.request["action_requests"]
    assert [a["name"] for a in actions] == ["delete_volume", "change_network_policy"]
    assert len({a["digest"] for a in actions}) == 2
    assert infra.events() == []  # not even the allowed read ran before the decision

    agent.invoke(
        resume_command(
            review, {"decisions": [{"type": "reject", "message": "no"}, {"type": "approve"}]}
        ),
        cfg,
    )
    assert [e["op"] for e in infra.events()] == ["change_network_policy"]
    assert "vol-prod-db" in infra.read()["volumes"]
    assert infra.read()["environments"]["production"]["network"]["ingress"] == "public"
    results = {
        m.name: m for m in agent.get_state(cfg).values["messages"] if isinstance(m, ToolMessage)
    }
    assert results["list_resources"].status == "success"


def test_denied_calls_go_back_to_the_model_and_rejected_calls_are_not_retried(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    delete = ("delete_volume", {"volume_id": "vol-staging-db", "token": "tok-ci-admin"})
    model = ScriptedChatModel(
        steps=[say("Delete it.", delete), say("Try again.", delete), say("Once more.", delete)],
        final="I give up.",
    )
    audit = InMemoryAuditSink()
    agent = create_gated_agent(model, make_ops_tools(infra), checkpointer=saver, audit=audit)
    cfg = thread("deny")
    agent.invoke({"messages": [("user", "x")]}, cfg)
    (review,) = pending_reviews(agent, cfg)
    agent.invoke(resume_command(review, {"type": "reject", "message": "Keep it."}), cfg)
    # The same call proposed again is refused without a second review, and the loop ends.
    assert pending_reviews(agent, cfg) == []
    msgs = agent.get_state(cfg).values["messages"]
    refusals = [m.content for m in msgs if isinstance(m, ToolMessage)]
    assert refusals[0].startswith("REJECTED by a human reviewer")
    assert all(r.startswith("REFUSED: a human reviewer already rejected") for r in refusals[1:])
    assert msgs[-1].content == "I give up."
    assert infra.events() == []

    # A stopped agent is denied outright: the refusal reaches the model, nothing waits.
    stop = InterlockContext(stopped_agents=frozenset({"agent"}))
    cfg2 = thread("stopped")
    agent.invoke({"messages": [("user", "x")]}, cfg2, context=stop)
    assert pending_reviews(agent, cfg2) == []
    first = next(m for m in agent.get_state(cfg2).values["messages"] if isinstance(m, ToolMessage))
    assert first.content.startswith("DENIED by policy")
    assert "stopped by an administrator" in first.content
    assert "denied" in [e["kind"] for e in audit.events]


def test_an_approval_is_used_once_and_the_same_call_later_needs_a_new_review(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    snap = (
        "change_network_policy",
        {"environment": "production", "ingress": "vpn", "token": "tok-prod-app"},
    )
    model = ScriptedChatModel(steps=[say("Open VPN.", snap), say("And again.", snap)])
    agent = create_gated_agent(model, make_ops_tools(infra), checkpointer=saver)
    cfg = thread("once")
    agent.invoke({"messages": [("user", "x")]}, cfg)
    (first,) = pending_reviews(agent, cfg)
    agent.invoke(resume_command(first, {"type": "approve"}), cfg)
    (second,) = pending_reviews(agent, cfg)
    assert second.interrupt_id != first.interrupt_id
    assert (
        second.request["action_requests"][0]["digest"]
        != first.request["action_requests"][0]["digest"]
    )
    assert [e["op"] for e in infra.events()] == ["change_network_policy"]
    # A LangGraph-style plain resume works too.
    agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), cfg)
    assert [e["op"] for e in infra.events()] == ["change_network_policy"] * 2
