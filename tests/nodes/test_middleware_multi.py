"""A `create_agent` turn with several held calls under InterlockMiddleware: each held call
is a review of its own (one interrupt in its own tool task), the allowed calls of the turn run
at once, and the durable runtime (inbox, decision service, workers) decides and resumes each
review on its own, on SQLite and Postgres, until the turn is complete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain.agents.middleware.human_in_the_loop import HITLRequest
from langchain_core.messages import ToolMessage
from pydantic import TypeAdapter

from interlock.runtime import Runtime
from interlock.runtime.execution.worker import Worker
from tests.nodes.test_middleware_runtime import ADA, RAN, SAM, mw_agent

TURN = [
    ["refund", {"order_id": "o-2", "amount": 900.0}],
    ["refund", {"order_id": "o-3", "amount": 700.0}],
]


@pytest.fixture(autouse=True)
def _fresh() -> None:
    RAN.clear()


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    with Runtime.open(
        db_url, graphs={"mw_agent": mw_agent}, reviewers_path=tmp_path / "reviewers.toml"
    ) as runtime:
        yield runtime


def start(rt: Runtime) -> tuple[str, str, str]:
    run = rt.run("mw_agent", "Refund both orders.", options={"turns": [TURN]})
    assert run.status == "pending"
    first, second = run.review_ids
    return run.thread_id, first, second


def by_order(rt: Runtime, ids: tuple[str, str]) -> dict[str, str]:
    out = {}
    for rid in ids:
        (action,) = rt.inbox.get(rid).request["action_requests"]
        out[action["args"]["order_id"]] = rid
    return out


def tool_results(rt: Runtime, thread_id: str) -> dict[str, tuple[str, str]]:
    graph = rt.engine().built_for(thread_id)[1].graph
    state = graph.get_state({"configurable": {"thread_id": thread_id}})
    return {
        m.tool_call_id: (m.status, str(m.content))
        for m in state.values["messages"]
        if isinstance(m, ToolMessage)
    }


def test_each_held_call_is_a_review_of_its_own_decided_and_resumed_alone(rt: Runtime) -> None:
    thread, *ids = start(rt)
    reviews = by_order(rt, (ids[0], ids[1]))
    assert set(reviews) == {"o-2", "o-3"}
    requests = [rt.inbox.get(rid).request for rid in ids]
    for request in requests:
        TypeAdapter(HITLRequest).validate_python(request)
    assert requests[0]["interrupt_id"] != requests[1]["interrupt_id"]
    assert {r.id for r in rt.inbox.pending()} == set(ids)

    out = rt.decisions.decide(reviews["o-2"], {"type": "approve"}, reviewer=SAM)
    assert out.status == "resumed"
    assert RAN == [("o-2", 900.0)]
    # The other review is still live: still pending in the inbox, the thread waits for it.
    assert out.thread_status == "pending"
    assert [r.id for r in rt.inbox.pending()] == [reviews["o-3"]]

    out = rt.decisions.decide(reviews["o-3"], {"type": "reject", "message": "No."}, reviewer=SAM)
    assert RAN == [("o-2", 900.0)]
    results = tool_results(rt, thread)
    assert sorted(s for s, _ in results.values()) == ["error", "success"]
    assert (out.thread_status, out.final_message) == ("done", "All done.")
    events = [r.event for r in rt.audit.rows()]
    assert events.count("review_opened") == 2
    assert "review_cancelled" not in events
    assert rt.audit.verify().ok


def test_queued_decisions_of_one_turn_are_carried_in_by_a_worker(rt: Runtime) -> None:
    thread, *ids = start(rt)
    for rid in ids:
        out = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM, resume=False)
        assert out.status == "queued"
    assert RAN == []
    stats = Worker(rt).run(once=True)
    assert stats.failed == 0
    assert sorted(RAN) == [("o-2", 900.0), ("o-3", 700.0)]
    assert Worker(rt).run(once=True).resumed == 0
    assert sorted(RAN) == [("o-2", 900.0), ("o-3", 700.0)]
    assert list(rt.inbox.pending()) == []
    assert len(tool_results(rt, thread)) == 2


@pytest.mark.parametrize("order", ["o-2", "o-3"])
def test_an_escalation_reopens_one_review_while_the_other_waits(rt: Runtime, order: str) -> None:
    thread, *ids = start(rt)
    reviews = by_order(rt, (ids[0], ids[1]))
    other = "o-3" if order == "o-2" else "o-2"
    first = rt.inbox.get(reviews[order]).request
    out = rt.decisions.decide(reviews[order], {"type": "escalate", "role": "admin"}, reviewer=SAM)
    assert out.next_review_id is not None
    assert out.next_review_id != reviews[other]  # the new round, not the sibling review
    second = rt.inbox.get(out.next_review_id).request
    assert second["interrupt_id"] != first["interrupt_id"]
    assert (second["round"], second["escalated_to"]) == (2, "admin")
    assert {r.id for r in rt.inbox.pending()} == {reviews[other], out.next_review_id}
    rt.decisions.decide(reviews[other], {"type": "approve"}, reviewer=SAM)
    amount = 900.0 if other == "o-2" else 700.0
    assert sorted(RAN) == [(other, amount)]
    last = rt.decisions.decide(out.next_review_id, {"type": "approve"}, reviewer=ADA)
    assert sorted(RAN) == [("o-2", 900.0), ("o-3", 700.0)]
    assert (last.thread_status, len(tool_results(rt, thread))) == ("done", 2)
