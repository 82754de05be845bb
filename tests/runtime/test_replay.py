"""`interlock policy replay`: what a candidate policy would have done with recorded actions.

The first tests replay the log of real ops-agent runs through the Runtime (its gate records
every assessed call); the last ones replay hand-written rows in the older shape, which named
actions only on their own rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from interlock.graphs.ops_agent import SCENARIO_REQUEST
from interlock.risk import Action, Context, Policy, default_policy, load_policy
from interlock.runtime import (
    AuditLog,
    Authenticator,
    Database,
    Principal,
    Reviewer,
    Reviewers,
    Runtime,
    hash_password,
)
from interlock.runtime.audit.replay import replay_rows

BIN = Path(sys.executable).with_name("interlock")

POCKETOS: dict[str, Any] = {
    "tool": "delete_volume",
    "args": {"volume_id": "vol-prod-db"},
    "environment": "production",
    "resource": {
        "type": "volume",
        "id": "vol-prod-db",
        "attributes": {"has_independent_backup": False},
    },
    "effects": ["delete", "destroy"],
    "reversible": False,
    "agent": "ops-agent",
    "credential": {"name": "tok-ci-admin", "environments": ["*"]},
}
READ: dict[str, Any] = {
    "tool": "list_resources",
    "args": {"kind": "volumes"},
    "environment": "staging",
    "effects": ["read"],
    "agent": "ops-agent",
}
RESTART: dict[str, Any] = {
    "tool": "restart_service",
    "args": {"service": "api-staging"},
    "environment": "staging",
    "effects": ["write"],
    "reversible": True,
    "agent": "ops-agent",
}


def _record(log: AuditLog, event: str, action: dict[str, Any], digest: str) -> None:
    verdict = default_policy().assess(Action.from_dict(action)).to_dict()
    log.append(
        event,
        actor="ops-agent",
        thread_id="t-1",
        digest=digest,
        data={"action": action, "assessment": verdict},
    )


def _history(db: Database) -> None:
    log = AuditLog(db)
    _record(log, "executed", READ, "d-read")
    _record(log, "executed", RESTART, "d-restart")
    _record(log, "review_opened", POCKETOS, "d-pocketos")
    log.append(
        "decided",
        actor="sre-lead-demo",
        thread_id="t-1",
        digest="d-pocketos",
        data={"outcome": "reject", "detail": "Never delete production volumes."},
    )


def _replay(db: Database | Runtime, policy: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "policy", "replay", str(policy), "--db", db.url, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def _principal(name: str, role: str) -> Principal:
    """`name` signed in with a password, as the CLI and the console sign people in: the
    decision service takes nothing else (a hand-made Reviewer is refused)."""
    password = "test-password"
    who = Reviewer(name=name, roles=(role,), password_hash=hash_password(password))
    return Authenticator(Reviewers(Path("reviewers.toml"), {name: who})).password(name, password)


SAM = _principal("sam", "sre-lead")
OLIVIA = _principal("olivia", "oncall")
LENIENT = "name: lenient\nrules: []\n"
PROD_DELETE = ["delete_volume", {"volume_id": "vol-prod-db", "token": "tok-ci-admin"}]
STAGING_DELETE = ["delete_volume", {"volume_id": "vol-staging-db", "token": "tok-ci-admin"}]


def _stricter(tmp_path: Path) -> Path:
    """The default policy plus one rule: staging writes wait for a human too."""
    content = default_policy().to_dict()
    content["rules"].append(
        {
            "id": "staging-writes",
            "reason": "Staging writes too",
            "floor": "high",
            "when": {"environment": "staging", "effects": ["write"]},
        }
    )
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(content))
    return strict


def _ops_incident(rt: Runtime, tmp_path: Path) -> str:
    """The real ops agent on the PocketOS request: a human rejects the production delete,
    then approves the safe path (snapshot, credential rotation). The thread id."""
    infra = tmp_path / f"infra-{uuid.uuid4().hex[:6]}.json"
    run = rt.run("ops_agent", SCENARIO_REQUEST, options={"infra": str(infra)})
    assert run.review_id is not None
    delete = rt.inbox.get(run.review_id).request["action_requests"][0]
    assert (delete["name"], delete["assessment"]["level"]) == ("delete_volume", "critical")
    out = rt.decisions.decide(
        run.review_id, {"type": "reject", "message": "Never delete production."}, reviewer=SAM
    )
    while out.next_review_id is not None:
        out = rt.decisions.decide(out.next_review_id, {"type": "approve"}, reviewer=SAM)
    assert not rt.inbox.pending()
    return run.thread_id


def _scripted(rt: Runtime, tmp_path: Path, *turns: list[Any]) -> str:
    infra = tmp_path / f"infra-{uuid.uuid4().hex[:6]}.json"
    options = {"infra": str(infra), "turns": [list(t) for t in turns]}
    run = rt.run("scripted_ops", "do it", options=options)
    assert run.review_id is not None
    return run.review_id


def _policy(text: str, tmp_path: Path) -> Policy:
    path = tmp_path / "candidate.yaml"
    path.write_text(text)
    return load_policy(path)


def test_replaying_a_real_run_names_the_rejected_delete_and_fails(
    rt: Runtime, tmp_path: Path
) -> None:
    _ops_incident(rt, tmp_path)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(LENIENT)
    out = _replay(rt, lenient)
    assert out.returncode == 1, out.stdout + out.stderr
    first = out.stdout.split("review load:")[1].splitlines()[1]
    assert first.startswith("DANGEROUS delete_volume")
    assert "a human chose reject" in first
    data = json.loads(_replay(rt, lenient, "--json").stdout)
    assert [d["tool"] for d in data["dangerous"]] == ["delete_volume"]
    assert data["dangerous"][0]["args"]["volume_id"] == "vol-prod-db"
    # Every assessed call, once: 8 ran unattended; delete, snapshot and rotation were held.
    assert data["actions"] == 11
    assert data["moves"] == {"allow->allow": 8, "review->allow": 3}
    assert data["skipped"] == 0
    assert (data["reviews_before"], data["reviews_after"]) == (3, 0)


def test_replaying_a_real_run_counts_the_review_load_a_stricter_policy_adds(
    rt: Runtime, tmp_path: Path
) -> None:
    thread = _ops_incident(rt, tmp_path)
    out = _replay(rt, _stricter(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    # Two restarts and a scale of api-staging ran unattended; they would now wait.
    assert "review load: 3 → 6 (+3)" in out.stdout
    report = replay_rows(rt.audit.rows(), load_policy(_stricter(tmp_path)))
    added = sorted(i.action.tool for i in report.changed)
    assert added == ["restart_service", "restart_service", "scale_service"]
    assert all(i.unattended and i.thread_id == thread for i in report.changed)
    assert {i.event for i in report.changed} == {"execution_succeeded"}


def test_an_edited_action_is_replayed_as_the_agent_proposed_it(rt: Runtime, tmp_path: Path) -> None:
    rid = _scripted(rt, tmp_path, [PROD_DELETE])
    rt.decisions.decide(rid, {"type": "edit", "args": STAGING_DELETE[1]}, reviewer=SAM)
    report = replay_rows(rt.audit.rows(), _policy(LENIENT, tmp_path))
    (item,) = report.items  # held, decided, run edited: one call
    assert (item.action.tool, dict(item.action.args)) == tuple(PROD_DELETE)
    assert (item.human, item.dangerous) == ("edit", True)


def test_an_expiry_is_not_a_human_rejection(rt: Runtime, tmp_path: Path) -> None:
    rid = _scripted(rt, tmp_path, [STAGING_DELETE])
    later = datetime.now(UTC) + timedelta(days=2)
    for _ in range(len(rt.policy.roles)):  # up the ladder, then denied
        rt.decisions.expire_due(later)
        later += timedelta(days=2)
    assert rt.inbox.summary(rid).status == "expired"
    expired = [r.data["outcome"] for r in rt.audit.rows() if r.event == "review_expired"]
    assert expired == ["escalated to sre-lead", "escalated to admin", "denied"]
    assert not rt.inbox.pending()
    report = replay_rows(rt.audit.rows(), _policy(LENIENT, tmp_path))
    (item,) = report.items
    assert item.human is None
    assert (item.before, item.after, item.dangerous) == ("review", "allow", False)


FREEZE_ONLY = """
name: freeze-only
freezes:
  - {name: year-end, timezone: UTC, start: "2026-12-21T00:00", end: "2027-01-04T00:00",
     environments: [staging]}
