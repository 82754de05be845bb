"""Edges of the gate: expiry, an outcome in doubt, stores from the run context, async runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from interlock.graphs import Infra
from interlock.graphs.ops_agent import SCENARIO_REQUEST, build_graph, build_ops_agent
from interlock.nodes import (
    ExecutionRecord,
    InMemoryApprovalStore,
    InMemoryAuditSink,
    InMemoryExecutionLedger,
    InterlockContext,
    pending_reviews,
    resume_command,
)
from interlock.risk.errors import ConfigError, ConflictError

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_a_decision_after_expiry_reopens_the_review_and_runs_nothing(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    clock = Clock()
    agent = build_ops_agent(infra=infra, checkpointer=saver, clock=clock)
    cfg: Any = {"configurable": {"thread_id": "late"}}
    agent.graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, cfg)
    (review,) = pending_reviews(agent.graph, cfg)
    assert review.request["expires_at"] == (T0 + timedelta(hours=24)).isoformat()

    clock.now = T0 + timedelta(hours=25)
    # A client that checks the time refuses before resuming...
    with pytest.raises(ConflictError, match="expired"):
        resume_command(review, {"type": "approve"}, now=clock.now)
    # ...and a late answer that reaches the graph is not applied.
    agent.graph.invoke(resume_command(review, {"type": "approve"}), cfg)
    (again,) = pending_reviews(agent.graph, cfg)
    assert "expired" in again.request["notes"][0]
    assert again.request["expires_at"] == (clock.now + timedelta(hours=24)).isoformat()
    assert infra.events("delete_volume") == []


def test_an_action_whose_earlier_run_never_finished_is_in_doubt_not_retried(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    ledger = InMemoryExecutionLedger()
    agent = build_ops_agent(infra=infra, checkpointer=saver, ledger=ledger)
    cfg: Any = {"configurable": {"thread_id": "doubt"}}
    agent.graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, cfg)
    (review,) = pending_reviews(agent.graph, cfg)
    action = review.request["action_requests"][0]
    # As if a worker had started this very action and died without recording an outcome.
    ledger.start(
        ExecutionRecord(
            key=action["digest"],
            digest=action["digest"],
            tool=action["name"],
            thread_id="doubt",
            tool_call_id=action["tool_call_id"],
            status="started",
            started_at=T0,
        )
    )
    agent.graph.invoke(resume_command(review, {"type": "approve"}), cfg)
    result = [
        m
        for m in agent.graph.get_state(cfg).values["messages"]
        if getattr(m, "name", "") == "delete_volume"
    ][-1]
    assert result.content.startswith("IN DOUBT")
    assert infra.events("delete_volume") == []
    assert "in_doubt" in [e["kind"] for e in agent.gate.audit.events]  # type: ignore[attr-defined]


def test_stores_passed_in_the_run_context_are_the_ones_used(
    saver: BaseCheckpointSaver[str], infra: Infra
) -> None:
    agent = build_ops_agent(infra=infra, checkpointer=saver)
    approvals, ledger, audit = (
        InMemoryApprovalStore(),
        InMemoryExecutionLedger(),
        InMemoryAuditSink(),
    )
    ctx = InterlockContext(approvals=approvals, ledger=ledger, audit=audit)
    cfg: Any = {"configurable": {"thread_id": "ctx"}}
    agent.graph.invoke({"messages": [("user", SCENARIO_REQUEST)]}, cfg, context=ctx)
    (review,) = pending_reviews(agent.graph, cfg)
    agent.graph.invoke(resume_command(review, {"type": "approve"}), cfg, context=ctx)
    digest = review.request["action_requests"][0]["digest"]
    used = approvals.get(digest)
    assert used is not None
    assert used.used_at is not None
    assert ledger.get(digest) is not None
    assert "executed" in audit.kinds()
    assert agent.gate.audit.events == []  # type: ignore[attr-defined]


def test_the_graph_runs_under_asyncio(infra: Infra) -> None:
    agent = build_ops_agent(infra=infra, checkpointer=InMemorySaver())
    cfg: Any = {"configurable": {"thread_id": "async"}}

    async def go() -> None:
        await agent.graph.ainvoke({"messages": [("user", SCENARIO_REQUEST)]}, cfg)
        (review,) = pending_reviews(agent.graph, cfg)
        await agent.graph.ainvoke(resume_command(review, {"type": "reject", "message": "no"}), cfg)

    asyncio.run(go())
    assert "vol-prod-db" in infra.read()["volumes"]
    assert "snapshot_volume" in [
        c["name"]
        for m in agent.graph.get_state(cfg).values["messages"]
        for c in getattr(m, "tool_calls", [])
    ]


def test_a_real_model_is_named_by_string_and_a_missing_provider_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="provider:model"):
        build_graph(model="gpt-4")
    with pytest.raises(ConfigError, match=r"needs the package|provider:model"):
        build_graph(model="openai:gpt-4.1")
