"""Property tests: rules only add risk, deny is sticky, and bad policies fail cleanly."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interlock.risk import (
    EFFECTS,
    LEVELS,
    Action,
    Policy,
    PolicyError,
    Resource,
    Rule,
)

OUTCOME_RANK = {"allow": 0, "review": 1, "deny": 2}
LEVEL_RANK = {lv: i for i, lv in enumerate(LEVELS)}

conditions = st.one_of(
    st.builds(
        lambda e: {"effects": {"any": e}},
        st.lists(st.sampled_from(EFFECTS), min_size=1, max_size=3),
    ),
    st.builds(lambda env: {"environment": env}, st.sampled_from(["production", "staging", "dev"])),
    st.builds(lambda t: {"tool": t}, st.sampled_from(["*", "delete_*", "list_*", "x"])),
    st.builds(lambda n: {"args": {"n": {"gt": n}}}, st.integers(-5, 5)),
    st.builds(lambda r: {"reversible": r}, st.booleans()),
)


@st.composite
def rules(draw: st.DrawFn, prefix: str) -> list[Rule]:
    count = draw(st.integers(0, 6))
    out = []
    for i in range(count):
        when: dict[str, Any] = {}
        for c in draw(st.lists(conditions, min_size=1, max_size=3)):
            when.update(c)
        out.append(
            Rule(
                id=f"{prefix}{i}",
                reason="r",
                when=when,
                points=draw(st.integers(0, 60)),
                floor=draw(st.sampled_from([None, *LEVELS])),
                outcome=draw(st.sampled_from([None, "review", "deny"])),
            )
        )
    return out


actions = st.builds(
    lambda tool, env, effects, n, rev: Action(
        tool=tool,
        args={"n": n},
        environment=env,
        effects=frozenset(effects),
        reversible=rev,
        resource=Resource(type="volume", id="v"),
    ),
    st.sampled_from(["delete_volume", "list_volumes", "x", "restart"]),
    st.sampled_from(["production", "staging", "dev", None]),
    st.lists(st.sampled_from(EFFECTS), max_size=3),
    st.integers(-10, 10),
    st.sampled_from([True, False, None]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(base=rules("a"), extra=rules("b"), action=actions)
def test_adding_rules_never_lowers_score_level_or_outcome(
    base: list[Rule], extra: list[Rule], action: Action
) -> None:
    small = Policy(name="p", rules=tuple(base)).assess(action)
    big = Policy(name="p", rules=(*base, *extra)).assess(action)
    assert big.score >= small.score
    assert LEVEL_RANK[big.level] >= LEVEL_RANK[small.level]
    assert OUTCOME_RANK[big.outcome] >= OUTCOME_RANK[small.outcome]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(base=rules("a"), action=actions, when=conditions)
def test_adding_a_deny_rule_never_turns_deny_into_allow(
    base: list[Rule], action: Action, when: dict[str, Any]
) -> None:
    before = Policy(name="p", rules=tuple(base)).assess(action)
    deny = Rule(id="zz-deny", reason="never", when=when, outcome="deny")
    after = Policy(name="p", rules=(*base, deny)).assess(action)
    if before.outcome == "deny":
        assert after.outcome == "deny"
    assert after.outcome != "allow" or before.outcome == "allow"
    # A deny rule that matched forces deny; one that could not be evaluated fails closed.
    if any(r.rule == "zz-deny" and r.outcome == "deny" for r in after.reasons):
        assert after.outcome == "deny"
    elif any(r.rule == "zz-deny" for r in after.reasons):
        assert after.outcome in ("review", "deny")


GOOD: dict[str, Any] = {
    "name": "fuzz",
    "roles": ["oncall", "sre-lead"],
    "levels": {"medium": 20, "high": 50, "critical": 80},
    "approvals": {"high": {"roles": ["oncall"]}},
    "freezes": [
        {"name": "f", "timezone": "UTC", "start": "2026-12-01T00:00", "end": "2026-12-02T00:00"}
    ],
    "rules": [
        {
            "id": "a",
            "reason": "r",
            "when": {"effects": ["write"], "args": {"n": {"gt": 1}}},
            "points": 10,
            "floor": "high",
            "approval": {"roles": ["sre-lead"], "count": 2},
        },
    ],
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_policies(draw: st.DrawFn) -> Any:
    import copy

    doc = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(json_values)
    return doc


@settings(
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(doc=mutated_policies())
def test_mutated_policies_load_or_raise_policy_error_only(doc: Any, tmp_path: Path) -> None:
    from interlock.risk import load_policy

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        load_policy(path)
    except PolicyError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(str(path)), message


@settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=200))
def test_arbitrary_text_loads_or_raises_policy_error_only(text: str, tmp_path: Path) -> None:
    from interlock.risk import load_policy

    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with contextlib.suppress(PolicyError):
        load_policy(path)
