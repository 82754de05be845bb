"""Fixtures for the graph tests: a real checkpointer per backend and an ops-agent driver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver

from interlock.graphs import Infra, open_checkpointer
from interlock.graphs.ops_agent import SCENARIO_REQUEST, OpsAgent, build_ops_agent
from interlock.nodes import PendingReview, pending_reviews, resume_command


@pytest.fixture
def saver(db_url: str) -> Iterator[BaseCheckpointSaver[str]]:
    """A real checkpointer: SQLite and Postgres, one fresh database each."""
    with open_checkpointer(db_url) as cp:
        yield cp


class Driver:
    """Runs one thread of a gated graph and answers its reviews like a client would."""

    def __init__(self, agent: OpsAgent, thread: str | None = None) -> None:
        self.agent = agent
        self.graph = agent.graph
        self.config: Any = {"configurable": {"thread_id": thread or f"t-{uuid.uuid4().hex[:8]}"}}

    @property
    def infra(self) -> Infra:
        return self.agent.infra

    def start(self, text: str = SCENARIO_REQUEST) -> list[PendingReview]:
        self.graph.invoke({"messages": [("user", text)]}, self.config)
        return self.pending()

    def pending(self) -> list[PendingReview]:
        return pending_reviews(self.graph, self.config)

    def decide(self, answer: Any) -> list[PendingReview]:
        (review,) = self.pending()
        self.graph.invoke(resume_command(review, answer), self.config)
        return self.pending()

    def approve_rest(self, limit: int = 8) -> list[str]:
        """Approve every review that follows until the thread ends; the tools reviewed."""
        seen: list[str] = []
        for _ in range(limit):
            pending = self.pending()
            if not pending:
                return seen
            seen += [a["name"] for a in pending[0].request["action_requests"]]
            self.decide({"type": "approve"})
        raise AssertionError(f"the thread kept asking for reviews: {seen}")

    def messages(self) -> list[Any]:
        return list(self.graph.get_state(self.config).values["messages"])

    def tool_results(self, name: str) -> list[Any]:
        return [m for m in self.messages() if getattr(m, "name", None) == name]


@pytest.fixture
def infra(tmp_path: Path) -> Infra:
    return Infra(tmp_path / "infra.json")


@pytest.fixture
def ops(saver: BaseCheckpointSaver[str], infra: Infra) -> Driver:
    """The ops agent on a real checkpointer and a file-backed infrastructure."""
    return Driver(build_ops_agent(infra=infra, checkpointer=saver))
