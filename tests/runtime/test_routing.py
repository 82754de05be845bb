"""Routing in the runtime: the review row's team, escalations that re-route, the team filter."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from interlock.risk import default_policy
from interlock.runtime import Authenticator, Principal, Reviewer, Reviewers, Runtime, hash_password

PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
STAGING_DELETE = ["delete_volume", {"volume_id": "vol-staging-db", "token": "tok-ci-admin"}]


def _principal(name: str, role: str) -> Principal:
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")
OLIVIA = _principal("olivia", "oncall")


def _start(rt: Runtime, tmp: Path, *turns: list[Any]) -> str:
    path = tmp / f"infra-{uuid.uuid4().hex[:6]}.json"
    options = {"infra": str(path), "turns": [list(t) for t in turns]}
    run = rt.run("scripted_ops", "do it", options=options)
    assert run.review_id is not None
    return run.review_id


def _team_column(rt: Runtime, review_id: str) -> Any:
    with rt.db.connection() as conn:
        return conn.scalar("SELECT team FROM interlock_reviews WHERE id = ?", (review_id,))


def test_the_review_row_holds_the_routed_team(rt: Runtime, tmp_path: Path) -> None:
    prod = _start(rt, tmp_path, [PROD_DELETE])
    staging = _start(rt, tmp_path, [STAGING_DELETE])
    assert _team_column(rt, prod) == "sre"  # production and critical
    assert _team_column(rt, staging) == "oncall"  # the bundled policy's default team
    detail = rt.inbox.get(prod)
    assert detail.summary.team == "sre"
    assert detail.request["team"] == "sre"
    route = detail.request["route"]
    assert route is not None
    assert route["route"] == "production-critical"
    (action,) = detail.request["action_requests"]
    assert action["route"] == route
    opened = [r for r in rt.audit.rows() if r.event == "review_opened" and r.review_id == prod]
    assert [r.data["team"] for r in opened] == ["sre"]
    # The route tells; it does not decide: the critical review still needs sre-lead or more.
    assert detail.summary.required_roles == ("sre-lead", "admin")


def test_the_team_filter_uses_the_column_and_combines_with_the_others(
    rt: Runtime, tmp_path: Path
) -> None:
    prod = _start(rt, tmp_path, [PROD_DELETE])
    staging = _start(rt, tmp_path, [STAGING_DELETE])
    assert [s.id for s in rt.inbox.pending(team="sre")] == [prod]
    assert [s.id for s in rt.inbox.pending(team="oncall")] == [staging]
    assert {s.id for s in rt.inbox.pending(team=["oncall", "sre"])} == {prod, staging}
    assert rt.inbox.count(team="dba") == 0
    assert rt.inbox.count(team=[]) == 0  # a reviewer in no team has no team reviews
    assert rt.inbox.count(team="sre", environment="production") == 1
    assert rt.inbox.count(team="sre", environment="staging") == 0
    # Filtering by team never widens who may decide: oncall may not decide production.
    assert rt.inbox.count(team="sre", reviewer=OLIVIA) == 0
    assert rt.inbox.count(team="sre", reviewer=SAM) == 1


def test_an_escalation_re_routes_when_the_policy_names_the_roles_team(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    policy = dataclasses.replace(default_policy(), escalation_teams={"admin": "platform"})
    rt = open_rt(policy=policy)
    prod = _start(rt, tmp_path, [PROD_DELETE])
    out = rt.decisions.decide(prod, {"type": "escalate", "role": "admin"}, reviewer=SAM)
    assert out.status == "escalated"
    nxt = rt.inbox.get(out.next_review_id or "")
    assert nxt.summary.escalated_to == "admin"
    assert nxt.summary.team == "platform"
    assert nxt.request["route"] == {
        "team": "platform",
        "route": "escalation_teams.admin",
        "why": "escalated to admin, whose team is platform",
    }
    assert [s.id for s in rt.inbox.pending(team="platform")] == [nxt.summary.id]
    # An escalation to a role the policy maps to no team keeps the review's team.
    staging = _start(rt, tmp_path, [STAGING_DELETE])
    kept = rt.decisions.decide(staging, {"type": "escalate", "role": "sre-lead"}, reviewer=OLIVIA)
    again = rt.inbox.summary(kept.next_review_id or "")
    assert (again.escalated_to, again.team) == ("sre-lead", "oncall")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_policy_without_routes_leaves_the_team_empty(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    policy = dataclasses.replace(
        default_policy(), routes=(), default_team=None, escalation_teams={}
    )
    rt = open_rt(policy=policy)
    rid = _start(rt, tmp_path, [PROD_DELETE])
    assert _team_column(rt, rid) is None
    assert rt.inbox.get(rid).request["team"] is None
    assert rt.inbox.count(team="sre") == 0
    assert rt.inbox.count() == 1


def test_an_expiry_escalation_re_routes_like_a_reviewers(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    policy = dataclasses.replace(default_policy(), escalation_teams={"admin": "platform"})
    rt = open_rt(policy=policy)
    prod = _start(rt, tmp_path, [PROD_DELETE])
    (up,) = rt.decisions.expire_due(rt.clock() + timedelta(hours=25))
    assert up.status == "escalated"
    nxt = rt.inbox.summary(up.next_review_id or "")
    assert (nxt.escalated_to, nxt.team) == ("admin", "platform")
    assert _team_column(rt, prod) == "sre"  # the expired row keeps who was told then
