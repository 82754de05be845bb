"""Validating a reviewer's answer before it resumes anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from interlock.nodes import ReviewRequest, validate_decision, validate_response
from interlock.risk.errors import ConflictError, DecisionError

SCHEMA = {
    "type": "object",
    "properties": {
        "volume_id": {"type": "string"},
        "token": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "force": {"type": "boolean"},
    },
    "required": ["volume_id"],
}


def request(*names: str, allowed: list[str] | None = None) -> ReviewRequest:
    names = names or ("delete_volume",)
    return {
        "action_requests": [
            {"name": n, "args": {"volume_id": "vol-prod-db"}, "description": "", "digest": f"d{i}"}
            for i, n in enumerate(names)
        ],
        "review_configs": [
            {
                "action_name": n,
                "allowed_decisions": allowed
                or ["approve", "edit", "reject", "respond", "escalate"],
                "args_schema": SCHEMA,
                "escalation_roles": ["oncall", "sre-lead", "admin"],
            }
            for n in names
        ],
        "expires_at": (datetime(2030, 1, 1, tzinfo=UTC)).isoformat(),
    }


def test_every_decision_type_is_accepted_and_normalised() -> None:
    req = request()
    assert validate_decision(req, {"type": "approve"}) == {"type": "approve"}
    assert validate_decision(req, {"type": "reject", "message": "no"})["type"] == "reject"
    assert validate_decision(req, {"type": "respond", "message": "snapshot first"})["type"] == (
        "respond"
    )
    assert validate_decision(req, {"type": "escalate", "role": "admin"})["role"] == "admin"
    # The HITL form of an edit comes back in the Interlock form.
    edited = validate_decision(
        req,
        {"type": "edit", "edited_action": {"name": "delete_volume", "args": {"volume_id": "v2"}}},
    )
    assert edited == {"type": "edit", "args": {"volume_id": "v2"}}


@pytest.mark.parametrize(
    ("decision", "says"),
    [
        ("approve", "must be an object"),
        ({"type": "yes"}, "'yes'"),
        ({"kind": "approve"}, "None"),
        ({"type": "approve", "why": "x"}, "unknown keys ['why']"),
        ({"type": "respond"}, "lacks ['message']"),
        ({"type": "respond", "message": "  "}, "non-empty message"),
        ({"type": "reject", "message": 3}, "must be text"),
        ({"type": "escalate", "role": "ceo"}, "oncall, sre-lead, admin"),
        ({"type": "edit"}, "exactly one of 'args'"),
        ({"type": "edit", "args": {"token": "t"}}, "lack required ['volume_id']"),
        ({"type": "edit", "args": {"volume_id": "v", "size": 1}}, "unknown keys ['size']"),
        ({"type": "edit", "args": {"volume_id": 7}}, "expected string"),
        ({"type": "edit", "args": {"volume_id": "v", "force": 1}}, "expected boolean"),
        ({"type": "edit", "args": ["v"]}, "must be a JSON object"),
        (
            {"type": "edit", "edited_action": {"name": "scale", "args": {"volume_id": "v"}}},
            "not the tool",
        ),
    ],
)
def test_a_malformed_decision_says_what_was_received_and_what_is_allowed(
    decision: Any, says: str
) -> None:
    with pytest.raises(DecisionError) as err:
        validate_decision(request(), decision)
    assert says in str(err.value)


def test_a_decision_not_allowed_for_this_action_is_refused() -> None:
    req = request(allowed=["approve", "reject"])
    with pytest.raises(DecisionError, match=r"'edit' is not allowed .* allowed: approve, reject"):
        validate_decision(req, {"type": "edit", "args": {"volume_id": "v"}})


def test_a_decision_for_another_digest_is_a_conflict() -> None:
    req = request()
    assert validate_decision(req, {"type": "approve", "digest": "d0"})["type"] == "approve"
    with pytest.raises(ConflictError, match="changed since it was reviewed"):
        validate_decision(req, {"type": "approve", "digest": "something-else"})


def test_a_decision_after_expiry_is_a_conflict() -> None:
    req = request()
    late = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=1)
    with pytest.raises(ConflictError, match="expired"):
        validate_decision(req, {"type": "approve"}, now=late)


def test_a_response_needs_one_decision_per_action_in_order() -> None:
    req = request("delete_volume", "change_network_policy")
    ok = validate_response(req, {"decisions": [{"type": "approve"}, {"type": "reject"}]})
    assert [d["type"] for d in ok["decisions"]] == ["approve", "reject"]
    assert validate_response(req, [{"type": "reject"}, {"type": "approve"}])["decisions"][1] == {
        "type": "approve"
    }
    with pytest.raises(DecisionError, match=r"holds 2 action\(s\) .* received 1"):
        validate_response(req, {"decisions": [{"type": "approve"}]})
    with pytest.raises(DecisionError, match="action 2 \\(change_network_policy\\)"):
        validate_response(req, [{"type": "approve"}, {"type": "nope"}])
    with pytest.raises(DecisionError, match="extra keys"):
        validate_response(req, {"decisions": [], "also": 1})
    # A single decision is enough when the review holds one action.
    assert validate_response(request(), {"type": "approve"}) == {"decisions": [{"type": "approve"}]}
