"""Policies from YAML: line-precise errors, canonical versions, Python construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.risk import Policy, PolicyError, Rule, default_policy, load_policy

GOOD = """\
name: team
rules:
  - id: prod
    reason: Production change
    when: {environment: production, effects: [write]}
    points: 30
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_loads_a_minimal_policy(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, GOOD))
    assert policy.name == "team"
    assert [r.id for r in policy.rules] == ["prod"]
    assert len(policy.version) == 16


def test_version_is_a_content_hash_stable_under_formatting(tmp_path: Path) -> None:
    a = load_policy(_write(tmp_path, GOOD))
    reformatted = GOOD.replace(
        "{environment: production, effects: [write]}",
        "\n      environment: production\n      effects:\n        - write",
    )
    b = load_policy(_write(tmp_path, reformatted))
    c = load_policy(_write(tmp_path, GOOD.replace("points: 30", "points: 31")))
    assert a.version == b.version
    assert a.version != c.version


def test_python_and_yaml_policies_with_the_same_content_share_a_version(tmp_path: Path) -> None:
    py = Policy(
        name="team",
        rules=(
            Rule(
                id="prod",
                reason="Production change",
                when={"environment": "production", "effects": ["write"]},
                points=30,
            ),
        ),
    )
    assert py.version == load_policy(_write(tmp_path, GOOD)).version


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (GOOD.replace("points: 30", "points: lots"), 6, "points"),
        (GOOD.replace("environment: production", "enviroment: production"), 5, "enviroment"),
        (GOOD.replace("effects: [write]", "effects: [wrte]"), 5, "allowed: "),
        (GOOD + "  - id: prod\n    reason: again\n    when: {tool: x}\n", 7, "used twice"),
        (GOOD.replace("id: prod", "id: Prod Rule"), 3, "slug"),
        (GOOD.replace("name: team", "name: team\nname: other"), 2, "duplicate key"),
        (GOOD.replace("    points: 30", "    outcome: allow"), 6, "never force allow"),
        ("name: x\nrules:\n  - id: a\n    reason: r\n    when: {tool: [unclosed\n", 6, "YAML"),
        (GOOD + "roles: [oncall]\n", 7, None),
    ],
)
def test_errors_name_the_file_line_and_field(
    tmp_path: Path, text: str, line: int, fragment: str | None
) -> None:
    path = _write(tmp_path, text)
    if fragment is None:
        load_policy(path)  # a valid variant: no error
        return
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert f"{path}:{line}" in message, message
    assert fragment in message


def test_unknown_role_in_an_approval_says_which_roles_exist(tmp_path: Path) -> None:
    text = GOOD + "    approval: {roles: [dba]}\n"
    with pytest.raises(PolicyError, match=r"unknown roles \['dba'\].*oncall, sre-lead, admin"):
        load_policy(_write(tmp_path, text))


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match="empty"):
        load_policy(_write(tmp_path, ""))


def test_python_construction_is_validated_too() -> None:
    with pytest.raises(PolicyError, match="rules never force allow"):
        Policy(name="x", rules=(Rule(id="a", reason="r", when={"tool": "t"}, outcome="allow"),))  # type: ignore[arg-type]


def test_bundled_default_policy_loads() -> None:
    p = default_policy()
    assert p.name == "interlock-default"
    assert len(p.rules) >= 20
