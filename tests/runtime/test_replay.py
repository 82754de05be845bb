"""`interlock policy replay`: what a candidate policy would have done with recorded actions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from interlock.risk import Action, default_policy
from interlock.runtime import AuditLog, Database

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


def _replay(db: Database, policy: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), "policy", "replay", str(policy), "--db", db.url, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


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
