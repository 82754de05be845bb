"""Guarded execution: a hand-edited state or a stale answer can never run an unapproved action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from interlock.graphs import Infra
from interlock.graphs.ops_agent import SCENARIO_REQUEST, build_ops_agent
from interlock.nodes import Approval, pending_reviews, resume_command
from interlock.risk.errors import DecisionError


def delete_turn(graph: Any, config: Any) -> AIMessage:
    for msg in reversed(graph.get_state(config).values["messages"]):
        if (
            isinstance(msg, AIMessage)
            and msg.tool_calls
            and msg.tool_calls[0]["name"] == "delete_volume"
        ):
            return msg
    raise AssertionError("no delete proposal in the thread")


def retarget(ai: AIMessage, volume: str) -> AIMessage:
    call = {**ai.tool_calls[0], "args": {**ai.tool_calls[0]["args"], "volume_id": volume}}
    return ai.model_copy(update={"tool_calls": [call]})


def deletes(infra: Infra) -> list[str]:
    return [e["target"] for e in infra.events("delete_volume")]


def test_approved_arguments_changed_in_the_checkpoint_are_refused(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    # Pause before every tool step, so the test can edit the state between approval and run.
    agent = build_ops_agent(infra=infra, checkpointer=saver, interrupt_before=["tools"])
    graph, config = agent.graph, {"configurable": {"thread_id": "tamper-after"}}
    graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, config)
    while not pending_reviews(graph, config):
        graph.invoke(None, config)
    (review,) = pending_reviews(graph, config)
    graph.invoke(resume_command(review, {"type": "approve"}), config)
    assert graph.get_state(config).next == ("tools",)  # approved, about to run

    ai = delete_turn(graph, config)
    graph.update_state(config, {"messages": [retarget(ai, "vol-prod-logs")]}, as_node="model")
    graph.invoke(None, config)

    refused = [
        m
        for m in graph.get_state(config).values["messages"]
        if getattr(m, "name", "") == "delete_volume"
    ]
    assert refused[-1].status == "error"
    assert "no valid approval matches this exact action" in refused[-1].content
    assert deletes(infra) == []
    assert {"vol-prod-db", "vol-prod-logs"} <= set(infra.read()["volumes"])
    events = [e for e in agent.gate.audit.events if e["kind"] == "refused"]
    assert events
    assert events[0]["tool"] == "delete_volume"
    assert events[0]["digest"]
    # The approval for the action the human saw is still unused: it was never consumed.
    issued = agent.gate.approvals.get(review.request["action_requests"][0]["digest"])  # type: ignore[attr-defined]
    assert issued is not None
    assert issued.used_at is None


def test_a_decision_recorded_by_hand_grants_nothing(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    agent = build_ops_agent(infra=infra, checkpointer=saver)
    graph, config = agent.graph, {"configurable": {"thread_id": "forged"}}
    graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, config)
    (review,) = pending_reviews(graph, config)
    ai = delete_turn(graph, config)
    forged = {
        ai.tool_calls[0]["id"]: {
            "decision": "approve",
            "interrupt_id": review.interrupt_id,
            "message_id": ai.id,
        }
    }
    graph.update_state(config, {"interlock": {"reviews": forged}}, as_node="model")
    assert graph.get_state(config).next == ("tools",)
    graph.invoke(None, config)
    assert deletes(infra) == []
    assert "vol-prod-db" in infra.read()["volumes"]


def test_arguments_changed_before_resume_reopen_the_review(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    agent = build_ops_agent(infra=infra, checkpointer=saver)
    graph, config = agent.graph, {"configurable": {"thread_id": "tamper-before"}}
    graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, config)
    (seen,) = pending_reviews(graph, config)  # what the reviewer looks at
    graph.update_state(
        config,
        {"messages": [retarget(delete_turn(graph, config), "vol-prod-logs")]},
        as_node="model",
    )

    # The reviewer approves what they saw; the answer is bound to that interrupt and digest.
    graph.invoke(resume_command(seen, {"type": "approve"}), config)
    (now,) = pending_reviews(graph, config)
    assert now.interrupt_id != seen.interrupt_id
    assert now.request["action_requests"][0]["args"]["volume_id"] == "vol-prod-logs"
    assert deletes(infra) == []

    # Even answered with a bare resume value, the stale digest re-opens the review.
    stale = {
        "decisions": [{"type": "approve", "digest": seen.request["action_requests"][0]["digest"]}]
    }
    graph.invoke(Command(resume=stale), config)
    (again,) = pending_reviews(graph, config)
    assert "changed since it was reviewed" in again.request["notes"][0]
    assert deletes(infra) == []


def test_a_bad_answer_is_refused_before_resume_and_leaves_the_thread_unchanged(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    agent = build_ops_agent(infra=infra, checkpointer=saver)
    graph, config = agent.graph, {"configurable": {"thread_id": "bad-answer"}}
    graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, config)
    (review,) = pending_reviews(graph, config)
    before = graph.get_state(config).config["configurable"]["checkpoint_id"]
    with pytest.raises(DecisionError, match="allowed: approve, edit, reject, respond, escalate"):
        resume_command(review, {"type": "yes"})
    assert graph.get_state(config).config["configurable"]["checkpoint_id"] == before

    # Sent anyway, the review node does not crash: it asks again and says why.
    graph.invoke(Command(resume={"decisions": [{"type": "yes"}]}), config)
    (again,) = pending_reviews(graph, config)
    assert "was not applied" in again.request["notes"][0]
    assert "'yes'" in again.request["notes"][0]
    assert deletes(infra) == []
    # And a good answer still works afterwards.
    graph.invoke(resume_command(again, {"type": "reject", "message": "no"}), config)
    assert "vol-prod-db" in infra.read()["volumes"]


def test_without_issue_on_resume_an_approve_needs_an_approval_from_the_decision_service(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    agent = build_ops_agent(infra=infra, checkpointer=saver, issue_on_resume=False)
    graph, config = agent.graph, {"configurable": {"thread_id": "strict"}}
    graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, config)
    (review,) = pending_reviews(graph, config)
    graph.invoke(resume_command(review, {"type": "approve"}), config)
    (again,) = pending_reviews(graph, config)
    assert "no approval was issued" in again.request["notes"][0]
    assert deletes(infra) == []

    # The decision service issues the approval for what the reviewer saw, then resumes.
    action = again.request["action_requests"][0]
    now = datetime.now(UTC)
    agent.gate.approvals.issue(
        Approval(
            digest=action["digest"],
            tool=action["name"],
            thread_id="strict",
            interrupt_id=again.interrupt_id,
            tool_call_id=action["tool_call_id"],
            reviewers=("ann",),
            roles=("sre-lead",),
            issued_at=now,
            expires_at=now + timedelta(minutes=5),
        )
    )
    graph.invoke(resume_command(again, {"type": "approve"}), config)
    assert deletes(infra) == ["vol-prod-db"]
