"""The gate's pieces: tool metadata, routing, digests, and the stores behind approvals."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, tool

from interlock.nodes import (
    Approval,
    ExecutionRecord,
    Gate,
    InMemoryApprovalStore,
    InMemoryExecutionLedger,
    ToolSpec,
    action_digest,
    gated,
    make_router,
    spec_of,
)
from interlock.risk import Resource, default_policy
from interlock.risk.errors import ConfigError

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@tool
def read_file(path: str) -> str:
    """Read a file."""
    return path


@tool
def wipe_disk(device: str) -> str:
    """Erase a production disk."""
    return device


@tool
def mystery(x: int) -> str:
    """A tool nobody described."""
    return str(x)


def broken_resource(args: object) -> Resource:
    raise RuntimeError("inventory is down")


@tool
def fragile_read(path: str) -> str:
    """A read whose metadata cannot be resolved."""
    return path


gated(read_file, effects={"read"}, environment="production")
gated(
    wipe_disk,
    effects={"destroy"},
    reversible=False,
    environment="production",
    resource=lambda a: Resource(type="disk", id=str(a["device"])),
)
gated(fragile_read, effects={"read"}, resource=broken_resource)


def gate_for(*tools: BaseTool) -> Gate:
    return Gate.for_tools(default_policy(), list(tools), clock=lambda: NOW)


def proposal(*calls: tuple[str, dict[str, object]]) -> dict[str, object]:
    tool_calls = [
        {"name": n, "args": a, "id": f"c{i}", "type": "tool_call"} for i, (n, a) in enumerate(calls)
    ]
    return {"messages": [HumanMessage("go"), AIMessage(content="", tool_calls=tool_calls, id="a1")]}


def test_metadata_is_attached_to_the_tool_and_validated() -> None:
    spec = spec_of(wipe_disk)
    assert isinstance(spec, ToolSpec)
    assert spec.effects == frozenset({"destroy"})
    assert spec.reversible is False
    assert spec_of(mystery) is None
    with pytest.raises(ConfigError, match="declare at least one of"):
        gated(mystery, effects={"explode"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="decorate the function with @tool"):
        gated(lambda: None, effects={"read"})  # type: ignore[call-overload]


def test_router_sends_allowed_calls_straight_to_the_tools_and_risky_ones_to_review() -> None:
    route = make_router(gate_for(read_file, wipe_disk, mystery, fragile_read))
    assert route(proposal(("read_file", {"path": "/etc/hosts"}))) == "tools"
    assert route(proposal(("wipe_disk", {"device": "/dev/sda"}))) == "review"
    assert route({"messages": [HumanMessage("hi"), AIMessage("done")]}) == "__end__"
    # One risky call among allowed ones sends the whole turn to review.
    mixed = proposal(("read_file", {"path": "a"}), ("wipe_disk", {"device": "b"}))
    assert route(mixed) == "review"


def test_a_tool_without_metadata_fails_closed_to_review() -> None:
    gate = gate_for(mystery)
    verdict = gate.assess_call(
        {"name": "mystery", "args": {"x": 1}, "id": "c", "type": "tool_call"},
        gate.scope(),
    )
    assert verdict.kind == "review"
    assert verdict.assessment is not None
    assert any("Unknown tool" in r.text for r in verdict.assessment.reasons)
    assert make_router(gate)(proposal(("mystery", {"x": 1}))) == "review"


def test_metadata_that_cannot_be_resolved_fails_closed_even_for_a_read() -> None:
    gate = gate_for(fragile_read)
    verdict = gate.assess_call(
        {"name": "fragile_read", "args": {"path": "a"}, "id": "c", "type": "tool_call"},
        gate.scope(),
    )
    assert verdict.kind == "review"
    assert verdict.assessment is not None
    assert "inventory is down" in verdict.assessment.reasons[-1].text


def test_a_call_to_an_unknown_tool_is_answered_not_reviewed() -> None:
    gate = gate_for(read_file)
    verdict = gate.assess_call(
        {"name": "rm_rf", "args": {}, "id": "c", "type": "tool_call"}, gate.scope()
    )
    assert verdict.kind == "unknown_tool"
    assert "Available tools: read_file" in verdict.note


def test_action_digest_is_sha256_of_the_canonical_five_fields() -> None:
    args = {"b": 2, "a": "é"}
    expected = hashlib.sha256(
        json.dumps(
            {
                "tool": "t",
                "args": args,
                "thread_id": "th",
                "interrupt_id": "i",
                "policy_version": "v",
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    got = action_digest("t", args, thread_id="th", interrupt_id="i", policy_version="v")
    assert got == expected
    assert got != action_digest(
        "t", {**args, "b": 3}, thread_id="th", interrupt_id="i", policy_version="v"
    )


def _approval(digest: str, expires: datetime) -> Approval:
    return Approval(
        digest=digest,
        tool="t",
        thread_id="th",
        interrupt_id="i",
        tool_call_id="c",
        reviewers=("ann",),
        roles=("sre-lead",),
        issued_at=NOW,
        expires_at=expires,
    )


def test_an_approval_is_used_once_and_never_after_expiry() -> None:
    store = InMemoryApprovalStore()
    first = store.issue(_approval("d1", NOW + timedelta(hours=1)))
    assert store.issue(_approval("d1", NOW + timedelta(hours=9))) == first  # idempotent
    assert store.consume("d1", now=NOW) is not None
    assert store.consume("d1", now=NOW) is None
    assert store.consume("unknown", now=NOW) is None
    store.issue(_approval("d2", NOW + timedelta(minutes=1)))
    assert store.consume("d2", now=NOW + timedelta(minutes=2)) is None


def test_the_ledger_opens_each_key_once() -> None:
    ledger = InMemoryExecutionLedger()
    rec = ExecutionRecord(
        key="k",
        digest="d",
        tool="t",
        thread_id="th",
        tool_call_id="c",
        status="started",
        started_at=NOW,
    )
    assert ledger.start(rec) is None
    assert ledger.start(rec) == rec
    done = ledger.finish("k", status="succeeded", result="ok", now=NOW)
    assert done.status == "succeeded"
    assert ledger.get("k") == done
