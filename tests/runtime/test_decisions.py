"""The decision service: identity, authorisation, N-of-M, currency and approval binding."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from interlock.graphs import Infra
from interlock.risk import Policy, default_policy
from interlock.risk.errors import AuthorizationError, ConflictError, DecisionError
from interlock.runtime import (
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
SASHA = _principal("sasha", "sre-lead")
OLIVIA = _principal("olivia", "oncall")
ADA = _principal("ada", "admin")
PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
REQUEST = "Deploys to staging fail: api-staging answers 401. Please fix it."


def start(
    rt: Runtime, tmp: Path, *turns: list[Any], requester: str | None = None
) -> tuple[RunOutcome, Infra]:
    path = tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    options = {"infra": str(path), "turns": [list(t) for t in turns]}
    return rt.run("scripted_ops", "do it", options=options, requester=requester), Infra(path)


def footprint(rt: Runtime, review_id: str) -> tuple[Any, ...]:
    """Everything a refused decision must leave as it was."""
    summary = rt.inbox.summary(review_id)
    with rt.db.connection() as conn:
        decisions = conn.scalar("SELECT count(*) AS n FROM interlock_decisions")
        approvals = conn.scalar("SELECT count(*) AS n FROM interlock_approvals")
    tup = rt.checkpointer().get_tuple({"configurable": {"thread_id": summary.thread_id}})
    assert tup is not None
    return (summary, decisions, approvals, tup.config["configurable"]["checkpoint_id"])


def events(rt: Runtime) -> list[str]:
    return [r.event for r in rt.audit.rows()]


def test_an_authorised_reject_resumes_the_thread_on_the_safe_path(
    rt: Runtime, ops_options: dict[str, str]
) -> None:
    run = rt.run("ops_agent", REQUEST, options=ops_options)
    message = "Never delete production volumes. Snapshot it, then fix the staging credential."
    # The payload's `reviewer` is ignored: identity comes from authentication only.
    out = rt.decisions.decide(
        run.review_id or "",
        {"type": "reject", "message": message, "reviewer": "mallory"},
        reviewer=SAM,
    )
    assert out.status == "resumed"
    assert out.thread_status == "pending"
    assert out.next_review_id is not None
    assert any(e.startswith("reviewer [not run]: REJECTED by a human reviewer") for e in out.events)
    assert "agent proposes snapshot_volume(volume_id='vol-prod-db', token='tok-prod-backup')" in (
        out.events
    )
    infra = Infra(ops_options["infra"])
    assert "vol-prod-db" in infra.read()["volumes"]
    assert "delete_volume" not in [e["op"] for e in infra.events()]
    (row,) = rt.inbox.get(run.review_id or "").decisions
    assert (row.reviewer, row.type, row.settles) == ("sam", "reject", True)
    assert row.payload["reviewer"] == "sam"
    recorded = [r for r in rt.audit.rows() if r.event == "decision_recorded"]
    assert [r.actor for r in recorded] == ["sam"]
    assert rt.inbox.summary(run.review_id or "").status == "decided"
    assert rt.inbox.summary(run.review_id or "").next_review_id == out.next_review_id
    assert rt.audit.verify().ok


def test_a_reviewer_without_the_role_is_refused_and_nothing_changes(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    before, head = footprint(rt, rid), rt.audit.head()
    with pytest.raises(AuthorizationError, match="needs sre-lead or admin"):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=OLIVIA)
    assert footprint(rt, rid) == before
    assert rt.audit.head() == head
    assert infra.events() == []


def test_nobody_approves_their_own_run(rt: Runtime, tmp_path: Path) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE], requester="sam")
    rid = run.review_id or ""
    before = footprint(rt, rid)
    with pytest.raises(AuthorizationError, match="started this run"):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM)
    with pytest.raises(AuthorizationError, match="is the agent"):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=_principal("ops-agent", "admin"))
    with pytest.raises(AuthorizationError, match="started this run"):
        rt.decisions.decide(
            rid, {"type": "edit", "args": {"volume_id": "vol-prod-logs"}}, reviewer=SAM
        )
    assert footprint(rt, rid) == before
    assert infra.events() == []
    # Stopping one's own action is fine.
    assert (
        rt.decisions.decide(rid, {"type": "reject", "message": "no"}, reviewer=SAM).status
        == "resumed"
    )


def two_person_policy() -> Policy:
    data = default_policy().to_dict()
    data["approvals"]["critical"] = {"roles": ["sre-lead"], "count": 2}
    return Policy.from_dict(data)


def test_a_two_approver_review_needs_two_different_people(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = open_rt(policy=two_person_policy())
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    assert rt.inbox.summary(rid).required_count == 2
    first = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM)
    assert (first.status, first.approvals) == ("waiting", ("sam",))
    summary = rt.inbox.summary(rid)
    assert (summary.status, summary.approvals) == ("pending", ("sam",))
    assert rt.inbox.count(reviewer=SAM) == 0  # nothing left for sam to do here
    assert rt.inbox.count(reviewer=SASHA) == 1
    assert infra.events() == []
    before = footprint(rt, rid)
    with pytest.raises(AuthorizationError, match="already approved"):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM)
    assert footprint(rt, rid) == before
    second = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SASHA)
    assert second.status == "resumed"
    assert second.approvals == ("sam", "sasha")
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    digest = rt.inbox.get(rid).request["action_requests"][0]["digest"]
    used = rt.engine().approvals.get(digest)
    assert used is not None
    assert used.reviewers == ("sam", "sasha")


def test_a_second_reviewer_gets_a_conflict_and_changes_nothing(rt: Runtime, tmp_path: Path) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    rt.decisions.decide(rid, {"type": "reject", "message": "no"}, reviewer=SAM)
    before = footprint(rt, rid)
    with pytest.raises(ConflictError, match="already decided by sam"):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=SASHA)
    assert footprint(rt, rid) == before
    assert events(rt)[-1] == "decision_refused"
    assert infra.events() == []
    # A replay of the very decision that won is refused the same way.
    with pytest.raises(ConflictError, match="already decided"):
        rt.decisions.decide(rid, {"type": "reject", "message": "no"}, reviewer=SAM)


def test_malformed_decisions_say_what_was_received_and_change_nothing(
    rt: Runtime, tmp_path: Path
) -> None:
    run, _ = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    before = footprint(rt, rid)
    head = rt.audit.head()
    cases: list[tuple[Any, str]] = [
        ({"type": "yes"}, "unknown; allowed: approve, edit, reject, respond, escalate"),
        ("approve", "must be an object"),
        ({"type": "edit", "args": {"volume_id": "v", "size": 3}}, r"unknown keys \[.size.\]"),
        ({"type": "edit", "args": {"volume_id": 5}}, "expected"),
        ({"type": "escalate", "role": "ceo"}, "name one of: oncall, sre-lead, admin"),
        ({"type": "approve", "note": "x"}, r"unknown keys \['note'\]"),
        ({"type": "respond", "message": " "}, "non-empty message"),
        ({"type": "approve", "message": "x" * 70_000}, "larger than"),
    ]
    for payload, text in cases:
        with pytest.raises(DecisionError, match=text):
            rt.decisions.decide(rid, payload, reviewer=SAM)
    with pytest.raises(DecisionError, match="out of range"):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM, action=3)
    assert footprint(rt, rid) == before
    assert rt.audit.head() == head


def test_changed_arguments_in_the_state_are_refused_and_audited(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    queued = rt.decisions.decide(rid, {"type": "approve"}, reviewer=SAM, resume=False)
    assert queued.status == "queued"
    # Between the approval and the run, someone rewrites the approved call in the checkpoint
    # (and forges the record that it was approved).
    graph = rt.engine().built_for(run.thread_id)[1].graph
    cfg: Any = {"configurable": {"thread_id": run.thread_id}}
    ai = next(
        m for m in reversed(graph.get_state(cfg).values["messages"]) if isinstance(m, AIMessage)
    )
    call = {**ai.tool_calls[0], "args": {**ai.tool_calls[0]["args"], "volume_id": "vol-prod-logs"}}
    iid = rt.inbox.get(rid).request["interrupt_id"]
    graph.update_state(
        cfg,
        {
            "messages": [ai.model_copy(update={"tool_calls": [call]})],
            "interlock": {
                "reviews": {
                    call["id"]: {"decision": "approve", "interrupt_id": iid, "message_id": ai.id}
                }
            },
        },
        as_node="model",
    )
    out = rt.decisions.resume(rid)
    assert any("no valid approval matches this exact action" in e for e in out.events)
    assert infra.events() == []
    assert {"vol-prod-db", "vol-prod-logs"} <= set(infra.read()["volumes"])
    refused = [r for r in rt.audit.rows() if r.event == "execution_refused"]
    assert refused
    assert refused[0].data["tool"] == "delete_volume"
    # The approval for what the reviewer saw was never used.
    digest = rt.inbox.get(rid).request["action_requests"][0]["digest"]
    issued = rt.engine().approvals.get(digest)
    assert issued is not None
    assert issued.used_at is None


def test_an_approval_runs_its_action_once_and_is_never_used_again(
    rt: Runtime, tmp_path: Path
) -> None:
    run, infra = start(rt, tmp_path, [PROD_DELETE])
    rid = run.review_id or ""
    out = rt.decisions.decide(rid, {"type": "approve", "message": "ok"}, reviewer=SAM)
    assert out.status == "resumed"
    assert out.thread_status == "done"
    assert out.final_message == "Done."
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    digest = rt.inbox.get(rid).request["action_requests"][0]["digest"]
    approvals = rt.engine().approvals
    used = approvals.get(digest)
    assert used is not None
    assert used.used_at is not None
    assert used.reviewers == ("sam",)
    assert approvals.consume(digest, now=rt.clock()) is None  # single use
    # Resuming again, or re-deciding, runs nothing a second time.
    assert rt.decisions.resume(rid).events == ()
    with pytest.raises(ConflictError):
        rt.decisions.decide(rid, {"type": "approve"}, reviewer=SASHA)
    assert [e["op"] for e in infra.events()] == ["delete_volume"]
    assert events(rt).count("execution_started") == 1
    assert rt.audit.verify().ok
