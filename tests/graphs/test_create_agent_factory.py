"""`gated_create_agent_factory`: what it builds from the runtime factory's arguments, and what
it refuses. The durable flows (CLI, console, worker): tests/ui/test_create_agent_runtime.py."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver

from interlock.graphs import GatedCreateAgent, ScriptedChatModel, gated_create_agent_factory, say
from interlock.nodes import (
    InMemoryApprovalStore,
    InMemoryAuditSink,
    InMemoryExecutionLedger,
    InterlockMiddleware,
    gated,
)
from interlock.risk import default_policy
from interlock.risk.errors import ConfigError
from interlock.runtime import Runtime


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"{key}: ok"


gated(lookup, effects={"read"}, reversible=True, idempotent=True, environment="staging")


def _model(options: Mapping[str, Any]) -> ScriptedChatModel:
    return ScriptedChatModel(steps=[say("", ("lookup", {"key": options["key"]}))], final="Done.")


def _build(factory: Any, issue_on_resume: bool = False) -> GatedCreateAgent:
    built: GatedCreateAgent = factory(
        checkpointer=InMemorySaver(),
        policy=default_policy(),
        approvals=InMemoryApprovalStore(),
        ledger=InMemoryExecutionLedger(),
        audit=InMemoryAuditSink(),
        issue_on_resume=issue_on_resume,
        options={"key": "k1"},
    )
    return built


def test_it_builds_create_agent_with_the_runtime_stores_and_strict_mode() -> None:
    factory = gated_create_agent_factory(_model, [lookup], agent="inventory", name="inventory")
    built = _build(factory)
    assert isinstance(built.middleware, InterlockMiddleware)
    assert built.gate is built.middleware.gate
    assert built.gate.issue_on_resume is False
    assert built.gate.agent == "inventory"
    assert built.graph.name == "inventory"
    out = built.graph.invoke(
        {"messages": [("user", "Look k1 up.")]}, {"configurable": {"thread_id": "t1"}}
    )
    (msg,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert (msg.status, msg.content) == ("success", "k1: ok")
    assert out["messages"][-1].content == "Done."


def test_the_runtime_runs_it_by_name(tmp_path: Path) -> None:
    factory = gated_create_agent_factory(_model, lambda _o: [lookup])
    url = f"sqlite:///{tmp_path}/interlock.db"
    with Runtime.open(url, graphs={"inv": factory}, reviewers_path=tmp_path / "r.toml") as rt:
        run = rt.run("inv", "Look k2 up.", options={"key": "k2"})
        assert run.status == "done", run
        rows = [r.event for r in rt.audit.rows()]
    assert "execution_succeeded" in rows


@pytest.mark.parametrize("owned", ["checkpointer", "policy", "ledger", "issue_on_resume"])
def test_what_the_runtime_owns_cannot_be_passed(owned: str) -> None:
    kwargs: dict[str, Any] = {owned: None}
    with pytest.raises(ConfigError, match=owned):
        gated_create_agent_factory(_model, [lookup], **kwargs)


def test_tools_must_be_langchain_tools() -> None:
    def bare(key: str) -> str:
        return key

    factory = gated_create_agent_factory(_model, lambda _o: [lookup, bare])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="BaseTool"):
        _build(factory)


def test_extra_middleware_is_composed_after_the_gate() -> None:
    from langchain.agents.middleware import AgentMiddleware

    calls: list[str] = []

    class Counting(AgentMiddleware[Any, Any, Any]):
        def wrap_tool_call(self, request: Any, handler: Any) -> Any:
            calls.append(request.tool_call["name"])
            return handler(request)

    extra: list[BaseTool] = [lookup]
    built = _build(gated_create_agent_factory(_model, extra, middleware=[Counting()]))
    built.graph.invoke({"messages": [("user", "go")]}, {"configurable": {"thread_id": "t2"}})
    assert calls == ["lookup"]
