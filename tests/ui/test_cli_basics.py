"""The `interlock` command as a user meets it: help, version, usage errors, policy commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).with_name("interlock")


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
        check=False,
    )


def test_help_lists_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for word in ("demo", "policy"):
        assert word in out.stdout


def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("interlock ")


@pytest.mark.parametrize("args", [["frobnicate"], ["--frob"], ["policy", "check", "--nope"]])
def test_unknown_command_or_option_is_a_short_usage_error(args: list[str]) -> None:
    out = run(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr + out.stdout
    assert "Usage" in out.stderr or "No such" in out.stderr


def test_policy_check_prints_version_and_rules() -> None:
    out = run("policy", "check")
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout
    assert "last-copy" in out.stdout


def test_policy_check_reports_a_broken_file_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nrules:\n  - id: a\n    reason: r\n    when: {effect: [write]}\n")
    out = run("policy", "check", str(bad))
    assert out.returncode == 2
    assert f"{bad}:5" in out.stderr
    assert "unknown condition 'effect'" in out.stderr
    assert "Traceback" not in out.stderr


POCKETOS = {
    "tool": "volumeDelete",
    "args": {"volumeId": "vol-prod-db"},
    "environment": "production",
    "resource": {
        "type": "volume",
        "id": "vol-prod-db",
        "attributes": {"has_independent_backup": False},
    },
    "effects": ["delete", "destroy"],
    "reversible": False,
    "credential": {"name": "tok-ci-admin", "environments": ["*"]},
}


def test_policy_explain_shows_the_verdict_and_reasons() -> None:
    out = run("policy", "explain", "--action", json.dumps(POCKETOS))
    assert out.returncode == 0, out.stderr
    assert "review" in out.stdout
    assert "critical" in out.stdout
    assert "last-copy" in out.stdout


def test_policy_explain_json_from_stdin() -> None:
    out = run("policy", "explain", "--action", "-", "--json", stdin=json.dumps(POCKETOS))
    data = json.loads(out.stdout)
    assert data["outcome"] == "review"
    assert data["level"] == "critical"
    assert data["approval"]["roles"][0] == "sre-lead"


def test_policy_explain_bad_json_is_one_clear_line() -> None:
    out = run("policy", "explain", "--action", "{tool: nope")
    assert out.returncode == 2
    assert "not valid JSON" in out.stderr
    assert "Traceback" not in out.stderr


def test_policy_test_fails_when_a_dangerous_action_is_allowed(tmp_path: Path) -> None:
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("name: lenient\nrules: []\n")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        json.dumps({**POCKETOS, "expected": "review", "id": "pocketos"})
        + "\n"
        + json.dumps({"tool": "list", "effects": ["read"], "expected": "allow"})
        + "\n"
    )
    out = run("policy", "test", str(lenient), "--corpus", str(corpus))
    assert out.returncode == 1
    assert "DANGEROUS" in out.stdout
    assert "pocketos" in out.stdout
    ok = run("policy", "test", "--corpus", str(corpus))
    assert ok.returncode == 0, ok.stdout
    assert "2/2 agree" in ok.stdout
