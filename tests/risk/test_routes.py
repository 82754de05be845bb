"""Routes in the policy: parsing, line-precise errors, first-match routing, the default team."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.risk import (
    Action,
    Policy,
    PolicyError,
    Route,
    RouteMatch,
    Rule,
    default_policy,
    load_policy,
)

POLICY = """\
name: routed
roles: [oncall, sre-lead, admin]
rules:
  - id: prod-change
    reason: Production change
    when: {environment: production, effects: [write]}
    points: 80
  - id: sql-drop
    reason: Drops a table
    when: {tool: "*sql*", effects: [write]}
    points: 55
routes:
  - name: prod-critical
    team: sre
    environment: production
    level: critical
  - team: dba
    tool: ["*SQL*", psql]
  - name: billing-agent
    team: payments
    agent: "billing-*"
    rule: [prod-*]
default_team: oncall
escalation_teams: {admin: platform}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def _write_action(tool: str, env: str | None = None, agent: str | None = None) -> Action:
    return Action(tool=tool, environment=env, agent=agent, effects=frozenset({"write"}))


def test_first_matching_route_wins_and_says_why(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, POLICY))
    # Production and critical: the first route, though the tool is also a database tool.
    got = policy.assess(_write_action("run_sql", "production"))
    assert got.level == "critical"
    assert got.route == RouteMatch(
        team="sre",
        route="prod-critical",
        why="prod-critical: environment production, level critical",
    )
    # Tool globs match without regard to case, like the tools: aliases.
    staging = policy.assess(_write_action("Run_SQL", "staging"))
    assert staging.route is not None
    assert (staging.route.team, staging.route.route) == ("dba", "routes[1]")
    assert staging.route.why == "routes[1]: tool Run_SQL"


def test_agent_and_rule_keys_all_have_to_match(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, POLICY))
    # prod-change fires at 80 (critical) in production; use a level the first route skips.
    text = POLICY.replace("points: 80", "points: 30")
    policy = load_policy(_write(tmp_path, text))
    hit = policy.assess(_write_action("deploy", "production", agent="billing-bot"))
    assert hit.route is not None
    assert hit.route.team == "payments"
    assert hit.route.why == "billing-agent: agent billing-bot, rule prod-change"
    # Same agent, but no rule of the route fired: the default team.
    miss = policy.assess(_write_action("deploy", "staging", agent="billing-bot"))
    assert miss.route == RouteMatch(
        team="oncall",
        route="default_team",
        why="no route matched, so the policy's default team",
    )
    other = policy.assess(_write_action("deploy", "production", agent="ops-bot"))
    assert other.route is not None
    assert other.route.team == "oncall"


def test_a_route_is_never_an_authority(tmp_path: Path) -> None:
    """The route changes who is told; the approval requirement stays the policy's."""
    routed = load_policy(_write(tmp_path, POLICY))
    plain = load_policy(_write(tmp_path, POLICY.split("routes:")[0]))
    action = _write_action("run_sql", "production")
    a, b = routed.assess(action), plain.assess(action)
    assert (a.score, a.level, a.outcome, a.approval) == (b.score, b.level, b.outcome, b.approval)
    assert b.route is None
    assert a.route is not None


def test_route_in_assessment_dict_only_when_routed(tmp_path: Path) -> None:
    routed = load_policy(_write(tmp_path, POLICY)).assess(_write_action("x", "staging"))
    assert routed.to_dict()["route"] == {
        "team": "oncall",
        "route": "default_team",
        "why": "no route matched, so the policy's default team",
    }
    plain = load_policy(_write(tmp_path, POLICY.split("routes:")[0]))
    assert "route" not in plain.assess(_write_action("x", "staging")).to_dict()


def test_routes_are_part_of_the_version_and_absent_routes_keep_it(tmp_path: Path) -> None:
    base = POLICY.split("routes:")[0]
    plain = load_policy(_write(tmp_path, base))
    python = Policy(
        name="routed",
        roles=("oncall", "sre-lead", "admin"),
        rules=tuple(plain.rules),
    )
    assert python.version == plain.version
    routed = load_policy(_write(tmp_path, POLICY))
    other = load_policy(_write(tmp_path, POLICY.replace("team: dba", "team: data")))
    assert len({plain.version, routed.version, other.version}) == 3


