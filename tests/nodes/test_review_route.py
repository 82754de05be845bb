"""The ReviewRequest carries the route: each call's, and the review's team (the most severe
call's), and it still validates as LangChain's `HITLRequest`."""

from __future__ import annotations

import dataclasses
from typing import Any

from langchain.agents.middleware.human_in_the_loop import HITLRequest
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import TypeAdapter

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import ActionRequest, gated, review_route
from interlock.risk import Route, default_policy


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an order."""
    return f"refunded {amount} on {order_id}"


@tool
def restart(service: str) -> str:
    """Restart a service."""
    return f"restarted {service}"


gated(refund, effects={"spend"}, reversible=False, environment="production")
gated(restart, effects={"write"}, reversible=True, environment="production")
TOOLS = [refund, restart]
ROUTED = dataclasses.replace(
    default_policy(),
    routes=(Route(name="money", team="payments", tool=("refund",)),),
    default_team="oncall",
    escalation_teams={"admin": "platform"},
)


def _interrupt(policy: Any, *calls: tuple[str, dict[str, Any]]) -> Any:
    model = ScriptedChatModel(steps=[say("On it.", *calls)], final="Done.")
    agent = create_gated_agent(model, TOOLS, policy=policy, checkpointer=InMemorySaver())
    out = agent.invoke({"messages": [("user", "refund o-1")]}, {"configurable": {"thread_id": "t"}})
    (intr,) = out["__interrupt__"]
    return intr.value


def test_each_call_and_the_review_carry_their_route() -> None:
    request = _interrupt(
        ROUTED,
        ("restart", {"service": "api"}),
        ("refund", {"order_id": "o-1", "amount": 900.0}),
    )
    TypeAdapter(HITLRequest).validate_python(request)
    first, second = request["action_requests"]
    assert first["assessment"]["level"] == second["assessment"]["level"] == "high"
    assert second["route"] == {"team": "payments", "route": "money", "why": "money: tool refund"}
    assert first["route"]["team"] == "oncall"
    assert first["route"]["route"] == "default_team"
    # The review's team is the most severe call's; of equals, the first call's.
    assert request["team"] == "oncall"
    assert request["route"] == first["route"]


def test_a_policy_without_routes_sends_none() -> None:
    plain = dataclasses.replace(default_policy(), routes=(), default_team=None, escalation_teams={})
    request = _interrupt(plain, ("refund", {"order_id": "o-1", "amount": 900.0}))
    TypeAdapter(HITLRequest).validate_python(request)
    assert request["team"] is None
    assert request["route"] is None
    assert request["action_requests"][0]["route"] is None


def _action(level: str, team: str) -> ActionRequest:
    return {
        "name": "t",
        "args": {},
        "description": "",
        "assessment": {
            "score": 0,
            "level": level,
            "outcome": "review",
            "reasons": [],
            "policy_version": "",
        },
        "route": {"team": team, "route": f"to-{team}", "why": ""},
    }


def test_review_route_prefers_the_escalated_roles_team_then_the_most_severe_call() -> None:
    actions = [_action("high", "a"), _action("critical", "b"), _action("critical", "c")]
    got = review_route(ROUTED, actions, None)
    assert got is not None
    assert got["team"] == "b"
    escalated = review_route(ROUTED, actions, "admin")
    assert escalated == {
        "team": "platform",
        "route": "escalation_teams.admin",
        "why": "escalated to admin, whose team is platform",
    }
    kept = review_route(ROUTED, actions, "sre-lead")  # no team for that role: keep the route
    assert kept is not None
    assert kept["team"] == "b"
    assert review_route(ROUTED, [], None) is None
