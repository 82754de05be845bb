"""Edits, escalation, expiry, the stop switch, queued resumes and executions in doubt."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from interlock.graphs import Infra
from interlock.nodes import ExecutionRecord
from interlock.risk.errors import AuthorizationError, ConflictError, DecisionError, NotFoundError
from interlock.runtime import (
    SYSTEM_ACTOR,
    Authenticator,
    Principal,
    Reviewer,
    Reviewers,
    RunOutcome,
    Runtime,
    hash_password,
)


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")
OLIVIA = _principal("olivia", "oncall")
ADA = _principal("ada", "admin")
PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
STAGING_DELETE = ["delete_volume", {"volume_id": "vol-staging-db", "token": "tok-ci-admin"}]
SNAPSHOT = ["snapshot_volume", {"volume_id": "vol-prod-db", "token": "tok-prod-backup"}]


def start(rt: Runtime, tmp: Path, *turns: list[Any]) -> tuple[RunOutcome, Infra]:
    path = tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    options = {"infra": str(path), "turns": [list(t) for t in turns]}
    return rt.run("scripted_ops", "do it", options=options), Infra(path)


def tool_text(rt: Runtime, thread_id: str, name: str) -> str:
    graph = rt.engine().built_for(thread_id)[1].graph
    messages = graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"]
    return str([m for m in messages if getattr(m, "name", None) == name][-1].content)


def ops(infra: Infra) -> list[str]:
    return [f"{e['op']}({e['target']})" for e in infra.events()]


def test_an_edit_within_the_reviewers_authority_runs_the_new_action_only(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    edit = {"type": "edit", "args": {"volume_id": "vol-staging-db", "token": "tok-ci-admin"}}
    out = rt.decisions.decide(rid, edit, reviewer=SAM)
    assert out.status == "resumed"
    assert out.next_review_id is None
    assert ops(infra) == ["delete_volume(vol-staging-db)"]
    (recorded,) = [r for r in rt.audit.rows() if r.event == "decision_recorded"]
    assert recorded.data["edit"]["diff"] == {"volume_id": ["vol-prod-db", "vol-staging-db"]}
    assert recorded.data["edit"]["approved_now"] is True
    # The approval names the edited action's digest, not the one the agent proposed.
    shown = rt.inbox.get(rid).request["action_requests"][0]["digest"]
    assert rt.engine().approvals.get(shown) is None
    assert recorded.digest != shown
    edited = rt.engine().approvals.get(recorded.digest or "")
    assert edited is not None
    assert edited.used_at is not None


def test_an_edit_that_needs_a_more_senior_role_goes_back_to_review(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [STAGING_DELETE])
    rid = run.review_id or ""
    assert rt.inbox.summary(rid).level == "high"  # oncall may decide it
    bigger = {"type": "edit", "args": {"volume_id": "vol-prod-logs", "token": "tok-ci-admin"}}
    out = rt.decisions.decide(rid, bigger, reviewer=OLIVIA)
    assert out.status == "resumed"
    assert out.notes
    assert "needs sre-lead or admin" in out.notes[0]
    assert out.next_review_id is not None
    again = rt.inbox.summary(out.next_review_id)
    assert (again.level, again.required_roles, again.round) == (
        "critical",
        ("sre-lead", "admin"),
        2,
    )
    assert (
        rt.inbox.get(again.id).request["action_requests"][0]["args"]["volume_id"] == "vol-prod-logs"
    )
    assert infra.events() == []
    with pytest.raises(AuthorizationError):
        rt.decisions.decide(again.id, {"type": "approve"}, reviewer=OLIVIA)
    rt.decisions.decide(again.id, {"type": "approve"}, reviewer=SAM)
    assert ops(infra) == ["delete_volume(vol-prod-logs)"]


def test_a_review_of_two_actions_waits_for_both(rt: Runtime, tmp_path: Path) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE, SNAPSHOT])
    rid = run.review_id or ""
    assert rt.inbox.summary(rid).action_count == 2
    first = rt.decisions.decide(rid, {"type": "reject", "message": "no"}, reviewer=SAM, action=0)
    assert first.status == "waiting"
    with pytest.raises(ConflictError, match="already decided by sam"):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=ADA, action=0)
    second = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM, action=1)
    assert second.status == "resumed"
    assert ops(infra) == ["snapshot_volume(vol-prod-db)"]
    with pytest.raises(DecisionError, match="needs one decision each"):
        rt.decisions.decide_all(rid, [{"type": "approve"}], reviewer=SAM)


def test_decide_all_and_escalation(rt: Runtime, tmp_path: Path) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE, SNAPSHOT])
    rid = run.review_id or ""
    out = rt.decisions.decide_all(
        rid, [{"type": "escalate", "role": "admin"}, {"type": "approve"}], reviewer=SAM
    )
    assert out.status == "escalated"
    assert rt.inbox.summary(rid).status == "escalated"
    # The approved snapshot waits until every call of the turn is decided.
    assert infra.events() == []
    nxt = rt.inbox.summary(out.next_review_id or "")
    assert (nxt.tool, nxt.escalated_to, nxt.required_roles) == (
        "delete_volume",
        "admin",
        ("admin",),
    )
    assert nxt.action_count == 1
    with pytest.raises(AuthorizationError, match="needs admin"):
        rt.decisions.decide(nxt.id, {"type": "approve"}, reviewer=SAM)
    done = rt.decisions.decide(nxt.id, {"type": "reject", "message": "no"}, reviewer=ADA)
    assert done.thread_status == "done"
    assert ops(infra) == ["snapshot_volume(vol-prod-db)"]


def test_expiry_escalates_then_denies_and_never_approves(rt: Runtime, tmp_path: Path) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    assert rt.decisions.expire_due(rt.clock()) == []  # nothing is due yet
    later = rt.clock() + timedelta(hours=25)
    (first,) = rt.decisions.expire_due(later)
    assert first.status == "escalated"
    old = rt.inbox.summary(rid)
    assert (old.status, old.outcome, old.decided_by) == (
        "expired",
        "expired: escalated to admin",
        SYSTEM_ACTOR,
    )
    up = rt.inbox.summary(first.next_review_id or "")
    assert (up.status, up.escalated_to, up.required_roles) == ("pending", "admin", ("admin",))
    assert up.expires_at is not None
    assert up.expires_at > rt.clock() + timedelta(hours=23)
    with pytest.raises(ConflictError):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=ADA)
    (second,) = rt.decisions.expire_due(later + timedelta(hours=25))
    assert second.status == "resumed"
    assert rt.inbox.summary(up.id).outcome == "expired: denied"
    assert any("expired: denied" in e for e in second.events)
    assert infra.events() == []
    assert "vol-prod-db" in infra.read()["volumes"]
    with rt.db.connection() as conn:
        assert conn.scalar("SELECT count(*) AS n FROM interlock_approvals") == 0
        kinds = {r["type"] for r in conn.all("SELECT type FROM interlock_decisions")}
    assert kinds == {"escalate", "reject"}
    assert [r.event for r in rt.audit.rows()].count("review_expired") == 2


def test_a_stopped_environment_denies_even_an_approved_action(rt: Runtime, tmp_path: Path) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    with pytest.raises(AuthorizationError, match="needs the admin role"):
        rt.stops.stop("environment", "production", by=SAM, reason="INC-1")
    stop = rt.stops.stop("environment", "production", by=ADA, reason="INC-1")
    assert [(s.scope, s.value, s.by) for s in rt.stops.active()] == [
        ("environment", "production", "ada")
    ]
    assert stop.reason == "INC-1"
    out = rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM)
    assert any(e.startswith("delete_volume [error]: DENIED by policy") for e in out.events)
    assert "stopped by an administrator" in tool_text(rt, run.thread_id, "delete_volume")
    assert infra.events() == []
    rt.stops.resume("environment", "production", by=ADA)
    assert rt.stops.active() == []
    with pytest.raises(NotFoundError, match="is not stopped"):
        rt.stops.resume("environment", "production", by=ADA)
    assert {"scope_stopped", "scope_resumed"} <= {r.event for r in rt.audit.rows()}


def test_a_stopped_agent_gets_nothing_done(rt: Runtime, tmp_path: Path) -> None:
    rt.stops.stop("agent", "ops-agent", by=ADA, reason="misbehaving")
    run, infra = start(rt, tmp_path, [SNAPSHOT])
    assert run.status == "done"
    assert run.review_ids == ()
    assert any("stopped by an administrator" in e for e in run.events)
    assert infra.events() == []


def test_a_queued_decision_is_resumed_later_by_anyone(rt: Runtime, tmp_path: Path) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    out = rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM, resume=False)
    assert out.status == "queued"
    assert infra.events() == []
    (done,) = rt.decisions.resume_due()
    assert done.status == "resumed"
    assert done.thread_status == "done"
    assert ops(infra) == ["delete_volume(vol-prod-db)"]
    assert rt.decisions.resume_due() == []


def test_an_execution_that_never_reported_is_put_in_front_of_a_human(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM, resume=False)
    action = rt.inbox.get(rid).request["action_requests"][0]
    # As if a worker had started this very action and died before recording an outcome.
    rt.engine().ledger.start(
        ExecutionRecord(
            key=action["digest"],
            digest=action["digest"],
            tool="delete_volume",
            thread_id=run.thread_id,
            tool_call_id=action["tool_call_id"],
            status="started",
            started_at=rt.clock(),
        )
    )
    out = rt.decisions.resume(rid)
    assert out.thread_status == "in_doubt"
    assert any("IN DOUBT" in e for e in out.events)
    assert infra.events() == []  # not retried
    (doubt,) = rt.inbox.pending()
    assert (doubt.status, doubt.kind, doubt.tool, doubt.level) == (
        "in_doubt",
        "in_doubt",
        "delete_volume",
        "critical",
    )
    record = rt.engine().ledger.get(action["digest"])
    assert record is not None
    assert record.status == "in_doubt"
    with pytest.raises(DecisionError, match="interlock resolve"):
        rt.decisions.decide(doubt.id, {"type": "approve"}, reviewer=SAM)
    with pytest.raises(AuthorizationError):
        rt.decisions.resolve(doubt.id, ran=False, reviewer=OLIVIA)
    assert rt.decisions.resolve(
        doubt.id, ran=False, reviewer=SAM, note="volume is still there"
    ) == ("resolved: it did not run")
    record = rt.engine().ledger.get(action["digest"])
    assert record is not None
    assert record.status == "failed"
    assert rt.inbox.pending() == []
    with pytest.raises(ConflictError):
        rt.decisions.resolve(doubt.id, ran=True, reviewer=SAM)
    assert {"execution_in_doubt", "in_doubt_resolved"} <= {r.event for r in rt.audit.rows()}


def _thread_events(rt: Runtime, thread_id: str) -> list[str]:
    return [r.event for r in rt.audit.rows(thread_id=thread_id)]


def test_the_log_tells_an_approved_action_in_the_order_it_happened(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rt.decisions.decide(run.review_id or "", {"type": "approve"}, reviewer=SAM)
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    seen = _thread_events(rt, run.thread_id)
    order = ["decision_recorded", "decision_applied", "execution_started", "execution_succeeded"]
    assert [e for e in seen if e in order] == order
    started = next(r for r in rt.audit.rows(thread_id=run.thread_id, event="execution_started"))
    assert started.data["approved"] is True
    assert started.data["by"] == ["sam"]
    assert started.data["started_at"]  # when the ledger row opened, before the tool ran
    assert rt.audit.verify().ok


def test_a_rejection_reaches_the_log_although_nothing_runs_after_it(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rt.decisions.decide(run.review_id or "", {"type": "reject", "message": "no"}, reviewer=SAM)
    assert infra.events() == []
    seen = _thread_events(rt, run.thread_id)
    assert seen.count("decision_recorded") == 1
    assert seen.count("decision_applied") == 1  # written when the run returned
    assert "execution_started" not in seen
    assert rt.audit.verify().ok