def test_python_routes_match_yaml_routes(tmp_path: Path) -> None:
    yaml_policy = load_policy(_write(tmp_path, POLICY))
    py = Policy(
        name="routed",
        roles=("oncall", "sre-lead", "admin"),
        rules=(
            Rule(
                id="prod-change",
                reason="Production change",
                when={"environment": "production", "effects": ["write"]},
                points=80,
            ),
            Rule(
                id="sql-drop",
                reason="Drops a table",
                when={"tool": "*sql*", "effects": ["write"]},
                points=55,
            ),
        ),
        routes=(
            Route(
                name="prod-critical",
                team="sre",
                environment=("production",),
                level=("critical",),
            ),
            Route(team="dba", tool=("*SQL*", "psql")),
            Route(name="billing-agent", team="payments", agent=("billing-*",), rule=("prod-*",)),
        ),
        default_team="oncall",
        escalation_teams={"admin": "platform"},
    )
    assert py.version == yaml_policy.version
    assert py.escalation_team("admin") == "platform"
    assert py.escalation_team("sre-lead") is None


def test_no_default_team_leaves_unmatched_reviews_unrouted(tmp_path: Path) -> None:
    text = POLICY.replace("default_team: oncall\n", "")
    policy = load_policy(_write(tmp_path, text))
    assert policy.assess(_write_action("deploy", "staging")).route is None
    dba = policy.assess(_write_action("psql", "staging")).route
    assert dba is not None
    assert dba.team == "dba"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "words"),
    [
        ("    level: critical", "    level: severe", "level: severe", "routes[0].level", "severe"),
        ("  - team: dba", "  - team: DBA Team", "team: DBA Team", "routes[1].team", "slug"),
        ("    tool: [", "    tools: [", "tools: [", "routes[1].tools", "unknown route key"),
        ('    agent: "billing-*"', "    agent: []", "agent: []", "routes[2].agent", "agent"),
        ("default_team: oncall", "default_team: 7", "default_team: 7", "default_team", "slug"),
        (
            "{admin: platform}",
            "{boss: platform}",
            "escalation_teams",
            "escalation_teams.boss",
            "not on the ladder",
        ),
        (
            "  - name: billing-agent",
            "  - name: prod-critical",
            "name: prod-critical",
            "routes[2].name",
            "used twice",
        ),
    ],
)
def test_route_errors_name_the_line_and_field(
    tmp_path: Path, old: str, new: str, needle: str, field: str, words: str
) -> None:
    text = POLICY.replace(old, new)
    assert text != POLICY
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, text))
    err = info.value
    assert err.field == field
    assert words in str(err)
    # The last line holding the needle: for a name used twice, the second use.
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert err.line == lines[-1]


def test_routes_must_be_a_list_and_routes_need_a_team(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="`routes` must be a list") as info:
        load_policy(_write(tmp_path, POLICY.split("routes:")[0] + "routes: {team: sre}\n"))
    assert info.value.field == "routes"
    text = POLICY.replace("  - team: dba\n", "  - environment: staging\n")
    with pytest.raises(PolicyError, match="each route is a mapping with `team`") as info:
        load_policy(_write(tmp_path, text))
    assert info.value.field == "routes[1]"
    assert info.value.line == _line_of(text, "- environment: staging")


def test_bundled_policy_routes_production_critical_to_sre_and_databases_to_dba() -> None:
    policy = default_policy()
    prod = policy.assess(
        Action(tool="shell", args={"command": "rm -rf /var/lib/data"}, environment="production")
    )
    assert prod.outcome == "review"
    assert prod.level == "critical"
    assert prod.route is not None
    assert prod.route.team == "sre"
    sql = policy.assess(
        Action(tool="run_sql", args={"query": "DROP TABLE users"}, environment="staging")
    )
    assert sql.outcome == "review"
    assert sql.route is not None
    assert (sql.route.team, sql.route.route) == ("dba", "databases")
    # A SQL statement through a shell is still the DBAs' (rule sql-*).
    psql = policy.assess(
        Action(tool="bash", args={"command": 'psql -c "DELETE FROM t"'}, environment="staging")
    )
    assert psql.route is not None
    assert psql.route.team == "dba"
    deploy = policy.assess(
        Action(tool="deploy", effects=frozenset({"write"}), environment="production")
    )
    assert deploy.outcome == "review"
    assert deploy.route is not None
    assert deploy.route.team == "oncall"
    # Every team the bundled policy names is one the demo's escalations can reach.
    assert policy.escalation_team("sre-lead") == "sre"
    assert set(policy.escalation_teams) <= set(policy.roles)
