"""The engine's verdicts: scoring, levels, approvals, stop switch, and failing closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from interlock.risk import (
    Action,
    ApprovalSpec,
    Context,
    Credential,
    Policy,
    Resource,
    Rule,
    ToolDefaults,
    assess,
    default_policy,
)


def _policy(*rules: Rule, **kw: Any) -> Policy:
    return Policy(name="t", rules=rules, **kw)


def test_a_read_with_no_matching_rule_is_allowed_at_low() -> None:
    a = assess(Action(tool="list_volumes", effects=frozenset({"read"}), environment="production"))
    assert (a.outcome, a.level, a.score, a.approval) == ("allow", "low", 0, None)


def test_points_add_up_map_to_levels_and_the_level_to_an_outcome() -> None:
    p = _policy(
        Rule(id="a", reason="A", when={"effects": ["write"]}, points=30),
        Rule(id="b", reason="B", when={"environment": "production"}, points=25),
    )
    a = p.assess(Action(tool="x", effects=frozenset({"write"}), environment="production"))
    assert a.score == 55
    assert a.level == "high"
    assert a.outcome == "review"
    assert [(r.rule, r.points) for r in a.reasons] == [("a", 30), ("b", 25)]


def test_score_is_capped_at_100() -> None:
    rules = [Rule(id=f"r{i}", reason="r", when={"effects": ["write"]}, points=60) for i in range(3)]
    a = _policy(*rules).assess(Action(tool="x", effects=frozenset({"write"})))
    assert a.score == 100
    assert a.level == "critical"


def test_floor_raises_the_level_without_points() -> None:
    p = _policy(Rule(id="f", reason="F", when={"effects": ["delete"]}, floor="critical"))
    a = p.assess(Action(tool="x", effects=frozenset({"delete"})))
    assert (a.score, a.level, a.outcome) == (0, "critical", "review")


def test_hard_deny_wins_over_everything() -> None:
    p = _policy(
        Rule(id="d", reason="never", when={"tool": "nuke*"}, outcome="deny"),
        Rule(id="r", reason="review", when={"tool": "nuke*"}, outcome="review"),
    )
    a = p.assess(Action(tool="nuke_all", effects=frozenset({"read"})))
    assert a.outcome == "deny"
    assert a.approval is None


def test_most_demanding_approval_wins_and_senior_roles_also_qualify() -> None:
    p = _policy(
        Rule(
            id="a",
            reason="a",
            when={"effects": ["delete"]},
            points=60,
            approval=ApprovalSpec(roles=("oncall",), count=2),
        ),
        Rule(
            id="b",
            reason="b",
            when={"environment": "production"},
            approval=ApprovalSpec(roles=("sre-lead",)),
        ),
    )
    a = p.assess(Action(tool="x", effects=frozenset({"delete"}), environment="production"))
    assert a.approval is not None
    assert a.approval.roles == ("sre-lead", "admin")
    assert a.approval.count == 2


def test_reason_templates_name_the_target() -> None:
    p = _policy(
        Rule(
            id="t",
            reason="Deletes {resource.type} {resource.id} in {environment}",
            when={"effects": ["delete"]},
            points=60,
        )
    )
    a = p.assess(
        Action(
            tool="x",
            effects=frozenset({"delete"}),
            environment="staging",
            resource=Resource(type="volume", id="vol-9"),
        )
    )
    assert a.reasons[0].text == "Deletes volume vol-9 in staging"


# --- failing closed -------------------------------------------------------------------------


def test_unknown_tool_fails_closed_to_review_with_a_reason() -> None:
    a = assess(Action(tool="frobnicate", args={"x": 1}, environment="staging"))
    assert a.outcome == "review"
    assert a.level == "high"
    assert any("Unknown tool 'frobnicate'" in r.text for r in a.reasons)


def test_policy_tool_catalog_makes_a_generic_tool_known() -> None:
    p = _policy(tools={"shell": ToolDefaults(effects=frozenset({"read"}))})
    assert (
        p.assess(Action(tool="shell", args={"command": "ls"}, environment="dev")).outcome == "allow"
    )


def test_a_rule_that_raises_fails_closed() -> None:
    # `gt` against a huge integer is fine, but a regex on a value whose __str__ explodes is not:
    class Boom:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("comparison exploded")

        __hash__ = object.__hash__

    p = _policy(Rule(id="eq", reason="equality", when={"args": {"x": "y"}}, points=5))
    a = p.assess(Action(tool="t", effects=frozenset({"read"}), args={"x": Boom()}))
    assert a.outcome == "review"
    assert any(
        "failed to evaluate" in r.text and "comparison exploded" in r.text for r in a.reasons
    )


def test_missing_attribute_a_rule_needs_fails_closed() -> None:
    p = _policy(
        Rule(
            id="backup",
            reason="last copy",
            when={"effects": ["delete"], "resource": {"has_independent_backup": False}},
            points=80,
        )
    )
    a = p.assess(
        Action(
            tool="delete_volume",
            effects=frozenset({"delete"}),
            environment="dev",
            resource=Resource(type="volume", id="v1"),
        )
    )
    assert a.outcome == "review"
    assert any("resource.has_independent_backup" in r.text for r in a.reasons)


def test_missing_environment_fails_closed_for_environment_rules() -> None:
    p = _policy(Rule(id="prod", reason="prod", when={"environment": "production"}, points=80))
    a = p.assess(Action(tool="deploy", effects=frozenset({"write"})))
    assert a.outcome == "review"
    assert any("`environment`" in r.text for r in a.reasons)


def test_a_false_condition_beats_a_missing_one() -> None:
    p = _policy(
        Rule(
            id="prod",
            reason="prod",
            when={"environment": "production", "effects": ["delete"]},
            points=80,
        )
    )
    a = p.assess(Action(tool="list", effects=frozenset({"read"})))
    assert a.outcome == "allow"


# --- context --------------------------------------------------------------------------------


def test_stop_switch_denies_an_agent_and_an_environment() -> None:
    action = Action(
        tool="list_volumes", effects=frozenset({"read"}), environment="staging", agent="ops-agent"
    )
    assert assess(action, Context(stopped_agents=frozenset({"ops-agent"}))).outcome == "deny"
    stopped = assess(action, Context(stopped_environments=frozenset({"staging"})))
    assert stopped.outcome == "deny"
    assert "stopped by an administrator" in stopped.reasons[-1].text


def test_time_window_in_a_timezone() -> None:
    p = _policy(
        Rule(
            id="night",
            reason="night",
            points=60,
            when={"time": {"timezone": "Europe/Berlin", "between": ["22:00", "06:00"]}},
        )
    )
    act = Action(tool="x", effects=frozenset({"write"}))
    night = Context(now=datetime(2026, 6, 1, 21, 30, tzinfo=UTC))  # 23:30 in Berlin
    day = Context(now=datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
    assert p.assess(act, night).outcome == "review"
    assert p.assess(act, day).outcome == "allow"


def test_credential_scope_wider_than_the_environment() -> None:
    p = default_policy()
    base = dict(
        tool="restart_service", effects=frozenset({"write"}), environment="staging", reversible=True
    )
    narrow = Action(**base, credential=Credential(name="s", environments=frozenset({"staging"})))
    wide = Action(**base, credential=Credential(name="root", environments=frozenset({"*"})))
    assert p.assess(narrow).outcome == "allow"
    widened = p.assess(wide)
    assert widened.outcome == "review"
    assert any("root" in r.text for r in widened.reasons)


def test_assessment_is_serialisable_and_names_the_policy_version() -> None:
    a = assess(Action(tool="list_volumes", effects=frozenset({"read"})))
    d = a.to_dict()
    assert d["policy_version"] == default_policy().version
    assert set(d) >= {"score", "level", "outcome", "reasons", "approval", "policy_version"}


@pytest.mark.parametrize("bad", [{"tool": ""}, {"tool": "x", "effects": ["explode"]}])
def test_malformed_actions_raise_action_error(bad: dict[str, Any]) -> None:
    from interlock.risk import ActionError

    with pytest.raises(ActionError):
        Action.from_dict(bad)
