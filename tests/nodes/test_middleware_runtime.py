"""A `create_agent` thread with InterlockMiddleware in the durable runtime (SQLite): its
review lands in the inbox, the decision service decides it (digest-bound approvals), a resume
or a worker carries it in, the ledger and the audit log record it, as for the gated agent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware.human_in_the_loop import HITLRequest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from pydantic import TypeAdapter

from interlock.graphs import ScriptedChatModel, say
from interlock.nodes import ApprovalStore, AuditSink, ExecutionLedger, Gate, InterlockMiddleware
from interlock.nodes import gated as declare
from interlock.risk import Policy
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password
from interlock.runtime.execution.worker import Worker

RAN: list[tuple[str, float]] = []
FAILS = {"left": 0}


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an order; fails while FAILS['left'] > 0."""
    RAN.append((order_id, amount))
    if FAILS["left"] > 0:
        FAILS["left"] -= 1
        msg = "payment gateway down"
        raise RuntimeError(msg)
    return f"refunded {amount} on {order_id}"


declare(refund, effects={"spend"}, reversible=False, environment="production")
BIG = {"order_id": "o-2", "amount": 900.0}


@dataclass(frozen=True, kw_only=True)
class Agent:
    graph: Any
    gate: Gate


def mw_agent(
    *,
    checkpointer: Any,
    policy: Policy,
    approvals: ApprovalStore,
    ledger: ExecutionLedger,
    audit: AuditSink,
    issue_on_resume: bool,
    options: Mapping[str, Any],
) -> Agent:
    """The runtime's graph factory for a create_agent agent gated by the middleware."""
    tools: list[BaseTool] = [refund]
    mw = InterlockMiddleware(
        tools,
        policy,
        agent="support-agent",
        approvals=approvals,
        ledger=ledger,
        audit=audit,
        issue_on_resume=issue_on_resume,
    )
    turns = [say("", *[(name, args) for name, args in turn]) for turn in options["turns"]]
    model = ScriptedChatModel(steps=turns, final="All done.")
    graph = create_agent(model, tools, middleware=[mw], checkpointer=checkpointer)
    return Agent(graph=graph, gate=mw.gate)


def _principal(name: str, role: str) -> Principal:
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")
ADA = _principal("ada", "admin")


@pytest.fixture(autouse=True)
def _fresh() -> None:
    RAN.clear()
    FAILS["left"] = 0


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    with Runtime.open(
        sqlite_url, graphs={"mw_agent": mw_agent}, reviewers_path=tmp_path / "reviewers.toml"
    ) as runtime:
        yield runtime


def start(rt: Runtime, args: Mapping[str, Any] = BIG) -> str:
    run = rt.run("mw_agent", "Refund order o-2.", options={"turns": [[["refund", dict(args)]]]})
    assert run.status == "pending"
    assert run.review_id is not None
    return run.review_id


def messages(rt: Runtime, thread_id: str) -> list[Any]:
    graph = rt.engine().built_for(thread_id)[1].graph
    return list(graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"])


DECIDE = {
    "approve": ({"type": "approve"}, [("o-2", 900.0)], "success"),
    "edit": (
        {"type": "edit", "edited_action": {"name": "refund", "args": {**BIG, "amount": 40}}},
        [("o-2", 40.0)],
        "success",
    ),
    "reject": ({"type": "reject", "message": "Offer a voucher instead."}, [], "error"),
    "respond": ({"type": "respond", "message": "A voucher was sent already."}, [], "success"),
}


@pytest.mark.parametrize("kind", list(DECIDE))
def test_a_decision_through_the_service_resumes_the_create_agent_thread(
    rt: Runtime, kind: str
) -> None:
    decision, ran, status = DECIDE[kind]
    rid = start(rt)
    review = rt.inbox.get(rid)
    TypeAdapter(HITLRequest).validate_python(review.request)
    assert review.request["kind"] == "interlock.review"
    assert review.request["review_configs"][0]["interlock_decisions"] == ["escalate"]
    assert RAN == []
    out = rt.decisions.decide(rid, decision, reviewer=SAM)
    assert out.status == "resumed"
    assert ran == RAN
    thread = review.request["thread_id"]
    (msg,) = [m for m in messages(rt, thread) if isinstance(m, ToolMessage)]
    assert msg.status == status
    if kind == "respond":
        assert msg.content == decision["message"]
    assert messages(rt, thread)[-1].content == "All done."
    events = [r.event for r in rt.audit.rows()]
    assert "review_opened" in events
    assert "decision_recorded" in events
    assert rt.audit.verify().ok


def test_an_approval_is_bound_to_the_digest_and_used_once(rt: Runtime) -> None:
    rid = start(rt)
    shown = rt.inbox.get(rid).request["action_requests"][0]["digest"]
    rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM)
    approval = rt.engine().approvals.get(shown)
    assert approval is not None
    assert approval.used_at is not None  # consumed as the ledger row opened
    row = rt.engine().ledger.get(shown)
    assert row is not None
    assert row.status == "succeeded"
    assert RAN == [("o-2", 900.0)]


def test_a_queued_decision_is_carried_in_by_a_worker_once(rt: Runtime) -> None:
    rid = start(rt)
    out = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM, resume=False)
    assert out.status == "queued"
    assert RAN == []
    stats = Worker(rt).run(once=True)
    assert (stats.resumed, stats.failed) == (1, 0)
    assert RAN == [("o-2", 900.0)]
    assert Worker(rt).run(once=True).resumed == 0
    assert RAN == [("o-2", 900.0)]


def test_an_escalation_opens_a_new_review_the_senior_role_decides(rt: Runtime) -> None:
    rid = start(rt)
    first = rt.inbox.get(rid)
    out = rt.decisions.decide(rid, {"type": "escalate", "role": "admin"}, reviewer=SAM)
    assert out.next_review_id is not None
    second = rt.inbox.get(out.next_review_id)
    assert second.request["interrupt_id"] != first.request["interrupt_id"]
    assert second.request["escalated_to"] == "admin"
    assert RAN == []
    rt.decisions.decide(out.next_review_id, {"type": "approve"}, reviewer=ADA)
    assert RAN == [("o-2", 900.0)]


def test_an_approved_call_that_raised_ends_its_review_and_is_never_run_again(
    rt: Runtime,
) -> None:
    FAILS["left"] = 1
    rid = start(rt)
    digest = rt.inbox.get(rid).request["action_requests"][0]["digest"]
    out = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM)
    assert out.status == "resumed"
    assert RAN == [("o-2", 900.0)]
    thread = rt.inbox.get(rid).request["thread_id"]
    (msg,) = [m for m in messages(rt, thread) if isinstance(m, ToolMessage)]
    assert msg.status == "error"
    assert "failed with RuntimeError: payment gateway down" in str(msg.content)
    assert messages(rt, thread)[-1].content == "All done."
    row = rt.engine().ledger.get(digest)
    assert row is not None
    assert row.status == "failed"
    # The review is over: nothing pending, and no worker finds anything to carry in.
    assert rt.inbox.pending() == []
    assert Worker(rt).run(once=True).resumed == 0
    assert RAN == [("o-2", 900.0)]
    assert rt.audit.verify().ok
