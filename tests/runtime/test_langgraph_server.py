"""The same graphs on LangGraph Server (`langgraph dev`), governed by Interlock's database.

Each test starts `langgraph dev` on a free loopback port, serving the repository's own
`langgraph.json` from a temporary folder, its environment naming the test's database: the
governed graph keeps approvals, the execution ledger and the audit log there. The runtime
talks to it with `INTERLOCK_LANGGRAPH_URL` (the server backend).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.risk.errors import AuthorizationError, ConfigError, ConflictError
from interlock.runtime import DEMO_PASSWORD, Runtime
from interlock.runtime.server import _runner as _server_engine

LangGraphServer = Any  # tests/runtime/conftest.py: a running `langgraph dev`
VOLUME = "vol-prod-db"
ADVICE = "Never delete production volumes. Snapshot it, then fix the staging credential."


def _client(server: LangGraphServer) -> Any:
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=server.url)


def _start(server: LangGraphServer, graph: str) -> tuple[str, dict[str, Any]]:
    client = _client(server)
    thread = client.threads.create(thread_id=str(uuid.uuid4()))["thread_id"]
    client.runs.wait(
        thread, graph, input={"messages": [{"role": "user", "content": SCENARIO_REQUEST}]}
    )
    state = client.threads.get_state(thread)
    return thread, state


def test_an_approve_sent_straight_to_the_server_runs_nothing(
    lg_sqlite_server: LangGraphServer,
    lg_runtime: Callable[[LangGraphServer], Runtime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = lg_sqlite_server
    graphs = {a["graph_id"] for a in _client(server).assistants.search()}
    assert graphs == {"ops_agent", "ops_agent_governed"}, server.logs()
    thread, state = _start(server, "ops_agent_governed")
    (pending,) = state["interrupts"]
    assert pending["value"]["kind"] == "interlock.review"
    assert pending["value"]["action_requests"][0]["name"] == "delete_volume"
    # The steps the policy allows ran inside the server and were audited in our database.
    rt = lg_runtime(server)
    events = [r.event for r in rt.audit.rows() if r.thread_id == thread]
    assert "execution_succeeded" in events
    # The inbox lists the thread that started without Interlock (Studio, another client).
    (review,) = rt.inbox.pending()
    assert (review.thread_id, review.tool, review.level) == (thread, "delete_volume", "critical")

    # Studio (or any client) answering the interrupt directly: strict mode mints nothing.
    client = _client(server)
    answer = {pending["id"]: {"decisions": [{"type": "approve"}]}}
    client.runs.wait(thread, "ops_agent_governed", command={"resume": answer})
    (again,) = client.threads.get_state(thread)["interrupts"]
    assert again["value"]["action_requests"][0]["name"] == "delete_volume"
    assert "decision service" in again["value"]["notes"][0]
    assert VOLUME in server.volumes()

    # The runtime's review stood for the interrupt that was answered: it is stale now, and a
    # decision on it is refused and changes nothing; the inbox shows the re-opened review.
    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    with pytest.raises(ConflictError, match="no longer"):
        rt.decisions.decide(review.id, {"type": "approve"}, reviewer=lead)
    (fresh,) = rt.inbox.pending()
    assert fresh.id != review.id
    assert rt.inbox.summary(review.id).status == "cancelled"
    assert VOLUME in server.volumes()

    # A thread that reaches a review later shows up at the next listing; a thread of the
    # reference graph (which approves on resume, ungoverned) never does.
    monkeypatch.setattr(_server_engine, "SYNC_EVERY_S", 0.0)
    later, _ = _start(server, "ops_agent_governed")
    _start(server, "ops_agent")
    assert {r.thread_id for r in rt.inbox.pending()} == {thread, later}


def test_the_pocketos_scenario_on_the_server_decided_through_the_runtime(
    lg_server: LangGraphServer, lg_runtime: Callable[[LangGraphServer], Runtime]
) -> None:
    server = lg_server
    rt = lg_runtime(server)
    # The served graph is the server's: per-run graph options cannot reach it.
    with pytest.raises(ConfigError, match="cannot be sent"):
        rt.run("ops_agent", SCENARIO_REQUEST, options={"infra": "elsewhere.json"})
    run = rt.run("ops_agent", SCENARIO_REQUEST, requester="dev-on-call")
    assert run.status == "pending", server.logs()
    (review,) = rt.inbox.pending()
    assert review.id == run.review_id
    assert (review.tool, review.target, review.level) == (
        "delete_volume",
        f"volume {VOLUME}",
        "critical",
    )
    assert server.ops() == ["restart_service", "scale_service"]

    # Authorisation is still the decision service's: on-call may not decide a critical review.
    oncall = rt.reviewers.authenticate("oncall-demo", DEMO_PASSWORD)
    with pytest.raises(AuthorizationError):
        rt.decisions.decide(review.id, {"type": "approve"}, reviewer=oncall)
    assert VOLUME in server.volumes()

    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    message = ADVICE
    out = rt.decisions.decide(review.id, {"type": "reject", "message": message}, reviewer=lead)
    assert out.status == "resumed", server.logs()
    assert any("snapshot_volume" in e for e in out.events), out.events
    # The agent takes the safe path on the server; what it asks on the way is approved.
    reviewed: list[str] = []
    while out.next_review_id is not None:
        nxt = rt.inbox.summary(out.next_review_id)
        reviewed.append(nxt.tool)
        assert len(reviewed) < 6, reviewed
        out = rt.decisions.decide(nxt.id, {"type": "approve"}, reviewer=lead)
        assert out.status == "resumed", server.logs()
    assert out.thread_status == "done", out
    assert "delete_volume" not in reviewed
    assert "rotate_credential" in reviewed
    assert VOLUME in server.volumes()
    assert server.ops() == [
        "restart_service",
        "scale_service",
        "snapshot_volume",
        "rotate_credential",
        "restart_service",
    ]
    assert rt.inbox.pending() == []
    verified = rt.audit.verify()
    assert verified.ok, verified
    events = [r.event for r in rt.audit.rows() if r.thread_id == run.thread_id]
    for expected in ("run_started", "review_opened", "decision_recorded", "execution_succeeded"):
        assert expected in events, events


def test_a_server_that_does_not_answer_leaves_the_inbox_readable_and_changes_nothing(
    sqlite_url: str,
    tmp_path: Path,
    lg_serve: Callable[[str, Path], Any],
    lg_runtime: Callable[[LangGraphServer], Runtime],
) -> None:
    with lg_serve(sqlite_url, tmp_path / "server") as server:
        rt = lg_runtime(server)
        run = rt.run("ops_agent", SCENARIO_REQUEST)
    # The server is gone: listing shows what is registered and says why it may be stale.
    (review,) = rt.inbox.pending()
    assert review.id == run.review_id
    assert "does not answer" in (getattr(rt.inbox, "sync_error", None) or "")
    # Deciding needs the server to say the review is current: refused, nothing recorded.
    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    with pytest.raises(ConfigError, match="does not answer"):
        rt.decisions.decide(review.id, {"type": "reject", "message": "Not now."}, reviewer=lead)
    assert rt.inbox.summary(review.id).status == "pending"
    assert rt.inbox.get(review.id).decisions == ()
    assert VOLUME in server.volumes()


def test_a_decision_on_a_thread_the_server_is_busy_with_is_recorded_and_carried_in_later(
    lg_sqlite_server: LangGraphServer, lg_runtime: Callable[[LangGraphServer], Runtime]
) -> None:
    server = lg_sqlite_server
    rt = lg_runtime(server)
    run = rt.run("ops_agent", SCENARIO_REQUEST)
    review = rt.inbox.summary(run.review_id or "")
    # Another client has a run waiting on the thread: the server refuses a second one.
    client = _client(server)
    held = client.runs.create(run.thread_id, "ops_agent_governed", input=None, after_seconds=600)
    lead = rt.reviewers.authenticate("sre-lead-demo", DEMO_PASSWORD)
    message = ADVICE
    out = rt.decisions.decide(review.id, {"type": "reject", "message": message}, reviewer=lead)
    assert out.status == "queued"
    assert rt.inbox.summary(review.id).status == "decided"
    assert server.ops() == ["restart_service", "scale_service"]
    # Once the thread is free, the recorded decision is carried in (what a worker does).
    client.runs.cancel(run.thread_id, held["run_id"])
    later = rt.decisions.resume(review.id)
    assert later.status == "resumed", server.logs()
    assert any("snapshot_volume" in e for e in later.events), later.events
    assert "delete_volume" not in server.ops()
    assert VOLUME in server.volumes()
