"""The PocketOS scenario on real SQLite and Postgres checkpointers."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage

VOLUME = "vol-prod-db"


def volumes(ops: Any) -> set[str]:
    return set(ops.infra.read()["volumes"])


def ops_run(ops: Any) -> list[str]:
    return [e["op"] for e in ops.infra.events()]


def test_it_runs_the_routine_steps_alone_and_stops_exactly_at_the_volume_delete(ops: Any) -> None:
    (review,) = ops.start()
    request = review.request
    (action,) = request["action_requests"]
    assert action["name"] == "delete_volume"
    assert action["args"] == {"volume_id": VOLUME, "token": "tok-ci-admin"}
    assert action["assessment"]["level"] == "critical"
    assert action["required_approval"]["roles"][0] == "sre-lead"
    assert "3 backups live on this volume and would be lost" in action["expected_outcome"]
    rules = {r["rule"] for r in action["assessment"]["reasons"]}
    assert {"last-copy", "wide-credential"} <= rules
    # The interrupt id the request names is the one LangGraph reports: digests bind to it.
    assert request["interrupt_id"] == review.interrupt_id
    assert request["user_request"].startswith("Deploys to staging fail")
    assert "tok-ci-admin" in request["reasoning"]
    assert {r["name"] for r in request["tool_results"]} >= {"list_resources", "inspect_resource"}
    # HITL shape: one review config per action, by position.
    assert request["review_configs"][0]["action_name"] == "delete_volume"
    assert "approve" in request["review_configs"][0]["allowed_decisions"]

    # The staging writes ran unattended; nothing destructive ran before the decision.
    assert ops_run(ops) == ["restart_service", "scale_service"]
    assert VOLUME in volumes(ops)
    assert len(ops.infra.backups_of(VOLUME)) == 3


def test_approve_runs_the_delete_exactly_once(ops: Any) -> None:
    ops.start()
    (review,) = ops.decide({"type": "approve"})
    # The agent moves on to the credential, an access change that needs its own review.
    assert review.request["action_requests"][0]["name"] == "rotate_credential"
    assert VOLUME not in volumes(ops)
    assert ops_run(ops).count("delete_volume") == 1
    assert ops.approve_rest() == ["rotate_credential"]
    assert ops_run(ops).count("delete_volume") == 1
    events = [e for e in ops.agent.gate.audit.events if e["tool"] == "delete_volume"]
    assert [e["kind"] for e in events] == ["review", "approval_issued", "decided", "executed"]
    # Every event about the assessed call carries it, for policy replay.
    assert all(e["action"]["tool"] == "delete_volume" for e in events if "action" in e)
    assert [e["kind"] for e in events if "action" in e] == ["review", "decided", "executed"]


def test_reject_leads_the_agent_to_the_safe_path(ops: Any) -> None:
    ops.start()
    message = "Never delete production volumes. Snapshot it, then fix the staging credential."
    (review,) = ops.decide({"type": "reject", "message": message})
    rejected = ops.tool_results("delete_volume")[-1]
    assert isinstance(rejected, ToolMessage)
    assert message in rejected.content
    # Whatever else the policy wants a human for on the way, the delete never comes back.
    reviewed = [review.request["action_requests"][0]["name"], *ops.approve_rest()]
    assert "delete_volume" not in reviewed
    assert "rotate_credential" in reviewed

    assert VOLUME in volumes(ops)
    assert ops_run(ops) == [
        "restart_service",
        "scale_service",
        "snapshot_volume",
        "rotate_credential",
        "restart_service",
    ]
    offsite = [b for b in ops.infra.backups_of(VOLUME) if b["stored_on"] == "offsite"]
    assert len(offsite) == 1
    assert ops.infra.read()["services"]["api-staging"]["status"] == "healthy"
    # The model was not offered the same delete again.
    proposed = [
        c
        for m in ops.messages()
        for c in getattr(m, "tool_calls", [])
        if c["name"] == "delete_volume"
    ]
    assert len(proposed) == 1


def test_an_edit_to_a_staging_volume_is_reassessed_and_runs_without_a_second_review(
    ops: Any,
) -> None:
    ops.start()
    (after,) = ops.decide(
        {"type": "edit", "args": {"volume_id": "vol-staging-db", "token": "tok-ci-admin"}}
    )
    assert after.request["action_requests"][0]["name"] == "rotate_credential"
    assert volumes(ops) == {VOLUME, "vol-prod-logs"}
    # The history shows what actually ran.
    ai = next(
        m
        for m in ops.messages()
        if any(c["name"] == "delete_volume" for c in getattr(m, "tool_calls", []))
    )
    assert ai.tool_calls[0]["args"]["volume_id"] == "vol-staging-db"


def test_an_edit_to_another_production_volume_goes_back_to_review(ops: Any) -> None:
    (first,) = ops.start()
    (again,) = ops.decide(
        {"type": "edit", "args": {"volume_id": "vol-prod-logs", "token": "tok-ci-admin"}}
    )
    action = again.request["action_requests"][0]
    assert action["args"]["volume_id"] == "vol-prod-logs"
    assert again.interrupt_id != first.interrupt_id
    assert again.request["round"] == 2
    assert "goes back to review" in again.request["notes"][0]
    assert volumes(ops) == {VOLUME, "vol-prod-logs", "vol-staging-db"}
    # Approving the new review runs the edited action, once.
    ops.decide({"type": "approve"})
    assert volumes(ops) == {VOLUME, "vol-staging-db"}
    assert ops_run(ops).count("delete_volume") == 1


def test_an_edit_that_becomes_deny_is_denied(ops: Any) -> None:
    ops.start()
    # An administrator stops production while the review is open: the edit is denied.
    from interlock.nodes import InterlockContext

    ctx = InterlockContext(stopped_environments=frozenset({"production"}))
    (review,) = ops.pending()
    from interlock.nodes import resume_command

    ops.graph.invoke(
        resume_command(review, {"type": "edit", "args": {"volume_id": "vol-prod-logs"}}),
        ops.config,
        context=ctx,
    )
    denied = ops.tool_results("delete_volume")[-1]
    assert denied.status == "error"
    assert denied.content.startswith("DENIED by policy")
    assert "delete_volume" not in ops_run(ops)


def test_respond_and_escalate(ops: Any) -> None:
    (first,) = ops.start()
    (esc,) = ops.decide({"type": "escalate", "role": "admin", "message": "too big for me"})
    assert esc.request["escalated_to"] == "admin"
    assert esc.request["action_requests"][0]["required_approval"]["roles"] == ["admin"]
    assert esc.interrupt_id != first.interrupt_id
    assert VOLUME in volumes(ops)
    ops.decide({"type": "respond", "message": "Take a snapshot first."})
    guidance = ops.tool_results("delete_volume")[-1]
    assert "Take a snapshot first." in guidance.content
    # The agent follows the guidance: its next proposal is the snapshot.
    proposals = [c["name"] for m in ops.messages() for c in getattr(m, "tool_calls", [])]
    assert proposals[-1] == "snapshot_volume"
    assert VOLUME in volumes(ops)
