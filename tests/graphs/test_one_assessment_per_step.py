"""A proposed call is assessed once per step of its run, not once per node: the router's
verdict serves the review node, and on resume the review node's serves guarded execution,
which still runs the call only with the approval for the digest of the call as it stands. A
rejection recorded meanwhile, an edit, or a stop is never answered from an earlier verdict."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import Gate, gated, pending_reviews, resume_command

RAN: list[str] = []


@tool
def restart_service(name: str) -> str:
    """Restart a production service."""
    RAN.append(name)
    return f"{name} restarted"


gated(restart_service, effects={"write"}, reversible=False, environment="production")


@contextmanager
def counted() -> Iterator[list[str]]:
    """The names of the calls the gate assessed (not answered from a kept verdict)."""
    seen: list[str] = []
    original = Gate._assess

    def spy(self: Gate, call: Any, scope: Any, rejected: Any) -> Any:
        seen.append(call["name"])
        return original(self, call, scope, rejected)

    Gate._assess = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Gate._assess = original  # type: ignore[method-assign]


def _agent() -> Any:
    model = ScriptedChatModel(
        steps=[say("Restart it.", ("restart_service", {"name": "api"}))], final="Done."
    )
    return create_gated_agent(model, [restart_service], checkpointer=InMemorySaver())


def test_a_held_call_is_assessed_once_to_stop_and_once_to_run() -> None:
    RAN.clear()
    agent, cfg = _agent(), {"configurable": {"thread_id": "once"}}
    with counted() as first:
        agent.invoke({"messages": [("user", "Restart the api.")]}, cfg)
    assert first == ["restart_service"]  # the router's verdict held it for review
    (review,) = pending_reviews(agent, cfg)
    with counted() as second:
        agent.invoke(resume_command(review, [{"type": "approve"}]), cfg)
    assert RAN == ["api"]
    assert second == ["restart_service"]  # the review node's verdict let it run


def test_a_rejected_call_does_not_run() -> None:
    RAN.clear()
    agent, cfg = _agent(), {"configurable": {"thread_id": "rejected"}}
    agent.invoke({"messages": [("user", "Restart the api.")]}, cfg)
    (review,) = pending_reviews(agent, cfg)
    agent.invoke(resume_command(review, [{"type": "reject", "message": "not now"}]), cfg)
    assert RAN == []
    tool_message = agent.get_state(cfg).values["messages"][-2]
    assert "REJECTED by a human reviewer" in str(tool_message.content)


def test_an_edited_call_is_assessed_as_edited_and_runs_as_edited() -> None:
    RAN.clear()
    agent, cfg = _agent(), {"configurable": {"thread_id": "edited"}}
    agent.invoke({"messages": [("user", "Restart the api.")]}, cfg)
    (review,) = pending_reviews(agent, cfg)
    edit = {"type": "edit", "edited_action": {"name": "restart_service", "args": {"name": "web"}}}
    agent.invoke(resume_command(review, [edit]), cfg)
    state = agent.get_state(cfg)
    if state.next:  # the edit needs a fresh approval of its own
        (again,) = pending_reviews(agent, cfg)
        agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), cfg)
        assert again.request["action_requests"][0]["args"] == {"name": "web"}
    assert RAN == ["web"]