rules:
  - {id: frozen, reason: Frozen., when: {in_freeze: true}, outcome: review}
"""


def test_an_action_is_judged_at_the_time_it_was_recorded(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    in_freeze = datetime(2026, 12, 22, 10, 0, tzinfo=UTC)
    rt = open_rt(clock=lambda: in_freeze)
    infra = tmp_path / "infra.json"
    options = {"infra": str(infra), "turns": [[["restart_service", {"service": "api-staging"}]]]}
    assert rt.run("scripted_ops", "restart it", options=options).status == "done"
    rows = list(rt.audit.rows())
    assert {r.ts for r in rows} == {in_freeze}  # the runtime's clock stamps the log
    candidate = _policy(FREEZE_ONLY, tmp_path)
    (item,) = replay_rows(rows, candidate).items
    assert (item.at, item.before, item.after) == (in_freeze, "allow", "review")
    after_freeze = Context(now=datetime(2027, 1, 10, tzinfo=UTC))
    (later,) = replay_rows(rows, candidate, after_freeze).items
    assert later.after == "allow"


def test_a_policy_that_lets_a_rejected_action_through_fails_and_names_it(
    db: Database, tmp_path: Path
) -> None:
    _history(db)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("name: lenient\nrules: []\n")
    out = _replay(db, lenient)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "DANGEROUS" in out.stdout
    assert "delete_volume" in out.stdout
    assert "a human chose reject" in out.stdout
    data = json.loads(_replay(db, lenient, "--json").stdout)
    assert [d["tool"] for d in data["dangerous"]] == ["delete_volume"]
    assert data["reviews_before"] == 1
    assert data["reviews_after"] == 0


def test_a_stricter_policy_reports_the_added_review_load(db: Database, tmp_path: Path) -> None:
    _history(db)
    content = default_policy().to_dict()
    content["rules"].append(
        {
            "id": "staging-writes",
            "reason": "Staging writes too",
            "floor": "high",
            "when": {"environment": "staging", "effects": ["write"]},
        }
    )
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(content))
    out = _replay(db, strict)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "review load: 1 → 2 (+1)" in out.stdout
    assert "restart_service" in out.stdout


def test_the_same_policy_changes_nothing(db: Database, tmp_path: Path) -> None:
    _history(db)
    same = tmp_path / "same.yaml"
    same.write_text((Path(__file__).parents[2] / "risk" / "policies" / "default.yaml").read_text())
    out = _replay(db, same)
    assert out.returncode == 0, out.stderr
    assert "No recorded action would change outcome." in out.stdout


def test_a_broken_candidate_policy_is_one_clear_line(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrules: [{id: a}]\n")
    out = _replay(db, bad)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"{bad}:2" in out.stderr


def test_a_denial_by_a_stop_switch_is_no_policy_change(
    open_rt: Callable[..., Runtime], tmp_path: Path
) -> None:
    rt = open_rt()
    rt.stops.stop("environment", "staging", by=_principal("ada", "admin"), reason="INC-7")
    infra = tmp_path / "infra.json"
    options = {"infra": str(infra), "turns": [[["restart_service", {"service": "api-staging"}]]]}
    rt.run("scripted_ops", "restart it", options=options)
    (item,) = replay_rows(rt.audit.rows(), default_policy()).items
    assert (item.action.tool, item.before, item.after) == ("restart_service", "deny", "deny")
    assert not item.changed
    # With the stops fixed by the caller (none), the policy alone judges it: it would run.
    (alone,) = replay_rows(rt.audit.rows(), default_policy(), Context()).items
    assert alone.after == "allow"
