"""The gate's audit events carry the assessed action and its assessment, so that a policy
can be replayed over them later: held, decided, run unattended and denied calls alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from interlock.graphs import ScriptedChatModel, create_gated_agent, say
from interlock.nodes import InMemoryAuditSink, gated
from interlock.risk import Action, Context, Policy, Resource, default_policy

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@tool
def read_file(path: str) -> str:
    """Read a file."""
    return f"contents of {path}"


@tool
def wipe_disk(device: str) -> str:
    """Erase a production disk."""
    return f"wiped {device}"


gated(read_file, effects={"read"}, environment="staging")
gated(
    wipe_disk,
    effects={"destroy"},
    reversible=False,
    environment="production",
    resource=lambda a: Resource(type="disk", id=str(a["device"])),
)


def _run(policy: Policy, decision: dict[str, Any]) -> tuple[InMemoryAuditSink, Any]:
    audit = InMemoryAuditSink()
    model = ScriptedChatModel(
        steps=[
            say("Look, then wipe.", ("read_file", {"path": "a"}), ("wipe_disk", {"device": "sda"}))
        ]
    )
    agent = create_gated_agent(
        model,
        [read_file, wipe_disk],
        policy,
        checkpointer=InMemorySaver(),
        audit=audit,
        clock=lambda: NOW,
    )
    cfg: Any = {"configurable": {"thread_id": "t-audit"}}
    out = agent.invoke({"messages": [("user", "clean up")]}, cfg)
    request = out["__interrupt__"][0].value
    agent.invoke(Command(resume={"decisions": [decision]}), cfg)
    return audit, request


def test_every_event_about_an_assessed_call_rebuilds_its_action_and_verdict() -> None:
    policy = default_policy()
    audit, request = _run(policy, {"type": "reject", "message": "Not the disk."})
    kinds = [(e["kind"], e["tool"]) for e in audit.events]
    assert kinds == [("review", "wipe_disk"), ("decided", "wipe_disk"), ("executed", "read_file")]
    for event in audit.events:
        assert event["thread_id"] == "t-audit"
        action = Action.from_dict(event["action"])
        assert action.tool == event["tool"]
        # The recorded assessment is what the policy says about the rebuilt action.
        again = policy.assess(action, Context(now=NOW)).to_dict()
        assert event["assessment"] == again
    held, decided, ran = audit.events
    assert (held["assessment"]["outcome"], held["assessment"]["level"]) == ("review", "critical")
    assert held["action"]["resource"] == {"type": "disk", "id": "sda", "attributes": {}}
    assert held["tool_call_id"] == decided["tool_call_id"]
    # The decision names the digest the reviewer saw, as the decision service's row does.
    shown = request["action_requests"][0]["digest"]
    assert (decided["outcome"], decided["digest"]) == ("reject", shown)
    assert ran["assessment"]["outcome"] == "allow"


def test_a_denied_call_carries_its_action_and_the_rules_that_denied_it() -> None:
    content = default_policy().to_dict()
    content["rules"].append(
        {
            "id": "no-reads",
            "reason": "No reads today.",
            "outcome": "deny",
            "when": {"effects": ["read"]},
        }
    )
    audit, _ = _run(Policy.from_dict(content), {"type": "approve"})
    (denied,) = [e for e in audit.events if e["kind"] == "denied"]
    assert denied["action"]["tool"] == "read_file"
    assert denied["assessment"]["outcome"] == "deny"
    assert "no-reads" in [r["rule"] for r in denied["assessment"]["reasons"]]
